use std::path::Path;

use super::{locate, write, CliError, Env, Out, Status};
use crate::model::Kind;
use crate::writes;
use crate::writes::index::Needs;

/// Work on leads.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Turn a lead into an account and a contact (or attach it to the account with the same
    /// domain and the contact with the same email), and mark it `converted`.
    Convert(ConvertArgs),
}

#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    #[arg(add = super::complete::with(super::complete::leads))]
    pub id: String,
    /// The pool a new account enters.
    #[arg(long, value_parser = ["qualified_pool", "unqualified_pool"], default_value = "qualified_pool")]
    pub status: String,
    /// Commit the new and changed files on top of HEAD.
    #[arg(long)]
    pub commit: bool,
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let Action::Convert(a) = args.action;
    let located = locate(env, dir)?;
    let (session, crm) = write::start(
        &located,
        out,
        Needs {
            whole: &[(Kind::Lead, &a.id)],
            activity_ids: &|_| false,
            activities: &|_| false,
        },
    )?;
    let path = match writes::find(&crm, Kind::Lead, &a.id) {
        Ok(p) => p,
        Err(e) => return write::refused(e, &located, out),
    };
    let text = std::fs::read_to_string(located.root.join(&path))
        .map_err(|e| CliError::io(format!("cannot read {path}"), e))?;
    let c = match writes::convert_lead(&crm, &a.id, &path, &text, &a.status) {
        Ok(c) => c,
        Err(e) => return write::refused(e, &located, out),
    };
    let mut files: Vec<(String, String)> = c
        .created
        .iter()
        .map(|f| (f.path.clone(), f.text.clone()))
        .collect();
    files.push((c.lead.path.clone(), c.lead.new.clone()));
    let message = format!(
        "sloop lead convert {}: account {}, contact {}",
        a.id, c.account, c.contact
    );
    write::save(
        session,
        env,
        &located,
        &files,
        a.commit.then_some(message.as_str()),
        out,
    )?;
    out.println(&format!(
        "Converted lead {} → account {} ({}), contact {}",
        a.id,
        c.account,
        if c.attached { "existing" } else { "new" },
        c.contact
    ))?;
    Ok(Status::Ok)
}
