//! Terminal views and exports over a repository with a known timeline.

use crate::util::TestEnv;

const TEAM: &str = r#"[team.al]
name = "Al"
role = "ae"
[team.bo]
name = "Bo"
role = "sdr"

[targets]
"2026-Q1" = 1000
"#;

fn account(status: &str, extra: &str) -> String {
    format!(
        r#"name = "X"
status = "{status}"
{extra}"#
    )
}

const BANT: &str = r#"
[bant]
budget = "ok"
authority = "CEO"
need = "yes"
timeline = "Q1"
"#;

/// The timeline (every commit at 10:00 UTC):
/// - 01-05 acme (working, FR, Retail) with acme-1 identified; globex (working, US) with
///   globex-1 in trial (500/month); initech in the pool (DE).
/// - 01-15 acme-1 → qualified (1000/month, close 03-31). 01-20 a 30-minute call by al.
/// - 02-01 globex-1 → won (start 02-10); globex → customer.
/// - 02-11 acme-1 → closing. 03-01 acme-1 → lost (price); acme → backlog.
/// - 03-10 initech-1 (referral, 2000/month, close 04-30) identified; initech → working.
/// - 03-12 a demo.
pub fn timeline() -> TestEnv {
    let env = TestEnv::new();
    env.write("sloop.toml", TEAM);
    env.write(
        "accounts/acme.toml",
        account(
            "working",
            r#"owner = "al"
country = "FR"
industry = "Retail"
"#,
        ),
    );
    env.write(
        "accounts/globex.toml",
        account(
            "working",
            r#"owner = "al"
country = "US"
industry = "Logistics"
"#,
        ),
    );
    env.write(
        "accounts/initech.toml",
        account("qualified_pool", "country = \"DE\"\n"),
    );
    let acme1 = |stage: &str, extra: &str| {
        format!(
            r#"name = "Acme Pro"
account = "acme"
owner = "al"
stage = "{stage}"
source = "outbound"
created = 2026-01-05
{extra}"#
        )
    };
    env.write("opportunities/acme-1.toml", acme1("identified", ""));
    let globex1 = |stage: &str, extra: &str| {
        format!(
            r#"name = "Globex <Team> | *one*"
account = "globex"
owner = "al"
stage = "{stage}"
source = "inbound"
channel = "seo"
mrr = 500
integration = "Stripe"
{extra}"#
        )
    };
    env.write(
        "opportunities/globex-1.toml",
        globex1("trial", "close_date = 2026-02-28\n"),
    );
    env.git(&["init", "-q", "-b", "main"]);
    env.commit_all("start", "2026-01-05T10:00:00Z");
    env.write(
        "opportunities/acme-1.toml",
        acme1(
            "qualified",
            &format!(
                r#"mrr = 1000
close_date = 2026-03-31
{BANT}"#
            ),
        ),
    );
    env.commit_all("qualify", "2026-01-15T10:00:00Z");
    env.write(
        "activities/2026/01/call.toml",
        r#"kind = "call"
date = 2026-01-20
account = "acme"
owner = "al"
duration_min = 30
"#,
    );
    env.commit_all("call", "2026-01-20T10:00:00Z");
    env.write(
        "opportunities/globex-1.toml",
        globex1(
            "won",
            r#"close_date = 2026-02-01

[commit]
plan = "pro"
start_date = 2026-02-10
"#,
        ),
    );
    env.write(
        "accounts/globex.toml",
        account(
            "customer",
            r#"owner = "al"
country = "US"
industry = "Logistics"
"#,
        ),
    );
    env.commit_all("won", "2026-02-01T10:00:00Z");
    env.write(
        "opportunities/acme-1.toml",
        acme1(
            "closing",
            &format!(
                r#"mrr = 1000
close_date = 2026-03-31
{BANT}"#
            ),
        ),
    );
    env.commit_all("closing", "2026-02-11T10:00:00Z");
    env.write(
        "opportunities/acme-1.toml",
        acme1(
            "lost",
            &format!(
                r#"mrr = 1000
close_date = 2026-03-01
lost_reason = "price"
{BANT}"#
            ),
        ),
    );
    env.write(
        "accounts/acme.toml",
        account(
            "backlog",
            r#"owner = "al"
country = "FR"
industry = "Retail"
backlog_until = 2026-08-28
"#,
        ),
    );
    env.commit_all("lost", "2026-03-01T10:00:00Z");
    env.write(
        "opportunities/initech-1.toml",
        r#"name = "Initech"
account = "initech"
owner = "bo"
stage = "identified"
source = "referral"
mrr = 2000
close_date = 2026-04-30
"#,
    );
    env.write(
        "accounts/initech.toml",
        account(
            "working",
            r#"owner = "bo"
country = "DE"
"#,
        ),
    );
    env.commit_all("initech", "2026-03-10T10:00:00Z");
    env.write(
        "activities/2026/03/demo.toml",
        r#"kind = "demo"
date = 2026-03-12
account = "initech"
owner = "bo"
duration_min = 45
"#,
    );
    env.commit_all("demo", "2026-03-12T10:00:00Z");
    env
}

#[test]
fn pipeline_and_forecast() {
    let env = timeline();
    let run = env.run(&["pipeline", "--format", "csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        r#"stage,probability,count,mrr,weighted
identified,10,1,2000,200
qualified,20,0,0,0
trial,40,0,0,0
closing,50,0,0,0
commit,95,0,0,0
total,,1,2000,200
"#,
        "raw numbers in CSV"
    );
    let run = env.run(&["forecast", "--by", "owner", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"owner": "bo", "count": 1, "mrr": 2000.0, "weighted": 200.0}])
    );
    let run = env.run(&["forecast", "--by", "quarter", "--as-of", "2026-03-15"]);
    assert!(run.stdout.contains("2026-Q2"), "{}", run.stdout);
    // initech-1 closes on 04-30: in April until then, overdue after, never in a month over
    let by_month = |as_of: &str| {
        let run = env.run(&["forecast", "--as-of", as_of, "--format", "csv"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    assert_eq!(
        by_month("2026-04-30"),
        "month,count,mrr,weighted\noverdue,0,0,0\n2026-04,1,2000,200\n"
    );
    assert_eq!(
        by_month("2026-05-01"),
        "month,count,mrr,weighted\noverdue,1,2000,200\n"
    );
    let run = env.run(&[
        "forecast",
        "--by",
        "quarter",
        "--as-of",
        "2026-07-01",
        "--format",
        "csv",
    ]);
    assert_eq!(
        run.stdout, "quarter,count,mrr,weighted\n2026-Q3,1,2000,200\n",
        "overdue: in the current quarter"
    );
}

#[test]
fn pipeline_and_forecast_tables_whole() {
    let env = crate::util::example();
    for (args, name) in [
        (&["pipeline"][..], "views/pipeline.txt"),
        (&["forecast"], "views/forecast-month.txt"),
        (&["forecast", "--by", "owner"], "views/forecast-owner.txt"),
    ] {
        let run = env.run(&[&["-C", "crm"][..], args].concat());
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        crate::util::expect_file(name, &run.stdout);
    }
}

#[test]
fn history_of_a_record() {
    let env = timeline();
    let run = env.run(&["history", "opportunities/acme-1", "--format", "csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The creation shows every field it set, one row each; changes show old and new.
    crate::util::expect_file("views/history.csv", &run.stdout);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "date,author,commit,change,field,old,new");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("2026-01-05,") && l.ends_with(",created,name,,Acme Pro")),
        "{lines:?}"
    );
    let run = env.run(&["history", "opportunities/acme-1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    crate::util::expect_file("views/history.txt", &run.stdout);
    let run = env.run(&["history", "opportunities/nope"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no history for opportunity `nope`"),
        "{}",
        run.stderr
    );
    let run = env.run(&["history", "acme"]);
    assert_eq!(run.code, 2);
}

/// The exports read the history a commit at a time: the same bytes mined (the cache
/// written), from the cache, with a damaged cache line (mined again, with a warning), and
/// when the cache cannot be written at all.
#[test]
fn exports_are_the_same_mined_cached_and_without_a_cache() {
    let env = timeline();
    let cache = env.path().join(".git/sloop/history-v1");
    let exports = || -> Vec<(String, String)> {
        [
            &["export", "events"][..],
            &["export", "events", "--format", "csv"],
            &["export", "snapshot", "--as-of", "2026-01-31"],
            &[
                "export",
                "snapshot",
                "--format",
                "csv",
                "--as-of",
                "2026-03-31",
            ],
        ]
        .iter()
        .map(|args| {
            let run = env.run(args);
            assert_eq!(run.code, 0, "{}", run.stderr);
            (run.stdout, run.stderr)
        })
        .collect()
    };
    std::fs::remove_dir_all(&cache).ok();
    let mined = exports();
    assert!(mined[1].0.lines().count() > 20, "{}", mined[1].0);
    assert!(cache.is_dir());
    assert_eq!(exports(), mined, "from the cache");
    // A damaged line.
    let file = std::fs::read_dir(&cache)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&file).unwrap();
    let line = text.lines().nth(2).unwrap();
    let damaged = text.replacen(line, &line.replacen('"', "'", 1), 1);
    std::fs::write(&file, damaged).unwrap();
    let run = env.run(&["export", "events"]);
    assert_eq!(run.stdout, mined[0].0);
    assert!(
        run.stderr.contains("had a damaged line") && run.stderr.contains("mined again"),
        "{}",
        run.stderr
    );
    assert_eq!(exports(), mined, "mended");
    // No cache can be written: a file where its folder goes.
    std::fs::remove_dir_all(&cache).unwrap();
    std::fs::write(&cache, "").unwrap();
    assert_eq!(exports(), mined, "without a cache");
}

#[test]
fn exports_events_and_snapshots() {
    let env = timeline();
    let run = env.run(&[
        "export",
        "events",
        "--format",
        "csv",
        "--since",
        "2026-03-01",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "kind,id,change,field,old,new,commit,author,email,date"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("opportunity,acme-1,changed,stage,closing,lost,")),
        "{lines:?}"
    );
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.ends_with("2026-03-01T10:00:00+00:00") || l.contains(",2026-03-1")),
        "{lines:?}"
    );
    let run = env.run(&["export", "snapshot", "--as-of", "2026-01-31"]);
    let records: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let acme1 = records.iter().find(|r| r["id"] == "acme-1").unwrap();
    assert_eq!(acme1["stage"], "qualified");
    assert_eq!(acme1["bant.authority"], "CEO");
    assert!(
        !records.iter().any(|r| r["id"] == "initech-1"),
        "created later"
    );
}
