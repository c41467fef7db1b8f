//! What a given nats-server version knows: which config fields it accepts
//! and which in-place changes it performs. Older servers either drop fields
//! they do not know (before 2.12) or refuse the whole request (2.12 on), so
//! jetsync reports such fields instead of sending them.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::fields::{camel_case, spec_field};
use super::model::AssetKind;

/// A nats-server release, `major.minor.patch`. Pre-release and build
/// suffixes (`-dev`, `-beta.1`, `-RC.2`, `+abc`) are ignored: a 2.12.0
/// pre-release already has 2.12's fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

/// A string that is not a nats-server version.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a nats-server version: {0:?} (expected e.g. 2.10.26)")]
pub struct ParseVersionError(pub String);

impl ServerVersion {
    /// The version `major.minor.patch`.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// Parses `2.10.26`, `v2.10.26`, `2.11.0-dev`, `2.12.0-beta.1` or `2.10`
    /// (patch 0).
    pub fn parse(text: &str) -> Result<Self, ParseVersionError> {
        let error = || ParseVersionError(text.to_string());
        let trimmed = text.trim();
        let trimmed = trimmed
            .strip_prefix('v')
            .or_else(|| trimmed.strip_prefix('V'))
            .unwrap_or(trimmed);
        let core = trimmed
            .split(['-', '+'])
            .next()
            .filter(|core| !core.is_empty())
            .ok_or_else(error)?;
        let parts: Vec<&str> = core.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(error());
        }
        let number = |part: &str| -> Result<u32, ParseVersionError> {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error());
            }
            part.parse().map_err(|_| error())
        };
        Ok(Self {
            major: number(parts[0])?,
            minor: number(parts[1])?,
            patch: parts.get(2).map(|p| number(p)).transpose()?.unwrap_or(0),
        })
    }

    /// `2.11` for `2.11.0`, `2.11.2` otherwise: how versions read in messages.
    pub fn short(&self) -> String {
        if self.patch == 0 {
            format!("{}.{}", self.major, self.minor)
        } else {
            self.to_string()
        }
    }
}

impl FromStr for ServerVersion {
    type Err = ParseVersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

const V2_9: ServerVersion = ServerVersion::new(2, 9, 0);
const V2_9_1: ServerVersion = ServerVersion::new(2, 9, 1);
const V2_10: ServerVersion = ServerVersion::new(2, 10, 0);
const V2_11: ServerVersion = ServerVersion::new(2, 11, 0);
const V2_11_2: ServerVersion = ServerVersion::new(2, 11, 2);
const V2_12: ServerVersion = ServerVersion::new(2, 12, 0);
const V2_12_5: ServerVersion = ServerVersion::new(2, 12, 5);
const V2_14: ServerVersion = ServerVersion::new(2, 14, 0);

/// Top-level stream config fields newer than nats-server 2.8, with the
/// release that introduced them. Applies to KV and object-store backing
/// streams too.
const STREAM_FIELDS: [(&str, ServerVersion); 16] = [
    ("republish", V2_9),
    ("allow_direct", V2_9),
    ("mirror_direct", V2_9),
    ("discard_new_per_subject", V2_9_1),
    ("compression", V2_10),
    ("first_seq", V2_10),
    ("subject_transform", V2_10),
    ("consumer_limits", V2_10),
    ("metadata", V2_10),
    ("allow_msg_ttl", V2_11),
    ("subject_delete_marker_ttl", V2_11),
    ("allow_msg_counter", V2_12),
    ("allow_atomic", V2_12),
    ("allow_msg_schedules", V2_12),
    ("persist_mode", V2_12),
    ("allow_batched", V2_14),
];

/// Fields of a `mirror` or `sources[]` entry newer than nats-server 2.8.
const SOURCE_FIELDS: [(&str, ServerVersion); 2] =
    [("subject_transforms", V2_10), ("consumer", V2_14)];

/// Consumer config fields newer than nats-server 2.9.
const CONSUMER_FIELDS: [(&str, ServerVersion); 6] = [
    ("metadata", V2_10),
    ("filter_subjects", V2_10),
    ("priority_groups", V2_11),
    ("priority_policy", V2_11),
    ("priority_timeout", V2_11),
    ("pause_until", V2_11),
];

/// Values newer than the field that holds them: (field, value, since).
const CONSUMER_VALUES: [(&str, &str, ServerVersion); 2] = [
    ("priority_policy", "prioritized", V2_12),
    ("ack_policy", "flow_control", V2_14),
];

/// A field (or a value of a field) in a config that the server is too old for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// The JSON field, dotted and indexed when nested: `allow_msg_ttl`,
    /// `sources[0].consumer`, `mirror.subject_transforms`.
    pub json_field: String,
    /// The first nats-server release that knows it.
    pub since: ServerVersion,
    /// Set when the field is known but this value of it is newer, e.g.
    /// `prioritized` for `priority_policy`.
    pub value: Option<String>,
}

impl Unsupported {
    /// A user-facing sentence naming the spec field, e.g.
    /// "allowMsgTtl needs nats-server 2.11".
    pub fn message(&self, kind: AssetKind) -> String {
        let field = spec_field(kind, &self.json_field);
        match &self.value {
            Some(value) => format!(
                "{field}: {} needs nats-server {}",
                camel_case(value),
                self.since.short()
            ),
            None => format!("{field} needs nats-server {}", self.since.short()),
        }
    }
}

/// Whether `server` knows every field and value jetsync may send: then no
/// config needs [`unsupported_fields`].
pub fn knows_every_field(server: &ServerVersion) -> bool {
    let newest = STREAM_FIELDS
        .iter()
        .chain(&SOURCE_FIELDS)
        .chain(&CONSUMER_FIELDS)
        .map(|(_, since)| since)
        .chain(CONSUMER_VALUES.iter().map(|(_, _, since)| since))
        .max();
    newest.is_none_or(|newest| server >= newest)
}

/// Every field set in `config` (a wire config as built by
/// [`super::wire`], not a normalised one) that `server` does not know,
/// top-level and nested, in config order. A field counts as set when it is
/// present, whatever its value: a strict server (2.12+) refuses the name
/// itself, even as `false`. KV buckets and object stores are checked as
/// their backing streams.
pub fn unsupported_fields(
    kind: AssetKind,
    config: &Value,
    server: &ServerVersion,
) -> Vec<Unsupported> {
    let Some(map) = config.as_object() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut check = |path: String, since: ServerVersion, value: Option<&str>| {
        if *server < since {
            found.push(Unsupported {
                json_field: path,
                since,
                value: value.map(str::to_string),
            });
        }
    };
    match kind {
        AssetKind::Stream | AssetKind::KeyValue | AssetKind::ObjectStore => {
            // A KV bucket's limit markers imply per-message TTLs: one
            // error names limitMarkerTtl, not also allowMsgTtl.
            let implied = |field: &str| {
                kind == AssetKind::KeyValue
                    && field == "allow_msg_ttl"
                    && map.contains_key("subject_delete_marker_ttl")
            };
            for (field, since) in STREAM_FIELDS {
                if map.contains_key(field) && !implied(field) {
                    check(field.to_string(), since, None);
                }
            }
            let mut source = |prefix: String, source: &Value| {
                for (field, since) in SOURCE_FIELDS {
                    if source.get(field).is_some() {
                        check(format!("{prefix}.{field}"), since, None);
                    }
                }
            };
            if let Some(mirror) = map.get("mirror").filter(|m| m.is_object()) {
                source("mirror".to_string(), mirror);
            }
            if let Some(sources) = map.get("sources").and_then(Value::as_array) {
                for (index, origin) in sources.iter().enumerate() {
                    source(format!("sources[{index}]"), origin);
                }
            }
        }
        AssetKind::Consumer => {
            for (field, since) in CONSUMER_FIELDS {
                if map.contains_key(field) {
                    check(field.to_string(), since, None);
                }
            }
            for (field, value, since) in CONSUMER_VALUES {
                let field_known = CONSUMER_FIELDS
                    .iter()
                    .all(|(newer, since)| *newer != field || server >= since);
                if field_known && map.get(field).and_then(Value::as_str) == Some(value) {
                    check(field.to_string(), since, Some(value));
                }
            }
        }
    }
    found
}

/// The oldest server that changes `json_field` of an existing asset in
/// place, for the fields whose in-place change came later than the field:
/// `max_consumers` (2.12.5), removing a `mirror` to promote the stream
/// (2.12), `retention` between limits and interest (2.10), turning
/// `allow_msg_ttl` on (2.11.2) and `republish` (2.10). `None` when the
/// change is as old as the field (or is never possible: see
/// [`super::mutability`]).
pub fn min_version_for_update(kind: AssetKind, json_field: &str) -> Option<ServerVersion> {
    match kind {
        AssetKind::Stream | AssetKind::KeyValue | AssetKind::ObjectStore => match json_field {
            "max_consumers" => Some(V2_12_5),
            "mirror" => Some(V2_12),
            "retention" => Some(V2_10),
            "allow_msg_ttl" => Some(V2_11_2),
            "republish" => Some(V2_10),
            _ => None,
        },
        AssetKind::Consumer => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn v(text: &str) -> ServerVersion {
        ServerVersion::parse(text).unwrap()
    }

    fn fields(found: &[Unsupported]) -> Vec<&str> {
        found.iter().map(|u| u.json_field.as_str()).collect()
    }

    #[test]
    fn a_plain_version_parses_into_its_three_numbers() {
        assert_eq!(v("2.10.26"), ServerVersion::new(2, 10, 26));
    }

    #[test]
    fn a_v_prefix_and_pre_release_suffixes_are_ignored() {
        assert_eq!(v("v2.10.26"), ServerVersion::new(2, 10, 26));
        assert_eq!(v("2.11.0-dev"), ServerVersion::new(2, 11, 0));
        assert_eq!(v("v2.12.0-beta.1"), ServerVersion::new(2, 12, 0));
        assert_eq!(v("2.12.4-RC.6"), ServerVersion::new(2, 12, 4));
        assert_eq!(v("2.14.0+build.7"), ServerVersion::new(2, 14, 0));
        assert_eq!(v(" 2.10 "), ServerVersion::new(2, 10, 0));
    }

    #[test]
    fn text_that_is_not_a_version_is_an_error() {
        for text in ["", "v", "2", "2.x.1", "2.10.26.1", "latest", "2..1", "-dev"] {
            assert!(ServerVersion::parse(text).is_err(), "{text:?} parsed");
        }
        assert_eq!(
            ServerVersion::parse("nope").unwrap_err().to_string(),
            "not a nats-server version: \"nope\" (expected e.g. 2.10.26)"
        );
    }

    #[test]
    fn versions_order_by_major_then_minor_then_patch() {
        assert!(v("2.10.26") < v("2.11.0"));
        assert!(v("2.9.25") < v("2.10.0"));
        assert!(v("2.12.4") < v("2.12.5"));
        assert!(v("3.0.0") > v("2.99.99"));
        assert_eq!("2.11.2".parse::<ServerVersion>().unwrap(), v("v2.11.2"));
    }

    #[test]
    fn versions_display_as_three_numbers_and_shorten_a_zero_patch() {
        assert_eq!(v("v2.10.26-dev").to_string(), "2.10.26");
        assert_eq!(v("2.11").to_string(), "2.11.0");
        assert_eq!(v("2.11.0").short(), "2.11");
        assert_eq!(v("2.11.2").short(), "2.11.2");
    }

    #[test]
    fn every_stream_field_newer_than_the_server_is_reported_with_its_release() {
        let config = json!({
            "name": "S", "subjects": ["s.>"], "compression": "s2", "first_seq": 5,
            "subject_transform": {"src": ">", "dest": "x.>"},
            "consumer_limits": {"max_ack_pending": 5}, "metadata": {"a": "b"},
            "allow_msg_ttl": true, "subject_delete_marker_ttl": 1_000_000_000u64,
            "allow_msg_counter": false, "allow_atomic": true, "allow_msg_schedules": true,
            "persist_mode": "default", "allow_batched": true,
        });
        let found = unsupported_fields(AssetKind::Stream, &config, &v("2.9.25"));
        assert_eq!(
            fields(&found),
            [
                "compression",
                "first_seq",
                "subject_transform",
                "consumer_limits",
                "metadata",
                "allow_msg_ttl",
                "subject_delete_marker_ttl",
                "allow_msg_counter",
                "allow_atomic",
                "allow_msg_schedules",
                "persist_mode",
                "allow_batched",
            ]
        );
        let since = |field: &str| found.iter().find(|u| u.json_field == field).unwrap().since;
        assert_eq!(since("metadata"), v("2.10.0"));
        assert_eq!(since("subject_delete_marker_ttl"), v("2.11.0"));
        assert_eq!(since("persist_mode"), v("2.12.0"));
        assert_eq!(since("allow_batched"), v("2.14.0"));

        let on_2_10 = unsupported_fields(AssetKind::Stream, &config, &v("2.10.26"));
        assert_eq!(fields(&on_2_10)[0], "allow_msg_ttl");
        let on_2_12 = unsupported_fields(AssetKind::Stream, &config, &v("2.12.15"));
        assert_eq!(fields(&on_2_12), ["allow_batched"]);
        assert!(unsupported_fields(AssetKind::Stream, &config, &v("2.14.0")).is_empty());
    }

    #[test]
    fn a_field_set_to_false_still_counts_because_strict_servers_refuse_the_name() {
        let config = json!({"name": "S", "allow_batched": false});
        let found = unsupported_fields(AssetKind::Stream, &config, &v("2.12.0"));
        assert_eq!(fields(&found), ["allow_batched"]);
    }

    #[test]
    fn fields_every_supported_server_knows_are_never_reported() {
        let config = json!({
            "name": "S", "subjects": ["s"], "retention": "limits", "storage": "file",
            "num_replicas": 1, "max_age": 0, "sealed": false, "deny_delete": true,
            "mirror": {"name": "O", "filter_subject": "x"},
            "sources": [{"name": "A", "opt_start_seq": 3}],
        });
        assert!(unsupported_fields(AssetKind::Stream, &config, &v("2.10.0")).is_empty());
    }

    #[test]
    fn a_source_or_mirror_consumer_is_reported_with_its_position() {
        let config = json!({
            "name": "S",
            "mirror": {"name": "M", "consumer": {"name": "c"}},
            "sources": [
                {"name": "A"},
                {"name": "B", "consumer": {"name": "c", "deliver_subject": "d"},
                 "subject_transforms": [{"src": ">", "dest": "b.>"}]},
            ],
        });
        let found = unsupported_fields(AssetKind::Stream, &config, &v("2.12.15"));
        assert_eq!(fields(&found), ["mirror.consumer", "sources[1].consumer"]);
        assert!(found.iter().all(|u| u.since == v("2.14.0")));
        let found = unsupported_fields(AssetKind::Stream, &config, &v("2.9.25"));
        assert!(fields(&found).contains(&"sources[1].subject_transforms"));
        assert!(unsupported_fields(AssetKind::Stream, &config, &v("2.14.0")).is_empty());
    }

    #[test]
    fn a_kv_limit_marker_ttl_and_per_message_ttls_need_2_11_named_as_written() {
        let config = json!({
            "name": "KV_b", "max_msgs_per_subject": 5, "allow_msg_ttl": true,
            "subject_delete_marker_ttl": 10_000_000_000u64,
        });
        let found = unsupported_fields(AssetKind::KeyValue, &config, &v("2.10.26"));
        assert_eq!(fields(&found), ["subject_delete_marker_ttl"]);
        assert!(found.iter().all(|u| u.since == v("2.11.0")));
        assert_eq!(
            found[0].message(AssetKind::KeyValue),
            "limitMarkerTtl needs nats-server 2.11"
        );
        let per_message = json!({"name": "KV_b", "allow_msg_ttl": true});
        let found = unsupported_fields(AssetKind::KeyValue, &per_message, &v("2.10.26"));
        assert_eq!(
            found[0].message(AssetKind::KeyValue),
            "allowMsgTtl needs nats-server 2.11"
        );
        assert!(unsupported_fields(AssetKind::KeyValue, &config, &v("2.11.0")).is_empty());
    }

    #[test]
    fn object_store_compression_needs_2_10() {
        let config = json!({"name": "OBJ_b", "compression": "s2"});
        let found = unsupported_fields(AssetKind::ObjectStore, &config, &v("2.9.25"));
        assert_eq!(fields(&found), ["compression"]);
        assert!(unsupported_fields(AssetKind::ObjectStore, &config, &v("2.10.0")).is_empty());
    }

    #[test]
    fn consumer_priority_fields_and_pause_need_2_11() {
        let config = json!({
            "durable_name": "c", "name": "c", "ack_policy": "explicit",
            "priority_groups": ["jobs"], "priority_policy": "pinned_client",
            "priority_timeout": 1_000_000_000u64, "pause_until": "2030-01-01T00:00:00Z",
            "metadata": {"a": "b"}, "filter_subjects": ["a", "b"],
        });
        let found = unsupported_fields(AssetKind::Consumer, &config, &v("2.10.26"));
        assert_eq!(
            fields(&found),
            [
                "priority_groups",
                "priority_policy",
                "priority_timeout",
                "pause_until"
            ]
        );
        assert_eq!(
            found[0].message(AssetKind::Consumer),
            "priorityGroups needs nats-server 2.11"
        );
        assert!(unsupported_fields(AssetKind::Consumer, &config, &v("2.11.0")).is_empty());
    }

    #[test]
    fn the_prioritized_policy_needs_2_12_though_the_field_is_from_2_11() {
        let config =
            json!({"name": "c", "priority_groups": ["g"], "priority_policy": "prioritized"});
        let found = unsupported_fields(AssetKind::Consumer, &config, &v("2.11.9"));
        assert_eq!(
            found,
            [Unsupported {
                json_field: "priority_policy".into(),
                since: v("2.12.0"),
                value: Some("prioritized".into()),
            }]
        );
        assert_eq!(
            found[0].message(AssetKind::Consumer),
            "priorityPolicy: prioritized needs nats-server 2.12"
        );
        assert!(unsupported_fields(AssetKind::Consumer, &config, &v("2.12.0")).is_empty());
    }

    #[test]
    fn a_field_the_server_does_not_know_at_all_is_reported_once_not_again_for_its_value() {
        let config =
            json!({"name": "c", "priority_groups": ["g"], "priority_policy": "prioritized"});
        let found = unsupported_fields(AssetKind::Consumer, &config, &v("2.10.26"));
        assert_eq!(fields(&found), ["priority_groups", "priority_policy"]);
        assert!(
            found
                .iter()
                .all(|u| u.value.is_none() && u.since == v("2.11.0"))
        );
    }

    #[test]
    fn the_flow_control_ack_policy_needs_2_14() {
        let config = json!({"name": "c", "ack_policy": "flow_control"});
        let found = unsupported_fields(AssetKind::Consumer, &config, &v("2.12.15"));
        assert_eq!(fields(&found), ["ack_policy"]);
        assert_eq!(
            found[0].message(AssetKind::Consumer),
            "ackPolicy: flowControl needs nats-server 2.14"
        );
        assert!(unsupported_fields(AssetKind::Consumer, &config, &v("2.14.0")).is_empty());
    }

    #[test]
    fn a_config_that_is_not_an_object_has_no_unsupported_fields() {
        assert!(unsupported_fields(AssetKind::Stream, &Value::Null, &v("2.10.0")).is_empty());
    }

    #[test]
    fn in_place_changes_newer_than_their_field_name_their_first_release() {
        let update = |kind, field| min_version_for_update(kind, field);
        assert_eq!(
            update(AssetKind::Stream, "max_consumers"),
            Some(v("2.12.5"))
        );
        assert_eq!(update(AssetKind::KeyValue, "mirror"), Some(v("2.12.0")));
        assert_eq!(update(AssetKind::Stream, "retention"), Some(v("2.10.0")));
        assert_eq!(
            update(AssetKind::Stream, "allow_msg_ttl"),
            Some(v("2.11.2"))
        );
        assert_eq!(
            update(AssetKind::ObjectStore, "republish"),
            Some(v("2.10.0"))
        );
        assert_eq!(update(AssetKind::Stream, "max_age"), None);
        assert_eq!(update(AssetKind::Consumer, "max_consumers"), None);
    }

    #[test]
    fn a_server_that_knows_every_field_finds_none_unsupported_in_a_config_with_them_all() {
        let mut stream = serde_json::Map::new();
        for (field, _) in STREAM_FIELDS {
            stream.insert(field.to_string(), Value::from(1));
        }
        let source: serde_json::Map<String, Value> = SOURCE_FIELDS
            .iter()
            .map(|(field, _)| (field.to_string(), Value::from(1)))
            .collect();
        stream.insert("mirror".into(), Value::Object(source));
        let stream = Value::Object(stream);
        let mut consumer = serde_json::Map::new();
        for (field, _) in CONSUMER_FIELDS {
            consumer.insert(field.to_string(), Value::from(1));
        }
        for (field, value, _) in CONSUMER_VALUES {
            consumer.insert(field.to_string(), Value::from(value));
        }
        let consumer = Value::Object(consumer);
        for server in [
            v("2.10.26"),
            v("2.11.0"),
            v("2.12.0"),
            v("2.14.0"),
            v("2.15.1"),
        ] {
            let found = unsupported_fields(AssetKind::Stream, &stream, &server).len()
                + unsupported_fields(AssetKind::Consumer, &consumer, &server).len();
            assert_eq!(knows_every_field(&server), found == 0, "{server}");
        }
        assert!(knows_every_field(&v("2.15.1")));
        assert!(!knows_every_field(&v("2.10.26")));
    }
}
