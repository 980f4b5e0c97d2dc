//! A compact binary encoding of typed records and history events, for caches that must load
//! faster than the TOML they were parsed from (the report snapshot: ~300,000 records read in a
//! fraction of the time parsing them takes).
//!
//! Not a stable format: a cache file carries a version and is rebuilt when it does not match.
//! Integers are LEB128 varints (zigzag for signed ones), strings length-prefixed UTF-8, options
//! a 0/1 tag. Every struct is written by destructuring it without `..`, so a field added to a
//! record type does not compile until it is encoded here too.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};

use crate::git::ObjectId;
use crate::history::{Change, Value};
use crate::model::AnyRecord;
use crate::model::*;

/// The bytes do not decode: a truncated or foreign file. Callers drop the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt;

pub type Result<T> = std::result::Result<T, Corrupt>;

/// Reads values back in the order they were written.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// How many bytes are left to read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// What is left to read.
    pub fn rest(self) -> &'a [u8] {
        self.buf
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.buf.len() {
            return Err(Corrupt);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }

    pub fn varint(&mut self) -> Result<u64> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(Corrupt)
    }

    pub fn len(&mut self) -> Result<usize> {
        let n = usize::try_from(self.varint()?).map_err(|_| Corrupt)?;
        // A length can never exceed the bytes left: refuse before allocating for it.
        if n > self.buf.len() {
            return Err(Corrupt);
        }
        Ok(n)
    }

    pub fn str(&mut self) -> Result<&'a str> {
        let n = self.len()?;
        std::str::from_utf8(self.bytes(n)?).map_err(|_| Corrupt)
    }
}

pub fn put_varint(w: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        w.push((v as u8) | 0x80);
        v >>= 7;
    }
    w.push(v as u8);
}

pub fn put_str(w: &mut Vec<u8>, s: &str) {
    put_varint(w, s.len() as u64);
    w.extend_from_slice(s.as_bytes());
}

/// A value that writes itself to, and reads itself from, the encoding.
pub trait Codec: Sized {
    fn put(&self, w: &mut Vec<u8>);
    fn get(r: &mut Reader) -> Result<Self>;
}

impl Codec for u64 {
    fn put(&self, w: &mut Vec<u8>) {
        put_varint(w, *self);
    }
    fn get(r: &mut Reader) -> Result<Self> {
        r.varint()
    }
}

impl Codec for u32 {
    fn put(&self, w: &mut Vec<u8>) {
        put_varint(w, u64::from(*self));
    }
    fn get(r: &mut Reader) -> Result<Self> {
        u32::try_from(r.varint()?).map_err(|_| Corrupt)
    }
}

impl Codec for i64 {
    fn put(&self, w: &mut Vec<u8>) {
        put_varint(w, ((*self << 1) ^ (*self >> 63)) as u64);
    }
    fn get(r: &mut Reader) -> Result<Self> {
        let v = r.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
}

impl Codec for f64 {
    fn put(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&self.to_le_bytes());
    }
    fn get(r: &mut Reader) -> Result<Self> {
        let b: [u8; 8] = r.bytes(8)?.try_into().map_err(|_| Corrupt)?;
        Ok(f64::from_le_bytes(b))
    }
}

impl Codec for bool {
    fn put(&self, w: &mut Vec<u8>) {
        w.push(u8::from(*self));
    }
    fn get(r: &mut Reader) -> Result<Self> {
        match r.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Corrupt),
        }
    }
}

impl Codec for String {
    fn put(&self, w: &mut Vec<u8>) {
        put_str(w, self);
    }
    fn get(r: &mut Reader) -> Result<Self> {
        r.str().map(str::to_string)
    }
}

impl<T: Codec> Codec for Option<T> {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            None => w.push(0),
            Some(v) => {
                w.push(1);
                v.put(w);
            }
        }
    }
    fn get(r: &mut Reader) -> Result<Self> {
        match r.byte()? {
            0 => Ok(None),
            1 => Ok(Some(T::get(r)?)),
            _ => Err(Corrupt),
        }
    }
}

impl<T: Codec> Codec for Vec<T> {
    fn put(&self, w: &mut Vec<u8>) {
        put_varint(w, self.len() as u64);
        for v in self {
            v.put(w);
        }
    }
    fn get(r: &mut Reader) -> Result<Self> {
        let n = r.len()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(T::get(r)?);
        }
        Ok(out)
    }
}

impl<A: Codec, B: Codec> Codec for (A, B) {
    fn put(&self, w: &mut Vec<u8>) {
        self.0.put(w);
        self.1.put(w);
    }
    fn get(r: &mut Reader) -> Result<Self> {
        Ok((A::get(r)?, B::get(r)?))
    }
}

impl Codec for NaiveDate {
    fn put(&self, w: &mut Vec<u8>) {
        i64::from(self.num_days_from_ce_()).put(w);
    }
    fn get(r: &mut Reader) -> Result<Self> {
        let days = i32::try_from(i64::get(r)?).map_err(|_| Corrupt)?;
        NaiveDate::from_num_days_from_ce_opt(days).ok_or(Corrupt)
    }
}

/// `Datelike::num_days_from_ce` without importing the trait into every caller.
trait DaysFromCe {
    fn num_days_from_ce_(&self) -> i32;
}

impl DaysFromCe for NaiveDate {
    fn num_days_from_ce_(&self) -> i32 {
        chrono::Datelike::num_days_from_ce(self)
    }
}

impl Codec for NaiveDateTime {
    fn put(&self, w: &mut Vec<u8>) {
        let utc = self.and_utc();
        utc.timestamp().put(w);
        u64::from(utc.timestamp_subsec_nanos()).put(w);
    }
    fn get(r: &mut Reader) -> Result<Self> {
        let secs = i64::get(r)?;
        let nanos = u32::try_from(u64::get(r)?).map_err(|_| Corrupt)?;
        DateTime::from_timestamp(secs, nanos)
            .map(|d| d.naive_utc())
            .ok_or(Corrupt)
    }
}

impl Codec for DateTime<FixedOffset> {
    fn put(&self, w: &mut Vec<u8>) {
        self.timestamp().put(w);
        u64::from(self.timestamp_subsec_nanos()).put(w);
        i64::from(self.offset().local_minus_utc()).put(w);
    }
    fn get(r: &mut Reader) -> Result<Self> {
        let secs = i64::get(r)?;
        let nanos = u32::try_from(u64::get(r)?).map_err(|_| Corrupt)?;
        let offset = i32::try_from(i64::get(r)?).map_err(|_| Corrupt)?;
        let offset = FixedOffset::east_opt(offset).ok_or(Corrupt)?;
        Ok(DateTime::from_timestamp(secs, nanos)
            .ok_or(Corrupt)?
            .with_timezone(&offset))
    }
}

impl Codec for ObjectId {
    fn put(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(&self.0);
    }
    fn get(r: &mut Reader) -> Result<Self> {
        let b: [u8; 20] = r.bytes(20)?.try_into().map_err(|_| Corrupt)?;
        Ok(ObjectId(b))
    }
}

macro_rules! id_codec {
    ($($t:ty),*) => {$(
        impl Codec for $t {
            fn put(&self, w: &mut Vec<u8>) {
                put_str(w, self.as_str());
            }
            fn get(r: &mut Reader) -> Result<Self> {
                <$t>::new(r.str()?).map_err(|_| Corrupt)
            }
        }
    )*};
}
id_codec!(AccountId, ContactId, MemberId, OpportunityId);

/// C-like enums, each variant as the number written beside it (both directions from one
/// list, so that nothing can be missing from one side).
macro_rules! enum_codec {
    ($t:ty { $($v:ident = $n:literal),* $(,)? }) => {
        impl Codec for $t {
            fn put(&self, w: &mut Vec<u8>) {
                w.push(match self { $(<$t>::$v => $n,)* });
            }
            fn get(r: &mut Reader) -> Result<Self> {
                match r.byte()? {
                    $($n => Ok(<$t>::$v),)*
                    _ => Err(Corrupt),
                }
            }
        }
    };
}
enum_codec!(Fit { High = 0, Low = 1 });
enum_codec!(OppType { New = 0, Upsell = 1 });
enum_codec!(ContactRole {
    DecisionMaker = 0,
    Champion = 1,
    EndUser = 2,
    Influencer = 3,
    Other = 4,
});
enum_codec!(LeadStatus {
    New = 0,
    Working = 1,
    Converted = 2,
    Rejected = 3,
});
enum_codec!(ActivityKind {
    Email = 0,
    Call = 1,
    Meeting = 2,
    Demo = 3,
    Note = 4,
    Task = 5,
});
enum_codec!(Kind {
    Account = 0,
    Contact = 1,
    Opportunity = 2,
    Lead = 3,
    Activity = 4,
});

impl Codec for When {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            When::Date(d) => {
                w.push(0);
                d.put(w);
            }
            When::Local(d) => {
                w.push(1);
                d.put(w);
            }
            When::Offset(d) => {
                w.push(2);
                d.put(w);
            }
        }
    }
    fn get(r: &mut Reader) -> Result<Self> {
        Ok(match r.byte()? {
            0 => When::Date(NaiveDate::get(r)?),
            1 => When::Local(NaiveDateTime::get(r)?),
            2 => When::Offset(DateTime::get(r)?),
            _ => return Err(Corrupt),
        })
    }
}

/// The `[custom]` table: rare, so kept as its TOML text.
struct CustomText;

impl CustomText {
    fn put(custom: &Custom, w: &mut Vec<u8>) {
        custom
            .as_ref()
            .map(|t| toml::to_string(t).unwrap_or_default())
            .put(w);
    }
    fn get(r: &mut Reader) -> Result<Custom> {
        match Option::<String>::get(r)? {
            None => Ok(None),
            Some(text) => text
                .parse::<toml::Table>()
                .map(|t| Some(Box::new(t)))
                .map_err(|_| Corrupt),
        }
    }
}

impl Codec for Meta {
    fn put(&self, w: &mut Vec<u8>) {
        // Field positions are for diagnostics, which a cached record never reports; without
        // them `Meta::has` is false and `model::flatten` sees no field, so cached records
        // are for computing (metrics), not for diffing.
        let Meta {
            id,
            path,
            locs: _,
            broken,
        } = self;
        id.put(w);
        path.put(w);
        broken.put(w);
    }
    fn get(r: &mut Reader) -> Result<Self> {
        Ok(Meta {
            id: String::get(r)?,
            path: String::get(r)?,
            locs: Vec::new(),
            broken: bool::get(r)?,
        })
    }
}

/// Implements `Codec` for a struct, field by field; `custom` fields go through `CustomText`.
/// The destructuring has no `..`: a new field is a compile error until it is listed.
macro_rules! struct_codec {
    ($t:ident { $($f:ident),* $(,)? } $(custom: $c:ident)?) => {
        impl Codec for $t {
            fn put(&self, w: &mut Vec<u8>) {
                let $t { $($f,)* $($c,)? } = self;
                $( $f.put(w); )*
                $( CustomText::put($c, w); )?
            }
            fn get(r: &mut Reader) -> Result<Self> {
                Ok($t {
                    $( $f: Codec::get(r)?, )*
                    $( $c: CustomText::get(r)?, )?
                })
            }
        }
    };
}

struct_codec!(Account {
    meta, name, status, owner, domain, backlog_until, fit, industry, employees, revenue,
    country, source, channel, linkedin, tools, disqualified_reason, tags
} custom: custom);
struct_codec!(Contact {
    meta, name, account, email, title, role, persona, phone, linkedin, reports_to
} custom: custom);
struct_codec!(Bant {
    budget,
    authority,
    need,
    timeline
});
struct_codec!(CommitTerms {
    accepted_on,
    start_date,
    onboarding_meeting,
    plan,
    pricing,
    users,
    billing_tool,
    invoice_scheduled
});
struct_codec!(Opportunity {
    meta, name, account, owner, stage, source, kind, mrr, close_date, created, sdr, channel,
    integration, lost_reason, bant, commit
} custom: custom);
struct_codec!(Lead {
    meta, name, email, company, domain, phone, title, source, channel, owner, status,
    converted_account, converted_contact, created
} custom: custom);
struct_codec!(Activity {
    meta, kind, date, account, contact, opportunity, owner, subject, body, duration_min, due,
    done, capture, cancelled
} custom: custom);
struct_codec!(CaptureKeys {
    message_id,
    participants,
    direction,
    outcome,
    call_id,
    attachments,
    uid,
    sequence,
    recurrence_id
});

/// As the keys themselves (empty when absent): the box is not in the bytes.
impl Codec for Captured {
    fn put(&self, w: &mut Vec<u8>) {
        CaptureKeys::put(self, w)
    }
    fn get(r: &mut Reader) -> Result<Self> {
        Ok(Captured::new(CaptureKeys::get(r)?))
    }
}

/// The record's kind (as `Kind` encodes it), then its fields.
impl Codec for AnyRecord {
    fn put(&self, w: &mut Vec<u8>) {
        self.kind().put(w);
        match self {
            AnyRecord::Account(x) => x.put(w),
            AnyRecord::Contact(x) => x.put(w),
            AnyRecord::Opportunity(x) => x.put(w),
            AnyRecord::Lead(x) => x.put(w),
            AnyRecord::Activity(x) => x.put(w),
        }
    }
    fn get(r: &mut Reader) -> Result<Self> {
        Ok(match Kind::get(r)? {
            Kind::Account => AnyRecord::Account(Codec::get(r)?),
            Kind::Contact => AnyRecord::Contact(Codec::get(r)?),
            Kind::Opportunity => AnyRecord::Opportunity(Codec::get(r)?),
            Kind::Lead => AnyRecord::Lead(Codec::get(r)?),
            Kind::Activity => AnyRecord::Activity(Codec::get(r)?),
        })
    }
}

impl Codec for Value {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            Value::Bool(b) => {
                w.push(0);
                b.put(w);
            }
            Value::Int(i) => {
                w.push(1);
                i.put(w);
            }
            Value::Float(f) => {
                w.push(2);
                f.put(w);
            }
            Value::Text(s) => {
                w.push(3);
                s.put(w);
            }
            Value::List(items) => {
                w.push(4);
                items.put(w);
            }
        }
    }
    fn get(r: &mut Reader) -> Result<Self> {
        Ok(match r.byte()? {
            0 => Value::Bool(bool::get(r)?),
            1 => Value::Int(i64::get(r)?),
            2 => Value::Float(f64::get(r)?),
            3 => Value::Text(String::get(r)?),
            4 => Value::List(Vec::get(r)?),
            _ => return Err(Corrupt),
        })
    }
}

impl Codec for crate::history::Fields {
    fn put(&self, w: &mut Vec<u8>) {
        put_varint(w, self.len() as u64);
        for (k, v) in self {
            put_str(w, k);
            v.put(w);
        }
    }
    fn get(r: &mut Reader) -> Result<Self> {
        let n = r.len()?;
        let mut out = Self::new();
        for _ in 0..n {
            let k = String::get(r)?;
            out.insert(k, Value::get(r)?);
        }
        Ok(out)
    }
}

impl Codec for Change {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            Change::Created { fields } => {
                w.push(0);
                fields.put(w);
            }
            Change::Changed { field, old, new } => {
                w.push(1);
                field.put(w);
                old.put(w);
                new.put(w);
            }
            Change::Deleted => w.push(2),
            Change::Restored { fields } => {
                w.push(3);
                fields.put(w);
            }
        }
    }
    fn get(r: &mut Reader) -> Result<Self> {
        Ok(match r.byte()? {
            0 => Change::Created {
                fields: Codec::get(r)?,
            },
            1 => Change::Changed {
                field: String::get(r)?,
                old: Codec::get(r)?,
                new: Codec::get(r)?,
            },
            2 => Change::Deleted,
            3 => Change::Restored {
                fields: Codec::get(r)?,
            },
            _ => return Err(Corrupt),
        })
    }
}

/// Encodes one value into a new buffer.
pub fn to_vec<T: Codec>(v: &T) -> Vec<u8> {
    let mut w = Vec::new();
    v.put(&mut w);
    w
}

/// Decodes one value that must use every byte.
pub fn from_slice<T: Codec>(bytes: &[u8]) -> Result<T> {
    let mut r = Reader::new(bytes);
    let v = T::get(&mut r)?;
    if r.is_empty() {
        Ok(v)
    } else {
        Err(Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Codec + std::fmt::Debug + PartialEq>(v: T) {
        let bytes = to_vec(&v);
        assert_eq!(from_slice::<T>(&bytes), Ok(v));
    }

    #[test]
    fn scalars_round_trip() {
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            round_trip(v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, -300] {
            round_trip(v);
        }
        round_trip(1.5f64);
        round_trip(String::from("é\n\"x"));
        round_trip(Some(vec![true, false]));
        round_trip(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
        round_trip(DateTime::parse_from_rfc3339("2026-11-26T10:30:00+01:00").unwrap());
        round_trip(
            NaiveDateTime::parse_from_str("2026-11-26 10:30:05", "%Y-%m-%d %H:%M:%S").unwrap(),
        );
        round_trip(Value::List(vec![Value::Text("a".into()), Value::Int(-3)]));
    }

    #[test]
    fn truncated_or_foreign_bytes_are_corrupt_not_a_panic() {
        let bytes = to_vec(&String::from("hello"));
        assert_eq!(from_slice::<String>(&bytes[..3]), Err(Corrupt));
        assert_eq!(from_slice::<String>(&[0xff; 12]), Err(Corrupt));
        assert_eq!(from_slice::<Option<u64>>(&[7]), Err(Corrupt));
        // Trailing bytes: not what was written.
        assert_eq!(from_slice::<u64>(&[1, 1]), Err(Corrupt));
    }

    /// The fields only captured activities carry (calls, ingested emails, calendar events)
    /// survive the trip too: the example CRM has none of them.
    #[test]
    fn captured_activities_round_trip() {
        let config = crate::config::Config::default();
        let texts = [
            "kind = \"call\"\ndate = 2026-11-20T10:30:00+01:00\naccount = \"acme\"\nduration_min = 20\ndirection = \"outbound\"\noutcome = \"voicemail\"\ncall_id = \"aircall:42\"\nparticipants = [\"+33612345678\"]\n",
            "kind = \"email\"\ndate = 2026-11-20\naccount = \"acme\"\ndirection = \"inbound\"\nmessage_id = \"<m1@acme.com>\"\nattachments = [\"deck.pdf (1024 bytes)\", \"a.png (3 bytes)\"]\n",
            "kind = \"demo\"\ndate = 2026-11-27T10:00:00\naccount = \"acme\"\nduration_min = 30\ncancelled = true\nuid = \"evt-1@google.com\"\nsequence = 2\nrecurrence_id = \"2026-11-27T10:00:00+01:00\"\n",
        ];
        for (i, text) in texts.iter().enumerate() {
            let id = format!("a{i}");
            let path = format!("activities/2026/11/{id}.toml");
            let (record, diags) = crate::store::parse::parse_record(
                crate::model::Kind::Activity,
                &id,
                &path,
                text,
                &config,
            );
            assert!(diags.is_empty(), "{diags:?}");
            let bytes = to_vec(&vec![record.clone()]);
            let back: Vec<AnyRecord> = from_slice(&bytes).unwrap();
            let strip = |r: &AnyRecord| {
                let mut r = r.clone();
                r.meta_mut().locs.clear();
                format!("{r:?}")
            };
            assert_eq!(strip(&record), strip(&back[0]));
            for set in [
                "call_id",
                "attachments",
                "cancelled",
                "recurrence_id",
                "outcome",
            ] {
                if text.contains(set) {
                    assert!(!strip(&back[0]).contains(&format!("{set}: None")), "{set}");
                }
            }
        }
    }

    /// Every field of every record of the example CRM survives the trip, custom tables and
    /// activity date-times included (field positions do not: see `Meta`'s codec).
    #[test]
    fn records_round_trip() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("example-crm");
        let loaded = crate::store::load(&crate::store::WorkTree::new(&root)).unwrap();
        let records: Vec<AnyRecord> = loaded.crm.into_records().collect();
        assert!(records.len() > 50);
        let bytes = to_vec(&records);
        let back: Vec<AnyRecord> = from_slice(&bytes).unwrap();
        assert_eq!(back.len(), records.len());
        for (a, b) in records.iter().zip(&back) {
            assert_eq!(a.meta().path, b.meta().path);
            assert_eq!(a.meta().broken, b.meta().broken);
            // Every typed field, set or not; only the positions are left behind.
            let strip = |r: &AnyRecord| format!("{r:?}").replace(char::is_whitespace, "");
            let (mut a, mut b) = (a.clone(), b.clone());
            a.meta_mut().locs.clear();
            b.meta_mut().locs.clear();
            assert_eq!(strip(&a), strip(&b));
        }
    }
}
