//! The guarantees checked after every run. Each is a function over the run's
//! record (events in order, what the tasks saw, the report, the commands'
//! answers) that fails naming what it found:
//!
//! - no task of the tree (incarnation or `ctx.spawn`ed sub-task) is alive
//!   once shutdown returned, unless its child is reported detached;
//! - no child ever ran two incarnations at once (seen by the tasks and in
//!   the events), and no sub-task of an old incarnation outlived it into
//!   the next;
//! - every incarnation's end is reported exactly once, classified as the
//!   task really ended (returned, failed, panicked, was aborted; nested
//!   supervisors: gave up or not);
//! - nothing is started by a supervisor once its shutdown began;
//! - no sliding window ever holds more restarts than the supervisor's
//!   intensity or the child's budget allows, and every escalation or budget
//!   quarantine came exactly when the window was full, as the spec asks;
//! - every end of a child that ended by itself is judged: restarted,
//!   quarantined or escalated when its restart type says so, never
//!   restarted otherwise;
//! - every supervisor's shutdown finished within the bound its spec gives
//!   (children's timeouts and abort waits, or its budget plus abort waits);
//! - the shutdown report holds every child once, with its last exit and an
//!   outcome that matches the events;
//! - commands answer as documented: clear errors for bad paths and kinds,
//!   effects visible in the answer, `ShuttingDown` once the tree ended.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use proptest::test_runner::TestCaseError;
use supervisor_policy::ExitKind;
use supervisor_runtime::{
    CommandError, Event, EventKind, NodeSnapshot, NodeState, StopOutcome, StopReason,
};
use supervisor_spec::{ChildKind, ChildSpec, OnExhausted, Restart, Shutdown};

use crate::plan::{Built, Op};
use crate::probe::Outcome;
use crate::{Answer, Reply, Run, Start};

type Check = Result<(), TestCaseError>;

pub(crate) fn all(run: &Run) -> Check {
    if !run.stuck.is_empty() {
        return fail(run, format!("the run got stuck: {:?}", run.stuck));
    }
    probe_violations(run)?;
    nothing_alive_after_shutdown(run)?;
    incarnations(run)?;
    nothing_started_after_shutdown(run)?;
    restart_limits(run)?;
    exits_are_judged(run)?;
    shutdown_within_bound(run)?;
    report_accounts_for_every_child(run)?;
    answers(run)?;
    Ok(())
}

fn fail(run: &Run, what: String) -> Check {
    let lines: Vec<String> = run.events.iter().map(ToString::to_string).collect();
    Err(TestCaseError::fail(format!(
        "{what}\n--- events ({}):\n{}",
        lines.len(),
        lines.join("\n")
    )))
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

fn path_of(e: &Event) -> String {
    e.path.to_string()
}

fn generation_of(e: &Event) -> u64 {
    e.generation.map_or(0, |g| g.0)
}

fn probe_violations(run: &Run) -> Check {
    let violations = run.world.violations.lock().clone();
    if violations.is_empty() {
        Ok(())
    } else {
        fail(run, format!("seen from inside the tasks: {violations:?}"))
    }
}

fn nothing_alive_after_shutdown(run: &Run) -> Check {
    if run.alive_settled > 0 {
        return fail(
            run,
            format!(
                "{} task(s) still alive after shutdown returned and every task ran",
                run.alive_settled
            ),
        );
    }
    let detached: BTreeSet<String> = run
        .report
        .iter()
        .flat_map(|r| r.nodes())
        .filter(|n| n.outcome == StopOutcome::Detached)
        .map(|n| n.path.to_string())
        .collect();
    let undeclared: Vec<&(String, usize, usize)> = run
        .alive_children_after
        .iter()
        .filter(|(path, _, _)| !detached.contains(path))
        .collect();
    if undeclared.is_empty() {
        Ok(())
    } else {
        fail(
            run,
            format!(
                "{} task(s) alive after shutdown returned (path, incarnations, sub-tasks): {undeclared:?}, none reported detached",
                run.alive_after
            ),
        )
    }
}

/// How the events say an incarnation ended.
#[derive(Debug, Clone)]
enum End {
    Exited {
        exit: ExitKind,
        chain: Option<String>,
        stop_requested: bool,
        /// The outcome of the stop, if one was asked for.
        outcome: Option<StopOutcome>,
        /// For nested supervisors: whether it gave up during this incarnation.
        escalated: bool,
        /// For nested supervisors: whether it shut itself down (auto_shutdown).
        auto_shutdown: bool,
    },
    Detached,
}

fn incarnations(run: &Run) -> Check {
    // Incarnations are keyed by path and ordinal (see `probe::Ordinals`).
    let mut ordinals: HashMap<String, u64> = HashMap::new();
    let mut alive: HashMap<String, u64> = HashMap::new();
    let mut started: HashSet<(String, u64)> = HashSet::new();
    let mut stop_requested: HashSet<(String, u64)> = HashSet::new();
    let mut ends: HashMap<(String, u64), End> = HashMap::new();
    // For supervisors: what happened during their current incarnation.
    let mut escalated: HashSet<String> = HashSet::new();
    let mut auto_shutdown: HashSet<String> = HashSet::new();
    for e in &run.events {
        let path = path_of(e);
        let generation = generation_of(e);
        if let EventKind::Started { .. } = e.kind {
            *ordinals.entry(path.clone()).or_default() += 1;
        }
        let key = (
            path.clone(),
            ordinals.get(&path).copied().unwrap_or_default(),
        );
        match &e.kind {
            EventKind::Started { .. } => {
                if let Some(other) = alive.get(&path) {
                    return fail(
                        run,
                        format!("{path}#{generation} started while #{other} was alive"),
                    );
                }
                if !started.insert(key.clone()) {
                    return fail(run, format!("{path}#{generation} started twice"));
                }
                alive.insert(path.clone(), generation);
                escalated.remove(&path);
                auto_shutdown.remove(&path);
            }
            EventKind::StopRequested { .. } => {
                if alive.get(&path) != Some(&generation) {
                    return fail(
                        run,
                        format!("a stop was asked of {path}#{generation}, which is not alive"),
                    );
                }
                stop_requested.insert(key);
            }
            EventKind::Escalated { .. } => {
                escalated.insert(path);
            }
            EventKind::ShutdownBegun { cause } if *cause == "auto_shutdown" => {
                auto_shutdown.insert(path);
            }
            EventKind::Exited { exit, failure } => {
                if alive.remove(&path) != Some(generation) {
                    return fail(run, format!("{path}#{generation} exited but was not alive"));
                }
                let end = End::Exited {
                    exit: *exit,
                    chain: failure.as_ref().map(|f| f.chain()),
                    stop_requested: stop_requested.contains(&key),
                    outcome: None,
                    escalated: escalated.contains(&path),
                    auto_shutdown: auto_shutdown.contains(&path),
                };
                if ends.insert(key.clone(), end).is_some() {
                    return fail(run, format!("{path}#{generation} exited twice"));
                }
            }
            EventKind::Stopped {
                outcome: StopOutcome::Detached,
                ..
            } => {
                if alive.remove(&path) != Some(generation) {
                    return fail(
                        run,
                        format!("{path}#{generation} detached but was not alive"),
                    );
                }
                if ends.insert(key.clone(), End::Detached).is_some() {
                    return fail(run, format!("{path}#{generation} ended twice"));
                }
            }
            EventKind::Stopped { outcome, .. } => match ends.get_mut(&key) {
                Some(End::Exited {
                    outcome: o @ None, ..
                }) => *o = Some(*outcome),
                _ => {
                    return fail(
                        run,
                        format!("{path}#{generation} stopped ({outcome:?}) without one exit"),
                    );
                }
            },
            _ => {}
        }
    }
    if !alive.is_empty() {
        return fail(
            run,
            format!("incarnations never reported as ended: {alive:?}"),
        );
    }
    // Workers: the classification matches what the task did.
    let outcomes = run.world.outcomes.lock().clone();
    for ((path, ordinal), outcome) in &outcomes {
        let key = (path.clone(), *ordinal);
        let Some(end) = ends.get(&key) else {
            return fail(
                run,
                format!("{path} (start {ordinal}) ran ({outcome:?}) but no end was reported"),
            );
        };
        let End::Exited {
            exit,
            chain,
            stop_requested,
            outcome: stop,
            ..
        } = end
        else {
            continue;
        };
        let asked = *stop_requested;
        let right = match outcome {
            Outcome::Ok { cancelled: false } => {
                (*exit == ExitKind::Completed && !asked) || (*exit == ExitKind::Stopped && asked)
            }
            Outcome::Ok { cancelled: true } => *exit == ExitKind::Stopped && asked,
            Outcome::Err(m) => {
                *exit == ExitKind::Failed
                    && chain.as_deref() == Some(&*format!("task returned an error: {m}"))
            }
            Outcome::Panicked(m) => {
                *exit == ExitKind::Panicked
                    && chain.as_deref() == Some(&*format!("task panicked: {m}"))
            }
            Outcome::Dropped => {
                *exit == ExitKind::Stopped && asked && *stop == Some(StopOutcome::Aborted)
            }
        };
        if !right {
            return fail(
                run,
                format!("{path} (start {ordinal}) did {outcome:?} but was reported as {end:?}"),
            );
        }
    }
    // Nested supervisors: failed exactly when they gave up.
    for ((path, ordinal), end) in &ends {
        if !run.built.supervisors.contains_key(path) || path == "root" {
            continue;
        }
        let End::Exited {
            exit,
            chain,
            stop_requested,
            escalated,
            auto_shutdown,
            ..
        } = end
        else {
            return fail(run, format!("supervisor {path} (start {ordinal}) detached"));
        };
        let right = if *escalated {
            *exit == ExitKind::Failed
                && chain
                    .as_deref()
                    .is_some_and(|c| c.starts_with("supervisor gave up: "))
        } else if *stop_requested {
            *exit == ExitKind::Stopped
        } else {
            *exit == ExitKind::Completed && *auto_shutdown
        };
        if !right {
            return fail(
                run,
                format!("supervisor {path} (start {ordinal}) was reported as {end:?}"),
            );
        }
    }
    Ok(())
}

fn nothing_started_after_shutdown(run: &Run) -> Check {
    let mut shutting_down: HashSet<String> = HashSet::new();
    for e in &run.events {
        let path = path_of(e);
        match &e.kind {
            EventKind::ShutdownBegun { .. } => {
                shutting_down.insert(path);
            }
            EventKind::Started { .. } => {
                if shutting_down.contains(parent(&path)) {
                    return fail(
                        run,
                        format!(
                            "{path} was started after {} began shutting down",
                            parent(&path)
                        ),
                    );
                }
                // A supervisor's new incarnation starts afresh.
                shutting_down.remove(&path);
            }
            _ => {}
        }
    }
    Ok(())
}

/// How many of `times` lie in `(t - period, t]`.
fn in_window(times: &[Duration], t: Duration, period: Duration) -> usize {
    times.iter().filter(|&&x| x <= t && x + period > t).count()
}

fn restart_limits(run: &Run) -> Check {
    // Per supervisor incarnation: its restarts. Per child: restarts counted
    // against its budget (cleared when the child is quarantined, and with a
    // new incarnation of its supervisor).
    let mut restarts: HashMap<String, Vec<Duration>> = HashMap::new();
    let mut budgets: HashMap<String, Vec<Duration>> = HashMap::new();
    // Quarantine commands not carried out yet: a running child's is
    // announced once it is down (after its stop's events).
    let mut quarantine_asked: HashSet<String> = HashSet::new();
    for e in &run.events {
        let path = path_of(e);
        let t = e.elapsed;
        match &e.kind {
            EventKind::Started { .. } if run.built.supervisors.contains_key(&path) => {
                restarts.remove(&path);
                budgets.retain(|child, _| parent(child) != path);
            }
            EventKind::RestartScheduled { .. } => {
                let sup = parent(&path).to_owned();
                let Some(spec) = run.built.supervisors.get(&sup) else {
                    return fail(
                        run,
                        format!("a restart of {path} under an unknown supervisor"),
                    );
                };
                let times = restarts.entry(sup.clone()).or_default();
                times.push(t);
                let n = in_window(times, t, spec.intensity.period);
                if n > spec.intensity.max_restarts as usize {
                    return fail(
                        run,
                        format!(
                            "{sup} restarted {n} times within {:?} (intensity {}) without giving up",
                            spec.intensity.period, spec.intensity.max_restarts
                        ),
                    );
                }
                if let Some(b) = run.built.children.get(&path).and_then(|c| c.budget) {
                    let times = budgets.entry(path.clone()).or_default();
                    times.push(t);
                    let n = in_window(times, t, b.window);
                    if n > b.max_restarts as usize {
                        return fail(
                            run,
                            format!(
                                "{path} restarted {n} times within {:?} (budget {})",
                                b.window, b.max_restarts
                            ),
                        );
                    }
                }
            }
            EventKind::Quarantined { .. } => {
                let by_command = quarantine_asked.remove(&path);
                if !by_command {
                    let Some(b) = run.built.children.get(&path).and_then(|c| c.budget) else {
                        return fail(
                            run,
                            format!("{path} quarantined without a budget or a command"),
                        );
                    };
                    if !matches!(b.on_exhausted, OnExhausted::Quarantine { .. }) {
                        return fail(run, format!("{path} quarantined, but its budget escalates"));
                    }
                    let times = budgets.get(&path).map_or(&[][..], Vec::as_slice);
                    let n = in_window(times, t, b.window);
                    if n != b.max_restarts as usize {
                        return fail(
                            run,
                            format!(
                                "{path} quarantined after {n} restarts within {:?}; its budget allows {}",
                                b.window, b.max_restarts
                            ),
                        );
                    }
                }
                budgets.remove(&path);
            }
            EventKind::Command { command, .. } if *command == "quarantine" => {
                budgets.remove(&path);
                quarantine_asked.insert(path);
            }
            EventKind::Escalated { reason } => {
                let Some(spec) = run.built.supervisors.get(&path) else {
                    return fail(run, format!("unknown supervisor {path} gave up"));
                };
                if reason.starts_with("restart intensity exceeded") {
                    let times = restarts.get(&path).map_or(&[][..], Vec::as_slice);
                    let n = in_window(times, t, spec.intensity.period);
                    if n != spec.intensity.max_restarts as usize {
                        return fail(
                            run,
                            format!(
                                "{path} gave up ({reason}) after {n} restarts within {:?}; its intensity allows {}",
                                spec.intensity.period, spec.intensity.max_restarts
                            ),
                        );
                    }
                } else if let Some(rest) = reason.strip_prefix("budget of ") {
                    let id = rest.split(' ').next().unwrap_or_default();
                    let child = format!("{path}/{id}");
                    let Some(b) = run.built.children.get(&child).and_then(|c| c.budget) else {
                        return fail(
                            run,
                            format!("{path} gave up ({reason}); {child} has no budget"),
                        );
                    };
                    if b.on_exhausted != OnExhausted::Escalate {
                        return fail(
                            run,
                            format!("{path} gave up ({reason}); {child}'s budget quarantines"),
                        );
                    }
                    let times = budgets.get(&child).map_or(&[][..], Vec::as_slice);
                    let n = in_window(times, t, b.window);
                    if n != b.max_restarts as usize {
                        return fail(
                            run,
                            format!(
                                "{path} gave up ({reason}) after {n} restarts of {child} within {:?}; the budget allows {}",
                                b.window, b.max_restarts
                            ),
                        );
                    }
                } else {
                    return fail(
                        run,
                        format!("{path} gave up for an unknown reason: {reason}"),
                    );
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether an end is restarted under `restart`.
fn restarted(restart: Restart, abnormal: bool) -> bool {
    match restart {
        Restart::Permanent => true,
        Restart::Transient => abnormal,
        _ => false,
    }
}

fn exits_are_judged(run: &Run) -> Check {
    let events = &run.events;
    let mut shutting_down: HashSet<String> = HashSet::new();
    // Children whose stop may be queued (not asked yet): their own end is
    // then part of that stop, not judged.
    let mut queued: HashSet<String> = HashSet::new();
    // Per incarnation: the reason of the stop asked of it.
    let mut stops: HashMap<(String, u64), StopReason> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        let path = path_of(e);
        match &e.kind {
            EventKind::ShutdownBegun { .. } => {
                shutting_down.insert(path);
            }
            EventKind::Started { .. } => {
                shutting_down.remove(&path);
                queued.remove(&path);
                stops.remove(&(path, generation_of(e)));
            }
            EventKind::Command { command, .. }
                if matches!(*command, "restart" | "terminate" | "quarantine" | "pause") =>
            {
                queued.insert(path);
            }
            EventKind::RestartScheduled { affected, .. } => {
                for id in affected {
                    queued.insert(format!("{}/{id}", parent(&path)));
                }
            }
            EventKind::StopRequested { reason } => {
                stops.insert((path, generation_of(e)), reason.clone());
            }
            EventKind::Exited { exit, .. } => {
                let was_queued = queued.remove(&path);
                let sup = parent(&path).to_owned();
                let Some(spec) = run.built.children.get(&path) else {
                    continue;
                };
                let abnormal = match stops.get(&(path.clone(), generation_of(e))) {
                    None => exit.is_abnormal(),
                    Some(StopReason::LivenessMissed | StopReason::ReadinessTimeout) => true,
                    Some(_) => continue,
                };
                if was_queued || shutting_down.contains(&sup) || !spec.depends_on.is_empty() {
                    continue;
                }
                let worthy = restarted(spec.restart, abnormal);
                let next = events[i + 1..].iter().find(|n| {
                    let p = path_of(n);
                    (p == path || p == sup) && !matches!(n.kind, EventKind::Stopped { .. })
                });
                let judged = match next.map(|n| &n.kind) {
                    Some(EventKind::RestartScheduled { .. }) => Some(true),
                    Some(EventKind::Quarantined { .. } | EventKind::Escalated { .. }) => None,
                    Some(EventKind::ShutdownBegun { cause }) if *cause == "escalated" => None,
                    _ => Some(false),
                };
                match (worthy, judged) {
                    (true, Some(false)) => {
                        return fail(
                            run,
                            format!(
                                "{path}#{} ended ({exit:?}) and is {:?}, but was neither restarted, quarantined nor escalated; next: {}",
                                generation_of(e),
                                spec.restart,
                                next.map_or("nothing".into(), ToString::to_string)
                            ),
                        );
                    }
                    (false, Some(true)) => {
                        return fail(
                            run,
                            format!(
                                "{path}#{} ended ({exit:?}) and is {:?}, but was restarted",
                                generation_of(e),
                                spec.restart
                            ),
                        );
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The children of each supervisor as they are now: the declared ones, plus
/// those added, minus those removed during its current incarnation.
#[derive(Debug, Clone)]
struct Members<'a> {
    built: &'a Built,
    now: BTreeMap<String, Vec<String>>,
}

impl<'a> Members<'a> {
    fn new(built: &'a Built) -> Self {
        let mut m = Self {
            built,
            now: BTreeMap::new(),
        };
        m.reset("root");
        m
    }

    fn declared(&self, sup: &str) -> Vec<String> {
        self.built.supervisors.get(sup).map_or_else(Vec::new, |s| {
            s.children
                .iter()
                .map(|c| format!("{sup}/{}", c.id))
                .collect()
        })
    }

    fn reset(&mut self, sup: &str) {
        let declared = self.declared(sup);
        self.now.insert(sup.to_owned(), declared);
    }

    fn follow(&mut self, e: &Event) {
        let path = path_of(e);
        match &e.kind {
            EventKind::Started { .. } if self.built.supervisors.contains_key(&path) => {
                self.reset(&path);
            }
            EventKind::Added => {
                let list = self.now.entry(parent(&path).to_owned()).or_default();
                if !list.contains(&path) {
                    list.push(path);
                }
            }
            EventKind::Removed => {
                if let Some(list) = self.now.get_mut(parent(&path)) {
                    list.retain(|c| *c != path);
                }
            }
            _ => {}
        }
    }

    fn of(&self, sup: &str) -> Vec<String> {
        self.now
            .get(sup)
            .cloned()
            .unwrap_or_else(|| self.declared(sup))
    }
}

fn spec_of<'a>(built: &'a Built, path: &str) -> Option<&'a ChildSpec> {
    built.children.get(path)
}

/// The longest a supervisor's shutdown may take by its spec: its children's
/// stops one after another (a parallel stop takes no longer), or its budget
/// plus the abort waits.
fn bound(members: &Members<'_>, sup: &str) -> Duration {
    let all: Duration = members
        .of(sup)
        .iter()
        .map(|c| child_bound(members, c))
        .sum();
    match members.built.supervisors.get(sup).and_then(|s| s.shutdown) {
        Some(budget) => all.min(budget + abort_bound(members, sup)),
        None => all,
    }
}

fn child_bound(members: &Members<'_>, path: &str) -> Duration {
    let Some(spec) = spec_of(members.built, path) else {
        return Duration::ZERO;
    };
    match (&spec.kind, spec.shutdown) {
        (ChildKind::Supervisor(_), Shutdown::Infinity) => bound(members, path),
        (ChildKind::Supervisor(_), Shutdown::Graceful { timeout, .. }) => {
            bound(members, path).min(timeout + abort_bound(members, path))
        }
        (ChildKind::Supervisor(_), _) => abort_bound(members, path),
        (_, shutdown) => shutdown.worst_case().unwrap_or(Duration::MAX),
    }
}

/// The longest a stop of everything below `sup` at once may take.
fn abort_bound(members: &Members<'_>, sup: &str) -> Duration {
    members
        .of(sup)
        .iter()
        .map(|c| match spec_of(members.built, c) {
            Some(spec) if matches!(spec.kind, ChildKind::Supervisor(_)) => abort_bound(members, c),
            Some(spec) => spec.shutdown.abort_wait().unwrap_or_default(),
            None => Duration::ZERO,
        })
        .max()
        .unwrap_or_default()
}

/// The root's bound as declared, to limit how long a run waits.
pub(crate) fn shutdown_bound(built: &Built) -> Duration {
    bound(&Members::new(built), "root")
}

/// Timers fire on whole milliseconds: each stop may end up to 1 ms late.
fn slack(members: &Members<'_>, sup: &str) -> Duration {
    let mut nodes = 1u32;
    let mut stack = members.of(sup);
    while let Some(c) = stack.pop() {
        nodes += 1;
        stack.extend(members.of(&c));
    }
    Duration::from_millis(2) * nodes
}

fn shutdown_within_bound(run: &Run) -> Check {
    let mut members = Members::new(&run.built);
    let mut begun: HashMap<String, Duration> = HashMap::new();
    for e in &run.events {
        members.follow(e);
        let path = path_of(e);
        match &e.kind {
            EventKind::ShutdownBegun { .. } => {
                begun.insert(path, e.elapsed);
            }
            EventKind::ShutdownCompleted { .. } => {
                let Some(t0) = begun.remove(&path) else {
                    return fail(run, format!("{path} completed a shutdown it never began"));
                };
                let took = e.elapsed - t0;
                let limit = bound(&members, &path) + slack(&members, &path);
                if took > limit {
                    return fail(
                        run,
                        format!(
                            "{path} took {took:?} to shut down; its spec bounds it to {limit:?}"
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    if run.report.is_some() || run.start != Start::Started {
        let completed = run
            .events
            .iter()
            .any(|e| path_of(e) == "root" && matches!(e.kind, EventKind::ShutdownCompleted { .. }));
        if !completed {
            return fail(run, "the root never completed its shutdown".into());
        }
    }
    Ok(())
}

fn report_accounts_for_every_child(run: &Run) -> Check {
    let Some(report) = &run.report else {
        return Ok(());
    };
    if report.path.to_string() != "root" || report.kind != "supervisor" {
        return fail(
            run,
            format!("the report's root is {} ({})", report.path, report.kind),
        );
    }
    // Replay the events: membership, which supervisors ever ran, each
    // child's last exit, who was alive when its supervisor's (last)
    // shutdown began, and the outcome of stops after that.
    let mut members = Members::new(&run.built);
    let mut ran: HashSet<String> = HashSet::new();
    let mut last_exit: HashMap<String, ExitKind> = HashMap::new();
    let mut alive: HashSet<String> = HashSet::new();
    let mut alive_at_shutdown: HashMap<String, HashSet<String>> = HashMap::new();
    let mut stopped_after: HashMap<String, StopOutcome> = HashMap::new();
    for e in &run.events {
        members.follow(e);
        let path = path_of(e);
        match &e.kind {
            EventKind::Started { .. } => {
                // A supervisor's new incarnation knows nothing of the old one's children.
                ran.retain(|c| parent(c) != path);
                last_exit.retain(|c, _| parent(c) != path);
                stopped_after.retain(|c, _| parent(c) != path);
                ran.insert(path.clone());
                alive.insert(path);
            }
            EventKind::Exited { exit, .. } => {
                alive.remove(&path);
                last_exit.insert(path, *exit);
            }
            EventKind::Stopped { outcome, .. } => {
                if *outcome == StopOutcome::Detached {
                    alive.remove(&path);
                    last_exit.insert(path.clone(), ExitKind::Stopped);
                }
                stopped_after.insert(path, *outcome);
            }
            EventKind::ShutdownBegun { .. } => {
                let now: HashSet<String> = alive
                    .iter()
                    .filter(|c| parent(c) == path)
                    .cloned()
                    .collect();
                for c in members.of(&path) {
                    stopped_after.remove(&c);
                }
                alive_at_shutdown.insert(path, now);
            }
            _ => {}
        }
    }
    let mut stack = vec![report];
    while let Some(node) = stack.pop() {
        let path = node.path.to_string();
        stack.extend(node.children.iter());
        if node.kind != "supervisor" {
            if !node.children.is_empty() {
                return fail(run, format!("worker {path} has children in the report"));
            }
        } else if path != "root" && !ran.contains(&path) {
            if !node.children.is_empty() {
                return fail(run, format!("{path} never ran but reports children"));
            }
        } else {
            let want: BTreeSet<String> = members.of(&path).into_iter().collect();
            let got: Vec<String> = node.children.iter().map(|c| c.path.to_string()).collect();
            let got_set: BTreeSet<String> = got.iter().cloned().collect();
            if got_set.len() != got.len() || got_set != want {
                return fail(
                    run,
                    format!("the report of {path} lists {got:?}; its children are {want:?}"),
                );
            }
        }
        if path == "root" {
            continue;
        }
        let kind = match spec_of(&run.built, &path).map(|s| &s.kind) {
            Some(ChildKind::Supervisor(_)) => "supervisor",
            Some(_) => "worker",
            None => return fail(run, format!("the report has an unknown node {path}")),
        };
        if node.kind != kind {
            return fail(
                run,
                format!("{path} is a {kind}, reported as {}", node.kind),
            );
        }
        if node.last_exit != last_exit.get(&path).copied() {
            return fail(
                run,
                format!(
                    "{path}: the report's last exit is {:?}, the events' {:?}",
                    node.last_exit,
                    last_exit.get(&path)
                ),
            );
        }
        let sup = parent(&path);
        let was_alive = alive_at_shutdown
            .get(sup)
            .is_some_and(|a| a.contains(&path));
        let right = match (was_alive, stopped_after.get(&path)) {
            (false, _) if node.last_exit == Some(ExitKind::Completed) => {
                node.outcome == StopOutcome::Completed
            }
            (false, _) => node.outcome == StopOutcome::AlreadyStopped,
            (true, Some(outcome)) => node.outcome == *outcome,
            (true, None) => matches!(
                node.outcome,
                StopOutcome::Completed | StopOutcome::FailedWhileStopping
            ),
        };
        if !right {
            return fail(
                run,
                format!(
                    "{path}: reported {:?}; alive when {sup} began shutting down: {was_alive}; stop outcome then: {:?}",
                    node.outcome,
                    stopped_after.get(&path)
                ),
            );
        }
    }
    Ok(())
}

fn is_supervisor(built: &Built, path: &str) -> bool {
    built.supervisors.contains_key(path)
}

fn is_worker(built: &Built, path: &str) -> bool {
    built.workers.contains_key(path)
}

fn answers(run: &Run) -> Check {
    let removed: HashSet<String> = run
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Removed))
        .map(path_of)
        .collect();
    // When the tree (its root) began shutting down, if it did.
    let tree_shutdown = run
        .events
        .iter()
        .find(|e| path_of(e) == "root" && matches!(e.kind, EventKind::ShutdownBegun { .. }))
        .map(|e| e.elapsed);
    for a in &run.answers {
        let bogus = run.built.bogus.contains(&a.path);
        let path = a.path.as_str();
        let query = matches!(a.op, Op::Children | Op::Child | Op::Count | Op::Tree);
        let problem = match &a.result {
            Ok(reply) => {
                if bogus && !matches!(a.op, Op::Tree) {
                    Some("a path that names nothing was accepted".to_owned())
                } else {
                    ok_answer(run, a, reply)
                }
            }
            Err(CommandError::WrongKind { .. }) => {
                let root_command = path == "root"
                    && !matches!(a.op, Op::Children | Op::Count | Op::Tree | Op::Add(..));
                let not_a_supervisor = (is_worker(&run.built, path)
                    && matches!(a.op, Op::Children | Op::Count | Op::Add(..)))
                    || (is_worker(&run.built, parent(path)) && matches!(a.op, Op::Child));
                (!(root_command || not_a_supervisor)).then(|| "a wrong kind".to_owned())
            }
            Err(CommandError::UnknownPath { .. }) => {
                let gone = removed
                    .iter()
                    .any(|r| path == r || path.starts_with(&format!("{r}/")));
                (!bogus && !gone && !matches!(a.op, Op::Add(..)))
                    .then(|| "a known node was not found".to_owned())
            }
            Err(CommandError::Timeout(_)) => query.then(|| "a query timed out".to_owned()),
            Err(CommandError::Invalid(_)) => {
                (!matches!(a.op, Op::Add(..))).then(|| "invalid, but adds nothing".to_owned())
            }
            Err(CommandError::ShuttingDown) => (tree_shutdown.is_none_or(|t| t > a.answered))
                .then(|| "shutting down, but the tree was not".to_owned()),
            Err(_) => None,
        };
        if let Some(problem) = problem {
            return fail(
                run,
                format!(
                    "command {} {:?} on {path:?} answered {:?} at {:?}: {problem}",
                    a.index, a.op, a.result, a.answered
                ),
            );
        }
    }
    for a in &run.after {
        let fine = match &a.result {
            Err(CommandError::ShuttingDown) => true,
            Err(CommandError::UnknownPath { .. }) => run.built.bogus.contains(&a.path),
            Err(CommandError::WrongKind { .. }) => a.path == "root" && matches!(a.op, Op::Restart),
            _ => false,
        };
        if !fine {
            return fail(
                run,
                format!(
                    "after shutdown, {:?} on {:?} answered {:?}",
                    a.op, a.path, a.result
                ),
            );
        }
    }
    Ok(())
}

/// What a successful answer must show: the effect of the command.
fn ok_answer(run: &Run, a: &Answer, reply: &Reply) -> Option<String> {
    let path = a.path.as_str();
    let running = |s: &NodeSnapshot| {
        s.generation.is_some() && matches!(s.state, NodeState::Ready | NodeState::RunningNotReady)
    };
    let down = |s: &NodeSnapshot, states: &[NodeState]| {
        s.generation.is_none() && states.contains(&s.state)
    };
    let at = |s: &NodeSnapshot, p: &str| s.path.to_string() == p;
    match (&a.op, reply) {
        (Op::Restart | Op::Release | Op::Resume, Reply::Node(s)) => {
            (!at(s, path) || !running(s)).then(|| format!("not running: {s:?}"))
        }
        (Op::Terminate, Reply::Node(s)) => (!at(s, path)
            || !down(s, &[NodeState::Stopped, NodeState::Failed]))
        .then(|| format!("not down: {s:?}")),
        (Op::Quarantine, Reply::Node(s)) => (!at(s, path) || !down(s, &[NodeState::Quarantined]))
            .then(|| format!("not quarantined: {s:?}")),
        (Op::Pause, Reply::Node(s)) => {
            (!at(s, path) || !down(s, &[NodeState::Paused])).then(|| format!("not paused: {s:?}"))
        }
        (Op::Add(..), Reply::Node(s)) => (!at(s, &format!("{path}/d{}", a.index)) || !running(s))
            .then(|| format!("not running: {s:?}")),
        (Op::Delete, Reply::Done) => None,
        (Op::Children, Reply::Nodes(nodes)) => {
            if !is_supervisor(&run.built, path) {
                Some("children of a worker".into())
            } else {
                nodes.iter().find_map(|n| {
                    (parent(&n.path.to_string()) != path)
                        .then(|| format!("{} is not a child", n.path))
                })
            }
        }
        (Op::Count, Reply::Counts(c)) => {
            if !is_supervisor(&run.built, path) {
                Some("children of a worker".into())
            } else {
                (c.active > c.specs || c.supervisors + c.workers != c.specs)
                    .then(|| format!("inconsistent counts: {c:?}"))
            }
        }
        (Op::Child, Reply::Node(s)) => (!at(s, path)).then(|| format!("another node: {s:?}")),
        (Op::Tree, Reply::Node(root)) => snapshot_invariants(root, true).err(),
        _ => Some("an answer of the wrong shape".into()),
    }
}

/// A snapshot of a tree is consistent: children below their parent, each
/// once; an incarnation (and uptime) exactly for running nodes; children
/// only under running supervisors.
fn snapshot_invariants(node: &NodeSnapshot, root: bool) -> Result<(), String> {
    let path = node.path.to_string();
    if !root {
        let running = matches!(
            node.state,
            NodeState::Ready | NodeState::RunningNotReady | NodeState::Stopping
        );
        if node.generation.is_some() != running {
            return Err(format!(
                "{path} is {:?} with incarnation {:?}",
                node.state, node.generation
            ));
        }
        if node.uptime.is_some() != node.generation.is_some() {
            return Err(format!(
                "{path} has uptime {:?} and incarnation {:?}",
                node.uptime, node.generation
            ));
        }
        if !node.children.is_empty() && (node.kind != "supervisor" || node.generation.is_none()) {
            return Err(format!(
                "{path} ({}, {:?}) lists children",
                node.kind, node.state
            ));
        }
    }
    let mut ids = HashSet::new();
    for child in &node.children {
        let c = child.path.to_string();
        if parent(&c) != path {
            return Err(format!("{c} is listed under {path}"));
        }
        if !ids.insert(c.clone()) {
            return Err(format!("{c} is listed twice"));
        }
        snapshot_invariants(child, false)?;
    }
    Ok(())
}
