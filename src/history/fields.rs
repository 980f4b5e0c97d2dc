//! A parsed record as a flat map of dotted field names (`stage`, `bant.budget`,
//! `custom.region`) to JSON-able values: what history events carry and diff.

use serde::{Deserialize, Serialize};

use crate::config::{Config, Values};
use crate::model::AnyRecord;
use crate::model::{ContactRole, Fit, Kind, LeadStatus, Meta, OppType, When};
use crate::store::parse;

/// A field's value. Dates are strings (`2026-11-26`, or RFC 3339 for activity date-times), so
/// a value is a JSON scalar, or a list for array fields (`tools`, `tags`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<Value>),
}

impl Value {
    /// The text, if the value is a string (ids, names, stages, dates).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if the value is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The date, if the value is a `YYYY-MM-DD` string (or starts with one).
    pub fn as_date(&self) -> Option<chrono::NaiveDate> {
        let s = self.as_str()?;
        chrono::NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
    }
}

/// Read back from JSON in one pass (an untagged derive would buffer every value first).
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, number, boolean or list")
            }
            fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
                Ok(Value::Int(i))
            }
            fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
                Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
            }
            fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
                Ok(Value::Float(f))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value, E> {
                Ok(Value::Text(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Value, E> {
                Ok(Value::Text(s))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Value::List(items))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Text(s) => f.write_str(s),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// A record's fields by dotted name, in name order: a sorted list with the map operations the
/// history uses. A `BTreeMap`'s smallest node holds eleven entries (about 630 bytes); a long
/// history holds over 100,000 of these, most with one to three fields (what
/// `history::for_metrics` keeps of a creation), so the list takes a fifth of the memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields(Vec<(String, Value)>);

impl Fields {
    pub fn new() -> Self {
        Fields(Vec::new())
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key`, returning the value it replaced.
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut Value) -> bool) {
        self.0.retain_mut(|(k, v)| keep(k, v));
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// (name, value) in name order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &Value)> + ExactSizeIterator {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn iter_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&String, &mut Value)> + ExactSizeIterator {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }
}

#[cfg(test)]
impl std::ops::Index<&str> for Fields {
    type Output = Value;
    /// The value of a field that is known to be there (panics otherwise, as a map does).
    fn index(&self, key: &str) -> &Value {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no field `{key}`"),
        }
    }
}

impl FromIterator<(String, Value)> for Fields {
    /// As a map collects: a name given twice keeps its last value.
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(items: I) -> Self {
        let mut out = Fields::new();
        out.extend(items);
        out
    }
}

impl Extend<(String, Value)> for Fields {
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, items: I) {
        for (k, v) in items {
            self.insert(k, v);
        }
    }
}

impl IntoIterator for Fields {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Value)>,
        fn(&'a (String, Value)) -> (&'a String, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Fields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of field names to values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Fields, A::Error> {
                let mut out = Fields::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.insert(k, v);
                }
                Ok(out)
            }
        }
        d.deserialize_map(Visit)
    }
}

/// The rules used to read historical records: the team's method is ignored so that a value
/// is recorded as it was written, even when the current `sloop.toml` no longer allows it (a
/// renamed stage, a retired source). Metrics decide what to do with unknown names.
pub fn permissive_config() -> Config {
    Config {
        stages: Vec::new(),
        statuses: Vec::new(),
        values: Values::default(),
        ..Config::default()
    }
}

/// Parses one version of a record file into its fields. `Err` holds why the file could not
/// be read as a record at all (not UTF-8, invalid TOML, empty); a record with schema errors
/// still has fields (the valid ones).
pub fn parse_fields(
    kind: Kind,
    path: &str,
    bytes: &[u8],
    config: &Config,
) -> Result<Fields, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| "the file is not valid UTF-8".to_string())?;
    let stem = path.rsplit('/').next().unwrap_or(path);
    let id = stem.strip_suffix(".toml").unwrap_or(stem);
    let (record, diags) = parse::parse_record(kind, id, path, text, config);
    if record.meta().broken {
        let why = diags
            .iter()
            .find(|d| d.is_error())
            .map(|d| format!("line {}: {}", d.line, d.message))
            .unwrap_or_else(|| "the file cannot be read as a record".to_string());
        return Err(why);
    }
    Ok(fields_of(&record))
}

/// The fields present in a record, flattened. Fields absent from the file, and values that
/// were rejected while parsing (wrong type, invalid), are left out.
pub fn fields_of(record: &AnyRecord) -> Fields {
    let mut f = Flat {
        meta: record.meta(),
        out: Fields::new(),
    };
    match record {
        AnyRecord::Account(a) => {
            f.text("name", Some(a.name.as_str()));
            f.text("status", Some(a.status.as_str()));
            f.text("owner", a.owner.as_ref().map(|x| x.as_str()));
            f.text("domain", a.domain.as_deref());
            f.date("backlog_until", a.backlog_until);
            f.text(
                "fit",
                a.fit.map(|x| match x {
                    Fit::High => "high",
                    Fit::Low => "low",
                }),
            );
            f.text("industry", a.industry.as_deref());
            f.int("employees", a.employees);
            f.text("country", a.country.as_deref());
            f.text("source", a.source.as_deref());
            f.text("channel", a.channel.as_deref());
            f.list("tools", &a.tools);
            f.text("disqualified_reason", a.disqualified_reason.as_deref());
            f.list("tags", &a.tags);
            f.custom(&a.custom);
        }
        AnyRecord::Contact(c) => {
            f.text("name", Some(c.name.as_str()));
            f.text("account", c.account.as_ref().map(|x| x.as_str()));
            f.text("email", c.email.as_deref());
            f.text("title", c.title.as_deref());
            f.text("role", c.role.map(|r| ContactRole::NAMES[r as usize]));
            f.text("persona", c.persona.as_deref());
            f.text("phone", c.phone.as_deref());
            f.text("linkedin", c.linkedin.as_deref());
            f.text("reports_to", c.reports_to.as_ref().map(|x| x.as_str()));
            f.custom(&c.custom);
        }
        AnyRecord::Opportunity(o) => {
            f.text("name", Some(o.name.as_str()));
            f.text("account", o.account.as_ref().map(|x| x.as_str()));
            f.text("owner", o.owner.as_ref().map(|x| x.as_str()));
            f.text("stage", Some(o.stage.as_str()));
            f.text("source", Some(o.source.as_str()));
            f.text(
                "type",
                Some(match o.kind {
                    OppType::New => "new",
                    OppType::Upsell => "upsell",
                }),
            );
            f.float("mrr", o.mrr);
            f.date("close_date", o.close_date);
            f.date("created", o.created);
            f.text("sdr", o.sdr.as_ref().map(|x| x.as_str()));
            f.text("channel", o.channel.as_deref());
            f.text("integration", o.integration.as_deref());
            f.text("lost_reason", o.lost_reason.as_deref());
            f.text("bant.budget", o.bant.budget.as_deref());
            f.text("bant.authority", o.bant.authority.as_deref());
            f.text("bant.need", o.bant.need.as_deref());
            f.text("bant.timeline", o.bant.timeline.as_deref());
            let c = &o.commit;
            f.date("commit.accepted_on", c.accepted_on);
            f.date("commit.start_date", c.start_date);
            f.date("commit.onboarding_meeting", c.onboarding_meeting);
            f.text("commit.plan", c.plan.as_deref());
            f.text("commit.pricing", c.pricing.as_deref());
            f.int("commit.users", c.users);
            f.text("commit.billing_tool", c.billing_tool.as_deref());
            f.bool("commit.invoice_scheduled", c.invoice_scheduled);
            f.custom(&o.custom);
        }
        AnyRecord::Lead(l) => {
            f.text("name", l.name.as_deref());
            f.text("email", l.email.as_deref());
            f.text("company", l.company.as_deref());
            f.text("domain", l.domain.as_deref());
            f.text("phone", l.phone.as_deref());
            f.text("title", l.title.as_deref());
            f.text("source", l.source.as_deref());
            f.text("channel", l.channel.as_deref());
            f.text("owner", l.owner.as_ref().map(|x| x.as_str()));
            f.text("status", Some(LeadStatus::as_str(l.status)));
            f.text(
                "converted_account",
                l.converted_account.as_ref().map(|x| x.as_str()),
            );
            f.text(
                "converted_contact",
                l.converted_contact.as_ref().map(|x| x.as_str()),
            );
            f.date("created", l.created);
            f.custom(&l.custom);
        }
        AnyRecord::Activity(a) => {
            f.text("kind", Some(a.kind.as_str()));
            let date = match a.date {
                When::Date(d) => d.to_string(),
                When::Local(dt) => dt.format("%Y-%m-%dT%H:%M:%S").to_string(),
                When::Offset(dt) => dt.to_rfc3339(),
            };
            f.text("date", Some(date.as_str()));
            f.text("account", a.account.as_ref().map(|x| x.as_str()));
            f.text("contact", a.contact.as_ref().map(|x| x.as_str()));
            f.text("opportunity", a.opportunity.as_ref().map(|x| x.as_str()));
            f.text("owner", a.owner.as_ref().map(|x| x.as_str()));
            f.text("subject", a.subject.as_deref());
            f.text("body", a.body.as_deref());
            f.int("duration_min", a.duration_min);
            f.date("due", a.due);
            f.bool("done", a.done);
            f.text("message_id", a.message_id.as_deref());
            f.list("participants", &a.participants);
            f.custom(&a.custom);
        }
    }
    f.out
}

/// Collects present fields. A field counts only when the file has it (`Meta::has`): records
/// fill absent required fields with defaults (`stage = ""`, `type = "new"`), which are not
/// what was written.
struct Flat<'m> {
    meta: &'m Meta,
    out: Fields,
}

impl Flat<'_> {
    fn put(&mut self, name: &'static str, value: Option<Value>) {
        if let Some(v) = value {
            if self.meta.has(name) {
                self.out.insert(name.to_string(), v);
            }
        }
    }

    fn text(&mut self, name: &'static str, value: Option<&str>) {
        let value = value.filter(|s| !s.is_empty());
        self.put(name, value.map(|s| Value::Text(s.to_string())));
    }

    fn date(&mut self, name: &'static str, value: Option<chrono::NaiveDate>) {
        self.put(name, value.map(|d| Value::Text(d.to_string())));
    }

    fn int(&mut self, name: &'static str, value: Option<u64>) {
        self.put(
            name,
            value.map(|n| match i64::try_from(n) {
                Ok(i) => Value::Int(i),
                Err(_) => Value::Float(n as f64),
            }),
        );
    }

    fn float(&mut self, name: &'static str, value: Option<f64>) {
        self.put(name, value.map(Value::Float));
    }

    fn bool(&mut self, name: &'static str, value: Option<bool>) {
        self.put(name, value.map(Value::Bool));
    }

    fn list(&mut self, name: &'static str, items: &[String]) {
        let items = items.iter().map(|s| Value::Text(s.clone())).collect();
        self.put(name, Some(Value::List(items)));
    }

    /// `[custom]` keys as `custom.<key>`, nested tables flattened with dots.
    fn custom(&mut self, custom: &Option<toml::Table>) {
        if let Some(table) = custom {
            flatten_toml("custom.", table, &mut self.out);
        }
    }
}

fn flatten_toml(prefix: &str, table: &toml::Table, out: &mut Fields) {
    for (key, value) in table {
        let name = format!("{prefix}{key}");
        match value {
            toml::Value::Table(t) => flatten_toml(&format!("{name}."), t, out),
            other => {
                out.insert(name, toml_value(other));
            }
        }
    }
}

fn toml_value(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::Text(s.clone()),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::Text(d.to_string()),
        toml::Value::Array(items) => Value::List(items.iter().map(toml_value).collect()),
        // A table inside an array: kept as inline TOML text.
        toml::Value::Table(t) => Value::Text(toml::Value::Table(t.clone()).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list behaves as the map it replaced: name order, a name once (the last value
    /// wins), and the same JSON (the history cache on disk is read by either).
    #[test]
    fn fields_are_a_map_in_name_order() {
        let mut f: Fields = [
            ("stage".to_string(), text("trial")),
            ("mrr".to_string(), Value::Int(500)),
            ("stage".to_string(), text("closing")),
        ]
        .into_iter()
        .collect();
        assert_eq!(f.keys().collect::<Vec<_>>(), ["mrr", "stage"]);
        assert_eq!(f.get("stage"), Some(&text("closing")));
        assert_eq!(f.insert("name".into(), text("Acme")), None);
        assert_eq!(
            f.insert("mrr".into(), Value::Int(650)),
            Some(Value::Int(500))
        );
        assert_eq!(f.keys().collect::<Vec<_>>(), ["mrr", "name", "stage"]);
        let json = serde_json::to_string(&f).unwrap();
        let map: std::collections::BTreeMap<String, Value> = f.clone().into_iter().collect();
        assert_eq!(json, serde_json::to_string(&map).unwrap());
        assert_eq!(serde_json::from_str::<Fields>(&json).unwrap(), f);
        assert_eq!(
            serde_json::from_str::<Fields>(r#"{"b": 1, "a": 2, "b": 3}"#).unwrap(),
            [("a".into(), Value::Int(2)), ("b".into(), Value::Int(3))]
                .into_iter()
                .collect()
        );
        assert_eq!(f.remove("name"), Some(text("Acme")));
        assert!(!f.contains_key("name"));
        f.retain(|k, _| k == "stage");
        assert_eq!(f.len(), 1);
    }

    fn fields(kind: Kind, path: &str, toml: &str) -> Fields {
        parse_fields(kind, path, toml.as_bytes(), &permissive_config()).unwrap()
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn flattens_an_opportunity_with_dotted_names() {
        let f = fields(
            Kind::Opportunity,
            "opportunities/acme-pro.toml",
            r#"
name = "Acme Pro"
account = "acme"
owner = "alice"
stage = "commit"
source = "inbound"
mrr = 1200
close_date = 2026-12-15

[bant]
budget = "approved"

[commit]
start_date = 2027-01-01
users = 12
invoice_scheduled = true

[custom]
region = "EMEA"
scores = { fit = 8 }
"#,
        );
        let expected: Fields = [
            ("name", text("Acme Pro")),
            ("account", text("acme")),
            ("owner", text("alice")),
            ("stage", text("commit")),
            ("source", text("inbound")),
            ("mrr", Value::Float(1200.0)),
            ("close_date", text("2026-12-15")),
            ("bant.budget", text("approved")),
            ("commit.start_date", text("2027-01-01")),
            ("commit.users", Value::Int(12)),
            ("commit.invoice_scheduled", Value::Bool(true)),
            ("custom.region", text("EMEA")),
            ("custom.scores.fit", Value::Int(8)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(f, expected);
        // `type` was not written: its default is not a field.
        assert!(!f.contains_key("type"));
    }

    #[test]
    fn keeps_values_the_current_method_does_not_know() {
        let f = fields(
            Kind::Account,
            "accounts/acme.toml",
            "name = \"Acme\"\nstatus = \"prospect\"\ntools = [\"stripe\"]\n",
        );
        assert_eq!(f["status"], text("prospect"));
        assert_eq!(f["tools"], Value::List(vec![text("stripe")]));
    }

    #[test]
    fn leaves_out_rejected_values() {
        let f = fields(
            Kind::Account,
            "accounts/acme.toml",
            "name = \"Acme\"\nstatus = \"target\"\nemployees = \"many\"\n",
        );
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn renders_activity_dates_as_written() {
        let f = fields(
            Kind::Activity,
            "activities/2026/11/call.toml",
            "kind = \"call\"\ndate = 2026-11-20T10:30:00+01:00\naccount = \"acme\"\n",
        );
        assert_eq!(f["date"], text("2026-11-20T10:30:00+01:00"));
        assert_eq!(
            f["date"].as_date(),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 20)
        );
    }

    #[test]
    fn unreadable_files_are_errors() {
        let config = permissive_config();
        let bad = |bytes: &[u8]| parse_fields(Kind::Account, "accounts/x.toml", bytes, &config);
        assert!(bad(b"name = \n")
            .unwrap_err()
            .starts_with("line 1: invalid TOML"));
        assert!(bad(b"").is_err());
        assert!(bad(b"name = \"Caf\xe9\"\n").is_err());
    }

    #[test]
    fn values_serialize_as_json_scalars() {
        let json = serde_json::to_string(&vec![
            Value::Bool(true),
            Value::Int(3),
            Value::Float(1200.0),
            text("2026-11-26"),
            Value::List(vec![text("a")]),
        ])
        .unwrap();
        assert_eq!(json, r#"[true,3,1200.0,"2026-11-26",["a"]]"#);
        let back: Vec<Value> = serde_json::from_str(&json).unwrap();
        assert_eq!(back[2], Value::Float(1200.0));
        assert_eq!(back[1], Value::Int(3));
    }
}
