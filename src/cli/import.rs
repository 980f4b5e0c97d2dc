use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::{locate, write, CliError, Env, Format, Out, Status};
use crate::writes::import::table::{self, Encoding};
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
    /// Leads from a lead list or a CRM's export (HubSpot, Salesforce, Pipedrive, Apollo,
    /// LinkedIn, or your own spreadsheet): UTF-8 with or without BOM, UTF-16 or
    /// Windows-1252; comma, semicolon or tab. Duplicates of existing leads and contacts (by
    /// email, case-insensitive) and within the file are skipped; owners are the file's
    /// owner column (a member's id, email or name) or round-robin over --assign (default:
    /// the team's sdrs). A row that fails validation makes the whole import write nothing
    /// (exit 1) unless --skip-invalid; rejected rows go to `<FILE>.rejected.csv` with their
    /// line and the reason.
    Leads(LeadsArgs),
    /// Calls from a phone system's call-log export (Aircall, Ringover, or a generic CSV with
    /// date, direction, from, to, duration_seconds, agent_email, outcome) become `call`
    /// activities with duration, direction and outcome, matched to contacts by phone number
    /// (E.164; a national number is read in the country of each account) and to the team
    /// member who took them. Read a row at a time, written in one commit; a call already
    /// recorded (its id) is skipped; unmatched numbers are listed, never guessed.
    Calls(CallsArgs),
    /// A whole CRM from HubSpot, Pipedrive, Salesforce or a spreadsheet, with its history:
    /// companies, contacts, deals with their stage dates, and activities, written as one
    /// dated commit per day of the export (`--commit`) through a mapping file of their
    /// values to ours (`--init-map` writes one). Every record it adds carries
    /// `custom.import_id`; each commit carries the trailer `Sloop-Import: <product>`, which
    /// lets `sloop check` accept the export's entry points and moves for those records.
    /// Nothing is written unless the whole import is valid (or --skip-invalid).
    Crm(super::import_crm::CrmArgs),
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
    /// The acquisition source of every lead (else the file's source column, which must be
    /// one of sloop.toml's sources or mapped with --value).
    #[arg(long, add = super::complete::with(super::complete::sources))]
    pub source: Option<String>,
    /// Team members to assign leads to, round-robin: `--assign lea,tom`.
    #[arg(long, value_delimiter = ',', add = super::complete::with(super::complete::members))]
    pub assign: Vec<String>,
    /// Map a column to a lead field: `--map "Société=company"`, `--map "Lead ID=custom.sf_id"`,
    /// `--map "OwnerId="` to leave a column out (repeat it).
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub map: Vec<String>,
    /// Map one of the file's values to ours, for `source`, `owner` or `status`:
    /// `--value "source:Purchased List=outbound"`, `--value "owner:Nora F.=nora"` (repeat it).
    #[arg(long = "value", value_name = "FIELD:THEIRS=OURS")]
    pub values: Vec<String>,
    /// Read the file in this encoding: utf-8, utf-16le, utf-16be or windows-1252 (default:
    /// detected).
    #[arg(long)]
    pub encoding: Option<String>,
    /// Show what would be imported; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the valid rows even if some are rejected.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Commit the new lead files on top of HEAD.
    #[arg(long)]
    pub commit: bool,
    /// JSON: {"dry_run", "imported", "duplicates", "rejected", "leads": [ids], "columns",
    /// "rejections": [{"line", "reason"}]}.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `--encoding NAME`.
pub fn encoding(name: Option<&str>) -> Result<Option<Encoding>, CliError> {
    name.map(|n| {
        Encoding::parse(n).ok_or_else(|| {
            CliError::usage_hint(
                format!("unknown encoding `{n}`"),
                format!("encodings: {}", Encoding::NAMES.join(", ")),
            )
        })
    })
    .transpose()
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    match args.what {
        What::Leads(a) => leads(a, env, dir, out),
        What::Calls(a) => super::ingest::calls(a.file, a.common, env, dir, out),
        What::Crm(a) => super::import_crm::run(a, env, dir, out),
    }
}

fn leads(a: LeadsArgs, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let located = locate(env, dir)?;
    let forced = encoding(a.encoding.as_deref())?;
    let map = a
        .map
        .iter()
        .map(|m| {
            m.split_once('=')
                .map(|(c, f)| (c.to_string(), f.trim().to_string()))
                .ok_or_else(|| CliError::usage(format!("`--map {m}` is not COLUMN=FIELD")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let values = a
        .values
        .iter()
        .map(|v| {
            let bad = || {
                CliError::usage_hint(
                    format!("`--value {v}` is not FIELD:THEIRS=OURS"),
                    "fields: source, owner, status (`--value \"source:Web=inbound\"`)",
                )
            };
            let (field, rest) = v.split_once(':').ok_or_else(bad)?;
            let (theirs, ours) = rest.split_once('=').ok_or_else(bad)?;
            if !matches!(field.trim(), "source" | "owner" | "status") {
                return Err(bad());
            }
            Ok((
                field.trim().to_string(),
                theirs.trim().to_string(),
                ours.trim().to_string(),
            ))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (session, crm) = write::start(&located, out, Needs::nothing())?;
    let path = env.cwd.join(&a.file);
    let shown = a.file.display().to_string();
    let bytes =
        std::fs::read(&path).map_err(|e| CliError::io(format!("cannot read {shown}"), e))?;
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
    for (field, theirs, ours) in &values {
        let known = match field.as_str() {
            "source" => {
                crm.config.values.sources.is_empty() || crm.config.values.sources.contains(ours)
            }
            "owner" => crm.config.member(ours).is_some(),
            _ => matches!(ours.as_str(), "new" | "working" | "rejected"),
        };
        if !known {
            return Err(CliError::usage(format!(
                "`--value {field}:{theirs}={ours}`: `{ours}` is not a {}",
                match field.as_str() {
                    "source" => "source of sloop.toml",
                    "owner" => "team member",
                    _ => "lead status (new, working, rejected)",
                }
            )));
        }
    }
    let opts = Options {
        source: a.source.as_deref(),
        assign: a.assign.clone(),
        map,
        values,
        encoding: forced,
        today: env.now.date_naive(),
    };
    let show_progress = std::io::stderr().is_terminal();
    let plan = import::plan(&crm, &bytes, &opts, |line| {
        if show_progress {
            eprint!("\rread {line} lines…");
        }
    })
    .map_err(|e| match e {
        import::ImportError::Table(table::TableError::Csv { line, message }) => {
            CliError::usage(format!("{shown}:{line}: {message}"))
        }
        e => CliError::usage(format!("{shown}: {e}")),
    })?;
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
    // What the import did, or (--dry-run) would do.
    let imported = if blocked { 0 } else { plan.leads.len() };
    let not_imported: Vec<&str> = plan
        .columns
        .iter()
        .filter(|c| c.field.is_none())
        .map(|c| c.column.as_str())
        .collect();
    match a.format {
        Format::Json => {
            let ids: Vec<&str> = if imported > 0 {
                plan.leads.iter().map(|(id, _, _)| id.as_str()).collect()
            } else {
                Vec::new()
            };
            let rejections: Vec<serde_json::Value> = plan
                .rejected
                .iter()
                .map(|r| serde_json::json!({"line": r.line, "reason": r.reason}))
                .collect();
            let v = serde_json::json!({
                "dry_run": a.dry_run,
                "imported": imported,
                "duplicates": plan.duplicates,
                "rejected": plan.rejected.len(),
                "leads": ids,
                "columns": plan.columns,
                "rejections": rejections,
            });
            out.json(&v)?;
        }
        Format::Text => {
            let verb = if a.dry_run {
                "would import"
            } else {
                "imported"
            };
            out.println(&format!(
                "{verb} {}, {} skipped, {} rejected",
                crate::diag::count(imported, "lead"),
                crate::diag::count(plan.duplicates, "duplicate"),
                crate::diag::count(plan.rejected.len(), "row")
            ))?;
            for r in plan.rejected.iter().take(10) {
                out.println(&format!("  {shown}:{}: {}", r.line, r.reason))?;
            }
            if plan.rejected.len() > 10 {
                out.println(&format!(
                    "  … and {} more (all in {})",
                    plan.rejected.len() - 10,
                    rejected_file.display()
                ))?;
            }
            // How the file was read, when it was not plain UTF-8 with commas.
            if let Some(enc) = plan.encoding {
                let mut how = Vec::new();
                if enc != Encoding::Utf8 || plan.separator != b',' {
                    how.push(format!(
                        "read as {enc}, {}-separated",
                        import::leads::separator_name(&plan)
                    ));
                }
                if plan.header_line > 1 {
                    how.push(format!("header on line {}", plan.header_line));
                }
                if let Some((a, b)) = plan.footer {
                    how.push(format!("report footer left out (lines {a}-{b})"));
                }
                if !how.is_empty() {
                    out.println(&format!("{shown}: {}", how.join("; ")))?;
                }
            }
            if !not_imported.is_empty() {
                out.println(&format!(
                    "columns not imported: {} (map one with --map \"COLUMN=FIELD\" or \"COLUMN=custom.KEY\")",
                    not_imported.join(", ")
                ))?;
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
        if !a.dry_run {
            out.note("nothing was imported: fix the rejected rows, or pass --skip-invalid to import the others")?;
        }
        return Ok(Status::Problems);
    }
    Ok(Status::Ok)
}
