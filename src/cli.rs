//! The command line: clap definitions (doc comments are the help text), one
//! function per command, and the exit-code contract.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::commands;
use crate::controller::ControllerSettings;
use crate::diagnostics::Severity;
use crate::manifest;
use crate::nats::ConnectOptions;
use crate::schema;
use crate::settings::{EngineSettings, ExitStatus, PlanOutput};

/// Keeps NATS JetStream streams, consumers, key-value buckets and object
/// stores in the state declared in Git.
#[derive(Debug, Parser)]
#[command(name = "jetsync", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check manifests offline: syntax, fields, names, subjects, ranges and
    /// combinations the server would refuse. Exit 0 when valid, 1 when not.
    Validate(ValidateArgs),
    /// Show what apply would change on the server: creates, updates,
    /// replacements, deletions, adoptions, and drift apart from pending
    /// changes. Writes nothing. Exit 0 (with --detailed-exitcode: 0 no
    /// changes, 2 changes), 1 on error.
    Plan(PlanArgs),
    /// Like plan, with the `kubectl diff` exit codes: 0 in sync, 1
    /// differences, 2 error.
    Diff(EngineArgs),
    /// Make the server match the manifests. Re-plans, prints the plan, then
    /// writes. Exit 0 when converged, 1 on any failure or refused change.
    Apply(ApplyArgs),
    /// Print live assets as manifests, ready to commit: managed ones, or all
    /// with --all; `--out FILE` writes them to a file.
    Export(ExportArgs),
    /// Convert NACK's documents (jetstream.nats.io/v1beta2, v1beta1) to jetsync
    /// documents, read with NACK's semantics: one file per input file under --out
    /// (stdout without it); every decision the conversion made goes to stderr.
    /// Exit 0 converted, 1 on any error (nothing written).
    Convert(ConvertArgs),
    /// Print the CustomResourceDefinitions of every kind, or write them to a directory.
    Crds(CrdsArgs),
    /// Print the JSON Schema of jetsync documents, for editors (yaml-language-server),
    /// or with --plan the schema of the JSON plan document.
    Schema(SchemaArgs),
    /// Run the Kubernetes controller: reconcile Stream, Consumer, KeyValue,
    /// ObjectStore and NatsConnection resources until stopped (SIGTERM).
    Controller(ControllerArgs),
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish,
    /// e.g. `jetsync completion bash > ~/.local/share/bash-completion/completions/jetsync`.
    Completion(CompletionArgs),
    /// Print the man page (roff), or with --out-dir write `jetsync.1` and one page
    /// per command (`jetsync-plan.1`, …) into a directory.
    Man(ManArgs),
}

/// How the controller runs. The connection flags set the default
/// connection, used by resources that name no `NatsConnection`.
#[derive(Debug, Args, Clone)]
pub struct ControllerArgs {
    /// Watch only this namespace (repeatable); all namespaces when omitted.
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub namespaces: Vec<String>,
    /// Read Secrets only in this namespace (repeatable); every watched namespace
    /// when none is given. A NatsConnection elsewhere cannot use a Secret reference.
    #[arg(long = "secret-namespace", value_name = "NAMESPACE")]
    pub secret_namespaces: Vec<String>,
    /// How often every resource is re-checked for drift besides watch events (jittered ±10%).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub drift_interval: crate::spec::units::Duration,
    /// Longest wait between retries of a failing resource (the wait doubles up to it, forever).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub max_retry_interval: crate::spec::units::Duration,
    /// Plan and report in status; write nothing to NATS.
    #[arg(long)]
    pub read_only: bool,
    /// Reconciles running at once, per kind.
    #[arg(long, value_name = "N", default_value_t = crate::controller::DEFAULT_CONCURRENCY)]
    pub concurrency: u16,
    /// Prefix of the ownership marker (`<prefix>/<namespace>/<name>`), e.g. the
    /// cluster's name, so that two clusters sharing a NATS account never claim
    /// each other's assets.
    #[arg(long, env = "JETSYNC_OWNER_PREFIX", value_name = "PREFIX")]
    pub owner_prefix: Option<String>,
    /// Address of the /metrics, /healthz and /readyz endpoint.
    #[arg(long, value_name = "ADDRESS", default_value = "0.0.0.0:8080")]
    pub http_address: std::net::SocketAddr,
    /// Run without leader election (never with more than one replica).
    #[arg(long)]
    pub no_leader_election: bool,
    /// Name of the coordination.k8s.io Lease used for leader election.
    #[arg(long, value_name = "NAME", default_value = "jetsync-controller")]
    pub lease_name: String,
    /// Namespace of the Lease; default `$POD_NAMESPACE`, else the service account's.
    #[arg(long, env = "POD_NAMESPACE", value_name = "NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// This replica's identity in the election and in events; default `$POD_NAME`, else the host name.
    #[arg(long, env = "POD_NAME", value_name = "NAME")]
    pub identity: Option<String>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = crate::controller::LogFormat::Text)]
    pub log_format: crate::controller::LogFormat,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// Manifest files or directories (searched recursively for *.yaml, *.yml); `-` reads stdin.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    filenames: Vec<PathBuf>,
    /// Manifest files or directories, as with `-f`.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = ValidateOutput::Human)]
    output: ValidateOutput,
}

#[derive(Debug, Args)]
struct ConvertArgs {
    /// NACK manifest files or directories (searched recursively for *.yaml, *.yml); `-` reads stdin.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    filenames: Vec<PathBuf>,
    /// Manifest files or directories, as with `-f`.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Write one jetsync file per input file into this directory, keeping
    /// paths below an input directory; print to stdout when omitted.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Write `adopt: true` in every asset document: the controller then takes
    /// over the assets NACK made (the CLI's `apply --adopt` does the same).
    #[arg(long)]
    adopt: bool,
}

/// How to reach NATS. Flags win over the environment (`NATS_URL`,
/// `NATS_CREDS`, …), which wins over the nats CLI context.
#[derive(Debug, Args, Clone, Default)]
pub struct ConnectionArgs {
    /// NATS server URL(s); default `$NATS_URL`, the context's, or nats://127.0.0.1:4222.
    #[arg(short = 's', long = "server", value_name = "URL")]
    pub servers: Vec<String>,
    /// A nats CLI context (~/.config/nats/context/NAME.json).
    #[arg(long)]
    pub context: Option<String>,
    /// A .creds file (user JWT and nkey seed).
    #[arg(long, value_name = "FILE")]
    pub creds: Option<PathBuf>,
    /// A file holding an nkey seed.
    #[arg(long, value_name = "FILE")]
    pub nkey: Option<PathBuf>,
    /// User name.
    #[arg(long)]
    pub user: Option<String>,
    /// Password (prefer `$NATS_PASSWORD`: flags show in process lists).
    #[arg(long)]
    pub password: Option<String>,
    /// Token (prefer `$NATS_TOKEN`).
    #[arg(long)]
    pub token: Option<String>,
    /// CA certificate(s) to verify the server.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate for mutual TLS.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// Client key for mutual TLS.
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Start TLS before the NATS handshake (servers with handshake_first).
    #[arg(long)]
    pub tls_first: bool,
    /// JetStream domain.
    #[arg(long, value_name = "DOMAIN")]
    pub js_domain: Option<String>,
    /// Timeout for connecting and for each API request, e.g. `5s`.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub timeout: crate::spec::units::Duration,
}

/// What every engine command (plan, diff, apply) reads and how it decides.
#[derive(Debug, Args, Clone)]
pub struct EngineArgs {
    /// Manifest files or directories (searched recursively for *.yaml, *.yml); `-` reads stdin.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub filenames: Vec<PathBuf>,
    /// Manifest files or directories, as with `-f`.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Whose assets these are: the `jetsync.dev/owner` marker jetsync writes, and
    /// the only assets prune may delete. Default `$JETSYNC_OWNER`, else `jetsync`.
    #[arg(long, env = "JETSYNC_OWNER", default_value = crate::plan::ownership::DEFAULT_OWNER)]
    pub owner: String,
    /// Delete assets managed by this owner that are no longer declared.
    #[arg(long)]
    pub prune: bool,
    /// With --prune: allow deleting everything this owner manages in the selection. Without it a
    /// prune over a selection that holds no document is an error, and one that deletes more than
    /// half of the owner's assets is refused.
    #[arg(long, requires = "prune")]
    pub prune_all: bool,
    /// What may become of other applications' durable consumers (not managed by jetsync) when
    /// their stream is replaced or pruned: refuse the change (default), recreate them with their
    /// exact config after the stream is replaced, or delete them with it.
    #[arg(long, value_enum, value_name = "POLICY", default_value_t = UnmanagedConsumersArg::Refuse)]
    pub unmanaged_consumers: UnmanagedConsumersArg,
    /// Take over existing assets that this owner does not manage.
    #[arg(long)]
    pub adopt: bool,
    /// Replace (delete and recreate, losing their data) assets whose change cannot be made in place.
    #[arg(long)]
    pub allow_replace: bool,
    /// Plan only these assets, e.g. `stream/ORDERS`, `consumer/ORDERS/worker`, `kv/config` (repeatable).
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// Plan only manifests whose labels match, e.g. `-l team=orders` (repeatable; all must match).
    /// Like --target, a selection never prunes outside itself.
    #[arg(short = 'l', long = "selector", value_name = "KEY=VALUE")]
    pub selectors: Vec<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = PlanOutputArg::Human)]
    pub output: PlanOutputArg,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `--unmanaged-consumers`: the CLI spelling of `spec.unmanagedConsumers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum UnmanagedConsumersArg {
    /// Refuse a replacement or prune that would destroy them, naming them.
    Refuse,
    /// Create them again with their exact config after their stream is replaced.
    Recreate,
    /// Delete them with their stream.
    Delete,
}

impl From<UnmanagedConsumersArg> for crate::spec::common::UnmanagedConsumers {
    fn from(arg: UnmanagedConsumersArg) -> Self {
        match arg {
            UnmanagedConsumersArg::Refuse => Self::Refuse,
            UnmanagedConsumersArg::Recreate => Self::Recreate,
            UnmanagedConsumersArg::Delete => Self::Delete,
        }
    }
}

/// How plan, diff and apply print the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanOutputArg {
    /// Coloured text with `+ ~ -/+ -` marks, for people.
    Human,
    /// The JSON plan document (`jetsync schema --plan` describes it).
    Json,
    /// A pull-request comment body.
    Markdown,
    /// GitHub Actions annotations, and the markdown appended to `$GITHUB_STEP_SUMMARY`.
    Github,
}

impl From<PlanOutputArg> for PlanOutput {
    fn from(arg: PlanOutputArg) -> Self {
        match arg {
            PlanOutputArg::Human => Self::Human,
            PlanOutputArg::Json => Self::Json,
            PlanOutputArg::Markdown => Self::Markdown,
            PlanOutputArg::Github => Self::Github,
        }
    }
}

/// The command line's connection flags; the environment and the nats CLI
/// context fill in what they leave out when connecting.
impl From<ConnectionArgs> for ConnectOptions {
    fn from(args: ConnectionArgs) -> Self {
        Self {
            servers: args.servers,
            context: args.context,
            creds: args.creds,
            nkey: args.nkey,
            user: args.user,
            password: args.password,
            token: args.token,
            tls_ca: args.tls_ca,
            tls_cert: args.tls_cert,
            tls_key: args.tls_key,
            tls_first: args.tls_first,
            js_domain: args.js_domain,
            timeout: args.timeout.as_std(),
            ..Self::default()
        }
    }
}

impl From<EngineArgs> for EngineSettings {
    fn from(args: EngineArgs) -> Self {
        Self {
            filenames: args.filenames,
            paths: args.paths,
            owner: args.owner,
            prune: args.prune,
            prune_all: args.prune_all,
            unmanaged_consumers: args.unmanaged_consumers.into(),
            adopt: args.adopt,
            allow_replace: args.allow_replace,
            targets: args.targets,
            selectors: args.selectors,
            output: args.output.into(),
            connection: args.connection.into(),
        }
    }
}

impl From<ControllerArgs> for ControllerSettings {
    fn from(args: ControllerArgs) -> Self {
        Self {
            namespaces: args.namespaces,
            secret_namespaces: args.secret_namespaces,
            drift_interval: args.drift_interval,
            max_retry_interval: args.max_retry_interval,
            read_only: args.read_only,
            concurrency: args.concurrency,
            owner_prefix: args.owner_prefix,
            http_address: args.http_address,
            no_leader_election: args.no_leader_election,
            lease_name: args.lease_name,
            lease_namespace: args.lease_namespace,
            identity: args.identity,
            log_format: args.log_format,
            connection: args.connection.into(),
        }
    }
}

#[derive(Debug, Args)]
struct PlanArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Save the plan (the JSON document with a fingerprint of the live state)
    /// for `jetsync apply FILE`, which applies exactly it or refuses when stale.
    #[arg(long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ApplyArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Do not ask for confirmation (asked only when stdin is a terminal).
    #[arg(short = 'y', long)]
    yes: bool,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Include assets jetsync does not manage (made by hand or other tools),
    /// every document marked `adopt: true` so that it applies as written.
    #[arg(long)]
    all: bool,
    /// Export the assets of this owner.
    #[arg(long, env = "JETSYNC_OWNER", default_value = crate::plan::ownership::DEFAULT_OWNER)]
    owner: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = ExportOutput::Yaml)]
    output: ExportOutput,
    /// Write the manifests to this file instead of stdout.
    #[arg(long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// How export prints the live assets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ExportOutput {
    /// jetsync documents, one YAML document per asset, ready for `plan` and `apply`.
    Yaml,
}

#[derive(Debug, Args)]
struct CompletionArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
struct ManArgs {
    /// Write `jetsync.1` and one page per command into this directory instead of printing.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct SchemaArgs {
    /// The schema of the JSON plan document (`plan --output json`, `plan --out`).
    #[arg(long)]
    plan: bool,
}

#[derive(Debug, Args)]
struct CrdsArgs {
    /// Write one `<plural>.jetsync.dev.yaml` file per kind into this directory instead of printing.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ValidateOutput {
    /// Diagnostics with the offending lines, for people.
    Human,
    /// One JSON document with every diagnostic, for tools.
    Json,
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let status = match cli.command {
        Command::Validate(args) => validate(args, color),
        Command::Plan(args) => commands::plan(
            &args.engine.into(),
            args.detailed_exitcode,
            args.out.as_deref(),
            color,
        ),
        Command::Diff(args) => commands::diff(&args.into(), color),
        Command::Apply(args) => commands::apply(&args.engine.into(), args.yes, color),
        Command::Convert(args) => {
            let mut paths = args.filenames;
            paths.extend(args.paths);
            commands::convert(&paths, args.out.as_deref(), args.adopt, color)
        }
        Command::Export(args) => {
            // YAML is the only format yet: a second one is a compile error here.
            let ExportOutput::Yaml = args.output;
            commands::export(
                &args.connection.into(),
                &args.owner,
                args.all,
                args.out.as_deref(),
            )
        }
        Command::Crds(args) => crds(args),
        Command::Schema(args) if args.plan => print_json(&crate::render::json::plan_schema()),
        Command::Schema(_) => print_json(&schema::manifest_schema()),
        Command::Controller(args) => {
            let ansi = match cli.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
            crate::controller::run(args.into(), ansi)
        }
        Command::Completion(args) => completion(args.shell),
        Command::Man(args) => man(args),
    };
    status.into()
}

fn validate(args: ValidateArgs, color: bool) -> ExitStatus {
    let mut paths = args.filenames;
    paths.extend(args.paths);
    if paths.is_empty() {
        eprintln!(
            "error: no manifests given; pass files or directories with -f (or `-` for stdin)"
        );
        return ExitStatus::Failure;
    }
    let manifests = manifest::load(&paths);
    let errors = manifests.error_count();
    match args.output {
        ValidateOutput::Human => {
            let mut stderr = std::io::stderr().lock();
            for diagnostic in &manifests.diagnostics {
                let _ = write!(stderr, "{}", diagnostic.render(color));
            }
            let warnings = manifests
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Warning)
                .count();
            let summary = if errors == 0 {
                format!(
                    "{} valid: {} document(s) in {} file(s), {warnings} warning(s)",
                    paths_label(&paths),
                    manifests.documents.len(),
                    manifests.files
                )
            } else {
                format!(
                    "{} invalid: {errors} error(s), {warnings} warning(s) in {} file(s)",
                    paths_label(&paths),
                    manifests.files
                )
            };
            print_out(&format!("{summary}\n"));
        }
        ValidateOutput::Json => {
            // The plan document's envelope (format_version, tool, sources)
            // around what validation found.
            let sources: Vec<_> = manifests
                .sources
                .iter()
                .filter(|source| source.name != crate::manifest::STDIN_NAME)
                .map(crate::render::json::source_digest)
                .collect();
            let report = serde_json::json!({
                "format_version": crate::render::json::FORMAT_VERSION,
                "tool": { "name": "jetsync", "version": env!("CARGO_PKG_VERSION") },
                "sources": sources,
                "valid": errors == 0,
                "files": manifests.files,
                "documents": manifests.documents.len(),
                "diagnostics": manifests.diagnostics,
            });
            let _ = print_json(&report);
        }
    }
    if errors == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}

fn paths_label(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn crds(args: CrdsArgs) -> ExitStatus {
    let Some(dir) = args.out_dir else {
        print_out(&schema::crds_yaml());
        return ExitStatus::Success;
    };
    if let Err(error) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {error}", dir.display());
        return ExitStatus::Failure;
    }
    for crd in schema::crds() {
        let path = dir.join(schema::crd_file_name(&crd));
        if let Err(error) = std::fs::write(&path, schema::crd_yaml(&crd)) {
            eprintln!("error: cannot write {}: {error}", path.display());
            return ExitStatus::Failure;
        }
        print_out(&format!("wrote {}\n", path.display()));
    }
    ExitStatus::Success
}

/// Prints the completion script of `shell`, generated from these clap definitions.
fn completion(shell: clap_complete::Shell) -> ExitStatus {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "jetsync", &mut script);
    print_out(&String::from_utf8_lossy(&script));
    ExitStatus::Success
}

/// Prints the man page of jetsync, or writes it and one page per command
/// into a directory; generated from these clap definitions.
fn man(args: ManArgs) -> ExitStatus {
    let result = match &args.out_dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map(|()| print_out(&String::from_utf8_lossy(&page)))
        }
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
            .map(|()| print_out(&format!("wrote man pages to {}\n", dir.display()))),
    };
    match result {
        Ok(()) => ExitStatus::Success,
        Err(error) => {
            eprintln!("error: cannot write the man page: {error}");
            ExitStatus::Failure
        }
    }
}

fn print_json(value: &serde_json::Value) -> ExitStatus {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            print_out(&format!("{text}\n"));
            ExitStatus::Success
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitStatus::Failure
        }
    }
}

/// Writes to stdout, ignoring a closed pipe (`jetsync crds | head`).
fn print_out(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
