//! sloop: a git-backed, plain-text CRM toolkit.
//!
//! The library is the functional core: it loads a CRM from a [`store::Source`] into a
//! [`crm::Crm`], validates it ([`check`]), plans the lifecycle ([`lifecycle`]), mines the
//! history ([`history`]) and computes reports ([`report`]); it never prints, reads the clock
//! or the environment. Only [`git`] talks to git. The `sloop` binary is the thin shell
//! around it. ARCHITECTURE.md is the map.

pub mod check;
pub mod cli;
pub mod config;
pub mod crm;
pub mod demo;
pub mod diag;
pub mod escape;
pub mod git;
pub mod history;
pub mod lifecycle;
pub mod model;
pub mod report;
pub mod serve;
pub mod store;
pub mod writes;
