//! The sales floor: what each team member has in hand (their accounts per status, their
//! open tasks and queues) and what they did in each period.

use rustc_hash::FxHashMap as HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::timeline::Contract;
use super::{ratio, round2, ByPeriod, Clock, Period, StatusCount};
use crate::crm::Crm;
use crate::model::{ActivityKind, LeadStatus, MemberId};

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub role: Option<String>,
    /// The member's accounts (as owner) per status, in `sloop.toml` order.
    pub pipe: Vec<StatusCount>,
    pub tasks_open: usize,
    pub accounts_in_queue: usize,
    pub leads_in_queue: usize,
    pub periods: ByPeriod<Figures>,
}

/// What a member did in a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// MRR of their deals (as owner) that started in the period.
    pub new_mrr: f64,
    pub won: usize,
    pub lost: usize,
    pub win_rate: Option<f64>,
    pub activities: usize,
    pub touchpoints: usize,
    pub calls: usize,
    pub call_minutes: u64,
    pub tasks_done: usize,
    /// Meetings they held (the activity's owner; a cancelled one is not held), logged or
    /// captured from a calendar.
    pub meetings: usize,
    /// Demos they held (the activity's owner).
    pub demos: usize,
    /// Demos on opportunities they sourced (as the opportunity's `sdr`).
    pub demos_sourced: usize,
    pub opportunities_created: usize,
    pub leads_addressed: usize,
}

/// `records` grouped by member (`member` gives none: left out), each group in `records`'
/// order.
fn by<'c, T: 'c>(
    records: impl IntoIterator<Item = &'c T>,
    member: impl Fn(&'c T) -> Option<&'c str>,
) -> HashMap<&'c str, Vec<&'c T>> {
    let mut map: HashMap<&str, Vec<&T>> = HashMap::default();
    for r in records {
        if let Some(m) = member(r) {
            map.entry(m).or_default().push(r);
        }
    }
    map
}

/// A member field's id.
fn name(member: &Option<MemberId>) -> Option<&str> {
    member.as_ref().map(MemberId::as_str)
}

/// A member's group of `by`, empty when they have none.
fn of<'m, T>(map: &'m HashMap<&str, Vec<&T>>, id: &str) -> &'m [&'m T] {
    map.get(id).map(Vec::as_slice).unwrap_or_default()
}

/// Every team member's sales floor figures.
pub fn members(
    crm: &Crm,
    clock: &Clock,
    contracts: &[Contract],
    periods: &ByPeriod<Period>,
    as_of: NaiveDate,
) -> Vec<Member> {
    let config = &crm.config;
    // Each member's records, in one pass per kind, in the CRM's order: a scan per member
    // (and per period and status) was team size x 200,000 activities, and a tenth of a warm
    // report for the leads and accounts.
    let held = crm.activities.iter().filter(|a| a.date.date() <= as_of);
    let acts_of = by(held.clone(), |a| name(&a.owner));
    // The demos on each sdr's opportunities, for the demos they sourced.
    let sdr_of: HashMap<&str, &str> = crm
        .opportunities
        .iter()
        .filter_map(|o| o.sdr.as_ref().map(|s| (o.meta.id.as_str(), s.as_str())))
        .collect();
    let sourced_by = by(held.filter(|a| a.held(ActivityKind::Demo)), |a| {
        a.opportunity
            .as_ref()
            .and_then(|o| sdr_of.get(o.as_str()).copied())
    });
    let owned_by = by(&crm.opportunities, |o| name(&o.owner));
    // Who created an opportunity: its sdr, or else its owner.
    let created_by = by(&crm.opportunities, |o| name(&o.sdr).or(name(&o.owner)));
    let accounts_of = by(&crm.accounts, |a| name(&a.owner));
    let leads_of = by(&crm.leads, |l| name(&l.owner));
    let contracts_of = by(contracts, |c| Some(c.owner));
    config
        .team
        .iter()
        .map(|m| {
            let id = m.id.as_str();
            let acts = of(&acts_of, id);
            let sourced = of(&sourced_by, id);
            let owned = of(&owned_by, id);
            let created = of(&created_by, id);
            let accounts = of(&accounts_of, id);
            let leads = of(&leads_of, id);
            let contracts = of(&contracts_of, id);
            // The days each period is asked about, worked out once for all periods.
            let won_lost: Vec<(Option<NaiveDate>, Option<NaiveDate>)> = owned
                .iter()
                .map(|o| (clock.won_on(crm, o), clock.lost_on(crm, o)))
                .collect();
            let opened: Vec<Option<NaiveDate>> =
                created.iter().map(|o| clock.opened_on(o)).collect();
            let addressed: Vec<Option<NaiveDate>> = leads
                .iter()
                .filter(|l| l.status != LeadStatus::New)
                .map(|l| clock.addressed.get(&l.meta.id).copied().or(l.created))
                .collect();
            let figures = |p: &Period| {
                let won = won_lost.iter().filter(|(w, _)| p.has(*w)).count();
                let lost = won_lost.iter().filter(|(_, l)| p.has(*l)).count();
                // One pass over the member's activities for every count (a pass per count
                // was eight over some 12,000 activities, per member and period).
                let mut f = Figures {
                    new_mrr: round2(
                        contracts
                            .iter()
                            .filter(|c| c.goes_live() && p.contains(c.start))
                            .map(|c| c.mrr)
                            .sum(),
                    ),
                    won,
                    lost,
                    win_rate: ratio(won, won + lost),
                    demos_sourced: sourced.iter().filter(|a| p.contains(a.date.date())).count(),
                    opportunities_created: opened.iter().filter(|d| p.has(**d)).count(),
                    leads_addressed: addressed.iter().filter(|d| p.has(**d)).count(),
                    ..Figures::default()
                };
                for a in acts.iter().filter(|a| p.contains(a.date.date())) {
                    let held = a.cancelled != Some(true);
                    f.activities += usize::from(a.kind != ActivityKind::Task);
                    f.touchpoints += usize::from(a.is_touchpoint());
                    match a.kind {
                        ActivityKind::Call => {
                            f.calls += 1;
                            f.call_minutes += a.duration_min.unwrap_or(0);
                        }
                        ActivityKind::Task => f.tasks_done += usize::from(a.done == Some(true)),
                        ActivityKind::Meeting => f.meetings += usize::from(held),
                        ActivityKind::Demo => f.demos += usize::from(held),
                        _ => {}
                    }
                }
                f
            };
            Member {
                id: id.to_string(),
                name: m.name.clone(),
                role: m.role.map(|r| {
                    serde_json::to_value(r)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                }),
                pipe: config
                    .statuses
                    .iter()
                    .map(|s| StatusCount {
                        status: s.name.clone(),
                        count: accounts.iter().filter(|a| a.status == s.name).count(),
                    })
                    .collect(),
                tasks_open: acts.iter().filter(|a| a.is_open_task()).count(),
                accounts_in_queue: accounts
                    .iter()
                    .filter(|a| matches!(a.status.as_str(), "qualified_pool" | "target"))
                    .count(),
                leads_in_queue: leads
                    .iter()
                    .filter(|l| matches!(l.status, LeadStatus::New | LeadStatus::Working))
                    .count(),
                periods: periods.map(figures),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{account, crm, d, opp};
    use super::super::{period, timeline, PeriodName};
    use super::*;

    #[test]
    fn demos_count_for_who_held_them_and_for_who_sourced_the_deal() {
        let (ap, at) = account("acme", "working");
        let demo = |date: &str, owner: &str| {
            format!("kind = \"demo\"\ndate = {date}\naccount = \"acme\"\nopportunity = \"o\"\nowner = \"{owner}\"\nduration_min = 30\n")
        };
        let crm = crm(&[
            (ap.as_str(), at),
            ("opportunities/o.toml", opp("trial", "sdr = \"bo\"\n")),
            ("activities/2026/10/a.toml", demo("2026-10-05", "al")),
            ("activities/2026/11/b.toml", demo("2026-11-05", "al")),
            ("activities/2026/06/c.toml", demo("2026-06-05", "al")),
            (
                "activities/2026/11/t.toml",
                "kind = \"call\"\ndate = 2026-11-06\naccount = \"acme\"\nowner = \"bo\"\nduration_min = 12\n".into(),
            ),
            (
                "activities/2026/11/x.toml",
                "kind = \"task\"\ndate = 2026-11-07\naccount = \"acme\"\nowner = \"bo\"\ndue = 2026-11-08\ndone = true\n".into(),
            ),
        ]);
        let as_of = d("2026-11-26");
        let periods = period::periods(as_of, PeriodName::Quarter);
        let mut clock = Clock::default();
        clock.added.insert("o".into(), d("2026-09-20"));
        let ms = members(&crm, &clock, &[], &periods, as_of);
        let fig = |m: &str, p: PeriodName| {
            ms.iter()
                .find(|x| x.id == m)
                .unwrap()
                .periods
                .get(p)
                .unwrap()
                .clone()
        };
        let al = fig("al", PeriodName::Quarter);
        assert_eq!((al.demos, al.demos_sourced, al.touchpoints), (2, 0, 2));
        let bo = fig("bo", PeriodName::Quarter);
        assert_eq!(
            bo,
            Figures {
                demos_sourced: 2,
                activities: 1,
                touchpoints: 1,
                calls: 1,
                call_minutes: 12,
                tasks_done: 1,
                ..Figures::default()
            }
        );
        assert_eq!(fig("bo", PeriodName::All).demos_sourced, 3);
        assert_eq!(
            fig("bo", PeriodName::Days90).opportunities_created,
            1,
            "opened 09-20, as sdr"
        );
        assert_eq!(fig("bo", PeriodName::Quarter).opportunities_created, 0);
        let pipe: Vec<(&str, usize)> = ms[0]
            .pipe
            .iter()
            .filter(|s| s.count > 0)
            .map(|s| (s.status.as_str(), s.count))
            .collect();
        assert_eq!(pipe, vec![("working", 1)], "al's accounts per status");
    }

    /// Each member counts only their own records, whoever's come before or after them in
    /// the CRM: accounts per status and in the queue, leads in the queue and addressed,
    /// deals won, lost and created (as sdr, else as owner).
    #[test]
    fn each_member_counts_their_own_records_only() {
        let acc = |id: &str, status: &str, owner: &str| {
            (
                format!("accounts/{id}.toml"),
                format!("name = \"{id}\"\nstatus = \"{status}\"\nowner = \"{owner}\"\n"),
            )
        };
        let lead = |status: &str, owner: &str, created: &str| {
            format!("name = \"L\"\nemail = \"l@x.example\"\nsource = \"inbound\"\nowner = \"{owner}\"\nstatus = \"{status}\"\ncreated = {created}\n")
        };
        let accounts = [
            acc("acme", "working", "al"),
            acc("b1", "target", "bo"),
            acc("a2", "target", "al"),
            acc("b2", "qualified_pool", "bo"),
            acc("b3", "working", "bo"),
        ];
        let mut files: Vec<(&str, String)> = accounts
            .iter()
            .map(|(p, t)| (p.as_str(), t.clone()))
            .collect();
        files.extend([
            ("leads/l1.toml", lead("new", "bo", "2026-11-02")),
            ("leads/l2.toml", lead("working", "al", "2026-11-03")),
            ("leads/l3.toml", lead("working", "bo", "2026-11-04")),
            ("leads/l4.toml", lead("rejected", "bo", "2026-01-04")),
            (
                "opportunities/w.toml",
                opp(
                    "won",
                    "mrr = 10\nclose_date = 2026-11-10\n[commit]\nplan = \"pro\"\n",
                ),
            ),
            (
                "opportunities/l.toml",
                opp("lost", "close_date = 2026-10-10\nlost_reason = \"price\"\n"),
            ),
            (
                "opportunities/b.toml",
                opp("qualified", "").replace("owner = \"al\"", "owner = \"bo\""),
            ),
            ("opportunities/s.toml", opp("qualified", "sdr = \"bo\"\n")),
        ]);
        let crm = crm(&files);
        let as_of = d("2026-11-26");
        let periods = period::periods(as_of, PeriodName::Quarter);
        let mut clock = Clock::default();
        for (o, day) in [
            ("w", "2026-10-01"),
            ("l", "2026-10-02"),
            ("b", "2026-10-03"),
            ("s", "2026-10-04"),
        ] {
            clock.added.insert(o.into(), d(day));
        }
        let ms = members(&crm, &clock, &[], &periods, as_of);
        let m = |id: &str| ms.iter().find(|x| x.id == id).unwrap();
        let pipe = |id: &str| -> Vec<(String, usize)> {
            m(id)
                .pipe
                .iter()
                .filter(|s| s.count > 0)
                .map(|s| (s.status.clone(), s.count))
                .collect()
        };
        let owned = |pairs: &[(&str, usize)]| -> Vec<(String, usize)> {
            pairs.iter().map(|(s, n)| (s.to_string(), *n)).collect()
        };
        assert_eq!(pipe("al"), owned(&[("target", 1), ("working", 1)]));
        assert_eq!(
            pipe("bo"),
            owned(&[("qualified_pool", 1), ("target", 1), ("working", 1)])
        );
        assert_eq!(
            (m("al").accounts_in_queue, m("bo").accounts_in_queue),
            (1, 2)
        );
        assert_eq!((m("al").leads_in_queue, m("bo").leads_in_queue), (1, 2));
        let q = |id: &str| m(id).periods.get(PeriodName::Quarter).unwrap().clone();
        let (al, bo) = (q("al"), q("bo"));
        assert_eq!((al.won, al.lost, al.win_rate), (1, 1, Some(0.5)));
        assert_eq!((bo.won, bo.lost, bo.win_rate), (0, 0, None));
        // w and l by al (no sdr); b by bo (owner, no sdr); s by bo (sdr).
        assert_eq!((al.opportunities_created, bo.opportunities_created), (2, 2));
        // Addressed: not new, on the day created (no move recorded); l4 is in January.
        assert_eq!((al.leads_addressed, bo.leads_addressed), (1, 1));
        let all = m("bo")
            .periods
            .get(PeriodName::All)
            .unwrap()
            .leads_addressed;
        assert_eq!(all, 2);
    }

    /// Captured meetings and demos count as held, with the logged ones; a cancelled one is
    /// neither held, nor a touchpoint, nor a demo sourced (it stays an activity on file).
    #[test]
    fn cancelled_meetings_and_demos_are_not_held() {
        let (ap, at) = account("acme", "working");
        let act = |kind: &str, extra: &str| {
            format!("kind = \"{kind}\"\ndate = 2026-11-05T10:00:00+01:00\naccount = \"acme\"\nopportunity = \"o\"\nowner = \"al\"\nduration_min = 30\n{extra}")
        };
        let crm = crm(&[
            (ap.as_str(), at),
            ("opportunities/o.toml", opp("trial", "sdr = \"bo\"\n")),
            (
                "activities/2026/11/m1.toml",
                act("meeting", "uid = \"e1@google.com\"\nsequence = 1\n"),
            ),
            ("activities/2026/11/m2.toml", act("meeting", "")),
            (
                "activities/2026/11/m3.toml",
                act("meeting", "uid = \"e2@google.com\"\ncancelled = true\n"),
            ),
            (
                "activities/2026/11/d1.toml",
                act("demo", "uid = \"e3@google.com\"\n"),
            ),
            (
                "activities/2026/11/d2.toml",
                act("demo", "uid = \"e4@google.com\"\ncancelled = true\n"),
            ),
            (
                "activities/2026/11/c1.toml",
                act(
                    "call",
                    "direction = \"inbound\"\noutcome = \"missed\"\ncall_id = \"aircall:1\"\n",
                ),
            ),
        ]);
        let as_of = d("2026-11-26");
        let periods = period::periods(as_of, PeriodName::Quarter);
        let ms = members(&crm, &Clock::default(), &[], &periods, as_of);
        let fig = |m: &str| {
            ms.iter()
                .find(|x| x.id == m)
                .unwrap()
                .periods
                .get(PeriodName::Quarter)
                .unwrap()
                .clone()
        };
        let al = fig("al");
        assert_eq!(
            (
                al.meetings,
                al.demos,
                al.calls,
                al.touchpoints,
                al.activities
            ),
            (2, 1, 1, 4, 6)
        );
        assert_eq!(fig("bo").demos_sourced, 1);
    }

    #[test]
    fn new_mrr_is_the_members_mrr_that_started_in_the_period() {
        let c = |id, owner, start: &str| Contract {
            id,
            account: id,
            owner,
            group: "inbound",
            upsell: false,
            mrr: 100.0,
            start: d(start),
            end: None,
        };
        let cs = vec![
            c("a", "al", "2026-10-02"),
            c("b", "al", "2026-07-01"),
            c("x", "bo", "2026-11-01"),
        ];
        let crm = crm(&[]);
        let as_of = d("2026-11-26");
        let periods = period::periods(as_of, PeriodName::Quarter);
        let ms = members(&crm, &Clock::default(), &cs, &periods, as_of);
        let q = |i: usize| ms[i].periods.get(PeriodName::Quarter).unwrap().new_mrr;
        assert_eq!((q(0), q(1)), (100.0, 100.0));
        assert_eq!(ms[0].periods.get(PeriodName::All).unwrap().new_mrr, 200.0);
        assert_eq!(timeline::new_within(&cs, d("2026-10-01"), as_of), 200.0);
    }
}
