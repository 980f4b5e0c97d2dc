//! The conversation, captured: email messages (`email`), whole mailboxes (`mailbox`),
//! calendars (`ics`) and phone-system call logs (`calls`) become activities. Pure: bytes in,
//! planned records out; the shell reads the files and writes.

mod email;

pub use email::*;
