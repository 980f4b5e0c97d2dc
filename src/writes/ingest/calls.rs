//! Call logs exported from a phone system (Aircall, Ringover, or a generic `date, direction,
//! from, to, duration_seconds, agent_email, outcome` file) to `call` activities, read a row
//! at a time. The number on the other end is normalised to E.164 and matched to the contact
//! with that phone (a number written without its country code is read in the country of
//! each account, and matches only when exactly one contact has it); the agent is matched to
//! a team member by email or name. Unmatched numbers are listed, never guessed.
//!
//! The file is UTF-8 (a byte order mark is dropped) with commas, semicolons or tabs; columns
//! are found by name, case-insensitively, in any order.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::rc::Rc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};

use super::{phone, stable_hash, Capture, Matcher};
use crate::model::{ActivityKind, When};

/// The phone systems whose exports are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Aircall,
    Ringover,
    Generic,
}

impl Vendor {
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Aircall => "Aircall",
            Vendor::Ringover => "Ringover",
            Vendor::Generic => "generic",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallsError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not UTF-8 (line {0})")]
    NotUtf8(u64),
    #[error("the columns are not a call log this reads (Aircall, Ringover, or date, direction, from, to…): {0}")]
    UnknownColumns(String),
    #[error("line {line}: {why}")]
    Csv { line: u64, why: String },
}

impl CallsError {
    pub fn hint(&self) -> Option<String> {
        match self {
            CallsError::NotUtf8(_) => Some("export it again as CSV UTF-8 (in a spreadsheet: \"CSV UTF-8\")".into()),
            CallsError::UnknownColumns(_) => Some("a generic log has the columns date, direction, from, to, duration_seconds, agent_email, outcome".into()),
            _ => None,
        }
    }
}

/// What became of one call (one row, or the rows of one call: Ringover writes a row per leg).
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Call {
        line: u64,
        call: Box<Capture>,
    },
    /// The number matches no contact: the number as written, and in E.164 when it is one.
    Unmatched {
        line: u64,
        number: String,
    },
    /// A row that is not a call sloop can record, and why.
    Invalid {
        line: u64,
        reason: String,
    },
}

/// The column of each field, by vendor.
#[derive(Debug, Clone, Default)]
struct Columns {
    id: Option<usize>,
    utc: Option<usize>,
    local: Option<usize>,
    date: Option<usize>,
    time: Option<usize>,
    direction: Option<usize>,
    from: Option<usize>,
    to: Option<usize>,
    customer: Option<usize>,
    answered: Option<usize>,
    voicemail: Option<usize>,
    state: Option<usize>,
    outcome: Option<usize>,
    in_call: Option<usize>,
    total: Option<usize>,
    agent: Option<usize>,
    agent_email: Option<usize>,
    country: Option<usize>,
    note: Option<usize>,
}

/// The input, noting where its line breaks are, for the line numbers of rows: the csv crate
/// places a record where the one before it ended, which in a CRLF file is the LF not yet
/// read (the first data row would be "line 1") and before any blank lines. Only the breaks
/// the parser has not yet passed are kept: the read-ahead buffers' worth, whatever the size
/// of the file.
struct Breaks<R> {
    inner: R,
    at: u64,
    /// Offsets of the CR and LF bytes read (`true` for LF), oldest first.
    seen: Rc<RefCell<VecDeque<(u64, bool)>>>,
}

impl<R: Read> Read for Breaks<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut seen = self.seen.borrow_mut();
        for (i, b) in buf[..n].iter().enumerate() {
            if matches!(b, b'\n' | b'\r') {
                seen.push_back((self.at + i as u64, *b == b'\n'));
            }
        }
        self.at += n as u64;
        Ok(n)
    }
}

/// Line numbers from the breaks `Breaks` saw.
struct Lines {
    seen: Rc<RefCell<VecDeque<(u64, bool)>>>,
    /// Line breaks before the last record's start.
    before: u64,
}

impl Lines {
    /// The line (from 1) of the first character of the record the csv crate places at
    /// `byte`: after every line break before it, and after those it starts with (the LF of
    /// a CRLF, blank lines), which are not the record's.
    fn of(&mut self, byte: u64) -> u64 {
        let mut seen = self.seen.borrow_mut();
        let mut p = byte;
        while let Some(&(at, lf)) = seen.front() {
            if at >= byte && at != p {
                break;
            }
            seen.pop_front();
            // A line ends at an LF, or at a CR not followed by one (old Mac files).
            let cr_of_crlf = !lf && seen.front().is_some_and(|&(next, lf)| lf && next == at + 1);
            if !cr_of_crlf {
                self.before += 1;
            }
            if at == p {
                p += 1;
            }
        }
        self.before + 1
    }
}

/// A call log being read.
pub struct CallLog<R: Read> {
    rows: csv::Reader<Breaks<R>>,
    lines: Lines,
    pub vendor: Vendor,
    cols: Columns,
    record: csv::ByteRecord,
    /// The next row, read ahead to join the legs of one call.
    ahead: Option<(u64, Raw)>,
    done: bool,
    /// Numbers already matched (a log calls the same customers again and again; parsing a
    /// number is most of a row's cost): by number and region, at most `NUMBERS_KEPT`.
    numbers: RefCell<HashMap<(String, Option<String>), Matched>>,
}

/// What `match_number` found for a number.
type Matched = (Option<super::Match>, Option<String>);

/// How many matched numbers a call log keeps (the cache is emptied when full, so a run's
/// memory does not grow with the log).
const NUMBERS_KEPT: usize = 50_000;

/// One row's values.
#[derive(Debug, Clone)]
struct Raw {
    id: Option<String>,
    date: Option<When>,
    date_text: String,
    inbound: Option<bool>,
    number: String,
    region: Option<String>,
    outcome: Option<&'static str>,
    seconds: Option<u64>,
    agent: Option<String>,
    note: Option<String>,
    error: Option<String>,
}

impl<R: Read> CallLog<R> {
    /// Reads the header and recognises the vendor. `first` is the start of the file (to
    /// sniff the separator); `rest` the whole file from its start.
    pub fn new(head: &[u8], input: R) -> Result<CallLog<R>, CallsError> {
        let delimiter = sniff(head);
        let seen = Rc::new(RefCell::new(VecDeque::new()));
        let mut rows = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(Breaks {
                inner: input,
                at: 0,
                seen: seen.clone(),
            });
        let mut header = csv::ByteRecord::new();
        loop {
            match rows.read_byte_record(&mut header) {
                Ok(false) => return Err(CallsError::Empty),
                Ok(true) if header.iter().all(|c| c.iter().all(u8::is_ascii_whitespace)) => {
                    continue
                }
                Ok(true) => break,
                Err(e) => return Err(csv_error(&e)),
            }
        }
        let names: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let c = if i == 0 {
                    c.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(c)
                } else {
                    c
                };
                std::str::from_utf8(c)
                    .map(|s| s.trim().to_lowercase())
                    .map_err(|_| CallsError::NotUtf8(1))
            })
            .collect::<Result<_, _>>()?;
        let col = |n: &str| names.iter().position(|x| x == n);
        let (vendor, cols) = if col("call id").is_some()
            || col("datetime (utc)").is_some() && col("answered").is_some()
        {
            (
                Vendor::Aircall,
                Columns {
                    id: col("call id").or(col("call id (internal)")),
                    utc: col("datetime (utc)"),
                    local: col("datetime (tz offset incl.)"),
                    date: col("date (tz offset incl.)"),
                    time: col("time (tz offset incl.)"),
                    direction: col("direction"),
                    from: col("from"),
                    to: col("to"),
                    customer: col("customer number"),
                    answered: col("answered"),
                    voicemail: col("voicemail"),
                    state: col("call type"),
                    in_call: col("duration (in call)"),
                    total: col("duration (total)"),
                    agent: col("user"),
                    country: col("country_code"),
                    note: col("comments"),
                    ..Columns::default()
                },
            )
        } else if col("cdr_id").is_some() || col("call_id").is_some() && col("last_state").is_some()
        {
            (
                Vendor::Ringover,
                Columns {
                    id: col("call_id"),
                    utc: col("start_time"),
                    direction: col("direction"),
                    from: col("from_number"),
                    to: col("to_number"),
                    customer: col("contact_number"),
                    answered: col("is_answered"),
                    state: col("last_state"),
                    in_call: col("incall_duration"),
                    total: col("total_duration"),
                    agent: col("user_name"),
                    agent_email: col("user_email"),
                    note: col("note"),
                    ..Columns::default()
                },
            )
        } else if col("date").is_some()
            && col("direction").is_some()
            && col("from").is_some()
            && col("to").is_some()
        {
            (
                Vendor::Generic,
                Columns {
                    id: col("id").or(col("call_id")),
                    local: col("date"),
                    direction: col("direction"),
                    from: col("from"),
                    to: col("to"),
                    outcome: col("outcome"),
                    in_call: col("duration_seconds").or(col("duration")),
                    agent_email: col("agent_email").or(col("agent")),
                    note: col("note").or(col("notes")),
                    ..Columns::default()
                },
            )
        } else {
            let shown: Vec<&str> = names.iter().take(20).map(String::as_str).collect();
            return Err(CallsError::UnknownColumns(shown.join(", ")));
        };
        Ok(CallLog {
            rows,
            lines: Lines { seen, before: 0 },
            vendor,
            cols,
            record: csv::ByteRecord::new(),
            ahead: None,
            numbers: RefCell::new(HashMap::new()),
            done: false,
        })
    }

    /// The next call, matched to the CRM; `None` at the end. A CSV error ends the log.
    pub fn next_call(&mut self, m: &Matcher) -> Option<Result<Row, CallsError>> {
        let (line, mut raw) = match self.ahead.take() {
            Some(x) => x,
            None => match self.read_raw()? {
                Ok(x) => x,
                Err(e) => return Some(Err(e)),
            },
        };
        // Ringover writes one row per leg of a call: join the rows of one call id that
        // follow each other, keeping the leg that was answered, the longest.
        if self.vendor == Vendor::Ringover {
            while let Some(next) = self.read_raw() {
                match next {
                    Ok((l, r)) if r.id.is_some() && r.id == raw.id => {
                        let better =
                            |x: &Raw| (x.outcome == Some("answered"), x.seconds.unwrap_or(0));
                        if better(&r) > better(&raw) {
                            raw = r;
                        }
                        let _ = l;
                    }
                    Ok(other) => {
                        self.ahead = Some(other);
                        break;
                    }
                    Err(e) => return Some(Err(e)),
                }
            }
        }
        Some(Ok(self.call(m, line, raw)))
    }

    fn read_raw(&mut self) -> Option<Result<(u64, Raw), CallsError>> {
        if self.done {
            return None;
        }
        loop {
            match self.rows.read_byte_record(&mut self.record) {
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(csv_error(&e)));
                }
                Ok(true) => {}
            }
            let line = self
                .lines
                .of(self.record.position().map_or(0, |p| p.byte()));
            if self
                .record
                .iter()
                .all(|c| c.iter().all(u8::is_ascii_whitespace))
            {
                continue;
            }
            let mut cells: Vec<&str> = Vec::with_capacity(self.record.len());
            for c in self.record.iter() {
                match std::str::from_utf8(c) {
                    Ok(s) => cells.push(s),
                    Err(_) => {
                        self.done = true;
                        return Some(Err(CallsError::NotUtf8(line)));
                    }
                }
            }
            return Some(Ok((line, raw(self.vendor, &self.cols, &cells))));
        }
    }

    fn call(&self, m: &Matcher, line: u64, raw: Raw) -> Row {
        if let Some(why) = raw.error {
            return Row::Invalid { line, reason: why };
        }
        let Some(date) = raw.date else {
            return Row::Invalid {
                line,
                reason: format!(
                    "`{}` is not a date and time",
                    crate::escape::excerpt(&raw.date_text, 40)
                ),
            };
        };
        let Some(inbound) = raw.inbound else {
            return Row::Invalid {
                line,
                reason: "the direction is neither inbound nor outbound".into(),
            };
        };
        let number = raw.number.trim();
        let key = (number.to_string(), raw.region.clone());
        let cached = self.numbers.borrow().get(&key).cloned();
        let (found, e164) = match cached {
            Some(hit) => hit,
            None => {
                let hit = match_number(m, number, raw.region.as_deref());
                let mut numbers = self.numbers.borrow_mut();
                if numbers.len() >= NUMBERS_KEPT {
                    numbers.clear();
                }
                numbers.insert(key, hit.clone());
                hit
            }
        };
        let Some(found) = found else {
            let shown = match &e164 {
                Some(e) if e != number => format!("{number} ({e})"),
                _ => number.to_string(),
            };
            return Row::Unmatched {
                line,
                number: if shown.is_empty() {
                    "no number".into()
                } else {
                    shown
                },
            };
        };
        let call_id = match &raw.id {
            Some(id) => format!("{}:{id}", self.vendor.name().to_lowercase()),
            None => format!(
                "sloop:{}",
                stable_hash(&[&raw.date_text, number, if inbound { "in" } else { "out" }])
            ),
        };
        let outcome = raw.outcome;
        Row::Call {
            line,
            call: Box::new(Capture {
                kind: ActivityKind::Call,
                date: Some(date),
                account: found.account,
                contact: found.contact,
                owner: raw.agent.as_deref().and_then(|a| m.member(a)),
                subject: Some(format!(
                    "{} call{}",
                    if inbound { "Inbound" } else { "Outbound" },
                    outcome.map(|o| format!(" ({o})")).unwrap_or_default()
                )),
                body: raw
                    .note
                    .filter(|n| !n.trim().is_empty())
                    .map(|n| super::text::cap(n.replace("\r\n", "\n").trim().to_string())),
                duration_min: raw
                    .seconds
                    .filter(|s| *s > 0)
                    .map(|s| s.div_ceil(60).min(1440)),
                participants: vec![e164.unwrap_or_else(|| number.to_string())],
                direction: Some(if inbound { "inbound" } else { "outbound" }),
                outcome,
                call_id: Some(call_id),
                ..Capture::default()
            }),
        }
    }
}

/// The contact a number belongs to, and the number in E.164 when it is one. A number with
/// its country code is looked up as it is; one without is read in the call's country (when
/// the log gives it) and in the country of each account, and matches when exactly one
/// contact has it.
fn match_number(
    m: &Matcher,
    number: &str,
    region: Option<&str>,
) -> (Option<super::Match>, Option<String>) {
    if let Some(e) = phone::e164(number, None) {
        return (m.by_phone(&e), Some(e));
    }
    let mut regions: Vec<&str> = region.into_iter().collect();
    for a in &m.crm().accounts {
        if let Some(c) = a.country.as_deref() {
            if !regions.contains(&c) {
                regions.push(c);
            }
        }
    }
    let mut found: Option<(super::Match, String)> = None;
    let mut first_e164 = None;
    for r in regions {
        let Some(e) = phone::e164(number, Some(r)) else {
            continue;
        };
        first_e164.get_or_insert_with(|| e.clone());
        if let Some(hit) = m.by_phone(&e) {
            match &found {
                Some((f, _)) if *f != hit => return (None, first_e164),
                _ => found = Some((hit, e)),
            }
        }
    }
    match found {
        Some((hit, e)) => (Some(hit), Some(e)),
        None => (None, first_e164),
    }
}

fn raw(vendor: Vendor, c: &Columns, cells: &[&str]) -> Raw {
    let get = |i: Option<usize>| {
        i.and_then(|i| cells.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    };
    let direction = get(c.direction).map(str::to_ascii_lowercase);
    let inbound = match direction.as_deref() {
        Some("inbound" | "in" | "incoming" | "entrant") => Some(true),
        Some("outbound" | "out" | "outgoing" | "sortant") => Some(false),
        _ => None,
    };
    // The number on the other end.
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let counterpart = get(c.customer).map(str::to_string).or_else(|| {
        let n = if inbound == Some(true) {
            get(c.from)
        } else {
            get(c.to)
        };
        n.map(str::to_string)
    });
    let number = match (vendor, counterpart) {
        // Aircall's from/to and Ringover's numbers are international digits without `+`.
        (Vendor::Aircall | Vendor::Ringover, Some(n)) if digits_only(&n) => format!("+{n}"),
        (_, Some(n)) => n,
        (_, None) => String::new(),
    };
    let (date, date_text) = match vendor {
        Vendor::Aircall => {
            let utc = get(c.utc).unwrap_or("");
            let local = get(c.local)
                .map(str::to_string)
                .or_else(|| Some(format!("{} {}", get(c.date)?, get(c.time)?)));
            (aircall_time(utc, local.as_deref()), utc.to_string())
        }
        Vendor::Ringover => {
            let t = get(c.utc).unwrap_or("");
            (
                DateTime::parse_from_rfc3339(t).ok().map(When::Offset),
                t.to_string(),
            )
        }
        Vendor::Generic => {
            let t = get(c.local).unwrap_or("");
            (generic_time(t), t.to_string())
        }
    };
    let yes = |i: Option<usize>| {
        get(i).is_some_and(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "yes" | "true" | "1" | "oui"
            )
        })
    };
    let state = get(c.state).map(str::to_ascii_uppercase);
    let outcome = match vendor {
        Vendor::Aircall => Some(if yes(c.answered) {
            "answered"
        } else if get(c.voicemail).is_some() || state.as_deref() == Some("VOICEMAIL") {
            "voicemail"
        } else {
            "missed"
        }),
        Vendor::Ringover => Some(match state.as_deref() {
            _ if yes(c.answered) => "answered",
            Some("VOICEMAIL" | "VOICEMAIL_ANSWERED") => "voicemail",
            Some("FAILED") => "failed",
            _ => "missed",
        }),
        Vendor::Generic => get(c.outcome).map(|o| match o.to_ascii_lowercase().as_str() {
            "answered" | "connected" | "completed" | "yes" => "answered",
            "voicemail" | "voice_mail" | "left_voicemail" => "voicemail",
            "failed" | "busy" | "error" => "failed",
            _ => "missed",
        }),
    };
    let seconds_text = get(c.in_call).or(if outcome == Some("answered") {
        get(c.total)
    } else {
        None
    });
    let (seconds, error) = match seconds_text {
        None => (None, None),
        Some(s) => match s.parse::<f64>() {
            Ok(v) if (0.0..1e9).contains(&v) => (Some(v.round() as u64), None),
            _ => (
                None,
                Some(format!(
                    "`{}` is not a duration in seconds",
                    crate::escape::excerpt(s, 30)
                )),
            ),
        },
    };
    Raw {
        id: get(c.id).map(str::to_string),
        date,
        date_text,
        inbound,
        number,
        region: get(c.country).map(str::to_ascii_uppercase),
        outcome,
        seconds,
        agent: get(c.agent_email)
            .or(get(c.agent))
            .filter(|a| !a.starts_with('['))
            .map(str::to_string),
        note: get(c.note).map(str::to_string),
        error,
    }
}

/// Aircall's UTC time (`2026-11-24 09:32:07.214`), with the offset its local time shows.
fn aircall_time(utc: &str, local: Option<&str>) -> Option<When> {
    let parse = |s: &str| {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
            .ok()
    };
    let utc = parse(utc)?;
    let utc = utc.with_nanosecond_zero();
    let offset = local
        .and_then(parse)
        .map(|l| (l.with_nanosecond_zero() - utc).num_seconds())
        .filter(|s| s.abs() < 24 * 3600 && s % 60 == 0)
        .unwrap_or(0);
    let zone = FixedOffset::east_opt(offset as i32)?;
    Some(When::Offset(DateTime::from_naive_utc_and_offset(utc, zone)))
}

trait NoNanos {
    fn with_nanosecond_zero(self) -> Self;
}

impl NoNanos for NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap_or(self)
    }
}

/// RFC 3339 (`2026-11-24T09:15:00+01:00`), a local `2026-11-24 09:15[:00]`, or a date.
fn generic_time(s: &str) -> Option<When> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(When::Offset(t));
    }
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(When::Local(t));
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(When::Date)
}

/// The separator that splits the first line into the most cells: comma, semicolon or tab.
fn sniff(head: &[u8]) -> u8 {
    let first = head.split(|b| *b == b'\n').next().unwrap_or(head);
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| (first.iter().filter(|b| *b == d).count(), *d == b','))
        .unwrap_or(b',')
}

fn csv_error(e: &csv::Error) -> CallsError {
    let line = e.position().map_or(0, |p| p.line());
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => CallsError::NotUtf8(line),
        _ => CallsError::Csv {
            line,
            why: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows are numbered as an editor numbers the file's lines, whatever ends them (LF, CRLF,
    /// a lone CR), with blank lines and line breaks inside quoted cells counted.
    #[test]
    fn rows_carry_the_line_they_start_on() {
        let crm = crate::store::load(&crate::store::Memory::new([(
            "sloop.toml",
            "[team.lea]\nname = \"Léa\"\n",
        )]))
        .unwrap()
        .crm;
        let m = Matcher::new(&crm);
        let lines = |text: &str| -> Vec<u64> {
            let mut log = CallLog::new(text.as_bytes(), text.as_bytes()).unwrap();
            let mut out = Vec::new();
            while let Some(row) = log.next_call(&m) {
                out.push(match row.unwrap() {
                    Row::Call { line, .. }
                    | Row::Unmatched { line, .. }
                    | Row::Invalid { line, .. } => line,
                });
            }
            out
        };
        let rows = [
            "2026-11-24T09:15:00+01:00,inbound,+33 6 12 48 90 31,x,60",
            "2026-11-24T09:15:00+01:00,outbound,x,+33 6 12 48 90 31,60",
            "2026-11-24T09:15:00+01:00,inbound,+1 312 555 0147,x,60",
        ];
        let head = "date,direction,from,to,duration_seconds";
        for end in ["\n", "\r\n", "\r"] {
            let text = format!(
                "{head}{end}{}{end}{}{end}{end}{end}{}{end}",
                rows[0], rows[1], rows[2]
            );
            assert_eq!(lines(&text), [2, 3, 6], "{end:?}");
            let quoted = format!(
                "{head},note{end}{},\"two{end}lines\"{end}{},{end}",
                rows[0], rows[1]
            );
            assert_eq!(lines(&quoted), [2, 4], "{end:?}");
            let blank_first = format!("{end}{end}{head}{end}{}{end}", rows[0]);
            assert_eq!(lines(&blank_first), [4], "{end:?}");
        }
    }

    #[test]
    fn times_keep_the_offset_of_the_line() {
        let t = aircall_time("2026-11-24 09:32:07.214", Some("2026-11-24 10:32:07")).unwrap();
        assert_eq!(
            t,
            When::Offset(DateTime::parse_from_rfc3339("2026-11-24T10:32:07+01:00").unwrap())
        );
        let t = aircall_time("2026-11-24 15:02:33", Some("2026-11-24 09:02:33")).unwrap();
        assert_eq!(
            t,
            When::Offset(DateTime::parse_from_rfc3339("2026-11-24T09:02:33-06:00").unwrap())
        );
        assert_eq!(aircall_time("yesterday", None), None);
        assert!(matches!(
            generic_time("2026-11-24 09:15"),
            Some(When::Local(_))
        ));
        assert_eq!(sniff(b"a;b;c\n1,2;3"), b';');
        assert_eq!(sniff(b"a,b\n"), b',');
    }
}
