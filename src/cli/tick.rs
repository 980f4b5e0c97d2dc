use std::path::Path;

use chrono::NaiveDate;

use super::table::{Column, Table};
use super::{locate, CliError, Env, Format, Out, Status, TableFormat};
use crate::lifecycle::tick::{self, Mode, Options};
use crate::model::dates;

/// Apply the sales loop's time-based moves as one commit.
///
/// A target nobody touched goes to backlog, an expired backlog returns to a pool, a churned
/// customer is recycled, opening or winning a deal moves the account (README: "Lifecycle").
/// The commit holds HEAD's tree plus the edited account files only, dated --as-of; your other
/// staged and unstaged work is left alone. Running it twice changes nothing the second time.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The day to tick for (YYYY-MM-DD). Default: today.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<NaiveDate>,
    /// Print the moves and alerts, change nothing.
    #[arg(long, conflicts_with = "no_commit")]
    pub dry_run: bool,
    /// Edit the files in the work tree, but do not commit.
    #[arg(long)]
    pub no_commit: bool,
    /// JSON: {"moves": [...], "alerts": [...], "commit": "<sha>"|null}.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let crm = locate(env, dir)?;
    let mode = if args.dry_run {
        Mode::DryRun
    } else if args.no_commit {
        Mode::NoCommit
    } else {
        Mode::Commit
    };
    // Before anything else judges the date (the last commit's, the plan's).
    let as_of = dates::in_range(args.as_of.unwrap_or(env.now.date_naive()))?;
    let opts = Options {
        as_of,
        now: env.now,
        mode,
        author: env.author.clone(),
        committer: env.committer.clone(),
    };
    let outcome = match tick::run(&crm.root, &opts) {
        Ok(o) => o,
        Err(e) if e.is_problem() => {
            out.note(&format!("error: {e}"))?;
            if let Some(h) = e.hint() {
                out.note(&format!("hint: {h}"))?;
            }
            return Ok(Status::Problems);
        }
        Err(e) => return Err(CliError::Tick(e)),
    };
    if let Some(r) = &outcome.recovered {
        out.note(&format!("note: {r}"))?;
    }
    for w in &outcome.cache_warnings {
        out.note(&format!("warning: {w}"))?;
    }
    match args.format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Report<'a> {
                moves: &'a [crate::lifecycle::Move],
                alerts: &'a [crate::lifecycle::Alert],
                commit: Option<String>,
            }
            let report = Report {
                moves: &outcome.plan.moves,
                alerts: &outcome.plan.alerts,
                commit: outcome.commit.map(|c| c.to_string()),
            };
            out.json(&report)?;
        }
        Format::Text => {
            if outcome.plan.moves.is_empty() {
                out.println(&format!("Nothing to move as of {}.", opts.as_of))?;
            } else {
                let mut t = Table::new(vec![
                    Column::token("record"),
                    Column::token("field"),
                    Column::token("from"),
                    Column::token("to"),
                    Column::token("rule").optional(1),
                ]);
                for m in &outcome.plan.moves {
                    t.row(vec![
                        format!("{}/{}", m.kind.folder(), m.id).into(),
                        m.field.as_str().into(),
                        m.from.as_deref().unwrap_or("—").into(),
                        m.to.as_deref().unwrap_or("(removed)").into(),
                        m.rule.to_string().into(),
                    ]);
                }
                t.print(out, env, TableFormat::Text)?;
            }
            if !outcome.plan.alerts.is_empty() {
                let mut t = Table::new(vec![
                    Column::token("owner").optional(2),
                    Column::token("record"),
                    Column::token("rule").optional(1),
                    Column::text("why"),
                ]);
                for a in &outcome.plan.alerts {
                    t.row(vec![
                        a.owner.as_deref().unwrap_or("—").into(),
                        format!("{}/{}", a.kind.folder(), a.id).into(),
                        a.rule.to_string().into(),
                        a.message.as_str().into(),
                    ]);
                }
                out.println("Alerts:")?;
                t.print(out, env, TableFormat::Text)?;
            }
            let moved = outcome
                .plan
                .moves
                .iter()
                .filter(|m| m.field == "status")
                .count();
            match (&outcome.commit, mode) {
                (Some(id), _) => out.println(&format!(
                    "Committed {} ({moved} move{}).",
                    id.short(),
                    if moved == 1 { "" } else { "s" }
                ))?,
                (None, Mode::DryRun) if moved > 0 => out.println(&format!(
                    "Dry run (planned from {}): nothing was changed.",
                    outcome.from
                ))?,
                (None, Mode::NoCommit) if moved > 0 => out.println(&format!(
                    "Edited {}; nothing committed.",
                    crate::diag::count(outcome.edited.len(), "file")
                ))?,
                _ => {}
            }
        }
    }
    Ok(Status::Ok)
}
