//! The three ways `sloop check` judges a CRM against git: the work tree plus its uncommitted
//! transitions, exactly what the index would commit, and every commit of a range. Reads git
//! through `git::Repo`; the decisions are `check` and `transition`.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::check::transition::{self, RecordChange};
use crate::check::{self, Resolver};
use crate::config::{self, Config};
use crate::crm::Crm;
use crate::diag::Diagnostic;
use crate::git::{blob_id, Change, GitError, ObjectId, Repo};
use crate::model::AnyRecord;
use crate::model::Kind;
use crate::store::{self, LoadError, PathClass, WorkTree};

/// What a check found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub diagnostics: Vec<Diagnostic>,
    /// Records judged.
    pub records: usize,
    /// Things to tell the user on stderr (e.g. "not a git repository: transitions not checked").
    pub notes: Vec<String>,
}

/// Why a check could not run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("{message}")]
    State { message: String, hint: String },
}

impl VerifyError {
    pub fn hint(&self) -> Option<String> {
        match self {
            VerifyError::Git(g) => g.hint.clone(),
            VerifyError::State { hint, .. } => Some(hint.clone()),
            VerifyError::Load(l) => l.hint(),
        }
    }
}

/// `sloop check`: the whole work tree, plus the transitions of uncommitted changes against
/// HEAD.
pub fn worktree(root: &Path) -> Result<Outcome, VerifyError> {
    let source = WorkTree::new(root);
    let loaded = store::load(&source)?;
    let mut out = Outcome {
        records: loaded.crm.len(),
        ..Outcome::default()
    };
    out.diagnostics = loaded.diagnostics;
    out.diagnostics.extend(check::check(&loaded.crm));
    let Some(repo) = Repo::open(root)? else {
        out.notes.push(
            "not in a git repository: stage transitions are not checked (`git init` to track them)"
                .into(),
        );
        return Ok(out);
    };
    if repo.head()?.is_none() {
        return Ok(out);
    }
    let changes = repo.worktree_changes()?;
    let by_path = records_by_path(&loaded.crm, &changes);
    let config = &loaded.crm.config;
    let (olds, news) = versions(&repo, &changes, config, |change, _, _| {
        Ok(by_path.get(change.path.as_str()).cloned())
    })?;
    let marker = repo.import_marker();
    let mut used = false;
    for c in transition::pair(&olds, &news) {
        let pending = marker.as_ref().filter(|m| {
            m.files.get(c.path).is_some_and(|id| {
                std::fs::read(root.join(c.path)).is_ok_and(|bytes| blob_id(&bytes) == Some(*id))
            })
        });
        used |= pending.is_some();
        out.diagnostics.extend(match pending {
            Some(m) => transition::judge_import(config, &c, &m.source),
            None => transition::judge(config, &c),
        });
    }
    if used {
        note_pending_import(&marker, &mut out);
    }
    Ok(out)
}

fn records_by_path(crm: &Crm, changes: &[Change]) -> HashMap<String, AnyRecord> {
    let wanted: HashSet<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    let mut map = HashMap::new();
    let mut add = |path: &str, r: &dyn Fn() -> AnyRecord| {
        if wanted.contains(path) {
            map.insert(path.to_string(), r());
        }
    };
    for r in &crm.accounts {
        add(&r.meta.path, &|| AnyRecord::Account(r.clone()));
    }
    for r in &crm.contacts {
        add(&r.meta.path, &|| AnyRecord::Contact(r.clone()));
    }
    for r in &crm.opportunities {
        add(&r.meta.path, &|| AnyRecord::Opportunity(r.clone()));
    }
    for r in &crm.leads {
        add(&r.meta.path, &|| AnyRecord::Lead(r.clone()));
    }
    for r in &crm.activities {
        add(&r.meta.path, &|| AnyRecord::Activity(r.clone()));
    }
    map
}

/// Records with the path they were read from.
type Versions = Vec<(String, AnyRecord)>;

/// The old (from its blob) and new versions of the changed records, by path. `new_of` gives
/// the new version of a change (read from the work tree, the index or a commit).
fn versions(
    repo: &Repo,
    changes: &[Change],
    config: &Config,
    new_of: impl Fn(&Change, Kind, &str) -> Result<Option<AnyRecord>, GitError>,
) -> Result<(Versions, Versions), GitError> {
    let mut olds = Vec::new();
    let mut news = Vec::new();
    for change in changes {
        let PathClass::Record(kind, id) = store::classify(&change.path) else {
            continue;
        };
        if let Some(old) = &change.old {
            olds.push((
                change.path.clone(),
                parse_blob(repo, *old, kind, id, &change.path, config)?,
            ));
        }
        if change.new.is_some() {
            if let Some(record) = new_of(change, kind, id)? {
                news.push((change.path.clone(), record));
            }
        }
    }
    Ok((olds, news))
}

fn parse_blob(
    repo: &Repo,
    blob: ObjectId,
    kind: Kind,
    id: &str,
    path: &str,
    config: &Config,
) -> Result<AnyRecord, GitError> {
    let bytes = repo.blob(blob)?;
    Ok(store::parse_bytes(kind, id, path, &bytes, config).0)
}

/// Refuses an index with unresolved conflicts (git lists them with status `U`).
fn refuse_conflicts(changes: &[Change]) -> Result<(), VerifyError> {
    let mut conflicts: Vec<&str> = changes
        .iter()
        .filter(|c| c.unmerged)
        .map(|c| c.path.as_str())
        .collect();
    conflicts.dedup();
    if let Some(first) = conflicts.first() {
        return Err(VerifyError::State {
            message: format!(
                "{} CRM file(s) have unresolved conflicts, starting with {first}",
                conflicts.len()
            ),
            hint: "resolve them and `git add` the result, then check again".into(),
        });
    }
    Ok(())
}

/// `sloop check --staged`: exactly what the index would commit, against HEAD. Parses only the
/// staged files; references resolve against HEAD's file names plus the staged changes.
pub fn staged(root: &Path) -> Result<Outcome, VerifyError> {
    let repo = Repo::open(root)?.ok_or_else(|| VerifyError::State {
        message: "`--staged` needs a git repository, and this CRM is not in one".into(),
        hint: "run `git init`, or use `sloop check` for the work tree".into(),
    })?;
    let head = repo.head()?;
    let changes = repo.staged_changes()?;
    refuse_conflicts(&changes)?;
    // The rules are the ones being committed.
    let config_bytes = match changes.iter().find(|c| c.path == config::FILE) {
        Some(Change {
            new: Some(blob), ..
        }) => Some(repo.blob(*blob)?),
        Some(Change { new: None, .. }) => None,
        None => match head {
            Some(h) => match repo.blob_at(h, config::FILE)? {
                Some(b) => Some(repo.blob(b)?),
                None => None,
            },
            None => None,
        },
    };
    let config_bytes = config_bytes.ok_or_else(|| LoadError::NoConfig("the index".into()))?;
    let (config, mut diagnostics) = store::parse_config(&config_bytes);
    let mut subset = Crm::empty(config.clone());
    let mut olds = Vec::new();
    let mut news = Vec::new();
    let mut added = HashSet::new();
    let mut removed = HashSet::new();
    // New paths (duplicate ids are checked for these) and deleted ones (a move is not one).
    let mut new_paths: Vec<(Kind, &str, &str)> = Vec::new();
    let mut deleted_paths: HashSet<&str> = HashSet::new();
    // The staged text of each record, for the source line of its diagnostics.
    let mut staged_text: HashMap<&str, Vec<u8>> = HashMap::new();
    for change in &changes {
        match store::classify(&change.path) {
            PathClass::Record(kind, id) => {
                match (&change.old, &change.new) {
                    (None, Some(_)) => new_paths.push((kind, id, &change.path)),
                    (Some(_), None) => {
                        deleted_paths.insert(&change.path);
                    }
                    _ => {}
                }
                if let Some(old) = &change.old {
                    olds.push((
                        change.path.clone(),
                        parse_blob(&repo, *old, kind, id, &change.path, &config)?,
                    ));
                    removed.insert((kind, id.to_string()));
                }
                if let (Some(new), true) = (&change.new, change.link) {
                    let text = repo.blob(*new)?;
                    let target: String = String::from_utf8_lossy(&text).chars().take(200).collect();
                    diagnostics.push(store::link_in_git_diagnostic(&change.path, &target));
                    added.insert((kind, id.to_string()));
                } else if let Some(new) = &change.new {
                    let bytes = repo.blob(*new)?;
                    let (record, diags) =
                        store::parse_bytes(kind, id, &change.path, &bytes, &config);
                    diagnostics.extend(diags);
                    staged_text.insert(change.path.as_str(), bytes);
                    if let Err(e) = crate::model::ids::validate(id) {
                        diagnostics.push(Diagnostic::new(
                            crate::diag::Code::InvalidId,
                            change.path.clone(),
                            crate::diag::Loc::default(),
                            format!("invalid id: {e}"),
                        ));
                    }
                    news.push((change.path.clone(), record.clone()));
                    subset.push(record);
                    added.insert((kind, id.to_string()));
                }
            }
            PathClass::Stray if change.new.is_some() => {
                diagnostics.push(store::stray_diagnostic(&change.path));
            }
            _ => {}
        }
    }
    // What the committed versions referred to was checked when they were committed: only a
    // reference the staged change adds needs a lookup (the fast path on large CRMs).
    let in_head: HashSet<(Kind, String)> = olds.iter().flat_map(|(_, r)| r.references()).collect();
    let resolver = GitResolver {
        repo: &repo,
        head,
        added,
        removed,
        in_head,
        shard: config.shard,
        listings: RefCell::new(HashMap::new()),
    };
    diagnostics.extend(check::check_some(&subset, &resolver));
    diagnostics.extend(staged_duplicates(&resolver, &new_paths, &deleted_paths));
    // An import that wrote files (not commits) marked them: their entry points and moves
    // are the export's, exactly as written (a file edited since is judged as ever).
    let marker = repo.import_marker();
    let staged_blobs: HashMap<&str, ObjectId> = changes
        .iter()
        .filter_map(|c| Some((c.path.as_str(), c.new?)))
        .collect();
    let mut used = false;
    for c in transition::pair(&olds, &news) {
        let pending = marker.as_ref().filter(|m| {
            m.files
                .get(c.path)
                .is_some_and(|id| staged_blobs.get(c.path) == Some(id))
        });
        used |= pending.is_some();
        diagnostics.extend(match pending {
            Some(m) => transition::judge_import(&config, &c, &m.source),
            None => transition::judge(&config, &c),
        });
    }
    // Every diagnostic quotes its line as the index holds it, as `sloop check` quotes the
    // work tree's.
    for d in diagnostics
        .iter_mut()
        .filter(|d| d.source_line.is_none() && d.line > 0)
    {
        if let Some(text) = staged_text.get(d.path.as_str()) {
            d.source_line = String::from_utf8_lossy(text)
                .lines()
                .nth(d.line as usize - 1)
                .map(str::to_string);
        }
    }
    let mut out = Outcome {
        diagnostics,
        records: news.len(),
        notes: Vec::new(),
    };
    if used {
        note_pending_import(&marker, &mut out);
    }
    Ok(out)
}

/// `duplicate-id` for each staged new path whose id another staged new path has, or a file
/// of HEAD the index keeps. HEAD is asked about the paths sloop writes records at first
/// (a few lookups), and its list of the kind's file names only when none has the id.
fn staged_duplicates(
    resolver: &GitResolver,
    new_paths: &[(Kind, &str, &str)],
    deleted_paths: &HashSet<&str>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut first: HashMap<(Kind, &str), &str> = HashMap::new();
    for &(kind, id, path) in new_paths {
        let other = match first.get(&(kind, id)) {
            Some(staged) => Some(staged.to_string()),
            None => {
                first.insert((kind, id), path);
                resolver.kept_in_head(kind, id, deleted_paths)
            }
        };
        if let Some(other) = other {
            out.push(
                Diagnostic::new(
                    crate::diag::Code::DuplicateId,
                    path,
                    crate::diag::Loc::default(),
                    format!("{} `{id}` is also defined in {other}", kind.with_article()),
                )
                .with_hint("ids are unique per kind, whatever the folder: rename one of the files"),
            );
        }
    }
    out
}

/// Resolves references for the staged check: a record exists if the index adds it, or if HEAD
/// has it and the index does not remove it. Looks up the usual path first and lists a kind's
/// folder only when the record is elsewhere (sharded folders, or a real dangling reference).
struct GitResolver<'a> {
    repo: &'a Repo,
    head: Option<ObjectId>,
    added: HashSet<(Kind, String)>,
    removed: HashSet<(Kind, String)>,
    /// Referred to by the HEAD versions of the staged records.
    in_head: HashSet<(Kind, String)>,
    shard: u8,
    /// Per kind, how many files of HEAD have each id (listed once, when first needed).
    listings: RefCell<HashMap<Kind, HashMap<String, usize>>>,
}

impl GitResolver<'_> {
    /// `f` over HEAD's ids of a kind, each with how many files have it.
    fn with_listing<T>(&self, kind: Kind, f: impl FnOnce(&HashMap<String, usize>) -> T) -> T {
        let Some(head) = self.head else {
            return f(&HashMap::new());
        };
        let mut listings = self.listings.borrow_mut();
        let ids = listings.entry(kind).or_insert_with(|| {
            let mut ids = HashMap::new();
            let names = self
                .repo
                .file_names_under(head, kind.folder())
                .unwrap_or_default();
            for name in names {
                if let Some(id) = name.strip_suffix(".toml") {
                    *ids.entry(id.to_string()).or_insert(0) += 1;
                }
            }
            ids
        });
        f(ids)
    }

    /// Where HEAD has a record `kind`/`id` that the index keeps (none of its files deleted
    /// in `deleted`), for a message: the path at one of the places sloop writes records, or
    /// "another file under `<folder>/`" when it is elsewhere.
    fn kept_in_head(&self, kind: Kind, id: &str, deleted: &HashSet<&str>) -> Option<String> {
        let head = self.head?;
        let mut seen = HashSet::new();
        for shard in std::iter::once(self.shard).chain(0..=8) {
            let path = store::record_path(kind, id, shard);
            if seen.insert(path.clone())
                && !deleted.contains(path.as_str())
                && matches!(self.repo.blob_at(head, &path), Ok(Some(_)))
            {
                return Some(path);
            }
        }
        let in_head = self.with_listing(kind, |ids| ids.get(id).copied().unwrap_or(0));
        let gone = deleted
            .iter()
            .filter(|p| store::classify(p) == PathClass::Record(kind, id))
            .count();
        (in_head > gone).then(|| format!("another file under {}/ in HEAD", kind.folder()))
    }
}

impl Resolver for GitResolver<'_> {
    fn exists(&self, kind: Kind, id: &str) -> bool {
        let key = (kind, id.to_string());
        if self.added.contains(&key) {
            return true;
        }
        if self.removed.contains(&key) {
            return false;
        }
        if self.in_head.contains(&key) {
            return true;
        }
        let Some(head) = self.head else { return false };
        let direct = store::record_path(kind, id, self.shard);
        if matches!(self.repo.blob_at(head, &direct), Ok(Some(_))) {
            return true;
        }
        self.with_listing(kind, |ids| ids.contains_key(id))
    }

    fn candidates(&self, kind: Kind) -> Vec<String> {
        let mut all: Vec<String> = self.with_listing(kind, |ids| ids.keys().cloned().collect());
        all.extend(
            self.added
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, id)| id.clone()),
        );
        all
    }
}

/// `sloop check --range A..B`: every commit of the range against its first parent (each
/// diagnostic names its commit), then the whole CRM at B.
pub fn range(root: &Path, spec: &str) -> Result<Outcome, VerifyError> {
    let repo = Repo::open(root)?.ok_or_else(|| VerifyError::State {
        message: "`--range` needs a git repository, and this CRM is not in one".into(),
        hint: "use `sloop check` for the work tree".into(),
    })?;
    let commits = repo.range(spec)?;
    let mut out = Outcome::default();
    if commits.is_empty() {
        out.notes.push(format!(
            "the range {spec} has no commits: only its end is checked"
        ));
    }
    let mut configs: HashMap<Option<ObjectId>, Config> = HashMap::new();
    for &commit in &commits {
        let parent = repo.first_parent(commit)?;
        let changes = repo.changes_between(parent, commit)?;
        if changes.is_empty() {
            continue;
        }
        let config_blob = repo.blob_at(commit, config::FILE)?;
        if let std::collections::hash_map::Entry::Vacant(slot) = configs.entry(config_blob) {
            slot.insert(match config_blob {
                Some(b) => store::parse_config(&repo.blob(b)?).0,
                None => Config::default(),
            });
        }
        let config = &configs[&config_blob];
        let (olds, news) = versions(&repo, &changes, config, |change, kind, id| {
            match &change.new {
                Some(new) => parse_blob(&repo, *new, kind, id, &change.path, config).map(Some),
                None => Ok(None),
            }
        })?;
        // An import commit (`Sloop-Import: <name>`) may add records in any stage or
        // status and move them as its export says.
        let message = repo.commit_message(commit)?;
        let import = transition::import_trailer(&message);
        for c in transition::pair(&olds, &news) {
            let mut found = match import {
                Some(source) => transition::judge_import(config, &c, source),
                None => transition::judge(config, &c),
            };
            found.extend(entered_without_requirements(config, &c));
            for mut d in found {
                d.commit = Some(commit.to_string());
                out.diagnostics.push(d);
            }
        }
    }
    let end = match spec.split_once("..") {
        Some((_, b)) if !b.is_empty() => b.to_string(),
        Some(_) => "HEAD".to_string(),
        None => spec.to_string(),
    };
    let end_id = match commits.last() {
        Some(last) => *last,
        None => repo.resolve(&end)?,
    };
    let _uncached = crate::git::Uncached::new();
    let tree = repo.tree_source(end_id)?;
    drop(repo);
    crate::git::release_freed_memory();
    let loaded = store::load(&tree)?;
    drop(tree);
    out.records = loaded.crm.len();
    out.diagnostics.extend(loaded.diagnostics);
    out.diagnostics.extend(check::check(&loaded.crm));
    out.notes.push(format!(
        "checked {} of {spec}, then the CRM at {}",
        crate::diag::count(commits.len(), "commit"),
        end_id.short()
    ));
    Ok(out)
}

/// Reminds that files an import wrote must be committed with its trailer.
fn note_pending_import(marker: &Option<crate::git::ImportMarker>, out: &mut Outcome) {
    if let Some(m) = marker {
        out.notes.push(format!(
            "files written by `sloop import crm --from {0}` are not committed yet: commit them with the trailer `{1}: {0}` in the message (`git commit -m \"Import from {0}\" -m \"{1}: {0}\"`), or `sloop check --range` will refuse their entry points",
            m.source,
            transition::IMPORT_TRAILER
        ));
    }
}

/// A record that entered a stage or status (or was created) in a commit without the fields
/// that stage requires: what the pre-commit hook would have refused.
fn entered_without_requirements(config: &Config, c: &RecordChange) -> Vec<Diagnostic> {
    let Some(new) = c.new else { return Vec::new() };
    let entered = match (c.old, new) {
        (None, _) => true,
        (Some(old), new) => old.state() != new.state(),
    };
    if !entered || new.meta().broken {
        return Vec::new();
    }
    let mut crm = Crm::empty(config.clone());
    crm.push(new.clone());
    check::requirements_of(&crm)
}
