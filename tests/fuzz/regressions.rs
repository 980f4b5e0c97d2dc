//! Minimal inputs the fuzz targets found that were not fixed at once, each a test that
//! states what should hold, ignored until the fix lands (the fixed ones are unit tests next to the
//! code they pin: `diag`, `store`, `store::edit`, `store::parse`, `config`, `model::ids`,
//! `writes::import`, `writes::ingest`). `cargo test --test fuzz -- --ignored` runs them.

use chrono::{Datelike, NaiveDate};

use sloop::crm::Crm;
use sloop::lifecycle::{self, Facts};
use sloop::model::dates;
use sloop::report::metrics::{self, Inputs, PeriodName};
use sloop::store::{self, Memory};

/// pipeline (extreme dates), issue 18 #9: the metrics subtracted weeks and a year from the
/// as-of date unchecked (`as_of - Days::new(365)`), so a report as of chrono's first day
/// panicked. Fixed in main (`model::dates`): such a date is refused with an error.
#[test]
fn a_report_as_of_the_first_representable_day_is_refused_not_a_panic() {
    for (as_of, ok) in [
        (NaiveDate::MIN, false),
        (NaiveDate::MAX, false),
        (dates::FIRST, true),
        (dates::LAST, true),
    ] {
        let context = metrics::compute(&Inputs {
            crm: &Crm::default(),
            as_of,
            events: &[],
            commits: 0,
            first_commit: None,
            shallow: false,
            period: PeriodName::Quarter,
        });
        assert_eq!(context.is_ok(), ok, "{as_of}");
    }
}

/// pipeline: from as-of 9999-07-05 on, `opportunities-lost` and `target-stale` plan
/// `backlog_until = as_of + backlog_days`, a year TOML cannot write, so `tick` stops with
/// "cannot be written: the year of +10000-… is outside 0000–9999" instead of turning the
/// move into an alert. Fixed: the backlog ends on 9999-12-31 at the latest.
#[test]
fn a_tick_near_year_9999_plans_only_dates_toml_can_write() {
    let files = [
        ("sloop.toml", "[team.al]\nname = \"Al\"\n"),
        (
            "accounts/acme.toml",
            "name = \"Acme\"\nstatus = \"target\"\nowner = \"al\"\n",
        ),
    ];
    let crm = store::load(&Memory::new(files.map(|(p, t)| (p, t.as_bytes().to_vec()))))
        .expect("a CRM")
        .crm;
    let as_of = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date");
    let facts = Facts {
        status_since: [(
            "acme".to_string(),
            NaiveDate::from_ymd_opt(9999, 1, 1).expect("a date"),
        )]
        .into_iter()
        .collect(),
        ..Facts::default()
    };
    let plan = lifecycle::plan(&crm, &facts, as_of).expect("a date sloop computes with");
    for m in &plan.moves {
        if m.field == "backlog_until" {
            let to = m.to.as_deref().unwrap_or("");
            assert!(
                to.parse::<NaiveDate>().is_ok_and(|d| d.year() <= 9999),
                "{m:?}"
            );
        }
    }
}
