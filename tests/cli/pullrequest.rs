//! What a pull request shows: `check --staged` as the hook prints it, `--format github`
//! annotations and `--format sarif` for code scanning, and the hook sloop installs.

use crate::util::{example, expect_file, TestEnv};

/// The example CRM in `crm/` of a repository, committed, with a staged change that jumps a
/// stage and misspells a status.
fn staged_mistakes() -> TestEnv {
    let env = example();
    assert_eq!(env.git(&["init", "-q", "-b", "main"]).code, 0);
    env.commit_all("the example", "2026-11-01T10:00:00Z");
    let edit = |rel: &str, from: &str, to: &str| {
        let text = env.read(rel);
        assert!(text.contains(from), "{rel} has no `{from}`");
        env.write(rel, text.replacen(from, to, 1));
    };
    edit(
        "crm/opportunities/pinecrest-dental-new.toml",
        "stage = \"qualified\"",
        "stage = \"won\"",
    );
    edit(
        "crm/accounts/helio-solaire.toml",
        "status = \"working\"",
        "status = \"workin\"",
    );
    assert_eq!(env.git(&["add", "-A"]).code, 0);
    env
}

#[test]
fn the_staged_check_quotes_each_line_as_staged() {
    let env = staged_mistakes();
    let run = env.run(&["-C", "crm", "check", "--staged"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    expect_file("check/staged.txt", &run.stdout);
    // Every diagnostic with a line quotes it, as `sloop check` does.
    assert!(run.stdout.contains(" | stage = \"won\""), "{}", run.stdout);
    assert!(
        run.stdout.contains(" | status = \"workin\""),
        "{}",
        run.stdout
    );
}

#[test]
fn github_annotations_name_the_file_from_the_repository_top() {
    let env = staged_mistakes();
    let run = env.run(&["-C", "crm", "check", "--staged", "--format", "github"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    expect_file("check/staged-github.txt", &run.stdout);
    let first = run.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("::error file=crm/accounts/helio-solaire.toml,line="),
        "{first}"
    );
    // Run from inside the CRM, paths stay those of the repository.
    let mut c = env.sloop();
    c.current_dir(env.path().join("crm"))
        .args(["check", "--staged", "--format", "github"]);
    let inside = String::from_utf8(c.output().unwrap().stdout).unwrap();
    assert_eq!(inside, run.stdout);
}

#[test]
fn sarif_is_a_code_scanning_log() {
    let env = staged_mistakes();
    let run = env.run(&["-C", "crm", "check", "--staged", "--format", "sarif"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let log: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run0 = &log["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), sloop::diag::Code::ALL.len());
    for result in run0["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.starts_with("crm/"), "{uri}");
    }
    let version = format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    expect_file(
        "check/staged.sarif",
        &run.stdout.replace(&version, "\"version\": \"VERSION\""),
    );
}

/// The hook says where the CRM is, at the top of the work tree or in a folder of it.
#[test]
fn the_installed_hook_says_where_the_crm_is() {
    let exe = env!("CARGO_BIN_EXE_sloop");
    for (crm, name) in [
        (".", "hooks/pre-commit-top.txt"),
        ("crm", "hooks/pre-commit-crm.txt"),
    ] {
        let env = TestEnv::new();
        env.write(&format!("{crm}/sloop.toml"), "");
        assert_eq!(env.git(&["init", "-q", "-b", "main"]).code, 0);
        let run = env.run(&["-C", crm, "hooks", "install"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let hook = env
            .read(".git/hooks/pre-commit")
            .replace(exe, "/path/to/sloop");
        expect_file(name, &hook);
    }
}
