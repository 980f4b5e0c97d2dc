//! Record files: `store::load_file` (what the loader does per file), the history's reading
//! of a version (`history::parse_fields`), and the format-preserving editor
//! (`store::edit::RecordEdit`) on the same text.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::sample::{select, Index};

use sloop::config::Config;
use sloop::diag::Code;
use sloop::history::{parse_fields, permissive_config};
use sloop::model::flatten::flatten;
use sloop::store::edit::{FieldValue, RecordEdit};
use sloop::store::{self, classify, PathClass};

use crate::engine::{self, Bytes, TOML_TOKENS};
use crate::gen;
use crate::props::{ensure, positions};

/// The seeds: `tests/fuzz/corpus/records/` (by kind folder), the example CRM's records and
/// every record file of the `tests/errors/` catalogue.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = engine::corpus("records");
    let root = engine::manifest_dir();
    for (origin, dir) in [
        ("example-crm", root.join("example-crm")),
        ("errors", root.join("tests/errors")),
    ] {
        for (path, bytes) in engine::files_under(&dir) {
            // `tests/errors/<code>/accounts/x.toml` → `accounts/x.toml`.
            let rel = match origin {
                "errors" => path
                    .split_once('/')
                    .map(|(_, r)| r.to_string())
                    .unwrap_or(path),
                _ => path,
            };
            if matches!(classify(&rel), PathClass::Record(..)) {
                out.push((rel, bytes));
            }
        }
    }
    out
}

/// An edit to try on the record: set a field to a value, or remove it.
#[derive(Debug, Clone)]
pub enum EditOp {
    Set(String, FieldValue),
    Remove(String),
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(gen::FOLDERS).prop_flat_map(|f| select(gen::keys_of(f))).prop_map(str::to_string),
        2 => select(vec!["bant.budget", "bant.need", "commit.plan", "commit.users", "commit.start_date", "custom.region", "custom.x"]).prop_map(str::to_string),
        1 => select(vec!["", ".", "a.b.c", "bant.", ".x", "x y", "\"q\"", "custom.\u{e9}"]).prop_map(str::to_string),
    ]
}

fn field_value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        4 => gen::text().prop_map(FieldValue::Str),
        2 => (-719_162i64..2_932_896).prop_map(|days| FieldValue::Date(
            NaiveDate::from_num_days_from_ce_opt(days as i32 + 719_163).unwrap_or(NaiveDate::MIN)
        )),
        1 => any::<i64>().prop_map(FieldValue::Int),
        1 => any::<f64>().prop_map(FieldValue::Float),
        1 => any::<bool>().prop_map(FieldValue::Bool),
        1 => prop::collection::vec(gen::text(), 0..4).prop_map(FieldValue::Strings),
    ]
}

fn edit_op() -> impl Strategy<Value = EditOp> {
    prop_oneof![
        3 => (field_name(), field_value()).prop_map(|(f, v)| EditOp::Set(f, v)),
        1 => field_name().prop_map(EditOp::Remove),
    ]
}

/// One case: a record file (its path says its kind) and an edit to try on it.
#[derive(Debug, Clone)]
pub struct Case {
    pub path: String,
    pub file: Bytes,
    pub edit: Option<EditOp>,
}

fn config() -> &'static Config {
    static C: OnceLock<Config> = OnceLock::new();
    C.get_or_init(Config::default)
}

/// What must hold for any bytes at a record path.
pub fn check(case: &Case) -> Result<(), String> {
    let (path, bytes) = (case.path.as_str(), case.file.bytes.as_slice());
    let PathClass::Record(kind, id) = classify(path) else {
        return Err(format!("{path} is not a record path"));
    };
    let (record, diags) = store::load_file(kind, id, path, bytes, config());
    // Deterministic.
    let (again, diags_again) = store::load_file(kind, id, path, bytes, config());
    ensure(diags == diags_again, || "two reads disagree".into())?;
    let (m, n) = (record.meta(), again.meta());
    ensure(
        (&m.id, &m.path, &m.locs, m.broken) == (&n.id, &n.path, &n.locs, n.broken)
            && flatten(&record) == flatten(&again),
        || "two reads give different records".into(),
    )?;
    // The record is this file's.
    ensure(
        record.kind() == kind && record.meta().id == id && record.meta().path == path,
        || {
            format!(
                "record is {:?} {:?}, file is {kind:?} {path}",
                record.kind(),
                record.meta()
            )
        },
    )?;
    let files = BTreeMap::from([(path.to_string(), bytes.to_vec())]);
    positions(&diags, &files)?;
    // A byte order mark changes nothing (positions are counted after it).
    if !bytes.starts_with(b"\xef\xbb\xbf") {
        let bom = [b"\xef\xbb\xbf".as_slice(), bytes].concat();
        let (with_bom, bom_diags) = store::load_file(kind, id, path, &bom, config());
        ensure(
            flatten(&with_bom) == flatten(&record) && bom_diags == diags,
            || format!("a BOM changes the reading: {bom_diags:?}\nwithout: {diags:?}"),
        )?;
    }
    // A broken record says why.
    let errors = diags.iter().filter(|d| d.is_error()).count();
    ensure(!record.meta().broken || errors > 0, || {
        "a broken record without an error".into()
    })?;
    // Every present field has a position inside the file.
    for (field, loc) in &record.meta().locs {
        ensure(loc.line >= 1, || format!("field {field} at line 0"))?;
    }
    // Flattening (history, exports) never fails.
    let _ = flatten(&record);
    // The history reads a version as the loader does: it fails exactly when the file is
    // not a record at all.
    let history = parse_fields(kind, path, bytes, &permissive_config());
    let unreadable = diags
        .iter()
        .any(|d| matches!(d.code, Code::NotUtf8 | Code::Syntax | Code::EmptyFile));
    ensure(history.is_err() == unreadable, || {
        format!("history reads it as {history:?}, the loader's diagnostics are {diags:?}")
    })?;
    check_edit(case, unreadable, errors == 0)
}

/// The editor agrees with the loader on what TOML is, writes an unchanged file back byte
/// for byte, and an edit changes the field it names and no other.
fn check_edit(case: &Case, unreadable: bool, valid: bool) -> Result<(), String> {
    let bytes = case.file.bytes.as_slice();
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(());
    };
    let edit = match RecordEdit::parse(text) {
        Ok(e) => e,
        Err(e) => {
            // A record that passes the check must be editable (`set`, `move`, `tick`).
            return ensure(!valid, || {
                format!("the loader reads the file without an error, the editor refuses it: {e}")
            });
        }
    };
    ensure(edit.clone().finish() == text, || {
        "an unchanged file is not written back as it was".into()
    })?;
    if unreadable {
        return Ok(());
    }
    let Some(op) = &case.edit else {
        return Ok(());
    };
    let PathClass::Record(kind, id) = classify(&case.path) else {
        return Ok(());
    };
    let permissive = permissive_config();
    let read = |t: &str| {
        let (r, d) = sloop::store::parse::parse_record(kind, id, &case.path, t, &permissive);
        (flatten(&r), d, r.meta().broken)
    };
    let (before, _, _) = read(text);
    let mut edit = edit;
    let field = match op {
        EditOp::Set(field, value) => {
            let changed = match edit.set(field, value.clone()) {
                Ok(c) => c,
                Err(_) => return Ok(()),
            };
            let out = edit.clone().finish();
            if !changed {
                ensure(out == text, || {
                    "set reported no change but the text changed".into()
                })?;
            }
            // The value reads back as written.
            let back = RecordEdit::parse(&out)
                .map_err(|e| format!("edited text does not parse: {e}\n{out}"))?;
            let got = back.get(field);
            let same = match (&got, value) {
                (Some(FieldValue::Float(a)), FieldValue::Float(b)) => {
                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
                }
                (got, v) => got.as_ref() == Some(v),
            };
            ensure(same, || {
                format!("set {field} = {value:?}, reads back {got:?}\n{out}")
            })?;
            field.clone()
        }
        EditOp::Remove(field) => {
            if !edit.remove(field) {
                ensure(edit.clone().finish() == text, || {
                    "remove of an absent field changed the text".into()
                })?;
                return Ok(());
            }
            let out = edit.clone().finish();
            let back = RecordEdit::parse(&out)
                .map_err(|e| format!("edited text does not parse: {e}\n{out}"))?;
            ensure(!back.contains(field), || {
                format!("{field} is still there after remove\n{out}")
            })?;
            field.clone()
        }
    };
    let out = edit.finish();
    let (after, diags, broken) = read(&out);
    // Removing the last field empties the file: that is the one way an edit may break it.
    let emptied =
        matches!(op, EditOp::Remove(_)) && diags.iter().any(|d| d.code == Code::EmptyFile);
    ensure(!broken || emptied, || {
        format!("the edited record is broken: {diags:?}\n{out}")
    })?;
    // Line endings and a BOM are kept.
    // (A file that mixes them may keep toml_edit's LF: converting could change a value.)
    let crlf = text.matches('\n').count() == text.matches("\r\n").count() && text.contains('\n');
    if crlf {
        ensure(
            out.char_indices()
                .all(|(i, c)| c != '\n' || out[..i].ends_with('\r')),
            || format!("a CRLF file got a bare LF:\n{out:?}"),
        )?;
    }
    ensure(
        text.starts_with('\u{feff}') == out.starts_with('\u{feff}'),
        || "the BOM changed".into(),
    )?;
    // No other field changed.
    let table = field.split('.').next().unwrap_or("");
    for (k, v) in before.iter() {
        if *k == field || (k.starts_with(&format!("{field}.")) && !table.is_empty()) {
            continue;
        }
        ensure(after.get(k) == Some(v), || {
            format!(
                "editing {field} changed {k}: {v:?} → {:?}\nbefore:\n{text}\nafter:\n{out}",
                after.get(k)
            )
        })?;
    }
    for (k, v) in after.iter() {
        if *k == field {
            continue;
        }
        ensure(before.get(k).is_some(), || {
            format!("editing {field} added {k} = {v:?}\nbefore:\n{text}\nafter:\n{out}")
        })?;
    }
    Ok(())
}

fn seed_cases() -> Vec<Case> {
    seeds()
        .into_iter()
        .map(|(path, bytes)| Case {
            file: Bytes {
                origin: path.clone(),
                bytes,
            },
            path,
            edit: None,
        })
        .collect()
}

/// A seed's bytes, mutated, read as any kind (an account's text at a contact's path…).
fn mutated_case(seeds: Arc<Vec<(String, Vec<u8>)>>) -> impl Strategy<Value = Case> {
    (
        engine::mutated(seeds.clone(), TOML_TOKENS),
        any::<Index>(),
        prop::option::of(edit_op()),
        any::<bool>(),
    )
        .prop_map(move |(file, i, edit, keep_path)| {
            let path = if keep_path {
                let name = file.origin.split(" + ").next().unwrap_or("");
                seeds
                    .iter()
                    .find(|(p, _)| p == name)
                    .map(|(p, _)| p.clone())
                    .unwrap_or_else(|| "accounts/x.toml".into())
            } else {
                format!("{}/x.toml", gen::FOLDERS[i.index(gen::FOLDERS.len())])
            };
            Case { path, file, edit }
        })
}

fn structured_case() -> impl Strategy<Value = Case> {
    (gen::record_file(), prop::option::of(edit_op())).prop_map(|((path, text), edit)| Case {
        path,
        file: Bytes {
            origin: "generated".into(),
            bytes: text.into_bytes(),
        },
        edit,
    })
}

#[test]
fn records_seeds() {
    engine::run_seeds("records", &seed_cases(), check);
}

#[test]
fn records_mutated() {
    let seeds = Arc::new(seeds());
    engine::run("records", "mutated", 600, mutated_case(seeds), check);
}

#[test]
fn records_structured() {
    engine::run("records", "structured", 500, structured_case(), check);
}
