//! sloop reads the CRM's own files and nothing else: a symlink out of the CRM or into `.git`
//! is refused with a message that names the link and never its content (a pull request
//! must not be able to print a CI secret into the logs), and odd file system entries are
//! reported rather than skipped.

use std::os::unix::fs::symlink;

use crate::util::{snapshot, TestEnv};

const SECRET: &str = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG\n";

/// A committed CRM in `crm/` (its own repository) and a secret file beside it.
fn crm_with_secret() -> TestEnv {
    let env = TestEnv::new();
    assert_eq!(env.run(&["init", "crm"]).code, 0);
    env.write("secret.env", SECRET);
    env.write(
        "crm/accounts/acme.toml",
        "name = \"Acme\"\nstatus = \"qualified_pool\"\n",
    );
    let git = |args: &[&str]| {
        let mut all = vec!["-C", "crm"];
        all.extend_from_slice(args);
        let run = env.git(&all);
        assert_eq!(run.code, 0, "git {args:?}: {}", run.stderr);
    };
    git(&["add", "-A"]);
    git(&["commit", "-qm", "start"]);
    env
}

fn assert_no_secret(run: &crate::util::Run) {
    for text in [&run.stdout, &run.stderr] {
        assert!(
            !text.contains("AWS_SECRET") && !text.contains("wJalr"),
            "the secret was printed:\n{text}"
        );
    }
}

#[test]
fn a_symlinked_sloop_toml_outside_the_crm_is_refused_by_every_command() {
    let env = crm_with_secret();
    std::fs::remove_file(env.path().join("crm/sloop.toml")).unwrap();
    symlink("../secret.env", env.path().join("crm/sloop.toml")).unwrap();
    let before = snapshot(env.path());
    for args in [
        &["check"][..],
        &["ls", "accounts"],
        &["pipeline"],
        &["agenda", "--all", "--as-of", "2026-11-26"],
        &["tick", "--no-commit", "--as-of", "2026-11-26"],
        &["new", "account", "--name", "Initech"],
    ] {
        let mut all = vec!["-C", "crm"];
        all.extend_from_slice(args);
        let run = env.run(&all);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "error: sloop.toml is a symlink that points outside the CRM, to {}: sloop does \
                 not read it\nhint: sloop reads no file outside the CRM or inside `.git`: \
                 replace the link with the file itself\n",
                env.path()
                    .canonicalize()
                    .unwrap()
                    .join("secret.env")
                    .display()
            )),
            "{args:?}: {}",
            run.stderr
        );
        assert_no_secret(&run);
    }
    // A tick that plans from HEAD reads HEAD's sloop.toml, a blob: the link is not followed.
    let tick = env.run(&["-C", "crm", "tick", "--dry-run", "--as-of", "2026-11-26"]);
    assert_no_secret(&tick);
    assert_eq!(snapshot(env.path()), before, "nothing is written");
}

#[test]
fn a_sloop_toml_linking_into_git_is_refused() {
    let env = crm_with_secret();
    std::fs::remove_file(env.path().join("crm/sloop.toml")).unwrap();
    symlink(".git/config", env.path().join("crm/sloop.toml")).unwrap();
    let run = env.run(&["-C", "crm", "check"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.starts_with(
            "error: sloop.toml is a symlink that points into a hidden folder of the CRM, to \
             .git/config: sloop does not read it\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("[core]") && !run.stderr.contains("[core]"));
}

#[test]
fn records_linking_outside_the_crm_or_into_git_are_not_read() {
    let env = crm_with_secret();
    symlink(
        "../../secret.env",
        env.path().join("crm/accounts/leak.toml"),
    )
    .unwrap();
    symlink(
        "../.git/config",
        env.path().join("crm/accounts/gitconf.toml"),
    )
    .unwrap();
    // A link that stays inside the CRM is a record like any other.
    std::fs::create_dir(env.path().join("crm/shared")).unwrap();
    env.write(
        "crm/shared/initech.toml",
        "name = \"Initech\"\nstatus = \"qualified_pool\"\n",
    );
    symlink(
        "../shared/initech.toml",
        env.path().join("crm/accounts/initech.toml"),
    )
    .unwrap();
    let before = snapshot(env.path());
    let run = env.run(&["-C", "crm", "check"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let secret_path = env.path().canonicalize().unwrap().join("secret.env");
    assert_eq!(
        run.stdout,
        format!(
            "crm/accounts/gitconf.toml: error[symlink-escape]: symlink points into a hidden \
             folder of the CRM, to .git/config\n   = help: sloop never reads `.git` or hidden \
             folders: copy the file in instead of linking it\n\
             crm/accounts/leak.toml: error[symlink-escape]: symlink points outside the CRM, to \
             {}\n   = help: records must live inside the CRM: copy the file in instead of \
             linking it\n\
             2 records: 2 errors, 0 warnings\n",
            secret_path.display()
        )
    );
    assert_no_secret(&run);
    assert!(!run.stdout.contains("[core]"));
    let ls = env.run(&["-C", "crm", "ls", "accounts", "--format", "csv"]);
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    assert_eq!(ls.stdout.lines().count(), 3, "{}", ls.stdout);
    assert_no_secret(&ls);
    assert_eq!(snapshot(env.path()), before, "nothing is written");
}

#[test]
fn a_record_folder_linking_outside_is_not_walked() {
    let env = crm_with_secret();
    std::fs::create_dir(env.path().join("elsewhere")).unwrap();
    env.write("elsewhere/x.toml", SECRET);
    std::fs::remove_dir_all(env.path().join("crm/leads")).unwrap();
    symlink("../elsewhere", env.path().join("crm/leads")).unwrap();
    let run = env.run(&["-C", "crm", "check"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with(&format!(
            "crm/leads: error[symlink-escape]: symlink points outside the CRM, to {}\n",
            env.path()
                .canonicalize()
                .unwrap()
                .join("elsewhere")
                .display()
        )),
        "{}",
        run.stdout
    );
    assert_no_secret(&run);
}

#[test]
fn a_templates_folder_linking_outside_is_refused_and_linked_templates_are_not_read() {
    let env = crm_with_secret();
    std::fs::create_dir(env.path().join("elsewhere")).unwrap();
    env.write("elsewhere/leak.md", format!("{SECRET}{{% if %}}\n"));
    symlink("../elsewhere", env.path().join("crm/templates")).unwrap();
    let before = snapshot(env.path());
    let run = env.run(&["-C", "crm", "report", "--template", "leak.md"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "error: templates is a symlink that points outside the CRM, to {}: sloop does not \
             read it\n",
            env.path()
                .canonicalize()
                .unwrap()
                .join("elsewhere")
                .display()
        )),
        "{}",
        run.stderr
    );
    assert_no_secret(&run);
    // A template file that links out is not a template.
    std::fs::remove_file(env.path().join("crm/templates")).unwrap();
    std::fs::create_dir(env.path().join("crm/templates")).unwrap();
    symlink(
        "../../elsewhere/leak.md",
        env.path().join("crm/templates/leak.md"),
    )
    .unwrap();
    let run = env.run(&["-C", "crm", "report", "--template", "leak.md"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("unknown template `leak.md`; available: dashboard.html, weekly.md"),
        "{}",
        run.stderr
    );
    assert_no_secret(&run);
    std::fs::remove_file(env.path().join("crm/templates/leak.md")).unwrap();
    std::fs::remove_dir(env.path().join("crm/templates")).unwrap();
    assert_eq!(snapshot(env.path()), before, "nothing is written");
}

/// Git stores a symlink as a blob holding its target's name: the staged check, the range
/// check and the report read that blob, never the file it names.
#[test]
fn symlinks_in_the_index_and_in_commits_are_never_followed() {
    let env = crm_with_secret();
    symlink(
        "../../secret.env",
        env.path().join("crm/accounts/leak.toml"),
    )
    .unwrap();
    assert_eq!(env.git(&["-C", "crm", "add", "-A"]).code, 0);
    let staged = env.run(&["-C", "crm", "check", "--staged"]);
    assert_no_secret(&staged);
    assert_eq!(
        env.git(&["-C", "crm", "commit", "-qm", "leak"]).code,
        0,
        "commit"
    );
    let range = env.run(&["-C", "crm", "check", "--range", "HEAD~1..HEAD"]);
    assert_eq!(range.code, 1, "{}{}", range.stdout, range.stderr);
    assert!(
        range
            .stdout
            .contains("crm/accounts/leak.toml: error[symlink-escape]"),
        "{}",
        range.stdout
    );
    assert_no_secret(&range);
    for template in ["weekly.md", "dashboard.html"] {
        let report = env.run(&[
            "-C",
            "crm",
            "report",
            "--template",
            template,
            "--as-of",
            "2026-11-26",
        ]);
        assert_no_secret(&report);
    }
    let export = env.run(&["-C", "crm", "export", "events"]);
    assert_no_secret(&export);
}

#[test]
fn a_record_folder_that_is_a_file_is_reported() {
    let env = crm_with_secret();
    std::fs::remove_dir_all(env.path().join("crm/contacts")).unwrap();
    env.write("crm/contacts", "name = \"Ann\"\n");
    let run = env.run(&["-C", "crm", "check"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        "crm/contacts: error[unreadable]: cannot read: a file, not a folder: no record of \
         `contacts/` is read\n1 record: 1 error, 0 warnings\n"
    );
}

#[test]
fn a_file_name_that_is_not_utf8_is_named_with_its_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let env = crm_with_secret();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.toml");
    std::fs::write(
        env.path().join("crm/accounts").join(name),
        "name = \"Cafe\"\nstatus = \"qualified_pool\"\n",
    )
    .unwrap();
    let run = env.run(&["-C", "crm", "check"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        "crm/accounts/caf\u{fffd}.toml: error[unreadable]: cannot read: the name is not valid \
         UTF-8 (`accounts/caf\\xe9.toml`): rename it, ids are lowercase letters, digits and \
         `-`\n1 record: 1 error, 0 warnings\n"
    );
}

#[test]
fn links_and_files_stored_in_git_where_records_belong_are_reported() {
    let env = crm_with_secret();
    let git = |args: &[&str]| {
        let mut all = vec!["-C", "crm"];
        all.extend_from_slice(args);
        let run = env.git(&all);
        assert_eq!(run.code, 0, "git {args:?}: {}", run.stderr);
    };
    // A staged link where a record belongs: reported as a link, its text named.
    symlink(
        "../../secret.env",
        env.path().join("crm/accounts/leak.toml"),
    )
    .unwrap();
    git(&["add", "-A"]);
    let staged = env.run(&["-C", "crm", "check", "--staged"]);
    assert_eq!(staged.code, 1, "{}{}", staged.stdout, staged.stderr);
    assert!(
        staged.stdout.contains(
            "crm/accounts/leak.toml: error[symlink-escape]: a symlink (to `../../secret.env`) is stored in git here: sloop follows no link stored in git"
        ),
        "{}",
        staged.stdout
    );
    assert_no_secret(&staged);
    git(&["commit", "-qm", "a link", "--no-verify"]);
    // The record folder `leads` committed as a file.
    std::fs::remove_dir_all(env.path().join("crm/leads")).unwrap();
    env.write("crm/leads", "not a folder\n");
    // sloop.toml committed as a link.
    std::fs::remove_file(env.path().join("crm/sloop.toml")).unwrap();
    symlink("../secret.env", env.path().join("crm/sloop.toml")).unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-qm", "breakage", "--no-verify"]);
    let range = env.run(&["-C", "crm", "check", "--range", "HEAD~2..HEAD"]);
    assert_eq!(range.code, 2, "{}{}", range.stdout, range.stderr);
    assert!(
        range.stderr.contains("is a symlink that points to `../secret.env` (a link stored in git): sloop does not read it"),
        "{}",
        range.stderr
    );
    assert_no_secret(&range);
    // With sloop.toml a file again, the folder-as-a-file is reported from the commit.
    std::fs::remove_file(env.path().join("crm/sloop.toml")).unwrap();
    env.run(&["init", "other"]);
    std::fs::copy(
        env.path().join("other/sloop.toml"),
        env.path().join("crm/sloop.toml"),
    )
    .unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-qm", "config back", "--no-verify"]);
    let range = env.run(&["-C", "crm", "check", "--range", "HEAD~1..HEAD"]);
    assert!(
        range.stdout.contains("crm/leads: error[unreadable]")
            && range
                .stdout
                .contains("a file, not a folder: no record of `leads/` is read"),
        "{}{}",
        range.stdout,
        range.stderr
    );
}
