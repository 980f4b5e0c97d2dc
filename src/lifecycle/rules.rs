//! The sales loop's time-based moves (DESIGN.md §4), as a pure function:
//! `plan(crm, facts, as_of) -> moves + alerts`. Thresholds come from `[lifecycle]`.
//!
//! One function per rule; `PRECEDENCE` lists the account rules in the order they are tried
//! when several could move the same account (one move per account per tick; the first that
//! applies wins):
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
//! `OPPORTUNITY_RULES` never move anything; each alerts on its own: `opportunity-stale` on
//! open deals untouched for `opportunity_stale_days` or past their `close_date`,
//! `trial-stale` on deals in `trial` for `trial_days`, `handoff-missing` on won deals of
//! customers that no `onboarding` member has a task for.
//!
//! A deal's win is dated by the later of its `close_date` and the commit that moved it to
//! its won stage (`won_date`), so a close date written in the past does not make a fresh
//! win look like a past cycle's.
//!
//! A move is planned only if `sloop.toml` allows it (the status's `next` list) and the new
//! status's required fields hold, so a tick commit always passes `sloop check --range`;
//! otherwise the rule becomes an alert that says why.

use rustc_hash::FxHashMap as HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::{Config, Outcome, Role};
use crate::crm::Crm;
use crate::model::dates::{self, DateError};
use crate::model::{Account, ActivityKind, Fit, Kind, Opportunity};

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
    TrialStale,
    HandoffMissing,
}

impl Rule {
    pub const ALL: [Rule; 10] = [
        Rule::OpportunityWon,
        Rule::OpportunityOpened,
        Rule::OpportunitiesLost,
        Rule::FirstTouch,
        Rule::BacklogExpired,
        Rule::TargetStale,
        Rule::ChurnRecycled,
        Rule::OpportunityStale,
        Rule::TrialStale,
        Rule::HandoffMissing,
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
            Rule::TrialStale => "trial-stale",
            Rule::HandoffMissing => "handoff-missing",
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
    /// Opportunity id → the date it entered its current stage (author date of the commit
    /// that set it). Absent when unknown.
    pub stage_since: HashMap<String, NaiveDate>,
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
    open: Vec<&'a Opportunity>,
    closed: Vec<(&'a Opportunity, Outcome)>,
    /// Touchpoint dates (≤ as_of), with their owners.
    touches: Vec<(NaiveDate, Option<&'a str>)>,
    open_task_due_later: bool,
    /// Tasks (open or done) owned by an `onboarding` member: the opportunity they are on,
    /// and their date.
    onboarding_tasks: Vec<(Option<&'a str>, NaiveDate)>,
}

/// Plans the moves and alerts of one tick. An as-of date outside the calendar sloop computes
/// with (`dates::in_range`), or a date it would compute past it, is an error.
pub fn plan(crm: &Crm, facts: &Facts, as_of: NaiveDate) -> Result<Plan, DateError> {
    dates::in_range(as_of)?;
    let config = &crm.config;
    let onboarding: Vec<&str> = config
        .team
        .iter()
        .filter(|m| m.role == Some(Role::Onboarding))
        .map(|m| m.id.as_str())
        .collect();
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
        if a.is_touchpoint() && date <= as_of {
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
        if a.kind == ActivityKind::Task
            && date <= as_of
            && a.owner
                .as_ref()
                .is_some_and(|o| onboarding.contains(&o.as_str()))
        {
            per.entry(acc.as_str())
                .or_default()
                .onboarding_tasks
                .push((a.opportunity.as_ref().map(|o| o.as_str()), date));
        }
    }
    let empty = AccountFacts::default();
    let mut plan = Plan::default();
    for account in crm.accounts.iter().filter(|a| !a.meta.broken) {
        let f = per.get(account.meta.id.as_str()).unwrap_or(&empty);
        let cx = AccountCx {
            config,
            facts,
            account,
            f,
            since: facts.status_since.get(&account.meta.id).copied(),
            as_of,
        };
        // The first rule of the precedence list that has something to say decides.
        let mut verdict = None;
        for rule in PRECEDENCE {
            verdict = rule.judge(&cx)?;
            if verdict.is_some() {
                break;
            }
        }
        match verdict {
            Some(Verdict::Move(p)) => apply(config, account, p, &mut plan),
            Some(Verdict::Alert { rule, message }) => plan.alerts.push(Alert {
                kind: Kind::Account,
                id: account.meta.id.clone(),
                rule,
                owner: account.owner.as_ref().map(|o| o.to_string()),
                message,
            }),
            None => {}
        }
    }
    let status: HashMap<&str, &str> = crm
        .accounts
        .iter()
        .map(|a| (a.meta.id.as_str(), a.status.as_str()))
        .collect();
    for o in crm.opportunities.iter().filter(|o| !o.meta.broken) {
        let account = o.account.as_ref().map(|a| a.as_str());
        let cx = OpportunityCx {
            config,
            facts,
            o,
            account: account.and_then(|a| per.get(a)),
            account_status: account.and_then(|a| status.get(a).copied()),
            touched: opp_touch.get(o.meta.id.as_str()).copied(),
            onboarding: &onboarding,
            as_of,
        };
        for rule in OPPORTUNITY_RULES {
            if let Some(message) = rule.alert(&cx) {
                plan.alerts.push(Alert {
                    kind: Kind::Opportunity,
                    id: o.meta.id.clone(),
                    rule,
                    owner: owner_of(o),
                    message,
                });
            }
        }
    }
    Ok(plan)
}

/// The account rules, in precedence order: for each account, the first that has a verdict
/// decides (so an open opportunity wins over staleness, and an account moves at most once
/// per tick). `opportunity-stale` is not here: it looks at opportunities, never moves an
/// account, and alerts beside whatever these decide (see `OPPORTUNITY_RULES`).
pub const PRECEDENCE: [Rule; 7] = [
    Rule::OpportunityWon,
    Rule::OpportunityOpened,
    Rule::OpportunitiesLost,
    Rule::FirstTouch,
    Rule::BacklogExpired,
    Rule::TargetStale,
    Rule::ChurnRecycled,
];

impl Rule {
    /// What this rule says about one account, if it applies (an error when a date it
    /// computes leaves the calendar).
    fn judge(self, cx: &AccountCx) -> Result<Option<Verdict>, DateError> {
        Ok(match self {
            Rule::OpportunityWon => opportunity_won(cx),
            Rule::OpportunityOpened => opportunity_opened(cx),
            Rule::OpportunitiesLost => opportunities_lost(cx)?,
            Rule::FirstTouch => first_touch(cx),
            Rule::BacklogExpired => backlog_expired(cx),
            Rule::TargetStale => target_stale(cx)?,
            Rule::ChurnRecycled => churn_recycled(cx),
            Rule::OpportunityStale | Rule::TrialStale | Rule::HandoffMissing => None,
        })
    }
}

/// What an account rule looks at.
struct AccountCx<'a> {
    config: &'a Config,
    facts: &'a Facts,
    account: &'a Account,
    f: &'a AccountFacts<'a>,
    /// When the account entered its status, if known.
    since: Option<NaiveDate>,
    as_of: NaiveDate,
}

impl AccountCx<'_> {
    fn status(&self) -> &str {
        self.account.status.as_str()
    }

    fn in_pool(&self) -> bool {
        matches!(self.status(), "qualified_pool" | "unqualified_pool")
    }

    /// A deal won in this pass through the loop: won (`won_date`) on or after the day the
    /// account entered its status (an old won deal of a churned-and-recycled account does
    /// not count).
    fn won_recently(&self) -> Option<&Opportunity> {
        self.f
            .closed
            .iter()
            .find(|(o, out)| {
                *out == Outcome::Won
                    && match (self.since, won_date(o, self.facts)) {
                        (Some(s), Some(w)) => w >= s,
                        _ => true,
                    }
            })
            .map(|(o, _)| *o)
    }

    /// `owner` to set with a move: `who`, when the account has none.
    fn owner_if_unset(&self, who: Option<String>) -> Option<String> {
        if self.account.owner.is_none() {
            who
        } else {
            None
        }
    }

    /// The day a backlog ends: `backlog_days` from the as-of date, or the last day a TOML
    /// file can hold when that is past it (a backlog that lasts "for ever").
    fn backlog_until(&self) -> Result<NaiveDate, DateError> {
        dates::add_days(self.as_of, u64::from(self.config.lifecycle.backlog_days))
            .map(|until| until.min(dates::LAST))
    }
}

/// A rule's decision about an account.
enum Verdict {
    /// Move it (or, if `sloop.toml` forbids the move, alert why).
    Move(Proposal),
    /// Leave it where it is, and tell its owner.
    Alert { rule: Rule, message: String },
}

/// The status change a rule wants, with its side effects.
struct Proposal {
    rule: Rule,
    to: &'static str,
    set_owner: Option<String>,
    backlog_until: Option<Option<NaiveDate>>,
    why: String,
}

fn owner_of(o: &Opportunity) -> Option<String> {
    o.owner.as_ref().map(|m| m.to_string())
}

/// `opportunity-won`: a `working` or `target` account with a deal won since it entered that
/// status becomes a customer.
fn opportunity_won(cx: &AccountCx) -> Option<Verdict> {
    if !matches!(cx.status(), "working" | "target") {
        return None;
    }
    let o = cx.won_recently()?;
    Some(Verdict::Move(Proposal {
        rule: Rule::OpportunityWon,
        to: "customer",
        set_owner: cx.owner_if_unset(owner_of(o)),
        backlog_until: None,
        why: format!("opportunity `{}` is won", o.meta.id),
    }))
}

/// `opportunity-opened`: an account in a pool, `target` or `backlog` with an open deal is
/// being worked.
fn opportunity_opened(cx: &AccountCx) -> Option<Verdict> {
    if !(cx.in_pool() || matches!(cx.status(), "target" | "backlog")) {
        return None;
    }
    let o = cx.f.open.first()?;
    Some(Verdict::Move(Proposal {
        rule: Rule::OpportunityOpened,
        to: "working",
        set_owner: cx.owner_if_unset(owner_of(o)),
        backlog_until: cx.account.backlog_until.map(|_| None),
        why: format!("opportunity `{}` is open", o.meta.id),
    }))
}

/// `opportunities-lost`: a `working` account whose deals are all closed, none won in this
/// pass, goes to backlog.
fn opportunities_lost(cx: &AccountCx) -> Result<Option<Verdict>, DateError> {
    let f = cx.f;
    if cx.status() != "working"
        || !f.open.is_empty()
        || f.closed.is_empty()
        || cx.won_recently().is_some()
    {
        return Ok(None);
    }
    Ok(Some(Verdict::Move(Proposal {
        rule: Rule::OpportunitiesLost,
        to: "backlog",
        set_owner: None,
        backlog_until: Some(Some(cx.backlog_until()?)),
        why: "every opportunity is closed and none is won".into(),
    })))
}

/// `first-touch`: a pool account with a touchpoint dated on or after the day it entered the
/// pool becomes a target, owned by whoever touched it last if it has no owner. (Touchpoints
/// carry a day, not a time: a call logged the day an account was created counts.)
fn first_touch(cx: &AccountCx) -> Option<Verdict> {
    if !cx.in_pool() {
        return None;
    }
    let (date, owner) =
        cx.f.touches
            .iter()
            .filter(|(d, _)| cx.since.is_none_or(|s| *d >= s))
            .max_by_key(|(d, _)| *d)?;
    Some(Verdict::Move(Proposal {
        rule: Rule::FirstTouch,
        to: "target",
        set_owner: cx.owner_if_unset(owner.map(str::to_string)),
        backlog_until: None,
        why: format!("touched on {date}"),
    }))
}

/// `backlog-expired`: a backlog whose date has come returns to the pool its fit says.
fn backlog_expired(cx: &AccountCx) -> Option<Verdict> {
    if cx.status() != "backlog" {
        return None;
    }
    let until = cx.account.backlog_until.filter(|u| *u <= cx.as_of)?;
    Some(Verdict::Move(Proposal {
        rule: Rule::BacklogExpired,
        to: if cx.account.fit == Some(Fit::High) {
            "qualified_pool"
        } else {
            "unqualified_pool"
        },
        set_owner: None,
        backlog_until: Some(None),
        why: format!("backlog until {until}"),
    }))
}

/// `target-stale`: a target idle for `target_stale_days` (since its last touchpoint, or
/// since it became a target if that is later) goes to backlog; only an alert while an open
/// task on the account is due on or after as_of.
fn target_stale(cx: &AccountCx) -> Result<Option<Verdict>, DateError> {
    if cx.status() != "target" {
        return Ok(None);
    }
    let last_touch = cx.f.touches.iter().map(|(d, _)| *d).max();
    let Some(reference) = last_touch.max(cx.since) else {
        return Ok(None);
    };
    let idle = (cx.as_of - reference).num_days();
    if idle < i64::from(cx.config.lifecycle.target_stale_days) {
        return Ok(None);
    }
    let why = match last_touch {
        Some(d) if d == reference => format!("no touchpoint since {d} ({idle} days)"),
        _ => format!("no touchpoint since it became a target on {reference} ({idle} days)"),
    };
    if cx.f.open_task_due_later {
        return Ok(Some(Verdict::Alert {
            rule: Rule::TargetStale,
            message: format!("{why}; kept as target because an open task is due"),
        }));
    }
    Ok(Some(Verdict::Move(Proposal {
        rule: Rule::TargetStale,
        to: "backlog",
        set_owner: None,
        backlog_until: Some(Some(cx.backlog_until()?)),
        why,
    })))
}

/// `churn-recycled`: a churned account returns to the pool after `churn_cooldown_days`.
fn churn_recycled(cx: &AccountCx) -> Option<Verdict> {
    if cx.status() != "churn" {
        return None;
    }
    let s = cx.since?;
    let days = (cx.as_of - s).num_days();
    (days >= i64::from(cx.config.lifecycle.churn_cooldown_days)).then(|| {
        Verdict::Move(Proposal {
            rule: Rule::ChurnRecycled,
            to: "qualified_pool",
            set_owner: None,
            backlog_until: None,
            why: format!("churned on {s} ({days} days)"),
        })
    })
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

/// The opportunity rules: each may alert on any deal, beside the others and beside what
/// the account rules decide. Nothing moves.
pub const OPPORTUNITY_RULES: [Rule; 3] = [
    Rule::OpportunityStale,
    Rule::TrialStale,
    Rule::HandoffMissing,
];

/// What an opportunity rule looks at.
struct OpportunityCx<'a> {
    config: &'a Config,
    facts: &'a Facts,
    o: &'a Opportunity,
    /// The facts of its account.
    account: Option<&'a AccountFacts<'a>>,
    account_status: Option<&'a str>,
    /// Its last touchpoint (on it, not its account).
    touched: Option<NaiveDate>,
    /// The team's `onboarding` members.
    onboarding: &'a [&'a str],
    as_of: NaiveDate,
}

impl Rule {
    /// What this rule says about one opportunity, if anything.
    fn alert(self, cx: &OpportunityCx) -> Option<String> {
        match self {
            Rule::OpportunityStale => opportunity_stale(cx),
            Rule::TrialStale => trial_stale(cx),
            Rule::HandoffMissing => handoff_missing(cx),
            Rule::OpportunityWon
            | Rule::OpportunityOpened
            | Rule::OpportunitiesLost
            | Rule::FirstTouch
            | Rule::BacklogExpired
            | Rule::TargetStale
            | Rule::ChurnRecycled => None,
        }
    }
}

/// `opportunity-stale`: an open deal with no touchpoint on it or its account for
/// `opportunity_stale_days` (counted from its creation when never touched), or past its
/// `close_date`.
fn opportunity_stale(cx: &OpportunityCx) -> Option<String> {
    let o = cx.o;
    if !cx.config.is_open_stage(&o.stage) {
        return None;
    }
    let stale_days = i64::from(cx.config.lifecycle.opportunity_stale_days);
    let account_touch = cx
        .account
        .and_then(|f| f.touches.iter().map(|(d, _)| *d).max());
    let last = [cx.touched, account_touch].into_iter().flatten().max();
    let reference = last
        .or(o.created)
        .or_else(|| cx.facts.opportunity_added.get(&o.meta.id).copied());
    let mut reasons = Vec::new();
    if let Some(r) = reference {
        let idle = (cx.as_of - r).num_days();
        if idle >= stale_days {
            reasons.push(match last {
                Some(d) => format!("no touchpoint since {d} ({idle} days)"),
                None => format!("no touchpoint since it was created on {r} ({idle} days)"),
            });
        }
    }
    if let Some(close) = o.close_date.filter(|c| *c < cx.as_of) {
        reasons.push(format!("close date {close} has passed"));
    }
    (!reasons.is_empty()).then(|| format!("{} (stage `{}`)", reasons.join("; "), o.stage))
}

/// `trial-stale`: a deal in the `trial` stage for `trial_days` or more (since the commit
/// that moved it there): the trial should be converted or stopped.
fn trial_stale(cx: &OpportunityCx) -> Option<String> {
    if cx.o.stage != "trial" {
        return None;
    }
    let since = cx.facts.stage_since.get(&cx.o.meta.id).copied()?;
    let days = (cx.as_of - since).num_days();
    let limit = cx.config.lifecycle.trial_days;
    (days >= i64::from(limit)).then(|| {
        format!("in trial since {since} ({days} days, more than {limit}): close it or stop it")
    })
}

/// `handoff-missing`: a won deal on a customer account with no task for an `onboarding`
/// member (open or done) on the deal, or on its account dated on or after the win. Only
/// when the team has an onboarding member to hand off to.
fn handoff_missing(cx: &OpportunityCx) -> Option<String> {
    let o = cx.o;
    if cx.onboarding.is_empty()
        || cx.config.outcome(&o.stage) != Some(Outcome::Won)
        || cx.account_status != Some("customer")
    {
        return None;
    }
    let won_on = won_date(o, cx.facts);
    let handed_off = cx.account.is_some_and(|f| {
        f.onboarding_tasks.iter().any(|(opp, date)| {
            *opp == Some(o.meta.id.as_str()) || (opp.is_none() && won_on.is_none_or(|w| *date >= w))
        })
    });
    (!handed_off).then(|| {
        format!(
            "won{} with no onboarding task: hand it over to {}",
            won_on.map(|d| format!(" on {d}")).unwrap_or_default(),
            crate::diag::one_of(cx.onboarding),
        )
    })
}

/// The day a won deal was won: the later of its `close_date` and the day its stage became
/// the current (won) one in git. A `close_date` written before the move must not make the
/// win look older than the account's status.
fn won_date(o: &Opportunity, facts: &Facts) -> Option<NaiveDate> {
    o.close_date.max(facts.stage_since.get(&o.meta.id).copied())
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
        // a touch the day it entered the pool counts (a call logged the day the account is
        // created); a touch before does not; nor does a note
        let p = plan(&c, &since(&[("acme", "2026-11-10")]), d("2026-11-26"));
        assert_eq!(status_moves(&p)[0].2, Rule::FirstTouch);
        let p = plan(&c, &since(&[("acme", "2026-11-11")]), d("2026-11-26"));
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
    fn a_win_is_dated_by_the_later_of_close_date_and_the_move_to_won() {
        // The account became `working` on 11-05; the deal was moved to won on 11-10 with a
        // close date of 11-01 (the day the customer said yes): this cycle's win.
        let c = crm(&[
            (
                "accounts/acme.toml",
                &account("working", "owner = \"al\"\n"),
            ),
            ("opportunities/o.toml", &opp("won", WON)),
        ]);
        let mut facts = since(&[("acme", "2026-11-05")]);
        facts.stage_since.insert("o".into(), d("2026-11-10"));
        let p = plan(&c, &facts, d("2026-11-26"));
        assert_eq!(
            status_moves(&p),
            vec![("acme".into(), Some("customer".into()), Rule::OpportunityWon)]
        );
        // without the move's date, the close date alone dates it: a past cycle's win
        facts.stage_since.clear();
        let p = plan(&c, &facts, d("2026-11-26"));
        assert_eq!(status_moves(&p)[0].2, Rule::OpportunitiesLost);
    }

    const TEAM_WITH_ONBOARDING: &str =
        "[team.al]\nname = \"Al\"\n[team.bo]\nname = \"Bo\"\n[team.nina]\nname = \"Nina\"\nrole = \"onboarding\"\n";

    fn crm_with_onboarding(files: &[(&str, &str)]) -> Crm {
        let mut c = crm(files);
        let (config, diags) = Config::parse("sloop.toml", TEAM_WITH_ONBOARDING);
        assert!(diags.is_empty(), "{diags:?}");
        c.config = config;
        c
    }

    fn alerts_of(p: &Plan, rule: Rule) -> Vec<(String, String)> {
        p.alerts
            .iter()
            .filter(|a| a.rule == rule)
            .map(|a| (a.id.clone(), a.message.clone()))
            .collect()
    }

    #[test]
    fn a_trial_alerts_after_trial_days_in_the_stage() {
        let c = crm(&[
            (
                "accounts/acme.toml",
                &account("working", "owner = \"al\"\n"),
            ),
            (
                "opportunities/o.toml",
                &opp(
                    "trial",
                    "mrr = 100\nclose_date = 2026-12-31\nintegration = \"stripe\"\n",
                ),
            ),
        ]);
        let mut facts = Facts::default();
        assert!(alerts_of(&plan(&c, &facts, d("2026-11-26")), Rule::TrialStale).is_empty());
        facts.stage_since.insert("o".into(), d("2026-11-01"));
        assert!(
            alerts_of(&plan(&c, &facts, d("2026-11-10")), Rule::TrialStale).is_empty(),
            "9 days"
        );
        let p = plan(&c, &facts, d("2026-11-11"));
        assert_eq!(
            alerts_of(&p, Rule::TrialStale),
            vec![(
                "o".into(),
                "in trial since 2026-11-01 (10 days, more than 10): close it or stop it".into()
            )]
        );
        assert_eq!(
            p.alerts
                .iter()
                .find(|a| a.rule == Rule::TrialStale)
                .unwrap()
                .owner
                .as_deref(),
            Some("al")
        );
    }

    #[test]
    fn a_won_deal_of_a_customer_needs_an_onboarding_task() {
        let customer = account("customer", "owner = \"al\"\n");
        let won = opp("won", WON);
        let task = |extra: &str, owner: &str, date: &str| {
            format!("kind = \"task\"\ndate = {date}\naccount = \"acme\"\nowner = \"{owner}\"\ndue = 2026-11-30\n{extra}")
        };
        let handoff = |files: &[(&str, &str)]| {
            let mut all = vec![
                ("accounts/acme.toml", customer.as_str()),
                ("opportunities/o.toml", won.as_str()),
            ];
            all.extend_from_slice(files);
            alerts_of(
                &plan(
                    &crm_with_onboarding(&all),
                    &Facts::default(),
                    d("2026-11-26"),
                ),
                Rule::HandoffMissing,
            )
        };
        assert_eq!(
            handoff(&[]),
            vec![(
                "o".into(),
                "won on 2026-11-01 with no onboarding task: hand it over to `nina`".into()
            )]
        );
        let on_deal = task("opportunity = \"o\"\n", "nina", "2026-10-01");
        assert!(handoff(&[("activities/2026/10/t.toml", &on_deal)]).is_empty());
        let done = task("done = true\n", "nina", "2026-11-02");
        assert!(
            handoff(&[("activities/2026/11/t.toml", &done)]).is_empty(),
            "a done task on the account after the win is a hand-off"
        );
        let before = task("", "nina", "2026-10-01");
        assert_eq!(
            handoff(&[("activities/2026/10/t.toml", &before)]).len(),
            1,
            "an account task from before the win is not this deal's"
        );
        let not_onboarding = task("opportunity = \"o\"\n", "bo", "2026-11-02");
        assert_eq!(
            handoff(&[("activities/2026/11/t.toml", &not_onboarding)]).len(),
            1
        );
        // no onboarding member: nobody to hand off to, no alert
        let c = crm(&[
            ("accounts/acme.toml", &customer),
            ("opportunities/o.toml", &won),
        ]);
        assert!(alerts_of(
            &plan(&c, &Facts::default(), d("2026-11-26")),
            Rule::HandoffMissing
        )
        .is_empty());
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
