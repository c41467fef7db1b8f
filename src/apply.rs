//! Executing a plan against JetStream: streams, then KV buckets and object
//! stores, then consumers; deletes in reverse. Changes of one phase run
//! concurrently (bounded). Transient failures are retried with capped,
//! jittered exponential backoff; permanent ones are reported at once with
//! the server's code. A failure skips what depends on it; the rest goes on.

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use serde_json::{Value, json};

use crate::nats::error::ApiRequestError;
use crate::nats::{AccountUsage, JsApi};
use crate::plan::classify::{Action, Change, PAUSE_FIELD, Plan, apply_rank};
use crate::plan::{Address, AssetKind};
use crate::plan::{ownership, restore};

/// How to apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Attempts for a transient failure (1 = no retry).
    pub attempts: u32,
    /// First retry delay; doubles each attempt up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            concurrency: 64,
            attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// What happened to one change.
#[derive(Clone, Debug, PartialEq)]
pub enum ChangeOutcome {
    Done,
    /// Not attempted: refused by the plan, or something it depends on failed.
    Skipped(Skip),
    Failed(ApplyError),
}

/// Why a change was not attempted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    /// The plan refused it (the reason the plan gives).
    #[error("refused: {0}")]
    Refused(String),
    /// A consumer whose stream (named) failed to be written.
    #[error("its stream `{0}` was not written")]
    StreamNotWritten(String),
}

/// Why a change failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// A JetStream API request failed (after its retries, when transient),
    /// with what the server's text leaves out.
    #[error("{source}{help}")]
    Request {
        source: ApiRequestError,
        help: RequestHelp,
    },
    /// The plan holds no config for a write that sends one.
    #[error("{address}: no config to send")]
    NoConfig { address: Address },
    /// Another application's consumer could not be created again after
    /// its stream's replacement.
    #[error("creating again consumer `{name}` (not managed by jetsync): {source}")]
    Restore {
        name: String,
        source: Box<ApplyError>,
    },
    /// The change's task panicked.
    #[error("apply task failed: it panicked")]
    Panicked,
    /// The change's task never reported back.
    #[error("apply task did not finish")]
    Unfinished,
}

impl ApplyError {
    /// The server's `err_code`, when the server refused the request.
    pub fn err_code(&self) -> Option<u64> {
        match self {
            Self::Request { source, .. } => source.err_code(),
            Self::Restore { source, .. } => source.err_code(),
            _ => None,
        }
    }
}

/// What an [`ApplyError::Request`] adds to the server's error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestHelp {
    /// Nothing.
    None,
    /// "no suitable peers for placement" (10005): the replicas and
    /// placement asked for.
    Placement {
        replicas: u64,
        placement: Option<String>,
    },
    /// "can not move and scale a stream in a single update" (10123).
    MoveAndScale,
    /// A limit error (10026, 10027, 10028, 10047): which limit, and its value.
    AccountLimit(String),
    /// A transient error that lasted through every attempt.
    GaveUp { attempts: u32 },
}

impl std::fmt::Display for RequestHelp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => Ok(()),
            Self::Placement {
                replicas,
                placement,
            } => {
                let placement = match placement {
                    Some(placement) => format!(", placement: {placement}"),
                    None => String::new(),
                };
                write!(
                    f,
                    ": fewer than {replicas} servers of the cluster fit \
                     replicas: {replicas}{placement}; lower replicas, or change the placement"
                )
            }
            Self::MoveAndScale => f.write_str(
                ": replicas and placement cannot change in the same update; \
                 change one, apply, then the other",
            ),
            Self::AccountLimit(limit) => write!(f, "; {limit}"),
            Self::GaveUp { attempts } => write!(f, " (gave up after {attempts} attempts)"),
        }
    }
}

/// The result of applying a plan: every change with its outcome, in plan
/// order.
#[derive(Clone, Debug)]
pub struct Report<O> {
    pub results: Vec<(Address, Action, O)>,
}

/// The outcomes of a plan's changes.
pub type Applied = Report<ChangeOutcome>;

impl<O> Default for Report<O> {
    fn default() -> Self {
        Self {
            results: Vec::new(),
        }
    }
}

impl<O: Done> Report<O> {
    /// True when every change was made.
    pub fn converged(&self) -> bool {
        self.results.iter().all(|(_, _, outcome)| outcome.done())
    }

    /// The changes with a given outcome kind.
    pub fn count(&self, predicate: impl Fn(&O) -> bool) -> usize {
        self.results.iter().filter(|(_, _, o)| predicate(o)).count()
    }
}

/// An outcome that may say the change was made.
pub trait Done {
    /// True when the change was made.
    fn done(&self) -> bool;
}

impl Done for ChangeOutcome {
    fn done(&self) -> bool {
        matches!(self, Self::Done)
    }
}

/// Applies every allowed change of `plan`.
pub async fn run(api: &JsApi, plan: &Plan, options: &ApplyOptions) -> Applied {
    let mut report = Applied::default();
    let mut failed_streams: BTreeSet<String> = BTreeSet::new();
    // Phases in plan order: the plan is sorted by apply rank.
    let mut index = 0;
    while index < plan.changes.len() {
        let rank = apply_rank(&plan.changes[index]);
        let mut end = index;
        while end < plan.changes.len() && apply_rank(&plan.changes[end]) == rank {
            end += 1;
        }
        let mut phase_results: Vec<Option<ChangeOutcome>> = vec![None; end - index];
        let mut runnable = Vec::new();
        for (slot, change) in plan.changes[index..end].iter().enumerate() {
            if change.reported {
                continue;
            }
            if let Some(reason) = &change.refused {
                phase_results[slot] = Some(ChangeOutcome::Skipped(Skip::Refused(reason.clone())));
                continue;
            }
            if change.address.kind == AssetKind::Consumer
                && change.action != Action::Delete
                && failed_streams.contains(&change.address.name)
            {
                phase_results[slot] = Some(ChangeOutcome::Skipped(Skip::StreamNotWritten(
                    change.address.name.clone(),
                )));
                continue;
            }
            runnable.push((slot, change));
        }
        // The changes are borrowed, not copied into spawned tasks: a plan of
        // thousands of creates would otherwise clone every config once more.
        let pending: Vec<_> = runnable
            .into_iter()
            .map(|(slot, change)| execute_in_slot(api, slot, change, options))
            .collect();
        let mut finished =
            futures::stream::iter(pending).buffer_unordered(options.concurrency.max(1));
        while let Some((slot, result)) = finished.next().await {
            phase_results[slot] = Some(match result {
                Ok(()) => ChangeOutcome::Done,
                Err(error) => ChangeOutcome::Failed(error),
            });
        }
        for (change, outcome) in plan.changes[index..end].iter().zip(phase_results) {
            if change.reported {
                continue; // drift left as it is: nothing to write, nothing to report
            }
            let outcome = outcome.unwrap_or(ChangeOutcome::Failed(ApplyError::Unfinished));
            if change.address.kind.is_stream_like() && outcome != ChangeOutcome::Done {
                failed_streams.insert(change.address.stream_name());
            }
            report
                .results
                .push((change.address.clone(), change.action, outcome));
        }
        index = end;
    }
    report
}

/// [`execute`], a panic reported as a failure, with the change's slot.
async fn execute_in_slot(
    api: &JsApi,
    slot: usize,
    change: &Change,
    options: &ApplyOptions,
) -> (usize, Result<(), ApplyError>) {
    let result = AssertUnwindSafe(execute(api, change, options))
        .catch_unwind()
        .await
        .unwrap_or(Err(ApplyError::Panicked));
    (slot, result)
}

async fn execute(api: &JsApi, change: &Change, options: &ApplyOptions) -> Result<(), ApplyError> {
    let address = &change.address;
    let config = change.config.as_ref();
    let needs_config = || {
        config.ok_or_else(|| ApplyError::NoConfig {
            address: address.clone(),
        })
    };
    match (address.kind, change.action) {
        (AssetKind::Consumer, Action::Create) => {
            create_consumer(api, address, needs_config()?, "create", options).await
        }
        (AssetKind::Consumer, Action::Update | Action::Adopt) if !forces(change) => {
            let pause = change.diff.iter().any(|f| f.json_field == PAUSE_FIELD);
            let others = change.diff.iter().any(|f| f.json_field != PAUSE_FIELD);
            if others || change.action == Action::Adopt {
                create_consumer(api, address, needs_config()?, "update", options).await?;
            }
            if pause {
                pause_consumer(api, address, needs_config()?, options).await?;
            }
            Ok(())
        }
        (AssetKind::Consumer, Action::Delete) => delete(api, address, options).await,
        (AssetKind::Consumer, _) => {
            delete(api, address, options).await?;
            create_consumer(api, address, needs_config()?, "create", options).await
        }
        (_, Action::Create) if change.restore.is_empty() => {
            create_stream(api, address, needs_config()?, options).await
        }
        (_, Action::Create) => {
            create_stream(api, address, needs_config()?, options).await?;
            restore_consumers(api, change, options).await
        }
        (_, Action::Update | Action::Adopt) if !forces(change) => {
            restore_consumers(api, change, options).await?;
            // An update made only to finish restoring has nothing else to send.
            let only_restoring = change.action == Action::Update
                && change.diff.is_empty()
                && change.restore_holder.is_some();
            if !only_restoring {
                let subject = format!("STREAM.UPDATE.{}", address.stream_name());
                call(api, &subject, needs_config()?, options).await?;
            }
            Ok(())
        }
        (_, Action::Delete) => delete(api, address, options).await,
        (_, _) if change.restore.is_empty() => {
            delete(api, address, options).await?;
            create_stream(api, address, needs_config()?, options).await
        }
        (_, _) => {
            // Other applications' consumers come back: their configs are
            // written to a holder stream before the old stream goes, so that
            // a rerun after a crash anywhere from here still restores them.
            let config = needs_config()?;
            let stream = address.stream_name();
            let owner = ownership::owner_of(config).unwrap_or_default();
            let holder = restore::holder_config(&stream, &change.restore, owner);
            let verb = match change.restore_holder {
                Some(_) => "UPDATE",
                None => "CREATE",
            };
            let subject = format!("STREAM.{verb}.{}", restore::holder_name(&stream));
            call(api, &subject, &holder, options).await?;
            delete(api, address, options).await?;
            create_stream(api, address, config, options).await?;
            restore_consumers(api, change, options).await
        }
    }
}

/// Creates again, with their exact configs, the consumers of other
/// applications that a stream's replacement keeps (`change.restore`), then
/// deletes the holder stream that kept them.
async fn restore_consumers(
    api: &JsApi,
    change: &Change,
    options: &ApplyOptions,
) -> Result<(), ApplyError> {
    if change.restore.is_empty() && change.restore_holder.is_none() {
        return Ok(());
    }
    let stream = change.address.stream_name();
    for config in &change.restore {
        let name = restore::consumer_name(config);
        let consumer = Address::consumer(&stream, name);
        create_consumer(api, &consumer, config, "", options)
            .await
            .map_err(|e| ApplyError::Restore {
                name: name.to_string(),
                source: Box::new(e),
            })?;
    }
    delete(
        api,
        &Address::stream(&restore::holder_name(&stream)),
        options,
    )
    .await
}

/// Creates a stream. A stream cannot be created sealed: it is created open
/// and sealed by an update right after.
async fn create_stream(
    api: &JsApi,
    address: &Address,
    config: &Value,
    options: &ApplyOptions,
) -> Result<(), ApplyError> {
    let create = format!("STREAM.CREATE.{}", address.stream_name());
    if config.get("sealed") != Some(&Value::Bool(true)) {
        return call(api, &create, config, options).await;
    }
    let mut open = config.clone();
    open["sealed"] = Value::Bool(false);
    call(api, &create, &open, options).await?;
    let update = format!("STREAM.UPDATE.{}", address.stream_name());
    call(api, &update, config, options).await
}

/// A change that cannot be made in place (replace, or adopt with such a field).
fn forces(change: &Change) -> bool {
    change.action == Action::Replace || change.diff.iter().any(|field| field.forces_replacement)
}

async fn create_consumer(
    api: &JsApi,
    address: &Address,
    config: &Value,
    action: &str,
    options: &ApplyOptions,
) -> Result<(), ApplyError> {
    let name = address.consumer.as_deref().unwrap_or_default();
    let body = json!({ "stream_name": address.name, "config": config, "action": action });
    let subject = format!("CONSUMER.CREATE.{}.{name}", address.name);
    call(api, &subject, &body, options).await
}

/// Sets (or clears) a consumer's pause through the PAUSE API: a plain
/// update would reset it.
async fn pause_consumer(
    api: &JsApi,
    address: &Address,
    config: &Value,
    options: &ApplyOptions,
) -> Result<(), ApplyError> {
    let name = address.consumer.as_deref().unwrap_or_default();
    let body = match config.get(PAUSE_FIELD) {
        Some(until) => json!({ "pause_until": until }),
        None => json!({}),
    };
    let subject = format!("CONSUMER.PAUSE.{}.{name}", address.name);
    call(api, &subject, &body, options).await
}

async fn delete(api: &JsApi, address: &Address, options: &ApplyOptions) -> Result<(), ApplyError> {
    let subject = match &address.consumer {
        Some(name) => format!("CONSUMER.DELETE.{}.{name}", address.name),
        None => format!("STREAM.DELETE.{}", address.stream_name()),
    };
    match request(api, &subject, None, options).await {
        Ok(_) => Ok(()),
        // Already gone: the goal is reached.
        Err(error) if matches!(error.err_code(), Some(10059 | 10014)) => Ok(()),
        Err(error) => Err(ApplyError::Request {
            help: gave_up(&error, options),
            source: error,
        }),
    }
}

/// "gave up after N attempts" for a transient error: [`request`] returns
/// one only when every attempt failed.
fn gave_up(error: &ApiRequestError, options: &ApplyOptions) -> RequestHelp {
    if error.is_transient() && options.attempts > 1 {
        RequestHelp::GaveUp {
            attempts: options.attempts,
        }
    } else {
        RequestHelp::None
    }
}

async fn call(
    api: &JsApi,
    operation: &str,
    body: &Value,
    options: &ApplyOptions,
) -> Result<(), ApplyError> {
    match request(api, operation, Some(body), options).await {
        Ok(_) => Ok(()),
        Err(error) => {
            let help = match account_limit(api, &error).await {
                Some(limit) => RequestHelp::AccountLimit(limit),
                None => match explain(&error, body) {
                    RequestHelp::None => gave_up(&error, options),
                    help => help,
                },
            };
            Err(ApplyError::Request {
                source: error,
                help,
            })
        }
    }
}

/// For the limit errors (10026 consumers, 10027 streams, 10028 memory,
/// 10047 file storage), which limit it is and its value, read from
/// `$JS.API.INFO`: the server's own text does not say.
async fn account_limit(api: &JsApi, error: &ApiRequestError) -> Option<String> {
    let code = error
        .err_code()
        .filter(|code| matches!(code, 10026 | 10027 | 10028 | 10047))?;
    let info: Value = api.request_raw::<()>("INFO", None).await.ok()?;
    let usage = AccountUsage::from_info(&info);
    Some(match code {
        10027 => format!(
            "the account's JetStream limit max_streams is {}, and it has {} streams",
            usage.max_streams?, usage.streams
        ),
        10026 => match usage.max_consumers {
            Some(max) => format!(
                "the account's JetStream limit max_consumers is {max} per stream \
                 (a stream's own maxConsumers limits it too)"
            ),
            None => "the stream's maxConsumers is reached".to_string(),
        },
        10028 => match usage.max_memory {
            Some(max) => format!(
                "the account's JetStream limit max_mem is {max} bytes, {} of them reserved \
                 by the maxBytes of its memory streams",
                usage.reserved_memory
            ),
            None => "the server's JetStream memory (max_memory_store) is used up".to_string(),
        },
        _ => match usage.max_storage {
            Some(max) => format!(
                "the account's JetStream limit max_file is {max} bytes, {} of them reserved \
                 by the maxBytes of its file streams",
                usage.reserved_storage
            ),
            None => "the server's JetStream file storage (max_file_store) is used up".to_string(),
        },
    })
}

/// The spec fields the server's error is about, when its own text does
/// not name them.
fn explain(error: &ApiRequestError, body: &Value) -> RequestHelp {
    let config = body.get("config").unwrap_or(body);
    match error.err_code() {
        // "no suitable peers for placement": fewer servers fit than replicas.
        Some(10005) => {
            let replicas = config
                .get("num_replicas")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let placement = config
                .get("placement")
                .filter(|p| !p.is_null())
                .map(Value::to_string);
            RequestHelp::Placement {
                replicas,
                placement,
            }
        }
        // "can not move and scale a stream in a single update".
        Some(10123) => RequestHelp::MoveAndScale,
        _ => RequestHelp::None,
    }
}

/// One API request, retried while the failure is transient.
async fn request(
    api: &JsApi,
    operation: &str,
    body: Option<&Value>,
    options: &ApplyOptions,
) -> Result<Value, ApiRequestError> {
    let mut delay = options.initial_backoff;
    let mut attempt = 1;
    loop {
        match api.request_raw(operation, body).await {
            Err(error) if error.is_transient() && attempt < options.attempts => {
                tokio::time::sleep(jittered(delay)).await;
                delay = (delay * 2).min(options.max_backoff);
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// `delay` scaled by a factor in [0.5, 1.5), from the clock's nanoseconds.
fn jittered(delay: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let factor = 0.5 + f64::from(nanos % 1000) / 1000.0;
    delay.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nats::ApiError;

    fn refused(subject: &str, err_code: u64, description: &str) -> ApiRequestError {
        ApiRequestError::Api {
            subject: subject.to_string(),
            error: ApiError {
                code: 400,
                err_code,
                description: description.to_string(),
            },
        }
    }

    #[test]
    fn a_placement_refusal_names_the_replicas_and_placement_asked_for_and_keeps_the_err_code() {
        let error = refused(
            "$JS.API.STREAM.CREATE.ORDERS",
            10005,
            "no suitable peers for placement",
        );
        let body = json!({"name": "ORDERS", "num_replicas": 3, "placement": {"cluster": "east"}});
        let failed = ApplyError::Request {
            help: explain(&error, &body),
            source: error,
        };

        assert_eq!(failed.err_code(), Some(10005));
        assert_eq!(
            failed.to_string(),
            "JetStream API $JS.API.STREAM.CREATE.ORDERS: no suitable peers for placement \
             (err_code 10005, status 400): fewer than 3 servers of the cluster fit replicas: 3, \
             placement: {\"cluster\":\"east\"}; lower replicas, or change the placement"
        );
    }

    #[test]
    fn a_transient_error_says_how_often_it_was_tried_and_others_do_not() {
        let options = ApplyOptions::default();
        let unavailable = refused("$JS.API.STREAM.UPDATE.X", 10008, "cluster not available");
        let overlap = refused("$JS.API.STREAM.UPDATE.X", 10065, "subjects overlap");

        assert_eq!(
            gave_up(&unavailable, &options).to_string(),
            format!(" (gave up after {} attempts)", options.attempts)
        );
        assert_eq!(gave_up(&overlap, &options), RequestHelp::None);
        assert_eq!(explain(&overlap, &json!({})), RequestHelp::None);
    }

    #[test]
    fn a_restored_consumer_failure_keeps_the_servers_err_code_and_reads_as_text() {
        let failed = ApplyError::Restore {
            name: "audit".to_string(),
            source: Box::new(ApplyError::Request {
                source: refused("$JS.API.CONSUMER.CREATE.X.audit", 10012, "refused"),
                help: RequestHelp::None,
            }),
        };
        assert_eq!(failed.err_code(), Some(10012));

        let applied = Applied {
            results: vec![
                (
                    Address::stream("X"),
                    Action::Replace,
                    ChangeOutcome::Failed(failed.clone()),
                ),
                (
                    Address::consumer("X", "worker"),
                    Action::Create,
                    ChangeOutcome::Skipped(Skip::StreamNotWritten("X".to_string())),
                ),
            ],
        };
        assert!(!applied.converged());
        let text: Vec<String> = applied
            .results
            .iter()
            .map(|(_, _, outcome)| match outcome {
                ChangeOutcome::Failed(error) => error.to_string(),
                ChangeOutcome::Skipped(skip) => skip.to_string(),
                ChangeOutcome::Done => "done".to_string(),
            })
            .collect();
        assert_eq!(
            text,
            vec![
                format!(
                    "creating again consumer `audit` (not managed by jetsync): {}",
                    failed_source(&failed)
                ),
                "its stream `X` was not written".to_string(),
            ]
        );
    }

    fn failed_source(error: &ApplyError) -> String {
        match error {
            ApplyError::Restore { source, .. } => source.to_string(),
            other => panic!("not a restore failure: {other}"),
        }
    }
}
