//! Turning a [`Config`] into a real [`ChildSpec`] at compile time and
//! checking it with the spec's own validation, each problem spanned on the
//! key that caused it.

use proc_macro2::Span;
use supervisor_spec::{AutoShutdown, ChildId, ChildSpec, SupervisorSpec};
use syn::Ident;
use syn::ext::IdentExt;

use crate::attr::{Config, Place};

/// The child `config` declares for the fn named `name`, valid as far as it
/// can be checked without its siblings.
///
/// # Errors
///
/// An invalid id, task name or dependency name at its literal (or at the
/// fn's name for a default id), then every problem the spec's validation
/// finds with the child, each at the key it is about.
pub(crate) fn child_spec(config: &Config, name: &Ident) -> syn::Result<ChildSpec> {
    let spec = build(config, name)?;
    check(&spec, config)?;
    Ok(spec)
}

fn build(config: &Config, name: &Ident) -> syn::Result<ChildSpec> {
    let mut spec = match &config.id {
        Some(id) => ChildSpec::worker(id.value.value().as_str())
            .map_err(|e| syn::Error::new(id.value.span(), format!("invalid id: {e}")))?,
        None => {
            let id = name.unraw().to_string();
            ChildSpec::worker(id.as_str()).map_err(|e| {
                syn::Error::new(
                    name.span(),
                    format!(
                        "the fn's name is its child id by default, but {e}; rename the fn or give an id: #[supervised(id = \"...\")]"
                    ),
                )
            })?
        }
    };
    if let Some(task) = &config.task {
        spec = spec
            .with_task(&task.value.value())
            .map_err(|e| syn::Error::new(task.value.span(), format!("invalid task: {e}")))?;
    }
    if let Some(d) = &config.description {
        spec = spec.with_description(d.value.clone());
    }
    if let Some(s) = &config.restart {
        spec = spec.with_restart(s.value);
    }
    if let Some(s) = &config.significant {
        spec = spec.with_significant(s.value);
    }
    if let Some(s) = &config.shutdown {
        spec = spec.with_shutdown(s.value);
    }
    if let Some(s) = &config.backoff {
        spec = spec.with_backoff(s.value);
    }
    if let Some(s) = &config.budget {
        spec = spec.with_budget(s.value);
    }
    if let Some(s) = &config.readiness {
        spec = spec.with_readiness(s.value);
    }
    if let Some(s) = &config.liveness {
        spec = spec.with_liveness(s.value);
    }
    for dep in config.depends_on.iter().flat_map(|s| &s.value) {
        let id = ChildId::new(dep.value())
            .map_err(|e| syn::Error::new(dep.span(), format!("invalid dependency: {e}")))?;
        spec.depends_on.push(id);
    }
    for tag in config.tags.iter().flat_map(|s| &s.value) {
        spec = spec.with_tag(tag.value());
    }
    Ok(spec)
}

/// Runs the spec's validation on a tree made for the purpose: the child,
/// a placeholder sibling for each dependency (so an unknown sibling, which
/// only the real tree can tell, is not reported), under a supervisor that
/// allows significant children (which the real parent must, and the
/// runtime checks at start). Only the child's own errors are reported.
fn check(spec: &ChildSpec, config: &Config) -> syn::Result<()> {
    let mut tree = SupervisorSpec::with_id(spec.id.clone())
        .with_auto_shutdown(AutoShutdown::AnySignificant)
        .with_child(spec.clone());
    let mut placeholders: Vec<&ChildId> =
        spec.depends_on.iter().filter(|d| **d != spec.id).collect();
    placeholders.sort();
    placeholders.dedup();
    for dep in placeholders {
        let sibling =
            ChildSpec::worker(dep.as_str()).map_err(|e| Place::of(Span::call_site()).error(e))?;
        tree = tree.with_child(sibling);
    }
    let mut errors: Option<syn::Error> = None;
    for problem in tree.check().errors {
        if problem.location.child.as_ref().map(|(i, _)| *i) != Some(0) {
            continue;
        }
        let error = match problem.location.field {
            Some(field) => place(config, field, &problem.message)
                .error(format!("{field}: {}", problem.message)),
            None => Place::of(Span::call_site()).error(&problem.message),
        };
        match &mut errors {
            Some(all) => all.combine(error),
            None => errors = Some(error),
        }
    }
    errors.map_or(Ok(()), Err)
}

/// Where to point a problem with `field`: the parts of its group the
/// message names (`jitter 2 must lie within 0..=1` -> `jitter = 2.0`;
/// `initial 5s exceeds max 1s` -> from `initial` to `max`), else the whole
/// key, else the attribute.
fn place(config: &Config, field: &str, message: &str) -> Place {
    let Some((whole, parts)) = config.place(field) else {
        return Place::of(Span::call_site());
    };
    let named = |key: &str| {
        message
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|word| word == key)
    };
    // `parts` are in source order.
    let mut mentioned = parts.iter().filter(|(k, _)| named(k)).map(|(_, at)| *at);
    match (mentioned.next(), mentioned.next_back()) {
        (Some(first), Some(last)) => first.to(last),
        (Some(only), None) => only,
        _ => whole,
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;
    use syn::parse_quote;

    use super::*;

    fn spec(args: proc_macro2::TokenStream, name: Ident) -> Result<ChildSpec, String> {
        Config::parse(args)
            .and_then(|c| child_spec(&c, &name))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn builds_the_child_a_config_file_describes() {
        let ours = spec(
            quote! {
                description = "reads", task = "jobs::ingest", restart = "transient",
                significant = true, shutdown(timeout = "2s", abort_wait = "250ms"),
                backoff(initial = "1s", max = "1m", multiplier = 3, jitter = 0.5, reset_after = "2m"),
                budget(max_restarts = 5, window = "1m", on_exhausted = "quarantine", retry_after = "5m"),
                readiness(explicit = "10s"), liveness = "2s",
                depends_on = ["db", "cache"], tags = ["http", "in"],
            },
            parse_quote!(ingest),
        )
        .unwrap();
        let file: ChildSpec = serde_json::from_str(
            r#"{
                "id": "ingest", "description": "reads", "task": "jobs::ingest",
                "restart": "transient", "significant": true,
                "shutdown": { "timeout": "2s", "abort_wait": "250ms" },
                "backoff": { "initial": "1s", "max": "1m", "multiplier": 3.0, "jitter": 0.5, "reset_after": "2m" },
                "budget": { "max_restarts": 5, "window": "1m", "on_exhausted": "quarantine", "retry_after": "5m" },
                "readiness": { "explicit": "10s" }, "liveness": "2s",
                "depends_on": ["db", "cache"], "tags": ["http", "in"]
            }"#,
        )
        .unwrap();
        assert_eq!(ours, file);
    }

    #[test]
    fn scalar_forms_read_as_in_a_config_file() {
        for (args, json) in [
            (
                quote!(shutdown = "brutal_kill"),
                r#""shutdown":"brutal_kill""#,
            ),
            (quote!(shutdown = "1m"), r#""shutdown":"1m""#),
            (quote!(backoff = "none"), r#""backoff":"none""#),
            (quote!(readiness = "explicit"), r#""readiness":"explicit""#),
            (
                quote!(readiness = "immediate"),
                r#""readiness":"immediate""#,
            ),
            (
                quote!(budget(max_restarts = 1, window = "1s")),
                r#""budget":{"max_restarts":1,"window":"1s"}"#,
            ),
        ] {
            let ours = spec(args.clone(), parse_quote!(w)).unwrap();
            let file: ChildSpec = serde_json::from_str(&format!(r#"{{"id":"w",{json}}}"#)).unwrap();
            assert_eq!(ours, file, "{args}");
        }
    }

    #[test]
    fn the_fn_name_is_the_default_id() {
        let s = spec(quote!(), parse_quote!(r#type)).unwrap();
        assert_eq!(s.id, "type");
        assert_eq!(s.task().map(|t| t.as_str()), Some("type"));
        let err = spec(quote!(), parse_quote!(Ingest)).unwrap_err();
        assert!(
            err.starts_with(
                "the fn's name is its child id by default, but child id \"Ingest\" contains 'I'"
            ),
            "{err}"
        );
        let s = spec(quote!(id = "ingest"), parse_quote!(Ingest)).unwrap();
        assert_eq!(s.id, "ingest");
    }

    #[test]
    fn reports_the_child_errors_of_the_spec_validation() {
        for (args, want) in [
            (
                quote!(backoff(jitter = 2.0)),
                "backoff: jitter 2 must lie within 0..=1",
            ),
            (
                quote!(backoff(initial = "5s", max = "1s")),
                "backoff: initial 5s exceeds max 1s",
            ),
            (
                quote!(shutdown = "infinity"),
                "shutdown: infinity is only for nested supervisors (OTP)",
            ),
            (
                quote!(significant = true),
                "significant: a permanent child cannot be significant (OTP)",
            ),
            (
                quote!(depends_on = ["w"]),
                "depends_on: `w` depends on itself",
            ),
            (
                quote!(depends_on = ["db", "db"]),
                "depends_on: `db` is listed twice",
            ),
            (quote!(tags = ["a", "a"]), "tags: tag \"a\" is listed twice"),
        ] {
            let err = spec(args.clone(), parse_quote!(w)).unwrap_err();
            assert!(err.starts_with(want), "{args}: {err}");
        }
    }

    #[test]
    fn leaves_what_needs_the_whole_tree_to_the_runtime() {
        // An unknown sibling, and a parent without auto_shutdown.
        let s = spec(
            quote!(
                depends_on = ["db"],
                restart = "transient",
                significant = true
            ),
            parse_quote!(w),
        )
        .unwrap();
        assert_eq!(s.depends_on, ["db"]);
    }
}
