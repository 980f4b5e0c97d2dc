//! Date arithmetic that says when it leaves the calendar instead of panicking.
//!
//! Record dates are TOML dates (years 0000 to 9999), `--as-of` and `SLOOP_NOW` are refused
//! outside [`FIRST`]..=[`LAST`], and every number of days sloop adds is bounded (the
//! `[lifecycle]` thresholds by `MAX_DAYS`, the reports by a year): so no computation comes
//! near chrono's limits (years −262,143 to 262,142). The functions here are how sloop
//! computes with dates all the same, and an as-of date outside the range is an error, not a
//! panic, whoever calls the library.

use chrono::{Datelike, Days, Months, NaiveDate};

/// The first day sloop computes with.
pub const FIRST: NaiveDate = match NaiveDate::from_ymd_opt(1, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};
/// The last day sloop computes with (TOML dates have four-digit years).
pub const LAST: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MAX,
};

/// The largest number of days a `[lifecycle]` threshold may hold: a century.
pub const MAX_DAYS: u32 = 36_500;

/// A date computation that left the calendar, or an as-of date outside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("{0} is outside the dates sloop computes with ({FIRST} to {LAST})")]
    OutOfRange(NaiveDate),
    #[error("{date} {step} is outside the calendar")]
    Overflow { date: NaiveDate, step: String },
}

impl DateError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        format!("use a date from {FIRST} to {LAST}")
    }
}

/// `date` if it is a date sloop computes with (an as-of date, a clock reading).
pub fn in_range(date: NaiveDate) -> Result<NaiveDate, DateError> {
    if (FIRST..=LAST).contains(&date) {
        Ok(date)
    } else {
        Err(DateError::OutOfRange(date))
    }
}

fn overflow(date: NaiveDate, step: String) -> DateError {
    DateError::Overflow { date, step }
}

/// `date` + `days`.
pub fn add_days(date: NaiveDate, days: u64) -> Result<NaiveDate, DateError> {
    date.checked_add_days(Days::new(days))
        .ok_or_else(|| overflow(date, format!("+ {days} days")))
}

/// `date` − `days`.
pub fn sub_days(date: NaiveDate, days: u64) -> Result<NaiveDate, DateError> {
    date.checked_sub_days(Days::new(days))
        .ok_or_else(|| overflow(date, format!("− {days} days")))
}

/// `date` + `months` (the day clamped to the month's last, as chrono does).
pub fn add_months(date: NaiveDate, months: u32) -> Result<NaiveDate, DateError> {
    date.checked_add_months(Months::new(months))
        .ok_or_else(|| overflow(date, format!("+ {months} months")))
}

/// `date` − `months`.
pub fn sub_months(date: NaiveDate, months: u32) -> Result<NaiveDate, DateError> {
    date.checked_sub_months(Months::new(months))
        .ok_or_else(|| overflow(date, format!("− {months} months")))
}

/// The first day of `date`'s month.
pub fn first_of_month(date: NaiveDate) -> NaiveDate {
    // Day 1 exists in every month of chrono's calendar.
    date.with_day(1).unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computations_at_the_edges_are_errors() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(add_days(d("2026-11-26"), 5), Ok(d("2026-12-01")));
        assert_eq!(sub_days(d("2026-03-01"), 1), Ok(d("2026-02-28")));
        assert_eq!(
            add_days(NaiveDate::MAX, 1).unwrap_err().to_string(),
            "+262142-12-31 + 1 days is outside the calendar"
        );
        assert!(sub_days(NaiveDate::MIN, 1).is_err());
        assert_eq!(sub_months(d("2026-03-31"), 1), Ok(d("2026-02-28")));
        assert!(add_months(NaiveDate::MAX, 1).is_err());
        assert_eq!(first_of_month(d("2026-03-31")), d("2026-03-01"));
        assert!(add_days(d("2026-01-01"), u64::MAX).is_err());
        assert_eq!(in_range(LAST), Ok(LAST));
        assert_eq!(
            in_range(d("+10000-01-01")).unwrap_err().to_string(),
            "+10000-01-01 is outside the dates sloop computes with (0001-01-01 to 9999-12-31)"
        );
        // The furthest any computation goes from an as-of date stays in chrono's range.
        assert!(add_days(LAST, u64::from(MAX_DAYS) * 2).is_ok());
        assert!(sub_days(FIRST, u64::from(MAX_DAYS) * 2).is_ok());
    }
}
