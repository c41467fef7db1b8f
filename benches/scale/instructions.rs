//! `cargo bench --bench scale -- --instructions [--scale 1]`: instructions,
//! not seconds. With W applied to a fresh nats-server, the read floor, the
//! no-op `plan` of the files and the no-op `plan` of W as one stream on
//! stdin each run once under valgrind's callgrind (which counts the same
//! instructions however busy the machine is); the whole process's count and
//! each phase's, from callgrind's inclusive counts per function, are printed
//! per document and written to `target/bench/instructions.json`.
//!
//! The phases are measured in a second run on one CPU (`taskset -c 0`:
//! jetsync then does everything on one thread, so that each phase's work
//! nests under the function named for it); a phase is the inclusive count
//! of its functions, and what no phase names (the runtime, connecting,
//! printing the result) is "the rest". The first run, as the program
//! normally runs (on every CPU), gives the whole process's count.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::server::Server;
use crate::workload::{self, Scale};

/// The phases of a no-op plan and the functions whose inclusive counts make
/// each (matched on the demangled name without its hash). None of them
/// calls another's.
const PHASES: [(&str, &[&str]); 6] = [
    (
        "reading files",
        &["jetsync::manifest::source::read_sources"],
    ),
    ("YAML", &["jetsync::manifest::node::parse_documents"]),
    (
        "decode/validate (and the desired configs)",
        &[
            "jetsync::manifest::decode::decode_documents",
            "jetsync::manifest::validate_and_release",
            "jetsync::plan::desired::desired_from_spec",
        ],
    ),
    (
        "listing's JSON (and the live assets)",
        &["serde_json::de::from_slice", "jetsync::engine::live_assets"],
    ),
    ("classify", &["jetsync::plan::classify::plan"]),
    ("render", &["jetsync::render::human::render_plan"]),
];

/// One callgrind run: the program's total and each function's inclusive count.
pub struct Profile {
    total: u64,
    inclusive: Vec<(String, u64)>,
}

impl Profile {
    /// The inclusive count of the functions named `names`.
    fn phase(&self, names: &[&str]) -> u64 {
        self.inclusive
            .iter()
            .filter(|(function, _)| names.contains(&function.as_str()))
            .map(|(_, count)| count)
            .sum()
    }
}

/// `jetsync::x::y::h0123456789abcdef` → `jetsync::x::y`; generic arguments
/// (`<…>`) dropped from paths that are not trait impls.
fn plain_name(function: &str) -> String {
    let function = match function.rfind("::h") {
        Some(at)
            if function.len() - at == 19
                && function[at + 3..].bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            &function[..at]
        }
        _ => function,
    };
    function.to_string()
}

/// Parses `callgrind_annotate --inclusive=yes` output.
fn parse_annotate(text: &str) -> Result<Profile, String> {
    let number = |field: &str| field.replace(',', "").parse::<u64>().ok();
    let mut total = None;
    let mut inclusive = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_suffix("PROGRAM TOTALS") {
            total = rest.split_whitespace().next().and_then(number);
            continue;
        }
        let mut fields = line.splitn(2, ' ');
        let (Some(count), Some(rest)) = (fields.next().and_then(number), fields.next()) else {
            continue;
        };
        // `(12.34%)  file:function [object]`
        let rest = rest.trim_start();
        let rest = match rest.strip_prefix('(') {
            Some(after) => after.split_once(')').map_or(after, |(_, r)| r).trim_start(),
            None => rest,
        };
        let Some((_, function)) = rest.split_once(':') else {
            continue;
        };
        let function = match function.rfind(" [") {
            Some(at) => &function[..at],
            None => function,
        };
        inclusive.push((plain_name(function), count));
    }
    Ok(Profile {
        total: total.ok_or("callgrind_annotate printed no PROGRAM TOTALS")?,
        inclusive,
    })
}

fn has_valgrind() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Runs `command` under callgrind (its input from `stdin`, else none) and
/// reads its profile back; `exit` is the exit code it must end with.
fn callgrind(
    command: &Command,
    stdin: Option<&Path>,
    out: &Path,
    exit: i32,
    one_cpu: bool,
) -> Result<Profile, String> {
    let mut valgrind = if one_cpu {
        let mut taskset = Command::new("taskset");
        taskset.args(["-c", "0", "valgrind"]);
        taskset
    } else {
        Command::new("valgrind")
    };
    valgrind
        .args(["--tool=callgrind", "--quiet"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(command.get_program())
        .args(command.get_args())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    match stdin {
        Some(path) => valgrind.stdin(std::fs::File::open(path).map_err(|e| e.to_string())?),
        None => valgrind.stdin(Stdio::null()),
    };
    let output = valgrind
        .output()
        .map_err(|e| format!("running valgrind: {e}"))?;
    if output.status.code() != Some(exit) {
        return Err(format!(
            "{command:?} under callgrind exited with {:?}, expected {exit}: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let annotate = Command::new("callgrind_annotate")
        .args(["--inclusive=yes", "--threshold=100"])
        .arg(out)
        .output()
        .map_err(|e| format!("running callgrind_annotate: {e}"))?;
    parse_annotate(&String::from_utf8_lossy(&annotate.stdout))
}

/// What the instruction run measures at one scale: each program as it
/// runs, and on one CPU for the phases.
pub struct Measured {
    pub scale: Scale,
    pub floor: Profile,
    pub plan: Profile,
    pub plan_stdin: Profile,
    pub plan_one_cpu: Profile,
    pub plan_stdin_one_cpu: Profile,
}

/// The commands the instruction run needs from the benchmark.
pub struct Commands {
    pub floor: Command,
    pub plan: Command,
    pub plan_stdin: Command,
    pub stream: PathBuf,
}

/// Profiles the read floor and both no-op plans at `scale` on `server`
/// (W applied and settled).
pub fn measure(
    scale: Scale,
    commands: &Commands,
    server: &Server,
    scratch: &Path,
) -> Result<Measured, String> {
    let run = |command: &Command, stdin: Option<&Path>, name: &str, one_cpu: bool| {
        server.settle()?;
        callgrind(command, stdin, &scratch.join(name), 0, one_cpu)
    };
    let stream = Some(commands.stream.as_path());
    Ok(Measured {
        scale,
        floor: run(&commands.floor, None, "callgrind.floor", false)?,
        plan: run(&commands.plan, None, "callgrind.plan", false)?,
        plan_stdin: run(&commands.plan_stdin, stream, "callgrind.stdin", false)?,
        plan_one_cpu: run(&commands.plan, None, "callgrind.plan-1", true)?,
        plan_stdin_one_cpu: run(&commands.plan_stdin, stream, "callgrind.stdin-1", true)?,
    })
}

/// Checks that valgrind is there before the workloads are written.
pub fn check_tools() -> Result<(), String> {
    if has_valgrind() {
        Ok(())
    } else {
        Err("--instructions needs valgrind (callgrind) and taskset on PATH".into())
    }
}

fn millions(count: u64) -> f64 {
    count as f64 / 1e6
}

/// The table and the JSON of some measurements.
pub fn report(measured: &[Measured]) -> (String, Value) {
    use std::fmt::Write as _;
    let mut text = String::new();
    let mut results = Vec::new();
    for m in measured {
        let documents = m.scale.assets() as f64;
        let _ = writeln!(
            text,
            "\n{} ({} assets): instructions, whole process and by phase (callgrind, inclusive)\n",
            m.scale.label,
            m.scale.assets()
        );
        let _ = writeln!(
            text,
            "| phase (one CPU) | plan of the files: M | per document | plan on stdin: M | per document |"
        );
        let _ = writeln!(text, "| --- | --- | --- | --- | --- |");
        let mut phases = Vec::new();
        let mut named = (0, 0);
        for (phase, functions) in PHASES {
            let (files, stdin) = (
                m.plan_one_cpu.phase(functions),
                m.plan_stdin_one_cpu.phase(functions),
            );
            if files == 0 && phase != "render" {
                eprintln!("warning: no function of phase `{phase}` found: {functions:?}");
            }
            named.0 += files;
            named.1 += stdin;
            phases.push((phase.to_string(), files, stdin));
        }
        phases.push((
            "the rest (runtime, connecting, printing)".into(),
            m.plan_one_cpu.total.saturating_sub(named.0),
            m.plan_stdin_one_cpu.total.saturating_sub(named.1),
        ));
        phases.push((
            "whole process, one CPU".into(),
            m.plan_one_cpu.total,
            m.plan_stdin_one_cpu.total,
        ));
        phases.push((
            "whole process, as it runs (every CPU)".into(),
            m.plan.total,
            m.plan_stdin.total,
        ));
        for (phase, files, stdin) in &phases {
            let _ = writeln!(
                text,
                "| {phase} | {:.1} | {:.0} | {:.1} | {:.0} |",
                millions(*files),
                *files as f64 / documents,
                millions(*stdin),
                *stdin as f64 / documents,
            );
        }
        let _ = writeln!(
            text,
            "| read floor, whole process | {:.1} | {:.0} | | |",
            millions(m.floor.total),
            m.floor.total as f64 / documents
        );
        let _ = writeln!(
            text,
            "\nplan / read floor, instructions: files {:.2}×, stdin {:.2}×",
            m.plan.total as f64 / m.floor.total as f64,
            m.plan_stdin.total as f64 / m.floor.total as f64
        );
        results.push(json!({
            "scale": m.scale.label,
            "assets": m.scale.assets(),
            "read_floor_instructions": m.floor.total,
            "noop_plan_instructions": m.plan.total,
            "noop_plan_stdin_instructions": m.plan_stdin.total,
            "noop_plan_instructions_one_cpu": m.plan_one_cpu.total,
            "noop_plan_stdin_instructions_one_cpu": m.plan_stdin_one_cpu.total,
            "phases": phases.iter().map(|(phase, files, stdin)| json!({
                "phase": phase,
                "noop_plan": files,
                "noop_plan_stdin": stdin,
                "noop_plan_per_document": *files as f64 / documents,
                "noop_plan_stdin_per_document": *stdin as f64 / documents,
            })).collect::<Vec<_>>(),
            "functions": PHASES.iter().map(|(phase, functions)| json!({
                "phase": phase, "functions": functions,
            })).collect::<Vec<_>>(),
        }));
    }
    (text, Value::Array(results))
}

/// Writes the workload for `scale` under `dir`.
pub fn workload(dir: &Path, scale: Scale) -> Result<workload::Workload, String> {
    workload::write(dir, scale).map_err(|e| format!("writing the workload: {e}"))
}
