use std::path::Path;

use super::{locate, CliError, Env, Out, Status};
use crate::git::{Repo, WriteLock};
use crate::history::{self, CacheFix, Fix};
use crate::store::TEMP_SUFFIX;

/// Find and clean what an interrupted sloop left behind: finish (or roll back) a commit that
/// was killed half-way, remove sloop's temporary files from the CRM, and check the caches
/// under `.git/sloop/`, removing the files (or history cache lines) that fail their checksum.
///
/// Every write command does the recovery itself before it starts, and every command checks
/// a cache before it reads it; `doctor` is for when you want it done now (say, after a
/// crash, before a plain `git commit`). It only ever touches sloop's own files: a file
/// changed since sloop wrote it is left alone and listed, and an `index.lock` that another
/// git process holds is reported, never removed.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let located = locate(env, dir)?;
    let mut done = 0;
    if let Some(repo) = Repo::open(&located.root)? {
        let lock = WriteLock::acquire(&repo)?;
        for CacheFix { file, fix } in history::check_caches(&located.root)? {
            let file = file
                .strip_prefix(repo.workdir())
                .map_or_else(|_| file.display().to_string(), |f| f.display().to_string());
            let what = match fix {
                Fix::Removed => format!(
                    "Removed {file} (a cache file that fails its checksum; it is rebuilt when needed)"
                ),
                Fix::Repaired {
                    damaged,
                    unfinished,
                } => {
                    let mut why = Vec::new();
                    match damaged {
                        0 => {}
                        1 => why.push("1 line that fails its checksum".to_string()),
                        n => why.push(format!("{n} lines that fail their checksum")),
                    }
                    if unfinished {
                        why.push("an unfinished last line".to_string());
                    }
                    format!(
                        "Repaired {file}: removed {} (the commits are mined again when needed)",
                        why.join(" and ")
                    )
                }
            };
            out.println(&what)?;
            done += 1;
        }
        if let Some(r) = &lock.recovered {
            out.println(&format!("Recovered: {r}"))?;
            done += 1;
        }
        if repo.git_dir().join("index.lock").exists() {
            out.println(
                "Left alone: .git/index.lock is held by another git process (or one that crashed); \
                 if no git process is running, delete it",
            )?;
        }
    }
    for entry in walkdir::WalkDir::new(&located.root)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
        .filter_map(Result::ok)
    {
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file() && name.ends_with(TEMP_SUFFIX) {
            let rel = entry
                .path()
                .strip_prefix(&located.root)
                .unwrap_or(entry.path());
            std::fs::remove_file(entry.path()).map_err(|e| {
                CliError::io(format!("cannot remove {}", entry.path().display()), e)
            })?;
            out.println(&format!(
                "Removed {} (a temporary file of an interrupted write)",
                located.show(&rel.to_string_lossy())
            ))?;
            done += 1;
        }
    }
    if done == 0 {
        out.println(
            "Nothing to clean: no interrupted write, no temporary file, no damaged cache.",
        )?;
    }
    Ok(Status::Ok)
}
