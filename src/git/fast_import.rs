//! Writing a history from memory through `git fast-import`: a whole new repository for
//! `sloop demo`, or commits on top of a branch for an import (`Repo::commit_history`).

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, FixedOffset};

use super::{GitError, Identity, ObjectId, Repo};

/// Writes a whole new history from memory, for `sloop demo`: one `git fast-import` process
/// fed a stream of commits (each with its explicit author, committer and date, and only the
/// files it changes), then a checkout of the last commit.
///
/// Why fast-import rather than git2 object writes: a commit that changes one file in a
/// folder of 20,000 records must write that folder's whole tree object again (~1 MB), and
/// loose objects store each version whole and deflated: a 30,000-commit benchmark history
/// of flat folders would write tens of gigabytes. fast-import keeps the trees in memory and
/// stores each new version of a tree as a delta against its previous one, in a pack. No index
/// and no work tree are touched until `finish`. Commit ids depend only on the content,
/// messages, identities and dates, so the same stream gives the same ids.
pub struct HistoryWriter {
    dir: PathBuf,
    child: std::process::Child,
    stream: Option<std::io::BufWriter<std::process::ChildStdin>>,
    commits: usize,
    /// The ref the commits go to.
    branch: String,
    /// The parent of the first commit, when the history continues one.
    from: Option<ObjectId>,
}

/// The branch `HistoryWriter` writes.
const HISTORY_BRANCH: &str = "refs/heads/main";

impl HistoryWriter {
    /// A new repository at `dir` (which must not be a repository yet), on branch `main`.
    pub fn create(dir: &Path) -> Result<Self, GitError> {
        let repo = git2::Repository::init(dir).map_err(|e| {
            GitError::new(
                format!("cannot create a git repository in {}", dir.display()),
                e.message(),
            )
        })?;
        repo.set_head(HISTORY_BRANCH)
            .map_err(|e| GitError::new("cannot set HEAD", e.message()))?;
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(dir);
        Self::start(cmd, dir, HISTORY_BRANCH.to_string(), None)
    }

    /// Commits on top of `from` in an existing repository, to the private ref `branch`
    /// (nothing else is touched: `Repo::commit_history` moves the branch).
    pub(super) fn onto(repo: &Repo, branch: String, from: ObjectId) -> Result<Self, GitError> {
        Self::start(repo.command(), repo.workdir(), branch, Some(from))
    }

    fn start(
        mut cmd: Command,
        dir: &Path,
        branch: String,
        from: Option<ObjectId>,
    ) -> Result<Self, GitError> {
        let mut child = cmd
            .args(["fast-import", "--quiet", "--done", "--date-format=raw"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| {
                GitError::new("cannot run git fast-import", e)
                    .with_hint("sloop needs the `git` command on PATH")
            })?;
        let Some(stdin) = child.stdin.take() else {
            let _ = child.kill();
            return Err(GitError::corrupt("cannot run git fast-import", "no stdin"));
        };
        Ok(HistoryWriter {
            dir: dir.to_path_buf(),
            child,
            stream: Some(std::io::BufWriter::with_capacity(1 << 20, stdin)),
            commits: 0,
            branch,
            from,
        })
    }

    /// Commits the given files (path → new contents) on top of the previous commit, authored
    /// and committed by `who` at `when`.
    pub fn commit(
        &mut self,
        changed: &[(String, Vec<u8>)],
        message: &str,
        who: &Identity,
        when: DateTime<FixedOffset>,
    ) -> Result<(), GitError> {
        self.commit_prefixed("", changed, message, who, when)
    }

    /// `commit`, each path written after `prefix` (the CRM's folder in its repository).
    pub fn commit_prefixed(
        &mut self,
        prefix: &str,
        changed: &[(String, Vec<u8>)],
        message: &str,
        who: &Identity,
        when: DateTime<FixedOffset>,
    ) -> Result<(), GitError> {
        use std::io::Write;
        let mut buf = Vec::with_capacity(
            256 + changed
                .iter()
                .map(|(p, b)| prefix.len() + p.len() + b.len() + 40)
                .sum::<usize>(),
        );
        let from = if self.commits == 0 { self.from } else { None };
        fast_import_commit(
            &mut buf,
            &self.branch,
            from,
            (prefix, changed),
            message,
            who,
            when,
        );
        let written = match self.stream.as_mut() {
            Some(w) => w.write_all(&buf),
            None => Err(std::io::Error::other("the stream is closed")),
        };
        if let Err(e) = written {
            return Err(self.failed(e));
        }
        self.commits += 1;
        Ok(())
    }

    fn failed(&mut self, e: impl std::fmt::Display) -> GitError {
        let _ = self.child.kill();
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            use std::io::Read;
            let _ = err.read_to_string(&mut stderr);
        }
        let _ = self.child.wait();
        GitError::new(
            "git fast-import failed",
            if stderr.trim().is_empty() {
                e.to_string()
            } else {
                stderr.trim().to_string()
            },
        )
    }

    /// Stops git without letting it write anything more (a history given up halfway).
    pub(super) fn abandon(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Ends the stream and waits for git to write the pack and the ref. Once ended, ending
    /// again does nothing.
    pub(super) fn end(&mut self) -> Result<(), GitError> {
        use std::io::{Read, Write};
        let ended = match self.stream.take() {
            Some(mut w) => w.write_all(b"done\n").and_then(|()| w.flush()),
            None => Ok(()),
        };
        if let Err(e) = ended {
            return Err(self.failed(e));
        }
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        let status = self
            .child
            .wait()
            .map_err(|e| GitError::new("git fast-import failed", e))?;
        if !status.success() {
            let err = GitError::new("git fast-import failed", stderr.trim());
            return Err(if stderr.contains("No space left") {
                err.with_hint("the disk is full: free some space and run sloop again")
            } else {
                err
            });
        }
        Ok(())
    }

    /// Ends the stream and returns the last commit (`None` when nothing was committed),
    /// leaving the ref where fast-import put it.
    pub(super) fn finish_ref(mut self, repo: &Repo) -> Result<Option<ObjectId>, GitError> {
        self.end()?;
        if self.commits == 0 {
            return Ok(None);
        }
        repo.resolve(&self.branch).map(Some)
    }

    /// Ends the stream, points HEAD (`main`) at the last commit and checks it out. Returns
    /// the last commit's id (`None` when nothing was committed).
    pub fn finish(mut self) -> Result<Option<String>, GitError> {
        self.end()?;
        if self.commits == 0 {
            return Ok(None);
        }
        let err = |what: &'static str| move |e: git2::Error| GitError::new(what, e.message());
        let repo =
            git2::Repository::open(&self.dir).map_err(err("cannot open the new repository"))?;
        let head = repo
            .refname_to_id(HISTORY_BRANCH)
            .map_err(err("cannot read the new branch"))?;
        let mut opts = git2::build::CheckoutBuilder::new();
        opts.force();
        repo.checkout_head(Some(&mut opts))
            .map_err(err("cannot check out the demo"))?;
        // The checkout writes an index without git's cache of its trees (the `TREE`
        // extension), which `git diff --cached`, `git commit` and `sloop check --staged` read
        // to skip the folders that did not change: without it, git compared every entry with
        // HEAD (351 ms instead of 50 ms on the flat benchmark CRM) until a git command wrote
        // the index again. Writing the index's trees fills that cache (the trees are HEAD's,
        // already stored).
        let mut index = repo.index().map_err(err("cannot read the demo's index"))?;
        index
            .write_tree()
            .map_err(err("cannot write the demo's index trees"))?;
        index
            .write()
            .map_err(err("cannot write the demo's index"))?;
        // The rendered reports live beside the records without being part of the history.
        let exclude = repo.path().join("info").join("exclude");
        let mut text = std::fs::read_to_string(&exclude).unwrap_or_default();
        text.push_str("/report.html\n/weekly.md\n");
        let _ = std::fs::create_dir_all(repo.path().join("info"));
        std::fs::write(&exclude, text)
            .map_err(|e| GitError::new("cannot write .git/info/exclude", e))?;
        Ok(Some(head.to_string()))
    }
}

/// One commit of a `git fast-import` stream on `branch` (after `from`, for the first commit
/// of a history that continues one): the files are inline blobs.
fn fast_import_commit(
    out: &mut Vec<u8>,
    branch: &str,
    from: Option<ObjectId>,
    (prefix, changed): (&str, &[(String, Vec<u8>)]),
    message: &str,
    who: &Identity,
    when: DateTime<FixedOffset>,
) {
    use std::io::Write;
    let offset = when.offset().local_minus_utc();
    let sign = if offset < 0 { '-' } else { '+' };
    let (h, m) = (offset.abs() / 3600, offset.abs() % 3600 / 60);
    let clean = |s: &str| s.replace(['<', '>', '\n'], "");
    let person = format!(
        "{} <{}> {} {sign}{h:02}{m:02}",
        clean(&who.name),
        clean(&who.email),
        when.timestamp()
    );
    let _ = write!(
        out,
        "commit {branch}\nauthor {person}\ncommitter {person}\ndata {}\n{message}\n",
        message.len()
    );
    if let Some(from) = from {
        let _ = writeln!(out, "from {from}");
    }
    for (path, bytes) in changed {
        let _ = write!(
            out,
            "M 100644 inline {prefix}{path}\ndata {}\n",
            bytes.len()
        );
        out.extend_from_slice(bytes);
        out.push(b'\n');
    }
    out.push(b'\n');
}
