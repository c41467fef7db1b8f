//! Static validation: everything about one document that nats-server (or
//! Kubernetes) would refuse and that can be known without asking it. Every
//! problem is reported, not only the first, each at its full document path.

use std::collections::HashMap;
use std::fmt;

use super::AssetSpec;
use super::common::{
    DiscardPolicy, Metadata, PersistMode, Placement, Republish, RetentionPolicy, StorageType,
    StreamSource, SubjectTransform,
};
use super::connection::{NatsConnectionSpec, SecretSource};
use super::consumer::{AckPolicy, ConsumerSpec, DeliverPolicy, PriorityPolicy};
use super::kv::KeyValueSpec;
use super::names::{self, SubjectUse, quoted};
use super::object_store::ObjectStoreSpec;
use super::path::FieldPath;
use super::stream::StreamSpec;
use super::units::{Duration, Size};

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

/// True for an RFC 3339 timestamp as nats-server parses it:
/// `YYYY-MM-DDTHH:MM:SS(.fraction)?(Z|±HH:MM)`, with real calendar dates.
pub fn rfc3339_is_valid(text: &str) -> bool {
    rfc3339_unix_nanos(text).is_some()
}

/// Nanoseconds since the Unix epoch of a strict RFC 3339 timestamp
/// (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`), or None when it is not one.
/// Two spellings of one instant give the same number.
pub fn rfc3339_unix_nanos(text: &str) -> Option<i128> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = bytes.get(range)?;
        digits.iter().all(u8::is_ascii_digit).then(|| {
            digits
                .iter()
                .fold(0, |value, digit| value * 10 + u32::from(digit - b'0'))
        })
    };
    let separator_at = |index: usize, expected: u8| bytes.get(index) == Some(&expected);
    let (year, month, day, hour, minute, second) = (
        number(0..4)?,
        number(5..7)?,
        number(8..10)?,
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
    );
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if !separators
        .iter()
        .all(|(index, byte)| separator_at(*index, *byte))
    {
        return None;
    }
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &bytes[19..];
    let mut nanos: i128 = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        for position in 0..9 {
            let digit = fraction.get(position).filter(|_| position < digits);
            nanos = nanos * 10 + digit.map_or(0, |d| i128::from(d - b'0'));
        }
        rest = &fraction[digits..];
    }
    let two_digits = |high: &u8, low: &u8| {
        (high.is_ascii_digit() && low.is_ascii_digit()).then(|| (high - b'0') * 10 + (low - b'0'))
    };
    let offset_seconds: i128 = match rest {
        b"Z" => 0,
        [
            sign @ (b'+' | b'-'),
            hour_high,
            hour_low,
            b':',
            minute_high,
            minute_low,
        ] => match (
            two_digits(hour_high, hour_low),
            two_digits(minute_high, minute_low),
        ) {
            (Some(hours), Some(minutes)) if hours <= 23 && minutes <= 59 => {
                let seconds = i128::from(hours) * 3600 + i128::from(minutes) * 60;
                if *sign == b'+' { seconds } else { -seconds }
            }
            _ => return None,
        },
        _ => return None,
    };
    let days = days_from_civil(i128::from(year), i128::from(month), i128::from(day));
    let seconds =
        days * 86_400 + i128::from(hour) * 3600 + i128::from(minute) * 60 + i128::from(second)
            - offset_seconds;
    Some(seconds * 1_000_000_000 + nanos)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i128, month: i128, day: i128) -> i128 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn object_name_path() -> FieldPath {
    FieldPath::root().field("metadata").field("name")
}

/// `spec.<field>`.
fn at(field: &str) -> FieldPath {
    FieldPath::spec().field(field)
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

    // ----- shared rules -----

    /// The JetStream name: `spec.name`, or metadata.name when that is absent.
    fn jetstream_name(
        &mut self,
        object_name: &str,
        explicit: Option<&str>,
        check: NameCheck,
        what: &str,
    ) {
        match explicit {
            Some(name) => {
                if let Err(message) = check(name) {
                    self.error(at("name"), message).help(format!(
                        "spec.name is the {what} name in JetStream; pick a valid {what} name"
                    ));
                }
            }
            None => {
                if let Err(message) = check(object_name) {
                    self.error(object_name_path(), message).help(format!(
                        "spec.name is not set, so metadata.name is used as the {what} name; set spec.name to a valid {what} name"
                    ));
                }
            }
        }
    }

    /// A bucket's backing stream `<prefix><bucket>` must fit the stream name limit.
    fn bucket_stream_name_length(
        &mut self,
        object_name: &str,
        explicit: Option<&str>,
        prefix: &str,
    ) {
        let (name, path) = match explicit {
            Some(name) => (name, at("name")),
            None => (object_name, object_name_path()),
        };
        let longest = names::MAX_NAME_BYTES - prefix.len();
        if name.len() > longest {
            self.error(
                path,
                format!(
                    "the bucket name {} is {} bytes long; its stream `{prefix}…` must fit in {} bytes, so bucket names are at most {longest}",
                    quoted(name),
                    name.len(),
                    names::MAX_NAME_BYTES
                ),
            )
            .help("pick a shorter bucket name");
        }
    }

    fn connection(&mut self, connection: Option<&str>) {
        if let Some(connection) = connection
            && let Err(message) = names::check_object_name(connection)
        {
            self.error(at("connection"), message)
                .help("connection names a NatsConnection by its metadata.name");
        }
    }

    fn description(&mut self, description: Option<&str>) {
        if let Some(description) = description
            && description.len() > MAX_DESCRIPTION_BYTES
        {
            self.error(
                at("description"),
                format!(
                    "description is {} bytes long; JetStream accepts at most {MAX_DESCRIPTION_BYTES}",
                    description.len()
                ),
            )
            .help("shorten the description");
        }
    }

    /// `spec.ignoreFields` names JetStream config fields of the kind.
    fn ignore_fields<T: schemars::JsonSchema>(&mut self, fields: &[String]) {
        if fields.is_empty() {
            return;
        }
        let known = config_fields::<T>();
        for (index, field) in fields.iter().enumerate() {
            if !known.contains(field) {
                self.error(
                    at("ignoreFields").index(index),
                    format!("{} is not a config field of this kind", quoted(field)),
                )
                .help(format!(
                    "name top-level spec fields such as {}",
                    known
                        .iter()
                        .take(3)
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }

    fn metadata(&mut self, metadata: &Metadata) {
        for key in metadata.keys() {
            if let Err(message) = names::check_metadata_key(key) {
                self.error(at("metadata").field(key), message).help(
                    "remove this key; pick a key of your own, e.g. `team` or `example.com/owner`",
                );
            }
        }
        let total: usize = metadata
            .iter()
            .map(|(key, value)| key.len() + value.len())
            .sum();
        if total > MAX_METADATA_BYTES {
            self.error(
                at("metadata"),
                format!(
                    "metadata keys and values add up to {total} bytes; JetStream accepts at most {MAX_METADATA_BYTES} (128KiB)"
                ),
            )
            .help("store less in metadata");
        }
    }

    fn replicas(&mut self, replicas: Option<u32>, zero_help: &str) {
        match replicas {
            Some(0) => {
                self.error(at("replicas"), "replicas is 0")
                    .help(zero_help.to_string());
            }
            Some(count) if count > MAX_REPLICAS => {
                self.error(
                    at("replicas"),
                    format!(
                        "replicas is {count}, but JetStream keeps 1 to {MAX_REPLICAS} replicas"
                    ),
                )
                .help(format!("set replicas to a number from 1 to {MAX_REPLICAS}"));
            }
            _ => {}
        }
    }

    fn placement(&mut self, placement: Option<&Placement>) {
        let Some(placement) = placement else { return };
        if placement
            .cluster
            .as_deref()
            .is_some_and(|cluster| cluster.trim().is_empty())
        {
            self.error(
                at("placement").field("cluster"),
                "placement.cluster is empty",
            )
            .help("name the cluster, or leave cluster out");
        }
        for (index, tag) in placement.tags.iter().enumerate() {
            if tag.trim().is_empty() {
                self.error(
                    at("placement").field("tags").index(index),
                    "the placement tag is empty",
                )
                .help("remove the empty tag");
            }
        }
    }

    /// A duration that must be at least `minimum` when set; 0 is refused with
    /// `zero_help` (the server reads 0 as "unset").
    fn at_least(
        &mut self,
        field: &str,
        value: Option<Duration>,
        minimum: Duration,
        zero_help: &str,
    ) {
        match value {
            Some(value) if value == Duration::ZERO => {
                self.error(at(field), format!("{field} is 0s"))
                    .help(zero_help.to_string());
            }
            Some(value) if value < minimum => {
                self.error(
                    at(field),
                    format!("{field} is {value}, but JetStream needs at least {minimum}"),
                )
                .help(format!("set {field} to {minimum} or more"));
            }
            _ => {}
        }
    }

    fn message_size_limit(&mut self, field: &str, size: Option<Size>) {
        if let Some(size) = size
            && size.bytes() > MAX_MSG_SIZE_BYTES
        {
            self.error(
                at(field),
                format!(
                    "{field} is {size} ({} bytes); JetStream's limit is at most {MAX_MSG_SIZE_BYTES} bytes (just under 2GiB)",
                    size.bytes()
                ),
            )
            .help(format!("lower {field}, or leave it out for no limit"));
        }
    }

    fn rfc3339(&mut self, path: FieldPath, field: &str, value: Option<&str>) {
        if let Some(value) = value
            && !rfc3339_is_valid(value)
        {
            self.error(
                path,
                format!("{field} {} is not an RFC 3339 timestamp", quoted(value)),
            )
            .help("write it like `2025-01-31T12:00:00Z` or `2025-01-31T13:00:00+01:00`");
        }
    }

    /// A subject; returns whether it is valid.
    fn subject(&mut self, path: FieldPath, subject: &str, usage: SubjectUse) -> bool {
        match names::check_subject(subject, usage) {
            Ok(()) => true,
            Err(message) => {
                let help = match usage {
                    SubjectUse::Filter => {
                        "write subjects as `.`-separated tokens; `*` matches one token and `>` the rest, e.g. `orders.*.created` or `orders.>`"
                    }
                    SubjectUse::Publish => {
                        "write one exact subject of `.`-separated tokens, without `*` or `>`"
                    }
                };
                self.error(path, message).help(help);
                false
            }
        }
    }

    /// A list of filters: each valid, none repeated, none overlapping another
    /// (`collide` decides what counts as overlapping).
    fn filter_list(
        &mut self,
        path: &FieldPath,
        subjects: &[String],
        collide: fn(&str, &str) -> bool,
        what: &str,
    ) {
        // Two subjects without wildcards overlap only when equal, which the
        // repeat check finds; so a plain subject is compared with the earlier
        // wildcard subjects only, and long lists of plain subjects stay linear.
        let mut first_at: HashMap<&str, usize> = HashMap::with_capacity(subjects.len());
        let mut earlier: Vec<(usize, &str)> = Vec::with_capacity(subjects.len());
        let mut earlier_wildcards: Vec<(usize, &str)> = Vec::new();
        for (index, subject) in subjects.iter().enumerate() {
            let subject_path = path.index(index);
            if !self.subject(subject_path.clone(), subject, SubjectUse::Filter) {
                continue;
            }
            if let Some(first) = first_at.get(subject.as_str()) {
                self.error(
                    subject_path,
                    format!(
                        "{} is listed twice (also at {})",
                        quoted(subject),
                        path.index(*first)
                    ),
                )
                .help("remove one of them");
                continue;
            }
            first_at.insert(subject, index);
            let wildcard = has_wildcard(subject);
            let candidates = if wildcard {
                &earlier
            } else {
                &earlier_wildcards
            };
            let overlapping = if self.spend_comparisons(path, candidates.len()) {
                candidates
                    .iter()
                    .find(|(_, other)| collide(other, subject))
                    .copied()
            } else {
                None
            };
            earlier.push((index, subject));
            if wildcard {
                earlier_wildcards.push((index, subject));
            }
            if let Some((other_index, other)) = overlapping {
                self.error(
                    subject_path,
                    format!(
                        "{} overlaps {} ({}); {what}",
                        quoted(subject),
                        quoted(other),
                        path.index(other_index)
                    ),
                )
                .help("keep only the wider subject, or make them disjoint");
            }
        }
    }

    /// Takes `count` overlap comparisons from the document's allowance; false
    /// (after one warning) once it is spent, so that a list of many thousand
    /// wildcard subjects cannot make validation take minutes.
    fn spend_comparisons(&mut self, path: &FieldPath, count: usize) -> bool {
        if self.comparisons_spent > MAX_OVERLAP_COMPARISONS {
            return false;
        }
        self.comparisons_spent += count;
        if self.comparisons_spent > MAX_OVERLAP_COMPARISONS {
            self.warning(
                path.clone(),
                format!("too many wildcard subjects to check every pair for overlaps; jetsync stopped after {MAX_OVERLAP_COMPARISONS} comparisons"),
            )
            .help("the server checks the rest when the change is applied; fewer, wider wildcard subjects are easier to reason about");
            return false;
        }
        true
    }

    /// A subject transform at `path`: a valid source and a destination the source can map to.
    fn transform(&mut self, path: &FieldPath, source: Option<&str>, destination: &str) {
        if let Some(source) = source
            && !self.subject(path.field("source"), source, SubjectUse::Filter)
        {
            return;
        }
        if let Err(message) = names::check_subject_mapping(source, destination) {
            self.error(path.field("destination"), message).help(
                "refer to the source's `*` wildcards with `{{wildcard(1)}}`, `{{wildcard(2)}}`, …, and end the destination in `>` exactly when the source does",
            );
        }
    }

    /// `republish`: valid subjects, and no loop back into `stored_subjects`.
    fn republish(
        &mut self,
        republish: &Republish,
        stored_subjects: &[String],
        exempt_from_cycle: bool,
    ) {
        let path = at("republish");
        if republish.destination.trim().is_empty() {
            self.error(path.field("destination"), "republish.destination is empty")
                .help("name the subject to republish to, e.g. `archive.>`");
            return;
        }
        let errors_before = self.problems.len();
        self.transform(&path, republish.source.as_deref(), &republish.destination);
        if self.problems.len() > errors_before || exempt_from_cycle {
            return;
        }
        if let Some(subject) = stored_subjects
            .iter()
            .find(|subject| names::subjects_collide(&republish.destination, subject))
        {
            self.error(
                path.field("destination"),
                format!(
                    "republishing to {} would publish into {}, which this stream stores: a loop",
                    quoted(&republish.destination),
                    quoted(subject)
                ),
            )
            .help("republish to a subject outside the stream's subjects");
        }
    }

    /// A mirror or one of the sources.
    fn source(&mut self, path: &FieldPath, source: &StreamSource, origin: Origin, is_mirror: bool) {
        let (check, what): (NameCheck, &str) = match origin {
            Origin::Stream => (names::check_stream_name, "stream"),
            Origin::Bucket => (names::check_bucket_name, "bucket"),
        };
        if let Err(message) = check(&source.name) {
            self.error(path.field("name"), message)
                .help(format!("name the origin {what} by its JetStream name"));
        }
        if source.opt_start_seq.is_some() && source.opt_start_time.is_some() {
            self.error(
                path.field("optStartTime"),
                "optStartSeq and optStartTime are both set; copying can start at a sequence or at a time, not both",
            )
            .help("keep one of optStartSeq and optStartTime");
        }
        self.rfc3339(
            path.field("optStartTime"),
            "optStartTime",
            source.opt_start_time.as_deref(),
        );
        if let Some(filter) = &source.filter_subject {
            self.subject(path.field("filterSubject"), filter, SubjectUse::Filter);
            if !source.subject_transforms.is_empty() {
                self.error(
                    path.field("filterSubject"),
                    "filterSubject and subjectTransforms are both set; the server takes one or the other",
                )
                .help("move the filter into subjectTransforms as an entry with only `source`");
            }
        }
        let mut transform_sources: Vec<Option<&str>> = Vec::new();
        for (index, transform) in source.subject_transforms.iter().enumerate() {
            let transform_path = path.field("subjectTransforms").index(index);
            let errors_before = self.problems.len();
            self.transform(
                &transform_path,
                transform.source.as_deref(),
                &transform.destination,
            );
            let transform_source = transform.source.as_deref().unwrap_or(">");
            if self.problems.len() > errors_before {
                transform_sources.push(None);
                continue;
            }
            let affordable =
                self.spend_comparisons(&path.field("subjectTransforms"), transform_sources.len());
            let overlapping = transform_sources
                .iter()
                .take(if affordable { usize::MAX } else { 0 })
                .enumerate()
                .find_map(|(other_index, other)| {
                    other
                        .filter(|other| {
                            if is_mirror {
                                names::subjects_collide(other, transform_source)
                            } else {
                                names::subject_is_subset(other, transform_source)
                                    || names::subject_is_subset(transform_source, other)
                            }
                        })
                        .map(|other| (other_index, other))
                });
            if let Some((other_index, other)) = overlapping {
                self.error(
                    transform_path.field("source"),
                    format!(
                        "the transform source {} overlaps {} (subjectTransforms[{other_index}])",
                        quoted(transform_source),
                        quoted(other)
                    ),
                )
                .help("make the transform sources disjoint");
            }
            transform_sources.push(Some(transform_source));
        }
        if let Some(external) = &source.external {
            let external_path = path.field("external");
            if self.subject(
                external_path.field("apiPrefix"),
                &external.api_prefix,
                SubjectUse::Publish,
            ) && names::subjects_collide(&external.api_prefix, "$JS.API")
            {
                self.error(
                    external_path.field("apiPrefix"),
                    format!(
                        "apiPrefix {} is this account's own JetStream API",
                        quoted(&external.api_prefix)
                    ),
                )
                .help("use the other domain's or account's prefix, e.g. `$JS.hub.API`");
            }
            if let Some(prefix) = &external.deliver_prefix {
                self.subject(
                    external_path.field("deliverPrefix"),
                    prefix,
                    SubjectUse::Publish,
                );
            }
        }
        if let Some(consumer) = &source.consumer {
            let consumer_path = path.field("consumer");
            if let Err(message) = names::check_consumer_name(&consumer.name) {
                self.error(consumer_path.field("name"), message)
                    .help("name the durable consumer on the origin");
            }
            match &consumer.deliver_subject {
                Some(subject) => {
                    self.subject(
                        consumer_path.field("deliverSubject"),
                        subject,
                        SubjectUse::Publish,
                    );
                }
                None => {
                    self.error(
                        consumer_path.clone(),
                        "a durable origin consumer needs deliverSubject",
                    )
                    .help(
                        "set consumer.deliverSubject to the subject the origin consumer pushes to",
                    );
                }
            }
            for (field, set) in [
                ("optStartSeq", source.opt_start_seq.is_some()),
                ("optStartTime", source.opt_start_time.is_some()),
                ("filterSubject", source.filter_subject.is_some()),
            ] {
                if set {
                    self.error(
                        path.field(field),
                        format!("{field} cannot be combined with a durable origin consumer, which decides where copying starts and what it copies"),
                    )
                    .help(format!("remove {field}, or remove consumer"));
                }
            }
        }
    }

    /// Sources: each valid, none repeating another (same origin, filter and transforms).
    fn sources(&mut self, sources: &[StreamSource], origin: Origin) {
        let mut seen: HashMap<SourceIdentity, usize> = HashMap::new();
        for (index, source) in sources.iter().enumerate() {
            let path = at("sources").index(index);
            self.source(&path, source, origin, false);
            if let Some(first) = seen.get(&SourceIdentity::of(source)) {
                self.error(
                    path,
                    format!(
                        "this source repeats sources[{first}]: the same origin {} with the same filters",
                        quoted(&source.name)
                    ),
                )
                .help("remove the duplicate source");
            } else {
                seen.insert(SourceIdentity::of(source), index);
            }
        }
    }

    // ----- Stream -----

    fn stream(&mut self, object_name: &str, spec: &StreamSpec) {
        let stream_name = spec.name.as_deref().unwrap_or(object_name);
        self.jetstream_name(
            object_name,
            spec.name.as_deref(),
            names::check_stream_name,
            "stream",
        );
        self.description(spec.description.as_deref());
        self.metadata(&spec.metadata);
        self.connection(spec.connection.as_deref());
        self.ignore_fields::<StreamSpec>(&spec.ignore_fields);
        self.placement(spec.placement.as_ref());
        self.replicas(
            spec.replicas,
            "set replicas to a number from 1 to 5, or leave it out for 1",
        );

        let is_mirror = spec.mirror.is_some();
        let has_sources = !spec.sources.is_empty();
        self.stream_subjects(spec);
        self.stream_limits(spec, is_mirror || has_sources);
        self.stream_flags(spec);

        if let Some(mirror) = &spec.mirror {
            self.source(&at("mirror"), mirror, Origin::Stream, true);
            if has_sources {
                self.error(at("sources"), "a mirror cannot also have sources")
                    .help("remove sources, or remove mirror and aggregate with sources only");
            }
            self.not_on_mirror(spec);
        } else if is_true(spec.mirror_direct) {
            self.error(
                at("mirrorDirect"),
                "mirrorDirect: true is only for mirrors, and this stream has no mirror",
            )
            .help("remove mirrorDirect, or use allowDirect for direct gets on this stream");
        }
        self.sources(&spec.sources, Origin::Stream);

        if let Some(transform) = &spec.subject_transform {
            self.stream_subject_transform(transform);
        }
        if let Some(republish) = &spec.republish {
            let stored = if spec.subjects.is_empty() && !is_mirror && !has_sources {
                vec![stream_name.to_string()]
            } else {
                spec.subjects.clone()
            };
            // nats-server rewrites `>` → `>` into "republish the transformed subjects".
            let exempt = republish.destination == ">"
                && republish.source.as_deref().unwrap_or(">") == ">"
                && spec.subjects.len() == 1
                && spec
                    .subject_transform
                    .as_ref()
                    .and_then(|transform| transform.source.as_deref())
                    == Some(spec.subjects[0].as_str());
            self.republish(republish, &stored, exempt);
        }
        if let Some(limits) = &spec.consumer_limits
            && limits.max_ack_pending == Some(0)
        {
            self.error(
                at("consumerLimits").field("maxAckPending"),
                "consumerLimits.maxAckPending is 0",
            )
            .help("set it to at least 1, or leave it out for no ceiling");
        }
    }

    fn stream_subjects(&mut self, spec: &StreamSpec) {
        if spec.mirror.is_some() && !spec.subjects.is_empty() {
            self.error(
                at("subjects"),
                "a mirror cannot have subjects: it stores what its origin stores",
            )
            .help("remove subjects, or remove mirror and use sources");
        }
        self.filter_list(
            &at("subjects"),
            &spec.subjects,
            names::subjects_collide,
            "a message on both would be stored twice, so the server refuses it",
        );
        let no_ack = is_true(spec.no_ack);
        for (index, subject) in spec.subjects.iter().enumerate() {
            if names::check_subject(subject, SubjectUse::Filter).is_err() {
                continue;
            }
            let path = at("subjects").index(index);
            if subject == ">" {
                if !no_ack {
                    self.error(
                        path.clone(),
                        "capturing every subject with `>` needs noAck: true",
                    )
                    .help("set noAck: true, or narrow the subject, e.g. `orders.>`");
                }
                if spec.replicas.unwrap_or(1) != 1 {
                    self.error(path, "capturing every subject with `>` needs replicas: 1")
                        .help("set replicas: 1, or narrow the subject");
                }
                continue;
            }
            if no_ack {
                continue;
            }
            let clash = API_SUBJECTS.iter().find(|(space, exempt, _)| {
                names::subjects_collide(subject, space)
                    && !names::subject_is_subset(subject, exempt)
            });
            if let Some((space, _, api)) = clash {
                self.error(
                    path,
                    format!("{} overlaps the {api} subjects `{space}`", quoted(subject)),
                )
                .help("pick subjects outside `$JS.>`, `$JSC.>`, `$NRG.>` and `$SYS.>`, or set noAck: true");
            }
        }
    }

    fn stream_limits(&mut self, spec: &StreamSpec, copies_from_others: bool) {
        self.at_least(
            "maxAge",
            spec.max_age,
            MIN_AGE,
            "leave maxAge out to keep messages with no age limit",
        );
        match spec.duplicate_window {
            // Mirrors and sourcing streams default to no window, so 0 says what it means there.
            Some(window) if window == Duration::ZERO && copies_from_others => {}
            Some(window) if window == Duration::ZERO => {
                self.error(
                    at("duplicateWindow"),
                    "duplicateWindow is 0s, which the server replaces with its default (2m)",
                )
                .help("leave duplicateWindow out for the default, or set 100ms or more");
            }
            Some(window) if window < MIN_AGE => {
                self.error(
                    at("duplicateWindow"),
                    format!("duplicateWindow is {window}, but JetStream needs at least {MIN_AGE}"),
                )
                .help(format!("set duplicateWindow to {MIN_AGE} or more"));
            }
            _ => {}
        }
        if let (Some(window), Some(max_age)) = (spec.duplicate_window, spec.max_age)
            && max_age != Duration::ZERO
            && window > max_age
        {
            self.error(
                at("duplicateWindow"),
                format!("duplicateWindow ({window}) is longer than maxAge ({max_age})"),
            )
            .help("set duplicateWindow to at most maxAge: messages cannot be deduplicated after they are gone");
        }
        self.message_size_limit("maxMsgSize", spec.max_msg_size);

        if is_true(spec.discard_new_per_subject) {
            if spec.discard != Some(DiscardPolicy::New) {
                self.error(
                    at("discardNewPerSubject"),
                    format!(
                        "discardNewPerSubject needs discard: new, but discard is {}",
                        discard_name(spec.discard.unwrap_or(DiscardPolicy::Old))
                    ),
                )
                .help("set discard: new, or remove discardNewPerSubject");
            }
            if spec.max_msgs_per_subject.unwrap_or(0) == 0 {
                self.error(
                    at("discardNewPerSubject"),
                    "discardNewPerSubject needs a per-subject limit, but maxMsgsPerSubject is not set",
                )
                .help("set maxMsgsPerSubject, or remove discardNewPerSubject");
            }
        }
    }

    fn stream_flags(&mut self, spec: &StreamSpec) {
        let deny_purge = is_true(spec.deny_purge);
        let discard_new = spec.discard == Some(DiscardPolicy::New);
        if is_true(spec.allow_rollup_headers) && deny_purge {
            self.error(
                at("allowRollupHeaders"),
                "allowRollupHeaders and denyPurge are both true; roll-ups purge messages, which denyPurge forbids",
            )
            .help("keep one of allowRollupHeaders and denyPurge");
        }
        if is_true(spec.sealed) {
            self.warning(
                at("sealed"),
                "sealed: true; streams cannot be created sealed, so jetsync will refuse to create this stream and only seal an existing one",
            )
            .help("sealing cannot be undone; leave sealed out until the stream should stop taking writes");
        }

        if let Some(ttl) = spec.subject_delete_marker_ttl {
            self.at_least(
                "subjectDeleteMarkerTtl",
                Some(ttl),
                MIN_MARKER_TTL,
                "leave subjectDeleteMarkerTtl out for no delete markers",
            );
            if ttl != Duration::ZERO {
                if deny_purge {
                    self.error(
                        at("subjectDeleteMarkerTtl"),
                        "subjectDeleteMarkerTtl needs roll-ups, which denyPurge: true forbids; the server would turn denyPurge off",
                    )
                    .help("remove denyPurge, or remove subjectDeleteMarkerTtl");
                }
                if spec.allow_msg_ttl == Some(false) {
                    self.warning(
                        at("allowMsgTtl"),
                        "allowMsgTtl is false, but subjectDeleteMarkerTtl makes the server turn it on",
                    )
                    .help("set allowMsgTtl: true or leave it out");
                }
                if spec.allow_rollup_headers == Some(false) {
                    self.warning(
                        at("allowRollupHeaders"),
                        "allowRollupHeaders is false, but subjectDeleteMarkerTtl makes the server turn it on",
                    )
                    .help("set allowRollupHeaders: true or leave it out");
                }
            }
        }

        if is_true(spec.allow_msg_counter) {
            let path = at("allowMsgCounter");
            if let Some(retention) = spec.retention
                && retention != RetentionPolicy::Limits
            {
                self.error(
                    path.clone(),
                    format!(
                        "counter streams need retention: limits, but retention is {}",
                        retention_name(retention)
                    ),
                )
                .help("set retention: limits (or leave it out), or remove allowMsgCounter");
            }
            let conflicts = [
                ("discard: new", discard_new),
                ("allowMsgTtl", is_true(spec.allow_msg_ttl)),
                ("allowMsgSchedules", is_true(spec.allow_msg_schedules)),
                (
                    "subjectDeleteMarkerTtl",
                    spec.subject_delete_marker_ttl
                        .is_some_and(|ttl| ttl != Duration::ZERO),
                ),
            ];
            for (conflict, present) in conflicts {
                if present {
                    self.error(
                        path.clone(),
                        format!("counter streams cannot use {conflict}"),
                    )
                    .help(format!("remove {conflict}, or remove allowMsgCounter"));
                }
            }
        }

        if is_true(spec.allow_msg_schedules) {
            let path = at("allowMsgSchedules");
            if !spec.sources.is_empty() {
                self.error(
                    path.clone(),
                    "message schedules cannot be used on a stream with sources",
                )
                .help("remove allowMsgSchedules, or remove sources");
            }
            if discard_new {
                self.error(
                    path.clone(),
                    "message schedules cannot be used with discard: new",
                )
                .help("set discard: old (or leave it out), or remove allowMsgSchedules");
            }
            if deny_purge {
                self.error(
                    path,
                    "message schedules need roll-ups, which denyPurge: true forbids; the server would turn denyPurge off",
                )
                .help("remove denyPurge, or remove allowMsgSchedules");
            }
        }

        if spec.persist_mode == Some(PersistMode::Async) {
            let path = at("persistMode");
            if spec.storage == Some(StorageType::Memory) {
                self.error(
                    path.clone(),
                    "persistMode: async is only for file storage, but storage is memory",
                )
                .help("remove persistMode, or use storage: file");
            }
            if let Some(replicas) = spec.replicas
                && replicas > 1
            {
                self.error(path.clone(), format!("persistMode: async is only for unreplicated streams, but replicas is {replicas}"))
                    .help("remove persistMode, or set replicas: 1");
            }
            if is_true(spec.allow_atomic) {
                self.error(
                    path,
                    "persistMode: async cannot be combined with allowAtomic",
                )
                .help("keep one of persistMode: async and allowAtomic");
            }
        }
    }

    /// Settings the server refuses on a mirror.
    fn not_on_mirror(&mut self, spec: &StreamSpec) {
        let refused = [
            ("firstSequence", spec.first_sequence.is_some()),
            (
                "subjectDeleteMarkerTtl",
                spec.subject_delete_marker_ttl
                    .is_some_and(|ttl| ttl != Duration::ZERO),
            ),
            ("allowMsgCounter", is_true(spec.allow_msg_counter)),
            ("allowMsgSchedules", is_true(spec.allow_msg_schedules)),
            ("allowAtomic", is_true(spec.allow_atomic)),
            ("allowBatched", is_true(spec.allow_batched)),
        ];
        for (field, set) in refused {
            if set {
                self.error(at(field), format!("{field} cannot be set on a mirror: a mirror holds exactly what its origin holds"))
                    .help(format!("remove {field}, or remove mirror"));
            }
        }
    }

    fn stream_subject_transform(&mut self, transform: &SubjectTransform) {
        self.transform(
            &at("subjectTransform"),
            transform.source.as_deref(),
            &transform.destination,
        );
    }

    // ----- Consumer -----

    fn consumer(&mut self, object_name: &str, spec: &ConsumerSpec) {
        self.jetstream_name(
            object_name,
            spec.name.as_deref(),
            names::check_consumer_name,
            "consumer",
        );
        if let Err(message) = names::check_stream_name(&spec.stream_name) {
            self.error(at("streamName"), message)
                .help("set streamName to the JetStream name of the stream (its spec.name, or its metadata.name)");
        }
        self.description(spec.description.as_deref());
        self.metadata(&spec.metadata);
        self.connection(spec.connection.as_deref());
        self.ignore_fields::<ConsumerSpec>(&spec.ignore_fields);
        self.replicas(
            spec.replicas,
            "leave replicas out to use the stream's replicas",
        );
        self.consumer_filters(spec);
        self.consumer_start(spec);
        self.consumer_acks(spec);
        if spec.is_push() {
            self.push_consumer(spec);
        } else {
            self.pull_consumer(spec);
        }
        if let Some(frequency) = spec.sample_freq
            && frequency > 100
        {
            self.error(
                at("sampleFreq"),
                format!("sampleFreq is {frequency}, but it is a percentage"),
            )
            .help("set sampleFreq from 0 to 100");
        }
        self.rfc3339(at("pauseUntil"), "pauseUntil", spec.pause_until.as_deref());
    }

    fn consumer_filters(&mut self, spec: &ConsumerSpec) {
        if let Some(filter) = &spec.filter_subject {
            self.subject(at("filterSubject"), filter, SubjectUse::Filter);
            if !spec.filter_subjects.is_empty() {
                self.error(
                    at("filterSubject"),
                    "filterSubject and filterSubjects are both set; the server refuses this (10136)",
                )
                .help("move filterSubject into filterSubjects");
            }
        }
        self.filter_list(
            &at("filterSubjects"),
            &spec.filter_subjects,
            |first, second| {
                names::subject_is_subset(first, second) || names::subject_is_subset(second, first)
            },
            "consumer filters must not overlap",
        );
    }

    fn consumer_start(&mut self, spec: &ConsumerSpec) {
        let policy = spec.deliver_policy.unwrap_or(DeliverPolicy::All);
        let policy_name = deliver_policy_name(policy);
        if spec.opt_start_seq == Some(0) {
            self.error(
                at("optStartSeq"),
                "optStartSeq is 0, but stream sequences start at 1",
            )
            .help("set optStartSeq to 1 or more");
        }
        self.rfc3339(
            at("optStartTime"),
            "optStartTime",
            spec.opt_start_time.as_deref(),
        );
        match policy {
            DeliverPolicy::ByStartSequence if spec.opt_start_seq.is_none() => {
                self.error(
                    at("deliverPolicy"),
                    "deliverPolicy: byStartSequence needs optStartSeq",
                )
                .help("set optStartSeq to the first sequence to deliver");
            }
            DeliverPolicy::ByStartTime if spec.opt_start_time.is_none() => {
                self.error(
                    at("deliverPolicy"),
                    "deliverPolicy: byStartTime needs optStartTime",
                )
                .help("set optStartTime to an RFC 3339 time, e.g. `2025-01-31T12:00:00Z`");
            }
            DeliverPolicy::LastPerSubject
                if spec.filter_subject.is_none() && spec.filter_subjects.is_empty() =>
            {
                self.error(at("deliverPolicy"), "deliverPolicy: lastPerSubject needs filterSubject or filterSubjects")
                    .help("set filterSubject (e.g. `orders.>`) to say which subjects' last messages to deliver");
            }
            _ => {}
        }
        if spec.opt_start_seq.is_some() && policy != DeliverPolicy::ByStartSequence {
            self.error(
                at("optStartSeq"),
                format!("optStartSeq is set, but deliverPolicy is {policy_name}"),
            )
            .help("set deliverPolicy: byStartSequence, or remove optStartSeq");
        }
        if spec.opt_start_time.is_some() && policy != DeliverPolicy::ByStartTime {
            self.error(
                at("optStartTime"),
                format!("optStartTime is set, but deliverPolicy is {policy_name}"),
            )
            .help("set deliverPolicy: byStartTime, or remove optStartTime");
        }
    }

    fn consumer_acks(&mut self, spec: &ConsumerSpec) {
        let acks = spec.ack_policy.unwrap_or(AckPolicy::Explicit);
        if spec.ack_wait == Some(Duration::ZERO) {
            self.error(at("ackWait"), "ackWait is 0s")
                .help("leave ackWait out for the default (30s), or set how long to wait for an acknowledgement");
        }
        if spec.max_deliver == Some(0) {
            self.error(at("maxDeliver"), "maxDeliver is 0")
                .help("leave maxDeliver out for unlimited deliveries, or set 1 or more");
        }
        if let Some(first) = spec.backoff.first() {
            if acks == AckPolicy::None {
                self.error(at("backoff"), "backoff sets redelivery delays, but ackPolicy is none, so nothing is redelivered")
                    .help("remove backoff, or set ackPolicy: explicit");
            }
            if let Some(max_deliver) = spec.max_deliver
                && max_deliver > 0
                && spec.backoff.len() as u64 > max_deliver
            {
                self.error(
                    at("backoff"),
                    format!(
                        "backoff lists {} delays, but maxDeliver is {max_deliver}; the server refuses more delays than deliveries (10116)",
                        spec.backoff.len()
                    ),
                )
                .help("shorten backoff to at most maxDeliver delays, or raise maxDeliver");
            }
            if let Some(ack_wait) = spec.ack_wait
                && ack_wait != *first
                && ack_wait != Duration::ZERO
            {
                self.warning(
                    at("ackWait"),
                    format!("ackWait is {ack_wait}, but with backoff the server uses the first delay ({first}) instead"),
                )
                .help("remove ackWait, or make it equal to backoff's first delay");
            }
        }
        if acks == AckPolicy::FlowControl {
            self.flow_control_acks(spec);
        }
        match spec.max_ack_pending {
            Some(0) => {
                self.error(at("maxAckPending"), "maxAckPending is 0")
                    .help("leave maxAckPending out for the default (1000), or set 1 or more");
            }
            Some(_) if acks == AckPolicy::None => {
                self.error(
                    at("maxAckPending"),
                    "maxAckPending is set, but ackPolicy is none, so no acknowledgement is ever pending",
                )
                .help("remove maxAckPending, or set ackPolicy: explicit");
            }
            _ => {}
        }
    }

    /// The `flowControl` ack policy (nats-server 2.14): push only, no ack
    /// wait, backoff or delivery limit, and flow control with 1s heartbeats
    /// set by the server itself (measured on 2.15.1: 10218, 10221, 10222).
    fn flow_control_acks(&mut self, spec: &ConsumerSpec) {
        if !spec.is_push() {
            self.error(
                at("ackPolicy"),
                "ackPolicy flowControl is for push consumers, but this is a pull consumer (no deliverSubject); the server refuses it (10218)",
            )
            .help("set deliverSubject, or choose ackPolicy explicit");
        }
        let refused = [
            ("ackWait", spec.ack_wait.is_some(), "10221"),
            ("backoff", !spec.backoff.is_empty(), "10221"),
            ("maxDeliver", spec.max_deliver.is_some(), "10222"),
        ];
        for (field, set, code) in refused {
            if set {
                self.error(
                    at(field),
                    format!("{field} is set, but ackPolicy flowControl redelivers by flow control; the server refuses it ({code})"),
                )
                .help(format!("remove {field}"));
            }
        }
        let server_set = [
            ("idleHeartbeat", spec.idle_heartbeat.is_some()),
            ("flowControl", spec.flow_control.is_some()),
        ];
        for (field, set) in server_set {
            if set {
                self.error(
                    at(field),
                    format!("{field} is set, but with ackPolicy flowControl the server sets flow control on with 1s heartbeats itself"),
                )
                .help(format!("remove {field}"));
            }
        }
    }

    fn push_consumer(&mut self, spec: &ConsumerSpec) {
        let deliver_subject = spec.deliver_subject.as_deref().unwrap_or_default();
        self.subject(at("deliverSubject"), deliver_subject, SubjectUse::Publish);
        let pull_only = [
            ("maxWaiting", spec.max_waiting.is_some()),
            ("maxBatch", spec.max_batch.is_some()),
            ("maxExpires", spec.max_expires.is_some()),
            ("maxBytes", spec.max_bytes.is_some()),
            ("priorityGroups", !spec.priority_groups.is_empty()),
            (
                "priorityPolicy",
                spec.priority_policy
                    .is_some_and(|policy| policy != PriorityPolicy::None),
            ),
            ("priorityTimeout", spec.priority_timeout.is_some()),
        ];
        for (field, set) in pull_only {
            if set {
                self.error(
                    at(field),
                    format!(
                        "{field} is for pull consumers, but this consumer pushes to {} (deliverSubject)",
                        quoted(deliver_subject)
                    ),
                )
                .help(format!("remove {field}, or remove deliverSubject to make this a pull consumer"));
            }
        }
        if let Some(heartbeat) = spec.idle_heartbeat
            && heartbeat < MIN_HEARTBEAT
        {
            self.error(
                at("idleHeartbeat"),
                format!(
                    "idleHeartbeat is {heartbeat}, but JetStream needs at least {MIN_HEARTBEAT}"
                ),
            )
            .help(format!(
                "set idleHeartbeat to {MIN_HEARTBEAT} or more, or leave it out for no heartbeats"
            ));
        }
        if is_true(spec.flow_control) && spec.idle_heartbeat.is_none() {
            self.error(at("flowControl"), "flowControl needs idleHeartbeat")
                .help("set idleHeartbeat (e.g. `5s`), or remove flowControl");
        }
    }

    fn pull_consumer(&mut self, spec: &ConsumerSpec) {
        let push_only = [
            ("idleHeartbeat", spec.idle_heartbeat.is_some()),
            ("flowControl", is_true(spec.flow_control)),
            ("rateLimitBps", spec.rate_limit_bps.is_some()),
            ("deliverGroup", spec.deliver_group.is_some()),
        ];
        for (field, set) in push_only {
            if set {
                self.error(
                    at(field),
                    format!("{field} is for push consumers, but this is a pull consumer (no deliverSubject)"),
                )
                .help(format!("remove {field}, or set deliverSubject to make this a push consumer"));
            }
        }
        if let Some(expires) = spec.max_expires
            && expires < MIN_MAX_EXPIRES
        {
            self.error(
                at("maxExpires"),
                format!("maxExpires is {expires}, but JetStream needs at least {MIN_MAX_EXPIRES}"),
            )
            .help("set maxExpires to 1ms or more, or leave it out for no limit");
        }
        self.priority_groups(spec);
    }

    fn priority_groups(&mut self, spec: &ConsumerSpec) {
        let mut first_at: HashMap<&str, usize> = HashMap::new();
        for (index, group) in spec.priority_groups.iter().enumerate() {
            let path = at("priorityGroups").index(index);
            let first = *first_at.entry(group.as_str()).or_insert(index);
            if let Err(message) = names::check_priority_group(group) {
                self.error(path, message)
                    .help("priority group names match `^[a-zA-Z0-9/_=-]{1,16}$`");
            } else if first < index {
                self.error(
                    path,
                    format!(
                        "the priority group {} is listed twice (also at priorityGroups[{first}])",
                        quoted(group)
                    ),
                )
                .help("remove one of them");
            }
        }
        let policy = spec.priority_policy.unwrap_or(PriorityPolicy::None);
        if policy != PriorityPolicy::None && spec.priority_groups.is_empty() {
            self.error(
                at("priorityPolicy"),
                format!(
                    "priorityPolicy is {}, but no priorityGroups are set",
                    priority_policy_name(policy)
                ),
            )
            .help("list at least one group in priorityGroups, or remove priorityPolicy");
        }
        if policy == PriorityPolicy::None && !spec.priority_groups.is_empty() {
            self.error(at("priorityGroups"), "priorityGroups need a priorityPolicy other than none")
                .help("set priorityPolicy to overflow, pinnedClient or prioritized, or remove priorityGroups");
        }
        if spec.priority_timeout.is_some() {
            match policy {
                PriorityPolicy::PinnedClient => {}
                PriorityPolicy::None => {
                    self.error(
                        at("priorityTimeout"),
                        "priorityTimeout is set, but there is no priorityPolicy",
                    )
                    .help("set priorityPolicy: pinnedClient, or remove priorityTimeout");
                }
                other => {
                    self.warning(
                        at("priorityTimeout"),
                        format!(
                            "priorityTimeout only affects priorityPolicy: pinnedClient, but priorityPolicy is {}",
                            priority_policy_name(other)
                        ),
                    )
                    .help("remove priorityTimeout");
                }
            }
        }
    }

    // ----- KeyValue and ObjectStore -----

    fn key_value(&mut self, object_name: &str, spec: &KeyValueSpec) {
        self.jetstream_name(
            object_name,
            spec.name.as_deref(),
            names::check_bucket_name,
            "bucket",
        );
        self.bucket_stream_name_length(object_name, spec.name.as_deref(), "KV_");
        self.description(spec.description.as_deref());
        self.metadata(&spec.metadata);
        self.connection(spec.connection.as_deref());
        self.ignore_fields::<KeyValueSpec>(&spec.ignore_fields);
        self.placement(spec.placement.as_ref());
        self.replicas(
            spec.replicas,
            "set replicas to a number from 1 to 5, or leave it out for 1",
        );
        match spec.history {
            Some(history) if history == 0 || history > MAX_KV_HISTORY => {
                self.error(
                    at("history"),
                    format!("history is {history}, but a bucket keeps 1 to {MAX_KV_HISTORY} values per key"),
                )
                .help(format!("set history from 1 to {MAX_KV_HISTORY}"));
            }
            _ => {}
        }
        self.at_least(
            "ttl",
            spec.ttl,
            MIN_AGE,
            "leave ttl out for values that never expire",
        );
        self.message_size_limit("maxValueSize", spec.max_value_size);
        self.at_least(
            "limitMarkerTtl",
            spec.limit_marker_ttl,
            MIN_MARKER_TTL,
            "leave limitMarkerTtl out for no delete markers",
        );
        if let Some(mirror) = &spec.mirror {
            self.source(&at("mirror"), mirror, Origin::Bucket, true);
            if !spec.sources.is_empty() {
                self.error(at("sources"), "a mirror cannot also have sources")
                    .help("remove sources, or remove mirror and aggregate with sources only");
            }
            if spec
                .limit_marker_ttl
                .is_some_and(|ttl| ttl != Duration::ZERO)
            {
                self.error(
                    at("limitMarkerTtl"),
                    "limitMarkerTtl cannot be set on a mirror: a mirror holds exactly what its origin holds",
                )
                .help("remove limitMarkerTtl, or remove mirror");
            }
        }
        self.sources(&spec.sources, Origin::Bucket);
        if spec.allow_msg_ttl == Some(false)
            && spec
                .limit_marker_ttl
                .is_some_and(|ttl| ttl != Duration::ZERO)
        {
            self.error(
                at("allowMsgTtl"),
                "allowMsgTtl is false, but limitMarkerTtl needs per-message TTLs",
            )
            .help("remove allowMsgTtl, or remove limitMarkerTtl");
        }
        if spec.mirror_direct == Some(true) && spec.mirror.is_none() {
            self.error(
                at("mirrorDirect"),
                "mirrorDirect is set, but this bucket mirrors nothing",
            )
            .help("remove mirrorDirect, or set mirror");
        }
        if let Some(republish) = &spec.republish {
            let bucket = spec.name.as_deref().unwrap_or(object_name);
            let stored = if spec.mirror.is_none() && names::check_bucket_name(bucket).is_ok() {
                vec![format!("$KV.{bucket}.>")]
            } else {
                Vec::new()
            };
            self.republish(republish, &stored, false);
        }
    }

    fn object_store(&mut self, object_name: &str, spec: &ObjectStoreSpec) {
        self.jetstream_name(
            object_name,
            spec.name.as_deref(),
            names::check_bucket_name,
            "bucket",
        );
        self.bucket_stream_name_length(object_name, spec.name.as_deref(), "OBJ_");
        self.description(spec.description.as_deref());
        self.metadata(&spec.metadata);
        self.connection(spec.connection.as_deref());
        self.ignore_fields::<ObjectStoreSpec>(&spec.ignore_fields);
        self.placement(spec.placement.as_ref());
        self.replicas(
            spec.replicas,
            "set replicas to a number from 1 to 5, or leave it out for 1",
        );
        self.at_least(
            "ttl",
            spec.ttl,
            MIN_AGE,
            "leave ttl out for objects that never expire",
        );
    }

    // ----- NatsConnection -----

    fn connection_profile(&mut self, spec: &NatsConnectionSpec) {
        if spec.servers.is_empty() {
            self.error(at("servers"), "servers is empty")
                .help("list at least one server URL, e.g. `nats://nats.messaging:4222`");
        }
        for (index, url) in spec.servers.iter().enumerate() {
            if let Err((message, help)) = check_server_url(url) {
                self.error(at("servers").index(index), message).help(help);
            }
        }
        if let Some(domain) = &spec.js_domain
            && let Err(message) = names::check_js_domain(domain)
        {
            self.error(at("jsDomain"), message)
                .help("give the JetStream domain as configured on the server, e.g. `hub`");
        }
        if let Some(tls) = &spec.tls {
            let path = at("tls");
            for (field, secret) in [("ca", &tls.ca), ("cert", &tls.cert), ("key", &tls.key)] {
                if let Some(secret) = secret {
                    self.secret_source(&path.field(field), secret);
                }
            }
            match (&tls.cert, &tls.key) {
                (Some(_), None) => {
                    self.error(path.field("cert"), "tls.cert is set without tls.key")
                        .help(
                            "mutual TLS needs both the client certificate and its key: set tls.key",
                        );
                }
                (None, Some(_)) => {
                    self.error(path.field("key"), "tls.key is set without tls.cert")
                        .help("mutual TLS needs both the client certificate and its key: set tls.cert");
                }
                _ => {}
            }
        }
        if let Some(auth) = &spec.auth {
            let path = at("auth");
            let mut methods = Vec::new();
            for (field, secret) in [
                ("creds", &auth.creds),
                ("nkey", &auth.nkey),
                ("token", &auth.token),
            ] {
                if let Some(secret) = secret {
                    methods.push(field);
                    self.secret_source(&path.field(field), secret);
                }
            }
            if let Some(user_password) = &auth.user_password {
                methods.push("userPassword");
                let user_path = path.field("userPassword");
                if user_password.user.trim().is_empty() {
                    self.error(user_path.field("user"), "userPassword.user is empty")
                        .help("set the user name");
                }
                self.secret_source(&user_path.field("password"), &user_password.password);
            }
            if methods.len() > 1 {
                self.error(
                    path,
                    format!(
                        "auth sets {}; a connection authenticates one way",
                        methods.join(" and ")
                    ),
                )
                .help("keep one of creds, nkey, userPassword and token");
            }
        }
    }

    fn secret_source(&mut self, path: &FieldPath, secret: &SecretSource) {
        match (&secret.secret_ref, &secret.file) {
            (Some(_), Some(_)) => {
                self.error(path.clone(), "both secretRef and file are set")
                    .help("use secretRef in Kubernetes and file with the CLI; keep one");
            }
            (None, None) => {
                self.error(path.clone(), "neither secretRef nor file is set")
                    .help("set secretRef (a key of a Secret) or file (a path, for the CLI)");
            }
            (Some(reference), None) => {
                let reference_path = path.field("secretRef");
                if let Err(message) = names::check_object_name(&reference.name) {
                    self.error(reference_path.field("name"), message)
                        .help("name a Secret in the same namespace");
                }
                if reference.key.is_empty()
                    || !reference
                        .key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                {
                    self.error(
                        reference_path.field("key"),
                        format!("{} is not a Secret key", quoted(&reference.key)),
                    )
                    .help(
                        "Secret keys are non-empty and made of letters, digits, `-`, `_` and `.`",
                    );
                }
            }
            (None, Some(file)) => {
                if file.trim().is_empty() {
                    self.error(path.field("file"), "file is empty")
                        .help("give the path of the file, relative to the manifest's directory");
                }
            }
        }
    }
}

/// What makes two sources the same to nats-server: origin, its API, the
/// origin consumer and the filters with their transforms.
#[derive(PartialEq, Eq, Hash)]
struct SourceIdentity {
    name: String,
    api_prefix: Option<String>,
    consumer: Option<String>,
    mappings: Vec<(String, String)>,
}

impl SourceIdentity {
    fn of(source: &StreamSource) -> Self {
        let or_all = |subject: Option<&str>| match subject {
            None | Some("") => ">".to_string(),
            Some(subject) => subject.to_string(),
        };
        let mappings = if source.subject_transforms.is_empty() {
            vec![(or_all(source.filter_subject.as_deref()), ">".to_string())]
        } else {
            source
                .subject_transforms
                .iter()
                .map(|transform| {
                    (
                        or_all(transform.source.as_deref()),
                        or_all(Some(transform.destination.as_str())),
                    )
                })
                .collect()
        };
        Self {
            name: source.name.clone(),
            api_prefix: source
                .external
                .as_ref()
                .map(|external| external.api_prefix.clone()),
            consumer: source
                .consumer
                .as_ref()
                .map(|consumer| consumer.name.clone()),
            mappings,
        }
    }
}

/// Checks one server URL; errors never echo credentials.
fn check_server_url(url: &str) -> Result<(), (String, String)> {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if let Some(at_sign) = authority.rfind('@') {
        let host = &authority[at_sign + 1..];
        let redacted = match scheme {
            Some(scheme) => format!("{scheme}://***@{host}"),
            None => format!("***@{host}"),
        };
        return Err((
            format!(
                "the server URL `{redacted}` has credentials in it; credentials must not be written in the URL"
            ),
            "use spec.auth with a Secret reference".to_string(),
        ));
    }
    if url.is_empty() {
        return Err((
            "the server URL is empty".to_string(),
            "write a URL like `nats://nats.messaging:4222`".to_string(),
        ));
    }
    if url.contains(',') {
        return Err((
            format!("{} lists several servers in one entry", quoted(url)),
            "put each server URL in its own entry of servers".to_string(),
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err((
            format!("{} contains whitespace", quoted(url)),
            "remove the whitespace from the URL".to_string(),
        ));
    }
    if let Some(scheme) = scheme
        && !["nats", "tls", "ws", "wss"]
            .iter()
            .any(|known| known.eq_ignore_ascii_case(scheme))
    {
        return Err((
            format!(
                "{} uses the scheme `{scheme}`; NATS servers are reached over nats, tls, ws or wss",
                quoted(url)
            ),
            "write a URL like `nats://nats.messaging:4222`".to_string(),
        ));
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err((
                format!(
                    "{} has an unclosed `[` around its IPv6 address",
                    quoted(url)
                ),
                "write IPv6 addresses as `[::1]:4222`".to_string(),
            ));
        };
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => {
                    return Err((
                        format!("{} has text after its IPv6 address", quoted(url)),
                        "write IPv6 addresses as `[::1]:4222`".to_string(),
                    ));
                }
            },
        }
    } else {
        match authority.split_once(':') {
            Some((_, port)) if port.contains(':') => {
                return Err((
                    format!("{} has more than one `:`", quoted(url)),
                    "write IPv6 addresses in brackets, as `[::1]:4222`".to_string(),
                ));
            }
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err((
            format!("{} names no host", quoted(url)),
            "write a URL like `nats://nats.messaging:4222`".to_string(),
        ));
    }
    if let Some(port) = port
        && !port.parse::<u16>().is_ok_and(|port| port > 0)
    {
        return Err((
            format!(
                "{} has the port `{port}`, which is not a number from 1 to 65535",
                quoted(url)
            ),
            "write the port as a number, e.g. `:4222`, or leave it out".to_string(),
        ));
    }
    Ok(())
}

fn deliver_policy_name(policy: DeliverPolicy) -> &'static str {
    match policy {
        DeliverPolicy::All => "all",
        DeliverPolicy::Last => "last",
        DeliverPolicy::New => "new",
        DeliverPolicy::ByStartSequence => "byStartSequence",
        DeliverPolicy::ByStartTime => "byStartTime",
        DeliverPolicy::LastPerSubject => "lastPerSubject",
    }
}

fn priority_policy_name(policy: PriorityPolicy) -> &'static str {
    match policy {
        PriorityPolicy::None => "none",
        PriorityPolicy::Overflow => "overflow",
        PriorityPolicy::PinnedClient => "pinnedClient",
        PriorityPolicy::Prioritized => "prioritized",
    }
}

fn retention_name(retention: RetentionPolicy) -> &'static str {
    match retention {
        RetentionPolicy::Limits => "limits",
        RetentionPolicy::Interest => "interest",
        RetentionPolicy::Workqueue => "workqueue",
    }
}

fn discard_name(discard: DiscardPolicy) -> &'static str {
    match discard {
        DiscardPolicy::Old => "old",
        DiscardPolicy::New => "new",
    }
}

#[cfg(test)]
mod rfc3339_tests {
    use super::rfc3339_unix_nanos;

    #[test]
    fn one_instant_written_two_ways_gives_one_number() {
        assert_eq!(rfc3339_unix_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_unix_nanos("2030-01-01T02:00:00+02:00"),
            rfc3339_unix_nanos("2030-01-01T00:00:00.000000000Z")
        );
        assert_eq!(
            rfc3339_unix_nanos("2000-03-01T00:00:00.5Z"),
            Some(951_868_800_500_000_000)
        );
        assert_eq!(rfc3339_unix_nanos("2000-02-30T00:00:00Z"), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::common::{ConsumerLimits, ExternalStream, SourceConsumer};
    use crate::spec::connection::{AuthConfig, SecretKeyRef, TlsConfig, UserPassword};

    // ----- fixtures -----

    fn stream() -> StreamSpec {
        StreamSpec {
            subjects: strings(&["orders.>"]),
            ..StreamSpec::default()
        }
    }

    fn mirror_of(name: &str) -> StreamSpec {
        StreamSpec {
            mirror: Some(origin(name)),
            ..StreamSpec::default()
        }
    }

    fn consumer() -> ConsumerSpec {
        ConsumerSpec {
            stream_name: "ORDERS".into(),
            ..ConsumerSpec::default()
        }
    }

    fn push_consumer() -> ConsumerSpec {
        consumer().with(|spec| spec.deliver_subject = Some("deliver.orders".into()))
    }

    fn key_value() -> KeyValueSpec {
        KeyValueSpec::default()
    }

    fn object_store() -> ObjectStoreSpec {
        ObjectStoreSpec::default()
    }

    fn connection() -> NatsConnectionSpec {
        NatsConnectionSpec {
            servers: strings(&["nats://nats.messaging:4222"]),
            ..NatsConnectionSpec::default()
        }
    }

    fn origin(name: &str) -> StreamSource {
        StreamSource {
            name: name.into(),
            opt_start_seq: None,
            opt_start_time: None,
            filter_subject: None,
            subject_transforms: Vec::new(),
            external: None,
            consumer: None,
        }
    }

    fn sourcing(source: StreamSource) -> StreamSpec {
        stream().with(|spec| spec.sources = vec![source])
    }

    fn transform(source: Option<&str>, destination: &str) -> SubjectTransform {
        SubjectTransform {
            source: source.map(Into::into),
            destination: destination.into(),
        }
    }

    fn republish(source: Option<&str>, destination: &str) -> Option<Republish> {
        Some(Republish {
            source: source.map(Into::into),
            destination: destination.into(),
            headers_only: None,
        })
    }

    fn file(path: &str) -> SecretSource {
        SecretSource {
            secret_ref: None,
            file: Some(path.into()),
        }
    }

    fn secret(name: &str, key: &str) -> SecretSource {
        SecretSource {
            secret_ref: Some(SecretKeyRef {
                name: name.into(),
                key: key.into(),
            }),
            file: None,
        }
    }

    fn duration(text: &str) -> Duration {
        text.parse().expect("a valid duration")
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| value.to_string()).collect()
    }

    fn one_entry(key: &str, value: String) -> Metadata {
        [(key.to_string(), value)].into()
    }

    /// Editing and validating a spec (under the object name `orders` unless named).
    trait Check: Sized {
        fn wrap(self) -> AssetSpec;

        fn with(mut self, edit: impl FnOnce(&mut Self)) -> Self {
            edit(&mut self);
            self
        }

        fn problems(self) -> Vec<Problem> {
            self.problems_named("orders")
        }

        fn problems_named(self, object_name: &str) -> Vec<Problem> {
            validate(object_name, &self.wrap())
        }
    }

    impl Check for StreamSpec {
        fn wrap(self) -> AssetSpec {
            AssetSpec::Stream(self)
        }
    }

    impl Check for ConsumerSpec {
        fn wrap(self) -> AssetSpec {
            AssetSpec::Consumer(self)
        }
    }

    impl Check for KeyValueSpec {
        fn wrap(self) -> AssetSpec {
            AssetSpec::KeyValue(self)
        }
    }

    impl Check for ObjectStoreSpec {
        fn wrap(self) -> AssetSpec {
            AssetSpec::ObjectStore(self)
        }
    }

    impl Check for NatsConnectionSpec {
        fn wrap(self) -> AssetSpec {
            AssetSpec::NatsConnection(self)
        }
    }

    fn listing(problems: &[Problem]) -> String {
        let lines: Vec<String> = problems
            .iter()
            .map(|problem| format!("  {:?} {problem}", problem.severity))
            .collect();
        lines.join("\n")
    }

    fn count_at(problems: &[Problem], path: &str) -> usize {
        problems
            .iter()
            .filter(|problem| problem.path.to_string() == path)
            .count()
    }

    #[track_caller]
    fn assert_refused(problems: &[Problem], path: &str) {
        let found = problems
            .iter()
            .any(|problem| problem.is_error() && problem.path.to_string() == path);
        assert!(
            found,
            "expected an error at {path}, got:\n{}",
            listing(problems)
        );
    }

    #[track_caller]
    fn assert_warned(problems: &[Problem], path: &str) {
        let found = problems.iter().any(|problem| {
            problem.severity == ProblemSeverity::Warning && problem.path.to_string() == path
        });
        assert!(
            found,
            "expected a warning at {path}, got:\n{}",
            listing(problems)
        );
    }

    #[track_caller]
    fn assert_clean(problems: &[Problem]) {
        assert!(
            problems.is_empty(),
            "expected no problems, got:\n{}",
            listing(problems)
        );
    }

    // ----- names, metadata, descriptions -----

    #[test]
    fn ignore_fields_must_name_config_fields_of_the_kind() {
        assert_clean(
            &consumer()
                .with(|s| s.ignore_fields = strings(&["pauseUntil"]))
                .problems(),
        );
        assert_refused(
            &consumer()
                .with(|s| s.ignore_fields = strings(&["pausedUntil"]))
                .problems(),
            "spec.ignoreFields[0]",
        );
        assert_refused(
            &stream()
                .with(|s| s.ignore_fields = strings(&["driftPolicy"]))
                .problems(),
            "spec.ignoreFields[0]",
        );
    }

    #[test]
    fn metadata_name_must_be_a_dns_1123_name() {
        assert_refused(&stream().problems_named("Orders"), "metadata.name");
        assert_clean(&stream().problems_named("orders-eu"));
    }

    #[test]
    fn metadata_name_with_a_dot_is_refused_as_a_stream_name_when_spec_name_is_absent() {
        let problems = stream().problems_named("orders.v1");
        assert_eq!(problems.len(), 1, "{}", listing(&problems));
        assert_refused(&problems, "metadata.name");
        assert!(
            problems[0]
                .help
                .as_deref()
                .unwrap()
                .contains("set spec.name")
        );
        let named = stream().with(|spec| spec.name = Some("ORDERS_V1".into()));
        assert_clean(&named.problems_named("orders.v1"));
    }

    #[test]
    fn invalid_spec_name_is_reported_at_spec_name() {
        let named = |name: &str| stream().with(|spec| spec.name = Some(name.into()));
        assert_refused(&named("ORDERS.V1").problems(), "spec.name");
        assert_clean(&named("ORDERS").problems());
    }

    #[test]
    fn consumer_name_follows_the_consumer_rule() {
        let named = |name: &str| consumer().with(|spec| spec.name = Some(name.into()));
        assert_refused(&named("worker/1").problems(), "spec.name");
        assert_clean(&named("worker-1").problems());
    }

    #[test]
    fn bucket_names_follow_the_bucket_rule() {
        assert_refused(&key_value().problems_named("config.v1"), "metadata.name");
        let store = object_store().with(|spec| spec.name = Some("blobs!".into()));
        assert_refused(&store.problems(), "spec.name");
        assert_clean(&key_value().problems_named("config-v1"));
        assert_clean(&object_store().problems_named("blobs"));
    }

    #[test]
    fn bucket_names_must_leave_room_for_the_stream_prefix() {
        let bucket = |length: usize| key_value().with(|spec| spec.name = Some("b".repeat(length)));
        let store =
            |length: usize| object_store().with(|spec| spec.name = Some("b".repeat(length)));
        assert_refused(&bucket(253).problems(), "spec.name");
        assert_clean(&bucket(252).problems());
        assert_refused(&store(252).problems(), "spec.name");
        assert_clean(&store(251).problems());
    }

    #[test]
    fn connection_reference_must_be_an_object_name() {
        let using = |name: &str| stream().with(|spec| spec.connection = Some(name.into()));
        assert_refused(&using("Main NATS").problems(), "spec.connection");
        assert_clean(&using("main").problems());
    }

    #[test]
    fn reserved_metadata_keys_are_refused() {
        let keyed = |key: &str| stream().with(|spec| spec.metadata = one_entry(key, "x".into()));
        let owner = keyed("jetsync.dev/owner").problems();
        assert_refused(&owner, "spec.metadata.jetsync.dev/owner");
        assert_refused(
            &keyed("_nats.level").problems(),
            "spec.metadata._nats.level",
        );
        assert_clean(&keyed("team").problems());
    }

    #[test]
    fn metadata_larger_than_128_kib_is_refused() {
        let sized =
            |length| consumer().with(|spec| spec.metadata = one_entry("blob", "x".repeat(length)));
        assert_refused(&sized(MAX_METADATA_BYTES).problems(), "spec.metadata");
        assert_clean(&sized(MAX_METADATA_BYTES - 4).problems());
    }

    #[test]
    fn descriptions_longer_than_4_kib_are_refused() {
        let described =
            |length| key_value().with(|spec| spec.description = Some("d".repeat(length)));
        assert_refused(&described(4097).problems(), "spec.description");
        assert_clean(&described(4096).problems());
    }

    #[test]
    fn every_problem_is_reported_not_only_the_first() {
        let problems = stream()
            .with(|spec| {
                spec.subjects = strings(&["orders..new", "orders.*"]);
                spec.replicas = Some(9);
                spec.max_age = Some(duration("10ms"));
            })
            .problems_named("Orders");
        for path in [
            "metadata.name",
            "spec.subjects[0]",
            "spec.replicas",
            "spec.maxAge",
        ] {
            assert_refused(&problems, path);
        }
    }

    // ----- Stream -----

    #[test]
    fn stream_subjects_must_be_valid_filters() {
        let subjects = |list: &[&str]| stream().with(|spec| spec.subjects = strings(list));
        let problems = subjects(&["orders.new", "orders..old", "orders.new*"]).problems();
        assert_refused(&problems, "spec.subjects[1]");
        assert_refused(&problems, "spec.subjects[2]");
        assert!(
            problems[0]
                .message
                .contains("`orders..old` has an empty token")
        );
        assert_clean(&subjects(&["orders.*.new", "returns.>"]).problems());
    }

    #[test]
    fn duplicate_stream_subjects_are_refused() {
        let subjects = |list: &[&str]| stream().with(|spec| spec.subjects = strings(list));
        let problems = subjects(&["orders.new", "orders.old", "orders.new"]).problems();
        assert_refused(&problems, "spec.subjects[2]");
        assert!(
            problems[0]
                .message
                .contains("listed twice (also at spec.subjects[0])")
        );
        assert_clean(&subjects(&["orders.new", "orders.old"]).problems());
    }

    #[test]
    fn overlapping_stream_subjects_are_refused() {
        let subjects = |list: &[&str]| stream().with(|spec| spec.subjects = strings(list));
        assert_refused(
            &subjects(&["orders.>", "orders.new"]).problems(),
            "spec.subjects[1]",
        );
        assert_clean(&subjects(&["orders.*", "orders.new.eu"]).problems());
    }

    #[test]
    fn capturing_every_subject_needs_no_ack_and_one_replica() {
        let everything = stream().with(|spec| spec.subjects = strings(&[">"]));
        let problems = everything
            .clone()
            .with(|spec| spec.replicas = Some(3))
            .problems();
        assert_eq!(
            count_at(&problems, "spec.subjects[0]"),
            2,
            "{}",
            listing(&problems)
        );
        assert_clean(&everything.with(|spec| spec.no_ack = Some(true)).problems());
    }

    #[test]
    fn subjects_in_the_api_spaces_need_no_ack() {
        let subject = |subject: &str| stream().with(|spec| spec.subjects = strings(&[subject]));
        for refused in ["$JS.API.>", "$SYS.>", "*.API"] {
            assert_refused(&subject(refused).problems(), "spec.subjects[0]");
        }
        for allowed in ["$JS.EVENT.ADVISORY.>", "$SYS.ACCOUNT.x.CONNECT"] {
            assert_clean(&subject(allowed).problems());
        }
        let no_ack = subject("$JS.API.>").with(|spec| spec.no_ack = Some(true));
        assert_clean(&no_ack.problems());
    }

    #[test]
    fn replicas_outside_one_to_five_are_refused() {
        let replicated = |replicas| stream().with(|spec| spec.replicas = Some(replicas));
        assert_refused(&replicated(0).problems(), "spec.replicas");
        assert_refused(&replicated(6).problems(), "spec.replicas");
        assert_clean(&replicated(1).problems());
        assert_clean(&replicated(5).problems());
    }

    #[test]
    fn max_age_below_100ms_or_zero_is_refused() {
        let aged = |text| stream().with(|spec| spec.max_age = Some(duration(text)));
        assert_refused(&aged("99ms").problems(), "spec.maxAge");
        let zero = aged("0").problems();
        assert_refused(&zero, "spec.maxAge");
        assert!(
            zero[0]
                .help
                .as_deref()
                .unwrap()
                .contains("leave maxAge out")
        );
        assert_clean(&aged("100ms").problems());
    }

    #[test]
    fn duplicate_window_longer_than_max_age_is_refused() {
        let windowed = |window| {
            stream().with(|spec| {
                spec.max_age = Some(duration("1m"));
                spec.duplicate_window = Some(duration(window));
            })
        };
        assert_refused(&windowed("2m").problems(), "spec.duplicateWindow");
        assert_clean(&windowed("1m").problems());
    }

    #[test]
    fn duplicate_window_of_zero_or_below_100ms_is_refused() {
        let windowed =
            |window| stream().with(|spec| spec.duplicate_window = Some(duration(window)));
        assert_refused(&windowed("0").problems(), "spec.duplicateWindow");
        assert_refused(&windowed("50ms").problems(), "spec.duplicateWindow");
        assert_clean(&windowed("30s").problems());
        let sourcing_without_window = sourcing(origin("A")).with(|spec| {
            spec.subjects = Vec::new();
            spec.duplicate_window = Some(Duration::ZERO);
        });
        assert_clean(&sourcing_without_window.problems());
    }

    #[test]
    fn max_msg_size_above_the_32_bit_limit_is_refused() {
        let limited =
            |bytes| stream().with(|spec| spec.max_msg_size = Some(Size::from_bytes(bytes)));
        assert_refused(
            &limited(MAX_MSG_SIZE_BYTES + 1).problems(),
            "spec.maxMsgSize",
        );
        assert_clean(&limited(MAX_MSG_SIZE_BYTES).problems());
    }

    #[test]
    fn mirror_with_subjects_is_refused() {
        let with_subjects = mirror_of("ORDERS").with(|spec| spec.subjects = strings(&["orders.>"]));
        assert_refused(&with_subjects.problems(), "spec.subjects");
        assert_clean(&mirror_of("ORDERS").problems());
    }

    #[test]
    fn mirror_with_sources_is_refused() {
        let with_sources = mirror_of("ORDERS").with(|spec| spec.sources = vec![origin("RETURNS")]);
        assert_refused(&with_sources.problems(), "spec.sources");
        assert_clean(&mirror_of("ORDERS").problems());
    }

    #[test]
    fn sealed_stream_is_a_warning() {
        let sealed = |sealed| stream().with(|spec| spec.sealed = Some(sealed));
        let problems = sealed(true).problems();
        assert_warned(&problems, "spec.sealed");
        assert!(!problems.iter().any(Problem::is_error));
        assert_clean(&sealed(false).problems());
    }

    #[test]
    fn discard_new_per_subject_needs_discard_new_and_a_per_subject_limit() {
        let per_subject = stream().with(|spec| spec.discard_new_per_subject = Some(true));
        let problems = per_subject.clone().problems();
        assert_eq!(
            count_at(&problems, "spec.discardNewPerSubject"),
            2,
            "{}",
            listing(&problems)
        );
        let complete = per_subject.with(|spec| {
            spec.discard = Some(DiscardPolicy::New);
            spec.max_msgs_per_subject = Some(10);
        });
        assert_clean(&complete.problems());
    }

    #[test]
    fn rollup_headers_with_deny_purge_is_refused() {
        let rollups = stream().with(|spec| spec.allow_rollup_headers = Some(true));
        let denied = rollups.clone().with(|spec| spec.deny_purge = Some(true));
        assert_refused(&denied.problems(), "spec.allowRollupHeaders");
        assert_clean(
            &rollups
                .with(|spec| spec.deny_delete = Some(true))
                .problems(),
        );
    }

    #[test]
    fn mirror_direct_without_mirror_is_refused() {
        let direct = stream().with(|spec| spec.mirror_direct = Some(true));
        assert_refused(&direct.problems(), "spec.mirrorDirect");
        let mirror = mirror_of("ORDERS").with(|spec| spec.mirror_direct = Some(true));
        assert_clean(&mirror.problems());
    }

    #[test]
    fn first_sequence_on_a_mirror_is_refused() {
        let mirror = mirror_of("ORDERS").with(|spec| spec.first_sequence = Some(100));
        assert_refused(&mirror.problems(), "spec.firstSequence");
        assert_clean(
            &stream()
                .with(|spec| spec.first_sequence = Some(100))
                .problems(),
        );
    }

    #[test]
    fn subject_delete_marker_ttl_below_one_second_or_on_a_mirror_is_refused() {
        let marked = |base: StreamSpec, text| {
            base.with(|spec| spec.subject_delete_marker_ttl = Some(duration(text)))
        };
        let path = "spec.subjectDeleteMarkerTtl";
        assert_refused(&marked(stream(), "500ms").problems(), path);
        assert_refused(&marked(stream(), "0").problems(), path);
        assert_refused(&marked(mirror_of("ORDERS"), "5s").problems(), path);
        assert_clean(&marked(stream(), "1s").problems());
    }

    #[test]
    fn subject_delete_marker_ttl_with_deny_purge_is_refused() {
        let marked = stream().with(|spec| spec.subject_delete_marker_ttl = Some(duration("5s")));
        let denied = marked.clone().with(|spec| spec.deny_purge = Some(true));
        assert_refused(&denied.problems(), "spec.subjectDeleteMarkerTtl");
        assert_clean(&marked.problems());
    }

    #[test]
    fn subject_delete_marker_ttl_with_features_turned_off_is_a_warning() {
        let marked = stream().with(|spec| spec.subject_delete_marker_ttl = Some(duration("5s")));
        let problems = marked
            .clone()
            .with(|spec| {
                spec.allow_msg_ttl = Some(false);
                spec.allow_rollup_headers = Some(false);
            })
            .problems();
        assert_warned(&problems, "spec.allowMsgTtl");
        assert_warned(&problems, "spec.allowRollupHeaders");
        assert_clean(
            &marked
                .with(|spec| spec.allow_msg_ttl = Some(true))
                .problems(),
        );
    }

    #[test]
    fn counter_streams_need_limits_retention_and_no_mirror() {
        let counter = |base: StreamSpec| base.with(|spec| spec.allow_msg_counter = Some(true));
        let interest =
            counter(stream()).with(|spec| spec.retention = Some(RetentionPolicy::Interest));
        assert_refused(&interest.problems(), "spec.allowMsgCounter");
        assert_refused(
            &counter(mirror_of("ORDERS")).problems(),
            "spec.allowMsgCounter",
        );
        assert_clean(&counter(stream()).problems());
        let limits = counter(stream()).with(|spec| spec.retention = Some(RetentionPolicy::Limits));
        assert_clean(&limits.problems());
    }

    #[test]
    fn counter_streams_refuse_discard_new_ttls_and_schedules() {
        let counter = stream().with(|spec| spec.allow_msg_counter = Some(true));
        let problems = counter
            .clone()
            .with(|spec| {
                spec.discard = Some(DiscardPolicy::New);
                spec.allow_msg_ttl = Some(true);
                spec.allow_msg_schedules = Some(true);
            })
            .problems();
        assert_eq!(
            count_at(&problems, "spec.allowMsgCounter"),
            3,
            "{}",
            listing(&problems)
        );
        assert_clean(&counter.problems());
    }

    #[test]
    fn message_schedules_refuse_mirrors_sources_and_discard_new() {
        let scheduled = |base: StreamSpec| base.with(|spec| spec.allow_msg_schedules = Some(true));
        let path = "spec.allowMsgSchedules";
        assert_refused(&scheduled(sourcing(origin("A"))).problems(), path);
        assert_refused(&scheduled(mirror_of("A")).problems(), path);
        let discard_new = scheduled(stream()).with(|spec| spec.discard = Some(DiscardPolicy::New));
        assert_refused(&discard_new.problems(), path);
        assert_clean(&scheduled(stream()).problems());
    }

    #[test]
    fn atomic_and_batched_publishing_on_a_mirror_is_refused() {
        let publishing = |base: StreamSpec| {
            base.with(|spec| {
                spec.allow_atomic = Some(true);
                spec.allow_batched = Some(true);
            })
        };
        let problems = publishing(mirror_of("ORDERS")).problems();
        assert_refused(&problems, "spec.allowAtomic");
        assert_refused(&problems, "spec.allowBatched");
        assert_clean(&publishing(stream()).problems());
    }

    #[test]
    fn async_persistence_needs_a_single_file_replica_without_atomic_publish() {
        let asynchronous = stream().with(|spec| spec.persist_mode = Some(PersistMode::Async));
        let problems = asynchronous
            .clone()
            .with(|spec| {
                spec.storage = Some(StorageType::Memory);
                spec.replicas = Some(3);
                spec.allow_atomic = Some(true);
            })
            .problems();
        assert_eq!(
            count_at(&problems, "spec.persistMode"),
            3,
            "{}",
            listing(&problems)
        );
        assert_clean(&asynchronous.problems());
    }

    #[test]
    fn subject_transform_must_map_from_a_valid_source() {
        let transformed = |source, destination| {
            stream().with(|spec| spec.subject_transform = Some(transform(source, destination)))
        };
        let path = "spec.subjectTransform";
        let out_of_range = transformed(Some("orders.*"), "copy.{{wildcard(2)}}");
        assert_refused(&out_of_range.problems(), &format!("{path}.destination"));
        let bad_source = transformed(Some("orders..x"), "copy");
        assert_refused(&bad_source.problems(), &format!("{path}.source"));
        assert_clean(&transformed(Some("orders.*"), "copy.{{wildcard(1)}}").problems());
    }

    #[test]
    fn republish_destination_must_be_given_and_valid() {
        let republishing = |source, destination| {
            stream().with(|spec| spec.republish = republish(source, destination))
        };
        let path = "spec.republish.destination";
        assert_refused(&republishing(None, "").problems(), path);
        assert_refused(&republishing(None, "archive orders.>").problems(), path);
        assert_refused(&republishing(None, "archive.orders").problems(), path);
        assert_refused(
            &republishing(Some("orders.."), "archive").problems(),
            "spec.republish.source",
        );
        assert_clean(&republishing(None, "archive.>").problems());
        assert_clean(&republishing(Some("orders.new"), "archive.new").problems());
    }

    #[test]
    fn republish_into_the_streams_own_subjects_is_refused() {
        let republishing = |source, destination| {
            stream().with(|spec| spec.republish = republish(source, destination))
        };
        let path = "spec.republish.destination";
        assert_refused(&republishing(None, "orders.copy.>").problems(), path);
        assert_clean(&republishing(None, "archive.>").problems());
        // Without subjects, the stream stores its own name.
        let unnamed_subjects =
            republishing(Some("orders"), "orders").with(|spec| spec.subjects = Vec::new());
        assert_refused(&unnamed_subjects.problems(), path);
    }

    #[test]
    fn consumer_limits_max_ack_pending_of_zero_is_refused() {
        let limited = |limit| {
            stream().with(|spec| {
                spec.consumer_limits = Some(ConsumerLimits {
                    inactive_threshold: None,
                    max_ack_pending: Some(limit),
                })
            })
        };
        assert_refused(&limited(0).problems(), "spec.consumerLimits.maxAckPending");
        assert_clean(&limited(1).problems());
    }

    #[test]
    fn placement_tags_must_not_be_empty() {
        let placed = |tags: &[&str]| {
            stream().with(|spec| {
                spec.placement = Some(Placement {
                    cluster: None,
                    tags: strings(tags),
                })
            })
        };
        assert_refused(&placed(&["ssd", ""]).problems(), "spec.placement.tags[1]");
        assert_clean(&placed(&["ssd", "eu"]).problems());
    }

    // ----- sources and mirrors -----

    #[test]
    fn source_names_must_be_stream_names() {
        assert_refused(
            &sourcing(origin("orders.eu")).problems(),
            "spec.sources[0].name",
        );
        assert_clean(&sourcing(origin("ORDERS_EU")).problems());
    }

    #[test]
    fn source_filter_subject_with_subject_transforms_is_refused() {
        let filtered = StreamSource {
            filter_subject: Some("orders.>".into()),
            ..origin("ORDERS")
        };
        let both = StreamSource {
            subject_transforms: vec![transform(Some("orders.>"), "eu.orders.>")],
            ..filtered.clone()
        };
        assert_refused(&sourcing(both).problems(), "spec.sources[0].filterSubject");
        assert_clean(&sourcing(filtered).problems());
    }

    #[test]
    fn source_filter_subject_must_be_valid() {
        let filtered = |filter: &str| {
            sourcing(StreamSource {
                filter_subject: Some(filter.into()),
                ..origin("ORDERS")
            })
        };
        assert_refused(
            &filtered("orders.>.eu").problems(),
            "spec.sources[0].filterSubject",
        );
        assert_clean(&filtered("orders.*.eu").problems());
    }

    #[test]
    fn source_transforms_must_be_valid_and_disjoint() {
        let transformed = |transforms| {
            sourcing(StreamSource {
                subject_transforms: transforms,
                ..origin("ORDERS")
            })
        };
        let path = "spec.sources[0].subjectTransforms";
        let star = transformed(vec![transform(Some("orders.*"), "eu.*")]);
        assert_refused(&star.problems(), &format!("{path}[0].destination"));
        let overlapping = transformed(vec![
            transform(Some("orders.>"), ""),
            transform(Some("orders.new"), ""),
        ]);
        assert_refused(&overlapping.problems(), &format!("{path}[1].source"));
        let disjoint = transformed(vec![
            transform(Some("orders.*"), "eu.orders.{{wildcard(1)}}"),
            transform(Some("returns.>"), ""),
        ]);
        assert_clean(&disjoint.problems());
    }

    #[test]
    fn source_start_sequence_with_start_time_is_refused() {
        let from_sequence = StreamSource {
            opt_start_seq: Some(10),
            ..origin("ORDERS")
        };
        let both = StreamSource {
            opt_start_time: Some("2025-01-31T12:00:00Z".into()),
            ..from_sequence.clone()
        };
        assert_refused(&sourcing(both).problems(), "spec.sources[0].optStartTime");
        assert_clean(&sourcing(from_sequence).problems());
    }

    #[test]
    fn source_start_time_must_be_rfc_3339() {
        let from_time = |time: &str| {
            sourcing(StreamSource {
                opt_start_time: Some(time.into()),
                ..origin("ORDERS")
            })
        };
        assert_refused(
            &from_time("yesterday").problems(),
            "spec.sources[0].optStartTime",
        );
        assert_clean(&from_time("2025-01-31T12:00:00.5+01:00").problems());
    }

    #[test]
    fn repeated_sources_are_refused() {
        let twice = |second| stream().with(|spec| spec.sources = vec![origin("ORDERS"), second]);
        assert_refused(&twice(origin("ORDERS")).problems(), "spec.sources[1]");
        let narrower = StreamSource {
            filter_subject: Some("orders.eu.>".into()),
            ..origin("ORDERS")
        };
        assert_clean(&twice(narrower).problems());
    }

    #[test]
    fn external_api_prefix_must_be_another_jetstream() {
        let external = |prefix: &str| {
            sourcing(StreamSource {
                external: Some(ExternalStream {
                    api_prefix: prefix.into(),
                    deliver_prefix: None,
                }),
                ..origin("ORDERS")
            })
        };
        let path = "spec.sources[0].external.apiPrefix";
        assert_refused(&external("$JS.API").problems(), path);
        assert_refused(&external("$JS.*.API").problems(), path);
        assert_clean(&external("$JS.hub.API").problems());
    }

    #[test]
    fn durable_origin_consumer_needs_a_deliver_subject_and_no_start_or_filter() {
        let durable = |deliver_subject: Option<&str>, filter: Option<&str>| {
            sourcing(StreamSource {
                filter_subject: filter.map(Into::into),
                consumer: Some(SourceConsumer {
                    name: "sourcing".into(),
                    deliver_subject: deliver_subject.map(Into::into),
                }),
                ..origin("ORDERS")
            })
        };
        let path = "spec.sources[0]";
        assert_refused(&durable(None, None).problems(), &format!("{path}.consumer"));
        let wildcard = durable(Some("deliver.*"), None);
        assert_refused(
            &wildcard.problems(),
            &format!("{path}.consumer.deliverSubject"),
        );
        let filtered = durable(Some("deliver.sourcing"), Some("orders.>"));
        assert_refused(&filtered.problems(), &format!("{path}.filterSubject"));
        assert_clean(&durable(Some("deliver.sourcing"), None).problems());
    }

    #[test]
    fn mirror_name_and_filters_are_checked_like_sources() {
        assert_refused(&mirror_of("a b").problems(), "spec.mirror.name");
        let both_filters = mirror_of("ORDERS").with(|spec| {
            let mirror = spec.mirror.as_mut().unwrap();
            mirror.filter_subject = Some("orders.>".into());
            mirror.subject_transforms = vec![transform(Some("orders.>"), "")];
        });
        assert_refused(&both_filters.problems(), "spec.mirror.filterSubject");
        assert_clean(&mirror_of("ORDERS").problems());
    }

    // ----- Consumer -----

    #[test]
    fn consumer_stream_name_must_be_a_stream_name() {
        let reading = consumer().with(|spec| spec.stream_name = "orders.v1".into());
        assert_refused(&reading.problems(), "spec.streamName");
        assert_clean(&consumer().problems());
    }

    #[test]
    fn filter_subject_with_filter_subjects_is_refused() {
        let filtered = consumer().with(|spec| spec.filter_subjects = strings(&["orders.old"]));
        let both = filtered
            .clone()
            .with(|spec| spec.filter_subject = Some("orders.new".into()));
        assert_refused(&both.problems(), "spec.filterSubject");
        assert_clean(&filtered.problems());
    }

    #[test]
    fn consumer_filters_must_be_valid_subjects() {
        let single =
            |filter: &str| consumer().with(|spec| spec.filter_subject = Some(filter.into()));
        let many =
            |filters: &[&str]| consumer().with(|spec| spec.filter_subjects = strings(filters));
        assert_refused(&single("orders.>.x").problems(), "spec.filterSubject");
        assert_refused(
            &many(&["orders.new", ""]).problems(),
            "spec.filterSubjects[1]",
        );
        assert_clean(&single("orders.*").problems());
    }

    #[test]
    fn duplicate_or_overlapping_filter_subjects_are_refused() {
        let many =
            |filters: &[&str]| consumer().with(|spec| spec.filter_subjects = strings(filters));
        let path = "spec.filterSubjects[1]";
        assert_refused(&many(&["orders.new", "orders.new"]).problems(), path);
        assert_refused(&many(&["orders.new", "orders.*"]).problems(), path);
        assert_clean(&many(&["orders.new", "orders.old"]).problems());
    }

    #[test]
    fn deliver_by_start_sequence_needs_opt_start_seq() {
        let by_sequence =
            consumer().with(|spec| spec.deliver_policy = Some(DeliverPolicy::ByStartSequence));
        assert_refused(&by_sequence.clone().problems(), "spec.deliverPolicy");
        assert_clean(
            &by_sequence
                .with(|spec| spec.opt_start_seq = Some(42))
                .problems(),
        );
    }

    #[test]
    fn deliver_by_start_time_needs_opt_start_time() {
        let by_time =
            consumer().with(|spec| spec.deliver_policy = Some(DeliverPolicy::ByStartTime));
        assert_refused(&by_time.clone().problems(), "spec.deliverPolicy");
        let timed = by_time.with(|spec| spec.opt_start_time = Some("2025-01-31T12:00:00Z".into()));
        assert_clean(&timed.problems());
    }

    #[test]
    fn start_position_without_the_matching_deliver_policy_is_refused() {
        let problems = consumer()
            .with(|spec| {
                spec.opt_start_seq = Some(42);
                spec.opt_start_time = Some("2025-01-31T12:00:00Z".into());
            })
            .problems();
        assert_refused(&problems, "spec.optStartSeq");
        assert_refused(&problems, "spec.optStartTime");
        assert!(problems[0].message.contains("deliverPolicy is all"));
        let new = consumer().with(|spec| spec.deliver_policy = Some(DeliverPolicy::New));
        assert_clean(&new.problems());
    }

    #[test]
    fn opt_start_seq_of_zero_is_refused() {
        let from_sequence = |sequence| {
            consumer().with(|spec| {
                spec.deliver_policy = Some(DeliverPolicy::ByStartSequence);
                spec.opt_start_seq = Some(sequence);
            })
        };
        assert_refused(&from_sequence(0).problems(), "spec.optStartSeq");
        assert_clean(&from_sequence(1).problems());
    }

    #[test]
    fn opt_start_time_must_be_rfc_3339() {
        let from_time = |time: &str| {
            consumer().with(|spec| {
                spec.deliver_policy = Some(DeliverPolicy::ByStartTime);
                spec.opt_start_time = Some(time.into());
            })
        };
        assert_refused(
            &from_time("2025-01-31 12:00").problems(),
            "spec.optStartTime",
        );
        assert_clean(&from_time("2025-01-31T12:00:00-05:00").problems());
    }

    #[test]
    fn last_per_subject_needs_a_filter() {
        let last =
            consumer().with(|spec| spec.deliver_policy = Some(DeliverPolicy::LastPerSubject));
        assert_refused(&last.clone().problems(), "spec.deliverPolicy");
        let filtered = last.with(|spec| spec.filter_subject = Some("orders.>".into()));
        assert_clean(&filtered.problems());
    }

    #[test]
    fn backoff_longer_than_max_deliver_is_refused() {
        let backing_off = |max_deliver| {
            consumer().with(|spec| {
                spec.backoff = vec![duration("1s"), duration("5s"), duration("30s")];
                spec.max_deliver = Some(max_deliver);
            })
        };
        assert_refused(&backing_off(2).problems(), "spec.backoff");
        assert_clean(&backing_off(3).problems());
    }

    #[test]
    fn backoff_with_ack_policy_none_is_refused() {
        let backing_off = |ack_policy| {
            consumer().with(|spec| {
                spec.backoff = vec![duration("1s")];
                spec.ack_policy = Some(ack_policy);
            })
        };
        assert_refused(&backing_off(AckPolicy::None).problems(), "spec.backoff");
        assert_clean(&backing_off(AckPolicy::Explicit).problems());
    }

    #[test]
    fn ack_wait_that_backoff_overrides_is_a_warning() {
        let waiting = |ack_wait| {
            consumer().with(|spec| {
                spec.backoff = vec![duration("1s"), duration("5s")];
                spec.ack_wait = Some(duration(ack_wait));
            })
        };
        assert_warned(&waiting("30s").problems(), "spec.ackWait");
        assert_clean(&waiting("1s").problems());
    }

    #[test]
    fn ack_wait_of_zero_is_refused() {
        let waiting = |ack_wait| consumer().with(|spec| spec.ack_wait = Some(duration(ack_wait)));
        assert_refused(&waiting("0").problems(), "spec.ackWait");
        assert_clean(&waiting("10s").problems());
    }

    #[test]
    fn max_deliver_of_zero_is_refused_with_help_to_omit_it() {
        let delivering = |max_deliver| consumer().with(|spec| spec.max_deliver = Some(max_deliver));
        let problems = delivering(0).problems();
        assert_refused(&problems, "spec.maxDeliver");
        assert!(
            problems[0]
                .help
                .as_deref()
                .unwrap()
                .contains("leave maxDeliver out")
        );
        assert_clean(&delivering(1).problems());
    }

    #[test]
    fn max_ack_pending_must_be_positive_and_needs_acks() {
        let pending = |pending, ack_policy| {
            consumer().with(|spec| {
                spec.max_ack_pending = Some(pending);
                spec.ack_policy = ack_policy;
            })
        };
        assert_refused(&pending(0, None).problems(), "spec.maxAckPending");
        assert_refused(
            &pending(10, Some(AckPolicy::None)).problems(),
            "spec.maxAckPending",
        );
        assert_clean(&pending(10, None).problems());
        assert_clean(&pending(10, Some(AckPolicy::All)).problems());
    }

    #[test]
    fn consumer_replicas_of_zero_or_above_five_are_refused() {
        let replicated = |replicas| consumer().with(|spec| spec.replicas = Some(replicas));
        let zero = replicated(0).problems();
        assert_refused(&zero, "spec.replicas");
        assert!(
            zero[0]
                .help
                .as_deref()
                .unwrap()
                .contains("stream's replicas")
        );
        assert_refused(&replicated(7).problems(), "spec.replicas");
        assert_clean(&replicated(3).problems());
    }

    #[test]
    fn pull_consumers_refuse_push_settings() {
        let problems = consumer()
            .with(|spec| {
                spec.idle_heartbeat = Some(duration("5s"));
                spec.flow_control = Some(true);
                spec.rate_limit_bps = Some(1_000);
                spec.deliver_group = Some("workers".into());
            })
            .problems();
        let push_only = [
            "idleHeartbeat",
            "flowControl",
            "rateLimitBps",
            "deliverGroup",
        ];
        for field in push_only {
            assert_refused(&problems, &format!("spec.{field}"));
        }
        assert_eq!(problems.len(), push_only.len(), "{}", listing(&problems));
        let pulling = consumer().with(|spec| {
            spec.max_waiting = Some(64);
            spec.max_batch = Some(100);
        });
        assert_clean(&pulling.problems());
    }

    #[test]
    fn push_consumers_refuse_pull_settings() {
        let problems = push_consumer()
            .with(|spec| {
                spec.max_waiting = Some(64);
                spec.max_batch = Some(100);
                spec.max_expires = Some(duration("30s"));
                spec.max_bytes = Some(Size::from_bytes(1024));
                spec.priority_groups = strings(&["jobs"]);
                spec.priority_policy = Some(PriorityPolicy::Overflow);
                spec.priority_timeout = Some(duration("1m"));
            })
            .problems();
        let pull_only = [
            "maxWaiting",
            "maxBatch",
            "maxExpires",
            "maxBytes",
            "priorityGroups",
            "priorityPolicy",
            "priorityTimeout",
        ];
        for field in pull_only {
            assert_refused(&problems, &format!("spec.{field}"));
        }
        assert_eq!(problems.len(), pull_only.len(), "{}", listing(&problems));
        let pushing = push_consumer().with(|spec| {
            spec.idle_heartbeat = Some(duration("5s"));
            spec.flow_control = Some(true);
            spec.deliver_group = Some("workers".into());
        });
        assert_clean(&pushing.problems());
    }

    #[test]
    fn the_flow_control_ack_policy_is_refused_where_the_server_refuses_it() {
        let flow =
            |spec: ConsumerSpec| spec.with(|spec| spec.ack_policy = Some(AckPolicy::FlowControl));
        assert_clean(&flow(push_consumer()).problems());
        assert_refused(&flow(consumer()).problems(), "spec.ackPolicy");
        let problems = flow(push_consumer())
            .with(|spec| {
                spec.ack_wait = Some(duration("10s"));
                spec.max_deliver = Some(3);
                spec.idle_heartbeat = Some(duration("5s"));
                spec.flow_control = Some(true);
            })
            .problems();
        for field in ["ackWait", "maxDeliver", "idleHeartbeat", "flowControl"] {
            assert_refused(&problems, &format!("spec.{field}"));
        }
        let backing_off = flow(push_consumer()).with(|spec| spec.backoff = vec![duration("1s")]);
        assert_refused(&backing_off.problems(), "spec.backoff");
    }

    #[test]
    fn a_bucket_cannot_turn_off_the_ttls_its_limit_markers_need() {
        let bucket = key_value().with(|spec| {
            spec.limit_marker_ttl = Some(duration("10s"));
            spec.allow_msg_ttl = Some(false);
        });
        assert_refused(&bucket.problems(), "spec.allowMsgTtl");
        let direct = key_value().with(|spec| spec.mirror_direct = Some(true));
        assert_refused(&direct.problems(), "spec.mirrorDirect");
        let chosen = key_value().with(|spec| {
            spec.allow_msg_ttl = Some(true);
            spec.allow_direct = Some(false);
        });
        assert_clean(&chosen.problems());
    }

    #[test]
    fn idle_heartbeat_below_100ms_is_refused() {
        let beating = |heartbeat| {
            push_consumer().with(|spec| spec.idle_heartbeat = Some(duration(heartbeat)))
        };
        assert_refused(&beating("50ms").problems(), "spec.idleHeartbeat");
        assert_clean(&beating("100ms").problems());
    }

    #[test]
    fn flow_control_without_idle_heartbeat_is_refused() {
        let flow_control = push_consumer().with(|spec| spec.flow_control = Some(true));
        assert_refused(&flow_control.clone().problems(), "spec.flowControl");
        let beating = flow_control.with(|spec| spec.idle_heartbeat = Some(duration("5s")));
        assert_clean(&beating.problems());
    }

    #[test]
    fn deliver_subject_must_be_a_publish_subject() {
        let delivering =
            |subject: &str| consumer().with(|spec| spec.deliver_subject = Some(subject.into()));
        assert_refused(&delivering("deliver.*").problems(), "spec.deliverSubject");
        assert_refused(&delivering("").problems(), "spec.deliverSubject");
        assert_clean(&delivering("deliver.orders").problems());
    }

    #[test]
    fn max_expires_below_one_millisecond_is_refused() {
        let expiring = |expires| consumer().with(|spec| spec.max_expires = Some(duration(expires)));
        assert_refused(&expiring("500us").problems(), "spec.maxExpires");
        assert_clean(&expiring("1ms").problems());
    }

    #[test]
    fn sample_frequency_above_100_is_refused() {
        let sampled = |frequency| consumer().with(|spec| spec.sample_freq = Some(frequency));
        assert_refused(&sampled(101).problems(), "spec.sampleFreq");
        assert_clean(&sampled(100).problems());
    }

    #[test]
    fn priority_groups_must_be_valid_and_distinct() {
        let grouped = |groups: &[&str]| {
            consumer().with(|spec| {
                spec.priority_groups = strings(groups);
                spec.priority_policy = Some(PriorityPolicy::Overflow);
            })
        };
        assert_refused(
            &grouped(&["jobs", "jobs.high"]).problems(),
            "spec.priorityGroups[1]",
        );
        assert_refused(
            &grouped(&["jobs", "jobs"]).problems(),
            "spec.priorityGroups[1]",
        );
        assert_refused(
            &grouped(&["a-very-long-group-name"]).problems(),
            "spec.priorityGroups[0]",
        );
        assert_clean(&grouped(&["jobs", "jobs/high"]).problems());
    }

    #[test]
    fn priority_policy_without_groups_is_refused() {
        let pinned = |groups: &[&str]| {
            consumer().with(|spec| {
                spec.priority_policy = Some(PriorityPolicy::PinnedClient);
                spec.priority_groups = strings(groups);
            })
        };
        assert_refused(&pinned(&[]).problems(), "spec.priorityPolicy");
        assert_clean(&pinned(&["jobs"]).problems());
    }

    #[test]
    fn priority_groups_without_a_policy_are_refused() {
        let grouped = |policy| {
            consumer().with(|spec| {
                spec.priority_groups = strings(&["jobs"]);
                spec.priority_policy = policy;
            })
        };
        assert_refused(&grouped(None).problems(), "spec.priorityGroups");
        assert_refused(
            &grouped(Some(PriorityPolicy::None)).problems(),
            "spec.priorityGroups",
        );
        assert_clean(&grouped(Some(PriorityPolicy::Prioritized)).problems());
    }

    #[test]
    fn priority_timeout_is_only_for_pinned_clients() {
        let timed = |policy, groups: &[&str]| {
            consumer().with(|spec| {
                spec.priority_groups = strings(groups);
                spec.priority_policy = Some(policy);
                spec.priority_timeout = Some(duration("30s"));
            })
        };
        let path = "spec.priorityTimeout";
        assert_refused(&timed(PriorityPolicy::None, &[]).problems(), path);
        assert_warned(&timed(PriorityPolicy::Overflow, &["jobs"]).problems(), path);
        assert_clean(&timed(PriorityPolicy::PinnedClient, &["jobs"]).problems());
    }

    #[test]
    fn pause_until_must_be_rfc_3339() {
        let paused = |time: &str| consumer().with(|spec| spec.pause_until = Some(time.into()));
        assert_refused(
            &paused("2025-02-30T00:00:00Z").problems(),
            "spec.pauseUntil",
        );
        assert_clean(&paused("2025-02-28T00:00:00Z").problems());
    }

    // ----- KeyValue -----

    #[test]
    fn kv_history_outside_one_to_64_is_refused() {
        let keeping = |history| key_value().with(|spec| spec.history = Some(history));
        assert_refused(&keeping(0).problems(), "spec.history");
        assert_refused(&keeping(65).problems(), "spec.history");
        assert_clean(&keeping(64).problems());
    }

    #[test]
    fn kv_ttl_below_100ms_is_refused() {
        let expiring = |ttl| key_value().with(|spec| spec.ttl = Some(duration(ttl)));
        assert_refused(&expiring("10ms").problems(), "spec.ttl");
        assert_refused(&expiring("0").problems(), "spec.ttl");
        assert_clean(&expiring("1h").problems());
    }

    #[test]
    fn kv_replicas_outside_one_to_five_are_refused() {
        let replicated = |replicas| key_value().with(|spec| spec.replicas = Some(replicas));
        assert_refused(&replicated(0).problems(), "spec.replicas");
        assert_refused(&replicated(6).problems(), "spec.replicas");
        assert_clean(&replicated(3).problems());
    }

    #[test]
    fn kv_limit_marker_ttl_below_one_second_is_refused() {
        let marked = |ttl| key_value().with(|spec| spec.limit_marker_ttl = Some(duration(ttl)));
        assert_refused(&marked("100ms").problems(), "spec.limitMarkerTtl");
        assert_clean(&marked("1s").problems());
    }

    #[test]
    fn kv_limit_marker_ttl_on_a_mirror_is_refused() {
        let mirror = key_value().with(|spec| spec.mirror = Some(origin("config")));
        let marked = mirror
            .clone()
            .with(|spec| spec.limit_marker_ttl = Some(duration("5s")));
        assert_refused(&marked.problems(), "spec.limitMarkerTtl");
        assert_clean(&mirror.problems());
    }

    #[test]
    fn kv_mirror_with_sources_is_refused() {
        let both = key_value().with(|spec| {
            spec.mirror = Some(origin("config"));
            spec.sources = vec![origin("defaults")];
        });
        assert_refused(&both.problems(), "spec.sources");
        let sources =
            key_value().with(|spec| spec.sources = vec![origin("defaults"), origin("overrides")]);
        assert_clean(&sources.problems());
    }

    #[test]
    fn kv_origins_are_bucket_names() {
        let sourced = key_value().with(|spec| spec.sources = vec![origin("KV.config")]);
        assert_refused(&sourced.problems(), "spec.sources[0].name");
        let mirrored = |name: &str| key_value().with(|spec| spec.mirror = Some(origin(name)));
        assert_refused(&mirrored("con fig").problems(), "spec.mirror.name");
        assert_clean(&mirrored("config-eu").problems());
    }

    #[test]
    fn kv_republish_into_its_own_keys_is_refused() {
        let republishing =
            |destination| key_value().with(|spec| spec.republish = republish(None, destination));
        assert_refused(
            &republishing("$KV.orders.>").problems(),
            "spec.republish.destination",
        );
        assert_clean(&republishing("changes.orders.>").problems());
    }

    #[test]
    fn kv_max_value_size_above_the_32_bit_limit_is_refused() {
        let limited =
            |bytes| key_value().with(|spec| spec.max_value_size = Some(Size::from_bytes(bytes)));
        assert_refused(&limited(1 << 32).problems(), "spec.maxValueSize");
        assert_clean(&limited(1 << 20).problems());
    }

    // ----- ObjectStore -----

    #[test]
    fn object_store_ttl_below_100ms_is_refused() {
        let expiring = |ttl| object_store().with(|spec| spec.ttl = Some(duration(ttl)));
        assert_refused(&expiring("1ms").problems(), "spec.ttl");
        assert_clean(&expiring("7d").problems());
    }

    #[test]
    fn object_store_replicas_outside_one_to_five_are_refused() {
        let replicated = |replicas| object_store().with(|spec| spec.replicas = Some(replicas));
        assert_refused(&replicated(0).problems(), "spec.replicas");
        assert_refused(&replicated(10).problems(), "spec.replicas");
        assert_clean(&replicated(1).problems());
    }

    #[test]
    fn object_store_reserved_metadata_keys_are_refused() {
        let keyed =
            |key: &str| object_store().with(|spec| spec.metadata = one_entry(key, "x".into()));
        let applied = keyed("jetsync.dev/applied").problems();
        assert_refused(&applied, "spec.metadata.jetsync.dev/applied");
        assert_clean(&keyed("purpose").problems());
    }

    // ----- NatsConnection -----

    #[test]
    fn connection_needs_servers() {
        let empty = connection().with(|spec| spec.servers = Vec::new());
        assert_refused(&empty.problems(), "spec.servers");
        assert_clean(&connection().problems());
    }

    #[test]
    fn server_urls_use_nats_schemes() {
        let serving = |url: &str| connection().with(|spec| spec.servers = strings(&[url]));
        let refused = [
            "http://nats:4222",
            "nats://nats:http",
            "nats://:4222",
            "nats://a:4222,nats://b:4222",
            "nats://a b",
            "::1:4222",
        ];
        for url in refused {
            assert_refused(&serving(url).problems(), "spec.servers[0]");
        }
        let accepted = [
            "nats://nats:4222",
            "tls://nats",
            "wss://nats.example.com/ws",
            "nats:4222",
            "[::1]:4222",
            "ws://[::1]",
        ];
        for url in accepted {
            assert_clean(&serving(url).problems());
        }
    }

    #[test]
    fn credentials_in_server_urls_are_refused_without_echoing_them() {
        let problems = connection()
            .with(|spec| {
                spec.servers = strings(&["nats://admin:s3cr3t@nats:4222", "bob:hunter2@nats"])
            })
            .problems();
        assert_refused(&problems, "spec.servers[0]");
        assert_refused(&problems, "spec.servers[1]");
        for problem in &problems {
            let text = format!("{problem} {}", problem.help.as_deref().unwrap_or_default());
            for secret in ["admin", "s3cr3t", "bob", "hunter2"] {
                assert!(!text.contains(secret), "{text}");
            }
            assert!(text.contains("credentials must not be written in the URL"));
            assert!(text.contains("use spec.auth with a Secret reference"));
        }
        assert_clean(&connection().problems());
    }

    #[test]
    fn secret_sources_need_exactly_one_of_secret_ref_and_file() {
        let token = |source: SecretSource| {
            connection().with(|spec| {
                spec.auth = Some(AuthConfig {
                    token: Some(source),
                    ..AuthConfig::default()
                })
            })
        };
        let both = SecretSource {
            file: Some("token".into()),
            ..secret("nats", "token")
        };
        let path = "spec.auth.token";
        assert_refused(&token(SecretSource::default()).problems(), path);
        assert_refused(&token(both).problems(), path);
        assert_refused(
            &token(secret("NATS", "token")).problems(),
            &format!("{path}.secretRef.name"),
        );
        assert_refused(
            &token(secret("nats", "")).problems(),
            &format!("{path}.secretRef.key"),
        );
        assert_clean(&token(secret("nats", "token")).problems());
        assert_clean(&token(file("./token")).problems());
    }

    #[test]
    fn more_than_one_auth_method_is_refused() {
        let creds = AuthConfig {
            creds: Some(file("app.creds")),
            ..AuthConfig::default()
        };
        let password = UserPassword {
            user: "app".into(),
            password: secret("nats", "password"),
        };
        let both = AuthConfig {
            user_password: Some(password),
            ..creds.clone()
        };
        let problems = connection().with(|spec| spec.auth = Some(both)).problems();
        assert_refused(&problems, "spec.auth");
        assert!(problems[0].message.contains("creds and userPassword"));
        assert_clean(&connection().with(|spec| spec.auth = Some(creds)).problems());
    }

    #[test]
    fn tls_cert_without_key_is_refused() {
        let tls = |cert: Option<&str>, key: Option<&str>| {
            connection().with(|spec| {
                spec.tls = Some(TlsConfig {
                    cert: cert.map(file),
                    key: key.map(file),
                    ..TlsConfig::default()
                })
            })
        };
        assert_refused(&tls(Some("tls.crt"), None).problems(), "spec.tls.cert");
        assert_refused(&tls(None, Some("tls.key")).problems(), "spec.tls.key");
        assert_clean(&tls(Some("tls.crt"), Some("tls.key")).problems());
    }

    #[test]
    fn js_domain_must_be_one_token() {
        let domain = |domain: &str| connection().with(|spec| spec.js_domain = Some(domain.into()));
        assert_refused(&domain("hub.eu").problems(), "spec.jsDomain");
        assert_refused(&domain("hub eu").problems(), "spec.jsDomain");
        assert_clean(&domain("hub").problems());
    }

    // ----- RFC 3339 and Problem -----

    #[test]
    fn rfc3339_accepts_utc_offsets_and_fractions() {
        let accepted = [
            "2025-01-31T12:00:00Z",
            "2025-01-31T12:00:00.123456789Z",
            "2024-02-29T23:59:59+05:30",
            "2000-02-29T00:00:00-00:00",
        ];
        for text in accepted {
            assert!(rfc3339_is_valid(text), "{text}");
        }
    }

    #[test]
    fn rfc3339_refuses_other_shapes_and_impossible_dates() {
        let refused = [
            "",
            "2025-01-31",
            "2025-01-31 12:00:00Z",
            "2025-01-31t12:00:00z",
            "2025-01-31T12:00:00",
            "2025-01-31T12:00Z",
            "2025-1-31T12:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2025-04-31T00:00:00Z",
            "2025-01-31T24:00:00Z",
            "2025-01-31T12:60:00Z",
            "2025-01-31T12:00:60Z",
            "2025-01-31T12:00:00.Z",
            "2025-01-31T12:00:00+0100",
            "2025-01-31T12:00:00+24:00",
            "2025-01-31T12:00:00Z ",
        ];
        for text in refused {
            assert!(!rfc3339_is_valid(text), "{text}");
        }
    }

    #[test]
    fn problems_display_their_path_and_message() {
        let problem = Problem::error(FieldPath::spec().field("replicas"), "replicas is 0")
            .with_help("omit it");
        assert_eq!(problem.to_string(), "spec.replicas: replicas is 0");
        assert_eq!(problem.help.as_deref(), Some("omit it"));
        assert!(problem.is_error());
        assert!(!Problem::warning(FieldPath::spec(), "x").is_error());
    }
}
