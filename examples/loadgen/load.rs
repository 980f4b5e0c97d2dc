//! The load generator's engine (`examples/loadgen`), also run by the test suite
//! (`tests/cli/serve.rs`) so that it cannot rot. Plain HTTP/1.1 over keep-alive
//! `TcpStream`s, one thread per connection: bounded in requests (`n`) and in time (each
//! request times out after 10 s, the commit wait after 60 s).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a delivery proves itself.
#[derive(Debug, Clone)]
pub enum Auth {
    Bearer,
    /// HMAC-SHA256 of the body, `sha256=<hex>` in this header.
    Hmac(String),
}

#[derive(Debug, Clone)]
pub struct Hooks {
    pub addr: String,
    pub hook: String,
    pub secret: Vec<u8>,
    pub auth: Auth,
    pub n: usize,
    pub concurrency: usize,
    /// The JSON body; `{i}` is replaced by the request's number.
    pub body: String,
    /// The CRM's git repository, polled for the commits; `None`: not waited for.
    pub repo: Option<PathBuf>,
    /// Deliveries per second (request `i` is not sent before `i / rate` s from the start);
    /// `None`: as fast as the connections go.
    pub rate: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Report {
    /// Answers with the expected status (202, or 200 for pages).
    pub ok: usize,
    pub elapsed: Duration,
    /// Sorted.
    pub latencies: Vec<Duration>,
    /// From the last 202 until every accepted event is in a commit.
    pub committed_after: Option<Duration>,
    /// For each accepted event, from its 202 until `git log` first named it (sorted).
    pub commit_lags: Vec<Duration>,
    /// When each new commit was first seen, oldest first (two commits seen by one poll,
    /// 10 ms apart, share a time).
    pub commits_seen: Vec<Instant>,
}

impl Report {
    /// The least time between two commits, as seen.
    pub fn min_commit_gap(&self) -> Option<Duration> {
        self.commits_seen
            .windows(2)
            .map(|w| w[1].saturating_duration_since(w[0]))
            .min()
    }
}

impl Report {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[i - 1]
    }

    pub fn render(&self, what: &str) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let mut s = format!(
            "{what}: {} ok in {:.2} s: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms",
            self.ok,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            ms(self.percentile(0.50)),
            ms(self.percentile(0.99))
        );
        if let Some(c) = self.committed_after {
            s.push_str(&format!(
                ", all committed {:.0} ms after the last 202",
                ms(c)
            ));
        }
        if let Some(worst) = self.commit_lags.last() {
            let i = (self.commit_lags.len() * 99).div_ceil(100).max(1) - 1;
            s.push_str(&format!(
                "; 202 to commit: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                ms(self.commit_lags[self.commit_lags.len() / 2]),
                ms(self.commit_lags[i]),
                ms(*worst)
            ));
        }
        if let Some(gap) = self.min_commit_gap() {
            s.push_str(&format!(
                "; {} commits, at least {:.0} ms apart",
                self.commits_seen.len(),
                ms(gap)
            ));
        }
        s
    }
}

/// One keep-alive connection.
struct Conn {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr)
                .map_err(|e| format!("connect {}: {e}", self.addr))?;
            s.set_read_timeout(Some(Duration::from_secs(10))).ok();
            s.set_nodelay(true).ok();
            self.stream = Some(BufReader::new(s));
        }
        let r = self.exchange(method, path, headers, body);
        if r.is_err() {
            self.stream = None;
        }
        r
    }

    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        let reader = self.stream.as_mut().ok_or("no connection")?;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        reader
            .get_mut()
            .write_all(&bytes)
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP answer: {line:?}"))?;
        let mut length = 0usize;
        let mut close = false;
        loop {
            line.clear();
            reader.read_line(&mut line).map_err(|e| e.to_string())?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let lower = l.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().map_err(|_| format!("bad length: {l}"))?;
            } else if lower.starts_with("transfer-encoding:") {
                return Err("chunked answers are not read".into());
            } else if lower == "connection: close" {
                close = true;
            }
        }
        let mut out = vec![0; length];
        reader.read_exact(&mut out).map_err(|e| e.to_string())?;
        if close {
            self.stream = None;
        }
        Ok((status, out))
    }
}

/// A request: method, path, headers, body.
type Request = (String, String, Vec<(String, String)>, Vec<u8>);
/// Makes request `i`.
type MakeRequest = Arc<dyn Fn(usize) -> Request + Send + Sync>;

/// What each answered request gave: when it was answered, and (202s only) the event id.
type Answered = Vec<(Instant, Option<String>)>;

/// Runs `n` requests over `concurrency` connections, at most `rate` a second; `make(i)`
/// gives request `i`.
fn run(
    addr: &str,
    n: usize,
    concurrency: usize,
    rate: Option<f64>,
    expect: u16,
    make: MakeRequest,
) -> Result<(Report, Instant, Answered), String> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    type Worker = (Vec<Duration>, Instant, Answered);
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (next, make, addr) = (next.clone(), make.clone(), addr.to_string());
            std::thread::spawn(move || -> Result<Worker, String> {
                let mut conn = Conn { addr, stream: None };
                let mut lat = Vec::new();
                let mut answered = Vec::new();
                let mut last = Instant::now();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok((lat, last, answered));
                    }
                    if let Some(rate) = rate {
                        let due = started + Duration::from_secs_f64(i as f64 / rate);
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    }
                    let (method, path, headers, body) = make(i);
                    let t = Instant::now();
                    let (status, answer) = conn.request(&method, &path, &headers, &body)?;
                    if status != expect {
                        return Err(format!(
                            "request {i}: {status} {}",
                            String::from_utf8_lossy(&answer)
                        ));
                    }
                    last = Instant::now();
                    lat.push(last - t);
                    answered.push((last, (status == 202).then(|| event_id(&answer)).flatten()));
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    let mut all = Vec::with_capacity(n);
    let mut last = started;
    for w in workers {
        let (l, t, a) = w.join().map_err(|_| "a worker panicked".to_string())??;
        latencies.extend(l);
        all.extend(a);
        last = last.max(t);
    }
    latencies.sort();
    Ok((
        Report {
            ok: latencies.len(),
            elapsed: last - started,
            latencies,
            committed_after: None,
            commit_lags: Vec::new(),
            commits_seen: Vec::new(),
        },
        last,
        all,
    ))
}

/// The event id of a `202` answer (`{"duplicate":false,"id":"…"}`).
fn event_id(answer: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(answer);
    let rest = &text[text.find("\"id\":\"")? + 6..];
    Some(rest[..rest.find('"')?].to_string())
}

/// What the commit watcher saw: when each event id was first named, when each commit, and
/// when the last of the expected events was.
struct Seen {
    events: std::collections::HashMap<String, Instant>,
    commits: Vec<Instant>,
    all: Instant,
}

/// Polls `git log FROM..HEAD` every 10 ms, noting when each commit and each event id it
/// names first appear, until `expected` (set once the deliveries are answered; `usize::MAX`
/// before) events were named, or 60 s after it was set.
fn watch_commits(
    repo: PathBuf,
    from: String,
    expected: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<Result<Seen, String>> {
    std::thread::spawn(move || {
        let mut events = std::collections::HashMap::new();
        let mut commits = Vec::new();
        let mut at = from;
        let mut told: Option<Instant> = None;
        loop {
            let wanted = expected.load(Ordering::Relaxed);
            if wanted != usize::MAX && told.is_none() {
                told = Some(Instant::now());
            }
            let now_head = head(&repo)?;
            let now = Instant::now();
            if now_head != at {
                let out = std::process::Command::new("git")
                    .arg("-C")
                    .arg(&repo)
                    .args(["log", "--format=%x00%b", &format!("{at}..{now_head}")])
                    .output()
                    .map_err(|e| format!("git log: {e}"))?;
                let text = String::from_utf8_lossy(&out.stdout);
                commits.extend(std::iter::repeat_n(now, text.matches('\0').count()));
                for line in text.lines() {
                    if let Some(id) = line
                        .trim_end()
                        .strip_suffix(')')
                        .and_then(|l| l.rsplit_once(" (event "))
                        .map(|(_, id)| id.to_string())
                    {
                        events.entry(id).or_insert(now);
                    }
                }
                at = now_head;
            }
            if events.len() >= wanted {
                return Ok(Seen {
                    events,
                    commits,
                    all: now,
                });
            }
            if told.is_some_and(|t| t.elapsed() > Duration::from_secs(60)) {
                return Err("not every event committed 60 s after the last 202".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    })
}

fn head(repo: &std::path::Path) -> Result<String, String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "HEAD"])
        .output()
        .map_err(|e| format!("git rev-parse: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `n` signed deliveries to a hook, each body unique; then (with `repo`) the wait until
/// every one is committed.
pub fn hooks(cfg: &Hooks) -> Result<Report, String> {
    let from = match &cfg.repo {
        Some(r) => Some(head(r)?),
        None => None,
    };
    let c = cfg.clone();
    let make = Arc::new(move |i: usize| {
        let body = c.body.replace("{i}", &i.to_string());
        let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        match &c.auth {
            Auth::Bearer => headers.push((
                "Authorization".into(),
                format!("Bearer {}", String::from_utf8_lossy(&c.secret)),
            )),
            Auth::Hmac(header) => headers.push((
                header.clone(),
                format!(
                    "sha256={}",
                    sloop::serve::auth::sign(&c.secret, body.as_bytes()).unwrap_or_default()
                ),
            )),
        }
        (
            "POST".to_string(),
            format!("/hooks/{}", c.hook),
            headers,
            body.into_bytes(),
        )
    });
    let expected = Arc::new(AtomicUsize::new(usize::MAX));
    let watcher = match (&cfg.repo, &from) {
        (Some(repo), Some(from)) => {
            Some(watch_commits(repo.clone(), from.clone(), expected.clone()))
        }
        _ => None,
    };
    let (mut report, last, answered) = run(&cfg.addr, cfg.n, cfg.concurrency, cfg.rate, 202, make)?;
    if let Some(watcher) = watcher {
        let ids = answered
            .iter()
            .map(|(_, id)| id.clone().ok_or("a 202 without an event id"))
            .collect::<Result<std::collections::HashSet<String>, _>>()?;
        expected.store(ids.len(), Ordering::Relaxed);
        let seen = watcher
            .join()
            .map_err(|_| "the commit watcher panicked".to_string())??;
        report.committed_after = Some(seen.all.saturating_duration_since(last));
        report.commits_seen = seen.commits;
        let mut lags = Vec::with_capacity(answered.len());
        for (at, id) in answered {
            let id = id.unwrap_or_default();
            let committed = seen
                .events
                .get(&id)
                .ok_or_else(|| format!("event {id} was not seen committed"))?;
            lags.push(committed.saturating_duration_since(at));
        }
        lags.sort();
        report.commit_lags = lags;
    }
    Ok(report)
}

/// `n` GETs of `path` (answered 200).
pub fn pages(
    addr: &str,
    path: &str,
    n: usize,
    concurrency: usize,
    headers: Vec<(String, String)>,
) -> Result<Report, String> {
    let path = path.to_string();
    let make = Arc::new(move |_| ("GET".to_string(), path.clone(), headers.clone(), Vec::new()));
    run(addr, n, concurrency, None, 200, make).map(|(r, _, _)| r)
}
