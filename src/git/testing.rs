//! Test repositories built in-process with fixed signatures and dates, so that tests of the
//! modules above git never touch git2 themselves.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A repository in a temporary folder whose branch `main` is built commit by commit. Every
/// commit is dated `<date>T10:00:00+01:00` (author and committer).
pub(crate) struct TestRepo {
    dir: tempfile::TempDir,
    repo: git2::Repository,
    /// The files of `main`'s tip.
    files: BTreeMap<String, String>,
    head: Option<git2::Oid>,
    snapshots: HashMap<git2::Oid, BTreeMap<String, String>>,
    /// Blob ids by contents: trees are rewritten whole at each commit.
    blobs: RefCell<HashMap<String, git2::Oid>>,
    /// The author (and committer) of the next commits.
    pub author: (String, String),
}

type Changes<'a> = &'a [(&'a str, Option<&'a str>)];

impl TestRepo {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = git2::Repository::init(dir.path()).expect("git init");
        repo.set_head("refs/heads/main").expect("set HEAD");
        TestRepo {
            dir,
            repo,
            files: BTreeMap::new(),
            head: None,
            snapshots: HashMap::new(),
            blobs: RefCell::default(),
            author: ("Alice Martin".into(), "alice@example.com".into()),
        }
    }

    /// The work tree root.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Applies `changes` (path, new contents or `None` to delete) to `main` as one commit.
    /// Runs `git` with `args` in the repository, which must succeed.
    pub fn git(&self, args: &[&str]) {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(self.dir())
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn commit(&mut self, date: &str, message: &str, changes: Changes) -> String {
        let files = apply(&self.files, changes);
        let parents: Vec<git2::Oid> = self.head.into_iter().collect();
        let id = self.write_commit(date, message, &files, &parents);
        self.advance(id, files);
        id.to_string()
    }

    /// A commit on top of `base` that `main` does not include (yet).
    pub fn side_commit(
        &mut self,
        base: &str,
        date: &str,
        message: &str,
        changes: Changes,
    ) -> String {
        let base = git2::Oid::from_str(base).expect("sha");
        let files = apply(&self.snapshots[&base], changes);
        let id = self.write_commit(date, message, &files, &[base]);
        self.snapshots.insert(id, files);
        id.to_string()
    }

    /// A merge of `side` into `main` (first parent: `main`), whose tree is `main`'s files
    /// plus `changes`.
    pub fn merge(&mut self, side: &str, date: &str, message: &str, changes: Changes) -> String {
        let side = git2::Oid::from_str(side).expect("sha");
        let files = apply(&self.files, changes);
        let head = self.head.expect("a commit to merge into");
        let id = self.write_commit(date, message, &files, &[head, side]);
        self.advance(id, files);
        id.to_string()
    }

    /// Replaces `main`'s tip by a commit with the same parents, its files plus `changes`.
    pub fn amend(&mut self, date: &str, message: &str, changes: Changes) -> String {
        let head = self.head.expect("a commit to amend");
        let parents: Vec<git2::Oid> = self
            .repo
            .find_commit(head)
            .expect("head")
            .parent_ids()
            .collect();
        let files = apply(&self.files, changes);
        let id = self.write_commit(date, message, &files, &parents);
        self.advance(id, files);
        id.to_string()
    }

    /// `git reset --hard HEAD~1` on `main`.
    pub fn reset_hard_to_parent(&mut self) -> String {
        let head = self.head.expect("a commit to reset from");
        let parent = self
            .repo
            .find_commit(head)
            .expect("head")
            .parent_id(0)
            .expect("a parent");
        let files = self.snapshots[&parent].clone();
        self.advance(parent, files);
        parent.to_string()
    }

    fn advance(&mut self, id: git2::Oid, files: BTreeMap<String, String>) {
        self.repo
            .reference("refs/heads/main", id, true, "test")
            .expect("update main");
        self.head = Some(id);
        self.snapshots.insert(id, files.clone());
        self.files = files;
    }

    fn write_commit(
        &self,
        date: &str,
        message: &str,
        files: &BTreeMap<String, String>,
        parents: &[git2::Oid],
    ) -> git2::Oid {
        let tree = self.write_tree(files.iter().map(|(p, c)| (p.as_str(), c.as_str())));
        let tree = self.repo.find_tree(tree).expect("tree");
        let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date");
        let at = day
            .and_hms_opt(9, 0, 0)
            .expect("time")
            .and_utc()
            .timestamp();
        let sig = git2::Signature::new(&self.author.0, &self.author.1, &git2::Time::new(at, 60))
            .expect("signature");
        let parents: Vec<git2::Commit> = parents
            .iter()
            .map(|p| self.repo.find_commit(*p).expect("parent"))
            .collect();
        let parents: Vec<&git2::Commit> = parents.iter().collect();
        self.repo
            .commit(None, &sig, &sig, message, &tree, &parents)
            .expect("commit")
    }

    /// Writes the tree of `files` (relative paths) and returns its id.
    fn write_tree<'a>(&self, files: impl Iterator<Item = (&'a str, &'a str)>) -> git2::Oid {
        let mut here = Vec::new();
        let mut below: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for (path, contents) in files {
            match path.split_once('/') {
                Some((dir, rest)) => below.entry(dir).or_default().push((rest, contents)),
                None => here.push((path, contents)),
            }
        }
        let mut builder = self.repo.treebuilder(None).expect("tree builder");
        for (name, contents) in here {
            let mut blobs = self.blobs.borrow_mut();
            let blob = *blobs
                .entry(contents.to_string())
                .or_insert_with(|| self.repo.blob(contents.as_bytes()).expect("blob"));
            builder.insert(name, blob, 0o100644).expect("insert");
        }
        for (dir, files) in below {
            let tree = self.write_tree(files.into_iter());
            builder.insert(dir, tree, 0o040000).expect("insert");
        }
        builder.write().expect("write tree")
    }
}

fn apply(files: &BTreeMap<String, String>, changes: Changes) -> BTreeMap<String, String> {
    let mut files = files.clone();
    for (path, contents) in changes {
        match contents {
            Some(c) => {
                files.insert(path.to_string(), c.to_string());
            }
            None => {
                files.remove(*path);
            }
        }
    }
    files
}
