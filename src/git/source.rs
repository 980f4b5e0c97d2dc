//! The loader's `Source` over git objects: a commit's tree or the index. Nothing is checked
//! out; files are read as blobs, in parallel (one repository handle per thread).

use std::cell::RefCell;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

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
                // Each reading thread but the first through pack handles of its own: two
                // threads reading one pack's handle waited on its locks most of the time.
                let n = rayon::current_thread_index().unwrap_or(0);
                super::own_pack_handles(&repo, n).map_err(|e| io::Error::other(e.to_string()))?;
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

/// A listed file's blob, by its token, once its path was handed to the listing.
struct Blob {
    /// The hash of the file's path, to check that a file read is this source's.
    path_hash: u64,
    oid: Option<git2::Oid>,
}

fn path_hash(path: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(path)
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

/// The listing, each file's token its index, and each file's blob by token.
fn list_items(git_dir: &Path, items: Vec<Item>) -> (Vec<SourceFile>, Vec<Blob>) {
    let mut blobs = Vec::with_capacity(items.len());
    let files = items
        .into_iter()
        .enumerate()
        .map(|(i, it)| {
            blobs.push(Blob {
                path_hash: path_hash(&it.path),
                oid: it.oid,
            });
            SourceFile {
                entry: match (it.entry, it.oid) {
                    (Entry::SymlinkInGit(_), Some(oid)) => {
                        Entry::SymlinkInGit(link_text(git_dir, oid))
                    }
                    (e, _) => e,
                },
                path: it.path,
                token: i,
            }
        })
        .collect();
    (files, blobs)
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

/// The CRM as git objects: a commit's tree or the index. It is listed once: the listing
/// takes the paths, so that a loaded CRM's 341,000 paths are not held twice (27 MB at the
/// benchmark's size), and a second `list` is refused.
pub struct BlobSource {
    git_dir: PathBuf,
    /// The objects folder (the common git dir's, for a linked work tree).
    objects: PathBuf,
    /// Each listed file's position in the pack files, found once a caller asks, and the
    /// narrower mapped-memory limit reading in that order needs, held with the source.
    order: OnceLock<(Vec<u64>, super::repo::NarrowMapped)>,
    /// The listing, until `list` hands it over.
    listing: Mutex<Option<Vec<SourceFile>>>,
    /// Each listed file's blob, by token.
    blobs: Vec<Blob>,
    config_blob: Option<ConfigBlob>,
    describe: String,
}

/// The CRM in a commit's tree.
pub type TreeSource = BlobSource;
/// The CRM as staged in the index.
pub type IndexSource = BlobSource;

impl BlobSource {
    fn new(repo: &git2::Repository, raw: Vec<(String, git2::Oid, u32)>, describe: String) -> Self {
        let git_dir = repo.path();
        let (items, config_blob) = classify_items(raw);
        let (files, blobs) = list_items(git_dir, items);
        BlobSource {
            git_dir: git_dir.to_path_buf(),
            objects: repo.commondir().join("objects"),
            order: OnceLock::new(),
            listing: Mutex::new(Some(files)),
            blobs,
            config_blob,
            describe,
        }
    }

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
        Ok(BlobSource::new(repo, raw, describe))
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
        Ok(BlobSource::new(repo, raw, "the index".into()))
    }
}

/// The threads' handles on the repository are closed with the source: the pack handles of
/// their own each map the pack index and keep a cache of delta bases (40 MB at the
/// benchmark's size), which the rest of a command has no use for.
impl Drop for BlobSource {
    fn drop(&mut self) {
        let git_dir = &self.git_dir;
        let close = || REPOS.with(|repos| repos.borrow_mut().retain(|(p, _)| p != git_dir));
        rayon::broadcast(|_| close());
        close();
    }
}

impl Source for BlobSource {
    fn list(&self) -> Result<Vec<SourceFile>, SourceError> {
        let mut listing = self.listing.lock().unwrap_or_else(|e| e.into_inner());
        listing.take().ok_or_else(|| {
            SourceError::Git(format!(
                "{} was listed already (a source over git is listed once)",
                self.describe
            ))
        })
    }

    fn read(&self, file: &SourceFile) -> io::Result<Vec<u8>> {
        match self
            .blobs
            .get(file.token)
            .filter(|b| b.path_hash == path_hash(&file.path))
            .and_then(|b| b.oid)
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

    /// Pack order (see `pack_order`). Asked for by a caller about to read many files, before
    /// it reads them: from then on, while the source lives, libgit2 maps half the pack
    /// (`NarrowMapped`).
    fn read_order(&self) -> Option<&[u64]> {
        let (keys, _) = self.order.get_or_init(|| {
            // Every record file has a blob; the others are never read.
            let oids: Vec<git2::Oid> = self
                .blobs
                .iter()
                .map(|b| b.oid.unwrap_or(git2::Oid::ZERO_SHA1))
                .collect();
            let keys = super::pack_order::positions(&self.objects, &oids);
            (keys, super::repo::NarrowMapped::new())
        });
        Some(keys)
    }
}
