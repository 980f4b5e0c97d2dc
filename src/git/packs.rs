//! Objects read straight from a repository's pack files, with a cache of the delta bases
//! resolved, for the history walk's trees.
//!
//! A pack stores most versions of a tree as a delta against another version, in chains up to
//! 50 long. A flat folder of 100,000 records is a 2.4 MB tree, and libgit2 keeps no resolved
//! base over 1 MB in its delta base cache (a compile-time limit), so it rebuilt every version
//! of such a folder from the chain's full object through every link: four fifths of the flat
//! layout's cold report went to inflating and copying them. git keeps up to 96 MB of bases.
//! This reader keeps every object it resolves, by its place in its pack, within a budget:
//! the next version of a folder is then one small delta applied to the version before, or
//! to a base shared with it.
//!
//! It reads version 2 indexes of SHA-1 names (what git has written since 1.5.2) and the pack
//! entries they point to, and nothing else. An object it cannot read (loose, in an
//! alternate, a delta on a base in another pack, an index of another kind, anything
//! inconsistent or unreadable) is `None`, and the caller reads it through libgit2, which
//! reports what is wrong with it. Pack files are read with `pread`, not mapped: a mapping of
//! a 500 MB pack would count every page the walk touched in the process's resident memory.

use std::cell::OnceCell;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use flate2::{Decompress, FlushDecompress, Status};
use memmap2::Mmap;

use super::generations::Generations;
use super::pack_order::{self, Index};
use super::ObjectId;

/// The type of a whole object, as a pack entry's header gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Commit,
    Tree,
    Blob,
    Tag,
}

/// An object's type and contents.
pub(super) type Object = (Kind, Rc<Vec<u8>>);

/// The packs of one object folder, and the objects last resolved from them. One per thread.
pub(super) struct Packs {
    packs: Vec<Pack>,
    cache: Resolved,
    /// A reusable read buffer.
    buffer: Vec<u8>,
    /// How many pack entries were read (what the cache saves).
    entries_read: usize,
}

struct Pack {
    index: Mmap,
    count: usize,
    /// The pack file, opened at its first read: a repository never repacked may hold
    /// thousands of packs, and libgit2 keeps a descriptor open for each it reads too.
    path: PathBuf,
    data: OnceCell<Option<File>>,
}

/// Longest delta chain followed: git's own packs stop at 50 (`pack.depth`), 4095 at most.
const MAX_CHAIN: usize = 10_000;

/// Bytes read at an entry's offset first: a delta of a tree version is a few hundred bytes,
/// header included.
const FIRST_READ: usize = 4096;

/// Bytes read at a time after the first read.
const NEXT_READ: usize = 64 << 10;

impl Packs {
    /// The packs in `objects/pack` (`objects` is a repository's object folder; `None`: no
    /// packs) whose index can be read, keeping up to `budget` bytes of resolved objects.
    /// Packs that cannot be opened are left out: their objects will be `None`.
    pub(super) fn open(objects: Option<&Path>, budget: usize) -> Packs {
        let indexes = objects.map(pack_order::index_files).unwrap_or_default();
        let packs = indexes.iter().filter_map(|idx| Pack::open(idx)).collect();
        Packs {
            packs,
            cache: Resolved::new(budget),
            buffer: Vec::new(),
            entries_read: 0,
        }
    }

    /// The object named `id`, if a pack holds it and it can be read from there.
    pub(super) fn read(&mut self, id: &ObjectId) -> Option<Object> {
        let (pack, offset) = self.packs.iter().enumerate().find_map(|(n, p)| {
            let offset = p.index().find(&id.0)?;
            Some((n, offset))
        })?;
        self.resolve(pack, offset)
    }

    /// The object at `offset` in pack `n`: the chain of deltas down to a base resolved
    /// before or a whole object, then each delta applied in turn, each result kept.
    fn resolve(&mut self, n: usize, offset: u64) -> Option<Object> {
        let mut deltas: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut at = offset;
        let (kind, mut data) = loop {
            if let Some(found) = self.cache.get(&(n, at)) {
                break found;
            }
            if deltas.len() > MAX_CHAIN {
                return None;
            }
            let pack = &self.packs[n];
            self.entries_read += 1;
            let entry = pack.entry(at, &mut self.buffer)?;
            match entry.base {
                Base::Whole(kind) => {
                    let data = Rc::new(entry.data);
                    self.cache.insert((n, at), (kind, data.clone()), data.len());
                    break (kind, data);
                }
                Base::Offset(base) => {
                    deltas.push((at, entry.data));
                    at = base;
                }
                Base::Named(name) => {
                    deltas.push((at, entry.data));
                    at = pack.index().find(&name)?;
                }
            }
        };
        for (at, delta) in deltas.into_iter().rev() {
            data = Rc::new(apply_delta(&data, &delta)?);
            self.cache.insert((n, at), (kind, data.clone()), data.len());
        }
        Some((kind, data))
    }
}

/// What a pack entry's contents are: a whole object, or a delta on the object at an offset
/// in the same pack (`OFS_DELTA`) or on the object of a name (`REF_DELTA`).
enum Base {
    Whole(Kind),
    Offset(u64),
    Named([u8; 20]),
}

/// A pack entry, its contents inflated.
struct Entry {
    base: Base,
    data: Vec<u8>,
}

impl Pack {
    fn open(idx: &Path) -> Option<Pack> {
        let file = File::open(idx).ok()?;
        // SAFETY: git never rewrites a pack index in place (a repack writes new files and
        // removes the old ones, which stay readable while mapped).
        let index = unsafe { Mmap::map(&file) }.ok()?;
        let count = Index::parse(&index)?.count;
        // Header, fan-out, names, checksums and offsets, the two trailing hashes, and 8 bytes
        // for each large offset, of which there are no more than objects: anything else is
        // not an index of SHA-1 names (one of SHA-256 names has the same version).
        let whole = 8 + 1024 + count.checked_mul(20 + 4 + 4)? + 2 * 20;
        let large = index.len().checked_sub(whole)?;
        if large % 8 != 0 || large / 8 > count {
            return None;
        }
        Some(Pack {
            index,
            count,
            path: idx.with_extension("pack"),
            data: OnceCell::new(),
        })
    }

    /// Reads at `offset` into `buffer`, as `pread` does.
    fn read_at(&self, buffer: &mut [u8], offset: u64) -> Option<usize> {
        let data = self.data.get_or_init(|| {
            // A pack file starts with `PACK` and its version, 2 or 3.
            let file = File::open(&self.path).ok()?;
            let mut head = [0; 8];
            file.read_exact_at(&mut head, 0).ok()?;
            (head[..4] == *b"PACK" && matches!(head[4..], [0, 0, 0, 2 | 3])).then_some(file)
        });
        data.as_ref()?.read_at(buffer, offset).ok()
    }

    fn index(&self) -> Index<'_> {
        Index {
            bytes: &self.index,
            count: self.count,
        }
    }

    /// The entry at `offset`, read through `buffer`.
    fn entry(&self, offset: u64, buffer: &mut Vec<u8>) -> Option<Entry> {
        buffer.resize(FIRST_READ, 0);
        let got = self.read_at(buffer, offset)?;
        let head = &buffer[..got];
        // The type and the inflated size: 3 bits, then 4 + 7 per byte while the high bit is
        // set.
        let mut at = 0;
        let first = *head.first()?;
        let kind = (first >> 4) & 7;
        let mut size = u64::from(first & 15);
        let mut shift = 4;
        let mut byte = first;
        while byte & 0x80 != 0 {
            at += 1;
            byte = *head.get(at)?;
            if shift > 57 {
                return None;
            }
            size |= u64::from(byte & 0x7f) << shift;
            shift += 7;
        }
        at += 1;
        let base = match kind {
            1 => Base::Whole(Kind::Commit),
            2 => Base::Whole(Kind::Tree),
            3 => Base::Whole(Kind::Blob),
            4 => Base::Whole(Kind::Tag),
            6 => {
                // The distance back to the base, big-endian, each continuation adding one.
                let mut byte = *head.get(at)?;
                at += 1;
                let mut back = u64::from(byte & 0x7f);
                while byte & 0x80 != 0 {
                    byte = *head.get(at)?;
                    at += 1;
                    back = back.checked_add(1)?.checked_mul(128)? | u64::from(byte & 0x7f);
                }
                if back == 0 || back > offset {
                    return None;
                }
                Base::Offset(offset - back)
            }
            7 => {
                let name = head.get(at..at + 20)?.try_into().ok()?;
                at += 20;
                Base::Named(name)
            }
            _ => return None,
        };
        let size = usize::try_from(size).ok()?;
        let data = self.inflate(buffer, got, at, offset, size)?;
        Some(Entry { base, data })
    }

    /// Inflates `size` bytes from the zlib stream starting at `start` in `buffer` (which
    /// holds `got` bytes read at `offset`), reading further as needed.
    fn inflate(
        &self,
        buffer: &mut Vec<u8>,
        mut got: usize,
        start: usize,
        offset: u64,
        size: usize,
    ) -> Option<Vec<u8>> {
        // One byte more than the header says: a stream that does not end there is caught.
        let mut out = Vec::with_capacity(size.checked_add(1)?);
        let mut z = Decompress::new(true);
        let mut from = start;
        let mut next = offset.checked_add(got as u64)?;
        loop {
            let (before, made) = (z.total_in(), out.len());
            let status = z
                .decompress_vec(&buffer[from..got], &mut out, FlushDecompress::None)
                .ok()?;
            let used = usize::try_from(z.total_in() - before).ok()?;
            from += used;
            match status {
                Status::StreamEnd => break,
                _ if out.len() > size => return None,
                _ if from < got && used == 0 && out.len() == made => return None,
                _ => {}
            }
            if from == got {
                buffer.resize(NEXT_READ, 0);
                got = self.read_at(buffer, next)?;
                if got == 0 {
                    return None;
                }
                next += got as u64;
                from = 0;
            }
        }
        (out.len() == size).then_some(out)
    }
}

/// `base` with `delta` applied (git's delta format: the base's size and the result's, then
/// instructions to copy a range of the base or insert bytes that follow). `None` if the
/// delta does not fit the base or does not make the size it announces.
fn apply_delta(base: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    let mut at = 0;
    let mut size = || -> Option<usize> {
        let mut value = 0usize;
        let mut shift = 0;
        loop {
            let byte = *delta.get(at)?;
            at += 1;
            if shift > 57 {
                return None;
            }
            value |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
    };
    let (source, target) = (size()?, size()?);
    if source != base.len() {
        return None;
    }
    let mut out = Vec::with_capacity(target);
    while let Some(&op) = delta.get(at) {
        at += 1;
        if op & 0x80 != 0 {
            let mut field = |bits: u8, bytes: usize| -> Option<usize> {
                let mut value = 0;
                for i in 0..bytes {
                    if bits & (1 << i) != 0 {
                        value |= usize::from(*delta.get(at)?) << (8 * i);
                        at += 1;
                    }
                }
                Some(value)
            };
            let from = field(op & 15, 4)?;
            let len = match field((op >> 4) & 7, 3)? {
                0 => 0x10000,
                n => n,
            };
            out.extend_from_slice(base.get(from..from.checked_add(len)?)?);
        } else if op != 0 {
            let len = usize::from(op);
            out.extend_from_slice(delta.get(at..at + len)?);
            at += len;
        } else {
            return None;
        }
        if out.len() > target {
            return None;
        }
    }
    (out.len() == target).then_some(out)
}

/// Resolved objects by (pack, offset).
type Resolved = Generations<(usize, u64), Object>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::testing::TestRepo;

    /// A repository whose folder `big` of 300 files changes a few files per commit over 60
    /// commits (so its versions are packed as chains of deltas), with another folder beside.
    fn history() -> TestRepo {
        let mut t = TestRepo::new();
        let first: Vec<(String, String)> = (0..300)
            .map(|i| {
                (
                    format!("big/record-{i:03}.toml"),
                    format!("name = \"R{i}\"\n"),
                )
            })
            .collect();
        let first: Vec<(&str, Option<&str>)> = first
            .iter()
            .map(|(p, c)| (p.as_str(), Some(c.as_str())))
            .collect();
        t.commit("2026-01-05", "start", &first);
        for v in 1..60 {
            let path = format!("big/record-{:03}.toml", (v * 37) % 300);
            let text = format!("name = \"R{v}\"\nstage = \"won\"\n");
            let other = format!("small/s{}.toml", v % 4);
            t.commit(
                "2026-01-06",
                "change",
                &[(&path, Some(&text)), (&other, Some("x = 1\n"))],
            );
        }
        t
    }

    /// Every object of the repository, as `git cat-file` lists them.
    fn all_objects(t: &TestRepo) -> Vec<ObjectId> {
        let out = std::process::Command::new("git")
            .args([
                "cat-file",
                "--batch-all-objects",
                "--batch-check=%(objectname)",
            ])
            .current_dir(t.dir())
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect()
    }

    /// How many entries of the repository's pack are deltas on a base at an offset and on a
    /// base named by id (the type in each delta entry's first byte, at the offset `git
    /// verify-pack` gives).
    fn count_deltas(t: &TestRepo) -> (usize, usize) {
        let idx = pack_order::index_files(&t.dir().join(".git/objects"));
        assert_eq!(idx.len(), 1);
        let out = std::process::Command::new("git")
            .args(["verify-pack", "-v"])
            .arg(&idx[0])
            .output()
            .unwrap();
        assert!(out.status.success());
        let pack = std::fs::read(idx[0].with_extension("pack")).unwrap();
        let (mut offset, mut named) = (0, 0);
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() == 7 {
                let at: usize = fields[4].parse().unwrap();
                match (pack[at] >> 4) & 7 {
                    6 => offset += 1,
                    7 => named += 1,
                    other => panic!("{line}: type {other}"),
                }
            }
        }
        (offset, named)
    }

    /// Each object reads as libgit2 reads it: type and bytes.
    fn reads_as_libgit2_does(t: &TestRepo) {
        let repo = git2::Repository::open(t.dir()).unwrap();
        let odb = repo.odb().unwrap();
        let mut packs = Packs::open(Some(&t.dir().join(".git/objects")), 1 << 20);
        let ids = all_objects(t);
        assert!(ids.len() > 300, "{}", ids.len());
        for id in ids {
            let want = odb.read(id.to_oid()).unwrap();
            let (kind, data) = packs.read(&id).unwrap_or_else(|| panic!("{id} unread"));
            let kind = match kind {
                Kind::Commit => git2::ObjectType::Commit,
                Kind::Tree => git2::ObjectType::Tree,
                Kind::Blob => git2::ObjectType::Blob,
                Kind::Tag => git2::ObjectType::Tag,
            };
            assert_eq!((kind, &data[..]), (want.kind(), want.data()), "{id}");
        }
    }

    /// `t`'s history copied by `git fast-export | git fast-import` into a new repository: a
    /// pack as fast-import writes it (each version of a tree a delta on the one before).
    fn fast_imported(t: &TestRepo) -> TestRepo {
        let imported = TestRepo::new();
        let export = std::process::Command::new("git")
            .args(["fast-export", "--all"])
            .current_dir(t.dir())
            .output()
            .unwrap();
        assert!(export.status.success());
        let mut import = std::process::Command::new("git")
            .args(["fast-import", "--quiet"])
            .current_dir(imported.dir())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        import
            .stdin
            .take()
            .unwrap()
            .write_all(&export.stdout)
            .unwrap();
        assert!(import.wait().unwrap().success());
        imported
    }

    /// git's own packs: deltas on a base at an offset (`git repack`'s default), on a base
    /// named by id (`repack.useDeltaBaseOffset=false`), and `git fast-import`'s.
    #[test]
    fn every_packed_object_reads_as_libgit2_reads_it() {
        let t = history();
        t.git(&["tag", "-a", "-m", "a tag", "v1"]);
        let imported = fast_imported(&t);
        let (offset, named) = count_deltas(&imported);
        assert!(offset + named > 50, "{offset} {named}");
        reads_as_libgit2_does(&imported);

        t.git(&["-c", "pack.threads=1", "repack", "-adfq"]);
        let (offset, named) = count_deltas(&t);
        assert!(offset > 50 && named == 0, "{offset} {named}");
        reads_as_libgit2_does(&t);

        t.git(&[
            "-c",
            "pack.threads=1",
            "-c",
            "repack.useDeltaBaseOffset=false",
            "repack",
            "-adfq",
        ]);
        let (offset, named) = count_deltas(&t);
        assert!(offset == 0 && named > 50, "{offset} {named}");
        reads_as_libgit2_does(&t);
    }

    /// The ids of folder `big`'s versions, oldest first.
    fn versions_of_big(t: &TestRepo) -> Vec<ObjectId> {
        let out = std::process::Command::new("git")
            .args(["log", "--reverse", "--format=%T"])
            .current_dir(t.dir())
            .output()
            .unwrap();
        let repo = git2::Repository::open(t.dir()).unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|root| {
                let tree = repo.find_tree(root.parse().unwrap()).unwrap();
                let big = tree.get_name("big").unwrap().id();
                ObjectId::from_oid(big)
            })
            .collect()
    }

    /// Read in the order a walk reads them, each version of a folder after the first costs
    /// one or two pack entries, where each read alone follows a chain of 20 to 50: the
    /// version before, or a base shared with it, was resolved by the read before. (In both
    /// packs here each version is a delta on an older one; git's `repack` may also chain
    /// older versions on newer ones, which reading the oldest resolves.)
    #[test]
    fn each_next_version_of_a_folder_costs_one_or_two_entries() {
        let t = history();
        let imported = fast_imported(&t);
        t.git(&["-c", "pack.threads=1", "repack", "-adfq"]);
        for repo in [&imported, &t] {
            let objects = repo.dir().join(".git/objects");
            let versions = versions_of_big(repo);
            assert_eq!(versions.len(), 60);
            let mut packs = Packs::open(Some(&objects), 1 << 20);
            packs.read(&versions[0]).unwrap();
            let mut alone = Vec::new();
            for v in &versions[1..] {
                let mut fresh = Packs::open(Some(&objects), 1 << 20);
                fresh.read(v).unwrap();
                alone.push(fresh.entries_read);
                let before = packs.entries_read;
                packs.read(v).unwrap();
                assert!(packs.entries_read - before <= 2, "{v}");
            }
            assert!(alone.iter().max() >= Some(&20), "{alone:?}");
        }
    }

    /// What the packs do not hold, or hold damaged, is `None` (libgit2 then reads it or says
    /// what is wrong), never other bytes and never a panic.
    #[test]
    fn what_cannot_be_read_from_the_packs_is_none() {
        let mut t = history();
        t.git(&["-c", "pack.threads=1", "repack", "-adfq"]);
        t.commit("2026-01-07", "loose", &[("big/late.toml", Some("x = 1\n"))]);
        let repo = git2::Repository::open(t.dir()).unwrap();
        let objects = t.dir().join(".git/objects");
        let mut packs = Packs::open(Some(&objects), 1 << 20);
        let head = repo.head().unwrap().peel_to_tree().unwrap();
        let loose = ObjectId::from_oid(head.id());
        assert!(objects.join(&loose.to_string()[..2]).exists());
        assert!(packs.read(&loose).is_none());
        assert!(packs.read(&ObjectId([0xab; 20])).is_none());
        assert!(Packs::open(None, 1 << 20)
            .read(&versions_of_big(&t)[0])
            .is_none());

        let odb = repo.odb().unwrap();
        let packed: Vec<ObjectId> = all_objects(&t)
            .into_iter()
            .filter(|id| packs.read(id).is_some())
            .collect();
        assert!(packed.len() > 300);
        let idx = pack_order::index_files(&objects);
        assert_eq!(idx.len(), 1);
        let pack = idx[0].with_extension("pack");
        let bytes = std::fs::read(&pack).unwrap();
        let half = bytes.len() / 2;
        let mut zeroed = bytes.clone();
        zeroed[half..half + 64].fill(0);
        let mut flipped = bytes.clone();
        for b in flipped[half..].iter_mut().step_by(97) {
            *b ^= 0x5a;
        }
        let mut signed = bytes.clone();
        signed[..4].copy_from_slice(b"KCAP");
        let damages: [(&str, Vec<u8>); 5] = [
            ("cut in half", bytes[..half].to_vec()),
            ("not a pack", signed),
            ("64 bytes zeroed", zeroed),
            ("bytes flipped", flipped),
            ("empty", Vec::new()),
        ];
        for (what, damaged) in damages {
            let copy = tempfile::tempdir().unwrap();
            let into = copy.path().join("pack");
            std::fs::create_dir(&into).unwrap();
            let name = pack.file_name().unwrap();
            std::fs::copy(
                pack.with_extension("idx"),
                into.join(name).with_extension("idx"),
            )
            .unwrap();
            std::fs::write(into.join(name), damaged).unwrap();
            let mut packs = Packs::open(Some(copy.path()), 1 << 20);
            let mut unread = 0;
            for id in &packed {
                match packs.read(id) {
                    Some((_, data)) => {
                        assert_eq!(&data[..], odb.read(id.to_oid()).unwrap().data(), "{what}")
                    }
                    None => unread += 1,
                }
            }
            assert!(unread > 0, "{what}");
        }
        // An index that is not one.
        let copy = tempfile::tempdir().unwrap();
        std::fs::create_dir(copy.path().join("pack")).unwrap();
        std::fs::write(copy.path().join("pack/pack-x.idx"), b"\xfftOc\0\0\0\x02").unwrap();
        std::fs::copy(&pack, copy.path().join("pack/pack-x.pack")).unwrap();
        let mut packs = Packs::open(Some(copy.path()), 1 << 20);
        assert!(packed.iter().all(|id| packs.read(id).is_none()));
        // An index of SHA-256 names: the same version, 12 more bytes per object.
        let copy = tempfile::tempdir().unwrap();
        std::fs::create_dir(copy.path().join("pack")).unwrap();
        let idx = std::fs::read(pack.with_extension("idx")).unwrap();
        let count = u32::from_be_bytes(idx[8 + 1020..8 + 1024].try_into().unwrap()) as usize;
        let mut longer = idx.clone();
        longer.extend(std::iter::repeat_n(0, count * 12 + 24));
        std::fs::write(copy.path().join("pack/pack-z.idx"), longer).unwrap();
        std::fs::copy(&pack, copy.path().join("pack/pack-z.pack")).unwrap();
        let mut packs = Packs::open(Some(copy.path()), 1 << 20);
        assert!(packed.iter().all(|id| packs.read(id).is_none()));
        // An index without its pack.
        let copy = tempfile::tempdir().unwrap();
        std::fs::create_dir(copy.path().join("pack")).unwrap();
        std::fs::copy(
            pack.with_extension("idx"),
            copy.path().join("pack/pack-y.idx"),
        )
        .unwrap();
        let mut packs = Packs::open(Some(copy.path()), 1 << 20);
        assert!(packed.iter().all(|id| packs.read(id).is_none()));
    }

    /// Git's delta format, by hand: copies of ranges of the base and inserted bytes; a delta
    /// that does not fit its base or its announced size is `None`.
    #[test]
    fn deltas_copy_and_insert_and_are_checked() {
        let base = b"0123456789abcdef";
        // Base 16 bytes, result 9: copy 4 bytes at 10 ("abcd"), insert "XY", copy 3 at 0.
        let delta = [16, 9, 0x91, 10, 4, 2, b'X', b'Y', 0x90, 3];
        assert_eq!(
            apply_delta(base, &delta).as_deref(),
            Some(&b"abcdXY012"[..])
        );
        // A copy of size 0 means 0x10000 bytes.
        let big = vec![7u8; 0x10000];
        let delta = [0x80, 0x80, 0x04, 0x80, 0x80, 0x04, 0x80];
        assert_eq!(apply_delta(&big, &delta), Some(big.clone()));
        for (why, delta) in [
            ("wrong base size", vec![15, 2, 0x90, 2]),
            ("copy past the base", vec![16, 4, 0x91, 14, 4]),
            ("reserved instruction 0", vec![16, 1, 0]),
            ("insert past the end", vec![16, 3, 3, b'a']),
            ("short of the announced size", vec![16, 5, 0x90, 4]),
            ("past the announced size", vec![16, 3, 0x90, 4]),
            ("truncated sizes", vec![0x80]),
            ("truncated copy", vec![16, 4, 0x91, 10]),
        ] {
            assert_eq!(apply_delta(base, &delta), None, "{why}");
        }
    }
}
