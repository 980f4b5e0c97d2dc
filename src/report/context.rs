//! Builds the report context: mines the history (cached), loads the CRM as committed on the
//! as-of date with the one loader, and computes the metrics.

use std::path::Path;

use chrono::NaiveDate;

use crate::crm::Crm;
use crate::git::{GitError, Repo};
use crate::history::Event;
use crate::model::dates::{self, DateError};
use crate::report::metrics::{self, Context, Inputs, PeriodName};
use crate::store::LoadError;

use crate::history::snapshot::{self, Options, Reuse, SnapshotError};

/// The context, and what the user should know about its inputs.
pub struct Built {
    pub context: Context,
    pub warnings: Vec<String>,
    /// The inputs the context was computed from (the events as `history::for_metrics`
    /// keeps them).
    pub events: Vec<Event>,
    pub crm: Crm,
    pub reuse: Reuse,
    /// What was found damaged in the caches, and rebuilt.
    pub cache_warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportingError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("reports are mined from git, and this CRM is not in a git repository")]
    NotInRepo,
    #[error("there is no commit on or before {0}")]
    NothingYet(NaiveDate),
    #[error(transparent)]
    Date(#[from] DateError),
}

impl From<SnapshotError> for ReportingError {
    fn from(e: SnapshotError) -> Self {
        match e {
            SnapshotError::Git(e) => ReportingError::Git(e),
            SnapshotError::Load(e) => ReportingError::Load(e),
        }
    }
}

impl ReportingError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ReportingError::Git(g) => g.hint.clone(),
            ReportingError::NotInRepo => Some("`git init` and commit the CRM".into()),
            ReportingError::NothingYet(_) => Some("use a later --as-of".into()),
            ReportingError::Load(l) => l.hint(),
            ReportingError::Date(d) => Some(d.hint()),
        }
    }
}

/// Mines the history and computes the context for `as_of`, the templates showing `period`.
pub fn context(root: &Path, opts: &Options, period: PeriodName) -> Result<Built, ReportingError> {
    // Before mining: a date the metrics cannot compute with fails at once.
    dates::in_range(opts.as_of)?;
    let repo = Repo::open(root)?.ok_or(ReportingError::NotInRepo)?;
    let inputs =
        snapshot::inputs(root, &repo, opts)?.ok_or(ReportingError::NothingYet(opts.as_of))?;
    let mut warnings: Vec<String> = inputs
        .warnings
        .iter()
        .map(|w| {
            format!(
                "commit {}: {}: {} (skipped)",
                crate::git::short(&w.commit),
                w.path,
                w.message
            )
        })
        .collect();
    if repo.is_shallow() {
        warnings.push(format!(
            "shallow clone: the history starts on {}, so stage durations, conversion, the sales cycle and the weekly pipeline miss what came before (fetch it all: `git fetch --unshallow`, in CI `fetch-depth: 0`)",
            inputs.commits.first().map(|c| c.author_date.date_naive().to_string()).unwrap_or_default()
        ));
    }
    let commit = &inputs.commits[inputs.at];
    if inputs.errors > 0 {
        warnings.push(format!(
            "the CRM at {} has {} (`sloop check`): those records may count wrongly",
            commit.id.short(),
            crate::diag::count(inputs.errors, "error")
        ));
    }
    // In place: the events after the date are dropped without moving the others.
    let mut events: Vec<Event> = inputs.events;
    events.retain(|e| e.date.date_naive() <= opts.as_of);
    let dated: Vec<NaiveDate> = inputs
        .commits
        .iter()
        .map(|c| c.author_date.date_naive())
        .filter(|d| *d <= opts.as_of)
        .collect();
    let context = metrics::compute(&Inputs {
        crm: &inputs.crm,
        as_of: opts.as_of,
        events: &events,
        commits: dated.len(),
        first_commit: dated.first().copied(),
        shallow: repo.is_shallow(),
        period,
    })?;
    Ok(Built {
        context,
        warnings,
        events,
        crm: inputs.crm,
        reuse: inputs.reuse,
        cache_warnings: inputs.cache_warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::testing::TestRepo;
    use crate::history;
    use std::collections::HashSet;

    const CONFIG: &str = "[team.alice]\nname = \"Alice\"\nrole = \"ae\"\n";

    fn opp(stage: &str, mrr: u32) -> String {
        format!(
            "name = \"Acme new\"\naccount = \"acme\"\nowner = \"alice\"\nstage = \"{stage}\"\nsource = \"inbound\"\ntype = \"new\"\nmrr = {mrr}\nclose_date = 2026-03-31\n"
        )
    }

    fn account(name: &str, status: &str) -> String {
        format!("name = \"{name}\"\nstatus = \"{status}\"\nowner = \"alice\"\n")
    }

    fn reuse(commits_mined: Option<usize>, files_read: Option<usize>) -> Reuse {
        Reuse {
            commits_mined,
            files_read,
        }
    }

    /// The report with the caches (the snapshot rewritten after every catch-up), checked
    /// against the report computed from scratch; what the run reused.
    fn report(t: &TestRepo, as_of: &str) -> Reuse {
        report_with(t, as_of, true)
    }

    fn report_with(t: &TestRepo, as_of: &str, eager_snapshot: bool) -> Reuse {
        let as_of: NaiveDate = as_of.parse().unwrap();
        let json = |cache| {
            let options = snapshot::Options {
                as_of,
                cache,
                eager_snapshot,
            };
            let built = context(t.dir(), &options, PeriodName::Quarter).unwrap();
            let value = serde_json::to_value(&built.context).unwrap();
            (value, built.warnings, built.reuse)
        };
        let (cached, cached_warnings, reused) = json(true);
        let (fresh, fresh_warnings, fresh_reuse) = json(false);
        // The errors counted are the loader's, whichever way the records were read.
        let repo = Repo::open(t.dir()).unwrap().unwrap();
        let at = history::mine(t.dir(), &history::Options::default())
            .unwrap()
            .commits
            .into_iter()
            .rev()
            .find(|c| c.author_date.date_naive() <= as_of)
            .unwrap();
        let loaded = crate::store::load(&repo.tree_source(at.id).unwrap()).unwrap();
        let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
        let said = cached_warnings
            .iter()
            .find_map(|w| w.split(" has ").nth(1)?.split(" error").next())
            .map_or(0, |n| n.parse().unwrap());
        assert_eq!(said, errors, "{cached_warnings:?}");
        assert_eq!(
            cached, fresh,
            "as of {as_of}: the snapshot changed the report"
        );
        assert_eq!(cached_warnings, fresh_warnings);
        assert_eq!(fresh_reuse, reuse(None, None));
        reused
    }

    fn snapshot_file(t: &TestRepo) -> std::path::PathBuf {
        let dir = t.dir().join(".git/sloop/snapshot-v1");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files.pop().unwrap()
    }

    #[test]
    fn the_snapshot_gives_the_report_computed_from_scratch() {
        let mut t = TestRepo::new();
        let beta = account("Beta", "target");
        let lead = "name = \"Jo\"\ncompany = \"Gamma\"\nstatus = \"new\"\n";
        t.commit(
            "2026-01-05",
            "init",
            &[
                ("sloop.toml", Some(CONFIG)),
                ("accounts/acme.toml", Some(&account("Acme", "working"))),
                ("opportunities/acme-new.toml", Some(&opp("qualified", 500))),
            ],
        );
        let rebuilt = reuse(None, None);
        assert_eq!(report(&t, "2026-12-31"), rebuilt);

        // New commits: mined alone; only the files they changed are read, including one
        // that does not parse (its error is counted as a full load counts it).
        t.commit(
            "2026-01-12",
            "progress",
            &[
                ("opportunities/acme-new.toml", Some(&opp("proposal", 650))),
                ("accounts/beta.toml", Some(&beta)),
            ],
        );
        t.commit(
            "2026-01-13",
            "leads",
            &[
                ("leads/2026-01-13-gamma.toml", Some(lead)),
                ("leads/broken.toml", Some("name = \"unclosed\n")),
            ],
        );
        assert_eq!(report(&t, "2026-12-31"), reuse(Some(2), Some(4)));
        // Nothing new: nothing mined or read.
        assert_eq!(report(&t, "2026-12-31"), reuse(Some(0), Some(0)));
        // A deletion and a duplicate id in another folder.
        t.commit(
            "2026-01-20",
            "dedupe",
            &[
                ("leads/broken.toml", None),
                ("accounts/b/beta.toml", Some(&beta)),
            ],
        );
        assert_eq!(report(&t, "2026-12-31"), reuse(Some(1), Some(2)));
        // As of a day before the snapshot: the events are reused, and the records brought
        // back by the two files that differ (beta's second file, the lead).
        assert_eq!(report(&t, "2026-01-12"), reuse(Some(0), Some(2)));
        // A changed sloop.toml, or a file that is not a record: everything read again.
        t.commit(
            "2026-01-21",
            "rules",
            &[("sloop.toml", Some(&format!("{CONFIG}currency = \"USD\"\n")))],
        );
        assert_eq!(report(&t, "2026-12-31"), reuse(Some(1), None));
        // A rewritten commit (amend): the snapshot's events are kept up to the commit both
        // histories share, the amended commit is mined, and the records are brought to its
        // tree from the snapshot's.
        t.amend(
            "2026-01-22",
            "rules, amended",
            &[("accounts/acme.toml", Some(&account("Acme", "customer")))],
        );
        assert_eq!(report(&t, "2026-12-31"), reuse(Some(1), Some(1)));
        // A reset to the commit before: its events are the snapshot's, cut there; its
        // sloop.toml differs from the snapshot's, so the records are read again.
        t.reset_hard_to_parent();
        assert_eq!(report(&t, "2026-12-31"), reuse(Some(0), None));
        // And forward again to a new commit: one commit mined, one file read.
        t.commit(
            "2026-01-23",
            "again",
            &[("accounts/beta.toml", Some(&account("Beta", "working")))],
        );
        assert_eq!(report(&t, "2026-12-31"), reuse(Some(1), Some(1)));
        // A corrupt snapshot is ignored, and replaced.
        let file = snapshot_file(&t);
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
        assert_eq!(report(&t, "2026-12-31"), rebuilt);
        assert_eq!(std::fs::read(&file).unwrap(), bytes);
        // So is an empty one (the file is mapped: an empty map is no snapshot).
        std::fs::write(&file, b"").unwrap();
        assert_eq!(report(&t, "2026-12-31"), rebuilt);
        assert_eq!(std::fs::read(&file).unwrap(), bytes);
    }

    /// A history whose stage durations depend on every stage event: a byte changed in one
    /// of them changes the report.
    fn stages(t: &mut TestRepo) {
        t.commit(
            "2026-01-05",
            "init",
            &[
                ("sloop.toml", Some(CONFIG)),
                ("accounts/acme.toml", Some(&account("Acme", "working"))),
                ("opportunities/acme-new.toml", Some(&opp("identified", 500))),
            ],
        );
        for (day, stage) in [("2026-01-09", "qualified"), ("2026-01-20", "trial")] {
            t.commit(
                day,
                "progress",
                &[("opportunities/acme-new.toml", Some(&opp(stage, 500)))],
            );
        }
    }

    /// Issue 18, item 10: a snapshot with a changed byte decoded fine and gave other stage
    /// durations, and was kept.
    #[test]
    fn a_flipped_byte_in_the_snapshot_is_caught_and_the_snapshot_rebuilt() {
        let mut t = TestRepo::new();
        stages(&mut t);
        assert_eq!(report(&t, "2026-12-31"), reuse(None, None));
        let file = snapshot_file(&t);
        let good = std::fs::read(&file).unwrap();
        // `qualified` becomes `qualifief` in the first event that names it.
        let at = good
            .windows(9)
            .position(|w| w == b"qualified")
            .expect("a stage in the snapshot");
        let mut bad = good.clone();
        bad[at + 8] ^= 0x02;
        std::fs::write(&file, &bad).unwrap();
        assert_eq!(report(&t, "2026-12-31"), reuse(None, None), "rebuilt");
        assert_eq!(std::fs::read(&file).unwrap(), good, "and written again");
        assert_eq!(report(&t, "2026-12-31"), reuse(Some(0), Some(0)));
    }

    /// Issue 18, item 10: two CRMs of one repository, their snapshots swapped: each report
    /// was the other CRM's.
    #[test]
    fn swapped_snapshots_of_two_crms_are_not_used() {
        let mut t = TestRepo::new();
        t.commit(
            "2026-01-05",
            "init",
            &[
                ("east/sloop.toml", Some(CONFIG)),
                ("east/accounts/acme.toml", Some(&account("Acme", "working"))),
                ("east/opportunities/acme-new.toml", Some(&opp("trial", 500))),
                ("west/sloop.toml", Some(CONFIG)),
                (
                    "west/accounts/acme.toml",
                    Some(&account("Acme", "customer")),
                ),
                ("west/opportunities/acme-new.toml", Some(&opp("won", 900))),
            ],
        );
        let (east, west) = (t.dir().join("east"), t.dir().join("west"));
        for crm in [&east, &west] {
            std::fs::create_dir_all(crm).unwrap();
        }
        let json = |root: &Path, cache| {
            let options = snapshot::Options {
                as_of: "2026-12-31".parse().unwrap(),
                cache,
                eager_snapshot: true,
            };
            serde_json::to_value(
                context(root, &options, PeriodName::Quarter)
                    .unwrap()
                    .context,
            )
            .unwrap()
        };
        for crm in [&east, &west] {
            json(crm, true);
        }
        let dir = t.dir().join(".git/sloop/snapshot-v1");
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 2);
        let (a, b) = (
            std::fs::read(&files[0]).unwrap(),
            std::fs::read(&files[1]).unwrap(),
        );
        std::fs::write(&files[0], b).unwrap();
        std::fs::write(&files[1], a).unwrap();
        for crm in [&east, &west] {
            assert_eq!(json(crm, true), json(crm, false), "{}", crm.display());
        }
    }

    /// Issue 18, item 10: a snapshot copied from another repository that shares the first
    /// commits: its newest tree is not in this repository, and the report failed.
    #[test]
    fn a_snapshot_from_another_repository_is_not_used() {
        let mut one = TestRepo::new();
        let mut two = TestRepo::new();
        for t in [&mut one, &mut two] {
            t.commit(
                "2026-01-05",
                "init",
                &[
                    ("sloop.toml", Some(CONFIG)),
                    ("accounts/acme.toml", Some(&account("Acme", "working"))),
                ],
            );
        }
        one.commit(
            "2026-01-06",
            "one",
            &[("opportunities/acme-new.toml", Some(&opp("trial", 500)))],
        );
        two.commit(
            "2026-01-06",
            "two",
            &[("opportunities/acme-new.toml", Some(&opp("won", 900)))],
        );
        assert_eq!(report(&one, "2026-12-31"), reuse(None, None));
        std::fs::create_dir_all(two.dir().join(".git/sloop/snapshot-v1")).unwrap();
        let file = snapshot_file(&one);
        std::fs::copy(
            &file,
            two.dir()
                .join(".git/sloop/snapshot-v1")
                .join(file.file_name().unwrap()),
        )
        .unwrap();
        assert_eq!(report(&two, "2026-12-31"), reuse(None, None));
    }

    /// Without `eager_snapshot`, a small catch-up is not written back (the next report does
    /// it again); more than `SLACK_COMMITS` commits or `SLACK_FILES` files, a rebuild or a
    /// rewritten history is.
    #[test]
    fn the_snapshot_is_rewritten_when_it_saves_enough() {
        use crate::history::snapshot::{SLACK_COMMITS, SLACK_FILES};
        let mut t = TestRepo::new();
        t.commit(
            "2026-01-05",
            "init",
            &[
                ("sloop.toml", Some(CONFIG)),
                ("accounts/acme.toml", Some(&account("Acme", "target"))),
            ],
        );
        let report = |t: &TestRepo| report_with(t, "2026-12-31", false);
        let caught_up = |commits, files| reuse(Some(commits), Some(files));
        // Built from scratch: written.
        assert_eq!(report(&t), reuse(None, None));
        assert_eq!(report(&t), caught_up(0, 0));
        let written = std::fs::read(snapshot_file(&t)).unwrap();

        // One new commit: caught up with, not written; the next report does it again.
        t.commit(
            "2026-01-06",
            "work",
            &[("accounts/acme.toml", Some(&account("Acme", "working")))],
        );
        assert_eq!(report(&t), caught_up(1, 1));
        assert_eq!(report(&t), caught_up(1, 1));
        assert_eq!(std::fs::read(snapshot_file(&t)).unwrap(), written);

        // More commits than the slack: written.
        for i in 0..SLACK_COMMITS {
            let path = format!("accounts/a{i}.toml");
            t.commit(
                "2026-01-07",
                "more",
                &[(&path, Some(&account(&format!("A{i}"), "target")))],
            );
        }
        assert_eq!(report(&t), caught_up(SLACK_COMMITS + 1, SLACK_COMMITS + 1));
        assert_eq!(report(&t), caught_up(0, 0));

        // More files than the slack, in one commit: written.
        let files: Vec<(String, String)> = (0..=SLACK_FILES)
            .map(|i| {
                (
                    format!("accounts/b{i}.toml"),
                    account(&format!("B{i}"), "target"),
                )
            })
            .collect();
        let changes: Vec<(&str, Option<&str>)> = files
            .iter()
            .map(|(p, c)| (p.as_str(), Some(c.as_str())))
            .collect();
        t.commit("2026-01-08", "import", &changes);
        assert_eq!(report(&t), caught_up(1, SLACK_FILES + 1));
        assert_eq!(report(&t), caught_up(0, 0));

        // A rewritten history: written (the amended commit is mined; the records are brought
        // from the snapshot's tree, the commit it replaced, by the one file that differs).
        t.amend(
            "2026-01-09",
            "import, amended",
            &[("accounts/acme.toml", Some(&account("Acme", "customer")))],
        );
        assert_eq!(report(&t), caught_up(1, 1));
        assert_eq!(report(&t), caught_up(0, 0));
    }

    /// The metrics (and lifecycle facts) from the events `history::for_metrics` keeps equal
    /// those from every event, as of each week from `as_of` back to the first commit.
    fn assert_lean_events_suffice(root: &Path, as_of: NaiveDate) {
        let mine = |lean| {
            let options = history::Options {
                cache: false,
                lean,
                ..history::Options::default()
            };
            history::mine(root, &options).unwrap()
        };
        let full = mine(None);
        let lean = mine(Some(history::for_metrics));
        assert!(lean.events.len() < full.events.len());
        let repo = Repo::open(root).unwrap().unwrap();
        let start = full.commits[0].author_date.date_naive();
        let mut as_of = as_of;
        while as_of >= start {
            let at = full
                .commits
                .iter()
                .rposition(|c| c.author_date.date_naive() <= as_of)
                .unwrap();
            let crm = crate::store::load(&repo.tree_source(full.commits[at].id).unwrap())
                .unwrap()
                .crm;
            let context = |events: &[Event]| {
                let events: Vec<Event> = events
                    .iter()
                    .filter(|e| e.date.date_naive() <= as_of)
                    .cloned()
                    .collect();
                let context = metrics::compute(&Inputs {
                    crm: &crm,
                    as_of,
                    events: &events,
                    commits: at + 1,
                    first_commit: Some(start),
                    shallow: false,
                    period: PeriodName::Quarter,
                })
                .unwrap();
                serde_json::to_value(&context).unwrap()
            };
            assert_eq!(
                context(&lean.events),
                context(&full.events),
                "as of {as_of}"
            );
            // And the lifecycle facts of the report's alerts (and of `tick`).
            let facts = |events: &[Event]| crate::lifecycle::facts::from_events(&crm, events, None);
            assert_eq!(facts(&lean.events), facts(&full.events), "as of {as_of}");
            as_of = as_of - chrono::Days::new(7);
        }
    }

    #[test]
    fn lean_events_give_the_metrics_of_every_event() {
        // A simulated team's months.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("crm");
        let end: NaiveDate = "2026-06-30".parse().unwrap();
        crate::demo::generate(
            &root,
            &crate::demo::Options {
                seed: 7,
                months: 4,
                end,
                scale: crate::demo::Scale::Small,
                shard: 0,
            },
        )
        .unwrap();
        assert_lean_events_suffice(&root, end);

        // What the simulation never does: records renamed after they were created (this
        // week's list names them as created), an opportunity deleted (it leaves the weekly
        // pipeline), an account deleted and added again (its status dates from its return).
        let mut t = TestRepo::new();
        let lead = "name = \"Jo\"\ncompany = \"Gamma\"\nstatus = \"new\"\n";
        t.commit(
            "2026-01-05",
            "init",
            &[
                ("sloop.toml", Some(CONFIG)),
                ("accounts/acme.toml", Some(&account("Acme", "working"))),
                ("opportunities/acme-new.toml", Some(&opp("qualified", 500))),
                ("accounts/beta.toml", Some(&account("Beta", "target"))),
                (
                    "contacts/jo.toml",
                    Some("name = \"Jo\"\naccount = \"acme\"\n"),
                ),
                ("leads/2026-01-05-gamma.toml", Some(lead)),
            ],
        );
        t.commit(
            "2026-01-06",
            "work",
            &[
                ("accounts/acme.toml", Some(&account("Acme Inc", "customer"))),
                ("opportunities/acme-new.toml", Some(&opp("trial", 650))),
                (
                    "contacts/jo.toml",
                    Some("name = \"Joanna\"\naccount = \"acme\"\n"),
                ),
                (
                    "leads/2026-01-05-gamma.toml",
                    Some(&lead.replace("\"Jo\"", "\"Joe\"").replace("new", "working")),
                ),
                ("accounts/beta.toml", None),
            ],
        );
        t.commit(
            "2026-01-07",
            "cleanup",
            &[
                ("opportunities/acme-new.toml", None),
                ("accounts/beta.toml", Some(&account("Beta", "target"))),
            ],
        );
        assert_lean_events_suffice(t.dir(), "2026-01-07".parse().unwrap());
    }

    /// `first_commit_date` is the first commit's, even when it holds no record (`sloop init`);
    /// activities count as history even though the metrics never read their events.
    #[test]
    fn the_history_starts_at_the_first_commit() {
        let mut t = TestRepo::new();
        t.commit("2026-01-01", "init", &[("sloop.toml", Some(CONFIG))]);
        t.commit(
            "2026-01-05",
            "first call",
            &[(
                "activities/2026/01/call.toml",
                Some("kind = \"call\"\ndate = 2026-01-05\nowner = \"alice\"\n"),
            )],
        );
        let as_of = "2026-12-31".parse().unwrap();
        let built = context(
            t.dir(),
            &snapshot::Options {
                as_of,
                cache: false,
                eager_snapshot: false,
            },
            PeriodName::Quarter,
        )
        .unwrap();
        assert_eq!(built.context.history.commits, 2);
        assert_eq!(
            built.context.history.first_commit_date.as_deref(),
            Some("2026-01-01")
        );
        assert!(built.events.is_empty(), "activity events are not kept");
        assert_eq!(built.crm.activities.len(), 1);
    }

    /// SplitMix64: a deterministic stream for generated histories and damage.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.below(from.len())]
        }
    }

    /// One commit's worth of generated changes to the CRM in `crm` (`"east/"`): accounts
    /// and opportunities changing status, stage, name and MRR, calls (touchpoints for tick),
    /// deletions, and now and then a file that does not parse (removed by the next commit).
    fn generated(
        rng: &mut Rng,
        crm: &str,
        day: NaiveDate,
        broken: &mut Vec<String>,
    ) -> Vec<(String, Option<String>)> {
        const STATUSES: &[&str] = &[
            "qualified_pool",
            "target",
            "working",
            "customer",
            "churn",
            "backlog",
        ];
        const STAGES: &[&str] = &[
            "identified",
            "qualified",
            "trial",
            "closing",
            "commit",
            "won",
            "lost",
        ];
        let mut out = Vec::new();
        out.extend(broken.drain(..).map(|path| (path, None)));
        for _ in 0..1 + rng.below(3) {
            match rng.below(10) {
                0..=2 => {
                    let i = rng.below(8);
                    let status = rng.pick(STATUSES);
                    let mut text = format!(
                        "name = \"A{i} {}\"\nstatus = \"{status}\"\nowner = \"alice\"\n",
                        rng.below(3)
                    );
                    if status == "backlog" {
                        text += &format!(
                            "backlog_until = {}\nfit = \"high\"\n",
                            day + chrono::Days::new(rng.below(60) as u64)
                        );
                    }
                    out.push((format!("{crm}accounts/a{i}.toml"), Some(text)));
                }
                3..=5 => {
                    let stage = rng.pick(STAGES);
                    let mut text = format!(
                        "name = \"O {}\"\naccount = \"a{}\"\nowner = \"alice\"\nstage = \"{stage}\"\nsource = \"inbound\"\nmrr = {}\nclose_date = {}\n",
                        rng.below(3),
                        rng.below(8),
                        100 * rng.below(20),
                        day + chrono::Days::new(rng.below(90) as u64),
                    );
                    match stage {
                        "won" => {
                            text += &format!("\n[commit]\nplan = \"pro\"\nstart_date = {day}\n")
                        }
                        "lost" => text += "lost_reason = \"price\"\n",
                        _ => {}
                    }
                    out.push((
                        format!("{crm}opportunities/o{}.toml", rng.below(6)),
                        Some(text),
                    ));
                }
                6 | 7 => {
                    let text = format!(
                        "kind = \"call\"\ndate = {day}\naccount = \"a{}\"\nowner = \"alice\"\nduration_min = 10\n",
                        rng.below(8)
                    );
                    let path = format!("{crm}activities/2026/{day}-call-{}.toml", rng.below(1000));
                    out.push((path, Some(text)));
                }
                8 => {
                    let path = format!("{crm}leads/broken-{}.toml", rng.below(1000));
                    out.push((path.clone(), Some("name = \"unclosed\n".into())));
                    broken.push(path);
                }
                _ => out.push((format!("{crm}opportunities/o{}.toml", rng.below(6)), None)),
            }
        }
        out
    }

    /// `bytes` damaged at random offsets: one bit flipped (half the time: what most often
    /// still decodes), a few bytes changed, or the file cut short.
    fn damaged(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
        let mut out = bytes.to_vec();
        match rng.below(4) {
            0 | 1 => {
                let at = rng.below(out.len());
                out[at] ^= 1 << rng.below(8);
            }
            2 => {
                for _ in 0..2 + rng.below(3) {
                    let at = rng.below(out.len());
                    out[at] ^= 1 + rng.below(255) as u8;
                }
            }
            _ => out.truncate(rng.below(out.len())),
        }
        out
    }

    /// The report (context and warnings) as of each date and tick's plan, computed with the
    /// caches as they are on disk (or without them).
    type Outputs = (
        Vec<serde_json::Value>,
        Result<crate::lifecycle::Plan, usize>,
    );

    fn outputs(
        root: &Path,
        report_dates: &[NaiveDate],
        tick_date: NaiveDate,
        cache: bool,
    ) -> Outputs {
        outputs_and_warnings(root, report_dates, tick_date, cache).0
    }

    /// `outputs`, and the warnings about damaged caches.
    fn outputs_and_warnings(
        root: &Path,
        report_dates: &[NaiveDate],
        tick_date: NaiveDate,
        cache: bool,
    ) -> (Outputs, Vec<String>) {
        let mut cache_warnings = Vec::new();
        let reports = report_dates
            .iter()
            .map(|&as_of| {
                let options = snapshot::Options {
                    as_of,
                    cache,
                    eager_snapshot: false,
                };
                let built = context(root, &options, PeriodName::Quarter).unwrap();
                cache_warnings.extend(built.cache_warnings);
                serde_json::json!({
                    "context": serde_json::to_value(&built.context).unwrap(),
                    "warnings": built.warnings,
                })
            })
            .collect();
        let plan = plan(root, tick_date, cache, &mut cache_warnings);
        ((reports, plan), cache_warnings)
    }

    /// `tick --dry-run`'s plan, or the number of errors that stop it; without the caches,
    /// computed from HEAD's records and the history mined from scratch.
    fn plan(
        root: &Path,
        as_of: NaiveDate,
        cache: bool,
        cache_warnings: &mut Vec<String>,
    ) -> Result<crate::lifecycle::Plan, usize> {
        use crate::lifecycle::tick;
        if cache {
            let options = tick::Options {
                as_of,
                now: as_of
                    .and_hms_opt(12, 0, 0)
                    .unwrap()
                    .and_utc()
                    .fixed_offset(),
                mode: tick::Mode::DryRun,
                author: None,
                committer: None,
            };
            return match tick::run(root, &options) {
                Ok(outcome) => {
                    cache_warnings.extend(outcome.cache_warnings);
                    Ok(outcome.plan)
                }
                Err(tick::TickError::Invalid { errors, .. }) => Err(errors),
                Err(e) => panic!("{e}"),
            };
        }
        let repo = Repo::open(root).unwrap().unwrap();
        let head = repo.head().unwrap().unwrap();
        let loaded = crate::store::load(&repo.tree_source(head).unwrap()).unwrap();
        let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            return Err(errors);
        }
        let options = history::Options {
            cache: false,
            lean: Some(history::for_lifecycle),
            ..history::Options::default()
        };
        let mined = history::mine(root, &options).unwrap();
        let facts = tick::facts_from_history(&repo, &loaded.crm, &mined.commits, &mined.events);
        Ok(crate::lifecycle::plan(&loaded.crm, &facts, as_of).expect("a date in range"))
    }

    /// A CRM's two cache files (history cache, snapshot), as bytes: `None` when absent.
    type Files = [Option<Vec<u8>>; 2];

    fn cache_files(root: &Path) -> [std::path::PathBuf; 2] {
        let (history, snapshot) = snapshot::cache_files(root);
        [history, snapshot]
    }

    fn save(root: &Path) -> Files {
        cache_files(root).map(|f| std::fs::read(f).ok())
    }

    fn put(root: &Path, files: &Files) {
        for (file, bytes) in cache_files(root).iter().zip(files) {
            match bytes {
                Some(b) => {
                    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                    std::fs::write(file, b).unwrap();
                }
                None => {
                    let _ = std::fs::remove_file(file);
                }
            }
        }
    }

    /// The caches written at HEAD for `root`: a report's snapshot, a full mining's history.
    fn warm(root: &Path) -> Files {
        let options = snapshot::Options {
            as_of: "2030-01-01".parse().unwrap(),
            cache: true,
            eager_snapshot: true,
        };
        context(root, &options, PeriodName::Quarter).unwrap();
        history::mine(root, &history::Options::default()).unwrap();
        save(root)
    }

    /// Issue 18: a report (and tick's plan, and the mined history) with the caches in any
    /// state equals the one computed without them. Over generated histories of two CRMs in one
    /// repository, each of the CRM's two cache files is missing, current, stale (written at an
    /// older commit; for the snapshot also at a commit since amended), damaged (bytes flipped,
    /// cut short) or the other CRM's; and the whole cache folder is missing. Each state is
    /// then used twice: the first run says once what it found damaged, the second is quiet.
    #[test]
    fn any_cache_state_gives_the_report_computed_from_scratch() {
        for seed in 1..=2u64 {
            let mut rng = Rng(seed);
            let mut t = TestRepo::new();
            let (east, west) = (t.dir().join("east"), t.dir().join("west"));
            for crm in [&east, &west] {
                std::fs::create_dir_all(crm).unwrap();
            }
            let mut day: NaiveDate = "2026-01-05".parse().unwrap();
            let (mut broken_east, mut broken_west) = (Vec::new(), Vec::new());
            let commits = 24;
            let mut stale = None;
            let mut rewritten = None;
            let mut mid = day;
            for i in 0..commits {
                let mut changes = generated(&mut rng, "east/", day, &mut broken_east);
                changes.extend(generated(&mut rng, "west/", day, &mut broken_west));
                if i == 0 {
                    for crm in ["east/", "west/"] {
                        changes.push((format!("{crm}sloop.toml"), Some(CONFIG.into())));
                    }
                }
                if i == commits / 2 {
                    let config = format!("currency = \"USD\"\n{CONFIG}");
                    changes.push(("east/sloop.toml".into(), Some(config)));
                    mid = day;
                }
                if i == commits - 1 {
                    // HEAD parses, so that tick plans.
                    for b in broken_east.drain(..).chain(broken_west.drain(..)) {
                        changes.push((b, None));
                    }
                }
                let changes: Vec<(&str, Option<&str>)> = changes
                    .iter()
                    .map(|(p, c)| (p.as_str(), c.as_deref()))
                    .collect();
                t.commit(&day.to_string(), "work", &changes);
                if i == commits / 3 {
                    stale = Some(warm(&east));
                }
                if i == 2 * commits / 3 {
                    rewritten = Some(warm(&east)[1].clone());
                    let path = "east/accounts/a0.toml";
                    let text = "name = \"Amended\"\nstatus = \"target\"\nowner = \"alice\"\n";
                    t.amend(&day.to_string(), "work, amended", &[(path, Some(text))]);
                }
                day = day + chrono::Days::new(1 + rng.below(4) as u64);
            }
            let (stale, rewritten) = (stale.unwrap(), rewritten.unwrap());
            let current = warm(&east);
            let other = warm(&west);
            let id_file = t.dir().join(".git/sloop/repository-id");
            let id = std::fs::read(&id_file).unwrap();

            let report_dates = [day, mid];
            let tick_date = day + chrono::Days::new(40);
            let fresh = outputs(&east, &report_dates, tick_date, false);
            let fresh_events = history::mine(&east, &uncached_history()).unwrap().events;
            assert!(fresh.1.is_ok(), "seed {seed}: tick plans at HEAD");

            let histories = [
                ("missing", None),
                ("current", current[0].clone()),
                ("stale", stale[0].clone()),
                ("the other CRM's", other[0].clone()),
            ];
            let snapshots = [
                ("missing", None),
                ("current", current[1].clone()),
                ("stale", stale[1].clone()),
                ("rewritten", rewritten),
                ("the other CRM's", other[1].clone()),
            ];
            // Each state, and which of its damaged files the first run must have rebuilt.
            let mut states: Vec<(String, Files, [bool; 2])> = Vec::new();
            for (h, history_file) in &histories {
                for (s, snapshot_file) in &snapshots {
                    let what = format!("history cache {h}, snapshot {s}");
                    let files = [history_file.clone(), snapshot_file.clone()];
                    states.push((what, files, [false; 2]));
                }
            }
            // Damage, many times over: most of a file is records and events the report
            // reads, so that most damage that still decodes changes the report.
            let mut damage = |b: &Option<Vec<u8>>| Some(damaged(b.as_deref().unwrap(), &mut rng));
            for k in 0..12 {
                let files = if k % 3 == 2 { &stale } else { &current };
                let what = if k % 3 == 2 { "stale" } else { "current" };
                states.push((
                    format!("history cache {what}, snapshot {what} damaged (#{k})"),
                    [files[0].clone(), damage(&files[1])],
                    [false, true],
                ));
                states.push((
                    format!("history cache {what} damaged (#{k}), snapshot missing"),
                    [damage(&files[0]), None],
                    [true, false],
                ));
            }
            let lines = |bytes: &Option<Vec<u8>>| -> HashSet<Vec<u8>> {
                let bytes = bytes.as_deref().unwrap_or_default();
                bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
            };
            for (what, state, rebuilt) in &states {
                let what = format!("seed {seed}, {what}");
                // The report and tick (twice after damage: the second run reads what the
                // first left, and says nothing).
                put(&east, state);
                let first = outputs(&east, &report_dates, tick_date, true);
                assert_eq!(first, fresh, "{what}");
                // A damaged file is never used as it is: whatever damage the report would not
                // show, the file is written again as it should be.
                let [history_now, snapshot_now] = save(&east);
                if rebuilt[0] {
                    // Every line one the sound file has (the lines mined again are at its
                    // end, and a damaged stale line is not mined again).
                    let extra: Vec<_> = lines(&history_now)
                        .difference(&lines(&current[0]))
                        .map(|l| String::from_utf8_lossy(l).into_owned())
                        .collect();
                    assert!(extra.is_empty(), "{what}: {extra:?}");
                }
                if rebuilt[1] {
                    assert_eq!(snapshot_now, current[1], "{what}: rebuilt");
                }
                if rebuilt.contains(&true) {
                    let (again, warned) =
                        outputs_and_warnings(&east, &report_dates, tick_date, true);
                    assert_eq!(again, fresh, "{what}, again");
                    assert_eq!(warned, Vec::<String>::new(), "{what}: said once");
                }
                // What export and history read (from the history cache alone).
                if state[1].is_none() {
                    put(&east, state);
                    let mined = history::mine(&east, &history::Options::default()).unwrap();
                    assert_eq!(mined.events, fresh_events, "{what}: mined");
                    let quiet = history::mine(&east, &history::Options::default()).unwrap();
                    assert_eq!(quiet.stats.cache_damage, None, "{what}: said once");
                }
            }
            // No cache at all, not even the repository's id.
            std::fs::remove_dir_all(t.dir().join(".git/sloop")).unwrap();
            assert_eq!(outputs(&east, &report_dates, tick_date, true), fresh);
            assert_ne!(std::fs::read(&id_file).unwrap(), id, "a new id");
        }
    }

    fn uncached_history() -> history::Options {
        history::Options {
            cache: false,
            ..history::Options::default()
        }
    }
}
