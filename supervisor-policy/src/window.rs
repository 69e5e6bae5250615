//! [`Window`]: a sliding-window restart counter (OTP's intensity semantics).

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

use crate::Time;

/// Counts events within a sliding window of `period`.
///
/// # Invariants
///
/// `times` is sorted and holds at most `max + 1` entries, all within
/// `period` of the latest one, so memory is bounded by the spec's limit.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    max: u32,
    period: Duration,
    times: VecDeque<Time>,
}

/// A snapshot of a sliding-window counter, for explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WindowCount {
    /// Events counted in the window, including the one just recorded.
    pub count: u32,
    /// Events allowed in the window.
    pub max: u32,
    /// The window's length.
    pub period: Duration,
}

impl WindowCount {
    /// Whether more events than allowed were counted.
    pub fn exceeded(&self) -> bool {
        self.count > self.max
    }
}

impl Window {
    pub(crate) fn new(max: u32, period: Duration) -> Self {
        Self {
            max,
            period,
            times: VecDeque::new(),
        }
    }

    fn expire(&mut self, now: Time) {
        while let Some(&first) = self.times.front() {
            // OTP drops restarts older than `period` seconds before now.
            if now.saturating_since(first) >= self.period {
                self.times.pop_front();
            } else {
                break;
            }
        }
    }

    /// Records an event at `now` and returns the count afterwards.
    pub(crate) fn record(&mut self, now: Time) -> WindowCount {
        self.expire(now);
        self.times.push_back(now);
        if self.times.len() > self.max as usize + 1 {
            self.times.pop_front();
        }
        self.snapshot()
    }

    fn snapshot(&self) -> WindowCount {
        WindowCount {
            count: self.times.len() as u32,
            max: self.max,
            period: self.period,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.times.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_the_window_only() {
        let mut w = Window::new(2, Duration::from_secs(5));
        assert_eq!(w.record(Time::from_millis(0)).count, 1);
        assert_eq!(w.record(Time::from_millis(1000)).count, 2);
        assert!(w.record(Time::from_millis(2000)).exceeded());
        // At 5.5 s the first two have left the window.
        assert_eq!(w.record(Time::from_millis(6500)).count, 2);
    }
}
