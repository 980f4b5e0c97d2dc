//! The one commit path: files of the CRM committed on top of HEAD.

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};

use super::{GitError, Repo, Sha};

/// A name and an email for a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

/// A commit sloop writes: files of the CRM replaced on top of HEAD's tree.
pub struct CommitRequest<'a> {
    /// CRM-relative paths and their new contents.
    pub files: &'a [(String, Vec<u8>)],
    pub message: &'a str,
    pub when: DateTime<FixedOffset>,
    /// Author and committer; `None`: git's `user.name` / `user.email`.
    pub author: Option<Identity>,
    pub committer: Option<Identity>,
}

impl Repo {
    /// Checks that sloop may commit on the current branch, and returns the branch's ref name
    /// and the commit it points to.
    pub fn ready_to_commit(&self) -> Result<(String, Sha), GitError> {
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
            .id()
            .to_string();
        if self.config_bool("commit.gpgsign") {
            return Err(GitError::new(
                "cannot commit",
                "commit.gpgsign is set and sloop does not sign commits",
            )
            .with_hint("run with --no-commit, then `git commit -S -am \"sloop tick\"` yourself"));
        }
        if self.repo.path().join("index.lock").exists() {
            return Err(GitError::new(
                "cannot commit",
                "the index is locked by another git process (.git/index.lock exists)",
            )
            .with_hint(
                "wait for it to finish; if no git process is running, delete .git/index.lock",
            ));
        }
        Ok((name, id))
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
    /// HEAD: the tree is HEAD's with only these paths replaced, so whatever else the user has
    /// staged stays staged and out of the commit. The index entries of these paths are updated
    /// to the new blobs (under git's index lock). On failure, the files are put back.
    pub fn commit_files(&self, req: &CommitRequest) -> Result<Sha, GitError> {
        let (branch, head) = self.ready_to_commit()?;
        let parent = self.commit(&head)?;
        let base = parent
            .tree()
            .map_err(|e| GitError::new("cannot read HEAD's tree", e.message()))?;
        let mut blobs = Vec::new();
        for (path, bytes) in req.files {
            let oid = self
                .repo
                .blob(bytes)
                .map_err(|e| GitError::new("cannot write a blob", e.message()))?;
            blobs.push((format!("{}{path}", self.prefix), oid));
        }
        let leaves: Vec<(Vec<&str>, git2::Oid)> = blobs
            .iter()
            .map(|(p, o)| (p.split('/').collect(), *o))
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
        // The work tree and the index follow, then the branch moves.
        let mut previous = Vec::new();
        for (path, bytes) in req.files {
            let disk = self.workdir.join(format!("{}{path}", self.prefix));
            previous.push((disk.clone(), std::fs::read(&disk).ok()));
            if let Err(e) = write_file(&disk, bytes) {
                restore(&previous);
                return Err(GitError::new(format!("cannot write {}", disk.display()), e));
            }
        }
        let update_index = || -> Result<(), git2::Error> {
            let mut index = self.repo.index()?;
            for (repo_path, _) in &blobs {
                index.add_path(Path::new(repo_path))?;
            }
            index.write()
        };
        if let Err(e) = update_index() {
            restore(&previous);
            let err = GitError::new("cannot update the index", e.message());
            return Err(if e.code() == git2::ErrorCode::Locked {
                err.with_hint(
                    "another git process holds .git/index.lock: wait for it and run sloop again",
                )
            } else {
                err
            });
        }
        let old =
            git2::Oid::from_str(&head).map_err(|e| GitError::new("bad object id", e.message()))?;
        let log = format!("commit: {}", req.message.lines().next().unwrap_or(""));
        if let Err(e) = self
            .repo
            .reference_matching(&branch, commit, true, old, &log)
        {
            restore(&previous);
            if let Ok(mut index) = self.repo.index() {
                for (repo_path, _) in &blobs {
                    let _ = index.add_path(Path::new(repo_path));
                }
                let _ = index.write();
            }
            return Err(GitError::new("cannot move the branch", e.message())
                .with_hint("the branch moved while sloop was working: run it again"));
        }
        Ok(commit.to_string())
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Write beside, then rename: a crash never leaves half a record.
    let tmp = path.with_extension("toml.sloop-tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn restore(previous: &[(PathBuf, Option<Vec<u8>>)]) {
    for (path, bytes) in previous {
        match bytes {
            Some(b) => {
                let _ = write_file(path, b);
            }
            None => {
                let _ = std::fs::remove_file(path);
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
