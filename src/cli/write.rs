//! What the write commands share: load the work tree, report a refused write like `sloop
//! check` does, write files whole (or commit them with `--commit`).

use std::path::Path;

use super::{CliError, Env, Located, Out, Status};
use crate::crm::Crm;
use crate::diag::{self, Style};
use crate::git::{CommitRequest, Repo};
use crate::store::{self, WorkTree};
use crate::writes::WriteError;

/// The CRM of the work tree. A write validates the record it writes; errors elsewhere in
/// the CRM are `sloop check`'s business.
pub fn load(located: &Located) -> Result<Crm, CliError> {
    Ok(store::load(&WorkTree::new(&located.root))?.crm)
}

/// Turns a refused write into output and an exit status.
pub fn refused(e: WriteError, located: &Located, out: &mut Out) -> Result<Status, CliError> {
    match e {
        WriteError::Invalid(mut diags) => {
            diag::sort(&mut diags);
            for d in &diags {
                out.print(&diag::render_text(
                    d,
                    &located.show(&d.path),
                    Style { color: out.color },
                ))?;
            }
            out.println(&format!("{} problem(s): nothing was written", diags.len()))?;
            Ok(Status::Problems)
        }
        WriteError::Usage { message, hint } => Err(CliError::Usage { message, hint }),
        WriteError::Edit(e) => Err(CliError::usage(e.to_string())),
    }
}

/// Writes the files (CRM-relative paths), or commits them on top of HEAD with `message`.
pub fn save(
    env: &Env,
    located: &Located,
    files: &[(String, String)],
    commit: Option<&str>,
    out: &mut Out,
) -> Result<(), CliError> {
    match commit {
        Some(message) => {
            let repo = Repo::open(&located.root)?.ok_or_else(|| {
                CliError::usage_hint(
                    "--commit needs a git repository",
                    "run `git init`, or leave out --commit",
                )
            })?;
            let dirty: Vec<String> = repo
                .worktree_changes()?
                .into_iter()
                .map(|c| c.path)
                .filter(|p| files.iter().any(|(f, _)| f == p))
                .collect();
            if let Some(first) = dirty.first() {
                return Err(CliError::usage_hint(
                    format!("{first} has uncommitted changes"),
                    "commit them first, or leave out --commit",
                ));
            }
            let bytes: Vec<(String, Vec<u8>)> = files
                .iter()
                .map(|(p, t)| (p.clone(), t.clone().into_bytes()))
                .collect();
            let id = repo.commit_files(&CommitRequest {
                files: &bytes,
                message,
                when: env.now,
                author: env.author.clone(),
                committer: env.committer.clone(),
            })?;
            out.note(&format!(
                "Committed {}: {}",
                crate::git::short(&id),
                message.lines().next().unwrap_or("")
            ))?;
        }
        None => {
            for (path, text) in files {
                write_whole(&located.root.join(path), text)?;
            }
        }
    }
    Ok(())
}

fn write_whole(path: &Path, text: &str) -> Result<(), CliError> {
    let io = |e| CliError::io(format!("cannot write {}", path.display()), e);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("toml.sloop-tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
