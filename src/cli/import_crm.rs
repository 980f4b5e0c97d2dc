//! `sloop import crm`: a whole CRM from HubSpot, Pipedrive, Salesforce or a spreadsheet,
//! with its history.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use chrono::{FixedOffset, Offset, TimeZone};

use super::{locate, write, CliError, Env, Format, Out, Status};
use crate::git::{HistoryCommit, Identity};
use crate::writes::import::export::{Origin, Problem, Vendor};
use crate::writes::import::mapping::{self, Mapping};
use crate::writes::import::read::{self, Spec};
use crate::writes::import::{crm as planner, hubspot, pipedrive, salesforce, sheet};

#[derive(Debug, clap::Args)]
pub struct CrmArgs {
    /// The product the export comes from: hubspot, pipedrive, salesforce (the weekly data
    /// export) or csv (your own spreadsheet).
    #[arg(long, value_name = "PRODUCT")]
    pub from: String,
    /// The export's files, or folders holding them (each file is recognised by its header).
    #[arg(required = true, value_name = "DIR-OR-FILES")]
    pub paths: Vec<PathBuf>,
    /// The mapping file: their stages, statuses, owners, sources… to ours (`--init-map`
    /// writes one to edit).
    #[arg(long = "map", value_name = "FILE.toml")]
    pub map: Option<PathBuf>,
    /// Write a mapping file to edit (to --map FILE, default `sloop-import-<PRODUCT>.toml`)
    /// from the export's values, with guesses; import nothing.
    #[arg(long)]
    pub init_map: bool,
    /// Show what would be imported (records, commits, every column); write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the valid records even if some have problems (those are listed, with
    /// whatever depends on them).
    #[arg(long)]
    pub skip_invalid: bool,
    /// Write the history: one commit per day of the export, dated and authored as it says,
    /// on top of HEAD (without it, only the final files are written).
    #[arg(long)]
    pub commit: bool,
    /// JSON: {"dry_run", "commits", "records", "problems", "skipped", "columns", "files"}.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

fn spec(vendor: Vendor) -> &'static Spec {
    match vendor {
        Vendor::Hubspot => &hubspot::SPEC,
        Vendor::Pipedrive => &pipedrive::SPEC,
        Vendor::Salesforce => &salesforce::SPEC,
        Vendor::Csv => &sheet::SPEC,
    }
}

/// The export's files: each file given, and every `.csv`, `.txt` or `.tsv` under each
/// folder given, as the user would name them.
fn files(env: &Env, paths: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>, CliError> {
    let mut out = Vec::new();
    for p in paths {
        let full = env.cwd.join(p);
        let shown = p.display().to_string();
        if full.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(&full)
                .sort_by_file_name()
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .filter(|f| {
                    f.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                        matches!(x.to_ascii_lowercase().as_str(), "csv" | "txt" | "tsv")
                    })
                })
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(CliError::usage(format!(
                    "{shown} holds no .csv, .txt or .tsv file"
                )));
            }
            for f in found {
                let rel = f.strip_prefix(&full).unwrap_or(&f).display().to_string();
                let name = format!("{}/{rel}", shown.trim_end_matches('/'));
                let bytes = std::fs::read(&f)
                    .map_err(|e| CliError::io(format!("cannot read {name}"), e))?;
                out.push((name, bytes));
            }
        } else {
            let bytes = std::fs::read(&full)
                .map_err(|e| CliError::io(format!("cannot read {shown}"), e))?;
            out.push((shown, bytes));
        }
    }
    Ok(out)
}

/// With `SLOOP_TRACE_IMPORT` set, writes to stderr the seconds since the first call and
/// the process's resident memory now and at its peak (Linux), after a phase of the import:
/// what `scripts/bench-import` reports of the import.
fn trace(phase: &str) {
    use std::sync::OnceLock;
    static START: OnceLock<Option<std::time::Instant>> = OnceLock::new();
    let Some(start) = START
        .get_or_init(|| std::env::var_os("SLOOP_TRACE_IMPORT").map(|_| std::time::Instant::now()))
    else {
        return;
    };
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    eprintln!(
        "import phase {phase}: {:.2} s, {} MiB resident, {} MiB peak",
        start.elapsed().as_secs_f64(),
        mib("VmRSS:"),
        mib("VmHWM:")
    );
}

/// Each file's name, size and hash: what it was when first read.
fn fingerprint(inputs: &[(String, Vec<u8>)]) -> Vec<(String, usize, u64)> {
    use std::hash::{Hash, Hasher};
    inputs
        .iter()
        .map(|(name, bytes)| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            (name.clone(), bytes.len(), h.finish())
        })
        .collect()
}

/// The first file that is not what it was (or a file added or gone), by name.
fn changed_since(first: &[(String, usize, u64)], now: &[(String, Vec<u8>)]) -> Option<String> {
    let now = fingerprint(now);
    if let Some((a, _)) = first.iter().zip(&now).find(|(a, b)| a != b) {
        return Some(a.0.clone());
    }
    match first.len().cmp(&now.len()) {
        std::cmp::Ordering::Less => Some(now[first.len()].0.clone()),
        std::cmp::Ordering::Greater => Some(first[now.len()].0.clone()),
        std::cmp::Ordering::Equal => None,
    }
}

fn render_problem(p: &Problem) -> String {
    let mut s = format!("{}:{}: {}", p.at.file, p.at.line, p.message);
    if let Some(h) = &p.hint {
        s.push_str(&format!("\n   = help: {h}"));
    }
    s
}

pub fn run(a: CrmArgs, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let vendor = Vendor::parse(&a.from).ok_or_else(|| {
        CliError::usage_hint(
            format!("unknown product `{}`", a.from),
            format!("--from {}", Vendor::NAMES.join(" | ")),
        )
    })?;
    let located = locate(env, dir)?;
    let inputs = files(env, &a.paths)?;
    let show_progress = std::io::stderr().is_terminal();
    let mut progress = |n: u64| {
        if show_progress {
            eprint!("\rread {n} rows…");
        }
    };
    if a.init_map {
        let crm = write::load(&located)?;
        let target = a
            .map
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("sloop-import-{}.toml", vendor.name())));
        let full = env.cwd.join(&target);
        if full.exists() {
            return Err(CliError::usage_hint(
                format!("{} already exists", target.display()),
                "edit it, or remove it to write a new one",
            ));
        }
        let export = read::read(spec(vendor), &inputs, &[], &mut progress);
        if show_progress {
            eprint!("\r\x1b[K");
        }
        let text = mapping::init(vendor, &export, &crm.config);
        std::fs::write(&full, text)
            .map_err(|e| CliError::io(format!("cannot write {}", target.display()), e))?;
        out.println(&format!(
            "wrote {}: edit it (every `# TODO`, and check every `# guessed`), then run\n  sloop import crm --from {} {} --map {} --dry-run",
            target.display(),
            vendor.name(),
            a.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" "),
            target.display()
        ))?;
        return Ok(Status::Ok);
    }
    trace("start");
    let (session, mut crm) = write::start_whole(&located, out)?;
    let (mapping, mut problems) = match &a.map {
        Some(path) => {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(env.cwd.join(path))
                .map_err(|e| CliError::io(format!("cannot read {shown}"), e))?;
            mapping::parse(&shown, &text, &crm.config)
        }
        None => (Mapping::default(), Vec::new()),
    };
    let export = read::read(spec(vendor), &inputs, &mapping.columns, &mut progress);
    trace("read");
    // The export holds what it needs of the files: their bytes can go (memory, on a big one).
    // With --skip-invalid a second plan reads them again: what they were is remembered.
    let read_first = fingerprint(&inputs);
    drop(inputs);
    if show_progress {
        eprint!("\r\x1b[K");
    }
    // A column override must name a column of the export.
    for o in &mapping.columns {
        let known = export.columns.iter().any(|c| {
            c.column.eq_ignore_ascii_case(&o.column)
                && o.file
                    .as_deref()
                    .is_none_or(|f| crate::writes::import::export::file_matches(&c.file, f))
        });
        if !known {
            problems.push(Problem::new(
                o.at.clone(),
                format!("no file of the export has the column `{}`", o.column),
            ));
        }
    }
    let root = located.root.clone();
    let read_existing = |path: &str| std::fs::read_to_string(root.join(path)).ok();
    let mut again = || {
        let inputs = files(env, &a.paths).map_err(|e| {
            Problem::new(
                Origin {
                    file: a.paths[0].display().to_string(),
                    line: 1,
                },
                format!("cannot read the export again: {e}"),
            )
        })?;
        if let Some(changed) = changed_since(&read_first, &inputs) {
            return Err(Problem::new(
                Origin {
                    file: changed,
                    line: 1,
                },
                "the file changed while it was imported",
            )
            .hint("import again once the export is complete"));
        }
        Ok(read::read(
            spec(vendor),
            &inputs,
            &mapping.columns,
            &mut |_| {},
        ))
    };
    let mut plan = planner::plan(
        &mut crm,
        export,
        &mut again,
        &mapping,
        vendor,
        a.skip_invalid,
        &read_existing,
        &trace,
    );
    trace("plan");
    // Mapping problems are never skipped: the mapping is wrong for every record.
    problems.append(&mut plan.problems);
    problems.sort_by(|a, b| a.at.cmp(&b.at));
    problems.dedup();
    let blocked = !problems.is_empty();
    let records = |c: (usize, usize)| serde_json::json!({"created": c.0, "changed": c.1});
    let written = !a.dry_run && !blocked && !plan.commits.is_empty();
    match a.format {
        Format::Json => {
            let v = serde_json::json!({
                "dry_run": a.dry_run,
                "written": written,
                "commits": plan.commits.len(),
                "first": plan.commits.first().map(|c| c.when.date().to_string()),
                "last": plan.commits.last().map(|c| c.when.date().to_string()),
                "records": {
                    "accounts": records(plan.counts.accounts),
                    "contacts": records(plan.counts.contacts),
                    "opportunities": records(plan.counts.opportunities),
                    "leads": records(plan.counts.leads),
                    "activities": records(plan.counts.activities),
                },
                "problems": problems,
                "skipped": plan.skipped,
                "columns": plan.columns,
                "files": plan.read,
            });
            out.json(&v)?;
        }
        Format::Text => {
            for f in &plan.read {
                out.println(&format!(
                    "{}: {}{}",
                    f.file,
                    f.kind,
                    if f.rows > 0 {
                        format!(" ({} rows)", f.rows)
                    } else {
                        String::new()
                    }
                ))?;
            }
            out.println("columns:")?;
            let mut file = "";
            for c in &plan.columns {
                if c.file != file {
                    out.println(&format!("  {}", c.file))?;
                    file = &c.file;
                }
                out.println(&format!("    {} → {}", c.column, c.became))?;
            }
            let c = &plan.counts;
            let verb = if blocked {
                "nothing imported"
            } else if a.dry_run {
                "would import"
            } else {
                "imported"
            };
            let mut line = format!(
                "{verb}: {} accounts, {} contacts, {} opportunities, {} leads, {} activities",
                c.accounts.0, c.contacts.0, c.opportunities.0, c.leads.0, c.activities.0
            );
            let changed =
                c.accounts.1 + c.contacts.1 + c.opportunities.1 + c.leads.1 + c.activities.1;
            if changed > 0 {
                line.push_str(&format!("; {changed} records changed"));
            }
            if let (Some(first), Some(last)) = (plan.commits.first(), plan.commits.last()) {
                line.push_str(&format!(
                    "; {} commits from {} to {}",
                    plan.commits.len(),
                    first.when.date(),
                    last.when.date()
                ));
            }
            if plan.commits.is_empty() && !blocked {
                line.push_str("; nothing new: the CRM already holds this export");
            }
            out.println(&line)?;
            if !plan.skipped.is_empty() {
                out.println(&format!(
                    "skipped ({} records with problems, and what depends on them):",
                    plan.skipped.len()
                ))?;
                for p in &plan.skipped {
                    out.println(&format!("  {}", render_problem(p).replace('\n', "\n  ")))?;
                }
            }
            for p in &problems {
                out.println(&render_problem(p))?;
            }
        }
    }
    if blocked {
        out.note(&format!(
            "{} problem(s): nothing was written (fix them, or pass --skip-invalid to import the other records)",
            problems.len()
        ))?;
        return Ok(Status::Problems);
    }
    if a.dry_run || plan.commits.is_empty() {
        return Ok(Status::Ok);
    }
    if a.commit {
        let team = &crm.config.team;
        let fallback = env.author.clone().unwrap_or_else(|| Identity {
            name: "sloop import".into(),
            email: session
                .repo()
                .and_then(|r| r.user_email())
                .unwrap_or_default(),
        });
        let planned = std::mem::take(&mut plan.commits);
        let days: Vec<chrono::NaiveDate> = planned.iter().map(|c| c.when.date()).collect();
        let commits: Vec<HistoryCommit> = planned
            .into_iter()
            .map(|c| {
                let author = c
                    .author
                    .as_deref()
                    .and_then(|id| team.iter().find(|m| m.id.as_str() == id))
                    .map(|m| Identity {
                        name: m.name.clone(),
                        email: m.email.clone().unwrap_or_default(),
                    })
                    .unwrap_or_else(|| fallback.clone());
                let zone = FixedOffset::east_opt(c.offset).unwrap_or(chrono::Utc.fix());
                let when = zone
                    .from_local_datetime(&c.when)
                    .single()
                    .unwrap_or_else(|| zone.from_utc_datetime(&c.when));
                HistoryCommit {
                    files: c
                        .files
                        .into_iter()
                        .map(|(p, t)| (p, t.into_bytes()))
                        .collect(),
                    message: c.message,
                    author,
                    when,
                }
            })
            .collect();
        let tip = write::save_history(session, &commits)?;
        trace("commit");
        if let Some(tip) = tip {
            out.note(&format!(
                "Committed {} commits ({}…{}), the last {}",
                commits.len(),
                days[0],
                days[days.len() - 1],
                tip.short()
            ))?;
        }
    } else {
        let texts: Vec<(String, String)> = plan.final_files();
        let files: Vec<(String, Vec<u8>)> = texts
            .iter()
            .map(|(p, t)| (p.clone(), t.clone().into_bytes()))
            .collect();
        if let Some(repo) = session.repo() {
            repo.mark_import(vendor.name(), &files)?;
        }
        write::save(session, env, &located, &texts, None, out)?;
        out.note(&format!(
            "wrote the final state of {} files, without their history: `--commit` writes the history (commit these with the trailer `{}: {}`)",
            texts.len(),
            planner::TRAILER,
            vendor.name()
        ))?;
    }
    Ok(Status::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(n, t)| (n.to_string(), t.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn a_file_that_changed_between_two_readings_is_named() {
        let first = fingerprint(&files(&[("a.csv", "x,y\n1,2\n"), ("b.csv", "z\n")]));
        assert_eq!(
            changed_since(&first, &files(&[("a.csv", "x,y\n1,2\n"), ("b.csv", "z\n")])),
            None
        );
        // The same size, other bytes.
        assert_eq!(
            changed_since(&first, &files(&[("a.csv", "x,y\n1,3\n"), ("b.csv", "z\n")])),
            Some("a.csv".into())
        );
        assert_eq!(
            changed_since(&first, &files(&[("a.csv", "x,y\n1,2\n")])),
            Some("b.csv".into())
        );
        assert_eq!(
            changed_since(
                &first,
                &files(&[("a.csv", "x,y\n1,2\n"), ("b.csv", "z\n"), ("c.csv", "")])
            ),
            Some("c.csv".into())
        );
    }
}
