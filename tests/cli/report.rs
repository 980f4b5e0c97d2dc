//! Reports on a repository with a hand-computed timeline: every stable key of the context and
//! the main metrics of each family, to the unit.

use crate::util::TestEnv;
use crate::views::timeline;

fn context(env: &TestEnv, as_of: &str) -> serde_json::Value {
    let run = env.run(&["report", "--format", "json", "--as-of", as_of]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn every_stable_key_to_the_unit() {
    let env = timeline();
    assert_eq!(env.run(&["check", "--range", "HEAD~7..HEAD"]).code, 0);
    let c = context(&env, "2026-03-15");
    assert_eq!(c["as_of"], "2026-03-15");
    assert_eq!(c["period"], "quarter");
    assert_eq!(
        c["periods"],
        serde_json::json!({
            "quarter": {"name": "quarter", "label": "2026-Q1", "from": "2026-01-01", "to": "2026-03-15"},
            "90d": {"name": "90d", "label": "90 days", "from": "2025-12-16", "to": "2026-03-15"},
            "all": {"name": "all", "label": "all time", "from": null, "to": "2026-03-15"}
        })
    );
    assert_eq!(c["mrr"]["total"], 500.0);
    assert_eq!(
        c["mrr"]["by_owner"],
        serde_json::json!([{"owner": "al", "mrr": 500.0, "new_this_quarter": 500.0, "target": null}])
    );
    let stages: Vec<(String, u64, f64, f64)> = c["pipeline"]["by_stage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap().into(),
                s["count"].as_u64().unwrap(),
                s["mrr"].as_f64().unwrap(),
                s["weighted"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        stages,
        vec![
            ("identified".into(), 1, 2000.0, 200.0),
            ("qualified".into(), 0, 0.0, 0.0),
            ("trial".into(), 0, 0.0, 0.0),
            ("closing".into(), 0, 0.0, 0.0),
            ("commit".into(), 0, 0.0, 0.0),
        ]
    );
    assert_eq!(
        c["forecast"],
        serde_json::json!({
            "overdue": {"count": 0, "mrr": 0.0, "weighted": 0.0},
            "this_month": {"month": "2026-03", "count": 0, "mrr": 0.0, "weighted": 0.0},
            "by_month": [{"month": "2026-04", "count": 1, "mrr": 2000.0, "weighted": 200.0}],
            "by_quarter": [{"quarter": "2026-Q2", "count": 1, "mrr": 2000.0, "weighted": 200.0}],
            "by_owner": [{"owner": "bo", "count": 1, "mrr": 2000.0, "weighted": 200.0}]
        })
    );
    assert_eq!(
        c["win_loss"],
        serde_json::json!({
            "quarter": {"won": 1, "lost": 1, "win_rate": 0.5},
            "90d": {"won": 1, "lost": 1, "win_rate": 0.5},
            "all": {"won": 1, "lost": 1, "win_rate": 0.5}
        })
    );
    // one clock: the commits that changed the stage; initech-1 has been in identified
    // since 03-10
    assert_eq!(
        c["stage_durations"]["quarter"],
        serde_json::json!([
            {"stage": "identified", "left": 1, "mean_days": 10.0, "median_days": 10.0, "in_progress": 1, "mean_age_days": 5.0, "max_age_days": 5.0},
            {"stage": "qualified", "left": 1, "mean_days": 27.0, "median_days": 27.0, "in_progress": 0, "mean_age_days": null, "max_age_days": null},
            {"stage": "trial", "left": 1, "mean_days": 27.0, "median_days": 27.0, "in_progress": 0, "mean_age_days": null, "max_age_days": null},
            {"stage": "closing", "left": 1, "mean_days": 18.0, "median_days": 18.0, "in_progress": 0, "mean_age_days": null, "max_age_days": null},
            {"stage": "commit", "left": 0, "mean_days": null, "median_days": null, "in_progress": 0, "mean_age_days": null, "max_age_days": null}
        ])
    );
    assert_eq!(
        c["lost_reasons"]["quarter"],
        serde_json::json!([{"reason": "price", "count": 1}])
    );
    assert_eq!(
        c["by_source"]["quarter"],
        serde_json::json!([
            {"source": "outbound", "opened": 1, "won": 0, "lost": 1, "win_rate": 0.0},
            {"source": "inbound", "opened": 1, "won": 1, "lost": 0, "win_rate": 1.0},
            {"source": "referral", "opened": 1, "won": 0, "lost": 0, "win_rate": null}
        ])
    );
}

#[test]
fn main_metrics_of_each_family() {
    let env = timeline();
    let c = context(&env, "2026-03-15");
    // the MRR timeline
    assert_eq!(c["mrr"]["quarter"], "2026-Q1");
    assert_eq!(c["mrr"]["new_this_quarter"], 500.0);
    assert_eq!(c["mrr"]["target"], 1000.0);
    let months = c["mrr"]["by_month"].as_array().unwrap();
    assert_eq!(
        months[10..],
        [
            serde_json::json!({"month": "2026-02", "opening": 0.0, "new": 500.0, "upsell": 0.0, "churned": 0.0, "total": 500.0}),
            serde_json::json!({"month": "2026-03", "opening": 500.0, "new": 0.0, "upsell": 0.0, "churned": 0.0, "total": 500.0}),
        ]
    );
    assert_eq!(months[11]["total"], c["mrr"]["total"]);
    let status = |s: &str| {
        c["accounts_by_status"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["status"] == s)
            .unwrap()["count"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        (status("customer"), status("backlog"), status("working")),
        (1, 1, 1)
    );
    let week = c["weekly"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (week["week"].as_str(), week["demos"].as_u64()),
        (Some("2026-03-09"), Some(1))
    );
    // sales floor
    let member = |id: &str| {
        c["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()
            .clone()
    };
    let al = member("al");
    assert_eq!(
        al["periods"]["quarter"],
        serde_json::json!({
            "new_mrr": 500.0, "won": 1, "lost": 1, "win_rate": 0.5, "activities": 1,
            "touchpoints": 1, "calls": 1, "call_minutes": 30, "tasks_done": 0, "meetings": 0, "demos": 0,
            "demos_sourced": 0, "opportunities_created": 2, "leads_addressed": 0
        })
    );
    let pipe: Vec<(String, u64)> = al["pipe"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["count"] != 0)
        .map(|s| {
            (
                s["status"].as_str().unwrap().into(),
                s["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(pipe, vec![("customer".into(), 1), ("backlog".into(), 1)]);
    assert_eq!(member("bo")["periods"]["quarter"]["demos"], 1);
    // analytics
    let a = &c["analytics"];
    assert_eq!(
        a["sales_cycle"]["quarter"],
        serde_json::json!({"n": 1, "mean_days": 27.0, "median_days": 27.0})
    );
    assert_eq!(
        a["onboarding_delay"]["quarter"],
        serde_json::json!({"n": 1, "mean_days": 9.0, "median_days": 9.0})
    );
    // conversion counts the deals that left a stage; initech-1 is still in identified
    assert_eq!(
        c["conversion"]["quarter"][0],
        serde_json::json!({
            "stage": "identified", "left": 1, "in_progress": 1,
            "exits": [{"to": "qualified", "count": 1, "rate": 1.0}, {"to": "lost", "count": 0, "rate": 0.0}]
        })
    );
    assert_eq!(
        a["geography"],
        serde_json::json!([{"zone": "FR", "accounts": 1, "customers": 0}, {"zone": "US", "accounts": 1, "customers": 1}, {"zone": "other", "accounts": 1, "customers": 0}])
    );
    assert_eq!(
        a["inbound_by_channel"]["quarter"],
        serde_json::json!([{"channel": "seo", "count": 1}])
    );
    assert_eq!(
        a["onboardings_by_integration"]["quarter"],
        serde_json::json!([{"tool": "Stripe", "count": 1}])
    );
    assert_eq!(
        a["ltv"],
        serde_json::json!({
            "window": {"from": "2025-03-01", "to": "2026-02-28", "months": 12},
            "arpa": 500.0, "monthly_churn_rate": null, "months": null, "value": null
        })
    );
    // the weekly pipeline: 2,000 open at the end, 1,000 + 500 open in January
    let wp = c["weekly_pipeline"].as_array().unwrap();
    assert_eq!(wp.len(), 52);
    assert_eq!(wp.last().unwrap()["mrr"], 2000.0);
    let jan = wp.iter().find(|w| w["week"] == "2026-01-18").unwrap();
    assert_eq!(
        (jan["count"].as_u64(), jan["mrr"].as_f64()),
        (Some(2), Some(1500.0))
    );
    // this week: the initech deal and account move, the demo is not a move
    assert_eq!(c["this_week"]["from"], "2026-03-09");
    assert!(c["this_week"]["created"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == "initech-1"));
    // an earlier as-of sees the earlier state
    let jan = context(&env, "2026-01-31");
    assert_eq!(jan["mrr"]["total"], 0.0);
    assert_eq!(jan["pipeline"]["total"]["mrr"], 1500.0);
    // after its close date, initech-1 is overdue
    let may = context(&env, "2026-05-05");
    assert_eq!(
        may["forecast"]["overdue"],
        serde_json::json!({"count": 1, "mrr": 2000.0, "weighted": 200.0})
    );
    assert_eq!(may["forecast"]["by_month"], serde_json::json!([]));
}

/// `--period` picks what the templates show, and both say which period it is.
#[test]
fn the_period_is_chosen_and_shown() {
    let env = timeline();
    let run = env.run(&[
        "report",
        "--as-of",
        "2026-03-15",
        "--period",
        "month",
        "--format",
        "json",
    ]);
    let c: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(c["period"], "month");
    assert_eq!(c["periods"]["month"]["label"], "2026-03");
    assert_eq!(
        c["win_loss"]["month"],
        serde_json::json!({"won": 0, "lost": 1, "win_rate": 0.0})
    );
    let md = env.run(&[
        "report",
        "--as-of",
        "2026-03-15",
        "--period",
        "90d",
        "--template",
        "weekly.md",
    ]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(
        md.stdout
            .contains("Win rates and the team's figures cover 90 days (2025-12-16 to 2026-03-15)."),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout
            .contains("| Win rate, 90 days | 50% (1 won, 1 lost) |"),
        "{}",
        md.stdout
    );
    let html = env.run(&["report", "--as-of", "2026-03-15", "--period", "all"]);
    assert!(
        html.stdout
            .contains("<h2 id=\"floor\">Sales floor</h2>\n<p class=\"meta\">all time (to 2026-03-15): what each member did"),
        "{}",
        html.stdout
    );
    let bad = env.run(&["report", "--period", "year"]);
    assert_eq!(bad.code, 2);
}

#[test]
fn both_templates_render_and_escape_record_values() {
    let env = timeline();
    env.write(
        "opportunities/evil.toml",
        r#"name = "<script>alert(1)</script> | *bold* [x](y)"
account = "initech"
owner = "bo"
stage = "identified"
source = "referral"
mrr = 10
close_date = 2026-04-30
"#,
    );
    env.commit_all("evil", "2026-03-13T10:00:00Z");
    let html = env.run(&["report", "--as-of", "2026-03-15"]);
    assert_eq!(html.code, 0, "{}", html.stderr);
    assert!(html.stdout.to_lowercase().starts_with("<!doctype html>"));
    assert!(
        !html.stdout.contains("<script>alert(1)"),
        "raw script in the HTML"
    );
    assert!(
        html.stdout
            .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || html
                .stdout
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped name missing"
    );
    assert!(
        !html.stdout.contains("src=\"http") && !html.stdout.contains("href=\"http"),
        "the page is self-contained"
    );
    let md = env.run(&["report", "--template", "weekly.md", "--as-of", "2026-03-15"]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(
        md.stdout
            .starts_with("# Weekly pipeline report, 2026-03-09 to 2026-03-15"),
        "{}",
        md.stdout
    );
    let line = md
        .stdout
        .lines()
        .find(|l| l.contains("alert(1)"))
        .expect("the new deal is listed");
    assert!(
        line.contains("\\<script\\>alert(1)\\</script\\> \\| \\*bold\\* \\[x\\](y)"),
        "{line}"
    );
    // the row keeps its two cells: three unescaped `|` separators, as in `| opportunity | … |`
    let bytes = line.as_bytes();
    let separators = (0..bytes.len())
        .filter(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
        .count();
    assert_eq!(separators, 3, "{line}");
}

#[test]
fn out_file_unknown_template_and_template_errors() {
    let env = timeline();
    let run = env.run(&["report", "--out", "report.html", "--as-of", "2026-03-15"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(env.read("report.html").contains("Sales dashboard"));
    let run = env.run(&["report", "--template", "nope.html"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("unknown template `nope.html`; available: dashboard.html, weekly.md"),
        "{}",
        run.stderr
    );
    env.write(
        "templates/mine.txt",
        r#"MRR {{ mrr.total }}
{% if %}
"#,
    );
    let run = env.run(&["report", "--template", "mine.txt"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("templates/mine.txt:2: "),
        "{}",
        run.stderr
    );
    env.write("templates/mine.txt", "MRR {{ mrr.total }}\n");
    let run = env.run(&["report", "--template", "mine.txt", "--as-of", "2026-03-15"]);
    assert_eq!(run.stdout, "MRR 500.0\n");
}

#[test]
fn unparseable_records_are_skipped_with_a_warning_and_shallow_clones_warn() {
    let env = timeline();
    env.write("opportunities/broken.toml", "name = \n");
    let bad = env.commit_all("a broken file", "2026-03-13T10:00:00Z");
    let run = env.run(&["report", "--format", "json", "--as-of", "2026-03-15"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "warning: commit {}: opportunities/broken.toml",
            &bad[..12]
        )),
        "{}",
        run.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["mrr"]["total"], 500.0, "the rest still counts");
    env.shallow_clone("shallow", 2);
    let run = env.run(&[
        "-C",
        "shallow",
        "report",
        "--format",
        "json",
        "--as-of",
        "2026-03-15",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("shallow clone: the history starts on"),
        "{}",
        run.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["history"]["shallow"], true);
}

/// Issue 18, item 10: `sloop doctor` checks the caches, removes a snapshot that fails its
/// checksum and rewrites the history cache without its damaged lines; the report is then the
/// same as before.
#[test]
fn doctor_removes_damaged_caches() {
    let env = timeline();
    let before = context(&env, "2026-03-15");
    let snapshot = env
        .path()
        .join(".git/sloop/snapshot-v1/crm-cbf29ce484222325.bin");
    let history = env
        .path()
        .join(".git/sloop/history-v1/crm-cbf29ce484222325.jsonl");
    // The report keeps its own snapshot and writes no history cache (it does not read the
    // activities' files); `sloop history` reads every kind and writes it.
    assert!(!history.exists(), "the report wrote no history cache");
    let run = env.run(&["history", "accounts/acme"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert!(history.exists());
    // One bit flipped in the last block of records; one changed value in a line.
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    std::fs::write(&snapshot, bytes).unwrap();
    let text = std::fs::read_to_string(&history).unwrap();
    std::fs::write(&history, text.replacen("\"qualified\"", "\"closing\"", 1)).unwrap();

    let run = env.run(&["doctor"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert_eq!(
        run.stdout,
        "Repaired .git/sloop/history-v1/crm-cbf29ce484222325.jsonl: removed 1 line that fails its checksum (the commits are mined again when needed)\n\
         Removed .git/sloop/snapshot-v1/crm-cbf29ce484222325.bin (a cache file that fails its checksum; it is rebuilt when needed)\n"
    );
    let run = env.run(&["doctor"]);
    assert_eq!(
        run.stdout,
        "Nothing to clean: no interrupted write, no temporary file, no damaged cache.\n"
    );
    let run = env.run(&["report", "--format", "json", "--as-of", "2026-03-15"]);
    assert_eq!(run.stderr, "", "a rebuild after doctor is quiet");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap(),
        before
    );
}

/// Issue 18, item 10: a damaged snapshot is reported once, on stderr, and rebuilt.
#[test]
fn a_damaged_snapshot_is_reported_once() {
    let env = timeline();
    let before = context(&env, "2026-03-15");
    let snapshot = ".git/sloop/snapshot-v1/crm-cbf29ce484222325.bin";
    let mut bytes = std::fs::read(env.path().join(snapshot)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(env.path().join(snapshot), bytes).unwrap();
    let run = env.run(&["report", "--format", "json", "--as-of", "2026-03-15"]);
    assert_eq!(run.code, 0);
    let file = env.path().join(snapshot);
    assert_eq!(
        run.stderr,
        format!(
            "warning: the report snapshot {} is damaged (it fails its checksum): it was removed, and is rebuilt\n",
            file.display()
        )
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap(),
        before
    );
    let run = env.run(&["report", "--format", "json", "--as-of", "2026-03-15"]);
    assert_eq!(run.stderr, "");
}

/// The README's "Report metrics" table defines every key of the context: each top-level
/// key, each key of `mrr`, `pipeline`, `forecast` and `analytics`, and each figure of a
/// member's period.
#[test]
fn the_readme_defines_every_key_of_the_context() {
    let readme = std::fs::read_to_string(crate::util::repo_root().join("README.md")).unwrap();
    let section = readme
        .split("### Report metrics")
        .nth(1)
        .and_then(|s| s.split("\n### ").next())
        .expect("the Report metrics section");
    let env = timeline();
    let c = context(&env, "2026-03-15");
    let mut keys = Vec::new();
    for (k, v) in c.as_object().unwrap() {
        match k.as_str() {
            "mrr" | "pipeline" | "forecast" | "analytics" => {
                keys.extend(v.as_object().unwrap().keys().map(|s| format!("{k}.{s}")))
            }
            _ => keys.push(k.clone()),
        }
    }
    keys.extend(
        c["members"][0]["periods"]["quarter"]
            .as_object()
            .unwrap()
            .keys()
            .cloned(),
    );
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| !section.contains(&format!("`{k}`")))
        .collect();
    assert!(missing.is_empty(), "not in the README: {missing:?}");
}

/// An empty CRM's dashboard says what to do next and draws no chart; the demo's alerts show
/// their `fields` as `<code>`, never as Markdown backticks.
#[test]
fn the_dashboard_of_an_empty_crm_and_alerts_as_html() {
    let env = TestEnv::new();
    assert_eq!(env.run(&["init", "crm"]).code, 0);
    env.git(&["-C", "crm", "add", "-A"]);
    env.git(&["-C", "crm", "commit", "-qm", "init"]);
    let empty = env.run(&["-C", "crm", "report"]);
    assert_eq!(empty.code, 0, "{}", empty.stderr);
    assert!(empty
        .stdout
        .contains("<h2 id=\"start\">Nothing to show yet</h2>"));
    assert!(empty.stdout.contains("<code>sloop new account"));
    assert!(!empty.stdout.contains("<svg"), "an empty CRM draws charts");
    assert!(!empty.stdout.contains("class=\"kpis\""));

    assert_eq!(
        env.run(&["demo", "demo", "--months", "3", "--seed", "3"])
            .code,
        0
    );
    let html = std::fs::read_to_string(env.path().join("demo/report.html")).unwrap();
    let alerts = html
        .split("<h3 style=\"margin-top:16px\">Alerts</h3>")
        .nth(1)
        .unwrap();
    let alerts = &alerts[..alerts.find("</table>").unwrap()];
    assert!(alerts.contains("<code>"), "{alerts}");
    assert!(!alerts.contains('`'), "{alerts}");
    assert!(!html.contains("Nothing to show yet"));
}
