//! `/api/events`: the tree's events as server-sent events — the journal's
//! recent history first, then live events as they happen.
//!
//! Each SSE message has a type and one JSON event
//! ([`json::event`](crate::json::event)) as data:
//!
//! - `history`: one of the journal's last 200 events, from before the
//!   connection (only with [`HttpConfig::journal`](super::HttpConfig::journal));
//! - `live`: an event as it happens;
//! - `lagged`: `{"missed": n}` — the client fell behind and missed `n`
//!   events (counted in `supervisor_events_dropped_total`); reload the tree;
//! - `end`: `{"end", "reason", "report"}` — the tree has ended; the stream
//!   closes after it.
//!
//! The stream also closes when the server shuts down, and sends a comment
//! every 15 s so proxies keep it open.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, Sse};
use futures_util::Stream;
use serde_json::json;
use supervisor_runtime::{EndReason, Event, SupervisorHandle};
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, Interval};

use super::reply::HttpError;
use super::state::AppState;
use crate::json;

/// How many journal events a new stream starts with.
pub(crate) const HISTORY: usize = 200;

const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How long after the newest history event a live event may still be one
/// the history already showed (sent to subscribers just after the journal
/// recorded it).
const OVERLAP: Duration = Duration::from_secs(1);

/// Most event streams open at once. They never end by themselves, and
/// every connection counts against the server's limit: past this many, a
/// new stream is refused (503), so that probes always find a connection.
pub(crate) const MAX_STREAMS: usize = 64;

/// The name `supervisor_events_dropped_total` counts this stream's losses under.
const SUBSCRIBER: &str = "http_events";

pub(crate) async fn events(
    State(state): State<AppState>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, HttpError> {
    let tree = state.tree()?;
    let permit = state
        .inner
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            HttpError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("too many event streams open (at most {MAX_STREAMS})"),
            )
        })?;
    // Subscribe before reading the journal: an event is then either in the
    // history, or live, or both (deduplicated), never lost in between.
    let rx = tree.subscribe();
    let history = match &state.inner.journal {
        Some(journal) => journal.recent(HISTORY),
        None => Vec::new(),
    };
    let feed = Feed::new(tree, rx, history, state.inner.stop.clone());
    Ok(Sse::new(futures_util::stream::unfold(
        (feed, permit),
        |(mut feed, permit)| async move {
            let next = feed.next().await?;
            Some((Ok(next), (feed, permit)))
        },
    )))
}

/// Identifies an event well enough to recognise it twice.
type Key = (Duration, String);

fn key(e: &Event) -> Key {
    (e.elapsed, e.to_string())
}

struct Feed {
    tree: SupervisorHandle,
    rx: broadcast::Receiver<Event>,
    history: std::vec::IntoIter<Event>,
    /// History events a live event may repeat, with their counts.
    shown: HashMap<Key, u32>,
    shown_until: Duration,
    stop: watch::Receiver<bool>,
    keep_alive: Interval,
    phase: Phase,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Opening,
    History,
    Live,
    /// The tree ended: send what is left, then `end`.
    Draining,
    Done,
}

impl Feed {
    fn new(
        tree: SupervisorHandle,
        rx: broadcast::Receiver<Event>,
        history: Vec<Event>,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let mut shown = HashMap::new();
        for e in &history {
            *shown.entry(key(e)).or_insert(0) += 1;
        }
        let shown_until = history.last().map_or(Duration::ZERO, |e| e.elapsed) + OVERLAP;
        Self {
            tree,
            rx,
            history: history.into_iter(),
            shown,
            shown_until,
            stop,
            keep_alive: tokio::time::interval_at(Instant::now() + KEEP_ALIVE, KEEP_ALIVE),
            phase: Phase::Opening,
        }
    }

    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            match self.phase {
                Phase::Opening => {
                    self.phase = Phase::History;
                    return Some(
                        SseEvent::default()
                            .retry(Duration::from_secs(2))
                            .comment("supervisor events"),
                    );
                }
                Phase::History => match self.history.next() {
                    Some(e) => return Some(message("history", &e)),
                    None => self.phase = Phase::Live,
                },
                Phase::Live => {
                    let step = tokio::select! {
                        biased;
                        _ = self.stop.wait_for(|stop| *stop) => Step::Stop,
                        received = self.rx.recv() => Step::Received(received),
                        _ = self.tree.join() => Step::Ended,
                        _ = self.keep_alive.tick() => Step::KeepAlive,
                    };
                    match step {
                        Step::Stop => self.phase = Phase::Done,
                        Step::Received(Ok(e)) => {
                            if !self.already_shown(&e) {
                                return Some(message("live", &e));
                            }
                        }
                        Step::Received(Err(broadcast::error::RecvError::Lagged(n))) => {
                            crate::metrics::record_dropped(SUBSCRIBER, n);
                            return Some(
                                SseEvent::default()
                                    .event("lagged")
                                    .data(json!({ "missed": n }).to_string()),
                            );
                        }
                        Step::Received(Err(broadcast::error::RecvError::Closed)) | Step::Ended => {
                            self.phase = Phase::Draining;
                        }
                        Step::KeepAlive => return Some(SseEvent::default().comment("keep-alive")),
                    }
                }
                Phase::Draining => match self.rx.try_recv() {
                    Ok(e) => {
                        if !self.already_shown(&e) {
                            return Some(message("live", &e));
                        }
                    }
                    Err(broadcast::error::TryRecvError::Lagged(n)) => {
                        crate::metrics::record_dropped(SUBSCRIBER, n);
                    }
                    Err(_) => {
                        self.phase = Phase::Done;
                        return Some(self.end());
                    }
                },
                Phase::Done => return None,
            }
        }
    }

    /// Whether the history already showed `e`; forgets the history once no
    /// live event can repeat it any more.
    fn already_shown(&mut self, e: &Event) -> bool {
        if self.shown.is_empty() {
            return false;
        }
        if e.elapsed > self.shown_until {
            self.shown = HashMap::new();
            return false;
        }
        match self.shown.get_mut(&key(e)) {
            Some(n) => {
                *n -= 1;
                if *n == 0 {
                    self.shown.remove(&key(e));
                }
                true
            }
            None => false,
        }
    }

    fn end(&self) -> SseEvent {
        let data = match self.tree.end() {
            Some(end) => {
                let (name, reason) = match &end.end {
                    EndReason::GaveUp { reason } => ("gave_up", Some(reason.clone())),
                    EndReason::AutoShutdown => ("auto_shutdown", end.reason.clone()),
                    _ => ("shutdown", end.reason.clone()),
                };
                json!({ "end": name, "reason": reason, "report": json::report(&end.report) })
            }
            None => json!({ "end": "unknown", "reason": null, "report": null }),
        };
        SseEvent::default().event("end").data(data.to_string())
    }
}

/// What woke a live stream.
// A value of it lives for one turn of the stream's loop, on the stack:
// boxing the event to make the variants alike would cost an allocation
// per event for nothing.
#[allow(clippy::large_enum_variant)]
enum Step {
    Stop,
    Received(Result<Event, broadcast::error::RecvError>),
    Ended,
    KeepAlive,
}

fn message(kind: &str, e: &Event) -> SseEvent {
    SseEvent::default()
        .event(kind)
        .data(json::event(e).to_string())
}
