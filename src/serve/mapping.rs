//! What a webhook's payload becomes: the JSON body read by the hook's dotted paths into the
//! fields of a new lead or activity (judged like `sloop new`), or into a field update of the
//! account it names (judged like `sloop set`). Pure: a payload and a CRM in, a file or the
//! reason it is refused out.

use std::cell::OnceCell;

use chrono::{DateTime, NaiveDate};
use serde_json::Value;

use crate::config::hooks::{Creates, Hook};
use crate::crm::Crm;
use crate::model::{ids, AnyRecord, Kind, When};
use crate::store::edit::FieldValue;
use crate::writes::ingest::Matcher;
use crate::writes::{self, Known, WriteError};

/// The longest idempotency key or payload id accepted, in bytes.
pub const MAX_KEY: usize = 200;

/// The body as JSON, or why it is not (the 400 answer's reason): a payload is one JSON
/// object.
pub fn parse_payload(body: &[u8]) -> Result<Value, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    if !value.is_object() {
        return Err(format!(
            "the body is JSON but not an object (found {})",
            json_type(&value)
        ));
    }
    Ok(value)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The value at a dotted path (`data.contact.email`; an array item by its index,
/// `answers.0`). A key that itself holds a dot is found whole first (`{"a.b": 1}`).
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = value.as_object().and_then(|o| o.get(path)) {
        return Some(v);
    }
    let mut here = value;
    for segment in path.split('.') {
        here = match here {
            Value::Object(o) => o.get(segment)?,
            Value::Array(a) => a.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(here)
}

/// A scalar as text: a string trimmed, a number or a boolean written out; `None` for null,
/// an empty string, or a missing value. An object or an array is an error.
fn text_at(payload: &Value, path: &str) -> Result<Option<String>, String> {
    match lookup(payload, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            Ok((!s.is_empty()).then(|| s.to_string()))
        }
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(format!(
            "`{path}` is {}, not a text value",
            json_type(other)
        )),
    }
}

/// The payload's own id at the hook's `id` path, if it has one: a retried delivery of the
/// same id is a no-op.
pub fn payload_id(hook: &Hook, payload: &Value) -> Result<Option<String>, String> {
    let Some(path) = &hook.id_path else {
        return Ok(None);
    };
    let id = text_at(payload, path)?;
    if id.as_ref().is_some_and(|i| i.len() > MAX_KEY) {
        return Err(format!(
            "the payload id at `{path}` is over {MAX_KEY} bytes"
        ));
    }
    Ok(id)
}

/// The record's fields from the payload: each mapped path, then the defaults for the fields
/// still missing, then the source and channel the hook implies. Values as the payload wrote
/// them, except an email (trimmed, lower case) and a domain (no scheme, no `www.`, no path).
pub fn fields(hook: &Hook, payload: &Value) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for m in &hook.fields {
        if out.iter().any(|(f, _)| *f == m.field) {
            continue;
        }
        let list = matches!(m.field.as_str(), "tools" | "tags");
        if let (true, Some(Value::Array(items))) = (list, lookup(payload, &m.path)) {
            // A list field takes a JSON array of text too.
            let mut texts = Vec::new();
            for i in 0..items.len() {
                let path = format!("{}.{i}", m.path);
                if let Some(t) = text_at(payload, &path)? {
                    texts.push(t);
                }
            }
            if !texts.is_empty() {
                out.push((m.field.clone(), texts.join(", ")));
            }
        } else if let Some(v) = text_at(payload, &m.path)? {
            out.push((m.field.clone(), normalise(&m.field, v)));
        }
    }
    for (field, value) in &hook.defaults {
        if !out.iter().any(|(f, _)| f == field) {
            out.push((field.clone(), value.clone()));
        }
    }
    for (field, implied) in [("source", &hook.source), ("channel", &hook.channel)] {
        if let (Some(v), false) = (implied, out.iter().any(|(f, _)| f == field)) {
            out.push((field.to_string(), v.clone()));
        }
    }
    // In the record's own order, whatever the order of the hook's tables.
    let order = hook.creates.fields();
    out.sort_by_key(|(f, _)| order.iter().position(|l| l == f));
    Ok(out)
}

/// The `[custom]` values from the payload, typed as the payload wrote them (a string, a
/// whole number, a number, a boolean); missing and null values are left out.
pub fn custom(hook: &Hook, payload: &Value) -> Result<Vec<(String, FieldValue)>, String> {
    let mut out = Vec::new();
    for m in &hook.custom {
        let value = match lookup(payload, &m.path) {
            None | Some(Value::Null) => continue,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => FieldValue::Int(i),
                None => match n.as_f64() {
                    Some(x) => FieldValue::Float(x),
                    None => FieldValue::Str(n.to_string()),
                },
            },
            Some(Value::Bool(b)) => FieldValue::Bool(*b),
            Some(_) => match text_at(payload, &m.path)? {
                Some(t) => FieldValue::Str(t),
                None => continue,
            },
        };
        out.push((format!("custom.{}", m.field), value));
    }
    Ok(out)
}

fn normalise(field: &str, v: String) -> String {
    match field {
        "email" => v.to_lowercase(),
        "domain" => {
            let d = v.to_lowercase();
            let d = d
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_start_matches("www.");
            d.split('/').next().unwrap_or(d).to_string()
        }
        _ => v,
    }
}

/// What an event writes: a new record's file, or the new text of an existing one.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    pub kind: Kind,
    pub id: String,
    pub path: String,
    pub text: String,
    /// An existing record's file (an account update), not a new one.
    pub edit: bool,
}

/// What the events of a round are judged against, built once for the round: the CRM at the
/// base commit, its ids, domains and emails (with each record the round accepts added), and
/// the address matcher (built when an event first needs it).
pub struct Context<'a> {
    crm: &'a Crm,
    known: Known<'a>,
    matcher: OnceCell<Matcher<'a>>,
}

impl<'a> Context<'a> {
    pub fn new(crm: &'a Crm) -> Self {
        Context {
            crm,
            known: Known::new(crm),
            matcher: OnceCell::new(),
        }
    }

    /// Takes a record the round accepted, so the next event sees its id (and its domain or
    /// email).
    pub fn accept(&mut self, record: &AnyRecord) {
        self.known.add(record);
    }

    fn matcher(&self) -> &Matcher<'a> {
        self.matcher.get_or_init(|| Matcher::new(self.crm))
    }
}

/// What a payload becomes in the context's CRM, received on `today`: a lead judged exactly as
/// `sloop new lead` judges one, an activity judged like `sloop log`, an account's fields set
/// like `sloop set`; or the reason it is rejected, in one line per problem. `read` gives the
/// current text of a record's file.
pub fn record(
    hook: &Hook,
    cx: &Context,
    payload: &Value,
    today: NaiveDate,
    read: &dyn Fn(&str) -> Option<String>,
) -> Result<Write, String> {
    let (crm, known) = (cx.crm, &cx.known);
    let raw = fields(hook, payload)?;
    let new = |kind: Kind, id: Option<&str>, typed| {
        let file = writes::new_record_in(crm, known, kind, id, typed).map_err(reason)?;
        Ok(Write {
            kind,
            id: file.id,
            path: file.path,
            text: file.text,
            edit: false,
        })
    };
    match hook.creates {
        Creates::Email => Err("an email hook's deliveries are messages, not JSON payloads".into()),
        Creates::Lead => {
            if !raw
                .iter()
                .any(|(f, _)| matches!(f.as_str(), "email" | "company" | "name"))
            {
                return Err("the payload gives no email, company or name".to_string());
            }
            let mut typed = typed(Kind::Lead, &raw)?;
            typed.push(("created".to_string(), FieldValue::Date(today)));
            typed.extend(custom(hook, payload)?);
            new(Kind::Lead, None, typed)
        }
        Creates::Activity => {
            let found = matched(cx.matcher(), &raw)?;
            let mut rest: Vec<(String, String)> = raw
                .into_iter()
                .filter(|(f, _)| f != "email" && f != "domain")
                .collect();
            if !rest.iter().any(|(f, _)| f == "kind") {
                rest.insert(0, ("kind".to_string(), "note".to_string()));
            }
            let date = match rest.iter().position(|(f, _)| f == "date") {
                Some(i) => when(&rest.remove(i).1)?,
                None => When::Date(today),
            };
            let kind = rest[0].1.clone();
            let mut typed: Vec<(String, FieldValue)> = vec![
                ("kind".to_string(), FieldValue::Str(kind.clone())),
                ("date".to_string(), FieldValue::When(date)),
                (
                    "account".to_string(),
                    FieldValue::Str(found.account.clone()),
                ),
            ];
            if let Some(c) = &found.contact {
                typed.push(("contact".to_string(), FieldValue::Str(c.clone())));
            }
            typed.extend(self::typed(Kind::Activity, &rest[1..])?);
            typed.extend(custom(hook, payload)?);
            let base = ids::slugify(&format!("{}-{kind}-{}", date.date(), found.account));
            let id = known.unique_id(Kind::Activity, &base);
            new(Kind::Activity, Some(&id), typed)
        }
        Creates::AccountUpdate => {
            let found = matched(cx.matcher(), &raw)?;
            let changes: Vec<(String, Option<FieldValue>)> = typed(
                Kind::Account,
                &raw.into_iter()
                    .filter(|(f, _)| f != "email" && f != "domain")
                    .collect::<Vec<_>>(),
            )?
            .into_iter()
            .map(|(f, v)| (f, Some(v)))
            .collect();
            if changes.is_empty() {
                return Err("the payload gives no field to set".to_string());
            }
            let id = found.account;
            let path = match known.path(Kind::Account, &id) {
                Some(path) => path.to_string(),
                None => writes::find(crm, Kind::Account, &id).map_err(reason)?,
            };
            let old = read(&path).ok_or_else(|| format!("cannot read {path}"))?;
            let edited =
                writes::edit_record_in(crm, known, Kind::Account, &id, &path, &old, &changes)
                    .map_err(reason)?;
            Ok(Write {
                kind: Kind::Account,
                id,
                path,
                text: edited.new,
                edit: true,
            })
        }
    }
}

/// Each field's text typed as `sloop set` types it.
fn typed(kind: Kind, raw: &[(String, String)]) -> Result<Vec<(String, FieldValue)>, String> {
    raw.iter()
        .map(|(field, value)| {
            Ok((
                field.clone(),
                writes::typed_value(kind, field, value).map_err(reason)?,
            ))
        })
        .collect()
}

/// A date (`2026-11-30`) or a time with its offset (RFC 3339, `2026-11-30T10:00:00Z`).
fn when(text: &str) -> Result<When, String> {
    if let Ok(d) = text.parse::<NaiveDate>() {
        return Ok(When::Date(d));
    }
    DateTime::parse_from_rfc3339(text)
        .map(When::Offset)
        .map_err(|_| {
            format!("`date` must be a date (YYYY-MM-DD) or an RFC 3339 time, not `{text}`")
        })
}

/// The account (and contact) the payload's `email` and `domain` name, as `sloop ingest email`
/// matches an address: the contact with that email, else the account at the address's
/// domain or a parent of it (not for free mail or a team member's address); else the account
/// at `domain` or a parent of it. Never guessed: no match is the reason, with the address.
fn matched(m: &Matcher, raw: &[(String, String)]) -> Result<writes::ingest::Match, String> {
    let get = |k: &str| raw.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
    if let Some(email) = get("email") {
        if let Some(found) = m.by_addresses(&[email.to_string()]) {
            return Ok(found);
        }
    }
    if let Some(domain) = get("domain") {
        if let Some(a) = m.account_of_domain(domain) {
            return Ok(writes::ingest::Match {
                account: a.to_string(),
                contact: None,
            });
        }
    }
    let mut tried = Vec::new();
    if let Some(email) = get("email") {
        tried.push(format!("`{email}`"));
    }
    if let Some(domain) = get("domain") {
        tried.push(format!("`{domain}`"));
    }
    if tried.is_empty() {
        return Err("the payload gives no email or domain to find the account by".to_string());
    }
    Err(format!(
        "no account matches {}: no contact has the email, and no account has the domain or a parent of it",
        tried.join(" or ")
    ))
}

/// A refused write as one reason: each problem's code and message, `; `-separated.
fn reason(e: WriteError) -> String {
    match e {
        WriteError::Invalid(diags) => diags
            .iter()
            .map(|d| format!("{}: {}", d.code.as_str(), d.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn hook(extra: &str) -> (Config, Hook) {
        let text = format!(
            "{}\n[hooks.form]\ncreates = \"lead\"\nauth = \"bearer\"\nsecret_env = \"FORM_TOKEN\"\n{extra}",
            crate::config::DEFAULT_TOML
        );
        let (config, diags) = Config::parse("sloop.toml", &text);
        assert!(diags.is_empty(), "{diags:?}");
        let hook = config.hooks[0].clone();
        (config, hook)
    }

    fn crm(config: Config) -> Crm {
        Crm::empty(config)
    }

    #[test]
    fn dotted_paths_reach_nested_objects_array_items_and_dotted_keys() {
        let v: Value = serde_json::json!({"data": {"who": [{"mail": "a@b.co"}]}, "x.y": 2});
        assert_eq!(lookup(&v, "data.who.0.mail"), Some(&Value::from("a@b.co")));
        assert_eq!(lookup(&v, "x.y"), Some(&Value::from(2)));
        assert_eq!(lookup(&v, "data.who.1.mail"), None);
        assert_eq!(lookup(&v, "data.who.mail"), None);
    }

    #[test]
    fn fields_take_paths_then_defaults_then_the_implied_source_and_channel() {
        let (_, h) = hook(
            "source = \"inbound\"\nchannel = \"ads\"\n[hooks.form.fields]\nemail = \"contact.email\"\nname = \"contact.name\"\ndomain = \"site\"\n[hooks.form.defaults]\nname = \"Unknown\"\nstatus = \"working\"\n",
        );
        let p = serde_json::json!({"contact": {"email": " Jo@Acme.COM ", "name": null}, "site": "https://www.acme.com/contact"});
        assert_eq!(
            fields(&h, &p).unwrap(),
            vec![
                ("name".to_string(), "Unknown".to_string()),
                ("email".to_string(), "jo@acme.com".to_string()),
                ("domain".to_string(), "acme.com".to_string()),
                ("source".to_string(), "inbound".to_string()),
                ("channel".to_string(), "ads".to_string()),
                ("status".to_string(), "working".to_string()),
            ]
        );
        let p = serde_json::json!({"contact": {"email": {"work": "x"}}});
        assert_eq!(
            fields(&h, &p).unwrap_err(),
            "`contact.email` is an object, not a text value"
        );
    }

    #[test]
    fn a_payload_becomes_a_lead_judged_like_sloop_new_lead() {
        let (config, h) = hook(
            "source = \"inbound\"\n[hooks.form.fields]\nemail = \"email\"\nname = \"name\"\nowner = \"owner\"\n",
        );
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let crm = crm(config);
        let cx = Context::new(&crm);
        let f = record(
            &h,
            &cx,
            &serde_json::json!({"email": "jo@acme.com", "name": "Jo Martin"}),
            today,
            &|_| None,
        )
        .unwrap();
        assert_eq!(f.path, "leads/jo-martin.toml");
        assert_eq!(
            f.text,
            "name = \"Jo Martin\"\nemail = \"jo@acme.com\"\nsource = \"inbound\"\ncreated = 2026-11-30\nstatus = \"new\"\n"
        );
        let e = record(
            &h,
            &cx,
            &serde_json::json!({"email": "jo@acme.com", "owner": "nobody"}),
            today,
            &|_| None,
        )
        .unwrap_err();
        assert!(e.contains("nobody"), "{e}");
        let e = record(&h, &cx, &serde_json::json!({"phone": "1"}), today, &|_| {
            None
        })
        .unwrap_err();
        assert_eq!(e, "the payload gives no email, company or name");
    }

    #[test]
    fn a_round_s_context_sees_the_records_it_accepted() {
        let (config, h) =
            hook("source = \"inbound\"\n[hooks.form.fields]\nname = \"name\"\nemail = \"email\"\n");
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let mut crm = crm(config);
        let (jo, _) = crate::store::parse::parse_record(
            Kind::Lead,
            "jo-martin",
            "leads/jo-martin.toml",
            "name = \"Jo Martin\"\nsource = \"inbound\"\nstatus = \"new\"\n",
            &crm.config,
        );
        crm.push(jo);
        let mut cx = Context::new(&crm);
        let payload = serde_json::json!({"name": "Jo Martin", "email": "jo@acme.com"});
        let mut paths = Vec::new();
        for _ in 0..3 {
            let w = record(&h, &cx, &payload, today, &|_| None).unwrap();
            let (r, _) =
                crate::store::parse::parse_record(w.kind, &w.id, &w.path, &w.text, &crm.config);
            cx.accept(&r);
            paths.push(w.path);
        }
        assert_eq!(
            paths,
            [
                "leads/jo-martin-2.toml",
                "leads/jo-martin-3.toml",
                "leads/jo-martin-4.toml"
            ]
        );
    }

    #[test]
    fn the_body_must_be_a_json_object() {
        assert!(parse_payload(b"{\"a\": 1}").is_ok());
        assert_eq!(
            parse_payload(b"[1]").unwrap_err(),
            "the body is JSON but not an object (found an array)"
        );
        assert_eq!(
            parse_payload(b"{\"a\": ").unwrap_err(),
            "the body is not JSON: EOF while parsing a value at line 1 column 6"
        );
    }
}
