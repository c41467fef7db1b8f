//! How one NACK field becomes a jetsync field ([`Rule`]), and the walk that
//! applies the rules to a mapping: NACK's `omitempty` and zero values, Go
//! durations, the server's "unlimited", stream sources and transforms.

use std::collections::BTreeMap;

use super::{Problems, entry, mapping, text};
use crate::manifest::node::NodeValue;
use crate::manifest::{Node, Position};
use crate::spec::path::FieldPath;
use crate::spec::units::Duration;

/// How one NACK field becomes a jetsync field.
#[derive(Clone, Copy)]
pub(super) enum Rule {
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

pub(super) use Rule::*;

/// The fields every NACK asset kind has (`BaseStreamConfig`).
pub(super) const BASE: [(&str, Rule); 9] = [
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
pub(super) struct Walked<'a> {
    pub(super) out: Vec<(Node, Node)>,
    pub(super) later: BTreeMap<&'a str, (&'a Node, FieldPath)>,
}

impl Walked<'_> {
    pub(super) fn push(&mut self, key: &str, value: Node) {
        self.out.push(entry(key, value));
    }
}

/// Walks `entries` (the mapping at `path`) by `rules`; `allowed` narrows the
/// fields to an older API version's.
pub(super) fn walk<'a>(
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
pub(super) fn apply(
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

pub(super) fn wrong_type(value: &Node, path: &FieldPath, expected: &str, problems: &mut Problems) {
    problems.error(
        path,
        format!("expected {expected}, found {}", value.value.type_name()),
        "NACK's CRD would refuse this value",
    );
}

pub(super) fn string<'a>(
    value: &'a Node,
    path: &FieldPath,
    problems: &mut Problems,
) -> Option<&'a str> {
    let found = value.as_str();
    if found.is_none() {
        wrong_type(value, path, "a string", problems);
    }
    found
}

pub(super) fn integer(value: &Node, path: &FieldPath, problems: &mut Problems) -> Option<i64> {
    match value.value {
        NodeValue::Integer(n) => i64::try_from(n).ok(),
        NodeValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
        _ => {
            wrong_type(value, path, "an integer", problems);
            None
        }
    }
}

pub(super) fn number(n: i64, position: Position) -> Node {
    Node {
        value: NodeValue::Integer(i128::from(n)),
        position,
    }
}

pub(super) fn duration(nanos: u64, position: Position) -> Node {
    text(&Duration::from_nanos(nanos).to_string(), position)
}

/// A Go duration as NACK parses it (`time.ParseDuration`), in nanoseconds.
/// Go has no `d` or `w` unit: NACK fails on `7d`, so jetsync refuses it too.
pub(super) fn go_duration(value: &Node, path: &FieldPath, problems: &mut Problems) -> Option<u64> {
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

pub(super) fn is_empty_value(node: &Node) -> bool {
    match &node.value {
        NodeValue::String(text) => text.is_empty(),
        NodeValue::Integer(n) => *n == 0,
        NodeValue::Sequence(items) => items.is_empty(),
        NodeValue::Null => true,
        _ => false,
    }
}
