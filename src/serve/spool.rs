//! The spool: every accepted event on disk, durably, before the server answers `202`.
//!
//! `<git dir>/sloop/spool/<hook>/` holds `pending/<id>.json` (accepted, not yet committed),
//! `rejected/<id>.json` (failed validation, with the reason), `done/<id>` (committed: the
//! event as it was pending, a hard link to its pending file, so that a retried delivery stays
//! a no-op and `--push` can judge it again on a rebase) and `tmp/`. A file appears in a
//! folder whole: written to `tmp/`, flushed to disk, then linked into place and the folder
//! flushed too. Linking fails when the name exists, which is what makes two concurrent
//! deliveries of one idempotency key spool one event.
//!
//! `batch.json` at the top names the events of the commit being made and the batch's id,
//! which the commit's message carries: after a crash, the events of a batch whose commit
//! reached the branch are marked done, the others stay pending and are committed again.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One accepted delivery.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub id: String,
    pub hook: String,
    /// When it was accepted (RFC 3339).
    pub received: String,
    /// The `Idempotency-Key` or the payload's own id, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key: Option<String>,
    pub payload: serde_json::Value,
}

/// A rejected event and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rejected {
    #[serde(flatten)]
    pub event: Event,
    pub reason: String,
}

/// The commit in progress.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Batch {
    pub id: String,
    pub hook: String,
    pub events: Vec<String>,
}

pub struct Spool {
    root: PathBuf,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// The id of an event: from its key when it has one (so every delivery of the key names the
/// same file), else unique from the time of acceptance, the process and a counter. Ids sort
/// by acceptance for events without a key.
pub fn event_id(hook: &str, key: Option<&str>, received_nanos: i128) -> String {
    match key {
        Some(k) => {
            let mut h = Sha256::new();
            h.update(hook.as_bytes());
            h.update([0]);
            h.update(k.as_bytes());
            let hex: String = h.finalize()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("k-{hex}")
        }
        None => format!(
            "t-{:020}-{}-{:012}",
            received_nanos.max(0),
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> io::Result<T> {
    let bytes = fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

impl Spool {
    /// The spool of a repository (created on first use).
    pub fn new(git_dir: &Path) -> Spool {
        Spool {
            root: git_dir.join("sloop").join("spool"),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir(&self, hook: &str, folder: &str) -> io::Result<PathBuf> {
        let d = self.root.join(hook).join(folder);
        fs::create_dir_all(&d)?;
        Ok(d)
    }

    /// Writes `bytes` whole to `dir/name`, durably; `Ok(false)` when the name was taken.
    fn put(&self, hook: &str, folder: &str, name: &str, bytes: &[u8]) -> io::Result<bool> {
        let tmp_dir = self.dir(hook, "tmp")?;
        let dir = self.dir(hook, folder)?;
        let tmp = tmp_dir.join(format!(
            "{name}.{}.{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        let linked = fs::hard_link(&tmp, dir.join(name));
        fs::remove_file(&tmp)?;
        match linked {
            Ok(()) => {
                sync_dir(&dir)?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Spools an event durably. `Ok(false)`: an event of the same id was already accepted
    /// (pending, committed or rejected), and nothing was written.
    pub fn accept(&self, event: &Event) -> io::Result<bool> {
        let bytes = serde_json::to_vec(event).map_err(io::Error::other)?;
        let name = format!("{}.json", event.id);
        if !self.put(&event.hook, "pending", &name, &bytes)? {
            return Ok(false);
        }
        // The committer writes `done/` or `rejected/` before it removes `pending/`, so a key
        // seen there was accepted before: take back the file just linked.
        if self.is_settled(&event.hook, &event.id) {
            let dir = self.dir(&event.hook, "pending")?;
            // The committer, listing the pending events meanwhile, may have removed it as
            // settled already.
            remove_if_present(&dir.join(&name))?;
            sync_dir(&dir)?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Whether the event was committed or rejected.
    pub fn is_settled(&self, hook: &str, id: &str) -> bool {
        self.root.join(hook).join("done").join(id).exists()
            || self
                .root
                .join(hook)
                .join("rejected")
                .join(format!("{id}.json"))
                .exists()
    }

    /// The hooks that have a spool folder.
    pub fn hooks(&self) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        match fs::read_dir(&self.root) {
            Ok(entries) => {
                for e in entries {
                    let e = e?;
                    if e.file_type()?.is_dir() {
                        out.push(e.file_name().to_string_lossy().into_owned());
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        out.sort();
        Ok(out)
    }

    /// The hook's pending events, oldest first. An event already settled (a crash left its
    /// pending file behind) is removed on the way.
    pub fn pending(&self, hook: &str) -> io::Result<Vec<Event>> {
        self.pending_since(hook, &mut HashMap::new())
    }

    /// [`Spool::pending`], reading only the files of events not in `read` (what earlier
    /// calls read, kept by the caller: a backlog of 10,000 events is not read again for
    /// each commit of 1,000); `read` is left holding exactly the pending events.
    pub fn pending_since(
        &self,
        hook: &str,
        read: &mut HashMap<String, Event>,
    ) -> io::Result<Vec<Event>> {
        let dir = self.dir(hook, "pending")?;
        let mut listed = HashSet::new();
        for e in fs::read_dir(&dir)? {
            let path = e?.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            if !read.contains_key(id) {
                if self.is_settled(hook, id) {
                    // A retried delivery's `accept` may take it back at the same time.
                    remove_if_present(&path)?;
                    continue;
                }
                read.insert(id.to_string(), read_json::<Event>(&path)?);
            }
            listed.insert(id.to_string());
        }
        read.retain(|id, _| listed.contains(id));
        let mut out: Vec<Event> = read.values().cloned().collect();
        out.sort_by(|a, b| (&a.received, &a.id).cmp(&(&b.received, &b.id)));
        Ok(out)
    }

    /// Marks events committed (`done/<id>`, the pending file linked there), then removes
    /// their pending files.
    pub fn done(&self, hook: &str, ids: &[String]) -> io::Result<()> {
        let done = self.dir(hook, "done")?;
        let pending = self.dir(hook, "pending")?;
        for id in ids {
            match fs::hard_link(pending.join(format!("{id}.json")), done.join(id)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                // No pending file (a recovery found it done already): an empty marker.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    match OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(done.join(id))
                    {
                        Ok(f) => f.sync_all()?,
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        sync_dir(&done)?;
        self.remove_pending(hook, ids)
    }

    /// A committed event as it was accepted; `None` when only its marker is left (committed
    /// by a version that kept none) or it is not done.
    pub fn done_event(&self, hook: &str, id: &str) -> io::Result<Option<Event>> {
        let path = self.root.join(hook).join("done").join(id);
        match fs::read(&path) {
            Ok(b) if b.is_empty() => Ok(None),
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(io::Error::other),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Moves a committed event to `rejected/` with its reason (a rebase found it invalid
    /// on top of the remote's commits).
    pub fn reject_done(&self, event: &Event, reason: &str) -> io::Result<()> {
        self.reject(event, reason)?;
        let done = self.dir(&event.hook, "done")?;
        match fs::remove_file(done.join(&event.id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        sync_dir(&done)
    }

    fn remove_pending(&self, hook: &str, ids: &[String]) -> io::Result<()> {
        let pending = self.dir(hook, "pending")?;
        for id in ids {
            remove_if_present(&pending.join(format!("{id}.json")))?;
        }
        sync_dir(&pending)
    }

    /// Moves an event to `rejected/` with its reason.
    pub fn reject(&self, event: &Event, reason: &str) -> io::Result<()> {
        let r = Rejected {
            event: event.clone(),
            reason: reason.to_string(),
        };
        let bytes = serde_json::to_vec_pretty(&r).map_err(io::Error::other)?;
        self.put(
            &event.hook,
            "rejected",
            &format!("{}.json", event.id),
            &bytes,
        )?;
        self.remove_pending(&event.hook, std::slice::from_ref(&event.id))
    }

    /// The hook's rejected events, oldest first.
    pub fn rejected(&self, hook: &str) -> io::Result<Vec<Rejected>> {
        let dir = self.root.join(hook).join("rejected");
        let mut out = Vec::new();
        match fs::read_dir(&dir) {
            Ok(entries) => {
                for e in entries {
                    out.push(read_json::<Rejected>(&e?.path())?);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        out.sort_by(|a, b| (&a.event.received, &a.event.id).cmp(&(&b.event.received, &b.event.id)));
        Ok(out)
    }

    /// Per hook with rejected events: how many, and the newest.
    pub fn rejected_summary(&self) -> io::Result<Vec<(String, usize, Rejected)>> {
        let mut out = Vec::new();
        for hook in self.hooks()? {
            let mut list = self.rejected(&hook)?;
            let n = list.len();
            if let Some(newest) = list.pop() {
                out.push((hook, n, newest));
            }
        }
        Ok(out)
    }

    fn batch_path(&self) -> PathBuf {
        self.root.join("batch.json")
    }

    /// Records the commit about to be made, durably.
    pub fn begin(&self, batch: &Batch) -> io::Result<()> {
        fs::create_dir_all(&self.root)?;
        let tmp = self.root.join("batch.json.tmp");
        let mut f = File::create(&tmp)?;
        f.write_all(&serde_json::to_vec(batch).map_err(io::Error::other)?)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, self.batch_path())?;
        sync_dir(&self.root)
    }

    /// The commit a crash interrupted, if any.
    pub fn unfinished(&self) -> io::Result<Option<Batch>> {
        match read_json(&self.batch_path()) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Forgets the batch (its events are done, or back to pending).
    pub fn end(&self) -> io::Result<()> {
        remove_if_present(&self.batch_path())?;
        sync_dir(&self.root)
    }
}

/// Removes a file; one already gone is not an error.
fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, received: &str) -> Event {
        Event {
            id: id.to_string(),
            hook: "form".to_string(),
            received: received.to_string(),
            key: None,
            payload: serde_json::json!({ "n": id }),
        }
    }

    #[test]
    fn pending_since_reads_each_file_once_and_forgets_what_is_settled() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path());
        for (id, at) in [
            ("b", "2026-11-30T10:00:02Z"),
            ("a", "2026-11-30T10:00:01Z"),
            ("c", "2026-11-30T10:00:03Z"),
        ] {
            assert!(spool.accept(&event(id, at)).unwrap());
        }
        let mut read = HashMap::new();
        let ids = |events: Vec<Event>| events.into_iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(
            ids(spool.pending_since("form", &mut read).unwrap()),
            ["a", "b", "c"]
        );
        // What was read is not read again: a file changed behind its back is not seen…
        let pending = dir.path().join("sloop/spool/form/pending");
        assert!(pending.join("c.json").exists(), "{pending:?}");
        std::fs::write(pending.join("c.json"), b"not json").unwrap();
        assert_eq!(spool.pending_since("form", &mut read).unwrap().len(), 3);
        // …and an event settled since is forgotten.
        spool.done("form", &["a".to_string()]).unwrap();
        assert_eq!(
            ids(spool.pending_since("form", &mut read).unwrap()),
            ["b", "c"]
        );
        assert_eq!(read.len(), 2);
        // A fresh read finds the file as it is (the caller drops `read` after a failure).
        assert!(spool.pending("form").is_err());
        // A settled event whose pending file a crash left behind is removed when first read.
        std::fs::write(
            pending.join("c.json"),
            serde_json::to_vec(&event("c", "x")).unwrap(),
        )
        .unwrap();
        std::fs::copy(pending.join("b.json"), dir.path().join("b.json")).unwrap();
        spool.done("form", &["b".to_string()]).unwrap();
        std::fs::copy(dir.path().join("b.json"), pending.join("b.json")).unwrap();
        assert_eq!(ids(spool.pending("form").unwrap()), ["c"]);
        assert!(!pending.join("b.json").exists());
    }

    /// A retried delivery of a committed event is taken back by `accept` while the committer,
    /// listing the pending events, may remove the same file as settled: whichever removes it
    /// first, neither fails (the delivery was a 500 "cannot spool the event").
    #[test]
    fn a_retry_of_a_settled_event_races_the_committer_without_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path());
        let e = event("a", "2026-11-30T10:00:01Z");
        assert!(spool.accept(&e).unwrap());
        spool.done("form", &["a".to_string()]).unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (listings, retries) = std::thread::scope(|scope| {
            let committer = scope.spawn(|| {
                let mut failed = None;
                while !stop.load(Ordering::Relaxed) && failed.is_none() {
                    failed = spool.pending("form").err();
                }
                failed
            });
            let mut failed = None;
            for _ in 0..3000 {
                match spool.accept(&e) {
                    Ok(fresh) => assert!(!fresh, "a committed event accepted again"),
                    Err(err) => {
                        failed = Some(err);
                        break;
                    }
                }
            }
            stop.store(true, Ordering::Relaxed);
            (committer.join().unwrap(), failed)
        });
        assert!(listings.is_none(), "the committer's listing: {listings:?}");
        assert!(retries.is_none(), "a retried delivery: {retries:?}");
        assert!(spool.pending("form").unwrap().is_empty());
    }
}
