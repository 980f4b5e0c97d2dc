//! Where objects sit in a repository's pack files, to read many of them in the order they are
//! stored.
//!
//! libgit2 maps a pack file in windows (32 MB, 128 MB at most: `repo::limit_mapped_memory`)
//! under one process-wide lock. Reading every record of a commit in path order jumps across
//! the whole pack: at the benchmark's size (a 141 MB pack) windows were unmapped and mapped
//! again all through the load, and the reading threads waited on that lock for a third of it.
//! Read in pack order, each window is mapped once.
//!
//! Only the pack index files are read (`objects/pack/*.idx`, version 2: the format git has
//! written since 1.5.2). An object in no index (loose, in an alternate, or in an index of
//! another version or hash) has no position and sorts last: the order only ever changes how
//! fast objects are read, never what is read.

use std::path::{Path, PathBuf};

/// The position of each of `oids` in the repository's packs (whose objects folder is
/// `objects`), as a key that sorts in storage order: the pack (by file name), then the
/// offset in it. `u64::MAX` for an object found in no pack index.
pub(crate) fn positions(objects: &Path, oids: &[git2::Oid]) -> Vec<u64> {
    let mut keys = vec![u64::MAX; oids.len()];
    let indexes = index_files(objects);
    // The oids in sorted order, merged with each index's sorted names.
    let mut sorted: Vec<u32> = (0..oids.len() as u32).collect();
    sorted.sort_unstable_by_key(|&i| oids[i as usize]);
    for (pack, path) in indexes.iter().enumerate().take(1 << 23) {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let Some(index) = Index::parse(&bytes) else {
            continue;
        };
        let mut at = 0;
        for &i in &sorted {
            let key = &mut keys[i as usize];
            if *key != u64::MAX {
                continue;
            }
            let name = oids[i as usize].as_bytes();
            // Names are sorted: start from the last match, within the first byte's range.
            let (lo, hi) = index.range(name[0]);
            at = at.clamp(lo, hi);
            while at < hi && index.name(at) < name {
                at += 1;
            }
            if at < hi && index.name(at) == name {
                if let Some(offset) = index.offset(at) {
                    *key = ((pack as u64) << 40) | offset.min((1 << 40) - 1);
                }
            }
        }
    }
    keys
}

/// The pack index files of the object folder `objects` (`pack/*.idx`), sorted by name:
/// none if the folder cannot be read.
pub(super) fn index_files(objects: &Path) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(objects.join("pack")) else {
        return Vec::new();
    };
    let mut indexes: Vec<_> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .collect();
    indexes.sort();
    indexes
}

/// A version 2 pack index, borrowed. (`parse` checks it; `packs` keeps the count it found
/// and builds one again for each lookup.)
pub(super) struct Index<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) count: usize,
}

const MAGIC: &[u8; 4] = b"\xfftOc";
const HEADER: usize = 8;
const FANOUT: usize = 256 * 4;
/// SHA-1 names.
const NAME: usize = 20;

impl<'a> Index<'a> {
    /// `None` unless `bytes` is a version 2 index of SHA-1 names, whole.
    pub(super) fn parse(bytes: &'a [u8]) -> Option<Self> {
        if bytes.len() < HEADER + FANOUT || &bytes[..4] != MAGIC || be32(bytes, 4)? != 2 {
            return None;
        }
        let count = be32(bytes, HEADER + 255 * 4)? as usize;
        let index = Index { bytes, count };
        // Names, checksums, offsets, then any large offsets and two trailing hashes.
        let min = index.offsets_at().checked_add(count.checked_mul(4)?)? + 2 * NAME;
        if bytes.len() < min {
            return None;
        }
        let mut previous = 0;
        for b in 0..256 {
            let n = be32(bytes, HEADER + b * 4)? as usize;
            if n < previous || n > count {
                return None;
            }
            previous = n;
        }
        Some(index)
    }

    /// The names whose first byte is `first`, as a range of positions.
    fn range(&self, first: u8) -> (usize, usize) {
        let end = |b: usize| be32(self.bytes, HEADER + b * 4).unwrap_or(0) as usize;
        let hi = end(usize::from(first));
        let lo = if first == 0 {
            0
        } else {
            end(usize::from(first) - 1)
        };
        (lo.min(hi), hi)
    }

    /// The offset in the pack of the object named `name`, if the index has it.
    pub(super) fn find(&self, name: &[u8]) -> Option<u64> {
        let (lo, hi) = self.range(*name.first()?);
        let (mut lo, mut hi) = (lo, hi.min(self.count));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.name(mid).cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.offset(mid),
            }
        }
        None
    }

    fn name(&self, i: usize) -> &'a [u8] {
        let at = HEADER + FANOUT + i * NAME;
        &self.bytes[at..at + NAME]
    }

    fn offsets_at(&self) -> usize {
        HEADER + FANOUT + self.count * (NAME + 4)
    }

    /// The offset in the pack of the object at position `i`.
    fn offset(&self, i: usize) -> Option<u64> {
        let small = be32(self.bytes, self.offsets_at() + i * 4)?;
        if small & 0x8000_0000 == 0 {
            return Some(u64::from(small));
        }
        let at = self.offsets_at() + self.count * 4 + (small & 0x7fff_ffff) as usize * 8;
        let high = u64::from(be32(self.bytes, at)?);
        let low = u64::from(be32(self.bytes, at + 4)?);
        Some(high << 32 | low)
    }
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::testing::TestRepo;

    /// The positions read from an index git wrote (`git repack`) are the offsets `git
    /// verify-pack -v` prints; objects not packed (loose, or unknown) have none.
    #[test]
    fn positions_are_the_offsets_git_reports() {
        let mut t = TestRepo::new();
        for i in 0..30 {
            let text = format!("name = \"Acme {i}\"\nstatus = \"target\"\n");
            t.commit(
                "2026-01-05",
                "work",
                &[(&format!("accounts/a{i}.toml"), Some(text.as_str()))],
            );
        }
        t.git(&["repack", "-adq"]);
        t.commit(
            "2026-01-06",
            "loose",
            &[("accounts/late.toml", Some("x = 1\n"))],
        );
        let objects = t.dir().join(".git/objects");
        let idx = std::fs::read_dir(objects.join("pack"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "idx"))
            .unwrap();
        let out = std::process::Command::new("git")
            .args(["verify-pack", "-v"])
            .arg(&idx)
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut expected: Vec<(git2::Oid, u64)> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let oid = git2::Oid::from_str(f.first()?).ok()?;
                Some((oid, f.get(4)?.parse().ok()?))
            })
            .collect();
        assert!(expected.len() > 90, "{}", expected.len());
        // Reversed, so the lookup cannot rely on the order it is given.
        expected.reverse();
        let loose = git2::Oid::hash_object(git2::ObjectType::Blob, b"x = 1\n").unwrap();
        assert!(
            objects.join(&loose.to_string()[..2]).exists(),
            "a loose object"
        );
        let mut oids: Vec<git2::Oid> = expected.iter().map(|(o, _)| *o).collect();
        oids.push(loose);
        oids.push(git2::Oid::from_str(&"ab".repeat(20)).unwrap());
        let keys = positions(&objects, &oids);
        let mut want: Vec<u64> = expected.iter().map(|(_, off)| *off).collect();
        want.extend([u64::MAX, u64::MAX]);
        assert_eq!(keys, want);
    }

    /// A damaged or foreign index gives no position, and no panic.
    #[test]
    fn a_damaged_index_gives_no_position() {
        let mut good = Vec::new();
        good.extend_from_slice(MAGIC);
        good.extend_from_slice(&2u32.to_be_bytes());
        for b in 0..256u32 {
            good.extend_from_slice(&u32::from(b >= 0x12).to_be_bytes());
        }
        let name = [0x12u8; 20];
        good.extend_from_slice(&name);
        good.extend_from_slice(&[0; 4]);
        good.extend_from_slice(&0x8000_0000u32.to_be_bytes());
        good.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 7]);
        good.extend_from_slice(&[0; 40]);
        let index = Index::parse(&good).unwrap();
        assert_eq!(index.range(0x12), (0, 1));
        assert_eq!(index.offset(0), Some((1 << 32) | 7));
        for cut in [0, 7, 8 + 1024, good.len() - 41] {
            assert!(Index::parse(&good[..cut]).is_none(), "cut at {cut}");
        }
        let mut version = good.clone();
        version[7] = 3;
        assert!(Index::parse(&version).is_none());
        // A large offset pointing past the end.
        let mut far = good.clone();
        let at = 8 + 1024 + 24;
        far[at..at + 4].copy_from_slice(&0x8000_0009u32.to_be_bytes());
        assert_eq!(Index::parse(&far).unwrap().offset(0), None);
    }
}
