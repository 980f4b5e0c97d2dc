//! The files a write produces, read one at a time by whoever writes or commits them: a list
//! in memory (a command's few files), or a [`Spill`] (a capture run's thousands of
//! activities, kept on disk past a threshold so that a run's memory does not grow with the
//! text of what it records).

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Files to write: CRM-relative paths and their contents, read one at a time.
pub trait FileSet {
    /// How many files.
    fn count(&self) -> usize;
    /// The `i`-th file's CRM-relative path.
    fn path(&self, i: usize) -> &str;
    /// The `i`-th file's contents.
    fn bytes(&self, i: usize) -> io::Result<Cow<'_, [u8]>>;
    /// Every path, in order.
    fn paths(&self) -> Vec<&str> {
        (0..self.count()).map(|i| self.path(i)).collect()
    }
}

impl<P: AsRef<str>, B: AsRef<[u8]>> FileSet for [(P, B)] {
    fn count(&self) -> usize {
        self.len()
    }
    fn path(&self, i: usize) -> &str {
        self[i].0.as_ref()
    }
    fn bytes(&self, i: usize) -> io::Result<Cow<'_, [u8]>> {
        Ok(Cow::Borrowed(self[i].1.as_ref()))
    }
}

impl<P: AsRef<str>, B: AsRef<[u8]>> FileSet for Vec<(P, B)> {
    fn count(&self) -> usize {
        self.len()
    }
    fn path(&self, i: usize) -> &str {
        self[i].0.as_ref()
    }
    fn bytes(&self, i: usize) -> io::Result<Cow<'_, [u8]>> {
        Ok(Cow::Borrowed(self[i].1.as_ref()))
    }
}

impl<P: AsRef<str>, B: AsRef<[u8]>, const N: usize> FileSet for [(P, B); N] {
    fn count(&self) -> usize {
        N
    }
    fn path(&self, i: usize) -> &str {
        self[i].0.as_ref()
    }
    fn bytes(&self, i: usize) -> io::Result<Cow<'_, [u8]>> {
        Ok(Cow::Borrowed(self[i].1.as_ref()))
    }
}

/// Up to this many bytes of contents stay in memory; past it a spill moves them to its file.
pub const SPILL_AT: usize = 4 << 20;

static SPILL_AT_NOW: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(SPILL_AT);

/// For the tests of long runs only (`SLOOP_SPILL_AT=BYTES`): the threshold of the spills made
/// from now on.
pub fn set_spill_at(bytes: usize) {
    SPILL_AT_NOW.store(bytes, std::sync::atomic::Ordering::Relaxed);
}

/// Planned files whose contents stay in memory up to [`SPILL_AT`] bytes, then go to a
/// temporary file (in the folder given, removed when the spill is dropped): what stays in
/// memory per file is its path (in one buffer of all the paths, not a string each) and where
/// its text is, some 24 bytes and the path's. A file replaced is appended again (the old
/// text stays in the file, unread).
#[derive(Debug)]
pub struct Spill {
    entries: Vec<Entry>,
    /// Every path, one after the other (`Entry::path_at`, `Entry::path_len`).
    paths: String,
    memory: Vec<u8>,
    disk: Option<Disk>,
    folder: Option<PathBuf>,
    threshold: usize,
}

#[derive(Debug)]
struct Entry {
    at: u64,
    len: u32,
    path_at: u32,
    path_len: u32,
}

#[derive(Debug)]
struct Disk {
    file: File,
    path: PathBuf,
    end: u64,
}

impl Disk {
    /// A new temporary file in `folder` (created if needed), removed when dropped.
    fn create(folder: &Path) -> io::Result<Disk> {
        fs::create_dir_all(folder)?;
        let mut n = 0u32;
        loop {
            let path = folder.join(format!("spill-{}-{n}", std::process::id()));
            match fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => return Ok(Disk { file, path, end: 0 }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

impl Spill {
    /// A spill that writes its file in `folder` (created if needed) once past the threshold
    /// ([`SPILL_AT`]); `None` keeps everything in memory.
    pub fn new(folder: Option<&Path>) -> Self {
        Spill::with_threshold(
            folder,
            SPILL_AT_NOW.load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// As `new`, spilling past `threshold` bytes.
    pub fn with_threshold(folder: Option<&Path>, threshold: usize) -> Self {
        Spill {
            entries: Vec::new(),
            paths: String::new(),
            memory: Vec::new(),
            disk: None,
            folder: folder.map(Path::to_path_buf),
            threshold,
        }
    }

    /// How many files.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no file.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the contents went to disk.
    pub fn spilled(&self) -> bool {
        self.disk.is_some()
    }

    /// The folder the spill writes its file in, if any (for other lists of a run that
    /// should not stay in memory either).
    pub fn folder(&self) -> Option<&Path> {
        self.folder.as_deref()
    }

    /// Adds a file; its index.
    pub fn push(&mut self, path: String, text: &str) -> io::Result<usize> {
        let too_long = || io::Error::new(io::ErrorKind::InvalidInput, "over 4 GiB of paths");
        let path_at = u32::try_from(self.paths.len()).map_err(|_| too_long())?;
        let path_len = u32::try_from(path.len()).map_err(|_| too_long())?;
        path_at.checked_add(path_len).ok_or_else(too_long)?;
        let (at, len) = self.append(text.as_bytes())?;
        self.paths.push_str(&path);
        self.entries.push(Entry {
            at,
            len,
            path_at,
            path_len,
        });
        Ok(self.entries.len() - 1)
    }

    /// The `i`-th file's CRM-relative path.
    pub fn path(&self, i: usize) -> &str {
        let e = &self.entries[i];
        &self.paths[e.path_at as usize..(e.path_at + e.path_len) as usize]
    }

    /// Replaces the text of file `i`.
    pub fn replace(&mut self, i: usize, text: &str) -> io::Result<()> {
        let (at, len) = self.append(text.as_bytes())?;
        let e = &mut self.entries[i];
        e.at = at;
        e.len = len;
        Ok(())
    }

    /// The text of file `i`.
    pub fn text(&self, i: usize) -> io::Result<String> {
        let bytes = self.read(i)?.into_owned();
        String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Every file's path and text, in order (for tests and small runs).
    pub fn to_vec(&self) -> io::Result<Vec<(String, String)>> {
        (0..self.len())
            .map(|i| Ok((Spill::path(self, i).to_string(), self.text(i)?)))
            .collect()
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<(u64, u32)> {
        let len = u32::try_from(bytes.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a file over 4 GiB"))?;
        if self.disk.is_none() && self.memory.len() + bytes.len() > self.threshold {
            if let Some(folder) = self.folder.clone() {
                self.disk = Some(self.open(&folder)?);
            }
        }
        match &mut self.disk {
            Some(d) => {
                let at = d.end;
                d.file.seek(SeekFrom::Start(at))?;
                d.file.write_all(bytes)?;
                d.end += bytes.len() as u64;
                Ok((at, len))
            }
            None => {
                if self.memory.capacity() == 0 && self.folder.is_some() {
                    // A spill that may go to disk holds up to its threshold in memory: its
                    // room at once rather than by doubling, which held the last two sizes
                    // (6 MiB for 4) and left the smaller copies' pages to the allocator.
                    self.memory
                        .reserve_exact(self.threshold.min(SPILL_AT).max(bytes.len()));
                }
                let at = self.memory.len() as u64;
                self.memory.extend_from_slice(bytes);
                Ok((at, len))
            }
        }
    }

    /// Opens the spill file and moves what memory holds into it (offsets are kept: the
    /// memory's bytes are the file's first bytes).
    fn open(&mut self, folder: &Path) -> io::Result<Disk> {
        let mut disk = Disk::create(folder)?;
        disk.file.write_all(&self.memory)?;
        disk.end = self.memory.len() as u64;
        self.memory = Vec::new();
        Ok(disk)
    }

    fn read(&self, i: usize) -> io::Result<Cow<'_, [u8]>> {
        let e = &self.entries[i];
        match &self.disk {
            Some(d) => {
                let mut buf = vec![0u8; e.len as usize];
                let mut f = &d.file;
                f.seek(SeekFrom::Start(e.at))?;
                f.read_exact(&mut buf)?;
                Ok(Cow::Owned(buf))
            }
            None => {
                let at = e.at as usize;
                Ok(Cow::Borrowed(&self.memory[at..at + e.len as usize]))
            }
        }
    }
}

/// Up to this many bytes of a [`Log`] stay in memory (a run has three: a quarter MiB each).
pub const LOG_AT: usize = 256 << 10;

/// A list of pairs of strings (a run's unmatched or skipped items and their reasons) that
/// stays in memory up to the threshold ([`LOG_AT`] bytes), then goes to a temporary file in
/// the folder given (removed when the list is dropped), so that a long run's memory does not
/// grow with it. Read back in order, as often as needed.
#[derive(Debug)]
pub struct Log {
    count: usize,
    /// The pairs not yet written (each string as its length, 4 bytes little-endian, then its
    /// bytes): all of them while the log is in memory.
    pending: Vec<u8>,
    disk: Option<Disk>,
    folder: Option<PathBuf>,
    threshold: usize,
}

impl Log {
    /// A log that writes its file in `folder` once past the threshold; `None` keeps it in
    /// memory.
    pub fn new(folder: Option<&Path>) -> Self {
        Log::with_threshold(
            folder,
            LOG_AT.min(SPILL_AT_NOW.load(std::sync::atomic::Ordering::Relaxed)),
        )
    }

    /// As `new`, writing to disk past `threshold` bytes.
    pub fn with_threshold(folder: Option<&Path>, threshold: usize) -> Self {
        Log {
            count: 0,
            pending: Vec::new(),
            disk: None,
            folder: folder.map(Path::to_path_buf),
            threshold,
        }
    }

    /// How many pairs.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there is no pair.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds a pair.
    pub fn push(&mut self, a: &str, b: &str) -> io::Result<()> {
        for s in [a, b] {
            let len = u32::try_from(s.len())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a text over 4 GiB"))?;
            self.pending.extend_from_slice(&len.to_le_bytes());
            self.pending.extend_from_slice(s.as_bytes());
        }
        self.count += 1;
        if self.pending.len() > self.threshold {
            if let Some(folder) = &self.folder {
                if self.disk.is_none() {
                    self.disk = Some(Disk::create(folder)?);
                }
                if let Some(d) = &mut self.disk {
                    d.file.seek(SeekFrom::Start(d.end))?;
                    d.file.write_all(&self.pending)?;
                    d.end += self.pending.len() as u64;
                }
                self.pending.clear();
            }
        }
        Ok(())
    }

    /// Whether the pairs went to disk.
    pub fn spilled(&self) -> bool {
        self.disk.is_some()
    }

    /// Calls `f` on every pair, in order; stops at the first error.
    pub fn each<E: From<io::Error>>(
        &self,
        mut f: impl FnMut(&str, &str) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut from_disk;
        let mut reader: &mut dyn Read = match &self.disk {
            Some(d) => {
                let mut file = &d.file;
                file.seek(SeekFrom::Start(0))?;
                from_disk = io::BufReader::new(file.take(d.end)).chain(&self.pending[..]);
                &mut from_disk
            }
            None => &mut &self.pending[..],
        };
        let next = |r: &mut dyn Read| -> io::Result<String> {
            let mut len = [0u8; 4];
            r.read_exact(&mut len)?;
            let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
            r.read_exact(&mut buf)?;
            String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
        };
        for _ in 0..self.count {
            let a = next(&mut reader)?;
            let b = next(&mut reader)?;
            f(&a, &b)?;
        }
        Ok(())
    }

    /// Every pair, in order (for tests and small runs).
    pub fn to_vec(&self) -> io::Result<Vec<(String, String)>> {
        let mut all = Vec::with_capacity(self.count);
        self.each(|a, b| {
            all.push((a.to_string(), b.to_string()));
            Ok::<(), io::Error>(())
        })?;
        Ok(all)
    }
}

impl FileSet for Spill {
    fn count(&self) -> usize {
        self.entries.len()
    }
    fn path(&self, i: usize) -> &str {
        Spill::path(self, i)
    }
    fn bytes(&self, i: usize) -> io::Result<Cow<'_, [u8]>> {
        self.read(i)
    }
}

#[cfg(test)]
mod tests {
    use super::{FileSet, Log, Spill};

    fn contents(s: &Spill) -> Vec<(String, String)> {
        (0..s.count())
            .map(|i| (s.path(i).to_string(), s.text(i).unwrap()))
            .collect()
    }

    #[test]
    fn a_spill_gives_back_what_it_was_given_in_memory_and_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        for threshold in [0, 10, 1 << 20] {
            let mut s = Spill::with_threshold(Some(dir.path()), threshold);
            s.push("a.toml".into(), "alpha = 1\n").unwrap();
            s.push("b.toml".into(), "").unwrap();
            s.push("c.toml".into(), "gamma = \"é\"\n").unwrap();
            s.replace(0, "alpha = 2\n").unwrap();
            assert_eq!(
                contents(&s),
                vec![
                    ("a.toml".to_string(), "alpha = 2\n".to_string()),
                    ("b.toml".to_string(), String::new()),
                    ("c.toml".to_string(), "gamma = \"é\"\n".to_string()),
                ],
                "threshold {threshold}"
            );
            assert_eq!(s.spilled(), threshold < 20, "threshold {threshold}");
        }
    }

    #[test]
    fn a_spill_removes_its_file_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spill::with_threshold(Some(dir.path()), 0);
        s.push("a.toml".into(), "a = 1\n").unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        drop(s);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn without_a_folder_a_spill_stays_in_memory() {
        let mut s = Spill::with_threshold(None, 0);
        s.push("a.toml".into(), "a = 1\n").unwrap();
        assert!(!s.spilled());
        assert_eq!(s.text(0).unwrap(), "a = 1\n");
    }

    #[test]
    fn a_spill_keeps_each_path_apart_in_its_one_buffer() {
        let mut s = Spill::with_threshold(None, 1 << 20);
        for (p, t) in [("b/é.toml", "1"), ("", "2"), ("a.toml", "")] {
            s.push(p.into(), t).unwrap();
        }
        assert_eq!(s.paths(), vec!["b/é.toml", "", "a.toml"]);
        assert_eq!(s.text(1).unwrap(), "2");
    }

    #[test]
    fn a_log_gives_back_its_pairs_in_order_in_memory_and_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let pairs: Vec<(String, String)> = (0..50)
            .map(|i| (format!("line {i}"), "é".repeat(i % 7)))
            .collect();
        for threshold in [0, 30, 1 << 20] {
            let mut log = Log::with_threshold(Some(dir.path()), threshold);
            assert!(log.is_empty());
            for (a, b) in &pairs {
                log.push(a, b).unwrap();
            }
            assert_eq!(log.len(), 50);
            assert_eq!(log.spilled(), threshold < 1 << 20, "threshold {threshold}");
            // Read twice: reading does not consume.
            assert_eq!(log.to_vec().unwrap(), pairs, "threshold {threshold}");
            assert_eq!(log.to_vec().unwrap(), pairs, "threshold {threshold}");
            // And more pushed after a read go after the others.
            log.push("last", "").unwrap();
            assert_eq!(log.to_vec().unwrap().last().unwrap().0, "last");
            drop(log);
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        }
    }

    #[test]
    fn a_log_stops_at_the_first_error_of_its_reader() {
        let mut log = Log::with_threshold(None, 0);
        for s in ["a", "b", "c"] {
            log.push(s, s).unwrap();
        }
        let mut seen = Vec::new();
        let r = log.each(|a, _| {
            seen.push(a.to_string());
            if a == "b" {
                Err(std::io::Error::other("stop"))
            } else {
                Ok(())
            }
        });
        assert!(r.is_err());
        assert_eq!(seen, ["a", "b"]);
    }
}
