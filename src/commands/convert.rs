//! `jetsync convert`: NACK's documents as jetsync documents.

use std::path::{Path, PathBuf};

use super::{error, out};
use crate::manifest::{self, Declared};
use crate::settings::ExitStatus;

/// `jetsync convert`: NACK's documents read with NACK's semantics and
/// written as jetsync documents (jetsync documents pass through), one output
/// per input file. Diagnostics (the decisions made) go to stderr; on any
/// error nothing is written.
pub fn convert(paths: &[PathBuf], out_dir: Option<&Path>, adopt: bool, color: bool) -> ExitStatus {
    if paths.is_empty() {
        error("no manifests given; pass NACK files or directories with -f (or `-` for stdin)");
        return ExitStatus::Failure;
    }
    let manifests = manifest::load(paths);
    for diagnostic in &manifests.diagnostics {
        eprint!("{}", diagnostic.render(color));
    }
    if !manifests.is_valid() {
        error(format!(
            "{} error(s): nothing converted",
            manifests.error_count()
        ));
        return ExitStatus::Failure;
    }
    let files: Vec<(&str, String)> = manifests
        .sources
        .iter()
        .filter_map(|source| {
            let documents: Vec<&Declared> = manifests
                .documents
                .iter()
                .filter(|declared| declared.origin.source.name == source.name)
                .collect();
            (!documents.is_empty()).then(|| {
                (
                    source.name.as_str(),
                    crate::nack::convert::render_documents(&documents, adopt),
                )
            })
        })
        .collect();
    match out_dir {
        None => {
            for (index, (name, yaml)) in files.iter().enumerate() {
                let separator = if index == 0 { "" } else { "---\n" };
                let newline = if yaml.ends_with('\n') { "" } else { "\n" };
                out(&format!(
                    "{separator}# converted from {name}\n{yaml}{newline}"
                ));
            }
        }
        Some(dir) => {
            let targets: Vec<PathBuf> = files
                .iter()
                .map(|(name, _)| dir.join(converted_path(name, paths)))
                .collect();
            let overwritten = targets.iter().find(|target| {
                manifests
                    .sources
                    .iter()
                    .any(|source| same_file(Path::new(&source.name), target))
            });
            if let Some(target) = overwritten {
                error(format!(
                    "{} is one of the input files: write the converted documents to another directory",
                    target.display()
                ));
                return ExitStatus::Failure;
            }
            for ((name, yaml), target) in files.iter().zip(targets) {
                let newline = if yaml.ends_with('\n') { "" } else { "\n" };
                let written = target
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| std::fs::write(&target, format!("{yaml}{newline}")));
                if let Err(e) = written {
                    error(format!("cannot write {}: {e}", target.display()));
                    return ExitStatus::Failure;
                }
                eprintln!("{name} -> {}", target.display());
            }
        }
    }
    eprintln!(
        "converted {} document(s) from {} file(s)",
        manifests.documents.len(),
        files.len()
    );
    ExitStatus::Success
}

/// True when both paths name one existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    matches!(
        (a.canonicalize(), b.canonicalize()),
        (Ok(a), Ok(b)) if a == b
    )
}

/// Where a converted file goes below the output directory: its path below
/// the input directory it was found in, else its file name (`stdin.yaml`
/// for stdin).
fn converted_path(name: &str, inputs: &[PathBuf]) -> PathBuf {
    if name == manifest::STDIN_NAME {
        return PathBuf::from("stdin.yaml");
    }
    let path = Path::new(name);
    inputs
        .iter()
        .filter(|input| input.is_dir())
        .find_map(|input| path.strip_prefix(input).ok())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| path.file_name().map(PathBuf::from).unwrap_or_default())
}
