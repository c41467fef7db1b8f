//! What the commands and the controller are told to do, as plain values
//! without clap: `cli` parses the command line into these, and the exit
//! status every command ends with (DESIGN.md's CLI contract).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::nats::ConnectOptions;
use crate::spec::common::UnmanagedConsumers;
use crate::spec::units::Duration;

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

/// How to reach NATS, as given on the command line; the environment and the
/// nats CLI context fill in what is left out when connecting.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    pub servers: Vec<String>,
    pub context: Option<String>,
    pub creds: Option<PathBuf>,
    pub nkey: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    pub tls_ca: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_first: bool,
    pub js_domain: Option<String>,
    /// Timeout for connecting and for each API request.
    pub timeout: Duration,
}

impl ConnectionSettings {
    /// The options to connect with these settings.
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            servers: self.servers.clone(),
            context: self.context.clone(),
            creds: self.creds.clone(),
            nkey: self.nkey.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            token: self.token.clone(),
            tls_ca: self.tls_ca.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            tls_first: self.tls_first,
            js_domain: self.js_domain.clone(),
            timeout: self.timeout.as_std(),
            ..ConnectOptions::default()
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
    pub connection: ConnectionSettings,
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
