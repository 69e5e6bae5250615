//! Validation of a whole tree: every error at once, each with its place.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::duration::format as fmt_d;
use crate::limits::*;
use crate::{
    AutoShutdown, ChildKind, ChildPath, ChildSpec, Diagnostics, Location, OnExhausted, Problem,
    Readiness, Restart, Shutdown, ShutdownOrder, SupervisorSpec, ValidatedSpec, ValidationError,
};

impl SupervisorSpec {
    /// Checks the whole tree and returns it as a [`ValidatedSpec`] carrying
    /// any warnings.
    ///
    /// # Errors
    ///
    /// Returns a [`ValidationError`] listing *every* error found (not just
    /// the first), each with its place in the tree, plus the warnings.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use supervisor_spec::{Backoff, ChildSpec, SupervisorSpec};
    ///
    /// let spec = SupervisorSpec::new("root")?.with_child(
    ///     ChildSpec::worker("ingest")?
    ///         .with_backoff(Backoff::exponential(Duration::from_secs(5), Duration::from_secs(1))),
    /// );
    /// let err = spec.validate().unwrap_err();
    /// assert_eq!(
    ///     err.errors[0].to_string(),
    ///     "root.children[0] (ingest).backoff: initial 5s exceeds max 1s"
    /// );
    /// # Ok::<(), supervisor_spec::IdError>(())
    /// ```
    pub fn validate(self) -> Result<ValidatedSpec, ValidationError> {
        let Diagnostics { errors, warnings } = self.check();
        if errors.is_empty() {
            Ok(ValidatedSpec::new(self, warnings))
        } else {
            Err(ValidationError { errors, warnings })
        }
    }

    /// Checks the whole tree without consuming it.
    pub fn check(&self) -> Diagnostics {
        let mut checker = Checker::default();
        checker.supervisor(self, &Arc::new(ChildPath::root(self.id.clone())), 0);
        checker.diagnostics
    }
}

#[derive(Default)]
struct Checker {
    diagnostics: Diagnostics,
    nodes: usize,
}

/// What a supervisor's checks pass up to its parent.
struct StopBound {
    /// Longest the supervisor can take to stop everything.
    worst_case: Duration,
    /// Longest wait after aborting any of its (transitive) children.
    abort_wait: Duration,
}

impl Checker {
    fn error(&mut self, location: Location, message: String) {
        self.diagnostics.errors.push(Problem { location, message });
    }

    fn warn(&mut self, location: Location, message: String) {
        self.diagnostics
            .warnings
            .push(Problem { location, message });
    }

    fn duration(&mut self, at: Location, what: &str, d: Duration, zero_ok: bool) {
        if d.is_zero() && !zero_ok {
            self.error(at, format!("{what} must be greater than zero"));
        } else if d > MAX_DURATION {
            self.error(
                at,
                format!(
                    "{what} {} exceeds the limit of {}",
                    fmt_d(d),
                    fmt_d(MAX_DURATION)
                ),
            );
        }
    }

    fn supervisor(
        &mut self,
        spec: &SupervisorSpec,
        path: &Arc<ChildPath>,
        depth: usize,
    ) -> StopBound {
        let at = |field| Location {
            supervisor: path.clone(),
            child: None,
            field: Some(field),
        };
        self.duration(
            at("intensity"),
            "intensity period",
            spec.intensity.period,
            false,
        );
        if spec.intensity.max_restarts > MAX_RESTARTS {
            self.error(
                at("intensity"),
                format!(
                    "max_restarts {} exceeds the limit of {MAX_RESTARTS}",
                    spec.intensity.max_restarts
                ),
            );
        }
        if let Some(budget) = spec.shutdown {
            self.duration(at("shutdown"), "shutdown budget", budget, false);
        }
        let mut bound = StopBound {
            worst_case: Duration::ZERO,
            abort_wait: Duration::ZERO,
        };
        if spec.children.len() > MAX_CHILDREN {
            self.error(
                at("children"),
                format!(
                    "{} children exceed the limit of {MAX_CHILDREN}",
                    spec.children.len()
                ),
            );
            return bound;
        }
        self.nodes += spec.children.len();
        if self.nodes > MAX_NODES {
            self.error(
                at("children"),
                format!("the tree has more than {MAX_NODES} nodes"),
            );
            return bound;
        }

        let mut index: HashMap<&str, usize> = HashMap::with_capacity(spec.children.len());
        for (i, child) in spec.children.iter().enumerate() {
            if let Some(&first) = index.get(child.id.as_str()) {
                self.error(
                    child_at(path, i, child, "id"),
                    format!("duplicate id `{}`: children[{first}] has it too", child.id),
                );
            } else {
                index.insert(child.id.as_str(), i);
            }
        }

        let mut own = Vec::with_capacity(spec.children.len());
        for (i, child) in spec.children.iter().enumerate() {
            let child_bound = self.child(spec, path, i, child, depth);
            own.push(child_bound.worst_case);
            bound.worst_case = bound.worst_case.saturating_add(child_bound.worst_case);
            bound.abort_wait = bound.abort_wait.max(child_bound.abort_wait);
            self.depends_on(path, i, child, &index);
        }
        let errors_before = self.diagnostics.errors.len();
        self.cycles(spec, path, &index);
        let acyclic = self.diagnostics.errors.len() == errors_before;
        if spec.shutdown_order == ShutdownOrder::Parallel && acyclic {
            bound.worst_case = critical_path(spec, &index, &own);
        }

        let significant = spec.children.iter().filter(|c| c.significant).count();
        if significant == 0 && spec.auto_shutdown != AutoShutdown::Never {
            self.warn(
                at("auto_shutdown"),
                "no child is significant, so auto_shutdown never fires unless significant children are added at run time".into(),
            );
        }

        if let Some(budget) = spec.shutdown {
            if budget < bound.worst_case {
                self.warn(
                    at("shutdown"),
                    format!(
                        "shutdown budget {} is less than the worst-case {} shutdown of its children ({}); whatever still runs when the budget runs out is aborted",
                        fmt_d(budget),
                        match spec.shutdown_order {
                            ShutdownOrder::Parallel => "parallel",
                            ShutdownOrder::Sequential => "sequential",
                        },
                        fmt_d(bound.worst_case)
                    ),
                );
            }
            let bounded = budget.saturating_add(bound.abort_wait);
            bound.worst_case = bound.worst_case.min(bounded);
        }
        bound
    }

    fn child(
        &mut self,
        parent: &SupervisorSpec,
        path: &Arc<ChildPath>,
        i: usize,
        child: &ChildSpec,
        depth: usize,
    ) -> StopBound {
        let at = |field| child_at(path, i, child, field);

        if let Some(d) = &child.description
            && d.len() > MAX_DESCRIPTION_LEN
        {
            self.error(
                at("description"),
                format!(
                    "{} bytes exceed the limit of {MAX_DESCRIPTION_LEN}",
                    d.len()
                ),
            );
        }
        self.tags(at("tags"), &child.tags);

        if child.significant {
            if child.restart == Restart::Permanent {
                self.error(
                    at("significant"),
                    "a permanent child cannot be significant (OTP): it is always restarted, so it never ends by itself; make it transient or temporary".into(),
                );
            }
            if parent.auto_shutdown == AutoShutdown::Never {
                self.error(
                    at("significant"),
                    "significant children need auto_shutdown any_significant or all_significant on their supervisor (OTP rejects significant children with auto_shutdown never)".into(),
                );
            }
        }

        self.backoff(at("backoff"), child);
        self.budget(at("budget"), parent, child);

        let mut bound = match &child.kind {
            ChildKind::Supervisor(nested) => {
                if nested.id != child.id {
                    self.error(
                        at("supervisor"),
                        format!(
                            "nested supervisor id `{}` differs from its child id `{}`",
                            nested.id, child.id
                        ),
                    );
                }
                if let Readiness::Explicit { .. } = child.readiness {
                    self.error(
                        at("readiness"),
                        "a nested supervisor is ready when its children are; explicit readiness applies to workers only".into(),
                    );
                }
                if child.liveness.is_some() {
                    self.error(
                        at("liveness"),
                        "liveness applies to workers only; a nested supervisor's children carry their own deadlines".into(),
                    );
                }
                if depth + 1 > MAX_DEPTH {
                    self.error(
                        at("supervisor"),
                        format!(
                            "supervisors are nested deeper than the limit of {MAX_DEPTH} levels"
                        ),
                    );
                    StopBound {
                        worst_case: Duration::ZERO,
                        abort_wait: Duration::ZERO,
                    }
                } else {
                    self.supervisor(nested, &Arc::new(path.join(&child.id)), depth + 1)
                }
            }
            ChildKind::Worker { .. } | ChildKind::Blocking { .. } => {
                if child.shutdown == Shutdown::Infinity {
                    self.error(
                        at("shutdown"),
                        "infinity is only for nested supervisors (OTP); give a worker a graceful timeout or brutal_kill".into(),
                    );
                }
                if let Readiness::Explicit { timeout } = child.readiness {
                    self.duration(at("readiness"), "readiness timeout", timeout, false);
                }
                if let Some(deadline) = child.liveness {
                    self.duration(at("liveness"), "liveness deadline", deadline, false);
                }
                StopBound {
                    worst_case: Duration::ZERO,
                    abort_wait: Duration::ZERO,
                }
            }
        };

        match child.shutdown {
            Shutdown::Graceful {
                timeout,
                abort_wait,
            } => {
                if timeout.is_zero() {
                    self.error(
                        at("shutdown"),
                        "a graceful timeout of zero gives no time to stop; write brutal_kill instead".into(),
                    );
                } else {
                    self.duration(at("shutdown"), "graceful timeout", timeout, false);
                }
                self.duration(at("shutdown"), "abort_wait", abort_wait, false);
            }
            Shutdown::BrutalKill { abort_wait } => {
                self.duration(at("shutdown"), "abort_wait", abort_wait, false);
            }
            Shutdown::Infinity => {}
        }
        if let (Some(worst), Some(wait)) =
            (child.shutdown.worst_case(), child.shutdown.abort_wait())
        {
            // A worker, or a supervisor bounded by its own timeout.
            bound.worst_case = match child.kind {
                ChildKind::Supervisor(_) => bound.worst_case.min(worst),
                _ => worst,
            };
            bound.abort_wait = bound.abort_wait.max(wait);
        }
        bound
    }

    fn tags(&mut self, at: Location, tags: &[String]) {
        if tags.len() > MAX_TAGS {
            self.error(
                at.clone(),
                format!("{} tags exceed the limit of {MAX_TAGS}", tags.len()),
            );
        }
        let mut seen = BTreeSet::new();
        for tag in tags {
            if tag.is_empty() || tag.len() > MAX_TAG_LEN || tag.chars().any(char::is_control) {
                self.error(
                    at.clone(),
                    format!(
                        "tag {tag:?} must be 1 to {MAX_TAG_LEN} bytes without control characters"
                    ),
                );
            } else if !seen.insert(tag.as_str()) {
                self.error(at.clone(), format!("tag {tag:?} is listed twice"));
            }
        }
    }

    fn backoff(&mut self, at: Location, child: &ChildSpec) {
        let b = &child.backoff;
        // `none` (both zero) is the one curve that may start at zero; its
        // other settings are unused but still checked, so that a valid tree
        // never holds a non-finite number (JSON cannot write one back).
        if b.initial.is_zero() && !b.is_none() {
            self.error(
                at.clone(),
                format!(
                    "initial is zero but max is {}: the curve would stay at zero; write backoff: none for immediate restarts",
                    fmt_d(b.max)
                ),
            );
        }
        self.duration(at.clone(), "initial", b.initial, true);
        self.duration(at.clone(), "max", b.max, true);
        if b.initial > b.max {
            self.error(
                at.clone(),
                format!("initial {} exceeds max {}", fmt_d(b.initial), fmt_d(b.max)),
            );
        }
        if !(b.multiplier >= 1.0 && b.multiplier <= MAX_MULTIPLIER) {
            self.error(
                at.clone(),
                format!(
                    "multiplier {} must lie within 1..={MAX_MULTIPLIER}",
                    b.multiplier
                ),
            );
        }
        if !(0.0..=1.0).contains(&b.jitter) {
            self.error(
                at.clone(),
                format!("jitter {} must lie within 0..=1", b.jitter),
            );
        }
        self.duration(at, "reset_after", b.reset_after, false);
    }

    fn budget(&mut self, at: Location, parent: &SupervisorSpec, child: &ChildSpec) {
        let Some(budget) = child.budget else {
            return;
        };
        self.duration(at.clone(), "budget window", budget.window, false);
        if budget.max_restarts > MAX_RESTARTS {
            self.error(
                at.clone(),
                format!(
                    "max_restarts {} exceeds the limit of {MAX_RESTARTS}",
                    budget.max_restarts
                ),
            );
        }
        if let OnExhausted::Quarantine {
            retry_after: Some(retry),
        } = budget.on_exhausted
        {
            self.duration(at.clone(), "retry_after", retry, false);
        }
        let intensity = parent.intensity;
        if budget.max_restarts >= intensity.max_restarts && budget.window <= intensity.period {
            self.warn(
                at,
                format!(
                    "a budget of {} restarts in {} can never be exhausted: the supervisor's intensity ({} in {}) gives up first",
                    budget.max_restarts,
                    fmt_d(budget.window),
                    intensity.max_restarts,
                    fmt_d(intensity.period)
                ),
            );
        }
    }

    fn depends_on(
        &mut self,
        path: &Arc<ChildPath>,
        i: usize,
        child: &ChildSpec,
        index: &HashMap<&str, usize>,
    ) {
        let at = || child_at(path, i, child, "depends_on");
        let mut seen = BTreeSet::new();
        for dep in &child.depends_on {
            if dep == &child.id {
                self.error(at(), format!("`{dep}` depends on itself"));
            } else if !index.contains_key(dep.as_str()) {
                let known: Vec<&str> = index
                    .keys()
                    .copied()
                    .filter(|k| *k != child.id.as_str())
                    .collect();
                let mut known = known;
                known.sort_unstable();
                let hint = if known.is_empty() {
                    format!("{} has no siblings", child.id)
                } else if known.len() <= 10 {
                    format!("siblings are: {}", known.join(", "))
                } else {
                    format!("{} siblings exist", known.len())
                };
                self.error(at(), format!("unknown sibling `{dep}`; {hint}"));
            } else if !seen.insert(dep.as_str()) {
                self.error(at(), format!("`{dep}` is listed twice"));
            }
        }
    }

    /// Finds dependency cycles among siblings with an iterative depth-first
    /// search (a recursive one could overflow the stack on 100,000 siblings).
    fn cycles(
        &mut self,
        spec: &SupervisorSpec,
        path: &Arc<ChildPath>,
        index: &HashMap<&str, usize>,
    ) {
        const WHITE: u8 = 0;
        const GREY: u8 = 1;
        const BLACK: u8 = 2;
        let edges = |n: usize| -> Vec<usize> {
            spec.children[n]
                .depends_on
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .filter(|&d| d != n)
                .collect()
        };
        let mut color = vec![WHITE; spec.children.len()];
        let mut reported: BTreeSet<Vec<usize>> = BTreeSet::new();
        for start in 0..spec.children.len() {
            if color[start] != WHITE {
                continue;
            }
            let mut stack: Vec<(usize, Vec<usize>, usize)> = vec![(start, edges(start), 0)];
            color[start] = GREY;
            while let Some((node, out, next)) = stack.last_mut() {
                if *next == out.len() {
                    color[*node] = BLACK;
                    stack.pop();
                    continue;
                }
                let to = out[*next];
                *next += 1;
                match color[to] {
                    WHITE => {
                        color[to] = GREY;
                        stack.push((to, edges(to), 0));
                    }
                    GREY => {
                        let from = stack.iter().position(|(n, _, _)| *n == to).unwrap_or(0);
                        let cycle: Vec<usize> = stack[from..].iter().map(|(n, _, _)| *n).collect();
                        let mut key = cycle.clone();
                        key.sort_unstable();
                        if reported.insert(key) {
                            let mut names: Vec<&str> = cycle
                                .iter()
                                .map(|&n| spec.children[n].id.as_str())
                                .collect();
                            names.push(spec.children[to].id.as_str());
                            self.error(
                                child_at(path, to, &spec.children[to], "depends_on"),
                                format!("dependency cycle: {}", names.join(" -> ")),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The worst-case time of a parallel stop: every child is asked at once and
/// waits only for its dependents, so the total is the longest chain of
/// dependents (each link its own worst case). The graph is acyclic here.
fn critical_path(
    spec: &SupervisorSpec,
    index: &HashMap<&str, usize>,
    own: &[Duration],
) -> Duration {
    let n = spec.children.len();
    // dependents[i]: the children that depend on child i.
    let mut dependents = vec![Vec::new(); n];
    for (i, child) in spec.children.iter().enumerate() {
        for dep in &child.depends_on {
            if let Some(&d) = index.get(dep.as_str())
                && d != i
            {
                dependents[d].push(i);
            }
        }
    }
    // finish[i] = own[i] + max(finish of its dependents), computed in an
    // order where dependents come first (iterative, no recursion).
    let mut finish: Vec<Option<Duration>> = vec![None; n];
    for start in 0..n {
        let mut stack = vec![start];
        while let Some(&i) = stack.last() {
            if finish[i].is_some() {
                stack.pop();
                continue;
            }
            let pending: Vec<usize> = dependents[i]
                .iter()
                .copied()
                .filter(|&d| finish[d].is_none())
                .collect();
            if pending.is_empty() {
                let after = dependents[i]
                    .iter()
                    .filter_map(|&d| finish[d])
                    .max()
                    .unwrap_or_default();
                finish[i] = Some(own[i].saturating_add(after));
                stack.pop();
            } else {
                stack.extend(pending);
            }
        }
    }
    finish.into_iter().flatten().max().unwrap_or_default()
}

fn child_at(path: &Arc<ChildPath>, i: usize, child: &ChildSpec, field: &'static str) -> Location {
    Location {
        supervisor: path.clone(),
        child: Some((i, child.id.clone())),
        field: Some(field),
    }
}
