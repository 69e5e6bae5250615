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
/// Cheap to clone and to extend: the segments are shared, so cloning a
/// path costs a reference count or two, and so does [`join`](Self::join)
/// (a child's path shares its parent's segments and adds its own id).
#[derive(Clone, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct ChildPath {
    /// The segments from the root: all of them, or all but the last when
    /// `tail` holds it.
    head: Arc<[ChildId]>,
    /// The last segment of a path made by `join`, kept apart so that the
    /// parent's segments are shared rather than copied.
    tail: Option<ChildId>,
}

impl ChildPath {
    /// The path of a root node.
    pub fn root(id: ChildId) -> Self {
        Self::flat(Arc::from([id]))
    }

    fn flat(head: Arc<[ChildId]>) -> Self {
        Self { head, tail: None }
    }

    /// The path of `child` below this node. Allocates nothing when this
    /// path was not itself made by `join`; a supervisor's path, which its
    /// children's are joined to, can be made so once with
    /// [`flattened`](Self::flattened).
    pub fn join(&self, child: &ChildId) -> Self {
        let head = match &self.tail {
            None => self.head.clone(),
            Some(_) => self.flattened().head,
        };
        Self {
            head,
            tail: Some(child.clone()),
        }
    }

    /// The same path with its segments in one shared slice (one
    /// allocation if it was made by `join`), so that the paths joined to
    /// it share them.
    pub fn flattened(&self) -> Self {
        match &self.tail {
            None => self.clone(),
            Some(tail) => Self::flat(
                self.head
                    .iter()
                    .chain(std::iter::once(tail))
                    .cloned()
                    .collect(),
            ),
        }
    }

    /// The path of the parent node, or `None` for a root.
    pub fn parent(&self) -> Option<Self> {
        match &self.tail {
            Some(_) => Some(Self::flat(self.head.clone())),
            None => {
                (self.head.len() > 1).then(|| Self::flat(self.head[..self.head.len() - 1].into()))
            }
        }
    }

    /// The id of the node this path names.
    pub fn leaf(&self) -> &ChildId {
        // Invariant: `head` always holds at least the root.
        match &self.tail {
            Some(tail) => tail,
            None => &self.head[self.head.len() - 1],
        }
    }

    /// The ids from the root down ([`len`](Self::len) of them).
    pub fn segments(&self) -> impl DoubleEndedIterator<Item = &ChildId> + Clone {
        self.head.iter().chain(self.tail.as_ref())
    }

    /// The number of segments (1 for a root).
    #[allow(clippy::len_without_is_empty)] // a path is never empty
    pub fn len(&self) -> usize {
        self.head.len() + usize::from(self.tail.is_some())
    }

    /// Whether `self` is `other` or one of its ancestors.
    pub fn is_prefix_of(&self, other: &ChildPath) -> bool {
        self.len() <= other.len() && self.segments().zip(other.segments()).all(|(a, b)| a == b)
    }
}

impl PartialEq for ChildPath {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.segments().eq(other.segments())
    }
}

impl Eq for ChildPath {}

impl PartialOrd for ChildPath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ChildPath {
    /// Segment by segment, as a slice of the ids would compare.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.segments().cmp(other.segments())
    }
}

impl std::hash::Hash for ChildPath {
    /// As a slice of ids hashes (its length, then each id), whichever way
    /// the path is held.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for id in self.segments() {
            id.hash(state);
        }
    }
}

impl fmt::Display for ChildPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.segments().enumerate() {
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
        Ok(Self::flat(segments.into()))
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
        assert_eq!(p.segments().count(), 3);
        assert_eq!(p.len(), 3);
        assert!(p.parent().unwrap().is_prefix_of(&p));
        assert!(!p.is_prefix_of(&p.parent().unwrap()));
        assert_eq!(ChildPath::root(p.leaf().clone()).parent(), None);
    }

    #[test]
    fn join_appends_at_every_depth() {
        // Joined to a flat parent, and to a parent that was joined itself.
        for depth in 1..=5 {
            let text = vec!["n"; depth].join("/");
            let parent: ChildPath = text.parse().unwrap();
            let joined = parent.join(&ChildId::new("leaf").unwrap());
            assert_eq!(joined.to_string(), format!("{text}/leaf"));
            assert_eq!(joined.len(), depth + 1);
            assert_eq!(joined.parent(), Some(parent.clone()));
            let deeper = joined.join(&ChildId::new("more").unwrap());
            assert_eq!(deeper.to_string(), format!("{text}/leaf/more"));
            assert_eq!(deeper.parent(), Some(joined));
        }
    }

    #[test]
    fn joined_and_parsed_paths_are_the_same_path() {
        use std::collections::hash_map::DefaultHasher;
        use std::hash::{Hash, Hasher};

        let hash = |p: &ChildPath| {
            let mut h = DefaultHasher::new();
            p.hash(&mut h);
            h.finish()
        };
        let id = |s: &str| ChildId::new(s).unwrap();
        let root = ChildPath::root(id("root"));
        // Joined twice: the second join flattens the first.
        let joined = root.join(&id("jobs")).join(&id("ingest"));
        let parsed: ChildPath = "root/jobs/ingest".parse().unwrap();
        assert_eq!(joined, parsed);
        assert_eq!(hash(&joined), hash(&parsed));
        assert_eq!(joined.cmp(&parsed), std::cmp::Ordering::Equal);
        assert_eq!(joined.to_string(), "root/jobs/ingest");
        assert_eq!(joined.len(), 3);
        assert_eq!(joined.leaf().as_str(), "ingest");
        assert_eq!(
            joined.segments().map(ChildId::as_str).collect::<Vec<_>>(),
            ["root", "jobs", "ingest"]
        );
        assert_eq!(joined.parent().unwrap(), "root/jobs".parse().unwrap());
        assert_eq!(joined.flattened(), parsed);
        assert!(root.join(&id("jobs")).is_prefix_of(&parsed));
        assert!(parsed.parent().unwrap().is_prefix_of(&joined));
        assert!(!joined.is_prefix_of(&root.join(&id("jobs"))));
        assert!(!root.join(&id("job")).is_prefix_of(&parsed));
        // Ordered segment by segment, as before.
        let a: ChildPath = "root/a".parse().unwrap();
        assert!(a < root.join(&id("b")));
        assert!(root < root.join(&id("a")));
        // As a string on the wire, whichever way it is held.
        let json = serde_json::to_string(&joined).unwrap();
        assert_eq!(json, "\"root/jobs/ingest\"");
        assert_eq!(serde_json::from_str::<ChildPath>(&json).unwrap(), joined);
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
