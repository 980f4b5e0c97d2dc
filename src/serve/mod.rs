//! `sloop serve`: the CRM's one long-running process. Webhooks in (`POST /hooks/<name>`),
//! each accepted event spooled durably before its `202`, then judged and committed by the
//! committer through the one commit path.
//!
//! `mapping` (a payload into a record) and `auth` (token and signature checks) are pure;
//! `spool` (the events on disk), `committer` (spool to commits) and `http` (the routes) do
//! the I/O; this file arms the hooks and runs them on tokio.

pub mod auth;
pub mod base64;
pub mod committer;
pub mod http;
pub mod limits;
pub mod mail;
pub mod mapping;
pub mod pages;
pub mod push;
pub mod readers;
pub mod spool;
pub mod tick;
pub mod workbench;

use std::collections::BTreeMap;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::{mpsc, Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use crate::config::hooks::{SecretOrigin, ServeSettings};
use crate::config::Hook;
use crate::git::Identity;
use committer::{Clock, Committer, Log, Signal};
use http::{App, Armed};
use spool::Spool;

/// Why the server cannot start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{message}")]
    Setup {
        message: String,
        hint: Option<String>,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
}

fn setup(message: impl Into<String>, hint: impl Into<String>) -> ServeError {
    ServeError::Setup {
        message: message.into(),
        hint: Some(hint.into()),
    }
}

/// Each hook with its secret: from the environment variable it names (through `var`), or
/// from the file it names, which must lie outside the repository's work tree. A secret is
/// used without surrounding whitespace (a file's last newline); an empty one is refused.
pub fn arm(
    hooks: &[Hook],
    var: &dyn Fn(&str) -> Option<String>,
    work_tree: &Path,
) -> Result<Vec<Armed>, ServeError> {
    let work_tree = work_tree
        .canonicalize()
        .unwrap_or_else(|_| work_tree.to_path_buf());
    let mut out = Vec::new();
    for hook in hooks {
        let secret = match &hook.secret {
            SecretOrigin::Env(name) => var(name).ok_or_else(|| {
                setup(
                    format!(
                        "hook `{}`: the environment variable {name} is not set",
                        hook.name
                    ),
                    format!("set {name} to the hook's secret before `sloop serve`"),
                )
            })?,
            SecretOrigin::File(path) => {
                let p = PathBuf::from(path);
                let real = p.canonicalize().map_err(|e| {
                    setup(
                        format!(
                            "hook `{}`: cannot read the secret file {path}: {e}",
                            hook.name
                        ),
                        "create it, readable by the server's user only (chmod 600)",
                    )
                })?;
                if real.starts_with(&work_tree) {
                    return Err(setup(
                        format!(
                            "hook `{}`: the secret file {path} is inside the repository",
                            hook.name
                        ),
                        "keep secrets out of git: move it, e.g. to /etc/sloop/",
                    ));
                }
                std::fs::read_to_string(&real).map_err(|e| {
                    setup(
                        format!(
                            "hook `{}`: cannot read the secret file {path}: {e}",
                            hook.name
                        ),
                        "it must be text, readable by the server's user",
                    )
                })?
            }
        };
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(setup(
                format!("hook `{}`: its secret is empty", hook.name),
                "generate one, e.g. `openssl rand -hex 32`",
            ));
        }
        out.push(Armed {
            hook: hook.clone(),
            secret: secret.as_bytes().to_vec(),
        });
    }
    Ok(out)
}

pub struct Options {
    pub root: PathBuf,
    pub git_dir: PathBuf,
    pub bind: SocketAddr,
    pub hooks: Vec<Armed>,
    pub clock: Clock,
    pub author: Option<Identity>,
    pub committer: Option<Identity>,
    pub log: Log,
    /// The rate limit and timeouts per client (`[serve]`).
    pub limits: ServeSettings,
    /// The pages (`/`, `/pipeline`, the records, the agendas).
    pub pages: pages::Pages,
    /// `--push`: the remote to push the branch to after each commit.
    pub push: Option<String>,
    /// `--tick-at`: the time of day of the daily tick.
    pub tick_at: Option<chrono::NaiveTime>,
}

/// Binds, tells `listening` the address, then serves until SIGTERM or SIGINT; the committer
/// commits what is spooled before this returns.
pub fn run(opts: Options, listening: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let std_listener =
        std::net::TcpListener::bind(opts.bind).map_err(|source| ServeError::Bind {
            addr: opts.bind,
            source,
        })?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let (tx, rx) = mpsc::channel();
    let hooks: Vec<Hook> = opts.hooks.iter().map(|a| a.hook.clone()).collect();
    let pusher = match &opts.push {
        Some(remote) => {
            let (ptx, prx) = mpsc::channel();
            let pusher = push::Pusher {
                root: opts.root.clone(),
                git_dir: opts.git_dir.clone(),
                remote: remote.clone(),
                hooks: hooks.clone(),
                clock: opts.clock.clone(),
                committer: opts.committer.clone(),
                log: opts.log.clone(),
            };
            let thread = std::thread::Builder::new()
                .name("sloop-pusher".into())
                .spawn(move || pusher.run(prx))?;
            Some((ptx, thread))
        }
        None => None,
    };
    let bench = opts.pages.workbench();
    let ticker = opts.tick_at.map(|at| tick::Ticker {
        root: opts.root.clone(),
        bench: bench.clone(),
        git_dir: opts.git_dir.clone(),
        at,
        author: opts.author.clone(),
        committer: opts.committer.clone(),
        log: opts.log.clone(),
        failed_on: std::cell::Cell::new(None),
        ticked_on: std::cell::Cell::new(None),
    });
    let committer = Committer {
        root: opts.root.clone(),
        git_dir: opts.git_dir.clone(),
        hooks,
        clock: opts.clock.clone(),
        committer: opts.committer.clone(),
        log: opts.log.clone(),
        pusher: pusher.as_ref().map(|(p, _)| p.clone()),
        ticker,
        bench,
        paced: Default::default(),
        read: Default::default(),
    };
    // The first round replays what a previous run left in the spool.
    tx.send(Signal::Wake).ok();
    let worker = std::thread::Builder::new()
        .name("sloop-committer".into())
        .spawn(move || committer.run(rx))?;
    let app = Arc::new(App {
        hooks: opts
            .hooks
            .into_iter()
            .map(|a| (a.hook.name.clone(), a))
            .collect::<BTreeMap<_, _>>(),
        spool: Arc::new(Spool::new(&opts.git_dir)),
        wake: Mutex::new(tx.clone()),
        clock: opts.clock,
        body_timeout: Duration::from_secs(opts.limits.body_timeout),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The handlers are in place before the address is printed: a supervisor (or a test)
    // that stops the server as soon as it listens gets a clean stop, not a killed process.
    let signals = {
        let _context = runtime.enter();
        use tokio::signal::unix::{signal, SignalKind};
        [SignalKind::terminate(), SignalKind::interrupt()]
            .into_iter()
            .map(signal)
            .collect::<Result<Vec<_>, _>>()?
    };
    listening(addr);
    let limits = opts.limits;
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        let routes = http::router(app).merge(pages::router(Arc::new(opts.pages)));
        serve(listener, routes, &limits, shutdown(signals)).await
    });
    tx.send(Signal::Stop).ok();
    drop(tx);
    let _ = worker.join();
    // The committer is done (its last commit woke the pusher): one last push, then stop.
    if let Some((ptx, thread)) = pusher {
        ptx.send(push::Signal::Stop).ok();
        let _ = thread.join();
    }
    served?;
    Ok(())
}

/// Serves HTTP/1 connections until `stop` resolves, then lets the requests in flight finish
/// (for at most 10 s). A client has `header_timeout` to send a request's head (a stalled one
/// is cut off, its connection closed) and `rate_limit` requests a second (`429` past it).
async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    limits: &ServeSettings,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let rate = Arc::new(limits::RateLimit::new(limits.rate_limit, limits.rate_burst));
    let header_timeout = Duration::from_secs(limits.header_timeout);
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut stop = pin!(stop);
    loop {
        // The next connection, unless told to stop first.
        let next = poll_fn(|cx| {
            if stop.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            listener.poll_accept(cx).map(Some)
        })
        .await;
        let Some(accepted) = next else {
            break;
        };
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(a) => a,
            // Out of file descriptors, a connection reset before it was accepted…: the
            // server goes on.
            Err(_) => continue,
        };
        let router = router.clone();
        let rate = rate.clone();
        let mut stopped = stopped.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
                let client = limits::client(
                    peer,
                    req.headers()
                        .get("x-forwarded-for")
                        .and_then(|v| v.to_str().ok()),
                );
                let mut router = router.clone();
                let allowed = rate.take(client, std::time::Instant::now());
                async move {
                    match allowed {
                        Ok(()) => tower_service::Service::call(&mut router, req).await,
                        Err(wait) => Ok(http::too_many(wait)),
                    }
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Some(header_timeout));
            let mut conn =
                pin!(builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
            let mut told = false;
            let mut changed = pin!(stopped.changed());
            let _ = poll_fn(|cx| {
                if !told && changed.as_mut().poll(cx).is_ready() {
                    told = true;
                    conn.as_mut().graceful_shutdown();
                }
                conn.as_mut().poll(cx)
            })
            .await;
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

/// Resolves on SIGTERM (systemd's stop) or SIGINT (Ctrl-C).
async fn shutdown(signals: Vec<tokio::signal::unix::Signal>) {
    let notify = Arc::new(tokio::sync::Notify::new());
    for mut s in signals {
        let n = notify.clone();
        tokio::spawn(async move {
            s.recv().await;
            n.notify_one();
        });
    }
    notify.notified().await;
}
