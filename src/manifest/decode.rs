//! Turning parsed YAML documents into typed jetsync documents, with a
//! located diagnostic for anything that does not fit the kind's schema.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use super::node::{self, Node, NodeValue};
use super::{Declared, Manifests, ObjectMeta, Origin};
use crate::diagnostics::{Diagnostic, Severity, SourceText};
use crate::spec::path::{FieldPath, PathSegment};
use crate::spec::{API_VERSION, AssetSpec, GROUP, Kind};

/// The envelope every jetsync document has, its `spec` as `S`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Envelope<S = serde_json::Value> {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: DocumentMeta,
    spec: S,
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

impl From<DocumentMeta> for ObjectMeta {
    fn from(metadata: DocumentMeta) -> Self {
        Self {
            name: metadata.name,
            namespace: metadata.namespace,
            labels: metadata.labels,
            annotations: metadata.annotations,
        }
    }
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
    match node::parse_documents(&source.text) {
        Ok(documents) => decode_documents(source, documents, manifests),
        Err(error) => manifests
            .diagnostics
            .push(syntax_diagnostic(source, &error)),
    }
}

/// [`decode_source`] of the run `range` of a source's documents, which
/// starts after `lines` lines: the number of documents it holds (their
/// `origin.document` counts from 0 in the run), or None, adding nothing,
/// when the run is not valid YAML (the whole source then says where).
pub(super) fn decode_run(
    source: &SourceText,
    range: std::ops::Range<usize>,
    lines: u64,
    manifests: &mut Manifests,
) -> Option<usize> {
    let start = range.start;
    let mut documents = node::parse_documents(&source.text[range]).ok()?;
    for root in &mut documents {
        root.shift(lines, start);
    }
    let count = documents.len();
    decode_documents(source, documents, manifests);
    Some(count)
}

fn decode_documents(source: &SourceText, documents: Vec<Node>, manifests: &mut Manifests) {
    // A `kind: List` (kubectl get -o yaml) is read item by item.
    let documents = documents.into_iter().enumerate().flat_map(|(index, root)| {
        crate::nack::list_items(root)
            .into_iter()
            .map(move |item| (index, item))
    });
    for (index, root) in documents {
        if let Some(position) = node::value_beyond(&root, node::MAX_DOCUMENT_VALUES) {
            manifests.diagnostics.push(
                Diagnostic::error(format!(
                    "the YAML is too big to read safely: a document holds more than {} values",
                    node::MAX_DOCUMENT_VALUES
                ))
                .with_help(READ_LIMITS_HELP)
                .at(
                    source,
                    position.line,
                    position.column,
                    (position.offset, position.length),
                ),
            );
            continue;
        }
        let translated =
            crate::nack::is_nack_document(&root).then(|| crate::nack::translate(&root));
        let origin = Origin::new(source.clone(), index, root);
        let Some(translated) = translated else {
            decode_into(origin, manifests);
            continue;
        };
        // A NACK document: its problems point into it, then the jetsync
        // documents it stands for are decoded like any other.
        let failed = translated.has_errors();
        for problem in translated.problems {
            let mut diagnostic = origin.diagnostic(
                problem.severity,
                &problem.path,
                problem.at_key,
                problem.message,
            );
            if let Some(help) = problem.help {
                diagnostic = diagnostic.with_help(help);
            }
            manifests.diagnostics.push(diagnostic);
        }
        if !failed {
            for document in translated.documents {
                decode_into(Origin::new(source.clone(), index, document), manifests);
            }
        }
    }
}

fn decode_into(origin: Origin, manifests: &mut Manifests) {
    match decode_document(origin) {
        Outcome::Declared(declared) => manifests.documents.push(*declared),
        Outcome::Skipped(note) => manifests.diagnostics.push(note),
        Outcome::Invalid(mut found) => manifests.diagnostics.append(&mut found),
    }
}

fn syntax_diagnostic(source: &SourceText, error: &serde_saphyr::Error) -> Diagnostic {
    let message = error.to_string();
    let diagnostic = match too_big(&message) {
        Some(what) => Diagnostic::error(format!("the YAML is too big to read safely: {what}"))
            .with_help(READ_LIMITS_HELP),
        None => {
            let message = first_line(&message)
                .replace(", set DuplicateKeyPolicy in Options if acceptable", "");
            Diagnostic::error(format!("invalid YAML: {message}")).with_help(syntax_help(&message))
        }
    };
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

/// What to do about a YAML syntax error, for the common ones whose parser
/// message names a symptom rather than the cause.
fn syntax_help(message: &str) -> &'static str {
    let hints = [
        (
            "found a tab",
            "indent with spaces: YAML does not allow tabs in indentation",
        ),
        (
            "duplicate mapping key",
            "remove one of the two entries with this key",
        ),
        (
            "illegal placement of ':'",
            "look for a `[` or `{` above this place that is never closed",
        ),
        (
            "multiline quoted scalar",
            "look for a quote above this place that is never closed",
        ),
        (
            "simple key expected ':'",
            "a key must be followed by `:` on its line, within 1024 characters",
        ),
        (
            "alias references unknown anchor",
            "define the anchor (`&name`) before the alias (`*name`) that uses it",
        ),
    ];
    hints
        .iter()
        .find(|(symptom, _)| message.contains(symptom))
        .map_or("fix the YAML syntax at this place", |(_, help)| help)
}

/// What jetsync reads from one file at most.
const READ_LIMITS_HELP: &str = "split the document or flatten the YAML: jetsync reads any number of documents, but at most 250000 values in one document, 64 levels of nesting, and expands aliases only up to 250000 values plus one per 4 bytes of the file";

/// The limit a parse error reports as breached, in words; None for other errors.
fn too_big(message: &str) -> Option<String> {
    if message.contains("recursion limit exceeded") {
        return Some("it nests lists or mappings too deeply".to_string());
    }
    let breach = message.split("budget breached: ").nth(1)?;
    let variant = breach.split([' ', '{']).next().unwrap_or_default();
    Some(match variant {
        "Nodes" | "Events" => {
            "it holds more values than its size allows (scalars, lists and mappings, aliases expanded)"
                .to_string()
        }
        "Depth" => "it nests lists or mappings more than 64 levels deep".to_string(),
        "Aliases" | "AliasAnchorRatio" | "Anchors" => {
            "it uses too many aliases (`*name`)".to_string()
        }
        "ScalarBytes" => "its strings add up to more than its size allows (aliases expanded)".to_string(),
        _ => format!("a limit was reached ({})", first_line(breach)),
    })
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
    for key in ["apiVersion", "kind"] {
        if let Some(value) = root.get(key)
            && value.as_str().is_none()
        {
            return Outcome::invalid(
                origin
                    .diagnostic(
                        Severity::Error,
                        &FieldPath::root().field(key),
                        false,
                        format!(
                            "`{key}` must be a string, found {}",
                            value.value.type_name()
                        ),
                    )
                    .with_help(format!(
                        "write `{key}` as plain text, e.g. `{}`",
                        match key {
                            "kind" => "kind: Stream",
                            _ => "apiVersion: jetsync.dev/v1alpha1",
                        }
                    )),
            );
        }
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
    if api_version != API_VERSION && api_version.split('/').next() != Some(GROUP) {
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
    let kinds = Kind::ALL.map(Kind::as_str);
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
    match decode_valid(&origin.root, kind) {
        Some(decoded) => Ok(decoded),
        None => decode_reported(origin, kind),
    }
}

/// Decodes a document through its JSON form, reporting every problem in
/// it with its place.
pub(super) fn decode_reported(
    origin: &Origin,
    kind: Kind,
) -> Result<(ObjectMeta, AssetSpec), Vec<Diagnostic>> {
    let json = origin
        .root
        .to_json(&FieldPath::root())
        .map_err(|(path, message, position)| {
            let mut diagnostic = origin
                .diagnostic(Severity::Error, &path, false, message)
                .with_help("write field names as plain text, e.g. `maxAge: 7d`");
            if diagnostic.source.is_some() {
                diagnostic = diagnostic.at(
                    &origin.source,
                    position.line,
                    position.column,
                    (position.offset, position.length),
                );
            } else {
                diagnostic.line = Some(position.line);
                diagnostic.column = Some(position.column);
            }
            vec![diagnostic]
        })?;
    let mut diagnostics = Vec::new();
    for key in ["metadata", "spec"] {
        if let Some(node) = origin.root.get(key)
            && !matches!(node.value, NodeValue::Mapping(_))
        {
            diagnostics.push(list_for_mapping(
                origin,
                &FieldPath::root().field(key),
                node,
            ));
        }
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let envelope: Option<Envelope> =
        deserialize_at(origin, kind, &FieldPath::root(), json, &mut diagnostics);
    let Some(envelope) = envelope else {
        return Err(diagnostics);
    };
    let metadata = ObjectMeta::from(envelope.metadata);
    let path = FieldPath::spec();
    let value = envelope.spec;
    let found = &mut diagnostics;
    let spec = match kind {
        Kind::Stream => decode_spec(origin, kind, &path, value, found).map(AssetSpec::Stream),
        Kind::Consumer => decode_spec(origin, kind, &path, value, found).map(AssetSpec::Consumer),
        Kind::KeyValue => decode_spec(origin, kind, &path, value, found).map(AssetSpec::KeyValue),
        Kind::ObjectStore => {
            decode_spec(origin, kind, &path, value, found).map(AssetSpec::ObjectStore)
        }
        Kind::NatsConnection => {
            decode_spec(origin, kind, &path, value, found).map(AssetSpec::NatsConnection)
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

/// A valid document decoded straight from its tree; None when anything in
/// it would be reported, which [`decode_reported`] then does.
pub(super) fn decode_valid(root: &Node, kind: Kind) -> Option<(ObjectMeta, AssetSpec)> {
    fn read<S: DeserializeOwned>(root: &Node) -> Option<(ObjectMeta, S)> {
        let envelope = Envelope::<S>::deserialize(root).ok()?;
        Some((ObjectMeta::from(envelope.metadata), envelope.spec))
    }
    match kind {
        Kind::Stream => read(root).map(|(meta, spec)| (meta, AssetSpec::Stream(spec))),
        Kind::Consumer => read(root).map(|(meta, spec)| (meta, AssetSpec::Consumer(spec))),
        Kind::KeyValue => read(root).map(|(meta, spec)| (meta, AssetSpec::KeyValue(spec))),
        Kind::ObjectStore => read(root).map(|(meta, spec)| (meta, AssetSpec::ObjectStore(spec))),
        Kind::NatsConnection => {
            read(root).map(|(meta, spec)| (meta, AssetSpec::NatsConnection(spec)))
        }
    }
}

/// Decodes a spec, then checks that no list stood where a mapping belongs:
/// serde decodes a struct from a list by position (`placement: [east]`
/// would read as `placement: {cluster: east}`), which nobody means.
fn decode_spec<T: DeserializeOwned + Serialize>(
    origin: &Origin,
    kind: Kind,
    base: &FieldPath,
    value: serde_json::Value,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    // Valid documents decode in one pass without tracking paths; only a
    // document with a problem goes the way that names every field at fault.
    let decoded: T = match T::deserialize(&value) {
        Ok(decoded) => decoded,
        Err(_) => deserialize_at(origin, kind, base, value.clone(), diagnostics)?,
    };
    // Only a list can stand where a mapping belongs: without one there is
    // nothing to check.
    if holds_a_list(&value)
        && let Ok(reencoded) = serde_json::to_value(&decoded)
    {
        let mut lists = Vec::new();
        lists_for_mappings(
            &value,
            &reencoded,
            &mut base.segments().to_vec(),
            &mut lists,
        );
        for path in lists {
            if let Some(found) = node_at(&origin.root, &path) {
                diagnostics.push(list_for_mapping(origin, &path, found));
            }
        }
    }
    Some(decoded)
}

/// True when `value` has a list anywhere in it.
fn holds_a_list(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Array(_) => true,
        serde_json::Value::Object(map) => map.values().any(holds_a_list),
        _ => false,
    }
}

/// Paths where `input` has a list and its decoded form a mapping. `path` is
/// where the two are, as segments (pushed and popped while walking, so that
/// paths are built only for what is found).
fn lists_for_mappings(
    input: &serde_json::Value,
    decoded: &serde_json::Value,
    path: &mut Vec<PathSegment>,
    found: &mut Vec<FieldPath>,
) {
    use serde_json::Value;
    match (input, decoded) {
        (Value::Array(_), Value::Object(_)) => found.push(FieldPath::from_segments(path.clone())),
        (Value::Object(input), Value::Object(decoded)) => {
            for (key, value) in input {
                if let Some(decoded) = decoded.get(key) {
                    path.push(PathSegment::Field(key.clone().into()));
                    lists_for_mappings(value, decoded, path, found);
                    path.pop();
                }
            }
        }
        (Value::Array(input), Value::Array(decoded)) if input.len() == decoded.len() => {
            for (index, (value, decoded)) in input.iter().zip(decoded).enumerate() {
                path.push(PathSegment::Index(index));
                lists_for_mappings(value, decoded, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The node at exactly `path`, if the document has it.
fn node_at<'a>(root: &'a Node, path: &FieldPath) -> Option<&'a Node> {
    let mut node = root;
    for segment in path.segments() {
        node = match (segment, &node.value) {
            (PathSegment::Field(name), NodeValue::Mapping(_)) => node.get(name)?,
            (PathSegment::Index(index), NodeValue::Sequence(items)) => items.get(*index)?,
            _ => return None,
        };
    }
    Some(node)
}

/// "`spec.placement` must be a mapping of fields, found a list".
fn list_for_mapping(origin: &Origin, path: &FieldPath, found: &Node) -> Diagnostic {
    let field = path.to_string();
    let last = field.rsplit('.').next().unwrap_or(&field).to_string();
    origin
        .diagnostic(
            Severity::Error,
            path,
            false,
            format!(
                "`{field}` must be a mapping of fields, found {}",
                found.value.type_name()
            ),
        )
        .with_help(format!(
            "write `{last}:` followed by indented `field: value` lines (`jetsync schema` lists them)"
        ))
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
    if let Ok(decoded) = T::deserialize(&value) {
        return Some(decoded);
    }
    // Keys taken out after a problem: their absence is not another problem.
    let mut removed: Vec<String> = Vec::new();
    for _ in 0..MAX_PROBLEMS_PER_DOCUMENT {
        let error = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(decoded) => return Some(decoded),
            Err(error) => error,
        };
        let mut relative = Vec::new();
        for segment in error.path().iter() {
            match segment {
                serde_path_to_error::Segment::Map { key } => {
                    relative.push(PathSegment::Field(key.clone().into()))
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
        let path = FieldPath::from_segments(path);
        if let Some(missing) = message.strip_prefix("missing field ") {
            let missing = path.field(missing.trim_matches('`'));
            if removed.contains(&missing.to_string()) {
                return None;
            }
        }
        let diagnostic = describe_serde_error(origin, kind, path, &message);
        let removable = diagnostic.field.as_deref().and_then(|field| {
            let base_text = base.to_string();
            let rest = field.strip_prefix(&base_text).unwrap_or(field);
            (!message.starts_with("missing field"))
                .then(|| rest.trim_start_matches('.').to_string())
        });
        if let Some(field) = &diagnostic.field {
            removed.push(field.clone());
        }
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
            None if !expected.is_empty() && expected.len() <= 12 => {
                format!("remove it; the fields here are `{}`", expected.join("`, `"))
            }
            None => format!(
                "remove it; `jetsync schema` lists the fields of {} {kind}, or see crds/",
                article(kind.as_str())
            ),
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
    let summary = match too_large_integer(origin, &path) {
        Some(literal) => format!(
            "the number {literal} is too large{}",
            integer_range(message)
                .map(|range| format!("; expected {range}"))
                .unwrap_or_default()
        ),
        None => match integer_range(message) {
            Some(range) => match message.rsplit_once(", expected ") {
                Some((found, _)) => format!("{found}, expected {range}"),
                None => message.to_string(),
            },
            None => message.to_string(),
        },
    };
    origin
        .diagnostic(Severity::Error, &path, false, summary)
        .with_help(help)
}

/// `a` or `an` before a kind's name.
fn article(word: &str) -> &'static str {
    match word.chars().next() {
        Some('A' | 'E' | 'I' | 'O' | 'U' | 'a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

/// The range of the Rust integer type serde expected, in words: serde says
/// `expected u32`, users read "a whole number from 0 to 4294967295".
fn integer_range(message: &str) -> Option<String> {
    let expected = message.rsplit_once(", expected ")?.1.trim();
    let max = match expected {
        "u8" => u64::from(u8::MAX),
        "u16" => u64::from(u16::MAX),
        "u32" => u64::from(u32::MAX),
        "u64" => u64::MAX,
        _ => return None,
    };
    Some(format!("a whole number from 0 to {max}"))
}

/// The literal as written when the value at `path` is an integer too large
/// for any integer type: the YAML parser reads it as a float, and serde's
/// message then shows a float the user never wrote.
fn too_large_integer(origin: &Origin, path: &FieldPath) -> Option<String> {
    let position = origin.root.locate(path).value;
    let text = origin
        .source
        .text
        .get(position.offset..position.offset + position.length)?
        .trim();
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let is_integer = !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit());
    let fits = text
        .parse::<i128>()
        .is_ok_and(|value| i64::try_from(value).is_ok() || u64::try_from(value).is_ok());
    (is_integer && !fits).then(|| text.to_string())
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
