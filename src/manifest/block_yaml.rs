//! The fastest path, for the plainest YAML: block mappings and sequences of
//! plain or simply quoted scalars and one-line flow sequences, read line by
//! line straight into the fast path's tree builder. About ten times cheaper
//! than the YAML parser's events, and most manifests — the ones people
//! write and the ones `kustomize build` and `helm template` print — are
//! exactly this.
//!
//! It gives up (`None`, and the parser's events decide) on anything else:
//! tabs, carriage returns, control characters, non-ASCII text, flow mappings, block scalars,
//! anchors, aliases, tags, directives, quoted keys, escapes, multi-line
//! scalars, empty values and empty documents, a `---` with anything after
//! it. What it accepts, it builds exactly as the events would (same values,
//! same positions; the tests compare both on every manifest in the
//! repository and on a corpus of edge cases).

use std::borrow::Cow;

use serde_saphyr::granit_parser::ScalarStyle;

use super::fast_yaml::Builder;
use super::node::{Node, Position};

/// One line of text that holds something (not blank, not only a comment).
#[derive(Clone, Copy)]
struct Line {
    /// 1-based line number.
    number: u64,
    /// Byte offset of the line's start.
    start: usize,
    /// Byte offset of the first character read from (the content, or what
    /// follows a sequence's `- `).
    at: usize,
    /// Byte offset of the line's end (its newline, or the text's end).
    end: usize,
}

impl Line {
    /// 0-based column of `at`.
    fn indent(&self) -> usize {
        self.at - self.start
    }
}

/// Every document of `text`, or None when it is not plain block YAML (or
/// has more than `max_events` nodes).
pub fn parse_documents(text: &str, max_events: usize) -> Option<Vec<Node>> {
    // Printable ASCII and newlines only. Both passes look at every byte
    // without stopping early, which the compiler turns into vector code.
    let printable = |byte: u8| byte == b'\n' || (b' '..=b'~').contains(&byte);
    if !text.bytes().fold(true, |all, byte| all & printable(byte)) {
        return None;
    }
    let hashes = text.bytes().filter(|byte| *byte == b'#').count();
    let mut reader = Reader {
        text,
        builder: Builder::default(),
        // The stream's start and end, and one for each comment line.
        events: 2 + hashes,
        max_events,
    };
    let mut document: Vec<Line> = Vec::new();
    let mut separated = false;
    let mut start = 0;
    // Split as bytes: a line is short, and a byte compare is cheaper
    // than a search set up per line. `\n` is ASCII, so every piece is text.
    for (index, line) in text.as_bytes().split(|byte| *byte == b'\n').enumerate() {
        let end = start + line.len();
        let line = &text[start..end];
        let number = index as u64 + 1;
        let content = line.trim_start_matches(' ');
        let at = end - content.len();
        let line_start = start;
        start = end + 1;
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if line.starts_with("---") || line.starts_with("...") || line.starts_with('%') {
            if line != "---" {
                return None;
            }
            // Before the first `---`, only comments: no document.
            if separated || !document.is_empty() {
                reader.document(&document)?;
            }
            document.clear();
            separated = true;
            continue;
        }
        document.push(Line {
            number,
            start: line_start,
            at,
            end,
        });
    }
    reader.document(&document)?;
    reader.builder.stream_end();
    reader.builder.finish()
}

struct Reader<'a> {
    text: &'a str,
    builder: Builder,
    events: usize,
    max_events: usize,
}

impl<'a> Reader<'a> {
    /// Counts `events` more of the parser's events (at least as many as
    /// it would send); None past the budget.
    fn count(&mut self, events: usize) -> Option<()> {
        self.events += events;
        (self.events <= self.max_events).then_some(())
    }

    fn position(&self, line: &Line, offset: usize, length: usize) -> Position {
        Position {
            line: line.number,
            column: (offset - line.start) as u64 + 1,
            offset,
            length,
        }
    }

    /// One document: a block mapping at column 0.
    fn document(&mut self, lines: &[Line]) -> Option<()> {
        let first = lines.first()?;
        if first.indent() != 0 {
            return None;
        }
        self.count(2)?;
        self.builder.document_start()?;
        let used = self.mapping(lines)?;
        if used != lines.len() {
            return None;
        }
        self.builder.document_end()
    }

    /// A block mapping whose keys start where `lines[0]` starts; how many
    /// lines it took.
    fn mapping(&mut self, lines: &[Line]) -> Option<usize> {
        let first = lines[0];
        let indent = first.indent();
        self.count(2)?;
        self.builder
            .mapping_start(self.position(&first, first.at, 0))?;
        // Its keys: the lines at its indentation, up to one less indented.
        let keys = lines
            .iter()
            .take_while(|line| line.indent() >= indent)
            .filter(|line| line.indent() == indent)
            .count();
        self.builder.reserve(keys);
        let mut index = 0;
        while let Some(line) = lines.get(index) {
            if line.indent() < indent {
                break;
            }
            if line.indent() > indent {
                return None;
            }
            let text = &self.text[line.at..line.end];
            let key_length = key_length(text)?;
            self.count(1)?;
            self.builder.scalar(
                Cow::Borrowed(&text[..key_length]),
                ScalarStyle::Plain,
                self.position(line, line.at, key_length),
            )?;
            let after_colon = line.at + key_length + 1;
            let rest = &self.text[after_colon..line.end];
            let value = rest.trim_start_matches(' ');
            index += 1;
            if value.is_empty() || value.starts_with('#') {
                // The value is the block below: deeper, or a sequence at
                // the key's own column.
                let below = &lines[index..];
                let next = below.first()?;
                let nested =
                    next.indent() > indent || (next.indent() == indent && self.is_item(next));
                if !nested {
                    return None;
                }
                index += self.block(below, indent)?;
            } else {
                let at = line.end - value.len();
                self.inline(line, at)?;
                if lines.get(index).is_some_and(|next| next.indent() > indent) {
                    return None; // a scalar continued on the next line
                }
            }
        }
        self.builder.mapping_end()?;
        Some(index)
    }

    /// True when the line is a block sequence's item (`- …`).
    fn is_item(&self, line: &Line) -> bool {
        let text = &self.text[line.at..line.end];
        text.starts_with("- ") || text == "-"
    }

    /// A block node starting at `lines[0]`, the value of a key at column
    /// `key_indent`: a sequence or a mapping.
    fn block(&mut self, lines: &[Line], key_indent: usize) -> Option<usize> {
        if self.is_item(&lines[0]) {
            // The events place a sequence indented below its key at its
            // first `-`, one at the key's own column at its first item.
            self.sequence(lines, lines[0].indent() > key_indent)
        } else {
            self.mapping(lines)
        }
    }

    /// A block sequence whose `- ` start where `lines[0]` starts, placed at
    /// its first `-` when `at_dash`, else at its first item.
    fn sequence(&mut self, lines: &[Line], at_dash: bool) -> Option<usize> {
        let indent = lines[0].indent();
        let mut index = 0;
        let mut started = false;
        while let Some(&line) = lines.get(index) {
            if line.indent() < indent || (line.indent() == indent && !self.is_item(&line)) {
                break;
            }
            if line.indent() > indent {
                return None;
            }
            let text = &self.text[line.at..line.end];
            let content = text.get(1..)?.trim_start_matches(' ');
            if content.is_empty()
                || content.starts_with('#')
                || content == "-"
                || content.starts_with("- ")
            {
                return None;
            }
            let item = Line {
                at: line.end - content.len(),
                ..line
            };
            if !started {
                started = true;
                self.count(2)?;
                let at = if at_dash { line.at } else { item.at };
                self.builder.sequence_start(self.position(&item, at, 0))?;
                // Its items: the lines at its indentation starting with
                // `-`, up to one less indented or not an item.
                let items = lines
                    .iter()
                    .take_while(|line| {
                        line.indent() > indent || (line.indent() == indent && self.is_item(line))
                    })
                    .filter(|line| line.indent() == indent)
                    .count();
                self.builder.reserve(items);
            }
            if key_length(content).is_some() {
                // A mapping that starts on the item's line.
                let mut item_lines = Vec::with_capacity(4);
                item_lines.push(item);
                let rest = &lines[index + 1..];
                let more = rest
                    .iter()
                    .take_while(|next| next.indent() >= item.indent())
                    .count();
                item_lines.extend_from_slice(&rest[..more]);
                if self.mapping(&item_lines)? != item_lines.len() {
                    return None;
                }
                index += 1 + more;
            } else {
                self.inline(&item, item.at)?;
                index += 1;
                if lines.get(index).is_some_and(|next| next.indent() > indent) {
                    return None;
                }
            }
        }
        self.builder.sequence_end()?;
        Some(index)
    }

    /// A value on one line from `at`: a flow sequence or a scalar, then
    /// nothing but a comment.
    fn inline(&mut self, line: &Line, at: usize) -> Option<()> {
        let text = &self.text[at..line.end];
        let used = if text.starts_with('[') {
            self.flow_sequence(line, at)?
        } else {
            self.scalar(line, at, false)?
        };
        ends_line(&text[used..]).then_some(())
    }

    /// `[a, "b", 'c']` on one line; how many bytes it took.
    fn flow_sequence(&mut self, line: &Line, at: usize) -> Option<usize> {
        self.count(2)?;
        self.builder.sequence_start(self.position(line, at, 1))?;
        let mut cursor = at + 1;
        let skip_spaces = |cursor: usize| {
            cursor
                + self.text[cursor..line.end]
                    .bytes()
                    .take_while(|byte| *byte == b' ')
                    .count()
        };
        cursor = skip_spaces(cursor);
        if self.text[cursor..line.end].starts_with(']') {
            self.builder.sequence_end()?;
            return Some(cursor + 1 - at);
        }
        loop {
            cursor += self.scalar(line, cursor, true)?;
            cursor = skip_spaces(cursor);
            match self
                .text
                .as_bytes()
                .get(cursor)
                .filter(|_| cursor < line.end)?
            {
                b',' => cursor = skip_spaces(cursor + 1),
                b']' => {
                    self.builder.sequence_end()?;
                    return Some(cursor + 1 - at);
                }
                _ => return None,
            }
        }
    }

    /// A scalar at `at`: quoted, or plain up to the line's end or a
    /// comment (in a flow sequence: up to `,` or `]`); how many bytes it
    /// took.
    fn scalar(&mut self, line: &Line, at: usize, in_flow: bool) -> Option<usize> {
        let text = &self.text[at..line.end];
        let first = *text.as_bytes().first()?;
        self.count(1)?;
        if first == b'"' || first == b'\'' {
            let inner = &text[1..];
            let close = inner.find(first as char)?;
            let value = &inner[..close];
            if value.contains('\\') || inner[close + 1..].starts_with(first as char) {
                return None;
            }
            let style = if first == b'"' {
                ScalarStyle::DoubleQuoted
            } else {
                ScalarStyle::SingleQuoted
            };
            self.builder.scalar(
                Cow::Borrowed(value),
                style,
                self.position(line, at, close + 2),
            )?;
            return Some(close + 2);
        }
        if b"-?:,[]{}#&*!|>'\"%@`".contains(&first)
            && !(first == b'-'
                && text
                    .as_bytes()
                    .get(1)
                    .is_some_and(u8::is_ascii_alphanumeric))
        {
            return None;
        }
        let value = plain_scalar(text, in_flow)?;
        self.builder.scalar(
            Cow::Borrowed(value),
            ScalarStyle::Plain,
            self.position(line, at, value.len()),
        )?;
        Some(value.len())
    }
}

/// The plain scalar at the start of `text`: up to the line's end or a
/// comment (in a flow sequence: up to `,` or `]`), without trailing
/// spaces; None when it is empty or holds a character that would make it
/// something else (a flow collection, a comment, a key; in a flow sequence
/// also a quote or any `:`).
fn plain_scalar(text: &str, in_flow: bool) -> Option<&str> {
    let bytes = text.as_bytes();
    let end = if in_flow {
        bytes.iter().position(|byte| matches!(byte, b',' | b']'))
    } else {
        bytes.windows(2).position(|pair| pair == b" #")
    };
    let value = text[..end.unwrap_or(text.len())].trim_end_matches(' ');
    let bytes = value.as_bytes();
    let forbidden = |(index, byte): (usize, &u8)| match byte {
        b'[' | b']' | b'{' | b'}' | b'#' => true,
        b':' => in_flow || bytes.get(index + 1).is_none_or(|next| *next == b' '),
        b'"' | b'\'' => in_flow,
        _ => false,
    };
    (!value.is_empty() && !bytes.iter().enumerate().any(forbidden)).then_some(value)
}

/// The length of a plain mapping key at the start of `text` (`key: …` or
/// `key:` at the line's end), when `text` starts with one.
fn key_length(text: &str) -> Option<usize> {
    let length = text
        .bytes()
        .take_while(|byte| byte.is_ascii_alphanumeric() || b"_./-".contains(byte))
        .count();
    let first = *text.as_bytes().first()?;
    let after = text.as_bytes().get(length + 1);
    // YAML allows a simple key at most 1024 characters.
    let key = length > 0
        && length < 1000
        && (first.is_ascii_alphanumeric() || first == b'_')
        && text.as_bytes().get(length) == Some(&b':')
        && after.is_none_or(|byte| *byte == b' ');
    key.then_some(length)
}

/// True when `rest` holds nothing but spaces and a comment (which a space
/// must separate from what is before it).
fn ends_line(rest: &str) -> bool {
    let trimmed = rest.trim_start_matches(' ');
    trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::fast_yaml::parse_documents_from_events;

    /// The line reader's answer, when it gives one, is the events' answer.
    fn agrees(text: &str) -> bool {
        let Some(fast) = parse_documents(text, usize::MAX) else {
            return false;
        };
        let events = parse_documents_from_events(text)
            .unwrap_or_else(|| panic!("the line reader accepted what the events refuse:\n{text}"));
        assert_eq!(fast, events, "the line reader differs on:\n{text}");
        true
    }

    #[test]
    fn the_benchmarks_manifests_take_the_line_reader() {
        let stream = "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: s-0\nspec:\n  \
                      subjects: [\"s.0.>\"]\n  storage: file\n  maxAge: 1h\n  maxBytes: 10MiB\n---\n\
                      apiVersion: jetsync.dev/v1alpha1\nkind: Consumer\nmetadata:\n  name: s-0-c0\n\
                      spec:\n  streamName: s-0\n  name: c0\n  filterSubject: s.0.c0\n  \
                      ackPolicy: explicit\n  ackWait: 30s\n  maxDeliver: 5\n";
        assert!(agrees(stream));
        assert!(agrees(&format!("---\n{stream}---\n{stream}")));
        assert!(agrees(
            "---\n# Source: app/templates/kv.yaml\napiVersion: jetsync.dev/v1alpha1\nkind: KeyValue\nmetadata:\n  name: kv-1 # why\nspec:\n  history: 5\n  ttl: 1h\n"
        ));
    }

    #[test]
    fn sequences_quotes_and_comments_read_as_the_events_read_them() {
        let agreed = [
            "a: 1\nb:\n  - x\n  - 'y'\n  - \"z\"\n",
            "a:\n- x\n- y\nb: 2\n",
            "a:\n  - name: n\n    value: 1\n  - name: m\n    list: [1, 2, three]\n",
            "a:\n    -   spaced\n    - -1\n",
            "a: [ x , y ]  # c\nb: []\nc: [\"q\", 'r']\n",
            "# only a comment\n---\na: 1\n",
            "a: 1\n\n\n# c\n\nb: two words here\n",
            "labels:\n  app.kubernetes.io/name: x\n  team: platform\n",
            "a: yes\nb: off\nc: ~\nd: null\ne: 0\nf: -7\ng: 10MiB\nh: 1h30m\n",
            "a: http://example.com:8080/x\nb: s.>\n",
            "a:\n  b:\n    c:\n      d: 1\n  e: 2\nf: 3\n",
            "spec:\n  list:\n  - a\n  - b\n  other: 1\n",
        ];
        for text in agreed {
            assert!(agrees(text), "the line reader gave up on:\n{text}");
        }
    }

    #[test]
    fn anything_else_is_left_to_the_events() {
        let left = [
            "a: {b: 1}\n",
            "a: |\n  text\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a:\n",
            "a: 1\n---\n",
            "a: one\n  two\n",
            "a: \"x\\ty\"\n",
            "a: 'it''s'\n",
            "\"a\": 1\n",
            "a:\tb\n",
            "a: 1\r\n",
            "a: é\n",
            "--- a: 1\n",
            "%YAML 1.2\n---\na: 1\n",
            "- a\n- b\n",
            "a: [x, [y]]\n",
            "a: [x: y]\n",
            "a: 1.5\n",
            "a:b\n",
            "a: 1\na: 2\n",
            "y: 1\n",
            "a:\n  - x\n    y\n",
            "a: b: c\n",
        ];
        for text in left {
            assert!(
                parse_documents(text, usize::MAX).is_none() || agrees(text),
                "differs on:\n{text}"
            );
        }
        for text in [
            "a: {b: 1}\n",
            "a: |\n  text\n",
            "a:\n",
            "a: 1\n---\n",
            "a: 1.5\n",
            &format!("{}: 1\n", "k".repeat(2000)),
        ] {
            assert!(parse_documents(text, usize::MAX).is_none(), "{text}");
        }
    }

    fn repository_manifests() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["examples", "tests", "manifests", "charts", "fuzz"] {
            crate::manifest::fast_yaml::tests::yaml_files(&root.join(dir), &mut files);
        }
        files
            .iter()
            .filter_map(|file| std::fs::read_to_string(file).ok())
            .collect()
    }

    #[test]
    fn every_manifest_in_the_repository_and_every_small_change_of_one_reads_the_same() {
        let manifests = repository_manifests();
        let taken = manifests.iter().filter(|text| agrees(text)).count();
        assert!(
            taken * 2 > manifests.len(),
            "the line reader took {taken} of {}",
            manifests.len()
        );
        // Each line of each manifest it takes changed in small ways: the
        // answer is the events' answer, or none.
        let mut changed = 0;
        for text in manifests
            .iter()
            .filter(|text| text.len() < 4096 && agrees(text))
        {
            let lines: Vec<&str> = text.lines().collect();
            for index in 0..lines.len() {
                let line = lines[index];
                let variants = [
                    String::new(),
                    format!(" {line}"),
                    line.strip_prefix(' ').unwrap_or(line).to_string(),
                    format!("{line} # c"),
                    format!("{line}:"),
                    line.replacen(": ", ":", 1),
                    line.replacen(": ", ":  ", 1),
                    line.replacen("- ", "-  ", 1),
                    line.replacen("- ", "", 1),
                    format!("- {line}"),
                    line.replace(['"', '\''], ""),
                    line.replacen(' ', "", 1),
                    format!("{line}\n{line}"),
                    line.replacen(": ", ": [", 1),
                    line.replacen(": ", ": - ", 1),
                    line.replacen(": ", ": '", 1),
                    line.replacen(": ", ": \"", 1),
                    line.replacen(": ", ": ? ", 1),
                    line.replacen(": ", ": -", 1),
                    line.replacen(": ", ": ~ ", 1),
                    format!("{line},"),
                    format!("{line}]"),
                    format!("{line} #"),
                    format!("{line}#c"),
                    format!("{line}\n---"),
                    format!("---\n{line}"),
                    format!("{line}\n  extra"),
                    format!("{line}\n    - x"),
                    format!("{line}\n  - x"),
                    format!("{line}\n- x"),
                ];
                for variant in variants {
                    let mut lines = lines.clone();
                    lines[index] = &variant;
                    changed += usize::from(agrees(&lines.join("\n")));
                }
            }
        }
        assert!(changed > 100, "only {changed} changed manifests were taken");
    }

    #[test]
    fn the_event_budget_is_kept() {
        let text = "a: 1\nb: [2, 3]\n";
        // Stream, document, mapping, sequence: two events each; five scalars.
        assert!(parse_documents(text, 13).is_some());
        assert!(parse_documents(text, 12).is_none());
    }
}
