//! AFL++ target: any bytes, read as a manifest file, through the loader,
//! the validator and both renderings of the diagnostics. It must never
//! panic, hang or take unbounded memory (AFL's `-t` and `-m` bound the last two).

use std::sync::Arc;

use jetsync::diagnostics::SourceText;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        // Non-UTF-8 input is refused before parsing (manifest::read_sources);
        // the lossy text still exercises the parser with what is left.
        let text = String::from_utf8_lossy(data);
        let source = SourceText {
            name: "fuzz.yaml".to_string(),
            text: Arc::from(text.as_ref()),
        };
        let manifests = jetsync::manifest::load_sources(&[source]);
        for diagnostic in &manifests.diagnostics {
            let _ = diagnostic.render(false);
            let _ = diagnostic.to_string();
        }
        let _ = serde_json::to_string(&manifests.diagnostics);
        // The loader's contract: what it returns as documents is valid.
        for declared in &manifests.documents {
            let problems =
                jetsync::spec::validate::validate(&declared.metadata.name, &declared.spec);
            assert!(
                !problems.iter().any(|problem| problem.is_error()),
                "a returned document has errors: {problems:?}"
            );
        }
    });
}
