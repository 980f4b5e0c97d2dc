use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::{locate, write, CliError, Env, Format, Out, Status};
use crate::writes::import::{self, Options};
use crate::writes::index::Needs;

/// Import data into the CRM.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Leads from a CSV export (HubSpot, Salesforce, Pipedrive or your own): UTF-8 with or
    /// without BOM, comma or semicolon, CRLF. Duplicates of existing leads and contacts (by
    /// email, case-insensitive) and within the file are skipped; owners are assigned round-robin
    /// over --assign (default: the team's sdrs). A row that fails validation makes the whole
    /// import write nothing (exit 1) unless --skip-invalid; rejected rows go to
    /// `<FILE>.rejected.csv` with the reason.
    Leads(LeadsArgs),
    /// Calls from a phone system's call-log export (Aircall, Ringover, or a generic CSV with
    /// date, direction, from, to, duration_seconds, agent_email, outcome) become `call`
    /// activities with duration, direction and outcome, matched to contacts by phone number
    /// (E.164; a national number is read in the country of each account) and to the team
    /// member who took them. Read a row at a time, written in one commit; a call already
    /// recorded (its id) is skipped; unmatched numbers are listed, never guessed.
    Calls(CallsArgs),
}

#[derive(Debug, clap::Args)]
pub struct CallsArgs {
    /// The call log (.csv).
    pub file: PathBuf,
    #[command(flatten)]
    pub common: super::ingest::Common,
}

#[derive(Debug, clap::Args)]
pub struct LeadsArgs {
    pub file: PathBuf,
    /// The acquisition source of every lead (else the file's "Lead Source" when it is one of
    /// sloop.toml's sources).
    #[arg(long, add = super::complete::with(super::complete::sources))]
    pub source: Option<String>,
    /// Team members to assign leads to, round-robin: `--assign lea,tom`.
    #[arg(long, value_delimiter = ',', add = super::complete::with(super::complete::members))]
    pub assign: Vec<String>,
    /// Map a column to a lead field: `--map "Société=company"` (repeat it).
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub map: Vec<String>,
    /// Show what would be imported; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the valid rows even if some are rejected.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Commit the new lead files on top of HEAD.
    #[arg(long)]
    pub commit: bool,
    /// JSON: {"imported", "duplicates", "rejected", "leads": [ids]}.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let a = match args.what {
        What::Leads(a) => a,
        What::Calls(a) => return super::ingest::calls(a.file, a.common, env, dir, out),
    };
    let located = locate(env, dir)?;
    let (session, crm) = write::start(&located, out, Needs::nothing())?;
    let path = env.cwd.join(&a.file);
    let bytes = std::fs::read(&path)
        .map_err(|e| CliError::io(format!("cannot read {}", a.file.display()), e))?;
    let map = a
        .map
        .iter()
        .map(|m| {
            m.split_once('=')
                .map(|(c, f)| (c.to_string(), f.trim().to_string()))
                .ok_or_else(|| CliError::usage(format!("`--map {m}` is not COLUMN=FIELD")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(s) = &a.source {
        if !crm.config.values.sources.is_empty() && !crm.config.values.sources.contains(s) {
            return Err(CliError::usage_hint(
                format!("unknown source `{s}`"),
                format!(
                    "sources: {}",
                    crate::diag::one_of(&crm.config.values.sources)
                ),
            ));
        }
    }
    let opts = Options {
        source: a.source.as_deref(),
        assign: a.assign.clone(),
        map,
        today: env.now.date_naive(),
    };
    let show_progress = std::io::stderr().is_terminal();
    let plan = import::plan(&crm, &bytes, &opts, |line| {
        if show_progress {
            eprint!("\rread {line} rows…");
        }
    })
    .map_err(|e| CliError::usage(e.to_string()))?;
    if show_progress {
        eprint!("\r\x1b[K");
    }
    let rejected_file = PathBuf::from(format!("{}.rejected.csv", path.display()));
    if !plan.rejected.is_empty() && !a.dry_run {
        let bytes = plan.rejected_csv().map_err(|e| {
            CliError::io("cannot write the rejected rows", std::io::Error::other(e))
        })?;
        std::fs::write(&rejected_file, bytes)
            .map_err(|e| CliError::io(format!("cannot write {}", rejected_file.display()), e))?;
    }
    let blocked = !plan.rejected.is_empty() && !a.skip_invalid;
    if !a.dry_run && !blocked && !plan.leads.is_empty() {
        let files: Vec<(String, String)> = plan
            .leads
            .iter()
            .map(|(_, p, t)| (p.clone(), t.clone()))
            .collect();
        let message = format!(
            "sloop import leads {}: {}",
            write::message_path(env, &located, &path),
            crate::diag::count(files.len(), "lead")
        );
        // A lead file already on disk with exactly these bytes, unknown to the CRM, is what
        // an interrupted run of this import left (sloop remembers its uncommitted files only
        // once they are all written): this run finishes the job, and says so.
        let left = files
            .iter()
            .filter(|(p, t)| std::fs::read(located.root.join(p)).is_ok_and(|d| d == t.as_bytes()))
            .count();
        write::save(
            session,
            env,
            &located,
            &files,
            a.commit.then_some(message.as_str()),
            out,
        )?;
        if left > 0 {
            out.note(&format!(
                "{left} of these {} leads were already on disk, left by an interrupted import: \
                 the import is now complete",
                files.len()
            ))?;
        }
    }
    let imported = if a.dry_run || blocked {
        0
    } else {
        plan.leads.len()
    };
    match a.format {
        Format::Json => {
            let ids: Vec<&str> = if imported > 0 {
                plan.leads.iter().map(|(id, _, _)| id.as_str()).collect()
            } else {
                Vec::new()
            };
            let v = serde_json::json!({"imported": imported, "duplicates": plan.duplicates, "rejected": plan.rejected.len(), "leads": ids});
            out.json(&v)?;
        }
        Format::Text => {
            let verb = if a.dry_run {
                "would import"
            } else {
                "imported"
            };
            let n = if a.dry_run {
                plan.leads.len()
            } else {
                imported
            };
            out.println(&format!(
                "{verb} {}, {} skipped, {} rejected",
                crate::diag::count(n, "lead"),
                crate::diag::count(plan.duplicates, "duplicate"),
                crate::diag::count(plan.rejected.len(), "row")
            ))?;
            for r in plan.rejected.iter().take(10) {
                out.println(&format!("  line {}: {}", r.line, r.reason))?;
            }
        }
    }
    if !plan.rejected.is_empty() && !a.dry_run {
        out.note(&format!(
            "rejected rows written to {}",
            rejected_file.display()
        ))?;
    }
    if blocked {
        out.note("nothing was imported: fix the rejected rows, or pass --skip-invalid to import the others")?;
        return Ok(Status::Problems);
    }
    Ok(Status::Ok)
}
