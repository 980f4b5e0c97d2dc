//! What makes a cache file trustworthy: the key it was written for, and checksums over what it
//! holds. A file whose key differs is another CRM's, another repository's or another shallow
//! clone's (a copied or swapped file, a `git fetch --unshallow`): ignored and rebuilt, quietly.
//! A file whose checksum fails is damaged: ignored, rebuilt, and said so once.
//!
//! The key names the repository (a random id kept in `<git common dir>/sloop/repository-id`,
//! so that it survives moving the repository), the CRM's folder in it, and, for the report
//! snapshot, the shallow boundary (`.git/shallow`, empty when the clone is whole). The history
//! cache needs no shallow key: its entries are keyed by the commit and the commit it was
//! diffed against, and a commit at a shallow edge is diffed against nothing, so deepening the
//! clone gives the edge commit another key.
//!
//! Checksums are XXH3 (64 bits): a cache is read on every report, 100 MB at the benchmark's
//! scale, and XXH3 hashes it in a few milliseconds; it detects damage (a flipped bit, a
//! truncated file, an edited line), not an attacker, who could as well write `.git/hooks`.

use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;

use serde::Serialize;
use xxhash_rust::xxh3::{xxh3_128, xxh3_64_with_seed};

use crate::git::Walker;

/// The file below the git common dir that names the repository.
const ID_FILE: &str = "sloop/repository-id";

/// The key a cache file is written for and checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The key as the file holds it: a JSON object.
    text: String,
}

#[derive(Serialize)]
struct Fields<'a> {
    repository: &'a str,
    crm: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    shallow: Option<&'a str>,
}

impl Key {
    /// The key of the history cache of the CRM at `prefix` (`""`, `"crm/"`).
    pub fn history(walker: &Walker, prefix: &str) -> Key {
        Key::new(&repository_id(walker.common_dir()), prefix, None)
    }

    /// The key of the report snapshot of the CRM at `prefix`: the history cache's, and the
    /// shallow boundary.
    pub fn snapshot(walker: &Walker, prefix: &str) -> Key {
        let boundary = walker.shallow_boundary();
        let shallow = if boundary.is_empty() {
            String::new()
        } else {
            format!("{:032x}", xxh3_128(boundary.join("\n").as_bytes()))
        };
        Key::new(&repository_id(walker.common_dir()), prefix, Some(&shallow))
    }

    /// A key no file has (caching disabled).
    pub fn none() -> Key {
        Key {
            text: String::new(),
        }
    }

    fn new(repository: &str, crm: &str, shallow: Option<&str>) -> Key {
        let fields = Fields {
            repository,
            crm,
            shallow,
        };
        // Plain strings in a struct: serializing cannot fail.
        let text = serde_json::to_string(&fields).unwrap_or_default();
        Key { text }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The seed of the checksums of a file's entries: an entry copied from another CRM's
    /// file fails its check.
    pub fn seed(&self) -> u64 {
        checksum(self.text.as_bytes(), 0)
    }
}

/// The checksum of `bytes`.
pub fn checksum(bytes: &[u8], seed: u64) -> u64 {
    xxh3_64_with_seed(bytes, seed)
}

/// The repository's id: read from its file, or made (random) and written when there is none.
/// When it cannot be written, the canonical path of the git common dir stands in, so that the
/// caches (which cannot be written either, then) still have a key.
fn repository_id(common_dir: &Path) -> String {
    let file = common_dir.join(ID_FILE);
    if let Ok(text) = fs::read_to_string(&file) {
        let id = text.trim();
        if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return id.to_string();
        }
    }
    let path = common_dir
        .canonicalize()
        .unwrap_or_else(|_| common_dir.to_path_buf());
    // Random bits from the standard library's randomly keyed hasher, and the place.
    let random = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write(path.as_os_str().as_encoded_bytes());
        h.finish()
    };
    let id = format!("{:016x}{:016x}", random(1), random(2));
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let written = file
        .parent()
        .map_or(Ok(()), fs::create_dir_all)
        .and_then(|()| fs::write(&tmp, format!("{id}\n")))
        .and_then(|()| fs::rename(&tmp, &file));
    match written {
        Ok(()) => id,
        Err(_) => {
            let _ = fs::remove_file(&tmp);
            format!("at {}", path.display())
        }
    }
}

/// A checksum as 16 hex digits.
pub fn hex(sum: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    let digits = b"0123456789abcdef";
    for (i, b) in out.iter_mut().enumerate() {
        *b = digits[((sum >> (60 - 4 * i)) & 0xf) as usize];
    }
    out
}

/// 16 lowercase hex digits (as `hex` writes them) back to a checksum.
pub fn parse_hex(text: &[u8]) -> Option<u64> {
    if text.len() != 16 {
        return None;
    }
    text.iter().try_fold(0u64, |sum, b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        Some(sum << 4 | u64::from(digit))
    })
}
