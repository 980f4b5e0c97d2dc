use crate::util::{snapshot, TestEnv};

#[test]
fn example_crm_is_clean() {
    let env = TestEnv::new();
    env.copy_from_repo("example-crm", "crm");
    let run = env.run(&["-C", "crm", "check"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.ends_with("0 errors, 0 warnings\n"),
        "{}",
        run.stdout
    );
}

/// A broken copy of the example reports every seeded error, with its path and line, in one run.
#[test]
fn broken_example_reports_every_seeded_error() {
    let env = TestEnv::new();
    env.copy_from_repo("example-crm", "crm");
    let before = snapshot(env.path());
    let edit = |rel: &str, from: &str, to: &str| {
        let text = env.read(rel);
        assert!(text.contains(from), "{rel} has no `{from}`");
        env.write(rel, text.replacen(from, to, 1));
    };
    edit(
        "crm/accounts/helio-solaire.toml",
        "status = \"working\"",
        "stauts = \"working\"",
    );
    edit(
        "crm/opportunities/pinecrest-dental-new.toml",
        "stage = \"qualified\"",
        "stage = \"qualifed\"",
    );
    edit(
        "crm/opportunities/kestrel-analytics-trial.toml",
        "owner = \"sofia\"",
        "owner = \"sophia\"",
    );
    edit(
        "crm/contacts/philippe-vernet.toml",
        "account = \"cabinet-vernet\"",
        "account = \"cabinet-vernett\"",
    );
    env.write(
        "crm/accounts/broken.toml",
        r#"name = "Broken
status = "target"
"#,
    );
    env.write("crm/leads/latin1.toml", b"name = \"Caf\xe9\"\n");
    let expected = [
        "crm/accounts/helio-solaire.toml:1:1: error[missing-field]",
        "error[unknown-key]: unknown key `stauts` in an account",
        "crm/opportunities/pinecrest-dental-new.toml:",
        "error[unknown-value]: unknown stage `qualifed`",
        "error[unknown-member]: `owner` `sophia` is not a team member",
        "error[dangling-ref]: `account` points to account `cabinet-vernett`, which does not exist",
        "crm/accounts/broken.toml:1:15: error[syntax]",
        "crm/leads/latin1.toml:1:12: error[not-utf8]",
    ];
    let run = env.run(&["-C", "crm", "check"]);
    assert_eq!(run.code, 1);
    for e in expected {
        assert!(run.stdout.contains(e), "missing `{e}` in:\n{}", run.stdout);
    }
    assert!(run.stdout.contains("did you mean `status`?"));
    assert!(run.stdout.contains("did you mean `sofia`?"));
    assert!(run.stdout.contains("did you mean `cabinet-vernet`?"));
    // check never writes
    let after = snapshot(env.path());
    assert_eq!(before.len() + 2, after.len());
}

#[test]
fn json_output_has_the_documented_shape() {
    let env = TestEnv::new();
    env.copy_from_repo("tests/errors/unknown-member", "crm");
    let run = env.run(&["-C", "crm", "check", "--format", "json"]);
    assert_eq!(run.code, 1);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["errors"], 1);
    assert_eq!(v["warnings"], 0);
    let d = &v["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "unknown-member");
    assert_eq!(d["path"], "crm/accounts/acme.toml");
    assert_eq!(d["line"], 3);
    assert_eq!(d["column"], 9);
    assert_eq!(d["hint"], "did you mean `al`?");
    assert!(d.get("commit").is_none());
    let keys: Vec<&str> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&run.stdout)
            .unwrap()
            .keys()
            .map(|k| match k.as_str() {
                "errors" => "errors",
                "warnings" => "warnings",
                _ => "diagnostics",
            })
            .collect();
    assert_eq!(keys.len(), 3);
}

#[test]
fn warnings_alone_exit_zero() {
    let env = TestEnv::new();
    env.copy_from_repo("tests/errors/inconsistent", "crm");
    let run = env.run(&["-C", "crm", "check"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.ends_with("0 errors, 2 warnings\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn not_a_crm_exits_2_with_a_hint() {
    let env = TestEnv::new();
    let run = env.run(&["check"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        r#"error: not a CRM: no sloop.toml in . or any folder above it
hint: run `sloop init` to start one, or pass `-C <crm folder>`
"#
    );
    let run = env.run(&["-C", "nowhere", "check"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not a folder"), "{}", run.stderr);
}

#[test]
fn bad_arguments_exit_2() {
    let env = TestEnv::new();
    let run = env.run(&["check", "--format", "yaml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid value 'yaml'"),
        "{}",
        run.stderr
    );
    assert_eq!(env.run(&["frobnicate"]).code, 2);
}

#[test]
fn finds_the_crm_from_a_subfolder_and_prints_paths_from_there() {
    let env = TestEnv::new();
    env.copy_from_repo("tests/errors/unknown-member", "crm");
    let mut cmd = env.sloop();
    cmd.current_dir(env.path().join("crm/accounts"))
        .arg("check");
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.starts_with("../accounts/acme.toml:3:9: error[unknown-member]"),
        "{stdout}"
    );
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let env = TestEnv::new();
    env.copy_from_repo("tests/errors/unknown-member", "crm");
    let plain = env.run(&["-C", "crm", "check"]);
    assert!(!plain.stdout.contains('\x1b'));
    let coloured = env.run(&["-C", "crm", "--color", "always", "check"]);
    assert!(
        coloured.stdout.contains("\x1b[1;31merror[unknown-member]"),
        "{}",
        coloured.stdout
    );
}

#[test]
fn broken_sloop_toml_is_reported_and_records_still_checked() {
    let env = TestEnv::new();
    env.copy_from_repo("tests/errors/unknown-member", "crm");
    env.write(
        "crm/sloop.toml",
        r#"[team.al
name = "Al"
"#,
    );
    let run = env.run(&["-C", "crm", "check"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.starts_with("crm/sloop.toml:1:9: error[syntax]"),
        "{}",
        run.stdout
    );
    // the team could not be read, so `owner = "all"` is still reported
    assert!(
        run.stdout
            .contains("crm/accounts/acme.toml:3:9: error[unknown-member]"),
        "{}",
        run.stdout
    );
}

#[test]
fn every_problem_of_a_file_is_reported_not_just_the_first() {
    let env = TestEnv::new();
    env.copy_from_repo("tests/errors/unknown-member", "crm");
    env.write(
        "crm/opportunities/o.toml",
        r#"name = "O"
account = "acme"
owner = "al"
stage = "won"
source = "outbound"
mrr = -3
close_date = "2026-01-01"
created = 2026-01-01T10:00:00
type = "renewal"
[bant]
budjet = "x"
"#,
    );
    let run = env.run(&["-C", "crm", "check", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let found: Vec<(String, u64)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["path"] == "crm/opportunities/o.toml")
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    for want in [
        ("invalid-value", 6),
        ("wrong-type", 7),
        ("wrong-type", 8),
        ("unknown-value", 9),
        ("unknown-key", 11),
        ("stage-requirement", 4),
    ] {
        assert!(
            found.contains(&(want.0.to_string(), want.1)),
            "{want:?} not in {found:?}"
        );
    }
}
