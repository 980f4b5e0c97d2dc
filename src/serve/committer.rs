//! The committer: it takes the spooled events of one hook at a time, judges each like
//! `sloop new lead` against the CRM at HEAD (the write index, under sloop's write lock), and
//! commits the valid ones in one commit authored by the hook, through the one commit path;
//! an event that fails moves to `rejected/` with its reason. At most one commit a second.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use sha2::{Digest, Sha256};

use super::spool::{Batch, Event, Spool};
use super::{mail, mapping};
use crate::config::hooks::Creates;
use crate::config::Hook;
use crate::crm::Crm;
use crate::git::{CommitError, CommitRequest, Identity, ObjectId, Repo, WriteLock};
use crate::store::{self, parse::parse_record, Source, WorkTree};
use crate::writes::index::{self, Needs};
use crate::writes::ingest::{self, Matcher};

/// The most events in one commit.
pub const MAX_BATCH: usize = 1000;
/// The least time between two commits.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// What wakes the committer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// An event was spooled.
    Wake,
    /// Commit what is spooled, then return.
    Stop,
}

pub type Clock = Arc<dyn Fn() -> DateTime<FixedOffset> + Send + Sync>;
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

pub struct Committer {
    pub root: PathBuf,
    pub git_dir: PathBuf,
    pub hooks: Vec<Hook>,
    pub clock: Clock,
    /// The committer of the commits (the author is the hook); `None`: the hook too.
    pub committer: Option<Identity>,
    pub log: Log,
}

/// What one round did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub committed: usize,
    pub rejected: usize,
    pub commit: Option<ObjectId>,
}

/// The identity a hook's commits are authored by.
pub fn hook_identity(hook: &str) -> Identity {
    Identity {
        name: format!("{hook} (sloop serve)"),
        email: format!("{hook}@hooks.sloop.invalid"),
    }
}

impl Committer {
    /// Runs until told to stop: a round when woken and every second (which replays what a
    /// previous run left in the spool), no two commits within [`MIN_INTERVAL`].
    pub fn run(&self, signals: Receiver<Signal>) {
        let mut last_commit: Option<Instant> = None;
        loop {
            let stop = match signals.recv_timeout(MIN_INTERVAL) {
                Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => true,
                Ok(Signal::Wake) | Err(RecvTimeoutError::Timeout) => false,
            };
            loop {
                if let Some(t) = last_commit {
                    if let Some(rest) = MIN_INTERVAL.checked_sub(t.elapsed()) {
                        std::thread::sleep(rest);
                    }
                }
                match self.round() {
                    Ok(r) => {
                        if r.commit.is_some() {
                            last_commit = Some(Instant::now());
                        }
                        if r.committed == 0 && r.rejected == 0 {
                            break;
                        }
                    }
                    Err(e) => {
                        (self.log)(&format!("error: {e} (the events stay in the spool)"));
                        break;
                    }
                }
            }
            if stop {
                return;
            }
        }
    }

    /// One round: finish an interrupted batch, then judge and commit the oldest hook's
    /// pending events.
    pub fn round(&self) -> Result<Round, String> {
        let spool = Spool::new(&self.git_dir);
        let repo = Repo::open(&self.root)
            .map_err(|e| e.to_string())?
            .ok_or("the CRM is not in a git repository")?;
        let lock = WriteLock::acquire(&repo).map_err(|e| e.to_string())?;
        if let Some(done) = &lock.recovered {
            (self.log)(&format!("note: {done}"));
        }
        if let Some(batch) = spool.unfinished().map_err(io("read the spool's batch"))? {
            if committed(&repo, &batch.id)? {
                spool
                    .done(&batch.hook, &batch.events)
                    .map_err(io("mark events done"))?;
                (self.log)(&format!(
                    "recovered batch {}: its commit is on the branch",
                    batch.id
                ));
            }
            spool.end().map_err(io("clear the spool's batch"))?;
        }
        // The hook whose oldest pending event is the oldest.
        let mut oldest: Option<(&Hook, Vec<Event>)> = None;
        for hook in &self.hooks {
            let pending = spool.pending(&hook.name).map_err(io("read the spool"))?;
            let Some(first) = pending.first() else {
                continue;
            };
            if oldest
                .as_ref()
                .is_none_or(|(_, o)| first.received < o[0].received)
            {
                oldest = Some((hook, pending));
            }
        }
        let Some((hook, mut events)) = oldest else {
            return Ok(Round::default());
        };
        events.truncate(MAX_BATCH);
        let started = Instant::now();
        let head = repo.head().map_err(|e| e.to_string())?;
        let mut crm = load(&repo, &self.root, head, hook.creates)?;
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut lines = Vec::new();
        let mut ids = Vec::new();
        let mut round = Round::default();
        if hook.creates == Creates::Email {
            // As `sloop ingest email`: matched, automated mail skipped, each message once.
            let matcher = Matcher::new(&crm);
            let mut batch = ingest::Batch::new(&crm);
            let read = |path: &str| -> Option<String> {
                let bytes = match head {
                    Some(h) => repo.blob(repo.blob_at(h, path).ok()??).ok()?,
                    None => std::fs::read(self.root.join(path)).ok()?,
                };
                String::from_utf8(bytes).ok()
            };
            for event in &events {
                let outcome = mail::message(&event.payload)
                    .and_then(|bytes| {
                        ingest::email::read(&matcher, &bytes, &ingest::email::Options::default())
                            .map_err(|e| e.to_string())
                    })
                    .and_then(|o| match o {
                        ingest::email::Outcome::Unmatched(who) => {
                            Err(ingest::email::IngestError::Unmatched(who).to_string())
                        }
                        o => Ok(o),
                    });
                let captures = match outcome {
                    Ok(ingest::email::Outcome::Email(c)) => vec![*c],
                    Ok(ingest::email::Outcome::Events(cs)) => cs,
                    Ok(ingest::email::Outcome::Skipped(why)) => {
                        (self.log)(&format!(
                            "skipped event {} of hook {}: {why}; not a touchpoint",
                            event.id, hook.name
                        ));
                        ids.push(event.id.clone());
                        continue;
                    }
                    Ok(ingest::email::Outcome::Unmatched(_)) => continue,
                    Err(reason) => {
                        spool
                            .reject(event, &reason)
                            .map_err(io("reject an event"))?;
                        (self.log)(&format!(
                            "rejected event {} of hook {}: {reason}",
                            event.id, hook.name
                        ));
                        round.rejected += 1;
                        continue;
                    }
                };
                let mut refused = None;
                for c in &captures {
                    match batch.apply(c, &read) {
                        Ok(ingest::Applied::Recorded(p) | ingest::Applied::Updated(p)) => {
                            lines.push(format!("activity {p} (event {})", event.id))
                        }
                        Ok(_) => {}
                        Err(diags) => {
                            refused = Some(
                                diags
                                    .iter()
                                    .map(|d| format!("{}: {}", d.code.as_str(), d.message))
                                    .collect::<Vec<_>>()
                                    .join("; "),
                            );
                            break;
                        }
                    }
                }
                match refused {
                    None => ids.push(event.id.clone()),
                    Some(reason) => {
                        spool
                            .reject(event, &reason)
                            .map_err(io("reject an event"))?;
                        round.rejected += 1;
                    }
                }
            }
            files = batch
                .into_files()
                .to_vec()
                .map_err(io("read the planned files"))?
                .into_iter()
                .map(|(p, t)| (p, t.into_bytes()))
                .collect();
        }
        for event in events.iter().filter(|_| hook.creates != Creates::Email) {
            let today = DateTime::parse_from_rfc3339(&event.received)
                .map(|d| d.date_naive())
                .unwrap_or_else(|_| (self.clock)().date_naive());
            // A record's text: as this batch left it, else HEAD's (the work tree's before
            // the first commit).
            let read = |path: &str| -> Option<String> {
                if let Some((_, bytes)) = files.iter().find(|(p, _)| p == path) {
                    return String::from_utf8(bytes.clone()).ok();
                }
                let bytes = match head {
                    Some(h) => repo.blob(repo.blob_at(h, path).ok()??).ok()?,
                    None => std::fs::read(self.root.join(path)).ok()?,
                };
                String::from_utf8(bytes).ok()
            };
            match mapping::record(hook, &crm, &event.payload, today, &read) {
                Ok(write) => {
                    let (record, _) =
                        parse_record(write.kind, &write.id, &write.path, &write.text, &crm.config);
                    if write.edit {
                        crm.accounts.retain(|a| a.meta.id != write.id);
                    }
                    crm.push(record);
                    lines.push(format!(
                        "{} {} (event {})",
                        write.kind.as_str(),
                        write.id,
                        event.id
                    ));
                    files.retain(|(p, _)| *p != write.path);
                    files.push((write.path, write.text.into_bytes()));
                    ids.push(event.id.clone());
                }
                Err(reason) => {
                    spool
                        .reject(event, &reason)
                        .map_err(io("reject an event"))?;
                    (self.log)(&format!(
                        "rejected event {} of hook {}: {reason}",
                        event.id, hook.name
                    ));
                    round.rejected += 1;
                }
            }
        }
        // An update that changes nothing is done without a commit.
        files.retain(|(path, bytes)| {
            let unchanged = head
                .and_then(|h| repo.blob_at(h, path).ok().flatten())
                .is_some_and(|id| Some(id) == crate::git::blob_id(bytes));
            !unchanged
        });
        if files.is_empty() {
            if !ids.is_empty() {
                spool
                    .done(&hook.name, &ids)
                    .map_err(io("mark events done"))?;
                (self.log)(&format!(
                    "{} event(s) of hook {} change nothing",
                    ids.len(),
                    hook.name
                ));
                round.committed = ids.len();
            }
            return Ok(round);
        }
        let mut h = Sha256::new();
        for id in &ids {
            h.update(id.as_bytes());
            h.update([0]);
        }
        let batch_id: String = h.finalize()[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let noun = match (hook.creates, files.len()) {
            (Creates::Lead, 1) => "lead",
            (Creates::Lead, _) => "leads",
            (Creates::Activity | Creates::Email, 1) => "activity",
            (Creates::Activity | Creates::Email, _) => "activities",
            (Creates::AccountUpdate, 1) => "account update",
            (Creates::AccountUpdate, _) => "account updates",
        };
        let message = format!(
            "sloop serve: {} {noun} from hook {} (batch {batch_id})\n\n{}\n",
            files.len(),
            hook.name,
            lines.join("\n")
        );
        spool
            .begin(&Batch {
                id: batch_id.clone(),
                hook: hook.name.clone(),
                events: ids.clone(),
            })
            .map_err(io("record the batch"))?;
        let judged = started.elapsed();
        let author = hook_identity(&hook.name);
        let result = repo.commit_files(&CommitRequest {
            files: &files,
            message: &message,
            when: (self.clock)(),
            author: Some(author.clone()),
            committer: Some(self.committer.clone().unwrap_or(author)),
            base: head,
        });
        match result {
            Ok(id) => {
                spool
                    .done(&hook.name, &ids)
                    .map_err(io("mark events done"))?;
                spool.end().map_err(io("clear the spool's batch"))?;
                (self.log)(&format!(
                    "committed {}: {} {noun} from hook {} (loaded and judged in {} ms, committed in {} ms)",
                    id.short(),
                    files.len(),
                    hook.name,
                    judged.as_millis(),
                    (started.elapsed() - judged).as_millis()
                ));
                round.committed = ids.len();
                round.commit = Some(id);
                drop(lock);
                Ok(round)
            }
            Err(e) => {
                spool.end().map_err(io("clear the spool's batch"))?;
                Err(match e {
                    CommitError::Dirty(paths) => format!(
                        "cannot commit: {} has uncommitted changes",
                        paths.join(", ")
                    ),
                    CommitError::Git(g) => format!("cannot commit: {g}"),
                })
            }
        }
    }
}

fn io(what: &'static str) -> impl Fn(std::io::Error) -> String {
    move |e| format!("cannot {what}: {e}")
}

/// The CRM events are judged against: HEAD's records through the write index (the files
/// written since without a commit too), or the work tree before the first commit.
fn load(
    repo: &Repo,
    root: &std::path::Path,
    head: Option<ObjectId>,
    creates: Creates,
) -> Result<Crm, String> {
    // A new activity's id (`2026-11-25-meeting-acme`) must not be one already taken: the
    // activities whose id has that form are loaded (slim), and those a capture is keyed by.
    fn dated(a: &crate::model::Activity) -> bool {
        a.message_id.is_some()
            || a.call_id.is_some()
            || a.uid.is_some()
            || crate::model::ActivityKind::NAMES
                .iter()
                .any(|k| a.meta.id.contains(&format!("-{k}-")))
    }
    let needs = match creates {
        Creates::Activity | Creates::Email => Needs {
            whole: &[],
            activities: &dated,
        },
        _ => Needs::nothing(),
    };
    let work = WorkTree::new(root);
    match head {
        Some(head) => {
            let bytes = work
                .read_config()
                .map_err(|e| format!("cannot read sloop.toml: {e}"))?
                .ok_or("the CRM has no sloop.toml")?;
            let (config, _) = store::parse_config(&bytes);
            index::crm(repo, root, head, config, &needs).map_err(|e| e.to_string())
        }
        None => store::load(&work).map(|l| l.crm).map_err(|e| e.to_string()),
    }
}

/// Whether a commit of the batch is on the branch (among the last 100 first-parent commits).
fn committed(repo: &Repo, batch: &str) -> Result<bool, String> {
    let needle = format!("(batch {batch})");
    let mut at = repo.head().map_err(|e| e.to_string())?;
    for _ in 0..100 {
        let Some(id) = at else {
            return Ok(false);
        };
        let info = repo.commit_info(id).map_err(|e| e.to_string())?;
        if info.summary.ends_with(&needle) {
            return Ok(true);
        }
        at = info.parent;
    }
    Ok(false)
}
