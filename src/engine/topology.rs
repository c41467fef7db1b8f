//! Replicas and placement checked against the cluster's servers.

use crate::nats::Connection;
use crate::plan::classify::Plan;
use crate::plan::topology;

/// How long the cluster's servers may take to describe themselves.
const TOPOLOGY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Checks the replicas and placement the plan writes against the cluster's
/// servers, when it writes any and the server is clustered (a standalone
/// server's limits were checked while planning). Costs one request, and
/// only then.
pub async fn check_topology(connection: &Connection, plan: &mut Plan) {
    if connection.server.standalone || !topology::needs_check(plan) {
        return;
    }
    let servers =
        crate::nats::topology::read(&connection.client, &connection.server.name, TOPOLOGY_WAIT)
            .await;
    topology::check(plan, &servers);
}
