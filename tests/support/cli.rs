//! Running the `jetsync` binary the way a user does, for integration tests:
//! in a directory of manifests, against one server, with no environment or
//! user configuration leaking in. Include it with
//! `#[path = "support/cli.rs"] mod cli;` next to `mod support;`.

use std::path::Path;
use std::process::{Command, Stdio};

/// What one run printed and its exit code.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout and stderr, for assertion messages.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `jetsync ARGS --server URL` in `dir`, without `NATS_URL`,
/// `NATS_CONTEXT`, `JETSYNC_OWNER`, colour, stdin or a nats CLI context.
pub fn jetsync(dir: &Path, url: &str, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_jetsync"))
        .args(args)
        .args(["--server", url])
        .env("NO_COLOR", "1")
        .env_remove("NATS_URL")
        .env_remove("NATS_CONTEXT")
        .env_remove("JETSYNC_OWNER")
        .env("XDG_CONFIG_HOME", "/nonexistent-jetsync-test")
        .stdin(Stdio::null())
        .current_dir(dir)
        .output()
        .expect("jetsync runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Writes `text` to `dir/name`, making the directories on the way.
pub fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("a file in a directory")).unwrap();
    std::fs::write(path, text).unwrap();
}
