//! The write index: every record of HEAD's tree in its slim form (`writes::slim`), cached in
//! `<git common dir>/sloop/write-index-v1/crm-<hash>.bin`, so that a write command reads one
//! file instead of every record. The file is keyed like the history cache (the repository and
//! the CRM's folder) and by the commit tree it describes, and checksummed whole: a file that
//! fails its check, or belongs to another CRM, is rebuilt. When HEAD has moved, the index is
//! brought forward by diffing the two trees and re-reading only the record files that
//! changed (a full rebuild past `REBUILD_FILES` of them).
//!
//! HEAD is not the work tree: the files a write wrote without `--commit` are remembered
//! (`<git dir>/sloop/write-index-v1/pending-<hash>`) and read again from disk on top of HEAD
//! until they are committed. Other uncommitted edits are `sloop check`'s business.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::crm::Crm;
use crate::git::{GitError, ObjectId, Repo, Walker};
use crate::history::codec::{self, put_varint, Codec, Reader};
use crate::history::integrity::{self, Key};
use crate::history::permissive_config;
use crate::model::{AnyRecord, Kind};
use crate::store::{self, classify, PathClass};
use crate::writes::slim::slim;

const DIR: &str = "sloop/write-index-v1";
const MAGIC: &[u8] = b"sloop write index 2\n";

/// Past this many changed files between the index's tree and HEAD's, the index is rebuilt
/// from HEAD (reading every record in parallel is then as cheap).
const REBUILD_FILES: usize = 20_000;

/// The index's records, by path.
type Slim = BTreeMap<String, AnyRecord>;

/// The CRM a write validates against: `config`, and every record of HEAD's tree and of the
/// files written since without a commit, slim. `whole` records (kind, id) are read whole
/// from the work tree instead (those the command edits).
pub fn crm(
    repo: &Repo,
    root: &Path,
    head: ObjectId,
    config: Config,
    whole: &[(Kind, &str)],
) -> Result<Crm, GitError> {
    let walker = Walker::open(root)?;
    let prefix = walker.prefix_of(root)?;
    let place = Place::new(&walker, repo, &prefix);
    let tree = repo.commit_info(head)?.tree;
    let mut records = match read(&place) {
        Some((cached, records)) if cached == tree => records,
        Some((cached, mut records)) => {
            let changes = walker.changed_files(Some(cached), tree, &prefix)?;
            if changes.len() > REBUILD_FILES {
                build(repo, head)?
            } else {
                let permissive = permissive_config();
                for c in changes {
                    let PathClass::Record(kind, id) = classify(&c.path) else {
                        continue;
                    };
                    records.remove(&c.path);
                    if let Some(blob) = c.new {
                        let bytes = walker.read_blob(blob)?;
                        let (record, _) =
                            store::parse_bytes(kind, id, &c.path, &bytes, &permissive);
                        records.insert(c.path.clone(), slim(record));
                    }
                }
                let _ = write(&place, tree, &records);
                records
            }
        }
        None => {
            let records = build(repo, head)?;
            let _ = write(&place, tree, &records);
            records
        }
    };
    overlay_pending(repo, root, head, &place, &mut records);
    // The records the command edits, whole, as the work tree has them.
    for (kind, id) in whole {
        let found = records
            .iter()
            .find(|(_, r)| r.kind() == *kind && r.meta().id == *id)
            .map(|(p, _)| p.clone());
        if let Some(path) = found {
            if let Ok(bytes) = fs::read(root.join(&path)) {
                let (record, _) = store::parse_bytes(*kind, id, &path, &bytes, &config);
                records.insert(path, record);
            }
        }
    }
    let mut crm = Crm {
        config,
        ..Crm::default()
    };
    // In path order, as the loader gives them.
    for (_, r) in records {
        crm.push(r);
    }
    Ok(crm)
}

/// Remembers files a write wrote without committing, so that the next writes see them.
pub fn note_pending(root: &Path, paths: &[String]) -> Result<(), GitError> {
    let walker = Walker::open(root)?;
    let prefix = walker.prefix_of(root)?;
    let file = pending_file(walker.git_dir(), &prefix);
    let mut text = fs::read_to_string(&file).unwrap_or_default();
    for p in paths {
        if !text.lines().any(|l| l == p) {
            text.push_str(p);
            text.push('\n');
        }
    }
    write_atomic(&file, text.as_bytes())
        .map_err(|e| GitError::corrupt("cannot remember the uncommitted files", e.to_string()))
}

/// Where the index of a CRM lives, and its key.
struct Place {
    file: PathBuf,
    pending: PathBuf,
    key: Key,
}

impl Place {
    fn new(walker: &Walker, _repo: &Repo, prefix: &str) -> Place {
        Place {
            file: index_file(walker.common_dir(), prefix),
            pending: pending_file(walker.git_dir(), prefix),
            key: Key::history(walker, prefix),
        }
    }
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn index_file(common_dir: &Path, prefix: &str) -> PathBuf {
    common_dir
        .join(DIR)
        .join(format!("crm-{:016x}.bin", fnv(prefix)))
}

fn pending_file(git_dir: &Path, prefix: &str) -> PathBuf {
    git_dir
        .join(DIR)
        .join(format!("pending-{:016x}", fnv(prefix)))
}

/// Every record of HEAD's tree, slim, with the one loader.
fn build(repo: &Repo, head: ObjectId) -> Result<Slim, GitError> {
    let source = repo.tree_source(head)?;
    let loaded =
        store::load(&source).map_err(|e| GitError::corrupt("cannot read HEAD", e.to_string()))?;
    Ok(loaded
        .crm
        .into_records()
        .map(|r| (r.meta().path.clone(), slim(r)))
        .collect())
}

/// The files remembered as written without a commit, read again on top of HEAD; those now
/// committed as they are (or gone) are forgotten.
fn overlay_pending(repo: &Repo, root: &Path, head: ObjectId, place: &Place, records: &mut Slim) {
    let Ok(text) = fs::read_to_string(&place.pending) else {
        return;
    };
    let permissive = permissive_config();
    let mut keep = String::new();
    for path in text.lines().filter(|l| !l.is_empty()) {
        let PathClass::Record(kind, id) = classify(path) else {
            continue;
        };
        let Ok(bytes) = fs::read(root.join(path)) else {
            // Gone from the work tree: HEAD's version (if any) stands.
            continue;
        };
        let committed = repo.blob_at(head, path).ok().flatten();
        let same = committed.is_some_and(|b| crate::git::blob_id(&bytes) == Some(b));
        if same {
            continue;
        }
        let (record, _) = store::parse_bytes(kind, id, path, &bytes, &permissive);
        records.insert(path.to_string(), slim(record));
        keep.push_str(path);
        keep.push('\n');
    }
    if keep != text {
        let _ = write_atomic(&place.pending, keep.as_bytes());
    }
}

fn write_atomic(file: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = file.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let written = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, file));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// `MAGIC`, the key's length and text, the tree, the records, then the checksum of all that
/// (seeded with the key) as 8 bytes.
fn write(place: &Place, tree: ObjectId, records: &Slim) -> io::Result<()> {
    let mut out = Vec::with_capacity(records.len() * 96);
    out.extend_from_slice(MAGIC);
    let key = place.key.text().as_bytes();
    put_varint(&mut out, key.len() as u64);
    out.extend_from_slice(key);
    tree.put(&mut out);
    put_varint(&mut out, records.len() as u64);
    for r in records.values() {
        r.put(&mut out);
    }
    let sum = integrity::checksum(&out, place.key.seed());
    out.extend_from_slice(&sum.to_le_bytes());
    write_atomic(&place.file, &out)
}

/// The cached tree and records, if the file is there, whole, and this CRM's.
fn read(place: &Place) -> Option<(ObjectId, Slim)> {
    let bytes = fs::read(&place.file).ok()?;
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
    let sum = u64::from_le_bytes(sum.try_into().ok()?);
    if integrity::checksum(body, place.key.seed()) != sum {
        return None;
    }
    let rest = body.strip_prefix(MAGIC)?;
    let mut r = Reader::new(rest);
    let key_len = usize::try_from(r.varint().ok()?).ok()?;
    if r.bytes(key_len).ok()? != place.key.text().as_bytes() {
        return None;
    }
    let tree = ObjectId::get(&mut r).ok()?;
    let n = r.len().ok()?;
    let mut records = Slim::new();
    for _ in 0..n {
        let record: AnyRecord = codec::Codec::get(&mut r).ok()?;
        records.insert(record.meta().path.clone(), record);
    }
    Some((tree, records))
}
