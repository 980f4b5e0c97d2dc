//! What a write is judged against besides the record itself: each kind's ids (with their
//! paths), the accounts' domains and the contacts' emails. Built once from a CRM, in one pass
//! over its records; a run of writes (the server's batch of events) adds each record it
//! accepts, so the next write sees it without a second pass over the CRM. Pure.

use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;

use crate::check::Resolver;
use crate::crm::Crm;
use crate::model::{ids, AnyRecord, Kind};

/// The ids, domains and emails of a CRM, and those a run has added since.
#[derive(Debug, Default)]
pub struct Known<'a> {
    /// Per kind (in `Kind::ALL`'s order): id → path.
    paths: [HashMap<Cow<'a, str>, Cow<'a, str>>; 5],
    /// An account's domain, ASCII-lowercased → the account's id (the first one).
    domains: HashMap<Cow<'a, str>, Cow<'a, str>>,
    /// A contact's email, ASCII-lowercased → the contact's id (the first one).
    emails: HashMap<Cow<'a, str>, Cow<'a, str>>,
}

fn slot(kind: Kind) -> usize {
    match kind {
        Kind::Account => 0,
        Kind::Contact => 1,
        Kind::Opportunity => 2,
        Kind::Lead => 3,
        Kind::Activity => 4,
    }
}

/// `s` ASCII-lowercased, borrowed when it already is.
fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

impl<'a> Known<'a> {
    /// The ids, domains and emails of every record of `crm`.
    pub fn new(crm: &'a Crm) -> Self {
        let mut known = Known::default();
        // Each map sized once: growing one rehashes it into fresh memory at every doubling
        // (most of a write's time, at 100,000 records).
        for kind in Kind::ALL {
            let ids = crm.ids(kind);
            let map = &mut known.paths[slot(kind)];
            map.reserve(ids.len());
            for (path, id) in ids {
                map.entry(Cow::Borrowed(id)).or_insert(Cow::Borrowed(path));
            }
        }
        known.domains.reserve(crm.accounts.len());
        known.emails.reserve(crm.contacts.len());
        for a in &crm.accounts {
            if let Some(d) = a.domain.as_deref() {
                known
                    .domains
                    .entry(lower(d))
                    .or_insert(Cow::Borrowed(a.meta.id.as_str()));
            }
        }
        for c in &crm.contacts {
            if let Some(e) = c.email.as_deref() {
                known
                    .emails
                    .entry(lower(e))
                    .or_insert(Cow::Borrowed(c.meta.id.as_str()));
            }
        }
        known
    }

    /// Takes a record a run has just accepted: its id, and its domain or email. An edited
    /// record keeps its path; a domain or email it no longer has stays known (a write is
    /// refused rather than let a duplicate in).
    pub fn add(&mut self, record: &AnyRecord) {
        let meta = record.meta();
        self.paths[slot(record.kind())]
            .entry(Cow::Owned(meta.id.clone()))
            .or_insert_with(|| Cow::Owned(meta.path.clone()));
        let (map, key) = match record {
            AnyRecord::Account(a) => (&mut self.domains, a.domain.as_deref()),
            AnyRecord::Contact(c) => (&mut self.emails, c.email.as_deref()),
            _ => return,
        };
        if let Some(key) = key {
            map.entry(Cow::Owned(key.to_ascii_lowercase()))
                .or_insert_with(|| Cow::Owned(meta.id.clone()));
        }
    }

    /// The path of a record, if its id is taken.
    pub fn path(&self, kind: Kind, id: &str) -> Option<&str> {
        self.paths[slot(kind)].get(id).map(|p| p.as_ref())
    }

    /// Whether a record of the kind has this id.
    pub fn has(&self, kind: Kind, id: &str) -> bool {
        self.paths[slot(kind)].contains_key(id)
    }

    /// Every id of a kind, in no order.
    pub fn ids(&self, kind: Kind) -> impl Iterator<Item = &str> {
        self.paths[slot(kind)].keys().map(|k| k.as_ref())
    }

    /// The account with this domain (any case).
    pub fn account_with_domain(&self, domain: &str) -> Option<&str> {
        self.domains.get(lower(domain).as_ref()).map(|a| a.as_ref())
    }

    /// The contact with this email (any case).
    pub fn contact_with_email(&self, email: &str) -> Option<&str> {
        self.emails.get(lower(email).as_ref()).map(|c| c.as_ref())
    }

    /// The first free id from a base: `acme`, `acme-2`, `acme-3`…
    pub fn unique_id(&self, kind: Kind, base: &str) -> String {
        ids::first_free(base, |c| self.has(kind, c))
    }
}

impl Resolver for Known<'_> {
    fn exists(&self, kind: Kind, id: &str) -> bool {
        self.has(kind, id)
    }

    fn candidates(&self, kind: Kind) -> Vec<String> {
        let mut all: Vec<String> = self.ids(kind).map(str::to_string).collect();
        all.sort();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::parse::parse_record;

    fn record(kind: Kind, id: &str, text: &str) -> AnyRecord {
        let path = crate::store::record_path(kind, id, 0);
        parse_record(kind, id, &path, text, &Config::default()).0
    }

    fn crm() -> Crm {
        let mut crm = Crm::default();
        crm.push(record(
            Kind::Account,
            "acme",
            "name = \"Acme\"\nstatus = \"target\"\ndomain = \"acme.com\"\n",
        ));
        crm.push(record(
            Kind::Contact,
            "ann",
            "name = \"Ann\"\naccount = \"acme\"\nemail = \"ann@acme.com\"\n",
        ));
        crm
    }

    #[test]
    fn ids_domains_and_emails_are_found_in_any_case() {
        let crm = crm();
        let known = Known::new(&crm);
        assert!(known.has(Kind::Account, "acme"));
        assert!(!known.has(Kind::Contact, "acme"));
        assert_eq!(known.path(Kind::Contact, "ann"), Some("contacts/ann.toml"));
        assert_eq!(known.account_with_domain("acme.com"), Some("acme"));
        assert_eq!(known.account_with_domain("ACME.com"), Some("acme"));
        assert_eq!(known.contact_with_email("ann@ACME.COM"), Some("ann"));
        assert_eq!(known.contact_with_email("bob@acme.com"), None);
    }

    #[test]
    fn an_added_record_is_known_to_the_next_write() {
        let crm = crm();
        let mut known = Known::new(&crm);
        assert_eq!(known.unique_id(Kind::Account, "acme"), "acme-2");
        known.add(&record(
            Kind::Account,
            "acme-2",
            "name = \"Acme 2\"\nstatus = \"target\"\ndomain = \"acme2.com\"\n",
        ));
        assert_eq!(known.unique_id(Kind::Account, "acme"), "acme-3");
        assert_eq!(known.account_with_domain("ACME2.com"), Some("acme-2"));
        assert!(known.exists(Kind::Account, "acme-2"));
        assert_eq!(known.candidates(Kind::Account), vec!["acme", "acme-2"]);
    }
}
