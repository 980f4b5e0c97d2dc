use std::path::Path;

use super::{locate, table, CliError, Env, Out, Status, TableFormat};
use crate::history::{self, Change};

/// A record's timeline from the git history: when each field changed, by whom, in which
/// commit. Example: `sloop history opportunities/acme-pro`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The record, as `<kind>/<id>` (`account/acme`, `opportunities/acme-pro`).
    pub record: String,
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let (kind, id) = super::record_ref(&args.record, "sloop history accounts/acme")?;
    let crm = locate(env, dir)?;
    let mined = history::mine(&crm.root, &history::Options::default())?;
    if let Some(w) = &mined.stats.cache_damage {
        out.note(&format!("warning: {w}"))?;
    }
    let mut rows: Vec<[String; 6]> = Vec::new();
    for e in mined.events.iter().filter(|e| e.kind == kind && e.id == id) {
        let date = e.date.date_naive().to_string();
        let commit = crate::git::short(&e.commit).to_string();
        match &e.change {
            Change::Created { .. } => rows.push([
                date,
                e.author.to_string(),
                commit,
                "(created)".into(),
                String::new(),
                String::new(),
            ]),
            Change::Restored { .. } => rows.push([
                date,
                e.author.to_string(),
                commit,
                "(readable again)".into(),
                String::new(),
                String::new(),
            ]),
            Change::Deleted => rows.push([
                date,
                e.author.to_string(),
                commit,
                "(deleted)".into(),
                String::new(),
                String::new(),
            ]),
            Change::Changed { field, old, new } => rows.push([
                date,
                e.author.to_string(),
                commit,
                field.clone(),
                old.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                new.as_ref().map(|v| v.to_string()).unwrap_or_default(),
            ]),
        }
    }
    if rows.is_empty() {
        return Err(CliError::usage_hint(
            format!("no history for {kind} `{id}`"),
            "is it committed? `sloop ls` lists the ids",
        ));
    }
    let header = ["date", "author", "commit", "field", "old", "new"];
    match args.format {
        TableFormat::Json => {
            let v: Vec<serde_json::Value> = rows.iter().map(|r| serde_json::json!({"date": r[0], "author": r[1], "commit": r[2], "field": r[3], "old": r[4], "new": r[5]})).collect();
            out.json(&v)?;
        }
        format => table::print(
            out,
            env,
            format,
            &header,
            &[],
            rows.into_iter().map(|r| r.to_vec()).collect(),
        )?,
    }
    Ok(Status::Ok)
}
