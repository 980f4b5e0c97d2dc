//! Typing the cells of an export: numbers and money as people and spreadsheets write them
//! (`14400`, `2399.5`, `480 000,50`, `2.350.000,00`, `€1,200`, `CHF 500`), dates in the
//! formats vendors and locales use, countries by name in several languages, websites as
//! domains, and team members by id, email or name. Pure.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use crate::config::{Config, Member};
use crate::model::countries;
use crate::model::ids;

/// Lowercase, accents folded, inner white space made one space: how names are compared
/// (`"Zürcher  Treuhand"` and `"zurcher treuhand"` are the same company).
pub fn fold(s: &str) -> String {
    let slug = ids::slugify(s);
    if slug.is_empty() {
        return s.trim().to_lowercase();
    }
    slug.replace('-', " ")
}

/// A number as written in a cell, or `None`. `decimal_comma` says how to read an ambiguous
/// single separator followed by three digits: `1.500` is 1500 in a `;`-separated European
/// file and 1.5 elsewhere, `1,500` the other way round. Currency symbols and codes, spaces
/// (also no-break ones), `~`, a leading `'` (Excel's text marker) and `'` as a thousands
/// separator are ignored.
pub fn number(raw: &str, decimal_comma: bool) -> Option<f64> {
    money(raw, decimal_comma).map(|m| m.amount)
}

/// An amount and the currency written with it (`EUR` for `€`, `USD` for `$`, `GBP` for `£`,
/// or a three-letter code).
#[derive(Debug, Clone, PartialEq)]
pub struct Money {
    pub amount: f64,
    pub currency: Option<String>,
}

pub fn money(raw: &str, decimal_comma: bool) -> Option<Money> {
    let mut s = raw
        .trim()
        .trim_start_matches(['\'', '~', '≈'])
        .trim()
        .to_string();
    let mut currency = None;
    for (sym, code) in [("€", "EUR"), ("$", "USD"), ("£", "GBP"), ("¥", "JPY")] {
        if s.contains(sym) {
            s = s.replace(sym, "");
            currency = Some(code.to_string());
        }
    }
    // A three-letter code before or after the number.
    let letters: String = s.chars().filter(|c| c.is_alphabetic()).collect();
    if !letters.is_empty() {
        if letters.len() == 3 && letters.chars().all(|c| c.is_ascii_uppercase()) {
            s = s.replace(&letters, "");
            currency = Some(letters);
        } else {
            return None;
        }
    }
    let s: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{202f}' && *c != '\'')
        .collect();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => match s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
            Some(rest) => (true, rest.to_string()),
            None => (false, s.trim_start_matches('+').to_string()),
        },
    };
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return None;
    }
    if !s.starts_with(|c: char| c.is_ascii_digit()) && !s.starts_with(['.', ',']) {
        return None;
    }
    let commas = s.matches(',').count();
    let dots = s.matches('.').count();
    let decimal = match (commas, dots) {
        (0, 0) => None,
        (_, 0) if commas > 1 => Some(None),
        (1, 0) => Some(if three_after(&s, ',') && !decimal_comma {
            None
        } else {
            Some(',')
        }),
        (0, _) if dots > 1 => Some(None),
        (0, 1) => Some(if three_after(&s, '.') && decimal_comma {
            None
        } else {
            Some('.')
        }),
        _ => {
            // Both: the last one is the decimal separator, and appears once.
            let last = if s.rfind(',') > s.rfind('.') {
                ','
            } else {
                '.'
            };
            if s.matches(last).count() > 1 {
                return None;
            }
            Some(Some(last))
        }
    };
    let normalised: String = match decimal {
        None => s,
        Some(None) => s.replace([',', '.'], ""),
        Some(Some(d)) => s
            .chars()
            .filter(|c| *c != if d == ',' { '.' } else { ',' })
            .map(|c| if c == d { '.' } else { c })
            .collect(),
    };
    let amount: f64 = normalised.parse().ok()?;
    if !amount.is_finite() {
        return None;
    }
    Some(Money {
        amount: if negative { -amount } else { amount },
        currency,
    })
}

fn three_after(s: &str, sep: char) -> bool {
    s.rsplit(sep)
        .next()
        .is_some_and(|tail| tail.len() == 3 && tail.chars().all(|c| c.is_ascii_digit()))
}

/// A whole number ≥ 0 (`~120`, `1 200`, `1.200` in a European file), or `None` (`20-25`).
pub fn count(raw: &str, decimal_comma: bool) -> Option<u64> {
    let n = number(raw, decimal_comma)?;
    (n >= 0.0 && n.fract() == 0.0 && n < 1e15).then_some(n as u64)
}

/// Which of day and month comes first in a slashed date (`05/04/2024`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayOrder {
    DayFirst,
    MonthFirst,
}

/// A point in time as an export gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stamp {
    /// A day without a time.
    Date(NaiveDate),
    /// A wall-clock time without a zone (the exporting user's).
    Local(NaiveDateTime),
    /// A time in UTC (`2024-01-15T09:02:16.000Z`, or with an offset).
    Utc(DateTime<Utc>),
}

impl Stamp {
    /// The wall-clock time at `offset_secs` east of UTC (midday for a bare date, so that a
    /// day keeps its date in every zone).
    pub fn local(self, offset_secs: i32) -> NaiveDateTime {
        match self {
            Stamp::Date(d) => d.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default()),
            Stamp::Local(t) => t,
            Stamp::Utc(t) => t.naive_utc() + Duration::seconds(i64::from(offset_secs)),
        }
    }

    pub fn date(self, offset_secs: i32) -> NaiveDate {
        self.local(offset_secs).date()
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Reads a date or date-time: `2024-03-28`, `2024-03-28 17:22[:40]`,
/// `2024-03-28T16:22:40.000Z` (or `+01:00`), `28/03/2024` and `3/28/2024` (by `order` when
/// both parts are 12 or less), `28.03.2024`, `2024/03/28`, `14 Jan 2024`, each slashed or
/// dotted form with an optional `h:mm[:ss][ AM|PM]`, and Excel's serial day numbers
/// (`45631`, `45631.0`) that leak into exports.
pub fn stamp(raw: &str, order: DayOrder) -> Option<Stamp> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(Stamp::Utc(t.with_timezone(&Utc)));
    }
    if let Some(z) = s.strip_suffix('Z') {
        for f in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
        ] {
            if let Ok(t) = NaiveDateTime::parse_from_str(z, f) {
                return Some(Stamp::Utc(t.and_utc()));
            }
        }
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(Stamp::Local(t));
        }
    }
    for f in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Some(Stamp::Date(d));
        }
    }
    // Excel serial days (1900 system): 1 is 1900-01-01, with Excel's phantom 1900-02-29.
    if let Some(days) = s
        .strip_suffix(".0")
        .unwrap_or(s)
        .parse::<u32>()
        .ok()
        .filter(|d| (20_000..80_000).contains(d))
    {
        let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?;
        return Some(Stamp::Date(epoch + Duration::days(i64::from(days))));
    }
    // `14 Jan 2024`, `14 January 2024`.
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.len() == 3 && words[1].starts_with(char::is_alphabetic) {
        let month = MONTHS
            .iter()
            .position(|m| words[1].to_lowercase().starts_with(m))?;
        let day: u32 = words[0].parse().ok()?;
        let year: i32 = words[2].parse().ok()?;
        return NaiveDate::from_ymd_opt(year, month as u32 + 1, day).map(Stamp::Date);
    }
    // Slashed, dotted or dashed day-month-year, with an optional time.
    let (date_part, time_part) = match s.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (s, None),
    };
    let parts: Vec<&str> = date_part.split(['/', '.', '-']).collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty() || p.len() > 4) {
        return None;
    }
    let nums: Vec<u32> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let year = if parts[2].len() == 4 {
        nums[2] as i32
    } else if parts[2].len() == 2 {
        2000 + nums[2] as i32
    } else {
        return None;
    };
    // Dotted dates are day-first everywhere; a part above 12 is the day.
    let (day, month) = if date_part.contains('.') || nums[0] > 12 {
        (nums[0], nums[1])
    } else if nums[1] > 12 {
        (nums[1], nums[0])
    } else {
        match order {
            DayOrder::DayFirst => (nums[0], nums[1]),
            DayOrder::MonthFirst => (nums[1], nums[0]),
        }
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let Some(time) = time_part else {
        return Some(Stamp::Date(date));
    };
    let upper = time.to_uppercase();
    let (clock, pm) = match (upper.strip_suffix("PM"), upper.strip_suffix("AM")) {
        (Some(c), _) => (c.trim().to_string(), Some(true)),
        (_, Some(c)) => (c.trim().to_string(), Some(false)),
        _ => (upper.clone(), None),
    };
    let t = NaiveTime::parse_from_str(&clock, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(&clock, "%H:%M"))
        .ok()?;
    let t = match pm {
        Some(pm) => {
            use chrono::Timelike;
            let h = t.hour() % 12 + if pm { 12 } else { 0 };
            t.with_hour(h)?
        }
        None => t,
    };
    Some(Stamp::Local(date.and_time(t)))
}

/// The day order of a column: the first value whose first part is above 12 says day
/// first, whose second part is above 12 says month first; `None` when every value is
/// ambiguous (or not slashed).
pub fn day_order<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<DayOrder> {
    for v in values {
        let date_part = v.trim().split(' ').next().unwrap_or("");
        if date_part.contains('.') || !date_part.contains('/') {
            continue;
        }
        let parts: Vec<u32> = date_part
            .split('/')
            .filter_map(|p| p.parse().ok())
            .collect();
        if parts.len() != 3 || parts[0] > 31 {
            continue;
        }
        if parts[0] > 12 {
            return Some(DayOrder::DayFirst);
        }
        if parts[1] > 12 {
            return Some(DayOrder::MonthFirst);
        }
    }
    None
}

/// The bare, lowercase domain of a website or an email's domain part:
/// `https://www.Acme.com/about` → `acme.com`.
pub fn domain(raw: &str) -> Option<String> {
    let s = raw.trim().to_lowercase();
    let s = s.rsplit('@').next().unwrap_or(&s);
    let s = s
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("//");
    let s = s.strip_prefix("www.").unwrap_or(s);
    let host = s.split(['/', '?', '#', ':']).next()?.trim_end_matches('.');
    let ok = host.contains('.')
        && !host.starts_with(['.', '-'])
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    ok.then(|| host.to_string())
}

/// An email address as sloop keeps it: trimmed, lowercase, without `mailto:`; `None`
/// unless it has one `@` with something on both sides.
pub fn email(raw: &str) -> Option<String> {
    let s = raw
        .trim()
        .trim_start_matches("mailto:")
        .trim()
        .to_lowercase();
    let (user, host) = s.split_once('@')?;
    (!user.is_empty() && host.contains('.') && !host.contains('@') && !s.contains(' ')).then_some(s)
}

/// The ISO 3166 alpha-2 code of a country given by code or by name (English, French,
/// Spanish, German): `France`, `FR`, `UK`, `USA`, `Deutschland`, `Österreich`, `España`.
pub fn country(raw: &str) -> Option<&'static str> {
    let s = raw.trim();
    if s.len() == 2 {
        let up = s.to_ascii_uppercase();
        if up == "UK" {
            return Some("GB");
        }
        return countries::alpha2(&up);
    }
    countries::code_for_name(&fold(s))
}

/// A phone number as written, without Excel's leading `'`.
pub fn phone(raw: &str) -> Option<String> {
    let s = raw.trim().trim_start_matches('\'').trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// How a name given in an export names a team member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    Id,
    Email,
    Name,
    FirstName,
}

/// The team member an export's owner cell names: by id, by email, by display name
/// (accents and case aside), or by first name when only one member has it.
pub fn member<'c>(config: &'c Config, raw: &str) -> Option<(&'c Member, Matched)> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    let lower = s.to_lowercase();
    if let Some(m) = config.member(&lower) {
        return Some((m, Matched::Id));
    }
    if let Some(m) = config.team.iter().find(|m| {
        m.email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(&lower))
    }) {
        return Some((m, Matched::Email));
    }
    let folded = fold(s);
    if let Some(m) = config.team.iter().find(|m| fold(&m.name) == folded) {
        return Some((m, Matched::Name));
    }
    let first = |m: &Member| fold(m.name.split_whitespace().next().unwrap_or(""));
    let mut by_first = config.team.iter().filter(|m| first(m) == folded);
    match (by_first.next(), by_first.next()) {
        (Some(m), None) => Some((m, Matched::FirstName)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn numbers_as_people_write_them() {
        for (raw, comma, want) in [
            ("14400", false, 14400.0),
            ("2399.5", false, 2399.5),
            ("8500000.0", false, 8_500_000.0),
            ("480\u{a0}000,50", true, 480_000.5),
            ("2.350.000,00", true, 2_350_000.0),
            ("61.000.000", true, 61_000_000.0),
            ("1.500", true, 1500.0),
            ("1.500", false, 1.5),
            ("1,200", false, 1200.0),
            ("5,5", true, 5.5),
            ("1,234.56", false, 1234.56),
            ("~120", false, 120.0),
            ("'+33", false, 33.0),
            ("1'000", false, 1000.0),
            ("-3", false, -3.0),
        ] {
            assert_eq!(number(raw, comma), Some(want), "{raw}");
        }
        for raw in ["", "20-25", "51-200", "lots", "1.2.3,4,5", "Q3"] {
            assert_eq!(number(raw, false), None, "{raw}");
        }
        let m = |raw: &str| money(raw, false).unwrap();
        assert_eq!(
            m("€1,200"),
            Money {
                amount: 1200.0,
                currency: Some("EUR".into())
            }
        );
        assert_eq!(m("3 200 €").amount, 3200.0);
        assert_eq!(m("$800").currency.as_deref(), Some("USD"));
        assert_eq!(
            m("CHF 500"),
            Money {
                amount: 500.0,
                currency: Some("CHF".into())
            }
        );
        assert_eq!(m("150").currency, None);
        assert_eq!(count("20-25", false), None);
        assert_eq!(count("~120", false), Some(120));
        assert_eq!(count("1.5", false), None);
    }

    #[test]
    fn dates_in_vendor_and_locale_formats() {
        let local = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let df = DayOrder::DayFirst;
        assert_eq!(stamp("2024-03-28", df), Some(Stamp::Date(d("2024-03-28"))));
        assert_eq!(
            stamp("2024-03-28 17:22", df),
            Some(Stamp::Local(local("2024-03-28 17:22:00")))
        );
        assert_eq!(
            stamp("2024-03-28 17:22:40", df),
            Some(Stamp::Local(local("2024-03-28 17:22:40")))
        );
        let utc = stamp("2024-03-28T16:22:40.000Z", df).unwrap();
        assert_eq!(utc.local(3600), local("2024-03-28 17:22:40"));
        assert_eq!(
            stamp("2023-07-03T23:30:55.000Z", df)
                .unwrap()
                .date(-7 * 3600),
            d("2023-07-03")
        );
        assert_eq!(stamp("28/03/2024", df), Some(Stamp::Date(d("2024-03-28"))));
        assert_eq!(stamp("5/19/2024", df), Some(Stamp::Date(d("2024-05-19"))));
        assert_eq!(stamp("04/03/2024", df), Some(Stamp::Date(d("2024-03-04"))));
        assert_eq!(
            stamp("04/03/2024", DayOrder::MonthFirst),
            Some(Stamp::Date(d("2024-04-03")))
        );
        assert_eq!(stamp("19.05.2024", df), Some(Stamp::Date(d("2024-05-19"))));
        assert_eq!(stamp("14 Jan 2024", df), Some(Stamp::Date(d("2024-01-14"))));
        assert_eq!(stamp("45631.0", df), Some(Stamp::Date(d("2024-12-05"))));
        assert_eq!(stamp("45658", df), Some(Stamp::Date(d("2025-01-01"))));
        assert_eq!(
            stamp("5/21/2024 9:14 PM", df),
            Some(Stamp::Local(local("2024-05-21 21:14:00")))
        );
        for bad in ["end of June", "Q3", "", "31/31/2024", "2024"] {
            assert_eq!(stamp(bad, df), None, "{bad}");
        }
        assert_eq!(
            day_order(["04/03/2024", "28/03/2024"]),
            Some(DayOrder::DayFirst)
        );
        assert_eq!(day_order(["5/19/2024"]), Some(DayOrder::MonthFirst));
        assert_eq!(day_order(["04/03/2024", "2024-01-01"]), None);
    }

    #[test]
    fn domains_emails_countries_and_phones() {
        assert_eq!(
            domain("https://www.Menard-Boulangeries.fr/").as_deref(),
            Some("menard-boulangeries.fr")
        );
        assert_eq!(
            domain("www.nordwind-logistik.de").as_deref(),
            Some("nordwind-logistik.de")
        );
        assert_eq!(
            domain("http://cafeole.es:8080/x?y").as_deref(),
            Some("cafeole.es")
        );
        assert_eq!(domain("linkedin.com/in/x").as_deref(), Some("linkedin.com"));
        assert_eq!(domain("n/a"), None);
        assert_eq!(
            email(" Emma.Dubois@Fournil.io ").as_deref(),
            Some("emma.dubois@fournil.io")
        );
        assert_eq!(email("not-an-email"), None);
        for (raw, code) in [
            ("France", "FR"),
            ("FR", "FR"),
            ("fr", "FR"),
            ("UK", "GB"),
            ("USA", "US"),
            ("United States", "US"),
            ("Österreich", "AT"),
            ("Schweiz", "CH"),
            ("España", "ES"),
            ("Deutschland", "DE"),
            ("Italy", "IT"),
            ("Sweden", "SE"),
        ] {
            assert_eq!(country(raw), Some(code), "{raw}");
        }
        assert_eq!(country("Atlantis"), None);
        assert_eq!(country("XX"), None);
        assert_eq!(
            phone("'+33 4 72 10 55 21").as_deref(),
            Some("+33 4 72 10 55 21")
        );
    }

    #[test]
    fn members_by_id_email_name_or_unique_first_name() {
        let (config, _) = Config::parse(
            "sloop.toml",
            "[team.camille]\nname = \"Camille Durand\"\nemail = \"camille@voilier.io\"\n[team.lucas]\nname = \"Lucas Martin\"\n[team.lucie]\nname = \"Lucas Bernard\"\n",
        );
        let who = |s: &str| member(&config, s).map(|(m, how)| (m.id.to_string(), how));
        assert_eq!(who("camille"), Some(("camille".into(), Matched::Id)));
        assert_eq!(
            who("Camille@Voilier.io"),
            Some(("camille".into(), Matched::Email))
        );
        assert_eq!(
            who("camille  DURAND"),
            Some(("camille".into(), Matched::Name))
        );
        assert_eq!(who("Camille"), Some(("camille".into(), Matched::Id)));
        assert_eq!(who("Lucas Martin"), Some(("lucas".into(), Matched::Name)));
        assert_eq!(who("LUCAS").map(|x| x.1), Some(Matched::Id));
        // Two members are called Lucas; neither is "Lucas B.".
        assert_eq!(who("Lucas B."), None);
        assert_eq!(who("Nora Founder"), None);
        assert_eq!(fold("Zürcher  Treuhand AG"), "zurcher treuhand ag");
    }
}
