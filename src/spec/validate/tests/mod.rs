//! Tests of static validation; fixtures are builders shared by the kinds' tests.

use super::*;
use crate::spec::common::{
    ConsumerLimits, DiscardPolicy, ExternalStream, Metadata, PersistMode, Placement, Republish,
    RetentionPolicy, SourceConsumer, StorageType, StreamSource, SubjectTransform,
};
use crate::spec::connection::SecretSource;
use crate::spec::connection::{AuthConfig, SecretKeyRef, TlsConfig, UserPassword};
use crate::spec::consumer::{AckPolicy, DeliverPolicy, PriorityPolicy};
use crate::spec::units::Size;
use crate::spec::{ConsumerSpec, KeyValueSpec, NatsConnectionSpec, ObjectStoreSpec, StreamSpec};

mod buckets;
mod connection;
mod consumer;
mod sources;
mod stream;

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
    let store = |length: usize| object_store().with(|spec| spec.name = Some("b".repeat(length)));
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
    let described = |length| key_value().with(|spec| spec.description = Some("d".repeat(length)));
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

#[test]
fn problems_display_their_path_and_message() {
    let problem =
        Problem::error(FieldPath::spec().field("replicas"), "replicas is 0").with_help("omit it");
    assert_eq!(problem.to_string(), "spec.replicas: replicas is 0");
    assert_eq!(problem.help.as_deref(), Some("omit it"));
    assert!(problem.is_error());
    assert!(!Problem::warning(FieldPath::spec(), "x").is_error());
}
