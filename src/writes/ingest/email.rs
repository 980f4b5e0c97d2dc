//! "Bcc the CRM": one email message becomes one `email` activity on the account it concerns,
//! or, when it carries a calendar invitation, the `meeting` it announces. Automated mail
//! (auto-replies, bounces, mailing lists) is skipped with its reason. Pure: bytes in, the
//! activity's fields out.

use std::collections::HashSet;

use chrono::{FixedOffset, NaiveDate, TimeZone};
use mail_parser::{MimeHeaders, PartType};

use super::{ics, some_of, stable_hash, text, Capture, Matcher};
use crate::escape;
use crate::model::{ActivityKind, When};

/// The largest message sloop reads (64 MiB): a larger one is refused, not read.
pub const MAX_MESSAGE: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IngestError {
    #[error("the message is empty")]
    Empty,
    #[error("the message is {0} bytes, more than the 64 MiB sloop reads")]
    TooLarge(u64),
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
            IngestError::BadDate { .. } => Some("RFC 5322 dates read like `Thu, 26 Nov 2026 10:30:00 +0100`; `--date` dates the message yourself".into()),
            IngestError::NoDate => Some("give its date with `--date YYYY-MM-DD`".into()),
            _ => None,
        }
    }
}

/// How messages are read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Dates the message (a forwarded message without `Date`), whatever it says.
    pub date: Option<When>,
    /// Keeps the quoted reply and the signature in the body.
    pub keep_quotes: bool,
}

/// What a message says, before it is matched to the CRM.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `Message-ID`, or for a message without one `sloop:` and a hash of its date, senders
    /// and subject, so that it is recorded once whatever its bytes.
    pub message_id: String,
    pub date: When,
    pub subject: Option<String>,
    /// Every address of From, To, Cc (every one of those headers) and Reply-To, lowercase,
    /// in that order, without repeats; then those of a forwarded message's header block.
    pub participants: Vec<String>,
    /// The addresses of From.
    pub from: Vec<String>,
    pub body: Option<String>,
    /// `name (N bytes)`.
    pub attachments: Vec<String>,
    /// Each distinct `text/calendar` or `.ics` part.
    pub calendars: Vec<String>,
    /// Why this is automated or bulk mail, not a conversation (`None` for a person's mail).
    pub automated: Option<String>,
}

/// What a message becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// An `email` activity.
    Email(Box<Capture>),
    /// The events of its calendar invitation (`meeting` or `demo` activities).
    Events(Vec<Capture>),
    /// Not a touchpoint: an auto-reply, a bounce, list mail.
    Skipped(String),
    /// No participant is a contact or at an account's domain: the addresses, and why.
    Unmatched(String),
}

/// Reads a message: headers as RFC 5322 writes them, the body as text, the attachments and
/// calendar parts, and whether it is automated.
pub fn parse(bytes: &[u8], opts: &Options) -> Result<Message, IngestError> {
    // A byte order mark before the first header would make it `\u{feff}From`, not `From`.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.len() as u64 > MAX_MESSAGE {
        return Err(IngestError::TooLarge(bytes.len() as u64));
    }
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
    let message = mail_parser::MessageParser::default()
        .parse(padded.as_ref())
        .ok_or(IngestError::NotEmail)?;
    // Unfolded (RFC 5322 §2.2.3): a line break before white space is not part of a value,
    // even inside quotes, so LF and CRLF messages read the same.
    let raw = |name: &str| {
        raw_headers(&message, padded.as_ref(), name)
            .into_iter()
            .map(unfold)
            .collect::<Vec<_>>()
    };
    if raw("from").is_empty() && raw("to").is_empty() {
        return Err(IngestError::NotEmail);
    }
    let date = match (opts.date, raw("date").first()) {
        (Some(d), _) => d,
        (None, Some(header)) => {
            When::Offset(rfc5322_date(header).map_err(|why| IngestError::BadDate {
                header: escape::excerpt(header.trim(), 80).into_owned(),
                why,
            })?)
        }
        (None, None) => return Err(IngestError::NoDate),
    };
    let mut participants: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut add = |a: String, participants: &mut Vec<String>| {
        let a = a.to_lowercase();
        if seen.insert(a.clone()) {
            participants.push(a);
        }
    };
    let mut from = Vec::new();
    for header in ["from", "to", "cc", "reply-to"] {
        for text in raw(header) {
            for a in addresses(&text) {
                if header == "from" {
                    from.push(a.to_lowercase());
                }
                add(a, &mut participants);
            }
        }
    }
    let subject = message.subject().and_then(one_line);
    let (body_text, attachments, calendars) = contents(&message);
    for a in forwarded_addresses(&body_text) {
        add(a, &mut participants);
    }
    let body = if opts.keep_quotes {
        body_text
    } else {
        text::trim_reply(&body_text)
    };
    let body = Some(text::cap(body)).filter(|b| !b.is_empty());
    let message_id = match message.message_id().and_then(one_line) {
        Some(id) => id,
        None => format!(
            "sloop:{}",
            stable_hash(&[
                &when_text(&date),
                &from.join(","),
                subject.as_deref().unwrap_or("")
            ])
        ),
    };
    let automated = automated(&message, padded.as_ref(), &from);
    Ok(Message {
        message_id,
        date,
        subject,
        participants,
        from,
        body,
        attachments,
        calendars,
        automated,
    })
}

fn when_text(w: &When) -> String {
    match w {
        When::Date(d) => d.to_string(),
        When::Local(dt) => dt.to_string(),
        When::Offset(dt) => dt.to_rfc3339(),
    }
}

/// Reads a message and matches it to the CRM: an email activity, the events of an
/// invitation, a skip or the unmatched addresses.
pub fn read(m: &Matcher, bytes: &[u8], opts: &Options) -> Result<Outcome, IngestError> {
    let msg = parse(bytes, opts)?;
    Ok(outcome(m, &msg))
}

/// What a parsed message becomes in this CRM.
pub fn outcome(m: &Matcher, msg: &Message) -> Outcome {
    // An invitation is mail a calendar sends for a person (Google's carry Auto-Submitted).
    if !msg.calendars.is_empty() {
        let mut events: Vec<Capture> = Vec::new();
        let mut unmatched = Vec::new();
        for cal in &msg.calendars {
            let Ok(read) = ics::read(m, cal, &ics::Options::default()) else {
                continue;
            };
            for e in read.events {
                match e {
                    ics::Event::Matched(c) => {
                        if !events
                            .iter()
                            .any(|x| x.key() == c.key() && x.sequence == c.sequence)
                        {
                            events.push(*c);
                        }
                    }
                    ics::Event::Unmatched { addresses, .. } => unmatched.push(addresses),
                    ics::Event::Invalid { .. } => {}
                }
            }
        }
        if !events.is_empty() {
            return Outcome::Events(events);
        }
        if let Some(a) = unmatched.into_iter().next() {
            return Outcome::Unmatched(a);
        }
    }
    if let Some(why) = &msg.automated {
        return Outcome::Skipped(why.clone());
    }
    let Some(found) = m.by_addresses(&msg.participants) else {
        let mut why = some_of(&msg.participants);
        if let Some((address, lead)) = m.lead_of(&msg.participants) {
            why.push_str(&format!(
                "; {address} is the lead `{lead}`: `sloop lead convert {lead}` makes it a contact"
            ));
        }
        return Outcome::Unmatched(why);
    };
    let date = match msg.date {
        // The day in the message's own time zone.
        When::Offset(dt) => When::Date(dt.date_naive()),
        other => other,
    };
    Outcome::Email(Box::new(Capture {
        kind: ActivityKind::Email,
        date: Some(date),
        account: found.account,
        contact: found.contact,
        owner: m.owner(&msg.participants),
        subject: msg.subject.clone(),
        body: msg.body.clone(),
        message_id: Some(msg.message_id.clone()),
        participants: msg.participants.clone(),
        direction: Some(if msg.from.iter().any(|f| m.is_member(f)) {
            "outbound"
        } else {
            "inbound"
        }),
        attachments: msg.attachments.clone(),
        ..Capture::default()
    }))
}

/// Why a message is automated or bulk, by its headers: `Auto-Submitted` other than `no`
/// (RFC 3834; its comment is ignored), `X-Autoreply: yes`, `Precedence: bulk`, `list` or
/// `junk`, a `multipart/report` (a delivery or read report), or a sender that is a mail
/// system (`mailer-daemon@`, `postmaster@`).
fn automated(message: &mail_parser::Message, bytes: &[u8], from: &[String]) -> Option<String> {
    let first = |name: &str| {
        raw_headers(message, bytes, name)
            .first()
            .map(|v| without_comments(v).trim().to_string())
    };
    if let Some(ct) = message.root_part().content_type() {
        if ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        {
            let kind = ct.attribute("report-type").unwrap_or("report");
            return Some(format!(
                "delivery or read report (multipart/report; {kind})"
            ));
        }
    }
    if let Some(f) = from.iter().find(|f| {
        let local = f.split('@').next().unwrap_or("");
        local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster")
    }) {
        return Some(format!("bounce (from {f})"));
    }
    if let Some(v) = first("auto-submitted") {
        let keyword = v
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !keyword.is_empty() && keyword != "no" {
            return Some(format!("automated mail (Auto-Submitted: {keyword})"));
        }
    }
    if first("x-autoreply").is_some_and(|v| v.eq_ignore_ascii_case("yes")) {
        return Some("automatic reply (X-Autoreply: yes)".into());
    }
    if let Some(v) = first("precedence") {
        let v = v.to_ascii_lowercase();
        if ["bulk", "list", "junk"].contains(&v.as_str()) {
            return Some(format!("bulk or list mail (Precedence: {v})"));
        }
    }
    None
}

/// The body as text (the first text/plain part, else the first HTML part as text), the
/// attachments (`name (N bytes)`), and each distinct calendar part.
fn contents(message: &mail_parser::Message) -> (String, Vec<String>, Vec<String>) {
    let mut calendars: Vec<String> = Vec::new();
    let mut attachments = Vec::new();
    for part in &message.parts {
        let calendar = part.content_type().is_some_and(|ct| {
            let sub = ct.subtype().unwrap_or("").to_ascii_lowercase();
            (ct.ctype().eq_ignore_ascii_case("text") && sub == "calendar")
                || (ct.ctype().eq_ignore_ascii_case("application") && sub == "ics")
        });
        if calendar {
            let text = String::from_utf8_lossy(part.contents()).into_owned();
            if !calendars.contains(&text) {
                calendars.push(text);
            }
        }
    }
    for part in message.attachments() {
        if part.is_message() || part.is_multipart() {
            continue;
        }
        if let Some(name) = part.attachment_name() {
            let name: String = name.chars().filter(|c| !c.is_control()).collect();
            attachments.push(format!("{} ({} bytes)", name.trim(), part.len()));
        }
    }
    let text = message
        .text_body
        .iter()
        .chain(&message.html_body)
        .filter_map(|i| message.parts.get(*i as usize))
        .find_map(|p| match &p.body {
            PartType::Text(t) => Some(t.replace("\r\n", "\n")),
            PartType::Html(h) => Some(text::html_to_text(h)),
            _ => None,
        })
        .unwrap_or_default();
    (text, attachments, calendars)
}

/// The addresses of the header block of a forwarded message in the body (`From:`, `To:`,
/// `Cc:` after `---------- Forwarded message ---------`, `Begin forwarded message:` or
/// `-----Original Message-----`, and their French labels), so that forwarding a prospect's
/// mail to the CRM records it on their account.
fn forwarded_addresses(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in body.lines() {
        let t = line.trim_start_matches(['>', ' ']).trim_end();
        let lower = t.to_lowercase();
        if lower.contains("forwarded message")
            || lower.contains("message transféré")
            || lower.contains("original message")
            || lower.starts_with("begin forwarded message")
        {
            in_block = true;
            continue;
        }
        if !in_block {
            continue;
        }
        if t.is_empty() {
            in_block = false;
            continue;
        }
        for label in ["From:", "To:", "Cc:", "De :", "De:", "À :", "À:", "Cc :"] {
            if let Some(rest) = t.strip_prefix(label) {
                out.extend(addresses(rest));
            }
        }
    }
    out
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

/// The raw text of every header named `name` (case-insensitive), in order: mail-parser's own
/// reading of dates and addresses loses what RFC 5322 says (see `rfc5322_date` and
/// `addresses`), and `cc()` returns only the last `Cc` header.
fn raw_headers<'a>(
    message: &'a mail_parser::Message<'a>,
    bytes: &'a [u8],
    name: &str,
) -> Vec<&'a str> {
    message
        .headers()
        .iter()
        .filter(|h| h.name.as_str().eq_ignore_ascii_case(name))
        .filter_map(|h| bytes.get(h.offset_start as usize..h.offset_end as usize))
        .filter_map(|b| std::str::from_utf8(b).ok())
        .collect()
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

/// A header value as the activity keeps it: on one line (a folded header mail-parser did
/// not unfold keeps its CR and LF), trimmed, and absent when blank (an activity's `subject`
/// and `message_id` may not be blank).
fn one_line(value: &str) -> Option<String> {
    let v: String = value
        .chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect();
    let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
    (!v.is_empty()).then_some(v)
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
    // One digit is not RFC 5322, but mailers write it (`9:52`) and it is unambiguous.
    let hour = number(hms.next().unwrap_or(""), "time", 1..=2)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::Crm;
    use crate::store::{load, Memory};

    /// The email activity of a message, or what it became instead.
    fn read(crm: &Crm, bytes: &[u8]) -> Result<Capture, Box<Result<Outcome, IngestError>>> {
        match super::read(&Matcher::new(crm), bytes, &Options::default()) {
            Ok(Outcome::Email(c)) => Ok(*c),
            other => Err(Box::new(other)),
        }
    }

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
            let email = parse(mail.as_bytes(), &Options::default())
                .unwrap_or_else(|e| panic!("{mail:?}: {e}"));
            assert_eq!(email.participants, ["rachel@kestrel.io"], "{mail:?}");
            assert_eq!(email.date.date().to_string(), "2026-12-01", "{mail:?}");
        }
    }

    #[test]
    fn blank_or_folded_ids_and_subjects_still_record_the_message() {
        // Found by the fuzz harness: a Message-ID of one NEL (U+0085) was kept and the
        // activity refused as having a blank `message_id`; a folded Message-ID that
        // mail-parser cannot parse kept its line break, CR and all. A blank one takes the
        // stable id of a message without one.
        let head = format!("From: rachel@kestrel.io\r\n{DATE}");
        let mail = format!("{head}Message-ID: \u{85}\r\nSubject: \u{2028}\r\n\r\nHi\r\n");
        let email = parse(mail.as_bytes(), &Options::default()).unwrap();
        assert!(
            email.message_id.starts_with("sloop:"),
            "{}",
            email.message_id
        );
        assert_eq!(email.subject, None);
        assert!(read(&crm(), mail.as_bytes()).is_ok());
        for nl in ["\r\n", "\n"] {
            let mail = format!("{head}Message-ID: a{nl} bc@x{nl}{nl}Hi{nl}").replace("\r\n", nl);
            let email = parse(mail.as_bytes(), &Options::default()).unwrap();
            assert_eq!(email.message_id, "a bc@x", "{nl:?}");
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
            let email = parse(mail.as_bytes(), &Options::default()).unwrap();
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
        let e = parse(mail.as_bytes(), &Options::default()).unwrap_err();
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
            Err(Box::new(Err(IngestError::BadDate {
                header: "Mon, 1 Jan 0000 10:00:00 0000".into(),
                why: "the year 0000 is before 1900".into()
            })))
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
        let Err(outcome) = read(&crm(), text.as_bytes()) else {
            panic!("unmatched expected");
        };
        let Ok(Outcome::Unmatched(list)) = *outcome else {
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
