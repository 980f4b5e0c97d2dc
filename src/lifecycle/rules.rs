//! The sales loop's time-based moves (DESIGN.md §4), as a pure function:
//! `plan(crm, facts, as_of) -> moves + alerts`. Thresholds come from `[lifecycle]`.
//!
//! Precedence, when several rules could move the same account (one move per account per
//! tick; the first that applies wins):
//!
//! 1. `opportunity-won`   — a deal won since the account entered its status makes a customer;
//! 2. `opportunity-opened` — an open opportunity puts the account to `working`
//!    (an open opportunity wins over staleness and over an expired backlog);
//! 3. `opportunities-lost` — a `working` account whose deals all closed, none won, goes to backlog;
//! 4. `first-touch`        — a pool account touched since it entered the pool becomes a target;
//! 5. `backlog-expired`    — a backlog whose date has come returns to a pool;
//! 6. `target-stale`       — a target untouched for `target_stale_days` goes to backlog
//!    (only an alert while an open task is due on or after as_of);
//! 7. `churn-recycled`     — a churned account returns to the pool after `churn_cooldown_days`.
//!
//! `opportunity-stale` never moves anything: it alerts on open deals untouched for
//! `opportunity_stale_days` or past their `close_date`.
//!
//! A move is planned only if `sloop.toml` allows it (the status's `next` list) and the new
//! status's required fields hold, so a tick commit always passes `sloop check --range`;
//! otherwise the rule becomes an alert that says why.

use rustc_hash::FxHashMap as HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::{Config, Outcome};
use crate::crm::Crm;
use crate::model::dates::{self, DateError};
use crate::model::{Account, Fit, Kind};

/// A rule of the loop, with its stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    OpportunityWon,
    OpportunityOpened,
    OpportunitiesLost,
    FirstTouch,
    BacklogExpired,
    TargetStale,
    ChurnRecycled,
    OpportunityStale,
}

impl Rule {
    pub const ALL: [Rule; 8] = [
        Rule::OpportunityWon,
        Rule::OpportunityOpened,
        Rule::OpportunitiesLost,
        Rule::FirstTouch,
        Rule::BacklogExpired,
        Rule::TargetStale,
        Rule::ChurnRecycled,
        Rule::OpportunityStale,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::FirstTouch => "first-touch",
            Rule::OpportunityOpened => "opportunity-opened",
            Rule::OpportunityWon => "opportunity-won",
            Rule::OpportunitiesLost => "opportunities-lost",
            Rule::TargetStale => "target-stale",
            Rule::BacklogExpired => "backlog-expired",
            Rule::ChurnRecycled => "churn-recycled",
            Rule::OpportunityStale => "opportunity-stale",
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// What the history knows and the files do not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// Account id → the date it entered its current status (author date of the commit that
    /// set it). Absent when unknown (not committed yet).
    pub status_since: HashMap<String, NaiveDate>,
    /// Opportunity id → the date its file was added (when it has no `created`).
    pub opportunity_added: HashMap<String, NaiveDate>,
}

/// One field change planned by a rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Move {
    pub kind: Kind,
    pub id: String,
    pub field: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub rule: Rule,
}

/// Something an owner should look at; nothing moves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub kind: Kind,
    pub id: String,
    pub rule: Rule,
    pub owner: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub moves: Vec<Move>,
    pub alerts: Vec<Alert>,
}

impl Plan {
    /// The distinct records the moves touch, in order (kind, id).
    pub fn touched(&self) -> Vec<(Kind, &str)> {
        let mut out: Vec<(Kind, &str)> = Vec::new();
        for m in &self.moves {
            if !out.iter().any(|(k, id)| *k == m.kind && *id == m.id) {
                out.push((m.kind, &m.id));
            }
        }
        out
    }
}

/// Per-account view of the records the rules look at.
#[derive(Default)]
struct AccountFacts<'a> {
    open: Vec<&'a crate::model::Opportunity>,
    closed: Vec<(&'a crate::model::Opportunity, Outcome)>,
    /// Touchpoint dates (≤ as_of), with their owners.
    touches: Vec<(NaiveDate, Option<&'a str>)>,
    open_task_due_later: bool,
}

/// Plans the moves and alerts of one tick. An as-of date outside the calendar sloop computes
/// with (`dates::in_range`), or a date it would compute past it, is an error.
pub fn plan(crm: &Crm, facts: &Facts, as_of: NaiveDate) -> Result<Plan, DateError> {
    dates::in_range(as_of)?;
    let config = &crm.config;
    let mut per: HashMap<&str, AccountFacts> = HashMap::default();
    for o in &crm.opportunities {
        let Some(acc) = &o.account else { continue };
        let f = per.entry(acc.as_str()).or_default();
        match config.stage(&o.stage).map(|s| s.outcome) {
            Some(None) => f.open.push(o),
            Some(Some(outcome)) => f.closed.push((o, outcome)),
            None => {}
        }
    }
    let mut opp_touch: HashMap<&str, NaiveDate> = HashMap::default();
    for a in &crm.activities {
        let Some(acc) = &a.account else { continue };
        let date = a.date.date();
        if a.kind.is_touchpoint() && date <= as_of {
            per.entry(acc.as_str())
                .or_default()
                .touches
                .push((date, a.owner.as_ref().map(|o| o.as_str())));
            if let Some(opp) = &a.opportunity {
                let e = opp_touch.entry(opp.as_str()).or_insert(date);
                *e = (*e).max(date);
            }
        }
        if a.is_open_task() && a.due.is_some_and(|d| d >= as_of) {
            per.entry(acc.as_str()).or_default().open_task_due_later = true;
        }
    }
    let empty = AccountFacts::default();
    let mut plan = Plan::default();
    for account in crm.accounts.iter().filter(|a| !a.meta.broken) {
        let f = per.get(account.meta.id.as_str()).unwrap_or(&empty);
        let since = facts.status_since.get(&account.meta.id).copied();
        account_rules(config, account, f, since, as_of, &mut plan)?;
    }
    opportunity_alerts(crm, facts, &per, &opp_touch, as_of, &mut plan);
    Ok(plan)
}

/// The status change a rule wants, with its side effects.
struct Proposal {
    rule: Rule,
    to: &'static str,
    set_owner: Option<String>,
    backlog_until: Option<Option<NaiveDate>>,
    why: String,
}

fn account_rules(
    config: &Config,
    a: &Account,
    f: &AccountFacts,
    since: Option<NaiveDate>,
    as_of: NaiveDate,
    plan: &mut Plan,
) -> Result<(), DateError> {
    let lc = &config.lifecycle;
    let status = a.status.as_str();
    let is_pool = matches!(status, "qualified_pool" | "unqualified_pool");
    // Deals that belong to this pass through the loop: closed since the account entered its
    // status (an old won deal of a churned-and-recycled account does not count).
    let recent = |o: &crate::model::Opportunity| match (since, o.close_date) {
        (Some(s), Some(c)) => c >= s,
        _ => true,
    };
    let won_recently = f
        .closed
        .iter()
        .find(|(o, out)| *out == Outcome::Won && recent(o));
    let last_touch = f.touches.iter().map(|(d, _)| *d).max();
    let owner_of = |o: &crate::model::Opportunity| o.owner.as_ref().map(|m| m.to_string());
    let mut proposal = None;
    if matches!(status, "working" | "target") {
        if let Some((o, _)) = won_recently {
            proposal = Some(Proposal {
                rule: Rule::OpportunityWon,
                to: "customer",
                set_owner: if a.owner.is_none() { owner_of(o) } else { None },
                backlog_until: None,
                why: format!("opportunity `{}` is won", o.meta.id),
            });
        }
    }
    if proposal.is_none() && (is_pool || matches!(status, "target" | "backlog")) {
        if let Some(o) = f.open.first() {
            proposal = Some(Proposal {
                rule: Rule::OpportunityOpened,
                to: "working",
                set_owner: if a.owner.is_none() { owner_of(o) } else { None },
                backlog_until: if a.backlog_until.is_some() {
                    Some(None)
                } else {
                    None
                },
                why: format!("opportunity `{}` is open", o.meta.id),
            });
        }
    }
    if proposal.is_none()
        && status == "working"
        && f.open.is_empty()
        && !f.closed.is_empty()
        && won_recently.is_none()
    {
        let until = dates::add_days(as_of, u64::from(lc.backlog_days))?;
        proposal = Some(Proposal {
            rule: Rule::OpportunitiesLost,
            to: "backlog",
            set_owner: None,
            backlog_until: Some(Some(until)),
            why: "every opportunity is closed and none is won".into(),
        });
    }
    if proposal.is_none() && is_pool {
        let touched = f
            .touches
            .iter()
            .filter(|(d, _)| since.is_none_or(|s| *d > s))
            .max_by_key(|(d, _)| *d);
        if let Some((date, owner)) = touched {
            proposal = Some(Proposal {
                rule: Rule::FirstTouch,
                to: "target",
                set_owner: if a.owner.is_none() {
                    owner.map(str::to_string)
                } else {
                    None
                },
                backlog_until: None,
                why: format!("touched on {date}"),
            });
        }
    }
    if proposal.is_none() && status == "backlog" {
        if let Some(until) = a.backlog_until.filter(|u| *u <= as_of) {
            let to = if a.fit == Some(Fit::High) {
                "qualified_pool"
            } else {
                "unqualified_pool"
            };
            proposal = Some(Proposal {
                rule: Rule::BacklogExpired,
                to,
                set_owner: None,
                backlog_until: Some(None),
                why: format!("backlog until {until}"),
            });
        }
    }
    if proposal.is_none() && status == "target" {
        // Idle since the last touchpoint, or since it became a target if that is later.
        let reference = last_touch.max(since);
        if let Some(reference) = reference {
            let idle = (as_of - reference).num_days();
            if idle >= i64::from(lc.target_stale_days) {
                let why = match last_touch {
                    Some(d) if d == reference => format!("no touchpoint since {d} ({idle} days)"),
                    _ => format!(
                        "no touchpoint since it became a target on {reference} ({idle} days)"
                    ),
                };
                if f.open_task_due_later {
                    plan.alerts.push(Alert {
                        kind: Kind::Account,
                        id: a.meta.id.clone(),
                        rule: Rule::TargetStale,
                        owner: a.owner.as_ref().map(|o| o.to_string()),
                        message: format!("{why}; kept as target because an open task is due"),
                    });
                } else {
                    let until = dates::add_days(as_of, u64::from(lc.backlog_days))?;
                    proposal = Some(Proposal {
                        rule: Rule::TargetStale,
                        to: "backlog",
                        set_owner: None,
                        backlog_until: Some(Some(until)),
                        why,
                    });
                }
            }
        }
    }
    if proposal.is_none() && status == "churn" {
        if let Some(s) = since {
            let days = (as_of - s).num_days();
            if days >= i64::from(lc.churn_cooldown_days) {
                proposal = Some(Proposal {
                    rule: Rule::ChurnRecycled,
                    to: "qualified_pool",
                    set_owner: None,
                    backlog_until: None,
                    why: format!("churned on {s} ({days} days)"),
                });
            }
        }
    }
    if let Some(p) = proposal {
        apply(config, a, p, plan);
    }
    Ok(())
}

/// Turns a proposal into moves, or into an alert when the team's rules forbid it.
fn apply(config: &Config, a: &Account, p: Proposal, plan: &mut Plan) {
    let allowed = config
        .status(&a.status)
        .is_some_and(|s| s.next.iter().any(|n| n == p.to));
    let target = config.status(p.to);
    let owner_after = a
        .owner
        .as_ref()
        .map(|o| o.to_string())
        .or(p.set_owner.clone());
    let blocked = if target.is_none() {
        Some(format!("status `{}` is not defined in sloop.toml", p.to))
    } else if !allowed {
        Some(format!(
            "sloop.toml does not allow `{}` -> `{}`",
            a.status, p.to
        ))
    } else if target.is_some_and(|t| t.requires.iter().any(|f| f == "owner"))
        && owner_after.is_none()
    {
        Some(format!(
            "`{}` requires an owner and none is known: set `owner`",
            p.to
        ))
    } else {
        None
    };
    let id = a.meta.id.clone();
    if let Some(reason) = blocked {
        plan.alerts.push(Alert {
            kind: Kind::Account,
            id,
            rule: p.rule,
            owner: a.owner.as_ref().map(|o| o.to_string()),
            message: format!("{}: would move to `{}`, but {reason}", p.why, p.to),
        });
        return;
    }
    let mv = |field: &str, from: Option<String>, to: Option<String>| Move {
        kind: Kind::Account,
        id: id.clone(),
        field: field.to_string(),
        from,
        to,
        rule: p.rule,
    };
    plan.moves
        .push(mv("status", Some(a.status.clone()), Some(p.to.to_string())));
    if let Some(until) = p.backlog_until {
        let from = a.backlog_until.map(|d| d.to_string());
        let to = until.map(|d| d.to_string());
        if from != to {
            plan.moves.push(mv("backlog_until", from, to));
        }
    }
    if let Some(owner) = p.set_owner {
        plan.moves.push(mv("owner", None, Some(owner)));
    }
}

fn opportunity_alerts(
    crm: &Crm,
    facts: &Facts,
    per: &HashMap<&str, AccountFacts>,
    opp_touch: &HashMap<&str, NaiveDate>,
    as_of: NaiveDate,
    plan: &mut Plan,
) {
    let stale_days = i64::from(crm.config.lifecycle.opportunity_stale_days);
    for o in &crm.opportunities {
        if o.meta.broken || !crm.config.is_open_stage(&o.stage) {
            continue;
        }
        let owner = o.owner.as_ref().map(|m| m.to_string());
        let account_touch = o
            .account
            .as_ref()
            .and_then(|a| per.get(a.as_str()))
            .and_then(|f| f.touches.iter().map(|(d, _)| *d).max());
        let last = [opp_touch.get(o.meta.id.as_str()).copied(), account_touch]
            .into_iter()
            .flatten()
            .max();
        let reference = last
            .or(o.created)
            .or_else(|| facts.opportunity_added.get(&o.meta.id).copied());
        let mut reasons = Vec::new();
        if let Some(r) = reference {
            let idle = (as_of - r).num_days();
            if idle >= stale_days {
                reasons.push(match last {
                    Some(d) => format!("no touchpoint since {d} ({idle} days)"),
                    None => format!("no touchpoint since it was created on {r} ({idle} days)"),
                });
            }
        }
        if let Some(close) = o.close_date.filter(|c| *c < as_of) {
            reasons.push(format!("close date {close} has passed"));
        }
        if !reasons.is_empty() {
            plan.alerts.push(Alert {
                kind: Kind::Opportunity,
                id: o.meta.id.clone(),
                rule: Rule::OpportunityStale,
                owner,
                message: format!("{} (stage `{}`)", reasons.join("; "), o.stage),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{load, Memory};

    /// The plan, for dates well inside the calendar.
    fn plan(crm: &Crm, facts: &Facts, as_of: NaiveDate) -> Plan {
        super::plan(crm, facts, as_of).unwrap()
    }

    const TEAM: &str = "[team.al]\nname = \"Al\"\n[team.bo]\nname = \"Bo\"\n";

    fn crm(files: &[(&str, &str)]) -> Crm {
        let mut all = vec![("sloop.toml".to_string(), TEAM.to_string())];
        all.extend(files.iter().map(|(p, c)| (p.to_string(), c.to_string())));
        let loaded = load(&Memory::new(
            all.into_iter().map(|(p, c)| (p, c.into_bytes())),
        ))
        .unwrap();
        let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        loaded.crm
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn since(pairs: &[(&str, &str)]) -> Facts {
        Facts {
            status_since: pairs
                .iter()
                .map(|(id, date)| (id.to_string(), d(date)))
                .collect(),
            ..Facts::default()
        }
    }

    fn account(status: &str, extra: &str) -> String {
        format!("name = \"Acme\"\nstatus = \"{status}\"\n{extra}")
    }

    fn activity(kind: &str, date: &str, extra: &str) -> String {
        format!("kind = \"{kind}\"\ndate = {date}\naccount = \"acme\"\nowner = \"bo\"\n{extra}")
    }

    fn opp(stage: &str, extra: &str) -> String {
        format!("name = \"Deal\"\naccount = \"acme\"\nowner = \"al\"\nstage = \"{stage}\"\nsource = \"inbound\"\n{extra}")
    }

    const WON: &str =
        "mrr = 100\nclose_date = 2026-11-01\n[commit]\nplan = \"pro\"\nstart_date = 2026-11-02\n";
    const LOST: &str = "lost_reason = \"price\"\nclose_date = 2026-11-01\n";

    fn status_moves(p: &Plan) -> Vec<(String, Option<String>, Rule)> {
        p.moves
            .iter()
            .filter(|m| m.field == "status")
            .map(|m| (m.id.clone(), m.to.clone(), m.rule))
            .collect()
    }

    /// An as-of date outside the calendar, or a threshold that would carry a date past it
    /// (`check` bounds them; a library caller may not), is an error, not a panic.
    #[test]
    fn dates_past_the_calendar_are_errors() {
        let mut c = crm(&[
            (
                "accounts/acme.toml",
                &account("working", "owner = \"al\"\n"),
            ),
            ("opportunities/deal.toml", &opp("lost", LOST)),
        ]);
        let facts = since(&[("acme", "2026-10-01")]);
        assert_eq!(
            super::plan(&c, &facts, NaiveDate::MAX).unwrap_err(),
            DateError::OutOfRange(NaiveDate::MAX)
        );
        assert!(super::plan(&c, &facts, dates::LAST).is_ok());
        c.config.lifecycle.backlog_days = u32::MAX;
        assert_eq!(
            super::plan(&c, &facts, dates::LAST)
                .unwrap_err()
                .to_string(),
            "9999-12-31 + 4294967295 days is outside the calendar"
        );
    }

    #[test]
    fn first_touch_moves_a_pool_account_and_sets_the_owner() {
        let c = crm(&[
            ("accounts/acme.toml", &account("qualified_pool", "")),
            (
                "activities/2026/11/a.toml",
                &activity("call", "2026-11-10", ""),
            ),
        ]);
        let p = plan(&c, &since(&[("acme", "2026-11-01")]), d("2026-11-26"));
        assert_eq!(
            status_moves(&p),
            vec![("acme".into(), Some("target".into()), Rule::FirstTouch)]
        );
        assert!(p
            .moves
            .iter()
            .any(|m| m.field == "owner" && m.to.as_deref() == Some("bo")));
        // a touch before it entered the pool does not count; nor does a note
        let p = plan(&c, &since(&[("acme", "2026-11-10")]), d("2026-11-26"));
        assert!(p.moves.is_empty());
        let c = crm(&[
            ("accounts/acme.toml", &account("qualified_pool", "")),
            (
                "activities/2026/11/a.toml",
                &activity("note", "2026-11-10", ""),
            ),
        ]);
        assert!(plan(&c, &since(&[("acme", "2026-11-01")]), d("2026-11-26"))
            .moves
            .is_empty());
    }

    #[test]
    fn target_stale_fires_on_day_n_not_n_minus_1() {
        let c = crm(&[
            ("accounts/acme.toml", &account("target", "owner = \"al\"\n")),
            (
                "activities/2026/10/a.toml",
                &activity("email", "2026-10-01", ""),
            ),
        ]);
        let facts = since(&[("acme", "2026-09-01")]);
        assert!(
            plan(&c, &facts, d("2026-10-30")).moves.is_empty(),
            "29 days"
        );
        let p = plan(&c, &facts, d("2026-10-31"));
        assert_eq!(
            status_moves(&p),
            vec![("acme".into(), Some("backlog".into()), Rule::TargetStale)]
        );
        let until = p.moves.iter().find(|m| m.field == "backlog_until").unwrap();
        assert_eq!(until.to.as_deref(), Some("2027-04-29"), "as_of + 180 days");
    }

    #[test]
    fn a_new_target_is_not_stale_from_its_old_touches() {
        let c = crm(&[
            ("accounts/acme.toml", &account("target", "owner = \"al\"\n")),
            (
                "activities/2026/09/a.toml",
                &activity("email", "2026-09-01", ""),
            ),
        ]);
        let facts = since(&[("acme", "2026-10-20")]);
        assert!(
            plan(&c, &facts, d("2026-11-18")).moves.is_empty(),
            "29 days as a target"
        );
        assert_eq!(
            status_moves(&plan(&c, &facts, d("2026-11-19")))[0].2,
            Rule::TargetStale
        );
    }

    #[test]
    fn target_stale_with_a_future_task_only_alerts() {
        let c = crm(&[
            ("accounts/acme.toml", &account("target", "owner = \"al\"\n")),
            (
                "activities/2026/10/a.toml",
                &activity("email", "2026-10-01", ""),
            ),
            (
                "activities/2026/10/t.toml",
                &activity("task", "2026-10-20", "due = 2026-11-05\n"),
            ),
        ]);
        let facts = since(&[("acme", "2026-09-01")]);
        let p = plan(&c, &facts, d("2026-11-05"));
        assert!(p.moves.is_empty());
        assert_eq!(p.alerts[0].rule, Rule::TargetStale);
        // the day after the task was due, the account moves
        let p = plan(&c, &facts, d("2026-11-06"));
        assert_eq!(status_moves(&p)[0].2, Rule::TargetStale);
    }

    #[test]
    fn an_open_opportunity_wins_over_staleness() {
        let c = crm(&[
            ("accounts/acme.toml", &account("target", "owner = \"al\"\n")),
            ("opportunities/o.toml", &opp("identified", "")),
        ]);
        let p = plan(&c, &since(&[("acme", "2026-01-01")]), d("2026-11-26"));
        assert_eq!(
            status_moves(&p),
            vec![(
                "acme".into(),
                Some("working".into()),
                Rule::OpportunityOpened
            )]
        );
    }

    #[test]
    fn opportunity_opened_from_backlog_removes_backlog_until() {
        let c = crm(&[
            (
                "accounts/acme.toml",
                &account("backlog", "owner = \"al\"\nbacklog_until = 2027-01-01\n"),
            ),
            ("opportunities/o.toml", &opp("identified", "")),
        ]);
        let p = plan(&c, &Facts::default(), d("2026-11-26"));
        assert_eq!(status_moves(&p)[0].2, Rule::OpportunityOpened);
        assert!(p
            .moves
            .iter()
            .any(|m| m.field == "backlog_until" && m.to.is_none()));
    }

    #[test]
    fn won_makes_a_customer_lost_makes_a_backlog() {
        let c = crm(&[
            (
                "accounts/acme.toml",
                &account("working", "owner = \"al\"\n"),
            ),
            ("opportunities/o.toml", &opp("won", WON)),
        ]);
        let p = plan(&c, &since(&[("acme", "2026-10-01")]), d("2026-11-26"));
        assert_eq!(
            status_moves(&p),
            vec![("acme".into(), Some("customer".into()), Rule::OpportunityWon)]
        );
        let c = crm(&[
            (
                "accounts/acme.toml",
                &account("working", "owner = \"al\"\n"),
            ),
            ("opportunities/o.toml", &opp("lost", LOST)),
        ]);
        let p = plan(&c, &since(&[("acme", "2026-10-01")]), d("2026-11-26"));
        assert_eq!(
            status_moves(&p),
            vec![(
                "acme".into(),
                Some("backlog".into()),
                Rule::OpportunitiesLost
            )]
        );
        // a deal won before the account entered its status does not count: it was a past cycle
        let c = crm(&[
            (
                "accounts/acme.toml",
                &account("working", "owner = \"al\"\n"),
            ),
            ("opportunities/o.toml", &opp("won", WON)),
        ]);
        let p = plan(&c, &since(&[("acme", "2026-11-20")]), d("2026-11-26"));
        assert_eq!(status_moves(&p)[0].2, Rule::OpportunitiesLost);
    }

    #[test]
    fn backlog_expires_by_fit() {
        let high = crm(&[(
            "accounts/acme.toml",
            &account("backlog", "backlog_until = 2026-11-26\nfit = \"high\"\n"),
        )]);
        assert!(plan(&high, &Facts::default(), d("2026-11-25"))
            .moves
            .is_empty());
        let p = plan(&high, &Facts::default(), d("2026-11-26"));
        assert_eq!(
            status_moves(&p),
            vec![(
                "acme".into(),
                Some("qualified_pool".into()),
                Rule::BacklogExpired
            )]
        );
        assert!(p
            .moves
            .iter()
            .any(|m| m.field == "backlog_until" && m.to.is_none()));
        let low = crm(&[(
            "accounts/acme.toml",
            &account("backlog", "backlog_until = 2026-11-26\n"),
        )]);
        assert_eq!(
            status_moves(&plan(&low, &Facts::default(), d("2026-11-26")))[0]
                .1
                .as_deref(),
            Some("unqualified_pool")
        );
    }

    #[test]
    fn churn_is_recycled_after_the_cooldown() {
        let c = crm(&[("accounts/acme.toml", &account("churn", ""))]);
        let facts = since(&[("acme", "2026-08-28")]);
        assert!(
            plan(&c, &facts, d("2026-11-25")).moves.is_empty(),
            "89 days"
        );
        assert_eq!(
            status_moves(&plan(&c, &facts, d("2026-11-26")))[0].2,
            Rule::ChurnRecycled
        );
        assert!(
            plan(&c, &Facts::default(), d("2030-01-01"))
                .moves
                .is_empty(),
            "unknown date: no move"
        );
    }

    #[test]
    fn stale_and_overdue_opportunities_alert() {
        let c = crm(&[
            (
                "accounts/acme.toml",
                &account("working", "owner = \"al\"\n"),
            ),
            (
                "opportunities/o.toml",
                &opp(
                    "identified",
                    "created = 2026-11-01\nclose_date = 2026-11-20\n",
                ),
            ),
            (
                "activities/2026/11/a.toml",
                &activity("call", "2026-11-10", ""),
            ),
        ]);
        assert!(plan(&c, &Facts::default(), d("2026-11-20"))
            .alerts
            .is_empty());
        let p = plan(&c, &Facts::default(), d("2026-11-23"));
        assert_eq!(
            p.alerts[0].message, "close date 2026-11-20 has passed (stage `identified`)",
            "13 days: not stale yet"
        );
        let p = plan(&c, &Facts::default(), d("2026-11-24"));
        assert_eq!(p.alerts.len(), 1);
        assert_eq!(p.alerts[0].message, "no touchpoint since 2026-11-10 (14 days); close date 2026-11-20 has passed (stage `identified`)");
        assert_eq!(p.alerts[0].owner.as_deref(), Some("al"));
    }

    #[test]
    fn a_move_the_config_forbids_becomes_an_alert() {
        let mut c = crm(&[("accounts/acme.toml", &account("churn", ""))]);
        c.config
            .statuses
            .iter_mut()
            .find(|s| s.name == "churn")
            .unwrap()
            .next
            .clear();
        let p = plan(&c, &since(&[("acme", "2026-01-01")]), d("2026-11-26"));
        assert!(p.moves.is_empty());
        assert!(p.alerts[0]
            .message
            .contains("sloop.toml does not allow `churn` -> `qualified_pool`"));
    }

    #[test]
    fn every_move_is_an_allowed_transition_of_the_default_method() {
        let config = Config::default();
        let pairs = [
            ("working", "customer"),
            ("target", "customer"),
            ("qualified_pool", "working"),
            ("unqualified_pool", "working"),
            ("target", "working"),
            ("backlog", "working"),
            ("working", "backlog"),
            ("qualified_pool", "target"),
            ("unqualified_pool", "target"),
            ("backlog", "qualified_pool"),
            ("backlog", "unqualified_pool"),
            ("target", "backlog"),
            ("churn", "qualified_pool"),
        ];
        for (from, to) in pairs {
            assert!(
                config.status(from).unwrap().next.iter().any(|n| n == to),
                "{from} -> {to}"
            );
        }
    }
}
