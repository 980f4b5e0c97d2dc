//! Numbers and dates past what a sales team means are refused with a message, never a
//! panic (exit 101) nor a made-up figure: `check` bounds `[lifecycle]` days, money and
//! counts; every command refuses an as-of date or a clock outside 0001-01-01..9999-12-31.

use crate::util::{example, snapshot, TestEnv};

/// The example CRM, committed.
fn committed() -> TestEnv {
    let env = example();
    assert_eq!(env.git(&["init", "-q", "-b", "main", "crm"]).code, 0);
    let git = |args: &[&str]| {
        let mut all = vec!["-C", "crm"];
        all.extend_from_slice(args);
        let run = env.git(&all);
        assert_eq!(run.code, 0, "{}", run.stderr);
    };
    git(&["add", "-A"]);
    git(&["commit", "-qm", "start"]);
    env
}

fn assert_no_panic(run: &crate::util::Run, what: &str) {
    assert_ne!(run.code, 101, "{what} panicked: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
}

#[test]
fn far_as_of_dates_are_refused_by_every_command_that_computes_with_them() {
    let env = committed();
    let before = snapshot(env.path());
    for date in ["+262142-12-31", "-262143-01-01", "+10000-01-01"] {
        let as_of = format!("--as-of={date}");
        for args in [
            vec!["tick", "--dry-run", &as_of],
            vec!["tick", "--no-commit", &as_of],
            vec!["tick", &as_of],
            vec!["agenda", "--all", &as_of],
            vec!["report", &as_of],
            vec!["report", "--template", "weekly.md", &as_of],
            vec!["report", "--format", "json", &as_of],
        ] {
            let mut all = vec!["-C", "crm"];
            all.extend(args.iter().copied());
            let run = env.run(&all);
            assert_no_panic(&run, &format!("{args:?}"));
            assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
            assert_eq!(
                run.stderr,
                format!(
                    "error: {date} is outside the dates sloop computes with (0001-01-01 to \
                     9999-12-31)\nhint: use a date from 0001-01-01 to 9999-12-31\n"
                ),
                "{args:?}"
            );
        }
    }
    assert_eq!(snapshot(env.path()), before, "nothing is written");
}

#[test]
fn a_far_clock_is_refused_before_anything_runs() {
    let env = committed();
    let before = snapshot(env.path());
    for now in ["+262142-12-31", "-262143-01-01", "+10000-01-01"] {
        for args in [
            &["tick", "--dry-run"][..],
            &["agenda", "--all"],
            &["report"],
            &["new", "account", "--name", "Initech"],
            &["log", "call", "northwind-coffee", "-m", "hello"],
        ] {
            let mut all = vec!["-C", "crm"];
            all.extend_from_slice(args);
            let out = env
                .sloop()
                .env("SLOOP_NOW", now)
                .args(&all)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{now} {args:?}: {stderr}");
            assert!(
                stderr.starts_with(&format!("error: SLOOP_NOW=`{now}`: ")),
                "{now} {args:?}: {stderr}"
            );
            assert!(
                stderr.contains(
                    "is outside the dates sloop computes with (0001-01-01 to 9999-12-31)"
                ),
                "{stderr}"
            );
        }
    }
    assert_eq!(snapshot(env.path()), before, "nothing is written");
}

/// `backlog_days = 4294967295` passed `check`; then `tick`, `agenda` and `report` panicked
/// adding it to a date. Each `[lifecycle]` number is bounded by `check` and an out-of-range
/// one falls back to its default, so no command computes with it.
#[test]
fn lifecycle_days_are_bounded_by_check() {
    let env = committed();
    let config = env.read("crm/sloop.toml");
    for key in [
        "target_stale_days",
        "backlog_days",
        "churn_cooldown_days",
        "opportunity_stale_days",
    ] {
        let line = config
            .lines()
            .find(|l| l.starts_with(&format!("{key} =")))
            .unwrap_or_else(|| panic!("no {key} in the example's sloop.toml"));
        env.write(
            "crm/sloop.toml",
            config.replacen(line, &format!("{key} = 4294967295"), 1),
        );
        let before = snapshot(env.path());
        let check = env.run(&["-C", "crm", "check"]);
        assert_eq!(check.code, 1, "{key}: {}", check.stdout);
        assert!(
            check.stdout.contains(&format!(
                ": error[config]: `lifecycle.{key}` must be from 0 to 36,500 days\n"
            )),
            "{key}: {}",
            check.stdout
        );
        for args in [
            &["tick", "--no-commit", "--as-of", "2026-11-26"][..],
            &["agenda", "--all", "--as-of", "2026-11-26"],
        ] {
            let mut all = vec!["-C", "crm"];
            all.extend_from_slice(args);
            let run = env.run(&all);
            assert_no_panic(&run, &format!("{key} {args:?}"));
        }
        assert_eq!(snapshot(env.path()), before, "{key}: nothing is written");
        // Committed: the report reads sloop.toml from git, and does not panic either.
        assert_eq!(env.git(&["-C", "crm", "commit", "-qam", key]).code, 0);
        for args in [
            &["report", "--as-of", "2026-11-26"][..],
            &["tick", "--dry-run", "--as-of", "2026-11-26"],
        ] {
            let mut all = vec!["-C", "crm"];
            all.extend_from_slice(args);
            let run = env.run(&all);
            assert_no_panic(&run, &format!("{key} {args:?}"));
        }
        assert_eq!(
            env.git(&["-C", "crm", "reset", "-q", "--hard", "HEAD~1"])
                .code,
            0
        );
    }
}

/// Two `mrr = 1.797e308` made the pipeline print a saturated 39-digit figure. Money and
/// counts are bounded by `check`; an out-of-range value is not read, so no sum overflows.
#[test]
fn money_and_counts_are_bounded_by_check() {
    let env = committed();
    let opp = |id: &str| {
        format!(
            "name = \"Huge {id}\"\naccount = \"northwind-coffee\"\nowner = \"marc\"\nstage = \
             \"identified\"\nsource = \"outbound\"\nmrr = 1.797e308\n"
        )
    };
    env.write("crm/opportunities/huge-1.toml", opp("1"));
    env.write("crm/opportunities/huge-2.toml", opp("2"));
    env.write(
        "crm/accounts/huge.toml",
        "name = \"Huge\"\nstatus = \"qualified_pool\"\nemployees = 10_000_001\n",
    );
    env.write(
        "crm/activities/2026/11/long-call.toml",
        "kind = \"call\"\ndate = 2026-11-20\naccount = \"northwind-coffee\"\nduration_min = 1441\n",
    );
    let before = snapshot(env.path());
    let check = env.run(&["-C", "crm", "check"]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    for expected in [
        "crm/opportunities/huge-1.toml:6:7: error[invalid-value]: `mrr` must be a number from 0 \
         to 1,000,000,000,000\n",
        "crm/opportunities/huge-2.toml:6:7: error[invalid-value]: `mrr` must be a number from 0 \
         to 1,000,000,000,000\n",
        "crm/accounts/huge.toml:3:13: error[invalid-value]: `employees` must be from 0 to \
         10,000,000\n",
        "crm/activities/2026/11/long-call.toml:4:16: error[invalid-value]: `duration_min` must be \
         from 0 to 1,440 minutes\n",
    ] {
        assert!(
            check.stdout.contains(expected),
            "{expected}\n{}",
            check.stdout
        );
    }
    for args in [
        &["pipeline"][..],
        &["pipeline", "--format", "json"],
        &["forecast", "--by", "owner"],
        &["ls", "opportunities"],
    ] {
        let mut all = vec!["-C", "crm"];
        all.extend_from_slice(args);
        let run = env.run(&all);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert!(
            !run.stdout.contains("340,282") && !run.stdout.contains("1.797e308"),
            "{args:?}: {}",
            run.stdout
        );
    }
    assert_eq!(snapshot(env.path()), before, "nothing is written");
    // Committed, the report does not read them either.
    assert_eq!(env.git(&["-C", "crm", "add", "-A"]).code, 0);
    assert_eq!(env.git(&["-C", "crm", "commit", "-qm", "huge"]).code, 0);
    let report = env.run(&[
        "-C",
        "crm",
        "report",
        "--template",
        "weekly.md",
        "--as-of",
        "2026-11-26",
    ]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert!(!report.stdout.contains("340,282"), "{}", report.stdout);
}

/// Targets are money too.
#[test]
fn targets_are_bounded_by_check() {
    let env = example();
    let config = env.read("crm/sloop.toml");
    env.write(
        "crm/sloop.toml",
        config.replacen(
            "[targets.marc]\n",
            "[targets.marc]\n\"2027-Q1\" = 1e13\n",
            1,
        ),
    );
    let check = env.run(&["-C", "crm", "check"]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    assert!(
        check.stdout.contains(
            "error[config]: target `2027-Q1` must be a number from 0 to 1,000,000,000,000\n"
        ),
        "{}",
        check.stdout
    );
}
