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
    Invalid(Diagnostic),
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
        let origin = Origin {
            source: source.clone(),
            document: index,
            root: Arc::new(root),
        };
        match decode_document(origin) {
            Outcome::Declared(declared) => manifests.documents.push(*declared),
            Outcome::Skipped(note) | Outcome::Invalid(note) => manifests.diagnostics.push(note),
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
        return Outcome::Invalid(
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
        return Outcome::Invalid(
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
            return Outcome::Invalid(
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
            return Outcome::Invalid(
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
        Err(diagnostic) => Outcome::Invalid(*diagnostic),
    }
}

fn decode_typed(origin: &Origin, kind: Kind) -> Result<(ObjectMeta, AssetSpec), Box<Diagnostic>> {
    let json = origin
        .root
        .to_json(&FieldPath::root())
        .map_err(|(path, message)| {
            Box::new(origin.diagnostic(Severity::Error, &path, false, message))
        })?;
    let envelope: Envelope = deserialize_at(origin, kind, &FieldPath::root(), json)?;
    let metadata = ObjectMeta {
        name: envelope.metadata.name,
        namespace: envelope.metadata.namespace,
        labels: envelope.metadata.labels,
        annotations: envelope.metadata.annotations,
    };
    let spec_path = FieldPath::spec();
    let spec = envelope.spec;
    let spec = match kind {
        Kind::Stream => AssetSpec::Stream(deserialize_at(origin, kind, &spec_path, spec)?),
        Kind::Consumer => AssetSpec::Consumer(deserialize_at(origin, kind, &spec_path, spec)?),
        Kind::KeyValue => AssetSpec::KeyValue(deserialize_at(origin, kind, &spec_path, spec)?),
        Kind::ObjectStore => {
            AssetSpec::ObjectStore(deserialize_at(origin, kind, &spec_path, spec)?)
        }
        Kind::NatsConnection => {
            AssetSpec::NatsConnection(deserialize_at(origin, kind, &spec_path, spec)?)
        }
    };
    Ok((metadata, spec))
}

/// Deserializes `value` (found at `base`) into `T`, turning a failure into a
/// diagnostic at the failing field.
fn deserialize_at<T: DeserializeOwned>(
    origin: &Origin,
    kind: Kind,
    base: &FieldPath,
    value: serde_json::Value,
) -> Result<T, Box<Diagnostic>> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let mut segments = base.segments().to_vec();
        for segment in error.path().iter() {
            match segment {
                serde_path_to_error::Segment::Map { key } => {
                    segments.push(PathSegment::Field(key.clone()))
                }
                serde_path_to_error::Segment::Seq { index } => {
                    segments.push(PathSegment::Index(*index))
                }
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => {}
            }
        }
        let path = FieldPath::from_segments(segments);
        Box::new(describe_serde_error(
            origin,
            kind,
            path,
            &error.inner().to_string(),
        ))
    })
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
