//! The rules of a `Consumer`.

use std::collections::HashMap;

use super::*;
use crate::spec::consumer::{AckPolicy, ConsumerSpec, DeliverPolicy, PriorityPolicy};
use crate::spec::names::{self, SubjectUse, quoted};

impl Checker {
    pub(super) fn consumer(&mut self, object_name: &str, spec: &ConsumerSpec) {
        self.jetstream_name(
            object_name,
            spec.name.as_deref(),
            names::check_consumer_name,
            "consumer",
        );
        if let Err(message) = names::check_stream_name(&spec.stream_name) {
            self.error(at("streamName"), message)
                .help("set streamName to the JetStream name of the stream (its spec.name, or its metadata.name)");
        }
        self.description(spec.description.as_deref());
        self.metadata(&spec.metadata);
        self.connection(spec.connection.as_deref());
        self.ignore_fields::<ConsumerSpec>(&spec.ignore_fields);
        self.replicas(
            spec.replicas,
            "leave replicas out to use the stream's replicas",
        );
        self.consumer_filters(spec);
        self.consumer_start(spec);
        self.consumer_acks(spec);
        if spec.is_push() {
            self.push_consumer(spec);
        } else {
            self.pull_consumer(spec);
        }
        if let Some(frequency) = spec.sample_freq
            && frequency > 100
        {
            self.error(
                at("sampleFreq"),
                format!("sampleFreq is {frequency}, but it is a percentage"),
            )
            .help("set sampleFreq from 0 to 100");
        }
        self.rfc3339(at("pauseUntil"), "pauseUntil", spec.pause_until.as_deref());
    }

    pub(super) fn consumer_filters(&mut self, spec: &ConsumerSpec) {
        if let Some(filter) = &spec.filter_subject {
            self.subject(at("filterSubject"), filter, SubjectUse::Filter);
            if !spec.filter_subjects.is_empty() {
                self.error(
                    at("filterSubject"),
                    "filterSubject and filterSubjects are both set; the server refuses this (10136)",
                )
                .help("move filterSubject into filterSubjects");
            }
        }
        self.filter_list(
            &at("filterSubjects"),
            &spec.filter_subjects,
            |first, second| {
                names::subject_is_subset(first, second) || names::subject_is_subset(second, first)
            },
            "consumer filters must not overlap",
        );
    }

    pub(super) fn consumer_start(&mut self, spec: &ConsumerSpec) {
        let policy = spec.deliver_policy.unwrap_or(DeliverPolicy::All);
        let policy_name = deliver_policy_name(policy);
        if spec.opt_start_seq == Some(0) {
            self.error(
                at("optStartSeq"),
                "optStartSeq is 0, but stream sequences start at 1",
            )
            .help("set optStartSeq to 1 or more");
        }
        self.rfc3339(
            at("optStartTime"),
            "optStartTime",
            spec.opt_start_time.as_deref(),
        );
        match policy {
            DeliverPolicy::ByStartSequence if spec.opt_start_seq.is_none() => {
                self.error(
                    at("deliverPolicy"),
                    "deliverPolicy: byStartSequence needs optStartSeq",
                )
                .help("set optStartSeq to the first sequence to deliver");
            }
            DeliverPolicy::ByStartTime if spec.opt_start_time.is_none() => {
                self.error(
                    at("deliverPolicy"),
                    "deliverPolicy: byStartTime needs optStartTime",
                )
                .help("set optStartTime to an RFC 3339 time, e.g. `2025-01-31T12:00:00Z`");
            }
            DeliverPolicy::LastPerSubject
                if spec.filter_subject.is_none() && spec.filter_subjects.is_empty() =>
            {
                self.error(at("deliverPolicy"), "deliverPolicy: lastPerSubject needs filterSubject or filterSubjects")
                    .help("set filterSubject (e.g. `orders.>`) to say which subjects' last messages to deliver");
            }
            _ => {}
        }
        if spec.opt_start_seq.is_some() && policy != DeliverPolicy::ByStartSequence {
            self.error(
                at("optStartSeq"),
                format!("optStartSeq is set, but deliverPolicy is {policy_name}"),
            )
            .help("set deliverPolicy: byStartSequence, or remove optStartSeq");
        }
        if spec.opt_start_time.is_some() && policy != DeliverPolicy::ByStartTime {
            self.error(
                at("optStartTime"),
                format!("optStartTime is set, but deliverPolicy is {policy_name}"),
            )
            .help("set deliverPolicy: byStartTime, or remove optStartTime");
        }
    }

    pub(super) fn consumer_acks(&mut self, spec: &ConsumerSpec) {
        let acks = spec.ack_policy.unwrap_or(AckPolicy::Explicit);
        if spec.ack_wait == Some(Duration::ZERO) {
            self.error(at("ackWait"), "ackWait is 0s")
                .help("leave ackWait out for the default (30s), or set how long to wait for an acknowledgement");
        }
        if spec.max_deliver == Some(0) {
            self.error(at("maxDeliver"), "maxDeliver is 0")
                .help("leave maxDeliver out for unlimited deliveries, or set 1 or more");
        }
        if let Some(first) = spec.backoff.first() {
            if acks == AckPolicy::None {
                self.error(at("backoff"), "backoff sets redelivery delays, but ackPolicy is none, so nothing is redelivered")
                    .help("remove backoff, or set ackPolicy: explicit");
            }
            if let Some(max_deliver) = spec.max_deliver
                && max_deliver > 0
                && spec.backoff.len() as u64 > max_deliver
            {
                self.error(
                    at("backoff"),
                    format!(
                        "backoff lists {} delays, but maxDeliver is {max_deliver}; the server refuses more delays than deliveries (10116)",
                        spec.backoff.len()
                    ),
                )
                .help("shorten backoff to at most maxDeliver delays, or raise maxDeliver");
            }
            if let Some(ack_wait) = spec.ack_wait
                && ack_wait != *first
                && ack_wait != Duration::ZERO
            {
                self.warning(
                    at("ackWait"),
                    format!("ackWait is {ack_wait}, but with backoff the server uses the first delay ({first}) instead"),
                )
                .help("remove ackWait, or make it equal to backoff's first delay");
            }
        }
        if acks == AckPolicy::FlowControl {
            self.flow_control_acks(spec);
        }
        match spec.max_ack_pending {
            Some(0) => {
                self.error(at("maxAckPending"), "maxAckPending is 0")
                    .help("leave maxAckPending out for the default (1000), or set 1 or more");
            }
            Some(_) if acks == AckPolicy::None => {
                self.error(
                    at("maxAckPending"),
                    "maxAckPending is set, but ackPolicy is none, so no acknowledgement is ever pending",
                )
                .help("remove maxAckPending, or set ackPolicy: explicit");
            }
            _ => {}
        }
    }

    /// The `flowControl` ack policy (nats-server 2.14): push only, no ack
    /// wait, backoff or delivery limit, and flow control with 1s heartbeats
    /// set by the server itself (measured on 2.15.1: 10218, 10221, 10222).
    pub(super) fn flow_control_acks(&mut self, spec: &ConsumerSpec) {
        if !spec.is_push() {
            self.error(
                at("ackPolicy"),
                "ackPolicy flowControl is for push consumers, but this is a pull consumer (no deliverSubject); the server refuses it (10218)",
            )
            .help("set deliverSubject, or choose ackPolicy explicit");
        }
        let refused = [
            ("ackWait", spec.ack_wait.is_some(), "10221"),
            ("backoff", !spec.backoff.is_empty(), "10221"),
            ("maxDeliver", spec.max_deliver.is_some(), "10222"),
        ];
        for (field, set, code) in refused {
            if set {
                self.error(
                    at(field),
                    format!("{field} is set, but ackPolicy flowControl redelivers by flow control; the server refuses it ({code})"),
                )
                .help(format!("remove {field}"));
            }
        }
        let server_set = [
            ("idleHeartbeat", spec.idle_heartbeat.is_some()),
            ("flowControl", spec.flow_control.is_some()),
        ];
        for (field, set) in server_set {
            if set {
                self.error(
                    at(field),
                    format!("{field} is set, but with ackPolicy flowControl the server sets flow control on with 1s heartbeats itself"),
                )
                .help(format!("remove {field}"));
            }
        }
    }

    pub(super) fn push_consumer(&mut self, spec: &ConsumerSpec) {
        let deliver_subject = spec.deliver_subject.as_deref().unwrap_or_default();
        self.subject(at("deliverSubject"), deliver_subject, SubjectUse::Publish);
        let pull_only = [
            ("maxWaiting", spec.max_waiting.is_some()),
            ("maxBatch", spec.max_batch.is_some()),
            ("maxExpires", spec.max_expires.is_some()),
            ("maxBytes", spec.max_bytes.is_some()),
            ("priorityGroups", !spec.priority_groups.is_empty()),
            (
                "priorityPolicy",
                spec.priority_policy
                    .is_some_and(|policy| policy != PriorityPolicy::None),
            ),
            ("priorityTimeout", spec.priority_timeout.is_some()),
        ];
        for (field, set) in pull_only {
            if set {
                self.error(
                    at(field),
                    format!(
                        "{field} is for pull consumers, but this consumer pushes to {} (deliverSubject)",
                        quoted(deliver_subject)
                    ),
                )
                .help(format!("remove {field}, or remove deliverSubject to make this a pull consumer"));
            }
        }
        if let Some(heartbeat) = spec.idle_heartbeat
            && heartbeat < MIN_HEARTBEAT
        {
            self.error(
                at("idleHeartbeat"),
                format!(
                    "idleHeartbeat is {heartbeat}, but JetStream needs at least {MIN_HEARTBEAT}"
                ),
            )
            .help(format!(
                "set idleHeartbeat to {MIN_HEARTBEAT} or more, or leave it out for no heartbeats"
            ));
        }
        if is_true(spec.flow_control) && spec.idle_heartbeat.is_none() {
            self.error(at("flowControl"), "flowControl needs idleHeartbeat")
                .help("set idleHeartbeat (e.g. `5s`), or remove flowControl");
        }
    }

    pub(super) fn pull_consumer(&mut self, spec: &ConsumerSpec) {
        let push_only = [
            ("idleHeartbeat", spec.idle_heartbeat.is_some()),
            ("flowControl", is_true(spec.flow_control)),
            ("rateLimitBps", spec.rate_limit_bps.is_some()),
            ("deliverGroup", spec.deliver_group.is_some()),
        ];
        for (field, set) in push_only {
            if set {
                self.error(
                    at(field),
                    format!("{field} is for push consumers, but this is a pull consumer (no deliverSubject)"),
                )
                .help(format!("remove {field}, or set deliverSubject to make this a push consumer"));
            }
        }
        if let Some(expires) = spec.max_expires
            && expires < MIN_MAX_EXPIRES
        {
            self.error(
                at("maxExpires"),
                format!("maxExpires is {expires}, but JetStream needs at least {MIN_MAX_EXPIRES}"),
            )
            .help("set maxExpires to 1ms or more, or leave it out for no limit");
        }
        self.priority_groups(spec);
    }

    pub(super) fn priority_groups(&mut self, spec: &ConsumerSpec) {
        let mut first_at: HashMap<&str, usize> = HashMap::new();
        for (index, group) in spec.priority_groups.iter().enumerate() {
            let path = at("priorityGroups").index(index);
            let first = *first_at.entry(group.as_str()).or_insert(index);
            if let Err(message) = names::check_priority_group(group) {
                self.error(path, message)
                    .help("priority group names match `^[a-zA-Z0-9/_=-]{1,16}$`");
            } else if first < index {
                self.error(
                    path,
                    format!(
                        "the priority group {} is listed twice (also at priorityGroups[{first}])",
                        quoted(group)
                    ),
                )
                .help("remove one of them");
            }
        }
        let policy = spec.priority_policy.unwrap_or(PriorityPolicy::None);
        if policy != PriorityPolicy::None && spec.priority_groups.is_empty() {
            self.error(
                at("priorityPolicy"),
                format!(
                    "priorityPolicy is {}, but no priorityGroups are set",
                    priority_policy_name(policy)
                ),
            )
            .help("list at least one group in priorityGroups, or remove priorityPolicy");
        }
        if policy == PriorityPolicy::None && !spec.priority_groups.is_empty() {
            self.error(at("priorityGroups"), "priorityGroups need a priorityPolicy other than none")
                .help("set priorityPolicy to overflow, pinnedClient or prioritized, or remove priorityGroups");
        }
        if spec.priority_timeout.is_some() {
            match policy {
                PriorityPolicy::PinnedClient => {}
                PriorityPolicy::None => {
                    self.error(
                        at("priorityTimeout"),
                        "priorityTimeout is set, but there is no priorityPolicy",
                    )
                    .help("set priorityPolicy: pinnedClient, or remove priorityTimeout");
                }
                other => {
                    self.warning(
                        at("priorityTimeout"),
                        format!(
                            "priorityTimeout only affects priorityPolicy: pinnedClient, but priorityPolicy is {}",
                            priority_policy_name(other)
                        ),
                    )
                    .help("remove priorityTimeout");
                }
            }
        }
    }
}

fn deliver_policy_name(policy: DeliverPolicy) -> &'static str {
    match policy {
        DeliverPolicy::All => "all",
        DeliverPolicy::Last => "last",
        DeliverPolicy::New => "new",
        DeliverPolicy::ByStartSequence => "byStartSequence",
        DeliverPolicy::ByStartTime => "byStartTime",
        DeliverPolicy::LastPerSubject => "lastPerSubject",
    }
}

fn priority_policy_name(policy: PriorityPolicy) -> &'static str {
    match policy {
        PriorityPolicy::None => "none",
        PriorityPolicy::Overflow => "overflow",
        PriorityPolicy::PinnedClient => "pinnedClient",
        PriorityPolicy::Prioritized => "prioritized",
    }
}
