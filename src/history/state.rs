//! What the events say about any moment: the CRM at a date, when a record's field took its
//! current value, and how long opportunities stayed in each stage. Pure functions over the
//! event stream (in commit order).
//!
//! A record moved to another file within one commit (a resharded folder: `accounts/acme.toml`
//! → `accounts/a/acme.toml`) appears as a deletion and a creation of the same id in the same
//! commit; these functions treat it as one record that did not change.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{Change, Event, Fields, Value};
use crate::model::Kind;

/// Every record that exists, by kind and id, with its fields.
pub type State = BTreeMap<(Kind, String), Fields>;

/// The events of each account and opportunity, in order, by kind and id.
pub type ByRecord<'e> = rustc_hash::FxHashMap<(Kind, &'e str), Vec<&'e Event>>;

/// Groups the events of accounts and opportunities by record (status and stage timelines,
/// when a record was first seen). Other kinds are left out: their events are most of a
/// history, and what reads them reads the event list directly.
pub fn by_record(events: &[Event]) -> ByRecord<'_> {
    let mut map = ByRecord::default();
    for e in events
        .iter()
        .filter(|e| matches!(e.kind, Kind::Account | Kind::Opportunity))
    {
        map.entry((e.kind, e.id.as_str())).or_default().push(e);
    }
    map
}

/// The CRM as of the end of `date` (author dates): the events of every commit dated on or
/// before it, applied in commit order.
pub fn state_at(events: &[Event], date: NaiveDate) -> State {
    let mut state = State::new();
    for e in events.iter().filter(|e| day(e) <= date) {
        apply(&mut state, e);
    }
    state
}

/// Applies one event to a state.
pub fn apply(state: &mut State, e: &Event) {
    let key = (e.kind, e.id.clone());
    match &e.change {
        Change::Created { fields } | Change::Restored { fields } => {
            state.insert(key, fields.clone());
        }
        Change::Changed { field, new, .. } => {
            let fields = state.entry(key).or_default();
            match new {
                Some(v) => fields.insert(field.clone(), v.clone()),
                None => fields.remove(field),
            };
        }
        Change::Deleted => {
            state.remove(&key);
        }
    }
}

/// Each time a record's field took a new value: (author date, value), `None` when the field
/// was removed or the record deleted. Oldest first.
pub fn field_timeline(
    events: &[Event],
    kind: Kind,
    id: &str,
    field: &str,
) -> Vec<(NaiveDate, Option<Value>)> {
    timeline(
        events.iter().filter(|e| e.kind == kind && e.id == id),
        field,
    )
}

/// The author date of the commit that set a record's current `status` (accounts, leads);
/// `None` if the record or its status does not exist.
pub fn status_since(events: &[Event], kind: Kind, id: &str) -> Option<NaiveDate> {
    match field_timeline(events, kind, id, "status").pop() {
        Some((date, Some(_))) => Some(date),
        _ => None,
    }
}

/// The author date of the commit that first added a record (an opportunity's `created` when
/// the file does not say).
pub fn first_seen(events: &[Event], kind: Kind, id: &str) -> Option<NaiveDate> {
    events
        .iter()
        .find(|e| {
            e.kind == kind
                && e.id == id
                && matches!(e.change, Change::Created { .. } | Change::Restored { .. })
        })
        .map(day)
}

/// A stretch of time an opportunity spent in one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageInterval {
    pub id: String,
    pub stage: String,
    pub entered: NaiveDate,
    /// When it moved on (or was deleted); `None` while it is still there.
    pub left: Option<NaiveDate>,
}

impl StageInterval {
    /// Whole days spent in the stage, if it was left.
    pub fn days(&self) -> Option<i64> {
        self.left.map(|l| (l - self.entered).num_days())
    }
}

/// The stage intervals of every opportunity, by id then date.
pub fn stage_intervals(events: &[Event]) -> Vec<StageInterval> {
    let mut by_id: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.kind == Kind::Opportunity) {
        by_id.entry(&e.id).or_default().push(e);
    }
    let mut out = Vec::new();
    for (id, events) in by_id {
        let tl = timeline(events.into_iter(), "stage");
        for (i, (entered, stage)) in tl.iter().enumerate() {
            if let Some(Value::Text(stage)) = stage {
                out.push(StageInterval {
                    id: id.to_string(),
                    stage: stage.clone(),
                    entered: *entered,
                    left: tl.get(i + 1).map(|(d, _)| *d),
                });
            }
        }
    }
    out
}

fn day(e: &Event) -> NaiveDate {
    e.date.date_naive()
}

/// The value changes of one field over one record's events (in commit order). A deletion and
/// a re-creation of the same id in one commit (a moved file) is no change.
pub fn timeline<'e>(
    events: impl Iterator<Item = &'e Event>,
    field: &str,
) -> Vec<(NaiveDate, Option<Value>)> {
    let mut out = Vec::new();
    let mut current: Option<&Value> = None;
    // A deletion only counts once we know the same commit did not re-create the record.
    let mut deleted: Option<&Event> = None;
    for e in events {
        if let Some(d) = deleted.take() {
            let moved = e.commit == d.commit
                && matches!(e.change, Change::Created { .. } | Change::Restored { .. });
            if !moved && current.is_some() {
                out.push((day(d), None));
                current = None;
            }
        }
        let next = match &e.change {
            Change::Created { fields } | Change::Restored { fields } => fields.get(field),
            Change::Changed { field: f, new, .. } if f == field => new.as_ref(),
            Change::Changed { .. } => continue,
            Change::Deleted => {
                deleted = Some(e);
                continue;
            }
        };
        if next != current {
            out.push((day(e), next.cloned()));
            current = next;
        }
    }
    if let Some(d) = deleted {
        if current.is_some() {
            out.push((day(d), None));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn event(commit: &str, date: &str, kind: Kind, id: &str, change: Change) -> Event {
        Event {
            commit: commit.into(),
            author: "Alice".into(),
            email: "alice@example.com".into(),
            date: DateTime::parse_from_rfc3339(&format!("{date}T10:00:00+01:00")).unwrap(),
            kind,
            id: id.into(),
            path: format!("{}/{id}.toml", kind.folder()),
            change,
        }
    }

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::Text(v.to_string())))
            .collect()
    }

    fn changed(field: &str, old: &str, new: &str) -> Change {
        Change::Changed {
            field: field.into(),
            old: Some(Value::Text(old.into())),
            new: Some(Value::Text(new.into())),
        }
    }

    fn history() -> Vec<Event> {
        let acct = Kind::Account;
        let opp = Kind::Opportunity;
        vec![
            event(
                "c1",
                "2026-01-05",
                acct,
                "acme",
                Change::Created {
                    fields: fields(&[("name", "Acme"), ("status", "target")]),
                },
            ),
            event(
                "c1",
                "2026-01-05",
                opp,
                "acme-pro",
                Change::Created {
                    fields: fields(&[("stage", "identified")]),
                },
            ),
            event(
                "c2",
                "2026-01-10",
                opp,
                "acme-pro",
                changed("stage", "identified", "qualified"),
            ),
            event(
                "c3",
                "2026-01-20",
                acct,
                "acme",
                changed("status", "target", "working"),
            ),
            event(
                "c3",
                "2026-01-20",
                acct,
                "acme",
                changed("owner", "", "alice"),
            ),
            event(
                "c4",
                "2026-02-01",
                opp,
                "acme-pro",
                changed("stage", "qualified", "won"),
            ),
            event(
                "c5",
                "2026-02-03",
                acct,
                "acme",
                changed("name", "Acme", "Acme Inc"),
            ),
            event(
                "c6",
                "2026-02-10",
                Kind::Account,
                "old",
                Change::Created {
                    fields: fields(&[("status", "churn")]),
                },
            ),
            event("c7", "2026-02-11", Kind::Account, "old", Change::Deleted),
        ]
    }

    #[test]
    fn state_at_replays_events_up_to_a_date() {
        let events = history();
        let jan = state_at(&events, d("2026-01-15"));
        assert_eq!(
            jan[&(Kind::Account, "acme".into())]["status"],
            Value::Text("target".into())
        );
        assert_eq!(
            jan[&(Kind::Opportunity, "acme-pro".into())]["stage"],
            Value::Text("qualified".into())
        );
        let feb = state_at(&events, d("2026-02-10"));
        let acme = &feb[&(Kind::Account, "acme".into())];
        assert_eq!(acme["status"], Value::Text("working".into()));
        assert_eq!(acme["name"], Value::Text("Acme Inc".into()));
        assert_eq!(acme["owner"], Value::Text("alice".into()));
        assert!(feb.contains_key(&(Kind::Account, "old".into())));
        assert!(!state_at(&events, d("2026-02-11")).contains_key(&(Kind::Account, "old".into())));
        assert!(state_at(&events, d("2025-12-31")).is_empty());
    }

    #[test]
    fn status_since_is_the_date_the_current_status_was_set() {
        let events = history();
        assert_eq!(
            status_since(&events, Kind::Account, "acme"),
            Some(d("2026-01-20"))
        );
        assert_eq!(status_since(&events, Kind::Account, "old"), None);
        assert_eq!(status_since(&events, Kind::Account, "nobody"), None);
        assert_eq!(
            first_seen(&events, Kind::Opportunity, "acme-pro"),
            Some(d("2026-01-05"))
        );
    }

    #[test]
    fn stage_intervals_follow_stage_changes() {
        let intervals = stage_intervals(&history());
        let got: Vec<(&str, NaiveDate, Option<NaiveDate>)> = intervals
            .iter()
            .map(|i| (i.stage.as_str(), i.entered, i.left))
            .collect();
        assert_eq!(
            got,
            [
                ("identified", d("2026-01-05"), Some(d("2026-01-10"))),
                ("qualified", d("2026-01-10"), Some(d("2026-02-01"))),
                ("won", d("2026-02-01"), None),
            ]
        );
        assert_eq!(intervals[1].days(), Some(22));
    }

    #[test]
    fn a_move_within_one_commit_is_the_same_record() {
        let acct = Kind::Account;
        let mut events = vec![
            event(
                "c1",
                "2026-01-05",
                acct,
                "acme",
                Change::Created {
                    fields: fields(&[("status", "target")]),
                },
            ),
            // c2 moves the file to a shard folder: deletion first, then creation.
            event("c2", "2026-03-01", acct, "acme", Change::Deleted),
            event(
                "c2",
                "2026-03-01",
                acct,
                "acme",
                Change::Created {
                    fields: fields(&[("status", "target")]),
                },
            ),
        ];
        assert_eq!(status_since(&events, acct, "acme"), Some(d("2026-01-05")));
        assert!(state_at(&events, d("2026-03-01")).contains_key(&(acct, "acme".into())));
        // Deleted for real, then created again later: a new life.
        events.push(event("c3", "2026-04-01", acct, "acme", Change::Deleted));
        events.push(event(
            "c4",
            "2026-05-01",
            acct,
            "acme",
            Change::Created {
                fields: fields(&[("status", "target")]),
            },
        ));
        assert_eq!(
            field_timeline(&events, acct, "acme", "status"),
            [
                (d("2026-01-05"), Some(Value::Text("target".into()))),
                (d("2026-04-01"), None),
                (d("2026-05-01"), Some(Value::Text("target".into()))),
            ]
        );
        assert_eq!(status_since(&events, acct, "acme"), Some(d("2026-05-01")));
    }

    #[test]
    fn a_restored_record_only_counts_fields_that_changed() {
        let acct = Kind::Account;
        let events = vec![
            event(
                "c1",
                "2026-01-05",
                acct,
                "acme",
                Change::Created {
                    fields: fields(&[("status", "target")]),
                },
            ),
            // c2 broke the file (skipped with a warning); c3 fixed it.
            event(
                "c3",
                "2026-01-09",
                acct,
                "acme",
                Change::Restored {
                    fields: fields(&[("status", "target"), ("owner", "bob")]),
                },
            ),
        ];
        assert_eq!(status_since(&events, acct, "acme"), Some(d("2026-01-05")));
        let s = state_at(&events, d("2026-01-09"));
        assert_eq!(
            s[&(acct, "acme".into())]["owner"],
            Value::Text("bob".into())
        );
    }
}
