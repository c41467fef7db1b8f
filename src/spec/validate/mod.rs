//! Static validation: everything about one document that nats-server (or
//! Kubernetes) would refuse and that can be known without asking it. Every
//! problem is reported, not only the first, each at its full document path.

mod common;
mod connection;
mod consumer;
mod kv;
mod object_store;
mod rfc3339;
mod stream;

use std::fmt;

use super::AssetSpec;
use super::names;
use super::path::FieldPath;
use super::units::Duration;

pub use rfc3339::{rfc3339_is_valid, rfc3339_unix_nanos};

/// Most replicas a stream, bucket or consumer may have.
pub const MAX_REPLICAS: u32 = 5;
/// Most values a KV bucket keeps per key.
pub const MAX_KV_HISTORY: u32 = 64;
/// Longest description nats-server accepts, in bytes (`JSMaxDescriptionLen`).
pub const MAX_DESCRIPTION_BYTES: usize = 4 * 1024;
/// Largest total of metadata keys and values nats-server accepts, in bytes (`JSMaxMetadataLen`).
pub const MAX_METADATA_BYTES: usize = 128 * 1024;
/// Largest message size limit: nats-server stores `max_msg_size` as a 32-bit integer.
pub const MAX_MSG_SIZE_BYTES: u64 = i32::MAX as u64;

/// Shortest `max_age` (stream `maxAge`, bucket `ttl`) and duplicate window the server accepts.
const MIN_AGE: Duration = Duration::from_nanos(100_000_000);
/// Shortest idle heartbeat the server accepts.
const MIN_HEARTBEAT: Duration = Duration::from_nanos(100_000_000);
/// Shortest subject delete marker TTL (KV `limitMarkerTtl`) the server accepts.
const MIN_MARKER_TTL: Duration = Duration::from_secs(1);
/// Shortest `max_expires` of a pull consumer the server accepts.
const MIN_MAX_EXPIRES: Duration = Duration::from_nanos(1_000_000);

/// Subject spaces a stream may only capture with `noAck: true`, with the
/// narrower space that is exempt, as nats-server checks them.
const API_SUBJECTS: [(&str, &str, &str); 4] = [
    ("$JS.>", "$JS.EVENT.>", "JetStream API"),
    ("$JSC.>", "$JS.EVENT.>", "JetStream API"),
    ("$NRG.>", "$JS.EVENT.>", "JetStream API"),
    ("$SYS.>", "$SYS.ACCOUNT.>", "system API"),
];

/// Spec fields that are not JetStream config: names and jetsync's policies.
const NOT_CONFIG: [&str; 11] = [
    "name",
    "streamName",
    "connection",
    "adopt",
    "onImmutableChange",
    "deletionPolicy",
    "driftPolicy",
    "unmanagedConsumers",
    "suspend",
    "managementPolicy",
    "ignoreFields",
];

/// The top-level spec fields of `T` that `ignoreFields` may name.
pub fn config_fields<T: schemars::JsonSchema>() -> Vec<String> {
    let schema = schemars::schema_for!(T);
    schema
        .get("properties")
        .and_then(serde_json::Value::as_object)
        .map(|properties| {
            properties
                .keys()
                .filter(|field| !NOT_CONFIG.contains(&field.as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a problem stops the document from being applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProblemSeverity {
    /// The server would refuse the document, or it cannot mean what it says.
    Error,
    /// Accepted, but probably not what the user meant.
    Warning,
}

/// One thing wrong with a document, at the field it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Full document path, e.g. `spec.sources[0].name`.
    pub path: FieldPath,
    /// What is wrong, naming the values involved.
    pub message: String,
    /// What the user can do about it.
    pub help: Option<String>,
    /// Whether the document can still be applied.
    pub severity: ProblemSeverity,
}

impl Problem {
    /// An error at `path`.
    pub fn error(path: FieldPath, message: impl Into<String>) -> Self {
        Self {
            path,
            message: message.into(),
            help: None,
            severity: ProblemSeverity::Error,
        }
    }

    /// A warning at `path`.
    pub fn warning(path: FieldPath, message: impl Into<String>) -> Self {
        Self {
            severity: ProblemSeverity::Warning,
            ..Self::error(path, message)
        }
    }

    /// The same problem with a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// True for errors, which stop the document from being applied.
    pub fn is_error(&self) -> bool {
        self.severity == ProblemSeverity::Error
    }

    fn help(&mut self, help: impl Into<String>) {
        self.help = Some(help.into());
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.path, self.message)
    }
}

/// Validates one document: `object_name` is metadata.name.
///
/// Returns every problem found, errors and warnings; an empty list means the
/// document is statically valid. Rules that need other documents or the live
/// server (a consumer's replicas against its stream's, subject overlaps
/// between streams) are left to planning.
pub fn validate(object_name: &str, spec: &AssetSpec) -> Vec<Problem> {
    let mut checker = Checker::default();
    if let Err(message) = names::check_object_name(object_name) {
        checker.error(object_name_path(), message).help(
            "metadata.name is the Kubernetes object name: lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit",
        );
    }
    match spec {
        AssetSpec::Stream(spec) => checker.stream(object_name, spec),
        AssetSpec::Consumer(spec) => checker.consumer(object_name, spec),
        AssetSpec::KeyValue(spec) => checker.key_value(object_name, spec),
        AssetSpec::ObjectStore(spec) => checker.object_store(object_name, spec),
        AssetSpec::NatsConnection(spec) => checker.connection_profile(spec),
    }
    checker.problems
}

fn object_name_path() -> FieldPath {
    FieldPath::root().field("metadata").field("name")
}

/// `spec.<field>`.
fn at(field: &'static str) -> FieldPath {
    FieldPath::spec_field(field)
}

fn is_true(flag: Option<bool>) -> bool {
    flag == Some(true)
}

/// One of the name rules of [`names`].
type NameCheck = fn(&str) -> Result<(), String>;

/// Which name rule the origin of a mirror or source follows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Stream,
    Bucket,
}

/// Collects the problems of one document; its rules are `impl Checker`
/// blocks in this module's files, one per kind and one for shared rules.
#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
    /// Subject pairs compared for overlaps so far (see [`MAX_OVERLAP_COMPARISONS`]).
    comparisons_spent: usize,
}

/// Most subject pairs one document's overlap checks compare: about a second
/// of work in a debug build.
const MAX_OVERLAP_COMPARISONS: usize = 1_000_000;

/// True when a valid subject has a `*` or `>` token.
fn has_wildcard(subject: &str) -> bool {
    subject.split('.').any(|token| token == "*" || token == ">")
}

impl Checker {
    fn error(&mut self, path: FieldPath, message: impl Into<String>) -> &mut Problem {
        self.problems.push(Problem::error(path, message));
        self.problems.last_mut().expect("a problem was just pushed")
    }

    fn warning(&mut self, path: FieldPath, message: impl Into<String>) -> &mut Problem {
        self.problems.push(Problem::warning(path, message));
        self.problems.last_mut().expect("a problem was just pushed")
    }
}

#[cfg(test)]
mod tests;
