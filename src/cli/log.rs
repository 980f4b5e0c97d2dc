use std::path::Path;

use chrono::NaiveDate;

use super::{locate, write, CliError, Env, Located, Out, Status};
use crate::crm::Crm;
use crate::git::Repo;
use crate::model::{ActivityKind, Kind};
use crate::store::edit::FieldValue;
use crate::writes;
use crate::writes::index::Needs;

/// Log an email, call, meeting, demo or note on an account.
///
/// Example: `sloop log call acme --contact jo-martin --duration 20 -m "Discovery call"`.
/// The owner defaults to the team member whose email is git's `user.email`; the date to today.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// email, call, meeting, demo or note.
    #[arg(add = super::complete::with(super::complete::log_kinds))]
    pub kind: String,
    /// The account.
    #[arg(add = super::complete::with(super::complete::accounts))]
    pub account: String,
    #[command(flatten)]
    pub common: Common,
    /// Minutes (calls, meetings and demos).
    #[arg(long, value_name = "MIN")]
    pub duration: Option<u64>,
}

/// Add a task on an account, due on a date.
///
/// Example: `sloop task acme --due 2026-12-01 -m "Send the proposal"`.
#[derive(Debug, clap::Args)]
pub struct TaskArgs {
    /// The account.
    #[arg(add = super::complete::with(super::complete::accounts))]
    pub account: String,
    /// When it is due (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub due: NaiveDate,
    #[command(flatten)]
    pub common: Common,
}

/// Mark a task done.
#[derive(Debug, clap::Args)]
pub struct DoneArgs {
    /// The task's id.
    #[arg(add = super::complete::with(super::complete::activities))]
    pub task: String,
    /// Commit the change (only that file) on top of HEAD.
    #[arg(long)]
    pub commit: bool,
}

#[derive(Debug, clap::Args)]
pub struct Common {
    /// What happened (the activity's subject).
    #[arg(short = 'm', long = "message", value_name = "TEXT")]
    pub message: String,
    #[arg(long, add = super::complete::with(super::complete::contacts))]
    pub contact: Option<String>,
    #[arg(long, add = super::complete::with(super::complete::opportunities))]
    pub opportunity: Option<String>,
    /// The day it happened (YYYY-MM-DD). Default: today.
    #[arg(long, value_name = "DATE")]
    pub date: Option<NaiveDate>,
    /// A team member. Default: the member whose email is git's user.email.
    #[arg(long, add = super::complete::with(super::complete::members))]
    pub owner: Option<String>,
    /// Commit the new file (only it) on top of HEAD.
    #[arg(long)]
    pub commit: bool,
}

/// The team member whose `email` is the git author's.
fn default_owner(env: &Env, located: &Located, crm: &Crm) -> Option<String> {
    let email = env.author.as_ref().map(|a| a.email.clone()).or_else(|| {
        Repo::open(&located.root)
            .ok()
            .flatten()
            .and_then(|r| r.user_email())
    })?;
    crm.config.member_by_email(&email).map(|m| m.id.to_string())
}

fn write_activity(
    env: &Env,
    dir: Option<&Path>,
    out: &mut Out,
    kind: ActivityKind,
    account: &str,
    c: &Common,
    extra: Vec<(String, FieldValue)>,
) -> Result<Status, CliError> {
    let located = locate(env, dir)?;
    let date = c.date.unwrap_or(env.now.date_naive());
    let base = crate::model::ids::slugify(&format!("{date}-{}-{account}", kind.as_str()));
    // Of the activities, only those whose id the new one could take matter.
    let needs = Needs {
        whole: &[],
        activity_ids: &|id| id.starts_with(&base),
        activities: &|_| true,
    };
    let (session, crm) = write::start(&located, out, needs)?;
    if let Err(e) = writes::find(&crm, Kind::Account, account) {
        return write::refused(e, &located, out);
    }
    let owner = c
        .owner
        .clone()
        .or_else(|| default_owner(env, &located, &crm));
    let id = writes::unique_id(&crm, Kind::Activity, &base);
    let mut fields = vec![
        ("kind".to_string(), FieldValue::Str(kind.as_str().into())),
        ("date".to_string(), FieldValue::Date(date)),
        ("account".to_string(), FieldValue::Str(account.into())),
    ];
    for (f, v) in [
        ("contact", &c.contact),
        ("opportunity", &c.opportunity),
        ("owner", &owner),
    ] {
        if let Some(v) = v {
            fields.push((f.to_string(), FieldValue::Str(v.clone())));
        }
    }
    fields.push(("subject".to_string(), FieldValue::Str(c.message.clone())));
    fields.extend(extra);
    let file = match writes::new_record(&crm, Kind::Activity, Some(&id), fields) {
        Ok(f) => f,
        Err(e) => return write::refused(e, &located, out),
    };
    let message = format!("sloop log {} {account}: {}", kind.as_str(), c.message);
    write::save(
        session,
        env,
        &located,
        &[(file.path.clone(), file.text)],
        c.commit.then_some(message.as_str()),
        out,
    )?;
    out.println(&format!("Logged {}", located.show(&file.path)))?;
    Ok(Status::Ok)
}

pub fn log(
    args: LogArgs,
    env: &Env,
    dir: Option<&Path>,
    out: &mut Out,
) -> Result<Status, CliError> {
    let kind = match ActivityKind::parse(&args.kind) {
        Some(ActivityKind::Task) => {
            return Err(CliError::usage_hint(
                "tasks have a due date",
                "use `sloop task <account> --due DATE -m TEXT`",
            ))
        }
        Some(k) => k,
        None => {
            return Err(CliError::usage(format!(
                "unknown activity kind `{}`: use email, call, meeting, demo or note",
                args.kind
            )))
        }
    };
    if args.duration.is_some() && !kind.has_duration() {
        return Err(CliError::usage(format!(
            "--duration is for calls, meetings and demos, not {}",
            kind.as_str()
        )));
    }
    let extra = args
        .duration
        .map(|d| vec![("duration_min".to_string(), FieldValue::Int(d as i64))])
        .unwrap_or_default();
    write_activity(env, dir, out, kind, &args.account, &args.common, extra)
}

pub fn task(
    args: TaskArgs,
    env: &Env,
    dir: Option<&Path>,
    out: &mut Out,
) -> Result<Status, CliError> {
    let extra = vec![
        ("due".to_string(), FieldValue::Date(args.due)),
        ("done".to_string(), FieldValue::Bool(false)),
    ];
    write_activity(
        env,
        dir,
        out,
        ActivityKind::Task,
        &args.account,
        &args.common,
        extra,
    )
}

pub fn done(
    args: DoneArgs,
    env: &Env,
    dir: Option<&Path>,
    out: &mut Out,
) -> Result<Status, CliError> {
    let located = locate(env, dir)?;
    // The task whole; the other tasks slim, for a did-you-mean.
    let needs = Needs {
        whole: &[(Kind::Activity, &args.task)],
        activity_ids: &|_| true,
        activities: &|a| a.kind == ActivityKind::Task,
    };
    let (session, crm) = write::start(&located, out, needs)?;
    let path = match writes::find(&crm, Kind::Activity, &args.task) {
        Ok(p) => p,
        Err(e) => return write::refused(e, &located, out),
    };
    if crm
        .activity(&args.task)
        .is_some_and(|a| a.kind != ActivityKind::Task)
    {
        return Err(CliError::usage(format!("`{}` is not a task", args.task)));
    }
    let old = std::fs::read_to_string(located.root.join(&path))
        .map_err(|e| CliError::io(format!("cannot read {path}"), e))?;
    let edited = match writes::edit_record(
        &crm,
        Kind::Activity,
        &args.task,
        &path,
        &old,
        &[("done".into(), Some(FieldValue::Bool(true)))],
    ) {
        Ok(e) => e,
        Err(e) => return write::refused(e, &located, out),
    };
    let message = format!("sloop done {}", args.task);
    write::save(
        session,
        env,
        &located,
        &[(path.clone(), edited.new)],
        args.commit.then_some(message.as_str()),
        out,
    )?;
    out.println(&format!("Done: {}", located.show(&path)))?;
    Ok(Status::Ok)
}
