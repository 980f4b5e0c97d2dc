use std::path::{Path, PathBuf};

use super::{CliError, Env, Out, Status};
use crate::config;
use crate::model::Kind;

/// Start a CRM: write the default, commented sloop.toml and the record folders, and run
/// `git init` when the folder is not inside a git repository yet.
///
/// Refuses to overwrite an existing sloop.toml.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder of the new CRM (created if missing). Default: the current folder (or -C).
    #[arg(value_name = "DIR")]
    pub path: Option<PathBuf>,
}

pub fn run(args: Args, env: &Env, base: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let base = env.base(base);
    let dir = match &args.path {
        Some(d) => base.join(d),
        None => base,
    };
    let config_path = dir.join(config::FILE);
    if config_path.exists() {
        return Err(CliError::usage_hint(
            format!(
                "{} already exists: this folder is already a CRM",
                config_path.display()
            ),
            "sloop init never overwrites a sloop.toml; edit it, or pick another folder",
        ));
    }
    if let Some(git_dir) = crate::git::git_dir_around(&dir) {
        return Err(CliError::usage_hint(
            format!(
                "{} is inside the git dir {} (a bare repository or a .git folder): a CRM needs a work tree",
                dir.display(),
                git_dir.display()
            ),
            "clone the repository (`git clone <it> my-crm`) and run `sloop init` in the clone",
        ));
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::io(format!("cannot create {}", dir.display()), e))?;
    let in_repo = crate::git::work_tree_of(&dir).is_some();
    // Folders first, sloop.toml last: a half-made CRM is not mistaken for a whole one.
    for kind in Kind::ALL {
        let folder = dir.join(kind.folder());
        std::fs::create_dir_all(&folder)
            .map_err(|e| CliError::io(format!("cannot create {}", folder.display()), e))?;
        let keep = folder.join(".gitkeep");
        if !keep.exists() {
            std::fs::write(&keep, b"")
                .map_err(|e| CliError::io(format!("cannot write {}", keep.display()), e))?;
        }
    }
    // The editor's schemas, from the config written below.
    super::schema::write(&dir, &config::Config::default())?;
    write_new(&config_path, config::DEFAULT_TOML)?;
    if !in_repo {
        crate::git::init(&dir)?;
    }
    let shown = if args.path.is_some() {
        dir.display().to_string()
    } else {
        ".".into()
    };
    out.println(&format!(
        "Created a CRM in {shown}{}",
        if in_repo {
            ""
        } else {
            " (and an empty git repository)"
        }
    ))?;
    out.println("Next: add your team to sloop.toml, then `sloop check`.")?;
    Ok(Status::Ok)
}

/// Writes a file that must not exist yet (no race with another `init`).
fn write_new(path: &Path, text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| CliError::io(format!("cannot create {}", path.display()), e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))
}
