//! What a webhook's payload becomes: the JSON body read by the hook's dotted paths into the
//! fields of a new record, judged like `sloop new lead`. Pure: a payload and a CRM in, a new
//! file or the reason it is refused out.

use chrono::NaiveDate;
use serde_json::Value;

use crate::config::hooks::{Creates, Hook, LEAD_FIELDS};
use crate::crm::Crm;
use crate::model::Kind;
use crate::store::edit::FieldValue;
use crate::writes::{self, NewFile, WriteError};

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
        if let Some(v) = text_at(payload, &m.path)? {
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
    // In the lead's own order, whatever the order of the hook's tables.
    out.sort_by_key(|(f, _)| LEAD_FIELDS.iter().position(|l| l == f));
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

/// The new record a payload becomes in `crm`, received on `today`, judged exactly as
/// `sloop new lead` judges one; or the reason it is rejected, in one line per problem.
pub fn record(
    hook: &Hook,
    crm: &Crm,
    payload: &Value,
    today: NaiveDate,
) -> Result<NewFile, String> {
    let kind = match hook.creates {
        Creates::Lead => Kind::Lead,
    };
    let raw = fields(hook, payload)?;
    if !raw
        .iter()
        .any(|(f, _)| matches!(f.as_str(), "email" | "company" | "name"))
    {
        return Err("the payload gives no email, company or name".to_string());
    }
    let mut typed = Vec::with_capacity(raw.len() + 1);
    for (field, value) in &raw {
        typed.push((
            field.clone(),
            writes::typed_value(kind, field, value).map_err(reason)?,
        ));
    }
    typed.push(("created".to_string(), FieldValue::Date(today)));
    writes::new_record(crm, kind, None, typed).map_err(reason)
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
        Crm {
            config,
            ..Crm::default()
        }
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
        let f = record(
            &h,
            &crm,
            &serde_json::json!({"email": "jo@acme.com", "name": "Jo Martin"}),
            today,
        )
        .unwrap();
        assert_eq!(f.path, "leads/jo-martin.toml");
        assert_eq!(
            f.text,
            "name = \"Jo Martin\"\nemail = \"jo@acme.com\"\nsource = \"inbound\"\ncreated = 2026-11-30\nstatus = \"new\"\n"
        );
        let e = record(
            &h,
            &crm,
            &serde_json::json!({"email": "jo@acme.com", "owner": "nobody"}),
            today,
        )
        .unwrap_err();
        assert!(e.contains("nobody"), "{e}");
        let e = record(&h, &crm, &serde_json::json!({"phone": "1"}), today).unwrap_err();
        assert_eq!(e, "the payload gives no email, company or name");
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
