//! The rules of a `Stream`.

use super::*;
use crate::spec::common::{
    DiscardPolicy, PersistMode, RetentionPolicy, StorageType, SubjectTransform,
};
use crate::spec::names::{self, SubjectUse, quoted};
use crate::spec::stream::StreamSpec;

impl Checker {
    pub(super) fn stream(&mut self, object_name: &str, spec: &StreamSpec) {
        let stream_name = spec.name.as_deref().unwrap_or(object_name);
        self.jetstream_name(
            object_name,
            spec.name.as_deref(),
            names::check_stream_name,
            "stream",
        );
        self.description(spec.description.as_deref());
        self.metadata(&spec.metadata);
        self.connection(spec.connection.as_deref());
        self.ignore_fields::<StreamSpec>(&spec.ignore_fields);
        self.placement(spec.placement.as_ref());
        self.replicas(
            spec.replicas,
            "set replicas to a number from 1 to 5, or leave it out for 1",
        );

        let is_mirror = spec.mirror.is_some();
        let has_sources = !spec.sources.is_empty();
        self.stream_subjects(spec);
        self.stream_limits(spec, is_mirror || has_sources);
        self.stream_flags(spec);

        if let Some(mirror) = &spec.mirror {
            self.source(&at("mirror"), mirror, Origin::Stream, true);
            if has_sources {
                self.error(at("sources"), "a mirror cannot also have sources")
                    .help("remove sources, or remove mirror and aggregate with sources only");
            }
            self.not_on_mirror(spec);
        } else if is_true(spec.mirror_direct) {
            self.error(
                at("mirrorDirect"),
                "mirrorDirect: true is only for mirrors, and this stream has no mirror",
            )
            .help("remove mirrorDirect, or use allowDirect for direct gets on this stream");
        }
        self.sources(&spec.sources, Origin::Stream);

        if let Some(transform) = &spec.subject_transform {
            self.stream_subject_transform(transform);
        }
        if let Some(republish) = &spec.republish {
            let stored = if spec.subjects.is_empty() && !is_mirror && !has_sources {
                vec![stream_name.to_string()]
            } else {
                spec.subjects.clone()
            };
            // nats-server rewrites `>` → `>` into "republish the transformed subjects".
            let exempt = republish.destination == ">"
                && republish.source.as_deref().unwrap_or(">") == ">"
                && spec.subjects.len() == 1
                && spec
                    .subject_transform
                    .as_ref()
                    .and_then(|transform| transform.source.as_deref())
                    == Some(spec.subjects[0].as_str());
            self.republish(republish, &stored, exempt);
        }
        if let Some(limits) = &spec.consumer_limits
            && limits.max_ack_pending == Some(0)
        {
            self.error(
                at("consumerLimits").field("maxAckPending"),
                "consumerLimits.maxAckPending is 0",
            )
            .help("set it to at least 1, or leave it out for no ceiling");
        }
    }

    pub(super) fn stream_subjects(&mut self, spec: &StreamSpec) {
        if spec.mirror.is_some() && !spec.subjects.is_empty() {
            self.error(
                at("subjects"),
                "a mirror cannot have subjects: it stores what its origin stores",
            )
            .help("remove subjects, or remove mirror and use sources");
        }
        self.filter_list(
            &at("subjects"),
            &spec.subjects,
            names::subjects_collide,
            "a message on both would be stored twice, so the server refuses it",
        );
        let no_ack = is_true(spec.no_ack);
        for (index, subject) in spec.subjects.iter().enumerate() {
            if names::check_subject(subject, SubjectUse::Filter).is_err() {
                continue;
            }
            let path = at("subjects").index(index);
            if subject == ">" {
                if !no_ack {
                    self.error(
                        path.clone(),
                        "capturing every subject with `>` needs noAck: true",
                    )
                    .help("set noAck: true, or narrow the subject, e.g. `orders.>`");
                }
                if spec.replicas.unwrap_or(1) != 1 {
                    self.error(path, "capturing every subject with `>` needs replicas: 1")
                        .help("set replicas: 1, or narrow the subject");
                }
                continue;
            }
            if no_ack {
                continue;
            }
            let clash = API_SUBJECTS.iter().find(|(space, exempt, _)| {
                names::subjects_collide(subject, space)
                    && !names::subject_is_subset(subject, exempt)
            });
            if let Some((space, _, api)) = clash {
                self.error(
                    path,
                    format!("{} overlaps the {api} subjects `{space}`", quoted(subject)),
                )
                .help("pick subjects outside `$JS.>`, `$JSC.>`, `$NRG.>` and `$SYS.>`, or set noAck: true");
            }
        }
    }

    pub(super) fn stream_limits(&mut self, spec: &StreamSpec, copies_from_others: bool) {
        self.at_least(
            "maxAge",
            spec.max_age,
            MIN_AGE,
            "leave maxAge out to keep messages with no age limit",
        );
        match spec.duplicate_window {
            // Mirrors and sourcing streams default to no window, so 0 says what it means there.
            Some(window) if window == Duration::ZERO && copies_from_others => {}
            Some(window) if window == Duration::ZERO => {
                self.error(
                    at("duplicateWindow"),
                    "duplicateWindow is 0s, which the server replaces with its default (2m)",
                )
                .help("leave duplicateWindow out for the default, or set 100ms or more");
            }
            Some(window) if window < MIN_AGE => {
                self.error(
                    at("duplicateWindow"),
                    format!("duplicateWindow is {window}, but JetStream needs at least {MIN_AGE}"),
                )
                .help(format!("set duplicateWindow to {MIN_AGE} or more"));
            }
            _ => {}
        }
        if let (Some(window), Some(max_age)) = (spec.duplicate_window, spec.max_age)
            && max_age != Duration::ZERO
            && window > max_age
        {
            self.error(
                at("duplicateWindow"),
                format!("duplicateWindow ({window}) is longer than maxAge ({max_age})"),
            )
            .help("set duplicateWindow to at most maxAge: messages cannot be deduplicated after they are gone");
        }
        self.message_size_limit("maxMsgSize", spec.max_msg_size);

        if is_true(spec.discard_new_per_subject) {
            if spec.discard != Some(DiscardPolicy::New) {
                self.error(
                    at("discardNewPerSubject"),
                    format!(
                        "discardNewPerSubject needs discard: new, but discard is {}",
                        discard_name(spec.discard.unwrap_or(DiscardPolicy::Old))
                    ),
                )
                .help("set discard: new, or remove discardNewPerSubject");
            }
            if spec.max_msgs_per_subject.unwrap_or(0) == 0 {
                self.error(
                    at("discardNewPerSubject"),
                    "discardNewPerSubject needs a per-subject limit, but maxMsgsPerSubject is not set",
                )
                .help("set maxMsgsPerSubject, or remove discardNewPerSubject");
            }
        }
    }

    pub(super) fn stream_flags(&mut self, spec: &StreamSpec) {
        let deny_purge = is_true(spec.deny_purge);
        let discard_new = spec.discard == Some(DiscardPolicy::New);
        if is_true(spec.allow_rollup_headers) && deny_purge {
            self.error(
                at("allowRollupHeaders"),
                "allowRollupHeaders and denyPurge are both true; roll-ups purge messages, which denyPurge forbids",
            )
            .help("keep one of allowRollupHeaders and denyPurge");
        }
        if is_true(spec.sealed) {
            self.warning(
                at("sealed"),
                "sealed: true; streams cannot be created sealed, so jetsync will refuse to create this stream and only seal an existing one",
            )
            .help("sealing cannot be undone; leave sealed out until the stream should stop taking writes");
        }

        if let Some(ttl) = spec.subject_delete_marker_ttl {
            self.at_least(
                "subjectDeleteMarkerTtl",
                Some(ttl),
                MIN_MARKER_TTL,
                "leave subjectDeleteMarkerTtl out for no delete markers",
            );
            if ttl != Duration::ZERO {
                if deny_purge {
                    self.error(
                        at("subjectDeleteMarkerTtl"),
                        "subjectDeleteMarkerTtl needs roll-ups, which denyPurge: true forbids; the server would turn denyPurge off",
                    )
                    .help("remove denyPurge, or remove subjectDeleteMarkerTtl");
                }
                if spec.allow_msg_ttl == Some(false) {
                    self.warning(
                        at("allowMsgTtl"),
                        "allowMsgTtl is false, but subjectDeleteMarkerTtl makes the server turn it on",
                    )
                    .help("set allowMsgTtl: true or leave it out");
                }
                if spec.allow_rollup_headers == Some(false) {
                    self.warning(
                        at("allowRollupHeaders"),
                        "allowRollupHeaders is false, but subjectDeleteMarkerTtl makes the server turn it on",
                    )
                    .help("set allowRollupHeaders: true or leave it out");
                }
            }
        }

        if is_true(spec.allow_msg_counter) {
            let path = at("allowMsgCounter");
            if let Some(retention) = spec.retention
                && retention != RetentionPolicy::Limits
            {
                self.error(
                    path.clone(),
                    format!(
                        "counter streams need retention: limits, but retention is {}",
                        retention_name(retention)
                    ),
                )
                .help("set retention: limits (or leave it out), or remove allowMsgCounter");
            }
            let conflicts = [
                ("discard: new", discard_new),
                ("allowMsgTtl", is_true(spec.allow_msg_ttl)),
                ("allowMsgSchedules", is_true(spec.allow_msg_schedules)),
                (
                    "subjectDeleteMarkerTtl",
                    spec.subject_delete_marker_ttl
                        .is_some_and(|ttl| ttl != Duration::ZERO),
                ),
            ];
            for (conflict, present) in conflicts {
                if present {
                    self.error(
                        path.clone(),
                        format!("counter streams cannot use {conflict}"),
                    )
                    .help(format!("remove {conflict}, or remove allowMsgCounter"));
                }
            }
        }

        if is_true(spec.allow_msg_schedules) {
            let path = at("allowMsgSchedules");
            if !spec.sources.is_empty() {
                self.error(
                    path.clone(),
                    "message schedules cannot be used on a stream with sources",
                )
                .help("remove allowMsgSchedules, or remove sources");
            }
            if discard_new {
                self.error(
                    path.clone(),
                    "message schedules cannot be used with discard: new",
                )
                .help("set discard: old (or leave it out), or remove allowMsgSchedules");
            }
            if deny_purge {
                self.error(
                    path,
                    "message schedules need roll-ups, which denyPurge: true forbids; the server would turn denyPurge off",
                )
                .help("remove denyPurge, or remove allowMsgSchedules");
            }
        }

        if spec.persist_mode == Some(PersistMode::Async) {
            let path = at("persistMode");
            if spec.storage == Some(StorageType::Memory) {
                self.error(
                    path.clone(),
                    "persistMode: async is only for file storage, but storage is memory",
                )
                .help("remove persistMode, or use storage: file");
            }
            if let Some(replicas) = spec.replicas
                && replicas > 1
            {
                self.error(path.clone(), format!("persistMode: async is only for unreplicated streams, but replicas is {replicas}"))
                    .help("remove persistMode, or set replicas: 1");
            }
            if is_true(spec.allow_atomic) {
                self.error(
                    path,
                    "persistMode: async cannot be combined with allowAtomic",
                )
                .help("keep one of persistMode: async and allowAtomic");
            }
        }
    }

    /// Settings the server refuses on a mirror.
    pub(super) fn not_on_mirror(&mut self, spec: &StreamSpec) {
        let refused = [
            ("firstSequence", spec.first_sequence.is_some()),
            (
                "subjectDeleteMarkerTtl",
                spec.subject_delete_marker_ttl
                    .is_some_and(|ttl| ttl != Duration::ZERO),
            ),
            ("allowMsgCounter", is_true(spec.allow_msg_counter)),
            ("allowMsgSchedules", is_true(spec.allow_msg_schedules)),
            ("allowAtomic", is_true(spec.allow_atomic)),
            ("allowBatched", is_true(spec.allow_batched)),
        ];
        for (field, set) in refused {
            if set {
                self.error(at(field), format!("{field} cannot be set on a mirror: a mirror holds exactly what its origin holds"))
                    .help(format!("remove {field}, or remove mirror"));
            }
        }
    }

    pub(super) fn stream_subject_transform(&mut self, transform: &SubjectTransform) {
        self.transform(
            &at("subjectTransform"),
            transform.source.as_deref(),
            &transform.destination,
        );
    }
}

fn retention_name(retention: RetentionPolicy) -> &'static str {
    match retention {
        RetentionPolicy::Limits => "limits",
        RetentionPolicy::Interest => "interest",
        RetentionPolicy::Workqueue => "workqueue",
    }
}

fn discard_name(discard: DiscardPolicy) -> &'static str {
    match discard {
        DiscardPolicy::Old => "old",
        DiscardPolicy::New => "new",
    }
}
