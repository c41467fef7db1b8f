//! Which changes nats-server makes in place and which need the asset deleted
//! and created again, per field and per server version. The rules are
//! JETSTREAM.md's, checked against real servers by `tests/nats_mutability.rs`.

use serde_json::Value;

use super::capabilities::{ServerVersion, min_version_for_update};
use super::model::AssetKind;
use super::wire::model as wire;

/// Whether a change to one field can be applied to the existing asset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mutability {
    /// The server changes the field in place.
    Editable,
    /// The server refuses the change (or ignores it): the asset must be
    /// deleted and created again, losing what it holds.
    ForcesReplacement {
        /// A short user-facing phrase, e.g. "nats-server cannot change
        /// storage in place".
        reason: String,
    },
}

impl Mutability {
    /// True for [`Mutability::ForcesReplacement`].
    pub fn forces_replacement(&self) -> bool {
        matches!(self, Mutability::ForcesReplacement { .. })
    }

    /// The reason a replacement is needed, if it is.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Mutability::Editable => None,
            Mutability::ForcesReplacement { reason } => Some(reason),
        }
    }
}

fn replace(reason: impl Into<String>) -> Mutability {
    Mutability::ForcesReplacement {
        reason: reason.into(),
    }
}

/// True for a JSON `true`; normalised configs spell "unset" as absent,
/// `null` or `false`.
fn on(value: &Value) -> bool {
    value.as_bool() == Some(true)
}

/// True for absent, `null`, `""`, `[]`, `{}`, `false` and `0`.
fn unset(value: &Value) -> bool {
    wire::value_is_unset(value)
}

/// True when `server` is older than the first release that changes
/// `json_field` of `kind` in place.
fn too_old_to_update(kind: AssetKind, json_field: &str, server: &ServerVersion) -> Option<String> {
    min_version_for_update(kind, json_field)
        .filter(|since| server < since)
        .map(|since| since.short())
}

/// Whether changing the top-level `json_field` of an existing `kind` from
/// `before` (the live normalised value) to `after` (the desired normalised
/// value; `Value::Null` when absent) can be done in place on `server`.
/// KV buckets and object stores follow their backing stream's rules.
/// Unchanged values are always editable.
pub fn change_mutability(
    kind: AssetKind,
    json_field: &str,
    before: &Value,
    after: &Value,
    server: &ServerVersion,
) -> Mutability {
    if before == after || (unset(before) && unset(after)) {
        return Mutability::Editable;
    }
    match kind {
        AssetKind::Stream | AssetKind::KeyValue | AssetKind::ObjectStore => {
            stream_change(kind, json_field, before, after, server)
        }
        AssetKind::Consumer => consumer_change(json_field, before, after),
    }
}

fn stream_change(
    kind: AssetKind,
    field: &str,
    before: &Value,
    after: &Value,
    server: &ServerVersion,
) -> Mutability {
    match field {
        "name" => replace("a stream's name cannot change"),
        "storage" => replace("nats-server cannot change storage in place"),
        "retention" => {
            let workqueue =
                |v: &Value| v.as_str() == Some(wire::RetentionPolicy::Workqueue.spelling());
            if workqueue(before) || workqueue(after) {
                replace("retention cannot change to or from workqueue")
            } else if let Some(since) = too_old_to_update(kind, field, server) {
                replace(format!(
                    "nats-server before {since} cannot change retention in place"
                ))
            } else {
                Mutability::Editable
            }
        }
        "mirror" => match (unset(before), unset(after)) {
            (true, _) => replace("a mirror cannot be added to an existing stream"),
            (false, false) => replace("a mirror's configuration cannot change"),
            (false, true) => match too_old_to_update(kind, field, server) {
                Some(since) => replace(format!(
                    "nats-server before {since} cannot remove a mirror (promote it) in place"
                )),
                None => Mutability::Editable,
            },
        },
        "persist_mode" => replace("persist mode cannot change in place"),
        "allow_msg_counter" => replace("a counter stream cannot be turned on or off in place"),
        "first_seq" => replace("the first sequence only takes effect when the stream is created"),
        "sealed" if on(before) => replace("a sealed stream cannot be unsealed"),
        "deny_delete" if on(before) => replace("deny delete cannot be turned off once on"),
        "deny_purge" if on(before) => replace("deny purge cannot be turned off once on"),
        "allow_msg_schedules" if on(before) => {
            replace("message schedules cannot be turned off once on")
        }
        "allow_msg_ttl" if on(before) => replace("per-message TTLs cannot be turned off once on"),
        "allow_msg_ttl" | "max_consumers" | "republish" => {
            match too_old_to_update(kind, field, server) {
                Some(since) => replace(match field {
                    "allow_msg_ttl" => {
                        format!(
                            "nats-server before {since} cannot turn on per-message TTLs in place"
                        )
                    }
                    "max_consumers" => {
                        format!("nats-server before {since} cannot change max consumers in place")
                    }
                    _ => format!("nats-server before {since} cannot change republish in place"),
                }),
                None => Mutability::Editable,
            }
        }
        _ => Mutability::Editable,
    }
}

fn consumer_change(field: &str, before: &Value, after: &Value) -> Mutability {
    match field {
        "name" | "durable_name" => replace("a consumer's name cannot change"),
        "deliver_policy" => replace("a consumer's deliver policy cannot change"),
        "opt_start_seq" => replace("a consumer's start sequence cannot change"),
        "opt_start_time" => replace("a consumer's start time cannot change"),
        "ack_policy" => replace("a consumer's ack policy cannot change"),
        "replay_policy" => replace("a consumer's replay policy cannot change"),
        "idle_heartbeat" => replace("a consumer's idle heartbeat cannot change"),
        "flow_control" => replace("flow control cannot be turned on or off in place"),
        "max_waiting" => replace("a pull consumer's max waiting cannot change"),
        "mem_storage" => replace("a consumer's state cannot move between memory and file"),
        "deliver_subject" => match (unset(before), unset(after)) {
            (true, false) => replace("a pull consumer cannot become a push consumer"),
            (false, true) => replace("a push consumer cannot become a pull consumer"),
            _ => Mutability::Editable,
        },
        _ => Mutability::Editable,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const STREAM: AssetKind = AssetKind::Stream;
    const KV: AssetKind = AssetKind::KeyValue;
    const OBJECTS: AssetKind = AssetKind::ObjectStore;
    const CONSUMER: AssetKind = AssetKind::Consumer;

    fn v(text: &str) -> ServerVersion {
        ServerVersion::parse(text).unwrap()
    }

    fn newest() -> ServerVersion {
        v("2.15.1")
    }

    fn check(kind: AssetKind, field: &str, before: Value, after: Value) -> Mutability {
        change_mutability(kind, field, &before, &after, &newest())
    }

    fn check_on(
        server: &str,
        kind: AssetKind,
        field: &str,
        before: Value,
        after: Value,
    ) -> Mutability {
        change_mutability(kind, field, &before, &after, &v(server))
    }

    fn reason(mutability: Mutability) -> String {
        match mutability {
            Mutability::ForcesReplacement { reason } => reason,
            Mutability::Editable => panic!("expected a replacement, got Editable"),
        }
    }

    #[test]
    fn changing_stream_storage_forces_replacement() {
        assert_eq!(
            reason(check(STREAM, "storage", json!("file"), json!("memory"))),
            "nats-server cannot change storage in place"
        );
    }

    #[test]
    fn unchanged_stream_storage_is_editable() {
        assert_eq!(
            check(STREAM, "storage", json!("memory"), json!("memory")),
            Mutability::Editable
        );
    }

    #[test]
    fn retention_to_or_from_workqueue_forces_replacement() {
        for (before, after) in [("limits", "workqueue"), ("workqueue", "interest")] {
            assert_eq!(
                reason(check(STREAM, "retention", json!(before), json!(after))),
                "retention cannot change to or from workqueue"
            );
        }
    }

    #[test]
    fn retention_between_limits_and_interest_is_editable_from_2_10() {
        assert_eq!(
            check_on(
                "2.10.0",
                STREAM,
                "retention",
                json!("limits"),
                json!("interest")
            ),
            Mutability::Editable
        );
        assert_eq!(
            reason(check_on(
                "2.9.25",
                STREAM,
                "retention",
                json!("interest"),
                json!("limits")
            )),
            "nats-server before 2.10 cannot change retention in place"
        );
    }

    #[test]
    fn adding_a_mirror_forces_replacement() {
        assert_eq!(
            reason(check(STREAM, "mirror", Value::Null, json!({"name": "O"}))),
            "a mirror cannot be added to an existing stream"
        );
    }

    #[test]
    fn changing_a_mirror_forces_replacement() {
        assert_eq!(
            reason(check(
                STREAM,
                "mirror",
                json!({"name": "O"}),
                json!({"name": "O", "filter_subject": "x"})
            )),
            "a mirror's configuration cannot change"
        );
    }

    #[test]
    fn removing_a_mirror_is_editable_from_2_12_and_forces_replacement_before() {
        let mirror = json!({"name": "O"});
        assert_eq!(
            check_on("2.12.0", STREAM, "mirror", mirror.clone(), Value::Null),
            Mutability::Editable
        );
        assert_eq!(
            reason(check_on("2.11.9", KV, "mirror", mirror, Value::Null)),
            "nats-server before 2.12 cannot remove a mirror (promote it) in place"
        );
    }

    #[test]
    fn changing_persist_mode_forces_replacement() {
        assert!(
            check(STREAM, "persist_mode", json!("default"), json!("async")).forces_replacement()
        );
        assert!(
            check(STREAM, "persist_mode", json!("async"), json!("default")).forces_replacement()
        );
        assert_eq!(
            check(STREAM, "persist_mode", json!("async"), json!("async")),
            Mutability::Editable
        );
    }

    #[test]
    fn turning_the_message_counter_on_or_off_forces_replacement() {
        assert!(check(STREAM, "allow_msg_counter", json!(false), json!(true)).forces_replacement());
        assert!(check(STREAM, "allow_msg_counter", json!(true), json!(false)).forces_replacement());
        assert_eq!(
            check(STREAM, "allow_msg_counter", json!(false), Value::Null),
            Mutability::Editable
        );
    }

    #[test]
    fn changing_the_first_sequence_forces_replacement() {
        assert_eq!(
            reason(check(STREAM, "first_seq", json!(100), json!(500))),
            "the first sequence only takes effect when the stream is created"
        );
        assert_eq!(
            check(STREAM, "first_seq", json!(0), Value::Null),
            Mutability::Editable
        );
    }

    #[test]
    fn unsealing_a_stream_forces_replacement() {
        assert_eq!(
            reason(check(STREAM, "sealed", json!(true), json!(false))),
            "a sealed stream cannot be unsealed"
        );
    }

    #[test]
    fn sealing_a_stream_is_editable() {
        assert_eq!(
            check(STREAM, "sealed", json!(false), json!(true)),
            Mutability::Editable
        );
    }

    #[test]
    fn turning_deny_delete_or_deny_purge_off_forces_replacement() {
        assert!(check(STREAM, "deny_delete", json!(true), json!(false)).forces_replacement());
        assert!(check(KV, "deny_delete", json!(true), Value::Null).forces_replacement());
        assert_eq!(
            reason(check(STREAM, "deny_purge", json!(true), json!(false))),
            "deny purge cannot be turned off once on"
        );
    }

    #[test]
    fn turning_deny_delete_or_deny_purge_on_is_editable() {
        assert_eq!(
            check(STREAM, "deny_delete", json!(false), json!(true)),
            Mutability::Editable
        );
        assert_eq!(
            check(STREAM, "deny_purge", Value::Null, json!(true)),
            Mutability::Editable
        );
    }

    #[test]
    fn turning_message_ttls_off_forces_replacement() {
        assert_eq!(
            reason(check(STREAM, "allow_msg_ttl", json!(true), json!(false))),
            "per-message TTLs cannot be turned off once on"
        );
    }

    #[test]
    fn turning_message_ttls_on_is_editable_from_2_11_2() {
        assert_eq!(
            check_on("2.11.2", STREAM, "allow_msg_ttl", json!(false), json!(true)),
            Mutability::Editable
        );
        assert_eq!(
            reason(check_on(
                "2.11.1",
                KV,
                "allow_msg_ttl",
                json!(false),
                json!(true)
            )),
            "nats-server before 2.11.2 cannot turn on per-message TTLs in place"
        );
    }

    #[test]
    fn turning_message_schedules_off_forces_replacement() {
        assert_eq!(
            reason(check(
                STREAM,
                "allow_msg_schedules",
                json!(true),
                json!(false)
            )),
            "message schedules cannot be turned off once on"
        );
    }

    #[test]
    fn turning_message_schedules_on_is_editable() {
        assert_eq!(
            check(STREAM, "allow_msg_schedules", json!(false), json!(true)),
            Mutability::Editable
        );
    }

    #[test]
    fn changing_max_consumers_is_editable_from_2_12_5_and_forces_replacement_before() {
        assert_eq!(
            check_on("2.12.5", STREAM, "max_consumers", json!(-1), json!(10)),
            Mutability::Editable
        );
        assert_eq!(
            reason(check_on(
                "2.10.26",
                STREAM,
                "max_consumers",
                json!(10),
                json!(20)
            )),
            "nats-server before 2.12.5 cannot change max consumers in place"
        );
    }

    #[test]
    fn changing_a_stream_name_forces_replacement() {
        assert!(check(STREAM, "name", json!("A"), json!("B")).forces_replacement());
    }

    #[test]
    fn ordinary_stream_fields_are_editable() {
        let cases = [
            ("description", json!(""), json!("new")),
            ("subjects", json!(["a"]), json!(["a", "b"])),
            ("max_age", json!(0), json!(3_600_000_000_000u64)),
            ("max_msgs", json!(-1), json!(10)),
            ("max_bytes", json!(-1), json!(1024)),
            ("max_msgs_per_subject", json!(1), json!(5)),
            ("discard", json!("old"), json!("new")),
            (
                "duplicate_window",
                json!(120_000_000_000u64),
                json!(1_000_000_000u64),
            ),
            ("allow_rollup_hdrs", json!(true), json!(false)),
            ("allow_direct", json!(false), json!(true)),
            ("compression", json!("none"), json!("s2")),
            ("sources", json!([]), json!([{"name": "O"}])),
            (
                "subject_transform",
                Value::Null,
                json!({"src": ">", "dest": "x.>"}),
            ),
            (
                "consumer_limits",
                Value::Null,
                json!({"max_ack_pending": 5}),
            ),
            ("metadata", json!({}), json!({"a": "b"})),
            ("republish", Value::Null, json!({"src": ">", "dest": "x.>"})),
            (
                "subject_delete_marker_ttl",
                json!(0),
                json!(1_000_000_000u64),
            ),
            ("allow_atomic", json!(true), json!(false)),
            ("allow_batched", json!(false), json!(true)),
            ("num_replicas", json!(1), json!(3)),
        ];
        for (field, before, after) in cases {
            assert_eq!(
                check(STREAM, field, before, after),
                Mutability::Editable,
                "{field}"
            );
        }
    }

    #[test]
    fn kv_history_ttl_and_value_size_are_editable() {
        for field in [
            "max_msgs_per_subject",
            "max_age",
            "max_msg_size",
            "max_bytes",
        ] {
            assert_eq!(
                check(KV, field, json!(1), json!(5)),
                Mutability::Editable,
                "{field}"
            );
        }
    }

    #[test]
    fn kv_and_object_store_storage_changes_force_replacement() {
        assert!(check(KV, "storage", json!("file"), json!("memory")).forces_replacement());
        assert!(check(OBJECTS, "storage", json!("memory"), json!("file")).forces_replacement());
    }

    #[test]
    fn object_store_ttl_and_compression_are_editable() {
        assert_eq!(
            check(OBJECTS, "max_age", json!(0), json!(60)),
            Mutability::Editable
        );
        assert_eq!(
            check(OBJECTS, "compression", json!("none"), json!("s2")),
            Mutability::Editable
        );
    }

    #[test]
    fn consumer_fields_fixed_at_creation_force_replacement() {
        let cases = [
            ("deliver_policy", json!("all"), json!("new")),
            ("opt_start_seq", json!(1), json!(5)),
            ("opt_start_time", Value::Null, json!("2024-01-01T00:00:00Z")),
            ("ack_policy", json!("explicit"), json!("none")),
            ("replay_policy", json!("instant"), json!("original")),
            (
                "idle_heartbeat",
                json!(5_000_000_000u64),
                json!(10_000_000_000u64),
            ),
            ("flow_control", Value::Null, json!(true)),
            ("max_waiting", json!(512), json!(100)),
            ("mem_storage", Value::Null, json!(true)),
            ("durable_name", json!("a"), json!("b")),
        ];
        for (field, before, after) in cases {
            assert!(
                check(CONSUMER, field, before, after).forces_replacement(),
                "{field}"
            );
        }
        assert_eq!(
            reason(check(
                CONSUMER,
                "ack_policy",
                json!("explicit"),
                json!("all")
            )),
            "a consumer's ack policy cannot change"
        );
    }

    #[test]
    fn consumer_fields_fixed_at_creation_are_editable_when_unchanged() {
        assert_eq!(
            check(CONSUMER, "ack_policy", json!("explicit"), json!("explicit")),
            Mutability::Editable
        );
        assert_eq!(
            check(CONSUMER, "flow_control", Value::Null, json!(false)),
            Mutability::Editable
        );
    }

    #[test]
    fn turning_a_pull_consumer_into_a_push_consumer_forces_replacement() {
        assert_eq!(
            reason(check(
                CONSUMER,
                "deliver_subject",
                Value::Null,
                json!("out")
            )),
            "a pull consumer cannot become a push consumer"
        );
        assert_eq!(
            reason(check(
                CONSUMER,
                "deliver_subject",
                json!("out"),
                Value::Null
            )),
            "a push consumer cannot become a pull consumer"
        );
    }

    #[test]
    fn moving_a_push_consumer_to_another_deliver_subject_is_editable() {
        assert_eq!(
            check(CONSUMER, "deliver_subject", json!("out.a"), json!("out.b")),
            Mutability::Editable
        );
    }

    #[test]
    fn consumer_priority_groups_policy_and_timeout_are_editable() {
        let cases = [
            ("priority_groups", json!(["a"]), json!(["a", "b"])),
            ("priority_policy", json!("overflow"), json!("pinned_client")),
            ("priority_policy", json!("none"), json!("overflow")),
            (
                "priority_timeout",
                json!(120_000_000_000u64),
                json!(60_000_000_000u64),
            ),
        ];
        for (field, before, after) in cases {
            assert_eq!(
                check(CONSUMER, field, before, after),
                Mutability::Editable,
                "{field}"
            );
        }
    }

    #[test]
    fn ordinary_consumer_fields_are_editable() {
        let cases = [
            ("description", Value::Null, json!("x")),
            (
                "ack_wait",
                json!(30_000_000_000u64),
                json!(10_000_000_000u64),
            ),
            ("max_deliver", json!(-1), json!(5)),
            ("backoff", Value::Null, json!([1_000_000_000u64])),
            ("filter_subject", Value::Null, json!("a")),
            ("filter_subjects", json!([]), json!(["a", "b"])),
            ("max_ack_pending", json!(1000), json!(10)),
            ("inactive_threshold", Value::Null, json!(1_000_000_000u64)),
            ("metadata", json!({}), json!({"a": "b"})),
            ("deliver_group", Value::Null, json!("workers")),
            ("headers_only", Value::Null, json!(true)),
            ("max_batch", Value::Null, json!(10)),
        ];
        for (field, before, after) in cases {
            assert_eq!(
                check(CONSUMER, field, before, after),
                Mutability::Editable,
                "{field}"
            );
        }
    }

    #[test]
    fn stream_rules_do_not_apply_to_consumers_of_the_same_field_name() {
        assert_eq!(
            check(CONSUMER, "metadata", json!({"a": "b"}), json!({})),
            Mutability::Editable
        );
        assert_eq!(
            check(STREAM, "ack_policy", json!("explicit"), json!("none")),
            Mutability::Editable
        );
    }

    #[test]
    fn mutability_reports_its_reason() {
        let replace = check(STREAM, "storage", json!("file"), json!("memory"));
        assert!(replace.forces_replacement());
        assert_eq!(
            replace.reason(),
            Some("nats-server cannot change storage in place")
        );
        assert_eq!(Mutability::Editable.reason(), None);
        assert!(!Mutability::Editable.forces_replacement());
    }
}
