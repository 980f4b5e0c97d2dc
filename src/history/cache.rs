//! The events of each commit, kept under `<git common dir>/sloop/history-v1/`, so that a
//! second run only mines the commits it has not seen.
//!
//! One append-only JSON Lines file per CRM folder of the repository (`crm-<hash>.jsonl`, the
//! hash of the CRM's path in the repository). Each line is one commit: its id, the commit it
//! was diffed against, and what it did, as compact arrays:
//!
//! ```text
//! {"c":"<sha>","p":"<parent sha>","e":[["accounts/acme.toml",{"u":["status","target","working"]}],
//!   ["accounts/old.toml","d"],["contacts/jo.toml",{"c":{"name":"Jo"}}]],"w":[["path","why"]]}
//! ```
//!
//! (`c` created, `u` field changed, `d` deleted, `r` restored; the kind and id come from the
//! path.) A commit id fixes its tree and its parents, so an entry can never be wrong: a
//! rebased or amended commit has another id and is mined again. Lines that do not parse (a
//! run interrupted mid-write) are ignored; the whole folder is safe to delete. The file is
//! rewritten without stale entries when they outnumber the live ones.

use std::collections::{HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Change, Delta, Fields, PathWarning, RecordEvent, Value};
use crate::store::{classify, PathClass};

/// The cache folder below the git common dir. Bump the version when events change shape or
/// meaning: old caches are then ignored.
pub const DIR: &str = "sloop/history-v1";

/// (commit id, id of the commit it was diffed against).
pub type Key = (String, Option<String>);

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "c")]
    commit: String,
    #[serde(rename = "p")]
    parent: Option<String>,
    #[serde(rename = "e")]
    events: Vec<(String, Compact)>,
    #[serde(rename = "w", default)]
    warnings: Vec<(String, String)>,
}

/// A `Change` as stored: externally tagged, so that it is read in one pass.
#[derive(Deserialize)]
enum Compact {
    #[serde(rename = "c")]
    Created(Fields),
    #[serde(rename = "u")]
    Changed(String, Option<Value>, Option<Value>),
    #[serde(rename = "d")]
    Deleted,
    #[serde(rename = "r")]
    Restored(Fields),
}

/// `Line`, borrowed, for writing.
#[derive(Serialize)]
struct LineRef<'a> {
    c: &'a str,
    p: Option<&'a str>,
    e: Vec<(&'a str, CompactRef<'a>)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    w: Vec<(&'a str, &'a str)>,
}

#[derive(Serialize)]
enum CompactRef<'a> {
    #[serde(rename = "c")]
    Created(&'a Fields),
    #[serde(rename = "u")]
    Changed(&'a str, &'a Option<Value>, &'a Option<Value>),
    #[serde(rename = "d")]
    Deleted,
    #[serde(rename = "r")]
    Restored(&'a Fields),
}

impl<'a> LineRef<'a> {
    fn new(key: &'a Key, delta: &'a Delta) -> Self {
        let e = delta
            .events
            .iter()
            .map(|e| {
                let change = match &e.change {
                    Change::Created { fields } => CompactRef::Created(fields),
                    Change::Changed { field, old, new } => CompactRef::Changed(field, old, new),
                    Change::Deleted => CompactRef::Deleted,
                    Change::Restored { fields } => CompactRef::Restored(fields),
                };
                (e.path.as_str(), change)
            })
            .collect();
        let w = delta
            .warnings
            .iter()
            .map(|w| (w.path.as_str(), w.message.as_str()))
            .collect();
        LineRef {
            c: &key.0,
            p: key.1.as_deref(),
            e,
            w,
        }
    }
}

impl Line {
    /// The key and delta, or `None` if a path is not a record path (a line from a version of
    /// sloop that classified paths differently).
    fn into_entry(self) -> Option<(Key, Delta)> {
        let mut events = Vec::with_capacity(self.events.len());
        for (path, change) in self.events {
            let PathClass::Record(kind, id) = classify(&path) else {
                return None;
            };
            let change = match change {
                Compact::Created(fields) => Change::Created { fields },
                Compact::Changed(field, old, new) => Change::Changed { field, old, new },
                Compact::Deleted => Change::Deleted,
                Compact::Restored(fields) => Change::Restored { fields },
            };
            events.push(RecordEvent {
                kind,
                id: id.to_string(),
                path,
                change,
            });
        }
        let warnings = self
            .warnings
            .into_iter()
            .map(|(path, message)| PathWarning { path, message })
            .collect();
        Some(((self.commit, self.parent), Delta { events, warnings }))
    }
}

pub struct Cache {
    file: PathBuf,
    entries: HashMap<Key, Delta>,
    lines: usize,
    /// Entries were slimmed when read: they must never be written back.
    slimmed: bool,
}

impl Cache {
    /// The cache file of the CRM at `prefix` (`""`, `"crm/"`) in the repository whose common
    /// git dir is `git_dir`.
    pub fn file(git_dir: &Path, prefix: &str) -> PathBuf {
        // FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
        let hash = prefix.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        git_dir.join(DIR).join(format!("crm-{hash:016x}.jsonl"))
    }

    /// An empty cache that is never written (caching disabled).
    pub fn disabled() -> Self {
        Cache {
            file: PathBuf::new(),
            entries: HashMap::new(),
            lines: 0,
            slimmed: false,
        }
    }

    /// Reads the cache file; a missing or unreadable file is an empty cache. `slim`, if
    /// given, is applied to each entry as it is read (entries taken from such a cache are
    /// not written back).
    pub fn load(file: PathBuf, slim: Option<super::Filter>) -> Self {
        let mut cache = Cache {
            file,
            entries: HashMap::new(),
            lines: 0,
            slimmed: slim.is_some(),
        };
        let Ok(file) = fs::File::open(&cache.file) else {
            return cache;
        };
        // Line by line: the file of a long history is over 100 MB, and only the entries
        // (slimmed, for a lean run) need to be held.
        for line in io::BufReader::with_capacity(1 << 20, file).lines() {
            let Ok(line) = line else {
                break;
            };
            let line = line.as_str();
            cache.lines += 1;
            let entry = serde_json::from_str::<Line>(line)
                .ok()
                .and_then(Line::into_entry);
            if let Some((key, delta)) = entry {
                let delta = match slim {
                    Some(keep) => delta.lean(keep),
                    None => delta,
                };
                cache.entries.insert(key, delta);
            }
        }
        cache
    }

    pub fn contains(&self, key: &Key) -> bool {
        self.entries.contains_key(key)
    }

    pub fn take(&mut self, key: &Key) -> Option<Delta> {
        self.entries.remove(key)
    }

    /// Records newly mined commits, given as their lines (`line`): appended, or the whole
    /// file rewritten with only `live` keys (those of the current walk) when stale lines
    /// outnumber them.
    pub fn save(&self, mined: &[u8], live: &HashSet<&Key>) -> io::Result<()> {
        if self.file.as_os_str().is_empty() || (mined.is_empty() && !self.needs_compaction(live)) {
            return Ok(());
        }
        if let Some(dir) = self.file.parent() {
            fs::create_dir_all(dir)?;
        }
        if self.needs_compaction(live) {
            let mut buf = Vec::new();
            for (key, delta) in self.entries.iter().filter(|(k, _)| live.contains(k)) {
                write_line(&mut buf, key, delta)?;
            }
            buf.extend_from_slice(mined);
            let tmp = self
                .file
                .with_extension(format!("tmp{}", std::process::id()));
            fs::write(&tmp, &buf)?;
            return fs::rename(&tmp, &self.file);
        }
        // One write of whole lines: concurrent runs interleave lines, not bytes.
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)?
            .write_all(mined)
    }

    fn needs_compaction(&self, live: &HashSet<&Key>) -> bool {
        !self.slimmed && self.lines > 2 * live.len() + 100
    }
}

/// A commit's line, appended to `buf`.
pub fn write_line(buf: &mut Vec<u8>, key: &Key, delta: &Delta) -> io::Result<()> {
    serde_json::to_writer(&mut *buf, &LineRef::new(key, delta))?;
    buf.push(b'\n');
    Ok(())
}
