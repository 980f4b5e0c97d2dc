//! The conversation captured: real-shaped messages, a Maildir written by real mail tools, mbox
//! files, calendars and call logs (tests/fixtures/inbound/, see its SOURCES.md).

use std::path::PathBuf;
use std::process::Command;

use crate::util::{assert_clean, example, expect_file, repo_root, snapshot, TestEnv};

fn fixture(rel: &str) -> String {
    repo_root()
        .join("tests/fixtures/inbound")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// The example CRM in a git repository with one commit.
fn committed() -> TestEnv {
    let env = example();
    let init = env.git(&["init", "-q", "-b", "main"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    env.commit_all("example", "2026-11-01T12:00:00Z");
    env
}

/// Every activity file written under `crm/activities/` since the example, path and text.
fn new_activities(env: &TestEnv, before: &[(PathBuf, Vec<u8>)]) -> String {
    let mut out = String::new();
    for (path, bytes) in snapshot(env.path()) {
        if before.iter().any(|(p, _)| *p == path) {
            continue;
        }
        let rel = path
            .strip_prefix(env.path())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        out.push_str(&format!("== {rel}\n{}", String::from_utf8_lossy(&bytes)));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn commits(env: &TestEnv) -> usize {
    env.git(&["rev-list", "--count", "HEAD"])
        .stdout
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn real_world_messages_become_activities_with_their_conversation() {
    let env = example();
    let before = snapshot(env.path());
    let mut log = String::new();
    for name in [
        "01-gmail-alternative-qp.eml",
        "02-outlook-html-base64.eml",
        "03-apple-mail-reply.eml",
        "05-several-cc-headers.eml",
        "06-no-message-id.eml",
        "07-rfc2047-utf8-b-and-q.eml",
        "08-iso-8859-1.eml",
        "09-windows-1252.eml",
        "10-attachment-pdf.eml",
        "11-google-calendar-invite.eml",
        "12-outlook-meeting-request.eml",
        "13-bounce-gmail-dsn.eml",
        "14-ooo-sieve-vacation.eml",
        "15-ooo-exchange-autoreply.eml",
        "16-mailing-list.eml",
        "18-date-two-digit-year.eml",
        "19-utf8-bom.eml",
    ] {
        let run = env.run(&[
            "-C",
            "crm",
            "ingest",
            "email",
            &fixture(&format!("email/{name}")),
        ]);
        log.push_str(&format!(
            "$ ingest email {name}\n{}{}exit {}\n",
            run.stdout, run.stderr, run.code
        ));
    }
    // A forwarded message without Date: refused (exit 2), then dated with --date; the
    // prospect is only inside the forwarded block, and is a lead, not a contact.
    for args in [vec![], vec!["--date", "2026-11-23"]] {
        let mut a = vec!["-C", "crm", "ingest", "email"];
        let f = fixture("email/04-gmail-forward-no-date.eml");
        a.push(&f);
        a.extend(args.iter().copied());
        let run = env.run(&a);
        log.push_str(&format!(
            "$ ingest email 04 {}\n{}{}exit {}\n",
            args.join(" "),
            run.stdout,
            run.stderr,
            run.code
        ));
    }
    log.push_str(&new_activities(&env, &before));
    expect_file("capture/emails.txt", &log);
    assert_clean(&env);
    // The same messages again: each is already recorded (the one without Message-ID too).
    let again = snapshot(env.path());
    for name in [
        "01-gmail-alternative-qp.eml",
        "06-no-message-id.eml",
        "11-google-calendar-invite.eml",
    ] {
        let run = env.run(&[
            "-C",
            "crm",
            "ingest",
            "email",
            &fixture(&format!("email/{name}")),
        ]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert!(
            run.stdout
                .starts_with("Already recorded as crm/activities/"),
            "{name}: {}",
            run.stdout
        );
    }
    // With CRLF turned to LF and a BOM, 06 is still the same message.
    let lf = std::fs::read_to_string(fixture("email/06-no-message-id.eml"))
        .unwrap()
        .replace("\r\n", "\n");
    env.write("06-lf.eml", format!("\u{feff}{lf}"));
    let run = env.run(&["-C", "crm", "ingest", "email", "06-lf.eml"]);
    assert!(
        run.stdout.starts_with("Already recorded as"),
        "{}",
        run.stdout
    );
    assert!(
        snapshot(env.path()).len() == again.len() + 1,
        "wrote something"
    );
}

#[test]
fn quotes_and_signatures_stay_with_keep_quotes() {
    let env = example();
    let run = env.run(&[
        "-C",
        "crm",
        "ingest",
        "email",
        &fixture("email/03-apple-mail-reply.eml"),
        "--keep-quotes",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = env.read("crm/activities/2026/11/2026-11-24-email-verdant-events.toml");
    assert!(
        text.contains("\n-- \n") || text.contains("\n--\n"),
        "{text}"
    );
    assert!(
        text.contains("> On 24 Nov 2026, at 16:02, Marc Delacroix"),
        "{text}"
    );
}

/// Delivers the .eml fixtures into a Maildir with procmail and marks some read with mblaze,
/// as a mail host and a mail reader would (.ci/run installs both).
fn real_maildir(env: &TestEnv) -> PathBuf {
    let dest = env.path().join("Maildir");
    let out = Command::new("sh")
        .arg(fixture("make-maildir.sh"))
        .arg(&dest)
        .output()
        .expect("run make-maildir.sh");
    assert!(
        out.status.success(),
        "make-maildir.sh (needs procmail and mblaze: apt-get install -y --no-install-recommends procmail mblaze): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dest
}

/// Maildir file names depend on the time and the pid: the summary is compared with them
/// replaced by the message's subject line.
fn named_by_subject(summary: &str, maildir: &std::path::Path) -> String {
    let mut out = String::new();
    for line in summary.lines() {
        let mut line = line.to_string();
        if let Some(start) = line.find("cur/").or_else(|| line.find("new/")) {
            let end = line[start..].find(": ").map_or(line.len(), |e| start + e);
            let file = &line[start..end];
            let text = std::fs::read_to_string(maildir.join(file)).unwrap_or_default();
            let subject = text
                .lines()
                .find(|l| l.starts_with("Subject:"))
                .unwrap_or("Subject: ?");
            line = format!(
                "{}{}{}",
                &line[..start],
                &subject[..subject.len().min(40)],
                &line[end..]
            );
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A maildir run's summary as tests compare it: each message named by its subject, the
/// lines after the counts in order (the run lists them in file-name order, and the names
/// depend on the time of delivery).
fn as_compared(summary: &str, maildir: &std::path::Path) -> String {
    let summary = named_by_subject(summary, maildir);
    let mut lines: Vec<&str> = summary.lines().collect();
    if !lines.is_empty() {
        lines[1..].sort();
    }
    lines.join("\n") + "\n"
}

#[test]
fn a_maildir_written_by_real_mail_tools_is_ingested_in_one_commit_once() {
    let env = committed();
    let maildir = real_maildir(&env);
    let before = snapshot(env.path());
    let start = commits(&env);
    // Without --skip-invalid, the unreadable messages (no Date, an unsigned zone, raw 8-bit
    // headers) stop the run: nothing is written.
    let run = env.run(&["-C", "crm", "ingest", "maildir", "Maildir", "--commit"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stderr,
        "nothing was written: fix or remove the invalid items, or pass --skip-invalid to record the others\n"
    );
    assert!(snapshot(env.path()) == before, "wrote something");
    assert_eq!(commits(&env), start);
    let run = env.run(&[
        "-C",
        "crm",
        "ingest",
        "maildir",
        "Maildir",
        "--commit",
        "--skip-invalid",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    expect_file("capture/maildir.txt", &as_compared(&run.stdout, &maildir));
    assert_eq!(commits(&env), start + 1, "one commit for the whole mailbox");
    let subject = env.git(&["log", "-1", "--format=%s"]);
    assert_eq!(
        subject.stdout,
        "sloop ingest maildir: 14 recorded, 0 updated\n"
    );
    let status = env.git(&["status", "--porcelain", "crm"]);
    assert_eq!(status.stdout, "", "a clean work tree");
    assert_clean(&env);
    // Again: every message is already recorded; no commit.
    let run = env.run(&[
        "-C",
        "crm",
        "ingest",
        "maildir",
        "Maildir",
        "--commit",
        "--skip-invalid",
    ]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.starts_with(
            "0 recorded, 0 updated, 14 already recorded, 0 unmatched, 4 skipped, 3 invalid\n"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(commits(&env), start + 1);
}

#[test]
fn a_run_that_spills_its_planned_files_to_disk_commits_the_same_tree() {
    // A long run keeps the files it plans, and its lists of unmatched and skipped messages,
    // on disk past a threshold (4 MiB and 256 KiB; 0 here, so from the first): the commit
    // and the summary are the same, and nothing is left in .git/sloop.
    let mut trees = Vec::new();
    let mut summaries = Vec::new();
    for spill_at in [None, Some("0")] {
        let env = committed();
        let maildir = real_maildir(&env);
        let mut c = env.sloop();
        c.args([
            "-C",
            "crm",
            "ingest",
            "maildir",
            "Maildir",
            "--commit",
            "--skip-invalid",
        ]);
        if let Some(bytes) = spill_at {
            c.env("SLOOP_SPILL_AT", bytes);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        trees.push(env.git(&["rev-parse", "HEAD^{tree}"]).stdout);
        // The mail tool names the messages by the time they were delivered: replacing the
        // names' digits left the lines in a different order when two runs' names sorted
        // differently, and a test that failed now and then.
        summaries.push(as_compared(&String::from_utf8_lossy(&out.stdout), &maildir));
        let left: Vec<String> = std::fs::read_dir(env.path().join(".git/sloop"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("spill-"))
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
        assert_eq!(env.git(&["status", "--porcelain", "crm"]).stdout, "");
    }
    assert_eq!(trees[0], trees[1]);
    assert_eq!(summaries[0], summaries[1]);
    assert!(
        summaries[0].contains("  skipped: ") && summaries[0].contains("  invalid: "),
        "{}",
        summaries[0]
    );
}

#[test]
fn corrupt_and_huge_messages_in_a_maildir() {
    let env = committed();
    let maildir = env.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let ok = std::fs::read(fixture("email/05-several-cc-headers.eml")).unwrap();
    std::fs::write(maildir.join("cur/1.host:2,S"), &ok).unwrap();
    std::fs::write(
        maildir.join("cur/2.host:2,S"),
        b"\x00\x01garbage, not a message",
    )
    .unwrap();
    std::fs::write(maildir.join("new/3.host"), b"").unwrap();
    // A 30 MB message: a 30 MB attachment is listed by name and size, not stored.
    let mut big =
        String::from_utf8(std::fs::read(fixture("email/10-attachment-pdf.eml")).unwrap()).unwrap();
    big = big.replace(
        "CAF3xQk1zX4cV7bN0mQ3wE6rT9yU2iO5pA8sD1fG4hJ7kL0zX3c",
        "big-30mb",
    );
    let marker = "Content-Type: application/pdf; name=\"Devis_Tidewater_2026-118.pdf\"";
    let at = big.find(marker).expect("the fixture's first attachment");
    let line = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n";
    let lines = 30 * 1024 * 1024 / line.len();
    let blob = line.repeat(lines);
    let part = format!("Content-Type: application/octet-stream; name=\"export.bin\"\r\nContent-Disposition: attachment; filename=\"export.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{blob}\r\n--{}\r\n", boundary(&big, at));
    big.insert_str(at, &part);
    std::fs::write(maildir.join("new/4.host"), &big).unwrap();
    // Larger than sloop reads (64 MiB), as a sparse file: refused without being read.
    let huge = std::fs::File::create(maildir.join("new/5.host")).unwrap();
    huge.set_len(65 * 1024 * 1024).unwrap();
    drop(huge);
    let before = snapshot(&env.path().join("crm"));
    let run = env.run(&["-C", "crm", "ingest", "maildir", "Maildir", "--commit"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    expect_file("capture/maildir-invalid.txt", &run.stdout);
    assert!(
        snapshot(&env.path().join("crm")) == before,
        "wrote something"
    );
    let run = env.run(&[
        "-C",
        "crm",
        "ingest",
        "maildir",
        "Maildir",
        "--commit",
        "--skip-invalid",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (
            v["recorded"].as_u64(),
            v["invalid"].as_array().map(Vec::len)
        ),
        (Some(2), Some(3)),
        "{v}"
    );
    let text = env.read("crm/activities/2026/11/2026-11-26-email-helio-solaire.toml");
    // Each base64 line of 76 characters is 57 bytes.
    assert!(
        text.contains(&format!("\"export.bin ({} bytes)\"", lines * 57)),
        "{text}"
    );
    assert!(text.len() < 4096, "the attachment is not stored");
    assert_clean(&env);
}

fn boundary(message: &str, before: usize) -> String {
    let head = &message[..before];
    let dashes = head.rfind("\r\n--").expect("a boundary line");
    head[dashes + 4..]
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn mbox_files_from_real_tools_split_and_unquote_from_lines() {
    for (file, expected) in [
        ("mbox/sample.mbox", "capture/mboxrd.txt"),
        ("mbox/sample-mboxo.mbox", "capture/mboxo.txt"),
    ] {
        let env = committed();
        let before = snapshot(env.path());
        let run = env.run(&[
            "-C",
            "crm",
            "ingest",
            "mbox",
            &fixture(file),
            "--skip-invalid",
            "--commit",
        ]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        let out = format!("{}{}", run.stdout, new_activities(&env, &before));
        expect_file(expected, &out);
        assert_clean(&env);
    }
    let env = committed();
    env.write("not.mbox", "hello\nworld\n");
    let run = env.run(&["-C", "crm", "ingest", "mbox", "not.mbox"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr, "error: not.mbox is not an mbox file (no `From ` line starts a message)\nhint: an mbox starts each message with a line like `From sender Tue Nov 24 09:15:32 2026`\n");
}

#[test]
fn calendars_give_meetings_recurring_updated_and_cancelled() {
    let env = committed();
    let before = snapshot(env.path());
    let mut log = String::new();
    for file in [
        "ics/google-calendar-export.ics",
        "ics/outlook-export.ics",
        "ics/apple-floating-and-allday.ics",
        "ics/google-invite-request.ics",
        "ics/google-invite-update.ics",
        "ics/google-invite-request.ics",
        "ics/google-invite-cancel.ics",
    ] {
        let run = env.run(&[
            "-C",
            "crm",
            "ingest",
            "ics",
            &fixture(file),
            "--until",
            "2026-12-31",
            "--commit",
        ]);
        log.push_str(&format!(
            "$ ingest ics {file}\n{}{}exit {}\n",
            run.stdout, run.stderr, run.code
        ));
    }
    log.push_str(&new_activities(&env, &before));
    expect_file("capture/ics.txt", &log);
    assert_clean(&env);
    let bad = env.run(&[
        "-C",
        "crm",
        "ingest",
        "ics",
        &fixture("email/01-gmail-alternative-qp.eml"),
    ]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.ends_with("01-gmail-alternative-qp.eml: this is not a calendar (no BEGIN:VCALENDAR)\nhint: a calendar file starts with BEGIN:VCALENDAR\n"), "{}", bad.stderr);
}

#[test]
fn call_logs_of_two_vendors_and_a_generic_one_become_calls() {
    let env = committed();
    let before = snapshot(env.path());
    let mut log = String::new();
    for file in [
        "calls/aircall-calls-export.csv",
        "calls/aircall-calls-export-legacy.csv",
        "calls/ringover-calls-export.csv",
        "calls/generic-calls.csv",
    ] {
        let run = env.run(&["-C", "crm", "import", "calls", &fixture(file), "--commit"]);
        log.push_str(&format!(
            "$ import calls {file}\n{}{}exit {}\n",
            run.stdout, run.stderr, run.code
        ));
    }
    log.push_str(&new_activities(&env, &before));
    expect_file("capture/calls.txt", &log);
    assert_clean(&env);
    // The same exports again: every call is already recorded (by its call id), no commit.
    let start = commits(&env);
    let after = snapshot(env.path());
    for (file, recorded) in [
        ("calls/aircall-calls-export.csv", 5),
        ("calls/ringover-calls-export.csv", 3),
    ] {
        let run = env.run(&["-C", "crm", "import", "calls", &fixture(file), "--commit"]);
        assert_eq!(run.code, 0, "{file}: {}", run.stderr);
        assert!(
            run.stdout.starts_with(&format!(
                "0 recorded, 0 updated, {recorded} already recorded,"
            )),
            "{file}: {}",
            run.stdout
        );
    }
    assert_eq!(commits(&env), start);
    assert!(snapshot(env.path()) == after, "wrote something");
}

#[test]
fn call_logs_saved_again_by_excel_read_as_the_export() {
    // Excel re-saves a CSV as Windows-1252 with semicolons ("CSV (séparateur: point-virgule)")
    // or as UTF-16LE with a byte order mark and tabs ("Texte Unicode"): the same calls.
    let source = std::fs::read_to_string(fixture("calls/aircall-calls-export.csv")).unwrap();
    assert!(!source.is_ascii(), "the fixture has accents to decode");
    let resave = |sep: u8| -> String {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(source.as_bytes());
        let mut w = csv::WriterBuilder::new()
            .delimiter(sep)
            .flexible(true)
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        for rec in r.records() {
            w.write_record(&rec.unwrap()).unwrap();
        }
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    };
    let cp1252 = encoding_rs::WINDOWS_1252
        .encode(&resave(b';'))
        .0
        .into_owned();
    let mut utf16 = vec![0xFF, 0xFE];
    for u in resave(b'\t').encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let mut seen = Vec::new();
    for (name, bytes) in [
        ("export.csv", source.into_bytes()),
        ("export-cp1252.csv", cp1252),
        ("export-unicode.txt", utf16),
    ] {
        let env = committed();
        let before = snapshot(env.path());
        env.write(name, &bytes);
        let run = env.run(&["-C", "crm", "import", "calls", name, "--commit"]);
        assert_eq!(run.code, 0, "{name}: {}{}", run.stdout, run.stderr);
        let mut snap = before.clone();
        snap.push((env.path().join(name), bytes));
        seen.push((name, run.stdout, new_activities(&env, &snap)));
        assert_clean(&env);
    }
    assert!(seen[0].2.contains("kind = \"call\""), "{}", seen[0].2);
    for (name, stdout, files) in &seen[1..] {
        assert_eq!(stdout, &seen[0].1, "{name}");
        assert_eq!(files, &seen[0].2, "{name}");
    }
}

#[test]
fn call_logs_that_cannot_be_read_write_nothing() {
    let env = committed();
    let before = snapshot(env.path());
    for (name, bytes, message) in [
        // UTF-8 for its first 64 KiB (so read as UTF-8), then a Latin-1 byte on line 1,002.
        ("latin1.csv", {
            let mut b = b"date,direction,from,to\n".to_vec();
            for _ in 0..1000 {
                b.extend_from_slice(b"2026-11-24T09:15:00+01:00,inbound,+33 6 12 48 90 31,+33 1 84 60 12 00 padding padding padding\n");
            }
            b.extend_from_slice(b"2026-11-24T09:15:00+01:00,inbound,caf\xe9,x\n");
            b
        }, "error: latin1.csv: the file is not UTF-8 (line 1002)\nhint: export it again as CSV UTF-8 (in a spreadsheet: \"CSV UTF-8\")\n"),
        ("other.csv", b"name,email\nA,a@b.c\n".to_vec(), "error: other.csv: the columns are not a call log this reads (Aircall, Ringover, or date, direction, from, to…): name, email\nhint: a generic log has the columns date, direction, from, to, duration_seconds, agent_email, outcome\n"),
        ("empty.csv", b"".to_vec(), "error: empty.csv: the file is empty\n"),
    ] {
        env.write(name, &bytes);
        let run = env.run(&["-C", "crm", "import", "calls", name, "--commit"]);
        assert_eq!((run.code, run.stderr.as_str()), (2, message), "{name}");
    }
    // A bad row blocks the import unless --skip-invalid.
    env.write("bad.csv", "date,direction,from,to,duration_seconds\r\nyesterday,inbound,+33 6 12 48 90 31,+33 1 84 60 12 00,60\r\n2026-11-24T09:15:00+01:00,sideways,+33 6 12 48 90 31,x,60\r\n2026-11-24T09:15:00+01:00,inbound,+33 6 12 48 90 31,x,lots\r\n2026-11-24T10:15:00+01:00,inbound,+33 6 12 48 90 31,x,60\r\n");
    let mut snap = snapshot(env.path());
    snap.retain(|(p, _)| !p.ends_with("bad.csv"));
    let run = env.run(&["-C", "crm", "import", "calls", "bad.csv", "--commit"]);
    assert_eq!(run.code, 1);
    expect_file(
        "capture/calls-invalid.txt",
        &format!("{}{}", run.stdout, run.stderr),
    );
    // The same refusal in JSON, written as it is serialised from the lists kept aside (on
    // disk from the first item with SLOOP_SPILL_AT=0): the same bytes either way.
    for spill_at in [None, Some("0")] {
        let mut c = env.sloop();
        c.args([
            "-C", "crm", "import", "calls", "bad.csv", "--commit", "--format", "json",
        ]);
        if let Some(bytes) = spill_at {
            c.env("SLOOP_SPILL_AT", bytes);
        }
        let out = c.output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        );
        assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
        assert_eq!(stderr, "nothing was written: fix or remove the invalid items, or pass --skip-invalid to record the others\n");
        expect_file("capture/calls-invalid.json", &stdout);
    }
    let mut after = snapshot(env.path());
    after.retain(|(p, _)| {
        !p.ends_with("bad.csv")
            && !p.ends_with("latin1.csv")
            && !p.ends_with("other.csv")
            && !p.ends_with("empty.csv")
    });
    let mut expected = before.clone();
    expected.retain(|(p, _)| !p.ends_with(".csv"));
    assert!(after == expected, "wrote something");
    let run = env.run(&[
        "-C",
        "crm",
        "import",
        "calls",
        "bad.csv",
        "--commit",
        "--skip-invalid",
    ]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("1 recorded"), "{}", run.stdout);
}

/// The method's loop closes by itself: an email ingested on a pool account makes `tick` move
/// it to `target`, owned by whoever wrote.
#[test]
fn tick_moves_a_pool_account_to_target_from_an_ingested_email() {
    let env = committed();
    let account = env.read("crm/accounts/nordlicht-software.toml");
    assert!(account.contains("status = \"qualified_pool\""), "{account}");
    assert!(!account.contains("owner"), "{account}");
    let msg = "From: Sofia Reyes <sofia.reyes@tidewater.io>\r\nTo: einkauf@nordlicht-software.de\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <first-touch@tidewater.io>\r\nSubject: XRechnung is live\r\n\r\nHallo, XRechnung is supported now.\r\n";
    env.write("touch.eml", msg);
    let run = env.run(&["-C", "crm", "ingest", "email", "touch.eml", "--commit"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let tick = env.run(&["-C", "crm", "tick", "--dry-run"]);
    expect_file("capture/tick-first-touch.txt", &tick.stdout);
    let tick = env.run(&["-C", "crm", "tick"]);
    assert_eq!(tick.code, 0, "{}{}", tick.stdout, tick.stderr);
    let account = env.read("crm/accounts/nordlicht-software.toml");
    assert!(
        account.contains("status = \"target\"") && account.contains("owner = \"sofia\""),
        "{account}"
    );
}

/// The dashboard's figures count what was captured: imported calls and calendar meetings
/// (a cancelled meeting does not count).
#[test]
fn the_dashboard_counts_captured_calls_and_meetings() {
    let env = committed();
    let figures = |env: &TestEnv| {
        // After the meetings (8 December), so that they count.
        let out = env
            .sloop()
            .env("SLOOP_NOW", "2026-12-10T12:00:00+01:00")
            .args(["-C", "crm", "report", "--format", "json"])
            .output()
            .unwrap();
        let run = crate::util::Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_eq!(run.code, 0, "{}", run.stderr);
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let m = v["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == "marc")
            .unwrap()
            .clone();
        let f = &m["periods"]["quarter"];
        (
            f["calls"].as_u64().unwrap(),
            f["meetings"].as_u64().unwrap(),
            f["demos"].as_u64().unwrap(),
        )
    };
    let (calls, meetings, demos) = figures(&env);
    let run = env.run(&[
        "-C",
        "crm",
        "import",
        "calls",
        &fixture("calls/ringover-calls-export.csv"),
        "--commit",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = env.run(&[
        "-C",
        "crm",
        "ingest",
        "email",
        &fixture("email/12-outlook-meeting-request.eml"),
        "--commit",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = env.run(&[
        "-C",
        "crm",
        "ingest",
        "ics",
        &fixture("ics/google-invite-request.ics"),
        "--commit",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Marc: the answered Ringover call (the failed one was to an unknown number), the
    // Exchange meeting and Google's demo.
    assert_eq!(figures(&env), (calls + 1, meetings + 1, demos + 1));
    let run = env.run(&[
        "-C",
        "crm",
        "ingest",
        "ics",
        &fixture("ics/google-invite-cancel.ics"),
        "--commit",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        figures(&env),
        (calls + 1, meetings + 1, demos),
        "a cancelled demo is not held"
    );
    let html = env.run(&["-C", "crm", "report"]);
    assert_eq!(html.code, 0);
    let page = html.stdout;
    assert!(
        page.contains("<th class=\"n\">Meetings held</th>"),
        "the dashboard shows meetings"
    );
}

/// Base64 with 76-character lines, as mail clients write attachments.
fn base64_lines(bytes: &[u8]) -> String {
    let flat = sloop::serve::base64::encode(bytes);
    let mut out = String::new();
    for line in flat.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push_str("\r\n");
    }
    out
}

/// Google's notification for a later version of the invitation of email/11: the same
/// message with its own Message-ID, Date and subject, the calendar (inline and invite.ics)
/// swapped for `ics`.
fn google_invite_email(ics: &str, message_id: &str, date: &str, subject: &str) -> String {
    let eml = std::fs::read_to_string(fixture("email/11-google-calendar-invite.eml")).unwrap();
    let request = std::fs::read_to_string(fixture("ics/google-invite-request.ics")).unwrap();
    let new = std::fs::read_to_string(fixture(ics)).unwrap();
    let method = if new.contains("METHOD:CANCEL") {
        "CANCEL"
    } else {
        "REQUEST"
    };
    let attached = base64_lines(request.as_bytes());
    for part in [request.as_str(), attached.as_str()] {
        assert!(eml.contains(part), "email/11 carries the request twice");
    }
    eml.replace(&request, &new)
        .replace(&attached, &base64_lines(new.as_bytes()))
        .replace("method=REQUEST", &format!("method={method}"))
        .replace(
            "<calendar-6b1d2e9a-4f37-4c8e-a0d5-93e17c2b5f48@google.com>",
            message_id,
        )
        .replace("Tue, 24 Nov 2026 10:18:03 +0000", date)
        .replace("?Q?Invitation=3A_", &format!("?Q?{subject}=3A_"))
}

/// A Google Calendar invitation by email, then its update (same UID, higher SEQUENCE, moved
/// to 13:00), the stale request again, and its cancellation: one activity throughout, moved,
/// then marked cancelled; nothing is duplicated or removed.
#[test]
fn google_invite_updates_and_cancellations_by_email_update_the_one_meeting() {
    let env = committed();
    let before = snapshot(env.path());
    let path = "crm/activities/2026/12/2026-12-01-demo-atelier-lumen.toml";
    env.write(
        "update.eml",
        google_invite_email(
            "ics/google-invite-update.ics",
            "<calendar-0e4c9a51-7d2b-4f8e-b3a6-2c5d8e1f9a07@google.com>",
            "Wed, 25 Nov 2026 08:04:13 +0000",
            "Updated_invitation",
        ),
    );
    env.write(
        "cancel.eml",
        google_invite_email(
            "ics/google-invite-cancel.ics",
            "<calendar-9f2a6c13-5b8e-4d07-a1c4-7e3b0d2f6a58@google.com>",
            "Thu, 26 Nov 2026 16:40:22 +0000",
            "Canceled_event",
        ),
    );
    let ingest = |file: &str| {
        let run = env.run(&["-C", "crm", "ingest", "email", file, "--commit"]);
        assert_eq!(run.code, 0, "{file}: {}{}", run.stdout, run.stderr);
        run.stdout
    };
    let demos = || new_activities(&env, &before).matches("== crm/").count();
    let first = ingest(&fixture("email/11-google-calendar-invite.eml"));
    assert!(first.starts_with("Recorded"), "{first}");
    let text = env.read(path);
    assert!(
        text.contains("date = 2026-12-01T09:00:00Z") && text.contains("sequence = 0"),
        "{text}"
    );
    let updated = ingest("update.eml");
    let text = env.read(path);
    assert!(
        text.contains("date = 2026-12-01T13:00:00Z")
            && text.contains("sequence = 1")
            && !text.contains("cancelled"),
        "{updated}{text}"
    );
    assert_eq!(demos(), 1, "updated, not duplicated: {updated}");
    // The request again (it arrived late): older than what is recorded, nothing changes.
    let stale = ingest(&fixture("email/11-google-calendar-invite.eml"));
    assert_eq!(env.read(path), text, "{stale}");
    let cancelled = ingest("cancel.eml");
    let text = env.read(path);
    assert!(
        text.contains("date = 2026-12-01T13:00:00Z")
            && text.contains("sequence = 2")
            && text.contains("cancelled = true"),
        "{cancelled}{text}"
    );
    assert_eq!(demos(), 1, "cancelled, not removed: {cancelled}");
    let log = env.git(&["log", "--format=%s", "-4"]);
    let transcript = format!(
        "$ ingest email 11\n{first}$ ingest email update.eml\n{updated}$ ingest email 11\n{stale}$ ingest email cancel.eml\n{cancelled}$ git log\n{}",
        log.stdout
    );
    expect_file("capture/google-invite-by-email.txt", &transcript);
    assert_clean(&env);
}
