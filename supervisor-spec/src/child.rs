//! [`ChildSpec`]: one child of a supervisor, with its kind and policies.

use std::borrow::Cow;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use crate::backoff;
use crate::duration::{self, HumanDuration};
use crate::supervisor::SupervisorRepr;
use crate::{Backoff, Budget, ChildId, IdError, Readiness, Shutdown, SupervisorSpec, TaskName};

/// One child of a supervisor: a worker or a nested supervisor, with the
/// policies that govern its restarts and its stop.
///
/// Build one with [`ChildSpec::worker`], [`ChildSpec::blocking`] or
/// [`ChildSpec::supervisor`], then the `with_*` methods; every field has the
/// default documented on it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use supervisor_spec::{Backoff, ChildSpec, Readiness, Restart};
///
/// let ingest = ChildSpec::worker("ingest")?
///     .with_restart(Restart::Transient)
///     .with_backoff(Backoff::exponential(Duration::from_millis(100), Duration::from_secs(30)))
///     .with_readiness(Readiness::explicit(Duration::from_secs(10)))
///     .with_depends_on(["db"])?;
/// assert_eq!(ingest.task().map(|t| t.as_str()), Some("ingest"));
/// # Ok::<(), supervisor_spec::IdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ChildRepr", into = "ChildRepr")]
#[non_exhaustive]
pub struct ChildSpec {
    /// The child's id, unique among its siblings.
    pub id: ChildId,
    /// Free text shown in renderings and the dashboard.
    pub description: Option<String>,
    /// What runs: a worker's task, or a nested supervisor.
    pub kind: ChildKind,
    /// When the child is restarted. Default `permanent`, as OTP.
    pub restart: Restart,
    /// Whether this child ending by itself counts towards its supervisor's
    /// `auto_shutdown` (OTP). Only for transient and temporary children.
    /// Default `false`.
    pub significant: bool,
    /// How the child is stopped. Default: 5 s graceful for workers,
    /// `infinity` for supervisors, as OTP.
    pub shutdown: Shutdown,
    /// Delay between restarts. Default [`Backoff::default`].
    pub backoff: Backoff,
    /// A per-child restart limit; `None` (default): only the supervisor's
    /// intensity applies.
    pub budget: Option<Budget>,
    /// When the child counts as ready. Default `immediate`. Workers only: a
    /// nested supervisor is ready when its children are.
    pub readiness: Readiness,
    /// A heartbeat deadline: a worker that does not heartbeat at least this
    /// often has failed. `None` (default): no liveness check. Workers only.
    pub liveness: Option<Duration>,
    /// Siblings that must be ready before this child starts, and around whose
    /// restarts this child is stopped and started again.
    pub depends_on: Vec<ChildId>,
    /// Labels shown in events and the dashboard; never used as metric labels.
    pub tags: Vec<String>,
}

/// What a child runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ChildKind {
    /// An async task, bound by name at run time.
    Worker {
        /// The name the task implementation is bound under.
        task: TaskName,
    },
    /// A synchronous task run on a thread of its own, bound by name at run time.
    Blocking {
        /// The name the task implementation is bound under.
        task: TaskName,
    },
    /// A nested supervisor with its own children. Its id equals the child's id.
    Supervisor(Box<SupervisorSpec>),
}

impl ChildKind {
    /// The task name of a worker, `None` for a supervisor.
    pub fn task(&self) -> Option<&TaskName> {
        match self {
            Self::Worker { task } | Self::Blocking { task } => Some(task),
            Self::Supervisor(_) => None,
        }
    }

    /// The nested supervisor, if this is one.
    pub fn supervisor(&self) -> Option<&SupervisorSpec> {
        match self {
            Self::Supervisor(s) => Some(s),
            _ => None,
        }
    }

    /// The kind's name as written in config files.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Worker { .. } => "worker",
            Self::Blocking { .. } => "blocking",
            Self::Supervisor(_) => "supervisor",
        }
    }
}

/// When a child is restarted after it ends (OTP's restart types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Always restarted, however it ended. The default, as OTP.
    #[default]
    Permanent,
    /// Restarted only after an abnormal end (an error, a panic, a missed
    /// readiness or liveness deadline); a normal return is final.
    Transient,
    /// Never restarted.
    Temporary,
}

impl ChildSpec {
    /// How many nodes this child makes in its tree: one, and for a nested
    /// supervisor, every node below it too (see
    /// [`SupervisorSpec::node_count`]).
    pub fn node_count(&self) -> usize {
        self.kind
            .supervisor()
            .map_or(1, |nested| nested.node_count().saturating_add(1))
    }

    fn new(id: ChildId, kind: ChildKind) -> Self {
        let shutdown = match kind {
            ChildKind::Supervisor(_) => Shutdown::Infinity,
            _ => Shutdown::graceful(Shutdown::DEFAULT_TIMEOUT),
        };
        Self {
            id,
            description: None,
            kind,
            restart: Restart::default(),
            significant: false,
            shutdown,
            backoff: Backoff::default(),
            budget: None,
            readiness: Readiness::default(),
            liveness: None,
            depends_on: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// An async worker whose task is bound under the same name as its id.
    ///
    /// # Errors
    ///
    /// Returns [`IdError`] if `id` is not a valid [`ChildId`].
    #[inline]
    pub fn worker(id: impl TryInto<ChildId, Error = IdError>) -> Result<Self, IdError> {
        let id = id.try_into()?;
        let task = TaskName::from(id.clone());
        Ok(Self::new(id, ChildKind::Worker { task }))
    }

    /// A blocking worker (run on a thread of its own) whose task is bound
    /// under the same name as its id.
    ///
    /// # Errors
    ///
    /// Returns [`IdError`] if `id` is not a valid [`ChildId`].
    #[inline]
    pub fn blocking(id: impl TryInto<ChildId, Error = IdError>) -> Result<Self, IdError> {
        let id = id.try_into()?;
        let task = TaskName::from(id.clone());
        Ok(Self::new(id, ChildKind::Blocking { task }))
    }

    /// A nested supervisor; the child's id is the supervisor's id.
    pub fn supervisor(spec: SupervisorSpec) -> Self {
        Self::new(spec.id.clone(), ChildKind::Supervisor(Box::new(spec)))
    }

    /// The task name of a worker, `None` for a supervisor.
    pub fn task(&self) -> Option<&TaskName> {
        self.kind.task()
    }

    /// Binds a worker to the task named `task` instead of its id. Does
    /// nothing to a supervisor.
    ///
    /// # Errors
    ///
    /// Returns [`IdError`] if `task` is not a valid [`TaskName`].
    #[inline]
    pub fn with_task(mut self, task: &str) -> Result<Self, IdError> {
        match &mut self.kind {
            // Already bound to that name (so it is valid): nothing to do.
            ChildKind::Worker { task: current } | ChildKind::Blocking { task: current }
                if current.as_str() == task => {}
            ChildKind::Worker { task: current } | ChildKind::Blocking { task: current } => {
                *current = TaskName::checked(task)?;
            }
            ChildKind::Supervisor(_) => {
                TaskName::checked(task)?;
            }
        }
        Ok(self)
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the restart type.
    pub fn with_restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Marks the child significant (or not).
    pub fn with_significant(mut self, significant: bool) -> Self {
        self.significant = significant;
        self
    }

    /// Sets how the child is stopped.
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Sets the restart backoff.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets a per-child restart budget.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Sets the readiness mode.
    pub fn with_readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = readiness;
        self
    }

    /// Sets the heartbeat deadline.
    pub fn with_liveness(mut self, deadline: Duration) -> Self {
        self.liveness = Some(deadline);
        self
    }

    /// Adds siblings this child depends on.
    ///
    /// # Errors
    ///
    /// Returns [`IdError`] if a name is not a valid [`ChildId`].
    pub fn with_depends_on<I>(mut self, ids: I) -> Result<Self, IdError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        for id in ids {
            self.depends_on.push(ChildId::checked(id.as_ref())?);
        }
        Ok(self)
    }

    /// Adds a tag.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum KindTag {
    Worker,
    Blocking,
    Supervisor,
}

/// Serialized form of a child.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ChildSpec")]
struct ChildRepr {
    /// Unique among siblings: 1-63 of a-z 0-9 _ - . starting with a letter or digit.
    id: ChildId,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// `worker` (async, the default), `blocking` (a thread of its own) or
    /// `supervisor` (implied by a `supervisor` section).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<KindTag>,
    /// Workers: the name of the bound task implementation; default: the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task: Option<TaskName>,
    /// Nested supervisors: strategy, intensity, children...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    supervisor: Option<SupervisorRepr>,
    /// `permanent` (default), `transient` or `temporary`.
    #[serde(default)]
    restart: Restart,
    /// Counts towards the supervisor's auto_shutdown.
    #[serde(default, skip_serializing_if = "is_false")]
    significant: bool,
    /// Graceful timeout ("5s"), "brutal_kill", "infinity" (supervisors) or a map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shutdown: Option<Shutdown>,
    /// Restart backoff: "none" or a map of settings.
    #[serde(default, with = "backoff::repr")]
    #[schemars(with = "backoff::repr::Schema")]
    backoff: Backoff,
    /// Per-child restart budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    budget: Option<Budget>,
    /// "immediate" (default), "explicit" or { explicit: <timeout> }.
    #[serde(default)]
    readiness: Readiness,
    /// Heartbeat deadline.
    #[serde(
        default,
        with = "duration::human_opt",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<HumanDuration>")]
    liveness: Option<Duration>,
    /// Sibling ids that must be ready first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    depends_on: Vec<ChildId>,
    /// Labels for events and the dashboard.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl TryFrom<ChildRepr> for ChildSpec {
    type Error = String;

    fn try_from(r: ChildRepr) -> Result<Self, String> {
        let id = r.id;
        let kind = match (r.kind, r.supervisor, r.task) {
            (None | Some(KindTag::Supervisor), Some(body), None) => {
                if body.id.is_some() {
                    return Err(format!(
                        "child {id}: a nested supervisor takes its id from its child entry; remove `id` from `supervisor`"
                    ));
                }
                ChildKind::Supervisor(Box::new(body.into_spec(id.clone())))
            }
            (_, Some(_), Some(_)) => {
                return Err(format!(
                    "child {id}: a nested supervisor has no `task`; remove `task` or `supervisor`"
                ));
            }
            (Some(KindTag::Supervisor), None, _) => {
                return Err(format!(
                    "child {id}: kind supervisor needs a `supervisor` section with its strategy and children"
                ));
            }
            (Some(k), Some(_), None) => {
                let k = if k == KindTag::Worker {
                    "worker"
                } else {
                    "blocking"
                };
                return Err(format!(
                    "child {id}: kind {k} cannot have a `supervisor` section"
                ));
            }
            (kind, None, task) => {
                let task = task.unwrap_or_else(|| TaskName::from(id.clone()));
                if kind == Some(KindTag::Blocking) {
                    ChildKind::Blocking { task }
                } else {
                    ChildKind::Worker { task }
                }
            }
        };
        let mut spec = ChildSpec::new(id, kind);
        if let Some(shutdown) = r.shutdown {
            spec.shutdown = shutdown;
        }
        spec.description = r.description;
        spec.restart = r.restart;
        spec.significant = r.significant;
        spec.backoff = r.backoff;
        spec.budget = r.budget;
        spec.readiness = r.readiness;
        spec.liveness = r.liveness;
        spec.depends_on = r.depends_on;
        spec.tags = r.tags;
        Ok(spec)
    }
}

impl From<ChildSpec> for ChildRepr {
    fn from(c: ChildSpec) -> Self {
        let (kind, task, supervisor) = match c.kind {
            ChildKind::Worker { task } => (None, (task != c.id.as_str()).then_some(task), None),
            ChildKind::Blocking { task } => (
                Some(KindTag::Blocking),
                (task != c.id.as_str()).then_some(task),
                None,
            ),
            ChildKind::Supervisor(spec) => {
                let mut repr = SupervisorRepr::from(*spec);
                repr.id = None;
                (None, None, Some(repr))
            }
        };
        Self {
            id: c.id,
            description: c.description,
            kind,
            task,
            supervisor,
            restart: c.restart,
            significant: c.significant,
            shutdown: Some(c.shutdown),
            backoff: c.backoff,
            budget: c.budget,
            readiness: c.readiness,
            liveness: c.liveness,
            depends_on: c.depends_on,
            tags: c.tags,
        }
    }
}

impl JsonSchema for ChildSpec {
    fn schema_name() -> Cow<'static, str> {
        "ChildSpec".into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        ChildRepr::json_schema(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de(json: &str) -> Result<ChildSpec, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn with_task_checks_the_name_for_every_kind() {
        let w = ChildSpec::worker("ingest").unwrap();
        assert_eq!(w.clone().with_task("ingest").unwrap(), w);
        let bound = w.with_task("jobs::ingest").unwrap();
        assert_eq!(bound.task().unwrap().as_str(), "jobs::ingest");
        assert!(bound.with_task("jobs ingest").is_err());
        let b = ChildSpec::blocking("writer")
            .unwrap()
            .with_task("io")
            .unwrap();
        assert_eq!(b.task().unwrap().as_str(), "io");
        let s = ChildSpec::supervisor(SupervisorSpec::new("jobs").unwrap());
        assert_eq!(s.clone().with_task("x").unwrap(), s);
        assert_eq!(
            s.with_task("").unwrap_err().to_string(),
            "task name is empty"
        );
    }

    #[test]
    fn task_defaults_to_id() {
        let c = de(r#"{"id":"ingest"}"#).unwrap();
        assert_eq!(
            c.kind,
            ChildKind::Worker {
                task: TaskName::new("ingest").unwrap()
            }
        );
        assert_eq!(c.shutdown, Shutdown::graceful(Shutdown::DEFAULT_TIMEOUT));
    }

    #[test]
    fn supervisor_section_makes_a_nested_supervisor() {
        let c = de(r#"{"id":"jobs","supervisor":{"strategy":"one_for_all"}}"#).unwrap();
        let s = c.kind.supervisor().unwrap();
        assert_eq!(s.id, "jobs");
        assert_eq!(s.strategy, crate::Strategy::OneForAll);
        assert_eq!(c.shutdown, Shutdown::Infinity);
    }

    #[test]
    fn rejects_task_on_a_supervisor() {
        let err = de(r#"{"id":"jobs","task":"x","supervisor":{}}"#).unwrap_err();
        assert!(err.contains("a nested supervisor has no `task`"), "{err}");
    }

    #[test]
    fn rejects_kind_supervisor_without_section() {
        let err = de(r#"{"id":"jobs","kind":"supervisor"}"#).unwrap_err();
        assert!(err.contains("needs a `supervisor` section"), "{err}");
    }

    #[test]
    fn rejects_blocking_with_supervisor_section() {
        let err = de(r#"{"id":"jobs","kind":"blocking","supervisor":{}}"#).unwrap_err();
        assert!(
            err.contains("kind blocking cannot have a `supervisor` section"),
            "{err}"
        );
    }

    #[test]
    fn rejects_id_inside_a_nested_supervisor() {
        let err = de(r#"{"id":"jobs","supervisor":{"id":"jobs"}}"#).unwrap_err();
        assert!(err.contains("nested supervisor takes its id"), "{err}");
    }

    #[test]
    fn rejects_misspelt_keys() {
        let err = de(r#"{"id":"a","restrat":"permanent"}"#).unwrap_err();
        assert!(err.contains("unknown field `restrat`"), "{err}");
        assert!(err.contains("`restart`"), "{err}");
    }
}
