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
#[serde(rename_all = "kebab-case")]
pub enum Creates {
    /// A new lead.
    Lead,
    /// A new activity on the account (and contact) the payload's `email` or `domain` matches.
    Activity,
    /// A field update on the account the payload's `domain` or `email` matches.
    AccountUpdate,
    /// Inbound mail at `POST /hooks/<name>/email`, ingested like `sloop ingest email`.
    Email,
}

/// How an `email` hook's deliveries are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailFormat {
    /// The RFC 822 message itself (`message/rfc822` or `text/plain`).
    Raw,
    /// Postmark's inbound webhook JSON.
    Postmark,
    /// Mailgun's Routes `forward()` form post: the parsed fields, or `body-mime`.
    Mailgun,
    /// SendGrid's Inbound Parse form post: the parsed fields, or the raw `email`.
    Sendgrid,
}

impl MailFormat {
    pub const NAMES: &'static [&'static str] = &["raw", "postmark", "mailgun", "sendgrid"];

    pub fn as_str(self) -> &'static str {
        match self {
            MailFormat::Raw => "raw",
            MailFormat::Postmark => "postmark",
            MailFormat::Mailgun => "mailgun",
            MailFormat::Sendgrid => "sendgrid",
        }
    }
}

impl Creates {
    pub const NAMES: &'static [&'static str] = &["lead", "activity", "account-update", "email"];

    pub fn as_str(self) -> &'static str {
        match self {
            Creates::Lead => "lead",
            Creates::Activity => "activity",
            Creates::AccountUpdate => "account-update",
            Creates::Email => "email",
        }
    }

    /// The fields a hook of this kind maps, in the record's order. For an activity and an
    /// account update, `email` and `domain` find the account; they are not written.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Creates::Lead => LEAD_FIELDS,
            Creates::Activity => ACTIVITY_FIELDS,
            Creates::AccountUpdate => ACCOUNT_FIELDS,
            Creates::Email => &[],
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Creates::Lead => "a lead field",
            Creates::Activity => "an activity field",
            Creates::AccountUpdate => "an account field a hook can set",
            Creates::Email => "an email hook's",
        }
    }
}

/// How a delivery proves it comes from the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    /// `Authorization: Bearer <secret>`.
    Bearer,
    /// `Authorization: Basic <base64 of user:secret>`, any user: the credentials a mail
    /// service sends from a `https://user:secret@…` webhook address.
    Basic,
    /// The named header holds the HMAC-SHA256 of the body under the secret, in hex, with or
    /// without a `sha256=` prefix (GitHub's `X-Hub-Signature-256: sha256=<hex>`).
    HmacSha256 { header: String },
    /// Mailgun's signature in the form fields: `signature` is the hex HMAC-SHA256 of
    /// `timestamp` followed by `token` under the webhook signing key; a `timestamp` over
    /// [`MAILGUN_MAX_AGE`] seconds from the server's clock is refused.
    Mailgun,
}

/// How far (in seconds, either way) a Mailgun `timestamp` may be from the server's clock.
pub const MAILGUN_MAX_AGE: i64 = 15 * 60;

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
    /// Keys of the record's `[custom]` table taken from the payload (leads and activities).
    pub custom: Vec<FieldMap>,
    /// The acquisition source and channel every record of this hook implies (unless the
    /// payload maps its own).
    pub source: Option<String>,
    pub channel: Option<String>,
    /// The dotted path of the payload's own id: a retried delivery with the same id is a
    /// no-op (as with the `Idempotency-Key` header, which wins).
    pub id_path: Option<String>,
    /// The largest body accepted, in bytes.
    pub max_body: u64,
    /// How an `email` hook's deliveries are written (`raw` for the others).
    pub format: MailFormat,
}

/// `[serve]`: how `sloop serve` protects itself from one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServeSettings {
    /// Requests a second one client (by its address) may make, on average.
    pub rate_limit: u64,
    /// How many it may make at once above the average.
    pub rate_burst: u64,
    /// Seconds a client has to send a request's head (its line and headers).
    pub header_timeout: u64,
    /// Seconds a client has to send a request's whole body.
    pub body_timeout: u64,
    /// Where the pages' readers are listed (`readers_env`, `readers_file`): one a line, a
    /// `user:password` (HTTP basic auth) or a team token (`Authorization: Bearer`).
    pub readers: Option<SecretOrigin>,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            rate_limit: 100,
            rate_burst: 200,
            header_timeout: 10,
            body_timeout: 30,
            readers: None,
        }
    }
}

const SERVE_KEYS: &[&str] = &[
    "serve.rate_limit",
    "serve.rate_burst",
    "serve.header_timeout",
    "serve.body_timeout",
    "serve.readers_env",
    "serve.readers_file",
    "serve.readers",
    "serve.token",
    "serve.password",
    "serve.secret",
];

pub(super) fn read_serve(r: &mut FileReader, t: &DeTable) -> ServeSettings {
    let mut f = Fields::new(t, "serve.", "[serve]", SERVE_KEYS);
    let d = ServeSettings::default();
    let mut at_least_one = |f: &mut Fields, key: &'static str, max: u64, unit: &str| match f
        .count_up_to(r, key, max, Code::Config, unit)
    {
        Some(0) => {
            let span = span_of(t, key.trim_start_matches("serve."));
            r.error(
                Code::Config,
                span.unwrap_or(0..0),
                format!("`{key}` must be at least 1"),
            );
            None
        }
        n => n,
    };
    let rate_limit = at_least_one(&mut f, "serve.rate_limit", 1_000_000, " requests a second");
    let rate_burst = at_least_one(&mut f, "serve.rate_burst", 1_000_000, " requests");
    let header_timeout = at_least_one(&mut f, "serve.header_timeout", 3600, " seconds");
    let body_timeout = at_least_one(&mut f, "serve.body_timeout", 3600, " seconds");
    let readers = super::serve::read_readers(r, t, &mut f);
    f.finish(r);
    ServeSettings {
        rate_limit: rate_limit.unwrap_or(d.rate_limit),
        rate_burst: rate_burst.unwrap_or(d.rate_burst),
        header_timeout: header_timeout.unwrap_or(d.header_timeout),
        body_timeout: body_timeout.unwrap_or(d.body_timeout),
        readers,
    }
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

/// The activity fields a hook can fill (`email` and `domain` find the account and contact).
pub const ACTIVITY_FIELDS: &[&str] = &[
    "email",
    "domain",
    "kind",
    "date",
    "owner",
    "subject",
    "duration_min",
    "body",
];

/// The account fields an `account-update` hook can set (`domain` and `email` find the
/// account): what enrichment and billing tools know. Name, status and owner stay the team's.
pub const ACCOUNT_FIELDS: &[&str] = &[
    "domain",
    "email",
    "fit",
    "industry",
    "employees",
    "revenue",
    "country",
    "source",
    "channel",
    "linkedin",
    "tools",
    "tags",
];

const HOOK_KEYS: &[&str] = &[
    "creates",
    "auth",
    "signature_header",
    "secret_env",
    "secret_file",
    "id",
    "max_body",
    "format",
    "source",
    "channel",
    "fields",
    "defaults",
    "custom",
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
    let creates = match f.one_of(r, "creates", Creates::NAMES).as_deref() {
        Some("activity") => Some(Creates::Activity),
        Some("account-update") => Some(Creates::AccountUpdate),
        Some("email") => Some(Creates::Email),
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
    let auth = match f
        .one_of(r, "auth", &["bearer", "basic", "hmac-sha256", "mailgun"])
        .as_deref()
    {
        Some(scheme @ ("bearer" | "basic" | "mailgun")) => {
            if let Some(span) = header.as_ref().and(span_of(t, "signature_header")) {
                r.error(
                    Code::Config,
                    span,
                    format!("hook `{name}`: `signature_header` is for `auth = \"hmac-sha256\"`"),
                );
            }
            Some(match scheme {
                "basic" => Auth::Basic,
                "mailgun" => Auth::Mailgun,
                _ => Auth::Bearer,
            })
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
    // What the fields are checked against (a lead's until `creates` is known).
    let kind = creates.unwrap_or(Creates::Lead);
    let format = match f.one_of(r, "format", MailFormat::NAMES).as_deref() {
        Some("postmark") => MailFormat::Postmark,
        Some("mailgun") => MailFormat::Mailgun,
        Some("sendgrid") => MailFormat::Sendgrid,
        _ => MailFormat::Raw,
    };
    if let (Some(Auth::Mailgun), false) = (&auth, format == MailFormat::Mailgun) {
        r.error_hint(
            Code::Config,
            span_of(t, "auth").unwrap_or(name_span.clone()),
            format!("hook `{name}`: `auth = \"mailgun\"` is for `format = \"mailgun\"`"),
            "Mailgun signs the fields of its form post; add `creates = \"email\"` and `format = \"mailgun\"`",
        );
    }
    if let (false, Some(span)) = (kind == Creates::Email, span_of(t, "format")) {
        r.error(
            Code::Config,
            span,
            format!("hook `{name}`: `format` is for `creates = \"email\"`"),
        );
    }
    for k in ["source", "channel"] {
        if let (false, Some(span)) = (kind.fields().contains(&k), span_of(t, k)) {
            r.error(
                Code::Config,
                span,
                format!(
                    "hook `{name}`: an activity has no `{k}` (it is for leads and account updates)"
                ),
            );
        }
    }
    let mut fields = Vec::new();
    if let Some(ft) = f.table(r, "fields") {
        for (k, v) in ft.iter() {
            let field = k.get_ref().to_string();
            if !known_field(r, name, kind, "fields", &field, k.span()) {
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
            if !known_field(r, name, kind, "defaults", &field, k.span()) {
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
                        "kind" => {
                            (!crate::model::ActivityKind::NAMES.contains(&s.as_str())).then(|| {
                                format!("allowed: {}", one_of(crate::model::ActivityKind::NAMES))
                            })
                        }
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
    let mut custom = Vec::new();
    if let Some(ct) = f.table(r, "custom") {
        if matches!(kind, Creates::AccountUpdate | Creates::Email) {
            r.error(
                Code::Config,
                span_of(t, "custom").unwrap_or(name_span.clone()),
                format!("hook `{name}`: `custom` is for leads and activities"),
            );
        }
        for (k, v) in ct.iter() {
            let key = k.get_ref().to_string();
            let bare = !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !bare {
                r.error_hint(
                    Code::Config,
                    k.span(),
                    format!("hook `{name}`: `custom.{key}` is not a plain key"),
                    "a `[custom]` key is letters, digits, `_` and `-`",
                );
                continue;
            }
            match v.get_ref() {
                DeValue::String(p) => {
                    if check_path(r, name, &format!("custom.{key}"), p, v.span()) {
                        custom.push(FieldMap {
                            field: key,
                            path: p.to_string(),
                        });
                    }
                }
                other => r.error(
                    Code::WrongType,
                    v.span(),
                    format!(
                        "`hooks.{name}.custom.{key}` must be a string (a dotted path in the payload), found {}",
                        type_name(other)
                    ),
                ),
            }
        }
    }
    if matches!(kind, Creates::Activity | Creates::AccountUpdate)
        && f.has("fields")
        && !fields
            .iter()
            .any(|m| m.field == "email" || m.field == "domain")
    {
        r.error_hint(
            Code::Config,
            span_of(t, "fields").unwrap_or(name_span.clone()),
            format!(
                "hook `{name}` maps neither `email` nor `domain`: an {} finds its account by them",
                if kind == Creates::Activity {
                    "activity"
                } else {
                    "account update"
                }
            ),
            "e.g. `email = \"data.email\"` or `domain = \"company.domain\"`",
        );
    }
    if fields.is_empty() && !f.has("fields") && kind != Creates::Email {
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
        custom,
        source,
        channel,
        id_path,
        max_body,
        format,
    })
}

fn known_field(
    r: &mut FileReader,
    hook: &str,
    kind: Creates,
    table: &str,
    field: &str,
    span: std::ops::Range<usize>,
) -> bool {
    let known = kind.fields();
    if known.contains(&field) {
        return true;
    }
    if known.is_empty() {
        r.error_hint(
            Code::Config,
            span,
            format!("hook `{hook}`: an email hook maps no field (`{table}.{field}`)"),
            format!("the message gives them: remove `[hooks.{hook}.{table}]`"),
        );
        return false;
    }
    let what = match kind {
        Creates::Lead => "lead fields",
        Creates::Activity => "activity fields",
        Creates::AccountUpdate => "account fields",
        Creates::Email => "fields",
    };
    let hint = match crate::diag::suggest(field, known.iter().copied()) {
        Some(c) => format!("did you mean `{c}`? {what}: {}", one_of(known)),
        None => format!("{what}: {}", one_of(known)),
    };
    r.error_hint(
        Code::Config,
        span,
        format!("hook `{hook}`: `{table}.{field}` is not {}", kind.noun()),
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
    fn mailguns_signature_is_for_mailguns_form_posts() {
        assert_eq!(
            problems("[hooks.mail]\ncreates = \"email\"\nformat = \"sendgrid\"\nauth = \"mailgun\"\nsecret_env = \"KEY\"\n"),
            ["config: hook `mail`: `auth = \"mailgun\"` is for `format = \"mailgun\"` (hint: Mailgun signs the fields of its form post; add `creates = \"email\"` and `format = \"mailgun\"`)"]
        );
        let text = format!(
            "{}\n[hooks.mail]\ncreates = \"email\"\nformat = \"mailgun\"\nauth = \"mailgun\"\nsecret_env = \"MAILGUN_KEY\"\n",
            crate::config::DEFAULT_TOML
        );
        let (config, diags) = Config::parse("sloop.toml", &text);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            (config.hooks[0].auth.clone(), config.hooks[0].format),
            (super::Auth::Mailgun, super::MailFormat::Mailgun)
        );
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
            problems("[hooks.x]\ncreates = \"deal\"\nauth = \"digest\"\nsecret_file = \"form.secret\"\nmax_body = 0\nsource = \"tv\"\n[hooks.x.fields]\nemails = \"e\"\nname = 3\nphone = \"a..b\"\n[hooks.x.defaults]\nowner = \"ghost\"\n"),
            vec![
                "unknown-value: unknown creates `deal` (hint: allowed: `lead`, `activity`, `account-update` or `email`)",
                "unknown-value: unknown auth `digest` (hint: allowed: `bearer`, `basic`, `hmac-sha256` or `mailgun`)",
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

    #[test]
    fn activity_and_account_update_hooks_check_their_own_fields() {
        let base = "auth = \"bearer\"\nsecret_env = \"T\"\n";
        assert_eq!(
            problems(&format!(
                "[hooks.w]\ncreates = \"activity\"\nsource = \"inbound\"\n{base}[hooks.w.fields]\nsubject = \"topic\"\nstatus = \"x\"\n[hooks.w.defaults]\nkind = \"webinar\"\n[hooks.w.custom]\n\"a b\" = \"x\"\n"
            )),
            vec![
                "config: hook `w`: an activity has no `source` (it is for leads and account updates)",
                "config: hook `w`: `fields.status` is not an activity field (hint: activity fields: `email`, `domain`, `kind`, `date`, `owner`, `subject`, `duration_min` or `body`)",
                "unknown-value: hook `w`: unknown kind `webinar` (hint: allowed: `email`, `call`, `meeting`, `demo`, `note` or `task`)",
                "config: hook `w`: `custom.a b` is not a plain key (hint: a `[custom]` key is letters, digits, `_` and `-`)",
                "config: hook `w` maps neither `email` nor `domain`: an activity finds its account by them (hint: e.g. `email = \"data.email\"` or `domain = \"company.domain\"`)",
            ]
        );
        assert_eq!(
            problems(&format!(
                "[hooks.e]\ncreates = \"account-update\"\n{base}[hooks.e.fields]\ndomain = \"domain\"\nowner = \"o\"\n[hooks.e.custom]\nx = \"y\"\n"
            )),
            vec![
                "config: hook `e`: `fields.owner` is not an account field a hook can set (hint: account fields: `domain`, `email`, `fit`, `industry`, `employees`, `revenue`, `country`, `source`, `channel`, `linkedin`, `tools` or `tags`)",
                "config: hook `e`: `custom` is for leads and activities",
            ]
        );
    }

    #[test]
    fn the_serve_table_reads_its_limits_and_refuses_bad_ones() {
        let parse = |extra: &str| {
            let text = format!("{}\n{extra}", crate::config::DEFAULT_TOML);
            let (config, diags) = Config::parse("sloop.toml", &text);
            let msgs: Vec<String> = diags.iter().map(|d| d.message.clone()).collect();
            (config.serve, msgs)
        };
        let (serve, msgs) = parse("[serve]\nrate_limit = 20\nbody_timeout = 5\n");
        assert!(msgs.is_empty(), "{msgs:?}");
        assert_eq!(
            serve,
            super::ServeSettings {
                rate_limit: 20,
                rate_burst: 200,
                header_timeout: 10,
                body_timeout: 5,
                readers: None,
            }
        );
        let (serve, msgs) = parse(
            "[serve]\nrate_limit = 0\nrate_burst = -1\nheader_timeout = \"10s\"\nbody_timeout = 7200\nlimit = 1\n",
        );
        assert_eq!(serve, super::ServeSettings::default());
        assert_eq!(
            msgs,
            vec![
                "`serve.rate_limit` must be at least 1",
                "`serve.rate_burst` must be from 0 to 1,000,000 requests",
                "`serve.header_timeout` must be a whole number, found a string",
                "`serve.body_timeout` must be from 0 to 3,600 seconds",
                "unknown key `serve.limit` in [serve]",
            ]
        );
    }

    #[test]
    fn an_email_hook_maps_no_field_and_format_is_its_own() {
        let base = "auth = \"basic\"\nsecret_env = \"T\"\n";
        assert_eq!(
            problems(&format!(
                "[hooks.m]\ncreates = \"email\"\nformat = \"mandrill\"\n{base}[hooks.m.fields]\nemail = \"from\"\n"
            )),
            vec![
                "unknown-value: unknown format `mandrill` (hint: allowed: `raw`, `postmark`, `mailgun` or `sendgrid`)",
                "config: hook `m`: an email hook maps no field (`fields.email`) (hint: the message gives them: remove `[hooks.m.fields]`)",
            ]
        );
        assert_eq!(
            problems(&format!(
                "[hooks.f]\ncreates = \"lead\"\nformat = \"raw\"\n{base}[hooks.f.fields]\nemail = \"e\"\n"
            )),
            vec!["config: hook `f`: `format` is for `creates = \"email\"`"]
        );
        let text = format!(
            "{}\n[hooks.m]\ncreates = \"email\"\nformat = \"postmark\"\n{base}",
            crate::config::DEFAULT_TOML
        );
        let (config, diags) = Config::parse("sloop.toml", &text);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(config.hooks[0].format, super::MailFormat::Postmark);
        assert_eq!(config.hooks[0].auth, super::Auth::Basic);
    }
}
