//! Leader election on a `coordination.k8s.io/v1` Lease (kube-lease-manager),
//! so that several replicas can run and exactly one reconciles.

use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Lease duration: a new leader takes over at most this long after the old
/// one stopped renewing.
pub const LEASE_SECONDS: u64 = 15;
/// How long before expiry the holder renews.
pub const GRACE_SECONDS: u64 = 5;

/// This replica's part in the election.
pub struct Leadership {
    state: watch::Receiver<bool>,
    task: JoinHandle<Result<kube_lease_manager::LeaseManager, LeaseManagerError>>,
}

impl Leadership {
    /// Joins the election for the Lease `name` in `namespace` as `identity`.
    pub async fn join(
        client: Client,
        name: &str,
        namespace: &str,
        identity: &str,
    ) -> Result<Self, LeaseManagerError> {
        let manager = LeaseManagerBuilder::new(client, name)
            .with_namespace(namespace)
            .with_identity(identity)
            .with_duration(LEASE_SECONDS)
            .with_grace(GRACE_SECONDS)
            // The default field manager names the identity: server-side
            // apply then detects two replicas racing for the Lease.
            .build()
            .await?;
        let (state, task) = manager.watch().await;
        Ok(Self { state, task })
    }

    /// Waits until this replica leads; false when the election ended.
    pub async fn acquired(&mut self) -> bool {
        self.state.wait_for(|leading| *leading).await.is_ok()
    }

    /// Waits until this replica no longer leads.
    pub async fn lost(&mut self) {
        let _ = self.state.wait_for(|leading| !*leading).await;
    }

    /// Leaves the election, releasing the Lease if held.
    pub async fn resign(self) {
        drop(self.state);
        match self.task.await {
            Ok(Ok(_)) => tracing::info!("released the leader Lease"),
            Ok(Err(error)) => tracing::warn!(%error, "releasing the leader Lease failed"),
            Err(error) => tracing::warn!(%error, "the leader election task failed"),
        }
    }
}
