//! The controller end to end against a real Kubernetes API server, when
//! `JETSYNC_E2E_KUBECONFIG` names a kubeconfig (kind, k3d, a test cluster):
//! installs the CRDs, runs the controller in-process against a local
//! nats-server, applies resources with the kube client, waits for their
//! conditions, changes an asset out of band and waits for `Drifted`, then
//! deletes and checks the finalizer did its work. Without the variable the
//! cluster tests print a visible SKIPPED line and pass.
//!
//! The install manifests (`manifests/`) are checked here too, with no
//! cluster: what the kustomization lists exists, RBAC is least-privilege,
//! the Deployment is hardened, and every object passes kubernetes-validate.

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use jetsync::controller::connections::ConnectionPool;
use jetsync::controller::metrics::Metrics;
use jetsync::controller::{Context, Settings, run_controllers};
use jetsync::nats::ConnectOptions;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::events::v1::Event as KubeEvent;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};
use support::js_api as js;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_documents(path: &Path) -> Vec<Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
        .into_iter()
        .filter(|document| !document.is_null())
        .collect()
}

fn install_objects() -> Vec<Value> {
    let kustomization = &yaml_documents(&repo().join("manifests/kustomization.yaml"))[0];
    kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .flat_map(|file| yaml_documents(&repo().join("manifests").join(file.as_str().unwrap())))
        .collect()
}

fn object<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in manifests/"))
}

#[test]
fn the_install_manifests_hold_everything_the_controller_needs() {
    let objects = install_objects();
    let crds = objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .count();
    assert_eq!(crds, 5, "the five CRDs");
    object(&objects, "ServiceAccount", "jetsync-controller");
    object(&objects, "ClusterRoleBinding", "jetsync-controller");
    object(&objects, "RoleBinding", "jetsync-leader-election");
    object(&objects, "Service", "jetsync-metrics");

    let deployment = object(&objects, "Deployment", "jetsync-controller");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "jetsync-controller");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let container = &pod["containers"][0];
    assert_eq!(container["args"][0], "controller");
    let security = &container["securityContext"];
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    let env: Vec<&str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"POD_NAME") && env.contains(&"POD_NAMESPACE"),
        "{env:?}"
    );
}

#[test]
fn rbac_is_least_privilege() {
    let objects = install_objects();
    let role = object(&objects, "ClusterRole", "jetsync-controller");
    let rules = role["rules"].as_array().unwrap();
    let verbs_for = |group: &str, resource: &str| -> Vec<String> {
        rules
            .iter()
            .filter(|rule| {
                rule["apiGroups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|g| g == group)
                    && rule["resources"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|r| r == resource)
            })
            .flat_map(|rule| rule["verbs"].as_array().unwrap().iter())
            .map(|verb| verb.as_str().unwrap().to_string())
            .collect()
    };
    for kind in [
        "streams",
        "consumers",
        "keyvalues",
        "objectstores",
        "natsconnections",
    ] {
        assert_eq!(
            verbs_for("jetsync.dev", kind),
            ["get", "list", "watch", "patch"]
        );
        assert_eq!(
            verbs_for("jetsync.dev", &format!("{kind}/status")),
            ["get", "patch"]
        );
        assert_eq!(
            verbs_for("jetsync.dev", &format!("{kind}/finalizers")),
            ["update"]
        );
    }
    assert_eq!(
        verbs_for("", "secrets"),
        ["get", "list", "watch"],
        "Secrets read-only"
    );
    assert_eq!(verbs_for("events.k8s.io", "events"), ["create", "patch"]);
    for rule in rules {
        for field in ["apiGroups", "resources", "verbs"] {
            assert!(
                !rule[field].as_array().unwrap().iter().any(|v| v == "*"),
                "no wildcards: {rule}"
            );
        }
    }
    let lease = object(&objects, "Role", "jetsync-leader-election");
    assert_eq!(lease["metadata"]["namespace"], "jetsync-system");
    let named = lease["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rule| rule["resourceNames"].is_array())
        .expect("a rule for the Lease by name");
    assert_eq!(named["resourceNames"], json!(["jetsync-controller"]));
    assert_eq!(named["verbs"], json!(["get", "patch"]));
}

#[test]
fn the_install_manifests_pass_kubernetes_validate() {
    let validator = match std::env::var_os("KUBERNETES_VALIDATE").map(PathBuf::from) {
        Some(path) if path.exists() => path,
        _ if support::in_ci() => panic!("KUBERNETES_VALIDATE is not set; scripts/test installs it"),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: the_install_manifests_pass_kubernetes_validate: KUBERNETES_VALIDATE not set"
            );
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (index, object) in install_objects().iter().enumerate() {
        let mut object = object.clone();
        if object["kind"] != "Namespace" && object["kind"] != "CustomResourceDefinition" {
            // What `namespace: jetsync-system` in the kustomization does.
            if object["kind"] != "ClusterRole" && object["kind"] != "ClusterRoleBinding" {
                object["metadata"]["namespace"] = json!("jetsync-system");
            }
        }
        let path = dir.path().join(format!("{index}.json"));
        std::fs::write(&path, serde_json::to_string(&object).unwrap()).unwrap();
        files.push(path);
    }
    let output = Command::new(validator)
        .arg("--strict")
        .args(&files)
        .output()
        .expect("kubernetes-validate runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "kubernetes-validate refused:\n{stdout}\n{stderr}"
    );
    assert_eq!(
        stdout.matches(" passed for resource ").count(),
        files.len(),
        "{stdout}"
    );
}

// ---------------------------------------------------------------- against a cluster

async fn cluster() -> Option<Client> {
    let Some(path) = std::env::var_os("JETSYNC_E2E_KUBECONFIG").filter(|p| !p.is_empty()) else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: e2e controller tests: set JETSYNC_E2E_KUBECONFIG to a kubeconfig of a disposable cluster"
        );
        return None;
    };
    let kubeconfig = Kubeconfig::read_from(&path).expect("reading JETSYNC_E2E_KUBECONFIG");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("a usable kubeconfig");
    Some(Client::try_from(config).expect("a Kubernetes client"))
}

async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in jetsync::schema::crds() {
        let name = crd.metadata.name.clone().unwrap();
        crds.patch(
            &name,
            &PatchParams::apply("jetsync-e2e").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap_or_else(|e| panic!("installing CRD {name}: {e}"));
        wait_for(&format!("CRD {name} established"), || async {
            let crd = crds.get(&name).await.ok()?;
            crd.status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
                .then_some(())
        })
        .await;
    }
}

async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn condition(object: &Value, type_: &str) -> Option<(String, String, String)> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_string(),
                c["reason"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_reconciles_reports_drift_and_cleans_up_on_a_cluster() {
    let Some(client) = cluster().await else {
        return;
    };
    let nats = require_nats!();
    install_crds(&client).await;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let namespace = format!("jetsync-e2e-{nanos:x}");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .patch(
            &namespace,
            &PatchParams::apply("jetsync-e2e").force(),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
            ),
        )
        .await
        .unwrap();

    let settings = Settings {
        drift_interval: Duration::from_secs(2),
        ..Settings::default()
    };
    let pool = ConnectionPool::new(
        ConnectOptions {
            servers: vec![nats.url()],
            ..ConnectOptions::default()
        },
        Duration::from_secs(5),
    );
    let ctx = Context::new(
        client.clone(),
        settings,
        pool,
        Arc::new(Metrics::new()),
        Some("e2e".into()),
    );
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let scope = vec![namespace.clone()];
    let controller = tokio::spawn(async move {
        run_controllers(ctx, &scope, 2, &shutdown).await;
    });

    let streams: Api<jetsync::resources::Stream> = Api::namespaced(client.clone(), &namespace);
    let dynamic = |name: &str, spec: Value| {
        json!({
            "apiVersion": "jetsync.dev/v1alpha1", "kind": "Stream",
            "metadata": {"name": name}, "spec": spec,
        })
    };
    for (name, spec) in [
        (
            "orders",
            json!({"name": "E2E_ORDERS", "subjects": ["e2e.orders.>"], "maxAge": "1h"}),
        ),
        (
            "audit",
            json!({"name": "E2E_AUDIT", "subjects": ["e2e.audit.>"], "maxAge": "1h", "driftPolicy": "Report"}),
        ),
    ] {
        streams
            .patch(
                name,
                &PatchParams::apply("jetsync-e2e").force(),
                &Patch::Apply(dynamic(name, spec)),
            )
            .await
            .unwrap();
    }
    let raw = |name: &'static str| {
        let streams = streams.clone();
        async move { serde_json::to_value(streams.get(name).await.ok()?).ok() }
    };
    for name in ["orders", "audit"] {
        wait_for(&format!("{name} Ready"), || async {
            let object = raw(name).await?;
            let generation = object["metadata"]["generation"].as_i64();
            (condition(&object, "Ready")?.0 == "True"
                && object["status"]["observedGeneration"].as_i64() == generation)
                .then_some(())
        })
        .await;
    }
    let nats_client = async_nats::connect(nats.url()).await.unwrap();
    let info = js(&nats_client, "STREAM.INFO.E2E_ORDERS", Value::Null).await;
    assert_eq!(
        info["config"]["metadata"]["jetsync.dev/owner"],
        json!(format!("{namespace}/orders"))
    );

    // Out of band: corrected for `orders`, reported for `audit`.
    for stream in ["E2E_ORDERS", "E2E_AUDIT"] {
        let mut config =
            js(&nats_client, &format!("STREAM.INFO.{stream}"), Value::Null).await["config"].clone();
        config["max_age"] = json!(7_200_000_000_000u64);
        js(&nats_client, &format!("STREAM.UPDATE.{stream}"), config).await;
    }
    wait_for("audit Drifted", || async {
        let object = raw("audit").await?;
        let (status, reason, message) = condition(&object, "Drifted")?;
        (status == "True" && reason == "DriftReported" && message.contains("maxAge")).then_some(())
    })
    .await;
    // The correction is told by an event; Drifted is False again either way.
    wait_for("orders put back", || async {
        let object = raw("orders").await?;
        let (status, _, _) = condition(&object, "Drifted")?;
        let info = js(&nats_client, "STREAM.INFO.E2E_ORDERS", Value::Null).await;
        (status == "False" && info["config"]["max_age"] == json!(3_600_000_000_000u64))
            .then_some(())
    })
    .await;
    let events: Api<KubeEvent> = Api::namespaced(client.clone(), &namespace);
    wait_for("Created and DriftCorrected events", || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        let reasons: Vec<String> = list.items.iter().filter_map(|e| e.reason.clone()).collect();
        (reasons.iter().any(|r| r == "Created") && reasons.iter().any(|r| r == "DriftCorrected"))
            .then_some(())
    })
    .await;

    // Delete: the finalizer deletes the asset, then lets the object go.
    streams
        .delete("orders", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("orders gone", || async {
        streams
            .get_opt("orders")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    let gone = js(&nats_client, "STREAM.INFO.E2E_ORDERS", Value::Null).await;
    assert_eq!(gone["error"]["err_code"], 10059, "{gone}");
    streams
        .delete("audit", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("audit gone", || async {
        streams.get_opt("audit").await.ok()?.is_none().then_some(())
    })
    .await;

    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(30), controller).await;
    let _ = namespaces
        .delete(&namespace, &DeleteParams::default())
        .await;
}
