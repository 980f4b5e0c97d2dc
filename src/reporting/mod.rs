//! Builds the report context: mines the history (cached), loads the CRM as committed on the
//! as-of date with the one loader, and computes the metrics.

use std::path::Path;

use chrono::NaiveDate;

use crate::git::{GitError, Repo};
use crate::history::{self, Event};
use crate::metrics::{self, Context, Inputs};
use crate::store::{self, LoadError};

pub struct ReportOptions {
    pub as_of: NaiveDate,
}

/// The context, and what the user should know about its inputs.
pub struct Built {
    pub context: Context,
    pub warnings: Vec<String>,
    pub events: Vec<Event>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportingError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("reports are mined from git, and this CRM is not in a git repository")]
    NotInRepo,
    #[error("there is no commit on or before {0}")]
    NothingYet(NaiveDate),
}

impl ReportingError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ReportingError::Git(g) => g.hint.clone(),
            ReportingError::NotInRepo => Some("`git init` and commit the CRM".into()),
            ReportingError::NothingYet(_) => Some("use a later --as-of".into()),
            ReportingError::Load(_) => None,
        }
    }
}

/// Mines the history and computes the context for `as_of`.
pub fn context(root: &Path, opts: &ReportOptions) -> Result<Built, ReportingError> {
    let repo = Repo::open(root)?.ok_or(ReportingError::NotInRepo)?;
    let mined = history::mine(root, &history::Options::default())?;
    let mut warnings: Vec<String> = mined
        .warnings
        .iter()
        .map(|w| {
            format!(
                "commit {}: {}: {} (skipped)",
                crate::git::short(&w.commit),
                w.path,
                w.message
            )
        })
        .collect();
    if repo.is_shallow() {
        warnings.push(format!(
            "shallow clone: the history starts on {}, so stage durations, conversion, the sales cycle and the weekly pipeline miss what came before (fetch it all: `git fetch --unshallow`, in CI `fetch-depth: 0`)",
            mined.commits.first().map(|c| c.author_date.date_naive().to_string()).unwrap_or_default()
        ));
    }
    let commit = mined
        .commits
        .iter()
        .rev()
        .find(|c| c.author_date.date_naive() <= opts.as_of)
        .ok_or(ReportingError::NothingYet(opts.as_of))?;
    let loaded = store::load(&repo.tree_source(&commit.sha.clone())?)?;
    let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        warnings.push(format!(
            "the CRM at {} has {errors} error(s) (`sloop check`): those records may count wrongly",
            crate::git::short(&commit.sha.clone())
        ));
    }
    let events: Vec<Event> = mined
        .events
        .into_iter()
        .filter(|e| e.date.date_naive() <= opts.as_of)
        .collect();
    let commits = mined
        .commits
        .iter()
        .filter(|c| c.author_date.date_naive() <= opts.as_of)
        .count();
    let context = metrics::compute(&Inputs {
        crm: &loaded.crm,
        as_of: opts.as_of,
        events: &events,
        commits,
        shallow: repo.is_shallow(),
    });
    Ok(Built {
        context,
        warnings,
        events,
    })
}
