use std::path::Path;

use super::table::{Column, Table, Value};
use super::{locate, CliError, Env, Out, Status, TableFormat};
use crate::report::metrics;
use crate::store::{self, WorkTree};

/// The open pipeline per stage: count, MRR and weighted MRR (MRR × the stage's probability).
///
/// CSV carries raw numbers (`2000`, probability `10`), for a spreadsheet to compute with.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let located = locate(env, dir)?;
    let loaded = store::load(&WorkTree::new(&located.root))?;
    let p = metrics::pipeline(&loaded.crm);
    if args.format == TableFormat::Json {
        out.json(&p)?;
        return Ok(Status::Ok);
    }
    let mut t = Table::new(vec![
        Column::token("stage"),
        Column::number("probability"),
        Column::number("count"),
        Column::number("mrr"),
        Column::number("weighted"),
    ]);
    for s in &p.by_stage {
        t.row(vec![
            s.stage.as_str().into(),
            Value::Percent(f64::from(s.probability)),
            Value::Count(s.count as u64),
            Value::Money(s.mrr),
            Value::Money(s.weighted),
        ]);
    }
    t.row(vec![
        "total".into(),
        Value::Empty,
        Value::Count(p.total.count as u64),
        Value::Money(p.total.mrr),
        Value::Money(p.total.weighted),
    ]);
    t.print(out, env, args.format)?;
    Ok(Status::Ok)
}
