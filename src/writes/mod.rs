//! What the write commands put on disk, decided before anything is written: new and edited
//! records judged like `sloop check` (`validate`), leads planned from a CSV export
//! (`import`), email activities from messages (`ingest`), and the onboarding hand-off task of a
//! won deal (`handoff`). Pure: the shell writes.

pub mod handoff;
pub mod import;
pub mod index;
pub mod ingest;
pub mod known;
pub mod slim;
pub mod validate;

pub use known::Known;
pub use validate::{
    convert_lead, edit_record, edit_record_in, find, is_free_mail, known_stage, new_record,
    new_record_in, parse_assignments, typed_value, unique_id, validate, validate_in, Conversion,
    Edited, NewFile, WriteError, FREE_MAIL,
};
