use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use super::{locate, CliError, Env, Out, Status};
use crate::git::Repo;
use crate::serve::{self, ServeError};
use crate::store::{self, Source, WorkTree};

/// Run the CRM's server: webhooks in, every accepted event a commit; the dashboard and the
/// records out.
///
/// `POST /hooks/<name>` takes a delivery for `[hooks.<name>]` of sloop.toml: it is written to
/// the spool before its `202`, then validated like `sloop new lead` and committed (one commit
/// a second at most, authored by the hook). `GET /` is the dashboard, `/pipeline` the open
/// deals by stage, `/accounts/<id>` (and each kind) a record and its history,
/// `/agenda/<member>` an agenda: for the readers of `[serve]` (required off loopback).
/// `GET /healthz` answers `ok`. Stops on SIGTERM or Ctrl-C, after committing what it
/// accepted (and pushing it, with --push).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The address and port to listen on: loopback unless told otherwise (port 0 picks a
    /// free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:7700")]
    pub bind: SocketAddr,
    /// Push the branch to this remote (a name from `git remote`, or a URL) after each
    /// commit; a failed push is retried with back-off, a refused one (the remote moved)
    /// rebases the server's commits onto it first.
    #[arg(long, value_name = "REMOTE")]
    pub push: Option<String>,
    /// Run `sloop tick` every day at this local time (HH:MM) and commit it; at start too
    /// when today's tick is due and has not run.
    #[arg(long, value_name = "HH:MM", value_parser = crate::serve::tick::parse_at)]
    pub tick_at: Option<chrono::NaiveTime>,
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let located = locate(env, dir)?;
    let repo = Repo::open(&located.root)?.ok_or_else(|| {
        CliError::usage_hint(
            "`sloop serve` needs the CRM in a git repository",
            "run `git init`, then commit the CRM",
        )
    })?;
    let bytes = WorkTree::new(&located.root)
        .read_config()
        .map_err(store::LoadError::from)?
        .ok_or_else(|| store::LoadError::NoConfig(located.root.display().to_string()))?;
    let (config, diags) = store::parse_config(&bytes);
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        return Err(CliError::usage_hint(
            format!(
                "sloop.toml has {}: the server does not start on a broken method",
                crate::diag::count(errors, "problem")
            ),
            "`sloop check` shows them",
        ));
    }
    let hooks = serve::arm(&config.hooks, &*env.var, repo.workdir()).map_err(setup)?;
    let readers = match &config.serve.readers {
        Some(origin) => Some(
            serve::readers::arm(origin, &*env.var, repo.workdir())
                .map_err(|(message, hint)| CliError::usage_hint(message, hint))?,
        ),
        None if !args.bind.ip().is_loopback() => {
            return Err(CliError::usage_hint(
                format!(
                    "{} is reachable from other machines, and no reader of the pages is configured",
                    args.bind
                ),
                "add `[serve] readers_env = \"SLOOP_READERS\"` (or `readers_file = \"/etc/sloop/readers\"`) to sloop.toml, holding `user:password` or a team token a line; or bind to 127.0.0.1 behind a proxy",
            ));
        }
        None => None,
    };
    let pages = serve::pages::Pages::new(
        located.root.clone(),
        super::report::user_templates(&located.root)?,
        env.clock.clone(),
        readers,
    );
    let names: Vec<String> = hooks.iter().map(|h| h.hook.name.clone()).collect();
    if let Some(remote) = &args.push {
        if !repo.knows_remote(remote) {
            return Err(CliError::usage_hint(
                format!("--push {remote}: no such remote"),
                "name one of `git remote -v`, or give its URL",
            ));
        }
    }
    let git_dir = repo.git_dir().to_path_buf();
    drop(repo);
    let log: serve::committer::Log = Arc::new(|line: &str| {
        eprintln!("{}", crate::escape::terminal_lines(line));
    });
    let result = serve::run(
        serve::Options {
            root: located.root.clone(),
            git_dir,
            bind: args.bind,
            hooks,
            clock: env.clock.clone(),
            author: env.author.clone(),
            committer: env.committer.clone(),
            log,
            limits: config.serve.clone(),
            pages,
            push: args.push.clone(),
            tick_at: args.tick_at,
        },
        |addr| {
            let hooks = if names.is_empty() {
                "no hooks in sloop.toml".to_string()
            } else {
                format!("hooks: {}", names.join(", "))
            };
            // Printed and flushed at once: a supervisor or a test reads the port from it.
            println!("sloop serve: listening on http://{addr} ({hooks})");
            if !addr.ip().is_loopback() {
                eprintln!(
                    "note: {addr} is reachable from other machines: put a TLS proxy in front (README: sloop serve)"
                );
            }
        },
    );
    result.map_err(setup)?;
    out.note("sloop serve: stopped")?;
    Ok(Status::Ok)
}

fn setup(e: ServeError) -> CliError {
    match e {
        ServeError::Setup { message, hint } => CliError::Usage { message, hint },
        other => CliError::io("sloop serve", std::io::Error::other(other.to_string())),
    }
}
