//! `sloop tick`: plan the lifecycle moves (`lifecycle::plan`), edit the account files with
//! format-preserving writes (`store::edit`), and commit them on top of HEAD (`git`).

use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};

use crate::crm::Crm;
use crate::git::{
    CommitError, CommitInfo, GitError, Identity, ObjectId, Recovery, Repo, WriteLock,
};
use crate::history::{self, Event};
use crate::lifecycle::{self, facts, Facts, Move, Plan};
use crate::model::{Activity, Contact, Kind, Lead};
use crate::store::edit::{EditError, FieldValue, RecordEdit};
use crate::store::{self, LoadError, Source, WorkTree};

/// What to do with the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Edit the files and commit them (the default).
    Commit,
    /// Edit the files in the work tree, no commit.
    NoCommit,
    /// Print the plan only.
    DryRun,
}

pub struct Options {
    pub as_of: NaiveDate,
    /// The current time, for the commit date when ticking for today.
    pub now: DateTime<FixedOffset>,
    pub mode: Mode,
    pub author: Option<Identity>,
    pub committer: Option<Identity>,
}

#[derive(Debug)]
pub struct Outcome {
    pub plan: Plan,
    /// The commit made, if any.
    pub commit: Option<ObjectId>,
    /// What was found and done about a write a killed sloop left, before this one.
    pub recovered: Option<Recovery>,
    /// Files edited (CRM-relative).
    pub edited: Vec<String>,
    pub message: String,
    /// Planned from HEAD's tree (commit mode) or the work tree.
    pub from: String,
    /// What was found damaged in the caches (and set aside): for warnings.
    pub cache_warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TickError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("the CRM has {errors} error(s) in {from}: tick does not move records it cannot read")]
    Invalid { errors: usize, from: String },
    #[error("{} has uncommitted changes: tick must edit it", .files.join(", "))]
    Dirty { files: Vec<String> },
    #[error("cannot edit {path}: {source}")]
    Edit { path: String, source: EditError },
    #[error("--as-of {as_of} is before the last commit ({last}): a tick cannot be dated before its parent")]
    BeforeLastCommit { as_of: NaiveDate, last: NaiveDate },
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Date(#[from] crate::model::dates::DateError),
}

impl TickError {
    pub fn hint(&self) -> Option<String> {
        match self {
            TickError::Git(g) => g.hint.clone(),
            TickError::Load(l) => l.hint(),
            TickError::Date(d) => Some(d.hint()),
            TickError::Invalid { .. } => Some("run `sloop check` and fix the errors first".into()),
            TickError::Dirty { .. } => Some(
                "commit or stash your changes to those files, then tick again (or use --no-commit)"
                    .into(),
            ),
            TickError::BeforeLastCommit { .. } => {
                Some("use a later --as-of, or --dry-run to preview an earlier date".into())
            }
            _ => None,
        }
    }

    /// Whether the CRM itself is the problem (exit 1) rather than the command (exit 2).
    pub fn is_problem(&self) -> bool {
        matches!(self, TickError::Invalid { .. } | TickError::Dirty { .. })
    }
}

const NOON: chrono::NaiveTime = match chrono::NaiveTime::from_hms_opt(12, 0, 0) {
    Some(t) => t,
    None => chrono::NaiveTime::MIN,
};

/// Runs one tick.
pub fn run(root: &Path, opts: &Options) -> Result<Outcome, TickError> {
    let repo = Repo::open(root)?;
    // A tick that writes holds sloop's write lock from its first read to its last write (and
    // recovers what a killed writer left first).
    let lock = match (&repo, opts.mode) {
        (Some(r), Mode::Commit | Mode::NoCommit) => Some(WriteLock::acquire(r)?),
        _ => None,
    };
    let recovered = lock.as_ref().and_then(|l| l.recovered.clone());
    let commit_mode = opts.mode == Mode::Commit || (opts.mode == Mode::DryRun && repo.is_some());
    let head = match &repo {
        Some(r) => r.head()?,
        None => None,
    };
    if opts.mode == Mode::Commit {
        let Some(r) = &repo else {
            return Err(TickError::Refused("this CRM is not in a git repository, so tick cannot commit: use --no-commit to edit the files only".into()));
        };
        r.ready_to_commit()?;
    }
    // Commit mode plans from what is committed: the commit holds HEAD plus the edits only.
    // HEAD's tree is listed only when files are read from it (a listing of every path: with
    // the snapshot, a dry run reads none).
    let from_head = commit_mode && repo.is_some() && head.is_some();
    let from = if from_head { "HEAD" } else { "the work tree" }.to_string();
    let source = || -> Result<Box<dyn Source>, TickError> {
        match (&repo, &head) {
            (Some(r), Some(h)) if commit_mode => Ok(Box::new(r.tree_source(*h)?)),
            _ => Ok(Box::new(WorkTree::new(root))),
        }
    };
    // Planning from HEAD with a report snapshot on its history: the snapshot has HEAD's
    // records typed and the events the facts read, decoded to what the rules read.
    let mut cache_warnings = Vec::new();
    let cached = match (&repo, &head) {
        (Some(r), Some(_)) if commit_mode => {
            crate::history::snapshot::head_kept(root, r, Some(&KEEP), &mut cache_warnings).map_err(
                |e| match e {
                    crate::history::snapshot::SnapshotError::Git(g) => TickError::Git(g),
                    crate::history::snapshot::SnapshotError::Load(l) => TickError::Load(l),
                },
            )?
        }
        _ => None,
    };
    let (crm, errors, known) = match cached {
        Some(mut inputs) => {
            cache_warnings.append(&mut inputs.cache_warnings);
            let known = repo
                .as_ref()
                .map(|r| facts_from_history(r, &inputs.crm, &inputs.commits, &inputs.events));
            (inputs.crm, inputs.errors, known)
        }
        None => {
            // The history the facts read first, then the CRM (without the field positions,
            // which the plan does not read): mining the history while the whole CRM was
            // held took a tick with no cache to 695 MiB on the benchmark CRM.
            let history = match (&repo, &head) {
                (Some(_), Some(_)) => Some(facts_history(root, &mut cache_warnings)?),
                _ => None,
            };
            let loaded = store::load_without_positions(source()?.as_ref())?;
            let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
            let known = match (&repo, history) {
                (Some(r), Some((commits, events))) => {
                    Some(facts_from_history(r, &loaded.crm, &commits, &events))
                }
                _ => None,
            };
            (loaded.crm, errors, known)
        }
    };
    if errors > 0 {
        return Err(TickError::Invalid { errors, from });
    }
    if let (Some(r), Some(h), Mode::Commit) = (&repo, &head, opts.mode) {
        let last = r.commit_info(*h)?.author_date.date_naive();
        if opts.as_of < last {
            return Err(TickError::BeforeLastCommit {
                as_of: opts.as_of,
                last,
            });
        }
    }
    // No facts without a commit: nothing has a history yet.
    let facts = known.unwrap_or_default();
    let plan = lifecycle::plan(&crm, &facts, opts.as_of)?;
    let message = commit_message(&plan, opts.as_of);
    let mut outcome = Outcome {
        plan,
        commit: None,
        recovered,
        edited: Vec::new(),
        message,
        from,
        cache_warnings,
    };
    if outcome.plan.moves.is_empty() || opts.mode == Mode::DryRun {
        return Ok(outcome);
    }
    let files = edits(&crm, &outcome.plan, source()?.as_ref())?;
    outcome.edited = files.iter().map(|(p, _)| p.clone()).collect();
    match (opts.mode, &repo) {
        (Mode::Commit, Some(r)) => {
            let when = commit_time(r, head, opts)?;
            let id = r
                .commit_files(&crate::git::CommitRequest {
                    files: &files,
                    message: &outcome.message,
                    when,
                    author: opts.author.clone(),
                    committer: opts.committer.clone(),
                    base: head,
                })
                .map_err(|e| match e {
                    CommitError::Dirty(files) => TickError::Dirty { files },
                    CommitError::Git(g) => TickError::Git(g),
                })?;
            outcome.commit = Some(id);
        }
        _ => {
            store::write_files(root, &files).map_err(|(path, e)| {
                TickError::Refused(format!("cannot write {}: {e}", path.display()))
            })?;
        }
    }
    drop(lock);
    Ok(outcome)
}

/// What tick keeps of the report snapshot: the events the facts read, and of the records
/// what the rules read (`lifecycle::plan`) and what the moves are written from (an account's
/// and an opportunity's id and path; the files themselves are read again to be edited).
/// Contacts and leads: their id and path only (they count duplicate ids). Activities: what
/// `plan` reads (kind, date, account, opportunity, owner, due, done, cancelled).
const KEEP: crate::history::snapshot::Keep = crate::history::snapshot::Keep {
    events: history::for_lifecycle,
    account: |a| a,
    opportunity: |o| o,
    contact: |c| Contact {
        meta: c.meta,
        ..Contact::default()
    },
    lead: |l| Lead {
        meta: l.meta,
        ..Lead::default()
    },
    activity: |a| Activity {
        meta: a.meta,
        kind: a.kind,
        date: a.date,
        account: a.account,
        opportunity: a.opportunity,
        owner: a.owner,
        due: a.due,
        done: a.done,
        cancelled: a.cancelled,
        ..Activity::default()
    },
};

/// The commit's date: the as-of day at the current time when ticking for today, else noon
/// UTC of that day; never before the parent commit.
fn commit_time(
    repo: &Repo,
    head: Option<ObjectId>,
    opts: &Options,
) -> Result<DateTime<FixedOffset>, TickError> {
    let utc = chrono::Offset::fix(&chrono::Utc);
    let mut when = if opts.now.date_naive() == opts.as_of {
        opts.now
    } else {
        utc.from_utc_datetime(&opts.as_of.and_time(NOON))
    };
    if let Some(h) = head {
        let parent = repo.commit_info(h)?.author_date;
        if when <= parent {
            when = parent + chrono::Duration::seconds(1);
        }
    }
    Ok(when)
}

/// The new contents of every file the plan touches, edited in place.
fn edits(crm: &Crm, plan: &Plan, source: &dyn Source) -> Result<Vec<(String, Vec<u8>)>, TickError> {
    let mut out = Vec::new();
    let listed = source
        .list()
        .map_err(|e| TickError::Refused(e.to_string()))?;
    let tokens: std::collections::HashMap<&str, usize> =
        listed.iter().map(|f| (f.path.as_str(), f.token)).collect();
    for (kind, id) in plan.touched() {
        let Some(path) = (match kind {
            Kind::Account => crm.account(id).map(|a| a.meta.path.clone()),
            Kind::Opportunity => crm.opportunity(id).map(|o| o.meta.path.clone()),
            _ => None,
        }) else {
            continue;
        };
        let file = store::SourceFile {
            path: path.clone(),
            entry: store::Entry::File,
            token: tokens.get(path.as_str()).copied().unwrap_or(0),
        };
        let bytes = source
            .read(&file)
            .map_err(|e| TickError::Refused(format!("cannot read {path}: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| TickError::Refused(format!("{path} is not UTF-8")))?;
        let mut edit = RecordEdit::parse(&text).map_err(|source| TickError::Edit {
            path: path.clone(),
            source,
        })?;
        for m in plan.moves.iter().filter(|m| m.kind == kind && m.id == id) {
            apply(&mut edit, m).map_err(|source| TickError::Edit {
                path: path.clone(),
                source,
            })?;
        }
        out.push((path, edit.finish().into_bytes()));
    }
    Ok(out)
}

fn apply(edit: &mut RecordEdit, m: &Move) -> Result<(), EditError> {
    match &m.to {
        None => {
            edit.remove(&m.field);
        }
        Some(v) if m.field == "backlog_until" => {
            let date: NaiveDate = v.parse().map_err(|_| EditError::InvalidField {
                field: m.field.clone(),
            })?;
            edit.set(&m.field, FieldValue::Date(date))?;
        }
        Some(v) => {
            edit.set(&m.field, FieldValue::Str(v.clone()))?;
        }
    }
    Ok(())
}

/// `sloop tick 2026-11-26: 2 moves`, then one line per field change.
/// Dates each account's current status and each opportunity's creation from the commits.
/// What the caches were found to have damaged is added to `cache_warnings`.
pub fn facts(
    root: &Path,
    repo: &Repo,
    crm: &Crm,
    cache_warnings: &mut Vec<String>,
) -> Result<Facts, GitError> {
    let (commits, events) = facts_history(root, cache_warnings)?;
    Ok(facts_from_history(repo, crm, &commits, &events))
}

/// The first-parent commits of `HEAD` and the events the facts read of them
/// (`history::for_lifecycle`). For a caller that loads the CRM too: reading the history first
/// and the CRM after, the two are never at their peak together (with no cache, mining the
/// history while the whole CRM was held took `sloop agenda` to 700 MiB on the benchmark CRM).
pub fn facts_history(
    root: &Path,
    cache_warnings: &mut Vec<String>,
) -> Result<(Vec<CommitInfo>, Vec<Event>), GitError> {
    // The report's snapshot holds the events the facts read (and more): brought forward to
    // HEAD, it spares reading the whole history cache. Without one, the history is mined,
    // keeping only what the facts read.
    let (commits, events) =
        match crate::history::snapshot::history(root, history::for_lifecycle, cache_warnings)? {
            Some(history) => history,
            None => {
                let options = history::Options {
                    lean: Some(history::for_lifecycle),
                    ..history::Options::default()
                };
                let mined = history::mine(root, &options)?;
                cache_warnings.extend(mined.stats.cache_damage);
                (mined.commits, mined.events)
            }
        };
    Ok((commits, events))
}

/// The facts from a first-parent history (commits oldest first, their events). In a shallow
/// clone the oldest fetched commit looks like a root: everything "appears" there. Those dates
/// are not real, so what only that commit dates stays unknown.
pub fn facts_from_history(
    repo: &Repo,
    crm: &Crm,
    commits: &[CommitInfo],
    events: &[Event],
) -> Facts {
    let edge = commits
        .first()
        .filter(|c| repo.is_shallow_edge(c.id))
        .map(|c| c.id.to_string());
    facts::from_events(crm, events, edge.as_deref())
}

pub fn commit_message(plan: &Plan, as_of: NaiveDate) -> String {
    let moved = plan.moves.iter().filter(|m| m.field == "status").count();
    let mut msg = format!(
        "sloop tick {as_of}: {moved} move{}\n\n",
        if moved == 1 { "" } else { "s" }
    );
    for m in &plan.moves {
        let name = format!("{}/{}", m.kind.folder(), m.id);
        let line = match (m.field.as_str(), &m.from, &m.to) {
            ("status", Some(from), Some(to)) => format!("{name}: {from} -> {to} ({})", m.rule),
            (field, _, Some(to)) => format!("{name}: {field} = {to} ({})", m.rule),
            (field, _, None) => format!("{name}: {field} removed ({})", m.rule),
        };
        msg.push_str(&line);
        msg.push('\n');
    }
    msg
}
