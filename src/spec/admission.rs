//! What the Kubernetes API server can refuse at admission: OpenAPI patterns
//! and ranges on single fields, and CEL rules (`x-kubernetes-validations`)
//! for the cross-field rules of [`super::validate`] that CEL can express.
//! They are attached to the spec types with `#[schemars(...)]`, so the CRDs
//! and `jetsync schema` carry them. jetsync's validator stays the authority:
//! every document these refuse, it refuses too; it refuses more (durations
//! compared with each other, overlapping subjects, subject mappings, …).
//! Rules iterate unbounded lists only where the API server's CEL cost
//! estimate stays small (`in`, not `exists` with several string tests).

use serde_json::{Value, json};

/// A stream or consumer name: no whitespace, control characters, `.`, `*`,
/// `>`, `\` or `/` ([`super::names::check_stream_name`]).
pub const ASSET_NAME: &str = r"^[^\s.*>\\/\x00-\x1f\x7f]+$";
/// A KV or object store bucket name ([`super::names::check_bucket_name`]).
pub const BUCKET_NAME: &str = r"^[a-zA-Z0-9_-]+$";
/// A Kubernetes object name, DNS-1123 subdomain ([`super::names::check_object_name`]).
pub const OBJECT_NAME: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// A subject that matches (`*` and `>` as whole tokens, `>` last).
pub const FILTER_SUBJECT: &str =
    r"^(>|([^\s.*>\x00-\x1f\x7f]+|\*)(\.([^\s.*>\x00-\x1f\x7f]+|\*))*(\.>)?)$";
/// A subject messages are published to: no wildcards.
pub const PUBLISH_SUBJECT: &str = r"^[^\s.*>\x00-\x1f\x7f]+(\.[^\s.*>\x00-\x1f\x7f]+)*$";
/// A pull consumer's priority group ([`super::names::check_priority_group`]).
pub const PRIORITY_GROUP: &str = r"^[a-zA-Z0-9/_=-]{1,16}$";
/// A JetStream domain: one subject token ([`super::names::check_js_domain`]).
pub const JS_DOMAIN: &str = r"^[^\s.*>\x00-\x1f\x7f]+$";
/// A key of a Secret.
pub const SECRET_KEY: &str = r"^[-._a-zA-Z0-9]+$";
/// A NATS server URL: a known scheme (or none), no credentials, one URL.
pub const SERVER_URL: &str = r"^((?i:nats|tls|ws|wss)://[^\s,@/?#]+|(\[[0-9a-fA-F:.]+\]|[^\s,@/?#:\[\]]+)(:[0-9]+)?)([/?#][^\s,]*)?$";
/// Text with something other than whitespace in it.
pub const NOT_BLANK: &str = r"\S";

/// One CEL rule and the message the API server answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub rule: &'static str,
    pub message: &'static str,
}

const fn rule(rule: &'static str, message: &'static str) -> Rule {
    Rule { rule, message }
}

const MIRROR_WITHOUT_SOURCES: Rule = rule(
    "!has(self.mirror) || !has(self.sources) || size(self.sources) == 0",
    "a mirror cannot also have sources",
);

const MIRROR_DIRECT_NEEDS_A_MIRROR: Rule = rule(
    "!(has(self.mirrorDirect) && self.mirrorDirect) || has(self.mirror)",
    "mirrorDirect: true is only for mirrors",
);

/// Rules of a stream's spec.
pub const STREAM: &[Rule] = &[
    rule(
        "!has(self.maxAge) || self.maxAge.matches('[1-9]')",
        "maxAge is 0s; leave it out to keep messages with no age limit",
    ),
    rule(
        "!has(self.subjectDeleteMarkerTtl) || self.subjectDeleteMarkerTtl.matches('[1-9]')",
        "subjectDeleteMarkerTtl is 0s; leave it out for no delete markers",
    ),
    rule(
        "!has(self.mirror) || !has(self.subjects) || size(self.subjects) == 0",
        "a mirror cannot have subjects: it stores what its origin stores",
    ),
    MIRROR_WITHOUT_SOURCES,
    MIRROR_DIRECT_NEEDS_A_MIRROR,
    rule(
        "!has(self.mirror) || !(has(self.firstSequence) || (has(self.allowMsgCounter) && self.allowMsgCounter) || (has(self.allowMsgSchedules) && self.allowMsgSchedules) || (has(self.allowAtomic) && self.allowAtomic) || (has(self.allowBatched) && self.allowBatched) || (has(self.subjectDeleteMarkerTtl) && self.subjectDeleteMarkerTtl.matches('[1-9]')))",
        "firstSequence, subjectDeleteMarkerTtl, allowMsgCounter, allowMsgSchedules, allowAtomic and allowBatched cannot be set on a mirror",
    ),
    rule(
        "!(has(self.allowRollupHeaders) && self.allowRollupHeaders && has(self.denyPurge) && self.denyPurge)",
        "allowRollupHeaders and denyPurge cannot both be true",
    ),
    rule(
        "!(has(self.subjectDeleteMarkerTtl) && self.subjectDeleteMarkerTtl.matches('[1-9]') && has(self.denyPurge) && self.denyPurge)",
        "subjectDeleteMarkerTtl needs roll-ups, which denyPurge: true forbids",
    ),
    rule(
        "!(has(self.discardNewPerSubject) && self.discardNewPerSubject) || (has(self.discard) && self.discard == 'new' && has(self.maxMsgsPerSubject) && self.maxMsgsPerSubject > 0)",
        "discardNewPerSubject needs discard: new and maxMsgsPerSubject",
    ),
    rule(
        "!has(self.duplicateWindow) || self.duplicateWindow.matches('[1-9]') || has(self.mirror) || (has(self.sources) && size(self.sources) > 0)",
        "duplicateWindow is 0s, which the server replaces with its default (2m)",
    ),
    rule(
        "!(has(self.allowMsgCounter) && self.allowMsgCounter) || ((!has(self.retention) || self.retention == 'limits') && !(has(self.discard) && self.discard == 'new') && !(has(self.allowMsgTtl) && self.allowMsgTtl) && !(has(self.allowMsgSchedules) && self.allowMsgSchedules) && !(has(self.subjectDeleteMarkerTtl) && self.subjectDeleteMarkerTtl.matches('[1-9]')))",
        "counter streams need retention: limits and cannot use discard: new, allowMsgTtl, allowMsgSchedules or subjectDeleteMarkerTtl",
    ),
    rule(
        "!(has(self.allowMsgSchedules) && self.allowMsgSchedules) || ((!has(self.sources) || size(self.sources) == 0) && !(has(self.discard) && self.discard == 'new') && !(has(self.denyPurge) && self.denyPurge))",
        "message schedules cannot be used with sources, discard: new or denyPurge",
    ),
    rule(
        "!has(self.persistMode) || self.persistMode != 'async' || ((!has(self.storage) || self.storage != 'memory') && (!has(self.replicas) || self.replicas <= 1) && !(has(self.allowAtomic) && self.allowAtomic))",
        "persistMode: async is only for unreplicated file storage without allowAtomic",
    ),
    rule(
        "!has(self.subjects) || !('>' in self.subjects) || (has(self.noAck) && self.noAck && (!has(self.replicas) || self.replicas == 1))",
        "capturing every subject with `>` needs noAck: true and replicas: 1",
    ),
];

/// Rules of a KeyValue's spec.
pub const KEY_VALUE: &[Rule] = &[
    rule(
        "!has(self.ttl) || self.ttl.matches('[1-9]')",
        "ttl is 0s; leave it out for values that never expire",
    ),
    rule(
        "!has(self.limitMarkerTtl) || self.limitMarkerTtl.matches('[1-9]')",
        "limitMarkerTtl is 0s; leave it out for no limit markers",
    ),
    MIRROR_WITHOUT_SOURCES,
    MIRROR_DIRECT_NEEDS_A_MIRROR,
];

/// Rules of an ObjectStore's spec.
pub const OBJECT_STORE: &[Rule] = &[rule(
    "!has(self.ttl) || self.ttl.matches('[1-9]')",
    "ttl is 0s; leave it out for objects that never expire",
)];

/// Rules of a stream source or mirror.
pub const SOURCE: &[Rule] = &[
    rule(
        "!has(self.filterSubject) || !has(self.subjectTransforms) || size(self.subjectTransforms) == 0",
        "filterSubject and subjectTransforms cannot both be set",
    ),
    rule(
        "!(has(self.optStartSeq) && has(self.optStartTime))",
        "optStartSeq and optStartTime cannot both be set",
    ),
    rule(
        "!has(self.consumer) || !(has(self.optStartSeq) || has(self.optStartTime) || has(self.filterSubject))",
        "a source through a durable consumer takes its start and filter from that consumer",
    ),
];

/// Rules of an external origin.
pub const EXTERNAL: &[Rule] = &[rule(
    "self.apiPrefix != '$JS.API'",
    "apiPrefix $JS.API is this account's own JetStream API; name the other account's or domain's prefix",
)];

/// Rules of a consumer's spec.
pub const CONSUMER: &[Rule] = &[
    rule(
        "!has(self.filterSubject) || !has(self.filterSubjects) || size(self.filterSubjects) == 0",
        "filterSubject and filterSubjects cannot both be set",
    ),
    rule(
        "has(self.optStartSeq) == (has(self.deliverPolicy) && self.deliverPolicy == 'byStartSequence')",
        "deliverPolicy: byStartSequence needs optStartSeq, and optStartSeq needs deliverPolicy: byStartSequence",
    ),
    rule(
        "has(self.optStartTime) == (has(self.deliverPolicy) && self.deliverPolicy == 'byStartTime')",
        "deliverPolicy: byStartTime needs optStartTime, and optStartTime needs deliverPolicy: byStartTime",
    ),
    rule(
        "!has(self.deliverPolicy) || self.deliverPolicy != 'lastPerSubject' || has(self.filterSubject) || (has(self.filterSubjects) && size(self.filterSubjects) > 0)",
        "deliverPolicy: lastPerSubject needs filterSubject or filterSubjects",
    ),
    rule(
        "!has(self.ackWait) || self.ackWait.matches('[1-9]')",
        "ackWait is 0s",
    ),
    rule(
        "!has(self.backoff) || size(self.backoff) == 0 || !has(self.ackPolicy) || self.ackPolicy != 'none'",
        "backoff sets redelivery delays, but ackPolicy none redelivers nothing",
    ),
    rule(
        "!has(self.backoff) || !has(self.maxDeliver) || size(self.backoff) <= self.maxDeliver",
        "backoff lists more delays than maxDeliver allows deliveries",
    ),
    rule(
        "!has(self.maxAckPending) || !has(self.ackPolicy) || self.ackPolicy != 'none'",
        "maxAckPending is set, but ackPolicy none leaves nothing pending",
    ),
    rule(
        "!has(self.deliverSubject) || !(has(self.maxWaiting) || has(self.maxBatch) || has(self.maxExpires) || has(self.maxBytes) || (has(self.priorityGroups) && size(self.priorityGroups) > 0) || (has(self.priorityPolicy) && self.priorityPolicy != 'none') || has(self.priorityTimeout))",
        "maxWaiting, maxBatch, maxExpires, maxBytes and priority groups are for pull consumers (no deliverSubject)",
    ),
    rule(
        "has(self.deliverSubject) || !(has(self.idleHeartbeat) || (has(self.flowControl) && self.flowControl) || has(self.rateLimitBps) || has(self.deliverGroup))",
        "idleHeartbeat, flowControl, rateLimitBps and deliverGroup are for push consumers (with deliverSubject)",
    ),
    rule(
        "(has(self.priorityGroups) && size(self.priorityGroups) > 0) == (has(self.priorityPolicy) && self.priorityPolicy != 'none')",
        "priorityGroups and a priorityPolicy other than none go together",
    ),
    rule(
        "!has(self.priorityTimeout) || (has(self.priorityPolicy) && self.priorityPolicy != 'none')",
        "priorityTimeout needs a priorityPolicy",
    ),
];

/// Rules of the TLS settings of a connection.
pub const TLS: &[Rule] = &[rule(
    "has(self.cert) == has(self.key)",
    "tls.cert and tls.key go together",
)];

/// Rules of the authentication of a connection.
pub const AUTH: &[Rule] = &[rule(
    "(has(self.creds) ? 1 : 0) + (has(self.nkey) ? 1 : 0) + (has(self.userPassword) ? 1 : 0) + (has(self.token) ? 1 : 0) <= 1",
    "at most one of creds, nkey, userPassword and token",
)];

/// Rules of a value read from a Secret or a file.
pub const SECRET_SOURCE: &[Rule] = &[rule(
    "has(self.secretRef) != has(self.file)",
    "exactly one of secretRef and file",
)];

/// Rules of user-defined metadata.
pub const METADATA: &[Rule] = &[rule(
    "self.all(k, !k.startsWith('_nats.') && !k.startsWith('jetsync.dev/'))",
    "metadata keys starting with _nats. (the NATS server's) or jetsync.dev/ (jetsync's) are reserved",
)];

/// `rules` as the value of `x-kubernetes-validations`.
pub fn validations(rules: &[Rule]) -> Value {
    rules
        .iter()
        .map(|rule| json!({"rule": rule.rule, "message": rule.message}))
        .collect()
}

/// Every rule set, by where it applies (for documentation and tests).
pub const ALL: [(&str, &[Rule]); 10] = [
    ("Stream spec", STREAM),
    ("KeyValue spec", KEY_VALUE),
    ("ObjectStore spec", OBJECT_STORE),
    ("mirror and sources", SOURCE),
    ("mirror and sources: external", EXTERNAL),
    ("Consumer spec", CONSUMER),
    ("NatsConnection tls", TLS),
    ("NatsConnection auth", AUTH),
    ("NatsConnection Secret sources", SECRET_SOURCE),
    ("metadata", METADATA),
];
