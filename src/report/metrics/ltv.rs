//! Lifetime value, from the MRR timeline: the monthly churn rate weighs each month's churned
//! MRR on that month's opening MRR, over a stated window of whole months.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate};
use serde::Serialize;

use super::timeline::{live_on, Contract};
use super::{month_end, months_back, round2, round4};

/// The months the churn rate is computed over.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub months: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ltv {
    pub window: Window,
    /// Live MRR per account with live MRR.
    pub arpa: Option<f64>,
    /// Σ churned MRR / Σ opening MRR over the months of the window with an opening MRR.
    pub monthly_churn_rate: Option<f64>,
    /// Expected lifetime in months: 1 / monthly churn rate.
    pub months: Option<f64>,
    /// arpa × months.
    pub value: Option<f64>,
}

/// The LTV of one group of deals (an owner, a source).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LtvGroup {
    pub group: String,
    pub mrr: f64,
    pub accounts: usize,
    pub arpa: Option<f64>,
    pub monthly_churn_rate: Option<f64>,
    pub months: Option<f64>,
    pub value: Option<f64>,
}

/// The 12 whole months before as_of's month.
pub fn window(as_of: NaiveDate) -> Window {
    Window {
        from: months_back(as_of, 12),
        to: months_back(as_of, 0)
            .checked_sub_days(Days::new(1))
            .unwrap_or(NaiveDate::MIN),
        months: 12,
    }
}

/// (live MRR on as_of, accounts with live MRR, churned MRR / opening MRR over the window).
fn figures(contracts: &[&Contract], as_of: NaiveDate) -> (f64, usize, Option<f64>) {
    let owned: Vec<Contract> = contracts.iter().map(|c| (*c).clone()).collect();
    let live = live_on(&owned, as_of);
    let accounts: BTreeSet<&str> = owned
        .iter()
        .filter(|c| c.live_on(as_of))
        .map(|c| c.account)
        .collect();
    let (mut churned, mut opening) = (0.0, 0.0);
    for k in (1..=12).rev() {
        let first = months_back(as_of, k);
        let last = month_end(first);
        let open = live_on(
            &owned,
            first.checked_sub_days(Days::new(1)).unwrap_or(first),
        );
        if open > 0.0 {
            opening += open;
            churned += owned
                .iter()
                .filter(|c| c.ends_within(first, last))
                .map(|c| c.mrr)
                .sum::<f64>();
        }
    }
    (
        live,
        accounts.len(),
        (opening > 0.0).then(|| churned / opening),
    )
}

fn values(
    live: f64,
    accounts: usize,
    rate: Option<f64>,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    let arpa = (accounts > 0).then(|| live / accounts as f64);
    let months = rate.filter(|r| *r > 0.0).map(|r| 1.0 / r);
    let value = arpa.zip(months).map(|(a, m)| round2(a * m));
    (arpa.map(round2), months.map(round2), value)
}

/// The LTV of every won deal.
pub fn ltv(contracts: &[Contract], as_of: NaiveDate) -> Ltv {
    let all: Vec<&Contract> = contracts.iter().collect();
    let (live, accounts, rate) = figures(&all, as_of);
    let (arpa, months, value) = values(live, accounts, rate);
    Ltv {
        window: window(as_of),
        arpa,
        monthly_churn_rate: rate.map(round4),
        months,
        value,
    }
}

/// The LTV per group of deals (by owner, by source), over the same window.
pub fn by_group<'a>(
    contracts: &[Contract<'a>],
    as_of: NaiveDate,
    key: impl Fn(&Contract<'a>) -> &'a str,
) -> Vec<LtvGroup> {
    let mut groups: BTreeMap<&str, Vec<&Contract>> = BTreeMap::new();
    for c in contracts {
        groups.entry(key(c)).or_default().push(c);
    }
    groups
        .into_iter()
        .map(|(g, cs)| {
            let (live, accounts, rate) = figures(&cs, as_of);
            let (arpa, months, value) = values(live, accounts, rate);
            LtvGroup {
                group: g.to_string(),
                mrr: round2(live),
                accounts,
                arpa,
                monthly_churn_rate: rate.map(round4),
                months,
                value,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::d;
    use super::*;

    fn c<'a>(
        id: &'a str,
        owner: &'a str,
        mrr: f64,
        start: &str,
        end: Option<&str>,
    ) -> Contract<'a> {
        Contract {
            id,
            account: id,
            owner,
            group: "inbound",
            upsell: false,
            mrr,
            start: d(start),
            end: end.map(d),
        }
    }

    #[test]
    fn the_window_is_the_twelve_whole_months_before_as_of() {
        assert_eq!(
            window(d("2026-11-26")),
            Window {
                from: d("2025-11-01"),
                to: d("2026-10-31"),
                months: 12
            }
        );
    }

    #[test]
    fn churn_is_weighed_on_each_months_opening_mrr() {
        // A growing book: 100 live all year, 900 more from October; 100 churned in
        // November 2025 out of an opening of 200. On today's MRR that churn would be
        // 100 / 12 / 1000 = 0.83 %; on the opening MRR of each month it is 100 / Σ opening.
        let cs = vec![
            c("a", "al", 100.0, "2025-01-10", None),
            c("b", "bo", 100.0, "2025-02-01", Some("2025-11-20")),
            c("big", "bo", 900.0, "2026-10-10", None),
        ];
        let l = ltv(&cs, d("2026-11-26"));
        // openings: Nov 2025 200, then 100 each month from Dec to Oct (11 × 100): 1300
        assert_eq!(l.monthly_churn_rate, Some(0.0769));
        assert_eq!(l.arpa, Some(500.0), "1000 over two accounts");
        assert_eq!(l.months, Some(13.0));
        assert_eq!(l.value, Some(6500.0));
        let owners = by_group(&cs, d("2026-11-26"), |c| c.owner);
        let bo = owners.iter().find(|g| g.group == "bo").unwrap();
        // bo: opening 100 in Nov 2025 (b), churned 100; then nothing opens until big
        assert_eq!(
            (bo.mrr, bo.accounts, bo.monthly_churn_rate),
            (900.0, 1, Some(1.0))
        );
        assert_eq!((bo.months, bo.value), (Some(1.0), Some(900.0)));
        let al = owners.iter().find(|g| g.group == "al").unwrap();
        assert_eq!(
            (al.monthly_churn_rate, al.months, al.value),
            (Some(0.0), None, None)
        );
    }

    #[test]
    fn without_churn_or_mrr_there_is_no_lifetime() {
        let l = ltv(&[], d("2026-11-26"));
        assert_eq!(
            (l.arpa, l.monthly_churn_rate, l.months, l.value),
            (None, None, None, None)
        );
    }
}
