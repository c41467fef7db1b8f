//! Plans and reports for people and machines.

pub mod human;
