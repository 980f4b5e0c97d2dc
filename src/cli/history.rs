use std::path::Path;

use super::table::{Column, Table};
use super::{locate, CliError, Env, Out, Status, TableFormat};
use crate::history::{self, Change};

/// A record's timeline from the git history: when each field changed, by whom, in which
/// commit. Example: `sloop history opportunities/acme-pro`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The record, as `<kind>/<id>` (`account/acme`, `opportunities/acme-pro`).
    #[arg(add = super::complete::with(super::complete::records))]
    pub record: String,
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let (kind, id) = super::record_ref(&args.record, "sloop history accounts/acme")?;
    let crm = locate(env, dir)?;
    // Only this record's events are kept, from the mining and from the cache.
    let options = history::Options {
        record: Some((kind, id.to_string())),
        ..history::Options::default()
    };
    let mined = history::mine(&crm.root, &options)?;
    if let Some(w) = &mined.stats.cache_damage {
        out.note(&format!("warning: {w}"))?;
    }
    // One row per field change; a creation (or a record readable again) gives one row per
    // field it has, so its first values are shown whole.
    let mut rows: Vec<Row> = Vec::new();
    for e in mined.events.iter().filter(|e| e.kind == kind && e.id == id) {
        let row =
            |change: &'static str, field: &str, old: Option<String>, new: Option<String>| Row {
                date: e.date.date_naive().to_string(),
                author: e.author.to_string(),
                commit: crate::git::short(&e.commit).to_string(),
                change,
                field: field.to_string(),
                old,
                new,
            };
        match &e.change {
            Change::Created { fields } | Change::Restored { fields } => {
                let change = if matches!(e.change, Change::Created { .. }) {
                    "created"
                } else {
                    "restored"
                };
                if fields.is_empty() {
                    rows.push(row(change, "", None, None));
                }
                for (field, value) in fields.iter() {
                    rows.push(row(change, field, None, Some(value.to_string())));
                }
            }
            Change::Deleted => rows.push(row("deleted", "", None, None)),
            Change::Changed { field, old, new } => rows.push(row(
                "changed",
                field,
                old.as_ref().map(|v| v.to_string()),
                new.as_ref().map(|v| v.to_string()),
            )),
        }
    }
    if rows.is_empty() {
        return Err(CliError::usage_hint(
            format!("no history for {kind} `{id}`"),
            "is it committed? `sloop ls` lists the ids",
        ));
    }
    match args.format {
        TableFormat::Json => out.json(&rows)?,
        format => {
            let mut t = Table::new(vec![
                Column::token("date"),
                Column::text("author").optional(2),
                Column::token("commit").optional(1),
                Column::token("change"),
                Column::token("field"),
                Column::text("old"),
                Column::text("new"),
            ]);
            for r in rows {
                t.row(vec![
                    r.date.into(),
                    r.author.into(),
                    r.commit.into(),
                    r.change.into(),
                    r.field.into(),
                    r.old.into(),
                    r.new.into(),
                ]);
            }
            t.print(out, env, format)?;
        }
    }
    Ok(Status::Ok)
}

/// One line of a record's history.
#[derive(serde::Serialize)]
struct Row {
    date: String,
    author: String,
    commit: String,
    /// `created`, `changed`, `deleted`, or `restored` (readable again after a version that
    /// was not).
    change: &'static str,
    field: String,
    old: Option<String>,
    new: Option<String>,
}
