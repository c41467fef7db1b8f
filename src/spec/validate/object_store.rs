//! The rules of an `ObjectStore`.

use super::*;
use crate::spec::names;
use crate::spec::object_store::ObjectStoreSpec;

impl Checker {
    pub(super) fn object_store(&mut self, object_name: &str, spec: &ObjectStoreSpec) {
        self.jetstream_name(
            object_name,
            spec.name.as_deref(),
            names::check_bucket_name,
            "bucket",
        );
        self.bucket_stream_name_length(object_name, spec.name.as_deref(), "OBJ_");
        self.description(spec.description.as_deref());
        self.metadata(&spec.metadata);
        self.connection(spec.connection.as_deref());
        self.ignore_fields::<ObjectStoreSpec>(&spec.ignore_fields);
        self.placement(spec.placement.as_ref());
        self.replicas(
            spec.replicas,
            "set replicas to a number from 1 to 5, or leave it out for 1",
        );
        self.at_least(
            "ttl",
            spec.ttl,
            MIN_AGE,
            "leave ttl out for objects that never expire",
        );
    }
}
