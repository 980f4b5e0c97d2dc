//! The report's inputs, kept between runs: the first-parent commits, their events (what the
//! metrics read of them), and every record as committed at the newest commit, typed. A report
//! after new commits mines only those commits and re-reads only the record files they changed,
//! instead of walking the whole history and parsing every file again.
//!
//! One file per CRM folder, `<git common dir>/sloop/snapshot-v1/crm-<hash>.bin`, in the
//! `codec` encoding, replaced atomically (write then rename). It is only ever used when the
//! commit it describes is on the first-parent history of `HEAD`: after a rebase, an amend or a
//! reset it is rebuilt from scratch. A changed `sloop.toml` or any change to a file that is not
//! a record rebuilds the records. Safe to delete.
//!
//! It carries its key (`integrity::Key::snapshot`: the repository, the CRM's folder, the
//! shallow boundary) and checksums: one over the key and everything before the records, one
//! per block of records, each checked by the thread that decodes it. A file for another key
//! (another CRM's, another repository's, a clone since deepened), of another version, or that
//! cannot be read is ignored and rebuilt; one that fails a checksum is removed, rebuilt and
//! reported (`Inputs::cache_warnings`).

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::crm::Crm;
use crate::diag::Code;
use crate::git::{self, CommitInfo, GitError, ObjectId, Repo};
use crate::history::codec::{self, put_str, put_varint, Codec, Corrupt, Reader};
use crate::history::integrity::{self, checksum};
use crate::history::{self, Event, Warning};
use crate::model::{Account, Activity, Contact, Kind, Lead, OfKind, Opportunity};
use crate::store::{self, classify, parse_config, PathClass};

/// What inputs are wanted: those as of a date, with or without the caches.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub as_of: chrono::NaiveDate,
    /// Read and write the caches under the git dir (the history's events, the snapshot).
    pub cache: bool,
    /// Rewrite the snapshot after every read that found anything new; otherwise only when
    /// the work it saves is worth writing it (`SLACK_COMMITS`, `SLACK_FILES`).
    pub eager_snapshot: bool,
}

/// Why the inputs could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Load(#[from] store::LoadError),
}

/// The snapshots' folder below the git common dir.
pub const DIR: &str = "sloop/snapshot-v1";
const MAGIC: &[u8] = b"sloop report snapshot 9\n";
/// A snapshot further back than this many commits is rebuilt rather than caught up with.
const CATCH_UP_MAX: usize = 5_000;
/// A snapshot is rewritten only once a report has had to mine more commits than this, or read
/// more files, since it was written (or when it was rebuilt, or history was rewritten):
/// writing it costs as much as a whole warm report (100 MB at the benchmark's scale), mining
/// a commit or reading a file again a millisecond or less.
pub const SLACK_COMMITS: usize = 32;
pub const SLACK_FILES: usize = 2_000;
/// Records per independently decoded block (blocks are decoded on every core).
const BLOCK: usize = 8_192;

/// What a report is computed from.
pub struct Inputs {
    /// The first-parent commits of `HEAD`, oldest first.
    pub commits: Vec<CommitInfo>,
    /// Their events, as the metrics read them (`history::for_metrics`).
    pub events: Vec<Event>,
    pub warnings: Vec<Warning>,
    /// The index in `commits` of the commit the records are read at.
    pub at: usize,
    /// The CRM at that commit, records in path order.
    pub crm: Crm,
    /// Error diagnostics the loader reports for the CRM at that commit.
    pub errors: usize,
    /// How much of the snapshot was reused.
    pub reuse: Reuse,
    /// What was found damaged in the caches (and was rebuilt): for warnings.
    pub cache_warnings: Vec<String>,
}

/// What a run took from the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reuse {
    /// Commits mined in this run after the snapshot's (`None`: the whole history was walked,
    /// with the per-commit event cache).
    pub commits_mined: Option<usize>,
    /// Record files read in this run to bring the snapshot's records forward (`None`: every
    /// record was read).
    pub files_read: Option<usize>,
}

/// What a reader that keeps only part of the snapshot keeps (`head_kept`): the events
/// `events` keeps (as `history::Options::lean`, a subset of `history::for_metrics`), and
/// each record as its kind's function returns it, applied as each is decoded (a record's
/// `meta` must stay: its id and path count duplicate ids).
#[derive(Clone, Copy)]
pub struct Keep {
    pub events: history::Filter,
    pub account: fn(Account) -> Account,
    pub contact: fn(Contact) -> Contact,
    pub opportunity: fn(Opportunity) -> Opportunity,
    pub lead: fn(Lead) -> Lead,
    pub activity: fn(Activity) -> Activity,
}

/// The records of one commit, with what is needed to count its errors.
struct Records {
    config_bytes: Vec<u8>,
    /// Every record, each kind's list in path order, with the config `config_bytes` holds
    /// (parsed once, when the records are loaded or decoded). Kept as the `Crm` the metrics
    /// read, so that it is never copied.
    crm: Crm,
    /// Errors the loader reports about a file alone, by path (files without any left out).
    file_errors: HashMap<String, u32>,
    /// Errors not about a single record file (sloop.toml, stray files).
    other_errors: u32,
}

/// Applies `$f` to each kind's list of records of `$crm`.
macro_rules! each_list {
    ($crm:expr, |$list:ident| $body:expr) => {{
        {
            let $list = &mut $crm.accounts;
            $body;
        }
        {
            let $list = &mut $crm.contacts;
            $body;
        }
        {
            let $list = &mut $crm.opportunities;
            $body;
        }
        {
            let $list = &mut $crm.leads;
            $body;
        }
        {
            let $list = &mut $crm.activities;
            $body;
        }
    }};
}

struct Snapshot {
    commits: Vec<CommitInfo>,
    events: Vec<Event>,
    warnings: Vec<Warning>,
    records: Records,
}

/// The inputs for a report as of the newest commit on or before `opts.as_of` (`None`: there
/// is none), with the caches if `opts.cache` (the snapshot, and the history cache).
pub fn inputs(root: &Path, repo: &Repo, opts: &Options) -> Result<Option<Inputs>, SnapshotError> {
    let place = Place::of(root, opts.cache)?;
    let mut warnings = Vec::new();
    let snapshot = if opts.cache {
        place.read(true, None, &mut warnings)
    } else {
        None
    };
    let inputs = inputs_from(root, repo, opts, snapshot, &place, true, None)?;
    Ok(inputs.map(|mut i| {
        warnings.append(&mut i.cache_warnings);
        i.cache_warnings = warnings;
        i
    }))
}

/// The inputs as of `HEAD` from the snapshot brought forward (and saved again when that is
/// worth it, as a report does); `None` when there is no snapshot sharing `HEAD`'s recent
/// history (nothing is computed then).
pub fn head_inputs(
    root: &Path,
    repo: &Repo,
    warnings: &mut Vec<String>,
) -> Result<Option<Inputs>, SnapshotError> {
    head_kept(root, repo, None, warnings)
}

/// `head_inputs` with only what `keep` keeps of the events and records, read as they are
/// decoded (a command that reads a few fields never holds the rest); the snapshot is then
/// not saved again.
pub fn head_kept(
    root: &Path,
    repo: &Repo,
    keep: Option<&Keep>,
    warnings: &mut Vec<String>,
) -> Result<Option<Inputs>, SnapshotError> {
    let place = Place::of(root, true)?;
    let Some(snap) = place.read(true, keep, warnings) else {
        return Ok(None);
    };
    let opts = Options {
        as_of: chrono::NaiveDate::MAX,
        cache: true,
        eager_snapshot: false,
    };
    let inputs = inputs_from(root, repo, &opts, Some(snap), &place, false, keep)?;
    Ok(inputs.filter(|i| i.at + 1 == i.commits.len()))
}

/// `inputs` from a snapshot already read; without one sharing HEAD's history, the history is
/// mined from scratch if `rebuild`, or `None` is returned.
fn inputs_from(
    root: &Path,
    repo: &Repo,
    opts: &Options,
    snapshot: Option<Snapshot>,
    place: &Place,
    rebuild: bool,
    keep: Option<&Keep>,
) -> Result<Option<Inputs>, SnapshotError> {
    // The report's events are those of the kinds the metrics read: the others' files are
    // not read. (A reader that keeps part of the snapshot brings it forward the same way,
    // keeping the snapshot as the report would write it.)
    let options = history::Options {
        cache: opts.cache,
        lean: Some(keep.map_or(history::for_metrics as history::Filter, |k| k.events)),
        unread: history::UNREAD_BY_METRICS,
        ..history::Options::default()
    };

    // The commits and their events: the snapshot's up to the newest commit it shares with
    // HEAD's history (all of them, unless history was rewritten: a reset, an amend), and the
    // commits after that one, mined.
    let mut base: Option<(CommitInfo, Records)> = None;
    let mut commits_mined = None;
    let mut cut = false;
    let mut cache_warnings = Vec::new();
    // libgit2 keeps nothing in its object cache here either: the commits and trees of the
    // walk, the listing and the catch-up are read once (at the benchmark's size the walk
    // alone left 38 MB of commits there).
    let _uncached = git::Uncached::new();
    let (commits, events, warnings) = match snapshot {
        Some(snap) => {
            let Snapshot {
                commits,
                events,
                warnings,
                records,
            } = snap;
            let last = commits.last().cloned();
            match forward(root, &options, commits, events, warnings)? {
                Some(f) => {
                    cut = f.cut;
                    commits_mined = Some(f.mined);
                    base = last.map(|last| (last, records));
                    (f.commits, f.events, f.warnings)
                }
                None if rebuild => mine_all(root, &options, &mut cache_warnings)?,
                None => return Ok(None),
            }
        }
        None if rebuild => mine_all(root, &options, &mut cache_warnings)?,
        None => return Ok(None),
    };
    // Whatever the events came from (a snapshot or a history cache an older sloop wrote,
    // or one written by a run that reads every kind), no warning about a kind left unread.
    let mut warnings = warnings;
    warnings.retain(|w| !history::left_unread(&w.path, options.unread));
    let Some(at) = commits
        .iter()
        .rposition(|c| c.author_date.date_naive() <= opts.as_of)
    else {
        return Ok(None);
    };

    // The records at `at`: the snapshot's, brought to `at` by the files that differ between
    // the two trees, or all read again.
    // A snapshot whose newest tree is gone (pruned after an amend) is read again whole.
    let caught_up = match base {
        Some((from, records)) => {
            catch_up(root, records, &from, &commits[at], &place.prefix).unwrap_or(None)
        }
        None => None,
    };
    // `None`: everything was mined, or read, again.
    let more_than = |done: Option<usize>, slack: usize| done.is_none_or(|n| n > slack);
    let save = |files_read: Option<usize>| {
        let anything_new = cut || more_than(commits_mined, 0) || more_than(files_read, 0);
        let worth_saving =
            cut || more_than(commits_mined, SLACK_COMMITS) || more_than(files_read, SLACK_FILES);
        opts.cache
            && keep.is_none()
            && at + 1 == commits.len()
            && (worth_saving || (opts.eager_snapshot && anything_new))
    };
    // A cache that cannot be written only costs the next run its speed.
    let (records, files_read, events, warnings) = match caught_up {
        Some((records, read)) => {
            if save(Some(read)) {
                let history = put_history(&commits, &events, &warnings);
                let _ = write(place, &history, &records);
            }
            (records, Some(read), events, warnings)
        }
        None => {
            // Every record is read again. Meanwhile the events wait in the snapshot's
            // encoding, a fraction of their size as values (26 MB at the benchmark's size,
            // where the cold report peaked 80 MB higher with the values held), and the
            // snapshot is written from those bytes.
            let history = put_history(&commits, &events, &warnings);
            drop(events);
            drop(warnings);
            let records = load_all(repo, commits[at].id)?;
            if save(None) {
                let _ = write(place, &history, &records);
            }
            let mut sum = Follow::new(&history, &[]);
            let (_, events, warnings) = decode_history(&history, &mut sum, None).map_err(|_| {
                GitError::corrupt("cannot read back the events", "their encoding is damaged")
            })?;
            (records, None, events, warnings)
        }
    };
    let reuse = Reuse {
        commits_mined,
        files_read,
    };
    let mut inputs = finish(commits, events, warnings, at, records, reuse);
    inputs.cache_warnings = cache_warnings;
    Ok(Some(inputs))
}

fn finish(
    commits: Vec<CommitInfo>,
    events: Vec<Event>,
    warnings: Vec<Warning>,
    at: usize,
    records: Records,
    reuse: Reuse,
) -> Inputs {
    let errors = records.errors();
    Inputs {
        commits,
        events,
        warnings,
        at,
        crm: records.crm,
        errors,
        reuse,
        cache_warnings: Vec::new(),
    }
}

/// Commits and their events.
pub type History = (Vec<CommitInfo>, Vec<Event>);

/// Commits, their events and the warnings of mining them.
type Mined = (Vec<CommitInfo>, Vec<Event>, Vec<Warning>);

fn mine_all(
    root: &Path,
    options: &history::Options,
    cache_warnings: &mut Vec<String>,
) -> Result<Mined, GitError> {
    let mined = history::mine(root, options)?;
    // Before HEAD's records are loaded: what mining read through libgit2 is given back.
    git::release_freed_memory();
    cache_warnings.extend(mined.stats.cache_damage);
    Ok((mined.commits, mined.events, mined.warnings))
}

impl Records {
    /// Errors at this commit, as `store::load` counts them.
    fn errors(&self) -> usize {
        let mut duplicates = 0;
        for kind in Kind::ALL {
            let ids = self.crm.ids(kind);
            let mut seen = rustc_hash::FxHashSet::default();
            seen.reserve(ids.len());
            duplicates += ids.iter().filter(|(_, id)| !seen.insert(*id)).count();
        }
        let duplicate_is_error = Code::DuplicateId.severity() == crate::diag::Severity::Error;
        self.other_errors as usize
            + self
                .file_errors
                .values()
                .map(|n| *n as usize)
                .sum::<usize>()
            + if duplicate_is_error { duplicates } else { 0 }
    }

    /// Each kind's list in path order.
    fn sort(&mut self) {
        each_list!(self.crm, |list| list
            .sort_by(|a, b| a.meta.path.cmp(&b.meta.path)));
    }
}

/// Every record at `sha`, with the one loader.
fn load_all(repo: &Repo, id: ObjectId) -> Result<Records, SnapshotError> {
    let source = repo.tree_source(id)?;
    let config_bytes = store::Source::read_config(&source)
        .map_err(store::LoadError::from)?
        .unwrap_or_default();
    // Field positions are only for diagnostics: dropped as each file is read.
    let loaded = store::load_without_positions(&source)?;
    let crm = loaded.crm;
    let mut paths = rustc_hash::FxHashSet::default();
    paths.reserve(crm.len());
    paths.extend(
        Kind::ALL
            .iter()
            .flat_map(|k| crm.ids(*k))
            .map(|(path, _)| path),
    );
    let mut file_errors: HashMap<String, u32> = HashMap::new();
    let mut other_errors = 0;
    for d in loaded.diagnostics.iter().filter(|d| d.is_error()) {
        if d.code == Code::DuplicateId {
            continue;
        }
        if paths.contains(d.path.as_str()) {
            *file_errors.entry(d.path.clone()).or_default() += 1;
        } else {
            other_errors += 1;
        }
    }
    drop(paths);
    drop(source);
    git::release_freed_memory();
    let mut records = Records {
        config_bytes,
        crm,
        file_errors,
        other_errors,
    };
    records.sort();
    Ok(records)
}

/// The records at `to`, from those at `from` and the record files changed in between, and
/// how many files changed; `None` when a file other than a record changed (the config, a
/// stray file), which only a full load reads right.
fn catch_up(
    root: &Path,
    mut records: Records,
    from: &CommitInfo,
    to: &CommitInfo,
    prefix: &str,
) -> Result<Option<(Records, usize)>, SnapshotError> {
    if from.tree == to.tree {
        return Ok(Some((records, 0)));
    }
    let walker = git::Walker::open(root)?;
    let changes = walker.changed_files(Some(from.tree), to.tree, prefix)?;
    if changes
        .iter()
        .any(|c| !matches!(classify(&c.path), PathClass::Record(..)))
    {
        return Ok(None);
    }
    // The config the records were read with (their files' sloop.toml did not change).
    let config = std::mem::take(&mut records.crm.config);
    let gone: std::collections::HashSet<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    each_list!(records.crm, |list| list
        .retain(|r| !gone.contains(r.meta.path.as_str())));
    for path in &gone {
        records.file_errors.remove(*path);
    }
    for c in &changes {
        let (Some(new), PathClass::Record(kind, id)) = (c.new, classify(&c.path)) else {
            continue;
        };
        let bytes = walker.read_blob(new)?;
        let (mut record, diags) = store::load_file(kind, id, &c.path, &bytes, &config);
        record.meta_mut().forget_positions();
        let errors = diags.iter().filter(|d| d.is_error()).count() as u32;
        if errors > 0 {
            records.file_errors.insert(c.path.clone(), errors);
        }
        records.crm.push(record);
    }
    records.crm.config = config;
    records.sort();
    Ok(Some((records, changes.len())))
}

/// Where a CRM's snapshot is: the CRM's folder in its repository, the snapshot file, and
/// the key it must have been written for.
struct Place {
    prefix: String,
    file: PathBuf,
    key: integrity::Key,
}

/// Why a snapshot file was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejected {
    /// No file, or one that cannot be read.
    Missing,
    /// Another version's file, or written for another key: rebuilt, quietly.
    Other,
    /// It fails its checksum, or does not decode.
    Damaged,
}

impl Place {
    /// The place of the CRM at `root`; with the key only if `cache` (making the key may
    /// write the repository's id).
    fn of(root: &Path, cache: bool) -> Result<Place, GitError> {
        let walker = git::Walker::open(root)?;
        let prefix = walker.prefix_of(root)?;
        let file = file(walker.common_dir(), &prefix);
        let key = if cache {
            integrity::Key::snapshot(&walker, &prefix)
        } else {
            integrity::Key::none()
        };
        Ok(Place { prefix, file, key })
    }

    /// The snapshot, if there is a sound one for this key. A damaged file is removed (the
    /// next report writes a sound one), and said so in `warnings`.
    fn read(
        &self,
        records: bool,
        keep: Option<&Keep>,
        warnings: &mut Vec<String>,
    ) -> Option<Snapshot> {
        match read(&self.file, &self.key, records, keep) {
            Ok(snapshot) => Some(snapshot),
            Err(Rejected::Damaged) => {
                let _ = fs::remove_file(&self.file);
                warnings.push(format!(
                    "the report snapshot {} is damaged (it fails its checksum): it was removed, and is rebuilt",
                    self.file.display()
                ));
                None
            }
            Err(Rejected::Missing | Rejected::Other) => None,
        }
    }
}

/// The history cache and the snapshot file of the CRM at `root` (for tests that damage them).
#[cfg(test)]
pub(crate) fn cache_files(root: &Path) -> (PathBuf, PathBuf) {
    let place = Place::of(root, false).expect("a CRM in a repository");
    let walker = git::Walker::open(root).expect("a repository");
    let history = history::cache::Cache::file(walker.common_dir(), &place.prefix);
    (history, place.file)
}

fn file(common_dir: &Path, prefix: &str) -> PathBuf {
    // FNV-1a, as the history cache names its files.
    let hash = prefix.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    common_dir.join(DIR).join(format!("crm-{hash:016x}.bin"))
}

/// The file is `MAGIC`; the checksum of what follows up to the records (8 bytes,
/// little-endian); the key (length-prefixed); the length of the events part and of the whole
/// part before the records (8 bytes each); that part (commits, events, warnings, then the
/// config, the error count and the number of blocks); then the blocks of records, each its
/// length, its checksum (8 bytes) and its bytes. The events can be read alone.
fn read(
    file: &Path,
    key: &integrity::Key,
    records: bool,
    keep: Option<&Keep>,
) -> Result<Snapshot, Rejected> {
    let f = fs::File::open(file).map_err(|_| Rejected::Missing)?;
    // SAFETY: the file is only ever replaced whole (written under another name, then
    // renamed over it), never written in place, so the mapped bytes do not change under us.
    let map = unsafe { memmap2::Mmap::map(&f) }.map_err(|_| Rejected::Missing)?;
    let rest = map.strip_prefix(MAGIC).ok_or(Rejected::Other)?;
    let parts = Parts::of(rest).map_err(|_| Rejected::Damaged)?;
    if parts.key != key.text().as_bytes() {
        return Err(if parts.sound() {
            Rejected::Other
        } else {
            Rejected::Damaged
        });
    }
    // Each part's pages are let go once it is decoded: the file's bytes are not read again,
    // and counted in the process's memory until it ends they were a quarter of a warm
    // report's peak (98 MB of 414 at the benchmark's size).
    let release = |part: &[u8]| {
        // Whole pages inside the part only: 64 KiB is a multiple of every page size.
        const ALIGN: usize = 64 << 10;
        let start = part.as_ptr() as usize - map.as_ptr() as usize;
        let (from, to) = (
            start.next_multiple_of(ALIGN),
            (start + part.len()) / ALIGN * ALIGN,
        );
        if to > from {
            // SAFETY: the map is read-only and of a file that is never written in place:
            // `DontNeed` only drops this process's mapping of those pages, and a later read
            // (there is none) would map the same bytes again from the file.
            let _ = unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from)
            };
        }
    };
    decode(&parts, records, keep, &release)
        .ok()
        .filter(|s| !s.commits.is_empty())
        .ok_or(Rejected::Damaged)
}

/// A snapshot file's parts (after `MAGIC`).
struct Parts<'a> {
    sum: u64,
    /// What `sum` covers: `lead`, then the history and the rest of the head.
    covered: &'a [u8],
    /// The key and the two lengths.
    lead: &'a [u8],
    key: &'a [u8],
    /// Commits, events and warnings.
    history: &'a [u8],
    /// The config, the error count and the number of blocks (what `sum` covers after
    /// `history`).
    head_rest: &'a [u8],
    /// `head_rest`, then the blocks.
    records: &'a [u8],
}

impl<'a> Parts<'a> {
    fn of(rest: &'a [u8]) -> codec::Result<Parts<'a>> {
        let (sum, body) = rest.split_at_checked(8).ok_or(Corrupt)?;
        let mut r = Reader::new(body);
        let n = r.len()?;
        let key = r.bytes(n)?;
        let u64_le = |r: &mut Reader<'a>| -> codec::Result<usize> {
            let b: [u8; 8] = r.bytes(8)?.try_into().map_err(|_| Corrupt)?;
            usize::try_from(u64::from_le_bytes(b)).map_err(|_| Corrupt)
        };
        let events_len = u64_le(&mut r)?;
        let head_len = u64_le(&mut r)?;
        let before_head = body.len() - r.rest().len();
        let mut r = Reader::new(&body[before_head..]);
        let head = r.bytes(head_len)?;
        if events_len > head.len() {
            return Err(Corrupt);
        }
        Ok(Parts {
            sum: u64::from_le_bytes(sum.try_into().map_err(|_| Corrupt)?),
            covered: &body[..before_head + head_len],
            lead: &body[..before_head],
            key,
            history: &head[..events_len],
            head_rest: &head[events_len..],
            records: &body[before_head + events_len..],
        })
    }

    /// Whether the part before the records passes its checksum.
    fn sound(&self) -> bool {
        checksum(self.covered, 0) == self.sum
    }
}

/// The first-parent commits of `HEAD` and the events of them `keep` keeps (a subset of
/// `history::for_metrics`: `history::for_lifecycle`), from the report's snapshot brought
/// forward to `HEAD`; `None` when there is no snapshot on `HEAD`'s history (the caller mines
/// the history instead). The snapshot's other events are dropped as they are decoded.
pub fn history(
    root: &Path,
    keep: history::Filter,
    warnings: &mut Vec<String>,
) -> Result<Option<History>, GitError> {
    let place = Place::of(root, true)?;
    let events_only = Keep {
        events: keep,
        account: |a| a,
        contact: |c| c,
        opportunity: |o| o,
        lead: |l| l,
        activity: |a| a,
    };
    let Some(snap) = place.read(false, Some(&events_only), warnings) else {
        return Ok(None);
    };
    let options = history::Options {
        lean: Some(keep),
        unread: history::UNREAD_BY_METRICS,
        ..history::Options::default()
    };
    let forwarded = forward(root, &options, snap.commits, snap.events, snap.warnings)?;
    Ok(forwarded.map(|f| (f.commits, f.events)))
}

/// A snapshot's history brought to `HEAD`.
struct Forward {
    commits: Vec<CommitInfo>,
    events: Vec<Event>,
    warnings: Vec<Warning>,
    /// Commits mined after the shared one.
    mined: usize,
    /// Some of the snapshot's commits are no longer on `HEAD`'s history.
    cut: bool,
}

/// The snapshot's commits, events and warnings up to the newest commit it shares with
/// `HEAD`'s first-parent history (all of them unless history was rewritten: a reset, an
/// amend, a rebase), followed by the commits after that one, mined; `None` when none of the
/// last `CATCH_UP_MAX` commits is shared.
fn forward(
    root: &Path,
    options: &history::Options,
    mut commits: Vec<CommitInfo>,
    mut events: Vec<Event>,
    mut warnings: Vec<Warning>,
) -> Result<Option<Forward>, GitError> {
    let index: HashMap<String, usize> = commits
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.to_string(), i))
        .collect();
    let tree_of = |id: ObjectId| index.get(&id.to_string()).map(|&i| commits[i].tree);
    let Some((shared, new)) = history::mine_since(root, options, &tree_of, CATCH_UP_MAX)? else {
        return Ok(None);
    };
    let Some(keep) = index.get(&shared.to_string()).map(|i| i + 1) else {
        return Ok(None);
    };
    // Events and warnings are in commit order.
    let of = |sha: &str| index.get(sha).copied().unwrap_or(usize::MAX);
    let e = events.partition_point(|e| of(&e.commit) < keep);
    let w = warnings.partition_point(|w| of(&w.commit) < keep);
    drop(index);
    let cut = keep < commits.len();
    commits.truncate(keep);
    events.truncate(e);
    warnings.truncate(w);
    let mined = new.commits.len();
    commits.extend(new.commits);
    events.extend(new.events);
    warnings.extend(new.warnings);
    Ok(Some(Forward {
        commits,
        events,
        warnings,
        mined,
        cut,
    }))
}

fn write(place: &Place, history: &[u8], records: &Records) -> io::Result<()> {
    let file = &place.file;
    if let Some(dir) = file.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let mut out = io::BufWriter::with_capacity(1 << 20, fs::File::create(&tmp)?);
    let written = encode(&place.key, history, records, &mut out)
        .and_then(|()| out.flush())
        .and_then(|()| fs::rename(&tmp, file));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

fn put_commit(c: &CommitInfo, w: &mut Vec<u8>) {
    let CommitInfo {
        id,
        parent,
        tree,
        author_name,
        author_email,
        author_date,
        committer_date,
        summary,
    } = c;
    id.put(w);
    parent.put(w);
    tree.put(w);
    author_name.put(w);
    author_email.put(w);
    author_date.put(w);
    committer_date.put(w);
    summary.put(w);
}

fn get_commit(r: &mut Reader) -> codec::Result<CommitInfo> {
    Ok(CommitInfo {
        id: Codec::get(r)?,
        parent: Codec::get(r)?,
        tree: Codec::get(r)?,
        author_name: Codec::get(r)?,
        author_email: Codec::get(r)?,
        author_date: Codec::get(r)?,
        committer_date: Codec::get(r)?,
        summary: Codec::get(r)?,
    })
}

/// The commits, their events and the warnings, as the snapshot holds them (`decode_history`
/// reads them back).
fn put_history(commits: &[CommitInfo], events: &[Event], warnings: &[Warning]) -> Vec<u8> {
    let mut head = Vec::new();
    let w = &mut head;
    put_varint(w, commits.len() as u64);
    for c in commits {
        put_commit(c, w);
    }
    // Events and warnings name their commit by index: the walk is in the file already.
    let index: HashMap<String, u64> = commits
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.to_string(), i as u64))
        .collect();
    put_varint(w, events.len() as u64);
    for e in events {
        put_varint(w, index[&*e.commit]);
        // The id is the file stem: not stored twice.
        e.kind.put(w);
        put_str(w, &e.path);
        e.change.put(w);
    }
    put_varint(w, warnings.len() as u64);
    for x in warnings {
        put_varint(w, index[x.commit.as_str()]);
        put_str(w, &x.path);
        put_str(w, &x.message);
    }
    head.shrink_to_fit();
    head
}

/// The snapshot: its key, `history` (`put_history`), then the records.
fn encode(
    key: &integrity::Key,
    history: &[u8],
    r: &Records,
    out: &mut impl Write,
) -> io::Result<()> {
    // What follows the history and comes before the records, in one buffer; the records'
    // blocks are written one after the other, never gathered.
    let mut head = Vec::new();
    let w = &mut head;
    let events_len = history.len() as u64;
    put_varint(w, r.config_bytes.len() as u64);
    w.extend_from_slice(&r.config_bytes);
    put_varint(w, u64::from(r.other_errors));
    // Blocks of records of one kind, each length-prefixed, so that they decode in parallel:
    // the kind (as `Kind` encodes it), the number of records, then each record's
    // fields followed by its file's error count. They are encoded a few at a time and
    // written as they are, never gathered (the blocks of a large CRM are 100 MB).
    let errors = |path: &str| r.file_errors.get(path).copied().unwrap_or(0);
    let c = &r.crm;
    let blocks = [
        c.accounts.len(),
        c.contacts.len(),
        c.opportunities.len(),
        c.leads.len(),
        c.activities.len(),
    ]
    .iter()
    .map(|n| n.div_ceil(BLOCK))
    .sum::<usize>();
    put_varint(w, blocks as u64);
    let mut lead = Vec::new();
    put_str(&mut lead, key.text());
    lead.extend_from_slice(&events_len.to_le_bytes());
    lead.extend_from_slice(&((history.len() + head.len()) as u64).to_le_bytes());
    let mut sum = xxhash_rust::xxh3::Xxh3::with_seed(0);
    sum.update(&lead);
    sum.update(history);
    sum.update(&head);
    out.write_all(MAGIC)?;
    out.write_all(&sum.digest().to_le_bytes())?;
    out.write_all(&lead)?;
    out.write_all(history)?;
    out.write_all(&head)?;
    drop(head);
    write_blocks(out, &c.accounts, &errors)?;
    write_blocks(out, &c.contacts, &errors)?;
    write_blocks(out, &c.opportunities, &errors)?;
    write_blocks(out, &c.leads, &errors)?;
    write_blocks(out, &c.activities, &errors)?;
    Ok(())
}

/// One kind's records in blocks of `BLOCK` (a kind with no record has none), encoded on
/// every core two blocks a thread at a time, and written in order, each with its length and
/// checksum.
fn write_blocks<T: Codec + OfKind + Sync>(
    out: &mut impl Write,
    list: &[T],
    errors: &(impl Fn(&str) -> u32 + Sync),
) -> io::Result<()> {
    let at_once = BLOCK * 2 * rayon::current_num_threads();
    for run in list.chunks(at_once) {
        let blocks: Vec<Vec<u8>> = run
            .par_chunks(BLOCK)
            .map(|chunk| {
                let mut b = Vec::new();
                T::KIND.put(&mut b);
                put_varint(&mut b, chunk.len() as u64);
                for x in chunk {
                    x.put(&mut b);
                    put_varint(&mut b, u64::from(errors(&x.meta().path)));
                }
                b
            })
            .collect();
        for b in &blocks {
            let mut len = Vec::new();
            put_varint(&mut len, b.len() as u64);
            out.write_all(&len)?;
            out.write_all(&checksum(b, 0).to_le_bytes())?;
            out.write_all(b)?;
        }
    }
    Ok(())
}

/// The snapshot in `body`; without its records unless `records` (the events alone decode in a
/// fraction of the time).
/// `release` is given each part of the file once it is decoded (and checked).
fn decode(
    parts: &Parts,
    records: bool,
    keep: Option<&Keep>,
    release: &(dyn Fn(&[u8]) + Sync),
) -> codec::Result<Snapshot> {
    let history = |parts: &Parts| {
        let mut sum = Follow::new(parts.history, parts.lead);
        let decoded = decode_history(parts.history, &mut sum, keep.map(|k| k.events))?;
        let sum = sum.digest(parts.head_rest);
        release(parts.history);
        if sum == parts.sum {
            Ok(decoded)
        } else {
            Err(Corrupt)
        }
    };
    if !records {
        let (commits, events, warnings) = history(parts)?;
        return Ok(Snapshot {
            commits,
            events,
            warnings,
            records: Records {
                config_bytes: Vec::new(),
                crm: Crm::default(),
                file_errors: HashMap::new(),
                other_errors: 0,
            },
        });
    }
    // The history on one core while the records' blocks are decoded on the others (each
    // checked by the thread that decodes it; what comes before them is checked with the
    // history, and nothing decoded is used unless every check passed).
    let (history, records) = rayon::join(
        || history(parts),
        || decode_records(parts.records, keep, release),
    );
    let (commits, events, warnings) = history?;
    Ok(Snapshot {
        commits,
        events,
        warnings,
        records: records?,
    })
}

type Decoded = (Vec<CommitInfo>, Vec<Event>, Vec<Warning>);

/// The checksum of the history, computed a slice at a time behind the decoder, while the
/// bytes it just read are still in the processor's cache (the history of a long CRM is tens
/// of megabytes: hashed apart, it would be read from memory twice). Nothing decoded is used
/// before the checksum is known to match.
struct Follow<'a> {
    body: &'a [u8],
    hashed: usize,
    sum: xxhash_rust::xxh3::Xxh3,
}

impl<'a> Follow<'a> {
    /// Bytes hashed at a time.
    const SLICE: usize = 64 << 10;

    fn new(body: &'a [u8], lead: &[u8]) -> Self {
        let mut sum = xxhash_rust::xxh3::Xxh3::with_seed(0);
        sum.update(lead);
        Follow {
            body,
            hashed: 0,
            sum,
        }
    }

    /// Hashes what `r` (reading `body`) has read since the last slice, once it is a slice.
    fn after(&mut self, r: &Reader) {
        let read = self.body.len() - r.remaining();
        if read - self.hashed >= Self::SLICE {
            self.sum.update(&self.body[self.hashed..read]);
            self.hashed = read;
        }
    }

    /// The checksum of everything, `rest` (what follows `body`) included.
    fn digest(mut self, rest: &[u8]) -> u64 {
        self.sum.update(&self.body[self.hashed..]);
        self.sum.update(rest);
        self.sum.digest()
    }
}

fn decode_history(
    body: &[u8],
    sum: &mut Follow,
    keep: Option<history::Filter>,
) -> codec::Result<Decoded> {
    let mut r = Reader::new(body);
    let n = r.len()?;
    let mut commits = Vec::with_capacity(n);
    for _ in 0..n {
        commits.push(get_commit(&mut r)?);
        sum.after(&r);
    }
    let commit = |i: u64| {
        commits
            .get(usize::try_from(i).map_err(|_| Corrupt)?)
            .ok_or(Corrupt)
    };
    // One shared copy of each commit's id, author and email for all its events.
    let shared: Vec<(Arc<str>, Arc<str>, Arc<str>)> = commits
        .iter()
        .map(|c| {
            (
                c.id.to_string().into(),
                c.author_name.as_str().into(),
                c.author_email.as_str().into(),
            )
        })
        .collect();
    let n = r.len()?;
    let mut events = Vec::with_capacity(n);
    for _ in 0..n {
        let i = usize::try_from(r.varint()?).map_err(|_| Corrupt)?;
        let (sha, author, email) = shared.get(i).ok_or(Corrupt)?;
        let c = &commits[i];
        let kind = Kind::get(&mut r)?;
        let path = String::get(&mut r)?;
        let stem = path.rsplit('/').next().unwrap_or(&path);
        let id = stem.strip_suffix(".toml").ok_or(Corrupt)?.to_string();
        let mut change = Codec::get(&mut r)?;
        sum.after(&r);
        if keep.is_some_and(|keep| !keep(kind, &mut change)) {
            continue;
        }
        events.push(Event {
            commit: sha.clone(),
            author: author.clone(),
            email: email.clone(),
            date: c.author_date,
            kind,
            id,
            path,
            change,
        });
    }
    let n = r.len()?;
    let mut warnings = Vec::with_capacity(n);
    for _ in 0..n {
        let c = commit(r.varint()?)?;
        warnings.push(Warning {
            commit: c.id.to_string(),
            path: Codec::get(&mut r)?,
            message: Codec::get(&mut r)?,
        });
    }
    if !r.is_empty() {
        return Err(Corrupt);
    }
    events.shrink_to_fit();
    Ok((commits, events, warnings))
}

/// The records part of a snapshot: the config's bytes, the error count, and the blocks (each
/// its checksum and its bytes, not checked yet).
type RecordsPart<'a> = (&'a [u8], u32, Vec<(u64, &'a [u8])>);

fn split_records(body: &[u8]) -> codec::Result<RecordsPart<'_>> {
    let mut r = Reader::new(body);
    let n = r.len()?;
    let config = r.bytes(n)?;
    let other_errors = u32::get(&mut r)?;
    let n = r.len()?;
    let mut blocks = Vec::with_capacity(n);
    for _ in 0..n {
        let len = r.len()?;
        let sum: [u8; 8] = r.bytes(8)?.try_into().map_err(|_| Corrupt)?;
        blocks.push((u64::from_le_bytes(sum), r.bytes(len)?));
    }
    if !r.is_empty() {
        return Err(Corrupt);
    }
    Ok((config, other_errors, blocks))
}

/// Whether a snapshot file passes every check: `None` for a file of another version (not
/// judged). Reads each byte once and decodes nothing (`sloop doctor`).
pub fn check_file(file: &Path) -> io::Result<Option<bool>> {
    let f = fs::File::open(file)?;
    // SAFETY: as in `read`: snapshot files are replaced whole, never written in place.
    let map = unsafe { memmap2::Mmap::map(&f) }?;
    let Some(rest) = map.strip_prefix(MAGIC) else {
        return Ok(None);
    };
    let Ok(parts) = Parts::of(rest) else {
        return Ok(Some(false));
    };
    let blocks_sound = split_records(parts.records)
        .is_ok_and(|(_, _, blocks)| blocks.iter().all(|(sum, b)| checksum(b, 0) == *sum));
    Ok(Some(parts.sound() && blocks_sound))
}

fn decode_records(
    body: &[u8],
    keep: Option<&Keep>,
    release: &(dyn Fn(&[u8]) + Sync),
) -> codec::Result<Records> {
    let (config_bytes, other_errors, all) = split_records(body)?;
    let config_bytes = config_bytes.to_vec();
    let (mut accounts, mut contacts, mut opportunities, mut leads, mut activities) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (sum, bytes) in all {
        let mut block = Reader::new(bytes);
        let kind = Kind::get(&mut block)?;
        let blocks = match kind {
            Kind::Account => &mut accounts,
            Kind::Contact => &mut contacts,
            Kind::Opportunity => &mut opportunities,
            Kind::Lead => &mut leads,
            Kind::Activity => &mut activities,
        };
        blocks.push(Block {
            sum,
            bytes,
            records: block.rest(),
        });
    }
    let mut file_errors = HashMap::new();
    let crm = Crm {
        config: parse_config(&config_bytes).0,
        accounts: decode_kind(
            &accounts,
            |x: &Account| &x.meta.path,
            keep.map(|k| k.account),
            &mut file_errors,
            release,
        )?,
        contacts: decode_kind(
            &contacts,
            |x: &Contact| &x.meta.path,
            keep.map(|k| k.contact),
            &mut file_errors,
            release,
        )?,
        opportunities: decode_kind(
            &opportunities,
            |x: &Opportunity| &x.meta.path,
            keep.map(|k| k.opportunity),
            &mut file_errors,
            release,
        )?,
        leads: decode_kind(
            &leads,
            |x: &Lead| &x.meta.path,
            keep.map(|k| k.lead),
            &mut file_errors,
            release,
        )?,
        activities: decode_kind(
            &activities,
            |x: &Activity| &x.meta.path,
            keep.map(|k| k.activity),
            &mut file_errors,
            release,
        )?,
    };
    Ok(Records {
        config_bytes,
        crm,
        file_errors,
        other_errors,
    })
}

/// A block of records of one kind, as read from the file.
struct Block<'a> {
    sum: u64,
    /// The whole block, which `sum` covers.
    bytes: &'a [u8],
    /// Its records, after the kind.
    records: &'a [u8],
}

/// One kind's records from its blocks, decoded on every core, in order, each into its place
/// in the one list: decoded into a list per block and then moved into one, every record was
/// written twice, and the kind's records held twice at the end (100 MB of fresh memory for
/// nothing at the benchmark's size, a fifth of a warm report's time in the kernel's zeroing
/// of it).
fn decode_kind<T: Codec + Default + Send>(
    blocks: &[Block],
    path: impl Fn(&T) -> &String,
    keep: Option<fn(T) -> T>,
    file_errors: &mut HashMap<String, u32>,
    release: &(dyn Fn(&[u8]) + Sync),
) -> codec::Result<Vec<T>> {
    // Each block's count, read before its checksum is checked: `Reader::len` bounds it by the
    // block's bytes, so a damaged count cannot ask for more memory than the file holds.
    let mut counted = Vec::with_capacity(blocks.len());
    for b in blocks {
        let mut r = Reader::new(b.records);
        let n = r.len()?;
        counted.push((b, n, r.rest()));
    }
    let total = counted.iter().map(|(_, n, _)| n).sum();
    let mut list: Vec<T> = Vec::with_capacity(total);
    list.resize_with(total, T::default);
    let mut errors = vec![0u32; total];
    let mut places = Vec::with_capacity(counted.len());
    let (mut records, mut counts) = (&mut list[..], &mut errors[..]);
    for (_, n, _) in &counted {
        let (these, rest) = records.split_at_mut(*n);
        let (their_errors, rest_errors) = counts.split_at_mut(*n);
        places.push((these, their_errors));
        (records, counts) = (rest, rest_errors);
    }
    counted.into_par_iter().zip(places).try_for_each(
        |((b, _, bytes), (these, their_errors))| {
            if checksum(b.bytes, 0) != b.sum {
                return Err(Corrupt);
            }
            let mut r = Reader::new(bytes);
            for (place, errors) in these.iter_mut().zip(their_errors.iter_mut()) {
                let record = T::get(&mut r)?;
                *place = match keep {
                    Some(keep) => keep(record),
                    None => record,
                };
                *errors = u32::get(&mut r)?;
            }
            release(b.bytes);
            if r.is_empty() {
                Ok(())
            } else {
                Err(Corrupt)
            }
        },
    )?;
    for (record, errors) in list.iter().zip(errors) {
        if errors > 0 {
            file_errors.insert(path(record).clone(), errors);
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An object id of 40 times `c`.
    fn id(c: char) -> git::ObjectId {
        c.to_string().repeat(40).parse().unwrap()
    }

    fn date() -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::parse_from_rfc3339("2026-11-26T10:00:00+01:00").unwrap()
    }

    /// A cold report holds its events encoded while it reads every record: what it reads
    /// back is what it encoded, each commit's id, author and email shared by its events.
    #[test]
    fn events_held_encoded_read_back_the_same() {
        let date = date();
        let commit = |c: char, who: &str| CommitInfo {
            id: id(c),
            parent: None,
            tree: id('f'),
            author_name: who.into(),
            author_email: format!("{who}@example.com"),
            author_date: date,
            committer_date: date,
            summary: format!("by {who}"),
        };
        let commits = vec![commit('a', "lea"), commit('b', "sam")];
        let event = |c: &CommitInfo, path: &str, change: history::Change| Event {
            commit: c.id.to_string().into(),
            author: c.author_name.as_str().into(),
            email: c.author_email.as_str().into(),
            date,
            kind: Kind::Account,
            id: path
                .trim_start_matches("accounts/")
                .trim_end_matches(".toml")
                .into(),
            path: path.into(),
            change,
        };
        let mut fields = history::Fields::new();
        fields.insert("status".into(), history::Value::Text("target".into()));
        let events = vec![
            event(
                &commits[0],
                "accounts/acme.toml",
                history::Change::Created { fields },
            ),
            event(&commits[1], "accounts/acme.toml", history::Change::Deleted),
            event(
                &commits[1],
                "accounts/beta.toml",
                history::Change::Changed {
                    field: "status".into(),
                    old: None,
                    new: Some(history::Value::Text("working".into())),
                },
            ),
        ];
        let warnings = vec![Warning {
            commit: commits[1].id.to_string(),
            path: "leads/bad.toml".into(),
            message: "invalid TOML".into(),
        }];
        let bytes = put_history(&commits, &events, &warnings);
        let (c, e, w) = decode_history(&bytes, &mut Follow::new(&bytes, &[]), None).unwrap();
        assert_eq!((c, &e, w), (commits, &events, warnings));
        assert!(Arc::ptr_eq(&e[1].commit, &e[2].commit) && Arc::ptr_eq(&e[1].author, &e[2].author));
    }

    /// Records over several blocks (two and a bit of `BLOCK`, decoded on every core) come back
    /// in their order, each kind's in one list, with their files' error counts; a block
    /// whose bytes changed is refused.
    #[test]
    fn records_over_several_blocks_decode_in_order() {
        let (config, _) = store::parse_config(b"");
        let mut crm = Crm::empty(config);
        let n = BLOCK * 2 + 3;
        for i in 0..n {
            crm.activities.push(Activity {
                meta: crate::model::Meta {
                    id: format!("a{i:06}"),
                    path: format!("activities/a{i:06}.toml"),
                    ..Default::default()
                },
                subject: Some(format!("call {i}")),
                ..Default::default()
            });
        }
        for i in 0..3 {
            crm.accounts.push(Account {
                meta: crate::model::Meta {
                    id: format!("acme-{i}"),
                    path: format!("accounts/acme-{i}.toml"),
                    ..Default::default()
                },
                ..Default::default()
            });
        }
        let file_errors = HashMap::from([
            ("activities/a000000.toml".to_string(), 1),
            (format!("activities/a{:06}.toml", BLOCK), 2),
            (format!("activities/a{:06}.toml", n - 1), 3),
            ("accounts/acme-2.toml".to_string(), 4),
        ]);
        let records = Records {
            config_bytes: Vec::new(),
            crm,
            file_errors: file_errors.clone(),
            other_errors: 0,
        };
        let mut bytes = Vec::new();
        encode(
            &integrity::Key::none(),
            &put_history(&[], &[], &[]),
            &records,
            &mut bytes,
        )
        .unwrap();
        let parts = Parts::of(bytes.strip_prefix(MAGIC).unwrap()).unwrap();
        let back = decode_records(parts.records, None, &|_| {}).unwrap();
        let ids = |list: &[Activity]| list.iter().map(|a| a.meta.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&back.crm.activities), ids(&records.crm.activities));
        assert_eq!(
            back.crm.activities[BLOCK + 1].subject.as_deref(),
            Some(&*format!("call {}", BLOCK + 1))
        );
        let accounts: Vec<&str> = back
            .crm
            .accounts
            .iter()
            .map(|a| a.meta.id.as_str())
            .collect();
        assert_eq!(accounts, ["acme-0", "acme-1", "acme-2"]);
        assert_eq!(back.file_errors, file_errors);
        assert!(back.crm.contacts.is_empty() && back.crm.leads.is_empty());
        // One byte of the last activity block changed: its checksum fails.
        let at = bytes.len() - 40;
        bytes[at] ^= 1;
        let parts = Parts::of(bytes.strip_prefix(MAGIC).unwrap()).unwrap();
        assert!(decode_records(parts.records, None, &|_| {}).is_err());
    }

    /// The file format is `MAGIC`'s: a snapshot written by one version is never decoded by
    /// another with a different layout. This test encodes fixed inputs (a commit, its events,
    /// a record of every kind) and pins the bytes' hash to the version. It fails when the
    /// encoding changes (a new record field, a reordered value…) without `MAGIC` changing:
    /// bump the version, then put the new pair here.
    #[test]
    fn the_layout_is_pinned_to_the_format_version() {
        const PINNED: (&[u8], u64) = (b"sloop report snapshot 9\n", 0x694346bc21d91890);
        let date = date();
        let commit = CommitInfo {
            id: id('a'),
            parent: Some(id('b')),
            tree: id('c'),
            author_name: "Léa".into(),
            author_email: "lea@example.com".into(),
            author_date: date,
            committer_date: date,
            summary: "sloop new account acme".into(),
        };
        let config_bytes = b"[team.lea]\nname = \"L\"\nrole = \"sdr\"\n".to_vec();
        let (config, _) = store::parse_config(&config_bytes);
        let files = [
            (Kind::Account, "accounts/acme.toml", "name = \"Acme\"\nstatus = \"target\"\nowner = \"lea\"\ndomain = \"acme.com\"\nfit = \"high\"\nemployees = 12\ncountry = \"FR\"\ntools = [\"stripe\"]\n[custom]\nregion = \"west\"\n"),
            (Kind::Contact, "contacts/jo.toml", "name = \"Jo\"\naccount = \"acme\"\nemail = \"jo@acme.com\"\nrole = \"champion\"\n"),
            (Kind::Opportunity, "opportunities/acme-pro.toml", "name = \"Acme Pro\"\naccount = \"acme\"\nowner = \"lea\"\nstage = \"won\"\nsource = \"outbound\"\nmrr = 500.5\nclose_date = 2026-11-20\n[bant]\nneed = \"speed\"\n[commit]\nstart_date = 2026-12-01\nusers = 3\ninvoice_scheduled = true\n"),
            (Kind::Lead, "leads/ann.toml", "email = \"ann@x.io\"\nstatus = \"working\"\n"),
            (Kind::Activity, "activities/2026/11/2026-11-20-call-acme.toml", "kind = \"call\"\ndate = 2026-11-20T10:30:00+01:00\naccount = \"acme\"\nduration_min = 20\ndirection = \"outbound\"\noutcome = \"answered\"\ncall_id = \"aircall:42\"\nparticipants = [\"+33612345678\"]\n"),
            (Kind::Activity, "activities/2026/11/2026-11-20-email-acme.toml", "kind = \"email\"\ndate = 2026-11-20\naccount = \"acme\"\ndirection = \"inbound\"\nmessage_id = \"<m1@acme.com>\"\nparticipants = [\"jo@acme.com\"]\nattachments = [\"deck.pdf (1024 bytes)\"]\n"),
            (Kind::Activity, "activities/2026/11/2026-11-27-meeting-acme.toml", "kind = \"meeting\"\ndate = 2026-11-27T10:00:00+01:00\naccount = \"acme\"\nduration_min = 30\ncancelled = true\nuid = \"evt-1@google.com\"\nsequence = 2\nrecurrence_id = \"2026-11-27T10:00:00+01:00\"\n"),
        ];
        let mut crm = Crm::empty(config);
        for (kind, path, text) in files {
            let stem = path.rsplit('/').next().unwrap().trim_end_matches(".toml");
            let (record, _) = store::parse_bytes(kind, stem, path, text.as_bytes(), &crm.config);
            crm.push(record);
        }
        let records = Records {
            config_bytes,
            crm,
            file_errors: HashMap::from([("leads/ann.toml".to_string(), 1)]),
            other_errors: 2,
        };
        let events = vec![Event {
            commit: commit.id.to_string().into(),
            author: "Léa".into(),
            email: "lea@example.com".into(),
            date,
            kind: Kind::Opportunity,
            id: "acme-pro".into(),
            path: "opportunities/acme-pro.toml".into(),
            change: history::Change::Changed {
                field: "stage".into(),
                old: Some(history::Value::Text("commit".into())),
                new: Some(history::Value::Text("won".into())),
            },
        }];
        let warnings = vec![Warning {
            commit: commit.id.to_string(),
            path: "leads/bad.toml".into(),
            message: "invalid TOML".into(),
        }];
        let mut bytes = Vec::new();
        let history = put_history(&[commit], &events, &warnings);
        encode(&integrity::Key::none(), &history, &records, &mut bytes).unwrap();
        let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        });
        assert!(
            MAGIC == PINNED.0 && hash == PINNED.1,
            "the snapshot's layout or its version changed: when the layout changed, bump \
             MAGIC's version; then pin the pair here: ({:?}, {hash:#x})",
            String::from_utf8_lossy(MAGIC)
        );
    }
}
