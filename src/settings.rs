//! What the commands and the controller are told to do, as plain values
//! without clap: `cli` parses the command line into these, and the exit
//! status every command ends with (DESIGN.md's CLI contract).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::nats::ConnectOptions;
use crate::spec::common::UnmanagedConsumers;

/// How a command ended, mapped to the process exit code (DESIGN.md's CLI contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the command did what was asked (`validate`: the manifests are valid).
    Success,
    /// 1: the input was invalid or the command failed (`diff`: differences found).
    Failure,
    /// 2: `plan --detailed-exitcode` found changes; `diff` failed.
    Changes,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Changes => ExitCode::from(2),
        }
    }
}

/// What every engine command (plan, diff, apply) reads and how it decides.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Manifest files or directories; `-` is stdin.
    pub filenames: Vec<PathBuf>,
    /// More manifest files or directories, as with `filenames`.
    pub paths: Vec<PathBuf>,
    /// Whose assets these are (the `jetsync.dev/owner` marker).
    pub owner: String,
    /// Delete assets managed by this owner that are no longer declared.
    pub prune: bool,
    /// With `prune`: allow deleting everything this owner manages in the selection.
    pub prune_all: bool,
    /// What may become of other applications' durable consumers.
    pub unmanaged_consumers: UnmanagedConsumers,
    /// Take over existing assets that this owner does not manage.
    pub adopt: bool,
    /// Replace assets whose change cannot be made in place.
    pub allow_replace: bool,
    /// Plan only these asset addresses.
    pub targets: Vec<String>,
    /// Plan only manifests whose labels match (`key=value`).
    pub selectors: Vec<String>,
    /// How the plan is printed.
    pub output: PlanOutput,
    /// The default connection.
    pub connection: ConnectOptions,
}

/// How plan, diff and apply print the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanOutput {
    /// Coloured text with `+ ~ -/+ -` marks, for people.
    Human,
    /// The JSON plan document.
    Json,
    /// A pull-request comment body.
    Markdown,
    /// GitHub Actions annotations and a step summary.
    Github,
}
