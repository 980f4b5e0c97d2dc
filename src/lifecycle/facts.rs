//! What the lifecycle engine needs from the history: when each account entered its current
//! status, and when each opportunity file was added. Read from the event stream of
//! `history::mine` (cached per commit, so a daily tick reads only the new commits).

use std::path::Path;

use crate::git::{CommitMeta, GitError, Repo};
use crate::history::{self, ByRecord, Change, Event};
use crate::lifecycle::Facts;
use crate::model::Kind;
use crate::store::Crm;

/// Dates each account's current status and each opportunity's creation from the commits.
pub fn lifecycle_facts(root: &Path, repo: &Repo, crm: &Crm) -> Result<Facts, GitError> {
    // The report's snapshot holds the events the facts read (and more): brought forward to
    // HEAD, it spares reading the whole history cache. Without one, the history is mined,
    // keeping only what the facts read.
    let (commits, events) = match crate::reporting::cached_history(root)? {
        Some(history) => history,
        None => {
            let options = history::Options {
                lean: Some(history::for_lifecycle),
                ..history::Options::default()
            };
            let mined = history::mine(root, &options)?;
            (mined.commits, mined.events)
        }
    };
    Ok(from_history(repo, crm, &commits, &events))
}

/// The facts from a first-parent history (commits oldest first, their events). In a shallow
/// clone the oldest fetched commit looks like a root: everything "appears" there. Those dates
/// are not real, so what only that commit dates stays unknown.
pub fn from_history(repo: &Repo, crm: &Crm, commits: &[CommitMeta], events: &[Event]) -> Facts {
    let edge = commits
        .first()
        .map(|c| c.sha.as_str())
        .filter(|sha| repo.is_shallow_edge(sha));
    from_events(crm, events, edge)
}

/// The facts for the records of `crm` from events (in commit order). Events of the commit
/// `edge` (a shallow clone's first commit) date nothing.
pub fn from_events(crm: &Crm, events: &[Event], edge: Option<&str>) -> Facts {
    from_records(crm, &history::by_record(events), edge)
}

/// `from_events`, from the events already grouped by record.
pub fn from_records(crm: &Crm, by_record: &ByRecord, edge: Option<&str>) -> Facts {
    let commit_on = |kind: Kind, id: &str, date: chrono::NaiveDate| -> Option<&str> {
        by_record
            .get(&(kind, id))?
            .iter()
            .rev()
            .find(|e| e.date.date_naive() == date)
            .map(|e| &*e.commit)
    };
    let mut facts = Facts::default();
    for a in &crm.accounts {
        let Some(events) = by_record.get(&(Kind::Account, a.meta.id.as_str())) else {
            continue;
        };
        let tl = history::timeline(events.iter().copied(), "status");
        if let Some((date, Some(_))) = tl.last() {
            if edge.is_none() || commit_on(Kind::Account, &a.meta.id, *date) != edge {
                facts.status_since.insert(a.meta.id.clone(), *date);
            }
        }
    }
    for o in &crm.opportunities {
        let Some(first) = by_record
            .get(&(Kind::Opportunity, o.meta.id.as_str()))
            .and_then(|ev| ev.first())
        else {
            continue;
        };
        if matches!(
            first.change,
            Change::Created { .. } | Change::Restored { .. }
        ) && Some(&*first.commit) != edge
        {
            facts
                .opportunity_added
                .insert(o.meta.id.clone(), first.date.date_naive());
        }
    }
    facts
}
