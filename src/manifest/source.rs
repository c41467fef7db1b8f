//! Finding and reading manifest files: files as given, directories searched
//! recursively for `*.yaml`/`*.yml`, and `-` for standard input.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostics::{Diagnostic, Severity, SourceText};

/// Name used for standard input in diagnostics.
pub const STDIN_NAME: &str = "<stdin>";

/// The most jetsync reads from one file or from standard input: rendered
/// manifests of thousands of assets take a few MiB.
pub const MAX_SOURCE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads every manifest under `paths`, in a stable order (paths as given,
/// directory entries sorted by name). Unreadable paths become diagnostics.
pub fn read_sources(paths: &[PathBuf]) -> (Vec<SourceText>, Vec<Diagnostic>) {
    let mut sources = Vec::new();
    let mut diagnostics = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            match read_bounded(std::io::stdin().lock(), 0) {
                Ok(bytes) => push_text(
                    STDIN_NAME.to_string(),
                    bytes,
                    &mut sources,
                    &mut diagnostics,
                ),
                Err(error) => diagnostics.push(read_error(STDIN_NAME, "standard input", &error)),
            }
        } else if path.is_dir() {
            let mut files = Vec::new();
            collect_yaml_files(path, &mut files, &mut diagnostics);
            if files.is_empty() {
                diagnostics.push(
                    Diagnostic::new(
                        Severity::Warning,
                        format!("no *.yaml or *.yml files under {}", path.display()),
                    )
                    .with_help("pass the directory that holds your manifests"),
                );
            }
            for file in files {
                read_file(&file, &mut sources, &mut diagnostics);
            }
        } else if path.exists() {
            read_file(path, &mut sources, &mut diagnostics);
        } else {
            diagnostics.push(
                Diagnostic::error(format!("{}: no such file or directory", path.display()))
                    .with_help("pass manifest files or directories, or `-` for standard input"),
            );
        }
    }
    (sources, diagnostics)
}

fn collect_yaml_files(dir: &Path, files: &mut Vec<PathBuf>, diagnostics: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            diagnostics.push(Diagnostic::error(format!(
                "{}: cannot read directory: {error}",
                dir.display()
            )));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            !path
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with('.'))
        })
        .collect();
    // By name: the paths share `dir`, so their bytes order them as their
    // components would, for a fraction of the comparison's cost.
    paths.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    for path in paths {
        if path.is_dir() {
            collect_yaml_files(&path, files, diagnostics);
        } else if matches!(
            path.extension().and_then(|extension| extension.to_str()),
            Some("yaml" | "yml")
        ) {
            files.push(path);
        }
    }
}

fn read_file(path: &Path, sources: &mut Vec<SourceText>, diagnostics: &mut Vec<Diagnostic>) {
    let name = path.display().to_string();
    let file = std::fs::File::open(path);
    // Read into room for the whole file at once, as `fs::read` does.
    let size = file
        .as_ref()
        .ok()
        .and_then(|file| file.metadata().ok())
        .map_or(0, |metadata| metadata.len().min(MAX_SOURCE_BYTES));
    match file.and_then(|file| read_bounded(file, size as usize)) {
        Ok(bytes) => push_text(name, bytes, sources, diagnostics),
        Err(error) => diagnostics.push(read_error(&name, "file", &error)),
    }
}

/// All of `reader`, or an error of kind `FileTooLarge` beyond [`MAX_SOURCE_BYTES`].
/// `expected` bytes are reserved up front.
fn read_bounded(reader: impl Read, expected: usize) -> std::io::Result<Vec<u8>> {
    // One byte more: reading up to the end needs room to find it.
    let mut bytes = Vec::with_capacity(expected + 1);
    reader.take(MAX_SOURCE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(std::io::ErrorKind::FileTooLarge.into());
    }
    Ok(bytes)
}

fn read_error(name: &str, what: &str, error: &std::io::Error) -> Diagnostic {
    if error.kind() == std::io::ErrorKind::FileTooLarge {
        let mut diagnostic = Diagnostic::error(format!(
            "the YAML is too big to read safely: it is larger than {} MiB",
            MAX_SOURCE_BYTES / 1024 / 1024
        ))
        .with_help("split it into several files");
        diagnostic.file = Some(name.to_string());
        return diagnostic;
    }
    Diagnostic::error(format!("{name}: cannot read {what}: {error}"))
}

fn push_text(
    name: String,
    bytes: Vec<u8>,
    sources: &mut Vec<SourceText>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    match String::from_utf8(bytes) {
        Ok(text) => sources.push(SourceText {
            name,
            text: Arc::from(text),
        }),
        Err(error) => {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&byte| byte == b'\n').count() as u64 + 1;
            let column = valid
                .iter()
                .rev()
                .take_while(|&&byte| byte != b'\n')
                .count() as u64
                + 1;
            let mut diagnostic = Diagnostic::error("not UTF-8 text (a binary file?)")
                .with_help("manifests must be UTF-8 encoded YAML");
            diagnostic.file = Some(name);
            diagnostic.line = Some(line);
            diagnostic.column = Some(column);
            diagnostics.push(diagnostic);
        }
    }
}
