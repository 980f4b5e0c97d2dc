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
"#;

/// The example CRM with the hooks, committed in a repository.
fn crm() -> TestEnv {
    let env = example();
    let mut toml = env.read("crm/sloop.toml");
    toml.push_str(HOOKS);
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
        format!("sloop serve: listening on http://{addr} (hooks: form, chatbot)\n")
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
        log.contains("committed ")
            && log.contains(": 1 lead from hook form (loaded and judged in "),
        "{log}"
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
        let handles: Vec<_> = (0..8)
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
        assert_eq!(log, "sloop serve: stopped\n");
    }
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
    })
    .unwrap();
    assert_eq!(report.ok, 200);
    assert!(report.committed_after.is_some());
    assert!(report.percentile(0.5) <= report.percentile(0.99));
    let line = report.render("POST /hooks/chatbot");
    assert!(
        line.starts_with("POST /hooks/chatbot: 200 ok in "),
        "{line}"
    );
    assert!(line.contains(", all committed "), "{line}");
    let pages = load::pages(&server.addr, "/healthz", 50, 2, Vec::new()).unwrap();
    assert_eq!(pages.ok, 50);
    server.stop();
    assert_eq!(leads(&env).len(), 9 + 200);
    assert_eq!(spooled(&env, "chatbot", "done").len(), 200);
    assert_consistent(&env);
}
