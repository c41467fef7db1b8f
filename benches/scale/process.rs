//! Running one measured process: wall time from just before spawn to its
//! reaping, and its own resource usage from `wait4(2)` — peak RSS
//! (`ru_maxrss`) and CPU time of that child alone.
//!
//! `getrusage(RUSAGE_CHILDREN)` would mix in every other reaped child (the
//! killed nats-servers), polling `/proc/<pid>/status` for VmHWM races with
//! the exit, and std's `Child::wait` does not return rusage. One more trap:
//! at `exec` Linux folds the peak RSS of the address space being replaced
//! into the new program's `ru_maxrss`, and a child spawned by this benchmark
//! starts as a copy of it (tens of MB once the workloads are in memory).
//! So the benchmark spawns a small launcher — this binary re-executed as
//! `scale measured RESULT -- PROGRAM ARGS…`, a few MB before it spawns —
//! which spawns the program, reaps it with `wait4` and writes what it cost
//! to RESULT, as GNU time would.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// What one process run cost.
#[derive(Clone, Copy, Debug, Default)]
pub struct Run {
    pub wall: Duration,
    /// Peak resident set size, KiB.
    pub max_rss_kib: u64,
    /// User + system CPU time of the process.
    pub cpu: Duration,
    /// Exit code; None when killed by a signal.
    pub exit_code: Option<i32>,
}

fn timeval(value: libc::timeval) -> Duration {
    Duration::from_secs(value.tv_sec as u64) + Duration::from_micros(value.tv_usec as u64)
}

/// Runs `command` (program and arguments only) through the launcher, its
/// input from `stdin` (else none), its output to `stdout` and `stderr`, and
/// returns what it cost; `scratch` is a directory for the launcher's report.
pub fn run(
    command: &Command,
    stdin: Option<File>,
    stdout: File,
    stderr: File,
    scratch: &Path,
) -> io::Result<Run> {
    let report = scratch.join("measured");
    let _ = std::fs::remove_file(&report);
    let status = Command::new(std::env::current_exe()?)
        .arg("measured")
        .arg(&report)
        .arg("--")
        .arg(command.get_program())
        .args(command.get_args())
        .stdin(stdin.map_or_else(Stdio::null, Stdio::from))
        .stdout(stdout)
        .stderr(stderr)
        .status()?;
    let text = std::fs::read_to_string(&report).map_err(|error| {
        io::Error::other(format!("the launcher ({status}) wrote no report: {error}"))
    })?;
    let numbers: Vec<i64> = text
        .split_whitespace()
        .filter_map(|field| field.parse().ok())
        .collect();
    let [wall_nanos, max_rss_kib, cpu_nanos, exit_code] = numbers[..] else {
        return Err(io::Error::other(format!(
            "unreadable launcher report `{text}`"
        )));
    };
    Ok(Run {
        wall: Duration::from_nanos(wall_nanos as u64),
        max_rss_kib: max_rss_kib as u64,
        cpu: Duration::from_nanos(cpu_nanos as u64),
        exit_code: (exit_code >= 0).then_some(exit_code as i32),
    })
}

/// The launcher: `measured RESULT -- PROGRAM ARGS…`. Spawns PROGRAM (stdio
/// inherited), reaps it and writes `wall_ns max_rss_kib cpu_ns exit_code`
/// (exit code -1 when killed by a signal) to RESULT.
pub fn launch(args: &[String]) -> ExitCode {
    let [report, separator, program, rest @ ..] = args else {
        eprintln!("usage: scale measured RESULT -- PROGRAM [ARGS...]");
        return ExitCode::from(2);
    };
    if separator != "--" {
        eprintln!("usage: scale measured RESULT -- PROGRAM [ARGS...]");
        return ExitCode::from(2);
    }
    let rest: Vec<OsString> = rest.iter().map(OsString::from).collect();
    match spawn_and_reap(program, &rest) {
        Ok(run) => {
            let line = format!(
                "{} {} {} {}\n",
                run.wall.as_nanos(),
                run.max_rss_kib,
                run.cpu.as_nanos(),
                run.exit_code.unwrap_or(-1)
            );
            match std::fs::write(report, line) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("measured: writing {report}: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(error) => {
            eprintln!("measured: running {program}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn spawn_and_reap(program: &str, args: &[OsString]) -> io::Result<Run> {
    let start = Instant::now();
    let child = Command::new(program).args(args).spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our unreaped child; status and usage are valid for writes.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    let wall = start.elapsed();
    // Reaped above: dropping the handle neither waits nor kills.
    drop(child);
    Ok(Run {
        wall,
        max_rss_kib: usage.ru_maxrss.max(0) as u64,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        exit_code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
    })
}
