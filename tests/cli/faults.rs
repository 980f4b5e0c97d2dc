//! Fault injection on the write path: concurrent writers, writers killed at every step and
//! at random moments, a full disk, a held lock, git's environment and filters. After each,
//! HEAD, the index and the work tree must agree, and nothing a writer reported done may be
//! missing.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{example, TestEnv};

/// The example CRM committed in `crm/` of a new repository.
fn committed() -> TestEnv {
    let env = example();
    assert_eq!(env.git(&["init", "-q", "-b", "main"]).code, 0);
    env.commit_all("the CRM", "2026-11-01T09:00:00+01:00");
    env
}

/// HEAD, the index and the work tree agree; no lock, journal or temporary file is left;
/// the objects are sound; the CRM has no error.
fn assert_consistent(env: &TestEnv, context: &str) {
    let status = env.git(&[
        "status",
        "--porcelain",
        "--untracked-files=all",
        "--",
        "crm",
    ]);
    assert_eq!(status.code, 0, "{context}: {}", status.stderr);
    assert_eq!(
        status.stdout, "",
        "{context}: the work tree or the index differs from HEAD"
    );
    assert!(
        !env.path().join(".git/index.lock").exists(),
        "{context}: index.lock left"
    );
    assert!(
        !env.path().join(".git/sloop/journal").exists(),
        "{context}: journal left"
    );
    let temps: Vec<String> = walkdir::WalkDir::new(env.path().join("crm"))
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with(".sloop-tmp"))
        .collect();
    assert!(
        temps.is_empty(),
        "{context}: temporary files left: {temps:?}"
    );
    let fsck = env.git(&["fsck", "--no-dangling", "--no-progress"]);
    assert_eq!(fsck.code, 0, "{context}: {}{}", fsck.stdout, fsck.stderr);
    let check = env.run(&["-C", "crm", "check", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&check.stdout).unwrap_or_default();
    assert_eq!(v["errors"], 0, "{context}: {}", check.stdout);
}

/// Whether HEAD holds `path` (repository-relative).
fn in_head(env: &TestEnv, path: &str) -> bool {
    env.git(&["cat-file", "-e", &format!("HEAD:{path}")]).code == 0
}

/// A writer: its arguments (after `-C crm`), and the file that proves it was committed.
struct Writer {
    args: Vec<String>,
    proof: Option<String>,
}

fn writer(args: &[&str], proof: Option<&str>) -> Writer {
    Writer {
        args: args.iter().map(|s| s.to_string()).collect(),
        proof: proof.map(str::to_string),
    }
}

/// Eleven different writes that do not touch the same file, for round `r`: every write
/// command with `--commit`.
fn writers(env: &TestEnv, r: usize) -> Vec<Writer> {
    let csv = format!("leads-{r}.csv");
    env.write(
        &csv,
        format!(
            r#"Email,First Name,Last Name,Company
ana{r}@orbit{r}.io,Ana,Lopez,Orbit {r}
ben{r}@kite{r}.io,Ben,Ng,Kite {r}
"#
        ),
    );
    let accounts = [
        "nordlicht-software",
        "oakridge-property",
        "petit-mas-provence",
        "granite-hr",
    ];
    let a = accounts[r % accounts.len()];
    vec![
        writer(
            &[
                "new",
                "account",
                &format!("new-co-{r}"),
                "--name",
                &format!("New Co {r}"),
            ],
            Some(&format!("crm/accounts/new-co-{r}.toml")),
        ),
        writer(
            &[
                "new",
                "account",
                &format!("other-co-{r}"),
                "--name",
                &format!("Other Co {r}"),
            ],
            Some(&format!("crm/accounts/other-co-{r}.toml")),
        ),
        writer(
            &[
                "new",
                "contact",
                &format!("jo-{r}"),
                "--name",
                &format!("Jo {r}"),
                "--account",
                "kestrel-analytics",
            ],
            Some(&format!("crm/contacts/jo-{r}.toml")),
        ),
        writer(
            &[
                "new",
                "lead",
                &format!("lead-{r}"),
                "--email",
                &format!("lead{r}@x{r}.io"),
            ],
            Some(&format!("crm/leads/lead-{r}.toml")),
        ),
        writer(
            &[
                "log",
                "call",
                "helio-solaire",
                "--date",
                "2026-11-20",
                "-m",
                &format!("call {r}"),
            ],
            None,
        ),
        writer(
            &[
                "task",
                "mercator-distribution",
                "--due",
                "2026-12-01",
                "-m",
                &format!("task {r}"),
            ],
            None,
        ),
        writer(
            &["set", &format!("accounts/{a}"), &format!("tags=round-{r}")],
            None,
        ),
        writer(
            &[
                "set",
                "opportunities/pinecrest-dental-new",
                &format!("bant.need=need {r}"),
            ],
            None,
        ),
        // Back and forth between `identified` and `lost`, one move per round.
        if r.is_multiple_of(2) {
            writer(
                &[
                    "move",
                    "verdant-events-new",
                    "lost",
                    "--set",
                    "lost_reason=timing",
                    "--set",
                    "close_date=2026-11-20",
                ],
                None,
            )
        } else {
            writer(&["move", "verdant-events-new", "identified"], None)
        },
        writer(
            &["import", "leads", &csv.clone(), "--source", "inbound"],
            None,
        ),
        writer(&["tick"], None),
    ]
}

fn spawn(env: &TestEnv, args: &[String], extra: &[(&str, &str)]) -> Child {
    let mut c = env.sloop();
    c.args(["-C", "crm"]).args(args).arg("--commit");
    if args.first().is_some_and(|a| a == "tick") {
        // tick commits by default
        c = env.sloop();
        c.args(["-C", "crm"]).args(args);
    }
    c.env("SLOOP_LOCK_WAIT", "120");
    for (k, v) in extra {
        c.env(k, v);
    }
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c.spawn().expect("spawn sloop")
}

#[test]
fn concurrent_writers_never_corrupt_the_index_nor_lose_a_write() {
    let env = committed();
    for round in 0..3 {
        let ws = writers(&env, round);
        let children: Vec<(Child, &Writer)> =
            ws.iter().map(|w| (spawn(&env, &w.args, &[]), w)).collect();
        for (child, w) in children {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            // Every writer succeeds: they wait for each other instead of failing.
            assert!(
                out.status.success() || w.args[0] == "tick",
                "round {round}: {:?} failed: {stderr}",
                w.args
            );
            if let Some(p) = &w.proof {
                assert!(in_head(&env, p), "round {round}: {p} is not committed");
            }
        }
        assert_consistent(&env, &format!("round {round}"));
    }
    // 3 rounds × 10 commits at least (tick commits only when something moves).
    let n = env.git(&["rev-list", "--count", "HEAD"]);
    assert!(n.stdout.trim().parse::<u32>().unwrap() > 27, "{}", n.stdout);
}

#[test]
fn a_writer_killed_at_any_step_is_rolled_back_or_finished_by_the_next_one() {
    let points = [
        "locked", "journal", "files", "index", "commit", "branch", "done",
    ];
    for (i, point) in points.iter().enumerate() {
        let env = committed();
        let ws = writers(&env, i);
        for w in ws.iter().filter(|w| w.proof.is_some()).take(2) {
            let context = format!("{:?} killed at {point}", w.args);
            let out = spawn(&env, &w.args, &[("SLOOP_CRASH_AT", point)])
                .wait_with_output()
                .unwrap();
            assert!(!out.status.success(), "{context}: it did not die");
            // The next writer recovers first, then does its own work.
            let next = env.run(&[
                "-C",
                "crm",
                "new",
                "account",
                &format!("after-{point}-{}", w.args[2]),
                "--name",
                "After",
                "--commit",
            ]);
            assert_eq!(next.code, 0, "{context}: {}", next.stderr);
            let finished = matches!(*point, "branch" | "done");
            if *point != "done" {
                assert!(
                    next.stderr.contains("interrupted sloop"),
                    "{context}: {}",
                    next.stderr
                );
            }
            assert_consistent(&env, &context);
            let proof = w.proof.as_deref().unwrap();
            assert_eq!(in_head(&env, proof), finished, "{context}: {proof}");
            // Running the killed command again finishes the job (or says it is done).
            let again = spawn(&env, &w.args, &[]).wait_with_output().unwrap();
            if !finished {
                assert!(
                    again.status.success(),
                    "{context}: {}",
                    String::from_utf8_lossy(&again.stderr)
                );
            }
            assert!(in_head(&env, proof), "{context}: {proof} after the re-run");
            assert_consistent(&env, &format!("{context}, re-run"));
        }
    }
}

#[test]
fn writers_killed_at_random_moments_leave_a_consistent_repository() {
    let env = committed();
    // A fixed sequence of delays (a small linear congruential generator): reproducible.
    let mut seed: u64 = 42;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % 40
    };
    for round in 0..4 {
        let ws = writers(&env, round);
        for w in &ws {
            let mut child = spawn(&env, &w.args, &[]);
            std::thread::sleep(Duration::from_millis(next()));
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            let doctor = env.run(&["-C", "crm", "doctor"]);
            assert_eq!(doctor.code, 0, "{:?}: {}", w.args, doctor.stderr);
            assert_consistent(&env, &format!("round {round}, {:?} killed", w.args));
        }
    }
}

#[test]
fn an_interrupted_import_is_rolled_back_and_the_rerun_imports_everything() {
    let env = committed();
    let mut csv = String::from("Email,First Name,Last Name,Company\n");
    for i in 0..300 {
        csv.push_str(&format!("p{i}@co{i}.example,P{i},L{i},Co {i}\n"));
    }
    env.write("big.csv", &csv);
    let args: Vec<String> = ["import", "leads", "big.csv", "--source", "inbound"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = spawn(&env, &args, &[("SLOOP_CRASH_AT", "index")])
        .wait_with_output()
        .unwrap();
    assert!(!out.status.success());
    // 300 files are on disk, uncommitted: what a plain `git commit -a` must not pick up.
    let leads = || {
        std::fs::read_dir(env.path().join("crm/leads"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".toml")
            })
            .count()
    };
    assert!(leads() >= 300);
    let again = env.run(&[
        "-C", "crm", "import", "leads", "big.csv", "--source", "inbound", "--commit", "--format",
        "json",
    ]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(
        again
            .stderr
            .contains("an interrupted sloop write was rolled back (300 files"),
        "{}",
        again.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(v["imported"], 300, "{}", again.stdout);
    assert_consistent(&env, "import re-run");
}

/// An import without `--commit` writes its files, then remembers them (so the next writes see
/// them). Killed between the two, it leaves some of its files on disk that nothing remembers:
/// the re-run writes the same files, finishes the job, and says so, instead of skipping the
/// leads as duplicates or writing them twice.
#[test]
fn an_interrupted_import_without_commit_is_finished_by_the_rerun() {
    let env = committed();
    let mut csv = String::from("Email,First Name,Last Name,Company\n");
    for i in 0..40 {
        csv.push_str(&format!("p{i}@co{i}.example,P{i},L{i},Co {i}\n"));
    }
    env.write("big.csv", &csv);
    let import = [
        "-C", "crm", "import", "leads", "big.csv", "--source", "inbound",
    ];
    let leads_dir = env.path().join("crm/leads");
    let files = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&leads_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    };
    let before = files();
    let first = env.run(&import);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let mut written: Vec<_> = files()
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    written.sort();
    assert_eq!(written.len(), 40);
    let finished: Vec<(std::path::PathBuf, Vec<u8>)> = written
        .iter()
        .map(|p| (p.clone(), std::fs::read(p).unwrap()))
        .collect();
    // The state a kill after the 25th file leaves: 25 files, nothing remembered.
    for p in &written[25..] {
        std::fs::remove_file(p).unwrap();
    }
    for e in std::fs::read_dir(env.path().join(".git/sloop/write-index-v1")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("pending-")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    let again = env.run(&import);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("imported 40 leads, 0 duplicates"),
        "{}",
        again.stdout
    );
    assert!(
        again.stderr.contains(
            "25 of these 40 leads were already on disk, left by an interrupted import: \
             the import is now complete"
        ),
        "{}",
        again.stderr
    );
    for (p, bytes) in &finished {
        assert_eq!(&std::fs::read(p).unwrap(), bytes, "{}", p.display());
    }
    assert_eq!(files().len(), before.len() + finished.len());
    // Remembered now: a third run skips them all.
    let third = env.run(&import);
    assert!(
        third.stdout.contains("imported 0 leads, 40 duplicates"),
        "{}",
        third.stdout
    );
}

#[test]
fn a_held_index_lock_makes_writers_wait_then_fail_without_writing() {
    let env = committed();
    let lock = env.path().join(".git/index.lock");
    std::fs::write(&lock, "").unwrap();
    let before = crate::util::snapshot(&env.path().join("crm"));
    let head = env.git(&["rev-parse", "HEAD"]).stdout;
    let mut c = env.sloop();
    c.env("SLOOP_LOCK_WAIT", "0.3");
    let out = c
        .args([
            "-C", "crm", "new", "account", "locked", "--name", "Locked", "--commit",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the index is locked by another git process (.git/index.lock exists)"),
        "{stderr}"
    );
    assert_eq!(crate::util::snapshot(&env.path().join("crm")), before);
    assert_eq!(env.git(&["rev-parse", "HEAD"]).stdout, head);
    assert!(lock.exists(), "another process's lock is never removed");
    // Released while a writer waits: the writer goes on.
    let mut waiting = env.sloop();
    let child = waiting
        .args([
            "-C", "crm", "new", "account", "waited", "--name", "Waited", "--commit",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::remove_file(&lock).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(in_head(&env, "crm/accounts/waited.toml"));
    assert_consistent(&env, "after the lock was released");
}

/// Whether this process may mount a tmpfs (root in a namespace that allows it).
fn small_disk(env: &TestEnv) -> Option<std::path::PathBuf> {
    let mnt = env.path().join("disk");
    std::fs::create_dir_all(&mnt).ok()?;
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .ok()?
        .success();
    ok.then_some(mnt)
}

#[test]
fn a_full_disk_leaves_nothing_half_written() {
    let outer = TestEnv::new();
    let Some(disk) = small_disk(&outer) else {
        eprintln!("skipped: mounting a small tmpfs needs root (run the tests as root to cover a full disk)");
        return;
    };
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(disk.clone());
    let env = TestEnv::new();
    crate::util::copy_dir(
        &crate::util::repo_root().join("example-crm"),
        &disk.join("crm"),
    );
    let git = |args: &[&str]| {
        let mut c = Command::new("git");
        c.current_dir(&disk)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.com");
        c.args(args).output().unwrap()
    };
    assert!(git(&["init", "-q", "-b", "main"]).status.success());
    assert!(git(&["add", "-A"]).status.success());
    assert!(git(&["commit", "-qm", "crm"]).status.success());
    let mut csv = String::from("Email,First Name,Last Name,Company\n");
    for i in 0..4000 {
        csv.push_str(&format!(
            "p{i}@company-number-{i}.example,Person{i},Last{i},Company number {i}\n"
        ));
    }
    std::fs::write(env.path().join("big.csv"), &csv).unwrap();
    // Fill the disk, leaving a little room.
    let filler = disk.join("filler");
    let free = |p: &std::path::Path| {
        let out = Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(p)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    let room = free(&disk).saturating_sub(200 * 1024);
    std::fs::write(&filler, vec![0u8; room as usize]).unwrap();
    let head = String::from_utf8_lossy(&git(&["rev-parse", "HEAD"]).stdout).into_owned();
    let before = crate::util::snapshot(&disk.join("crm"));
    for commit in [true, false] {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sloop"));
        c.current_dir(&disk)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .args(["-C", "crm", "import", "leads"])
            .arg(env.path().join("big.csv"))
            .args(["--source", "inbound"]);
        if commit {
            c.arg("--commit");
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "commit={commit}: {stderr}");
        assert!(
            stderr.contains("No space left") || stderr.contains("disk is full"),
            "{stderr}"
        );
        assert_eq!(
            crate::util::snapshot(&disk.join("crm")),
            before,
            "commit={commit}"
        );
        assert_eq!(
            String::from_utf8_lossy(&git(&["rev-parse", "HEAD"]).stdout),
            head
        );
        let status = git(&["status", "--porcelain", "--", "crm"]);
        assert_eq!(String::from_utf8_lossy(&status.stdout), "");
        assert!(!disk.join(".git/index.lock").exists());
    }
    // The pre-commit hook is never left empty or not executable: installed whole, or not
    // at all (it is a few hundred bytes: fill the disk to the last block first).
    let top = disk.join("top");
    let _ = std::fs::write(&top, vec![0u8; free(&disk) as usize]);
    let hook = disk.join(".git/hooks/pre-commit");
    let mut c = Command::new(env!("CARGO_BIN_EXE_sloop"));
    let out = c
        .current_dir(&disk)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args(["-C", "crm", "hooks", "install"])
        .output()
        .unwrap();
    if out.status.success() {
        let text = std::fs::read_to_string(&hook).unwrap();
        assert!(
            text.contains("sloop check --staged") || text.contains("check --staged"),
            "{text}"
        );
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("No space left"), "{stderr}");
        assert!(!hook.exists(), "a half-written hook was left");
        let leftovers: Vec<_> = std::fs::read_dir(disk.join(".git/hooks"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("sloop-tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
fn commits_apply_git_filters_like_git_add() {
    let env = committed();
    assert_eq!(env.git(&["config", "core.autocrlf", "true"]).code, 0);
    // Check the files out again, with CRLF now.
    std::fs::remove_file(env.path().join("crm/accounts/granite-hr.toml")).unwrap();
    assert_eq!(
        env.git(&["checkout", "--", "crm/accounts/granite-hr.toml"])
            .code,
        0
    );
    assert!(env.read("crm/accounts/granite-hr.toml").contains("\r\n"));
    let run = env.run(&[
        "-C",
        "crm",
        "set",
        "accounts/granite-hr",
        "tags=crlf",
        "--commit",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let blob = env.git(&["cat-file", "-p", "HEAD:crm/accounts/granite-hr.toml"]);
    assert!(blob.stdout.contains("tags = [\"crlf\"]"), "{}", blob.stdout);
    assert!(!blob.stdout.contains('\r'), "a CRLF blob was committed");
    assert_consistent(&env, "autocrlf");
}

#[test]
fn git_dir_and_work_tree_from_the_environment_are_the_repository_used() {
    // The repository's git dir lives elsewhere (as with GIT_DIR=… or --separate-git-dir).
    let env = TestEnv::new();
    env.copy_from_repo("example-crm", "work");
    let gitdir = env.path().join("store.git");
    let git = |args: &[&str]| {
        let mut c = Command::new("git");
        c.current_dir(env.path().join("work"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_DIR", &gitdir)
            .env("GIT_WORK_TREE", env.path().join("work"))
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_AUTHOR_DATE", "2026-11-01T09:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-11-01T09:00:00Z");
        c.args(args).output().unwrap()
    };
    assert!(git(&["init", "-q", "-b", "main"]).status.success());
    assert!(git(&["add", "-A"]).status.success());
    assert!(git(&["commit", "-qm", "crm"]).status.success());
    // A decoy repository around the work tree, which libgit2 alone would have found.
    assert_eq!(env.git(&["init", "-q", "-b", "main"]).code, 0);
    // An unstaged edit to an account tick would move (a target with no touch for months).
    let path = env.path().join("work/accounts/oakridge-property.toml");
    let edited = format!(
        r#"{}
# my unsaved thought
"#,
        std::fs::read_to_string(&path).unwrap()
    );
    std::fs::write(&path, &edited).unwrap();
    let mut c = env.sloop();
    c.current_dir(env.path().join("work"))
        .env("GIT_DIR", &gitdir)
        .env("GIT_WORK_TREE", env.path().join("work"))
        .args(["tick", "--as-of", "2027-06-01"]);
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        edited,
        "the edit was overwritten"
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("oakridge-property.toml has uncommitted changes"),
        "{stderr}"
    );
    // The same with the edit set aside: the tick commits into the environment's repository.
    assert!(git(&["stash", "-q"]).status.success());
    let mut c = env.sloop();
    c.current_dir(env.path().join("work"))
        .env("GIT_DIR", &gitdir)
        .env("GIT_WORK_TREE", env.path().join("work"))
        .args(["tick", "--as-of", "2027-06-01"]);
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = git(&["log", "--format=%s", "-1"]);
    assert!(String::from_utf8_lossy(&log.stdout).starts_with("sloop tick 2027-06-01"));
    let status = git(&["status", "--porcelain"]);
    assert_eq!(String::from_utf8_lossy(&status.stdout), "");
}

#[test]
fn linked_worktrees_and_separate_git_dirs_commit_in_their_own_repository() {
    let env = committed();
    let wt = env.path().join("wt");
    assert_eq!(
        env.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()])
            .code,
        0
    );
    let mut c = env.sloop();
    let out = c
        .current_dir(&wt)
        .args([
            "-C",
            "crm",
            "new",
            "account",
            "from-worktree",
            "--name",
            "From Worktree",
            "--commit",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        env.git(&["cat-file", "-e", "side:crm/accounts/from-worktree.toml"])
            .code
            == 0
    );
    assert!(!in_head(&env, "crm/accounts/from-worktree.toml"));
    let mut g = Command::new("git");
    let status = g
        .current_dir(&wt)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args(["status", "--porcelain"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout), "");
    assert_consistent(&env, "main work tree after a commit in a linked one");

    // A repository made with `--separate-git-dir`: `.git` is a file pointing elsewhere.
    let sep = TestEnv::new();
    sep.copy_from_repo("example-crm", "work/crm");
    let gitdir = sep.path().join("elsewhere.git");
    let work = sep.path().join("work");
    let git = |args: &[&str]| {
        let mut c = Command::new("git");
        c.current_dir(&work)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.com");
        c.args(args).output().unwrap()
    };
    let init = git(&[
        "init",
        "-q",
        "-b",
        "main",
        "--separate-git-dir",
        gitdir.to_str().unwrap(),
    ]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert!(git(&["add", "-A"]).status.success());
    assert!(git(&["commit", "-qm", "crm"]).status.success());
    let mut c = sep.sloop();
    let out = c
        .current_dir(&work)
        .args([
            "-C", "crm", "new", "account", "sep", "--name", "Sep", "--commit",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&git(&["status", "--porcelain"]).stdout),
        ""
    );
    assert!(git(&["cat-file", "-e", "HEAD:crm/accounts/sep.toml"])
        .status
        .success());
}

#[test]
fn read_only_commands_never_take_gits_index_lock() {
    let env = committed();
    // A `git` on PATH that records whether optional locks were allowed, then runs git.
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let log = env.path().join("git-calls.log");
    let shim = format!(
        r#"#!/bin/sh
echo "${{GIT_OPTIONAL_LOCKS:-unset}} $1 $2" >> '{}'
exec '{}' "$@"
"#,
        log.display(),
        real.trim()
    );
    std::fs::write(bin.join("git"), shim).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("git"), std::fs::Permissions::from_mode(0o755)).unwrap();
    env.write(
        "crm/accounts/granite-hr.toml",
        format!("{}# edit\n", env.read("crm/accounts/granite-hr.toml")),
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    for args in [
        &["check"][..],
        &["check", "--staged"],
        &["tick", "--dry-run"],
    ] {
        let mut c = env.sloop();
        let out = c
            .env("PATH", &path)
            .args(["-C", "crm"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.code().unwrap_or(2) < 2,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(calls.lines().count() >= 2, "{calls}");
    for line in calls.lines() {
        assert!(
            line.starts_with("0 "),
            "a git call may take index.lock: {line}"
        );
    }
}

#[test]
fn a_sparse_index_repository_commits() {
    let env = committed();
    env.write("docs/readme.md", "outside the CRM\n");
    env.commit_all("docs", "2026-11-02T09:00:00+01:00");
    for args in [
        &["sparse-checkout", "init", "--cone", "--sparse-index"][..],
        &["sparse-checkout", "set", "crm"],
    ] {
        let run = env.git(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    }
    assert_eq!(env.git(&["config", "index.sparse"]).stdout.trim(), "true");
    assert!(!env.path().join("docs/readme.md").exists());
    let run = env.run(&[
        "-C",
        "crm",
        "new",
        "account",
        "sparse-co",
        "--name",
        "Sparse Co",
        "--commit",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(in_head(&env, "crm/accounts/sparse-co.toml"));
    assert!(
        in_head(&env, "docs/readme.md"),
        "a file outside the sparse cone was dropped"
    );
    assert_consistent(&env, "sparse index");
}

#[test]
fn a_history_is_committed_on_top_of_head_with_its_dates_and_authors() {
    use sloop::git::{HistoryCommit, Identity, Repo, WriteLock};
    let env = committed();
    // Something staged by the user stays staged and out of the history.
    env.write("crm/notes.txt", "mine\n");
    assert_eq!(env.git(&["add", "crm/notes.txt"]).code, 0);
    let repo = Repo::open(&env.path().join("crm")).unwrap().unwrap();
    let _lock = WriteLock::acquire(&repo).unwrap();
    let day =
        |d: &str| chrono::DateTime::parse_from_rfc3339(&format!("{d}T12:00:00+01:00")).unwrap();
    let who = |n: &str| Identity {
        name: n.into(),
        email: format!("{}@example.com", n.to_lowercase()),
    };
    let commits = vec![
        HistoryCommit {
            files: vec![(
                "accounts/imported.toml".into(),
                b"name = \"Imported\"\nstatus = \"qualified_pool\"\n".to_vec(),
            )],
            message: "import: 2024-03-01".into(),
            author: who("Nora"),
            when: day("2024-03-01"),
        },
        HistoryCommit {
            files: vec![(
                "accounts/imported.toml".into(),
                b"name = \"Imported\"\nstatus = \"unqualified_pool\"\n".to_vec(),
            )],
            message: "import: 2024-04-02".into(),
            author: who("Marc"),
            when: day("2024-04-02"),
        },
    ];
    let head = repo.head().unwrap();
    let tip = repo.commit_history(&commits, head).unwrap().unwrap();
    drop(_lock);
    let log = env.git(&["log", "--format=%an %ad %s", "--date=short", "-3"]);
    assert_eq!(
        log.stdout,
        "Marc 2024-04-02 import: 2024-04-02\nNora 2024-03-01 import: 2024-03-01\nTest Author 2026-11-01 the CRM\n"
    );
    assert_eq!(
        env.git(&["rev-parse", "HEAD"]).stdout.trim(),
        tip.to_string()
    );
    assert!(env
        .read("crm/accounts/imported.toml")
        .contains("unqualified_pool"));
    let status = env.git(&["status", "--porcelain"]);
    assert_eq!(status.stdout, "A  crm/notes.txt\n");
    assert_eq!(
        env.git(&["for-each-ref", "refs/sloop"]).stdout,
        "",
        "the private ref is removed"
    );
    assert_eq!(env.git(&["fsck", "--no-dangling"]).code, 0);
}

#[test]
fn a_history_that_a_git_filter_would_change_is_refused_and_nothing_is_left() {
    use sloop::git::{CommitError, HistoryCommit, Identity, Repo, WriteLock};
    let env = committed();
    let head_before = env.git(&["rev-parse", "HEAD"]).stdout;
    // A clean filter that changes what git records: the history written ahead (raw bytes)
    // would not be what the index holds.
    assert_eq!(
        env.git(&["config", "filter.upper.clean", "tr a-z A-Z"])
            .code,
        0
    );
    assert_eq!(env.git(&["config", "filter.upper.smudge", "cat"]).code, 0);
    let attributes = env.path().join(".git/info/attributes");
    std::fs::create_dir_all(attributes.parent().unwrap()).unwrap();
    std::fs::write(&attributes, "imported-*.toml filter=upper\n").unwrap();
    let repo = Repo::open(&env.path().join("crm")).unwrap().unwrap();
    let lock = WriteLock::acquire(&repo).unwrap();
    let commits = vec![HistoryCommit {
        files: vec![
            (
                "accounts/imported-a.toml".into(),
                b"name = \"Imported\"\nstatus = \"qualified_pool\"\n".to_vec(),
            ),
            (
                "accounts/plain.toml".into(),
                b"name = \"Plain\"\nstatus = \"qualified_pool\"\n".to_vec(),
            ),
        ],
        message: "import: 2024-03-01".into(),
        author: Identity {
            name: "Nora".into(),
            email: "nora@example.com".into(),
        },
        when: chrono::DateTime::parse_from_rfc3339("2024-03-01T12:00:00+01:00").unwrap(),
    }];
    let err = repo
        .commit_history(&commits, repo.head().unwrap())
        .unwrap_err();
    assert!(
        matches!(&err, CommitError::Git(_)) && err.to_string().contains("a git filter"),
        "{err}"
    );
    drop(lock);
    assert_eq!(env.git(&["rev-parse", "HEAD"]).stdout, head_before);
    for path in ["crm/accounts/imported-a.toml", "crm/accounts/plain.toml"] {
        assert!(!env.path().join(path).exists(), "{path} left");
    }
    assert_eq!(env.git(&["for-each-ref", "refs/sloop"]).stdout, "");
    std::fs::remove_file(&attributes).unwrap();
    assert_consistent(&env, "a refused history");
}

/// The history is fed to git on another thread while the files are written: a failure of
/// either side leaves nothing of both. Commits 300 records (so that git is still busy while
/// the files are written), then `files`, on top of HEAD; returns the error.
fn refused_history(env: &TestEnv, files: &[(&str, &str)]) -> String {
    use sloop::git::{HistoryCommit, Identity, Repo, WriteLock};
    let day =
        |d: &str| chrono::DateTime::parse_from_rfc3339(&format!("{d}T12:00:00+01:00")).unwrap();
    let who = Identity {
        name: "Nora".into(),
        email: "nora@example.com".into(),
    };
    let mut commits: Vec<HistoryCommit> = (0..300)
        .map(|i| HistoryCommit {
            files: vec![(
                format!("accounts/early-{i:03}.toml"),
                format!("name = \"Early {i}\"\nstatus = \"qualified_pool\"\n").into_bytes(),
            )],
            message: format!("import: early {i}"),
            author: who.clone(),
            when: day("2024-03-01"),
        })
        .collect();
    commits.push(HistoryCommit {
        files: files
            .iter()
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
            .collect(),
        message: "import: 2024-04-02".into(),
        author: who,
        when: day("2024-04-02"),
    });
    let repo = Repo::open(&env.path().join("crm")).unwrap().unwrap();
    let _lock = WriteLock::acquire(&repo).unwrap();
    repo.commit_history(&commits, repo.head().unwrap())
        .unwrap_err()
        .to_string()
}

fn assert_nothing_of_the_history_left(env: &TestEnv, head_before: &str, context: &str) {
    assert_eq!(
        env.git(&["rev-parse", "HEAD"]).stdout,
        head_before,
        "{context}"
    );
    assert_eq!(
        env.git(&["for-each-ref", "refs/sloop"]).stdout,
        "",
        "{context}"
    );
    assert!(
        !env.path().join("crm/accounts/early-000.toml").exists(),
        "{context}: a file of the history is left"
    );
    assert_consistent(env, context);
}

#[test]
fn a_history_whose_files_cannot_be_written_stops_git_and_leaves_nothing() {
    let env = committed();
    let head_before = env.git(&["rev-parse", "HEAD"]).stdout;
    // An untracked file where the history needs a folder.
    env.write("crm/accounts/blocked", "mine\n");
    let err = refused_history(
        &env,
        &[("accounts/blocked/inside.toml", "name = \"Inside\"\n")],
    );
    assert!(
        err.contains("cannot write") && err.contains("accounts/blocked/inside.toml"),
        "{err}"
    );
    assert_eq!(
        env.read("crm/accounts/blocked"),
        "mine\n",
        "the user's file"
    );
    std::fs::remove_file(env.path().join("crm/accounts/blocked")).unwrap();
    assert_nothing_of_the_history_left(&env, &head_before, "files not written");
}

#[test]
fn a_history_git_refuses_while_the_files_are_written_leaves_nothing() {
    let env = committed();
    let head_before = env.git(&["rev-parse", "HEAD"]).stdout;
    // The work tree takes `a//b` as `a/b`; git fast-import refuses the empty path component,
    // once the files are written.
    let err = refused_history(&env, &[("accounts//double.toml", "name = \"Double\"\n")]);
    assert!(
        err.contains("git fast-import failed") && err.contains("Empty path component"),
        "{err}"
    );
    assert!(!env.path().join("crm/accounts/double.toml").exists());
    assert_nothing_of_the_history_left(&env, &head_before, "git refused the history");
}

#[test]
fn a_writer_killed_while_moving_the_branch_leaves_no_lock_behind() {
    let env = committed();
    let args: Vec<String> = ["new", "account", "cas", "--name", "Cas"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = spawn(&env, &args, &[("SLOOP_CRASH_AT", "commit")])
        .wait_with_output()
        .unwrap();
    assert!(!out.status.success());
    // As if killed inside the branch update: libgit2's lock on the ref is left.
    let ref_lock = env.path().join(".git/refs/heads/main.lock");
    std::fs::write(&ref_lock, "").unwrap();
    let next = env.run(&[
        "-C", "crm", "new", "account", "next", "--name", "Next", "--commit",
    ]);
    assert_eq!(next.code, 0, "{}", next.stderr);
    assert!(!ref_lock.exists());
    assert!(in_head(&env, "crm/accounts/next.toml"));
    assert!(!in_head(&env, "crm/accounts/cas.toml"));
    assert_consistent(&env, "after a kill inside the branch update");
}
