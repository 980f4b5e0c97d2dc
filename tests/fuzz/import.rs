//! CSV lead import: `writes::import::plan` over any bytes and options, against the example
//! CRM and a tiny one.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};

use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::sample::select;

use sloop::crm::Crm;
use sloop::model::{ids, Kind};
use sloop::store::{self, classify, Memory, PathClass};
use sloop::writes::import::{plan, ImportError, Options, Plan, TARGETS};

use crate::engine::{self, Bytes, Files};
use crate::gen;
use crate::props::ensure;

const CSV_TOKENS: &[&[u8]] = &[
    b",",
    b";",
    b"\"",
    b"\"\"",
    b"\",\"",
    b"\r\n",
    b"\n\n\n",
    b"@",
    b"=cmd|' /C calc'!A0",
    b"Email",
    b"Company",
    b"Contact owner",
    b"Website URL",
    b"Lead Status",
    b"ana@novacafe.es",
    b"mathieu.perrin@lyon-cycles.fr",
    b"https://www.",
];

/// The CRMs leads are imported into: the example CRM, and a tiny one with two sdrs.
fn crms() -> &'static [(Files, Crm)] {
    static C: OnceLock<Vec<(Files, Crm)>> = OnceLock::new();
    C.get_or_init(|| {
        let example = engine::files_under(&engine::manifest_dir().join("example-crm"));
        let tiny: Vec<(String, Vec<u8>)> = vec![
            (
                "sloop.toml".into(),
                b"shard = 2\n[team.al]\nname = \"Al\"\nrole = \"sdr\"\nemail = \"al@x.io\"\n[team.bo]\nname = \"Bo\"\nrole = \"sdr\"\n".to_vec(),
            ),
            ("leads/old.toml".into(), b"email = \"known@acme.io\"\n".to_vec()),
            ("leads/co.toml".into(), b"company = \"Known Co\"\n".to_vec()),
        ];
        [example, tiny]
            .into_iter()
            .map(|files| {
                let crm = store::load(&Memory::new(files.clone())).expect("a CRM").crm;
                (files, crm)
            })
            .collect()
    })
}

#[derive(Debug, Clone)]
pub struct Case {
    pub csv: Bytes,
    pub crm: usize,
    pub source: Option<String>,
    pub assign: Vec<String>,
    pub map: Vec<(String, String)>,
    pub today: NaiveDate,
}

/// The CSV, and everything `sloop import leads` takes with it.
fn case(csv: impl Strategy<Value = Bytes>) -> impl Strategy<Value = Case> {
    let assign = prop_oneof![
        4 => Just(Vec::new()),
        1 => prop::collection::vec(select(vec!["al", "bo", "lea", "marc", "nobody"]).prop_map(str::to_string), 1..3),
    ];
    let map = prop_oneof![
        4 => Just(Vec::new()),
        1 => prop::collection::vec(
            (
                select(vec!["Email", "Company", "Favourite colour", "Name", "nope"]).prop_map(str::to_string),
                prop_oneof![select(TARGETS.to_vec()).prop_map(str::to_string), Just("colour".to_string())],
            ),
            1..3
        ),
    ];
    let today = prop_oneof![
        6 => (2000i32..2100, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("a date")),
        1 => select(vec![
            NaiveDate::MIN,
            NaiveDate::MAX,
            NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date"),
            NaiveDate::from_ymd_opt(0, 1, 1).expect("a date"),
        ]),
    ];
    let source =
        prop::option::of(select(vec!["inbound", "outbound", "nope", ""]).prop_map(str::to_string));
    (csv, 0usize..2, source, assign, map, today).prop_map(
        |(csv, crm, source, assign, map, today)| Case {
            csv,
            crm,
            source,
            assign,
            map,
            today,
        },
    )
}

pub fn seeds() -> Vec<(String, Vec<u8>)> {
    engine::corpus("csv")
}

/// What a plan decides, comparable.
fn summary(p: &Result<Plan, ImportError>) -> String {
    match p {
        Ok(p) => format!(
            "{:?} {} {:?}",
            p.leads,
            p.duplicates,
            p.rejected
                .iter()
                .map(|r| (r.line, &r.reason, &r.row))
                .collect::<Vec<_>>()
        ),
        Err(e) => e.to_string(),
    }
}

pub fn check(case: &Case) -> Result<(), String> {
    let (files, crm) = &crms()[case.crm];
    let opts = Options {
        source: case.source.as_deref(),
        assign: case.assign.clone(),
        map: case.map.clone(),
        values: Vec::new(),
        encoding: None,
        today: case.today,
    };
    let mut last = 0;
    let mut progress_ok = true;
    let result = plan(crm, &case.csv.bytes, &opts, |line| {
        progress_ok &= line > last;
        last = line;
    });
    ensure(progress_ok, || "progress went backwards".into())?;
    // A byte order mark changes nothing on a UTF-8 file (one that is not UTF-8 is read as
    // Windows-1252 without a mark, and refused with a UTF-8 mark that its bytes belie).
    if !case.csv.bytes.starts_with(b"\xef\xbb\xbf") && std::str::from_utf8(&case.csv.bytes).is_ok()
    {
        let bom = [b"\xef\xbb\xbf".as_slice(), &case.csv.bytes].concat();
        let with_bom = plan(crm, &bom, &opts, |_| {});
        ensure(summary(&with_bom) == summary(&result), || {
            format!("a BOM changes the plan: {with_bom:?}\nwithout: {result:?}")
        })?;
    }
    let Ok(p) = result else {
        return Ok(());
    };
    // The text as the import decoded it (Windows-1252 when the bytes are not UTF-8).
    let text = match sloop::writes::import::table::decode(&case.csv.bytes, None) {
        Ok(d) => d.text,
        Err(_) => crate::props::text_of(&case.csv.bytes),
    };
    // Lines as people count them: ended by CRLF, LF or a lone CR.
    let normal = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = normal.split('\n').collect();
    for r in &p.rejected {
        let at = usize::try_from(r.line).unwrap_or(usize::MAX);
        let Some(line) = lines.get(at.wrapping_sub(1)).filter(|_| at >= 2) else {
            return Err(format!(
                "rejected row at line {} of a {}-line file: {r:?}",
                r.line,
                lines.len()
            ));
        };
        // The row starts on that line: its first cell is there (unless quoting changed it).
        if let Some(first) = r
            .row
            .first()
            .filter(|c| !c.is_empty() && !line.contains('"'))
        {
            let head = first.lines().next().unwrap_or("").trim();
            ensure(line.contains(head), || {
                format!(
                    "rejected row {:?} reported at line {}, which is {line:?}",
                    r.row, r.line
                )
            })?;
        }
    }
    // Every planned lead is a valid, new record at its place.
    let mut new_ids = HashSet::new();
    let existing: HashSet<&str> = crm.ids(Kind::Lead).into_iter().map(|(_, id)| id).collect();
    for (id, path, text) in &p.leads {
        ids::validate(id).map_err(|e| format!("planned lead id `{id}` is invalid: {e}"))?;
        ensure(
            new_ids.insert(id.clone()) && !existing.contains(id.as_str()),
            || format!("lead id `{id}` planned twice or already taken"),
        )?;
        ensure(classify(path) == PathClass::Record(Kind::Lead, id), || {
            format!("lead {id} planned at {path}")
        })?;
        let (record, diags) = store::load_file(Kind::Lead, id, path, text.as_bytes(), &crm.config);
        ensure(
            !record.meta().broken && !diags.iter().any(|d| d.is_error()),
            || format!("planned lead {path} has errors: {diags:?}\n{text}"),
        )?;
    }
    // Importing twice adds nothing: the second plan finds every lead of the first.
    if !p.leads.is_empty() {
        let mut all: BTreeMap<String, Vec<u8>> = files.iter().cloned().collect();
        for (_, path, text) in &p.leads {
            all.insert(path.clone(), text.clone().into_bytes());
        }
        let loaded = store::load(&Memory::new(all)).map_err(|e| format!("load failed: {e}"))?;
        let new_errors: Vec<_> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error() && p.leads.iter().any(|(_, path, _)| *path == d.path))
            .collect();
        ensure(new_errors.is_empty(), || {
            format!("imported leads fail the check: {new_errors:?}")
        })?;
        let again = plan(&loaded.crm, &case.csv.bytes, &opts, |_| {})
            .map_err(|e| format!("the second import fails: {e}"))?;
        ensure(again.leads.is_empty(), || {
            format!(
                "a second import plans {} more leads: {:?}",
                again.leads.len(),
                again.leads
            )
        })?;
    }
    Ok(())
}

#[test]
fn import_seeds() {
    let cases: Vec<Case> = seeds()
        .into_iter()
        .flat_map(|(origin, bytes)| {
            (0..2).map(move |crm| Case {
                csv: Bytes {
                    origin: origin.clone(),
                    bytes: bytes.clone(),
                },
                crm,
                source: None,
                assign: Vec::new(),
                map: Vec::new(),
                today: NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date"),
            })
        })
        .collect();
    engine::run_seeds("import", &cases, check);
}

#[test]
fn import_mutated() {
    engine::run(
        "import",
        "mutated",
        300,
        case(engine::mutated(Arc::new(seeds()), CSV_TOKENS)),
        check,
    );
}

#[test]
fn import_structured() {
    let csv = gen::csv().prop_map(|text| Bytes {
        origin: "generated".into(),
        bytes: text.into_bytes(),
    });
    engine::run("import", "structured", 250, case(csv), check);
}
