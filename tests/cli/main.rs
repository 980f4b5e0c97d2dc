//! End-to-end tests: the real binary against real folders and git repositories.

mod attribution;
mod capture;
mod check;
mod demo;
mod docs;
mod errors;
mod faults;
mod help;
mod inbound;
mod init;
mod layout;
mod lifecycle;
mod limits;
mod ls;
mod pullrequest;
mod reads;
mod report;
mod schema;
mod serve;
mod terminal;
mod tick;
mod transitions;
mod untrusted;
mod util;
mod views;
mod writes;
