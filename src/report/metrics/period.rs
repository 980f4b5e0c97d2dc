//! The periods figures are given for: as_of's quarter, the trailing 90 days, all time, and
//! as_of's month when asked for. A figure *by period* is a `ByPeriod`, serialized as an
//! object keyed by period name, in this order.

use chrono::{Days, NaiveDate};
use serde::{Serialize, Serializer};

use super::{month_of, month_start, quarter_of, quarter_start};

/// The name of a period, as `sloop report --period` and the JSON spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodName {
    Quarter,
    Month,
    Days90,
    All,
}

impl PeriodName {
    pub const ALL: [PeriodName; 4] = [
        PeriodName::Quarter,
        PeriodName::Month,
        PeriodName::Days90,
        PeriodName::All,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PeriodName::Quarter => "quarter",
            PeriodName::Month => "month",
            PeriodName::Days90 => "90d",
            PeriodName::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<PeriodName> {
        PeriodName::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl Serialize for PeriodName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A span of days ending on as_of.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Period {
    pub name: PeriodName,
    /// `2026-Q4`, `2026-11`, `90 days`, `all time`.
    pub label: String,
    /// The first day; `None` for all time.
    pub from: Option<NaiveDate>,
    /// The last day: as_of.
    pub to: NaiveDate,
}

impl Period {
    pub fn of(name: PeriodName, as_of: NaiveDate) -> Period {
        let (label, from) = match name {
            PeriodName::Quarter => (quarter_of(as_of), Some(quarter_start(as_of))),
            PeriodName::Month => (month_of(as_of), Some(month_start(as_of))),
            PeriodName::Days90 => ("90 days".to_string(), as_of.checked_sub_days(Days::new(89))),
            PeriodName::All => ("all time".to_string(), None),
        };
        Period {
            name,
            label,
            from,
            to: as_of,
        }
    }

    /// Whether a day is in the period.
    pub fn contains(&self, d: NaiveDate) -> bool {
        d <= self.to && self.from.is_none_or(|f| d >= f)
    }

    /// Whether a day, if known, is in the period.
    pub fn has(&self, d: Option<NaiveDate>) -> bool {
        d.is_some_and(|d| self.contains(d))
    }
}

/// One value per period, in the order of `periods`.
#[derive(Debug, Clone, PartialEq)]
pub struct ByPeriod<T>(pub Vec<(PeriodName, T)>);

impl<T> ByPeriod<T> {
    pub fn get(&self, name: PeriodName) -> Option<&T> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn map<U>(&self, f: impl Fn(&T) -> U) -> ByPeriod<U> {
        ByPeriod(self.0.iter().map(|(n, v)| (*n, f(v))).collect())
    }
}

impl<T: Serialize> Serialize for ByPeriod<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, v) in &self.0 {
            map.serialize_entry(name.as_str(), v)?;
        }
        map.end()
    }
}

/// The periods of a report: the quarter, 90 days and all time, and `shown` if it is
/// another.
pub fn periods(as_of: NaiveDate, shown: PeriodName) -> ByPeriod<Period> {
    ByPeriod(
        PeriodName::ALL
            .into_iter()
            .filter(|n| *n != PeriodName::Month || shown == PeriodName::Month)
            .map(|n| (n, Period::of(n, as_of)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn each_period_ends_on_as_of() {
        let as_of = d("2026-11-26");
        let q = Period::of(PeriodName::Quarter, as_of);
        assert_eq!(
            (q.label.as_str(), q.from),
            ("2026-Q4", Some(d("2026-10-01")))
        );
        assert!(q.contains(d("2026-10-01")) && q.contains(as_of));
        assert!(!q.contains(d("2026-09-30")) && !q.contains(d("2026-11-27")));
        let n = Period::of(PeriodName::Days90, as_of);
        assert_eq!(n.from, Some(d("2026-08-29")), "90 days, as_of included");
        assert_eq!((as_of - d("2026-08-29")).num_days() + 1, 90);
        let m = Period::of(PeriodName::Month, as_of);
        assert_eq!(
            (m.label.as_str(), m.from),
            ("2026-11", Some(d("2026-11-01")))
        );
        let all = Period::of(PeriodName::All, as_of);
        assert!(all.contains(d("1990-01-01")) && !all.contains(d("2026-11-27")));
        assert!(!all.has(None));
    }

    #[test]
    fn the_month_is_there_only_when_shown() {
        let names = |shown| {
            periods(d("2026-11-26"), shown)
                .0
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(PeriodName::Quarter), ["quarter", "90d", "all"]);
        assert_eq!(names(PeriodName::Month), ["quarter", "month", "90d", "all"]);
        let json = serde_json::to_string(
            &periods(d("2026-11-26"), PeriodName::All).map(|p| p.label.clone()),
        )
        .unwrap();
        assert_eq!(
            json,
            r#"{"quarter":"2026-Q4","90d":"90 days","all":"all time"}"#
        );
    }
}
