//! Errors: why a child failed ([`ChildFailure`]), why a tree did not start
//! ([`StartError`]), why a command was refused ([`CommandError`]).

use std::time::Duration;

use supervisor_spec::{ChildPath, TaskName, ValidationError};

use crate::{BoxError, ShutdownReport};

/// Why an incarnation failed: the user's error, a panic, a missed deadline,
/// or a nested supervisor that gave up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChildFailure {
    /// The task returned an error (kept as the source).
    #[error("task returned an error")]
    Error {
        /// The task's own error.
        #[source]
        source: TaskError,
        /// The error and its sources as one line, rendered inside the task
        /// (so an error whose `Display` panics fails the task, never the
        /// supervisor).
        message: String,
    },
    /// The task panicked.
    #[error("task panicked: {message}")]
    Panicked {
        /// The panic message (`"<non-string panic payload>"` if it was not text).
        message: String,
    },
    /// The task did not heartbeat within its liveness deadline.
    #[error("no heartbeat within the liveness deadline of {deadline:?}")]
    LivenessMissed {
        /// The deadline.
        deadline: Duration,
    },
    /// The task did not become ready within its readiness timeout.
    #[error("not ready within the readiness timeout of {timeout:?}")]
    ReadinessTimedOut {
        /// The timeout.
        timeout: Duration,
    },
    /// A nested supervisor gave up.
    #[error("supervisor gave up: {reason}")]
    Escalated {
        /// Why, as its escalation event said.
        reason: String,
    },
}

impl ChildFailure {
    /// The failure and its sources as one line (`task returned an error:
    /// connection refused`).
    pub fn chain(&self) -> String {
        match self {
            // Never formats the user's error here: see `message`.
            Self::Error { message, .. } => format!("{self}: {message}"),
            _ => self.to_string(),
        }
    }
}

/// A task's own error, kept as the source of its [`ChildFailure`].
///
/// Dropping it never panics: a user error whose `Drop` panics is dropped
/// inside `catch_unwind`, so it cannot take a supervisor (or an observer)
/// down with it.
pub struct TaskError(Option<BoxError>);

impl TaskError {
    /// The task's error.
    pub fn get(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.0.as_deref()
    }
}

impl From<BoxError> for TaskError {
    fn from(e: BoxError) -> Self {
        Self(Some(e))
    }
}

impl std::fmt::Debug for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The user's Debug is not called: it could panic too.
        f.write_str("TaskError")
    }
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(e) => std::fmt::Display::fmt(e, f),
            None => Ok(()),
        }
    }
}

impl std::error::Error for TaskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.as_deref().and_then(|e| e.source())
    }
}

impl Drop for TaskError {
    fn drop(&mut self) {
        if let Some(e) = self.0.take() {
            drop_quietly(e);
        }
    }
}

/// Drops `value`, catching a panic from its `Drop`.
pub(crate) fn drop_quietly<T>(value: T) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(value))).is_err() {
        tracing::error!("a task's error or panic payload panicked while being dropped");
    }
}

/// Renders a task's error where it was made: a `Display` that panics then
/// fails the task, not its supervisor.
pub(crate) fn rendered(e: BoxError) -> (BoxError, String) {
    let message = error_chain(&*e);
    (e, message)
}

/// An error and its sources as one line (`a: b: c`).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A tree could not be started. Nothing is left running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The spec failed validation.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Task names in the spec and bound tasks do not match.
    #[error(
        "task bindings do not match the tree: {}",
        binding_problems(unbound, unused)
    )]
    Binding {
        /// Workers whose task name has no bound implementation.
        unbound: Vec<(ChildPath, TaskName)>,
        /// Bound names no worker uses.
        unused: Vec<TaskName>,
    },
    /// The tree gave up before it was ready; everything started was shut
    /// down. Also what a panic of the root supervisor's own task gives (its
    /// children are aborted then), with the panic's message in `reason`: a
    /// runtime built without `enable_time` is the one known cause.
    #[error("the tree failed while starting: {reason}")]
    Failed {
        /// Why the root gave up.
        reason: String,
        /// How everything was stopped.
        report: Box<ShutdownReport>,
    },
    /// A name given to [`Supervisor::task`](crate::Supervisor::task) is not a valid task name.
    #[error("invalid task name: {0}")]
    BadTaskName(String),
    /// `start` was called outside a tokio runtime.
    #[error("supervisor trees must be started inside a tokio runtime")]
    NoRuntime,
}

fn binding_problems(unbound: &[(ChildPath, TaskName)], unused: &[TaskName]) -> String {
    let mut parts = Vec::new();
    if !unbound.is_empty() {
        let names: Vec<String> = unbound
            .iter()
            .map(|(path, task)| format!("{path} needs `{task}`"))
            .collect();
        parts.push(format!("unbound: {}", names.join(", ")));
    }
    if !unused.is_empty() {
        let names: Vec<String> = unused.iter().map(|t| format!("`{t}`")).collect();
        parts.push(format!("bound but unused: {}", names.join(", ")));
    }
    parts.join("; ")
}

/// A control command failed. Every error but [`Timeout`](Self::Timeout)
/// means the command changed nothing; after a `Timeout` its outcome is
/// not known (see there).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// No node has this path.
    #[error("no node at {path}")]
    UnknownPath {
        /// The path asked for.
        path: String,
    },
    /// The node is not of the kind the command needs.
    #[error("{path} is a {kind}; {needed}")]
    WrongKind {
        /// The node.
        path: ChildPath,
        /// Its kind.
        kind: &'static str,
        /// What the command needs.
        needed: &'static str,
    },
    /// The tree is shutting down or has ended.
    #[error("the tree is shutting down")]
    ShuttingDown,
    /// The supervisor refused the command in the child's current state.
    #[error("{path}: {message}")]
    Rejected {
        /// The child.
        path: ChildPath,
        /// Why.
        message: String,
    },
    /// A new child's spec is invalid.
    #[error("invalid child: {0}")]
    Invalid(String),
    /// Its effect did not show within the deadline, and the caller
    /// stopped waiting. The supervisor took the command and may still
    /// carry it out: a restart whose child is slow to stop still restarts
    /// it, and a child added by `start_child` stays in the tree (a retry
    /// then finds its id taken). Look at a snapshot to know. The same
    /// holds when a command's future is dropped once sent.
    #[error("no answer within {0:?} (the command may still take effect)")]
    Timeout(Duration),
}
