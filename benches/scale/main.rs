//! `cargo bench --bench scale [-- --quick | --reps N | --pairs N | --scale 0.1|1|3 | --jetsync PATH | --out FILE]`
//!
//! Measures jetsync on workload W (4,100 assets; see `workload.rs`) against
//! the server's own floors (reading all state by listing; creating all
//! assets) and against a nats-py reconcile (`bench/reconcile.py`), each on a
//! fresh nats-server, whole processes. Prints tables and writes
//! `target/bench/scale.json` (`scale-quick.json` with `--quick`).
//!
//! Per repetition (default 1) and scale, three scenarios, each on a fresh
//! server, in an order rotated every repetition:
//! - the create floor, from empty;
//! - `jetsync apply` from empty; then, W in sync, the INFO floor and the
//!   nats-py reconcile once each; then `--pairs` rounds (default 11) of
//!   interleaved pairs, whole processes one after the other: the read floor,
//!   then the no-op `plan` of the files; the read floor, then the no-op
//!   `plan` of W as one stream on stdin; the read floor, then the in-sync
//!   `apply` (the order of the three rotates every round); then 1% of the
//!   assets drift out of band (max_age of that many streams, raw API) and
//!   `plan` and `apply` run once more;
//! - the nats-py reconcile from empty.
//!
//! `--instructions` counts instructions instead (see `instructions.rs`).

mod floors;
mod instructions;
mod process;
mod report;
mod server;
mod workload;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use serde_json::{Value, json};

use report::{Operation, Sample};
use server::Server;
use workload::{Scale, Workload};

const JETSYNC: &str = env!("CARGO_BIN_EXE_jetsync");
const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const NATS_SERVER_VERSION: &str = "2.15.1";
const NATS_PY_VERSION: &str = "2.16.0";

struct Options {
    quick: bool,
    /// `--instructions`: count instructions under callgrind instead.
    instructions: bool,
    /// `--jetsync PATH`: the jetsync binary measured (default: this build's).
    jetsync: PathBuf,
    reps: usize,
    pairs: usize,
    scales: Vec<Scale>,
    out: PathBuf,
}

fn usage() -> String {
    "usage: cargo bench --bench scale [-- [--quick] [--reps N] [--pairs N] [--instructions] [--jetsync PATH] [--scale 0.1|1|3]... [--out FILE]]"
        .into()
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut quick = false;
    let mut instructions = false;
    let mut jetsync = PathBuf::from(JETSYNC);
    let mut reps = None;
    let mut pairs = None;
    let mut scales = Vec::new();
    let mut out = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {} // cargo bench passes it
            "--quick" => quick = true,
            "--instructions" => instructions = true,
            "--jetsync" => jetsync = PathBuf::from(args.next().ok_or_else(usage)?),
            "--reps" => {
                let value = args.next().ok_or_else(usage)?;
                reps = Some(value.parse::<usize>().map_err(|_| usage())?.max(1));
            }
            "--pairs" => {
                let value = args.next().ok_or_else(usage)?;
                pairs = Some(value.parse::<usize>().map_err(|_| usage())?.max(1));
            }
            "--scale" => scales.push(match args.next().map(String::as_str) {
                Some("0.1") => Scale::TENTH,
                Some("1") => Scale::W,
                Some("3") => Scale::TRIPLE,
                _ => return Err(usage()),
            }),
            "--out" => out = Some(PathBuf::from(args.next().ok_or_else(usage)?)),
            "-h" | "--help" => return Err(usage()),
            _ => {} // filters cargo may pass on: ignored
        }
    }
    if scales.is_empty() && instructions {
        scales = vec![Scale::W];
    }
    if scales.is_empty() {
        scales = if quick {
            vec![Scale::TENTH]
        } else {
            vec![Scale::TENTH, Scale::W, Scale::TRIPLE]
        };
    }
    let name = if instructions {
        "instructions.json"
    } else if quick {
        "scale-quick.json"
    } else {
        "scale.json"
    };
    Ok(Options {
        quick,
        instructions,
        jetsync,
        reps: reps.unwrap_or(1),
        pairs: pairs.unwrap_or(if quick { 3 } else { 11 }),
        scales,
        out: out.unwrap_or_else(|| Path::new(MANIFEST_DIR).join("target/bench").join(name)),
    })
}

fn nats_server_bin() -> PathBuf {
    std::env::var_os("NATS_SERVER_BIN")
        .filter(|bin| !bin.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(MANIFEST_DIR).join(format!(
                "target/tools/nats-server-{NATS_SERVER_VERSION}/bin/nats-server"
            ))
        })
}

/// The venv's python with nats-py, installing nats-py with pip if it is
/// missing; None (the peer is skipped) when that fails.
fn peer_python() -> Option<PathBuf> {
    let venv = std::env::var_os("JETSYNC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(MANIFEST_DIR).join("target/tools/venv"));
    let python = venv.join("bin/python");
    let has_nats = || {
        Command::new(&python)
            .args(["-c", "import nats"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if has_nats() {
        return Some(python);
    }
    if python.is_file() {
        eprintln!(
            "installing nats-py=={NATS_PY_VERSION} into {}",
            venv.display()
        );
        let _ = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(format!("nats-py=={NATS_PY_VERSION}"))
            .status();
        if has_nats() {
            return Some(python);
        }
    }
    eprintln!(
        "note: no python with nats-py at {} (scripts/test installs it): the nats-py peer is skipped",
        python.display()
    );
    None
}

/// Where a run keeps its files: removed, store directories included, when
/// the run ends.
struct Dirs {
    servers: PathBuf,
    logs: PathBuf,
}

/// The scenarios of one repetition, each on its own fresh server.
#[derive(Clone, Copy)]
enum Scenario {
    CreateFloor,
    Jetsync,
    PeerFromEmpty,
}

/// Everything one run needs.
struct Bench {
    server_bin: PathBuf,
    jetsync: PathBuf,
    python: Option<PathBuf>,
    /// Interleaved pairs per repetition and scale.
    pairs: usize,
    runtime: tokio::runtime::Runtime,
    samples: Vec<Sample>,
}

/// One measured process on `server`: its own cost and what the server did meanwhile.
fn measure(
    server: &Server,
    command: &Command,
    logs: &Path,
    expect_exit: i32,
) -> Result<(process::Run, server::ServerCost, String), String> {
    measure_reading(server, command, None, logs, expect_exit)
}

/// [`measure`], the process reading the file `stdin` on its standard input.
fn measure_reading(
    server: &Server,
    command: &Command,
    stdin: Option<&Path>,
    logs: &Path,
    expect_exit: i32,
) -> Result<(process::Run, server::ServerCost, String), String> {
    let stdin = stdin
        .map(std::fs::File::open)
        .transpose()
        .map_err(|e| e.to_string())?;
    let stdout_path = logs.join("stdout");
    let stderr_path = logs.join("stderr");
    let stdout = std::fs::File::create(&stdout_path).map_err(|e| e.to_string())?;
    let stderr = std::fs::File::create(&stderr_path).map_err(|e| e.to_string())?;
    let before = server.counters()?;
    let run = process::run(command, stdin, stdout, stderr, logs)
        .map_err(|e| format!("running {command:?}: {e}"))?;
    let after = server.counters()?;
    let output = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    if run.exit_code != Some(expect_exit) {
        let errors = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        return Err(format!(
            "{command:?} exited with {:?}, expected {expect_exit}\n--- stdout (end) ---\n{}\n--- stderr (end) ---\n{}",
            run.exit_code,
            tail(&output),
            tail(&errors)
        ));
    }
    Ok((run, after.since(&before), output))
}

fn tail(text: &str) -> &str {
    let start = text.len().saturating_sub(3000);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    &text[start..]
}

fn check(condition: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(what()) }
}

/// A JSON summary printed by a floor or the peer.
fn summary(output: &str) -> Value {
    output
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or(Value::Null)
}

impl Bench {
    fn record(
        &mut self,
        scale: Scale,
        rep: usize,
        operation: Operation,
        measured: (process::Run, server::ServerCost),
    ) {
        self.push(scale, (rep, 0), operation, None, measured);
    }

    /// One interleaved pair: the read floor and `operation`, run one after
    /// the other in round `round` of repetition `rep`.
    fn record_pair(
        &mut self,
        scale: Scale,
        rep: usize,
        round: usize,
        operation: Operation,
        floor: (process::Run, server::ServerCost),
        measured: (process::Run, server::ServerCost),
    ) {
        self.push(
            scale,
            (rep, round),
            Operation::ReadFloor,
            Some(operation),
            floor,
        );
        self.push(scale, (rep, round), operation, None, measured);
    }

    fn push(
        &mut self,
        scale: Scale,
        (rep, round): (usize, usize),
        operation: Operation,
        floor_of: Option<Operation>,
        (run, cost): (process::Run, server::ServerCost),
    ) {
        self.samples.push(Sample {
            scale: scale.label,
            operation,
            rep,
            round,
            floor_of,
            load_average: load_average_1m(),
            wall_seconds: run.wall.as_secs_f64(),
            max_rss_kib: run.max_rss_kib,
            cpu_seconds: run.cpu.as_secs_f64(),
            api_requests: cost.api_requests,
            server_cpu_seconds: cost.cpu_seconds,
            server_write_bytes: cost.write_bytes,
        });
    }

    fn jetsync(&self, command: &str, workload: &Workload, server: &Server) -> Command {
        let mut jetsync = Command::new(&self.jetsync);
        jetsync
            .arg(command)
            .arg("-f")
            .arg(&workload.manifests)
            .arg("--server")
            .arg(server.url())
            .args(["--color", "never"]);
        jetsync
    }

    fn floor(&self, kind: &str, workload: &Workload, server: &Server) -> Result<Command, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut floor = Command::new(exe);
        floor
            .args(["floor", kind, &server.url()])
            .arg(&workload.desired_json);
        Ok(floor)
    }

    fn peer(&self, workload: &Workload, server: &Server) -> Option<Command> {
        let python = self.python.as_ref()?;
        let mut peer = Command::new(python);
        peer.arg(Path::new(MANIFEST_DIR).join("bench/reconcile.py"))
            .args([
                "--server",
                &server.url(),
                "--concurrency",
                "64",
                "--desired",
            ])
            .arg(&workload.desired_json);
        Some(peer)
    }

    /// One repetition of every scenario at one scale, in an order rotated
    /// each repetition so that none always runs first.
    fn repetition(&mut self, workload: &Workload, rep: usize, dirs: &Dirs) -> Result<(), String> {
        let mut scenarios = [
            Scenario::CreateFloor,
            Scenario::Jetsync,
            Scenario::PeerFromEmpty,
        ];
        let turn = rep % scenarios.len();
        scenarios.rotate_left(turn);
        for scenario in scenarios {
            match scenario {
                Scenario::CreateFloor => self.create_floor(workload, rep, dirs)?,
                Scenario::Jetsync => self.jetsync_scenarios(workload, rep, dirs)?,
                Scenario::PeerFromEmpty if self.python.is_some() => {
                    self.peer_from_empty(workload, rep, dirs)?
                }
                Scenario::PeerFromEmpty => {}
            }
        }
        Ok(())
    }

    /// The create floor, on an empty server.
    fn create_floor(&mut self, workload: &Workload, rep: usize, dirs: &Dirs) -> Result<(), String> {
        let assets = workload.scale.assets() as u64;
        let server = Server::start(&self.server_bin, &dirs.servers)?;
        server.settle()?;
        let (run, cost, output) = measure(
            &server,
            &self.floor("create", workload, &server)?,
            &dirs.logs,
            0,
        )?;
        check(summary(&output)["created"] == json!(assets), || {
            format!("create floor: {output}")
        })?;
        self.record(workload.scale, rep, Operation::CreateFloor, (run, cost));
        Ok(())
    }

    /// The nats-py reconcile, on an empty server.
    fn peer_from_empty(
        &mut self,
        workload: &Workload,
        rep: usize,
        dirs: &Dirs,
    ) -> Result<(), String> {
        let assets = workload.scale.assets() as u64;
        let server = Server::start(&self.server_bin, &dirs.servers)?;
        server.settle()?;
        let peer = self.peer(workload, &server).expect("python checked");
        let (run, cost, output) = measure(&server, &peer, &dirs.logs, 0)?;
        check(
            summary(&output) == json!({"created": assets, "updated": 0, "unchanged": 0}),
            || format!("nats-py from empty: {output}"),
        )?;
        self.record(workload.scale, rep, Operation::PeerFromEmpty, (run, cost));
        Ok(())
    }

    /// jetsync from empty; then, W in sync, the read and INFO floors, the
    /// no-op plan, the in-sync apply and the nats-py reconcile; then after
    /// drift, plan and apply.
    fn jetsync_scenarios(
        &mut self,
        workload: &Workload,
        rep: usize,
        dirs: &Dirs,
    ) -> Result<(), String> {
        let scale = workload.scale;
        let assets = scale.assets() as u64;
        let logs = &dirs.logs;
        let server = Server::start(&self.server_bin, &dirs.servers)?;
        server.settle()?;
        let (run, cost, output) = measure(
            &server,
            self.jetsync("apply", workload, &server).arg("--yes"),
            logs,
            0,
        )?;
        check(
            output.contains(&format!("Apply: {assets} created, 0 updated")),
            || {
                format!(
                    "apply from empty did not create {assets}: {}",
                    tail(&output)
                )
            },
        )?;
        self.record(scale, rep, Operation::ApplyFromEmpty, (run, cost));

        // Measured once per repetition, in an order rotated every repetition.
        let mut once = vec![Operation::InfoFloor];
        if self.python.is_some() {
            once.push(Operation::PeerInSync);
        }
        let turn = rep % once.len();
        once.rotate_left(turn);
        for operation in once {
            server.settle()?;
            let (run, cost, output) = self.in_sync(operation, workload, &server, logs)?;
            check_in_sync(operation, scale, &output)?;
            self.record(scale, rep, operation, (run, cost));
        }

        // Interleaved pairs: the read floor, then at once one of the in-sync
        // jetsync runs, A B A B …, each pair after the server went quiet; the
        // operation paired rotates every round. One unrecorded warm-up of each
        // first (page cache, the server's own caches).
        let mut paired = vec![
            Operation::NoopPlan,
            Operation::NoopPlanStdin,
            Operation::NoopApply,
        ];
        server.settle()?;
        for operation in std::iter::once(Operation::ReadFloor).chain(paired.clone()) {
            let (_, _, output) = self.in_sync(operation, workload, &server, logs)?;
            check_in_sync(operation, scale, &output)?;
        }
        for round in 0..self.pairs {
            for &operation in &paired {
                server.settle()?;
                let (run, cost, output) =
                    self.in_sync(Operation::ReadFloor, workload, &server, logs)?;
                check_in_sync(Operation::ReadFloor, scale, &output)?;
                let floor = (run, cost);
                let (run, cost, output) = self.in_sync(operation, workload, &server, logs)?;
                check_in_sync(operation, scale, &output)?;
                self.record_pair(scale, rep, round, operation, floor, (run, cost));
            }
            paired.rotate_left(1);
        }

        server.settle()?;
        self.drift(&server, workload)?;
        server.settle()?;
        let drifted = scale.drifted();
        let (run, cost, output) = measure(
            &server,
            self.jetsync("plan", workload, &server)
                .arg("--detailed-exitcode"),
            logs,
            2,
        )?;
        check(
            output.contains(&format!(
                "Plan: 0 to add, {drifted} to change, 0 to replace, 0 to destroy"
            )),
            || format!("plan after drift: {}", tail(&output)),
        )?;
        self.record(scale, rep, Operation::DriftPlan, (run, cost));
        server.settle()?;
        let (run, cost, output) = measure(
            &server,
            self.jetsync("apply", workload, &server).arg("--yes"),
            logs,
            0,
        )?;
        check(
            output.contains(&format!("Apply: 0 created, {drifted} updated")),
            || format!("apply after drift: {}", tail(&output)),
        )?;
        self.record(scale, rep, Operation::DriftApply, (run, cost));
        Ok(())
    }

    /// One run of an in-sync operation on `server` (W applied).
    fn in_sync(
        &self,
        operation: Operation,
        workload: &Workload,
        server: &Server,
        logs: &Path,
    ) -> Result<(process::Run, server::ServerCost, String), String> {
        let command = match operation {
            Operation::ReadFloor => self.floor("read", workload, server)?,
            Operation::InfoFloor => self.floor("info", workload, server)?,
            Operation::NoopPlan => {
                let mut plan = self.jetsync("plan", workload, server);
                plan.arg("--detailed-exitcode");
                plan
            }
            Operation::NoopPlanStdin => {
                let mut plan = Command::new(&self.jetsync);
                plan.args(["plan", "-f", "-", "--server", &server.url()])
                    .args(["--color", "never", "--detailed-exitcode"]);
                plan
            }
            Operation::NoopApply => {
                let mut apply = self.jetsync("apply", workload, server);
                apply.arg("--yes");
                apply
            }
            Operation::PeerInSync => self.peer(workload, server).expect("python checked"),
            other => return Err(format!("{other:?} is not an in-sync operation")),
        };
        let stdin = (operation == Operation::NoopPlanStdin).then_some(workload.stream.as_path());
        measure_reading(server, &command, stdin, logs, 0)
    }

    /// Changes `max_age` of `scale.drifted()` streams, spread over W, with raw
    /// API requests (INFO, then UPDATE with the config as read): out-of-band drift.
    fn drift(&self, server: &Server, workload: &Workload) -> Result<(), String> {
        let count = workload.scale.drifted();
        let names: Vec<&String> = (0..count)
            .map(|i| &workload.stream_names[i * workload.stream_names.len() / count])
            .collect();
        self.runtime.block_on(async {
            let client = async_nats::connect(server.url())
                .await
                .map_err(|e| e.to_string())?;
            for name in names {
                let info = client
                    .request(format!("$JS.API.STREAM.INFO.{name}"), "".into())
                    .await
                    .map_err(|e| e.to_string())?;
                let info: Value =
                    serde_json::from_slice(&info.payload).map_err(|e| e.to_string())?;
                let mut config = info["config"].clone();
                config["max_age"] = json!(2 * 3_600 * 1_000_000_000u64);
                let body = serde_json::to_vec(&config).map_err(|e| e.to_string())?;
                let answer = client
                    .request(format!("$JS.API.STREAM.UPDATE.{name}"), body.into())
                    .await
                    .map_err(|e| e.to_string())?;
                let answer: Value =
                    serde_json::from_slice(&answer.payload).map_err(|e| e.to_string())?;
                if let Some(error) = answer.get("error") {
                    return Err(format!("drifting {name}: {error}"));
                }
            }
            Ok(())
        })
    }
}

/// Checks what an in-sync run printed: the floors' summaries, the apply's
/// "Nothing to do", nats-py finding every asset unchanged.
fn check_in_sync(operation: Operation, scale: workload::Scale, output: &str) -> Result<(), String> {
    let assets = scale.assets() as u64;
    match operation {
        Operation::ReadFloor => check(
            summary(output)
                == json!({"streams": scale.streams + scale.buckets, "consumers": scale.consumers()}),
            || format!("read floor: {output}"),
        ),
        Operation::InfoFloor => check(summary(output)["read"] == json!(assets), || {
            format!("INFO floor: {output}")
        }),
        Operation::NoopApply => check(output.contains("Nothing to do"), || {
            format!("in-sync apply: {}", tail(output))
        }),
        Operation::PeerInSync => check(
            summary(output) == json!({"created": 0, "updated": 0, "unchanged": assets}),
            || format!("nats-py in sync: {output}"),
        ),
        _ => Ok(()),
    }
}

/// The one-minute load average now.
fn load_average_1m() -> f64 {
    load_average()
        .split_whitespace()
        .next()
        .and_then(|load| load.parse().ok())
        .unwrap_or(f64::NAN)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes the run's JSON result to `out`.
fn write_result(out: &Path, document: &Value) -> Result<(), String> {
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::write(
        out,
        serde_json::to_string_pretty(document).expect("json") + "\n",
    )
    .map_err(|e| format!("writing {}: {e}", out.display()))?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// `--instructions`: each scale's read floor and no-op plans under callgrind.
fn run_instructions(options: &Options) -> Result<(), String> {
    instructions::check_tools()?;
    let server_bin = nats_server_bin();
    let work = tempfile::Builder::new()
        .prefix("jetsync-bench-instructions-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let bench = Bench {
        server_bin,
        jetsync: options.jetsync.clone(),
        python: None,
        pairs: 0,
        runtime: tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| e.to_string())?,
        samples: Vec::new(),
    };
    let mut measured = Vec::new();
    for scale in &options.scales {
        let dir = work.path().join(scale.label.replace('×', "x"));
        let workload = instructions::workload(&dir, *scale)?;
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
        let server = Server::start(&bench.server_bin, work.path())?;
        server.settle()?;
        let (_, _, output) = measure(
            &server,
            bench.jetsync("apply", &workload, &server).arg("--yes"),
            &logs,
            0,
        )?;
        check(output.contains("created, 0 updated"), || {
            format!("apply from empty: {}", tail(&output))
        })?;
        let mut plan = bench.jetsync("plan", &workload, &server);
        plan.arg("--detailed-exitcode");
        let mut plan_stdin = Command::new(&bench.jetsync);
        plan_stdin
            .args(["plan", "-f", "-", "--server", &server.url()])
            .args(["--color", "never", "--detailed-exitcode"]);
        let commands = instructions::Commands {
            floor: bench.floor("read", &workload, &server)?,
            plan,
            plan_stdin,
            stream: workload.stream.clone(),
        };
        eprintln!(
            "{}: the read floor and the no-op plans under callgrind (about a minute each)",
            scale.label
        );
        measured.push(instructions::measure(*scale, &commands, &server, &logs)?);
    }
    let (text, results) = instructions::report(&measured);
    println!("{text}");
    let document = json!({
        "benchmark": "jetsync scale --instructions (cargo bench --bench scale -- --instructions)",
        "optimised": !cfg!(debug_assertions),
        "nats_server": bench.server_bin.display().to_string(),
        "jetsync": bench.jetsync.display().to_string(),
        "results": results,
    });
    write_result(&options.out, &document)
}

fn run(options: &Options) -> Result<(), String> {
    let server_bin = nats_server_bin();
    check(server_bin.is_file(), || {
        format!(
            "no nats-server at {} (set NATS_SERVER_BIN, or run scripts/test once to install {NATS_SERVER_VERSION})",
            server_bin.display()
        )
    })?;
    let python = peer_python();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let work = tempfile::Builder::new()
        .prefix("jetsync-bench-work-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let mut workloads = Vec::new();
    for scale in &options.scales {
        let dir = work.path().join(scale.label.replace('×', "x"));
        workloads
            .push(workload::write(&dir, *scale).map_err(|e| format!("writing the workload: {e}"))?);
    }
    let dirs = Dirs {
        servers: work.path().join("servers"),
        logs: work.path().join("logs"),
    };
    for dir in [&dirs.servers, &dirs.logs] {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let mut bench = Bench {
        server_bin,
        jetsync: options.jetsync.clone(),
        python,
        pairs: options.pairs,
        runtime,
        samples: Vec::new(),
    };
    if cfg!(debug_assertions) {
        eprintln!(
            "note: an unoptimised build (cargo bench --profile dev): the numbers say that the benchmark works, not how fast jetsync is"
        );
    }
    let load_before = load_average();
    eprintln!(
        "jetsync scale benchmark: {} repetition(s) of {}; load average {load_before}; {} CPUs",
        options.reps,
        options
            .scales
            .iter()
            .map(|s| s.label)
            .collect::<Vec<_>>()
            .join(", "),
        std::thread::available_parallelism().map_or(0, usize::from),
    );
    let mut loads = Vec::new();
    for rep in 0..options.reps {
        for workload in &workloads {
            let started = std::time::Instant::now();
            bench.repetition(workload, rep, &dirs)?;
            eprintln!(
                "  repetition {}/{} of {} done in {:.1} s (load average {})",
                rep + 1,
                options.reps,
                workload.scale.label,
                started.elapsed().as_secs_f64(),
                load_average()
            );
        }
        loads.push(load_average());
    }
    let load_after = load_average();
    let report = report::Report::new(&bench.samples, &options.scales, options.quick);
    println!("{}", report.tables());
    let document = json!({
        "benchmark": "jetsync scale (cargo bench --bench scale)",
        "quick": options.quick,
        "optimised": !cfg!(debug_assertions),
        "repetitions": options.reps,
        "machine": {
            "cpus": std::thread::available_parallelism().map_or(0, usize::from),
            "load_average_before": load_before,
            "load_average_after_each_repetition": loads,
            "load_average_after": load_after,
        },
        "nats_server": bench.server_bin.display().to_string(),
        "jetsync": bench.jetsync.display().to_string(),
        "peer": bench.python.as_ref().map(|p| format!("{} bench/reconcile.py (nats-py)", p.display())),
        "results": report.results_json(),
        "ratios": report.ratios_json(),
        "samples": bench.samples.iter().map(Sample::to_json).collect::<Vec<_>>(),
    });
    write_result(&options.out, &document)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("measured") {
        return process::launch(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("floor") {
        let [_, kind, url, desired] = args.as_slice() else {
            eprintln!("usage: scale floor read|info|create URL DESIRED_JSON");
            return ExitCode::from(2);
        };
        return match floors::main(kind, url, desired) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("floor {kind}: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let options = match parse_options(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let result = if options.instructions {
        run_instructions(&options)
    } else {
        run(&options)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("scale benchmark failed: {message}");
            ExitCode::FAILURE
        }
    }
}
