//! Checks over a whole loaded CRM: team members, references, uniqueness, the fields each stage
//! and status requires, and cross-record consistency. Per-file checks (syntax, types, unknown
//! keys, allowed values) happen while loading (`store::parse`).
//!
//! Every rule is a function `(&Crm, &mut Vec<Diagnostic>)`, run in the order the README
//! documents them. All of them run: nothing stops at the first problem.

use std::collections::{HashMap, HashSet};

use crate::config::Config;
use crate::crm::Crm;
use crate::diag::{one_of, suggest, Code, Diagnostic, Loc};
use crate::model::{Account, AnyRecord, Captured, Kind, Meta, Opportunity};

/// Runs every whole-CRM rule.
pub fn check(crm: &Crm) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let index = Index::new(crm);
    members(crm, &mut out);
    references(crm, &index, &mut out);
    uniqueness(crm, &mut out);
    requirements(crm, &mut out);
    consistency(crm, &index, &mut out);
    dates(crm, &mut out);
    out
}

/// The rules that judge records one by one, for a CRM holding only some records (the staged
/// files): members, references (resolved by `resolver` against the rest of the CRM) and the
/// fields each stage requires. Uniqueness and consistency need every record and are left to
/// the full check.
pub fn check_some(crm: &Crm, resolver: &dyn Resolver) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    members(crm, &mut out);
    references(crm, resolver, &mut out);
    requirements(crm, &mut out);
    dates(crm, &mut out);
    out
}

/// Only the fields each stage and status requires.
pub fn requirements_of(crm: &Crm) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    requirements(crm, &mut out);
    out
}

/// Tells whether a record exists, for reference checks.
pub trait Resolver {
    fn exists(&self, kind: Kind, id: &str) -> bool;
    /// Ids to suggest for a mistyped one (may be empty).
    fn candidates(&self, kind: Kind) -> Vec<String>;
}

impl Resolver for Index<'_> {
    fn exists(&self, kind: Kind, id: &str) -> bool {
        match kind {
            Kind::Account => self.accounts.contains(id),
            Kind::Contact => self.contacts.contains_key(id),
            Kind::Opportunity => self.opportunities.contains_key(id),
            _ => false,
        }
    }

    fn candidates(&self, kind: Kind) -> Vec<String> {
        match kind {
            Kind::Account => self.accounts.iter().map(|s| s.to_string()).collect(),
            Kind::Contact => self.contacts.keys().map(|s| s.to_string()).collect(),
            Kind::Opportunity => self.opportunities.keys().map(|s| s.to_string()).collect(),
            _ => Vec::new(),
        }
    }
}

/// Ids of every kind, for reference checks by hash lookup.
pub struct Index<'a> {
    accounts: HashSet<&'a str>,
    contacts: HashMap<&'a str, Option<&'a str>>,
    opportunities: HashMap<&'a str, Option<&'a str>>,
}

impl<'a> Index<'a> {
    pub fn new(crm: &'a Crm) -> Self {
        Index {
            accounts: crm.accounts.iter().map(|a| a.meta.id.as_str()).collect(),
            contacts: crm
                .contacts
                .iter()
                .map(|c| (c.meta.id.as_str(), c.account.as_ref().map(|a| a.as_str())))
                .collect(),
            opportunities: crm
                .opportunities
                .iter()
                .map(|o| (o.meta.id.as_str(), o.account.as_ref().map(|a| a.as_str())))
                .collect(),
        }
    }
}

fn at(meta: &Meta, field: &str, code: Code, message: String) -> Diagnostic {
    Diagnostic::new(code, meta.path.clone(), meta.loc(field), message)
}

/// `owner` and `sdr` must be team members.
fn members(crm: &Crm, out: &mut Vec<Diagnostic>) {
    let config = &crm.config;
    let mut check = |meta: &Meta, field: &str, id: Option<&str>| {
        let Some(id) = id else { return };
        if config.member(id).is_some() {
            return;
        }
        let hint = match suggest(id, config.member_ids()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if config.team.is_empty() => {
                format!("the team is empty: add `[team.{id}]` with a `name` to sloop.toml")
            }
            None => format!(
                "team members: {}; add `[team.{id}]` to sloop.toml if `{id}` joined",
                one_of(&config.member_ids().collect::<Vec<_>>())
            ),
        };
        out.push(
            at(
                meta,
                field,
                Code::UnknownMember,
                format!("`{field}` `{id}` is not a team member"),
            )
            .with_hint(hint),
        );
    };
    for a in &crm.accounts {
        check(&a.meta, "owner", a.owner.as_ref().map(|m| m.as_str()));
    }
    for o in &crm.opportunities {
        check(&o.meta, "owner", o.owner.as_ref().map(|m| m.as_str()));
        check(&o.meta, "sdr", o.sdr.as_ref().map(|m| m.as_str()));
    }
    for l in &crm.leads {
        check(&l.meta, "owner", l.owner.as_ref().map(|m| m.as_str()));
    }
    for a in &crm.activities {
        check(&a.meta, "owner", a.owner.as_ref().map(|m| m.as_str()));
    }
}

fn dangling(meta: &Meta, field: &str, kind: Kind, id: &str, resolver: &dyn Resolver) -> Diagnostic {
    let candidates = resolver.candidates(kind);
    let hint = match suggest(id, candidates.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("create it (`sloop new {kind} {id}`) or fix the id"),
    };
    at(
        meta,
        field,
        Code::DanglingRef,
        format!("`{field}` points to {kind} `{id}`, which does not exist"),
    )
    .with_hint(hint)
}

/// Every reference resolves to a record of the right kind.
fn references(crm: &Crm, resolver: &dyn Resolver, out: &mut Vec<Diagnostic>) {
    let mut refer = |meta: &Meta, field: &str, kind: Kind, id: Option<&str>| {
        if let Some(id) = id {
            if !resolver.exists(kind, id) {
                out.push(dangling(meta, field, kind, id, resolver));
            }
        }
    };
    for c in &crm.contacts {
        refer(
            &c.meta,
            "account",
            Kind::Account,
            c.account.as_ref().map(|a| a.as_str()),
        );
        refer(
            &c.meta,
            "reports_to",
            Kind::Contact,
            c.reports_to.as_ref().map(|a| a.as_str()),
        );
    }
    for o in &crm.opportunities {
        refer(
            &o.meta,
            "account",
            Kind::Account,
            o.account.as_ref().map(|a| a.as_str()),
        );
    }
    for l in &crm.leads {
        refer(
            &l.meta,
            "converted_account",
            Kind::Account,
            l.converted_account.as_ref().map(|a| a.as_str()),
        );
        refer(
            &l.meta,
            "converted_contact",
            Kind::Contact,
            l.converted_contact.as_ref().map(|a| a.as_str()),
        );
    }
    for a in &crm.activities {
        refer(
            &a.meta,
            "account",
            Kind::Account,
            a.account.as_ref().map(|x| x.as_str()),
        );
        refer(
            &a.meta,
            "contact",
            Kind::Contact,
            a.contact.as_ref().map(|x| x.as_str()),
        );
        refer(
            &a.meta,
            "opportunity",
            Kind::Opportunity,
            a.opportunity.as_ref().map(|x| x.as_str()),
        );
    }
    for c in &crm.contacts {
        if c.reports_to
            .as_ref()
            .is_some_and(|r| r.as_str() == c.meta.id)
        {
            out.push(at(
                &c.meta,
                "reports_to",
                Code::InvalidValue,
                "a contact cannot report to itself".into(),
            ));
        }
    }
}

/// Account domains and contact emails are unique, case-insensitively.
fn uniqueness(crm: &Crm, out: &mut Vec<Diagnostic>) {
    let mut domains: HashMap<String, &str> = HashMap::new();
    for a in &crm.accounts {
        if let Some(d) = &a.domain {
            if let Some(first) = domains.insert(d.to_lowercase(), &a.meta.id) {
                out.push(
                    at(
                        &a.meta,
                        "domain",
                        Code::Duplicate,
                        format!("domain `{d}` is already the domain of account `{first}`"),
                    )
                    .with_hint(format!(
                        "one company is one account: merge this one into `{first}`"
                    )),
                );
                domains.insert(d.to_lowercase(), first);
            }
        }
    }
    let mut emails: HashMap<String, &str> = HashMap::new();
    for c in &crm.contacts {
        if let Some(e) = &c.email {
            if let Some(first) = emails.insert(e.to_lowercase(), &c.meta.id) {
                out.push(
                    at(
                        &c.meta,
                        "email",
                        Code::Duplicate,
                        format!("email `{e}` is already the email of contact `{first}`"),
                    )
                    .with_hint(format!(
                        "one person is one contact: merge this one into `{first}`"
                    )),
                );
                emails.insert(e.to_lowercase(), first);
            }
        }
    }
}

/// Whether an opportunity field (dotted name, as in `requires`) has a value.
pub fn opportunity_has(o: &Opportunity, field: &str) -> bool {
    let b = &o.bant;
    let c = &o.commit;
    match field {
        "name" => !o.name.is_empty(),
        "account" => o.account.is_some(),
        "owner" => o.owner.is_some(),
        "stage" => !o.stage.is_empty(),
        "source" => !o.source.is_empty(),
        "type" => true,
        "mrr" => o.mrr.is_some(),
        "close_date" => o.close_date.is_some(),
        "created" => o.created.is_some(),
        "sdr" => o.sdr.is_some(),
        "channel" => o.channel.is_some(),
        "integration" => o.integration.is_some(),
        "lost_reason" => o.lost_reason.is_some(),
        "bant.budget" => b.budget.is_some(),
        "bant.authority" => b.authority.is_some(),
        "bant.need" => b.need.is_some(),
        "bant.timeline" => b.timeline.is_some(),
        "commit.accepted_on" => c.accepted_on.is_some(),
        "commit.start_date" => c.start_date.is_some(),
        "commit.onboarding_meeting" => c.onboarding_meeting.is_some(),
        "commit.plan" => c.plan.is_some(),
        "commit.pricing" => c.pricing.is_some(),
        "commit.users" => c.users.is_some(),
        "commit.billing_tool" => c.billing_tool.is_some(),
        "commit.invoice_scheduled" => c.invoice_scheduled.is_some(),
        _ => false,
    }
}

/// Whether an account field (as in `requires`) has a value.
pub fn account_has(a: &Account, field: &str) -> bool {
    match field {
        "name" => !a.name.is_empty(),
        "status" => !a.status.is_empty(),
        "owner" => a.owner.is_some(),
        "domain" => a.domain.is_some(),
        "backlog_until" => a.backlog_until.is_some(),
        "fit" => a.fit.is_some(),
        "industry" => a.industry.is_some(),
        "employees" => a.employees.is_some(),
        "revenue" => a.revenue.is_some(),
        "linkedin" => a.linkedin.is_some(),
        "country" => a.country.is_some(),
        "source" => a.source.is_some(),
        "channel" => a.channel.is_some(),
        "tools" => !a.tools.is_empty(),
        "disqualified_reason" => a.disqualified_reason.is_some(),
        "tags" => !a.tags.is_empty(),
        _ => false,
    }
}

/// What an opportunity lacks for its stage: `(field, why)` pairs, empty when complete. Used
/// by `check`, and by the writes that move an opportunity.
pub fn opportunity_missing(config: &Config, o: &Opportunity) -> Vec<(String, String)> {
    let Some(stage) = config.stage(&o.stage) else {
        return Vec::new();
    };
    let mut missing = Vec::new();
    for f in &stage.requires {
        // A field present in the file but invalid is already reported where it is.
        if !opportunity_has(o, f) && !o.meta.has(f) {
            missing.push((f.clone(), format!("stage `{}` requires `{f}`", stage.name)));
        }
    }
    for f in &stage.require_true {
        if f == "commit.invoice_scheduled" && o.commit.invoice_scheduled == Some(false) {
            missing.push((
                f.clone(),
                format!("stage `{}` requires `{f} = true`", stage.name),
            ));
        }
    }
    missing
}

/// What an account lacks (or has too much of) for its status.
pub fn account_missing(config: &Config, a: &Account) -> Vec<(String, String, Code)> {
    let mut out = Vec::new();
    let Some(status) = config.status(&a.status) else {
        return out;
    };
    for f in &status.requires {
        if !account_has(a, f) && !a.meta.has(f) {
            out.push((
                f.clone(),
                format!("status `{}` requires `{f}`", status.name),
                Code::StageRequirement,
            ));
        }
    }
    for other in &config.statuses {
        if other.name == status.name {
            continue;
        }
        for f in &other.exclusive {
            if a.meta.has(f) && !status.exclusive.contains(f) {
                out.push((
                    f.clone(),
                    format!(
                        "`{f}` is only allowed in status `{}`, and this account is `{}`",
                        other.name, status.name
                    ),
                    Code::FieldNotAllowed,
                ));
            }
        }
    }
    out
}

/// One diagnostic listing every field a stage or status requires and the record lacks.
fn missing_fields(
    meta: &Meta,
    what: &str,
    state: &str,
    missing: Vec<String>,
) -> Option<Diagnostic> {
    if missing.is_empty() {
        return None;
    }
    let message = format!("{what} `{state}` requires {}", one_of_and(&missing));
    let mut top = Vec::new();
    let mut tables: Vec<(String, Vec<String>)> = Vec::new();
    for f in &missing {
        match f.split_once('.') {
            Some((t, k)) => match tables.iter_mut().find(|(name, _)| name == t) {
                Some((_, keys)) => keys.push(k.to_string()),
                None => tables.push((t.to_string(), vec![k.to_string()])),
            },
            None => top.push(f.clone()),
        }
    }
    let mut parts = Vec::new();
    if !top.is_empty() {
        parts.push(format!(
            "add {}",
            top.iter()
                .map(|k| format!("`{k} = …`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (t, keys) in tables {
        parts.push(format!(
            "under `[{t}]` add {}",
            keys.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Some(
        Diagnostic::new(
            Code::StageRequirement,
            meta.path.clone(),
            meta.loc(what),
            message,
        )
        .with_hint(parts.join("; ")),
    )
}

/// "`a`, `b` and `c`".
fn one_of_and(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{s}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// Fields each stage and status requires.
fn requirements(crm: &Crm, out: &mut Vec<Diagnostic>) {
    for o in crm.opportunities.iter().filter(|o| !o.meta.broken) {
        let (not_true, missing): (Vec<_>, Vec<_>) = opportunity_missing(&crm.config, o)
            .into_iter()
            .partition(|(field, _)| o.meta.has(field));
        for (field, why) in not_true {
            out.push(
                Diagnostic::new(
                    Code::StageRequirement,
                    o.meta.path.clone(),
                    o.meta.loc(&field),
                    why,
                )
                .with_hint(format!("set `{field} = true`")),
            );
        }
        if let Some(d) = missing_fields(
            &o.meta,
            "stage",
            &o.stage,
            missing.into_iter().map(|(f, _)| f).collect(),
        ) {
            out.push(d);
        }
    }
    for a in crm.accounts.iter().filter(|a| !a.meta.broken) {
        let mut missing = Vec::new();
        for (field, why, code) in account_missing(&crm.config, a) {
            if code == Code::FieldNotAllowed {
                out.push(
                    Diagnostic::new(code, a.meta.path.clone(), a.meta.loc(&field), why)
                        .with_hint(format!("remove `{field}`")),
                );
            } else {
                missing.push(field);
            }
        }
        if let Some(d) = missing_fields(&a.meta, "status", &a.status, missing) {
            out.push(d);
        }
    }
    for l in crm.leads.iter().filter(|l| !l.meta.broken) {
        if l.status == crate::model::LeadStatus::Converted {
            for (field, set) in [
                ("converted_account", l.converted_account.is_some()),
                ("converted_contact", l.converted_contact.is_some()),
            ] {
                if !set && !l.meta.has(field) {
                    out.push(
                        at(
                            &l.meta,
                            "status",
                            Code::StageRequirement,
                            format!("a converted lead requires `{field}`"),
                        )
                        .with_hint("`sloop lead convert` sets both; or add them by hand"),
                    );
                }
            }
        }
    }
}

/// Records that contradict each other (warnings: `sloop tick` resolves most of them).
fn consistency(crm: &Crm, ix: &Index, out: &mut Vec<Diagnostic>) {
    let config = &crm.config;
    let mut open: HashMap<&str, Vec<&str>> = HashMap::new();
    // Accounts with an opportunity whose stage is unknown (already an error) are not judged.
    let mut unsure: HashSet<&str> = HashSet::new();
    for o in &crm.opportunities {
        if let Some(acc) = &o.account {
            if config.is_open_stage(&o.stage) {
                open.entry(acc.as_str()).or_default().push(&o.meta.id);
            } else if o.meta.broken || config.stage(&o.stage).is_none() {
                unsure.insert(acc.as_str());
            }
        }
    }
    for a in crm.accounts.iter().filter(|a| {
        !a.meta.broken && config.status(&a.status).is_some() && !unsure.contains(a.meta.id.as_str())
    }) {
        let opened = open.get(a.meta.id.as_str());
        match (a.status.as_str(), opened) {
            ("working" | "customer", _) => {}
            (status, Some(opps)) => out.push(
                at(
                    &a.meta,
                    "status",
                    Code::Inconsistent,
                    format!(
                        "account is `{status}` but has an open opportunity (`{}`)",
                        opps[0]
                    ),
                )
                .with_hint("set `status = \"working\"`, or run `sloop tick`, which moves it"),
            ),
            _ => {}
        }
        if a.status == "working" && opened.is_none() {
            out.push(
                at(&a.meta, "status", Code::Inconsistent, "account is `working` but has no open opportunity".into())
                    .with_hint("open an opportunity, or run `sloop tick`: it moves the account to `customer` or `backlog`"),
            );
        }
    }
    for c in &crm.contacts {
        if let (Some(boss), Some(acc)) = (&c.reports_to, &c.account) {
            if let Some(Some(boss_acc)) = ix.contacts.get(boss.as_str()) {
                if *boss_acc != acc.as_str() {
                    out.push(at(
                        &c.meta,
                        "reports_to",
                        Code::Inconsistent,
                        format!("reports to `{boss}`, a contact of another account (`{boss_acc}`)"),
                    ));
                }
            }
        }
    }
    for a in &crm.activities {
        let Some(acc) = a.account.as_ref().map(|x| x.as_str()) else {
            continue;
        };
        if let Some(contact) = &a.contact {
            if let Some(Some(c_acc)) = ix.contacts.get(contact.as_str()) {
                if *c_acc != acc {
                    out.push(at(
                        &a.meta,
                        "contact",
                        Code::Inconsistent,
                        format!("contact `{contact}` belongs to account `{c_acc}`, not `{acc}`"),
                    ));
                }
            }
        }
        if let Some(opp) = &a.opportunity {
            if let Some(Some(o_acc)) = ix.opportunities.get(opp.as_str()) {
                if *o_acc != acc {
                    out.push(at(
                        &a.meta,
                        "opportunity",
                        Code::Inconsistent,
                        format!("opportunity `{opp}` belongs to account `{o_acc}`, not `{acc}`"),
                    ));
                }
            }
        }
    }
}

/// Dates that contradict each other within a record (warnings): a won deal whose MRR would
/// start before it was won. The reports count such a deal from its `close_date`, so that a
/// closed month is never restated; the warning asks for the real start.
fn dates(crm: &Crm, out: &mut Vec<Diagnostic>) {
    for o in crm.opportunities.iter().filter(|o| !o.meta.broken) {
        if crm.config.outcome(&o.stage) != Some(crate::config::Outcome::Won) {
            continue;
        }
        if let (Some(start), Some(close)) = (o.commit.start_date, o.close_date) {
            if start < close {
                out.push(
                    at(
                        &o.meta,
                        "commit.start_date",
                        Code::StartBeforeClose,
                        format!("`commit.start_date` {start} is before `close_date` {close}: the reports count its MRR from {close}"),
                    )
                    .with_hint("set `commit.start_date` to the day the customer starts paying, on or after the close date"),
                );
            }
        }
    }
}

/// Drops from a record what no whole-CRM rule (`check`) reads, for a caller that holds
/// many records only to check them together (`sloop import crm`: the 200,000 activities of
/// a big export are a third of its memory): every record's `[custom]` table, an activity's
/// subject, body and capture keys, a contact's title, persona, phone and LinkedIn. A rule
/// that comes to read one of these must keep it here (`only_what_rules_read_changes_no_diagnostic`).
pub fn keep_what_rules_read(record: &mut AnyRecord) {
    match record {
        AnyRecord::Account(a) => a.custom = None,
        AnyRecord::Contact(c) => {
            c.custom = None;
            c.title = None;
            c.persona = None;
            c.phone = None;
            c.linkedin = None;
        }
        AnyRecord::Opportunity(o) => o.custom = None,
        AnyRecord::Lead(l) => l.custom = None,
        AnyRecord::Activity(a) => {
            a.custom = None;
            a.subject = None;
            a.body = None;
            a.capture = Captured::default();
        }
    }
}

/// Location helper for callers building their own diagnostics.
pub fn loc_of(meta: &Meta, field: &str) -> Loc {
    meta.loc(field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{load, Memory};

    const CONFIG: &str = "[team.al]\nname = \"Al\"\n[team.bo]\nname = \"Bo\"\n";

    fn run(files: &[(&str, &str)]) -> Vec<Diagnostic> {
        let mut all = vec![("sloop.toml", CONFIG)];
        all.extend_from_slice(files);
        let loaded = load(&Memory::new(
            all.iter().map(|(p, c)| (*p, c.as_bytes().to_vec())),
        ))
        .unwrap();
        let mut d = loaded.diagnostics;
        d.extend(check(&loaded.crm));
        d
    }

    #[test]
    fn only_what_rules_read_changes_no_diagnostic() {
        let files = [
            ("sloop.toml", CONFIG),
            ("accounts/acme.toml", "name = \"Acme\"\nstatus = \"working\"\nowner = \"al\"\ndomain = \"acme.com\"\n[custom]\nimport_id = \"x:1\"\n"),
            ("accounts/dup.toml", "name = \"Dup\"\nstatus = \"customer\"\ndomain = \"ACME.com\"\n"),
            ("contacts/jo.toml", "name = \"Jo\"\naccount = \"acme\"\nemail = \"jo@acme.com\"\ntitle = \"CEO\"\nphone = \"+33 1\"\nlinkedin = \"https://linkedin.com/in/jo\"\nreports_to = \"jo\"\n[custom]\nk = \"v\"\n"),
            ("contacts/jo2.toml", "name = \"Jo2\"\naccount = \"acmee\"\nemail = \"Jo@acme.com\"\n"),
            ("opportunities/acme-1.toml", "name = \"Acme\"\naccount = \"acme\"\nowner = \"bo\"\nstage = \"won\"\nsource = \"outbound\"\nclose_date = 2024-01-02\n[custom]\nk = \"v\"\n"),
            ("activities/2024/01/2024-01-02-call-acme.toml", "kind = \"call\"\ndate = 2024-01-02\naccount = \"acme\"\ncontact = \"jo\"\nopportunity = \"acme-2\"\nowner = \"cy\"\nsubject = \"Hello\"\nbody = \"Long\"\ndirection = \"inbound\"\n[custom]\nimport_id = \"x:2\"\n"),
            ("activities/2024/01/2024-01-03-task-acme.toml", "kind = \"task\"\ndate = 2024-01-03\naccount = \"nobody\"\nsubject = \"Do\"\ndue = 2024-01-04\ndone = false\n"),
        ];
        let loaded = load(&Memory::new(
            files.iter().map(|(p, c)| (*p, c.as_bytes().to_vec())),
        ))
        .unwrap();
        let whole = check(&loaded.crm);
        assert!(whole.len() >= 5, "{whole:?}");
        let mut kept = Crm::empty(loaded.crm.config.clone());
        for mut r in loaded.crm.clone().into_records() {
            keep_what_rules_read(&mut r);
            kept.push(r);
        }
        assert!(kept
            .activities
            .iter()
            .all(|a| a.body.is_none() && a.custom.is_none()));
        let render = |d: &[Diagnostic]| format!("{d:?}");
        assert_eq!(render(&check(&kept)), render(&whole));
    }

    fn codes(d: &[Diagnostic]) -> Vec<(String, Code)> {
        d.iter().map(|d| (d.path.clone(), d.code)).collect()
    }

    #[test]
    fn clean_crm_has_no_diagnostics() {
        let d = run(&[
            ("accounts/acme.toml", "name = \"Acme\"\nstatus = \"working\"\nowner = \"al\"\ndomain = \"acme.com\"\n"),
            ("contacts/jo.toml", "name = \"Jo\"\naccount = \"acme\"\nemail = \"jo@acme.com\"\n"),
            ("opportunities/acme-1.toml", "name = \"Acme\"\naccount = \"acme\"\nowner = \"bo\"\nstage = \"identified\"\nsource = \"outbound\"\n"),
        ]);
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn unknown_member_and_dangling_refs() {
        let d = run(&[
            (
                "accounts/acme.toml",
                "name = \"Acme\"\nstatus = \"qualified_pool\"\nowner = \"all\"\n",
            ),
            (
                "contacts/jo.toml",
                "name = \"Jo\"\naccount = \"acm\"\nreports_to = \"nobody\"\n",
            ),
        ]);
        let m = d.iter().find(|d| d.code == Code::UnknownMember).unwrap();
        assert_eq!((m.line, m.hint.as_deref()), (3, Some("did you mean `al`?")));
        let refs: Vec<_> = d.iter().filter(|d| d.code == Code::DanglingRef).collect();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0].hint.as_deref(), Some("did you mean `acme`?"));
    }

    #[test]
    fn duplicates_are_case_insensitive() {
        let d = run(&[
            (
                "accounts/a.toml",
                "name = \"A\"\nstatus = \"qualified_pool\"\ndomain = \"acme.com\"\n",
            ),
            (
                "accounts/b.toml",
                "name = \"B\"\nstatus = \"qualified_pool\"\ndomain = \"acme.com\"\n",
            ),
            (
                "contacts/x.toml",
                "name = \"X\"\naccount = \"a\"\nemail = \"Jo@Acme.com\"\n",
            ),
            (
                "contacts/y.toml",
                "name = \"Y\"\naccount = \"a\"\nemail = \"jo@acme.com\"\n",
            ),
        ]);
        assert_eq!(
            codes(&d),
            vec![
                ("accounts/b.toml".into(), Code::Duplicate),
                ("contacts/y.toml".into(), Code::Duplicate)
            ]
        );
    }

    #[test]
    fn stage_and_status_requirements() {
        let d = run(&[
            ("accounts/a.toml", "name = \"A\"\nstatus = \"target\"\nbacklog_until = 2027-01-01\n"),
            ("accounts/b.toml", "name = \"B\"\nstatus = \"backlog\"\n"),
            ("opportunities/o.toml", "name = \"O\"\naccount = \"a\"\nowner = \"al\"\nstage = \"commit\"\nsource = \"inbound\"\nmrr = 10\nclose_date = 2026-12-01\n[bant]\nbudget = \"y\"\nauthority = \"y\"\nneed = \"y\"\ntimeline = \"y\"\n[commit]\naccepted_on = 2026-11-01\nstart_date = 2026-12-01\nonboarding_meeting = 2026-12-02\nplan = \"pro\"\npricing = \"list\"\nusers = 3\nbilling_tool = \"stripe\"\ninvoice_scheduled = false\n"),
            ("opportunities/p.toml", "name = \"P\"\naccount = \"a\"\nowner = \"al\"\nstage = \"lost\"\nsource = \"inbound\"\n"),
        ]);
        let msgs: Vec<&str> = d
            .iter()
            .filter(|d| matches!(d.code, Code::StageRequirement | Code::FieldNotAllowed))
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            msgs,
            vec![
                "stage `commit` requires `commit.invoice_scheduled = true`",
                "stage `lost` requires `lost_reason` and `close_date`",
                "`backlog_until` is only allowed in status `backlog`, and this account is `target`",
                "status `target` requires `owner`",
                "status `backlog` requires `backlog_until`",
            ]
        );
    }

    #[test]
    fn a_won_deal_starting_before_its_close_date_is_a_warning() {
        let deal = |stage: &str, start: &str| {
            format!("name = \"O\"\naccount = \"a\"\nowner = \"al\"\nstage = \"{stage}\"\nsource = \"inbound\"\nmrr = 10\nclose_date = 2026-10-15\nlost_reason = \"price\"\n[commit]\nplan = \"pro\"\nstart_date = {start}\n")
        };
        let account = "name = \"A\"\nstatus = \"customer\"\nowner = \"al\"\n";
        let found = |stage: &str, start: &str| {
            let o = deal(stage, start);
            run(&[("accounts/a.toml", account), ("opportunities/o.toml", &o)])
                .into_iter()
                .filter(|d| d.code == Code::StartBeforeClose)
                .map(|d| (d.severity, d.message))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            found("won", "2026-10-14"),
            vec![(crate::diag::Severity::Warning, "`commit.start_date` 2026-10-14 is before `close_date` 2026-10-15: the reports count its MRR from 2026-10-15".to_string())]
        );
        assert!(
            found("won", "2026-10-15").is_empty(),
            "the same day is fine"
        );
        assert!(
            found("lost", "2026-10-01").is_empty(),
            "only won deals start"
        );
    }

    #[test]
    fn consistency_warnings() {
        let d = run(&[
            ("accounts/a.toml", "name = \"A\"\nstatus = \"qualified_pool\"\n"),
            ("accounts/w.toml", "name = \"W\"\nstatus = \"working\"\nowner = \"al\"\n"),
            ("opportunities/o.toml", "name = \"O\"\naccount = \"a\"\nowner = \"al\"\nstage = \"identified\"\nsource = \"inbound\"\n"),
        ]);
        assert_eq!(
            codes(&d),
            vec![
                ("accounts/a.toml".into(), Code::Inconsistent),
                ("accounts/w.toml".into(), Code::Inconsistent)
            ]
        );
        assert!(d
            .iter()
            .all(|d| d.severity == crate::diag::Severity::Warning));
    }
}
