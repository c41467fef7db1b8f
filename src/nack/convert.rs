//! Writing decoded documents back out as jetsync manifests: what
//! `jetsync convert` prints for NACK documents (and passes through for
//! jetsync ones), one output per input file.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::manifest::Declared;
use crate::spec::{API_VERSION, AssetSpec};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata<'a>,
    spec: Spec<'a>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Spec<'a> {
    Stream(&'a crate::spec::StreamSpec),
    Consumer(&'a crate::spec::ConsumerSpec),
    KeyValue(&'a crate::spec::KeyValueSpec),
    ObjectStore(&'a crate::spec::ObjectStoreSpec),
    NatsConnection(&'a crate::spec::NatsConnectionSpec),
}

/// The documents as one multi-document jetsync manifest, in the order given.
/// With `adopt`, every asset says `adopt: true` (what the controller needs to
/// take over assets another tool made).
pub fn render_documents(documents: &[&Declared], adopt: bool) -> String {
    let adopted: Vec<Declared> = documents
        .iter()
        .map(|declared| {
            let mut declared = (*declared).clone();
            if adopt {
                set_adopt(&mut declared.spec);
            }
            declared
        })
        .collect();
    let documents: Vec<Document> = adopted
        .iter()
        .map(|declared| Document {
            api_version: API_VERSION,
            kind: declared.kind().as_str(),
            metadata: Metadata {
                name: &declared.metadata.name,
                namespace: declared.metadata.namespace.as_deref(),
                labels: &declared.metadata.labels,
                annotations: &declared.metadata.annotations,
            },
            spec: match &declared.spec {
                AssetSpec::Stream(spec) => Spec::Stream(spec),
                AssetSpec::Consumer(spec) => Spec::Consumer(spec),
                AssetSpec::KeyValue(spec) => Spec::KeyValue(spec),
                AssetSpec::ObjectStore(spec) => Spec::ObjectStore(spec),
                AssetSpec::NatsConnection(spec) => Spec::NatsConnection(spec),
            },
        })
        .collect();
    serde_saphyr::to_string_multiple(&documents)
        .expect("specs are plain data and always serialise to YAML")
}

fn set_adopt(spec: &mut AssetSpec) {
    let adopt = Some(true);
    match spec {
        AssetSpec::Stream(spec) => spec.adopt = adopt,
        AssetSpec::Consumer(spec) => spec.adopt = adopt,
        AssetSpec::KeyValue(spec) => spec.adopt = adopt,
        AssetSpec::ObjectStore(spec) => spec.adopt = adopt,
        AssetSpec::NatsConnection(_) => {}
    }
}
