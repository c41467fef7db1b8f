//! The fast YAML path against serde-saphyr, on generated input: seeded
//! random YAML texts built from the spellings where the two could part
//! (YAML 1.1 booleans, null spellings, numbers in every radix and form,
//! durations and sizes, quoting and escapes, block scalars, flow
//! collections, comments, anchors and tags, document markers, CRLF), and
//! byte-level mutations of the repository's manifests. Whenever the fast
//! path answers, serde-saphyr must accept the text and decode exactly the
//! same tree, values and positions alike. The coverage-guided version is
//! the cargo-fuzz target in `fuzz/differential/`.
//!
//! `JETSYNC_FUZZ_SEED` replays a run, `JETSYNC_FUZZ_CASES` sets its size.

use std::time::{Duration, Instant};

use jetsync::manifest::node::{parse_documents_fast, parse_documents_with_serde_saphyr};

#[path = "fixtures/seeded.rs"]
mod seeded;

use seeded::Rng;

/// Plain scalars the fast path decides itself: the spellings where its
/// rules and serde-saphyr's could part.
const DECIDED: &[&str] = &[
    "true",
    "True",
    "TRUE",
    "tRUE",
    "false",
    "False",
    "FALSE",
    "yes",
    "Yes",
    "YES",
    "no",
    "No",
    "NO",
    "y",
    "Y",
    "n",
    "N",
    "on",
    "On",
    "ON",
    "off",
    "Off",
    "OFF",
    "null",
    "Null",
    "NULL",
    "nULL",
    "~",
    "0",
    "-0",
    "1",
    "-1",
    "42",
    "123456789012345678",
    "-123456789012345678",
    "1:30",
    "1:30:00",
    "30s",
    "1h30m",
    "7d",
    "500ms",
    "2m",
    "1GiB",
    "512MiB",
    "64KiB",
    "10MB",
    "-",
    "--",
    ".",
    "..",
    "e",
    "E5",
    "1e",
    "0x",
    "0o",
    "0b",
    "+",
    "+-1",
    "1__0",
    "_1",
    "2026-12-06",
    "2026-12-06T10:00:00Z",
    "a b",
    "orders.*",
    "orders.>",
    "$KV.b.>",
    "=",
    "a#b",
    "http://x:1/y",
    "é",
    "日本",
    "\u{1F600}",
    "0.0.0",
    "1,000",
    "1 000",
    "ｔｒｕｅ",
    "inf",
    "nan",
    "0xG",
    "1e3x",
    "v2.10",
    "1.2.3",
    "-.",
    "+.",
    "0b2",
    "0o8",
    "Infinity",
    "NaN",
];

/// Plain scalars the fast path leaves to serde-saphyr (floats, radix and
/// underscore integers, leading zeros, out-of-range integers).
const UNDECIDED: &[&str] = &[
    "+0",
    "+1",
    "007",
    "08",
    "0x1F",
    "0X1f",
    "0o17",
    "0O17",
    "0b101",
    "0B1",
    "1_000",
    "1e3",
    "1E-3",
    "-1.5e+10",
    ".5",
    "5.",
    "-.5",
    "1.0",
    ".inf",
    "-.Inf",
    "+.INF",
    ".nan",
    ".NaN",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "170141183460469231731687303715884105727",
    "1234567890123456789",
    "0.5",
    "1.",
];

/// Every plain scalar spelling.
fn plain(rng: &mut Rng) -> &'static str {
    rarely(rng, 2, UNDECIDED, DECIDED)
}

/// One of `rare`, `percent` times in a hundred, else one of `common`.
fn rarely(
    rng: &mut Rng,
    percent: usize,
    rare: &[&'static str],
    common: &[&'static str],
) -> &'static str {
    let items = if rng.chance(percent) { rare } else { common };
    rng.pick(items)
}

/// Keys, as the manifests write them and otherwise.
const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "spec",
    "subjects",
    "maxAge",
    "maxBytes",
    "replicas",
    "storage",
    "labels",
    "a",
    "b",
    "x-y",
    "key with space",
    "'quoted'",
    "\"double\"",
    "é",
    "k:v",
    "'1'",
    "\"true\"",
    "a.b",
    "_",
    "A_B",
];

/// Keys that are not plain strings (the fast path leaves them alone).
const ODD_KEYS: &[&str] = &["1", "true", "null", "~", "<<", "? complex", "[a]", "{a: 1}"];

fn key(rng: &mut Rng) -> &'static str {
    rarely(rng, 3, ODD_KEYS, KEYS)
}

/// Scalars that need quoting, in single or double quotes.
const QUOTED: &[&str] = &[
    "'it''s'",
    "''",
    "\"\"",
    "\"a\\tb\"",
    "\"\\u00e9\"",
    "\"\\x41\"",
    "\"line\\nbreak\"",
    "'true'",
    "\"1\"",
    "'~'",
    "\"\\\"\"",
    "'a\n  b'",
    "\"a\n  b\"",
    "\"\\N\"",
    "\"\\_\"",
    "\"\\U0001F600\"",
    "\"\\z\"",
];

fn indent(depth: usize) -> String {
    "  ".repeat(depth)
}

fn scalar(rng: &mut Rng) -> String {
    match rng.below(10) {
        0..=5 => plain(rng).to_string(),
        6 => rng.pick(QUOTED).to_string(),
        8 => format!("[{}, {}]", plain(rng), plain(rng)),
        _ => format!("{{{}: {}}}", key(rng), plain(rng)),
    }
}

/// A block scalar's header and body at `depth`.
fn block_scalar(rng: &mut Rng, depth: usize) -> String {
    let style = rng.pick(&["|", ">", "|-", ">-", "|+", ">+", "|2", ">1-"]);
    let lines = 1 + rng.below(3);
    let mut text = format!("{style}\n");
    for _ in 0..lines {
        text.push_str(&format!("{}{}\n", indent(depth + 1), plain(rng)));
        if rng.chance(20) {
            text.push('\n');
        }
    }
    text
}

/// A value at `depth`, starting right after `key:` (a space or a newline
/// follows as the value needs).
fn value(rng: &mut Rng, depth: usize, out: &mut String) {
    let nested = depth < 3;
    match rng.below(40) {
        0..=5 if nested => {
            out.push('\n');
            mapping(rng, depth + 1, out);
        }
        6..=8 if nested => {
            out.push('\n');
            sequence(rng, depth + 1, out);
        }
        9..=11 => {
            out.push(' ');
            out.push_str(&block_scalar(rng, depth));
        }
        12 => {
            let anchor = rng.pick(&["&a ", "*a", "!!str ", "!!int ", "!custom ", "&b !!str "]);
            out.push(' ');
            out.push_str(anchor);
            if !anchor.starts_with('*') {
                out.push_str(&scalar(rng));
            }
            out.push('\n');
        }
        13 => out.push('\n'),
        _ => {
            out.push(' ');
            out.push_str(&scalar(rng));
            if rng.chance(10) {
                out.push_str(" # comment");
            }
            out.push('\n');
        }
    }
}

fn mapping(rng: &mut Rng, depth: usize, out: &mut String) {
    let mut used: Vec<&str> = Vec::new();
    for _ in 0..1 + rng.below(4) {
        if rng.chance(5) {
            out.push_str(&format!("{}# a comment\n", indent(depth)));
        }
        // Now and then a duplicate key, which the fast path leaves alone.
        let key = key(rng);
        if used.contains(&key) && !rng.chance(5) {
            continue;
        }
        used.push(key);
        out.push_str(&format!("{}{}:", indent(depth), key));
        value(rng, depth, out);
    }
}

fn sequence(rng: &mut Rng, depth: usize, out: &mut String) {
    for _ in 0..1 + rng.below(4) {
        out.push_str(&format!("{}-", indent(depth)));
        if rng.chance(25) && depth < 4 {
            out.push(' ');
            out.push_str(&format!("{}:", key(rng)));
            out.push(' ');
            out.push_str(&scalar(rng));
            out.push('\n');
        } else {
            value(rng, depth, out);
        }
    }
}

/// A generated text of one to three documents.
fn generated(rng: &mut Rng) -> String {
    let mut text = String::new();
    if rng.chance(5) {
        text.push_str(rng.pick(&["%YAML 1.2\n---\n", "\u{feff}", "# head\n"]));
    }
    for index in 0..1 + rng.below(3) {
        if index > 0 || rng.chance(30) {
            text.push_str(rng.pick(&["---\n", "--- \n", "---\n# c\n", "...\n---\n"]));
        }
        if rng.chance(90) {
            mapping(rng, 0, &mut text);
        } else {
            sequence(rng, 0, &mut text);
        }
    }
    if rng.chance(10) {
        text = text.replace('\n', "\r\n");
    }
    if rng.chance(5) {
        text = text.replacen("  ", "\t", 1);
    }
    text
}

/// A seed with a few bytes flipped, inserted or deleted, or a plain
/// scalar put in.
fn mutated(rng: &mut Rng, seeds: &[Vec<u8>]) -> String {
    let mut bytes = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 if at < bytes.len() => bytes[at] = b" :-#'\"\n\t[]{}&*!|>?,%@`0aZ"[rng.below(25)],
            1 if at < bytes.len() => {
                let end = (at + 1 + rng.below(8)).min(bytes.len());
                bytes.drain(at..end);
            }
            _ => {
                let scalar = plain(rng).as_bytes().to_vec();
                bytes.splice(at..at, scalar);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Checks one text; true when the fast path answered.
fn agrees(text: &str, case: &str) -> bool {
    let Some(fast) = parse_documents_fast(text) else {
        return false;
    };
    let exact = parse_documents_with_serde_saphyr(text).unwrap_or_else(|error| {
        panic!("{case}: the fast path accepted what serde-saphyr refuses ({error}):\n{text:?}")
    });
    assert!(
        fast == exact,
        "{case}: the fast path and serde-saphyr decode differently:\n{text:?}\n\
         fast path: {fast:#?}\nserde-saphyr: {exact:#?}"
    );
    true
}

#[test]
fn the_fast_yaml_path_decodes_generated_and_mutated_yaml_exactly_as_serde_saphyr() {
    let seed = seeded::seed(0x7a31_2026);
    let cases = seeded::cases(6_000);
    eprintln!("JETSYNC_FUZZ_SEED={seed} JETSYNC_FUZZ_CASES={cases}");
    let seeds = seeded::seed_files(16 * 1024);
    assert!(seeds.len() > 10, "found only {} seed files", seeds.len());
    let mut rng = Rng(seed);
    let started = Instant::now();
    let (mut generated_fast, mut mutated_fast) = (0, 0);
    for case in 0..cases {
        let label = format!("seed {seed}, case {case}");
        if case % 2 == 0 {
            generated_fast += usize::from(agrees(&generated(&mut rng), &label));
        } else {
            mutated_fast += usize::from(agrees(&mutated(&mut rng, &seeds), &label));
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{label}: the run took over two minutes"
        );
    }
    eprintln!(
        "{cases} cases in {:?}: the fast path answered {generated_fast} generated and \
         {mutated_fast} mutated texts",
        started.elapsed()
    );
    // A good part of each half must reach the comparison, or the test
    // checks little.
    assert!(
        generated_fast * 8 > cases / 2 && mutated_fast * 8 > cases / 2,
        "the fast path answered only {generated_fast} generated and {mutated_fast} mutated \
         of {cases} texts"
    );
}
