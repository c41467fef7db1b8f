//! Saved plans (`plan --out FILE`, `apply FILE`): where their manifests are
//! found from any directory, and when they are stale.
//!
//! A saved plan records its manifests relative to a root it also records:
//! the top of the Git work tree when the plan is made inside one, else the
//! plan file's directory. `apply FILE` finds that root again — the work tree
//! around the current directory or around the plan file, else the plan
//! file's directory, else the recorded path — so CI can plan in one job and
//! apply in another, from any directory of a fresh checkout.
//!
//! It is stale when something it depends on changed (see
//! [`crate::render::json::Scope`]): its manifests, the assets it declares or
//! changes, the streams its consumers read, every consumer of a stream it
//! deletes or replaces, and — when it prunes — every asset its owner
//! manages. Other assets of the account may come and go.

use std::path::{Path, PathBuf};

use crate::diagnostics::SourceText;
use crate::plan::LiveAsset;
use crate::render::json::{self, PlanDocument, SourceRoot, Target};

/// `git` root kind: the top of a Git work tree.
const GIT_ROOT: &str = "git";
/// `plan` root kind: the plan file's directory.
const PLAN_ROOT: &str = "plan";

/// The top of the Git work tree holding `dir` (a directory with `.git`, a
/// directory or, for linked work trees and submodules, a file).
pub fn work_tree_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|ancestor| ancestor.join(".git").exists())
        .map(Path::to_path_buf)
}

/// The absolute, symlink-free form of `path` (as given when that fails).
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// The directory holding the plan file `plan_file`.
fn plan_directory(plan_file: &Path) -> PathBuf {
    let file = std::path::absolute(plan_file).unwrap_or_else(|_| plan_file.to_path_buf());
    absolute(file.parent().unwrap_or(Path::new(".")))
}

/// `path` relative to `root`, `/`-separated, with `..` steps where it lies
/// outside; None when they share nothing (another drive).
fn relative_to(path: &Path, root: &Path) -> Option<String> {
    let path: Vec<_> = path.components().collect();
    let root: Vec<_> = root.components().collect();
    let common = path.iter().zip(&root).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let ups = std::iter::repeat_n("..".to_string(), root.len() - common);
    let downs = path[common..]
        .iter()
        .map(|part| part.as_os_str().to_string_lossy().into_owned());
    Some(ups.chain(downs).collect::<Vec<_>>().join("/"))
}

/// Records the root for a plan about to be saved to `plan_file` and makes
/// every source path relative to it (`/`-separated).
pub fn record_root(document: &mut PlanDocument, plan_file: &Path) {
    let current = std::env::current_dir().map(|dir| absolute(&dir)).ok();
    let plan_dir = plan_directory(plan_file);
    let (kind, root) = match current.as_deref().and_then(work_tree_root) {
        Some(root) => (GIT_ROOT, root),
        None => (PLAN_ROOT, plan_dir),
    };
    for source in &mut document.sources {
        let path = absolute(Path::new(&source.file));
        source.file = relative_to(&path, &root).unwrap_or_else(|| path.display().to_string());
    }
    document.root = Some(SourceRoot {
        kind: kind.to_string(),
        path: root.display().to_string(),
    });
}

/// The directory a saved plan's source paths start from, found again now.
pub fn find_root(document: &PlanDocument, plan_file: &Path) -> PathBuf {
    let Some(root) = &document.root else {
        // Format 1.0: paths relative to where the plan was made.
        return PathBuf::from(".");
    };
    let plan_dir = plan_directory(plan_file);
    let mut candidates = Vec::new();
    if root.kind == GIT_ROOT {
        if let Ok(current) = std::env::current_dir() {
            candidates.extend(work_tree_root(&absolute(&current)));
        }
        candidates.extend(work_tree_root(&plan_dir));
    } else {
        candidates.push(plan_dir);
    }
    candidates.push(PathBuf::from(&root.path));
    // The first candidate that holds every manifest, else the first one.
    let holds_all = |dir: &Path| {
        document
            .sources
            .iter()
            .all(|source| dir.join(&source.file).is_file())
    };
    candidates
        .iter()
        .find(|dir| holds_all(dir))
        .or(candidates.first())
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Why a saved plan's manifests no longer are what it was made from.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceProblem {
    /// The file is not where the plan says (relative to its root).
    #[error(
        "the plan's manifest {file} is not found (looked at {}); apply the plan \
         from a checkout of the commit it was made from",
        looked_at.display()
    )]
    NotFound { file: String, looked_at: PathBuf },
    /// The file's text differs.
    #[error("plan is stale: {file} changed since the plan was made; make a new plan")]
    Changed { file: String },
}

/// The paths of a saved plan's manifests under `root`, after checking that
/// each is there with the text the plan was made from.
pub fn check_sources(document: &PlanDocument, root: &Path) -> Result<Vec<PathBuf>, SourceProblem> {
    let mut paths = Vec::new();
    for source in &document.sources {
        let path = root.join(&source.file);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(SourceProblem::NotFound {
                    file: source.file.clone(),
                    looked_at: path,
                });
            }
            Err(_) => {
                return Err(SourceProblem::Changed {
                    file: source.file.clone(),
                });
            }
        };
        let digest = json::source_digest(&SourceText {
            name: source.file.clone(),
            text: text.into(),
        });
        if digest.sha256 != source.sha256 {
            return Err(SourceProblem::Changed {
                file: source.file.clone(),
            });
        }
        paths.push(path);
    }
    Ok(paths)
}

/// What changed, among the live assets a saved plan depends on, between
/// the state it saw and `live` now.
pub fn stale_assets(saved: &Target, live: &[LiveAsset]) -> Vec<String> {
    let (_, now) = json::fingerprint(live, saved.scope.as_ref());
    let mut changed = Vec::new();
    for (address, hash) in &now {
        match saved.assets.get(address) {
            Some(before) if before == hash => {}
            Some(_) => changed.push(format!("{address} changed")),
            None => changed.push(format!("{address} appeared")),
        }
    }
    for address in saved.assets.keys() {
        if !now.contains_key(address) {
            changed.push(format!("{address} was deleted"));
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::classify::Plan;
    use crate::plan::{Address, Holdings};
    use serde_json::json;

    fn stream(name: &str, owner: Option<&str>) -> LiveAsset {
        let mut config = json!({"name": name, "subjects": [format!("{name}.>")]});
        if let Some(owner) = owner {
            config["metadata"] = json!({"jetsync.dev/owner": owner});
        }
        LiveAsset {
            address: Address::from_stream_name(name),
            config: config.into(),
            holdings: Holdings::default(),
        }
    }

    fn target(declared: &[Address], live: &[LiveAsset], owner: Option<&str>) -> Target {
        let scope = json::Scope::of(declared, &Plan::default(), owner);
        let (fingerprint, assets) = json::fingerprint(live, Some(&scope));
        Target {
            connection: None,
            server: "nats://localhost:4222".into(),
            server_version: "2.15.1".into(),
            api_level: 4,
            account: None,
            domain: None,
            fingerprint,
            assets,
            scope: Some(scope),
        }
    }

    #[test]
    fn an_unmanaged_stream_appearing_elsewhere_does_not_make_a_plan_stale() {
        let before = [stream("ORDERS", Some("jetsync"))];
        let saved = target(&[Address::stream("ORDERS")], &before, Some("jetsync"));
        let now = [
            before[0].clone(),
            stream("OTHER", None),
            stream("THEIRS", Some("team-b")),
        ];
        assert!(stale_assets(&saved, &now).is_empty());
    }

    #[test]
    fn a_stream_of_its_owner_appearing_makes_a_pruning_plan_stale() {
        let before = [stream("ORDERS", Some("jetsync"))];
        let saved = target(&[Address::stream("ORDERS")], &before, Some("jetsync"));
        let now = [before[0].clone(), stream("NEW", Some("jetsync"))];
        assert_eq!(stale_assets(&saved, &now), ["stream/NEW appeared"]);
        let not_pruning = target(&[Address::stream("ORDERS")], &before, None);
        assert!(stale_assets(&not_pruning, &now).is_empty());
    }

    #[test]
    fn a_declared_asset_appearing_or_going_makes_a_plan_stale() {
        let saved = target(&[Address::stream("ORDERS")], &[], None);
        assert_eq!(
            stale_assets(&saved, &[stream("ORDERS", None)]),
            ["stream/ORDERS appeared"]
        );
        let saved = target(
            &[Address::consumer("EVENTS", "worker")],
            &[stream("EVENTS", None)],
            None,
        );
        assert_eq!(stale_assets(&saved, &[]), ["stream/EVENTS was deleted"]);
    }

    #[test]
    fn a_plan_without_a_scope_depends_on_every_asset() {
        let mut saved = target(&[], &[], None);
        saved.scope = None;
        assert_eq!(
            stale_assets(&saved, &[stream("OTHER", None)]),
            ["stream/OTHER appeared"]
        );
    }

    #[test]
    fn paths_outside_the_root_step_up_to_it() {
        let root = Path::new("/work/repo/plans");
        assert_eq!(
            relative_to(Path::new("/work/repo/m/orders.yaml"), root).as_deref(),
            Some("../m/orders.yaml")
        );
        assert_eq!(
            relative_to(Path::new("/work/repo/plans/a.yaml"), root).as_deref(),
            Some("a.yaml")
        );
    }

    #[test]
    fn the_work_tree_root_is_the_nearest_directory_with_git() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("repo/.git")).unwrap();
        std::fs::create_dir_all(dir.path().join("repo/infra/kv")).unwrap();
        assert_eq!(
            work_tree_root(&dir.path().join("repo/infra/kv")),
            Some(dir.path().join("repo"))
        );
    }
}
