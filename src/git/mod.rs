//! The only module that talks to git. Everything else sees paths, bytes, object ids and
//! plain structs. Reads go through libgit2 (git2) for objects, and through the `git` binary
//! where git itself is the fast path (the staged diff and the work tree status use git's
//! index extensions and stat cache, which libgit2 re-reads from scratch).
//!
//! - `repo`: an open repository, HEAD, commits, blobs, the staged and work tree changes;
//! - `commit`: the one commit path (files on top of HEAD, branch moved last);
//! - `walk`: the history read path (first-parent commits, batched tree diffs);
//! - `source`: a commit's tree or the index as a `store::Source`;
//! - `fast_import`: a whole history written from memory (`sloop demo`);
//! - `object_id`: the id of every object.

mod commit;
mod fast_import;
mod object_id;
mod repo;
mod source;
mod walk;

#[cfg(test)]
pub(crate) mod testing;

pub use commit::{CommitRequest, Identity};
pub use fast_import::HistoryWriter;
pub use object_id::{BadObjectId, ObjectId};
pub use repo::{init, limit_mapped_memory, short, work_tree_of, Busy, Change, CommitInfo, Repo};
pub use source::{IndexSource, TreeSource};
/// The read path for mining the history (`history`): first-parent commits, a batched tree
/// differ, blob reads by id.
pub use walk::{
    first_parent_commits, Change as BlobChange, CommitInfo as CommitMeta, Repo as Walker,
};

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

/// A commit or blob id as 40 hex characters (what the check and write paths pass around).
pub type Sha = String;
