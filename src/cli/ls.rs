use std::path::Path;

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};

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
    pub kind: String,
    /// Accounts and leads: only this status.
    #[arg(long)]
    pub status: Option<String>,
    /// Opportunities: only this stage (or `open`, `closed`).
    #[arg(long)]
    pub stage: Option<String>,
    /// Only records owned by this team member.
    #[arg(long)]
    pub owner: Option<String>,
    /// Contacts, opportunities, activities: only those of this account.
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
}

/// A list of rows with a header, rendered as a table, CSV or JSON.
struct Rows {
    header: Vec<&'static str>,
    /// Columns aligned right (numbers).
    right: Vec<usize>,
    rows: Vec<Vec<String>>,
    json: Vec<serde_json::Value>,
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
    let loaded = store::load(&WorkTree::new(&located.root))?;
    let crm = &loaded.crm;
    validate_filters(&args, kind, crm)?;
    let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        out.note(&format!(
            "warning: {errors} files have errors and may show incomplete values; run `sloop check`"
        ))?;
    }
    let rows = rows(&args, kind, crm);
    match args.format {
        TableFormat::Json => out.json(&rows.json)?,
        TableFormat::Csv => {
            out.data(&super::table::csv_text(&rows.header, &rows.rows)?)?;
        }
        TableFormat::Text => {
            if rows.rows.is_empty() {
                out.note(&format!("no {} match", kind.folder()))?;
            } else {
                out.print(&render_table(&rows, env.tty))?;
                out.println("")?;
            }
        }
    }
    Ok(Status::Ok)
}

fn render_table(rows: &Rows, tty: bool) -> String {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(if tty {
            ContentArrangement::Dynamic
        } else {
            ContentArrangement::Disabled
        })
        .set_header(rows.header.iter().map(Cell::new));
    for r in &rows.rows {
        t.add_row(r.iter().enumerate().map(|(i, v)| {
            let c = Cell::new(crate::escape::terminal(v));
            if rows.right.contains(&i) {
                c.set_alignment(CellAlignment::Right)
            } else {
                c
            }
        }));
    }
    t.to_string()
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

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_default()
}

fn money(v: Option<f64>) -> String {
    match v {
        Some(x) if x.fract() == 0.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.2}"),
        None => String::new(),
    }
}

fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("records serialize")
}

fn rows(args: &Args, kind: Kind, crm: &Crm) -> Rows {
    let owner_ok = |o: Option<&str>| args.owner.as_deref().is_none_or(|want| o == Some(want));
    let account_ok = |a: Option<&str>| args.account.as_deref().is_none_or(|want| a == Some(want));
    let mut rows = Vec::new();
    let mut out = Vec::new();
    let (header, right): (Vec<&'static str>, Vec<usize>) = match kind {
        Kind::Account => {
            for a in &crm.accounts {
                if args.status.as_deref().is_some_and(|s| s != a.status)
                    || !owner_ok(a.owner.as_ref().map(|o| o.as_str()))
                {
                    continue;
                }
                rows.push(vec![
                    a.meta.id.clone(),
                    a.name.clone(),
                    a.status.clone(),
                    opt(&a.owner),
                    opt(&a.domain),
                    opt(&a.country),
                    opt(&a.industry),
                    opt(&a.backlog_until),
                ]);
                out.push(json(a));
            }
            (
                vec![
                    "id",
                    "name",
                    "status",
                    "owner",
                    "domain",
                    "country",
                    "industry",
                    "backlog until",
                ],
                vec![],
            )
        }
        Kind::Contact => {
            for c in &crm.contacts {
                if !account_ok(c.account.as_ref().map(|a| a.as_str())) {
                    continue;
                }
                let role = c
                    .role
                    .map(|r| json(&r).as_str().unwrap_or_default().to_string())
                    .unwrap_or_default();
                rows.push(vec![
                    c.meta.id.clone(),
                    c.name.clone(),
                    opt(&c.account),
                    opt(&c.title),
                    role,
                    opt(&c.email),
                ]);
                out.push(json(c));
            }
            (
                vec!["id", "name", "account", "title", "role", "email"],
                vec![],
            )
        }
        Kind::Opportunity => {
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
                let prob = crm
                    .config
                    .stage(&o.stage)
                    .map(|s| format!("{}%", s.probability))
                    .unwrap_or_default();
                rows.push(vec![
                    o.meta.id.clone(),
                    o.name.clone(),
                    opt(&o.account),
                    o.stage.clone(),
                    prob,
                    money(o.mrr),
                    opt(&o.close_date),
                    opt(&o.owner),
                    o.source.clone(),
                ]);
                out.push(json(o));
            }
            (
                vec![
                    "id",
                    "name",
                    "account",
                    "stage",
                    "prob.",
                    "mrr",
                    "close date",
                    "owner",
                    "source",
                ],
                vec![4, 5],
            )
        }
        Kind::Lead => {
            for l in &crm.leads {
                if args
                    .status
                    .as_deref()
                    .is_some_and(|s| s != l.status.as_str())
                    || !owner_ok(l.owner.as_ref().map(|o| o.as_str()))
                {
                    continue;
                }
                rows.push(vec![
                    l.meta.id.clone(),
                    opt(&l.name),
                    opt(&l.company),
                    opt(&l.email),
                    l.status.as_str().to_string(),
                    opt(&l.owner),
                    opt(&l.source),
                ]);
                out.push(json(l));
            }
            (
                vec![
                    "id", "name", "company", "email", "status", "owner", "source",
                ],
                vec![],
            )
        }
        Kind::Activity => {
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
                let state = match (a.kind, a.done) {
                    (crate::model::ActivityKind::Task, Some(true)) => "done".to_string(),
                    (crate::model::ActivityKind::Task, _) => format!("due {}", opt(&a.due)),
                    _ => a
                        .duration_min
                        .map(|m| format!("{m} min"))
                        .unwrap_or_default(),
                };
                rows.push(vec![
                    a.date.date().to_string(),
                    a.kind.as_str().to_string(),
                    opt(&a.account),
                    opt(&a.owner),
                    opt(&a.subject),
                    state,
                    a.meta.id.clone(),
                ]);
                out.push(json(a));
            }
            (
                vec!["date", "kind", "account", "owner", "subject", "", "id"],
                vec![],
            )
        }
    };
    Rows {
        header,
        right,
        rows,
        json: out,
    }
}
