//! Replicas and placement checked against the cluster's servers before
//! anything is written: nats-server refuses a stream whose replicas no
//! cluster can hold, or whose placement no server matches (10005), only when
//! the stream is created or updated. Which servers exist is known only to
//! accounts that may ask the system account (`$SYS.REQ.SERVER.PING.JSZ`);
//! for the others the plan says that it could not check.

use serde_json::Value;

use super::classify::{Action, Change, Plan};
use crate::diagnostics::{Diagnostic, Severity};

/// A JetStream server of the cluster, as it describes itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterServer {
    pub name: String,
    /// Its cluster's name; None for a server without clustering.
    pub cluster: Option<String>,
    pub tags: Vec<String>,
}

/// What jetsync knows of the servers that could hold an asset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Topology {
    /// Every JetStream server answered; `connected` is the cluster of the
    /// server jetsync is connected to, where assets without placement go.
    Known {
        servers: Vec<ClusterServer>,
        connected: Option<String>,
    },
    /// The servers could not be read, and why.
    Unreadable(String),
}

/// What a change asks of the cluster: replicas above 1 or a placement.
struct Placement<'a> {
    replicas: u64,
    cluster: Option<&'a str>,
    tags: Vec<&'a str>,
}

/// The placement a change writes, when it writes one that depends on the
/// cluster: created or replaced stream-like assets with replicas above 1 or
/// a placement, and updates that change replicas or placement.
fn placement_of(change: &Change) -> Option<Placement<'_>> {
    if !change.allowed() || !change.address.kind.is_stream_like() {
        return None;
    }
    let writes_placement = match change.action {
        Action::Create | Action::Replace => true,
        Action::Update | Action::Adopt => change.diff.iter().any(|field| {
            field.json_field == "num_replicas" || field.json_field.starts_with("placement")
        }),
        Action::Delete => false,
    };
    let config = change.config.as_ref().filter(|_| writes_placement)?;
    let placement = Placement {
        replicas: config
            .get("num_replicas")
            .and_then(Value::as_u64)
            .unwrap_or(1),
        cluster: config
            .pointer("/placement/cluster")
            .and_then(Value::as_str)
            .filter(|cluster| !cluster.is_empty()),
        tags: config
            .pointer("/placement/tags")
            .and_then(Value::as_array)
            .map(|tags| tags.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default(),
    };
    (placement.replicas > 1 || placement.cluster.is_some() || !placement.tags.is_empty())
        .then_some(placement)
}

/// True when some change of the plan depends on the cluster's servers, so
/// that reading them is worth a request.
pub fn needs_check(plan: &Plan) -> bool {
    plan.changes
        .iter()
        .any(|change| placement_of(change).is_some())
}

/// Refuses, as errors at the field, the changes no cluster of `topology`
/// can hold; when the servers could not be read, one note names the changes
/// left to the server.
pub fn check(plan: &mut Plan, topology: &Topology) {
    let mut diagnostics = Vec::new();
    let mut unchecked = Vec::new();
    for change in &plan.changes {
        let Some(placement) = placement_of(change) else {
            continue;
        };
        match topology {
            Topology::Known { servers, connected } => {
                if let Some(problem) = misfit(&placement, servers, connected.as_deref()) {
                    let field = if problem.about_replicas {
                        "spec.replicas"
                    } else {
                        "spec.placement"
                    };
                    let diagnostic = Diagnostic::error(format!(
                        "{}: {} (nats-server would refuse it with 10005)",
                        change.address, problem.text
                    ))
                    .with_help(
                        "lower replicas, or change the placement to a cluster and tags that \
                         enough servers have",
                    )
                    .with_field(field);
                    diagnostics.push(match &change.declared_at {
                        Some(declared_at) => declared_at.point(diagnostic),
                        None => diagnostic,
                    });
                }
            }
            Topology::Unreadable(_) => unchecked.push(change.address.to_string()),
        }
    }
    if let (Topology::Unreadable(why), false) = (topology, unchecked.is_empty()) {
        const SHOWN: usize = 5;
        let mut names = unchecked[..unchecked.len().min(SHOWN)].join(", ");
        if unchecked.len() > SHOWN {
            names.push_str(&format!(" and {} more", unchecked.len() - SHOWN));
        }
        diagnostics.push(
            Diagnostic::new(
                Severity::Warning,
                format!(
                    "replicas and placement of {names} are not checked against the cluster before \
                 apply: the cluster's servers could not be read ({why}); nats-server refuses \
                 what no cluster can hold when the change is applied"
                ),
            )
            .with_help(
                "to check them in the plan, let the account import the system account's \
                 service `$SYS.REQ.SERVER.PING.JSZ` (with `response: stream`)",
            ),
        );
    }
    plan.diagnostics.extend(diagnostics);
}

struct Misfit {
    about_replicas: bool,
    text: String,
}

/// Why no cluster can hold `placement`, or None when one can.
fn misfit(
    placement: &Placement<'_>,
    servers: &[ClusterServer],
    connected: Option<&str>,
) -> Option<Misfit> {
    let matches_tags = |server: &&ClusterServer| {
        placement.tags.iter().all(|wanted| {
            server
                .tags
                .iter()
                .any(|tag| tag.eq_ignore_ascii_case(wanted))
        })
    };
    // Where the server would look: the placement's cluster; with tags only,
    // any cluster; otherwise the cluster of the server jetsync talks to.
    let cluster = placement
        .cluster
        .or(connected.filter(|_| placement.tags.is_empty()));
    let mut clusters: Vec<Option<&str>> = servers
        .iter()
        .map(|server| server.cluster.as_deref())
        .filter(|name| cluster.is_none() || *name == cluster)
        .collect();
    clusters.sort();
    clusters.dedup();
    if clusters.is_empty() {
        let mut known: Vec<&str> = servers
            .iter()
            .filter_map(|s| s.cluster.as_deref())
            .collect();
        known.sort_unstable();
        known.dedup();
        return Some(Misfit {
            about_replicas: false,
            text: format!(
                "placement cluster `{}` has no JetStream server (clusters: {})",
                cluster.unwrap_or_default(),
                list(known)
            ),
        });
    }
    let mut best: Option<(Option<&str>, usize, usize)> = None;
    for name in clusters {
        let members = servers.iter().filter(|s| s.cluster.as_deref() == name);
        let total = members.clone().count();
        let fitting = members.filter(matches_tags).count();
        if fitting as u64 >= placement.replicas.max(1) {
            return None;
        }
        if best.is_none_or(|(_, most, _)| fitting > most) {
            best = Some((name, fitting, total));
        }
    }
    let (name, fitting, total) = best?;
    let place = name.map_or_else(
        || "the servers".to_string(),
        |name| format!("cluster `{name}`"),
    );
    let replicas = placement.replicas;
    Some(if placement.tags.is_empty() || fitting == total {
        Misfit {
            about_replicas: true,
            text: format!("replicas: {replicas} needs {replicas} servers, and {place} has {total}"),
        }
    } else {
        Misfit {
            about_replicas: false,
            text: format!(
                "placement tags {} match {fitting} of the {total} servers of {place}, and \
                 replicas: {replicas} needs {replicas}",
                list(placement.tags.clone())
            ),
        }
    })
}

fn list(items: Vec<&str>) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items
            .iter()
            .map(|item| format!("`{item}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(name: &str, cluster: &str, tags: &[&str]) -> ClusterServer {
        ClusterServer {
            name: name.to_string(),
            cluster: Some(cluster.to_string()),
            tags: tags.iter().map(|tag| tag.to_string()).collect(),
        }
    }

    /// Two clusters: `east` of three servers (one `gpu`), `west` of five.
    fn servers() -> Vec<ClusterServer> {
        let mut servers = vec![
            server("e1", "east", &["gpu", "az:1"]),
            server("e2", "east", &["az:2"]),
            server("e3", "east", &["az:3"]),
        ];
        servers.extend((1..=5).map(|i| server(&format!("w{i}"), "west", &["ssd"])));
        servers
    }

    fn placement(
        replicas: u64,
        cluster: Option<&'static str>,
        tags: &[&'static str],
    ) -> Placement<'static> {
        Placement {
            replicas,
            cluster,
            tags: tags.to_vec(),
        }
    }

    fn text(misfit: Option<Misfit>) -> Option<(bool, String)> {
        misfit.map(|m| (m.about_replicas, m.text))
    }

    #[test]
    fn without_placement_the_connected_cluster_must_hold_the_replicas() {
        let servers = servers();
        assert!(misfit(&placement(3, None, &[]), &servers, Some("east")).is_none());
        assert_eq!(
            text(misfit(&placement(5, None, &[]), &servers, Some("east"))),
            Some((
                true,
                "replicas: 5 needs 5 servers, and cluster `east` has 3".to_string()
            ))
        );
        // Connected to `west`, five replicas fit.
        assert!(misfit(&placement(5, None, &[]), &servers, Some("west")).is_none());
    }

    #[test]
    fn a_placement_cluster_is_the_only_one_looked_at() {
        let servers = servers();
        assert!(misfit(&placement(5, Some("west"), &[]), &servers, Some("east")).is_none());
        assert_eq!(
            text(misfit(
                &placement(1, Some("north"), &[]),
                &servers,
                Some("east")
            )),
            Some((
                false,
                "placement cluster `north` has no JetStream server (clusters: `east`, `west`)"
                    .to_string()
            ))
        );
    }

    #[test]
    fn tags_alone_may_be_met_in_any_cluster_and_match_without_case() {
        let servers = servers();
        assert!(misfit(&placement(3, None, &["SSD"]), &servers, Some("east")).is_none());
        assert!(misfit(&placement(1, None, &["gpu"]), &servers, Some("west")).is_none());
        assert_eq!(
            text(misfit(&placement(2, None, &["gpu"]), &servers, Some("west"))),
            Some((
                false,
                "placement tags `gpu` match 1 of the 3 servers of cluster `east`, and replicas: 2 needs 2"
                    .to_string()
            ))
        );
        assert_eq!(
            text(misfit(&placement(1, Some("west"), &["gpu"]), &servers, None)),
            Some((
                false,
                "placement tags `gpu` match 0 of the 5 servers of cluster `west`, and replicas: 1 needs 1"
                    .to_string()
            ))
        );
    }
}
