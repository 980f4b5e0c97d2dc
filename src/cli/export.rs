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
    // The history is read a commit at a time (`history::stream`): an export of a long
    // history is gigabytes of rows, written as they are made.
    let options = history::Options::default();
    let warn = |out: &mut Out, one: &history::History| -> Result<(), CliError> {
        for w in &one.warnings {
            out.note(&format!(
                "warning: commit {}: {}: {} (skipped)",
                crate::git::short(&w.commit.to_string()),
                w.path,
                w.message
            ))?;
        }
        Ok(())
    };
    let stats = match args.what {
        What::Events(a) => {
            let mut rows = Rows::new(out, a.format, &EVENT_COLUMNS)?;
            let stats = history::stream(&crm.root, &options, |one| {
                warn(rows.out, &one)?;
                for e in one
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
                        Change::Deleted => {
                            rows.push(base("deleted", "", String::new(), String::new()))
                        }
                    }
                }
                rows.flush()
            })?;
            rows.flush()?;
            stats
        }
        What::Snapshot(a) => {
            let as_of = a.as_of.unwrap_or(env.now.date_naive());
            // The state is folded as the events stream by: the records at the date, not
            // every event, are held.
            let mut state = history::State::new();
            let stats = history::stream(&crm.root, &options, |one| {
                warn(out, &one)?;
                for e in one.events.iter().filter(|e| e.date.date_naive() <= as_of) {
                    history::apply(&mut state, e);
                }
                Ok::<(), CliError>(())
            })?;
            match a.format {
                ExportFormat::Jsonl => {
                    let mut rows = Rows::new(out, ExportFormat::Jsonl, &[])?;
                    for ((kind, id), fields) in &state {
                        let mut obj = serde_json::Map::new();
                        obj.insert("kind".into(), kind.as_str().into());
                        obj.insert("id".into(), id.clone().into());
                        for (k, v) in fields {
                            obj.insert(k.clone(), super::to_json(v)?);
                        }
                        rows.text
                            .push_str(&serde_json::Value::Object(obj).to_string());
                        rows.text.push('\n');
                        rows.flush_if_full()?;
                    }
                    rows.flush()?;
                }
                ExportFormat::Csv => {
                    let mut rows =
                        Rows::new(out, ExportFormat::Csv, &["kind", "id", "field", "value"])?;
                    for ((kind, id), fields) in &state {
                        for (k, v) in fields {
                            rows.push([
                                kind.as_str().to_string(),
                                id.clone(),
                                k.clone(),
                                v.to_string(),
                            ]);
                        }
                        rows.flush_if_full()?;
                    }
                    rows.flush()?;
                }
            }
            stats
        }
    };
    if let Some(w) = &stats.cache_damage {
        out.note(&format!("warning: {w}"))?;
    }
    Ok(Status::Ok)
}

/// Rows written as they come, a batch at a time: CSV with its header first, or JSON Lines
/// of objects keyed by the header.
struct Rows<'o, 'h> {
    out: &'o mut Out,
    format: ExportFormat,
    header: &'h [&'h str],
    /// JSON Lines not yet written.
    text: String,
    /// CSV rows not yet written.
    csv: Vec<Vec<String>>,
}

impl<'o, 'h> Rows<'o, 'h> {
    fn new(
        out: &'o mut Out,
        format: ExportFormat,
        header: &'h [&'h str],
    ) -> Result<Self, CliError> {
        if format == ExportFormat::Csv {
            out.data(&super::table::csv_text(
                header,
                std::iter::empty::<Vec<String>>(),
            )?)?;
        }
        Ok(Rows {
            out,
            format,
            header,
            text: String::new(),
            csv: Vec::new(),
        })
    }

    fn push<const N: usize>(&mut self, row: [String; N]) {
        match self.format {
            ExportFormat::Csv => self.csv.push(row.to_vec()),
            ExportFormat::Jsonl => {
                let obj: serde_json::Map<String, serde_json::Value> = self
                    .header
                    .iter()
                    .zip(row)
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
                    .collect();
                self.text
                    .push_str(&serde_json::Value::Object(obj).to_string());
                self.text.push('\n');
            }
        }
    }

    /// Writes the rows once a batch is worth a write.
    fn flush_if_full(&mut self) -> Result<(), CliError> {
        if self.text.len() >= 1 << 16 || self.csv.len() >= 512 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), CliError> {
        if !self.csv.is_empty() {
            let text = super::table::csv_rows(self.csv.drain(..))?;
            self.out.data(&text)?;
        }
        if !self.text.is_empty() {
            self.out.print(&self.text)?;
            self.text.clear();
        }
        Ok(())
    }
}
