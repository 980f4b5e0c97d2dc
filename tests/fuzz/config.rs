//! `sloop.toml`: `store::parse_config` (`Config::parse` behind the UTF-8 check), then the
//! rules, a tick plan and the weekly metrics of a small CRM under that config.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use chrono::NaiveDate;
use proptest::prelude::*;

use sloop::lifecycle::{self, Facts};
use sloop::store::{self, Memory};

use crate::engine::{self, Bytes, TOML_TOKENS};
use crate::gen;
use crate::props::{ensure, positions};

/// `tests/fuzz/corpus/config/`, the example CRM's, the default one and every `sloop.toml` of
/// the `tests/errors/` catalogue.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = engine::corpus("config");
    let root = engine::manifest_dir();
    out.push((
        "example-crm/sloop.toml".into(),
        std::fs::read(root.join("example-crm/sloop.toml")).unwrap_or_default(),
    ));
    out.push((
        "default.toml".into(),
        sloop::config::DEFAULT_TOML.as_bytes().to_vec(),
    ));
    for (path, bytes) in engine::files_under(&root.join("tests/errors")) {
        if path.ends_with("/sloop.toml") {
            out.push((format!("errors/{path}"), bytes));
        }
    }
    out
}

/// The example CRM's accounts and opportunities and some of its other records, to run the
/// rules on under the fuzzed config.
fn records() -> &'static Vec<(String, Vec<u8>)> {
    static R: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    R.get_or_init(|| {
        let root = engine::manifest_dir().join("example-crm");
        engine::files_under(&root)
            .into_iter()
            .filter(|(p, _)| p != "sloop.toml")
            .enumerate()
            .filter(|(i, (p, _))| {
                p.starts_with("accounts/") || p.starts_with("opportunities/") || i % 4 == 0
            })
            .map(|(_, f)| f)
            .collect()
    })
}

pub fn check(file: &Bytes) -> Result<(), String> {
    let bytes = &file.bytes;
    let (config, diags) = store::parse_config(bytes);
    let (_, again) = store::parse_config(bytes);
    ensure(diags == again, || "two reads disagree".into())?;
    let files = BTreeMap::from([("sloop.toml".to_string(), bytes.clone())]);
    positions(&diags, &files)?;
    // A section that cannot be read falls back to its default: there is always a method.
    ensure(
        !config.stages.is_empty() && !config.statuses.is_empty(),
        || "a config without stages or statuses".into(),
    )?;
    ensure(config.shard <= 8, || {
        format!("shard {} outside 0..=8", config.shard)
    })?;
    for s in &config.stages {
        ensure(s.probability <= 100, || {
            format!("stage {} has probability {}", s.name, s.probability)
        })?;
    }
    // The rest of sloop runs under it.
    let mut all: Vec<(String, Vec<u8>)> = records().clone();
    all.push(("sloop.toml".into(), bytes.clone()));
    let loaded = store::load(&Memory::new(all.clone())).map_err(|e| format!("load failed: {e}"))?;
    let checked = sloop::check::check(&loaded.crm);
    let files: BTreeMap<String, Vec<u8>> = all.into_iter().collect();
    positions(&loaded.diagnostics, &files)?;
    positions(&checked, &files)?;
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date");
    // Every account in its status, and every opportunity open, for a year: the
    // thresholds of the config all come into play.
    let year_ago = NaiveDate::from_ymd_opt(2025, 11, 26).expect("a date");
    let facts = Facts {
        status_since: loaded
            .crm
            .accounts
            .iter()
            .map(|a| (a.meta.id.clone(), year_ago))
            .collect(),
        opportunity_added: loaded
            .crm
            .opportunities
            .iter()
            .map(|o| (o.meta.id.clone(), year_ago))
            .collect(),
        stage_since: loaded
            .crm
            .opportunities
            .iter()
            .map(|o| (o.meta.id.clone(), year_ago))
            .collect(),
    };
    // Whatever the config says, a date in the calendar is planned for.
    let plan = lifecycle::plan(&loaded.crm, &facts, as_of)
        .map_err(|e| format!("the plan refuses as of {as_of}: {e}"))?;
    let _ = lifecycle::agenda::build(&loaded.crm, &facts, plan.alerts, None, as_of);
    Ok(())
}

#[test]
fn config_seeds() {
    let seeds: Vec<Bytes> = seeds()
        .into_iter()
        .map(|(origin, bytes)| Bytes { origin, bytes })
        .collect();
    engine::run_seeds("config", &seeds, check);
}

#[test]
fn config_mutated() {
    engine::run(
        "config",
        "mutated",
        150,
        engine::mutated(Arc::new(seeds()), TOML_TOKENS),
        check,
    );
}

#[test]
fn config_structured() {
    let strategy = gen::config().prop_map(|text| Bytes {
        origin: "generated".into(),
        bytes: text.into_bytes(),
    });
    engine::run("config", "structured", 100, strategy, check);
}
