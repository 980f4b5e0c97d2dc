//! The only module that talks to git. Everything else sees paths, bytes and plain structs.

use std::path::{Path, PathBuf};

/// A git failure, with what sloop was doing.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct GitError {
    pub what: String,
    pub message: String,
}

impl GitError {
    fn new(what: impl Into<String>, e: git2::Error) -> Self {
        GitError {
            what: what.into(),
            message: e.message().to_string(),
        }
    }
}

/// The work tree root of the repository containing `path`, if any.
pub fn work_tree_of(path: &Path) -> Option<PathBuf> {
    let repo = git2::Repository::discover(path).ok()?;
    repo.workdir().map(Path::to_path_buf)
}

/// `git init` at `path`.
pub fn init(path: &Path) -> Result<(), GitError> {
    git2::Repository::init(path).map(|_| ()).map_err(|e| {
        GitError::new(
            format!("cannot create a git repository in {}", path.display()),
            e,
        )
    })
}
