//! A harness that drives an engine by child id and renders decisions as
//! short lines, so tests read like the behaviour they check.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use supervisor_policy::{
    Action, ChildKey, ChildStatus, Command, Decision, Engine, ExitKind, Generation, Input, Rule,
    StopReason, SupervisorExit, Time,
};
use supervisor_spec::{Backoff, ChildSpec, SupervisorSpec};

pub struct Harness {
    pub engine: Engine,
    pub now: Time,
}

/// A worker with no backoff and no jitter, so timings in tests are exact.
pub fn worker(id: &str) -> ChildSpec {
    ChildSpec::worker(id).unwrap().with_backoff(Backoff::none())
}

pub fn sup(children: impl IntoIterator<Item = ChildSpec>) -> SupervisorSpec {
    SupervisorSpec::new("root")
        .unwrap()
        .with_intensity(100, Duration::from_secs(1))
        .with_children(children)
}

impl Harness {
    pub fn new(spec: SupervisorSpec) -> Self {
        let valid = spec.validate().expect("test spec is valid");
        Self {
            engine: Engine::new(&valid, 1),
            now: Time::ZERO,
        }
    }

    /// Builds and starts, marking every started child ready.
    pub fn started(spec: SupervisorSpec) -> Self {
        let mut h = Self::new(spec);
        let d = h.engine.start(h.now);
        h.ready_all(&d);
        h
    }

    pub fn start(&mut self) -> Decision {
        self.engine.start(self.now)
    }

    pub fn key(&self, id: &str) -> ChildKey {
        self.engine
            .key(id)
            .unwrap_or_else(|| panic!("no child {id}"))
    }

    pub fn generation(&self, id: &str) -> Generation {
        match self.engine.status(self.key(id)) {
            Some(
                ChildStatus::Running { generation, .. } | ChildStatus::Stopping { generation },
            ) => generation,
            other => panic!("{id} is not alive: {other:?}"),
        }
    }

    pub fn status(&self, id: &str) -> ChildStatus {
        self.engine.status(self.key(id)).unwrap()
    }

    pub fn advance(&mut self, ms: u64) {
        self.now = self.now + Duration::from_millis(ms);
    }

    pub fn handle(&mut self, input: Input) -> Decision {
        self.engine.handle(self.now, input)
    }

    pub fn exit(&mut self, id: &str, exit: ExitKind) -> Decision {
        let (child, generation) = (self.key(id), self.generation(id));
        self.handle(Input::Exited {
            child,
            generation,
            exit,
        })
    }

    pub fn ready(&mut self, id: &str) -> Decision {
        let (child, generation) = (self.key(id), self.generation(id));
        self.handle(Input::Ready { child, generation })
    }

    pub fn command(&mut self, c: Command) -> Decision {
        self.handle(Input::Command(c))
    }

    /// Jumps to the next deadline and fires the timer.
    pub fn timer(&mut self) -> Decision {
        let t = self.engine.next_deadline().expect("a deadline is set");
        self.now = self.now.max(t);
        self.handle(Input::Timer)
    }

    /// Reports every stop in `d` as done (in order), then marks every child
    /// started along the way ready; returns all lines produced.
    pub fn complete(&mut self, d: &Decision) -> Vec<String> {
        let mut lines = Vec::new();
        let mut pending: Vec<Action> = d.actions.clone();
        while !pending.is_empty() {
            let action = pending.remove(0);
            match action {
                Action::Stop {
                    child, generation, ..
                } => {
                    let next = self.handle(Input::Exited {
                        child,
                        generation,
                        exit: ExitKind::Stopped,
                    });
                    lines.extend(self.lines(&next));
                    pending.extend(next.actions);
                }
                Action::Start {
                    child, generation, ..
                } => {
                    let next = self.handle(Input::Ready { child, generation });
                    lines.extend(self.lines(&next));
                    pending.extend(next.actions);
                }
                _ => {}
            }
        }
        lines
    }

    /// Marks every child started in `d` ready, following further starts.
    pub fn ready_all(&mut self, d: &Decision) -> Vec<String> {
        let starts: Vec<Action> = d
            .actions
            .iter()
            .filter(|a| matches!(a, Action::Start { .. }))
            .cloned()
            .collect();
        self.complete(&Decision {
            actions: starts,
            ..Decision::default()
        })
    }

    pub fn name(&self, key: ChildKey) -> String {
        self.engine
            .id(key)
            .map_or_else(|| format!("#{}", key.index()), |id| id.to_string())
    }

    /// One short line per action: `start a`, `stop b (sibling)`, ...
    pub fn lines(&self, d: &Decision) -> Vec<String> {
        d.actions
            .iter()
            .map(|a| match a {
                Action::Start { child, attempt, .. } => {
                    format!("start {} attempt {attempt}", self.name(*child))
                }
                Action::Stop { child, reason, .. } => {
                    let why = match reason {
                        StopReason::Shutdown => "shutdown".to_owned(),
                        StopReason::SiblingRestart { trigger, .. } => {
                            format!("sibling {}", self.name(*trigger))
                        }
                        StopReason::DependencyRestart { dependency } => {
                            format!("dependency {}", self.name(*dependency))
                        }
                        StopReason::Manual { command } => format!("manual {command}"),
                        StopReason::ReadinessTimeout => "readiness timeout".to_owned(),
                        StopReason::LivenessMissed => "liveness missed".to_owned(),
                        other => format!("{other:?}"),
                    };
                    format!("stop {} ({why})", self.name(*child))
                }
                Action::RestartScheduled { child, delay, .. } => {
                    format!("restart {} in {delay:?}", self.name(*child))
                }
                Action::Quarantined { child, retry_at } => match retry_at {
                    Some(t) => format!(
                        "quarantine {} until {:?}",
                        self.name(*child),
                        t.as_duration()
                    ),
                    None => format!("quarantine {}", self.name(*child)),
                },
                Action::Removed { child } => format!("remove {}", self.name(*child)),
                Action::Escalate { reason } => format!("escalate {}", escalation(reason)),
                Action::Exit { exit } => match exit {
                    SupervisorExit::Shutdown => "exit shutdown".to_owned(),
                    SupervisorExit::AutoShutdown { trigger } => {
                        format!("exit auto_shutdown by {}", self.name(*trigger))
                    }
                    SupervisorExit::Escalated { reason } => {
                        format!("exit escalated {}", escalation(reason))
                    }
                    other => format!("{other:?}"),
                },
                other => format!("{other:?}"),
            })
            .collect()
    }

    pub fn rules(d: &Decision) -> Vec<Rule> {
        d.explanations.iter().map(|e| e.rule).collect()
    }
}

fn escalation(reason: &supervisor_policy::Escalation) -> &'static str {
    match reason {
        supervisor_policy::Escalation::IntensityExceeded { .. } => "intensity",
        supervisor_policy::Escalation::BudgetExhausted { .. } => "budget",
        _ => "other",
    }
}
