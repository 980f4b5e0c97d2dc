//! What the server keeps in memory between requests and rounds, and the one lock its large
//! pieces of work take turns on.
//!
//! Two things are kept: the committer's CRM (what the next round judges against, so that it
//! does not read the write index again) and the pages' view of HEAD (the rendered dashboard
//! and the CRM the pages read). Each piece of work that needs hundreds of megabytes for a
//! moment (a committer round, building a view, a record's timeline, an agenda's history
//! facts, the daily tick) holds the lock while it works, so no two of them add up; building
//! a view and the tick first let go of what is kept, which is stale by then or cheap to
//! load again. On the benchmark CRM (341,000 files) the server peaked at 631–647 MiB with
//! two of them at once; `scripts/bench-memory --only serve` measures it.

use std::sync::{Arc, Mutex, MutexGuard};

use super::committer::Loaded;
use super::pages::View;

#[derive(Default)]
pub struct Workbench {
    /// Held through each large piece of work; between rounds, the committer's CRM.
    jobs: Mutex<Option<Loaded>>,
    /// The pages' view of HEAD on a day.
    view: Mutex<Option<Arc<View>>>,
}

/// The lock of one large piece of work, with the committer's CRM in it.
pub type Job<'a> = MutexGuard<'a, Option<Loaded>>;

impl Workbench {
    pub fn new() -> Arc<Workbench> {
        Arc::new(Workbench::default())
    }

    /// Waits for the piece of work in progress, if any, and holds the lock until the guard
    /// is dropped. (A piece of work that panicked left nothing half-kept that matters: the
    /// CRM kept is only a cache, dropped here if so.)
    pub fn job(&self) -> Job<'_> {
        match self.jobs.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                self.jobs.clear_poison();
                let mut guard = poisoned.into_inner();
                *guard = None;
                guard
            }
        }
    }

    /// Lets go of what is kept, for a piece of work that needs the room: the committer's CRM
    /// (its next round loads it again) and the pages' view (the next page builds it again;
    /// a request answering from it holds it until it is done).
    pub fn make_room(&self, job: &mut Job<'_>) {
        **job = None;
        self.set_view(None);
    }

    /// The pages' view, if one is kept.
    pub fn view(&self) -> Option<Arc<View>> {
        self.view.lock().ok()?.clone()
    }

    pub fn set_view(&self, view: Option<Arc<View>>) {
        match self.view.lock() {
            Ok(mut kept) => *kept = view,
            Err(poisoned) => {
                self.view.clear_poison();
                *poisoned.into_inner() = view;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::ObjectId;

    #[test]
    fn making_room_lets_go_of_the_committers_crm() {
        let bench = Workbench::new();
        *bench.job() = Some(Loaded::empty(ObjectId::NULL));
        assert!(bench.job().is_some(), "kept between two jobs");
        let mut job = bench.job();
        bench.make_room(&mut job);
        assert!(job.is_none());
        drop(job);
        assert!(bench.job().is_none() && bench.view().is_none());
    }

    #[test]
    fn a_job_that_panicked_leaves_the_bench_usable_with_nothing_kept() {
        let bench = Workbench::new();
        *bench.job() = Some(Loaded::empty(ObjectId::NULL));
        let b = bench.clone();
        let panicked = std::thread::spawn(move || {
            let _job = b.job();
            panic!("a round failed");
        })
        .join();
        assert!(panicked.is_err());
        assert!(
            bench.job().is_none(),
            "a half-done job's CRM is not trusted"
        );
        *bench.job() = Some(Loaded::empty(ObjectId::NULL));
        assert!(bench.job().is_some(), "and the lock is whole again");
    }
}
