//! `--push REMOTE`: after each commit the pusher thread pushes the branch. A failure is
//! retried with exponential back-off (1 s doubling to 60 s, for as long as the server runs);
//! webhooks are accepted meanwhile, the spool and the committer do not wait for it.
//!
//! A push the remote refuses as not fast-forward (someone pushed meanwhile) fetches the
//! remote branch and rebases the server's unpushed commits onto it, under sloop's write
//! lock: a commit of the server's (`sloop serve: … (batch …)`) is made again from its
//! events, judged anew against the remote's records (an event now invalid goes to
//! `rejected/` with its reason); any other commit (a tick, a commit made by hand on the
//! server's clone) is replayed with its files as they are. The branch then moves through the
//! commit path (`Repo::rebase_onto`), and the push is tried again. The events found invalid
//! move from `done/` to `rejected/` once the branch has moved: a crash in between leaves
//! them in `done/` (a retried delivery stays a no-op) without a commit, and says so nowhere
//! but in the history: a window of a few file operations.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use super::committer::{batch_message, hook_identity, judge, parse_batch_message, Clock, Log};
use super::spool::{Event, Spool};
use crate::config::Hook;
use crate::git::{Identity, ObjectId, Pushed, Replay, Repo, WriteLock};
use crate::store;
use crate::writes::index;

pub use super::committer::Signal;

/// The first wait after a failed push; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Rebases in a row before a push counts as failed (the remote keeps moving).
const MAX_REBASES: usize = 5;

pub struct Pusher {
    pub root: PathBuf,
    pub git_dir: PathBuf,
    pub remote: String,
    pub hooks: Vec<Hook>,
    pub clock: Clock,
    pub committer: Option<Identity>,
    pub log: Log,
}

/// The wait after `failures` failed pushes in a row.
pub fn backoff(failures: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1)))
        .min(MAX_BACKOFF)
}

impl Pusher {
    /// Pushes when woken (and once at start), retrying failures with back-off, until told to
    /// stop; on stop, one last attempt when a push is owed.
    pub fn run(&self, signals: Receiver<Signal>) {
        let mut owed = true;
        let mut failures: u32 = 0;
        loop {
            let signal = if owed && failures > 0 {
                signals.recv_timeout(backoff(failures))
            } else if owed {
                Ok(Signal::Wake)
            } else {
                signals.recv().map_err(|_| RecvTimeoutError::Disconnected)
            };
            let stop = matches!(
                signal,
                Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected)
            );
            if matches!(signal, Ok(Signal::Wake)) {
                owed = true;
            }
            // Drain the wakes that queued up meanwhile: one push covers them.
            while let Ok(s) = signals.try_recv() {
                if s == Signal::Stop {
                    return self.last(owed);
                }
            }
            if stop {
                return self.last(owed);
            }
            if !owed {
                continue;
            }
            match self.attempt() {
                Ok(()) => {
                    owed = false;
                    failures = 0;
                }
                Err(e) => {
                    failures += 1;
                    (self.log)(&format!(
                        "push to {} failed: {e} (retrying in {} s)",
                        self.remote,
                        backoff(failures).as_secs()
                    ));
                }
            }
        }
    }

    fn last(&self, owed: bool) {
        if owed {
            if let Err(e) = self.attempt() {
                (self.log)(&format!(
                    "push to {} failed: {e} (the commits stay local; the next start pushes them)",
                    self.remote
                ));
            }
        }
    }

    /// Pushes HEAD; when the remote moved, fetches, rebases and pushes again.
    pub fn attempt(&self) -> Result<(), String> {
        let repo = Repo::open(&self.root)
            .map_err(|e| e.to_string())?
            .ok_or("the CRM is not in a git repository")?;
        let branch = repo.branch().ok_or("HEAD is not on a branch")?;
        for _ in 0..=MAX_REBASES {
            let Some(head) = repo.head().map_err(|e| e.to_string())? else {
                return Ok(());
            };
            match repo
                .push(&self.remote, &branch, head)
                .map_err(|e| e.to_string())?
            {
                Pushed::Done => {
                    (self.log)(&format!(
                        "pushed {} to {} {branch}",
                        head.short(),
                        self.remote
                    ));
                    return Ok(());
                }
                Pushed::Behind => {
                    let theirs = repo
                        .fetch(&self.remote, &branch)
                        .map_err(|e| e.to_string())?;
                    self.rebase(&repo, theirs)?;
                }
            }
        }
        Err(format!(
            "the remote moved {MAX_REBASES} times while the server rebased onto it"
        ))
    }

    /// Rebases the branch's commits the remote does not have onto `theirs`.
    fn rebase(&self, repo: &Repo, theirs: ObjectId) -> Result<(), String> {
        let lock = WriteLock::acquire(repo).map_err(|e| e.to_string())?;
        if let Some(done) = &lock.recovered {
            (self.log)(&format!("note: {done}"));
        }
        let ours = repo
            .head()
            .map_err(|e| e.to_string())?
            .ok_or("the branch has no commit")?;
        let base = repo
            .merge_base(ours, theirs)
            .map_err(|e| e.to_string())?
            .ok_or("the remote branch shares no history with the server's")?;
        // The server's commits since the common base, oldest first (a straight line).
        let mut mine = Vec::new();
        let mut at = ours;
        while at != base {
            if repo.parent_count(at).map_err(|e| e.to_string())? != 1 {
                return Err(format!(
                    "commit {} is a merge: the server rebases straight lines only",
                    at.short()
                ));
            }
            mine.push(at);
            at = repo
                .first_parent(at)
                .map_err(|e| e.to_string())?
                .ok_or("the branch's history does not reach the merge base")?;
        }
        mine.reverse();
        let spool = Spool::new(&self.git_dir);
        let tree = repo.tree_source(theirs).map_err(|e| e.to_string())?;
        let mut crm = store::load(&tree).map_err(|e| e.to_string())?.crm;
        // Each replayed commit's records are put into `crm`, so the next batch is judged
        // against them.
        let mut replays = Vec::new();
        let mut rejected: Vec<(Event, String)> = Vec::new();
        let mut rejudged = 0;
        for id in &mine {
            let message = repo.commit_message(*id).map_err(|e| e.to_string())?;
            let info = repo.commit_info(*id).map_err(|e| e.to_string())?;
            let author = Identity {
                name: info.author_name.clone(),
                email: info.author_email.clone(),
            };
            let events = match parse_batch_message(&message) {
                Some((hook, ids)) => self.events(&spool, &hook, &ids)?,
                None => None,
            };
            // The records the judging parsed of the replayed files, if it judged them.
            let mut parsed = HashMap::new();
            if let Some((hook, events)) = events {
                rejudged += events.len();
                // A record's text on top of the remote's head and what was replayed so far.
                let base = |path: &str| -> Option<String> {
                    let bytes = match replays
                        .iter()
                        .rev()
                        .find_map(|r: &Replay| r.files.iter().find(|(p, _)| p == path))
                    {
                        Some((_, bytes)) => bytes.clone(),
                        None => repo.blob(repo.blob_at(theirs, path).ok()??).ok()?,
                    };
                    String::from_utf8(bytes).ok()
                };
                let judged = judge(hook, &crm, &events, &self.clock, &base);
                rejected.extend(judged.rejected.iter().cloned());
                if judged.files.is_empty() {
                    continue;
                }
                let (_, message) = batch_message(hook, &judged);
                let author = hook_identity(&hook.name);
                parsed = judged.records;
                replays.push(Replay {
                    files: judged.files,
                    message,
                    committer: self.committer.clone().unwrap_or(author.clone()),
                    author,
                    when: (self.clock)(),
                });
            } else {
                let files = repo.commit_files_of(*id).map_err(|e| e.to_string())?;
                replays.push(Replay {
                    files,
                    message,
                    committer: self.committer.clone().unwrap_or(author.clone()),
                    author,
                    when: info.author_date,
                });
            }
            if let Some(replay) = replays.last() {
                index::put_files(&mut crm, &replay.files, parsed);
            }
        }
        let new = repo
            .rebase_onto(theirs, &replays, ours)
            .map_err(|e| e.to_string())?;
        for (event, reason) in &rejected {
            spool
                .reject_done(event, reason)
                .map_err(|e| format!("cannot reject event {}: {e}", event.id))?;
            (self.log)(&format!(
                "rejected event {} of hook {} on rebase: {reason}",
                event.id, event.hook
            ));
        }
        (self.log)(&format!(
            "rebased {} commit{} onto {} of {} (now {}; {rejudged} event{} judged again, {} rejected)",
            mine.len(),
            if mine.len() == 1 { "" } else { "s" },
            theirs.short(),
            self.remote,
            new.short(),
            if rejudged == 1 { "" } else { "s" },
            rejected.len()
        ));
        drop(lock);
        Ok(())
    }

    /// The hook and the events of a batch commit, when the hook is served and every event
    /// is kept in `done/`; `None`: replay the commit's files as they are.
    fn events(
        &self,
        spool: &Spool,
        hook: &str,
        ids: &[String],
    ) -> Result<Option<(&Hook, Vec<Event>)>, String> {
        let Some(h) = self.hooks.iter().find(|h| h.name == hook) else {
            return Ok(None);
        };
        let mut events = Vec::new();
        for id in ids {
            match spool
                .done_event(hook, id)
                .map_err(|e| format!("cannot read event {id}: {e}"))?
            {
                Some(e) => events.push(e),
                None => return Ok(None),
            }
        }
        if events.is_empty() {
            return Ok(None);
        }
        Ok(Some((h, events)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_one_second_up_to_a_minute() {
        let waits: Vec<u64> = (1..=8).map(|f| backoff(f).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
