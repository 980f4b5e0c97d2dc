//! The five record types. Fields mirror DESIGN.md §3; everything optional is an `Option`.
//! Stages and statuses are names checked against `sloop.toml` (a team can change its method),
//! so they are strings here; kinds and roles that never change are enums.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::ids::{AccountId, ContactId, MemberId, OpportunityId};
use super::Kind;
use crate::diag::Loc;

/// Where a record came from and where its fields are, for diagnostics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Meta {
    /// The file stem. Not a validated `Id` because a record with an invalid file name is still
    /// loaded (and reported) so that everything else about it is checked too.
    pub id: String,
    /// Path relative to the CRM root, `/`-separated.
    pub path: String,
    /// Positions of the fields present in the file (dotted names: `bant.budget`).
    #[serde(skip)]
    pub locs: Vec<(&'static str, Loc)>,
    /// The file could not be parsed: every field is a default and checks that need fields
    /// skip it (its id still resolves references).
    #[serde(skip)]
    pub broken: bool,
}

impl Meta {
    /// Where a field's value is, or the start of the file.
    pub fn loc(&self, field: &str) -> Loc {
        self.locs
            .iter()
            .find(|(k, _)| *k == field)
            .map(|(_, l)| *l)
            .unwrap_or(Loc::START)
    }

    /// Whether the field is present in the file.
    pub fn has(&self, field: &str) -> bool {
        self.locs.iter().any(|(k, _)| *k == field)
    }

    /// Drops the field positions, which only diagnostics and `has` read: a few hundred bytes
    /// a record, for records kept in bulk to compute from (a report's snapshot, the demo's
    /// simulation). `has` then says no field is present.
    pub fn forget_positions(&mut self) {
        self.locs = Vec::new();
    }
}

/// The free-form `[custom]` table, kept as TOML. Boxed: most records have none, and a table
/// held inline is 72 bytes in every record (a report holds 341,000 records at the benchmark's
/// size: 22 MB).
pub type Custom = Option<Box<toml::Table>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    High,
    Low,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Account {
    #[serde(flatten)]
    pub meta: Meta,
    pub name: String,
    pub status: String,
    pub owner: Option<MemberId>,
    pub domain: Option<String>,
    pub backlog_until: Option<NaiveDate>,
    pub fit: Option<Fit>,
    pub industry: Option<String>,
    pub employees: Option<u64>,
    /// Annual revenue, in the CRM's currency.
    pub revenue: Option<f64>,
    pub country: Option<String>,
    pub source: Option<String>,
    /// The inbound channel it came through (from `values.channels`).
    pub channel: Option<String>,
    /// The company's LinkedIn page.
    pub linkedin: Option<String>,
    pub tools: Vec<String>,
    pub disqualified_reason: Option<String>,
    pub tags: Vec<String>,
    pub custom: Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    DecisionMaker,
    Champion,
    EndUser,
    Influencer,
    Other,
}

impl ContactRole {
    pub const NAMES: &'static [&'static str] = &[
        "decision_maker",
        "champion",
        "end_user",
        "influencer",
        "other",
    ];
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "decision_maker" => Self::DecisionMaker,
            "champion" => Self::Champion,
            "end_user" => Self::EndUser,
            "influencer" => Self::Influencer,
            "other" => Self::Other,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Contact {
    #[serde(flatten)]
    pub meta: Meta,
    pub name: String,
    pub account: Option<AccountId>,
    pub email: Option<String>,
    pub title: Option<String>,
    pub role: Option<ContactRole>,
    pub persona: Option<String>,
    pub phone: Option<String>,
    pub linkedin: Option<String>,
    pub reports_to: Option<ContactId>,
    pub custom: Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OppType {
    #[default]
    New,
    Upsell,
}

/// Budget, Authority, Need, Timeline: free-text notes, complete when all four are set.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Bant {
    pub budget: Option<String>,
    pub authority: Option<String>,
    pub need: Option<String>,
    pub timeline: Option<String>,
}

/// The terms agreed at the `commit` stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CommitTerms {
    pub accepted_on: Option<NaiveDate>,
    pub start_date: Option<NaiveDate>,
    pub onboarding_meeting: Option<NaiveDate>,
    pub plan: Option<String>,
    pub pricing: Option<String>,
    pub users: Option<u64>,
    pub billing_tool: Option<String>,
    pub invoice_scheduled: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Opportunity {
    #[serde(flatten)]
    pub meta: Meta,
    pub name: String,
    pub account: Option<AccountId>,
    pub owner: Option<MemberId>,
    pub stage: String,
    pub source: String,
    #[serde(rename = "type")]
    pub kind: OppType,
    pub mrr: Option<f64>,
    pub close_date: Option<NaiveDate>,
    pub created: Option<NaiveDate>,
    pub sdr: Option<MemberId>,
    pub channel: Option<String>,
    pub integration: Option<String>,
    pub lost_reason: Option<String>,
    pub bant: Bant,
    pub commit: CommitTerms,
    pub custom: Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LeadStatus {
    #[default]
    New,
    Working,
    Converted,
    Rejected,
}

impl LeadStatus {
    pub const NAMES: &'static [&'static str] = &["new", "working", "converted", "rejected"];
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "new" => Self::New,
            "working" => Self::Working,
            "converted" => Self::Converted,
            "rejected" => Self::Rejected,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Lead {
    #[serde(flatten)]
    pub meta: Meta,
    pub name: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    pub domain: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    pub source: Option<String>,
    pub channel: Option<String>,
    pub owner: Option<MemberId>,
    pub status: LeadStatus,
    pub converted_account: Option<AccountId>,
    pub converted_contact: Option<ContactId>,
    pub created: Option<NaiveDate>,
    pub custom: Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivityKind {
    Email,
    Call,
    Meeting,
    Demo,
    #[default]
    Note,
    Task,
}

impl ActivityKind {
    pub const NAMES: &'static [&'static str] =
        &["email", "call", "meeting", "demo", "note", "task"];
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "email" => Self::Email,
            "call" => Self::Call,
            "meeting" => Self::Meeting,
            "demo" => Self::Demo,
            "note" => Self::Note,
            "task" => Self::Task,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
    /// Emails, calls, meetings and demos are touchpoints; notes and tasks are not. (An
    /// activity's own answer, `Activity::is_touchpoint`, also leaves out cancelled meetings.)
    pub fn touches(self) -> bool {
        matches!(self, Self::Email | Self::Call | Self::Meeting | Self::Demo)
    }
    /// Kinds that may carry `duration_min`.
    pub fn has_duration(self) -> bool {
        matches!(self, Self::Call | Self::Meeting | Self::Demo)
    }
    /// The fields only some kinds may carry: each with whether this kind may not, and the
    /// kinds it belongs to (for the message).
    pub fn kind_only_fields(self) -> [(&'static str, bool, &'static str); 11] {
        use ActivityKind::{Call, Demo, Email, Meeting, Task};
        let calendar = matches!(self, Meeting | Demo);
        [
            ("due", self != Task, "tasks"),
            ("done", self != Task, "tasks"),
            (
                "duration_min",
                !self.has_duration(),
                "calls, meetings and demos",
            ),
            (
                "direction",
                !matches!(self, Call | Email),
                "calls and emails",
            ),
            ("outcome", self != Call, "calls"),
            ("call_id", self != Call, "calls"),
            ("attachments", self != Email, "emails"),
            ("uid", !calendar, "meetings and demos"),
            ("sequence", !calendar, "meetings and demos"),
            ("recurrence_id", !calendar, "meetings and demos"),
            ("cancelled", !calendar, "meetings and demos"),
        ]
    }
}

/// An activity's date: a day, optionally with a time (and offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum When {
    Date(NaiveDate),
    Local(NaiveDateTime),
    Offset(DateTime<FixedOffset>),
}

impl When {
    /// The calendar day, as written (an offset date-time keeps its own local day).
    pub fn date(&self) -> NaiveDate {
        match self {
            When::Date(d) => *d,
            When::Local(dt) => dt.date(),
            When::Offset(dt) => dt.date_naive(),
        }
    }
}

impl Default for When {
    fn default() -> Self {
        When::Date(NaiveDate::MIN)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Activity {
    #[serde(flatten)]
    pub meta: Meta,
    pub kind: ActivityKind,
    pub date: When,
    pub account: Option<AccountId>,
    pub contact: Option<ContactId>,
    pub opportunity: Option<OpportunityId>,
    pub owner: Option<MemberId>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub duration_min: Option<u64>,
    pub due: Option<NaiveDate>,
    pub done: Option<bool>,
    /// What a capture (an ingested email, call or calendar event) records beyond the rest:
    /// its keys and participants. Held apart, as one pointer: activities typed or imported
    /// have none of it.
    #[serde(flatten)]
    pub capture: Captured,
    /// Meetings and demos: the event was cancelled; it no longer counts as a touchpoint.
    pub cancelled: Option<bool>,
    pub custom: Custom,
}

/// The fields of an activity that only a capture fills.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CaptureKeys {
    /// `Message-ID` of an ingested email, so the same message is recorded once.
    pub message_id: Option<String>,
    /// Addresses of an ingested email's participants, a meeting's attendees, a call's number.
    pub participants: Vec<String>,
    /// Calls and emails: `inbound` or `outbound` (`DIRECTIONS`).
    pub direction: Option<String>,
    /// Calls: `answered`, `missed`, `voicemail` or `failed` (`OUTCOMES`).
    pub outcome: Option<String>,
    /// Calls: the phone system's id of the call, so the same call is recorded once.
    pub call_id: Option<String>,
    /// Emails: the attachments, `name (N bytes)` (the files are not stored).
    pub attachments: Vec<String>,
    /// Meetings and demos from a calendar: the event's `UID`, its `SEQUENCE`, and for one
    /// occurrence of a recurring event its original start (`RECURRENCE-ID`, RFC 3339).
    pub uid: Option<String>,
    pub sequence: Option<u64>,
    pub recurrence_id: Option<String>,
}

/// An activity's `CaptureKeys`, boxed and absent when every one is empty: held inline they
/// are 208 bytes in each of the 217,000 activities of the benchmark CRM (45 MB), which only
/// captured activities use. Reads see the keys through `Deref` (all empty when absent); a
/// capture builds them whole (`new`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Captured(Option<Box<CaptureKeys>>);

static NO_CAPTURE: CaptureKeys = CaptureKeys {
    message_id: None,
    participants: Vec::new(),
    direction: None,
    outcome: None,
    call_id: None,
    attachments: Vec::new(),
    uid: None,
    sequence: None,
    recurrence_id: None,
};

impl Captured {
    /// The keys, held only when one of them is set.
    pub fn new(keys: CaptureKeys) -> Self {
        if keys == NO_CAPTURE {
            Captured(None)
        } else {
            Captured(Some(Box::new(keys)))
        }
    }

    /// The keys, by value.
    pub fn into_keys(self) -> CaptureKeys {
        self.0.map(|b| *b).unwrap_or_default()
    }
}

impl std::ops::Deref for Captured {
    type Target = CaptureKeys;
    fn deref(&self) -> &CaptureKeys {
        self.0.as_deref().unwrap_or(&NO_CAPTURE)
    }
}

/// As the keys themselves, so `ls --format json` shows an activity's fields as before the box.
impl Serialize for Captured {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CaptureKeys::serialize(&**self, s)
    }
}

/// The values of an activity's `direction`.
pub const DIRECTIONS: &[&str] = &["inbound", "outbound"];
/// The values of a call's `outcome`.
pub const OUTCOMES: &[&str] = &["answered", "missed", "voicemail", "failed"];

impl Activity {
    /// An open task: a task not marked done.
    pub fn is_open_task(&self) -> bool {
        self.kind == ActivityKind::Task && self.done != Some(true)
    }

    /// A touchpoint: an email, call, meeting or demo that was not cancelled.
    pub fn is_touchpoint(&self) -> bool {
        self.kind.touches() && self.cancelled != Some(true)
    }

    /// A call, meeting or demo that took place (or will): not cancelled.
    pub fn held(&self, kind: ActivityKind) -> bool {
        self.kind == kind && self.cancelled != Some(true)
    }
}

/// A parsed record of any kind.
#[derive(Debug, Clone)]
pub enum AnyRecord {
    Account(Account),
    Contact(Contact),
    Opportunity(Opportunity),
    Lead(Lead),
    Activity(Activity),
}

/// A record type of one kind: what code generic over the five lists needs to take its
/// records out of an [`AnyRecord`] and to find their path.
pub trait OfKind: Sized {
    const KIND: Kind;
    /// The record, if `any` is of this kind.
    fn from_any(any: AnyRecord) -> Option<Self>;
    fn meta(&self) -> &Meta;
}

macro_rules! of_kind {
    ($($ty:ident),*) => {$(
        impl OfKind for $ty {
            const KIND: Kind = Kind::$ty;
            fn from_any(any: AnyRecord) -> Option<Self> {
                match any {
                    AnyRecord::$ty(r) => Some(r),
                    _ => None,
                }
            }
            fn meta(&self) -> &Meta {
                &self.meta
            }
        }
    )*};
}

of_kind!(Account, Contact, Opportunity, Lead, Activity);

impl AnyRecord {
    /// The record's `[custom]` table.
    pub fn custom(&self) -> &Custom {
        match self {
            AnyRecord::Account(r) => &r.custom,
            AnyRecord::Contact(r) => &r.custom,
            AnyRecord::Opportunity(r) => &r.custom,
            AnyRecord::Lead(r) => &r.custom,
            AnyRecord::Activity(r) => &r.custom,
        }
    }

    pub fn meta(&self) -> &Meta {
        match self {
            AnyRecord::Account(r) => &r.meta,
            AnyRecord::Contact(r) => &r.meta,
            AnyRecord::Opportunity(r) => &r.meta,
            AnyRecord::Lead(r) => &r.meta,
            AnyRecord::Activity(r) => &r.meta,
        }
    }

    pub fn meta_mut(&mut self) -> &mut Meta {
        match self {
            AnyRecord::Account(r) => &mut r.meta,
            AnyRecord::Contact(r) => &mut r.meta,
            AnyRecord::Opportunity(r) => &mut r.meta,
            AnyRecord::Lead(r) => &mut r.meta,
            AnyRecord::Activity(r) => &mut r.meta,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            AnyRecord::Account(_) => Kind::Account,
            AnyRecord::Contact(_) => Kind::Contact,
            AnyRecord::Opportunity(_) => Kind::Opportunity,
            AnyRecord::Lead(_) => Kind::Lead,
            AnyRecord::Activity(_) => Kind::Activity,
        }
    }
}

#[cfg(test)]
mod tests {
    /// A record without a `[custom]` table pays a pointer for it, not a table's room.
    #[test]
    fn a_custom_table_costs_a_record_one_pointer() {
        assert_eq!(
            std::mem::size_of::<super::Custom>(),
            std::mem::size_of::<usize>()
        );
    }

    /// An activity without capture keys pays a pointer for them, and keys set to nothing
    /// are not held.
    #[test]
    fn capture_keys_cost_an_activity_one_pointer() {
        use super::{CaptureKeys, Captured};
        assert_eq!(
            std::mem::size_of::<Captured>(),
            std::mem::size_of::<usize>()
        );
        assert_eq!(Captured::new(CaptureKeys::default()), Captured::default());
        assert_eq!(Captured::default().message_id, None);
        let c = Captured::new(CaptureKeys {
            sequence: Some(2),
            ..CaptureKeys::default()
        });
        assert_eq!(c.sequence, Some(2));
        assert_eq!(c.clone().into_keys().sequence, Some(2));
    }
}
