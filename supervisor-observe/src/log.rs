//! Logs: [`TracingObserver`] emits every event as a structured `tracing`
//! event (so `tracing-subscriber`'s JSON output is machine-readable), and
//! [`format_event`] is the compact human line.

use supervisor_runtime::{Event, EventKind, Observer};
use tracing::Level;

/// One readable line per event, as the demo prints them
/// (`[   1.204s] root/ingest#3 exited failed: task returned an error: ...`).
pub fn format_event(event: &Event) -> String {
    event.to_string()
}

/// Emits each event as a `tracing` event with target `supervisor` and the
/// same fields as the JSON API: `path`, `generation`, `kind`, and the kind's
/// own fields (`exit`, `error`, `delay_ms`, `attempt`, `rule`, `reason`,
/// `outcome`, ...). Failures log at `WARN`, a supervisor giving up at
/// `ERROR`, the rest at `INFO` (readiness and starts at `DEBUG`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingObserver;

macro_rules! emit {
    ($level:expr, $e:expr, $($fields:tt)*) => {
        match $level {
            Level::ERROR => tracing::event!(target: "supervisor", Level::ERROR, path = %$e.path, generation = $e.generation.map(|g| g.0), kind = $e.kind.name(), $($fields)*),
            Level::WARN => tracing::event!(target: "supervisor", Level::WARN, path = %$e.path, generation = $e.generation.map(|g| g.0), kind = $e.kind.name(), $($fields)*),
            Level::INFO => tracing::event!(target: "supervisor", Level::INFO, path = %$e.path, generation = $e.generation.map(|g| g.0), kind = $e.kind.name(), $($fields)*),
            _ => tracing::event!(target: "supervisor", Level::DEBUG, path = %$e.path, generation = $e.generation.map(|g| g.0), kind = $e.kind.name(), $($fields)*),
        }
    };
}

impl Observer for TracingObserver {
    fn on_event(&self, e: &Event) {
        match &e.kind {
            EventKind::Started { attempt, restart } => {
                emit!(
                    Level::DEBUG,
                    e,
                    attempt = *attempt,
                    restart = *restart,
                    "started"
                );
            }
            EventKind::Ready => emit!(Level::DEBUG, e, "ready"),
            EventKind::Exited { exit, failure } => {
                let level = if exit.is_abnormal() {
                    Level::WARN
                } else {
                    Level::INFO
                };
                let error = failure.as_ref().map(|f| f.chain());
                emit!(
                    level,
                    e,
                    exit = exit.as_str(),
                    error = error.as_deref(),
                    "exited"
                );
            }
            EventKind::RestartScheduled {
                delay,
                rule,
                intensity,
                budget,
                backoff,
                ..
            } => {
                emit!(
                    Level::INFO,
                    e,
                    delay_ms = delay.as_millis() as u64,
                    rule = rule.name(),
                    intensity_count = intensity.map(|w| w.count),
                    intensity_max = intensity.map(|w| w.max),
                    budget_count = budget.map(|w| w.count),
                    attempt = backoff.map(|b| b.attempt),
                    "restart scheduled"
                );
            }
            EventKind::StopRequested { reason } => {
                emit!(Level::INFO, e, reason = %reason, "stop requested");
            }
            EventKind::Stopped { outcome, took } => {
                let level = if outcome.as_str() == "detached" {
                    Level::WARN
                } else {
                    Level::INFO
                };
                emit!(
                    level,
                    e,
                    outcome = outcome.as_str(),
                    took_ms = took.as_millis() as u64,
                    "stopped"
                );
            }
            EventKind::Quarantined { retry_after } => {
                emit!(
                    Level::WARN,
                    e,
                    retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
                    "quarantined"
                );
            }
            EventKind::LivenessMissed { deadline } => {
                emit!(
                    Level::WARN,
                    e,
                    deadline_ms = deadline.as_millis() as u64,
                    "liveness deadline missed"
                );
            }
            EventKind::Escalated { reason } => emit!(Level::ERROR, e, reason = %reason, "gave up"),
            EventKind::Command {
                command,
                reason,
                by,
            } => {
                emit!(
                    Level::INFO,
                    e,
                    command = *command,
                    reason = reason.as_deref(),
                    by = by.as_deref(),
                    "command"
                );
            }
            EventKind::ShutdownBegun { cause } => {
                emit!(Level::INFO, e, cause = *cause, "shutdown begun")
            }
            EventKind::ShutdownCompleted { took, .. } => {
                emit!(
                    Level::INFO,
                    e,
                    took_ms = took.as_millis() as u64,
                    "shutdown completed"
                );
            }
            other => emit!(Level::INFO, e, "{}", other.name()),
        }
    }
}
