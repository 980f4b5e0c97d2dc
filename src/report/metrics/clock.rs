//! The dates every family of metrics reads from the history, read once: each opportunity's
//! stage timeline (the commits that changed its stage) and the day its file was added, the
//! days each account entered `churn`, and the day each lead first left `new`. The README's
//! "won on", "lost on" and "opened on" are defined here.

use rustc_hash::FxHashMap as HashMap;

use chrono::NaiveDate;

use crate::config::Outcome;
use crate::crm::Crm;
use crate::history::{self, ByRecord, Change, Event, Value};
use crate::model::{Kind, Opportunity};

/// What the commits say about when things happened.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Opportunity id → its stage over time: (day, stage), in commit order; `None` when the
    /// file was deleted.
    pub stages: HashMap<String, Vec<(NaiveDate, Option<String>)>>,
    /// Opportunity id → the day of the commit that added its file.
    pub added: HashMap<String, NaiveDate>,
    /// Account id → the days it entered `churn`, in order.
    pub churns: HashMap<String, Vec<NaiveDate>>,
    /// Lead id → the day its status first was something other than `new`.
    pub addressed: HashMap<String, NaiveDate>,
}

impl Clock {
    pub fn from_history(crm: &Crm, records: &ByRecord, events: &[Event]) -> Clock {
        let mut clock = Clock::default();
        for o in &crm.opportunities {
            let Some(ev) = records.get(&(Kind::Opportunity, o.meta.id.as_str())) else {
                continue;
            };
            if let Some(first) = ev.first() {
                if matches!(
                    first.change,
                    Change::Created { .. } | Change::Restored { .. }
                ) {
                    clock
                        .added
                        .insert(o.meta.id.clone(), first.date.date_naive());
                }
            }
            let tl = history::timeline(ev.iter().copied(), "stage")
                .into_iter()
                .map(|(d, v)| (d, v.as_ref().and_then(Value::as_str).map(str::to_string)))
                .collect();
            clock.stages.insert(o.meta.id.clone(), tl);
        }
        for a in &crm.accounts {
            let Some(ev) = records.get(&(Kind::Account, a.meta.id.as_str())) else {
                continue;
            };
            let churns: Vec<NaiveDate> = history::timeline(ev.iter().copied(), "status")
                .into_iter()
                .filter(|(_, v)| v.as_ref().and_then(Value::as_str) == Some("churn"))
                .map(|(d, _)| d)
                .collect();
            if !churns.is_empty() {
                clock.churns.insert(a.meta.id.clone(), churns);
            }
        }
        // Leads: the first event that shows a status other than `new` (a lead created
        // `working` was addressed the day it was created).
        for e in events.iter().filter(|e| e.kind == Kind::Lead) {
            let status = match &e.change {
                Change::Created { fields } | Change::Restored { fields } => Some(
                    fields
                        .get("status")
                        .and_then(Value::as_str)
                        .unwrap_or("new"),
                ),
                Change::Changed { field, new, .. } if field == "status" => {
                    new.as_ref().and_then(Value::as_str)
                }
                _ => None,
            };
            if status.is_some_and(|s| s != "new") {
                clock
                    .addressed
                    .entry(e.id.clone())
                    .or_insert(e.date.date_naive());
            }
        }
        clock
    }

    /// The day the opportunity entered its current stage, if a commit says.
    pub fn stage_since(&self, o: &Opportunity) -> Option<NaiveDate> {
        match self.stages.get(&o.meta.id)?.last()? {
            (day, Some(stage)) if *stage == o.stage => Some(*day),
            _ => None,
        }
    }

    /// **Won on** / **lost on**: for a closed deal, the later of its `close_date` and the
    /// day a commit moved it to its stage. `None` for an open deal.
    pub fn closed_on(&self, crm: &Crm, o: &Opportunity) -> Option<NaiveDate> {
        crm.config.outcome(&o.stage)?;
        o.close_date.max(self.stage_since(o))
    }

    /// Won on, for a won deal.
    pub fn won_on(&self, crm: &Crm, o: &Opportunity) -> Option<NaiveDate> {
        (crm.config.outcome(&o.stage) == Some(Outcome::Won))
            .then(|| self.closed_on(crm, o))
            .flatten()
    }

    /// Lost on, for a lost deal.
    pub fn lost_on(&self, crm: &Crm, o: &Opportunity) -> Option<NaiveDate> {
        (crm.config.outcome(&o.stage) == Some(Outcome::Lost))
            .then(|| self.closed_on(crm, o))
            .flatten()
    }

    /// **Opened on**: the day its file was added, else its `created` field.
    pub fn opened_on(&self, o: &Opportunity) -> Option<NaiveDate> {
        self.added.get(&o.meta.id).copied().or(o.created)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{crm, d, opp};
    use super::*;

    #[test]
    fn a_deal_is_won_on_the_later_of_its_close_date_and_the_move() {
        let c = crm(&[
            (
                "opportunities/late.toml",
                opp("won", "close_date = 2026-09-03\n"),
            ),
            (
                "opportunities/ahead.toml",
                opp("won", "close_date = 2026-09-20\n"),
            ),
            (
                "opportunities/open.toml",
                opp("trial", "close_date = 2026-09-20\n"),
            ),
            (
                "opportunities/gone.toml",
                opp("lost", "close_date = 2026-09-01\n"),
            ),
        ]);
        let mut clock = Clock::default();
        for (id, stage) in [
            ("late", "won"),
            ("ahead", "won"),
            ("open", "trial"),
            ("gone", "lost"),
        ] {
            clock.stages.insert(
                id.into(),
                vec![
                    (d("2026-08-01"), Some("identified".into())),
                    (d("2026-09-10"), Some(stage.into())),
                ],
            );
        }
        let o = |id: &str| c.opportunities.iter().find(|o| o.meta.id == id).unwrap();
        assert_eq!(
            clock.won_on(&c, o("late")),
            Some(d("2026-09-10")),
            "recorded after the fact"
        );
        assert_eq!(clock.won_on(&c, o("ahead")), Some(d("2026-09-20")));
        assert_eq!(clock.won_on(&c, o("open")), None);
        assert_eq!(clock.won_on(&c, o("gone")), None);
        assert_eq!(clock.lost_on(&c, o("gone")), Some(d("2026-09-10")));
        // without the history, the close date says
        assert_eq!(
            Clock::default().won_on(&c, o("late")),
            Some(d("2026-09-03"))
        );
        // opened on: the commit that added the file, else `created`
        clock.added.insert("late".into(), d("2026-08-01"));
        assert_eq!(clock.opened_on(o("late")), Some(d("2026-08-01")));
        assert_eq!(clock.opened_on(o("ahead")), None);
    }

    fn lead_event(id: &str, day: &str, change: Change) -> Event {
        Event {
            commit: "c".repeat(40).into(),
            author: "A".into(),
            email: "a@example.com".into(),
            date: format!("{day}T10:00:00+00:00").parse().unwrap(),
            kind: Kind::Lead,
            id: id.into(),
            path: format!("leads/{id}.toml"),
            change,
        }
    }

    #[test]
    fn a_lead_is_addressed_the_day_its_status_first_leaves_new() {
        let created = |status: &str| Change::Created {
            fields: [
                ("name".to_string(), Value::Text("Ana".into())),
                ("status".to_string(), Value::Text(status.into())),
            ]
            .into_iter()
            .collect(),
        };
        let moved = |to: &str| Change::Changed {
            field: "status".into(),
            old: None,
            new: Some(Value::Text(to.into())),
        };
        let events = vec![
            lead_event("fresh", "2026-10-01", created("new")),
            lead_event("imported", "2026-10-01", created("working")),
            lead_event("fresh", "2026-10-08", moved("working")),
            lead_event("fresh", "2026-10-20", moved("converted")),
        ];
        // What the metrics keep of a history (`history::for_metrics`) says the same.
        let lean: Vec<Event> = events
            .iter()
            .cloned()
            .filter_map(|mut e| history::for_metrics(e.kind, &mut e.change).then_some(e))
            .collect();
        for events in [&events, &lean] {
            let clock = Clock::from_history(&Crm::default(), &Default::default(), events);
            assert_eq!(clock.addressed.get("fresh"), Some(&d("2026-10-08")));
            assert_eq!(clock.addressed.get("imported"), Some(&d("2026-10-01")));
        }
    }
}
