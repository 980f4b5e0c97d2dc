//! A loaded CRM: the method (`sloop.toml`) and every record, typed. This is the value every
//! rule, plan and metric takes; the loader (`store`) builds it from a `Source`.

use crate::config::Config;
use crate::model::{Account, Activity, AnyRecord, Contact, Kind, Lead, Meta, Opportunity};

/// A loaded CRM: the config and every record, each list sorted by path.
#[derive(Debug, Clone, Default)]
pub struct Crm {
    pub config: Config,
    pub accounts: Vec<Account>,
    pub contacts: Vec<Contact>,
    pub opportunities: Vec<Opportunity>,
    pub leads: Vec<Lead>,
    pub activities: Vec<Activity>,
}

impl Crm {
    /// A CRM of no records under `config` (what `..Crm::default()` gives, without parsing
    /// the default config only to drop it).
    pub fn empty(config: Config) -> Self {
        Crm {
            config,
            accounts: Vec::new(),
            contacts: Vec::new(),
            opportunities: Vec::new(),
            leads: Vec::new(),
            activities: Vec::new(),
        }
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.meta.id == id)
    }
    pub fn contact(&self, id: &str) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.meta.id == id)
    }
    pub fn opportunity(&self, id: &str) -> Option<&Opportunity> {
        self.opportunities.iter().find(|o| o.meta.id == id)
    }
    pub fn lead(&self, id: &str) -> Option<&Lead> {
        self.leads.iter().find(|l| l.meta.id == id)
    }
    pub fn activity(&self, id: &str) -> Option<&Activity> {
        self.activities.iter().find(|a| a.meta.id == id)
    }

    /// Number of records of every kind.
    pub fn len(&self) -> usize {
        self.accounts.len()
            + self.contacts.len()
            + self.opportunities.len()
            + self.leads.len()
            + self.activities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every record, kind by kind (accounts, contacts, opportunities, leads, activities).
    pub fn into_records(self) -> impl Iterator<Item = AnyRecord> {
        let Crm {
            config: _,
            accounts,
            contacts,
            opportunities,
            leads,
            activities,
        } = self;
        (accounts.into_iter().map(AnyRecord::Account))
            .chain(contacts.into_iter().map(AnyRecord::Contact))
            .chain(opportunities.into_iter().map(AnyRecord::Opportunity))
            .chain(leads.into_iter().map(AnyRecord::Lead))
            .chain(activities.into_iter().map(AnyRecord::Activity))
    }

    /// Moves `other`'s records after this CRM's, kind by kind (its config is dropped). A
    /// kind this CRM has no record of takes `other`'s list as it is, without copying it.
    pub fn append(&mut self, other: Crm) {
        fn join<T>(to: &mut Vec<T>, mut from: Vec<T>) {
            if to.is_empty() {
                *to = from;
            } else {
                to.append(&mut from);
            }
        }
        let Crm {
            config: _,
            accounts,
            contacts,
            opportunities,
            leads,
            activities,
        } = other;
        join(&mut self.accounts, accounts);
        join(&mut self.contacts, contacts);
        join(&mut self.opportunities, opportunities);
        join(&mut self.leads, leads);
        join(&mut self.activities, activities);
    }

    pub fn push(&mut self, record: AnyRecord) {
        match record {
            AnyRecord::Account(r) => self.accounts.push(r),
            AnyRecord::Contact(r) => self.contacts.push(r),
            AnyRecord::Opportunity(r) => self.opportunities.push(r),
            AnyRecord::Lead(r) => self.leads.push(r),
            AnyRecord::Activity(r) => self.activities.push(r),
        }
    }

    /// Room for `additional` more records of `kind`.
    pub fn reserve(&mut self, kind: Kind, additional: usize) {
        match kind {
            Kind::Account => self.accounts.reserve_exact(additional),
            Kind::Contact => self.contacts.reserve_exact(additional),
            Kind::Opportunity => self.opportunities.reserve_exact(additional),
            Kind::Lead => self.leads.reserve_exact(additional),
            Kind::Activity => self.activities.reserve_exact(additional),
        }
    }

    /// (path, id) of every record of a kind.
    pub fn ids(&self, kind: Kind) -> Vec<(&str, &str)> {
        fn pairs<'a, T>(v: &'a [T], meta: impl Fn(&'a T) -> &'a Meta) -> Vec<(&'a str, &'a str)> {
            v.iter()
                .map(|r| (meta(r).path.as_str(), meta(r).id.as_str()))
                .collect()
        }
        match kind {
            Kind::Account => pairs(&self.accounts, |r| &r.meta),
            Kind::Contact => pairs(&self.contacts, |r| &r.meta),
            Kind::Opportunity => pairs(&self.opportunities, |r| &r.meta),
            Kind::Lead => pairs(&self.leads, |r| &r.meta),
            Kind::Activity => pairs(&self.activities, |r| &r.meta),
        }
    }
}
