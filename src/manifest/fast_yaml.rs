//! The fast path for the YAML manifests are usually written in: the
//! [`Node`] tree built straight from the YAML parser's events, three times
//! faster than through serde-saphyr's deserializer, which is most of what a
//! plan of thousands of assets costs on the client.
//!
//! It builds exactly the tree [`super::node::parse_documents_with_serde_saphyr`]
//! builds — same values, same positions — or gives up (`None`) and lets that
//! decide: on any parse error (so every error message comes from one place),
//! on anchors, aliases, tags, merge keys, `%YAML` directives, duplicate keys,
//! non-string keys, documents that are not mappings, plain scalars whose type
//! it does not resolve with certainty (floats, hex and octal, `1_000`), and
//! inputs near serde-saphyr's budgets (values and nesting; documents are
//! not limited). The tests check it against
//! serde-saphyr on every manifest in the repository and on a corpus of
//! edge cases.

use std::borrow::Cow;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span};

use super::block_yaml;
use super::node::{Node, NodeValue, Position};

/// Inputs larger than this go the exact way (and are refused there).
const MAX_TEXT_BYTES: usize = super::source::MAX_SOURCE_BYTES as usize;
/// serde-saphyr refuses more than 32 comments in a row (no other token
/// between them). Each line holds at most one comment and any other
/// non-blank line holds a token, so with fewer consecutive non-blank lines
/// holding `#` than this, no input comes near it (`helm template`'s one
/// `# Source:` line per document is far from it).
const MAX_HASH_LINES_IN_A_ROW: usize = 24;

/// The longest run of consecutive non-blank lines that hold a `#` (blank
/// lines do not end a run).
fn hash_lines_in_a_row(text: &str) -> usize {
    let (mut longest, mut run) = (0, 0);
    for line in text.lines() {
        if line.contains('#') {
            run += 1;
            longest = longest.max(run);
        } else if !line.trim().is_empty() {
            run = 0;
        }
    }
    longest
}
/// Well inside serde-saphyr's budgets (64 levels; values in proportion to
/// the text, see [`super::node::BASE_VALUES`]), so that whatever the fast
/// path accepts, serde-saphyr accepts: the fast path counts events, at
/// least one per value, and gives up at half the values the text may hold.
/// Documents are not counted: there is no limit on them.
const MAX_DEPTH: usize = 32;

/// The events the fast path reads from `length` bytes before giving up.
fn max_events(length: usize) -> usize {
    (super::node::BASE_VALUES + length / super::node::BYTES_PER_VALUE) / 2
}
/// Mappings with more entries are checked for duplicate keys by sorting.
const LINEAR_KEY_CHECK: usize = 16;

/// Every document of `text`, or None when the exact path must decide.
pub fn parse_documents(text: &str) -> Option<Vec<Node>> {
    if text.len() > MAX_TEXT_BYTES
        || text.starts_with('\u{feff}')
        || (text.contains('#') && hash_lines_in_a_row(text) >= MAX_HASH_LINES_IN_A_ROW)
    {
        return None;
    }
    block_yaml::parse_documents(text, max_events(text.len()))
        .or_else(|| parse_documents_from_events(text))
}

/// [`parse_documents`] from the YAML parser's events.
pub(super) fn parse_documents_from_events(text: &str) -> Option<Vec<Node>> {
    let mut builder = Builder::default();
    let max_events = max_events(text.len());
    for (count, item) in Parser::new_from_str(text).enumerate() {
        if count > max_events {
            return None;
        }
        let (event, span) = item.ok()?;
        builder.event(event, &span)?;
    }
    builder.finish()
}

/// A collection being read.
enum Open {
    Sequence {
        position: Position,
        items: Vec<Node>,
    },
    Mapping {
        position: Position,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

#[derive(Default)]
pub(super) struct Builder {
    documents: Vec<Node>,
    open: Vec<Open>,
    root: Option<Node>,
    ended: bool,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: &Span) -> Option<()> {
        match event {
            Event::StreamStart => {}
            Event::StreamEnd => self.stream_end(),
            Event::DocumentStart(_, version) if version.is_some() => return None,
            Event::DocumentStart(..) => self.document_start()?,
            Event::DocumentEnd => self.document_end()?,
            Event::Scalar(value, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                self.scalar(value, style, position(span))?;
            }
            Event::SequenceStart(_, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                self.sequence_start(position(span))?;
            }
            Event::MappingStart(_, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                self.mapping_start(position(span))?;
            }
            Event::SequenceEnd => self.sequence_end()?,
            Event::MappingEnd => self.mapping_end()?,
            Event::Alias(_) | Event::Anchor(..) | Event::UnresolvedAlias(_) => return None,
            // Comments are not part of the tree.
            _ => {}
        }
        Some(())
    }

    pub(super) fn stream_end(&mut self) {
        self.ended = true;
    }

    pub(super) fn document_start(&mut self) -> Option<()> {
        (self.root.is_none() && self.open.is_empty()).then_some(())
    }

    pub(super) fn document_end(&mut self) -> Option<()> {
        if !self.open.is_empty() {
            return None;
        }
        match self.root.take()? {
            // serde-saphyr leaves out empty documents.
            Node {
                value: NodeValue::Null,
                ..
            } => {}
            root @ Node {
                value: NodeValue::Mapping(_),
                ..
            } => {
                self.documents.push(root);
            }
            _ => return None,
        }
        Some(())
    }

    pub(super) fn scalar(
        &mut self,
        value: Cow<'_, str>,
        style: ScalarStyle,
        position: Position,
    ) -> Option<()> {
        let is_key = matches!(self.open.last(), Some(Open::Mapping { key: None, .. }));
        let value = scalar(value, style, is_key)?;
        self.add(Node { value, position })
    }

    pub(super) fn sequence_start(&mut self, position: Position) -> Option<()> {
        if self.open.len() >= MAX_DEPTH {
            return None;
        }
        self.open.push(Open::Sequence {
            position,
            items: Vec::new(),
        });
        Some(())
    }

    pub(super) fn mapping_start(&mut self, position: Position) -> Option<()> {
        if self.open.len() >= MAX_DEPTH {
            return None;
        }
        self.open.push(Open::Mapping {
            position,
            entries: Vec::new(),
            key: None,
        });
        Some(())
    }

    /// Makes room for `additional` more items or entries in the collection
    /// being read, when the caller knows how many follow.
    pub(super) fn reserve(&mut self, additional: usize) {
        match self.open.last_mut() {
            Some(Open::Sequence { items, .. }) => items.reserve_exact(additional),
            Some(Open::Mapping { entries, .. }) => entries.reserve_exact(additional),
            None => {}
        }
    }

    pub(super) fn sequence_end(&mut self) -> Option<()> {
        match self.open.pop()? {
            Open::Sequence { position, items } => self.add(Node {
                value: NodeValue::Sequence(items),
                position,
            }),
            Open::Mapping { .. } => None,
        }
    }

    pub(super) fn mapping_end(&mut self) -> Option<()> {
        match self.open.pop()? {
            Open::Mapping {
                position,
                entries,
                key: None,
            } => {
                if entries.len() > LINEAR_KEY_CHECK && has_duplicate_keys(&entries) {
                    return None;
                }
                self.add(Node {
                    value: NodeValue::Mapping(entries),
                    position,
                })
            }
            _ => None,
        }
    }

    /// Adds a finished node to the collection being read, or makes it the
    /// document's root.
    fn add(&mut self, node: Node) -> Option<()> {
        match self.open.last_mut() {
            None if self.root.is_none() => self.root = Some(node),
            None => return None,
            Some(Open::Sequence { items, .. }) => items.push(node),
            Some(Open::Mapping { entries, key, .. }) => match key.take() {
                Some(key) => entries.push((key, node)),
                None => {
                    let NodeValue::String(name) = &node.value else {
                        return None;
                    };
                    if entries.len() <= LINEAR_KEY_CHECK
                        && entries.iter().any(
                            |(other, _)| matches!(&other.value, NodeValue::String(o) if o == name),
                        )
                    {
                        return None;
                    }
                    *key = Some(node);
                }
            },
        }
        Some(())
    }

    pub(super) fn finish(self) -> Option<Vec<Node>> {
        (self.ended && self.open.is_empty() && self.root.is_none() && !self.documents.is_empty())
            .then_some(self.documents)
    }
}

fn has_duplicate_keys(entries: &[(Node, Node)]) -> bool {
    let mut names: Vec<&str> = entries.iter().filter_map(|(key, _)| key.as_str()).collect();
    names.sort_unstable();
    names.windows(2).any(|pair| pair[0] == pair[1])
}

/// The position serde-saphyr reports for the node an event starts: 1-based
/// line and column, byte offset and length (character ones when the parser
/// has no byte offsets).
fn position(span: &Span) -> Position {
    let (start, end) = (&span.start, &span.end);
    let (offset, length) = match (start.byte_offset(), end.byte_offset()) {
        (Some(first), Some(last))
            if first <= u32::MAX as usize && last.saturating_sub(first) <= u32::MAX as usize =>
        {
            (first, last.saturating_sub(first))
        }
        _ => (start.index(), span.len()),
    };
    Position {
        line: start.line() as u64,
        column: start.col() as u64 + 1,
        offset,
        length,
    }
}

/// A scalar's value as serde-saphyr infers it for an untyped value, or None
/// when that inference is not certain here. A plain mapping key must be a
/// string (serde-saphyr compares keys in its own way).
fn scalar(value: Cow<'_, str>, style: ScalarStyle, is_key: bool) -> Option<NodeValue> {
    if style != ScalarStyle::Plain {
        return Some(NodeValue::String(value.into_owned()));
    }
    let text = value.as_ref();
    let space = |byte: Option<&u8>| matches!(byte, Some(b' ' | b'\t' | b'\r' | b'\n'));
    if space(text.as_bytes().first()) || space(text.as_bytes().last()) {
        return None;
    }
    let inferred = if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        NodeValue::Null
    } else if let Some(flag) = yaml11_bool(text) {
        NodeValue::Bool(flag)
    } else if !number_shaped(text) {
        NodeValue::String(value.into_owned())
    } else if let Some(integer) = simple_integer(text) {
        NodeValue::Integer(integer)
    } else if cannot_be_a_number(text) {
        NodeValue::String(value.into_owned())
    } else {
        return None;
    };
    if is_key && !matches!(&inferred, NodeValue::String(name) if name != "<<") {
        return None;
    }
    Some(inferred)
}

/// YAML 1.1 booleans, which serde-saphyr reads by default (`yes`, `off`, …).
fn yaml11_bool(text: &str) -> Option<bool> {
    let is = |word: &str| text.eq_ignore_ascii_case(word);
    if is("true") || is("yes") || is("y") || is("on") {
        Some(true)
    } else if is("false") || is("no") || is("n") || is("off") {
        Some(false)
    } else {
        None
    }
}

/// After an optional sign, a digit or a dot: what every integer and float
/// spelling starts with. Anything else is a string.
fn number_shaped(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    matches!(unsigned.as_bytes().first(), Some(b'0'..=b'9' | b'.'))
}

/// `0`, `42`, `-7`: decimal integers without sign `+`, leading zeros or
/// underscores that fit in 64 bits.
fn simple_integer(text: &str) -> Option<i128> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|byte| byte.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    plain.then(|| text.parse().ok()).flatten()
}

/// True when no integer (decimal, `0x`, `0o`, `0b`) or float spelling
/// (`.inf` and `.nan` included) can hold one of the text's characters:
/// `30s`, `10MiB`, `1h30m`, `7d`.
fn cannot_be_a_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if unsigned.eq_ignore_ascii_case(".inf") || unsigned.eq_ignore_ascii_case(".nan") {
        return false;
    }
    let bytes = unsigned.as_bytes();
    let radix_prefix = bytes.len() > 1
        && bytes[0] == b'0'
        && matches!(bytes[1], b'x' | b'X' | b'o' | b'O' | b'b' | b'B');
    !radix_prefix
        && bytes
            .iter()
            .any(|byte| !matches!(byte, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-' | b'_'))
}

#[cfg(test)]
pub(super) mod tests {
    use std::path::Path;

    use super::*;
    use crate::manifest::node::parse_documents_with_serde_saphyr;

    /// The fast path's answer equals serde-saphyr's whenever it gives one.
    fn agrees(text: &str) -> bool {
        let Some(fast) = parse_documents(text) else {
            return false;
        };
        let exact = parse_documents_with_serde_saphyr(text).unwrap_or_else(|error| {
            panic!("the fast path accepted what serde-saphyr refuses ({error}):\n{text}")
        });
        assert_eq!(
            fast, exact,
            "the fast path differs from serde-saphyr on:\n{text}"
        );
        true
    }

    /// Every `*.yaml`/`*.yml` file under `dir`.
    pub(in crate::manifest) fn yaml_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                yaml_files(&path, found);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "yaml" || extension == "yml")
            {
                found.push(path);
            }
        }
    }

    #[test]
    fn every_manifest_in_the_repository_reads_the_same_both_ways() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["examples", "tests", "crds", "manifests", "charts", "fuzz"] {
            yaml_files(&root.join(dir), &mut files);
        }
        assert!(files.len() > 10, "found only {files:?}");
        let mut fast = 0;
        for file in &files {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            fast += usize::from(agrees(&text));
        }
        assert!(
            fast > 5,
            "the fast path took only {fast} of {} files",
            files.len()
        );
    }

    #[test]
    fn typical_manifests_take_the_fast_path() {
        let stream = "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: s-17\n  \
                      labels:\n    team: platform\nspec:\n  subjects: [\"s.17.>\"]\n  storage: file\n  \
                      maxAge: 1h\n  maxBytes: 10MiB\n  replicas: 3\n---\n\
                      apiVersion: jetsync.dev/v1alpha1\nkind: Consumer\nmetadata:\n  name: s-17-c0\n\
                      spec:\n  streamName: s-17\n  name: c0\n  filterSubject: s.17.c0\n  \
                      ackPolicy: explicit\n  ackWait: 30s\n  maxDeliver: 5\n  backoff: [1s, 5s, 7d]\n";
        assert!(agrees(stream));
        assert!(agrees(
            "# a comment\nkind: KeyValue # and another\nmetadata: {name: config}\nspec:\n  history: 5\n  ttl: 1h\n"
        ));
    }

    #[test]
    fn rendered_output_with_a_comment_per_document_takes_the_fast_path() {
        let stream: String = (0..100)
            .map(|index| {
                format!(
                    "---\n# Source: app/templates/s.yaml\nkind: Stream\nmetadata:\n  name: s{index} # why\nspec:\n  maxAge: 24h\n"
                )
            })
            .collect();
        assert!(agrees(&stream));
        let many: String = (0..40).map(|index| format!("# {index}\n\n")).collect();
        assert_eq!(hash_lines_in_a_row(&format!("a: 1\n{many}b: 2\n")), 40);
        assert!(parse_documents(&format!("a: 1\n{many}b: 2\n")).is_none());
    }

    #[test]
    fn a_stream_of_thousands_of_documents_takes_the_fast_path() {
        let stream: String = (0..3000)
            .map(|index| {
                format!("---\nkind: Stream\nmetadata:\n  name: s{index}\nspec:\n  maxAge: 24h\n")
            })
            .collect();
        assert!(agrees(&stream));
        assert_eq!(
            parse_documents(&stream).map(|documents| documents.len()),
            Some(3000)
        );
    }

    #[test]
    fn scalars_of_every_kind_read_the_same_both_ways_or_go_the_exact_way() {
        let scalars = [
            "",
            "~",
            "null",
            "Null",
            "NULL",
            "nULL",
            "true",
            "True",
            "TRUE",
            "tRuE",
            "yes",
            "Yes",
            "no",
            "NO",
            "y",
            "Y",
            "n",
            "N",
            "on",
            "On",
            "off",
            "OFF",
            "0",
            "-0",
            "+0",
            "7",
            "-7",
            "+7",
            "007",
            "-007",
            "42",
            "123456789012345678",
            "1234567890123456789",
            "99999999999999999999999",
            "-9223372036854775808",
            "1_000",
            "0x1F",
            "0o17",
            "0b101",
            "0X1f",
            "1e3",
            "1E3",
            "1e",
            "1.5",
            ".5",
            "1.",
            "-.5",
            ".inf",
            "-.inf",
            ".nan",
            ".NaN",
            "inf",
            "-inf",
            "nan",
            "NaN",
            "infinity",
            "1e999",
            "-",
            "+",
            ".",
            "..",
            "-.",
            "1h",
            "30s",
            "500ms",
            "1h30m",
            "7d",
            "1d",
            "10MiB",
            "1GiB",
            "64KiB",
            "500MB",
            "1B",
            "1b",
            "0b",
            "0x",
            "12ab",
            "1e5s",
            "1-2",
            "1.2.3",
            "10.0.0.1",
            "s.17.>",
            "orders.*",
            "$KV.x.>",
            "c0",
            "ab",
            "deadbeef",
            "e5",
            "E",
            "_1",
            "1__0",
            "1_",
            "2024-01-01",
            "2024-01-01T00:00:00Z",
            "12:30",
            "1:30:00",
            "ümlaut",
            "日本",
            "a b c",
            "a: b",
            "<<",
            "=",
            "@foo",
            "`x`",
            "%x",
            "!x",
            "&x",
            "*x",
            "'q'",
            "\"q\"",
            "|",
            ">",
            "-x",
            "--",
            "---",
            "...",
            "#x",
            "a #b",
            "a#b",
        ];
        let mut fast = 0;
        for scalar in scalars {
            for text in [
                format!("value: {scalar}\n"),
                format!("value: [{scalar}]\n"),
                format!("value:\n  - {scalar}\n"),
                format!("{scalar}: value\n"),
                format!("value: '{scalar}'\n"),
                format!("value: \"{scalar}\"\n"),
                format!("value: {{k: {scalar}}}\n"),
            ] {
                fast += usize::from(agrees(&text));
            }
        }
        assert!(fast > 300, "the fast path took only {fast}");
    }

    #[test]
    fn structures_read_the_same_both_ways_or_go_the_exact_way() {
        let texts = [
            "a: 1\n",
            "---\na: 1\n",
            "a: 1\n---\n",
            "a: 1\n---\nb: 2\n",
            "---\n---\na: 1\n",
            "a: 1\n...\n---\nb: 2\n...\n",
            "~\n---\na: 1\n",
            "null\n",
            "",
            "# only a comment\n",
            "- a\n- b\n",
            "scalar\n",
            "a: 1\na: 2\n",
            "a: 1\nb:\n  a: 1\n  a: 2\n",
            "{a: 1, b: 2, a: 3}\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: !custom x\n",
            "<<: {a: 1}\nb: 2\n",
            "%YAML 1.2\n---\na: 1\n",
            "a:\n  b:\n    c:\n      d: [1, {e: f}, [g, h]]\n",
            "a: |\n  line one\n  line two\n",
            "a: >-\n  folded\n  text\n",
            "a: plain\n  continued\n",
            "a:   spaced   \n",
            "a:\tb\n",
            "? complex\n: value\n",
            "[a, b]: c\n",
            "{a: b}: c\n",
            "1: one\n",
            "true: yes\n",
            "on:\n  push: {}\n",
            "a: [1, 2,\n  3]\n",
            "a: {}\nb: []\nc: ''\nd:\n",
            "a:\n- 1\n- 2\n",
            "a:\n  - b: 1\n    c: 2\n  - d: 3\n",
            "\u{feff}a: 1\n",
            "a: 1\r\nb: 2\r\n",
            "a: \"é \\u00e9 \\t\"\n",
            "été: ünïcode\nb: 日本語\n",
            "a: 1\n  b: 2\n",
            "a: [1, 2\n",
            "a: 'unterminated\n",
            "\ta: 1\n",
            "a:\n\t- 1\n",
            "k1: 1\nk2: 2\nk3: 3\nk4: 4\nk5: 5\nk6: 6\nk7: 7\nk8: 8\nk9: 9\nk10: 10\nk11: 11\n\
             k12: 12\nk13: 13\nk14: 14\nk15: 15\nk16: 16\nk17: 17\nk18: 18\nk1: again\n",
            "k1: 1\nk2: 2\nk3: 3\nk4: 4\nk5: 5\nk6: 6\nk7: 7\nk8: 8\nk9: 9\nk10: 10\nk11: 11\n\
             k12: 12\nk13: 13\nk14: 14\nk15: 15\nk16: 16\nk17: 17\nk18: 18\n",
        ];
        for text in texts {
            agrees(text);
        }
        let deep = (0..40).fold(String::from("x"), |inner, _| format!("[{inner}]"));
        assert!(!agrees(&format!("a: {deep}\n")));
        let commented = "# c\n".repeat(40) + "a: 1\n";
        assert!(!agrees(&commented));
    }
}
