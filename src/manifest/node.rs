//! A YAML document as a tree of values that remember where they were written,
//! so that any problem found later can be pointed at by line and column.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::spec::path::{FieldPath, PathSegment};

/// A position in a source text: 1-based line and column, and the byte range of
/// the value when known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub line: u64,
    pub column: u64,
    pub offset: usize,
    pub length: usize,
}

impl Position {
    fn from_location(location: serde_saphyr::Location) -> Self {
        let span = location.span();
        Self {
            line: location.line(),
            column: location.column(),
            offset: span.byte_offset().unwrap_or(span.offset()) as usize,
            length: span.byte_len().unwrap_or(span.len()) as usize,
        }
    }
}

/// A YAML value with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    pub position: Position,
}

/// The shapes a YAML value can take after parsing.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Integer(i128),
    Float(f64),
    String(String),
    Sequence(Vec<Node>),
    /// Entries in document order, keys with their own positions.
    Mapping(Vec<(Node, Node)>),
}

impl NodeValue {
    /// What kind of value this is, with an article, for messages: `a list`.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Integer(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::String(_) => "a string",
            NodeValue::Sequence(_) => "a list",
            NodeValue::Mapping(_) => "a mapping",
        }
    }
}

/// Where a path leads inside a document: the key that names the value (when
/// the last step is a field) and the value itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Located {
    pub key: Option<Position>,
    pub value: Position,
}

impl Node {
    /// Looks a mapping entry up by key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, value)| value)
    }

    fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.value {
            NodeValue::Mapping(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.value, NodeValue::String(s) if s == key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// True when `test` holds for any string scalar (or key) in the tree.
    pub fn any_string(&self, test: &dyn Fn(&str) -> bool) -> bool {
        match &self.value {
            NodeValue::String(text) => test(text),
            NodeValue::Sequence(items) => items.iter().any(|item| item.any_string(test)),
            NodeValue::Mapping(entries) => entries
                .iter()
                .any(|(key, value)| key.any_string(test) || value.any_string(test)),
            _ => false,
        }
    }

    /// The string value, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// Follows `path` as far as the document goes and returns the deepest
    /// position reached, so a path to a missing field points at its parent.
    pub fn locate(&self, path: &FieldPath) -> Located {
        let mut node = self;
        let mut key = None;
        for segment in path.segments() {
            let next = match segment {
                PathSegment::Field(name) => node.entry(name).map(|(k, v)| (Some(k.position), v)),
                PathSegment::Index(index) => match &node.value {
                    NodeValue::Sequence(items) => items.get(*index).map(|item| (None, item)),
                    _ => None,
                },
            };
            match next {
                Some((next_key, next_node)) => {
                    key = next_key;
                    node = next_node;
                }
                None => break,
            }
        }
        Located {
            key,
            value: node.position,
        }
    }

    /// Converts to JSON for typed deserialization. Mapping keys must be
    /// strings; the error names the path of the first one that is not, and
    /// the position of the offending key or value.
    pub fn to_json(
        &self,
        path: &FieldPath,
    ) -> Result<serde_json::Value, (FieldPath, String, Position)> {
        self.to_json_below()
            .map_err(|(mut below, message, position)| {
                below.reverse();
                let mut segments = path.segments().to_vec();
                segments.extend(below);
                (FieldPath::from_segments(segments), message, position)
            })
    }

    /// [`Node::to_json`], the error's path relative to this node and
    /// innermost first: paths are built only for an error, not for every
    /// node.
    fn to_json_below(&self) -> Result<serde_json::Value, (Vec<PathSegment>, String, Position)> {
        use serde_json::Value;
        let below = |segment: PathSegment| {
            move |mut error: (Vec<PathSegment>, String, Position)| {
                error.0.push(segment);
                error
            }
        };
        Ok(match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Integer(i) => {
                if let Ok(small) = i64::try_from(*i) {
                    Value::from(small)
                } else if let Ok(unsigned) = u64::try_from(*i) {
                    Value::from(unsigned)
                } else {
                    return Err((
                        Vec::new(),
                        format!("the integer {i} is out of range"),
                        self.position,
                    ));
                }
            }
            NodeValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .ok_or_else(|| {
                    (
                        Vec::new(),
                        format!("the number {f} is not finite"),
                        self.position,
                    )
                })?,
            NodeValue::String(s) => Value::String(s.clone()),
            NodeValue::Sequence(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| {
                        item.to_json_below()
                            .map_err(below(PathSegment::Index(index)))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            NodeValue::Mapping(entries) => {
                let mut object = serde_json::Map::new();
                for (key, value) in entries {
                    let NodeValue::String(name) = &key.value else {
                        return Err((
                            Vec::new(),
                            format!(
                                "a key here is {}; field names must be strings",
                                key.value.type_name()
                            ),
                            key.position,
                        ));
                    };
                    let json = value
                        .to_json_below()
                        .map_err(below(PathSegment::Field(name.clone().into())))?;
                    object.insert(name.clone(), json);
                }
                Value::Object(object)
            }
        })
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeValue>::deserialize(deserializer)?;
        Ok(Node {
            value: spanned.value,
            position: Position::from_location(spanned.referenced),
        })
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Integer(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Integer(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeValue, E> {
        Ok(NodeValue::Integer(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeValue, E> {
        i128::try_from(v)
            .map(NodeValue::Integer)
            .map_err(|_| E::custom(format!("integer {v} is out of range")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::String(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<NodeValue, E> {
        Ok(NodeValue::String(String::from_utf8_lossy(v).into_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeValue::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<Node, Node>()? {
            entries.push((key, value));
        }
        Ok(NodeValue::Mapping(entries))
    }
}

/// True for a text that may be a URL with a user-info part
/// (`nats://user:password@host`, or `user:password@host` without a scheme,
/// which async-nats takes too). Errs on the side of secrecy: any text with
/// an `@` that reads as such a URL counts.
pub fn url_has_credentials(text: &str) -> bool {
    text.contains('@') && crate::spec::server_url::has_user_info(text)
}

/// Parses every document of a YAML text. Empty documents are left out.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, serde_saphyr::Error> {
    match super::fast_yaml::parse_documents(text) {
        Some(documents) => Ok(documents),
        None => parse_documents_with_serde_saphyr(text),
    }
}

/// [`parse_documents`] by the fast path alone: None where it leaves the
/// text to serde-saphyr. Public for the differential tests and fuzz target
/// that hold it against [`parse_documents_with_serde_saphyr`].
#[doc(hidden)]
pub fn parse_documents_fast(text: &str) -> Option<Vec<Node>> {
    super::fast_yaml::parse_documents(text)
}

/// [`parse_documents`] through serde-saphyr's deserializer: every YAML
/// feature, and every error message.
pub fn parse_documents_with_serde_saphyr(text: &str) -> Result<Vec<Node>, serde_saphyr::Error> {
    let options = serde_saphyr::options! {
        with_snippet: false,
        budget: read_budget(text.len()),
    };
    serde_saphyr::from_str_multiple_with_options::<Node, Vec<Node>>(text, options)
}

impl Node {
    /// Moves the node and everything in it `lines` lines and `bytes` bytes
    /// further into the text: the tree of a piece of a text, placed in it.
    pub fn shift(&mut self, lines: u64, bytes: usize) {
        self.position.line += lines;
        self.position.offset += bytes;
        match &mut self.value {
            NodeValue::Sequence(items) => {
                items.iter_mut().for_each(|item| item.shift(lines, bytes))
            }
            NodeValue::Mapping(entries) => entries.iter_mut().for_each(|(key, value)| {
                key.shift(lines, bytes);
                value.shift(lines, bytes);
            }),
            _ => {}
        }
    }
}

/// A text cut into about `pieces` runs of whole documents, each starting
/// at a `---` line (or the text's start): `(byte range, lines before it)`.
/// One run when the text cannot be cut safely (directives such as `%YAML`
/// apply to the next document).
pub fn document_runs(text: &str, pieces: usize) -> Vec<(std::ops::Range<usize>, u64)> {
    let whole = vec![(0..text.len(), 0)];
    if pieces < 2 || text.starts_with('%') || text.contains("\n%") {
        return whole;
    }
    let share = text.len() / pieces;
    let mut starts = vec![0];
    let mut from = share;
    while from < text.len() {
        // The next `---` line at or after `from`.
        let Some(found) = text[from..].find("\n---") else {
            break;
        };
        let start = from + found + 1;
        let rest = &text[start + 3..];
        if rest.is_empty() || rest.starts_with('\n') || rest.starts_with("\r\n") {
            starts.push(start);
            from = start + share.max(1);
        } else {
            from = start + 3;
        }
    }
    let mut runs = Vec::with_capacity(starts.len());
    let mut lines = 0;
    let mut counted = 0;
    for (index, &start) in starts.iter().enumerate() {
        let end = starts.get(index + 1).copied().unwrap_or(text.len());
        lines += text.as_bytes()[counted..start]
            .iter()
            .filter(|&&byte| byte == b'\n')
            .count() as u64;
        counted = start;
        runs.push((start..end, lines));
    }
    runs
}

/// Values any text may hold whatever its size (serde-saphyr's default).
pub const BASE_VALUES: usize = 250_000;
/// Beyond [`BASE_VALUES`], one value per this many bytes of text: written
/// YAML spends at least a few bytes a value (`- a` and a line break), so
/// only alias expansion goes beyond it.
pub const BYTES_PER_VALUE: usize = 4;
/// Values one document may hold: no manifest comes near it.
pub const MAX_DOCUMENT_VALUES: usize = 250_000;
/// Levels of nesting (serde-saphyr's default).
pub const MAX_DEPTH: usize = 64;

/// What reading `length` bytes of YAML may cost: no limit on documents,
/// values (aliases expanded), events and string bytes in proportion to the
/// text, nesting bounded. A document-count limit would refuse honest
/// rendered output (`kustomize build`, `helm template`) of large
/// repositories; the work done stays proportional to the input.
fn read_budget(length: usize) -> Option<serde_saphyr::Budget> {
    let values = BASE_VALUES + length / BYTES_PER_VALUE;
    serde_saphyr::budget! {
        max_documents: usize::MAX,
        max_nodes: values,
        max_events: 4 * values,
        max_total_scalar_bytes: 64 * 1024 * 1024 + length,
        max_depth: MAX_DEPTH,
    }
}

/// The position of the first value of a document beyond `limit` values
/// (scalars, keys, lists and mappings, in document order), if it has more.
pub fn value_beyond(root: &Node, limit: usize) -> Option<Position> {
    fn walk(node: &Node, count: &mut usize, limit: usize) -> Option<Position> {
        *count += 1;
        if *count > limit {
            return Some(node.position);
        }
        match &node.value {
            NodeValue::Sequence(items) => items.iter().find_map(|item| walk(item, count, limit)),
            NodeValue::Mapping(entries) => entries.iter().find_map(|(key, value)| {
                walk(key, count, limit).or_else(|| walk(value, count, limit))
            }),
            _ => None,
        }
    }
    walk(root, &mut 0, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_remember_line_and_column_of_nested_values() {
        let docs =
            parse_documents("kind: Stream\nspec:\n  subjects:\n    - a.>\n    - b.*\n").unwrap();
        let root = &docs[0];
        let located = root.locate(&FieldPath::spec().field("subjects").index(1));
        assert_eq!((located.value.line, located.value.column), (5, 7));
        let key = root
            .locate(&FieldPath::spec().field("subjects"))
            .key
            .unwrap();
        assert_eq!((key.line, key.column), (3, 3));
    }

    #[test]
    fn every_document_of_a_stream_is_parsed() {
        let docs = parse_documents("a: 1\n---\nb: two\n---\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].get("b").and_then(Node::as_str), Some("two"));
    }

    #[test]
    fn quoted_numbers_stay_strings_and_plain_ones_are_integers() {
        let docs = parse_documents("a: \"3\"\nb: 3\n").unwrap();
        let json = docs[0].to_json(&FieldPath::root()).unwrap();
        assert_eq!(json, serde_json::json!({"a": "3", "b": 3}));
    }
}
