//! "Bcc the CRM": one email message becomes one `email` activity on the account it concerns.
//! Pure: bytes in, the activity's fields out.

use chrono::{FixedOffset, NaiveDate, TimeZone};

use crate::crm::Crm;
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
    #[error("no participant of the message is a contact, and no address is at an account's domain ({0})")]
    Unmatched(String),
}

impl IngestError {
    pub fn hint(&self) -> Option<String> {
        match self {
            IngestError::Unmatched(_) => Some("add the person first (`sloop new contact … --email …`) or set the account's `domain`, then ingest again".into()),
            IngestError::NotUtf8Headers => Some("save the message again from your mail client (it encodes headers properly)".into()),
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

/// Parses a message and matches it to the CRM.
pub fn read(crm: &Crm, bytes: &[u8]) -> Result<Email, IngestError> {
    // A byte order mark (saved by some Windows tools) is not part of the first header's name.
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
    let message = mail_parser::MessageParser::default()
        .parse(&padded)
        .ok_or(IngestError::NotEmail)?;
    if message.from().is_none() && message.to().is_none() {
        return Err(IngestError::NotEmail);
    }
    let d = message.date().ok_or(IngestError::NoDate)?;
    let minutes =
        (i32::from(d.tz_hour) * 60 + i32::from(d.tz_minute)) * if d.tz_before_gmt { -1 } else { 1 };
    let offset = FixedOffset::east_opt(minutes * 60).ok_or(IngestError::NoDate)?;
    let date = NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
        .and_then(|day| {
            day.and_hms_opt(u32::from(d.hour), u32::from(d.minute), u32::from(d.second))
        })
        .and_then(|local| offset.from_local_datetime(&local).single())
        .ok_or(IngestError::NoDate)?;
    let mut participants: Vec<String> = Vec::new();
    for list in [message.from(), message.to(), message.cc()]
        .into_iter()
        .flatten()
    {
        for addr in list.iter() {
            if let Some(a) = addr.address() {
                let a = a.trim().to_lowercase();
                if !a.is_empty() && !participants.contains(&a) {
                    participants.push(a);
                }
            }
        }
    }
    let contact = participants.iter().find_map(|p| {
        crm.contacts.iter().find(|c| {
            c.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(p))
        })
    });
    let account = match contact.and_then(|c| c.account.as_ref()) {
        Some(a) => a.to_string(),
        None => {
            let team: Vec<&str> = crm
                .config
                .team
                .iter()
                .filter_map(|m| m.email.as_deref())
                .collect();
            participants
                .iter()
                .filter(|p| !team.contains(&p.as_str()))
                .filter_map(|p| p.rsplit_once('@').map(|(_, d)| d))
                .filter(|d| !is_free_mail(d))
                .find_map(|d| {
                    crm.accounts.iter().find(|a| {
                        a.domain
                            .as_deref()
                            .is_some_and(|x| x.eq_ignore_ascii_case(d))
                    })
                })
                .map(|a| a.meta.id.clone())
                .ok_or_else(|| IngestError::Unmatched(participants.join(", ")))?
        }
    };
    let owner = participants
        .iter()
        .find_map(|p| {
            crm.config
                .team
                .iter()
                .find(|m| m.email.as_deref() == Some(p.as_str()))
        })
        .map(|m| m.id.to_string());
    Ok(Email {
        message_id: message.message_id().and_then(one_line),
        date: date.fixed_offset(),
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
        let files = [
            (
                "sloop.toml",
                "[team.al]\nname = \"Al\"\nemail = \"al@us.io\"\n",
            ),
            (
                "accounts/acme.toml",
                "name = \"Acme\"\nstatus = \"qualified_pool\"\ndomain = \"acme.io\"\n",
            ),
        ];
        load(&Memory::new(
            files.iter().map(|(p, c)| (*p, c.as_bytes().to_vec())),
        ))
        .unwrap()
        .crm
    }

    #[test]
    fn a_short_time_zone_does_not_swallow_the_next_header() {
        // Found by the fuzz harness (LF and CRLF must read the same): `UT` before LF, and
        // `Z` before anything, took the following header into the date.
        for mail in [
            "Date: Tue, 1 Dec 2026 09:00:00 UT\nFrom: jo@acme.io\n\nHi\n",
            "Date: Tue, 1 Dec 2026 09:00:00 Z\r\nFrom: jo@acme.io\r\n\r\nHi\r\n",
            "Date: Tue,\r\n 1 Dec 2026 09:00:00 Z\r\nFrom: jo@acme.io\r\n\r\nHi\r\n",
            "date: Tue, 1 Dec 2026 09:00:00 -0800 (PST)\nFrom: jo@acme.io\n\nHi\n",
        ] {
            let email = read(&crm(), mail.as_bytes()).unwrap_or_else(|e| panic!("{mail:?}: {e}"));
            assert_eq!(email.participants, ["jo@acme.io"], "{mail:?}");
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
        let head = "From: jo@acme.io\r\nDate: Thu, 26 Nov 2026 10:30:00 +0100\r\n";
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
    fn a_byte_order_mark_does_not_hide_the_first_header() {
        // Issue 18 #16, found again by the fuzz harness (a BOM must not change what is read).
        let mail = "From: jo@acme.io\r\nTo: al@us.io\r\nDate: Thu, 26 Nov 2026 10:30:00 +0100\r\n\r\nHi\r\n";
        let plain = read(&crm(), mail.as_bytes()).unwrap();
        assert_eq!(plain.participants, ["jo@acme.io", "al@us.io"]);
        assert_eq!(plain.owner.as_deref(), Some("al"));
        let bom = [b"\xEF\xBB\xBF".as_slice(), mail.as_bytes()].concat();
        assert_eq!(read(&crm(), &bom), Ok(plain));
    }
}
