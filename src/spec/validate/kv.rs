//! The rules of a `KeyValue` bucket.

use super::*;
use crate::spec::kv::KeyValueSpec;
use crate::spec::names;

impl Checker {
    pub(super) fn key_value(&mut self, object_name: &str, spec: &KeyValueSpec) {
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
}
