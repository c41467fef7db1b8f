//! Streams.

use super::*;

#[test]
fn stream_subjects_must_be_valid_filters() {
    let subjects = |list: &[&str]| stream().with(|spec| spec.subjects = strings(list));
    let problems = subjects(&["orders.new", "orders..old", "orders.new*"]).problems();
    assert_refused(&problems, "spec.subjects[1]");
    assert_refused(&problems, "spec.subjects[2]");
    assert!(
        problems[0]
            .message
            .contains("`orders..old` has an empty token")
    );
    assert_clean(&subjects(&["orders.*.new", "returns.>"]).problems());
}

#[test]
fn duplicate_stream_subjects_are_refused() {
    let subjects = |list: &[&str]| stream().with(|spec| spec.subjects = strings(list));
    let problems = subjects(&["orders.new", "orders.old", "orders.new"]).problems();
    assert_refused(&problems, "spec.subjects[2]");
    assert!(
        problems[0]
            .message
            .contains("listed twice (also at spec.subjects[0])")
    );
    assert_clean(&subjects(&["orders.new", "orders.old"]).problems());
}

#[test]
fn overlapping_stream_subjects_are_refused() {
    let subjects = |list: &[&str]| stream().with(|spec| spec.subjects = strings(list));
    assert_refused(
        &subjects(&["orders.>", "orders.new"]).problems(),
        "spec.subjects[1]",
    );
    assert_clean(&subjects(&["orders.*", "orders.new.eu"]).problems());
}

#[test]
fn capturing_every_subject_needs_no_ack_and_one_replica() {
    let everything = stream().with(|spec| spec.subjects = strings(&[">"]));
    let problems = everything
        .clone()
        .with(|spec| spec.replicas = Some(3))
        .problems();
    assert_eq!(
        count_at(&problems, "spec.subjects[0]"),
        2,
        "{}",
        listing(&problems)
    );
    assert_clean(&everything.with(|spec| spec.no_ack = Some(true)).problems());
}

#[test]
fn subjects_in_the_api_spaces_need_no_ack() {
    let subject = |subject: &str| stream().with(|spec| spec.subjects = strings(&[subject]));
    for refused in ["$JS.API.>", "$SYS.>", "*.API"] {
        assert_refused(&subject(refused).problems(), "spec.subjects[0]");
    }
    for allowed in ["$JS.EVENT.ADVISORY.>", "$SYS.ACCOUNT.x.CONNECT"] {
        assert_clean(&subject(allowed).problems());
    }
    let no_ack = subject("$JS.API.>").with(|spec| spec.no_ack = Some(true));
    assert_clean(&no_ack.problems());
}

#[test]
fn replicas_outside_one_to_five_are_refused() {
    let replicated = |replicas| stream().with(|spec| spec.replicas = Some(replicas));
    assert_refused(&replicated(0).problems(), "spec.replicas");
    assert_refused(&replicated(6).problems(), "spec.replicas");
    assert_clean(&replicated(1).problems());
    assert_clean(&replicated(5).problems());
}

#[test]
fn max_age_below_100ms_or_zero_is_refused() {
    let aged = |text| stream().with(|spec| spec.max_age = Some(duration(text)));
    assert_refused(&aged("99ms").problems(), "spec.maxAge");
    let zero = aged("0").problems();
    assert_refused(&zero, "spec.maxAge");
    assert!(
        zero[0]
            .help
            .as_deref()
            .unwrap()
            .contains("leave maxAge out")
    );
    assert_clean(&aged("100ms").problems());
}

#[test]
fn duplicate_window_longer_than_max_age_is_refused() {
    let windowed = |window| {
        stream().with(|spec| {
            spec.max_age = Some(duration("1m"));
            spec.duplicate_window = Some(duration(window));
        })
    };
    assert_refused(&windowed("2m").problems(), "spec.duplicateWindow");
    assert_clean(&windowed("1m").problems());
}

#[test]
fn duplicate_window_of_zero_or_below_100ms_is_refused() {
    let windowed = |window| stream().with(|spec| spec.duplicate_window = Some(duration(window)));
    assert_refused(&windowed("0").problems(), "spec.duplicateWindow");
    assert_refused(&windowed("50ms").problems(), "spec.duplicateWindow");
    assert_clean(&windowed("30s").problems());
    let sourcing_without_window = sourcing(origin("A")).with(|spec| {
        spec.subjects = Vec::new();
        spec.duplicate_window = Some(Duration::ZERO);
    });
    assert_clean(&sourcing_without_window.problems());
}

#[test]
fn max_msg_size_above_the_32_bit_limit_is_refused() {
    let limited = |bytes| stream().with(|spec| spec.max_msg_size = Some(Size::from_bytes(bytes)));
    assert_refused(
        &limited(MAX_MSG_SIZE_BYTES + 1).problems(),
        "spec.maxMsgSize",
    );
    assert_clean(&limited(MAX_MSG_SIZE_BYTES).problems());
}

#[test]
fn mirror_with_subjects_is_refused() {
    let with_subjects = mirror_of("ORDERS").with(|spec| spec.subjects = strings(&["orders.>"]));
    assert_refused(&with_subjects.problems(), "spec.subjects");
    assert_clean(&mirror_of("ORDERS").problems());
}

#[test]
fn mirror_with_sources_is_refused() {
    let with_sources = mirror_of("ORDERS").with(|spec| spec.sources = vec![origin("RETURNS")]);
    assert_refused(&with_sources.problems(), "spec.sources");
    assert_clean(&mirror_of("ORDERS").problems());
}

#[test]
fn sealed_stream_is_a_warning() {
    let sealed = |sealed| stream().with(|spec| spec.sealed = Some(sealed));
    let problems = sealed(true).problems();
    assert_warned(&problems, "spec.sealed");
    assert!(!problems.iter().any(Problem::is_error));
    assert_clean(&sealed(false).problems());
}

#[test]
fn discard_new_per_subject_needs_discard_new_and_a_per_subject_limit() {
    let per_subject = stream().with(|spec| spec.discard_new_per_subject = Some(true));
    let problems = per_subject.clone().problems();
    assert_eq!(
        count_at(&problems, "spec.discardNewPerSubject"),
        2,
        "{}",
        listing(&problems)
    );
    let complete = per_subject.with(|spec| {
        spec.discard = Some(DiscardPolicy::New);
        spec.max_msgs_per_subject = Some(10);
    });
    assert_clean(&complete.problems());
}

#[test]
fn rollup_headers_with_deny_purge_is_refused() {
    let rollups = stream().with(|spec| spec.allow_rollup_headers = Some(true));
    let denied = rollups.clone().with(|spec| spec.deny_purge = Some(true));
    assert_refused(&denied.problems(), "spec.allowRollupHeaders");
    assert_clean(
        &rollups
            .with(|spec| spec.deny_delete = Some(true))
            .problems(),
    );
}

#[test]
fn mirror_direct_without_mirror_is_refused() {
    let direct = stream().with(|spec| spec.mirror_direct = Some(true));
    assert_refused(&direct.problems(), "spec.mirrorDirect");
    let mirror = mirror_of("ORDERS").with(|spec| spec.mirror_direct = Some(true));
    assert_clean(&mirror.problems());
}

#[test]
fn first_sequence_on_a_mirror_is_refused() {
    let mirror = mirror_of("ORDERS").with(|spec| spec.first_sequence = Some(100));
    assert_refused(&mirror.problems(), "spec.firstSequence");
    assert_clean(
        &stream()
            .with(|spec| spec.first_sequence = Some(100))
            .problems(),
    );
}

#[test]
fn subject_delete_marker_ttl_below_one_second_or_on_a_mirror_is_refused() {
    let marked = |base: StreamSpec, text| {
        base.with(|spec| spec.subject_delete_marker_ttl = Some(duration(text)))
    };
    let path = "spec.subjectDeleteMarkerTtl";
    assert_refused(&marked(stream(), "500ms").problems(), path);
    assert_refused(&marked(stream(), "0").problems(), path);
    assert_refused(&marked(mirror_of("ORDERS"), "5s").problems(), path);
    assert_clean(&marked(stream(), "1s").problems());
}

#[test]
fn subject_delete_marker_ttl_with_deny_purge_is_refused() {
    let marked = stream().with(|spec| spec.subject_delete_marker_ttl = Some(duration("5s")));
    let denied = marked.clone().with(|spec| spec.deny_purge = Some(true));
    assert_refused(&denied.problems(), "spec.subjectDeleteMarkerTtl");
    assert_clean(&marked.problems());
}

#[test]
fn subject_delete_marker_ttl_with_features_turned_off_is_a_warning() {
    let marked = stream().with(|spec| spec.subject_delete_marker_ttl = Some(duration("5s")));
    let problems = marked
        .clone()
        .with(|spec| {
            spec.allow_msg_ttl = Some(false);
            spec.allow_rollup_headers = Some(false);
        })
        .problems();
    assert_warned(&problems, "spec.allowMsgTtl");
    assert_warned(&problems, "spec.allowRollupHeaders");
    assert_clean(
        &marked
            .with(|spec| spec.allow_msg_ttl = Some(true))
            .problems(),
    );
}

#[test]
fn counter_streams_need_limits_retention_and_no_mirror() {
    let counter = |base: StreamSpec| base.with(|spec| spec.allow_msg_counter = Some(true));
    let interest = counter(stream()).with(|spec| spec.retention = Some(RetentionPolicy::Interest));
    assert_refused(&interest.problems(), "spec.allowMsgCounter");
    assert_refused(
        &counter(mirror_of("ORDERS")).problems(),
        "spec.allowMsgCounter",
    );
    assert_clean(&counter(stream()).problems());
    let limits = counter(stream()).with(|spec| spec.retention = Some(RetentionPolicy::Limits));
    assert_clean(&limits.problems());
}

#[test]
fn counter_streams_refuse_discard_new_ttls_and_schedules() {
    let counter = stream().with(|spec| spec.allow_msg_counter = Some(true));
    let problems = counter
        .clone()
        .with(|spec| {
            spec.discard = Some(DiscardPolicy::New);
            spec.allow_msg_ttl = Some(true);
            spec.allow_msg_schedules = Some(true);
        })
        .problems();
    assert_eq!(
        count_at(&problems, "spec.allowMsgCounter"),
        3,
        "{}",
        listing(&problems)
    );
    assert_clean(&counter.problems());
}

#[test]
fn message_schedules_refuse_mirrors_sources_and_discard_new() {
    let scheduled = |base: StreamSpec| base.with(|spec| spec.allow_msg_schedules = Some(true));
    let path = "spec.allowMsgSchedules";
    assert_refused(&scheduled(sourcing(origin("A"))).problems(), path);
    assert_refused(&scheduled(mirror_of("A")).problems(), path);
    let discard_new = scheduled(stream()).with(|spec| spec.discard = Some(DiscardPolicy::New));
    assert_refused(&discard_new.problems(), path);
    assert_clean(&scheduled(stream()).problems());
}

#[test]
fn atomic_and_batched_publishing_on_a_mirror_is_refused() {
    let publishing = |base: StreamSpec| {
        base.with(|spec| {
            spec.allow_atomic = Some(true);
            spec.allow_batched = Some(true);
        })
    };
    let problems = publishing(mirror_of("ORDERS")).problems();
    assert_refused(&problems, "spec.allowAtomic");
    assert_refused(&problems, "spec.allowBatched");
    assert_clean(&publishing(stream()).problems());
}

#[test]
fn async_persistence_needs_a_single_file_replica_without_atomic_publish() {
    let asynchronous = stream().with(|spec| spec.persist_mode = Some(PersistMode::Async));
    let problems = asynchronous
        .clone()
        .with(|spec| {
            spec.storage = Some(StorageType::Memory);
            spec.replicas = Some(3);
            spec.allow_atomic = Some(true);
        })
        .problems();
    assert_eq!(
        count_at(&problems, "spec.persistMode"),
        3,
        "{}",
        listing(&problems)
    );
    assert_clean(&asynchronous.problems());
}

#[test]
fn subject_transform_must_map_from_a_valid_source() {
    let transformed = |source, destination| {
        stream().with(|spec| spec.subject_transform = Some(transform(source, destination)))
    };
    let path = "spec.subjectTransform";
    let out_of_range = transformed(Some("orders.*"), "copy.{{wildcard(2)}}");
    assert_refused(&out_of_range.problems(), &format!("{path}.destination"));
    let bad_source = transformed(Some("orders..x"), "copy");
    assert_refused(&bad_source.problems(), &format!("{path}.source"));
    assert_clean(&transformed(Some("orders.*"), "copy.{{wildcard(1)}}").problems());
}

#[test]
fn republish_destination_must_be_given_and_valid() {
    let republishing =
        |source, destination| stream().with(|spec| spec.republish = republish(source, destination));
    let path = "spec.republish.destination";
    assert_refused(&republishing(None, "").problems(), path);
    assert_refused(&republishing(None, "archive orders.>").problems(), path);
    assert_refused(&republishing(None, "archive.orders").problems(), path);
    assert_refused(
        &republishing(Some("orders.."), "archive").problems(),
        "spec.republish.source",
    );
    assert_clean(&republishing(None, "archive.>").problems());
    assert_clean(&republishing(Some("orders.new"), "archive.new").problems());
}

#[test]
fn republish_into_the_streams_own_subjects_is_refused() {
    let republishing =
        |source, destination| stream().with(|spec| spec.republish = republish(source, destination));
    let path = "spec.republish.destination";
    assert_refused(&republishing(None, "orders.copy.>").problems(), path);
    assert_clean(&republishing(None, "archive.>").problems());
    // Without subjects, the stream stores its own name.
    let unnamed_subjects =
        republishing(Some("orders"), "orders").with(|spec| spec.subjects = Vec::new());
    assert_refused(&unnamed_subjects.problems(), path);
}

#[test]
fn consumer_limits_max_ack_pending_of_zero_is_refused() {
    let limited = |limit| {
        stream().with(|spec| {
            spec.consumer_limits = Some(ConsumerLimits {
                inactive_threshold: None,
                max_ack_pending: Some(limit),
            })
        })
    };
    assert_refused(&limited(0).problems(), "spec.consumerLimits.maxAckPending");
    assert_clean(&limited(1).problems());
}

#[test]
fn placement_tags_must_not_be_empty() {
    let placed = |tags: &[&str]| {
        stream().with(|spec| {
            spec.placement = Some(Placement {
                cluster: None,
                tags: strings(tags),
            })
        })
    };
    assert_refused(&placed(&["ssd", ""]).problems(), "spec.placement.tags[1]");
    assert_clean(&placed(&["ssd", "eu"]).problems());
}
