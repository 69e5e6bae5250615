//! Every validation rule, one failing input each, checked against the exact
//! problem it reports (place and message).

use std::time::Duration;

use supervisor_spec::{
    AutoShutdown, Backoff, Budget, ChildId, ChildPath, ChildSpec, Readiness, Restart, Shutdown,
    SupervisorSpec, limits,
};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn root() -> SupervisorSpec {
    SupervisorSpec::new("root").unwrap()
}

fn sup(id: &str) -> SupervisorSpec {
    SupervisorSpec::new(id).unwrap()
}

fn worker(id: &str) -> ChildSpec {
    ChildSpec::worker(id).unwrap()
}

/// A supervisor `root` with a single child.
fn with_one(child: ChildSpec) -> SupervisorSpec {
    root().with_child(child)
}

fn errors(spec: &SupervisorSpec) -> Vec<String> {
    spec.check()
        .errors
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn warnings(spec: &SupervisorSpec) -> Vec<String> {
    spec.check()
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Asserts that `spec` raises exactly `expected` as errors.
#[track_caller]
fn assert_errors(spec: &SupervisorSpec, expected: &[&str]) {
    assert_eq!(errors(spec), expected);
}

/// Asserts that `spec` is valid and raises exactly `expected` as warnings.
#[track_caller]
fn assert_warnings(spec: &SupervisorSpec, expected: &[&str]) {
    assert_eq!(errors(spec), [] as [&str; 0], "unexpected errors");
    assert_eq!(warnings(spec), expected);
}

/// `depth` (at least 1) supervisors nested one in the other below `root`
/// (`s1` in `root`, `s2` in `s1`, ...), the deepest holding `leaf`.
fn chain(depth: usize, leaf: ChildSpec) -> SupervisorSpec {
    let mut spec = sup(&format!("s{depth}")).with_child(leaf);
    for level in (1..depth).rev() {
        spec = sup(&format!("s{level}")).with_child(ChildSpec::supervisor(spec));
    }
    root().with_child(ChildSpec::supervisor(spec))
}

fn chain_path(depth: usize) -> String {
    let mut path = String::from("root");
    for level in 1..=depth {
        path.push_str(&format!("/s{level}"));
    }
    path
}

// ---------------------------------------------------------------- baseline

#[test]
fn default_tree_has_no_problems() {
    let spec = root()
        .with_child(worker("db"))
        .with_child(ChildSpec::blocking("writer").unwrap())
        .with_child(ChildSpec::supervisor(sup("jobs").with_child(worker("a"))));
    let diagnostics = spec.check();
    assert!(diagnostics.errors.is_empty(), "{diagnostics:#?}");
    assert!(diagnostics.warnings.is_empty(), "{diagnostics:#?}");
}

// ---------------------------------------------------------------- ids

#[test]
fn duplicate_sibling_ids_are_rejected() {
    let spec = root()
        .with_child(worker("a"))
        .with_child(worker("b"))
        .with_child(worker("a"));
    assert_errors(
        &spec,
        &["root.children[2] (a).id: duplicate id `a`: children[0] has it too"],
    );
}

#[test]
fn same_id_in_different_supervisors_is_allowed() {
    let spec = root()
        .with_child(worker("a"))
        .with_child(ChildSpec::supervisor(sup("jobs").with_child(worker("a"))));
    assert_errors(&spec, &[]);
}

#[test]
fn invalid_id_characters_are_rejected_by_the_constructors() {
    const CHARSET: &str = "allowed are a-z, 0-9, '_', '-', '.' (and ':' and A-Z in task names)";
    assert_eq!(
        ChildId::new("Ingest").unwrap_err().to_string(),
        format!("child id \"Ingest\" contains 'I'; {CHARSET}")
    );
    assert_eq!(
        SupervisorSpec::new("my root").unwrap_err().to_string(),
        format!("child id \"my root\" contains ' '; {CHARSET}")
    );
    assert_eq!(
        ChildSpec::worker("jobs/ingest").unwrap_err().to_string(),
        format!("child id \"jobs/ingest\" contains '/'; {CHARSET}")
    );
    assert_eq!(
        ChildSpec::blocking("_writer").unwrap_err().to_string(),
        "child id \"_writer\" must start with a letter or a digit"
    );
    assert_eq!(
        worker("api")
            .with_depends_on(["db", "DB"])
            .unwrap_err()
            .to_string(),
        format!("child id \"DB\" contains 'D'; {CHARSET}")
    );
    assert_eq!(
        worker("api")
            .with_task("jobs ingest")
            .unwrap_err()
            .to_string(),
        format!("task name \"jobs ingest\" contains ' '; {CHARSET}")
    );
    assert_eq!(
        ChildId::new("").unwrap_err().to_string(),
        "child id is empty"
    );
    assert_eq!(
        ChildId::new("x".repeat(64)).unwrap_err().to_string(),
        "child id is 64 bytes long; at most 63 are allowed"
    );
}

#[test]
fn invalid_id_characters_are_rejected_when_deserializing_json() {
    let json = r#"{"id": "root", "children": [{"id": "db"}, {"id": "Ingest"}]}"#;
    let err = serde_json::from_str::<SupervisorSpec>(json).unwrap_err();
    assert_eq!(
        err.to_string(),
        "child id \"Ingest\" contains 'I'; allowed are a-z, 0-9, '_', '-', '.' \
         (and ':' and A-Z in task names) at line 1 column 58"
    );
}

#[test]
fn invalid_id_characters_are_rejected_when_deserializing_yaml() {
    let yaml = "\
id: root
children:
  - id: db
  - id: api
    depends_on: [db, web/api]
";
    let err = serde_saphyr::from_str::<SupervisorSpec>(yaml).unwrap_err();
    let message = err.to_string();
    assert_eq!(
        message.lines().next(),
        Some(
            "error: line 5 column 22: child id \"web/api\" contains '/'; allowed are a-z, 0-9, \
             '_', '-', '.' (and ':' and A-Z in task names)"
        ),
        "{message}"
    );
}

#[test]
fn invalid_nested_supervisor_id_is_rejected_when_deserializing_toml() {
    let toml = r#"
id = "root"

[[children]]
id = "jobs.1"

[[children]]
id = "Jobs"
supervisor = { strategy = "one_for_all" }
"#;
    let err = toml::from_str::<SupervisorSpec>(toml).unwrap_err();
    assert_eq!(
        err.message(),
        "child id \"Jobs\" contains 'J'; allowed are a-z, 0-9, '_', '-', '.' \
         (and ':' and A-Z in task names)"
    );
}

// ---------------------------------------------------------------- depends_on

#[test]
fn depends_on_an_unknown_sibling_is_rejected() {
    let spec = root()
        .with_child(worker("db"))
        .with_child(worker("cache"))
        .with_child(worker("api").with_depends_on(["dbb"]).unwrap());
    assert_errors(
        &spec,
        &["root.children[2] (api).depends_on: unknown sibling `dbb`; siblings are: cache, db"],
    );
}

#[test]
fn depends_on_without_any_sibling_is_rejected() {
    let spec = with_one(worker("api").with_depends_on(["db"]).unwrap());
    assert_errors(
        &spec,
        &["root.children[0] (api).depends_on: unknown sibling `db`; api has no siblings"],
    );
}

#[test]
fn depends_on_among_many_siblings_counts_them_instead_of_listing() {
    let spec = root()
        .with_children((0..11).map(|i| worker(&format!("w{i}"))))
        .with_child(worker("api").with_depends_on(["db"]).unwrap());
    assert_errors(
        &spec,
        &["root.children[11] (api).depends_on: unknown sibling `db`; 11 siblings exist"],
    );
}

#[test]
fn depends_on_itself_is_rejected() {
    let spec = root()
        .with_child(worker("db"))
        .with_child(worker("api").with_depends_on(["db", "api"]).unwrap());
    assert_errors(
        &spec,
        &["root.children[1] (api).depends_on: `api` depends on itself"],
    );
}

#[test]
fn depends_on_listing_a_sibling_twice_is_rejected() {
    let spec = root()
        .with_child(worker("db"))
        .with_child(worker("api").with_depends_on(["db", "db"]).unwrap());
    assert_errors(
        &spec,
        &["root.children[1] (api).depends_on: `db` is listed twice"],
    );
}

#[test]
fn two_sibling_dependency_cycle_is_rejected() {
    let spec = root()
        .with_child(worker("a").with_depends_on(["b"]).unwrap())
        .with_child(worker("b").with_depends_on(["a"]).unwrap());
    assert_errors(
        &spec,
        &["root.children[0] (a).depends_on: dependency cycle: a -> b -> a"],
    );
}

#[test]
fn three_sibling_dependency_cycle_is_rejected() {
    let spec = root()
        .with_child(worker("start"))
        .with_child(worker("a").with_depends_on(["start", "b"]).unwrap())
        .with_child(worker("b").with_depends_on(["c"]).unwrap())
        .with_child(worker("c").with_depends_on(["a"]).unwrap());
    assert_errors(
        &spec,
        &["root.children[1] (a).depends_on: dependency cycle: a -> b -> c -> a"],
    );
}

#[test]
fn dependency_cycle_in_a_nested_supervisor_names_its_path() {
    let jobs = sup("jobs")
        .with_child(worker("x").with_depends_on(["y"]).unwrap())
        .with_child(worker("y").with_depends_on(["x"]).unwrap());
    let spec = with_one(ChildSpec::supervisor(jobs));
    assert_errors(
        &spec,
        &["root/jobs.children[0] (x).depends_on: dependency cycle: x -> y -> x"],
    );
}

#[test]
fn acyclic_dependencies_are_accepted() {
    let spec = root()
        .with_child(worker("db"))
        .with_child(worker("cache").with_depends_on(["db"]).unwrap())
        .with_child(worker("api").with_depends_on(["db", "cache"]).unwrap());
    assert_errors(&spec, &[]);
}

// ---------------------------------------------------------------- backoff

#[test]
fn backoff_initial_above_max_is_rejected() {
    let spec = with_one(worker("ingest").with_backoff(Backoff::exponential(secs(5), secs(1))));
    assert_errors(
        &spec,
        &["root.children[0] (ingest).backoff: initial 5s exceeds max 1s"],
    );
}

#[test]
fn backoff_zero_initial_with_nonzero_max_is_rejected() {
    let spec = with_one(worker("a").with_backoff(Backoff::exponential(Duration::ZERO, secs(1))));
    assert_errors(
        &spec,
        &[
            "root.children[0] (a).backoff: initial is zero but max is 1s: the curve would stay \
             at zero; write backoff: none for immediate restarts",
        ],
    );
}

#[test]
fn backoff_none_is_accepted() {
    assert_errors(&with_one(worker("a").with_backoff(Backoff::none())), &[]);
}

#[test]
fn backoff_multiplier_below_one_is_rejected() {
    let spec = with_one(worker("a").with_backoff(Backoff::default().with_multiplier(0.5)));
    assert_errors(
        &spec,
        &["root.children[0] (a).backoff: multiplier 0.5 must lie within 1..=1000"],
    );
}

#[test]
fn backoff_multiplier_above_limit_is_rejected() {
    let spec = with_one(
        worker("a").with_backoff(Backoff::default().with_multiplier(limits::MAX_MULTIPLIER + 0.5)),
    );
    assert_errors(
        &spec,
        &["root.children[0] (a).backoff: multiplier 1000.5 must lie within 1..=1000"],
    );
}

#[test]
fn backoff_multiplier_nan_is_rejected() {
    let spec = with_one(worker("a").with_backoff(Backoff::default().with_multiplier(f64::NAN)));
    assert_errors(
        &spec,
        &["root.children[0] (a).backoff: multiplier NaN must lie within 1..=1000"],
    );
}

#[test]
fn backoff_multiplier_infinite_is_rejected() {
    let spec =
        with_one(worker("a").with_backoff(Backoff::default().with_multiplier(f64::INFINITY)));
    assert_errors(
        &spec,
        &["root.children[0] (a).backoff: multiplier inf must lie within 1..=1000"],
    );
}

#[test]
fn backoff_jitter_outside_zero_to_one_is_rejected() {
    let spec = root()
        .with_child(worker("a").with_backoff(Backoff::default().with_jitter(-0.1)))
        .with_child(worker("b").with_backoff(Backoff::default().with_jitter(1.5)))
        .with_child(worker("c").with_backoff(Backoff::default().with_jitter(f64::NAN)))
        .with_child(worker("d").with_backoff(Backoff::default().with_jitter(1.0)))
        .with_child(worker("e").with_backoff(Backoff::default().with_jitter(0.0)));
    assert_errors(
        &spec,
        &[
            "root.children[0] (a).backoff: jitter -0.1 must lie within 0..=1",
            "root.children[1] (b).backoff: jitter 1.5 must lie within 0..=1",
            "root.children[2] (c).backoff: jitter NaN must lie within 0..=1",
        ],
    );
}

#[test]
fn backoff_zero_reset_after_is_rejected() {
    let spec =
        with_one(worker("a").with_backoff(Backoff::default().with_reset_after(Duration::ZERO)));
    assert_errors(
        &spec,
        &["root.children[0] (a).backoff: reset_after must be greater than zero"],
    );
}

#[test]
fn backoff_none_with_invalid_settings_is_rejected() {
    // `none` ignores the curve's settings, but a non-finite one would still
    // make the tree impossible to write back as JSON.
    let spec = with_one(worker("a").with_backoff(Backoff::none().with_multiplier(f64::NAN)));
    assert_errors(
        &spec,
        &["root.children[0] (a).backoff: multiplier NaN must lie within 1..=1000"],
    );
}

#[test]
fn backoff_durations_above_the_limit_are_rejected() {
    let two_days = limits::MAX_DURATION * 2;
    let spec = root()
        .with_child(worker("a").with_backoff(Backoff::exponential(secs(1), two_days)))
        .with_child(worker("b").with_backoff(Backoff::exponential(two_days, two_days)))
        .with_child(worker("c").with_backoff(Backoff::default().with_reset_after(two_days)))
        .with_child(worker("d").with_backoff(Backoff::exponential(secs(1), limits::MAX_DURATION)));
    assert_errors(
        &spec,
        &[
            "root.children[0] (a).backoff: max 2days exceeds the limit of 1day",
            "root.children[1] (b).backoff: initial 2days exceeds the limit of 1day",
            "root.children[1] (b).backoff: max 2days exceeds the limit of 1day",
            "root.children[2] (c).backoff: reset_after 2days exceeds the limit of 1day",
        ],
    );
}

#[test]
fn durations_above_the_limit_are_rejected_in_every_field() {
    let long = limits::MAX_DURATION + millis(1);
    let spec = root()
        .with_intensity(3, long)
        .with_shutdown(long)
        .with_child(worker("graceful").with_shutdown(Shutdown::graceful(long)))
        .with_child(worker("abort").with_shutdown(Shutdown::BrutalKill { abort_wait: long }))
        .with_child(worker("ready").with_readiness(Readiness::explicit(long)))
        .with_child(worker("alive").with_liveness(long))
        .with_child(worker("budget").with_budget(Budget::new(1, long).quarantine(Some(long))));
    assert_errors(
        &spec,
        &[
            "root.intensity: intensity period 1day 1ms exceeds the limit of 1day",
            "root.shutdown: shutdown budget 1day 1ms exceeds the limit of 1day",
            "root.children[0] (graceful).shutdown: graceful timeout 1day 1ms exceeds the limit of 1day",
            "root.children[1] (abort).shutdown: abort_wait 1day 1ms exceeds the limit of 1day",
            "root.children[2] (ready).readiness: readiness timeout 1day 1ms exceeds the limit of 1day",
            "root.children[3] (alive).liveness: liveness deadline 1day 1ms exceeds the limit of 1day",
            "root.children[4] (budget).budget: budget window 1day 1ms exceeds the limit of 1day",
            "root.children[4] (budget).budget: retry_after 1day 1ms exceeds the limit of 1day",
        ],
    );
}

// ---------------------------------------------------------------- intensity

#[test]
fn intensity_period_zero_is_rejected() {
    let spec = root().with_intensity(3, Duration::ZERO);
    assert_errors(
        &spec,
        &["root.intensity: intensity period must be greater than zero"],
    );
}

#[test]
fn intensity_max_restarts_above_limit_is_rejected() {
    let spec = root().with_intensity(limits::MAX_RESTARTS + 1, secs(5));
    assert_errors(
        &spec,
        &["root.intensity: max_restarts 10001 exceeds the limit of 10000"],
    );
}

#[test]
fn intensity_max_restarts_at_limit_and_zero_are_accepted() {
    assert_errors(&root().with_intensity(limits::MAX_RESTARTS, secs(5)), &[]);
    assert_errors(&root().with_intensity(0, secs(5)), &[]);
}

// ---------------------------------------------------------------- budget

#[test]
fn budget_window_zero_is_rejected() {
    let spec = with_one(worker("a").with_budget(Budget::new(1, Duration::ZERO)));
    assert_errors(
        &spec,
        &["root.children[0] (a).budget: budget window must be greater than zero"],
    );
}

#[test]
fn budget_retry_after_zero_is_rejected() {
    let spec = with_one(
        worker("a").with_budget(Budget::new(1, secs(60)).quarantine(Some(Duration::ZERO))),
    );
    assert_errors(
        &spec,
        &["root.children[0] (a).budget: retry_after must be greater than zero"],
    );
}

#[test]
fn budget_max_restarts_above_limit_is_rejected() {
    let spec = with_one(worker("a").with_budget(Budget::new(limits::MAX_RESTARTS + 1, secs(60))));
    assert_errors(
        &spec,
        &["root.children[0] (a).budget: max_restarts 10001 exceeds the limit of 10000"],
    );
}

// ---------------------------------------------------------------- significant

#[test]
fn significant_permanent_child_is_rejected() {
    let spec = root()
        .with_auto_shutdown(AutoShutdown::AnySignificant)
        .with_child(worker("a").with_significant(true));
    assert_errors(
        &spec,
        &[
            "root.children[0] (a).significant: a permanent child cannot be significant (OTP): it \
             is always restarted, so it never ends by itself; make it transient or temporary",
        ],
    );
}

#[test]
fn significant_child_with_auto_shutdown_never_is_rejected() {
    let spec = with_one(
        worker("a")
            .with_restart(Restart::Transient)
            .with_significant(true),
    );
    assert_errors(
        &spec,
        &[
            "root.children[0] (a).significant: significant children need auto_shutdown \
             any_significant or all_significant on their supervisor (OTP rejects significant \
             children with auto_shutdown never)",
        ],
    );
}

#[test]
fn significant_transient_and_temporary_children_are_accepted() {
    let spec = root()
        .with_auto_shutdown(AutoShutdown::AllSignificant)
        .with_child(
            worker("a")
                .with_restart(Restart::Transient)
                .with_significant(true),
        )
        .with_child(
            worker("b")
                .with_restart(Restart::Temporary)
                .with_significant(true),
        );
    assert_warnings(&spec, &[]);
}

// ---------------------------------------------------------------- shutdown

#[test]
fn infinity_shutdown_on_a_worker_is_rejected() {
    let spec = root()
        .with_child(worker("a").with_shutdown(Shutdown::Infinity))
        .with_child(
            ChildSpec::blocking("b")
                .unwrap()
                .with_shutdown(Shutdown::Infinity),
        );
    assert_errors(
        &spec,
        &[
            "root.children[0] (a).shutdown: infinity is only for nested supervisors (OTP); give \
             a worker a graceful timeout or brutal_kill",
            "root.children[1] (b).shutdown: infinity is only for nested supervisors (OTP); give \
             a worker a graceful timeout or brutal_kill",
        ],
    );
}

#[test]
fn graceful_timeout_zero_is_rejected() {
    let spec = with_one(worker("a").with_shutdown(Shutdown::graceful(Duration::ZERO)));
    assert_errors(
        &spec,
        &[
            "root.children[0] (a).shutdown: a graceful timeout of zero gives no time to stop; \
             write brutal_kill instead",
        ],
    );
}

#[test]
fn abort_wait_zero_is_rejected() {
    let spec = root()
        .with_child(worker("a").with_shutdown(Shutdown::Graceful {
            timeout: secs(5),
            abort_wait: Duration::ZERO,
        }))
        .with_child(worker("b").with_shutdown(Shutdown::BrutalKill {
            abort_wait: Duration::ZERO,
        }));
    assert_errors(
        &spec,
        &[
            "root.children[0] (a).shutdown: abort_wait must be greater than zero",
            "root.children[1] (b).shutdown: abort_wait must be greater than zero",
        ],
    );
}

#[test]
fn supervisor_shutdown_budget_zero_is_rejected() {
    let spec = root().with_shutdown(Duration::ZERO);
    assert_errors(
        &spec,
        &["root.shutdown: shutdown budget must be greater than zero"],
    );
}

// ---------------------------------------------------------------- readiness, liveness

#[test]
fn readiness_timeout_zero_is_rejected() {
    let spec = with_one(worker("a").with_readiness(Readiness::explicit(Duration::ZERO)));
    assert_errors(
        &spec,
        &["root.children[0] (a).readiness: readiness timeout must be greater than zero"],
    );
}

#[test]
fn liveness_zero_is_rejected() {
    let spec = with_one(worker("a").with_liveness(Duration::ZERO));
    assert_errors(
        &spec,
        &["root.children[0] (a).liveness: liveness deadline must be greater than zero"],
    );
}

#[test]
fn explicit_readiness_on_a_nested_supervisor_is_rejected() {
    let spec =
        with_one(ChildSpec::supervisor(sup("jobs")).with_readiness(Readiness::explicit(secs(5))));
    assert_errors(
        &spec,
        &[
            "root.children[0] (jobs).readiness: a nested supervisor is ready when its children \
             are; explicit readiness applies to workers only",
        ],
    );
}

#[test]
fn liveness_on_a_nested_supervisor_is_rejected() {
    let spec = with_one(ChildSpec::supervisor(sup("jobs")).with_liveness(secs(5)));
    assert_errors(
        &spec,
        &[
            "root.children[0] (jobs).liveness: liveness applies to workers only; a nested \
             supervisor's children carry their own deadlines",
        ],
    );
}

// ---------------------------------------------------------------- nesting

#[test]
fn nested_supervisor_id_mismatch_is_rejected() {
    let mut child = ChildSpec::supervisor(sup("jobs").with_child(worker("a")));
    child.id = ChildId::new("work").unwrap();
    let spec = with_one(child);
    assert_errors(
        &spec,
        &[
            "root.children[0] (work).supervisor: nested supervisor id `jobs` differs from its child id `work`",
        ],
    );
}

#[test]
fn nesting_at_the_depth_limit_is_accepted() {
    let spec = chain(limits::MAX_DEPTH, worker("leaf"));
    assert_errors(&spec, &[]);
}

#[test]
fn nesting_deeper_than_the_depth_limit_is_rejected() {
    let too_deep = limits::MAX_DEPTH + 1;
    let spec = chain(too_deep, worker("leaf"));
    assert_errors(
        &spec,
        &[&format!(
            "{}.children[0] (s{too_deep}).supervisor: supervisors are nested deeper than the \
             limit of 32 levels",
            chain_path(too_deep - 1)
        )],
    );
}

/// A subtree checked at its place in a larger tree (what a supervisor
/// added at run time is checked with): its problems are placed under
/// that place, and its nesting counts from there.
#[test]
fn a_subtree_is_checked_at_its_place_in_the_tree() {
    // Ten levels down, a subtree may add at most `MAX_DEPTH - 10` more.
    let place: ChildPath = chain_path(10).parse().unwrap();
    let sub = |levels: usize| {
        let mut spec = sup(&format!("d{levels}")).with_child(worker("leaf"));
        for level in (1..levels).rev() {
            spec = sup(&format!("d{level}")).with_child(ChildSpec::supervisor(spec));
        }
        sup("s10").with_child(ChildSpec::supervisor(spec))
    };
    let fits = limits::MAX_DEPTH - 10;
    assert!(sub(fits).validate_at(&place).is_ok());
    assert!(sub(fits + 1).clone().validate().is_ok(), "fits at the root");
    let err = sub(fits + 1).validate_at(&place).unwrap_err();
    let mut at = chain_path(10);
    for level in 1..=fits {
        at.push_str(&format!("/d{level}"));
    }
    assert_eq!(
        err.errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [format!(
            "{at}.children[0] (d{}).supervisor: supervisors are nested deeper than the limit \
             of 32 levels",
            fits + 1
        )]
    );
}

#[test]
fn paths_in_the_deepest_valid_tree_parse_back() {
    let mut valid = chain(limits::MAX_DEPTH, worker("leaf")).validate().unwrap();
    for level in 1..=limits::MAX_DEPTH {
        valid = valid
            .nested(&ChildId::new(format!("s{level}")).unwrap())
            .unwrap();
    }
    let leaf = valid.path().join(&valid.spec().children[0].id);
    assert_eq!(leaf.len(), limits::MAX_DEPTH + 2);
    assert_eq!(leaf.to_string().parse::<ChildPath>(), Ok(leaf));
}

#[test]
fn children_at_the_limit_are_accepted() {
    let spec = root().with_children((0..limits::MAX_CHILDREN).map(|i| worker(&format!("c{i}"))));
    assert_errors(&spec, &[]);
}

#[test]
fn too_many_children_are_rejected() {
    let spec = root().with_children((0..=limits::MAX_CHILDREN).map(|i| worker(&format!("c{i}"))));
    assert_errors(
        &spec,
        &["root.children: 100001 children exceed the limit of 100000"],
    );
}

// ---------------------------------------------------------------- tags, description

#[test]
fn empty_tag_is_rejected() {
    let spec = with_one(worker("a").with_tag(""));
    assert_errors(
        &spec,
        &["root.children[0] (a).tags: tag \"\" must be 1 to 64 bytes without control characters"],
    );
}

#[test]
fn too_long_tag_is_rejected() {
    let long = "t".repeat(limits::MAX_TAG_LEN + 1);
    let spec = with_one(
        worker("a")
            .with_tag("t".repeat(limits::MAX_TAG_LEN))
            .with_tag(long.clone()),
    );
    assert_errors(
        &spec,
        &[&format!(
            "root.children[0] (a).tags: tag \"{long}\" must be 1 to 64 bytes without control characters"
        )],
    );
}

#[test]
fn tag_with_a_control_character_is_rejected() {
    let spec = with_one(worker("a").with_tag("line\nbreak"));
    assert_errors(
        &spec,
        &[
            "root.children[0] (a).tags: tag \"line\\nbreak\" must be 1 to 64 bytes without control characters",
        ],
    );
}

#[test]
fn duplicate_tag_is_rejected() {
    let spec = with_one(worker("a").with_tag("io").with_tag("db").with_tag("io"));
    assert_errors(
        &spec,
        &["root.children[0] (a).tags: tag \"io\" is listed twice"],
    );
}

#[test]
fn too_many_tags_are_rejected() {
    let mut child = worker("a");
    for i in 0..=limits::MAX_TAGS {
        child = child.with_tag(format!("t{i}"));
    }
    assert_errors(
        &with_one(child),
        &["root.children[0] (a).tags: 33 tags exceed the limit of 32"],
    );
}

#[test]
fn description_too_long_is_rejected() {
    let spec = root()
        .with_child(worker("a").with_description("é".repeat(limits::MAX_DESCRIPTION_LEN / 2)))
        .with_child(worker("b").with_description("d".repeat(limits::MAX_DESCRIPTION_LEN + 1)));
    assert_errors(
        &spec,
        &["root.children[1] (b).description: 1025 bytes exceed the limit of 1024"],
    );
}

// ---------------------------------------------------------------- warnings

#[test]
fn shutdown_budget_below_worst_case_sequential_shutdown_warns() {
    // Two default workers: (5s graceful + 1s abort wait) each.
    let spec = root()
        .with_shutdown(secs(10))
        .with_child(worker("a"))
        .with_child(worker("b"));
    assert_warnings(
        &spec,
        &[
            "root.shutdown: shutdown budget 10s is less than the worst-case sequential shutdown \
             of its children (12s); whatever still runs when the budget runs out is aborted",
        ],
    );
}

#[test]
fn parallel_shutdown_worst_case_is_the_longest_dependency_chain() {
    // a <- b <- c is a chain of three (18s); d stands alone (6s).
    let spec = root()
        .with_shutdown_order(supervisor_spec::ShutdownOrder::Parallel)
        .with_shutdown(secs(10))
        .with_child(worker("a"))
        .with_child(worker("b").with_depends_on(["a"]).unwrap())
        .with_child(worker("c").with_depends_on(["b"]).unwrap())
        .with_child(worker("d"));
    assert_warnings(
        &spec,
        &[
            "root.shutdown: shutdown budget 10s is less than the worst-case parallel shutdown \
             of its children (18s); whatever still runs when the budget runs out is aborted",
        ],
    );
    // Without dependencies everything stops together: one child's worst case.
    let flat = root()
        .with_shutdown_order(supervisor_spec::ShutdownOrder::Parallel)
        .with_shutdown(secs(6))
        .with_children((0..50).map(|i| worker(&format!("w{i}"))));
    assert_warnings(&flat, &[]);
}

#[test]
fn shutdown_budget_covering_the_worst_case_does_not_warn() {
    let spec = root()
        .with_shutdown(secs(12))
        .with_child(worker("a"))
        .with_child(worker("b"));
    assert_warnings(&spec, &[]);
}

#[test]
fn shutdown_worst_case_counts_nested_supervisors_by_their_own_bound() {
    // jobs: one 5s + 1s worker, but its own budget of 3s cuts that to
    // 3s + its largest abort wait (1s) = 4s.
    // root: a brutal_kill worker (500ms) + jobs (4s, infinity) = 4.5s.
    let jobs = sup("jobs").with_shutdown(secs(3)).with_child(worker("w"));
    let spec = root()
        .with_shutdown(secs(4))
        .with_child(worker("a").with_shutdown(Shutdown::BrutalKill {
            abort_wait: millis(500),
        }))
        .with_child(ChildSpec::supervisor(jobs));
    assert_warnings(
        &spec,
        &[
            "root/jobs.shutdown: shutdown budget 3s is less than the worst-case sequential \
             shutdown of its children (6s); whatever still runs when the budget runs out is \
             aborted",
            "root.shutdown: shutdown budget 4s is less than the worst-case sequential shutdown \
             of its children (4s 500ms); whatever still runs when the budget runs out is aborted",
        ],
    );
}

#[test]
fn unreachable_per_child_budget_warns() {
    // The default intensity is 3 restarts in 5s.
    let spec = root()
        .with_child(worker("a").with_budget(Budget::new(3, secs(5))))
        .with_child(worker("b").with_budget(Budget::new(2, secs(5))))
        .with_child(worker("c").with_budget(Budget::new(3, secs(6))));
    assert_warnings(
        &spec,
        &[
            "root.children[0] (a).budget: a budget of 3 restarts in 5s can never be exhausted: \
             the supervisor's intensity (3 in 5s) gives up first",
        ],
    );
}

#[test]
fn auto_shutdown_without_significant_children_warns() {
    let spec = root()
        .with_auto_shutdown(AutoShutdown::AnySignificant)
        .with_child(worker("a").with_restart(Restart::Transient));
    assert_warnings(
        &spec,
        &[
            "root.auto_shutdown: no child is significant, so auto_shutdown never fires unless \
             significant children are added at run time",
        ],
    );
}

// ---------------------------------------------------------------- the whole tree

#[test]
fn every_error_in_a_tree_is_reported_together() {
    let jobs = sup("jobs")
        .with_intensity(3, Duration::ZERO)
        .with_auto_shutdown(AutoShutdown::AnySignificant)
        .with_child(worker("w").with_shutdown(Shutdown::Infinity))
        .with_child(worker("w"));
    let spec = root()
        .with_intensity(limits::MAX_RESTARTS + 1, secs(5))
        .with_child(worker("ingest").with_backoff(Backoff::exponential(secs(5), secs(1))))
        .with_child(ChildSpec::supervisor(jobs))
        .with_child(worker("api").with_depends_on(["nope"]).unwrap());
    let err = spec.validate().unwrap_err();
    let errors: Vec<String> = err.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "root.intensity: max_restarts 10001 exceeds the limit of 10000",
            "root.children[0] (ingest).backoff: initial 5s exceeds max 1s",
            "root/jobs.intensity: intensity period must be greater than zero",
            "root/jobs.children[1] (w).id: duplicate id `w`: children[0] has it too",
            "root/jobs.children[0] (w).shutdown: infinity is only for nested supervisors (OTP); \
             give a worker a graceful timeout or brutal_kill",
            "root.children[2] (api).depends_on: unknown sibling `nope`; siblings are: ingest, jobs",
        ]
    );
    let warnings: Vec<String> = err.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "root/jobs.auto_shutdown: no child is significant, so auto_shutdown never fires \
             unless significant children are added at run time"
        ]
    );
    assert_eq!(
        err.to_string(),
        format!(
            "invalid supervision tree (6 errors)\n  error: {}\n  warning: {}",
            errors.join("\n  error: "),
            warnings[0]
        )
    );
}

#[test]
fn validate_returns_the_warnings_of_a_valid_tree() {
    let spec = root()
        .with_auto_shutdown(AutoShutdown::AnySignificant)
        .with_child(worker("a").with_budget(Budget::new(5, secs(1))));
    let expected = warnings(&spec);
    assert_eq!(expected.len(), 2);
    let valid = spec.clone().validate().unwrap();
    let got: Vec<String> = valid.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "root.children[0] (a).budget: a budget of 5 restarts in 1s can never be exhausted: \
             the supervisor's intensity (3 in 5s) gives up first",
            "root.auto_shutdown: no child is significant, so auto_shutdown never fires unless \
             significant children are added at run time",
        ]
    );
    assert_eq!(got, expected);
    assert_eq!(valid.path().to_string(), "root");
    assert_eq!(valid.spec(), &spec);
    assert_eq!(valid.into_inner(), spec);
}

#[test]
fn nested_returns_the_nested_supervisor_with_its_path_and_warnings() {
    let ingest = sup("ingest")
        .with_shutdown(secs(1))
        .with_child(worker("reader"));
    let jobs = sup("jobs")
        .with_auto_shutdown(AutoShutdown::AllSignificant)
        .with_child(worker("writer").with_budget(Budget::new(9, secs(1))))
        .with_child(ChildSpec::supervisor(ingest.clone()));
    let spec = root()
        .with_child(worker("db").with_budget(Budget::new(9, secs(1))))
        .with_child(ChildSpec::supervisor(jobs.clone()))
        // A sibling whose id starts like `jobs` must not lend it its warnings.
        .with_child(ChildSpec::supervisor(
            sup("jobs2").with_auto_shutdown(AutoShutdown::AnySignificant),
        ));
    let valid = spec.validate().unwrap();
    assert_eq!(valid.warnings().len(), 5, "{:#?}", valid.warnings());

    let nested = valid.nested(&ChildId::new("jobs").unwrap()).unwrap();
    assert_eq!(nested.path().to_string(), "root/jobs");
    assert_eq!(nested.spec(), &jobs);
    let got: Vec<String> = nested.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "root/jobs.children[0] (writer).budget: a budget of 9 restarts in 1s can never be \
             exhausted: the supervisor's intensity (3 in 5s) gives up first",
            "root/jobs/ingest.shutdown: shutdown budget 1s is less than the worst-case sequential \
             shutdown of its children (6s); whatever still runs when the budget runs out is \
             aborted",
            "root/jobs.auto_shutdown: no child is significant, so auto_shutdown never fires \
             unless significant children are added at run time",
        ]
    );

    let deeper = nested.nested(&ChildId::new("ingest").unwrap()).unwrap();
    assert_eq!(deeper.path().to_string(), "root/jobs/ingest");
    assert_eq!(deeper.spec(), &ingest);
    assert_eq!(deeper.warnings(), &nested.warnings()[1..2]);

    assert!(valid.nested(&ChildId::new("db").unwrap()).is_none());
    assert!(valid.nested(&ChildId::new("nope").unwrap()).is_none());

    // Node counts: the validation's, the nested ones', and the spec's own.
    // db, jobs (writer, ingest (reader)), jobs2.
    assert_eq!(valid.node_count(), 6);
    assert_eq!(valid.spec().node_count(), 6);
    assert_eq!(nested.node_count(), 3);
    assert_eq!(deeper.node_count(), 1);
    assert_eq!(valid.spec().children[1].node_count(), 4);
}

/// The siblings of `validate_added`, from a list of ids.
struct Ids(Vec<ChildId>);

impl supervisor_spec::Siblings for Ids {
    fn count(&self) -> usize {
        self.0.len()
    }

    fn position(&self, id: &ChildId) -> Option<usize> {
        self.0.iter().position(|i| i == id)
    }

    fn ids(&self) -> Vec<ChildId> {
        self.0.clone()
    }
}

/// A child added at run time is held to exactly the errors it would raise
/// as the last child of its supervisor, validated whole at its place in the
/// tree: `validate_added` gives the same problems, places and messages,
/// without reading the siblings' specs.
#[test]
fn validate_added_finds_what_validating_the_whole_supervisor_finds() {
    let header = sup("jobs").with_auto_shutdown(AutoShutdown::AnySignificant);
    let path = ChildPath::root(ChildId::new("root").unwrap()).join(&ChildId::new("jobs").unwrap());
    let siblings = ["db", "cache", "api"];
    let deep = (0..limits::MAX_DEPTH).fold(sup("leaf").with_child(worker("w")), |inner, i| {
        sup(&format!("s{i}")).with_child(ChildSpec::supervisor(inner))
    });
    let mut nested_with_problems =
        sup("pool").with_child(worker("w").with_backoff(Backoff::exponential(secs(5), secs(1))));
    nested_with_problems = nested_with_problems.with_child(worker("w"));
    let cases: Vec<ChildSpec> = vec![
        worker("fine"),
        worker("fine2").with_depends_on(["db", "api"]).unwrap(),
        worker("db"),
        worker("x").with_depends_on(["nope"]).unwrap(),
        worker("x").with_depends_on(["x"]).unwrap(),
        worker("x").with_depends_on(["db", "db"]).unwrap(),
        worker("x").with_shutdown(Shutdown::Infinity),
        worker("x").with_backoff(Backoff::exponential(secs(5), secs(1))),
        worker("x").with_significant(true),
        worker("x")
            .with_restart(Restart::Transient)
            .with_significant(true),
        worker("x").with_readiness(Readiness::explicit(Duration::ZERO)),
        worker("x").with_liveness(secs(100 * 24 * 3600)),
        worker("x").with_budget(Budget::new(limits::MAX_RESTARTS + 1, secs(1))),
        ChildSpec::supervisor(sup("inner").with_child(worker("a"))),
        ChildSpec::supervisor(sup("inner")).with_readiness(Readiness::explicit(secs(1))),
        ChildSpec::supervisor(nested_with_problems),
        ChildSpec::supervisor(deep),
    ];
    for child in cases {
        let whole = siblings
            .iter()
            .fold(header.clone(), |spec, id| spec.with_child(worker(id)))
            .with_child(child.clone());
        let expected: Vec<String> = whole
            .check_at(&path)
            .errors
            .iter()
            .map(ToString::to_string)
            .collect();
        let ids = Ids(siblings
            .iter()
            .map(|id| ChildId::new(*id).unwrap())
            .collect());
        let got: Vec<String> = match header.validate_added(&path, &child, &ids) {
            Ok(nested) => {
                assert_eq!(nested.is_some(), child.kind.supervisor().is_some());
                if let Some(nested) = nested {
                    let expected = whole.clone().validate_at(&path).unwrap();
                    let expected = expected.with_path(path.clone()).nested(&child.id).unwrap();
                    assert_eq!(nested.path(), expected.path());
                    assert_eq!(nested.spec(), expected.spec());
                    assert_eq!(nested.warnings(), expected.warnings());
                    assert_eq!(nested.node_count(), expected.node_count());
                }
                Vec::new()
            }
            Err(e) => e.errors.iter().map(ToString::to_string).collect(),
        };
        assert_eq!(got, expected, "{}", child.id);
    }
}

/// `validate_added` counts the supervisor's children with the new one
/// against `MAX_CHILDREN`.
#[test]
fn validate_added_holds_a_full_supervisor_to_its_limit() {
    let path = ChildPath::root(ChildId::new("root").unwrap());
    let full = Ids((0..limits::MAX_CHILDREN)
        .map(|i| ChildId::new(format!("c{i}").as_str()).unwrap())
        .collect());
    let err = root()
        .validate_added(&path, &worker("one_more"), &full)
        .unwrap_err();
    assert_eq!(
        err.errors[0].to_string(),
        format!(
            "root.children: {} children exceed the limit of {}",
            limits::MAX_CHILDREN + 1,
            limits::MAX_CHILDREN
        )
    );
}
