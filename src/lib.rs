//! jetsync: keeps NATS JetStream assets in the state declared in Git.
//!
//! `spec` is the model and its static validation, `manifest` reads documents
//! from files; both are pure. `cli` is the command-line front door.

pub mod apply;
pub mod cli;
pub mod commands;
pub mod controller;
pub mod diagnostics;
pub mod engine;
pub mod manifest;
pub mod nack;
pub mod nats;
pub mod parallel;
pub mod plan;
pub mod render;
pub mod resources;
pub mod saved_plan;
pub mod schema;
pub mod settings;
pub mod spec;
