//! Validated names: [`ChildId`] for nodes of the tree and [`TaskName`] for task bindings.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::IdError;

/// The longest [`ChildId`], in bytes (the length of a DNS label, as Kubernetes names use).
pub const MAX_ID_LEN: usize = 63;

/// The longest [`TaskName`], in bytes.
pub const MAX_TASK_NAME_LEN: usize = 128;

/// The name of one node (a worker or a nested supervisor) among its siblings.
///
/// Cheap to clone: the text is shared, so the many places that name a child
/// (its path, the engine's index, events) share one allocation.
///
/// A child id is 1 to 63 bytes of lowercase ASCII letters, digits, `_`, `-`
/// and `.`, starting with a letter or a digit. The rules keep ids usable
/// unchanged as metric label values, file names and URL path segments, and
/// `/` is left out because it separates the ids of a [`ChildPath`].
///
/// [`ChildPath`]: crate::ChildPath
///
/// # Examples
///
/// ```
/// use supervisor_spec::ChildId;
///
/// let id: ChildId = "ingest-2".parse()?;
/// assert_eq!(id.as_str(), "ingest-2");
/// assert!("Ingest".parse::<ChildId>().is_err());
/// # Ok::<(), supervisor_spec::IdError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
#[schemars(
    description = "A child id: 1 to 63 of a-z, 0-9, '_', '-', '.', starting with a letter or a digit.",
    extend("pattern" = "^[a-z0-9][a-z0-9_.-]{0,62}$", "minLength" = 1, "maxLength" = 63)
)]
pub struct ChildId(Arc<str>);

impl ChildId {
    /// Checks `id` against the rules above and wraps it.
    ///
    /// # Errors
    ///
    /// Returns [`IdError`] naming the offending character or the length.
    pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
        Self::checked(&id.into())
    }

    /// Checks borrowed text and copies it into the one shared allocation
    /// (`new` takes a `String` that `Arc<str>` could not reuse anyway).
    pub(crate) fn checked(id: &str) -> Result<Self, IdError> {
        check_name(id, MAX_ID_LEN, "child id", |b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        })?;
        if !id
            .as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(IdError::BadStart {
                kind: "child id",
                id: id.to_owned(),
            });
        }
        Ok(Self(id.into()))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name under which a worker's task implementation is bound at run time.
///
/// A task name is 1 to 128 bytes of ASCII letters, digits, `_`, `-`, `.` and
/// `:` (so a Rust path such as `jobs::ingest` is a valid name).
///
/// Cheap to clone, like [`ChildId`]. Children built one after another with
/// the same task name (`with_task("idle")` in a loop) share one copy of it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
#[schemars(
    description = "The name a worker's task is bound under: 1 to 128 of A-Z, a-z, 0-9, '_', '-', '.', ':'.",
    extend("pattern" = "^[A-Za-z0-9_.:-]{1,128}$", "minLength" = 1, "maxLength" = 128)
)]
pub struct TaskName(Arc<str>);

impl TaskName {
    /// Checks `name` against the rules above and wraps it.
    ///
    /// # Errors
    ///
    /// Returns [`IdError`] naming the offending character or the length.
    pub fn new(name: impl Into<String>) -> Result<Self, IdError> {
        Self::checked(&name.into())
    }

    /// Checks borrowed text and copies it into the one shared allocation,
    /// unless it is the name this thread made last (see [`LAST_TASK_NAME`]).
    pub(crate) fn checked(name: &str) -> Result<Self, IdError> {
        let last = LAST_TASK_NAME.try_with(|last| {
            last.borrow()
                .as_ref()
                .filter(|t| t.as_str() == name)
                .cloned()
        });
        if let Ok(Some(same)) = last {
            return Ok(same);
        }
        check_name(name, MAX_TASK_NAME_LEN, "task name", |b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')
        })?;
        let made = Self(name.into());
        // Fails only while the thread is being torn down: then nothing is kept.
        let _ = LAST_TASK_NAME.try_with(|last| *last.borrow_mut() = Some(made.clone()));
        Ok(made)
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

thread_local! {
    /// The task name made last on this thread. Siblings built in a loop
    /// mostly share their task (`with_task("idle")` for each of thousands of
    /// children, or a config file's repeated `task` key): each of them then
    /// shares this one allocation, instead of checking and copying the text
    /// again. A thread keeps at most this one name (128 bytes at most).
    static LAST_TASK_NAME: RefCell<Option<TaskName>> = const { RefCell::new(None) };
}

impl From<ChildId> for TaskName {
    fn from(id: ChildId) -> Self {
        // Every valid child id is a valid task name.
        Self(id.0)
    }
}

/// Checks length and charset; `allowed` accepts ASCII bytes only, so the
/// first byte it rejects starts the character to report.
fn check_name(
    s: &str,
    max: usize,
    kind: &'static str,
    allowed: impl Fn(u8) -> bool,
) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.len() > max {
        return Err(IdError::TooLong {
            kind,
            len: s.len(),
            max,
        });
    }
    if let Some(c) = s
        .bytes()
        .position(|b| !allowed(b))
        .and_then(|at| s.get(at..))
        .and_then(|rest| rest.chars().next())
    {
        return Err(IdError::BadChar {
            kind,
            id: s.to_owned(),
            c,
        });
    }
    Ok(())
}

macro_rules! name_impls {
    ($ty:ident) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl FromStr for $ty {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::checked(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = IdError;

            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = IdError;

            fn try_from(s: &str) -> Result<Self, IdError> {
                Self::checked(s)
            }
        }

        impl From<$ty> for String {
            fn from(id: $ty) -> String {
                id.0.to_string()
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $ty {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }
    };
}

name_impls!(ChildId);
name_impls!(TaskName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_documented_charset() {
        for ok in [
            "a",
            "0",
            "ingest",
            "ingest-2",
            "db.writer",
            "a_b",
            &"x".repeat(63),
        ] {
            assert!(ChildId::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_empty_id() {
        assert_eq!(
            ChildId::new("").unwrap_err().to_string(),
            "child id is empty"
        );
    }

    #[test]
    fn rejects_uppercase_and_slash() {
        let err = ChildId::new("Ingest").unwrap_err().to_string();
        assert_eq!(
            err,
            "child id \"Ingest\" contains 'I'; allowed are a-z, 0-9, '_', '-', '.' (and ':' and A-Z in task names)"
        );
        assert!(ChildId::new("a/b").is_err());
    }

    #[test]
    fn names_the_first_bad_character_even_beyond_ascii() {
        for (text, c) in [("aé", 'é'), ("ab\u{1F600}c", '\u{1F600}'), ("a b", ' ')] {
            for err in [
                ChildId::new(text).unwrap_err(),
                text.parse::<ChildId>().unwrap_err(),
                TaskName::try_from(text).unwrap_err(),
            ] {
                assert!(
                    matches!(&err, IdError::BadChar { id, c: found, .. } if id == text && *found == c),
                    "{err:?}"
                );
            }
        }
    }

    #[test]
    fn rejects_leading_punctuation() {
        let err = ChildId::new("-x").unwrap_err().to_string();
        assert_eq!(err, "child id \"-x\" must start with a letter or a digit");
    }

    #[test]
    fn rejects_too_long_id() {
        let err = ChildId::new("x".repeat(64)).unwrap_err().to_string();
        assert_eq!(err, "child id is 64 bytes long; at most 63 are allowed");
    }

    #[test]
    fn task_names_allow_rust_paths() {
        assert!(TaskName::new("jobs::Ingest").is_ok());
        assert!(TaskName::new("jobs ingest").is_err());
    }

    #[test]
    fn a_task_name_made_again_shares_the_last_ones_text() {
        let first = TaskName::new("shared-task").unwrap();
        let again = TaskName::try_from("shared-task").unwrap();
        assert!(Arc::ptr_eq(&first.0, &again.0));
        // Another name is made (and checked) anew, and becomes the last one.
        let other = TaskName::new("other-task").unwrap();
        assert!(!Arc::ptr_eq(&first.0, &other.0));
        assert_eq!(other.as_str(), "other-task");
        assert!(Arc::ptr_eq(
            &other.0,
            &TaskName::new("other-task").unwrap().0
        ));
        // A bad name is never taken for the last good one.
        assert!(TaskName::new("other-task ").is_err());
        assert!(TaskName::new("other").is_ok_and(|t| t.as_str() == "other"));
        // Children built in a loop share their task's text.
        let children: Vec<_> = (0..3)
            .map(|i| {
                crate::ChildSpec::worker(format!("w{i}").as_str())
                    .and_then(|c| c.with_task("idle"))
                    .unwrap()
            })
            .collect();
        let tasks: Vec<_> = children.iter().filter_map(|c| c.task()).collect();
        assert_eq!(tasks.len(), 3);
        assert!(tasks.windows(2).all(|w| Arc::ptr_eq(&w[0].0, &w[1].0)));
    }

    #[test]
    fn deserializing_checks_the_rules() {
        let err = serde_json::from_str::<ChildId>("\"a b\"").unwrap_err();
        assert!(err.to_string().contains("contains ' '"), "{err}");
    }
}
