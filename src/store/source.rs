//! Where a CRM's files come from. The loader reads through this trait, so the work tree, the
//! git index and any commit's tree are read by the same code.

use std::io;
use std::path::{Path, PathBuf};

use crate::config;
use crate::model::Kind;

/// What a listed path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A file to read.
    File,
    /// A folder directly under the CRM root (listed so misspelt kind folders are reported).
    TopDir,
    /// A symlink that resolves outside the CRM (where it points).
    SymlinkEscape(String),
    /// A symlink that resolves into `.git` or another hidden folder of the CRM (where it
    /// points, relative to the CRM root). Hidden files are never read, linked or not.
    SymlinkHidden(String),
    /// A symlink stored in git (a commit's tree, the index): never followed, wherever it
    /// points (its text, the link's target).
    SymlinkInGit(String),
    /// Something that cannot be read (permission denied, broken link, not a regular file).
    Unreadable(String),
}

/// One path of a CRM, relative to its root, `/`-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub entry: Entry,
    /// Opaque handle for the source (e.g. an index into its blob list).
    pub token: usize,
}

/// A failure to list or open a source at all (as opposed to one bad file).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{0}")]
    Git(String),
    /// `sloop.toml` (or the `templates` folder) is a symlink sloop does not follow.
    #[error("{path} is a symlink that points {to}: sloop does not read it")]
    Refused { path: String, to: Refusal },
}

/// Where a symlink under the CRM points when sloop refuses to follow it: no file outside the
/// CRM, or inside `.git` (or any hidden folder), is ever read, so a committed link cannot
/// make sloop print a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Outside the CRM: the resolved target.
    Outside(PathBuf),
    /// Into a hidden folder of the CRM (`.git/config`): the target relative to the root.
    Hidden(String),
    /// A link stored in git: its text (git stores a link's target, never what it points to).
    InGit(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Outside(target) => write!(f, "outside the CRM, to {}", target.display()),
            Refusal::Hidden(target) => write!(f, "into a hidden folder of the CRM, to {target}"),
            Refusal::InGit(target) => write!(f, "to `{target}` (a link stored in git)"),
        }
    }
}

/// Where `path` (a link, or a path with a link on the way) really is, if sloop may read it:
/// inside the canonical CRM root, and in no hidden folder (`.git`, `.ssh`…) below it.
pub fn resolve_inside(canonical_root: &Path, path: &Path) -> Result<PathBuf, LinkError> {
    let target = path.canonicalize().map_err(LinkError::Broken)?;
    let Ok(inside) = target.strip_prefix(canonical_root) else {
        return Err(LinkError::Refused(Refusal::Outside(target)));
    };
    if inside
        .components()
        .any(|c| c.as_os_str().as_encoded_bytes().starts_with(b"."))
    {
        return Err(LinkError::Refused(Refusal::Hidden(rel(
            canonical_root,
            &target,
        ))));
    }
    Ok(target)
}

/// Why `resolve_inside` gives no path.
#[derive(Debug)]
pub enum LinkError {
    Refused(Refusal),
    /// The link cannot be resolved (broken, a loop).
    Broken(io::Error),
}

/// Reads a file under the CRM root without following a link out of it (or into `.git`).
fn read_inside(root: &Path, path: &Path) -> io::Result<Vec<u8>> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        let canonical_root = root.canonicalize()?;
        match resolve_inside(&canonical_root, path) {
            Ok(_) => {}
            Err(LinkError::Refused(refusal)) => {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("a symlink that points {refusal}: not read"),
                ))
            }
            Err(LinkError::Broken(e)) => return Err(e),
        }
    }
    std::fs::read(path)
}

/// A place a CRM can be read from. Implementations must be shareable across threads: the
/// loader reads files in parallel.
pub trait Source: Sync {
    /// Every file of `sloop.toml`, the five record folders (recursively) and the folders at
    /// the root. Paths are relative to the CRM root. A source over git (a commit's tree, the
    /// index) hands over the listing it was built with, so it is listed once: a second call
    /// is an error (make a new source to list again).
    fn list(&self) -> Result<Vec<SourceFile>, SourceError>;
    /// The bytes of a listed file.
    fn read(&self, file: &SourceFile) -> io::Result<Vec<u8>>;
    /// The bytes of `sloop.toml`, or `None` if there is none.
    fn read_config(&self) -> Result<Option<Vec<u8>>, SourceError>;
    /// "the work tree", "the index", "commit 1a2b3c4".
    fn describe(&self) -> String;
    /// A key per listed file (by its `token`) that sorts files in the order reading them is
    /// quickest, for a caller about to read many; `None` when any order is as quick (the
    /// default). Reading in another order gives the same bytes.
    fn read_order(&self) -> Option<&[u64]> {
        None
    }
}

/// The files on disk under a CRM root.
pub struct WorkTree {
    root: PathBuf,
}

impl WorkTree {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        WorkTree { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

fn rel(root: &Path, path: &Path) -> String {
    let r = path.strip_prefix(root).unwrap_or(path);
    let mut out = String::new();
    for (i, c) in r.components().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&c.as_os_str().to_string_lossy());
    }
    out
}

impl Source for WorkTree {
    fn list(&self) -> Result<Vec<SourceFile>, SourceError> {
        let canonical_root = self.root.canonicalize().map_err(|source| SourceError::Io {
            path: self.root.display().to_string(),
            source,
        })?;
        let mut files = Vec::new();
        let top = std::fs::read_dir(&self.root).map_err(|source| SourceError::Io {
            path: self.root.display().to_string(),
            source,
        })?;
        let mut kind_dirs = Vec::new();
        for entry in top {
            let entry = entry.map_err(|source| SourceError::Io {
                path: self.root.display().to_string(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(ft) = entry.file_type() else { continue };
            if Kind::from_folder(&name).is_some() {
                // A record folder must be a folder of the CRM: a link is followed only when
                // it stays inside, and a file in its place is reported (no record of that
                // kind would be read).
                let problem = if ft.is_symlink() {
                    match resolve_inside(&canonical_root, &entry.path()) {
                        Ok(target) if target.is_dir() => None,
                        Ok(_) => Some(Entry::Unreadable(
                            "a symlink to a file where a record folder should be".into(),
                        )),
                        Err(LinkError::Refused(Refusal::Outside(target))) => {
                            Some(Entry::SymlinkEscape(target.display().to_string()))
                        }
                        Err(LinkError::Refused(Refusal::Hidden(target))) => {
                            Some(Entry::SymlinkHidden(target))
                        }
                        Err(LinkError::Refused(Refusal::InGit(target))) => {
                            Some(Entry::SymlinkInGit(target))
                        }
                        Err(LinkError::Broken(e)) => {
                            Some(Entry::Unreadable(format!("broken symlink: {e}")))
                        }
                    }
                } else if ft.is_dir() {
                    None
                } else {
                    Some(Entry::Unreadable(format!(
                        "a file, not a folder: no record of `{name}/` is read"
                    )))
                };
                match problem {
                    None => kind_dirs.push(entry.path()),
                    Some(entry) => files.push(SourceFile {
                        path: name,
                        entry,
                        token: 0,
                    }),
                }
            } else if ft.is_dir() {
                files.push(SourceFile {
                    path: name,
                    entry: Entry::TopDir,
                    token: 0,
                });
            } else if name.ends_with(".toml") && name != config::FILE {
                files.push(SourceFile {
                    path: name,
                    entry: Entry::File,
                    token: 0,
                });
            }
        }
        for dir in kind_dirs {
            for item in walkdir::WalkDir::new(&dir).follow_links(false) {
                let item = match item {
                    Ok(item) => item,
                    Err(e) => {
                        let path = e
                            .path()
                            .map(|p| rel(&self.root, p))
                            .unwrap_or_else(|| rel(&self.root, &dir));
                        let why = e
                            .io_error()
                            .map(|io| io.to_string())
                            .unwrap_or_else(|| e.to_string());
                        files.push(SourceFile {
                            path,
                            entry: Entry::Unreadable(why),
                            token: 0,
                        });
                        continue;
                    }
                };
                let ft = item.file_type();
                if ft.is_dir() {
                    continue;
                }
                let path = rel(&self.root, item.path());
                let relative = item.path().strip_prefix(&self.root).unwrap_or(item.path());
                let entry = if relative.to_str().is_none() {
                    // Shown with U+FFFD in `path`, which names no file: say so, with the bytes.
                    Entry::Unreadable(format!(
                        "the name is not valid UTF-8 (`{}`): rename it, ids are lowercase \
                         letters, digits and `-`",
                        relative.as_os_str().as_encoded_bytes().escape_ascii()
                    ))
                } else if ft.is_file() {
                    Entry::File
                } else if ft.is_symlink() {
                    match resolve_inside(&canonical_root, item.path()) {
                        Ok(target) if target.is_dir() => continue,
                        Ok(_) => Entry::File,
                        Err(LinkError::Refused(Refusal::Outside(target))) => {
                            Entry::SymlinkEscape(target.display().to_string())
                        }
                        Err(LinkError::Refused(Refusal::Hidden(target))) => {
                            Entry::SymlinkHidden(target)
                        }
                        Err(LinkError::Refused(Refusal::InGit(target))) => {
                            Entry::SymlinkInGit(target)
                        }
                        Err(LinkError::Broken(e)) => {
                            Entry::Unreadable(format!("broken symlink: {e}"))
                        }
                    }
                } else {
                    Entry::Unreadable("not a regular file".into())
                };
                files.push(SourceFile {
                    path,
                    entry,
                    token: 0,
                });
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    fn read(&self, file: &SourceFile) -> io::Result<Vec<u8>> {
        read_inside(&self.root, &self.root.join(&file.path))
    }

    fn read_config(&self) -> Result<Option<Vec<u8>>, SourceError> {
        let path = self.root.join(config::FILE);
        let io_error = |source| SourceError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let canonical_root = self.root.canonicalize().map_err(io_error)?;
                if let Err(LinkError::Refused(to)) = resolve_inside(&canonical_root, &path) {
                    return Err(SourceError::Refused {
                        path: config::FILE.into(),
                        to,
                    });
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(e)),
        }
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(e)),
        }
    }

    fn describe(&self) -> String {
        "the work tree".into()
    }
}

/// An in-memory CRM, for tests and for checking edits before they are written.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    /// (path relative to the CRM root, contents); `sloop.toml` included.
    pub files: Vec<(String, Vec<u8>)>,
}

impl Memory {
    pub fn new<P: Into<String>, C: Into<Vec<u8>>>(files: impl IntoIterator<Item = (P, C)>) -> Self {
        Memory {
            files: files
                .into_iter()
                .map(|(p, c)| (p.into(), c.into()))
                .collect(),
        }
    }
}

impl Source for Memory {
    fn list(&self) -> Result<Vec<SourceFile>, SourceError> {
        let mut out: Vec<SourceFile> = self
            .files
            .iter()
            .enumerate()
            .filter(|(_, (p, _))| p != config::FILE)
            .map(|(i, (p, _))| SourceFile {
                path: p.clone(),
                entry: Entry::File,
                token: i,
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn read(&self, file: &SourceFile) -> io::Result<Vec<u8>> {
        Ok(self.files[file.token].1.clone())
    }

    fn read_config(&self) -> Result<Option<Vec<u8>>, SourceError> {
        Ok(self
            .files
            .iter()
            .find(|(p, _)| p == config::FILE)
            .map(|(_, c)| c.clone()))
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}
