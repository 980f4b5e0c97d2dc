//! Bulk import of leads from CSV, and email ingestion.

use crate::util::{assert_clean, example, snapshot};

const HUBSPOT: &str = "\u{feff}First Name,Last Name,Email,Company Name,Website URL,Phone Number,Lead Status,Contact owner\r\n\
Ana,Lopez,ana@novacafe.es,Nova Café,https://www.novacafe.es,+34 600 000 000,New,\r\n\
Ben,Ng,BEN@ORBITAL.io,Orbital,orbital.io,,,\r\n\
Ben,Ng,ben@orbital.io,Orbital,orbital.io,,,\r\n\
Existing,Contact,mathieu.perrin@lyon-cycles.fr,Lyon Cycles,,,,\r\n\
Cleo,Park,cleo@parkandco.com,Park & Co,,,,marc.delacroix@tidewater.io\r\n\
Dan,Roe,dan@roe.dev,Roe Labs,,,,\r\n";

#[test]
fn imports_a_hubspot_export_with_dedupe_and_round_robin() {
    let env = example();
    env.write("leads.csv", HUBSPOT);
    let run = env.run(&[
        "-C",
        "crm",
        "import",
        "leads",
        "leads.csv",
        "--source",
        "inbound",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (
            v["imported"].as_u64(),
            v["duplicates"].as_u64(),
            v["rejected"].as_u64()
        ),
        (Some(4), Some(2), Some(0))
    );
    let ids: Vec<&str> = v["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4);
    let lead = |id: &str| env.read(&format!("crm/leads/{id}.toml"));
    let nova = lead(ids[0]);
    assert!(
        nova.contains("name = \"Ana Lopez\"")
            && nova.contains("domain = \"novacafe.es\"")
            && nova.contains("source = \"inbound\""),
        "{nova}"
    );
    // the example's only sdr is lea: round robin over one; the owner column wins when it names a member
    assert!(nova.contains("owner = \"lea\""), "{nova}");
    assert!(
        lead(ids[2]).contains("owner = \"marc\""),
        "{}",
        lead(ids[2])
    );
    assert_clean(&env);
}

/// A commit names the CSV by its path in the CRM, or by its name alone: never by where it
/// lies on the machine that imported it.
#[test]
fn the_import_commit_names_the_file_without_its_local_path() {
    let env = example();
    assert_eq!(env.git(&["init", "-q", "-b", "main"]).code, 0);
    env.commit_all("the example", "2026-11-01T10:00:00Z");
    env.write("exports/week.csv", "Email,Company\nzed@zed.io,Zed\n");
    env.write("crm/imports/inside.csv", "Email,Company\nyan@yan.io,Yan\n");
    let outside = env.path().join("exports/week.csv");
    for (file, message) in [
        (
            outside.to_str().unwrap(),
            "sloop import leads week.csv: 1 lead",
        ),
        (
            "crm/imports/inside.csv",
            "sloop import leads imports/inside.csv: 1 lead",
        ),
    ] {
        let run = env.run(&["-C", "crm", "import", "leads", file, "--commit"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert_eq!(
            run.stdout,
            "imported 1 lead, 0 duplicates skipped, 0 rows rejected\n"
        );
        let subject = env.git(&["log", "-1", "--format=%s"]).stdout;
        assert_eq!(subject.trim(), message);
    }
}

#[test]
fn round_robin_over_assign_semicolons_and_crlf() {
    let env = example();
    env.write("l.csv", "Email Address;Full Name;Organization\r\na@one.io;A One;One\r\nb@two.io;B Two;Two\r\nc@three.io;C Three;Three\r\n");
    let run = env.run(&[
        "-C",
        "crm",
        "import",
        "leads",
        "l.csv",
        "--assign",
        "marc,sofia",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let owners: Vec<String> = v["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            let t = env.read(&format!("crm/leads/{}.toml", id.as_str().unwrap()));
            t.lines()
                .find(|l| l.starts_with("owner"))
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        owners,
        ["owner = \"marc\"", "owner = \"sofia\"", "owner = \"marc\""]
    );
    assert_clean(&env);
}

#[test]
fn an_invalid_row_blocks_the_import_unless_skipped() {
    let env = example();
    env.write(
        "l.csv",
        r#"Email,Company
ok@fine.io,Fine
not-an-email,Broken
"#,
    );
    let before = snapshot(&env.path().join("crm"));
    let run = env.run(&["-C", "crm", "import", "leads", "l.csv"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("  l.csv:3: `email` `not-an-email` is not an email address\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("nothing was imported"),
        "{}",
        run.stderr
    );
    assert!(
        snapshot(&env.path().join("crm")) == before,
        "no lead written"
    );
    let rejected = env.read("l.csv.rejected.csv");
    assert_eq!(
        rejected,
        r#"line,reason,Email,Company
3,`email` `not-an-email` is not an email address,not-an-email,Broken
"#
    );
    let run = env.run(&[
        "-C",
        "crm",
        "import",
        "leads",
        "l.csv",
        "--skip-invalid",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (v["imported"].as_u64(), v["rejected"].as_u64()),
        (Some(1), Some(1))
    );
    assert_clean(&env);
}

/// A rejected row shorter than the header used to crash the writer of `.rejected.csv`
/// ("found record with 2 fields"), which also broke `--skip-invalid`.
#[test]
fn short_rejected_rows_are_written_and_skipped() {
    let env = example();
    env.write(
        "l.csv",
        "Email,Company,Phone\nok@fine.io,Fine,+33 1 23 45 67 89\nnot-an-email,Broken\n\
         =HYPERLINK(\"http://evil.example\"),@SUM(1),-2+3,extra\n",
    );
    let before = snapshot(&env.path().join("crm"));
    let run = env.run(&["-C", "crm", "import", "leads", "l.csv"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("nothing was imported"),
        "{}",
        run.stderr
    );
    assert!(
        snapshot(&env.path().join("crm")) == before,
        "no lead written"
    );
    // Every line as wide as the widest row, formulas neutralised.
    assert_eq!(
        env.read("l.csv.rejected.csv"),
        "line,reason,Email,Company,Phone,\n\
         3,`email` `not-an-email` is not an email address,not-an-email,Broken,,\n\
         4,\"`email` `=hyperlink(\"\"http://evil.example\"\")` is not an email address\",\
         \"'=HYPERLINK(\"\"http://evil.example\"\")\",'@SUM(1),'-2+3,extra\n"
    );
    let run = env.run(&[
        "-C",
        "crm",
        "import",
        "leads",
        "l.csv",
        "--skip-invalid",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (v["imported"].as_u64(), v["rejected"].as_u64()),
        (Some(1), Some(2))
    );
    assert_clean(&env);
    // The rejected file reads back as the rows were: its quotes are dropped on import.
    let run = env.run(&[
        "-C",
        "crm",
        "import",
        "leads",
        "l.csv.rejected.csv",
        "--dry-run",
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "  l.csv.rejected.csv:3: `email` `=hyperlink(\"http://evil.example\")` is not an email address"
        ),
        "{}",
        run.stdout
    );
}

/// The error for a file no column of which is a lead field quotes the header: at most its
/// first columns, each cut short, not a million columns.
#[test]
fn an_unmapped_header_is_quoted_in_part() {
    let env = example();
    let mut csv = "x".repeat(1000);
    for i in 0..999_999 {
        csv.push_str(&format!(",c{i}"));
    }
    csv.push('\n');
    env.write("wide.csv", &csv);
    let before = snapshot(env.path());
    let run = env.run(&["-C", "crm", "import", "leads", "wide.csv"]);
    assert_eq!(run.code, 2, "{}", run.stderr.len());
    assert!(
        run.stderr.len() < 1000,
        "{} bytes of error",
        run.stderr.len()
    );
    assert!(
        run.stderr.starts_with(&format!(
            "error: wide.csv: no column maps to a lead email or company (header: {}… (940 more characters), c0, \
                 c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, \
                 c18, … and 999980 more columns)\n",
            "x".repeat(60)
        )),
        "{}",
        run.stderr
    );
    assert!(snapshot(env.path()) == before, "nothing written");
}

#[test]
fn bad_csv_files_are_refused_and_write_nothing() {
    let env = example();
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty.csv", b"", "the file is empty"),
        ("binary.csv", b"PK\x03\x04\x00\x00", "not text"),
        (
            "colours.csv",
            b"Colour,Size\nred,3\n",
            "colours.csv: no column maps to a lead email or company (header: Colour, Size)",
        ),
        ("dry.csv", b"Email\nx@y.io\n", ""),
    ];
    for (name, bytes, message) in cases {
        env.write(name, bytes);
        let before = snapshot(env.path());
        let args = if message.is_empty() {
            vec!["-C", "crm", "import", "leads", name, "--dry-run"]
        } else {
            vec!["-C", "crm", "import", "leads", name]
        };
        let run = env.run(&args);
        if message.is_empty() {
            assert_eq!(run.code, 0);
            assert!(
                run.stdout.contains("would import 1 lead,"),
                "{}",
                run.stdout
            );
        } else {
            assert_eq!(run.code, 2, "{name}");
            assert!(run.stderr.contains(message), "{name}: {}", run.stderr);
        }
        assert!(snapshot(env.path()) == before, "{name} wrote something");
    }
    let run = env.run(&[
        "-C", "crm", "import", "leads", "dry.csv", "--assign", "nobody",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("`nobody` is not a team member"));
}

#[test]
fn a_large_csv_is_streamed() {
    let env = example();
    let mut csv = String::from("Email,Company\n");
    for i in 0..100_000 {
        csv.push_str(&format!("p{i}@c{i}.io,Company {i}\n"));
    }
    env.write("big.csv", &csv);
    let run = env.run(&[
        "-C",
        "crm",
        "import",
        "leads",
        "big.csv",
        "--dry-run",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("\"duplicates\": 0"));
    assert!(
        !run.stderr.contains("read"),
        "no progress line off a terminal"
    );
}

fn eml(extra_headers: &str, from: &str, to: &str) -> String {
    format!("From: {from}\r\nTo: {to}\r\nSubject: Pricing for 12 users\r\n{extra_headers}Message-ID: <abc123@mail.example>\r\n\r\nHello,\r\nsee attached.\r\n")
}

#[test]
fn ingests_an_email_once_on_the_right_account() {
    let env = example();
    let msg = eml(
        "Date: Tue, 24 Nov 2026 10:15:00 +0100\r\n",
        "Marc Delacroix <marc.delacroix@tidewater.io>",
        "Rachel <rachel@kestrelanalytics.io>",
    );
    env.write("m.eml", &msg);
    let run = env.run(&["-C", "crm", "ingest", "email", "m.eml"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("on account kestrel-analytics"),
        "{}",
        run.stdout
    );
    let text = env.read("crm/activities/2026/11/2026-11-24-email-kestrel-analytics.toml");
    assert!(
        text.contains("owner = \"marc\"")
            && text.contains("message_id = \"abc123@mail.example\"")
            && text.contains("subject = \"Pricing for 12 users\""),
        "{text}"
    );
    assert!(
        text.contains(
            "participants = [\"marc.delacroix@tidewater.io\", \"rachel@kestrelanalytics.io\"]"
        ),
        "{text}"
    );
    assert_clean(&env);
    let again = env.run(&["-C", "crm", "ingest", "email", "m.eml"]);
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.starts_with("Already recorded as"),
        "{}",
        again.stdout
    );
    // by domain when the person is not a contact yet, from standard input
    let other = msg
        .replace("abc123", "def456")
        .replace("rachel@", "someone.new@");
    let mut cmd = env.sloop();
    cmd.args(["-C", "crm", "ingest", "email", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), other.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("kestrel-analytics"));
    assert_clean(&env);
}

/// A leading byte order mark hid the From header; a quoted local part was stored as
/// `@host`; `Date: … 0000` was read as the year 2000, or as +0000 without its sign.
#[test]
fn headers_are_read_as_rfc_5322_writes_them() {
    let env = example();
    let msg = format!(
        "\u{feff}{}",
        eml(
            "Date: Tue, 24 Nov 2026 10:15:00 +0100\r\nCc: \"Ann \\\"the boss\\\" Lee\"@kestrelanalytics.io\r\n",
            "Marc Delacroix <marc.delacroix@tidewater.io>",
            "Rachel <rachel@kestrelanalytics.io>",
        )
    );
    env.write("m.eml", &msg);
    let run = env.run(&["-C", "crm", "ingest", "email", "m.eml"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let text = env.read("crm/activities/2026/11/2026-11-24-email-kestrel-analytics.toml");
    assert!(
        text.contains("owner = \"marc\""),
        "the From header was read:\n{text}"
    );
    assert!(
        text.contains(
            r#"participants = ["marc.delacroix@tidewater.io", "rachel@kestrelanalytics.io", '"ann \"the boss\" lee"@kestrelanalytics.io']"#
        ),
        "{text}"
    );
    assert_clean(&env);
    for (date, why) in [
        (
            "Mon, 1 Jan 0000 10:00:00 +0000",
            "the year 0000 is before 1900",
        ),
        (
            "Tue, 24 Nov 2026 10:15:00 0000",
            "the zone `0000` has no sign (write `+0000` or `-0000`)",
        ),
    ] {
        env.write(
            "d.eml",
            eml(
                &format!("Date: {date}\r\n"),
                "marc.delacroix@tidewater.io",
                "rachel@kestrelanalytics.io",
            )
            .replace("abc123", "other"),
        );
        let before = snapshot(env.path());
        let run = env.run(&["-C", "crm", "ingest", "email", "d.eml"]);
        assert_eq!(run.code, 2, "{date}: {}{}", run.stdout, run.stderr);
        assert_eq!(
            run.stderr,
            format!(
                "error: the Date header `{date}` is not a date: {why}\nhint: RFC 5322 dates read \
                 like `Thu, 26 Nov 2026 10:30:00 +0100`; `--date` dates the message yourself\n"
            )
        );
        assert!(snapshot(env.path()) == before, "{date}: wrote something");
    }
}

#[test]
fn emails_that_cannot_be_recorded_write_nothing() {
    let env = example();
    let cases = [
        (
            "unmatched.eml",
            eml(
                "Date: Tue, 24 Nov 2026 10:15:00 +0100\r\n",
                "x@unknown.example",
                "y@gmail.com",
            )
            .into_bytes(),
            1,
            "no participant of the message is a contact",
        ),
        (
            "nodate.eml",
            eml(
                "",
                "marc.delacroix@tidewater.io",
                "rachel@kestrelanalytics.io",
            )
            .into_bytes(),
            2,
            "no Date header",
        ),
        (
            "latin1.eml",
            eml(
                "Date: Tue, 24 Nov 2026 10:15:00 +0100\r\n",
                "marc.delacroix@tidewater.io",
                "rachel@kestrelanalytics.io",
            )
            .replace("Pricing", "Pri\u{0}")
            .replace('\u{0}', "X")
            .into_bytes()
            .into_iter()
            .map(|b| if b == b'X' { 0xE9 } else { b })
            .collect(),
            2,
            "headers are not valid UTF-8",
        ),
    ];
    for (name, bytes, code, message) in cases {
        env.write(name, &bytes);
        let before = snapshot(env.path());
        let run = env.run(&["-C", "crm", "ingest", "email", name]);
        assert_eq!(run.code, code, "{name}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(message), "{name}: {}", run.stderr);
        assert!(snapshot(env.path()) == before, "{name} wrote something");
    }
}
