use std::path::Path;

use super::{locate, table, CliError, Env, Out, Status, TableFormat};
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
    let csv = args.format == TableFormat::Csv;
    let money = |x: f64| if csv { x.to_string() } else { table::money(x) };
    let mut rows: Vec<Vec<String>> = p
        .by_stage
        .iter()
        .map(|s| {
            vec![
                s.stage.clone(),
                if csv {
                    s.probability.to_string()
                } else {
                    format!("{}%", s.probability)
                },
                s.count.to_string(),
                money(s.mrr),
                money(s.weighted),
            ]
        })
        .collect();
    rows.push(vec![
        "total".into(),
        String::new(),
        p.total.count.to_string(),
        money(p.total.mrr),
        money(p.total.weighted),
    ]);
    table::print(
        out,
        env,
        args.format,
        &["stage", "probability", "count", "mrr", "weighted"],
        &[1, 2, 3, 4],
        rows,
    )?;
    Ok(Status::Ok)
}
