//! The command line: one `Command` enum, one file per command, a plain `match` dispatch.

mod agenda;
mod check;
pub mod complete;
pub mod completions;
mod demo;
mod doctor;
mod export;
mod forecast;
mod history;
mod hooks;
mod import;
mod import_crm;
mod ingest;
mod init;
mod lead;
mod log;
mod ls;
mod new;
mod output;
mod pipeline;
mod report;
mod schema;
mod serve;
mod set;
mod table;
mod tick;
mod write;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

pub use output::Out;

/// A git-backed, plain-text CRM.
///
/// Records are TOML files in a git repository; sloop validates them, applies the sales
/// loop's moves as commits and reports from the history.
#[derive(Debug, Parser)]
#[command(
    name = "sloop",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Run as if started in DIR (the CRM is found from there, walking up to `sloop.toml`).
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// When to colour the output: `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(init::Args),
    Check(check::Args),
    Hooks(hooks::Args),
    Ls(ls::Args),
    New(new::Args),
    Log(log::LogArgs),
    Task(log::TaskArgs),
    Done(log::DoneArgs),
    Move(set::MoveArgs),
    Set(set::SetArgs),
    Agenda(agenda::Args),
    Lead(lead::Args),
    Import(import::Args),
    Ingest(ingest::Args),
    Demo(demo::Args),
    Schema(schema::Args),
    Completions(completions::CompletionsArgs),
    Man(completions::ManArgs),
    Report(report::Args),
    Pipeline(pipeline::Args),
    Forecast(forecast::Args),
    History(history::Args),
    Export(export::Args),
    Tick(tick::Args),
    Doctor(doctor::Args),
    Serve(serve::Args),
}

/// Output formats of commands that print data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Output formats of table commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum TableFormat {
    #[default]
    Text,
    Json,
    Csv,
}

/// What a command ended with (mapped to exit codes by `main`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Exit 0.
    Ok,
    /// Exit 1: the CRM has errors, or the command found problems.
    Problems,
}

/// Why a command could not run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    #[error("not a CRM: no sloop.toml in {0} or any folder above it")]
    NotACrm(String),
    #[error(transparent)]
    Load(#[from] crate::store::LoadError),
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
    #[error(transparent)]
    Verify(#[from] crate::check::modes::VerifyError),
    #[error(transparent)]
    Tick(crate::lifecycle::tick::TickError),
    #[error(transparent)]
    Reporting(#[from] crate::report::ReportingError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error(transparent)]
    Date(#[from] crate::model::dates::DateError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

/// `value` as a JSON value; a value JSON cannot hold (a map with non-string keys) is an error,
/// not a panic.
pub fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<serde_json::Value, CliError> {
    serde_json::to_value(value).map_err(json_error)
}

/// `value` as pretty JSON text ending in a newline, with `to_json`'s error; record text's
/// terminal controls are written as JSON escapes (`escape::json`): valid JSON, on a terminal
/// as in a file.
pub fn to_json_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, CliError> {
    let text = serde_json::to_string_pretty(value).map_err(json_error)?;
    let escaped = match crate::escape::json(&text) {
        std::borrow::Cow::Owned(escaped) => Some(escaped),
        std::borrow::Cow::Borrowed(_) => None,
    };
    let mut text = escaped.unwrap_or(text);
    text.push('\n');
    Ok(text)
}

fn json_error(e: serde_json::Error) -> CliError {
    CliError::io("cannot write the output as JSON", std::io::Error::other(e))
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage {
            message: message.into(),
            hint: None,
        }
    }

    pub fn usage_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        CliError::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// What to do next, printed after the error.
    pub fn hint(&self) -> Option<String> {
        match self {
            CliError::Usage { hint, .. } => hint.clone(),
            CliError::NotACrm(_) => {
                Some("run `sloop init` to start one, or pass `-C <crm folder>`".into())
            }
            CliError::Load(crate::store::LoadError::NoConfig(_)) => {
                Some("run `sloop init` to start one".into())
            }
            CliError::Load(l) => l.hint(),
            CliError::Date(d) => Some(d.hint()),
            CliError::Git(g) => g.hint.clone(),
            CliError::Verify(v) => v.hint(),
            CliError::Tick(t) => t.hint(),
            CliError::Reporting(r) => r.hint(),
            _ => None,
        }
    }

    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        CliError::Io {
            what: what.into(),
            source,
        }
    }
}

/// What the shell knows about where it runs; built once in `main` (the only place that reads
/// the environment).
pub struct Env {
    pub cwd: PathBuf,
    /// Colour on stdout.
    pub color: bool,
    /// stdout is a terminal.
    pub tty: bool,
    /// The terminal's width in columns, when stdout is a terminal of known, non-zero size:
    /// tables fit it. `None` prints every value whole.
    pub width: Option<usize>,
    /// The current time (`SLOOP_NOW` overrides the clock, for tests and reproducible runs).
    pub now: chrono::DateTime<chrono::FixedOffset>,
    /// Commit identities from `GIT_AUTHOR_NAME`/`GIT_AUTHOR_EMAIL` and the committer's, when set.
    pub author: Option<crate::git::Identity>,
    pub committer: Option<crate::git::Identity>,
    /// The clock, for a long-running command (`sloop serve`): `now` again and again when
    /// `SLOOP_NOW` fixes the time.
    pub clock: Clock,
    /// Looks up an environment variable a command is told to read (a hook's secret).
    pub var: Vars,
}

/// Environment variables by name.
pub type Vars = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The time now, each time it is called.
pub type Clock = Arc<dyn Fn() -> chrono::DateTime<chrono::FixedOffset> + Send + Sync>;

impl Env {
    /// The directory the command works in: `-C DIR` resolved against the cwd.
    pub fn base(&self, dir: Option<&Path>) -> PathBuf {
        match dir {
            Some(d) => self.cwd.join(d),
            None => self.cwd.clone(),
        }
    }
}

/// A located CRM: its root on disk and how to print paths under it.
pub struct Located {
    pub root: PathBuf,
    /// The root as the user should see it (relative to the cwd when possible), `""` for `.`.
    pub display: String,
}

impl Located {
    /// A CRM-relative path as the user should see it.
    pub fn show(&self, rel: &str) -> String {
        if self.display.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.display)
        }
    }
}

/// Finds the CRM from `-C` or the current directory.
pub fn locate(env: &Env, dir: Option<&Path>) -> Result<Located, CliError> {
    let base = env.base(dir);
    if !base.is_dir() {
        return Err(CliError::usage(format!(
            "{} is not a folder",
            base.display()
        )));
    }
    let root =
        crate::store::find_root(&base).ok_or_else(|| CliError::NotACrm(show_dir(env, &base)))?;
    let display = relative_display(&env.cwd, &root);
    Ok(Located { root, display })
}

fn show_dir(env: &Env, dir: &Path) -> String {
    match relative_display(&env.cwd, dir) {
        s if s.is_empty() => ".".to_string(),
        s => s,
    }
}

/// `path` relative to `cwd` when it is below it (`""` when equal), else `path` as is.
fn relative_display(cwd: &Path, path: &Path) -> String {
    let norm = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let (cwd, path) = (norm(cwd), norm(path));
    match path.strip_prefix(&cwd) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => {
            // Above the cwd: `..` segments keep paths clickable from where the user is.
            let mut up = PathBuf::new();
            for ancestor in cwd.ancestors().skip(1) {
                up.push("..");
                if let Ok(rel) = path.strip_prefix(ancestor) {
                    return up
                        .join(rel)
                        .to_string_lossy()
                        .trim_end_matches('/')
                        .to_string();
                }
            }
            path.to_string_lossy().into_owned()
        }
    }
}

/// Parses a `<kind>/<id>` argument (`accounts/acme`, `opportunity/acme-pro.toml`).
pub fn record_ref(arg: &str, example: &str) -> Result<(crate::model::Kind, String), CliError> {
    match arg.split_once('/') {
        Some((k, id)) => match crate::model::Kind::parse(k) {
            Some(kind) => Ok((kind, id.trim_end_matches(".toml").to_string())),
            None => Err(CliError::usage_hint(
                format!("unknown record kind `{k}`"),
                "write `<kind>/<id>`, e.g. `accounts/acme`",
            )),
        },
        None => Err(CliError::usage_hint(
            format!("`{arg}` is not `<kind>/<id>`"),
            format!("e.g. `{example}`"),
        )),
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli, env: &Env, out: &mut Out) -> Result<Status, CliError> {
    let dir = cli.dir.as_deref();
    // Every command but `serve` reads git one phase at a time: reading a commit's records in
    // pack order may then narrow libgit2's mapped memory (`git::allow_phased_mapping`).
    match cli.command {
        Command::Serve(_) => crate::git::narrow_mapped_memory_for_good(),
        _ => crate::git::allow_phased_mapping(),
    }
    match cli.command {
        Command::Init(args) => init::run(args, env, dir, out),
        Command::Check(args) => check::run(args, env, dir, out),
        Command::Hooks(args) => hooks::run(args, env, dir, out),
        Command::Ls(args) => ls::run(args, env, dir, out),
        Command::New(args) => new::run(args, env, dir, out),
        Command::Log(args) => log::log(args, env, dir, out),
        Command::Task(args) => log::task(args, env, dir, out),
        Command::Done(args) => log::done(args, env, dir, out),
        Command::Move(args) => set::move_(args, env, dir, out),
        Command::Set(args) => set::set(args, env, dir, out),
        Command::Agenda(args) => agenda::run(args, env, dir, out),
        Command::Lead(args) => lead::run(args, env, dir, out),
        Command::Import(args) => import::run(args, env, dir, out),
        Command::Ingest(args) => ingest::run(args, env, dir, out),
        Command::Demo(args) => demo::run(args, env, dir, out),
        Command::Schema(args) => schema::run(args, env, dir, out),
        Command::Completions(args) => completions::completions(args, out),
        Command::Man(args) => completions::man(args, env, out),
        Command::Report(args) => report::run(args, env, dir, out),
        Command::Pipeline(args) => pipeline::run(args, env, dir, out),
        Command::Forecast(args) => forecast::run(args, env, dir, out),
        Command::History(args) => history::run(args, env, dir, out),
        Command::Export(args) => export::run(args, env, dir, out),
        Command::Tick(args) => tick::run(args, env, dir, out),
        Command::Doctor(args) => doctor::run(args, env, dir, out),
        Command::Serve(args) => serve::run(args, env, dir, out),
    }
}

impl From<std::io::Error> for CliError {
    fn from(source: std::io::Error) -> Self {
        CliError::Io {
            what: "cannot write the output".into(),
            source,
        }
    }
}
