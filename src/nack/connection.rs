//! NACK's connection settings as jetsync connection profiles: the inline
//! fields of an asset (`servers`, `creds`, `nkey`, `tls`, `tlsFirst`,
//! `jsDomain`: files in NACK's pod) and the `Account` kind (Secrets). Secrets
//! stay references: a file path or a Secret key, never a value.

use std::collections::BTreeMap;

use super::fields::Context;
use super::{Problems, entry, mapping};
use crate::manifest::Node;
use crate::manifest::node::NodeValue;
use crate::spec::path::FieldPath;

fn non_empty_text(node: &Node) -> Option<&str> {
    node.as_str().filter(|text| !text.is_empty())
}

/// `{file: PATH}` at the path's position.
fn file(path: &Node) -> Node {
    mapping(path.position, vec![entry("file", path.clone())])
}

/// `{secretRef: {name, key}}` when NACK reads a Secret, else `{file: KEY}`.
fn secret_or_file(secret: Option<&Node>, key: &Node) -> Node {
    match secret {
        Some(name) => mapping(
            key.position,
            vec![entry(
                "secretRef",
                mapping(
                    key.position,
                    vec![entry("name", name.clone()), entry("key", key.clone())],
                ),
            )],
        ),
        None => file(key),
    }
}

/// The connection profile an asset's inline fields make: named
/// `<kind>-<metadata.name>`, its spec fields. None when none is set (the
/// CRD's empty defaults count as unset).
pub(super) fn inline(
    context: &Context,
    kind: &str,
    later: &BTreeMap<&str, (&Node, FieldPath)>,
    problems: &mut Problems,
) -> Option<(String, Vec<(Node, Node)>)> {
    let get = |name: &str| later.get(name).map(|(node, path)| (*node, path));
    let mut spec = Vec::new();
    let mut tls = Vec::new();
    let mut auth = Vec::new();
    let mut first: Option<&FieldPath> = None;
    if let Some((node, path)) = get("servers")
        && matches!(&node.value, NodeValue::Sequence(items) if !items.is_empty())
    {
        spec.push(entry("servers", node.clone()));
        first.get_or_insert(path);
    }
    if let Some((node, path)) = get("jsDomain")
        && non_empty_text(node).is_some()
    {
        spec.push(entry("jsDomain", node.clone()));
        first.get_or_insert(path);
    }
    for field in ["creds", "nkey"] {
        if let Some((node, path)) = get(field)
            && non_empty_text(node).is_some()
        {
            auth.push(entry(field, file(node)));
            first.get_or_insert(path);
        }
    }
    if let Some((node, path)) = get("tls") {
        let value = |name: &str| node.get(name).filter(|n| non_empty_text(n).is_some());
        match node.get("rootCas").map(|n| &n.value) {
            Some(NodeValue::Sequence(cas)) if cas.len() == 1 => {
                tls.push(entry("ca", file(&cas[0])));
                first.get_or_insert(path);
            }
            Some(NodeValue::Sequence(cas)) if cas.len() > 1 => problems.error(
                &path.field("rootCas"),
                "jetsync's connection takes one CA file, NACK's `rootCas` lists several",
                "concatenate the CA certificates into one PEM file and name that one",
            ),
            _ => {}
        }
        match (value("clientCert"), value("clientKey")) {
            (Some(cert), Some(key)) => {
                tls.push(entry("cert", file(cert)));
                tls.push(entry("key", file(key)));
                first.get_or_insert(path);
            }
            (None, None) => {}
            _ => problems.warning(
                path,
                "NACK uses `clientCert` and `clientKey` only together; jetsync leaves the one given out",
                "give both, or neither",
            ),
        }
    }
    if let Some((node, path)) = get("tlsFirst")
        && matches!(node.value, NodeValue::Bool(true))
    {
        tls.push(entry("first", node.clone()));
        first.get_or_insert(path);
    }
    if !tls.is_empty() {
        spec.push(entry("tls", mapping(tls[0].1.position, tls)));
    }
    if !auth.is_empty() {
        spec.push(entry("auth", mapping(auth[0].1.position, auth)));
    }
    let first = first?.clone();
    let name = format!("{kind}-{}", context.object_name);
    if !spec.iter().any(|(key, _)| key.as_str() == Some("servers")) {
        problems.error(
            &first,
            NO_SERVERS,
            "add `servers:` with the URLs NACK was started with (its `--servers`)",
        );
    }
    if let Some((account, _)) = get("account")
        && non_empty_text(account).is_some()
    {
        problems.error(
            &first,
            "NACK lays these connection fields over the Account's; a jetsync document names one connection",
            "move the connection fields into the Account, or drop `account`",
        );
    }
    problems.note(
        &first,
        format!(
            "NACK's connection fields became NatsConnection `{name}`; its files are paths where jetsync runs (the CLI reads them relative to the manifest)"
        ),
    );
    Some((name, spec))
}

/// NACK's `Account` as a `NatsConnection` spec: Secret keys become
/// `secretRef`s, plain paths `file`s.
pub(super) fn account(entries: &[(Node, Node)], problems: &mut Problems) -> Vec<(Node, Node)> {
    let mut spec = Vec::new();
    let mut tls = Vec::new();
    let mut auth = Vec::new();
    for (key, value) in entries {
        let Some(name) = key.as_str() else { continue };
        let path = FieldPath::spec().field(name);
        let secret = value
            .get("secret")
            .and_then(|secret| secret.get("name"))
            .filter(|name| non_empty_text(name).is_some());
        let keyed = |field: &str| value.get(field).filter(|n| non_empty_text(n).is_some());
        match name {
            "servers" => {
                if matches!(&value.value, NodeValue::Sequence(items) if !items.is_empty()) {
                    spec.push(entry("servers", value.clone()));
                }
            }
            "tlsFirst" => {
                if matches!(value.value, NodeValue::Bool(true)) {
                    tls.push(entry("first", value.clone()));
                }
            }
            "tls" => {
                for (nack, jetsync) in [("ca", "ca"), ("cert", "cert"), ("key", "key")] {
                    if let Some(key) = keyed(nack) {
                        tls.push(entry(jetsync, secret_or_file(secret, key)));
                    }
                }
            }
            "creds" | "nkey" => {
                let field = if name == "creds" { "file" } else { "seed" };
                if let Some(key) = keyed(field) {
                    auth.push(entry(name, secret_or_file(secret, key)));
                }
            }
            "token" => match (secret, keyed("token")) {
                (Some(secret), Some(key)) => {
                    auth.push(entry("token", secret_or_file(Some(secret), key)));
                }
                _ => problems.error(
                    &path,
                    "NACK reads the token from a Secret: `token.secret.name` and `token.token` (its key) are both needed",
                    "name the Secret and the key that holds the token",
                ),
            },
            "user" => problems.error(
                &path,
                "NACK reads the user name from a Secret; jetsync takes the user name as text",
                "declare a NatsConnection with `auth.userPassword: {user: NAME, password: {secretRef: {name: SECRET, key: KEY}}}` and name it in `connection`",
            ),
            "name" => problems.warning(
                &path,
                "NACK's Account ignores `spec.name`; jetsync names the connection after `metadata.name`",
                "remove `spec.name`",
            ),
            other => problems.unknown_field(
                &path,
                format!("`{other}` is not a field of NACK's v1beta2 Account"),
            ),
        }
    }
    if !tls.is_empty() {
        spec.push(entry("tls", mapping(tls[0].1.position, tls)));
    }
    if !auth.is_empty() {
        spec.push(entry("auth", mapping(auth[0].1.position, auth)));
    }
    if !spec.iter().any(|(key, _)| key.as_str() == Some("servers")) {
        problems.error(
            &FieldPath::spec(),
            NO_SERVERS,
            "add `servers:` with the URLs NACK was started with (its `--servers`)",
        );
    }
    spec
}

const NO_SERVERS: &str = "without `servers` NACK connects to the servers it was started with; a jetsync NatsConnection names its servers";
