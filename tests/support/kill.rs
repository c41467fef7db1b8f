//! A test server the kill trials SIGKILL and restart on the same store
//! directory and ports, whether or not the restarted server calls itself
//! healthy: after a `kill -9` nats-server may find a stream directory it
//! cannot recover, and then `/healthz` answers 503 for good. The harness's own
//! [`NatsServer::restart`] waits for a healthy server; the trials need the
//! server as a user would have it (JetStream up, some stream perhaps lost)
//! and record what `/healthz` said.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::NatsServer;

/// How long a restarted server may take to answer with JetStream enabled.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A harness server that is killed and restarted by hand.
pub struct KillableServer {
    /// Owns the temp dir (config, store, log) and the first process.
    harness: NatsServer,
    /// The process of the latest restart, if any.
    restarted: Option<Child>,
    log: PathBuf,
}

/// What `/healthz` said right after a restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    Healthy,
    /// The status and body of an unhealthy answer, e.g. a stream that
    /// "could not be recovered".
    Unhealthy(u16, String),
}

impl KillableServer {
    pub fn new(harness: NatsServer) -> Self {
        let log = harness.store_dir().with_file_name("restarts.log");
        Self {
            harness,
            restarted: None,
            log,
        }
    }

    pub fn url(&self) -> String {
        self.harness.url()
    }

    pub fn version(&self) -> String {
        self.harness.version()
    }

    /// `/healthz` now.
    pub fn health(&self) -> Health {
        match self.harness.monitor_get("/healthz") {
            Ok((200, _)) => Health::Healthy,
            Ok((status, body)) => Health::Unhealthy(status, body),
            Err(e) => Health::Unhealthy(0, e.to_string()),
        }
    }

    /// SIGKILL the server (whichever process runs it) and reap it.
    pub fn kill(&mut self) {
        match self.restarted.take() {
            Some(mut child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            None => self.harness.kill(),
        }
    }

    /// Kills the server and starts it again on the same config, store
    /// directory and ports; returns once JetStream answers, with what
    /// `/healthz` said then.
    pub fn restart(&mut self) -> Health {
        self.kill();
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut problem = String::new();
        while Instant::now() < deadline {
            let mut child = self.spawn();
            match self.wait_jetstream(&mut child, deadline) {
                Ok(()) => {
                    self.restarted = Some(child);
                    return self.health();
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    problem = why;
                    // The old process's port may not be free yet.
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        panic!(
            "nats-server did not restart within {READY_TIMEOUT:?}: {problem}\n--- log ---\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    fn spawn(&self) -> Child {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("opening the restart log");
        let _ = writeln!(log, "===== kill trials: restart =====");
        let log_err = log.try_clone().expect("cloning the log");
        Command::new(self.harness.bin())
            .arg("-c")
            .arg(self.harness.config_file())
            .args(["-a", "127.0.0.1", "-p"])
            .arg(self.harness.port().to_string())
            .arg("-m")
            .arg(self.harness.monitor_port().to_string())
            .arg("-sd")
            .arg(self.harness.store_dir())
            .arg("-js")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .expect("spawning nats-server")
    }

    /// Ready = the client port accepts and `/healthz?js-enabled-only=true`
    /// answers 200 (JetStream is up, whatever became of each stream).
    fn wait_jetstream(&self, child: &mut Child, deadline: Instant) -> Result<(), String> {
        let address = SocketAddr::from(([127, 0, 0, 1], self.harness.port()));
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("exited early with {status}"));
            }
            if Instant::now() > deadline {
                return Err("timed out".into());
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
                && matches!(
                    self.harness.monitor_get("/healthz?js-enabled-only=true"),
                    Ok((200, _))
                )
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for KillableServer {
    fn drop(&mut self) {
        self.kill();
    }
}
