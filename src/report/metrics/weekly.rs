//! The weekly views: the last 12 weeks (demos held, deals won and lost), and what happened
//! in the seven days ending on as_of.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use chrono::NaiveDate;
use serde::Serialize;

use super::{monday, Clock};
use crate::config::{Config, Outcome};
use crate::crm::Crm;
use crate::history::{Change, Event, Value};
use crate::model::dates::{self, DateError};
use crate::model::{ActivityKind, Kind, Opportunity};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Week {
    pub week: String,
    pub demos: usize,
    pub won: usize,
    pub lost: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub kind: Kind,
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mrr: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MoveLine {
    pub kind: Kind,
    pub id: String,
    pub name: String,
    pub field: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub date: String,
    pub author: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ThisWeek {
    pub from: String,
    pub to: String,
    pub created: Vec<Item>,
    pub won: Vec<Item>,
    pub lost: Vec<Item>,
    pub moves: Vec<MoveLine>,
}

/// The last 12 weeks (Monday-based): demos held, deals won on and lost on a day of the week.
pub fn weeks(crm: &Crm, clock: &Clock, as_of: NaiveDate) -> Result<Vec<Week>, DateError> {
    let this = monday(as_of)?;
    let won: Vec<NaiveDate> = crm
        .opportunities
        .iter()
        .filter_map(|o| clock.won_on(crm, o))
        .collect();
    let lost: Vec<NaiveDate> = crm
        .opportunities
        .iter()
        .filter_map(|o| clock.lost_on(crm, o))
        .collect();
    (0..12u64)
        .rev()
        .map(|k| {
            let start = dates::sub_days(this, 7 * k)?;
            let end = dates::add_days(start, 6)?.min(as_of);
            let within = |d: &NaiveDate| *d >= start && *d <= end;
            Ok(Week {
                week: start.to_string(),
                demos: crm
                    .activities
                    .iter()
                    .filter(|a| a.held(ActivityKind::Demo) && within(&a.date.date()))
                    .count(),
                won: won.iter().filter(|d| within(d)).count(),
                lost: lost.iter().filter(|d| within(d)).count(),
            })
        })
        .collect()
}

/// What happened in the seven days ending on as_of.
pub fn this_week(
    crm: &Crm,
    events: &[Event],
    config: &Config,
    as_of: NaiveDate,
) -> Result<ThisWeek, DateError> {
    let from = dates::sub_days(as_of, 6)?;
    let in_week = |e: &&Event| {
        let d = e.date.date_naive();
        d >= from && d <= as_of
    };
    // The records this week's events name, found in one pass over each kind (a lookup by
    // scan per event is quadratic on a busy week of a large CRM).
    let wanted: HashSet<(Kind, &str)> = events
        .iter()
        .filter(in_week)
        .map(|e| (e.kind, e.id.as_str()))
        .collect();
    let want = |kind: Kind, id: &str| wanted.contains(&(kind, id));
    // The first record of an id wins, as with `Crm::account`.
    let mut names: HashMap<(Kind, &str), String> = HashMap::default();
    let mut opportunities: HashMap<&str, &Opportunity> = HashMap::default();
    for a in crm
        .accounts
        .iter()
        .filter(|a| want(Kind::Account, &a.meta.id))
    {
        names
            .entry((Kind::Account, &a.meta.id))
            .or_insert(a.name.clone());
    }
    for o in crm
        .opportunities
        .iter()
        .filter(|o| want(Kind::Opportunity, &o.meta.id))
    {
        names
            .entry((Kind::Opportunity, &o.meta.id))
            .or_insert(o.name.clone());
        opportunities.entry(&o.meta.id).or_insert(o);
    }
    for c in crm
        .contacts
        .iter()
        .filter(|c| want(Kind::Contact, &c.meta.id))
    {
        names
            .entry((Kind::Contact, &c.meta.id))
            .or_insert(c.name.clone());
    }
    for l in crm.leads.iter().filter(|l| want(Kind::Lead, &l.meta.id)) {
        if let Some(name) = l.name.clone().or(l.company.clone()) {
            names.entry((Kind::Lead, &l.meta.id)).or_insert(name);
        }
    }
    for a in crm
        .activities
        .iter()
        .filter(|a| want(Kind::Activity, &a.meta.id))
    {
        if let Some(subject) = a.subject.clone() {
            names.entry((Kind::Activity, &a.meta.id)).or_insert(subject);
        }
    }
    let name_of = |kind: Kind, id: &str| -> String {
        names
            .get(&(kind, id))
            .cloned()
            .unwrap_or_else(|| id.to_string())
    };
    let mut week = ThisWeek {
        from: from.to_string(),
        to: as_of.to_string(),
        created: vec![],
        won: vec![],
        lost: vec![],
        moves: vec![],
    };
    for e in events.iter().filter(in_week) {
        match &e.change {
            Change::Created { fields } if e.kind != Kind::Activity => week.created.push(Item {
                kind: e.kind,
                id: e.id.clone(),
                name: fields
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| name_of(e.kind, &e.id)),
                mrr: None,
                owner: None,
                reason: None,
            }),
            Change::Changed { field, old, new } if field == "stage" || field == "status" => {
                let to = new.as_ref().map(|v| v.to_string());
                week.moves.push(MoveLine {
                    kind: e.kind,
                    id: e.id.clone(),
                    name: name_of(e.kind, &e.id),
                    field: field.clone(),
                    from: old.as_ref().map(|v| v.to_string()),
                    to: to.clone(),
                    date: e.date.date_naive().to_string(),
                    author: e.author.to_string(),
                });
                if e.kind == Kind::Opportunity {
                    if let (Some(to), Some(o)) = (to, opportunities.get(e.id.as_str())) {
                        let item = Item {
                            kind: Kind::Opportunity,
                            id: e.id.clone(),
                            name: o.name.clone(),
                            mrr: o.mrr,
                            owner: o.owner.as_ref().map(|x| x.to_string()),
                            reason: o.lost_reason.clone(),
                        };
                        match config.outcome(&to) {
                            Some(Outcome::Won) => week.won.push(item),
                            Some(Outcome::Lost) => week.lost.push(item),
                            None => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(week)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{account, crm, d, opp};
    use super::*;

    #[test]
    fn a_week_counts_the_deals_won_on_its_days() {
        let (ap, at) = account("acme", "customer");
        let crm = crm(&[
            (ap.as_str(), at),
            (
                "opportunities/w.toml",
                opp("won", "close_date = 2026-11-02\n"),
            ),
        ]);
        let mut clock = Clock::default();
        // recorded won on 11-18 with a close date of 11-02: won on 11-18
        clock
            .stages
            .insert("w".into(), vec![(d("2026-11-18"), Some("won".into()))]);
        let w = weeks(&crm, &clock, d("2026-11-26")).unwrap();
        let won: Vec<(&str, usize)> = w
            .iter()
            .filter(|x| x.won > 0)
            .map(|x| (x.week.as_str(), x.won))
            .collect();
        assert_eq!(won, vec![("2026-11-16", 1)]);
        assert_eq!(w.last().unwrap().week, "2026-11-23");
    }

    #[test]
    fn a_cancelled_demo_is_not_held() {
        let (ap, at) = account("acme", "working");
        let demo = |extra: &str| {
            format!("kind = \"demo\"\ndate = 2026-11-17T15:00:00+01:00\naccount = \"acme\"\nduration_min = 45\nuid = \"e@x\"\n{extra}")
        };
        let crm = crm(&[
            (ap.as_str(), at),
            ("activities/2026/11/a.toml", demo("")),
            ("activities/2026/11/b.toml", demo("cancelled = true\n")),
        ]);
        let w = weeks(&crm, &Clock::default(), d("2026-11-26")).unwrap();
        let demos: Vec<(&str, usize)> = w
            .iter()
            .filter(|x| x.demos > 0)
            .map(|x| (x.week.as_str(), x.demos))
            .collect();
        assert_eq!(demos, vec![("2026-11-16", 1)]);
    }
}
