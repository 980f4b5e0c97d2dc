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
//! 3. write a journal (`<git dir>/sloop/journal`: HEAD, the lock, each file and a hash of
//!    what sloop writes there), then the files, each to a hidden temporary file renamed over
//!    the old one;
//! 4. let git itself hash them into a private copy of the index (`git hash-object`,
//!    `git update-index`, so that `core.autocrlf`, `.gitattributes` filters, split and sparse
//!    indexes behave exactly as after `git add`);
//! 5. build the tree (HEAD's, with only these paths replaced: whatever else the user staged
//!    stays staged and out of the commit) and the commit from objects; a history (an
//!    import, `Repo::commit_history`) is written instead right after the journal, before the
//!    files, by `git fast-import` onto a private ref, so that its pack already holds the
//!    blobs step 4 hashes (git then writes no loose object for them), and its last tree is
//!    checked here against the blobs git hashed;
//! 6. put the new index in place of `index.lock`, move the branch from the HEAD read in step
//!    2 to the new commit (compare-and-swap: refused if anything else moved it), and only
//!    then rename `index.lock` to `index`.
//!
//! A failure before step 6 puts the files back and removes the lock. A process killed on the
//! way leaves its journal: the next writer (which takes the `WriteLock` only once the dead one
//! released it) rolls the work back if the branch did not move, or finishes it if it did
//! (`Repo::recover`), touching only files that still hold what sloop wrote.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};

use super::{GitError, ObjectId, Repo};
use crate::store::{write_file, FileSet};

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

/// Builds the commit of a publish from HEAD, the files' repository paths and their blobs.
type MakeCommit<'a> = dyn Fn(ObjectId, &[String], &[ObjectId]) -> Result<ObjectId, GitError> + 'a;

/// Checks a commit written ahead: `(head, commit, repository paths, blobs)`.
type CheckCommit<'a> =
    dyn Fn(ObjectId, ObjectId, &[String], &[ObjectId]) -> Result<(), GitError> + 'a;

/// The commit of a publish from the files' blobs, HEAD and paths known.
type FinishCommit<'a> = Box<dyn Fn(&[ObjectId]) -> Result<ObjectId, GitError> + 'a>;

/// How a publish gets its commit.
enum Make<'a> {
    /// Built from HEAD and the files' blobs, once the files are written and recorded.
    FromBlobs(&'a MakeCommit<'a>),
    /// Written from HEAD alone before the files (a history through `git fast-import`), then
    /// checked (`check(head, commit, repository paths, blobs)`) once git hashed the files.
    Ahead {
        write: &'a dyn Fn(ObjectId) -> Result<ObjectId, GitError>,
        check: &'a CheckCommit<'a>,
    },
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

/// The journal of a commit in progress. Text, one fact per line, each line written and
/// synced before the step it announces.
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
        let mut lines = text.lines();
        if lines.next()? != "sloop journal 1" {
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

    /// Writes the journal's text a line at a time (a commit of 100,000 files does not hold
    /// its 10 MB journal in memory as well).
    fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "sloop journal 1")?;
        writeln!(out, "token {}", self.token)?;
        if let Some(b) = &self.branch {
            writeln!(out, "branch {b}")?;
        }
        if let Some(h) = self.head {
            writeln!(out, "head {h}")?;
        }
        for f in &self.files {
            writeln!(out, "file {} {} {}", f.written, u8::from(f.existed), f.path)?;
        }
        if let Some(c) = self.commit {
            writeln!(out, "commit {c}")?;
        }
        Ok(())
    }

    /// Writes the journal to `path` whole and syncs it: a temporary file renamed over it.
    fn save(&self, path: &Path) -> io::Result<()> {
        let tmp = path.with_extension("tmp");
        {
            let mut w = io::BufWriter::new(File::create(&tmp)?);
            self.write_to(&mut w)?;
            w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        fs::rename(&tmp, path)
    }
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
        let make = |head: ObjectId, paths: &[String], blobs: &[ObjectId]| {
            self.write_commit(req, head, paths, blobs)
        };
        self.publish(
            req.files,
            &[],
            req.base,
            req.message,
            Make::FromBlobs(&make),
        )
    }

    /// Writes `commits` on top of HEAD as they are, dates and authors kept (one `git
    /// fast-import` run onto a private ref, before the files: its pack then holds their
    /// blobs, and recording 285,000 new files writes no loose object), then publishes the
    /// last one as `commit_files` does: the files it leaves changed are written, recorded in
    /// the index the way `git add` would, and the branch moves last. `base` as in `CommitRequest`. The caller
    /// holds a `WriteLock`.
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
        let private = format!("refs/sloop/import-{}", std::process::id());
        let write = |head: ObjectId| {
            let mut writer = super::HistoryWriter::onto(self, private.clone(), head)?;
            for c in commits {
                writer.commit_prefixed(&self.prefix, &c.files, &c.message, &c.author, c.when)?;
            }
            writer
                .finish_ref(self)?
                .ok_or_else(|| GitError::corrupt("cannot import", "no commit was written"))
        };
        let check = |head: ObjectId, tip: ObjectId, paths: &[String], blobs: &[ObjectId]| {
            // The history must end exactly where the work tree and index will be.
            let expected = {
                let parent = self.commit(head)?;
                let tree = parent
                    .tree()
                    .map_err(|e| GitError::new("cannot read HEAD's tree", e.message()))?;
                let leaves: Vec<(Vec<&str>, git2::Oid)> = paths
                    .iter()
                    .zip(blobs)
                    .map(|(p, o)| (p.split('/').collect(), o.to_oid()))
                    .collect();
                write_tree(&self.repo, Some(&tree), &leaves)?
            };
            let got = self.commit(tip)?.tree_id();
            if got != expected {
                return Err(GitError::corrupt(
                    "cannot import",
                    "a git filter (.gitattributes) changes the imported files, so the history would not match the work tree",
                ));
            }
            Ok(())
        };
        let message = commits.last().map(|c| c.message.as_str()).unwrap_or("");
        let make = Make::Ahead {
            write: &write,
            check: &check,
        };
        let published = self.publish(&files, &[], base, message, make);
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
            let mut leaves_owned: Vec<(String, git2::Oid)> = Vec::new();
            for (path, bytes) in &c.files {
                let blob = self
                    .repo
                    .blob(bytes)
                    .map_err(|e| GitError::new("cannot write a blob", e.message()))?;
                leaves_owned.push((format!("{}{path}", self.prefix), blob));
            }
            let leaves: Vec<(Vec<&str>, git2::Oid)> = leaves_owned
                .iter()
                .map(|(p, o)| (p.split('/').collect(), *o))
                .collect();
            let new_tree = write_tree(&self.repo, Some(&tree), &leaves)?;
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
        let make = |head: ObjectId, paths: &[String], blobs: &[ObjectId]| {
            if head != base {
                return Err(GitError::corrupt(
                    "cannot rebase onto the remote",
                    "the branch moved meanwhile",
                ));
            }
            // The files as git hashed them from the work tree are the result's.
            for (p, b) in paths.iter().zip(blobs) {
                let in_tip = tip_tree.get_path(Path::new(p)).map(|e| e.id()).ok();
                if in_tip != Some(b.to_oid()) {
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
    fn publish(
        &self,
        files: &dyn FileSet,
        removed: &[String],
        base: Option<ObjectId>,
        message: &str,
        make: Make,
    ) -> Result<ObjectId, CommitError> {
        let repo_paths: Vec<String> = files
            .paths()
            .iter()
            .map(|p| format!("{}{p}", self.prefix))
            .collect();
        if let Some(bad) = repo_paths.iter().find(|p| p.contains(['\n', '\r'])) {
            return Err(GitError::corrupt(
                "cannot commit",
                format!("the path {bad:?} has a line break"),
            )
            .into());
        }
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
        let mut journal_files = Vec::with_capacity(repo_paths.len());
        for (i, path) in repo_paths.iter().enumerate() {
            let bytes = files.bytes(i).map_err(|e| {
                GitError::new(format!("cannot read the planned {}", files.path(i)), e)
            })?;
            journal_files.push(JournalFile {
                path: path.clone(),
                written: hash_bytes(&bytes),
                existed: fs::symlink_metadata(self.workdir.join(path)).is_ok(),
            });
        }
        let mut journal = Journal {
            token: token.clone(),
            branch: None,
            head: None,
            files: journal_files,
            commit: None,
        };
        let save = |j: &Journal| {
            j.save(&journal_path)
                .map_err(|e| GitError::new("cannot write sloop's journal", e))
        };
        save(&journal)?;
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
                self.unchanged_since(base, head, files)?;
            }
            self.check_clean(head, files)?;
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
        journal.head = Some(head);
        journal.branch = Some(branch.clone());
        if let Err(e) = save(&journal) {
            drop(lock);
            forget();
            return Err(e.into());
        }
        crash_point("journal");
        // What makes the commit once git hashed the files: built from their blobs, or the
        // history written now, checked against them.
        let paths = &repo_paths;
        let finish: FinishCommit = match make {
            Make::FromBlobs(make) => Box::new(move |blobs| make(head, paths, blobs)),
            Make::Ahead { write, check } => match write(head) {
                Ok(c) => Box::new(move |blobs| check(head, c, paths, blobs).map(|()| c)),
                Err(e) => {
                    drop(lock);
                    forget();
                    return Err(e.into());
                }
            },
        };
        // What each file written had before (`None`: it did not exist), in the journal's
        // order, to put back on failure.
        let mut previous: Vec<Option<Vec<u8>>> = Vec::new();
        let undo = |written: &[JournalFile], previous: &[Option<Vec<u8>>]| {
            restore(&self.workdir, written, previous);
            let _ = fs::remove_file(dir.join(NEXT_INDEX));
            let _ = fs::remove_file(&journal_path);
        };
        for (i, f) in journal.files.iter().enumerate() {
            let disk = self.workdir.join(&f.path);
            let before = if f.existed {
                fs::read(&disk).ok()
            } else {
                None
            };
            previous.push(before);
            if let Err(e) = files.bytes(i).and_then(|bytes| write_file(&disk, &bytes)) {
                undo(&journal.files, &previous);
                return Err(GitError::new(format!("cannot write {}", disk.display()), e).into());
            }
        }
        crash_point("files");

        // The index, prepared aside by git itself; the blobs as git add would hash them. The
        // two git processes read the same files and need nothing of each other: they run
        // side by side (a server's commit of 1,000 files on a 341,000-file index is 0.2 s
        // shorter).
        let next = dir.join(NEXT_INDEX);
        let hash = self.command();
        let prepared = std::thread::scope(|scope| {
            let hashed = scope.spawn(|| hash_files(hash, &repo_paths));
            let indexed = self.prepare_index(&next, &repo_paths, removed);
            let hashed = hashed.join().unwrap_or_else(|_| {
                Err(GitError::corrupt(
                    "git hash-object failed",
                    "its reader panicked",
                ))
            });
            indexed.and(hashed)
        });
        let blobs = match prepared {
            Ok(b) => b,
            Err(e) => {
                undo(&journal.files, &previous);
                return Err(e.into());
            }
        };
        crash_point("index");

        let commit = match finish(&blobs) {
            Ok(c) => c,
            Err(e) => {
                undo(&journal.files, &previous);
                return Err(e.into());
            }
        };
        journal.commit = Some(commit);
        if let Err(e) = save(&journal) {
            undo(&journal.files, &previous);
            return Err(e.into());
        }
        if let Err(e) = lock.replace_with(&next) {
            undo(&journal.files, &previous);
            return Err(GitError::new("cannot put the new index in place", e).into());
        }
        crash_point("commit");

        let log = format!("commit: {}", message.lines().next().unwrap_or(""));
        if let Err(e) =
            self.repo
                .reference_matching(&branch, commit.to_oid(), true, head.to_oid(), &log)
        {
            undo(&journal.files, &previous);
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

    /// Refuses when the branch moved from `base` to `head` changing one of the files.
    fn unchanged_since(
        &self,
        base: ObjectId,
        head: ObjectId,
        files: &dyn FileSet,
    ) -> Result<(), CommitError> {
        let paths = files.paths();
        let before = self.blobs_at(base, &paths)?;
        let after = self.blobs_at(head, &paths)?;
        for ((path, b), a) in paths.iter().zip(before).zip(after) {
            if b != a {
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
    fn check_clean(&self, head: ObjectId, files: &dyn FileSet) -> Result<(), CommitError> {
        // What the index changes against HEAD, for these paths: named on the command line when
        // they are few (git then compares only them), else the whole CRM in one pass.
        let staged: std::collections::HashSet<String> = if files.count() <= 500 {
            let base = head.to_string();
            let mut args = vec!["diff-index", "--cached", "--name-only", "-z", &base, "--"];
            let paths: Vec<String> = files
                .paths()
                .iter()
                .map(|p| format!("{}{p}", self.prefix))
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
        let mut dirty = Vec::new();
        let mut tracked = Vec::new();
        let paths = files.paths();
        let in_heads = self.blobs_at(head, &paths)?;
        for (i, (path, in_head)) in paths.iter().zip(in_heads).enumerate() {
            let disk = self.workdir.join(format!("{}{path}", self.prefix));
            let in_head = in_head.is_some();
            let on_disk = fs::symlink_metadata(&disk).is_ok();
            if staged.contains(*path) {
                dirty.push(path.to_string());
            } else if in_head {
                tracked.push(format!("{}{path}", self.prefix));
            } else if on_disk {
                let planned = files
                    .bytes(i)
                    .map_err(|e| GitError::new(format!("cannot read the planned {path}"), e))?;
                if fs::read(&disk).ok().as_deref() != Some(&planned[..]) {
                    dirty.push(path.to_string());
                }
            }
        }
        // Tracked files: what git itself says of the work tree against the index.
        for chunk in tracked.chunks(500) {
            let mut args = vec!["diff-files", "--name-only", "-z", "--"];
            args.extend(chunk.iter().map(String::as_str));
            let out = self.git_literal(&args)?;
            for p in out.split(|b| *b == 0).filter(|p| !p.is_empty()) {
                if let Some(rel) = self.strip_prefix(&String::from_utf8_lossy(p)) {
                    dirty.push(rel);
                }
            }
        }
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

    /// Copies the index to `next` and lets `git update-index` record the files there (their
    /// blobs hashed through git's filters, their stat data), as `git add` would.
    fn prepare_index(
        &self,
        next: &Path,
        repo_paths: &[String],
        removed: &[String],
    ) -> Result<(), GitError> {
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
        let mut input = Vec::new();
        for p in repo_paths {
            input.extend_from_slice(p.as_bytes());
            input.push(0);
        }
        let mut gone = Vec::new();
        for p in removed {
            gone.extend_from_slice(p.as_bytes());
            gone.push(0);
        }
        self.git_with_input(
            &["update-index", "--add", "-z", "--stdin"],
            Some(next),
            &input,
        )
        .and_then(|_| {
            if removed.is_empty() {
                return Ok(Vec::new());
            }
            self.git_with_input(
                &["update-index", "--force-remove", "-z", "--stdin"],
                Some(next),
                &gone,
            )
        })
        .map(|_| ())
        .inspect_err(|_| {
            let _ = fs::remove_file(next);
        })
    }

    fn git_with_input(
        &self,
        args: &[&str],
        index: Option<&Path>,
        input: &[u8],
    ) -> Result<Vec<u8>, GitError> {
        let mut cmd = self.command();
        if let Some(i) = index {
            cmd.env("GIT_INDEX_FILE", i);
        }
        run_with_input(cmd, args, input)
    }

    /// The tree (HEAD's, with only these paths replaced) and the commit, from objects.
    fn write_commit(
        &self,
        req: &CommitRequest,
        head: ObjectId,
        repo_paths: &[String],
        blobs: &[ObjectId],
    ) -> Result<ObjectId, GitError> {
        let parent = self.commit(head)?;
        let base = parent
            .tree()
            .map_err(|e| GitError::new("cannot read HEAD's tree", e.message()))?;
        let leaves: Vec<(Vec<&str>, git2::Oid)> = repo_paths
            .iter()
            .zip(blobs)
            .map(|(p, o)| (p.split('/').collect(), o.to_oid()))
            .collect();
        let tree = write_tree(&self.repo, Some(&base), &leaves)?;
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
        fs::remove_file(&journal_path)
            .map_err(|e| GitError::new("cannot remove sloop's journal", e))?;
        Ok(Some(Recovery {
            outcome,
            files,
            left,
        }))
    }
}

fn restore(workdir: &Path, written: &[JournalFile], previous: &[Option<Vec<u8>>]) {
    for (f, bytes) in written.iter().zip(previous) {
        let path = workdir.join(&f.path);
        match bytes {
            Some(b) => {
                let _ = write_file(&path, b);
            }
            None => {
                let _ = fs::remove_file(&path);
            }
        }
    }
}

/// Writes a tree: `base` with the given blobs put at their paths (components), building only
/// the subtrees along those paths.
fn write_tree(
    repo: &git2::Repository,
    base: Option<&git2::Tree>,
    leaves: &[(Vec<&str>, git2::Oid)],
) -> Result<git2::Oid, GitError> {
    let err = |e: git2::Error| GitError::new("cannot write a tree", e.message());
    let mut builder = repo.treebuilder(base).map_err(err)?;
    let mut groups: std::collections::BTreeMap<&str, Vec<(Vec<&str>, git2::Oid)>> =
        std::collections::BTreeMap::new();
    for (components, oid) in leaves {
        match components.split_first() {
            Some((name, [])) => {
                let mode = base
                    .and_then(|t| t.get_name(name))
                    .map(|e| e.filemode())
                    .filter(|m| *m == 0o100755)
                    .unwrap_or(0o100644);
                builder.insert(*name, *oid, mode).map_err(err)?;
            }
            Some((dir, rest)) => groups.entry(dir).or_default().push((rest.to_vec(), *oid)),
            None => {}
        }
    }
    for (dir, sub) in groups {
        let existing = base
            .and_then(|t| t.get_name(dir))
            .filter(|e| e.kind() == Some(git2::ObjectType::Tree))
            .and_then(|e| repo.find_tree(e.id()).ok());
        let oid = write_tree(repo, existing.as_ref(), &sub)?;
        builder.insert(dir, oid, 0o040000).map_err(err)?;
    }
    builder.write().map_err(err)
}

/// Runs a git command with `input` on its stdin; its stdout, or what it said on failure.
fn run_with_input(mut cmd: Command, args: &[&str], input: &[u8]) -> Result<Vec<u8>, GitError> {
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| GitError::new("cannot run git", e))?;
    let mut stdin = child.stdin.take();
    let feed = std::thread::scope(|s| {
        let writer = s.spawn(|| -> io::Result<()> {
            if let Some(mut w) = stdin.take() {
                w.write_all(input)?;
            }
            Ok(())
        });
        let out = child.wait_with_output();
        (writer.join(), out)
    });
    let (fed, out) = feed;
    let out = out.map_err(|e| GitError::new("cannot run git", e))?;
    let what = format!("git {} failed", args.first().copied().unwrap_or(""));
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let err = GitError::corrupt(what, stderr.clone());
        return Err(if stderr.contains("No space left") {
            err.with_hint("the disk is full: free some space and run sloop again")
        } else {
            err
        });
    }
    match fed {
        Ok(Ok(())) => Ok(out.stdout),
        Ok(Err(e)) => Err(GitError::new(what, e)),
        Err(_) => Err(GitError::corrupt(what, "cannot feed git")),
    }
}

/// The blob ids of the files on disk, hashed (and written) through git's filters; `git`:
/// the repository's git command.
fn hash_files(git: Command, repo_paths: &[String]) -> Result<Vec<ObjectId>, GitError> {
    let mut input = String::new();
    for p in repo_paths {
        input.push_str(p);
        input.push('\n');
    }
    let out = run_with_input(
        git,
        &["hash-object", "-w", "--stdin-paths"],
        input.as_bytes(),
    )?;
    let ids: Vec<ObjectId> = String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    if ids.len() != repo_paths.len() {
        return Err(GitError::corrupt(
            "git hash-object failed",
            format!("{} ids for {} files", ids.len(), repo_paths.len()),
        ));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::{Journal, JournalFile};
    use crate::git::ObjectId;

    fn render(j: &Journal) -> String {
        let mut out = Vec::new();
        j.write_to(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_journal_reads_back_what_it_wrote() {
        let id = |c: char| -> ObjectId { c.to_string().repeat(40).parse().unwrap() };
        let j = Journal {
            token: "sloop 12 345".into(),
            branch: Some("refs/heads/main".into()),
            head: Some(id('a')),
            files: vec![
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
            ],
            commit: Some(id('d')),
        };
        assert_eq!(Journal::parse(&render(&j)), Some(j.clone()));
        let without_commit = Journal { commit: None, ..j };
        assert_eq!(
            Journal::parse(&render(&without_commit)),
            Some(without_commit)
        );
        assert_eq!(Journal::parse("not a journal\n"), None);
        assert_eq!(Journal::parse("sloop journal 1\nhead zz\n"), None);
    }
}
