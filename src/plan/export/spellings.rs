//! The spec's enums read back from the spellings of a live config. The
//! spellings are those [`wire`] maps each variant to, so each is written
//! down once, in the wire model.

use crate::plan::wire;
use crate::spec::common::{Compression, DiscardPolicy, PersistMode, RetentionPolicy, StorageType};
use crate::spec::consumer::{AckPolicy, DeliverPolicy, PriorityPolicy, ReplayPolicy};

/// `fn $field(text) -> Option<$enum>`: the variant `wire::$field` spells
/// `text`, every variant listed (the compiler checks that none is missing).
macro_rules! read_back {
    ($field:ident: $enum:ident { $($variant:ident),+ }) => {
        pub(super) fn $field(text: &str) -> Option<$enum> {
            fn _every_variant_is_listed(variant: $enum) {
                match variant {
                    $($enum::$variant)|+ => {}
                }
            }
            [$($enum::$variant),+]
                .into_iter()
                .find(|&variant| wire::$field(variant).spelling() == text)
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
