//! Ownership markers: the JetStream metadata that tells jetsync which assets
//! it manages (`jetsync.dev/owner`) and what it last applied
//! (`jetsync.dev/applied`, a hash of the normalised config). The live server
//! is the only state; there is no state file.

use super::LiveConfig;
use super::wire::model::AssetConfig;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Metadata key naming who manages an asset.
pub const OWNER_KEY: &str = "jetsync.dev/owner";
/// Metadata key holding the hash of the config jetsync last applied.
pub const APPLIED_KEY: &str = "jetsync.dev/applied";
/// The owner used when none is configured.
pub const DEFAULT_OWNER: &str = "jetsync";

/// A short, stable hash of a normalised config (keys are sorted by
/// serde_json's map, so equal configs hash equal).
pub fn config_hash(normalised: &Value) -> String {
    let digest = Sha256::digest(normalised.to_string().as_bytes());
    digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Whether `applied` (a recorded [`config_hash`]) is the hash of this
/// comparable config, taking the fields the server may choose by itself as
/// jetsync recorded them before it chose (see
/// [`super::normalise::server_may_choose`]).
pub fn is_applied(kind: super::AssetKind, applied: &str, comparable: &Value) -> bool {
    if applied == config_hash(comparable) {
        return true;
    }
    let chosen = super::normalise::server_may_choose(kind, comparable);
    !chosen.is_empty()
        && applied == config_hash(&super::normalise::as_left_open(comparable, chosen))
}

fn metadata_value<'a>(config: &'a Value, key: &str) -> Option<&'a str> {
    config.get("metadata")?.get(key)?.as_str()
}

/// The owner marker of a live config.
pub fn owner_of(config: &Value) -> Option<&str> {
    metadata_value(config, OWNER_KEY)
}

/// A marker ([`OWNER_KEY`], [`APPLIED_KEY`]) of a config in the typed model.
pub fn marker<'a>(config: &'a AssetConfig, key: &str) -> Option<&'a str> {
    config.metadata()?.get(key).map(String::as_str)
}

/// The owner marker of a live config, read without parsing the rest.
pub fn live_owner(config: &LiveConfig) -> Option<String> {
    live_markers(config).remove(OWNER_KEY)
}

/// The applied-config hash of a live config, read without parsing the rest.
pub fn live_applied(config: &LiveConfig) -> Option<String> {
    live_markers(config).remove(APPLIED_KEY)
}

fn live_markers(config: &LiveConfig) -> std::collections::BTreeMap<String, String> {
    #[derive(serde::Deserialize)]
    struct Metadata {
        #[serde(default)]
        metadata: Option<std::collections::BTreeMap<String, String>>,
    }
    config
        .read::<Metadata>()
        .and_then(|config| config.metadata)
        .unwrap_or_default()
}

/// `config` with both markers set.
pub fn with_markers(config: &Value, owner: &str, applied: &str) -> Value {
    let mut config = config.clone();
    if !config.get("metadata").is_some_and(Value::is_object) {
        config["metadata"] = json!({});
    }
    config["metadata"][OWNER_KEY] = json!(owner);
    config["metadata"][APPLIED_KEY] = json!(applied);
    config
}

/// The config to send for a declared asset: `config` with this owner's
/// marker and the hash of `comparable`, its comparable form (what a later
/// plan checks for drift).
pub fn config_to_send(config: &Value, comparable: &Value, owner: &str) -> Value {
    with_markers(config, owner, &config_hash(comparable))
}

/// `config` with both markers removed (for `deletionPolicy: Orphan`).
pub fn without_markers(config: &Value) -> Value {
    let mut config = config.clone();
    if let Some(metadata) = config.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove(OWNER_KEY);
        metadata.remove(APPLIED_KEY);
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_mirror_direct_on_a_local_mirror_is_as_applied() {
        use super::super::AssetKind::Stream;
        use super::super::normalise::normalise_stream;
        // Recorded at create, before the server chose.
        let created = normalise_stream(&json!({"name": "M", "mirror": {"name": "O"}}));
        let applied = config_hash(&created);
        let live =
            normalise_stream(&json!({"name": "M", "mirror": {"name": "O"}, "mirror_direct": true}));
        assert!(is_applied(Stream, &applied, &live));
        // Any other change is still one.
        let changed = normalise_stream(&json!({
            "name": "M", "mirror": {"name": "O"}, "mirror_direct": true, "description": "x"
        }));
        assert!(!is_applied(Stream, &applied, &changed));
        // An external origin: the server does not choose.
        let external =
            json!({"name": "M", "mirror": {"name": "O", "external": {"api": "$JS.hub.API"}}});
        let applied = config_hash(&normalise_stream(&external));
        let mut live = external.clone();
        live["mirror_direct"] = json!(true);
        assert!(!is_applied(Stream, &applied, &normalise_stream(&live)));
    }

    #[test]
    fn equal_configs_hash_equal_whatever_the_key_order() {
        let a: Value = serde_json::from_str(r#"{"a": 1, "b": [1, 2]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b": [1, 2], "a": 1}"#).unwrap();
        assert_eq!(config_hash(&a), config_hash(&b));
        assert_ne!(config_hash(&a), config_hash(&json!({"a": 2, "b": [1, 2]})));
    }

    #[test]
    fn markers_are_written_and_read_back() {
        let config = with_markers(&json!({"name": "S"}), "team-a", "abc");
        assert_eq!(owner_of(&config), Some("team-a"));
        let typed =
            crate::plan::normalise::typed(super::super::AssetKind::Stream, &config).unwrap();
        assert_eq!(marker(&typed, OWNER_KEY), Some("team-a"));
        assert_eq!(marker(&typed, APPLIED_KEY), Some("abc"));
        assert_eq!(owner_of(&without_markers(&config)), None);
    }
}
