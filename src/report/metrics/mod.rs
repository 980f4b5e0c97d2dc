//! Every number of the reports, as one pure function of the CRM at the as-of date and the
//! event stream mined from the history (`history`). Each definition is stated once, in the
//! README ("Report metrics"); the template context is exactly the `Context` below,
//! serialized. One file per family, each with unit tests on small hand-built inputs:
//! `timeline` (MRR), `pipeline` (pipeline, forecast, weekly pipeline), `winloss`,
//! `durations` (stage durations, conversion, sales cycle), `ltv`, `floor` (the sales floor),
//! `weekly` (weeks and this week). `clock` reads the dates every family shares out of the
//! history once.

pub mod clock;
pub mod durations;
pub mod floor;
pub mod ltv;
pub mod period;
pub mod pipeline;
pub mod timeline;
pub mod weekly;
pub mod winloss;

#[cfg(test)]
mod testing;

use rustc_hash::FxHashMap as HashMap;

use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

use crate::crm::Crm;
use crate::history::{self, Event};
use crate::lifecycle::{self, Alert};
use crate::model::dates::{self, DateError};
use crate::model::Opportunity;

pub use clock::Clock;
pub use floor::Member;
pub use ltv::{Ltv, LtvGroup};
pub use period::{ByPeriod, Period, PeriodName};
pub use pipeline::{forecast, pipeline, Bucket, Forecast, Pipeline, StageLine};
pub use timeline::{Contract, Mrr, MrrMonth, OwnerMrr};
pub use weekly::{Item, MoveLine, ThisWeek, Week};
pub use winloss::{Rate, ReasonCount, WinLoss};

/// What the metrics are computed from.
pub struct Inputs<'a> {
    /// The CRM as committed at the as-of date.
    pub crm: &'a Crm,
    pub as_of: NaiveDate,
    /// Events of every commit dated on or before as_of, oldest first. The metrics read the
    /// `name` of records when they are created, the `status` of accounts, contacts and leads,
    /// the `stage` and `mrr` of opportunities, and the deletion of accounts and
    /// opportunities: `history::for_metrics` keeps just that.
    pub events: &'a [Event],
    /// Commits dated on or before as_of.
    pub commits: usize,
    /// The first of them.
    pub first_commit: Option<NaiveDate>,
    pub shallow: bool,
    /// The period the templates show (`sloop report --period`).
    pub period: PeriodName,
}

#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub as_of: String,
    pub currency: String,
    /// The period the templates show.
    pub period: PeriodName,
    /// Every period the figures *by period* are given for.
    pub periods: ByPeriod<Period>,
    pub mrr: Mrr,
    pub accounts_by_status: Vec<StatusCount>,
    pub pipeline: Pipeline,
    pub forecast: Forecast,
    pub win_loss: ByPeriod<WinLoss>,
    pub lost_reasons: ByPeriod<Vec<ReasonCount>>,
    pub by_source: ByPeriod<Vec<Rate>>,
    pub by_industry: ByPeriod<Vec<Rate>>,
    pub stage_durations: ByPeriod<Vec<durations::Duration>>,
    pub conversion: ByPeriod<Vec<durations::Conversion>>,
    pub weekly: Vec<Week>,
    pub weekly_pipeline: Vec<Bucket>,
    pub members: Vec<Member>,
    pub analytics: Analytics,
    pub this_week: ThisWeek,
    pub alerts: Vec<Alert>,
    pub history: HistoryInfo,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusCount {
    pub status: String,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stat {
    pub n: usize,
    pub mean_days: Option<f64>,
    pub median_days: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Named {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounts: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Zone {
    pub zone: String,
    pub accounts: usize,
    pub customers: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Analytics {
    pub sales_cycle: ByPeriod<Stat>,
    pub onboarding_delay: ByPeriod<Stat>,
    pub touchpoints_per_won: ByPeriod<Option<f64>>,
    pub onboardings_by_integration: ByPeriod<Vec<Named>>,
    pub inbound_by_channel: ByPeriod<Vec<Named>>,
    pub ltv: Ltv,
    pub ltv_by_owner: Vec<LtvGroup>,
    pub ltv_by_source: Vec<LtvGroup>,
    pub tools: Vec<Named>,
    pub geography: Vec<Zone>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryInfo {
    pub commits: usize,
    pub first_commit_date: Option<String>,
    pub shallow: bool,
}

/// Rounds money and days to cents; an empty sum (which is -0.0 in floating point) is
/// plain 0.
pub fn round2(x: f64) -> f64 {
    let r = (x * 100.0).round() / 100.0;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// Rounds a ratio to 4 decimals.
pub fn round4(x: f64) -> f64 {
    let r = (x * 10_000.0).round() / 10_000.0;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// `a / b` to 4 decimals, `None` when there is nothing to divide.
pub fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| round4(a as f64 / b as f64))
}

pub fn quarter_of(d: NaiveDate) -> String {
    format!("{}-Q{}", d.year(), (d.month() - 1) / 3 + 1)
}

pub fn month_of(d: NaiveDate) -> String {
    format!("{}-{:02}", d.year(), d.month())
}

/// The first day of `d`'s month.
pub fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The first day of `d`'s quarter.
pub fn quarter_start(d: NaiveDate) -> NaiveDate {
    let month = (d.month() - 1) / 3 * 3 + 1;
    NaiveDate::from_ymd_opt(d.year(), month, 1).unwrap_or(d)
}

/// The last day of `d`'s month (saturating at chrono's last day rather than panicking on an
/// --as-of at its edge).
pub fn month_end(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.checked_sub_days(Days::new(1)))
        .unwrap_or(NaiveDate::MAX)
}

/// The first day of the month `k` months before `d`'s.
pub fn months_back(d: NaiveDate, k: u32) -> NaiveDate {
    let index = d.year() * 12 + d.month0() as i32 - k as i32;
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or(NaiveDate::MIN)
}

pub fn monday(d: NaiveDate) -> Result<NaiveDate, DateError> {
    dates::sub_days(d, u64::from(d.weekday().num_days_from_monday()))
}

pub fn mean_median(mut xs: Vec<f64>) -> (Option<f64>, Option<f64>) {
    if xs.is_empty() {
        return (None, None);
    }
    // `total_cmp`: an `mrr = nan` written in a record sorts last instead of panicking.
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let median = if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    };
    (Some(round2(mean)), Some(round2(median)))
}

pub fn stat(xs: Vec<f64>) -> Stat {
    let n = xs.len();
    let (mean_days, median_days) = mean_median(xs);
    Stat {
        n,
        mean_days,
        median_days,
    }
}

/// The account id of an opportunity (`""` when it has none).
pub fn account_of(o: &Opportunity) -> &str {
    o.account.as_ref().map(|a| a.as_str()).unwrap_or("")
}

/// The owner of an opportunity (`""` when it has none).
pub fn owner_of(o: &Opportunity) -> &str {
    o.owner.as_ref().map(|a| a.as_str()).unwrap_or("")
}

/// The group of a deal by source: its `source`, or `(upsells)` for every upsell (`type` is
/// the one definition of an upsell).
pub fn source_group(o: &Opportunity) -> &str {
    if o.kind == crate::model::OppType::Upsell {
        "(upsells)"
    } else {
        &o.source
    }
}

/// Counts keys, most first (then by key).
pub fn count_by(keys: impl IntoIterator<Item = String>) -> Vec<(String, usize)> {
    let mut m: std::collections::BTreeMap<String, usize> = Default::default();
    for k in keys {
        *m.entry(k).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// Computes every metric. An as-of date outside the calendar sloop computes with
/// (`dates::in_range`) is an error, as is any date computed past it.
pub fn compute(inp: &Inputs) -> Result<Context, DateError> {
    dates::in_range(inp.as_of)?;
    // The parts read nothing of each other but the events grouped by record and the
    // clock: they are computed as separate tasks, which the cores share as they come free
    // (the weekly views and the alerts as one task took longer than all the figures).
    let records = history::by_record(inp.events);
    let (crm, config, as_of) = (inp.crm, &inp.crm.config, inp.as_of);
    let (clock, facts) = rayon::join(
        || Clock::from_history(crm, &records, inp.events),
        || crate::lifecycle::facts::from_records(crm, &records, None),
    );
    let ((alerts, weekly), (context, (weekly_pipeline, this_week))) = rayon::join(
        || {
            rayon::join(
                || lifecycle::plan(crm, &facts, as_of),
                || weekly::weeks(crm, &clock, as_of),
            )
        },
        || {
            rayon::join(
                || figures(inp, &clock),
                || {
                    rayon::join(
                        || pipeline::weekly_pipeline(inp.events, config, as_of),
                        || weekly::this_week(crm, inp.events, config, as_of),
                    )
                },
            )
        },
    );
    Ok(Context {
        weekly: weekly?,
        weekly_pipeline: weekly_pipeline?,
        this_week: this_week?,
        alerts: alerts?.alerts,
        ..context
    })
}

/// The context but for its `Weekly` parts (left empty).
fn figures(inp: &Inputs, clock: &Clock) -> Context {
    let crm = inp.crm;
    let config = &crm.config;
    let as_of = inp.as_of;
    let periods = period::periods(as_of, inp.period);
    let contracts = timeline::contracts(crm, clock);
    let mrr = timeline::mrr(config, &contracts, as_of);
    let accounts_by_status = config
        .statuses
        .iter()
        .map(|s| StatusCount {
            status: s.name.clone(),
            count: crm.accounts.iter().filter(|a| a.status == s.name).count(),
        })
        .collect();
    let deals = winloss::Deals::new(crm, clock);
    let stays = durations::stays(crm, clock);
    let analytics = Analytics {
        sales_cycle: periods.map(|p| durations::sales_cycle(crm, clock, p)),
        onboarding_delay: periods.map(|p| timeline::onboarding_delay(crm, clock, p)),
        touchpoints_per_won: periods.map(|p| winloss::touchpoints_per_won(&deals, p)),
        onboardings_by_integration: periods.map(|p| winloss::onboardings_by_integration(&deals, p)),
        inbound_by_channel: periods.map(|p| winloss::inbound_by_channel(&deals, p)),
        ltv: ltv::ltv(&contracts, as_of),
        ltv_by_owner: ltv::by_group(&contracts, as_of, |c| c.owner),
        ltv_by_source: ltv::by_group(&contracts, as_of, |c| c.group),
        tools: count_by(crm.accounts.iter().flat_map(|a| a.tools.iter().cloned()))
            .into_iter()
            .map(|(tool, n)| Named {
                tool: Some(tool),
                channel: None,
                count: None,
                accounts: Some(n),
            })
            .collect(),
        geography: geography(crm),
    };
    Context {
        as_of: as_of.to_string(),
        currency: config.currency.clone(),
        period: inp.period,
        members: floor::members(crm, clock, &contracts, &periods, as_of),
        win_loss: periods.map(|p| winloss::win_loss(&deals, p)),
        lost_reasons: periods.map(|p| winloss::lost_reasons(&deals, p)),
        by_source: periods.map(|p| winloss::by_source(&deals, config, p)),
        by_industry: periods.map(|p| winloss::by_industry(&deals, p)),
        stage_durations: periods.map(|p| durations::stage_durations(config, &stays, p)),
        conversion: periods.map(|p| durations::conversion(config, &stays, p)),
        periods,
        mrr,
        accounts_by_status,
        pipeline: pipeline(crm),
        forecast: forecast(crm, as_of),
        weekly: Vec::new(),
        weekly_pipeline: Vec::new(),
        analytics,
        this_week: ThisWeek::default(),
        alerts: Vec::new(),
        history: HistoryInfo {
            commits: inp.commits,
            first_commit_date: inp.first_commit.map(|d| d.to_string()),
            shallow: inp.shallow,
        },
    }
}

fn geography(crm: &Crm) -> Vec<Zone> {
    let zone = |c: Option<&str>| match c {
        Some("FR") => "FR",
        Some("US") => "US",
        _ => "other",
    };
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::default();
    for a in &crm.accounts {
        let e = counts.entry(zone(a.country.as_deref())).or_default();
        e.0 += 1;
        if a.status == "customer" {
            e.1 += 1;
        }
    }
    ["FR", "US", "other"]
        .iter()
        .map(|z| {
            let (accounts, customers) = counts.get(z).copied().unwrap_or_default();
            Zone {
                zone: z.to_string(),
                accounts,
                customers,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn dates_and_rounding() {
        assert_eq!(quarter_start(d("2026-11-26")), d("2026-10-01"));
        assert_eq!(month_end(d("2024-02-10")), d("2024-02-29"));
        assert_eq!(months_back(d("2026-02-15"), 3), d("2025-11-01"));
        assert_eq!(months_back(d("2026-02-15"), 0), d("2026-02-01"));
        assert_eq!(round4(0.305_199_999_999_999_97), 0.3052);
        assert_eq!(ratio(1, 3), Some(0.3333));
        assert_eq!(ratio(1, 0), None);
        assert_eq!(round2(-0.0), 0.0);
        assert!(round2(-0.0).is_sign_positive());
    }

    /// Every date the report computes stays in the calendar from the first to the last day
    /// sloop accepts; outside them the report is an error, not a panic.
    #[test]
    fn the_report_computes_at_the_edges_and_refuses_beyond() {
        let crm = Crm::default();
        let at = |as_of| {
            compute(&Inputs {
                crm: &crm,
                as_of,
                events: &[],
                commits: 0,
                first_commit: None,
                shallow: false,
                period: PeriodName::Month,
            })
        };
        for as_of in [dates::FIRST, dates::LAST] {
            assert!(at(as_of).is_ok(), "{as_of}");
        }
        for as_of in [NaiveDate::MAX, NaiveDate::MIN] {
            assert_eq!(at(as_of).unwrap_err(), DateError::OutOfRange(as_of));
        }
    }
}
