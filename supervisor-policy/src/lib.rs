//! A pure, deterministic supervision engine: exits and time in, restart
//! decisions out.
//!
//! One [`Engine`] holds the restart logic of one supervisor — OTP's restart
//! types, strategies and intensity, plus per-child budgets, backoff with
//! jitter, dependencies, readiness deadlines, quarantine and auto-shutdown —
//! as a state machine with no tokio, no clock and no hidden randomness. The
//! runtime reports what happened ([`Input`]) with the time it happened
//! ([`Time`]), and carries out the [`Decision`] it gets back: its
//! [`Action`]s in order. It wakes the engine with [`Input::Timer`] at
//! [`Engine::next_deadline`]: one timer per supervisor. Inputs that
//! happened together (the readiness of many children, their exits during a
//! parallel shutdown) can go in as one run, [`Engine::handle_batch`], which
//! settles once after the last.
//!
//! # The model
//!
//! - Every incarnation of a child has a [`Generation`]. Inputs about an older
//!   incarnation change nothing ([`Rule::StaleGeneration`]), which is how a
//!   late exit can never stop, restart or resurrect a newer incarnation.
//! - A child that ends by itself is judged by its restart type (permanent
//!   always restarted; transient only after an abnormal end; temporary
//!   never). A restart is checked against the child's [`Budget`] first, then
//!   the supervisor's intensity (more than `max_restarts` within the sliding
//!   `period` escalates), then its delay is drawn from its [`Backoff`].
//! - The strategy picks the siblings restarted with it (`one_for_all`: all;
//!   `rest_for_one`: those after it), and every running child that depends on
//!   a restarting child, transitively, goes down too. They are stopped in
//!   reverse start order (one at a time or together, by `shutdown_order`,
//!   dependents always first) and all start again — in start order, each once
//!   its dependencies are ready — after the delay. Temporary children stopped
//!   this way are not restarted (OTP).
//! - Shutdown, escalation and auto-shutdown stop every child the same way and
//!   end with [`Action::Exit`]. Nothing is started after shutdown began.
//!
//! [`Budget`]: supervisor_spec::Budget
//! [`Backoff`]: supervisor_spec::Backoff
//!
//! # Examples
//!
//! A permanent worker fails twice; the second restart waits for its backoff.
//!
//! ```
//! use std::time::Duration;
//! use supervisor_policy::{Action, Engine, ExitKind, Input, Rule, Time};
//! use supervisor_spec::{Backoff, ChildSpec, SupervisorSpec};
//!
//! let spec = SupervisorSpec::new("root")?
//!     .with_child(ChildSpec::worker("ingest")?.with_backoff(
//!         Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1)).with_jitter(0.0),
//!     ))
//!     .validate()?;
//! let mut engine = Engine::new(&spec, 42);
//! let ingest = engine.key("ingest").unwrap();
//!
//! // Initial start.
//! let d = engine.start(Time::ZERO);
//! let Action::Start { generation, .. } = d.actions[0] else { panic!() };
//!
//! // It fails at t = 1 s: the restart is scheduled 100 ms later.
//! let d = engine.handle(Time::from_millis(1_000), Input::Exited {
//!     child: ingest, generation, exit: ExitKind::Failed,
//! });
//! let why = d.explanation(Rule::RestartPermanent).unwrap();
//! assert_eq!(why.intensity.unwrap().count, 1);
//! assert_eq!(why.backoff.unwrap().delay, Duration::from_millis(100));
//! assert_eq!(engine.next_deadline(), Some(Time::from_millis(1_100)));
//!
//! // The timer fires: the child starts again.
//! let d = engine.handle(Time::from_millis(1_100), Input::Timer);
//! assert!(matches!(d.actions[0], Action::Start { attempt: 1, .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub, missing_debug_implementations)]

mod child;
mod command;
mod decision;
mod engine;
mod exit;
mod hash;
mod index;
mod input;
mod policy;
mod posset;
mod rng;
mod snapshot;
mod time;
mod window;

pub use child::{ChildKey, Generation};
pub use decision::{
    Action, BackoffDraw, Decision, Escalation, Explanation, Rejection, Rule, StopReason,
    SupervisorExit,
};
pub use engine::Engine;
pub use input::{Command, ExitKind, Input};
pub use snapshot::ChildStatus;
pub use time::Time;
pub use window::WindowCount;
