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

    /// The account whose `domain` is this domain or a parent of it (`eu.acme.com` is at
    /// `acme.com`), never a bare top-level domain.
    pub fn account_of_domain(&self, domain: &str) -> Option<&'a str> {
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
///
/// What it keeps per activity planned, so that a run of 100,000 calls does not hold 100,000
/// sets of strings: the dedupe key as a 128-bit fingerprint and where the activity is (an
/// index into the CRM's activities or into the planned files), the id taken as a
/// fingerprint, and the path and place of the text in the spill.
pub struct Batch<'a> {
    crm: &'a Crm,
    index: Index<'a>,
    one: Crm,
    /// The activity ids of the CRM and of the run, as fingerprints (see [`fingerprint`]).
    taken: HashSet<Fp>,
    keys: KeySet,
    /// The SEQUENCE of each event recorded (events only: a message or a call has none).
    sequences: HashMap<Loc, Option<u64>>,
    /// Events by UID, for a cancellation or update of a whole series.
    series: HashMap<String, Vec<Key>>,
    /// The files to write, in the order they were planned (CRM-relative path, text): in
    /// memory, or past a few MiB on disk, so that a long run's memory does not grow with the
    /// text of what it records.
    files: Spill,
    /// Activities of the CRM edited by this run (an event's update): their planned file.
    edited: HashMap<u32, usize>,
}

/// Where a recorded activity is: the CRM's `activities[i]`, or the run's planned file `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Loc {
    Head(u32),
    Planned(u32),
}

/// A 128-bit fingerprint of a key or an id: FNV-1a 128 (see [`stable_hash`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fp(u64, u64);

impl std::hash::Hash for Fp {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Already a hash: one word of it is enough for the table.
        state.write_u64(self.0 ^ self.1);
    }
}

fn fingerprint(parts: &[&str]) -> Fp {
    let h = fnv1a_128(parts);
    Fp((h >> 64) as u64, h as u64)
}

fn key_fingerprint(k: &Key) -> Fp {
    match k {
        Key::Message(m) => fingerprint(&["m", m]),
        Key::Call(c) => fingerprint(&["c", c]),
        Key::Event(u, None) => fingerprint(&["e", u]),
        Key::Event(u, Some(r)) => fingerprint(&["r", u, r]),
    }
}

/// The dedupe key of an activity read back (of the CRM, or planned by the run).
fn key_of(a: &crate::model::Activity) -> Option<Key> {
    if let Some(uid) = &a.capture.uid {
        Some(Key::Event(uid.clone(), a.capture.recurrence_id.clone()))
    } else if let Some(c) = &a.capture.call_id {
        Some(Key::Call(c.clone()))
    } else {
        a.capture.message_id.clone().map(Key::Message)
    }
}

/// The keys already recorded, each as a fingerprint and where its activity is. A fingerprint
/// is never trusted alone: on a match the real key is read back from the activity (the CRM's,
/// or the planned file) and compared, so that two keys with one fingerprint (FNV is not a
/// cryptographic hash: a sender could make a Message-ID collide on purpose) are two keys, the
/// second kept whole in `overflow`; a collision costs a lookup, never a message.
struct KeySet {
    hashed: HashMap<Fp, Loc>,
    overflow: HashMap<Key, Loc>,
    hash: fn(&Key) -> Fp,
}

impl KeySet {
    fn new(hash: fn(&Key) -> Fp) -> Self {
        KeySet {
            hashed: HashMap::new(),
            overflow: HashMap::new(),
            hash,
        }
    }

    /// Where the activity of `key` is; `real` reads the key of the activity at a place.
    fn get(&self, key: &Key, real: &mut dyn FnMut(Loc) -> Option<Key>) -> Option<Loc> {
        if let Some(at) = self.hashed.get(&(self.hash)(key)) {
            if real(*at).as_ref() == Some(key) {
                return Some(*at);
            }
        }
        self.overflow.get(key).copied()
    }

    /// Records `key` at `at` (the caller knows it is not there: `get` gave `None`).
    fn insert(&mut self, key: Key, at: Loc) {
        match self.hashed.entry((self.hash)(&key)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(at);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.overflow.insert(key, at);
            }
        }
    }
}

impl<'a> Batch<'a> {
    /// A batch that keeps its planned files in memory.
    pub fn new(crm: &'a Crm) -> Self {
        Batch::spilling(crm, Spill::new(None))
    }

    /// A batch that keeps its planned files in `files` (e.g. a spill to a folder of `.git`).
    pub fn spilling(crm: &'a Crm, files: Spill) -> Self {
        Batch::with_hash(crm, files, key_fingerprint)
    }

    fn with_hash(crm: &'a Crm, files: Spill, hash: fn(&Key) -> Fp) -> Self {
        let mut batch = Batch {
            crm,
            index: Index::new(crm),
            one: Crm::empty(crm.config.clone()),
            taken: crm
                .ids(Kind::Activity)
                .into_iter()
                .map(|(_, id)| fingerprint(&[id]))
                .collect(),
            keys: KeySet::new(hash),
            sequences: HashMap::new(),
            series: HashMap::new(),
            files,
            edited: HashMap::new(),
        };
        // The keys at HEAD are as many as the CRM's captured activities (not the input's).
        for (i, a) in crm.activities.iter().enumerate() {
            let Some(key) = key_of(a) else { continue };
            let at = Loc::Head(i as u32);
            if let Key::Event(uid, _) = &key {
                batch
                    .series
                    .entry(uid.clone())
                    .or_default()
                    .push(key.clone());
            }
            if batch.find(&key).is_some() {
                continue;
            }
            if matches!(key, Key::Event(..)) {
                batch.sequences.insert(at, a.capture.sequence);
            }
            batch.keys.insert(key, at);
        }
        batch
    }

    /// Where the activity of this key is, if recorded.
    fn find(&self, key: &Key) -> Option<Loc> {
        let mut real = |at: Loc| self.real_key(at);
        self.keys.get(key, &mut real)
    }

    /// The key of the activity at a place, read back from it.
    fn real_key(&self, at: Loc) -> Option<Key> {
        match at {
            Loc::Head(i) => key_of(self.crm.activities.get(i as usize)?),
            Loc::Planned(i) => {
                let i = i as usize;
                let path = self.files.path(i);
                let text = self.files.text(i).ok()?;
                let id = id_of_path(path);
                match parse_record(Kind::Activity, id, path, &text, &self.crm.config).0 {
                    crate::model::AnyRecord::Activity(a) => key_of(&a),
                    _ => None,
                }
            }
        }
    }

    fn path_of(&self, at: Loc) -> &str {
        match at {
            Loc::Head(i) => &self.crm.activities[i as usize].meta.path,
            Loc::Planned(i) => self.files.path(i as usize),
        }
    }

    /// Whether this capture is already recorded (so a mailbox run need not match it again).
    pub fn recorded(&self, key: &Key) -> Option<&str> {
        self.find(key).map(|at| self.path_of(at))
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
            if let Some(at) = self.find(k) {
                let path = self.path_of(at).to_string();
                let event = matches!(k, Key::Event(..));
                let sequence = self.sequences.get(&at).copied().flatten();
                let newer = event && c.sequence.unwrap_or(0) > sequence.unwrap_or(0);
                if !newer {
                    return Ok(if event && c.sequence < sequence {
                        Applied::Older(path)
                    } else {
                        Applied::Duplicate(path)
                    });
                }
                self.update(at, &path, c, read)?;
                self.sequences.insert(at, c.sequence);
                return Ok(Applied::Updated(path));
            }
        }
        let date = c.date.map(|d| d.date()).unwrap_or_default();
        let base = ids::slugify(&format!("{date}-{}-{}", c.kind.as_str(), c.account));
        let id = ids::first_free(&base, |x| self.taken.contains(&fingerprint(&[x])));
        let path = store::activity_path(&id, date);
        let fields = c.fields();
        let pairs: Vec<(&str, FieldValue)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let text = store::edit::render_new(&pairs).map_err(|e| vec![edit_diag(&path, e)])?;
        self.judge(&id, &path, &text)?;
        let i = self
            .files
            .push(path.clone(), &text)
            .map_err(|e| vec![spill_diag(&path, e)])?;
        let at = Loc::Planned(u32::try_from(i).map_err(|_| {
            vec![spill_diag(
                &path,
                std::io::Error::other("over 4 billion planned files"),
            )]
        })?);
        self.taken.insert(fingerprint(&[&id]));
        if let Some(k) = key {
            if let Key::Event(uid, _) = &k {
                self.series.entry(uid.clone()).or_default().push(k.clone());
                self.sequences.insert(at, c.sequence);
            }
            self.keys.insert(k, at);
        }
        Ok(Applied::Recorded(path))
    }

    /// Every recorded occurrence of a series (for a cancellation of the whole series).
    pub fn occurrences(&self, uid: &str) -> Vec<Key> {
        self.series.get(uid).cloned().unwrap_or_default()
    }

    fn update(
        &mut self,
        at: Loc,
        path: &str,
        c: &Capture,
        read: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), Vec<Diagnostic>> {
        let planned = match at {
            Loc::Planned(i) => Some(i as usize),
            Loc::Head(i) => self.edited.get(&i).copied(),
        };
        let old = match planned {
            Some(i) => self.files.text(i).map_err(|e| vec![spill_diag(path, e)])?,
            None => read(path).ok_or_else(|| {
                vec![Diagnostic::new(
                    crate::diag::Code::Unreadable,
                    path,
                    crate::diag::Loc::START,
                    "the activity of this event could not be read to update it",
                )]
            })?,
        };
        let mut edit = RecordEdit::parse(&old).map_err(|e| vec![edit_diag(path, e)])?;
        for (field, value) in c.event_changes() {
            match value {
                Some(v) => {
                    edit.set(&field, v).map_err(|e| vec![edit_diag(path, e)])?;
                }
                None => {
                    edit.remove(&field);
                }
            }
        }
        let text = edit.finish();
        let id = match at {
            Loc::Head(i) => self.crm.activities[i as usize].meta.id.clone(),
            Loc::Planned(_) => id_of_path(path).to_string(),
        };
        self.judge(&id, path, &text)?;
        let kept = match planned {
            Some(i) => self.files.replace(i, &text),
            None => self.files.push(path.to_string(), &text).map(|i| {
                if let Loc::Head(h) = at {
                    self.edited.insert(h, i);
                }
            }),
        };
        kept.map_err(|e| vec![spill_diag(path, e)])
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

/// The id of a planned activity: its file's name without `.toml`.
fn id_of_path(path: &str) -> &str {
    let name = path.rsplit_once('/').map_or(path, |(_, n)| n);
    name.strip_suffix(".toml").unwrap_or(name)
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
    format!("{:032x}", fnv1a_128(parts))
}

/// FNV-1a 128 of the parts, each after the first preceded by the byte 0x1f.
fn fnv1a_128(parts: &[&str]) -> u128 {
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
    h
}

/// What a run did, for its summary.
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    pub recorded: usize,
    pub updated: usize,
    pub duplicates: usize,
    pub unmatched: Items,
    pub skipped: Items,
    pub invalid: Items,
}

impl Summary {
    /// A summary whose lists of items go to a temporary file in `folder` past a few MiB (a
    /// call log of 100,000 rows may leave 40,000 numbers unmatched).
    pub fn spilling(folder: Option<&std::path::Path>) -> Self {
        Summary {
            unmatched: Items(store::Log::new(folder)),
            skipped: Items(store::Log::new(folder)),
            invalid: Items(store::Log::new(folder)),
            ..Summary::default()
        }
    }

    /// Nothing was read.
    pub fn is_empty(&self) -> bool {
        self.recorded + self.updated + self.duplicates == 0
            && self.unmatched.is_empty()
            && self.skipped.is_empty()
            && self.invalid.is_empty()
    }
}

/// One message, event or row that was not recorded, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Item {
    /// Where it is: a file of the Maildir, `line N` of an mbox or a call log, an event's UID.
    pub item: String,
    pub reason: String,
}

/// The items of a summary, in the order they came: in memory, or past a few MiB on disk.
#[derive(Debug)]
pub struct Items(store::Log);

impl Default for Items {
    fn default() -> Self {
        Items(store::Log::new(None))
    }
}

impl Items {
    /// Adds an item. Kept on disk, it can fail to be written: the run then stops (exit 2).
    pub fn push(&mut self, i: Item) -> std::io::Result<()> {
        self.0.push(&i.item, &i.reason)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Calls `f` on every item, in order.
    pub fn each<E: From<std::io::Error>>(
        &self,
        mut f: impl FnMut(&str, &str) -> Result<(), E>,
    ) -> Result<(), E> {
        self.0.each(|item, reason| f(item, reason))
    }

    /// Every item (for tests and small runs).
    pub fn to_vec(&self) -> std::io::Result<Vec<Item>> {
        Ok(self
            .0
            .to_vec()?
            .into_iter()
            .map(|(item, reason)| Item { item, reason })
            .collect())
    }
}

impl serde::Serialize for Items {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = s.serialize_seq(Some(self.len()))?;
        let mut failed = None;
        let read = self.0.each(|item, reason| {
            if failed.is_none() {
                failed = seq
                    .serialize_element(&Item {
                        item: item.to_string(),
                        reason: reason.to_string(),
                    })
                    .err();
            }
            Ok::<(), std::io::Error>(())
        });
        if let Some(e) = failed {
            return Err(e);
        }
        read.map_err(S::Error::custom)?;
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{load, FileSet, Memory};

    /// A CRM with one account and one email activity already recorded (`<at-head@x>`).
    fn crm() -> Crm {
        load(&Memory::new([
            ("sloop.toml", "[team.marc]\nname = \"Marc\"\n"),
            (
                "accounts/kestrel.toml",
                "name = \"Kestrel\"\nstatus = \"working\"\nowner = \"marc\"\n",
            ),
            (
                "activities/2026/11/2026-11-02-email-kestrel.toml",
                "kind = \"email\"\ndate = 2026-11-02\naccount = \"kestrel\"\nmessage_id = \"<at-head@x>\"\n",
            ),
        ]))
        .unwrap()
        .crm
    }

    fn email(message_id: &str, day: u32) -> Capture {
        Capture {
            kind: ActivityKind::Email,
            date: Some(When::Date(
                chrono::NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            )),
            account: "kestrel".into(),
            message_id: Some(message_id.into()),
            ..Capture::default()
        }
    }

    fn call(call_id: &str) -> Capture {
        Capture {
            kind: ActivityKind::Call,
            call_id: Some(call_id.into()),
            ..email("unused", 3)
        }
    }

    /// Every key with the same fingerprint: each lookup must fall back on the real key.
    fn one_fingerprint(_: &Key) -> Fp {
        Fp(7, 7)
    }

    #[test]
    fn a_message_is_recorded_once_whatever_the_fingerprints() {
        let crm = crm();
        let none = |_: &str| None;
        for hash in [key_fingerprint, one_fingerprint] {
            let mut b = Batch::with_hash(&crm, Spill::with_threshold(None, 0), hash);
            let first = b.apply(&email("<a@x>", 2), &none).unwrap();
            let Applied::Recorded(path) = first else {
                panic!("{first:?}")
            };
            // The same message again in the run, and the one already at HEAD: duplicates.
            assert_eq!(
                b.apply(&email("<a@x>", 2), &none).unwrap(),
                Applied::Duplicate(path.clone())
            );
            assert_eq!(
                b.recorded(&Key::Message("<a@x>".into())),
                Some(path.as_str())
            );
            let head = "activities/2026/11/2026-11-02-email-kestrel.toml";
            assert_eq!(
                b.apply(&email("<at-head@x>", 9), &none).unwrap(),
                Applied::Duplicate(head.into())
            );
            // Other messages and a call (whose fingerprints collide with the one-fingerprint
            // hash) are recorded, each once, with ids that do not clash with HEAD's.
            let mut paths = vec![path];
            for c in [email("<b@x>", 2), call("<a@x>"), email("<c@x>", 2)] {
                match b.apply(&c, &none).unwrap() {
                    Applied::Recorded(p) => paths.push(p),
                    other => panic!("{other:?}"),
                }
                assert!(matches!(b.apply(&c, &none), Ok(Applied::Duplicate(_))));
            }
            assert_eq!(
                paths,
                [
                    "activities/2026/11/2026-11-02-email-kestrel-2.toml",
                    "activities/2026/11/2026-11-02-email-kestrel-3.toml",
                    "activities/2026/11/2026-11-03-call-kestrel.toml",
                    "activities/2026/11/2026-11-02-email-kestrel-4.toml",
                ]
            );
            assert_eq!(b.files().paths(), paths);
            assert_eq!(b.recorded(&Key::Message("<d@x>".into())), None);
        }
    }

    #[test]
    fn a_key_set_tells_apart_keys_of_one_fingerprint() {
        let stored = [
            Key::Message("a".into()),
            Key::Call("a".into()),
            Key::Event("a".into(), None),
            Key::Event("a".into(), Some("20261101T090000Z".into())),
        ];
        for hash in [key_fingerprint, one_fingerprint] {
            let mut set = KeySet::new(hash);
            let mut real = |at: Loc| match at {
                Loc::Planned(i) => stored.get(i as usize).cloned(),
                Loc::Head(_) => None,
            };
            for (i, k) in stored.iter().enumerate() {
                assert_eq!(set.get(k, &mut real), None);
                set.insert(k.clone(), Loc::Planned(i as u32));
            }
            for (i, k) in stored.iter().enumerate() {
                assert_eq!(set.get(k, &mut real), Some(Loc::Planned(i as u32)));
            }
            assert_eq!(set.get(&Key::Message("b".into()), &mut real), None);
        }
        // The real fingerprints of these four differ: nothing overflows.
        let mut set = KeySet::new(key_fingerprint);
        for (i, k) in stored.iter().enumerate() {
            set.insert(k.clone(), Loc::Planned(i as u32));
        }
        assert!(set.overflow.is_empty());
    }

    #[test]
    fn a_planned_activity_id_is_its_file_name() {
        assert_eq!(
            id_of_path("activities/2026/11/2026-11-02-call-acme-2.toml"),
            "2026-11-02-call-acme-2"
        );
    }

    #[test]
    fn the_stable_hash_is_fnv_1a_128() {
        // FNV-1a 128 of the empty string is its offset basis, and of "a" the published value.
        assert_eq!(stable_hash(&[]), "6c62272e07bb014262b821756295c58d");
        assert_eq!(stable_hash(&["a"]), "d228cb696f1a8caf78912b704e4a8964");
        assert_ne!(stable_hash(&["ab", "c"]), stable_hash(&["a", "bc"]));
    }
}
