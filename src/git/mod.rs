//! The only module that talks to git. Everything else sees paths, bytes, object ids and
//! plain structs. Reads go through libgit2 (git2) for objects (the history walk's trees through `packs`,
//! which leaves to libgit2 what it cannot read), and through the `git` binary
//! where git itself is the fast path (the staged diff and the work tree status use git's
//! index extensions and stat cache, which libgit2 re-reads from scratch).
//!
//! - `repo`: an open repository, HEAD, commits, blobs, the staged and work tree changes;
//! - `commit`: the one commit path (files on top of HEAD, branch moved last);
//! - `walk`: the history read path (first-parent commits, batched tree diffs);
//! - `source`: a commit's tree or the index as a `store::Source`;
//! - `fast_import`: a whole history written from memory (`sloop demo`);
//! - `remote`: push and fetch (`sloop serve --push`) through the `git` binary;
//! - `marker`: what an import that wrote files (not commits) leaves for the checks;
//! - `object_id`: the id of every object;
//! - `pack_order`: where objects sit in the pack files, to read many in storage order;
//! - `packs`: the history walk's trees read from the pack files with a delta base cache;
//! - `generations`: the two-generation cache both keep their trees in.

mod commit;
mod fast_import;
mod generations;
mod marker;
mod object_id;
mod pack_order;
mod packs;
mod remote;
mod repo;
mod source;
mod walk;

#[cfg(test)]
pub(crate) mod testing;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset};

pub use commit::{
    crash_at, set_lock_wait, CommitError, CommitRequest, HistoryCommit, Identity, Recovered,
    Recovery, Replay, WriteLock,
};
pub use fast_import::HistoryWriter;
pub use marker::ImportMarker;
pub use object_id::{BadObjectId, ObjectId};
pub use remote::Pushed;
pub use repo::{
    allow_phased_mapping, git_dir_around, init, limit_mapped_memory, narrow_mapped_memory_for_good,
    release_freed_memory, work_tree_of, Busy, Repo,
};
pub use source::{IndexSource, TreeSource};
/// The read path for mining the history (`history`): first-parent commits, a batched tree
/// differ, blob reads by id.
pub use walk::{first_parent_commits, Uncached, Walker};

/// A commit: its id, its first parent, its tree, who wrote it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: ObjectId,
    /// The first parent, if the commit has parents.
    pub parent: Option<ObjectId>,
    /// The commit's root tree.
    pub tree: ObjectId,
    pub author_name: String,
    pub author_email: String,
    pub author_date: DateTime<FixedOffset>,
    pub committer_date: DateTime<FixedOffset>,
    /// The first line of the message.
    pub summary: String,
}

/// A file added, modified or deleted between two versions of the CRM (two trees, HEAD and
/// the index, HEAD and the work tree). The path is `/`-separated, relative to the CRM root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    /// The blob before (`None`: added).
    pub old: Option<ObjectId>,
    /// The blob after (`None`: deleted). On the work tree side, `ObjectId::NULL`: the file
    /// on disk, not hashed (git's own convention in `diff --raw`).
    pub new: Option<ObjectId>,
    /// The index holds an unresolved conflict for this path.
    pub unmerged: bool,
    /// The new side is a symbolic link (its blob is the link's text; sloop never follows
    /// a link stored in git).
    pub link: bool,
}

/// Where git's environment puts the repository, when it does (`GIT_DIR`, `GIT_WORK_TREE`):
/// resolved once by the binary with git itself (`Environment::resolve`) and given to
/// `set_environment`. Every repository sloop opens is then that one, and every `git` process
/// it runs is told the same absolute paths, so the checks that go through the `git` binary
/// and the commits written through libgit2 never see two different repositories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    pub git_dir: Option<PathBuf>,
    pub work_tree: Option<PathBuf>,
}

static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();

impl Environment {
    /// Asks git where `GIT_DIR` and `GIT_WORK_TREE` (as set in this process's environment)
    /// point from `cwd`, as absolute paths.
    pub fn resolve(cwd: &Path) -> Result<Environment, GitError> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(cwd)
            .args(["rev-parse", "--absolute-git-dir", "--show-toplevel"])
            .output()
            .map_err(|e| {
                GitError::new("cannot run git", e)
                    .with_hint("sloop needs the `git` command on PATH")
            })?;
        if !out.status.success() {
            return Err(GitError::new(
                "GIT_DIR / GIT_WORK_TREE do not name a repository with a work tree",
                String::from_utf8_lossy(&out.stderr).trim(),
            )
            .with_hint("unset them, or point them at a repository and its work tree"));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        Ok(Environment {
            git_dir: lines.next().map(PathBuf::from),
            work_tree: lines.next().map(PathBuf::from),
        })
    }
}

/// Makes every repository sloop opens the one `env` names (call once, first thing; later
/// calls are ignored).
pub fn set_environment(env: Environment) {
    let _ = ENVIRONMENT.set(env);
}

/// Makes `repo` read its objects through pack handles of its own, the `n`th set (0: the
/// shared ones, left as they are).
///
/// libgit2 shares one handle per pack file among every repository of the process and locks it
/// for each object read: two threads reading one pack spent a sixth of their time waiting on
/// each other's locks (futex calls, costly in a VM). Handles are shared by the pack file's
/// path as written, so the `n`th set names the objects folder with `n` extra `/.`. Each set
/// maps the pack files it reads on its own, as the shared one does. A repository with
/// alternates, or run where git moves or adds objects folders (`GIT_OBJECT_DIRECTORY`,
/// `GIT_ALTERNATE_OBJECT_DIRECTORIES`: a hook during a push), keeps the shared handles.
pub(super) fn own_pack_handles(repo: &git2::Repository, n: usize) -> Result<(), GitError> {
    let objects = repo.commondir().join("objects");
    if n == 0
        || std::env::var_os("GIT_OBJECT_DIRECTORY").is_some()
        || std::env::var_os("GIT_ALTERNATE_OBJECT_DIRECTORIES").is_some()
        || objects.join("info").join("alternates").exists()
    {
        return Ok(());
    }
    let Some(objects) = objects.to_str() else {
        return Ok(());
    };
    let own = format!("{objects}{}", "/.".repeat(n));
    let fail = |e: git2::Error| GitError::new("cannot open the object database", e.message());
    let odb = git2::Odb::new().map_err(fail)?;
    odb.add_disk_alternate(&own).map_err(fail)?;
    repo.set_odb(&odb).map_err(fail)
}

/// The one repository discovery: the environment's repository when it names one, else the
/// repository containing `path` (a linked work tree or a `--separate-git-dir` repository
/// included). `Ok(None)`: not in a repository.
fn open_repository(path: &Path) -> Result<Option<git2::Repository>, GitError> {
    if let Some(Environment {
        git_dir: Some(dir),
        work_tree,
    }) = ENVIRONMENT.get()
    {
        let repo = git2::Repository::open(dir)
            .map_err(|e| GitError::new("cannot open the git repository", e.message()))?;
        if let Some(w) = work_tree {
            repo.set_workdir(w, false)
                .map_err(|e| GitError::new("cannot use the work tree", e.message()))?;
        }
        return Ok(Some(repo));
    }
    let repo = match git2::Repository::discover(path) {
        Ok(r) => r,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(GitError::new("cannot open the git repository", e.message())),
    };
    // A `.git` file (`git init --separate-git-dir`, a submodule) makes its folder the work
    // tree, as git has it; libgit2 takes the git dir's parent instead when the git dir's
    // config names no work tree. Linked work trees (`git worktree add`) it gets right.
    if !repo.is_worktree() {
        if let Some(top) = gitlink_top(path) {
            let same = repo
                .workdir()
                .and_then(|w| w.canonicalize().ok())
                .is_some_and(|w| Some(w) == top.canonicalize().ok());
            if !same {
                repo.set_workdir(&top, false)
                    .map_err(|e| GitError::new("cannot use the work tree", e.message()))?;
            }
        }
    }
    Ok(Some(repo))
}

/// The folder above `path` (itself included) whose `.git` git finds first, when that `.git`
/// is a file pointing to the git dir.
fn gitlink_top(path: &Path) -> Option<PathBuf> {
    let path = path.canonicalize().ok()?;
    for dir in path.ancestors() {
        let dotgit = dir.join(".git");
        match std::fs::symlink_metadata(&dotgit) {
            Ok(m) if m.is_file() => return Some(dir.to_path_buf()),
            Ok(_) => return None,
            Err(_) => {}
        }
    }
    None
}

/// The id git gives `bytes` as a blob (what `git hash-object` prints, without filters).
pub fn blob_id(bytes: &[u8]) -> Option<ObjectId> {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .ok()
        .map(ObjectId::from_oid)
}

/// The first 12 characters of a hex id, for messages.
pub fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// A git failure, with what sloop was doing.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct GitError {
    pub what: String,
    pub message: String,
    pub hint: Option<String>,
}

impl GitError {
    fn new(what: impl Into<String>, e: impl std::fmt::Display) -> Self {
        GitError {
            what: what.into(),
            message: e.to_string(),
            hint: None,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, message: impl Into<String>) -> Self {
        GitError {
            what: what.into(),
            message: message.into(),
            hint: None,
        }
    }

    fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}
