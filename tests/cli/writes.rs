//! The day-to-day writes: each happy path leaves `sloop check` clean, each refusal writes
//! nothing and says why.

use crate::util::{assert_clean, example, snapshot, TestEnv};

/// Runs a command that must be refused, and checks nothing was written.
fn refused(env: &TestEnv, args: &[&str], code: i32) -> String {
    let before = snapshot(env.path());
    let run = env.run(args);
    assert_eq!(run.code, code, "{args:?}\n{}{}", run.stdout, run.stderr);
    assert!(snapshot(env.path()) == before, "{args:?} wrote something");
    format!("{}{}", run.stdout, run.stderr)
}

#[test]
fn new_records_are_valid_and_duplicates_refused() {
    let env = example();
    let run = env.run(&[
        "-C",
        "crm",
        "new",
        "account",
        "--name",
        "Acme Corp",
        "--domain",
        "acme.example",
        "--owner",
        "marc",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "Created crm/accounts/acme-corp.toml\n");
    assert_eq!(
        env.read("crm/accounts/acme-corp.toml"),
        r#"name = "Acme Corp"
status = "qualified_pool"
owner = "marc"
domain = "acme.example"
"#
    );
    let run = env.run(&[
        "-C",
        "crm",
        "new",
        "contact",
        "--name",
        "Jo Martin",
        "--account",
        "acme-corp",
        "--email",
        "jo@acme.example",
        "--set",
        "role=decision_maker",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = env.run(&[
        "-C",
        "crm",
        "new",
        "opportunity",
        "acme-pro",
        "--name",
        "Acme Pro",
        "--account",
        "acme-corp",
        "--owner",
        "marc",
        "--source",
        "outbound",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(env
        .read("crm/opportunities/acme-pro.toml")
        .contains("stage = \"identified\""));
    env.run(&["-C", "crm", "set", "accounts/acme-corp", "status=working"]);
    assert_clean(&env);
    let out = refused(
        &env,
        &[
            "-C",
            "crm",
            "new",
            "account",
            "--name",
            "Acme Again",
            "--domain",
            "ACME.example",
        ],
        2,
    );
    assert!(
        out.contains("account `acme-corp` already has the domain `ACME.example`"),
        "{out}"
    );
    let out = refused(
        &env,
        &[
            "-C",
            "crm",
            "new",
            "contact",
            "--name",
            "Jo",
            "--account",
            "acme-corp",
            "--email",
            "JO@acme.example",
        ],
        2,
    );
    assert!(out.contains("already has the email"), "{out}");
    let out = refused(
        &env,
        &["-C", "crm", "new", "account", "acme-corp", "--name", "X"],
        2,
    );
    assert!(
        out.contains("an account `acme-corp` already exists"),
        "{out}"
    );
    let out = refused(
        &env,
        &[
            "-C",
            "crm",
            "new",
            "opportunity",
            "--name",
            "Jump",
            "--account",
            "acme-corp",
            "--owner",
            "marc",
            "--source",
            "outbound",
            "--stage",
            "won",
        ],
        1,
    );
    assert!(
        out.contains("error[not-entry]") && out.contains("nothing was written"),
        "{out}"
    );
    let out = refused(
        &env,
        &[
            "-C",
            "crm",
            "new",
            "opportunity",
            "--name",
            "Typo",
            "--account",
            "acme-crop",
            "--owner",
            "marco",
            "--source",
            "outbound",
        ],
        1,
    );
    assert!(
        out.contains("did you mean `acme-corp`?") && out.contains("did you mean `marc`?"),
        "{out}"
    );
    let out = refused(
        &env,
        &[
            "-C",
            "crm",
            "new",
            "opportunity",
            "--name",
            "Bad",
            "--set",
            "close_date=soon",
        ],
        2,
    );
    assert!(
        out.contains("`close_date` must be a date (YYYY-MM-DD), not `soon`"),
        "{out}"
    );
}

/// A name whose id is 64 characters: the second record's id is cut to leave room for `-2`.
#[test]
fn a_second_record_with_a_64_character_id_gets_a_valid_one() {
    let env = example();
    let name = "Abcdefghij".repeat(7);
    let first = "abcdefghij".repeat(7)[..64].to_string();
    let second = format!("{}-2", &first[..62]);
    for id in [&first, &second] {
        let run = env.run(&["-C", "crm", "new", "account", "--name", &name]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert_eq!(run.stdout, format!("Created crm/accounts/{id}.toml\n"));
    }
    assert_clean(&env);
}

#[test]
fn log_task_and_done() {
    let env = example();
    let run = env.run(&[
        "-C",
        "crm",
        "log",
        "call",
        "helio-solaire",
        "--duration",
        "20",
        "--owner",
        "marc",
        "--date",
        "2026-11-25",
        "-m",
        "Pricing call",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = env.read("crm/activities/2026/11/2026-11-25-call-helio-solaire.toml");
    assert_eq!(
        text,
        r#"kind = "call"
date = 2026-11-25
account = "helio-solaire"
owner = "marc"
subject = "Pricing call"
duration_min = 20
"#
    );
    let run = env.run(&[
        "-C",
        "crm",
        "task",
        "helio-solaire",
        "--due",
        "2026-12-02",
        "--owner",
        "marc",
        "--date",
        "2026-11-25",
        "-m",
        "Send the contract",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = env.run(&["-C", "crm", "done", "2026-11-25-task-helio-solaire"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(env
        .read("crm/activities/2026/11/2026-11-25-task-helio-solaire.toml")
        .contains("done = true"));
    assert_clean(&env);
    let out = refused(
        &env,
        &[
            "-C",
            "crm",
            "log",
            "call",
            "helio",
            "-m",
            "x",
            "--date",
            "2026-11-25",
        ],
        2,
    );
    assert!(out.contains("no account `helio`"), "{out}");
    let out = refused(
        &env,
        &[
            "-C",
            "crm",
            "log",
            "note",
            "helio-solaire",
            "--duration",
            "5",
            "-m",
            "x",
        ],
        2,
    );
    assert!(
        out.contains("--duration is for calls, meetings and demos"),
        "{out}"
    );
    let out = refused(
        &env,
        &[
            "-C",
            "crm",
            "task",
            "helio-solaire",
            "--due",
            "tomorrow",
            "-m",
            "x",
        ],
        2,
    );
    assert!(out.contains("invalid value 'tomorrow'"), "{out}");
    let out = refused(
        &env,
        &["-C", "crm", "done", "2026-11-25-call-helio-solaire"],
        2,
    );
    assert!(out.contains("is not a task"), "{out}");
}

#[test]
fn the_owner_defaults_to_the_git_user() {
    let env = example();
    env.git(&["init", "-q", "crm"]);
    env.git(&[
        "-C",
        "crm",
        "config",
        "user.email",
        "Sofia.Reyes@Tidewater.io",
    ]);
    let mut cmd = env.sloop();
    cmd.env_remove("GIT_AUTHOR_EMAIL")
        .env_remove("GIT_AUTHOR_NAME");
    let out = cmd
        .args([
            "-C",
            "crm",
            "log",
            "email",
            "kestrel-analytics",
            "--date",
            "2026-11-25",
            "-m",
            "Follow-up",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(env
        .read("crm/activities/2026/11/2026-11-25-email-kestrel-analytics.toml")
        .contains("owner = \"sofia\""));
}

#[test]
fn move_and_set_apply_only_legal_complete_changes() {
    let env = example();
    let out = refused(
        &env,
        &["-C", "crm", "move", "verdant-events-new", "commit"],
        1,
    );
    assert!(out.contains("from stage `identified` to `commit`"), "{out}");
    let out = refused(
        &env,
        &[
            "-C",
            "crm",
            "move",
            "verdant-events-new",
            "qualified",
            "--set",
            "mrr=900",
        ],
        1,
    );
    assert!(out.contains("stage `qualified` requires `bant.budget`, `bant.authority`, `bant.need`, `bant.timeline` and `close_date`"), "{out}");
    let out = refused(
        &env,
        &["-C", "crm", "move", "verdant-events-new", "qualifed"],
        2,
    );
    assert!(
        out.contains("unknown stage `qualifed`") && out.contains("did you mean `qualified`?"),
        "{out}"
    );
    let out = refused(&env, &["-C", "crm", "move", "verdant", "lost"], 2);
    assert!(out.contains("did you mean"), "{out}");
    let run = env.run(&[
        "-C",
        "crm",
        "move",
        "verdant-events-new",
        "qualified",
        "--set",
        "mrr=900",
        "--set",
        "close_date=2027-01-15",
        "--set",
        "bant.budget=yes",
        "--set",
        "bant.authority=CEO",
        "--set",
        "bant.need=invoices",
        "--set",
        "bant.timeline=Q1",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_clean(&env);
    let out = refused(
        &env,
        &[
            "-C",
            "crm",
            "set",
            "accounts/helio-solaire",
            "status=customer",
            "employees=many",
        ],
        2,
    );
    assert!(out.contains("`employees` must be a whole number"), "{out}");
    let run = env.run(&[
        "-C",
        "crm",
        "set",
        "accounts/helio-solaire",
        "employees=40",
        "tags=",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_clean(&env);
    // An account's annual revenue and LinkedIn page.
    let out = refused(
        &env,
        &["-C", "crm", "set", "accounts/helio-solaire", "revenue=lots"],
        2,
    );
    assert!(
        out.contains("`revenue` must be a number, not `lots`"),
        "{out}"
    );
    let run = env.run(&[
        "-C",
        "crm",
        "set",
        "accounts/helio-solaire",
        "revenue=2400000.5",
        "linkedin=https://www.linkedin.com/company/helio-solaire",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = env.read("crm/accounts/helio-solaire.toml");
    assert!(
        text.contains("revenue = 2400000.5\n")
            && text.contains("linkedin = \"https://www.linkedin.com/company/helio-solaire\"\n"),
        "{text}"
    );
    assert_clean(&env);
    env.write(
        "crm/accounts/helio-solaire.toml",
        text.replace("revenue = 2400000.5", "revenue = -3"),
    );
    let run = env.run(&["-C", "crm", "check"]);
    assert!(
        run.stdout.contains(
            "error[invalid-value]: `revenue` must be a number from 0 to 1,000,000,000,000"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn lead_conversion_creates_or_attaches_and_never_duplicates() {
    let env = example();
    let run = env.run(&["-C", "crm", "lead", "convert", "2026-11-12-lyon-cycles"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "Converted lead 2026-11-12-lyon-cycles → account lyon-cycles (new), contact mathieu-perrin\n");
    let lead = env.read("crm/leads/2026-11-12-lyon-cycles.toml");
    assert!(
        lead.contains("status = \"converted\"")
            && lead.contains("converted_account = \"lyon-cycles\""),
        "{lead}"
    );
    assert_clean(&env);
    // a second lead from the same company attaches to the account
    env.write(
        "crm/leads/again.toml",
        r#"name = "Claire Perrin"
email = "claire@lyon-cycles.fr"
owner = "lea"
status = "new"
"#,
    );
    let run = env.run(&["-C", "crm", "lead", "convert", "again"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("account lyon-cycles (existing)"),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_dir(env.path().join("crm/accounts"))
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("lyon"))
            .count(),
        1
    );
    assert_clean(&env);
    // free mail never matches an account
    env.write(
        "crm/leads/gmail.toml",
        r#"name = "Paul"
email = "paul@gmail.com"
company = "Paul Bikes"
owner = "lea"
"#,
    );
    let run = env.run(&["-C", "crm", "lead", "convert", "gmail"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!env.read("crm/accounts/paul-bikes.toml").contains("domain"));
    assert_clean(&env);
    let out = refused(&env, &["-C", "crm", "lead", "convert", "again"], 2);
    assert!(out.contains("already converted"), "{out}");
    let out = refused(
        &env,
        &["-C", "crm", "lead", "convert", "2026-11-20-harbor-pine"],
        2,
    );
    assert!(out.contains("no person to make a contact of"), "{out}");
}

#[test]
fn agenda_lists_tasks_alerts_and_waiting_work() {
    let env = example();
    let run = env.run(&[
        "-C",
        "crm",
        "agenda",
        "--owner",
        "marc",
        "--as-of",
        "2026-11-26",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["owner"], "marc");
    assert!(v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["owner"] == "marc"));
    assert!(v["first_touch"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == "nordlicht-software"));
    assert!(v["no_next_step"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["id"] == "verdant-events-new"));
    let all = env.run(&[
        "-C",
        "crm",
        "agenda",
        "--all",
        "--as-of",
        "2026-11-26",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&all.stdout).unwrap();
    let tasks = v["tasks"].as_array().unwrap();
    assert_eq!(tasks[0]["overdue"], true, "overdue first: {tasks:?}");
    assert_eq!(tasks[0]["id"], "2026-11-05-task-northwind-onboarding");
    let run = env.run(&["-C", "crm", "agenda", "--owner", "nobody"]);
    assert_eq!(run.code, 2);
}

#[test]
fn agenda_text_whole() {
    let env = example();
    for owner in ["marc", "lea"] {
        let run = env.run(&[
            "-C",
            "crm",
            "agenda",
            "--owner",
            owner,
            "--as-of",
            "2026-11-26",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        crate::util::expect_file(&format!("agenda/{owner}.txt"), &run.stdout);
    }
}

#[test]
fn commit_flag_commits_only_the_written_file() {
    let env = example();
    env.git(&["init", "-q", "-b", "main", "crm"]);
    let add = env.git(&["-C", "crm", "add", "-A"]);
    assert_eq!(add.code, 0);
    let c = env.git(&[
        "-C",
        "crm",
        "-c",
        "user.name=T",
        "-c",
        "user.email=t@e.com",
        "commit",
        "-qm",
        "start",
    ]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    env.write("crm/notes.md", "scratch\n");
    let run = env.run(&[
        "-C", "crm", "new", "account", "--name", "Globex", "--commit",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let files = env
        .git(&["-C", "crm", "show", "--name-only", "--format=%s", "HEAD"])
        .stdout;
    assert_eq!(
        files,
        r#"sloop new account globex

accounts/globex.toml
"#
    );
    assert_eq!(
        env.git(&["-C", "crm", "status", "--porcelain"]).stdout,
        "?? notes.md\n"
    );
}

/// Writes judge against the write index (HEAD's records, slim, and the files written since
/// without a commit): what one write leaves uncommitted, the next one sees; a commit made
/// by git moves the index forward; a damaged index is rebuilt.
#[test]
fn writes_see_earlier_uncommitted_writes_and_commits_made_by_git() {
    let env = example();
    assert_eq!(env.git(&["init", "-q", "-b", "main"]).code, 0);
    env.commit_all("the CRM", "2026-11-01T09:00:00+01:00");
    let new = |id: &str, domain: &str| {
        env.run(&[
            "-C", "crm", "new", "account", id, "--name", id, "--domain", domain,
        ])
    };
    assert_eq!(new("first-co", "first.example").code, 0);
    let dup = new("second-co", "first.example");
    assert_eq!(dup.code, 2, "{}{}", dup.stdout, dup.stderr);
    assert!(
        dup.stderr
            .contains("account `first-co` already has the domain `first.example`"),
        "{}",
        dup.stderr
    );
    // Committed by git (not sloop): the index follows HEAD.
    env.commit_all("first-co", "2026-11-02T09:00:00+01:00");
    let contact = env.run(&[
        "-C",
        "crm",
        "new",
        "contact",
        "jo",
        "--name",
        "Jo",
        "--account",
        "first-co",
    ]);
    assert_eq!(contact.code, 0, "{}", contact.stderr);
    // A damaged index file is rebuilt, and judges the same.
    let file = write_index_file(&env);
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&file, bytes).unwrap();
    let dup = new("third-co", "first.example");
    assert_eq!(dup.code, 2, "{}{}", dup.stdout, dup.stderr);
    assert!(
        dup.stderr
            .contains("already has the domain `first.example`"),
        "{}",
        dup.stderr
    );
}

/// After a commit that changes more files than the write index is brought forward by (an
/// import: past 20,000), the first write rebuilds it and writes it: the next write reads it
/// as it is. (It was rebuilt and not written, so every write after a large import rebuilt
/// it from every file of HEAD: 7 s and 640 MiB a write on the benchmark CRM.)
#[test]
fn the_write_index_rebuilt_after_a_large_commit_is_kept() {
    let env = example();
    assert_eq!(env.git(&["init", "-q", "-b", "main"]).code, 0);
    env.commit_all("the CRM", "2026-11-01T09:00:00+01:00");
    let new = |id: &str| {
        env.run(&[
            "-C",
            "crm",
            "new",
            "account",
            id,
            "--name",
            id,
            "--domain",
            &format!("{id}.example"),
        ])
    };
    assert_eq!(new("first-co").code, 0);
    let index = || std::fs::read(write_index_file(&env)).unwrap();
    let before = index();
    let accounts = env.path().join("crm/accounts");
    for i in 0..20_001 {
        std::fs::write(
            accounts.join(format!("bulk-{i:05}.toml")),
            format!("name = \"Bulk {i}\"\nstatus = \"unqualified_pool\"\ndomain = \"bulk-{i}.example\"\n"),
        )
        .unwrap();
    }
    env.commit_all("20,001 accounts", "2026-11-02T09:00:00+01:00");
    assert_eq!(new("second-co").code, 0);
    let rebuilt = index();
    assert!(rebuilt != before, "the rebuilt index is written");
    // The next write finds it current: the file is not written again.
    assert_eq!(new("third-co").code, 0);
    assert!(index() == rebuilt, "the current index is not written again");
    // And it holds the large commit's records: their domains are taken.
    let dup = env.run(&[
        "-C",
        "crm",
        "new",
        "account",
        "again",
        "--name",
        "Again",
        "--domain",
        "bulk-7.example",
    ]);
    assert_eq!(dup.code, 2, "{}{}", dup.stdout, dup.stderr);
    assert!(
        dup.stderr
            .contains("account `bulk-00007` already has the domain `bulk-7.example`"),
        "{}",
        dup.stderr
    );
}

/// The write index's file under `.git/sloop/`.
fn write_index_file(env: &crate::util::TestEnv) -> std::path::PathBuf {
    std::fs::read_dir(env.path().join(".git/sloop/write-index-v1"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "bin"))
        .expect("the write index")
}
