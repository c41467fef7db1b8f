//! NACK's spec fields, kind by kind, and how NACK turns each into a
//! JetStream config (`internal/controller/*_controller.go`): which values it
//! leaves to jsm.go, nats.go or the server, which it parses as Go durations,
//! and the defaults its CRDs fill in before it sees a resource.

use std::collections::BTreeMap;

use super::rules::*;
use super::{Mode, Problems, Version, connection, entry, text};
use crate::manifest::node::NodeValue;
use crate::manifest::{Node, Position};
use crate::spec::path::FieldPath;

/// What every kind's translation knows about its document.
pub(crate) struct Context<'a> {
    pub version: Version,
    pub mode: Mode,
    pub object_name: &'a str,
    /// Where `spec` was written: defaults NACK adds point there.
    pub position: Position,
}

/// A translated spec: its jetsync kind, its fields, and the connection
/// profile (name, spec fields) NACK's inline connection fields make.
pub(crate) struct Asset {
    pub kind: &'static str,
    pub spec: Vec<(Node, Node)>,
    pub connection: Option<(String, Vec<(Node, Node)>)>,
}

const STORAGE: &[(&str, &str)] = &[("file", "file"), ("memory", "memory")];

const STREAM: &[(&str, Rule)] = &[
    ("name", Text("name")),
    ("description", Text("description")),
    ("subjects", Copy("subjects")),
    (
        "retention",
        Choice(
            "retention",
            &[
                ("limits", "limits"),
                ("interest", "interest"),
                ("workqueue", "workqueue"),
            ],
        ),
    ),
    ("maxConsumers", Limit("maxConsumers")),
    ("maxMsgsPerSubject", Limit("maxMsgsPerSubject")),
    ("maxMsgs", Limit("maxMsgs")),
    ("maxBytes", Limit("maxBytes")),
    ("maxAge", Later),
    ("maxMsgSize", Limit("maxMsgSize")),
    ("storage", Later),
    (
        "discard",
        Choice("discard", &[("old", "old"), ("new", "new")]),
    ),
    ("replicas", Count("replicas")),
    ("noAck", Flag("noAck")),
    ("duplicateWindow", GoDuration("duplicateWindow")),
    ("placement", Placement("placement")),
    ("mirror", Source("mirror")),
    ("sources", Sources("sources")),
    (
        "compression",
        Choice("compression", &[("s2", "s2"), ("none", "none"), ("", "")]),
    ),
    ("subjectTransform", Transform("subjectTransform")),
    ("republish", Republish("republish")),
    ("sealed", Flag("sealed")),
    ("denyDelete", Flag("denyDelete")),
    ("denyPurge", Flag("denyPurge")),
    ("allowDirect", Flag("allowDirect")),
    ("allowRollup", Flag("allowRollupHeaders")),
    ("mirrorDirect", Flag("mirrorDirect")),
    ("discardPerSubject", Flag("discardNewPerSubject")),
    ("firstSequence", Count("firstSequence")),
    ("metadata", Copy("metadata")),
    ("consumerLimits", ConsumerLimits("consumerLimits")),
    ("allowMsgTtl", Flag("allowMsgTtl")),
    (
        "subjectDeleteMarkerTtl",
        GoDuration("subjectDeleteMarkerTtl"),
    ),
    ("allowMsgCounter", Flag("allowMsgCounter")),
    ("allowAtomicPublish", Flag("allowAtomic")),
    ("allowMsgSchedules", Flag("allowMsgSchedules")),
    (
        "persistMode",
        Choice(
            "persistMode",
            &[("async", "async"), ("default", "default"), ("", "")],
        ),
    ),
];

/// The fields of NACK's v1beta1 Stream (a subset of v1beta2's).
const STREAM_V1BETA1: &[&str] = &[
    "name",
    "description",
    "subjects",
    "retention",
    "maxConsumers",
    "maxMsgs",
    "maxBytes",
    "maxAge",
    "maxMsgSize",
    "storage",
    "replicas",
    "noAck",
    "discard",
    "duplicateWindow",
    "maxMsgsPerSubject",
    "mirror",
    "placement",
    "sources",
];

const CONSUMER: &[(&str, Rule)] = &[
    ("streamName", Text("streamName")),
    ("durableName", Text("name")),
    ("description", Text("description")),
    ("ackPolicy", Later),
    ("ackWait", Later),
    ("deliverPolicy", Later),
    ("optStartSeq", Later),
    ("optStartTime", Later),
    ("deliverSubject", Text("deliverSubject")),
    ("deliverGroup", Text("deliverGroup")),
    ("filterSubject", Text("filterSubject")),
    ("filterSubjects", Copy("filterSubjects")),
    ("flowControl", Flag("flowControl")),
    ("heartbeatInterval", GoDuration("idleHeartbeat")),
    ("maxAckPending", Count("maxAckPending")),
    ("maxDeliver", Limit("maxDeliver")),
    ("backoff", Later),
    ("maxWaiting", Count("maxWaiting")),
    ("rateLimitBps", Count("rateLimitBps")),
    (
        "replayPolicy",
        Choice(
            "replayPolicy",
            &[("instant", "instant"), ("original", "original")],
        ),
    ),
    ("sampleFreq", Later),
    ("headersOnly", Flag("headersOnly")),
    ("maxRequestBatch", Count("maxBatch")),
    ("maxRequestExpires", GoDuration("maxExpires")),
    ("maxRequestMaxBytes", Count("maxBytes")),
    ("inactiveThreshold", GoDuration("inactiveThreshold")),
    ("replicas", Count("replicas")),
    ("memStorage", Flag("memoryStorage")),
    ("metadata", Copy("metadata")),
    ("pauseUntil", Text("pauseUntil")),
    ("priorityPolicy", Later),
    ("pinnedTtl", Later),
    ("priorityGroups", Later),
];

/// The fields of NACK's v1beta1 Consumer.
const CONSUMER_V1BETA1: &[&str] = &[
    "streamName",
    "deliverPolicy",
    "optStartSeq",
    "optStartTime",
    "durableName",
    "deliverSubject",
    "ackPolicy",
    "ackWait",
    "maxDeliver",
    "filterSubject",
    "replayPolicy",
    "sampleFreq",
    "rateLimitBps",
    "maxAckPending",
    "deliverGroup",
    "description",
    "flowControl",
    "heartbeatInterval",
];

const KEY_VALUE: &[(&str, Rule)] = &[
    ("bucket", Text("name")),
    ("description", Text("description")),
    ("maxValueSize", Limit("maxValueSize")),
    ("history", Count("history")),
    ("ttl", GoDuration("ttl")),
    ("limitMarkerTtl", Nanos("limitMarkerTtl")),
    ("maxBytes", Limit("maxBytes")),
    ("storage", Choice("storage", STORAGE)),
    ("replicas", Count("replicas")),
    ("placement", Placement("placement")),
    ("republish", Republish("republish")),
    ("mirror", Source("mirror")),
    ("sources", Sources("sources")),
    ("compression", Flag("compression")),
];

const OBJECT_STORE: &[(&str, Rule)] = &[
    ("bucket", Text("name")),
    ("description", Text("description")),
    ("ttl", GoDuration("ttl")),
    ("maxBytes", Limit("maxBytes")),
    ("storage", Choice("storage", STORAGE)),
    ("replicas", Count("replicas")),
    ("placement", Placement("placement")),
    ("compression", Flag("compression")),
    ("metadata", Copy("metadata")),
];

/// `preventDelete`, `preventUpdate` and the connection fields, shared by
/// every asset kind.
fn base(
    context: &Context,
    kind: &str,
    later: &BTreeMap<&str, (&Node, FieldPath)>,
    out: &mut Vec<(Node, Node)>,
    problems: &mut Problems,
) -> Option<(String, Vec<(Node, Node)>)> {
    let flag = |name: &str| {
        later
            .get(name)
            .filter(|(node, _)| matches!(node.value, NodeValue::Bool(true)))
    };
    if let Some((node, path)) = flag("preventDelete") {
        out.push(entry("deletionPolicy", text("Orphan", node.position)));
        problems.note(
            path,
            "preventDelete: true is `deletionPolicy: Orphan`: the asset stays when the document goes",
        );
    }
    if let Some((node, path)) = flag("preventUpdate") {
        out.push(entry("driftPolicy", text("Report", node.position)));
        problems.warning(
            path,
            "preventUpdate: true became `driftPolicy: Report`: jetsync reports live changes instead of correcting them, but it does apply changes made to this document",
            "jetsync has no create-only policy: review plans before applying changes to this asset",
        );
    }
    let connection = connection::inline(context, kind, later, problems);
    match (&connection, later.get("account")) {
        (Some((name, _)), _) => out.push(entry("connection", text(name, context.position))),
        (None, Some((node, path))) => {
            if let Some(account) = string(node, path, problems).filter(|name| !name.is_empty()) {
                out.push(entry("connection", text(account, node.position)));
            }
        }
        (None, None) => {}
    }
    connection
}

/// NACK's label for a kind in messages.
fn label(context: &Context, kind: &str) -> String {
    let version = match context.version {
        Version::V1beta1 => "v1beta1",
        Version::V1beta2 => "v1beta2",
    };
    format!("NACK's {version} {kind}")
}

fn spec_walk<'a>(
    context: &Context,
    entries: &'a [(Node, Node)],
    rules: &[(&str, Rule)],
    v1beta1: Option<&[&str]>,
    kind: &str,
    problems: &mut Problems,
) -> Walked<'a> {
    let allowed = match context.version {
        Version::V1beta1 => Some(v1beta1.unwrap_or_default()),
        Version::V1beta2 => None,
    };
    walk(
        entries,
        rules,
        allowed,
        &FieldPath::spec(),
        &label(context, kind),
        problems,
    )
}

/// A required name field: its absence is an error, as NACK would fail.
fn require(walked: &Walked, target: &str, field: &str, kind: &str, problems: &mut Problems) {
    if !walked
        .out
        .iter()
        .any(|(key, _)| key.as_str() == Some(target))
    {
        problems.error(
            &FieldPath::spec().field(field),
            format!("NACK's {kind} needs `spec.{field}`"),
            &format!("write `{field}:` under `spec`"),
        );
    }
}

/// NACK's `Stream`: CRD defaults `storage: memory`; jsm.go's `DefaultStream`
/// gives a stream without `maxAge` a maximum age of one year.
pub(crate) fn stream(
    context: &Context,
    entries: &[(Node, Node)],
    problems: &mut Problems,
) -> Asset {
    let mut walked = spec_walk(
        context,
        entries,
        STREAM,
        Some(STREAM_V1BETA1),
        "Stream",
        problems,
    );
    require(&walked, "name", "name", "Stream", problems);
    let storage = walked.later.get("storage").and_then(|(node, path)| {
        apply(Choice("storage", STORAGE), node, path, problems).map(|(_, node)| node)
    });
    walked.push(
        "storage",
        storage.unwrap_or_else(|| text("memory", context.position)),
    );
    match walked.later.get("maxAge") {
        Some((node, path)) if node.as_str() != Some("") => {
            if let Some((_, age)) = apply(GoDuration("maxAge"), node, path, problems) {
                walked.push("maxAge", age);
            }
        }
        // The legacy controllers send 0 (unlimited) for an empty `maxAge`.
        _ if context.mode == Mode::Legacy => {}
        _ => walked.push("maxAge", text("365d", context.position)),
    }
    if context.mode == Mode::Legacy {
        legacy_stream(&mut walked.out, problems);
    }
    let later = std::mem::take(&mut walked.later);
    let connection = base(context, "stream", &later, &mut walked.out, problems);
    Asset {
        kind: "Stream",
        spec: walked.out,
        connection,
    }
}

/// What NACK's legacy controllers leave out of a stream's config: `sealed`,
/// `mirrorDirect`, `consumerLimits`, republish's `headers_only`, and a
/// source's start time when it has a start sequence.
fn legacy_stream(out: &mut Vec<(Node, Node)>, problems: &mut Problems) {
    let ignored = |problems: &mut Problems, path: FieldPath| {
        problems.warning(
            &path,
            "NACK's legacy controllers ignore this field; jetsync leaves it out too",
            "run NACK with --control-loop (and leave JETSYNC_NACK_MODE unset) for NACK to honour it",
        );
    };
    let spec = FieldPath::spec();
    out.retain(|(key, _)| {
        let nack = match key.as_str() {
            Some("sealed") => "sealed",
            Some("mirrorDirect") => "mirrorDirect",
            Some("consumerLimits") => "consumerLimits",
            _ => return true,
        };
        ignored(problems, spec.field(nack));
        false
    });
    for (key, value) in out.iter_mut() {
        let (field, sources): (&str, Vec<&mut Node>) = match (key.as_str(), &mut value.value) {
            (Some("republish"), NodeValue::Mapping(entries)) => {
                let before = entries.len();
                entries.retain(|(key, _)| key.as_str() != Some("headersOnly"));
                if entries.len() != before {
                    ignored(problems, spec.field("republish").field("headers_only"));
                }
                continue;
            }
            (Some("mirror"), _) => ("mirror", vec![value]),
            (Some("sources"), NodeValue::Sequence(items)) => {
                ("sources", items.iter_mut().collect())
            }
            _ => continue,
        };
        for (index, source) in sources.into_iter().enumerate() {
            let NodeValue::Mapping(entries) = &mut source.value else {
                continue;
            };
            let has_sequence = entries
                .iter()
                .any(|(key, _)| key.as_str() == Some("optStartSeq"));
            let before = entries.len();
            entries.retain(|(key, _)| !has_sequence || key.as_str() != Some("optStartTime"));
            if entries.len() != before {
                let path = match field {
                    "mirror" => spec.field("mirror"),
                    _ => spec.field("sources").index(index),
                };
                ignored(problems, path.field("optStartTime"));
            }
        }
    }
}

/// NACK's `Consumer`: CRD defaults `ackPolicy: none` and `ackWait: 1ns`;
/// the start sequence and time count only with their deliver policy; a
/// pinned-client priority policy without `pinnedTtl` sets nothing.
pub(crate) fn consumer(
    context: &Context,
    entries: &[(Node, Node)],
    problems: &mut Problems,
) -> Asset {
    let mut walked = spec_walk(
        context,
        entries,
        CONSUMER,
        Some(CONSUMER_V1BETA1),
        "Consumer",
        problems,
    );
    require(&walked, "streamName", "streamName", "Consumer", problems);
    if !walked
        .out
        .iter()
        .any(|(key, _)| key.as_str() == Some("name"))
    {
        problems.error(
            &FieldPath::spec().field("durableName"),
            "a NACK Consumer without `durableName` is an ephemeral consumer, which jetsync does not declare",
            "write `durableName:` (the consumer's name)",
        );
    }
    let later = std::mem::take(&mut walked.later);
    let get = |name: &str| later.get(name).map(|(node, path)| (*node, path));

    let acks: &[(&str, &str)] = &[("none", "none"), ("all", "all"), ("explicit", "explicit")];
    match get("ackPolicy") {
        Some((node, path)) => {
            if let Some((_, policy)) = apply(Choice("ackPolicy", acks), node, path, problems) {
                walked.push("ackPolicy", policy);
            }
        }
        None => walked.push("ackPolicy", text("none", context.position)),
    }
    match get("ackWait") {
        Some((node, path)) => {
            if let Some((_, wait)) = apply(GoDuration("ackWait"), node, path, problems) {
                walked.push("ackWait", wait);
            }
        }
        None => walked.push("ackWait", text("1ns", context.position)),
    }

    let policies: &[(&str, &str)] = &[
        ("all", "all"),
        ("last", "last"),
        ("new", "new"),
        ("byStartSequence", "byStartSequence"),
        ("byStartTime", "byStartTime"),
        ("lastPerSubject", "lastPerSubject"),
    ];
    let deliver = get("deliverPolicy")
        .and_then(|(node, path)| apply(Choice("deliverPolicy", policies), node, path, problems));
    let deliver_word = deliver
        .as_ref()
        .and_then(|(_, node)| node.as_str().map(str::to_string));
    if let Some((_, node)) = deliver.filter(|(_, node)| node.as_str() != Some("all")) {
        walked.push("deliverPolicy", node);
    }
    let start = [
        ("optStartSeq", "byStartSequence", Count("optStartSeq")),
        ("optStartTime", "byStartTime", Text("optStartTime")),
    ];
    for (field, policy, rule) in start {
        match get(field) {
            Some((node, path)) if deliver_word.as_deref() == Some(policy) => {
                if let Some((target, value)) = apply(rule, node, path, problems) {
                    walked.push(target, value);
                }
            }
            Some((node, path)) if !is_empty_value(node) => problems.warning(
                path,
                format!("NACK ignores `{field}` unless `deliverPolicy: {policy}`; jetsync leaves it out too"),
                &format!("remove `{field}`, or set `deliverPolicy: {policy}`"),
            ),
            _ if deliver_word.as_deref() == Some("byStartTime") && field == "optStartTime" => {
                problems.error(
                    &FieldPath::spec().field("optStartTime"),
                    "`deliverPolicy: byStartTime` needs `optStartTime`: NACK refuses it without",
                    "write an RFC 3339 time, e.g. `2024-01-01T00:00:00Z`",
                );
            }
            _ => {}
        }
    }

    let has = |target: &str| {
        walked
            .out
            .iter()
            .any(|(key, _)| key.as_str() == Some(target))
    };
    if has("filterSubject") && has("filterSubjects") {
        problems.error(
            &FieldPath::spec().field("filterSubjects"),
            "NACK refuses both `filterSubject` and `filterSubjects`",
            "keep one of the two",
        );
    }

    if let Some((node, path)) = get("backoff") {
        match &node.value {
            NodeValue::Sequence(items) => {
                let steps: Vec<Node> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(index, item)| {
                        apply(GoDuration("backoff"), item, &path.index(index), problems)
                            .map(|(_, node)| node)
                    })
                    .collect();
                if !steps.is_empty() {
                    walked.push(
                        "backoff",
                        Node {
                            value: NodeValue::Sequence(steps),
                            position: node.position,
                        },
                    );
                }
            }
            _ => wrong_type(node, path, "a list", problems),
        }
    }

    if let Some((node, path)) = get("sampleFreq") {
        if context.mode == Mode::Legacy && node.as_str().is_some_and(|text| text.ends_with('%')) {
            problems.error(
                path,
                "NACK's legacy controllers read `sampleFreq` as a plain integer and fail on `%`",
                "write the percentage without `%`, e.g. `50`",
            );
        }
        let written = match &node.value {
            NodeValue::String(text) => Some(text.trim_end_matches('%').to_string()),
            NodeValue::Integer(n) => Some(n.to_string()),
            _ => {
                wrong_type(node, path, "a string such as `50%`", problems);
                None
            }
        };
        match written.as_deref().map(str::parse::<u8>) {
            Some(Ok(0)) | None => {}
            Some(Ok(percent)) if percent <= 100 => {
                walked.push("sampleFreq", number(i64::from(percent), node.position))
            }
            Some(_) if written.as_deref() == Some("") => {}
            Some(_) => problems.error(
                path,
                "NACK's `sampleFreq` is a percentage from 0 to 100",
                "write e.g. `50` or `50%`",
            ),
        }
    }

    priority(&later, &mut walked, problems);

    let connection = base(context, "consumer", &later, &mut walked.out, problems);
    Asset {
        kind: "Consumer",
        spec: walked.out,
        connection,
    }
}

/// `priorityPolicy`, `pinnedTtl` and `priorityGroups` as NACK sends them.
fn priority(
    later: &BTreeMap<&str, (&Node, FieldPath)>,
    walked: &mut Walked,
    problems: &mut Problems,
) {
    let get = |name: &str| later.get(name).map(|(node, path)| (*node, path));
    let policy = match get("priorityPolicy") {
        Some((node, path)) => string(node, path, problems).unwrap_or(""),
        None => "",
    };
    let groups = get("priorityGroups").filter(|(node, _)| !is_empty_value(node));
    let pinned_ttl = get("pinnedTtl").filter(|(node, _)| !is_empty_value(node));
    let ignored = |field: Option<(&Node, &FieldPath)>, problems: &mut Problems, why: &str| {
        if let Some((_, path)) = field {
            problems.warning(
                path,
                format!("NACK ignores this field {why}; jetsync leaves it out too"),
                "remove it, or set the priority policy that uses it",
            );
        }
    };
    let target = match policy {
        "" | "none" => {
            ignored(groups, problems, "without a priority policy");
            ignored(pinned_ttl, problems, "without a priority policy");
            return;
        }
        "pinned_client" => {
            let Some((node, path)) = pinned_ttl else {
                if let Some((_, path)) = get("priorityPolicy") {
                    problems.warning(
                        path,
                        "NACK sets no priority policy for `pinned_client` without `pinnedTtl`; jetsync sets none either",
                        "write `pinnedTtl:` (e.g. `2m`) to pin clients",
                    );
                }
                ignored(groups, problems, "without `pinnedTtl`");
                return;
            };
            if let Some((_, timeout)) = apply(GoDuration("priorityTimeout"), node, path, problems) {
                walked.push("priorityTimeout", timeout);
            }
            "pinnedClient"
        }
        "overflow" => {
            ignored(
                pinned_ttl,
                problems,
                "unless `priorityPolicy: pinned_client`",
            );
            "overflow"
        }
        "prioritized" => {
            ignored(
                pinned_ttl,
                problems,
                "unless `priorityPolicy: pinned_client`",
            );
            "prioritized"
        }
        other => {
            if let Some((_, path)) = get("priorityPolicy") {
                problems.error(
                    path,
                    format!("NACK does not know the priority policy `{other}`"),
                    "one of `none`, `pinned_client`, `overflow`, `prioritized`",
                );
            }
            return;
        }
    };
    if let Some((node, _)) = get("priorityPolicy") {
        walked.push("priorityPolicy", text(target, node.position));
    }
    if let Some((node, _)) = groups {
        walked.push("priorityGroups", node.clone());
    }
}

/// NACK's legacy controllers never make buckets: say so, as the bucket
/// may not exist yet.
fn legacy_bucket(context: &Context, kind: &str, problems: &mut Problems) {
    if context.mode == Mode::Legacy {
        problems.warning(
            &FieldPath::root().field("kind"),
            format!(
                "NACK makes a {kind} only with --control-loop: a legacy NACK never made this one"
            ),
            "jetsync makes it as NACK's control loop would; plan first to see whether it exists",
        );
    }
}

/// NACK's `KeyValue`, made through nats.go's `CreateKeyValue`.
pub(crate) fn key_value(
    context: &Context,
    entries: &[(Node, Node)],
    problems: &mut Problems,
) -> Asset {
    legacy_bucket(context, "KeyValue", problems);
    let mut walked = spec_walk(context, entries, KEY_VALUE, None, "KeyValue", problems);
    require(&walked, "name", "bucket", "KeyValue", problems);
    let later = std::mem::take(&mut walked.later);
    let connection = base(context, "keyvalue", &later, &mut walked.out, problems);
    Asset {
        kind: "KeyValue",
        spec: walked.out,
        connection,
    }
}

/// NACK's `ObjectStore`, made through nats.go's `CreateObjectStore`.
pub(crate) fn object_store(
    context: &Context,
    entries: &[(Node, Node)],
    problems: &mut Problems,
) -> Asset {
    legacy_bucket(context, "ObjectStore", problems);
    let mut walked = spec_walk(
        context,
        entries,
        OBJECT_STORE,
        None,
        "ObjectStore",
        problems,
    );
    require(&walked, "name", "bucket", "ObjectStore", problems);
    let later = std::mem::take(&mut walked.later);
    let connection = base(context, "objectstore", &later, &mut walked.out, problems);
    Asset {
        kind: "ObjectStore",
        spec: walked.out,
        connection,
    }
}
