//! What the write commands share: load the work tree, report a refused write like `sloop
//! check` does, write files whole (or commit them with `--commit`).

use super::{CliError, Env, Located, Out, Status};
use crate::crm::Crm;
use crate::diag::{self, Style};
use crate::git::{CommitError, CommitRequest, HistoryCommit, ObjectId, Repo, WriteLock};
use crate::store::{self, FileSet, LoadError, Source, Spill, WorkTree};
use crate::writes::index::{self, Needs};
use crate::writes::WriteError;

/// The CRM of the work tree. A write validates the record it writes; errors elsewhere in
/// the CRM are `sloop check`'s business.
pub fn load(located: &Located) -> Result<Crm, CliError> {
    Ok(store::load(&WorkTree::new(&located.root))?.crm)
}

/// How a commit message names a file a command read (a CSV, a mailbox): its path relative
/// to the CRM when it lies inside it, else its file name alone. A commit is shared with the
/// team, so it never carries where a file happened to be on one person's machine.
pub fn message_path(env: &Env, located: &Located, path: &std::path::Path) -> String {
    let full = env.cwd.join(path);
    let norm = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    match norm(&full).strip_prefix(norm(&located.root)) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().replace('\\', "/"),
        _ => full
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.to_string_lossy().into_owned()),
    }
}

/// A write command in progress: it holds sloop's write lock (in a git repository) from
/// before it reads the CRM until it has written, so two writers never interleave, and it
/// remembers the commit it read, for `--commit`.
pub struct Session {
    _lock: Option<WriteLock>,
    repo: Option<Repo>,
    base: Option<ObjectId>,
}

/// Takes the write lock (reporting what it recovered from a killed writer), then the CRM the
/// write is judged against: in a repository with commits, the records slim from the write
/// index (HEAD's records and the files written since without a commit; the activities
/// `needs` asks for) and the records `needs.whole` names (those the command edits) read
/// whole from the work tree; elsewhere, the whole work tree.
pub fn start(located: &Located, out: &mut Out, needs: Needs) -> Result<(Session, Crm), CliError> {
    let (repo, lock, base) = lock(located, out)?;
    let crm = match (&repo, base) {
        (Some(r), Some(head)) => {
            let bytes = WorkTree::new(&located.root)
                .read_config()
                .map_err(LoadError::from)?
                .ok_or_else(|| LoadError::NoConfig(located.root.display().to_string()))?;
            let (config, _) = store::parse_config(&bytes);
            index::crm(r, &located.root, head, config, &needs)?
        }
        _ => load(located)?,
    };
    Ok((
        Session {
            _lock: lock,
            repo,
            base,
        },
        crm,
    ))
}

/// Like `start`, but the CRM is the whole work tree, every record whole: for `import crm`,
/// which matches existing records by their `custom.import_id` (which the write index does
/// not keep) and checks the CRM after the import across all its records, so it reads them
/// all anyway.
pub fn start_whole(located: &Located, out: &mut Out) -> Result<(Session, Crm), CliError> {
    let (repo, lock, base) = lock(located, out)?;
    let crm = load(located)?;
    Ok((
        Session {
            _lock: lock,
            repo,
            base,
        },
        crm,
    ))
}

/// Takes the write lock (reporting what it recovered from a killed writer) and reads HEAD.
#[allow(clippy::type_complexity)]
fn lock(
    located: &Located,
    out: &mut Out,
) -> Result<(Option<Repo>, Option<WriteLock>, Option<ObjectId>), CliError> {
    let repo = Repo::open(&located.root)?;
    let lock = match &repo {
        Some(r) => Some(WriteLock::acquire(r)?),
        None => None,
    };
    if let Some(done) = lock.as_ref().and_then(|l| l.recovered.as_ref()) {
        out.note(&format!("note: {done}"))?;
    }
    let base = match &repo {
        Some(r) => r.head()?,
        None => None,
    };
    Ok((repo, lock, base))
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
            out.println(&format!(
                "{}: nothing was written",
                diag::count(diags.len(), "problem")
            ))?;
            Ok(Status::Problems)
        }
        WriteError::Usage { message, hint } => Err(CliError::Usage { message, hint }),
        WriteError::Edit(e) => Err(CliError::usage(e.to_string())),
    }
}

/// Writes the files (CRM-relative paths) all or nothing, or commits them on top of HEAD with
/// `message`; then releases the session's lock.
pub fn save(
    session: Session,
    env: &Env,
    located: &Located,
    files: &dyn FileSet,
    commit: Option<&str>,
    out: &mut Out,
) -> Result<(), CliError> {
    match commit {
        Some(message) => {
            let repo = session.repo.as_ref().ok_or_else(|| {
                CliError::usage_hint(
                    "--commit needs a git repository",
                    "run `git init`, or leave out --commit",
                )
            })?;
            let id = repo
                .commit_files(&CommitRequest {
                    files,
                    message,
                    when: env.now,
                    author: env.author.clone(),
                    committer: env.committer.clone(),
                    base: session.base,
                })
                .map_err(|e| match e {
                    CommitError::Dirty(paths) => CliError::usage_hint(
                        format!("{} has uncommitted changes", paths.join(", ")),
                        "commit them first, or leave out --commit",
                    ),
                    CommitError::Git(g) => g.into(),
                })?;
            out.note(&format!(
                "Committed {}: {}",
                id.short(),
                message.lines().next().unwrap_or("")
            ))?;
        }
        None => {
            store::write_files(&located.root, files)
                .map_err(|(path, e)| CliError::io(format!("cannot write {}", path.display()), e))?;
            if session.repo.is_some() {
                let paths: Vec<String> = files.paths().into_iter().map(str::to_string).collect();
                index::note_pending(&located.root, &paths)?;
            }
        }
    }
    drop(session);
    Ok(())
}

impl Session {
    /// The repository the session writes to, when the CRM is in one.
    pub fn repo(&self) -> Option<&Repo> {
        self.repo.as_ref()
    }

    /// Where a long run keeps the files it plans: past a few MiB, a file in `.git/sloop/`
    /// (removed when the run ends); in memory when the CRM is not in a repository.
    pub fn spill(&self) -> Spill {
        let folder = self.repo.as_ref().map(|r| r.git_dir().join("sloop"));
        Spill::new(folder.as_deref())
    }
}

/// Commits a dated history on top of HEAD (an import), through the same path as every
/// sloop commit; then releases the session's lock.
pub fn save_history(
    session: Session,
    commits: &[HistoryCommit],
) -> Result<Option<ObjectId>, CliError> {
    let repo = session.repo.as_ref().ok_or_else(|| {
        CliError::usage_hint(
            "--commit needs a git repository",
            "run `git init`, or leave out --commit",
        )
    })?;
    let tip = repo
        .commit_history(commits, session.base)
        .map_err(|e| match e {
            CommitError::Dirty(paths) => CliError::usage_hint(
                format!("{} has uncommitted changes", paths.join(", ")),
                "commit them first, or leave out --commit",
            ),
            CommitError::Git(g) => g.into(),
        })?;
    drop(session);
    Ok(tip)
}
