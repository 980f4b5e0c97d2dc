//! `--tick-at HH:MM`: the daily `sloop tick`, in the server, committed like `sloop tick`
//! (and pushed with `--push`).
//!
//! The tick for a day is due from HH:MM of that day (the server's local time) until it has
//! run. It has run when the server recorded it (`<git dir>/sloop/serve-tick` holds the day),
//! or when a `sloop tick <day>` commit is among the branch's last 100 commits (a tick run by
//! hand or by cron). So a server started after HH:MM ticks at once if the day's tick has not
//! run, and a restart never ticks twice. A tick that fails is logged and tried again the
//! next day (or at the next start).

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};

use super::committer::Log;
use super::workbench::Workbench;
use crate::git::{Identity, ObjectId, Repo};
use crate::lifecycle::tick::{self, Mode, Options};

pub struct Ticker {
    pub root: PathBuf,
    /// The tick loads the whole CRM and its history: it waits for the other large pieces of
    /// work and lets go of what the server keeps first (the pages' view is stale after its
    /// commit anyway).
    pub bench: Arc<Workbench>,
    pub git_dir: PathBuf,
    pub at: NaiveTime,
    pub author: Option<Identity>,
    pub committer: Option<Identity>,
    pub log: Log,
    /// The day a tick failed on: not tried again that day.
    pub failed_on: Cell<Option<NaiveDate>>,
    /// The last day known to have ticked (saves reading the history every second).
    pub ticked_on: Cell<Option<NaiveDate>>,
}

/// Parses `HH:MM` (24-hour clock).
pub fn parse_at(s: &str) -> Result<NaiveTime, String> {
    let ok = s.len() == 5 && s.as_bytes()[2] == b':';
    ok.then(|| NaiveTime::parse_from_str(s, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| format!("`{s}` is not a time of day as HH:MM (24-hour clock, e.g. 07:00)"))
}

/// Whether the tick of `now`'s day is due: from `at` on, unless that day has ticked.
pub fn due(now: DateTime<FixedOffset>, at: NaiveTime, last: Option<NaiveDate>) -> bool {
    now.time() >= at && last.is_none_or(|d| d < now.date_naive())
}

fn state(git_dir: &Path) -> PathBuf {
    git_dir.join("sloop").join("serve-tick")
}

impl Ticker {
    /// The last day that ticked (recorded by the server, or a `sloop tick <day>` commit
    /// among the branch's last 100 commits).
    pub fn last(&self, repo: &Repo) -> Option<NaiveDate> {
        let recorded = std::fs::read_to_string(state(&self.git_dir))
            .ok()
            .and_then(|s| s.trim().parse::<NaiveDate>().ok());
        let mut committed = None;
        let mut at = repo.head().ok().flatten();
        for _ in 0..100 {
            let Some(id) = at else { break };
            let Ok(info) = repo.commit_info(id) else {
                break;
            };
            if let Some(day) = info
                .summary
                .strip_prefix("sloop tick ")
                .and_then(|r| r.split(':').next())
                .and_then(|d| d.parse::<NaiveDate>().ok())
            {
                committed = Some(day);
                break;
            }
            at = info.parent;
        }
        recorded.max(committed)
    }

    /// Ticks when due at `now`; the commit made, if any.
    pub fn run_if_due(&self, now: DateTime<FixedOffset>) -> Option<ObjectId> {
        let today = now.date_naive();
        if self.failed_on.get() == Some(today) || !due(now, self.at, self.ticked_on.get()) {
            return None;
        }
        let repo = match Repo::open(&self.root) {
            Ok(Some(r)) => r,
            _ => return None,
        };
        let last = self.last(&repo);
        self.ticked_on.set(last);
        if !due(now, self.at, last) {
            return None;
        }
        drop(repo);
        let mut job = self.bench.job();
        self.bench.make_room(&mut job);
        let opts = Options {
            as_of: today,
            now,
            mode: Mode::Commit,
            author: self.author.clone(),
            committer: self.committer.clone(),
        };
        match tick::run(&self.root, &opts) {
            Ok(outcome) => {
                self.ticked_on.set(Some(today));
                if let Err(e) = std::fs::write(state(&self.git_dir), format!("{today}\n")) {
                    (self.log)(&format!("warning: cannot record the tick of {today}: {e}"));
                }
                match outcome.commit {
                    Some(id) => (self.log)(&format!(
                        "ticked {today}: committed {} ({})",
                        id.short(),
                        outcome.message.lines().next().unwrap_or("")
                    )),
                    None => (self.log)(&format!("ticked {today}: nothing to move")),
                }
                outcome.commit
            }
            Err(e) => {
                self.failed_on.set(Some(today));
                let hint = e.hint().map(|h| format!(" ({h})")).unwrap_or_default();
                (self.log)(&format!(
                    "error: the tick of {today} failed: {e}{hint}; it is tried again tomorrow or at the next start"
                ));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn a_day_ticks_from_its_time_on_until_it_has_ticked() {
        let seven = parse_at("07:00").unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().ok();
        assert!(!due(at("2026-03-02T06:59:59+01:00"), seven, None));
        assert!(due(at("2026-03-02T07:00:00+01:00"), seven, None));
        assert!(due(at("2026-03-02T23:00:00+01:00"), seven, d("2026-03-01")));
        assert!(!due(
            at("2026-03-02T23:00:00+01:00"),
            seven,
            d("2026-03-02")
        ));
        // The next day, again from 07:00.
        assert!(!due(
            at("2026-03-03T06:00:00+01:00"),
            seven,
            d("2026-03-02")
        ));
        assert!(due(at("2026-03-03T07:00:00+01:00"), seven, d("2026-03-02")));
    }

    #[test]
    fn the_time_is_hours_and_minutes() {
        assert_eq!(
            parse_at("23:59"),
            Ok(NaiveTime::from_hms_opt(23, 59, 0).unwrap())
        );
        for bad in ["7:00", "24:00", "07:60", "07:00:00", "0700", ""] {
            assert!(parse_at(bad).unwrap_err().contains("HH:MM"), "{bad}");
        }
    }
}
