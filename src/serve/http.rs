//! The HTTP side: the routes, each answer's status and JSON body. An event is on disk in the
//! spool before the `202`.

use std::collections::BTreeMap;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use super::auth::{self, AuthError};
use super::committer::{Clock, Signal};
use super::mapping;
use super::spool::{event_id, Event, Spool};
use crate::config::hooks::{Auth, Creates};
use crate::config::Hook;

/// A hook and its secret, read at start.
pub struct Armed {
    pub hook: Hook,
    pub secret: Vec<u8>,
}

pub struct App {
    pub hooks: BTreeMap<String, Armed>,
    pub spool: Arc<Spool>,
    pub wake: Mutex<Sender<Signal>>,
    pub clock: Clock,
    /// How long a client has to send a whole body.
    pub body_timeout: std::time::Duration,
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/hooks/{name}", post(deliver))
        .route("/hooks/{name}/email", post(deliver_mail))
        // Mailgun posts the raw message to a route URL that ends in `mime`.
        .route("/hooks/{name}/mime", post(deliver_mail))
        .route("/hooks/{name}/rejected", get(rejected))
        .fallback(not_found)
        .with_state(app)
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut r = (status, format!("{body}\n")).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    answer(status, json!({ "error": message.into() }))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such page")
}

/// `429`: the client is over `[serve] rate_limit`; `Retry-After` says when to come back.
pub fn too_many(wait: std::time::Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut r = error(
        StatusCode::TOO_MANY_REQUESTS,
        "too many requests from this client (`[serve] rate_limit`)",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    r
}

fn unknown_hook(name: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no hook `{name}` in sloop.toml"),
    )
}

fn unauthorized(armed: &Armed, e: AuthError) -> Response {
    let mut r = error(StatusCode::UNAUTHORIZED, e.to_string());
    let scheme = match armed.hook.auth {
        Auth::Bearer => Some("Bearer"),
        Auth::Basic => Some("Basic realm=\"sloop\""),
        Auth::HmacSha256 { .. } | Auth::Mailgun => None,
    };
    if let Some(s) = scheme {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(s));
    }
    r
}

fn check(armed: &Armed, headers: &HeaderMap, body: &[u8]) -> Result<(), AuthError> {
    auth::verify(
        &armed.hook.auth,
        &armed.secret,
        |name| headers.get(name).and_then(|v| v.to_str().ok()),
        body,
    )
}

/// `POST /hooks/<name>`: 202 with the event's id once it is spooled; 401 for a wrong or
/// missing token or signature, 413 for a body over `max_body`, 400 for a body that is not a
/// JSON object or a bad idempotency key; nothing is spooled but on 202.
async fn deliver(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    accept(app, name, headers, body, false).await
}

/// `POST /hooks/<name>/email`: inbound mail for a `creates = "email"` hook, answered as
/// `POST /hooks/<name>` is; a body that is not mail of the hook's format is a `400`.
async fn deliver_mail(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    accept(app, name, headers, body, true).await
}

async fn accept(
    app: Arc<App>,
    name: String,
    headers: HeaderMap,
    body: Body,
    mail: bool,
) -> Response {
    let Some(armed) = app.hooks.get(&name) else {
        return unknown_hook(&name);
    };
    match (mail, armed.hook.creates == Creates::Email) {
        (true, false) => {
            return error(
                StatusCode::NOT_FOUND,
                format!("hook `{name}` takes no mail (it is not `creates = \"email\"`)"),
            )
        }
        (false, true) => {
            return error(
                StatusCode::NOT_FOUND,
                format!("hook `{name}` takes mail at /hooks/{name}/email"),
            )
        }
        _ => {}
    }
    let max = armed.hook.max_body;
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {max} bytes (`max_body` of hook `{name}`)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return too_large();
    }
    if matches!(armed.hook.auth, Auth::Bearer | Auth::Basic) {
        // A token is checked before the body is read.
        if let Err(e) = check(armed, &headers, b"") {
            return unauthorized(armed, e);
        }
    }
    let bytes = match tokio::time::timeout(
        app.body_timeout,
        axum::body::to_bytes(body, max as usize),
    )
    .await
    {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return too_large(),
        Err(_) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the body did not arrive within {} s (`[serve] body_timeout`)",
                    app.body_timeout.as_secs()
                ),
            )
        }
    };
    // Mailgun signs the form's fields: read first (a `400` if it is no form), then checked.
    let mut signed_token = None;
    if armed.hook.auth == Auth::Mailgun {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let form = match super::mail::form(content_type, &bytes) {
            Ok(f) => f,
            Err(reason) => return error(StatusCode::BAD_REQUEST, reason),
        };
        let field = |name: &str| {
            form.get(name)
                .and_then(|f| std::str::from_utf8(&f.data).ok())
        };
        if let Err(e) = auth::mailgun(&armed.secret, field, (app.clock)().timestamp()) {
            return unauthorized(armed, e);
        }
        signed_token = field("token").map(|t| format!("mailgun:{}", t.trim()));
    } else if let Err(e) = check(armed, &headers, &bytes) {
        return unauthorized(armed, e);
    }
    let payload = if mail {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Err(reason) = super::mail::check(armed.hook.format, content_type, &bytes) {
            return error(StatusCode::BAD_REQUEST, reason);
        }
        super::mail::payload(armed.hook.format, content_type, &bytes)
    } else {
        match mapping::parse_payload(&bytes) {
            Ok(p) => p,
            Err(reason) => return error(StatusCode::BAD_REQUEST, reason),
        }
    };
    let key = match headers.get("idempotency-key") {
        Some(v) => match v.to_str().map(str::trim) {
            Ok(k) if !k.is_empty() && k.len() <= mapping::MAX_KEY => Some(k.to_string()),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "the Idempotency-Key header must be 1 to {} visible ASCII characters",
                        mapping::MAX_KEY
                    ),
                )
            }
        },
        // Mailgun's token is signed and new for each delivery: a replay of a captured one
        // is a no-op.
        None if signed_token.is_some() => signed_token,
        // A service retries a delivery with the same bytes.
        None if mail => Some(format!(
            "sha256:{}",
            <sha2::Sha256 as sha2::Digest>::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )),
        None => match mapping::payload_id(&armed.hook, &payload) {
            Ok(k) => k,
            Err(reason) => return error(StatusCode::BAD_REQUEST, reason),
        },
    };
    let now = (app.clock)();
    let received_nanos =
        i128::from(now.timestamp()) * 1_000_000_000 + i128::from(now.timestamp_subsec_nanos());
    let event = Event {
        id: event_id(&name, key.as_deref(), received_nanos),
        hook: name.clone(),
        received: now.to_rfc3339(),
        key,
        payload,
    };
    let spool = app.spool.clone();
    let id = event.id.clone();
    let accepted = tokio::task::spawn_blocking(move || spool.accept(&event)).await;
    match accepted {
        Ok(Ok(fresh)) => {
            if fresh {
                if let Ok(wake) = app.wake.lock() {
                    let _ = wake.send(Signal::Wake);
                }
            }
            answer(
                StatusCode::ACCEPTED,
                json!({ "id": id, "duplicate": !fresh }),
            )
        }
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot spool the event: {e}"),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot spool the event: {e}"),
        ),
    }
}

/// `GET /hooks/<name>/rejected`: the hook's rejected events and their reasons, to the hook's
/// sender (its token, or the signature of the empty body).
async fn rejected(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(armed) = app.hooks.get(&name) else {
        return unknown_hook(&name);
    };
    let verdict = if armed.hook.auth == Auth::Mailgun {
        // Signed as Mailgun signs: `?timestamp=…&token=…&signature=…`.
        let query: Vec<(String, String)> =
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let field = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        auth::mailgun(&armed.secret, field, (app.clock)().timestamp())
    } else {
        check(armed, &headers, b"")
    };
    if let Err(e) = verdict {
        return unauthorized(armed, e);
    }
    let spool = app.spool.clone();
    match tokio::task::spawn_blocking(move || spool.rejected(&name)).await {
        Ok(Ok(list)) => answer(StatusCode::OK, json!({ "rejected": list })),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read the spool: {e}"),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read the spool: {e}"),
        ),
    }
}
