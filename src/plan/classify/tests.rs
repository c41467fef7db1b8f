//! Plans of whole sets of assets: consumers that go with their stream,
//! consent, prune guards, ignored fields, observe-only, suspend.

use super::*;
use crate::plan::model::{ConsumerFate, Holdings, LiveConfig};
use crate::plan::normalise::{comparable, typed};
use crate::spec::common::{DriftPolicy, ManagementPolicy};
use serde_json::{Value, json};

const OWNER: &str = "team";

fn options() -> PlanOptions {
    PlanOptions {
        owner: OWNER.into(),
        prune: false,
        adopt: false,
        allow_replace: true,
        server: ServerVersion::parse("2.15.1").unwrap(),
        targets: None,
        prune_all: false,
        unmanaged_consumers: UnmanagedConsumers::Refuse,
        standalone: false,
    }
}

fn desired_stream(name: &str, storage: &str) -> DesiredAsset {
    DesiredAsset {
        address: Address::stream(name),
        config: typed(
            AssetKind::Stream,
            &json!({"name": name, "subjects": [format!("{name}.>")], "storage": storage}),
        )
        .unwrap(),
        adopt: false,
        allow_replace: false,
        drift_policy: DriftPolicy::Correct,
        unmanaged_consumers: None,
        declared_at: DeclaredAt::default(),
        labels: BTreeMap::new(),
        connection: None,
        suspended: false,
        management_policy: ManagementPolicy::Full,
        ignore_fields: Vec::new(),
    }
}

/// Sets one field of a desired asset's config.
fn set(desired: &mut DesiredAsset, field: &str, value: Value) {
    let mut config = desired.config.to_value();
    config[field] = value;
    desired.config = typed(desired.address.kind, &config).unwrap();
}

/// A live asset as jetsync would have applied `desired` (markers set).
fn applied(desired: &DesiredAsset) -> LiveAsset {
    let declared = desired.config.to_value();
    let after = comparable(desired.address.kind, &declared, None);
    LiveAsset {
        address: desired.address.clone(),
        config: LiveConfig::new(&ownership::config_to_send(&declared, &after, OWNER)),
        holdings: Holdings {
            messages: 5,
            ..Holdings::default()
        },
    }
}

/// A live durable consumer (ephemeral ones are no assets: their stream
/// counts them).
fn live_consumer(stream: &str, name: &str, owner: Option<&str>) -> LiveAsset {
    let mut config = json!({
        "name": name, "durable_name": name, "ack_policy": "explicit", "deliver_policy": "all"
    });
    if let Some(owner) = owner {
        config["metadata"] = json!({ownership::OWNER_KEY: owner, ownership::APPLIED_KEY: "x"});
    }
    LiveAsset {
        address: Address::consumer(stream, name),
        config: LiveConfig::new(&config),
        holdings: Holdings {
            pending: 2,
            ..Holdings::default()
        },
    }
}

#[test]
fn a_replaced_stream_lists_its_consumers_and_refuses_another_applications_durable_one() {
    let mut stream = applied(&desired_stream("S", "file"));
    // Three consumers, one of them an ordered (ephemeral) consumer's.
    stream.holdings.consumer_count = 3;
    stream.holdings.ephemeral_consumers = 1;
    let live = vec![
        stream,
        live_consumer("S", "mine", Some(OWNER)),
        live_consumer("S", "theirs", None),
    ];
    let plan = plan(&[desired_stream("S", "memory")], &live, &options());
    let change = &plan.changes[0];
    assert_eq!(change.action, Action::Replace);
    let loss = change.loses.as_ref().unwrap();
    let names: Vec<&str> = loss.consumers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["mine", "theirs"]);
    assert_eq!((loss.ephemeral_consumers, loss.unseen_consumers), (1, 0));
    let refused = change.refused.as_deref().unwrap();
    assert!(refused.contains("1 durable consumer(s)") && refused.contains("`theirs`"));
    assert_eq!(plan.summary().replace, 0);
    assert_eq!(plan.summary().refused, 1);
}

#[test]
fn recreate_consent_keeps_the_unmanaged_consumer_config_for_after_the_replacement() {
    let live = vec![
        applied(&desired_stream("S", "file")),
        live_consumer("S", "theirs", None),
        live_consumer("S", "other-teams", Some("other-team")),
    ];
    let mut desired = desired_stream("S", "memory");
    desired.unmanaged_consumers = Some(UnmanagedConsumers::Recreate);
    let plan = plan(&[desired], &live, &options());
    let change = &plan.changes[0];
    assert!(change.allowed(), "{:?}", change.refused);
    assert_eq!(change.restore.len(), 1);
    assert_eq!(change.restore[0]["durable_name"], "theirs");
    let fate = |name: &str| {
        let lost = &change.loses.as_ref().unwrap().consumers;
        lost.iter().find(|c| c.name == name).unwrap().fate
    };
    assert_eq!(
        fate("other-teams"),
        ConsumerFate::Deleted,
        "its own owner creates it again"
    );
    assert_eq!(fate("theirs"), ConsumerFate::Restored);
    assert_eq!(plan.summary().consumers_lost, 1);
    assert_eq!(plan.summary().unmanaged_consumers_lost, 0);
}

#[test]
fn consumers_the_credentials_may_not_list_are_counted_and_refuse_a_replacement() {
    let mut stream = applied(&desired_stream("S", "file"));
    stream.holdings.consumer_count = 2;
    let live = vec![stream, live_consumer("S", "mine", Some(OWNER))];
    let plan = plan(&[desired_stream("S", "memory")], &live, &options());
    let change = &plan.changes[0];
    assert_eq!(change.loses.as_ref().unwrap().unseen_consumers, 1);
    assert!(change.refused.as_deref().unwrap().contains("may not list"));
}

#[test]
fn delete_consent_counts_the_consumers_that_go() {
    let live = vec![
        applied(&desired_stream("S", "file")),
        live_consumer("S", "theirs", None),
    ];
    let options = PlanOptions {
        unmanaged_consumers: UnmanagedConsumers::Delete,
        ..options()
    };
    let plan = plan(&[desired_stream("S", "memory")], &live, &options);
    assert!(plan.changes[0].allowed());
    assert_eq!(plan.summary().consumers_lost, 1);
    assert_eq!(plan.summary().unmanaged_consumers_lost, 1);
}

#[test]
fn prune_over_no_document_is_an_error_and_refuses_every_deletion() {
    let live = vec![
        applied(&desired_stream("A", "file")),
        applied(&desired_stream("B", "file")),
    ];
    let options = PlanOptions {
        prune: true,
        ..options()
    };
    let plan = plan(&[], &live, &options);
    assert!(plan.has_errors());
    assert!(plan.changes.iter().all(|c| !c.allowed()));
    let allowed = plan_with_prune_all(&live);
    assert_eq!(allowed.summary().delete, 2);
}

fn plan_with_prune_all(live: &[LiveAsset]) -> Plan {
    let options = PlanOptions {
        prune: true,
        prune_all: true,
        ..options()
    };
    plan(&[], live, &options)
}

#[test]
fn pruning_more_than_half_of_an_owner_is_refused_with_a_warning() {
    let streams: Vec<DesiredAsset> = ["A", "B", "C", "D"]
        .iter()
        .map(|name| desired_stream(name, "file"))
        .collect();
    let live: Vec<LiveAsset> = streams.iter().map(applied).collect();
    let options = PlanOptions {
        prune: true,
        ..options()
    };
    let three_of_four = plan(&streams[..1], &live, &options);
    assert!(!three_of_four.has_errors());
    assert_eq!(three_of_four.summary().refused, 3);
    let one_of_four = plan(&streams[..3], &live, &options);
    assert_eq!(one_of_four.summary().delete, 1);
}

#[test]
fn an_ignored_field_changed_outside_jetsync_is_neither_drift_nor_changed_back() {
    let mut desired = desired_stream("S", "file");
    desired.ignore_fields = vec!["maxAge".to_string()];
    let mut live = applied(&desired);
    let mut config = live.config.value();
    config["max_age"] = json!(1_000_000_000u64);
    live.config = LiveConfig::new(&config);
    assert!(
        plan(&[desired.clone()], &[live.clone()], &options())
            .changes
            .is_empty()
    );

    set(&mut desired, "storage", json!("memory"));
    let changed = plan(&[desired], &[live], &options());
    let change = &changed.changes[0];
    let fields: Vec<&str> = change.diff.iter().map(|f| f.path.as_str()).collect();
    assert!(!fields.contains(&"maxAge"), "{fields:?}");
    assert_eq!(
        change.after.as_ref().unwrap()["max_age"],
        json!(1_000_000_000u64)
    );
}

#[test]
fn observe_only_reports_a_missing_asset_and_drift_and_writes_nothing() {
    let mut desired = desired_stream("S", "file");
    desired.management_policy = ManagementPolicy::Observe;
    let missing = plan(&[desired.clone()], &[], &options());
    assert_eq!(missing.changes[0].action, Action::Create);
    assert!(missing.changes[0].reported && missing.changes[0].config.is_none());
    assert!(!missing.has_writes());

    let mut live = applied(&desired);
    let mut config = live.config.value();
    config["max_age"] = json!(1_000_000_000u64);
    live.config = LiveConfig::new(&config);
    let drifted = plan(&[desired], &[live], &options());
    assert!(drifted.changes[0].reported);
    assert!(
        drifted.changes[0]
            .reason
            .contains("managementPolicy: Observe")
    );
    assert!(!drifted.has_writes());
}

#[test]
fn a_suspended_asset_is_neither_planned_nor_pruned() {
    let mut desired = desired_stream("S", "file");
    desired.suspended = true;
    let mut live = applied(&desired);
    let mut config = live.config.value();
    config["max_age"] = json!(1_000_000_000u64);
    live.config = LiveConfig::new(&config);
    let options = PlanOptions {
        prune: true,
        ..options()
    };
    let suspended = plan(&[desired], &[live], &options);
    assert!(suspended.changes.is_empty());
    assert!(
        suspended
            .diagnostics
            .iter()
            .any(|d| d.summary.contains("suspended")),
        "the plan says so"
    );
}

#[test]
fn drift_under_report_is_shown_and_not_written() {
    let mut desired = desired_stream("S", "file");
    desired.drift_policy = DriftPolicy::Report;
    let mut live = applied(&desired);
    let mut config = live.config.value();
    config["max_age"] = json!(1_000_000_000u64);
    live.config = LiveConfig::new(&config);
    let plan = plan(&[desired], &[live], &options());
    let change = &plan.changes[0];
    assert!(change.drift && change.reported && !change.allowed());
    assert_eq!(plan.summary().reported, 1);
    assert_eq!(plan.summary().update, 0);
    assert!(!plan.has_writes());
}

#[test]
fn replicas_above_one_on_a_standalone_server_are_an_error() {
    let mut desired = desired_stream("S", "file");
    set(&mut desired, "num_replicas", json!(3));
    let options = PlanOptions {
        standalone: true,
        ..options()
    };
    let plan = plan(&[desired.clone()], &[], &options);
    assert!(plan.has_errors());
    assert!(plan.changes.is_empty());
    let clustered = super::plan(
        &[desired],
        &[],
        &PlanOptions {
            standalone: false,
            ..options
        },
    );
    assert_eq!(clustered.summary().create, 1);
}

#[test]
fn a_live_config_of_another_shape_than_the_servers_is_shown_and_never_written() {
    let desired = desired_stream("S", "file");
    let mut live = applied(&desired);
    let mut config = live.config.value();
    config["max_msgs"] = json!("many");
    live.config = LiveConfig::new(&config);
    let plan = plan(&[desired], &[live], &options());
    assert_eq!(plan.changes.len(), 1);
    let change = &plan.changes[0];
    assert!(
        change
            .refused
            .as_deref()
            .is_some_and(|r| r.contains("another type"))
    );
    assert!(change.config.is_none(), "nothing is sent");
    assert_eq!(change.before.as_ref().unwrap()["max_msgs"], json!("many"));
    assert!(!plan.has_writes());
}
