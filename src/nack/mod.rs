//! NACK's documents (`jetstream.nats.io/v1beta2`, and `v1beta1` of older
//! installs) read with NACK's semantics: each is translated into the jetsync
//! documents that make the asset NACK would make (its CRD defaults, jsm.go's
//! and nats.go's defaults, Go durations), every value keeping the position it
//! was written at so that later diagnostics point into the NACK file. A field
//! jetsync cannot honour the way NACK does is a problem naming the field.

mod connection;
pub mod convert;
mod fields;
mod rules;

use crate::diagnostics::Severity;
use crate::manifest::node::NodeValue;
use crate::manifest::{Node, Position};
use crate::spec::API_VERSION;
use crate::spec::path::FieldPath;

/// NACK's API group.
pub const GROUP: &str = "jetstream.nats.io";

/// True when `root` is a document of NACK's API group.
pub fn is_nack_document(root: &Node) -> bool {
    root.get("apiVersion")
        .and_then(Node::as_str)
        .is_some_and(|api_version| api_version.split('/').next() == Some(GROUP))
}

/// The NACK documents of a `v1` `List` (what `kubectl get -o yaml` prints),
/// or the document itself when it is not such a list.
pub fn list_items(root: Node) -> Vec<Node> {
    let is_list = root.get("apiVersion").and_then(Node::as_str) == Some("v1")
        && root.get("kind").and_then(Node::as_str) == Some("List");
    match root.get("items").map(|items| &items.value) {
        Some(NodeValue::Sequence(items))
            if is_list && !items.is_empty() && items.iter().all(is_nack_document) =>
        {
            items.clone()
        }
        _ => vec![root],
    }
}

/// Something about a NACK document worth telling: an error (jetsync cannot
/// make what NACK would), a warning (a NACK behaviour jetsync keeps only
/// approximately), or a note (a decision the translation made).
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub severity: Severity,
    /// The field in the NACK document.
    pub path: FieldPath,
    pub message: String,
    pub help: Option<String>,
    /// Points at the field's key rather than its value (an unknown field).
    pub at_key: bool,
}

/// The jetsync documents one NACK document stands for, and what was found.
#[derive(Debug, Default)]
pub struct Translated {
    /// The asset's document, then the connection profile it names (if NACK's
    /// connection fields were set).
    pub documents: Vec<Node>,
    pub problems: Vec<Problem>,
}

impl Translated {
    /// True when any problem is an error: nothing of the document is used.
    pub fn has_errors(&self) -> bool {
        self.problems
            .iter()
            .any(|problem| problem.severity == Severity::Error)
    }
}

/// How the NACK being replaced runs: its default "legacy" controllers
/// (`controllers/jetstream`) or `--control-loop` (`internal/controller`, the
/// only mode that makes KeyValue and ObjectStore). They turn a few fields
/// differently; `JETSYNC_NACK_MODE=legacy` selects the legacy reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    ControlLoop,
    Legacy,
}

impl Mode {
    /// The mode `JETSYNC_NACK_MODE` names (`legacy` or `control-loop`, the default).
    pub fn from_env() -> Mode {
        match std::env::var("JETSYNC_NACK_MODE").as_deref() {
            Ok("legacy") => Mode::Legacy,
            _ => Mode::ControlLoop,
        }
    }
}

/// NACK's API versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    V1beta1,
    V1beta2,
}

/// Collects problems while a document is translated.
#[derive(Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, severity: Severity, path: &FieldPath, message: String, help: Option<&str>) {
        self.0.push(Problem {
            severity,
            path: path.clone(),
            message,
            help: help.map(str::to_string),
            at_key: false,
        });
    }

    /// An error about a field name: it points at the key.
    pub(crate) fn unknown_field(&mut self, path: &FieldPath, message: impl Into<String>) {
        self.push(
            Severity::Error,
            path,
            message.into(),
            Some(
                "NACK's CRD has no such field (kubectl would prune it): remove it or fix its name",
            ),
        );
        if let Some(last) = self.0.last_mut() {
            last.at_key = true;
        }
    }

    pub(crate) fn error(&mut self, path: &FieldPath, message: impl Into<String>, help: &str) {
        self.push(Severity::Error, path, message.into(), Some(help));
    }

    pub(crate) fn warning(&mut self, path: &FieldPath, message: impl Into<String>, help: &str) {
        self.push(Severity::Warning, path, message.into(), Some(help));
    }

    pub(crate) fn note(&mut self, path: &FieldPath, message: impl Into<String>) {
        self.push(Severity::Note, path, message.into(), None);
    }
}

/// Translates one NACK document (see [`is_nack_document`]).
pub fn translate(root: &Node) -> Translated {
    let mut problems = Problems::default();
    let documents = translate_into(root, &mut problems).unwrap_or_default();
    Translated {
        documents,
        problems: problems.0,
    }
}

fn translate_into(root: &Node, problems: &mut Problems) -> Option<Vec<Node>> {
    let api_path = FieldPath::root().field("apiVersion");
    let api_version = root.get("apiVersion").and_then(Node::as_str)?;
    let version = match api_version.split('/').nth(1) {
        Some("v1beta2") => Version::V1beta2,
        Some("v1beta1") => Version::V1beta1,
        _ => {
            problems.error(
                &api_path,
                format!("unsupported NACK apiVersion `{api_version}`"),
                "jetsync reads NACK's jetstream.nats.io/v1beta2 and v1beta1",
            );
            return None;
        }
    };
    let kind_path = FieldPath::root().field("kind");
    let Some(kind_node) = root.get("kind") else {
        problems.error(
            &kind_path,
            "missing `kind`",
            "write the NACK kind, e.g. `kind: Stream`",
        );
        return None;
    };
    let kind = kind_node.as_str().unwrap_or_default();
    let Some(metadata) = root.get("metadata") else {
        problems.error(
            &FieldPath::root(),
            "missing `metadata`",
            "write `metadata: {name: ...}`",
        );
        return None;
    };
    let object_name = metadata.get("name").and_then(Node::as_str).unwrap_or("");
    let spec_path = FieldPath::spec();
    let empty = Node {
        value: NodeValue::Mapping(Vec::new()),
        position: root.position,
    };
    let spec = root.get("spec").unwrap_or(&empty);
    let NodeValue::Mapping(entries) = &spec.value else {
        problems.error(
            &spec_path,
            format!("`spec` must be a mapping, found {}", spec.value.type_name()),
            "write the fields of the resource under `spec:`",
        );
        return None;
    };
    let context = fields::Context {
        version,
        mode: Mode::from_env(),
        object_name,
        position: spec.position,
    };
    let translated = match (kind, version) {
        ("Stream", _) => fields::stream(&context, entries, problems),
        ("Consumer", _) => fields::consumer(&context, entries, problems),
        ("KeyValue", Version::V1beta2) => fields::key_value(&context, entries, problems),
        ("ObjectStore", Version::V1beta2) => fields::object_store(&context, entries, problems),
        ("Account", Version::V1beta2) => {
            let spec = connection::account(entries, problems);
            fields::Asset {
                kind: "NatsConnection",
                spec,
                connection: None,
            }
        }
        ("StreamTemplate", _) => {
            problems.error(
                &kind_path,
                "NACK's StreamTemplate has no jetsync counterpart: stream templates were removed from nats-server 2.10",
                "declare the streams the template made as Stream documents",
            );
            return None;
        }
        _ => {
            problems.error(
                &kind_path,
                format!("`{kind}` is not a kind of NACK's {api_version}"),
                "NACK's v1beta2 kinds are Stream, Consumer, KeyValue, ObjectStore and Account; v1beta1 has Stream and Consumer",
            );
            return None;
        }
    };
    let api_position = root.get("apiVersion").map_or(root.position, |n| n.position);
    let document = |kind: &str, metadata: Node, spec: Node| {
        mapping(
            root.position,
            vec![
                entry("apiVersion", text(API_VERSION, api_position)),
                entry("kind", text(kind, kind_node.position)),
                entry("metadata", metadata),
                entry("spec", spec),
            ],
        )
    };
    let mut documents = vec![document(
        translated.kind,
        metadata.clone(),
        mapping(spec.position, translated.spec),
    )];
    if let Some((name, connection_spec)) = translated.connection {
        let mut connection_metadata = vec![entry("name", text(&name, metadata.position))];
        if let Some(namespace) = metadata.get("namespace") {
            connection_metadata.push(entry("namespace", namespace.clone()));
        }
        documents.push(document(
            "NatsConnection",
            mapping(metadata.position, connection_metadata),
            mapping(spec.position, connection_spec),
        ));
    }
    Some(documents)
}

/// A string node at `position`.
pub(crate) fn text(value: &str, position: Position) -> Node {
    Node {
        value: NodeValue::String(value.to_string()),
        position,
    }
}

/// A mapping entry whose key sits where its value was written.
pub(crate) fn entry(key: &str, value: Node) -> (Node, Node) {
    (text(key, value.position), value)
}

/// A mapping node at `position`.
pub(crate) fn mapping(position: Position, entries: Vec<(Node, Node)>) -> Node {
    Node {
        value: NodeValue::Mapping(entries),
        position,
    }
}
