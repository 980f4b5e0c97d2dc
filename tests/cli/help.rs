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
        (vec!["ingest", "email"], "One email message"),
        (vec!["demo"], "Create a demo CRM"),
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
    let bash = env.run(&["completions", "bash"]);
    assert_eq!(bash.code, 0);
    assert!(bash.stdout.contains("_sloop()") && bash.stdout.contains("tick"));
    let man = env.run(&["man"]);
    assert_eq!(man.code, 0);
    assert!(man.stdout.contains(".TH sloop 1"));
    let version = env.run(&["--version"]);
    assert_eq!(
        version.stdout,
        format!("sloop {}\n", env!("CARGO_PKG_VERSION"))
    );
}
