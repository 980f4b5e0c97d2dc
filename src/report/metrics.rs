//! Every number of the reports, as one pure function of the CRM at the as-of date and the
//! event stream mined from the history (`history`). Each formula is documented in the README
//! ("Report metrics"); the template context is exactly the `Context` below, serialized.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::config::{Config, Outcome};
use crate::crm::Crm;
use crate::history::{self, ByRecord, Change, Event, Value};
use crate::lifecycle::{self, Alert};
use crate::model::dates::{self, DateError};
use crate::model::{Activity, ActivityKind, Kind, LeadStatus, OppType, Opportunity};

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
}

#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub as_of: String,
    pub currency: String,
    pub mrr: Mrr,
    pub accounts_by_status: Vec<StatusCount>,
    pub pipeline: Pipeline,
    pub forecast: Forecast,
    pub win_loss: WinLoss,
    pub stage_durations: Vec<Duration>,
    pub conversion: Vec<Conversion>,
    pub lost_reasons: Vec<ReasonCount>,
    pub by_source: Vec<Rate>,
    pub by_industry: Vec<Rate>,
    pub weekly: Vec<Week>,
    pub weekly_pipeline: Vec<Bucket>,
    pub members: Vec<Member>,
    pub analytics: Analytics,
    pub this_week: ThisWeek,
    pub alerts: Vec<Alert>,
    pub history: HistoryInfo,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mrr {
    pub total: f64,
    pub by_owner: BTreeMap<String, f64>,
    pub new_this_quarter: f64,
    pub quarter: String,
    pub target: Option<f64>,
    pub target_by_member: BTreeMap<String, f64>,
    pub by_month: Vec<MrrMonth>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MrrMonth {
    pub month: String,
    pub new: f64,
    pub upsell: f64,
    pub churned: f64,
    pub total: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusCount {
    pub status: String,
    pub count: usize,
}

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
#[derive(Debug, Clone, Default, Serialize)]
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
    pub by_month: Vec<Bucket>,
    pub by_quarter: Vec<Bucket>,
    pub by_owner: Vec<Bucket>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WinLoss {
    pub won: usize,
    pub lost: usize,
    pub ratio: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Duration {
    pub stage: String,
    pub n: usize,
    pub mean_days: Option<f64>,
    pub median_days: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Conversion {
    pub from: String,
    pub to: String,
    pub entered: usize,
    pub converted: usize,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReasonCount {
    pub reason: String,
    pub count: usize,
}

/// Opportunities, won, lost and win rate of a group (a source, an industry).
#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    pub opportunities: usize,
    pub won: usize,
    pub lost: usize,
    pub win_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Week {
    pub week: String,
    pub demos: usize,
    pub won: usize,
    pub lost: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub role: Option<String>,
    pub won_mrr_quarter: f64,
    pub activities: usize,
    pub tasks_open: usize,
    pub tasks_done: usize,
    pub calls: usize,
    pub call_minutes: u64,
    pub demos: usize,
    pub leads_addressed: usize,
    pub opportunities_created: usize,
    pub won: usize,
    pub lost: usize,
    pub win_rate: Option<f64>,
    pub accounts_in_queue: usize,
    pub leads_in_queue: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stat {
    pub n: usize,
    pub mean_days: Option<f64>,
    pub median_days: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
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
pub struct Ltv {
    /// Average MRR per customer account.
    pub arpa: Option<f64>,
    /// Churned MRR of the last 12 months / 12, over the current MRR.
    pub monthly_churn_rate: Option<f64>,
    /// Expected customer lifetime in months: 1 / monthly churn rate.
    pub months: Option<f64>,
    /// arpa × months.
    pub value: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Zone {
    pub zone: String,
    pub accounts: usize,
    pub customers: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Analytics {
    pub sales_cycle: Stat,
    pub onboarding_delay: Stat,
    pub touchpoints_per_won: Option<f64>,
    pub onboardings_by_integration: Vec<Named>,
    pub ltv: Ltv,
    pub inbound_by_channel: Vec<Named>,
    pub tools: Vec<Named>,
    pub geography: Vec<Zone>,
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

#[derive(Debug, Clone, Serialize)]
pub struct HistoryInfo {
    pub commits: usize,
    pub first_commit_date: Option<String>,
    pub shallow: bool,
}

/// Rounds to cents; an empty sum (which is -0.0 in floating point) is plain 0.
fn round2(x: f64) -> f64 {
    let r = (x * 100.0).round() / 100.0;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| round2(a as f64 / b as f64 * 100.0) / 100.0)
}

fn quarter_of(d: NaiveDate) -> String {
    format!("{}-Q{}", d.year(), (d.month() - 1) / 3 + 1)
}

fn month_of(d: NaiveDate) -> String {
    format!("{}-{:02}", d.year(), d.month())
}

fn mean_median(mut xs: Vec<f64>) -> (Option<f64>, Option<f64>) {
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

fn stat(xs: Vec<f64>) -> Stat {
    let n = xs.len();
    let (mean_days, median_days) = mean_median(xs);
    Stat {
        n,
        mean_days,
        median_days,
    }
}

/// The account id of an opportunity (`""` when it has none).
fn account_of(o: &Opportunity) -> &str {
    o.account.as_ref().map(|a| a.as_str()).unwrap_or("")
}

/// When a won opportunity's MRR starts: `commit.start_date`, else `close_date`.
pub fn start_of(o: &Opportunity) -> Option<NaiveDate> {
    o.commit.start_date.or(o.close_date)
}

fn is_won(config: &Config, o: &Opportunity) -> bool {
    config.outcome(&o.stage) == Some(Outcome::Won)
}

fn is_lost(config: &Config, o: &Opportunity) -> bool {
    config.outcome(&o.stage) == Some(Outcome::Lost)
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

/// Open opportunities grouped by a key (skipped when the key is `None`), sorted by key.
fn group_open(crm: &Crm, key: impl Fn(&Opportunity) -> Option<String>) -> Vec<(String, Bucket)> {
    let mut groups: BTreeMap<String, Vec<&Opportunity>> = BTreeMap::new();
    for o in open_opportunities(crm) {
        if let Some(k) = key(o) {
            groups.entry(k).or_default().push(o);
        }
    }
    groups
        .into_iter()
        .map(|(k, v)| (k, bucket(&crm.config, &v)))
        .collect()
}

/// The forecast: open opportunities by expected close month and quarter (those without a
/// `close_date` are left out of both), and by owner.
pub fn forecast(crm: &Crm) -> Forecast {
    Forecast {
        by_month: group_open(crm, |o| o.close_date.map(month_of))
            .into_iter()
            .map(|(k, b)| Bucket {
                month: Some(k),
                ..b
            })
            .collect(),
        by_quarter: group_open(crm, |o| o.close_date.map(quarter_of))
            .into_iter()
            .map(|(k, b)| Bucket {
                quarter: Some(k),
                ..b
            })
            .collect(),
        by_owner: group_open(crm, |o| {
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

/// Computes every metric. An as-of date outside the calendar sloop computes with
/// (`dates::in_range`) is an error, as is any date computed past it.
pub fn compute(inp: &Inputs) -> Result<Context, DateError> {
    dates::in_range(inp.as_of)?;
    // The weekly views and the alerts read nothing the other figures compute: they are
    // computed on another core.
    let records = history::by_record(inp.events);
    let (weekly, context) = rayon::join(|| Weekly::of(inp, &records), || figures(inp, &records));
    let Weekly {
        weekly,
        weekly_pipeline,
        this_week,
        alerts,
    } = weekly?;
    Ok(Context {
        weekly,
        weekly_pipeline,
        this_week,
        alerts,
        ..context?
    })
}

/// The parts of the context computed beside the figures.
struct Weekly {
    weekly: Vec<Week>,
    weekly_pipeline: Vec<Bucket>,
    this_week: ThisWeek,
    alerts: Vec<Alert>,
}

impl Weekly {
    fn of(inp: &Inputs, records: &ByRecord) -> Result<Weekly, DateError> {
        let (crm, config, as_of) = (inp.crm, &inp.crm.config, inp.as_of);
        let facts = crate::lifecycle::facts::from_records(crm, records, None);
        Ok(Weekly {
            weekly: weeks(crm, config, as_of)?,
            weekly_pipeline: weekly_pipeline(inp.events, config, as_of)?,
            this_week: this_week(crm, inp.events, config, as_of)?,
            alerts: lifecycle::plan(crm, &facts, as_of)?.alerts,
        })
    }
}

/// The context but for its `Weekly` parts (left empty).
fn figures(inp: &Inputs, records: &ByRecord) -> Result<Context, DateError> {
    let crm = inp.crm;
    let config = &crm.config;
    let as_of = inp.as_of;
    let quarter = quarter_of(as_of);
    let account_status: HashMap<&str, &str> = crm
        .accounts
        .iter()
        .map(|a| (a.meta.id.as_str(), a.status.as_str()))
        .collect();
    let churn_dates: HashMap<&str, Vec<NaiveDate>> = crm
        .accounts
        .iter()
        .map(|a| {
            let tl = records
                .get(&(Kind::Account, a.meta.id.as_str()))
                .map(|ev| history::timeline(ev.iter().copied(), "status"))
                .unwrap_or_default();
            let dates = tl
                .iter()
                .filter(|(_, v)| v.as_ref().and_then(Value::as_str) == Some("churn"))
                .map(|(d, _)| *d)
                .collect();
            (a.meta.id.as_str(), dates)
        })
        .collect();
    let won: Vec<&Opportunity> = crm
        .opportunities
        .iter()
        .filter(|o| is_won(config, o))
        .collect();
    let lost: Vec<&Opportunity> = crm
        .opportunities
        .iter()
        .filter(|o| is_lost(config, o))
        .collect();
    // MRR
    let live = |o: &&&Opportunity| {
        start_of(o).is_some_and(|s| s <= as_of)
            && account_status.get(account_of(o)) != Some(&"churn")
    };
    let mut by_owner: BTreeMap<String, f64> = BTreeMap::new();
    let mut total = 0.0;
    for o in won.iter().filter(live) {
        let m = o.mrr.unwrap_or(0.0);
        total += m;
        *by_owner
            .entry(o.owner.as_ref().map(|x| x.to_string()).unwrap_or_default())
            .or_default() += m;
    }
    let new_this_quarter: f64 = won
        .iter()
        .filter(|o| {
            o.close_date
                .is_some_and(|c| quarter_of(c) == quarter && c <= as_of)
        })
        .map(|o| o.mrr.unwrap_or(0.0))
        .sum();
    let by_month = mrr_by_month(&won, &churn_dates, as_of)?;
    let mrr = Mrr {
        total: round2(total),
        by_owner: by_owner.into_iter().map(|(k, v)| (k, round2(v))).collect(),
        new_this_quarter: round2(new_this_quarter),
        quarter: quarter.clone(),
        target: config.targets.team.get(&quarter).copied(),
        target_by_member: config
            .targets
            .members
            .iter()
            .filter_map(|(m, q)| q.get(&quarter).map(|v| (m.clone(), *v)))
            .collect(),
        by_month,
    };
    let accounts_by_status = config
        .statuses
        .iter()
        .map(|s| StatusCount {
            status: s.name.clone(),
            count: crm.accounts.iter().filter(|a| a.status == s.name).count(),
        })
        .collect();
    let pipeline = pipeline(crm);
    let forecast = forecast(crm);
    let win_loss = WinLoss {
        won: won.len(),
        lost: lost.len(),
        ratio: ratio(won.len(), won.len() + lost.len()),
    };
    let intervals = stage_intervals(records, config);
    let stage_durations = config
        .stages
        .iter()
        .map(|s| {
            let days: Vec<f64> = intervals
                .iter()
                .filter(|i| i.1 == s.name)
                .filter_map(|i| i.3.map(|l| (l - i.2).num_days() as f64))
                .collect();
            let n = days.len();
            let (mean_days, median_days) = mean_median(days);
            Duration {
                stage: s.name.clone(),
                n,
                mean_days,
                median_days,
            }
        })
        .collect();
    let conversion = conversions(&intervals, config);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for o in &lost {
        *reasons
            .entry(o.lost_reason.clone().unwrap_or_else(|| "(none)".into()))
            .or_default() += 1;
    }
    let mut lost_reasons: Vec<ReasonCount> = reasons
        .into_iter()
        .map(|(reason, count)| ReasonCount { reason, count })
        .collect();
    lost_reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    let rate_of = |opps: Vec<&Opportunity>| {
        let w = opps.iter().filter(|o| is_won(config, o)).count();
        let l = opps.iter().filter(|o| is_lost(config, o)).count();
        (opps.len(), w, l, ratio(w, w + l))
    };
    let mut sources: Vec<String> = config.values.sources.clone();
    for o in &crm.opportunities {
        if !o.source.is_empty() && !sources.contains(&o.source) {
            sources.push(o.source.clone());
        }
    }
    let by_source = sources
        .iter()
        .map(|s| {
            let (opportunities, won, lost, win_rate) = rate_of(
                crm.opportunities
                    .iter()
                    .filter(|o| &o.source == s)
                    .collect(),
            );
            Rate {
                source: Some(s.clone()),
                industry: None,
                opportunities,
                won,
                lost,
                win_rate,
            }
        })
        .collect();
    let industry_of: HashMap<&str, &str> = crm
        .accounts
        .iter()
        .filter_map(|a| a.industry.as_deref().map(|i| (a.meta.id.as_str(), i)))
        .collect();
    let mut industries: BTreeMap<&str, Vec<&Opportunity>> = BTreeMap::new();
    for o in &crm.opportunities {
        industries
            .entry(industry_of.get(account_of(o)).copied().unwrap_or("(none)"))
            .or_default()
            .push(o);
    }
    let by_industry = industries
        .into_iter()
        .map(|(i, opps)| {
            let (opportunities, won, lost, win_rate) = rate_of(opps);
            Rate {
                source: None,
                industry: Some(i.to_string()),
                opportunities,
                won,
                lost,
                win_rate,
            }
        })
        .collect();
    let members = members(crm, config, as_of, &quarter);
    let analytics = analytics(crm, config, records, &won, &churn_dates, total, as_of)?;
    Ok(Context {
        as_of: as_of.to_string(),
        currency: config.currency.clone(),
        mrr,
        accounts_by_status,
        pipeline,
        forecast,
        win_loss,
        stage_durations,
        conversion,
        lost_reasons,
        by_source,
        by_industry,
        weekly: Vec::new(),
        weekly_pipeline: Vec::new(),
        members,
        analytics,
        this_week: ThisWeek::default(),
        alerts: Vec::new(),
        history: HistoryInfo {
            commits: inp.commits,
            first_commit_date: inp.first_commit.map(|d| d.to_string()),
            shallow: inp.shallow,
        },
    })
}

/// The last 12 months (ending with as_of's): new and upsell MRR starting that month, MRR of
/// accounts that churned that month, and the MRR live at the end of the month.
fn mrr_by_month(
    won: &[&Opportunity],
    churn: &HashMap<&str, Vec<NaiveDate>>,
    as_of: NaiveDate,
) -> Result<Vec<MrrMonth>, DateError> {
    let mut out = Vec::new();
    let this_month = dates::first_of_month(as_of);
    for back in (0..12).rev() {
        let first = dates::sub_months(this_month, back)?;
        let last = dates::sub_days(dates::add_months(first, 1)?, 1)?.min(as_of);
        let (y, m) = (first.year(), first.month());
        let in_month = |d: Option<NaiveDate>| d.is_some_and(|d| d >= first && d <= last);
        let new: f64 = won
            .iter()
            .filter(|o| o.kind == OppType::New && in_month(start_of(o)))
            .map(|o| o.mrr.unwrap_or(0.0))
            .sum();
        let upsell: f64 = won
            .iter()
            .filter(|o| o.kind == OppType::Upsell && in_month(start_of(o)))
            .map(|o| o.mrr.unwrap_or(0.0))
            .sum();
        let churned_by = |o: &Opportunity, until: NaiveDate| {
            churn.get(account_of(o)).is_some_and(|ds| {
                ds.iter()
                    .any(|d| *d <= until && start_of(o).is_some_and(|s| s <= *d))
            })
        };
        let churned: f64 = won
            .iter()
            .filter(|o| {
                churn.get(account_of(o)).is_some_and(|ds| {
                    ds.iter()
                        .any(|d| *d >= first && *d <= last && start_of(o).is_some_and(|s| s <= *d))
                })
            })
            .map(|o| o.mrr.unwrap_or(0.0))
            .sum();
        let total: f64 = won
            .iter()
            .filter(|o| start_of(o).is_some_and(|s| s <= last) && !churned_by(o, last))
            .map(|o| o.mrr.unwrap_or(0.0))
            .sum();
        out.push(MrrMonth {
            month: format!("{y}-{m:02}"),
            new: round2(new),
            upsell: round2(upsell),
            churned: round2(churned),
            total: round2(total),
        });
    }
    Ok(out)
}

/// (opportunity, stage, entered, left) for every stay in a stage, from the history.
type Interval = (String, String, NaiveDate, Option<NaiveDate>);

fn stage_intervals(records: &ByRecord, config: &Config) -> Vec<Interval> {
    let mut out = Vec::new();
    let mut keys: Vec<&(Kind, &str)> = records
        .keys()
        .filter(|(k, _)| *k == Kind::Opportunity)
        .collect();
    keys.sort();
    for key in keys {
        let tl = history::timeline(records[key].iter().copied(), "stage");
        for (i, (entered, stage)) in tl.iter().enumerate() {
            if let Some(stage) = stage.as_ref().and_then(Value::as_str) {
                if config.stage(stage).is_some() {
                    out.push((
                        key.1.to_string(),
                        stage.to_string(),
                        *entered,
                        tl.get(i + 1).map(|(d, _)| *d),
                    ));
                }
            }
        }
    }
    out
}

/// For each allowed move `from → to`: how many opportunities entered `from`, and how many of
/// those went next to `to`.
fn conversions(intervals: &[Interval], config: &Config) -> Vec<Conversion> {
    let mut out = Vec::new();
    for s in &config.stages {
        let entered: Vec<usize> = (0..intervals.len())
            .filter(|i| intervals[*i].1 == s.name)
            .collect();
        for to in &s.next {
            let converted = entered
                .iter()
                .filter(|i| {
                    intervals
                        .get(**i + 1)
                        .is_some_and(|n| n.0 == intervals[**i].0 && &n.1 == to)
                })
                .count();
            out.push(Conversion {
                from: s.name.clone(),
                to: to.clone(),
                entered: entered.len(),
                converted,
                rate: ratio(converted, entered.len()),
            });
        }
    }
    out
}

fn monday(d: NaiveDate) -> Result<NaiveDate, DateError> {
    dates::sub_days(d, u64::from(d.weekday().num_days_from_monday()))
}

/// The last 12 weeks (Monday-based): demos held, deals won and lost (by close date).
fn weeks(crm: &Crm, config: &Config, as_of: NaiveDate) -> Result<Vec<Week>, DateError> {
    let this = monday(as_of)?;
    (0..12u64)
        .rev()
        .map(|k| {
            let start = dates::sub_days(this, 7 * k)?;
            let end = dates::add_days(start, 6)?.min(as_of);
            let within = |d: NaiveDate| d >= start && d <= end;
            Ok(Week {
                week: start.to_string(),
                demos: crm
                    .activities
                    .iter()
                    .filter(|a| a.kind == ActivityKind::Demo && within(a.date.date()))
                    .count(),
                won: crm
                    .opportunities
                    .iter()
                    .filter(|o| is_won(config, o) && o.close_date.is_some_and(within))
                    .count(),
                lost: crm
                    .opportunities
                    .iter()
                    .filter(|o| is_lost(config, o) && o.close_date.is_some_and(within))
                    .count(),
            })
        })
        .collect()
}

/// Open pipeline at the end of each of the last 52 weeks (Sundays, the last one as_of),
/// replayed from the events with today's stage probabilities.
fn weekly_pipeline(
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

fn members(crm: &Crm, config: &Config, as_of: NaiveDate, quarter: &str) -> Vec<Member> {
    // Activities by owner, in one pass (a scan per member is team size x 200,000).
    let mut by_owner: HashMap<&str, Vec<&Activity>> = HashMap::default();
    for a in crm.activities.iter().filter(|a| a.date.date() <= as_of) {
        if let Some(owner) = &a.owner {
            by_owner.entry(owner.as_str()).or_default().push(a);
        }
    }
    config
        .team
        .iter()
        .map(|m| {
            let id = m.id.as_str();
            let mine =
                |o: &Option<crate::model::MemberId>| o.as_ref().is_some_and(|x| x.as_str() == id);
            let acts: &[&Activity] = by_owner.get(id).map(Vec::as_slice).unwrap_or_default();
            let opps: Vec<&Opportunity> = crm
                .opportunities
                .iter()
                .filter(|o| mine(&o.owner))
                .collect();
            let won: Vec<&&Opportunity> = opps.iter().filter(|o| is_won(config, o)).collect();
            let lost = opps.iter().filter(|o| is_lost(config, o)).count();
            Member {
                id: id.to_string(),
                name: m.name.clone(),
                role: m.role.map(|r| {
                    serde_json::to_value(r)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                }),
                won_mrr_quarter: round2(
                    won.iter()
                        .filter(|o| {
                            o.close_date
                                .is_some_and(|c| quarter_of(c) == quarter && c <= as_of)
                        })
                        .map(|o| o.mrr.unwrap_or(0.0))
                        .sum(),
                ),
                activities: acts.iter().filter(|a| a.kind != ActivityKind::Task).count(),
                tasks_open: acts.iter().filter(|a| a.is_open_task()).count(),
                tasks_done: acts
                    .iter()
                    .filter(|a| a.kind == ActivityKind::Task && a.done == Some(true))
                    .count(),
                calls: acts.iter().filter(|a| a.kind == ActivityKind::Call).count(),
                call_minutes: acts
                    .iter()
                    .filter(|a| a.kind == ActivityKind::Call)
                    .filter_map(|a| a.duration_min)
                    .sum(),
                demos: acts.iter().filter(|a| a.kind == ActivityKind::Demo).count(),
                leads_addressed: crm
                    .leads
                    .iter()
                    .filter(|l| mine(&l.owner) && l.status != LeadStatus::New)
                    .count(),
                opportunities_created: crm
                    .opportunities
                    .iter()
                    .filter(|o| {
                        if o.sdr.is_some() {
                            mine(&o.sdr)
                        } else {
                            mine(&o.owner)
                        }
                    })
                    .count(),
                won: won.len(),
                lost,
                win_rate: ratio(won.len(), won.len() + lost),
                accounts_in_queue: crm
                    .accounts
                    .iter()
                    .filter(|a| {
                        mine(&a.owner) && matches!(a.status.as_str(), "qualified_pool" | "target")
                    })
                    .count(),
                leads_in_queue: crm
                    .leads
                    .iter()
                    .filter(|l| {
                        mine(&l.owner) && matches!(l.status, LeadStatus::New | LeadStatus::Working)
                    })
                    .count(),
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn analytics(
    crm: &Crm,
    config: &Config,
    records: &ByRecord,
    won: &[&Opportunity],
    churn: &HashMap<&str, Vec<NaiveDate>>,
    mrr_total: f64,
    as_of: NaiveDate,
) -> Result<Analytics, DateError> {
    let created_of = |o: &Opportunity| {
        o.created.or_else(|| {
            records
                .get(&(Kind::Opportunity, o.meta.id.as_str()))
                .and_then(|ev| ev.first())
                .map(|e| e.date.date_naive())
        })
    };
    let sales_cycle = stat(
        won.iter()
            .filter_map(|o| Some((o.close_date? - created_of(o)?).num_days() as f64))
            .collect(),
    );
    let onboarding_delay = stat(
        won.iter()
            .filter_map(|o| Some((o.commit.start_date? - o.close_date?).num_days() as f64))
            .collect(),
    );
    // Touchpoint dates by account, sorted: one pass over the activities, then a binary
    // search per won deal (a scan per deal is quadratic at 200,000 activities).
    let mut touch_dates: HashMap<&str, Vec<NaiveDate>> = HashMap::default();
    for a in crm.activities.iter().filter(|a| a.kind.is_touchpoint()) {
        if let Some(account) = &a.account {
            touch_dates
                .entry(account.as_str())
                .or_default()
                .push(a.date.date());
        }
    }
    for dates in touch_dates.values_mut() {
        dates.sort_unstable();
    }
    let touches: Vec<f64> = won
        .iter()
        .filter_map(|o| {
            let (from, to) = (created_of(o)?, o.close_date?);
            let dates = touch_dates
                .get(account_of(o))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let n = dates
                .partition_point(|d| *d <= to)
                .saturating_sub(dates.partition_point(|d| *d < from));
            Some(n as f64)
        })
        .collect();
    let touchpoints_per_won = mean_median(touches).0;
    let count_by = |keys: Vec<String>| -> Vec<(String, usize)> {
        let mut m: BTreeMap<String, usize> = BTreeMap::new();
        for k in keys {
            *m.entry(k).or_default() += 1;
        }
        let mut v: Vec<(String, usize)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    let onboardings_by_integration = count_by(
        won.iter()
            .filter_map(|o| {
                o.integration
                    .clone()
                    .or_else(|| o.commit.billing_tool.clone())
            })
            .collect(),
    )
    .into_iter()
    .map(|(tool, count)| Named {
        tool: Some(tool),
        channel: None,
        count: Some(count),
        accounts: None,
    })
    .collect();
    let inbound_by_channel = count_by(
        crm.opportunities
            .iter()
            .filter(|o| o.source == "inbound")
            .map(|o| o.channel.clone().unwrap_or_else(|| "(none)".into()))
            .collect(),
    )
    .into_iter()
    .map(|(channel, count)| Named {
        tool: None,
        channel: Some(channel),
        count: Some(count),
        accounts: None,
    })
    .collect();
    let tools = count_by(
        crm.accounts
            .iter()
            .flat_map(|a| a.tools.iter().cloned())
            .collect(),
    )
    .into_iter()
    .map(|(tool, n)| Named {
        tool: Some(tool),
        channel: None,
        count: None,
        accounts: Some(n),
    })
    .collect();
    let zone = |c: Option<&str>| match c {
        Some("FR") => "FR",
        Some("US") => "US",
        _ => "other",
    };
    let geography = ["FR", "US", "other"]
        .iter()
        .map(|z| Zone {
            zone: z.to_string(),
            accounts: crm
                .accounts
                .iter()
                .filter(|a| zone(a.country.as_deref()) == *z)
                .count(),
            customers: crm
                .accounts
                .iter()
                .filter(|a| zone(a.country.as_deref()) == *z && a.status == "customer")
                .count(),
        })
        .collect();
    let customers = crm
        .accounts
        .iter()
        .filter(|a| a.status == "customer")
        .count();
    let arpa = (customers > 0).then(|| round2(mrr_total / customers as f64));
    let year_ago = dates::sub_days(as_of, 365)?;
    let churned_12m: f64 = won
        .iter()
        .filter(|o| {
            churn.get(account_of(o)).is_some_and(|ds| {
                ds.iter()
                    .any(|d| *d > year_ago && *d <= as_of && start_of(o).is_some_and(|s| s <= *d))
            })
        })
        .map(|o| o.mrr.unwrap_or(0.0))
        .sum();
    let monthly_churn_rate = (mrr_total > 0.0).then(|| churned_12m / 12.0 / mrr_total);
    let months = monthly_churn_rate
        .filter(|r| *r > 0.0)
        .map(|r| round2(1.0 / r));
    let value = match (arpa, months) {
        (Some(a), Some(m)) => Some(round2(a * m)),
        _ => None,
    };
    let _ = config;
    Ok(Analytics {
        sales_cycle,
        onboarding_delay,
        touchpoints_per_won,
        onboardings_by_integration,
        ltv: Ltv {
            arpa,
            monthly_churn_rate: monthly_churn_rate.map(|r| (r * 10000.0).round() / 10000.0),
            months,
            value,
        },
        inbound_by_channel,
        tools,
        geography,
    })
}

/// What happened in the seven days ending on as_of.
fn this_week(
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
    use super::*;

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
