use std::path::Path;

use super::{locate, write, CliError, Env, Out, Status};
use crate::diag::one_of;
use crate::model::Kind;
use crate::writes::index::Needs;
use crate::writes::{self, typed_value};

/// Create a record: an account, contact, opportunity or lead, in an entry status or stage,
/// validated before it is written (nothing is written if anything is wrong).
///
/// Examples: `sloop new account --name "Acme Corp" --domain acme.com --owner marc`,
/// `sloop new opportunity acme-pro --name "Acme Pro" --account acme --owner marc --source outbound`,
/// `sloop new contact --name "Jo Martin" --account acme --set title=CFO --set role=decision_maker`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// account, contact, opportunity or lead.
    #[arg(add = super::complete::with(super::complete::new_kinds))]
    pub kind: String,
    /// The id (the file name). Default: made from the name.
    pub id: Option<String>,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, add = super::complete::with(super::complete::accounts))]
    pub account: Option<String>,
    #[arg(long, add = super::complete::with(super::complete::members))]
    pub owner: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub domain: Option<String>,
    #[arg(long, add = super::complete::with(super::complete::statuses))]
    pub status: Option<String>,
    #[arg(long, add = super::complete::with(super::complete::stages))]
    pub stage: Option<String>,
    #[arg(long, add = super::complete::with(super::complete::sources))]
    pub source: Option<String>,
    #[arg(long)]
    pub mrr: Option<String>,
    /// Any other field, as FIELD=VALUE (repeat it; `bant.budget=…` for sub-tables).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// Commit the new file (only it) on top of HEAD.
    #[arg(long)]
    pub commit: bool,
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let kind = match Kind::parse(&args.kind) {
        Some(k) if k != Kind::Activity => k,
        Some(_) => {
            return Err(CliError::usage_hint(
                "activities are written with `sloop log` and `sloop task`",
                "e.g. `sloop log call acme -m \"…\"`",
            ))
        }
        None => {
            return Err(CliError::usage(format!(
                "unknown record kind `{}`: use {}",
                args.kind,
                one_of(&["account", "contact", "opportunity", "lead"])
            )))
        }
    };
    let located = locate(env, dir)?;
    let (session, crm) = write::start(&located, out, Needs::nothing())?;
    let mut fields = Vec::new();
    let named = [
        ("name", &args.name),
        ("account", &args.account),
        ("owner", &args.owner),
        ("email", &args.email),
        ("domain", &args.domain),
        ("status", &args.status),
        ("stage", &args.stage),
        ("source", &args.source),
        ("mrr", &args.mrr),
    ];
    for (field, value) in named {
        if let Some(v) = value {
            fields.push((
                field.to_string(),
                typed_value(kind, field, v).map_err(usage)?,
            ));
        }
    }
    fields.extend(writes::parse_assignments(kind, &args.set).map_err(usage)?);
    let file = match writes::new_record(&crm, kind, args.id.as_deref(), fields) {
        Ok(f) => f,
        Err(e) => return write::refused(e, &located, out),
    };
    let message = format!("sloop new {} {}", kind.as_str(), file.id);
    write::save(
        session,
        env,
        &located,
        &[(file.path.clone(), file.text)],
        args.commit.then_some(message.as_str()),
        out,
    )?;
    out.println(&format!("Created {}", located.show(&file.path)))?;
    Ok(Status::Ok)
}

fn usage(e: writes::WriteError) -> CliError {
    match e {
        writes::WriteError::Usage { message, hint } => CliError::Usage { message, hint },
        other => CliError::usage(other.to_string()),
    }
}
