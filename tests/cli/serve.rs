//! `sloop serve` end to end: the real binary on a free loopback port, spoken to over plain
//! HTTP/1.1 from a `TcpStream`. Every accepted event ends as a commit (or in `rejected/`),
//! every refused one leaves the spool and the repository as they were.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::util::{assert_clean, example, TestEnv};

const TOKEN: &str = "form-token-0123456789";
const SIGNING: &str = "It's a Secret to Everybody";
/// A Mailgun webhook signing key (its shape: `key-` and 32 hex digits).
const MAILGUN_KEY: &str = "key-3ax6xnjp29jd6fds4gc373sgvjxteol1";

const HOOKS: &str = r#"
[hooks.form]
creates = "lead"
auth = "bearer"
secret_env = "FORM_TOKEN"
source = "inbound"
channel = "ads"
max_body = 1024

[hooks.form.fields]
email = "contact.email"
name = "contact.name"
company = "company"
owner = "owner"

[hooks.chatbot]
creates = "lead"
auth = "hmac-sha256"
signature_header = "X-Hub-Signature-256"
secret_env = "CHATBOT_SECRET"
id = "conversation.id"

[hooks.chatbot.fields]
email = "visitor.email"
name = "visitor.name"

[hooks.chatbot.defaults]
source = "inbound"
owner = "lea"

[hooks.chatbot.custom]
page = "visitor.page"
score = "visitor.score"

[hooks.webinar]
creates = "activity"
auth = "bearer"
secret_env = "FORM_TOKEN"
id = "payload.object.participant.participant_uuid"

[hooks.webinar.fields]
email = "payload.object.participant.email"
date = "payload.object.participant.join_time"
subject = "payload.object.topic"
duration_min = "payload.object.duration"

[hooks.webinar.defaults]
kind = "meeting"

[hooks.webinar.custom]
webinar_id = "payload.object.id"

[hooks.mail]
creates = "email"
format = "raw"
auth = "basic"
secret_env = "FORM_TOKEN"
max_body = 1048576

[hooks.postmark]
creates = "email"
format = "postmark"
auth = "basic"
secret_env = "CHATBOT_SECRET"
max_body = 1048576

[hooks.mailgun]
creates = "email"
format = "mailgun"
auth = "mailgun"
secret_env = "MAILGUN_KEY"
max_body = 1048576

[hooks.sendgrid]
creates = "email"
format = "sendgrid"
auth = "basic"
secret_env = "FORM_TOKEN"
max_body = 1048576

[hooks.enrich]
creates = "account-update"
auth = "hmac-sha256"
secret_env = "CHATBOT_SECRET"

[hooks.enrich.fields]
domain = "domain"
industry = "category.industry"
employees = "metrics.employees"
revenue = "metrics.annualRevenue"
country = "geo.countryCode"
tools = "tech"
"#;

/// The example CRM with the hooks, committed in a repository.
fn crm() -> TestEnv {
    crm_with("")
}

/// The same with more of `sloop.toml` (a `[serve]` table).
fn crm_with(extra: &str) -> TestEnv {
    let env = example();
    let mut toml = env.read("crm/sloop.toml");
    toml.push_str(HOOKS);
    toml.push_str(extra);
    env.write("crm/sloop.toml", toml);
    assert_eq!(env.git(&["init", "-q", "-b", "main"]).code, 0);
    env.commit_all("the CRM", "2026-11-01T12:00:00Z");
    env
}

struct Server {
    child: Child,
    addr: String,
    log: PathBuf,
}

fn start(env: &TestEnv) -> Server {
    start_with(env, &[], &[])
}

/// The server with more options (`--push`, `--tick-at`).
fn start_with(env: &TestEnv, extra: &[&str], vars: &[(&str, &str)]) -> Server {
    let log = env.path().join(".git").join(format!(
        "serve-{}.log",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let mut c = env.sloop();
    c.args(["-C", "crm", "serve", "--bind", "127.0.0.1:0"])
        .args(extra)
        .envs(vars.iter().copied())
        .env("FORM_TOKEN", TOKEN)
        .env("CHATBOT_SECRET", SIGNING)
        .env("MAILGUN_KEY", MAILGUN_KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut child = c.spawn().expect("start sloop serve");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .strip_prefix("sloop serve: listening on http://")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| {
            panic!(
                "no address in {first:?}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        })
        .to_string();
    assert_eq!(
        first,
        format!(
            "sloop serve: listening on http://{addr} (hooks: form, chatbot, webinar, mail, postmark, mailgun, sendgrid, enrich)\n"
        )
    );
    Server { child, addr, log }
}

impl Server {
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        request(&self.addr, method, path, headers, body)
    }

    fn post(&self, hook: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
        self.request("POST", &format!("/hooks/{hook}"), headers, body.as_bytes())
    }

    /// Stops it as systemd does (SIGTERM) and returns its log.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        // The shell's own `kill`: no procps needed.
        let status = std::process::Command::new("sh")
            .args(["-c", &format!("kill -TERM {pid}")])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        let log = std::fs::read_to_string(&self.log).unwrap();
        assert!(exit.success(), "{exit:?}\n{log}");
        log
    }

    /// `kill -9`.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection: the status and the body.
fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // A server may answer (413) before it reads the body.
    let _ = s.write_all(body);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// A request whose body is sent in chunks (`Transfer-Encoding: chunked`), with no length.
fn chunked(addr: &str, path: &str, headers: &[(&str, &str)], chunks: &[&[u8]]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    for c in chunks {
        let _ = s.write_all(format!("{:x}\r\n", c.len()).as_bytes());
        let _ = s.write_all(c);
        let _ = s.write_all(b"\r\n");
    }
    let _ = s.write_all(b"0\r\n\r\n");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    (
        head.split(' ').nth(1).unwrap().parse().unwrap(),
        body.to_string(),
    )
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn signature(body: &str) -> String {
    format!(
        "sha256={}",
        sloop::serve::auth::sign(SIGNING.as_bytes(), body.as_bytes()).unwrap()
    )
}

fn head(env: &TestEnv) -> String {
    env.git(&["rev-parse", "HEAD"]).stdout.trim().to_string()
}

/// Waits (at most 20 s) until HEAD is another commit than `from`.
fn next_commit(env: &TestEnv, from: &str) -> String {
    let start = Instant::now();
    loop {
        let now = head(env);
        if now != from {
            return now;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no commit after 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every file in the spool's folder of `hook`/`folder`.
fn spooled(env: &TestEnv, hook: &str, folder: &str) -> Vec<String> {
    let dir = env.path().join(".git/sloop/spool").join(hook).join(folder);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// HEAD, the index and the work tree agree, and `sloop check` is clean.
fn assert_consistent(env: &TestEnv) {
    let status = env.git(&["status", "--porcelain"]);
    assert_eq!(
        status.stdout, "",
        "the work tree or the index differs from HEAD"
    );
    assert!(!env.path().join(".git/index.lock").exists());
    assert_clean(env);
}

fn id_of(answer: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(answer).unwrap();
    v["id"].as_str().unwrap().to_string()
}

fn leads(env: &TestEnv) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(env.path().join("crm/leads"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn serve_commits_a_bearer_hooks_lead_authored_by_the_hook() {
    let env = crm();
    let before = head(&env);
    let server = start(&env);
    assert_eq!(
        server.request("GET", "/healthz", &[], b""),
        (200, "ok\n".to_string())
    );
    let auth = bearer();
    let (status, answer) = server.post(
        "form",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        r#"{"contact": {"email": "Jo.Martin@Acme.example", "name": "Jo Martin"}, "company": "Acme", "owner": "lea"}"#,
    );
    assert_eq!(status, 202, "{answer}");
    let id = id_of(&answer);
    assert_eq!(answer, format!("{{\"duplicate\":false,\"id\":\"{id}\"}}\n"));
    let after = next_commit(&env, &before);
    let log = env.git(&["log", "-1", "--format=%an <%ae>%n%s%n%n%b", &after]);
    let subject = log.stdout.lines().nth(1).unwrap().to_string();
    let batch = subject
        .rsplit("batch ")
        .next()
        .unwrap()
        .trim_end_matches(')');
    assert_eq!(
        log.stdout,
        format!(
            "form (sloop serve) <form@hooks.sloop.invalid>\nsloop serve: 1 lead from hook form (batch {batch})\n\nlead jo-martin (event {id})\n\n"
        )
    );
    assert_eq!(
        env.git(&["rev-parse", &format!("{after}^")]).stdout.trim(),
        before
    );
    assert_eq!(
        env.read("crm/leads/jo-martin.toml"),
        "name = \"Jo Martin\"\nemail = \"jo.martin@acme.example\"\ncompany = \"Acme\"\nsource = \"inbound\"\nchannel = \"ads\"\nowner = \"lea\"\ncreated = 2026-11-26\nstatus = \"new\"\n"
    );
    assert_eq!(spooled(&env, "form", "pending"), Vec::<String>::new());
    assert_eq!(spooled(&env, "form", "done"), vec![id]);
    let log = server.stop();
    assert!(
        log.contains("committed ") && log.contains(": 1 lead from hook form (judged in "),
        "{log}"
    );
    assert_consistent(&env);
}

#[test]
fn a_commit_made_by_hand_between_two_rounds_is_judged_against() {
    // The committer keeps the CRM of its last commit for the next round; a commit someone
    // else made meanwhile must be seen (here: the id the next lead would have taken).
    let env = crm();
    let before = head(&env);
    let server = start(&env);
    let auth = bearer();
    let lead = |email: &str| {
        format!(
            r#"{{"contact": {{"email": "{email}", "name": "Jo Martin"}}, "company": "Acme", "owner": "lea"}}"#
        )
    };
    let (status, answer) = server.post("form", &[("Authorization", &auth)], &lead("jo@a.example"));
    assert_eq!(status, 202, "{answer}");
    next_commit(&env, &before);
    let by_hand = "name = \"Jo Martin\"\nemail = \"jo@b.example\"\nsource = \"outbound\"\nowner = \"marc\"\ncreated = 2026-11-26\nstatus = \"new\"\n";
    env.write("crm/leads/jo-martin-2.toml", by_hand);
    let hand = env.commit_all("by hand: another Jo Martin", "2026-11-26T12:00:00Z");
    let (status, answer) = server.post("form", &[("Authorization", &auth)], &lead("jo@c.example"));
    assert_eq!(status, 202, "{answer}");
    let after = next_commit(&env, &hand);
    assert_eq!(
        env.git(&["show", "--name-only", "--format=", &after])
            .stdout,
        "crm/leads/jo-martin-3.toml\n"
    );
    assert_eq!(env.read("crm/leads/jo-martin-2.toml"), by_hand);
    assert!(env
        .read("crm/leads/jo-martin-3.toml")
        .contains("jo@c.example"));
    let log = server.stop();
    assert!(
        log.contains(": 1 lead from hook form (loaded the CRM and judged in "),
        "the kept CRM is not that of HEAD any more: {log}"
    );
    assert_consistent(&env);
}

#[test]
fn a_page_built_lets_go_of_the_committers_crm_and_the_next_round_loads_it_again() {
    // The committer keeps its CRM from one round to the next; building a page's view lets
    // go of it first (the two held at once took the server over 512 MiB on the benchmark
    // CRM), and so does a commit someone else made. The log says which rounds loaded it.
    let env = crm();
    let server = start(&env);
    let auth = bearer();
    let mut at = head(&env);
    let mut post = |n: usize| {
        let body = format!(
            r#"{{"contact": {{"email": "jo{n}@a.example", "name": "Jo Martin"}}, "company": "Acme", "owner": "lea"}}"#
        );
        let (status, answer) = server.post("form", &[("Authorization", &auth)], &body);
        assert_eq!(status, 202, "{answer}");
        at = next_commit(&env, &at);
    };
    post(1);
    post(2);
    let (status, page) = server.request("GET", "/", &[], b"");
    assert_eq!(status, 200, "{page}");
    post(3);
    post(4);
    let rounds: Vec<String> = server
        .stop()
        .lines()
        .filter(|l| l.starts_with("committed "))
        .map(|l| {
            l.split(" (")
                .nth(1)
                .unwrap()
                .split(" in ")
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        rounds,
        ["judged", "judged", "loaded the CRM and judged", "judged"],
        "the first round judges against the CRM loaded at the start, each next one against its last"
    );
    assert_consistent(&env);
}

#[test]
fn signed_hooks_check_the_signature_of_the_body() {
    let env = crm();
    let before = head(&env);
    let server = start(&env);
    let body = r#"{"conversation": {"id": 4711}, "visitor": {"email": "sam@globex.example", "name": "Sam Li"}}"#;
    // Wrong signatures and missing ones: 401, nothing spooled.
    let other = format!(
        "sha256={}",
        sloop::serve::auth::sign(b"another secret", body.as_bytes()).unwrap()
    );
    let tampered = signature(&body.replace("Sam", "Max"));
    for headers in [
        vec![("X-Hub-Signature-256", other.as_str())],
        vec![("X-Hub-Signature-256", tampered.as_str())],
        vec![("X-Hub-Signature-256", "sha256=not-hex")],
        vec![],
    ] {
        let (status, answer) = server.post("chatbot", &headers, body);
        assert_eq!(status, 401, "{headers:?}: {answer}");
        assert!(answer.starts_with("{\"error\":\""), "{answer}");
    }
    let (_, answer) = server.post("chatbot", &[], body);
    assert_eq!(
        answer,
        "{\"error\":\"missing signature (X-Hub-Signature-256: sha256=<hex of the HMAC-SHA256 of the body>)\"}\n"
    );
    // A bearer hook without its token, and with another hook's.
    let (status, _) = server.post("form", &[("Authorization", "Bearer nope")], "{}");
    assert_eq!(status, 401);
    assert_eq!(spooled(&env, "chatbot", "pending"), Vec::<String>::new());
    assert_eq!(spooled(&env, "form", "pending"), Vec::<String>::new());
    assert_eq!(head(&env), before);
    // The right signature.
    let sig = signature(body);
    let (status, answer) = server.post("chatbot", &[("X-Hub-Signature-256", &sig)], body);
    assert_eq!(status, 202, "{answer}");
    next_commit(&env, &before);
    assert_eq!(
        env.read("crm/leads/sam-li.toml"),
        "name = \"Sam Li\"\nemail = \"sam@globex.example\"\nsource = \"inbound\"\nowner = \"lea\"\ncreated = 2026-11-26\nstatus = \"new\"\n"
    );
    // The payload's own id makes a redelivery a no-op.
    let (status, again) = server.post("chatbot", &[("X-Hub-Signature-256", &sig)], body);
    assert_eq!((status, id_of(&again)), (202, id_of(&answer)));
    assert!(again.contains("\"duplicate\":true"), "{again}");
    server.stop();
    assert_eq!(
        leads(&env)
            .iter()
            .filter(|l| l.starts_with("sam-li"))
            .count(),
        1
    );
    assert_consistent(&env);
}

#[test]
fn bad_deliveries_are_refused_with_their_reason_and_nothing_is_spooled() {
    let env = crm();
    let before = head(&env);
    let server = start(&env);
    let auth = bearer();
    let a = [("Authorization", auth.as_str())];
    let big = format!("{{\"company\": \"{}\"}}", "x".repeat(2000));
    assert_eq!(
        server.post("form", &a, &big),
        (
            413,
            "{\"error\":\"the body is over 1024 bytes (`max_body` of hook `form`)\"}\n".to_string()
        )
    );
    // Without a Content-Length (chunked), the limit holds as the body is read.
    assert_eq!(
        chunked(&server.addr, "/hooks/form", &a, &[big.as_bytes()]),
        (
            413,
            "{\"error\":\"the body is over 1024 bytes (`max_body` of hook `form`)\"}\n".to_string()
        )
    );
    assert_eq!(
        server.post("form", &a, "{\"company\": "),
        (
            400,
            "{\"error\":\"the body is not JSON: EOF while parsing a value at line 1 column 12\"}\n"
                .to_string()
        )
    );
    assert_eq!(
        server.post("form", &a, "[{\"company\": \"Acme\"}]"),
        (
            400,
            "{\"error\":\"the body is JSON but not an object (found an array)\"}\n".to_string()
        )
    );
    assert_eq!(
        server.post("nope", &a, "{}"),
        (
            404,
            "{\"error\":\"no hook `nope` in sloop.toml\"}\n".to_string()
        )
    );
    assert_eq!(server.post("..%2F..%2Fetc", &a, "{}").0, 404);
    assert_eq!(server.request("GET", "/hooks/form", &a, b"").0, 405);
    assert_eq!(
        server.request("GET", "/nothing", &[], b""),
        (404, "{\"error\":\"no such page\"}\n".to_string())
    );
    assert_eq!(spooled(&env, "form", "pending"), Vec::<String>::new());
    let log = server.stop();
    assert_eq!(head(&env), before, "{log}");
    assert_consistent(&env);
}

#[test]
fn retries_and_concurrent_deliveries_of_one_key_make_one_lead() {
    let env = crm();
    let before = head(&env);
    let server = start(&env);
    let auth = bearer();
    let body = r#"{"contact": {"email": "ana@initech.example", "name": "Ana Ruiz"}}"#;
    let addr = server.addr.clone();
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let (addr, auth) = (&addr, &auth);
                s.spawn(move || {
                    request(
                        addr,
                        "POST",
                        "/hooks/form",
                        &[("Authorization", auth), ("Idempotency-Key", "delivery-42")],
                        body.as_bytes(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(status, a)| {
            assert_eq!(*status, 202, "{a}");
            id_of(a)
        })
        .collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert_eq!(
        answers
            .iter()
            .filter(|(_, a)| a.contains("\"duplicate\":false"))
            .count(),
        1,
        "{answers:?}"
    );
    next_commit(&env, &before);
    // A retry after the commit is still a no-op.
    let (status, again) = server.post(
        "form",
        &[("Authorization", &auth), ("Idempotency-Key", "delivery-42")],
        body,
    );
    assert_eq!(status, 202);
    assert!(again.contains("\"duplicate\":true"), "{again}");
    server.stop();
    assert_eq!(
        leads(&env)
            .iter()
            .filter(|l| l.starts_with("ana-ruiz"))
            .count(),
        1,
        "{:?}",
        leads(&env)
    );
    assert_eq!(
        env.git(&["rev-list", "--count", &format!("{before}..HEAD")])
            .stdout,
        "1\n"
    );
    assert_consistent(&env);
}

#[test]
fn an_invalid_payload_is_accepted_then_rejected_with_its_reason() {
    let env = crm();
    let before = head(&env);
    let server = start(&env);
    let auth = bearer();
    let (status, answer) = server.post(
        "form",
        &[("Authorization", &auth)],
        r#"{"contact": {"email": "kim@hooli.example"}, "owner": "nobody"}"#,
    );
    assert_eq!(status, 202);
    let id = id_of(&answer);
    let start = Instant::now();
    while spooled(&env, "form", "rejected").is_empty() {
        assert!(start.elapsed() < Duration::from_secs(20), "not rejected");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Listed for the hook's sender, and only for it.
    assert_eq!(
        server.request("GET", "/hooks/form/rejected", &[], b"").0,
        401
    );
    let (status, list) = server.request(
        "GET",
        "/hooks/form/rejected",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    let rejected = &v["rejected"][0];
    assert_eq!(rejected["id"], id.as_str());
    assert_eq!(rejected["payload"]["owner"], "nobody");
    let reason = rejected["reason"].as_str().unwrap();
    assert!(reason.contains("`nobody`"), "{reason}");
    assert_eq!(spooled(&env, "form", "pending"), Vec::<String>::new());
    server.stop();
    assert_eq!(head(&env), before);
    assert!(!leads(&env).iter().any(|l| l.starts_with("kim")));
    // `sloop agenda` shows it: a line per hook, its count, the newest reason, where to look.
    let received = rejected["received"].as_str().unwrap();
    let agenda = env.run(&["-C", "crm", "agenda", "--all"]);
    assert_eq!(agenda.code, 0, "{}", agenda.stderr);
    assert!(
        agenda.stdout.ends_with(&format!(
            "\nRejected webhook events (1)\n  form: 1 rejected (GET /hooks/form/rejected); newest, {received}: {reason}\n"
        )),
        "{}",
        agenda.stdout
    );
    let json = env.run(&["-C", "crm", "agenda", "--all", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        v["rejected_webhooks"],
        serde_json::json!([{
            "hook": "form",
            "rejected": 1,
            "newest": {"id": id, "received": received, "reason": reason},
            "list": "GET /hooks/form/rejected",
        }])
    );
    assert_consistent(&env);
}

#[test]
fn an_event_accepted_before_kill_9_is_committed_after_a_restart_and_never_twice() {
    use sloop::git::{Repo, WriteLock};
    let env = crm();
    let before = head(&env);
    // Hold sloop's write lock, so the committer cannot commit before the kill.
    let repo = Repo::open(&env.path().join("crm")).unwrap().unwrap();
    let lock = WriteLock::acquire(&repo).unwrap();
    let server = start(&env);
    let auth = bearer();
    let (status, answer) = server.post(
        "form",
        &[("Authorization", &auth)],
        r#"{"contact": {"email": "lee@umbrella.example", "name": "Lee Park"}}"#,
    );
    assert_eq!(status, 202, "{answer}");
    let id = id_of(&answer);
    assert_eq!(spooled(&env, "form", "pending"), vec![format!("{id}.json")]);
    let pending = std::fs::read(
        env.path()
            .join(".git/sloop/spool/form/pending")
            .join(format!("{id}.json")),
    )
    .unwrap();
    server.kill();
    drop(lock);
    assert_eq!(head(&env), before);
    let server = start(&env);
    let after = next_commit(&env, &before);
    server.stop();
    assert!(env
        .git(&["log", "-1", "--format=%b", &after])
        .stdout
        .contains(&format!("lead lee-park (event {id})")));
    assert_eq!(spooled(&env, "form", "pending"), Vec::<String>::new());
    assert_consistent(&env);

    // A crash after the commit and before the spool's bookkeeping: the event is pending
    // again and the batch is recorded, but its commit is on the branch, so a restart marks
    // it done and commits nothing twice.
    let spool = env.path().join(".git/sloop/spool");
    std::fs::write(
        spool.join("form/pending").join(format!("{id}.json")),
        &pending,
    )
    .unwrap();
    std::fs::remove_file(spool.join("form/done").join(&id)).unwrap();
    let subject = env.git(&["log", "-1", "--format=%s"]).stdout;
    let batch = subject
        .trim()
        .rsplit("batch ")
        .next()
        .unwrap()
        .trim_end_matches(')');
    std::fs::write(
        spool.join("batch.json"),
        format!("{{\"id\":\"{batch}\",\"hook\":\"form\",\"events\":[\"{id}\"]}}"),
    )
    .unwrap();
    let server = start(&env);
    let start_wait = Instant::now();
    while spooled(&env, "form", "done").is_empty() {
        assert!(
            start_wait.elapsed() < Duration::from_secs(20),
            "not recovered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = server.stop();
    assert!(
        log.contains(&format!(
            "recovered batch {batch}: its commit is on the branch"
        )),
        "{log}"
    );
    assert_eq!(head(&env), after, "committed twice");
    assert_eq!(spooled(&env, "form", "pending"), Vec::<String>::new());
    assert!(!spool.join("batch.json").exists());
    assert_eq!(
        leads(&env)
            .iter()
            .filter(|l| l.starts_with("lee-park"))
            .count(),
        1
    );
    assert_consistent(&env);
}

#[test]
fn serve_refuses_to_start_without_its_secrets() {
    let env = crm();
    let run = {
        let mut c = env.sloop();
        c.args(["-C", "crm", "serve", "--bind", "127.0.0.1:0"])
            .env("FORM_TOKEN", TOKEN);
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(
        run,
        (
            Some(2),
            "error: hook `chatbot`: the environment variable CHATBOT_SECRET is not set\nhint: set CHATBOT_SECRET to the hook's secret before `sloop serve`\n".to_string()
        )
    );
}

#[test]
fn sloop_check_reports_a_bad_hook_table_and_serve_does_not_start() {
    let env = example();
    let mut toml = env.read("crm/sloop.toml");
    toml.push_str(
        "\n[hooks.form]\ncreates = \"lead\"\nauth = \"bearer\"\nsecret = \"hunter2\"\n\n[hooks.form.fields]\nemail = \"contact.email\"\n",
    );
    env.write("crm/sloop.toml", toml);
    assert_eq!(env.git(&["init", "-q", "-b", "main"]).code, 0);
    let run = env.run(&["-C", "crm", "check"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    crate::util::expect_file("serve/check-bad-hook.txt", &run.stdout);
    let run = env.run(&["-C", "crm", "serve", "--bind", "127.0.0.1:0"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (
            2,
            "",
            "error: sloop.toml has 2 problems: the server does not start on a broken method\nhint: `sloop check` shows them\n"
        )
    );
}

#[test]
fn a_secret_file_inside_the_repository_is_refused() {
    let env = example();
    let inside = env.path().join("crm/form.secret");
    env.write("crm/form.secret", "s3cret\n");
    let mut toml = env.read("crm/sloop.toml");
    toml.push_str(&format!(
        "\n[hooks.form]\ncreates = \"lead\"\nauth = \"bearer\"\nsecret_file = \"{}\"\n\n[hooks.form.fields]\nemail = \"email\"\n",
        inside.display()
    ));
    env.write("crm/sloop.toml", toml);
    assert_eq!(env.git(&["init", "-q", "-b", "main"]).code, 0);
    let run = env.run(&["-C", "crm", "serve", "--bind", "127.0.0.1:0"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr),
        (
            2,
            "",
            format!(
                "error: hook `form`: the secret file {} is inside the repository\nhint: keep secrets out of git: move it, e.g. to /etc/sloop/\n",
                inside.display()
            )
        )
    );
}

#[test]
fn sigterm_right_after_the_address_is_printed_is_a_clean_stop() {
    let env = crm();
    for _ in 0..3 {
        let log = start(&env).stop();
        // The committer may have loaded the CRM before the signal, or not.
        let rest: Vec<&str> = log
            .lines()
            .filter(|l| {
                !(l.starts_with("loaded the CRM at ") && l.ends_with(": the committer is ready"))
            })
            .collect();
        assert_eq!(rest, ["sloop serve: stopped"], "{log}");
    }
}

/// Waits (at most 20 s) until the hook's spool has no pending event.
fn settled(env: &TestEnv, hook: &str) {
    let start = Instant::now();
    while !spooled(env, hook, "pending").is_empty() {
        assert!(start.elapsed() < Duration::from_secs(20), "still pending");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn rejected_reasons(server: &Server, hook: &str, auth: (&str, &str)) -> Vec<String> {
    let (status, list) = server.request("GET", &format!("/hooks/{hook}/rejected"), &[auth], b"");
    assert_eq!(status, 200, "{list}");
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    v["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap().to_string())
        .collect()
}

/// Zoom's `webinar.participant_joined` event, as its webhook posts it.
fn zoom_joined(uuid: &str, email: &str) -> String {
    format!(
        r#"{{"event": "webinar.participant_joined", "event_ts": 1764320700000, "payload": {{"account_id": "AAAAAABBBB", "object": {{"uuid": "4444AAAiAAAAAiAiAiiAii==", "id": "81234567890", "host_id": "z8yCxjabcdEFGHfp8uQ", "topic": "Month-end close without spreadsheets", "type": 5, "start_time": "2026-11-25T16:00:00Z", "timezone": "Europe/Paris", "duration": 45, "participant": {{"user_id": "16778240", "user_name": "Somebody", "id": "iFxeBPYun6SAiWUzBcEkX", "participant_uuid": "{uuid}", "join_time": "2026-11-25T16:02:11Z", "email": "{email}"}}}}}}}}"#
    )
}

#[test]
fn an_activity_hook_records_on_the_account_and_contact_its_email_matches() {
    let env = crm();
    let before = head(&env);
    let server = start(&env);
    let auth = bearer();
    let post = |uuid: &str, email: &str| {
        let (status, answer) = server.post(
            "webinar",
            &[("Authorization", &auth)],
            &zoom_joined(uuid, email),
        );
        assert_eq!(status, 202, "{answer}");
    };
    // A contact's address: its account and the contact.
    post("p-1", "Ben@KestrelAnalytics.io");
    let after = next_commit(&env, &before);
    settled(&env, "webinar");
    // The same contact again, the same day: a new id, not the committed activity's.
    post("p-1b", "ben@kestrelanalytics.io");
    // At a subdomain of an account's domain: the account, no contact (as `ingest email`).
    post("p-2", "ops@eu.brightpathlogistics.com");
    // Free mail and an unknown company: rejected with the address, never guessed.
    post("p-3", "someone@gmail.com");
    post("p-4", "x@unknown-company.example");
    next_commit(&env, &after);
    settled(&env, "webinar");
    let log = server.stop();
    let log_of = env.git(&["log", "--format=%an%n%s", &format!("{before}..HEAD")]);
    assert!(
        log_of
            .stdout
            .contains("webinar (sloop serve)\nsloop serve: 1 activity from hook webinar"),
        "{}",
        log_of.stdout
    );
    assert_eq!(
        env.read("crm/activities/2026/11/2026-11-25-meeting-kestrel-analytics.toml"),
        "kind = \"meeting\"\ndate = 2026-11-25T16:02:11Z\naccount = \"kestrel-analytics\"\ncontact = \"ben-carter\"\nsubject = \"Month-end close without spreadsheets\"\nduration_min = 45\n\n[custom]\nwebinar_id = \"81234567890\"\n"
    );
    let again = env.read("crm/activities/2026/11/2026-11-25-meeting-kestrel-analytics-2.toml");
    assert!(again.contains("contact = \"ben-carter\"\n"), "{again}");
    let second = env.read("crm/activities/2026/11/2026-11-25-meeting-brightpath-logistics.toml");
    assert!(
        second.contains("account = \"brightpath-logistics\"\n"),
        "{second}"
    );
    assert!(!second.contains("contact ="), "{second}");
    let server = start(&env);
    assert_eq!(
        rejected_reasons(&server, "webinar", ("Authorization", &auth)),
        vec![
            "no account matches `someone@gmail.com`: no contact has the email, and no account has the domain or a parent of it",
            "no account matches `x@unknown-company.example`: no contact has the email, and no account has the domain or a parent of it",
        ]
    );
    server.stop();
    assert!(log.contains("rejected event"), "{log}");
    assert_consistent(&env);
}

/// Clearbit's Company enrichment object (the fields this hook maps, as Clearbit nests them).
const CLEARBIT_GRANITE: &str = r#"{"id": "3f5d6a4e-c284-4f78-bfdf-7669b45af907", "name": "Granite HR Partners", "legalName": null, "domain": "granitehr.com", "domainAliases": [], "category": {"sector": "Industrials", "industryGroup": "Commercial & Professional Services", "industry": "Professional Services", "subIndustry": "Human Resource & Employment Services"}, "tags": ["B2B", "Consulting"], "geo": {"city": "Austin", "state": "Texas", "countryCode": "US"}, "metrics": {"employees": 25, "employeesRange": "11-50", "annualRevenue": 3100000, "estimatedAnnualRevenue": "$1M-$10M"}, "tech": ["google_apps", "hubspot"], "linkedin": {"handle": "company/granite-hr"}}"#;

#[test]
fn an_account_update_hook_sets_fields_of_the_account_its_domain_matches() {
    let env = crm();
    let before = head(&env);
    let server = start(&env);
    let sign = |body: &str| {
        let sig = signature(body);
        let (status, answer) = server.post("enrich", &[("X-Hub-Signature-256", &sig)], body);
        assert_eq!(status, 202, "{answer}");
    };
    sign(CLEARBIT_GRANITE);
    let after = next_commit(&env, &before);
    settled(&env, "enrich");
    // An unknown company, and a value `sloop set` refuses: rejected, the account untouched.
    sign(&CLEARBIT_GRANITE.replace("granitehr.com", "granite-hr.example"));
    sign(&CLEARBIT_GRANITE.replace("\"employees\": 25", "\"employees\": -3"));
    settled(&env, "enrich");
    let reasons = rejected_reasons(&server, "enrich", ("X-Hub-Signature-256", &signature("")));
    server.stop();
    assert_eq!(head(&env), after, "a rejected update commits nothing");
    let log = env.git(&["log", "-1", "--format=%an%n%s%n%n%b", &after]);
    assert!(
        log.stdout.starts_with(
            "enrich (sloop serve)\nsloop serve: 1 account update from hook enrich (batch "
        ),
        "{}",
        log.stdout
    );
    assert!(
        log.stdout.contains("\naccount granite-hr (event "),
        "{}",
        log.stdout
    );
    assert_eq!(
        env.read("crm/accounts/granite-hr.toml"),
        "name = \"Granite HR Partners\"\nstatus = \"backlog\"\nowner = \"sofia\"\nbacklog_until = 2027-02-24\ndomain = \"granitehr.com\"\nfit = \"low\"\nindustry = \"Professional Services\"\nemployees = 25\ncountry = \"US\"\nsource = \"outbound\"\ntools = [\"google_apps\", \"hubspot\"]\nrevenue = 3100000\n"
    );
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(
        reasons[0],
        "no account matches `granite-hr.example`: no contact has the email, and no account has the domain or a parent of it"
    );
    assert!(reasons[1].contains("employees"), "{reasons:?}");
    assert_consistent(&env);
}

#[test]
fn custom_paths_fill_the_records_custom_table() {
    let env = crm();
    let before = head(&env);
    let server = start(&env);
    let body = r#"{"conversation": {"id": "c-77"}, "visitor": {"email": "nina@globex.example", "name": "Nina Park", "page": "/pricing", "score": 87}}"#;
    let sig = signature(body);
    let (status, answer) = server.post("chatbot", &[("X-Hub-Signature-256", &sig)], body);
    assert_eq!(status, 202, "{answer}");
    next_commit(&env, &before);
    server.stop();
    assert_eq!(
        env.read("crm/leads/nina-park.toml"),
        "name = \"Nina Park\"\nemail = \"nina@globex.example\"\nsource = \"inbound\"\nowner = \"lea\"\ncreated = 2026-11-26\nstatus = \"new\"\n\n[custom]\npage = \"/pricing\"\nscore = 87\n"
    );
    assert_consistent(&env);
}

/// A whole raw response (head and body) to `bytes` sent on a new connection.
fn raw(addr: &str, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(bytes).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

fn delivery(key: &str, extra_header: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /hooks/form HTTP/1.1\r\nHost: crm\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\nIdempotency-Key: {key}\r\n{extra_header}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn a_flooding_client_gets_429_with_retry_after_and_nothing_of_it_is_spooled() {
    let env = crm_with("\n[serve]\nrate_limit = 1\nrate_burst = 3\n");
    let before = head(&env);
    let server = start(&env);
    let body = r#"{"company": "Flood Inc"}"#;
    let mut answers = Vec::new();
    for i in 0..10 {
        let a = raw(&server.addr, &delivery(&format!("flood-{i}"), "", body));
        let limited = a.starts_with("HTTP/1.1 429");
        answers.push(a);
        if limited {
            break;
        }
    }
    let accepted = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.1 202"))
        .count();
    // The burst, then (within the second that refills one) a refusal.
    assert!(accepted >= 3, "{answers:#?}");
    let refused = answers.last().unwrap();
    assert!(
        refused.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
        "{answers:#?}"
    );
    let lower = refused.to_ascii_lowercase();
    assert!(lower.contains("\r\nretry-after: 1\r\n"), "{refused}");
    assert!(
        refused.ends_with(
            "\r\n\r\n{\"error\":\"too many requests from this client (`[serve] rate_limit`)\"}\n"
        ),
        "{refused}"
    );
    // Another client (behind the same loopback proxy) is not held back.
    let other = raw(
        &server.addr,
        &delivery("other-client", "X-Forwarded-For: 203.0.113.9\r\n", body),
    );
    assert!(other.starts_with("HTTP/1.1 202"), "{other}");
    // A second later the client may deliver again.
    std::thread::sleep(Duration::from_millis(1100));
    let again = raw(&server.addr, &delivery("after-a-second", "", body));
    assert!(again.starts_with("HTTP/1.1 202"), "{again}");
    next_commit(&env, &before);
    settled(&env, "form");
    server.stop();
    // What was accepted is committed; what was refused left nothing.
    let done = spooled(&env, "form", "done").len() + spooled(&env, "form", "pending").len();
    assert_eq!(done, accepted + 2);
    let flood = leads(&env)
        .iter()
        .filter(|l| l.starts_with("flood-inc"))
        .count();
    assert_eq!(flood, accepted + 2);
    assert_consistent(&env);
}

#[test]
fn a_stalled_client_is_cut_off_while_others_are_served() {
    let env = crm_with("\n[serve]\nheader_timeout = 1\nbody_timeout = 2\n");
    let before = head(&env);
    let server = start(&env);
    // Half a body, then nothing.
    let body = r#"{"company": "Stalled Ltd", "owner": "lea"}"#;
    let mut half_body = TcpStream::connect(&server.addr).unwrap();
    let full = delivery("stalled", "", body);
    half_body.write_all(&full[..full.len() - 20]).unwrap();
    // Half a head, then nothing.
    let mut half_head = TcpStream::connect(&server.addr).unwrap();
    half_head
        .write_all(b"POST /hooks/form HTTP/1.1\r\nHost: crm\r\nContent-Le")
        .unwrap();
    let started = Instant::now();
    // Meanwhile another client is served at once.
    let (status, answer) = server.post(
        "form",
        &[("Authorization", &bearer())],
        r#"{"company": "Prompt SA"}"#,
    );
    assert_eq!(status, 202, "{answer}");
    assert!(started.elapsed() < Duration::from_secs(1));
    // The stalled body is refused once its time is up.
    half_body
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = Vec::new();
    let _ = half_body.read_to_end(&mut buf);
    let answer = String::from_utf8_lossy(&buf);
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n")
            && answer.ends_with(
                "{\"error\":\"the body did not arrive within 2 s (`[serve] body_timeout`)\"}\n"
            ),
        "{answer}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(15),
        "{waited:?}"
    );
    // The stalled head's connection was closed (after a second), with no answer to it.
    half_head
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = Vec::new();
    let closed = half_head.read_to_end(&mut buf);
    assert!(closed.is_ok(), "{closed:?}");
    let answer = String::from_utf8_lossy(&buf);
    assert!(!answer.contains(" 202 "), "{answer}");
    next_commit(&env, &before);
    settled(&env, "form");
    server.stop();
    assert_eq!(spooled(&env, "form", "done").len(), 1);
    assert!(leads(&env).iter().any(|l| l.starts_with("prompt-sa")));
    assert!(!leads(&env).iter().any(|l| l.starts_with("stalled")));
    assert_consistent(&env);
}

fn inbound(rel: &str) -> Vec<u8> {
    std::fs::read(
        crate::util::repo_root()
            .join("tests/fixtures/inbound")
            .join(rel),
    )
    .unwrap()
}

/// `Authorization: Basic` for `user:secret`, as a mail service sends the credentials of a
/// `https://user:secret@…` webhook address.
fn basic(secret: &str) -> String {
    format!(
        "Basic {}",
        sloop::serve::base64::encode(format!("inbound:{secret}").as_bytes())
    )
}

/// Every activity file under crm/activities/ (path, text).
fn activities(env: &TestEnv) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let root = env.path().join("crm");
    let mut stack = vec![root.join("activities")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The activity files of `env` that are not in `before`.
fn added_activities(env: &TestEnv, before: &[(String, String)]) -> Vec<(String, String)> {
    activities(env)
        .into_iter()
        .filter(|a| !before.contains(a))
        .collect()
}

#[test]
fn raw_mail_is_ingested_exactly_like_sloop_ingest_email() {
    // What `sloop ingest email` makes of the message.
    let reference = crm();
    let before: Vec<_> = activities(&reference);
    let run = reference.run(&[
        "-C",
        "crm",
        "ingest",
        "email",
        &crate::util::repo_root()
            .join("tests/fixtures/inbound/email/03-apple-mail-reply.eml")
            .to_string_lossy(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected: Vec<_> = added_activities(&reference, &before);
    assert_eq!(expected.len(), 1, "{expected:?}");

    let env = crm();
    let head0 = head(&env);
    let server = start(&env);
    let auth = basic(TOKEN);
    let post = |ct: &str, body: &[u8]| {
        server.request(
            "POST",
            "/hooks/mail/email",
            &[("Authorization", &auth), ("Content-Type", ct)],
            body,
        )
    };
    let message = inbound("email/03-apple-mail-reply.eml");
    let (status, answer) = post("message/rfc822", &message);
    assert_eq!(status, 202, "{answer}");
    let after = next_commit(&env, &head0);
    settled(&env, "mail");
    // The same bytes again (a retried delivery): a no-op.
    let (status, again) = post("message/rfc822", &message);
    assert_eq!((status, id_of(&again)), (202, id_of(&answer)));
    assert!(again.contains("\"duplicate\":true"), "{again}");
    // An auto-reply is skipped as `ingest email` skips it: done, nothing recorded.
    let (status, _) = post("text/plain", &inbound("email/14-ooo-sieve-vacation.eml"));
    assert_eq!(status, 202);
    // A message no one in the CRM is part of: rejected with its addresses.
    let stranger = b"From: Someone <someone@stranger.example>\r\nTo: lea.fournier@tidewater.io\r\nSubject: Hello\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\nMessage-ID: <x1@stranger.example>\r\n\r\nHi\r\n";
    let (status, _) = post("message/rfc822", stranger);
    assert_eq!(status, 202);
    // Not mail: refused before the spool.
    let (status, refused) = post("application/json", b"{\"a\": 1}");
    assert_eq!(
        (status, refused.as_str()),
        (
            400,
            "{\"error\":\"a raw message is sent as message/rfc822 or text/plain, not application/json\"}\n"
        )
    );
    let (status, _) = server.request(
        "POST",
        "/hooks/mail/email",
        &[("Authorization", "Basic aW5ib3VuZDp3cm9uZw==")],
        &message,
    );
    assert_eq!(status, 401);
    // A mail hook takes mail at /email only, and a JSON hook takes no mail.
    assert_eq!(
        post("message/rfc822", &message).0,
        202,
        "the same message again is still a duplicate"
    );
    assert_eq!(
        server.request("POST", "/hooks/mail", &[("Authorization", &auth)], &message),
        (
            404,
            "{\"error\":\"hook `mail` takes mail at /hooks/mail/email\"}\n".to_string()
        )
    );
    assert_eq!(
        server
            .request(
                "POST",
                "/hooks/form/email",
                &[("Authorization", &bearer())],
                &message
            )
            .0,
        404
    );
    let start_wait = Instant::now();
    while spooled(&env, "mail", "rejected").is_empty()
        || !spooled(&env, "mail", "pending").is_empty()
    {
        assert!(
            start_wait.elapsed() < Duration::from_secs(20),
            "not settled"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let reasons = rejected_reasons(&server, "mail", ("Authorization", &auth));
    let log = server.stop();
    assert_eq!(
        head(&env),
        after,
        "the skip and the rejection commit nothing"
    );
    let got: Vec<_> = added_activities(&env, &before);
    assert_eq!(got, expected);
    assert_eq!(
        reasons,
        vec!["no participant of the message is a contact, and no address is at an account's domain (someone@stranger.example, lea.fournier@tidewater.io)"]
    );
    assert!(log.contains("not a touchpoint"), "{log}");
    let subject = env.git(&["log", "-1", "--format=%an%n%s", &after]).stdout;
    assert!(
        subject.starts_with("mail (sloop serve)\nsloop serve: 1 activity from hook mail (batch "),
        "{subject}"
    );
    assert_consistent(&env);
}

/// Postmark's inbound webhook JSON for a reply (the fields and nesting of Postmark's
/// documented example: FromFull, ToFull, CcFull, Headers as Name/Value pairs, Attachments).
const POSTMARK_REPLY: &str = r#"{
  "FromName": "Claire Dubois",
  "MessageStream": "inbound",
  "From": "claire@atelier-lumen.fr",
  "FromFull": {"Email": "claire@atelier-lumen.fr", "Name": "Claire Dubois", "MailboxHash": ""},
  "To": "\"Marc Delacroix\" <marc.delacroix@tidewater.io>",
  "ToFull": [{"Email": "marc.delacroix@tidewater.io", "Name": "Marc Delacroix", "MailboxHash": ""}],
  "Cc": "",
  "CcFull": [],
  "Bcc": "451d9b70cf9364d23ff6f9d51d870251@inbound.postmarkapp.com",
  "BccFull": [{"Email": "451d9b70cf9364d23ff6f9d51d870251@inbound.postmarkapp.com", "Name": "", "MailboxHash": ""}],
  "OriginalRecipient": "451d9b70cf9364d23ff6f9d51d870251@inbound.postmarkapp.com",
  "Subject": "Re: Proposal for the studio",
  "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
  "ReplyTo": "",
  "MailboxHash": "",
  "Date": "Wed, 25 Nov 2026 09:14:02 +0100",
  "TextBody": "Hi Marc,\n\nThe proposal looks good; we can sign next week.\n\nClaire\n\nOn Tue, 24 Nov 2026 at 18:00, Marc Delacroix <marc.delacroix@tidewater.io> wrote:\n> Here is the proposal.\n",
  "HtmlBody": "<p>Hi Marc,</p><p>The proposal looks good; we can sign next week.</p><p>Claire</p>",
  "StrippedTextReply": "Hi Marc,\n\nThe proposal looks good; we can sign next week.\n\nClaire",
  "Tag": "",
  "Headers": [
    {"Name": "X-Spam-Checker-Version", "Value": "SpamAssassin 3.3.1 (2010-03-16) onrs-ord-pm-inbound1.wildbit.com"},
    {"Name": "X-Spam-Status", "Value": "No"},
    {"Name": "X-Spam-Score", "Value": "-0.1"},
    {"Name": "X-Spam-Tests", "Value": "DKIM_SIGNED,DKIM_VALID,DKIM_VALID_AU,SPF_PASS"},
    {"Name": "Received-SPF", "Value": "Pass (sender SPF authorized) identity=mailfrom; client-ip=209.85.160.180"},
    {"Name": "MIME-Version", "Value": "1.0"},
    {"Name": "Message-ID", "Value": "<CAGXpo2WKfxHWZ5UFYCR3H_J9SNMG+5AXUovfEFL6DjWBJSyZaA@mail.gmail.com>"}
  ],
  "Attachments": [
    {"Name": "proposal-signed.pdf", "Content": "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg==", "ContentType": "application/pdf", "ContentLength": 52}
  ]
}"#;

#[test]
fn postmark_inbound_json_is_ingested_like_the_message_it_describes() {
    let env = crm();
    let before = head(&env);
    let server = start(&env);
    let auth = basic(SIGNING);
    let (status, answer) = server.request(
        "POST",
        "/hooks/postmark/email",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        POSTMARK_REPLY.as_bytes(),
    );
    assert_eq!(status, 202, "{answer}");
    // Postmark retries a delivery it got no 200 for with the same body: a no-op.
    let (_, again) = server.request(
        "POST",
        "/hooks/postmark/email",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        POSTMARK_REPLY.as_bytes(),
    );
    assert!(again.contains("\"duplicate\":true"), "{again}");
    let (status, refused) = server.request(
        "POST",
        "/hooks/postmark/email",
        &[("Authorization", &auth)],
        b"{\"Subject\": \"no sender\"}",
    );
    assert_eq!(
        (status, refused.as_str()),
        (
            400,
            "{\"error\":\"the body is not Postmark's inbound JSON (it has no `From`)\"}\n"
        )
    );
    next_commit(&env, &before);
    settled(&env, "postmark");
    server.stop();
    assert_eq!(
        env.read("crm/activities/2026/11/2026-11-25-email-atelier-lumen.toml"),
        "kind = \"email\"\ndate = 2026-11-25\naccount = \"atelier-lumen\"\ncontact = \"claire-dubois\"\nowner = \"marc\"\nsubject = \"Re: Proposal for the studio\"\ndirection = \"inbound\"\nmessage_id = \"CAGXpo2WKfxHWZ5UFYCR3H_J9SNMG+5AXUovfEFL6DjWBJSyZaA@mail.gmail.com\"\nparticipants = [\"claire@atelier-lumen.fr\", \"marc.delacroix@tidewater.io\"]\nattachments = [\"proposal-signed.pdf (52 bytes)\"]\nbody = \"\"\"\nHi Marc,\n\nThe proposal looks good; we can sign next week.\n\nClaire\"\"\"\n"
    );
    assert_consistent(&env);
}

/// `git` in another folder, with the tests' environment.
fn git_in(dir: &std::path::Path, args: &[&str]) -> String {
    let mut c = std::process::Command::new("git");
    c.current_dir(dir);
    crate::util::hermetic(&mut c, dir);
    let out = c.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits (at most 20 s) until `check` holds; the server's log tells why not.
fn wait_for(server: &Server, what: &str, check: impl Fn() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what}: not after 20 s\n{}",
            std::fs::read_to_string(&server.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn push_races_a_second_clone_and_rebases_rejudging_the_events() {
    let env = crm();
    // Zoé is on the team when the server accepts her lead; the other clone removes her.
    let mut toml = env.read("crm/sloop.toml");
    toml = toml.replace(
        "[team.nina]",
        "[team.zoe]\nname = \"Zoé Martin\"\nrole = \"sdr\"\n\n[team.nina]",
    );
    env.write("crm/sloop.toml", &toml);
    let first = env.commit_all("Zoé joins", "2026-11-02T12:00:00Z");
    let _ = first;
    let remote = TestEnv::new();
    let bare = remote.path().join("crm.git");
    git_in(
        remote.path(),
        &["init", "-q", "--bare", "-b", "main", "crm.git"],
    );
    let bare_s = bare.to_str().unwrap();
    assert_eq!(env.git(&["remote", "add", "origin", bare_s]).code, 0);
    assert_eq!(env.git(&["push", "-q", "origin", "main"]).code, 0);
    let start_head = head(&env);

    let server = start_with(&env, &["--push", "origin"], &[]);
    let auth = bearer();
    let lead = |email: &str, name: &str, owner: &str| {
        format!(
            r#"{{"contact": {{"email": "{email}", "name": "{name}"}}, "company": "{name} Ltd", "owner": "{owner}"}}"#
        )
    };
    let remote_head = || git_in(&bare, &["rev-parse", "main"]).trim().to_string();
    let (status, a) = server.post(
        "form",
        &[("Authorization", &auth)],
        &lead("ann@a.example", "Ann Abbot", "lea"),
    );
    assert_eq!(status, 202, "{a}");
    let after_a = next_commit(&env, &start_head);
    wait_for(&server, "the first commit pushed", || {
        remote_head() == after_a
    });

    // Someone pushes from another clone meanwhile: a lead by hand, and Zoé leaves.
    let other = TestEnv::new();
    git_in(other.path(), &["clone", "-q", bare_s, "."]);
    std::fs::write(
        other.path().join("crm/leads/by-hand.toml"),
        "name = \"By Hand\"\nemail = \"by@hand.example\"\nsource = \"outbound\"\nowner = \"marc\"\ncreated = 2026-11-26\nstatus = \"new\"\n",
    )
    .unwrap();
    std::fs::write(
        other.path().join("crm/sloop.toml"),
        env.read("crm/sloop.toml")
            .replace("[team.zoe]\nname = \"Zoé Martin\"\nrole = \"sdr\"\n\n", ""),
    )
    .unwrap();
    git_in(other.path(), &["add", "-A"]);
    git_in(
        other.path(),
        &["commit", "-q", "-m", "by hand: a lead, and Zoé leaves"],
    );
    git_in(other.path(), &["push", "-q", "origin", "main"]);
    let theirs = remote_head();

    // The remote is away while the server commits two more leads on its own HEAD: the
    // pushes fail and are retried; back, it refuses them (not a fast-forward) and the
    // server rebases both leads onto the other clone's commit, judging them again.
    let away = remote.path().join("away.git");
    std::fs::rename(&bare, &away).unwrap();
    let (status, b) = server.post(
        "form",
        &[("Authorization", &auth)],
        &lead("bob@b.example", "Bob Brown", "marc"),
    );
    assert_eq!(status, 202, "{b}");
    let (status, z) = server.post(
        "form",
        &[("Authorization", &auth)],
        &lead("zed@z.example", "Zed Zimmer", "zoe"),
    );
    assert_eq!(status, 202, "{z}");
    let (b, z) = (id_of(&b), id_of(&z));
    wait_for(&server, "both leads committed locally", || {
        spooled(&env, "form", "done").len() == 3
    });
    wait_for(&server, "a failed push logged", || {
        std::fs::read_to_string(&server.log)
            .unwrap()
            .contains("push to origin failed: cannot push to origin")
    });
    std::fs::rename(&away, &bare).unwrap();
    wait_for(&server, "the rejection of Zoé's lead", || {
        spooled(&env, "form", "rejected") == vec![format!("{z}.json")]
    });
    wait_for(&server, "the rebased commit pushed", || {
        let local = head(&env);
        remote_head() == local && local != theirs
    });
    let log = server.stop();
    assert!(log.contains("(retrying in 1 s)"), "{log}");
    assert!(
        log.contains(" onto ") && log.contains("2 events judged again, 1 rejected)"),
        "{log}"
    );
    assert!(
        log.contains(&format!("rejected event {z} of hook form on rebase: ")),
        "{log}"
    );

    // Linear: the server's first commit, the other clone's, the rebased one.
    let history = git_in(
        &bare,
        &[
            "log",
            "--format=%s",
            "--first-parent",
            &format!("{start_head}..main"),
        ],
    );
    let subjects: Vec<&str> = history.lines().collect();
    assert_eq!(subjects.len(), 3, "{history}");
    assert!(
        subjects[0].starts_with("sloop serve: 1 lead from hook form (batch "),
        "{history}"
    );
    assert_eq!(subjects[1], "by hand: a lead, and Zoé leaves");
    assert!(
        subjects[2].starts_with("sloop serve: 1 lead from hook form (batch "),
        "{history}"
    );
    let merges = git_in(&bare, &["rev-list", "--merges", "main"]);
    assert_eq!(merges, "");
    // Every accepted event committed once; Zoé's lead rejected with its reason.
    let bodies = git_in(&bare, &["log", "--format=%b", "main"]);
    for id in [id_of(&a), b.clone()] {
        assert_eq!(
            bodies.matches(&format!("(event {id})")).count(),
            1,
            "{bodies}"
        );
    }
    assert!(!bodies.contains(&z), "{bodies}");
    let rejected = server_rejected(&env, &z);
    assert!(
        rejected.contains("unknown-member") || rejected.contains("zoe"),
        "{rejected}"
    );
    assert!(!spooled(&env, "form", "done").contains(&z));
    // The local branch is the remote's, the work tree has the other clone's files.
    assert_eq!(head(&env), remote_head());
    assert!(env.path().join("crm/leads/by-hand.toml").exists());
    assert!(!env.read("crm/sloop.toml").contains("team.zoe"));
    let range = env.run(&[
        "-C",
        "crm",
        "check",
        "--range",
        &format!("{start_head}..HEAD"),
    ]);
    assert_eq!(range.code, 0, "{}", range.stdout);
    assert_consistent(&env);
}

/// The reason a rejected event was kept with.
fn server_rejected(env: &TestEnv, id: &str) -> String {
    std::fs::read_to_string(
        env.path()
            .join(".git/sloop/spool/form/rejected")
            .join(format!("{id}.json")),
    )
    .unwrap()
}

#[test]
fn tick_at_ticks_once_a_day_from_its_time_commits_and_pushes() {
    let env = crm();
    let remote = TestEnv::new();
    git_in(
        remote.path(),
        &["init", "-q", "--bare", "-b", "main", "crm.git"],
    );
    let bare = remote.path().join("crm.git");
    assert_eq!(
        env.git(&["remote", "add", "origin", bare.to_str().unwrap()])
            .code,
        0
    );
    let before = head(&env);
    // 08:00 on a day with a move to make: not due before 09:00…
    let morning = [("SLOOP_NOW", "2027-01-15T08:00:00+01:00")];
    let server = start_with(&env, &["--tick-at", "09:00"], &morning);
    std::thread::sleep(Duration::from_millis(1500));
    let log = server.stop();
    assert!(!log.contains("ticked"), "{log}");
    assert_eq!(head(&env), before);
    // …due from 07:30: the server ticks at start, commits like `sloop tick`, and pushes.
    let server = start_with(&env, &["--tick-at", "07:30", "--push", "origin"], &morning);
    let ticked = next_commit(&env, &before);
    let remote_head = || git_in(&bare, &["rev-parse", "main"]).trim().to_string();
    wait_for(&server, "the tick pushed", || remote_head() == ticked);
    let log = server.stop();
    let subject = env.git(&["log", "-1", "--format=%s", &ticked]).stdout;
    assert_eq!(subject, "sloop tick 2027-01-15: 1 move\n");
    assert!(
        log.contains(&format!(
            "ticked 2027-01-15: committed {} (sloop tick 2027-01-15: 1 move)",
            &ticked[..12]
        )),
        "{log}"
    );
    assert!(env
        .read("crm/accounts/oakridge-property.toml")
        .contains("status = \"backlog\""));
    // A restart the same day does not tick again.
    let server = start_with(&env, &["--tick-at", "07:30"], &morning);
    std::thread::sleep(Duration::from_millis(1500));
    let log = server.stop();
    assert!(!log.contains("ticked"), "{log}");
    assert_eq!(head(&env), ticked);
    assert_consistent(&env);
    let refused = |args: &[&str]| {
        let out = env
            .sloop()
            .args(["-C", "crm", "serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .env("FORM_TOKEN", TOKEN)
            .env("CHATBOT_SECRET", SIGNING)
            .env("MAILGUN_KEY", MAILGUN_KEY)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = refused(&["--tick-at", "7:00"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("`7:00` is not a time of day as HH:MM (24-hour clock, e.g. 07:00)"),
        "{stderr}"
    );
    let (code, stderr) = refused(&["--push", "nowhere"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("error: --push nowhere: no such remote\nhint: name one of `git remote -v`, or give its URL"),
        "{stderr}"
    );
    assert_eq!(head(&env), ticked);
    assert!(!env.path().join(".git/sloop/spool/batch.json").exists());
}

#[path = "../../examples/loadgen/load.rs"]
#[allow(dead_code)]
mod load;

#[test]
fn the_load_generator_runs_a_bounded_signed_load_and_sees_every_event_committed() {
    let env = crm();
    let server = start(&env);
    let report = load::hooks(&load::Hooks {
        addr: server.addr.clone(),
        hook: "chatbot".into(),
        secret: SIGNING.as_bytes().to_vec(),
        auth: load::Auth::Hmac("X-Hub-Signature-256".into()),
        n: 200,
        concurrency: 4,
        body: r#"{"conversation": {"id": "c-{i}"}, "visitor": {"email": "v{i}@load.example", "name": "Visitor {i}"}}"#.into(),
        repo: Some(env.path().to_path_buf()),
        rate: Some(400.0),
    })
    .unwrap();
    assert_eq!(report.ok, 200);
    assert!(report.committed_after.is_some());
    // Paced at 400 a second: the 200 deliveries take at least half a second.
    assert!(report.elapsed >= Duration::from_millis(490), "{report:?}");
    // Every event's commit was seen, and none before its 202 was answered.
    assert_eq!(report.commit_lags.len(), 200);
    // At most one commit a second: commits begin a second apart; seen by a poll every 10 ms
    // as they end (two commits seen by one poll count as 0 ms apart), with room for one
    // commit taking longer than the other on a busy machine.
    assert!(report.commits_seen.len() >= 2, "{report:?}");
    let gap = report.min_commit_gap().unwrap();
    assert!(gap >= Duration::from_millis(600), "{gap:?}");
    assert!(report.percentile(0.5) <= report.percentile(0.99));
    let line = report.render("POST /hooks/chatbot");
    assert!(
        line.starts_with("POST /hooks/chatbot: 200 ok in "),
        "{line}"
    );
    assert!(line.contains(", all committed "), "{line}");
    assert!(line.contains("; 202 to commit: p50 "), "{line}");
    assert!(line.contains(" commits, at least "), "{line}");
    let pages = load::pages(&server.addr, "/healthz", 50, 2, Vec::new()).unwrap();
    assert_eq!(pages.ok, 50);
    server.stop();
    assert_eq!(leads(&env).len(), 9 + 200);
    assert_eq!(spooled(&env, "chatbot", "done").len(), 200);
    assert_consistent(&env);
}

/// The message the mail-service tests deliver: Gmail's, with a text and an HTML body and two
/// PDF attachments (one named in RFC 2047), to a contact with another in `Cc`.
const PDF_MAIL: &str = "email/10-attachment-pdf.eml";

/// Its text and HTML bodies, decoded (as the services post them, in UTF-8).
const PDF_TEXT: &str = "Bonjour Julien,\r\n\r\nComme demandé, le bon de commande et nos conditions générales en pièces jointes.\r\n\r\nBonne journée,\r\nMarc\r\n";
const PDF_HTML: &str = "<div dir=\"ltr\"><div>Bonjour Julien,</div><div><br></div><div>Comme demandé, le bon de commande et nos conditions générales en pièces jointes.</div><div><br></div><div>Bonne journée,</div><div>Marc</div></div>\r\n";

/// The activity files `sloop ingest email` makes of a fixture message.
fn ingested(rel: &str) -> Vec<(String, String)> {
    let reference = crm();
    let before = activities(&reference);
    let path = crate::util::repo_root()
        .join("tests/fixtures/inbound")
        .join(rel);
    let run = reference.run(&["-C", "crm", "ingest", "email", &path.to_string_lossy()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let new: Vec<_> = added_activities(&reference, &before);
    assert_eq!(new.len(), 1, "{new:?}");
    new
}

/// The attachments of [`PDF_MAIL`] as the services post them: file name (decoded), type,
/// bytes (decoded).
fn pdf_attachments() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let eml = String::from_utf8(inbound(PDF_MAIL)).unwrap();
    let part = |id: &str| {
        let marker = format!("X-Attachment-Id: {id}\r\n\r\n");
        let start = eml.find(&marker).unwrap() + marker.len();
        let end = start + eml[start..].find("--000000000000a4e7c10625a5d8f1").unwrap();
        sloop::serve::base64::decode(&eml[start..end].split_whitespace().collect::<String>())
            .unwrap()
    };
    vec![
        (
            "Devis_Tidewater_2026-118.pdf",
            "application/pdf",
            part("f_mi3k2x7a0"),
        ),
        (
            "Conditions générales 2026.pdf",
            "application/pdf",
            part("f_mi3k2x7b1"),
        ),
    ]
}

/// One part of a `multipart/form-data` body: its name, for a file its file name and type.
struct FormPart<'a> {
    name: &'a str,
    file: Option<(&'a str, &'a str)>,
    data: &'a [u8],
}

fn field<'a>(name: &'a str, data: &'a str) -> FormPart<'a> {
    FormPart {
        name,
        file: None,
        data: data.as_bytes(),
    }
}

/// A `multipart/form-data` body (RFC 7578) as the services write it: CRLF lines,
/// `Content-Disposition: form-data; name="…"` (with `filename="…"` and `Content-Type` for a
/// file; Mailgun also gives a file's `Content-Length`).
fn form_data(boundary: &str, parts: &[FormPart], file_lengths: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"",
                p.name
            )
            .as_bytes(),
        );
        if let Some((filename, ct)) = p.file {
            out.extend_from_slice(
                format!("; filename=\"{filename}\"\r\nContent-Type: {ct}").as_bytes(),
            );
            if file_lengths {
                out.extend_from_slice(format!("\r\nContent-Length: {}", p.data.len()).as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(p.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// The server's clock in the tests (`SLOOP_NOW`), in Unix seconds.
fn now_unix() -> i64 {
    chrono::DateTime::parse_from_rfc3339("2026-11-26T15:00:00+01:00")
        .unwrap()
        .timestamp()
}

/// Mailgun's `signature` of `timestamp` and `token`.
fn mailgun_signature(key: &str, timestamp: i64, token: &str) -> String {
    sloop::serve::auth::sign(key.as_bytes(), format!("{timestamp}{token}").as_bytes()).unwrap()
}

const MAILGUN_BOUNDARY: &str = "515e0b8d-a7e3-43ef-808e-f27b75edf470";

/// Mailgun's parsed `forward()` post of [`PDF_MAIL`], in the order of one captured from
/// Mailgun (multi_mail's spec/fixtures/mailgun/parsed/valid.txt): each MIME header as a field,
/// then the parsed fields by name, then the files `attachment-1`….
fn mailgun_parsed(message_headers: &str, timestamp: i64, token: &str, signature: &str) -> Vec<u8> {
    let attachments = pdf_attachments();
    let ts = timestamp.to_string();
    let mut parts = vec![
        field("Cc", "Sarah Benali <sarah.benali@helio-solaire.fr>"),
        field("Content-Type", "multipart/mixed; boundary=\"000000000000a4e7c10625a5d8f1\""),
        field("Date", "Thu, 26 Nov 2026 09:47:03 +0100"),
        field("From", "Marc Delacroix <marc.delacroix@tidewater.io>"),
        field("Message-Id", "<CAF3xQk1zX4cV7bN0mQ3wE6rT9yU2iO5pA8sD1fG4hJ7kL0zX3c@mail.gmail.com>"),
        field("Mime-Version", "1.0"),
        field("Subject", "Bon de commande Tidewater — Hélio Solaire"),
        field("To", "Julien Moreau <julien.moreau@helio-solaire.fr>"),
        field("X-Mailgun-Incoming", "Yes"),
        field("attachment-count", "2"),
        field("body-html", PDF_HTML),
        field("body-plain", PDF_TEXT),
        field("from", "Marc Delacroix <marc.delacroix@tidewater.io>"),
        field("message-headers", message_headers),
        field("recipient", "crm@mg.tidewater.io"),
        field("sender", "marc.delacroix@tidewater.io"),
        field("signature", signature),
        field("stripped-signature", ""),
        field("stripped-text", "Bonjour Julien,\r\n\r\nComme demandé, le bon de commande et nos conditions générales en pièces jointes.\r\n\r\nBonne journée,\r\nMarc"),
        field("subject", "Bon de commande Tidewater — Hélio Solaire"),
        field("timestamp", &ts),
        field("token", token),
    ];
    let names = ["attachment-1", "attachment-2"];
    for ((name, ct, data), field_name) in attachments.iter().zip(names) {
        parts.push(FormPart {
            name: field_name,
            file: Some((name, ct)),
            data,
        });
    }
    form_data(MAILGUN_BOUNDARY, &parts, true)
}

/// `message-headers` of [`PDF_MAIL`] as Mailgun dumps them: every header in order, decoded to
/// UTF-8, after the `Received` Mailgun adds.
const PDF_MESSAGE_HEADERS: &str = r#"[["Received", "by luna.mailgun.net with SMTP mgrt 8737789986189; Thu, 26 Nov 2026 08:47:05 +0000"], ["X-Envelope-From", "<marc.delacroix@tidewater.io>"], ["Mime-Version", "1.0"], ["From", "Marc Delacroix <marc.delacroix@tidewater.io>"], ["Date", "Thu, 26 Nov 2026 09:47:03 +0100"], ["Message-Id", "<CAF3xQk1zX4cV7bN0mQ3wE6rT9yU2iO5pA8sD1fG4hJ7kL0zX3c@mail.gmail.com>"], ["Subject", "Bon de commande Tidewater — Hélio Solaire"], ["To", "Julien Moreau <julien.moreau@helio-solaire.fr>"], ["Cc", "Sarah Benali <sarah.benali@helio-solaire.fr>"], ["Content-Type", "multipart/mixed; boundary=\"000000000000a4e7c10625a5d8f1\""], ["X-Mailgun-Incoming", "Yes"], ["X-Mailgun-Sflag", "No"], ["X-Mailgun-Sscore", "0.0"], ["X-Mailgun-Spf", "Pass"]]"#;

/// Every file of the hook's spool (pending, rejected, done).
fn spool_files(env: &TestEnv, hook: &str) -> Vec<String> {
    ["pending", "rejected", "done"]
        .iter()
        .flat_map(|f| spooled(env, hook, f))
        .collect()
}

#[test]
fn mailgun_parsed_and_mime_posts_are_ingested_like_the_raw_message() {
    let expected = ingested(PDF_MAIL);
    let now = now_unix();
    let token = "5o56tmpwd3dnwthehwclemd-i-7u2gv9vb3u745ywj67d0mc87";
    let body = mailgun_parsed(
        PDF_MESSAGE_HEADERS,
        now - 5,
        token,
        &mailgun_signature(MAILGUN_KEY, now - 5, token),
    );
    let ct = format!("multipart/form-data; boundary={MAILGUN_BOUNDARY}");

    let env = crm();
    let before = activities(&env);
    let head0 = head(&env);
    let server = start(&env);
    let post = |path: &str, ct: &str, body: &[u8]| {
        server.request("POST", path, &[("Content-Type", ct)], body)
    };
    let (status, answer) = post("/hooks/mailgun/email", &ct, &body);
    assert_eq!(status, 202, "{answer}");
    let after = next_commit(&env, &head0);
    settled(&env, "mailgun");
    // The same delivery again (a replay, or Mailgun's retry): its token makes it a no-op.
    let (status, again) = post("/hooks/mailgun/email", &ct, &body);
    assert_eq!((status, id_of(&again)), (202, id_of(&answer)));
    assert!(again.contains("\"duplicate\":true"), "{again}");
    // A captured signature replayed on another message: the token was seen, a no-op too.
    let altered = mailgun_parsed(
        &PDF_MESSAGE_HEADERS.replace("Bon de commande", "Facture"),
        now - 5,
        token,
        &mailgun_signature(MAILGUN_KEY, now - 5, token),
    );
    let (status, replayed) = post("/hooks/mailgun/email", &ct, &altered);
    assert_eq!((status, id_of(&replayed)), (202, id_of(&answer)));
    assert!(replayed.contains("\"duplicate\":true"), "{replayed}");
    let spool_after = spool_files(&env, "mailgun");
    assert_eq!(spool_after.len(), 1, "{spool_after:?}");

    // Refusals: nothing spooled.
    let refused = |path: &str, ct: &str, body: &[u8]| {
        let answer = post(path, ct, body);
        assert_eq!(spool_files(&env, "mailgun"), spool_after, "{answer:?}");
        answer
    };
    let forged = mailgun_parsed(
        PDF_MESSAGE_HEADERS,
        now,
        "another-token-of-fifty-characters-0123456789abcdef",
        &mailgun_signature(
            "key-not-the-signing-key",
            now,
            "another-token-of-fifty-characters-0123456789abcdef",
        ),
    );
    assert_eq!(
        refused("/hooks/mailgun/email", &ct, &forged),
        (
            401,
            "{\"error\":\"wrong Mailgun signature (the `timestamp`, `token` and `signature` fields of the form)\"}\n".to_string()
        )
    );
    let old = now - 16 * 60;
    let stale_token = "stale-token-of-fifty-characters-0123456789abcdefgh";
    let stale = mailgun_parsed(
        PDF_MESSAGE_HEADERS,
        old,
        stale_token,
        &mailgun_signature(MAILGUN_KEY, old, stale_token),
    );
    assert_eq!(
        refused("/hooks/mailgun/email", &ct, &stale),
        (
            401,
            format!("{{\"error\":\"Mailgun's `timestamp` {old} is 960 s from the server's clock (over 900 s: a replayed or delayed delivery)\"}}\n")
        )
    );
    let fresh = |t: &str| (now, t.to_string(), mailgun_signature(MAILGUN_KEY, now, t));
    let (ts, tok, sig) = fresh("bad-json-token-of-fifty-characters-0123456789abcde");
    let (status, reason) = refused(
        "/hooks/mailgun/email",
        &ct,
        &mailgun_parsed("[[\"From\", \"x\"]", ts, &tok, &sig),
    );
    assert_eq!(status, 400);
    assert!(
        reason.starts_with(
            "{\"error\":\"Mailgun's `message-headers` is not a JSON list of [name, value] pairs: "
        ),
        "{reason}"
    );
    let (status, reason) = refused("/hooks/mailgun/email", &ct, &body[..body.len() / 2]);
    assert_eq!(status, 400);
    assert!(
        reason.starts_with("{\"error\":\"the multipart body is malformed: "),
        "{reason}"
    );
    let (ts, tok, sig) = fresh("no-headers-token-of-fifty-characters-0123456789abc");
    let missing = format!("from=Marc+Delacroix+%3Cmarc.delacroix%40tidewater.io%3E&subject=Hello&timestamp={ts}&token={tok}&signature={sig}");
    assert_eq!(
        refused(
            "/hooks/mailgun/email",
            "application/x-www-form-urlencoded",
            missing.as_bytes()
        ),
        (
            400,
            "{\"error\":\"the body is not Mailgun's form post (it has no `message-headers` nor `body-mime`)\"}\n".to_string()
        )
    );
    // The rejected list is signed as Mailgun signs.
    let (ts, tok, sig) = fresh("listing-token-of-fifty-characters-0123456789abcdef");
    let (status, list) = server.request(
        "GET",
        &format!("/hooks/mailgun/rejected?timestamp={ts}&token={tok}&signature={sig}"),
        &[],
        b"",
    );
    assert_eq!((status, list.as_str()), (200, "{\"rejected\":[]}\n"));
    assert_eq!(
        server.request("GET", "/hooks/mailgun/rejected", &[], b"").0,
        401
    );
    server.stop();
    assert_eq!(head(&env), after, "one commit");
    let got: Vec<_> = added_activities(&env, &before);
    assert_eq!(got, expected);
    assert_consistent(&env);

    // The raw MIME post (a route URL ending in `mime`): urlencoded, as Mailgun sends it.
    let env = crm();
    let head0 = head(&env);
    let server = start(&env);
    let (ts, tok, sig) = fresh("mime-token-of-fifty-characters-0123456789abcdefghi");
    let enc = |s: &[u8]| form_urlencoded::byte_serialize(s).collect::<String>();
    let mime = format!(
        "recipient=crm%40mg.tidewater.io&sender=marc.delacroix%40tidewater.io&subject={}&from={}&message-headers={}&timestamp={ts}&token={tok}&signature={sig}&body-mime={}",
        enc("Bon de commande Tidewater — Hélio Solaire".as_bytes()),
        enc(b"Marc Delacroix <marc.delacroix@tidewater.io>"),
        enc(PDF_MESSAGE_HEADERS.as_bytes()),
        enc(&inbound(PDF_MAIL)),
    );
    let (status, answer) = server.request(
        "POST",
        "/hooks/mailgun/mime",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        mime.as_bytes(),
    );
    assert_eq!(status, 202, "{answer}");
    next_commit(&env, &head0);
    settled(&env, "mailgun");
    server.stop();
    let got: Vec<_> = added_activities(&env, &before);
    assert_eq!(got, expected);
    assert_consistent(&env);
}

/// SendGrid's Inbound Parse post of [`PDF_MAIL`], in the order and shape of one captured from
/// SendGrid (multi_mail's spec/fixtures/sendgrid/valid.txt): boundary `xYzZY`, `headers` the
/// raw header block, `attachment-info` and `charsets` JSON.
fn sendgrid_parsed(envelope: &str) -> Vec<u8> {
    let eml = String::from_utf8(inbound(PDF_MAIL)).unwrap();
    let headers = &eml[..eml.find("\r\n\r\n").unwrap() + 2];
    let attachments = pdf_attachments();
    let mut parts = vec![
        field("headers", headers),
        field("dkim", "{@tidewater.io : pass}"),
        field("to", "Julien Moreau <julien.moreau@helio-solaire.fr>"),
        field("html", PDF_HTML),
        field("from", "Marc Delacroix <marc.delacroix@tidewater.io>"),
        field("text", PDF_TEXT),
        field("sender_ip", "209.85.223.172"),
        field("envelope", envelope),
        field("attachments", "2"),
        field("subject", "Bon de commande Tidewater — Hélio Solaire"),
        field("cc", "Sarah Benali <sarah.benali@helio-solaire.fr>"),
        field(
            "attachment-info",
            r#"{"attachment2":{"filename":"Conditions générales 2026.pdf","name":"Conditions générales 2026.pdf","type":"application/pdf","content-id":"f_mi3k2x7b1"},"attachment1":{"filename":"Devis_Tidewater_2026-118.pdf","name":"Devis_Tidewater_2026-118.pdf","type":"application/pdf","content-id":"f_mi3k2x7a0"}}"#,
        ),
        field(
            "charsets",
            r#"{"to":"UTF-8","html":"UTF-8","subject":"UTF-8","from":"UTF-8","text":"UTF-8","cc":"UTF-8"}"#,
        ),
        field("SPF", "pass"),
    ];
    for ((name, ct, data), field_name) in attachments.iter().zip(["attachment1", "attachment2"]) {
        parts.push(FormPart {
            name: field_name,
            file: Some((name, ct)),
            data,
        });
    }
    form_data("xYzZY", &parts, false)
}

#[test]
fn sendgrid_parsed_and_raw_posts_are_ingested_like_the_raw_message() {
    let expected = ingested(PDF_MAIL);
    let envelope = r#"{"to":["crm@parse.tidewater.io"],"from":"marc.delacroix@tidewater.io"}"#;
    let ct = "multipart/form-data; boundary=xYzZY";
    // SendGrid sends the credentials of its URL, https://inbound:SECRET@…, as basic auth.
    let auth = basic(TOKEN);

    let env = crm();
    let before = activities(&env);
    let head0 = head(&env);
    let server = start(&env);
    let post = |auth: &[(&str, &str)], body: &[u8]| {
        let mut headers = vec![("Content-Type", ct)];
        headers.extend_from_slice(auth);
        server.request("POST", "/hooks/sendgrid/email", &headers, body)
    };
    let body = sendgrid_parsed(envelope);
    let (status, answer) = post(&[("Authorization", &auth)], &body);
    assert_eq!(status, 202, "{answer}");
    let after = next_commit(&env, &head0);
    settled(&env, "sendgrid");
    let spool_after = spool_files(&env, "sendgrid");
    // Refusals: nothing spooled.
    let (status, _) = post(&[], &body);
    assert_eq!(status, 401);
    let (status, reason) = post(&[("Authorization", &auth)], &sendgrid_parsed("{\"to\": ["));
    assert_eq!(status, 400);
    assert!(
        reason.starts_with("{\"error\":\"SendGrid's `envelope` is not JSON: "),
        "{reason}"
    );
    let no_headers = form_data(
        "xYzZY",
        &[field("text", "hi"), field("from", "a@b.example")],
        false,
    );
    assert_eq!(
        post(&[("Authorization", &auth)], &no_headers),
        (
            400,
            "{\"error\":\"the body is not SendGrid's Inbound Parse post (it has no `headers` nor `email`)\"}\n".to_string()
        )
    );
    assert_eq!(spool_files(&env, "sendgrid"), spool_after);
    server.stop();
    assert_eq!(head(&env), after);
    let got: Vec<_> = added_activities(&env, &before);
    assert_eq!(got, expected);
    assert_consistent(&env);

    // "POST the raw, full MIME message": the message in `email`.
    let env = crm();
    let head0 = head(&env);
    let server = start(&env);
    let raw = inbound(PDF_MAIL);
    let raw_body = form_data(
        "xYzZY",
        &[
            field("dkim", "{@tidewater.io : pass}"),
            FormPart {
                name: "email",
                file: None,
                data: &raw,
            },
            field("to", "Julien Moreau <julien.moreau@helio-solaire.fr>"),
            field("from", "Marc Delacroix <marc.delacroix@tidewater.io>"),
            field("subject", "Bon de commande Tidewater — Hélio Solaire"),
            field("sender_ip", "209.85.223.172"),
            field("envelope", envelope),
            field(
                "charsets",
                r#"{"to":"UTF-8","subject":"UTF-8","from":"UTF-8"}"#,
            ),
            field("SPF", "pass"),
        ],
        false,
    );
    let (status, answer) = server.request(
        "POST",
        "/hooks/sendgrid/email",
        &[("Content-Type", ct), ("Authorization", &auth)],
        &raw_body,
    );
    assert_eq!(status, 202, "{answer}");
    next_commit(&env, &head0);
    settled(&env, "sendgrid");
    server.stop();
    let got: Vec<_> = added_activities(&env, &before);
    assert_eq!(got, expected);
    assert_consistent(&env);
}
