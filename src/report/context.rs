//! Builds the report context: mines the history (cached), loads the CRM as committed on the
//! as-of date with the one loader, and computes the metrics.

use std::path::Path;

use chrono::NaiveDate;

use crate::crm::Crm;
use crate::git::{GitError, Repo};
use crate::history::Event;
use crate::model::dates::{self, DateError};
use crate::report::metrics::{self, Context, Inputs};
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

/// Mines the history and computes the context for `as_of`.
pub fn context(root: &Path, opts: &Options) -> Result<Built, ReportingError> {
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
            "the CRM at {} has {} error(s) (`sloop check`): those records may count wrongly",
            commit.id.short(),
            inputs.errors
        ));
    }
    let events: Vec<Event> = inputs
        .events
        .into_iter()
        .filter(|e| e.date.date_naive() <= opts.as_of)
        .collect();
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
    })?;
    Ok(Built {
        context,
        warnings,
        events,
        crm: inputs.crm,
        reuse: inputs.reuse,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::testing::TestRepo;
    use crate::history;

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
            let built = context(t.dir(), &options).unwrap();
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
}
