//! Imports between the top-level modules of `src/` point one way (DESIGN.md,
//! "Layout"): `cli` → `commands`/`controller` → the engine pipeline →
//! `plan`/`spec`/`manifest`/`nats`/`render`. This test reads the sources,
//! collects every `crate::<module>` reference per top-level module and fails
//! on a cycle, printing it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Edges that close a cycle today and are yet to be untangled (issue 16).
/// Each is `(from, to)`; remove an entry once its import is gone.
const KNOWN_CYCLE_EDGES: &[(&str, &str)] = &[
    // `manifest` calls `nack` to read NACK documents while decoding, and `nack`
    // reads `manifest`'s `Node`s; the shared node types belong in a module
    // below both.
    ("manifest", "nack"),
];

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to (`src/plan/wire.rs` →
/// `plan`), or None for the crate roots.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

fn leading_ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The top-level modules `source` names through `crate::` paths, including
/// grouped imports (`use crate::{plan, spec::Stream};`). Comments are skipped.
fn referenced_modules(source: &str) -> BTreeSet<String> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let preceded_by = rest[..at].chars().next_back();
        let after = &rest[at + "crate::".len()..];
        rest = after;
        if preceded_by.is_some_and(|c| c == '$' || c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (index, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if c.is_whitespace() => {}
                    _ if item_start => {
                        item_start = false;
                        let name = leading_ident(&group[index..]);
                        if !name.is_empty() {
                            found.insert(name.to_string());
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let name = leading_ident(after);
            if !name.is_empty() {
                found.insert(name.to_string());
            }
        }
    }
    found
}

/// Top-level module → the other top-level modules it references.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|file| top_module(&src, file))
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|module| (module.clone(), BTreeSet::new()))
        .collect();
    for file in &files {
        let Some(from) = top_module(&src, file) else {
            continue;
        };
        let source = std::fs::read_to_string(file).expect("a readable source file");
        for to in referenced_modules(&source) {
            if to != from && modules.contains(&to) {
                graph.get_mut(&from).expect("every module").insert(to);
            }
        }
    }
    graph
}

/// A cycle in `graph` as the path of modules that closes it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == module) {
            let mut cycle = path[start..].to_vec();
            cycle.push(module.to_string());
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_string());
        for next in &graph[module] {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(module, graph, &mut Vec::new(), &mut done))
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let mut graph = module_graph();
    for (from, to) in KNOWN_CYCLE_EDGES {
        let removed = graph.get_mut(*from).is_some_and(|edges| edges.remove(*to));
        assert!(
            removed,
            "the known exception {from} → {to} no longer exists: remove it from KNOWN_CYCLE_EDGES"
        );
    }
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "the top-level modules of src/ import each other in a cycle: {}",
            cycle.join(" → ")
        );
    }
}

#[test]
fn the_pure_core_imports_no_front_end() {
    let graph = module_graph();
    for core in ["spec", "plan"] {
        for front in ["controller", "commands", "cli"] {
            assert!(
                !graph[core].contains(front),
                "src/{core} imports crate::{front}: the core must not depend on a front end"
            );
        }
    }
}

/// The external crates of the adapters, which the pure core must not name.
const ADAPTER_CRATES: [&str; 4] = ["kube", "k8s_openapi", "async_nats", "tokio"];

/// The crates of `names` that `source` reaches through a path (`kube::Api`,
/// `use tokio::{..}`, `::k8s_openapi::..`). Comments are skipped.
fn external_crates_used<'a>(source: &str, names: &[&'a str]) -> BTreeSet<&'a str> {
    let mut found = BTreeSet::new();
    for line in source.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        for name in names {
            let path = format!("{name}::");
            let mut rest = line;
            while let Some(at) = rest.find(&path) {
                let preceded_by = rest[..at].chars().next_back();
                if !preceded_by.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    found.insert(*name);
                }
                rest = &rest[at + path.len()..];
            }
        }
    }
    found
}

#[test]
fn the_pure_core_imports_neither_kubernetes_nor_nats_nor_tokio() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offences = Vec::new();
    for core in ["spec", "plan"] {
        let mut files = Vec::new();
        rust_files(&src.join(core), &mut files);
        for file in files {
            let source = std::fs::read_to_string(&file).expect("a readable source file");
            for name in external_crates_used(&source, &ADAPTER_CRATES) {
                let relative = file.strip_prefix(&src).expect("under src/");
                offences.push(format!("src/{} uses {name}", relative.display()));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "spec and plan are the pure core: Kubernetes and NATS types belong in the adapters \
         (resources, nats, controller):\n{}",
        offences.join("\n")
    );
}

#[test]
fn adapter_crates_are_found_in_paths_and_not_in_names_or_comments() {
    let found = external_crates_used(
        "use kube::CustomResource;\n// tokio::spawn in a comment\nlet x = ::k8s_openapi::Time;\nfn my_tokio::x() {}\n#[async_nats::test]",
        &ADAPTER_CRATES,
    );
    let expected: BTreeSet<&str> = ["async_nats", "k8s_openapi", "kube"].into();
    assert_eq!(found, expected);
}

#[test]
fn grouped_and_nested_crate_paths_are_found() {
    let found = referenced_modules(
        "use crate::{plan::{self, Address}, spec};\n// crate::cli in a comment\nlet x = crate::nats::connect();\nmacro_rules! m { () => { $crate::render } }",
    );
    let expected: BTreeSet<String> = ["nats", "plan", "spec"].map(String::from).into();
    assert_eq!(found, expected);
}
