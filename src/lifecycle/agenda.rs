//! The personal homepage: what a team member should do today. Pure: built from the CRM, the
//! lifecycle alerts and a date.

use chrono::NaiveDate;
use serde::Serialize;

use crate::crm::Crm;
use crate::lifecycle::{Alert, Facts};

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub id: String,
    pub account: String,
    pub due: Option<NaiveDate>,
    pub overdue: bool,
    pub subject: String,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Waiting {
    pub id: String,
    pub name: String,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoNextStep {
    pub id: String,
    pub name: String,
    pub stage: String,
    pub account: String,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Agenda {
    pub as_of: NaiveDate,
    pub owner: Option<String>,
    /// Open tasks, overdue first, then by due date.
    pub tasks: Vec<Task>,
    pub alerts: Vec<Alert>,
    /// `qualified_pool` accounts with no touchpoint on or after the day they entered the pool
    /// (owned by the member, or by nobody): exactly those `first-touch` does not move.
    pub first_touch: Vec<Waiting>,
    /// Open opportunities with no open task on them or their account.
    pub no_next_step: Vec<NoNextStep>,
}

/// Builds the agenda of `owner` (everyone's when `None`). `facts` dates when each account
/// entered its status.
pub fn build(
    crm: &Crm,
    facts: &Facts,
    alerts: Vec<Alert>,
    owner: Option<&str>,
    as_of: NaiveDate,
) -> Agenda {
    let mine = |o: Option<&str>| owner.is_none_or(|want| o == Some(want));
    let mut tasks: Vec<Task> = crm
        .activities
        .iter()
        .filter(|a| a.is_open_task() && mine(a.owner.as_ref().map(|x| x.as_str())))
        .map(|a| Task {
            id: a.meta.id.clone(),
            account: a
                .account
                .as_ref()
                .map(|x| x.to_string())
                .unwrap_or_default(),
            due: a.due,
            overdue: a.due.is_some_and(|d| d < as_of),
            subject: a.subject.clone().unwrap_or_default(),
            owner: a.owner.as_ref().map(|x| x.to_string()),
        })
        .collect();
    tasks.sort_by(|a, b| (!a.overdue, a.due, &a.id).cmp(&(!b.overdue, b.due, &b.id)));
    // The last touchpoint (on or before as_of) of each account.
    let mut touched: std::collections::HashMap<&str, NaiveDate> = Default::default();
    for a in crm
        .activities
        .iter()
        .filter(|a| a.is_touchpoint() && a.date.date() <= as_of)
    {
        if let Some(account) = &a.account {
            let last = touched.entry(account.as_str()).or_insert(a.date.date());
            *last = (*last).max(a.date.date());
        }
    }
    let waiting = |id: &str| match (touched.get(id), facts.status_since.get(id)) {
        (None, _) => true,
        (Some(last), Some(since)) => last < since,
        (Some(_), None) => false,
    };
    let first_touch = crm
        .accounts
        .iter()
        .filter(|a| a.status == "qualified_pool" && waiting(a.meta.id.as_str()))
        .filter(|a| a.owner.is_none() || mine(a.owner.as_ref().map(|x| x.as_str())))
        .map(|a| Waiting {
            id: a.meta.id.clone(),
            name: a.name.clone(),
            owner: a.owner.as_ref().map(|x| x.to_string()),
        })
        .collect();
    let planned: std::collections::HashSet<&str> = crm
        .activities
        .iter()
        .filter(|a| a.is_open_task())
        .flat_map(|a| {
            [
                a.opportunity.as_ref().map(|x| x.as_str()),
                a.account.as_ref().map(|x| x.as_str()),
            ]
        })
        .flatten()
        .collect();
    let no_next_step = crm
        .opportunities
        .iter()
        .filter(|o| {
            crm.config.is_open_stage(&o.stage) && mine(o.owner.as_ref().map(|x| x.as_str()))
        })
        .filter(|o| {
            !planned.contains(o.meta.id.as_str())
                && !o
                    .account
                    .as_ref()
                    .is_some_and(|a| planned.contains(a.as_str()))
        })
        .map(|o| NoNextStep {
            id: o.meta.id.clone(),
            name: o.name.clone(),
            stage: o.stage.clone(),
            account: o
                .account
                .as_ref()
                .map(|x| x.to_string())
                .unwrap_or_default(),
            owner: o.owner.as_ref().map(|x| x.to_string()),
        })
        .collect();
    let alerts = alerts
        .into_iter()
        .filter(|a| mine(a.owner.as_deref()))
        .collect();
    Agenda {
        as_of,
        owner: owner.map(str::to_string),
        tasks,
        alerts,
        first_touch,
        no_next_step,
    }
}
