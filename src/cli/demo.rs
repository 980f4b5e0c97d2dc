use std::path::{Path, PathBuf};

use super::{CliError, Env, Out, Status};
use crate::demo::{self, Options};
use crate::history::snapshot;
use crate::report;

/// Create a demo CRM: a simulated team of five selling for months, as a git repository with
/// one commit per action and a daily `sloop tick`; then render its dashboard (report.html) and
/// weekly report (weekly.md) into it.
///
/// Deterministic: the same seed gives the same records and the same commit ids.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to create it (must not exist, or be empty).
    #[arg(value_name = "DIR", default_value = "demo-crm")]
    pub path: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many months to simulate, ending on 2026-11-26.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=60))]
    pub months: u32,
    /// `small`: a team of five, a few hundred accounts, in seconds. `large`: the benchmark CRM
    /// (a team of eighteen; ~20,000 accounts, 50,000 contacts, 15,000 opportunities, 200,000
    /// activities and 30,000 commits over 12 months), in a few minutes.
    #[arg(long, value_enum, default_value_t = ScaleArg::Small)]
    pub scale: ScaleArg,
    /// Shard record folders: write `shard = N` (default 2) in sloop.toml and put each new
    /// record under a folder named after the first N characters of its id
    /// (`accounts/ac/acme.toml`).
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "2",
          value_parser = clap::value_parser!(u8).range(1..=8))]
    pub shard: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScaleArg {
    Small,
    Large,
}

/// The last simulated day (checked when compiling: a const panic is a build error).
const DEMO_END: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(2026, 11, 26) {
    Some(d) => d,
    None => panic!("2026-11-26 is a date"),
};

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let target = env.base(dir).join(&args.path);
    let end = DEMO_END;
    let summary = demo::generate(
        &target,
        &Options {
            seed: args.seed,
            months: args.months,
            end,
            scale: match args.scale {
                ScaleArg::Small => demo::Scale::Small,
                ScaleArg::Large => demo::Scale::Large,
            },
            shard: args.shard.unwrap_or(0),
        },
    )
    .map_err(|e| CliError::usage(e.to_string()))?;
    // The benchmark CRM is left cold: `scripts/bench` times the first `sloop report` itself.
    let reports = args.scale == ScaleArg::Small;
    if reports {
        let built = report::context(
            &target,
            &snapshot::Options {
                as_of: end,
                cache: true,
                eager_snapshot: false,
            },
            crate::report::metrics::PeriodName::Quarter,
        )?;
        let value = super::to_json(&built.context)?;
        for (template, file) in [
            ("dashboard.html", "report.html"),
            ("weekly.md", "weekly.md"),
        ] {
            let text = crate::report::render(template, &value, None)?;
            let path = target.join(file);
            std::fs::write(&path, text)
                .map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))?;
        }
    }
    let shown = args.path.display();
    out.println(&format!(
        "Created {shown}: {}, ending {end}",
        crate::diag::count(summary.commits, "commit")
    ))?;
    let statuses: Vec<String> = summary
        .accounts_by_status
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    out.println(&format!("  accounts: {}", statuses.join(", ")))?;
    out.println(&format!(
        "  opportunities: {} open ({} MRR in the pipeline), {} won, {} lost; MRR {}",
        summary.open_opportunities,
        crate::report::money(summary.open_pipeline),
        summary.won,
        summary.lost,
        crate::report::money(summary.mrr)
    ))?;
    if reports {
        out.println(&format!(
            "  dashboard: {shown}/report.html   weekly report: {shown}/weekly.md"
        ))?;
    } else {
        out.println(&format!(
            "  reports: not rendered at this scale (run `sloop -C {shown} report`)"
        ))?;
    }
    out.println(&format!(
        "Next: sloop -C {shown} check --range HEAD~50..HEAD, sloop -C {shown} agenda --all"
    ))?;
    Ok(Status::Ok)
}
