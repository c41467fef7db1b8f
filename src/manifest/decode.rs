//! Turning parsed YAML documents into typed jetsync documents, with a
//! located diagnostic for anything that does not fit the kind's schema.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use super::node::{self, Node, NodeValue};
use super::{Declared, Manifests, ObjectMeta, Origin};
use crate::diagnostics::{Diagnostic, Severity, SourceText};
use crate::spec::path::{FieldPath, PathSegment};
use crate::spec::{API_VERSION, AssetSpec, GROUP, Kind};

/// The envelope every jetsync document has.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Envelope {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: DocumentMeta,
    spec: serde_json::Value,
    /// Written by the controller; ignored when read back (e.g. from `kubectl get -o yaml`).
    #[serde(default)]
    #[allow(dead_code)]
    status: Option<IgnoredAny>,
}

/// `metadata` as users write it. Fields the API server fills in are accepted
/// and ignored so that `kubectl get -o yaml` output can be read back.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DocumentMeta {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default, rename = "uid")]
    _uid: Option<IgnoredAny>,
    #[serde(default, rename = "resourceVersion")]
    _resource_version: Option<IgnoredAny>,
    #[serde(default, rename = "generation")]
    _generation: Option<IgnoredAny>,
    #[serde(default, rename = "creationTimestamp")]
    _creation_timestamp: Option<IgnoredAny>,
    #[serde(default, rename = "managedFields")]
    _managed_fields: Option<IgnoredAny>,
    #[serde(default, rename = "finalizers")]
    _finalizers: Option<IgnoredAny>,
    #[serde(default, rename = "ownerReferences")]
    _owner_references: Option<IgnoredAny>,
}

enum Outcome {
    Declared(Box<Declared>),
    Skipped(Diagnostic),
    Invalid(Vec<Diagnostic>),
}

impl Outcome {
    fn invalid(diagnostic: Diagnostic) -> Self {
        Outcome::Invalid(vec![diagnostic])
    }
}

/// Parses one source and adds its documents and diagnostics to `manifests`.
pub(super) fn decode_source(source: &SourceText, manifests: &mut Manifests) {
    let documents = match node::parse_documents(&source.text) {
        Ok(documents) => documents,
        Err(error) => {
            manifests
                .diagnostics
                .push(syntax_diagnostic(source, &error));
            return;
        }
    };
    for (index, root) in documents.into_iter().enumerate() {
        let origin = Origin::new(source.clone(), index, root);
        match decode_document(origin) {
            Outcome::Declared(declared) => manifests.documents.push(*declared),
            Outcome::Skipped(note) => manifests.diagnostics.push(note),
            Outcome::Invalid(mut found) => manifests.diagnostics.append(&mut found),
        }
    }
}

fn syntax_diagnostic(source: &SourceText, error: &serde_saphyr::Error) -> Diagnostic {
    let summary = format!("invalid YAML: {}", first_line(&error.to_string()));
    let diagnostic = Diagnostic::error(summary).with_help("fix the YAML syntax at this place");
    match error.location() {
        Some(location) if location.line() > 0 => {
            let span = location.span();
            let offset = span.byte_offset().unwrap_or(span.offset()) as usize;
            let length = span.byte_len().unwrap_or(span.len()) as usize;
            diagnostic.at(source, location.line(), location.column(), (offset, length))
        }
        _ => {
            let mut diagnostic = diagnostic;
            diagnostic.file = Some(source.name.clone());
            diagnostic
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim()
}

fn decode_document(origin: Origin) -> Outcome {
    let root = Arc::clone(&origin.root);
    if !matches!(root.value, NodeValue::Mapping(_)) {
        return Outcome::invalid(
            origin
                .diagnostic(
                    Severity::Error,
                    &FieldPath::root(),
                    false,
                    "a manifest document must be a mapping",
                )
                .with_help("write `apiVersion`, `kind`, `metadata` and `spec` keys"),
        );
    }
    let api_version = root.get("apiVersion").and_then(Node::as_str);
    let kind_name = root.get("kind").and_then(Node::as_str);
    let Some(api_version) = api_version else {
        return Outcome::Skipped(origin.diagnostic(
            Severity::Note,
            &FieldPath::root(),
            false,
            "skipped a document without `apiVersion`: not a Kubernetes-style manifest",
        ));
    };
    if api_version.split('/').next() != Some(GROUP) {
        return Outcome::Skipped(origin.diagnostic(
            Severity::Note,
            &FieldPath::root().field("apiVersion"),
            false,
            format!(
                "skipped {} ({api_version}): not a jetsync document",
                kind_name.unwrap_or("a document")
            ),
        ));
    }
    if api_version != API_VERSION {
        return Outcome::invalid(
            origin
                .diagnostic(
                    Severity::Error,
                    &FieldPath::root().field("apiVersion"),
                    false,
                    format!("unsupported apiVersion `{api_version}`"),
                )
                .with_help(format!("this jetsync reads `{API_VERSION}`")),
        );
    }
    let kinds: Vec<&str> = Kind::ALL.iter().map(|kind| kind.as_str()).collect();
    let kind = match kind_name.map(|name| (name, Kind::from_name(name))) {
        Some((_, Some(kind))) => kind,
        Some((name, None)) => {
            let help = match closest(name, &kinds) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("jetsync kinds are {}", kinds.join(", ")),
            };
            return Outcome::invalid(
                origin
                    .diagnostic(
                        Severity::Error,
                        &FieldPath::root().field("kind"),
                        false,
                        format!("unknown kind `{name}`"),
                    )
                    .with_help(help),
            );
        }
        None => {
            return Outcome::invalid(
                origin
                    .diagnostic(
                        Severity::Error,
                        &FieldPath::root().field("kind"),
                        false,
                        "missing `kind`",
                    )
                    .with_help(format!("one of {}", kinds.join(", "))),
            );
        }
    };
    match decode_typed(&origin, kind) {
        Ok((metadata, spec)) => Outcome::Declared(Box::new(Declared {
            metadata,
            spec,
            origin,
        })),
        Err(diagnostics) => Outcome::Invalid(diagnostics),
    }
}

fn decode_typed(origin: &Origin, kind: Kind) -> Result<(ObjectMeta, AssetSpec), Vec<Diagnostic>> {
    let json = origin
        .root
        .to_json(&FieldPath::root())
        .map_err(|(path, message)| {
            vec![origin.diagnostic(Severity::Error, &path, false, message)]
        })?;
    let mut diagnostics = Vec::new();
    let envelope: Option<Envelope> =
        deserialize_at(origin, kind, &FieldPath::root(), json, &mut diagnostics);
    let Some(envelope) = envelope else {
        return Err(diagnostics);
    };
    let metadata = ObjectMeta {
        name: envelope.metadata.name,
        namespace: envelope.metadata.namespace,
        labels: envelope.metadata.labels,
        annotations: envelope.metadata.annotations,
    };
    let path = FieldPath::spec();
    let value = envelope.spec;
    let found = &mut diagnostics;
    let spec = match kind {
        Kind::Stream => deserialize_at(origin, kind, &path, value, found).map(AssetSpec::Stream),
        Kind::Consumer => {
            deserialize_at(origin, kind, &path, value, found).map(AssetSpec::Consumer)
        }
        Kind::KeyValue => {
            deserialize_at(origin, kind, &path, value, found).map(AssetSpec::KeyValue)
        }
        Kind::ObjectStore => {
            deserialize_at(origin, kind, &path, value, found).map(AssetSpec::ObjectStore)
        }
        Kind::NatsConnection => {
            deserialize_at(origin, kind, &path, value, found).map(AssetSpec::NatsConnection)
        }
    };
    match spec {
        Some(spec) if diagnostics.is_empty() => Ok((metadata, spec)),
        _ => {
            // Fields are decoded in key order; report them in document order.
            diagnostics.sort_by_key(|diagnostic| (diagnostic.line, diagnostic.column));
            Err(diagnostics)
        }
    }
}

/// Most problems reported for one document before giving up on it.
const MAX_PROBLEMS_PER_DOCUMENT: usize = 50;

/// Deserializes `value` (found at `base`) into `T`. Serde stops at the first
/// problem, so after each failure the offending key is taken out and the
/// rest tried again: every unknown field and wrong type in a document is
/// reported, not only the first. Problems are added to `diagnostics`; the
/// value (without the offending keys) is returned when the rest decodes, so
/// that the caller can go on to report problems in other parts.
fn deserialize_at<T: DeserializeOwned>(
    origin: &Origin,
    kind: Kind,
    base: &FieldPath,
    mut value: serde_json::Value,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    for _ in 0..MAX_PROBLEMS_PER_DOCUMENT {
        let error = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(decoded) => return Some(decoded),
            Err(error) => error,
        };
        let mut relative = Vec::new();
        for segment in error.path().iter() {
            match segment {
                serde_path_to_error::Segment::Map { key } => {
                    relative.push(PathSegment::Field(key.clone()))
                }
                serde_path_to_error::Segment::Seq { index } => {
                    relative.push(PathSegment::Index(*index))
                }
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => {}
            }
        }
        let message = error.inner().to_string();
        let mut path = base.segments().to_vec();
        path.extend(relative.iter().cloned());
        let diagnostic =
            describe_serde_error(origin, kind, FieldPath::from_segments(path), &message);
        let removable = diagnostic.field.as_deref().and_then(|field| {
            let base_text = base.to_string();
            let rest = field.strip_prefix(&base_text).unwrap_or(field);
            (!message.starts_with("missing field"))
                .then(|| rest.trim_start_matches('.').to_string())
        });
        diagnostics.push(diagnostic);
        match removable {
            Some(key_path) if remove_key(&mut value, &key_path) => continue,
            _ => return None,
        }
    }
    None
}

/// Removes the mapping entry at a dotted path (`sources[0].name` style paths
/// with indices are followed, but only mapping keys are removed). False when
/// nothing could be removed.
fn remove_key(value: &mut serde_json::Value, dotted: &str) -> bool {
    let mut parts: Vec<&str> = dotted.split('.').filter(|part| !part.is_empty()).collect();
    let Some(last) = parts.pop() else {
        return false;
    };
    if last.contains('[') {
        return false;
    }
    let mut node = value;
    for part in parts {
        let (key, indices) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        let Some(next) = node.get_mut(key) else {
            return false;
        };
        node = next;
        for index in indices.split(['[', ']']).filter(|index| !index.is_empty()) {
            let Some(next) = index.parse::<usize>().ok().and_then(|i| node.get_mut(i)) else {
                return false;
            };
            node = next;
        }
    }
    node.as_object_mut()
        .is_some_and(|object| object.remove(last).is_some())
}

/// Rewords serde's messages into located diagnostics with a help line.
fn describe_serde_error(origin: &Origin, kind: Kind, path: FieldPath, message: &str) -> Diagnostic {
    let quoted = backticked(message);
    if message.starts_with("unknown field") {
        let unknown = quoted.first().cloned().unwrap_or_default();
        let expected: Vec<&str> = quoted.iter().skip(1).map(String::as_str).collect();
        // The path may or may not already end at the unknown key.
        let path = match path.segments().last() {
            Some(PathSegment::Field(last)) if *last == unknown => path,
            _ => path.field(&unknown),
        };
        let help = match closest(&unknown, &expected) {
            Some(close) => format!("did you mean `{close}`?"),
            None => {
                format!("remove it; `jetsync schema` lists the fields of a {kind}, or see crds/")
            }
        };
        return origin
            .diagnostic(
                Severity::Error,
                &path,
                true,
                format!("unknown field `{unknown}`"),
            )
            .with_help(help);
    }
    if message.starts_with("missing field") {
        let missing = quoted.first().cloned().unwrap_or_default();
        return origin
            .diagnostic(
                Severity::Error,
                &path.field(&missing),
                true,
                format!("missing required field `{missing}`"),
            )
            .with_help(format!("a {kind} needs `{}`", path.field(&missing)));
    }
    let help = if message.starts_with("unknown variant") {
        "use one of the values listed".to_string()
    } else {
        format!("see `jetsync schema` for the type of `{path}`")
    };
    origin
        .diagnostic(Severity::Error, &path, false, message.to_string())
        .with_help(help)
}

/// The `backticked` words of a serde message, in order.
fn backticked(message: &str) -> Vec<String> {
    message
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (strsim::jaro_winkler(word, candidate), *candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}
