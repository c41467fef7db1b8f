//! Reading manifests: files and directories of multi-document YAML, each
//! jetsync document decoded into its kind's spec and checked, every problem
//! reported with its file, line, column and field.

mod block_yaml;
mod decode;
mod fast_yaml;
mod from_node;
pub mod node;
mod source;
mod written;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use crate::diagnostics::{Diagnostic, Severity, SourceText};
use crate::spec::path::FieldPath;
use crate::spec::validate::{self, ProblemSeverity};
use crate::spec::{AssetSpec, Kind};

pub use node::{Node, Position};
pub use source::{STDIN_NAME, read_sources};
pub use written::{WrittenField, WrittenFields};

/// The Kubernetes-style metadata jetsync uses from a document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    pub name: String,
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// Where a document came from: its file, its index in the file, and its
/// parsed tree for pointing at fields.
#[derive(Clone, Debug)]
pub struct Origin {
    pub source: SourceText,
    /// 0-based index of the document within its file.
    pub document: usize,
    /// The document's tree while it is decoded and validated; afterwards
    /// only the root's position (see [`Origin::release_tree`]).
    pub root: Arc<Node>,
    /// True once the tree was released: diagnostics parse it again.
    released: bool,
    /// The fields under `spec` as written, kept when the tree is released.
    fields: Option<WrittenFields>,
}

impl Origin {
    /// An origin for document `document` of `source`.
    pub fn new(source: SourceText, document: usize, root: Node) -> Self {
        Self {
            source,
            document,
            root: Arc::new(root),
            released: false,
            fields: None,
        }
    }

    /// Every field under the document's `spec` as written, with where.
    pub fn written_fields(&self) -> WrittenFields {
        match &self.fields {
            Some(fields) => fields.clone(),
            None => written::written_fields(&self.tree()),
        }
    }

    /// The document's whole tree: parsed again from the source when it was
    /// released (the same parser gives the same tree).
    fn tree(&self) -> Arc<Node> {
        if !self.released {
            return Arc::clone(&self.root);
        }
        node::parse_documents(&self.source.text)
            .ok()
            .and_then(|documents| documents.into_iter().nth(self.document))
            .map_or_else(|| Arc::clone(&self.root), Arc::new)
    }

    /// True when the document holds a URL with credentials in it: its
    /// lines must not be quoted in diagnostics, so the secret never reaches
    /// the output.
    pub fn holds_credentials(&self) -> bool {
        self.tree()
            .any_string(&|text| node::url_has_credentials(text))
    }

    /// A diagnostic pointing at `path` in this document: at the key when
    /// `at_key`, else at the value (or the deepest parent that exists).
    pub fn diagnostic(
        &self,
        severity: Severity,
        path: &FieldPath,
        at_key: bool,
        summary: impl Into<String>,
    ) -> Diagnostic {
        let tree = self.tree();
        let located = tree.locate(path);
        let position = match (at_key, located.key) {
            (true, Some(key)) => key,
            _ => located.value,
        };
        let mut diagnostic = Diagnostic::new(severity, summary).at(
            &self.source,
            position.line,
            position.column,
            (position.offset, position.length),
        );
        if tree.any_string(&|text| node::url_has_credentials(text)) {
            diagnostic.source = None;
            diagnostic.span = None;
        }
        if !path.is_root() {
            diagnostic = diagnostic.with_field(path.to_string());
        }
        diagnostic
    }

    /// Frees the document's tree, keeping the root's position. The trees of
    /// thousands of documents are a large part of a plan's memory, and
    /// after validation only a duplicate's diagnostic points into one.
    pub fn release_tree(&mut self) {
        if self.fields.is_none() {
            self.fields = Some(written::written_fields(&self.root));
        }
        let position = self.root.position;
        self.root = Arc::new(Node {
            value: node::NodeValue::Null,
            position,
        });
        self.released = true;
    }

    /// `file:line:column` of the document's start.
    pub fn location(&self) -> String {
        let position = self.root.position;
        format!("{}:{}:{}", self.source.name, position.line, position.column)
    }
}

/// One jetsync document, decoded.
#[derive(Clone, Debug)]
pub struct Declared {
    pub metadata: ObjectMeta,
    pub spec: AssetSpec,
    pub origin: Origin,
}

impl Declared {
    /// The document's kind.
    pub fn kind(&self) -> Kind {
        self.spec.kind()
    }

    /// The JetStream name: `spec.name`, else `metadata.name`.
    pub fn asset_name(&self) -> &str {
        self.spec.explicit_name().unwrap_or(&self.metadata.name)
    }

    /// What makes two documents declare the same thing, as a key: the
    /// backing stream for streams, KV buckets and object stores (they share
    /// one namespace on the server), the stream and name for consumers, the
    /// object name for connections. One allocation: every document has one.
    pub fn identity_key(&self) -> String {
        let name = self.asset_name();
        let connection = self
            .spec
            .policies()
            .and_then(|policies| policies.connection())
            .unwrap_or("");
        let parts: &[&str] = match &self.spec {
            AssetSpec::Stream(_) => &[connection, "/", name],
            AssetSpec::KeyValue(_) => &[connection, "/KV_", name],
            AssetSpec::ObjectStore(_) => &[connection, "/OBJ_", name],
            AssetSpec::Consumer(spec) => &[connection, "/", &spec.stream_name, "\u{0}", name],
            AssetSpec::NatsConnection(_) => &[
                "connection/",
                self.metadata.namespace.as_deref().unwrap_or(""),
                "/",
                &self.metadata.name,
            ],
        };
        parts.concat()
    }

    /// What the document declares, in words, for messages about its
    /// [`Declared::identity_key`].
    pub fn identity_label(&self) -> String {
        let name = self.asset_name();
        match &self.spec {
            AssetSpec::Stream(_) => format!("stream `{name}`"),
            AssetSpec::KeyValue(_) => format!("key-value bucket `{name}` (stream `KV_{name}`)"),
            AssetSpec::ObjectStore(_) => format!("object store `{name}` (stream `OBJ_{name}`)"),
            AssetSpec::Consumer(spec) => {
                format!("consumer `{name}` of stream `{}`", spec.stream_name)
            }
            AssetSpec::NatsConnection(_) => format!("connection `{}`", self.metadata.name),
        }
    }
}

/// Everything read from a set of paths: the valid documents and every
/// diagnostic (errors, warnings, and notes about skipped documents).
#[derive(Debug, Default)]
pub struct Manifests {
    pub documents: Vec<Declared>,
    pub diagnostics: Vec<Diagnostic>,
    /// Number of YAML files read.
    pub files: usize,
    /// The files read (name and text), for digests of what a plan was made from.
    pub sources: Vec<SourceText>,
}

impl Manifests {
    /// True when no diagnostic is an error.
    pub fn is_valid(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Number of error diagnostics.
    pub fn error_count(&self) -> usize {
        crate::diagnostics::count_errors(&self.diagnostics)
    }
}

/// Reads, decodes and validates every document under `paths` (files,
/// directories searched recursively for `*.yaml`/`*.yml`, or `-` for stdin).
pub fn load(paths: &[PathBuf]) -> Manifests {
    let (sources, mut diagnostics) = read_sources(paths);
    let mut manifests = load_sources(&sources);
    diagnostics.append(&mut manifests.diagnostics);
    manifests.diagnostics = diagnostics;
    manifests
}

/// Decodes and validates already-read sources. Documents with errors are
/// left out of `documents`; their diagnostics say why.
pub fn load_sources(sources: &[SourceText]) -> Manifests {
    let mut manifests = Manifests {
        files: sources.len(),
        sources: sources.to_vec(),
        ..Manifests::default()
    };
    let parts = decode_all(sources);
    let mut checked = Vec::new();
    let mut invalid = Vec::new();
    let documents: usize = parts.iter().map(|part| part.decoded.documents.len()).sum();
    manifests.documents.reserve_exact(documents);
    for mut part in parts {
        manifests.documents.append(&mut part.decoded.documents);
        manifests.diagnostics.append(&mut part.decoded.diagnostics);
        checked.append(&mut part.checked);
        invalid.append(&mut part.invalid);
    }
    // Decoding problems first, then validation problems, then duplicates.
    manifests.diagnostics.append(&mut checked);
    for index in find_duplicates(&manifests.documents, &mut manifests.diagnostics) {
        invalid[index] = true;
    }
    let mut flags = invalid.into_iter();
    manifests
        .documents
        .retain(|_| !flags.next().unwrap_or(false));
    manifests
}

/// The documents and diagnostics of some sources, each document validated
/// (`checked`: its diagnostics; `invalid`: one flag per document) and its
/// tree released.
#[derive(Default)]
struct Part {
    decoded: Manifests,
    checked: Vec<Diagnostic>,
    invalid: Vec<bool>,
}

/// Below this much YAML one thread decodes everything: starting threads
/// would cost more than they save.
const PARALLEL_DECODE_BYTES: usize = 64 * 1024;

/// Stack of a decoding thread: the main thread's usual 8 MiB, as parsing
/// recurses once per nesting level.
const DECODE_STACK_BYTES: usize = 8 * 1024 * 1024;

/// Decodes every source, large inputs on one thread per CPU (YAML parsing is
/// most of a plan's own work). The parts come back in source order, so the
/// documents and diagnostics do not depend on the number of threads.
fn decode_all(sources: &[SourceText]) -> Vec<Part> {
    let decode = |chunk: &[SourceText]| {
        let mut part = Part::default();
        for source in chunk {
            let first = part.decoded.documents.len();
            decode::decode_source(source, &mut part.decoded);
            validate_and_release(&mut part, first);
        }
        part
    };
    let total: usize = sources.iter().map(|source| source.text.len()).sum();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if let [source] = sources
        && cpus > 1
        && total >= PARALLEL_DECODE_BYTES
        && let Some(parts) = decode_in_runs(source, cpus)
    {
        return parts;
    }
    let threads = cpus.min(sources.len());
    if threads < 2 || total < PARALLEL_DECODE_BYTES {
        return vec![decode(sources)];
    }
    // Contiguous chunks of about equal size.
    let share = total.div_ceil(threads);
    let mut chunks = Vec::with_capacity(threads);
    let (mut start, mut size) = (0, 0);
    for (index, source) in sources.iter().enumerate() {
        size += source.text.len();
        if size >= share && chunks.len() + 1 < threads {
            chunks.push(&sources[start..=index]);
            (start, size) = (index + 1, 0);
        }
    }
    if start < sources.len() {
        chunks.push(&sources[start..]);
    }
    crate::parallel::over_chunks(&chunks, "jetsync-decode", Some(DECODE_STACK_BYTES), decode)
}

/// Validates the part's documents from `first` on while their trees are at
/// hand, then frees the trees: the trees of thousands of documents would
/// otherwise all be alive at once.
fn validate_and_release(part: &mut Part, first: usize) {
    for declared in &mut part.decoded.documents[first..] {
        part.invalid.push(check(declared, &mut part.checked));
        declared.origin.release_tree();
    }
}

/// A large stream is read in runs of about this many bytes, one after
/// another on each thread: only one run's trees are alive on a thread.
const RUN_BYTES: usize = 64 * 1024;

/// One large source (a rendered stream on stdin) decoded as runs of whole
/// documents, the runs shared out in order between one thread each, as
/// several files would be; None when a run is not valid YAML (the whole
/// source is then read at once, so the error is the one it has).
fn decode_in_runs(source: &SourceText, threads: usize) -> Option<Vec<Part>> {
    let pieces = threads.max(source.text.len() / RUN_BYTES);
    let runs = node::document_runs(&source.text, pieces);
    if runs.len() < 2 {
        return None;
    }
    let chunks: Vec<&[(std::ops::Range<usize>, u64)]> =
        runs.chunks(runs.len().div_ceil(threads)).collect();
    let decoded = crate::parallel::over_chunks(
        &chunks,
        "jetsync-decode",
        Some(DECODE_STACK_BYTES),
        |chunk: &[(std::ops::Range<usize>, u64)]| {
            chunk
                .iter()
                .map(|(range, lines)| {
                    let mut part = Part::default();
                    let count =
                        decode::decode_run(source, range.clone(), *lines, &mut part.decoded)?;
                    validate_and_release(&mut part, 0);
                    Some((part, count))
                })
                .collect::<Option<Vec<_>>>()
        },
    );
    // Each run counted its documents from 0: place them in the source.
    let mut before = 0;
    let mut parts = Vec::with_capacity(runs.len());
    for (mut part, count) in decoded
        .into_iter()
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .flatten()
    {
        for declared in &mut part.decoded.documents {
            declared.origin.document += before;
        }
        before += count;
        parts.push(part);
    }
    Some(parts)
}

/// Static validation of one document, as diagnostics; true when any is an error.
fn check(declared: &Declared, diagnostics: &mut Vec<Diagnostic>) -> bool {
    let mut has_error = false;
    for problem in validate::validate(&declared.metadata.name, &declared.spec) {
        let severity = match problem.severity {
            ProblemSeverity::Error => Severity::Error,
            ProblemSeverity::Warning => Severity::Warning,
        };
        has_error |= severity == Severity::Error;
        let mut diagnostic =
            declared
                .origin
                .diagnostic(severity, &problem.path, false, problem.message);
        if let Some(help) = problem.help {
            diagnostic = diagnostic.with_help(help);
        }
        diagnostics.push(diagnostic);
    }
    has_error
}

/// Two documents declaring the same asset is an error naming both places.
/// Returns the indices of the later declarations.
fn find_duplicates(documents: &[Declared], diagnostics: &mut Vec<Diagnostic>) -> Vec<usize> {
    let mut first_seen: HashMap<String, &Declared> = HashMap::new();
    let mut duplicates = Vec::new();
    for (index, declared) in documents.iter().enumerate() {
        let key = declared.identity_key();
        let Some(first) = first_seen.get(&key) else {
            first_seen.insert(key, declared);
            continue;
        };
        let label = declared.identity_label();
        let name_path = match declared.spec.explicit_name() {
            Some(_) => FieldPath::spec().field("name"),
            None => FieldPath::root().field("metadata").field("name"),
        };
        diagnostics.push(
            declared
                .origin
                .diagnostic(
                    Severity::Error,
                    &name_path,
                    false,
                    format!(
                        "{label} is declared twice: here and at {}",
                        first.origin.location()
                    ),
                )
                .with_help("keep one of the two documents"),
        );
        duplicates.push(index);
    }
    duplicates
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a reading yields, comparable: each document's name, index and
    /// place, and each diagnostic's place and words.
    fn outline(manifests: &Manifests) -> (Vec<String>, Vec<String>) {
        let documents = manifests
            .documents
            .iter()
            .map(|d| {
                let at = d.origin.root.position;
                format!(
                    "{} #{} {}:{}+{}",
                    d.metadata.name, d.origin.document, at.line, at.column, at.offset
                )
            })
            .collect();
        let diagnostics = manifests
            .diagnostics
            .iter()
            .map(|d| {
                format!(
                    "{:?}:{:?}:{:?} {:?} {}",
                    d.file, d.line, d.column, d.field, d.summary
                )
            })
            .collect();
        (documents, diagnostics)
    }

    #[test]
    fn one_large_stream_read_in_runs_reads_as_it_does_whole() {
        let mut text = String::new();
        for index in 0..1500 {
            text.push_str(&format!(
                "---\napiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: s{index}\nspec:\n  subjects: [\"s{index}.>\"]\n  maxAge: 24h\n"
            ));
            match index {
                300 => text.push_str("  replicas: many\n"),
                700 => text.push_str("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n"),
                1200 => text.push_str(
                    "---\napiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: s5\nspec:\n  subjects: [\"again.>\"]\n",
                ),
                _ => {}
            }
        }
        let source = SourceText {
            name: "<stdin>".into(),
            text: text.into(),
        };
        assert!(node::document_runs(&source.text, 4).len() > 1);
        let in_runs = load_sources(std::slice::from_ref(&source));
        // Beside another source, the stream is read whole on one thread.
        let empty = SourceText {
            name: "empty.yaml".into(),
            text: "".into(),
        };
        let whole = load_sources(&[source, empty]);
        assert_eq!(outline(&in_runs), outline(&whole));
        assert_eq!(in_runs.documents.len(), 1499);
        assert!(
            in_runs
                .diagnostics
                .iter()
                .any(|d| d.summary.contains("declared twice"))
        );
    }
}
