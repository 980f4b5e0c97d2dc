//! The open pipeline: by stage now, by expected close (the forecast), and week by week over
//! the last year (replayed from the history).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{monday, month_of, quarter_of, quarter_start, round2};
use crate::config::Config;
use crate::crm::Crm;
use crate::history::{Change, Event, Value};
use crate::model::dates::{self, DateError};
use crate::model::{Kind, Opportunity};

#[derive(Debug, Clone, Serialize)]
pub struct Pipeline {
    pub by_stage: Vec<StageLine>,
    pub total: Bucket,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageLine {
    pub stage: String,
    pub probability: u8,
    pub count: usize,
    pub mrr: f64,
    pub weighted: f64,
}

/// Count, MRR and weighted MRR of a group of open opportunities.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Bucket {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub week: Option<String>,
    pub count: usize,
    pub mrr: f64,
    pub weighted: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Forecast {
    /// Open deals whose close date has passed.
    pub overdue: Bucket,
    /// The overdue deals and those expected in as_of's month: what should close this month.
    pub this_month: Bucket,
    /// By month of close date, from as_of's month on (the overdue ones left out).
    pub by_month: Vec<Bucket>,
    /// By quarter of close date, from as_of's quarter on (the overdue ones in it).
    pub by_quarter: Vec<Bucket>,
    pub by_owner: Vec<Bucket>,
}

fn weight(config: &Config, o: &Opportunity) -> f64 {
    o.mrr.unwrap_or(0.0) * f64::from(config.stage(&o.stage).map(|s| s.probability).unwrap_or(0))
        / 100.0
}

fn bucket(config: &Config, opps: &[&Opportunity]) -> Bucket {
    Bucket {
        count: opps.len(),
        mrr: round2(opps.iter().map(|o| o.mrr.unwrap_or(0.0)).sum()),
        weighted: round2(opps.iter().map(|o| weight(config, o)).sum()),
        ..Bucket::default()
    }
}

fn open_opportunities(crm: &Crm) -> Vec<&Opportunity> {
    crm.opportunities
        .iter()
        .filter(|o| crm.config.is_open_stage(&o.stage))
        .collect()
}

/// Open opportunities per open stage, in pipeline order, and their total: count, Σ mrr
/// (missing = 0), weighted = Σ mrr × probability / 100.
pub fn pipeline(crm: &Crm) -> Pipeline {
    let config = &crm.config;
    let open = open_opportunities(crm);
    let by_stage = config
        .stages
        .iter()
        .filter(|s| s.is_open())
        .map(|s| {
            let in_stage: Vec<&Opportunity> =
                open.iter().copied().filter(|o| o.stage == s.name).collect();
            let b = bucket(config, &in_stage);
            StageLine {
                stage: s.name.clone(),
                probability: s.probability,
                count: b.count,
                mrr: b.mrr,
                weighted: b.weighted,
            }
        })
        .collect();
    Pipeline {
        by_stage,
        total: bucket(config, &open),
    }
}

/// Opportunities grouped by a key (skipped when the key is `None`), sorted by key.
fn group(
    config: &Config,
    opps: &[&Opportunity],
    key: impl Fn(&Opportunity) -> Option<String>,
) -> Vec<(String, Bucket)> {
    let mut groups: BTreeMap<String, Vec<&Opportunity>> = BTreeMap::new();
    for o in opps {
        if let Some(k) = key(o) {
            groups.entry(k).or_default().push(o);
        }
    }
    groups
        .into_iter()
        .map(|(k, v)| (k, bucket(config, &v)))
        .collect()
}

/// The forecast on `as_of`: open opportunities by expected close month and quarter (an
/// overdue one counts in the overdue bucket and in as_of's quarter, never in a month that is
/// over; those without a `close_date` only count by owner), and by owner.
pub fn forecast(crm: &Crm, as_of: NaiveDate) -> Forecast {
    let config = &crm.config;
    let open = open_opportunities(crm);
    let overdue: Vec<&Opportunity> = open
        .iter()
        .copied()
        .filter(|o| o.close_date.is_some_and(|c| c < as_of))
        .collect();
    let this_month_end = super::month_end(as_of);
    let this_month: Vec<&Opportunity> = open
        .iter()
        .copied()
        .filter(|o| o.close_date.is_some_and(|c| c <= this_month_end))
        .collect();
    let first_quarter = quarter_start(as_of);
    Forecast {
        overdue: bucket(config, &overdue),
        this_month: Bucket {
            month: Some(month_of(as_of)),
            ..bucket(config, &this_month)
        },
        by_month: group(config, &open, |o| {
            o.close_date.filter(|c| *c >= as_of).map(month_of)
        })
        .into_iter()
        .map(|(k, b)| Bucket {
            month: Some(k),
            ..b
        })
        .collect(),
        by_quarter: group(config, &open, |o| {
            o.close_date.map(|c| quarter_of(c.max(first_quarter)))
        })
        .into_iter()
        .map(|(k, b)| Bucket {
            quarter: Some(k),
            ..b
        })
        .collect(),
        by_owner: group(config, &open, |o| {
            Some(o.owner.as_ref().map(|x| x.to_string()).unwrap_or_default())
        })
        .into_iter()
        .map(|(k, b)| Bucket {
            owner: Some(k),
            ..b
        })
        .collect(),
    }
}

/// Open pipeline at the end of each of the last 52 weeks (Sundays, the last one as_of),
/// replayed from the events with today's stage probabilities.
pub fn weekly_pipeline(
    events: &[Event],
    config: &Config,
    as_of: NaiveDate,
) -> Result<Vec<Bucket>, DateError> {
    let this = monday(as_of)?;
    let ends = (0..52u64)
        .rev()
        .map(|k| Ok(dates::add_days(dates::sub_days(this, 7 * k)?, 6)?.min(as_of)))
        .collect::<Result<Vec<NaiveDate>, DateError>>()?;
    let mut opps: HashMap<&str, (Option<String>, f64)> = HashMap::default();
    let mut out = Vec::new();
    let mut i = 0;
    for end in ends {
        while i < events.len() && events[i].date.date_naive() <= end {
            let e = &events[i];
            i += 1;
            if e.kind != Kind::Opportunity {
                continue;
            }
            match &e.change {
                Change::Created { fields } | Change::Restored { fields } => {
                    let stage = fields
                        .get("stage")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    let mrr = fields.get("mrr").and_then(Value::as_f64).unwrap_or(0.0);
                    opps.insert(&e.id, (stage, mrr));
                }
                Change::Changed { field, new, .. } => {
                    let entry = opps.entry(&e.id).or_insert((None, 0.0));
                    match field.as_str() {
                        "stage" => {
                            entry.0 = new.as_ref().and_then(Value::as_str).map(str::to_string)
                        }
                        "mrr" => entry.1 = new.as_ref().and_then(Value::as_f64).unwrap_or(0.0),
                        _ => {}
                    }
                }
                Change::Deleted => {
                    opps.remove(e.id.as_str());
                }
            }
        }
        let mut b = Bucket {
            week: Some(end.to_string()),
            ..Bucket::default()
        };
        for (stage, mrr) in opps.values() {
            if let Some(s) = stage
                .as_deref()
                .and_then(|s| config.stage(s))
                .filter(|s| s.is_open())
            {
                b.count += 1;
                b.mrr += mrr;
                b.weighted += mrr * f64::from(s.probability) / 100.0;
            }
        }
        b.mrr = round2(b.mrr);
        b.weighted = round2(b.weighted);
        out.push(b);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{account, crm, d, opp};
    use super::*;

    fn deals() -> Crm {
        let (ap, at) = account("acme", "working");
        let deal = |stage: &str, mrr: u32, close: &str| {
            opp(stage, &format!("mrr = {mrr}\nclose_date = {close}\n"))
        };
        crm(&[
            (ap.as_str(), at),
            (
                "opportunities/late.toml",
                deal("qualified", 100, "2026-09-30"),
            ),
            (
                "opportunities/earlier.toml",
                deal("closing", 200, "2026-11-02"),
            ),
            ("opportunities/today.toml", deal("trial", 300, "2026-11-26")),
            ("opportunities/soon.toml", deal("commit", 400, "2026-11-30")),
            (
                "opportunities/next.toml",
                deal("identified", 500, "2027-01-15"),
            ),
            (
                "opportunities/undated.toml",
                opp("identified", "mrr = 50\n"),
            ),
            ("opportunities/won.toml", deal("won", 9999, "2026-11-01")),
        ])
    }

    #[test]
    fn the_pipeline_weighs_each_stage_by_its_probability() {
        let p = pipeline(&deals());
        let lines: Vec<(&str, usize, f64, f64)> = p
            .by_stage
            .iter()
            .map(|s| (s.stage.as_str(), s.count, s.mrr, s.weighted))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("identified", 2, 550.0, 55.0),
                ("qualified", 1, 100.0, 20.0),
                ("trial", 1, 300.0, 120.0),
                ("closing", 1, 200.0, 100.0),
                ("commit", 1, 400.0, 380.0),
            ]
        );
        assert_eq!(
            (p.total.count, p.total.mrr, p.total.weighted),
            (6, 1550.0, 675.0)
        );
    }

    #[test]
    fn overdue_deals_are_never_in_a_month_that_is_over() {
        let f = forecast(&deals(), d("2026-11-26"));
        assert_eq!(
            (f.overdue.count, f.overdue.mrr),
            (2, 300.0),
            "late and earlier"
        );
        let months: Vec<(&str, usize, f64)> = f
            .by_month
            .iter()
            .map(|b| (b.month.as_deref().unwrap(), b.count, b.mrr))
            .collect();
        assert_eq!(months, vec![("2026-11", 2, 700.0), ("2027-01", 1, 500.0)]);
        assert!(f
            .by_month
            .iter()
            .all(|b| b.month.as_deref() >= Some("2026-11")));
        assert_eq!(
            (
                f.this_month.month.as_deref(),
                f.this_month.count,
                f.this_month.mrr
            ),
            (Some("2026-11"), 4, 1000.0),
            "overdue and due this month"
        );
        let quarters: Vec<(&str, usize, f64)> = f
            .by_quarter
            .iter()
            .map(|b| (b.quarter.as_deref().unwrap(), b.count, b.mrr))
            .collect();
        assert_eq!(
            quarters,
            vec![("2026-Q4", 4, 1000.0), ("2027-Q1", 1, 500.0)]
        );
        let owners: Vec<(&str, usize)> = f
            .by_owner
            .iter()
            .map(|b| (b.owner.as_deref().unwrap(), b.count))
            .collect();
        assert_eq!(owners, vec![("al", 6)], "undated ones count by owner");
    }
}
