use std::path::Path;

use super::{locate, CliError, Env, Out, Status};
use crate::git::Repo;

/// Install git hooks for this CRM.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Write a pre-commit hook that runs `sloop check --staged`, so a commit that breaks the
    /// CRM's rules is refused (and stays staged). Honours `core.hooksPath`.
    Install(InstallArgs),
}

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// Replace an existing pre-commit hook that sloop did not write (a backup is kept as
    /// `pre-commit.sloop-backup`).
    #[arg(long)]
    pub force: bool,
}

/// Marks hooks written by sloop, so re-installing replaces them without `--force`.
const MARKER: &str = "# installed by `sloop hooks install`";

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let Action::Install(install) = args.action;
    let crm = locate(env, dir)?;
    let repo = Repo::open(&crm.root)?.ok_or_else(|| {
        CliError::usage_hint(
            "this CRM is not in a git repository",
            "run `git init` first",
        )
    })?;
    let hooks = repo.hooks_dir();
    let hook = hooks.join("pre-commit");
    let mut backup = None;
    if let Ok(existing) = std::fs::read_to_string(&hook) {
        if !existing.contains(MARKER) {
            if !install.force {
                return Err(CliError::usage_hint(
                    format!("{} already exists and was not written by sloop", hook.display()),
                    "add `sloop check --staged` to it yourself, or pass `--force` to replace it (a backup is kept)",
                ));
            }
            backup = Some(hooks.join("pre-commit.sloop-backup"));
        }
    } else if hook.exists() {
        return Err(CliError::usage(format!(
            "{} exists but cannot be read",
            hook.display()
        )));
    }
    std::fs::create_dir_all(&hooks)
        .map_err(|e| CliError::io(format!("cannot create {}", hooks.display()), e))?;
    let exe = std::env::current_exe()
        .ok()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "sloop".into());
    let crm_dir = match repo.prefix().trim_end_matches('/') {
        "" => ".".to_string(),
        p => p.to_string(),
    };
    let where_ = if crm_dir == "." {
        "git runs hooks from the top of the work tree, where the CRM is".to_string()
    } else {
        format!("git runs hooks from the top of the work tree; the CRM is in {crm_dir}/")
    };
    let script = format!(
        "#!/bin/sh\n{MARKER}: refuse commits that break the CRM's rules.\n\
         # {where_}.\n\
         if command -v sloop >/dev/null 2>&1; then SLOOP=sloop; else SLOOP={exe}; fi\n\
         exec \"$SLOOP\" -C {dir} check --staged\n",
        exe = shell_quote(&exe),
        dir = shell_quote(&crm_dir),
    );
    // The new hook is written whole and made executable beside the old one, and only then
    // moved in place: a full disk never leaves an empty or non-executable hook.
    let tmp = crate::store::temp_path(&hook);
    let written = std::fs::write(&tmp, script)
        .map_err(|e| CliError::io(format!("cannot write {}", hook.display()), e))
        .and_then(|()| make_executable(&tmp));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Some(backup) = &backup {
        if let Err(e) = std::fs::rename(&hook, backup) {
            let _ = std::fs::remove_file(&tmp);
            return Err(CliError::io(
                format!("cannot back up {}", hook.display()),
                e,
            ));
        }
    }
    if let Err(e) = std::fs::rename(&tmp, &hook) {
        let _ = std::fs::remove_file(&tmp);
        if let Some(backup) = &backup {
            let _ = std::fs::rename(backup, &hook);
        }
        return Err(CliError::io(format!("cannot write {}", hook.display()), e));
    }
    if let Some(backup) = &backup {
        out.note(&format!(
            "note: the previous hook is kept as {}",
            backup.display()
        ))?;
    }
    out.println(&format!(
        "Installed {}: commits run `sloop check --staged`",
        hook.display()
    ))?;
    Ok(Status::Ok)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| CliError::io(format!("cannot make {} executable", path.display()), e))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<(), CliError> {
    Ok(())
}
