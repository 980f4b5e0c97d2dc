//! "Bcc the CRM": one email message becomes one `email` activity on the account it concerns.
//! Pure: bytes in, the activity's fields out.

use std::collections::{HashMap, HashSet};

use chrono::{FixedOffset, NaiveDate, TimeZone};
use mail_parser::HeaderName;

use crate::crm::Crm;
use crate::escape;
use crate::store::edit::FieldValue;
use crate::writes::is_free_mail;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IngestError {
    #[error("the message is empty")]
    Empty,
    #[error("the message's headers are not valid UTF-8 (raw 8-bit headers are not standard mail)")]
    NotUtf8Headers,
    #[error("this is not an email message")]
    NotEmail,
    #[error("the message has no Date header, so it cannot be dated")]
    NoDate,
    #[error("the Date header `{header}` is not a date: {why}")]
    BadDate { header: String, why: String },
    #[error("no participant of the message is a contact, and no address is at an account's domain ({0})")]
    Unmatched(String),
}

impl IngestError {
    pub fn hint(&self) -> Option<String> {
        match self {
            IngestError::Unmatched(_) => Some("add the person first (`sloop new contact … --email …`) or set the account's `domain`, then ingest again".into()),
            IngestError::NotUtf8Headers => Some("save the message again from your mail client (it encodes headers properly)".into()),
            IngestError::BadDate { .. } => Some("RFC 5322 dates read like `Thu, 26 Nov 2026 10:30:00 +0100`".into()),
            _ => None,
        }
    }
}

/// What the message says and where it belongs.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub message_id: Option<String>,
    pub date: chrono::DateTime<FixedOffset>,
    pub subject: Option<String>,
    /// Every address of From, To and Cc, lowercase, in that order, without repeats.
    pub participants: Vec<String>,
    pub account: String,
    pub contact: Option<String>,
    pub owner: Option<String>,
}

/// Parses a message and matches it to the CRM. Linear in the number of participants (a
/// message with 200,000 addresses in Cc is read in one pass, each looked up in a map).
pub fn read(crm: &Crm, bytes: &[u8]) -> Result<Email, IngestError> {
    // A byte order mark before the first header would make it `\u{feff}From`, not `From`.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(IngestError::Empty);
    }
    let head_end = find(bytes, b"\r\n\r\n")
        .or_else(|| find(bytes, b"\n\n"))
        .unwrap_or(bytes.len());
    if std::str::from_utf8(&bytes[..head_end]).is_err() {
        return Err(IngestError::NotUtf8Headers);
    }
    let padded = pad_date_lines(bytes, head_end);
    let bytes: &[u8] = &padded;
    let message = mail_parser::MessageParser::default()
        .parse(bytes)
        .ok_or(IngestError::NotEmail)?;
    // Unfolded (RFC 5322 §2.2.3): a line break before white space is not part of a value,
    // even inside quotes, so LF and CRLF messages read the same.
    let raw = |name: HeaderName<'static>| {
        raw_headers(&message, bytes, name)
            .into_iter()
            .map(unfold)
            .collect::<Vec<_>>()
    };
    if raw(HeaderName::From).is_empty() && raw(HeaderName::To).is_empty() {
        return Err(IngestError::NotEmail);
    }
    let date_headers = raw(HeaderName::Date);
    let date_header: &str = date_headers.first().ok_or(IngestError::NoDate)?;
    let date = rfc5322_date(date_header).map_err(|why| IngestError::BadDate {
        header: escape::excerpt(date_header.trim(), 80).into_owned(),
        why,
    })?;
    let mut participants: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for header in [HeaderName::From, HeaderName::To, HeaderName::Cc] {
        for text in raw(header) {
            for a in addresses(&text) {
                let a = a.to_lowercase();
                if seen.insert(a.clone()) {
                    participants.push(a);
                }
            }
        }
    }
    // The first contact (in the CRM's order) with each email, ASCII case-insensitively.
    let mut contacts: HashMap<String, &crate::model::Contact> = HashMap::new();
    for c in &crm.contacts {
        if let Some(e) = c.email.as_deref() {
            contacts.entry(e.to_ascii_lowercase()).or_insert(c);
        }
    }
    let contact = participants
        .iter()
        .find_map(|p| contacts.get(&p.to_ascii_lowercase()).copied());
    let account = match contact.and_then(|c| c.account.as_ref()) {
        Some(a) => a.to_string(),
        None => {
            let mut by_domain: HashMap<String, &str> = HashMap::new();
            for a in &crm.accounts {
                if let Some(d) = a.domain.as_deref() {
                    by_domain
                        .entry(d.to_ascii_lowercase())
                        .or_insert(a.meta.id.as_str());
                }
            }
            participants
                .iter()
                .filter(|p| crm.config.member_by_email(p).is_none())
                .filter_map(|p| p.rsplit_once('@').map(|(_, d)| d))
                .filter(|d| !is_free_mail(d))
                .find_map(|d| by_domain.get(&d.to_ascii_lowercase()).copied())
                .map(str::to_string)
                .ok_or_else(|| IngestError::Unmatched(some_of(&participants)))?
        }
    };
    let owner = participants
        .iter()
        .find_map(|p| crm.config.member_by_email(p))
        .map(|m| m.id.to_string());
    Ok(Email {
        message_id: message.message_id().and_then(one_line),
        date,
        subject: message.subject().and_then(one_line),
        participants,
        account,
        contact: contact.map(|c| c.meta.id.clone()),
        owner,
    })
}

/// The message with two spaces before the line break of each line of its Date header.
///
/// mail-parser 0.11 reads the two bytes after the first letter of an alphabetic time zone
/// whatever they are, so a zone shorter than three letters (`UT` before LF, `Z`) eats the
/// line break and the next header with it: `Date: … UT\nFrom: …` had no From. The spaces
/// give it something harmless to eat (trailing white space means nothing in a date).
fn pad_date_lines(bytes: &[u8], head_end: usize) -> std::borrow::Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    let (mut in_date, mut padded) = (false, false);
    let mut rest = &bytes[..head_end];
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = &rest[..end];
        rest = &rest[end..];
        in_date = match line.first() {
            Some(b' ' | b'\t') => in_date,
            _ => line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"date:"),
        };
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        out.extend_from_slice(body);
        if in_date {
            out.extend_from_slice(b"  ");
            padded = true;
        }
        out.extend_from_slice(&line[body.len()..]);
    }
    if !padded {
        return std::borrow::Cow::Borrowed(bytes);
    }
    out.extend_from_slice(&bytes[head_end..]);
    std::borrow::Cow::Owned(out)
}

/// A header's text without its folding: CRLF or LF before a space or a tab is removed.
fn unfold(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\n') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\n') {
        let before = rest[..i].strip_suffix('\r').unwrap_or(&rest[..i]);
        out.push_str(before);
        rest = &rest[i + 1..];
        if !rest.starts_with([' ', '\t']) {
            out.push('\n');
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// A header value as the activity keeps it: on one line (a folded header mail-parser did
/// not unfold keeps its CR and LF), trimmed, and absent when blank (an activity's `subject`
/// and `message_id` may not be blank).
fn one_line(value: &str) -> Option<String> {
    let v: String = value
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n'))
        .collect();
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// The raw text of every header named `name`, in order: mail-parser's own reading of dates
/// and addresses loses what RFC 5322 says (see `rfc5322_date` and `addresses`).
fn raw_headers<'a>(
    message: &'a mail_parser::Message<'a>,
    bytes: &'a [u8],
    name: HeaderName<'static>,
) -> Vec<&'a str> {
    message
        .headers()
        .iter()
        .filter(|h| h.name == name)
        .filter_map(|h| bytes.get(h.offset_start as usize..h.offset_end as usize))
        .filter_map(|b| std::str::from_utf8(b).ok())
        .collect()
}

/// The first participants, for a message (a message may have thousands).
fn some_of(participants: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = participants
        .iter()
        .take(SHOWN)
        .map(|p| escape::excerpt(p, 100).into_owned())
        .collect::<Vec<_>>()
        .join(", ");
    if participants.len() > SHOWN {
        text.push_str(&format!(" and {} more", participants.len() - SHOWN));
    }
    text
}

/// A header's text without its comments (`(…)`, nested, with `\` escapes), quoted strings
/// kept as they are; each comment becomes a space.
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut quoted = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if depth > 0 || quoted => {
                let next = chars.next();
                if depth == 0 {
                    out.push(c);
                    out.extend(next);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push(' ');
                }
            }
            _ if depth > 0 => {}
            c => out.push(c),
        }
    }
    out
}

/// The addr-specs of an address list (RFC 5322 §3.4, with the obsolete forms of §4.4): each
/// mailbox's address between `<` and `>`, or the mailbox itself; groups (`team: a, b;`)
/// give their members; display names and comments are dropped. A quoted local part keeps
/// its quotes and escapes (`"a\"b"@host`). Anything without a local part and a domain is
/// not an address.
pub fn addresses(text: &str) -> Vec<String> {
    let text = without_comments(text);
    let mut out = Vec::new();
    // The mailbox being read; the address between `<` and `>` once it is closed.
    let mut current = String::new();
    let mut angle: Option<String> = None;
    let mut closed: Option<String> = None;
    let mut quoted = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if quoted {
            let target = angle.as_mut().unwrap_or(&mut current);
            target.push(c);
            match c {
                '\\' => target.extend(chars.next()),
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            ',' | ';' if angle.is_none() => {
                let spec = closed
                    .take()
                    .unwrap_or_else(|| std::mem::take(&mut current));
                current.clear();
                out.extend(addr_spec(&spec));
            }
            // What follows a closed `<…>` until the separator is not part of the address.
            _ if closed.is_some() => {}
            '<' if angle.is_none() => angle = Some(String::new()),
            '>' if angle.is_some() => closed = angle.take(),
            // A group's name ends at `:` outside an address (its members follow).
            ':' if angle.is_none() && !current.contains('@') => current.clear(),
            c => {
                let target = angle.as_mut().unwrap_or(&mut current);
                target.push(c);
                if c == '"' {
                    quoted = true;
                }
            }
        }
    }
    let spec = closed.or(angle).unwrap_or(current);
    out.extend(addr_spec(&spec));
    out
}

/// One addr-spec, trimmed: `local@domain` with both parts non-empty (an obsolete route
/// `@a,@b:` before it is dropped); `<…>` around it is taken off.
fn addr_spec(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(text)
        .trim();
    // obs-route: "@a.example,@b.example:" before the address.
    let text = match text.strip_prefix('@') {
        Some(_) => text.rsplit_once(':').map(|(_, a)| a).unwrap_or(text),
        None => text,
    };
    // The `@` that separates local part and domain is the last one outside quotes.
    let mut quoted = false;
    let mut escaped = false;
    let mut at = None;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '@' if !quoted => at = Some(i),
            _ => {}
        }
    }
    let at = at?;
    let (local, domain) = (text[..at].trim(), text[at + 1..].trim());
    if local.is_empty() || domain.is_empty() || domain.contains(char::is_whitespace) {
        return None;
    }
    if !local.starts_with('"') && local.contains(char::is_whitespace) {
        return None;
    }
    Some(format!("{local}@{domain}"))
}

/// A Date header as RFC 5322 writes it (§3.3, with the obsolete forms of §4.3): `[dow ,]
/// day month year hh:mm[:ss] zone`, comments allowed. A two-digit year is 19xx from 50 and
/// 20xx below, a three-digit one 1900 + it, four digits are the year (0000 is not 2000); the
/// year must be 1900 or later. The zone is `+hhmm` or `-hhmm` (a zone without a sign, such
/// as `0000`, is not one), `UT`, `GMT`, a US zone (`EST`…) or a military letter (taken as
/// +0000, as RFC 5322 advises).
pub fn rfc5322_date(text: &str) -> Result<chrono::DateTime<FixedOffset>, String> {
    let text = without_comments(text);
    // `10 : 30` is obsolete but allowed; `Thu,26` too.
    let mut spaced = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ',' => spaced.push_str(" , "),
            ':' => {
                while spaced.ends_with(char::is_whitespace) {
                    spaced.pop();
                }
                spaced.push(':');
            }
            c if c.is_whitespace() && spaced.ends_with(':') => {}
            c => spaced.push(c),
        }
    }
    let mut tokens: Vec<&str> = spaced.split_whitespace().collect();
    if let Some(i) = tokens.iter().position(|t| *t == ",") {
        let dow = &tokens[..i];
        let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        if dow.len() != 1 || !days.contains(&dow[0].to_ascii_lowercase().as_str()) {
            return Err(format!("`{}` is not a day of the week", dow.join(" ")));
        }
        tokens.drain(..=i);
    }
    let [day, month, year, time, zone, rest @ ..] = tokens.as_slice() else {
        return Err("it needs a day, a month, a year, a time and a zone".into());
    };
    if let Some(extra) = rest.first() {
        return Err(format!("`{extra}` follows the zone"));
    }
    let number = |t: &str, what: &str, digits: std::ops::RangeInclusive<usize>| {
        if digits.contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) {
            t.parse::<u32>()
                .map_err(|_| format!("`{t}` is not a {what}"))
        } else {
            Err(format!("`{t}` is not a {what}"))
        }
    };
    let day = number(day, "day", 1..=2)?;
    let months = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let month = months
        .iter()
        .position(|m| month.eq_ignore_ascii_case(m))
        .ok_or_else(|| format!("`{month}` is not a month"))? as u32
        + 1;
    let year = match (year.len(), number(year, "year", 2..=9)?) {
        (2, y) if y < 50 => 2000 + y,
        (2 | 3, y) => 1900 + y,
        (_, y) => y,
    };
    if year < 1900 {
        return Err(format!("the year {year:04} is before 1900"));
    }
    // An activity's date is a TOML date: four digits.
    if year > 9999 {
        return Err(format!("the year {year} is after 9999"));
    }
    let mut hms = time.split(':');
    let hour = number(hms.next().unwrap_or(""), "time", 2..=2)?;
    let minute = number(hms.next().unwrap_or(""), "time", 2..=2)?;
    let second = match hms.next() {
        Some(s) => number(s, "time", 2..=2)?,
        None => 0,
    };
    if hms.next().is_some() {
        return Err(format!("`{time}` is not a time"));
    }
    let minutes = zone_minutes(zone)?;
    let local = NaiveDate::from_ymd_opt(year as i32, month, day)
        .ok_or_else(|| format!("{day} {} {year} is not a day", months[month as usize - 1]))?
        // A leap second (60) is the last second of its minute.
        .and_hms_opt(hour, minute, second.min(59))
        .ok_or_else(|| format!("`{time}` is not a time of day"))?;
    let offset =
        FixedOffset::east_opt(minutes * 60).ok_or_else(|| format!("`{zone}` is not a zone"))?;
    offset
        .from_local_datetime(&local)
        .single()
        .ok_or_else(|| format!("`{time} {zone}` is not a time"))
}

/// A zone's offset east of UTC, in minutes.
fn zone_minutes(zone: &str) -> Result<i32, String> {
    let named = match zone.to_ascii_uppercase().as_str() {
        "UT" | "GMT" | "Z" => Some(0),
        "EST" => Some(-5 * 60),
        "EDT" => Some(-4 * 60),
        "CST" => Some(-6 * 60),
        "CDT" => Some(-5 * 60),
        "MST" => Some(-7 * 60),
        "MDT" => Some(-6 * 60),
        "PST" => Some(-8 * 60),
        "PDT" => Some(-7 * 60),
        z if z.len() == 1 && z != "J" && z.bytes().all(|b| b.is_ascii_alphabetic()) => Some(0),
        _ => None,
    };
    if let Some(m) = named {
        return Ok(m);
    }
    let (sign, digits) = match zone.as_bytes().first() {
        Some(b'+') => (1, &zone[1..]),
        Some(b'-') => (-1, &zone[1..]),
        _ if zone.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(format!(
                "the zone `{zone}` has no sign (write `+{zone}` or `-{zone}`)"
            ))
        }
        _ => return Err(format!("`{zone}` is not a zone")),
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{zone}` is not a zone (`+hhmm` or `-hhmm`)"));
    }
    let hours: i32 = digits[..2]
        .parse()
        .map_err(|_| format!("`{zone}` is not a zone"))?;
    let minutes: i32 = digits[2..]
        .parse()
        .map_err(|_| format!("`{zone}` is not a zone"))?;
    if hours > 23 || minutes > 59 {
        return Err(format!("`{zone}` is not a zone"));
    }
    Ok(sign * (hours * 60 + minutes))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl Email {
    /// The activity's fields, in file order (`date`: the day in the message's own time zone).
    pub fn fields(&self) -> Vec<(String, FieldValue)> {
        let mut f = vec![
            ("kind".to_string(), FieldValue::Str("email".into())),
            ("date".to_string(), FieldValue::Date(self.date.date_naive())),
            ("account".to_string(), FieldValue::Str(self.account.clone())),
        ];
        if let Some(c) = &self.contact {
            f.push(("contact".into(), FieldValue::Str(c.clone())));
        }
        if let Some(o) = &self.owner {
            f.push(("owner".into(), FieldValue::Str(o.clone())));
        }
        if let Some(s) = &self.subject {
            f.push(("subject".into(), FieldValue::Str(s.clone())));
        }
        if let Some(m) = &self.message_id {
            f.push(("message_id".into(), FieldValue::Str(m.clone())));
        }
        f.push((
            "participants".into(),
            FieldValue::Strings(self.participants.clone()),
        ));
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{load, Memory};

    fn crm() -> Crm {
        load(&Memory::new([
            (
                "sloop.toml",
                "[team.marc]\nname = \"Marc\"\nemail = \"marc@tidewater.io\"\n",
            ),
            (
                "accounts/kestrel.toml",
                "name = \"Kestrel\"\nstatus = \"working\"\nowner = \"marc\"\ndomain = \"kestrel.io\"\n",
            ),
            (
                "contacts/rachel.toml",
                "name = \"Rachel\"\naccount = \"kestrel\"\nemail = \"Rachel@Kestrel.io\"\n",
            ),
        ]))
        .unwrap()
        .crm
    }

    fn message(from: &str, extra: &str) -> String {
        format!("From: {from}\r\nTo: rachel@kestrel.io\r\n{extra}Subject: Hi\r\n\r\nHello\r\n")
    }

    const DATE: &str = "Date: Tue, 24 Nov 2026 10:15:00 +0100\r\n";

    #[test]
    fn a_short_time_zone_does_not_swallow_the_next_header() {
        // Found by the fuzz harness (LF and CRLF must read the same): mail-parser's header
        // boundaries, which `raw_headers` cuts by, took the line after `UT` (before LF) or `Z`
        // into the date.
        for mail in [
            "Date: Tue, 1 Dec 2026 09:00:00 UT\nFrom: rachel@kestrel.io\n\nHi\n",
            "Date: Tue, 1 Dec 2026 09:00:00 Z\r\nFrom: rachel@kestrel.io\r\n\r\nHi\r\n",
            "From: rachel@kestrel.io\nDate: Tue, 1 Dec 2026 09:00:00 Z\n\nHi\n",
            "Date: Tue,\r\n 1 Dec 2026 09:00:00 Z\r\nFrom: rachel@kestrel.io\r\n\r\nHi\r\n",
        ] {
            let email = read(&crm(), mail.as_bytes()).unwrap_or_else(|e| panic!("{mail:?}: {e}"));
            assert_eq!(email.participants, ["rachel@kestrel.io"], "{mail:?}");
            assert_eq!(
                email.date.date_naive().to_string(),
                "2026-12-01",
                "{mail:?}"
            );
        }
    }

    #[test]
    fn blank_or_folded_ids_and_subjects_still_record_the_message() {
        // Found by the fuzz harness: a Message-ID of one NEL (U+0085) was kept and the
        // activity refused as having a blank `message_id`; a folded Message-ID that
        // mail-parser cannot parse kept its line break, CR and all.
        let head = format!("From: rachel@kestrel.io\r\n{DATE}");
        let mail = format!("{head}Message-ID: \u{85}\r\nSubject: \u{2028}\r\n\r\nHi\r\n");
        let email = read(&crm(), mail.as_bytes()).unwrap();
        assert_eq!((email.message_id, email.subject), (None, None));
        for nl in ["\r\n", "\n"] {
            let mail = format!("{head}Message-ID: a{nl} bc@x{nl}{nl}Hi{nl}").replace("\r\n", nl);
            let email = read(&crm(), mail.as_bytes()).unwrap();
            assert_eq!(email.message_id.as_deref(), Some("a bc@x"), "{nl:?}");
        }
    }

    #[test]
    fn folded_addresses_read_the_same_with_lf_and_crlf() {
        // Found by the fuzz harness: a quoted local part over a folded line kept the CR LF.
        for nl in ["\r\n", "\n"] {
            let mail = format!(
                "From: rachel@kestrel.io{nl}Cc: \"x,{nl} y\"@kestrel.io{nl}{}{nl}Hi{nl}",
                DATE.replace("\r\n", nl)
            );
            let email = read(&crm(), mail.as_bytes()).unwrap();
            assert!(
                email.participants.iter().all(|p| !p.contains(['\r', '\n'])),
                "{nl:?}: {:?}",
                email.participants
            );
        }
    }

    #[test]
    fn a_year_past_9999_is_a_bad_date() {
        // Found by the fuzz harness: `26 Nov 65535` was read, then the activity could not be
        // written ("the year of +65535-11-26 is outside 0000–9999").
        let mail = message(
            "rachel@kestrel.io",
            "Date: Mon, 26 Nov 65535 10:30:00 +0000\r\n",
        );
        let e = read(&crm(), mail.as_bytes()).unwrap_err();
        assert!(
            matches!(&e, IngestError::BadDate { why, .. } if why.contains("after 9999")),
            "{e:?}"
        );
        let mail = message(
            "rachel@kestrel.io",
            "Date: Fri, 31 Dec 9999 23:59:59 -1200\r\n",
        );
        assert!(read(&crm(), mail.as_bytes()).is_ok());
    }

    #[test]
    fn dates_are_read_as_rfc_5322_writes_them() {
        let at = |s: &str| rfc5322_date(s).map(|d| d.to_rfc3339());
        for (header, expected) in [
            (
                "Thu, 26 Nov 2026 10:30:00 +0100",
                "2026-11-26T10:30:00+01:00",
            ),
            (" 26 Nov 2026 10:30 -0000\r\n", "2026-11-26T10:30:00+00:00"),
            (
                "Thu,26 Nov 2026 10 : 30 : 59 GMT (UTC)",
                "2026-11-26T10:30:59+00:00",
            ),
            ("Thu, 26 nov 2026 10:30:00 EST", "2026-11-26T10:30:00-05:00"),
            ("Thu, 26 Nov 26 10:30:00 +0000", "2026-11-26T10:30:00+00:00"),
            ("Fri, 26 Nov 99 10:30:00 +0000", "1999-11-26T10:30:00+00:00"),
            (
                "Thu, 26 Nov 126 10:30:00 +0000",
                "2026-11-26T10:30:00+00:00",
            ),
            ("Thu, 26 Nov 2026 10:30:00 Z", "2026-11-26T10:30:00+00:00"),
            (
                "Wed, 31 Dec 2025 23:59:60 +0000",
                "2025-12-31T23:59:59+00:00",
            ),
        ] {
            assert_eq!(at(header).as_deref(), Ok(expected), "{header}");
        }
        for (header, why) in [
            // mail-parser took this for the year 2000.
            (
                "Mon, 1 Jan 0000 10:00:00 +0000",
                "the year 0000 is before 1900",
            ),
            // and this for +0000.
            (
                "Thu, 26 Nov 2026 10:30:00 0000",
                "the zone `0000` has no sign (write `+0000` or `-0000`)",
            ),
            (
                "Thu, 26 Nov 2026 10:30:00 +05300",
                "`+05300` is not a zone (`+hhmm` or `-hhmm`)",
            ),
            (
                "Thu, 26 Nov 2026 0000",
                "it needs a day, a month, a year, a time and a zone",
            ),
            (
                "Thu, 31 Feb 2026 10:30:00 +0000",
                "31 feb 2026 is not a day",
            ),
            (
                "Thu, 26 Nov 2026 25:30:00 +0000",
                "`25:30:00` is not a time of day",
            ),
            ("Thu, 26 Nov 2026 10:30:00 +0000 x", "`x` follows the zone"),
            (
                "Thx, 26 Nov 2026 10:30:00 +0000",
                "`Thx` is not a day of the week",
            ),
        ] {
            assert_eq!(at(header), Err(why.to_string()), "{header}");
        }
    }

    #[test]
    fn addresses_are_read_as_rfc_5322_writes_them() {
        for (header, expected) in [
            ("a@x.io", vec!["a@x.io"]),
            (
                " Ann <ann@x.io>, bob@y.io (Bob)\r\n",
                vec!["ann@x.io", "bob@y.io"],
            ),
            // mail-parser stored these as `@host.com`.
            (r#""a\"b"@host.com"#, vec![r#""a\"b"@host.com"#]),
            (r#"Name <"a b"@host.com>"#, vec![r#""a b"@host.com"#]),
            (r#""Smith, Ann" <ann@x.io>"#, vec!["ann@x.io"]),
            (
                "team: a@x.io, b@x.io;, c@x.io",
                vec!["a@x.io", "b@x.io", "c@x.io"],
            ),
            ("undisclosed-recipients:;", vec![]),
            ("<@relay.example:ann@x.io>", vec!["ann@x.io"]),
            (
                "Ann <ann@x.io> trailing, not an address, @nolocal.io",
                vec!["ann@x.io"],
            ),
        ] {
            assert_eq!(addresses(header), expected, "{header}");
        }
    }

    #[test]
    fn a_byte_order_mark_does_not_hide_the_first_header() {
        let text = format!("\u{feff}{}", message("Marc <marc@tidewater.io>", DATE));
        let email = read(&crm(), text.as_bytes()).unwrap();
        assert_eq!(
            email.participants,
            ["marc@tidewater.io", "rachel@kestrel.io"]
        );
        assert_eq!(email.owner.as_deref(), Some("marc"));
    }

    #[test]
    fn quoted_local_parts_are_kept_and_dates_judged() {
        let text = message(r#""a\"b"@host.com"#, DATE);
        let email = read(&crm(), text.as_bytes()).unwrap();
        assert_eq!(
            email.participants,
            [r#""a\"b"@host.com"#, "rachel@kestrel.io"]
        );
        assert_eq!(email.contact.as_deref(), Some("rachel"));
        let text = message(
            "marc@tidewater.io",
            "Date: Mon, 1 Jan 0000 10:00:00 0000\r\n",
        );
        assert_eq!(
            read(&crm(), text.as_bytes()),
            Err(IngestError::BadDate {
                header: "Mon, 1 Jan 0000 10:00:00 0000".into(),
                why: "the year 0000 is before 1900".into()
            })
        );
    }

    /// 200,000 addresses in Cc (and each again): one pass, each looked up in a map. The
    /// de-duplication used to compare every address with every earlier one (65 s).
    #[test]
    fn a_message_with_200000_cc_addresses_is_read_in_one_pass() {
        const N: usize = 200_000;
        let mut cc = String::with_capacity(N * 24 * 2);
        for round in 0..2 {
            for i in 0..N {
                if i > 0 || round > 0 {
                    cc.push_str(",\r\n ");
                }
                cc.push_str(&format!("p{i}@Bulk{}.example", i % 7));
            }
        }
        let text = message("marc@tidewater.io", &format!("{DATE}Cc: {cc}\r\n"));
        let email = read(&crm(), text.as_bytes()).unwrap();
        assert_eq!(email.participants.len(), 2 + N);
        assert_eq!(
            email.participants[..3],
            ["marc@tidewater.io", "rachel@kestrel.io", "p0@bulk0.example"]
        );
        assert_eq!(
            email.participants[2 + N - 1],
            format!("p{}@bulk{}.example", N - 1, (N - 1) % 7)
        );
        assert_eq!(email.account, "kestrel");
        assert_eq!(email.contact.as_deref(), Some("rachel"));
        // Unmatched, the error names the first ten and counts the rest.
        let text = message("x@unknown.example", &format!("{DATE}Cc: {cc}\r\n"))
            .replace("To: rachel@kestrel.io", "To: y@gmail.com");
        let Err(IngestError::Unmatched(list)) = read(&crm(), text.as_bytes()) else {
            panic!("unmatched expected");
        };
        assert!(
            list.ends_with(&format!(" and {} more", N + 2 - 10)),
            "{}",
            &list[..200]
        );
        assert!(list.len() < 400, "{list}");
    }
}
