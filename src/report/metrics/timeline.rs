//! The MRR timeline: every won deal as a contract live from its start until its account's
//! churn, and every MRR figure of the report read from it (the live total, the months, the
//! quarter's new MRR, per owner, the LTV's churn).

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::Serialize;

use super::{
    account_of, month_end, month_of, months_back, owner_of, quarter_of, quarter_start, round2,
    source_group, stat, Clock, Period, Stat,
};
use crate::config::Config;
use crate::crm::Crm;
use crate::model::OppType;

/// A won deal on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract<'a> {
    pub id: &'a str,
    pub account: &'a str,
    pub owner: &'a str,
    /// Its source, or `(upsells)`.
    pub group: &'a str,
    pub upsell: bool,
    pub mrr: f64,
    /// The day its MRR starts: the later of `commit.start_date` and the day it was won.
    pub start: NaiveDate,
    /// The first day its account was in `churn` on or after the day it was won.
    pub end: Option<NaiveDate>,
}

impl Contract<'_> {
    /// Whether its MRR is live on `day`: from the start, until (not on) the end.
    pub fn live_on(&self, day: NaiveDate) -> bool {
        self.start <= day && self.end.is_none_or(|e| day < e)
    }

    /// Whether it ever goes live: a churn before (or on) the start cancels it.
    pub fn goes_live(&self) -> bool {
        self.end.is_none_or(|e| self.start < e)
    }

    /// Whether it starts (and goes live) within `from..=to`.
    pub fn starts_within(&self, from: NaiveDate, to: NaiveDate) -> bool {
        self.goes_live() && self.start >= from && self.start <= to
    }

    /// Whether it was live and ended within `from..=to`.
    pub fn ends_within(&self, from: NaiveDate, to: NaiveDate) -> bool {
        self.goes_live() && self.end.is_some_and(|e| e >= from && e <= to)
    }
}

/// Every won deal of the CRM as a contract.
pub fn contracts<'a>(crm: &'a Crm, clock: &Clock) -> Vec<Contract<'a>> {
    crm.opportunities
        .iter()
        .filter_map(|o| {
            let won = clock.won_on(crm, o)?;
            let start = o.commit.start_date.unwrap_or(won).max(won);
            let end = clock
                .churns
                .get(account_of(o))
                .and_then(|ds| ds.iter().find(|c| **c >= won).copied());
            Some(Contract {
                id: &o.meta.id,
                account: account_of(o),
                owner: owner_of(o),
                group: source_group(o),
                upsell: o.kind == OppType::Upsell,
                mrr: o.mrr.unwrap_or(0.0),
                start,
                end,
            })
        })
        .collect()
}

/// MRR live on `day`.
pub fn live_on(contracts: &[Contract], day: NaiveDate) -> f64 {
    contracts
        .iter()
        .filter(|c| c.live_on(day))
        .map(|c| c.mrr)
        .sum()
}

#[derive(Debug, Clone, Serialize)]
pub struct Mrr {
    pub total: f64,
    pub quarter: String,
    pub new_this_quarter: f64,
    pub target: Option<f64>,
    pub target_by_member: BTreeMap<String, f64>,
    pub by_owner: Vec<OwnerMrr>,
    pub by_month: Vec<MrrMonth>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MrrMonth {
    pub month: String,
    pub opening: f64,
    pub new: f64,
    pub upsell: f64,
    pub churned: f64,
    pub total: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnerMrr {
    pub owner: String,
    /// Live MRR on as_of.
    pub mrr: f64,
    /// MRR that started in the quarter.
    pub new_this_quarter: f64,
    pub target: Option<f64>,
}

/// The month of `first..=last` (the last cut at as_of).
fn month(contracts: &[Contract], first: NaiveDate, last: NaiveDate) -> MrrMonth {
    let sum = |keep: &dyn Fn(&Contract) -> bool| -> f64 {
        contracts.iter().filter(|c| keep(c)).map(|c| c.mrr).sum()
    };
    let before = first.checked_sub_days(Days::new(1)).unwrap_or(first);
    MrrMonth {
        month: month_of(first),
        opening: round2(live_on(contracts, before)),
        new: round2(sum(&|c| !c.upsell && c.starts_within(first, last))),
        upsell: round2(sum(&|c| c.upsell && c.starts_within(first, last))),
        churned: round2(sum(&|c| c.ends_within(first, last))),
        total: round2(live_on(contracts, last)),
    }
}

/// The last 12 months, as_of's last (cut at as_of).
pub fn by_month(contracts: &[Contract], as_of: NaiveDate) -> Vec<MrrMonth> {
    (0..12)
        .rev()
        .map(|k| {
            let first = months_back(as_of, k);
            month(contracts, first, month_end(first).min(as_of))
        })
        .collect()
}

/// New and upsell MRR starting within `from..=to`.
pub fn new_within(contracts: &[Contract], from: NaiveDate, to: NaiveDate) -> f64 {
    contracts
        .iter()
        .filter(|c| c.starts_within(from, to))
        .map(|c| c.mrr)
        .sum()
}

/// The MRR figures of the report.
pub fn mrr(config: &Config, contracts: &[Contract], as_of: NaiveDate) -> Mrr {
    let quarter = quarter_of(as_of);
    let q_start = quarter_start(as_of);
    let target_by_member: BTreeMap<String, f64> = config
        .targets
        .members
        .iter()
        .filter_map(|(m, q)| q.get(&quarter).map(|v| (m.clone(), *v)))
        .collect();
    let mut owners: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for c in contracts {
        let (live, new) = owners.entry(c.owner).or_default();
        if c.live_on(as_of) {
            *live += c.mrr;
        }
        if c.starts_within(q_start, as_of) {
            *new += c.mrr;
        }
    }
    for m in target_by_member.keys() {
        owners.entry(m).or_default();
    }
    let by_owner = owners
        .into_iter()
        .filter(|(o, (live, new))| *live != 0.0 || *new != 0.0 || target_by_member.contains_key(*o))
        .map(|(owner, (live, new))| OwnerMrr {
            owner: owner.to_string(),
            mrr: round2(live),
            new_this_quarter: round2(new),
            target: target_by_member.get(owner).copied(),
        })
        .collect();
    Mrr {
        total: round2(live_on(contracts, as_of)),
        new_this_quarter: round2(new_within(contracts, q_start, as_of)),
        target: config.targets.team.get(&quarter).copied(),
        quarter,
        target_by_member,
        by_owner,
        by_month: by_month(contracts, as_of),
    }
}

/// Deals won in the period: days from won on to their start (never negative: the start is
/// never before the win).
pub fn onboarding_delay(crm: &Crm, clock: &Clock, period: &Period) -> Stat {
    stat(
        crm.opportunities
            .iter()
            .filter_map(|o| {
                let won = clock.won_on(crm, o).filter(|w| period.contains(*w))?;
                let start = o.commit.start_date.unwrap_or(won).max(won);
                Some((start - won).num_days() as f64)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{account, crm, d, won};
    use super::super::{Clock, PeriodName};
    use super::*;

    fn c<'a>(id: &'a str, mrr: f64, start: &str, end: Option<&str>) -> Contract<'a> {
        Contract {
            id,
            account: id,
            owner: "al",
            group: "inbound",
            upsell: false,
            mrr,
            start: d(start),
            end: end.map(d),
        }
    }

    #[test]
    fn a_won_deal_is_live_from_its_start_to_its_accounts_next_churn() {
        let (ap, at) = account("acme", "qualified_pool");
        let files = [
            (ap.as_str(), at),
            (
                "opportunities/first.toml",
                won(100, "2026-01-10", Some("2026-02-01")),
            ),
            // start agreed before the deal was won: the MRR starts on the day it was won
            (
                "opportunities/early.toml",
                won(40, "2026-01-20", Some("2026-01-05")),
            ),
            // won after the churn and the recycle: a new contract, live
            ("opportunities/again.toml", won(70, "2026-08-01", None)),
        ];
        let crm = crm(&files);
        let mut clock = Clock::default();
        clock
            .churns
            .insert("acme".into(), vec![d("2026-05-15"), d("2026-09-10")]);
        let mut cs = contracts(&crm, &clock);
        cs.sort_by_key(|c| c.id);
        let spans: Vec<(&str, NaiveDate, Option<NaiveDate>)> =
            cs.iter().map(|c| (c.id, c.start, c.end)).collect();
        assert_eq!(
            spans,
            vec![
                ("again", d("2026-08-01"), Some(d("2026-09-10"))),
                ("early", d("2026-01-20"), Some(d("2026-05-15"))),
                ("first", d("2026-02-01"), Some(d("2026-05-15"))),
            ]
        );
        // The account is back in the pool: nothing of the churned contracts revives.
        assert_eq!(live_on(&cs, d("2026-06-01")), 0.0);
        assert_eq!(live_on(&cs, d("2026-08-15")), 70.0);
        assert_eq!(
            live_on(&cs, d("2026-09-10")),
            0.0,
            "not live on the churn day"
        );
        assert_eq!(live_on(&cs, d("2026-09-09")), 70.0);
    }

    #[test]
    fn a_churn_between_the_win_and_the_start_cancels_the_deal() {
        let (ap, at) = account("acme", "churn");
        let files = [
            (ap.as_str(), at),
            (
                "opportunities/o.toml",
                won(350, "2026-11-01", Some("2026-11-20")),
            ),
        ];
        let crm = crm(&files);
        let mut clock = Clock::default();
        clock.churns.insert("acme".into(), vec![d("2026-11-12")]);
        let cs = contracts(&crm, &clock);
        assert_eq!(
            (cs[0].start, cs[0].end),
            (d("2026-11-20"), Some(d("2026-11-12")))
        );
        assert_eq!(live_on(&cs, d("2026-11-26")), 0.0);
        let cancelled = c("x", 350.0, "2026-11-20", Some("2026-11-12"));
        assert!(!cancelled.goes_live());
        let same_day = c("y", 10.0, "2026-11-12", Some("2026-11-12"));
        assert!(!same_day.goes_live());
        let months = by_month(&[cancelled, same_day], d("2026-11-26"));
        assert!(months
            .iter()
            .all(|m| m.new == 0.0 && m.churned == 0.0 && m.total == 0.0));
    }

    #[test]
    fn months_add_up_and_end_on_the_live_total() {
        let mut upsell = c("u", 50.0, "2026-10-03", None);
        upsell.upsell = true;
        let cs = vec![
            c("a", 100.0, "2025-06-10", None),
            c("b", 200.0, "2026-09-15", Some("2026-11-02")),
            c("c", 30.0, "2026-10-05", Some("2026-10-20")),
            c("future", 999.0, "2026-12-01", None),
            upsell,
        ];
        let as_of = d("2026-11-26");
        let months = by_month(&cs, as_of);
        assert_eq!(months.len(), 12);
        assert_eq!(months[0].month, "2025-12");
        assert_eq!(
            &months[9..],
            &[
                MrrMonth {
                    month: "2026-09".into(),
                    opening: 100.0,
                    new: 200.0,
                    upsell: 0.0,
                    churned: 0.0,
                    total: 300.0
                },
                MrrMonth {
                    month: "2026-10".into(),
                    opening: 300.0,
                    new: 30.0,
                    upsell: 50.0,
                    churned: 30.0,
                    total: 350.0
                },
                MrrMonth {
                    month: "2026-11".into(),
                    opening: 350.0,
                    new: 0.0,
                    upsell: 0.0,
                    churned: 200.0,
                    total: 150.0
                },
            ]
        );
        for w in months.windows(2) {
            assert_eq!(w[1].opening, w[0].total);
        }
        for m in &months {
            assert_eq!(m.opening + m.new + m.upsell - m.churned, m.total, "{m:?}");
        }
        assert_eq!(months[11].total, live_on(&cs, as_of));
    }

    #[test]
    fn every_mrr_figure_reads_the_timeline() {
        let config_text = format!(
            "{}[targets]\n\"2026-Q4\" = 1000\n[targets.bo]\n\"2026-Q4\" = 400\n",
            super::super::testing::TEAM
        );
        let (config, diags) = Config::parse("sloop.toml", &config_text);
        assert!(diags.is_empty(), "{diags:?}");
        let mut bo = c("b", 200.0, "2026-10-15", None);
        bo.owner = "bo";
        let cs = vec![
            c("a", 100.0, "2026-06-10", None),
            bo,
            c("gone", 300.0, "2026-10-01", Some("2026-11-01")),
            // won in Q4 but starting in Q1: not this quarter's new MRR
            c("later", 500.0, "2027-01-01", None),
        ];
        let m = mrr(&config, &cs, d("2026-11-26"));
        assert_eq!(m.total, 300.0);
        assert_eq!(m.total, m.by_month[11].total);
        assert_eq!(m.quarter, "2026-Q4");
        assert_eq!(m.new_this_quarter, 500.0, "b and gone started in Q4");
        assert_eq!(m.target, Some(1000.0));
        assert_eq!(
            m.by_owner,
            vec![
                OwnerMrr {
                    owner: "al".into(),
                    mrr: 100.0,
                    new_this_quarter: 300.0,
                    target: None
                },
                OwnerMrr {
                    owner: "bo".into(),
                    mrr: 200.0,
                    new_this_quarter: 200.0,
                    target: Some(400.0)
                },
            ]
        );
    }

    #[test]
    fn the_onboarding_delay_is_never_negative() {
        let (ap, at) = account("acme", "customer");
        let files = [
            (ap.as_str(), at),
            (
                "opportunities/a.toml",
                won(1, "2026-10-10", Some("2026-10-01")),
            ),
            (
                "opportunities/b.toml",
                won(1, "2026-10-10", Some("2026-10-20")),
            ),
        ];
        let crm = crm(&files);
        let q = Period::of(PeriodName::Quarter, d("2026-11-26"));
        let s = onboarding_delay(&crm, &Clock::default(), &q);
        assert_eq!((s.n, s.mean_days, s.median_days), (2, Some(5.0), Some(5.0)));
    }
}
