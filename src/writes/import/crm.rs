//! `sloop import crm`: plans the history an export implies. Bytes were read into an
//! `Export` (vendor readers) and values mapped through a `Mapping`; this turns them into
//! records and their versions over time (a deal entering each stage on the day the export
//! says, an account becoming `working` when its first deal opens, `customer` when one is
//! won, `churn` on its churn date), groups the versions into one commit per day authored by
//! the owner of most of that day's changes, and checks every version with the rules `sloop
//! check` uses. Pure: the shell writes the commits (or the final files).
//!
//! Every record the import writes carries `custom.import_id = "<vendor>:<their id>"`: a
//! newer export of the same CRM updates those records (only what changed, as new commits),
//! and `sloop check` accepts an import commit's moves for them (see `check::modes`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::export::{
    Activity, ColumnUse, Deal, Export, FileRead, Origin, Outcome, Problem, Vendor,
};
use super::mapping::{Amount, FillValue, Mapping};
use super::values::{self, fold, Stamp};
use crate::check;
use crate::config::{Config, Outcome as StageOutcome};
use crate::crm::Crm;
use crate::model::{ids, AnyRecord, Kind};
use crate::store::edit::{render_new, FieldValue, RecordEdit};
use crate::store::{self, parse::parse_record};

/// The trailer an import commit carries: `Sloop-Import: hubspot`.
pub const TRAILER: &str = check::transition::IMPORT_TRAILER;

/// The `[custom]` key holding the export's id of a record.
pub const IMPORT_ID: &str = check::transition::IMPORT_ID;

/// One commit of the planned history.
#[derive(Debug, Clone)]
pub struct PlannedCommit {
    /// When, in the export's zone (`offset` seconds east of UTC).
    pub when: NaiveDateTime,
    pub offset: i32,
    /// The team member it is authored by, when the day's changes have an owner.
    pub author: Option<String>,
    /// CRM-relative paths and their whole new text.
    pub files: Vec<(String, String)>,
    pub message: String,
}

/// How many records of each kind the import creates and changes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub accounts: (usize, usize),
    pub contacts: (usize, usize),
    pub opportunities: (usize, usize),
    pub leads: (usize, usize),
    pub activities: (usize, usize),
}

#[derive(Debug, Default)]
pub struct Plan {
    pub commits: Vec<PlannedCommit>,
    /// What is wrong: nothing may be written while there is any (unless `skip_invalid`,
    /// which leaves those records out and lists them in `skipped`).
    pub problems: Vec<Problem>,
    pub skipped: Vec<Problem>,
    pub columns: Vec<ColumnUse>,
    pub read: Vec<FileRead>,
    /// Records (created, changed) per kind.
    pub counts: Counts,
    /// The day the export was taken.
    pub export_date: Option<NaiveDate>,
}

impl Plan {
    /// The last text of every path the commits write, by path.
    pub fn final_files(&self) -> Vec<(String, String)> {
        let mut last: BTreeMap<&str, &str> = BTreeMap::new();
        for c in &self.commits {
            for (p, t) in &c.files {
                last.insert(p, t);
            }
        }
        last.into_iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }
}

/// A record being planned: its id, path and versions.
#[derive(Debug, Clone)]
struct Draft {
    kind: Kind,
    /// Their key.
    key: String,
    id: String,
    path: String,
    origin: Origin,
    /// The text of the record already in the CRM, for an import that ran before.
    existing: Option<String>,
    versions: Vec<Version>,
    /// Records it cannot exist without (its account, contact, opportunity).
    needs: Vec<(Kind, String)>,
}

#[derive(Debug, Clone)]
struct Version {
    at: NaiveDateTime,
    author: Option<String>,
    /// Its fields, until it is rendered (then empty).
    fields: Vec<(String, FieldValue)>,
    /// Its text, once rendered (`prerender`): a new record's fields are final once it is
    /// planned (an activity) or once the accounts' statuses are (the others), and the text
    /// takes a fraction of their memory.
    text: Option<String>,
}

fn set(fields: &mut Vec<(String, FieldValue)>, k: &str, v: FieldValue) {
    match fields.iter_mut().find(|(f, _)| f == k) {
        Some(slot) => slot.1 = v,
        None => fields.push((k.to_string(), v)),
    }
}

fn unset(fields: &mut Vec<(String, FieldValue)>, k: &str) {
    fields.retain(|(f, _)| f != k);
}

fn get<'f>(fields: &'f [(String, FieldValue)], k: &str) -> Option<&'f FieldValue> {
    fields.iter().find(|(f, _)| f == k).map(|(_, v)| v)
}

fn text(v: &str) -> FieldValue {
    FieldValue::Str(v.to_string())
}

fn number(x: f64) -> FieldValue {
    let x = (x * 100.0).round() / 100.0;
    if x.fract() == 0.0 && x.abs() < 1e15 {
        FieldValue::Int(x as i64)
    } else {
        FieldValue::Float(x)
    }
}

fn fill_value(v: &FillValue) -> FieldValue {
    match v {
        FillValue::Text(s) => FieldValue::Str(s.clone()),
        FillValue::Int(i) => FieldValue::Int(*i),
        FillValue::Number(x) => FieldValue::Float(*x),
        FillValue::Bool(b) => FieldValue::Bool(*b),
        FillValue::Date(d) => FieldValue::Date(*d),
    }
}

/// Planning state: the CRM, the mapping and what has been decided so far.
struct Planner<'a> {
    crm: &'a Crm,
    config: &'a Config,
    mapping: &'a Mapping,
    vendor: Vendor,
    offset: i32,
    export_date: NaiveDate,
    export_end: NaiveDateTime,
    problems: Vec<Problem>,
    /// Ids taken, per kind (the CRM's and the plan's).
    taken: HashMap<Kind, HashSet<String>>,
    /// Existing records by import id: (kind, import id) → (id, path).
    imported: HashMap<(Kind, String), (String, String)>,
    /// Records planned, by (kind, their key).
    drafts: Vec<Draft>,
    /// (Per kind, so that a key is looked up without copying it.)
    by_key: HashMap<Kind, HashMap<String, usize>>,
    /// Records with a problem: their own key.
    bad: HashSet<(Kind, String)>,
    /// Told the name of each phase as it ends (`SLOOP_TRACE_IMPORT`).
    phase: &'a (dyn Fn(&str) + Sync),
}

impl Planner<'_> {
    fn at(&self, s: Stamp) -> NaiveDateTime {
        s.local(self.offset)
    }

    fn problem(
        &mut self,
        kind: Kind,
        key: &str,
        at: &Origin,
        message: String,
        hint: Option<String>,
    ) {
        let mut p = Problem::new(at.clone(), message);
        p.hint = hint;
        self.problems.push(p);
        self.bad.insert((kind, key.to_string()));
    }

    fn import_id(&self, key: &str) -> String {
        format!("{}:{key}", self.vendor.name())
    }

    /// The team member an owner cell names: through `[owners]`, else by id, email or name.
    /// `Err` with the message when it names nobody.
    fn owner(&self, raw: Option<&str>) -> Result<Option<String>, (String, String)> {
        let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
            return Ok(None);
        };
        if let Some(e) = self.mapping.owner(raw) {
            return if e.ours.is_empty() {
                Err((
                    format!("owner `{raw}` is not mapped to a team member"),
                    format!("give it a member in [owners] of {}", self.mapping_name()),
                ))
            } else {
                Ok(Some(e.ours.clone()))
            };
        }
        match values::member(self.config, raw) {
            Some((m, _)) => Ok(Some(m.id.to_string())),
            None => Err((
                format!("owner `{raw}` is not a team member"),
                format!(
                    "map it in [owners] of {} (`\"{raw}\" = \"member-id\"`), or add the member to sloop.toml",
                    self.mapping_name()
                ),
            )),
        }
    }

    fn mapping_name(&self) -> String {
        if self.mapping.path.is_empty() {
            "a mapping file (--map FILE.toml; `--init-map` writes one)".into()
        } else {
            self.mapping.path.clone()
        }
    }

    /// A source through `[sources]`, or as is when it is one of sloop.toml's.
    fn source(&self, raw: &str) -> Result<Option<String>, (String, String)> {
        if let Some(e) = self.mapping.source(raw) {
            return Ok((!e.ours.is_empty()).then(|| e.ours.clone()));
        }
        let sources = &self.config.values.sources;
        let own = fold(raw).replace(' ', "_");
        if sources.is_empty() || sources.contains(&own) {
            return Ok(Some(own));
        }
        Err((
            format!("source `{raw}` is not one of sloop.toml's sources"),
            format!("map it in [sources] of {}", self.mapping_name()),
        ))
    }

    fn new_id(&mut self, kind: Kind, base: &str) -> String {
        let base = if base.is_empty() {
            kind.as_str().to_string()
        } else {
            base.to_string()
        };
        let taken = self.taken.entry(kind).or_default();
        let id = ids::first_free(&base, |c| taken.contains(c));
        taken.insert(id.clone());
        id
    }

    /// The id and path of a record: the one an earlier import gave it, or a new one.
    fn place(
        &mut self,
        kind: Kind,
        key: &str,
        base: &str,
        date: Option<NaiveDate>,
    ) -> (String, String, Option<String>) {
        let imported = self.imported.get(&(kind, self.import_id(key))).cloned();
        self.placed(kind, imported, &ids::slugify(base), date)
    }

    /// `place` once the record's earlier import (if any) was looked up and its id's slug
    /// made (the activities do both on every core): the earlier import's id and path, or a
    /// new id, given out here in the export's order.
    fn placed(
        &mut self,
        kind: Kind,
        imported: Option<(String, String)>,
        slug: &str,
        date: Option<NaiveDate>,
    ) -> (String, String, Option<String>) {
        if let Some((id, path)) = imported {
            return (id, path, Some(String::new()));
        }
        let id = self.new_id(kind, slug);
        let path = match (kind, date) {
            (Kind::Activity, Some(d)) => store::activity_path(&id, d),
            _ => store::record_path(kind, &id, self.config.shard),
        };
        (id, path, None)
    }

    fn push(&mut self, key: &str, mut draft: Draft) {
        draft.key = key.to_string();
        self.by_key
            .entry(draft.kind)
            .or_default()
            .insert(key.to_string(), self.drafts.len());
        self.drafts.push(draft);
    }

    fn draft(&self, kind: Kind, key: &str) -> Option<&Draft> {
        self.index(kind, key).map(|i| &self.drafts[i])
    }

    /// Where the draft of (kind, their key) is in `drafts`.
    fn index(&self, kind: Kind, key: &str) -> Option<usize> {
        self.by_key.get(&kind)?.get(key).copied()
    }
}

/// Plans the import of `export` into `crm`. `existing` gives the text of a record file
/// already in the CRM (for a re-run's edits, which keep what people wrote).
///
/// With `skip_invalid`, a plan with problems is made again without the records that have
/// them (and what depends on them), from the export `again` reads anew: the export is not
/// kept while a plan is made from it (on a big one, it and the plan's records would not
/// both fit in the memory one plan takes). `again`'s `Err` is a problem of its own (the
/// files changed since they were first read).
///
/// `phase` is told the name of each phase as it ends: `drafts` (every record's versions),
/// `versions` (each rendered and checked), `whole-crm` (the rules across records), `commits`.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    crm: &mut Crm,
    export: Export,
    again: &mut dyn FnMut() -> Result<Export, Problem>,
    mapping: &Mapping,
    vendor: Vendor,
    skip_invalid: bool,
    existing: &dyn Fn(&str) -> Option<String>,
    phase: &(dyn Fn(&str) + Sync),
) -> Plan {
    let mut skipped: Vec<Problem> = Vec::new();
    let mut excluded: HashSet<(Kind, String)> = HashSet::new();
    // With --skip-invalid, plan again without the records that had a problem (and what
    // depends on them) until nothing is wrong (five times at most). Each plan drops its
    // export once its drafts are made: their records are in them (memory, on a big one).
    let mut export = Some(export);
    let mut attempt = 0;
    loop {
        let last_try = !skip_invalid || attempt == 4;
        let export = match export.take() {
            Some(e) => e,
            None => match again() {
                Ok(e) => e,
                Err(problem) => {
                    return Plan {
                        problems: vec![problem],
                        skipped,
                        ..Plan::default()
                    }
                }
            },
        };
        let mut export = export;
        let p = plan_once(crm, &mut export, mapping, vendor, &excluded, phase);
        let read = (export.columns.clone(), export.files.clone());
        drop(export);
        let rendered = render_plan(p, read, existing);
        let (mut plan, bad) = check_plan(rendered, crm, phase);
        if last_try || plan.problems.is_empty() {
            plan.skipped = skipped;
            return plan;
        }
        skipped.append(&mut plan.problems);
        excluded.extend(bad);
        attempt += 1;
    }
}

/// The drafts of every record the export implies, in a planner. The export's people,
/// deals and activities are taken out of it as they are planned (memory: on a big export
/// they and the drafts would otherwise be held at once); its companies, columns and files
/// stay.
fn plan_once<'a>(
    crm: &'a Crm,
    export: &mut Export,
    mapping: &'a Mapping,
    vendor: Vendor,
    excluded: &HashSet<(Kind, String)>,
    phase: &'a (dyn Fn(&str) + Sync),
) -> Planner<'a> {
    let offset = mapping.utc_offset;
    let export_end = mapping
        .export_date
        .map(|d| d.and_hms_opt(23, 59, 0).unwrap_or_default())
        .or_else(|| export.latest(offset))
        .unwrap_or_default();
    let mut p = Planner {
        crm,
        config: &crm.config,
        mapping,
        vendor,
        offset,
        export_date: export_end.date(),
        export_end,
        problems: Vec::new(),
        taken: HashMap::new(),
        imported: HashMap::new(),
        drafts: Vec::new(),
        by_key: HashMap::new(),
        bad: HashSet::new(),
        phase,
    };
    for kind in Kind::ALL {
        let set: HashSet<String> = crm
            .ids(kind)
            .into_iter()
            .map(|(_, id)| id.to_string())
            .collect();
        p.taken.insert(kind, set);
    }
    let mut index = |kind: Kind, meta: &crate::model::Meta, custom: &crate::model::Custom| {
        if let Some(toml::Value::String(iid)) = custom.as_ref().and_then(|c| c.get(IMPORT_ID)) {
            p.imported
                .insert((kind, iid.clone()), (meta.id.clone(), meta.path.clone()));
        }
    };
    for r in &crm.accounts {
        index(Kind::Account, &r.meta, &r.custom);
    }
    for r in &crm.contacts {
        index(Kind::Contact, &r.meta, &r.custom);
    }
    for r in &crm.opportunities {
        index(Kind::Opportunity, &r.meta, &r.custom);
    }
    for r in &crm.leads {
        index(Kind::Lead, &r.meta, &r.custom);
    }
    for r in &crm.activities {
        index(Kind::Activity, &r.meta, &r.custom);
    }
    // A problem the reader found in a row belongs to the record of that row.
    let mut owners: HashMap<&Origin, (Kind, String)> = HashMap::new();
    for c in &export.companies {
        owners.insert(&c.origin, (Kind::Account, c.key.clone()));
    }
    for x in &export.people {
        let kind = if x.company.is_some() {
            Kind::Contact
        } else {
            Kind::Lead
        };
        owners.insert(&x.origin, (kind, x.key.clone()));
    }
    for d in &export.deals {
        owners.insert(&d.origin, (Kind::Opportunity, d.key.clone()));
    }
    for a in &export.activities {
        let key = if a.key.is_empty() {
            format!("{}:{}", a.origin.file, a.origin.line)
        } else {
            a.key.clone()
        };
        owners.insert(&a.origin, (Kind::Activity, key));
    }
    for problem in &export.problems {
        match owners.get(&problem.at) {
            Some(k) if excluded.contains(k) => {}
            Some(k) => {
                p.problems.push(problem.clone());
                p.bad.insert(k.clone());
            }
            None => p.problems.push(problem.clone()),
        }
    }
    drop(owners);
    accounts(&mut p, export, excluded);
    people(&mut p, export, excluded);
    deals(&mut p, export, excluded);
    statuses(&mut p, export);
    // The people and deals are in their drafts now.
    export.people = Vec::new();
    export.deals = Vec::new();
    // Accounts, people and deals are final: their texts take less memory than their fields
    // while the activities are planned.
    prerender(&mut p.drafts);
    activities(&mut p, std::mem::take(&mut export.activities), excluded);
    notes(&mut p, export, excluded);
    // A record exists from before anything that needs it.
    pull_creations(&mut p);
    (p.phase)("drafts");
    p
}

/// A plan whose versions are rendered and checked one by one, not yet against the whole
/// CRM: owned, so that the CRM the planner read can be borrowed again to check it.
struct Rendering {
    plan: Plan,
    rendered: Vec<Rendered>,
    imported: Crm,
    vendor: Vendor,
    offset: i32,
    problems: Vec<Problem>,
    bad: HashSet<(Kind, String)>,
}

/// A planner's drafts rendered and each checked. `read`: the export's columns and files.
fn render_plan(
    mut p: Planner,
    read: (Vec<ColumnUse>, Vec<FileRead>),
    existing: &dyn Fn(&str) -> Option<String>,
) -> Rendering {
    let mut plan = Plan {
        columns: read.0,
        read: read.1,
        export_date: Some(p.export_date),
        ..Plan::default()
    };
    let drafts = std::mem::take(&mut p.drafts);
    // The ids taken and the drafts' keys served the drafts only (memory: one string per
    // record each).
    p.taken = HashMap::new();
    p.by_key = HashMap::new();
    let (rendered, imported) = finish(&mut p, drafts, existing, &mut plan.counts);
    Rendering {
        plan,
        rendered,
        imported,
        vendor: p.vendor,
        offset: p.offset,
        problems: std::mem::take(&mut p.problems),
        bad: std::mem::take(&mut p.bad),
    }
}

/// The plan of rendered drafts: checked against the whole-CRM rules with `crm` (the CRM
/// the planner read), grouped into commits; and the records with a problem.
fn check_plan(
    r: Rendering,
    crm: &mut Crm,
    phase: &dyn Fn(&str),
) -> (Plan, HashSet<(Kind, String)>) {
    let Rendering {
        mut plan,
        rendered,
        imported,
        vendor,
        offset,
        mut problems,
        mut bad,
    } = r;
    let errors = whole_crm_errors(crm, &rendered, imported);
    // (Looked up by path only when there is an error: on a big import, a map of every
    // record's path is memory at the peak.)
    if !errors.is_empty() {
        let by_path: HashMap<&str, &Rendered> =
            rendered.iter().map(|r| (r.path.as_str(), r)).collect();
        for d in errors {
            if let Some(r) = by_path.get(d.path.as_str()) {
                let msg = format!("{} would not be valid: {}", r.path, d.message);
                problems.push(Problem::new(r.origin.clone(), msg));
                bad.insert((r.kind, r.key.clone()));
            }
        }
    }
    phase("whole-crm");
    plan.commits = commits(vendor, offset, rendered);
    phase("commits");
    plan.problems = problems;
    (plan, bad)
}

/// The error diagnostics of the whole-CRM rules (references, members, uniqueness) on the
/// CRM after the import: `crm`'s records the import does not replace, in their order, then
/// the import's last versions (`imported`). Checked in place: the replaced records are taken
/// out of `crm`'s lists and the import's appended, then `crm` is put back as it was. (A copy
/// of the CRM with the import in it was most of the memory of an import into a large CRM:
/// 653 MiB for 28,500 records into the benchmark's 340,000, where the CRM loads in 360.)
fn whole_crm_errors(
    crm: &mut Crm,
    rendered: &[Rendered],
    imported: Crm,
) -> Vec<crate::diag::Diagnostic> {
    let replaced: HashSet<&str> = rendered
        .iter()
        .filter(|r| !r.versions.is_empty())
        .map(|r| r.path.as_str())
        .collect();
    let a = Aside::of(&mut crm.accounts, &replaced, imported.accounts);
    let c = Aside::of(&mut crm.contacts, &replaced, imported.contacts);
    let o = Aside::of(&mut crm.opportunities, &replaced, imported.opportunities);
    let l = Aside::of(&mut crm.leads, &replaced, imported.leads);
    let x = Aside::of(&mut crm.activities, &replaced, imported.activities);
    let errors = check::check(crm)
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    a.restore(&mut crm.accounts);
    c.restore(&mut crm.contacts);
    o.restore(&mut crm.opportunities);
    l.restore(&mut crm.leads);
    x.restore(&mut crm.activities);
    errors
}

/// One kind's records set aside while the CRM holds the import's in their place: those the
/// import replaces, with where they were, and how many of the import's were appended.
struct Aside<T> {
    replaced: Vec<(usize, T)>,
    appended: usize,
}

impl<T: crate::model::OfKind> Aside<T> {
    /// Takes the records whose path is in `replaced` out of `list` (the others keep their
    /// order) and appends `imported`.
    fn of(list: &mut Vec<T>, replaced: &HashSet<&str>, mut imported: Vec<T>) -> Self {
        let mut out = Vec::new();
        if list
            .iter()
            .any(|r| replaced.contains(r.meta().path.as_str()))
        {
            let all = std::mem::take(list);
            list.reserve(all.len() + imported.len());
            for (i, r) in all.into_iter().enumerate() {
                if replaced.contains(r.meta().path.as_str()) {
                    out.push((i, r));
                } else {
                    list.push(r);
                }
            }
        }
        let appended = imported.len();
        list.append(&mut imported);
        Aside {
            replaced: out,
            appended,
        }
    }

    /// Drops the appended records and puts the replaced ones back where they were.
    fn restore(self, list: &mut Vec<T>) {
        list.truncate(list.len() - self.appended);
        if self.replaced.is_empty() {
            return;
        }
        let kept = std::mem::take(list);
        list.reserve(kept.len() + self.replaced.len());
        let mut kept = kept.into_iter();
        for (i, r) in self.replaced {
            while list.len() < i {
                match kept.next() {
                    Some(k) => list.push(k),
                    None => break,
                }
            }
            list.push(r);
        }
        list.extend(kept);
    }
}

fn accounts(p: &mut Planner, export: &Export, excluded: &HashSet<(Kind, String)>) {
    let mut domains: HashMap<String, Origin> = HashMap::new();
    let existing_domains: HashMap<String, (&str, Option<&str>)> = p
        .crm
        .accounts
        .iter()
        .filter_map(|a| {
            let iid = a
                .custom
                .as_ref()
                .and_then(|c| c.get(IMPORT_ID))
                .and_then(|v| v.as_str());
            Some((a.domain.clone()?, (a.meta.id.as_str(), iid)))
        })
        .collect();
    for c in &export.companies {
        if excluded.contains(&(Kind::Account, c.key.clone()))
            || p.bad.contains(&(Kind::Account, c.key.clone()))
        {
            continue;
        }
        let at = &c.origin;
        if c.key.is_empty() || c.name.trim().is_empty() {
            p.problem(
                Kind::Account,
                &c.key,
                at,
                if c.key.is_empty() {
                    "a company without its id".into()
                } else {
                    "a company without a name".into()
                },
                Some("every company needs its id and name columns".into()),
            );
            continue;
        }
        let mut f: Vec<(String, FieldValue)> = vec![("name".into(), text(c.name.trim()))];
        if let Some(d) = &c.domain {
            if let Some(first) = domains.get(d) {
                let msg = format!("`{d}` is also the domain of the company at {first}");
                p.problem(Kind::Account, &c.key, at, msg, Some("an account's domain is unique: merge the two companies, or clear one domain".into()));
                continue;
            }
            domains.insert(d.clone(), at.clone());
            if let Some((id, iid)) = existing_domains.get(d) {
                if *iid != Some(p.import_id(&c.key).as_str()) {
                    let msg = format!("`{d}` is already the domain of accounts/{id}, which this export did not create");
                    p.problem(Kind::Account, &c.key, at, msg, Some(format!("to update accounts/{id} from the export, add `import_id = \"{}\"` to its [custom] table", p.import_id(&c.key))));
                    continue;
                }
            }
            set(&mut f, "domain", text(d));
        }
        match p.owner(c.owner.as_deref()) {
            Ok(Some(o)) => set(&mut f, "owner", text(&o)),
            Ok(None) => {}
            Err((m, h)) => {
                p.problem(Kind::Account, &c.key, at, m, Some(h));
                continue;
            }
        }
        if let Some(ind) = c.industry.as_deref() {
            let allowed = &p.config.values.industries;
            if allowed.is_empty() || allowed.iter().any(|i| i == ind) {
                set(&mut f, "industry", text(ind));
            } else {
                set(&mut f, "custom.industry", text(ind));
            }
        }
        if let Some(e) = c.employees.as_deref() {
            match values::count(e, false) {
                Some(n) => set(
                    &mut f,
                    "employees",
                    FieldValue::Int(i64::try_from(n).unwrap_or(i64::MAX)),
                ),
                None => set(&mut f, "custom.employees", text(e)),
            }
        }
        if let Some(r) = c.revenue.as_deref() {
            match values::number(r, false) {
                Some(x) if x >= 0.0 => set(&mut f, "revenue", number(x)),
                _ => set(&mut f, "custom.revenue", text(r)),
            }
        }
        if let Some(raw) = c.country.as_deref() {
            match values::country(raw) {
                Some(code) => set(&mut f, "country", text(code)),
                None => set(&mut f, "custom.country", text(raw)),
            }
        }
        if let Some(l) = &c.linkedin {
            set(&mut f, "linkedin", text(l));
        }
        if let Some(s) = c.source.as_deref() {
            match p.source(s) {
                Ok(Some(s)) => set(&mut f, "source", text(&s)),
                Ok(None) => {}
                Err((m, h)) => {
                    p.problem(Kind::Account, &c.key, at, m, Some(h));
                    continue;
                }
            }
        }
        if !c.tools.is_empty() {
            set(&mut f, "tools", FieldValue::Strings(c.tools.clone()));
        }
        for (k, v) in &c.custom {
            set(&mut f, &format!("custom.{k}"), text(v));
        }
        set(
            &mut f,
            &format!("custom.{IMPORT_ID}"),
            text(&p.import_id(&c.key)),
        );
        let created = c.created.map(|s| p.at(s)).unwrap_or(p.export_end);
        let (id, path, existing) = p.place(Kind::Account, &c.key, &c.name, None);
        let owner = match get(&f, "owner") {
            Some(FieldValue::Str(o)) => Some(o.clone()),
            _ => None,
        };
        p.push(
            &c.key,
            Draft {
                kind: Kind::Account,
                key: String::new(),
                id,
                path,
                origin: at.clone(),
                existing,
                versions: vec![Version {
                    at: created,
                    author: owner,
                    fields: f,
                    text: None,
                }],
                needs: Vec::new(),
            },
        );
    }
}

fn people(p: &mut Planner, export: &Export, excluded: &HashSet<(Kind, String)>) {
    let mut emails: HashMap<String, Origin> = HashMap::new();
    let existing_emails: HashMap<String, (&str, Option<&str>)> = p
        .crm
        .contacts
        .iter()
        .filter_map(|c| {
            let iid = c
                .custom
                .as_ref()
                .and_then(|x| x.get(IMPORT_ID))
                .and_then(|v| v.as_str());
            Some((c.email.clone()?.to_lowercase(), (c.meta.id.as_str(), iid)))
        })
        .collect();
    // Contacts' keys → ids, for `reports_to`.
    let mut ids: HashMap<String, String> = HashMap::new();
    for person in &export.people {
        let kind = if person.company.is_some() {
            Kind::Contact
        } else {
            Kind::Lead
        };
        if excluded.contains(&(kind, person.key.clone()))
            || p.bad.contains(&(kind, person.key.clone()))
        {
            continue;
        }
        let at = &person.origin;
        if person.key.is_empty() || person.name.trim().is_empty() {
            p.problem(
                kind,
                &person.key,
                at,
                "a person without an id or a name".into(),
                Some("every person needs its id and name columns".into()),
            );
            continue;
        }
        let mut f: Vec<(String, FieldValue)> = vec![("name".into(), text(person.name.trim()))];
        let account = match &person.company {
            Some(key) => match p.draft(Kind::Account, key) {
                Some(a) => Some(a.id.clone()),
                None => {
                    let why = if p.bad.contains(&(Kind::Account, key.clone()))
                        || excluded.contains(&(Kind::Account, key.clone()))
                    {
                        "which has a problem of its own"
                    } else {
                        "which is not in the export"
                    };
                    let msg = format!(
                        "the person's company `{}` is a company {why}",
                        key.trim_start_matches('\u{0}')
                    );
                    p.problem(
                        kind,
                        &person.key,
                        at,
                        msg,
                        Some("export the companies with the people, or fix the company".into()),
                    );
                    continue;
                }
            },
            None => None,
        };
        if let Some(a) = &account {
            set(&mut f, "account", text(a));
        }
        if let Some(raw) = &person.email {
            let Some(email) = values::email(raw) else {
                p.problem(
                    kind,
                    &person.key,
                    at,
                    format!("`{raw}` is not an email address"),
                    None,
                );
                continue;
            };
            if let Some(first) = emails.get(&email) {
                let msg = format!("`{email}` is also the email of the person at {first}");
                p.problem(
                    kind,
                    &person.key,
                    at,
                    msg,
                    Some("a contact's email is unique: merge the two people".into()),
                );
                continue;
            }
            emails.insert(email.clone(), at.clone());
            if let Some((id, iid)) = existing_emails.get(&email) {
                if *iid != Some(p.import_id(&person.key).as_str()) {
                    let msg = format!("`{email}` is already the email of contacts/{id}, which this export did not create");
                    p.problem(kind, &person.key, at, msg, Some(format!("to update contacts/{id} from the export, add `import_id = \"{}\"` to its [custom] table", p.import_id(&person.key))));
                    continue;
                }
            }
            set(&mut f, "email", text(&email));
        }
        if let Some(t) = &person.title {
            set(&mut f, "title", text(t));
        }
        if let Some(ph) = &person.phone {
            set(&mut f, "phone", text(ph));
        }
        let mut author = None;
        if kind == Kind::Contact {
            if let Some(l) = &person.linkedin {
                set(&mut f, "linkedin", text(l));
            }
        } else {
            match p.owner(person.owner.as_deref()) {
                Ok(Some(o)) => {
                    set(&mut f, "owner", text(&o));
                    author = Some(o);
                }
                Ok(None) => {}
                Err((m, h)) => {
                    p.problem(kind, &person.key, at, m, Some(h));
                    continue;
                }
            }
            if let Some(s) = person.source.as_deref() {
                match p.source(s) {
                    Ok(Some(s)) => set(&mut f, "source", text(&s)),
                    Ok(None) => {}
                    Err((m, h)) => {
                        p.problem(kind, &person.key, at, m, Some(h));
                        continue;
                    }
                }
            }
            set(&mut f, "status", text("new"));
            if let Some(c) = person.created {
                set(&mut f, "created", FieldValue::Date(p.at(c).date()));
            }
        }
        for (k, v) in &person.custom {
            set(&mut f, &format!("custom.{k}"), text(v));
        }
        set(
            &mut f,
            &format!("custom.{IMPORT_ID}"),
            text(&p.import_id(&person.key)),
        );
        let created = person.created.map(|s| p.at(s)).unwrap_or(p.export_end);
        let (id, path, existing) = p.place(kind, &person.key, &person.name, None);
        ids.insert(person.key.clone(), id.clone());
        let needs = account.iter().map(|a| (Kind::Account, a.clone())).collect();
        let owner_of_account = person
            .company
            .as_ref()
            .and_then(|k| p.draft(Kind::Account, k))
            .and_then(|a| a.versions[0].author.clone());
        p.push(
            &person.key,
            Draft {
                kind,
                key: String::new(),
                id,
                path,
                origin: at.clone(),
                existing,
                versions: vec![Version {
                    at: created,
                    author: author.or(owner_of_account),
                    fields: f,
                    text: None,
                }],
                needs,
            },
        );
    }
    // Whom each contact reports to, once every contact has its id.
    for person in &export.people {
        let Some(boss) = &person.reports_to else {
            continue;
        };
        let Some(i) = p.index(Kind::Contact, &person.key) else {
            continue;
        };
        match ids.get(boss) {
            Some(b) if p.index(Kind::Contact, boss).is_some() => {
                let b = b.clone();
                set(&mut p.drafts[i].versions[0].fields, "reports_to", text(&b));
                p.drafts[i].needs.push((Kind::Contact, b));
            }
            _ => {
                let msg =
                    format!("the person reports to `{boss}`, who is not a contact in the export");
                p.problem(Kind::Contact, &person.key, &person.origin, msg, None);
            }
        }
    }
}

/// A stage change of the export, its stage mapped: (when, our stage, amount, close date).
type Mapped = (Stamp, Option<String>, Option<String>, Option<Stamp>);

/// A version of a day, for the day's commit: when, by whom, path, text, kind, creation.
/// One version of a record on a day: when, who, its path (shared), its text, kind, and
/// whether it creates the record.
type DayVersion = (
    NaiveDateTime,
    Option<String>,
    std::rc::Rc<str>,
    String,
    Kind,
    bool,
);

/// A deal's stage over time: (when, our stage, mrr, close date), oldest first.
type Steps = Vec<(NaiveDateTime, String, Option<f64>, Option<NaiveDate>)>;

fn deals(p: &mut Planner, export: &Export, excluded: &HashSet<(Kind, String)>) {
    let config = p.config;
    let person_at: HashMap<&str, usize> = export
        .people
        .iter()
        .enumerate()
        .map(|(i, x)| (x.key.as_str(), i))
        .collect();
    let company_at: HashMap<&str, usize> = export
        .companies
        .iter()
        .enumerate()
        .map(|(i, c)| (c.key.as_str(), i))
        .collect();
    let initial = p
        .mapping
        .initial_stage
        .clone()
        .or_else(|| {
            config
                .stages
                .iter()
                .find(|s| s.entry)
                .map(|s| s.name.clone())
        })
        .unwrap_or_default();
    let outcome_stage = |o: StageOutcome| {
        config
            .stages
            .iter()
            .find(|s| s.outcome == Some(o))
            .map(|s| s.name.clone())
    };
    for d in &export.deals {
        if excluded.contains(&(Kind::Opportunity, d.key.clone()))
            || p.bad.contains(&(Kind::Opportunity, d.key.clone()))
        {
            continue;
        }
        let at = &d.origin;
        let fail = |p: &mut Planner, m: String, h: Option<String>| {
            p.problem(Kind::Opportunity, &d.key, at, m, h)
        };
        if d.key.is_empty() || d.name.trim().is_empty() {
            fail(
                p,
                "a deal without an id or a name".into(),
                Some("every deal needs its id and name columns".into()),
            );
            continue;
        }
        let account = match &d.company {
            Some(key) => match p.draft(Kind::Account, key) {
                Some(a) => a.id.clone(),
                None => {
                    let why = if p.bad.contains(&(Kind::Account, key.clone()))
                        || excluded.contains(&(Kind::Account, key.clone()))
                    {
                        "which has a problem of its own"
                    } else {
                        "which is not in the export"
                    };
                    let msg = format!(
                        "the deal's company `{}` is a company {why}",
                        key.trim_start_matches('\u{0}')
                    );
                    fail(
                        p,
                        msg,
                        Some("export the companies with the deals, or fix the company".into()),
                    );
                    continue;
                }
            },
            None => {
                fail(
                    p,
                    "the deal is on no company".into(),
                    Some("every opportunity is on an account: give the deal its company".into()),
                );
                continue;
            }
        };
        let owner = match p.owner(d.owner.as_deref()) {
            Ok(Some(o)) => o,
            Ok(None) => {
                fail(
                    p,
                    "the deal has no owner".into(),
                    Some("every opportunity has an owner: give the deal one in the export".into()),
                );
                continue;
            }
            Err((m, h)) => {
                fail(p, m, Some(h));
                continue;
            }
        };
        // Their stages to ours.
        let mut unmapped: Option<String> = None;
        let mut ours = |theirs: &str| -> Option<String> {
            match p.mapping.stage(theirs) {
                Some(e) if !e.ours.is_empty() => Some(e.ours.clone()),
                _ => {
                    if let Some(s) = config.stage(&fold(theirs).replace(' ', "_")) {
                        return Some(s.name.clone());
                    }
                    unmapped.get_or_insert(theirs.to_string());
                    None
                }
            }
        };
        let current = d.stage.as_deref().and_then(&mut ours);
        let history: Vec<Mapped> = d
            .history
            .iter()
            .map(|h| (h.at, ours(&h.stage), h.amount.clone(), h.close))
            .collect();
        if let Some(s) = unmapped {
            fail(
                p,
                format!("stage `{s}` is not mapped to a stage of sloop.toml"),
                Some(format!("add it to [stages] of {}", p.mapping_name())),
            );
            continue;
        }
        // Won or lost: the vendor's own flag, else the outcome of the stage it maps to.
        let outcome: Option<(StageOutcome, Option<Stamp>)> = match d.outcome {
            Some((Outcome::Won, at)) => Some((StageOutcome::Won, at)),
            Some((Outcome::Lost, at)) => Some((StageOutcome::Lost, at)),
            None => current.as_deref().and_then(|s| config.outcome(s)).map(|o| {
                let entered = history
                    .iter()
                    .rev()
                    .find(|h| h.1.as_deref().and_then(|s| config.outcome(s)) == Some(o))
                    .map(|h| h.0);
                (o, entered.or(d.close))
            }),
        };
        // Money.
        let mrr_of = |p: &mut Planner,
                      raw: Option<&str>|
         -> Result<Option<f64>, (String, String)> {
            let Some(raw) = raw else { return Ok(None) };
            let Some(m) = values::money(raw, false) else {
                return Err((
                    format!("`{raw}` is not an amount"),
                    "write it as a number (`1200`, `€1,200`)".into(),
                ));
            };
            let currency = d
                .currency
                .clone()
                .or(m.currency)
                .unwrap_or_else(|| config.currency.clone());
            let rate = if currency.eq_ignore_ascii_case(&config.currency) {
                1.0
            } else {
                match p.mapping.rate(&currency) {
                    Some(r) => r,
                    None => {
                        return Err((
                            format!("the amount is in {currency} and sloop.toml's currency is {}", config.currency),
                            format!("give the rate in [rates] of {}: `{currency} = …` (one {currency} in {})", p.mapping_name(), config.currency),
                        ))
                    }
                }
            };
            let per_month = match p.mapping.amount.unwrap_or(Amount::Monthly) {
                Amount::Monthly => 1.0,
                Amount::Annual => 12.0,
            };
            Ok(Some(m.amount * rate / per_month))
        };
        let mrr = match mrr_of(p, d.amount.as_deref()) {
            Ok(m) => m,
            Err((m, h)) => {
                fail(p, m, Some(h));
                continue;
            }
        };
        let created = d
            .created
            .or(history.first().map(|h| h.0))
            .map(|s| p.at(s))
            .unwrap_or(p.export_end);
        let close = d.close.map(|s| p.at(s).date());
        // The stages over time.
        let mut steps: Steps = Vec::new();
        let mut bad_amount = None;
        for (when, stage, amount, close_then) in &history {
            let Some(stage) = stage else { continue };
            let m = match mrr_of(p, amount.as_deref()) {
                Ok(m) => m.or(mrr),
                Err(e) => {
                    bad_amount = Some(e);
                    break;
                }
            };
            steps.push((
                p.at(*when),
                stage.clone(),
                m,
                close_then.map(|c| p.at(c).date()).or(close),
            ));
        }
        if let Some((m, h)) = bad_amount {
            fail(p, m, Some(h));
            continue;
        }
        let closed = outcome.and_then(|(o, when)| {
            let stage = outcome_stage(o)?;
            let when = when
                .map(|w| p.at(w))
                .or(close.map(|c| c.and_hms_opt(12, 0, 0).unwrap_or_default()))?;
            Some((stage, when))
        });
        if outcome.is_some() && closed.is_none() {
            fail(
                p,
                "the deal is closed but the export gives no date for it".into(),
                Some("a closed deal needs its close date".into()),
            );
            continue;
        }
        if steps.is_empty() {
            // No stage history: it starts in its current stage (an open deal whose stage
            // changed after it was created starts in the mapping's initial stage), or in
            // the stage it was closed from (Pipedrive keeps it), or the initial one.
            let here = current.clone().filter(|s| config.outcome(s).is_none());
            let moved = d
                .last_stage_change
                .map(|s| p.at(s))
                .filter(|t| t.date() > created.date());
            match (&here, moved) {
                (Some(h), Some(t)) if *h != initial => {
                    steps.push((created, initial.clone(), mrr, close));
                    steps.push((t, h.clone(), mrr, close));
                }
                (Some(h), _) => steps.push((created, h.clone(), mrr, close)),
                (None, _) => steps.push((created, initial.clone(), mrr, close)),
            }
        } else if steps[0].0 > created {
            steps[0].0 = created;
        }
        if let Some((stage, when)) = &closed {
            if steps.last().map(|s| &s.1) != Some(stage) {
                let last_mrr = steps.last().and_then(|s| s.2).or(mrr);
                steps.push((*when, stage.clone(), last_mrr, Some(when.date())));
            }
            if let Some(last) = steps.last_mut() {
                last.3 = Some(when.date());
            }
        }
        steps.dedup_by(|b, a| a.1 == b.1 && a.2 == b.2 && a.3 == b.3);
        // Fields of every version.
        let mut base: Vec<(String, FieldValue)> = vec![
            ("name".into(), text(d.name.trim())),
            ("account".into(), text(&account)),
            ("owner".into(), text(&owner)),
        ];
        let mut source = None;
        let mut source_err = None;
        let people_sources: Vec<&str> = d
            .people
            .iter()
            .filter_map(|k| person_at.get(k.as_str()).map(|i| &export.people[*i]))
            .filter_map(|x| x.source.as_deref())
            .collect();
        let company_source = d
            .company
            .as_ref()
            .and_then(|k| company_at.get(k.as_str()).map(|i| &export.companies[*i]))
            .and_then(|c| c.source.as_deref());
        for raw in d
            .source
            .as_deref()
            .into_iter()
            .chain(company_source)
            .chain(people_sources)
        {
            match p.source(raw) {
                Ok(Some(s)) => {
                    source = Some(s);
                    break;
                }
                Ok(None) => {}
                Err(e) => {
                    source_err.get_or_insert(e);
                }
            }
        }
        if source.is_none() {
            if let Some((m, h)) = source_err {
                fail(p, m, Some(h));
                continue;
            }
        }
        let source = source.or_else(|| match p.mapping.filled("source") {
            Some(FillValue::Text(s)) => Some(s.clone()),
            _ => None,
        });
        match &source {
            Some(s) => set(&mut base, "source", text(s)),
            None => {
                fail(p, "the deal has no source".into(), Some(format!("every opportunity has a source: map the export's, or give one in [fill] of {}", p.mapping_name())));
                continue;
            }
        }
        let kind = match d.kind.as_deref() {
            Some(raw) => {
                match p.mapping.kind(raw) {
                    Some(e) if !e.ours.is_empty() => Some(e.ours.clone()),
                    _ => {
                        let f = fold(raw);
                        if f == "new" || f == "upsell" {
                            Some(f)
                        } else {
                            fail(p, format!("deal type `{raw}` is not mapped"), Some(format!("add it to [types] of {}: `\"{raw}\" = \"new\"` or `\"upsell\"`", p.mapping_name())));
                            continue;
                        }
                    }
                }
            }
            None => None,
        };
        let kind =
            kind.or_else(|| (source.as_deref() == Some("upsell")).then(|| "upsell".to_string()));
        if kind.as_deref() == Some("upsell") {
            set(&mut base, "type", text("upsell"));
        }
        set(&mut base, "created", FieldValue::Date(created.date()));
        let lost_reason = match (&closed, d.lost_reason.as_deref()) {
            (Some((stage, _)), raw) if config.outcome(stage) == Some(StageOutcome::Lost) => {
                match raw {
                    Some(raw) => match p.mapping.lost_reason(raw) {
                        Some(e) if !e.ours.is_empty() => Some(e.ours.clone()),
                        _ if p
                            .config
                            .values
                            .lost_reasons
                            .iter()
                            .any(|r| *r == fold(raw).replace(' ', "_")) =>
                        {
                            Some(fold(raw).replace(' ', "_"))
                        }
                        _ => {
                            fail(
                                p,
                                format!("lost reason `{raw}` is not mapped"),
                                Some(format!("add it to [lost_reasons] of {}", p.mapping_name())),
                            );
                            continue;
                        }
                    },
                    None => match p.mapping.filled("lost_reason") {
                        Some(FillValue::Text(r)) => Some(r.clone()),
                        _ => {
                            fail(
                                p,
                                "the deal is lost without a reason".into(),
                                Some(format!(
                                    "give one in the export, or in [fill] of {}",
                                    p.mapping_name()
                                )),
                            );
                            continue;
                        }
                    },
                }
            }
            _ => None,
        };
        if let Some(raw) = d.lost_reason.as_deref() {
            if lost_reason.as_deref() != Some(raw) {
                set(&mut base, "custom.lost_detail", text(raw));
            }
        }
        for (k, v) in &d.custom {
            set(&mut base, &format!("custom.{k}"), text(v));
        }
        set(
            &mut base,
            &format!("custom.{IMPORT_ID}"),
            text(&p.import_id(&d.key)),
        );
        let mut versions = Vec::new();
        let mut missing: BTreeSet<String> = BTreeSet::new();
        for (when, stage, m, close_date) in &steps {
            let mut f = base.clone();
            set(&mut f, "stage", text(stage));
            if let Some(m) = m {
                set(&mut f, "mrr", number(*m));
            }
            if let Some(c) = close_date {
                set(&mut f, "close_date", FieldValue::Date(*c));
            }
            if config.outcome(stage) == Some(StageOutcome::Lost) {
                if let Some(r) = &lost_reason {
                    set(&mut f, "lost_reason", text(r));
                }
            }
            if let Some(st) = config.stage(stage) {
                for field in st.requires.iter().chain(&st.require_true) {
                    if get(&f, field).is_some() {
                        continue;
                    }
                    if field == "commit.start_date" {
                        if let Some(c) = close_date {
                            set(&mut f, field, FieldValue::Date(*c));
                            continue;
                        }
                    }
                    match p.mapping.filled(field) {
                        Some(v) => set(&mut f, field, fill_value(v)),
                        None => {
                            missing.insert(format!("`{field}` (stage `{stage}`)"));
                        }
                    }
                }
            }
            versions.push(Version {
                at: *when,
                author: Some(owner.clone()),
                fields: f,
                text: None,
            });
        }
        if !missing.is_empty() {
            let fields: Vec<String> = missing.into_iter().collect();
            fail(
                p,
                format!("the export does not give {}", fields.join(", ")),
                Some(format!(
                    "give a value in [fill] of {} (the stage requires it)",
                    p.mapping_name()
                )),
            );
            continue;
        }
        let (id, path, existing) = p.place(Kind::Opportunity, &d.key, &d.name, None);
        p.push(
            &d.key,
            Draft {
                kind: Kind::Opportunity,
                key: String::new(),
                id,
                path,
                origin: at.clone(),
                existing,
                versions,
                needs: vec![(Kind::Account, account)],
            },
        );
    }
}

/// Accounts' statuses over time: the status they start in, `working` when a deal opens
/// on them (from a pool, `target` or `backlog`, as `sloop tick` would), `customer` when
/// one is won (or on the export's customer date), `churn` on the churn date; and the
/// status the export gives them (through `[statuses]`) once their deals are done, when
/// no open or won deal says otherwise.
fn statuses(p: &mut Planner, export: &Export) {
    let config = p.config;
    let initial = p
        .mapping
        .initial_status
        .clone()
        .or_else(|| {
            config
                .statuses
                .iter()
                .find(|s| s.entry)
                .map(|s| s.name.clone())
        })
        .unwrap_or_default();
    // Each account's deals, once (not a scan of every draft per account).
    let mut deals_of: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, d) in p.drafts.iter().enumerate() {
        if d.kind == Kind::Opportunity {
            for n in d.needs.iter().filter(|n| n.0 == Kind::Account) {
                deals_of.entry(n.1.clone()).or_default().push(i);
            }
        }
    }
    for c in &export.companies {
        let Some(ai) = p.index(Kind::Account, &c.key) else {
            continue;
        };
        let account_id = p.drafts[ai].id.clone();
        let mut events: Vec<(NaiveDateTime, &str, Option<String>)> = Vec::new();
        let mut open = false;
        let on_account = deals_of.get(&account_id).cloned().unwrap_or_default();
        for d in on_account.iter().map(|i| &p.drafts[*i]) {
            let first = &d.versions[0];
            let owner = match get(&first.fields, "owner") {
                Some(FieldValue::Str(o)) => Some(o.clone()),
                _ => None,
            };
            events.push((first.at, "open", owner.clone()));
            let last = d.versions.last().unwrap_or(first);
            match get(&last.fields, "stage") {
                Some(FieldValue::Str(s)) => match config.outcome(s) {
                    Some(StageOutcome::Won) => events.push((last.at, "won", owner)),
                    Some(StageOutcome::Lost) => events.push((last.at, "lost", owner)),
                    None => open = true,
                },
                _ => open = true,
            }
        }
        if let Some(s) = c.customer_since {
            events.push((p.at(s), "won", None));
        }
        if let Some(s) = c.churned {
            events.push((p.at(s), "churn", None));
        }
        events.sort_by_key(|e| e.0);
        let mapped = match c.status.as_deref() {
            Some(raw) => match p.mapping.status(raw) {
                Some(e) if !e.ours.is_empty() => Some(e.ours.clone()),
                Some(_) => None,
                None => match config.status(&fold(raw).replace(' ', "_")) {
                    Some(s) => Some(s.name.clone()),
                    None => {
                        let msg = format!("status `{raw}` is not mapped to a status of sloop.toml");
                        let hint = format!("add it to [statuses] of {}", p.mapping_name());
                        p.problem(Kind::Account, &c.key, &c.origin, msg, Some(hint));
                        continue;
                    }
                },
            },
            None => None,
        };
        let draft = &mut p.drafts[ai];
        let mut fields = draft.versions[0].fields.clone();
        let start = if events.is_empty() {
            mapped.clone().unwrap_or(initial.clone())
        } else {
            initial.clone()
        };
        set(&mut fields, "status", text(&start));
        let mut status = start;
        draft.versions[0].fields = fields.clone();
        let mut last_at = draft.versions[0].at;
        let backlog_days = i64::from(config.lifecycle.backlog_days);
        let mut moves: Vec<(NaiveDateTime, String, Option<String>)> = Vec::new();
        for (when, what, owner) in &events {
            let next = match *what {
                "open"
                    if matches!(
                        status.as_str(),
                        "qualified_pool" | "unqualified_pool" | "target" | "backlog"
                    ) =>
                {
                    "working"
                }
                "won" if status != "customer" && status != "churn" => "customer",
                "churn" => "churn",
                _ => continue,
            };
            if config.status(next).is_none() {
                continue;
            }
            status = next.to_string();
            moves.push((*when, status.clone(), owner.clone()));
            last_at = last_at.max(*when);
        }
        // The export's own status, when nothing live (an open or won deal) says otherwise.
        // (Churn ends a customer's life too; without a churn date it is dated on the
        // export's last day: that is when the export says so.)
        if let Some(m) = mapped {
            let live = open || (status == "customer" && m != "churn");
            if m != status && !live && !moves.is_empty() {
                let when = if m == "churn" {
                    p.export_end.max(last_at)
                } else {
                    last_at
                };
                status = m.clone();
                moves.push((when, m, None));
            }
        }
        for (when, st, owner) in moves {
            let mut f = fields.clone();
            set(&mut f, "status", text(&st));
            if st == "backlog" {
                set(
                    &mut f,
                    "backlog_until",
                    FieldValue::Date(when.date() + Duration::days(backlog_days)),
                );
            } else {
                unset(&mut f, "backlog_until");
            }
            let needs_owner = config
                .status(&st)
                .is_some_and(|s| s.requires.iter().any(|r| r == "owner"));
            if needs_owner && get(&f, "owner").is_none() {
                if let Some(o) = &owner {
                    set(&mut f, "owner", text(o));
                }
            }
            fields = f.clone();
            draft.versions.push(Version {
                at: when.max(draft.versions[0].at),
                author: owner.or(draft.versions[0].author.clone()),
                fields: f,
                text: None,
            });
        }
        if status == "backlog"
            && get(&draft.versions[0].fields, "backlog_until").is_none()
            && draft.versions.len() == 1
        {
            let at = draft.versions[0].at;
            set(
                &mut draft.versions[0].fields,
                "backlog_until",
                FieldValue::Date(at.date() + Duration::days(backlog_days)),
            );
        }
    }
}

fn activity_kind(p: &Planner, a: &Activity) -> String {
    match p.mapping.activity(&a.kind) {
        Some(e) if !e.ours.is_empty() => e.ours.clone(),
        _ => {
            let f = fold(&a.kind);
            if crate::model::ActivityKind::NAMES.contains(&f.as_str()) {
                f
            } else if ["call", "phone", "appel", "llamada"]
                .iter()
                .any(|w| f.contains(w))
            {
                "call".into()
            } else if ["meeting", "event", "lunch", "demo", "visit"]
                .iter()
                .any(|w| f.contains(w))
            {
                if f.contains("demo") {
                    "demo".into()
                } else {
                    "meeting".into()
                }
            } else if f.contains("mail") {
                "email".into()
            } else {
                "task".into()
            }
        }
    }
}

/// How many activities are prepared at once (`activities`), each rendered as soon as it is
/// planned: the fields of that many at once, not of all of them. (Nothing changes an
/// activity's fields once it is planned; `pull_creations` moves its dates only.)
const RENDER_CHUNK: usize = 8192;

/// Renders the versions of the new records among `drafts` (in parallel), dropping their
/// fields. A draft any of whose versions does not render keeps its fields: `render` reports
/// it. Records already in the CRM keep their fields too (a re-run edits their files).
fn prerender(drafts: &mut [Draft]) {
    use rayon::prelude::*;
    drafts
        .par_iter_mut()
        .filter(|d| d.existing.is_none() && d.versions.iter().any(|v| v.text.is_none()))
        .for_each(|d| render_versions(&mut d.versions));
}

/// A new record's versions rendered, their fields dropped; unchanged when any of them does
/// not render (`render_one` reports it).
fn render_versions(versions: &mut [Version]) {
    let texts: Result<Vec<String>, _> = versions.iter().map(|v| render_fields(&v.fields)).collect();
    if let Ok(texts) = texts {
        for (v, t) in versions.iter_mut().zip(texts) {
            v.text = Some(t);
            v.fields = Vec::new();
        }
    }
}

fn render_fields(fields: &[(String, FieldValue)]) -> Result<String, crate::store::edit::EditError> {
    let pairs: Vec<(&str, FieldValue)> = fields
        .iter()
        .map(|(k, x)| (k.as_str(), x.clone()))
        .collect();
    render_new(&pairs)
}

/// One activity of the export as `prepare_activity` leaves it (on any thread): its draft
/// but for its id and path, which depend on the activities before it (`place`), or what is
/// wrong with it.
enum PreparedActivity {
    /// Left out (`--skip-invalid` excluded it).
    Excluded,
    /// Its problems, in the order they were found: (message, hint).
    Failed(String, Vec<(String, Option<String>)>),
    Ready(String, ActivityDraft),
}

struct ActivityDraft {
    /// The base of its id, slugified; the date of its path.
    slug: String,
    date: NaiveDate,
    /// The id and path an earlier import gave it.
    imported: Option<(String, String)>,
    versions: Vec<Version>,
    needs: Vec<(Kind, String)>,
}

/// Plans the activities: each is prepared on any thread (`prepare_activity`: its fields,
/// rendered to its text when it is new, as `prerender` would), a chunk at a time, then
/// given its id and path in the export's order, so that ids, paths and problems are those
/// one thread would give. Each chunk of the export's activities is dropped once planned.
fn activities(p: &mut Planner, all: Vec<Activity>, excluded: &HashSet<(Kind, String)>) {
    use rayon::prelude::*;
    for chunk in chunks_from_front(all, RENDER_CHUNK) {
        let planner: &Planner = p;
        let prepared: Vec<PreparedActivity> = chunk
            .par_iter()
            .map(|a| prepare_activity(planner, a, excluded))
            .collect();
        for (a, prepared) in chunk.iter().zip(prepared) {
            let (key, ready) = match prepared {
                PreparedActivity::Excluded => continue,
                PreparedActivity::Failed(key, problems) => {
                    if p.bad.contains(&(Kind::Activity, key.clone())) {
                        continue;
                    }
                    for (m, h) in problems {
                        p.problem(Kind::Activity, &key, &a.origin, m, h);
                    }
                    continue;
                }
                PreparedActivity::Ready(key, ready) => (key, ready),
            };
            if p.bad.contains(&(Kind::Activity, key.clone())) {
                continue;
            }
            let (id, path, existing) = p.placed(
                Kind::Activity,
                ready.imported,
                &ready.slug,
                Some(ready.date),
            );
            p.push(
                &key,
                Draft {
                    kind: Kind::Activity,
                    key: String::new(),
                    id,
                    path,
                    origin: a.origin.clone(),
                    existing,
                    versions: ready.versions,
                    needs: ready.needs,
                },
            );
        }
    }
}

/// An activity's draft, but for its id and path; reads the planner only.
fn prepare_activity(
    p: &Planner,
    a: &Activity,
    excluded: &HashSet<(Kind, String)>,
) -> PreparedActivity {
    let key = if a.key.is_empty() {
        format!("{}:{}", a.origin.file, a.origin.line)
    } else {
        a.key.clone()
    };
    if excluded.contains(&(Kind::Activity, key.clone())) {
        return PreparedActivity::Excluded;
    }
    let fail = |m: String, h: Option<String>| PreparedActivity::Failed(key.clone(), vec![(m, h)]);
    let deal = a
        .deal
        .as_ref()
        .and_then(|k| p.draft(Kind::Opportunity, k))
        .map(|d| (d.id.clone(), d.needs[0].1.clone()));
    let person = a
        .person
        .as_ref()
        .and_then(|k| p.draft(Kind::Contact, k))
        .map(|c| {
            (
                c.id.clone(),
                c.needs
                    .iter()
                    .find(|n| n.0 == Kind::Account)
                    .map(|n| n.1.clone()),
            )
        });
    let company = a
        .company
        .as_ref()
        .and_then(|k| p.draft(Kind::Account, k))
        .map(|c| c.id.clone());
    let mut missing = Vec::new();
    for (what, key_of, found) in [
        ("deal", &a.deal, deal.is_some()),
        (
            "person",
            &a.person,
            person.is_some()
                || a.person
                    .as_ref()
                    .is_some_and(|k| p.draft(Kind::Lead, k).is_some()),
        ),
        ("company", &a.company, company.is_some()),
    ] {
        if let (Some(k), false) = (key_of, found) {
            let msg = format!(
                "the activity's {what} `{}` is not in the export (or has a problem of its own)",
                k.trim_start_matches('\u{0}')
            );
            missing.push((msg, None));
        }
    }
    if !missing.is_empty() {
        return PreparedActivity::Failed(key, missing);
    }
    let Some(account) = company
        .clone()
        .or(deal.as_ref().map(|d| d.1.clone()))
        .or(person.as_ref().and_then(|c| c.1.clone()))
    else {
        return fail(
            "the activity is on no company (nor on a deal or person that has one)".into(),
            Some("every activity is on an account".into()),
        );
    };
    let owner = match p.owner(a.owner.as_deref()) {
        Ok(o) => o,
        Err((m, h)) => return fail(m, Some(h)),
    };
    let Some(when) = a.at.or(a.created).or(a.done_at).map(|s| p.at(s)) else {
        return fail("the activity has no date".into(), None);
    };
    let created = a
        .created
        .map(|s| p.at(s))
        .unwrap_or(when)
        .min(when.max(a.created.map(|s| p.at(s)).unwrap_or(when)));
    let done = a.done.unwrap_or(when <= p.export_end);
    let theirs = activity_kind(p, a);
    let kind = if done {
        theirs.clone()
    } else {
        "task".to_string()
    };
    let subject = match (&a.subject, kind == "task" && theirs != "task") {
        (Some(s), true) => Some(format!("{}: {s}", capitalise(&theirs))),
        (s, _) => s.clone(),
    };
    let mut f: Vec<(String, FieldValue)> = vec![("kind".into(), text(&kind))];
    // A task is dated when it was recorded and due on its date; anything else is
    // dated when it happened.
    let date = if kind == "task" {
        created.min(when).date()
    } else {
        when.date()
    };
    set(&mut f, "date", FieldValue::Date(date));
    set(&mut f, "account", text(&account));
    if let Some((c, _)) = &person {
        set(&mut f, "contact", text(c));
    }
    if let Some((d, _)) = &deal {
        set(&mut f, "opportunity", text(d));
    }
    if let Some(o) = &owner {
        set(&mut f, "owner", text(o));
    }
    if let Some(s) = &subject {
        set(&mut f, "subject", text(s));
    }
    if let Some(b) = &a.body {
        set(&mut f, "body", text(b));
    }
    if matches!(kind.as_str(), "call" | "meeting" | "demo") {
        if let Some(d) = a.duration_min.filter(|d| *d > 0) {
            set(
                &mut f,
                "duration_min",
                FieldValue::Int(i64::try_from(d).unwrap_or(i64::MAX)),
            );
        }
    }
    if kind == "task" {
        set(&mut f, "due", FieldValue::Date(when.date()));
        set(&mut f, "done", FieldValue::Bool(false));
    }
    set(
        &mut f,
        &format!("custom.{IMPORT_ID}"),
        text(&p.import_id(&key)),
    );
    let mut needs = vec![(Kind::Account, account.clone())];
    needs.extend(person.as_ref().map(|c| (Kind::Contact, c.0.clone())));
    needs.extend(deal.as_ref().map(|d| (Kind::Opportunity, d.0.clone())));
    let first_at = if kind == "task" {
        created.min(when)
    } else {
        when
    };
    let mut versions = vec![Version {
        at: first_at,
        author: owner.clone(),
        fields: f.clone(),
        text: None,
    }];
    if kind == "task" && done {
        let mut g = f;
        set(&mut g, "done", FieldValue::Bool(true));
        let done_at = a.done_at.map(|s| p.at(s)).unwrap_or(when).max(first_at);
        versions.push(Version {
            at: done_at,
            author: owner,
            fields: g,
            text: None,
        });
    }
    let imported = p
        .imported
        .get(&(Kind::Activity, p.import_id(&key)))
        .cloned();
    if imported.is_none() {
        render_versions(&mut versions);
    }
    PreparedActivity::Ready(
        key,
        ActivityDraft {
            slug: ids::slugify(&format!("{date} {kind} {account}")),
            date,
            imported,
            versions,
            needs,
        },
    )
}

/// Notes kept with a company (HubSpot's `Associated Note`): undated in the export, so dated
/// on the export's last day.
fn notes(p: &mut Planner, export: &Export, excluded: &HashSet<(Kind, String)>) {
    for c in &export.companies {
        let Some(account) = p.draft(Kind::Account, &c.key).map(|a| a.id.clone()) else {
            continue;
        };
        let owner = p
            .draft(Kind::Account, &c.key)
            .and_then(|a| a.versions[0].author.clone());
        for (i, note) in c.notes.iter().enumerate() {
            let key = format!("{}#note{}", c.key, i + 1);
            if excluded.contains(&(Kind::Activity, key.clone())) {
                continue;
            }
            let date = p.export_date;
            let mut f: Vec<(String, FieldValue)> = vec![
                ("kind".into(), text("note")),
                ("date".into(), FieldValue::Date(date)),
                ("account".into(), text(&account)),
            ];
            if let Some(o) = &owner {
                set(&mut f, "owner", text(o));
            }
            set(&mut f, "body", text(note));
            set(
                &mut f,
                &format!("custom.{IMPORT_ID}"),
                text(&p.import_id(&key)),
            );
            let (id, path, existing) = p.place(
                Kind::Activity,
                &key,
                &format!("{date} note {account}"),
                Some(date),
            );
            p.push(
                &key,
                Draft {
                    kind: Kind::Activity,
                    key: String::new(),
                    id,
                    path,
                    origin: c.origin.clone(),
                    existing,
                    versions: vec![Version {
                        at: p.export_end,
                        author: owner.clone(),
                        fields: f,
                        text: None,
                    }],
                    needs: vec![(Kind::Account, account.clone())],
                },
            );
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Orders creations so that nothing exists before what it needs: an account is created
/// no later than the first record on it (the export's create dates of companies are often
/// later than their first deal's), and a contact, deal or activity no earlier than the
/// records it names (an activity that the export dates before its deal waits for it).
fn pull_creations(p: &mut Planner) {
    let pulled: Vec<(usize, NaiveDateTime)> = {
        // Each account's first use, by its id (borrowed from the drafts, not copied).
        let mut first: HashMap<&str, NaiveDateTime> = HashMap::new();
        for d in p.drafts.iter().filter(|d| d.kind != Kind::Account) {
            let at = d.versions[0].at;
            for n in d.needs.iter().filter(|n| n.0 == Kind::Account) {
                let e = first.entry(n.1.as_str()).or_insert(at);
                *e = (*e).min(at);
            }
        }
        p.drafts
            .iter()
            .enumerate()
            .filter(|(_, d)| d.kind == Kind::Account)
            .filter_map(|(i, d)| {
                let t = *first.get(d.id.as_str())?;
                (t < d.versions[0].at).then_some((i, t))
            })
            .collect()
    };
    for (i, t) in pulled {
        p.drafts[i].versions[0].at = t;
    }
    // Then each record waits for what it needs (accounts, then contacts and deals, then
    // activities: needs point that way).
    // Each pass reads the creations as the passes before it left them.
    let index: HashMap<(Kind, &str), usize> = p
        .drafts
        .iter()
        .enumerate()
        .map(|(i, d)| ((d.kind, d.id.as_str()), i))
        .collect();
    let mut created: Vec<NaiveDateTime> = p.drafts.iter().map(|d| d.versions[0].at).collect();
    for kind in [Kind::Contact, Kind::Opportunity, Kind::Lead, Kind::Activity] {
        let mut moved: Vec<(usize, NaiveDateTime)> = Vec::new();
        for (i, d) in p.drafts.iter().enumerate().filter(|(_, d)| d.kind == kind) {
            let wait = d
                .needs
                .iter()
                .filter_map(|n| index.get(&(n.0, n.1.as_str())).map(|j| created[*j]))
                .max();
            if let Some(t) = wait {
                if t > created[i] {
                    moved.push((i, t));
                }
            }
        }
        for (i, t) in moved {
            created[i] = t;
        }
    }
    drop(index);
    for (d, at) in p.drafts.iter_mut().zip(created) {
        d.versions[0].at = at;
    }
    for d in &mut p.drafts {
        // Versions stay in order after the first moved.
        let mut prev = d.versions[0].at;
        for v in d.versions.iter_mut().skip(1) {
            if v.at < prev {
                v.at = prev;
            }
            prev = v.at;
        }
    }
}

/// A version rendered: the record's path and text at a moment, by whom.
struct Rendered {
    kind: Kind,
    key: String,
    id: String,
    path: String,
    origin: Origin,
    /// Their key (for `bad`).
    versions: Vec<(NaiveDateTime, Option<String>, String)>,
    created: bool,
}

/// What `finish` makes of one draft: its rendered versions (`None`: its file cannot be
/// edited), the problems of rendering it, what it counts as (created, changed), and the
/// check of its versions (the first problem's message, its last version parsed).
struct Finished {
    rendered: Option<Rendered>,
    problems: Vec<Problem>,
    created: bool,
    changed: bool,
    invalid: Option<String>,
    last: Option<AnyRecord>,
}

/// `items` a chunk of `size` at a time, in their order, each taken out of the vector so
/// that what was taken is freed as its chunk is dropped, and the vector's own memory given
/// back each time it is half empty (on a big import, a list held whole while it is
/// consumed is tens of megabytes).
fn chunks_from_front<T>(mut items: Vec<T>, size: usize) -> impl Iterator<Item = Vec<T>> {
    let size = size.max(1);
    items.reverse();
    std::iter::from_fn(move || {
        if items.is_empty() {
            return None;
        }
        let n = size.min(items.len());
        let chunk: Vec<T> = items.drain(items.len() - n..).rev().collect();
        if items.len() <= items.capacity() / 2 {
            items.shrink_to_fit();
        }
        Some(chunk)
    })
}

/// Renders every draft's versions and checks each (`render_one`, `check_versions`), in
/// parallel, a chunk of drafts at a time (its fields are dropped as it is rendered); then
/// the CRM with the import's last versions against the whole-CRM rules (references,
/// members, uniqueness) for the records the import writes. The problems come in the
/// drafts' order, the rendering's first, as one pass after the other would give them.
fn finish(
    p: &mut Planner,
    drafts: Vec<Draft>,
    existing: &dyn Fn(&str) -> Option<String>,
    counts: &mut Counts,
) -> (Vec<Rendered>, Crm) {
    use rayon::prelude::*;
    let config = p.config;
    // The import's last versions parsed, by kind in the drafts' order: each moved in as
    // its chunk is done (they are most of the memory at this point).
    let mut imported = Crm::empty(config.clone());
    for kind in Kind::ALL {
        imported.reserve(kind, drafts.iter().filter(|d| d.kind == kind).count());
    }
    let mut rendered = Vec::with_capacity(drafts.len());
    let mut invalid: Vec<Problem> = Vec::new();
    for chunk in chunks_from_front(drafts, RENDER_CHUNK) {
        // The files an earlier import wrote, read first (`existing` need not be
        // thread-safe).
        let currents: Vec<Option<String>> = chunk
            .iter()
            .map(|d| d.existing.is_some().then(|| existing(&d.path)).flatten())
            .collect();
        let finished: Vec<Finished> = chunk
            .into_par_iter()
            .zip(currents)
            .map(|(d, current)| {
                let (rendered, problems) = render_one(d, current);
                let (invalid, last) = match &rendered {
                    Some(r) => check_versions(config, r),
                    None => (None, None),
                };
                Finished {
                    created: rendered.as_ref().is_some_and(|r| r.created),
                    changed: rendered
                        .as_ref()
                        .is_some_and(|r| !r.created && !r.versions.is_empty()),
                    rendered,
                    problems,
                    invalid,
                    last,
                }
            })
            .collect();
        for f in finished {
            p.problems.extend(f.problems);
            let Some(r) = f.rendered else { continue };
            let count = match r.kind {
                Kind::Account => &mut counts.accounts,
                Kind::Contact => &mut counts.contacts,
                Kind::Opportunity => &mut counts.opportunities,
                Kind::Lead => &mut counts.leads,
                Kind::Activity => &mut counts.activities,
            };
            count.0 += usize::from(f.created);
            count.1 += usize::from(f.changed);
            if let Some(msg) = f.invalid {
                invalid.push(Problem::new(r.origin.clone(), msg));
                p.bad.insert((r.kind, r.key.clone()));
            }
            if let Some(record) = f.last {
                imported.push(record);
            }
            rendered.push(r);
        }
    }
    (p.phase)("versions");
    p.problems.append(&mut invalid);
    (rendered, imported)
}

/// A draft's versions as texts: a new record's rendered from their fields (or as
/// `prerender` left them); a record an earlier import wrote (`current`: its file), the
/// versions after the one the file already holds, as edits of the file (what people added
/// to it stays). `None` when that file is not valid TOML.
fn render_one(d: Draft, current: Option<String>) -> (Option<Rendered>, Vec<Problem>) {
    let key = &d.origin;
    let mut problems = Vec::new();
    let mut versions = Vec::new();
    match current {
        None if d.existing.is_some() => {
            problems.push(Problem::new(
                key.clone(),
                format!("cannot read {}, which an earlier import wrote", d.path),
            ));
        }
        None => {
            for v in d.versions {
                let text = match v.text {
                    Some(t) => Ok(t),
                    None => render_fields(&v.fields),
                };
                match text {
                    Ok(t) => versions.push((v.at, v.author, t)),
                    Err(e) => {
                        problems.push(Problem::new(key.clone(), e.to_string()));
                        break;
                    }
                }
            }
        }
        Some(current) => {
            let owned: BTreeSet<&str> = d
                .versions
                .iter()
                .flat_map(|v| v.fields.iter().map(|(k, _)| k.as_str()))
                .collect();
            let Ok(edit) = RecordEdit::parse(&current) else {
                problems.push(Problem::new(
                    key.clone(),
                    format!("{} is not valid TOML: fix it, then import again", d.path),
                ));
                return (None, problems);
            };
            let holds = |v: &Version| {
                owned
                    .iter()
                    .all(|k| edit.get(k).as_ref() == get(&v.fields, k))
            };
            let from = d.versions.iter().rposition(holds);
            let todo: Vec<&Version> = match from {
                Some(i) => d.versions[i + 1..].iter().collect(),
                None => d.versions.last().into_iter().collect(),
            };
            let mut text = current.clone();
            for v in todo {
                let Ok(mut e) = RecordEdit::parse(&text) else {
                    break;
                };
                for k in &owned {
                    let result = match get(&v.fields, k) {
                        Some(val) => e.set(k, val.clone()).map(|_| ()),
                        None => {
                            e.remove(k);
                            Ok(())
                        }
                    };
                    if let Err(err) = result {
                        problems.push(Problem::new(key.clone(), err.to_string()));
                    }
                }
                // An activity whose kind changed in the export (a call became a
                // task): what only its old kind may carry goes (`duration_min`,
                // `outcome`…), what the import sets for the new kind stays.
                if d.kind == Kind::Activity {
                    let new_kind = match get(&v.fields, "kind") {
                        Some(FieldValue::Str(k)) => crate::model::ActivityKind::parse(k),
                        _ => None,
                    };
                    for (field, forbidden, _) in
                        new_kind.map(|k| k.kind_only_fields()).into_iter().flatten()
                    {
                        if forbidden && get(&v.fields, field).is_none() {
                            e.remove(field);
                        }
                    }
                }
                let next = e.finish();
                if next != text {
                    versions.push((v.at, v.author.clone(), next.clone()));
                    text = next;
                }
            }
        }
    }
    let rendered = Rendered {
        kind: d.kind,
        key: d.key,
        id: d.id,
        path: d.path,
        origin: d.origin,
        versions,
        created: d.existing.is_none(),
    };
    (Some(rendered), problems)
}

/// Every version of a record parses as a valid record and has what its stage or status
/// requires: the message of the first that does not, and the last version parsed (for the
/// rules across records).
fn check_versions(config: &Config, r: &Rendered) -> (Option<String>, Option<AnyRecord>) {
    let mut invalid = None;
    let mut last = None;
    for (i, (_, _, text)) in r.versions.iter().enumerate() {
        let (record, diags) = parse_record(r.kind, &r.id, &r.path, text, config);
        let mut problems: Vec<String> = diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect();
        match &record {
            AnyRecord::Opportunity(o) => problems.extend(
                check::rules::opportunity_missing(config, o)
                    .into_iter()
                    .map(|(field, why)| format!("`{field}` is missing ({why})")),
            ),
            AnyRecord::Account(a) => problems.extend(
                check::rules::account_missing(config, a)
                    .into_iter()
                    .map(|(field, why, _)| format!("`{field}` ({why})")),
            ),
            _ => {}
        }
        if !problems.is_empty() && invalid.is_none() {
            invalid = Some(format!(
                "{} would not be valid: {}",
                r.path,
                problems.join("; ")
            ));
        }
        if i + 1 == r.versions.len() {
            // The rules across records read fields, not where they are in the file: the
            // positions would be a third of the memory of a big import. Nor do they read
            // an activity's body or any record's `[custom]` table.
            let mut record = record;
            record.meta_mut().locs = Vec::new();
            check::rules::keep_what_rules_read(&mut record);
            last = Some(record);
        }
    }
    (invalid, last)
}

/// One commit per day: each record's last version of the day, authored by the member with
/// the most of the day's versions (the first of them on a tie), dated at the day's last
/// version.
///
/// The texts are moved, not copied, from `rendered` into the commits: on an export the size
/// of the benchmark CRM they are most of the memory the import takes.
fn commits(vendor: Vendor, offset: i32, rendered: Vec<Rendered>) -> Vec<PlannedCommit> {
    let mut days: BTreeMap<NaiveDate, Vec<DayVersion>> = BTreeMap::new();
    for r in rendered {
        let path: std::rc::Rc<str> = r.path.into();
        for (i, (at, who, text)) in r.versions.into_iter().enumerate() {
            let creation = i == 0 && r.created;
            days.entry(at.date()).or_default().push((
                at,
                who,
                path.clone(),
                text,
                r.kind,
                creation,
            ));
        }
    }
    let mut out = Vec::with_capacity(days.len());
    for (day, mut versions) in days {
        versions.sort_by_key(|v| v.0);
        let mut tally: Vec<(String, usize, NaiveDateTime)> = Vec::new();
        for (at, who, ..) in &versions {
            if let Some(w) = who {
                match tally.iter_mut().find(|t| &t.0 == w) {
                    Some(t) => t.1 += 1,
                    None => tally.push((w.clone(), 1, *at)),
                }
            }
        }
        let author = tally
            .iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)))
            .map(|t| t.0.clone());
        let when = versions.last().map(|v| v.0).unwrap_or_default();
        let mut files: BTreeMap<std::rc::Rc<str>, String> = BTreeMap::new();
        let mut created: BTreeMap<Kind, usize> = BTreeMap::new();
        let mut changed = 0usize;
        for (_, _, path, text, kind, creation) in versions {
            if files.insert(path, text).is_none() {
                if creation {
                    *created.entry(kind).or_default() += 1;
                } else {
                    changed += 1;
                }
            }
        }
        let mut parts: Vec<String> = created
            .iter()
            .map(|(k, n)| format!("{n} {}", if *n == 1 { k.as_str() } else { k.folder() }))
            .collect();
        if changed > 0 {
            parts.push(format!("{changed} changed"));
        }
        let message = format!(
            "sloop import {}: {day}\n\n{}\n\n{TRAILER}: {}\n",
            vendor.name(),
            parts.join(", "),
            vendor.name()
        );
        out.push(PlannedCommit {
            when,
            offset,
            author,
            files: files.into_iter().map(|(a, b)| (a.to_string(), b)).collect(),
            message,
        });
    }
    out
}

/// Whether a deal is open at the end of the export (for tests and the summary).
pub fn is_open(config: &Config, d: &Deal) -> bool {
    d.outcome.is_none() && d.stage.as_deref().and_then(|s| config.outcome(s)).is_none()
}

#[cfg(test)]
mod tests {
    use super::{chunks_from_front, Aside};
    use crate::model::{Account, Meta};
    use std::collections::HashSet;

    fn account(path: &str, name: &str) -> Account {
        Account {
            meta: Meta {
                id: path
                    .trim_start_matches("accounts/")
                    .trim_end_matches(".toml")
                    .into(),
                path: path.into(),
                ..Meta::default()
            },
            name: name.into(),
            ..Account::default()
        }
    }

    fn names(list: &[Account]) -> Vec<String> {
        list.iter()
            .map(|a| format!("{}={}", a.meta.id, a.name))
            .collect()
    }

    /// The CRM holds the import's records in place of those they replace, after the others
    /// in their order (the list a copy of the CRM with the import appended had), and is put
    /// back exactly as it was: the replaced records where they were, first, middle and last.
    #[test]
    fn records_set_aside_for_the_check_come_back_where_they_were() {
        let original =
            ["a", "b", "c", "d", "e"].map(|x| account(&format!("accounts/{x}.toml"), "old"));
        for gone in [
            vec![],
            vec!["a"],
            vec!["c"],
            vec!["e"],
            vec!["a", "c", "e"],
            vec!["a", "b", "c", "d", "e"],
        ] {
            let mut list = original.to_vec();
            let replaced: HashSet<String> =
                gone.iter().map(|x| format!("accounts/{x}.toml")).collect();
            let replaced: HashSet<&str> = replaced.iter().map(String::as_str).collect();
            let mut imported: Vec<Account> = gone
                .iter()
                .map(|x| account(&format!("accounts/{x}.toml"), "new"))
                .collect();
            imported.push(account("accounts/z.toml", "new"));
            let aside = Aside::of(&mut list, &replaced, imported);
            let mut expected: Vec<String> = ["a", "b", "c", "d", "e"]
                .iter()
                .filter(|x| !gone.contains(x))
                .map(|x| format!("{x}=old"))
                .collect();
            expected.extend(gone.iter().map(|x| format!("{x}=new")));
            expected.push("z=new".into());
            assert_eq!(names(&list), expected, "replacing {gone:?}");
            aside.restore(&mut list);
            assert_eq!(names(&list), names(&original), "after replacing {gone:?}");
        }
    }

    #[test]
    fn chunks_from_the_front_keep_the_order_and_take_everything() {
        let chunks: Vec<Vec<u32>> = chunks_from_front((1..=7).collect(), 3).collect();
        assert_eq!(chunks, vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
        let whole: Vec<Vec<u32>> = chunks_from_front(vec![1, 2], 5).collect();
        assert_eq!(whole, vec![vec![1, 2]]);
        assert_eq!(chunks_from_front(Vec::<u32>::new(), 3).count(), 0);
        // Items that own memory are moved out, not copied: each is dropped with its chunk.
        let owned: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let firsts: Vec<String> = chunks_from_front(owned, 4).map(|c| c[0].clone()).collect();
        assert_eq!(firsts, ["0", "4", "8"]);
    }
}
