//! sloop: a git-backed, plain-text CRM toolkit.
//!
//! The library is the functional core: it loads a CRM from a [`store::Source`], validates it
//! ([`check`]), and never prints, reads the clock or the environment. The `sloop` binary is
//! the thin shell around it.

pub mod agenda;
pub mod check;
pub mod cli;
pub mod codec;
pub mod config;
pub mod demo;
pub mod diag;
pub mod facts;
pub mod git;
pub mod history;
pub mod import;
pub mod ingest;
pub mod lifecycle;
pub mod metrics;
pub mod model;
pub mod report;
pub mod reporting;
pub mod store;
pub mod tick;
pub mod transition;
pub mod verify;
pub mod writes;
