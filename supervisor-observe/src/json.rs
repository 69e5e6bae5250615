//! JSON forms of the runtime's values (snapshots, reports, events), as the
//! HTTP API and the summary serve them. Durations are seconds as numbers.

use std::time::Duration;

use serde_json::{Value, json};
use supervisor_runtime::{Event, EventKind, NodeSnapshot, NodeState, ShutdownReport};

pub(crate) fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// A node snapshot and its children.
pub fn snapshot(n: &NodeSnapshot) -> Value {
    let backoff = match n.state {
        NodeState::BackingOff { remaining } => Some(remaining.as_secs_f64()),
        _ => None,
    };
    json!({
        "path": n.path.to_string(),
        "id": n.path.leaf().as_str(),
        "kind": n.kind,
        "state": n.state.as_str(),
        "backoff_remaining": backoff,
        "generation": n.generation.map(|g| g.0),
        "restarts": n.restarts,
        "last_exit": n.last_exit.map(|e| e.as_str()),
        "last_error": n.last_error,
        "uptime": n.uptime.map(|d| d.as_secs_f64()),
        "children": n.children.iter().map(snapshot).collect::<Vec<_>>(),
    })
}

/// A shutdown report and its children.
pub fn report(r: &ShutdownReport) -> Value {
    json!({
        "path": r.path.to_string(),
        "kind": r.kind,
        "outcome": r.outcome.as_str(),
        "last_exit": r.last_exit.map(|e| e.as_str()),
        "last_error": r.last_error,
        "took": r.took.as_secs_f64(),
        "subtasks": r.subtasks,
        "children": r.children.iter().map(report).collect::<Vec<_>>(),
    })
}

/// An event: the common fields plus the fields of its kind.
pub fn event(e: &Event) -> Value {
    let mut v = json!({
        "path": e.path.to_string(),
        "generation": e.generation.map(|g| g.0),
        "elapsed": e.elapsed.as_secs_f64(),
        "kind": e.kind.name(),
        "text": e.to_string(),
    });
    let extra = match &e.kind {
        EventKind::Started { attempt, restart } => json!({"attempt": attempt, "restart": restart}),
        EventKind::Exited { exit, failure } => json!({
            "exit": exit.as_str(),
            "error": failure.as_ref().map(|f| f.chain()),
        }),
        EventKind::RestartScheduled {
            delay,
            rule,
            intensity,
            budget,
            backoff,
            affected,
        } => json!({
            "delay": delay.as_secs_f64(),
            "rule": rule.name(),
            "intensity": intensity.map(|w| json!({"count": w.count, "max": w.max, "period": w.period.as_secs_f64()})),
            "budget": budget.map(|w| json!({"count": w.count, "max": w.max, "period": w.period.as_secs_f64()})),
            "attempt": backoff.map(|b| b.attempt),
            "base_delay": backoff.map(|b| b.base.as_secs_f64()),
            "jitter_draw": backoff.map(|b| b.draw),
            "affected": affected.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        }),
        EventKind::StopRequested { reason } => json!({"reason": reason.to_string()}),
        EventKind::Stopped { outcome, took } => {
            json!({"outcome": outcome.as_str(), "took": took.as_secs_f64()})
        }
        EventKind::Quarantined { retry_after } => {
            json!({"retry_after": retry_after.map(|d| d.as_secs_f64())})
        }
        EventKind::LivenessMissed { deadline } => json!({"deadline": deadline.as_secs_f64()}),
        EventKind::Escalated { reason } => json!({"reason": reason}),
        EventKind::Command {
            command,
            reason,
            by,
        } => json!({"command": command, "reason": reason, "by": by}),
        EventKind::ShutdownBegun { cause } => json!({"cause": cause}),
        EventKind::ShutdownCompleted { took, .. } => json!({"took": took.as_secs_f64()}),
        _ => json!({}),
    };
    if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), extra) {
        obj.extend(extra);
    }
    v
}
