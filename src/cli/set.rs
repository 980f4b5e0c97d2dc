use std::path::Path;

use super::{locate, write, CliError, Env, Located, Out, Status};
use crate::crm::Crm;
use crate::model::{AnyRecord, Kind};
use crate::store::edit::FieldValue;
use crate::store::parse::parse_record;
use crate::writes::index::Needs;
use crate::writes::{self, typed_value};

/// Move an opportunity to another stage, setting the fields that stage requires.
///
/// Refused (exit 1, file untouched) unless the current stage allows the move and every field
/// the new stage requires is set, listing exactly what is missing.
/// Example: `sloop move acme-pro qualified --set mrr=1200 --set close_date=2026-12-20
/// --set bant.budget=yes --set bant.authority=CFO --set bant.need=… --set bant.timeline=Q1`.
/// A move to won can hand the deal over to onboarding: `--handoff nina` also writes an open
/// task for her on the deal, due on its onboarding meeting (else its start date).
#[derive(Debug, clap::Args)]
pub struct MoveArgs {
    #[arg(add = super::complete::with(super::complete::opportunities))]
    pub opportunity: String,
    #[arg(add = super::complete::with(super::complete::stages))]
    pub stage: String,
    /// A field to set with the move, as FIELD=VALUE (repeat it).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// With a move to won: an onboarding task for this member (the hand-off).
    #[arg(long, value_name = "MEMBER", add = super::complete::with(super::complete::members))]
    pub handoff: Option<String>,
    /// Commit the change (only that file) on top of HEAD.
    #[arg(long)]
    pub commit: bool,
}

/// Change fields of a record: `sloop set accounts/acme owner=marc country=FR`.
///
/// `FIELD=` (nothing after `=`) removes the field. The record must still pass `sloop check`
/// and its status or stage may only move as `sloop.toml` allows; otherwise nothing is written.
#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// The record, as `<kind>/<id>`.
    #[arg(add = super::complete::with(super::complete::records))]
    pub record: String,
    /// FIELD=VALUE assignments.
    #[arg(value_name = "FIELD=VALUE", required = true)]
    pub assignments: Vec<String>,
    /// Commit the change (only that file) on top of HEAD.
    #[arg(long)]
    pub commit: bool,
}

fn changes(kind: Kind, items: &[String]) -> Result<Vec<(String, Option<FieldValue>)>, CliError> {
    items
        .iter()
        .map(|a| {
            let (k, v) = a.split_once('=').ok_or_else(|| {
                CliError::usage_hint(
                    format!("`{a}` is not FIELD=VALUE"),
                    "for example `owner=marc`",
                )
            })?;
            let (k, v) = (k.trim(), v.trim());
            if v.is_empty() {
                return Ok((k.to_string(), None));
            }
            let value = typed_value(kind, k, v).map_err(|e| CliError::usage(e.to_string()))?;
            Ok((k.to_string(), Some(value)))
        })
        .collect()
}

/// `commit`: the commit message when `--commit` was given. `handoff`: the onboarding member
/// to write a hand-off task for, with the edited (won) deal.
#[allow(clippy::too_many_arguments)]
fn apply(
    (session, crm): (write::Session, Crm),
    env: &Env,
    located: &Located,
    out: &mut Out,
    kind: Kind,
    id: &str,
    list: Vec<(String, Option<FieldValue>)>,
    commit: Option<String>,
    handoff: Option<&str>,
) -> Result<Status, CliError> {
    let path = match writes::find(&crm, kind, id) {
        Ok(p) => p,
        Err(e) => return write::refused(e, located, out),
    };
    let old = std::fs::read_to_string(located.root.join(&path))
        .map_err(|e| CliError::io(format!("cannot read {path}"), e))?;
    let edited = match writes::edit_record(&crm, kind, id, &path, &old, &list) {
        Ok(e) => e,
        Err(e) => return write::refused(e, located, out),
    };
    let mut files = Vec::new();
    if let Some(member) = handoff {
        let (record, _) = parse_record(kind, id, &path, &edited.new, &crm.config);
        let AnyRecord::Opportunity(deal) = record else {
            return Err(CliError::usage("--handoff is for opportunities"));
        };
        match writes::handoff::handoff_task(&crm, &deal, member, env.now.date_naive()) {
            Ok(task) => files.push((task.path, task.text)),
            Err(e) => return write::refused(e, located, out),
        }
    }
    if edited.new == edited.old && files.is_empty() {
        out.println(&format!("{} is unchanged", located.show(&path)))?;
        return Ok(Status::Ok);
    }
    let task = files.first().map(|(p, _)| p.clone());
    if edited.new != edited.old {
        files.insert(0, (path.clone(), edited.new));
    }
    write::save(session, env, located, &files, commit.as_deref(), out)?;
    out.println(&format!("Updated {}", located.show(&path)))?;
    if let Some(task) = task {
        out.println(&format!("Handed off: {}", located.show(&task)))?;
    }
    Ok(Status::Ok)
}

pub fn move_(
    args: MoveArgs,
    env: &Env,
    dir: Option<&Path>,
    out: &mut Out,
) -> Result<Status, CliError> {
    let located = locate(env, dir)?;
    let (session, crm) = write::start(
        &located,
        out,
        Needs {
            whole: &[(Kind::Opportunity, &args.opportunity)],
            activity_ids: &|_| false,
            activities: &|_| false,
        },
    )?;
    if let Err(e) = writes::known_stage(&crm, &args.stage) {
        return write::refused(e, &located, out);
    }
    let mut list = vec![(
        "stage".to_string(),
        Some(FieldValue::Str(args.stage.clone())),
    )];
    list.extend(changes(Kind::Opportunity, &args.set)?);
    let mut message = format!("sloop move {} {}", args.opportunity, args.stage);
    if let Some(member) = &args.handoff {
        message.push_str(&format!(" --handoff {member}"));
    }
    apply(
        (session, crm),
        env,
        &located,
        out,
        Kind::Opportunity,
        &args.opportunity,
        list,
        args.commit.then_some(message),
        args.handoff.as_deref(),
    )
}

pub fn set(
    args: SetArgs,
    env: &Env,
    dir: Option<&Path>,
    out: &mut Out,
) -> Result<Status, CliError> {
    let (kind, id) = super::record_ref(&args.record, "sloop set accounts/acme owner=marc")?;
    let list = changes(kind, &args.assignments)?;
    let message = format!(
        "sloop set {}/{id}: {}",
        kind.folder(),
        args.assignments.join(" ")
    );
    let located = locate(env, dir)?;
    let started = write::start(
        &located,
        out,
        Needs {
            whole: &[(kind, &id)],
            activity_ids: &|_| false,
            activities: &|_| false,
        },
    )?;
    apply(
        started,
        env,
        &located,
        out,
        kind,
        &id,
        list,
        args.commit.then_some(message),
        None,
    )
}
