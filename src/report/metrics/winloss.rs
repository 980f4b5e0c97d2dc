//! Won and lost deals of a period: the win rate, the lost reasons, per source and industry,
//! and what the won deals say (touchpoints, integrations, inbound channels).

use rustc_hash::FxHashMap as HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{account_of, count_by, mean_median, ratio, source_group, Clock, Named, Period};
use crate::config::Config;
use crate::crm::Crm;
use crate::model::Opportunity;

/// Every opportunity with the dates the figures of a period read.
pub struct Deals<'a> {
    pub list: Vec<Deal<'a>>,
    /// Touchpoint days per account, sorted.
    touches: HashMap<&'a str, Vec<NaiveDate>>,
}

pub struct Deal<'a> {
    pub o: &'a Opportunity,
    /// Its account's industry, `(none)` when the account has none (or is not in the CRM).
    pub industry: &'a str,
    pub opened_on: Option<NaiveDate>,
    pub won_on: Option<NaiveDate>,
    pub lost_on: Option<NaiveDate>,
}

impl<'a> Deals<'a> {
    pub fn new(crm: &'a Crm, clock: &Clock) -> Deals<'a> {
        // Looked up once here, not once per period.
        let industry_of: HashMap<&str, &str> = crm
            .accounts
            .iter()
            .filter_map(|a| a.industry.as_deref().map(|i| (a.meta.id.as_str(), i)))
            .collect();
        let list = crm
            .opportunities
            .iter()
            .map(|o| Deal {
                o,
                industry: industry_of.get(account_of(o)).copied().unwrap_or("(none)"),
                opened_on: clock.opened_on(o),
                won_on: clock.won_on(crm, o),
                lost_on: clock.lost_on(crm, o),
            })
            .collect();
        // One pass over the activities, then a binary search per won deal (a scan per deal
        // is quadratic at 200,000 activities).
        let mut touches: HashMap<&str, Vec<NaiveDate>> = HashMap::default();
        for a in crm.activities.iter().filter(|a| a.is_touchpoint()) {
            if let Some(account) = &a.account {
                touches
                    .entry(account.as_str())
                    .or_default()
                    .push(a.date.date());
            }
        }
        for dates in touches.values_mut() {
            dates.sort_unstable();
        }
        Deals { list, touches }
    }

    fn won_in<'p>(&'p self, p: &'p Period) -> impl Iterator<Item = &'p Deal<'a>> + 'p {
        self.list.iter().filter(move |d| p.has(d.won_on))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WinLoss {
    pub won: usize,
    pub lost: usize,
    pub win_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReasonCount {
    pub reason: String,
    pub count: usize,
}

/// Opportunities opened, won and lost in a period, and the win rate, of a group (a source,
/// an industry).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    pub opened: usize,
    pub won: usize,
    pub lost: usize,
    pub win_rate: Option<f64>,
}

fn counts<'d>(deals: impl Iterator<Item = &'d Deal<'d>>, p: &Period) -> (usize, usize, usize) {
    deals.fold((0, 0, 0), |(o, w, l), d| {
        (
            o + usize::from(p.has(d.opened_on)),
            w + usize::from(p.has(d.won_on)),
            l + usize::from(p.has(d.lost_on)),
        )
    })
}

/// Deals won and lost in the period, and won / (won + lost).
pub fn win_loss(deals: &Deals, p: &Period) -> WinLoss {
    let (_, won, lost) = counts(deals.list.iter(), p);
    WinLoss {
        won,
        lost,
        win_rate: ratio(won, won + lost),
    }
}

/// Deals lost in the period per `lost_reason` (`(none)` without one), most first.
pub fn lost_reasons(deals: &Deals, p: &Period) -> Vec<ReasonCount> {
    count_by(
        deals
            .list
            .iter()
            .filter(|d| p.has(d.lost_on))
            .map(|d| d.o.lost_reason.clone().unwrap_or_else(|| "(none)".into())),
    )
    .into_iter()
    .map(|(reason, count)| ReasonCount { reason, count })
    .collect()
}

/// New deals per source (the configured ones first, then others in order of appearance;
/// a source without a deal in the period is left out), then every upsell as `(upsells)`.
pub fn by_source(deals: &Deals, config: &Config, p: &Period) -> Vec<Rate> {
    let mut groups: Vec<String> = config.values.sources.clone();
    for d in &deals.list {
        let g = source_group(d.o);
        if g != "(upsells)" && !groups.iter().any(|s| s == g) {
            groups.push(g.to_string());
        }
    }
    groups.push("(upsells)".into());
    groups
        .into_iter()
        .filter_map(|g| {
            let (opened, won, lost) =
                counts(deals.list.iter().filter(|d| source_group(d.o) == g), p);
            (opened + won + lost > 0).then(|| Rate {
                source: Some(g),
                industry: None,
                opened,
                won,
                lost,
                win_rate: ratio(won, won + lost),
            })
        })
        .collect()
}

/// The same per account industry (`(none)` without one), sorted by industry.
pub fn by_industry(deals: &Deals, p: &Period) -> Vec<Rate> {
    let mut groups: std::collections::BTreeMap<&str, Vec<&Deal>> = Default::default();
    for d in &deals.list {
        groups.entry(d.industry).or_default().push(d);
    }
    groups
        .into_iter()
        .filter_map(|(i, ds)| {
            let (opened, won, lost) = counts(ds.into_iter(), p);
            (opened + won + lost > 0).then(|| Rate {
                source: None,
                industry: Some(i.to_string()),
                opened,
                won,
                lost,
                win_rate: ratio(won, won + lost),
            })
        })
        .collect()
}

/// Deals won in the period: the mean number of touchpoints on their account from opened on
/// to won on.
pub fn touchpoints_per_won(deals: &Deals, p: &Period) -> Option<f64> {
    let n: Vec<f64> = deals
        .won_in(p)
        .filter_map(|d| {
            let (from, to) = (d.opened_on?, d.won_on?);
            let dates = deals
                .touches
                .get(account_of(d.o))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let n = dates
                .partition_point(|x| *x <= to)
                .saturating_sub(dates.partition_point(|x| *x < from));
            Some(n as f64)
        })
        .collect();
    mean_median(n).0
}

/// Deals won in the period per `integration` (else `commit.billing_tool`), most first.
pub fn onboardings_by_integration(deals: &Deals, p: &Period) -> Vec<Named> {
    count_by(deals.won_in(p).filter_map(|d| {
        d.o.integration
            .clone()
            .or_else(|| d.o.commit.billing_tool.clone())
    }))
    .into_iter()
    .map(|(tool, count)| Named {
        tool: Some(tool),
        channel: None,
        count: Some(count),
        accounts: None,
    })
    .collect()
}

/// Inbound opportunities opened in the period per `channel` (`(none)` without one).
pub fn inbound_by_channel(deals: &Deals, p: &Period) -> Vec<Named> {
    count_by(
        deals
            .list
            .iter()
            .filter(|d| d.o.source == "inbound" && p.has(d.opened_on))
            .map(|d| d.o.channel.clone().unwrap_or_else(|| "(none)".into())),
    )
    .into_iter()
    .map(|(channel, count)| Named {
        tool: None,
        channel: Some(channel),
        count: Some(count),
        accounts: None,
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{account, crm, d, opp};
    use super::super::{Clock, PeriodName};
    use super::*;

    /// Deals won or lost before and within 2026-Q4, with their days in `clock`.
    fn setup() -> (Crm, Clock) {
        let (ap, at) = account("acme", "customer");
        let closed = |stage: &str, close: &str, extra: &str| {
            opp(
                stage,
                &format!("close_date = {close}\nlost_reason = \"price\"\n{extra}"),
            )
        };
        let crm = crm(&[
            (ap.as_str(), at),
            // won in Q3 on paper, recorded in Q4: a Q4 win
            ("opportunities/late.toml", closed("won", "2026-09-28", "")),
            (
                "opportunities/q4.toml",
                closed("won", "2026-10-15", "source = \"referral\"\n"),
            ),
            ("opportunities/q3.toml", closed("won", "2026-08-01", "")),
            ("opportunities/lost.toml", closed("lost", "2026-11-02", "")),
            (
                "opportunities/more.toml",
                closed(
                    "won",
                    "2026-11-05",
                    "type = \"upsell\"\nsource = \"upsell\"\n",
                ),
            ),
            (
                "opportunities/open.toml",
                opp("trial", "channel = \"webinar\"\n"),
            ),
        ]);
        let mut clock = Clock::default();
        let stage = |s: &str, on: &str| vec![(d(on), Some(s.to_string()))];
        clock
            .stages
            .insert("late".into(), stage("won", "2026-10-02"));
        clock.stages.insert("q4".into(), stage("won", "2026-10-15"));
        clock.stages.insert("q3".into(), stage("won", "2026-08-01"));
        clock
            .stages
            .insert("lost".into(), stage("lost", "2026-11-02"));
        clock
            .stages
            .insert("more".into(), stage("won", "2026-11-05"));
        clock.added.insert("open".into(), d("2026-11-20"));
        clock.added.insert("q4".into(), d("2026-10-01"));
        (crm, clock)
    }

    fn q4() -> Period {
        Period::of(PeriodName::Quarter, d("2026-11-26"))
    }

    #[test]
    fn the_win_rate_of_a_period_counts_the_deals_closed_in_it() {
        let (crm, clock) = setup();
        let deals = Deals::new(&crm, &clock);
        assert_eq!(
            win_loss(&deals, &q4()),
            WinLoss {
                won: 3,
                lost: 1,
                win_rate: Some(0.75)
            }
        );
        let all = Period::of(PeriodName::All, d("2026-11-26"));
        assert_eq!(win_loss(&deals, &all).won, 4);
        assert_eq!(
            lost_reasons(&deals, &q4()),
            vec![ReasonCount {
                reason: "price".into(),
                count: 1
            }]
        );
    }

    #[test]
    fn by_source_is_new_business_and_upsells_are_one_row() {
        let (crm, clock) = setup();
        let deals = Deals::new(&crm, &clock);
        let rows: Vec<(String, usize, usize, usize, Option<f64>)> =
            by_source(&deals, &crm.config, &q4())
                .into_iter()
                .map(|r| (r.source.unwrap(), r.opened, r.won, r.lost, r.win_rate))
                .collect();
        assert_eq!(
            rows,
            vec![
                ("inbound".into(), 1, 1, 1, Some(0.5)),
                ("referral".into(), 1, 1, 0, Some(1.0)),
                ("(upsells)".into(), 0, 1, 0, Some(1.0)),
            ]
        );
        let industries = by_industry(&deals, &q4());
        assert_eq!(industries.len(), 1);
        // acme has no industry.
        assert_eq!(industries[0].industry.as_deref(), Some("(none)"));
        assert_eq!((industries[0].won, industries[0].lost), (3, 1));
    }

    #[test]
    fn inbound_deals_are_counted_by_channel_when_opened() {
        let (crm, clock) = setup();
        let deals = Deals::new(&crm, &clock);
        let rows: Vec<(Option<String>, Option<usize>)> = inbound_by_channel(&deals, &q4())
            .into_iter()
            .map(|n| (n.channel, n.count))
            .collect();
        assert_eq!(rows, vec![(Some("webinar".into()), Some(1))]);
    }

    #[test]
    fn touchpoints_are_counted_from_opened_to_won() {
        let (ap, at) = account("acme", "customer");
        let call = |date: &str| {
            format!("kind = \"call\"\ndate = {date}\naccount = \"acme\"\nowner = \"al\"\n")
        };
        let crm = crm(&[
            (ap.as_str(), at),
            (
                "opportunities/w.toml",
                opp("won", "close_date = 2026-10-20\n"),
            ),
            ("activities/2026/09/a.toml", call("2026-09-30")),
            ("activities/2026/10/b.toml", call("2026-10-01")),
            ("activities/2026/10/c.toml", call("2026-10-20")),
            ("activities/2026/10/e.toml", call("2026-10-21")),
        ]);
        let mut clock = Clock::default();
        clock.added.insert("w".into(), d("2026-10-01"));
        let deals = Deals::new(&crm, &clock);
        assert_eq!(touchpoints_per_won(&deals, &q4()), Some(2.0));
    }
}
