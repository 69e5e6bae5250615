//! Control messages: routing by path, snapshots, and operators' commands
//! whose answer waits until their effect is visible.

use std::time::Duration;

use supervisor_policy::{ChildKey, ChildStatus, Command, Input};
use supervisor_spec::limits::MAX_NODES;
use supervisor_spec::{ChildId, ChildPath, ChildSpec};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{Joined, KidKind, Msg, Node};
use crate::CommandError;
use crate::event::EventKind;
use crate::snapshot::{NodeSnapshot, NodeState};

/// A control message on its way to the node it addresses.
#[derive(Debug)]
pub(crate) struct Control {
    /// The ids below the receiving node, down to the addressed node.
    pub(crate) target: Vec<ChildId>,
    pub(crate) op: Op,
    pub(crate) reply: oneshot::Sender<Reply>,
}

#[derive(Debug)]
pub(crate) enum Op {
    /// The addressed supervisor's direct children.
    Children,
    /// A command on the addressed child.
    Command {
        command: CommandKind,
        reason: Option<String>,
        /// Who asked (e.g. an HTTP token's label), for the event.
        by: Option<String>,
    },
    /// Add a child to the addressed supervisor.
    Add(Box<ChildSpec>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommandKind {
    Restart,
    Terminate,
    Delete,
    Quarantine,
    Release,
    Pause,
    Resume,
}

pub(crate) type Reply = Result<Vec<NodeSnapshot>, CommandError>;

/// A command waiting for its effect to show.
pub(crate) struct Waiter {
    key: ChildKey,
    /// The child's path, for the answer if it is deleted first.
    path: ChildPath,
    want: Want,
    reply: oneshot::Sender<Reply>,
}

enum Want {
    /// The child is down (stopped, quarantined, paused).
    Down,
    /// An incarnation newer than this generation runs.
    Started(u64),
}

impl Node {
    pub(crate) fn on_control(&mut self, mut control: Control) {
        if control.target.is_empty() {
            match control.op {
                Op::Children => {
                    let _ = control.reply.send(Ok(self.children_snapshot()));
                }
                Op::Add(spec) => self.add_child(*spec, control.reply),
                Op::Command { .. } => {
                    let _ = control.reply.send(Err(CommandError::WrongKind {
                        path: self.path.clone(),
                        kind: "supervisor",
                        needed: "address one of its children",
                    }));
                }
            }
            return;
        }
        let id = control.target.remove(0);
        let Some(key) = self.engine.key(id.as_str()) else {
            let _ = control.reply.send(Err(CommandError::UnknownPath {
                path: format!("{}/{}", self.path, id),
            }));
            return;
        };
        if !control.target.is_empty() || matches!(control.op, Op::Children | Op::Add(_)) {
            // Addressed below, or to the child as a supervisor: forward it,
            // unless this supervisor is shutting down (the subtree is about
            // to stop; a command there must change nothing).
            if self.shutdown.is_some() && !matches!(control.op, Op::Children) {
                let _ = control.reply.send(Err(self.stopping_error()));
                return;
            }
            let Some(kid) = self.kid(key) else { return };
            if !matches!(kid.kind, KidKind::Supervisor(_)) {
                let _ = control.reply.send(Err(if control.target.is_empty() {
                    CommandError::WrongKind {
                        path: self.path_of(kid),
                        kind: kid.kind.name(),
                        needed: "only supervisors have children",
                    }
                } else {
                    CommandError::UnknownPath {
                        path: format!("{}/{}", Joined(&self.path, &kid.id), control.target[0]),
                    }
                }));
                return;
            }
            match kid.inbox() {
                Some(inbox) => {
                    if let Err(mpsc::error::SendError(Msg::Control(c))) =
                        inbox.send(Msg::Control(control))
                    {
                        let _ = c.reply.send(Err(CommandError::Rejected {
                            path: self.path.join(&id),
                            message: "the supervisor is not running".into(),
                        }));
                    }
                }
                None => {
                    let _ = control.reply.send(Err(CommandError::Rejected {
                        path: self.path_of(kid),
                        message: "the supervisor is not running".into(),
                    }));
                }
            }
            return;
        }
        let Op::Command {
            command,
            reason,
            by,
        } = control.op
        else {
            return;
        };
        self.command(key, command, reason, by, control.reply);
    }

    fn command(
        &mut self,
        key: ChildKey,
        kind: CommandKind,
        reason: Option<String>,
        by: Option<String>,
        reply: oneshot::Sender<Reply>,
    ) {
        let terminate = matches!(kind, CommandKind::Terminate);
        let (command, want) = match kind {
            CommandKind::Restart => (
                Command::Restart(key),
                Some(Want::Started(self.generation_of(key))),
            ),
            CommandKind::Terminate => (Command::Terminate(key), Some(Want::Down)),
            CommandKind::Delete => (Command::Delete(key), None),
            CommandKind::Quarantine => (Command::Quarantine(key), Some(Want::Down)),
            CommandKind::Release => (
                Command::Release(key),
                Some(Want::Started(self.generation_of(key))),
            ),
            CommandKind::Pause => (Command::Pause(key), Some(Want::Down)),
            CommandKind::Resume => (
                Command::Resume(key),
                Some(Want::Started(self.generation_of(key))),
            ),
        };
        // The engine decides on all it was told first (`Node::input` does
        // the same), before this command's reason is set for its stops.
        self.flush();
        let name = command.name();
        let path = self.kid(key).map(|k| self.path_of(k));
        self.pending_reason = reason.clone();
        let d = self.engine.handle(self.now(), Input::Command(command));
        if let (Some(Ok(())), Some(path)) = (&d.outcome, &path) {
            // Emitted before the decision's own events, so the stop that
            // follows reads as its consequence; a refused command changed
            // nothing and emits nothing.
            let reason = reason.clone();
            self.bus.emit(path, None, || EventKind::Command {
                command: name,
                reason,
                by,
            });
        }
        self.apply(&d);
        self.pending_reason = None;
        if terminate
            && matches!(d.outcome, Some(Ok(())))
            && let Some(kid) = self.kid_mut(key)
            && kid.live.is_none()
        {
            // Terminated while down (waiting for its restart): it is down
            // because we said so now, whatever its last exit was.
            kid.stopped_by_us = true;
        }
        match d.outcome {
            Some(Err(rejection)) => {
                let path = path.map_or_else(|| self.path.clone(), |p| p.clone());
                let error = if self.engine.is_shutting_down() {
                    self.stopping_error()
                } else {
                    CommandError::Rejected {
                        path,
                        message: rejection.message,
                    }
                };
                let _ = reply.send(Err(error));
            }
            _ => match want {
                None => {
                    let _ = reply.send(Ok(Vec::new()));
                }
                Some(want) => {
                    let path = path.unwrap_or_else(|| self.path.clone());
                    self.waiters.push(Waiter {
                        key,
                        path,
                        want,
                        reply,
                    });
                    self.check_waiters();
                }
            },
        }
    }

    fn generation_of(&self, key: ChildKey) -> u64 {
        self.kid(key)
            .and_then(|k| k.live.as_ref())
            .map_or(0, |l| l.generation.0)
    }

    /// Answers the commands whose effect is now visible.
    pub(crate) fn check_waiters(&mut self) {
        if self.waiters.is_empty() {
            return;
        }
        let waiters = std::mem::take(&mut self.waiters);
        for w in waiters {
            // Its caller gave up (its deadline ran out, or it dropped the
            // future): nobody is left to answer, and an operator retrying
            // a command that cannot take effect yet would grow the list.
            if w.reply.is_closed() {
                continue;
            }
            let done = match (&w.want, self.engine.status(w.key)) {
                (_, None) => Some(Err(CommandError::Rejected {
                    path: w.path.clone(),
                    message: "the child was deleted before the command took effect".into(),
                })),
                (Want::Down, Some(status)) => matches!(
                    status,
                    ChildStatus::Stopped | ChildStatus::Quarantined { .. } | ChildStatus::Paused
                )
                .then(|| Ok(self.snapshot_of(w.key).into_iter().collect())),
                (Want::Started(before), Some(ChildStatus::Running { generation, .. }))
                    if generation.0 > *before =>
                {
                    Some(Ok(self.snapshot_of(w.key).into_iter().collect()))
                }
                (Want::Started(_), Some(_)) => None,
            };
            match done {
                Some(result) => {
                    let _ = w.reply.send(result);
                }
                None => self.waiters.push(w),
            }
        }
        if self.shutdown.is_some() {
            for w in std::mem::take(&mut self.waiters) {
                let _ = w.reply.send(Err(self.stopping_error()));
            }
        }
    }

    /// Why a command cannot go on here: the whole tree shuts down (at the
    /// root), or only this nested supervisor stops (restarted, terminated,
    /// given up) while the tree runs on.
    fn stopping_error(&self) -> CommandError {
        if self.path.len() == 1 {
            CommandError::ShuttingDown
        } else {
            CommandError::Rejected {
                path: self.path.clone(),
                message: "this supervisor stopped before the command took effect".into(),
            }
        }
    }

    fn add_child(&mut self, spec: ChildSpec, reply: oneshot::Sender<Reply>) {
        if self.shutdown.is_some() {
            let _ = reply.send(Err(self.stopping_error()));
            return;
        }
        // Validated exactly like a static child, against its siblings as the
        // engine knows them (not by validating them all again: a pool
        // filled child by child would cost the square of its size).
        let nested =
            match self
                .header
                .validate_added(&self.path, &spec, &EngineSiblings(&self.engine))
            {
                Ok(nested) => nested,
                Err(e) => {
                    let _ = reply.send(Err(CommandError::Invalid(
                        e.errors
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; "),
                    )));
                    return;
                }
            };
        if let Err(message) = self.bindings.check_added(&self.path, &spec) {
            let _ = reply.send(Err(CommandError::Invalid(message)));
            return;
        }
        // The tree as a whole, as its validation at start counted it.
        let nodes = spec.node_count();
        if let Err(now) = self.bus.size.reserve(nodes) {
            let _ = reply.send(Err(CommandError::Invalid(format!(
                "the tree would have more than {MAX_NODES} nodes: it has {now} below its root, and `{}` adds {nodes}",
                spec.id
            ))));
            return;
        }
        self.flush();
        let d = self.engine.handle(
            self.now(),
            Input::Command(Command::Add(Box::new(spec.clone()))),
        );
        if let Some(Err(rejection)) = &d.outcome {
            self.bus.size.release(nodes);
            let _ = reply.send(Err(CommandError::Invalid(rejection.message.clone())));
            return;
        }
        match self.engine.key(spec.id.as_str()) {
            Some(key) => {
                self.add_kid(key, &spec, nested, true);
                if self.kid(key).is_some() {
                    self.added.insert(key, nodes);
                } else {
                    self.bus.size.release(nodes);
                }
            }
            None => self.bus.size.release(nodes),
        }
        if let Some(key) = self.engine.key(spec.id.as_str()) {
            self.emit_kid(key, None, || EventKind::Added);
        }
        self.apply(&d);
        match self.engine.key(spec.id.as_str()) {
            Some(key) => {
                self.waiters.push(Waiter {
                    key,
                    path: self.path.join(&spec.id),
                    want: Want::Started(0),
                    reply,
                });
                self.check_waiters();
            }
            None => {
                let _ = reply.send(Ok(Vec::new()));
            }
        }
    }

    /// Snapshots of this supervisor's direct children, in start order.
    pub(crate) fn children_snapshot(&self) -> Vec<NodeSnapshot> {
        self.engine
            .keys()
            .iter()
            .filter_map(|&k| self.snapshot_of(k))
            .collect()
    }

    pub(crate) fn snapshot_of(&self, key: ChildKey) -> Option<NodeSnapshot> {
        let kid = self.kid(key)?;
        let status = self.engine.status(key)?;
        let now = Instant::now();
        let state = match status {
            ChildStatus::Waiting { not_before } => {
                let at = self.bus.epoch + not_before.as_duration();
                if at > now {
                    NodeState::BackingOff {
                        remaining: at - now,
                    }
                } else {
                    NodeState::Starting
                }
            }
            ChildStatus::Running { ready: true, .. } => NodeState::Ready,
            ChildStatus::Running { ready: false, .. } => NodeState::RunningNotReady,
            ChildStatus::Stopping { .. } => NodeState::Stopping,
            ChildStatus::Stopped
                if !kid.stopped_by_us && kid.last_exit.is_some_and(|e| e.is_abnormal()) =>
            {
                NodeState::Failed
            }
            ChildStatus::Quarantined { .. } => NodeState::Quarantined,
            ChildStatus::Paused => NodeState::Paused,
            _ => NodeState::Stopped,
        };
        let live = kid.live.as_ref();
        Some(NodeSnapshot {
            path: self.path_of(kid),
            kind: kid.kind.name(),
            state,
            generation: live.map(|l| l.generation),
            restarts: self.engine.restarts(key),
            last_exit: kid.last_exit,
            last_error: kid.last_failure.as_ref().map(|f| f.chain()),
            uptime: live.map(|l| self.stamp().since(l.started)),
            children: Vec::new(),
        })
    }
}

/// A supervisor's children as its engine knows them, for validating a child
/// added at run time (`SupervisorSpec::validate_added`).
struct EngineSiblings<'a>(&'a supervisor_policy::Engine);

impl supervisor_spec::Siblings for EngineSiblings<'_> {
    fn count(&self) -> usize {
        self.0.keys().len()
    }

    fn position(&self, id: &ChildId) -> Option<usize> {
        // The index first: a scan only for an id that is taken.
        let key = self.0.key(id.as_str())?;
        self.0.keys().iter().position(|&k| k == key)
    }

    fn ids(&self) -> Vec<ChildId> {
        self.0
            .keys()
            .iter()
            .filter_map(|&k| self.0.id(k).cloned())
            .collect()
    }
}

/// How long a command may take by default before its caller stops waiting.
pub(crate) const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
