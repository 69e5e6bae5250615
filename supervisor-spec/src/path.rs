//! [`ChildPath`]: the address of a node in a tree, such as `root/jobs/ingest`.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ChildId, IdError, limits};

/// The address of a node in a supervision tree: the ids from the root down,
/// written with `/` between them (`root/jobs/ingest`).
///
/// A path is never empty: it always names at least the root.
///
/// # Examples
///
/// ```
/// use supervisor_spec::ChildPath;
///
/// let path: ChildPath = "root/jobs/ingest".parse()?;
/// assert_eq!(path.len(), 3);
/// assert_eq!(path.leaf().as_str(), "ingest");
/// assert_eq!(path.parent().unwrap().to_string(), "root/jobs");
/// # Ok::<(), supervisor_spec::IdError>(())
/// ```
///
/// Cheap to clone: the segments are shared, so cloning a path costs one
/// reference count, not a copy.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct ChildPath(Arc<[ChildId]>);

impl ChildPath {
    /// The path of a root node.
    pub fn root(id: ChildId) -> Self {
        Self(Arc::from([id]))
    }

    /// The path of `child` below this node.
    pub fn join(&self, child: &ChildId) -> Self {
        // One allocation either way. The common shallow paths are built
        // from an array: about a third of the instructions of collecting
        // an iterator into an `Arc<[_]>`.
        let child = child.clone();
        Self(match &*self.0 {
            [a] => Arc::new([a.clone(), child]),
            [a, b] => Arc::new([a.clone(), b.clone(), child]),
            deeper => deeper
                .iter()
                .cloned()
                .chain(std::iter::once(child))
                .collect(),
        })
    }

    /// The path of the parent node, or `None` for a root.
    pub fn parent(&self) -> Option<Self> {
        (self.0.len() > 1).then(|| Self(self.0[..self.0.len() - 1].into()))
    }

    /// The id of the node this path names.
    pub fn leaf(&self) -> &ChildId {
        // Invariant: a path always has at least one segment.
        &self.0[self.0.len() - 1]
    }

    /// The ids from the root down.
    pub fn segments(&self) -> &[ChildId] {
        &self.0
    }

    /// The number of segments (1 for a root).
    #[allow(clippy::len_without_is_empty)] // a path is never empty
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether `self` is `other` or one of its ancestors.
    pub fn is_prefix_of(&self, other: &ChildPath) -> bool {
        other.0.starts_with(&self.0)
    }
}

impl fmt::Display for ChildPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(id.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for ChildPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChildPath({self})")
    }
}

impl FromStr for ChildPath {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        let bad = |problem: String| IdError::BadPath {
            path: s.to_owned(),
            problem,
        };
        if s.is_empty() {
            return Err(bad("is empty".into()));
        }
        // The longest path in a valid tree: the root, `MAX_DEPTH` nested
        // supervisors and a worker of the deepest one.
        const MAX_SEGMENTS: usize = limits::MAX_DEPTH + 2;
        let mut segments = Vec::new();
        for (i, part) in s.split('/').enumerate() {
            if i >= MAX_SEGMENTS {
                return Err(bad(format!("has more than {MAX_SEGMENTS} segments")));
            }
            if part.is_empty() {
                return Err(bad(format!("segment {i} is empty")));
            }
            segments.push(ChildId::checked(part).map_err(|e| bad(format!("segment {i}: {e}")))?);
        }
        Ok(Self(segments.into()))
    }
}

impl TryFrom<String> for ChildPath {
    type Error = IdError;

    fn try_from(s: String) -> Result<Self, IdError> {
        s.parse()
    }
}

impl From<ChildPath> for String {
    fn from(path: ChildPath) -> String {
        path.to_string()
    }
}

impl From<ChildId> for ChildPath {
    fn from(id: ChildId) -> Self {
        Self::root(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        let p: ChildPath = "root/jobs/ingest".parse().unwrap();
        assert_eq!(p.to_string(), "root/jobs/ingest");
        assert_eq!(p.segments().len(), 3);
        assert!(p.parent().unwrap().is_prefix_of(&p));
        assert!(!p.is_prefix_of(&p.parent().unwrap()));
        assert_eq!(ChildPath::root(p.leaf().clone()).parent(), None);
    }

    #[test]
    fn join_appends_at_every_depth() {
        // Depths one and two take the array path, deeper ones the iterator.
        for depth in 1..=5 {
            let text = vec!["n"; depth].join("/");
            let parent: ChildPath = text.parse().unwrap();
            let joined = parent.join(&ChildId::new("leaf").unwrap());
            assert_eq!(joined.to_string(), format!("{text}/leaf"));
            assert_eq!(joined.len(), depth + 1);
            assert_eq!(joined.parent(), Some(parent));
        }
    }

    #[test]
    fn rejects_empty_segments() {
        let err = "root//x".parse::<ChildPath>().unwrap_err().to_string();
        assert_eq!(err, "child path \"root//x\": segment 1 is empty");
        assert!("".parse::<ChildPath>().is_err());
        assert!("root/".parse::<ChildPath>().is_err());
    }

    #[test]
    fn rejects_bad_segment() {
        let err = "root/A".parse::<ChildPath>().unwrap_err().to_string();
        assert!(
            err.starts_with("child path \"root/A\": segment 1: child id \"A\""),
            "{err}"
        );
    }

    #[test]
    fn rejects_overlong_paths() {
        let deepest = vec!["a"; limits::MAX_DEPTH + 2].join("/");
        assert!(deepest.parse::<ChildPath>().is_ok());
        let long = vec!["a"; limits::MAX_DEPTH + 3].join("/");
        assert!(long.parse::<ChildPath>().is_err());
    }
}
