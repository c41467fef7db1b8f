//! The Python venv `scripts/test` installs (kubernetes-validate,
//! helm-python-sdk, lupa, nats-py), for tests that run its tools.

use std::path::PathBuf;

/// The venv at `$JETSYNC_VENV`; under `CI=true` a missing venv fails the
/// test, elsewhere the test says it skipped.
pub fn venv() -> Option<PathBuf> {
    match std::env::var_os("JETSYNC_VENV").map(PathBuf::from) {
        Some(path) if path.join("bin/python").exists() => Some(path),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("JETSYNC_VENV is not set to an installed venv; scripts/test installs it")
        }
        _ => {
            eprintln!("SKIPPED: JETSYNC_VENV not set (run scripts/test to install the test tools)");
            None
        }
    }
}
