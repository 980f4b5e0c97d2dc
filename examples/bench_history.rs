//! Times history mining on a repository (see `gen_history`).
//!
//!     cargo run --release --example bench_history -- DIR [MODE] [--threads N] [--no-cache]
//!
//! DIR is the CRM root (the repository root or a folder in it). Modes:
//!
//! - `diff`: list the first-parent commits and diff each against its parent, in one batch as
//!   mining does, reading no blob (what `git log --raw` does);
//! - `walk`: the same, plus reading every changed blob: the git part of mining, one thread;
//! - `walk1`: `walk` with one `changed_files` call per commit instead of a batch;
//! - `mine` (default): `history::mine`: diff, parse, events, cache.

use std::time::Instant;

use sloop::git::Walker as Repo;
use sloop::history::{self, Options};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::Path::new(args.first().expect("usage: bench_history DIR [walk|mine]"));
    let mode = args.get(1).map(String::as_str).unwrap_or("mine");
    let flag = |name: &str| args.iter().position(|a| a == name);
    match mode {
        "walk" => walk(dir, true, true),
        "walk1" => walk(dir, false, true),
        "diff" => walk(dir, true, false),
        "mine" => {
            let options = Options {
                cache: flag("--no-cache").is_none(),
                threads: flag("--threads")
                    .and_then(|i| args.get(i + 1))
                    .map(|n| n.parse().expect("--threads N"))
                    .unwrap_or(0),
                ..Options::default()
            };
            let t = Instant::now();
            let h = history::mine(dir, &options).expect("mine");
            println!(
                "mine: {:.3?} for {} commits ({} mined, {} cached), {} events, {} warnings{}",
                t.elapsed(),
                h.stats.commits,
                h.stats.mined,
                h.stats.cached,
                h.events.len(),
                h.warnings.len(),
                h.stats
                    .cache_error
                    .map(|e| format!(", cache error: {e}"))
                    .unwrap_or_default()
            );
        }
        other => panic!("unknown mode {other}"),
    }
}

fn walk(dir: &std::path::Path, batch: bool, blobs: bool) {
    let repo = Repo::open(dir).expect("open");
    let prefix = repo.prefix_of(dir).expect("prefix");
    let t = Instant::now();
    let commits = repo.first_parent_commits("HEAD").expect("commits");
    let listed = t.elapsed();
    let t = Instant::now();
    let (mut changes, mut bytes) = (0, 0);
    let mut blob_time = std::time::Duration::ZERO;
    let pairs: Vec<_> = commits
        .iter()
        .enumerate()
        .map(|(i, c)| (i.checked_sub(1).map(|p| commits[p].tree), c.tree))
        .collect();
    let diffs = if batch {
        repo.changed_files_batch(&pairs, &prefix).expect("diff")
    } else {
        pairs
            .iter()
            .map(|(old, new)| repo.changed_files(*old, *new, &prefix).expect("diff"))
            .collect()
    };
    for diff in diffs {
        changes += diff.len();
        let b = Instant::now();
        for id in diff.iter().filter_map(|ch| ch.new).filter(|_| blobs) {
            bytes += repo.read_blob(id).expect("blob").len();
        }
        blob_time += b.elapsed();
    }
    println!(
        "walk: {} commits listed in {listed:.3?}; {changes} changed files diffed and read in {:.3?} (of which blob reads {blob_time:.3?}, {bytes} bytes)",
        commits.len(),
        t.elapsed(),
    );
}
