use std::path::Path;

use chrono::NaiveDate;

use super::{locate, CliError, Env, Out, Status};
use crate::history::{self, Change};

/// Export the history for other tools (DuckDB, BigQuery, a spreadsheet).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// One row per field change: kind, id, change, field, old, new, commit, author, email, date.
    Events(EventsArgs),
    /// Every record's fields at a date: one row per record (jsonl) or per field (csv).
    Snapshot(SnapshotArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
    /// Only changes made on or after DATE.
    #[arg(long, value_name = "DATE")]
    pub since: Option<NaiveDate>,
}

#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
    /// The state at the end of DATE (default: today).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<NaiveDate>,
}

const EVENT_COLUMNS: [&str; 10] = [
    "kind", "id", "change", "field", "old", "new", "commit", "author", "email", "date",
];

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let crm = locate(env, dir)?;
    let mined = history::mine(&crm.root, &history::Options::default())?;
    if let Some(w) = &mined.stats.cache_damage {
        out.note(&format!("warning: {w}"))?;
    }
    for w in &mined.warnings {
        out.note(&format!(
            "warning: commit {}: {}: {} (skipped)",
            crate::git::short(&w.commit.to_string()),
            w.path,
            w.message
        ))?;
    }
    match args.what {
        What::Events(a) => {
            let mut rows: Vec<[String; 10]> = Vec::new();
            for e in mined
                .events
                .iter()
                .filter(|e| a.since.is_none_or(|s| e.date.date_naive() >= s))
            {
                let base = |change: &str, field: &str, old: String, new: String| {
                    [
                        e.kind.as_str().to_string(),
                        e.id.clone(),
                        change.to_string(),
                        field.to_string(),
                        old,
                        new,
                        e.commit.to_string(),
                        e.author.to_string(),
                        e.email.to_string(),
                        e.date.to_rfc3339(),
                    ]
                };
                match &e.change {
                    Change::Created { fields } | Change::Restored { fields } => {
                        for (k, v) in fields {
                            rows.push(base("created", k, String::new(), v.to_string()));
                        }
                    }
                    Change::Changed { field, old, new } => rows.push(base(
                        "changed",
                        field,
                        old.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                        new.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                    )),
                    Change::Deleted => rows.push(base("deleted", "", String::new(), String::new())),
                }
            }
            write_rows(
                out,
                a.format,
                &EVENT_COLUMNS,
                rows.iter().map(|r| r.to_vec()),
            )?;
        }
        What::Snapshot(a) => {
            let as_of = a.as_of.unwrap_or(env.now.date_naive());
            let state = history::state_at(&mined.events, as_of);
            match a.format {
                ExportFormat::Jsonl => {
                    let mut text = String::new();
                    for ((kind, id), fields) in &state {
                        let mut obj = serde_json::Map::new();
                        obj.insert("kind".into(), kind.as_str().into());
                        obj.insert("id".into(), id.clone().into());
                        for (k, v) in fields {
                            obj.insert(k.clone(), super::to_json(v)?);
                        }
                        text.push_str(&serde_json::Value::Object(obj).to_string());
                        text.push('\n');
                    }
                    out.print(&text)?;
                }
                ExportFormat::Csv => {
                    let rows = state.iter().flat_map(|((kind, id), fields)| {
                        fields.iter().map(move |(k, v)| {
                            vec![
                                kind.as_str().to_string(),
                                id.clone(),
                                k.clone(),
                                v.to_string(),
                            ]
                        })
                    });
                    write_rows(
                        out,
                        ExportFormat::Csv,
                        &["kind", "id", "field", "value"],
                        rows,
                    )?;
                }
            }
        }
    }
    Ok(Status::Ok)
}

fn write_rows(
    out: &mut Out,
    format: ExportFormat,
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<(), CliError> {
    match format {
        ExportFormat::Csv => {
            out.data(&super::table::csv_text(header, rows)?)?;
        }
        ExportFormat::Jsonl => {
            let mut text = String::new();
            for r in rows {
                let obj: serde_json::Map<String, serde_json::Value> = header
                    .iter()
                    .zip(r)
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
                    .collect();
                text.push_str(&serde_json::Value::Object(obj).to_string());
                text.push('\n');
            }
            out.print(&text)?;
        }
    }
    Ok(())
}
