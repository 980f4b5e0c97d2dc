//! An open repository and the reads of the check and write paths: HEAD, commits, trees,
//! blobs, the staged diff and the work tree status.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::{
    open_repository, walk, Change, CommitInfo, GitError, IndexSource, ObjectId, TreeSource,
};

/// The work tree root of the repository containing `path`, if any.
pub fn work_tree_of(path: &Path) -> Option<PathBuf> {
    let repo = open_repository(path).ok()??;
    repo.workdir().map(Path::to_path_buf)
}

/// The git dir `path` is inside of, when it is inside one: a bare repository, or the `.git`
/// folder of a repository with a work tree. Nothing sloop writes belongs there.
pub fn git_dir_around(path: &Path) -> Option<PathBuf> {
    let start = path.ancestors().find(|p| p.exists())?;
    let repo = open_repository(start).ok()??;
    let git_dir = repo.path().canonicalize().ok()?;
    let here = start.canonicalize().ok()?;
    (repo.is_bare() || here.starts_with(&git_dir)).then_some(git_dir)
}

/// `git init` at `path`.
pub fn init(path: &Path) -> Result<(), GitError> {
    git2::Repository::init(path).map(|_| ()).map_err(|e| {
        GitError::new(
            format!("cannot create a git repository in {}", path.display()),
            e.message(),
        )
    })
}

/// What git is doing right now, when it is not idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    Merge,
    Rebase,
    CherryPick,
    Revert,
    Bisect,
    Other,
}

impl Busy {
    pub fn describe(self) -> &'static str {
        match self {
            Busy::Merge => "a merge",
            Busy::Rebase => "a rebase",
            Busy::CherryPick => "a cherry-pick",
            Busy::Revert => "a revert",
            Busy::Bisect => "a bisect",
            Busy::Other => "another git operation",
        }
    }
}

/// The repository holding a CRM, and where the CRM sits in it.
pub struct Repo {
    pub(super) repo: git2::Repository,
    pub(super) workdir: PathBuf,
    /// The CRM folder relative to the work tree root, `/`-separated, with a trailing `/`
    /// (`""` when the CRM is the repository root).
    pub(super) prefix: String,
}

impl Repo {
    /// Opens the repository containing `crm_root`. `Ok(None)` when it is not in one.
    pub fn open(crm_root: &Path) -> Result<Option<Repo>, GitError> {
        let Some(repo) = open_repository(crm_root)? else {
            return Ok(None);
        };
        let Some(workdir) = repo.workdir().map(Path::to_path_buf) else {
            return Err(GitError::new(
                "cannot check a bare repository",
                "it has no work tree",
            ));
        };
        let canonical_root = crm_root
            .canonicalize()
            .map_err(|e| GitError::new("cannot resolve the CRM folder", e))?;
        let canonical_work = workdir
            .canonicalize()
            .map_err(|e| GitError::new("cannot resolve the work tree", e))?;
        let rel = canonical_root.strip_prefix(&canonical_work).map_err(|_| {
            GitError::new(
                "the CRM is outside the repository's work tree",
                crm_root.display(),
            )
        })?;
        let mut prefix = String::new();
        for c in rel.components() {
            prefix.push_str(&c.as_os_str().to_string_lossy());
            prefix.push('/');
        }
        Ok(Some(Repo {
            repo,
            workdir: canonical_work,
            prefix,
        }))
    }

    /// The CRM folder inside the work tree (`""` or `crm/`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    /// The operation in progress, if any.
    pub fn busy(&self) -> Option<Busy> {
        use git2::RepositoryState as S;
        match self.repo.state() {
            S::Clean => None,
            S::Merge => Some(Busy::Merge),
            S::Rebase
            | S::RebaseInteractive
            | S::RebaseMerge
            | S::ApplyMailbox
            | S::ApplyMailboxOrRebase => Some(Busy::Rebase),
            S::CherryPick | S::CherryPickSequence => Some(Busy::CherryPick),
            S::Revert | S::RevertSequence => Some(Busy::Revert),
            S::Bisect => Some(Busy::Bisect),
        }
    }

    /// The commit HEAD points to; `None` on an unborn branch (no commit yet).
    pub fn head(&self) -> Result<Option<ObjectId>, GitError> {
        match self.repo.head() {
            Ok(r) => match r.peel_to_commit() {
                Ok(c) => Ok(Some(ObjectId::from_oid(c.id()))),
                Err(e) => Err(GitError::new("cannot read HEAD", e.message())),
            },
            Err(e)
                if matches!(
                    e.code(),
                    git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(GitError::new("cannot read HEAD", e.message())),
        }
    }

    /// The branch HEAD is on (`None` when detached or unborn).
    pub fn branch(&self) -> Option<String> {
        let head = self.repo.head().ok()?;
        if head.is_branch() {
            head.shorthand().ok().map(str::to_string)
        } else {
            None
        }
    }

    pub(super) fn commit(&self, id: ObjectId) -> Result<git2::Commit<'_>, GitError> {
        self.repo
            .find_commit(id.to_oid())
            .map_err(|e| self.missing_object(id, e))
    }

    fn missing_object(&self, id: ObjectId, e: git2::Error) -> GitError {
        let err = GitError::new(format!("cannot read commit {}", id.short()), e.message());
        if self.is_shallow() {
            err.with_hint("this is a shallow clone: its history stops early. Fetch it all with `git fetch --unshallow` (in CI: `fetch-depth: 0`)")
        } else {
            err
        }
    }

    /// Information about a commit.
    pub fn commit_info(&self, id: ObjectId) -> Result<CommitInfo, GitError> {
        let c = self.commit(id)?;
        Ok(walk::commit_info(&c))
    }

    /// The CRM as committed in `commit` (read from git objects, nothing checked out).
    pub fn tree_source(&self, commit: ObjectId) -> Result<TreeSource, GitError> {
        let c = self.commit(commit)?;
        let tree = c
            .tree()
            .map_err(|e| GitError::new("cannot read a commit's tree", e.message()))?;
        TreeSource::from_tree(
            &self.repo,
            &tree,
            &self.prefix,
            format!("commit {}", commit.short()),
        )
    }

    /// The CRM as the index would commit it.
    pub fn index_source(&self) -> Result<IndexSource, GitError> {
        IndexSource::from_index(&self.repo, &self.prefix)
    }

    /// Reads a blob.
    pub fn blob(&self, id: ObjectId) -> Result<Vec<u8>, GitError> {
        let blob = self
            .repo
            .find_blob(id.to_oid())
            .map_err(|e| GitError::new(format!("cannot read blob {}", id.short()), e.message()))?;
        Ok(blob.content().to_vec())
    }

    /// The blob id of a CRM-relative path in a commit's tree, if the path is there.
    pub fn blob_at(&self, commit: ObjectId, path: &str) -> Result<Option<ObjectId>, GitError> {
        let c = self.commit(commit)?;
        let tree = c
            .tree()
            .map_err(|e| GitError::new("cannot read a commit's tree", e.message()))?;
        let full = format!("{}{path}", self.prefix);
        match tree.get_path(Path::new(&full)) {
            Ok(entry) if entry.kind() == Some(git2::ObjectType::Blob) => {
                Ok(Some(ObjectId::from_oid(entry.id())))
            }
            Ok(_) => Ok(None),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(GitError::new(format!("cannot look up {full}"), e.message())),
        }
    }

    /// The blob ids of many CRM-relative paths in a commit's tree, in their order: what
    /// `blob_at` gives for each, reading each folder's tree once. (libgit2 does not cache a
    /// tree over 4 KiB, so looking up 100,000 files of one 30,000-entry folder one by one
    /// unpacked that folder 100,000 times.)
    pub fn blobs_at(
        &self,
        commit: ObjectId,
        paths: &[&str],
    ) -> Result<Vec<Option<ObjectId>>, GitError> {
        let c = self.commit(commit)?;
        let root = c
            .tree()
            .map_err(|e| GitError::new("cannot read a commit's tree", e.message()))?;
        let mut lookup = TreeLookup::new(&self.repo, root, &self.prefix);
        paths
            .iter()
            .map(|p| Ok(lookup.blob(p)?.map(|(id, _)| id)))
            .collect()
    }

    /// The file names (not paths) under a CRM folder of a commit, recursively: used to resolve
    /// references by id without parsing the records.
    pub fn file_names_under(
        &self,
        commit: ObjectId,
        folder: &str,
    ) -> Result<Vec<String>, GitError> {
        let c = self.commit(commit)?;
        let tree = c
            .tree()
            .map_err(|e| GitError::new("cannot read a commit's tree", e.message()))?;
        let full = format!("{}{folder}", self.prefix);
        let sub = match tree.get_path(Path::new(&full)) {
            Ok(entry) => match entry
                .to_object(&self.repo)
                .ok()
                .and_then(|o| o.into_tree().ok())
            {
                Some(t) => t,
                None => return Ok(Vec::new()),
            },
            Err(_) => return Ok(Vec::new()),
        };
        let mut names = Vec::new();
        sub.walk(git2::TreeWalkMode::PreOrder, |_, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                if let Ok(name) = entry.name() {
                    names.push(name.to_string());
                }
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(|e| GitError::new("cannot walk a tree", e.message()))?;
        Ok(names)
    }

    /// A `git` command on this repository: run in the work tree, told this repository's git
    /// dir and work tree (whatever `GIT_DIR` / `GIT_WORK_TREE` say), and never taking an
    /// optional lock (a read such as `git status` would otherwise refresh the index under
    /// `index.lock`, and make a concurrent `git add` fail).
    pub(super) fn command(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.workdir)
            .env("GIT_DIR", self.repo.path())
            .env("GIT_WORK_TREE", &self.workdir)
            .env("GIT_OPTIONAL_LOCKS", "0");
        cmd
    }

    /// Runs the `git` binary in the work tree and returns its stdout.
    pub(super) fn git(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let out = self.command().args(args).output().map_err(|e| {
            GitError::new("cannot run git", e).with_hint("sloop needs the `git` command on PATH")
        })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(GitError::new(
                format!("git {} failed", args.first().copied().unwrap_or("")),
                stderr.trim(),
            ));
        }
        Ok(out.stdout)
    }

    /// Files of the CRM that the index changes relative to HEAD (or to nothing, without a
    /// HEAD), with their blob ids: exactly what the next commit would change.
    pub fn staged_changes(&self) -> Result<Vec<Change>, GitError> {
        match self.head()? {
            Some(head) => self.staged_changes_at(head),
            None => self.staged_against(EMPTY_TREE),
        }
    }

    /// The files of the CRM that the index changes relative to the commit `base`.
    pub(super) fn staged_changes_at(&self, base: ObjectId) -> Result<Vec<Change>, GitError> {
        self.staged_against(&base.to_string())
    }

    fn staged_against(&self, base: &str) -> Result<Vec<Change>, GitError> {
        let pathspec = self.pathspec();
        let out = self.git(&[
            "diff-index",
            "--cached",
            "-z",
            "--no-renames",
            "--no-abbrev",
            "--raw",
            base,
            "--",
            &pathspec,
        ])?;
        Ok(self.parse_raw(&out))
    }

    /// Files of the CRM whose work tree version differs from HEAD (modified, added, deleted,
    /// untracked), with their HEAD blob (None when not in HEAD). `new` is `Some("")` for a
    /// file present on disk, `None` for a deleted one.
    pub fn worktree_changes(&self) -> Result<Vec<Change>, GitError> {
        let Some(head) = self.head()? else {
            return Ok(Vec::new());
        };
        let pathspec = self.pathspec();
        let out = self.git(&[
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--no-renames",
            "--",
            &pathspec,
        ])?;
        let mut changes = Vec::new();
        for item in out.split(|b| *b == 0).filter(|s| s.len() > 3) {
            let (xy, path) = item.split_at(3);
            let Some(path) = self.strip_prefix(&String::from_utf8_lossy(path)) else {
                continue;
            };
            let deleted = xy[1] == b'D' || (xy[0] == b'D' && xy[1] == b' ');
            let old = self.blob_at(head, &path)?;
            let unmerged = xy[0] == b'U' || xy[1] == b'U' || &xy[..2] == b"AA" || &xy[..2] == b"DD";
            changes.push(Change {
                path,
                old,
                new: (!deleted).then_some(ObjectId::NULL),
                unmerged,
                link: false,
            });
        }
        Ok(changes)
    }

    /// Commits of `A..B` (reachable from B, not from A), oldest first.
    pub fn range(&self, spec: &str) -> Result<Vec<ObjectId>, GitError> {
        // `A..B`, or a lone revision `B`: every commit it reaches, the first one included.
        let (from, to) = match spec.split_once("..") {
            Some((a, b)) if !b.starts_with('.') => (Some(a), if b.is_empty() { "HEAD" } else { b }),
            None if !spec.is_empty() => (None, spec),
            _ => {
                return Err(GitError::new(
                    format!("`{spec}` is not a range"),
                    "expected A..B, or a revision",
                )
                .with_hint("for example `--range origin/main..HEAD`, or `--range HEAD`"));
            }
        };
        let from = from.map(|f| if f.is_empty() { "HEAD" } else { f });
        let resolve = |rev: &str| -> Result<git2::Oid, GitError> {
            let obj = self.repo.revparse_single(rev).map_err(|e| {
                let err = GitError::new(format!("unknown revision `{rev}`"), e.message());
                if self.is_shallow() {
                    err.with_hint("this is a shallow clone, so older commits are missing: `git fetch --unshallow` (in CI: `fetch-depth: 0`)")
                } else {
                    err.with_hint("check the name with `git log --oneline`; in CI, fetch the base branch (`fetch-depth: 0`)")
                }
            })?;
            obj.peel_to_commit()
                .map(|c| c.id())
                .map_err(|e| GitError::new(format!("`{rev}` is not a commit"), e.message()))
        };
        let b = resolve(to)?;
        let a = from.map(resolve).transpose()?;
        let mut walk = self
            .repo
            .revwalk()
            .map_err(|e| GitError::new("cannot walk history", e.message()))?;
        walk.push(b)
            .map_err(|e| GitError::new("cannot walk history", e.message()))?;
        if let Some(a) = a {
            walk.hide(a).map_err(|e| self.shallow_walk_error(e))?;
        }
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
            .map_err(|e| GitError::new("cannot walk history", e.message()))?;
        let mut ids = Vec::new();
        for oid in walk {
            let oid = oid.map_err(|e| self.shallow_walk_error(e))?;
            ids.push(ObjectId::from_oid(oid));
        }
        Ok(ids)
    }

    fn shallow_walk_error(&self, e: git2::Error) -> GitError {
        let err = GitError::new("cannot walk history", e.message());
        if self.is_shallow() {
            err.with_hint("this is a shallow clone: its history does not reach the range start. Fetch it all with `git fetch --unshallow` (in CI: `fetch-depth: 0`)")
        } else {
            err
        }
    }

    /// The commit a revision names.
    pub fn resolve(&self, rev: &str) -> Result<ObjectId, GitError> {
        let obj = self
            .repo
            .revparse_single(rev)
            .map_err(|e| GitError::new(format!("unknown revision `{rev}`"), e.message()))?;
        let commit = obj
            .peel_to_commit()
            .map_err(|e| GitError::new(format!("`{rev}` is not a commit"), e.message()))?;
        Ok(ObjectId::from_oid(commit.id()))
    }

    /// Whether `ancestor` is reachable from `descendant` (false when unknown in a shallow clone).
    pub fn reaches(&self, descendant: ObjectId, ancestor: ObjectId) -> bool {
        descendant == ancestor
            || self
                .repo
                .graph_descendant_of(descendant.to_oid(), ancestor.to_oid())
                .unwrap_or(false)
    }

    /// Whether a commit is at the edge of a shallow clone (its parents were not fetched).
    pub fn is_shallow_edge(&self, id: ObjectId) -> bool {
        let hex = id.to_string();
        self.is_shallow()
            && std::fs::read_to_string(self.repo.path().join("shallow"))
                .unwrap_or_default()
                .lines()
                .any(|l| l.trim() == hex)
    }

    /// The first parent of a commit (merge commits are judged against it). In a shallow
    /// clone, a commit at the edge of the fetched history has parents git did not fetch: that
    /// is an error (with the shallow hint), not a root commit.
    pub fn first_parent(&self, id: ObjectId) -> Result<Option<ObjectId>, GitError> {
        if self.is_shallow_edge(id) {
            {
                return Err(GitError::new(format!("the history stops at commit {}", id.short()), "its parents were not fetched")
                    .with_hint("this is a shallow clone: fetch the full history with `git fetch --unshallow` (in CI: `fetch-depth: 0`)"));
            }
        }
        let c = self.commit(id)?;
        if c.parent_count() == 0 {
            return Ok(None);
        }
        match c.parent_id(0) {
            Ok(p) => {
                if self.repo.find_commit(p).is_err() {
                    return Err(GitError::new(format!("the parent of commit {} is missing", id.short()), "object not found")
                        .with_hint("this is a shallow clone: fetch the full history with `git fetch --unshallow` (in CI: `fetch-depth: 0`)"));
                }
                Ok(Some(ObjectId::from_oid(p)))
            }
            Err(e) => Err(self.missing_object(id, e)),
        }
    }

    /// CRM files changed by a commit relative to another (its first parent; `None`: every
    /// file is new). Compares tree entries and descends only into subtrees whose ids differ.
    pub fn changes_between(
        &self,
        old: Option<ObjectId>,
        new: ObjectId,
    ) -> Result<Vec<Change>, GitError> {
        let tree_of = |id: ObjectId| -> Result<Option<git2::Tree<'_>>, GitError> {
            let c = self.commit(id)?;
            let tree = c
                .tree()
                .map_err(|e| GitError::new("cannot read a commit's tree", e.message()))?;
            self.subtree(&tree, &self.prefix)
        };
        let new_tree = tree_of(new)?;
        let old_tree = match old {
            Some(o) => tree_of(o)?,
            None => None,
        };
        let mut out = Vec::new();
        diff_trees(
            &self.repo,
            old_tree.as_ref(),
            new_tree.as_ref(),
            "",
            &mut out,
        )?;
        Ok(out)
    }

    fn subtree<'r>(
        &'r self,
        tree: &git2::Tree<'r>,
        prefix: &str,
    ) -> Result<Option<git2::Tree<'r>>, GitError> {
        if prefix.is_empty() {
            return Ok(Some(tree.clone()));
        }
        match tree.get_path(Path::new(prefix.trim_end_matches('/'))) {
            Ok(entry) => Ok(entry
                .to_object(&self.repo)
                .ok()
                .and_then(|o| o.into_tree().ok())),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(GitError::new("cannot read a tree", e.message())),
        }
    }

    /// Where git runs hooks from: `core.hooksPath` (relative to the work tree) or
    /// `<git dir>/hooks`.
    pub fn hooks_dir(&self) -> PathBuf {
        let configured = self
            .repo
            .config()
            .ok()
            .and_then(|c| c.get_path("core.hooksPath").ok());
        match configured {
            Some(p) if p.is_absolute() => p,
            Some(p) => self.workdir.join(p),
            None => self.repo.commondir().join("hooks"),
        }
    }

    /// The first-parent commits from `head` that changed the CRM-relative file `path`
    /// (added, modified or deleted it), oldest first, each with the file's blob after it
    /// (`None`: deleted). A commit whose folder tree is its parent's is skipped without
    /// reading the folder, so a file's history costs a walk of the commits plus one lookup
    /// per commit that touched its folder.
    pub fn file_versions(
        &self,
        head: ObjectId,
        path: &str,
    ) -> Result<Vec<(CommitInfo, Option<ObjectId>)>, GitError> {
        // Every commit and root tree of the history is read once: kept in libgit2's object
        // cache they held 80 MB after one record's page of `sloop serve` on the benchmark CRM.
        let _uncached = super::Uncached::new();
        let full = format!("{}{path}", self.prefix);
        let (folder, name) = full.rsplit_once('/').unwrap_or(("", full.as_str()));
        let walk_err = |e: git2::Error| GitError::new("cannot walk the history", e.message());
        let mut walk = self.repo.revwalk().map_err(walk_err)?;
        walk.simplify_first_parent().map_err(walk_err)?;
        walk.push(head.to_oid()).map_err(walk_err)?;
        let mut ids = Vec::new();
        for id in walk {
            match id {
                Ok(id) => ids.push(id),
                // A shallow clone's walk stops at its boundary.
                Err(_) if self.is_shallow() => break,
                Err(e) => return Err(walk_err(e)),
            }
        }
        let mut out = Vec::new();
        let mut last_folder: Option<Option<git2::Oid>> = None;
        let mut last_blob: Option<git2::Oid> = None;
        for id in ids.into_iter().rev() {
            let c = self.commit(ObjectId::from_oid(id))?;
            let tree = c
                .tree()
                .map_err(|e| GitError::new("cannot read a commit's tree", e.message()))?;
            let folder_id = if folder.is_empty() {
                Some(tree.id())
            } else {
                match tree.get_path(Path::new(folder)) {
                    Ok(e) if e.kind() == Some(git2::ObjectType::Tree) => Some(e.id()),
                    _ => None,
                }
            };
            if last_folder == Some(folder_id) {
                continue;
            }
            last_folder = Some(folder_id);
            let blob = match folder_id {
                None => None,
                Some(f) => {
                    let t = self
                        .repo
                        .find_tree(f)
                        .map_err(|e| GitError::new(format!("cannot read {folder}"), e.message()))?;
                    t.get_name(name)
                        .filter(|e| e.kind() == Some(git2::ObjectType::Blob))
                        .map(|e| e.id())
                }
            };
            if blob != last_blob {
                last_blob = blob;
                out.push((walk::commit_info(&c), blob.map(ObjectId::from_oid)));
            }
        }
        Ok(out)
    }

    /// The CRM-relative path that `commit` moved a file from: a file under `folder` (`"accounts/"`)
    /// in its first parent that the commit deleted and that `same` accepts (the same record
    /// at another path, as when records move into shard folders). `None` for a root commit
    /// or when no such file was deleted.
    pub fn moved_from(
        &self,
        commit: &CommitInfo,
        folder: &str,
        same: &dyn Fn(&str) -> bool,
    ) -> Result<Option<String>, GitError> {
        let Some(parent) = commit.parent else {
            return Ok(None);
        };
        let tree_err = |e: git2::Error| GitError::new("cannot read a commit's tree", e.message());
        let old = self.commit(parent)?.tree().map_err(tree_err)?;
        let new = self
            .repo
            .find_tree(commit.tree.to_oid())
            .map_err(tree_err)?;
        let mut opts = git2::DiffOptions::new();
        opts.pathspec(format!("{}{folder}", self.prefix));
        let diff = self
            .repo
            .diff_tree_to_tree(Some(&old), Some(&new), Some(&mut opts))
            .map_err(|e| GitError::new("cannot compare a commit with its parent", e.message()))?;
        for delta in diff.deltas() {
            if delta.status() != git2::Delta::Deleted {
                continue;
            }
            let from = delta
                .old_file()
                .path()
                .and_then(|p| p.to_str())
                .and_then(|p| self.strip_prefix(p));
            if let Some(from) = from.filter(|p| same(p)) {
                return Ok(Some(from));
            }
        }
        Ok(None)
    }

    /// git's `user.email`, if set.
    pub fn user_email(&self) -> Option<String> {
        self.repo.config().ok()?.get_string("user.email").ok()
    }

    /// A config value, as git would read it.
    pub fn config_bool(&self, key: &str) -> bool {
        self.repo
            .config()
            .ok()
            .and_then(|c| c.get_bool(key).ok())
            .unwrap_or(false)
    }

    pub(super) fn pathspec(&self) -> String {
        if self.prefix.is_empty() {
            ":/".to_string()
        } else {
            format!(":/{}", self.prefix.trim_end_matches('/'))
        }
    }

    pub(super) fn strip_prefix(&self, repo_path: &str) -> Option<String> {
        repo_path.strip_prefix(&self.prefix).map(str::to_string)
    }

    /// Parses `git diff --raw -z` output: `:old_mode new_mode old new status\0path\0`.
    fn parse_raw(&self, out: &[u8]) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut parts = out.split(|b| *b == 0).filter(|s| !s.is_empty());
        while let (Some(meta), Some(path)) = (parts.next(), parts.next()) {
            let meta = String::from_utf8_lossy(meta);
            let fields: Vec<&str> = meta.trim_start_matches(':').split(' ').collect();
            if fields.len() < 5 {
                continue;
            }
            let blob = |s: &str| s.parse::<ObjectId>().ok().filter(|id| !id.is_null());
            let Some(path) = self.strip_prefix(&String::from_utf8_lossy(path)) else {
                continue;
            };
            // Submodules (mode 160000) and symlinks (120000) are not record files.
            if fields[1].starts_with("16") || fields[0].starts_with("16") {
                continue;
            }
            changes.push(Change {
                path,
                old: blob(fields[2]),
                new: blob(fields[3]),
                unmerged: fields[4].starts_with('U'),
                link: fields[1] == "120000",
            });
        }
        changes
    }
}

/// git's empty tree, the base of a first commit.
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// Compares two trees entry by entry (both sorted by name), descending only into subtrees
/// whose ids differ, and collects changed blobs with their paths.
fn diff_trees(
    repo: &git2::Repository,
    old: Option<&git2::Tree>,
    new: Option<&git2::Tree>,
    base: &str,
    out: &mut Vec<Change>,
) -> Result<(), GitError> {
    use std::collections::BTreeMap;
    type Entry = (git2::Oid, Option<git2::ObjectType>, i32);
    let entries = |t: Option<&git2::Tree>| -> BTreeMap<Vec<u8>, Entry> {
        t.map(|t| {
            t.iter()
                .map(|e| (e.name_bytes().to_vec(), (e.id(), e.kind(), e.filemode())))
                .collect()
        })
        .unwrap_or_default()
    };
    let (a, b) = (entries(old), entries(new));
    let mut names: Vec<&Vec<u8>> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    let find_tree = |id: git2::Oid| {
        repo.find_tree(id)
            .map_err(|e| GitError::new("cannot read a tree", e.message()))
    };
    for name in names {
        let (ea, eb) = (a.get(name), b.get(name));
        if let (Some(x), Some(y)) = (ea, eb) {
            if x.0 == y.0 && x.2 == y.2 {
                continue;
            }
        }
        let path = format!("{base}{}", String::from_utf8_lossy(name));
        let is_tree = |e: Option<&Entry>| e.is_some_and(|e| e.1 == Some(git2::ObjectType::Tree));
        let is_blob = |e: Option<&Entry>| {
            e.is_some_and(|e| e.1 == Some(git2::ObjectType::Blob) && e.2 != 0o120000)
        };
        if is_tree(ea) || is_tree(eb) {
            let ta = if is_tree(ea) {
                Some(find_tree(ea.expect("checked").0)?)
            } else {
                None
            };
            let tb = if is_tree(eb) {
                Some(find_tree(eb.expect("checked").0)?)
            } else {
                None
            };
            diff_trees(repo, ta.as_ref(), tb.as_ref(), &format!("{path}/"), out)?;
        }
        let old_blob = ea.filter(|_| is_blob(ea)).map(|e| ObjectId::from_oid(e.0));
        let new_blob = eb.filter(|_| is_blob(eb)).map(|e| ObjectId::from_oid(e.0));
        if old_blob.is_some() || new_blob.is_some() {
            out.push(Change {
                path,
                old: old_blob,
                new: new_blob,
                unmerged: false,
                link: false,
            });
        }
    }
    Ok(())
}

/// Caps the memory libgit2 maps from pack files (by default up to 8 GiB in 1 GiB windows): a
/// history walk touches a whole pack, which otherwise stays mapped and counts against the
/// process (the 200 MB pack of the large demo). 32 MB windows, 128 MB at most: with one
/// window (32 MB) a cold report of the sharded benchmark peaked 30–50 MiB lower but took
/// 27 s instead of 21 (the mining threads unmapped and mapped windows again, twice the
/// system time; 64 MB: 25 s). Call once, before any thread is started.
pub fn limit_mapped_memory() {
    // SAFETY: libgit2's global options are plain writes; the binary calls this first thing
    // in `main`, before rayon or anything else starts a thread.
    unsafe {
        let _ = git2::opts::set_mwindow_size(32 << 20);
        let _ = git2::opts::set_mwindow_mapped_limit(MAPPED_LIMIT);
    }
}

const MAPPED_LIMIT: usize = 128 << 20;

/// For `sloop serve`: libgit2 maps at most 64 MB of pack files from now on, as a phased
/// command does while it reads in pack order. The server's threads read concurrently, so the
/// limit cannot change between phases; its large pieces of work take turns
/// (`serve::workbench`), and a view built after its CRM's config changed reads every record
/// of HEAD again. Call before the server starts a thread.
pub fn narrow_mapped_memory_for_good() {
    // SAFETY: as in `limit_mapped_memory`: `sloop serve` calls this before it starts a
    // thread (and no command before it started one that reads objects).
    unsafe {
        let _ = git2::opts::set_mwindow_mapped_limit(NARROW_LIMIT);
    }
}

/// Set by `cli::run` for a command that reads objects one phase at a time (every command but
/// `serve`, whose threads read concurrently): only then does `NarrowMapped` change libgit2's
/// limit, between phases.
static PHASED: AtomicBool = AtomicBool::new(false);

/// Lets a source read in pack order narrow libgit2's mapped-memory limit (`NarrowMapped`,
/// `PHASED`).
pub fn allow_phased_mapping() {
    PHASED.store(true, Ordering::SeqCst);
}

/// While one is alive (in a command that allowed it), libgit2 maps at most 64 MB of pack
/// files, not 128. A source over git holds one once it reads in pack order
/// (`BlobSource::read_order`): a pack read in its own order is swept once and needs no more,
/// and the mining, which needs the 128 MB, is over by then. The cold report peaked 40–60 MiB
/// lower at the benchmark's size, in the same time.
pub(super) struct NarrowMapped(bool);

/// How many `NarrowMapped` are alive: the limit is 64 MB while any is.
static NARROWED: AtomicUsize = AtomicUsize::new(0);

const NARROW_LIMIT: usize = 64 << 20;

impl NarrowMapped {
    /// Call where no other thread reads objects (between a command's phases).
    pub(super) fn new() -> Self {
        let on = PHASED.load(Ordering::SeqCst);
        if on && NARROWED.fetch_add(1, Ordering::SeqCst) == 0 {
            // SAFETY: a plain write of libgit2's global option, which libgit2 reads under its
            // window lock; the command allowed phases, and no other thread reads objects
            // here.
            unsafe {
                let _ = git2::opts::set_mwindow_mapped_limit(NARROW_LIMIT);
            }
        }
        NarrowMapped(on)
    }
}

impl Drop for NarrowMapped {
    fn drop(&mut self) {
        if self.0 && NARROWED.fetch_sub(1, Ordering::SeqCst) == 1 {
            // SAFETY: as in `new`: the phase that read through the narrow limit is over.
            unsafe {
                let _ = git2::opts::set_mwindow_mapped_limit(MAPPED_LIMIT);
            }
        }
    }
}

/// Gives back to the operating system the memory libgit2 has freed. libgit2 allocates with
/// the C library's `malloc` (sloop's own allocations go to mimalloc), and glibc keeps what a
/// thread frees in that thread's arena: once a history was mined on every core, 180 MB of
/// freed trees and objects stayed resident through the rest of a cold report. Call after
/// repository handles that read much were dropped; it costs a walk over the free memory.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's `malloc_trim` takes no pointer, and may be called from any thread
        // at any time (it locks each arena in turn).
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Looks up many CRM files in one tree: each folder's tree is read once (libgit2 does not
/// cache a tree over 4 KiB: looking up 100,000 files of a 30,000-entry folder one by one
/// unpacked it 100,000 times) and searched by name (its entries are sorted).
pub(super) struct TreeLookup<'r> {
    repo: &'r git2::Repository,
    root: git2::Tree<'r>,
    prefix: &'r str,
    folders: HashMap<String, Option<git2::Tree<'r>>>,
}

impl<'r> TreeLookup<'r> {
    pub(super) fn new(repo: &'r git2::Repository, root: git2::Tree<'r>, prefix: &'r str) -> Self {
        TreeLookup {
            repo,
            root,
            prefix,
            folders: Default::default(),
        }
    }

    /// The blob at a CRM-relative path, and its mode (`None`: absent, or not a file).
    pub(super) fn blob(&mut self, path: &str) -> Result<Option<(ObjectId, i32)>, GitError> {
        let full = format!("{}{path}", self.prefix);
        let (folder, name) = full.rsplit_once('/').unwrap_or(("", full.as_str()));
        if !self.folders.contains_key(folder) {
            let tree = if folder.is_empty() {
                Some(self.root.clone())
            } else {
                match self.root.get_path(Path::new(folder)) {
                    Ok(e) if e.kind() == Some(git2::ObjectType::Tree) => {
                        Some(self.repo.find_tree(e.id()).map_err(|e| {
                            GitError::new(format!("cannot read {folder}"), e.message())
                        })?)
                    }
                    Ok(_) => None,
                    Err(e) if e.code() == git2::ErrorCode::NotFound => None,
                    Err(e) => {
                        return Err(GitError::new(
                            format!("cannot look up {folder}"),
                            e.message(),
                        ))
                    }
                }
            };
            self.folders.insert(folder.to_string(), tree);
        }
        Ok(self
            .folders
            .get(folder)
            .and_then(Option::as_ref)
            .and_then(|t| t.get_name(name))
            .filter(|e| e.kind() == Some(git2::ObjectType::Blob))
            .map(|e| (ObjectId::from_oid(e.id()), e.filemode_raw())))
    }
}

#[cfg(test)]
mod tests {
    use super::Repo;
    use crate::git::testing::TestRepo;
    use crate::git::ObjectId;

    /// A repository with one commit of `sloop.toml` and `records` (path, text), opened, with
    /// that commit's id (the `TestRepo` keeps the folder).
    fn committed(records: &[(&str, &str)]) -> (TestRepo, Repo, ObjectId) {
        let mut t = TestRepo::new();
        let mut files = vec![("sloop.toml", Some(""))];
        files.extend(records.iter().map(|(path, text)| (*path, Some(*text))));
        let head = t.commit("2026-11-26", "records", &files);
        let repo = Repo::open(t.dir()).unwrap().unwrap();
        (t, repo, head.parse().unwrap())
    }

    #[test]
    fn blobs_at_gives_what_blob_at_gives_for_each_path() {
        let (_t, repo, head) = committed(&[
            ("accounts/acme.toml", "name = \"Acme\"\n"),
            ("accounts/ac/deep.toml", "name = \"Deep\"\n"),
            ("leads/l1.toml", "name = \"L1\"\n"),
            ("leads/l2.toml", "name = \"L2\"\n"),
        ]);
        let paths = [
            "sloop.toml",
            "accounts/acme.toml",
            "accounts/ac/deep.toml",
            "accounts/ac",
            "accounts/none.toml",
            "leads/l2.toml",
            "leads/l1.toml",
            "nothing/here.toml",
            "sloop.toml/under-a-file",
            "leads/l1.toml",
        ];
        let one_by_one: Vec<Option<ObjectId>> = paths
            .iter()
            .map(|p| repo.blob_at(head, p).unwrap())
            .collect();
        assert_eq!(one_by_one.iter().filter(|b| b.is_some()).count(), 6);
        assert_eq!(repo.blobs_at(head, &paths).unwrap(), one_by_one);
    }

    /// A commit's tree is listed once (the listing takes its paths): its files read by
    /// their listing, a file of another listing refused, and a second listing refused.
    #[test]
    fn a_tree_is_listed_once_and_read_by_its_listing() {
        use crate::store::Source;
        let (_t, repo, head) = committed(&[
            ("accounts/acme.toml", "name = \"Acme\"\n"),
            ("leads/l1.toml", "name = \"L1\"\n"),
        ]);
        let source = repo.tree_source(head).unwrap();
        let files = source.list().unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["accounts/acme.toml", "leads/l1.toml"]);
        assert_eq!(source.read(&files[1]).unwrap(), b"name = \"L1\"\n");
        let mut stranger = files[1].clone();
        stranger.path = "leads/l2.toml".into();
        assert!(source.read(&stranger).is_err());
        let again = source.list().unwrap_err().to_string();
        assert!(again.contains("listed already"), "{again}");
    }
}
