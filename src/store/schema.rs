//! JSON Schemas of the record kinds and of `sloop.toml`, for editors (taplo and the editors
//! built on it): what `sloop schema` prints and `sloop schema --write` writes.
//!
//! Each kind's schema is built from its key list (`parse::*_KEYS`, the list the reader reports
//! unknown keys against) and the CRM's config (its stages, statuses, members, sources…), so
//! what an editor flags while typing is what `sloop check` reports: wrong types, unknown
//! keys, missing fields, values outside their list or range, an unknown member, a field a
//! stage or status requires, a task field on another activity. What a schema cannot see
//! (references between files, duplicates, transitions in history) is left to `sloop check`.

use serde_json::{json, Map, Value};

use super::parse::{
    ACCOUNT_KEYS, ACTIVITY_KEYS, CONTACT_KEYS, LEAD_KEYS, MAX_DURATION_MIN, MAX_PEOPLE,
    OPPORTUNITY_KEYS,
};
use crate::config::{Config, Role};
use crate::model::reader::MAX_AMOUNT;
use crate::model::{ActivityKind, ContactRole, Kind, LeadStatus, DIRECTIONS, OUTCOMES};

/// The JSON Schema dialect: taplo validates draft 7.
const DIALECT: &str = "http://json-schema.org/draft-07/schema#";

/// What a field holds.
#[derive(Clone, Copy)]
enum Ty {
    /// A string that is not blank.
    Text,
    /// Any string.
    Str,
    /// A TOML local date.
    Date,
    /// A local date or a date-time with an offset.
    When,
    /// A whole number from 0 to the bound.
    Count(u64),
    /// A number from 0 to [`MAX_AMOUNT`].
    Amount,
    Bool,
    Strings,
    /// One of a fixed list.
    OneOf(&'static [&'static str]),
    /// One of a list of the config (open when the list is empty).
    Listed(List),
    /// A record id (`[a-z0-9][a-z0-9-]*`).
    Id,
    Email,
    Domain,
    Country,
    /// A sub-table (`[bant]`, `[commit]`) and its fields.
    Table(&'static [Field]),
    /// `[custom]`: anything.
    Custom,
}

#[derive(Clone, Copy)]
enum List {
    Stages,
    Statuses,
    Members,
    Sources,
    Channels,
    LostReasons,
    Industries,
}

#[derive(Clone, Copy)]
struct Field {
    key: &'static str,
    ty: Ty,
    /// The README's notes for the field.
    doc: &'static str,
}

const fn f(key: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field { key, ty, doc }
}

const CUSTOM: Field = f("custom", Ty::Custom, "your own fields, never checked");

const ACCOUNT: &[Field] = &[
    f("name", Ty::Text, "required"),
    f(
        "status",
        Ty::Listed(List::Statuses),
        "required; one of `[statuses]`",
    ),
    f(
        "owner",
        Ty::Listed(List::Members),
        "required in `target`, `working`, `customer`",
    ),
    f(
        "domain",
        Ty::Domain,
        "lowercase (`acme.com`), unique across accounts",
    ),
    f(
        "backlog_until",
        Ty::Date,
        "required exactly when `status = \"backlog\"`",
    ),
    f(
        "fit",
        Ty::OneOf(&["high", "low"]),
        "where an expired backlog returns",
    ),
    f(
        "industry",
        Ty::Listed(List::Industries),
        "from `values.industries` when that list is not empty",
    ),
    f("employees", Ty::Count(MAX_PEOPLE), ""),
    f(
        "revenue",
        Ty::Amount,
        "annual revenue, in the CRM's currency",
    ),
    f(
        "country",
        Ty::Country,
        "ISO 3166 alpha-2, uppercase (`FR`, `US`)",
    ),
    f(
        "source",
        Ty::Listed(List::Sources),
        "from `values.sources`; `lead convert` copies the lead's",
    ),
    f(
        "channel",
        Ty::Listed(List::Channels),
        "inbound channel, from `values.channels`; `lead convert` copies the lead's",
    ),
    f("linkedin", Ty::Text, "the company's LinkedIn page"),
    f("tools", Ty::Strings, "tools met at the account"),
    f("disqualified_reason", Ty::Text, ""),
    f("tags", Ty::Strings, ""),
    CUSTOM,
];

const CONTACT: &[Field] = &[
    f("name", Ty::Text, "required"),
    f("account", Ty::Id, "required, account id"),
    f(
        "email",
        Ty::Email,
        "unique across contacts, case-insensitive",
    ),
    f("title", Ty::Text, ""),
    f("role", Ty::OneOf(ContactRole::NAMES), ""),
    f("persona", Ty::Text, ""),
    f("phone", Ty::Text, ""),
    f("linkedin", Ty::Text, ""),
    f("reports_to", Ty::Id, "contact id"),
    CUSTOM,
];

const BANT: &[Field] = &[
    f("budget", Ty::Text, "a short note"),
    f("authority", Ty::Text, "a short note"),
    f("need", Ty::Text, "a short note"),
    f("timeline", Ty::Text, "a short note"),
];

const COMMIT: &[Field] = &[
    f("accepted_on", Ty::Date, ""),
    f("start_date", Ty::Date, ""),
    f("onboarding_meeting", Ty::Date, ""),
    f("plan", Ty::Text, ""),
    f("pricing", Ty::Text, ""),
    f("users", Ty::Count(MAX_PEOPLE), ""),
    f("billing_tool", Ty::Text, ""),
    f("invoice_scheduled", Ty::Bool, ""),
];

const OPPORTUNITY: &[Field] = &[
    f("name", Ty::Text, "required"),
    f("account", Ty::Id, "required"),
    f("owner", Ty::Listed(List::Members), "required"),
    f("stage", Ty::Listed(List::Stages), "required"),
    f("source", Ty::Listed(List::Sources), "required"),
    f("type", Ty::OneOf(&["new", "upsell"]), "default `new`"),
    f("mrr", Ty::Amount, "monthly value"),
    f("close_date", Ty::Date, "expected, then actual once closed"),
    f(
        "created",
        Ty::Date,
        "when absent, the date of the commit that added the file",
    ),
    f("sdr", Ty::Listed(List::Members), "who sourced it"),
    f(
        "channel",
        Ty::Listed(List::Channels),
        "inbound channel, from `values.channels`",
    ),
    f(
        "integration",
        Ty::Text,
        "billing tool used for the trial / onboarding",
    ),
    f(
        "lost_reason",
        Ty::Listed(List::LostReasons),
        "from `values.lost_reasons`",
    ),
    f(
        "bant",
        Ty::Table(BANT),
        "`budget`, `authority`, `need`, `timeline`: short notes (strings)",
    ),
    f(
        "commit",
        Ty::Table(COMMIT),
        "`accepted_on`, `start_date`, `onboarding_meeting` (dates), `plan`, `pricing`, `billing_tool` (strings), `users` (integer, 0 to 10,000,000), `invoice_scheduled` (boolean)",
    ),
    CUSTOM,
];

const LEAD: &[Field] = &[
    f("name", Ty::Text, ""),
    f("email", Ty::Email, "an `email` or a `company` is required"),
    f("company", Ty::Text, "an `email` or a `company` is required"),
    f("domain", Ty::Domain, "lowercase (`acme.com`)"),
    f("phone", Ty::Text, ""),
    f("title", Ty::Text, ""),
    f("source", Ty::Listed(List::Sources), ""),
    f("channel", Ty::Listed(List::Channels), ""),
    f("owner", Ty::Listed(List::Members), ""),
    f("status", Ty::OneOf(LeadStatus::NAMES), "default `new`"),
    f(
        "converted_account",
        Ty::Id,
        "required when `status = \"converted\"`",
    ),
    f(
        "converted_contact",
        Ty::Id,
        "required when `status = \"converted\"`",
    ),
    f("created", Ty::Date, ""),
    CUSTOM,
];

const ACTIVITY: &[Field] = &[
    f("kind", Ty::OneOf(ActivityKind::NAMES), "required"),
    f("date", Ty::When, "required; a date or a date-time"),
    f("account", Ty::Id, "required"),
    f("contact", Ty::Id, ""),
    f("opportunity", Ty::Id, ""),
    f("owner", Ty::Listed(List::Members), ""),
    f("subject", Ty::Text, ""),
    f("body", Ty::Str, ""),
    f(
        "duration_min",
        Ty::Count(MAX_DURATION_MIN),
        "calls, meetings and demos only; 0 to 1,440 minutes",
    ),
    f("due", Ty::Date, "tasks only, and required on them"),
    f("done", Ty::Bool, "tasks only"),
    f("message_id", Ty::Text, "ingested emails"),
    f(
        "participants",
        Ty::Strings,
        "captured emails, meetings and demos (addresses) and calls (numbers)",
    ),
    f("direction", Ty::OneOf(DIRECTIONS), "calls and emails only"),
    f("outcome", Ty::OneOf(OUTCOMES), "calls only"),
    f(
        "call_id",
        Ty::Text,
        "calls only: the phone system's id (`aircall:…`, `ringover:…`, `sloop:…`)",
    ),
    f(
        "attachments",
        Ty::Strings,
        "emails only: `name (N bytes)`, the files are not stored",
    ),
    f(
        "uid",
        Ty::Text,
        "meetings and demos only: the calendar event's UID",
    ),
    f(
        "sequence",
        Ty::Count(i64::MAX as u64),
        "meetings and demos only: the event's SEQUENCE",
    ),
    f(
        "recurrence_id",
        Ty::Text,
        "meetings and demos only: the original start of one occurrence of a recurring event",
    ),
    f("cancelled", Ty::Bool, "meetings and demos only"),
    CUSTOM,
];

fn fields(kind: Kind) -> (&'static [Field], &'static [&'static str]) {
    match kind {
        Kind::Account => (ACCOUNT, ACCOUNT_KEYS),
        Kind::Contact => (CONTACT, CONTACT_KEYS),
        Kind::Opportunity => (OPPORTUNITY, OPPORTUNITY_KEYS),
        Kind::Lead => (LEAD, LEAD_KEYS),
        Kind::Activity => (ACTIVITY, ACTIVITY_KEYS),
    }
}

/// The fields every record of the kind needs.
fn required(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Account => &["name", "status"],
        Kind::Contact => &["name", "account"],
        Kind::Opportunity => &["name", "account", "owner", "stage", "source"],
        Kind::Lead => &[],
        Kind::Activity => &["kind", "date", "account"],
    }
}

fn list(config: &Config, l: List) -> Vec<String> {
    let owned = |v: Vec<&str>| v.into_iter().map(str::to_string).collect();
    match l {
        List::Stages => owned(config.stage_names()),
        List::Statuses => owned(config.status_names()),
        List::Members => config.member_ids().map(str::to_string).collect(),
        List::Sources => config.values.sources.clone(),
        List::Channels => config.values.channels.clone(),
        List::LostReasons => config.values.lost_reasons.clone(),
        List::Industries => config.values.industries.clone(),
    }
}

fn type_schema(ty: Ty, config: &Config) -> Map<String, Value> {
    let text = json!({"type": "string", "pattern": "\\S"});
    let v = match ty {
        Ty::Text => text,
        Ty::Str => json!({"type": "string"}),
        Ty::Date => json!({"type": "string", "format": "date"}),
        Ty::When => {
            json!({"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]})
        }
        Ty::Count(max) => json!({"type": "integer", "minimum": 0, "maximum": max}),
        Ty::Amount => json!({"type": "number", "minimum": 0, "maximum": MAX_AMOUNT}),
        Ty::Bool => json!({"type": "boolean"}),
        Ty::Strings => json!({"type": "array", "items": {"type": "string"}}),
        Ty::OneOf(names) => json!({"type": "string", "enum": names}),
        Ty::Listed(l) => {
            let names = list(config, l);
            if names.is_empty() && !matches!(l, List::Members) {
                text
            } else {
                json!({"type": "string", "enum": names})
            }
        }
        Ty::Id => json!({
            "type": "string",
            "pattern": "^[a-z0-9][a-z0-9-]*$",
            "maxLength": crate::model::ids::MAX_LEN,
        }),
        Ty::Email => {
            json!({"type": "string", "pattern": "^[^@\\s]+@[^@\\s.][^@\\s]*\\.[^@\\s]*[^@\\s.]$"})
        }
        Ty::Domain => json!({
            "type": "string",
            "pattern": "^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$",
        }),
        Ty::Country => json!({"type": "string", "enum": crate::model::countries::CODES}),
        Ty::Table(sub) => {
            let mut props = Map::new();
            for field in sub {
                props.insert(field.key.into(), field_schema(field, config));
            }
            json!({"type": "object", "additionalProperties": false, "properties": props})
        }
        Ty::Custom => json!({"type": "object"}),
    };
    match v {
        Value::Object(m) => m,
        _ => unreachable!("every type schema is an object"),
    }
}

fn field_schema(field: &Field, config: &Config) -> Value {
    let mut m = type_schema(field.ty, config);
    let what = match field.ty {
        Ty::Text | Ty::Str => "string".to_string(),
        Ty::Date => "date".into(),
        Ty::When => "date or date-time".into(),
        Ty::Count(max) => format!("integer, 0 to {}", crate::diag::grouped(max)),
        Ty::Amount => format!("number, 0 to {}", crate::diag::grouped(MAX_AMOUNT as u64)),
        Ty::Bool => "boolean".into(),
        Ty::Strings => "array of strings".into(),
        Ty::OneOf(names) => names.join(" | "),
        Ty::Listed(List::Members) => "member id".into(),
        Ty::Listed(List::Stages) => "stage name".into(),
        Ty::Listed(List::Statuses) => "status name".into(),
        Ty::Listed(_) => "string".into(),
        Ty::Id => "id".into(),
        Ty::Email => "email".into(),
        Ty::Domain => "domain".into(),
        Ty::Country => "country code".into(),
        Ty::Table(_) | Ty::Custom => "table".into(),
    };
    let doc = if field.doc.is_empty() {
        what
    } else {
        format!("{what}: {}", field.doc)
    };
    m.insert("description".into(), doc.into());
    Value::Object(m)
}

/// The fields a stage or status requires, as a schema: `bant.budget` within `bant`.
fn requiring(fields: &[String], must_be_true: &[String]) -> Value {
    let mut top: Vec<&str> = Vec::new();
    let mut nested: Vec<(&str, Vec<&str>, Vec<&str>)> = Vec::new();
    for name in fields.iter().chain(must_be_true) {
        match name.split_once('.') {
            None => top.push(name),
            Some((table, key)) => {
                if !top.contains(&table) {
                    top.push(table);
                }
                let i = match nested.iter().position(|(t, _, _)| *t == table) {
                    Some(i) => i,
                    None => {
                        nested.push((table, Vec::new(), Vec::new()));
                        nested.len() - 1
                    }
                };
                if !nested[i].1.contains(&key) {
                    nested[i].1.push(key);
                }
                if must_be_true.contains(name) {
                    nested[i].2.push(key);
                }
            }
        }
    }
    let mut props = Map::new();
    for (table, keys, trues) in nested {
        let mut sub = Map::new();
        for key in trues {
            sub.insert(key.into(), json!({"const": true}));
        }
        props.insert(table.into(), json!({"required": keys, "properties": sub}));
    }
    for name in must_be_true.iter().filter(|n| !n.contains('.')) {
        props.insert(name.clone(), json!({"const": true}));
    }
    json!({"required": top, "properties": props})
}

/// The JSON Schema of a record kind, with the CRM's config.
pub fn record(kind: Kind, config: &Config) -> Value {
    let (fields, keys) = fields(kind);
    debug_assert!(fields.iter().map(|f| f.key).eq(keys.iter().copied()));
    let mut props = Map::new();
    for field in fields {
        props.insert(field.key.into(), field_schema(field, config));
    }
    let mut all_of: Vec<Value> = Vec::new();
    match kind {
        Kind::Opportunity => {
            for stage in &config.stages {
                if stage.requires.is_empty() && stage.require_true.is_empty() {
                    continue;
                }
                all_of.push(json!({
                    "if": {"properties": {"stage": {"const": stage.name}}, "required": ["stage"]},
                    "then": requiring(&stage.requires, &stage.require_true),
                }));
            }
        }
        Kind::Account => {
            for status in &config.statuses {
                if !status.requires.is_empty() {
                    all_of.push(json!({
                        "if": {"properties": {"status": {"const": status.name}}, "required": ["status"]},
                        "then": requiring(&status.requires, &[]),
                    }));
                }
                for field in &status.exclusive {
                    all_of.push(json!({
                        "if": {"required": [field]},
                        "then": {"properties": {"status": {"const": status.name}}},
                    }));
                }
            }
        }
        Kind::Lead => {
            all_of.push(json!({"anyOf": [{"required": ["email"]}, {"required": ["company"]}]}));
            all_of.push(json!({
                "if": {"properties": {"status": {"const": "converted"}}, "required": ["status"]},
                "then": {"required": ["converted_account", "converted_contact"]},
            }));
        }
        Kind::Activity => {
            all_of.push(json!({
                "if": {"properties": {"kind": {"const": "task"}}, "required": ["kind"]},
                "then": {"required": ["due"]},
                "else": {"properties": {"due": false, "done": false}},
            }));
            all_of.push(json!({
                "if": {"required": ["duration_min"]},
                "then": {"properties": {"kind": {"enum": ["call", "meeting", "demo"]}}},
            }));
            // As `store::parse` allows them: each captured field on its kinds only.
            for (field, kinds) in [
                ("direction", &["call", "email"][..]),
                ("outcome", &["call"][..]),
                ("call_id", &["call"][..]),
                ("attachments", &["email"][..]),
                ("uid", &["meeting", "demo"][..]),
                ("sequence", &["meeting", "demo"][..]),
                ("recurrence_id", &["meeting", "demo"][..]),
                ("cancelled", &["meeting", "demo"][..]),
            ] {
                all_of.push(json!({
                    "if": {"required": [field]},
                    "then": {"properties": {"kind": {"enum": kinds}}},
                }));
            }
        }
        Kind::Contact => {}
    }
    let mut schema = json!({
        "$schema": DIALECT,
        "title": format!("sloop {}", kind.as_str()),
        "description": format!(
            "{} of the CRM (`{}/<id>.toml`), as `sloop check` reads it",
            capitalised(kind.with_article()),
            kind.folder()
        ),
        "type": "object",
        "additionalProperties": false,
        "required": required(kind),
        "properties": props,
    });
    if !all_of.is_empty() {
        schema["allOf"] = Value::Array(all_of);
    }
    schema
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The JSON Schema of `sloop.toml`.
pub fn config_schema(config: &Config) -> Value {
    let days = json!({"type": "integer", "minimum": 0, "maximum": crate::model::dates::MAX_DAYS,
        "description": "days, 0 to 36,500"});
    let names = json!({"type": "array", "items": {"type": "string", "pattern": "\\S"}});
    let stage_names: Vec<String> = list(config, List::Stages);
    let status_names: Vec<String> = list(config, List::Statuses);
    let money = json!({"type": "number", "minimum": 0, "maximum": MAX_AMOUNT});
    let quarter = "^[0-9]{4}-Q[1-4]$";
    let dotted = json!({"type": "string", "pattern": "^[^.\\s]+(\\.[^.\\s]+)*$",
        "description": "a dotted path in the JSON payload (`data.contact.email`)"});
    // Apart: one json! of the whole schema is over the macro's recursion limit.
    let serve = json!({
        "type": "object",
        "description": "`sloop serve`: its limits per client, and where the pages' readers are listed (one `user:password` or team token a line), never in git",
        "additionalProperties": false,
        "properties": {
            "rate_limit": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
            "rate_burst": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
            "header_timeout": {"type": "integer", "minimum": 1, "maximum": 3600},
            "body_timeout": {"type": "integer", "minimum": 1, "maximum": 3600},
            "readers_env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                "description": "the environment variable holding the readers"},
            "readers_file": {"type": "string", "pattern": "^/",
                "description": "the file holding the readers, outside the repository"},
        },
    });
    let mut schema = json!({
        "$schema": DIALECT,
        "title": "sloop.toml",
        "description": "The CRM's configuration: team, allowed values, stages, statuses, lifecycle, targets, ingest, hooks, serve",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "currency": {"type": "string", "pattern": "\\S", "description": "the currency of every amount (`EUR`)"},
            "shard": {"type": "integer", "minimum": 0, "maximum": 8,
                "description": "leading characters of a new record's id used as its folder (0: none)"},
            "team": {
                "type": "object",
                "description": "team members: `[team.<id>]`",
                "propertyNames": {"pattern": "^[a-z0-9][a-z0-9-]*$"},
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name", "role"],
                    "properties": {
                        "name": {"type": "string", "pattern": "\\S"},
                        "role": {"type": "string", "enum": Role::NAMES},
                        "email": {"type": "string"},
                    },
                },
            },
            "values": {
                "type": "object",
                "additionalProperties": false,
                "description": "allowed values; an empty list leaves the field open",
                "properties": {
                    "sources": names, "lost_reasons": names, "channels": names, "industries": names,
                },
            },
            "lifecycle": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "target_stale_days": days, "backlog_days": days, "churn_cooldown_days": days,
                    "opportunity_stale_days": days, "trial_days": days,
                },
            },
            "targets": {
                "type": "object",
                "description": "new MRR to win per quarter (`\"2026-Q4\" = 12000`), and per member (`[targets.<member>]`)",
                "patternProperties": {quarter: money},
                "additionalProperties": {"type": "object", "patternProperties": {quarter: money},
                    "additionalProperties": false},
            },
            "stages": {
                "type": "object",
                "description": "opportunity stages, in pipeline order",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "probability": {"type": "integer", "minimum": 0, "maximum": 100,
                            "description": "percent, for the weighted pipeline"},
                        "entry": {"type": "boolean", "description": "may a new opportunity start here?"},
                        "next": {"type": "array", "items": {"type": "string", "enum": stage_names}},
                        "requires": {"type": "array", "items": {"type": "string", "enum": crate::config::OPPORTUNITY_FIELDS}},
                        "require_true": {"type": "array", "items": {"type": "string", "enum": crate::config::OPPORTUNITY_FIELDS}},
                        "outcome": {"type": "string", "enum": ["won", "lost"]},
                    },
                },
            },
            "statuses": {
                "type": "object",
                "description": "account statuses",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "entry": {"type": "boolean"},
                        "next": {"type": "array", "items": {"type": "string", "enum": status_names}},
                        "requires": {"type": "array", "items": {"type": "string", "enum": crate::config::ACCOUNT_FIELDS}},
                        "exclusive": {"type": "array", "items": {"type": "string", "enum": crate::config::ACCOUNT_FIELDS}},
                    },
                },
            },
            "ingest": {
                "type": "object",
                "additionalProperties": false,
                "properties": {"demo_words": names},
            },
            "hooks": {
                "type": "object",
                "description": "the webhooks of `sloop serve`: `[hooks.<name>]`, delivered to `POST /hooks/<name>`",
                "propertyNames": {"pattern": "^[a-z0-9][a-z0-9-]*$"},
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["creates", "auth"],
                    "properties": {
                        "creates": {"type": "string", "enum": ["lead"]},
                        "auth": {"type": "string", "enum": ["bearer", "hmac-sha256"]},
                        "signature_header": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
                        "secret_env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                            "description": "the environment variable holding the secret"},
                        "secret_file": {"type": "string", "pattern": "^/",
                            "description": "the file holding the secret, outside the repository"},
                        "id": dotted,
                        "max_body": {"type": "integer", "minimum": 1, "maximum": crate::config::hooks::MAX_MAX_BODY},
                        "source": {"type": "string"},
                        "channel": {"type": "string"},
                        "fields": {"type": "object", "propertyNames": {"enum": crate::config::hooks::LEAD_FIELDS},
                            "additionalProperties": dotted},
                        "defaults": {"type": "object", "propertyNames": {"enum": crate::config::hooks::LEAD_FIELDS},
                            "additionalProperties": {"type": "string"}},
                    },
                },
            },
        },
    });
    schema["properties"]["serve"] = serve;
    schema
}

/// The schema files `sloop schema --write` writes, in `.taplo.toml`'s order: `(name, the
/// files it validates)`; the name is `config` for `sloop.toml`, else the kind.
pub fn files() -> Vec<(&'static str, String)> {
    let mut out = vec![("config", crate::config::FILE.to_string())];
    for kind in Kind::ALL {
        out.push((kind.as_str(), format!("{}/**/*.toml", kind.folder())));
    }
    out
}

/// The folder of the written schemas, relative to the CRM root (hidden: sloop reads nothing
/// there).
pub const DIR: &str = ".sloop/schemas";

/// `.taplo.toml`: each folder mapped to its schema.
pub fn taplo_toml() -> String {
    let mut out = String::from(
        "# Written by `sloop init` and `sloop schema --write`: taplo, and the editors built on it\n\
         # (VS Code's Even Better TOML, Helix, Neovim…), validate and complete records with the\n\
         # schemas in .sloop/schemas/. Run `sloop schema --write` again after editing sloop.toml.\n",
    );
    for (name, include) in files() {
        out.push_str(&format!(
            "\n[[rule]]\ninclude = [\"{include}\"]\n[rule.schema]\npath = \"./{DIR}/{name}.json\"\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_the_reader_knows_has_a_field_and_in_the_same_order() {
        for kind in Kind::ALL {
            let (fields, keys) = fields(kind);
            let names: Vec<&str> = fields.iter().map(|f| f.key).collect();
            assert_eq!(names, keys, "{kind:?}");
        }
    }

    #[test]
    fn the_config_s_lists_become_enums_and_an_empty_list_stays_open() {
        let config = Config::default();
        let s = record(Kind::Opportunity, &config);
        assert_eq!(
            s["properties"]["stage"]["enum"],
            json!([
                "identified",
                "qualified",
                "trial",
                "closing",
                "commit",
                "won",
                "lost"
            ])
        );
        let a = record(Kind::Account, &config);
        assert_eq!(a["properties"]["industry"]["enum"], Value::Null);
        // No team: no owner is valid, as `sloop check` says of any owner.
        assert_eq!(a["properties"]["owner"]["enum"], json!([]));
    }
}
