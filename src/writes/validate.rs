//! The day-to-day writes (`sloop new`, `log`, `task`, `done`, `move`, `set`, `lead convert`):
//! each builds the new text of a record, validates it against the CRM as `sloop check` would
//! (schema, references, members, stage requirements, the transition), and only then is it
//! written. Pure: the caller reads and writes files.

use chrono::NaiveDate;

use crate::check;
use crate::check::transition::{self, RecordChange};
use crate::crm::Crm;
use crate::diag::{one_of, suggest, Code, Diagnostic, Loc};
use crate::model::AnyRecord;
use crate::model::{ids, Kind};
use crate::store::edit::{render_new, EditError, FieldValue, RecordEdit};
use crate::store::{self, parse::parse_record};

use super::known::Known;

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The record would break the CRM's rules: what `sloop check` would say.
    #[error("{}: nothing was written", crate::diag::count(.0.len(), "problem"))]
    Invalid(Vec<Diagnostic>),
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    #[error(transparent)]
    Edit(#[from] EditError),
}

impl WriteError {
    fn usage(message: impl Into<String>, hint: Option<String>) -> Self {
        WriteError::Usage {
            message: message.into(),
            hint,
        }
    }
}

/// Fields whose values are dates, numbers, booleans or lists, by kind.
fn field_type(kind: Kind, field: &str) -> &'static str {
    match (kind, field) {
        (Kind::Account, "backlog_until")
        | (
            Kind::Opportunity,
            "close_date"
            | "created"
            | "commit.accepted_on"
            | "commit.start_date"
            | "commit.onboarding_meeting",
        )
        | (Kind::Lead, "created")
        | (Kind::Activity, "due" | "date") => "date",
        (Kind::Account, "employees")
        | (Kind::Opportunity, "commit.users")
        | (Kind::Activity, "duration_min") => "int",
        (Kind::Opportunity, "mrr") | (Kind::Account, "revenue") => "number",
        (Kind::Opportunity, "commit.invoice_scheduled") | (Kind::Activity, "done") => "bool",
        (Kind::Account, "tools" | "tags") | (Kind::Activity, "participants") => "list",
        _ => "string",
    }
}

/// Types a value given on the command line for a field of a kind.
pub fn typed_value(kind: Kind, field: &str, raw: &str) -> Result<FieldValue, WriteError> {
    let bad =
        |what: &str| WriteError::usage(format!("`{field}` must be {what}, not `{raw}`"), None);
    Ok(match field_type(kind, field) {
        "date" => FieldValue::Date(
            raw.parse::<NaiveDate>()
                .map_err(|_| bad("a date (YYYY-MM-DD)"))?,
        ),
        "int" => FieldValue::Int(raw.parse::<i64>().map_err(|_| bad("a whole number"))?),
        "number" => {
            let x: f64 = raw.parse().map_err(|_| bad("a number"))?;
            if x.fract() == 0.0 && x.abs() < 1e15 {
                FieldValue::Int(x as i64)
            } else {
                FieldValue::Float(x)
            }
        }
        "bool" => FieldValue::Bool(match raw {
            "true" | "yes" => true,
            "false" | "no" => false,
            _ => return Err(bad("true or false")),
        }),
        "list" => FieldValue::Strings(
            raw.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        ),
        _ => FieldValue::Str(raw.to_string()),
    })
}

/// Parses `FIELD=VALUE` arguments.
pub fn parse_assignments(
    kind: Kind,
    args: &[String],
) -> Result<Vec<(String, FieldValue)>, WriteError> {
    args.iter()
        .map(|a| {
            let (k, v) = a.split_once('=').ok_or_else(|| {
                WriteError::usage(
                    format!("`{a}` is not FIELD=VALUE"),
                    Some("for example `--set mrr=1200`".into()),
                )
            })?;
            Ok((k.trim().to_string(), typed_value(kind, k.trim(), v.trim())?))
        })
        .collect()
}

/// The errors `sloop check` would report for this record text in this CRM (the record itself
/// replacing any previous version with the same id).
pub fn validate(
    crm: &Crm,
    kind: Kind,
    id: &str,
    path: &str,
    text: &str,
) -> (AnyRecord, Vec<Diagnostic>) {
    validate_in(crm, &Known::new(crm), kind, id, path, text)
}

/// [`validate`] with references resolved by `known` (built once for a run of writes).
pub fn validate_in(
    crm: &Crm,
    known: &Known,
    kind: Kind,
    id: &str,
    path: &str,
    text: &str,
) -> (AnyRecord, Vec<Diagnostic>) {
    let (record, mut diags) = parse_record(kind, id, path, text, &crm.config);
    if let Err(e) = ids::validate(id) {
        diags.push(Diagnostic::new(
            Code::InvalidId,
            path,
            Loc::START,
            format!("invalid id: {e}"),
        ));
    }
    let mut one = Crm::empty(crm.config.clone());
    one.push(record.clone());
    diags.extend(check::check_some(&one, known));
    diags.retain(|d| d.is_error());
    (record, with_lines(diags, text))
}

/// Attaches the source line of the text to diagnostics that point into it.
fn with_lines(mut diags: Vec<Diagnostic>, text: &str) -> Vec<Diagnostic> {
    for d in diags.iter_mut() {
        if d.source_line.is_none() && d.line > 0 {
            d.source_line = text.lines().nth(d.line as usize - 1).map(str::to_string);
        }
    }
    diags
}

/// What a new record's file is: its path and its text.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub kind: Kind,
    pub id: String,
    pub path: String,
    pub text: String,
}

/// Builds a new record in an entry status or stage, refusing duplicates and anything
/// `sloop check` would refuse. `id`: the file name, or `None` to make one from the name.
pub fn new_record(
    crm: &Crm,
    kind: Kind,
    id: Option<&str>,
    fields: Vec<(String, FieldValue)>,
) -> Result<NewFile, WriteError> {
    new_record_in(crm, &Known::new(crm), kind, id, fields)
}

/// [`new_record`] judged against `known` (built once for a run of writes, each accepted
/// record added) instead of a pass over the whole CRM.
pub fn new_record_in(
    crm: &Crm,
    known: &Known,
    kind: Kind,
    id: Option<&str>,
    mut fields: Vec<(String, FieldValue)>,
) -> Result<NewFile, WriteError> {
    let get = |fields: &[(String, FieldValue)], k: &str| {
        fields.iter().find(|(f, _)| f == k).and_then(|(_, v)| {
            if let FieldValue::Str(s) = v {
                Some(s.clone())
            } else {
                None
            }
        })
    };
    let id = match id {
        Some(id) => id.to_string(),
        None => {
            let name = get(&fields, "name")
                .or_else(|| get(&fields, "company"))
                .or_else(|| get(&fields, "email").map(|e| e.replace('@', " at ")));
            match name.map(|n| ids::slugify(&n)).filter(|s| !s.is_empty()) {
                Some(slug) => known.unique_id(kind, &slug),
                None => {
                    return Err(WriteError::usage(
                        "give an id, or a --name to make one from",
                        None,
                    ))
                }
            }
        }
    };
    if let Err(e) = ids::validate(&id) {
        return Err(WriteError::usage(
            format!("invalid id: {e}"),
            Some(format!("try `{}`", ids::slugify(&id))),
        ));
    }
    if known.has(kind, &id) {
        return Err(WriteError::usage(
            format!("{} `{id}` already exists", kind.with_article()),
            Some(format!(
                "`sloop set {}/{id} FIELD=VALUE` changes it",
                kind.folder()
            )),
        ));
    }
    // Defaults: the entry point of the method.
    let has = |fields: &[(String, FieldValue)], k: &str| fields.iter().any(|(f, _)| f == k);
    match kind {
        Kind::Account if !has(&fields, "status") => fields.insert(
            1.min(fields.len()),
            ("status".into(), FieldValue::Str("qualified_pool".into())),
        ),
        Kind::Opportunity if !has(&fields, "stage") => {
            let entry = crm
                .config
                .stages
                .iter()
                .find(|s| s.entry)
                .map(|s| s.name.clone())
                .unwrap_or_else(|| "identified".into());
            fields.push(("stage".into(), FieldValue::Str(entry)));
        }
        Kind::Lead if !has(&fields, "status") => {
            fields.push(("status".into(), FieldValue::Str("new".into())))
        }
        _ => {}
    }
    // Attribution: a new opportunity inherits its account's source (the lead's, carried by
    // `lead convert`) when it is not given its own, and the account's channel when its
    // source is the account's (a channel says how an inbound source came in).
    if kind == Kind::Opportunity {
        let account = get(&fields, "account").and_then(|a| crm.account(&a).cloned());
        if let Some(account) = account {
            if let (false, Some(source)) = (has(&fields, "source"), &account.source) {
                fields.push(("source".into(), FieldValue::Str(source.clone())));
            }
            let same_source =
                get(&fields, "source").is_some_and(|s| Some(&s) == account.source.as_ref());
            if let (false, true, Some(channel)) =
                (has(&fields, "channel"), same_source, &account.channel)
            {
                fields.push(("channel".into(), FieldValue::Str(channel.clone())));
            }
        }
    }
    // Uniqueness the full check would catch.
    if let (Kind::Account, Some(domain)) = (kind, get(&fields, "domain")) {
        if let Some(other) = known.account_with_domain(&domain) {
            return Err(WriteError::usage(
                format!("account `{other}` already has the domain `{domain}`"),
                Some("one company is one account".into()),
            ));
        }
    }
    if let (Kind::Contact, Some(email)) = (kind, get(&fields, "email")) {
        if let Some(other) = known.contact_with_email(&email) {
            return Err(WriteError::usage(
                format!("contact `{other}` already has the email `{email}`"),
                Some("one person is one contact".into()),
            ));
        }
    }
    let date = fields
        .iter()
        .find(|(f, _)| f == "date")
        .and_then(|(_, v)| match v {
            FieldValue::Date(d) => Some(*d),
            FieldValue::When(w) => Some(w.date()),
            _ => None,
        });
    let path = match (kind, date) {
        (Kind::Activity, Some(d)) => store::activity_path(&id, d),
        _ => store::record_path(kind, &id, crm.config.shard),
    };
    let pairs: Vec<(&str, FieldValue)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let text = render_new(&pairs)?;
    let (record, mut diags) = validate_in(crm, known, kind, &id, &path, &text);
    let change = RecordChange {
        kind,
        id: &id,
        path: &path,
        old: None,
        new: Some(&record),
    };
    diags.extend(transition::judge(&crm.config, &change));
    if !diags.is_empty() {
        return Err(WriteError::Invalid(with_lines(diags, &text)));
    }
    Ok(NewFile {
        kind,
        id,
        path,
        text,
    })
}

/// The first free id from a base: `acme`, `acme-2`, `acme-3`…
pub fn unique_id(crm: &Crm, kind: Kind, base: &str) -> String {
    let taken: std::collections::HashSet<&str> =
        crm.ids(kind).into_iter().map(|(_, id)| id).collect();
    ids::first_free(base, |c| taken.contains(c))
}

/// Finds a record's path by kind and id, with a did-you-mean when it does not exist.
pub fn find(crm: &Crm, kind: Kind, id: &str) -> Result<String, WriteError> {
    let ids = crm.ids(kind);
    match ids.iter().find(|(_, i)| *i == id) {
        Some((path, _)) => Ok(path.to_string()),
        None => {
            let starting: Vec<&str> = ids
                .iter()
                .map(|(_, i)| *i)
                .filter(|i| i.starts_with(id))
                .take(4)
                .collect();
            let hint = suggest(id, ids.iter().map(|(_, i)| *i))
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| {
                    (!starting.is_empty()).then(|| format!("did you mean {}?", one_of(&starting)))
                });
            Err(WriteError::usage(
                format!("no {} `{id}`", kind.as_str()),
                hint.or(Some(format!("`sloop ls {}` lists them", kind.folder()))),
            ))
        }
    }
}

/// An edit of an existing record: its path, the old and the new text.
#[derive(Debug, Clone)]
pub struct Edited {
    pub path: String,
    pub old: String,
    pub new: String,
}

/// Applies `changes` (a value, or `None` to remove the field) to a record's text, refusing
/// anything `sloop check` would refuse, the transition included.
pub fn edit_record(
    crm: &Crm,
    kind: Kind,
    id: &str,
    path: &str,
    old_text: &str,
    changes: &[(String, Option<FieldValue>)],
) -> Result<Edited, WriteError> {
    edit_record_in(crm, &Known::new(crm), kind, id, path, old_text, changes)
}

/// [`edit_record`] with references resolved by `known` (built once for a run of writes).
pub fn edit_record_in(
    crm: &Crm,
    known: &Known,
    kind: Kind,
    id: &str,
    path: &str,
    old_text: &str,
    changes: &[(String, Option<FieldValue>)],
) -> Result<Edited, WriteError> {
    let mut edit = RecordEdit::parse(old_text)?;
    for (field, value) in changes {
        match value {
            Some(v) => {
                edit.set(field, v.clone())?;
            }
            None => {
                edit.remove(field);
            }
        }
    }
    let new_text = edit.finish();
    let (old_record, _) = parse_record(kind, id, path, old_text, &crm.config);
    let (new_record, mut diags) = validate_in(crm, known, kind, id, path, &new_text);
    let change = RecordChange {
        kind,
        id,
        path,
        old: Some(&old_record),
        new: Some(&new_record),
    };
    diags.extend(transition::judge(&crm.config, &change));
    if !diags.is_empty() {
        return Err(WriteError::Invalid(with_lines(diags, &new_text)));
    }
    Ok(Edited {
        path: path.to_string(),
        old: old_text.to_string(),
        new: new_text,
    })
}

/// A stage name checked against the config, with the allowed ones when unknown.
pub fn known_stage(crm: &Crm, stage: &str) -> Result<(), WriteError> {
    if crm.config.stage(stage).is_some() {
        return Ok(());
    }
    let names = crm.config.stage_names();
    let hint = suggest(stage, names.iter().copied())
        .map(|s| format!("did you mean `{s}`?"))
        .unwrap_or_else(|| format!("stages: {}", one_of(&names)));
    Err(WriteError::usage(
        format!("unknown stage `{stage}`"),
        Some(hint),
    ))
}

/// Free-mail domains: an address there says nothing about the company.
pub const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.fr",
    "live.com",
    "live.fr",
    "msn.com",
    "yahoo.com",
    "yahoo.fr",
    "ymail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.fr",
    "web.de",
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "laposte.net",
    "sfr.fr",
    "bbox.fr",
    "mail.com",
    "zoho.com",
    "yandex.com",
    "qq.com",
];

pub fn is_free_mail(domain: &str) -> bool {
    FREE_MAIL.contains(&domain.to_lowercase().as_str())
}

/// What converting a lead writes.
#[derive(Debug, Clone)]
pub struct Conversion {
    /// New files (account and/or contact).
    pub created: Vec<NewFile>,
    /// The account and contact the lead now points to.
    pub account: String,
    pub contact: String,
    /// Whether the account already existed (matched by domain).
    pub attached: bool,
    /// The lead's edit.
    pub lead: Edited,
}

/// Converts a lead into an account and a contact, or attaches it to the existing account
/// with the same domain (the lead's `domain`, else its email's; free-mail never matches) and
/// the existing contact with the same email. Nothing is duplicated.
pub fn convert_lead(
    crm: &Crm,
    id: &str,
    lead_path: &str,
    lead_text: &str,
    status: &str,
) -> Result<Conversion, WriteError> {
    let lead = crm
        .lead(id)
        .ok_or_else(|| WriteError::usage(format!("no lead `{id}`"), None))?;
    match lead.status {
        crate::model::LeadStatus::Converted => {
            return Err(WriteError::usage(
                format!("lead `{id}` is already converted"),
                lead.converted_account
                    .as_ref()
                    .map(|a| format!("its account is `{a}`")),
            ))
        }
        crate::model::LeadStatus::Rejected => {
            return Err(WriteError::usage(
                format!("lead `{id}` was rejected"),
                Some(format!(
                    "reopen it first: `sloop set leads/{id} status=working`"
                )),
            ))
        }
        _ => {}
    }
    if lead.name.is_none() && lead.email.is_none() {
        return Err(WriteError::usage(
            format!("lead `{id}` has no person to make a contact of"),
            Some(format!(
                "add a name or an email: `sloop set leads/{id} name=\"…\"`"
            )),
        ));
    }
    let email_domain = lead
        .email
        .as_deref()
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d.to_lowercase());
    let domain = lead
        .domain
        .clone()
        .map(|d| d.to_lowercase())
        .or(email_domain)
        .filter(|d| !is_free_mail(d));
    let mut work = crm.clone();
    let mut created = Vec::new();
    let existing = domain.as_deref().and_then(|d| {
        crm.accounts.iter().find(|a| {
            a.domain
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case(d))
        })
    });
    let (account, attached) = match existing {
        Some(a) => (a.meta.id.clone(), true),
        None => {
            let name = lead
                .company
                .clone()
                .or(domain.clone())
                .or(lead.name.clone())
                .unwrap_or_else(|| id.to_string());
            let mut fields = vec![
                ("name".to_string(), FieldValue::Str(name.clone())),
                ("status".to_string(), FieldValue::Str(status.into())),
            ];
            if let Some(o) = &lead.owner {
                fields.push(("owner".into(), FieldValue::Str(o.to_string())));
            }
            if let Some(d) = &domain {
                fields.push(("domain".into(), FieldValue::Str(d.clone())));
            }
            for (field, value) in [("source", &lead.source), ("channel", &lead.channel)] {
                if let Some(v) = value {
                    fields.push((field.into(), FieldValue::Str(v.clone())));
                }
            }
            let new_id = unique_id(crm, Kind::Account, &ids::slugify(&name));
            let file = new_record(&work, Kind::Account, Some(&new_id), fields)?;
            let (record, _) =
                parse_record(Kind::Account, &file.id, &file.path, &file.text, &crm.config);
            work.push(record);
            created.push(file);
            (new_id, false)
        }
    };
    let existing_contact = lead.email.as_deref().and_then(|e| {
        crm.contacts.iter().find(|c| {
            c.email
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case(e))
        })
    });
    let contact = match existing_contact {
        Some(c) => c.meta.id.clone(),
        None => {
            let name = lead
                .name
                .clone()
                .or(lead.email.clone())
                .unwrap_or_else(|| lead.meta.id.clone());
            let mut fields = vec![
                ("name".to_string(), FieldValue::Str(name.clone())),
                ("account".to_string(), FieldValue::Str(account.clone())),
            ];
            for (k, v) in [
                ("email", &lead.email),
                ("phone", &lead.phone),
                ("title", &lead.title),
            ] {
                if let Some(v) = v {
                    fields.push((k.into(), FieldValue::Str(v.clone())));
                }
            }
            let base = ids::slugify(lead.name.as_deref().unwrap_or_else(|| {
                lead.email
                    .as_deref()
                    .and_then(|e| e.split('@').next())
                    .unwrap_or(id)
            }));
            let new_id = unique_id(crm, Kind::Contact, &base);
            let file = new_record(&work, Kind::Contact, Some(&new_id), fields)?;
            let (record, _) =
                parse_record(Kind::Contact, &file.id, &file.path, &file.text, &crm.config);
            work.push(record);
            created.push(file);
            new_id
        }
    };
    let lead = edit_record(
        &work,
        Kind::Lead,
        id,
        lead_path,
        lead_text,
        &[
            ("status".into(), Some(FieldValue::Str("converted".into()))),
            (
                "converted_account".into(),
                Some(FieldValue::Str(account.clone())),
            ),
            (
                "converted_contact".into(),
                Some(FieldValue::Str(contact.clone())),
            ),
        ],
    )?;
    Ok(Conversion {
        created,
        account,
        contact,
        attached,
        lead,
    })
}
