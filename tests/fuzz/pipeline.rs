//! Whole CRMs through the whole pure pipeline: `store::load` (over `store::Memory`) →
//! `check::check` → `lifecycle::plan` (and the edits a tick would commit) →
//! `report::metrics::compute` → the built-in templates, with a synthesized history and an
//! as-of date anywhere in the range chrono allows (sloop refuses those outside years 1 to
//! 9999).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate};
use proptest::prelude::*;
use proptest::sample::{select, Index};

use sloop::check::transition::{judge, pair, RecordChange};
use sloop::crm::Crm;
use sloop::history::{Change, Event, Value};
use sloop::lifecycle::{self, Move};
use sloop::model::dates;
use sloop::model::flatten::flatten;
use sloop::model::{AnyRecord, Kind};
use sloop::report::metrics::PeriodName;
use sloop::report::metrics::{self, Inputs};
use sloop::store::edit::{FieldValue, RecordEdit};
use sloop::store::{self, classify, Memory, PathClass};

use crate::engine::{self, Files, Mutation, TOML_TOKENS};
use crate::gen;
use crate::props::{ensure, positions};

/// A CRM and the history it is judged with.
#[derive(Clone)]
pub struct Case {
    pub origin: String,
    pub files: Vec<(String, Vec<u8>)>,
    pub as_of: NaiveDate,
    /// How many days before as-of each record was created (by position among the loaded
    /// records; cycled), and changes of status or stage after that.
    pub created: Vec<i64>,
    pub changes: Vec<(Index, i64, String)>,
    /// The period the report shows.
    pub period: PeriodName,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} as of {} ({:?}; created {:?}, changes {:?})",
            self.origin, self.as_of, self.period, self.created, self.changes
        )?;
        for (path, bytes) in &self.files {
            writeln!(f, "  ({path:?}, {}),", engine::literal(bytes))?;
        }
        Ok(())
    }
}

/// The CRMs: the example CRM, each CRM of the `tests/errors/` catalogue (without the
/// `head/` of the transition cases), and `tests/fuzz/corpus/crm/<name>/`.
pub fn seeds() -> Vec<(String, Files)> {
    let root = engine::manifest_dir();
    let mut out = vec![(
        "example-crm".to_string(),
        engine::files_under(&root.join("example-crm")),
    )];
    let mut by_case: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for (path, bytes) in engine::files_under(&root.join("tests/errors")) {
        let Some((case, rel)) = path.split_once('/') else {
            continue;
        };
        if rel.starts_with("head/") || rel == "expected.txt" {
            continue;
        }
        by_case
            .entry(format!("errors/{case}"))
            .or_default()
            .push((rel.to_string(), bytes));
    }
    for (path, bytes) in engine::files_under(&root.join("tests/fuzz/corpus/crm")) {
        let Some((case, rel)) = path.split_once('/') else {
            continue;
        };
        by_case
            .entry(format!("corpus/{case}"))
            .or_default()
            .push((rel.to_string(), bytes));
    }
    out.extend(
        by_case
            .into_iter()
            .filter(|(_, files)| files.iter().any(|(p, _)| p == "sloop.toml")),
    );
    out
}

fn seeds_cached() -> &'static Arc<Vec<(String, Files)>> {
    static S: OnceLock<Arc<Vec<(String, Files)>>> = OnceLock::new();
    S.get_or_init(|| Arc::new(seeds()))
}

const COMMIT_TIME_OFFSETS: [i32; 4] = [0, 3600, -8 * 3600, 14 * 3600];

fn at(date: NaiveDate, n: usize) -> DateTime<FixedOffset> {
    let offset = FixedOffset::east_opt(COMMIT_TIME_OFFSETS[n % 4]).expect("an offset");
    let noon = date.and_hms_opt(12, 0, 0).expect("noon");
    noon.and_local_timezone(offset)
        .single()
        .unwrap_or_else(|| noon.and_utc().fixed_offset())
}

fn days_before(as_of: NaiveDate, days: i64) -> NaiveDate {
    if days >= 0 {
        as_of
            .checked_sub_days(Days::new(days as u64))
            .unwrap_or(NaiveDate::MIN)
    } else {
        as_of
            .checked_add_days(Days::new(days.unsigned_abs()))
            .unwrap_or(NaiveDate::MAX)
    }
}

/// A history for the loaded records: each created some days before as-of, then the
/// status and stage changes, all in date order, one commit each.
fn history(crm: &Crm, case: &Case) -> Vec<Event> {
    let records: Vec<AnyRecord> = crm.clone().into_records().collect();
    let mut dated: Vec<(NaiveDate, usize, Kind, String, String, Change)> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let days = if case.created.is_empty() {
            30
        } else {
            case.created[i % case.created.len()]
        };
        dated.push((
            days_before(case.as_of, days.max(0)),
            dated.len(),
            r.kind(),
            r.meta().id.clone(),
            r.meta().path.clone(),
            Change::Created { fields: flatten(r) },
        ));
    }
    let changeable: Vec<&AnyRecord> = records
        .iter()
        .filter(|r| matches!(r.kind(), Kind::Account | Kind::Opportunity))
        .collect();
    if !changeable.is_empty() {
        for (i, days, to) in &case.changes {
            let r = changeable[i.index(changeable.len())];
            let field = if r.kind() == Kind::Account {
                "status"
            } else {
                "stage"
            };
            dated.push((
                days_before(case.as_of, (*days).max(0)),
                dated.len(),
                r.kind(),
                r.meta().id.clone(),
                r.meta().path.clone(),
                Change::Changed {
                    field: field.into(),
                    old: r.state().map(|s| Value::Text(s.to_string())),
                    new: Some(Value::Text(to.clone())),
                },
            ));
        }
    }
    dated.sort_by_key(|(d, n, ..)| (*d, *n));
    dated
        .into_iter()
        .enumerate()
        .map(|(n, (date, _, kind, id, path, change))| Event {
            commit: format!("{n:040x}").into(),
            author: "Fuzz".into(),
            email: "fuzz@example.com".into(),
            date: at(date, n),
            kind,
            id,
            path,
            change,
        })
        .collect()
}

/// What a tick does to a file for its moves (as `tick::apply`).
fn apply(edit: &mut RecordEdit, m: &Move) -> Result<(), String> {
    match &m.to {
        None => {
            edit.remove(&m.field);
        }
        Some(v) if m.field == "backlog_until" => {
            let date: NaiveDate = v.parse().map_err(|e| format!("backlog_until `{v}`: {e}"))?;
            edit.set(&m.field, FieldValue::Date(date))
                .map_err(|e| e.to_string())?;
        }
        Some(v) => {
            edit.set(&m.field, FieldValue::Str(v.clone()))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

pub fn check(case: &Case) -> Result<(), String> {
    let files: BTreeMap<String, Vec<u8>> = case.files.iter().cloned().collect();
    let loaded = match store::load(&Memory::new(files.clone())) {
        Ok(l) => l,
        Err(_) => {
            return ensure(!files.contains_key("sloop.toml"), || {
                "a CRM with a sloop.toml did not load".into()
            });
        }
    };
    let crm = &loaded.crm;
    // The loader never drops a record file.
    let record_files = files
        .keys()
        .filter(|p| matches!(classify(p), PathClass::Record(..)))
        .count();
    ensure(crm.len() == record_files, || {
        format!("{record_files} record files, {} records loaded", crm.len())
    })?;
    positions(&loaded.diagnostics, &files)?;
    let checked = sloop::check::check(crm);
    positions(&checked, &files)?;
    let errors = loaded
        .diagnostics
        .iter()
        .chain(&checked)
        .filter(|d| d.is_error())
        .count();

    let events = history(crm, case);
    let facts = lifecycle::facts::from_events(crm, &events, None);
    // A date sloop does not compute with is refused, never a panic; any other is planned
    // and reported.
    let in_range = dates::in_range(case.as_of).is_ok();
    let plan = match lifecycle::plan(crm, &facts, case.as_of) {
        Ok(plan) => plan,
        Err(e) => {
            return ensure(!in_range, || {
                format!("the plan refuses as of {}: {e}", case.as_of)
            });
        }
    };
    ensure(in_range, || {
        format!("a plan as of {}, outside the range", case.as_of)
    })?;
    // Moves are allowed by the method: a move `sloop.toml` does not allow is an alert.
    let mut moved: HashMap<&str, usize> = HashMap::new();
    for m in &plan.moves {
        ensure(m.kind == Kind::Account, || {
            format!("a move of a {:?}: {m:?}", m.kind)
        })?;
        // With a duplicate id (an error) several accounts answer to it.
        let same: Vec<&str> = crm
            .accounts
            .iter()
            .filter(|a| a.meta.id == m.id)
            .map(|a| a.status.as_str())
            .collect();
        ensure(!same.is_empty(), || {
            format!("a move of an unknown account: {m:?}")
        })?;
        if m.field == "status" {
            *moved.entry(&m.id).or_default() += 1;
            let (from, to) = (
                m.from.as_deref().unwrap_or(""),
                m.to.as_deref().unwrap_or(""),
            );
            ensure(same.contains(&from), || {
                format!("move from `{from}`, the account is {same:?}")
            })?;
            let allowed = crm
                .config
                .status(from)
                .is_some_and(|s| s.next.iter().any(|n| n == to));
            ensure(allowed, || {
                format!("move {from} → {to} is not in the method: {m:?}")
            })?;
        }
    }
    // Once per account: with a duplicate id (an error: tick refuses to run) each file of
    // that id may move.
    let duplicates = loaded
        .diagnostics
        .iter()
        .any(|d| d.code == sloop::diag::Code::DuplicateId);
    ensure(duplicates || moved.values().all(|n| *n <= 1), || {
        format!("an account moves twice: {:?}", plan.moves)
    })?;
    if errors == 0 && !plan.moves.is_empty() {
        tick_commit_passes_check(crm, &files, &plan)?;
    }
    let _ = lifecycle::agenda::build(crm, &facts, plan.alerts.clone(), None, case.as_of);
    let context = metrics::compute(&Inputs {
        crm,
        as_of: case.as_of,
        events: &events,
        commits: events.len(),
        first_commit: events.first().map(|e| e.date.date_naive()),
        shallow: false,
        period: case.period,
    })
    .map_err(|e| format!("the metrics refuse as of {}: {e}", case.as_of))?;
    finite(&context)?;
    let json = serde_json::to_value(&context)
        .map_err(|e| format!("the context does not serialize: {e}"))?;
    for name in sloop::report::available(None) {
        sloop::report::render(&name, &json, None)
            .map_err(|e| format!("template {name} fails: {e}"))?;
    }
    Ok(())
}

/// The money figures are numbers: JSON, the templates and people cannot read infinity.
fn finite(c: &metrics::Context) -> Result<(), String> {
    let m = &c.mrr;
    let closing = [c.forecast.overdue.clone(), c.forecast.this_month.clone()];
    let buckets = c
        .pipeline
        .by_stage
        .iter()
        .map(|s| (s.mrr, s.weighted))
        .chain([(c.pipeline.total.mrr, c.pipeline.total.weighted)])
        .chain(
            [
                &closing[..],
                &c.forecast.by_month,
                &c.forecast.by_quarter,
                &c.forecast.by_owner,
                &c.weekly_pipeline,
            ]
            .into_iter()
            .flatten()
            .map(|b| (b.mrr, b.weighted)),
        )
        .flat_map(|(a, b)| [a, b]);
    let all: Vec<f64> = [m.total, m.new_this_quarter]
        .into_iter()
        .chain(m.target)
        .chain(
            m.by_owner
                .iter()
                .flat_map(|o| [Some(o.mrr), Some(o.new_this_quarter), o.target])
                .flatten(),
        )
        .chain(m.target_by_member.values().copied())
        .chain(
            m.by_month
                .iter()
                .flat_map(|x| [x.new, x.upsell, x.churned, x.total]),
        )
        .chain(buckets)
        .collect();
    ensure(all.iter().all(|x| x.is_finite()), || {
        format!(
            "a money figure is not a finite number: mrr {m:?}, pipeline {:?}",
            c.pipeline
        )
    })
}

/// The files a tick would commit pass the check, and every change in them is a legal
/// transition (README: "a tick commit always passes `sloop check --range`").
fn tick_commit_passes_check(
    crm: &Crm,
    files: &BTreeMap<String, Vec<u8>>,
    plan: &lifecycle::Plan,
) -> Result<(), String> {
    let mut after = files.clone();
    for (kind, id) in plan.touched() {
        let path = match kind {
            Kind::Account => crm.account(id).map(|a| a.meta.path.clone()),
            _ => None,
        }
        .ok_or_else(|| format!("the plan touches {kind:?} {id}, which has no file"))?;
        let text =
            String::from_utf8(files[&path].clone()).map_err(|_| format!("{path} is not UTF-8"))?;
        let mut edit = RecordEdit::parse(&text).map_err(|e| format!("{path}: {e}"))?;
        for m in plan.moves.iter().filter(|m| m.kind == kind && m.id == id) {
            if let Err(e) = apply(&mut edit, m) {
                // Known: from as-of 9999-07-05 on, `backlog_until = as_of + backlog_days`
                // is past the last date TOML can write, and `tick` refuses with this error.
                if e.contains("outside 0000–9999") {
                    return Ok(());
                }
                return Err(e);
            }
        }
        after.insert(path, edit.finish().into_bytes());
    }
    let loaded = store::load(&Memory::new(after.clone())).map_err(|e| e.to_string())?;
    let mut diags = loaded.diagnostics.clone();
    diags.extend(sloop::check::check(&loaded.crm));
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
    let changed: Vec<(&String, String)> = plan
        .touched()
        .iter()
        .filter_map(|(_, id)| crm.account(id))
        .map(|a| {
            (
                &a.meta.path,
                String::from_utf8_lossy(&after[&a.meta.path]).into_owned(),
            )
        })
        .collect();
    ensure(errors.is_empty(), || {
        format!("after the tick's edits: {errors:?}\nplan: {plan:?}\nedited: {changed:#?}")
    })?;
    let olds: Vec<(String, AnyRecord)> = crm
        .clone()
        .into_records()
        .map(|r| (r.meta().path.clone(), r))
        .collect();
    let news: Vec<(String, AnyRecord)> = loaded
        .crm
        .into_records()
        .map(|r| (r.meta().path.clone(), r))
        .collect();
    for change in pair(&olds, &news) {
        let change: RecordChange = change;
        let bad: Vec<_> = judge(&crm.config, &change)
            .into_iter()
            .filter(|d| d.is_error())
            .collect();
        ensure(bad.is_empty(), || {
            format!(
                "the tick's change to {} is refused: {bad:?}\nplan: {plan:?}",
                change.path
            )
        })?;
    }
    Ok(())
}

/// As-of dates: mostly near now, then anything TOML can write, then anything chrono can
/// represent (sloop refuses those outside years 1 to 9999, without panicking).
fn as_of() -> impl Strategy<Value = NaiveDate> {
    let date = |y: i32, m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d).expect("a date");
    let near = (2020i32..2030, 1u32..=12, 1u32..=28).prop_map(move |(y, m, d)| date(y, m, d));
    let toml = (1i32..=9999, 1u32..=12, 1u32..=28).prop_map(move |(y, m, d)| date(y, m, d));
    let any = (NaiveDate::MIN.num_days_from_ce()..=NaiveDate::MAX.num_days_from_ce())
        .prop_map(|n| NaiveDate::from_num_days_from_ce_opt(n).expect("a date"));
    let edges = select(vec![
        NaiveDate::MIN,
        NaiveDate::MAX,
        dates::FIRST,
        dates::LAST,
        date(9999, 7, 5),
        date(0, 12, 31),
        date(10000, 1, 1),
    ]);
    prop_oneof![6 => near, 2 => toml, 1 => any, 1 => edges]
}

fn period() -> impl Strategy<Value = PeriodName> {
    select(PeriodName::ALL.to_vec())
}

fn created_days() -> impl Strategy<Value = Vec<i64>> {
    prop::collection::vec(
        prop_oneof![8 => 0i64..400, 1 => 0i64..3_000_000, 1 => Just(i64::MAX)],
        0..6,
    )
}

fn changes() -> impl Strategy<Value = Vec<(Index, i64, String)>> {
    prop::collection::vec(
        (
            any::<Index>(),
            prop_oneof![4 => 0i64..400, 1 => 0i64..3_000_000],
            select(vec![
                "qualified_pool",
                "target",
                "working",
                "customer",
                "churn",
                "backlog",
                "identified",
                "trial",
                "won",
                "lost",
                "gone",
            ])
            .prop_map(str::to_string),
        ),
        0..6,
    )
}

/// An edit that keeps TOML valid: a field of a file set to another value.
#[derive(Debug, Clone)]
enum Edit {
    Bytes(Index, Vec<Mutation>),
    Set(Index, &'static str, String),
    Remove(Index),
    Add(String, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Record fields, and `sloop.toml` keys (replaced where they are, in their table).
    let field = select(vec![
        "status",
        "stage",
        "owner",
        "close_date",
        "backlog_until",
        "mrr",
        "account",
        "due",
        "date",
        "kind",
        "outcome",
        "next",
        "backlog_days",
        "target_stale_days",
        "churn_cooldown_days",
        "opportunity_stale_days",
        "probability",
        "shard",
    ]);
    prop_oneof![
        3 => (any::<Index>(), prop::collection::vec(engine::mutation(), 1..4)).prop_map(|(i, m)| Edit::Bytes(i, m)),
        6 => (any::<Index>(), field).prop_flat_map(|(i, f)| gen::field_value(f).prop_map(move |v| Edit::Set(i, f, v))),
        1 => any::<Index>().prop_map(Edit::Remove),
        2 => gen::record_file().prop_map(|(p, t)| Edit::Add(p, t)),
    ]
}

fn apply_edit(files: &mut Vec<(String, Vec<u8>)>, e: &Edit) {
    if files.is_empty() {
        return;
    }
    match e {
        Edit::Bytes(i, ms) => {
            let k = i.index(files.len());
            let others = files.clone();
            files[k].1 = engine::mutate(&files[k].1, ms, &others, TOML_TOKENS);
        }
        Edit::Set(i, field, value) => {
            let k = i.index(files.len());
            let Ok(text) = std::str::from_utf8(&files[k].1) else {
                return;
            };
            // Through the raw text, as a person would: `field = value` replaces the line.
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            let prefix = format!("{field} =");
            match lines.iter().position(|l| l.starts_with(&prefix)) {
                Some(n) => lines[n] = format!("{field} = {value}"),
                None => lines.insert(0, format!("{field} = {value}")),
            }
            files[k].1 = (lines.join("\n") + "\n").into_bytes();
        }
        Edit::Remove(i) => {
            let k = i.index(files.len());
            if files[k].0 != "sloop.toml" {
                files.remove(k);
            }
        }
        Edit::Add(path, text) => {
            files.retain(|(p, _)| p != path);
            files.push((path.clone(), text.clone().into_bytes()));
        }
    }
}

fn mutated() -> impl Strategy<Value = Case> {
    let seeds = seeds_cached().clone();
    (
        any::<Index>(),
        prop::collection::vec(edit(), 0..5),
        as_of(),
        created_days(),
        changes(),
        period(),
    )
        .prop_map(move |(i, edits, as_of, created, changes, period)| {
            let (name, files) = &seeds[i.index(seeds.len())];
            let mut files = files.clone();
            for e in &edits {
                apply_edit(&mut files, e);
            }
            Case {
                origin: format!("{name} + {edits:?}"),
                files,
                as_of,
                created,
                changes,
                period,
            }
        })
}

fn structured() -> impl Strategy<Value = Case> {
    let config = prop_oneof![
        2 => gen::config(),
        1 => Just(sloop::config::DEFAULT_TOML.to_string()),
        1 => Just("[team.al]\nname = \"Al\"\nrole = \"ae\"\n[team.bo]\nname = \"Bo\"\nrole = \"sdr\"\n".to_string()),
    ];
    (
        config,
        prop::collection::vec(gen::record_file(), 0..20),
        as_of(),
        created_days(),
        changes(),
        period(),
    )
        .prop_map(|(config, records, as_of, created, changes, period)| {
            let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
            files.insert("sloop.toml".into(), config.into_bytes());
            for (p, t) in records {
                files.insert(p, t.into_bytes());
            }
            Case {
                origin: "generated".into(),
                files: files.into_iter().collect(),
                as_of,
                created,
                changes,
                period,
            }
        })
}

fn seed_cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (name, files) in seeds_cached().iter() {
        let days = [(2026, 11, 26), (2027, 6, 1), (1, 1, 1), (9999, 12, 31)];
        let as_of = days
            .map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("a date"))
            .into_iter()
            .chain([NaiveDate::MIN, NaiveDate::MAX]);
        for (as_of, period) in as_of.zip(PeriodName::ALL.into_iter().cycle()) {
            out.push(Case {
                origin: name.clone(),
                files: files.clone(),
                as_of,
                created: vec![10, 40, 200],
                changes: Vec::new(),
                period,
            });
        }
    }
    out
}

#[test]
fn pipeline_seeds() {
    engine::run_seeds("pipeline", &seed_cases(), check);
}

#[test]
fn pipeline_mutated() {
    engine::run("pipeline", "mutated", 50, mutated(), check);
}

#[test]
fn pipeline_structured() {
    engine::run("pipeline", "structured", 60, structured(), check);
}
