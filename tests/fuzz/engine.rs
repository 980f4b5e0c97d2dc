//! The engine every target shares: the budget, the seed corpus, byte mutations, panic capture
//! and the hang watchdog. A target is a strategy (what to generate) and a check (what must
//! hold); `run` drives proptest over it deterministically and shrinks any failure to a
//! minimal input.

use std::collections::HashMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

/// How much to run: read once from the environment.
///
/// - `SLOOP_FUZZ_CASES=N`: cases per phase of each target (default: the target's own, sized
///   so that `cargo test` stays within its time budget);
/// - `SLOOP_FUZZ_SECONDS=S`: keep running each phase with fresh seeds for S seconds, and
///   collect every distinct failure instead of stopping at the first;
/// - `SLOOP_FUZZ_SEED=N`: the first seed (default 0: CI runs the same cases every time).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub cases: Option<u32>,
    pub seconds: Option<u64>,
    pub seed: u64,
}

pub fn budget() -> Budget {
    static BUDGET: OnceLock<Budget> = OnceLock::new();
    *BUDGET.get_or_init(|| {
        let num = |name: &str| {
            std::env::var(name).ok().map(|v| {
                v.trim()
                    .parse::<u64>()
                    .unwrap_or_else(|_| panic!("{name} must be a whole number, not `{v}`"))
            })
        };
        Budget {
            cases: num("SLOOP_FUZZ_CASES").map(|n| n.min(u64::from(u32::MAX)) as u32),
            seconds: num("SLOOP_FUZZ_SECONDS"),
            seed: num("SLOOP_FUZZ_SEED").unwrap_or(0),
        }
    })
}

/// Files by path (relative to a CRM root or a corpus folder), with their bytes.
pub type Files = Vec<(String, Vec<u8>)>;

/// An input as bytes, printed as a Rust byte string so that a failure can be pasted into a
/// regression test.
#[derive(Clone)]
pub struct Bytes {
    /// Where the input came from (the seed file, "generated"…).
    pub origin: String,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} bytes): {}",
            self.origin,
            self.bytes.len(),
            literal(&self.bytes)
        )
    }
}

/// `b"…"` with every byte that is not printable ASCII escaped.
pub fn literal(bytes: &[u8]) -> String {
    let mut out = String::from("b\"");
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// The seed files of a corpus folder (`tests/fuzz/corpus/<name>/`, recursively), with their
/// paths relative to that folder, sorted.
pub fn corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    let root = manifest_dir().join("tests/fuzz/corpus").join(name);
    let mut out = files_under(&root);
    assert!(!out.is_empty(), "no seed in {}", root.display());
    out.sort();
    out
}

/// Every file under a folder, with its `/`-separated path relative to it.
pub fn files_under(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if let Ok(bytes) = std::fs::read(&p) {
                let rel = p.strip_prefix(root).unwrap_or(&p);
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((rel, bytes));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------
// Running a target

/// Runs `check` on `cases` values of `strategy` (or for the time budget), deterministically
/// from the budget's seed, and panics with the minimal failing input if `check` fails or
/// panics. `phase` names the run in messages ("mutated", "structured").
pub fn run<S>(
    target: &str,
    phase: &str,
    default_cases: u32,
    strategy: S,
    check: impl Fn(&S::Value) -> Result<(), String>,
) where
    S: Strategy,
    S::Value: fmt::Debug,
{
    install_panic_hook();
    clear_failures(target, phase);
    let budget = budget();
    let cases = budget.cases.unwrap_or(default_cases);
    let deadline = budget
        .seconds
        .map(|s| Instant::now() + Duration::from_secs(s));
    let started = Instant::now();
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut round = 0u64;
    let mut ran = 0u64;
    loop {
        let seed = budget.seed.wrapping_add(round);
        let mut runner = TestRunner::new_with_rng(
            Config {
                cases,
                failure_persistence: None,
                max_shrink_iters: 4096,
                // A long run keeps going after a failure: shrinking must not eat it.
                max_shrink_time: 120_000,
                ..Config::default()
            },
            TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(target, phase, seed)),
        );
        let result = runner.run(&strategy, |value| {
            let _running = Running::start(target, &value);
            match capture(|| check(&value)) {
                Ok(()) => Ok(()),
                Err(why) => Err(TestCaseError::fail(why)),
            }
        });
        ran += u64::from(cases);
        if let Err(e) = result {
            let (why, input) = match e {
                TestError::Fail(why, value) => (why.to_string(), format!("{value:#?}")),
                TestError::Abort(why) => (why.to_string(), String::new()),
            };
            let report = format!(
                "fuzz target `{target}` ({phase}) failed with SLOOP_FUZZ_SEED={seed}:\n{why}\nminimal input:\n{input}"
            );
            let signature = signature(&why);
            if !failures.iter().any(|(s, _)| *s == signature) {
                save_failure(target, phase, failures.len(), &report);
                failures.push((signature, report));
            }
            if deadline.is_none() {
                break;
            }
        }
        round += 1;
        if deadline.is_none_or(|d| Instant::now() >= d) {
            break;
        }
    }
    // Shown with `--nocapture`: what a budget buys.
    eprintln!(
        "fuzz target `{target}` ({phase}): {ran} cases in {:.1?}, {} distinct failures",
        started.elapsed(),
        failures.len()
    );
    if !failures.is_empty() {
        let all: Vec<&str> = failures.iter().map(|(_, r)| r.as_str()).collect();
        panic!("{}", all.join("\n\n"));
    }
}

/// Runs `check` on every seed as it is (no mutation).
pub fn run_seeds<T: fmt::Debug>(
    target: &str,
    seeds: &[T],
    check: impl Fn(&T) -> Result<(), String>,
) {
    install_panic_hook();
    let mut failures = Vec::new();
    for seed in seeds {
        let _running = Running::start(target, seed);
        if let Err(why) = capture(|| check(seed)) {
            failures.push(format!("seed {seed:?}:\n{why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "fuzz target `{target}` fails on its seed corpus:\n{}",
        failures.join("\n\n")
    );
}

/// The first line of a failure, without the parts that vary with the input: what makes two
/// failures "the same" in a long run.
fn signature(why: &str) -> String {
    let first = why.lines().next().unwrap_or("");
    match first.find(" at src/") {
        Some(i) => first[i..].split(':').take(2).collect::<Vec<_>>().join(":"),
        None => first.chars().take(60).collect(),
    }
}

/// Where failures and hangs are written: `target/tmp/fuzz-failures/`.
fn failures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures")
}

fn clear_failures(target: &str, phase: &str) {
    let prefix = format!("{target}-{phase}-");
    if let Ok(entries) = std::fs::read_dir(failures_dir()) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn save_failure(target: &str, phase: &str, n: usize, report: &str) {
    let dir = failures_dir();
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{target}-{phase}-{n}.txt")), report);
}

fn seed_bytes(target: &str, phase: &str, seed: u64) -> [u8; 32] {
    // FNV-1a over the names, so that each target and phase draws its own cases.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in target.bytes().chain([0]).chain(phase.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = [0u8; 32];
    out[..8].copy_from_slice(&h.to_le_bytes());
    out[8..16].copy_from_slice(&seed.to_le_bytes());
    out[16..24].copy_from_slice(&(h ^ seed.rotate_left(17)).to_le_bytes());
    out
}

// ---------------------------------------------------------------------------------------
// Panics: caught, located, and kept off the terminal while fuzzing

thread_local! {
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How many fuzz checks are running (panics on rayon's threads are silent meanwhile).
static FUZZING: AtomicUsize = AtomicUsize::new(0);
/// The location and message of the last panic, per thread that panicked.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let quiet = QUIET.with(|q| q.get())
                || (thread::current().name().is_none() && FUZZING.load(Ordering::SeqCst) > 0);
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_else(|| "an unknown place".into());
            let message = payload_text(info.payload());
            *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(format!("panicked at {location}: {message}"));
            if !quiet {
                default(info);
            }
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Runs a check, turning a panic into an error that says where it happened.
fn capture(check: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    QUIET.with(|q| q.set(true));
    FUZZING.fetch_add(1, Ordering::SeqCst);
    let result = panic::catch_unwind(AssertUnwindSafe(check));
    FUZZING.fetch_sub(1, Ordering::SeqCst);
    QUIET.with(|q| q.set(false));
    match result {
        Ok(r) => r,
        Err(payload) => {
            let last = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
            Err(last.unwrap_or_else(|| format!("panicked: {}", payload_text(&*payload))))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Hangs: a watchdog saves the input that has been running too long, then aborts

/// Seconds one case may run before the watchdog calls it a hang (`SLOOP_FUZZ_HANG_SECONDS`,
/// default 60: a case takes milliseconds).
fn hang_limit() -> Duration {
    let secs = std::env::var("SLOOP_FUZZ_HANG_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

type Watched = HashMap<ThreadId, (Instant, String, Arc<str>)>;

fn watched() -> &'static Mutex<Watched> {
    static WATCHED: OnceLock<Mutex<Watched>> = OnceLock::new();
    WATCHED.get_or_init(|| {
        thread::Builder::new()
            .name("fuzz-watchdog".into())
            .spawn(watchdog)
            .expect("spawn the fuzz watchdog");
        Mutex::new(HashMap::new())
    })
}

fn watchdog() {
    let limit = hang_limit();
    loop {
        thread::sleep(Duration::from_secs(1));
        let map = watched().lock().unwrap_or_else(|e| e.into_inner());
        if let Some((started, target, input)) = map.values().find(|(t, _, _)| t.elapsed() > limit) {
            let dir = failures_dir();
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("{target}-hang.txt"));
            let _ = std::fs::write(&file, input.as_bytes());
            eprintln!(
                "fuzz target `{target}`: one case has run for {:?} (limit {limit:?}); its input is in {}:\n{input}",
                started.elapsed(),
                file.display()
            );
            std::process::abort();
        }
    }
}

/// Marks a case as running on this thread for the watchdog, until dropped.
struct Running;

impl Running {
    fn start(target: &str, value: &impl fmt::Debug) -> Running {
        let input: Arc<str> = format!("{value:#?}").into();
        watched().lock().unwrap_or_else(|e| e.into_inner()).insert(
            thread::current().id(),
            (Instant::now(), target.to_string(), input),
        );
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        watched()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&thread::current().id());
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

/// Tokens every text format cares about.
pub const COMMON_TOKENS: &[&[u8]] = &[
    b"\n",
    b"\r\n",
    b"\r",
    b"\t",
    b" ",
    b"\"",
    b"'",
    b"\\",
    b"\x00",
    b"\x1b[31m",
    b"\x7f",
    b"\xef\xbb\xbf",
    b"\xe2\x80\xa8",
    b"\xf0\x9f\x98\x80",
    b"\xc3\xa9",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"18446744073709551616",
    b"4294967295",
    b"1e308",
    b"1.797e308",
    b"-0",
    b"0000-01-01",
    b"9999-12-31",
    b"2026-02-30",
    b"+262142-12-31",
];

/// TOML's significant tokens, and keys and values of sloop's schema.
pub const TOML_TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"[[",
    b"]]",
    b"{",
    b"}",
    b"=",
    b",",
    b".",
    b"#",
    b"\"\"\"",
    b"'''",
    b"\\u00e9",
    b"\\U0010FFFF",
    b"\\uD800",
    b"inf",
    b"nan",
    b"-inf",
    b"true",
    b"false",
    b"0x7fffffffffffffff",
    b"0o777",
    b"0b101",
    b"1_000",
    b"1979-05-27T07:32:00Z",
    b"1979-05-27T00:32:00.999999-07:00",
    b"1979-05-27T07:32:00",
    b"07:32:00",
    b"0000-00-00",
    b"2026-11-26T25:61:61+24:00",
    b"\nstatus = \"target\"\n",
    b"\nstage = \"won\"\n",
    b"\nowner = \"al\"\n",
    b"\naccount = \"acme\"\n",
    b"\n[bant]\n",
    b"\n[commit]\n",
    b"\n[custom]\n",
    b"\n[custom.x.y.z]\n",
    b"\n[[custom.list]]\n",
    b"\nbant.budget = \"x\"\n",
    b"bant = { need = \"x\" }",
    b"\nmrr = 1e308\n",
    b"\ndate = 2026-11-26T10:30:00+01:00\n",
    b"\nbacklog_until = 2026-11-26\n",
    b"\n[stages.won]\noutcome = \"won\"\nprobability = 100\n",
    b"\n[statuses.x]\nnext = [\"x\"]\n",
    b"\n[team.al]\nname = \"Al\"\n",
    b"\n[lifecycle]\nbacklog_days = 4294967295\n",
    b"\n[targets]\n\"2026-Q4\" = 1e308\n",
    b"\nshard = 255\n",
];

/// What to insert for a "deep nesting" mutation.
const NESTS: &[(&[u8], &[u8])] = &[
    (b"[", b"]"),
    (b"{a=", b"}"),
    (b"x = [", b"]"),
    (b"\"", b"\""),
    (b"(", b")"),
    (b"=?UTF-8?B?", b"?="),
    (b"multipart/mixed; boundary=\"b\"\n\n--b\n", b"\n--b--\n"),
];

const INVALID_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
    b"\x80",
];

const CONTROLS: &[u8] = &[0, 1, 7, 8, 0x0b, 0x0c, b'\r', 0x1b, 0x7f];

/// One edit of an input. Positions are `Index`es scaled to the input's length, so that
/// proptest shrinks them towards the start.
#[derive(Debug, Clone)]
pub enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Delete(Index, usize),
    Truncate(Index),
    Insert(Index, Index),
    Duplicate(Index, usize, Index),
    /// Part of another seed, inserted here.
    Splice(Index, Index, usize, Index),
    /// A number with many digits.
    Huge(Index, usize, bool),
    Nest(Index, Index, usize),
    InvalidUtf8(Index, Index),
    Control(Index, Index),
    /// Many copies of a slice of the input.
    Repeat(Index, usize, usize),
    AllCrlf,
    AllLf,
    Bom,
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    let i = any::<Index>;
    prop_oneof![
        3 => (i(), 0u8..8).prop_map(|(p, b)| Mutation::FlipBit(p, b)),
        2 => (i(), any::<u8>()).prop_map(|(p, b)| Mutation::SetByte(p, b)),
        3 => (i(), 1usize..40).prop_map(|(p, n)| Mutation::Delete(p, n)),
        1 => i().prop_map(Mutation::Truncate),
        6 => (i(), i()).prop_map(|(p, t)| Mutation::Insert(p, t)),
        2 => (i(), 1usize..80, i()).prop_map(|(p, n, to)| Mutation::Duplicate(p, n, to)),
        2 => (i(), i(), 1usize..200, i()).prop_map(|(s, p, n, to)| Mutation::Splice(s, p, n, to)),
        1 => (i(), 20usize..400, any::<bool>()).prop_map(|(p, n, neg)| Mutation::Huge(p, n, neg)),
        1 => (i(), i(), 1usize..300).prop_map(|(p, k, d)| Mutation::Nest(p, k, d)),
        1 => (i(), i()).prop_map(|(p, k)| Mutation::InvalidUtf8(p, k)),
        1 => (i(), i()).prop_map(|(p, k)| Mutation::Control(p, k)),
        1 => (i(), 1usize..40, 2usize..200).prop_map(|(p, n, k)| Mutation::Repeat(p, n, k)),
        1 => Just(Mutation::AllCrlf),
        1 => Just(Mutation::AllLf),
        1 => Just(Mutation::Bom),
    ]
}

/// Inputs larger than this are not grown further.
const MAX_LEN: usize = 256 * 1024;

impl Mutation {
    pub fn apply(&self, b: &mut Vec<u8>, others: &[(String, Vec<u8>)], dict: &[&[u8]]) {
        let at = |i: &Index, b: &Vec<u8>| i.index(b.len() + 1);
        let token = |i: &Index| -> &[u8] {
            let n = dict.len() + COMMON_TOKENS.len();
            let k = i.index(n);
            if k < dict.len() {
                dict[k]
            } else {
                COMMON_TOKENS[k - dict.len()]
            }
        };
        match self {
            Mutation::FlipBit(p, bit) => {
                if !b.is_empty() {
                    let k = p.index(b.len());
                    b[k] ^= 1 << bit;
                }
            }
            Mutation::SetByte(p, v) => {
                if !b.is_empty() {
                    let k = p.index(b.len());
                    b[k] = *v;
                }
            }
            Mutation::Delete(p, n) => {
                let k = at(p, b);
                let end = (k + n).min(b.len());
                b.drain(k..end);
            }
            Mutation::Truncate(p) => {
                let k = at(p, b);
                b.truncate(k);
            }
            Mutation::Insert(p, t) => {
                let k = at(p, b);
                let t = token(t);
                b.splice(k..k, t.iter().copied());
            }
            Mutation::Duplicate(p, n, to) => {
                let k = at(p, b);
                let part = b[k..(k + n).min(b.len())].to_vec();
                let to = at(to, b);
                b.splice(to..to, part);
            }
            Mutation::Splice(s, p, n, to) => {
                if others.is_empty() {
                    return;
                }
                let other = &others[s.index(others.len())].1;
                let k = p.index(other.len() + 1);
                let part = &other[k..(k + n).min(other.len())];
                let to = at(to, b);
                b.splice(to..to, part.iter().copied());
            }
            Mutation::Huge(p, n, neg) => {
                let k = at(p, b);
                let mut digits = if *neg { vec![b'-'] } else { Vec::new() };
                digits.extend(std::iter::repeat_n(b'9', *n));
                b.splice(k..k, digits);
            }
            Mutation::Nest(p, kind, depth) => {
                let (open, close) = NESTS[kind.index(NESTS.len())];
                let k = at(p, b);
                let mut part = Vec::new();
                for _ in 0..*depth {
                    part.extend_from_slice(open);
                }
                for _ in 0..*depth {
                    part.extend_from_slice(close);
                }
                b.splice(k..k, part);
            }
            Mutation::InvalidUtf8(p, kind) => {
                let k = at(p, b);
                let bad = INVALID_UTF8[kind.index(INVALID_UTF8.len())];
                b.splice(k..k, bad.iter().copied());
            }
            Mutation::Control(p, kind) => {
                let k = at(p, b);
                b.insert(k, CONTROLS[kind.index(CONTROLS.len())]);
            }
            Mutation::Repeat(p, n, times) => {
                let k = at(p, b);
                let part = b[k..(k + n).min(b.len())].to_vec();
                let mut all = Vec::with_capacity(part.len() * times);
                for _ in 0..*times {
                    all.extend_from_slice(&part);
                }
                b.splice(k..k, all);
            }
            Mutation::AllCrlf => {
                let mut out = Vec::with_capacity(b.len() + b.len() / 16);
                for (i, &c) in b.iter().enumerate() {
                    if c == b'\n' && (i == 0 || b[i - 1] != b'\r') {
                        out.push(b'\r');
                    }
                    out.push(c);
                }
                *b = out;
            }
            Mutation::AllLf => {
                let mut out = Vec::with_capacity(b.len());
                for (i, &c) in b.iter().enumerate() {
                    if !(c == b'\r' && b.get(i + 1) == Some(&b'\n')) {
                        out.push(c);
                    }
                }
                *b = out;
            }
            Mutation::Bom => {
                if !b.starts_with(b"\xef\xbb\xbf") {
                    b.splice(0..0, *b"\xef\xbb\xbf");
                }
            }
        }
        b.truncate(MAX_LEN);
    }
}

/// Applies mutations in order.
pub fn mutate(
    seed: &[u8],
    mutations: &[Mutation],
    others: &[(String, Vec<u8>)],
    dict: &[&[u8]],
) -> Vec<u8> {
    let mut b = seed.to_vec();
    for m in mutations {
        m.apply(&mut b, others, dict);
    }
    b
}

/// A seed of `seeds`, mutated 1 to 6 times (with splices from the other seeds).
pub fn mutated(
    seeds: Arc<Vec<(String, Vec<u8>)>>,
    dict: &'static [&'static [u8]],
) -> impl Strategy<Value = Bytes> {
    (any::<Index>(), prop::collection::vec(mutation(), 1..7)).prop_map(move |(i, ms)| {
        let (name, seed) = &seeds[i.index(seeds.len())];
        Bytes {
            origin: format!("{name} + {ms:?}"),
            bytes: mutate(seed, &ms, &seeds, dict),
        }
    })
}
