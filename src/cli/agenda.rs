use std::path::Path;

use chrono::NaiveDate;

use super::table::{Column, Table, Value};
use super::{locate, CliError, Env, Format, Out, Status, TableFormat};
use crate::git::Repo;
use crate::lifecycle::{self, agenda, tick};
use crate::store::{Source, WorkTree};

/// Your homepage: open tasks (overdue first), lifecycle alerts, pool accounts waiting for a
/// first touch, and open opportunities without a next step.
///
/// The owner defaults to the team member whose email is git's `user.email` (everyone's agenda
/// when there is none).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A team member (default: you).
    #[arg(long, add = super::complete::with(super::complete::members))]
    pub owner: Option<String>,
    /// Everyone's agenda.
    #[arg(long, conflicts_with = "owner")]
    pub all: bool,
    /// The day (YYYY-MM-DD). Default: today.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<NaiveDate>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let located = locate(env, dir)?;
    let repo = Repo::open(&located.root)?;
    // The team first (a wrong --owner fails at once), then the history the facts read, then
    // the CRM: with no cache, mining the history while the whole CRM was held took the
    // agenda of the benchmark CRM to 700 MiB. The records without their field positions,
    // which nothing here reads (a third of a large CRM's memory).
    let config = {
        let bytes = WorkTree::new(&located.root)
            .read_config()
            .map_err(crate::store::LoadError::from)?
            .ok_or_else(|| crate::store::LoadError::NoConfig(located.root.display().to_string()))?;
        crate::store::parse_config(&bytes).0
    };
    if let Some(o) = &args.owner {
        if config.member(o).is_none() {
            let ids: Vec<&str> = config.member_ids().collect();
            return Err(CliError::usage_hint(
                format!("`{o}` is not a team member"),
                format!("members: {}", crate::diag::one_of(&ids)),
            ));
        }
    }
    let owner = if args.all {
        None
    } else {
        args.owner.clone().or_else(|| {
            let email = env
                .author
                .as_ref()
                .map(|a| a.email.clone())
                .or_else(|| repo.as_ref().and_then(|r| r.user_email()))?;
            config.member_by_email(&email).map(|m| m.id.to_string())
        })
    };
    let as_of = args.as_of.unwrap_or(env.now.date_naive());
    let history = match &repo {
        Some(r) if r.head()?.is_some() => {
            let mut cache_warnings = Vec::new();
            let history = tick::facts_history(&located.root, &mut cache_warnings)?;
            for w in &cache_warnings {
                out.note(&format!("warning: {w}"))?;
            }
            Some((r, history))
        }
        _ => None,
    };
    let crm = crate::store::load_without_positions(&WorkTree::new(&located.root))?.crm;
    let facts = match history {
        Some((r, (commits, events))) => tick::facts_from_history(r, &crm, &commits, &events),
        None => lifecycle::Facts::default(),
    };
    let alerts = lifecycle::plan(&crm, &facts, as_of)?.alerts;
    let a = agenda::build(&crm, &facts, alerts, owner.as_deref(), as_of);
    // What `sloop serve` could not record: shown only when there is some.
    let rejected = match &repo {
        Some(r) => crate::serve::spool::Spool::new(r.git_dir())
            .rejected_summary()
            .map_err(|e| CliError::io("cannot read the webhook spool", e))?,
        None => Vec::new(),
    };
    if args.format == Format::Json {
        if rejected.is_empty() {
            out.json(&a)?;
        } else {
            let mut v = serde_json::to_value(&a).map_err(|e| CliError::usage(e.to_string()))?;
            v["rejected_webhooks"] = rejected
                .iter()
                .map(|(hook, n, newest)| {
                    serde_json::json!({
                        "hook": hook,
                        "rejected": n,
                        "newest": {
                            "id": newest.event.id,
                            "received": newest.event.received,
                            "reason": newest.reason,
                        },
                        "list": format!("GET /hooks/{hook}/rejected"),
                    })
                })
                .collect();
            out.json(&v)?;
        }
        return Ok(Status::Ok);
    }
    out.println(&format!(
        "Agenda of {} for {as_of}",
        owner.as_deref().unwrap_or("the whole team")
    ))?;
    let section = |out: &mut Out, title: &str, n: usize| out.println(&format!("\n{title} ({n})"));
    section(out, "Open tasks", a.tasks.len())?;
    if !a.tasks.is_empty() {
        let mut t = Table::new(vec![
            Column::token("due"),
            Column::token("overdue").optional(2),
            Column::token("account").optional(1),
            Column::text("task"),
            Column::token("id"),
        ]);
        for task in &a.tasks {
            t.row(vec![
                task.due.as_ref().into(),
                Value::Bool(task.overdue),
                task.account.as_str().into(),
                task.subject.as_str().into(),
                task.id.as_str().into(),
            ]);
        }
        t.print(out, env, TableFormat::Text)?;
    }
    section(out, "Alerts", a.alerts.len())?;
    if !a.alerts.is_empty() {
        let mut t = Table::new(vec![
            Column::token("record"),
            Column::token("rule").optional(1),
            Column::text("why"),
        ]);
        for x in &a.alerts {
            t.row(vec![
                format!("{}/{}", x.kind.folder(), x.id).into(),
                x.rule.to_string().into(),
                x.message.as_str().into(),
            ]);
        }
        t.print(out, env, TableFormat::Text)?;
    }
    section(out, "Waiting for a first touch", a.first_touch.len())?;
    if !a.first_touch.is_empty() {
        let mut t = Table::new(vec![
            Column::token("account"),
            Column::text("name"),
            Column::token("owner").optional(1),
        ]);
        for w in &a.first_touch {
            t.row(vec![
                w.id.as_str().into(),
                w.name.as_str().into(),
                w.owner.as_ref().into(),
            ]);
        }
        t.print(out, env, TableFormat::Text)?;
    }
    section(
        out,
        "Open opportunities without a next step",
        a.no_next_step.len(),
    )?;
    if !a.no_next_step.is_empty() {
        let mut t = Table::new(vec![
            Column::token("opportunity"),
            Column::token("stage"),
            Column::token("account").optional(2),
            Column::token("owner").optional(1),
        ]);
        for o in &a.no_next_step {
            t.row(vec![
                o.id.as_str().into(),
                o.stage.as_str().into(),
                o.account.as_str().into(),
                o.owner.as_ref().into(),
            ]);
        }
        t.print(out, env, TableFormat::Text)?;
    }
    if !rejected.is_empty() {
        let total: usize = rejected.iter().map(|(_, n, _)| n).sum();
        section(out, "Rejected webhook events", total)?;
        for (hook, n, newest) in &rejected {
            out.println(&format!(
                "  {hook}: {n} rejected (GET /hooks/{hook}/rejected); newest, {}: {}",
                newest.event.received,
                crate::escape::excerpt(&newest.reason, 200)
            ))?;
        }
    }
    Ok(Status::Ok)
}
