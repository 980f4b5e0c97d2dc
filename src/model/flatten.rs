//! A record as a flat map of dotted field names (`stage`, `bant.budget`, `custom.region`)
//! to JSON-able values: what history events carry and diff, and what a transition changed.

use serde::{Deserialize, Serialize};

use super::{
    Account, Activity, AnyRecord, Bant, CaptureKeys, CommitTerms, Contact, ContactRole, Fit, Lead,
    LeadStatus, Meta, OppType, Opportunity, When,
};

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

    /// Keeps the fields `keep` says to, and gives back the room of the others (a history's
    /// creations are slimmed from a dozen fields to two or three, and kept).
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut Value) -> bool) {
        let before = self.0.len();
        self.0.retain_mut(|(k, v)| keep(k, v));
        if self.0.len() < before {
            self.0.shrink_to_fit();
        }
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

/// The fields present in a record, flattened: the one flattener, used by the history (what
/// events carry and diff) and by the transition rules (which fields a change touched).
/// Fields absent from the file, and values that were rejected while parsing (wrong type,
/// invalid), are left out. Every record struct is destructured without `..`: a new field
/// does not compile until it is flattened here.
pub fn flatten(record: &AnyRecord) -> Fields {
    let mut f = Flat {
        meta: record.meta(),
        out: Fields::new(),
    };
    match record {
        AnyRecord::Account(Account {
            meta: _,
            name,
            status,
            owner,
            domain,
            backlog_until,
            fit,
            industry,
            employees,
            revenue,
            country,
            source,
            channel,
            linkedin,
            tools,
            disqualified_reason,
            tags,
            custom,
        }) => {
            f.text("name", Some(name.as_str()));
            f.text("status", Some(status.as_str()));
            f.text("owner", owner.as_ref().map(|x| x.as_str()));
            f.text("domain", domain.as_deref());
            f.date("backlog_until", *backlog_until);
            f.text(
                "fit",
                fit.map(|x| match x {
                    Fit::High => "high",
                    Fit::Low => "low",
                }),
            );
            f.text("industry", industry.as_deref());
            f.int("employees", *employees);
            f.float("revenue", *revenue);
            f.text("country", country.as_deref());
            f.text("source", source.as_deref());
            f.text("channel", channel.as_deref());
            f.text("linkedin", linkedin.as_deref());
            f.list("tools", tools);
            f.text("disqualified_reason", disqualified_reason.as_deref());
            f.list("tags", tags);
            f.custom(custom);
        }
        AnyRecord::Contact(Contact {
            meta: _,
            name,
            account,
            email,
            title,
            role,
            persona,
            phone,
            linkedin,
            reports_to,
            custom,
        }) => {
            f.text("name", Some(name.as_str()));
            f.text("account", account.as_ref().map(|x| x.as_str()));
            f.text("email", email.as_deref());
            f.text("title", title.as_deref());
            f.text("role", role.map(|r| ContactRole::NAMES[r as usize]));
            f.text("persona", persona.as_deref());
            f.text("phone", phone.as_deref());
            f.text("linkedin", linkedin.as_deref());
            f.text("reports_to", reports_to.as_ref().map(|x| x.as_str()));
            f.custom(custom);
        }
        AnyRecord::Opportunity(Opportunity {
            meta: _,
            name,
            account,
            owner,
            stage,
            source,
            kind,
            mrr,
            close_date,
            created,
            sdr,
            channel,
            integration,
            lost_reason,
            bant:
                Bant {
                    budget,
                    authority,
                    need,
                    timeline,
                },
            commit:
                CommitTerms {
                    accepted_on,
                    start_date,
                    onboarding_meeting,
                    plan,
                    pricing,
                    users,
                    billing_tool,
                    invoice_scheduled,
                },
            custom,
        }) => {
            f.text("name", Some(name.as_str()));
            f.text("account", account.as_ref().map(|x| x.as_str()));
            f.text("owner", owner.as_ref().map(|x| x.as_str()));
            f.text("stage", Some(stage.as_str()));
            f.text("source", Some(source.as_str()));
            f.text(
                "type",
                Some(match kind {
                    OppType::New => "new",
                    OppType::Upsell => "upsell",
                }),
            );
            f.float("mrr", *mrr);
            f.date("close_date", *close_date);
            f.date("created", *created);
            f.text("sdr", sdr.as_ref().map(|x| x.as_str()));
            f.text("channel", channel.as_deref());
            f.text("integration", integration.as_deref());
            f.text("lost_reason", lost_reason.as_deref());
            f.text("bant.budget", budget.as_deref());
            f.text("bant.authority", authority.as_deref());
            f.text("bant.need", need.as_deref());
            f.text("bant.timeline", timeline.as_deref());
            f.date("commit.accepted_on", *accepted_on);
            f.date("commit.start_date", *start_date);
            f.date("commit.onboarding_meeting", *onboarding_meeting);
            f.text("commit.plan", plan.as_deref());
            f.text("commit.pricing", pricing.as_deref());
            f.int("commit.users", *users);
            f.text("commit.billing_tool", billing_tool.as_deref());
            f.bool("commit.invoice_scheduled", *invoice_scheduled);
            f.custom(custom);
        }
        AnyRecord::Lead(Lead {
            meta: _,
            name,
            email,
            company,
            domain,
            phone,
            title,
            source,
            channel,
            owner,
            status,
            converted_account,
            converted_contact,
            created,
            custom,
        }) => {
            f.text("name", name.as_deref());
            f.text("email", email.as_deref());
            f.text("company", company.as_deref());
            f.text("domain", domain.as_deref());
            f.text("phone", phone.as_deref());
            f.text("title", title.as_deref());
            f.text("source", source.as_deref());
            f.text("channel", channel.as_deref());
            f.text("owner", owner.as_ref().map(|x| x.as_str()));
            f.text("status", Some(LeadStatus::as_str(*status)));
            f.text(
                "converted_account",
                converted_account.as_ref().map(|x| x.as_str()),
            );
            f.text(
                "converted_contact",
                converted_contact.as_ref().map(|x| x.as_str()),
            );
            f.date("created", *created);
            f.custom(custom);
        }
        AnyRecord::Activity(Activity {
            meta: _,
            kind,
            date,
            account,
            contact,
            opportunity,
            owner,
            subject,
            body,
            duration_min,
            due,
            done,
            capture,
            cancelled,
            custom,
        }) => {
            let CaptureKeys {
                message_id,
                participants,
                direction,
                outcome,
                call_id,
                attachments,
                uid,
                sequence,
                recurrence_id,
            } = &**capture;
            f.text("kind", Some(kind.as_str()));
            let date = match date {
                When::Date(d) => d.to_string(),
                When::Local(dt) => dt.format("%Y-%m-%dT%H:%M:%S").to_string(),
                When::Offset(dt) => dt.to_rfc3339(),
            };
            f.text("date", Some(date.as_str()));
            f.text("account", account.as_ref().map(|x| x.as_str()));
            f.text("contact", contact.as_ref().map(|x| x.as_str()));
            f.text("opportunity", opportunity.as_ref().map(|x| x.as_str()));
            f.text("owner", owner.as_ref().map(|x| x.as_str()));
            f.text("subject", subject.as_deref());
            f.text("body", body.as_deref());
            f.int("duration_min", *duration_min);
            f.date("due", *due);
            f.bool("done", *done);
            f.text("message_id", message_id.as_deref());
            f.list("participants", participants);
            f.text("direction", direction.as_deref());
            f.text("outcome", outcome.as_deref());
            f.text("call_id", call_id.as_deref());
            f.list("attachments", attachments);
            f.text("uid", uid.as_deref());
            f.int("sequence", *sequence);
            f.text("recurrence_id", recurrence_id.as_deref());
            f.bool("cancelled", *cancelled);
            f.custom(custom);
        }
    }
    f.out
}

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
    fn custom(&mut self, custom: &crate::model::Custom) {
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

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }
}
