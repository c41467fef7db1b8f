//! A 3-node JetStream cluster of real `nats-server` processes on loopback,
//! for tests about replicas, placement and faults.
//!
//! Include it next to the single-server harness:
//!
//! ```ignore
//! mod support;
//! #[path = "support/cluster.rs"]
//! mod cluster;
//!
//! let mut cluster = require_cluster!();
//! let urls = cluster.urls(); // "nats://127.0.0.1:P1,nats://…:P2,nats://…:P3"
//! ```
//!
//! Every node has its own store dir, `server_name` n1..n3, server tags
//! `az:1`..`az:3` (one node each) and `disk:ssd` (all three), and random
//! free client, cluster (route) and monitoring ports. The cluster ports are
//! fixed for the cluster's life, so a killed node restarts on the same ports
//! and rejoins. Binary discovery and the skip rule
//! are the single-server harness's: `NATS_SERVER_BIN` or `nats-server` on
//! `PATH`; without one the test prints `SKIPPED:` and returns, except under
//! `CI=true`, where it panics. All processes are killed (SIGKILL) on drop.

#![allow(dead_code)]

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::support::{http_get, in_ci, nats_server_bin, server_version};

/// Nodes in the cluster.
pub const NODES: usize = 3;

/// How long the cluster may take to elect a meta leader with every peer
/// current (and, when all nodes run, every stream caught up).
const READY_TIMEOUT: Duration = Duration::from_secs(45);

/// How long a new cluster may take: it is ready in about a second, but now
/// and then nats-server 2.10 settles on a meta group of two and never takes
/// the third in; such a start is abandoned early and made again.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts a 3-node cluster, or returns early from the calling test when no
/// `nats-server` binary is available (outside CI). The calling function must
/// return `()`.
#[macro_export]
macro_rules! require_cluster {
    () => {
        require_cluster!("")
    };
    ($extra:expr) => {
        match $crate::cluster::Cluster::start_or_skip_with($extra) {
            Some(cluster) => cluster,
            None => return,
        }
    };
}

/// One `nats-server` of the cluster.
struct Node {
    name: String,
    dir: PathBuf,
    config_file: PathBuf,
    log_file: PathBuf,
    client_port: u16,
    cluster_port: u16,
    monitor_port: u16,
    child: Option<Child>,
    starts: u32,
}

/// A running 3-node cluster owned by one test.
pub struct Cluster {
    bin: PathBuf,
    nodes: Vec<Node>,
    /// Holds every node's config, log and store; removed on drop.
    _dir: TempDir,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("bin", &self.bin)
            .field("urls", &self.urls())
            .finish()
    }
}

impl Cluster {
    /// Start the cluster and wait until it has a meta leader that sees every
    /// peer, or `None` (after a `SKIPPED:` line) when there is no binary.
    pub fn start_or_skip() -> Option<Cluster> {
        Self::start_or_skip_with("")
    }

    /// [`Self::start_or_skip`] with `extra` appended to every node's config
    /// (accounts, say; unauthenticated clients, the harness's own probe
    /// included, must still reach JetStream, e.g. through `no_auth_user`).
    pub fn start_or_skip_with(extra: &str) -> Option<Cluster> {
        let Some(bin) = nats_server_bin() else {
            if in_ci() {
                panic!(
                    "{}: no nats-server binary found and CI=true: set NATS_SERVER_BIN",
                    test_name()
                );
            }
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {}: no nats-server (set NATS_SERVER_BIN)",
                test_name()
            );
            return None;
        };
        // Free ports are found by binding and releasing them: another process
        // may grab one in between, so a failed start is retried on new ports.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::spawn(&bin, extra) {
                Ok(cluster) => return Some(cluster),
                Err(why) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "{}: cluster start failed, retrying on new ports: {}",
                        test_name(),
                        why.lines().next().unwrap_or_default()
                    );
                    failures.push(why);
                }
            }
        }
        panic!(
            "a 3-node cluster of {} did not start:\n{}",
            bin.display(),
            failures.join("\n\n")
        );
    }

    fn spawn(bin: &Path, extra: &str) -> Result<Cluster, String> {
        let dir = tempfile::Builder::new()
            .prefix("jetsync-cluster-")
            .tempdir()
            .map_err(|e| format!("creating the cluster's temp dir: {e}"))?;
        let ports = free_ports(NODES * 3)?;
        let routes: Vec<String> = (0..NODES)
            .map(|i| format!("\"nats-route://127.0.0.1:{}\"", ports[NODES + i]))
            .collect();
        let mut nodes = Vec::new();
        for i in 0..NODES {
            let name = format!("n{}", i + 1);
            let node_dir = dir.path().join(&name);
            let store = node_dir.join("store");
            fs::create_dir_all(&store).map_err(|e| format!("creating {name}'s store: {e}"))?;
            let config_file = node_dir.join("nats-server.conf");
            let config = format!(
                "# generated by the jetsync test harness (tests/support/cluster.rs)\n\
                 server_name: {name}\n\
                 listen: \"127.0.0.1:{client}\"\n\
                 http: \"127.0.0.1:{monitor}\"\n\
                 server_tags: [\"az:{az}\", \"disk:ssd\"]\n\
                 jetstream {{\n  store_dir: \"{store}\"\n}}\n\
                 cluster {{\n  name: C\n  listen: \"127.0.0.1:{route}\"\n  routes: [{routes}]\n}}\n\
                 {extra}\n",
                client = ports[i],
                route = ports[NODES + i],
                monitor = ports[2 * NODES + i],
                az = i + 1,
                store = store.display(),
                routes = routes.join(", "),
            );
            fs::write(&config_file, config).map_err(|e| format!("writing {name}'s config: {e}"))?;
            nodes.push(Node {
                log_file: node_dir.join("nats-server.log"),
                name,
                dir: node_dir,
                config_file,
                client_port: ports[i],
                cluster_port: ports[NODES + i],
                monitor_port: ports[2 * NODES + i],
                child: None,
                starts: 0,
            });
        }
        let mut cluster = Cluster {
            bin: bin.to_path_buf(),
            nodes,
            _dir: dir,
        };
        for i in 0..NODES {
            cluster.launch(i)?;
        }
        cluster.wait_ready_within(START_TIMEOUT).map_err(|why| {
            format!(
                "{why}\n{}",
                (0..NODES).map(|i| cluster.log_tail(i)).collect::<String>()
            )
        })?;
        Ok(cluster)
    }

    fn launch(&mut self, i: usize) -> Result<(), String> {
        let bin = self.bin.clone();
        let node = &mut self.nodes[i];
        node.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log_file)
            .map_err(|e| format!("opening {}'s log: {e}", node.name))?;
        let _ = writeln!(
            log,
            "===== jetsync test harness: start #{} of {} =====",
            node.starts, node.name
        );
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cloning {}'s log: {e}", node.name))?;
        let child = Command::new(&bin)
            .arg("-c")
            .arg(&node.config_file)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", bin.display()))?;
        node.child = Some(child);
        Ok(())
    }

    /// Wait until every running node answers `/healthz` with 200 (when all
    /// nodes run) and agrees on a meta leader, and that leader sees every other running node as a
    /// current peer; with all nodes up, also until an R3 stream can be
    /// created (a probe stream, deleted at once).
    pub fn wait_ready(&mut self) -> Result<Duration, String> {
        self.wait_ready_within(READY_TIMEOUT)
    }

    fn wait_ready_within(&mut self, timeout: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        let deadline = started + timeout;
        let mut problem = String::from("not checked yet");
        loop {
            for node in &mut self.nodes {
                if let Some(child) = node.child.as_mut()
                    && let Ok(Some(status)) = child.try_wait()
                {
                    return Err(format!("{} exited early with {status}", node.name));
                }
            }
            if Instant::now() > deadline {
                return Err(format!("cluster not ready after {timeout:?}: {problem}"));
            }
            match self.readiness() {
                Ok(()) => break,
                Err(why) => problem = why,
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The meta leader learns each server's resources from its periodic
        // statistics; until it has them it refuses R3 placements ("no
        // suitable peers for placement, peer offline"). With every node
        // up, wait until an R3 stream can actually be created.
        if self.nodes.iter().all(|n| n.child.is_some()) {
            let remaining = deadline.saturating_duration_since(Instant::now());
            probe_r3(self.urls(), remaining)?;
        }
        Ok(started.elapsed())
    }

    fn readiness(&self) -> Result<(), String> {
        let running: Vec<usize> = (0..NODES)
            .filter(|&i| self.nodes[i].child.is_some())
            .collect();
        let mut leaders = Vec::new();
        for &i in &running {
            let node = &self.nodes[i];
            // With a node down, replicated streams are not current and
            // `/healthz` says 503 on purpose: only a whole cluster must be
            // healthy (every stream caught up).
            match http_get(node.monitor_port, "/healthz") {
                Ok((200, _)) => {}
                Ok(_) if running.len() < NODES => {}
                Ok((status, body)) => {
                    return Err(format!("{} /healthz {status}: {body}", node.name));
                }
                Err(e) => return Err(format!("{} /healthz: {e}", node.name)),
            }
            let jsz = self.jsz(i)?;
            let meta = &jsz["meta_cluster"];
            if meta["cluster_size"].as_u64() != Some(NODES as u64) {
                return Err(format!("{} sees meta cluster {meta}", node.name));
            }
            match meta["leader"].as_str() {
                Some(leader) if !leader.is_empty() => leaders.push(leader.to_string()),
                _ => return Err(format!("{} knows no meta leader yet", node.name)),
            }
        }
        leaders.dedup();
        if leaders.len() != 1 {
            return Err(format!("nodes disagree on the meta leader: {leaders:?}"));
        }
        let leader = self
            .index_of(&leaders[0])
            .ok_or_else(|| format!("unknown leader {}", leaders[0]))?;
        let jsz = self.jsz(leader)?;
        let replicas = jsz["meta_cluster"]["replicas"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for &i in &running {
            if i == leader {
                continue;
            }
            let name = &self.nodes[i].name;
            let current = replicas.iter().any(|peer| {
                peer["name"] == name.as_str() && peer["current"] == true && peer["offline"] != true
            });
            if !current {
                return Err(format!(
                    "meta leader {} does not see {name} as a current peer: {replicas:?}",
                    leaders[0]
                ));
            }
        }
        Ok(())
    }

    /// `/jsz` of node `i`, parsed.
    pub fn jsz(&self, i: usize) -> Result<Value, String> {
        let node = &self.nodes[i];
        let (status, body) =
            http_get(node.monitor_port, "/jsz").map_err(|e| format!("{} /jsz: {e}", node.name))?;
        if status != 200 {
            return Err(format!("{} /jsz answered {status}: {body}", node.name));
        }
        serde_json::from_str(&body).map_err(|e| format!("{} /jsz: {e}: {body}", node.name))
    }

    /// The name of the meta leader as the running nodes report it.
    pub fn meta_leader(&self) -> Option<String> {
        (0..NODES)
            .filter(|&i| self.nodes[i].child.is_some())
            .filter_map(|i| self.jsz(i).ok())
            .find_map(|jsz| {
                jsz["meta_cluster"]["leader"]
                    .as_str()
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
            })
    }

    /// The index of the node named `name` (n1 → 0).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// The node names, n1..n3.
    pub fn names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// Every node's client URL, comma-separated (what `--server` accepts).
    pub fn urls(&self) -> String {
        (0..NODES)
            .map(|i| self.url(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Node `i`'s client URL.
    pub fn url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].client_port)
    }

    /// Node `i`'s store directory.
    pub fn store_dir(&self, i: usize) -> PathBuf {
        self.nodes[i].dir.join("store")
    }

    /// Server version, e.g. `2.15.1`.
    pub fn version(&self) -> String {
        server_version(&self.bin)
    }

    /// SIGKILL node `i` and reap it. No-op when it is not running.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start a killed node `i` again (same config, ports and store) without
    /// waiting: call [`Self::wait_ready`] after starting every node wanted.
    pub fn start_node(&mut self, i: usize) {
        if self.nodes[i].child.is_none()
            && let Err(e) = self.launch(i)
        {
            panic!("starting {}: {e}", self.nodes[i].name);
        }
    }

    /// Start the killed `nodes` again and wait until the cluster is ready.
    /// nats-server 2.10 now and then leaves a restarted peer lagging behind
    /// the meta group for good (as it now and then forms a meta group of two
    /// at start-up): then those nodes are restarted once more. Returns how
    /// long it took, or why the cluster never became ready.
    pub fn rejoin(&mut self, nodes: &[usize]) -> Result<Duration, String> {
        let started = Instant::now();
        for &i in nodes {
            self.start_node(i);
        }
        if let Err(why) = self.wait_ready() {
            eprintln!(
                "cluster not ready after restarting {nodes:?} ({why}); restarting them again"
            );
            for &i in nodes {
                self.kill(i);
                self.start_node(i);
            }
            self.wait_ready()?;
        }
        Ok(started.elapsed())
    }

    /// Start node `i` again (same config, ports and store) and wait until the
    /// whole cluster is ready again. Returns how long that took.
    pub fn restart(&mut self, i: usize) -> Duration {
        self.kill(i);
        if let Err(e) = self.launch(i) {
            panic!("restarting {}: {e}", self.nodes[i].name);
        }
        match self.wait_ready() {
            Ok(took) => took,
            Err(why) => panic!(
                "after restarting {}: {why}\n{}",
                self.nodes[i].name,
                self.logs()
            ),
        }
    }

    /// The last lines of every node's log, for failure messages.
    pub fn logs(&self) -> String {
        (0..NODES).map(|i| self.log_tail(i)).collect()
    }

    fn log_tail(&self, i: usize) -> String {
        let node = &self.nodes[i];
        let mut text = String::new();
        if let Ok(mut f) = File::open(&node.log_file) {
            let _ = f.read_to_string(&mut text);
        }
        const MAX: usize = 4 * 1024;
        if text.len() > MAX {
            let mut cut = text.len() - MAX;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            text = format!("[...]\n{}", &text[cut..]);
        }
        format!(
            "--- {} log ({}) ---\n{text}\n",
            node.name,
            node.log_file.display()
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

/// Creates and deletes an R3 memory stream, retrying while the cluster
/// refuses the placement (10005) or is not available yet (10008), for at
/// most `within`. On a thread of its own: callers may be inside a runtime.
fn probe_r3(urls: String, within: Duration) -> Result<(), String> {
    const PROBE: &str = "JETSYNC_HARNESS_PROBE";
    let probe = move || -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("probe runtime: {e}"))?;
        runtime.block_on(async move {
            let servers: Vec<async_nats::ServerAddr> = urls
                .split(',')
                .map(|url| url.parse().map_err(|e| format!("{url}: {e}")))
                .collect::<Result<_, _>>()?;
            let client = async_nats::ConnectOptions::new()
                .connection_timeout(Duration::from_secs(5))
                .request_timeout(Some(Duration::from_secs(5)))
                .connect(servers)
                .await
                .map_err(|e| format!("probe connect: {e}"))?;
            let deadline = Instant::now() + within;
            let body = serde_json::json!({
                "name": PROBE, "subjects": [], "storage": "memory", "num_replicas": 3
            });
            let mut last = String::new();
            while Instant::now() < deadline {
                let reply = client
                    .request(
                        format!("$JS.API.STREAM.CREATE.{PROBE}"),
                        body.to_string().into(),
                    )
                    .await;
                match reply.map(|m| serde_json::from_slice::<Value>(&m.payload)) {
                    Ok(Ok(answer)) if answer.get("error").is_none() => {
                        let _ = client
                            .request(format!("$JS.API.STREAM.DELETE.{PROBE}"), "".into())
                            .await;
                        return Ok(());
                    }
                    Ok(Ok(answer)) => last = answer["error"].to_string(),
                    Ok(Err(e)) => last = e.to_string(),
                    Err(e) => last = e.to_string(),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(format!("an R3 stream could not be created: {last}"))
        })
    };
    std::thread::spawn(probe)
        .join()
        .unwrap_or_else(|_| Err("the R3 probe panicked".to_string()))
}

/// `n` distinct free loopback ports (bound together, then released).
fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("finding free ports: {e}"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("finding free ports: {e}"))
}

fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_string()
}
