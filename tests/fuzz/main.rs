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
//! | ingest | `writes::ingest::read` (email, mail-parser) and `writes::new_record` | `ingest` |
//! | pipeline | `store::load` → `check` → `lifecycle::plan` → `report::metrics::compute` → templates | `pipeline` |
//!
//! `cargo test --test fuzz` runs a fixed number of cases per target (about half a minute in
//! a debug build on two cores). Longer: `SLOOP_FUZZ_SECONDS=600 SLOOP_FUZZ_SEED=$RANDOM
//! cargo test --release --test fuzz` (`engine::Budget` lists the variables).
//!
//! Adding a target (say `.ics` files, once `sloop ingest ics` exists) is one module with
//! one check function and three tests:
//!
//! ```ignore
//! pub fn check(file: &Bytes) -> Result<(), String> {
//!     let Ok(events) = sloop::writes::ics::read(crm(), &file.bytes) else { return Ok(()) };
//!     /* what must hold for what was read */
//!     Ok(())
//! }
//! #[test] fn ics_seeds() { engine::run_seeds("ics", &bytes_of(engine::corpus("ics")), check) }
//! #[test] fn ics_mutated() { engine::run("ics", "mutated", 500, engine::mutated(Arc::new(engine::corpus("ics")), ICS_TOKENS), check) }
//! #[test] fn ics_structured() { engine::run("ics", "structured", 500, gen_ics(), check) }
//! ```
//!
//! with seeds in `tests/fuzz/corpus/ics/`.

mod config;
mod engine;
mod gen;
mod import;
mod ingest;
mod pipeline;
mod props;
mod records;
mod regressions;
