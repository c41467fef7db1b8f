//! libFuzzer target: the same text read by the fast YAML path and by
//! serde-saphyr. Where the fast path answers, serde-saphyr must accept the
//! text and decode the same tree (values and positions); any difference
//! panics with both trees.

#![no_main]

use jetsync::manifest::node::{parse_documents_fast, parse_documents_with_serde_saphyr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Non-UTF-8 input is refused before parsing (manifest::read_sources).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(fast) = parse_documents_fast(text) else {
        return;
    };
    match parse_documents_with_serde_saphyr(text) {
        Ok(exact) => assert!(
            fast == exact,
            "the fast path and serde-saphyr decode differently:\n{text:?}\n\
             fast path: {fast:#?}\nserde-saphyr: {exact:#?}"
        ),
        Err(error) => {
            panic!("the fast path accepted what serde-saphyr refuses ({error}):\n{text:?}")
        }
    }
});
