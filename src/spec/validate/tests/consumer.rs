//! Consumers.

use super::*;

#[test]
fn consumer_stream_name_must_be_a_stream_name() {
    let reading = consumer().with(|spec| spec.stream_name = "orders.v1".into());
    assert_refused(&reading.problems(), "spec.streamName");
    assert_clean(&consumer().problems());
}

#[test]
fn filter_subject_with_filter_subjects_is_refused() {
    let filtered = consumer().with(|spec| spec.filter_subjects = strings(&["orders.old"]));
    let both = filtered
        .clone()
        .with(|spec| spec.filter_subject = Some("orders.new".into()));
    assert_refused(&both.problems(), "spec.filterSubject");
    assert_clean(&filtered.problems());
}

#[test]
fn consumer_filters_must_be_valid_subjects() {
    let single = |filter: &str| consumer().with(|spec| spec.filter_subject = Some(filter.into()));
    let many = |filters: &[&str]| consumer().with(|spec| spec.filter_subjects = strings(filters));
    assert_refused(&single("orders.>.x").problems(), "spec.filterSubject");
    assert_refused(
        &many(&["orders.new", ""]).problems(),
        "spec.filterSubjects[1]",
    );
    assert_clean(&single("orders.*").problems());
}

#[test]
fn duplicate_or_overlapping_filter_subjects_are_refused() {
    let many = |filters: &[&str]| consumer().with(|spec| spec.filter_subjects = strings(filters));
    let path = "spec.filterSubjects[1]";
    assert_refused(&many(&["orders.new", "orders.new"]).problems(), path);
    assert_refused(&many(&["orders.new", "orders.*"]).problems(), path);
    assert_clean(&many(&["orders.new", "orders.old"]).problems());
}

#[test]
fn deliver_by_start_sequence_needs_opt_start_seq() {
    let by_sequence =
        consumer().with(|spec| spec.deliver_policy = Some(DeliverPolicy::ByStartSequence));
    assert_refused(&by_sequence.clone().problems(), "spec.deliverPolicy");
    assert_clean(
        &by_sequence
            .with(|spec| spec.opt_start_seq = Some(42))
            .problems(),
    );
}

#[test]
fn deliver_by_start_time_needs_opt_start_time() {
    let by_time = consumer().with(|spec| spec.deliver_policy = Some(DeliverPolicy::ByStartTime));
    assert_refused(&by_time.clone().problems(), "spec.deliverPolicy");
    let timed = by_time.with(|spec| spec.opt_start_time = Some("2025-01-31T12:00:00Z".into()));
    assert_clean(&timed.problems());
}

#[test]
fn start_position_without_the_matching_deliver_policy_is_refused() {
    let problems = consumer()
        .with(|spec| {
            spec.opt_start_seq = Some(42);
            spec.opt_start_time = Some("2025-01-31T12:00:00Z".into());
        })
        .problems();
    assert_refused(&problems, "spec.optStartSeq");
    assert_refused(&problems, "spec.optStartTime");
    assert!(problems[0].message.contains("deliverPolicy is all"));
    let new = consumer().with(|spec| spec.deliver_policy = Some(DeliverPolicy::New));
    assert_clean(&new.problems());
}

#[test]
fn opt_start_seq_of_zero_is_refused() {
    let from_sequence = |sequence| {
        consumer().with(|spec| {
            spec.deliver_policy = Some(DeliverPolicy::ByStartSequence);
            spec.opt_start_seq = Some(sequence);
        })
    };
    assert_refused(&from_sequence(0).problems(), "spec.optStartSeq");
    assert_clean(&from_sequence(1).problems());
}

#[test]
fn opt_start_time_must_be_rfc_3339() {
    let from_time = |time: &str| {
        consumer().with(|spec| {
            spec.deliver_policy = Some(DeliverPolicy::ByStartTime);
            spec.opt_start_time = Some(time.into());
        })
    };
    assert_refused(
        &from_time("2025-01-31 12:00").problems(),
        "spec.optStartTime",
    );
    assert_clean(&from_time("2025-01-31T12:00:00-05:00").problems());
}

#[test]
fn last_per_subject_needs_a_filter() {
    let last = consumer().with(|spec| spec.deliver_policy = Some(DeliverPolicy::LastPerSubject));
    assert_refused(&last.clone().problems(), "spec.deliverPolicy");
    let filtered = last.with(|spec| spec.filter_subject = Some("orders.>".into()));
    assert_clean(&filtered.problems());
}

#[test]
fn backoff_longer_than_max_deliver_is_refused() {
    let backing_off = |max_deliver| {
        consumer().with(|spec| {
            spec.backoff = vec![duration("1s"), duration("5s"), duration("30s")];
            spec.max_deliver = Some(max_deliver);
        })
    };
    assert_refused(&backing_off(2).problems(), "spec.backoff");
    assert_clean(&backing_off(3).problems());
}

#[test]
fn backoff_with_ack_policy_none_is_refused() {
    let backing_off = |ack_policy| {
        consumer().with(|spec| {
            spec.backoff = vec![duration("1s")];
            spec.ack_policy = Some(ack_policy);
        })
    };
    assert_refused(&backing_off(AckPolicy::None).problems(), "spec.backoff");
    assert_clean(&backing_off(AckPolicy::Explicit).problems());
}

#[test]
fn ack_wait_that_backoff_overrides_is_a_warning() {
    let waiting = |ack_wait| {
        consumer().with(|spec| {
            spec.backoff = vec![duration("1s"), duration("5s")];
            spec.ack_wait = Some(duration(ack_wait));
        })
    };
    assert_warned(&waiting("30s").problems(), "spec.ackWait");
    assert_clean(&waiting("1s").problems());
}

#[test]
fn ack_wait_of_zero_is_refused() {
    let waiting = |ack_wait| consumer().with(|spec| spec.ack_wait = Some(duration(ack_wait)));
    assert_refused(&waiting("0").problems(), "spec.ackWait");
    assert_clean(&waiting("10s").problems());
}

#[test]
fn max_deliver_of_zero_is_refused_with_help_to_omit_it() {
    let delivering = |max_deliver| consumer().with(|spec| spec.max_deliver = Some(max_deliver));
    let problems = delivering(0).problems();
    assert_refused(&problems, "spec.maxDeliver");
    assert!(
        problems[0]
            .help
            .as_deref()
            .unwrap()
            .contains("leave maxDeliver out")
    );
    assert_clean(&delivering(1).problems());
}

#[test]
fn max_ack_pending_must_be_positive_and_needs_acks() {
    let pending = |pending, ack_policy| {
        consumer().with(|spec| {
            spec.max_ack_pending = Some(pending);
            spec.ack_policy = ack_policy;
        })
    };
    assert_refused(&pending(0, None).problems(), "spec.maxAckPending");
    assert_refused(
        &pending(10, Some(AckPolicy::None)).problems(),
        "spec.maxAckPending",
    );
    assert_clean(&pending(10, None).problems());
    assert_clean(&pending(10, Some(AckPolicy::All)).problems());
}

#[test]
fn consumer_replicas_of_zero_or_above_five_are_refused() {
    let replicated = |replicas| consumer().with(|spec| spec.replicas = Some(replicas));
    let zero = replicated(0).problems();
    assert_refused(&zero, "spec.replicas");
    assert!(
        zero[0]
            .help
            .as_deref()
            .unwrap()
            .contains("stream's replicas")
    );
    assert_refused(&replicated(7).problems(), "spec.replicas");
    assert_clean(&replicated(3).problems());
}

#[test]
fn pull_consumers_refuse_push_settings() {
    let problems = consumer()
        .with(|spec| {
            spec.idle_heartbeat = Some(duration("5s"));
            spec.flow_control = Some(true);
            spec.rate_limit_bps = Some(1_000);
            spec.deliver_group = Some("workers".into());
        })
        .problems();
    let push_only = [
        "idleHeartbeat",
        "flowControl",
        "rateLimitBps",
        "deliverGroup",
    ];
    for field in push_only {
        assert_refused(&problems, &format!("spec.{field}"));
    }
    assert_eq!(problems.len(), push_only.len(), "{}", listing(&problems));
    let pulling = consumer().with(|spec| {
        spec.max_waiting = Some(64);
        spec.max_batch = Some(100);
    });
    assert_clean(&pulling.problems());
}

#[test]
fn push_consumers_refuse_pull_settings() {
    let problems = push_consumer()
        .with(|spec| {
            spec.max_waiting = Some(64);
            spec.max_batch = Some(100);
            spec.max_expires = Some(duration("30s"));
            spec.max_bytes = Some(Size::from_bytes(1024));
            spec.priority_groups = strings(&["jobs"]);
            spec.priority_policy = Some(PriorityPolicy::Overflow);
            spec.priority_timeout = Some(duration("1m"));
        })
        .problems();
    let pull_only = [
        "maxWaiting",
        "maxBatch",
        "maxExpires",
        "maxBytes",
        "priorityGroups",
        "priorityPolicy",
        "priorityTimeout",
    ];
    for field in pull_only {
        assert_refused(&problems, &format!("spec.{field}"));
    }
    assert_eq!(problems.len(), pull_only.len(), "{}", listing(&problems));
    let pushing = push_consumer().with(|spec| {
        spec.idle_heartbeat = Some(duration("5s"));
        spec.flow_control = Some(true);
        spec.deliver_group = Some("workers".into());
    });
    assert_clean(&pushing.problems());
}

#[test]
fn the_flow_control_ack_policy_is_refused_where_the_server_refuses_it() {
    let flow =
        |spec: ConsumerSpec| spec.with(|spec| spec.ack_policy = Some(AckPolicy::FlowControl));
    assert_clean(&flow(push_consumer()).problems());
    assert_refused(&flow(consumer()).problems(), "spec.ackPolicy");
    let problems = flow(push_consumer())
        .with(|spec| {
            spec.ack_wait = Some(duration("10s"));
            spec.max_deliver = Some(3);
            spec.idle_heartbeat = Some(duration("5s"));
            spec.flow_control = Some(true);
        })
        .problems();
    for field in ["ackWait", "maxDeliver", "idleHeartbeat", "flowControl"] {
        assert_refused(&problems, &format!("spec.{field}"));
    }
    let backing_off = flow(push_consumer()).with(|spec| spec.backoff = vec![duration("1s")]);
    assert_refused(&backing_off.problems(), "spec.backoff");
}

#[test]
fn a_bucket_cannot_turn_off_the_ttls_its_limit_markers_need() {
    let bucket = key_value().with(|spec| {
        spec.limit_marker_ttl = Some(duration("10s"));
        spec.allow_msg_ttl = Some(false);
    });
    assert_refused(&bucket.problems(), "spec.allowMsgTtl");
    let direct = key_value().with(|spec| spec.mirror_direct = Some(true));
    assert_refused(&direct.problems(), "spec.mirrorDirect");
    let chosen = key_value().with(|spec| {
        spec.allow_msg_ttl = Some(true);
        spec.allow_direct = Some(false);
    });
    assert_clean(&chosen.problems());
}

#[test]
fn idle_heartbeat_below_100ms_is_refused() {
    let beating =
        |heartbeat| push_consumer().with(|spec| spec.idle_heartbeat = Some(duration(heartbeat)));
    assert_refused(&beating("50ms").problems(), "spec.idleHeartbeat");
    assert_clean(&beating("100ms").problems());
}

#[test]
fn flow_control_without_idle_heartbeat_is_refused() {
    let flow_control = push_consumer().with(|spec| spec.flow_control = Some(true));
    assert_refused(&flow_control.clone().problems(), "spec.flowControl");
    let beating = flow_control.with(|spec| spec.idle_heartbeat = Some(duration("5s")));
    assert_clean(&beating.problems());
}

#[test]
fn deliver_subject_must_be_a_publish_subject() {
    let delivering =
        |subject: &str| consumer().with(|spec| spec.deliver_subject = Some(subject.into()));
    assert_refused(&delivering("deliver.*").problems(), "spec.deliverSubject");
    assert_refused(&delivering("").problems(), "spec.deliverSubject");
    assert_clean(&delivering("deliver.orders").problems());
}

#[test]
fn max_expires_below_one_millisecond_is_refused() {
    let expiring = |expires| consumer().with(|spec| spec.max_expires = Some(duration(expires)));
    assert_refused(&expiring("500us").problems(), "spec.maxExpires");
    assert_clean(&expiring("1ms").problems());
}

#[test]
fn sample_frequency_above_100_is_refused() {
    let sampled = |frequency| consumer().with(|spec| spec.sample_freq = Some(frequency));
    assert_refused(&sampled(101).problems(), "spec.sampleFreq");
    assert_clean(&sampled(100).problems());
}

#[test]
fn priority_groups_must_be_valid_and_distinct() {
    let grouped = |groups: &[&str]| {
        consumer().with(|spec| {
            spec.priority_groups = strings(groups);
            spec.priority_policy = Some(PriorityPolicy::Overflow);
        })
    };
    assert_refused(
        &grouped(&["jobs", "jobs.high"]).problems(),
        "spec.priorityGroups[1]",
    );
    assert_refused(
        &grouped(&["jobs", "jobs"]).problems(),
        "spec.priorityGroups[1]",
    );
    assert_refused(
        &grouped(&["a-very-long-group-name"]).problems(),
        "spec.priorityGroups[0]",
    );
    assert_clean(&grouped(&["jobs", "jobs/high"]).problems());
}

#[test]
fn priority_policy_without_groups_is_refused() {
    let pinned = |groups: &[&str]| {
        consumer().with(|spec| {
            spec.priority_policy = Some(PriorityPolicy::PinnedClient);
            spec.priority_groups = strings(groups);
        })
    };
    assert_refused(&pinned(&[]).problems(), "spec.priorityPolicy");
    assert_clean(&pinned(&["jobs"]).problems());
}

#[test]
fn priority_groups_without_a_policy_are_refused() {
    let grouped = |policy| {
        consumer().with(|spec| {
            spec.priority_groups = strings(&["jobs"]);
            spec.priority_policy = policy;
        })
    };
    assert_refused(&grouped(None).problems(), "spec.priorityGroups");
    assert_refused(
        &grouped(Some(PriorityPolicy::None)).problems(),
        "spec.priorityGroups",
    );
    assert_clean(&grouped(Some(PriorityPolicy::Prioritized)).problems());
}

#[test]
fn priority_timeout_is_only_for_pinned_clients() {
    let timed = |policy, groups: &[&str]| {
        consumer().with(|spec| {
            spec.priority_groups = strings(groups);
            spec.priority_policy = Some(policy);
            spec.priority_timeout = Some(duration("30s"));
        })
    };
    let path = "spec.priorityTimeout";
    assert_refused(&timed(PriorityPolicy::None, &[]).problems(), path);
    assert_warned(&timed(PriorityPolicy::Overflow, &["jobs"]).problems(), path);
    assert_clean(&timed(PriorityPolicy::PinnedClient, &["jobs"]).problems());
}

#[test]
fn pause_until_must_be_rfc_3339() {
    let paused = |time: &str| consumer().with(|spec| spec.pause_until = Some(time.into()));
    assert_refused(
        &paused("2025-02-30T00:00:00Z").problems(),
        "spec.pauseUntil",
    );
    assert_clean(&paused("2025-02-28T00:00:00Z").problems());
}
