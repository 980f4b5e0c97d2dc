//! The fuzz harness: one target per parser, run by `cargo test` on stable Rust.
//!
//! Each target feeds its parser (a) every seed of its corpus as it is, (b) the seeds mutated
//! (bit flips, truncation, splices, significant tokens, huge numbers, deep nesting, invalid
//! UTF-8, CRLF, BOMs, control characters: `engine::Mutation`) and (c) inputs generated from
//! the format's grammar (`gen`), and checks properties beyond "no panic" (see each target).
//! Proptest drives the cases from a fixed seed and shrinks a failure to a minimal input,
//! printed as a byte string ready for `regressions.rs`.
//!
//! | target | parser | module |
//! | --- | --- | --- |
//! | records | `store::load_file`, `history::parse_fields`, `store::edit::RecordEdit` | `records` |
//! | config | `store::parse_config` (`Config::parse`), then `check` and `lifecycle::plan` | `config` |
//! | import | `writes::import::plan` (CSV) | `import` |
//! | ingest | `writes::ingest::email::read` (email, mail-parser) and `writes::ingest::Batch` | `ingest` |
//! | ics | `writes::ingest::ics::read` (calendars: folding, time zones, recurrences) and `writes::ingest::Batch` | `ics` |
//! | calls | `writes::import::table::detect`/`Utf8Reader` and `writes::ingest::calls::CallLog` (call logs) and `writes::ingest::Batch` | `calls` |
//! | pipeline | `store::load` → `check` → `lifecycle::plan` → `report::metrics::compute` → templates | `pipeline` |
//!
//! `cargo test --test fuzz` runs a fixed number of cases per target (about half a minute in
//! a debug build on two cores). Longer: `SLOOP_FUZZ_SECONDS=600 SLOOP_FUZZ_SEED=$RANDOM
//! cargo test --release --test fuzz` (`engine::Budget` lists the variables).
//!
//! Adding a target (say call logs) is one module with one check function and its tests
//! (`ics` is the shortest example):
//!
//! ```ignore
//! pub fn check(file: &Bytes) -> Result<(), String> {
//!     let Ok(calls) = /* the parser */ else { return Ok(()) };
//!     /* what must hold for what was read */
//!     Ok(())
//! }
//! #[test] fn calls_seeds() { engine::run_seeds("calls", &bytes_of(engine::corpus("calls")), check) }
//! #[test] fn calls_mutated() { engine::run("calls", "mutated", 500, engine::mutated(Arc::new(engine::corpus("calls")), TOKENS), check) }
//! ```
//!
//! with seeds in `tests/fuzz/corpus/calls/`.

mod calls;
mod config;
mod engine;
mod gen;
mod ics;
mod import;
mod ingest;
mod pipeline;
mod props;
mod records;
mod regressions;
