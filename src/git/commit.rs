//! The one commit path. Every sloop write that commits goes through `Repo::commit_files`, and
//! every write command holds a `WriteLock` from its first read to its last write.
//!
//! The order of a commit, so that HEAD, the index and the work tree are consistent whatever
//! happens, a `SIGKILL` included:
//!
//! 1. take git's own `index.lock` (waiting a little for another git process), and keep it to
//!    the end: no other writer reads or writes the index meanwhile;
//! 2. check the branch (no merge in progress, not detached…) and that every file sloop writes
//!    is clean: the same in HEAD, the index and on disk (or absent from all three);
//! 3. write a journal (`<git dir>/sloop/journal`: the lock's token, each file and a hash of
//!    what sloop writes there, then HEAD once read, then the commit, each line synced before
//!    the step it announces), then the files, each to a hidden temporary file renamed over
//!    the old one (on two threads for many files);
//! 4. let git itself hash them into a private copy of the index (`git hash-object`,
//!    `git update-index`, fed the paths as they go, so that `core.autocrlf`, `.gitattributes`
//!    filters, split and sparse indexes behave exactly as after `git add`);
//! 5. build the tree (HEAD's, with only these paths replaced: whatever else the user staged
//!    stays staged and out of the commit) and the commit from objects; a history (an
//!    import, `Repo::commit_history`) is written instead by `git fast-import` onto a private
//!    ref, fed from another thread while step 3 writes the files and finished before step 4,
//!    so that its pack already holds the blobs step 4 hashes (git then writes no loose
//!    object for them), and its last tree is checked here against the blobs git hashed;
//! 6. put the new index in place of `index.lock`, move the branch from the HEAD read in step
//!    2 to the new commit (compare-and-swap: refused if anything else moved it), and only
//!    then rename `index.lock` to `index`.
//!
//! A failure before step 6 puts the files back and removes the lock. A process killed on the
//! way leaves its journal: the next writer (which takes the `WriteLock` only once the dead one
//! released it) rolls the work back if the branch did not move, or finishes it if it did
//! (`Repo::recover`), touching only files that still hold what sloop wrote.

use std::borrow::Cow;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};

use super::repo::TreeLookup;
use super::{GitError, ObjectId, Repo};
use crate::store::{temp_path, write_file, FileSet};

/// A name and an email for a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

/// A commit sloop writes: files of the CRM replaced on top of HEAD's tree.
pub struct CommitRequest<'a> {
    /// CRM-relative paths and their new contents, read one at a time.
    pub files: &'a dyn FileSet,
    pub message: &'a str,
    pub when: DateTime<FixedOffset>,
    /// Author and committer; `None`: git's `user.name` / `user.email`.
    pub author: Option<Identity>,
    pub committer: Option<Identity>,
    /// The commit the files were computed from. When the branch has moved since, the commit
    /// goes on top of the new HEAD only if that move changed none of these files.
    pub base: Option<ObjectId>,
}

/// One commit of a history sloop writes on top of HEAD (an import): the files it changes
/// (CRM-relative paths, whole contents), its message, its author (also its committer) and
/// its date.
#[derive(Debug, Clone)]
pub struct HistoryCommit {
    pub files: Vec<(String, Vec<u8>)>,
    pub message: String,
    pub author: Identity,
    pub when: DateTime<FixedOffset>,
}

/// One commit `Repo::rebase_onto` writes: CRM files (whole contents) on top of the previous
/// commit, with its message, author, committer and date.
#[derive(Debug, Clone)]
pub struct Replay {
    pub files: Vec<(String, Vec<u8>)>,
    pub message: String,
    pub author: Identity,
    pub committer: Identity,
    pub when: DateTime<FixedOffset>,
}

/// The files of a publish as git recorded them: CRM-relative paths (the repository's
/// `prefix` before each), their order by path, and the blob git hashed for each (in the
/// files' order). Per file this is 24 bytes beside what the `FileSet` itself holds.
pub(super) struct Recorded<'a> {
    files: &'a dyn FileSet,
    /// The files' indices sorted by path: git's order of index and tree entries.
    order: &'a [u32],
    blobs: &'a [ObjectId],
}

/// Builds the commit of a publish from HEAD and the files as git recorded them.
type MakeCommit<'a> = dyn Fn(ObjectId, &Recorded) -> Result<ObjectId, GitError> + 'a;

/// The commit of a publish from the files as recorded, HEAD known.
type FinishCommit<'a> = Box<dyn Fn(&Recorded) -> Result<ObjectId, GitError> + 'a>;

/// How a publish gets its commit.
enum Make<'a> {
    /// Built from HEAD and the files' blobs, once the files are written and recorded.
    FromBlobs(&'a MakeCommit<'a>),
    /// Written from HEAD alone (a history through `git fast-import`, on another thread while
    /// this one writes the files), then checked once git recorded the files: the index git
    /// prepared must have, for every file, the blob the commit's tree has at its path (no
    /// `git hash-object` is needed).
    Ahead(Ahead<'a>),
}

/// Where an import's history is written before the branch moves to it: this prefix and the
/// process id.
const PRIVATE_REFS: &str = "refs/sloop/import-";

/// A history a publish writes through `git fast-import` while it writes the files: the
/// commits, and the private ref fast-import moves.
struct Ahead<'a> {
    commits: &'a [HistoryCommit],
    private: &'a str,
}

/// Feeds a history to `git fast-import` and waits for it to write its pack and its ref;
/// gives up between two commits once `stop` is set (the files could not be written),
/// stopping git.
fn feed_history(
    mut writer: super::HistoryWriter,
    prefix: &str,
    commits: &[HistoryCommit],
    stop: &AtomicBool,
) -> Result<super::HistoryWriter, GitError> {
    for c in commits {
        if stop.load(Ordering::Relaxed) {
            writer.abandon();
            return Err(GitError::corrupt(
                "cannot import",
                "the history was abandoned: the files could not be written",
            ));
        }
        writer.commit_prefixed(prefix, &c.files, &c.message, &c.author, c.when)?;
    }
    writer.end()?;
    Ok(writer)
}

/// How long a writer waits for another one (sloop's lock, or git's `index.lock`) before
/// giving up: 10 s unless `set_lock_wait` says otherwise.
static LOCK_WAIT: OnceLock<Duration> = OnceLock::new();

fn lock_wait() -> Duration {
    LOCK_WAIT.get().copied().unwrap_or(Duration::from_secs(10))
}

/// Sets how long writers wait for a lock (the binary reads `SLOOP_LOCK_WAIT`, in seconds).
pub fn set_lock_wait(wait: Duration) {
    let _ = LOCK_WAIT.set(wait);
}

/// The folder of sloop's write-path files in a git dir (the lock, the journal, the index
/// being prepared). Per work tree, like git's own `index.lock`.
fn sloop_dir(git_dir: &Path) -> PathBuf {
    git_dir.join("sloop")
}

const JOURNAL: &str = "journal";
const NEXT_INDEX: &str = "next-index";

/// A point of the commit path where a test can make the process die (`abort`, which like a
/// `SIGKILL` runs no destructor and leaves every file as it is). Set by the binary from
/// `SLOOP_CRASH_AT`, for the fault-injection tests only.
static CRASH_AT: OnceLock<String> = OnceLock::new();

/// Makes the process abort when the commit path reaches the point `name` (see `crash_point`
/// calls: `journal`, `files`, `index`, `commit`, `branch`, `done`).
pub fn crash_at(name: String) {
    let _ = CRASH_AT.set(name);
}

fn crash_point(name: &str) {
    if CRASH_AT.get().is_some_and(|n| n == name) {
        std::process::abort();
    }
}

/// sloop's own lock on a repository's write path (`<git dir>/sloop/write.lock`), an
/// operating-system file lock that dies with its process. A write command holds it from its
/// first read to its last write, so two sloop writers never interleave; and a journal found
/// by whoever holds it belongs to a writer that died, which `acquire` recovers first.
pub struct WriteLock {
    _file: File,
    /// What was found and done about an interrupted write, if anything.
    pub recovered: Option<Recovery>,
}

impl WriteLock {
    /// Takes the lock, waiting (10 s by default) for another sloop writer, then recovers
    /// what a killed writer left.
    pub fn acquire(repo: &Repo) -> Result<WriteLock, GitError> {
        let dir = sloop_dir(repo.git_dir());
        fs::create_dir_all(&dir)
            .map_err(|e| GitError::new(format!("cannot create {}", dir.display()), e))?;
        let path = dir.join("write.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| GitError::new(format!("cannot open {}", path.display()), e))?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if started.elapsed() < lock_wait() => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(GitError::corrupt(
                        "cannot write",
                        format!(
                            "another sloop command has been writing to this repository for {} s",
                            lock_wait().as_secs()
                        ),
                    )
                    .with_hint("wait for it to finish, then run sloop again"));
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(GitError::new(format!("cannot lock {}", path.display()), e));
                }
            }
        }
        let recovered = repo.recover()?;
        Ok(WriteLock {
            _file: file,
            recovered,
        })
    }
}

/// git's `index.lock`, created by sloop (exclusively, as git does) and held while it commits.
/// Dropped without `release`, it is removed: the index is left as it was.
struct IndexLock {
    path: PathBuf,
    held: bool,
}

impl IndexLock {
    /// Creates the lock, writing `marker` in it (git only looks at the file's existence), so
    /// that a recovery can tell a lock a killed sloop left from another process's.
    fn acquire(git_dir: &Path, marker: &str) -> Result<IndexLock, GitError> {
        let path = git_dir.join("index.lock");
        // The lock is created with its marker already in it: a hard link to a file written
        // beforehand (linking fails when the name exists, as an exclusive create does), so
        // there is no moment when the lock exists without saying whose it is.
        let marked = sloop_dir(git_dir).join(format!("lock-{}", std::process::id()));
        fs::write(&marked, marker.as_bytes())
            .map_err(|e| GitError::new(format!("cannot write {}", marked.display()), e))?;
        let started = Instant::now();
        let result = loop {
            match fs::hard_link(&marked, &path) {
                Ok(()) => break Ok(IndexLock { path, held: true }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if started.elapsed() >= lock_wait() {
                        break Err(GitError::corrupt(
                            "cannot commit",
                            "the index is locked by another git process (.git/index.lock exists)",
                        )
                        .with_hint(
                            "wait for it to finish; if no git process is running, delete .git/index.lock",
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    break Err(GitError::new(
                        format!("cannot create {}", path.display()),
                        e,
                    ))
                }
            }
        };
        let _ = fs::remove_file(&marked);
        result
    }

    /// Puts `index` in place of the lock file (still holding the lock: git's lock is the
    /// file's existence).
    fn replace_with(&self, index: &Path) -> io::Result<()> {
        fs::rename(index, &self.path)
    }

    /// Renames the lock over the index: the new index is in place, the lock released.
    fn commit(mut self, index: &Path) -> io::Result<()> {
        fs::rename(&self.path, index)?;
        self.held = false;
        Ok(())
    }
}

impl Drop for IndexLock {
    fn drop(&mut self) {
        if self.held {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Why a commit was not made.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// Files sloop was to write have uncommitted changes (staged, or on disk): nothing was
    /// written.
    #[error("{} {} uncommitted changes", .0.join(", "), if .0.len() == 1 { "has" } else { "have" })]
    Dirty(Vec<String>),
    #[error(transparent)]
    Git(#[from] GitError),
}

/// What `Repo::recover` found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub outcome: Recovered,
    /// The files it put back (rolled back) or found written (completed), repository paths.
    pub files: Vec<String>,
    /// Files it left alone because they changed after sloop wrote them.
    pub left: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovered {
    /// The branch had not moved: the files were put back as in HEAD.
    RolledBack,
    /// The branch had moved to the interrupted commit: the index was put in place.
    Completed(ObjectId),
    /// The branch moved elsewhere meanwhile: only sloop's lock files were removed.
    Abandoned,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.files.len();
        let files = if n == 1 { "file" } else { "files" };
        match self.outcome {
            Recovered::RolledBack if n == 0 => write!(
                f,
                "an interrupted sloop write was cleaned up (it had not written anything yet)"
            )?,
            Recovered::RolledBack => write!(
                f,
                "an interrupted sloop write was rolled back ({n} {files} put back as in HEAD)"
            )?,
            Recovered::Completed(id) => write!(
                f,
                "an interrupted sloop commit {} was completed (the index now matches it)",
                id.short()
            )?,
            Recovered::Abandoned => write!(
                f,
                "an interrupted sloop write was left as it is: the branch has moved since (check `git status`)"
            )?,
        }
        if !self.left.is_empty() {
            write!(
                f,
                "; left alone because they changed since: {}",
                self.left.join(", ")
            )?;
        }
        Ok(())
    }
}

/// One file of a journal: its repository path, a hash of the bytes sloop wrote, and whether
/// the same bytes were already on disk (an untracked file identical to the new record).
#[derive(Debug, Clone, PartialEq, Eq)]
struct JournalFile {
    path: String,
    written: ObjectId,
    existed: bool,
}

/// The journal of a commit in progress, as `Repo::recover` reads it back. Text, one fact per
/// line: the token and every file first (written whole, synced, renamed into place), then
/// the branch and HEAD, then the commit, each appended and synced before the step it
/// announces. A last line without its line break was cut short by a crash and does not
/// count (its step had not begun).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Journal {
    /// What this writer wrote in `index.lock` while holding it empty-handed.
    token: String,
    /// The branch's ref (`refs/heads/main`), once read.
    branch: Option<String>,
    head: Option<ObjectId>,
    files: Vec<JournalFile>,
    commit: Option<ObjectId>,
}

impl Journal {
    fn parse(text: &str) -> Option<Journal> {
        // A line cut short by a crash: what it announced had not begun.
        let text = match text.rfind('\n') {
            Some(end) => &text[..=end],
            None => "",
        };
        let mut lines = text.lines();
        if lines.next()? != JOURNAL_MAGIC {
            return None;
        }
        let mut j = Journal::default();
        for line in lines {
            let (key, rest) = line.split_once(' ')?;
            match key {
                "token" => j.token = rest.to_string(),
                "branch" => j.branch = Some(rest.to_string()),
                "head" => j.head = Some(rest.parse().ok()?),
                "commit" => j.commit = Some(rest.parse().ok()?),
                "file" => {
                    let (hash, rest) = rest.split_once(' ')?;
                    let (existed, path) = rest.split_once(' ')?;
                    j.files.push(JournalFile {
                        path: path.to_string(),
                        written: hash.parse().ok()?,
                        existed: existed == "1",
                    });
                }
                _ => return None,
            }
        }
        Some(j)
    }
}

const JOURNAL_MAGIC: &str = "sloop journal 1";

/// Writes a new journal at `path` (a temporary file synced, then renamed over it): the token,
/// then one line per file, written as `each` gives them (a commit of 100,000 files holds no
/// list of them: the journal on disk is the list).
fn create_journal(
    path: &Path,
    token: &str,
    each: impl FnOnce(&mut dyn FnMut(&JournalFile) -> io::Result<()>) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let written = (|| {
        let mut w = io::BufWriter::new(File::create(&tmp)?);
        writeln!(w, "{JOURNAL_MAGIC}")?;
        writeln!(w, "token {token}")?;
        each(&mut |f: &JournalFile| {
            writeln!(w, "file {} {} {}", f.written, u8::from(f.existed), f.path)
        })?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    })()
    .and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Appends lines to a journal and syncs them.
fn append_journal(path: &Path, lines: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().append(true).open(path)?;
    f.write_all(lines.as_bytes())?;
    f.sync_data()
}

fn hash_bytes(bytes: &[u8]) -> ObjectId {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .map(ObjectId::from_oid)
        .unwrap_or(ObjectId::NULL)
}

impl Repo {
    /// Checks that sloop may commit on the current branch, and returns the branch's ref name
    /// and the commit it points to.
    pub fn ready_to_commit(&self) -> Result<(String, ObjectId), GitError> {
        if let Some(busy) = self.busy() {
            return Err(GitError::new(
                "cannot commit",
                format!("{} is in progress", busy.describe()),
            )
            .with_hint("finish it (or abort it) first, then run sloop again"));
        }
        let head = match self.repo.head() {
            Ok(h) => h,
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch => {
                return Err(
                    GitError::new("cannot commit", "the branch has no commit yet").with_hint(
                        "commit the CRM once (`git add -A && git commit`), then run sloop again",
                    ),
                );
            }
            Err(e) => return Err(GitError::new("cannot read HEAD", e.message())),
        };
        if !head.is_branch() {
            return Err(GitError::new("cannot commit", "HEAD is detached")
                .with_hint("check out a branch first (`git switch main`)"));
        }
        let name = head
            .name()
            .map_err(|e| GitError::new("cannot read HEAD", e.message()))?
            .to_string();
        let id = head
            .peel_to_commit()
            .map_err(|e| GitError::new("cannot read HEAD", e.message()))?
            .id();
        if self.config_bool("commit.gpgsign") {
            return Err(GitError::new(
                "cannot commit",
                "commit.gpgsign is set and sloop does not sign commits",
            )
            .with_hint("run with --no-commit, then `git commit -S -am \"sloop tick\"` yourself"));
        }
        Ok((name, ObjectId::from_oid(id)))
    }

    fn identity(&self, given: &Option<Identity>) -> Result<git2::Signature<'static>, GitError> {
        match given {
            Some(i) => git2::Signature::now(&i.name, &i.email)
                .map_err(|e| GitError::new("bad identity", e.message())),
            None => self.repo.signature().map_err(|e| {
                GitError::new("cannot commit", e.message()).with_hint(
                    "set your identity: `git config user.name \"…\"` and `git config user.email …`",
                )
            }),
        }
    }

    /// Writes the files into the work tree and commits them on the current branch, on top of
    /// HEAD, in the order the module documentation gives. The caller holds a `WriteLock`.
    pub fn commit_files(&self, req: &CommitRequest) -> Result<ObjectId, CommitError> {
        let make = |head: ObjectId, recorded: &Recorded| self.write_commit(req, head, recorded);
        self.publish(
            req.files,
            &[],
            req.base,
            req.message,
            Make::FromBlobs(&make),
        )
    }

    /// Writes `commits` on top of HEAD as they are, dates and authors kept (one `git
    /// fast-import` run onto a private ref, while the files are written: its pack then holds
    /// their blobs before git records them, and recording 285,000 new files writes no loose
    /// object), then publishes the last one as `commit_files` does: the files it leaves
    /// changed are written, recorded in the index the way `git add` would, and the branch
    /// moves last. `base` as in `CommitRequest`. The caller holds a `WriteLock`.
    pub fn commit_history(
        &self,
        commits: &[HistoryCommit],
        base: Option<ObjectId>,
    ) -> Result<Option<ObjectId>, CommitError> {
        let mut last: std::collections::BTreeMap<&str, &[u8]> = Default::default();
        for c in commits {
            for (p, b) in &c.files {
                last.insert(p.as_str(), b.as_slice());
            }
        }
        if commits.is_empty() {
            return Ok(None);
        }
        let files: Vec<(&str, &[u8])> = last.into_iter().collect();
        let private = format!("{PRIVATE_REFS}{}", std::process::id());
        let message = commits.last().map(|c| c.message.as_str()).unwrap_or("");
        let ahead = Ahead {
            commits,
            private: &private,
        };
        let published = self.publish(&files, &[], base, message, Make::Ahead(ahead));
        if let Ok(mut r) = self.repo.find_reference(&private) {
            let _ = r.delete();
        }
        published.map(Some)
    }

    /// Replays `commits` (each: CRM files on top of the previous one) onto `onto` (a commit
    /// fetched from the remote), then moves the branch from `base` (what HEAD was when the
    /// caller computed the commits) to the last one through the commit path: the files that
    /// differ between `base` and the result are written and recorded as `commit_files` does
    /// (each must be clean), the branch moves last by compare-and-swap. Refused when the
    /// remote's commits delete a file, or change one outside the CRM folder: the work tree
    /// would not match the branch. The caller holds a `WriteLock`.
    pub fn rebase_onto(
        &self,
        onto: ObjectId,
        commits: &[Replay],
        base: ObjectId,
    ) -> Result<ObjectId, CommitError> {
        let mut tip = onto;
        for c in commits {
            let parent = self.commit(tip)?;
            let tree = parent
                .tree()
                .map_err(|e| GitError::new("cannot read a tree", e.message()))?;
            let mut blobs = Vec::with_capacity(c.files.len());
            for (_, bytes) in &c.files {
                blobs.push(
                    self.repo
                        .blob(bytes)
                        .map_err(|e| GitError::new("cannot write a blob", e.message()))?,
                );
            }
            let order = sorted_order(&c.files);
            let new_tree = tree_with(&self.repo, &tree, &self.prefix, &c.files, &order, &|i| {
                blobs[i as usize]
            })?;
            let new_tree = self
                .repo
                .find_tree(new_tree)
                .map_err(|e| GitError::new("cannot read the new tree", e.message()))?;
            let time = git2::Time::new(c.when.timestamp(), c.when.offset().local_minus_utc() / 60);
            let sig = |i: &Identity| {
                git2::Signature::new(&i.name, &i.email, &time)
                    .map_err(|e| GitError::new("bad identity", e.message()))
            };
            let id = self
                .repo
                .commit(
                    None,
                    &sig(&c.author)?,
                    &sig(&c.committer)?,
                    &c.message,
                    &new_tree,
                    &[&parent],
                )
                .map_err(|e| GitError::new("cannot write the commit", e.message()))?;
            tip = ObjectId::from_oid(id);
        }
        let tree_of = |id: ObjectId| -> Result<git2::Tree<'_>, GitError> {
            self.commit(id)?
                .tree()
                .map_err(|e| GitError::new("cannot read a tree", e.message()))
        };
        let (base_tree, tip_tree) = (tree_of(base)?, tree_of(tip)?);
        let diff = self
            .repo
            .diff_tree_to_tree(Some(&base_tree), Some(&tip_tree), None)
            .map_err(|e| GitError::new("cannot compare trees", e.message()))?;
        let refuse = |path: &str, why: &str| -> CommitError {
            GitError::corrupt(
                "cannot rebase onto the remote",
                format!("its commits {why} {path}"),
            )
            .with_hint("pull and merge by hand on the server's clone, then restart `sloop serve`")
            .into()
        };
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut removed: Vec<String> = Vec::new();
        let theirs_tree = tree_of(onto)?;
        for delta in diff.deltas() {
            let path = delta
                .new_file()
                .path()
                .or(delta.old_file().path())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            // A file of ours that the replay no longer makes (an event rejected on the way),
            // not in the remote's tree: it goes.
            if delta.status() == git2::Delta::Deleted
                && path.starts_with(&self.prefix)
                && theirs_tree.get_path(Path::new(&path)).is_err()
                && self.added_since(onto, base, &path)
            {
                removed.push(path);
                continue;
            }
            let plain = matches!(
                delta.new_file().mode(),
                git2::FileMode::Blob | git2::FileMode::BlobExecutable
            );
            if !matches!(delta.status(), git2::Delta::Added | git2::Delta::Modified) || !plain {
                return Err(refuse(&path, "delete, rename or link"));
            }
            let Some(rel) = path.strip_prefix(&self.prefix) else {
                return Err(refuse(&path, "change a file outside the CRM folder:"));
            };
            let blob = self
                .repo
                .find_blob(delta.new_file().id())
                .map_err(|e| GitError::new("cannot read a blob", e.message()))?;
            files.push((rel.to_string(), blob.content().to_vec()));
        }
        for path in &removed {
            let on_disk = fs::read(self.workdir.join(path))
                .ok()
                .map(|b| hash_bytes(&b));
            let committed = base_tree.get_path(Path::new(path)).map(|e| e.id()).ok();
            if on_disk.map(|o| o.to_oid()) != committed {
                return Err(CommitError::Dirty(vec![path.clone()]));
            }
        }
        let make = |head: ObjectId, recorded: &Recorded| {
            if head != base {
                return Err(GitError::corrupt(
                    "cannot rebase onto the remote",
                    "the branch moved meanwhile",
                ));
            }
            // The files as git hashed them from the work tree are the result's.
            let mut in_tip = TreeLookup::new(&self.repo, tip_tree.clone(), &self.prefix);
            for &i in recorded.order {
                let (i, path) = (i as usize, recorded.files.path(i as usize));
                if in_tip.blob(path)?.map(|(id, _)| id) != Some(recorded.blobs[i]) {
                    return Err(GitError::corrupt(
                        "cannot rebase onto the remote",
                        "a git filter (.gitattributes) changes the files, so the branch would not match the work tree",
                    ));
                }
            }
            Ok(tip)
        };
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(p, b)| (p.as_str(), b.as_slice()))
            .collect();
        self.publish(
            &refs,
            &removed,
            Some(base),
            "rebase onto the remote",
            Make::FromBlobs(&make),
        )
    }

    /// Whether `path` (a repository path) is absent from the merge base of `theirs` and
    /// `ours`: a file the branch's own commits added.
    fn added_since(&self, theirs: ObjectId, ours: ObjectId, path: &str) -> bool {
        let Ok(base) = self.repo.merge_base(theirs.to_oid(), ours.to_oid()) else {
            return false;
        };
        self.repo
            .find_commit(base)
            .and_then(|c| c.tree())
            .map(|t| t.get_path(Path::new(path)).is_err())
            .unwrap_or(false)
    }

    /// The commit path proper (see the module documentation): `files` (CRM-relative) are
    /// written and recorded, `make` builds the commit from HEAD and the files' blobs, and the
    /// branch moves from HEAD to it last. `removed` (repository paths, files the server
    /// itself added in commits a rebase drops) leave the new index, and the work tree once
    /// the branch has moved: a crash in between leaves such a file untracked, nothing else.
    ///
    /// What it holds per file, whatever their number: its index in the files' order by path
    /// (4 bytes), its blob (20), whether it existed and whether it was written (2); the
    /// journal on disk is the list of files, and git is fed their paths from the `FileSet`.
    fn publish(
        &self,
        files: &dyn FileSet,
        removed: &[String],
        base: Option<ObjectId>,
        message: &str,
        make: Make,
    ) -> Result<ObjectId, CommitError> {
        let count = files.count();
        if u32::try_from(count).is_err() {
            return Err(GitError::corrupt("cannot commit", "too many files in one commit").into());
        }
        if let Some(bad) = (0..count)
            .map(|i| files.path(i))
            .find(|p| p.contains(['\n', '\r']))
        {
            return Err(GitError::corrupt(
                "cannot commit",
                format!(
                    "the path {:?} has a line break",
                    format!("{}{bad}", self.prefix)
                ),
            )
            .into());
        }
        let order = sorted_order(files);
        // The journal comes first, so that whatever this process leaves (even a bare
        // `index.lock`) a recovery can recognise and take back.
        let dir = sloop_dir(self.repo.path());
        fs::create_dir_all(&dir)
            .map_err(|e| GitError::new(format!("cannot create {}", dir.display()), e))?;
        let journal_path = dir.join(JOURNAL);
        let token = format!(
            "sloop {} {}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        let mut existed: Vec<bool> = Vec::with_capacity(count);
        let mut unreadable = None;
        let created = create_journal(&journal_path, &token, |line| {
            for i in 0..count {
                let bytes = files.bytes(i).map_err(|e| {
                    unreadable = Some(GitError::new(
                        format!("cannot read the planned {}", files.path(i)),
                        e,
                    ));
                    io::Error::other("a planned file is unreadable")
                })?;
                let path = format!("{}{}", self.prefix, files.path(i));
                let was = fs::symlink_metadata(self.workdir.join(&path)).is_ok();
                existed.push(was);
                line(&JournalFile {
                    path,
                    written: hash_bytes(&bytes),
                    existed: was,
                })?;
            }
            Ok(())
        });
        if let Err(e) = created {
            return Err(unreadable
                .unwrap_or_else(|| GitError::new("cannot write sloop's journal", e))
                .into());
        }
        let forget = || {
            let _ = fs::remove_file(&journal_path);
        };
        let lock = match IndexLock::acquire(self.repo.path(), &token) {
            Ok(l) => l,
            Err(e) => {
                forget();
                return Err(e.into());
            }
        };
        crash_point("locked");
        let checked = (|| -> Result<(String, ObjectId), CommitError> {
            let (branch, head) = self.ready_to_commit()?;
            if let Some(base) = base.filter(|b| *b != head) {
                self.unchanged_since(base, head, files, &order)?;
            }
            self.check_clean(head, files, &order)?;
            Ok((branch, head))
        })();
        let (branch, head) = match checked {
            Ok(x) => x,
            Err(e) => {
                drop(lock);
                forget();
                return Err(e);
            }
        };
        if let Err(e) = append_journal(&journal_path, &format!("branch {branch}\nhead {head}\n")) {
            drop(lock);
            forget();
            return Err(GitError::new("cannot write sloop's journal", e).into());
        }
        crash_point("journal");
        // What makes the commit once git recorded the files: built from their blobs, or the
        // history written now, checked against the index git prepared.
        let next = dir.join(NEXT_INDEX);
        let hash = matches!(make, Make::FromBlobs(_));
        // A history is started now and fed to git on another thread while this one writes
        // the files (git's fast-import and the kernel's file creation then share the cores).
        let (make, history) = match make {
            Make::FromBlobs(make) => (Some(make), None),
            Make::Ahead(ahead) => {
                match super::HistoryWriter::onto(self, ahead.private.to_string(), head) {
                    Ok(w) => (None, Some((w, ahead.commits))),
                    Err(e) => {
                        drop(lock);
                        forget();
                        return Err(e.into());
                    }
                }
            }
        };
        // Which files were written, and what those that existed held before: what a
        // failure puts back.
        let written: Vec<AtomicBool> = (0..count).map(|_| AtomicBool::new(false)).collect();
        let stop = AtomicBool::new(false);
        let prefix: &str = &self.prefix;
        let (history, (previous, wrote)) = std::thread::scope(|scope| {
            let feeding = history.map(|(writer, commits)| {
                let stop = &stop;
                scope.spawn(move || feed_history(writer, prefix, commits, stop))
            });
            let tree = write_work_tree(&self.workdir, prefix, files, &order, &existed, &written);
            if tree.1.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            let history = feeding.map(|f| {
                f.join().unwrap_or_else(|_| {
                    Err(GitError::corrupt(
                        "cannot import",
                        "the thread writing the history stopped",
                    ))
                })
            });
            (history, tree)
        });
        let undo = || {
            put_back(
                &self.workdir,
                &self.prefix,
                files,
                (&existed, &written),
                &previous,
            );
            let _ = fs::remove_file(dir.join(NEXT_INDEX));
            let _ = fs::remove_file(&journal_path);
        };
        if let Err(e) = wrote {
            undo();
            return Err(e.into());
        }
        let finish: FinishCommit = match make {
            Some(make) => Box::new(move |recorded| make(head, recorded)),
            // The history's last commit, once git wrote its pack and its ref.
            None => match history.map(|h| h.and_then(|w| w.finish_ref(self))) {
                Some(Ok(Some(c))) => {
                    let next = &next;
                    Box::new(move |recorded| self.check_ahead(c, recorded, next).map(|()| c))
                }
                Some(Err(e)) => {
                    undo();
                    return Err(e.into());
                }
                Some(Ok(None)) | None => {
                    undo();
                    return Err(GitError::corrupt("cannot import", "no commit was written").into());
                }
            },
        };
        crash_point("files");

        // The index, prepared aside by git itself; the blobs as git add would hash them.
        let blobs = match self.record(&next, files, &order, removed, hash) {
            Ok(b) => b,
            Err(e) => {
                undo();
                return Err(e.into());
            }
        };
        crash_point("index");

        let recorded = Recorded {
            files,
            order: &order,
            blobs: &blobs,
        };
        let commit = match finish(&recorded) {
            Ok(c) => c,
            Err(e) => {
                undo();
                return Err(e.into());
            }
        };
        if let Err(e) = append_journal(&journal_path, &format!("commit {commit}\n")) {
            undo();
            return Err(GitError::new("cannot write sloop's journal", e).into());
        }
        if let Err(e) = lock.replace_with(&next) {
            undo();
            return Err(GitError::new("cannot put the new index in place", e).into());
        }
        crash_point("commit");

        let log = format!("commit: {}", message.lines().next().unwrap_or(""));
        if let Err(e) =
            self.repo
                .reference_matching(&branch, commit.to_oid(), true, head.to_oid(), &log)
        {
            undo();
            return Err(GitError::new("cannot move the branch", e.message())
                .with_hint("the branch moved while sloop was working: run it again")
                .into());
        }
        crash_point("branch");
        let index = self.repo.path().join("index");
        if let Err(e) = lock.commit(&index) {
            return Err(GitError::new(
                format!(
                    "committed {}, but cannot put the new index in place",
                    commit.short()
                ),
                e,
            )
            .with_hint("run `sloop doctor` to finish it")
            .into());
        }
        let _ = fs::remove_file(&journal_path);
        for path in removed {
            let _ = fs::remove_file(self.workdir.join(path));
        }
        crash_point("done");
        Ok(commit)
    }

    /// Checks a commit written ahead of the files (a history): in the index git prepared
    /// (`next`), each file's blob, as git hashed it from the work tree, must be the one the
    /// commit's tree has at its path (a `.gitattributes` filter would make them differ).
    /// `git diff-index --cached` compares the two in one pass over the CRM's folder; what
    /// else it lists is the user's own staged work, which stays out of the commit.
    fn check_ahead(
        &self,
        commit: ObjectId,
        recorded: &Recorded,
        next: &Path,
    ) -> Result<(), GitError> {
        let mut cmd = self.command();
        cmd.env("GIT_INDEX_FILE", next);
        let tip = commit.to_string();
        let pathspec = self.pathspec();
        let args = [
            "diff-index",
            "--cached",
            "--no-renames",
            "--name-only",
            "-z",
            &tip,
            "--",
            &pathspec,
        ];
        let out = output(cmd, &args)?;
        for path in out.split(|b| *b == 0).filter(|p| !p.is_empty()) {
            let path = String::from_utf8_lossy(path);
            let Some(rel) = path.strip_prefix(&self.prefix) else {
                continue;
            };
            let ours = recorded
                .order
                .binary_search_by(|&i| recorded.files.path(i as usize).cmp(rel))
                .is_ok();
            if ours {
                return Err(GitError::corrupt(
                    "cannot import",
                    "a git filter (.gitattributes) changes the imported files, so the history would not match the work tree",
                ));
            }
        }
        Ok(())
    }

    /// Refuses when the branch moved from `base` to `head` changing one of the files.
    fn unchanged_since(
        &self,
        base: ObjectId,
        head: ObjectId,
        files: &dyn FileSet,
        order: &[u32],
    ) -> Result<(), CommitError> {
        let tree = |id: ObjectId| {
            self.commit(id)?
                .tree()
                .map_err(|e| GitError::new("cannot read a commit's tree", e.message()))
        };
        let mut before = TreeLookup::new(&self.repo, tree(base)?, &self.prefix);
        let mut after = TreeLookup::new(&self.repo, tree(head)?, &self.prefix);
        for &i in order {
            let path = files.path(i as usize);
            if before.blob(path)?.map(|(id, _)| id) != after.blob(path)?.map(|(id, _)| id) {
                return Err(GitError::corrupt(
                    "cannot commit",
                    format!("{path} was changed by a commit made while sloop was working"),
                )
                .with_hint("run the command again")
                .into());
            }
        }
        Ok(())
    }

    /// Checks that each file sloop is about to write is the same in HEAD, in the index and
    /// on disk (or absent from all three; an untracked file identical to the new contents is
    /// accepted, as the leftover of an interrupted run). Under the index lock, so nothing
    /// changes meanwhile.
    fn check_clean(
        &self,
        head: ObjectId,
        files: &dyn FileSet,
        order: &[u32],
    ) -> Result<(), CommitError> {
        // What the index changes against HEAD, for these paths: named on the command line when
        // they are few (git then compares only them), else the whole CRM in one pass.
        let staged: std::collections::HashSet<String> = if files.count() <= 500 {
            let base = head.to_string();
            let mut args = vec!["diff-index", "--cached", "--name-only", "-z", &base, "--"];
            let paths: Vec<String> = (0..files.count())
                .map(|i| format!("{}{}", self.prefix, files.path(i)))
                .collect();
            args.extend(paths.iter().map(String::as_str));
            self.git_literal(&args)?
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .filter_map(|p| self.strip_prefix(&String::from_utf8_lossy(p)))
                .collect()
        } else {
            self.staged_changes_at(head)?
                .into_iter()
                .map(|c| c.path)
                .collect()
        };
        let tree = self
            .commit(head)?
            .tree()
            .map_err(|e| GitError::new("cannot read HEAD's tree", e.message()))?;
        let mut in_head = TreeLookup::new(&self.repo, tree, &self.prefix);
        let mut dirty = Vec::new();
        // Tracked files: what git itself says of the work tree against the index, 500 at a
        // time.
        let mut tracked: Vec<String> = Vec::new();
        let diff_files = |tracked: &mut Vec<String>, dirty: &mut Vec<String>| {
            if tracked.is_empty() {
                return Ok::<(), GitError>(());
            }
            let mut args = vec!["diff-files", "--name-only", "-z", "--"];
            args.extend(tracked.iter().map(String::as_str));
            let out = self.git_literal(&args)?;
            for p in out.split(|b| *b == 0).filter(|p| !p.is_empty()) {
                if let Some(rel) = self.strip_prefix(&String::from_utf8_lossy(p)) {
                    dirty.push(rel);
                }
            }
            tracked.clear();
            Ok(())
        };
        for &i in order {
            let (i, path) = (i as usize, files.path(i as usize));
            if staged.contains(path) {
                dirty.push(path.to_string());
            } else if in_head.blob(path)?.is_some() {
                tracked.push(format!("{}{path}", self.prefix));
                if tracked.len() >= 500 {
                    diff_files(&mut tracked, &mut dirty)?;
                }
            } else {
                let disk = self.workdir.join(format!("{}{path}", self.prefix));
                if fs::symlink_metadata(&disk).is_ok() {
                    let planned = files
                        .bytes(i)
                        .map_err(|e| GitError::new(format!("cannot read the planned {path}"), e))?;
                    if fs::read(&disk).ok().as_deref() != Some(&planned[..]) {
                        dirty.push(path.to_string());
                    }
                }
            }
        }
        diff_files(&mut tracked, &mut dirty)?;
        if dirty.is_empty() {
            return Ok(());
        }
        dirty.sort();
        dirty.dedup();
        Err(CommitError::Dirty(dirty))
    }

    /// Runs git with literal pathspecs (no glob in a path is expanded).
    fn git_literal(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let out = self
            .command()
            .env("GIT_LITERAL_PATHSPECS", "1")
            .args(args)
            .output()
            .map_err(|e| GitError::new("cannot run git", e))?;
        if !out.status.success() {
            return Err(GitError::new(
                format!("git {} failed", args.first().copied().unwrap_or("")),
                String::from_utf8_lossy(&out.stderr).trim(),
            ));
        }
        Ok(out.stdout)
    }

    /// Records the files written as `git add` would: `git update-index` on a copy of the
    /// index at `next` (their blobs hashed through git's filters, their stat data), and
    /// `git hash-object -w` for their blob ids, in the files' order. The two git processes
    /// read the same files and need nothing of each other, so they run side by side (a
    /// server's commit of 1,000 files on a 341,000-file index is 0.2 s shorter), both fed
    /// their paths from here, a buffer at a time; `removed` (repository paths) then leave
    /// the index.
    fn record(
        &self,
        next: &Path,
        files: &dyn FileSet,
        order: &[u32],
        removed: &[String],
        hash: bool,
    ) -> Result<Vec<ObjectId>, GitError> {
        let index = self.repo.path().join("index");
        // git update-index writes its result to a new file renamed over `next`, never into
        // the file it read: a hard link to the index is as good as a copy of it, for free.
        let _ = fs::remove_file(next);
        let linked = fs::hard_link(&index, next).or_else(|_| fs::copy(&index, next).map(|_| ()));
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(GitError::new("cannot copy the index", e)),
        }
        let mut indexing = self.command();
        indexing.env("GIT_INDEX_FILE", next);
        let index_only = |index: &mut dyn Write| {
            for &i in order {
                index.write_all(self.prefix.as_bytes())?;
                index.write_all(files.path(i as usize).as_bytes())?;
                index.write_all(b"\0")?;
            }
            Ok(())
        };
        let recorded = if !hash {
            feed_one(
                indexing,
                &["update-index", "--add", "-z", "--stdin"],
                index_only,
            )
            .map(|()| Vec::new())
        } else {
            feed_two(
                (indexing, &["update-index", "--add", "-z", "--stdin"]),
                (self.command(), &["hash-object", "-w", "--stdin-paths"]),
                |index, hash| {
                    let prefix = self.prefix.as_bytes();
                    // Each in its own order: git's for the index (entries go in at the end),
                    // the files' for the blobs.
                    for (k, &i) in order.iter().enumerate() {
                        index.write_all(prefix)?;
                        index.write_all(files.path(i as usize).as_bytes())?;
                        index.write_all(b"\0")?;
                        hash.write_all(prefix)?;
                        hash.write_all(files.path(k).as_bytes())?;
                        hash.write_all(b"\n")?;
                    }
                    Ok(())
                },
                files.count(),
            )
        }
        .and_then(|blobs| {
            if !removed.is_empty() {
                let mut cmd = self.command();
                cmd.env("GIT_INDEX_FILE", next);
                feed_one(
                    cmd,
                    &["update-index", "--force-remove", "-z", "--stdin"],
                    |w| {
                        for p in removed {
                            w.write_all(p.as_bytes())?;
                            w.write_all(b"\0")?;
                        }
                        Ok(())
                    },
                )?;
            }
            Ok(blobs)
        });
        if recorded.is_err() {
            let _ = fs::remove_file(next);
        }
        recorded
    }

    /// The tree (HEAD's, with only these paths replaced) and the commit, from objects.
    fn write_commit(
        &self,
        req: &CommitRequest,
        head: ObjectId,
        recorded: &Recorded,
    ) -> Result<ObjectId, GitError> {
        let parent = self.commit(head)?;
        let base = parent
            .tree()
            .map_err(|e| GitError::new("cannot read HEAD's tree", e.message()))?;
        let tree = tree_with(
            &self.repo,
            &base,
            &self.prefix,
            recorded.files,
            recorded.order,
            &|i| recorded.blobs[i as usize].to_oid(),
        )?;
        let tree = self
            .repo
            .find_tree(tree)
            .map_err(|e| GitError::new("cannot read the new tree", e.message()))?;
        let offset = git2::Time::new(
            req.when.timestamp(),
            req.when.offset().local_minus_utc() / 60,
        );
        let with_time =
            |s: git2::Signature<'static>| -> Result<git2::Signature<'static>, GitError> {
                let name = s.name().unwrap_or("sloop").to_string();
                let email = s.email().unwrap_or("sloop@localhost").to_string();
                git2::Signature::new(&name, &email, &offset)
                    .map_err(|e| GitError::new("bad identity", e.message()))
            };
        let author = with_time(self.identity(&req.author)?)?;
        let committer = with_time(self.identity(&req.committer.clone().or(req.author.clone()))?)?;
        let commit = self
            .repo
            .commit(None, &author, &committer, req.message, &tree, &[&parent])
            .map_err(|e| GitError::new("cannot write the commit", e.message()))?;
        Ok(ObjectId::from_oid(commit))
    }

    /// Finishes or rolls back what a killed writer left (its journal), touching only the
    /// files that still hold what it wrote; removes its lock and index files. The caller
    /// holds the `WriteLock`, so the writer is gone. `None`: there was nothing to recover.
    pub fn recover(&self) -> Result<Option<Recovery>, GitError> {
        let dir = sloop_dir(self.repo.path());
        let journal_path = dir.join(JOURNAL);
        let text = match fs::read_to_string(&journal_path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(GitError::new("cannot read sloop's journal", e)),
        };
        let journal = Journal::parse(&text);
        let branch = self.head()?;
        let lock = self.repo.path().join("index.lock");
        let next = dir.join(NEXT_INDEX);
        let mut files = Vec::new();
        let mut left = Vec::new();
        // The lock is this writer's while it still holds its marker (it took the lock and
        // died before preparing the index).
        let marked = |j: &Journal| {
            fs::read(&lock)
                .ok()
                .is_some_and(|b| b == j.token.as_bytes())
        };
        let outcome = match journal {
            Some(j) if j.commit.is_some() && branch == j.commit => {
                // The branch moved: the prepared index is in place of the lock, or already
                // renamed over the index.
                if marked(&j) {
                    let _ = fs::remove_file(&lock);
                } else if lock.exists() {
                    fs::rename(&lock, self.repo.path().join("index"))
                        .map_err(|e| GitError::new("cannot put the new index in place", e))?;
                }
                files = j.files.iter().map(|f| f.path.clone()).collect();
                Recovered::Completed(j.commit.unwrap_or(ObjectId::NULL))
            }
            Some(j) if j.head.is_none() => {
                // It died before reading HEAD: nothing was written.
                if marked(&j) {
                    let _ = fs::remove_file(&lock);
                }
                Recovered::RolledBack
            }
            Some(j) if branch == j.head => {
                for f in &j.files {
                    let disk = self.workdir.join(&f.path);
                    let now = fs::read(&disk).ok();
                    if now.as_deref().map(hash_bytes) != Some(f.written) {
                        // Never written, or changed since: leave it.
                        if now.is_some() && now.as_deref().map(hash_bytes) != Some(f.written) {
                            let rel = f.path.strip_prefix(&self.prefix).unwrap_or(&f.path);
                            let in_head = match j.head {
                                Some(h) => self.blob_at(h, rel)?,
                                None => None,
                            };
                            let same_as_head = match in_head {
                                Some(b) => now.as_deref().map(hash_bytes) == Some(b),
                                None => false,
                            };
                            if !same_as_head {
                                left.push(f.path.clone());
                            }
                        }
                        continue;
                    }
                    let rel = f.path.strip_prefix(&self.prefix).unwrap_or(&f.path);
                    let old = match j.head {
                        Some(h) => self.blob_at(h, rel)?,
                        None => None,
                    };
                    match old {
                        Some(b) => write_file(&disk, &self.blob(b)?)
                            .map_err(|e| GitError::new(format!("cannot restore {}", f.path), e))?,
                        None if f.existed => {}
                        None => fs::remove_file(&disk)
                            .map_err(|e| GitError::new(format!("cannot remove {}", f.path), e))?,
                    }
                    files.push(f.path.clone());
                }
                // The lock is ours if marked, or if it holds the index prepared for the
                // commit that never went on the branch.
                if marked(&j) || (j.commit.is_some() && lock.exists()) {
                    let _ = fs::remove_file(&lock);
                }
                // Killed while moving the branch: the ref's own lock, made after the journal
                // named the commit, is the writer's (while it held index.lock).
                if let (Some(_), Some(branch)) = (j.commit, &j.branch) {
                    let ref_lock = self.repo.path().join(format!("{branch}.lock"));
                    let common = self.repo.commondir().join(format!("{branch}.lock"));
                    let since = fs::metadata(&journal_path).and_then(|m| m.modified()).ok();
                    for l in [ref_lock, common] {
                        let made = fs::metadata(&l).and_then(|m| m.modified()).ok();
                        if let (Some(made), Some(since)) = (made, since) {
                            if made >= since {
                                let _ = fs::remove_file(&l);
                            }
                        }
                    }
                }
                Recovered::RolledBack
            }
            Some(j) => {
                // The branch moved elsewhere meanwhile: only sloop's own lock is taken back.
                if marked(&j) {
                    let _ = fs::remove_file(&lock);
                }
                Recovered::Abandoned
            }
            None => Recovered::Abandoned,
        };
        let _ = fs::remove_file(&next);
        // What a killed writer's own git processes may have left beside it.
        let _ = fs::remove_file(dir.join(format!("{NEXT_INDEX}.lock")));
        if let Ok(entries) = fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with("lock-") {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        // The private ref of a history a killed import was writing (its objects are
        // garbage once the ref is gone). Only a writer holding the write lock makes one, and
        // this one does: every such ref is a leftover.
        if let Ok(refs) = self.repo.references_glob(&format!("{PRIVATE_REFS}*")) {
            let names: Vec<String> = refs
                .flatten()
                .filter_map(|r| r.name().ok().map(str::to_string))
                .collect();
            for name in names {
                if let Ok(mut r) = self.repo.find_reference(&name) {
                    let _ = r.delete();
                }
            }
        }
        fs::remove_file(&journal_path)
            .map_err(|e| GitError::new("cannot remove sloop's journal", e))?;
        Ok(Some(Recovery {
            outcome,
            files,
            left,
        }))
    }
}

/// The files' indices sorted by path (CRM-relative paths share the repository's prefix, so
/// this is git's order of their index entries, and of their tree entries folder by folder);
/// a path planned twice keeps its two indices in their order. The caller checked that the
/// count fits in 32 bits.
fn sorted_order(files: &dyn FileSet) -> Vec<u32> {
    let count = u32::try_from(files.count()).unwrap_or(u32::MAX);
    let mut order: Vec<u32> = (0..count).collect();
    order.sort_unstable_by(|a, b| {
        files
            .path(*a as usize)
            .cmp(files.path(*b as usize))
            .then(a.cmp(b))
    });
    order
}

/// Whether the file at `k` in `order` is planned again right after (only the last version
/// of a path is written and committed).
fn planned_again(files: &dyn FileSet, order: &[u32], k: usize) -> bool {
    order
        .get(k + 1)
        .is_some_and(|&j| files.path(j as usize) == files.path(order[k] as usize))
}

/// Puts back the files written (`written`): what they held before (`previous`, by index,
/// sorted), or nothing (removed) for those that did not exist.
fn put_back(
    workdir: &Path,
    prefix: &str,
    files: &dyn FileSet,
    (existed, written): (&[bool], &[AtomicBool]),
    previous: &[(u32, Vec<u8>)],
) {
    for (i, w) in written.iter().enumerate() {
        if !w.load(Ordering::Relaxed) {
            continue;
        }
        let path = workdir.join(format!("{prefix}{}", files.path(i)));
        match previous.binary_search_by_key(&i, |(j, _)| *j as usize) {
            Ok(k) => {
                let _ = write_file(&path, &previous[k].1);
            }
            Err(_) if !existed.get(i).copied().unwrap_or(true) => {
                let _ = fs::remove_file(&path);
            }
            Err(_) => {}
        }
    }
}

/// Writes one thread's share of the files into the work tree, each through a hidden
/// temporary file renamed over it, keeping what the files that existed held before.
struct TreeWriter<'a> {
    workdir: &'a Path,
    prefix: &'a str,
    /// The last folder made sure of: files come by path, so most share it.
    folder: Option<PathBuf>,
    previous: Vec<(u32, Vec<u8>)>,
}

impl TreeWriter<'_> {
    fn write(&mut self, i: u32, path: &str, existed: bool, bytes: &[u8]) -> Result<(), GitError> {
        let disk = self.workdir.join(format!("{}{path}", self.prefix));
        let cannot = |e| GitError::new(format!("cannot write {}", disk.display()), e);
        if existed {
            if let Ok(before) = fs::read(&disk) {
                self.previous.push((i, before));
            }
        }
        if let Some(parent) = disk.parent() {
            if self.folder.as_deref() != Some(parent) {
                fs::create_dir_all(parent).map_err(cannot)?;
                self.folder = Some(parent.to_path_buf());
            }
        }
        let tmp = temp_path(&disk);
        fs::write(&tmp, bytes)
            .and_then(|()| fs::rename(&tmp, &disk))
            .map_err(|e| {
                let _ = fs::remove_file(&tmp);
                cannot(e)
            })
    }
}

/// What files that existed held before a write, by their index in the `FileSet`.
type Previous = Vec<(u32, Vec<u8>)>;

/// From this many files on, the work tree is written on two threads.
const PARALLEL_FILES: usize = 256;

/// Writes the files into the work tree: the first half of `order` (by path: mostly other
/// folders than the second's, whose locks the kernel takes per folder) on this thread, the
/// second on another, fed their texts from here (a `FileSet` is read by one thread). Marks
/// each file written in `written`; returns what the files that existed held before (by
/// index, sorted) and the first failure.
fn write_work_tree(
    workdir: &Path,
    prefix: &str,
    files: &dyn FileSet,
    order: &[u32],
    existed: &[bool],
    written: &[AtomicBool],
) -> (Previous, Result<(), GitError>) {
    let writer = || TreeWriter {
        workdir,
        prefix,
        folder: None,
        previous: Vec::new(),
    };
    let read = |i: u32| {
        files.bytes(i as usize).map_err(|e| {
            GitError::new(
                format!("cannot read the planned {}", files.path(i as usize)),
                e,
            )
        })
    };
    let mut mine = writer();
    let mut split = if order.len() >= PARALLEL_FILES {
        order.len() / 2
    } else {
        order.len()
    };
    // A path planned twice is written by one thread.
    while split > 0 && split < order.len() && planned_again(files, order, split - 1) {
        split += 1;
    }
    let (first, second) = order.split_at(split);
    let (theirs, result) = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(u32, &str, Cow<'_, [u8]>)>(256);
        let helper = scope.spawn(move || {
            let mut w = writer();
            for (i, path, bytes) in rx {
                if let Err(e) = w.write(i, path, existed[i as usize], &bytes) {
                    return (w.previous, Err(e));
                }
                written[i as usize].store(true, Ordering::Relaxed);
            }
            (w.previous, Ok(()))
        });
        let mut result = Ok(());
        let mut fed = true;
        for k in 0..first.len().max(second.len()) {
            if fed && k < second.len() && !planned_again(files, second, k) {
                let i = second[k];
                match read(i) {
                    Ok(bytes) => fed = tx.send((i, files.path(i as usize), bytes)).is_ok(),
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            if k < first.len() && !planned_again(files, first, k) {
                let i = first[k];
                let done = read(i).and_then(|bytes| {
                    mine.write(i, files.path(i as usize), existed[i as usize], &bytes)
                });
                if let Err(e) = done {
                    result = Err(e);
                    break;
                }
                written[i as usize].store(true, Ordering::Relaxed);
            }
        }
        drop(tx);
        // A writer that panicked cannot say what the files it replaced held: those are left
        // as written (`put_back` removes only files that did not exist).
        let theirs = helper.join().unwrap_or_else(|_| {
            (
                Vec::new(),
                Err(GitError::corrupt(
                    "cannot write the files",
                    "a writer panicked",
                )),
            )
        });
        (theirs, result)
    });
    let ((mut previous, theirs), result) = (theirs, result);
    let result = result.and(theirs);
    previous.append(&mut mine.previous);
    previous.sort_unstable_by_key(|(i, _)| *i);
    (previous, result)
}

/// An entry a new tree puts in place of its base's entry of the same name, or adds.
struct NewEntry<'a> {
    name: &'a [u8],
    folder: bool,
    mode: i32,
    id: git2::Oid,
}

/// git's order of tree entries: by name, a folder's name compared as if it ended in `/`.
fn entry_order(a: &[u8], a_folder: bool, b: &[u8], b_folder: bool) -> std::cmp::Ordering {
    fn key(name: &[u8], folder: bool) -> impl Iterator<Item = u8> + '_ {
        name.iter().copied().chain(folder.then_some(b'/'))
    }
    key(a, a_folder).cmp(key(b, b_folder))
}

/// Writes the trees of a commit: `base` (a root tree) with the files (`order`: their
/// indices by path, `prefix` before each in the repository) at their blobs, writing only
/// the trees along their paths, each whole and once, merged from its base's entries (which
/// are sorted) and the files' (sorted too): nothing is held per file but the entries of the
/// one folder being written.
fn tree_with(
    repo: &git2::Repository,
    base: &git2::Tree,
    prefix: &str,
    files: &dyn FileSet,
    order: &[u32],
    blob: &dyn Fn(u32) -> git2::Oid,
) -> Result<git2::Oid, GitError> {
    let odb = repo
        .odb()
        .map_err(|e| GitError::new("cannot open the object database", e.message()))?;
    let trees = Trees {
        repo,
        odb,
        files,
        blob,
    };
    let folders: Vec<&str> = prefix.split('/').filter(|c| !c.is_empty()).collect();
    trees.under(Some(base), &folders, order)
}

struct Trees<'a, 'r> {
    repo: &'r git2::Repository,
    odb: git2::Odb<'r>,
    files: &'a dyn FileSet,
    blob: &'a dyn Fn(u32) -> git2::Oid,
}

impl<'r> Trees<'_, 'r> {
    /// The tree of `base` with the files written under the folders `folders` (the CRM's
    /// folder in the repository, one component at a time).
    fn under(
        &self,
        base: Option<&git2::Tree>,
        folders: &[&str],
        order: &[u32],
    ) -> Result<git2::Oid, GitError> {
        match folders.split_first() {
            None => self.folder(base, order, 0),
            Some((name, rest)) => {
                let sub = self.subtree(base, name)?;
                let id = self.under(sub.as_ref(), rest, order)?;
                self.write(
                    base,
                    &[NewEntry {
                        name: name.as_bytes(),
                        folder: true,
                        mode: 0o040000,
                        id,
                    }],
                )
            }
        }
    }

    fn subtree(
        &self,
        base: Option<&git2::Tree>,
        name: &str,
    ) -> Result<Option<git2::Tree<'r>>, GitError> {
        base.and_then(|t| t.get_name(name))
            .filter(|e| e.kind() == Some(git2::ObjectType::Tree))
            .map(|e| self.repo.find_tree(e.id()))
            .transpose()
            .map_err(|e| GitError::new(format!("cannot read the tree {name}"), e.message()))
    }

    /// The tree of one folder: `base` with `items` (files whose paths all share their first
    /// `at` bytes, the folder's path) put in.
    fn folder(
        &self,
        base: Option<&git2::Tree>,
        items: &[u32],
        at: usize,
    ) -> Result<git2::Oid, GitError> {
        let name_of = |i: u32| &self.files.path(i as usize)[at..];
        let mut new: Vec<NewEntry> = Vec::new();
        let mut k = 0;
        while k < items.len() {
            let rest = name_of(items[k]);
            match rest.find('/') {
                Some(slash) => {
                    let within = &rest[..=slash];
                    let end = k + items[k..]
                        .iter()
                        .take_while(|&&j| name_of(j).starts_with(within))
                        .count();
                    let name = &rest[..slash];
                    let sub = self.subtree(base, name)?;
                    let id = self.folder(sub.as_ref(), &items[k..end], at + slash + 1)?;
                    new.push(NewEntry {
                        name: name.as_bytes(),
                        folder: true,
                        mode: 0o040000,
                        id,
                    });
                    k = end;
                }
                None => {
                    // A path planned twice: its last version (the one on disk).
                    if items.get(k + 1).is_some_and(|&j| name_of(j) == rest) {
                        k += 1;
                        continue;
                    }
                    let mode = base
                        .and_then(|t| t.get_name(rest))
                        .map(|e| e.filemode_raw())
                        .filter(|m| *m == 0o100755)
                        .unwrap_or(0o100644);
                    new.push(NewEntry {
                        name: rest.as_bytes(),
                        folder: false,
                        mode,
                        id: (self.blob)(items[k]),
                    });
                    k += 1;
                }
            }
        }
        self.write(base, &new)
    }

    /// Writes `base`'s entries merged with `new` (in git's order): an entry of `new`
    /// replaces the base's entry of the same name, file or folder.
    fn write(&self, base: Option<&git2::Tree>, new: &[NewEntry]) -> Result<git2::Oid, GitError> {
        let mut out: Vec<u8> = Vec::new();
        let mut emit = |mode: i32, name: &[u8], id: git2::Oid| {
            let _ = write!(out, "{mode:o} ");
            out.extend_from_slice(name);
            out.push(0);
            out.extend_from_slice(id.as_bytes());
        };
        let replaced = |name: &[u8]| {
            [false, true].into_iter().any(|folder| {
                new.binary_search_by(|e| entry_order(e.name, e.folder, name, folder))
                    .is_ok()
            })
        };
        let mut n = 0;
        if let Some(base) = base {
            for e in base.iter() {
                let (name, folder) = (e.name_bytes(), e.kind() == Some(git2::ObjectType::Tree));
                while let Some(x) = new.get(n) {
                    if entry_order(x.name, x.folder, name, folder) == std::cmp::Ordering::Greater {
                        break;
                    }
                    emit(x.mode, x.name, x.id);
                    n += 1;
                }
                if !replaced(name) {
                    emit(e.filemode_raw(), name, e.id());
                }
            }
        }
        for x in &new[n..] {
            emit(x.mode, x.name, x.id);
        }
        self.odb
            .write(git2::ObjectType::Tree, &out)
            .map_err(|e| GitError::new("cannot write a tree", e.message()))
    }
}

/// Runs a git command with nothing on its stdin; its stdout, or what it said on failure.
fn output(mut cmd: Command, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let out = cmd.args(args).stdin(Stdio::null()).output().map_err(|e| {
        GitError::new("cannot run git", e).with_hint("sloop needs the `git` command on PATH")
    })?;
    if !out.status.success() {
        return Err(failed(
            format!("git {} failed", args.first().copied().unwrap_or("")),
            &out.stderr,
        ));
    }
    Ok(out.stdout)
}

/// Starts a git command whose stdin sloop writes and whose stderr it reads.
fn spawn_fed(cmd: &mut Command, args: &[&str], stdout: Stdio) -> Result<Child, GitError> {
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            GitError::new("cannot run git", e).with_hint("sloop needs the `git` command on PATH")
        })
}

/// What a git process said when it failed.
fn failed(what: String, stderr: &[u8]) -> GitError {
    let stderr = String::from_utf8_lossy(stderr).trim().to_string();
    let full = stderr.contains("No space left");
    let err = GitError::corrupt(what, stderr);
    if full {
        err.with_hint("the disk is full: free some space and run sloop again")
    } else {
        err
    }
}

/// Runs a git command, `feed` writing its stdin (buffered); its output is ignored.
fn feed_one(
    mut cmd: Command,
    args: &[&str],
    feed: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), GitError> {
    let what = format!("git {} failed", args.first().copied().unwrap_or(""));
    let mut child = spawn_fed(&mut cmd, args, Stdio::null())?;
    let (stderr, fed) = std::thread::scope(|s| {
        let err = child.stderr.take();
        let stderr = s.spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = err {
                let _ = io::Read::read_to_end(&mut r, &mut buf);
            }
            buf
        });
        let fed = match child.stdin.take() {
            Some(w) => {
                let mut w = io::BufWriter::new(w);
                feed(&mut w).and_then(|()| w.flush())
            }
            None => Err(io::Error::other("no stdin")),
        };
        (stderr.join().unwrap_or_default(), fed)
    });
    let status = child
        .wait()
        .map_err(|e| GitError::new("cannot run git", e))?;
    if !status.success() {
        return Err(failed(what, &stderr));
    }
    fed.map_err(|e| GitError::new(what, e))
}

/// Runs two git commands side by side, `feed` writing both their stdins (a buffer at a
/// time, so that neither waits long for the other): the first's output is ignored, the
/// second's is `count` object ids, one a line (`git hash-object --stdin-paths`), kept as
/// 20-byte ids.
fn feed_two(
    (mut first, first_args): (Command, &[&str]),
    (mut second, second_args): (Command, &[&str]),
    feed: impl FnOnce(&mut dyn Write, &mut dyn Write) -> io::Result<()>,
    count: usize,
) -> Result<Vec<ObjectId>, GitError> {
    let what = |args: &[&str]| format!("git {} failed", args.first().copied().unwrap_or(""));
    let mut a = spawn_fed(&mut first, first_args, Stdio::null())?;
    let mut b = match spawn_fed(&mut second, second_args, Stdio::piped()) {
        Ok(b) => b,
        Err(e) => {
            let _ = a.kill();
            let _ = a.wait();
            return Err(e);
        }
    };
    let drain = |r: Option<std::process::ChildStderr>| {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = io::Read::read_to_end(&mut r, &mut buf);
        }
        buf
    };
    let (a_err, b_err, ids, fed) = std::thread::scope(|s| {
        let a_err = {
            let r = a.stderr.take();
            s.spawn(move || drain(r))
        };
        let b_err = {
            let r = b.stderr.take();
            s.spawn(move || drain(r))
        };
        let out = b.stdout.take();
        let ids = s.spawn(move || -> Result<Vec<ObjectId>, String> {
            let mut ids = Vec::with_capacity(count);
            let Some(out) = out else {
                return Ok(ids);
            };
            let mut line = String::new();
            let mut r = io::BufReader::new(out);
            loop {
                line.clear();
                match io::BufRead::read_line(&mut r, &mut line) {
                    Ok(0) => return Ok(ids),
                    Ok(_) => ids.push(
                        line.trim()
                            .parse()
                            .map_err(|_| format!("unexpected output {:?}", line.trim()))?,
                    ),
                    Err(e) => return Err(e.to_string()),
                }
            }
        });
        let fed = match (a.stdin.take(), b.stdin.take()) {
            (Some(x), Some(y)) => {
                let (mut x, mut y) = (io::BufWriter::new(x), io::BufWriter::new(y));
                feed(&mut x, &mut y)
                    .and_then(|()| x.flush())
                    .and_then(|()| y.flush())
            }
            _ => Err(io::Error::other("no stdin")),
        };
        (
            a_err.join().unwrap_or_default(),
            b_err.join().unwrap_or_default(),
            ids.join()
                .unwrap_or_else(|_| Err("its reader panicked".to_string())),
            fed,
        )
    });
    let a_status = a.wait().map_err(|e| GitError::new("cannot run git", e))?;
    let b_status = b.wait().map_err(|e| GitError::new("cannot run git", e))?;
    if !a_status.success() {
        return Err(failed(what(first_args), &a_err));
    }
    if !b_status.success() {
        return Err(failed(what(second_args), &b_err));
    }
    fed.map_err(|e| GitError::new(what(first_args), e))?;
    let ids = ids.map_err(|e| GitError::corrupt(what(second_args), e))?;
    if ids.len() != count {
        return Err(GitError::corrupt(
            what(second_args),
            format!("{} ids for {count} files", ids.len()),
        ));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::{
        append_journal, create_journal, sorted_order, tree_with, CommitRequest, Identity, Journal,
        JournalFile, WriteLock,
    };
    use crate::git::testing::TestRepo;
    use crate::git::{ObjectId, Repo};

    fn id(c: char) -> ObjectId {
        c.to_string().repeat(40).parse().unwrap()
    }

    #[test]
    fn a_journal_reads_back_what_it_wrote_line_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let files = vec![
            JournalFile {
                path: "crm/accounts/a b.toml".into(),
                written: id('b'),
                existed: false,
            },
            JournalFile {
                path: "accounts/x.toml".into(),
                written: id('c'),
                existed: true,
            },
        ];
        create_journal(&path, "sloop 12 345", |line| {
            files.iter().try_for_each(line)
        })
        .unwrap();
        let read = || Journal::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut expected = Journal {
            token: "sloop 12 345".into(),
            branch: None,
            head: None,
            files: files.clone(),
            commit: None,
        };
        assert_eq!(read(), expected);
        assert!(!dir.path().join("journal.tmp").exists());
        append_journal(
            &path,
            &format!("branch refs/heads/main\nhead {}\n", id('a')),
        )
        .unwrap();
        expected.branch = Some("refs/heads/main".into());
        expected.head = Some(id('a'));
        assert_eq!(read(), expected);
        append_journal(&path, &format!("commit {}\n", id('d'))).unwrap();
        expected.commit = Some(id('d'));
        assert_eq!(read(), expected);
        assert_eq!(Journal::parse("not a journal\n"), None);
        assert_eq!(Journal::parse("sloop journal 1\nhead zz\n"), None);
    }

    #[test]
    fn a_journal_line_cut_short_by_a_crash_does_not_count() {
        let text = format!(
            "sloop journal 1\ntoken t\nfile {} 0 a.toml\nhead {}",
            id('b'),
            id('a')
        );
        let j = Journal::parse(&text).unwrap();
        assert_eq!(j.head, None);
        assert_eq!(j.files.len(), 1);
        // Cut inside the commit's id: the commit was not announced.
        let text = format!("{text}\ncommit {}", &id('d').to_string()[..12]);
        let j = Journal::parse(&text).unwrap();
        assert_eq!((j.head, j.commit), (Some(id('a')), None));
        assert_eq!(Journal::parse("sloop jour"), None);
    }

    /// The tree git itself builds from an index holding `files` (path, mode, blob).
    fn git_tree(repo: &git2::Repository, files: &[(String, u32, git2::Oid)]) -> git2::Oid {
        let mut index = git2::Index::new().unwrap();
        for (path, mode, id) in files {
            index
                .add(&git2::IndexEntry {
                    ctime: git2::IndexTime::new(0, 0),
                    mtime: git2::IndexTime::new(0, 0),
                    dev: 0,
                    ino: 0,
                    mode: *mode,
                    uid: 0,
                    gid: 0,
                    file_size: 0,
                    id: *id,
                    flags: path.len().min(0xfff) as u16,
                    flags_extended: 0,
                    path: path.as_bytes().to_vec(),
                })
                .unwrap();
        }
        index.write_tree_to(repo).unwrap()
    }

    #[test]
    fn a_new_tree_is_the_one_git_builds_from_the_same_files() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let blob = |text: &str| repo.blob(text.as_bytes()).unwrap();
        // Names that sort differently as files and as folders ("a-b", "a.toml", "a/", "a0").
        let base: Vec<(String, u32, git2::Oid)> = [
            ("crm/accounts/a.toml", 0o100644),
            ("crm/accounts/b.toml", 0o100755),
            ("crm/accounts/sub/x.toml", 0o100644),
            ("crm/accounts-old.toml", 0o100644),
            ("crm/accounts.x/y", 0o100644),
            ("crm/a-b", 0o100644),
            ("crm/a0", 0o100644),
            ("crm/gone/f", 0o100644),
            ("other/z", 0o100644),
            ("top.txt", 0o100644),
        ]
        .iter()
        .map(|(p, m)| (p.to_string(), *m, blob(p)))
        .collect();
        let base_tree = repo.find_tree(git_tree(&repo, &base)).unwrap();
        let new: Vec<(String, Vec<u8>)> = [
            "accounts/b.toml",
            "accounts/c.toml",
            "accounts/sub/y.toml",
            "accounts/new/deep/z.toml",
            "a.toml",
            "a/inner.toml",
            "accounts.toml",
            "zz/q",
            "gone",
            "accounts/c.toml",
        ]
        .iter()
        .enumerate()
        .map(|(i, p)| (p.to_string(), format!("{p} {i}").into_bytes()))
        .collect();
        for prefix in ["crm/", ""] {
            let order = sorted_order(&new);
            let blobs: Vec<git2::Oid> = new.iter().map(|(_, b)| repo.blob(b).unwrap()).collect();
            let got = tree_with(&repo, &base_tree, prefix, &new, &order, &|i| {
                blobs[i as usize]
            })
            .unwrap();
            // What git builds: the base, each new file in place (the last of a path planned
            // twice), an executable kept executable, a folder replaced by a file.
            let mut expected: std::collections::BTreeMap<String, (u32, git2::Oid)> = base
                .iter()
                .map(|(p, m, id)| (p.clone(), (*m, *id)))
                .collect();
            for (i, (p, _)) in new.iter().enumerate() {
                let full = format!("{prefix}{p}");
                expected.retain(|k, _| !k.starts_with(&format!("{full}/")));
                let mode = expected.get(&full).map_or(0o100644, |(m, _)| *m);
                expected.insert(full, (mode, blobs[i]));
            }
            let expected: Vec<(String, u32, git2::Oid)> = expected
                .into_iter()
                .map(|(p, (m, id))| (p, m, id))
                .collect();
            assert_eq!(got, git_tree(&repo, &expected), "prefix {prefix:?}");
        }
    }

    /// Every file under `dir`, outside `.git`.
    fn files_under(dir: &std::path::Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.file_name().is_some_and(|n| n == ".git") {
                    continue;
                }
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push(p.strip_prefix(dir).unwrap().display().to_string());
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn a_failed_write_of_many_files_puts_back_every_file_written_on_either_thread() {
        // The folder of one file is blocked by a file of the user's: among the first files
        // by path (written on this thread), or among the last (on the other).
        for blocked in ["aa", "zz"] {
            let mut t = TestRepo::new();
            let head = t.commit("2026-11-01", "start", &[("sloop.toml", Some("x = 1\n"))]);
            let dir = t.dir().to_path_buf();
            std::fs::write(dir.join("sloop.toml"), "x = 1\n").unwrap();
            std::fs::write(dir.join(blocked), "mine\n").unwrap();
            let mut files: Vec<(String, Vec<u8>)> = (0..600)
                .map(|i| {
                    (
                        format!("activities/a{i:03}.toml"),
                        format!("n = {i}\n").into_bytes(),
                    )
                })
                .collect();
            files.insert(300, (format!("{blocked}/x.toml"), b"y = 1\n".to_vec()));
            let repo = Repo::open(&dir).unwrap().unwrap();
            let _lock = WriteLock::acquire(&repo).unwrap();
            let err = repo
                .commit_files(&CommitRequest {
                    files: &files,
                    message: "many",
                    when: chrono::DateTime::parse_from_rfc3339("2026-11-02T10:00:00+01:00")
                        .unwrap(),
                    author: Some(Identity {
                        name: "A".into(),
                        email: "a@example.com".into(),
                    }),
                    committer: None,
                    base: None,
                })
                .unwrap_err();
            assert!(
                err.to_string().contains(&format!("{blocked}/x.toml")),
                "{blocked}: {err}"
            );
            let mut expected = vec![blocked.to_string(), "sloop.toml".to_string()];
            expected.sort();
            assert_eq!(files_under(&dir), expected, "{blocked}: files left");
            assert_eq!(
                std::fs::read_to_string(dir.join(blocked)).unwrap(),
                "mine\n"
            );
            assert_eq!(repo.head().unwrap().map(|h| h.to_string()), Some(head));
            for left in ["sloop/journal", "index.lock", "sloop/next-index"] {
                assert!(
                    !repo.git_dir().join(left).exists(),
                    "{blocked}: {left} left"
                );
            }
        }
    }
}
