//! The conversation, captured: email messages (`email`), whole mailboxes (`mailbox`),
//! calendars (`ics`) and phone-system call logs (`calls`) become activities. Pure: bytes in,
//! planned records out; the shell reads the files and writes.
//!
//! Every source gives `Capture`s (an activity before it has an id); `Matcher` finds the
//! account, contact and owner from addresses or phone numbers; `Batch` turns captures into
//! files, once: a message, an event occurrence or a call already recorded (in the CRM or
//! earlier in the same run) is a duplicate, and a newer version of a calendar event edits
//! the activity that holds it.

pub mod calls;
pub mod email;
pub mod ics;
pub mod mailbox;
pub mod phone;
pub mod text;

use std::collections::{HashMap, HashSet};

use crate::check::{self, Index};
use crate::config::Member;
use crate::crm::Crm;
use crate::diag::Diagnostic;
use crate::model::{ids, ActivityKind, Contact, Kind, When};
use crate::store::edit::{FieldValue, RecordEdit};
use crate::store::{self, parse::parse_record, Spill};
use crate::writes::is_free_mail;

pub use email::*;

/// An activity read from a message, an event or a call, matched to the CRM.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Capture {
    pub kind: ActivityKind,
    pub date: Option<When>,
    pub account: String,
    pub contact: Option<String>,
    pub owner: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub duration_min: Option<u64>,
    pub message_id: Option<String>,
    pub participants: Vec<String>,
    pub direction: Option<&'static str>,
    pub outcome: Option<&'static str>,
    pub call_id: Option<String>,
    pub attachments: Vec<String>,
    pub uid: Option<String>,
    pub sequence: Option<u64>,
    pub recurrence_id: Option<String>,
    pub cancelled: bool,
}

/// What makes a capture the same as one already recorded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Message(String),
    Call(String),
    /// An event's UID and, for one occurrence of a recurring event, its original start.
    Event(String, Option<String>),
}

impl Capture {
    pub fn key(&self) -> Option<Key> {
        if let Some(uid) = &self.uid {
            return Some(Key::Event(uid.clone(), self.recurrence_id.clone()));
        }
        if let Some(c) = &self.call_id {
            return Some(Key::Call(c.clone()));
        }
        self.message_id.clone().map(Key::Message)
    }

    /// The activity's fields, in file order.
    pub fn fields(&self) -> Vec<(String, FieldValue)> {
        let mut f: Vec<(String, FieldValue)> = Vec::new();
        let mut put = |k: &str, v: FieldValue| f.push((k.to_string(), v));
        put("kind", FieldValue::Str(self.kind.as_str().into()));
        if let Some(d) = self.date {
            put("date", FieldValue::When(d));
        }
        put("account", FieldValue::Str(self.account.clone()));
        let text = |v: &Option<String>| v.clone().map(FieldValue::Str);
        for (k, v) in [
            ("contact", text(&self.contact)),
            ("owner", text(&self.owner)),
            ("subject", text(&self.subject)),
        ] {
            if let Some(v) = v {
                put(k, v);
            }
        }
        if let Some(m) = self.duration_min {
            put("duration_min", FieldValue::Int(m as i64));
        }
        if let Some(d) = self.direction {
            put("direction", FieldValue::Str(d.into()));
        }
        if let Some(o) = self.outcome {
            put("outcome", FieldValue::Str(o.into()));
        }
        if self.cancelled {
            put("cancelled", FieldValue::Bool(true));
        }
        for (k, v) in [
            ("message_id", text(&self.message_id)),
            ("call_id", text(&self.call_id)),
            ("uid", text(&self.uid)),
        ] {
            if let Some(v) = v {
                put(k, v);
            }
        }
        if let Some(s) = self.sequence {
            put("sequence", FieldValue::Int(s.min(i64::MAX as u64) as i64));
        }
        if let Some(r) = &self.recurrence_id {
            put("recurrence_id", FieldValue::Str(r.clone()));
        }
        if !self.participants.is_empty() {
            put(
                "participants",
                FieldValue::Strings(self.participants.clone()),
            );
        }
        if !self.attachments.is_empty() {
            put("attachments", FieldValue::Strings(self.attachments.clone()));
        }
        if let Some(b) = &self.body {
            put("body", FieldValue::Str(b.clone()));
        }
        f
    }

    /// What a newer version of the same event changes: every field the calendar gives.
    fn event_changes(&self) -> Vec<(String, Option<FieldValue>)> {
        let fields = self.fields();
        let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
        [
            "date",
            "subject",
            "duration_min",
            "sequence",
            "participants",
            "body",
            "cancelled",
        ]
        .iter()
        .map(|k| (k.to_string(), get(k)))
        .collect()
    }
}

/// Who the addresses and numbers of a capture are, looked up in maps built once per run.
pub struct Matcher<'a> {
    crm: &'a Crm,
    contacts: HashMap<String, &'a Contact>,
    domains: HashMap<String, &'a str>,
    members: HashMap<String, &'a Member>,
    member_names: HashMap<String, &'a Member>,
    leads: HashMap<String, &'a str>,
    phones: HashMap<String, &'a Contact>,
}

/// Where a capture belongs.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub account: String,
    pub contact: Option<String>,
}

impl<'a> Matcher<'a> {
    pub fn new(crm: &'a Crm) -> Self {
        let mut contacts = HashMap::new();
        let mut phones = HashMap::new();
        let country: HashMap<&str, &str> = crm
            .accounts
            .iter()
            .filter_map(|a| Some((a.meta.id.as_str(), a.country.as_deref()?)))
            .collect();
        for c in &crm.contacts {
            if let Some(e) = c.email.as_deref() {
                contacts.entry(e.to_lowercase()).or_insert(c);
            }
            if let Some(p) = c.phone.as_deref() {
                let region = c
                    .account
                    .as_ref()
                    .and_then(|a| country.get(a.as_str()).copied());
                if let Some(n) = phone::e164(p, region) {
                    phones.entry(n).or_insert(c);
                }
            }
        }
        let mut domains = HashMap::new();
        for a in &crm.accounts {
            if let Some(d) = a.domain.as_deref() {
                domains
                    .entry(d.to_ascii_lowercase())
                    .or_insert(a.meta.id.as_str());
            }
        }
        let mut members = HashMap::new();
        let mut member_names = HashMap::new();
        for m in &crm.config.team {
            if let Some(e) = m.email.as_deref() {
                members.entry(e.to_lowercase()).or_insert(m);
            }
            member_names.entry(m.name.to_lowercase()).or_insert(m);
            member_names.entry(m.id.to_string()).or_insert(m);
        }
        let leads = crm
            .leads
            .iter()
            .filter_map(|l| Some((l.email.as_deref()?.to_lowercase(), l.meta.id.as_str())))
            .collect();
        Matcher {
            crm,
            contacts,
            domains,
            members,
            member_names,
            leads,
            phones,
        }
    }

    pub fn crm(&self) -> &'a Crm {
        self.crm
    }

    /// The account of the first participant who is a contact, else of the first address
    /// (not a team member's, not free mail) at an account's domain or one of its subdomains
    /// (`no-reply@booking.alfama.pt` is at `alfama.pt`).
    pub fn by_addresses(&self, participants: &[String]) -> Option<Match> {
        if let Some(c) = participants
            .iter()
            .find_map(|p| self.contacts.get(&p.to_lowercase()))
        {
            if let Some(a) = &c.account {
                return Some(Match {
                    account: a.to_string(),
                    contact: Some(c.meta.id.clone()),
                });
            }
        }
        participants
            .iter()
            .filter(|p| !self.is_member(p))
            .filter_map(|p| p.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()))
            .filter(|d| !is_free_mail(d))
            .find_map(|d| self.account_of_domain(&d))
            .map(|account| Match {
                account: account.to_string(),
                contact: None,
            })
    }

    fn account_of_domain(&self, domain: &str) -> Option<&'a str> {
        let mut d = domain;
        loop {
            if let Some(a) = self.domains.get(d) {
                return Some(a);
            }
            // Up one label, but never to a bare top-level domain.
            let (_, parent) = d.split_once('.')?;
            if !parent.contains('.') {
                return None;
            }
            d = parent;
        }
    }

    pub fn is_member(&self, address: &str) -> bool {
        self.members.contains_key(&address.to_lowercase())
    }

    /// The first team member among the addresses.
    pub fn owner(&self, participants: &[String]) -> Option<String> {
        participants
            .iter()
            .find_map(|p| self.members.get(&p.to_lowercase()))
            .map(|m| m.id.to_string())
    }

    /// A team member by email, id or display name (call logs name agents either way).
    pub fn member(&self, who: &str) -> Option<String> {
        let w = who.trim().to_lowercase();
        self.members
            .get(&w)
            .or_else(|| self.member_names.get(&w))
            .map(|m| m.id.to_string())
    }

    /// The contact whose phone is this E.164 number, and its account.
    pub fn by_phone(&self, e164: &str) -> Option<Match> {
        let c = self.phones.get(e164)?;
        Some(Match {
            account: c.account.as_ref()?.to_string(),
            contact: Some(c.meta.id.clone()),
        })
    }

    /// For an unmatched capture: the lead that has one of these addresses, if any.
    pub fn lead_of<'p>(&self, participants: &'p [String]) -> Option<(&'p str, &'a str)> {
        participants.iter().find_map(|p| {
            self.leads
                .get_key_value(&p.to_lowercase())
                .map(|(_, id)| (p.as_str(), *id))
        })
    }
}

/// The first addresses or numbers, for a message (a capture may have thousands).
pub fn some_of(participants: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = participants
        .iter()
        .take(SHOWN)
        .map(|p| crate::escape::excerpt(p, 100).into_owned())
        .collect::<Vec<_>>()
        .join(", ");
    if participants.len() > SHOWN {
        text.push_str(&format!(" and {} more", participants.len() - SHOWN));
    }
    if text.is_empty() {
        text.push_str("no address");
    }
    text
}

/// What became of one capture.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// A new activity file.
    Recorded(String),
    /// A newer version of a calendar event edited its activity.
    Updated(String),
    /// Already recorded (same message, call or event version), at this path.
    Duplicate(String),
    /// An older version of an event already recorded in a newer one.
    Older(String),
}

/// The activity files of one run, planned before anything is written: ids unique across the
/// CRM and the run, each capture recorded once, each file judged like `sloop check` would.
pub struct Batch<'a> {
    crm: &'a Crm,
    index: Index<'a>,
    one: Crm,
    taken: HashSet<String>,
    keys: HashMap<Key, Recorded>,
    /// Events by UID, for a cancellation or update of a whole series.
    series: HashMap<String, Vec<Key>>,
    /// The files to write, in the order they were planned (CRM-relative path, text): in
    /// memory, or past a few MiB on disk, so that a long run's memory does not grow with the
    /// text of what it records.
    files: Spill,
    planned: HashMap<String, usize>,
}

#[derive(Debug, Clone)]
struct Recorded {
    path: String,
    id: String,
    sequence: Option<u64>,
}

impl<'a> Batch<'a> {
    /// A batch that keeps its planned files in memory.
    pub fn new(crm: &'a Crm) -> Self {
        Batch::spilling(crm, Spill::new(None))
    }

    /// A batch that keeps its planned files in `files` (e.g. a spill to a folder of `.git`).
    pub fn spilling(crm: &'a Crm, files: Spill) -> Self {
        let mut keys = HashMap::new();
        let mut series: HashMap<String, Vec<Key>> = HashMap::new();
        for a in &crm.activities {
            let rec = || Recorded {
                path: a.meta.path.clone(),
                id: a.meta.id.clone(),
                sequence: a.sequence,
            };
            if let Some(uid) = &a.uid {
                let key = Key::Event(uid.clone(), a.recurrence_id.clone());
                series.entry(uid.clone()).or_default().push(key.clone());
                keys.entry(key).or_insert_with(rec);
            } else if let Some(c) = &a.call_id {
                keys.entry(Key::Call(c.clone())).or_insert_with(rec);
            } else if let Some(m) = &a.message_id {
                keys.entry(Key::Message(m.clone())).or_insert_with(rec);
            }
        }
        Batch {
            crm,
            index: Index::new(crm),
            one: Crm {
                config: crm.config.clone(),
                ..Crm::default()
            },
            taken: crm
                .ids(Kind::Activity)
                .into_iter()
                .map(|(_, id)| id.to_string())
                .collect(),
            keys,
            series,
            files,
            planned: HashMap::new(),
        }
    }

    /// Whether this capture is already recorded (so a mailbox run need not match it again).
    pub fn recorded(&self, key: &Key) -> Option<&str> {
        self.keys.get(key).map(|r| r.path.as_str())
    }

    /// Plans the capture's file. `read` gives the text of a record file already in the CRM
    /// (for the update of an event recorded by an earlier run).
    pub fn apply(
        &mut self,
        c: &Capture,
        read: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Applied, Vec<Diagnostic>> {
        let key = c.key();
        if let Some(k) = &key {
            if let Some(r) = self.keys.get(k).cloned() {
                let newer = matches!(k, Key::Event(..))
                    && c.sequence.unwrap_or(0) > r.sequence.unwrap_or(0);
                if !newer {
                    return Ok(if matches!(k, Key::Event(..)) && c.sequence < r.sequence {
                        Applied::Older(r.path)
                    } else {
                        Applied::Duplicate(r.path)
                    });
                }
                self.update(&r, c, read)?;
                let k = k.clone();
                if let Some(rec) = self.keys.get_mut(&k) {
                    rec.sequence = c.sequence;
                }
                return Ok(Applied::Updated(r.path));
            }
        }
        let date = c.date.map(|d| d.date()).unwrap_or_default();
        let base = ids::slugify(&format!("{date}-{}-{}", c.kind.as_str(), c.account));
        let id = ids::first_free(&base, |x| self.taken.contains(x));
        let path = store::activity_path(&id, date);
        let fields = c.fields();
        let pairs: Vec<(&str, FieldValue)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let text = store::edit::render_new(&pairs).map_err(|e| vec![edit_diag(&path, e)])?;
        self.judge(&id, &path, &text)?;
        self.taken.insert(id.clone());
        if let Some(k) = key {
            if let Key::Event(uid, _) = &k {
                self.series.entry(uid.clone()).or_default().push(k.clone());
            }
            self.keys.insert(
                k,
                Recorded {
                    path: path.clone(),
                    id,
                    sequence: c.sequence,
                },
            );
        }
        let i = self
            .files
            .push(path.clone(), &text)
            .map_err(|e| vec![spill_diag(&path, e)])?;
        self.planned.insert(path.clone(), i);
        Ok(Applied::Recorded(path))
    }

    /// Every recorded occurrence of a series (for a cancellation of the whole series).
    pub fn occurrences(&self, uid: &str) -> Vec<Key> {
        self.series.get(uid).cloned().unwrap_or_default()
    }

    fn update(
        &mut self,
        r: &Recorded,
        c: &Capture,
        read: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), Vec<Diagnostic>> {
        let old = match self.planned.get(&r.path) {
            Some(i) => self
                .files
                .text(*i)
                .map_err(|e| vec![spill_diag(&r.path, e)])?,
            None => read(&r.path).ok_or_else(|| {
                vec![Diagnostic::new(
                    crate::diag::Code::Unreadable,
                    &r.path,
                    crate::diag::Loc::START,
                    "the activity of this event could not be read to update it",
                )]
            })?,
        };
        let mut edit = RecordEdit::parse(&old).map_err(|e| vec![edit_diag(&r.path, e)])?;
        for (field, value) in c.event_changes() {
            match value {
                Some(v) => {
                    edit.set(&field, v)
                        .map_err(|e| vec![edit_diag(&r.path, e)])?;
                }
                None => {
                    edit.remove(&field);
                }
            }
        }
        let text = edit.finish();
        self.judge(&r.id, &r.path, &text)?;
        let kept = match self.planned.get(&r.path) {
            Some(i) => self.files.replace(*i, &text),
            None => self.files.push(r.path.clone(), &text).map(|i| {
                self.planned.insert(r.path.clone(), i);
            }),
        };
        kept.map_err(|e| vec![spill_diag(&r.path, e)])
    }

    /// The errors `sloop check` would report for this activity (schema, references, members).
    fn judge(&mut self, id: &str, path: &str, text: &str) -> Result<(), Vec<Diagnostic>> {
        let (record, mut diags) = parse_record(Kind::Activity, id, path, text, &self.crm.config);
        self.one.activities.clear();
        self.one.push(record);
        diags.extend(check::check_some(&self.one, &self.index));
        diags.retain(|d| d.is_error());
        if diags.is_empty() {
            Ok(())
        } else {
            for d in diags.iter_mut() {
                if d.source_line.is_none() && d.line > 0 {
                    d.source_line = text.lines().nth(d.line as usize - 1).map(str::to_string);
                }
            }
            Err(diags)
        }
    }

    /// The planned files (CRM-relative path, text), new and edited.
    pub fn files(&self) -> &Spill {
        &self.files
    }

    pub fn into_files(self) -> Spill {
        self.files
    }
}

fn spill_diag(path: &str, e: std::io::Error) -> Diagnostic {
    Diagnostic::new(
        crate::diag::Code::Unreadable,
        path,
        crate::diag::Loc::START,
        format!("cannot keep the planned file aside: {e}"),
    )
}

fn edit_diag(path: &str, e: crate::store::edit::EditError) -> Diagnostic {
    Diagnostic::new(
        crate::diag::Code::InvalidValue,
        path,
        crate::diag::Loc::START,
        e.to_string(),
    )
}

/// A stable hash (FNV-1a, 128 bits) as 32 hex digits: the id of a message without
/// `Message-ID` and of a call without the phone system's id. FNV's constants are fixed by
/// its definition, so the id is the same on every machine and in every version.
pub fn stable_hash(parts: &[&str]) -> String {
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(PRIME);
        }
        for b in p.bytes() {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    format!("{h:032x}")
}

/// What a run did, for its summary.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Summary {
    pub recorded: usize,
    pub updated: usize,
    pub duplicates: usize,
    pub unmatched: Vec<Item>,
    pub skipped: Vec<Item>,
    pub invalid: Vec<Item>,
}

impl Summary {
    /// Nothing was read.
    pub fn is_empty(&self) -> bool {
        self.recorded + self.updated + self.duplicates == 0
            && self.unmatched.is_empty()
            && self.skipped.is_empty()
            && self.invalid.is_empty()
    }
}

/// One message, event or row that was not recorded, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Item {
    /// Where it is: a file of the Maildir, `line N` of an mbox or a call log, an event's UID.
    pub item: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stable_hash_is_fnv_1a_128() {
        // FNV-1a 128 of the empty string is its offset basis, and of "a" the published value.
        assert_eq!(stable_hash(&[]), "6c62272e07bb014262b821756295c58d");
        assert_eq!(stable_hash(&["a"]), "d228cb696f1a8caf78912b704e4a8964");
        assert_ne!(stable_hash(&["ab", "c"]), stable_hash(&["a", "bc"]));
    }
}
