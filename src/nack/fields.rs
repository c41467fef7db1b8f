//! NACK's spec fields, kind by kind, and how NACK turns each into a
//! JetStream config (`internal/controller/*_controller.go`): which values it
//! leaves to jsm.go, nats.go or the server, which it parses as Go durations,
//! and the defaults its CRDs fill in before it sees a resource.

use std::collections::BTreeMap;

use super::{Mode, Problems, Version, connection, entry, mapping, text};
use crate::manifest::node::NodeValue;
use crate::manifest::{Node, Position};
use crate::spec::path::FieldPath;
use crate::spec::units::Duration;

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

/// How one NACK field becomes a jetsync field.
#[derive(Clone, Copy)]
enum Rule {
    /// A string; empty is unset (NACK's `omitempty`).
    Text(&'static str),
    /// A list or mapping as written; empty is unset.
    Copy(&'static str),
    /// A boolean NACK sets only when true.
    Flag(&'static str),
    /// A count NACK leaves to the default when 0.
    Count(&'static str),
    /// A limit whose 0 and -1 both mean the server's "unlimited".
    Limit(&'static str),
    /// A Go duration (`time.ParseDuration`); empty or zero is unset.
    GoDuration(&'static str),
    /// A Go `time.Duration` written as integer nanoseconds.
    Nanos(&'static str),
    /// One of NACK's words and the jetsync word it stands for ("" = unset).
    Choice(&'static str, &'static [(&'static str, &'static str)]),
    /// A stream source (mirror).
    Source(&'static str),
    /// A list of stream sources.
    Sources(&'static str),
    /// `{source, dest}`.
    Transform(&'static str),
    /// A list of `{source, dest}`.
    Transforms(&'static str),
    /// `{source, destination, headers_only}`.
    Republish(&'static str),
    /// `{cluster, tags}`.
    Placement(&'static str),
    /// `{inactiveThreshold, maxAckPending}`.
    ConsumerLimits(&'static str),
    /// Read by the kind's own code after the walk.
    Later,
}

use Rule::*;

/// The fields every NACK asset kind has (`BaseStreamConfig`).
const BASE: [(&str, Rule); 9] = [
    ("preventDelete", Later),
    ("preventUpdate", Later),
    ("account", Later),
    ("creds", Later),
    ("nkey", Later),
    ("servers", Later),
    ("tls", Later),
    ("tlsFirst", Later),
    ("jsDomain", Later),
];

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

const SOURCE: &[(&str, Rule)] = &[
    ("name", Text("name")),
    ("optStartSeq", Count("optStartSeq")),
    ("optStartTime", Text("optStartTime")),
    ("filterSubject", Text("filterSubject")),
    ("externalApiPrefix", Later),
    ("externalDeliverPrefix", Later),
    ("subjectTransforms", Transforms("subjectTransforms")),
];

const TRANSFORM: &[(&str, Rule)] = &[("source", Text("source")), ("dest", Text("destination"))];

const REPUBLISH: &[(&str, Rule)] = &[
    ("source", Text("source")),
    ("destination", Text("destination")),
    ("headers_only", Flag("headersOnly")),
];

const PLACEMENT: &[(&str, Rule)] = &[("cluster", Text("cluster")), ("tags", Copy("tags"))];

const CONSUMER_LIMITS: &[(&str, Rule)] = &[
    ("inactiveThreshold", GoDuration("inactiveThreshold")),
    ("maxAckPending", Count("maxAckPending")),
];

/// What a walk over a mapping found: the jetsync fields, and the values the
/// caller reads itself ([`Rule::Later`]), with their paths.
#[derive(Default)]
struct Walked<'a> {
    out: Vec<(Node, Node)>,
    later: BTreeMap<&'a str, (&'a Node, FieldPath)>,
}

impl Walked<'_> {
    fn push(&mut self, key: &str, value: Node) {
        self.out.push(entry(key, value));
    }
}

/// Walks `entries` (the mapping at `path`) by `rules`; `allowed` narrows the
/// fields to an older API version's.
fn walk<'a>(
    entries: &'a [(Node, Node)],
    rules: &[(&str, Rule)],
    allowed: Option<&[&str]>,
    path: &FieldPath,
    what: &str,
    problems: &mut Problems,
) -> Walked<'a> {
    let mut walked = Walked::default();
    for (key, value) in entries {
        let Some(name) = key.as_str() else {
            problems.error(
                path,
                format!("a key of {what} is not a string"),
                "write field names as plain text",
            );
            continue;
        };
        let field = path.field(name);
        let rule = rules
            .iter()
            .chain(BASE.iter().filter(|_| path == &FieldPath::spec()))
            .find(|(known, _)| *known == name)
            .map(|(_, rule)| *rule)
            .filter(|_| allowed.is_none_or(|allowed| allowed.contains(&name)));
        let Some(rule) = rule else {
            problems.unknown_field(&field, format!("`{name}` is not a field of {what}"));
            continue;
        };
        if matches!(value.value, NodeValue::Null) {
            continue;
        }
        if let Later = rule {
            walked.later.insert(name, (value, field));
            continue;
        }
        if let Some((target, translated)) = apply(rule, value, &field, problems) {
            walked.push(target, translated);
        }
    }
    walked
}

/// The jetsync field and value `rule` makes of `value`; None when NACK
/// leaves the field to its defaults.
fn apply(
    rule: Rule,
    value: &Node,
    path: &FieldPath,
    problems: &mut Problems,
) -> Option<(&'static str, Node)> {
    match rule {
        Text(target) => string(value, path, problems)
            .filter(|text| !text.is_empty())
            .map(|_| (target, value.clone())),
        Copy(target) => match &value.value {
            NodeValue::Sequence(items) if items.is_empty() => None,
            NodeValue::Mapping(entries) if entries.is_empty() => None,
            _ => Some((target, value.clone())),
        },
        Flag(target) => match value.value {
            NodeValue::Bool(true) => Some((target, value.clone())),
            NodeValue::Bool(false) => None,
            _ => {
                wrong_type(value, path, "a boolean", problems);
                None
            }
        },
        Count(target) => match integer(value, path, problems)? {
            0 => None,
            n if n < 0 => {
                problems.error(
                    path,
                    format!("NACK would send {n}, which jetsync cannot declare"),
                    "write a positive number, or leave the field out for the server's default",
                );
                None
            }
            n => Some((target, number(n, value.position))),
        },
        Limit(target) => match integer(value, path, problems)? {
            0 | -1 => None,
            n if n < 0 => {
                problems.error(
                    path,
                    format!("NACK would send {n}, which the server refuses"),
                    "write -1 (unlimited) or a positive limit",
                );
                None
            }
            n => Some((target, number(n, value.position))),
        },
        GoDuration(target) => {
            let nanos = go_duration(value, path, problems)?;
            (nanos > 0).then(|| (target, duration(nanos, value.position)))
        }
        Nanos(target) => match integer(value, path, problems)? {
            n if n > 0 => Some((target, duration(n as u64, value.position))),
            0 => None,
            n => {
                problems.error(
                    path,
                    format!("a negative duration ({n}ns)"),
                    "write nanoseconds as a positive integer",
                );
                None
            }
        },
        Choice(target, choices) => {
            let word = string(value, path, problems)?;
            match choices.iter().find(|(nack, _)| *nack == word) {
                Some((_, "")) => None,
                Some((_, jetsync)) => Some((target, text(jetsync, value.position))),
                None if word.is_empty() => None,
                None => {
                    let words: Vec<String> = choices
                        .iter()
                        .filter(|(nack, _)| !nack.is_empty())
                        .map(|(nack, _)| format!("`{nack}`"))
                        .collect();
                    problems.error(
                        path,
                        format!("NACK does not know `{word}` here"),
                        &format!("one of {}", words.join(", ")),
                    );
                    None
                }
            }
        }
        Source(target) => source(value, path, problems).map(|node| (target, node)),
        Sources(target) | Transforms(target) => {
            let NodeValue::Sequence(items) = &value.value else {
                wrong_type(value, path, "a list", problems);
                return None;
            };
            let item_rule = match rule {
                Sources(_) => Source(""),
                _ => Transform(""),
            };
            let translated: Vec<Node> = items
                .iter()
                .enumerate()
                .filter_map(|(index, item)| {
                    apply(item_rule, item, &path.index(index), problems).map(|(_, node)| node)
                })
                .collect();
            (!translated.is_empty()).then_some((
                target,
                Node {
                    value: NodeValue::Sequence(translated),
                    position: value.position,
                },
            ))
        }
        Transform(target) => nested(value, TRANSFORM, path, "a subject transform", problems)
            .map(|walked| (target, mapping(value.position, walked.out))),
        Republish(target) => nested(value, REPUBLISH, path, "republish", problems)
            .map(|walked| (target, mapping(value.position, walked.out))),
        Placement(target) | ConsumerLimits(target) => {
            let rules = match rule {
                Placement(_) => PLACEMENT,
                _ => CONSUMER_LIMITS,
            };
            let walked = nested(value, rules, path, target, problems)?;
            (!walked.out.is_empty()).then(|| (target, mapping(value.position, walked.out)))
        }
        Later => None,
    }
}

/// A nested mapping walked by `rules`.
fn nested<'a>(
    value: &'a Node,
    rules: &[(&str, Rule)],
    path: &FieldPath,
    what: &str,
    problems: &mut Problems,
) -> Option<Walked<'a>> {
    match &value.value {
        NodeValue::Mapping(entries) => Some(walk(
            entries,
            rules,
            None,
            path,
            &format!("NACK's {what}"),
            problems,
        )),
        _ => {
            wrong_type(value, path, "a mapping", problems);
            None
        }
    }
}

/// A NACK stream source: its external prefixes become `external`.
fn source(value: &Node, path: &FieldPath, problems: &mut Problems) -> Option<Node> {
    let mut walked = nested(value, SOURCE, path, "stream source", problems)?;
    let prefix = |name: &str| walked.later.get(name).map(|(node, _)| (*node).clone());
    let api_prefix = prefix("externalApiPrefix");
    let deliver_prefix = prefix("externalDeliverPrefix");
    let mut external = Vec::new();
    if let Some(api) = api_prefix.filter(|node| node.as_str() != Some("")) {
        external.push(entry("apiPrefix", api));
    }
    if let Some(deliver) = deliver_prefix.filter(|node| node.as_str() != Some("")) {
        external.push(entry("deliverPrefix", deliver));
    }
    if !external.is_empty() {
        let position = external[0].1.position;
        walked.push("external", mapping(position, external));
    }
    Some(mapping(value.position, walked.out))
}

fn wrong_type(value: &Node, path: &FieldPath, expected: &str, problems: &mut Problems) {
    problems.error(
        path,
        format!("expected {expected}, found {}", value.value.type_name()),
        "NACK's CRD would refuse this value",
    );
}

fn string<'a>(value: &'a Node, path: &FieldPath, problems: &mut Problems) -> Option<&'a str> {
    let found = value.as_str();
    if found.is_none() {
        wrong_type(value, path, "a string", problems);
    }
    found
}

fn integer(value: &Node, path: &FieldPath, problems: &mut Problems) -> Option<i64> {
    match value.value {
        NodeValue::Integer(n) => i64::try_from(n).ok(),
        NodeValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
        _ => {
            wrong_type(value, path, "an integer", problems);
            None
        }
    }
}

fn number(n: i64, position: Position) -> Node {
    Node {
        value: NodeValue::Integer(i128::from(n)),
        position,
    }
}

fn duration(nanos: u64, position: Position) -> Node {
    text(&Duration::from_nanos(nanos).to_string(), position)
}

/// A Go duration as NACK parses it (`time.ParseDuration`), in nanoseconds.
/// Go has no `d` or `w` unit: NACK fails on `7d`, so jetsync refuses it too.
fn go_duration(value: &Node, path: &FieldPath, problems: &mut Problems) -> Option<u64> {
    let written = string(value, path, problems)?;
    if written.is_empty() {
        return None;
    }
    let unsigned = written.strip_prefix('+').unwrap_or(written);
    let go_units = !unsigned.contains(['d', 'w']);
    match unsigned.parse::<Duration>() {
        Ok(parsed) if go_units => Some(parsed.as_nanos()),
        Ok(_) => {
            problems.error(
                path,
                format!("`{written}` is not a Go duration: NACK would fail to parse it"),
                "Go durations have no days or weeks: write hours, e.g. `168h`",
            );
            None
        }
        Err(error) => {
            problems.error(
                path,
                format!("`{written}` is not a duration NACK can send: {error}"),
                "write a Go duration such as `30s`, `1h30m` or `500ms`",
            );
            None
        }
    }
}

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

fn is_empty_value(node: &Node) -> bool {
    match &node.value {
        NodeValue::String(text) => text.is_empty(),
        NodeValue::Integer(n) => *n == 0,
        NodeValue::Sequence(items) => items.is_empty(),
        NodeValue::Null => true,
        _ => false,
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
