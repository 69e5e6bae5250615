//! A deleted child's key goes to the next child added, so that a pool
//! that adds and deletes children for ever keeps its size. Reusing keys
//! must change nothing but their numbers: two engines, one reusing keys
//! and one giving fresh ones, are driven by the same random adds,
//! deletes, commands, exits, readiness and time, and must decide alike
//! once each key is named by its child's id. The one reusing keys must
//! keep no more slots than children were there at once, and its counts
//! and free slots must check after every step.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::{ProptestConfig, any, prop, prop_assert, prop_assert_eq, prop_oneof};
use proptest::strategy::Strategy as Gen;
use proptest::test_runner::TestCaseError;
use supervisor_policy::{Action, ChildKey, Command, Decision, Engine, ExitKind, Input, Time};
use supervisor_spec::{Backoff, ChildSpec, Readiness, Restart, Strategy, SupervisorSpec};

/// Ids of the children added and deleted: few, so that they come back.
const POOL: u8 = 4;

#[derive(Debug, Clone)]
enum Op {
    Add {
        slot: u8,
        restart: Restart,
        explicit: bool,
        backoff_ms: u64,
    },
    Delete(u8),
    Terminate(u8),
    Restart(u8),
    Exit(u8, ExitKind),
    Ready(u8),
    Advance(u64),
}

fn op() -> impl Gen<Value = Op> {
    let slot = 0..POOL;
    prop_oneof![
        3 => (
            slot.clone(),
            prop_oneof![
                proptest::strategy::Just(Restart::Permanent),
                proptest::strategy::Just(Restart::Transient),
                proptest::strategy::Just(Restart::Temporary),
            ],
            any::<bool>(),
            prop_oneof![proptest::strategy::Just(0u64), 1..50u64],
        )
            .prop_map(|(slot, restart, explicit, backoff_ms)| Op::Add {
                slot,
                restart,
                explicit,
                backoff_ms,
            }),
        2 => slot.clone().prop_map(Op::Delete),
        2 => slot.clone().prop_map(Op::Terminate),
        1 => slot.clone().prop_map(Op::Restart),
        3 => (
            slot.clone(),
            prop_oneof![
                proptest::strategy::Just(ExitKind::Completed),
                proptest::strategy::Just(ExitKind::Failed),
                proptest::strategy::Just(ExitKind::Panicked),
            ],
        )
            .prop_map(|(s, e)| Op::Exit(s, e)),
        2 => slot.prop_map(Op::Ready),
        2 => (0..120u64).prop_map(Op::Advance),
    ]
}

fn id(slot: u8) -> String {
    format!("p{slot}")
}

/// One engine, with what the test knows of it.
struct Driver {
    engine: Engine,
    now: Time,
    /// Each key in use, with its child's id.
    names: BTreeMap<ChildKey, String>,
}

impl Driver {
    fn new(strategy: Strategy, reuse: bool) -> Self {
        let spec = SupervisorSpec::new("root")
            .expect("valid id")
            .with_strategy(strategy)
            // Never given up on: the order of equal deadlines is free.
            .with_intensity(10_000, Duration::from_millis(1))
            .with_child(ChildSpec::worker("s").expect("valid id"))
            .validate()
            .expect("valid spec");
        let mut engine = Engine::new(&spec, 7);
        if !reuse {
            engine.__fresh_keys_only();
        }
        let names = engine
            .keys()
            .iter()
            .map(|&k| (k, engine.id(k).expect("a child").to_string()))
            .collect();
        Self {
            engine,
            now: Time::ZERO,
            names,
        }
    }

    fn key(&self, slot: u8) -> Option<ChildKey> {
        self.engine.key(&id(slot))
    }

    /// The running incarnation of the child in `slot`.
    fn running(&self, slot: u8) -> Option<(ChildKey, supervisor_policy::Generation)> {
        let key = self.key(slot)?;
        match self.engine.status(key)? {
            supervisor_policy::ChildStatus::Running { generation, .. } => Some((key, generation)),
            _ => None,
        }
    }

    /// The input for `op`, if it applies (both engines agree on that).
    fn input(&mut self, op: &Op) -> Option<Input> {
        Some(match *op {
            Op::Add {
                slot,
                restart,
                explicit,
                backoff_ms,
            } => {
                let mut spec = ChildSpec::worker(id(slot).as_str())
                    .expect("valid id")
                    .with_restart(restart)
                    .with_backoff(if backoff_ms == 0 {
                        Backoff::none()
                    } else {
                        Backoff::exponential(
                            Duration::from_millis(backoff_ms),
                            Duration::from_millis(backoff_ms * 4),
                        )
                    });
                if explicit {
                    spec = spec.with_readiness(Readiness::explicit(Duration::from_millis(40)));
                }
                Input::Command(Command::Add(Box::new(spec)))
            }
            Op::Delete(slot) => Input::Command(Command::Delete(self.key(slot)?)),
            Op::Terminate(slot) => Input::Command(Command::Terminate(self.key(slot)?)),
            Op::Restart(slot) => Input::Command(Command::Restart(self.key(slot)?)),
            Op::Exit(slot, exit) => {
                let (child, generation) = self.running(slot)?;
                Input::Exited {
                    child,
                    generation,
                    exit,
                }
            }
            Op::Ready(slot) => {
                let (child, generation) = self.running(slot)?;
                Input::Ready { child, generation }
            }
            Op::Advance(ms) => {
                self.now = self.now + Duration::from_millis(ms);
                Input::Timer
            }
        })
    }

    /// Handles `input`; returns the decision with every key named by its
    /// child's id, actions and explanations each sorted (equal deadlines
    /// come out in key order).
    fn handle(&mut self, input: Input) -> (Vec<String>, Vec<String>, String) {
        let added = match &input {
            Input::Command(Command::Add(spec)) => Some(spec.id.to_string()),
            _ => None,
        };
        let d = self.engine.handle(self.now, input);
        if let Some(added) = added
            && let Some(key) = self.engine.key(&added)
        {
            self.names.insert(key, added);
        }
        let named = self.named(&d);
        for action in &d.actions {
            if let Action::Removed { child } = action {
                self.names.remove(child);
            }
        }
        named
    }

    fn named(&self, d: &Decision) -> (Vec<String>, Vec<String>, String) {
        let name = |text: String| {
            let mut out = String::new();
            let mut rest = text.as_str();
            while let Some(at) = rest.find("ChildKey(") {
                out.push_str(&rest[..at]);
                let tail = &rest[at + "ChildKey(".len()..];
                let end = tail.find(')').expect("a closed key");
                let key = self
                    .names
                    .iter()
                    .find(|(k, _)| format!("{k:?}") == format!("ChildKey({})", &tail[..end]))
                    .map_or("<unknown>", |(_, id)| id.as_str());
                out.push_str(key);
                rest = &tail[end + 1..];
            }
            out.push_str(rest);
            out
        };
        let mut actions: Vec<String> = d.actions.iter().map(|a| name(format!("{a:?}"))).collect();
        let mut explanations: Vec<String> = d
            .explanations
            .iter()
            .map(|e| name(format!("{e:?}")))
            .collect();
        actions.sort();
        explanations.sort();
        (actions, explanations, name(format!("{:?}", d.outcome)))
    }
}

fn check(strategy: Strategy, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut reusing = Driver::new(strategy, true);
    let mut fresh = Driver::new(strategy, false);
    let (a, b) = (
        reusing.engine.start(Time::ZERO),
        fresh.engine.start(Time::ZERO),
    );
    prop_assert_eq!(reusing.named(&a), fresh.named(&b));
    let mut most = reusing.names.len();
    for (step, op) in ops.iter().enumerate() {
        let (Some(a), Some(b)) = (reusing.input(op), fresh.input(op)) else {
            continue;
        };
        let (a, b) = (reusing.handle(a), fresh.handle(b));
        prop_assert_eq!(a, b, "step {}: {:?}", step, op);
        most = most.max(reusing.names.len());
        for driver in [&reusing, &fresh] {
            if let Err(e) = driver.engine.check_counts() {
                prop_assert!(false, "step {}: {:?}: {}", step, op, e);
            }
        }
        prop_assert!(
            reusing.engine.__slots() <= most,
            "step {}: {} slots for at most {} children",
            step,
            reusing.engine.__slots(),
            most
        );
    }
    Ok(())
}

proptest::proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn reused_keys_decide_as_fresh_ones(
        strategy in prop_oneof![
            proptest::strategy::Just(Strategy::OneForOne),
            proptest::strategy::Just(Strategy::OneForAll),
            proptest::strategy::Just(Strategy::RestForOne),
        ],
        ops in prop::collection::vec(op(), 1..80),
    ) {
        check(strategy, &ops)?;
    }
}

/// Churn without end keeps the engine's size: a thousand adds and deletes
/// of one child leave two slots (the static child's and the pool's).
#[test]
fn add_and_delete_churn_keeps_the_slots_it_needs() {
    let mut d = Driver::new(Strategy::OneForOne, true);
    d.engine.start(Time::ZERO);
    for round in 0..1_000 {
        let add = d
            .input(&Op::Add {
                slot: 0,
                restart: Restart::Temporary,
                explicit: false,
                backoff_ms: 0,
            })
            .expect("an add");
        d.handle(add);
        let (child, generation) = d.running(0).expect("the added child runs");
        d.handle(Input::Exited {
            child,
            generation,
            exit: ExitKind::Completed,
        });
        let delete = d.input(&Op::Delete(0)).expect("a delete");
        d.handle(delete);
        assert!(d.key(0).is_none(), "round {round}: deleted");
        assert_eq!(d.engine.__slots(), 2, "round {round}");
        d.engine.check_counts().unwrap();
    }
}
