//! Properties over generated trees: a valid tree survives YAML, TOML and
//! JSON unchanged and passes validation, and validation of any tree, however
//! invalid or deep, returns instead of panicking.

use std::time::Duration;

use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use supervisor_spec::{
    AutoShutdown, Backoff, Budget, ChildId, ChildKind, ChildSpec, Intensity, Readiness, Restart,
    Shutdown, ShutdownOrder, Strategy as Policy, SupervisorSpec, TaskName, limits,
};

const MAX_MS: u64 = limits::MAX_DURATION.as_millis() as u64;

/// How deep generated valid trees nest supervisors below the root.
const VALID_DEPTH: u32 = 3;

/// The deepest chain of nested supervisors fed to validation.
const DEEP_CHAIN: usize = 100;

// Strategies are boxed: unboxed, the value trees of a whole generated tree
// nest so deeply inline that building one overflows a test thread's stack in
// debug builds.

// ---------------------------------------------------------------- valid parts

fn id() -> BoxedStrategy<ChildId> {
    "[a-z0-9][a-z0-9_.-]{0,12}"
        .prop_map(|s| ChildId::new(s).unwrap())
        .boxed()
}

fn task() -> BoxedStrategy<TaskName> {
    "[A-Za-z0-9_.:-]{1,24}"
        .prop_map(|s| TaskName::new(s).unwrap())
        .boxed()
}

/// A duration within the limits, with millisecond granularity; round values
/// are weighted in because they print differently ("1m" against "1m 3s 7ms").
fn duration() -> BoxedStrategy<Duration> {
    prop_oneof![
        3 => (1..=MAX_MS).prop_map(Duration::from_millis),
        1 => (1..=limits::MAX_DURATION.as_secs()).prop_map(Duration::from_secs),
        1 => (1..=1_000u64).prop_map(Duration::from_millis),
    ]
    .boxed()
}

/// Free text, including what YAML and TOML have to quote or escape.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "(?s).{0,40}",
        1 => prop::sample::select(vec![
            "", " ", "null", "~", "true", "no", "on", "1.5", "0x1f", "1e3", "- item", "key: value",
            "# comment", "'quoted'", "\"double\"", "[a, b]", "{a: b}", "a\nb", "trailing ",
            "tab\there", "back\\slash", "*alias", "&anchor", "!tag", "%percent", "@at", "`tick",
            "|", ">", "---", "...", "\u{feff}bom", "ünïcødé", "emoji 🚀",
        ])
        .prop_map(String::from),
    ]
    .boxed()
}

/// A tag: 1 to 64 bytes without control characters.
fn tag() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-z][a-z0-9:=_-]{0,20}",
        "[^\\p{Cc}]{1,16}",
        prop::sample::select(vec!["null", "true", "1", "a b", "x: y", "-"]).prop_map(String::from),
    ]
    .boxed()
}

fn multiplier() -> BoxedStrategy<f64> {
    prop_oneof![
        3 => 1.0..=limits::MAX_MULTIPLIER,
        2 => 1.0..=3.0f64,
        1 => prop::sample::select(vec![1.0, 1.5, 2.0, limits::MAX_MULTIPLIER]),
    ]
    .boxed()
}

fn jitter() -> BoxedStrategy<f64> {
    prop_oneof![
        3 => 0.0..=1.0f64,
        1 => prop::sample::select(vec![0.0, 0.1, 0.2, 0.5, 1.0]),
    ]
    .boxed()
}

fn backoff() -> BoxedStrategy<Backoff> {
    prop_oneof![
        1 => Just(Backoff::default()),
        1 => Just(Backoff::none()),
        4 => (duration(), duration(), multiplier(), jitter(), duration()).prop_map(
            |(a, b, multiplier, jitter, reset_after)| {
                Backoff::exponential(a.min(b), a.max(b))
                    .with_multiplier(multiplier)
                    .with_jitter(jitter)
                    .with_reset_after(reset_after)
            }
        ),
    ]
    .boxed()
}

fn budget() -> BoxedStrategy<Budget> {
    (
        0..=limits::MAX_RESTARTS,
        duration(),
        prop_oneof![
            Just(None),
            Just(Some(None)),
            duration().prop_map(|d| Some(Some(d)))
        ],
    )
        .prop_map(|(max_restarts, window, quarantine)| {
            let budget = Budget::new(max_restarts, window);
            match quarantine {
                None => budget,
                Some(retry_after) => budget.quarantine(retry_after),
            }
        })
        .boxed()
}

fn worker_shutdown() -> BoxedStrategy<Shutdown> {
    prop_oneof![
        Just(Shutdown::graceful(Shutdown::DEFAULT_TIMEOUT)),
        Just(Shutdown::brutal_kill()),
        duration().prop_map(Shutdown::graceful),
        (duration(), duration()).prop_map(|(timeout, abort_wait)| Shutdown::Graceful {
            timeout,
            abort_wait
        }),
        duration().prop_map(|abort_wait| Shutdown::BrutalKill { abort_wait }),
    ]
    .boxed()
}

fn supervisor_shutdown() -> BoxedStrategy<Shutdown> {
    prop_oneof![Just(Shutdown::Infinity), worker_shutdown()].boxed()
}

fn readiness() -> BoxedStrategy<Readiness> {
    prop_oneof![
        Just(Readiness::Immediate),
        Just(Readiness::explicit(Readiness::DEFAULT_TIMEOUT)),
        duration().prop_map(Readiness::explicit),
    ]
    .boxed()
}

fn restart() -> BoxedStrategy<Restart> {
    prop::sample::select(vec![
        Restart::Permanent,
        Restart::Transient,
        Restart::Temporary,
    ])
    .boxed()
}

fn policy() -> BoxedStrategy<Policy> {
    prop::sample::select(vec![
        Policy::OneForOne,
        Policy::OneForAll,
        Policy::RestForOne,
    ])
    .boxed()
}

fn auto_shutdown() -> BoxedStrategy<AutoShutdown> {
    prop::sample::select(vec![
        AutoShutdown::Never,
        AutoShutdown::AnySignificant,
        AutoShutdown::AllSignificant,
    ])
    .boxed()
}

fn shutdown_order() -> BoxedStrategy<ShutdownOrder> {
    prop::sample::select(vec![ShutdownOrder::Sequential, ShutdownOrder::Parallel]).boxed()
}

// ---------------------------------------------------------------- valid trees

/// Gives `child` the id `id`, keeping a task bound by the old id bound by
/// the new one and a nested supervisor's id equal to its child's.
fn rename(child: &mut ChildSpec, id: ChildId) {
    match &mut child.kind {
        ChildKind::Worker { task } | ChildKind::Blocking { task } if *task == child.id.as_str() => {
            *task = TaskName::from(id.clone());
        }
        ChildKind::Supervisor(nested) => nested.id = id.clone(),
        _ => {}
    }
    child.id = id;
}

/// A valid child without its sibling-dependent settings (unique id,
/// significance, `depends_on`), which [`valid_supervisor`] fills in.
fn valid_child(depth: u32) -> BoxedStrategy<ChildSpec> {
    let worker = (
        id(),
        any::<bool>(),
        option::weighted(0.3, task()),
        worker_shutdown(),
        readiness(),
        option::weighted(0.3, duration()),
    )
        .prop_map(|(id, blocking, task, shutdown, readiness, liveness)| {
            let mut child = if blocking {
                ChildSpec::blocking(id.as_str()).unwrap()
            } else {
                ChildSpec::worker(id.as_str()).unwrap()
            };
            if let Some(task) = task {
                child = child.with_task(task.as_str()).unwrap();
            }
            child.shutdown = shutdown;
            child.readiness = readiness;
            child.liveness = liveness;
            child
        });
    let kind = if depth == 0 {
        worker.boxed()
    } else {
        prop_oneof![
            2 => worker,
            1 => (valid_supervisor(depth - 1), supervisor_shutdown()).prop_map(|(nested, shutdown)| {
                ChildSpec::supervisor(nested).with_shutdown(shutdown)
            }),
        ]
        .boxed()
    };
    (
        kind,
        option::weighted(0.3, text()),
        restart(),
        backoff(),
        option::weighted(0.4, budget()),
        btree_set(tag(), 0..4),
    )
        .prop_map(|(mut child, description, restart, backoff, budget, tags)| {
            child.description = description;
            child.restart = restart;
            child.backoff = backoff;
            child.budget = budget;
            child.tags = tags.into_iter().collect();
            child
        })
        .boxed()
}

/// A valid supervisor nesting at most `depth` more supervisors.
fn valid_supervisor(depth: u32) -> BoxedStrategy<SupervisorSpec> {
    let children = vec(
        (
            valid_child(depth),
            any::<bool>(), // significant, where allowed
            any::<u8>(),   // rank
            any::<u8>(),   // which siblings of lower rank it depends on
        ),
        0..=5,
    );
    (
        id(),
        policy(),
        0..=limits::MAX_RESTARTS,
        duration(),
        auto_shutdown(),
        option::weighted(0.3, duration()),
        shutdown_order(),
        children,
    )
        .prop_map(
            |(id, strategy, max_restarts, period, auto_shutdown, shutdown, order, drafts)| {
                let mut spec = SupervisorSpec::with_id(id)
                    .with_strategy(strategy)
                    .with_auto_shutdown(auto_shutdown)
                    .with_shutdown_order(order);
                spec.intensity = Intensity::new(max_restarts, period);
                spec.shutdown = shutdown;
                // A child depends only on siblings of lower rank (declared
                // before or after it), so dependencies never form a cycle.
                let mut ranks = Vec::new();
                let mut masks = Vec::new();
                for (i, (mut child, significant, rank, mask)) in drafts.into_iter().enumerate() {
                    while spec.child(child.id.as_str()).is_some() {
                        let unique = ChildId::new(format!("{}-{i}", child.id)).unwrap();
                        rename(&mut child, unique);
                    }
                    child.significant = significant
                        && child.restart != Restart::Permanent
                        && auto_shutdown != AutoShutdown::Never;
                    spec.children.push(child);
                    ranks.push((rank, i));
                    masks.push(mask);
                }
                let ids: Vec<ChildId> = spec.children.iter().map(|c| c.id.clone()).collect();
                for (i, child) in spec.children.iter_mut().enumerate() {
                    child.depends_on = (0..ids.len())
                        .filter(|&j| masks[i] & (1 << j) != 0 && ranks[j] < ranks[i])
                        .map(|j| ids[j].clone())
                        .collect();
                }
                spec
            },
        )
        .boxed()
}

fn valid_tree() -> impl Strategy<Value = SupervisorSpec> {
    valid_supervisor(VALID_DEPTH)
}

// ---------------------------------------------------------------- any trees

/// Any duration, from zero to `Duration::MAX`.
fn any_duration() -> BoxedStrategy<Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::MAX),
        (0..=2 * MAX_MS).prop_map(Duration::from_millis),
        (any::<u64>(), 0..1_000_000_000u32).prop_map(|(s, n)| Duration::new(s, n)),
    ]
    .boxed()
}

fn any_f64() -> BoxedStrategy<f64> {
    prop_oneof![
        any::<f64>(),
        -2.0..=2_000.0f64,
        prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            f64::MIN_POSITIVE,
            f64::MAX,
        ]),
    ]
    .boxed()
}

/// Ids from a small pool, so that duplicates, self-dependencies and cycles
/// are common.
fn pool_id() -> BoxedStrategy<ChildId> {
    prop::sample::select(vec!["a", "b", "c", "d", "e", "zz"])
        .prop_map(|s| ChildId::new(s).unwrap())
        .boxed()
}

fn any_string(max_bytes: usize) -> BoxedStrategy<String> {
    prop_oneof![
        "(?s).{0,20}",
        (0..=max_bytes).prop_map(|n| "x".repeat(n)),
        Just(String::new()),
        Just("ctl\u{7}".to_owned()),
    ]
    .boxed()
}

fn any_shutdown() -> BoxedStrategy<Shutdown> {
    prop_oneof![
        Just(Shutdown::Infinity),
        (any_duration(), any_duration()).prop_map(|(timeout, abort_wait)| Shutdown::Graceful {
            timeout,
            abort_wait
        }),
        any_duration().prop_map(|abort_wait| Shutdown::BrutalKill { abort_wait }),
    ]
    .boxed()
}

fn any_backoff() -> BoxedStrategy<Backoff> {
    (
        any_duration(),
        any_duration(),
        any_f64(),
        any_f64(),
        any_duration(),
    )
        .prop_map(|(initial, max, multiplier, jitter, reset_after)| {
            let mut b = Backoff::exponential(initial, max)
                .with_multiplier(multiplier)
                .with_jitter(jitter)
                .with_reset_after(reset_after);
            // Sometimes `none` (both zero), with any other settings.
            if multiplier.is_sign_negative() {
                b.initial = Duration::ZERO;
                b.max = Duration::ZERO;
            }
            b
        })
        .boxed()
}

fn any_budget() -> BoxedStrategy<Budget> {
    (
        any::<u32>(),
        any_duration(),
        any::<bool>(),
        option::of(any_duration()),
    )
        .prop_map(|(max_restarts, window, quarantine, retry_after)| {
            let b = Budget::new(max_restarts, window);
            if quarantine {
                b.quarantine(retry_after)
            } else {
                b
            }
        })
        .boxed()
}

fn any_readiness() -> BoxedStrategy<Readiness> {
    prop_oneof![
        Just(Readiness::Immediate),
        any_duration().prop_map(Readiness::explicit)
    ]
    .boxed()
}

/// Every policy of a child, valid or not, as [`apply`] sets them.
type Settings = (
    (
        Option<String>,
        Restart,
        bool,
        Shutdown,
        Backoff,
        Option<Budget>,
    ),
    (Readiness, Option<Duration>, Vec<ChildId>, Vec<String>),
);

fn any_child_settings() -> impl Strategy<Value = Settings> {
    (
        (
            option::of(any_string(limits::MAX_DESCRIPTION_LEN + 8)),
            restart(),
            any::<bool>(),
            any_shutdown(),
            any_backoff(),
            option::of(any_budget()),
        ),
        (
            any_readiness(),
            option::of(any_duration()),
            vec(pool_id(), 0..4),
            prop_oneof![
                4 => vec(any_string(limits::MAX_TAG_LEN + 2), 0..4),
                1 => vec(any_string(limits::MAX_TAG_LEN + 2), limits::MAX_TAGS..=limits::MAX_TAGS + 2),
            ],
        ),
    )
}

fn apply(
    child: &mut ChildSpec,
    (
        (description, restart, significant, shutdown, backoff, budget),
        (readiness, liveness, depends_on, tags),
    ): Settings,
) {
    child.description = description;
    child.restart = restart;
    child.significant = significant;
    child.shutdown = shutdown;
    child.backoff = backoff;
    child.budget = budget;
    child.readiness = readiness;
    child.liveness = liveness;
    child.depends_on = depends_on;
    child.tags = tags;
}

fn any_leaf() -> BoxedStrategy<ChildSpec> {
    (pool_id(), any::<bool>(), any_child_settings())
        .prop_map(|(id, blocking, settings)| {
            let mut child = if blocking {
                ChildSpec::blocking(id.as_str()).unwrap()
            } else {
                ChildSpec::worker(id.as_str()).unwrap()
            };
            apply(&mut child, settings);
            child
        })
        .boxed()
}

/// A supervisor with any settings and a few leaf children.
fn any_level() -> BoxedStrategy<SupervisorSpec> {
    (
        pool_id(),
        policy(),
        any::<u32>(),
        any_duration(),
        auto_shutdown(),
        option::of(any_duration()),
        shutdown_order(),
        vec(any_leaf(), 0..4),
    )
        .prop_map(
            |(id, strategy, max_restarts, period, auto_shutdown, shutdown, order, children)| {
                let mut spec = SupervisorSpec::with_id(id)
                    .with_strategy(strategy)
                    .with_auto_shutdown(auto_shutdown)
                    .with_shutdown_order(order)
                    .with_children(children);
                spec.intensity = Intensity::new(max_restarts, period);
                spec.shutdown = shutdown;
                spec
            },
        )
        .boxed()
}

/// A chain of up to [`DEEP_CHAIN`] supervisors nested one in the other.
/// The levels cycle through a few generated templates (so a 100-level chain
/// costs no more to generate than a handful), each with any settings, the
/// nested child at any position among the leaves and its id sometimes
/// differing from the nested supervisor's.
fn any_tree() -> impl Strategy<Value = SupervisorSpec> {
    (
        any_level(),
        vec(
            (any_level(), any_child_settings(), any::<u8>(), pool_id()),
            1..6,
        ),
        0..=DEEP_CHAIN,
    )
        .prop_map(|(mut root, templates, depth)| {
            let mut below: Option<SupervisorSpec> = None;
            for level in (0..depth).rev() {
                let (template, settings, position, other_id) = &templates[level % templates.len()];
                let mut spec = template.clone();
                if let Some(nested) = below.take() {
                    let mut child = ChildSpec::supervisor(nested);
                    apply(&mut child, settings.clone());
                    if position % 8 == 0 {
                        child.id = other_id.clone();
                    }
                    let at = usize::from(*position) % (spec.children.len() + 1);
                    spec.children.insert(at, child);
                }
                below = Some(spec);
            }
            if let Some(nested) = below {
                root.children.push(ChildSpec::supervisor(nested));
            }
            root
        })
}

// ---------------------------------------------------------------- properties

/// The case that showed `serde_json` reading back a float one ulp off
/// (before its `float_roundtrip` feature was enabled).
#[test]
fn floats_round_trip_bit_for_bit_through_every_format() {
    let backoff = Backoff::exponential(Duration::from_millis(1), Duration::from_millis(1))
        .with_multiplier(1.000_000_000_000_000_2)
        .with_jitter(0.430_546_284_445_607_55);
    let spec = SupervisorSpec::new("a")
        .unwrap()
        .with_child(ChildSpec::worker("w").unwrap().with_backoff(backoff));
    let json: SupervisorSpec =
        serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
    let yaml: SupervisorSpec =
        serde_saphyr::from_str(&serde_saphyr::to_string(&spec).unwrap()).unwrap();
    let toml: SupervisorSpec = toml::from_str(&toml::to_string(&spec).unwrap()).unwrap();
    for back in [json, yaml, toml] {
        let b = back.children[0].backoff;
        assert_eq!(b.jitter.to_bits(), backoff.jitter.to_bits());
        assert_eq!(b.multiplier.to_bits(), backoff.multiplier.to_bits());
    }
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn valid_trees_round_trip_through_yaml(spec in valid_tree()) {
        let yaml = serde_saphyr::to_string(&spec).unwrap();
        let back: SupervisorSpec = serde_saphyr::from_str(&yaml)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
        prop_assert_eq!(back, spec, "{}", yaml);
    }

    #[test]
    fn valid_trees_round_trip_through_toml(spec in valid_tree()) {
        let toml = toml::to_string(&spec).unwrap();
        let back: SupervisorSpec = toml::from_str(&toml)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{toml}")))?;
        prop_assert_eq!(back, spec, "{}", toml);
    }

    #[test]
    fn valid_trees_round_trip_through_json(spec in valid_tree()) {
        let json = serde_json::to_string(&spec).unwrap();
        let back: SupervisorSpec = serde_json::from_str(&json)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;
        prop_assert_eq!(back, spec, "{}", json);
    }

    #[test]
    fn generated_valid_trees_pass_validation(spec in valid_tree()) {
        let diagnostics = spec.check();
        prop_assert!(diagnostics.errors.is_empty(), "{:#?}", diagnostics.errors);
        let valid = spec.clone().validate().unwrap();
        prop_assert_eq!(valid.warnings(), &diagnostics.warnings[..]);
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn validation_of_any_tree_returns(spec in any_tree()) {
        let diagnostics = spec.check();
        for problem in diagnostics.errors.iter().chain(&diagnostics.warnings) {
            prop_assert!(!problem.to_string().is_empty());
        }
        let result = spec.validate();
        prop_assert_eq!(result.is_ok(), diagnostics.errors.is_empty());
    }
}
