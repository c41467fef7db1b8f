//! Kubernetes `metadata.name`s for JetStream names.

use std::collections::BTreeMap;

use crate::plan::model::AssetKind;
use crate::spec::names::MAX_OBJECT_NAME_BYTES;

/// FNV-1a: a short hash that is the same on every platform and release.
pub(super) fn short_hash(text: &str) -> String {
    let hash = text.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    format!("{hash:08x}")
}

/// `base` with `-<suffix>` appended, cut so the result fits in a Kubernetes name.
fn with_suffix(base: &str, suffix: &str) -> String {
    let room = MAX_OBJECT_NAME_BYTES - suffix.len() - 1;
    let base = base[..base.len().min(room)].trim_end_matches('-');
    if base.is_empty() {
        suffix.to_string()
    } else {
        format!("{base}-{suffix}")
    }
}

/// A valid Kubernetes `metadata.name` (DNS-1123 subdomain) for an asset with
/// this JetStream name: lowercased, every character other than a letter or
/// digit (`_` included) replaced by `-`, dashes trimmed from both ends.
/// Deterministic; a name that had to be cut to 253 bytes, or had nothing
/// usable in it, ends in a hash of the original so that it stays distinct.
pub fn object_name(jetstream_name: &str) -> String {
    let mut name = String::with_capacity(jetstream_name.len());
    for character in jetstream_name.chars() {
        let character = character.to_ascii_lowercase();
        let keep = character.is_ascii_lowercase() || character.is_ascii_digit();
        name.push(if keep { character } else { '-' });
    }
    let name = name.trim_matches('-');
    if name.is_empty() {
        return format!("asset-{}", short_hash(jetstream_name));
    }
    if name.len() > MAX_OBJECT_NAME_BYTES {
        return with_suffix(name, &short_hash(jetstream_name));
    }
    name.to_string()
}

/// The `metadata.name` of a consumer: its stream's and its own name,
/// `<stream>-<consumer>`, made valid by [`object_name`].
pub fn consumer_object_name(stream: &str, consumer: &str) -> String {
    object_name(&format!("{stream}-{consumer}"))
}

/// The `metadata.name` of each `(kind, name)`: [`object_name`], except that
/// when several assets of one kind map to the same name, only one whose name
/// already is that name keeps it and the others get a hash of their name
/// appended.
pub(super) fn unique_object_names<'a>(
    assets: impl Iterator<Item = (AssetKind, &'a str)> + Clone,
) -> Vec<String> {
    let mut users: BTreeMap<(AssetKind, String), usize> = BTreeMap::new();
    for (kind, name) in assets.clone() {
        *users.entry((kind, object_name(name))).or_default() += 1;
    }
    assets
        .map(|(kind, name)| {
            let base = object_name(name);
            if users[&(kind, base.clone())] == 1 || base == name {
                base
            } else {
                with_suffix(&base, &short_hash(name))
            }
        })
        .collect()
}
