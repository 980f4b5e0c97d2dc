//! Judging changes between two versions of the CRM: a stage or status may only move to one
//! its `next` list allows, a new record starts at an entry point, nothing is deleted. Pure:
//! the caller pairs old and new versions (from the work tree, the index or commits).

use std::collections::BTreeMap;

use crate::config::Config;
use crate::diag::{one_of, Code, Diagnostic, Loc};
use crate::model::flatten::flatten;
use crate::model::AnyRecord;
use crate::model::Kind;

/// One record in two versions. `old: None` is a new record, `new: None` a deleted one.
#[derive(Debug, Clone, Copy)]
pub struct RecordChange<'a> {
    pub kind: Kind,
    pub id: &'a str,
    /// Where the record is now (or was, when deleted), relative to the CRM root.
    pub path: &'a str,
    pub old: Option<&'a AnyRecord>,
    pub new: Option<&'a AnyRecord>,
}

/// The fields whose values differ between two versions (dotted names, as `model::flatten`
/// names them).
pub fn changed_fields(old: &AnyRecord, new: &AnyRecord) -> Vec<String> {
    let (a, b) = (flatten(old), flatten(new));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(k) != b.get(k))
        .cloned()
        .collect()
}

/// Groups per-path changes into per-record changes: a file moved to another folder under the
/// same id is one change, not a deletion plus a creation.
pub fn pair<'a>(
    olds: &'a [(String, AnyRecord)],
    news: &'a [(String, AnyRecord)],
) -> Vec<RecordChange<'a>> {
    type Versions<'a> = (
        Option<&'a (String, AnyRecord)>,
        Option<&'a (String, AnyRecord)>,
    );
    let mut by_id: BTreeMap<(Kind, &str), Versions<'a>> = BTreeMap::new();
    for o in olds {
        by_id
            .entry((o.1.kind(), o.1.meta().id.as_str()))
            .or_default()
            .0 = Some(o);
    }
    for n in news {
        by_id
            .entry((n.1.kind(), n.1.meta().id.as_str()))
            .or_default()
            .1 = Some(n);
    }
    by_id
        .into_iter()
        .map(|((kind, id), (o, n))| RecordChange {
            kind,
            id,
            path: n.or(o).map(|x| x.0.as_str()).unwrap_or(""),
            old: o.map(|x| &x.1),
            new: n.map(|x| &x.1),
        })
        .collect()
}

/// The trailer an import commit carries (`Sloop-Import: hubspot`), and the `[custom]` key
/// of the records it adds (`import_id = "hubspot:9281736401"`).
pub const IMPORT_TRAILER: &str = "Sloop-Import";
pub const IMPORT_ID: &str = "import_id";

/// The import a commit message declares in its trailer (`Sloop-Import: hubspot`), if any.
pub fn import_trailer(message: &str) -> Option<&str> {
    message
        .lines()
        .rev()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(IMPORT_TRAILER)?.strip_prefix(':'))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Whether a record was added by the import `source`: its `custom.import_id` is
/// `<source>:…`.
pub fn imported_by(record: &AnyRecord, source: &str) -> bool {
    record
        .custom()
        .as_ref()
        .and_then(|c| c.get(IMPORT_ID))
        .and_then(|v| v.as_str())
        .and_then(|id| id.strip_prefix(source))
        .is_some_and(|rest| rest.starts_with(':'))
}

/// `judge`, for a change an import made: a record the import added (in this change or an
/// earlier one) may start in any stage or status and move as the export says, since the
/// history is the export's; every other rule applies, and to every other record.
pub fn judge_import(config: &Config, change: &RecordChange, source: &str) -> Vec<Diagnostic> {
    let ours = match (change.old, change.new) {
        (None, Some(new)) => imported_by(new, source),
        (Some(old), Some(new)) => imported_by(old, source) && imported_by(new, source),
        _ => false,
    };
    let mut out = judge(config, change);
    if ours {
        out.retain(|d| !matches!(d.code, Code::NotEntry | Code::IllegalTransition));
    }
    out
}

/// Diagnostics for one change under a CRM's rules.
pub fn judge(config: &Config, change: &RecordChange) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    match (change.old, change.new) {
        (Some(old), None) => out.push(deleted(change, old)),
        (None, Some(new)) => {
            if let Some(d) = entry(config, change, new) {
                out.push(d);
            }
        }
        (Some(old), Some(new)) => {
            if let Some(d) = moved(config, change, old, new) {
                out.push(d);
            }
        }
        (None, None) => {}
    }
    out
}

fn deleted(change: &RecordChange, old: &AnyRecord) -> Diagnostic {
    let hint = match change.kind {
        Kind::Opportunity => "restore it and close it instead: `stage = \"lost\"` with a `lost_reason` (git checkout HEAD -- <file>)".to_string(),
        Kind::Account => "restore it and close it instead: `status = \"disqualified\"` (git checkout HEAD -- <file>)".to_string(),
        Kind::Lead => "restore it and close it instead: `status = \"rejected\"` (git checkout HEAD -- <file>)".to_string(),
        Kind::Contact => "restore it (git checkout HEAD -- <file>): people who left can stay as history; note it in `title` or `[custom]`".to_string(),
        Kind::Activity => "restore it (git checkout HEAD -- <file>): activities are history; a task is closed with `done = true`".to_string(),
    };
    let _ = old;
    Diagnostic::new(
        Code::DeletedRecord,
        change.path,
        Loc {
            line: 0,
            column: 0,
            len: 0,
        },
        format!(
            "{} `{}` was deleted: records are closed, never deleted",
            change.kind.with_article(),
            change.id
        ),
    )
    .with_hint(hint)
}

fn entry(config: &Config, change: &RecordChange, new: &AnyRecord) -> Option<Diagnostic> {
    let (state, field, entries): (&str, &str, Vec<&str>) = match new {
        AnyRecord::Opportunity(o) => {
            let stage = config.stage(&o.stage)?;
            if stage.entry {
                return None;
            }
            (
                &o.stage,
                "stage",
                config
                    .stages
                    .iter()
                    .filter(|s| s.entry)
                    .map(|s| s.name.as_str())
                    .collect(),
            )
        }
        AnyRecord::Account(a) => {
            let status = config.status(&a.status)?;
            if status.entry {
                return None;
            }
            (
                &a.status,
                "status",
                config
                    .statuses
                    .iter()
                    .filter(|s| s.entry)
                    .map(|s| s.name.as_str())
                    .collect(),
            )
        }
        _ => return None,
    };
    let meta = new.meta();
    Some(
        Diagnostic::new(
            Code::NotEntry,
            change.path,
            meta.loc(field),
            format!(
                "new {} starts at {field} `{state}`, which is not an entry {field}",
                change.kind
            ),
        )
        .with_hint(format!(
            "start it at {} and move it forward in later commits",
            one_of(&entries)
        )),
    )
}

fn moved(
    config: &Config,
    change: &RecordChange,
    old: &AnyRecord,
    new: &AnyRecord,
) -> Option<Diagnostic> {
    if old.meta().broken || new.meta().broken {
        return None;
    }
    let (from, to) = (old.state()?, new.state()?);
    if from == to {
        return None;
    }
    let (field, next): (&str, &[String]) = match new {
        AnyRecord::Opportunity(_) => ("stage", &config.stage(from)?.next),
        AnyRecord::Account(_) => ("status", &config.status(from)?.next),
        // Lead statuses are not a configured method: any move is allowed.
        _ => return None,
    };
    let known = match new {
        AnyRecord::Opportunity(_) => config.stage(to).is_some(),
        _ => config.status(to).is_some(),
    };
    if !known || next.iter().any(|n| n == to) {
        return None;
    }
    let hint = if next.is_empty() {
        format!("`{from}` is final: nothing may follow it")
    } else {
        format!("from `{from}` {} may move to {}", change.kind, one_of(next))
    };
    Some(
        Diagnostic::new(
            Code::IllegalTransition,
            change.path,
            new.meta().loc(field),
            format!(
                "{} moved from {field} `{from}` to `{to}`, which `{from}` does not allow",
                change.kind
            ),
        )
        .with_hint(hint),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::parse::parse_record;

    fn opp(stage: &str) -> AnyRecord {
        let text = format!("name = \"O\"\naccount = \"a\"\nowner = \"al\"\nstage = \"{stage}\"\nsource = \"inbound\"\n");
        parse_record(
            Kind::Opportunity,
            "o",
            "opportunities/o.toml",
            &text,
            &Config::default(),
        )
        .0
    }

    fn acc(status: &str) -> AnyRecord {
        let text = format!("name = \"A\"\nstatus = \"{status}\"\n");
        parse_record(
            Kind::Account,
            "a",
            "accounts/a.toml",
            &text,
            &Config::default(),
        )
        .0
    }

    fn judge_pair(old: Option<&AnyRecord>, new: Option<&AnyRecord>) -> Vec<Diagnostic> {
        let kind = new.or(old).unwrap().kind();
        let change = RecordChange {
            kind,
            id: "x",
            path: "p.toml",
            old,
            new,
        };
        judge(&Config::default(), &change)
    }

    #[test]
    fn allowed_moves_pass_and_skips_are_refused() {
        let c = Config::default();
        assert!(judge_pair(Some(&opp("identified")), Some(&opp("qualified"))).is_empty());
        assert!(judge_pair(Some(&opp("trial")), Some(&opp("won"))).is_empty());
        let d = judge_pair(Some(&opp("identified")), Some(&opp("commit")));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::IllegalTransition);
        assert_eq!(d[0].message, "opportunity moved from stage `identified` to `commit`, which `identified` does not allow");
        assert_eq!(
            d[0].hint.as_deref(),
            Some("from `identified` opportunity may move to `qualified` or `lost`")
        );
        assert_eq!(d[0].line, 4);
        let d = judge_pair(Some(&acc("customer")), Some(&acc("target")));
        assert_eq!(d[0].code, Code::IllegalTransition);
        let d = judge_pair(Some(&opp("won")), Some(&opp("lost")));
        assert_eq!(
            d[0].hint.as_deref(),
            Some("`won` is final: nothing may follow it")
        );
        // every next of every stage is allowed
        for s in &c.stages {
            for n in &s.next {
                assert!(
                    judge_pair(Some(&opp(&s.name)), Some(&opp(n))).is_empty(),
                    "{} -> {n}",
                    s.name
                );
            }
        }
    }

    #[test]
    fn new_records_start_at_an_entry_point() {
        assert!(judge_pair(None, Some(&opp("identified"))).is_empty());
        assert!(judge_pair(None, Some(&opp("trial"))).is_empty());
        let d = judge_pair(None, Some(&opp("won")));
        assert_eq!(d[0].code, Code::NotEntry);
        assert_eq!(
            d[0].hint.as_deref(),
            Some("start it at `identified` or `trial` and move it forward in later commits")
        );
        assert!(judge_pair(None, Some(&acc("customer"))).is_empty());
        assert_eq!(
            judge_pair(None, Some(&acc("working")))[0].code,
            Code::NotEntry
        );
    }

    #[test]
    fn deletion_is_refused_with_how_to_close() {
        let d = judge_pair(Some(&opp("trial")), None);
        assert_eq!(d[0].code, Code::DeletedRecord);
        assert!(d[0].hint.as_deref().unwrap().contains("`stage = \"lost\"`"));
    }

    #[test]
    fn changed_fields_names_each_field() {
        let a = opp("identified");
        let b = opp("qualified");
        assert_eq!(changed_fields(&a, &b), vec!["stage"]);
        assert!(changed_fields(&a, &a).is_empty());
    }

    #[test]
    fn moving_a_file_between_folders_is_not_a_deletion() {
        let a = acc("target");
        let olds = vec![("accounts/a.toml".to_string(), a.clone())];
        let news = vec![("accounts/a/a.toml".to_string(), a)];
        let changes = pair(&olds, &news);
        assert_eq!(changes.len(), 1);
        assert!(judge(&Config::default(), &changes[0]).is_empty());
    }

    #[test]
    fn an_import_commit_excuses_the_moves_of_the_records_it_added_and_only_those() {
        assert_eq!(
            import_trailer(
                "sloop import hubspot: 2024-01-15\n\n2 accounts\n\nSloop-Import: hubspot\n"
            ),
            Some("hubspot")
        );
        assert_eq!(import_trailer("fix: Sloop-Import is a trailer\n"), None);
        let config = Config::default();
        let opp = |stage: &str, custom: &str| {
            let text = format!("name = \"X\"\naccount = \"a\"\nowner = \"o\"\nstage = \"{stage}\"\nsource = \"inbound\"\n{custom}");
            parse_record(
                Kind::Opportunity,
                "x",
                "opportunities/x.toml",
                &text,
                &config,
            )
            .0
        };
        let imported = "[custom]\nimport_id = \"hubspot:42\"\n";
        let (new, old) = (opp("closing", imported), opp("identified", imported));
        fn change<'a>(old: Option<&'a AnyRecord>, new: Option<&'a AnyRecord>) -> RecordChange<'a> {
            RecordChange {
                kind: Kind::Opportunity,
                id: "x",
                path: "opportunities/x.toml",
                old,
                new,
            }
        }
        // Created in `closing` and moved from identified to closing: excused.
        assert!(!judge(&config, &change(None, Some(&new))).is_empty());
        assert!(judge_import(&config, &change(None, Some(&new)), "hubspot").is_empty());
        assert!(judge_import(&config, &change(Some(&old), Some(&new)), "hubspot").is_empty());
        // Another import, a record without the id, a deletion: judged as ever.
        assert!(!judge_import(&config, &change(None, Some(&new)), "pipedrive").is_empty());
        let hand = opp("closing", "");
        assert!(!judge_import(&config, &change(None, Some(&hand)), "hubspot").is_empty());
        assert!(!judge_import(&config, &change(Some(&old), None), "hubspot").is_empty());
    }
}
