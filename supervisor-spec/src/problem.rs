//! What validation reports: [`Problem`]s at a [`Location`], gathered into a
//! [`ValidationError`] or carried as warnings by a [`ValidatedSpec`].

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::{ChildId, ChildPath, SupervisorSpec};

/// Where in a tree a problem was found, written like
/// `root/jobs.children[2] (ingest).backoff`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The supervisor the problem belongs to (shared: validation builds a
    /// location for every check, and only keeps those that fail).
    pub supervisor: Arc<ChildPath>,
    /// The child, by position and id, when the problem is about one child.
    pub child: Option<(usize, ChildId)>,
    /// The field, when the problem is about one field.
    pub field: Option<&'static str>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.supervisor)?;
        if let Some((i, id)) = &self.child {
            write!(f, ".children[{i}] ({id})")?;
        }
        if let Some(field) = self.field {
            write!(f, ".{field}")?;
        }
        Ok(())
    }
}

/// One finding of validation: where, and what a user can do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Where the problem is.
    pub location: Location,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Everything validation found: errors make a tree invalid, warnings do not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diagnostics {
    /// Problems that make the tree invalid.
    pub errors: Vec<Problem>,
    /// Legal but risky choices.
    pub warnings: Vec<Problem>,
}

/// A tree failed validation. Lists every error found (and the warnings), one
/// per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(self))]
pub struct ValidationError {
    /// Problems that make the tree invalid; never empty.
    pub errors: Vec<Problem>,
    /// Warnings found at the same time.
    pub warnings: Vec<Problem>,
}

fn render(e: &ValidationError) -> String {
    let mut out = format!(
        "invalid supervision tree ({} error{})",
        e.errors.len(),
        if e.errors.len() == 1 { "" } else { "s" }
    );
    for p in &e.errors {
        out.push_str("\n  error: ");
        out.push_str(&p.to_string());
    }
    for p in &e.warnings {
        out.push_str("\n  warning: ");
        out.push_str(&p.to_string());
    }
    out
}

/// A [`SupervisorSpec`] that passed validation, with the warnings it raised.
///
/// Later layers (the policy engine, the runtime) take this type, so they
/// only ever see valid trees.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidatedSpec {
    #[serde(flatten)]
    spec: SupervisorSpec,
    #[serde(skip)]
    path: ChildPath,
    #[serde(skip)]
    warnings: Vec<Problem>,
    /// `spec.node_count()`, counted by the validation.
    #[serde(skip)]
    nodes: usize,
}

impl ValidatedSpec {
    pub(crate) fn new(spec: SupervisorSpec, warnings: Vec<Problem>, nodes: usize) -> Self {
        let path = ChildPath::root(spec.id.clone());
        Self {
            spec,
            path,
            warnings,
            nodes,
        }
    }

    /// How many nodes the tree below this supervisor has (see
    /// [`SupervisorSpec::node_count`]), as its validation counted them.
    pub fn node_count(&self) -> usize {
        self.nodes
    }

    /// Where this supervisor sits in the tree it was validated with (its id,
    /// for a root).
    pub fn path(&self) -> &ChildPath {
        &self.path
    }

    /// The valid spec.
    pub fn spec(&self) -> &SupervisorSpec {
        &self.spec
    }

    /// Legal but risky choices found in the tree.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// The same spec, placed at `path` in a larger tree (for a subtree
    /// validated on its own, such as a supervisor after a child was added at
    /// run time).
    pub fn with_path(mut self, path: ChildPath) -> Self {
        self.path = path;
        self
    }

    /// Gives the spec back.
    pub fn into_inner(self) -> SupervisorSpec {
        self.spec
    }

    /// The nested supervisor child `id`, as a valid spec of its own (every
    /// subtree of a valid tree is valid), with the warnings located in it
    /// (their paths still start at this tree's root).
    pub fn nested(&self, id: &ChildId) -> Option<ValidatedSpec> {
        let child = self.spec.children.iter().find(|c| &c.id == id)?;
        let nested = child.kind.supervisor()?.clone();
        let path = self.path.join(id);
        let warnings = self
            .warnings
            .iter()
            .filter(|w| path.is_prefix_of(&w.location.supervisor))
            .cloned()
            .collect();
        Some(Self {
            nodes: nested.node_count(),
            spec: nested,
            path,
            warnings,
        })
    }
}

impl AsRef<SupervisorSpec> for ValidatedSpec {
    fn as_ref(&self) -> &SupervisorSpec {
        &self.spec
    }
}

impl fmt::Display for ValidatedSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.spec, f)
    }
}
