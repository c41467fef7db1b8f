//! Shared harness for integration tests that need a real `nats-server`.
//!
//! Include it from an integration test with `mod support;`. Every test that
//! needs a server starts its own on loopback, on random ports, with its own
//! store directory, so tests run in parallel without interfering.
//!
//! ```ignore
//! mod support;
//!
//! #[tokio::test]
//! async fn something_against_a_real_server() {
//!     let nats = require_nats!(); // or require_nats!(NatsServer::builder().domain("hub"))
//!     let client = async_nats::connect(nats.url()).await.unwrap();
//!     // ...
//! }
//! ```
//!
//! Binary discovery: `NATS_SERVER_BIN` (path to the binary), else `nats-server`
//! on `PATH`. When neither is found the test is skipped with a visible
//! `SKIPPED:` line on stderr, except when `CI=true`, where it panics: a missing
//! binary must fail CI, never silently skip.
//!
//! Starting and stopping are blocking calls (std::process); calling them from
//! inside a `#[tokio::test]` is fine, they take well under a second.

#![allow(dead_code)]

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a server may take to become ready before the harness gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts a default server (JetStream enabled) or returns early from the
/// calling test when no `nats-server` binary is available (outside CI).
///
/// `require_nats!()` uses the defaults; `require_nats!(builder)` starts the
/// given [`NatsServerBuilder`]. The calling function must return `()`.
#[macro_export]
macro_rules! require_nats {
    () => {
        $crate::require_nats!($crate::support::NatsServer::builder())
    };
    ($builder:expr) => {
        match $builder.start_or_skip() {
            Some(server) => server,
            None => return,
        }
    };
}

/// The `nats-server` binary the tests use, if any.
///
/// `NATS_SERVER_BIN` wins (and must point at an existing file); otherwise the
/// first `nats-server` on `PATH`.
pub fn nats_server_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("NATS_SERVER_BIN").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(bin);
        assert!(
            path.is_file(),
            "NATS_SERVER_BIN={} does not exist or is not a file",
            path.display()
        );
        return Some(path);
    }
    let path_var = std::env::var_os("PATH")?;
    std::env::split_paths(&path_var)
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
}

/// True when running under CI (`CI=true`), where a missing server is fatal.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Name of the running test (libtest names each test's thread after it).
fn current_test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_string()
}

/// Output of `<bin> --version`, e.g. `2.15.1`, cached per binary path.
pub fn server_version(bin: &Path) -> String {
    static CACHE: OnceLock<Mutex<Vec<(PathBuf, String)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, v)) = cache.iter().find(|(p, _)| p == bin) {
        return v.clone();
    }
    let out = Command::new(bin)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("running {} --version: {e}", bin.display()));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    // "nats-server: v2.15.1"
    let version = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix('v'))
        .unwrap_or_else(|| panic!("unexpected `{} --version` output: {text:?}", bin.display()))
        .to_string();
    cache.push((bin.to_path_buf(), version.clone()));
    version
}

/// Options for a test server. Create with [`NatsServer::builder`].
#[derive(Debug, Clone)]
pub struct NatsServerBuilder {
    jetstream: bool,
    domain: Option<String>,
    config_extra: String,
}

impl Default for NatsServerBuilder {
    fn default() -> Self {
        Self {
            jetstream: true,
            domain: None,
            config_extra: String::new(),
        }
    }
}

impl NatsServerBuilder {
    /// Enable (default) or disable JetStream.
    pub fn jetstream(mut self, enabled: bool) -> Self {
        self.jetstream = enabled;
        self
    }

    /// Run JetStream in the given domain (`jetstream { domain: ... }`).
    /// Do not combine with a `jetstream { }` block in [`Self::config_extra`].
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Extra top-level server configuration (nats-server config syntax),
    /// appended to the generated config file: accounts, users, limits...
    /// Can be called more than once; the pieces are concatenated.
    ///
    /// Listen address, ports, monitoring port and store dir are always set
    /// on the command line and override anything given here.
    pub fn config_extra(mut self, extra: impl AsRef<str>) -> Self {
        self.config_extra.push_str(extra.as_ref());
        self.config_extra.push('\n');
        self
    }

    /// Start the server. Panics if no binary is found or the server does not
    /// become ready; prefer [`Self::start_or_skip`] / `require_nats!` in tests.
    pub fn start(self) -> NatsServer {
        let bin = nats_server_bin().unwrap_or_else(|| {
            panic!("no nats-server binary found (set NATS_SERVER_BIN or put nats-server on PATH)")
        });
        NatsServer::spawn(bin, self)
    }

    /// Start the server, or return `None` after printing a `SKIPPED:` line
    /// when no binary is available. Under `CI=true` a missing binary panics.
    pub fn start_or_skip(self) -> Option<NatsServer> {
        match nats_server_bin() {
            Some(bin) => Some(NatsServer::spawn(bin, self)),
            None if in_ci() => panic!(
                "{}: no nats-server binary found and CI=true: set NATS_SERVER_BIN \
                 (scripts/test installs one into target/tools/)",
                current_test_name()
            ),
            None => {
                // Straight to the process's stderr: `eprintln!` would be
                // captured by libtest and hidden for a passing test.
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: {}: no nats-server (set NATS_SERVER_BIN)",
                    current_test_name()
                );
                None
            }
        }
    }
}

/// A running `nats-server` owned by one test. Killed (SIGKILL) and reaped on drop.
pub struct NatsServer {
    bin: PathBuf,
    opts: NatsServerBuilder,
    /// Holds the config file, the log, the ports files and `store/`.
    dir: TempDir,
    store_dir: PathBuf,
    config_file: PathBuf,
    log_file: PathBuf,
    child: Option<Child>,
    port: u16,
    monitor_port: u16,
    starts: u32,
}

impl std::fmt::Debug for NatsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsServer")
            .field("bin", &self.bin)
            .field("port", &self.port)
            .field("monitor_port", &self.monitor_port)
            .field("store_dir", &self.store_dir)
            .field("running", &self.child.is_some())
            .finish()
    }
}

impl NatsServer {
    /// Options for a server: `NatsServer::builder().jetstream(false).start()`.
    pub fn builder() -> NatsServerBuilder {
        NatsServerBuilder::default()
    }

    /// Start a default server (JetStream enabled); panics if there is no binary.
    pub fn start() -> NatsServer {
        Self::builder().start()
    }

    /// Start a default server, or `None` (after a `SKIPPED:` line) when no
    /// binary is available outside CI.
    pub fn start_or_skip() -> Option<NatsServer> {
        Self::builder().start_or_skip()
    }

    fn spawn(bin: PathBuf, opts: NatsServerBuilder) -> NatsServer {
        let dir = tempfile::Builder::new()
            .prefix("jetsync-nats-")
            .tempdir()
            .expect("creating the server's temp dir");
        let store_dir = dir.path().join("store");
        fs::create_dir_all(&store_dir).expect("creating store dir");
        let config_file = dir.path().join("nats-server.conf");
        fs::write(&config_file, render_config(&opts)).expect("writing server config");
        let log_file = dir.path().join("nats-server.log");
        let mut server = NatsServer {
            bin,
            opts,
            store_dir,
            config_file,
            log_file,
            dir,
            child: None,
            port: 0,
            monitor_port: 0,
            starts: 0,
        };
        if let Err(e) = server.launch(None) {
            panic!("{e}");
        }
        server
    }

    /// Start the process. `ports` = Some((client, monitor)) to ask for fixed ports.
    fn launch(&mut self, ports: Option<(u16, u16)>) -> Result<(), String> {
        self.starts += 1;
        let ports_dir = self.dir.path().join(format!("ports-{}", self.starts));
        fs::create_dir_all(&ports_dir).map_err(|e| format!("creating ports dir: {e}"))?;
        let (port, mport) = match ports {
            Some((p, m)) => (p.to_string(), m.to_string()),
            None => ("-1".to_string(), "-1".to_string()),
        };
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_file)
            .map_err(|e| format!("opening log file: {e}"))?;
        let _ = writeln!(
            log,
            "===== jetsync test harness: start #{} (client port {port}, monitor port {mport}) =====",
            self.starts
        );
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cloning log file: {e}"))?;

        let mut args: Vec<OsString> = vec![
            "-c".into(),
            self.config_file.clone().into(),
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.into(),
            "-m".into(),
            mport.into(),
            "--ports_file_dir".into(),
            ports_dir.clone().into(),
            "-sd".into(),
            self.store_dir.clone().into(),
        ];
        if self.opts.jetstream {
            args.push("-js".into());
        }
        let child = Command::new(&self.bin)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", self.bin.display()))?;
        self.child = Some(child);

        match self.wait_ready(&ports_dir) {
            Ok((p, m)) => {
                self.port = p;
                self.monitor_port = m;
                Ok(())
            }
            Err(why) => {
                self.kill();
                Err(format!(
                    "nats-server {} ({}) did not become ready: {why}\n\
                     --- config ({}) ---\n{}\n--- server log ({}) ---\n{}",
                    self.version(),
                    self.bin.display(),
                    self.config_file.display(),
                    fs::read_to_string(&self.config_file).unwrap_or_default(),
                    self.log_file.display(),
                    log_tail(&self.log_file),
                ))
            }
        }
    }

    /// Ready = ports file written, client port accepts TCP, and `/healthz`
    /// on the monitoring port answers 200 (which includes JetStream health).
    fn wait_ready(&mut self, ports_dir: &Path) -> Result<(u16, u16), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last_problem = String::from("no ports file yet");
        loop {
            if let Some(child) = self.child.as_mut() {
                match child.try_wait() {
                    Ok(Some(status)) => return Err(format!("server exited early with {status}")),
                    Ok(None) => {}
                    Err(e) => return Err(format!("waiting for server process: {e}")),
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "timed out after {READY_TIMEOUT:?} ({last_problem})"
                ));
            }
            match read_ports_file(ports_dir) {
                Ok(Some((port, mport))) => {
                    let client_ok = TcpStream::connect_timeout(
                        &SocketAddr::from(([127, 0, 0, 1], port)),
                        Duration::from_millis(500),
                    )
                    .is_ok();
                    if !client_ok {
                        last_problem = format!("client port {port} does not accept yet");
                    } else {
                        match http_get(mport, "/healthz") {
                            Ok((200, _)) => return Ok((port, mport)),
                            Ok((status, body)) => {
                                last_problem = format!("/healthz answered {status}: {body}")
                            }
                            Err(e) => last_problem = format!("/healthz: {e}"),
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => last_problem = e,
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `nats://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:MONITOR_PORT`
    pub fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor_port)
    }

    /// The monitoring (HTTP) port.
    pub fn monitor_port(&self) -> u16 {
        self.monitor_port
    }

    /// GET a monitoring endpoint (e.g. `/jsz`, `/varz`) and return (status, body).
    pub fn monitor_get(&self, path: &str) -> std::io::Result<(u16, String)> {
        http_get(self.monitor_port, path)
    }

    /// Server version, e.g. `2.15.1` (from `nats-server --version`).
    pub fn version(&self) -> String {
        server_version(&self.bin)
    }

    /// The binary this server runs.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The JetStream store directory (kept across [`Self::restart`]).
    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    /// The generated config file.
    pub fn config_file(&self) -> &Path {
        &self.config_file
    }

    /// The server's log (stdout + stderr of every start).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGKILL the server and reap it. A clean shutdown of a server with many
    /// file streams takes ~30 s, so tests never stop servers gracefully.
    /// No-op when not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kill (if running) and start again with the same store dir and config,
    /// on the same ports when they can be bound again (else on new random
    /// ports: read [`Self::url`] again after a restart).
    pub fn restart(&mut self) {
        self.kill();
        let old = (self.port, self.monitor_port);
        if let Err(first) = self.launch(Some(old))
            && let Err(second) = self.launch(None)
        {
            panic!("restart failed on the old ports:\n{first}\n\nand on new ports:\n{second}");
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn render_config(opts: &NatsServerBuilder) -> String {
    let mut conf = String::from("# generated by the jetsync test harness (tests/support)\n");
    if opts.jetstream {
        // store_dir is passed with -sd on the command line.
        if let Some(domain) = &opts.domain {
            let _ = writeln!(conf, "jetstream {{\n  domain: {}\n}}", quote(domain));
        }
    } else {
        conf.push_str("# JetStream disabled\n");
    }
    if !opts.config_extra.is_empty() {
        conf.push('\n');
        conf.push_str(&opts.config_extra);
    }
    conf
}

/// A double-quoted string for the nats-server config parser.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Parse `<dir>/*.ports`: {"nats":["nats://127.0.0.1:P"],"monitoring":["http://127.0.0.1:M"]}
fn read_ports_file(dir: &Path) -> Result<Option<(u16, u16)>, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "ports") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap_or_default();
        let (Some(port), Some(mport)) = (
            port_after(&text, "\"nats\""),
            port_after(&text, "\"monitoring\""),
        ) else {
            // Possibly still being written.
            return Ok(None);
        };
        return Ok(Some((port, mport)));
    }
    Ok(None)
}

/// First `127.0.0.1:PORT` after `key` in the ports file text.
fn port_after(text: &str, key: &str) -> Option<u16> {
    let rest = &text[text.find(key)? + key.len()..];
    let rest = &rest[rest.find("://")? + 3..];
    let end = rest.find(['"', '/', ']'])?;
    let hostport = &rest[..end];
    hostport.rsplit_once(':')?.1.parse().ok()
}

/// Minimal HTTP/1.0 GET against 127.0.0.1:port (std only).
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad HTTP response: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The last ~8 KiB of the log, for error messages.
fn log_tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    const MAX: usize = 8 * 1024;
    if text.len() > MAX {
        let mut cut = text.len() - MAX;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        format!("[...]\n{}", &text[cut..])
    } else {
        text
    }
}

/// A plain async-nats client for a test's own requests (setting up and
/// checking server state), with bounded connect and request timeouts.
pub async fn client(url: &str) -> async_nats::Client {
    async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(5))
        .request_timeout(Some(Duration::from_secs(10)))
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

/// One raw JetStream API request, `$JS.API.<subject>`, with `body` as JSON
/// (null: an empty payload); the answer as JSON, error answers included.
pub async fn js_api(
    client: &async_nats::Client,
    subject: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let payload = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    let reply = client
        .request(format!("$JS.API.{subject}"), payload.into())
        .await
        .unwrap_or_else(|e| panic!("$JS.API.{subject}: {e}"));
    serde_json::from_slice(&reply.payload)
        .unwrap_or_else(|e| panic!("$JS.API.{subject}: the answer is not JSON: {e}"))
}

/// Runs `openssl` with `args` in `dir`; false when it is missing or fails.
fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .is_ok_and(|output| output.status.success())
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made
/// with the `openssl` binary in `dir` (`ca.pem`, `server.pem`/`server.key`,
/// `client.pem`/`client.key`); None when it is not installed.
pub fn make_certificates(dir: &Path) -> Option<()> {
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\n").ok()?;
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").ok()?;
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let request = |name: &'static str, subject: &'static str| -> Vec<&'static str> {
        [
            &["req"][..],
            &key[..],
            &["-keyout", name, "-out", "req.csr", "-subj", subject],
        ]
        .concat()
    };
    let sign = |out: &'static str, ext: &'static str| -> Vec<&'static str> {
        vec![
            "x509",
            "-req",
            "-in",
            "req.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            out,
            "-days",
            "2",
            "-extfile",
            ext,
        ]
    };
    let steps: Vec<Vec<&str>> = vec![
        [
            &["req", "-x509"][..],
            &key[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=jetsync test CA",
            ],
        ]
        .concat(),
        request("server.key", "/CN=127.0.0.1"),
        sign("server.pem", "server.ext"),
        request("client.key", "/CN=jetsync"),
        sign("client.pem", "client.ext"),
    ];
    steps.iter().all(|args| openssl(dir, args)).then_some(())
}

/// Every stream and consumer on the server, keyed `stream NAME` and
/// `consumer STREAM/NAME`, for tests that check what did or did not change:
/// each config without jetsync's markers and the server's `_nats.*` keys,
/// `held(config, state)` of each stream, and each consumer's position.
/// `consumer(config)` may adjust a consumer's config, or return false to
/// leave the consumer out.
pub async fn server_state(
    client: &async_nats::Client,
    held: impl Fn(&serde_json::Value, &serde_json::Value) -> serde_json::Value,
    consumer: impl Fn(&mut serde_json::Value) -> bool,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    use serde_json::{Value, json};
    let user_metadata = |config: &mut Value| {
        if let Some(metadata) = config.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata
                .retain(|key, _| !key.starts_with("_nats.") && !key.starts_with("jetsync.dev/"));
            if metadata.is_empty() {
                config.as_object_mut().unwrap().remove("metadata");
            }
        }
    };
    let list = |subject: String| async move {
        let answer = js_api(client, &subject, json!({})).await;
        assert!(answer.get("error").is_none(), "{subject}: {answer}");
        answer
    };
    let mut state = std::collections::BTreeMap::new();
    let streams = list("STREAM.LIST".to_string()).await;
    for info in streams["streams"].as_array().unwrap() {
        let name = info["config"]["name"].as_str().unwrap().to_string();
        let mut config = info["config"].clone();
        user_metadata(&mut config);
        let mut entry = held(&config, &info["state"]);
        entry["config"] = config;
        state.insert(format!("stream {name}"), entry);
        let consumers = list(format!("CONSUMER.LIST.{name}")).await;
        for info in consumers["consumers"].as_array().into_iter().flatten() {
            let mut config = info["config"].clone();
            user_metadata(&mut config);
            if !consumer(&mut config) {
                continue;
            }
            state.insert(
                format!("consumer {name}/{}", info["name"].as_str().unwrap()),
                json!({ "config": config, "delivered": info["delivered"],
                        "ack_floor": info["ack_floor"], "num_pending": info["num_pending"] }),
            );
        }
    }
    state
}
