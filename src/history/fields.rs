//! Reading one version of a record file, as the history does: permissively (the method of
//! the day is ignored) and flattened (`model::flatten`).

use crate::config::{Config, Values};
use crate::model::flatten::{flatten, Fields};
use crate::model::Kind;
use crate::store::parse;

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
    Ok(flatten(&record))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::flatten::Value;

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
