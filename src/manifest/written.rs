//! The fields under a document's `spec` as written, with where: kept for
//! every declared asset, so that plans show values as written and point at
//! fields after the document's tree is freed.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::{Deserialize, Deserializer};

use super::node::{Node, NodeValue, Position};

/// A field under `spec` as the manifest wrote it: where (the value of a
/// scalar, the key of a list or mapping) and, for a scalar or a list of
/// scalars, its text (`24h`, `1GiB`, `[a.>, b.>]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize, JsonSchema)]
pub struct WrittenField {
    pub line: u64,
    pub column: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Every field under a document's `spec` as written, by path below `spec`
/// (`maxAge`, `consumerLimits.inactiveThreshold`, `sources[0].name`).
///
/// Kept for every declared asset of a plan, so it is packed into one shared
/// string (a map of thousands of documents' fields would be a third of a
/// large plan's memory); it reads and writes as a JSON map of
/// [`WrittenField`]s.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WrittenFields(Option<Arc<str>>);

/// Separates the records of [`WrittenFields`], and the parts of a record.
const RECORD_END: char = '\u{1e}';
const PART_END: char = '\u{1f}';

impl WrittenFields {
    fn pack<'a>(fields: impl IntoIterator<Item = (&'a str, &'a WrittenField)>) -> Self {
        let mut packed = String::new();
        for (path, field) in fields {
            push_record(
                &mut packed,
                path,
                field.line,
                field.column,
                field.text.as_deref(),
            );
        }
        Self::packed(packed)
    }

    fn packed(packed: String) -> Self {
        Self((!packed.is_empty()).then(|| Arc::from(packed)))
    }

    /// True when no field is known.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Every field, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, WrittenField)> {
        self.0
            .as_deref()
            .unwrap_or_default()
            .split_terminator(RECORD_END)
            .filter_map(|record| {
                let mut parts = record.splitn(4, PART_END);
                let path = parts.next()?;
                let line = parts.next()?.parse().ok()?;
                let column = parts.next()?.parse().ok()?;
                let text = parts.next().map(str::to_string);
                Some((path, WrittenField { line, column, text }))
            })
    }

    /// The field at `path`.
    pub fn get(&self, path: &str) -> Option<WrittenField> {
        self.iter()
            .find(|(at, _)| *at == path)
            .map(|(_, field)| field)
    }

    /// True when the manifest wrote a field at `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.get(path).is_some()
    }
}

impl Serialize for WrittenFields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for WrittenFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = BTreeMap::<String, WrittenField>::deserialize(deserializer)?;
        Ok(Self::pack(
            fields.iter().map(|(path, field)| (path.as_str(), field)),
        ))
    }
}

impl JsonSchema for WrittenFields {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "WrittenFields".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        BTreeMap::<String, WrittenField>::json_schema(generator)
    }
}

/// One record of [`WrittenFields`]; a text holding a separator is left out.
fn push_record(packed: &mut String, path: &str, line: u64, column: u64, text: Option<&str>) {
    packed.push_str(path);
    packed.push(PART_END);
    push_decimal(packed, line);
    packed.push(PART_END);
    push_decimal(packed, column);
    if let Some(text) = text.filter(|text| !text.contains([RECORD_END, PART_END])) {
        packed.push(PART_END);
        packed.push_str(text);
    }
    packed.push(RECORD_END);
}

/// `value` in decimal digits, as `Display` writes it.
fn push_decimal(text: &mut String, value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = value;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for digit in &digits[start..] {
        text.push(char::from(*digit));
    }
}

/// Every field under a document's `spec`, by path below it (`maxAge`,
/// `consumerLimits.inactiveThreshold`, `sources[0].name`). Lists of
/// scalars are one field; their items are not listed. Of two fields at one
/// path (`a.b: 1` beside `a: {b: 2}`), the one written later is kept.
pub fn written_fields(root: &Node) -> WrittenFields {
    let Some(spec) = root.get("spec") else {
        return WrittenFields::default();
    };
    let NodeValue::Mapping(entries) = &spec.value else {
        return WrittenFields::default();
    };
    // Room for about two fields an entry, with their paths and texts,
    // so that the buffers rarely grow.
    let mut found = Found {
        path: String::with_capacity(64),
        text: String::with_capacity(32 * entries.len()),
        tree_bytes: 0,
        records: Vec::with_capacity(2 * entries.len()),
    };
    found.walk(None, spec);
    found.pack()
}

/// A range of [`Found::text`].
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

/// A field's text: none, a string of the tree, or one written out.
#[derive(Clone, Copy)]
enum Text<'a> {
    None,
    Tree(&'a str),
    Written(Span),
}

/// One field found.
struct Record<'a> {
    path: Span,
    line: u64,
    column: u64,
    text: Text<'a>,
}

/// The fields of one document found so far. Their paths, and the texts
/// that are not the tree's own strings, are kept in one string: a
/// document's fields cost a few allocations, not a few per field.
struct Found<'a> {
    /// The path of the node being walked.
    path: String,
    text: String,
    /// Bytes of the tree's strings among the texts.
    tree_bytes: usize,
    records: Vec<Record<'a>>,
}

impl<'a> Found<'a> {
    /// Records `node`, written under the key at `key`, and what is in it.
    fn walk(&mut self, key: Option<Position>, node: &'a Node) {
        let at = key.unwrap_or(node.position);
        let length = self.path.len();
        match &node.value {
            NodeValue::Mapping(entries) => {
                if length > 0 {
                    self.record(at, Text::None);
                }
                for (name, value) in entries {
                    let Some(text) = name.as_str() else {
                        continue;
                    };
                    if length > 0 {
                        self.path.push('.');
                    }
                    self.path.push_str(text);
                    self.walk(Some(name.position), value);
                    self.path.truncate(length);
                }
            }
            NodeValue::Sequence(items) => {
                let scalars = items.iter().all(|item| !is_collection(item));
                let text = match scalars {
                    true => Text::Written(self.write(|text| {
                        text.push('[');
                        for (index, item) in items.iter().enumerate() {
                            if index > 0 {
                                text.push_str(", ");
                            }
                            push_scalar(text, item);
                        }
                        text.push(']');
                    })),
                    false => Text::None,
                };
                self.record(at, text);
                if !scalars {
                    for (index, item) in items.iter().enumerate() {
                        self.path.push('[');
                        push_decimal(&mut self.path, index as u64);
                        self.path.push(']');
                        self.walk(None, item);
                        self.path.truncate(length);
                    }
                }
            }
            NodeValue::String(text) => {
                self.tree_bytes += text.len();
                self.record(node.position, Text::Tree(text));
            }
            _ => {
                let text = self.write(|text| push_scalar(text, node));
                self.record(node.position, Text::Written(text));
            }
        }
    }

    /// What `write` appends to the text, as a span of it.
    fn write(&mut self, write: impl FnOnce(&mut String)) -> Span {
        let start = self.text.len();
        write(&mut self.text);
        Span {
            start,
            end: self.text.len(),
        }
    }

    /// A field at the current path.
    fn record(&mut self, at: Position, text: Text<'a>) {
        let start = self.text.len();
        self.text.push_str(&self.path);
        let path = Span {
            start,
            end: self.text.len(),
        };
        self.records.push(Record {
            path,
            line: at.line,
            column: at.column,
            text,
        });
    }

    /// The fields in path order, of two at one path the later.
    fn pack(mut self) -> WrittenFields {
        let text = self.text;
        let slice = |span: Span| &text[span.start..span.end];
        self.records
            .sort_by(|a, b| slice(a.path).cmp(slice(b.path)));
        // Room for every path and text, and for separators and positions.
        let room = text.len() + self.tree_bytes + 16 * self.records.len();
        let mut packed = String::with_capacity(room);
        for (index, record) in self.records.iter().enumerate() {
            let path = slice(record.path);
            let overwritten = self
                .records
                .get(index + 1)
                .is_some_and(|next| slice(next.path) == path);
            if overwritten {
                continue;
            }
            let written = match record.text {
                Text::None => None,
                Text::Tree(text) => Some(text),
                Text::Written(span) => Some(slice(span)),
            };
            push_record(&mut packed, path, record.line, record.column, written);
        }
        WrittenFields::packed(packed)
    }
}

fn is_collection(node: &Node) -> bool {
    matches!(node.value, NodeValue::Sequence(_) | NodeValue::Mapping(_))
}

/// A scalar's text as written in a list: `null`, `true`, `3`, `1.5`, `a`.
fn push_scalar(text: &mut String, node: &Node) {
    use std::fmt::Write as _;
    match &node.value {
        NodeValue::Null => text.push_str("null"),
        NodeValue::Bool(value) => text.push_str(if *value { "true" } else { "false" }),
        NodeValue::Integer(value) => match u64::try_from(value.unsigned_abs()) {
            Ok(magnitude) => {
                if *value < 0 {
                    text.push('-');
                }
                push_decimal(text, magnitude);
            }
            Err(_) => {
                let _ = write!(text, "{value}");
            }
        },
        NodeValue::Float(value) => {
            let _ = write!(text, "{value}");
        }
        NodeValue::String(value) => text.push_str(value),
        NodeValue::Sequence(_) | NodeValue::Mapping(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::node::parse_documents;

    /// [`written_fields`] as it was first written: one `String` per path
    /// and text, sorted and deduplicated. The reference for the tests.
    fn written_fields_one_by_one(root: &Node) -> WrittenFields {
        fn scalar_text(node: &Node) -> Option<String> {
            match &node.value {
                NodeValue::Null => Some("null".to_string()),
                NodeValue::Bool(value) => Some(value.to_string()),
                NodeValue::Integer(value) => Some(value.to_string()),
                NodeValue::Float(value) => Some(value.to_string()),
                NodeValue::String(text) => Some(text.clone()),
                NodeValue::Sequence(_) | NodeValue::Mapping(_) => None,
            }
        }
        fn walk(
            path: &str,
            key: Option<Position>,
            node: &Node,
            fields: &mut Vec<(String, WrittenField)>,
        ) {
            let at = |position: Position, text: Option<String>| WrittenField {
                line: position.line,
                column: position.column,
                text,
            };
            let join = |name: &str| {
                if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                }
            };
            match &node.value {
                NodeValue::Mapping(entries) => {
                    if !path.is_empty() {
                        fields.push((path.to_string(), at(key.unwrap_or(node.position), None)));
                    }
                    for (name, value) in entries {
                        if let Some(text) = name.as_str() {
                            walk(&join(text), Some(name.position), value, fields);
                        }
                    }
                }
                NodeValue::Sequence(items) => {
                    let texts: Option<Vec<String>> = items.iter().map(scalar_text).collect();
                    fields.push((
                        path.to_string(),
                        at(
                            key.unwrap_or(node.position),
                            texts.map(|texts| format!("[{}]", texts.join(", "))),
                        ),
                    ));
                    if items.iter().any(|item| scalar_text(item).is_none()) {
                        for (index, item) in items.iter().enumerate() {
                            walk(&format!("{path}[{index}]"), None, item, fields);
                        }
                    }
                }
                _ => {
                    fields.push((path.to_string(), at(node.position, scalar_text(node))));
                }
            }
        }
        let mut fields = Vec::new();
        if let Some((_, spec)) = root.get("spec").map(|spec| ((), spec))
            && matches!(spec.value, NodeValue::Mapping(_))
        {
            walk("", None, spec, &mut fields);
        }
        // In path order; of two fields at one path (`a.b: 1` beside `a: {b: 2}`)
        // the one written later.
        fields.reverse();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        fields.dedup_by(|later, earlier| later.0 == earlier.0);
        WrittenFields::pack(fields.iter().map(|(path, field)| (path.as_str(), field)))
    }

    /// Every way of writing fields the walk tells apart.
    const CASES: &[&str] = &[
        "kind: Stream\nspec:\n  maxAge: 24h\n  subjects: [a.>, b.*]\n  consumerLimits:\n    inactiveThreshold: 1h\n",
        "spec:\n  replicas: 3\n  maxMsgs: -1\n  big: 123456789012345678901234567890\n  ratio: 1.5\n  flag: true\n  none: ~\n",
        "spec:\n  sources:\n    - name: a\n      filterSubject: x\n    - b\n    - [c, d]\n  list: [1, -2, 2.5, null, false, '']\n  empty: []\n  nested: {}\n",
        "spec:\n  a.b: 1\n  a:\n    b: 2\n  '': empty key\n  c: \"with \\u001e separator\"\n",
        "spec:\n  a:\n    b: 2\n  a.b: 1\n  1: numeric key\n  x:\n    - - deep\n      - list\n",
        "spec: [not, a, mapping]\n",
        "kind: Stream\n",
    ];

    #[test]
    fn written_fields_are_those_found_one_string_at_a_time() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts: Vec<String> = CASES.iter().map(|case| case.to_string()).collect();
        let mut files = Vec::new();
        crate::manifest::fast_yaml::tests::yaml_files(&root.join("examples"), &mut files);
        crate::manifest::fast_yaml::tests::yaml_files(&root.join("tests"), &mut files);
        texts.extend(
            files
                .iter()
                .filter_map(|file| std::fs::read_to_string(file).ok()),
        );
        let mut compared = 0;
        for (index, text) in texts.iter().enumerate() {
            let documents = parse_documents(text);
            assert!(index >= CASES.len() || documents.is_ok(), "{text}");
            for document in documents.unwrap_or_default() {
                assert_eq!(
                    written_fields(&document),
                    written_fields_one_by_one(&document),
                    "{text}"
                );
                compared += 1;
            }
        }
        assert!(compared > 100, "compared only {compared} documents");
    }

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        for value in [0, 7, 10, 99, 100, 12_345, u64::MAX] {
            let mut text = String::new();
            push_decimal(&mut text, value);
            assert_eq!(text, value.to_string());
        }
    }

    #[test]
    fn written_fields_keep_where_and_what_was_written_and_read_back_from_json() {
        let docs = parse_documents(
            "kind: Stream\nspec:\n  maxAge: 24h\n  subjects: [a.>, b.*]\n  consumerLimits:\n    inactiveThreshold: 1h\n",
        )
        .unwrap();
        let fields = written_fields(&docs[0]);
        let max_age = fields.get("maxAge").unwrap();
        assert_eq!(
            (max_age.line, max_age.column, max_age.text.as_deref()),
            (3, 11, Some("24h"))
        );
        assert_eq!(
            fields.get("subjects").unwrap().text.as_deref(),
            Some("[a.>, b.*]")
        );
        assert_eq!(fields.get("consumerLimits").unwrap().line, 5);
        assert_eq!(
            fields
                .get("consumerLimits.inactiveThreshold")
                .unwrap()
                .text
                .as_deref(),
            Some("1h")
        );
        let json = serde_json::to_string(&fields).unwrap();
        assert_eq!(
            serde_json::from_str::<WrittenFields>(&json).unwrap(),
            fields
        );
    }
}
