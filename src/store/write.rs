//! Writing record files: whole, never half. Each file goes to a hidden temporary file in its
//! own folder (`.name.sloop-tmp`, which the loader ignores and `sloop doctor` removes if a
//! crash leaves one), renamed over the old file once complete.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::files::FileSet;

/// The suffix of the temporary files.
pub const TEMP_SUFFIX: &str = ".sloop-tmp";

/// The temporary file `write_file` uses for `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}{TEMP_SUFFIX}"))
}

/// Writes one file whole (creating its folder).
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = temp_path(path);
    let written = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Writes every file (paths relative to `root`), all or nothing: every new version is
/// written to its temporary file first, and only when all of them are complete are they
/// renamed into place. On a failure nothing is left changed (the files renamed already are
/// put back) and the error names the file.
pub fn write_files(root: &Path, files: &dyn FileSet) -> Result<(), (PathBuf, io::Error)> {
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(files.count());
    let clean = |temps: &[(PathBuf, PathBuf)]| {
        for (_, t) in temps {
            let _ = fs::remove_file(t);
        }
    };
    for i in 0..files.count() {
        let path = root.join(files.path(i));
        let tmp = temp_path(&path);
        let written = path
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| files.bytes(i))
            .and_then(|bytes| fs::write(&tmp, bytes));
        temps.push((path.clone(), tmp));
        if let Err(e) = written {
            clean(&temps);
            return Err((path, e));
        }
    }
    let mut done: Vec<(PathBuf, Option<Vec<u8>>)> = Vec::with_capacity(files.count());
    for (i, (path, tmp)) in temps.iter().enumerate() {
        let before = fs::read(path).ok();
        if let Err(e) = fs::rename(tmp, path) {
            for (p, b) in done.iter().rev() {
                match b {
                    Some(b) => {
                        let _ = write_file(p, b);
                    }
                    None => {
                        let _ = fs::remove_file(p);
                    }
                }
            }
            clean(&temps[i..]);
            return Err((path.clone(), e));
        }
        done.push((path.clone(), before));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{temp_path, write_files};

    #[test]
    fn writes_all_files_or_none() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("accounts")).unwrap();
        std::fs::write(dir.path().join("accounts/a.toml"), "old").unwrap();
        // The second file's folder is a file: nothing may change.
        std::fs::write(dir.path().join("blocked"), "x").unwrap();
        let files = vec![
            ("accounts/a.toml".to_string(), b"new".to_vec()),
            ("blocked/b.toml".to_string(), b"b".to_vec()),
        ];
        let err = write_files(dir.path(), &files).unwrap_err();
        assert!(err.0.ends_with("blocked/b.toml"), "{err:?}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("accounts/a.toml")).unwrap(),
            "old"
        );
        assert!(!temp_path(&dir.path().join("accounts/a.toml")).exists());
        let ok = vec![
            ("accounts/a.toml".to_string(), b"new".to_vec()),
            ("leads/c.toml".to_string(), b"c".to_vec()),
        ];
        write_files(dir.path(), &ok).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("accounts/a.toml")).unwrap(),
            "new"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("leads/c.toml")).unwrap(),
            "c"
        );
        let leftovers: Vec<_> = walkdir::WalkDir::new(dir.path())
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".sloop-tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
