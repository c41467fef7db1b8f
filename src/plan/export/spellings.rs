//! The spec's enums read back from the wire model's enums of a live config.
//! Each is the variant [`wire`] maps to it, so the mapping is written down
//! once, in [`wire`]; a spelling the spec has no variant for (the wire
//! enum's `Other`) reads as nothing.

use crate::plan::wire;
use crate::spec::common::{Compression, DiscardPolicy, PersistMode, RetentionPolicy, StorageType};
use crate::spec::consumer::{AckPolicy, DeliverPolicy, PriorityPolicy, ReplayPolicy};

/// `fn $field(&wire::model::$enum) -> Option<$enum>`: the variant
/// `wire::$field` maps to that value, every variant listed (the compiler
/// checks that none is missing).
macro_rules! read_back {
    ($field:ident: $enum:ident { $($variant:ident),+ }) => {
        pub(super) fn $field(value: &wire::model::$enum) -> Option<$enum> {
            fn _every_variant_is_listed(variant: $enum) {
                match variant {
                    $($enum::$variant)|+ => {}
                }
            }
            [$($enum::$variant),+]
                .into_iter()
                .find(|&variant| wire::$field(variant) == *value)
        }
    };
}

read_back!(storage: StorageType { File, Memory });
read_back!(retention: RetentionPolicy { Limits, Interest, Workqueue });
read_back!(discard: DiscardPolicy { Old, New });
read_back!(compression: Compression { None, S2 });
read_back!(persist_mode: PersistMode { Default, Async });
read_back!(deliver_policy: DeliverPolicy {
    All, Last, New, ByStartSequence, ByStartTime, LastPerSubject
});
read_back!(ack_policy: AckPolicy { None, All, Explicit, FlowControl });
read_back!(replay_policy: ReplayPolicy { Instant, Original });
read_back!(priority_policy: PriorityPolicy {
    None, Overflow, PinnedClient, Prioritized
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::wire::model;

    /// `$field(&wire::model::$enum::$variant)` is the spec's `$enum::$variant`.
    macro_rules! assert_reads_back {
        ($($field:ident: $enum:ident::$variant:ident),+ $(,)?) => {
            $(assert_eq!($field(&model::$enum::$variant), Some($enum::$variant));)+
        };
    }

    #[test]
    fn the_servers_spellings_read_back_as_the_variants_wire_writes_them_for() {
        assert_reads_back!(
            storage: StorageType::Memory,
            retention: RetentionPolicy::Workqueue,
            discard: DiscardPolicy::New,
            compression: Compression::S2,
            persist_mode: PersistMode::Async,
            deliver_policy: DeliverPolicy::ByStartTime,
            ack_policy: AckPolicy::FlowControl,
            replay_policy: ReplayPolicy::Original,
            priority_policy: PriorityPolicy::PinnedClient,
        );
    }

    #[test]
    fn spellings_the_server_does_not_use_read_as_nothing() {
        assert_eq!(storage(&model::StorageType::from_spelling("Memory")), None);
        assert_eq!(
            ack_policy(&model::AckPolicy::from_spelling("flowControl")),
            None
        );
        assert_eq!(
            deliver_policy(&model::DeliverPolicy::from_spelling("")),
            None
        );
    }
}
