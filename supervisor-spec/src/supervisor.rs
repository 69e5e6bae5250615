//! [`SupervisorSpec`] and the supervisor-wide policies: [`Strategy`],
//! [`Intensity`], [`AutoShutdown`].

use std::borrow::Cow;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use crate::duration::{self, HumanDuration};
use crate::{ChildId, ChildSpec};

/// A supervisor: its restart policy and its ordered children.
///
/// Children are started in declaration order (subject to `depends_on`) and
/// stopped in reverse, as in OTP.
///
/// # Examples
///
/// ```
/// use supervisor_spec::{ChildSpec, Strategy, SupervisorSpec};
///
/// let spec = SupervisorSpec::new("root")?
///     .with_strategy(Strategy::RestForOne)
///     .with_child(ChildSpec::worker("db")?)
///     .with_child(ChildSpec::worker("api")?.with_depends_on(["db"])?);
/// let valid = spec.validate()?;
/// assert!(valid.warnings().is_empty());
/// println!("{}", valid.spec());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SupervisorRepr", into = "SupervisorRepr")]
#[non_exhaustive]
pub struct SupervisorSpec {
    /// The supervisor's id. For a nested supervisor, the id of its child entry.
    pub id: ChildId,
    /// Which children are restarted when one fails. Default `one_for_one`.
    pub strategy: Strategy,
    /// How many restarts the supervisor tolerates before giving up. Default 3 in 5 s.
    pub intensity: Intensity,
    /// Whether significant children ending shut the supervisor down. Default `never`.
    pub auto_shutdown: AutoShutdown,
    /// An overall bound on stopping all children; when it runs out, whatever
    /// still runs is aborted at once. `None` (the default): each child's own
    /// shutdown settings bound it.
    pub shutdown: Option<Duration>,
    /// Whether children are stopped one at a time or together. Default
    /// `sequential`, as OTP.
    pub shutdown_order: ShutdownOrder,
    /// The children, in start order.
    pub children: Vec<ChildSpec>,
}

impl SupervisorSpec {
    /// A supervisor with default policies and no children.
    ///
    /// # Errors
    ///
    /// Returns [`IdError`](crate::IdError) if `id` is not a valid [`ChildId`].
    pub fn new(id: impl TryInto<ChildId, Error = crate::IdError>) -> Result<Self, crate::IdError> {
        Ok(Self::with_id(id.try_into()?))
    }

    /// A supervisor with default policies and no children, from a checked id.
    pub fn with_id(id: ChildId) -> Self {
        Self {
            id,
            strategy: Strategy::default(),
            intensity: Intensity::default(),
            auto_shutdown: AutoShutdown::default(),
            shutdown: None,
            shutdown_order: ShutdownOrder::default(),
            children: Vec::new(),
        }
    }

    /// Sets the restart strategy.
    pub fn with_strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Sets the restart intensity: at most `max_restarts` within `period`.
    pub fn with_intensity(mut self, max_restarts: u32, period: Duration) -> Self {
        self.intensity = Intensity {
            max_restarts,
            period,
        };
        self
    }

    /// Sets the auto-shutdown rule.
    pub fn with_auto_shutdown(mut self, auto_shutdown: AutoShutdown) -> Self {
        self.auto_shutdown = auto_shutdown;
        self
    }

    /// Sets the overall shutdown budget.
    pub fn with_shutdown(mut self, budget: Duration) -> Self {
        self.shutdown = Some(budget);
        self
    }

    /// Sets whether children are stopped one at a time or together.
    pub fn with_shutdown_order(mut self, order: ShutdownOrder) -> Self {
        self.shutdown_order = order;
        self
    }

    /// Appends a child.
    pub fn with_child(mut self, child: ChildSpec) -> Self {
        self.children.push(child);
        self
    }

    /// Appends children.
    pub fn with_children(mut self, children: impl IntoIterator<Item = ChildSpec>) -> Self {
        self.children.extend(children);
        self
    }

    /// The child with `id`, if any.
    pub fn child(&self, id: &str) -> Option<&ChildSpec> {
        self.children.iter().find(|c| c.id == id)
    }

    /// How many nodes (workers and supervisors) the tree below this
    /// supervisor has, itself not counted: what
    /// [`MAX_NODES`](crate::limits::MAX_NODES) limits.
    ///
    /// ```
    /// use supervisor_spec::{ChildSpec, SupervisorSpec};
    ///
    /// let inner = SupervisorSpec::new("inner")?
    ///     .with_children([ChildSpec::worker("a")?, ChildSpec::worker("b")?]);
    /// let root = SupervisorSpec::new("root")?
    ///     .with_children([ChildSpec::supervisor(inner), ChildSpec::worker("c")?]);
    /// assert_eq!(root.node_count(), 4);
    /// # Ok::<(), supervisor_spec::IdError>(())
    /// ```
    pub fn node_count(&self) -> usize {
        // A stack, not recursion: the spec may not be validated yet, so its
        // depth is not bounded.
        let mut nodes = 0usize;
        let mut stack = vec![self];
        while let Some(spec) = stack.pop() {
            nodes = nodes.saturating_add(spec.children.len());
            stack.extend(spec.children.iter().filter_map(|c| c.kind.supervisor()));
        }
        nodes
    }
}

/// Which children a supervisor restarts when one of them is restarted (OTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Only the child that ended. The default, as in OTP.
    #[default]
    OneForOne,
    /// Every child: the others are stopped in reverse start order, then all
    /// are started in start order.
    OneForAll,
    /// The child that ended and every child declared after it.
    RestForOne,
}

/// How a supervisor stops several children: at shutdown, when it gives up,
/// and when a strategy restarts siblings.
///
/// Either way a child is never stopped before the siblings that depend on it
/// have ended, and stop requests go out in reverse start order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ShutdownOrder {
    /// One child at a time, in reverse start order: each is stopped only
    /// after the one started after it has ended. The default, as OTP.
    #[default]
    Sequential,
    /// Every child is asked to stop at once (in reverse start order) and
    /// waits only for its dependents to end first, as systemd stops units.
    /// Much faster for many children; declare `depends_on` where order matters.
    Parallel,
}

/// Restart intensity: more than `max_restarts` restarts within any sliding
/// `period` make the supervisor give up (stop its children and fail, so its
/// parent decides). OTP's `intensity` and `period`, with OTP's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Intensity {
    /// Restarts tolerated within `period`. Default 3 (OTP: 1; raised because
    /// backoff already slows flapping children down).
    pub max_restarts: u32,
    /// The sliding window. Default 5 s, as OTP.
    #[serde(with = "duration::human")]
    #[schemars(with = "HumanDuration")]
    pub period: Duration,
}

impl Default for Intensity {
    fn default() -> Self {
        Self {
            max_restarts: 3,
            period: Duration::from_secs(5),
        }
    }
}

impl Intensity {
    /// At most `max_restarts` restarts within `period`.
    pub fn new(max_restarts: u32, period: Duration) -> Self {
        Self {
            max_restarts,
            period,
        }
    }
}

/// When the ending of significant children shuts their supervisor down (OTP 24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutoShutdown {
    /// Never; `significant` children are not allowed. The default, as in OTP.
    #[default]
    Never,
    /// When any significant child ends by itself (and is not restarted).
    AnySignificant,
    /// When the last significant child still running ends by itself (and is
    /// not restarted); one an operator terminated does not run, as in OTP.
    /// One paused or quarantined is meant to come back, and keeps the
    /// supervisor up.
    AllSignificant,
}

/// Serialized form of a supervisor. The root carries `id`; a nested
/// supervisor takes its id from its child entry and must not repeat it.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Supervisor")]
pub(crate) struct SupervisorRepr {
    /// The supervisor's id (root only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<ChildId>,
    /// `one_for_one` (default), `one_for_all` or `rest_for_one`.
    #[serde(default)]
    pub(crate) strategy: Strategy,
    /// Restart intensity; default 3 restarts in 5s.
    #[serde(default)]
    pub(crate) intensity: Intensity,
    /// `never` (default), `any_significant` or `all_significant`.
    #[serde(default)]
    pub(crate) auto_shutdown: AutoShutdown,
    /// Overall shutdown budget.
    #[serde(
        default,
        with = "duration::human_opt",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<HumanDuration>")]
    pub(crate) shutdown: Option<Duration>,
    /// `sequential` (default) or `parallel`.
    #[serde(default)]
    pub(crate) shutdown_order: ShutdownOrder,
    /// The children, in start order.
    #[serde(default)]
    pub(crate) children: Vec<ChildSpec>,
}

impl SupervisorRepr {
    pub(crate) fn into_spec(self, id: ChildId) -> SupervisorSpec {
        SupervisorSpec {
            id,
            strategy: self.strategy,
            intensity: self.intensity,
            auto_shutdown: self.auto_shutdown,
            shutdown: self.shutdown,
            shutdown_order: self.shutdown_order,
            children: self.children,
        }
    }
}

impl TryFrom<SupervisorRepr> for SupervisorSpec {
    type Error = &'static str;

    fn try_from(mut r: SupervisorRepr) -> Result<Self, Self::Error> {
        match r.id.take() {
            Some(id) => Ok(r.into_spec(id)),
            None => Err("missing field `id`: the root supervisor needs an id"),
        }
    }
}

impl From<SupervisorSpec> for SupervisorRepr {
    fn from(s: SupervisorSpec) -> Self {
        Self {
            id: Some(s.id),
            strategy: s.strategy,
            intensity: s.intensity,
            auto_shutdown: s.auto_shutdown,
            shutdown: s.shutdown,
            shutdown_order: s.shutdown_order,
            children: s.children,
        }
    }
}

impl JsonSchema for SupervisorSpec {
    fn schema_name() -> Cow<'static, str> {
        "SupervisorSpec".into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        // The root form must carry its id; the shared form leaves it optional.
        let mut schema = SupervisorRepr::json_schema(g);
        schema.insert("required".into(), serde_json::json!(["id"]));
        schema
    }
}
