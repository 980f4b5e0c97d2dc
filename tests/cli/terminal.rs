//! Tables on a real terminal: a pseudo-terminal of 60 and of 120 columns (made by
//! util-linux's `script`, sized by `stty`), where the tables must fit and never split an id
//! or a date; and a terminal of no size, which gets every value whole.

use std::process::Command;

use crate::util::{example, hermetic, repo_root, TestEnv};

/// Runs sloop with `args` on a pseudo-terminal `cols` wide (0: a terminal of no size) and
/// returns what the terminal received, without carriage returns.
fn on_terminal(env: &TestEnv, cols: u16, args: &[&str]) -> String {
    on_terminal_raw(env, cols, args).replace('\r', "")
}

/// What the terminal received, carriage returns kept (a progress line rewrites itself with
/// them). The environment is the tests' own (`util::hermetic`), with a dumb terminal.
fn on_terminal_raw(env: &TestEnv, cols: u16, args: &[&str]) -> String {
    let sloop = env!("CARGO_BIN_EXE_sloop");
    let quoted: Vec<String> = args
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let inner = format!(
        "stty cols {cols} rows 60; exec '{sloop}' {}",
        quoted.join(" ")
    );
    let mut c = Command::new("script");
    hermetic(&mut c, env.path());
    c.args(["-qec", &inner, "/dev/null"])
        .current_dir(env.path())
        .env("TERM", "dumb");
    let out = c.output().expect("script (util-linux) runs");
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The same command's CSV: every id (`ids`) or every id and date it lists.
fn tokens(env: &TestEnv, args: &[&str], ids: bool) -> Vec<String> {
    let mut csv_args = args.to_vec();
    csv_args.extend(["--format", "csv"]);
    let run = env.run(&csv_args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut reader = csv::Reader::from_reader(run.stdout.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let mut out = Vec::new();
    for record in reader.records() {
        for (name, cell) in header.iter().zip(record.unwrap().iter()) {
            let b = cell.as_bytes();
            let date = b.len() == 10 && b[4] == b'-' && b[7] == b'-';
            if (name == "id" || (date && !ids)) && !cell.is_empty() {
                out.push(cell.to_string());
            }
        }
    }
    out
}

fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| c.is_whitespace()).collect()
}

#[test]
fn tables_fit_60_and_120_columns_and_never_split_an_id_or_a_date() {
    let env = example();
    let views: [&[&str]; 5] = [
        &["-C", "crm", "ls", "opportunities"],
        &["-C", "crm", "ls", "activities"],
        &["-C", "crm", "ls", "accounts"],
        &["-C", "crm", "ls", "contacts"],
        &["-C", "crm", "ls", "leads"],
    ];
    for cols in [60usize, 120] {
        for args in views {
            let shown = on_terminal(&env, cols as u16, args);
            for line in shown.lines() {
                let width = line.chars().count();
                assert!(
                    width <= cols,
                    "{args:?} at {cols}: {width} columns:\n{shown}"
                );
            }
            let shown_words = words(&shown);
            // Ids are never left out: every one is shown whole.
            for id in tokens(&env, args, true) {
                assert!(
                    shown_words.contains(&id.as_str()),
                    "{args:?} at {cols}: `{id}` is not shown whole:\n{shown}"
                );
            }
            // No id or date is cut (lines that fit the width are never wrapped, so a cut is
            // the only way to split one).
            let all = tokens(&env, args, false);
            for w in shown_words.iter().filter(|w| w.ends_with('…')) {
                let piece = w.trim_end_matches('…');
                if piece.len() < 4 {
                    continue; // the end of a cut name, too short to tell
                }
                assert!(
                    !all.iter().any(|t| t.starts_with(piece)),
                    "{args:?} at {cols}: `{w}` is a cut id or date:\n{shown}"
                );
            }
            // No date cut short anywhere (a `2026-1…` or a `2026-11-` at a line's end).
            for w in &shown_words {
                let digits = w.trim_end_matches('…');
                if digits.len() >= 5
                    && digits[..4].bytes().all(|b| b.is_ascii_digit())
                    && digits.as_bytes()[4] == b'-'
                {
                    assert!(
                        digits.len() >= 10 && !w.ends_with('…'),
                        "{args:?} at {cols}: a split date `{w}`:\n{shown}"
                    );
                }
            }
        }
    }
    // The agenda's tables (no CSV to compare with): they fit, and every id is there.
    let ids = tokens(
        &env,
        &["-C", "crm", "ls", "activities", "--owner", "marc"],
        true,
    );
    for cols in [60usize, 120] {
        let shown = on_terminal(
            &env,
            cols as u16,
            &["-C", "crm", "agenda", "--owner", "marc"],
        );
        assert!(shown.lines().all(|l| l.chars().count() <= cols), "{shown}");
        let open_task = "2026-11-24-task-mercator-legal";
        assert!(ids.iter().any(|i| i == open_task));
        assert!(words(&shown).contains(&open_task), "{shown}");
    }
    // At 60 columns the opportunities leave columns out and say which; at 120 they need not.
    let narrow = on_terminal(&env, 60, views[0]);
    assert!(
        narrow.contains("(not shown, to fit the terminal:"),
        "{narrow}"
    );
    let wide = on_terminal(&env, 120, &["-C", "crm", "pipeline"]);
    assert!(!wide.contains("not shown"), "{wide}");
}

#[test]
fn a_terminal_of_no_size_gets_every_value_whole() {
    let env = example();
    let args = ["-C", "crm", "ls", "opportunities"];
    let shown = on_terminal(&env, 0, &args);
    let piped = env.run(&args).stdout;
    assert_eq!(shown, piped);
    assert!(!shown.contains('…'));
}

/// A progress line is for a person at a terminal: `import crm`, `import leads` and `ingest
/// mbox` draw one on a pseudo-terminal (rewritten in place with carriage returns, cleared at
/// the end), and never when stderr is a pipe (a CI log, `2>file`).
#[test]
fn progress_lines_show_on_a_terminal_and_never_in_a_pipe() {
    let env = crate::moving_in::voilier();
    env.write("map.toml", crate::moving_in::MAP);
    let mut companies = String::from("\"Record ID\",\"Company name\",\"Company Domain Name\",\"Company owner\",\"Create Date\",\"Lifecycle Stage\"\n");
    let mut leads = String::from("Email,First Name,Last Name,Company\n");
    for i in 0..2500 {
        companies.push_str(&format!(
            "\"{i}\",\"Company {i}\",\"c{i}.io\",\"Sofia Rossi\",\"2024-01-1{} 10:00\",\"Lead\"\n",
            i % 10
        ));
        leads.push_str(&format!("p{i}@co{i}.example,P{i},L{i},Co {i}\n"));
    }
    env.write("big/companies.csv", &companies);
    env.write("leads.csv", &leads);
    let mbox = repo_root()
        .join("tests/fixtures/inbound/mbox/sample.mbox")
        .display()
        .to_string();
    let runs: [(&[&str], &[&str]); 3] = [
        (
            &[
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
            ],
            &["\rread 1000 rows…", "\rread 2000 rows…"],
        ),
        (
            &[
                "-C",
                "crm",
                "import",
                "leads",
                "leads.csv",
                "--source",
                "inbound",
                "--dry-run",
            ],
            &["\rread 1000 lines…", "\rread 2000 lines…"],
        ),
        (
            &[
                "-C",
                "crm",
                "ingest",
                "mbox",
                &mbox,
                "--skip-invalid",
                "--dry-run",
            ],
            &["\r[##############################] 100% of the mbox"],
        ),
    ];
    for (args, shown) in runs {
        let terminal = on_terminal_raw(&env, 120, args);
        for line in shown {
            assert!(
                terminal.contains(line),
                "{args:?}: {line:?} in {terminal:?}"
            );
        }
        assert!(
            terminal.contains("\r\x1b[K"),
            "{args:?}: the line is cleared: {terminal:?}"
        );
        let piped = env.run(args);
        assert_eq!(piped.code, 0, "{args:?}: {}{}", piped.stdout, piped.stderr);
        assert!(
            !piped.stderr.contains('\r')
                && !piped.stderr.contains("read ")
                && !piped.stderr.contains('['),
            "{args:?}: no progress in a pipe: {:?}",
            piped.stderr
        );
    }
}
