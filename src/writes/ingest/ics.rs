//! Calendars (RFC 5545 `.ics`: an export, or the `text/calendar` part of an invitation) to
//! `meeting` and `demo` activities at each event's start, with its duration and attendees.
//!
//! What is read: folded lines (at any octet, even inside a UTF-8 sequence), quoted parameters
//! (`CN="Laurent, Nina"`, `TZID="Romance Standard Time"`), TEXT escapes; times in UTC, in a
//! zone the file defines in a `VTIMEZONE` (whatever its name: IANA or Windows, its rules
//! evaluated for each date so that summer time is right), floating (kept as written) and
//! all-day dates; a `TZID` the file does not define is read as written (floating). Recurring
//! events (`RRULE` with `FREQ` `DAILY`, `WEEKLY`, `MONTHLY` or `YEARLY`, `INTERVAL`, `COUNT`,
//! `UNTIL`, `BYDAY`, `BYMONTHDAY`, `BYMONTH`; `RDATE`; `EXDATE`) give one activity per
//! occurrence up to `Options::until`, each keyed by its original start; an overridden
//! occurrence (`RECURRENCE-ID`) replaces the one it names. `SEQUENCE` orders versions of an
//! event: a newer one updates the activity, an older one is ignored. `STATUS:CANCELLED` or a
//! `METHOD:CANCEL` calendar marks the activity `cancelled`.

use std::collections::HashMap;

use chrono::{
    Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday,
};

use super::{some_of, text, Capture, Matcher};
use crate::model::{ActivityKind, When};

/// How a calendar is read.
#[derive(Debug, Clone)]
pub struct Options {
    /// The last day a recurring event is expanded to (inclusive).
    pub until: NaiveDate,
    /// Words that make an event a `demo` when its summary contains one (case-insensitive,
    /// whole words); other events are meetings.
    pub demo_words: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            until: NaiveDate::from_ymd_opt(2100, 1, 1).unwrap_or(NaiveDate::MAX),
            demo_words: vec!["demo".into(), "démo".into()],
        }
    }
}

/// The most occurrences one recurring event gives, and the most steps taken to find them.
const MAX_OCCURRENCES: usize = 5_000;
const MAX_STEPS: usize = 200_000;
/// The most nested components read (a calendar nests three deep).
const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IcsError {
    #[error("this is not a calendar (no BEGIN:VCALENDAR)")]
    NotCalendar,
}

/// One event (or one occurrence) of a calendar, and what it became.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Matched(Box<Capture>),
    /// No attendee is a contact or at an account's domain.
    Unmatched {
        what: String,
        addresses: String,
    },
    /// Not a meeting sloop records (no start, a rule it does not expand), with the reason.
    Invalid {
        what: String,
        reason: String,
    },
}

/// A read calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub events: Vec<Event>,
}

/// A content line: `NAME;PARAM=VALUE:value`.
#[derive(Debug, Clone, PartialEq)]
struct Prop {
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

impl Prop {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Component {
    name: String,
    props: Vec<Prop>,
    children: Vec<Component>,
}

impl Component {
    fn prop(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name == name)
    }
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Prop> + 'a {
        self.props.iter().filter(move |p| p.name == name)
    }
    fn text(&self, name: &str) -> Option<String> {
        self.prop(name)
            .map(|p| unescape(&p.value))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }
}

/// The calendar's lines, unfolded: a line break followed by a space or a tab continues the
/// line (RFC 5545 §3.1), at the octet level, so a fold inside a UTF-8 sequence is mended.
fn unfold(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for raw in bytes.split(|b| *b == b'\n') {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        match (raw.first(), lines.last_mut()) {
            (Some(b' ' | b'\t'), Some(last)) => last.extend_from_slice(&raw[1..]),
            _ => lines.push(raw.to_vec()),
        }
    }
    lines
        .into_iter()
        .filter(|l| !l.is_empty())
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .collect()
}

/// `NAME;P=V;Q="a;b":value` → the property; `None` for a line without `:`.
fn content_line(line: &str) -> Option<Prop> {
    let mut params = Vec::new();
    let mut chars = line.char_indices().peekable();
    let mut name_end = line.len();
    for (i, c) in chars.by_ref() {
        if c == ';' || c == ':' {
            name_end = i;
            break;
        }
    }
    let name = line[..name_end].trim().to_ascii_uppercase();
    if name.is_empty() || name_end == line.len() {
        return None;
    }
    let mut rest = &line[name_end..];
    while let Some(after) = rest.strip_prefix(';') {
        let eq = after.find(['=', ':', ';'])?;
        let pname = after[..eq].trim().to_ascii_uppercase();
        let mut r = &after[eq..];
        let mut value = String::new();
        if let Some(v) = r.strip_prefix('=') {
            r = v;
            loop {
                if let Some(q) = r.strip_prefix('"') {
                    let close = q.find('"').unwrap_or(q.len());
                    if !value.is_empty() {
                        value.push(',');
                    }
                    value.push_str(&q[..close]);
                    r = q.get(close + 1..).unwrap_or("");
                } else {
                    let end = r.find([',', ';', ':']).unwrap_or(r.len());
                    if !value.is_empty() {
                        value.push(',');
                    }
                    value.push_str(&r[..end]);
                    r = &r[end..];
                }
                match r.strip_prefix(',') {
                    Some(more) => r = more,
                    None => break,
                }
            }
        }
        params.push((pname, value));
        rest = r;
    }
    let value = rest.strip_prefix(':')?.to_string();
    Some(Prop {
        name,
        params,
        value,
    })
}

/// The components of the text: `BEGIN:X` … `END:X`, nested.
fn components(lines: &[String]) -> Vec<Component> {
    let mut stack: Vec<Component> = Vec::new();
    let mut done = Vec::new();
    let mut ignored_depth = 0usize;
    for line in lines {
        let Some(p) = content_line(line) else {
            continue;
        };
        match p.name.as_str() {
            "BEGIN" => {
                if stack.len() >= MAX_DEPTH {
                    ignored_depth += 1;
                    continue;
                }
                stack.push(Component {
                    name: p.value.trim().to_ascii_uppercase(),
                    ..Component::default()
                });
            }
            "END" => {
                if ignored_depth > 0 {
                    ignored_depth -= 1;
                    continue;
                }
                let name = p.value.trim().to_ascii_uppercase();
                // An END closes the innermost open component of that name (and what it holds).
                let Some(pos) = stack.iter().rposition(|c| c.name == name) else {
                    continue;
                };
                while stack.len() > pos {
                    let Some(c) = stack.pop() else { break };
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(c),
                        None => done.push(c),
                    }
                }
            }
            _ => {
                if ignored_depth == 0 {
                    if let Some(top) = stack.last_mut() {
                        top.props.push(p);
                    }
                }
            }
        }
    }
    // Components left open at the end still count.
    while let Some(c) = stack.pop() {
        match stack.last_mut() {
            Some(parent) => parent.children.push(c),
            None => done.push(c),
        }
    }
    done
}

/// TEXT with its escapes undone: `\n`, `\N`, `\,`, `\;`, `\\`.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// A time zone the calendar defines: its observances (standard and daylight time).
#[derive(Debug, Clone)]
struct Zone {
    observances: Vec<Observance>,
}

#[derive(Debug, Clone)]
struct Observance {
    start: NaiveDateTime,
    offset_from: i32,
    offset_to: i32,
    rule: Option<Rule>,
    rdates: Vec<NaiveDateTime>,
}

impl Zone {
    fn from(c: &Component) -> Option<Zone> {
        let observances: Vec<Observance> = c
            .children
            .iter()
            .filter(|o| o.name == "STANDARD" || o.name == "DAYLIGHT")
            .filter_map(|o| {
                let start = o.prop("DTSTART").and_then(|p| naive_datetime(&p.value))?;
                Some(Observance {
                    start,
                    offset_from: offset_seconds(&o.prop("TZOFFSETFROM")?.value)?,
                    offset_to: offset_seconds(&o.prop("TZOFFSETTO")?.value)?,
                    rule: o.prop("RRULE").and_then(|p| Rule::parse(&p.value).ok()),
                    rdates: o
                        .all("RDATE")
                        .flat_map(|p| {
                            p.value
                                .split(',')
                                .filter_map(naive_datetime)
                                .collect::<Vec<_>>()
                        })
                        .collect(),
                })
            })
            .collect();
        (!observances.is_empty()).then_some(Zone { observances })
    }

    /// The offset (seconds east of UTC) in force at this local time: that of the observance
    /// whose latest onset is the latest before it.
    fn offset_at(&self, local: NaiveDateTime) -> i32 {
        let mut best: Option<(NaiveDateTime, i32)> = None;
        for o in &self.observances {
            if let Some(onset) = o.last_onset(local) {
                if best.is_none_or(|(b, _)| onset > b) {
                    best = Some((onset, o.offset_to));
                }
            }
        }
        match best {
            Some((_, off)) => off,
            // Before every onset: the offset the earliest observance changes from.
            None => self
                .observances
                .iter()
                .min_by_key(|o| o.start)
                .map_or(0, |o| o.offset_from),
        }
    }
}

impl Observance {
    fn last_onset(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        let mut best = (self.start <= local).then_some(self.start);
        for r in &self.rdates {
            if *r <= local && best.is_none_or(|b| *r > b) {
                best = Some(*r);
            }
        }
        if let Some(rule) = &self.rule {
            // Yearly rules (what every VTIMEZONE writes): this year's onset, else last year's.
            for year in [local.year(), local.year() - 1] {
                if year < self.start.year() {
                    continue;
                }
                let Some(day) = rule.yearly_day(year, self.start.date()) else {
                    continue;
                };
                let onset = day.and_time(self.start.time());
                if onset <= local
                    && onset >= self.start
                    && rule.until.as_ref().is_none_or(|u| onset <= u.naive())
                {
                    if best.is_none_or(|b| onset > b) {
                        best = Some(onset);
                    }
                    break;
                }
            }
        }
        best
    }
}

/// `+0200`, `-0500`, `+053000` → seconds.
fn offset_seconds(s: &str) -> Option<i32> {
    let s = s.trim();
    let (sign, digits) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| digits.get(r).and_then(|d| d.parse::<i32>().ok());
    let secs = n(0..2)? * 3600 + n(2..4)? * 60 + n(4..6).unwrap_or(0);
    (secs < 24 * 3600).then_some(sign * secs)
}

/// `20261201T100000` (a trailing `Z` is ignored here).
fn naive_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim().trim_end_matches(['Z', 'z']);
    NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%S").ok()
}

fn naive_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.len() != 8 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

/// A point in time as the calendar writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Time {
    Date(NaiveDate),
    /// Local time with the offset of its zone at that time (UTC: 0), or floating.
    Zoned(NaiveDateTime, i32),
    Floating(NaiveDateTime),
}

impl Time {
    fn naive(&self) -> NaiveDateTime {
        match self {
            Time::Date(d) => d.and_time(NaiveTime::MIN),
            Time::Zoned(t, _) | Time::Floating(t) => *t,
        }
    }
    /// What two times are compared by: the UTC instant when the offset is known.
    fn key(&self) -> NaiveDateTime {
        match self {
            Time::Zoned(t, off) => t
                .checked_sub_signed(Duration::seconds(i64::from(*off)))
                .unwrap_or(*t),
            other => other.naive(),
        }
    }
    fn when(&self) -> Option<When> {
        Some(match self {
            Time::Date(d) => When::Date(*d),
            Time::Floating(t) => When::Local(*t),
            Time::Zoned(t, off) => When::Offset(
                FixedOffset::east_opt(*off)?
                    .from_local_datetime(t)
                    .single()?,
            ),
        })
    }
    fn text(&self) -> String {
        match self.when() {
            Some(When::Date(d)) => d.to_string(),
            Some(When::Local(t)) => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            Some(When::Offset(t)) => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            None => self.naive().format("%Y-%m-%dT%H:%M:%S").to_string(),
        }
    }
}

/// Reads a DATE or DATE-TIME property with its zone.
struct Clock<'a> {
    zones: &'a HashMap<String, Zone>,
}

impl Clock<'_> {
    fn time(&self, p: &Prop) -> Option<Time> {
        self.value(p.param("TZID"), p.param("VALUE"), &p.value)
    }

    fn value(&self, tzid: Option<&str>, kind: Option<&str>, v: &str) -> Option<Time> {
        let v = v.trim();
        if kind.is_some_and(|k| k.eq_ignore_ascii_case("DATE"))
            || (v.len() == 8 && !v.contains('T'))
        {
            return naive_date(v).map(Time::Date);
        }
        let t = naive_datetime(v)?;
        if v.ends_with(['Z', 'z']) {
            return Some(Time::Zoned(t, 0));
        }
        Some(self.local(tzid, t))
    }

    fn local(&self, tzid: Option<&str>, t: NaiveDateTime) -> Time {
        match tzid {
            Some(id) => match self.zones.get(id.trim().trim_matches('"')) {
                Some(z) => Time::Zoned(t, z.offset_at(t)),
                None if is_utc_name(id) => Time::Zoned(t, 0),
                None => Time::Floating(t),
            },
            None => Time::Floating(t),
        }
    }

    /// The same wall-clock time as `start`, in start's zone, at another local time.
    fn like(&self, start: &Time, tzid: Option<&str>, t: NaiveDateTime) -> Time {
        match start {
            Time::Date(_) => Time::Date(t.date()),
            Time::Zoned(_, 0) if tzid.is_none() => Time::Zoned(t, 0),
            Time::Zoned(..) => self.local(tzid, t),
            Time::Floating(_) => Time::Floating(t),
        }
    }
}

fn is_utc_name(id: &str) -> bool {
    matches!(
        id.trim().to_ascii_uppercase().as_str(),
        "UTC" | "GMT" | "ETC/UTC" | "Z" | "ETC/GMT"
    )
}

/// A recurrence rule, in the subset every calendar writes.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    freq: Freq,
    interval: u32,
    count: Option<usize>,
    until: Option<Until>,
    by_day: Vec<(i32, Weekday)>,
    by_month_day: Vec<i32>,
    by_month: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Freq {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Until {
    Date(NaiveDate),
    Utc(NaiveDateTime),
    Local(NaiveDateTime),
}

impl Until {
    fn naive(&self) -> NaiveDateTime {
        match self {
            Until::Date(d) => d
                .and_hms_opt(23, 59, 59)
                .unwrap_or(d.and_time(NaiveTime::MIN)),
            Until::Utc(t) | Until::Local(t) => *t,
        }
    }
}

impl Rule {
    fn parse(s: &str) -> Result<Rule, String> {
        let mut rule = Rule {
            freq: Freq::Daily,
            interval: 1,
            count: None,
            until: None,
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_month: Vec::new(),
        };
        let mut freq = None;
        for part in s.split(';').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not NAME=VALUE"))?;
            let v = v.trim();
            match k.trim().to_ascii_uppercase().as_str() {
                "FREQ" => {
                    freq = Some(match v.to_ascii_uppercase().as_str() {
                        "DAILY" => Freq::Daily,
                        "WEEKLY" => Freq::Weekly,
                        "MONTHLY" => Freq::Monthly,
                        "YEARLY" => Freq::Yearly,
                        other => {
                            return Err(format!(
                            "FREQ={other} is not expanded (only DAILY, WEEKLY, MONTHLY and YEARLY)"
                        ))
                        }
                    })
                }
                "INTERVAL" => {
                    rule.interval = v
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| format!("INTERVAL={v} is not a positive number"))?
                }
                "COUNT" => {
                    rule.count = Some(
                        v.parse()
                            .map_err(|_| format!("COUNT={v} is not a number"))?,
                    )
                }
                "UNTIL" => {
                    rule.until = Some(if v.len() == 8 {
                        Until::Date(
                            naive_date(v).ok_or_else(|| format!("UNTIL={v} is not a date"))?,
                        )
                    } else {
                        let t = naive_datetime(v)
                            .ok_or_else(|| format!("UNTIL={v} is not a date-time"))?;
                        if v.ends_with(['Z', 'z']) {
                            Until::Utc(t)
                        } else {
                            Until::Local(t)
                        }
                    })
                }
                "BYDAY" => {
                    for d in v.split(',') {
                        let d = d.trim();
                        let split = d
                            .len()
                            .checked_sub(2)
                            .filter(|i| d.is_char_boundary(*i))
                            .ok_or_else(|| format!("BYDAY={d} is not a day"))?;
                        let (n, day) = d.split_at(split);
                        let day = weekday(day).ok_or_else(|| format!("BYDAY={d} is not a day"))?;
                        let n = if n.is_empty() {
                            0
                        } else {
                            n.trim_start_matches('+')
                                .parse()
                                .map_err(|_| format!("BYDAY={d} is not a day"))?
                        };
                        rule.by_day.push((n, day));
                    }
                }
                "BYMONTHDAY" => {
                    for d in v.split(',') {
                        let n: i32 = d
                            .trim()
                            .parse()
                            .map_err(|_| format!("BYMONTHDAY={d} is not a day"))?;
                        if n == 0 || !(-31..=31).contains(&n) {
                            return Err(format!("BYMONTHDAY={d} is not a day"));
                        }
                        rule.by_month_day.push(n);
                    }
                }
                "BYMONTH" => {
                    for m in v.split(',') {
                        let n: u32 = m
                            .trim()
                            .parse()
                            .map_err(|_| format!("BYMONTH={m} is not a month"))?;
                        if !(1..=12).contains(&n) {
                            return Err(format!("BYMONTH={m} is not a month"));
                        }
                        rule.by_month.push(n);
                    }
                }
                "WKST" => {}
                other => return Err(format!("{other} is not expanded")),
            }
        }
        rule.freq = freq.ok_or("the rule has no FREQ")?;
        Ok(rule)
    }

    /// The day of a yearly rule in `year` (a VTIMEZONE's: `BYMONTH=10;BYDAY=-1SU`).
    fn yearly_day(&self, year: i32, start: NaiveDate) -> Option<NaiveDate> {
        let month = self.by_month.first().copied().unwrap_or(start.month());
        match self.by_day.first() {
            Some((n, day)) => nth_weekday(year, month, if *n == 0 { 1 } else { *n }, *day),
            None => NaiveDate::from_ymd_opt(year, month, start.day()),
        }
    }

    /// The local start times of the occurrences, from `start`, up to `last` (inclusive) and
    /// the rule's own end. `is_past_until` says whether a local time is past UNTIL.
    fn occurrences(
        &self,
        start: NaiveDateTime,
        last: NaiveDate,
        is_past_until: &dyn Fn(NaiveDateTime) -> bool,
    ) -> Vec<NaiveDateTime> {
        let mut out = Vec::new();
        let time = start.time();
        let mut counted = 0usize;
        let mut day = start.date();
        let mut steps = 0usize;
        // Walk day by day through the periods the interval selects; each day is tested.
        while steps < MAX_STEPS && out.len() < MAX_OCCURRENCES {
            steps += 1;
            if day > last {
                break;
            }
            let t = day.and_time(time);
            if self.in_period(start.date(), day) && self.matches(start.date(), day) {
                if is_past_until(t) {
                    break;
                }
                counted += 1;
                if self.count.is_some_and(|c| counted > c) {
                    break;
                }
                out.push(t);
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        out
    }

    /// Whether the day falls in a period the interval keeps (every `interval` days, weeks,
    /// months or years from the start's).
    fn in_period(&self, start: NaiveDate, day: NaiveDate) -> bool {
        let i = i64::from(self.interval);
        match self.freq {
            Freq::Daily => (day - start).num_days() % i == 0,
            Freq::Weekly => {
                let week = |d: NaiveDate| {
                    d.num_days_from_ce() as i64 - i64::from(d.weekday().num_days_from_monday())
                };
                ((week(day) - week(start)) / 7) % i == 0
            }
            Freq::Monthly => {
                let months = (day.year() - start.year()) as i64 * 12 + day.month() as i64
                    - start.month() as i64;
                months % i == 0
            }
            Freq::Yearly => i64::from(day.year() - start.year()) % i == 0,
        }
    }

    fn matches(&self, start: NaiveDate, day: NaiveDate) -> bool {
        if !self.by_month.is_empty() && !self.by_month.contains(&day.month()) {
            return false;
        }
        if self.by_month.is_empty() && self.freq == Freq::Yearly && day.month() != start.month() {
            return false;
        }
        if !self.by_month_day.is_empty() {
            let last = last_day_of_month(day);
            let ok = self.by_month_day.iter().any(|n| {
                let d = if *n > 0 { *n } else { last as i32 + 1 + *n };
                d == day.day() as i32
            });
            if !ok {
                return false;
            }
        }
        if !self.by_day.is_empty() {
            return self.by_day.iter().any(|(n, wd)| {
                if day.weekday() != *wd {
                    return false;
                }
                if *n == 0 || self.freq == Freq::Weekly || self.freq == Freq::Daily {
                    return true;
                }
                nth_weekday(day.year(), day.month(), *n, *wd) == Some(day)
            });
        }
        if !self.by_month_day.is_empty() {
            return true;
        }
        match self.freq {
            Freq::Daily => true,
            Freq::Weekly => day.weekday() == start.weekday(),
            Freq::Monthly => day.day() == start.day(),
            Freq::Yearly => day.day() == start.day() && day.month() == start.month(),
        }
    }
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s.to_ascii_uppercase().as_str() {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

fn last_day_of_month(d: NaiveDate) -> u32 {
    (28..=31)
        .rev()
        .find(|n| NaiveDate::from_ymd_opt(d.year(), d.month(), *n).is_some())
        .unwrap_or(28)
}

/// The `n`th `day` of the month (`-1`: the last).
fn nth_weekday(year: i32, month: u32, n: i32, day: Weekday) -> Option<NaiveDate> {
    if n > 0 {
        NaiveDate::from_weekday_of_month_opt(year, month, day, u8::try_from(n).ok()?)
    } else {
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let last = NaiveDate::from_ymd_opt(year, month, last_day_of_month(first))?;
        let back = (7 + last.weekday().num_days_from_monday() - day.num_days_from_monday()) % 7;
        let d = last - Duration::days(i64::from(back));
        let d = d.checked_sub_signed(Duration::weeks(i64::from(-n - 1)))?;
        (d.month() == month).then_some(d)
    }
}

/// The duration of an ISO 8601 / RFC 5545 duration (`PT45M`, `PT1H30M`, `P1D`), in minutes.
fn duration_minutes(s: &str) -> Option<i64> {
    let s = s.trim();
    let (sign, s) = match s.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    let s = s.strip_prefix('P')?;
    let mut total: i64 = 0;
    let mut n = String::new();
    let mut in_time = false;
    for c in s.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => n.push(c),
            _ => {
                let v: i64 = n.parse().ok()?;
                n.clear();
                total = total.checked_add(match (c, in_time) {
                    ('W', false) => v.checked_mul(7 * 1440)?,
                    ('D', false) => v.checked_mul(1440)?,
                    ('H', true) => v.checked_mul(60)?,
                    ('M', true) => v,
                    ('S', true) => v / 60,
                    _ => return None,
                })?;
            }
        }
    }
    n.is_empty().then_some(sign * total)
}

/// Reads a calendar and matches its events to the CRM.
pub fn read(m: &Matcher, text: &str, opts: &Options) -> Result<Calendar, IcsError> {
    let lines = unfold(text.as_bytes());
    let tops = components(&lines);
    let cals: Vec<&Component> = tops.iter().filter(|c| c.name == "VCALENDAR").collect();
    if cals.is_empty() {
        return Err(IcsError::NotCalendar);
    }
    let mut events = Vec::new();
    for cal in cals {
        let cancel_all = cal
            .prop("METHOD")
            .is_some_and(|p| p.value.trim().eq_ignore_ascii_case("CANCEL"));
        let zones: HashMap<String, Zone> = cal
            .children
            .iter()
            .filter(|c| c.name == "VTIMEZONE")
            .filter_map(|c| Some((c.prop("TZID")?.value.trim().to_string(), Zone::from(c)?)))
            .collect();
        let clock = Clock { zones: &zones };
        let vevents: Vec<&Component> = cal.children.iter().filter(|c| c.name == "VEVENT").collect();
        // Overrides of single occurrences, by UID and original start.
        let mut overrides: HashMap<(String, NaiveDateTime), &Component> = HashMap::new();
        for e in &vevents {
            if let (Some(uid), Some(rid)) = (e.text("UID"), e.prop("RECURRENCE-ID")) {
                if let Some(t) = clock.time(rid) {
                    overrides.insert((uid, t.key()), e);
                }
            }
        }
        let has_master: std::collections::HashSet<String> = vevents
            .iter()
            .filter(|e| e.prop("RECURRENCE-ID").is_none())
            .filter_map(|e| e.text("UID"))
            .collect();
        for e in &vevents {
            let uid = e.text("UID");
            let what = e
                .text("SUMMARY")
                .or_else(|| uid.clone())
                .unwrap_or_else(|| "an event without UID".into());
            let what = crate::escape::excerpt(&what, 80).into_owned();
            let Some(uid) = uid else {
                events.push(Event::Invalid {
                    what,
                    reason: "the event has no UID".into(),
                });
                continue;
            };
            let recurrence_id = e.prop("RECURRENCE-ID").and_then(|p| clock.time(p));
            if recurrence_id.is_some() && has_master.contains(&uid) {
                // Read with its series, in place of the occurrence it overrides.
                continue;
            }
            let Some(start) = e.prop("DTSTART").and_then(|p| clock.time(p)) else {
                events.push(Event::Invalid {
                    what,
                    reason: "the event has no DTSTART it can be dated by".into(),
                });
                continue;
            };
            let starts: Vec<(Time, Option<Time>)> = match e.prop("RRULE") {
                Some(rr) if recurrence_id.is_none() => {
                    let rule = match Rule::parse(&rr.value) {
                        Ok(r) => r,
                        Err(why) => {
                            events.push(Event::Invalid {
                                what,
                                reason: format!("its recurrence rule is not read: {why}"),
                            });
                            continue;
                        }
                    };
                    let tzid = e.prop("DTSTART").and_then(|p| p.param("TZID"));
                    let until = rule.until;
                    let past = |t: NaiveDateTime| match until {
                        None => false,
                        Some(Until::Utc(u)) => clock.like(&start, tzid, t).key() > u,
                        Some(u) => t > u.naive(),
                    };
                    let mut times: Vec<Time> = rule
                        .occurrences(start.naive(), opts.until, &past)
                        .into_iter()
                        .map(|t| clock.like(&start, tzid, t))
                        .collect();
                    for rd in e.all("RDATE") {
                        for v in rd.value.split(',') {
                            if let Some(t) = clock.value(rd.param("TZID"), rd.param("VALUE"), v) {
                                if t.naive().date() <= opts.until
                                    && !times.iter().any(|x| x.key() == t.key())
                                {
                                    times.push(t);
                                }
                            }
                        }
                    }
                    let excluded: Vec<NaiveDateTime> = e
                        .all("EXDATE")
                        .flat_map(|p| {
                            p.value
                                .split(',')
                                .filter_map(|v| clock.value(p.param("TZID"), p.param("VALUE"), v))
                                .map(|t| t.key())
                                .collect::<Vec<_>>()
                        })
                        .collect();
                    times.retain(|t| !excluded.contains(&t.key()));
                    times.sort_by_key(|t| t.key());
                    times.into_iter().map(|t| (t, Some(t))).collect()
                }
                _ => vec![(start, recurrence_id)],
            };
            for (occurrence, original) in starts {
                let source = original
                    .and_then(|o| overrides.get(&(uid.clone(), o.key())).copied())
                    .unwrap_or(e);
                let occ_start = if std::ptr::eq(source, *e) {
                    occurrence
                } else {
                    source
                        .prop("DTSTART")
                        .and_then(|p| clock.time(p))
                        .unwrap_or(occurrence)
                };
                events.push(event(
                    m, opts, &clock, source, &uid, occ_start, original, cancel_all,
                ));
            }
        }
    }
    Ok(Calendar { events })
}

/// One occurrence as an activity.
#[allow(clippy::too_many_arguments)]
fn event(
    m: &Matcher,
    opts: &Options,
    clock: &Clock,
    e: &Component,
    uid: &str,
    start: Time,
    original: Option<Time>,
    cancel_all: bool,
) -> Event {
    let summary = e.text("SUMMARY");
    let what = format!(
        "{} ({})",
        crate::escape::excerpt(summary.as_deref().unwrap_or(uid), 60),
        start.text()
    );
    let mut participants: Vec<String> = Vec::new();
    for p in e.all("ORGANIZER").chain(e.all("ATTENDEE")) {
        let v = p.value.trim();
        let address = v
            .get(..7)
            .filter(|s| s.eq_ignore_ascii_case("mailto:"))
            .map(|_| &v[7..])
            .unwrap_or(v)
            .trim()
            .to_lowercase();
        if address.contains('@') && !participants.contains(&address) {
            participants.push(address);
        }
    }
    let Some(found) = m.by_addresses(&participants) else {
        return Event::Unmatched {
            what,
            addresses: some_of(&participants),
        };
    };
    let end = match (
        e.prop("DTEND").and_then(|p| clock.time(p)),
        e.prop("DURATION"),
    ) {
        (Some(end), _) => Some((end.key() - start.key()).num_minutes()),
        (None, Some(d)) => duration_minutes(&d.value),
        (None, None) => None,
    };
    let duration = match start {
        Time::Date(_) => None,
        _ => end.filter(|m| (0..=1440).contains(m)).map(|m| m as u64),
    };
    let cancelled = cancel_all
        || e.prop("STATUS")
            .is_some_and(|s| s.value.trim().eq_ignore_ascii_case("CANCELLED"));
    let demo = summary
        .as_deref()
        .is_some_and(|s| is_demo(s, &opts.demo_words));
    let Some(date) = start.when() else {
        return Event::Invalid {
            what,
            reason: "its start is not a time that exists".into(),
        };
    };
    Event::Matched(Box::new(Capture {
        kind: if demo {
            ActivityKind::Demo
        } else {
            ActivityKind::Meeting
        },
        date: Some(date),
        account: found.account,
        contact: found.contact,
        owner: m.owner(&participants),
        subject: summary
            .map(|s| s.lines().next().unwrap_or("").trim().to_string())
            .filter(|s| !s.is_empty()),
        body: e.text("DESCRIPTION").map(text::cap),
        duration_min: duration,
        participants,
        uid: Some(uid.to_string()),
        sequence: Some(
            e.prop("SEQUENCE")
                .and_then(|p| p.value.trim().parse().ok())
                .unwrap_or(0),
        ),
        recurrence_id: original.map(|o| o.text()),
        cancelled,
        ..Capture::default()
    }))
}

/// Whether a summary names a demo: one of the words, whole, case-insensitive.
pub fn is_demo(summary: &str, words: &[String]) -> bool {
    let lower = summary.to_lowercase();
    lower
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| !w.is_empty() && words.iter().any(|d| d.to_lowercase() == w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone_paris() -> HashMap<String, Zone> {
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Romance Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n";
        let tops = components(&unfold(text.as_bytes()));
        tops[0]
            .children
            .iter()
            .filter_map(|c| Some((c.prop("TZID")?.value.clone(), Zone::from(c)?)))
            .collect()
    }

    fn at(s: &str) -> NaiveDateTime {
        naive_datetime(s).unwrap()
    }

    #[test]
    fn a_vtimezone_gives_summer_and_winter_offsets() {
        let zones = zone_paris();
        let z = &zones["Romance Standard Time"];
        assert_eq!(z.offset_at(at("20261201T100000")), 3600);
        assert_eq!(z.offset_at(at("20260701T100000")), 7200);
        // 25 Oct 2026 is the last Sunday of October: winter time from 03:00.
        assert_eq!(z.offset_at(at("20261025T020000")), 7200);
        assert_eq!(z.offset_at(at("20261025T040000")), 3600);
        assert_eq!(z.offset_at(at("20260329T030000")), 7200);
    }

    #[test]
    fn lines_unfold_at_any_octet_and_parameters_keep_their_quotes() {
        let folded = b"SUMMARY:Caf\xC3\r\n \xA9 \r\n\tcr\xC3\xA8me\r\n";
        assert_eq!(unfold(folded), ["SUMMARY:Café crème"]);
        let p = content_line(
            r#"ATTENDEE;CN="Laurent, Nina";ROLE=REQ-PARTICIPANT;X-A=a,"b;c":mailto:nina@x.io"#,
        )
        .unwrap();
        assert_eq!(p.param("CN"), Some("Laurent, Nina"));
        assert_eq!(p.param("x-a"), Some("a,b;c"));
        assert_eq!(p.value, "mailto:nina@x.io");
        assert_eq!(unescape(r"a\, b\; c\nd\\e"), "a, b; c\nd\\e");
        assert_eq!(content_line("no colon"), None);
    }

    #[test]
    fn recurrence_rules_expand_as_rfc_5545_says() {
        let none = |_: NaiveDateTime| false;
        let last = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        let r = Rule::parse("FREQ=WEEKLY;WKST=MO;BYDAY=TU").unwrap();
        let got = r.occurrences(
            at("20261103T100000"),
            NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
            &none,
        );
        assert_eq!(
            got.iter().map(|t| t.day()).collect::<Vec<_>>(),
            [3, 10, 17, 24]
        );
        let r = Rule::parse("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3").unwrap();
        let got = r.occurrences(at("20260930T090000"), last, &none);
        assert_eq!(
            got.iter().map(|t| t.date().to_string()).collect::<Vec<_>>(),
            ["2026-10-30", "2026-11-27", "2026-12-25"]
        );
        let r = Rule::parse("FREQ=DAILY;INTERVAL=2;UNTIL=20261107").unwrap();
        let until = r.until;
        let got = r.occurrences(at("20261101T080000"), last, &|t| {
            until.is_some_and(|u| t > u.naive())
        });
        assert_eq!(
            got.iter().map(|t| t.day()).collect::<Vec<_>>(),
            [1, 3, 5, 7]
        );
        let r = Rule::parse("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=4").unwrap();
        let got = r.occurrences(at("20261102T080000"), last, &none);
        assert_eq!(
            got.iter().map(|t| t.day()).collect::<Vec<_>>(),
            [2, 5, 16, 19]
        );
        let r = Rule::parse("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=2").unwrap();
        let got = r.occurrences(at("20261130T080000"), last, &none);
        assert_eq!(
            got.iter().map(|t| t.date().to_string()).collect::<Vec<_>>(),
            ["2026-11-30", "2026-12-31"]
        );
        assert_eq!(
            Rule::parse("FREQ=HOURLY").unwrap_err(),
            "FREQ=HOURLY is not expanded (only DAILY, WEEKLY, MONTHLY and YEARLY)"
        );
        assert_eq!(
            Rule::parse("FREQ=MONTHLY;BYSETPOS=-1").unwrap_err(),
            "BYSETPOS is not expanded"
        );
        // An endless daily rule stops at the last day asked for.
        let r = Rule::parse("FREQ=DAILY").unwrap();
        assert_eq!(r.occurrences(at("20261101T080000"), last, &none).len(), 61);
    }

    #[test]
    fn durations_read_as_written() {
        assert_eq!(duration_minutes("PT45M"), Some(45));
        assert_eq!(duration_minutes("PT1H30M"), Some(90));
        assert_eq!(duration_minutes("P1D"), Some(1440));
        assert_eq!(duration_minutes("P1W"), Some(10080));
        assert_eq!(duration_minutes("-PT15M"), Some(-15));
        assert_eq!(duration_minutes("PT"), Some(0));
        assert_eq!(duration_minutes("P1H"), None);
        assert_eq!(duration_minutes("PT99999999999999999999H"), None);
    }

    #[test]
    fn demo_words_are_whole_words() {
        let words = vec!["demo".to_string(), "démo".to_string()];
        assert!(is_demo("Tidewater demo — Kestrel", &words));
        assert!(is_demo("Démo produit", &words));
        assert!(!is_demo("Demonstration of pricing", &words));
    }
}
