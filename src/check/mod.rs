//! Checking a CRM: the rules over a loaded CRM (`rules`, pure), the judgement of one record's
//! change between two versions (`transition`, pure), and the three modes that feed them from
//! git (`modes`: the work tree, the staged index, a commit range).

pub mod modes;
pub mod rules;
pub mod transition;

pub use rules::{
    account_has, account_missing, check, check_some, loc_of, opportunity_has, opportunity_missing,
    requirements_of, Index, Resolver,
};
