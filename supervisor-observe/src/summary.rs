//! [`RunSummary`]: what happened during a run, per child, printable at
//! shutdown as text or JSON.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use supervisor_policy::ExitKind;
use supervisor_runtime::{Event, EventKind, Observer, ShutdownReport};

use crate::json;

/// Collects per-child counters from a tree's events. Register it as an
/// observer; [`summary`](Self::summary) builds the [`RunSummary`].
#[derive(Clone, Default)]
pub struct SummaryCollector {
    inner: Arc<Mutex<Collected>>,
}

impl fmt::Debug for SummaryCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SummaryCollector")
            .field("children", &self.inner.lock().children.len())
            .finish()
    }
}

#[derive(Default)]
struct Collected {
    children: BTreeMap<String, ChildStats>,
    last_elapsed: Duration,
}

/// One child's counters over the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ChildStats {
    /// Incarnations started (first start included).
    pub starts: u64,
    /// Restarts (starts after the first).
    pub restarts: u64,
    /// Ends by classification (`failed`, `panicked`, `completed`, ...).
    pub exits: BTreeMap<&'static str, u64>,
    /// Abnormal ends (failed, panicked, liveness or readiness missed).
    pub failures: u64,
    /// Times it was quarantined.
    pub quarantines: u64,
    /// Its last failure, as one line.
    pub last_error: Option<String>,
}

impl SummaryCollector {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// The summary so far, with the shutdown report if the run has ended.
    pub fn summary(&self, report: Option<&ShutdownReport>) -> RunSummary {
        let c = self.inner.lock();
        RunSummary {
            uptime: c.last_elapsed,
            children: c.children.clone(),
            report: report.map(json::report),
        }
    }
}

impl Observer for SummaryCollector {
    fn on_event(&self, event: &Event) {
        let mut c = self.inner.lock();
        c.last_elapsed = c.last_elapsed.max(event.elapsed);
        let key = event.path.to_string();
        match &event.kind {
            EventKind::Started { restart, .. } => {
                let s = c.children.entry(key).or_default();
                s.starts += 1;
                if *restart {
                    s.restarts += 1;
                }
            }
            EventKind::Exited { exit, failure } => {
                let s = c.children.entry(key).or_default();
                *s.exits.entry(exit.as_str()).or_default() += 1;
                if exit.is_abnormal() {
                    s.failures += 1;
                }
                if let Some(f) = failure {
                    s.last_error = Some(f.chain());
                }
            }
            EventKind::Quarantined { .. } => {
                c.children.entry(key).or_default().quarantines += 1;
            }
            _ => {}
        }
    }
}

/// What happened during a run: uptime, per-child counters, and how it shut
/// down.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RunSummary {
    /// Time from start to the last event seen.
    #[serde(serialize_with = "json::secs")]
    pub uptime: Duration,
    /// Counters per child path (supervisors included).
    pub children: BTreeMap<String, ChildStats>,
    /// The shutdown report, as JSON, once the run has ended.
    pub report: Option<serde_json::Value>,
}

impl RunSummary {
    /// The summary as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// Failures per classification, over all children.
    pub fn failures_by_reason(&self) -> BTreeMap<&'static str, u64> {
        let mut out = BTreeMap::new();
        for s in self.children.values() {
            for (&reason, &n) in &s.exits {
                if reason != ExitKind::Completed.as_str() && reason != ExitKind::Stopped.as_str() {
                    *out.entry(reason).or_default() += n;
                }
            }
        }
        out
    }
}

impl fmt::Display for RunSummary {
    /// A table: one line per child with starts, restarts, failures by
    /// reason, quarantines and its last error.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "run summary: up {:.3}s", self.uptime.as_secs_f64())?;
        let width = self
            .children
            .keys()
            .map(String::len)
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            f,
            "  {:<width$}  {:>6}  {:>8}  {:>8}  {:>5}  last error",
            "node", "starts", "restarts", "failures", "quar."
        )?;
        for (path, s) in &self.children {
            let reasons: Vec<String> = s
                .exits
                .iter()
                .filter(|(r, _)| **r != "completed" && **r != "stopped")
                .map(|(r, n)| format!("{r}={n}"))
                .collect();
            let failures = if reasons.is_empty() {
                s.failures.to_string()
            } else {
                format!("{} ({})", s.failures, reasons.join(" "))
            };
            writeln!(
                f,
                "  {path:<width$}  {:>6}  {:>8}  {failures:>8}  {:>5}  {}",
                s.starts,
                s.restarts,
                s.quarantines,
                s.last_error.as_deref().unwrap_or("-")
            )?;
        }
        Ok(())
    }
}
