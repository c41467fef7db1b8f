//! Key-value buckets and object stores.

use super::*;

#[test]
fn kv_history_outside_one_to_64_is_refused() {
    let keeping = |history| key_value().with(|spec| spec.history = Some(history));
    assert_refused(&keeping(0).problems(), "spec.history");
    assert_refused(&keeping(65).problems(), "spec.history");
    assert_clean(&keeping(64).problems());
}

#[test]
fn kv_ttl_below_100ms_is_refused() {
    let expiring = |ttl| key_value().with(|spec| spec.ttl = Some(duration(ttl)));
    assert_refused(&expiring("10ms").problems(), "spec.ttl");
    assert_refused(&expiring("0").problems(), "spec.ttl");
    assert_clean(&expiring("1h").problems());
}

#[test]
fn kv_replicas_outside_one_to_five_are_refused() {
    let replicated = |replicas| key_value().with(|spec| spec.replicas = Some(replicas));
    assert_refused(&replicated(0).problems(), "spec.replicas");
    assert_refused(&replicated(6).problems(), "spec.replicas");
    assert_clean(&replicated(3).problems());
}

#[test]
fn kv_limit_marker_ttl_below_one_second_is_refused() {
    let marked = |ttl| key_value().with(|spec| spec.limit_marker_ttl = Some(duration(ttl)));
    assert_refused(&marked("100ms").problems(), "spec.limitMarkerTtl");
    assert_clean(&marked("1s").problems());
}

#[test]
fn kv_limit_marker_ttl_on_a_mirror_is_refused() {
    let mirror = key_value().with(|spec| spec.mirror = Some(origin("config")));
    let marked = mirror
        .clone()
        .with(|spec| spec.limit_marker_ttl = Some(duration("5s")));
    assert_refused(&marked.problems(), "spec.limitMarkerTtl");
    assert_clean(&mirror.problems());
}

#[test]
fn kv_mirror_with_sources_is_refused() {
    let both = key_value().with(|spec| {
        spec.mirror = Some(origin("config"));
        spec.sources = vec![origin("defaults")];
    });
    assert_refused(&both.problems(), "spec.sources");
    let sources =
        key_value().with(|spec| spec.sources = vec![origin("defaults"), origin("overrides")]);
    assert_clean(&sources.problems());
}

#[test]
fn kv_origins_are_bucket_names() {
    let sourced = key_value().with(|spec| spec.sources = vec![origin("KV.config")]);
    assert_refused(&sourced.problems(), "spec.sources[0].name");
    let mirrored = |name: &str| key_value().with(|spec| spec.mirror = Some(origin(name)));
    assert_refused(&mirrored("con fig").problems(), "spec.mirror.name");
    assert_clean(&mirrored("config-eu").problems());
}

#[test]
fn kv_republish_into_its_own_keys_is_refused() {
    let republishing =
        |destination| key_value().with(|spec| spec.republish = republish(None, destination));
    assert_refused(
        &republishing("$KV.orders.>").problems(),
        "spec.republish.destination",
    );
    assert_clean(&republishing("changes.orders.>").problems());
}

#[test]
fn kv_max_value_size_above_the_32_bit_limit_is_refused() {
    let limited =
        |bytes| key_value().with(|spec| spec.max_value_size = Some(Size::from_bytes(bytes)));
    assert_refused(&limited(1 << 32).problems(), "spec.maxValueSize");
    assert_clean(&limited(1 << 20).problems());
}

#[test]
fn object_store_ttl_below_100ms_is_refused() {
    let expiring = |ttl| object_store().with(|spec| spec.ttl = Some(duration(ttl)));
    assert_refused(&expiring("1ms").problems(), "spec.ttl");
    assert_clean(&expiring("7d").problems());
}

#[test]
fn object_store_replicas_outside_one_to_five_are_refused() {
    let replicated = |replicas| object_store().with(|spec| spec.replicas = Some(replicas));
    assert_refused(&replicated(0).problems(), "spec.replicas");
    assert_refused(&replicated(10).problems(), "spec.replicas");
    assert_clean(&replicated(1).problems());
}

#[test]
fn object_store_reserved_metadata_keys_are_refused() {
    let keyed = |key: &str| object_store().with(|spec| spec.metadata = one_entry(key, "x".into()));
    let applied = keyed("jetsync.dev/applied").problems();
    assert_refused(&applied, "spec.metadata.jetsync.dev/applied");
    assert_clean(&keyed("purpose").problems());
}
