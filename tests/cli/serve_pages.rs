//! `sloop serve`'s pages end to end: the real binary on a free loopback port, its pages
//! fetched over plain HTTP/1.1 and compared with what the CLI computes; reader
//! authentication; paths that try to leave the CRM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::util::{example, TestEnv};

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// The example CRM, committed in a repository, with `extra` appended to its sloop.toml.
fn crm(extra: &str) -> TestEnv {
    let env = example();
    let mut toml = env.read("crm/sloop.toml");
    toml.push_str(extra);
    env.write("crm/sloop.toml", toml);
    assert_eq!(env.git(&["init", "-q", "-b", "main"]).code, 0);
    env.commit_all("the CRM", "2026-11-01T12:00:00Z");
    env
}

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(env: &TestEnv, bind: &str, vars: &[(&str, &str)]) -> Server {
    let mut c = env.sloop();
    c.args(["-C", "crm", "serve", "--bind", bind])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in vars {
        c.env(k, v);
    }
    let mut child = c.spawn().expect("start sloop serve");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .strip_prefix("sloop serve: listening on http://")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    Server { child, addr }
}

/// An answer: status, headers (names in lower case), body.
struct Got {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A page: 200, HTML with the dashboard's policy and `nosniff`, no script.
    fn page(self) -> String {
        assert_eq!(self.status, 200, "{}", self.body);
        self.assert_secured();
        self.body
    }

    fn assert_secured(&self) {
        assert_eq!(
            self.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(self.header("content-security-policy"), Some(CSP));
        assert_eq!(self.header("x-content-type-options"), Some("nosniff"));
        assert!(
            !self.body.to_lowercase().contains("<script"),
            "{}",
            self.body
        );
        for outside in ["http://", "https://", "//fonts", "src=\"//"] {
            assert!(
                !self.body.contains(&format!("src=\"{outside}"))
                    && !self.body.contains(&format!("href=\"{outside}")),
                "a page links outside: {outside}"
            );
        }
    }
}

impl Server {
    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Got {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
            .collect();
        // Pages are sent whole (a length) or chunked; the tests read bodies of either.
        let body = if text.to_lowercase().contains("transfer-encoding: chunked") {
            dechunk(body)
        } else {
            body.to_string()
        };
        Got {
            status,
            headers,
            body,
        }
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = s.split_once("\r\n").unwrap();
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
}

#[test]
fn the_dashboard_is_sloop_report_and_follows_head() {
    let env = crm("");
    let server = start(&env, "127.0.0.1:0", &[]);
    let report = env.run(&["-C", "crm", "report"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let page = server.get("/", &[]).page();
    assert_eq!(page, report.stdout, "GET / is not `sloop report`'s page");
    assert!(page.contains(">Sales dashboard</h"));
    // Served again from the kept page while HEAD stays.
    assert_eq!(server.get("/", &[]).page(), page);
    // A commit moves HEAD: the next page is the new report.
    let opp = "crm/opportunities/helio-solaire-new.toml";
    let text = env.read(opp).replace("mrr = 1200", "mrr = 7300");
    env.write(opp, text);
    env.commit_all("helio: bigger deal", "2026-11-20T10:00:00Z");
    let report = env.run(&["-C", "crm", "report"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let moved = server.get("/", &[]).page();
    assert_ne!(moved, page);
    assert_eq!(moved, report.stdout);
    assert!(moved.contains("7,300"), "the new figure is not on the page");
    // A change in the work tree that is not committed is not shown.
    let text = env.read(opp).replace("mrr = 7300", "mrr = 9100");
    env.write(opp, text);
    let same = server.get("/", &[]).page();
    assert_eq!(same, moved);
    assert!(!same.contains("9,100"));
}

#[test]
fn the_pipeline_is_a_board_of_the_open_deals_by_stage() {
    let env = crm("");
    let server = start(&env, "127.0.0.1:0", &[]);
    let page = server.get("/pipeline", &[]).page();
    // The open stages, in the configured order; no closed one.
    let mut at = 0;
    for stage in ["identified", "qualified", "trial", "closing", "commit"] {
        let found = page[at..]
            .find(&format!("<h2>{stage}</h2>"))
            .unwrap_or_else(|| panic!("no column {stage} after byte {at}:\n{page}"));
        at += found;
    }
    assert!(!page.contains("<h2>won</h2>") && !page.contains("<h2>lost</h2>"));
    // A deal: its name, account, owner, MRR and age in stage (committed 2026-11-01, today
    // 2026-11-26).
    let commit_col = &page[page.find("<h2>commit</h2>").unwrap()..];
    assert!(commit_col.contains("<a href=\"/opportunities/helio-solaire-new\">"));
    assert!(commit_col.contains("<a href=\"/accounts/helio-solaire\">Hélio Solaire"));
    assert!(commit_col.contains("<a href=\"/agenda/marc\">Marc Delacroix</a> · 1,200 EUR"));
    assert!(commit_col.contains("25 days in stage"), "{commit_col}");
    // A won deal is not on the board.
    assert!(!page.contains("/opportunities/northwind-coffee-new\""));
}

#[test]
fn a_record_page_shows_its_fields_and_its_history() {
    let env = crm("");
    let path = "crm/accounts/helio-solaire.toml";
    let text = env.read(path);
    env.write(path, text.replace("employees = ", "employees = 1"));
    env.commit_all(
        "Helio: they hired\n\nthe body is not the subject",
        "2026-11-10T09:00:00Z",
    );
    let server = start(&env, "127.0.0.1:0", &[]);
    let page = server.get("/accounts/helio-solaire", &[]).page();
    assert!(page.contains("<h1>Hélio Solaire</h1>"), "{page}");
    assert!(page.contains("<tr><th>domain</th><td>"));
    assert!(page.contains("<tr><th>owner</th><td><a href=\"/agenda/marc\">Marc Delacroix</a>"));
    let history = &page[page.find("<h2>History</h2>").unwrap()..];
    // Newest first: the change, then the creation.
    let change = history.find("Helio: they hired").unwrap();
    let created = history.find("the CRM").unwrap();
    assert!(change < created);
    assert!(!history.contains("the body is not the subject"));
    assert!(history.contains("<strong>2026-11-10</strong> · Test Author · changed"));
    assert!(history.contains("<strong>2026-11-01</strong> · Test Author · created"));
    assert!(history.contains("<tr><th>employees</th>"), "{history}");
    // Every kind has its pages.
    for (url, shows) in [
        ("/contacts/claire-dubois", "Claire Dubois"),
        (
            "/opportunities/atelier-lumen-multi-entity",
            "Atelier Lumen — second entity (Bordeaux)",
        ),
        ("/leads/2026-11-12-lyon-cycles", "<h1>"),
        ("/activities/2026-11-12-meeting-mercator", "<h1>"),
    ] {
        let page = server.get(url, &[]).page();
        assert!(page.contains(shows), "{url}: {page}");
        assert!(page.contains("· created <code>"), "{url}: no history");
    }
}

/// A record moved into a shard folder keeps its whole history on its page: the versions at
/// its old path, then the move, then what changed at the new one. Another record deleted by
/// the same commit is not taken for it.
#[test]
fn a_record_page_follows_the_record_into_a_shard_folder() {
    let env = crm("");
    let old = "crm/accounts/helio-solaire.toml";
    let text = env.read(old);
    env.write(old, text.replace("employees = ", "employees = 1"));
    env.commit_all("Helio: they hired", "2026-11-10T09:00:00Z");
    // Sharded by hand: the same bytes at the new path, and another account (with another
    // id) deleted in the same commit.
    let new = "crm/accounts/he/helio-solaire.toml";
    env.write(new, env.read(old));
    std::fs::remove_file(env.path().join(old)).unwrap();
    std::fs::remove_file(env.path().join("crm/accounts/northwind-coffee.toml")).unwrap();
    env.commit_all("Shard the accounts", "2026-11-12T09:00:00Z");
    let text = env.read(new);
    env.write(new, text.replace("employees = 1", "employees = 2"));
    env.commit_all("Helio: hired again", "2026-11-14T09:00:00Z");
    let server = start(&env, "127.0.0.1:0", &[]);
    let page = server.get("/accounts/helio-solaire", &[]).page();
    assert!(
        page.contains("<code>accounts/he/helio-solaire.toml</code>"),
        "{page}"
    );
    let history = &page[page.find("<h2>History</h2>").unwrap()..];
    // Newest first, across both paths.
    let mut at = 0;
    for line in [
        "<strong>2026-11-14</strong> · Test Author · changed <code>",
        "Helio: hired again",
        "<strong>2026-11-12</strong> · Test Author · moved from <code>accounts/helio-solaire.toml</code> <code>",
        "Shard the accounts",
        "<strong>2026-11-10</strong> · Test Author · changed <code>",
        "Helio: they hired",
        "<strong>2026-11-01</strong> · Test Author · created <code>",
    ] {
        let found = history[at..]
            .find(line)
            .unwrap_or_else(|| panic!("no {line:?} after byte {at}:\n{history}"));
        at += found + line.len();
    }
    // The move changed no field (the same bytes): its entry has no field table.
    let moved = &history[history.find("moved from").unwrap()..];
    let moved = &moved[..moved.find("</li>").unwrap()];
    assert!(!moved.contains("<table>"), "{moved}");
    // The deleted account is not part of this history, and its own page is gone.
    assert_eq!(history.matches("· created <code>").count(), 1, "{history}");
    assert_eq!(server.get("/accounts/northwind-coffee", &[]).status, 404);
}

#[test]
fn unknown_records_and_paths_out_of_the_crm_are_404_pages() {
    let env = crm("");
    env.write("secret.txt", "TOP-SECRET-OUTSIDE\n");
    let server = start(&env, "127.0.0.1:0", &[]);
    for url in [
        "/accounts/no-such-account",
        "/accounts/..%2F..%2Fetc%2Fpasswd",
        "/accounts/..%2Fsloop.toml",
        "/accounts/%2e%2e",
        "/accounts/%2E%2E%2F%2E%2E%2Fsecret.txt",
        "/accounts/..%5C..%5Csloop.toml",
        "/accounts/helio-solaire%00",
        "/accounts/Helio-Solaire",
        "/contacts/..",
        "/agenda/nobody",
        "/agenda/..%2F..%2Fetc%2Fpasswd",
    ] {
        let got = server.get(url, &[]);
        assert_eq!(got.status, 404, "{url}: {}", got.body);
        got.assert_secured();
        assert!(
            got.body.contains("<h1>Not found</h1>"),
            "{url}: {}",
            got.body
        );
        for leaked in ["root:", "TOP-SECRET", "currency = "] {
            assert!(!got.body.contains(leaked), "{url} shows {leaked}");
        }
    }
    assert!(server
        .get("/accounts/no-such-account", &[])
        .body
        .contains("There is no account `no-such-account` in the CRM as committed."));
    // Unnormalised paths do not reach a page at all.
    for url in [
        "/accounts/../sloop.toml",
        "/accounts/../../etc/passwd",
        "/accounts/a/b",
        "/accounts\\..\\sloop.toml",
    ] {
        let got = server.get(url, &[]);
        assert_eq!(got.status, 404, "{url}: {}", got.body);
        for leaked in ["root:", "TOP-SECRET", "currency = "] {
            assert!(!got.body.contains(leaked), "{url} shows {leaked}");
        }
    }
}

#[test]
fn record_values_are_escaped_on_every_page() {
    let env = crm("");
    let evil = "<script>alert(1)</script> & \"q\"";
    let path = "crm/accounts/helio-solaire.toml";
    let text = env
        .read(path)
        .replacen("name = \"Hélio Solaire\"", &format!("name = '{evil}'"), 1);
    env.write(path, text);
    env.commit_all("<img src=x onerror=alert(2)>", "2026-11-10T09:00:00Z");
    let server = start(&env, "127.0.0.1:0", &[]);
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;";
    for url in ["/accounts/helio-solaire", "/pipeline"] {
        let page = server.get(url, &[]).page();
        assert!(page.contains(escaped), "{url}: not escaped");
        assert!(!page.contains("<script>alert"), "{url}");
    }
    let record = server.get("/accounts/helio-solaire", &[]).page();
    assert!(record.contains("&lt;img src=x onerror=alert(2)&gt;"));
}

#[test]
fn an_agenda_page_is_sloop_agenda_of_the_member() {
    let env = crm("");
    let server = start(&env, "127.0.0.1:0", &[]);
    let json = env.run(&["-C", "crm", "agenda", "--owner", "marc", "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let agenda: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let page = server.get("/agenda/marc", &[]).page();
    assert!(page.contains("<h1>Agenda of Marc Delacroix</h1>"));
    for (section, key) in [
        ("Open tasks", "tasks"),
        ("Alerts", "alerts"),
        ("Waiting for a first touch", "first_touch"),
        ("Open opportunities without a next step", "no_next_step"),
    ] {
        let items = agenda[key].as_array().unwrap();
        assert!(
            page.contains(&format!("<h2>{section} ({})</h2>", items.len())),
            "{section}: {page}"
        );
        for item in items {
            let id = item["id"].as_str().unwrap();
            assert!(page.contains(&format!("/{id}\"")), "{section}: no {id}");
        }
    }
    assert!(!agenda["tasks"].as_array().unwrap().is_empty());
}

const READERS: &str = "\n[serve]\nreaders_env = \"SLOOP_READERS\"\n";
const READER_LIST: &str = "# the team\nlea:correct horse battery staple\nteam-token-42\n";

fn basic(user_password: &str) -> String {
    format!(
        "Basic {}",
        sloop::serve::base64::encode(user_password.as_bytes())
    )
}

#[test]
fn readers_sign_in_with_a_password_or_the_team_token() {
    assert_eq!(
        basic("Aladdin:open sesame"),
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
    let env = crm(READERS);
    let server = start(&env, "127.0.0.1:0", &[("SLOOP_READERS", READER_LIST)]);
    let password = basic("lea:correct horse battery staple");
    for url in ["/", "/pipeline", "/accounts/helio-solaire", "/agenda/marc"] {
        for wrong in [
            vec![],
            vec![("Authorization", "Bearer team-token-4")],
            vec![("Authorization", "Bearer lea:correct horse battery staple")],
            vec![("Authorization", "Basic bGVhOndyb25n")], // lea:wrong
        ] {
            let got = server.get(url, &wrong);
            assert_eq!(got.status, 401, "{url} {wrong:?}");
            assert_eq!(
                got.header("www-authenticate"),
                Some("Basic realm=\"sloop\", charset=\"UTF-8\"")
            );
            got.assert_secured();
            assert!(!got.body.contains("Hélio"), "{url}: a 401 shows the CRM");
        }
        server
            .get(url, &[("Authorization", password.as_str())])
            .page();
        server
            .get(url, &[("Authorization", "Bearer team-token-42")])
            .page();
    }
    // An unknown record is not told from a known one without credentials.
    assert_eq!(server.get("/accounts/nope", &[]).status, 401);
    // The supervisor's check needs none.
    let health = server.get("/healthz", &[]);
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
}

#[test]
fn hooks_keep_their_own_authentication() {
    let hooks = "\n[hooks.form]\ncreates = \"lead\"\nauth = \"bearer\"\nsecret_env = \"FORM_TOKEN\"\nsource = \"inbound\"\n\n[hooks.form.fields]\nemail = \"email\"\ncompany = \"company\"\nowner = \"owner\"\n";
    let env = crm(&format!("{READERS}{hooks}"));
    let server = start(
        &env,
        "127.0.0.1:0",
        &[
            ("SLOOP_READERS", READER_LIST),
            ("FORM_TOKEN", "form-secret"),
        ],
    );
    let body = r#"{"email":"a@b.example","company":"B","owner":"lea"}"#;
    let post = |auth: &str| {
        let mut s = TcpStream::connect(&server.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "POST /hooks/form HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    // The hook's token, not a reader's, opens the hook; a reader's token does not.
    assert!(post("Bearer form-secret").starts_with("HTTP/1.1 202"));
    assert!(post("Bearer team-token-42").starts_with("HTTP/1.1 401"));
    // And the hook's token is no reader's.
    assert_eq!(
        server
            .get("/", &[("Authorization", "Bearer form-secret")])
            .status,
        401
    );
}

#[test]
fn readers_come_from_a_file_outside_the_repository() {
    let env = crm("");
    let outside = tempfile::tempdir().unwrap();
    let file = outside.path().join("readers");
    std::fs::write(&file, READER_LIST).unwrap();
    let mut toml = env.read("crm/sloop.toml");
    toml.push_str(&format!(
        "\n[serve]\nreaders_file = \"{}\"\n",
        file.display()
    ));
    env.write("crm/sloop.toml", toml);
    env.commit_all("readers", "2026-11-02T12:00:00Z");
    let server = start(&env, "127.0.0.1:0", &[]);
    assert_eq!(server.get("/pipeline", &[]).status, 401);
    server
        .get("/pipeline", &[("Authorization", "Bearer team-token-42")])
        .page();
}

#[test]
fn the_server_refuses_to_start_without_readers_it_needs_or_can_read() {
    let env = crm("");
    let before = env.git(&["status", "--porcelain"]).stdout;
    // Reachable from other machines without readers.
    let r = env.run(&["-C", "crm", "serve", "--bind", "0.0.0.0:0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "error: 0.0.0.0:0 is reachable from other machines, and no reader of the pages is configured\n\
         hint: add `[serve] readers_env = \"SLOOP_READERS\"` (or `readers_file = \"/etc/sloop/readers\"`) to sloop.toml, holding `user:password` or a team token a line; or bind to 127.0.0.1 behind a proxy\n"
    );
    // Readers named but not there, empty, or in the repository.
    let mut toml = env.read("crm/sloop.toml");
    toml.push_str(READERS);
    env.write("crm/sloop.toml", &toml);
    let r = env.run(&["-C", "crm", "serve", "--bind", "0.0.0.0:0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(
            "error: [serve] readers_env: the environment variable SLOOP_READERS is not set\n"
        ),
        "{}",
        r.stderr
    );
    let mut c = env.sloop();
    let out = c
        .args(["-C", "crm", "serve", "--bind", "127.0.0.1:0"])
        .env("SLOOP_READERS", "# nobody yet\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with(
        "error: [serve]: the readers in the environment variable SLOOP_READERS: it lists no reader"
    ));
    env.write("crm/readers.txt", READER_LIST);
    let inside = env.path().join("crm/readers.txt");
    env.write(
        "crm/sloop.toml",
        toml.replace(
            "readers_env = \"SLOOP_READERS\"",
            &format!("readers_file = \"{}\"", inside.display()),
        ),
    );
    let r = env.run(&["-C", "crm", "serve", "--bind", "127.0.0.1:0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("is inside the repository"),
        "{}",
        r.stderr
    );
    // Nothing was written by the refusals but the test's own files.
    env.write(
        "crm/sloop.toml",
        env.git(&["show", "HEAD:crm/sloop.toml"]).stdout,
    );
    std::fs::remove_file(inside).unwrap();
    assert_eq!(env.git(&["status", "--porcelain"]).stdout, before);
    // With readers, a non-loopback address is served.
    let mut toml = env.read("crm/sloop.toml");
    toml.push_str(READERS);
    env.write("crm/sloop.toml", &toml);
    let server = start(&env, "0.0.0.0:0", &[("SLOOP_READERS", READER_LIST)]);
    let port = server.addr.rsplit(':').next().unwrap().to_string();
    let local = Server {
        child: std::process::Command::new("true").spawn().unwrap(),
        addr: format!("127.0.0.1:{port}"),
    };
    assert_eq!(local.get("/", &[]).status, 401);
    local
        .get("/", &[("Authorization", "Bearer team-token-42")])
        .page();
}
