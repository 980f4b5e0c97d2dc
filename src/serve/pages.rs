//! The pages `sloop serve` shows the team, read-only and server-rendered: `/` the dashboard
//! (the template and the context of `sloop report`), `/pipeline` the open deals by stage,
//! `/<kind>/<id>` a record with its fields and its history, `/agenda/<member>` a member's
//! agenda. No JavaScript, no outside request, every record value escaped
//! ([`crate::escape::html`]), the dashboard's Content-Security-Policy on every answer.
//!
//! Everything is computed from HEAD (the committed CRM) as of the server's today, once per
//! HEAD and day: a `View` holds the rendered dashboard and the loaded CRM; the agenda's
//! history facts and each record's timeline are computed on first use and kept with it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;

use super::committer::Clock;
use super::readers::Readers;
use super::workbench::Workbench;
use crate::crm::Crm;
use crate::escape::html;
use crate::git::{CommitInfo, ObjectId, Repo};
use crate::history::{self, Fields};
use crate::lifecycle::{self, agenda, tick, Alert, Facts};
use crate::model::Kind;
use crate::report::metrics::{self, PeriodName};
use crate::store::{classify, PathClass};

/// The dashboard's policy (`templates/dashboard.html` states it in a `<meta>`): nothing
/// loads from anywhere, no script runs, styles are inline and images are `data:` URLs.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// The pages' state: where the CRM is, the day, who may read, and the view of HEAD.
pub struct Pages {
    root: PathBuf,
    templates: Option<PathBuf>,
    clock: Clock,
    readers: Option<Readers>,
    /// The view kept, and the lock a view is built under (so a burst of requests after a
    /// commit builds it once), shared with the committer.
    bench: Arc<Workbench>,
}

/// What HEAD shows on one day.
pub struct View {
    head: ObjectId,
    as_of: NaiveDate,
    dashboard: Result<Bytes, String>,
    crm: Crm,
    /// Each opportunity's stage over time: its age in its stage.
    clock: metrics::Clock,
    agenda: OnceLock<Result<(Facts, Vec<Alert>), String>>,
    timelines: Mutex<HashMap<String, Arc<Result<Timeline, String>>>>,
}

/// A record's file through the history.
struct Timeline {
    /// Its fields at HEAD, all of them (the view's CRM holds only what the metrics read).
    fields: Option<Fields>,
    /// Newest first.
    versions: Vec<Version>,
}

/// One commit in a record's history.
struct Version {
    commit: String,
    date: String,
    author: String,
    subject: String,
    /// `created`, `changed`, `moved`, `deleted`, `unreadable`.
    change: &'static str,
    /// For a move: the path the record's file was at before.
    moved_from: Option<String>,
    /// Field: (old, new), `None` where absent.
    fields: Vec<(String, Option<String>, Option<String>)>,
}

/// The most timelines kept per view.
const TIMELINES: usize = 1024;

/// A file's versions, oldest first: the commit, and the blob after it (`None`: deleted).
type Versions = Vec<(CommitInfo, Option<ObjectId>)>;

/// The most moves a record's history is followed through.
const MOVES: usize = 16;

impl Pages {
    pub fn new(
        root: PathBuf,
        templates: Option<PathBuf>,
        clock: Clock,
        readers: Option<Readers>,
    ) -> Pages {
        Pages {
            root,
            templates,
            clock,
            readers,
            bench: Workbench::new(),
        }
    }

    /// What the pages share with the committer: the lock of the large pieces of work.
    pub fn workbench(&self) -> Arc<Workbench> {
        self.bench.clone()
    }

    /// The view of HEAD today: the kept one while HEAD and the day are the same, else a new
    /// one. Blocking (git, and seconds of work on a large CRM after a commit).
    fn current(&self) -> Result<Arc<View>, Answer> {
        let as_of = (self.clock)().date_naive();
        let head = || -> Result<ObjectId, Answer> {
            let repo = Repo::open(&self.root)
                .map_err(|e| Answer::failed(e.to_string()))?
                .ok_or_else(|| Answer::failed("the CRM is no longer in a git repository"))?;
            repo.head()
                .map_err(|e| Answer::failed(e.to_string()))?
                .ok_or_else(|| Answer {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    title: "Nothing committed yet".into(),
                    body: "<p>The pages show the CRM as committed: commit it first.</p>".into(),
                })
        };
        let fresh = |head: ObjectId| {
            let kept = self.bench.view()?;
            (kept.head == head && kept.as_of == as_of).then_some(kept)
        };
        let id = head()?;
        if let Some(v) = fresh(id) {
            return Ok(v);
        }
        let mut job = self.bench.job();
        let id = head()?;
        if let Some(v) = fresh(id) {
            return Ok(v);
        }
        // The view of an older HEAD and the committer's CRM are let go before the new view
        // is built: no request is answered from the old view any more (each waits for the
        // new one), and the committer loads its CRM again on its next round. Held beside
        // the building, they took the server's peak from some 450 to 631–725 MiB on the
        // benchmark CRM.
        self.bench.make_room(&mut job);
        let view = Arc::new(self.build(id, as_of)?);
        self.bench.set_view(Some(view.clone()));
        Ok(view)
    }

    fn build(&self, head: ObjectId, as_of: NaiveDate) -> Result<View, Answer> {
        let options = crate::history::snapshot::Options {
            as_of,
            cache: true,
            eager_snapshot: false,
        };
        let built = crate::report::context(&self.root, &options, PeriodName::Quarter)
            .map_err(|e| Answer::failed(e.to_string()))?;
        let dashboard = serde_json::to_value(&built.context)
            .map_err(|e| e.to_string())
            .and_then(|value| {
                crate::report::render("dashboard.html", &value, self.templates.as_deref())
                    .map_err(|e| e.to_string())
            })
            .map(Bytes::from);
        let clock = {
            let records = history::by_record(&built.events);
            metrics::Clock::from_history(&built.crm, &records, &built.events)
        };
        Ok(View {
            head,
            as_of,
            dashboard,
            crm: built.crm,
            clock,
            agenda: OnceLock::new(),
            timelines: Mutex::new(HashMap::new()),
        })
    }
}

impl View {
    fn agenda_inputs(
        &self,
        root: &std::path::Path,
        bench: &Workbench,
    ) -> &Result<(Facts, Vec<Alert>), String> {
        self.agenda.get_or_init(|| {
            // The history's facts are a large piece of work: one at a time.
            let _job = bench.job();
            let repo = Repo::open(root)
                .map_err(|e| e.to_string())?
                .ok_or("the CRM is no longer in a git repository")?;
            let mut warnings = Vec::new();
            let facts =
                tick::facts(root, &repo, &self.crm, &mut warnings).map_err(|e| e.to_string())?;
            let alerts = lifecycle::plan(&self.crm, &facts, self.as_of)
                .map_err(|e| e.to_string())?
                .alerts;
            Ok((facts, alerts))
        })
    }

    fn timeline(
        &self,
        root: &std::path::Path,
        bench: &Workbench,
        kind: Kind,
        path: &str,
    ) -> Arc<Result<Timeline, String>> {
        let kept = || {
            self.timelines
                .lock()
                .ok()
                .and_then(|t| t.get(path).cloned())
        };
        if let Some(t) = kept() {
            return t;
        }
        // A walk of the whole history (pack windows mapped up to libgit2's limit): one large
        // piece of work at a time, and once for a burst of requests for the same record.
        let _job = bench.job();
        if let Some(t) = kept() {
            return t;
        }
        let t = Arc::new(timeline(root, self.head, kind, path));
        if let Ok(mut kept) = self.timelines.lock() {
            if kept.len() >= TIMELINES {
                kept.clear();
            }
            kept.insert(path.to_string(), t.clone());
        }
        t
    }
}

/// The commits that touched the record's file, newest first, each with the fields it
/// changed, and its fields at HEAD. The history follows the record into the folder it was
/// moved to (a shard folder): where a commit added its file and deleted the same record's
/// file at another path, the older path's versions come first and that commit is a move.
fn timeline(
    root: &std::path::Path,
    head: ObjectId,
    kind: Kind,
    path: &str,
) -> Result<Timeline, String> {
    let repo = Repo::open(root)
        .map_err(|e| e.to_string())?
        .ok_or("the CRM is no longer in a git repository")?;
    let id = match classify(path) {
        PathClass::Record(_, id) => id.to_string(),
        _ => return Err(format!("{path} is not a record's file")),
    };
    let same = |p: &str| matches!(classify(p), PathClass::Record(k, i) if k == kind && i == id);
    let folder = format!("{}/", kind.folder());
    // Oldest path first: each with its versions, oldest first.
    let mut paths: Vec<(String, Versions)> = Vec::new();
    let (mut at, mut upto) = (path.to_string(), head);
    loop {
        let versions = repo.file_versions(upto, &at).map_err(|e| e.to_string())?;
        let moved = match versions.first() {
            Some((first, Some(_))) if paths.len() < MOVES => repo
                .moved_from(first, &folder, &same)
                .map_err(|e| e.to_string())?
                .zip(first.parent),
            _ => None,
        };
        paths.push((at, versions));
        let Some((from, parent)) = moved else { break };
        (at, upto) = (from, parent);
    }
    paths.reverse();
    let config = history::permissive_config();
    let mut before: Option<Fields> = None;
    let mut out = Vec::new();
    let mut previous: Option<String> = None;
    for (path, versions) in paths {
        // The first version at a path the record was moved to is the move.
        let mut moved_from = previous.replace(path.clone());
        for (info, blob) in versions {
            let mut v = Version {
                commit: info.id.short().to_string(),
                date: info.author_date.date_naive().to_string(),
                author: info.author_name,
                subject: info.summary,
                change: "changed",
                moved_from: moved_from.take(),
                fields: Vec::new(),
            };
            let now = match blob {
                None => {
                    v.change = "deleted";
                    None
                }
                Some(id) => {
                    let bytes = repo.blob(id).map_err(|e| e.to_string())?;
                    match history::parse_fields(kind, &path, &bytes, &config) {
                        Ok(f) => Some(f),
                        Err(why) => {
                            v.change = "unreadable";
                            v.fields.push((String::new(), None, Some(why)));
                            None
                        }
                    }
                }
            };
            if let Some(now) = &now {
                let old = before.as_ref();
                if v.moved_from.is_some() {
                    v.change = "moved";
                } else if old.is_none() {
                    v.change = "created";
                }
                for (k, new) in now.iter() {
                    let was = old.and_then(|o| o.get(k));
                    if was != Some(new) {
                        v.fields.push((
                            k.clone(),
                            was.map(|x| x.to_string()),
                            Some(new.to_string()),
                        ));
                    }
                }
                if let Some(o) = old {
                    for (k, was) in o.iter() {
                        if !now.contains_key(k) {
                            v.fields.push((k.clone(), Some(was.to_string()), None));
                        }
                    }
                }
            }
            if now.is_some() || blob.is_none() || v.change == "unreadable" {
                before = now;
            }
            out.push(v);
        }
    }
    out.reverse();
    Ok(Timeline {
        fields: before,
        versions: out,
    })
}

/// A page to send: its status, title and body (HTML, values already escaped).
pub struct Answer {
    status: StatusCode,
    title: String,
    body: String,
}

impl Answer {
    fn ok(title: impl Into<String>, body: String) -> Answer {
        Answer {
            status: StatusCode::OK,
            title: title.into(),
            body,
        }
    }

    fn not_found(what: &str) -> Answer {
        Answer {
            status: StatusCode::NOT_FOUND,
            title: "Not found".into(),
            body: format!(
                "<p>{}</p><p><a href=\"/\">The dashboard</a> · <a href=\"/pipeline\">the pipeline</a></p>",
                html(what)
            ),
        }
    }

    fn failed(why: impl Into<String>) -> Answer {
        Answer {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "The page cannot be shown".into(),
            body: format!("<p>{}</p>", html(&why.into())),
        }
    }
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px 40px;color:#1d2330}\
nav{display:flex;gap:16px;padding:12px 0;border-bottom:1px solid #dde1e8;margin-bottom:16px}\
a{color:#1f5fbf}table{border-collapse:collapse;margin:8px 0 20px}\
td,th{text-align:left;padding:4px 10px;border-bottom:1px solid #eceff4;vertical-align:top}\
th{font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}\
.board{display:flex;gap:12px;overflow-x:auto;align-items:flex-start}\
.stage{flex:0 0 230px;background:#f4f6f9;border-radius:6px;padding:8px}\
.stage h2{font-size:15px;margin:0 0 8px}.deal{background:#fff;border:1px solid #dde1e8;border-radius:5px;padding:6px 8px;margin-bottom:6px}\
.deal p{margin:2px 0;font-size:13px;color:#4a5262}.muted{color:#6b7280}\
ol.tl{list-style:none;padding:0}ol.tl>li{border-left:3px solid #c9d3e3;padding:2px 0 10px 12px}\
code{font-size:13px}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
<title>{} · sloop</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
<nav><a href=\"/\">Dashboard</a><a href=\"/pipeline\">Pipeline</a></nav>\n<main>\n<h1>{}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        html(title),
        html(title)
    )
}

/// The headers every page carries.
fn secured(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        secured((self.status, page(&self.title, &self.body)).into_response())
    }
}

pub fn router(pages: Arc<Pages>) -> Router {
    let mut r = Router::new()
        .route("/", get(dashboard))
        .route("/pipeline", get(pipeline))
        .route("/agenda/{member}", get(agenda_page));
    for kind in Kind::ALL {
        r = r.route(
            &format!("/{}/{{id}}", kind.folder()),
            get(move |s: State<Arc<Pages>>, p: Path<String>| record(kind, s, p)),
        );
    }
    r.layer(middleware::from_fn_with_state(pages.clone(), readers_only))
        .with_state(pages)
}

/// With readers configured, a page needs one of their credentials: else `401` with a basic
/// challenge (a browser then asks for a user and a password).
async fn readers_only(State(pages): State<Arc<Pages>>, req: Request, next: Next) -> Response {
    if let Some(readers) = &pages.readers {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !readers.admits(given) {
            let mut r = Answer {
                status: StatusCode::UNAUTHORIZED,
                title: "Sign in".into(),
                body: "<p>These pages are for the team's readers: sign in with your user and password, or send the team token (<code>Authorization: Bearer</code>).</p>".into(),
            }
            .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"sloop\", charset=\"UTF-8\""),
            );
            return r;
        }
    }
    next.run(req).await
}

/// Runs `f` on the view of HEAD, off the server's thread.
async fn with_view(
    pages: Arc<Pages>,
    f: impl FnOnce(&Pages, &View) -> Result<Response, Answer> + Send + 'static,
) -> Response {
    let done = tokio::task::spawn_blocking(move || {
        let view = pages.current()?;
        f(&pages, &view)
    })
    .await;
    match done {
        Ok(Ok(r)) => r,
        Ok(Err(a)) => a.into_response(),
        Err(e) => Answer::failed(e.to_string()).into_response(),
    }
}

async fn dashboard(State(pages): State<Arc<Pages>>) -> Response {
    with_view(pages, |_, view| match &view.dashboard {
        Ok(bytes) => Ok(secured(bytes.clone().into_response())),
        Err(why) => Err(Answer::failed(why.clone())),
    })
    .await
}

fn member_name(crm: &Crm, id: Option<&str>) -> String {
    match id {
        None => "<span class=\"muted\">nobody</span>".into(),
        Some(id) => {
            let name = crm.config.member(id).map_or(id, |m| m.name.as_str());
            format!("<a href=\"/agenda/{}\">{}</a>", html(id), html(name))
        }
    }
}

fn account_link(crm: &Crm, id: Option<&str>) -> String {
    match id {
        None => "<span class=\"muted\">no account</span>".into(),
        Some(id) => {
            let name = crm.account(id).map_or(id, |a| a.name.as_str());
            format!("<a href=\"/accounts/{}\">{}</a>", html(id), html(name))
        }
    }
}

fn money(crm: &Crm, n: Option<f64>) -> String {
    match n {
        Some(n) => format!("{} {}", crate::report::money(n), html(&crm.config.currency)),
        None => "—".into(),
    }
}

async fn pipeline(State(pages): State<Arc<Pages>>) -> Response {
    with_view(pages, |_, view| {
        let crm = &view.crm;
        let mut body = format!(
            "<p class=\"muted\">The open deals as committed in <code>{}</code>, on {}.</p>\n<div class=\"board\">\n",
            view.head.short(),
            view.as_of
        );
        for stage in crm.config.stages.iter().filter(|s| s.is_open()) {
            let mut deals: Vec<_> = crm
                .opportunities
                .iter()
                .filter(|o| o.stage == stage.name)
                .collect();
            deals.sort_by(|a, b| {
                b.mrr
                    .unwrap_or(0.0)
                    .total_cmp(&a.mrr.unwrap_or(0.0))
                    .then_with(|| a.meta.id.cmp(&b.meta.id))
            });
            let total: f64 = deals.iter().filter_map(|o| o.mrr).sum();
            let _ = write!(
                body,
                "<section class=\"stage\">\n<h2>{}</h2>\n<p class=\"muted\">{} · {}</p>\n",
                html(&stage.name),
                crate::diag::count(deals.len(), "deal"),
                money(crm, Some(total))
            );
            for o in deals {
                let age = view
                    .clock
                    .stage_since(o)
                    .map(|d| {
                        let days = (view.as_of - d).num_days().max(0);
                        crate::diag::count(days as usize, "day")
                    })
                    .unwrap_or_else(|| "—".into());
                let _ = writeln!(
                    body,
                    "<div class=\"deal\"><a href=\"/opportunities/{}\">{}</a>\
<p>{}</p><p>{} · {}</p><p>{} in stage</p></div>",
                    html(&o.meta.id),
                    html(&o.name),
                    account_link(crm, o.account.as_ref().map(|a| a.as_str())),
                    member_name(crm, o.owner.as_ref().map(|m| m.as_str())),
                    money(crm, o.mrr),
                    age
                );
            }
            body.push_str("</section>\n");
        }
        body.push_str("</div>\n");
        Ok(Answer::ok("Pipeline", body).into_response())
    })
    .await
}

/// The file of the record `id` of `kind`, if the CRM has one.
fn path_of(crm: &Crm, kind: Kind, id: &str) -> Option<String> {
    Some(
        match kind {
            Kind::Account => &crm.account(id)?.meta,
            Kind::Contact => &crm.contact(id)?.meta,
            Kind::Opportunity => &crm.opportunity(id)?.meta,
            Kind::Lead => &crm.lead(id)?.meta,
            Kind::Activity => &crm.activity(id)?.meta,
        }
        .path
        .clone(),
    )
}

/// A field's value, with references as links.
fn value_cell(crm: &Crm, field: &str, value: &str) -> String {
    match field {
        "account" => account_link(crm, Some(value)),
        "owner" | "sdr" => member_name(crm, Some(value)),
        "contact" => format!("<a href=\"/contacts/{}\">{}</a>", html(value), html(value)),
        "opportunity" => format!(
            "<a href=\"/opportunities/{}\">{}</a>",
            html(value),
            html(value)
        ),
        _ => html(value).into_owned(),
    }
}

async fn record(kind: Kind, State(pages): State<Arc<Pages>>, Path(id): Path<String>) -> Response {
    // Only a valid id is looked up, and only among the loaded records: a URL never names
    // a file.
    if crate::model::ids::validate(&id).is_err() {
        return Answer::not_found(&format!("There is no {} with this id.", kind.as_str()))
            .into_response();
    }
    with_view(pages, move |pages, view| {
        let crm = &view.crm;
        let Some(path) = path_of(crm, kind, &id) else {
            return Err(Answer::not_found(&format!(
                "There is no {} `{id}` in the CRM as committed.",
                kind.as_str()
            )));
        };
        let timeline = view.timeline(&pages.root, &pages.bench, kind, &path);
        let timeline = timeline
            .as_ref()
            .as_ref()
            .map_err(|why| Answer::failed(format!("The history cannot be read: {why}")))?;
        let fields = timeline.fields.clone().unwrap_or_default();
        let title = fields
            .get("name")
            .or_else(|| fields.get("subject"))
            .map(|v| v.to_string())
            .unwrap_or_else(|| id.clone());
        let mut body = format!(
            "<p class=\"muted\">{} <code>{}</code> · <code>{}</code></p>\n<table>\n",
            html(kind.as_str()),
            html(&id),
            html(&path)
        );
        for (k, v) in fields.iter() {
            let _ = writeln!(
                body,
                "<tr><th>{}</th><td>{}</td></tr>",
                html(k),
                value_cell(crm, k, &v.to_string())
            );
        }
        body.push_str("</table>\n<h2>History</h2>\n");
        {
            let versions = &timeline.versions;
            {
                body.push_str("<ol class=\"tl\">\n");
                for v in versions {
                    let from = v
                        .moved_from
                        .as_deref()
                        .map(|p| format!(" from <code>{}</code>", html(p)))
                        .unwrap_or_default();
                    let _ = write!(
                        body,
                        "<li><p><strong>{}</strong> · {} · {}{from} <code>{}</code></p><p>{}</p>",
                        html(&v.date),
                        html(&v.author),
                        v.change,
                        html(&v.commit),
                        html(&v.subject)
                    );
                    if !v.fields.is_empty() {
                        body.push_str("<table>");
                        for (k, old, new) in &v.fields {
                            let _ = write!(
                                body,
                                "<tr><th>{}</th><td>{}</td><td>→</td><td>{}</td></tr>",
                                html(k),
                                old.as_deref().map(html).unwrap_or("—".into()),
                                new.as_deref().map(html).unwrap_or("—".into())
                            );
                        }
                        body.push_str("</table>");
                    }
                    body.push_str("</li>\n");
                }
                body.push_str("</ol>\n");
            }
        }
        Ok(Answer::ok(title, body).into_response())
    })
    .await
}

async fn agenda_page(State(pages): State<Arc<Pages>>, Path(member): Path<String>) -> Response {
    if crate::model::ids::validate(&member).is_err() {
        return Answer::not_found("There is no team member with this id.").into_response();
    }
    with_view(pages, move |pages, view| {
        let crm = &view.crm;
        let Some(m) = crm.config.member(&member) else {
            return Err(Answer::not_found(&format!(
                "`{member}` is not a team member in sloop.toml."
            )));
        };
        let (facts, alerts) = view
            .agenda_inputs(&pages.root, &pages.bench)
            .as_ref()
            .map_err(|e| Answer::failed(e.clone()))?;
        let a = agenda::build(crm, facts, alerts.clone(), Some(&member), view.as_of);
        let mut body = format!("<p class=\"muted\">For {}.</p>\n", view.as_of);
        let _ = writeln!(body, "<h2>Open tasks ({})</h2>", a.tasks.len());
        if !a.tasks.is_empty() {
            body.push_str("<table><tr><th>due</th><th>account</th><th>task</th></tr>\n");
            for t in &a.tasks {
                let _ =
                    writeln!(
                    body,
                    "<tr><td>{}{}</td><td>{}</td><td><a href=\"/activities/{}\">{}</a></td></tr>",
                    t.due.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
                    if t.overdue { " <strong>overdue</strong>" } else { "" },
                    account_link(crm, (!t.account.is_empty()).then_some(t.account.as_str())),
                    html(&t.id),
                    html(&t.subject)
                );
            }
            body.push_str("</table>\n");
        }
        let _ = writeln!(body, "<h2>Alerts ({})</h2>", a.alerts.len());
        if !a.alerts.is_empty() {
            body.push_str("<table><tr><th>record</th><th>rule</th><th>why</th></tr>\n");
            for x in &a.alerts {
                let _ = writeln!(
                    body,
                    "<tr><td><a href=\"/{}/{}\">{}/{}</a></td><td>{}</td><td>{}</td></tr>",
                    x.kind.folder(),
                    html(&x.id),
                    x.kind.folder(),
                    html(&x.id),
                    html(&x.rule.to_string()),
                    html(&x.message)
                );
            }
            body.push_str("</table>\n");
        }
        let _ = writeln!(
            body,
            "<h2>Waiting for a first touch ({})</h2>",
            a.first_touch.len()
        );
        if !a.first_touch.is_empty() {
            body.push_str("<table><tr><th>account</th></tr>\n");
            for w in &a.first_touch {
                let _ = writeln!(body, "<tr><td>{}</td></tr>", account_link(crm, Some(&w.id)));
            }
            body.push_str("</table>\n");
        }
        let _ = writeln!(
            body,
            "<h2>Open opportunities without a next step ({})</h2>",
            a.no_next_step.len()
        );
        if !a.no_next_step.is_empty() {
            body.push_str("<table><tr><th>opportunity</th><th>stage</th><th>account</th></tr>\n");
            for o in &a.no_next_step {
                let _ = writeln!(
                    body,
                    "<tr><td><a href=\"/opportunities/{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
                    html(&o.id),
                    html(&o.name),
                    html(&o.stage),
                    account_link(crm, Some(&o.account))
                );
            }
            body.push_str("</table>\n");
        }
        Ok(Answer::ok(format!("Agenda of {}", m.name), body).into_response())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_state_the_dashboards_policy() {
        let template = include_str!("../../templates/dashboard.html");
        assert!(
            template.contains(&format!(
                "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
            )),
            "templates/dashboard.html states another policy than serve::pages::CSP"
        );
    }

    #[test]
    fn a_page_escapes_its_title() {
        let p = page("<b>Acme & \"Co\"</b>", "");
        assert!(p.contains("<h1>&lt;b&gt;Acme &amp; &quot;Co&quot;&lt;/b&gt;</h1>"));
        assert!(!p.contains("<b>Acme"));
        assert!(!p.to_lowercase().contains("<script"));
    }
}
