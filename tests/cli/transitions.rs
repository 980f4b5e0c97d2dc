//! Transitions against git: `check` (uncommitted), `check --staged`, `check --range`, hooks.

use crate::util::TestEnv;

/// A repository whose root is a CRM, with one account and one opportunity committed.
fn repo() -> TestEnv {
    let env = TestEnv::new();
    env.write(
        "sloop.toml",
        r#"[team.al]
name = "Al"
role = "ae"
"#,
    );
    env.write(
        "accounts/acme.toml",
        r#"name = "Acme"
status = "working"
owner = "al"
"#,
    );
    env.write("opportunities/acme-pro.toml", OPP_IDENTIFIED);
    git_ok(&env, &["init", "-q", "-b", "main"]);
    commit_all(&env, "start", "2026-10-01T10:00:00Z");
    env
}

const OPP_IDENTIFIED: &str = r#"name = "Acme Pro"
account = "acme"
owner = "al"
stage = "identified"
source = "outbound"
"#;
const OPP_QUALIFIED: &str = r#"name = "Acme Pro"
account = "acme"
owner = "al"
stage = "qualified"
source = "outbound"
mrr = 500
close_date = 2026-12-20

[bant]
budget = "ok"
authority = "CFO"
need = "close faster"
timeline = "Q1"
"#;
const OPP_COMMIT: &str = r#"name = "Acme Pro"
account = "acme"
owner = "al"
stage = "commit"
source = "outbound"
mrr = 500
close_date = 2026-12-20

[bant]
budget = "ok"
authority = "CFO"
need = "close faster"
timeline = "Q1"

[commit]
accepted_on = 2026-11-20
start_date = 2026-12-01
onboarding_meeting = 2026-12-02
plan = "pro"
pricing = "list"
users = 4
billing_tool = "Stripe"
invoice_scheduled = true
"#;

fn git_ok(env: &TestEnv, args: &[&str]) -> String {
    let run = env.git(args);
    assert_eq!(run.code, 0, "git {args:?}: {}", run.stderr);
    run.stdout
}

fn commit_all(env: &TestEnv, message: &str, date: &str) {
    git_ok(env, &["add", "-A"]);
    let mut c = std::process::Command::new("git");
    c.current_dir(env.path())
        .args([
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "--no-verify",
            "-m",
            message,
        ])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date);
    assert!(c.status().unwrap().success());
}

fn head(env: &TestEnv) -> String {
    git_ok(env, &["rev-parse", "HEAD"]).trim().to_string()
}

#[test]
fn an_illegal_staged_jump_is_refused_naming_both_stages() {
    let env = repo();
    env.write("opportunities/acme-pro.toml", OPP_COMMIT);
    git_ok(&env, &["add", "-A"]);
    let run = env.run(&["check", "--staged"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("opportunities/acme-pro.toml:4:9: error[illegal-transition]: opportunity moved from stage `identified` to `commit`, which `identified` does not allow"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("help: from `identified` opportunity may move to `qualified` or `lost`"));
}

#[test]
fn staged_ignores_unstaged_edits_that_plain_check_catches() {
    let env = repo();
    env.write("opportunities/acme-pro.toml", OPP_QUALIFIED);
    git_ok(&env, &["add", "-A"]);
    // then an illegal edit in the work tree, not staged
    env.write(
        "opportunities/acme-pro.toml",
        OPP_QUALIFIED.replace("\"qualified\"", "\"won\""),
    );
    let staged = env.run(&["check", "--staged"]);
    assert_eq!(staged.code, 0, "{}", staged.stdout);
    assert_eq!(staged.stdout, "1 record: 0 errors, 0 warnings\n");
    let plain = env.run(&["check"]);
    assert_eq!(plain.code, 1, "{}", plain.stdout);
    assert!(
        plain.stdout.contains("from stage `identified` to `won`"),
        "{}",
        plain.stdout
    );
}

#[test]
fn a_new_record_must_start_at_an_entry_stage() {
    let env = repo();
    env.write("opportunities/acme-new.toml", OPP_COMMIT);
    git_ok(&env, &["add", "-A"]);
    let run = env.run(&["check", "--staged"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("error[not-entry]: new opportunity starts at stage `commit`"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("start it at `identified` or `trial`"));
}

#[test]
fn a_deletion_is_refused() {
    let env = repo();
    git_ok(&env, &["rm", "-q", "opportunities/acme-pro.toml"]);
    let run = env.run(&["check", "--staged"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("opportunities/acme-pro.toml: error[deleted-record]"),
        "{}",
        run.stdout
    );
    // and in the work tree too
    let env = repo();
    std::fs::remove_file(env.path().join("opportunities/acme-pro.toml")).unwrap();
    let run = env.run(&["check"]);
    assert!(
        run.stdout.contains("error[deleted-record]"),
        "{}",
        run.stdout
    );
}

#[test]
fn staged_references_resolve_against_head_and_the_index() {
    let env = repo();
    env.write(
        "contacts/jo.toml",
        r#"name = "Jo"
account = "acme"
"#,
    );
    env.write(
        "contacts/sam.toml",
        r#"name = "Sam"
account = "acmee"
reports_to = "jo"
"#,
    );
    git_ok(&env, &["add", "-A"]);
    let run = env.run(&["check", "--staged"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(
            "contacts/sam.toml:2:11: error[dangling-ref]: `account` points to account `acmee`"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("did you mean `acme`?"));
    assert!(
        !run.stdout.contains("reports_to"),
        "jo is staged, so it resolves:\n{}",
        run.stdout
    );
}

/// The index knows every path: a staged file in another folder that repeats a committed id,
/// or another staged file's, is refused by the pre-commit hook as `check` refuses it. A move
/// (the old path deleted in the same commit) is not a duplicate.
#[test]
fn staged_duplicate_ids_in_other_folders_are_refused() {
    let env = repo();
    env.write(
        "accounts/deep/er/globex.toml",
        "name = \"Globex\"\nstatus = \"qualified_pool\"\n",
    );
    commit_all(&env, "globex, deep", "2026-10-02T10:00:00Z");
    let account = "name = \"Again\"\nstatus = \"qualified_pool\"\n";
    env.write("accounts/zz/acme.toml", account);
    env.write("accounts/globex.toml", account);
    env.write("contacts/jo.toml", "name = \"Jo\"\naccount = \"acme\"\n");
    env.write("contacts/j/jo.toml", "name = \"Jo\"\naccount = \"acme\"\n");
    git_ok(&env, &["add", "-A"]);
    let status = git_ok(&env, &["status", "--porcelain"]);
    let before = crate::util::snapshot(env.path());
    let run = env.run(&["check", "--staged"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        "accounts/globex.toml: error[duplicate-id]: an account `globex` is also defined in \
         another file under accounts/ in HEAD\n   = help: ids are unique per kind, whatever \
         the folder: rename one of the files\n\
         accounts/zz/acme.toml: error[duplicate-id]: an account `acme` is also defined in \
         accounts/acme.toml\n   = help: ids are unique per kind, whatever the folder: rename \
         one of the files\n\
         contacts/jo.toml: error[duplicate-id]: a contact `jo` is also defined in \
         contacts/j/jo.toml\n   = help: ids are unique per kind, whatever the folder: rename \
         one of the files\n\
         4 records: 3 errors, 0 warnings\n"
    );
    assert_eq!(
        crate::util::snapshot(env.path()),
        before,
        "nothing is written"
    );
    assert_eq!(git_ok(&env, &["status", "--porcelain"]), status);
    // Moving a record to a shard folder is not a duplicate.
    git_ok(&env, &["reset", "-q", "--hard"]);
    std::fs::create_dir_all(env.path().join("accounts/ac")).unwrap();
    git_ok(&env, &["mv", "accounts/acme.toml", "accounts/ac/acme.toml"]);
    git_ok(
        &env,
        &["mv", "accounts/deep/er/globex.toml", "accounts/globex.toml"],
    );
    let run = env.run(&["check", "--staged"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn the_first_commit_judges_everything_as_new() {
    let env = TestEnv::new();
    env.write(
        "sloop.toml",
        r#"[team.al]
name = "Al"
"#,
    );
    env.write(
        "accounts/acme.toml",
        r#"name = "Acme"
status = "working"
owner = "al"
"#,
    );
    git_ok(&env, &["init", "-q"]);
    git_ok(&env, &["add", "-A"]);
    let run = env.run(&["check", "--staged"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("new account starts at status `working`"),
        "{}",
        run.stdout
    );
    // plain check in a repository without commits: the work tree only
    let plain = env.run(&["check"]);
    assert_eq!(plain.code, 0, "{}", plain.stdout);
}

#[test]
fn range_names_the_bad_commit_then_checks_the_end() {
    let env = repo();
    let base = head(&env);
    env.write("opportunities/acme-pro.toml", OPP_QUALIFIED);
    commit_all(&env, "qualify", "2026-10-05T10:00:00Z");
    env.write(
        "opportunities/acme-pro.toml",
        OPP_QUALIFIED.replace("\"qualified\"", "\"won\"").replace(
            "[bant]",
            r#"[commit]
plan = "pro"
start_date = 2026-12-21

[bant]"#,
        ),
    );
    commit_all(&env, "skip to won", "2026-10-06T10:00:00Z");
    let bad = head(&env);
    env.write(
        "accounts/acme.toml",
        r#"name = "Acme"
status = "customer"
owner = "al"
"#,
    );
    commit_all(&env, "customer", "2026-10-07T10:00:00Z");
    let range = format!("{base}..HEAD");
    let run = env.run(&["check", "--range", &range, "--format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let diags = v["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["code"], "illegal-transition");
    assert_eq!(diags[0]["commit"], bad.as_str());
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .contains("from stage `qualified` to `won`"));
    assert!(run.stderr.contains("checked 3 commits"), "{}", run.stderr);
    let text = env.run(&["check", "--range", &range]);
    assert!(
        text.stdout.contains(&format!("(commit {})", &bad[..12])),
        "{}",
        text.stdout
    );
}

#[test]
fn range_judges_merges_against_their_first_parent() {
    let env = repo();
    let base = head(&env);
    git_ok(&env, &["checkout", "-q", "-b", "side"]);
    env.write("opportunities/acme-pro.toml", OPP_QUALIFIED);
    commit_all(&env, "qualify on a branch", "2026-10-05T10:00:00Z");
    git_ok(&env, &["checkout", "-q", "main"]);
    env.write(
        "contacts/jo.toml",
        r#"name = "Jo"
account = "acme"
"#,
    );
    commit_all(&env, "a contact", "2026-10-06T10:00:00Z");
    let mut merge = std::process::Command::new("git");
    merge
        .current_dir(env.path())
        .args([
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "merge",
            "-q",
            "--no-edit",
            "side",
        ])
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    assert!(merge.status().unwrap().success());
    let run = env.run(&["check", "--range", &format!("{base}..HEAD")]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn range_errors_are_clear() {
    let env = repo();
    let run = env.run(&["check", "--range", "nope..HEAD"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown revision `nope`"),
        "{}",
        run.stderr
    );
    let run = env.run(&["check", "--range", "HEAD...HEAD~1"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not a range"), "{}", run.stderr);
    // A lone revision: every commit it reaches, the first one included.
    assert_eq!(env.git(&["rev-list", "--count", "HEAD"]).stdout, "1\n");
    let run = env.run(&["check", "--range", "HEAD"]);
    assert_ne!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("checked 1 commit of HEAD,"),
        "{}",
        run.stderr
    );
    let run = env.run(&["check", "--range", "HEAD..HEAD"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("has no commits"), "{}", run.stderr);
    let run = env.run(&["check", "--staged", "--range", "HEAD..HEAD"]);
    assert_eq!(run.code, 2);
}

#[test]
fn a_shallow_clone_exits_2_and_says_shallow() {
    let env = repo();
    for (i, stage) in [OPP_QUALIFIED].iter().enumerate() {
        env.write("opportunities/acme-pro.toml", stage);
        commit_all(&env, &format!("c{i}"), "2026-10-05T10:00:00Z");
    }
    env.write(
        "contacts/jo.toml",
        r#"name = "Jo"
account = "acme"
"#,
    );
    commit_all(&env, "contact", "2026-10-06T10:00:00Z");
    env.shallow_clone("shallow", 1);
    let run = env.run(&["-C", "shallow", "check", "--range", "HEAD~2..HEAD"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("shallow"), "{}", run.stderr);
    assert!(run.stderr.contains("fetch-depth: 0"), "{}", run.stderr);
}

#[test]
fn detached_head_and_a_crm_in_a_unicode_subfolder_with_spaces() {
    let env = TestEnv::new();
    let dir = "sales team é";
    env.write(
        &format!("{dir}/sloop.toml"),
        r#"[team.al]
name = "Al"
"#,
    );
    env.write(
        &format!("{dir}/accounts/acme.toml"),
        r#"name = "Acme"
status = "working"
owner = "al"
"#,
    );
    env.write(
        &format!("{dir}/opportunities/acme-pro.toml"),
        OPP_IDENTIFIED,
    );
    env.write("src/main.c", "int main() {}\n");
    git_ok(&env, &["init", "-q"]);
    commit_all(&env, "start", "2026-10-01T10:00:00Z");
    git_ok(&env, &["checkout", "-q", "--detach"]);
    env.write(&format!("{dir}/opportunities/acme-pro.toml"), OPP_COMMIT);
    git_ok(&env, &["add", "-A"]);
    let run = env.run(&["-C", dir, "check", "--staged"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .starts_with("sales team é/opportunities/acme-pro.toml:4:9: error[illegal-transition]"),
        "{}",
        run.stdout
    );
    let plain = env.run(&["-C", dir, "check"]);
    assert_eq!(plain.code, 1);
    assert!(plain.stdout.contains("illegal-transition"));
}

#[test]
fn a_merge_with_conflicts_is_refused_clearly() {
    let env = repo();
    git_ok(&env, &["checkout", "-q", "-b", "side"]);
    env.write("opportunities/acme-pro.toml", OPP_QUALIFIED);
    commit_all(&env, "side", "2026-10-05T10:00:00Z");
    git_ok(&env, &["checkout", "-q", "main"]);
    env.write(
        "opportunities/acme-pro.toml",
        OPP_QUALIFIED.replace("mrr = 500", "mrr = 600"),
    );
    commit_all(&env, "main", "2026-10-05T11:00:00Z");
    let merge = env.git(&[
        "-c",
        "user.name=T",
        "-c",
        "user.email=t@e.com",
        "merge",
        "side",
    ]);
    assert_ne!(merge.code, 0, "the merge conflicts");
    let run = env.run(&["check", "--staged"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("unresolved conflicts, starting with opportunities/acme-pro.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_installed_hook_blocks_the_commit_and_keeps_it_staged() {
    let env = repo();
    let run = env.run(&["hooks", "install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hook = env.path().join(".git/hooks/pre-commit");
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("check --staged"));
    env.write("opportunities/acme-pro.toml", OPP_COMMIT);
    git_ok(&env, &["add", "-A"]);
    let commit = env.git(&[
        "-c",
        "user.name=T",
        "-c",
        "user.email=t@e.com",
        "commit",
        "-m",
        "jump",
    ]);
    assert_ne!(commit.code, 0, "the hook refuses");
    assert!(
        commit.stdout.contains("illegal-transition")
            || commit.stderr.contains("illegal-transition"),
        "{}{}",
        commit.stdout,
        commit.stderr
    );
    let staged = git_ok(&env, &["diff", "--cached", "--name-only"]);
    assert_eq!(staged.trim(), "opportunities/acme-pro.toml");
    // a legal move goes through
    env.write("opportunities/acme-pro.toml", OPP_QUALIFIED);
    git_ok(&env, &["add", "-A"]);
    let commit = env.git(&[
        "-c",
        "user.name=T",
        "-c",
        "user.email=t@e.com",
        "commit",
        "-qm",
        "qualify",
    ]);
    assert_eq!(commit.code, 0, "{}{}", commit.stdout, commit.stderr);
}

#[test]
fn hooks_install_respects_hooks_path_and_foreign_hooks() {
    let env = repo();
    git_ok(&env, &["config", "core.hooksPath", "githooks"]);
    env.write(
        "githooks/pre-commit",
        r#"#!/bin/sh
echo mine
"#,
    );
    let run = env.run(&["hooks", "install"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("was not written by sloop"),
        "{}",
        run.stderr
    );
    assert_eq!(
        env.read("githooks/pre-commit"),
        r#"#!/bin/sh
echo mine
"#
    );
    let run = env.run(&["hooks", "install", "--force"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(env
        .read("githooks/pre-commit")
        .contains("sloop hooks install"));
    assert_eq!(
        env.read("githooks/pre-commit.sloop-backup"),
        r#"#!/bin/sh
echo mine
"#
    );
    // re-installing our own hook needs no --force
    assert_eq!(env.run(&["hooks", "install"]).code, 0);
}

#[test]
fn a_range_that_starts_at_the_shallow_edge_exits_2() {
    let env = repo();
    env.write(
        "accounts/gone.toml",
        r#"name = "Gone"
status = "churn"
"#,
    );
    commit_all(&env, "churned", "2026-10-02T10:00:00Z");
    env.write(
        "contacts/jo.toml",
        r#"name = "Jo"
account = "acme"
"#,
    );
    commit_all(&env, "contact", "2026-10-06T10:00:00Z");
    env.shallow_clone("shallow", 1);
    // the base is the clone's only commit's (unfetched) parent: name it by its id
    let base = git_ok(&env, &["rev-parse", "HEAD~1"]);
    let run = env.run(&[
        "-C",
        "shallow",
        "check",
        "--range",
        &format!("{}..HEAD", base.trim()),
    ]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("shallow"), "{}", run.stderr);
    // tick in a shallow clone does not date accounts at the edge of the history
    let tick = env.run(&[
        "-C",
        "shallow",
        "tick",
        "--dry-run",
        "--as-of",
        "2027-06-01",
        "--format",
        "json",
    ]);
    assert_eq!(tick.code, 0, "{}", tick.stderr);
    assert!(
        !tick.stdout.contains("churn-recycled"),
        "the churn date is not in the fetched history:\n{}",
        tick.stdout
    );
    // with the full history it is
    let full = env.run(&[
        "tick",
        "--dry-run",
        "--as-of",
        "2027-06-01",
        "--format",
        "json",
    ]);
    assert!(full.stdout.contains("churn-recycled"), "{}", full.stdout);
}

#[test]
fn staged_checks_a_reference_the_change_adds_but_not_the_ones_it_keeps() {
    let env = repo();
    // a new reference: checked
    env.write(
        "opportunities/acme-pro.toml",
        OPP_IDENTIFIED.replace("account = \"acme\"", "account = \"acmee\""),
    );
    git_ok(&env, &["add", "-A"]);
    let run = env.run(&["check", "--staged"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("`account` points to account `acmee`"),
        "{}",
        run.stdout
    );
    // a kept reference whose record the same change deletes: checked too
    env.write(
        "opportunities/acme-pro.toml",
        OPP_IDENTIFIED.replace("Acme Pro", "Acme Pro 2"),
    );
    git_ok(&env, &["rm", "-q", "accounts/acme.toml"]);
    git_ok(&env, &["add", "-A"]);
    let run = env.run(&["check", "--staged"]);
    assert!(
        run.stdout.contains("`account` points to account `acme`"),
        "{}",
        run.stdout
    );
}
