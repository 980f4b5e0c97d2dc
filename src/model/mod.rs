//! The method's nouns: record kinds, ids, and the five record types of DESIGN.md §3.

pub mod countries;
pub mod dates;
pub mod flatten;
pub mod ids;
pub mod reader;
mod records;

pub use ids::{AccountId, ActivityId, ContactId, Id, IdError, LeadId, MemberId, OpportunityId};
pub use records::{
    Account, Activity, ActivityKind, AnyRecord, Bant, CaptureKeys, Captured, CommitTerms, Contact,
    ContactRole, Custom, Fit, Lead, LeadStatus, Meta, OfKind, OppType, Opportunity, When,
    DIRECTIONS, OUTCOMES,
};

use serde::Serialize;

/// The five kinds of records, each in its own folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Account,
    Contact,
    Opportunity,
    Lead,
    Activity,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Account,
        Kind::Contact,
        Kind::Opportunity,
        Kind::Lead,
        Kind::Activity,
    ];

    /// The folder records of this kind live under.
    pub fn folder(self) -> &'static str {
        match self {
            Kind::Account => "accounts",
            Kind::Contact => "contacts",
            Kind::Opportunity => "opportunities",
            Kind::Lead => "leads",
            Kind::Activity => "activities",
        }
    }

    /// The singular name used in messages and JSON (`account`, `opportunity`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Account => "account",
            Kind::Contact => "contact",
            Kind::Opportunity => "opportunity",
            Kind::Lead => "lead",
            Kind::Activity => "activity",
        }
    }

    /// "an account", "a contact"… for messages.
    pub fn with_article(self) -> &'static str {
        match self {
            Kind::Account => "an account",
            Kind::Contact => "a contact",
            Kind::Opportunity => "an opportunity",
            Kind::Lead => "a lead",
            Kind::Activity => "an activity",
        }
    }

    pub fn from_folder(folder: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.folder() == folder)
    }

    /// Accepts the singular, the plural (folder) name, and a few short forms.
    pub fn parse(name: &str) -> Option<Kind> {
        match name {
            "account" | "accounts" => Some(Kind::Account),
            "contact" | "contacts" => Some(Kind::Contact),
            "opportunity" | "opportunities" | "opp" | "opps" => Some(Kind::Opportunity),
            "lead" | "leads" => Some(Kind::Lead),
            "activity" | "activities" => Some(Kind::Activity),
            _ => None,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
