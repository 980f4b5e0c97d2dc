//! Imports: what `sloop import` plans from a vendor's export, before anything is written.
//! `table` reads any export (encoding, CSV dialect, header, footer) and `values` types its
//! cells (numbers, dates, countries, domains, people); `leads` plans `sloop import leads`.
//! Pure: bytes in, a plan out; the shell writes.

pub mod crm;
pub mod export;
pub mod hubspot;
pub mod leads;
pub mod mapping;
pub mod pipedrive;
pub mod read;
pub mod salesforce;
pub mod sheet;
pub mod table;
pub mod values;

pub use leads::{plan, recognise, ImportError, Options, Plan, Rejected, TARGETS};
