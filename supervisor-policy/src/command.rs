//! Operators' commands: each checked against the child's state, carried out
//! or rejected without changing anything.

use crate::child::{State, Then};
use crate::engine::{Engine, Phase, id_of};
use crate::posset::PosSet;
use crate::{Action, ChildKey, Command, Decision, Explanation, Rejection, Rule, StopReason, Time};
use supervisor_spec::Strategy;

impl Engine {
    pub(crate) fn reject(&mut self, d: &mut Decision, key: Option<ChildKey>, message: &str) {
        let mut e = Explanation::new(Rule::CommandRejected);
        e.child = key;
        d.explanations.push(e);
        d.outcome = Some(Err(Rejection {
            message: message.to_owned(),
        }));
    }

    fn accept(&mut self, d: &mut Decision, key: ChildKey) {
        d.explanations
            .push(Explanation::new(Rule::CommandAccepted).child(key, None));
        d.outcome = Some(Ok(()));
    }

    pub(crate) fn on_command(&mut self, d: &mut Decision, command: Command) {
        if !matches!(self.phase, Phase::Running) {
            self.reject(d, None, "the supervisor is shutting down");
            return;
        }
        let name = command.name();
        let key = match &command {
            Command::Add(spec) => {
                self.add(d, spec);
                return;
            }
            Command::Restart(k)
            | Command::Terminate(k)
            | Command::Delete(k)
            | Command::Quarantine(k)
            | Command::Release(k)
            | Command::Pause(k)
            | Command::Resume(k) => *k,
        };
        let Some(child) = self.slot(key) else {
            self.reject(d, Some(key), "no such child");
            return;
        };
        let state = child.state;
        let now = self.now;
        let stop = StopReason::Manual { command: name };
        let result: Result<(), &str> = match (command, state) {
            (_, State::StopQueued { .. } | State::Stopping { .. }) => {
                Err("the child is being stopped; try again once it is down")
            }

            (Command::Restart(_), State::Running { .. }) => {
                // Restart around it: dependents go down first and come back after.
                let group = self.new_group();
                for dep in self.running_dependents(key) {
                    // Temporary dependents stay down (OTP), as in a restart
                    // after a failure.
                    let then = self.then_after_forced_stop(dep, now);
                    self.queue_stop(
                        dep,
                        StopReason::DependencyRestart { dependency: key },
                        then,
                        Some(group),
                    );
                }
                self.queue_stop(key, stop, Then::Restart { not_before: now }, Some(group));
                Ok(())
            }
            (Command::Restart(_), State::Waiting { group, .. }) => {
                // Skip the rest of the backoff delay.
                self.set_state(
                    key,
                    State::Waiting {
                        not_before: now,
                        group,
                    },
                );
                Ok(())
            }
            (Command::Restart(_), State::Quarantined { .. }) => {
                self.unquarantine(key);
                Ok(())
            }
            (Command::Restart(_), State::Idle | State::Paused) => {
                self.reset_attempts(key);
                let group = self.rejoin_group(key);
                self.set_state(
                    key,
                    State::Waiting {
                        not_before: now,
                        group,
                    },
                );
                Ok(())
            }

            (Command::Terminate(_), State::Running { .. }) => {
                self.queue_stop(key, stop, Then::Idle, None);
                Ok(())
            }
            (Command::Terminate(_), State::Idle) => Ok(()),
            (Command::Terminate(_), _) => {
                self.set_state(key, State::Idle);
                Ok(())
            }

            (Command::Delete(_), State::Running { .. }) => {
                Err("the child is running; terminate it first")
            }
            (Command::Delete(_), _) => match self.dependent_names(key) {
                Some(names) => {
                    let msg = format!("siblings depend on it: {names}");
                    self.reject(d, Some(key), &msg);
                    return;
                }
                None => {
                    self.remove(key);
                    d.actions.push(Action::Removed { child: key });
                    Ok(())
                }
            },

            (Command::Quarantine(_), State::Quarantined { .. }) => {
                Err("the child is already quarantined")
            }
            (Command::Quarantine(_), State::Running { .. }) => {
                self.queue_stop(key, stop, Then::Quarantine, None);
                Ok(())
            }
            (Command::Quarantine(_), _) => {
                self.set_state(key, State::Quarantined { retry_at: None });
                d.actions.push(Action::Quarantined {
                    child: key,
                    retry_at: None,
                });
                Ok(())
            }

            (Command::Release(_), State::Quarantined { .. }) => {
                self.unquarantine(key);
                Ok(())
            }
            (Command::Release(_), _) => Err("the child is not quarantined"),

            (Command::Pause(_), State::Paused) => Err("the child is already paused"),
            (Command::Pause(_), State::Quarantined { .. }) => {
                Err("the child is quarantined; release it first")
            }
            (Command::Pause(_), State::Running { .. }) => {
                self.queue_stop(key, stop, Then::Pause, None);
                Ok(())
            }
            (Command::Pause(_), _) => {
                self.set_state(key, State::Paused);
                Ok(())
            }

            (Command::Resume(_), State::Paused) => {
                let group = self.rejoin_group(key);
                self.set_state(
                    key,
                    State::Waiting {
                        not_before: now,
                        group,
                    },
                );
                Ok(())
            }
            (Command::Resume(_), _) => Err("the child is not paused"),

            (Command::Add(_), _) => Ok(()),
        };
        match result {
            Ok(()) => self.accept(d, key),
            Err(message) => self.reject(d, Some(key), message),
        }
    }

    fn reset_attempts(&mut self, key: ChildKey) {
        if let Some(c) = self.slot_mut(key) {
            c.attempt = 0;
        }
    }

    fn running_dependents(&self, key: ChildKey) -> Vec<ChildKey> {
        let mut out: Vec<(u32, ChildKey)> = Vec::new();
        let mut stack = vec![key];
        while let Some(k) = stack.pop() {
            let Some(c) = self.slot(k) else { continue };
            for &dep in c.dependents() {
                if let Some(dc) = self.slot(dep)
                    && !out.iter().any(|&(_, o)| o == dep)
                {
                    out.push((dc.pos, dep));
                    stack.push(dep);
                }
            }
        }
        out.sort_unstable();
        out.into_iter().rev().map(|(_, k)| k).collect()
    }

    fn dependent_names(&self, key: ChildKey) -> Option<String> {
        let c = self.slot(key)?;
        let names: Vec<&str> = c
            .dependents()
            .iter()
            .filter_map(|&k| self.slot(k))
            .map(|c| c.id.as_str())
            .collect();
        (!names.is_empty()).then(|| names.join(", "))
    }

    fn remove(&mut self, key: ChildKey) {
        self.set_state(key, State::Idle);
        // Out of the index while the slot still holds the id it compares.
        let children = &self.children;
        if let Some(c) = children.get(key.index()).and_then(Option::as_ref)
            && let Some(index) = self.by_id.get_mut()
        {
            index.remove(c.id.as_str(), |k| id_of(children, k));
        }
        let Some(child) = self.children.get_mut(key.index()).and_then(Option::take) else {
            return;
        };
        if child.restart != supervisor_spec::Restart::Temporary && !child.is_satisfied() {
            self.unready -= 1;
        }
        for &dep in child.deps() {
            if let Some(extras) = self.slot_mut(dep).and_then(|d| d.extras.as_mut()) {
                extras.dependents.retain(|&k| k != key);
            }
        }
        // Nothing may name the key when the next child added takes it: a
        // child terminated while parked behind its restart group is still
        // listed there (see `rejoin_group`).
        for parked in self.parked.values_mut() {
            parked.retain(|&k| k != key);
        }
        if self.reuse_keys {
            self.free.push(key);
        }
        // Positions after the removed child shift down; rebuild the ordered
        // sets, which hold positions, by the keys they hold now.
        let keys = |set: &PosSet, order: &[ChildKey]| -> Vec<ChildKey> {
            set.iter()
                .map(|p| order[p as usize])
                .filter(|&k| k != key)
                .collect()
        };
        let waiting = keys(&self.waiting, &self.order);
        let stop_queue = keys(&self.stop_queue, &self.order);
        self.order.retain(|&k| k != key);
        let order = self.order.clone();
        for (pos, &k) in order.iter().enumerate() {
            if let Some(c) = self.slot_mut(k) {
                c.pos = pos as u32;
            }
        }
        let positions = |engine: &Self, keys: Vec<ChildKey>| -> PosSet {
            keys.into_iter()
                .filter_map(|k| engine.slot(k).map(|c| c.pos))
                .collect()
        };
        self.waiting = positions(self, waiting);
        self.stop_queue = positions(self, stop_queue);
    }

    fn add(&mut self, d: &mut Decision, spec: &supervisor_spec::ChildSpec) {
        if self.key(spec.id.as_str()).is_some() {
            let msg = format!("a child with id `{}` exists already", spec.id);
            self.reject(d, None, &msg);
            return;
        }
        if let Some(unknown) = spec
            .depends_on
            .iter()
            .find(|dep| self.key(dep.as_str()).is_none())
        {
            let msg = format!("depends_on names unknown sibling `{unknown}`");
            self.reject(d, None, &msg);
            return;
        }
        let key = self.insert(spec, State::Idle);
        self.link(spec);
        let now = self.now;
        // With one_for_all (and rest_for_one, where it comes last), a child
        // added while a group restart still stops its members waits for
        // that restart, as each member does: nothing starts next to what a
        // group restart is still stopping (see `rejoin_group`). OTP gets
        // this by handling `start_child` only after the restart.
        let group = match self.strategy {
            Strategy::OneForOne => None,
            _ => self.groups.keys().copied().max(),
        };
        self.set_state(
            key,
            State::Waiting {
                not_before: now.max(Time::ZERO),
                group,
            },
        );
        self.accept(d, key);
    }
}
