//! How long deals stay in each stage and where they go next, on one clock: the commits
//! that changed their stage. The sales cycle reads the same clock.

use chrono::NaiveDate;
use serde::Serialize;

use super::{mean_median, round2, stat, Clock, Period, Stat};
use crate::config::Config;
use crate::crm::Crm;

/// One stay of an opportunity in a stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stay {
    pub opportunity: String,
    pub stage: String,
    pub entered: NaiveDate,
    /// The day it moved on, and where to.
    pub left: Option<(NaiveDate, String)>,
    /// Still there on as_of (its file not deleted).
    pub current: bool,
}

/// Every stay of every opportunity of the CRM, from its stage timeline.
pub fn stays(crm: &Crm, clock: &Clock) -> Vec<Stay> {
    let mut out = Vec::new();
    for o in &crm.opportunities {
        let Some(tl) = clock.stages.get(&o.meta.id) else {
            continue;
        };
        for (i, (entered, stage)) in tl.iter().enumerate() {
            let Some(stage) = stage else { continue };
            let next = tl.get(i + 1);
            out.push(Stay {
                opportunity: o.meta.id.clone(),
                stage: stage.clone(),
                entered: *entered,
                left: next.and_then(|(d, s)| s.clone().map(|s| (*d, s))),
                current: next.is_none(),
            });
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Duration {
    pub stage: String,
    /// Stays that ended in the period (the deal moved on).
    pub left: usize,
    pub mean_days: Option<f64>,
    pub median_days: Option<f64>,
    /// Deals in the stage on as_of.
    pub in_progress: usize,
    pub mean_age_days: Option<f64>,
    pub max_age_days: Option<f64>,
}

/// Per open stage: the closed stays of the period, and the stays in progress.
pub fn stage_durations(config: &Config, stays: &[Stay], p: &Period) -> Vec<Duration> {
    config
        .stages
        .iter()
        .filter(|s| s.is_open())
        .map(|s| {
            let mine = || stays.iter().filter(|x| x.stage == s.name);
            let days: Vec<f64> = mine()
                .filter_map(|x| {
                    let (left, _) = x.left.as_ref().filter(|(d, _)| p.contains(*d))?;
                    Some((*left - x.entered).num_days() as f64)
                })
                .collect();
            let ages: Vec<f64> = mine()
                .filter(|x| x.current && x.entered <= p.to)
                .map(|x| (p.to - x.entered).num_days() as f64)
                .collect();
            let left = days.len();
            let (mean_days, median_days) = mean_median(days);
            Duration {
                stage: s.name.clone(),
                left,
                mean_days,
                median_days,
                in_progress: ages.len(),
                mean_age_days: mean_median(ages.clone()).0,
                max_age_days: ages.into_iter().reduce(f64::max).map(round2),
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conversion {
    pub stage: String,
    /// Stays that ended in the period.
    pub left: usize,
    pub in_progress: usize,
    pub exits: Vec<Exit>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exit {
    pub to: String,
    pub count: usize,
    /// count / left; the rates of a stage add up to exactly 1.
    pub rate: Option<f64>,
}

/// Per open stage: where the deals that left it in the period went (the stage's `next` list
/// in order, then any other stage), and how many are still in it.
pub fn conversion(config: &Config, stays: &[Stay], p: &Period) -> Vec<Conversion> {
    config
        .stages
        .iter()
        .filter(|s| s.is_open())
        .map(|s| {
            let mine = || stays.iter().filter(|x| x.stage == s.name);
            let mut tos: Vec<String> = s.next.clone();
            let mut counts = vec![0usize; tos.len()];
            let mut left = 0;
            for (_, to) in mine().filter_map(|x| x.left.as_ref().filter(|(d, _)| p.contains(*d))) {
                left += 1;
                match tos.iter().position(|t| t == to) {
                    Some(i) => counts[i] += 1,
                    None => {
                        tos.push(to.clone());
                        counts.push(1);
                    }
                }
            }
            let rates = shares(&counts);
            Conversion {
                stage: s.name.clone(),
                left,
                in_progress: mine().filter(|x| x.current && x.entered <= p.to).count(),
                exits: tos
                    .into_iter()
                    .zip(counts)
                    .zip(rates)
                    .map(|((to, count), rate)| Exit { to, count, rate })
                    .collect(),
            }
        })
        .collect()
}

/// Each count's share of their sum to 4 decimals, rounded so that the shares add up to
/// exactly 1 (largest remainder: the ten-thousandths left over go to the largest
/// fractions, the first one on a tie). `None` each when the sum is 0.
pub fn shares(counts: &[usize]) -> Vec<Option<f64>> {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return vec![None; counts.len()];
    }
    const UNITS: usize = 10_000;
    let mut units: Vec<usize> = counts.iter().map(|c| c * UNITS / total).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    // By the remainder each floor dropped, largest first (stable: the first wins a tie).
    order.sort_by_key(|i| std::cmp::Reverse(counts[*i] * UNITS % total));
    let missing = UNITS - units.iter().sum::<usize>();
    for i in order.into_iter().take(missing) {
        units[i] += 1;
    }
    units
        .into_iter()
        .map(|u| Some(u as f64 / UNITS as f64))
        .collect()
}

/// Deals won in the period: days from the commit that added them to the commit that moved
/// them to won (falling back on `created` and `close_date` where the history does not say).
pub fn sales_cycle(crm: &Crm, clock: &Clock, p: &Period) -> Stat {
    stat(
        crm.opportunities
            .iter()
            .filter(|o| p.has(clock.won_on(crm, o)))
            .filter_map(|o| {
                let from = clock.opened_on(o)?;
                let to = clock.stage_since(o).or(o.close_date)?;
                Some((to - from).num_days() as f64)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{account, crm, d, opp};
    use super::super::PeriodName;
    use super::*;

    fn stay(o: &str, stage: &str, entered: &str, left: Option<(&str, &str)>) -> Stay {
        Stay {
            opportunity: o.into(),
            stage: stage.into(),
            entered: d(entered),
            left: left.map(|(d_, to)| (d(d_), to.to_string())),
            current: left.is_none(),
        }
    }

    fn q4() -> Period {
        Period::of(PeriodName::Quarter, d("2026-11-26"))
    }

    fn config() -> Config {
        Config::default()
    }

    fn trial() -> Vec<Stay> {
        vec![
            stay("a", "trial", "2026-10-01", Some(("2026-10-11", "won"))),
            stay("b", "trial", "2026-10-05", Some(("2026-10-25", "closing"))),
            stay("c", "trial", "2026-10-10", Some(("2026-11-10", "lost"))),
            // left before the period: not this quarter's
            stay("d", "trial", "2026-08-01", Some(("2026-09-01", "won"))),
            // still in trial: 76 days on as_of
            stay("e", "trial", "2026-09-11", None),
        ]
    }

    #[test]
    fn durations_report_closed_stays_and_stays_in_progress() {
        let ds = stage_durations(&config(), &trial(), &q4());
        let t = ds.iter().find(|x| x.stage == "trial").unwrap();
        assert_eq!(
            *t,
            Duration {
                stage: "trial".into(),
                left: 3,
                mean_days: Some(20.33),
                median_days: Some(20.0),
                in_progress: 1,
                mean_age_days: Some(76.0),
                max_age_days: Some(76.0),
            }
        );
        assert!(ds.iter().all(|x| x.stage != "won"), "open stages only");
    }

    #[test]
    fn exit_rates_count_only_deals_that_left_and_add_up_to_one() {
        let cs = conversion(&config(), &trial(), &q4());
        let t = cs.iter().find(|x| x.stage == "trial").unwrap();
        assert_eq!((t.left, t.in_progress), (3, 1));
        let exits: Vec<(&str, usize, Option<f64>)> = t
            .exits
            .iter()
            .map(|e| (e.to.as_str(), e.count, e.rate))
            .collect();
        assert_eq!(
            exits,
            vec![
                ("won", 1, Some(0.3334)),
                ("closing", 1, Some(0.3333)),
                ("lost", 1, Some(0.3333)),
            ]
        );
        let sum: f64 = t.exits.iter().filter_map(|e| e.rate).sum();
        assert!((sum - 1.0).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn a_move_outside_the_next_list_is_an_exit_of_its_own() {
        let stays = vec![
            stay(
                "a",
                "identified",
                "2026-10-01",
                Some(("2026-10-02", "qualified")),
            ),
            stay(
                "b",
                "identified",
                "2026-10-01",
                Some(("2026-10-03", "trial")),
            ),
        ];
        let cs = conversion(&config(), &stays, &q4());
        let exits: Vec<(&str, usize)> = cs[0]
            .exits
            .iter()
            .map(|e| (e.to.as_str(), e.count))
            .collect();
        assert_eq!(exits, vec![("qualified", 1), ("lost", 0), ("trial", 1)]);
    }

    #[test]
    fn shares_add_up_to_one() {
        for counts in [
            vec![1, 1, 1],
            vec![2, 1],
            vec![7, 0, 3, 3],
            vec![1, 1, 1, 1, 1, 1, 1],
        ] {
            let s: f64 = shares(&counts).into_iter().flatten().sum();
            assert!((s - 1.0).abs() < 1e-9, "{counts:?}: {s}");
        }
        assert_eq!(shares(&[0, 0]), vec![None, None]);
        assert_eq!(shares(&[1, 2]), vec![Some(0.3333), Some(0.6667)]);
    }

    #[test]
    fn the_sales_cycle_runs_on_the_commit_clock() {
        let (ap, at) = account("acme", "customer");
        let crm = crm(&[
            (ap.as_str(), at),
            (
                "opportunities/w.toml",
                opp("won", "created = 2026-09-01\nclose_date = 2026-10-05\n"),
            ),
        ]);
        let mut clock = Clock::default();
        clock.added.insert("w".into(), d("2026-09-10"));
        clock.stages.insert(
            "w".into(),
            vec![
                (d("2026-09-10"), Some("identified".into())),
                (d("2026-10-10"), Some("won".into())),
            ],
        );
        let s = sales_cycle(&crm, &clock, &q4());
        assert_eq!(
            (s.n, s.mean_days),
            (1, Some(30.0)),
            "09-10 to 10-10, by the commits"
        );
        let s = stays(&crm, &clock);
        assert_eq!(
            s[0],
            stay("w", "identified", "2026-09-10", Some(("2026-10-10", "won")))
        );
        assert!(s[1].current);
    }
}
