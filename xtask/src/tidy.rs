//! The tidy check: reads `cargo metadata` and enforces the design card's
//! layering (spec <- policy <- runtime <- observe; no tokio in spec or policy).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// The layers, lowest first. A crate may depend only on crates listed before it.
const LAYERS: [&str; 4] = [
    "supervisor-spec",
    "supervisor-policy",
    "supervisor-runtime",
    "supervisor-observe",
];

/// Crates that must never reach tokio, even transitively.
const NO_TOKIO: [&str; 2] = ["supervisor-spec", "supervisor-policy"];

/// Runs `cargo metadata` on this workspace and checks it.
pub(crate) fn check_workspace() -> Result<(), Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--manifest-path",
            manifest,
        ])
        .output()
        .map_err(|e| vec![format!("cannot run cargo metadata: {e}")])?;
    if !out.status.success() {
        return Err(vec![format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )]);
    }
    let meta: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| vec![format!("cargo metadata printed invalid JSON: {e}")])?;
    check(&meta)
}

/// Checks parsed `cargo metadata` output.
pub(crate) fn check(meta: &Value) -> Result<(), Vec<String>> {
    // Package id -> (name, normal and build dependency ids), from the resolve graph.
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        if let (Some(id), Some(name)) = (p["id"].as_str(), p["name"].as_str()) {
            names.insert(id, name);
        }
    }
    let mut deps: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().into_iter().flatten() {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        let name = names.get(id).copied().unwrap_or(id);
        let direct = node["deps"].as_array().into_iter().flatten().filter(|d| {
            // Dev-dependencies (kind "dev") may cross layers: tests of a lower
            // crate can use a higher one.
            d["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].as_str() != Some("dev"))
        });
        let entry = deps.entry(name).or_default();
        for d in direct {
            if let Some(pkg) = d["pkg"].as_str() {
                entry.push(names.get(pkg).copied().unwrap_or(pkg));
            }
        }
    }

    let mut problems = Vec::new();
    for (layer, name) in LAYERS.iter().enumerate() {
        for dep in deps.get(name).into_iter().flatten() {
            if let Some(dep_layer) = LAYERS.iter().position(|l| l == dep)
                && dep_layer > layer
            {
                problems.push(format!(
                    "{name} depends on {dep}, a higher layer (order: {})",
                    LAYERS.join(" <- ")
                ));
            }
        }
    }
    for name in NO_TOKIO {
        if let Some(path) = reaches(&deps, name, "tokio") {
            problems.push(format!(
                "{name} must not depend on tokio, but does: {}",
                path.join(" -> ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The dependency chain from `from` to `to` through non-dev dependencies, if any.
fn reaches<'a>(
    deps: &BTreeMap<&'a str, Vec<&'a str>>,
    from: &'a str,
    to: &str,
) -> Option<Vec<&'a str>> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![vec![from]];
    while let Some(path) = stack.pop() {
        let last = *path.last()?;
        if last == to {
            return Some(path);
        }
        if !seen.insert(last) {
            continue;
        }
        for &next in deps.get(last).into_iter().flatten() {
            let mut p = path.clone();
            p.push(next);
            stack.push(p);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(edges: &[(&str, &str, &str)]) -> Value {
        let mut pkgs = BTreeSet::new();
        for (a, b, _) in edges {
            pkgs.insert(*a);
            pkgs.insert(*b);
        }
        let packages: Vec<Value> = pkgs.iter().map(|p| json!({"id": p, "name": p})).collect();
        let nodes: Vec<Value> = pkgs
            .iter()
            .map(|p| {
                let deps: Vec<Value> = edges
                    .iter()
                    .filter(|(a, _, _)| a == p)
                    .map(|(_, b, kind)| json!({"pkg": b, "dep_kinds": [{"kind": if kind.is_empty() { Value::Null } else { json!(kind) }}]}))
                    .collect();
                json!({"id": p, "deps": deps})
            })
            .collect();
        json!({"packages": packages, "resolve": {"nodes": nodes}})
    }

    #[test]
    fn workspace_respects_the_layering() {
        if let Err(problems) = check_workspace() {
            panic!("tidy found problems:\n{}", problems.join("\n"));
        }
    }

    #[test]
    fn flags_an_upward_dependency() {
        let m = meta(&[("supervisor-spec", "supervisor-runtime", "")]);
        let err = check(&m).unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(
            err[0].starts_with("supervisor-spec depends on supervisor-runtime"),
            "{err:?}"
        );
    }

    #[test]
    fn flags_tokio_reached_transitively() {
        let m = meta(&[("supervisor-policy", "helper", ""), ("helper", "tokio", "")]);
        let err = check(&m).unwrap_err();
        assert_eq!(
            err,
            [
                "supervisor-policy must not depend on tokio, but does: supervisor-policy -> helper -> tokio"
            ]
        );
    }

    #[test]
    fn allows_dev_dependencies_across_layers() {
        let m = meta(&[
            ("supervisor-spec", "supervisor-runtime", "dev"),
            ("supervisor-policy", "tokio", "dev"),
            ("supervisor-runtime", "supervisor-spec", ""),
        ]);
        assert_eq!(check(&m), Ok(()));
    }
}
