//! Errors raised while building names, paths and durations.

/// A string was not a valid [`ChildId`](crate::ChildId), [`TaskName`](crate::TaskName)
/// or [`ChildPath`](crate::ChildPath).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The name was empty.
    #[error("{kind} is empty")]
    Empty {
        /// What was being named ("child id", "task name").
        kind: &'static str,
    },
    /// The name was longer than allowed.
    #[error("{kind} is {len} bytes long; at most {max} are allowed")]
    TooLong {
        /// What was being named.
        kind: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The name contained a character outside its charset.
    #[error(
        "{kind} {id:?} contains {c:?}; allowed are a-z, 0-9, '_', '-', '.' (and ':' and A-Z in task names)"
    )]
    BadChar {
        /// What was being named.
        kind: &'static str,
        /// The rejected name.
        id: String,
        /// The first character that is not allowed.
        c: char,
    },
    /// The name started with punctuation.
    #[error("{kind} {id:?} must start with a letter or a digit")]
    BadStart {
        /// What was being named.
        kind: &'static str,
        /// The rejected name.
        id: String,
    },
    /// A path had an empty segment or too many segments.
    #[error("child path {path:?}: {problem}")]
    BadPath {
        /// The rejected path.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
}
