//! The loader's `Source` over git objects: a commit's tree or the index. Nothing is checked
//! out; files are read as blobs, in parallel (one repository handle per thread).

use std::cell::RefCell;
use std::io;
use std::path::{Path, PathBuf};

use super::GitError;
use crate::config;
use crate::model::Kind;
use crate::store::{Entry, Refusal, Source, SourceError, SourceFile};

thread_local! {
    static REPOS: RefCell<Vec<(PathBuf, git2::Repository)>> = const { RefCell::new(Vec::new()) };
}

/// Reads a blob with this thread's handle on the repository.
fn read_blob(git_dir: &Path, oid: git2::Oid) -> io::Result<Vec<u8>> {
    REPOS.with(|repos| {
        let mut repos = repos.borrow_mut();
        let i = match repos.iter().position(|(p, _)| p == git_dir) {
            Some(i) => i,
            None => {
                let repo = git2::Repository::open(git_dir).map_err(io::Error::other)?;
                repos.push((git_dir.to_path_buf(), repo));
                repos.len() - 1
            }
        };
        // Read from the object database: a blob looked up as an object was also allocated
        // and parsed as one, for every record file of a full load.
        let odb = repos[i].1.odb().map_err(io::Error::other)?;
        let object = odb.read(oid).map_err(io::Error::other)?;
        if object.kind() != git2::ObjectType::Blob {
            // libgit2's own error for a blob looked up as an object.
            return Err(io::Error::other(git2::Error::new(
                git2::ErrorCode::NotFound,
                git2::ErrorClass::Invalid,
                "the requested type does not match the type in the ODB",
            )));
        }
        Ok(object.data().to_vec())
    })
}

/// A listed file and its blob.
struct Item {
    path: String,
    entry: Entry,
    oid: Option<git2::Oid>,
}

/// The mode git gives a symbolic link (its blob holds the link's text).
const LINK: u32 = 0o120000;

/// `sloop.toml` as git stores it: a file, or a link (never followed).
#[derive(Clone, Copy)]
enum ConfigBlob {
    File(git2::Oid),
    Link(git2::Oid),
}

/// Sorts a flat list of CRM-relative paths into what the loader lists.
fn classify_items(raw: Vec<(String, git2::Oid, u32)>) -> (Vec<Item>, Option<ConfigBlob>) {
    let mut items = Vec::new();
    let mut config_blob = None;
    let mut top_dirs: Vec<String> = Vec::new();
    for (path, oid, mode) in raw {
        if path == config::FILE {
            config_blob = Some(if mode == LINK {
                ConfigBlob::Link(oid)
            } else {
                ConfigBlob::File(oid)
            });
            continue;
        }
        if let (None, Some(kind)) = (path.find('/'), Kind::from_folder(&path)) {
            // A file (or a link) where a record folder should be: no record of the kind is
            // read from it, and that is reported, as in the work tree.
            items.push(Item {
                entry: Entry::Unreadable(format!(
                    "a file, not a folder: no record of `{}/` is read",
                    kind.folder()
                )),
                path,
                oid: None,
            });
            continue;
        }
        let (top, rest) = match path.split_once('/') {
            Some((t, r)) => (t, Some(r)),
            None => (path.as_str(), None),
        };
        let in_kind = Kind::from_folder(top).is_some();
        if rest.is_some() && !in_kind {
            if !top_dirs.iter().any(|d| d == top) {
                top_dirs.push(top.to_string());
            }
            continue;
        }
        if rest.is_none() && !path.ends_with(".toml") {
            continue;
        }
        let entry = if mode == LINK {
            // The link's text is read only to say where it pointed.
            Entry::SymlinkInGit(String::new())
        } else {
            Entry::File
        };
        items.push(Item {
            path,
            entry,
            oid: Some(oid),
        });
    }
    for d in top_dirs {
        items.push(Item {
            path: d,
            entry: Entry::TopDir,
            oid: None,
        });
    }
    items.sort_by(|a, b| a.path.cmp(&b.path));
    (items, config_blob)
}

fn list_items(git_dir: &Path, items: &[Item]) -> Vec<SourceFile> {
    items
        .iter()
        .enumerate()
        .map(|(i, it)| SourceFile {
            path: it.path.clone(),
            entry: match (&it.entry, it.oid) {
                (Entry::SymlinkInGit(_), Some(oid)) => Entry::SymlinkInGit(link_text(git_dir, oid)),
                (e, _) => e.clone(),
            },
            token: i,
        })
        .collect()
}

/// What a link stored in git points to (its blob's text), shortened for a message.
fn link_text(git_dir: &Path, oid: git2::Oid) -> String {
    let bytes = read_blob(git_dir, oid).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let mut short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// The CRM as git objects: a commit's tree or the index.
pub struct BlobSource {
    git_dir: PathBuf,
    items: Vec<Item>,
    config_blob: Option<ConfigBlob>,
    describe: String,
}

/// The CRM in a commit's tree.
pub type TreeSource = BlobSource;
/// The CRM as staged in the index.
pub type IndexSource = BlobSource;

impl BlobSource {
    pub(super) fn from_tree(
        repo: &git2::Repository,
        tree: &git2::Tree,
        prefix: &str,
        describe: String,
    ) -> Result<Self, GitError> {
        let mut raw = Vec::new();
        let mut error = None;
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            let Ok(name) = entry.name() else {
                return git2::TreeWalkResult::Ok;
            };
            let full = format!("{dir}{name}");
            if entry.kind() == Some(git2::ObjectType::Tree) {
                // Only descend into the CRM (and the folders on the way to it).
                let as_dir = format!("{full}/");
                return if as_dir.starts_with(prefix) || prefix.starts_with(&as_dir) {
                    git2::TreeWalkResult::Ok
                } else {
                    git2::TreeWalkResult::Skip
                };
            }
            if entry.kind() != Some(git2::ObjectType::Blob) {
                return git2::TreeWalkResult::Ok;
            }
            if let Some(rel) = full.strip_prefix(prefix) {
                raw.push((rel.to_string(), entry.id(), entry.filemode() as u32));
            }
            git2::TreeWalkResult::Ok
        })
        .unwrap_or_else(|e| error = Some(e));
        if let Some(e) = error {
            return Err(GitError::new("cannot walk a commit's tree", e.message()));
        }
        let (items, config_blob) = classify_items(raw);
        Ok(BlobSource {
            git_dir: repo.path().to_path_buf(),
            items,
            config_blob,
            describe,
        })
    }

    pub(super) fn from_index(repo: &git2::Repository, prefix: &str) -> Result<Self, GitError> {
        let index = repo
            .index()
            .map_err(|e| GitError::new("cannot read the index", e.message()))?;
        let mut raw = Vec::new();
        for e in index.iter() {
            // Stage 0 only: conflicted entries are reported separately.
            if (e.flags >> 12) & 0x3 != 0 {
                continue;
            }
            let path = String::from_utf8_lossy(&e.path).into_owned();
            if let Some(rel) = path.strip_prefix(prefix) {
                raw.push((rel.to_string(), e.id, e.mode));
            }
        }
        let (items, config_blob) = classify_items(raw);
        Ok(BlobSource {
            git_dir: repo.path().to_path_buf(),
            items,
            config_blob,
            describe: "the index".into(),
        })
    }
}

impl Source for BlobSource {
    fn list(&self) -> Result<Vec<SourceFile>, SourceError> {
        Ok(list_items(&self.git_dir, &self.items))
    }

    fn read(&self, file: &SourceFile) -> io::Result<Vec<u8>> {
        match self
            .items
            .get(file.token)
            .filter(|it| it.path == file.path)
            .and_then(|it| it.oid)
        {
            Some(oid) => read_blob(&self.git_dir, oid),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} is not in {}", file.path, self.describe),
            )),
        }
    }

    fn read_config(&self) -> Result<Option<Vec<u8>>, SourceError> {
        match self.config_blob {
            Some(ConfigBlob::File(oid)) => read_blob(&self.git_dir, oid).map(Some).map_err(|e| {
                SourceError::Git(format!(
                    "cannot read sloop.toml from {}: {e}",
                    self.describe
                ))
            }),
            Some(ConfigBlob::Link(oid)) => Err(SourceError::Refused {
                path: format!("{} in {}", config::FILE, self.describe),
                to: Refusal::InGit(link_text(&self.git_dir, oid)),
            }),
            None => Ok(None),
        }
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}
