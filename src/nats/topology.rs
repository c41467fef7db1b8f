//! The cluster's JetStream servers, from the system account's
//! `$SYS.REQ.SERVER.PING.JSZ`: every server answers with its name, cluster
//! and tags, and the meta group's size says how many answers to wait for.
//! An ordinary account gets "no responders" at once, unless it imports that
//! service from the system account.

use std::time::Duration;

use async_nats::StatusCode;
use futures::StreamExt;
use serde::Deserialize;

use crate::plan::topology::{ClusterServer, Topology};

const SUBJECT: &str = "$SYS.REQ.SERVER.PING.JSZ";

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    server: Option<Server>,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<ReplyError>,
}

#[derive(Deserialize)]
struct Server {
    name: String,
    #[serde(default)]
    cluster: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    jetstream: bool,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    meta_cluster: Option<MetaCluster>,
}

#[derive(Deserialize)]
struct MetaCluster {
    #[serde(default)]
    cluster_size: usize,
}

#[derive(Deserialize)]
struct ReplyError {
    #[serde(default)]
    description: String,
}

/// Reads the JetStream servers. `connected_server` is the name of the server
/// jetsync is connected to; `wait` bounds how long the answers may take.
pub async fn read(client: &async_nats::Client, connected_server: &str, wait: Duration) -> Topology {
    match gather(client, wait).await {
        Ok(servers) => {
            let connected = servers
                .iter()
                .find(|server| server.name == connected_server)
                .and_then(|server| server.cluster.clone());
            Topology::Known { servers, connected }
        }
        Err(why) => Topology::Unreadable(why),
    }
}

async fn gather(client: &async_nats::Client, wait: Duration) -> Result<Vec<ClusterServer>, String> {
    let inbox = client.new_inbox();
    let mut replies = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| format!("subscribing for {SUBJECT}: {e}"))?;
    client
        .publish_with_reply(SUBJECT, inbox, "{}".into())
        .await
        .map_err(|e| format!("asking {SUBJECT}: {e}"))?;
    let deadline = tokio::time::Instant::now() + wait;
    let mut servers: Vec<ClusterServer> = Vec::new();
    let mut expected = 1;
    loop {
        let message = match tokio::time::timeout_at(deadline, replies.next()).await {
            Ok(Some(message)) => message,
            Ok(None) => return Err(format!("{SUBJECT}: the subscription ended")),
            Err(_) if servers.is_empty() => {
                return Err(format!("{SUBJECT}: no answer within {wait:?}"));
            }
            Err(_) => {
                return Err(format!(
                    "{SUBJECT}: {} of {expected} JetStream servers answered within {wait:?}",
                    servers.len()
                ));
            }
        };
        if message.status == Some(StatusCode::NO_RESPONDERS) {
            return Err(format!("{SUBJECT}: no responders for this account"));
        }
        let reply: Reply = serde_json::from_slice(&message.payload)
            .map_err(|e| format!("{SUBJECT}: an answer is not JSON: {e}"))?;
        if let Some(error) = reply.error {
            return Err(format!("{SUBJECT}: {}", error.description));
        }
        let Some(server) = reply.server.filter(|server| server.jetstream) else {
            continue;
        };
        if let Some(meta) = reply.data.and_then(|data| data.meta_cluster) {
            expected = expected.max(meta.cluster_size);
        }
        if !servers.iter().any(|known| known.name == server.name) {
            servers.push(ClusterServer {
                name: server.name,
                cluster: server.cluster.filter(|cluster| !cluster.is_empty()),
                tags: server.tags,
            });
        }
        if servers.len() >= expected {
            return Ok(servers);
        }
    }
}
