//! Plans and reports for people and machines.

pub mod github;
pub mod human;
pub mod json;
pub mod markdown;
