//! Rules shared by several kinds: names, descriptions, metadata, replicas,
//! placement, limits, subjects and filters, transforms, republishing, and
//! the mirrors and sources of streams and buckets.

use std::collections::HashMap;

use super::*;
use crate::spec::common::{Metadata, Placement, Republish, StreamSource};
use crate::spec::names::{self, SubjectUse, quoted};
use crate::spec::path::FieldPath;
use crate::spec::units::{Duration, Size};

impl Checker {
    /// The JetStream name: `spec.name`, or metadata.name when that is absent.
    pub(super) fn jetstream_name(
        &mut self,
        object_name: &str,
        explicit: Option<&str>,
        check: NameCheck,
        what: &str,
    ) {
        match explicit {
            Some(name) => {
                if let Err(message) = check(name) {
                    self.error(at("name"), message).help(format!(
                        "spec.name is the {what} name in JetStream; pick a valid {what} name"
                    ));
                }
            }
            None => {
                if let Err(message) = check(object_name) {
                    self.error(object_name_path(), message).help(format!(
                        "spec.name is not set, so metadata.name is used as the {what} name; set spec.name to a valid {what} name"
                    ));
                }
            }
        }
    }

    /// A bucket's backing stream `<prefix><bucket>` must fit the stream name limit.
    pub(super) fn bucket_stream_name_length(
        &mut self,
        object_name: &str,
        explicit: Option<&str>,
        prefix: &str,
    ) {
        let (name, path) = match explicit {
            Some(name) => (name, at("name")),
            None => (object_name, object_name_path()),
        };
        let longest = names::MAX_NAME_BYTES - prefix.len();
        if name.len() > longest {
            self.error(
                path,
                format!(
                    "the bucket name {} is {} bytes long; its stream `{prefix}…` must fit in {} bytes, so bucket names are at most {longest}",
                    quoted(name),
                    name.len(),
                    names::MAX_NAME_BYTES
                ),
            )
            .help("pick a shorter bucket name");
        }
    }

    pub(super) fn connection(&mut self, connection: Option<&str>) {
        if let Some(connection) = connection
            && let Err(message) = names::check_object_name(connection)
        {
            self.error(at("connection"), message)
                .help("connection names a NatsConnection by its metadata.name");
        }
    }

    pub(super) fn description(&mut self, description: Option<&str>) {
        if let Some(description) = description
            && description.len() > MAX_DESCRIPTION_BYTES
        {
            self.error(
                at("description"),
                format!(
                    "description is {} bytes long; JetStream accepts at most {MAX_DESCRIPTION_BYTES}",
                    description.len()
                ),
            )
            .help("shorten the description");
        }
    }

    /// `spec.ignoreFields` names JetStream config fields of the kind.
    pub(super) fn ignore_fields<T: schemars::JsonSchema>(&mut self, fields: &[String]) {
        if fields.is_empty() {
            return;
        }
        let known = config_fields::<T>();
        for (index, field) in fields.iter().enumerate() {
            if !known.contains(field) {
                self.error(
                    at("ignoreFields").index(index),
                    format!("{} is not a config field of this kind", quoted(field)),
                )
                .help(format!(
                    "name top-level spec fields such as {}",
                    known
                        .iter()
                        .take(3)
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }

    pub(super) fn metadata(&mut self, metadata: &Metadata) {
        for key in metadata.keys() {
            if let Err(message) = names::check_metadata_key(key) {
                self.error(at("metadata").field(key), message).help(
                    "remove this key; pick a key of your own, e.g. `team` or `example.com/owner`",
                );
            }
        }
        let total: usize = metadata
            .iter()
            .map(|(key, value)| key.len() + value.len())
            .sum();
        if total > MAX_METADATA_BYTES {
            self.error(
                at("metadata"),
                format!(
                    "metadata keys and values add up to {total} bytes; JetStream accepts at most {MAX_METADATA_BYTES} (128KiB)"
                ),
            )
            .help("store less in metadata");
        }
    }

    pub(super) fn replicas(&mut self, replicas: Option<u32>, zero_help: &str) {
        match replicas {
            Some(0) => {
                self.error(at("replicas"), "replicas is 0")
                    .help(zero_help.to_string());
            }
            Some(count) if count > MAX_REPLICAS => {
                self.error(
                    at("replicas"),
                    format!(
                        "replicas is {count}, but JetStream keeps 1 to {MAX_REPLICAS} replicas"
                    ),
                )
                .help(format!("set replicas to a number from 1 to {MAX_REPLICAS}"));
            }
            _ => {}
        }
    }

    pub(super) fn placement(&mut self, placement: Option<&Placement>) {
        let Some(placement) = placement else { return };
        if placement
            .cluster
            .as_deref()
            .is_some_and(|cluster| cluster.trim().is_empty())
        {
            self.error(
                at("placement").field("cluster"),
                "placement.cluster is empty",
            )
            .help("name the cluster, or leave cluster out");
        }
        for (index, tag) in placement.tags.iter().enumerate() {
            if tag.trim().is_empty() {
                self.error(
                    at("placement").field("tags").index(index),
                    "the placement tag is empty",
                )
                .help("remove the empty tag");
            }
        }
    }

    /// A duration that must be at least `minimum` when set; 0 is refused with
    /// `zero_help` (the server reads 0 as "unset").
    pub(super) fn at_least(
        &mut self,
        field: &'static str,
        value: Option<Duration>,
        minimum: Duration,
        zero_help: &str,
    ) {
        match value {
            Some(value) if value == Duration::ZERO => {
                self.error(at(field), format!("{field} is 0s"))
                    .help(zero_help.to_string());
            }
            Some(value) if value < minimum => {
                self.error(
                    at(field),
                    format!("{field} is {value}, but JetStream needs at least {minimum}"),
                )
                .help(format!("set {field} to {minimum} or more"));
            }
            _ => {}
        }
    }

    pub(super) fn message_size_limit(&mut self, field: &'static str, size: Option<Size>) {
        if let Some(size) = size
            && size.bytes() > MAX_MSG_SIZE_BYTES
        {
            self.error(
                at(field),
                format!(
                    "{field} is {size} ({} bytes); JetStream's limit is at most {MAX_MSG_SIZE_BYTES} bytes (just under 2GiB)",
                    size.bytes()
                ),
            )
            .help(format!("lower {field}, or leave it out for no limit"));
        }
    }

    pub(super) fn rfc3339(&mut self, path: FieldPath, field: &str, value: Option<&str>) {
        if let Some(value) = value
            && !rfc3339_is_valid(value)
        {
            self.error(
                path,
                format!("{field} {} is not an RFC 3339 timestamp", quoted(value)),
            )
            .help("write it like `2025-01-31T12:00:00Z` or `2025-01-31T13:00:00+01:00`");
        }
    }

    /// A subject; returns whether it is valid.
    pub(super) fn subject(&mut self, path: FieldPath, subject: &str, usage: SubjectUse) -> bool {
        match names::check_subject(subject, usage) {
            Ok(()) => true,
            Err(message) => {
                let help = match usage {
                    SubjectUse::Filter => {
                        "write subjects as `.`-separated tokens; `*` matches one token and `>` the rest, e.g. `orders.*.created` or `orders.>`"
                    }
                    SubjectUse::Publish => {
                        "write one exact subject of `.`-separated tokens, without `*` or `>`"
                    }
                };
                self.error(path, message).help(help);
                false
            }
        }
    }

    /// A list of filters: each valid, none repeated, none overlapping another
    /// (`collide` decides what counts as overlapping).
    pub(super) fn filter_list(
        &mut self,
        path: &FieldPath,
        subjects: &[String],
        collide: fn(&str, &str) -> bool,
        what: &str,
    ) {
        // Two subjects without wildcards overlap only when equal, which the
        // repeat check finds; so a plain subject is compared with the earlier
        // wildcard subjects only, and long lists of plain subjects stay linear.
        let mut first_at: HashMap<&str, usize> = HashMap::with_capacity(subjects.len());
        let mut earlier: Vec<(usize, &str)> = Vec::with_capacity(subjects.len());
        let mut earlier_wildcards: Vec<(usize, &str)> = Vec::new();
        for (index, subject) in subjects.iter().enumerate() {
            let subject_path = path.index(index);
            if !self.subject(subject_path.clone(), subject, SubjectUse::Filter) {
                continue;
            }
            if let Some(first) = first_at.get(subject.as_str()) {
                self.error(
                    subject_path,
                    format!(
                        "{} is listed twice (also at {})",
                        quoted(subject),
                        path.index(*first)
                    ),
                )
                .help("remove one of them");
                continue;
            }
            first_at.insert(subject, index);
            let wildcard = has_wildcard(subject);
            let candidates = if wildcard {
                &earlier
            } else {
                &earlier_wildcards
            };
            let overlapping = if self.spend_comparisons(path, candidates.len()) {
                candidates
                    .iter()
                    .find(|(_, other)| collide(other, subject))
                    .copied()
            } else {
                None
            };
            earlier.push((index, subject));
            if wildcard {
                earlier_wildcards.push((index, subject));
            }
            if let Some((other_index, other)) = overlapping {
                self.error(
                    subject_path,
                    format!(
                        "{} overlaps {} ({}); {what}",
                        quoted(subject),
                        quoted(other),
                        path.index(other_index)
                    ),
                )
                .help("keep only the wider subject, or make them disjoint");
            }
        }
    }

    /// Takes `count` overlap comparisons from the document's allowance; false
    /// (after one warning) once it is spent, so that a list of many thousand
    /// wildcard subjects cannot make validation take minutes.
    pub(super) fn spend_comparisons(&mut self, path: &FieldPath, count: usize) -> bool {
        if self.comparisons_spent > MAX_OVERLAP_COMPARISONS {
            return false;
        }
        self.comparisons_spent += count;
        if self.comparisons_spent > MAX_OVERLAP_COMPARISONS {
            self.warning(
                path.clone(),
                format!("too many wildcard subjects to check every pair for overlaps; jetsync stopped after {MAX_OVERLAP_COMPARISONS} comparisons"),
            )
            .help("the server checks the rest when the change is applied; fewer, wider wildcard subjects are easier to reason about");
            return false;
        }
        true
    }

    /// A subject transform at `path`: a valid source and a destination the source can map to.
    pub(super) fn transform(&mut self, path: &FieldPath, source: Option<&str>, destination: &str) {
        if let Some(source) = source
            && !self.subject(path.field("source"), source, SubjectUse::Filter)
        {
            return;
        }
        if let Err(message) = names::check_subject_mapping(source, destination) {
            self.error(path.field("destination"), message).help(
                "refer to the source's `*` wildcards with `{{wildcard(1)}}`, `{{wildcard(2)}}`, …, and end the destination in `>` exactly when the source does",
            );
        }
    }

    /// `republish`: valid subjects, and no loop back into `stored_subjects`.
    pub(super) fn republish(
        &mut self,
        republish: &Republish,
        stored_subjects: &[String],
        exempt_from_cycle: bool,
    ) {
        let path = at("republish");
        if republish.destination.trim().is_empty() {
            self.error(path.field("destination"), "republish.destination is empty")
                .help("name the subject to republish to, e.g. `archive.>`");
            return;
        }
        let errors_before = self.problems.len();
        self.transform(&path, republish.source.as_deref(), &republish.destination);
        if self.problems.len() > errors_before || exempt_from_cycle {
            return;
        }
        if let Some(subject) = stored_subjects
            .iter()
            .find(|subject| names::subjects_collide(&republish.destination, subject))
        {
            self.error(
                path.field("destination"),
                format!(
                    "republishing to {} would publish into {}, which this stream stores: a loop",
                    quoted(&republish.destination),
                    quoted(subject)
                ),
            )
            .help("republish to a subject outside the stream's subjects");
        }
    }

    /// A mirror or one of the sources.
    pub(super) fn source(
        &mut self,
        path: &FieldPath,
        source: &StreamSource,
        origin: Origin,
        is_mirror: bool,
    ) {
        let (check, what): (NameCheck, &str) = match origin {
            Origin::Stream => (names::check_stream_name, "stream"),
            Origin::Bucket => (names::check_bucket_name, "bucket"),
        };
        if let Err(message) = check(&source.name) {
            self.error(path.field("name"), message)
                .help(format!("name the origin {what} by its JetStream name"));
        }
        if source.opt_start_seq.is_some() && source.opt_start_time.is_some() {
            self.error(
                path.field("optStartTime"),
                "optStartSeq and optStartTime are both set; copying can start at a sequence or at a time, not both",
            )
            .help("keep one of optStartSeq and optStartTime");
        }
        self.rfc3339(
            path.field("optStartTime"),
            "optStartTime",
            source.opt_start_time.as_deref(),
        );
        if let Some(filter) = &source.filter_subject {
            self.subject(path.field("filterSubject"), filter, SubjectUse::Filter);
            if !source.subject_transforms.is_empty() {
                self.error(
                    path.field("filterSubject"),
                    "filterSubject and subjectTransforms are both set; the server takes one or the other",
                )
                .help("move the filter into subjectTransforms as an entry with only `source`");
            }
        }
        let mut transform_sources: Vec<Option<&str>> = Vec::new();
        for (index, transform) in source.subject_transforms.iter().enumerate() {
            let transform_path = path.field("subjectTransforms").index(index);
            let errors_before = self.problems.len();
            self.transform(
                &transform_path,
                transform.source.as_deref(),
                &transform.destination,
            );
            let transform_source = transform.source.as_deref().unwrap_or(">");
            if self.problems.len() > errors_before {
                transform_sources.push(None);
                continue;
            }
            let affordable =
                self.spend_comparisons(&path.field("subjectTransforms"), transform_sources.len());
            let overlapping = transform_sources
                .iter()
                .take(if affordable { usize::MAX } else { 0 })
                .enumerate()
                .find_map(|(other_index, other)| {
                    other
                        .filter(|other| {
                            if is_mirror {
                                names::subjects_collide(other, transform_source)
                            } else {
                                names::subject_is_subset(other, transform_source)
                                    || names::subject_is_subset(transform_source, other)
                            }
                        })
                        .map(|other| (other_index, other))
                });
            if let Some((other_index, other)) = overlapping {
                self.error(
                    transform_path.field("source"),
                    format!(
                        "the transform source {} overlaps {} (subjectTransforms[{other_index}])",
                        quoted(transform_source),
                        quoted(other)
                    ),
                )
                .help("make the transform sources disjoint");
            }
            transform_sources.push(Some(transform_source));
        }
        if let Some(external) = &source.external {
            let external_path = path.field("external");
            if self.subject(
                external_path.field("apiPrefix"),
                &external.api_prefix,
                SubjectUse::Publish,
            ) && names::subjects_collide(&external.api_prefix, "$JS.API")
            {
                self.error(
                    external_path.field("apiPrefix"),
                    format!(
                        "apiPrefix {} is this account's own JetStream API",
                        quoted(&external.api_prefix)
                    ),
                )
                .help("use the other domain's or account's prefix, e.g. `$JS.hub.API`");
            }
            if let Some(prefix) = &external.deliver_prefix {
                self.subject(
                    external_path.field("deliverPrefix"),
                    prefix,
                    SubjectUse::Publish,
                );
            }
        }
        if let Some(consumer) = &source.consumer {
            let consumer_path = path.field("consumer");
            if let Err(message) = names::check_consumer_name(&consumer.name) {
                self.error(consumer_path.field("name"), message)
                    .help("name the durable consumer on the origin");
            }
            match &consumer.deliver_subject {
                Some(subject) => {
                    self.subject(
                        consumer_path.field("deliverSubject"),
                        subject,
                        SubjectUse::Publish,
                    );
                }
                None => {
                    self.error(
                        consumer_path.clone(),
                        "a durable origin consumer needs deliverSubject",
                    )
                    .help(
                        "set consumer.deliverSubject to the subject the origin consumer pushes to",
                    );
                }
            }
            for (field, set) in [
                ("optStartSeq", source.opt_start_seq.is_some()),
                ("optStartTime", source.opt_start_time.is_some()),
                ("filterSubject", source.filter_subject.is_some()),
            ] {
                if set {
                    self.error(
                        path.field(field),
                        format!("{field} cannot be combined with a durable origin consumer, which decides where copying starts and what it copies"),
                    )
                    .help(format!("remove {field}, or remove consumer"));
                }
            }
        }
    }

    /// Sources: each valid, none repeating another (same origin, filter and transforms).
    pub(super) fn sources(&mut self, sources: &[StreamSource], origin: Origin) {
        let mut seen: HashMap<SourceIdentity, usize> = HashMap::new();
        for (index, source) in sources.iter().enumerate() {
            let path = at("sources").index(index);
            self.source(&path, source, origin, false);
            if let Some(first) = seen.get(&SourceIdentity::of(source)) {
                self.error(
                    path,
                    format!(
                        "this source repeats sources[{first}]: the same origin {} with the same filters",
                        quoted(&source.name)
                    ),
                )
                .help("remove the duplicate source");
            } else {
                seen.insert(SourceIdentity::of(source), index);
            }
        }
    }
}

/// What makes two sources the same to nats-server: origin, its API, the
/// origin consumer and the filters with their transforms.
#[derive(PartialEq, Eq, Hash)]
struct SourceIdentity {
    name: String,
    api_prefix: Option<String>,
    consumer: Option<String>,
    mappings: Vec<(String, String)>,
}

impl SourceIdentity {
    pub(super) fn of(source: &StreamSource) -> Self {
        let or_all = |subject: Option<&str>| match subject {
            None | Some("") => ">".to_string(),
            Some(subject) => subject.to_string(),
        };
        let mappings = if source.subject_transforms.is_empty() {
            vec![(or_all(source.filter_subject.as_deref()), ">".to_string())]
        } else {
            source
                .subject_transforms
                .iter()
                .map(|transform| {
                    (
                        or_all(transform.source.as_deref()),
                        or_all(Some(transform.destination.as_str())),
                    )
                })
                .collect()
        };
        Self {
            name: source.name.clone(),
            api_prefix: source
                .external
                .as_ref()
                .map(|external| external.api_prefix.clone()),
            consumer: source
                .consumer
                .as_ref()
                .map(|consumer| consumer.name.clone()),
            mappings,
        }
    }
}
