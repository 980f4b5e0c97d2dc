//! `sloop move … won --handoff MEMBER`: the onboarding task that hands a won deal over to an
//! `onboarding` member, so that the `handoff-missing` alert has nothing to say. Pure: the
//! task's file is built and judged like any new record; the shell writes it with the move.

use chrono::NaiveDate;

use crate::config::{Outcome, Role};
use crate::crm::Crm;
use crate::model::{Kind, Opportunity};
use crate::store::edit::FieldValue;
use crate::writes::{new_record, unique_id, NewFile, WriteError};

/// The hand-off task of `deal` (as it will be after the move) for `member`, dated `today`:
/// on the deal and its account, due on the onboarding meeting, else the MRR start date, else
/// today. Refused unless the deal is won and `member` is an `onboarding` member.
pub fn handoff_task(
    crm: &Crm,
    deal: &Opportunity,
    member: &str,
    today: NaiveDate,
) -> Result<NewFile, WriteError> {
    let onboarding: Vec<&str> = crm
        .config
        .team
        .iter()
        .filter(|m| m.role == Some(Role::Onboarding))
        .map(|m| m.id.as_str())
        .collect();
    if crm.config.outcome(&deal.stage) != Some(Outcome::Won) {
        return Err(WriteError::Usage {
            message: format!(
                "--handoff hands a won deal to onboarding, and `{}` is not a won stage",
                deal.stage
            ),
            hint: None,
        });
    }
    if !onboarding.contains(&member) {
        return Err(WriteError::Usage {
            message: format!("`{member}` is not an onboarding member of the team"),
            hint: Some(if onboarding.is_empty() {
                "give a member `role = \"onboarding\"` in sloop.toml".into()
            } else {
                format!("onboarding: {}", crate::diag::one_of(&onboarding))
            }),
        });
    }
    let account = deal
        .account
        .as_ref()
        .map(|a| a.to_string())
        .ok_or_else(|| WriteError::Usage {
            message: format!("`{}` has no account to hand off", deal.meta.id),
            hint: None,
        })?;
    let due = deal
        .commit
        .onboarding_meeting
        .or(deal.commit.start_date)
        .unwrap_or(today)
        .max(today);
    let base = crate::model::ids::slugify(&format!("{today}-task-{account}-handoff"));
    let id = unique_id(crm, Kind::Activity, &base);
    let fields = vec![
        ("kind".to_string(), FieldValue::Str("task".into())),
        ("date".to_string(), FieldValue::Date(today)),
        ("account".to_string(), FieldValue::Str(account)),
        (
            "opportunity".to_string(),
            FieldValue::Str(deal.meta.id.clone()),
        ),
        ("owner".to_string(), FieldValue::Str(member.to_string())),
        (
            "subject".to_string(),
            FieldValue::Str(format!("Onboarding hand-off: {}", deal.name)),
        ),
        ("due".to_string(), FieldValue::Date(due)),
        ("done".to_string(), FieldValue::Bool(false)),
    ];
    new_record(crm, Kind::Activity, Some(&id), fields)
}
