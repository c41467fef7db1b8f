//! Read access to a live JSON config, with the server's spellings of
//! "unset" read as `None`.

use serde_json::{Map, Value};

use crate::spec::common::Metadata;
use crate::spec::names;
use crate::spec::units::{Duration, Size};

/// Read access to one JSON config object, turning the server's spellings of
/// "unset" (`0`, `-1`, `""`, `false`, `[]`, `{}`, absent) into `None`.
pub(super) struct Fields<'a>(Option<&'a Map<String, Value>>);

impl<'a> Fields<'a> {
    pub(super) fn of(config: &'a Value) -> Self {
        Self(config.as_object())
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.0?.get(key).filter(|value| !value.is_null())
    }

    pub(super) fn nested(&self, key: &str) -> Option<Fields<'a>> {
        self.get(key)
            .and_then(Value::as_object)
            .filter(|map| !map.is_empty())
            .map(|map| Fields(Some(map)))
    }

    pub(super) fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.0.into_iter().flatten()
    }

    pub(super) fn text(&self, key: &str) -> Option<&'a str> {
        self.get(key)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
    }

    pub(super) fn string(&self, key: &str) -> Option<String> {
        self.text(key).map(str::to_string)
    }

    /// `Some(true)` when the flag is on; off is the default of every flag.
    pub(super) fn flag(&self, key: &str) -> Option<bool> {
        self.get(key)
            .and_then(Value::as_bool)
            .filter(|on| *on)
            .map(|_| true)
    }

    /// A positive integer; 0 and -1 are the server's "unset" and "unlimited".
    pub(super) fn positive(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Value::as_u64).filter(|n| *n > 0)
    }

    pub(super) fn positive_u32(&self, key: &str) -> Option<u32> {
        self.positive(key).and_then(|n| u32::try_from(n).ok())
    }

    pub(super) fn duration(&self, key: &str) -> Option<Duration> {
        self.positive(key).map(Duration::from_nanos)
    }

    pub(super) fn size(&self, key: &str) -> Option<Size> {
        self.positive(key).map(Size::from_bytes)
    }

    pub(super) fn strings(&self, key: &str) -> Vec<String> {
        self.get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The user's metadata: the server's `_nats.*` keys and jetsync's own
    /// `jetsync.dev/*` markers are left out.
    pub(super) fn metadata(&self) -> Metadata {
        self.nested("metadata")
            .map(|metadata| {
                metadata
                    .entries()
                    .filter(|(key, _)| {
                        !names::RESERVED_METADATA_PREFIXES
                            .iter()
                            .any(|(prefix, _)| key.starts_with(prefix))
                    })
                    .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }
}
