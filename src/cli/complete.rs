//! Dynamic shell completion (clap_complete's engine): the values the shell offers come from
//! the CRM in the current folder — its kinds, stages, statuses, team members, sources,
//! template names and record ids — asked for at the moment of completion.
//!
//! Each function here is an [`ArgValueCompleter`]'s: it gets the word being typed and
//! returns the candidates that start with it. A folder that is not in a CRM completes the
//! fixed names only. Nothing here reads a record file: ids are file names, read from the
//! kind's folder (so completing stays fast on a large CRM).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

use crate::config::Config;
use crate::model::{ActivityKind, Kind, LeadStatus};

/// The folder completion runs in: set once by `main` (which reads the environment), before
/// the completion engine calls the functions below.
static FOLDER: OnceLock<PathBuf> = OnceLock::new();

/// Completes from the CRM around `folder` (the current folder).
pub fn set_folder(folder: PathBuf) {
    let _ = FOLDER.set(folder);
}

/// The CRM around the current folder: its root and its config, if any.
fn crm() -> Option<(PathBuf, Config)> {
    let root = crate::store::find_root(FOLDER.get()?)?;
    let bytes = std::fs::read(root.join(crate::config::FILE)).ok()?;
    Some((root.clone(), crate::store::parse_config(&bytes).0))
}

/// Candidates among `names` that start with what is typed.
fn matching<I, S>(current: &OsStr, names: I) -> Vec<CompletionCandidate>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let typed = current.to_string_lossy();
    let mut out: Vec<String> = names
        .into_iter()
        .map(Into::into)
        .filter(|n| n.starts_with(typed.as_ref()))
        .collect();
    out.sort();
    out.dedup();
    out.into_iter().map(CompletionCandidate::new).collect()
}

/// The ids of `kind` in the CRM: the stems of the `.toml` files under its folder, at any
/// depth (sharded folders included), hidden entries skipped.
fn ids(root: &Path, kind: Kind) -> Vec<String> {
    walkdir::WalkDir::new(root.join(kind.folder()))
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy();
            name.strip_suffix(".toml").map(str::to_string)
        })
        .collect()
}

fn kind_ids(current: &OsStr, kind: Kind) -> Vec<CompletionCandidate> {
    match crm() {
        Some((root, _)) => matching(current, ids(&root, kind)),
        None => Vec::new(),
    }
}

/// `accounts`, `contacts`… (the folders; singular names are accepted too).
pub fn kinds(current: &OsStr) -> Vec<CompletionCandidate> {
    matching(current, Kind::ALL.map(Kind::folder))
}

/// The schemas `sloop schema` prints.
pub fn schema_names(current: &OsStr) -> Vec<CompletionCandidate> {
    matching(
        current,
        crate::store::schema::files().into_iter().map(|(n, _)| n),
    )
}

/// The kinds `sloop new` creates.
pub fn new_kinds(current: &OsStr) -> Vec<CompletionCandidate> {
    matching(current, ["account", "contact", "opportunity", "lead"])
}

/// The activity kinds `sloop log` writes.
pub fn log_kinds(current: &OsStr) -> Vec<CompletionCandidate> {
    matching(
        current,
        ActivityKind::NAMES
            .iter()
            .filter(|k| **k != "task")
            .copied(),
    )
}

/// The CRM's opportunity stages, in pipeline order.
pub fn stages(current: &OsStr) -> Vec<CompletionCandidate> {
    let config = crm().map(|(_, c)| c).unwrap_or_default();
    matching(current, config.stage_names())
}

/// Stages and `open`, `closed` (`sloop ls --stage`).
pub fn stage_filters(current: &OsStr) -> Vec<CompletionCandidate> {
    let config = crm().map(|(_, c)| c).unwrap_or_default();
    let mut names: Vec<&str> = config.stage_names();
    names.extend(["open", "closed"]);
    matching(current, names)
}

/// Account statuses and lead statuses (`sloop ls --status` takes either).
pub fn statuses(current: &OsStr) -> Vec<CompletionCandidate> {
    let config = crm().map(|(_, c)| c).unwrap_or_default();
    let mut names: Vec<&str> = config.status_names();
    names.extend(LeadStatus::NAMES);
    matching(current, names)
}

/// Team member ids.
pub fn members(current: &OsStr) -> Vec<CompletionCandidate> {
    let config = crm().map(|(_, c)| c).unwrap_or_default();
    matching(current, config.member_ids())
}

/// `values.sources`.
pub fn sources(current: &OsStr) -> Vec<CompletionCandidate> {
    let config = crm().map(|(_, c)| c).unwrap_or_default();
    matching(current, config.values.sources.clone())
}

/// The built-in templates and the CRM's own (`templates/`).
pub fn templates(current: &OsStr) -> Vec<CompletionCandidate> {
    let dir = crm().and_then(|(root, _)| super::report::user_templates(&root).ok().flatten());
    matching(current, crate::report::render::available(dir.as_deref()))
}

pub fn accounts(current: &OsStr) -> Vec<CompletionCandidate> {
    kind_ids(current, Kind::Account)
}

pub fn contacts(current: &OsStr) -> Vec<CompletionCandidate> {
    kind_ids(current, Kind::Contact)
}

pub fn opportunities(current: &OsStr) -> Vec<CompletionCandidate> {
    kind_ids(current, Kind::Opportunity)
}

pub fn leads(current: &OsStr) -> Vec<CompletionCandidate> {
    kind_ids(current, Kind::Lead)
}

pub fn activities(current: &OsStr) -> Vec<CompletionCandidate> {
    kind_ids(current, Kind::Activity)
}

/// `<kind>/<id>`: the kinds with a `/` until one is typed, then that kind's ids.
pub fn records(current: &OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy();
    match typed.split_once('/') {
        None => matching(current, Kind::ALL.map(|k| format!("{}/", k.folder()))),
        Some((kind, _)) => match (Kind::parse(kind), crm()) {
            (Some(k), Some((root, _))) => matching(
                current,
                ids(&root, k).into_iter().map(|id| format!("{kind}/{id}")),
            ),
            _ => Vec::new(),
        },
    }
}

/// A completer for `#[arg(add = …)]`.
pub fn with(f: fn(&OsStr) -> Vec<CompletionCandidate>) -> ArgValueCompleter {
    ArgValueCompleter::new(f)
}
