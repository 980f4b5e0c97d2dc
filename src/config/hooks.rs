//! `[hooks.<name>]` in `sloop.toml`: the webhooks `sloop serve` accepts at
//! `POST /hooks/<name>`, what each payload becomes, how its JSON fields map onto the record,
//! and where the hook's secret comes from (an environment variable or a file outside the
//! repository: a secret is never a value in git).

use serde::Serialize;
use toml::de::{DeTable, DeValue};

use crate::diag::{one_of, Code, Diagnostic};
use crate::model::reader::{type_name, Fields, FileReader};

use super::{Member, Values};

/// What a hook's payload becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Creates {
    Lead,
}

/// How a delivery proves it comes from the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    /// `Authorization: Bearer <secret>`.
    Bearer,
    /// The named header holds the HMAC-SHA256 of the body under the secret, in hex, with or
    /// without a `sha256=` prefix (GitHub's `X-Hub-Signature-256: sha256=<hex>`).
    HmacSha256 { header: String },
}

/// Where the secret is read when `sloop serve` starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretOrigin {
    /// An environment variable's name.
    Env(String),
    /// An absolute path, which must lie outside the repository.
    File(String),
}

/// Where one field of the record comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldMap {
    /// The record's field (`email`).
    pub field: String,
    /// The dotted path in the JSON payload (`data.contact.email`); array items by index
    /// (`answers.0.text`).
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hook {
    /// The name in the URL: `POST /hooks/<name>`.
    pub name: String,
    pub creates: Creates,
    pub auth: Auth,
    pub secret: SecretOrigin,
    /// Fields taken from the payload.
    pub fields: Vec<FieldMap>,
    /// Values for fields the payload does not give (after `fields`).
    pub defaults: Vec<(String, String)>,
    /// The acquisition source and channel every record of this hook implies (unless the
    /// payload maps its own).
    pub source: Option<String>,
    pub channel: Option<String>,
    /// The dotted path of the payload's own id: a retried delivery with the same id is a
    /// no-op (as with the `Idempotency-Key` header, which wins).
    pub id_path: Option<String>,
    /// The largest body accepted, in bytes.
    pub max_body: u64,
}

/// The default `max_body`: 64 KiB, ample for a form or a chatbot's lead.
pub const DEFAULT_MAX_BODY: u64 = 64 * 1024;
/// The largest `max_body` allowed: 10 MiB.
pub const MAX_MAX_BODY: u64 = 10 * 1024 * 1024;
/// GitHub's header, the most common `X-…-Signature` form.
pub const DEFAULT_SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// The lead fields a hook can fill.
pub const LEAD_FIELDS: &[&str] = &[
    "name", "email", "company", "domain", "phone", "title", "source", "channel", "owner", "status",
];

const HOOK_KEYS: &[&str] = &[
    "creates",
    "auth",
    "signature_header",
    "secret_env",
    "secret_file",
    "id",
    "max_body",
    "source",
    "channel",
    "fields",
    "defaults",
    "secret",
    "token",
    "password",
];

pub(super) fn read_hooks(
    r: &mut FileReader,
    t: &DeTable,
    values: &Values,
    team: &[Member],
) -> Vec<Hook> {
    let mut hooks = Vec::new();
    let mut f = Fields::new(t, "hooks.", "[hooks]", &[]);
    for (key, value) in f.entries() {
        let name = key.get_ref().to_string();
        if let Err(e) = crate::model::ids::validate(&name) {
            r.error_hint(
                Code::Config,
                key.span(),
                format!("invalid hook name `{name}`: {e}"),
                "a hook's name is its URL, /hooks/<name>: lowercase letters, digits and `-`",
            );
            continue;
        }
        let DeValue::Table(ht) = value.get_ref() else {
            r.error(
                Code::WrongType,
                value.span(),
                format!("`hooks.{name}` must be a table"),
            );
            continue;
        };
        if let Some(hook) = read_hook(r, &name, key.span(), ht, values, team) {
            hooks.push(hook);
        }
    }
    hooks
}

fn span_of(t: &DeTable, key: &str) -> Option<std::ops::Range<usize>> {
    t.iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| v.span())
}

fn read_hook(
    r: &mut FileReader,
    name: &str,
    name_span: std::ops::Range<usize>,
    t: &DeTable,
    values: &Values,
    team: &[Member],
) -> Option<Hook> {
    let before = r.diags.len();
    // A secret written into sloop.toml would be in git for good: refuse it by name.
    for k in ["secret", "token", "password"] {
        if let Some(span) = span_of(t, k) {
            r.error_hint(
                Code::Config,
                span,
                format!("hook `{name}`: a secret is never written in sloop.toml (it is in git)"),
                "name where it is read: `secret_env = \"VARIABLE\"` or `secret_file = \"/etc/sloop/NAME.secret\"`",
            );
        }
    }
    let mut f = Fields::new(t, "", "a hook", HOOK_KEYS);
    for k in ["secret", "token", "password"] {
        // Read (and so not reported again as unknown): the error above says it all.
        let _ = f.str(r, k);
    }
    let creates = match f.one_of(r, "creates", &["lead"]) {
        Some(_) => Some(Creates::Lead),
        None => {
            if !f.has("creates") {
                r.error_hint(
                    Code::Config,
                    name_span.clone(),
                    format!("hook `{name}` has no `creates`"),
                    "add `creates = \"lead\"`",
                );
            }
            None
        }
    };
    let header = f.text(r, "signature_header");
    let auth = match f.one_of(r, "auth", &["bearer", "hmac-sha256"]).as_deref() {
        Some("bearer") => {
            if let Some(span) = header.as_ref().and(span_of(t, "signature_header")) {
                r.error(
                    Code::Config,
                    span,
                    format!("hook `{name}`: `signature_header` is for `auth = \"hmac-sha256\"`"),
                );
            }
            Some(Auth::Bearer)
        }
        Some(_) => {
            let header = header.unwrap_or_else(|| DEFAULT_SIGNATURE_HEADER.to_string());
            let valid = !header.is_empty()
                && header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                if let Some(span) = span_of(t, "signature_header") {
                    r.error(
                        Code::Config,
                        span,
                        format!("hook `{name}`: `signature_header` is not a header name"),
                    );
                }
            }
            Some(Auth::HmacSha256 { header })
        }
        None => {
            if !f.has("auth") {
                r.error_hint(
                    Code::Config,
                    name_span.clone(),
                    format!("hook `{name}` has no `auth`"),
                    "add `auth = \"hmac-sha256\"` (a signature of the body) or `auth = \"bearer\"` (a token)",
                );
            }
            None
        }
    };
    let env = f.text(r, "secret_env");
    let file = f.text(r, "secret_file");
    let secret = match (env, file) {
        (Some(_), Some(_)) => {
            r.error(
                Code::Config,
                span_of(t, "secret_file").unwrap_or(name_span.clone()),
                format!("hook `{name}`: give `secret_env` or `secret_file`, not both"),
            );
            None
        }
        (Some(v), None) => {
            let valid = v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !v.as_bytes()[0].is_ascii_digit();
            if valid {
                Some(SecretOrigin::Env(v))
            } else {
                r.error(
                    Code::Config,
                    span_of(t, "secret_env").unwrap_or(name_span.clone()),
                    format!(
                        "hook `{name}`: `secret_env` names an environment variable: letters, digits and `_`"
                    ),
                );
                None
            }
        }
        (None, Some(p)) => {
            if p.starts_with('/') {
                Some(SecretOrigin::File(p))
            } else {
                r.error_hint(
                    Code::Config,
                    span_of(t, "secret_file").unwrap_or(name_span.clone()),
                    format!("hook `{name}`: `secret_file` must be an absolute path"),
                    "the secret lives outside the repository, e.g. `/etc/sloop/NAME.secret`",
                );
                None
            }
        }
        (None, None) => {
            if !f.has("secret_env") && !f.has("secret_file") {
                r.error_hint(
                    Code::Config,
                    name_span.clone(),
                    format!("hook `{name}` has no secret"),
                    "add `secret_env = \"VARIABLE\"` or `secret_file = \"/etc/sloop/NAME.secret\"`",
                );
            }
            None
        }
    };
    let id_path = f.text(r, "id");
    if let (Some(p), Some(span)) = (&id_path, span_of(t, "id")) {
        check_path(r, name, "id", p, span);
    }
    let max_body = match f.count_up_to(r, "max_body", MAX_MAX_BODY, Code::Config, " bytes") {
        Some(0) => {
            r.error(
                Code::Config,
                span_of(t, "max_body").unwrap_or(name_span.clone()),
                format!("hook `{name}`: `max_body` must be at least 1 byte"),
            );
            DEFAULT_MAX_BODY
        }
        Some(n) => n.min(MAX_MAX_BODY),
        None => DEFAULT_MAX_BODY,
    };
    let source = f.one_of(r, "source", &values.sources);
    let channel = f.one_of(r, "channel", &values.channels);
    let mut fields = Vec::new();
    if let Some(ft) = f.table(r, "fields") {
        for (k, v) in ft.iter() {
            let field = k.get_ref().to_string();
            if !known_field(r, name, "fields", &field, k.span()) {
                continue;
            }
            match v.get_ref() {
                DeValue::String(p) => {
                    if check_path(r, name, &format!("fields.{field}"), p, v.span()) {
                        fields.push(FieldMap {
                            field,
                            path: p.to_string(),
                        });
                    }
                }
                other => r.error_hint(
                    Code::WrongType,
                    v.span(),
                    format!(
                        "`hooks.{name}.fields.{field}` must be a string (a dotted path in the payload), found {}",
                        type_name(other)
                    ),
                    format!("e.g. `{field} = \"data.{field}\"`"),
                ),
            }
        }
    }
    let mut defaults = Vec::new();
    if let Some(dt) = f.table(r, "defaults") {
        for (k, v) in dt.iter() {
            let field = k.get_ref().to_string();
            if !known_field(r, name, "defaults", &field, k.span()) {
                continue;
            }
            match v.get_ref() {
                DeValue::String(s) => {
                    let s = s.to_string();
                    let bad = match field.as_str() {
                        "source" if !values.sources.is_empty() => (!values.sources.contains(&s))
                            .then(|| format!("allowed: {}", one_of(&values.sources))),
                        "channel" if !values.channels.is_empty() => (!values.channels.contains(&s))
                            .then(|| format!("allowed: {}", one_of(&values.channels))),
                        "owner" if team.is_empty() => Some("`[team]` has no members".to_string()),
                        "owner" => (!team.iter().any(|m| m.id.as_str() == s)).then(|| {
                            format!(
                                "allowed: {}",
                                one_of(&team.iter().map(|m| m.id.as_str()).collect::<Vec<_>>())
                            )
                        }),
                        _ => None,
                    };
                    match bad {
                        Some(hint) => r.error_hint(
                            Code::UnknownValue,
                            v.span(),
                            format!("hook `{name}`: unknown {field} `{s}`"),
                            hint,
                        ),
                        None => defaults.push((field, s)),
                    }
                }
                other => r.error(
                    Code::WrongType,
                    v.span(),
                    format!(
                        "`hooks.{name}.defaults.{field}` must be a string, found {}",
                        type_name(other)
                    ),
                ),
            }
        }
    }
    if fields.is_empty() && !f.has("fields") {
        r.error_hint(
            Code::Config,
            name_span.clone(),
            format!("hook `{name}` maps no field of the payload"),
            "add a `[hooks.NAME.fields]` table, e.g. `email = \"data.email\"`",
        );
    }
    f.finish(r);
    if r.diags.len() > before {
        return None;
    }
    Some(Hook {
        name: name.to_string(),
        creates: creates?,
        auth: auth?,
        secret: secret?,
        fields,
        defaults,
        source,
        channel,
        id_path,
        max_body,
    })
}

fn known_field(
    r: &mut FileReader,
    hook: &str,
    table: &str,
    field: &str,
    span: std::ops::Range<usize>,
) -> bool {
    if LEAD_FIELDS.contains(&field) {
        return true;
    }
    let hint = match crate::diag::suggest(field, LEAD_FIELDS.iter().copied()) {
        Some(c) => format!("did you mean `{c}`? lead fields: {}", one_of(LEAD_FIELDS)),
        None => format!("lead fields: {}", one_of(LEAD_FIELDS)),
    };
    r.error_hint(
        Code::Config,
        span,
        format!("hook `{hook}`: `{table}.{field}` is not a lead field"),
        hint,
    );
    false
}

/// A dotted path: non-empty segments of printable characters, no spaces.
fn check_path(
    r: &mut FileReader,
    hook: &str,
    key: &str,
    path: &str,
    span: std::ops::Range<usize>,
) -> bool {
    let ok = !path.is_empty()
        && path
            .split('.')
            .all(|s| !s.is_empty() && s.chars().all(|c| !c.is_whitespace() && !c.is_control()));
    if !ok {
        r.push(
            Diagnostic::new(
                Code::Config,
                r.path,
                r.loc(span),
                format!("hook `{hook}`: `{key}` = `{path}` is not a dotted path"),
            )
            .with_hint("name the JSON field by its keys, e.g. `data.contact.email`"),
        );
    }
    ok
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    /// The messages of `sloop.toml` with `hooks` appended to the default method (whose
    /// hooks are all bad).
    fn problems(hooks: &str) -> Vec<String> {
        let text = format!("{}\n{hooks}", crate::config::DEFAULT_TOML);
        let (config, diags) = Config::parse("sloop.toml", &text);
        assert!(config.hooks.is_empty(), "a bad hook is left out");
        diags
            .iter()
            .map(|d| match &d.hint {
                Some(h) => format!("{}: {} (hint: {h})", d.code.as_str(), d.message),
                None => format!("{}: {}", d.code.as_str(), d.message),
            })
            .collect()
    }

    #[test]
    fn a_good_hook_reads_whole() {
        let text = format!(
            "{}\n[hooks.form]\ncreates = \"lead\"\nauth = \"hmac-sha256\"\nsecret_file = \"/etc/sloop/form.secret\"\nid = \"data.id\"\nmax_body = 2048\nsource = \"inbound\"\nchannel = \"ads\"\n[hooks.form.fields]\nemail = \"data.email\"\n[hooks.form.defaults]\nowner = \"lea\"\n",
            crate::config::DEFAULT_TOML.replace("[values]", "[team.lea]\nname = \"Léa\"\n\n[values]")
        );
        let (config, diags) = Config::parse("sloop.toml", &text);
        assert!(diags.is_empty(), "{diags:?}");
        let h = &config.hooks[0];
        assert_eq!(h.name, "form");
        assert_eq!(
            h.auth,
            super::Auth::HmacSha256 {
                header: "X-Hub-Signature-256".into()
            }
        );
        assert_eq!(
            h.secret,
            super::SecretOrigin::File("/etc/sloop/form.secret".into())
        );
        assert_eq!(h.id_path.as_deref(), Some("data.id"));
        assert_eq!(h.max_body, 2048);
        assert_eq!(
            (h.source.as_deref(), h.channel.as_deref()),
            (Some("inbound"), Some("ads"))
        );
        assert_eq!(h.fields[0].path, "data.email");
        assert_eq!(h.defaults, vec![("owner".to_string(), "lea".to_string())]);
    }

    #[test]
    fn every_bad_hook_table_is_reported_and_the_hook_left_out() {
        assert_eq!(problems("[hooks.form]\n"), vec![
            "config: hook `form` has no `creates` (hint: add `creates = \"lead\"`)",
            "config: hook `form` has no `auth` (hint: add `auth = \"hmac-sha256\"` (a signature of the body) or `auth = \"bearer\"` (a token))",
            "config: hook `form` has no secret (hint: add `secret_env = \"VARIABLE\"` or `secret_file = \"/etc/sloop/NAME.secret\"`)",
            "config: hook `form` maps no field of the payload (hint: add a `[hooks.NAME.fields]` table, e.g. `email = \"data.email\"`)",
        ]);
        let base = "creates = \"lead\"\nauth = \"bearer\"\nsecret_env = \"T\"\n[hooks.x.fields]\nemail = \"e\"\n";
        assert_eq!(
            problems(&format!("[hooks.x]\nsecret = \"hunter2\"\n{base}")),
            vec!["config: hook `x`: a secret is never written in sloop.toml (it is in git) (hint: name where it is read: `secret_env = \"VARIABLE\"` or `secret_file = \"/etc/sloop/NAME.secret\"`)"]
        );
        assert_eq!(
            problems("[hooks.x]\ncreates = \"deal\"\nauth = \"basic\"\nsecret_file = \"form.secret\"\nmax_body = 0\nsource = \"tv\"\n[hooks.x.fields]\nemails = \"e\"\nname = 3\nphone = \"a..b\"\n[hooks.x.defaults]\nowner = \"ghost\"\n"),
            vec![
                "unknown-value: unknown creates `deal` (hint: allowed: `lead`)",
                "unknown-value: unknown auth `basic` (hint: allowed: `bearer` or `hmac-sha256`)",
                "config: hook `x`: `secret_file` must be an absolute path (hint: the secret lives outside the repository, e.g. `/etc/sloop/NAME.secret`)",
                "config: hook `x`: `max_body` must be at least 1 byte",
                "unknown-value: unknown source `tv` (hint: allowed: `outbound`, `inbound`, `referral`, `partnership` or `upsell`)",
                "config: hook `x`: `fields.emails` is not a lead field (hint: did you mean `email`? lead fields: `name`, `email`, `company`, `domain`, `phone`, `title`, `source`, `channel`, `owner` or `status`)",
                "wrong-type: `hooks.x.fields.name` must be a string (a dotted path in the payload), found an integer (hint: e.g. `name = \"data.name\"`)",
                "config: hook `x`: `fields.phone` = `a..b` is not a dotted path (hint: name the JSON field by its keys, e.g. `data.contact.email`)",
                "unknown-value: hook `x`: unknown owner `ghost` (hint: `[team]` has no members)",
            ]
        );
        assert_eq!(
            problems(&format!(
                "[hooks.Bad_Name]\n{}",
                base.replace("hooks.x", "hooks.Bad_Name")
            )),
            vec!["config: invalid hook name `Bad_Name`: `Bad_Name` must start with a lowercase letter or a digit (hint: a hook's name is its URL, /hooks/<name>: lowercase letters, digits and `-`)"]
        );
        assert_eq!(
            problems(&format!(
                "[hooks.x]\nsecret_file = \"/a\"\nsigned = true\n{base}"
            )),
            vec![
                "config: hook `x`: give `secret_env` or `secret_file`, not both",
                "unknown-key: unknown key `signed` in a hook"
            ]
        );
    }
}
