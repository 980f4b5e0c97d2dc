//! The sales loop's time-based moves: the rules (`rules`, pure: a plan from the CRM, the facts
//! and a date), the facts they need from the history (`facts`, pure), the work each member
//! has waiting (`agenda`, pure), and `tick`, which plans from git and commits the moves.

pub mod agenda;
pub mod facts;
pub mod rules;
pub mod tick;

pub use rules::{plan, Alert, Facts, Move, Plan, Rule};
