use std::path::Path;

use super::{locate, table, CliError, Env, Out, Status, TableFormat};
use crate::report::metrics;
use crate::store::{self, WorkTree};

/// The forecast of open opportunities by expected close month (default), quarter or owner:
/// count, MRR and weighted MRR. Opportunities without a `close_date` only count by owner.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value_t = By::Month)]
    pub by: By,
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    Month,
    Quarter,
    Owner,
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let located = locate(env, dir)?;
    let loaded = store::load(&WorkTree::new(&located.root))?;
    let f = metrics::forecast(&loaded.crm);
    let (name, buckets) = match args.by {
        By::Month => ("month", &f.by_month),
        By::Quarter => ("quarter", &f.by_quarter),
        By::Owner => ("owner", &f.by_owner),
    };
    if args.format == TableFormat::Json {
        out.json(buckets)?;
        return Ok(Status::Ok);
    }
    let rows = buckets
        .iter()
        .map(|b| {
            let key = b
                .month
                .clone()
                .or(b.quarter.clone())
                .or(b.owner.clone())
                .unwrap_or_default();
            vec![
                key,
                b.count.to_string(),
                table::money(b.mrr),
                table::money(b.weighted),
            ]
        })
        .collect();
    table::print(
        out,
        env,
        args.format,
        &[name, "count", "mrr", "weighted"],
        &[1, 2, 3],
        rows,
    )?;
    Ok(Status::Ok)
}
