//! A fresh nats-server per scenario: loopback, random client and monitoring
//! ports (read back from the ports file), its own store directory, stopped
//! with SIGKILL (a clean shutdown of a server holding ~1,000 file streams
//! takes ~30 s). Reads the counters the benchmark reports: JetStream API
//! requests (`/jsz` `api.total`), CPU time (`/proc/<pid>/stat`) and bytes
//! written to storage (`/proc/<pid>/io` `write_bytes`).
//!
//! Store directories are removed with the benchmark's work directory at the
//! end of the run, not after each scenario: ext4 skips recently deleted
//! inodes when it allocates new ones, and deleting tens of thousands of
//! files between scenarios made the next server's creates several times
//! slower (measured: the kernel's `find_inode_bit`/`recently_deleted` on top
//! of the server's profile).

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running nats-server, killed on drop; its directory stays until the
/// benchmark's work directory goes.
pub struct Server {
    child: Child,
    port: u16,
    monitor_port: u16,
    dir: PathBuf,
}

/// The server's counters at one instant.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    pub api_requests: u64,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    pub write_bytes: u64,
}

/// What the server did between two readings.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerCost {
    pub api_requests: u64,
    pub cpu_seconds: f64,
    pub write_bytes: u64,
}

impl Counters {
    pub fn since(&self, before: &Counters) -> ServerCost {
        ServerCost {
            api_requests: self.api_requests.saturating_sub(before.api_requests),
            cpu_seconds: self.cpu_ticks.saturating_sub(before.cpu_ticks) as f64
                / ticks_per_second(),
            write_bytes: self.write_bytes.saturating_sub(before.write_bytes),
        }
    }
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

impl Server {
    /// Starts `bin` with JetStream in a new directory under `parent` and
    /// waits until `/healthz` says ok.
    pub fn start(bin: &Path, parent: &Path) -> Result<Server, String> {
        let dir = tempfile::Builder::new()
            .prefix("server-")
            .tempdir_in(parent)
            .map_err(|e| format!("creating the server's directory: {e}"))?
            .keep();
        let store = dir.join("store");
        let ports = dir.join("ports");
        fs::create_dir_all(&ports).map_err(|e| format!("creating {}: {e}", ports.display()))?;
        let config = dir.join("nats-server.conf");
        // Streams reserve their max_bytes against max_file_store: W×3
        // reserves 30 GiB, more than the default (75% of free disk).
        fs::write(
            &config,
            format!(
                "jetstream {{\n  store_dir: \"{}\"\n  max_file_store: 1TB\n  max_memory_store: 1GB\n}}\n",
                store.display()
            ),
        )
        .map_err(|e| format!("writing {}: {e}", config.display()))?;
        let log = fs::File::create(dir.join("nats-server.log"))
            .map_err(|e| format!("creating the server log: {e}"))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .arg("-c")
            .arg(&config)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                "-1",
                "-m",
                "-1",
                "--ports_file_dir",
            ])
            .arg(&ports)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let mut server = Server {
            child,
            port: 0,
            monitor_port: 0,
            dir,
        };
        server.wait_ready(&ports)?;
        Ok(server)
    }

    fn wait_ready(&mut self, ports: &Path) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "nats-server exited at start with {status}: {}",
                    self.log_tail()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "nats-server not ready after {READY_TIMEOUT:?}: {}",
                    self.log_tail()
                ));
            }
            if let Some((port, monitor_port)) = read_ports(ports) {
                self.port = port;
                self.monitor_port = monitor_port;
                if matches!(self.get("/healthz"), Ok((200, _))) {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.dir.join("nats-server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// GET on the monitoring port: (status, body).
    pub fn get(&self, path: &str) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.monitor_port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// The counters now.
    pub fn counters(&self) -> Result<Counters, String> {
        let (status, body) = self.get("/jsz").map_err(|e| format!("/jsz: {e}"))?;
        let jsz: Value = serde_json::from_str(&body)
            .map_err(|e| format!("/jsz answered {status} with {body:.200}: {e}"))?;
        let api_requests = jsz
            .pointer("/api/total")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("/jsz has no api.total: {body:.200}"))?;
        let pid = self.pid();
        let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
        // Fields after the command name, which is in parentheses: state is
        // field 3, utime 14 and stime 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let tick = |index: usize| -> u64 {
            fields
                .get(index - 3)
                .and_then(|f| f.parse().ok())
                .unwrap_or(0)
        };
        let io = fs::read_to_string(format!("/proc/{pid}/io"))
            .map_err(|e| format!("/proc/{pid}/io: {e}"))?;
        let write_bytes = io
            .lines()
            .find_map(|line| line.strip_prefix("write_bytes:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        Ok(Counters {
            api_requests,
            cpu_ticks: tick(14) + tick(15),
            write_bytes,
        })
    }

    /// Waits until the server has stopped writing and computing (setting up
    /// thousands of assets leaves work behind for a moment), so that what a
    /// measured operation causes is not mixed with what came before.
    pub fn settle(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut previous = self.counters()?;
        let mut quiet = 0;
        while quiet < 4 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(250));
            let now = self.counters()?;
            let cost = now.since(&previous);
            quiet = if cost.write_bytes == 0 && now.cpu_ticks <= previous.cpu_ticks + 1 {
                quiet + 1
            } else {
                0
            };
            previous = now;
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `<dir>/*.ports`: {"nats":["nats://127.0.0.1:P"],"monitoring":["http://127.0.0.1:M"]}
fn read_ports(dir: &Path) -> Option<(u16, u16)> {
    let path: PathBuf = fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "ports"))?;
    let ports: Value = serde_json::from_str(&fs::read_to_string(path).ok()?).ok()?;
    let port = |key: &str| -> Option<u16> {
        ports
            .get(key)?
            .get(0)?
            .as_str()?
            .rsplit(':')
            .next()?
            .parse()
            .ok()
    };
    Some((port("nats")?, port("monitoring")?))
}
