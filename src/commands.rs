//! The engine commands behind the CLI: plan, diff, apply and export. Each
//! loads and validates the manifests before contacting any server, plans
//! per connection, and maps the outcome to the exit-code contract.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::apply::{self, ApplyOptions, ApplyReport, Outcome};
use crate::cli::{ConnectionArgs, EngineArgs, ExitStatus};
use crate::diagnostics::Diagnostic;
use crate::engine;
use crate::manifest::{self, Declared, Manifests};
use crate::nats::{self, ConnectOptions, Connection};
use crate::plan::classify::{Action, Plan, PlanOptions};
use crate::plan::desired::{DesiredAsset, desired_assets};
use crate::plan::{Address, export as exporting};
use crate::render::human;
use crate::spec::AssetSpec;
use crate::spec::connection::{NatsConnectionSpec, SecretSource};

/// How a failure is reported in a command's exit code.
#[derive(Clone, Copy)]
struct Codes {
    /// Exit status for an error (plan/apply: 1; diff: 2).
    error: ExitStatus,
}

/// A set of assets planned against one connection.
struct Group {
    /// `spec.connection`, or None for the default connection.
    connection: Option<String>,
    assets: Vec<DesiredAsset>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn print_diagnostics(diagnostics: &[Diagnostic], color: bool) {
    let mut stderr = std::io::stderr().lock();
    for diagnostic in diagnostics {
        let _ = write!(stderr, "{}", diagnostic.render(color));
    }
}

fn out(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn error(message: impl std::fmt::Display) {
    eprintln!("error: {message}");
}

/// Loads and validates; None (after printing why) when anything is invalid.
fn load(args: &EngineArgs, color: bool) -> Option<Manifests> {
    let mut paths = args.filenames.clone();
    paths.extend(args.paths.iter().cloned());
    if paths.is_empty() {
        error("no manifests given; pass files or directories with -f (or `-` for stdin)");
        return None;
    }
    let manifests = manifest::load(&paths);
    let notes: Vec<Diagnostic> = manifests
        .diagnostics
        .iter()
        .filter(|d| d.severity != crate::diagnostics::Severity::Note)
        .cloned()
        .collect();
    print_diagnostics(&notes, color);
    if !manifests.is_valid() {
        error(format!(
            "{} error(s) in the manifests; nothing was planned or written",
            manifests.error_count()
        ));
        return None;
    }
    Some(manifests)
}

fn parse_targets(targets: &[String]) -> Result<Option<BTreeSet<Address>>, String> {
    if targets.is_empty() {
        return Ok(None);
    }
    let mut addresses = BTreeSet::new();
    for target in targets {
        let parts: Vec<&str> = target.split('/').collect();
        let address = match parts.as_slice() {
            ["stream", name] => Address::stream(name),
            ["kv", name] => Address::kv(name),
            ["objectstore", name] => Address::object_store(name),
            ["consumer", stream, name] => Address::consumer(stream, name),
            _ => {
                return Err(format!(
                    "--target {target}: expected stream/NAME, kv/BUCKET, objectstore/BUCKET or consumer/STREAM/NAME"
                ));
            }
        };
        addresses.insert(address);
    }
    Ok(Some(addresses))
}

fn groups(documents: &[Declared]) -> Vec<Group> {
    let mut by_connection: BTreeMap<Option<String>, Vec<DesiredAsset>> = BTreeMap::new();
    for asset in desired_assets(documents) {
        by_connection
            .entry(asset.connection.clone())
            .or_default()
            .push(asset);
    }
    if by_connection.is_empty() {
        by_connection.insert(None, Vec::new());
    }
    by_connection
        .into_iter()
        .map(|(connection, assets)| Group { connection, assets })
        .collect()
}

/// Connection options from the flags.
pub fn connect_options(args: &ConnectionArgs) -> ConnectOptions {
    ConnectOptions {
        servers: args.servers.clone(),
        context: args.context.clone(),
        creds: args.creds.clone(),
        nkey: args.nkey.clone(),
        user: args.user.clone(),
        password: args.password.clone(),
        token: args.token.clone(),
        tls_ca: args.tls_ca.clone(),
        tls_cert: args.tls_cert.clone(),
        tls_key: args.tls_key.clone(),
        tls_first: args.tls_first,
        js_domain: args.js_domain.clone(),
        timeout: args.timeout.as_std(),
        ..ConnectOptions::default()
    }
}

/// Connection options from a `NatsConnection` document: file references are
/// relative to the document's directory; Secret references need the controller.
fn profile_options(
    name: &str,
    spec: &NatsConnectionSpec,
    dir: &Path,
    flags: &ConnectionArgs,
) -> Result<ConnectOptions, String> {
    let file = |source: &SecretSource, what: &str| -> Result<PathBuf, String> {
        match (&source.file, &source.secret_ref) {
            (Some(path), _) => Ok(dir.join(path)),
            (None, Some(_)) => Err(format!(
                "connection `{name}`: {what} is a Kubernetes Secret reference, which only the controller can read; give the CLI `file:` instead"
            )),
            (None, None) => Err(format!("connection `{name}`: {what} names no source")),
        }
    };
    let read = |source: &SecretSource, what: &str| -> Result<String, String> {
        let path = file(source, what)?;
        std::fs::read_to_string(&path)
            .map(|text| text.trim().to_string())
            .map_err(|e| {
                format!(
                    "connection `{name}`: cannot read {what} file {}: {e}",
                    path.display()
                )
            })
    };
    let mut options = ConnectOptions {
        servers: spec.servers.clone(),
        js_domain: spec.js_domain.clone(),
        timeout: flags.timeout.as_std(),
        ..ConnectOptions::default()
    };
    if let Some(tls) = &spec.tls {
        options.tls_ca = tls.ca.as_ref().map(|s| file(s, "tls.ca")).transpose()?;
        options.tls_cert = tls.cert.as_ref().map(|s| file(s, "tls.cert")).transpose()?;
        options.tls_key = tls.key.as_ref().map(|s| file(s, "tls.key")).transpose()?;
        options.tls_first = tls.first.unwrap_or(false);
    }
    if let Some(auth) = &spec.auth {
        options.creds = auth
            .creds
            .as_ref()
            .map(|s| file(s, "auth.creds"))
            .transpose()?;
        options.nkey = auth
            .nkey
            .as_ref()
            .map(|s| file(s, "auth.nkey"))
            .transpose()?;
        options.token = auth
            .token
            .as_ref()
            .map(|s| read(s, "auth.token"))
            .transpose()?;
        if let Some(user_password) = &auth.user_password {
            options.user = Some(user_password.user.clone());
            options.password = Some(read(&user_password.password, "auth.userPassword.password")?);
        }
    }
    Ok(options)
}

/// The connect options for a group: the flags for the default connection,
/// the named `NatsConnection` document otherwise.
fn group_options(
    group: &Group,
    documents: &[Declared],
    flags: &ConnectionArgs,
) -> Result<ConnectOptions, String> {
    let Some(name) = &group.connection else {
        return Ok(connect_options(flags));
    };
    let profile = documents.iter().find_map(|declared| match &declared.spec {
        AssetSpec::NatsConnection(spec) if declared.metadata.name == *name => {
            Some((declared, spec))
        }
        _ => None,
    });
    let Some((declared, spec)) = profile else {
        return Err(format!(
            "assets name connection `{name}`, but no NatsConnection `{name}` is among the manifests"
        ));
    };
    let dir = Path::new(&declared.origin.source.name)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    profile_options(name, spec, &dir, flags)
}

async fn connect(options: &ConnectOptions) -> Result<Connection, String> {
    nats::connect(options).await.map_err(|e| e.to_string())
}

fn plan_options(
    args: &EngineArgs,
    connection: &Connection,
    targets: &Option<BTreeSet<Address>>,
) -> Result<PlanOptions, String> {
    Ok(PlanOptions {
        owner: args.owner.clone(),
        prune: args.prune,
        adopt: args.adopt,
        allow_replace: args.allow_replace,
        server: engine::server_version(connection)?,
        targets: targets.clone(),
    })
}

fn target_label(connection: &Connection) -> String {
    let server = &connection.server;
    let mut label = format!("{} (nats-server {}", server.url_redacted, server.version);
    if let Some(account) = &server.account {
        label.push_str(&format!(", account {account}"));
    }
    if let Some(domain) = &server.domain {
        label.push_str(&format!(", domain {domain}"));
    }
    label.push(')');
    label
}

/// One planned group, ready to print or apply.
struct Planned {
    connection: Connection,
    plan: Plan,
}

/// Loads, connects and plans every group. Errors are printed; None means
/// the command failed before anything was written.
async fn plan_all(args: &EngineArgs, manifests: &Manifests, color: bool) -> Option<Vec<Planned>> {
    let targets = match parse_targets(&args.targets) {
        Ok(targets) => targets,
        Err(message) => {
            error(message);
            return None;
        }
    };
    let mut planned = Vec::new();
    for group in groups(&manifests.documents) {
        let options = match group_options(&group, &manifests.documents, &args.connection) {
            Ok(options) => options,
            Err(message) => {
                error(message);
                return None;
            }
        };
        let connection = match connect(&options).await {
            Ok(connection) => connection,
            Err(message) => {
                error(message);
                return None;
            }
        };
        let plan_options = match plan_options(args, &connection, &targets) {
            Ok(options) => options,
            Err(message) => {
                error(message);
                return None;
            }
        };
        let plan = match engine::observe_and_plan(&connection, &group.assets, &plan_options).await {
            Ok((_, plan)) => plan,
            Err(e) => {
                error(format!("reading the live state: {e}"));
                return None;
            }
        };
        print_diagnostics(&plan.diagnostics, color);
        if plan.has_errors() {
            error("the plan has errors; nothing was written");
            return None;
        }
        planned.push(Planned { connection, plan });
    }
    Some(planned)
}

fn show(planned: &[Planned], color: bool) {
    for group in planned {
        out(&human::render_plan(
            &group.plan,
            &target_label(&group.connection),
            color,
        ));
    }
}

/// `jetsync plan`.
pub fn plan(args: &EngineArgs, detailed: bool, color: bool) -> ExitStatus {
    let Some(manifests) = load(args, color) else {
        return ExitStatus::Failure;
    };
    let Some(planned) = runtime().block_on(plan_all(args, &manifests, color)) else {
        return ExitStatus::Failure;
    };
    show(&planned, color);
    let changes = planned.iter().any(|group| group.plan.has_changes());
    if detailed && changes {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    }
}

/// `jetsync diff`: 0 in sync, 1 differences, 2 error.
pub fn diff(args: &EngineArgs, color: bool) -> ExitStatus {
    let codes = Codes {
        error: ExitStatus::Changes,
    };
    let Some(manifests) = load(args, color) else {
        return codes.error;
    };
    let Some(planned) = runtime().block_on(plan_all(args, &manifests, color)) else {
        return codes.error;
    };
    show(&planned, color);
    if planned.iter().any(|group| group.plan.has_changes()) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}

fn confirm() -> bool {
    eprint!("Apply these changes? Only 'yes' is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    answer.trim() == "yes"
}

fn report_line(address: &Address, action: Action, outcome: &Outcome) -> String {
    let verb = match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "deleted",
        Action::Adopt => "adopted",
    };
    match outcome {
        Outcome::Done => format!("  ✓ {address}: {verb}\n"),
        Outcome::Skipped(reason) => format!("  - {address}: skipped ({reason})\n"),
        Outcome::Failed(reason) => format!("  ✗ {address}: failed: {reason}\n"),
    }
}

fn render_report(report: &ApplyReport) -> String {
    let mut text = String::from("\nApplying:\n");
    for (address, action, outcome) in &report.results {
        text.push_str(&report_line(address, *action, outcome));
    }
    let done = |wanted: Action| {
        report
            .results
            .iter()
            .filter(|(_, action, outcome)| *action == wanted && *outcome == Outcome::Done)
            .count()
    };
    text.push_str(&format!(
        "\nApply: {} created, {} updated, {} replaced, {} deleted, {} adopted, {} skipped, {} failed.\n",
        done(Action::Create),
        done(Action::Update),
        done(Action::Replace),
        done(Action::Delete),
        done(Action::Adopt),
        report.count(|o| matches!(o, Outcome::Skipped(_))),
        report.count(|o| matches!(o, Outcome::Failed(_))),
    ));
    text
}

/// `jetsync apply`.
pub fn apply(args: &EngineArgs, yes: bool, color: bool) -> ExitStatus {
    let Some(manifests) = load(args, color) else {
        return ExitStatus::Failure;
    };
    let runtime = runtime();
    let Some(planned) = runtime.block_on(plan_all(args, &manifests, color)) else {
        return ExitStatus::Failure;
    };
    show(&planned, color);
    if !planned.iter().any(|group| group.plan.has_changes()) {
        out("\nNothing to do: the server is as declared.\n");
        return ExitStatus::Success;
    }
    let interactive = std::io::stdin().is_terminal();
    if interactive && !yes && !confirm() {
        error("apply cancelled; nothing was written");
        return ExitStatus::Failure;
    }
    let mut converged = true;
    for group in &planned {
        let report = runtime.block_on(apply::apply(
            group.connection.api(),
            &group.plan,
            &ApplyOptions::default(),
        ));
        out(&render_report(&report));
        converged &= report.converged();
    }
    if converged {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}

/// `jetsync export`.
pub fn export(
    connection: &ConnectionArgs,
    owner: &str,
    all: bool,
    out_file: Option<&Path>,
) -> ExitStatus {
    let options = connect_options(connection);
    let result = runtime().block_on(async {
        let connection = connect(&options).await?;
        let live = connection
            .observe(&nats::ObserveOptions::default())
            .await
            .map_err(|e| format!("reading the live state: {e}"))?;
        Ok::<_, String>(engine::live_assets(&live))
    });
    let assets = match result {
        Ok(assets) => assets,
        Err(message) => {
            error(message);
            return ExitStatus::Failure;
        }
    };
    let selected: Vec<_> = exporting::select_for_export(&assets, owner, all)
        .into_iter()
        .cloned()
        .collect();
    let yaml = exporting::export_documents(&selected);
    match out_file {
        Some(path) => {
            if let Err(e) = std::fs::write(path, yaml) {
                error(format!("cannot write {}: {e}", path.display()));
                return ExitStatus::Failure;
            }
            eprintln!("wrote {} asset(s) to {}", selected.len(), path.display());
        }
        None => out(&yaml),
    }
    ExitStatus::Success
}
