//! The server's exchange with a remote (`sloop serve --push`): push the branch, fetch the
//! remote's, and the reads a rebase needs (a merge base, a commit's whole message and
//! files).
//!
//! Pushing and fetching run the `git` binary, not libgit2: the remote is reached the way
//! the user's own `git push` reaches it (SSH keys and agent, `known_hosts`, credential
//! helpers, `insteadOf` rewrites, proxies), none of which libgit2 would apply without
//! re-implementing each as a callback. Prompts are disabled: the server never waits for a
//! password.

use std::process::Stdio;

use super::{GitError, ObjectId, Repo};

/// What a push came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// The remote branch is at the commit (it was moved, or already there).
    Done,
    /// The remote refused a non-fast-forward: someone pushed meanwhile.
    Behind,
}

impl Repo {
    fn network(&self, args: &[&str]) -> Result<(bool, String, String), GitError> {
        let out = self
            .command()
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                GitError::new("cannot run git", e)
                    .with_hint("sloop needs the `git` command on PATH")
            })?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// Whether `remote` is a configured remote's name, or reads as a URL or a path (`git push`
    /// takes both).
    pub fn knows_remote(&self, remote: &str) -> bool {
        !remote.is_empty()
            && !remote.starts_with('-')
            && (self.repo.find_remote(remote).is_ok() || remote.contains(['/', ':']))
    }

    /// Pushes `commit` to `branch` of `remote` (a remote's name or a URL), without force.
    pub fn push(&self, remote: &str, branch: &str, commit: ObjectId) -> Result<Pushed, GitError> {
        let spec = format!("{commit}:refs/heads/{branch}");
        let (ok, stdout, stderr) = self.network(&["push", "--porcelain", remote, &spec])?;
        if ok {
            return Ok(Pushed::Done);
        }
        // `--porcelain`: `!\t<from>:<to>\t[rejected] (fetch first)` or `(non-fast-forward)`;
        // a hook's refusal is `[remote rejected]`, which is a failure like any other.
        let behind = stdout
            .lines()
            .any(|l| l.starts_with('!') && l.contains("\t[rejected]"));
        if behind {
            return Ok(Pushed::Behind);
        }
        let why = [stderr.trim(), stdout.trim()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        Err(GitError::new(format!("cannot push to {remote}"), why))
    }

    /// Fetches `branch` of `remote` and returns the commit it is at.
    pub fn fetch(&self, remote: &str, branch: &str) -> Result<ObjectId, GitError> {
        let spec = format!("refs/heads/{branch}");
        let (ok, _, stderr) = self.network(&["fetch", "--no-tags", "--quiet", remote, &spec])?;
        if !ok {
            return Err(GitError::new(
                format!("cannot fetch {branch} from {remote}"),
                stderr.trim(),
            ));
        }
        let head = std::fs::read_to_string(self.repo.path().join("FETCH_HEAD"))
            .map_err(|e| GitError::new("cannot read FETCH_HEAD", e))?;
        head.split_whitespace()
            .next()
            .and_then(|h| h.parse().ok())
            .ok_or_else(|| GitError::corrupt("cannot read FETCH_HEAD", head.trim().to_string()))
    }

    /// The best common ancestor of two commits (`None`: unrelated histories).
    pub fn merge_base(&self, a: ObjectId, b: ObjectId) -> Result<Option<ObjectId>, GitError> {
        match self.repo.merge_base(a.to_oid(), b.to_oid()) {
            Ok(o) => Ok(Some(ObjectId::from_oid(o))),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(GitError::new("cannot find a merge base", e.message())),
        }
    }

    /// How many parents a commit has (a merge has two or more).
    pub fn parent_count(&self, id: ObjectId) -> Result<usize, GitError> {
        Ok(self.commit(id)?.parent_count())
    }

    /// The CRM files a commit adds or modifies relative to its first parent, with their
    /// contents; `Err` when it deletes one or changes a file outside the CRM folder's reach
    /// (a rebase replays whole files only).
    pub fn commit_files_of(&self, id: ObjectId) -> Result<Vec<(String, Vec<u8>)>, GitError> {
        let parent = self.first_parent(id)?;
        let mut out = Vec::new();
        for change in self.changes_between(parent, id)? {
            match change.new {
                Some(blob) if !change.link => out.push((change.path, self.blob(blob)?)),
                _ => {
                    return Err(GitError::corrupt(
                        format!("commit {} deletes or links {}", id.short(), change.path),
                        "only added and modified files can be replayed",
                    ))
                }
            }
        }
        Ok(out)
    }
}
