//! The spec field a user wrote for a JetStream JSON field, so plans and
//! errors speak the manifest's language (`replicas`, `history`, `ttl`)
//! rather than the server's (`num_replicas`, `max_msgs_per_subject`,
//! `max_age`).

use super::model::AssetKind;

/// Top-level stream fields whose spec name is not their camelCase form.
const STREAM: [(&str, &str); 3] = [
    ("num_replicas", "replicas"),
    ("allow_rollup_hdrs", "allowRollupHeaders"),
    ("first_seq", "firstSequence"),
];

/// Top-level consumer fields whose spec name is not their camelCase form.
const CONSUMER: [(&str, &str); 3] = [
    ("num_replicas", "replicas"),
    ("mem_storage", "memoryStorage"),
    ("durable_name", "name"),
];

/// Backing-stream fields of a KV bucket and the bucket setting they hold.
const KEY_VALUE: [(&str, &str); 5] = [
    ("num_replicas", "replicas"),
    ("max_msgs_per_subject", "history"),
    ("max_age", "ttl"),
    ("max_msg_size", "maxValueSize"),
    ("subject_delete_marker_ttl", "limitMarkerTtl"),
];

/// Backing-stream fields of an object store and the store setting they hold.
const OBJECT_STORE: [(&str, &str); 2] = [("num_replicas", "replicas"), ("max_age", "ttl")];

/// The spec field for a JSON (wire) field of `kind`: `num_replicas` →
/// `replicas`, `allow_rollup_hdrs` → `allowRollupHeaders`, for a KV bucket
/// `max_msgs_per_subject` → `history`, otherwise the camelCase form
/// (`max_msgs_per_subject` → `maxMsgsPerSubject`). Nested paths are mapped
/// segment by segment, keeping indexes: `sources[0].opt_start_seq` →
/// `sources[0].optStartSeq`, `republish.src` → `republish.source`.
pub fn spec_field(kind: AssetKind, json_field: &str) -> String {
    let mut parent: Option<&str> = None;
    let mut mapped = Vec::new();
    for segment in json_field.split('.') {
        let (name, index) = match segment.find('[') {
            Some(at) => segment.split_at(at),
            None => (segment, ""),
        };
        let spec = match parent {
            None => top_level(kind, name),
            Some(parent) => nested(parent, name),
        };
        mapped.push(format!("{spec}{index}"));
        parent = Some(name);
    }
    mapped.join(".")
}

fn top_level(kind: AssetKind, name: &str) -> String {
    let table: &[(&str, &str)] = match kind {
        AssetKind::Stream => &STREAM,
        AssetKind::Consumer => &CONSUMER,
        AssetKind::KeyValue => &KEY_VALUE,
        AssetKind::ObjectStore => &OBJECT_STORE,
    };
    table
        .iter()
        .find(|(json, _)| *json == name)
        .map(|(_, spec)| spec.to_string())
        .unwrap_or_else(|| camel_case(name))
}

/// Nested fields named differently in specs: transforms' and republish's
/// `src`/`dest`, an external stream's `api`/`deliver`. Metadata keys are the
/// user's own and stay as written.
fn nested(parent: &str, name: &str) -> String {
    if parent == "metadata" {
        return name.to_string();
    }
    let renamed = match (parent, name) {
        ("subject_transform" | "subject_transforms" | "republish", "src") => Some("source"),
        ("subject_transform" | "subject_transforms" | "republish", "dest") => Some("destination"),
        ("external", "api") => Some("apiPrefix"),
        ("external", "deliver") => Some("deliverPrefix"),
        _ => None,
    };
    renamed
        .map(str::to_string)
        .unwrap_or_else(|| camel_case(name))
}

/// `max_msgs_per_subject` → `maxMsgsPerSubject`.
/// `snake_case` as `camelCase`: field names, and enum values as specs spell
/// them (`flow_control` → `flowControl`).
pub fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_fields_map_to_their_spec_names() {
        let cases = [
            ("num_replicas", "replicas"),
            ("allow_rollup_hdrs", "allowRollupHeaders"),
            ("first_seq", "firstSequence"),
            ("max_msgs_per_subject", "maxMsgsPerSubject"),
            ("discard_new_per_subject", "discardNewPerSubject"),
            ("allow_msg_ttl", "allowMsgTtl"),
            ("subject_delete_marker_ttl", "subjectDeleteMarkerTtl"),
            ("max_age", "maxAge"),
            ("storage", "storage"),
            ("persist_mode", "persistMode"),
            ("consumer_limits", "consumerLimits"),
        ];
        for (json, spec) in cases {
            assert_eq!(spec_field(AssetKind::Stream, json), spec, "{json}");
        }
    }

    #[test]
    fn consumer_fields_map_to_their_spec_names() {
        let cases = [
            ("mem_storage", "memoryStorage"),
            ("num_replicas", "replicas"),
            ("durable_name", "name"),
            ("name", "name"),
            ("deliver_policy", "deliverPolicy"),
            ("opt_start_seq", "optStartSeq"),
            ("rate_limit_bps", "rateLimitBps"),
            ("sample_freq", "sampleFreq"),
            ("idle_heartbeat", "idleHeartbeat"),
            ("priority_timeout", "priorityTimeout"),
        ];
        for (json, spec) in cases {
            assert_eq!(spec_field(AssetKind::Consumer, json), spec, "{json}");
        }
    }

    #[test]
    fn kv_backing_stream_fields_map_to_bucket_settings() {
        let cases = [
            ("max_msgs_per_subject", "history"),
            ("max_age", "ttl"),
            ("max_msg_size", "maxValueSize"),
            ("subject_delete_marker_ttl", "limitMarkerTtl"),
            ("allow_msg_ttl", "allowMsgTtl"),
            ("compression", "compression"),
            ("num_replicas", "replicas"),
            ("max_bytes", "maxBytes"),
            ("storage", "storage"),
        ];
        for (json, spec) in cases {
            assert_eq!(spec_field(AssetKind::KeyValue, json), spec, "{json}");
        }
    }

    #[test]
    fn object_store_backing_stream_fields_map_to_store_settings() {
        assert_eq!(spec_field(AssetKind::ObjectStore, "max_age"), "ttl");
        assert_eq!(
            spec_field(AssetKind::ObjectStore, "num_replicas"),
            "replicas"
        );
        assert_eq!(spec_field(AssetKind::ObjectStore, "max_bytes"), "maxBytes");
        assert_eq!(
            spec_field(AssetKind::ObjectStore, "compression"),
            "compression"
        );
    }

    #[test]
    fn only_kv_buckets_call_max_age_ttl() {
        assert_eq!(spec_field(AssetKind::Stream, "max_age"), "maxAge");
        assert_eq!(spec_field(AssetKind::KeyValue, "max_age"), "ttl");
    }

    #[test]
    fn nested_fields_are_mapped_segment_by_segment_keeping_indexes() {
        let cases = [
            ("sources[0].consumer", "sources[0].consumer"),
            ("sources[2].opt_start_seq", "sources[2].optStartSeq"),
            (
                "mirror.consumer.deliver_subject",
                "mirror.consumer.deliverSubject",
            ),
            ("mirror.external.api", "mirror.external.apiPrefix"),
            (
                "sources[1].external.deliver",
                "sources[1].external.deliverPrefix",
            ),
            (
                "sources[0].subject_transforms[1].dest",
                "sources[0].subjectTransforms[1].destination",
            ),
            ("subject_transform.src", "subjectTransform.source"),
            ("republish.headers_only", "republish.headersOnly"),
            ("republish.dest", "republish.destination"),
            (
                "consumer_limits.max_ack_pending",
                "consumerLimits.maxAckPending",
            ),
        ];
        for (json, spec) in cases {
            assert_eq!(spec_field(AssetKind::Stream, json), spec, "{json}");
        }
    }

    #[test]
    fn a_nested_field_named_like_a_top_level_one_keeps_its_camel_case_name() {
        assert_eq!(
            spec_field(AssetKind::KeyValue, "mirror.name"),
            "mirror.name"
        );
        assert_eq!(
            spec_field(AssetKind::KeyValue, "sources[0].max_age"),
            "sources[0].maxAge"
        );
    }

    #[test]
    fn metadata_keys_are_kept_as_the_user_wrote_them() {
        assert_eq!(
            spec_field(AssetKind::Consumer, "metadata.team_name"),
            "metadata.team_name"
        );
    }

    #[test]
    fn unknown_fields_fall_back_to_camel_case() {
        assert_eq!(
            spec_field(AssetKind::Stream, "some_future_field"),
            "someFutureField"
        );
        assert_eq!(spec_field(AssetKind::Stream, "_odd__name_"), "oddName");
        assert_eq!(spec_field(AssetKind::Stream, ""), "");
    }
}
