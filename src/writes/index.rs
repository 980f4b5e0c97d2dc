//! The write index: every record of HEAD's tree in its slim form (`writes::slim`), cached in
//! `<git common dir>/sloop/write-index-v1/crm-<hash>.bin`, so that a write command reads one
//! file instead of every record. The file is keyed like the history cache (the repository and
//! the CRM's folder) and by the commit tree it describes, and checksummed whole: a file that
//! fails its check, or belongs to another CRM, is rebuilt. When HEAD has moved, the index is
//! brought forward by diffing the two trees and re-reading only the record files that
//! changed (a full rebuild past `REBUILD_FILES` of them).
//!
//! The file is mapped, not read, and an activity is decoded only when the command asks for
//! its id (`Needs::activity_ids`): a write that needs none of the CRM's activities (most of its
//! records) touches their bytes only to check the file's checksum.
//!
//! HEAD is not the work tree: the files a write wrote without `--commit` are remembered
//! (`<git dir>/sloop/write-index-v1/pending-<hash>`) and read again from disk on top of HEAD
//! until they are committed. Other uncommitted edits are `sloop check`'s business.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::crm::Crm;
use crate::git::{GitError, ObjectId, Repo, Walker};
use crate::history::codec::{put_str, put_varint, Codec, Reader};
use crate::history::integrity::{self, Key};
use crate::history::permissive_config;
use crate::model::{Activity, AnyRecord, Kind, OfKind};
use crate::store::{self, classify, PathClass};
use crate::writes::slim::slim;

const DIR: &str = "sloop/write-index-v1";
const MAGIC: &[u8] = b"sloop write index 5\n";

/// Past this many changed files between the index's tree and HEAD's, the index is rebuilt
/// from HEAD (reading every record in parallel is then as cheap).
const REBUILD_FILES: usize = 20_000;

/// What a write command needs of the CRM besides the slim accounts, contacts, opportunities
/// and leads: the records it edits, whole (kind, id), and which activities (most writes
/// need none of the hundreds of thousands a CRM gathers: `log` only those whose id could
/// collide with the one it makes).
pub struct Needs<'a> {
    pub whole: &'a [(Kind, &'a str)],
    /// The activities worth decoding, by id (the others are skipped unread)…
    pub activity_ids: &'a dyn Fn(&str) -> bool,
    /// …and of those, the ones kept.
    pub activities: &'a dyn Fn(&Activity) -> bool,
}

impl Needs<'_> {
    /// No record whole, no activity.
    pub fn nothing() -> Needs<'static> {
        Needs {
            whole: &[],
            activity_ids: &|_| false,
            activities: &|_| false,
        }
    }
}

/// The CRM a write validates against: `config`, and every record of HEAD's tree and of the
/// files written since without a commit, slim (activities only as `needs` says), and the
/// records `needs.whole` names read whole from the work tree (those the command edits).
pub fn crm(
    repo: &Repo,
    root: &Path,
    head: ObjectId,
    config: Config,
    needs: &Needs,
) -> Result<Crm, GitError> {
    let whole = needs.whole;
    let walker = Walker::open(root)?;
    let prefix = walker.prefix_of(root)?;
    let place = Place::new(&walker, &prefix);
    let tree = repo.commit_info(head)?.tree;
    let mut crm = match read(&place, needs.activity_ids, needs.activities) {
        Some((cached, crm)) if cached == tree => crm,
        Some((cached, _)) => {
            let changes = walker.changed_files(Some(cached), tree, &prefix)?;
            if changes.len() > REBUILD_FILES {
                // Rebuilt, and written for the next write: unwritten, every write after a
                // large commit (an import) rebuilt it again, with the old index held beside
                // it (7 s and 640 MiB a write on the benchmark CRM).
                let crm = build(repo, head)?;
                let _ = write(&place, tree, &crm);
                crm
            } else {
                let Some((_, mut crm)) = read(&place, &|_| true, &|_| true) else {
                    return Err(GitError::corrupt(
                        "cannot read the write index",
                        "it changed while read",
                    ));
                };
                let permissive = permissive_config();
                let mut puts = Vec::with_capacity(changes.len());
                for c in changes {
                    let PathClass::Record(kind, id) = classify(&c.path) else {
                        continue;
                    };
                    let record = match c.new {
                        Some(blob) => {
                            let bytes = walker.read_blob(blob)?;
                            let (record, _) =
                                store::parse_bytes(kind, id, &c.path, &bytes, &permissive);
                            Some(slim(record))
                        }
                        None => None,
                    };
                    puts.push((kind, c.path, record));
                }
                put_all(&mut crm, puts);
                let _ = write(&place, tree, &crm);
                crm
            }
        }
        None => {
            let crm = build(repo, head)?;
            let _ = write(&place, tree, &crm);
            crm
        }
    };
    // The index read from a current file kept only the activities needed; one brought
    // forward or rebuilt was written whole first.
    crm.activities
        .retain(|a| (needs.activity_ids)(&a.meta.id) && (needs.activities)(a));
    // Kept by a server between rounds: the room of the 200,000 activities of a rebuilt or
    // brought forward index is given back (65 MiB of the committer's 147 on the benchmark).
    crm.activities.shrink_to_fit();
    overlay_pending(repo, root, head, &place, &mut crm);
    // The records the command edits, whole, as the work tree has them.
    for (kind, id) in whole {
        let found = match kind {
            // Activities may have been left out: find the file by id from the index.
            Kind::Activity => find_activity(&place, id),
            _ => crm
                .ids(*kind)
                .into_iter()
                .find(|(_, i)| i == id)
                .map(|(p, _)| p.to_string()),
        };
        if let Some(path) = found {
            if let Ok(bytes) = fs::read(root.join(&path)) {
                let (record, _) = store::parse_bytes(*kind, id, &path, &bytes, &config);
                put(&mut crm, *kind, &path, Some(record));
            }
        }
    }
    crm.config = config;
    Ok(crm)
}

/// Puts the record files of a commit (CRM-relative path, bytes) into `crm`, each replacing
/// the record at its path: the one `parsed` has for that path (what the caller already
/// parsed of those bytes), else the file parsed with `crm`'s config; other files are left
/// out.
pub fn put_files(
    crm: &mut Crm,
    files: &[(String, Vec<u8>)],
    mut parsed: HashMap<String, AnyRecord>,
) {
    let puts = files
        .iter()
        .filter_map(|(path, bytes)| {
            let PathClass::Record(kind, id) = classify(path) else {
                return None;
            };
            let record = parsed
                .remove(path)
                .unwrap_or_else(|| store::parse_bytes(kind, id, path, bytes, &crm.config).0);
            Some((kind, path.clone(), Some(record)))
        })
        .collect();
    put_all(crm, puts);
}

/// Puts many records at their paths (`put` for each, in one pass: a few are put one by one,
/// many are merged and each list sorted once, rather than shifting a list of 200,000
/// activities for each of 100,000 new files).
fn put_all(crm: &mut Crm, puts: Vec<(Kind, String, Option<AnyRecord>)>) {
    if puts.len() <= 64 {
        for (kind, path, record) in puts {
            put(crm, kind, &path, record);
        }
        return;
    }
    let mut by_path: HashMap<String, (Kind, Option<AnyRecord>)> = HashMap::new();
    // The kinds put: the lists of the others are left as they are (a server's batch of
    // leads need not walk 200,000 activities).
    let mut touched = Vec::new();
    for (kind, path, record) in puts {
        if !touched.contains(&kind) {
            touched.push(kind);
        }
        by_path.insert(path, (kind, record));
    }
    let touched = |kind: Kind| touched.contains(&kind);
    // Replaced and removed records first, in place.
    let mut replace = |path: &str| by_path.remove(path).map(|(_, r)| r);
    fn merge<T: OfKind>(
        list: &mut Vec<T>,
        replace: &mut dyn FnMut(&str) -> Option<Option<AnyRecord>>,
    ) {
        let old = std::mem::take(list);
        for r in old {
            match replace(&r.meta().path) {
                None => list.push(r),
                Some(Some(new)) => list.extend(T::from_any(new)),
                Some(None) => {}
            }
        }
    }
    if touched(Kind::Account) {
        merge(&mut crm.accounts, &mut replace);
    }
    if touched(Kind::Contact) {
        merge(&mut crm.contacts, &mut replace);
    }
    if touched(Kind::Opportunity) {
        merge(&mut crm.opportunities, &mut replace);
    }
    if touched(Kind::Lead) {
        merge(&mut crm.leads, &mut replace);
    }
    if touched(Kind::Activity) {
        merge(&mut crm.activities, &mut replace);
    }
    // Then the new ones, and each list in path order again.
    for (kind, record) in by_path.into_values() {
        if let Some(record) = record {
            match (kind, record) {
                (Kind::Account, AnyRecord::Account(r)) => crm.accounts.push(r),
                (Kind::Contact, AnyRecord::Contact(r)) => crm.contacts.push(r),
                (Kind::Opportunity, AnyRecord::Opportunity(r)) => crm.opportunities.push(r),
                (Kind::Lead, AnyRecord::Lead(r)) => crm.leads.push(r),
                (Kind::Activity, AnyRecord::Activity(r)) => crm.activities.push(r),
                _ => {}
            }
        }
    }
    if touched(Kind::Account) {
        crm.accounts.sort_by(|a, b| a.meta.path.cmp(&b.meta.path));
    }
    if touched(Kind::Contact) {
        crm.contacts.sort_by(|a, b| a.meta.path.cmp(&b.meta.path));
    }
    if touched(Kind::Opportunity) {
        crm.opportunities
            .sort_by(|a, b| a.meta.path.cmp(&b.meta.path));
    }
    if touched(Kind::Lead) {
        crm.leads.sort_by(|a, b| a.meta.path.cmp(&b.meta.path));
    }
    if touched(Kind::Activity) {
        crm.activities.sort_by(|a, b| a.meta.path.cmp(&b.meta.path));
    }
}

/// Puts `record` at `path` in its kind's list (kept in path order), replacing what was
/// there; `None` removes it.
fn put(crm: &mut Crm, kind: Kind, path: &str, record: Option<AnyRecord>) {
    fn at<T>(list: &mut Vec<T>, path: &str, meta: fn(&T) -> &str, new: Option<T>) {
        match (list.binary_search_by(|r| meta(r).cmp(path)), new) {
            (Ok(i), Some(r)) => list[i] = r,
            (Ok(i), None) => {
                list.remove(i);
            }
            (Err(i), Some(r)) => list.insert(i, r),
            (Err(_), None) => {}
        }
    }
    match (kind, record) {
        (Kind::Account, Some(AnyRecord::Account(r))) => {
            at(&mut crm.accounts, path, |r| &r.meta.path, Some(r))
        }
        (Kind::Contact, Some(AnyRecord::Contact(r))) => {
            at(&mut crm.contacts, path, |r| &r.meta.path, Some(r))
        }
        (Kind::Opportunity, Some(AnyRecord::Opportunity(r))) => {
            at(&mut crm.opportunities, path, |r| &r.meta.path, Some(r))
        }
        (Kind::Lead, Some(AnyRecord::Lead(r))) => {
            at(&mut crm.leads, path, |r| &r.meta.path, Some(r))
        }
        (Kind::Activity, Some(AnyRecord::Activity(r))) => {
            at(&mut crm.activities, path, |r| &r.meta.path, Some(r))
        }
        (Kind::Account, _) => at(&mut crm.accounts, path, |r| &r.meta.path, None),
        (Kind::Contact, _) => at(&mut crm.contacts, path, |r| &r.meta.path, None),
        (Kind::Opportunity, _) => at(&mut crm.opportunities, path, |r| &r.meta.path, None),
        (Kind::Lead, _) => at(&mut crm.leads, path, |r| &r.meta.path, None),
        (Kind::Activity, _) => at(&mut crm.activities, path, |r| &r.meta.path, None),
    }
}

/// Remembers files a write wrote without committing, so that the next writes see them.
pub fn note_pending(root: &Path, paths: &[String]) -> Result<(), GitError> {
    let walker = Walker::open(root)?;
    let prefix = walker.prefix_of(root)?;
    let file = pending_file(walker.git_dir(), &prefix);
    let mut text = fs::read_to_string(&file).unwrap_or_default();
    // A set, not a scan of the text per path: a capture run notes tens of thousands.
    let mut known: std::collections::HashSet<String> = text.lines().map(str::to_string).collect();
    for p in paths {
        if known.insert(p.clone()) {
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
    fn new(walker: &Walker, prefix: &str) -> Place {
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

/// Every record of HEAD's tree, slim, with the one loader (each list in path order).
fn build(repo: &Repo, head: ObjectId) -> Result<Crm, GitError> {
    let source = repo.tree_source(head)?;
    // Each record slimmed as it is parsed, without its field positions: loaded whole first,
    // every record of a large CRM was held at once (616–657 MiB at the benchmark's size).
    let loaded = store::load_kept(&source, slim)
        .map_err(|e| GitError::corrupt("cannot read HEAD", e.to_string()))?;
    drop(source);
    crate::git::release_freed_memory();
    Ok(loaded.crm)
}

/// The files remembered as written without a commit, read again on top of HEAD; those now
/// committed as they are (or gone) are forgotten.
fn overlay_pending(repo: &Repo, root: &Path, head: ObjectId, place: &Place, crm: &mut Crm) {
    let Ok(text) = fs::read_to_string(&place.pending) else {
        return;
    };
    let permissive = permissive_config();
    let mut keep = String::new();
    let paths: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let committed = repo
        .blobs_at(head, &paths)
        .unwrap_or_else(|_| vec![None; paths.len()]);
    let mut puts = Vec::new();
    for (path, committed) in paths.into_iter().zip(committed) {
        let PathClass::Record(kind, id) = classify(path) else {
            continue;
        };
        let Ok(bytes) = fs::read(root.join(path)) else {
            // Gone from the work tree: HEAD's version (if any) stands.
            continue;
        };
        let same = committed.is_some_and(|b| crate::git::blob_id(&bytes) == Some(b));
        if same {
            continue;
        }
        let (record, _) = store::parse_bytes(kind, id, path, &bytes, &permissive);
        puts.push((kind, path.to_string(), Some(slim(record))));
        keep.push_str(path);
        keep.push('\n');
    }
    put_all(crm, puts);
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

/// `MAGIC`, the key's length and text, the tree, then each kind's records (their number,
/// then each, in path order; each activity preceded by its id and its length, so that it can
/// be skipped undecoded), then the checksum of all that (seeded with the key) as 8 bytes.
fn write(place: &Place, tree: ObjectId, crm: &Crm) -> io::Result<()> {
    let mut out = Vec::with_capacity(crm.len() * 96);
    out.extend_from_slice(MAGIC);
    let key = place.key.text().as_bytes();
    put_varint(&mut out, key.len() as u64);
    out.extend_from_slice(key);
    tree.put(&mut out);
    fn list<T: Codec>(out: &mut Vec<u8>, items: &[T]) {
        put_varint(out, items.len() as u64);
        for i in items {
            i.put(out);
        }
    }
    list(&mut out, &crm.accounts);
    list(&mut out, &crm.contacts);
    list(&mut out, &crm.opportunities);
    list(&mut out, &crm.leads);
    put_varint(&mut out, crm.activities.len() as u64);
    let mut one = Vec::new();
    for a in &crm.activities {
        put_str(&mut out, &a.meta.id);
        one.clear();
        a.put(&mut one);
        put_varint(&mut out, one.len() as u64);
        out.extend_from_slice(&one);
    }
    let sum = integrity::checksum(&out, place.key.seed());
    out.extend_from_slice(&sum.to_le_bytes());
    write_atomic(&place.file, &out)
}

/// The path of an activity by id, from the index file.
fn find_activity(place: &Place, id: &str) -> Option<String> {
    let (_, crm) = read(place, &|i| i == id, &|_| true)?;
    crm.activities.into_iter().next().map(|a| a.meta.path)
}

/// The cached tree and records (the activities whose id `ids` accepts and then `keep`
/// accepts), if the file is there, whole, and this CRM's.
fn read(
    place: &Place,
    ids: &dyn Fn(&str) -> bool,
    keep: &dyn Fn(&Activity) -> bool,
) -> Option<(ObjectId, Crm)> {
    let file = fs::File::open(&place.file).ok()?;
    // SAFETY: the index is only ever replaced whole (written under another name, then
    // renamed over it: `write_atomic`), never written in place, so the mapped bytes do not
    // change under us.
    let bytes = unsafe { memmap2::Mmap::map(&file) }.ok()?;
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
    fn list<T: Codec>(r: &mut Reader) -> Option<Vec<T>> {
        let n = r.len().ok()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(T::get(r).ok()?);
        }
        Some(out)
    }
    let mut crm = Crm {
        accounts: list(&mut r)?,
        contacts: list(&mut r)?,
        opportunities: list(&mut r)?,
        leads: list(&mut r)?,
        ..Crm::default()
    };
    let n = r.len().ok()?;
    for _ in 0..n {
        let len = r.len().ok()?;
        let id = std::str::from_utf8(r.bytes(len).ok()?).ok()?;
        let len = r.len().ok()?;
        let body = r.bytes(len).ok()?;
        if !ids(id) {
            continue;
        }
        let mut one = Reader::new(body);
        let a = Activity::get(&mut one).ok()?;
        if !one.is_empty() || a.meta.id != id {
            return None;
        }
        if keep(&a) {
            crm.activities.push(a);
        }
    }
    r.is_empty().then_some((tree, crm))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: Kind, path: &str, name: &str) -> AnyRecord {
        let id = path
            .rsplit('/')
            .next()
            .and_then(|f| f.strip_suffix(".toml"))
            .unwrap_or(path);
        let text = match kind {
            Kind::Lead => format!("name = \"{name}\"\nstatus = \"new\"\n"),
            _ => format!("name = \"{name}\"\n"),
        };
        store::parse_bytes(kind, id, path, text.as_bytes(), &permissive_config()).0
    }

    fn listing(crm: &Crm) -> String {
        format!("{:?}\n{:?}", crm.accounts, crm.leads)
    }

    /// A rebuilt or brought forward index holds every activity before it keeps those the
    /// command needs: the room of the others is given back (a server keeps this CRM).
    #[test]
    fn the_crm_keeps_no_room_for_the_activities_it_left_out() {
        let mut t = crate::git::testing::TestRepo::new();
        t.commit(
            "2026-11-02",
            "a CRM",
            &[
                ("sloop.toml", Some("")),
                ("accounts/acme.toml", Some("name = \"Acme\"\n")),
                (
                    "activities/2026/11/2026-11-02-call-acme.toml",
                    Some("kind = \"call\"\ndate = 2026-11-02\naccount = \"acme\"\n"),
                ),
            ],
        );
        let repo = Repo::open(t.dir()).unwrap().unwrap();
        let head = repo.head().unwrap().unwrap();
        let config = store::parse_config(b"").0;
        let crm = crm(&repo, t.dir(), head, config, &Needs::nothing()).unwrap();
        assert_eq!(crm.accounts.len(), 1);
        assert_eq!(crm.activities.capacity(), 0);
    }

    /// The index file gives back what was written: every record of the four other kinds, and
    /// exactly the activities whose id and record the command asks for (those it skips by
    /// id are never decoded); a damaged or cut file is not used.
    #[test]
    fn the_index_gives_back_the_activities_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let place = Place {
            file: dir.path().join("crm.bin"),
            pending: dir.path().join("pending"),
            key: Key::none(),
        };
        // As the index holds them: slim.
        let mut crm = Crm::default();
        crm.push(slim(record(Kind::Account, "accounts/acme.toml", "Acme")));
        crm.push(slim(record(Kind::Lead, "leads/l1.toml", "L1")));
        for (path, kind) in [
            ("activities/2026/11/2026-11-02-call-acme.toml", "call"),
            ("activities/2026/11/2026-11-02-call-acme-2.toml", "task"),
            ("activities/2026/11/2026-11-03-note-acme.toml", "note"),
        ] {
            let id = path.rsplit('/').next().unwrap().trim_end_matches(".toml");
            let text = format!("kind = \"{kind}\"\ndate = 2026-11-02\naccount = \"acme\"\n");
            let (r, _) = store::parse_bytes(
                Kind::Activity,
                id,
                path,
                text.as_bytes(),
                &permissive_config(),
            );
            crm.push(slim(r));
        }
        let tree = ObjectId([7; 20]);
        write(&place, tree, &crm).unwrap();
        let ids = |crm: &Crm| -> Vec<String> {
            crm.activities.iter().map(|a| a.meta.id.clone()).collect()
        };
        let (at, all) = read(&place, &|_| true, &|_| true).unwrap();
        assert_eq!(at, tree);
        assert_eq!(
            format!("{:?}", all.activities),
            format!("{:?}", crm.activities)
        );
        assert_eq!(listing(&all), listing(&crm));
        let (_, some) = read(&place, &|id| id.starts_with("2026-11-02-call"), &|_| true).unwrap();
        assert_eq!(
            ids(&some),
            ["2026-11-02-call-acme", "2026-11-02-call-acme-2"]
        );
        let (_, tasks) = read(&place, &|_| true, &|a| {
            a.kind == crate::model::ActivityKind::Task
        })
        .unwrap();
        assert_eq!(ids(&tasks), ["2026-11-02-call-acme-2"]);
        let (_, none) = read(&place, &|_| false, &|_| true).unwrap();
        assert!(none.activities.is_empty());
        assert_eq!(listing(&none), listing(&crm));
        // A flipped byte anywhere, or a cut file, fails the checksum.
        let bytes = std::fs::read(&place.file).unwrap();
        for at in [MAGIC.len() + 3, bytes.len() / 2, bytes.len() - 20] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x20;
            std::fs::write(&place.file, &bad).unwrap();
            assert!(
                read(&place, &|_| true, &|_| true).is_none(),
                "flipped at {at}"
            );
        }
        std::fs::write(&place.file, &bytes[..bytes.len() - 9]).unwrap();
        assert!(read(&place, &|_| true, &|_| true).is_none());
    }

    #[test]
    fn many_puts_at_once_give_what_one_put_after_another_gives() {
        let mut base = Crm::default();
        for i in (0..300).step_by(3) {
            put(&mut base, Kind::Lead, &format!("leads/l{i:03}.toml"), None);
            let path = format!("leads/l{i:03}.toml");
            put(
                &mut base,
                Kind::Lead,
                &path,
                Some(record(Kind::Lead, &path, "old")),
            );
        }
        let path = "accounts/acme.toml";
        put(
            &mut base,
            Kind::Account,
            path,
            Some(record(Kind::Account, path, "Acme")),
        );
        // New files between and after the old ones, replacements, removals, a removal of
        // what is not there, and the same path twice (the last one stands).
        let mut puts: Vec<(Kind, String, Option<AnyRecord>)> = Vec::new();
        for i in 0..300 {
            let path = format!("leads/l{i:03}.toml");
            let record = match i % 5 {
                0 => None,
                _ => Some(record(Kind::Lead, &path, &format!("new {i}"))),
            };
            puts.push((Kind::Lead, path, record));
        }
        puts.push((Kind::Lead, "leads/l007.toml".into(), None));
        puts.push((
            Kind::Account,
            "accounts/zeta.toml".into(),
            Some(record(Kind::Account, "accounts/zeta.toml", "Zeta")),
        ));
        let mut one_by_one = base.clone();
        for (kind, path, record) in puts.clone() {
            put(&mut one_by_one, kind, &path, record);
        }
        let mut at_once = base;
        put_all(&mut at_once, puts);
        assert!(at_once.leads.len() > 200);
        assert_eq!(listing(&at_once), listing(&one_by_one));
    }
}
