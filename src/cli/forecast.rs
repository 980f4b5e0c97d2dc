use std::path::Path;

use chrono::NaiveDate;

use super::table::{Column, Table, Value};
use super::{locate, CliError, Env, Out, Status, TableFormat};
use crate::report::metrics::{self, Bucket};
use crate::store::{self, WorkTree};

/// The forecast of open opportunities by expected close month (default), quarter or owner:
/// count, MRR and weighted MRR. Opportunities without a `close_date` only count by owner.
///
/// An opportunity whose close date has passed is overdue: by month it is in the `overdue`
/// row, first, never in a month that is over; by quarter it counts in the current quarter.
/// CSV carries raw numbers.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value_t = By::Month)]
    pub by: By,
    /// The day the forecast is for (YYYY-MM-DD): what is overdue. Default: today.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<NaiveDate>,
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
    let f = metrics::forecast(&loaded.crm, args.as_of.unwrap_or(env.now.date_naive()));
    let (name, buckets): (&str, Vec<Bucket>) = match args.by {
        By::Month => (
            "month",
            std::iter::once(Bucket {
                month: Some("overdue".into()),
                ..f.overdue
            })
            .chain(f.by_month)
            .collect(),
        ),
        By::Quarter => ("quarter", f.by_quarter),
        By::Owner => ("owner", f.by_owner),
    };
    if args.format == TableFormat::Json {
        out.json(&buckets)?;
        return Ok(Status::Ok);
    }
    let mut t = Table::new(vec![
        Column::token(name),
        Column::number("count"),
        Column::number("mrr"),
        Column::number("weighted"),
    ]);
    for b in &buckets {
        let key = b.month.clone().or(b.quarter.clone()).or(b.owner.clone());
        t.row(vec![
            key.into(),
            Value::Count(b.count as u64),
            Value::Money(b.mrr),
            Value::Money(b.weighted),
        ]);
    }
    t.print(out, env, args.format)?;
    Ok(Status::Ok)
}
