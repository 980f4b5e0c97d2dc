use std::io::Read;
use std::path::{Path, PathBuf};

use super::{locate, write, CliError, Env, Out, Status};
use crate::model::Kind;
use crate::writes;
use crate::writes::index::Needs;
use crate::writes::ingest;

/// Record messages in the CRM.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// One email message (an .eml file, or `-` for standard input) becomes an `email`
    /// activity on the account it concerns: participants are matched to contacts by email and
    /// to accounts by domain; the owner is the team member among them. The same message
    /// (Message-ID) is recorded once. An unmatched message exits 1 and writes nothing.
    Email(EmailArgs),
}

#[derive(Debug, clap::Args)]
pub struct EmailArgs {
    /// The message: an .eml file, or `-` for standard input.
    pub file: PathBuf,
    /// Commit the new activity on top of HEAD.
    #[arg(long)]
    pub commit: bool,
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let What::Email(a) = args.what;
    let located = locate(env, dir)?;
    let (session, crm) = write::start(
        &located,
        out,
        Needs {
            whole: &[],
            // Those a message is matched against (its id) and whose id it could take.
            activities: &|a| a.message_id.is_some() || a.meta.id.contains("-email-"),
        },
    )?;
    let bytes = if a.file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::io("cannot read standard input", e))?;
        buf
    } else {
        std::fs::read(env.cwd.join(&a.file))
            .map_err(|e| CliError::io(format!("cannot read {}", a.file.display()), e))?
    };
    let email = match ingest::read(&crm, &bytes) {
        Ok(e) => e,
        Err(e @ ingest::IngestError::Unmatched(_)) => {
            out.note(&format!("error: {e}"))?;
            if let Some(h) = e.hint() {
                out.note(&format!("hint: {h}"))?;
            }
            return Ok(Status::Problems);
        }
        Err(e) => {
            return Err(CliError::Usage {
                message: e.to_string(),
                hint: e.hint(),
            })
        }
    };
    if let Some(mid) = &email.message_id {
        if let Some(existing) = crm
            .activities
            .iter()
            .find(|x| x.message_id.as_deref() == Some(mid.as_str()))
        {
            out.println(&format!(
                "Already recorded as {}",
                located.show(&existing.meta.path)
            ))?;
            return Ok(Status::Ok);
        }
    }
    let base = crate::model::ids::slugify(&format!(
        "{}-email-{}",
        email.date.date_naive(),
        email.account
    ));
    let id = writes::unique_id(&crm, Kind::Activity, &base);
    let file = match writes::new_record(&crm, Kind::Activity, Some(&id), email.fields()) {
        Ok(f) => f,
        Err(e) => return write::refused(e, &located, out),
    };
    let message = format!(
        "sloop ingest email: {}",
        email.subject.as_deref().unwrap_or("(no subject)")
    );
    write::save(
        session,
        env,
        &located,
        &[(file.path.clone(), file.text)],
        a.commit.then_some(message.as_str()),
        out,
    )?;
    out.println(&format!(
        "Recorded {} on account {}",
        located.show(&file.path),
        email.account
    ))?;
    Ok(Status::Ok)
}
