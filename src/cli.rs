//! The command line: clap definitions (doc comments are the help text), one
//! function per command, and the exit-code contract.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::diagnostics::Severity;
use crate::manifest;
use crate::schema;

/// Keeps NATS JetStream streams, consumers, key-value buckets and object
/// stores in the state declared in Git.
#[derive(Debug, Parser)]
#[command(name = "jetsync", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check manifests offline: syntax, fields, names, subjects, ranges and
    /// combinations the server would refuse. Exit 0 when valid, 1 when not.
    Validate(ValidateArgs),
    /// Print the CustomResourceDefinitions of every kind, or write them to a directory.
    Crds(CrdsArgs),
    /// Print the JSON Schema of jetsync documents, for editors (yaml-language-server).
    Schema,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// Manifest files or directories (searched recursively for *.yaml, *.yml); `-` reads stdin.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    filenames: Vec<PathBuf>,
    /// Manifest files or directories, as with `-f`.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = ValidateOutput::Human)]
    output: ValidateOutput,
}

#[derive(Debug, Args)]
struct CrdsArgs {
    /// Write one `<plural>.jetsync.dev.yaml` file per kind into this directory instead of printing.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ValidateOutput {
    /// Diagnostics with the offending lines, for people.
    Human,
    /// One JSON document with every diagnostic, for tools.
    Json,
}

/// How a command ended, mapped to the process exit code (DESIGN.md's CLI contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the command did what was asked (`validate`: the manifests are valid).
    Success,
    /// 1: the input was invalid or the command failed.
    Failure,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
        }
    }
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let status = match cli.command {
        Command::Validate(args) => validate(args, color),
        Command::Crds(args) => crds(args),
        Command::Schema => print_json(&schema::manifest_schema()),
    };
    status.into()
}

fn validate(args: ValidateArgs, color: bool) -> ExitStatus {
    let mut paths = args.filenames;
    paths.extend(args.paths);
    if paths.is_empty() {
        eprintln!(
            "error: no manifests given; pass files or directories with -f (or `-` for stdin)"
        );
        return ExitStatus::Failure;
    }
    let manifests = manifest::load(&paths);
    let errors = manifests.error_count();
    match args.output {
        ValidateOutput::Human => {
            let mut stderr = std::io::stderr().lock();
            for diagnostic in &manifests.diagnostics {
                let _ = write!(stderr, "{}", diagnostic.render(color));
            }
            let warnings = manifests
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Warning)
                .count();
            let summary = if errors == 0 {
                format!(
                    "{} valid: {} document(s) in {} file(s), {warnings} warning(s)",
                    paths_label(&paths),
                    manifests.documents.len(),
                    manifests.files
                )
            } else {
                format!(
                    "{} invalid: {errors} error(s), {warnings} warning(s) in {} file(s)",
                    paths_label(&paths),
                    manifests.files
                )
            };
            print_out(&format!("{summary}\n"));
        }
        ValidateOutput::Json => {
            let report = serde_json::json!({
                "valid": errors == 0,
                "files": manifests.files,
                "documents": manifests.documents.len(),
                "diagnostics": manifests.diagnostics,
            });
            let _ = print_json(&report);
        }
    }
    if errors == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}

fn paths_label(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn crds(args: CrdsArgs) -> ExitStatus {
    let Some(dir) = args.out_dir else {
        print_out(&schema::crds_yaml());
        return ExitStatus::Success;
    };
    if let Err(error) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {error}", dir.display());
        return ExitStatus::Failure;
    }
    for crd in schema::crds() {
        let path = dir.join(schema::crd_file_name(&crd));
        if let Err(error) = std::fs::write(&path, schema::crd_yaml(&crd)) {
            eprintln!("error: cannot write {}: {error}", path.display());
            return ExitStatus::Failure;
        }
        print_out(&format!("wrote {}\n", path.display()));
    }
    ExitStatus::Success
}

fn print_json(value: &serde_json::Value) -> ExitStatus {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            print_out(&format!("{text}\n"));
            ExitStatus::Success
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitStatus::Failure
        }
    }
}

/// Writes to stdout, ignoring a closed pipe (`jetsync crds | head`).
fn print_out(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
