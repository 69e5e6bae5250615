//! [`ShutdownReport`]: how every node of a tree ended.

use std::fmt;
use std::time::Duration;

use supervisor_policy::ExitKind;
use supervisor_spec::ChildPath;

/// How one child ended when its supervisor stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopOutcome {
    /// It had ended by itself before the stop.
    Completed,
    /// It stopped cooperatively within its graceful timeout.
    Stopped,
    /// It ignored its graceful timeout and was aborted.
    Aborted,
    /// It did not end even after the abort wait (a thread that ignores its
    /// stop, or a task blocking its thread); it was left behind, reported,
    /// and not waited for.
    Detached,
    /// It returned an error or panicked while stopping.
    FailedWhileStopping,
    /// It was not running when the stop began (never started, terminated,
    /// quarantined, paused, waiting for a restart).
    AlreadyStopped,
}

impl StopOutcome {
    /// The snake_case name used in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Stopped => "stopped",
            Self::Aborted => "aborted",
            Self::Detached => "detached",
            Self::FailedWhileStopping => "failed_while_stopping",
            Self::AlreadyStopped => "already_stopped",
        }
    }
}

/// A tree-shaped account of a shutdown: per node how it ended, its last
/// exit and how long its stop took.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// The node.
    pub path: ChildPath,
    /// `worker`, `blocking` or `supervisor`.
    pub kind: &'static str,
    /// How it ended.
    pub outcome: StopOutcome,
    /// How its last incarnation ended, if one ran.
    pub last_exit: Option<ExitKind>,
    /// Its last failure, if any, as one line.
    pub last_error: Option<String>,
    /// How long its stop took (zero if it was not running).
    pub took: Duration,
    /// Owned sub-tasks that were still running when it stopped.
    pub subtasks: usize,
    /// A supervisor's children, in start order.
    pub children: Vec<ShutdownReport>,
}

impl ShutdownReport {
    /// Every node of the tree, depth first, the root first.
    pub fn nodes(&self) -> Vec<&ShutdownReport> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            out.push(node);
            stack.extend(node.children.iter().rev());
        }
        out
    }

    /// The node at `path`, if the report has it.
    pub fn find(&self, path: &str) -> Option<&ShutdownReport> {
        self.nodes()
            .into_iter()
            .find(|n| n.path.to_string() == path)
    }

    /// How many nodes ended with `outcome`.
    pub fn count(&self, outcome: StopOutcome) -> usize {
        self.nodes().iter().filter(|n| n.outcome == outcome).count()
    }
}

impl fmt::Display for ShutdownReport {
    /// One node a line, indented like the tree:
    ///
    /// ```text
    /// root (supervisor): stopped in 12ms
    ///   api (worker): stopped in 3ms, last exit stopped
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut stack = vec![(self, 0usize)];
        while let Some((node, depth)) = stack.pop() {
            write!(
                f,
                "{:indent$}{} ({}): {}",
                "",
                node.path.leaf(),
                node.kind,
                node.outcome.as_str(),
                indent = depth * 2
            )?;
            if !node.took.is_zero() {
                write!(f, " in {:?}", node.took)?;
            }
            if let Some(exit) = node.last_exit {
                write!(f, ", last exit {}", exit.as_str())?;
            }
            if let Some(err) = &node.last_error {
                write!(f, " ({err})")?;
            }
            if node.subtasks > 0 {
                write!(f, ", {} owned sub-tasks cancelled", node.subtasks)?;
            }
            writeln!(f)?;
            for child in node.children.iter().rev() {
                stack.push((child, depth + 1));
            }
        }
        Ok(())
    }
}
