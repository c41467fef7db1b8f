//! The spec's enums read back from the spellings of a live config. The
//! spellings are taken from what [`wire`] writes for each variant, so each
//! is written down once, in `wire`.

use std::sync::LazyLock;

use serde_json::Value;

use crate::plan::wire;
use crate::spec::common::{Compression, DiscardPolicy, PersistMode, RetentionPolicy, StorageType};
use crate::spec::consumer::{AckPolicy, DeliverPolicy, PriorityPolicy, ReplayPolicy};
use crate::spec::{ConsumerSpec, StreamSpec};

/// Each of `variants` with the spelling of `field` in the config `write`
/// makes for it.
fn spelled<T: Copy>(variants: &[T], field: &str, write: impl Fn(T) -> Value) -> Vec<(String, T)> {
    variants
        .iter()
        .map(|&variant| {
            let config = write(variant);
            let spelling = config.get(field).and_then(Value::as_str);
            let spelling = spelling.unwrap_or_else(|| panic!("wire writes {field} as a string"));
            (spelling.to_string(), variant)
        })
        .collect()
}

fn read<T: Copy>(spellings: &[(String, T)], text: &str) -> Option<T> {
    spellings
        .iter()
        .find(|(spelling, _)| spelling == text)
        .map(|(_, variant)| *variant)
}

/// `fn $field(text) -> Option<$enum>`: the variant `wire::$write` spells
/// `text` in the JSON field `$field` (named as the spec field), every
/// variant listed (the compiler checks that none is missing).
macro_rules! read_back {
    ($field:ident: $enum:ident { $($variant:ident),+ } from $spec:ident by $write:path) => {
        pub(super) fn $field(text: &str) -> Option<$enum> {
            fn _every_variant_is_listed(variant: $enum) {
                match variant {
                    $($enum::$variant)|+ => {}
                }
            }
            static SPELLINGS: LazyLock<Vec<(String, $enum)>> = LazyLock::new(|| {
                spelled(&[$($enum::$variant),+], stringify!($field), |variant| {
                    $write("", &$spec { $field: Some(variant), ..$spec::default() })
                })
            });
            read(&SPELLINGS, text)
        }
    };
}

read_back!(storage: StorageType { File, Memory } from StreamSpec by wire::stream_config);
read_back!(retention: RetentionPolicy { Limits, Interest, Workqueue } from StreamSpec by wire::stream_config);
read_back!(discard: DiscardPolicy { Old, New } from StreamSpec by wire::stream_config);
read_back!(compression: Compression { None, S2 } from StreamSpec by wire::stream_config);
read_back!(persist_mode: PersistMode { Default, Async } from StreamSpec by wire::stream_config);
read_back!(deliver_policy: DeliverPolicy {
    All, Last, New, ByStartSequence, ByStartTime, LastPerSubject
} from ConsumerSpec by wire::consumer_config);
read_back!(ack_policy: AckPolicy { None, All, Explicit, FlowControl } from ConsumerSpec by wire::consumer_config);
read_back!(replay_policy: ReplayPolicy { Instant, Original } from ConsumerSpec by wire::consumer_config);
read_back!(priority_policy: PriorityPolicy {
    None, Overflow, PinnedClient, Prioritized
} from ConsumerSpec by wire::consumer_config);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_spellings_read_back_as_the_variants_wire_writes_them_for() {
        assert_eq!(storage("memory"), Some(StorageType::Memory));
        assert_eq!(retention("workqueue"), Some(RetentionPolicy::Workqueue));
        assert_eq!(discard("new"), Some(DiscardPolicy::New));
        assert_eq!(compression("s2"), Some(Compression::S2));
        assert_eq!(persist_mode("async"), Some(PersistMode::Async));
        assert_eq!(
            deliver_policy("by_start_time"),
            Some(DeliverPolicy::ByStartTime)
        );
        assert_eq!(ack_policy("flow_control"), Some(AckPolicy::FlowControl));
        assert_eq!(replay_policy("original"), Some(ReplayPolicy::Original));
        assert_eq!(
            priority_policy("pinned_client"),
            Some(PriorityPolicy::PinnedClient)
        );
    }

    #[test]
    fn spellings_the_server_does_not_use_read_as_nothing() {
        assert_eq!(storage("Memory"), None);
        assert_eq!(ack_policy("flowControl"), None);
        assert_eq!(deliver_policy(""), None);
    }
}
