//! A hermetic environment per test: its own temp dir, no user git config, fixed dates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

/// What a command printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl TestEnv {
    pub fn new() -> Self {
        TestEnv {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `sloop` with a clean environment, run in the test's dir.
    pub fn sloop(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sloop"));
        c.current_dir(self.path());
        hermetic(&mut c, self.path());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(&[], args)
    }

    /// `run` with these environment variables set as well.
    pub fn run_env(&self, vars: &[(&str, &str)], args: &[&str]) -> Run {
        let mut c = self.sloop();
        c.envs(vars.iter().copied());
        Run::from(c.args(args).output().expect("run sloop"))
    }

    /// `git` with the same environment.
    pub fn git(&self, args: &[&str]) -> Run {
        let mut c = Command::new("git");
        c.current_dir(self.path());
        hermetic(&mut c, self.path());
        Run::from(c.args(args).output().expect("run git"))
    }

    /// `git add -A` and a commit dated `date` (RFC 3339), hooks skipped.
    pub fn commit_all(&self, message: &str, date: &str) -> String {
        let add = self.git(&["add", "-A"]);
        assert_eq!(add.code, 0, "{}", add.stderr);
        let mut c = Command::new("git");
        c.current_dir(self.path());
        hermetic(&mut c, self.path());
        c.env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date);
        let out = c
            .args([
                "commit",
                "-q",
                "--no-verify",
                "--allow-empty",
                "-m",
                message,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let head = self.git(&["rev-parse", "HEAD"]);
        head.stdout.trim().to_string()
    }

    /// `git clone --depth N` of this repository into the folder `name` inside it.
    pub fn shallow_clone(&self, name: &str, depth: u32) {
        let origin = format!("file://{}", self.path().display());
        let clone = self.path().join(name);
        let ok = Command::new("git")
            .args([
                "clone",
                "-q",
                "--depth",
                &depth.to_string(),
                &origin,
                clone.to_str().unwrap(),
            ])
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .unwrap();
        assert!(ok.success());
    }

    pub fn write(&self, rel: &str, text: impl AsRef<[u8]>) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap()
    }

    /// Copies a folder of the project (e.g. `example-crm`) into the test dir.
    pub fn copy_from_repo(&self, from: &str, to: &str) {
        copy_dir(&repo_root().join(from), &self.path().join(to));
    }
}

pub fn hermetic(c: &mut Command, home: &Path) {
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .env("GIT_AUTHOR_DATE", "2026-11-01T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-11-01T12:00:00Z")
        .env("NO_COLOR", "1")
        // The clock of every test: the day the example CRM describes.
        .env("SLOOP_NOW", "2026-11-26T15:00:00+01:00")
        // A held lock fails fast; tests that run writers together wait longer.
        .env("SLOOP_LOCK_WAIT", "1");
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file under a folder with its bytes, to prove a command wrote nothing.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        if e.file_type().is_file() && !e.path().components().any(|c| c.as_os_str() == ".git") {
            out.push((e.path().to_path_buf(), std::fs::read(e.path()).unwrap()));
        }
    }
    out
}

/// A copy of the project's example CRM in `crm/` of a new test dir.
pub fn example() -> TestEnv {
    let env = TestEnv::new();
    env.copy_from_repo("example-crm", "crm");
    env
}

/// `sloop -C crm check` must be clean.
pub fn assert_clean(env: &TestEnv) {
    let run = env.run(&["-C", "crm", "check"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.ends_with("0 errors, 0 warnings\n"),
        "{}",
        run.stdout
    );
}

/// Compares a whole output with `tests/cli/expected/<name>`, showing the first line that
/// differs; `SLOOP_BLESS=1 cargo test --test cli` writes the file instead (review the diff).
pub fn expect_file(name: &str, actual: &str) {
    let path = repo_root().join("tests/cli/expected").join(name);
    if std::env::var_os("SLOOP_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            r#"no {} yet: run with SLOOP_BLESS=1 to write it
--- actual ---
{actual}"#,
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            r#"{} differs from the output at line {}
--- expected ---
{expected}
--- actual ---
{actual}"#,
            path.display(),
            line + 1
        );
    }
}
