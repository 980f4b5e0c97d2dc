//! The history: a branch's first-parent commits, oldest first, turned into record events
//! (created, field changed, deleted) with the commit's id, author and date. The git history
//! is the source of truth for when things happened (DESIGN.md §1, §6).
//!
//! Each commit is diffed against its first parent with the git module's tree differ; only the
//! changed record files are read and parsed, and the two versions of each record are compared
//! field by field. Commits are independent of each other, so they are mined on every core
//! (one repository handle per thread) and cached by commit id (`cache`).
//!
//! Historical files are read with a permissive config ([`permissive_config`]): a value is
//! recorded as it was written even when the current `sloop.toml` no longer allows it.

mod cache;
pub mod codec;
mod fields;
pub mod integrity;
pub mod snapshot;
mod state;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;
use serde::Serialize;

pub use crate::model::flatten::{Fields, Value};
pub use fields::{parse_fields, permissive_config};
pub use state::{
    apply, by_record, field_timeline, first_seen, stage_intervals, state_at, status_since,
    timeline, ByRecord, StageInterval, State,
};

use crate::config::Config;
use crate::git::{self, CommitInfo, GitError, ObjectId};
use crate::model::Kind;
use crate::store::{classify, PathClass};
use codec::Codec;

/// What happened to a record in one commit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// The file was added: every field it has.
    Created { fields: Fields },
    /// One field was added (`old` is `None`), removed (`new` is `None`) or changed.
    Changed {
        field: String,
        old: Option<Value>,
        new: Option<Value>,
    },
    /// The file was removed (or renamed: a rename is a deletion plus a creation).
    Deleted,
    /// The previous version could not be read as a record (it was skipped with a warning):
    /// every field of this version, to replace whatever was known.
    Restored { fields: Fields },
}

/// One change to one record, with the commit that made it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The commit id, 40 hex digits. Shared by the events of a commit (as are the author's
    /// name and email): a long history has a million events and thirty thousand commits.
    pub commit: Arc<str>,
    pub author: Arc<str>,
    pub email: Arc<str>,
    /// The author date: when the change was made.
    pub date: DateTime<FixedOffset>,
    pub kind: Kind,
    pub id: String,
    /// The file, relative to the CRM root.
    pub path: String,
    #[serde(flatten)]
    pub change: Change,
}

/// A record file skipped because it could not be read as a record in that commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub commit: String,
    pub path: String,
    pub message: String,
}

/// How much work a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub commits: usize,
    /// Commits whose events came from the cache.
    pub cached: usize,
    /// Commits diffed and parsed in this run.
    pub mined: usize,
    /// Why the cache could not be written, if it could not (the run still succeeds).
    pub cache_error: Option<String>,
    /// What in the cache failed its check and was mined again, if anything: a warning.
    pub cache_damage: Option<String>,
}

/// The events of a branch, oldest first.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The commits walked, oldest first.
    pub commits: Vec<CommitInfo>,
    /// In commit order; within a commit, deletions first, then by path.
    pub events: Vec<Event>,
    pub warnings: Vec<Warning>,
    pub stats: Stats,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The branch or commit whose first-parent history is mined.
    pub rev: String,
    /// Read and write the cache under the git dir.
    pub cache: bool,
    /// Threads to mine on; 0: one per core.
    pub threads: usize,
    /// Keep only the events a caller reads, slimmed to what it reads (`for_metrics`,
    /// `for_lifecycle`): the rest of a long history is then never held in memory.
    pub lean: Option<Filter>,
    /// Keep only the events and warnings of this one record (`sloop history`), as well as
    /// `lean` does: a history of every record is then never held in memory. The cache is
    /// still read and written whole.
    pub record: Option<(Kind, String)>,
    /// Keep no event nor warning, only the commits and the stats: for `stream`, which
    /// brings the cache up to date this way, then reads the events back from it in order.
    pub commits_only: bool,
    /// Kinds whose record files are not read at all: `lean` drops every event of them
    /// (`UNREAD_BY_METRICS`), and their warnings are dropped too. Such a run writes no
    /// history cache lines (a line holds every kind's events); it still reads the cache, and
    /// rewrites it without the lines that fail their check.
    pub unread: &'static [Kind],
}

/// Whether an event is kept, slimming it in place.
pub type Filter = fn(Kind, &mut Change) -> bool;

/// What the lifecycle facts of `sloop tick` read: the status timeline of accounts, and when
/// each opportunity was first seen and its stage timeline.
pub fn for_lifecycle(kind: Kind, change: &mut Change) -> bool {
    match (kind, change) {
        (Kind::Account, Change::Created { fields } | Change::Restored { fields }) => {
            fields.retain(|k, _| k == "status");
            true
        }
        (Kind::Account, Change::Changed { field, .. }) => field == "status",
        (Kind::Account, Change::Deleted) => true,
        (Kind::Opportunity, Change::Created { fields } | Change::Restored { fields }) => {
            fields.retain(|k, _| k == "stage");
            true
        }
        (Kind::Opportunity, Change::Changed { field, .. }) => field == "stage",
        (Kind::Opportunity, Change::Deleted) => true,
        _ => false,
    }
}

/// The kinds `for_metrics` drops every event of: a report need not read their files in the
/// history (`Options::unread`). Activities are half the record files a history writes.
pub const UNREAD_BY_METRICS: &[Kind] = &[Kind::Activity];

/// Whether `path` is a record file of one of the `unread` kinds (`Options::unread`).
pub fn left_unread(path: &str, unread: &[Kind]) -> bool {
    matches!(classify(path), PathClass::Record(k, _) if unread.contains(&k))
}

/// Whether the metrics read an event, slimming it to what they read (see
/// `metrics::Inputs::events`): of accounts, their `name` and `status` when created, their
/// `status` changes and their deletion; of opportunities, their `name`, `stage` and `mrr`
/// when created, changes of `stage` and `mrr`, and their deletion; of contacts and leads,
/// their `name` and `status` when created and their `status` changes (the day a lead was
/// first addressed). Activities are most of a history's
/// events, and no metric reads them from the history.
pub fn for_metrics(kind: Kind, change: &mut Change) -> bool {
    let (created, changed): (&[&str], &[&str]) = match kind {
        Kind::Account => (&["name", "status"], &["status"]),
        Kind::Opportunity => (&["name", "stage", "mrr"], &["stage", "mrr"]),
        Kind::Contact | Kind::Lead => (&["name", "status"], &["status"]),
        Kind::Activity => return false,
    };
    match change {
        Change::Created { fields } | Change::Restored { fields } => {
            fields.retain(|k, _| created.contains(&k.as_str()));
            true
        }
        Change::Changed { field, .. } => changed.contains(&field.as_str()),
        Change::Deleted => matches!(kind, Kind::Account | Kind::Opportunity),
    }
}

/// What a run keeps of each delta it mines or reads from the cache (`Options::lean` and
/// `Options::record`).
#[derive(Clone, Copy)]
struct Slim<'a> {
    lean: Option<Filter>,
    record: Option<(Kind, &'a str)>,
    nothing: bool,
}

impl<'a> Slim<'a> {
    fn of(options: &'a Options) -> Self {
        Slim {
            lean: options.lean,
            record: options.record.as_ref().map(|(k, id)| (*k, id.as_str())),
            nothing: options.commits_only,
        }
    }

    /// Keeps everything.
    #[cfg(test)]
    fn none() -> Self {
        Slim {
            lean: None,
            record: None,
            nothing: false,
        }
    }

    /// Whether the deltas are slimmed at all (then never written back to the cache).
    fn slims(&self) -> bool {
        self.lean.is_some() || self.record.is_some() || self.nothing
    }

    /// Nothing is kept: a cache line's commit only is read.
    fn keeps_nothing(&self) -> bool {
        self.nothing
    }

    /// The record kept, if one is: a cache line that does not name it has nothing to keep.
    fn record(&self) -> Option<(Kind, &'a str)> {
        self.record
    }

    fn apply(self, delta: Delta) -> Delta {
        if self.nothing {
            return Delta::default();
        }
        let delta = match self.record {
            Some(record) => delta.of_record(record),
            None => delta,
        };
        match self.lean {
            Some(keep) => delta.lean(keep),
            None => delta,
        }
    }
}

impl Delta {
    /// Only the events and warnings of one record.
    fn of_record(mut self, (kind, id): (Kind, &str)) -> Self {
        self.events.retain(|e| e.kind == kind && e.id == id);
        self.events.shrink_to_fit();
        self.warnings.retain(
            |w| matches!(classify(&w.path), PathClass::Record(k, i) if k == kind && i == id),
        );
        self
    }

    fn lean(mut self, keep: Filter) -> Self {
        self.events.retain_mut(|e| keep(e.kind, &mut e.change));
        self.events.shrink_to_fit();
        self
    }

    /// Without the events and warnings of the `unread` kinds (a delta from the cache, for a
    /// run that does not read their files).
    fn without(mut self, unread: &[Kind]) -> Self {
        if !unread.is_empty() {
            self.events.retain(|e| !unread.contains(&e.kind));
            self.warnings.retain(|w| !left_unread(&w.path, unread));
        }
        self
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rev: "HEAD".into(),
            cache: true,
            threads: 0,
            lean: None,
            record: None,
            commits_only: false,
            unread: &[],
        }
    }
}

impl Options {
    /// The threads to mine on (`threads`, 0: one per core).
    fn threads(&self) -> usize {
        match self.threads {
            0 => rayon::current_num_threads(),
            n => n,
        }
    }
}

/// Each commit's cache key: its id and that of the commit before it in `commits` (the one
/// it is diffed against).
fn cache_keys(commits: &[CommitInfo]) -> Vec<cache::Key> {
    commits
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let base = i.checked_sub(1).map(|p| commits[p].id.to_string());
            (c.id.to_string(), base)
        })
        .collect()
}

/// Mines the history of the CRM whose root folder is `crm_root` (the repository root or a
/// folder inside it).
pub fn mine(crm_root: &Path, options: &Options) -> Result<History, GitError> {
    let repo = git::Walker::open(crm_root)?;
    let prefix = repo.prefix_of(crm_root)?;
    let commits = repo.first_parent_commits(&options.rev)?;
    let mut cache = if options.cache {
        let key = integrity::Key::history(&repo, &prefix);
        let file = cache::Cache::file(repo.common_dir(), &prefix);
        cache::Cache::load(file, &key, Slim::of(options))
    } else {
        cache::Cache::disabled()
    };
    let keys = cache_keys(&commits);
    let jobs: Vec<Job> = (0..commits.len())
        .filter(|&i| !cache.contains(&keys[i]))
        .map(|i| Job {
            index: i,
            old_tree: i.checked_sub(1).map(|p| commits[p].tree),
            new_tree: commits[i].tree,
        })
        .collect();
    let config = permissive_config();
    let threads = options.threads();
    // A run that leaves kinds unread has only part of each commit's events: it writes no
    // line (the next run that reads every kind does).
    let writes = options.cache && options.unread.is_empty();
    // Each delta's cache line is written as soon as it is mined, and the delta slimmed
    // then if the run is lean: a long history is never held whole in memory.
    let seed = cache.seed();
    // A cache written anew takes the lines as they are mined.
    let stream = if writes { cache.stream() } else { None };
    let finish = |job: &Job, delta: Delta| -> (Delta, Vec<u8>) {
        let mut line = Vec::new();
        if writes {
            // Serializing plain data into memory cannot fail.
            let _ = cache::write_line(&mut line, seed, &keys[job.index], &delta);
            match &stream {
                Some(s) => {
                    s.write(&line);
                    line = Vec::new();
                }
                None => line.shrink_to_fit(),
            }
        }
        (Slim::of(options).apply(delta), line)
    };
    let setup = MinerSetup {
        prefix: &prefix,
        config: &config,
        unread: options.unread,
    };
    let mined = run(repo, &jobs, &setup, threads, &finish)?;

    let mut stats = Stats {
        commits: commits.len(),
        cached: commits.len() - jobs.len(),
        mined: jobs.len(),
        cache_error: None,
        cache_damage: cache.damage(writes),
    };
    // Sized once: the lines of a whole history are a hundred megabytes, grown by doubling
    // they were twice that, next to the mined lines not yet copied.
    let mut lines = Vec::with_capacity(mined.iter().map(|(_, l)| l.len()).sum());
    let mut fresh: HashMap<usize, Delta> = HashMap::with_capacity(jobs.len());
    for (job, (delta, line)) in jobs.iter().zip(mined) {
        lines.extend_from_slice(&line);
        fresh.insert(job.index, delta);
    }
    if options.cache {
        let live: HashSet<&cache::Key> = keys.iter().collect();
        let saved = match stream {
            Some(s) => cache.finish_stream(s),
            None if writes => cache.save(&lines, &live),
            None => cache.tidy(&live),
        };
        if let Err(e) = saved {
            stats.cache_error = Some(e.to_string());
        }
    }
    drop(lines);
    let deltas = (0..commits.len()).map(|i| match fresh.remove(&i) {
        Some(d) => d,
        None => cache
            .take(&keys[i])
            .map(|d| d.without(options.unread))
            .unwrap_or_default(),
    });
    Ok(assemble(commits, deltas, stats))
}

/// Commits whose events `stream` holds at once when it mines them (they are not in the
/// cache).
const STREAM_WINDOW: usize = 2_000;

/// The history of `options.rev`, one commit at a time, oldest first: `each` gets a `History`
/// of one commit, its events and warnings, as `mine` would give them (`options.lean`,
/// `record` and `unread` apply). Unlike `mine`'s, the events of a whole history are never in
/// memory at once: the history cache is brought up to date first (by `mine`, keeping
/// nothing) and each commit's events are read back from it in order; commits the cache does
/// not hold (caching disabled, or a cache that cannot be written) are mined
/// `STREAM_WINDOW` at a time. Returns what the run did to the cache (`Stats`).
pub fn stream<E: From<GitError>>(
    crm_root: &Path,
    options: &Options,
    each: impl FnMut(History) -> Result<(), E>,
) -> Result<Stats, E> {
    stream_by(crm_root, options, STREAM_WINDOW, each)
}

/// `stream`, mining `window` commits at a time.
fn stream_by<E: From<GitError>>(
    crm_root: &Path,
    options: &Options,
    window: usize,
    mut each: impl FnMut(History) -> Result<(), E>,
) -> Result<Stats, E> {
    let walker = git::Walker::open(crm_root)?;
    let prefix = walker.prefix_of(crm_root)?;
    let commits = walker.first_parent_commits(&options.rev)?;
    let file = cache::Cache::file(walker.common_dir(), &prefix);
    let key = integrity::Key::history(&walker, &prefix);
    drop(walker);
    let keys = cache_keys(&commits);
    let open = || {
        options
            .cache
            .then(|| cache::Index::open(&file, &key))
            .flatten()
    };
    let mut index = open();
    // What the run that brought the cache up to date did; without one, what this one does.
    let mut updated: Option<Stats> = None;
    let mut stats = Stats {
        commits: commits.len(),
        ..Stats::default()
    };
    let whole = |index: &Option<cache::Index>| {
        index
            .as_ref()
            .is_some_and(|x| keys.iter().all(|k| x.contains(k)))
    };
    if options.cache && !whole(&index) {
        let update = Options {
            commits_only: true,
            ..options.clone()
        };
        updated = Some(mine(crm_root, &update)?.stats);
        index = open();
    }
    let slim = Slim::of(options);
    let config = permissive_config();
    let setup = MinerSetup {
        prefix: &prefix,
        config: &config,
        unread: options.unread,
    };
    let threads = options.threads();
    for start in (0..commits.len()).step_by(window) {
        let end = (start + window).min(commits.len());
        let mut deltas: Vec<Option<Delta>> = (start..end)
            .map(|i| {
                let delta = index.as_mut()?.read(&keys[i])?;
                Some(slim.apply(delta.without(options.unread)))
            })
            .collect();
        let jobs: Vec<Job> = (start..end)
            .filter(|i| deltas[i - start].is_none())
            .map(|i| Job {
                index: i,
                old_tree: i.checked_sub(1).map(|p| commits[p].tree),
                new_tree: commits[i].tree,
            })
            .collect();
        stats.cached += end - start - jobs.len();
        stats.mined += jobs.len();
        if !jobs.is_empty() {
            let repo = git::Walker::open(crm_root)?;
            let mined = run(repo, &jobs, &setup, threads, &|_, d| slim.apply(d))?;
            for (job, delta) in jobs.iter().zip(mined) {
                deltas[job.index - start] = Some(delta);
            }
        }
        for (i, delta) in (start..end).zip(deltas) {
            let one = assemble(
                vec![commits[i].clone()],
                std::iter::once(delta.unwrap_or_default()),
                Stats::default(),
            );
            each(one)?;
        }
    }
    Ok(updated.unwrap_or(stats))
}

/// What `check_caches` did about one cache file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheFix {
    pub file: std::path::PathBuf,
    pub fix: Fix,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// A report snapshot or a history cache whose header failed its checksum: removed.
    Removed,
    /// A history cache rewritten without `damaged` lines that failed their check (and an
    /// unfinished last line, if `unfinished`).
    Repaired { damaged: usize, unfinished: bool },
}

/// Checks every cache file of the repository holding `crm_root` (every CRM's): a snapshot
/// that fails a checksum is removed, a history cache is rewritten without its damaged lines
/// (or removed, if its header is damaged). Files of other versions are left alone.
pub fn check_caches(crm_root: &Path) -> Result<Vec<CacheFix>, GitError> {
    let walker = git::Walker::open(crm_root)?;
    let mut fixes = Vec::new();
    let io = |file: &Path, e: std::io::Error| {
        GitError::corrupt(format!("cannot check {}", file.display()), e.to_string())
    };
    let listed = |dir: &str, ext: &str| -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(walker.common_dir().join(dir))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect();
        files.sort();
        files
    };
    for file in listed(cache::DIR, "jsonl") {
        let fix = match cache::check_file(&file).map_err(|e| io(&file, e))? {
            cache::Checked::Sound | cache::Checked::Other => continue,
            cache::Checked::Removed => Fix::Removed,
            cache::Checked::Repaired {
                damaged,
                unfinished,
            } => Fix::Repaired {
                damaged,
                unfinished,
            },
        };
        fixes.push(CacheFix { file, fix });
    }
    for file in listed(snapshot::DIR, "bin") {
        if snapshot::check_file(&file).map_err(|e| io(&file, e))? == Some(false) {
            std::fs::remove_file(&file).map_err(|e| io(&file, e))?;
            fixes.push(CacheFix {
                file,
                fix: Fix::Removed,
            });
        }
    }
    Ok(fixes)
}

/// The commits after `base` on the first-parent history of `options.rev`, mined without the
/// per-commit cache (for a caller that keeps the earlier events itself: the report snapshot),
/// with `base`'s id. `base` is the newest commit of that history (`rev` included) for which
/// `tree_of` knows the tree; `None` when none of the last `limit` commits is known.
pub fn mine_since(
    crm_root: &Path,
    options: &Options,
    tree_of: &dyn Fn(ObjectId) -> Option<ObjectId>,
    limit: usize,
) -> Result<Option<(ObjectId, History)>, GitError> {
    let repo = git::Walker::open(crm_root)?;
    let prefix = repo.prefix_of(crm_root)?;
    let is_base = |id: ObjectId| tree_of(id).is_some();
    let Some((base, commits)) = repo.first_parent_commits_since(&options.rev, &is_base, limit)?
    else {
        return Ok(None);
    };
    let Some(base_tree) = tree_of(base) else {
        return Ok(None);
    };
    let jobs: Vec<Job> = commits
        .iter()
        .enumerate()
        .map(|(i, c)| Job {
            index: i,
            old_tree: Some(i.checked_sub(1).map_or(base_tree, |p| commits[p].tree)),
            new_tree: c.tree,
        })
        .collect();
    let finish = |_: &Job, d: Delta| Slim::of(options).apply(d);
    let config = permissive_config();
    let setup = MinerSetup {
        prefix: &prefix,
        config: &config,
        unread: options.unread,
    };
    let mined = run(repo, &jobs, &setup, options.threads, &finish)?;
    let stats = Stats {
        commits: commits.len(),
        mined: commits.len(),
        ..Stats::default()
    };
    Ok(Some((base, assemble(commits, mined.into_iter(), stats))))
}

/// The history of `commits` from their deltas, in the same order.
fn assemble(
    commits: Vec<CommitInfo>,
    deltas: impl Iterator<Item = Delta>,
    stats: Stats,
) -> History {
    let mut history = History {
        stats,
        ..History::default()
    };
    for (c, delta) in commits.iter().zip(deltas) {
        let (commit, author, email): (Arc<str>, Arc<str>, Arc<str>) = (
            c.id.to_string().into(),
            c.author_name.as_str().into(),
            c.author_email.as_str().into(),
        );
        for e in delta.events {
            history.events.push(Event {
                commit: commit.clone(),
                author: author.clone(),
                email: email.clone(),
                date: c.author_date,
                kind: e.kind,
                id: e.id,
                path: e.path,
                change: e.change,
            });
        }
        for w in delta.warnings {
            history.warnings.push(Warning {
                commit: c.id.to_string(),
                path: w.path,
                message: w.message,
            });
        }
    }
    history.commits = commits;
    history
}

/// The field-level changes from one version of a record to the next, by field name.
pub fn diff_fields(old: &Fields, new: &Fields) -> Vec<Change> {
    let mut out = Vec::new();
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let (o, n) = (old.get(name), new.get(name));
        if o != n {
            out.push(Change::Changed {
                field: name.clone(),
                old: o.cloned(),
                new: n.cloned(),
            });
        }
    }
    out
}

/// What one commit did to the records, before the commit's author and date are attached:
/// the unit that is mined and cached.
#[derive(Debug, Clone, Default, PartialEq)]
struct Delta {
    events: Vec<RecordEvent>,
    warnings: Vec<PathWarning>,
}

#[derive(Debug, Clone, PartialEq)]
struct RecordEvent {
    kind: Kind,
    id: String,
    path: String,
    change: Change,
}

#[derive(Debug, Clone, PartialEq)]
struct PathWarning {
    path: String,
    message: String,
}

/// One commit to mine: its index in the walk and the trees to compare.
struct Job {
    index: usize,
    old_tree: Option<ObjectId>,
    new_tree: ObjectId,
}

/// Below this many commits, one thread does it all: the work is not worth a second
/// repository handle.
const PARALLEL_MIN: usize = 200;

/// Mines the jobs, in order. Threads take contiguous runs of commits and diff each run in
/// one batch (consecutive versions of a folder are what the batch differ is fast at).
fn run<T: Send>(
    repo: git::Walker,
    jobs: &[Job],
    setup: &MinerSetup,
    threads: usize,
    finish: &(impl Fn(&Job, Delta) -> T + Sync),
) -> Result<Vec<T>, GitError> {
    let _uncached = git::Uncached::new();
    let done = |chunk: &[Job], deltas: Vec<Delta>| -> Vec<T> {
        chunk
            .iter()
            .zip(deltas)
            .map(|(j, d)| finish(j, d))
            .collect()
    };
    if threads <= 1 || jobs.len() < PARALLEL_MIN {
        let deltas = Miner::new(repo, setup).mine(jobs)?;
        return Ok(done(jobs, deltas));
    }
    let git_dir = repo.git_dir().to_path_buf();
    drop(repo);
    let chunk = jobs.len().div_ceil(threads * 4).max(PARALLEL_MIN / 4);
    // Each thread's kept versions, from one chunk to the next it mines: a thread mostly
    // takes consecutive chunks, whose changes are of the versions the one before wrote. (A
    // version is kept by its blob id, so a kept one is right for any chunk.)
    let kept: Vec<Mutex<Kept>> = (0..threads).map(|_| Mutex::default()).collect();
    let work = || {
        jobs.par_chunks(chunk)
            .map(|chunk| {
                let own = rayon::current_thread_index().unwrap_or(0);
                let mut mine = kept[own % kept.len()]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                let mut miner = Miner::new(git::Walker::open_private(&git_dir, own)?, setup);
                miner.kept = std::mem::take(&mut *mine);
                let deltas = miner.mine(chunk);
                *mine = std::mem::take(&mut miner.kept);
                drop(miner);
                let deltas = deltas?;
                // The chunk's repository handle is closed: what libgit2 read for it is
                // given back rather than held to the end of the run.
                git::release_freed_memory();
                Ok(done(chunk, deltas))
            })
            .collect::<Result<Vec<Vec<T>>, GitError>>()
    };
    let chunks = if threads == rayon::current_num_threads() {
        work()?
    } else {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| GitError::corrupt("cannot start mining threads", e.to_string()))?;
        pool.install(work)?
    };
    Ok(chunks.into_iter().flatten().collect())
}

/// Kept versions (`Kept`) are dropped a generation of this many at a time.
const KEPT_GENERATION: usize = 25_000;

/// What every mining thread is given.
struct MinerSetup<'a> {
    prefix: &'a str,
    config: &'a Config,
    /// Kinds whose files are not read (`Options::unread`).
    unread: &'static [Kind],
}

/// Mines commits on one thread.
struct Miner<'a> {
    repo: git::Walker,
    setup: &'a MinerSetup<'a>,
    /// Parsed versions of record files, from the commit that wrote them to the next commit
    /// that changes them, where they are the old side.
    kept: Kept,
}

/// Parsed versions of record files by (kind, blob id), held in the `codec` encoding (a
/// parsed version is a few times the size of its encoding), in two generations: once the
/// newer holds `KEPT_GENERATION`, the older is dropped and the newer becomes the older. A
/// version changed again within two generations is never read twice; one left unchanged
/// longer (most records are created and never changed; an import creates thousands in one
/// commit) is dropped, and read again if it ever is. A thread holds at most two
/// generations.
#[derive(Default)]
struct Kept {
    newer: HashMap<(Kind, ObjectId), Box<[u8]>>,
    older: HashMap<(Kind, ObjectId), Box<[u8]>>,
}

impl Kept {
    fn take(&mut self, key: &(Kind, ObjectId)) -> Option<Box<[u8]>> {
        self.newer.remove(key).or_else(|| self.older.remove(key))
    }

    fn put(&mut self, key: (Kind, ObjectId), bytes: Box<[u8]>) {
        if self.newer.len() >= KEPT_GENERATION {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(key, bytes);
    }
}

impl<'a> Miner<'a> {
    fn new(repo: git::Walker, setup: &'a MinerSetup<'a>) -> Self {
        Miner {
            repo,
            setup,
            kept: Kept::default(),
        }
    }

    /// Mines a run of commits: all their trees are diffed in one batch.
    fn mine(&mut self, jobs: &[Job]) -> Result<Vec<Delta>, GitError> {
        let pairs: Vec<_> = jobs.iter().map(|j| (j.old_tree, j.new_tree)).collect();
        let changes = self.repo.changed_files_batch(&pairs, self.setup.prefix)?;
        changes.into_iter().map(|c| self.commit(c)).collect()
    }

    fn commit(&mut self, changes: Vec<git::Change>) -> Result<Delta, GitError> {
        let mut deleted = Vec::new();
        let mut delta = Delta::default();
        for change in changes {
            let PathClass::Record(kind, id) = classify(&change.path) else {
                continue;
            };
            if self.setup.unread.contains(&kind) {
                continue;
            }
            let path = change.path.as_str();
            let record = |c: Change| RecordEvent {
                kind,
                id: id.to_string(),
                path: path.to_string(),
                change: c,
            };
            let warn = |message: String| PathWarning {
                path: path.to_string(),
                message,
            };
            match (change.old, change.new) {
                (Some(_), None) => deleted.push(record(Change::Deleted)),
                (None, Some(new)) => match self.read(kind, path, new)? {
                    Ok(fields) => {
                        self.keep(kind, new, &fields);
                        delta.events.push(record(Change::Created { fields }))
                    }
                    Err(why) => delta.warnings.push(warn(why)),
                },
                (Some(old), Some(new)) => match self.read(kind, path, new)? {
                    Err(why) => delta.warnings.push(warn(why)),
                    Ok(fields) => {
                        let before = self.old_side(kind, path, old)?;
                        self.keep(kind, new, &fields);
                        match before {
                            Ok(before) => delta
                                .events
                                .extend(diff_fields(&before, &fields).into_iter().map(record)),
                            Err(_) => delta.events.push(record(Change::Restored { fields })),
                        }
                    }
                },
                (None, None) => {}
            }
        }
        deleted.append(&mut delta.events);
        delta.events = deleted;
        Ok(delta)
    }

    /// Reads and parses one version of a record file.
    fn read(
        &mut self,
        kind: Kind,
        path: &str,
        blob: ObjectId,
    ) -> Result<Result<Fields, String>, GitError> {
        let config = self.setup.config;
        self.repo
            .with_blob(blob, |bytes| parse_fields(kind, path, bytes, config))
    }

    /// The version a commit replaced: usually kept from the commit that wrote it.
    fn old_side(
        &mut self,
        kind: Kind,
        path: &str,
        blob: ObjectId,
    ) -> Result<Result<Fields, String>, GitError> {
        let kept = self.kept.take(&(kind, blob));
        // The encoding was written by `keep`: it decodes, or the blob is read again.
        match kept.and_then(|bytes| <Fields as Codec>::get(&mut codec::Reader::new(&bytes)).ok()) {
            Some(fields) => Ok(Ok(fields)),
            None => self.read(kind, path, blob),
        }
    }

    /// Keeps a version a commit wrote for the next commit that changes the file.
    fn keep(&mut self, kind: Kind, blob: ObjectId, fields: &Fields) {
        let mut bytes = Vec::new();
        fields.put(&mut bytes);
        self.kept.put((kind, blob), bytes.into_boxed_slice());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::testing::TestRepo;

    const ACME: &str = "name = \"Acme\"\nstatus = \"target\"\nowner = \"alice\"\n";
    const ACME_WORKING: &str = "name = \"Acme\"\nstatus = \"working\"\nowner = \"alice\"\n";

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    /// Acme created as a target, then working: two commits.
    fn acme_becomes_working() -> TestRepo {
        let mut t = TestRepo::new();
        t.commit("2026-01-05", "init", &[("accounts/acme.toml", Some(ACME))]);
        t.commit(
            "2026-01-06",
            "work",
            &[("accounts/acme.toml", Some(ACME_WORKING))],
        );
        t
    }

    fn uncached() -> Options {
        Options {
            cache: false,
            ..Options::default()
        }
    }

    /// Events as short strings: `account acme created`, `account acme status: target -> working`.
    fn summary(h: &History) -> Vec<String> {
        h.events
            .iter()
            .map(|e| {
                let what = match &e.change {
                    Change::Created { .. } => "created".to_string(),
                    Change::Restored { .. } => "restored".to_string(),
                    Change::Deleted => "deleted".to_string(),
                    Change::Changed { field, old, new } => {
                        let show =
                            |v: &Option<Value>| v.as_ref().map_or("-".into(), Value::to_string);
                        format!("{field}: {} -> {}", show(old), show(new))
                    }
                };
                format!("{} {} {what}", e.kind, e.id)
            })
            .collect()
    }

    #[test]
    fn diffs_two_versions_field_by_field() {
        let config = permissive_config();
        let parse = |t: &str| {
            parse_fields(
                Kind::Opportunity,
                "opportunities/x.toml",
                t.as_bytes(),
                &config,
            )
            .unwrap()
        };
        let old = parse("name = \"X\"\nstage = \"trial\"\nmrr = 100\n[bant]\nneed = \"yes\"\n");
        let new =
            parse("name = \"X\"\nstage = \"closing\"\nmrr = 120.5\nlost_reason = \"price\"\n");
        assert_eq!(
            diff_fields(&old, &new),
            [
                Change::Changed {
                    field: "bant.need".into(),
                    old: Some(text("yes")),
                    new: None
                },
                Change::Changed {
                    field: "lost_reason".into(),
                    old: None,
                    new: Some(text("price"))
                },
                Change::Changed {
                    field: "mrr".into(),
                    old: Some(Value::Float(100.0)),
                    new: Some(Value::Float(120.5))
                },
                Change::Changed {
                    field: "stage".into(),
                    old: Some(text("trial")),
                    new: Some(text("closing"))
                },
            ]
        );
        assert!(diff_fields(&old, &parse("# a comment\nname = \"X\"\nstage = \"trial\"\nmrr = 100.0\n[bant]\nneed = \"yes\"\n")).is_empty());
    }

    #[test]
    fn records_creation_field_changes_and_deletion() {
        let mut t = TestRepo::new();
        let c1 = t.commit(
            "2026-01-05",
            "init",
            &[
                ("sloop.toml", Some("")),
                ("accounts/acme.toml", Some(ACME)),
                ("README.md", Some("hi")),
            ],
        );
        t.author = ("Bob Stone".into(), "bob@example.com".into());
        let c2 = t.commit(
            "2026-01-20",
            "work",
            &[("accounts/acme.toml", Some(ACME_WORKING))],
        );
        let c3 = t.commit("2026-02-01", "oops", &[("accounts/acme.toml", None)]);
        let h = mine(t.dir(), &uncached()).unwrap();
        assert_eq!(
            summary(&h),
            [
                "account acme created",
                "account acme status: target -> working",
                "account acme deleted",
            ]
        );
        let created = &h.events[0];
        assert_eq!(&*created.commit, c1);
        assert_eq!(&*created.author, "Alice Martin");
        assert_eq!(created.path, "accounts/acme.toml");
        assert_eq!(created.date.to_rfc3339(), "2026-01-05T10:00:00+01:00");
        let Change::Created { fields } = &created.change else {
            panic!("not a creation")
        };
        assert_eq!(fields["owner"], text("alice"));
        assert_eq!(&*h.events[1].commit, c2);
        assert_eq!(&*h.events[1].email, "bob@example.com");
        assert_eq!(&*h.events[2].commit, c3);
        assert!(h.warnings.is_empty());
        assert_eq!(h.stats.mined, 3);
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let jan = state_at(&h.events, d("2026-01-31"));
        assert_eq!(
            jan[&(Kind::Account, "acme".into())]["status"],
            text("working")
        );
        assert_eq!(
            status_since(&h.events[..2], Kind::Account, "acme"),
            Some(d("2026-01-20"))
        );
    }

    #[test]
    fn a_rename_is_a_deletion_then_a_creation() {
        let mut t = TestRepo::new();
        t.commit("2026-01-05", "init", &[("accounts/acme.toml", Some(ACME))]);
        t.commit(
            "2026-01-06",
            "rename",
            &[
                ("accounts/acme.toml", None),
                ("accounts/acme-inc.toml", Some(ACME)),
            ],
        );
        // Moved to a shard folder: the new path sorts before the old one.
        t.commit(
            "2026-01-07",
            "shard",
            &[
                ("accounts/acme-inc.toml", None),
                ("accounts/a/acme-inc.toml", Some(ACME)),
            ],
        );
        let h = mine(t.dir(), &uncached()).unwrap();
        assert_eq!(
            summary(&h),
            [
                "account acme created",
                "account acme deleted",
                "account acme-inc created",
                "account acme-inc deleted",
                "account acme-inc created",
            ]
        );
        assert_eq!(h.events[4].path, "accounts/a/acme-inc.toml");
        let d = chrono::NaiveDate::from_ymd_opt(2026, 1, 7).unwrap();
        let state = state_at(&h.events, d);
        assert_eq!(state.len(), 1);
        assert!(state.contains_key(&(Kind::Account, "acme-inc".into())));
        assert_eq!(
            status_since(&h.events, Kind::Account, "acme-inc"),
            chrono::NaiveDate::from_ymd_opt(2026, 1, 6)
        );
    }

    #[test]
    fn mines_a_crm_in_a_subfolder() {
        let mut t = TestRepo::new();
        t.commit(
            "2026-01-05",
            "init",
            &[
                ("accounts/not-the-crm.toml", Some(ACME)),
                ("crm/sloop.toml", Some("")),
                ("crm/accounts/acme.toml", Some(ACME)),
                ("crm/notes.toml", Some("stray = true")),
            ],
        );
        t.commit(
            "2026-01-06",
            "work",
            &[
                ("accounts/not-the-crm.toml", Some(ACME_WORKING)),
                ("crm/accounts/acme.toml", Some(ACME_WORKING)),
            ],
        );
        std::fs::create_dir_all(t.dir().join("crm")).unwrap();
        let h = mine(&t.dir().join("crm"), &uncached()).unwrap();
        assert_eq!(
            summary(&h),
            [
                "account acme created",
                "account acme status: target -> working"
            ]
        );
        assert_eq!(h.events[0].path, "accounts/acme.toml");
    }

    #[test]
    fn walks_merges_by_first_parent() {
        let mut t = TestRepo::new();
        let base = t.commit("2026-01-05", "init", &[("accounts/acme.toml", Some(ACME))]);
        let side = t.side_commit(
            &base,
            "2026-01-06",
            "side",
            &[("accounts/beta.toml", Some(ACME))],
        );
        t.commit(
            "2026-01-07",
            "main",
            &[("accounts/acme.toml", Some(ACME_WORKING))],
        );
        let merge = t.merge(
            &side,
            "2026-01-08",
            "merge",
            &[("accounts/beta.toml", Some(ACME))],
        );
        let h = mine(t.dir(), &uncached()).unwrap();
        assert_eq!(
            summary(&h),
            [
                "account acme created",
                "account acme status: target -> working",
                "account beta created",
            ]
        );
        // The side branch's work is dated by the merge that brought it in.
        assert_eq!(&*h.events[2].commit, merge);
        assert_eq!(h.commits.len(), 3);
    }

    #[test]
    fn skips_unparseable_records_with_a_warning() {
        let mut t = TestRepo::new();
        t.commit("2026-01-05", "init", &[("accounts/acme.toml", Some(ACME))]);
        let broken = t.commit(
            "2026-01-06",
            "broken",
            &[
                (
                    "accounts/acme.toml",
                    Some("name = \"Acme\nstatus = \"working\"\n"),
                ),
                ("accounts/empty.toml", Some("")),
                ("accounts/bin.toml", Some("\u{0}\u{1}")),
            ],
        );
        t.commit(
            "2026-01-07",
            "fixed",
            &[("accounts/acme.toml", Some(ACME_WORKING))],
        );
        let h = mine(t.dir(), &uncached()).unwrap();
        assert_eq!(
            summary(&h),
            ["account acme created", "account acme restored"]
        );
        let warned: Vec<(&str, &str)> = h
            .warnings
            .iter()
            .map(|w| (w.commit.as_str(), w.path.as_str()))
            .collect();
        assert_eq!(
            warned,
            [
                (broken.as_str(), "accounts/acme.toml"),
                (broken.as_str(), "accounts/bin.toml"),
                (broken.as_str(), "accounts/empty.toml"),
            ]
        );
        assert!(
            h.warnings[0].message.contains("invalid TOML"),
            "{:?}",
            h.warnings[0]
        );
        let d = chrono::NaiveDate::from_ymd_opt(2026, 1, 7).unwrap();
        let state = state_at(&h.events, d);
        assert_eq!(
            state[&(Kind::Account, "acme".into())]["status"],
            text("working")
        );
        assert_eq!(status_since(&h.events, Kind::Account, "acme"), Some(d));
    }

    #[test]
    fn a_second_run_reads_the_cache() {
        let mut t = acme_becomes_working();
        let first = mine(t.dir(), &Options::default()).unwrap();
        assert_eq!((first.stats.mined, first.stats.cached), (2, 0));
        assert_eq!(first.stats.cache_error, None);
        let second = mine(t.dir(), &Options::default()).unwrap();
        assert_eq!((second.stats.mined, second.stats.cached), (0, 2));
        assert_eq!(second.events, first.events);
        // A new commit: only it is mined.
        t.commit("2026-01-07", "more", &[("accounts/beta.toml", Some(ACME))]);
        let third = mine(t.dir(), &Options::default()).unwrap();
        assert_eq!((third.stats.mined, third.stats.cached), (1, 2));
        assert_eq!(third.events[..2], first.events[..]);
        // Deleting the cache only costs time.
        std::fs::remove_dir_all(t.dir().join(".git/sloop")).unwrap();
        let fourth = mine(t.dir(), &Options::default()).unwrap();
        assert_eq!((fourth.stats.mined, fourth.stats.cached), (3, 0));
        assert_eq!(fourth.events, third.events);
    }

    #[test]
    fn a_cache_streamed_anew_is_put_in_place_or_leaves_nothing() {
        let mut t = TestRepo::new();
        t.commit("2026-01-05", "init", &[("accounts/acme.toml", Some(ACME))]);
        let files = |t: &TestRepo| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(t.dir().join(".git").join(cache::DIR))
                .map(|d| {
                    d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            names
        };
        let walker = git::Walker::open(t.dir()).unwrap();
        let key = integrity::Key::history(&walker, "");
        let file = cache::Cache::file(walker.common_dir(), "");
        // A stream dropped before it is put in place (a mining that failed): nothing left.
        let cache = cache::Cache::load(file.clone(), &key, Slim::none());
        let stream = cache.stream().expect("a new cache file is streamed");
        stream.write(b"not a line anyone reads\n");
        assert_eq!(files(&t).len(), 1, "{:?}", files(&t));
        drop(stream);
        assert_eq!(files(&t), Vec::<String>::new());
        // Put in place: the one cache file, read by the next run.
        let first = mine(t.dir(), &Options::default()).unwrap();
        assert_eq!(first.stats.cache_error, None);
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(files(&t), [name]);
        let second = mine(t.dir(), &Options::default()).unwrap();
        assert_eq!((second.stats.mined, second.stats.cached), (0, 1));
    }

    /// Issue 18, item 10: a line of the history cache edited (valid JSON, another value)
    /// changed what `export`, `history` and the report read.
    #[test]
    fn an_edited_line_of_the_history_cache_is_mined_again() {
        let t = acme_becomes_working();
        let first = mine(t.dir(), &Options::default()).unwrap();
        let dir = t.dir().join(".git").join(cache::DIR);
        let file = std::fs::read_dir(dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let text = std::fs::read_to_string(&file).unwrap();
        let edited = text.replace("\"working\"", "\"customer\"");
        assert_ne!(edited, text);
        std::fs::write(&file, &edited).unwrap();
        let second = mine(t.dir(), &Options::default()).unwrap();
        assert_eq!(second.events, first.events);
        assert_eq!((second.stats.mined, second.stats.cached), (1, 1));
        assert!(second.stats.cache_damage.is_some());
        // The damaged line is gone: the next run reads every commit from the cache, quietly.
        let third = mine(t.dir(), &Options::default()).unwrap();
        assert_eq!((third.stats.mined, third.stats.cached), (0, 2));
        assert_eq!(third.stats.cache_damage, None);
        assert_eq!(third.events, first.events);
    }

    /// An older sloop run on the same repository appends lines of its own format (no
    /// checksum): they are not damage. They are dropped quietly, and their commits mined.
    #[test]
    fn lines_an_older_sloop_appended_are_dropped_quietly() {
        let mut t = TestRepo::new();
        t.commit("2026-01-05", "init", &[("accounts/acme.toml", Some(ACME))]);
        let first = mine(t.dir(), &Options::default()).unwrap();
        let dir = t.dir().join(".git").join(cache::DIR);
        let file = std::fs::read_dir(dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let text = std::fs::read_to_string(&file).unwrap();
        let line = text.lines().nth(1).unwrap();
        let old = format!("{text}{}\n", &line[17..]);
        std::fs::write(&file, old).unwrap();
        let second = mine(t.dir(), &Options::default()).unwrap();
        assert_eq!(second.stats.cache_damage, None);
        assert_eq!(second.events, first.events);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    }

    /// `for_metrics` keeps no event of a kind in `UNREAD_BY_METRICS`, whatever the change: a
    /// report that does not read those files loses nothing it reads.
    #[test]
    fn the_metrics_read_no_event_of_an_unread_kind() {
        let fields: Fields = [
            ("name".to_string(), text("x")),
            ("status".to_string(), text("y")),
        ]
        .into_iter()
        .collect();
        for &kind in UNREAD_BY_METRICS {
            for mut change in [
                Change::Created {
                    fields: fields.clone(),
                },
                Change::Restored {
                    fields: fields.clone(),
                },
                Change::Changed {
                    field: "status".into(),
                    old: Some(text("a")),
                    new: Some(text("b")),
                },
                Change::Deleted,
            ] {
                assert!(!for_metrics(kind, &mut change), "{kind:?} {change:?}");
            }
        }
    }

    /// A run that leaves activities unread (the report's) gives the events a full run gives,
    /// slimmed; it reads no activity file (one that does not parse is not warned about,
    /// from mining or from a cache a full run wrote) and writes no history cache.
    #[test]
    fn a_run_that_leaves_activities_unread_gives_the_same_lean_events() {
        let mut t = TestRepo::new();
        let call = "kind = \"call\"\ndate = 2026-01-05\nowner = \"alice\"\n";
        t.commit(
            "2026-01-05",
            "init",
            &[
                ("accounts/acme.toml", Some(ACME)),
                ("activities/2026/01/call.toml", Some(call)),
                ("activities/2026/01/broken.toml", Some("kind = \"call\n")),
                ("accounts/broken.toml", Some("name = [\n")),
            ],
        );
        t.commit(
            "2026-01-06",
            "work",
            &[
                ("accounts/acme.toml", Some(ACME_WORKING)),
                (
                    "activities/2026/01/call.toml",
                    Some(&call.replace("call\"", "meeting\"")),
                ),
            ],
        );
        let unread = Options {
            lean: Some(for_metrics),
            unread: UNREAD_BY_METRICS,
            ..Options::default()
        };
        let lean = Options {
            cache: false,
            ..unread.clone()
        };
        let paths =
            |h: &History| -> Vec<String> { h.warnings.iter().map(|w| w.path.clone()).collect() };
        let full = mine(t.dir(), &uncached()).unwrap();
        assert_eq!(
            paths(&full),
            ["accounts/broken.toml", "activities/2026/01/broken.toml"]
        );
        let expected = mine(
            t.dir(),
            &Options {
                lean: Some(for_metrics),
                ..uncached()
            },
        )
        .unwrap();
        let mined = mine(t.dir(), &lean).unwrap();
        assert_eq!(mined.events, expected.events);
        assert_eq!(paths(&mined), ["accounts/broken.toml"]);
        // No history cache written; then one a full run wrote, read with its activities'
        // warnings dropped.
        let dir = t.dir().join(".git").join(cache::DIR);
        mine(t.dir(), &unread).unwrap();
        assert!(!dir.exists(), "no history cache");
        mine(t.dir(), &Options::default()).unwrap();
        assert!(dir.exists());
        let cached = mine(t.dir(), &unread).unwrap();
        assert_eq!((cached.stats.mined, cached.stats.cached), (0, 2));
        assert_eq!(cached.events, expected.events);
        assert_eq!(paths(&cached), ["accounts/broken.toml"]);
    }

    /// A run that writes no lines still mends the history cache it found damaged: a damaged
    /// line is dropped from the file, a damaged first line removes it; the next run is quiet.
    #[test]
    fn a_run_that_leaves_kinds_unread_mends_a_damaged_cache() {
        let t = acme_becomes_working();
        let unread = Options {
            lean: Some(for_metrics),
            unread: UNREAD_BY_METRICS,
            ..Options::default()
        };
        let walker = git::Walker::open(t.dir()).unwrap();
        let file = cache::Cache::file(walker.common_dir(), "");
        let full = mine(t.dir(), &Options::default()).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        // The second commit's line, one value changed.
        let damaged = text.replacen(lines[2], &lines[2].replacen("working", "workinG", 1), 1);
        std::fs::write(&file, &damaged).unwrap();
        let first = mine(t.dir(), &unread).unwrap();
        assert!(first
            .stats
            .cache_damage
            .unwrap()
            .contains("had a damaged line"));
        assert_eq!((first.stats.mined, first.stats.cached), (1, 1));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            format!("{}\n{}\n", lines[0], lines[1])
        );
        let quiet = mine(t.dir(), &unread).unwrap();
        assert_eq!(quiet.stats.cache_damage, None);
        assert_eq!(quiet.events, first.events);
        // The first line damaged: the file is removed.
        // A byte of the key the header's checksum covers.
        let mut bytes = text.clone().into_bytes();
        let at = lines[0].len() - 2;
        bytes[at] ^= 0x01;
        std::fs::write(&file, bytes).unwrap();
        let first = mine(t.dir(), &unread).unwrap();
        let said = first.stats.cache_damage.unwrap();
        assert!(
            said.ends_with("it was removed, and is rebuilt when needed"),
            "{said}"
        );
        assert!(!file.exists());
        let quiet = mine(t.dir(), &unread).unwrap();
        assert_eq!(quiet.stats.cache_damage, None);
        assert_eq!(quiet.events.len(), 2);
        assert_eq!(full.events.len(), 2);
    }

    /// A lean run keeps what the metrics read, and leaves the cache whole for the next full
    /// run, even when the cache is due to be compacted.
    #[test]
    fn lean_runs_never_write_slimmed_events_to_the_cache() {
        let mut t = TestRepo::new();
        let call = "kind = \"call\"\ndate = 2026-01-05\nowner = \"alice\"\n";
        let lead = "name = \"Jo\"\ncompany = \"Gamma\"\nstatus = \"new\"\n";
        t.commit(
            "2026-01-05",
            "init",
            &[
                ("accounts/acme.toml", Some(ACME)),
                ("activities/2026/01/call.toml", Some(call)),
                ("leads/jo.toml", Some(lead)),
            ],
        );
        t.commit(
            "2026-01-06",
            "work",
            &[
                ("accounts/acme.toml", Some(ACME_WORKING)),
                ("leads/jo.toml", Some(&lead.replace("new", "working"))),
                ("activities/2026/01/call.toml", None),
            ],
        );
        let lean = Options {
            lean: Some(for_metrics),
            ..Options::default()
        };
        let full = mine(t.dir(), &uncached()).unwrap();
        assert_eq!(full.events.len(), 6);
        // Mined, then read from the cache: the same lean events.
        for _ in 0..2 {
            let h = mine(t.dir(), &lean).unwrap();
            assert_eq!(
                summary(&h),
                [
                    "account acme created",
                    "lead jo created",
                    "account acme status: target -> working",
                    "lead jo status: new -> working",
                ]
            );
            let Change::Created { fields } = &h.events[1].change else {
                panic!("{:?}", h.events[1]);
            };
            assert_eq!(fields.keys().collect::<Vec<_>>(), ["name", "status"]);
        }
        // Stale lines that would make a full run compact the file.
        let file = t.dir().join(".git").join(cache::DIR);
        let file = std::fs::read_dir(file)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut text = std::fs::read_to_string(&file).unwrap();
        let mut lines = text.lines();
        // The key is the header's JSON; it seeds the checksum of every line.
        let key = lines.next().unwrap().splitn(6, ' ').nth(5).unwrap();
        let seed = integrity::checksum(key.as_bytes(), 0);
        let json = lines.next().unwrap()[17..].replacen("\"c\":\"", "\"c\":\"0", 1);
        let sum = integrity::hex(integrity::checksum(json.as_bytes(), seed));
        let stale = format!("{} {json}\n", String::from_utf8_lossy(&sum));
        text.push_str(&stale.repeat(150));
        std::fs::write(&file, &text).unwrap();
        mine(t.dir(), &lean).unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            text,
            "left as it was"
        );
        let again = mine(t.dir(), &Options::default()).unwrap();
        assert_eq!((again.stats.mined, again.stats.cached), (0, 2));
        assert_eq!(again.events, full.events);
    }

    /// One record's history (`sloop history`) keeps that record's events and warnings alone,
    /// mined or read from the cache, and the cache it writes is whole: a full run then mines
    /// nothing and finds every event. A record whose id starts another's (`acme`,
    /// `acme-labs`) is told apart, and a commit that does not touch it is still cached.
    #[test]
    fn one_records_history_keeps_its_events_alone_and_the_cache_whole() {
        let mut t = TestRepo::new();
        let labs = ACME.replace("Acme", "Acme Labs");
        let lead = "name = \"Jo\"\ncompany = \"Gamma\"\nstatus = \"new\"\n";
        t.commit(
            "2026-01-05",
            "init",
            &[
                ("accounts/acme.toml", Some(ACME)),
                ("accounts/acme-labs.toml", Some(&labs)),
                ("leads/jo.toml", Some(lead)),
            ],
        );
        t.commit(
            "2026-01-06",
            "work",
            &[
                ("accounts/acme.toml", Some(ACME_WORKING)),
                (
                    "accounts/acme-labs.toml",
                    Some(&labs.replace("target", "working")),
                ),
            ],
        );
        t.commit(
            "2026-01-07",
            "lead",
            &[("leads/jo.toml", Some(&lead.replace("new", "working")))],
        );
        t.commit(
            "2026-01-08",
            "broken",
            &[
                ("accounts/acme.toml", Some("name = [\n")),
                ("accounts/acme-labs.toml", Some("name = [\n")),
            ],
        );
        let one = Options {
            record: Some((Kind::Account, "acme".into())),
            ..Options::default()
        };
        let full = mine(t.dir(), &uncached()).unwrap();
        let expected: Vec<&Event> = full
            .events
            .iter()
            .filter(|e| e.kind == Kind::Account && e.id == "acme")
            .collect();
        assert_eq!(expected.len(), 2);
        let paths =
            |h: &History| -> Vec<String> { h.warnings.iter().map(|w| w.path.clone()).collect() };
        assert_eq!(paths(&full).len(), 2);
        // Mined (the cache written), then read from the cache.
        for (mined, cached) in [(4, 0), (0, 4)] {
            let h = mine(t.dir(), &one).unwrap();
            assert_eq!((h.stats.mined, h.stats.cached), (mined, cached));
            assert_eq!(h.events.iter().collect::<Vec<_>>(), expected);
            assert_eq!(paths(&h), ["accounts/acme.toml"]);
            assert_eq!(h.commits.len(), 4);
        }
        let again = mine(t.dir(), &Options::default()).unwrap();
        assert_eq!((again.stats.mined, again.stats.cached), (0, 4));
        assert_eq!(again.events, full.events);
        assert_eq!(again.warnings, full.warnings);
    }

    /// `stream` gives, commit by commit, the events and warnings `mine` gives: mining and
    /// writing the cache, from the cache, after a damaged line (mined again, the cache
    /// mended), and without a cache, a few commits at a time.
    #[test]
    fn a_streamed_history_is_the_mined_one_commit_by_commit() {
        let mut t = TestRepo::new();
        let call = "kind = \"call\"\ndate = 2026-01-05\nowner = \"alice\"\n";
        t.commit(
            "2026-01-05",
            "init",
            &[
                ("accounts/acme.toml", Some(ACME)),
                ("activities/2026/01/call.toml", Some(call)),
            ],
        );
        t.commit(
            "2026-01-06",
            "work",
            &[("accounts/acme.toml", Some(ACME_WORKING))],
        );
        t.commit(
            "2026-01-07",
            "broken",
            &[("accounts/broken.toml", Some("name = [\n"))],
        );
        t.commit(
            "2026-01-08",
            "gone",
            &[
                ("activities/2026/01/call.toml", None),
                ("accounts/acme.toml", Some(ACME)),
            ],
        );
        t.commit("2026-01-09", "empty", &[]);
        let full = mine(t.dir(), &uncached()).unwrap();
        assert_eq!(full.events.len(), 5);
        assert_eq!(full.warnings.len(), 1);
        let streamed = |options: &Options, window: usize| -> (History, Stats) {
            let mut all = History::default();
            let stats = stream_by(t.dir(), options, window, |one| {
                assert_eq!(one.commits.len(), 1);
                all.commits.extend(one.commits);
                all.events.extend(one.events);
                all.warnings.extend(one.warnings);
                Ok::<(), GitError>(())
            })
            .unwrap();
            (all, stats)
        };
        let same = |h: &History| {
            assert_eq!(h.commits.len(), 5);
            assert_eq!(h.events, full.events);
            assert_eq!(h.warnings, full.warnings);
        };
        let file = cache::Cache::file(git::Walker::open(t.dir()).unwrap().common_dir(), "");
        // Mined, the cache written; then read from it.
        let (h, stats) = streamed(&Options::default(), 2);
        same(&h);
        assert_eq!((stats.mined, stats.cached), (5, 0));
        let (h, stats) = streamed(&Options::default(), 2);
        same(&h);
        assert_eq!((stats.mined, stats.cached), (0, 5));
        // A damaged line: its commit mined again, the cache mended.
        let text = std::fs::read_to_string(&file).unwrap();
        let line = text.lines().find(|l| l.contains("working")).unwrap();
        let damaged = text.replacen(line, &line.replacen("working", "workinG", 1), 1);
        std::fs::write(&file, damaged).unwrap();
        let (h, stats) = streamed(&Options::default(), 2);
        same(&h);
        assert_eq!((stats.mined, stats.cached), (1, 4));
        assert!(stats.cache_damage.unwrap().contains("had a damaged line"));
        let again = mine(t.dir(), &Options::default()).unwrap();
        assert_eq!((again.stats.mined, again.stats.cached), (0, 5));
        assert_eq!(again.events, full.events);
        // No cache: mined two commits at a time, and nothing written.
        std::fs::remove_file(&file).unwrap();
        for window in [1, 2, 5] {
            let (h, stats) = streamed(&uncached(), window);
            same(&h);
            assert_eq!((stats.mined, stats.cached), (5, 0));
            assert_eq!(stats.cache_damage, None);
        }
        assert!(!file.exists());
        // What `mine` keeps, `stream` keeps.
        let lean = Options {
            lean: Some(for_metrics),
            unread: UNREAD_BY_METRICS,
            ..Options::default()
        };
        let (h, _) = streamed(&lean, 2);
        let expected = mine(t.dir(), &lean).unwrap();
        assert_eq!(h.events, expected.events);
        assert_eq!(h.warnings, expected.warnings);
    }

    #[test]
    fn the_cache_is_right_after_an_amend() {
        let mut t = TestRepo::new();
        t.commit("2026-01-05", "init", &[("accounts/acme.toml", Some(ACME))]);
        let before = t.commit(
            "2026-01-06",
            "work",
            &[("accounts/acme.toml", Some(ACME_WORKING))],
        );
        let first = mine(t.dir(), &Options::default()).unwrap();
        assert_eq!(summary(&first)[1], "account acme status: target -> working");
        let churn = ACME.replace("target", "customer");
        let after = t.amend(
            "2026-01-06",
            "work",
            &[("accounts/acme.toml", Some(&churn))],
        );
        assert_ne!(before, after);
        let second = mine(t.dir(), &Options::default()).unwrap();
        assert_eq!((second.stats.mined, second.stats.cached), (1, 1));
        assert_eq!(
            summary(&second),
            [
                "account acme created",
                "account acme status: target -> customer"
            ]
        );
        assert_eq!(&*second.events[1].commit, after);
        let uncached = mine(t.dir(), &uncached()).unwrap();
        assert_eq!(uncached.events, second.events);
    }

    #[test]
    fn threads_and_one_thread_agree() {
        let mut t = TestRepo::new();
        t.commit("2026-01-01", "init", &[("sloop.toml", Some(""))]);
        for i in 0..PARALLEL_MIN + 20 {
            let status = ["target", "working", "customer"][i % 3];
            let account = format!("accounts/a{}.toml", i % 7);
            let contents = format!("name = \"A\"\nstatus = \"{status}\"\nemployees = {i}\n");
            let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
                + chrono::Days::new(i as u64 / 4);
            t.commit(
                &day.to_string(),
                "work",
                &[(account.as_str(), Some(contents.as_str()))],
            );
        }
        let one = mine(
            t.dir(),
            &Options {
                threads: 1,
                ..uncached()
            },
        )
        .unwrap();
        let two = mine(
            t.dir(),
            &Options {
                threads: 2,
                ..uncached()
            },
        )
        .unwrap();
        assert_eq!(one.stats.commits, PARALLEL_MIN + 21);
        assert!(one.events.len() > PARALLEL_MIN);
        assert_eq!(one.events, two.events);
    }

    #[test]
    fn kept_versions_last_two_generations() {
        let key = |i: usize| {
            let mut id = [0; 20];
            id[..8].copy_from_slice(&(i as u64).to_le_bytes());
            (Kind::Account, ObjectId(id))
        };
        let mut kept = Kept::default();
        for i in 0..2 * KEPT_GENERATION {
            kept.put(key(i), Box::new([i as u8]));
        }
        // Two whole generations are held; taking one gives it once.
        assert_eq!(kept.take(&key(0)).as_deref(), Some(&[0][..]));
        assert_eq!(kept.take(&key(0)), None);
        // One more starts a third generation: the oldest is dropped, the one after stays.
        kept.put(key(2 * KEPT_GENERATION), Box::new([1]));
        assert_eq!(kept.take(&key(1)), None);
        assert!(kept.take(&key(KEPT_GENERATION)).is_some());
        assert!(kept.take(&key(2 * KEPT_GENERATION - 1)).is_some());
        assert!(kept.take(&key(2 * KEPT_GENERATION)).is_some());
        assert!(kept.newer.len() + kept.older.len() <= 2 * KEPT_GENERATION);
    }

    #[test]
    fn a_created_version_is_kept_for_the_first_change_of_its_file() {
        // Most records' first change is of the version that created them: it is kept, not
        // read and parsed a second time.
        let mut t = TestRepo::new();
        t.commit("2026-01-05", "new", &[("accounts/acme.toml", Some(ACME))]);
        let repo = git::Walker::open(t.dir()).unwrap();
        let tree = repo.first_parent_commits("HEAD").unwrap()[0].tree;
        let blob = repo.changed_files(None, tree, "").unwrap()[0].new.unwrap();
        let config = permissive_config();
        let setup = MinerSetup {
            prefix: "",
            config: &config,
            unread: &[],
        };
        let mut miner = Miner::new(repo, &setup);
        let job = Job {
            index: 0,
            old_tree: None,
            new_tree: tree,
        };
        miner.mine(&[job]).unwrap();
        let mut fields = Fields::new();
        fields.insert("name".into(), text("Acme"));
        fields.insert("status".into(), text("target"));
        fields.insert("owner".into(), text("alice"));
        let kept = miner.kept.take(&(Kind::Account, blob)).unwrap();
        assert_eq!(
            <Fields as Codec>::get(&mut codec::Reader::new(&kept)).unwrap(),
            fields
        );
    }

    #[test]
    fn a_version_kept_for_the_next_change_compares_equal_to_itself() {
        // The second change's old side is the version the first change wrote, kept encoded:
        // every kind of value must come back as it was read, or fields that did not change
        // would show as changed.
        let mut t = TestRepo::new();
        let v = |status: &str, users: &str| {
            format!(
                "name = \"Deal\"\nstage = \"{status}\"\nmrr = 120.5\n\
                 [commit]\ninvoice_scheduled = true\nusers = {users}\n[custom]\nregion = \"EU\"\nseats = [1, 2]\n"
            )
        };
        let path = "opportunities/deal.toml";
        t.commit(
            "2026-01-05",
            "new",
            &[(path, Some(v("trial", "3").as_str()))],
        );
        t.commit(
            "2026-01-06",
            "more",
            &[(path, Some(v("trial", "4").as_str()))],
        );
        t.commit(
            "2026-01-07",
            "on",
            &[(path, Some(v("closing", "4").as_str()))],
        );
        let h = mine(t.dir(), &uncached()).unwrap();
        assert_eq!(
            summary(&h),
            [
                "opportunity deal created",
                "opportunity deal commit.users: 3 -> 4",
                "opportunity deal stage: trial -> closing",
            ]
        );
    }

    #[test]
    fn an_empty_repository_has_no_history() {
        let t = TestRepo::new();
        let h = mine(t.dir(), &Options::default()).unwrap();
        assert!(h.events.is_empty() && h.commits.is_empty());
    }
}
