//! `sloop tick` on dated repositories: every rule at its threshold, precedence, idempotence,
//! format preservation, and git safety.

use crate::util::TestEnv;

const TEAM: &str = r#"[team.al]
name = "Al"
role = "ae"
[team.bo]
name = "Bo"
role = "sdr"
"#;

fn acc(status: &str, extra: &str) -> String {
    format!(
        r#"name = "X"
status = "{status}"
{extra}"#
    )
}

fn opp(account: &str, stage: &str, extra: &str) -> String {
    format!(
        r#"name = "Deal"
account = "{account}"
owner = "al"
stage = "{stage}"
source = "inbound"
created = 2026-09-01
{extra}"#
    )
}

fn act(account: &str, kind: &str, date: &str, extra: &str) -> String {
    format!(
        r#"kind = "{kind}"
date = {date}
account = "{account}"
owner = "bo"
{extra}"#
    )
}

/// One account per rule, committed on 2026-09-01; `churned-later` enters churn on 2026-09-15.
fn repo() -> TestEnv {
    let env = TestEnv::new();
    env.write("sloop.toml", TEAM);
    env.write("accounts/pool-touched.toml", acc("qualified_pool", ""));
    env.write(
        "activities/2026/09/touch.toml",
        act("pool-touched", "call", "2026-09-10", "duration_min = 10\n"),
    );
    env.write(
        "accounts/stale-target.toml",
        acc("target", "owner = \"al\"\n"),
    );
    env.write(
        "activities/2026/09/old-touch.toml",
        act("stale-target", "email", "2026-09-05", ""),
    );
    env.write(
        "accounts/busy-target.toml",
        acc("target", "owner = \"al\"\n"),
    );
    env.write(
        "activities/2026/09/busy-touch.toml",
        act("busy-target", "email", "2026-09-05", ""),
    );
    env.write(
        "activities/2026/09/busy-task.toml",
        act("busy-target", "task", "2026-09-05", "due = 2026-12-01\n"),
    );
    env.write(
        "accounts/target-with-deal.toml",
        acc("target", "owner = \"al\"\n"),
    );
    env.write(
        "opportunities/target-deal.toml",
        opp("target-with-deal", "identified", ""),
    );
    env.write("accounts/churned.toml", acc("churn", "owner = \"al\"\n"));
    env.write(
        "accounts/churned-later.toml",
        acc("customer", "owner = \"al\"\n"),
    );
    env.write(
        "accounts/parked.toml",
        acc(
            "backlog",
            r#"owner = "al"
backlog_until = 2026-10-15
fit = "high"
"#,
        ),
    );
    env.write("accounts/winning.toml", acc("working", "owner = \"al\"\n"));
    env.write(
        "opportunities/winning-deal.toml",
        opp(
            "winning",
            "won",
            r#"mrr = 300
close_date = 2026-09-20
[commit]
plan = "pro"
start_date = 2026-10-01
"#,
        ),
    );
    env.write("accounts/losing.toml", acc("working", "owner = \"al\"\n"));
    env.write(
        "opportunities/losing-deal.toml",
        opp(
            "losing",
            "lost",
            r#"lost_reason = "price"
close_date = 2026-09-20
"#,
        ),
    );
    env.git(&["init", "-q", "-b", "main"]);
    env.commit_all("start", "2026-09-01T10:00:00Z");
    env.write(
        "accounts/churned-later.toml",
        acc("churn", "owner = \"al\"\n"),
    );
    env.commit_all("churned", "2026-09-15T10:00:00Z");
    env
}

fn plan(env: &TestEnv, as_of: &str) -> serde_json::Value {
    let run = env.run(&["tick", "--dry-run", "--format", "json", "--as-of", as_of]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

/// (account, rule) of every status move.
fn moves(v: &serde_json::Value) -> Vec<(String, String)> {
    v["moves"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["field"] == "status")
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn fires(env: &TestEnv, as_of: &str, account: &str, rule: &str) -> bool {
    moves(&plan(env, as_of)).contains(&(account.to_string(), rule.to_string()))
}

#[test]
fn every_rule_fires_at_its_threshold_and_not_the_day_before() {
    let env = repo();
    // first-touch: the call of 2026-09-10 counts from that day
    assert!(!fires(&env, "2026-09-09", "pool-touched", "first-touch"));
    assert!(fires(&env, "2026-09-10", "pool-touched", "first-touch"));
    // target-stale: last touch 2026-09-05 + 30 days
    assert!(!fires(&env, "2026-10-04", "stale-target", "target-stale"));
    assert!(fires(&env, "2026-10-05", "stale-target", "target-stale"));
    // backlog-expired: on backlog_until
    assert!(!fires(&env, "2026-10-14", "parked", "backlog-expired"));
    assert!(fires(&env, "2026-10-15", "parked", "backlog-expired"));
    // churn-recycled: 90 days after the commit that set `churn`
    assert!(!fires(&env, "2026-11-29", "churned", "churn-recycled"));
    assert!(fires(&env, "2026-11-30", "churned", "churn-recycled"));
    assert!(!fires(
        &env,
        "2026-12-13",
        "churned-later",
        "churn-recycled"
    ));
    assert!(fires(&env, "2026-12-14", "churned-later", "churn-recycled"));
    // opportunity-stale (an alert): created 2026-09-01, never touched, 14 days
    let stale = |as_of: &str| {
        plan(&env, as_of)["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == "target-deal" && a["rule"] == "opportunity-stale")
    };
    assert!(!stale("2026-09-14"));
    assert!(stale("2026-09-15"));
    // deals
    assert!(fires(&env, "2026-09-02", "winning", "opportunity-won"));
    assert!(fires(&env, "2026-09-02", "losing", "opportunities-lost"));
    assert!(fires(
        &env,
        "2026-09-02",
        "target-with-deal",
        "opportunity-opened"
    ));
}

#[test]
fn precedence_and_alerts() {
    let env = repo();
    let v = plan(&env, "2026-11-01");
    let m = moves(&v);
    // an open opportunity wins over staleness: the stale target with a deal goes to working
    assert!(m.contains(&("target-with-deal".into(), "opportunity-opened".into())));
    assert!(
        !m.iter().any(|(id, _)| id == "busy-target"),
        "open task due later: no move"
    );
    let alerts = v["alerts"].as_array().unwrap();
    let busy = alerts.iter().find(|a| a["id"] == "busy-target").unwrap();
    assert_eq!(busy["rule"], "target-stale");
    assert_eq!(busy["kind"], "account");
    assert_eq!(busy["owner"], "al");
    let deal = alerts.iter().find(|a| a["id"] == "target-deal").unwrap();
    assert_eq!(deal["rule"], "opportunity-stale");
    // one move per account
    let mut ids: Vec<&String> = m.iter().map(|(id, _)| id).collect();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n);
}

#[test]
fn tick_commits_once_with_its_date_and_message_and_is_idempotent() {
    let env = repo();
    let run = env.run(&["tick", "--as-of", "2026-10-15", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let sha = v["commit"].as_str().unwrap().to_string();
    let log = env.git(&[
        "log",
        "-1",
        "--format=%H%n%ad%n%cd%n%B",
        "--date=iso-strict",
    ]);
    let lines: Vec<&str> = log.stdout.lines().collect();
    assert_eq!(lines[0], sha);
    assert_eq!(lines[1], "2026-10-15T12:00:00Z");
    assert_eq!(lines[2], "2026-10-15T12:00:00Z");
    assert_eq!(lines[3], "sloop tick 2026-10-15: 6 moves");
    assert!(
        lines.contains(&"accounts/parked: backlog -> qualified_pool (backlog-expired)"),
        "{lines:?}"
    );
    assert!(lines.contains(&"accounts/stale-target: target -> backlog (target-stale)"));
    assert!(lines.contains(&"accounts/stale-target: backlog_until = 2027-04-13 (target-stale)"));
    assert!(lines.contains(&"accounts/pool-touched: owner = bo (first-touch)"));
    // The whole message, and what the command printed for the same plan.
    let message = env.git(&["log", "-1", "--format=%B"]);
    crate::util::expect_file("tick/commit-message.txt", &message.stdout);
    // the result passes both checks
    assert_eq!(env.run(&["check"]).code, 0);
    let range = env.run(&["check", "--range", "HEAD~1..HEAD"]);
    assert_eq!(range.code, 0, "{}", range.stdout);
    // twice: nothing to do, no commit
    let again = env.run(&["tick", "--as-of", "2026-10-15"]);
    assert_eq!(again.code, 0);
    assert!(
        again
            .stdout
            .starts_with("Nothing to move as of 2026-10-15."),
        "{}",
        again.stdout
    );
    assert_eq!(env.git(&["rev-parse", "HEAD"]).stdout.trim(), sha);
    assert_eq!(env.git(&["status", "--porcelain"]).stdout, "");
}

#[test]
fn tick_prints_its_plan_whole() {
    let env = repo();
    let run = env.run(&["tick", "--as-of", "2026-10-15", "--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    crate::util::expect_file("tick/dry-run.txt", &run.stdout);
    let run = env.run(&["tick", "--as-of", "2026-10-15"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let id = env.git(&["rev-parse", "--short=12", "HEAD"]).stdout;
    crate::util::expect_file(
        "tick/commit.txt",
        &run.stdout.replace(id.trim(), "<commit>"),
    );
}

#[test]
fn edits_keep_comments_order_and_spacing() {
    let env = repo();
    let before = r#"# Parked until the budget cycle.
name   = "Parked Co"   # legal name
status = "backlog"  # set by hand
owner = "al"
backlog_until = 2026-10-15 # budget cycle
fit = "high"

[custom]
note = "keep me"
"#;
    env.write("accounts/parked.toml", before);
    env.commit_all("comments", "2026-09-20T10:00:00Z");
    let run = env.run(&["tick", "--as-of", "2026-10-15"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let after = r#"# Parked until the budget cycle.
name   = "Parked Co"   # legal name
status = "qualified_pool"  # set by hand
owner = "al"
fit = "high"

[custom]
note = "keep me"
"#;
    assert_eq!(env.read("accounts/parked.toml"), after);
}

#[test]
fn refuses_a_dirty_file_it_must_edit_and_writes_nothing() {
    let env = repo();
    env.write(
        "accounts/parked.toml",
        acc(
            "backlog",
            r#"owner = "al"
backlog_until = 2026-10-15
fit = "high"
# my edit
"#,
        ),
    );
    let head = env.git(&["rev-parse", "HEAD"]).stdout;
    let run = env.run(&["tick", "--as-of", "2026-10-15"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("accounts/parked.toml has uncommitted changes"),
        "{}",
        run.stderr
    );
    assert_eq!(env.git(&["rev-parse", "HEAD"]).stdout, head);
    assert!(env.read("accounts/parked.toml").ends_with("# my edit\n"));
    assert!(env
        .read("accounts/stale-target.toml")
        .contains("status = \"target\""));
}

/// A file both staged and edited again (`MM`) was listed twice in the refusal.
#[test]
fn a_file_staged_and_edited_again_is_named_once() {
    let env = repo();
    let parked = |comment: &str| {
        acc(
            "backlog",
            &format!("owner = \"al\"\nbacklog_until = 2026-10-15\nfit = \"high\"\n{comment}"),
        )
    };
    env.write("accounts/parked.toml", parked("# staged\n"));
    assert_eq!(env.git(&["add", "accounts/parked.toml"]).code, 0);
    env.write("accounts/parked.toml", parked("# staged\n# and edited\n"));
    let status = env.git(&["status", "--porcelain"]).stdout;
    assert_eq!(status, "MM accounts/parked.toml\n");
    let before = crate::util::snapshot(env.path());
    let run = env.run(&["tick", "--as-of", "2026-10-15"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stderr,
        "error: accounts/parked.toml has uncommitted changes: tick must edit it\nhint: commit \
         or stash your changes to those files, then tick again (or use --no-commit)\n"
    );
    assert_eq!(crate::util::snapshot(env.path()), before);
    assert_eq!(env.git(&["status", "--porcelain"]).stdout, status);
    let set = env.run(&["set", "accounts/parked", "fit=low", "--commit"]);
    assert_eq!(set.code, 2, "{}{}", set.stdout, set.stderr);
    assert_eq!(
        set.stderr.matches("accounts/parked.toml").count(),
        1,
        "{}",
        set.stderr
    );
    assert_eq!(crate::util::snapshot(env.path()), before);
}

#[test]
fn leaves_the_users_staged_work_staged_and_out_of_the_commit() {
    let env = repo();
    env.write(
        "contacts/jo.toml",
        r#"name = "Jo"
account = "winning"
"#,
    );
    env.git(&["add", "contacts/jo.toml"]);
    env.write("notes.md", "unstaged scratch\n");
    let run = env.run(&["tick", "--as-of", "2026-10-15"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let files = env
        .git(&["show", "--name-only", "--format=", "HEAD"])
        .stdout;
    assert!(!files.contains("contacts/jo.toml"), "{files}");
    assert!(files.contains("accounts/parked.toml"));
    let status = env.git(&["status", "--porcelain"]).stdout;
    assert_eq!(
        status,
        r#"A  contacts/jo.toml
?? notes.md
"#
    );
}

#[test]
fn git_states_that_refuse() {
    // as-of before the last commit
    let env = repo();
    let run = env.run(&["tick", "--as-of", "2026-09-10"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("before the last commit (2026-09-15)"),
        "{}",
        run.stderr
    );
    // detached HEAD
    env.git(&["checkout", "-q", "--detach"]);
    let run = env.run(&["tick", "--as-of", "2026-10-15"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("HEAD is detached"), "{}", run.stderr);
    env.git(&["checkout", "-q", "main"]);
    // index lock held
    env.write(".git/index.lock", "");
    let run = env.run(&["tick", "--as-of", "2026-10-15"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("index is locked"), "{}", run.stderr);
    std::fs::remove_file(env.path().join(".git/index.lock")).unwrap();
    // commit signing
    env.git(&["config", "commit.gpgsign", "true"]);
    let run = env.run(&["tick", "--as-of", "2026-10-15"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("commit.gpgsign"), "{}", run.stderr);
    assert!(run.stderr.contains("--no-commit"), "{}", run.stderr);
    env.git(&["config", "commit.gpgsign", "false"]);
    // a record that does not parse
    env.write("accounts/broken.toml", "name = \n");
    env.commit_all("broken", "2026-09-16T10:00:00Z");
    let run = env.run(&["tick", "--as-of", "2026-10-15"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("sloop check"), "{}", run.stderr);
    let heads = env.git(&["log", "--format=%s"]).stdout;
    assert!(!heads.contains("sloop tick"), "{heads}");
}

#[test]
fn unborn_branch_and_merge_in_progress_refuse() {
    let env = TestEnv::new();
    env.write("sloop.toml", TEAM);
    env.git(&["init", "-q"]);
    let run = env.run(&["tick"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no commit yet"), "{}", run.stderr);
    let env = repo();
    env.git(&["checkout", "-q", "-b", "side"]);
    env.write("accounts/winning.toml", acc("working", "owner = \"bo\"\n"));
    env.commit_all("side", "2026-09-16T10:00:00Z");
    env.git(&["checkout", "-q", "main"]);
    env.write(
        "accounts/winning.toml",
        acc(
            "working",
            r#"owner = "al"
employees = 3
"#,
        ),
    );
    env.commit_all("main", "2026-09-16T11:00:00Z");
    assert_ne!(env.git(&["merge", "side"]).code, 0);
    let run = env.run(&["tick", "--as-of", "2026-10-15"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("a merge is in progress"),
        "{}",
        run.stderr
    );
}

#[test]
fn no_commit_edits_the_work_tree_only() {
    let env = repo();
    let head = env.git(&["rev-parse", "HEAD"]).stdout;
    let run = env.run(&["tick", "--as-of", "2026-10-15", "--no-commit"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(env.git(&["rev-parse", "HEAD"]).stdout, head);
    assert!(env
        .read("accounts/parked.toml")
        .contains("status = \"qualified_pool\""));
}

/// With a report's snapshot on disk, tick reads its events from it (brought forward to HEAD)
/// and plans exactly what it plans from the history alone.
#[test]
fn the_report_snapshot_gives_the_same_plan() {
    let env = repo();
    let fresh = plan(&env, "2026-11-20");
    let run = env.run(&["report", "--format", "json", "--as-of", "2026-11-20"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(env.path().join(".git/sloop/snapshot-v1").is_dir());
    assert_eq!(plan(&env, "2026-11-20"), fresh);
    // A commit the snapshot does not have: an account becomes a target on 2026-11-01, so it
    // is idle from then (19 days), not from its last touch (2026-09-10, 71 days).
    env.write(
        "accounts/pool-touched.toml",
        acc("target", "owner = \"al\"\n"),
    );
    env.commit_all("targeted", "2026-11-01T10:00:00Z");
    let with_snapshot = plan(&env, "2026-11-20");
    assert!(!moves(&with_snapshot)
        .iter()
        .any(|(id, _)| id == "pool-touched"));
    std::fs::remove_dir_all(env.path().join(".git/sloop")).unwrap();
    assert_eq!(plan(&env, "2026-11-20"), with_snapshot);
}

/// Tick keeps of the report's snapshot only what its rules read (contacts and leads as ids
/// and paths): it still counts the errors a full load of HEAD counts, and refuses alike.
#[test]
fn with_the_snapshot_tick_counts_the_errors_of_every_kind() {
    let env = repo();
    env.write(
        "contacts/bad.toml",
        "name = \"Bad\"\naccount = \"pool-touched\"\nemail = 3\n",
    );
    env.write("leads/broken.toml", "name = [\n");
    env.commit_all("two broken files", "2026-09-20T10:00:00Z");
    let tick = || env.run(&["tick", "--dry-run", "--as-of", "2026-11-20"]);
    let fresh = tick();
    assert_eq!(fresh.code, 1, "{}{}", fresh.stdout, fresh.stderr);
    assert!(
        fresh.stderr.contains("the CRM has 2 error(s) in HEAD"),
        "{}",
        fresh.stderr
    );
    let report = env.run(&["report", "--format", "json", "--as-of", "2026-11-20"]);
    assert!(
        env.path().join(".git/sloop/snapshot-v1").is_dir(),
        "{}",
        report.stderr
    );
    let cached = tick();
    assert_eq!(
        (cached.code, &cached.stdout, &cached.stderr),
        (fresh.code, &fresh.stdout, &fresh.stderr)
    );
}

/// In a shallow clone every record "appears" in the oldest fetched commit: a status dated only
/// by that commit is unknown, so the rules that count from it wait, whether the history is
/// mined or read from the report's snapshot. The full history dates both churns.
#[test]
fn a_shallow_clone_dates_nothing_at_its_edge() {
    let env = repo();
    let churn_moves = |dir: &str| -> Vec<String> {
        let run = env.run(&[
            "-C",
            dir,
            "tick",
            "--dry-run",
            "--format",
            "json",
            "--as-of",
            "2026-12-31",
        ]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let mut ids: Vec<String> = moves(&v)
            .into_iter()
            .filter(|(_, rule)| rule == "churn-recycled")
            .map(|(id, _)| id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(churn_moves("."), ["churned", "churned-later"]);
    env.shallow_clone("shallow", 1);
    // Mined (no snapshot yet), then from the snapshot a report leaves.
    assert!(churn_moves("shallow").is_empty());
    let run = env.run(&["-C", "shallow", "report", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(env.path().join("shallow/.git/sloop/snapshot-v1").is_dir());
    assert!(churn_moves("shallow").is_empty());
}

/// Issue 18, item 10: after `git fetch --unshallow` or `--deepen`, the report and tick kept the
/// shallow history the caches were written with. Each cache is keyed by the shallow boundary:
/// with the caches, both give what they give without them.
#[test]
fn after_unshallow_or_deepen_the_caches_give_what_a_fresh_run_gives() {
    let env = repo();
    env.write(
        "activities/2026/09/later.toml",
        act("winning", "email", "2026-09-25", ""),
    );
    env.commit_all("later", "2026-09-25T10:00:00Z");
    let outputs = |dir: &str| -> (String, String) {
        let run = |args: &[&str]| {
            let mut all = vec!["-C", dir];
            all.extend_from_slice(args);
            let run = env.run(&all);
            assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
            run.stdout
        };
        let as_of = ["--format", "json", "--as-of", "2026-12-31"];
        let report = run(&[&["report"][..], &as_of].concat());
        let tick = run(&[&["tick", "--dry-run"][..], &as_of].concat());
        (report, tick)
    };
    for (dir, fetch) in [("unshallow", "--unshallow"), ("deepen", "--deepen=1")] {
        env.shallow_clone(dir, 1);
        // Warm: the report writes its snapshot, tick reads it.
        let shallow = outputs(dir);
        let fetched = env.git(&["-C", dir, "fetch", "-q", fetch]);
        assert_eq!(fetched.code, 0, "{}", fetched.stderr);
        let cached = outputs(dir);
        assert_ne!(cached.0, shallow.0, "{dir}: the history is longer");
        std::fs::remove_dir_all(env.path().join(dir).join(".git/sloop")).unwrap();
        assert_eq!(cached, outputs(dir), "{dir}");
    }
}
