//! Reports: every number (`metrics`, pure: the CRM at a date and its events in, the context
//! out), the inputs from git and the snapshot (`context`), and rendering (`render`: tera
//! templates, filters and SVG charts).

pub mod context;
pub mod metrics;
pub mod render;

pub use context::{context, Built, ReportingError};
pub use render::{available, md_cell, money, render, ReportError};
