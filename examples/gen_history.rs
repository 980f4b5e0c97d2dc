//! Generates a CRM repository with a long history, for benchmarking history mining.
//!
//!     cargo run --release --example gen_history -- DIR [--commits 5000] [--accounts 5000]
//!         [--contacts 10000] [--opportunities 3000] [--activities 30000] [--prefix crm]
//!         [--shard] [--seed 1]
//!
//! The first commit adds every record; each following commit changes 1–6 files the way a
//! sales team does (opportunity stage moves, account status moves, new activities in the
//! month's folder, new or edited contacts, leads and opportunities). Objects are written
//! directly with git2 (blobs, raw trees and commits, loose), rewriting only the folders a
//! commit touches: 5,000 commits over 48,000 records take ~50 s and 1.3 GB of loose objects.
//! Run `git -C DIR repack -adf` afterwards (~2 min, 28 MB) for a packed repository like one
//! that has been gc'd. Nothing is checked out. The output depends only on the arguments.
//!
//! A benchmark tool, not part of the library: it talks to git2 directly.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use git2::{ObjectType, Oid};

struct Args {
    dir: PathBuf,
    commits: usize,
    accounts: usize,
    contacts: usize,
    opportunities: usize,
    activities: usize,
    prefix: String,
    shard: bool,
    seed: u64,
}

fn parse_args() -> Args {
    let mut args = Args {
        dir: PathBuf::new(),
        commits: 5000,
        accounts: 5000,
        contacts: 10000,
        opportunities: 3000,
        activities: 30000,
        prefix: String::new(),
        shard: false,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let num = |it: &mut dyn Iterator<Item = String>| -> usize {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&format!("{a} needs a number")))
        };
        match a.as_str() {
            "--commits" => args.commits = num(&mut it),
            "--accounts" => args.accounts = num(&mut it),
            "--contacts" => args.contacts = num(&mut it),
            "--opportunities" => args.opportunities = num(&mut it),
            "--activities" => args.activities = num(&mut it),
            "--seed" => args.seed = num(&mut it) as u64,
            "--shard" => args.shard = true,
            "--prefix" => {
                args.prefix = it
                    .next()
                    .unwrap_or_else(|| usage("--prefix needs a folder"))
            }
            s if s.starts_with('-') => usage(&format!("unknown option {s}")),
            s => args.dir = PathBuf::from(s),
        }
    }
    if args.dir.as_os_str().is_empty() {
        usage("missing DIR");
    }
    args
}

fn usage(msg: &str) -> ! {
    eprintln!("gen_history: {msg}\nusage: gen_history DIR [--commits N] [--accounts N] [--contacts N] [--opportunities N] [--activities N] [--prefix DIR] [--shard] [--seed N]");
    std::process::exit(2)
}

/// splitmix64: deterministic and good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const MEMBERS: &[&str] = &["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"];
const STATUSES: &[&str] = &[
    "qualified_pool",
    "unqualified_pool",
    "target",
    "working",
    "customer",
    "churn",
    "disqualified",
];
const STAGES: &[&str] = &[
    "identified",
    "qualified",
    "trial",
    "closing",
    "commit",
    "won",
    "lost",
];
const SOURCES: &[&str] = &["outbound", "inbound", "referral", "partnership"];
const KINDS: &[&str] = &["email", "call", "meeting", "demo", "note"];
const WORDS: &[&str] = &[
    "pricing",
    "follow-up",
    "onboarding",
    "renewal",
    "demo",
    "contract",
    "budget",
    "legal",
    "integration",
    "trial",
    "billing",
    "roadmap",
    "security",
    "review",
    "kickoff",
];

/// A folder of the tree being built: files and subfolders by name, and its id when unchanged
/// since it was last written.
#[derive(Default)]
struct Dir {
    files: BTreeMap<String, Oid>,
    dirs: BTreeMap<String, Dir>,
    id: Option<Oid>,
}

impl Dir {
    fn put(&mut self, path: &str, blob: Oid) {
        self.id = None;
        match path.split_once('/') {
            Some((d, rest)) => self.dirs.entry(d.to_string()).or_default().put(rest, blob),
            None => {
                self.files.insert(path.to_string(), blob);
            }
        }
    }

    fn write(&mut self, odb: &git2::Odb) -> Oid {
        if let Some(id) = self.id {
            return id;
        }
        let mut entries: Vec<(String, &str, Oid)> = Vec::new();
        for (name, d) in self.dirs.iter_mut() {
            entries.push((format!("{name}/"), "40000", d.write(odb)));
        }
        for (name, id) in &self.files {
            entries.push((name.clone(), "100644", *id));
        }
        entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut raw = Vec::with_capacity(entries.len() * 56);
        for (key, mode, id) in entries {
            raw.extend_from_slice(mode.as_bytes());
            raw.push(b' ');
            raw.extend_from_slice(key.trim_end_matches('/').as_bytes());
            raw.push(0);
            raw.extend_from_slice(id.as_bytes());
        }
        let id = odb.write(ObjectType::Tree, &raw).expect("write tree");
        self.id = Some(id);
        id
    }
}

struct Gen {
    rng: Rng,
    args: Args,
    /// Current contents of every record, by CRM-relative path.
    accounts: Vec<(String, String)>,
    contacts: Vec<(String, String)>,
    opportunities: Vec<(String, String)>,
    leads: Vec<(String, String)>,
    activities: usize,
}

impl Gen {
    fn folder(&self, kind: &str, id: &str) -> String {
        if self.args.shard {
            let h = id
                .bytes()
                .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
            format!("{kind}/{:02x}/{id}.toml", h & 0xff)
        } else {
            format!("{kind}/{id}.toml")
        }
    }

    fn padding(&mut self, out: &mut String, target: usize) {
        out.push_str("\n[custom]\nnotes = \"");
        while out.len() < target {
            let w = self.rng.pick(WORDS);
            out.push_str(w);
            out.push(' ');
        }
        out.push_str("\"\n");
    }

    fn account(&mut self, i: usize, status: &str) -> String {
        let mut s = String::new();
        let owner = self.rng.pick(MEMBERS);
        let _ = write!(
            s,
            "name = \"Company {i}\"\nstatus = \"{status}\"\nowner = \"{owner}\"\ndomain = \"company-{i}.example.com\"\nfit = \"{}\"\nindustry = \"software\"\nemployees = {}\ncountry = \"FR\"\nsource = \"{}\"\ntools = [\"hubspot\", \"stripe\"]\n",
            if i.is_multiple_of(3) { "low" } else { "high" },
            10 + self.rng.below(500),
            self.rng.pick(SOURCES),
        );
        if status == "disqualified" {
            s.push_str("disqualified_reason = \"too small\"\n");
        }
        self.padding(&mut s, 480);
        s
    }

    fn contact(&mut self, i: usize, title: &str) -> String {
        let mut s = String::new();
        let account = self.rng.below(self.args.accounts.max(1));
        let _ = write!(
            s,
            "name = \"Person {i}\"\naccount = \"company-{account}\"\nemail = \"person-{i}@company-{account}.example.com\"\ntitle = \"{title}\"\nrole = \"champion\"\nphone = \"+33 1 23 45 67 89\"\n"
        );
        self.padding(&mut s, 460);
        s
    }

    fn opportunity(&mut self, i: usize, stage: &str) -> String {
        let mut s = String::new();
        let account = self.rng.below(self.args.accounts.max(1));
        let _ = write!(
            s,
            "name = \"Deal {i}\"\naccount = \"company-{account}\"\nowner = \"{}\"\nstage = \"{stage}\"\nsource = \"{}\"\nmrr = {}\nclose_date = 2026-{:02}-{:02}\n\n[bant]\nbudget = \"approved\"\nauthority = \"CFO\"\nneed = \"invoicing\"\ntimeline = \"this quarter\"\n",
            self.rng.pick(MEMBERS),
            self.rng.pick(SOURCES),
            100 * (1 + self.rng.below(40)),
            1 + self.rng.below(12),
            1 + self.rng.below(28),
        );
        if stage == "lost" {
            s.push_str("lost_reason = \"price\"\n");
        }
        self.padding(&mut s, 560);
        s
    }

    fn lead(&mut self, i: usize, status: &str) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "company = \"Prospect {i}\"\nemail = \"hello@prospect-{i}.example.com\"\nsource = \"inbound\"\nchannel = \"webinar\"\nstatus = \"{status}\"\n"
        );
        self.padding(&mut s, 400);
        s
    }

    fn activity(&mut self, day: &str, account: usize) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "kind = \"{}\"\ndate = {day}\naccount = \"company-{account}\"\nowner = \"{}\"\nsubject = \"{} call\"\n",
            self.rng.pick(KINDS),
            self.rng.pick(MEMBERS),
            self.rng.pick(WORDS),
        );
        self.padding(&mut s, 420);
        s
    }
}

fn main() {
    let args = parse_args();
    let started = Instant::now();
    std::fs::create_dir_all(&args.dir).expect("create DIR");
    let repo = git2::Repository::init(&args.dir).expect("git init");
    repo.set_head("refs/heads/main").expect("set HEAD");
    let odb = repo.odb().expect("odb");
    let seed = args.seed;
    let mut g = Gen {
        rng: Rng(seed),
        args,
        accounts: Vec::new(),
        contacts: Vec::new(),
        opportunities: Vec::new(),
        leads: Vec::new(),
        activities: 0,
    };
    let prefix = if g.args.prefix.is_empty() {
        String::new()
    } else {
        format!("{}/", g.args.prefix.trim_end_matches('/'))
    };
    // Nothing is checked out, but the CRM folder must exist for `history::mine` to place it.
    std::fs::create_dir_all(g.args.dir.join(&prefix)).expect("create the CRM folder");
    let mut root = Dir::default();
    let put = |root: &mut Dir, path: &str, contents: &str| {
        let blob = odb
            .write(ObjectType::Blob, contents.as_bytes())
            .expect("blob");
        root.put(&format!("{prefix}{path}"), blob);
    };

    // The first commit: every record.
    put(&mut root, "sloop.toml", "currency = \"EUR\"\n");
    if !prefix.is_empty() {
        let readme = odb.write(ObjectType::Blob, b"A repository with a CRM in a folder.\n");
        root.put("README.md", readme.expect("blob"));
    }
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
    for i in 0..g.args.accounts {
        let status = g.rng.pick(STATUSES);
        let text = g.account(i, status);
        let path = g.folder("accounts", &format!("company-{i}"));
        put(&mut root, &path, &text);
        g.accounts.push((path, status.to_string()));
    }
    for i in 0..g.args.contacts {
        let text = g.contact(i, "CFO");
        let path = g.folder("contacts", &format!("person-{i}"));
        put(&mut root, &path, &text);
        g.contacts.push((path, "CFO".into()));
    }
    for i in 0..g.args.opportunities {
        let stage = g.rng.pick(STAGES);
        let text = g.opportunity(i, stage);
        let path = g.folder("opportunities", &format!("deal-{i}"));
        put(&mut root, &path, &text);
        g.opportunities.push((path, stage.to_string()));
    }
    for i in 0..g.args.activities {
        let day = start - chrono::Days::new(1 + (i % 700) as u64);
        let account = g.rng.below(g.args.accounts.max(1));
        let text = g.activity(&day.to_string(), account);
        let path = format!("activities/{}/act-{i}.toml", day.format("%Y/%m"));
        put(&mut root, &path, &text);
    }
    g.activities = g.args.activities;
    let people = [
        ("Alice Martin", "alice@example.com"),
        ("Bob Stone", "bob@example.com"),
        ("Chloé Petit", "chloe@example.com"),
        ("Dan Ito", "dan@example.com"),
    ];
    let mut at = start
        .and_hms_opt(9, 0, 0)
        .expect("time")
        .and_utc()
        .timestamp();
    let write_commit = |tree: Oid, parent: Option<Oid>, at: i64, who: (&str, &str), msg: &str| {
        let mut raw = format!("tree {tree}\n");
        if let Some(p) = parent {
            let _ = writeln!(raw, "parent {p}");
        }
        let _ = write!(
            raw,
            "author {} <{}> {at} +0100\ncommitter {} <{}> {at} +0100\n\n{msg}\n",
            who.0, who.1, who.0, who.1
        );
        odb.write(ObjectType::Commit, raw.as_bytes())
            .expect("commit")
    };
    let tree = root.write(&odb);
    let mut head = write_commit(tree, None, at, people[0], "Import the CRM");
    eprintln!(
        "first commit: {} records in {:.1?}",
        g.accounts.len() + g.contacts.len() + g.opportunities.len() + g.activities,
        started.elapsed()
    );

    for n in 1..g.args.commits {
        at += 3600 * (1 + g.rng.below(6)) as i64;
        let day = chrono::DateTime::from_timestamp(at, 0)
            .expect("time")
            .date_naive();
        let changes = 1 + g.rng.below(6);
        let mut summary = Vec::new();
        for _ in 0..changes {
            match g.rng.below(100) {
                0..=29 if !g.opportunities.is_empty() => {
                    let i = g.rng.below(g.opportunities.len());
                    let stage = g.rng.pick(STAGES);
                    let text = g.opportunity(i, stage);
                    let path = g.opportunities[i].0.clone();
                    put(&mut root, &path, &text);
                    g.opportunities[i].1 = stage.to_string();
                    summary.push(format!("deal-{i} → {stage}"));
                }
                30..=49 if !g.accounts.is_empty() => {
                    let i = g.rng.below(g.accounts.len());
                    let status = g.rng.pick(STATUSES);
                    let text = g.account(i, status);
                    let path = g.accounts[i].0.clone();
                    put(&mut root, &path, &text);
                    summary.push(format!("company-{i} → {status}"));
                }
                50..=54 => {
                    let i = g.opportunities.len();
                    let text = g.opportunity(i, "identified");
                    let path = g.folder("opportunities", &format!("deal-{i}"));
                    put(&mut root, &path, &text);
                    g.opportunities.push((path, "identified".into()));
                    summary.push(format!("new deal-{i}"));
                }
                55..=62 => {
                    let new = g.contacts.is_empty() || g.rng.below(2) == 0;
                    let i = if new {
                        g.contacts.len()
                    } else {
                        g.rng.below(g.contacts.len())
                    };
                    let title = g.rng.pick(&["CFO", "CEO", "Head of Finance", "Controller"]);
                    let text = g.contact(i, title);
                    let path = g.folder("contacts", &format!("person-{i}"));
                    put(&mut root, &path, &text);
                    if new {
                        g.contacts.push((path, title.into()));
                    }
                    summary.push(format!("contact person-{i}"));
                }
                63..=67 => {
                    let new = g.leads.is_empty() || g.rng.below(2) == 0;
                    let i = if new {
                        g.leads.len()
                    } else {
                        g.rng.below(g.leads.len())
                    };
                    let status = g.rng.pick(&["new", "working", "rejected"]);
                    let text = g.lead(i, status);
                    let path = g.folder("leads", &format!("lead-{i}"));
                    put(&mut root, &path, &text);
                    if new {
                        g.leads.push((path, status.into()));
                    }
                    summary.push(format!("lead-{i}"));
                }
                _ => {
                    let i = g.activities;
                    g.activities += 1;
                    let account = g.rng.below(g.args.accounts.max(1));
                    let text = g.activity(&day.to_string(), account);
                    let path = format!("activities/{}/act-{i}.toml", day.format("%Y/%m"));
                    put(&mut root, &path, &text);
                    summary.push(format!("log act-{i}"));
                }
            }
        }
        let tree = root.write(&odb);
        let who = people[g.rng.below(people.len())];
        head = write_commit(tree, Some(head), at, who, &summary.join(", "));
        if n % 1000 == 0 {
            eprintln!("{n} commits in {:.1?}", started.elapsed());
        }
    }
    repo.reference("refs/heads/main", head, true, "gen_history")
        .expect("update main");
    eprintln!(
        "{} commits, head {head}, in {:.1?}",
        g.args.commits,
        started.elapsed()
    );
}
