//! Small hand-built inputs for the metrics' unit tests: a CRM from inline TOML, dates.

use chrono::NaiveDate;

use crate::crm::Crm;
use crate::store::{load, Memory};

pub const TEAM: &str =
    "[team.al]\nname = \"Al\"\nrole = \"ae\"\n[team.bo]\nname = \"Bo\"\nrole = \"sdr\"\n";

pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A CRM of `files` (path, text) with `TEAM`, which must load without errors.
pub fn crm(files: &[(&str, String)]) -> Crm {
    crm_with(TEAM, files)
}

/// The same with another `sloop.toml`.
pub fn crm_with(config: &str, files: &[(&str, String)]) -> Crm {
    let mut all = vec![("sloop.toml".to_string(), config.as_bytes().to_vec())];
    all.extend(
        files
            .iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec())),
    );
    let loaded = load(&Memory::new(all)).unwrap();
    let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    loaded.crm
}

/// An opportunity of account `acme` owned by `al`, at `stage`, with more fields (and
/// `source = "inbound"` unless they set another).
pub fn opp(stage: &str, extra: &str) -> String {
    let source = if extra.contains("source = ") {
        ""
    } else {
        "source = \"inbound\"\n"
    };
    format!(
        "name = \"Deal\"\naccount = \"acme\"\nowner = \"al\"\nstage = \"{stage}\"\n{source}{extra}"
    )
}

/// A won deal: `mrr`, `close_date`, and a plan (and a start date when given).
pub fn won(mrr: u32, close: &str, start: Option<&str>) -> String {
    let start = start
        .map(|s| format!("start_date = {s}\n"))
        .unwrap_or_default();
    opp(
        "won",
        &format!("mrr = {mrr}\nclose_date = {close}\n[commit]\nplan = \"pro\"\n{start}"),
    )
}

pub fn account(id: &str, status: &str) -> (String, String) {
    (
        format!("accounts/{id}.toml"),
        format!("name = \"{id}\"\nstatus = \"{status}\"\nowner = \"al\"\n"),
    )
}
