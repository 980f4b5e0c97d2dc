//! The events of each commit, kept under `<git common dir>/sloop/history-v1/`, so that a
//! second run only mines the commits it has not seen.
//!
//! One append-only JSON Lines file per CRM folder of the repository (`crm-<hash>.jsonl`, the
//! hash of the CRM's path in the repository). The first line names what the file is for:
//!
//! ```text
//! sloop history cache 2 <checksum> {"repository":"<id>","crm":"<folder>"}
//! ```
//!
//! (the key of `integrity::Key::history`, and its checksum). Each line after it is one
//! commit, its checksum first (16 hex digits: XXH3 of the rest of the line, seeded with the
//! key), then its id, the commit it was diffed against, and what it did, as compact arrays:
//!
//! ```text
//! 3f09c2e4d1b7a856 {"c":"<sha>","p":"<parent sha>","e":[["accounts/acme.toml",{"u":["status","target","working"]}],
//!   ["accounts/old.toml","d"],["contacts/jo.toml",{"c":{"name":"Jo"}}]],"w":[["path","why"]]}
//! ```
//!
//! (`c` created, `u` field changed, `d` deleted, `r` restored; the kind and id come from the
//! path.) A commit id fixes its tree and its parents, so an entry can never be stale: a
//! rebased or amended commit has another id and is mined again, and so is the commit at the
//! edge of a shallow clone once it is deepened (it was diffed against nothing).
//!
//! Each line is checked on its own, so that an append stays one write and a damaged line
//! costs only its commit: a line that fails its check is ignored (its commit is mined again),
//! the file is rewritten without it, and the run says so (`Stats::cache_damage`). A file
//! with another key (another CRM's, another repository's) or of another format is ignored
//! whole and rewritten, quietly; so are an unfinished last line (a run killed mid-append)
//! and lines an older sloop appended (JSON without a checksum).
//! The whole folder is safe to delete. The file is rewritten without stale entries when they
//! outnumber the live ones.

use std::collections::{HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::integrity::{self, checksum};
use super::{Change, Delta, Fields, PathWarning, RecordEvent, Value};
use crate::store::{classify, PathClass};

/// The cache folder below the git common dir.
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

/// A `Line`'s commit only (its events skipped).
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "c")]
    commit: String,
    #[serde(rename = "p")]
    parent: Option<String>,
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

/// The start of the first line; the number is the format's version. Bump it when events
/// change shape or meaning: a file of another version is then replaced, quietly.
const HEADER: &str = "sloop history cache 2 ";

/// How the file is brought up to date once the new commits are mined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upkeep {
    /// The file is sound: the new lines are appended.
    Append,
    /// Some lines failed their check, or the last is unfinished: the file is rewritten with
    /// the lines that pass, and the new ones.
    Repair,
    /// No file, or one for another key or format, or a damaged header: written anew.
    Replace,
}

pub struct Cache {
    file: PathBuf,
    /// The key's JSON and the seed of the lines' checksums.
    key: String,
    seed: u64,
    entries: HashMap<Key, Delta>,
    lines: usize,
    /// Entries were slimmed when read: they must never be written back.
    slimmed: bool,
    upkeep: Upkeep,
    /// Lines that failed their check (`usize::MAX`: the header did).
    damaged: usize,
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
            key: String::new(),
            seed: 0,
            entries: HashMap::new(),
            lines: 0,
            slimmed: false,
            upkeep: Upkeep::Append,
            damaged: 0,
        }
    }

    /// Reads the cache file written for `key`; a missing or unreadable file, or one written
    /// for another key, is an empty cache. `slim` is applied to each entry as it is read
    /// (entries taken from a slimmed cache are not written back).
    pub fn load(file: PathBuf, key: &integrity::Key, slim: super::Slim) -> Self {
        // For one record's history, a line that does not name the record is not decoded
        // (its commit only is): the record's id, as it appears in the line's paths, when
        // JSON writes it as it is.
        let needle = slim
            .record()
            .map(|(_, id)| id)
            .filter(|id| !id.is_empty() && !id.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20))
            .map(|id| memchr::memmem::Finder::new(id.as_bytes()).into_owned());
        let mut cache = Cache {
            file,
            key: key.text().to_string(),
            seed: key.seed(),
            entries: HashMap::new(),
            lines: 0,
            slimmed: slim.slims(),
            upkeep: Upkeep::Replace,
            damaged: 0,
        };
        let Ok(file) = fs::File::open(&cache.file) else {
            return cache;
        };
        // Line by line: the file of a long history is over 100 MB, and only the entries
        // (slimmed, for a lean run) need to be held.
        let mut reader = io::BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::with_capacity(4096);
        match reader.read_until(b'\n', &mut line) {
            Ok(_) => match header(&line) {
                Header::Key(k) if k == cache.key.as_bytes() => cache.upkeep = Upkeep::Append,
                Header::Key(_) | Header::Other => return cache,
                Header::Damaged => {
                    cache.damaged = usize::MAX;
                    return cache;
                }
            },
            Err(_) => return cache,
        }
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let Some(text) = line.strip_suffix(b"\n") else {
                // Unfinished: the next append would be glued to it.
                cache.upkeep = Upkeep::Repair;
                break;
            };
            cache.lines += 1;
            let Some(json) = checked(text, cache.seed) else {
                cache.damaged += usize::from(!older(text));
                cache.upkeep = Upkeep::Repair;
                continue;
            };
            if slim.keeps_nothing() || needle.as_ref().is_some_and(|n| n.find(json).is_none()) {
                if let Ok(head) = serde_json::from_slice::<Head>(json) {
                    cache
                        .entries
                        .insert((head.commit, head.parent), Delta::default());
                }
                continue;
            }
            let entry = serde_json::from_slice::<Line>(json)
                .ok()
                .and_then(Line::into_entry);
            if let Some((key, delta)) = entry {
                cache.entries.insert(key, slim.apply(delta));
            }
        }
        cache
    }

    /// The seed of this cache's line checksums (for `write_line`).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// What was damaged in the file, if anything: for a warning. `rebuilt`: the run writes
    /// the file anew (one that reads every kind; see `tidy` for the others).
    pub fn damage(&self, rebuilt: bool) -> Option<String> {
        let file = self.file.display();
        match self.damaged {
            0 => None,
            usize::MAX if rebuilt => Some(format!(
                "the history cache {file} is damaged (its first line fails its checksum): it was ignored, and is rebuilt"
            )),
            usize::MAX => Some(format!(
                "the history cache {file} is damaged (its first line fails its checksum): it was removed, and is rebuilt when needed"
            )),
            1 => Some(format!(
                "the history cache {file} had a damaged line (it fails its checksum): its commit was mined again, and the file rewritten without it"
            )),
            n => Some(format!(
                "the history cache {file} had {n} damaged lines (they fail their checksum): their commits were mined again, and the file rewritten without them"
            )),
        }
    }

    pub fn contains(&self, key: &Key) -> bool {
        self.entries.contains_key(key)
    }

    pub fn take(&mut self, key: &Key) -> Option<Delta> {
        self.entries.remove(key)
    }

    /// Records newly mined commits, given as their lines (`line`): appended, or the whole
    /// file rewritten: with only `live` keys (those of the current walk) when stale lines
    /// outnumber them, without the lines that failed their check, or anew when the file
    /// was not this key's.
    pub fn save(&self, mined: &[u8], live: &HashSet<&Key>) -> io::Result<()> {
        let compact = self.needs_compaction(live);
        if self.file.as_os_str().is_empty()
            || (mined.is_empty() && self.upkeep == Upkeep::Append && !compact)
        {
            return Ok(());
        }
        if let Some(dir) = self.file.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut buf = header_line(self.key.as_bytes());
        if compact {
            for (key, delta) in self.entries.iter().filter(|(k, _)| live.contains(k)) {
                write_line(&mut buf, self.seed, key, delta)?;
            }
        } else {
            match self.upkeep {
                // One write of whole lines: concurrent runs interleave lines, not bytes.
                Upkeep::Append => {
                    return OpenOptions::new()
                        .append(true)
                        .open(&self.file)?
                        .write_all(mined);
                }
                Upkeep::Repair => self.sound_lines(&mut buf)?,
                Upkeep::Replace => {}
            }
        }
        buf.extend_from_slice(mined);
        let tmp = self
            .file
            .with_extension(format!("tmp{}", std::process::id()));
        fs::write(&tmp, &buf)?;
        fs::rename(&tmp, &self.file)
    }

    /// For a run that writes no lines (`Options::unread`): a file with damaged lines, or an
    /// unfinished last line, is rewritten without them; one whose first line is damaged is
    /// removed. Either way the damage is reported once, not by every run after.
    pub fn tidy(&self, live: &HashSet<&Key>) -> io::Result<()> {
        if self.file.as_os_str().is_empty() {
            return Ok(());
        }
        if self.damaged == usize::MAX {
            return match fs::remove_file(&self.file) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        if self.upkeep == Upkeep::Repair {
            return self.save(&[], live);
        }
        Ok(())
    }

    /// A stream for the newly mined lines when the file is written anew (there was none, or
    /// one for another key or format), the header written: each line goes to the new file
    /// as it is mined (in the order commits finish: each line stands alone), so that the
    /// lines of a whole history (120 MB at the benchmark's size) are never held in memory
    /// beside what is mined. `None` otherwise, or when the file cannot be created: `save`
    /// the lines then.
    pub fn stream(&self) -> Option<Stream> {
        if self.file.as_os_str().is_empty() || self.upkeep != Upkeep::Replace {
            return None;
        }
        let tmp = self
            .file
            .with_extension(format!("tmp{}", std::process::id()));
        let open = || -> io::Result<fs::File> {
            if let Some(dir) = self.file.parent() {
                fs::create_dir_all(dir)?;
            }
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&header_line(self.key.as_bytes()))?;
            Ok(f)
        };
        let file = open().ok()?;
        Some(Stream {
            out: Mutex::new((io::BufWriter::with_capacity(1 << 20, file), Ok(()))),
            tmp,
        })
    }

    /// Puts the streamed file in place of the cache file (`save` for a stream). On failure,
    /// the stream's file is removed as the stream is dropped.
    pub fn finish_stream(&self, mut stream: Stream) -> io::Result<()> {
        let (out, written) = stream.out.get_mut().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(written, Ok(()))
            .and_then(|()| out.flush())
            .and_then(|()| fs::rename(&stream.tmp, &self.file))
    }

    /// The lines of the file that pass their check, appended to `buf` (read again: only
    /// after damage or an interrupted append).
    fn sound_lines(&self, buf: &mut Vec<u8>) -> io::Result<()> {
        let mut lines = Vec::new();
        if let Scan::Key { key, .. } = scan(&self.file, &mut lines)? {
            if key == self.key.as_bytes() {
                buf.append(&mut lines);
            }
        }
        Ok(())
    }

    fn needs_compaction(&self, live: &HashSet<&Key>) -> bool {
        !self.slimmed && self.upkeep != Upkeep::Replace && self.lines > 2 * live.len() + 100
    }
}

/// Where each commit's line is in a cache file, for reading the lines back one at a time in
/// commit order (`history::stream`) instead of holding every commit's events at once.
pub struct Index {
    file: fs::File,
    seed: u64,
    /// Each sound line's JSON: its offset in the file and its length.
    at: HashMap<Key, (u64, usize)>,
}

impl Index {
    /// The lines of the cache file written for `key` that pass their check (only their
    /// commit is decoded); `None` when there is no such file, or it is another key's or
    /// format's, or its first line is damaged.
    pub fn open(file: &Path, key: &integrity::Key) -> Option<Index> {
        let mut reader = io::BufReader::with_capacity(1 << 20, fs::File::open(file).ok()?);
        let mut line = Vec::with_capacity(4096);
        reader.read_until(b'\n', &mut line).ok()?;
        match header(&line) {
            Header::Key(k) if k == key.text().as_bytes() => {}
            _ => return None,
        }
        let seed = key.seed();
        let mut offset = line.len() as u64;
        let mut at = HashMap::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let start = offset;
                    offset += n as u64;
                    let Some(json) = line.strip_suffix(b"\n").and_then(|t| checked(t, seed)) else {
                        continue;
                    };
                    if let Ok(head) = serde_json::from_slice::<Head>(json) {
                        // The JSON follows the 16-digit checksum and its space.
                        at.insert((head.commit, head.parent), (start + 17, json.len()));
                    }
                }
            }
        }
        Some(Index {
            file: reader.into_inner(),
            seed,
            at,
        })
    }

    pub fn contains(&self, key: &Key) -> bool {
        self.at.contains_key(key)
    }

    /// The delta of `key`'s line, read again and checked again; `None` if the line is not
    /// there (or no longer reads as it did, or names a path that is not a record's).
    pub fn read(&mut self, key: &Key) -> Option<Delta> {
        use std::io::{Read, Seek, SeekFrom};
        let &(offset, len) = self.at.get(key)?;
        let mut text = vec![0; 17 + len];
        self.file.seek(SeekFrom::Start(offset - 17)).ok()?;
        self.file.read_exact(&mut text).ok()?;
        let json = checked(&text, self.seed)?;
        let line = serde_json::from_slice::<Line>(json).ok()?;
        if (line.commit.as_str(), line.parent.as_deref()) != (key.0.as_str(), key.1.as_deref()) {
            return None;
        }
        Some(line.into_entry()?.1)
    }
}

/// Newly mined lines on their way to a new cache file (`Cache::stream`), from every mining
/// thread.
pub struct Stream {
    /// The file, and the first error writing it (the lines after it are dropped).
    out: Mutex<(io::BufWriter<fs::File>, io::Result<()>)>,
    tmp: PathBuf,
}

/// A stream not put in place (the mining failed, or the file could not be written) leaves
/// no file behind; once put in place, its file is gone from `tmp` already.
impl Drop for Stream {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.tmp);
    }
}

impl Stream {
    /// Writes one commit's line (or several), whole.
    pub fn write(&self, lines: &[u8]) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let (file, written) = &mut *out;
        if written.is_ok() {
            *written = file.write_all(lines);
        }
    }
}

/// The first line of a file for `key`.
fn header_line(key: &[u8]) -> Vec<u8> {
    let mut line = HEADER.as_bytes().to_vec();
    line.extend_from_slice(&integrity::hex(checksum(key, 0)));
    line.push(b' ');
    line.extend_from_slice(key);
    line.push(b'\n');
    line
}

/// What a file holds, read whole and checked line by line.
enum Scan {
    /// A sound header for `key`; the lines that fail their check, and whether the last is
    /// unfinished.
    Key {
        key: Vec<u8>,
        damaged: usize,
        unfinished: bool,
    },
    /// A header that fails its checksum.
    Damaged,
    /// Not this format (or empty).
    Other,
}

/// Reads `file`, appending the lines after the header that pass their check to `sound`.
fn scan(file: &Path, sound: &mut Vec<u8>) -> io::Result<Scan> {
    let mut reader = io::BufReader::with_capacity(1 << 20, fs::File::open(file)?);
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    let key = match header(&line) {
        Header::Key(key) => key.to_vec(),
        Header::Damaged => return Ok(Scan::Damaged),
        Header::Other => return Ok(Scan::Other),
    };
    let seed = checksum(&key, 0);
    let (mut damaged, mut unfinished) = (0, false);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(Scan::Key {
                key,
                damaged,
                unfinished,
            });
        }
        match line.strip_suffix(b"\n") {
            Some(text) if checked(text, seed).is_some() => sound.extend_from_slice(&line),
            Some(text) => damaged += usize::from(!older(text)),
            None => unfinished = true,
        }
    }
}

/// What `check_file` found in a history cache file, and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Every line passes its check.
    Sound,
    /// Not a file of this format: left alone.
    Other,
    /// Its header fails its checksum: the file was removed.
    Removed,
    /// Lines failed their check (`damaged`), or the last was unfinished: the file was
    /// rewritten without them.
    Repaired { damaged: usize, unfinished: bool },
}

/// Checks a history cache file (whichever CRM's), removing it if its header is damaged and
/// rewriting it without the lines that fail their check.
pub fn check_file(file: &Path) -> io::Result<Checked> {
    let mut lines = Vec::new();
    let (key, damaged, unfinished) = match scan(file, &mut lines)? {
        Scan::Other => return Ok(Checked::Other),
        Scan::Damaged => {
            fs::remove_file(file)?;
            return Ok(Checked::Removed);
        }
        Scan::Key {
            key,
            damaged,
            unfinished,
        } => (key, damaged, unfinished),
    };
    if damaged == 0 && !unfinished {
        return Ok(Checked::Sound);
    }
    let mut buf = header_line(&key);
    buf.append(&mut lines);
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, &buf)?;
    fs::rename(&tmp, file)?;
    Ok(Checked::Repaired {
        damaged,
        unfinished,
    })
}

/// What the first line of a file says.
enum Header<'a> {
    /// A sound header: the key the file was written for.
    Key(&'a [u8]),
    /// Ours, but failing its checksum.
    Damaged,
    /// Not a header of this format (an older version's file, or no file).
    Other,
}

fn header(line: &[u8]) -> Header<'_> {
    let Some(rest) = line
        .strip_suffix(b"\n")
        .and_then(|l| l.strip_prefix(HEADER.as_bytes()))
    else {
        return Header::Other;
    };
    match checked(rest, 0) {
        Some(key) => Header::Key(key),
        None => Header::Damaged,
    }
}

/// Whether a line is one an older sloop wrote (JSON without a checksum: it appends to this
/// file when run on the same repository): dropped like a damaged one, but not damage.
fn older(line: &[u8]) -> bool {
    line.first() == Some(&b'{')
}

/// The text after a line's checksum, if the checksum is right.
fn checked(line: &[u8], seed: u64) -> Option<&[u8]> {
    let (sum, text) = line.split_at_checked(17)?;
    let sum = integrity::parse_hex(sum.strip_suffix(b" ")?)?;
    (checksum(text, seed) == sum).then_some(text)
}

/// A commit's line, its checksum seeded with `seed` (`Cache::seed`), appended to `buf`.
pub fn write_line(buf: &mut Vec<u8>, seed: u64, key: &Key, delta: &Delta) -> io::Result<()> {
    let start = buf.len();
    buf.extend_from_slice(&[b' '; 17]);
    serde_json::to_writer(&mut *buf, &LineRef::new(key, delta))?;
    let sum = checksum(&buf[start + 17..], seed);
    buf[start..start + 16].copy_from_slice(&integrity::hex(sum));
    buf.push(b'\n');
    Ok(())
}
