//! The engine commands behind the CLI: plan, diff, apply, export and
//! convert. Each runs the engine's pipeline ([`crate::engine::Pipeline`]):
//! it loads and validates the manifests before writing anything (the
//! default connection's state is read meanwhile), plans per connection, and
//! maps the outcome to the exit-code contract.

mod apply;
mod convert;
mod output;

use std::path::Path;

pub use apply::apply;
pub use convert::convert;

use crate::engine::{self, Notice, Pipeline, Planned};
use crate::manifest::Manifests;
use crate::nats::ConnectOptions;
use crate::plan::export as exporting;
use crate::saved_plan;
use crate::settings::{EngineSettings, ExitStatus};
use output::{document, error, load, out, show};

/// How a failure is reported in a command's exit code.
#[derive(Clone, Copy)]
struct Codes {
    /// Exit status for an error (plan/apply: 1; diff: 2).
    error: ExitStatus,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The pipeline's notices go to stderr.
fn print_notice(notice: &Notice) {
    eprintln!("note: {notice}");
}

/// The pipeline up to the plans: the default connection is read while the
/// manifests load and are validated, then every group is observed and
/// planned. None (after printing why) when it stops before a plan; errors
/// found by planning stay in the plans.
fn plans(
    args: &EngineSettings,
    color: bool,
) -> Option<(tokio::runtime::Runtime, Manifests, Vec<Planned>)> {
    let pipeline = Pipeline::new(args).with_notices(print_notice);
    let runtime = runtime();
    let prefetched = pipeline.prefetch(&runtime);
    let mut manifests = load(&pipeline, args, color)?;
    match runtime.block_on(pipeline.plan_all(&mut manifests, Some(prefetched))) {
        Ok(planned) => Some((runtime, manifests, planned)),
        Err(problem) => {
            error(problem);
            None
        }
    }
}

fn has_errors(planned: &[Planned]) -> bool {
    planned.iter().any(|group| group.plan.has_errors())
}

fn has_changes(planned: &[Planned]) -> bool {
    planned.iter().any(|group| group.plan.has_changes())
}

/// `jetsync plan`.
pub fn plan(
    args: &EngineSettings,
    detailed: bool,
    out_file: Option<&Path>,
    color: bool,
) -> ExitStatus {
    let Some((_runtime, manifests, planned)) = plans(args, color) else {
        return ExitStatus::Failure;
    };
    show(args, &manifests, &planned, color);
    if has_errors(&planned) {
        error("the plan has errors; nothing can be applied");
        return ExitStatus::Failure;
    }
    if let Some(path) = out_file {
        let mut document = document(args, &manifests, &planned);
        saved_plan::record_root(&mut document, path);
        let text = serde_json::to_string_pretty(&document).expect("plans serialize");
        if let Err(e) = std::fs::write(path, format!("{text}\n")) {
            error(format!("cannot write {}: {e}", path.display()));
            return ExitStatus::Failure;
        }
        eprintln!(
            "Saved the plan to {}; `jetsync apply {}` applies exactly it.",
            path.display(),
            path.display()
        );
    }
    let status = if detailed && has_changes(&planned) {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    };
    left_for_exit((manifests, planned));
    status
}

/// The process ends right after a command: freeing thousands of parsed
/// configs one by one would only delay that (about a tenth of a no-op plan's
/// own work at 4,000 assets), so the operating system takes them back whole.
fn left_for_exit<T>(value: T) {
    std::mem::forget(value);
}

/// `jetsync diff`: 0 in sync, 1 differences, 2 error.
pub fn diff(args: &EngineSettings, color: bool) -> ExitStatus {
    let codes = Codes {
        error: ExitStatus::Changes,
    };
    let Some((_runtime, manifests, planned)) = plans(args, color) else {
        return codes.error;
    };
    show(args, &manifests, &planned, color);
    if has_errors(&planned) {
        return codes.error;
    }
    let status = if has_changes(&planned) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    };
    left_for_exit((manifests, planned));
    status
}

/// `jetsync export`.
pub fn export(
    connection: &ConnectOptions,
    owner: &str,
    all: bool,
    out_file: Option<&Path>,
) -> ExitStatus {
    let options = connection.clone();
    let assets = match runtime().block_on(engine::connect_and_observe(&options)) {
        Ok((_, state)) => engine::live_assets(state),
        Err(message) => {
            error(message);
            return ExitStatus::Failure;
        }
    };
    let selected: Vec<_> = exporting::select_for_export(&assets, owner, all)
        .into_iter()
        .cloned()
        .collect();
    let yaml = match exporting::export_documents(&selected, all) {
        Ok(yaml) => yaml,
        Err(e) => {
            error(e);
            return ExitStatus::Failure;
        }
    };
    match out_file {
        Some(path) => {
            if let Err(e) = std::fs::write(path, yaml) {
                error(format!("cannot write {}: {e}", path.display()));
                return ExitStatus::Failure;
            }
            eprintln!("wrote {} asset(s) to {}", selected.len(), path.display());
        }
        None => out(&yaml),
    }
    ExitStatus::Success
}
