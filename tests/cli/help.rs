//! Every command has a `--help` that says what it does.

use crate::util::{expect_file, TestEnv};

#[test]
fn every_command_has_help() {
    let env = TestEnv::new();
    let top = env.run(&["--help"]);
    assert_eq!(top.code, 0);
    for (command, says) in [
        (vec!["init"], "Start a CRM"),
        (vec!["check"], "Validate the CRM"),
        (vec!["ls"], "List records of one kind"),
        (vec!["tick"], "Apply the sales loop's time-based moves"),
        (vec!["hooks", "install"], "pre-commit hook"),
        (vec!["report"], "Render a report from the history"),
        (vec!["pipeline"], "The open pipeline per stage"),
        (vec!["forecast"], "The forecast of open opportunities"),
        (vec!["history"], "A record's timeline"),
        (vec!["export"], "Export the history"),
        (vec!["new"], "Create a record"),
        (vec!["log"], "Log an email, call, meeting, demo or note"),
        (vec!["task"], "Add a task on an account"),
        (vec!["done"], "Mark a task done"),
        (vec!["move"], "Move an opportunity to another stage"),
        (vec!["set"], "Change fields of a record"),
        (vec!["agenda"], "Your homepage"),
        (
            vec!["lead", "convert"],
            "Turn a lead into an account and a contact",
        ),
        (
            vec!["import", "leads"],
            "Leads from a lead list or a CRM's export",
        ),
        (vec!["import", "calls"], "Calls from a phone system"),
        (vec!["ingest", "email"], "One email message"),
        (vec!["ingest", "maildir"], "Every message of a Maildir"),
        (vec!["ingest", "mbox"], "Every message of an mbox file"),
        (vec!["ingest", "ics"], "The events of a calendar"),
        (vec!["demo"], "Create a demo CRM"),
        (vec!["schema"], "Print the JSON Schema of a record kind"),
        (vec!["serve"], "Run the CRM's server"),
        (vec!["man"], "write one page per command"),
        (vec!["completions"], "from the CRM in the current folder"),
    ] {
        assert!(
            top.stdout.contains(command[0]),
            "{} missing from sloop --help",
            command[0]
        );
        let mut args = command.clone();
        args.push("--help");
        let run = env.run(&args);
        assert_eq!(run.code, 0, "{args:?}");
        assert!(run.stdout.contains(says), "{args:?}:\n{}", run.stdout);
        expect_file(&format!("help/{}.txt", command.join("-")), &run.stdout);
    }
    expect_file("help/sloop.txt", &top.stdout);
    let man = env.run(&["man"]);
    assert_eq!(man.code, 0);
    assert!(man.stdout.contains(".TH sloop 1"));
    let version = env.run(&["--version"]);
    assert_eq!(
        version.stdout,
        format!("sloop {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// Every command of the tree, as its manual page is named: `sloop`, `sloop-hooks-install`…
fn command_pages() -> Vec<String> {
    fn walk(cmd: &clap::Command, name: &str, out: &mut Vec<String>) {
        out.push(name.to_string());
        for c in cmd.get_subcommands().filter(|c| !c.is_hide_set()) {
            if c.get_name() != "help" {
                walk(c, &format!("{name}-{}", c.get_name()), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &<sloop::cli::Cli as clap::CommandFactory>::command(),
        "sloop",
        &mut out,
    );
    out.sort();
    out
}

/// `sloop man --out DIR` writes a page per command, whatever commands exist; every page a
/// page names is there; the NAME line does not repeat the name; the synopsis gives each
/// option its value; groff reads every page without a warning.
#[test]
fn man_writes_one_page_per_command_and_every_reference_exists() {
    let env = TestEnv::new();
    let run = env.run(&["man", "--out", "man"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut written: Vec<String> = std::fs::read_dir(env.path().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected: Vec<String> = command_pages().iter().map(|p| format!("{p}.1")).collect();
    expected.sort();
    assert_eq!(written, expected);
    assert_eq!(
        run.stdout,
        format!(
            "Wrote {} manual pages into {}\n",
            expected.len(),
            env.path().join("man").display()
        )
    );
    let groff = std::process::Command::new("groff")
        .arg("--version")
        .output()
        .is_ok();
    for file in &written {
        let text = env.read(&format!("man/{file}"));
        // References: `sloop\-ls(1)` in SUBCOMMANDS, `\fBsloop\-hooks\fR(1)` in SEE ALSO.
        let plain = text
            .replace("\\fB", "")
            .replace("\\fR", "")
            .replace("\\-", "-");
        for (i, _) in plain.match_indices("(1)") {
            let name: String = plain[..i]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            assert!(
                written.contains(&format!("{name}.1")),
                "{file} refers to {name}(1), which was not written"
            );
        }
        let name_line = plain
            .lines()
            .skip_while(|l| *l != ".SH NAME")
            .nth(1)
            .unwrap();
        assert!(!name_line.contains("sloop - sloop"), "{file}: {name_line}");
        let synopsis = plain
            .lines()
            .skip_while(|l| *l != ".SH SYNOPSIS")
            .nth(1)
            .unwrap();
        assert!(
            synopsis.contains("[-C DIR] [--color WHEN]"),
            "{file}: {synopsis}"
        );
        if groff {
            let out = std::process::Command::new("groff")
                .args(["-K", "utf8", "-man", "-Tutf8", "-ww", "-z"])
                .arg(env.path().join("man").join(file))
                .output()
                .unwrap();
            assert!(
                out.status.success() && out.stderr.is_empty(),
                "{file}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let ls = env.read("man/sloop-ls.1");
    assert!(
        ls.contains(".SH NAME\nsloop\\-ls \\- List records of one kind"),
        "{ls}"
    );
    assert!(ls.contains("[\\-\\-status STATUS]"), "{ls}");
}

/// `sloop completions bash` loads into a real bash, whose completion function then asks
/// sloop for the values of the CRM in the current folder.
#[test]
fn bash_completes_kinds_stages_members_templates_and_ids_from_the_crm() {
    let env = crate::util::example();
    let code = env.run(&["completions", "bash"]);
    assert_eq!(code.code, 0);
    env.write("sloop.bash", &code.stdout);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_sloop"))
        .parent()
        .unwrap();
    let complete = |line: &str| -> Vec<String> {
        // What bash does on TAB: the words of the line, the index of the one completed.
        let script = format!(
            r#"source ../sloop.bash
COMP_LINE='{line}'
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_TYPE=9
_clap_complete_sloop sloop "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#
        );
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(env.path().join("crm"))
            .env_clear()
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("HOME", env.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('-'))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        complete("sloop ls "),
        [
            "accounts",
            "activities",
            "contacts",
            "leads",
            "opportunities"
        ]
    );
    assert_eq!(
        complete("sloop ls opportunities --stage c"),
        ["closed", "closing", "commit"]
    );
    assert_eq!(complete("sloop ls accounts --status cu"), ["customer"]);
    assert_eq!(
        complete("sloop agenda --owner "),
        ["lea", "marc", "nina", "sofia", "tom"]
    );
    assert_eq!(
        complete("sloop report --template "),
        ["dashboard.html", "weekly.md"]
    );
    assert_eq!(
        complete("sloop history opportunities/hel"),
        ["opportunities/helio-solaire-new"]
    );
    assert_eq!(complete("sloop move helio-solaire-new w"), ["won"]);
    assert_eq!(
        complete("sloop done 2026-11-24-task-m"),
        ["2026-11-24-task-mercator-legal"]
    );
    assert_eq!(
        complete("sloop log call nor"),
        ["nordlicht-software", "northwind-coffee"]
    );
}

/// `sloop man --out` into a path that is a file: the error names it, nothing is written.
#[test]
fn man_out_into_a_file_fails_and_writes_nothing() {
    let env = TestEnv::new();
    env.write("pages", "not a folder\n");
    let before = crate::util::snapshot(env.path());
    let run = env.run(&["man", "--out", "pages"]);
    assert_ne!(run.code, 0);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!(
            "cannot create {}",
            env.path().join("pages").display()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(crate::util::snapshot(env.path()), before);
}
