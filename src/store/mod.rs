//! The one loader: a whole CRM from any `Source` (work tree, index, commit tree), with every
//! per-file problem as a diagnostic.

pub mod edit;
pub mod files;
pub mod parse;
pub mod schema;
mod source;
mod write;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use files::{FileSet, Log, Spill};
pub use source::{
    resolve_inside, Entry, LinkError, Memory, Refusal, Source, SourceError, SourceFile, WorkTree,
};
pub use write::{temp_path, write_file, write_files, TEMP_SUFFIX};

use crate::config::{self, Config};
use crate::crm::Crm;
use crate::diag::{suggest, Code, Diagnostic, Loc};
use crate::model::{ids, AnyRecord, Kind, OfKind};

/// A CRM and the problems found while reading it.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub crm: Crm,
    pub diagnostics: Vec<Diagnostic>,
}

/// Why a CRM could not be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no sloop.toml in {0}")]
    NoConfig(String),
    #[error(transparent)]
    Source(#[from] SourceError),
}

impl LoadError {
    /// What to do next, when there is more to say than the message.
    pub fn hint(&self) -> Option<String> {
        match self {
            LoadError::Source(SourceError::Refused { .. }) => Some(
                "sloop reads no file outside the CRM or inside `.git`: replace the link with \
                 the file itself"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// What a path under the CRM root is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathClass<'a> {
    Config,
    /// A record: its kind and id (the file stem).
    Record(Kind, &'a str),
    /// Report templates, not checked here.
    Template,
    /// A hidden file (`.gitkeep`, `.DS_Store`), ignored.
    Hidden,
    /// A file that should not be where it is.
    Stray,
    /// Anything else (outside the CRM's folders).
    Other,
}

/// Classifies a CRM-relative path.
pub fn classify(path: &str) -> PathClass<'_> {
    if path == config::FILE {
        return PathClass::Config;
    }
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let Some((top, _)) = path.split_once('/') else {
        // A hidden file at the top (`.taplo.toml`, an editor's) is not a misplaced record.
        return if file_name.starts_with('.') {
            PathClass::Hidden
        } else if file_name.ends_with(".toml") {
            PathClass::Stray
        } else {
            PathClass::Other
        };
    };
    if top == "templates" {
        return PathClass::Template;
    }
    let Some(kind) = Kind::from_folder(top) else {
        return PathClass::Other;
    };
    if file_name.starts_with('.') || path.split('/').any(|c| c.starts_with('.')) {
        return PathClass::Hidden;
    }
    match file_name.strip_suffix(".toml") {
        Some(stem) => PathClass::Record(kind, stem),
        None => PathClass::Stray,
    }
}

/// Where sloop writes a record of a kind: flat (`accounts/acme.toml`), or in a folder named
/// after the first `shard` characters of the id (`accounts/ac/acme.toml`). Activities go
/// under their date's `yyyy/mm` (see `activity_path`).
pub fn record_path(kind: Kind, id: &str, shard: u8) -> String {
    let name = shard_name(id);
    let n = usize::from(shard).min(name.len());
    if n == 0 {
        format!("{}/{id}.toml", kind.folder())
    } else {
        format!("{}/{}/{id}.toml", kind.folder(), &name[..n])
    }
}

/// The part of an id its shard folder is taken from: the id, after a leading `yyyy-mm-dd-`
/// date (imported leads are named `2026-11-26-acme`; sharding on the date would put every
/// lead of a decade in `leads/20/`).
fn shard_name(id: &str) -> &str {
    let b = id.as_bytes();
    let dated = b.len() > 11
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && b[10] == b'-';
    if dated {
        &id[11..]
    } else {
        id
    }
}

/// Where an activity of a date is written: `activities/<yyyy>/<mm>/<id>.toml`.
pub fn activity_path(id: &str, date: chrono::NaiveDate) -> String {
    format!("activities/{}/{id}.toml", date.format("%Y/%m"))
}

/// Finds the CRM root: the nearest folder, from `start` upwards, holding `sloop.toml`.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(config::FILE).is_file())
        .map(Path::to_path_buf)
}

/// Reads a whole CRM from a source. Every file that cannot be read or parsed is reported and
/// loading goes on with the others.
pub fn load(source: &dyn Source) -> Result<Loaded, LoadError> {
    load_with(source, true, None, None)
}

/// `load`, the records without their field positions (`Meta::forget_positions`), dropped as
/// each file is parsed, for a caller that keeps the records in bulk to compute from and
/// reads only the count of the diagnostics: the positions of every record were a third of
/// the memory of loading a large CRM.
pub fn load_without_positions(source: &dyn Source) -> Result<Loaded, LoadError> {
    load_with(source, false, None, None)
}

/// `load_without_positions`, each record as `keep` returns it (of the same kind), applied as
/// each file is parsed: for a caller that reads only some fields of every record (the write
/// index), which then never holds the rest of them all at once.
pub fn load_kept(
    source: &dyn Source,
    keep: fn(AnyRecord) -> AnyRecord,
) -> Result<Loaded, LoadError> {
    load_with(source, false, Some(keep), None)
}

/// `load_without_positions` of one kind's records: the other kinds' files are listed (a
/// stray file or folder is still reported) but not read, and their lists are empty. For a
/// caller that shows one kind (`sloop ls`): listing 20,000 accounts read all 340,000 files
/// of the benchmark's CRM.
pub fn load_kind(source: &dyn Source, kind: Kind) -> Result<Loaded, LoadError> {
    load_with(source, false, None, Some(kind))
}

fn load_with(
    source: &dyn Source,
    positions: bool,
    keep: Option<fn(AnyRecord) -> AnyRecord>,
    only: Option<Kind>,
) -> Result<Loaded, LoadError> {
    let config_bytes = source
        .read_config()?
        .ok_or_else(|| LoadError::NoConfig(source.describe()))?;
    let (config, mut diagnostics) = parse_config(&config_bytes);
    let files = source.list()?;
    // The record files, each kind's apart and owned: a file's path moves into its record as
    // the file is parsed, and a kind's listing is gone once the kind is parsed. The whole
    // listing, held beside its records' copies of the paths until every kind was parsed, was
    // 57 MB of the 449 MiB a full load peaked at on the benchmark, while the activities (the
    // last kind) were parsed.
    let mut listed: [Vec<Listed>; 5] = Default::default();
    // The kind of each record file, in the listing's order: the order of the diagnostics.
    let mut kinds: Vec<Kind> = Vec::new();
    for file in files {
        match (&file.entry, classify(&file.path)) {
            (Entry::TopDir, _) => {
                let kinds = Kind::ALL.map(Kind::folder);
                if let Some(close) = suggest(&file.path, kinds) {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::StrayFile,
                            file.path.clone(),
                            Loc {
                                line: 0,
                                column: 0,
                                len: 0,
                            },
                            format!(
                                "folder `{}` is not a record folder, so its files are not checked",
                                file.path
                            ),
                        )
                        .with_hint(format!("did you mean `{close}/`?")),
                    );
                }
            }
            (Entry::SymlinkEscape(target), _) => diagnostics.push(
                Diagnostic::new(
                    Code::SymlinkEscape,
                    file.path.clone(),
                    no_loc(),
                    format!("symlink points outside the CRM, to {target}"),
                )
                .with_hint(
                    "records must live inside the CRM: copy the file in instead of linking it",
                ),
            ),
            (Entry::SymlinkHidden(target), _) => diagnostics.push(
                Diagnostic::new(
                    Code::SymlinkEscape,
                    file.path.clone(),
                    no_loc(),
                    format!("symlink points into a hidden folder of the CRM, to {target}"),
                )
                .with_hint(
                    "sloop never reads `.git` or hidden folders: copy the file in instead of linking it",
                ),
            ),
            (Entry::SymlinkInGit(target), _) => {
                diagnostics.push(link_in_git_diagnostic(&file.path, target))
            }
            (Entry::Unreadable(why), _) => diagnostics.push(Diagnostic::new(
                Code::Unreadable,
                file.path.clone(),
                no_loc(),
                format!("cannot read: {why}"),
            )),
            (Entry::File, PathClass::Record(kind, id)) => {
                if only.is_none_or(|only| only == kind) {
                    // The id is the path's file stem: kept as where it is in the path.
                    let start = id.as_ptr() as usize - file.path.as_ptr() as usize;
                    let id = start..start + id.len();
                    let list = &mut listed[kind as usize];
                    let at = list.len() as u32;
                    kinds.push(kind);
                    list.push(Listed { file, id, at });
                }
            }
            (Entry::File, PathClass::Stray) => diagnostics.push(stray_diagnostic(&file.path)),
            (Entry::File, _) => {}
        }
    }
    // Each kind's files are parsed on every core straight into that kind's list, sized
    // once: parsed first into one list of every kind, each record was held twice while it
    // was moved to its list, and in a box the size of the largest kind (an activity's box
    // held an opportunity's room).
    let mut crm = Crm::empty(config);
    let Crm {
        config,
        accounts,
        contacts,
        opportunities,
        leads,
        activities,
    } = &mut crm;
    let config = &*config;
    let read = |listed: Listed, kind: Kind| {
        let Listed { file, id, .. } = listed;
        let (mut record, diags) = read_record(source, &file, kind, &file.path[id], config);
        let meta = record.meta_mut();
        debug_assert_eq!(meta.path, file.path);
        meta.path = file.path;
        if !positions {
            meta.forget_positions();
        }
        match keep {
            Some(keep) => (keep(record), diags),
            None => (record, diags),
        }
    };
    let mut take = |kind: Kind| std::mem::take(&mut listed[kind as usize]);
    // The diagnostics of each kind's files, in the order of its files.
    let mut per_file: [std::vec::IntoIter<Vec<Diagnostic>>; 5] = Default::default();
    per_file[Kind::Account as usize] = parse_kind(take(Kind::Account), &read, source, accounts);
    per_file[Kind::Contact as usize] = parse_kind(take(Kind::Contact), &read, source, contacts);
    per_file[Kind::Opportunity as usize] =
        parse_kind(take(Kind::Opportunity), &read, source, opportunities);
    per_file[Kind::Lead as usize] = parse_kind(take(Kind::Lead), &read, source, leads);
    per_file[Kind::Activity as usize] = parse_kind(take(Kind::Activity), &read, source, activities);
    // The duplicate ids are looked for from the records' own ids and paths.
    let ids = Kind::ALL.map(|kind| crm.ids(kind));
    // Per kind, in its files' order: for a record whose id an earlier file of the kind has,
    // that earlier file's path (the one most recently seen).
    let mut earlier = ids.each_ref().map(|ids| {
        let mut seen: rustc_hash::FxHashMap<&str, &str> = rustc_hash::FxHashMap::default();
        seen.reserve(ids.len());
        ids.iter()
            .map(|(path, id)| seen.insert(id, path))
            .collect::<Vec<_>>()
            .into_iter()
    });
    let mut ids = ids.map(Vec::into_iter);
    for kind in kinds {
        let k = kind as usize;
        diagnostics.extend(per_file[k].next().unwrap_or_default());
        let (Some((path, id)), Some(Some(first))) = (ids[k].next(), earlier[k].next()) else {
            continue;
        };
        diagnostics.push(
            Diagnostic::new(
                Code::DuplicateId,
                path.to_string(),
                no_loc(),
                format!("{} `{id}` is also defined in {first}", kind.with_article()),
            )
            .with_hint("ids are unique per kind, whatever the folder: rename one of the files"),
        );
    }
    Ok(Loaded { crm, diagnostics })
}

fn no_loc() -> Loc {
    Loc {
        line: 0,
        column: 0,
        len: 0,
    }
}

/// A record file of the listing, owned until it is parsed: its id (the file stem) as where
/// it is in the path, and its place among its kind's files.
struct Listed {
    file: SourceFile,
    id: std::ops::Range<usize>,
    at: u32,
}

/// One record file read and parsed, with its diagnostics; the file's path moved into the
/// record.
type ReadFile<'a> = dyn Fn(Listed, Kind) -> (AnyRecord, Vec<Diagnostic>) + Sync + 'a;

/// Reads `files` (of `T`'s kind, in the listing's order) on every core into `list` (empty:
/// written in place, sized once), and returns each file's diagnostics in the same order.
/// Each file is dropped as it is read.
fn parse_kind<T: OfKind + Send + Default>(
    mut files: Vec<Listed>,
    read: &ReadFile,
    source: &dyn Source,
    list: &mut Vec<T>,
) -> std::vec::IntoIter<Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    // Many files are read in the order the source reads quickest (a commit's blobs in pack
    // order), then put back in the listing's order.
    let mut placed = None;
    if files.len() >= READ_IN_ORDER_FROM {
        if let Some(keys) = source.read_order() {
            files.sort_unstable_by_key(|l| keys.get(l.file.token).copied().unwrap_or(u64::MAX));
            placed = Some(files.iter().map(|l| l.at).collect::<Vec<u32>>());
        }
    }
    files
        .into_par_iter()
        .map(|listed| {
            let (record, diags) = read(listed, T::KIND);
            // `read` gives a record of the kind asked for, broken or not.
            (T::from_any(record).unwrap_or_default(), diags)
        })
        .unzip_into_vecs(list, &mut diagnostics);
    if let Some(order) = placed {
        put_back(order, list, &mut diagnostics);
    }
    diagnostics.into_iter()
}

/// From this many files of a kind, `parse_kind` asks the source for its read order.
const READ_IN_ORDER_FROM: usize = 1024;

/// Puts `list` and `diagnostics`, whose `k`th items are those of the listing's file
/// `order[k]`, back in the listing's order, in place (each item moved once, no second list
/// held).
fn put_back<T>(mut order: Vec<u32>, list: &mut [T], diagnostics: &mut [Vec<Diagnostic>]) {
    for i in 0..order.len() {
        while order[i] as usize != i {
            let j = order[i] as usize;
            list.swap(i, j);
            diagnostics.swap(i, j);
            order.swap(i, j);
        }
    }
}

/// The warning for a file that is not a record where records live.
/// A symlink stored in git where a record should be: never followed.
pub fn link_in_git_diagnostic(path: &str, target: &str) -> Diagnostic {
    Diagnostic::new(
        Code::SymlinkEscape,
        path,
        no_loc(),
        format!(
            "a symlink (to `{target}`) is stored in git here: sloop follows no link stored in git"
        ),
    )
    .with_hint("commit the record file itself, not a link to it")
}

pub fn stray_diagnostic(path: &str) -> Diagnostic {
    let (message, hint) = if path.contains('/') {
        (
            "not a record: record files end in `.toml`".to_string(),
            "move it out of the record folders, or rename it `<id>.toml` if it is a record"
                .to_string(),
        )
    } else {
        (
            "TOML file outside the record folders is not checked".to_string(),
            format!(
                "records live in {}",
                crate::diag::one_of(&Kind::ALL.map(|k| format!("{}/", k.folder())))
            ),
        )
    };
    Diagnostic::new(Code::StrayFile, path, no_loc(), message).with_hint(hint)
}

/// Decodes a file as UTF-8 text, or explains why it is not text.
fn decode<'a>(path: &str, bytes: &'a [u8]) -> Result<&'a str, Box<Diagnostic>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.contains(&0) {
        return Err(Box::new(
            Diagnostic::new(
                Code::NotUtf8,
                path,
                no_loc(),
                "binary file where a TOML record is expected",
            )
            .with_hint("records are UTF-8 TOML text; move binary files out of the CRM folders"),
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let before = &bytes[..e.valid_up_to()];
        let line = before.iter().filter(|b| **b == b'\n').count() as u32 + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map(|i| i + 1)
            .unwrap_or(0);
        // Columns count characters, like every other diagnostic's: `before` is valid UTF-8.
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count() as u32
            + 1;
        Box::new(
            Diagnostic::new(
                Code::NotUtf8,
                path,
                Loc {
                    line,
                    column,
                    len: 0,
                },
                "file is not valid UTF-8",
            )
            .with_hint("save the file as UTF-8 (iconv -f latin1 -t utf-8 is a common fix)"),
        )
    })
}

fn read_record(
    source: &dyn Source,
    file: &SourceFile,
    kind: Kind,
    id: &str,
    config: &Config,
) -> (AnyRecord, Vec<Diagnostic>) {
    let bytes = match source.read(file) {
        Ok(b) => b,
        Err(e) => {
            let d = Diagnostic::new(
                Code::Unreadable,
                file.path.clone(),
                no_loc(),
                format!("cannot read: {e}"),
            );
            let diags = std::iter::once(d)
                .chain(invalid_id(id, &file.path))
                .collect();
            return (broken(kind, id, &file.path), diags);
        }
    };
    load_file(kind, id, &file.path, &bytes, config)
}

/// One record file's bytes as `load` reads them: the record, and every diagnostic `load`
/// reports about this file alone (all but `duplicate-id`, which needs the other files).
pub fn load_file(
    kind: Kind,
    id: &str,
    path: &str,
    bytes: &[u8],
    config: &Config,
) -> (AnyRecord, Vec<Diagnostic>) {
    let (record, mut diags) = parse_bytes(kind, id, path, bytes, config);
    diags.extend(invalid_id(id, path));
    (record, diags)
}

fn invalid_id(id: &str, path: &str) -> Option<Diagnostic> {
    let e = ids::validate(id).err()?;
    let hint = match ids::slugify(id) {
        s if !s.is_empty() => format!("rename the file to `{s}.toml`"),
        _ => "rename the file: lowercase letters, digits and `-`".into(),
    };
    Some(
        Diagnostic::new(Code::InvalidId, path, no_loc(), format!("invalid id: {e}"))
            .with_hint(hint),
    )
}

/// Parses one record file's bytes (UTF-8 with or without BOM). A file that is not text gives
/// a broken record (its id still resolves references) and a diagnostic.
pub fn parse_bytes(
    kind: Kind,
    id: &str,
    path: &str,
    bytes: &[u8],
    config: &Config,
) -> (AnyRecord, Vec<Diagnostic>) {
    match decode(path, bytes) {
        Ok(text) => parse::parse_record(kind, id, path, text, config),
        Err(d) => (broken(kind, id, path), vec![*d]),
    }
}

/// Parses `sloop.toml` bytes; a file that is not text gives the defaults and a diagnostic.
pub fn parse_config(bytes: &[u8]) -> (Config, Vec<Diagnostic>) {
    match decode(config::FILE, bytes) {
        Ok(text) => Config::parse(config::FILE, text),
        Err(d) => (Config::default(), vec![*d]),
    }
}

/// A record that could not be read: its id still resolves references.
fn broken(kind: Kind, id: &str, path: &str) -> AnyRecord {
    let (record, _) = parse::parse_record(kind, id, path, "", &Config::default());
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that asks for its files to be read in an order of its own (as a commit's
    /// tree does: pack order), and notes the order they are read in.
    struct Ordered {
        inner: Memory,
        keys: Vec<u64>,
        reads: std::sync::Mutex<Vec<usize>>,
    }

    impl Source for Ordered {
        fn list(&self) -> Result<Vec<SourceFile>, SourceError> {
            self.inner.list()
        }
        fn read(&self, file: &SourceFile) -> std::io::Result<Vec<u8>> {
            self.reads.lock().unwrap().push(file.token);
            self.inner.read(file)
        }
        fn read_config(&self) -> Result<Option<Vec<u8>>, SourceError> {
            self.inner.read_config()
        }
        fn describe(&self) -> String {
            self.inner.describe()
        }
        fn read_order(&self) -> Option<&[u64]> {
            Some(&self.keys)
        }
    }

    /// Files read in the source's order load as they do in the listing's: the same records
    /// in the same order, the same diagnostics (broken files, duplicate ids) in the same
    /// order. On one thread, the reads follow the source's keys.
    #[test]
    fn files_read_in_the_sources_order_load_the_same() {
        let mut files = vec![("sloop.toml".to_string(), String::new())];
        for i in 0..1500 {
            let text = match i % 7 {
                0 => "name = \"Unclosed\n".to_string(),
                1 => format!("name = \"A{i}\"\nemployees = \"many\"\n"),
                _ => format!("name = \"A{i}\"\nstatus = \"target\"\n"),
            };
            // Every tenth in a subfolder, with the id of one at the root: a duplicate.
            let path = if i % 10 == 3 {
                format!("accounts/sub/a{}.toml", i - 1)
            } else {
                format!("accounts/a{i}.toml")
            };
            files.push((path, text));
        }
        files.push(("leads/jo.toml".into(), "name = \"Jo\"\n".into()));
        let inner = Memory::new(files);
        let mut keys: Vec<u64> = (0..inner.files.len() as u64)
            .map(|i| (i * 7919) % 1511)
            .collect();
        keys[5] = u64::MAX;
        let ordered = Ordered {
            inner: inner.clone(),
            keys: keys.clone(),
            reads: Default::default(),
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let (plain, sorted) = pool.install(|| (load(&inner).unwrap(), load(&ordered).unwrap()));
        assert_eq!(format!("{:?}", sorted.crm), format!("{:?}", plain.crm));
        assert_eq!(sorted.diagnostics, plain.diagnostics);
        assert!(plain
            .diagnostics
            .iter()
            .any(|d| d.code == Code::DuplicateId));
        let reads = std::mem::take(&mut *ordered.reads.lock().unwrap());
        let accounts: Vec<u64> = reads
            .iter()
            .filter(|&&t| inner.files[t].0.starts_with("accounts/"))
            .map(|&t| keys[t])
            .collect();
        assert_eq!(accounts.len(), 1500);
        assert!(accounts.is_sorted(), "read in the keys' order");
        // On every core, the same.
        let again = load(&ordered).unwrap();
        assert_eq!(format!("{:?}", again.crm), format!("{:?}", plain.crm));
        assert_eq!(again.diagnostics, plain.diagnostics);
    }

    /// A record's path is the listing's, moved into it rather than copied: the listing is
    /// not held beside a copy of every path while the CRM is parsed.
    #[test]
    fn each_record_takes_its_path_from_the_listing() {
        struct Noted {
            inner: Memory,
            listed: std::sync::Mutex<Vec<(String, usize)>>,
        }
        impl Source for Noted {
            fn list(&self) -> Result<Vec<SourceFile>, SourceError> {
                let files = self.inner.list()?;
                let mut listed = self.listed.lock().unwrap();
                listed.extend(
                    files
                        .iter()
                        .map(|f| (f.path.clone(), f.path.as_ptr() as usize)),
                );
                Ok(files)
            }
            fn read(&self, file: &SourceFile) -> std::io::Result<Vec<u8>> {
                self.inner.read(file)
            }
            fn read_config(&self) -> Result<Option<Vec<u8>>, SourceError> {
                self.inner.read_config()
            }
            fn describe(&self) -> String {
                self.inner.describe()
            }
        }
        let source = Noted {
            inner: Memory::new([
                ("sloop.toml", ""),
                ("accounts/acme.toml", "name = \"Acme\"\n"),
                ("accounts/b/broken.toml", "name = \"Unclosed\n"),
                ("leads/jo.toml", "name = \"Jo\"\n"),
            ]),
            listed: Default::default(),
        };
        let loaded = load(&source).unwrap();
        let listed = source.listed.lock().unwrap();
        let paths: Vec<(String, usize)> = Kind::ALL
            .iter()
            .flat_map(|k| loaded.crm.ids(*k))
            .map(|(path, _)| (path.to_string(), path.as_ptr() as usize))
            .collect();
        assert_eq!(paths.len(), 3);
        for path in &paths {
            assert!(listed.contains(path), "{} was copied", path.0);
        }
    }

    /// The loader a cold report uses gives what `load` gives, positions aside: the same
    /// records, in the same order, and the same diagnostics (which need the positions while
    /// each file is parsed).
    #[test]
    fn loading_without_positions_only_drops_the_positions() {
        let src = Memory::new([
            ("sloop.toml", ""),
            (
                "accounts/acme.toml",
                "name = \"Acme\"\nstatus = \"target\"\nowner = \"alice\"\n",
            ),
            (
                "accounts/b/beta.toml",
                "name = \"Beta\"\nemployees = \"many\"\n",
            ),
            ("accounts/beta.toml", "name = \"Beta again\"\n"),
            (
                "contacts/jo.toml",
                "name = \"Jo\"\naccount = \"acme\"\nemail = \"jo@acme.test\"\n",
            ),
            (
                "opportunities/acme-pro.toml",
                "name = \"Acme Pro\"\naccount = \"acme\"\nstage = \"nowhere\"\nmrr = 100\n",
            ),
            ("leads/broken.toml", "name = \"Unclosed\n"),
            (
                "activities/2026/01/call.toml",
                "kind = \"call\"\ndate = 2026-01-05\nowner = \"alice\"\n",
            ),
            ("notes.toml", "stray = true\n"),
        ]);
        let mut full = load(&src).unwrap();
        let lean = load_without_positions(&src).unwrap();
        assert!(full.crm.accounts.iter().all(|a| !a.meta.locs.is_empty()));
        assert!(lean.crm.accounts.iter().all(|a| a.meta.locs.is_empty()));
        full.crm
            .accounts
            .iter_mut()
            .for_each(|r| r.meta.forget_positions());
        full.crm
            .contacts
            .iter_mut()
            .for_each(|r| r.meta.forget_positions());
        full.crm
            .opportunities
            .iter_mut()
            .for_each(|r| r.meta.forget_positions());
        full.crm
            .leads
            .iter_mut()
            .for_each(|r| r.meta.forget_positions());
        full.crm
            .activities
            .iter_mut()
            .for_each(|r| r.meta.forget_positions());
        assert_eq!(format!("{:?}", lean.crm), format!("{:?}", full.crm));
        assert_eq!(lean.diagnostics, full.diagnostics);
        let errors = full.diagnostics.iter().filter(|d| d.is_error()).count();
        assert!(errors >= 3, "{:?}", full.diagnostics);
        assert!(full.diagnostics.iter().any(|d| d.code == Code::DuplicateId));
    }

    /// `load_kept` applies its function to each record as it is parsed: the records are
    /// `load_without_positions`'s mapped by it, and the diagnostics the same, each file's in
    /// the order the files are listed whatever their kind (an activity's before a lead's).
    #[test]
    fn loading_kept_maps_each_record_and_keeps_the_diagnostics_in_file_order() {
        let src = Memory::new([
            ("sloop.toml", ""),
            (
                "accounts/acme.toml",
                "name = \"Acme\"\nstatus = \"target\"\nowner = \"alice\"\n",
            ),
            (
                "accounts/b/beta.toml",
                "name = \"Beta\"\nemployees = \"many\"\n",
            ),
            ("accounts/beta.toml", "name = \"Beta again\"\n"),
            (
                "activities/2026/01/call.toml",
                "kind = \"call\"\ndate = 2026-01-05\nowner = \"alice\"\nsubject = \"Hi\"\n",
            ),
            (
                "activities/2026/01/odd.toml",
                "kind = \"chat\"\ndate = 2026-01-06\n",
            ),
            (
                "contacts/jo.toml",
                "name = \"Jo\"\nemial = \"jo@acme.test\"\n",
            ),
            ("leads/broken.toml", "name = \"Unclosed\n"),
            ("notes.toml", "stray = true\n"),
        ]);
        fn keep(r: AnyRecord) -> AnyRecord {
            match r {
                AnyRecord::Account(a) => AnyRecord::Account(crate::model::Account {
                    meta: a.meta,
                    ..Default::default()
                }),
                AnyRecord::Activity(mut a) => {
                    a.subject = None;
                    AnyRecord::Activity(a)
                }
                r => r,
            }
        }
        let kept = load_kept(&src, keep).unwrap();
        let lean = load_without_positions(&src).unwrap();
        let mut mapped = Crm::empty(lean.crm.config.clone());
        for r in lean.crm.into_records() {
            mapped.push(keep(r));
        }
        assert_eq!(format!("{:?}", kept.crm), format!("{:?}", mapped));
        assert_eq!(kept.crm.accounts[0].name, "");
        assert_eq!(kept.crm.activities[0].subject, None);
        assert_eq!(kept.diagnostics, lean.diagnostics);
        let paths: Vec<&str> = kept
            .diagnostics
            .iter()
            .map(|d| d.path.as_str())
            .filter(|p| p.contains('/'))
            .collect();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted);
        for path in [
            "accounts/b/beta.toml",
            "accounts/beta.toml",
            "activities/2026/01/odd.toml",
            "contacts/jo.toml",
            "leads/broken.toml",
        ] {
            assert!(paths.contains(&path), "{path}: {paths:?}");
        }
    }

    #[test]
    fn shards_on_the_id_after_a_leading_date() {
        assert_eq!(record_path(Kind::Account, "acme", 0), "accounts/acme.toml");
        assert_eq!(
            record_path(Kind::Account, "acme", 2),
            "accounts/ac/acme.toml"
        );
        assert_eq!(record_path(Kind::Account, "a", 2), "accounts/a/a.toml");
        assert_eq!(
            record_path(Kind::Lead, "2026-11-26-acme", 2),
            "leads/ac/2026-11-26-acme.toml"
        );
        // Not a date: sharded as it is.
        assert_eq!(
            record_path(Kind::Account, "2026-x1-26-acme", 2),
            "accounts/20/2026-x1-26-acme.toml"
        );
        assert_eq!(
            record_path(Kind::Lead, "2026-11-26-", 2),
            "leads/20/2026-11-26-.toml"
        );
    }

    #[test]
    fn classifies_paths() {
        assert_eq!(classify("sloop.toml"), PathClass::Config);
        assert_eq!(
            classify("accounts/acme.toml"),
            PathClass::Record(Kind::Account, "acme")
        );
        assert_eq!(
            classify("accounts/a/acme.toml"),
            PathClass::Record(Kind::Account, "acme")
        );
        assert_eq!(
            classify("activities/2026/11/x.toml"),
            PathClass::Record(Kind::Activity, "x")
        );
        assert_eq!(classify("accounts/.gitkeep"), PathClass::Hidden);
        assert_eq!(classify("accounts/notes.md"), PathClass::Stray);
        assert_eq!(classify("stray.toml"), PathClass::Stray);
        assert_eq!(classify(".taplo.toml"), PathClass::Hidden);
        assert_eq!(classify("README.md"), PathClass::Other);
        assert_eq!(classify("templates/x.html"), PathClass::Template);
        assert_eq!(classify("docs/x.toml"), PathClass::Other);
    }

    #[test]
    fn loads_from_memory_and_reports_each_bad_file() {
        let src = Memory::new([
            (
                "sloop.toml",
                "[team.al]\nname = \"Al\"\n".as_bytes().to_vec(),
            ),
            (
                "accounts/acme.toml",
                b"name = \"Acme\"\nstatus = \"qualified_pool\"\n".to_vec(),
            ),
            ("accounts/bad.toml", b"name = \n".to_vec()),
            ("accounts/bin.toml", b"\x00\x01".to_vec()),
            ("accounts/latin.toml", b"name = \"Caf\xe9\"\n".to_vec()),
            (
                "accounts/x/acme.toml",
                b"name = \"Acme 2\"\nstatus = \"target\"\nowner = \"al\"\n".to_vec(),
            ),
            (
                "accounts/Bad_Id.toml",
                b"name = \"B\"\nstatus = \"target\"\nowner = \"al\"\n".to_vec(),
            ),
        ]);
        let loaded = load(&src).unwrap();
        assert_eq!(loaded.crm.accounts.len(), 6);
        let codes: Vec<(&str, Code)> = loaded
            .diagnostics
            .iter()
            .map(|d| (d.path.as_str(), d.code))
            .collect();
        assert!(
            codes.contains(&("accounts/bad.toml", Code::Syntax)),
            "{codes:?}"
        );
        assert!(codes.contains(&("accounts/bin.toml", Code::NotUtf8)));
        assert!(codes.contains(&("accounts/latin.toml", Code::NotUtf8)));
        assert!(codes.contains(&("accounts/x/acme.toml", Code::DuplicateId)));
        assert!(codes.contains(&("accounts/Bad_Id.toml", Code::InvalidId)));
    }

    /// Duplicate ids are found once the listing is dropped, from the records' own ids and
    /// paths: each is reported in the files' order, after that file's own diagnostics, naming
    /// the file of the same id seen last before it.
    #[test]
    fn duplicate_ids_are_reported_in_file_order_after_each_files_own() {
        let account = b"name = \"A\"\nstatus = \"target\"\nowner = \"al\"\n".to_vec();
        let contact = b"name = \"Jo\"\naccount = \"acme\"\n".to_vec();
        let src = Memory::new([
            ("sloop.toml", b"[team.al]\nname = \"Al\"\n".to_vec()),
            ("accounts/a/acme.toml", account.clone()),
            ("accounts/b/acme.toml", b"name = \n".to_vec()),
            ("accounts/c/acme.toml", account),
            ("contacts/a/jo.toml", contact.clone()),
            ("contacts/b/jo.toml", contact),
            ("leads/jo.toml", b"email = \"jo@x.io\"\n".to_vec()),
        ]);
        let loaded = load(&src).unwrap();
        let seen: Vec<(&str, Code, &str)> = loaded
            .diagnostics
            .iter()
            .map(|d| (d.path.as_str(), d.code, d.message.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("accounts/b/acme.toml", Code::Syntax, seen[0].2),
                (
                    "accounts/b/acme.toml",
                    Code::DuplicateId,
                    "an account `acme` is also defined in accounts/a/acme.toml"
                ),
                (
                    "accounts/c/acme.toml",
                    Code::DuplicateId,
                    "an account `acme` is also defined in accounts/b/acme.toml"
                ),
                (
                    "contacts/b/jo.toml",
                    Code::DuplicateId,
                    "a contact `jo` is also defined in contacts/a/jo.toml"
                ),
            ]
        );
    }

    #[test]
    fn a_not_utf8_column_counts_characters() {
        // Found by the fuzz harness: bytes were counted, so `éé\xff` pointed past the line.
        let (_, diags) = load_file(
            Kind::Account,
            "x",
            "accounts/x.toml",
            b"name = \"\xc3\xa9\xc3\xa9\xff\"\n",
            &Config::default(),
        );
        assert_eq!(
            (diags[0].code, diags[0].line, diags[0].column),
            (Code::NotUtf8, 1, 11)
        );
    }

    #[test]
    fn missing_config_is_not_a_crm() {
        let src = Memory::new([("accounts/a.toml", "name = \"A\"")]);
        assert!(matches!(load(&src), Err(LoadError::NoConfig(_))));
    }
}
