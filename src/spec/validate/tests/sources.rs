//! Mirrors and sources.

use super::*;

#[test]
fn source_names_must_be_stream_names() {
    assert_refused(
        &sourcing(origin("orders.eu")).problems(),
        "spec.sources[0].name",
    );
    assert_clean(&sourcing(origin("ORDERS_EU")).problems());
}

#[test]
fn source_filter_subject_with_subject_transforms_is_refused() {
    let filtered = StreamSource {
        filter_subject: Some("orders.>".into()),
        ..origin("ORDERS")
    };
    let both = StreamSource {
        subject_transforms: vec![transform(Some("orders.>"), "eu.orders.>")],
        ..filtered.clone()
    };
    assert_refused(&sourcing(both).problems(), "spec.sources[0].filterSubject");
    assert_clean(&sourcing(filtered).problems());
}

#[test]
fn source_filter_subject_must_be_valid() {
    let filtered = |filter: &str| {
        sourcing(StreamSource {
            filter_subject: Some(filter.into()),
            ..origin("ORDERS")
        })
    };
    assert_refused(
        &filtered("orders.>.eu").problems(),
        "spec.sources[0].filterSubject",
    );
    assert_clean(&filtered("orders.*.eu").problems());
}

#[test]
fn source_transforms_must_be_valid_and_disjoint() {
    let transformed = |transforms| {
        sourcing(StreamSource {
            subject_transforms: transforms,
            ..origin("ORDERS")
        })
    };
    let path = "spec.sources[0].subjectTransforms";
    let star = transformed(vec![transform(Some("orders.*"), "eu.*")]);
    assert_refused(&star.problems(), &format!("{path}[0].destination"));
    let overlapping = transformed(vec![
        transform(Some("orders.>"), ""),
        transform(Some("orders.new"), ""),
    ]);
    assert_refused(&overlapping.problems(), &format!("{path}[1].source"));
    let disjoint = transformed(vec![
        transform(Some("orders.*"), "eu.orders.{{wildcard(1)}}"),
        transform(Some("returns.>"), ""),
    ]);
    assert_clean(&disjoint.problems());
}

#[test]
fn source_start_sequence_with_start_time_is_refused() {
    let from_sequence = StreamSource {
        opt_start_seq: Some(10),
        ..origin("ORDERS")
    };
    let both = StreamSource {
        opt_start_time: Some("2025-01-31T12:00:00Z".into()),
        ..from_sequence.clone()
    };
    assert_refused(&sourcing(both).problems(), "spec.sources[0].optStartTime");
    assert_clean(&sourcing(from_sequence).problems());
}

#[test]
fn source_start_time_must_be_rfc_3339() {
    let from_time = |time: &str| {
        sourcing(StreamSource {
            opt_start_time: Some(time.into()),
            ..origin("ORDERS")
        })
    };
    assert_refused(
        &from_time("yesterday").problems(),
        "spec.sources[0].optStartTime",
    );
    assert_clean(&from_time("2025-01-31T12:00:00.5+01:00").problems());
}

#[test]
fn repeated_sources_are_refused() {
    let twice = |second| stream().with(|spec| spec.sources = vec![origin("ORDERS"), second]);
    assert_refused(&twice(origin("ORDERS")).problems(), "spec.sources[1]");
    let narrower = StreamSource {
        filter_subject: Some("orders.eu.>".into()),
        ..origin("ORDERS")
    };
    assert_clean(&twice(narrower).problems());
}

#[test]
fn external_api_prefix_must_be_another_jetstream() {
    let external = |prefix: &str| {
        sourcing(StreamSource {
            external: Some(ExternalStream {
                api_prefix: prefix.into(),
                deliver_prefix: None,
            }),
            ..origin("ORDERS")
        })
    };
    let path = "spec.sources[0].external.apiPrefix";
    assert_refused(&external("$JS.API").problems(), path);
    assert_refused(&external("$JS.*.API").problems(), path);
    assert_clean(&external("$JS.hub.API").problems());
}

#[test]
fn durable_origin_consumer_needs_a_deliver_subject_and_no_start_or_filter() {
    let durable = |deliver_subject: Option<&str>, filter: Option<&str>| {
        sourcing(StreamSource {
            filter_subject: filter.map(Into::into),
            consumer: Some(SourceConsumer {
                name: "sourcing".into(),
                deliver_subject: deliver_subject.map(Into::into),
            }),
            ..origin("ORDERS")
        })
    };
    let path = "spec.sources[0]";
    assert_refused(&durable(None, None).problems(), &format!("{path}.consumer"));
    let wildcard = durable(Some("deliver.*"), None);
    assert_refused(
        &wildcard.problems(),
        &format!("{path}.consumer.deliverSubject"),
    );
    let filtered = durable(Some("deliver.sourcing"), Some("orders.>"));
    assert_refused(&filtered.problems(), &format!("{path}.filterSubject"));
    assert_clean(&durable(Some("deliver.sourcing"), None).problems());
}

#[test]
fn mirror_name_and_filters_are_checked_like_sources() {
    assert_refused(&mirror_of("a b").problems(), "spec.mirror.name");
    let both_filters = mirror_of("ORDERS").with(|spec| {
        let mirror = spec.mirror.as_mut().unwrap();
        mirror.filter_subject = Some("orders.>".into());
        mirror.subject_transforms = vec![transform(Some("orders.>"), "")];
    });
    assert_refused(&both_filters.problems(), "spec.mirror.filterSubject");
    assert_clean(&mirror_of("ORDERS").problems());
}
