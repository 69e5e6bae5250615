//! [`Scripted`]: a task that misbehaves on cue.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::{BoxFuture, Task, TaskContext};

/// One way for an incarnation to misbehave.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Return an error with this message.
    Fail(String),
    /// Panic with this message.
    Panic(String),
    /// Ignore cancellation: never end by itself (only an abort ends it).
    Hang,
    /// Block the runtime thread for this long (as sync code in an async task
    /// would), then hang.
    BlockThread(Duration),
    /// Run, but never signal readiness (needs `readiness: explicit`).
    NeverReady,
    /// Run, but stop heartbeating (trips a liveness deadline).
    StopHeartbeat,
    /// Return `Ok` (a normal end).
    Exit,
}

impl Fault {
    /// [`Fault::Fail`] with `message`.
    pub fn fail(message: &str) -> Self {
        Self::Fail(message.to_owned())
    }

    /// [`Fault::Panic`] with `message`.
    pub fn panic(message: &str) -> Self {
        Self::Panic(message.to_owned())
    }
}

#[derive(Debug, Clone)]
struct Rule {
    /// The incarnation it applies to (1-based), or every one.
    start: Option<u32>,
    /// How long the incarnation behaves before the fault.
    after: Duration,
    fault: Fault,
}

/// A task whose incarnations behave well — ready at once, heartbeat every
/// `heartbeat` (100 ms by default), stop when asked — except where its
/// script says otherwise. Rules are checked in the order they were added;
/// the first that applies to an incarnation wins.
///
/// Each `Scripted` counts its own starts, so bind one per child.
#[derive(Debug, Clone)]
pub struct Scripted {
    rules: Arc<Vec<Rule>>,
    starts: Arc<AtomicU32>,
    heartbeat: Duration,
}

impl Default for Scripted {
    fn default() -> Self {
        Self::new()
    }
}

impl Scripted {
    /// A well-behaved task with no fault scheduled.
    pub fn new() -> Self {
        Self {
            rules: Arc::new(Vec::new()),
            starts: Arc::new(AtomicU32::new(0)),
            heartbeat: Duration::from_millis(100),
        }
    }

    fn rule(mut self, start: Option<u32>, after: Duration, fault: Fault) -> Self {
        Arc::make_mut(&mut self.rules).push(Rule {
            start,
            after,
            fault,
        });
        self
    }

    /// The `n`th incarnation (from 1) misbehaves as soon as it starts.
    pub fn on_start(self, n: u32, fault: Fault) -> Self {
        self.rule(Some(n), Duration::ZERO, fault)
    }

    /// The `n`th incarnation misbehaves after running well for `after`.
    pub fn on_start_after(self, n: u32, after: Duration, fault: Fault) -> Self {
        self.rule(Some(n), after, fault)
    }

    /// Every incarnation not matched by an earlier rule misbehaves after
    /// running well for `after`.
    pub fn always_after(self, after: Duration, fault: Fault) -> Self {
        self.rule(None, after, fault)
    }

    /// How often a well-behaved incarnation heartbeats.
    pub fn heartbeat_every(mut self, every: Duration) -> Self {
        self.heartbeat = every;
        self
    }

    /// How many incarnations have started.
    pub fn starts(&self) -> u32 {
        self.starts.load(Ordering::SeqCst)
    }
}

impl Task for Scripted {
    fn start(&self, ctx: TaskContext) -> BoxFuture {
        let n = self.starts.fetch_add(1, Ordering::SeqCst) + 1;
        let rule = self
            .rules
            .iter()
            .find(|r| r.start.is_none_or(|s| s == n))
            .cloned();
        let heartbeat = self.heartbeat;
        Box::pin(async move {
            let (after, fault) = match rule {
                Some(r) => (r.after, Some(r.fault)),
                None => (Duration::MAX, None),
            };
            if fault != Some(Fault::NeverReady) {
                ctx.ready();
            }
            let beats = fault != Some(Fault::StopHeartbeat);
            // Behave until the fault is due (or forever without one).
            let due = tokio::time::Instant::now().checked_add(after);
            loop {
                let next_beat = tokio::time::sleep(heartbeat);
                tokio::select! {
                    _ = ctx.cancelled() => return Ok(()),
                    _ = next_beat => if beats { ctx.heartbeat() },
                    _ = sleep_until_opt(due) => break,
                }
            }
            match fault {
                None | Some(Fault::NeverReady) | Some(Fault::StopHeartbeat) => {
                    ctx.cancelled().await;
                    Ok(())
                }
                Some(Fault::Fail(message)) => Err(message.into()),
                Some(Fault::Panic(message)) => panic!("{message}"),
                Some(Fault::Hang) => std::future::pending().await,
                Some(Fault::BlockThread(d)) => {
                    std::thread::sleep(d);
                    std::future::pending().await
                }
                Some(Fault::Exit) => Ok(()),
            }
        })
    }
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
