//! Moving in: a team's whole CRM imported from HubSpot, Pipedrive, Salesforce and a
//! spreadsheet (the vendor-shaped exports of tests/fixtures/exports, with the mapping
//! files of tests/fixtures/exports/maps), its history written as dated commits. Each import
//! passes `sloop check --range` over its commits, and the report's stage durations, MRR
//! and win/loss are what the export's own columns give, computed here from the files.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{Duration, NaiveDate, NaiveDateTime};

use crate::util::{expect_file, repo_root, snapshot, Run, TestEnv};

/// A CRM in `crm/` with the Voilier team of the fixtures (Camille Durand, Lucas Martin,
/// Sofia Rossi), committed.
pub fn voilier() -> TestEnv {
    let env = TestEnv::new();
    assert_eq!(env.git(&["init", "-q", "-b", "main"]).code, 0);
    let init = env.run(&["init", "crm"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let config = env.read("crm/sloop.toml").replacen(
        "currency = \"EUR\"\n",
        "currency = \"EUR\"\n\n[team.camille]\nname = \"Camille Durand\"\nrole = \"ae\"\nemail = \"camille.durand@voilier.io\"\n\n[team.lucas]\nname = \"Lucas Martin\"\nrole = \"ae\"\nemail = \"lucas.martin@voilier.io\"\n\n[team.sofia]\nname = \"Sofia Rossi\"\nrole = \"ae\"\nemail = \"sofia.rossi@voilier.io\"\n",
        1,
    );
    env.write("crm/sloop.toml", config);
    env.commit_all("the CRM", "2024-01-02T09:00:00+01:00");
    env
}

pub fn fixture(rel: &str) -> String {
    repo_root()
        .join("tests/fixtures/exports")
        .join(rel)
        .display()
        .to_string()
}

/// The fixture's path as the import prints it: relative to the test's folder.
fn shown(env: &TestEnv, out: &str) -> String {
    let root = repo_root()
        .join("tests/fixtures/exports")
        .display()
        .to_string();
    out.replace(&root, "EXPORTS")
        .replace(&env.path().display().to_string(), "TEST")
}

fn import(env: &TestEnv, from: &str, what: &str, extra: &[&str]) -> Run {
    import_env(env, &[], from, what, extra)
}

/// `import` with these environment variables set as well.
fn import_env(env: &TestEnv, vars: &[(&str, &str)], from: &str, what: &str, extra: &[&str]) -> Run {
    let files = fixture(what);
    let map = fixture(&format!("maps/{from}.toml"));
    let mut args = vec![
        "-C", "crm", "import", "crm", "--from", from, &files, "--map", &map,
    ];
    args.extend(extra);
    env.run_env(vars, &args)
}

/// The arguments that import the Salesforce export copied to the test's `export/` folder
/// with the fixtures' mapping file `map`, and commit it.
fn copied_export_import(map: &str) -> [&str; 10] {
    [
        "-C",
        "crm",
        "import",
        "crm",
        "--from",
        "salesforce",
        "export",
        "--map",
        map,
        "--commit",
    ]
}

/// `sloop check --range` over every commit since the CRM's first.
fn range_passes(env: &TestEnv) -> String {
    let root = env.git(&["rev-list", "--max-parents=0", "HEAD"]);
    let range = format!("{}..HEAD", root.stdout.trim());
    let run = env.run(&["-C", "crm", "check", "--range", &range]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.ends_with(" 0 errors, 0 warnings\n") || run.stdout.contains(" 0 errors,"),
        "{}",
        run.stdout
    );
    run.stdout
}

fn report(env: &TestEnv) -> serde_json::Value {
    let run = env.run(&[
        "-C",
        "crm",
        "report",
        "--format",
        "json",
        "--as-of",
        "2024-05-21",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

/// Rows of a fixture CSV by header (UTF-8 files only).
fn rows(rel: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(PathBuf::from(fixture(rel))).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records()
        .map(|row| {
            header
                .iter()
                .cloned()
                .zip(row.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// A mapping file's `[section]` as folded-key → value, the way the import reads it.
fn section(from: &str, name: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(fixture(&format!("maps/{from}.toml"))).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    doc.get(name)
        .and_then(|t| t.as_table())
        .map(|t| {
            t.iter()
                .map(|(k, v)| (fold(k), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn fold(s: &str) -> String {
    sloop::model::ids::slugify(s).replace('-', " ")
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").unwrap()
}

/// A Salesforce UTC time as a day at +01:00 (the mapping's `utc_offset`).
fn utc_day(s: &str) -> NaiveDate {
    let t = NaiveDateTime::parse_from_str(&s[..19], "%Y-%m-%dT%H:%M:%S").unwrap();
    (t + Duration::hours(1)).date()
}

/// Per stage, how many deals left it and the mean days they spent there, from each
/// deal's timeline (days it entered each of our stages, oldest first): what the report's
/// `stage_durations` must say.
fn durations(timelines: &[Vec<(NaiveDate, String)>]) -> BTreeMap<String, (u64, f64)> {
    let mut spent: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for t in timelines {
        let mut t = t.clone();
        t.sort_by_key(|e| e.0);
        t.dedup_by(|b, a| a.1 == b.1);
        for w in t.windows(2) {
            spent
                .entry(w[0].1.clone())
                .or_default()
                .push((w[1].0 - w[0].0).num_days());
        }
    }
    spent
        .into_iter()
        .map(|(stage, days)| {
            let mean = days.iter().sum::<i64>() as f64 / days.len() as f64;
            (stage, (days.len() as u64, (mean * 100.0).round() / 100.0))
        })
        .collect()
}

fn reported_durations(report: &serde_json::Value) -> BTreeMap<String, (u64, f64)> {
    report["stage_durations"]["all"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["left"].as_u64().unwrap() > 0)
        .map(|s| {
            (
                s["stage"].as_str().unwrap().to_string(),
                (
                    s["left"].as_u64().unwrap(),
                    s["mean_days"].as_f64().unwrap(),
                ),
            )
        })
        .collect()
}

fn win_loss(report: &serde_json::Value) -> (u64, u64) {
    (
        report["win_loss"]["all"]["won"].as_u64().unwrap(),
        report["win_loss"]["all"]["lost"].as_u64().unwrap(),
    )
}

/// The history as `git log` shows it: day, author, subject, oldest first.
fn log(env: &TestEnv) -> String {
    env.git(&["log", "--reverse", "--format=%ad %an: %s", "--date=short"])
        .stdout
}

#[test]
fn a_hubspot_export_moves_in_with_its_history() {
    let env = voilier();
    // The mapping file to edit, from the export.
    let files = fixture("hubspot");
    let init = env.run(&[
        "-C",
        "crm",
        "import",
        "crm",
        "--from",
        "hubspot",
        &files,
        "--init-map",
    ]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    expect_file(
        "moving-in/hubspot-init-map.toml",
        &env.read("sloop-import-hubspot.toml"),
    );
    let run = import(&env, "hubspot", "hubspot", &["--commit"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    expect_file("moving-in/hubspot-summary.txt", &shown(&env, &run.stdout));
    expect_file("moving-in/hubspot-log.txt", &log(&env));
    assert_eq!(env.git(&["status", "--porcelain", "--", "crm"]).stdout, "");
    range_passes(&env);
    let r = report(&env);
    // The export's own columns: stage dates, amounts (annual, so /12), churn.
    let stages = section("hubspot", "stages");
    let deals = rows("hubspot/deals.csv");
    let timelines: Vec<Vec<(NaiveDate, String)>> = deals
        .iter()
        .map(|d| {
            d.iter()
                .filter_map(|(k, v)| {
                    let stage = k.strip_prefix("Date entered \"")?.rsplit_once(" (")?.0;
                    (!v.is_empty()).then(|| (day(v), stages[&fold(stage)].clone()))
                })
                .collect()
        })
        .collect();
    assert_eq!(reported_durations(&r), durations(&timelines));
    let won = deals
        .iter()
        .filter(|d| d["Deal Stage"] == "Closed Won")
        .count() as u64;
    let lost = deals
        .iter()
        .filter(|d| d["Deal Stage"] == "Closed Lost")
        .count() as u64;
    assert_eq!(win_loss(&r), (won, lost));
    let churned: Vec<String> = rows("hubspot/companies.csv")
        .into_iter()
        .filter(|c| !c["Churn date"].is_empty())
        .map(|c| c["Record ID"].clone())
        .collect();
    let mrr: f64 = deals
        .iter()
        .filter(|d| {
            d["Deal Stage"] == "Closed Won"
                && !churned.contains(&d["Associated Company IDs (Primary)"])
        })
        .map(|d| d["Amount"].parse::<f64>().unwrap() / 12.0)
        .sum();
    assert_eq!(r["mrr"]["total"].as_f64().unwrap(), mrr);
    assert_eq!(mrr, 1200.0);
    let ls = env.run(&["-C", "crm", "ls", "opportunities", "--format", "csv"]);
    expect_file("moving-in/hubspot-opportunities.csv", &ls.stdout);
    // The account moved as its deals did: working when its deal opened, customer when it
    // was won, churn on its churn date.
    let history = env.run(&[
        "-C",
        "crm",
        "history",
        "accounts/brightline-analytics-inc",
        "--format",
        "csv",
    ]);
    expect_file("moving-in/hubspot-brightline-history.csv", &history.stdout);
}

#[test]
fn a_pipedrive_export_moves_in_with_its_history() {
    let env = voilier();
    // Léa's call is on no organization: the import refuses it, names it, writes nothing.
    let before = snapshot(env.path());
    let run = import(&env, "pipedrive", "pipedrive", &["--commit"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.ends_with("/pipedrive/activities.csv:16: the activity is on no company (nor on a deal or person that has one)\n   = help: every activity is on an account\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("1 problem(s): nothing was written"),
        "{}",
        run.stderr
    );
    assert!(snapshot(env.path()) == before, "nothing written");
    let run = import(
        &env,
        "pipedrive",
        "pipedrive",
        &["--commit", "--skip-invalid"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    expect_file("moving-in/pipedrive-summary.txt", &shown(&env, &run.stdout));
    expect_file("moving-in/pipedrive-log.txt", &log(&env));
    range_passes(&env);
    let r = report(&env);
    // Pipedrive exports no stage history: a deal starts in the mapping's initial stage,
    // enters its current stage on `Last stage change`, and is won or lost on its won or
    // lost time.
    let stages = section("pipedrive", "stages");
    let deals = rows("pipedrive/deals.csv");
    let timelines: Vec<Vec<(NaiveDate, String)>> = deals
        .iter()
        .map(|d| {
            let created = day(&d["Deal - Deal created"]);
            let here = stages[&fold(&d["Deal - Stage"])].clone();
            let mut t = vec![(created, "identified".to_string())];
            let change = &d["Deal - Last stage change"];
            if !change.is_empty() && day(change) > created {
                t.push((day(change), here));
            } else {
                t[0].1 = here;
            }
            match d["Deal - Status"].as_str() {
                "Won" => t.push((day(&d["Deal - Won time"]), "won".into())),
                "Lost" => t.push((day(&d["Deal - Lost time"]), "lost".into())),
                _ => {}
            }
            t
        })
        .collect();
    assert_eq!(reported_durations(&r), durations(&timelines));
    let count = |s: &str| deals.iter().filter(|d| d["Deal - Status"] == s).count() as u64;
    assert_eq!(win_loss(&r), (count("Won"), count("Lost")));
    // Won, on an organization not churned; the value is annual, in its currency.
    let churned: Vec<String> = rows("pipedrive/organizations.csv")
        .into_iter()
        .filter(|o| !o["Organization - Churn date"].is_empty())
        .map(|o| o["Organization - ID"].clone())
        .collect();
    let rate = |c: &str| match c {
        "USD" => 0.92,
        "CHF" => 1.04,
        _ => 1.0,
    };
    let mrr: f64 = deals
        .iter()
        .filter(|d| d["Deal - Status"] == "Won" && !churned.contains(&d["Deal - Organization ID"]))
        .map(|d| {
            d["Deal - Value"].parse::<f64>().unwrap() * rate(&d["Deal - Currency of Value"]) / 12.0
        })
        .sum();
    assert_eq!(r["mrr"]["total"].as_f64().unwrap(), mrr);
    let ls = env.run(&["-C", "crm", "ls", "activities", "--format", "csv"]);
    expect_file("moving-in/pipedrive-activities.csv", &ls.stdout);
}

#[test]
fn a_salesforce_data_export_moves_in_with_its_history() {
    let env = voilier();
    let run = import(&env, "salesforce", "salesforce/data-export", &["--commit"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    expect_file(
        "moving-in/salesforce-summary.txt",
        &shown(&env, &run.stdout),
    );
    expect_file("moving-in/salesforce-log.txt", &log(&env));
    range_passes(&env);
    let r = report(&env);
    // The stage history is OpportunityHistory.csv, in UTC.
    let stages = section("salesforce", "stages");
    let mut timelines: BTreeMap<String, Vec<(NaiveDate, String)>> = BTreeMap::new();
    for h in rows("salesforce/data-export/OpportunityHistory.csv") {
        timelines
            .entry(h["OpportunityId"].clone())
            .or_default()
            .push((
                utc_day(&h["CreatedDate"]),
                stages[&fold(&h["StageName"])].clone(),
            ));
    }
    let timelines: Vec<_> = timelines.into_values().collect();
    assert_eq!(reported_durations(&r), durations(&timelines));
    let deals = rows("salesforce/data-export/Opportunity.csv");
    let closed = |won: &str| {
        deals
            .iter()
            .filter(|d| d["IsClosed"] == "true" && d["IsWon"] == won)
            .count() as u64
    };
    assert_eq!(win_loss(&r), (closed("true"), closed("false")));
    let churned: Vec<String> = rows("salesforce/data-export/Account.csv")
        .into_iter()
        .filter(|a| !a["Churn_Date__c"].is_empty())
        .map(|a| a["Id"].clone())
        .collect();
    let mrr: f64 = deals
        .iter()
        .filter(|d| d["IsWon"] == "true" && !churned.contains(&d["AccountId"]))
        .map(|d| d["Amount"].parse::<f64>().unwrap() / 12.0)
        .sum();
    assert_eq!(r["mrr"]["total"].as_f64().unwrap(), mrr);
    // Owners were user ids, resolved through User.csv.
    let ls = env.run(&["-C", "crm", "ls", "accounts", "--format", "csv"]);
    expect_file("moving-in/salesforce-accounts.csv", &ls.stdout);
}

/// An import killed at any step of its commit (the history and the files are written at the
/// same time) is rolled back by the next write, which leaves neither files nor the history's
/// private ref; run again, the import gives the same commits as one never interrupted.
#[test]
fn an_import_killed_at_any_step_is_rolled_back_and_the_rerun_is_the_same() {
    let clean = voilier();
    let run = import(
        &clean,
        "salesforce",
        "salesforce/data-export",
        &["--commit"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let expected = log(&clean);
    let head = clean.git(&["rev-parse", "HEAD"]).stdout;
    for point in ["journal", "files", "index", "commit"] {
        let env = voilier();
        let killed = import_env(
            &env,
            &[("SLOOP_CRASH_AT", point)],
            "salesforce",
            "salesforce/data-export",
            &["--commit"],
        );
        assert_ne!(killed.code, 0, "{point}: it did not die");
        let doctor = env.run(&["-C", "crm", "doctor"]);
        assert!(
            format!("{}{}", doctor.stdout, doctor.stderr)
                .contains("an interrupted sloop write was"),
            "{point}: {}{}",
            doctor.stdout,
            doctor.stderr
        );
        assert_eq!(
            env.git(&["for-each-ref", "refs/sloop"]).stdout,
            "",
            "{point}"
        );
        let status = env.git(&["status", "--porcelain", "--untracked-files=all"]);
        assert_eq!(status.stdout, "", "{point}: files left");
        let again = import(&env, "salesforce", "salesforce/data-export", &["--commit"]);
        assert_eq!(again.code, 0, "{point}: {}{}", again.stdout, again.stderr);
        assert_eq!(log(&env), expected, "{point}");
        assert_eq!(env.git(&["rev-parse", "HEAD"]).stdout, head, "{point}");
        assert_eq!(
            env.git(&["for-each-ref", "refs/sloop"]).stdout,
            "",
            "{point}"
        );
    }
}

#[test]
fn a_spreadsheet_moves_in_and_its_bad_cells_are_named() {
    let env = voilier();
    let before = snapshot(env.path());
    let run = import(&env, "csv", "spreadsheet", &["--commit"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let problems: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("deals.csv:") && !l.contains(" deals ("))
        .collect();
    assert_eq!(
        problems
            .iter()
            .map(|l| l.rsplit_once("spreadsheet/").unwrap().1)
            .collect::<Vec<_>>(),
        [
            "deals.csv:3: `end of June` is not a date (column `Close date`)",
            "deals.csv:7: `Q3` is not a date (column `Close date`)",
        ]
    );
    assert!(snapshot(env.path()) == before, "nothing written");
    let run = import(&env, "csv", "spreadsheet", &["--commit", "--skip-invalid"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    expect_file(
        "moving-in/spreadsheet-summary.txt",
        &shown(&env, &run.stdout),
    );
    expect_file("moving-in/spreadsheet-log.txt", &log(&env));
    range_passes(&env);
    let r = report(&env);
    // A sheet has no stage history: a deal starts in the initial stage on its created day
    // (in its own stage when that is where it still is) and closes on its close date.
    let stages = section("csv", "stages");
    let deals = rows("spreadsheet/deals.csv");
    let dmy = |s: &str| NaiveDate::parse_from_str(s, "%d/%m/%Y").ok();
    let kept: Vec<&BTreeMap<String, String>> = deals
        .iter()
        .filter(|d| d["Close date"].is_empty() || dmy(&d["Close date"]).is_some())
        .collect();
    let timelines: Vec<Vec<(NaiveDate, String)>> = kept
        .iter()
        .map(|d| {
            let created = dmy(&d["Created"]).unwrap();
            let stage = stages[&fold(&d["Stage"])].clone();
            if stage == "won" || stage == "lost" {
                vec![
                    (created, "identified".into()),
                    (dmy(&d["Close date"]).unwrap(), stage),
                ]
            } else {
                vec![(created, stage)]
            }
        })
        .collect();
    assert_eq!(reported_durations(&r), durations(&timelines));
    let count = |s: &str| kept.iter().filter(|d| d["Stage"] == s).count() as u64;
    assert_eq!(win_loss(&r), (count("Won"), count("Lost")));
    // MRR is monthly here (`€1,200`, `$800`, `CHF 500`: the digits, at the mapping's rate);
    // won deals count unless their company's status says it churned.
    let churned: Vec<String> = rows("spreadsheet/accounts.csv")
        .into_iter()
        .filter(|a| a["Status"] == "Churned")
        .map(|a| a["Company"].clone())
        .collect();
    let map: toml::Table =
        toml::from_str(&std::fs::read_to_string(fixture("maps/csv.toml")).unwrap()).unwrap();
    let rate = |c: &str| map["rates"][c].as_float().unwrap();
    let money = |s: &str| {
        let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
        let rate = if s.contains('$') {
            rate("USD")
        } else if s.contains("CHF") {
            rate("CHF")
        } else {
            1.0
        };
        digits.parse::<f64>().unwrap() * rate
    };
    let mrr: f64 = kept
        .iter()
        .filter(|d| d["Stage"] == "Won" && !churned.contains(&d["Company"]))
        .map(|d| money(&d["MRR"]))
        .sum();
    assert_eq!(r["mrr"]["total"].as_f64().unwrap(), mrr);
    assert_eq!(mrr, 1200.0);
    let ls = env.run(&["-C", "crm", "ls", "opportunities", "--format", "csv"]);
    expect_file("moving-in/spreadsheet-opportunities.csv", &ls.stdout);
}

/// A small HubSpot export written into the test's folder: companies and deals.
fn small_hubspot(env: &TestEnv, companies: &str, deals: &str) {
    env.write("export/companies.csv", format!("\"Record ID\",\"Company name\",\"Company Domain Name\",\"Company owner\",\"Create Date\",\"Lifecycle Stage\"\n{companies}"));
    env.write("export/deals.csv", format!("\"Record ID\",\"Deal Name\",\"Deal Stage\",\"Amount\",\"Close Date\",\"Deal owner\",\"Create Date\",\"Date entered \"\"Appointment Scheduled (Sales Pipeline)\"\"\",\"Date entered \"\"Closed Won (Sales Pipeline)\"\"\",\"Associated Company IDs\"\n{deals}"));
}

pub const MAP: &str = "[deals]\namount = \"monthly\"\n[stages]\n\"Appointment Scheduled\" = \"identified\"\n\"Closed Won\" = \"won\"\n[statuses]\n\"Customer\" = \"customer\"\n\"Lead\" = \"qualified_pool\"\n[fill]\nsource = \"outbound\"\n\"commit.plan\" = \"Pro\"\n";

/// Runs an import that must be refused: exit 1, the problems (file:line: message, with
/// `EXPORTS`/`TEST` for the folders) on stdout's last lines, nothing written.
fn refused(env: &TestEnv, args: &[&str]) -> String {
    let before = snapshot(env.path());
    let head = env.git(&["rev-parse", "HEAD"]).stdout;
    let mut all = vec!["-C", "crm", "import", "crm"];
    all.extend(args);
    let run = env.run(&all);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    assert!(snapshot(env.path()) == before, "{args:?} wrote something");
    assert_eq!(env.git(&["rev-parse", "HEAD"]).stdout, head, "no commit");
    let out = shown(env, &run.stdout);
    let problems: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("nothing imported"))
        .skip(1)
        .collect();
    problems.join("\n")
}

#[test]
fn bad_exports_are_refused_at_their_file_and_line_and_write_nothing() {
    let env = voilier();
    env.write("map.toml", MAP);
    let ok_companies =
        "\"1\",\"Acme\",\"acme.io\",\"Camille Durand\",\"2024-01-02 10:00\",\"Customer\"\n";
    let ok_deal = "\"10\",\"Acme Pro\",\"Closed Won\",\"900\",\"2024-02-01 12:00\",\"Camille Durand\",\"2024-01-03 10:00\",\"2024-01-03 10:00\",\"2024-02-01 12:00\",\"1\"\n";
    // A good one imports, so that what follows fails only for its one fault.
    small_hubspot(&env, ok_companies, ok_deal);
    let dry = env.run(&[
        "-C",
        "crm",
        "import",
        "crm",
        "--from",
        "hubspot",
        "export",
        "--map",
        "map.toml",
        "--dry-run",
    ]);
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    assert!(
        dry.stdout.contains("would import: 1 accounts, 0 contacts, 1 opportunities, 0 leads, 0 activities; 3 commits from 2024-01-02 to 2024-02-01"),
        "{}",
        dry.stdout
    );
    let args = [
        "--from", "hubspot", "export", "--map", "map.toml", "--commit",
    ];

    // A file without its name column.
    env.write("export/companies.csv", "\"Record ID\",\"Company Domain Name\",\"Company owner\"\n\"1\",\"acme.io\",\"Camille Durand\"\n");
    assert_eq!(
        refused(&env, &args),
        "export/companies.csv:1: companies of HubSpot without its `name` column\n   = help: export the file with every column (or map one in [columns] of the mapping file)\nexport/deals.csv:2: the deal's company `1` is a company which is not in the export\n   = help: export the companies with the deals, or fix the company"
    );

    // A file without its id column.
    small_hubspot(&env, ok_companies, ok_deal);
    env.write(
        "export/deals.csv",
        "\"Deal Name\",\"Deal Stage\",\"Amount\",\"Associated Company IDs\"\n\"Acme Pro\",\"Closed Won\",\"900\",\"1\"\n",
    );
    assert_eq!(
        refused(&env, &args),
        "export/deals.csv:1: deals of HubSpot without its id column\n   = help: export the file with every column (or map one in [columns] of the mapping file)"
    );

    // A deal pointing at a company that is not in the export.
    small_hubspot(&env, ok_companies, &ok_deal.replace(",\"1\"\n", ",\"2\"\n"));
    assert_eq!(
        refused(&env, &args),
        "export/deals.csv:2: the deal's company `2` is a company which is not in the export\n   = help: export the companies with the deals, or fix the company"
    );

    // Two companies with one domain; two files disagreeing on one company.
    small_hubspot(&env, &format!("{ok_companies}\"2\",\"Acme Labs\",\"acme.io\",\"Lucas Martin\",\"2024-01-05 10:00\",\"Lead\"\n"), ok_deal);
    assert_eq!(
        refused(&env, &args),
        "export/companies.csv:3: `acme.io` is also the domain of the company at export/companies.csv:2\n   = help: an account's domain is unique: merge the two companies, or clear one domain"
    );
    small_hubspot(&env, ok_companies, ok_deal);
    env.write("export/companies-2.csv", "\"Record ID\",\"Company name\",\"Company Domain Name\",\"Company owner\"\n\"1\",\"Acme\",\"acme.com\",\"Camille Durand\"\n");
    assert_eq!(
        refused(&env, &args),
        "export/companies.csv:2: company `1` is also at export/companies-2.csv:2, which says otherwise about its domain\n   = help: keep one export per record (the newer one), or make them agree"
    );
    std::fs::remove_file(env.path().join("export/companies-2.csv")).unwrap();

    // Two people with one email.
    env.write("export/contacts.csv", "\"Record ID\",\"First Name\",\"Last Name\",\"Email\",\"Associated Company IDs\"\n\"5\",\"Ana\",\"Ruiz\",\"ana@acme.io\",\"1\"\n\"6\",\"Ana\",\"Ruiz-Diaz\",\"ANA@acme.io\",\"1\"\n");
    assert_eq!(
        refused(&env, &args),
        "export/contacts.csv:3: `ana@acme.io` is also the email of the person at export/contacts.csv:2\n   = help: a contact's email is unique: merge the two people"
    );
    std::fs::remove_file(env.path().join("export/contacts.csv")).unwrap();

    // A mapping naming a stage and a member that do not exist, and an unmapped stage.
    env.write(
        "bad-map.toml",
        MAP.replace("\"Closed Won\" = \"won\"", "\"Closed Won\" = \"wonn\"")
            + "[owners]\n\"Camille Durand\" = \"camile\"\n",
    );
    assert_eq!(
        refused(&env, &["--from", "hubspot", "export", "--map", "bad-map.toml", "--commit"]),
        "bad-map.toml:5: `wonn` is not a stage of sloop.toml\n   = help: did you mean `won`? allowed: `identified`, `qualified`, `trial`, `closing`, `commit`, `won` or `lost`\nbad-map.toml:13: `camile` is not a team member\n   = help: did you mean `camille`? allowed: `camille`, `lucas` or `sofia`\nexport/deals.csv:2: stage `Closed Won` is not mapped to a stage of sloop.toml\n   = help: add it to [stages] of bad-map.toml"
    );

    // An owner nobody is, and an amount in a currency without a rate.
    small_hubspot(
        &env,
        &ok_companies.replace("Camille Durand", "Nora Founder"),
        &ok_deal.replace("\"900\"", "\"$900\""),
    );
    assert_eq!(
        refused(&env, &args),
        "export/companies.csv:2: owner `Nora Founder` is not a team member\n   = help: map it in [owners] of map.toml (`\"Nora Founder\" = \"member-id\"`), or add the member to sloop.toml\nexport/deals.csv:2: the deal's company `1` is a company which has a problem of its own\n   = help: export the companies with the deals, or fix the company"
    );
    small_hubspot(&env, ok_companies, &ok_deal.replace("\"900\"", "\"$900\""));
    assert_eq!(
        refused(&env, &args),
        "export/deals.csv:2: the amount is in USD and sloop.toml's currency is EUR\n   = help: give the rate in [rates] of map.toml: `USD = …` (one USD in EUR)"
    );

    // --skip-invalid imports the rest and says what it left out.
    small_hubspot(
        &env,
        ok_companies,
        &format!(
            "{ok_deal}{}",
            ok_deal
                .replace("\"10\",\"Acme Pro\"", "\"11\",\"Acme Max\"")
                .replace("\"900\"", "\"$900\"")
        ),
    );
    let mut skip = args.to_vec();
    skip.push("--skip-invalid");
    let mut all = vec!["-C", "crm", "import", "crm"];
    all.extend(&skip);
    let run = env.run(&all);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("imported: 1 accounts, 0 contacts, 1 opportunities, 0 leads, 0 activities; 3 commits from 2024-01-02 to 2024-02-01\nskipped (1 records with problems, and what depends on them):\n  export/deals.csv:3: the amount is in USD"),
        "{}",
        run.stdout
    );
    range_passes(&env);
}

#[test]
fn a_100000_row_export_is_read_row_by_row() {
    let env = voilier();
    env.write("map.toml", MAP);
    let mut companies = String::from("\"Record ID\",\"Company name\",\"Company Domain Name\",\"Company owner\",\"Create Date\",\"Lifecycle Stage\"\n");
    for i in 0..100_000 {
        companies.push_str(&format!(
            "\"{i}\",\"Company {i}\",\"c{i}.io\",\"Sofia Rossi\",\"2024-0{}-1{} 10:00\",\"Lead\"\n",
            1 + i % 9,
            i % 10
        ));
    }
    env.write("big/companies.csv", &companies);
    let run = env.run(&[
        "-C",
        "crm",
        "import",
        "crm",
        "--from",
        "hubspot",
        "big",
        "--map",
        "map.toml",
        "--dry-run",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["records"]["accounts"]["created"], 100_000);
    assert_eq!(v["commits"], 90);
    assert!(
        !run.stderr.contains("read "),
        "no progress line off a terminal: {}",
        run.stderr
    );
}

#[test]
fn a_newer_export_adds_only_what_changed_as_new_commits() {
    let env = voilier();
    env.write("map.toml", MAP);
    let acme = "\"1\",\"Acme\",\"acme.io\",\"Camille Durand\",\"2024-01-02 10:00\",\"Lead\"\n";
    let open = "\"10\",\"Acme Pro\",\"Appointment Scheduled\",\"900\",\"2024-02-01 12:00\",\"Camille Durand\",\"2024-01-03 10:00\",\"2024-01-03 10:00\",\"\",\"1\"\n";
    small_hubspot(&env, acme, open);
    let args = [
        "-C", "crm", "import", "crm", "--from", "hubspot", "export", "--map", "map.toml",
        "--commit",
    ];
    let first = env.run(&args);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let head = env.git(&["rev-parse", "HEAD"]).stdout;
    let files_before = snapshot(env.path());
    // The same export again: nothing to do, no commit.
    let same = env.run(&args);
    assert_eq!(same.code, 0, "{}{}", same.stdout, same.stderr);
    assert!(
        same.stdout.contains(
            "imported: 0 accounts, 0 contacts, 0 opportunities, 0 leads, 0 activities; nothing new: the CRM already holds this export\n"
        ),
        "{}",
        same.stdout
    );
    assert_eq!(env.git(&["rev-parse", "HEAD"]).stdout, head);
    assert!(snapshot(env.path()) == files_before, "nothing rewritten");
    // A person edits the account between the exports: the import keeps the edit.
    let account = env.read("crm/accounts/acme.toml");
    env.write(
        "crm/accounts/acme.toml",
        format!("{account}# met them at the fair\n"),
    );
    env.commit_all("a note by hand", "2024-01-10T09:00:00+01:00");
    let hand = env.git(&["rev-parse", "HEAD"]).stdout;
    // The newer export: the deal was won on 2024-02-01, a company was added on 2024-02-05.
    let won = open
        .replace(
            "\"Appointment Scheduled\",\"900\"",
            "\"Closed Won\",\"900\"",
        )
        .replace(
            "\"2024-01-03 10:00\",\"\",\"1\"",
            "\"2024-01-03 10:00\",\"2024-02-01 12:00\",\"1\"",
        );
    small_hubspot(
        &env,
        &format!(
            "{acme}\"2\",\"Beta\",\"beta.io\",\"Lucas Martin\",\"2024-02-05 10:00\",\"Lead\"\n"
        ),
        &won,
    );
    let newer = env.run(&args);
    assert_eq!(newer.code, 0, "{}{}", newer.stdout, newer.stderr);
    assert!(
        newer.stdout.contains("imported: 1 accounts, 0 contacts, 0 opportunities, 0 leads, 0 activities; 2 records changed; 2 commits from 2024-02-01 to 2024-02-05"),
        "{}",
        newer.stdout
    );
    // The earlier history is untouched: the two new commits sit on top of it.
    assert_eq!(
        env.git(&["rev-parse", "HEAD~2"]).stdout,
        hand,
        "{}",
        log(&env)
    );
    let shown = env.git(&[
        "show",
        "--stat",
        "--format=%ad %s",
        "--date=short",
        "HEAD~1",
    ]);
    assert!(
        shown
            .stdout
            .starts_with("2024-02-01 sloop import hubspot: 2024-02-01\n"),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains("crm/accounts/acme.toml"),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains("crm/opportunities/acme-pro.toml"),
        "{}",
        shown.stdout
    );
    let shown = env.git(&["show", "--stat", "--format=%ad %s", "--date=short", "HEAD"]);
    assert!(
        shown
            .stdout
            .starts_with("2024-02-05 sloop import hubspot: 2024-02-05\n"),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains("crm/accounts/beta.toml"),
        "{}",
        shown.stdout
    );
    assert!(env
        .read("crm/accounts/acme.toml")
        .ends_with("# met them at the fair\n"));
    assert!(env
        .read("crm/accounts/acme.toml")
        .contains("status = \"customer\""));
    assert!(env
        .read("crm/opportunities/acme-pro.toml")
        .contains("stage = \"won\""));
    range_passes(&env);
}

/// The fixture export `what` copied into the test's `export/`, with `column` left out of
/// `file` (a real CSV rewrite: quoted cells with commas and line breaks stay whole).
fn without_column(env: &TestEnv, what: &str, file: &str, column: &str) {
    let from = std::path::PathBuf::from(fixture(what));
    let to = env.path().join("export");
    let _ = std::fs::remove_dir_all(&to);
    crate::util::copy_dir(&from, &to);
    let path = to.join(file);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(&path)
        .unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let drop = rows[0]
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("{file} has no column {column}"));
    let mut writer = csv::Writer::from_path(&path).unwrap();
    for row in rows {
        let kept: Vec<&str> = row
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != drop)
            .map(|(_, c)| c)
            .collect();
        writer.write_record(kept).unwrap();
    }
    writer.flush().unwrap();
}

#[test]
fn pipedrive_and_salesforce_files_without_their_id_or_name_column_are_refused() {
    let env = voilier();
    for (from, what, file, column, expected) in [
        (
            "pipedrive",
            "pipedrive",
            "organizations.csv",
            "Organization - ID",
            "export/organizations.csv:1: companies of Pipedrive without its id column",
        ),
        (
            "pipedrive",
            "pipedrive",
            "organizations.csv",
            "Organization - Name",
            "export/organizations.csv:1: companies of Pipedrive without its `name` column",
        ),
        (
            "salesforce",
            "salesforce/data-export",
            "Account.csv",
            "Id",
            "export/Account.csv:1: companies of Salesforce data without its id column",
        ),
        (
            "salesforce",
            "salesforce/data-export",
            "Account.csv",
            "Name",
            "export/Account.csv:1: companies of Salesforce data without its `name` column",
        ),
    ] {
        without_column(&env, what, file, column);
        let map = fixture(&format!("maps/{from}.toml"));
        let problems = refused(&env, &["--from", from, "export", "--map", &map, "--commit"]);
        assert!(
            problems.lines().any(|l| l.starts_with(expected)),
            "{from} without {column}: {problems}"
        );
    }
}

#[test]
fn an_activity_whose_kind_changed_in_the_newer_export_is_a_new_commit() {
    let env = voilier();
    let export = env.path().join("export");
    crate::util::copy_dir(&PathBuf::from(fixture("salesforce/data-export")), &export);
    let map = fixture("maps/salesforce.toml");
    let args = copied_export_import(&map);
    let first = env.run(&args);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let head = env.git(&["rev-parse", "HEAD"]).stdout;
    // The call 00T5Q00000T0001UAB (30 minutes, on 2024-01-15) is a plain task in the newer
    // export: Salesforce's TaskSubtype `Call` became `Task`, without a call duration.
    let holding = |env: &TestEnv| -> String {
        let found: Vec<PathBuf> = snapshot(&env.path().join("crm/activities"))
            .into_iter()
            .filter(|(_, bytes)| String::from_utf8_lossy(bytes).contains("00T5Q00000T0001UAB"))
            .map(|(path, _)| path)
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        found[0]
            .strip_prefix(env.path())
            .unwrap()
            .display()
            .to_string()
    };
    let call = holding(&env);
    let before = env.read(&call);
    assert!(before.contains("kind = \"call\""), "{before}");
    assert!(before.contains("duration_min = 30"), "{before}");
    let path = export.join("Task.csv");
    let rows: Vec<csv::StringRecord> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(&path)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect();
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let (subtype, duration) = (col("TaskSubtype"), col("CallDurationInSeconds"));
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_path(&path)
        .unwrap();
    let mut changed = 0;
    for row in &rows {
        let mut cells: Vec<String> = row.iter().map(str::to_string).collect();
        if cells[0] == "00T5Q00000T0001UAB" {
            assert_eq!(cells[subtype], "Call");
            cells[subtype] = "Task".into();
            cells[duration] = String::new();
            changed += 1;
        }
        writer.write_record(&cells).unwrap();
    }
    writer.flush().unwrap();
    assert_eq!(changed, 1);
    let newer = env.run(&args);
    assert_eq!(newer.code, 0, "{}{}", newer.stdout, newer.stderr);
    assert!(
        newer.stdout.contains("imported: 0 accounts, 0 contacts, 0 opportunities, 0 leads, 0 activities; 1 records changed; 1 commits from 2024-01-15 to 2024-01-15\n"),
        "{}",
        newer.stdout
    );
    assert_eq!(env.git(&["rev-parse", "HEAD~1"]).stdout, head);
    let shown = env.git(&[
        "show",
        "--name-only",
        "--format=%ad %s",
        "--date=short",
        "HEAD",
    ]);
    assert_eq!(
        shown.stdout,
        format!("2024-01-15 sloop import salesforce: 2024-01-15\n\n{call}\n")
    );
    assert_eq!(holding(&env), call, "the record keeps its file");
    let after = env.read(&call);
    assert!(after.contains("kind = \"task\""), "{after}");
    assert!(after.contains("due = 2024-01-15"), "{after}");
    assert!(after.contains("done = true"), "{after}");
    assert!(!after.contains("duration_min"), "{after}");
    range_passes(&env);
    // The same export once more: nothing new.
    let again = env.run(&args);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("nothing new"), "{}", again.stdout);
    assert_eq!(env.git(&["rev-parse", "HEAD~1"]).stdout, head);
}

/// The Salesforce fixture with 300 more calls like its first task (same day, same
/// account: ids that differ only by their `-N`), imported with `--commit` on `threads`
/// threads: the `git log` (commit ids and trees) and the id each call got.
fn many_calls_imported(threads: &str) -> (String, Vec<String>) {
    let env = voilier();
    crate::util::copy_dir(
        &PathBuf::from(fixture("salesforce/data-export")),
        &env.path().join("export"),
    );
    let tasks = env.read("export/Task.csv");
    let first = tasks.lines().nth(1).unwrap();
    let mut more = tasks.clone();
    for i in 0..300 {
        more.push_str(&first.replacen("00T5Q00000T0001UAB", &format!("00T5Q00000X{i:04}UAB"), 1));
        more.push('\n');
    }
    env.write("export/Task.csv", more);
    let map = fixture("maps/salesforce.toml");
    let args = copied_export_import(&map);
    let out = env.run_env(&[("RAYON_NUM_THREADS", threads)], &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let log = env
        .git(&["-C", "crm", "log", "--format=%H %T %an %ad %s"])
        .stdout;
    let ids: Vec<String> = (0..300)
        .map(|i| {
            let grep = env.git(&[
                "-C",
                "crm",
                "grep",
                "-l",
                &format!("import_id = \"salesforce:00T5Q00000X{i:04}UAB\""),
            ]);
            grep.stdout.trim().to_string()
        })
        .collect();
    (log, ids)
}

#[test]
fn an_import_is_the_same_on_one_thread_or_several() {
    let (log, ids) = many_calls_imported("1");
    let (again, ids_again) = many_calls_imported("4");
    assert_eq!(log, again, "the same commits");
    assert_eq!(ids, ids_again, "the same ids");
    // The calls are numbered in the export's order, after the fixture's first one.
    let first = ids[0].trim_end_matches(".toml").rsplit_once('-').unwrap();
    for (i, path) in ids.iter().enumerate() {
        assert_eq!(
            path,
            &format!("{}-{}.toml", first.0, first.1.parse::<usize>().unwrap() + i),
            "call {i}"
        );
    }
}
