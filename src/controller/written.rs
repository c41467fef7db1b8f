//! What the controller last wrote to each resource. The watch brings a
//! write back a moment later; a reconcile that starts before it does (an
//! advisory, a stream's readiness, the re-check) works from the object as
//! written instead of the older one the store still holds, so that it
//! neither writes the same status again nor tells an Event twice.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::Resource;

/// The objects the API server returned for the controller's writes, until
/// the watch has brought them back.
#[derive(Default)]
pub struct Written {
    objects: Mutex<HashMap<String, Arc<dyn Any + Send + Sync>>>,
}

impl Written {
    /// `written` is what the API server returned for a write to `key`.
    pub fn remember<K: Resource + Send + Sync + 'static>(&self, key: &str, written: K) {
        self.lock().insert(key.to_string(), Arc::new(written));
    }

    /// The newer of `handed` (from the watch) and what was written to
    /// `key`; once the watch has caught up, the written copy is dropped.
    pub fn freshest<K: Resource + Clone + Send + Sync + 'static>(
        &self,
        key: &str,
        handed: Arc<K>,
    ) -> Arc<K> {
        let mut objects = self.lock();
        let Some(written) = objects
            .get(key)
            .and_then(|object| object.clone().downcast::<K>().ok())
        else {
            return handed;
        };
        let same_object = written.meta().uid == handed.meta().uid;
        if same_object && version(written.as_ref()) > version(handed.as_ref()) {
            return written;
        }
        objects.remove(key);
        handed
    }

    /// Forgets `key` (its resource is gone).
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Objects held (written, not yet brought back by the watch).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no object is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<dyn Any + Send + Sync>>> {
        self.objects.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The resource version as a number (the API server's are etcd revisions;
/// an unreadable one orders first, so that the watch's object wins).
fn version<K: Resource>(object: &K) -> u64 {
    object
        .meta()
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Stream;
    use crate::spec::StreamSpec;

    fn stream(version: &str, message: &str) -> Stream {
        let mut stream = Stream::new("orders", StreamSpec::default());
        stream.metadata.uid = Some("uid-1".into());
        stream.metadata.resource_version = Some(version.into());
        stream.spec.description = Some(message.into());
        stream
    }

    #[test]
    fn a_write_the_watch_has_not_brought_back_is_read_instead_of_the_older_object() {
        let written = Written::default();
        written.remember("k", stream("12", "written"));

        let fresh = written.freshest("k", Arc::new(stream("11", "watched")));

        assert_eq!(fresh.spec.description.as_deref(), Some("written"));
        assert_eq!(written.len(), 1);
    }

    #[test]
    fn once_the_watch_caught_up_its_object_is_read_and_the_copy_dropped() {
        let written = Written::default();
        written.remember("k", stream("12", "written"));

        let fresh = written.freshest("k", Arc::new(stream("12", "watched")));

        assert_eq!(fresh.spec.description.as_deref(), Some("watched"));
        assert!(written.is_empty());
    }

    #[test]
    fn a_recreated_resource_never_reads_its_predecessor() {
        let written = Written::default();
        written.remember("k", stream("12", "written"));
        let mut recreated = stream("5", "new");
        recreated.metadata.uid = Some("uid-2".into());

        let fresh = written.freshest("k", Arc::new(recreated));

        assert_eq!(fresh.spec.description.as_deref(), Some("new"));
    }
}
