//! What the lifecycle engine needs from the history: when each account entered its current
//! status, and when each opportunity file was added. Walks first-parent history from HEAD,
//! newest first, diffing trees (skipping equal subtrees) and parsing only the changed
//! account and opportunity files; it stops as soon as every record is dated.

use std::collections::HashSet;

use crate::git::{GitError, Repo};
use crate::lifecycle::Facts;
use crate::model::Kind;
use crate::store::{self, Crm, PathClass};

/// Dates each account's current status and each opportunity's creation from the commits.
pub fn lifecycle_facts(repo: &Repo, crm: &Crm) -> Result<Facts, GitError> {
    let mut facts = Facts::default();
    let Some(mut commit) = repo.head()? else {
        return Ok(facts);
    };
    let mut accounts: HashSet<&str> = crm.accounts.iter().map(|a| a.meta.id.as_str()).collect();
    let mut opportunities: HashSet<&str> = crm
        .opportunities
        .iter()
        .filter(|o| o.created.is_none())
        .map(|o| o.meta.id.as_str())
        .collect();
    let status_of = |id: &str| crm.account(id).map(|a| a.status.as_str());
    loop {
        if accounts.is_empty() && opportunities.is_empty() {
            break;
        }
        let parent = match repo.first_parent(&commit) {
            Ok(p) => p,
            // A shallow history ends early: the boundary commit's files are not new there,
            // so what is not dated yet stays unknown.
            Err(_) if repo.is_shallow() => break,
            Err(e) => return Err(e),
        };
        let changes = repo.changes_between(parent.as_deref(), &commit)?;
        let mut date = None;
        for change in &changes {
            let PathClass::Record(kind, id) = store::classify(&change.path) else {
                continue;
            };
            match kind {
                Kind::Account if accounts.contains(id) => {
                    let Some(new) = &change.new else { continue };
                    let current = status_of(id);
                    let old_status = match &change.old {
                        Some(old) => status_in(repo, old, id, &change.path, crm)?,
                        None => None,
                    };
                    let new_status = status_in(repo, new, id, &change.path, crm)?;
                    // The commit that set the status it has now (or that added it so).
                    if new_status.as_deref() == current && old_status != new_status {
                        let d = *date.get_or_insert(repo.commit_info(&commit)?.date.date_naive());
                        facts.status_since.insert(id.to_string(), d);
                        accounts.remove(id);
                    }
                }
                Kind::Opportunity
                    if opportunities.contains(id)
                        && change.old.is_none()
                        && change.new.is_some() =>
                {
                    let d = *date.get_or_insert(repo.commit_info(&commit)?.date.date_naive());
                    facts.opportunity_added.insert(id.to_string(), d);
                    opportunities.remove(id);
                }
                _ => {}
            }
        }
        match parent {
            Some(p) => commit = p,
            None => break,
        }
    }
    Ok(facts)
}

fn status_in(
    repo: &Repo,
    blob: &str,
    id: &str,
    path: &str,
    crm: &Crm,
) -> Result<Option<String>, GitError> {
    let bytes = repo.blob(blob)?;
    let (record, _) = store::parse_bytes(Kind::Account, id, path, &bytes, &crm.config);
    Ok(match record {
        store::AnyRecord::Account(a) if !a.meta.broken && !a.status.is_empty() => Some(a.status),
        _ => None,
    })
}
