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
/// memory per file is its path and where its text is. A file replaced is appended again
/// (the old text stays in the file, unread).
#[derive(Debug)]
pub struct Spill {
    entries: Vec<Entry>,
    memory: Vec<u8>,
    disk: Option<Disk>,
    folder: Option<PathBuf>,
    threshold: usize,
}

#[derive(Debug)]
struct Entry {
    path: String,
    at: u64,
    len: u32,
}

#[derive(Debug)]
struct Disk {
    file: File,
    path: PathBuf,
    end: u64,
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

    /// Adds a file; its index.
    pub fn push(&mut self, path: String, text: &str) -> io::Result<usize> {
        let (at, len) = self.append(text.as_bytes())?;
        self.entries.push(Entry { path, at, len });
        Ok(self.entries.len() - 1)
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
            .map(|i| Ok((self.entries[i].path.clone(), self.text(i)?)))
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
                let at = self.memory.len() as u64;
                self.memory.extend_from_slice(bytes);
                Ok((at, len))
            }
        }
    }

    /// Opens the spill file and moves what memory holds into it (offsets are kept: the
    /// memory's bytes are the file's first bytes).
    fn open(&mut self, folder: &Path) -> io::Result<Disk> {
        fs::create_dir_all(folder)?;
        let mut n = 0u32;
        let (file, path) = loop {
            let path = folder.join(format!("spill-{}-{n}", std::process::id()));
            match fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(f) => break (f, path),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(e),
            }
        };
        let mut disk = Disk { file, path, end: 0 };
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

impl FileSet for Spill {
    fn count(&self) -> usize {
        self.entries.len()
    }
    fn path(&self, i: usize) -> &str {
        &self.entries[i].path
    }
    fn bytes(&self, i: usize) -> io::Result<Cow<'_, [u8]>> {
        self.read(i)
    }
}

#[cfg(test)]
mod tests {
    use super::{FileSet, Spill};

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
}
