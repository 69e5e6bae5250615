//! Validation of a whole tree: every error at once, each with its place.

use std::collections::BTreeSet;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use crate::duration::format as fmt_d;
use crate::id_hash::{IdHash, IdIndex};
use crate::limits::*;
use crate::{
    AutoShutdown, ChildId, ChildKind, ChildPath, ChildSpec, Diagnostics, Location, OnExhausted,
    Problem, Readiness, Restart, Shutdown, ShutdownOrder, SupervisorSpec, ValidatedSpec,
    ValidationError,
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
        let root = ChildPath::root(self.id.clone());
        self.validate_at(&root)
    }

    /// Checks the whole tree without consuming it.
    pub fn check(&self) -> Diagnostics {
        self.check_at(&ChildPath::root(self.id.clone()))
    }

    /// Checks this tree as the supervisor at `path` in a larger tree (the
    /// path ends with this spec's id): each problem is placed under
    /// `path`, and nesting counts from its depth, so that a subtree added
    /// to a running tree cannot take it past
    /// [`MAX_DEPTH`](crate::limits::MAX_DEPTH). At the root it is
    /// [`validate`](Self::validate).
    ///
    /// # Errors
    ///
    /// As [`validate`](Self::validate).
    pub fn validate_at(self, path: &ChildPath) -> Result<ValidatedSpec, ValidationError> {
        let checker = self.checked_at(path);
        let Diagnostics { errors, warnings } = checker.diagnostics;
        if errors.is_empty() {
            Ok(ValidatedSpec::new(self, warnings, checker.nodes))
        } else {
            Err(ValidationError { errors, warnings })
        }
    }

    /// [`validate_at`](Self::validate_at) without consuming the spec.
    pub fn check_at(&self, path: &ChildPath) -> Diagnostics {
        self.checked_at(path).diagnostics
    }

    fn checked_at(&self, path: &ChildPath) -> Checker {
        let mut checker = Checker::default();
        let depth = path.len().saturating_sub(1);
        checker.supervisor(self, &Arc::new(path.clone()), depth);
        checker
    }

    /// Checks `child` as a child added to this supervisor while it runs:
    /// the supervisor sits at `path` in its tree, its children are
    /// `siblings` (its own `children` are not read), and the child comes
    /// after them. It makes the checks [`validate_at`](Self::validate_at)
    /// makes of a child, and those of a supervisor's children together that
    /// a new child can fail (a taken id, the number of children, the
    /// siblings it depends on; nothing existing can depend on it, so no
    /// cycle can form), at a cost that does not grow with the siblings.
    /// The tree-wide [`MAX_NODES`] is the caller's to check: only the
    /// child's own subtree is counted here.
    ///
    /// Returns the spec of the nested supervisor the child is, if it is one,
    /// as valid at its place.
    ///
    /// # Errors
    ///
    /// As [`validate`](Self::validate), with the problems of the child.
    pub fn validate_added(
        &self,
        path: &ChildPath,
        child: &ChildSpec,
        siblings: &dyn Siblings,
    ) -> Result<Option<ValidatedSpec>, ValidationError> {
        let mut checker = Checker::default();
        let at_path = Arc::new(path.clone());
        let i = siblings.count();
        if i >= MAX_CHILDREN {
            checker.error(
                At {
                    supervisor: &at_path,
                    child: None,
                    field: "children",
                },
                format!("{} children exceed the limit of {MAX_CHILDREN}", i + 1),
            );
        }
        if let Some(first) = siblings.position(&child.id) {
            checker.error(
                child_at(&at_path, i, child, "id"),
                format!("duplicate id `{}`: children[{first}] has it too", child.id),
            );
        }
        checker.nodes = 1;
        let depth = path.len().saturating_sub(1);
        checker.child(self, &at_path, i, child, depth);
        if !child.depends_on.is_empty() {
            checker.depends_on(
                &at_path,
                i,
                child,
                |dep| siblings.position(dep).is_some(),
                || siblings.ids(),
            );
        }
        let Diagnostics { errors, warnings } = checker.diagnostics;
        if !errors.is_empty() {
            return Err(ValidationError { errors, warnings });
        }
        Ok(child.kind.supervisor().map(|nested| {
            let path = path.join(&child.id);
            let warnings = warnings
                .into_iter()
                .filter(|w| path.is_prefix_of(&w.location.supervisor))
                .collect();
            ValidatedSpec::new(nested.clone(), warnings, nested.node_count()).with_path(path)
        }))
    }
}

/// The children a supervisor has, as
/// [`SupervisorSpec::validate_added`] needs to know them.
pub trait Siblings {
    /// How many there are.
    fn count(&self) -> usize;
    /// Where the one with `id` is among them (0 for the first), if one has
    /// it. Called for every child added: it should not scan them all when
    /// none has it.
    fn position(&self, id: &ChildId) -> Option<usize>;
    /// Their ids, in any order: read only to word an error.
    fn ids(&self) -> Vec<ChildId>;
}

#[derive(Default)]
struct Checker {
    diagnostics: Diagnostics,
    nodes: usize,
}

/// Where a check looks, made into a [`Location`] only when it finds a
/// problem: a `Location` clones two `Arc`s, and most checks pass.
#[derive(Clone, Copy)]
struct At<'a> {
    supervisor: &'a Arc<ChildPath>,
    child: Option<(usize, &'a ChildId)>,
    field: &'static str,
}

impl At<'_> {
    fn location(self) -> Location {
        Location {
            supervisor: self.supervisor.clone(),
            child: self.child.map(|(i, id)| (i, id.clone())),
            field: Some(self.field),
        }
    }
}

/// What a supervisor's checks pass up to its parent.
struct StopBound {
    /// Longest the supervisor can take to stop everything.
    worst_case: Duration,
    /// Longest wait after aborting any of its (transitive) children.
    abort_wait: Duration,
}

impl Checker {
    fn error(&mut self, at: At<'_>, message: String) {
        self.diagnostics.errors.push(Problem {
            location: at.location(),
            message,
        });
    }

    fn warn(&mut self, at: At<'_>, message: String) {
        self.diagnostics.warnings.push(Problem {
            location: at.location(),
            message,
        });
    }

    fn duration(&mut self, at: At<'_>, what: &str, d: Duration, zero_ok: bool) {
        if (d.is_zero() && !zero_ok) || d > MAX_DURATION {
            self.bad_duration(at, what, d);
        }
    }

    // Out of line, so that the check above inlines into its callers (five
    // calls per worker).
    #[cold]
    #[inline(never)]
    fn bad_duration(&mut self, at: At<'_>, what: &str, d: Duration) {
        if d.is_zero() {
            self.error(at, format!("{what} must be greater than zero"));
        } else {
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
        let at = |field| At {
            supervisor: path,
            child: None,
            field,
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

        let mut index = IdIndex::with_capacity_and_hasher(spec.children.len(), IdHash::new());
        for (i, child) in spec.children.iter().enumerate() {
            match index.entry(&child.id) {
                Entry::Occupied(first) => {
                    let first = *first.get();
                    self.error(
                        child_at(path, i, child, "id"),
                        format!("duplicate id `{}`: children[{first}] has it too", child.id),
                    );
                }
                Entry::Vacant(slot) => {
                    slot.insert(i);
                }
            }
        }

        let parallel = spec.shutdown_order == ShutdownOrder::Parallel;
        // Each child's own worst case, for a parallel stop's critical path.
        let mut own = Vec::with_capacity(if parallel { spec.children.len() } else { 0 });
        let mut slowest = Duration::ZERO;
        let mut significant = 0;
        let mut has_dependencies = false;
        for (i, child) in spec.children.iter().enumerate() {
            let child_bound = self.child(spec, path, i, child, depth);
            if parallel {
                own.push(child_bound.worst_case);
                slowest = slowest.max(child_bound.worst_case);
            }
            bound.worst_case = bound.worst_case.saturating_add(child_bound.worst_case);
            bound.abort_wait = bound.abort_wait.max(child_bound.abort_wait);
            significant += usize::from(child.significant);
            if !child.depends_on.is_empty() {
                has_dependencies = true;
                self.depends_on(
                    path,
                    i,
                    child,
                    |dep| index.contains_key(dep),
                    || index.keys().map(|k| (*k).clone()).collect(),
                );
            }
        }
        // Without any `depends_on` there is no cycle, and a parallel stop
        // takes as long as its slowest child.
        let acyclic = if has_dependencies {
            let errors_before = self.diagnostics.errors.len();
            self.cycles(spec, path, &index);
            self.diagnostics.errors.len() == errors_before
        } else {
            true
        };
        if parallel && acyclic {
            bound.worst_case = if has_dependencies {
                critical_path(spec, &index, &own)
            } else {
                slowest
            };
        }

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
        if !child.tags.is_empty() {
            self.tags(at("tags"), &child.tags);
        }

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

    fn tags(&mut self, at: At<'_>, tags: &[String]) {
        if tags.len() > MAX_TAGS {
            self.error(
                at,
                format!("{} tags exceed the limit of {MAX_TAGS}", tags.len()),
            );
        }
        let mut seen = BTreeSet::new();
        for tag in tags {
            if tag.is_empty() || tag.len() > MAX_TAG_LEN || tag.chars().any(char::is_control) {
                self.error(
                    at,
                    format!(
                        "tag {tag:?} must be 1 to {MAX_TAG_LEN} bytes without control characters"
                    ),
                );
            } else if !seen.insert(tag.as_str()) {
                self.error(at, format!("tag {tag:?} is listed twice"));
            }
        }
    }

    fn backoff(&mut self, at: At<'_>, child: &ChildSpec) {
        let b = &child.backoff;
        // `none` (both zero) is the one curve that may start at zero; its
        // other settings are unused but still checked, so that a valid tree
        // never holds a non-finite number (JSON cannot write one back).
        if b.initial.is_zero() && !b.is_none() {
            self.error(
                at,
                format!(
                    "initial is zero but max is {}: the curve would stay at zero; write backoff: none for immediate restarts",
                    fmt_d(b.max)
                ),
            );
        }
        self.duration(at, "initial", b.initial, true);
        self.duration(at, "max", b.max, true);
        if b.initial > b.max {
            self.error(
                at,
                format!("initial {} exceeds max {}", fmt_d(b.initial), fmt_d(b.max)),
            );
        }
        if !(b.multiplier >= 1.0 && b.multiplier <= MAX_MULTIPLIER) {
            self.error(
                at,
                format!(
                    "multiplier {} must lie within 1..={MAX_MULTIPLIER}",
                    b.multiplier
                ),
            );
        }
        if !(0.0..=1.0).contains(&b.jitter) {
            self.error(at, format!("jitter {} must lie within 0..=1", b.jitter));
        }
        self.duration(at, "reset_after", b.reset_after, false);
    }

    fn budget(&mut self, at: At<'_>, parent: &SupervisorSpec, child: &ChildSpec) {
        let Some(budget) = child.budget else {
            return;
        };
        self.duration(at, "budget window", budget.window, false);
        if budget.max_restarts > MAX_RESTARTS {
            self.error(
                at,
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
            self.duration(at, "retry_after", retry, false);
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

    /// Checks `child`'s `depends_on` against its siblings: `known` tells
    /// whether one has an id, and `ids` lists them all (read only to word
    /// an error).
    fn depends_on(
        &mut self,
        path: &Arc<ChildPath>,
        i: usize,
        child: &ChildSpec,
        known: impl Fn(&ChildId) -> bool,
        ids: impl Fn() -> Vec<ChildId>,
    ) {
        let at = || child_at(path, i, child, "depends_on");
        let mut seen = BTreeSet::new();
        for dep in &child.depends_on {
            if dep == &child.id {
                self.error(at(), format!("`{dep}` depends on itself"));
            } else if !known(dep) {
                let ids = ids();
                let mut known: Vec<&str> = ids
                    .iter()
                    .map(ChildId::as_str)
                    .filter(|k| *k != child.id.as_str())
                    .collect();
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
    fn cycles(&mut self, spec: &SupervisorSpec, path: &Arc<ChildPath>, index: &IdIndex<'_>) {
        const WHITE: u8 = 0;
        const GREY: u8 = 1;
        const BLACK: u8 = 2;
        // The next edge out of child `n` at or after `depends_on[*next]`:
        // known siblings other than itself, in the order written.
        let next_edge = |n: usize, next: &mut usize| -> Option<usize> {
            let deps = &spec.children[n].depends_on;
            while let Some(dep) = deps.get(*next) {
                *next += 1;
                if let Some(&d) = index.get(dep)
                    && d != n
                {
                    return Some(d);
                }
            }
            None
        };
        let mut color = vec![WHITE; spec.children.len()];
        let mut reported: BTreeSet<Vec<usize>> = BTreeSet::new();
        // (child, position in its depends_on); empty between searches.
        let mut stack: Vec<(usize, usize)> = Vec::new();
        for start in 0..spec.children.len() {
            if color[start] != WHITE {
                continue;
            }
            stack.push((start, 0));
            color[start] = GREY;
            while let Some((node, next)) = stack.last_mut() {
                let Some(to) = next_edge(*node, next) else {
                    color[*node] = BLACK;
                    stack.pop();
                    continue;
                };
                match color[to] {
                    WHITE => {
                        color[to] = GREY;
                        stack.push((to, 0));
                    }
                    GREY => {
                        let from = stack.iter().position(|(n, _)| *n == to).unwrap_or(0);
                        let cycle: Vec<usize> = stack[from..].iter().map(|(n, _)| *n).collect();
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
fn critical_path(spec: &SupervisorSpec, index: &IdIndex<'_>, own: &[Duration]) -> Duration {
    let n = spec.children.len();
    // dependents[i]: the children that depend on child i.
    let mut dependents = vec![Vec::new(); n];
    for (i, child) in spec.children.iter().enumerate() {
        for dep in &child.depends_on {
            if let Some(&d) = index.get(dep)
                && d != i
            {
                dependents[d].push(i);
            }
        }
    }
    // finish[i] = own[i] + max(finish of its dependents), computed in an
    // order where dependents come first (iterative, no recursion).
    let mut finish: Vec<Option<Duration>> = vec![None; n];
    // Empty between starts.
    let mut stack = Vec::new();
    for start in 0..n {
        stack.push(start);
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

fn child_at<'a>(
    path: &'a Arc<ChildPath>,
    i: usize,
    child: &'a ChildSpec,
    field: &'static str,
) -> At<'a> {
    At {
        supervisor: path,
        child: Some((i, &child.id)),
        field,
    }
}
