//! The committer: it takes the spooled events of one hook at a time, judges each like
//! `sloop new lead` against the CRM at HEAD (the write index, under sloop's write lock), and
//! commits the valid ones in one commit authored by the hook, through the one commit path;
//! an event that fails moves to `rejected/` with its reason. At most one commit a second.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use sha2::{Digest, Sha256};

use super::spool::{Batch, Event, Spool};
use super::tick::Ticker;
use super::workbench::Workbench;
use super::{mail, mapping};
use crate::config::hooks::Creates;
use crate::config::Hook;
use crate::crm::Crm;
use crate::git::{CommitError, CommitRequest, Identity, ObjectId, Repo, WriteLock};
use crate::model::AnyRecord;
use crate::store::{self, parse::parse_record, Source, WorkTree};
use crate::writes::index::{self, Needs};
use crate::writes::ingest::{self, Matcher};

/// The most events in one commit.
pub const MAX_BATCH: usize = 5000;
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
    /// Woken after each commit (`--push`).
    pub pusher: Option<Sender<Signal>>,
    /// The daily tick (`--tick-at`).
    pub ticker: Option<Ticker>,
    /// Kept in it between rounds: the CRM the last round judged against, with the files it
    /// committed put in, and the commit it is the CRM of. The next round starts from it
    /// rather than read the write index again, unless someone else moved the branch
    /// meanwhile or the pages let go of it to build a view. Each round holds its lock.
    pub bench: Arc<Workbench>,
    /// When the last commit was begun (its date), and how long its round took to get there
    /// (read the spool, judge): the next round starts that much before a second has passed,
    /// so that commits can begin every second rather than every second plus a round.
    pub paced: Cell<Option<(Instant, Duration)>>,
    /// Per hook, the pending events read so far (a round reads only the new files); taken
    /// by a round and given back when it ends well, so a failed round reads all again.
    pub read: RefCell<HashMap<String, HashMap<String, Event>>>,
}

/// A CRM loaded for judging a hook's events, at a commit.
pub struct Loaded {
    at: ObjectId,
    activities: bool,
    crm: Crm,
}

#[cfg(test)]
impl Loaded {
    /// An empty CRM, kept as of `at`.
    pub(super) fn empty(at: ObjectId) -> Loaded {
        Loaded {
            at,
            activities: false,
            crm: Crm::default(),
        }
    }
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
    /// previous run left in the spool), no two commits within [`MIN_INTERVAL`]; then the
    /// daily tick when it is due. Wakes the pusher after each commit.
    pub fn run(&self, signals: Receiver<Signal>) {
        if let Err(e) = self.warm() {
            (self.log)(&format!("note: {e} (the first round will load the CRM)"));
        }
        loop {
            let mut stop = match signals.recv_timeout(MIN_INTERVAL) {
                Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => true,
                Ok(Signal::Wake) | Err(RecvTimeoutError::Timeout) => false,
            };
            // A burst of deliveries is one wake each: the rounds below take them all.
            loop {
                match signals.try_recv() {
                    Ok(Signal::Wake) => {}
                    Ok(Signal::Stop) => stop = true,
                    Err(TryRecvError::Disconnected) => {
                        stop = true;
                        break;
                    }
                    Err(TryRecvError::Empty) => break,
                }
            }
            loop {
                if let Some((at, work)) = self.paced.get() {
                    if let Some(rest) = MIN_INTERVAL.checked_sub(at.elapsed() + work) {
                        std::thread::sleep(rest);
                    }
                }
                match self.round() {
                    Ok(r) => {
                        if r.commit.is_some() {
                            self.pushed();
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
            if let Some(t) = &self.ticker {
                if t.run_if_due((self.clock)()).is_some() {
                    self.pushed();
                }
            }
            if stop {
                return;
            }
        }
    }

    /// Loads the CRM the first hook's events are judged against before any event arrives,
    /// so the first delivery does not wait for it (a second on a CRM of 300,000 files).
    fn warm(&self) -> Result<(), String> {
        let Some(hook) = self.hooks.first() else {
            return Ok(());
        };
        let repo = Repo::open(&self.root)
            .map_err(|e| e.to_string())?
            .ok_or("the CRM is not in a git repository")?;
        let Some(head) = repo.head().map_err(|e| e.to_string())? else {
            return Ok(());
        };
        let started = Instant::now();
        let mut job = self.bench.job();
        let crm = {
            let lock = WriteLock::acquire(&repo).map_err(|e| e.to_string())?;
            if let Some(done) = &lock.recovered {
                (self.log)(&format!("note: {done}"));
            }
            load(&repo, &self.root, Some(head), hook.creates)?
        };
        (self.log)(&format!(
            "loaded the CRM at {} in {} ms: the committer is ready",
            head.short(),
            started.elapsed().as_millis()
        ));
        *job = Some(Loaded {
            at: head,
            activities: needs_activities(hook.creates),
            crm,
        });
        Ok(())
    }

    fn pushed(&self) {
        if let Some(p) = &self.pusher {
            p.send(Signal::Wake).ok();
        }
    }

    /// One round: finish an interrupted batch, then judge and commit the oldest hook's
    /// pending events.
    pub fn round(&self) -> Result<Round, String> {
        let began = Instant::now();
        let spool = Spool::new(&self.git_dir);
        let repo = Repo::open(&self.root)
            .map_err(|e| e.to_string())?
            .ok_or("the CRM is not in a git repository")?;
        // Taken before the write lock, as the tick takes them.
        let mut job = self.bench.job();
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
        let mut read = self.read.take();
        let mut oldest: Option<(&Hook, Vec<Event>)> = None;
        for hook in &self.hooks {
            let pending = spool
                .pending_since(&hook.name, read.entry(hook.name.clone()).or_default())
                .map_err(io("read the spool"))?;
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
            self.read.replace(read);
            return Ok(Round::default());
        };
        events.truncate(MAX_BATCH);
        let started = Instant::now();
        let head = repo.head().map_err(|e| e.to_string())?;
        let activities = needs_activities(hook.creates);
        let kept = job
            .take()
            .filter(|l| Some(l.at) == head && l.activities == activities);
        let loaded = kept.is_none();
        let mut crm = match kept {
            Some(l) => l.crm,
            None => load(&repo, &self.root, head, hook.creates)?,
        };
        // A record's text at HEAD (the work tree's before the first commit).
        let base = |path: &str| -> Option<String> {
            let bytes = match head {
                Some(h) => repo.blob(repo.blob_at(h, path).ok()??).ok()?,
                None => std::fs::read(self.root.join(path)).ok()?,
            };
            String::from_utf8(bytes).ok()
        };
        let judged = judge(hook, &crm, &events, &self.clock, &base);
        for (event, reason) in &judged.rejected {
            spool.reject(event, reason).map_err(io("reject an event"))?;
            (self.log)(&format!(
                "rejected event {} of hook {}: {reason}",
                event.id, hook.name
            ));
        }
        for (id, why) in &judged.skipped {
            (self.log)(&format!(
                "skipped event {id} of hook {}: {why}; not a touchpoint",
                hook.name
            ));
        }
        let mut round = Round {
            rejected: judged.rejected.len(),
            ..Round::default()
        };
        if judged.files.is_empty() {
            if let Some(at) = head {
                *job = Some(Loaded {
                    at,
                    activities,
                    crm,
                });
            }
            // Skipped events and updates that change nothing are done without a commit.
            let ids: Vec<String> = judged
                .ids
                .iter()
                .cloned()
                .chain(judged.skipped.iter().map(|(id, _)| id.clone()))
                .collect();
            if !ids.is_empty() {
                spool
                    .done(&hook.name, &ids)
                    .map_err(io("mark events done"))?;
                if !judged.ids.is_empty() {
                    (self.log)(&format!(
                        "{} event(s) of hook {} change nothing",
                        judged.ids.len(),
                        hook.name
                    ));
                }
                round.committed = ids.len();
            }
            self.read.replace(read);
            return Ok(round);
        }
        let (batch_id, message) = batch_message(hook, &judged);
        let noun = noun(hook.creates, judged.files.len());
        let Judged {
            files,
            mut ids,
            skipped,
            records,
            ..
        } = judged;
        ids.extend(skipped.into_iter().map(|(id, _)| id));
        spool
            .begin(&Batch {
                id: batch_id.clone(),
                hook: hook.name.clone(),
                events: ids.clone(),
            })
            .map_err(io("record the batch"))?;
        let judged = started.elapsed();
        let work = began.elapsed();
        // At most one commit a second: no two begun (dated) within a second of each other
        // (the round may have started early: see `paced`).
        if let Some((at, _)) = self.paced.get() {
            if let Some(rest) = MIN_INTERVAL.checked_sub(at.elapsed()) {
                std::thread::sleep(rest);
            }
        }
        let author = hook_identity(&hook.name);
        let committing = Instant::now();
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
                self.paced.set(Some((committing, work)));
                index::put_files(&mut crm, &files, records);
                *job = Some(Loaded {
                    at: id,
                    activities,
                    crm,
                });
                spool
                    .done(&hook.name, &ids)
                    .map_err(io("mark events done"))?;
                spool.end().map_err(io("clear the spool's batch"))?;
                (self.log)(&format!(
                    "committed {}: {} {noun} from hook {} ({}judged in {} ms, committed in {} ms)",
                    id.short(),
                    files.len(),
                    hook.name,
                    if loaded { "loaded the CRM and " } else { "" },
                    judged.as_millis(),
                    committing.elapsed().as_millis()
                ));
                round.committed = ids.len();
                round.commit = Some(id);
                self.read.replace(read);
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
        a.capture.message_id.is_some()
            || a.capture.call_id.is_some()
            || a.capture.uid.is_some()
            || crate::model::ActivityKind::NAMES
                .iter()
                .any(|k| a.meta.id.contains(&format!("-{k}-")))
    }
    let needs = match needs_activities(creates) {
        true => Needs {
            whole: &[],
            activity_ids: &|_| true,
            activities: &dated,
        },
        false => Needs::nothing(),
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

/// Whether a hook's events are judged against the CRM's dated activities (those that make
/// new activities: their ids must not be taken).
fn needs_activities(creates: Creates) -> bool {
    matches!(creates, Creates::Activity | Creates::Email)
}

/// What a hook's events come to, judged one after the other against `crm` and the records
/// the events before them made.
pub struct Judged {
    /// The new and edited files (CRM-relative paths), each different from the base's.
    pub files: Vec<(String, Vec<u8>)>,
    /// One line per file for the commit message.
    pub lines: Vec<String>,
    /// The ids of the events that became the files (or changed nothing).
    pub ids: Vec<String>,
    /// The events that failed, with the reason.
    pub rejected: Vec<(Event, String)>,
    /// The ids of inbound messages that are not touchpoints (auto-replies, bounces, list
    /// mail), with the reason: done, never a record.
    pub skipped: Vec<(String, String)>,
    /// The records of `files` already parsed while judging (by path), so that they are not
    /// parsed again when the committed CRM is brought forward.
    pub records: HashMap<String, AnyRecord>,
}

/// Judges `events` of `hook`, each on the day it was received: a lead like `sloop new lead`,
/// an activity like `sloop log`, an account update like `sloop set`, a message like `sloop
/// ingest email`. `base` gives a record file's text in the commit the files go on top of
/// (HEAD, or the remote's head when a rebase judges the events again).
pub fn judge(
    hook: &Hook,
    crm: &Crm,
    events: &[Event],
    clock: &Clock,
    base: &dyn Fn(&str) -> Option<String>,
) -> Judged {
    let mut out = Judged {
        files: Vec::new(),
        lines: Vec::new(),
        ids: Vec::new(),
        rejected: Vec::new(),
        skipped: Vec::new(),
        records: HashMap::new(),
    };
    // The files that edit a record of the base (the others are new: none is at the base).
    let mut edited: HashSet<String> = HashSet::new();
    if hook.creates == Creates::Email {
        judge_mail(crm, events, base, &mut out, &mut edited);
    } else {
        // Built once: an event is judged against these, not by a pass over the whole CRM.
        let mut cx = mapping::Context::new(crm);
        for event in events {
            let today = DateTime::parse_from_rfc3339(&event.received)
                .map(|d| d.date_naive())
                .unwrap_or_else(|_| clock().date_naive());
            // A record's text: as this batch left it, else the base's.
            let files = &out.files;
            let read = |path: &str| -> Option<String> {
                match files.iter().find(|(p, _)| p == path) {
                    Some((_, bytes)) => String::from_utf8(bytes.clone()).ok(),
                    None => base(path),
                }
            };
            match mapping::record(hook, &cx, &event.payload, today, &read) {
                Ok(write) => {
                    let (record, _) =
                        parse_record(write.kind, &write.id, &write.path, &write.text, &crm.config);
                    cx.accept(&record);
                    if write.edit {
                        edited.insert(write.path.clone());
                    }
                    out.records.insert(write.path.clone(), record);
                    out.lines.push(format!(
                        "{} {} (event {})",
                        write.kind.as_str(),
                        write.id,
                        event.id
                    ));
                    out.files.retain(|(p, _)| *p != write.path);
                    out.files.push((write.path, write.text.into_bytes()));
                    out.ids.push(event.id.clone());
                }
                Err(reason) => out.rejected.push((event.clone(), reason)),
            }
        }
    }
    // An update that changes nothing is no file to commit. (Only edits are read back from
    // the base: a lookup by path in a tree of 300,000 files is not free.)
    out.files.retain(|(path, bytes)| {
        !edited.contains(path) || base(path).map(String::into_bytes).as_ref() != Some(bytes)
    });
    out
}

/// Inbound messages, as `sloop ingest email` takes them: matched, automated mail skipped,
/// each message once.
fn judge_mail(
    crm: &Crm,
    events: &[Event],
    base: &dyn Fn(&str) -> Option<String>,
    out: &mut Judged,
    edited: &mut HashSet<String>,
) {
    let matcher = Matcher::new(crm);
    let mut batch = ingest::Batch::new(crm);
    for event in events {
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
                out.skipped.push((event.id.clone(), why));
                continue;
            }
            Ok(ingest::email::Outcome::Unmatched(_)) => continue,
            Err(reason) => {
                out.rejected.push((event.clone(), reason));
                continue;
            }
        };
        let mut refused = None;
        for c in &captures {
            match batch.apply(c, base) {
                Ok(ingest::Applied::Recorded(p)) => {
                    out.lines.push(format!("activity {p} (event {})", event.id))
                }
                Ok(ingest::Applied::Updated(p)) => {
                    out.lines.push(format!("activity {p} (event {})", event.id));
                    edited.insert(p);
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
            None => out.ids.push(event.id.clone()),
            Some(reason) => out.rejected.push((event.clone(), reason)),
        }
    }
    match batch.into_files().to_vec() {
        Ok(files) => out
            .files
            .extend(files.into_iter().map(|(p, t)| (p, t.into_bytes()))),
        // An in-memory batch cannot fail to give its files back; if it did, no event of
        // the round is lost: each is rejected with the reason, to be delivered again.
        Err(e) => {
            let ids = std::mem::take(&mut out.ids);
            for event in events.iter().filter(|e| ids.contains(&e.id)) {
                out.rejected
                    .push((event.clone(), format!("cannot read the planned files: {e}")));
            }
            out.lines.clear();
        }
    }
}

/// The commit message's noun for `n` files of a hook.
fn noun(creates: Creates, n: usize) -> &'static str {
    match (creates, n) {
        (Creates::Lead, 1) => "lead",
        (Creates::Lead, _) => "leads",
        (Creates::Activity | Creates::Email, 1) => "activity",
        (Creates::Activity | Creates::Email, _) => "activities",
        (Creates::AccountUpdate, 1) => "account update",
        (Creates::AccountUpdate, _) => "account updates",
    }
}

/// The batch id (from the events' ids) and the commit message of judged events.
pub fn batch_message(hook: &Hook, judged: &Judged) -> (String, String) {
    let mut h = Sha256::new();
    for id in &judged.ids {
        h.update(id.as_bytes());
        h.update([0]);
    }
    let batch_id: String = h.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let message = format!(
        "sloop serve: {} {} from hook {} (batch {batch_id})\n\n{}\n",
        judged.files.len(),
        noun(hook.creates, judged.files.len()),
        hook.name,
        judged.lines.join("\n")
    );
    (batch_id, message)
}

/// The hook and event ids of a commit `batch_message` wrote; `None` for any other commit.
pub fn parse_batch_message(message: &str) -> Option<(String, Vec<String>)> {
    let (summary, body) = message.split_once('\n').unwrap_or((message, ""));
    let rest = summary.strip_prefix("sloop serve: ")?;
    let (_, rest) = rest.split_once(" from hook ")?;
    let (hook, batch) = rest.split_once(" (batch ")?;
    batch.strip_suffix(')')?;
    let mut ids: Vec<String> = Vec::new();
    for (_, id) in body
        .lines()
        .filter_map(|l| l.trim_end().strip_suffix(')')?.rsplit_once(" (event "))
    {
        // A message with an invitation makes several activities of one event.
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }
    Some((hook.to_string(), ids))
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
