//! The README documents every diagnostic code, in the code's order.

use sloop::diag::Code;

#[test]
fn readme_lists_every_diagnostic_code_in_order() {
    let readme = std::fs::read_to_string(crate::util::repo_root().join("README.md")).unwrap();
    let table = readme
        .split("<!-- codes:")
        .nth(1)
        .expect("codes table marker");
    let rows: Vec<String> = table
        .lines()
        .skip(3)
        .take_while(|l| l.starts_with("| `"))
        .map(str::to_string)
        .collect();
    let expected: Vec<String> = Code::ALL
        .iter()
        .map(|c| {
            let sev = match c.severity() {
                sloop::diag::Severity::Error => "error",
                sloop::diag::Severity::Warning => "warning",
            };
            format!("| `{}` | {sev} | {} |", c.as_str(), c.summary())
        })
        .collect();
    assert_eq!(rows, expected);
}

#[test]
fn readme_setup_commands_name_real_files() {
    let readme = std::fs::read_to_string(crate::util::repo_root().join("README.md")).unwrap();
    assert!(readme.contains(
        r#"```sh
cargo run --release -- demo demo-crm
cargo test
```"#
    ));
    assert!(crate::util::repo_root()
        .join("example-crm/sloop.toml")
        .is_file());
}

/// The README's walkthrough, run as written: every command of its `console` blocks, in a
/// folder holding a committed copy of `example-crm/`, with this sloop on PATH (for `cargo
/// install --path .`). Each exits 0, or 1 where its shown output reports an error; where the
/// README shows the output, it is the output, exactly.
#[test]
fn readme_walkthrough_commands_are_true() {
    let readme = std::fs::read_to_string(crate::util::repo_root().join("README.md")).unwrap();
    let section = readme
        .split("\n## Walkthrough\n")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    // (command, the output shown under it)
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for block in section.split("```console\n").skip(1) {
        let block = block.split("```").next().unwrap();
        for line in block.lines() {
            match line.strip_prefix("$ ") {
                Some(command) => steps.push((command.to_string(), Vec::new())),
                None => steps.last_mut().unwrap().1.push(line.to_string()),
            }
        }
    }
    assert!(steps.len() >= 15, "only {} commands read", steps.len());

    let env = crate::util::TestEnv::new();
    env.copy_from_repo("example-crm", "example-crm");
    env.git(&["init", "-q"]);
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "example"]);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_sloop"))
        .parent()
        .unwrap()
        .to_path_buf();
    let mut cwd = env.path().to_path_buf();
    for (command, shown) in steps {
        if command.starts_with("cargo install") {
            continue; // this test's sloop is already on PATH
        }
        if let Some(dir) = command.strip_prefix("cd ") {
            cwd = cwd.join(dir.trim());
            assert!(cwd.is_dir(), "`{command}`: no such folder");
            continue;
        }
        let mut c = std::process::Command::new("bash");
        crate::util::hermetic(&mut c, env.path());
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        let out = c
            .args(["-o", "pipefail", "-c", &command])
            .current_dir(&cwd)
            .env("PATH", path)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let expected_code = if shown.iter().any(|l| l.contains("error[")) {
            1
        } else {
            0
        };
        assert_eq!(
            out.status.code(),
            Some(expected_code),
            "`{command}` exited {:?}:\n{text}",
            out.status.code()
        );
        if !shown.is_empty() {
            assert_eq!(
                text.trim_end(),
                shown.join("\n").trim_end(),
                "`{command}` prints something else than the README shows"
            );
        } else {
            assert!(
                !text
                    .lines()
                    .any(|l| l.starts_with("error") || l.contains("error[")),
                "`{command}` reports an error:\n{text}"
            );
        }
    }
}
