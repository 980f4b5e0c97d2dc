//! What the write commands put on disk, decided before anything is written: new and edited
//! records judged like `sloop check` (`validate`), leads planned from a CSV export
//! (`import`), email activities from messages (`ingest`), and the onboarding hand-off task of a
//! won deal (`handoff`). Pure: the shell writes.

pub mod handoff;
pub mod import;
pub mod index;
pub mod ingest;
pub mod slim;
pub mod validate;

pub use validate::{
    convert_lead, edit_record, find, is_free_mail, known_stage, new_record, parse_assignments,
    typed_value, unique_id, validate, Conversion, Edited, NewFile, WriteError, FREE_MAIL,
};
