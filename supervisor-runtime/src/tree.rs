//! [`RunningTree`], the owner of a running tree, and [`SupervisorHandle`],
//! the cheap, cloneable control handle.

use std::sync::Arc;
use std::time::Duration;

use supervisor_policy::SupervisorExit;
use supervisor_spec::{ChildId, ChildPath, ChildSpec};
use tokio::sync::{broadcast, oneshot, watch};

use crate::context::Shared;
use crate::event::Bus;
use crate::node::inbox::Inbox;
use crate::node::{CommandKind, Control, Msg, NodeEnd, Op};
use crate::{CommandError, Event, NodeSnapshot, ShutdownReport, StopReason};

/// Why a tree ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// It was asked to shut down.
    Shutdown,
    /// Its significant children ended (`auto_shutdown`).
    AutoShutdown,
    /// The root supervisor gave up.
    GaveUp {
        /// Why.
        reason: String,
    },
}

/// How a tree ended, with its shutdown report.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TreeEnd {
    /// Why it ended.
    pub end: EndReason,
    /// The root's escalation reason, if it gave up.
    pub reason: Option<String>,
    /// How every node ended.
    pub report: ShutdownReport,
}

impl From<NodeEnd> for TreeEnd {
    fn from(end: NodeEnd) -> Self {
        let reason = end.reason.clone();
        Self {
            end: match end.exit {
                SupervisorExit::AutoShutdown { .. } => EndReason::AutoShutdown,
                SupervisorExit::Escalated { .. } => EndReason::GaveUp {
                    reason: end.reason.unwrap_or_default(),
                },
                _ => EndReason::Shutdown,
            },
            reason,
            report: end.report,
        }
    }
}

/// The owner of a running tree.
///
/// Dropping it starts a graceful shutdown of the whole tree, which then runs
/// in the background on the tokio runtime (bounded by the tree's shutdown
/// settings) — no task is left behind, but nobody waits for the report. To
/// wait for the shutdown and get its report, call
/// [`shutdown`](Self::shutdown) instead. If the tokio runtime itself shuts
/// down first, every task of the tree is dropped with it.
#[derive(Debug)]
pub struct RunningTree {
    handle: SupervisorHandle,
}

impl RunningTree {
    pub(crate) fn new(
        root: ChildPath,
        inbox: Inbox,
        me: Arc<Shared>,
        end: watch::Receiver<Option<Arc<TreeEnd>>>,
        bus: Arc<Bus>,
    ) -> Self {
        Self {
            handle: SupervisorHandle {
                inner: Arc::new(Inner {
                    root,
                    inbox,
                    me,
                    end,
                    bus,
                }),
                deadline: crate::node::DEFAULT_DEADLINE,
                requester: None,
            },
        }
    }

    /// A control handle: cheap to clone, usable from any task.
    pub fn handle(&self) -> SupervisorHandle {
        self.handle.clone()
    }

    /// Receives every event of the tree from now on. A receiver that falls
    /// more than the event capacity behind gets
    /// [`RecvError::Lagged`](broadcast::error::RecvError::Lagged) with the
    /// number it missed; the tree never waits for it.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.handle.inner.bus.subscribe()
    }

    /// Shuts the tree down gracefully and returns the report.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the shutdown goes on if the future is dropped.
    pub async fn shutdown(self) -> ShutdownReport {
        self.handle.inner.me.cancel(StopReason::Shutdown, None);
        let end = self.handle.join().await;
        // The report has an entry per node. When no other handle is left,
        // dropping this one drops the last receiver of the channel that
        // holds the end (its sender is gone once the root's task has
        // ended), and the report is moved out rather than copied.
        drop(self);
        match Arc::try_unwrap(end) {
            Ok(end) => end.report,
            Err(end) => end.report.clone(),
        }
    }

    /// Waits until the tree ends by itself (its root gave up or
    /// auto-shut-down) or is shut down through a handle.
    pub async fn join(&self) -> Arc<TreeEnd> {
        self.handle.join().await
    }

    /// Runs until SIGINT or SIGTERM (Ctrl-C elsewhere), then shuts down
    /// gracefully and returns the report; a second signal during the
    /// shutdown aborts every child at once. Returns earlier if the tree
    /// ends by itself. This is how services under systemd and Kubernetes
    /// are stopped.
    pub async fn run_until_signal(self) -> Arc<TreeEnd> {
        let inner = self.handle.inner.clone();
        // Made once for both waits: a second signal that comes with the
        // first, or before the second wait, is kept for it.
        let mut signals = crate::signal::Signals::new();
        tokio::select! {
            _ = signals.recv() => {
                tracing::info!("signal received: shutting down (a second signal aborts)");
                inner.me.cancel(StopReason::Shutdown, None);
            }
            end = self.handle.join() => return end,
        }
        tokio::select! {
            _ = signals.recv() => {
                tracing::warn!("second signal: aborting every child");
                inner.me.abort();
            }
            end = self.handle.join() => return end,
        }
        self.handle.join().await
    }
}

impl Drop for RunningTree {
    fn drop(&mut self) {
        self.handle.inner.me.cancel(StopReason::Shutdown, None);
    }
}

#[derive(Debug)]
struct Inner {
    root: ChildPath,
    inbox: Inbox,
    me: Arc<Shared>,
    end: watch::Receiver<Option<Arc<TreeEnd>>>,
    bus: Arc<Bus>,
}

/// Controls a running tree: snapshots and commands on any node by path.
///
/// Every command answers once its effect is visible (the child is really
/// down, or a new incarnation really started), within the handle's deadline
/// (10 s unless set with [`with_deadline`](Self::with_deadline)); it fails
/// with a [`CommandError`] on an unknown path, a wrong kind of node, a
/// refusal, or when the tree is shutting down, changing nothing. Past the
/// deadline it fails with [`CommandError::Timeout`], but the command was
/// taken and may still take effect, as it does when its future is dropped
/// after it was sent. A reason given with a
/// command shows up in its event and in the task's
/// [`stop_reason`](crate::TaskContext::stop_reason).
#[derive(Debug, Clone)]
pub struct SupervisorHandle {
    inner: Arc<Inner>,
    deadline: Duration,
    requester: Option<Arc<str>>,
}

/// Counts of a supervisor's children, as OTP's `count_children`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ChildCounts {
    /// All children.
    pub specs: usize,
    /// Children with an incarnation alive.
    pub active: usize,
    /// Nested supervisors.
    pub supervisors: usize,
    /// Workers (async and blocking).
    pub workers: usize,
}

impl SupervisorHandle {
    /// The same handle with another deadline for its commands.
    pub fn with_deadline(&self, deadline: Duration) -> Self {
        Self {
            deadline,
            ..self.clone()
        }
    }

    /// The same handle, naming `who` as the requester of its commands in
    /// their events (an HTTP token's label, an operator's name).
    pub fn with_requester(&self, who: &str) -> Self {
        Self {
            requester: Some(who.into()),
            ..self.clone()
        }
    }

    fn by(&self) -> Option<String> {
        self.requester.as_deref().map(str::to_owned)
    }

    fn target(&self, path: &str) -> Result<Vec<ChildId>, CommandError> {
        let unknown = || CommandError::UnknownPath {
            path: path.to_owned(),
        };
        let parsed: ChildPath = path.parse().map_err(|_| unknown())?;
        let mut segments = parsed.segments();
        match segments.next() {
            Some(root) if root == self.inner.root.leaf() => Ok(segments.cloned().collect()),
            _ => Err(unknown()),
        }
    }

    async fn send(&self, target: Vec<ChildId>, op: Op) -> Result<Vec<NodeSnapshot>, CommandError> {
        let (reply, rx) = oneshot::channel();
        if self.is_ended() {
            return Err(CommandError::ShuttingDown);
        }
        self.inner
            .inbox
            .send(Msg::Control(Control { target, op, reply }))
            .map_err(|_| CommandError::ShuttingDown)?;
        match tokio::time::timeout(self.deadline, rx).await {
            // A nested supervisor stopped under the command because the
            // whole tree shuts down: say so, as the root does.
            Ok(Ok(Err(CommandError::Rejected { .. }))) if self.is_stopping() => {
                Err(CommandError::ShuttingDown)
            }
            Ok(Ok(reply)) => reply,
            // The addressed supervisor ended before answering.
            Ok(Err(_)) if self.is_ended() || self.is_stopping() => Err(CommandError::ShuttingDown),
            Ok(Err(_)) => Err(CommandError::Rejected {
                path: self.inner.root.clone(),
                message: "a supervisor on the way stopped before answering".into(),
            }),
            Err(_) => Err(CommandError::Timeout(self.deadline)),
        }
    }

    fn is_ended(&self) -> bool {
        self.inner.end.borrow().is_some()
    }

    /// Whether the tree shuts down (or has ended): the root marks its own
    /// state when its shutdown begins, for whatever cause.
    fn is_stopping(&self) -> bool {
        self.inner.me.is_cancelled()
    }

    /// The direct children of the supervisor at `path`.
    ///
    /// # Errors
    ///
    /// Unknown path, a worker's path, or a tree that has ended.
    pub async fn children(&self, path: &str) -> Result<Vec<NodeSnapshot>, CommandError> {
        let target = self.target(path)?;
        self.send(target, Op::Children).await
    }

    /// The node at `path` (not the root: see [`tree`](Self::tree)).
    ///
    /// # Errors
    ///
    /// Unknown path, or a tree that has ended.
    pub async fn child(&self, path: &str) -> Result<NodeSnapshot, CommandError> {
        let mut target = self.target(path)?;
        let Some(id) = target.pop() else {
            return Err(CommandError::WrongKind {
                path: self.inner.root.clone(),
                kind: "supervisor",
                needed: "the root has no parent; use tree()",
            });
        };
        let siblings = self.send(target, Op::Children).await?;
        siblings
            .into_iter()
            .find(|s| s.path.leaf() == &id)
            .ok_or_else(|| CommandError::UnknownPath {
                path: path.to_owned(),
            })
    }

    /// Counts the children of the supervisor at `path`.
    ///
    /// # Errors
    ///
    /// As [`children`](Self::children).
    pub async fn count_children(&self, path: &str) -> Result<ChildCounts, CommandError> {
        let children = self.children(path).await?;
        let mut counts = ChildCounts {
            specs: children.len(),
            ..ChildCounts::default()
        };
        for c in &children {
            if c.generation.is_some() {
                counts.active += 1;
            }
            if c.kind == "supervisor" {
                counts.supervisors += 1;
            } else {
                counts.workers += 1;
            }
        }
        Ok(counts)
    }

    /// A snapshot of the whole tree: the root and every node below it.
    ///
    /// # Errors
    ///
    /// A tree that has ended.
    pub async fn tree(&self) -> Result<NodeSnapshot, CommandError> {
        let root = self.inner.root.clone();
        let mut top = NodeSnapshot {
            path: root.clone(),
            kind: "supervisor",
            state: if self.is_stopping() {
                crate::NodeState::Stopping
            } else if self.is_ready() {
                crate::NodeState::Ready
            } else {
                crate::NodeState::RunningNotReady
            },
            generation: None,
            restarts: 0,
            last_exit: None,
            last_error: None,
            uptime: Some(self.inner.bus.epoch.elapsed()),
            children: Vec::new(),
        };
        top.children = self.send(Vec::new(), Op::Children).await?;
        fill(self, &mut top.children).await?;
        Ok(top)
    }

    async fn command(
        &self,
        path: &str,
        command: CommandKind,
        reason: Option<&str>,
    ) -> Result<NodeSnapshot, CommandError> {
        let target = self.target(path)?;
        if target.is_empty() {
            return Err(CommandError::WrongKind {
                path: self.inner.root.clone(),
                kind: "supervisor",
                needed: "commands address a child; use shutdown() for the root",
            });
        }
        let reason = reason.map(str::to_owned);
        let by = self.by();
        let mut out = self
            .send(
                target,
                Op::Command {
                    command,
                    reason,
                    by,
                },
            )
            .await?;
        out.pop().ok_or_else(|| CommandError::UnknownPath {
            path: path.to_owned(),
        })
    }

    /// Stops the child at `path` (if it runs) and starts it again at once:
    /// no backoff, not counted against intensity or budget. Answers when the
    /// new incarnation runs.
    ///
    /// # Errors
    ///
    /// See [`SupervisorHandle`].
    pub async fn restart_child(
        &self,
        path: &str,
        reason: Option<&str>,
    ) -> Result<NodeSnapshot, CommandError> {
        self.command(path, CommandKind::Restart, reason).await
    }

    /// Stops the child and leaves it down until restarted. Answers when it
    /// is down.
    ///
    /// # Errors
    ///
    /// See [`SupervisorHandle`].
    pub async fn terminate_child(
        &self,
        path: &str,
        reason: Option<&str>,
    ) -> Result<NodeSnapshot, CommandError> {
        self.command(path, CommandKind::Terminate, reason).await
    }

    /// Removes a child that is down from its supervisor.
    ///
    /// # Errors
    ///
    /// Rejected while it runs (terminate it first) or while siblings depend on it.
    pub async fn delete_child(&self, path: &str, reason: Option<&str>) -> Result<(), CommandError> {
        let target = self.target(path)?;
        let reason = reason.map(str::to_owned);
        self.send(
            target,
            Op::Command {
                command: CommandKind::Delete,
                reason,
                by: self.by(),
            },
        )
        .await
        .map(drop)
    }

    /// Stops the child and keeps it quarantined until released.
    ///
    /// # Errors
    ///
    /// See [`SupervisorHandle`].
    pub async fn quarantine_child(
        &self,
        path: &str,
        reason: Option<&str>,
    ) -> Result<NodeSnapshot, CommandError> {
        self.command(path, CommandKind::Quarantine, reason).await
    }

    /// Starts a quarantined child again with a fresh budget.
    ///
    /// # Errors
    ///
    /// See [`SupervisorHandle`].
    pub async fn release_child(
        &self,
        path: &str,
        reason: Option<&str>,
    ) -> Result<NodeSnapshot, CommandError> {
        self.command(path, CommandKind::Release, reason).await
    }

    /// Stops the child and keeps it paused until resumed.
    ///
    /// # Errors
    ///
    /// See [`SupervisorHandle`].
    pub async fn pause_child(
        &self,
        path: &str,
        reason: Option<&str>,
    ) -> Result<NodeSnapshot, CommandError> {
        self.command(path, CommandKind::Pause, reason).await
    }

    /// Starts a paused child again; answers when it runs.
    ///
    /// # Errors
    ///
    /// See [`SupervisorHandle`].
    pub async fn resume_child(
        &self,
        path: &str,
        reason: Option<&str>,
    ) -> Result<NodeSnapshot, CommandError> {
        self.command(path, CommandKind::Resume, reason).await
    }

    /// Adds a child to the supervisor at `path`, validated exactly like a
    /// static one, and starts it; its task must be bound already. It is
    /// owned by the tree and shut down with it.
    ///
    /// The tree as a whole stays within
    /// [`MAX_NODES`](supervisor_spec::limits::MAX_NODES): its spec's nodes,
    /// and those added and not deleted, count. Those a nested supervisor
    /// added are given back when it stops, since it restarts from its spec;
    /// for the same reason, a child of a nested supervisor's spec keeps its
    /// count when deleted (one of the root's does not).
    ///
    /// # Errors
    ///
    /// An invalid spec, an unbound task, a tree that would have more than
    /// `MAX_NODES` nodes ([`CommandError::Invalid`] for all three), or the
    /// errors of [`SupervisorHandle`].
    pub async fn start_child(
        &self,
        path: &str,
        spec: ChildSpec,
    ) -> Result<NodeSnapshot, CommandError> {
        let target = self.target(path)?;
        let mut out = self.send(target, Op::Add(Box::new(spec))).await?;
        out.pop().ok_or(CommandError::ShuttingDown)
    }

    /// Shuts the tree down gracefully and returns the report. Every caller
    /// gets the same report.
    pub async fn shutdown(&self) -> ShutdownReport {
        self.inner.me.cancel(StopReason::Shutdown, None);
        self.join().await.report.clone()
    }

    /// Waits until the tree has ended, and returns how. Calling it again (or
    /// from several handles) returns the same value.
    pub async fn join(&self) -> Arc<TreeEnd> {
        let mut end = self.inner.end.clone();
        let waited = end.wait_for(Option::is_some).await.map(|v| v.clone());
        // The sender is dropped only after it sent the end.
        let found = waited.unwrap_or_else(|_| end.borrow().clone());
        found.unwrap_or_else(|| {
            lost_end(
                &self.inner.root,
                "the root supervisor task ended without a report".to_owned(),
            )
        })
    }

    /// Whether the root is ready right now (every child that is not
    /// temporary is ready, recursively). What a readiness probe reports.
    pub fn is_ready(&self) -> bool {
        !self.is_ended() && self.inner.me.is_rolled_up_ready()
    }

    /// Whether the tree finished its initial start (its root was ready at
    /// least once). What a startup probe reports.
    pub fn is_started(&self) -> bool {
        self.inner.me.was_ever_ready()
    }

    /// How the tree ended, once it has; `None` while it runs.
    pub fn end(&self) -> Option<Arc<TreeEnd>> {
        self.inner.end.borrow().clone()
    }

    /// When the tree started, as the tokio clock saw it.
    pub fn started_at(&self) -> tokio::time::Instant {
        self.inner.bus.epoch
    }

    /// The root's path.
    pub fn root(&self) -> &ChildPath {
        &self.inner.root
    }

    /// Receives every event of the tree from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.bus.subscribe()
    }
}

/// The end of a tree whose root's task ended without its own: it panicked
/// (`Supervisor::start` catches that, and says so in `reason`), or the
/// runtime dropped it. Reported as a tree that gave up, with no children
/// in its report: the root's node aborted them as it was dropped.
pub(crate) fn lost_end(root: &ChildPath, reason: String) -> Arc<TreeEnd> {
    Arc::new(TreeEnd {
        end: EndReason::GaveUp {
            reason: reason.clone(),
        },
        reason: Some(reason),
        report: ShutdownReport {
            path: root.clone(),
            kind: "supervisor",
            outcome: crate::StopOutcome::Aborted,
            last_exit: None,
            last_error: None,
            took: Duration::ZERO,
            subtasks: 0,
            children: Vec::new(),
        },
    })
}

fn fill<'a>(
    handle: &'a SupervisorHandle,
    nodes: &'a mut [NodeSnapshot],
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), CommandError>> + Send + 'a>> {
    Box::pin(async move {
        for node in nodes.iter_mut() {
            if node.kind == "supervisor" && node.generation.is_some() {
                let path = node.path.to_string();
                let target = handle.target(&path)?;
                match handle.send(target, Op::Children).await {
                    Ok(children) => {
                        node.children = children;
                        fill(handle, &mut node.children).await?;
                    }
                    // It stopped between the two requests: show it childless.
                    Err(CommandError::Rejected { .. }) => {}
                    // The tree runs on, but this supervisor just stopped.
                    Err(CommandError::ShuttingDown) if !handle.is_ended() => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    })
}
