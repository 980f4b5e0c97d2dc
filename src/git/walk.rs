//! The read-heavy path: list a branch's first-parent commits, diff trees and read blobs.
//!
//! libgit2's `diff_tree_to_tree` expands unchanged subtrees and is far too slow for mining
//! thousands of commits (PERF-NOTES.md). This differ reads raw tree objects, walks the two
//! sorted entry lists side by side and descends only where subtree ids differ, so a commit
//! costs what its changed folders cost. Raw trees are read from the pack files (`packs`) and
//! kept in a small cache: the new tree of a folder in one commit is the old tree of the same
//! folder in the next commit touching it, and the base its next version is a delta on.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use chrono::{DateTime, FixedOffset};

use super::generations::Generations;
use super::packs::{self, Packs};
use super::{open_repository, Change, CommitInfo, GitError, ObjectId};

/// The commit a walk stopped at, if it was asked to stop, and the commits walked before it,
/// oldest first.
type Walked = (Option<ObjectId>, Vec<CommitInfo>);

/// An open repository, for reading the history. Not shareable across threads: open one per
/// thread.
pub struct Walker {
    repo: git2::Repository,
    /// The pack files the trees are read from, opened at the first diff.
    packs: RefCell<Option<Packs>>,
}

/// Bytes of raw tree objects read through libgit2 (not from the packs) a batch diff keeps.
/// The versions of one folder are compared one after the other, so the cache only has to
/// hold the last few trees read.
const TREE_CACHE_BYTES: usize = 32 << 20;

/// Bytes of trees resolved from the packs a walker keeps, as bases for the next versions
/// (`packs`), and for the next commit's old side. On the benchmark CRM (a 2.4 MB flat folder;
/// thousands of small sharded ones) 16 MB kept a cold agenda's peak where it was with
/// libgit2's reads (442–445 MiB sharded, against 471–477 with 32 MB) and cost little over
/// 32 MB on a pack made by `git repack -adf` (a flat cold report 45 s against 41 s).
const RESOLVED_BYTES: usize = 16 << 20;

impl Walker {
    /// Opens the repository containing `path` (a work tree folder, or a git dir).
    pub fn open(path: &Path) -> Result<Walker, GitError> {
        // libgit2 re-hashes every object it reads with collision-detecting SHA-1: a third of
        // the history walk's time. git itself does not (it verifies in `fsck`); zlib's
        // checksums still catch corrupt objects. The option is process-wide, and only this
        // module reads objects.
        static NO_REHASH: std::sync::Once = std::sync::Once::new();
        NO_REHASH.call_once(|| git2::opts::strict_hash_verification(false));
        let repo = open_repository(path)?.ok_or_else(|| {
            GitError::corrupt(
                format!("{} is not in a git repository", path.display()),
                "no .git found in it or above it",
            )
        })?;
        Ok(Walker {
            repo,
            packs: RefCell::new(None),
        })
    }

    /// Opens the repository as `open` does, reading its objects through pack handles of its
    /// own when `n` is not 0 (see `own_pack_handles`): for the `n`th of parallel threads.
    pub fn open_private(path: &Path, n: usize) -> Result<Walker, GitError> {
        let walker = Walker::open(path)?;
        super::own_pack_handles(&walker.repo, n)?;
        Ok(walker)
    }

    /// The repository's git dir (`.git`, or `.git/worktrees/<name>` for a linked work tree).
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// The git dir shared by every work tree of the repository: where caches belong.
    pub fn common_dir(&self) -> &Path {
        self.repo.commondir()
    }

    /// The work tree root, unless the repository is bare.
    pub fn work_tree(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// The commits at the edge of a shallow clone (git's `shallow` file in the common git
    /// dir), sorted; none when the clone is whole. `git fetch --deepen` or `--unshallow`
    /// changes them.
    pub fn shallow_boundary(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.common_dir().join("shallow")).unwrap_or_default();
        let mut ids: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        ids.sort();
        ids
    }

    /// The path of `dir` inside the work tree as a tree prefix: `""` for the root, `"crm/"`
    /// for a subfolder.
    pub fn prefix_of(&self, dir: &Path) -> Result<String, GitError> {
        let what = || format!("cannot place {} in the repository", dir.display());
        let root = self
            .work_tree()
            .ok_or_else(|| GitError::corrupt(what(), "the repository has no work tree"))?;
        let canonical = |p: &Path| {
            p.canonicalize()
                .map_err(|e| GitError::corrupt(what(), e.to_string()))
        };
        let (root, dir) = (canonical(root)?, canonical(dir)?);
        let rel = dir
            .strip_prefix(&root)
            .map_err(|_| GitError::corrupt(what(), "it is outside the work tree"))?;
        let mut prefix = String::new();
        for c in rel.components() {
            prefix.push_str(&c.as_os_str().to_string_lossy());
            prefix.push('/');
        }
        Ok(prefix)
    }

    /// The commits reachable from `rev` by first parents, oldest first. An unborn `HEAD` (a
    /// repository without commits) has none. A shallow clone's walk stops at its boundary.
    pub fn first_parent_commits(&self, rev: &str) -> Result<Vec<CommitInfo>, GitError> {
        Ok(self
            .first_parent_walk(rev, None, usize::MAX)?
            .map(|(_, commits)| commits)
            .unwrap_or_default())
    }

    /// The commits after the newest commit of the first-parent walk from `rev` that
    /// `is_base` accepts (`rev` itself included), oldest first, with that commit's id; `None`
    /// when none of the first `limit` commits is accepted.
    pub fn first_parent_commits_since(
        &self,
        rev: &str,
        is_base: &dyn Fn(ObjectId) -> bool,
        limit: usize,
    ) -> Result<Option<(ObjectId, Vec<CommitInfo>)>, GitError> {
        self.first_parent_walk(rev, Some(is_base), limit)
            .map(|found| found.and_then(|(base, commits)| Some((base?, commits))))
    }

    fn first_parent_walk(
        &self,
        rev: &str,
        stop: Option<&dyn Fn(ObjectId) -> bool>,
        limit: usize,
    ) -> Result<Option<Walked>, GitError> {
        if rev == "HEAD" {
            if let Err(e) = self.repo.head() {
                if e.code() == git2::ErrorCode::UnbornBranch {
                    return Ok(stop.is_none().then(|| (None, Vec::new())));
                }
            }
        }
        let what = || format!("cannot list the commits of {rev}");
        let mut commit = self
            .repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| GitError::new(what(), e.message()))?;
        let mut out = Vec::new();
        loop {
            if let Some(stop) = stop {
                let id = ObjectId::from_oid(commit.id());
                if stop(id) {
                    out.reverse();
                    return Ok(Some((Some(id), out)));
                }
            }
            if out.len() >= limit {
                return Ok(None);
            }
            out.push(commit_info(&commit));
            let Ok(parent) = commit.parent_id(0) else {
                break;
            };
            match self.repo.find_commit(parent) {
                Ok(c) => commit = c,
                Err(e) if e.code() == git2::ErrorCode::NotFound => break,
                Err(e) => return Err(GitError::new(what(), e.message())),
            }
        }
        if stop.is_some() {
            return Ok(None);
        }
        out.reverse();
        Ok(Some((None, out)))
    }

    /// The files added, modified or deleted from `old_tree` (`None`: an empty tree) to
    /// `new_tree`, restricted to `prefix` (`""` or `"crm/"`), with paths relative to it, sorted
    /// by path. Subtrees with equal ids are skipped without being read. Only regular files
    /// count: symlinks and submodules are ignored; a file replaced by a folder of the same name
    /// is a deletion plus the folder's files. To diff many commits, use `changed_files_batch`:
    /// one call per commit is ten times slower on a long history.
    pub fn changed_files(
        &self,
        old_tree: Option<ObjectId>,
        new_tree: ObjectId,
        prefix: &str,
    ) -> Result<Vec<Change>, GitError> {
        let mut out = self.changed_files_batch(&[(old_tree, new_tree)], prefix)?;
        Ok(out.pop().unwrap_or_default())
    }

    /// `changed_files` for many pairs of trees (typically each commit of a walk and its
    /// parent), much faster than one pair at a time: each folder's versions are compared one
    /// after the other (see `Differ`).
    pub fn changed_files_batch(
        &self,
        pairs: &[(Option<ObjectId>, ObjectId)],
        prefix: &str,
    ) -> Result<Vec<Vec<Change>>, GitError> {
        let odb = self
            .repo
            .odb()
            .map_err(|e| GitError::new("cannot open the object database", e.message()))?;
        let mut packs = self.packs.borrow_mut();
        let packs = packs.get_or_insert_with(|| {
            // With the object folder moved by the environment, libgit2 reads them all.
            let objects = (std::env::var_os("GIT_OBJECT_DIRECTORY").is_none())
                .then(|| self.repo.commondir().join("objects"));
            Packs::open(objects.as_deref(), RESOLVED_BYTES)
        });
        let mut differ = Differ {
            odb: &odb,
            packs,
            cache: TreeCache::new(TREE_CACHE_BYTES),
            path: Vec::new(),
            out: vec![Vec::new(); pairs.len()],
        };
        let mut roots = Vec::with_capacity(pairs.len());
        for (index, (old, new)) in pairs.iter().enumerate() {
            let old = match old {
                Some(root) => differ.subtree(*root, prefix)?,
                None => None,
            };
            let new = differ.subtree(*new, prefix)?;
            roots.push(Pair { index, old, new });
        }
        differ.diff(&roots)?;
        let mut out = differ.out;
        for changes in &mut out {
            changes.sort_by(|a, b| a.path.cmp(&b.path));
        }
        Ok(out)
    }

    /// The contents of a blob.
    pub fn read_blob(&self, id: ObjectId) -> Result<Vec<u8>, GitError> {
        self.with_blob(id, <[u8]>::to_vec)
    }

    /// `read` given the contents of a blob where libgit2 read them, without a copy (the
    /// history reads a million blobs only to parse them).
    pub fn with_blob<R>(&self, id: ObjectId, read: impl FnOnce(&[u8]) -> R) -> Result<R, GitError> {
        let what = || format!("cannot read blob {id}");
        let odb = self
            .repo
            .odb()
            .map_err(|e| GitError::new(what(), e.message()))?;
        let object = odb
            .read(id.to_oid())
            .map_err(|e| GitError::new(what(), e.message()))?;
        if object.kind() != git2::ObjectType::Blob {
            return Err(GitError::corrupt(what(), "not a blob"));
        }
        Ok(read(object.data()))
    }
}

/// How many `Uncached` guards are alive in the process.
static UNCACHED: std::sync::Mutex<usize> = std::sync::Mutex::new(0);

/// While one is alive, libgit2 keeps no object in its object caches (a process-wide switch,
/// turned back on when the last guard drops). Mining the history reads each version of a
/// tree or blob once or twice and keeps the trees it compares itself (`TreeCache`), while
/// libgit2 looked every object read up in its cache and stored every tree and commit up to 4
/// KiB there (a hash map under a lock, and up to 256 MB held): work and memory for nothing.
pub struct Uncached(());

impl Uncached {
    pub fn new() -> Self {
        let mut alive = UNCACHED.lock().unwrap_or_else(|e| e.into_inner());
        if *alive == 0 {
            git2::opts::enable_caching(false);
        }
        *alive += 1;
        Uncached(())
    }
}

impl Default for Uncached {
    fn default() -> Self {
        Uncached::new()
    }
}

impl Drop for Uncached {
    fn drop(&mut self) {
        let mut alive = UNCACHED.lock().unwrap_or_else(|e| e.into_inner());
        *alive -= 1;
        if *alive == 0 {
            git2::opts::enable_caching(true);
        }
    }
}

/// The commits reachable from `rev` by first parents, oldest first, in the repository
/// containing `repo_dir`.
pub fn first_parent_commits(repo_dir: &Path, rev: &str) -> Result<Vec<CommitInfo>, GitError> {
    Walker::open(repo_dir)?.first_parent_commits(rev)
}

pub(super) fn commit_info(c: &git2::Commit) -> CommitInfo {
    let author = c.author();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    CommitInfo {
        id: ObjectId::from_oid(c.id()),
        parent: c.parent_id(0).ok().map(ObjectId::from_oid),
        tree: ObjectId::from_oid(c.tree_id()),
        author_name: text(author.name_bytes()),
        author_email: text(author.email_bytes()),
        author_date: date(author.when()),
        committer_date: date(c.committer().when()),
        summary: c.summary_bytes().map(text).unwrap_or_default(),
    }
}

fn date(t: git2::Time) -> DateTime<FixedOffset> {
    let utc = chrono::Offset::fix(&chrono::Utc);
    let offset = FixedOffset::east_opt(t.offset_minutes() * 60).unwrap_or(utc);
    DateTime::from_timestamp(t.seconds(), 0)
        .unwrap_or_default()
        .with_timezone(&offset)
}

/// Raw tree objects by id.
type TreeCache = Generations<ObjectId, Tree>;

/// A raw tree object.
type Tree = Rc<Vec<u8>>;

/// One pair of trees to compare, for the commit at `index` of a batch.
#[derive(Debug, Clone, Copy)]
struct Pair {
    index: usize,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
}

/// Compares many pairs of trees folder by folder: every version of a folder is compared in
/// commit order before the next folder is entered. Reading all versions of one folder in a
/// row is what makes it fast: consecutive versions of a tree are links of one delta chain in
/// a pack, and `packs` keeps the links it has just resolved in a small (16 MB) cache that
/// reading other folders in between would flush.
struct Differ<'o> {
    odb: &'o git2::Odb<'o>,
    /// Where trees are read first; what they cannot read, libgit2 reads.
    packs: &'o mut Packs,
    cache: TreeCache,
    /// The folder being compared, relative to the prefix, with a trailing `/`.
    path: Vec<u8>,
    /// The changes of each pair of the batch.
    out: Vec<Vec<Change>>,
}

impl<'o> Differ<'o> {
    fn tree(&mut self, id: ObjectId) -> Result<Tree, GitError> {
        if let Some(t) = self.cache.get(&id) {
            return Ok(t);
        }
        let what = || format!("cannot read tree {id}");
        match self.packs.read(&id) {
            // `packs` keeps it.
            Some((packs::Kind::Tree, tree)) => Ok(tree),
            Some(_) => Err(GitError::corrupt(what(), "not a tree")),
            None => {
                let object = self
                    .odb
                    .read(id.to_oid())
                    .map_err(|e| GitError::new(what(), e.message()))?;
                if object.kind() != git2::ObjectType::Tree {
                    return Err(GitError::corrupt(what(), "not a tree"));
                }
                let tree = Rc::new(object.data().to_vec());
                self.cache.insert(id, tree.clone(), tree.len());
                Ok(tree)
            }
        }
    }

    /// The tree at `prefix` (`"a/b/"`) below `root`, if there is one.
    fn subtree(&mut self, root: ObjectId, prefix: &str) -> Result<Option<ObjectId>, GitError> {
        let mut id = root;
        for name in prefix.split('/').filter(|c| !c.is_empty()) {
            let tree = self.tree(id)?;
            let mut entries = Entries::new(&tree, id);
            let mut found = None;
            while let Some(e) = entries.next_entry()? {
                if e.name == name.as_bytes() && e.kind == EntryKind::Tree {
                    found = Some(e.object_id());
                    break;
                }
            }
            match found {
                Some(sub) => id = sub,
                None => return Ok(None),
            }
        }
        Ok(Some(id))
    }

    /// Compares the pairs of versions of the folder at `self.path`, then enters each
    /// subfolder that differs in any of them.
    fn diff(&mut self, pairs: &[Pair]) -> Result<(), GitError> {
        let mut below: BTreeMap<Vec<u8>, Vec<Pair>> = BTreeMap::new();
        for pair in pairs.iter().filter(|p| p.old != p.new) {
            self.diff_one(*pair, &mut below)?;
        }
        for (name, pairs) in below {
            let len = self.path.len();
            self.path.extend_from_slice(&name);
            self.path.push(b'/');
            self.diff(&pairs)?;
            self.path.truncate(len);
        }
        Ok(())
    }

    /// Compares one pair of trees: files are changes, differing subtrees go to `below`.
    fn diff_one(
        &mut self,
        pair: Pair,
        below: &mut BTreeMap<Vec<u8>, Vec<Pair>>,
    ) -> Result<(), GitError> {
        let old_data = pair.old.map(|id| self.tree(id)).transpose()?;
        let new_data = pair.new.map(|id| self.tree(id)).transpose()?;
        let zero = ObjectId([0; 20]);
        let old_bytes = old_data.as_ref().map_or(&[][..], |t| &t[..]);
        let new_bytes = new_data.as_ref().map_or(&[][..], |t| &t[..]);
        let (old_id, new_id) = (pair.old.unwrap_or(zero), pair.new.unwrap_or(zero));
        // Versions of a big folder differ in a few entries: skip runs of identical entries
        // from the start and after each equal name, and stop at the identical end: when both
        // sides are at entry boundaries with as many bytes left, all within their common
        // suffix.
        let same_tail = common_suffix(old_bytes, new_bytes);
        let at_tail =
            |a: &Entries, b: &Entries| a.data.len() == b.data.len() && a.data.len() <= same_tail;
        let mut a = Entries::new(old_bytes, old_id);
        let mut b = Entries::new(new_bytes, new_id);
        skip_identical(&mut a, &mut b);
        let (mut x, mut y) = (a.next_entry()?, b.next_entry()?);
        let mut sides = |differ: &mut Self, old: Option<Entry>, new: Option<Entry>| {
            differ.sides(pair.index, old, new, below)
        };
        loop {
            match (x, y) {
                (None, None) => return Ok(()),
                (Some(ex), None) => {
                    sides(self, Some(ex), None);
                    x = a.next_entry()?;
                }
                (None, Some(ey)) => {
                    sides(self, None, Some(ey));
                    y = b.next_entry()?;
                }
                (Some(ex), Some(ey)) => match ex.git_cmp(&ey) {
                    Ordering::Less => {
                        sides(self, Some(ex), None);
                        x = a.next_entry()?;
                    }
                    Ordering::Greater => {
                        sides(self, None, Some(ey));
                        y = b.next_entry()?;
                    }
                    Ordering::Equal => {
                        if ex.id != ey.id || ex.kind != ey.kind {
                            sides(self, Some(ex), Some(ey));
                        }
                        if at_tail(&a, &b) {
                            return Ok(());
                        }
                        skip_identical(&mut a, &mut b);
                        x = a.next_entry()?;
                        y = b.next_entry()?;
                    }
                },
            }
        }
    }

    /// One name that differs between the two versions (present in one or both).
    fn sides(
        &mut self,
        index: usize,
        old: Option<Entry>,
        new: Option<Entry>,
        below: &mut BTreeMap<Vec<u8>, Vec<Pair>>,
    ) {
        let id_if = |e: Option<Entry>, kind| e.filter(|e| e.kind == kind).map(|e| e.object_id());
        let Some(name) = old.or(new).map(|e| e.name) else {
            return;
        };
        let (old_tree, new_tree) = (id_if(old, EntryKind::Tree), id_if(new, EntryKind::Tree));
        if old_tree.is_some() || new_tree.is_some() {
            below.entry(name.to_vec()).or_default().push(Pair {
                index,
                old: old_tree,
                new: new_tree,
            });
        }
        let (old_file, new_file) = (id_if(old, EntryKind::File), id_if(new, EntryKind::File));
        if old_file.is_some() || new_file.is_some() {
            let mut path = String::with_capacity(self.path.len() + name.len());
            path.push_str(&String::from_utf8_lossy(&self.path));
            path.push_str(&String::from_utf8_lossy(name));
            self.out[index].push(Change {
                path,
                old: old_file,
                new: new_file,
                unmerged: false,
                link: false,
            });
        }
    }
}

/// Moves both entry lists, which start at entry boundaries, past the entries they start
/// with in common, byte for byte. Entries are not parsed: an entry is `<mode> <name>\0<20-byte
/// id>`, and neither modes nor names hold a NUL byte, so from an entry boundary the next one
/// is 21 bytes after the first NUL.
fn skip_identical(a: &mut Entries, b: &mut Entries) {
    let same = common_prefix(a.data, b.data);
    // The last boundary at or before `same`. A mode and its space take 6 or 7 bytes and a
    // name at least one: the NUL that ends the name is past `at + 7`.
    let head = &a.data[..same];
    let mut at = 0;
    while let Some(nul) = head.get(at + 7..).and_then(|h| memchr::memchr(0, h)) {
        let end = at + 7 + nul + 21;
        if end > same {
            break;
        }
        at = end;
    }
    a.data = &a.data[at..];
    b.data = &b.data[at..];
}

/// The bytes at `at` as a little-endian word (`at + 8 <= bytes.len()`).
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// How many bytes `a` and `b` start with in common. Long equal runs are compared a block at
/// a time (one `memcmp` each: called every 64 bytes, `memcmp` was a seventh of a cold
/// report's mining), the block that differs a word at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    while i + 8 <= n {
        let diff = word(a, i) ^ word(b, i);
        if diff != 0 {
            return i + (diff.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// How many bytes `a` and `b` end with in common (as `common_prefix`, from the end).
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut i = 0;
    while i + BLOCK <= n && a[n - i - BLOCK..n - i] == b[n - i - BLOCK..n - i] {
        i += BLOCK;
    }
    while i + 8 <= n {
        let diff = word(a, n - i - 8) ^ word(b, n - i - 8);
        if diff != 0 {
            return i + (diff.leading_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[n - i - 1] == b[n - i - 1] {
        i += 1;
    }
    i
}

/// Bytes compared at once by `common_prefix` and `common_suffix` while they are equal.
const BLOCK: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    Tree,
    /// A regular file (mode 100644 or 100755).
    File,
    /// A symlink or a submodule.
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Entry<'a> {
    kind: EntryKind,
    name: &'a [u8],
    id: &'a [u8],
}

impl Entry<'_> {
    fn object_id(&self) -> ObjectId {
        let mut bytes = [0; 20];
        bytes.copy_from_slice(self.id);
        ObjectId(bytes)
    }

    /// Git's tree order: names compare bytewise, a folder as if its name ended with `/`.
    fn git_cmp(&self, other: &Entry) -> Ordering {
        let n = self.name.len().min(other.name.len());
        self.name[..n].cmp(&other.name[..n]).then_with(|| {
            let end = |e: &Entry| match e.name.get(n) {
                Some(&c) => c,
                None if e.kind == EntryKind::Tree => b'/',
                None => 0,
            };
            end(self).cmp(&end(other))
        })
    }
}

/// The entries of a raw tree object: `<octal mode> <name>\0<20-byte id>`, repeated.
struct Entries<'a> {
    data: &'a [u8],
    tree: ObjectId,
}

impl<'a> Entries<'a> {
    fn new(data: &'a [u8], tree: ObjectId) -> Self {
        Entries { data, tree }
    }

    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, GitError> {
        if self.data.is_empty() {
            return Ok(None);
        }
        let malformed =
            || GitError::corrupt(format!("cannot read tree {}", self.tree), "malformed");
        let space = self
            .data
            .iter()
            .position(|&b| b == b' ')
            .ok_or_else(malformed)?;
        let rest = &self.data[space + 1..];
        let nul = rest.iter().position(|&b| b == 0).ok_or_else(malformed)?;
        if rest.len() < nul + 21 {
            return Err(malformed());
        }
        let kind = match &self.data[..space] {
            b"40000" | b"040000" => EntryKind::Tree,
            b"120000" | b"160000" => EntryKind::Other,
            _ => EntryKind::File,
        };
        let entry = Entry {
            kind,
            name: &rest[..nul],
            id: &rest[nul + 1..nul + 21],
        };
        self.data = &rest[nul + 21..];
        Ok(Some(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestRepo;
    use super::*;

    /// The word-wise common prefix and suffix equal a byte-by-byte count, whatever the
    /// lengths and wherever the first difference is (in a block, a word, the tail bytes).
    #[test]
    fn common_prefix_and_suffix_count_byte_for_byte() {
        let naive_prefix = |a: &[u8], b: &[u8]| a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let naive_suffix = |a: &[u8], b: &[u8]| {
            a.iter()
                .rev()
                .zip(b.iter().rev())
                .take_while(|(x, y)| x == y)
                .count()
        };
        let base: Vec<u8> = (0..700u32).map(|i| (i * 31 % 251) as u8).collect();
        for len in [0, 1, 7, 8, 9, 63, 64, 255, 256, 257, 513, 700] {
            let a = &base[..len];
            let last = len.checked_sub(1);
            for at in (0..len).step_by(1 + len / 40).chain(last) {
                for bit in [0x01u8, 0x80] {
                    let mut b = a.to_vec();
                    b[at] ^= bit;
                    assert_eq!(
                        common_prefix(a, &b),
                        naive_prefix(a, &b),
                        "len {len} at {at}"
                    );
                    assert_eq!(
                        common_suffix(a, &b),
                        naive_suffix(a, &b),
                        "len {len} at {at}"
                    );
                }
            }
            // Different lengths: one a prefix (or a suffix) of the other.
            let longer = [a, &base[..3]].concat();
            assert_eq!(common_prefix(a, &longer), len);
            let longer = [&base[..5], a].concat();
            assert_eq!(common_suffix(a, &longer), naive_suffix(a, &longer));
        }
    }
    use std::collections::BTreeMap;

    fn changes(repo: &Walker, old: Option<&str>, new: &str, prefix: &str) -> Vec<String> {
        let tree = |sha: &str| {
            let commits = repo.first_parent_commits(sha).unwrap();
            commits.last().unwrap().tree
        };
        repo.changed_files(old.map(tree), tree(new), prefix)
            .unwrap()
            .into_iter()
            .map(|c| {
                let mark = match (c.old, c.new) {
                    (None, Some(_)) => "A",
                    (Some(_), None) => "D",
                    _ => "M",
                };
                format!("{mark} {}", c.path)
            })
            .collect()
    }

    #[test]
    fn lists_first_parent_commits_oldest_first_with_fixed_dates() {
        let mut t = TestRepo::new();
        let a = t.commit("2026-01-05", "first", &[("a.txt", Some("1"))]);
        let b = t.commit("2026-01-06", "second\n\nbody", &[("a.txt", Some("2"))]);
        let repo = Walker::open(t.dir()).unwrap();
        let commits = repo.first_parent_commits("HEAD").unwrap();
        assert_eq!(commits.len(), 2);
        assert_eq!(commits[0].id.to_string(), a);
        assert_eq!(commits[0].parent, None);
        assert_eq!(commits[1].id.to_string(), b);
        assert_eq!(
            commits[1].parent.map(|p| p.to_string()).as_deref(),
            Some(a.as_str())
        );
        assert_eq!(commits[1].summary, "second");
        assert_eq!(commits[1].author_name, "Alice Martin");
        assert_eq!(commits[1].author_email, "alice@example.com");
        assert_eq!(
            commits[1].author_date.to_rfc3339(),
            "2026-01-06T10:00:00+01:00"
        );
        assert_eq!(commits[1].committer_date, commits[1].author_date);
    }

    /// The mining threads' walkers: each reads the packs through handles of its own, and
    /// reads what the shared handles read, loose objects and packed ones.
    #[test]
    fn a_walker_with_its_own_pack_handles_reads_the_same_objects() {
        let mut t = TestRepo::new();
        let a = t.commit("2026-01-05", "a", &[("dir/a.toml", Some("a1"))]);
        t.git(&["repack", "-adq"]);
        let b = t.commit("2026-01-06", "b", &[("dir/a.toml", Some("a2"))]);
        let shared = Walker::open(t.dir()).unwrap();
        let blobs = |w: &Walker| {
            let commits = w.first_parent_commits("HEAD").unwrap();
            let change = w
                .changed_files_batch(&[(Some(commits[0].tree), commits[1].tree)], "")
                .unwrap()
                .remove(0)
                .remove(0);
            let read = |id| w.with_blob(id, |b| b.to_vec()).unwrap();
            (
                commits.len(),
                change.path.clone(),
                read(change.old.unwrap()),
                read(change.new.unwrap()),
            )
        };
        let expected = (2, "dir/a.toml".to_string(), b"a1".to_vec(), b"a2".to_vec());
        assert_eq!(blobs(&shared), expected);
        for n in 1..3 {
            let own = Walker::open_private(t.dir(), n).unwrap();
            assert_eq!(blobs(&own), expected, "handle set {n}");
        }
        // A repository borrowing objects from another keeps the shared handles (and reads).
        let mut other = TestRepo::new();
        other.commit("2026-01-05", "o", &[("x.toml", Some("x"))]);
        std::fs::create_dir_all(other.dir().join(".git/objects/info")).unwrap();
        std::fs::write(
            other.dir().join(".git/objects/info/alternates"),
            format!("{}\n", t.dir().join(".git/objects").display()),
        )
        .unwrap();
        let borrowing = Walker::open_private(other.dir(), 1).unwrap();
        assert!(borrowing.first_parent_commits(&a).is_ok());
        assert!(borrowing.first_parent_commits(&b).is_ok());
    }

    #[test]
    fn an_empty_repository_has_no_commits() {
        let t = TestRepo::new();
        assert!(first_parent_commits(t.dir(), "HEAD").unwrap().is_empty());
        assert!(first_parent_commits(t.dir(), "nope").is_err());
    }

    #[test]
    fn merges_are_walked_by_first_parent() {
        let mut t = TestRepo::new();
        let base = t.commit("2026-01-05", "base", &[("a.txt", Some("1"))]);
        let side = t.side_commit(&base, "2026-01-06", "side", &[("b.txt", Some("side"))]);
        let main = t.commit("2026-01-07", "main", &[("a.txt", Some("2"))]);
        let merge = t.merge(&side, "2026-01-08", "merge", &[("b.txt", Some("side"))]);
        let shas: Vec<String> = first_parent_commits(t.dir(), "HEAD")
            .unwrap()
            .into_iter()
            .map(|c| c.id.to_string())
            .collect();
        assert_eq!(shas, [base, main, merge]);
    }

    #[test]
    fn diffs_trees_by_descending_only_into_changed_folders() {
        let mut t = TestRepo::new();
        let a = t.commit(
            "2026-01-05",
            "a",
            &[
                ("keep/x.toml", Some("x")),
                ("dir/a.toml", Some("a")),
                ("dir/sub/b.toml", Some("b")),
                ("gone/c.toml", Some("c")),
                ("file-then-dir", Some("f")),
                ("z.toml", Some("z")),
            ],
        );
        let b = t.commit(
            "2026-01-06",
            "b",
            &[
                ("dir/a.toml", Some("a2")),
                ("dir/sub/b.toml", None),
                ("dir/sub-new/b.toml", Some("b")),
                ("gone/c.toml", None),
                ("file-then-dir", None),
                ("file-then-dir/f.toml", Some("f")),
                ("new/deep/d.toml", Some("d")),
            ],
        );
        let repo = Walker::open(t.dir()).unwrap();
        assert_eq!(
            changes(&repo, Some(&a), &b, ""),
            [
                "M dir/a.toml",
                "A dir/sub-new/b.toml",
                "D dir/sub/b.toml",
                "D file-then-dir",
                "A file-then-dir/f.toml",
                "D gone/c.toml",
                "A new/deep/d.toml",
            ]
        );
        assert_eq!(
            changes(&repo, None, &a, ""),
            [
                "A dir/a.toml",
                "A dir/sub/b.toml",
                "A file-then-dir",
                "A gone/c.toml",
                "A keep/x.toml",
                "A z.toml",
            ]
        );
        assert!(changes(&repo, Some(&b), &b, "").is_empty());
    }

    #[test]
    fn restricts_the_diff_to_a_prefix() {
        let mut t = TestRepo::new();
        let a = t.commit(
            "2026-01-05",
            "a",
            &[("README.md", Some("r")), ("docs/x.toml", Some("x"))],
        );
        let b = t.commit(
            "2026-01-06",
            "b",
            &[
                ("README.md", Some("r2")),
                ("crm/accounts/acme.toml", Some("a")),
                ("crm/sloop.toml", Some("")),
            ],
        );
        let c = t.commit(
            "2026-01-07",
            "c",
            &[
                ("crm/accounts/acme.toml", Some("a2")),
                ("crm-other/x.toml", Some("x")),
            ],
        );
        let repo = Walker::open(t.dir()).unwrap();
        assert!(changes(&repo, None, &a, "crm/").is_empty());
        assert_eq!(
            changes(&repo, Some(&a), &b, "crm/"),
            ["A accounts/acme.toml", "A sloop.toml"]
        );
        assert_eq!(
            changes(&repo, Some(&b), &c, "crm/"),
            ["M accounts/acme.toml"]
        );
        assert_eq!(
            changes(&repo, Some(&b), &c, "crm/accounts"),
            ["M acme.toml"]
        );
    }

    /// Many versions of folders with hundreds of entries, changed in several places at once
    /// (first and last entries, neighbours, names that prefix each other, files that become
    /// folders): the batch differ agrees with a plain comparison of the file lists.
    #[test]
    fn batch_diffs_agree_with_comparing_file_lists() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n) as usize
        };
        let names = |i: usize| match i % 5 {
            0 => format!("r{i}.toml"),
            1 => format!("r{i}"),
            2 => format!("r{}-x.toml", i - 1),
            3 => format!("r{}.x", i - 3),
            // A folder named like the files `r<j>` (i % 5 == 1) and `d<k>` folders.
            _ if i.is_multiple_of(2) => format!("r{}/f.toml", i - 3),
            _ => format!("d{}/f{}.toml", i % 7, i % 3),
        };
        let mut t = TestRepo::new();
        let mut files: BTreeMap<String, String> = BTreeMap::new();
        let mut snapshots = Vec::new();
        for version in 0..40 {
            let mut changes: Vec<(String, Option<String>)> = Vec::new();
            let count = if version == 0 { 400 } else { 1 + next(8) };
            for _ in 0..count {
                let i = match next(4) {
                    0 => 0,
                    1 => 399,
                    _ => next(400),
                };
                let (folder, name) = (["a", "b/c"][next(2)], names(i));
                let path = format!("{folder}/{name}");
                // A file where a folder of the same name is (or the reverse) is skipped.
                let dir = format!("{path}/");
                let has_children = files
                    .range(dir.clone()..)
                    .next()
                    .is_some_and(|(p, _)| p.starts_with(&dir));
                let parent_is_file = path
                    .rsplit_once('/')
                    .is_some_and(|(parent, _)| files.contains_key(parent));
                if has_children || parent_is_file {
                    continue;
                }
                let contents = if files.contains_key(&path) && next(3) == 0 {
                    None
                } else {
                    Some(format!("v{version} {}", next(1000)))
                };
                match &contents {
                    Some(c) => files.insert(path.clone(), c.clone()),
                    None => files.remove(&path),
                };
                changes.push((path, contents));
            }
            // Every few versions, `a/r11` turns from a file into a folder or back, in one commit.
            if version % 5 == 4 {
                let inside: Vec<String> = files
                    .keys()
                    .filter(|p| p.starts_with("a/r11/"))
                    .cloned()
                    .collect();
                let (gone, born) = if files.contains_key("a/r11") || inside.is_empty() {
                    (vec!["a/r11".to_string()], "a/r11/f.toml")
                } else {
                    (inside, "a/r11")
                };
                for path in gone {
                    files.remove(&path);
                    changes.retain(|(p, _)| *p != path);
                    changes.push((path, None));
                }
                changes.retain(|(p, _)| p != born);
                files.insert(born.to_string(), format!("flip {version}"));
                changes.push((born.to_string(), Some(format!("flip {version}"))));
            }
            let changes: Vec<(&str, Option<&str>)> = changes
                .iter()
                .map(|(p, c)| (p.as_str(), c.as_deref()))
                .collect();
            let sha = t.commit("2026-01-05", "v", &changes);
            snapshots.push((sha, files.clone()));
        }
        // Trees read as libgit2 stores them (loose), from git's packs with deltas on bases at
        // offsets and on bases named by id (`packs`).
        let check = |how: &str| {
            let repo = Walker::open(t.dir()).unwrap();
            let commits = repo.first_parent_commits("HEAD").unwrap();
            let pairs: Vec<_> = (0..commits.len())
                .map(|i| (i.checked_sub(1).map(|p| commits[p].tree), commits[i].tree))
                .collect();
            let batch = repo.changed_files_batch(&pairs, "").unwrap();
            let empty = BTreeMap::new();
            for (i, (sha, after)) in snapshots.iter().enumerate() {
                assert_eq!(&commits[i].id.to_string(), sha);
                let before = if i == 0 { &empty } else { &snapshots[i - 1].1 };
                let mut expected: Vec<(String, bool, bool)> = before
                    .keys()
                    .chain(after.keys())
                    .filter(|p| before.get(*p) != after.get(*p))
                    .map(|p| (p.clone(), before.contains_key(p), after.contains_key(p)))
                    .collect();
                expected.sort();
                expected.dedup();
                let got: Vec<(String, bool, bool)> = batch[i]
                    .iter()
                    .map(|c| (c.path.clone(), c.old.is_some(), c.new.is_some()))
                    .collect();
                assert_eq!(got, expected, "{how}: commit {i}");
                let one = repo.changed_files(pairs[i].0, pairs[i].1, "").unwrap();
                assert_eq!(one, batch[i]);
            }
        };
        check("loose");
        t.git(&["repack", "-adfq"]);
        check("packed");
        t.git(&["-c", "repack.useDeltaBaseOffset=false", "repack", "-adfq"]);
        check("packed, bases named");
    }

    #[test]
    fn reads_blobs_by_id() {
        let mut t = TestRepo::new();
        let a = t.commit("2026-01-05", "a", &[("a.txt", Some("hello"))]);
        let repo = Walker::open(t.dir()).unwrap();
        let tree = repo.first_parent_commits(&a).unwrap()[0].tree;
        let change = &repo.changed_files(None, tree, "").unwrap()[0];
        assert_eq!(repo.read_blob(change.new.unwrap()).unwrap(), b"hello");
        assert_eq!(repo.with_blob(change.new.unwrap(), <[u8]>::len).unwrap(), 5);
        assert!(repo.read_blob(tree).is_err());
        assert!(repo.with_blob(tree, <[u8]>::len).is_err());
    }

    #[test]
    fn git_order_puts_folders_after_same_named_files() {
        let e = |name: &'static str, kind| Entry {
            kind,
            name: name.as_bytes(),
            id: &[0; 20],
        };
        let file = e("a", EntryKind::File);
        let dir = e("a", EntryKind::Tree);
        let dotted = e("a.b", EntryKind::File);
        let dashed = e("a-b", EntryKind::File);
        assert_eq!(file.git_cmp(&dir), Ordering::Less);
        // "a-" < "a." < "a/" < "a0"
        assert_eq!(dashed.git_cmp(&dir), Ordering::Less);
        assert_eq!(dotted.git_cmp(&dir), Ordering::Less);
        assert_eq!(dir.git_cmp(&e("a0", EntryKind::File)), Ordering::Less);
        assert_eq!(file.git_cmp(&dashed), Ordering::Less);
    }
}
