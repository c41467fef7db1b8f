//! The short fuzz pass CI runs on every change: seeded mutations of real
//! manifests (the examples, the fuzz seeds and the bad-input corpus) —
//! byte flips, insertions of YAML syntax and field names from the AFL++
//! dictionary, deletions, splices between files, and random bytes — fed to
//! the loader and validator. Nothing may panic, and every input must be
//! answered within a time bound. The coverage-guided AFL++ run
//! (`scripts/fuzz`) is the long version of this.
//!
//! `JETSYNC_FUZZ_SEED` replays a run, `JETSYNC_FUZZ_CASES` sets its size.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jetsync::diagnostics::SourceText;
use jetsync::manifest;

#[path = "fixtures/seeded.rs"]
mod seeded;

use seeded::Rng;

fn seeds() -> Vec<Vec<u8>> {
    seeded::seed_files(64 * 1024)
}

/// Tokens from the AFL++ dictionary (`name="value"` lines).
fn dictionary() -> Vec<Vec<u8>> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/yaml.dict"))
            .unwrap_or_default();
    let mut tokens: Vec<Vec<u8>> = text
        .lines()
        .filter_map(|line| {
            let (_, quoted) = line.split_once('=')?;
            let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
            Some(
                inner
                    .replace("\\\"", "\"")
                    .replace("\\n", "\n")
                    .into_bytes(),
            )
        })
        .collect();
    tokens.extend(
        [
            "\n", ": ", "- ", "---\n", "  ", "[", "]", "{", "}", "&a ", "*a", "<<: *a\n", "\t",
        ]
        .iter()
        .map(|t| t.as_bytes().to_vec()),
    );
    tokens
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], tokens: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(8) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let token = &tokens[rng.below(tokens.len())];
                data.splice(at..at, token.iter().copied());
            }
            2 if !data.is_empty() => {
                let end = (at + rng.below(32)).min(data.len());
                data.drain(at.min(end)..end);
            }
            3 => {
                let other = &seeds[rng.below(seeds.len())];
                let start = rng.below(other.len() + 1);
                let end = (start + rng.below(256)).min(other.len());
                data.splice(at..at, other[start..end].iter().copied());
            }
            4 => {
                let random: Vec<u8> = (0..rng.below(16)).map(|_| rng.next() as u8).collect();
                data.splice(at..at, random);
            }
            _ => {
                // Duplicate a line: repeated keys, repeated documents.
                let line_start = data[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let line_end = data[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(data.len(), |i| at + i + 1);
                let line = data[line_start..line_end].to_vec();
                data.splice(line_end..line_end, line);
            }
        }
    }
    data
}

#[test]
fn mutated_manifests_never_panic_or_hang_the_loader() {
    let seeds = seeds();
    assert!(seeds.len() >= 20, "too few seeds: {}", seeds.len());
    let tokens = dictionary();
    assert!(tokens.len() > 50, "the fuzz dictionary was not read");
    let seed = seeded::seed(0x0f17_2026);
    let cases = seeded::cases(3000);
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut valid = 0;
    for case in 0..cases {
        let data = mutate(&mut rng, &seeds, &tokens);
        let text = String::from_utf8_lossy(&data).into_owned();
        let source = SourceText {
            name: format!("case-{case}.yaml"),
            text: Arc::from(text.as_str()),
        };
        let began = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let manifests = manifest::load_sources(std::slice::from_ref(&source));
            // Rendering every diagnostic must not panic either.
            for diagnostic in &manifests.diagnostics {
                let _ = diagnostic.render(false);
            }
            manifests.is_valid()
        }));
        let elapsed = began.elapsed();
        match outcome {
            Ok(is_valid) => valid += usize::from(is_valid),
            Err(_) => panic!(
                "the loader panicked on case {case} (replay: JETSYNC_FUZZ_SEED={seed} JETSYNC_FUZZ_CASES={}):\n{text}",
                case + 1
            ),
        }
        assert!(
            elapsed < Duration::from_secs(10),
            "case {case} took {elapsed:?} (replay: JETSYNC_FUZZ_SEED={seed} JETSYNC_FUZZ_CASES={}):\n{text}",
            case + 1
        );
    }
    println!(
        "{cases} mutated manifests from seed {seed} in {:?}: {valid} valid, none panicked",
        started.elapsed()
    );
}
