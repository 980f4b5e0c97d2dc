//! The `sloop` binary: parse arguments, build the environment once, run, map to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use sloop::cli::{self, Cli, ColorChoice, Env, Out, Status};
use sloop::escape;
use sloop::model::dates;

/// mimalloc: a warm report decodes some 300,000 records and their strings from the snapshot,
/// which took glibc's malloc two and a half times as long.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`, the 16th of mimalloc.h's `mi_option_e` (in mimalloc 2 and 3;
/// the crate builds mimalloc 3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // Freed memory goes back to the system at once rather than after a second: a cold report
    // frees the history's events while it loads the records, and with the delay its peak
    // was 1.1 GiB instead of 0.93.
    // SAFETY: a plain write of one of mimalloc's options, before any thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    // Before any thread exists, as libgit2's global options require.
    sloop::git::limit_mapped_memory();
    // `COMPLETE=bash sloop -- …` (what `sloop completions` registers with the shell):
    // complete from the CRM of the current folder, print the candidates and exit.
    if let Ok(folder) = std::env::current_dir() {
        cli::complete::set_folder(folder);
    }
    clap_complete::CompleteEnv::with_factory(<Cli as clap::CommandFactory>::command)
        .var(cli::completions::COMPLETE_VAR)
        .complete();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    let tty = std::io::stdout().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => tty && !no_color,
    };
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot read the current folder: {e}");
            return ExitCode::from(2);
        }
    };
    let now = match std::env::var("SLOOP_NOW") {
        Ok(v) => {
            let shown = escape::terminal(&v);
            match parse_now(&v).map(checked_now) {
                Some(Ok(t)) => t,
                Some(Err(e)) => {
                    eprintln!("error: SLOOP_NOW=`{shown}`: {e}\nhint: {}", e.hint());
                    return ExitCode::from(2);
                }
                None => {
                    eprintln!("error: SLOOP_NOW=`{shown}` is not a date (YYYY-MM-DD) or an RFC 3339 date-time");
                    return ExitCode::from(2);
                }
            }
        }
        Err(_) => chrono::Local::now().fixed_offset(),
    };
    // One repository for every git access: where GIT_DIR / GIT_WORK_TREE point, as git
    // itself resolves them, else the repository around the CRM.
    if std::env::var_os("GIT_DIR").is_some() || std::env::var_os("GIT_WORK_TREE").is_some() {
        match sloop::git::Environment::resolve(&cwd) {
            Ok(git_env) => sloop::git::set_environment(git_env),
            Err(e) => {
                eprintln!("error: {e}");
                if let Some(hint) = &e.hint {
                    eprintln!("hint: {hint}");
                }
                return ExitCode::from(2);
            }
        }
    }
    if let Ok(secs) = std::env::var("SLOOP_LOCK_WAIT") {
        match secs.parse::<f64>() {
            Ok(s) if s >= 0.0 && s.is_finite() => {
                sloop::git::set_lock_wait(std::time::Duration::from_secs_f64(s.min(86_400.0)))
            }
            _ => {
                eprintln!("error: SLOOP_LOCK_WAIT=`{secs}` is not a number of seconds");
                return ExitCode::from(2);
            }
        }
    }
    // For the tests of long capture runs only: spill planned files to disk past this size.
    if let Some(bytes) = std::env::var("SLOOP_SPILL_AT")
        .ok()
        .and_then(|b| b.parse::<usize>().ok())
    {
        sloop::store::files::set_spill_at(bytes);
    }
    // For the fault-injection tests only: die (abort) at a named point of the commit path.
    if let Ok(point) = std::env::var("SLOOP_CRASH_AT") {
        sloop::git::crash_at(point);
    }
    let identity = |name: &str, email: &str| -> Option<sloop::git::Identity> {
        Some(sloop::git::Identity {
            name: std::env::var(name).ok()?,
            email: std::env::var(email).ok()?,
        })
    };
    // A terminal of no size (a pty nobody sized) is a terminal of unknown width.
    let width = if tty {
        terminal_size::terminal_size_of(std::io::stdout())
            .map(|(w, _)| usize::from(w.0))
            .filter(|&w| w > 0)
    } else {
        None
    };
    let env = Env {
        cwd,
        color,
        tty,
        width,
        now,
        author: identity("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL"),
        committer: identity("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"),
        clock: if std::env::var_os("SLOOP_NOW").is_some() {
            std::sync::Arc::new(move || now)
        } else {
            std::sync::Arc::new(|| chrono::Local::now().fixed_offset())
        },
        var: std::sync::Arc::new(|name| std::env::var(name).ok()),
    };
    let mut out = Out {
        stdout: Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
        stderr: Box::new(std::io::stderr()),
        color,
        tty,
    };
    let result = cli::run(cli, &env, &mut out);
    let flushed = out.stdout.flush_and_check();
    match (result, flushed) {
        (Ok(Status::Ok), Ok(())) => ExitCode::SUCCESS,
        (Ok(Status::Problems), Ok(())) => ExitCode::from(1),
        (Err(cli::CliError::Io { source, .. }), _) | (_, Err(source))
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            ExitCode::SUCCESS
        }
        (Ok(_), Err(e)) => {
            eprintln!("error: cannot write the output: {e}");
            ExitCode::from(2)
        }
        (Err(e), _) => {
            let red = |s: &str| {
                if std::io::stderr().is_terminal() && !no_color {
                    format!("\x1b[1;31m{s}\x1b[0m")
                } else {
                    s.to_string()
                }
            };
            // Messages quote records and arguments: their control characters are escaped.
            let message = e.to_string();
            eprintln!("{}: {}", red("error"), escape::terminal_lines(&message));
            if let Some(hint) = e.hint() {
                eprintln!("hint: {}", escape::terminal_lines(&hint));
            }
            ExitCode::from(2)
        }
    }
}

trait FlushCheck {
    fn flush_and_check(&mut self) -> std::io::Result<()>;
}

impl FlushCheck for Box<dyn std::io::Write> {
    fn flush_and_check(&mut self) -> std::io::Result<()> {
        self.flush()
    }
}

/// `SLOOP_NOW`: a date (midnight UTC) or an RFC 3339 date-time.
fn parse_now(v: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Some(t);
    }
    let d: chrono::NaiveDate = v.parse().ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset())
}

/// A clock reading sloop computes with: its date within `dates::FIRST..=LAST`.
fn checked_now(
    t: chrono::DateTime<chrono::FixedOffset>,
) -> Result<chrono::DateTime<chrono::FixedOffset>, dates::DateError> {
    dates::in_range(t.date_naive()).map(|_| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option's number is mimalloc's purge delay: its default in mimalloc 3 is 1,000 ms
    /// (`options.c`), which no option next to it has.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads an option.
        assert_eq!(
            unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) },
            1000
        );
    }
}
