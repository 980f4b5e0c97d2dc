//! What the lifecycle engine needs from the history: when each account entered its current
//! status, when each opportunity file was added and when it entered its current stage. Pure: from the events of
//! `history::mine`; `tick::facts` reads them from git.

use crate::crm::Crm;
use crate::history::{self, ByRecord, Change, Event};
use crate::lifecycle::Facts;
use crate::model::Kind;

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
        let Some(events) = by_record.get(&(Kind::Opportunity, o.meta.id.as_str())) else {
            continue;
        };
        let tl = history::timeline(events.iter().copied(), "stage");
        if let Some((date, Some(_))) = tl.last() {
            if edge.is_none() || commit_on(Kind::Opportunity, &o.meta.id, *date) != edge {
                facts.stage_since.insert(o.meta.id.clone(), *date);
            }
        }
        let Some(first) = events.first() else {
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
