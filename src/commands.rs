//! The engine commands behind the CLI: plan, diff, apply and export. Each
//! loads and validates the manifests before writing anything (the default
//! connection's state is read meanwhile), plans per connection, and maps the
//! outcome to the exit-code contract.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::apply::{self, ApplyOptions, ApplyReport, Outcome};
use crate::diagnostics::Diagnostic;
use crate::engine;
use crate::manifest::{self, Declared, Manifests};
use crate::nats::{self, ConnectOptions, Connection, LiveState};
use crate::plan::LiveAsset;
use crate::plan::classify::{Action, Plan, PlanOptions};
use crate::plan::desired::{DesiredAsset, desired_assets};
use crate::plan::{Address, export as exporting};
use crate::render::{github, human, json, markdown};
use crate::saved_plan;
use crate::settings::{ConnectionSettings, EngineSettings, ExitStatus, PlanOutput};
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
fn load(args: &EngineSettings, color: bool) -> Option<Manifests> {
    let mut paths = args.filenames.clone();
    paths.extend(args.paths.iter().cloned());
    if paths.is_empty() {
        error("no manifests given; pass files or directories with -f (or `-` for stdin)");
        return None;
    }
    let manifests = manifest::load(&paths);
    let shown = reported_diagnostics(&manifests);
    print_diagnostics(&shown, color);
    if !manifests.is_valid() {
        // Machine outputs still say why, in their own format.
        match args.output {
            PlanOutput::Human => {}
            PlanOutput::Json => show(args, &manifests, &[], color),
            PlanOutput::Markdown => out(&markdown::render_markdown(&[], &shown)),
            PlanOutput::Github => {
                out(&github::annotations(&[], &shown));
                let summary = markdown::render_markdown_within(&[], &shown, STEP_SUMMARY_BUDGET);
                if let Err(e) = github::write_step_summary(&summary) {
                    error(format!("cannot write $GITHUB_STEP_SUMMARY: {e}"));
                }
            }
        }
        error(format!(
            "{} error(s) in the manifests; nothing was planned or written",
            manifests.error_count()
        ));
        return None;
    }
    Some(manifests)
}

/// The manifest diagnostics worth reporting: errors and warnings (notes say
/// which documents were skipped; they go to people only when asked for).
fn reported_diagnostics(manifests: &Manifests) -> Vec<Diagnostic> {
    manifests
        .diagnostics
        .iter()
        .filter(|d| d.severity != crate::diagnostics::Severity::Note)
        .cloned()
        .collect()
}

/// GitHub's step summary takes up to 1 MiB; keep well inside it.
const STEP_SUMMARY_BUDGET: usize = 1_000_000;

fn parse_targets(targets: &[String]) -> Result<Option<BTreeSet<Address>>, String> {
    if targets.is_empty() {
        return Ok(None);
    }
    targets
        .iter()
        .map(|target| {
            Address::parse(target).ok_or_else(|| {
                format!(
                    "--target {target}: expected stream/NAME, kv/BUCKET, objectstore/BUCKET or consumer/STREAM/NAME"
                )
            })
        })
        .collect::<Result<BTreeSet<_>, _>>()
        .map(Some)
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

/// Connection options from a `NatsConnection` document: file references are
/// relative to the document's directory; Secret references need the controller.
fn profile_options(
    name: &str,
    spec: &NatsConnectionSpec,
    dir: &Path,
    flags: &ConnectionSettings,
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
    flags: &ConnectionSettings,
) -> Result<ConnectOptions, String> {
    let Some(name) = &group.connection else {
        return Ok(flags.connect_options());
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

/// Connects and reads the whole live state by listing.
async fn connect_and_observe(options: &ConnectOptions) -> Result<(Connection, LiveState), String> {
    match connect_and_list(options).await? {
        (connection, Listing::Listed(state)) => Ok((connection, state)),
        (_, Listing::Denied(denied)) => Err(format!("reading the live state: {denied}")),
    }
}

/// What a listing of the live state gave.
enum Listing {
    Listed(LiveState),
    /// The server refuses this user `STREAM.LIST`/`CONSUMER.LIST` (why).
    Denied(String),
}

/// Connects and reads the whole live state by listing, telling a listing
/// the server refuses this user apart from other failures.
async fn connect_and_list(options: &ConnectOptions) -> Result<(Connection, Listing), String> {
    let connection = connect(options).await?;
    match connection.observe(&nats::ObserveOptions::default()).await {
        Ok(state) => Ok((connection, Listing::Listed(state))),
        Err(e) if nats::is_listing_denied(&e) => Ok((connection, Listing::Denied(e.to_string()))),
        Err(e) => Err(format!("reading the live state: {e}")),
    }
}

/// The live state of a group when listing is refused: one INFO per
/// declared asset, said once on stderr. `--prune` is refused: what else the
/// owner manages cannot be seen.
async fn inspect_declared(
    args: &EngineSettings,
    connection: &Connection,
    assets: &[DesiredAsset],
    denied: &str,
) -> Result<LiveState, String> {
    let reason = format!("listing the account's streams and consumers is not permitted ({denied})");
    if args.prune {
        return Err(format!(
            "--prune needs to see every asset the owner manages, but {reason}; \
             plan without --prune, or use credentials that may list"
        ));
    }
    eprintln!(
        "note: {reason}; reading the {} declared asset(s) one INFO request each \
         (assets not declared, other applications' consumers included, are not seen)",
        assets.len()
    );
    let addresses: Vec<Address> = assets.iter().map(|a| a.address.clone()).collect();
    nats::inspect(
        connection.api(),
        &nats::ObserveOptions::default(),
        &addresses,
    )
    .await
    .map_err(|e| format!("reading the declared assets: {e}"))
}

/// The default connection's live state, read in the background while the
/// manifests load: reading thousands of manifests and listing the server
/// then overlap. Only reads; the result is used when the manifests are
/// valid and some asset uses the default connection, and dropping it stops
/// the reading.
struct Prefetch(tokio::task::JoinHandle<Result<(Connection, Listing), String>>);

impl Prefetch {
    fn start(runtime: &tokio::runtime::Runtime, flags: &ConnectionSettings) -> Self {
        let options = flags.connect_options();
        Self(runtime.spawn(async move { connect_and_list(&options).await }))
    }

    async fn result(mut self) -> Result<(Connection, Listing), String> {
        (&mut self.0)
            .await
            .unwrap_or_else(|e| Err(format!("reading the live state: {e}")))
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn plan_options(
    args: &EngineSettings,
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
        prune_all: args.prune_all,
        unmanaged_consumers: args.unmanaged_consumers,
        standalone: connection.server.standalone,
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
    connection_name: Option<String>,
    connection: Connection,
    live: Vec<LiveAsset>,
    plan: Plan,
    /// The addresses declared for this group (what a saved plan depends on).
    declared: Vec<Address>,
}

/// Parses `key=value` selectors.
fn parse_selectors(selectors: &[String]) -> Result<Vec<(String, String)>, String> {
    selectors
        .iter()
        .map(|selector| {
            selector
                .split_once('=')
                .filter(|(key, _)| !key.is_empty())
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .ok_or_else(|| format!("--selector {selector}: expected KEY=VALUE"))
        })
        .collect()
}

/// Loads, connects and plans every group. Errors before planning are
/// printed and give None; errors found by planning stay in the plans.
async fn plan_all(
    args: &EngineSettings,
    manifests: &mut Manifests,
    mut prefetched: Option<Prefetch>,
) -> Option<Vec<Planned>> {
    let (targets, selectors) = match (
        parse_targets(&args.targets),
        parse_selectors(&args.selectors),
    ) {
        (Ok(targets), Ok(selectors)) => (targets, selectors),
        (Err(message), _) | (_, Err(message)) => {
            error(message);
            return None;
        }
    };
    let mut planned = Vec::new();
    let groups = groups(&manifests.documents);
    // From here on only the connection profiles are read from the documents;
    // thousands of decoded specs need not stay alive beside the live state.
    manifests
        .documents
        .retain(|declared| declared.kind() == crate::spec::Kind::NatsConnection);
    for mut group in groups {
        let mut scope = targets.clone();
        if !selectors.is_empty() {
            group.assets.retain(|asset| {
                selectors
                    .iter()
                    .all(|(key, value)| asset.labels.get(key) == Some(value))
            });
            let selected: BTreeSet<Address> = group
                .assets
                .iter()
                .map(|asset| asset.address.clone())
                .collect();
            scope = Some(match scope {
                Some(targets) => targets.intersection(&selected).cloned().collect(),
                None => selected,
            });
        }
        let options = match group_options(&group, &manifests.documents, &args.connection) {
            Ok(options) => options,
            Err(message) => {
                error(message);
                return None;
            }
        };
        let prefetched = match group.connection {
            None => prefetched.take(),
            Some(_) => None,
        };
        let observed = match prefetched {
            Some(prefetched) => prefetched.result().await,
            None => connect_and_list(&options).await,
        };
        let (connection, state) = match observed {
            Ok((connection, Listing::Listed(state))) => (connection, state),
            Ok((connection, Listing::Denied(denied))) => {
                match inspect_declared(args, &connection, &group.assets, &denied).await {
                    Ok(state) => (connection, state),
                    Err(message) => {
                        error(message);
                        return None;
                    }
                }
            }
            Err(message) => {
                error(message);
                return None;
            }
        };
        let plan_options = match plan_options(args, &connection, &scope) {
            Ok(options) => options,
            Err(message) => {
                error(message);
                return None;
            }
        };
        let (live, mut plan) = engine::plan_against(state, &group.assets, &plan_options);
        engine::refuse_past_account_limits(&mut plan, &live, &connection.server.usage);
        engine::check_topology(&connection, &mut plan).await;
        planned.push(Planned {
            connection_name: group.connection,
            connection,
            live,
            plan,
            declared: group.assets.iter().map(|a| a.address.clone()).collect(),
        });
    }
    Some(planned)
}

fn document(
    args: &EngineSettings,
    manifests: &Manifests,
    planned: &[Planned],
) -> json::PlanDocument {
    let groups: Vec<json::GroupInput<'_>> = planned
        .iter()
        .map(|group| json::GroupInput {
            connection: group.connection_name.clone(),
            server: &group.connection.server,
            live: &group.live,
            plan: &group.plan,
            declared: &group.declared,
        })
        .collect();
    let warnings = reported_diagnostics(manifests);
    json::document(
        &groups,
        &manifests.sources,
        json::Options {
            owner: args.owner.clone(),
            prune: args.prune,
            adopt: args.adopt,
            allow_replace: args.allow_replace,
            targets: args.targets.clone(),
            selector: args.selectors.clone(),
        },
        &warnings,
    )
}

/// Prints the plans in the chosen format. Diagnostics go to stderr for
/// people; the JSON document carries them itself.
fn show(args: &EngineSettings, manifests: &Manifests, planned: &[Planned], color: bool) {
    let labelled: Vec<(String, &Plan)> = planned
        .iter()
        .map(|group| (target_label(&group.connection), &group.plan))
        .collect();
    let warnings = reported_diagnostics(manifests);
    match args.output {
        PlanOutput::Json => {
            let document = document(args, manifests, planned);
            out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&document).expect("plans serialize")
            ));
        }
        PlanOutput::Markdown => out(&markdown::render_markdown(&labelled, &warnings)),
        PlanOutput::Human | PlanOutput::Github => {
            let human = args.output == PlanOutput::Human;
            for (label, plan) in &labelled {
                if human {
                    print_diagnostics(&plan.diagnostics, color);
                }
                out(&human::render_plan(plan, label, color && human));
            }
            if !human {
                out(&github::annotations(&labelled, &warnings));
                let summary =
                    markdown::render_markdown_within(&labelled, &warnings, STEP_SUMMARY_BUDGET);
                if let Err(e) = github::write_step_summary(&summary) {
                    error(format!("cannot write $GITHUB_STEP_SUMMARY: {e}"));
                }
            }
        }
    }
}

fn has_errors(planned: &[Planned]) -> bool {
    planned.iter().any(|group| group.plan.has_errors())
}

fn has_changes(planned: &[Planned]) -> bool {
    planned.iter().any(|group| group.plan.has_changes())
}

/// `jetsync plan`.
pub fn plan(
    args: &EngineSettings,
    detailed: bool,
    out_file: Option<&Path>,
    color: bool,
) -> ExitStatus {
    let runtime = runtime();
    let prefetched = Prefetch::start(&runtime, &args.connection);
    let Some(mut manifests) = load(args, color) else {
        return ExitStatus::Failure;
    };
    let Some(planned) = runtime.block_on(plan_all(args, &mut manifests, Some(prefetched))) else {
        return ExitStatus::Failure;
    };
    show(args, &manifests, &planned, color);
    if has_errors(&planned) {
        error("the plan has errors; nothing can be applied");
        return ExitStatus::Failure;
    }
    if let Some(path) = out_file {
        let mut document = document(args, &manifests, &planned);
        saved_plan::record_root(&mut document, path);
        let text = serde_json::to_string_pretty(&document).expect("plans serialize");
        if let Err(e) = std::fs::write(path, format!("{text}\n")) {
            error(format!("cannot write {}: {e}", path.display()));
            return ExitStatus::Failure;
        }
        eprintln!(
            "Saved the plan to {}; `jetsync apply {}` applies exactly it.",
            path.display(),
            path.display()
        );
    }
    let status = if detailed && has_changes(&planned) {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    };
    left_for_exit((manifests, planned));
    status
}

/// The process ends right after a command: freeing thousands of parsed
/// configs one by one would only delay that (about a tenth of a no-op plan's
/// own work at 4,000 assets), so the operating system takes them back whole.
fn left_for_exit<T>(value: T) {
    std::mem::forget(value);
}

/// `jetsync diff`: 0 in sync, 1 differences, 2 error.
pub fn diff(args: &EngineSettings, color: bool) -> ExitStatus {
    let codes = Codes {
        error: ExitStatus::Changes,
    };
    let runtime = runtime();
    let prefetched = Prefetch::start(&runtime, &args.connection);
    let Some(mut manifests) = load(args, color) else {
        return codes.error;
    };
    let Some(planned) = runtime.block_on(plan_all(args, &mut manifests, Some(prefetched))) else {
        return codes.error;
    };
    show(args, &manifests, &planned, color);
    if has_errors(&planned) {
        return codes.error;
    }
    let status = if has_changes(&planned) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    };
    left_for_exit((manifests, planned));
    status
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

/// A saved plan, when the only path given is one.
fn saved_plan_path(args: &EngineSettings) -> Option<PathBuf> {
    let mut paths = args.filenames.iter().chain(&args.paths);
    let (Some(path), None) = (paths.next(), paths.next()) else {
        return None;
    };
    if !path.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    text.trim_start()
        .starts_with('{')
        .then(|| path.clone())
        .filter(|_| text.contains("\"format_version\""))
}

/// `jetsync apply`.
pub fn apply(args: &EngineSettings, yes: bool, color: bool) -> ExitStatus {
    if let Some(path) = saved_plan_path(args) {
        return apply_saved(&path, args, yes, color);
    }
    let runtime = runtime();
    let prefetched = Prefetch::start(&runtime, &args.connection);
    let Some(mut manifests) = load(args, color) else {
        return ExitStatus::Failure;
    };
    let Some(planned) = runtime.block_on(plan_all(args, &mut manifests, Some(prefetched))) else {
        return ExitStatus::Failure;
    };
    let json_output = args.output == PlanOutput::Json;
    if !json_output {
        show(args, &manifests, &planned, color);
    }
    if has_errors(&planned) {
        if json_output {
            show(args, &manifests, &planned, color);
        }
        error("the plan has errors; nothing was written");
        return ExitStatus::Failure;
    }
    let groups: Vec<(&Connection, &Plan)> = planned
        .iter()
        .map(|group| (&group.connection, &group.plan))
        .collect();
    let (status, reports) = execute(&runtime, &groups, yes, args.output);
    if json_output {
        let document = document(args, &manifests, &planned);
        print_applied(
            serde_json::to_value(document).expect("plans serialize"),
            &reports,
        );
    }
    left_for_exit((manifests, planned, reports));
    status
}

/// Asks (on a terminal), applies every group and reports.
fn execute(
    runtime: &tokio::runtime::Runtime,
    groups: &[(&Connection, &Plan)],
    yes: bool,
    output: PlanOutput,
) -> (ExitStatus, Vec<ApplyReport>) {
    let human = output != PlanOutput::Json;
    let refused = groups.iter().any(|(_, plan)| plan.summary().refused > 0);
    if !refused && !groups.iter().any(|(_, plan)| plan.has_writes()) {
        let reported: usize = groups.iter().map(|(_, plan)| plan.summary().reported).sum();
        if human && reported > 0 {
            out(&format!(
                "\nNothing to do: the server is as declared, but for {reported} drifted asset(s) \
                 left as they are (driftPolicy: Report).\n"
            ));
        } else if human {
            out("\nNothing to do: the server is as declared.\n");
        }
        return (ExitStatus::Success, Vec::new());
    }
    if std::io::stdin().is_terminal() && !yes && !confirm() {
        error("apply cancelled; nothing was written");
        return (ExitStatus::Failure, Vec::new());
    }
    let mut reports = Vec::new();
    for (connection, plan) in groups {
        let report = runtime.block_on(apply::apply(
            connection.api(),
            plan,
            &ApplyOptions::default(),
        ));
        if human {
            out(&render_report(&report));
        }
        reports.push(report);
    }
    if reports.iter().all(ApplyReport::converged) {
        return (ExitStatus::Success, reports);
    }
    // The report above (stdout) says what each change came to; stderr says
    // that the apply did not converge, for logs that keep only stderr.
    let count = |predicate: fn(&Outcome) -> bool| -> usize {
        reports.iter().map(|report| report.count(predicate)).sum()
    };
    let failed = count(|outcome| matches!(outcome, Outcome::Failed(_)));
    let skipped = count(|outcome| matches!(outcome, Outcome::Skipped(_)));
    error(format!(
        "the apply did not converge: {failed} change(s) failed and {skipped} were skipped; \
         the rest were made. `jetsync plan` shows what remains"
    ));
    (ExitStatus::Failure, reports)
}

/// `apply --output json`: the plan document with what happened to each change.
fn print_applied(mut document: serde_json::Value, reports: &[ApplyReport]) {
    let results: Vec<serde_json::Value> = reports
        .iter()
        .flat_map(|report| &report.results)
        .map(|(address, action, outcome)| {
            let (status, detail) = match outcome {
                Outcome::Done => ("done", None),
                Outcome::Skipped(reason) => ("skipped", Some(reason.clone())),
                Outcome::Failed(reason) => ("failed", Some(reason.clone())),
            };
            serde_json::json!({
                "address": address,
                "action": action,
                "outcome": status,
                "detail": detail,
            })
        })
        .collect();
    document["applied"] = serde_json::Value::Array(results);
    out(&format!(
        "{}\n",
        serde_json::to_string_pretty(&document).expect("plans serialize")
    ));
}

/// `jetsync apply FILE` with a saved plan: exactly that plan, or nothing if
/// the manifests or the live state changed since it was made.
fn apply_saved(path: &Path, args: &EngineSettings, yes: bool, color: bool) -> ExitStatus {
    let document = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| json::PlanDocument::from_json(&text))
    {
        Ok(document) => document,
        Err(message) => {
            error(format!("{}: {message}", path.display()));
            return ExitStatus::Failure;
        }
    };
    let root = saved_plan::find_root(&document, path);
    let source_paths = match saved_plan::check_sources(&document, &root) {
        Ok(paths) => paths,
        Err(problem) => {
            error(problem);
            return ExitStatus::Failure;
        }
    };
    let manifests = if source_paths.is_empty() {
        Manifests::default()
    } else {
        manifest::load(&source_paths)
    };
    let runtime = runtime();
    let mut connected = Vec::new();
    for target in &document.targets {
        let group = Group {
            connection: target.connection.clone(),
            assets: Vec::new(),
        };
        let mut flags = args.connection.clone();
        if flags.servers.is_empty()
            && std::env::var_os("NATS_URL").is_none()
            && flags.context.is_none()
        {
            flags.servers = vec![target.server.clone()];
        }
        let options = match group_options(&group, &manifests.documents, &flags) {
            Ok(options) => options,
            Err(message) => {
                error(message);
                return ExitStatus::Failure;
            }
        };
        let plan = document.changes_for(&target.connection);
        let observed = runtime.block_on(async {
            match connect_and_list(&options).await? {
                (connection, Listing::Listed(state)) => Ok((connection, state)),
                // Least privilege: what the plan read, and what it changes.
                (connection, Listing::Denied(_)) => {
                    let addresses: BTreeSet<Address> = target
                        .assets
                        .keys()
                        .filter_map(|address| Address::parse(address))
                        .chain(plan.changes.iter().map(|change| change.address.clone()))
                        .collect();
                    let addresses: Vec<Address> = addresses.into_iter().collect();
                    let options = nats::ObserveOptions::default();
                    nats::inspect(connection.api(), &options, &addresses)
                        .await
                        .map(|state| (connection, state))
                        .map_err(|e| format!("reading the planned assets: {e}"))
                }
            }
        });
        let (connection, live) = match observed {
            Ok((connection, state)) => (connection, engine::live_assets(state)),
            Err(message) => {
                error(message);
                return ExitStatus::Failure;
            }
        };
        let stale = saved_plan::stale_assets(target, &live);
        if !stale.is_empty() {
            error(format!(
                "plan is stale: {} since the plan was made; nothing was written; make a new plan",
                stale.join(", ")
            ));
            return ExitStatus::Failure;
        }
        if args.output != PlanOutput::Json {
            out(&human::render_plan(
                &plan,
                &target_label(&connection),
                color,
            ));
        }
        connected.push((connection, plan));
    }
    let groups: Vec<(&Connection, &Plan)> = connected.iter().map(|(c, p)| (c, p)).collect();
    let (status, reports) = execute(&runtime, &groups, yes, args.output);
    if args.output == PlanOutput::Json {
        print_applied(
            serde_json::to_value(&document).expect("plans serialize"),
            &reports,
        );
    }
    status
}

/// `jetsync export`.
pub fn export(
    connection: &ConnectionSettings,
    owner: &str,
    all: bool,
    out_file: Option<&Path>,
) -> ExitStatus {
    let options = connection.connect_options();
    let assets = match runtime().block_on(connect_and_observe(&options)) {
        Ok((_, state)) => engine::live_assets(state),
        Err(message) => {
            error(message);
            return ExitStatus::Failure;
        }
    };
    let selected: Vec<_> = exporting::select_for_export(&assets, owner, all)
        .into_iter()
        .cloned()
        .collect();
    let yaml = exporting::export_documents(&selected, all);
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

/// `jetsync convert`: NACK's documents read with NACK's semantics and
/// written as jetsync documents (jetsync documents pass through), one output
/// per input file. Diagnostics (the decisions made) go to stderr; on any
/// error nothing is written.
pub fn convert(paths: &[PathBuf], out_dir: Option<&Path>, adopt: bool, color: bool) -> ExitStatus {
    if paths.is_empty() {
        error("no manifests given; pass NACK files or directories with -f (or `-` for stdin)");
        return ExitStatus::Failure;
    }
    let manifests = manifest::load(paths);
    for diagnostic in &manifests.diagnostics {
        eprint!("{}", diagnostic.render(color));
    }
    if !manifests.is_valid() {
        error(format!(
            "{} error(s): nothing converted",
            manifests.error_count()
        ));
        return ExitStatus::Failure;
    }
    let files: Vec<(&str, String)> = manifests
        .sources
        .iter()
        .filter_map(|source| {
            let documents: Vec<&Declared> = manifests
                .documents
                .iter()
                .filter(|declared| declared.origin.source.name == source.name)
                .collect();
            (!documents.is_empty()).then(|| {
                (
                    source.name.as_str(),
                    crate::nack::convert::render_documents(&documents, adopt),
                )
            })
        })
        .collect();
    match out_dir {
        None => {
            for (index, (name, yaml)) in files.iter().enumerate() {
                let separator = if index == 0 { "" } else { "---\n" };
                let newline = if yaml.ends_with('\n') { "" } else { "\n" };
                out(&format!(
                    "{separator}# converted from {name}\n{yaml}{newline}"
                ));
            }
        }
        Some(dir) => {
            let targets: Vec<PathBuf> = files
                .iter()
                .map(|(name, _)| dir.join(converted_path(name, paths)))
                .collect();
            let overwritten = targets.iter().find(|target| {
                manifests
                    .sources
                    .iter()
                    .any(|source| same_file(Path::new(&source.name), target))
            });
            if let Some(target) = overwritten {
                error(format!(
                    "{} is one of the input files: write the converted documents to another directory",
                    target.display()
                ));
                return ExitStatus::Failure;
            }
            for ((name, yaml), target) in files.iter().zip(targets) {
                let newline = if yaml.ends_with('\n') { "" } else { "\n" };
                let written = target
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| std::fs::write(&target, format!("{yaml}{newline}")));
                if let Err(e) = written {
                    error(format!("cannot write {}: {e}", target.display()));
                    return ExitStatus::Failure;
                }
                eprintln!("{name} -> {}", target.display());
            }
        }
    }
    eprintln!(
        "converted {} document(s) from {} file(s)",
        manifests.documents.len(),
        files.len()
    );
    ExitStatus::Success
}

/// True when both paths name one existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    matches!(
        (a.canonicalize(), b.canonicalize()),
        (Ok(a), Ok(b)) if a == b
    )
}

/// Where a converted file goes below the output directory: its path below
/// the input directory it was found in, else its file name (`stdin.yaml`
/// for stdin).
fn converted_path(name: &str, inputs: &[PathBuf]) -> PathBuf {
    if name == manifest::STDIN_NAME {
        return PathBuf::from("stdin.yaml");
    }
    let path = Path::new(name);
    inputs
        .iter()
        .filter(|input| input.is_dir())
        .find_map(|input| path.strip_prefix(input).ok())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| path.file_name().map(PathBuf::from).unwrap_or_default())
}
