//! How the engine judges what happens to a running child: readiness, exits,
//! failures, deadlines; restart policies, strategies, dependencies,
//! intensity, budgets and backoff.

use supervisor_spec::{AutoShutdown, OnExhausted, Restart, Strategy};

use crate::child::{Child, State, Then};
use crate::engine::{Engine, Phase};
use crate::rng::Rng;
use crate::{
    Action, BackoffDraw, ChildKey, Decision, Escalation, ExitKind, Explanation, Generation, Rule,
    StopReason, SupervisorExit, Time,
};

impl Engine {
    /// Checks that an input is about the current incarnation of a known
    /// child; explains and returns `false` otherwise.
    fn fenced(&self, d: &mut Decision, key: ChildKey, generation: Generation) -> bool {
        match self.slot(key) {
            None => {
                d.explanations
                    .push(Explanation::new(Rule::UnknownChild).child(key, Some(generation)));
                false
            }
            Some(c) if c.state.generation() != Some(generation) => {
                d.explanations
                    .push(Explanation::new(Rule::StaleGeneration).child(key, Some(generation)));
                false
            }
            Some(_) => true,
        }
    }

    pub(crate) fn on_started(&mut self, d: &mut Decision, key: ChildKey, generation: Generation) {
        if !self.fenced(d, key, generation) {
            return;
        }
        let now = self.now;
        if let Some(Child {
            state: State::Running { since, .. },
            ..
        }) = self.slot_mut(key)
        {
            *since = now;
        }
        d.explanations
            .push(Explanation::new(Rule::Started).child(key, Some(generation)));
    }

    pub(crate) fn on_ready(&mut self, d: &mut Decision, key: ChildKey, generation: Generation) {
        let now = self.now;
        let Some(child) = self.children.get_mut(key.index()).and_then(Option::as_mut) else {
            self.fenced(d, key, generation);
            return;
        };
        match &mut child.state {
            State::Running {
                generation: current,
                ready,
                ready_deadline,
                ..
            } if *current == generation => {
                if *ready {
                    return;
                }
                // `set_state` from running to ready, by hand: this is the
                // one change every start makes, and the general path costs
                // more than the change. Nothing else changes: the child
                // stays alive and indexed nowhere, its readiness deadline
                // (if any) goes stale and is dropped by `clean_deadlines`.
                *ready = true;
                *ready_deadline = None;
                // See `State`'s invariants: the flag and this time go together.
                child.last_ready_at = Some(now);
                self.starting -= 1;
                if child.restart != Restart::Temporary {
                    // It was not satisfied, and now is.
                    self.unready -= 1;
                }
                d.explanations
                    .push(Explanation::new(Rule::Ready).child(key, Some(generation)));
            }
            // Stopping: too late to matter. Another generation: stale.
            _ => {
                self.fenced(d, key, generation);
            }
        }
    }

    pub(crate) fn on_unready(&mut self, d: &mut Decision, key: ChildKey, generation: Generation) {
        if !self.fenced(d, key, generation) {
            return;
        }
        let Some(child) = self.slot(key) else { return };
        if let State::Running {
            generation,
            since,
            ready: true,
            ..
        } = child.state
        {
            self.set_state(
                key,
                State::Running {
                    generation,
                    since,
                    ready: false,
                    ready_deadline: None,
                },
            );
            d.explanations
                .push(Explanation::new(Rule::Unready).child(key, Some(generation)));
        }
    }

    pub(crate) fn on_unhealthy(
        &mut self,
        d: &mut Decision,
        key: ChildKey,
        generation: Generation,
        reason: ExitKind,
    ) {
        if !self.fenced(d, key, generation) {
            return;
        }
        let Some(child) = self.slot(key) else { return };
        if let State::Running { .. } = child.state {
            let stop = match reason {
                ExitKind::ReadinessTimedOut => StopReason::ReadinessTimeout,
                _ => StopReason::LivenessMissed,
            };
            d.explanations.push(
                Explanation::new(Rule::LivenessMissed)
                    .child(key, Some(generation))
                    .exit(reason),
            );
            self.stop_now(d, key, generation, stop, Then::Judge(reason));
        }
    }

    /// Stops a failing incarnation at once, outside the stop queue.
    fn stop_now(
        &mut self,
        d: &mut Decision,
        key: ChildKey,
        generation: Generation,
        reason: StopReason,
        then: Then,
    ) {
        self.set_state(
            key,
            State::Stopping {
                generation,
                then,
                group: None,
            },
        );
        d.actions.push(Action::Stop {
            child: key,
            generation,
            reason,
        });
    }

    pub(crate) fn on_deadline(&mut self, d: &mut Decision, key: ChildKey) {
        let now = self.now;
        let Some(child) = self.slot(key) else { return };
        match child.state {
            State::Running {
                generation,
                ready: false,
                ready_deadline: Some(t),
                ..
            } if t <= now => {
                d.explanations.push(
                    Explanation::new(Rule::ReadinessTimedOut)
                        .child(key, Some(generation))
                        .exit(ExitKind::ReadinessTimedOut),
                );
                self.stop_now(
                    d,
                    key,
                    generation,
                    StopReason::ReadinessTimeout,
                    Then::Judge(ExitKind::ReadinessTimedOut),
                );
            }
            State::Quarantined { retry_at: Some(t) } if t <= now => {
                d.explanations
                    .push(Explanation::new(Rule::QuarantineRetry).child(key, None));
                self.unquarantine(key);
            }
            State::Waiting { not_before, .. } if not_before <= now => {
                d.explanations
                    .push(Explanation::new(Rule::RestartDue).child(key, None));
            }
            _ => {}
        }
    }

    /// Moves a quarantined child back to waiting with a fresh budget.
    pub(crate) fn unquarantine(&mut self, key: ChildKey) {
        let now = self.now;
        if let Some(c) = self.slot_mut(key) {
            c.attempt = 0;
            if let Some(b) = c.budget_mut() {
                b.clear();
            }
        }
        let group = self.rejoin_group(key);
        self.set_state(
            key,
            State::Waiting {
                not_before: now,
                group,
            },
        );
    }

    pub(crate) fn on_exit(
        &mut self,
        d: &mut Decision,
        key: ChildKey,
        generation: Generation,
        exit: ExitKind,
    ) {
        if !self.fenced(d, key, generation) {
            return;
        }
        let Some(child) = self.slot_mut(key) else {
            return;
        };
        child.last_exit = Some(exit);
        let state = child.state;
        match state {
            State::Running { .. } => {
                if let Phase::ShuttingDown(_) = self.phase {
                    d.explanations.push(
                        Explanation::new(Rule::ExitDuringShutdown)
                            .child(key, Some(generation))
                            .exit(exit),
                    );
                    self.set_state(key, State::Idle);
                    return;
                }
                // Ended by itself. An unrequested `Stopped` is abnormal.
                let exit = if exit == ExitKind::Stopped {
                    ExitKind::Failed
                } else {
                    exit
                };
                self.judge_end(d, key, generation, exit);
            }
            State::StopQueued { then, group, .. } | State::Stopping { then, group, .. } => {
                self.leave_group(group);
                let shutting_down = matches!(self.phase, Phase::ShuttingDown(_));
                let rule = if shutting_down {
                    Rule::ExitDuringShutdown
                } else {
                    Rule::StopCompleted
                };
                d.explanations.push(
                    Explanation::new(rule)
                        .child(key, Some(generation))
                        .exit(exit),
                );
                if shutting_down {
                    self.set_state(key, State::Idle);
                    return;
                }
                match then {
                    // Back with its group: it starts once every member is down.
                    Then::Restart { not_before } => {
                        self.set_state(key, State::Waiting { not_before, group })
                    }
                    Then::Idle => self.set_state(key, State::Idle),
                    Then::Quarantine => {
                        // Announced as a quarantine of a child that was
                        // down already is (`Command::Quarantine`).
                        self.set_state(key, State::Quarantined { retry_at: None });
                        d.actions.push(Action::Quarantined {
                            child: key,
                            retry_at: None,
                        });
                    }
                    Then::Pause => self.set_state(key, State::Paused),
                    Then::Judge(kind) => self.judge_end(d, key, generation, kind),
                }
            }
            _ => {}
        }
    }

    /// Applies the restart policy to an incarnation that ended by itself (or
    /// failed a deadline): not restarted, waiting for a dependency, budget,
    /// intensity, backoff, then the strategy and the dependents.
    fn judge_end(
        &mut self,
        d: &mut Decision,
        key: ChildKey,
        generation: Generation,
        exit: ExitKind,
    ) {
        let now = self.now;
        // The child is down from here on; the plan below decides what next.
        self.set_state(key, State::Idle);
        let Some(child) = self.slot(key) else { return };
        let abnormal = exit.is_abnormal();
        let restart = match child.restart {
            Restart::Permanent => true,
            Restart::Transient => abnormal,
            Restart::Temporary => false,
        };
        let base = Explanation::new(Rule::RestartPermanent)
            .child(key, Some(generation))
            .exit(exit);

        if !restart {
            let rule = if child.restart == Restart::Temporary {
                Rule::TemporaryEnded
            } else {
                Rule::TransientCompleted
            };
            let significant = child.significant;
            self.end_for_good(key);
            d.explanations.push(Explanation { rule, ..base });
            if significant {
                self.check_auto_shutdown(d, key);
            }
            return;
        }

        if child
            .deps()
            .iter()
            .any(|&dep| !self.slot(dep).is_some_and(Child::is_satisfied))
        {
            d.explanations.push(Explanation {
                rule: Rule::WaitingForDependency,
                ..base
            });
            self.set_state(
                key,
                State::Waiting {
                    not_before: now,
                    group: None,
                },
            );
            return;
        }

        let mut explanation = Explanation {
            rule: if child.restart == Restart::Permanent {
                Rule::RestartPermanent
            } else {
                Rule::RestartTransient
            },
            ..base
        };

        // The child's own budget first: exhausting it is about this child only.
        let on_exhausted = self
            .policies
            .get(child.policy)
            .budget
            .map_or(OnExhausted::Escalate, |b| b.on_exhausted);
        let budget = self
            .slot_mut(key)
            .and_then(Child::budget_mut)
            .map(|b| b.record(now));
        explanation.budget = budget;
        if let Some(budget) = budget.filter(|b| b.exceeded()) {
            match on_exhausted {
                OnExhausted::Quarantine { retry_after } => {
                    let retry_at = retry_after.map(|r| now + r);
                    self.set_state(key, State::Quarantined { retry_at });
                    d.explanations.push(Explanation {
                        rule: Rule::BudgetQuarantined,
                        ..explanation
                    });
                    d.actions.push(Action::Quarantined {
                        child: key,
                        retry_at,
                    });
                }
                _ => {
                    d.explanations.push(Explanation {
                        rule: Rule::BudgetEscalated,
                        ..explanation
                    });
                    self.escalate(d, Escalation::BudgetExhausted { child: key, budget });
                }
            }
            return;
        }

        let intensity = self.intensity.record(now);
        explanation.intensity = Some(intensity);
        if intensity.exceeded() {
            d.explanations.push(Explanation {
                rule: Rule::IntensityExceeded,
                ..explanation
            });
            self.escalate(
                d,
                Escalation::IntensityExceeded {
                    child: key,
                    intensity,
                },
            );
            return;
        }

        let draw = self.draw_backoff(key);
        let not_before = now + draw.delay;
        explanation.backoff = Some(draw);

        // Who goes down with the child: siblings by strategy, then every
        // (transitive) dependent of anything restarting.
        let group = self.new_group();
        let strategy = self.strategy;
        let pos = self.slot(key).map_or(0, |c| c.pos as usize);
        let siblings: Vec<ChildKey> = match strategy {
            Strategy::OneForOne => Vec::new(),
            Strategy::OneForAll => self.order.iter().copied().filter(|&k| k != key).collect(),
            Strategy::RestForOne => self
                .order
                .get(pos + 1..)
                .map(<[_]>::to_vec)
                .unwrap_or_default(),
        };
        let mut affected = Vec::new();
        for sib in siblings.into_iter().rev() {
            let then = self.then_after_forced_stop(sib, not_before);
            if self.queue_stop(
                sib,
                StopReason::SiblingRestart {
                    trigger: key,
                    strategy,
                },
                then,
                Some(group),
            ) {
                affected.push(sib);
            }
        }
        let mut roots = Vec::new();
        let has_dependents = |k: ChildKey| self.slot(k).is_some_and(|c| !c.dependents().is_empty());
        if has_dependents(key) || affected.iter().any(|&k| has_dependents(k)) {
            roots.push(key);
            roots.extend(affected.iter().copied());
        }
        // Without dependents (most trees) this allocates nothing.
        for dep in self.transitive_dependents(&roots) {
            let dependency = self.blocking_dependency(dep, &roots).unwrap_or(key);
            let then = self.then_after_forced_stop(dep, not_before);
            if self.queue_stop(
                dep,
                StopReason::DependencyRestart { dependency },
                then,
                Some(group),
            ) {
                affected.push(dep);
            }
        }
        explanation.affected = affected;
        d.explanations.push(explanation);

        if let Some(c) = self.slot_mut(key) {
            c.restarts += 1;
        }
        self.set_state(
            key,
            State::Waiting {
                not_before,
                group: Some(group),
            },
        );
        if !draw.delay.is_zero() {
            d.actions.push(Action::RestartScheduled {
                child: key,
                delay: draw.delay,
                at: not_before,
            });
        }
    }

    /// A child stopped because a sibling or a dependency restarts comes back
    /// with it, unless it is temporary (OTP).
    pub(crate) fn then_after_forced_stop(&self, key: ChildKey, not_before: Time) -> Then {
        match self.slot(key).map(|c| c.restart) {
            Some(Restart::Temporary) | None => Then::Idle,
            _ => Then::Restart { not_before },
        }
    }

    /// Every running child that depends, directly or not, on one of `roots`,
    /// in reverse start order (the order they must stop in).
    fn transitive_dependents(&self, roots: &[ChildKey]) -> Vec<ChildKey> {
        let mut seen: std::collections::BTreeSet<(u32, ChildKey)> = Default::default();
        let mut stack: Vec<ChildKey> = roots.to_vec();
        while let Some(k) = stack.pop() {
            let Some(c) = self.slot(k) else { continue };
            for &dep in c.dependents() {
                if roots.contains(&dep) {
                    continue;
                }
                if let Some(dc) = self.slot(dep)
                    && seen.insert((dc.pos, dep))
                {
                    stack.push(dep);
                }
            }
        }
        seen.into_iter().rev().map(|(_, k)| k).collect()
    }

    /// The dependency among `roots` (or their dependents) that makes `key` stop.
    fn blocking_dependency(&self, key: ChildKey, roots: &[ChildKey]) -> Option<ChildKey> {
        let c = self.slot(key)?;
        c.deps()
            .iter()
            .copied()
            .find(|d| roots.contains(d))
            .or_else(|| c.deps().first().copied())
    }

    /// Draws the delay before the child's next start and advances its attempt.
    fn draw_backoff(&mut self, key: ChildKey) -> BackoffDraw {
        let now = self.now;
        let Some(c) = self.children.get_mut(key.index()).and_then(Option::as_mut) else {
            return BackoffDraw {
                attempt: 0,
                base: std::time::Duration::ZERO,
                draw: 0.0,
                delay: std::time::Duration::ZERO,
                reset: false,
            };
        };
        let backoff = &self.policies.get(c.policy).backoff;
        // Stable for `reset_after` since it became ready (the incarnation that
        // just ended, or an earlier one): start the curve over.
        let reset = c
            .last_ready_at
            .is_some_and(|r| now.saturating_since(r) >= backoff.reset_after)
            && c.attempt > 0;
        if reset {
            c.attempt = 0;
        }
        let attempt = c.attempt;
        let base = backoff.base_delay(attempt);
        // Every restart draws once, so the draw's place in the child's
        // stream is the number of restarts before it.
        let draw = Rng::for_child(self.seed, c.id.as_str())
            .skip(c.restarts)
            .next_unit();
        let delay = backoff.jittered(base, draw);
        c.attempt = c.attempt.saturating_add(1);
        c.last_ready_at = None;
        BackoffDraw {
            attempt,
            base,
            draw,
            delay,
            reset,
        }
    }

    /// The supervisor gives up: stop everything, then exit escalated.
    pub(crate) fn escalate(&mut self, d: &mut Decision, reason: Escalation) {
        d.actions.push(Action::Escalate { reason });
        self.begin_shutdown(SupervisorExit::Escalated { reason });
    }

    /// OTP's auto_shutdown, after significant child `key` ended for good.
    fn check_auto_shutdown(&mut self, d: &mut Decision, key: ChildKey) {
        let fire = match self.auto_shutdown {
            AutoShutdown::Never => false,
            AutoShutdown::AnySignificant => true,
            AutoShutdown::AllSignificant => self
                .order
                .iter()
                .filter_map(|&k| self.slot(k))
                .filter(|c| c.significant)
                // OTP: once no significant child runs. One an operator
                // terminated does not run either, though it did not end
                // by itself.
                .all(|c| matches!(c.state, State::Idle)),
        };
        if fire {
            d.explanations
                .push(Explanation::new(Rule::AutoShutdown).child(key, None));
            self.begin_shutdown(SupervisorExit::AutoShutdown { trigger: key });
        }
    }
}
