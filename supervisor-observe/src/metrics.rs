//! [`MetricsObserver`]: a tree's events as metrics, through the `metrics`
//! facade, so whatever exporter the application installed (Prometheus,
//! OpenTelemetry, StatsD) receives them.
//!
//! # Names and labels
//!
//! Labels are bounded: `path` (a node's tree path), `exit` (an exit
//! classification), `state` (a node state), `subscriber` (a name the
//! application chose). Error messages and tags are never labels.
//!
//! | name | type | labels | what |
//! | --- | --- | --- | --- |
//! | `supervisor_starts_total` | counter | path | incarnations started |
//! | `supervisor_restarts_total` | counter | path | starts after the first |
//! | `supervisor_exits_total` | counter | path, exit | ends, by classification |
//! | `supervisor_child_state` | gauge | path, state | 1 for the node's current state, 0 for the others |
//! | `supervisor_backoff_seconds` | gauge | path | the delay before the pending restart (0 when none) |
//! | `supervisor_time_to_ready_seconds` | histogram | path | from start to ready |
//! | `supervisor_quarantines_total` | counter | path | times quarantined |
//! | `supervisor_escalations_total` | counter | path | times a supervisor gave up |
//! | `supervisor_shutdown_duration_seconds` | gauge | path | how long the last shutdown of a supervisor took |
//! | `supervisor_events_dropped_total` | counter | subscriber | events a slow subscriber missed |

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use parking_lot::Mutex;
use supervisor_runtime::{Event, EventKind, Observer};
use supervisor_spec::ChildPath;

/// The node states `supervisor_child_state` reports, one series each.
pub const STATES: [&str; 7] = [
    "ready",
    "running_not_ready",
    "backing_off",
    "stopping",
    "stopped",
    "failed",
    "quarantined",
];

/// Turns events into metrics. Register it as an observer; cheap per event
/// (a map lookup and a few atomic updates in the installed recorder).
#[derive(Clone, Default)]
pub struct MetricsObserver {
    nodes: Arc<Mutex<HashMap<ChildPath, NodeMetrics>>>,
}

impl std::fmt::Debug for MetricsObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsObserver")
            .field("nodes", &self.nodes.lock().len())
            .finish()
    }
}

struct NodeMetrics {
    /// The `path` label value, built once per node.
    label: Arc<str>,
    state: Option<&'static str>,
    started: Duration,
}

impl MetricsObserver {
    /// A new observer; describes every metric (name, unit, help) to the
    /// installed recorder.
    pub fn new() -> Self {
        describe();
        Self::default()
    }

    fn set_state(path: &Arc<str>, node: &mut NodeMetrics, state: &'static str) {
        if node.state == Some(state) {
            return;
        }
        if let Some(old) = node.state {
            gauge!("supervisor_child_state", "path" => path.clone(), "state" => old).set(0.0);
        }
        gauge!("supervisor_child_state", "path" => path.clone(), "state" => state).set(1.0);
        node.state = Some(state);
    }
}

/// Describes every metric to the installed recorder (idempotent).
pub fn describe() {
    describe_counter!("supervisor_starts_total", "Incarnations started.");
    describe_counter!("supervisor_restarts_total", "Starts after the first.");
    describe_counter!(
        "supervisor_exits_total",
        "Ends of incarnations, by classification."
    );
    describe_gauge!(
        "supervisor_child_state",
        "1 for the node's current state, 0 for the others."
    );
    describe_gauge!(
        "supervisor_backoff_seconds",
        Unit::Seconds,
        "Delay before the pending restart; 0 when none is pending."
    );
    describe_histogram!(
        "supervisor_time_to_ready_seconds",
        Unit::Seconds,
        "Time from an incarnation's start to its readiness."
    );
    describe_counter!(
        "supervisor_quarantines_total",
        "Times a child was quarantined."
    );
    describe_counter!(
        "supervisor_escalations_total",
        "Times a supervisor gave up."
    );
    describe_gauge!(
        "supervisor_shutdown_duration_seconds",
        Unit::Seconds,
        "How long the last shutdown of a supervisor took."
    );
    describe_counter!(
        "supervisor_events_dropped_total",
        "Events a slow subscriber missed."
    );
}

/// Counts events a slow subscriber missed (call it when a broadcast
/// receiver reports `Lagged(n)`).
pub fn record_dropped(subscriber: &'static str, n: u64) {
    counter!("supervisor_events_dropped_total", "subscriber" => subscriber).increment(n);
}

impl Observer for MetricsObserver {
    fn on_event(&self, event: &Event) {
        let mut nodes = self.nodes.lock();
        // The label value is built once per node, not per event.
        if !nodes.contains_key(&event.path) {
            nodes.insert(
                event.path.clone(),
                NodeMetrics {
                    label: Arc::from(event.path.to_string()),
                    state: None,
                    started: event.elapsed,
                },
            );
        }
        let Some(node) = nodes.get_mut(&event.path) else {
            return;
        };
        let path = node.label.clone();
        match &event.kind {
            EventKind::Started { restart, .. } => {
                counter!("supervisor_starts_total", "path" => path.clone()).increment(1);
                if *restart {
                    counter!("supervisor_restarts_total", "path" => path.clone()).increment(1);
                }
                gauge!("supervisor_backoff_seconds", "path" => path.clone()).set(0.0);
                node.started = event.elapsed;
                Self::set_state(&path, node, "running_not_ready");
            }
            EventKind::Ready => {
                let took = event.elapsed.saturating_sub(node.started);
                histogram!("supervisor_time_to_ready_seconds", "path" => path.clone())
                    .record(took.as_secs_f64());
                Self::set_state(&path, node, "ready");
            }
            EventKind::Unready => Self::set_state(&path, node, "running_not_ready"),
            EventKind::Exited { exit, .. } => {
                counter!("supervisor_exits_total", "path" => path.clone(), "exit" => exit.as_str())
                    .increment(1);
                let state = if exit.is_abnormal() {
                    "failed"
                } else {
                    "stopped"
                };
                Self::set_state(&path, node, state);
            }
            EventKind::RestartScheduled { delay, .. } => {
                gauge!("supervisor_backoff_seconds", "path" => path.clone())
                    .set(delay.as_secs_f64());
                if !delay.is_zero() {
                    Self::set_state(&path, node, "backing_off");
                }
            }
            EventKind::StopRequested { .. } => Self::set_state(&path, node, "stopping"),
            // A stop that ends without an exit: the child was detached
            // (it did not end after its abort wait). Other stops had their
            // `Exited` first, which set the state.
            EventKind::Stopped { .. } if node.state == Some("stopping") => {
                counter!("supervisor_exits_total", "path" => path.clone(), "exit" => "stopped")
                    .increment(1);
                Self::set_state(&path, node, "stopped");
            }
            EventKind::Quarantined { .. } => {
                counter!("supervisor_quarantines_total", "path" => path.clone()).increment(1);
                Self::set_state(&path, node, "quarantined");
            }
            EventKind::Escalated { .. } => {
                counter!("supervisor_escalations_total", "path" => path.clone()).increment(1);
            }
            EventKind::ShutdownCompleted { took, .. } => {
                gauge!("supervisor_shutdown_duration_seconds", "path" => path.clone())
                    .set(took.as_secs_f64());
            }
            EventKind::Removed => {
                if let Some(old) = node.state.take() {
                    gauge!("supervisor_child_state", "path" => path.clone(), "state" => old)
                        .set(0.0);
                }
            }
            _ => {}
        }
    }
}
