use std::path::Path;

use super::table::{Column, Table, Value};
use super::{locate, CliError, Env, Out, Status, TableFormat};
use crate::crm::Crm;
use crate::diag::{one_of, suggest};
use crate::model::{Kind, LeadStatus};
use crate::store::{self, WorkTree};

/// List records of one kind as a table (or JSON, CSV), with filters.
///
/// Examples: `sloop ls accounts --status target`, `sloop ls opportunities --owner marc`,
/// `sloop ls activities --account acme --format csv`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// accounts, contacts, opportunities, leads or activities (singular works too).
    #[arg(add = super::complete::with(super::complete::kinds))]
    pub kind: String,
    /// Accounts and leads: only this status.
    #[arg(long, add = super::complete::with(super::complete::statuses))]
    pub status: Option<String>,
    /// Opportunities: only this stage (or `open`, `closed`).
    #[arg(long, add = super::complete::with(super::complete::stage_filters))]
    pub stage: Option<String>,
    /// Only records owned by this team member.
    #[arg(long, add = super::complete::with(super::complete::members))]
    pub owner: Option<String>,
    /// Contacts, opportunities, activities: only those of this account.
    #[arg(long, add = super::complete::with(super::complete::accounts))]
    pub account: Option<String>,
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
}

/// The records as a table (text or CSV) and as JSON.
struct Rows<'c> {
    table: Table,
    json: Vec<Record<'c>>,
}

/// A record listed as JSON: turned into its JSON object only as it is written
/// (`Out::json_stream`), so that a list of 200,000 activities is never held as JSON.
enum Record<'c> {
    Account(&'c crate::model::Account),
    Contact(&'c crate::model::Contact),
    Opportunity(&'c crate::model::Opportunity),
    Lead(&'c crate::model::Lead),
    Activity(&'c crate::model::Activity),
}

impl serde::Serialize for Record<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let value = match self {
            Record::Account(r) => serde_json::to_value(r),
            Record::Contact(r) => serde_json::to_value(r),
            Record::Opportunity(r) => serde_json::to_value(r),
            Record::Lead(r) => serde_json::to_value(r),
            Record::Activity(r) => serde_json::to_value(r),
        };
        // A record that cannot be written as JSON fails the command with its reason.
        value.map_err(serde::ser::Error::custom)?.serialize(s)
    }
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let Some(kind) = Kind::parse(&args.kind) else {
        let names = Kind::ALL.map(Kind::folder);
        let hint = suggest(&args.kind, names).map(|s| format!("did you mean `{s}`?"));
        return Err(CliError::Usage {
            message: format!(
                "unknown record kind `{}`: use {}",
                args.kind,
                one_of(&names)
            ),
            hint,
        });
    };
    let located = locate(env, dir)?;
    // Only the listed kind's files are read (the warning below counts their errors).
    let loaded = store::load_kind(&WorkTree::new(&located.root), kind)?;
    let crm = &loaded.crm;
    validate_filters(&args, kind, crm)?;
    let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        out.note(&format!(
            "warning: {} and may show incomplete values; run `sloop check`",
            match errors {
                1 => "1 file has errors".to_string(),
                n => format!("{} have errors", crate::diag::count(n, "file")),
            }
        ))?;
    }
    let rows = rows(&args, kind, crm, args.format == TableFormat::Json);
    match args.format {
        TableFormat::Json => out.json_stream(&rows.json)?,
        TableFormat::Csv => rows.table.print(out, env, TableFormat::Csv)?,
        TableFormat::Text => {
            if rows.table.is_empty() {
                out.note(&format!("no {} match", kind.folder()))?;
            } else {
                rows.table.print(out, env, TableFormat::Text)?;
            }
        }
    }
    Ok(Status::Ok)
}

fn validate_filters(args: &Args, kind: Kind, crm: &Crm) -> Result<(), CliError> {
    let not_for =
        |flag: &str| CliError::usage(format!("`--{flag}` does not apply to {}", kind.folder()));
    if let Some(status) = &args.status {
        let allowed: Vec<String> = match kind {
            Kind::Account => crm
                .config
                .status_names()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            Kind::Lead => LeadStatus::NAMES.iter().map(|s| s.to_string()).collect(),
            _ => return Err(not_for("status")),
        };
        check_value("status", status, &allowed)?;
    }
    if let Some(stage) = &args.stage {
        if kind != Kind::Opportunity {
            return Err(not_for("stage"));
        }
        let mut allowed: Vec<String> = crm
            .config
            .stage_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        allowed.extend(["open".to_string(), "closed".to_string()]);
        check_value("stage", stage, &allowed)?;
    }
    if let Some(owner) = &args.owner {
        if kind == Kind::Contact {
            return Err(not_for("owner"));
        }
        let members: Vec<String> = crm.config.member_ids().map(str::to_string).collect();
        check_value("owner", owner, &members)?;
    }
    if args.account.is_some() && matches!(kind, Kind::Account | Kind::Lead) {
        return Err(not_for("account"));
    }
    Ok(())
}

fn check_value(flag: &str, value: &str, allowed: &[String]) -> Result<(), CliError> {
    if allowed.iter().any(|a| a == value) {
        return Ok(());
    }
    let hint = suggest(value, allowed.iter().map(String::as_str))
        .map(|s| format!("did you mean `{s}`?"))
        .unwrap_or_else(|| format!("allowed: {}", one_of(allowed)));
    Err(CliError::usage_hint(
        format!("unknown --{flag} `{value}`"),
        hint,
    ))
}

/// `as_json`: the records for JSON are listed (for `--format json`), else none: a JSON
/// object per record next to the table's cells was most of `sloop ls activities`' memory
/// (1.1 GiB for 217,000 activities).
fn rows<'c>(args: &Args, kind: Kind, crm: &'c Crm, as_json: bool) -> Rows<'c> {
    let owner_ok = |o: Option<&str>| args.owner.as_deref().is_none_or(|want| o == Some(want));
    let account_ok = |a: Option<&str>| args.account.as_deref().is_none_or(|want| a == Some(want));
    let mut out = Vec::new();
    let table = match kind {
        Kind::Account => {
            let mut t = Table::new(vec![
                Column::token("id"),
                Column::text("name"),
                Column::token("status"),
                Column::token("owner").optional(5),
                Column::token("domain").optional(3),
                Column::token("country").optional(2),
                Column::text("industry").optional(1),
                Column::token("backlog until").optional(4),
            ]);
            for a in &crm.accounts {
                if args.status.as_deref().is_some_and(|s| s != a.status)
                    || !owner_ok(a.owner.as_ref().map(|o| o.as_str()))
                {
                    continue;
                }
                t.row(vec![
                    a.meta.id.as_str().into(),
                    a.name.as_str().into(),
                    a.status.as_str().into(),
                    a.owner.as_ref().into(),
                    a.domain.as_ref().into(),
                    a.country.as_ref().into(),
                    a.industry.as_ref().into(),
                    a.backlog_until.as_ref().into(),
                ]);
                if as_json {
                    out.push(Record::Account(a));
                }
            }
            t
        }
        Kind::Contact => {
            let mut t = Table::new(vec![
                Column::token("id"),
                Column::text("name"),
                Column::token("account"),
                Column::text("title").optional(1),
                Column::token("role").optional(2),
                Column::token("email").optional(3),
            ]);
            for c in &crm.contacts {
                if !account_ok(c.account.as_ref().map(|a| a.as_str())) {
                    continue;
                }
                let role = c.role.map(|r| {
                    serde_json::to_value(r)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                });
                t.row(vec![
                    c.meta.id.as_str().into(),
                    c.name.as_str().into(),
                    c.account.as_ref().into(),
                    c.title.as_ref().into(),
                    role.into(),
                    c.email.as_ref().into(),
                ]);
                if as_json {
                    out.push(Record::Contact(c));
                }
            }
            t
        }
        Kind::Opportunity => {
            let mut t = Table::new(vec![
                Column::token("id"),
                Column::text("name").optional(4),
                Column::token("account").optional(3),
                Column::token("stage"),
                Column::number("probability").optional(1),
                Column::number("mrr"),
                Column::token("close date").optional(6),
                Column::token("owner").optional(5),
                Column::token("source").optional(2),
            ]);
            for o in &crm.opportunities {
                let stage_ok = match args.stage.as_deref() {
                    None => true,
                    Some("open") => crm.config.is_open_stage(&o.stage),
                    Some("closed") => crm.config.outcome(&o.stage).is_some(),
                    Some(s) => s == o.stage,
                };
                if !stage_ok
                    || !owner_ok(o.owner.as_ref().map(|x| x.as_str()))
                    || !account_ok(o.account.as_ref().map(|a| a.as_str()))
                {
                    continue;
                }
                let probability = crm
                    .config
                    .stage(&o.stage)
                    .map_or(Value::Empty, |s| Value::Percent(f64::from(s.probability)));
                t.row(vec![
                    o.meta.id.as_str().into(),
                    o.name.as_str().into(),
                    o.account.as_ref().into(),
                    o.stage.as_str().into(),
                    probability,
                    o.mrr.map_or(Value::Empty, Value::Money),
                    o.close_date.as_ref().into(),
                    o.owner.as_ref().into(),
                    o.source.as_str().into(),
                ]);
                if as_json {
                    out.push(Record::Opportunity(o));
                }
            }
            t
        }
        Kind::Lead => {
            let mut t = Table::new(vec![
                Column::token("id"),
                Column::text("name").optional(2),
                Column::text("company"),
                Column::token("email").optional(3),
                Column::token("status"),
                Column::token("owner").optional(4),
                Column::token("source").optional(1),
            ]);
            for l in &crm.leads {
                if args
                    .status
                    .as_deref()
                    .is_some_and(|s| s != l.status.as_str())
                    || !owner_ok(l.owner.as_ref().map(|o| o.as_str()))
                {
                    continue;
                }
                t.row(vec![
                    l.meta.id.as_str().into(),
                    l.name.as_ref().into(),
                    l.company.as_ref().into(),
                    l.email.as_ref().into(),
                    l.status.as_str().into(),
                    l.owner.as_ref().into(),
                    l.source.as_ref().into(),
                ]);
                if as_json {
                    out.push(Record::Lead(l));
                }
            }
            t
        }
        Kind::Activity => {
            let mut t = Table::new(vec![
                Column::token("date"),
                Column::token("kind").optional(6),
                Column::token("account").optional(5),
                Column::token("owner").optional(4),
                Column::text("subject"),
                Column::number("minutes").optional(1),
                Column::token("due").optional(3),
                Column::token("done").optional(2),
                Column::token("id"),
            ]);
            let mut acts: Vec<_> = crm
                .activities
                .iter()
                .filter(|a| {
                    owner_ok(a.owner.as_ref().map(|o| o.as_str()))
                        && account_ok(a.account.as_ref().map(|x| x.as_str()))
                })
                .collect();
            acts.sort_by(|a, b| (a.date.date(), &a.meta.id).cmp(&(b.date.date(), &b.meta.id)));
            for a in acts {
                let task = a.kind == crate::model::ActivityKind::Task;
                t.row(vec![
                    a.date.date().to_string().into(),
                    a.kind.as_str().into(),
                    a.account.as_ref().into(),
                    a.owner.as_ref().into(),
                    a.subject.as_ref().into(),
                    a.duration_min.map_or(Value::Empty, Value::Count),
                    a.due.as_ref().into(),
                    if task {
                        Value::Bool(a.done == Some(true))
                    } else {
                        Value::Empty
                    },
                    a.meta.id.as_str().into(),
                ]);
                if as_json {
                    out.push(Record::Activity(a));
                }
            }
            t
        }
    };
    Rows { table, json: out }
}
