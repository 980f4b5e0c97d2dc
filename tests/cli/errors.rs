//! The error catalogue: `tests/errors/<code>/` is a CRM that triggers `<code>`, and
//! `expected.txt` is exactly what `sloop check` prints for it. Every code has one.
//! Set `SLOOP_BLESS=1` to rewrite the expected files after a deliberate change.

use sloop::diag::Code;

use crate::util::{copy_dir, repo_root, TestEnv};

fn setup(code: &str, env: &TestEnv) {
    let root = env.path().join("crm");
    match code {
        "symlink-escape" => {
            std::os::unix::fs::symlink("/etc/hostname", root.join("accounts/outside.toml")).unwrap()
        }
        "unreadable" => {
            std::os::unix::fs::symlink("missing.toml", root.join("accounts/gone.toml")).unwrap()
        }
        _ => {}
    }
}

#[test]
fn every_code_has_a_reproducing_case_with_its_exact_output() {
    let bless = std::env::var_os("SLOOP_BLESS").is_some();
    let mut failures = Vec::new();
    for code in Code::ALL {
        let name = code.as_str();
        let case = repo_root().join("tests/errors").join(name);
        assert!(case.is_dir(), "no tests/errors/{name}/ for code `{name}`");
        let env = TestEnv::new();
        let crm = env.path().join("crm");
        // A case with a `head/` folder is a repository whose last commit is `head/` and whose
        // work tree is the rest of the case.
        if case.join("head").is_dir() {
            copy_dir(&case.join("head"), &crm);
            assert_eq!(env.git(&["init", "-q", "crm"]).code, 0);
            let git = |args: &[&str]| {
                let mut all = vec!["-C", "crm"];
                all.extend_from_slice(args);
                let run = env.git(&all);
                assert_eq!(run.code, 0, "{}", run.stderr);
            };
            git(&["add", "-A"]);
            git(&["commit", "-qm", "before"]);
            for entry in std::fs::read_dir(&crm).unwrap() {
                let entry = entry.unwrap();
                if entry.file_name() != ".git" {
                    let p = entry.path();
                    if p.is_dir() {
                        std::fs::remove_dir_all(p).unwrap();
                    } else {
                        std::fs::remove_file(p).unwrap();
                    }
                }
            }
        }
        copy_dir(&case, &crm);
        let _ = std::fs::remove_file(crm.join("expected.txt"));
        let _ = std::fs::remove_dir_all(crm.join("head"));
        setup(name, &env);
        let run = env.run(&["-C", "crm", "check"]);
        let expected_code = if code.severity() == sloop::diag::Severity::Error {
            1
        } else {
            0
        };
        assert_eq!(
            run.code, expected_code,
            "{name}: exit code\n{}{}",
            run.stdout, run.stderr
        );
        assert!(
            run.stdout.contains(&format!("[{name}]")),
            "{name}: code not reported:\n{}",
            run.stdout
        );
        let expected_path = case.join("expected.txt");
        if bless {
            std::fs::write(&expected_path, &run.stdout).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != run.stdout {
            failures.push(format!(
                r#"── {name}: expected
{expected}── got
{}"#,
                run.stdout
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "outputs differ (SLOOP_BLESS=1 to accept):\n{}",
        failures.join("\n")
    );
}
