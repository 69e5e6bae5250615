//! [`Timers`]: a node's own timers (stop timeouts, abort waits, liveness
//! checks, the shutdown budget), earliest first.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use super::Timer;

/// How many distinct delays get a queue of their own; timers with other
/// delays go to the heap.
const MAX_QUEUES: usize = 8;

/// A node's timers. Most are armed a fixed delay after the current turn's
/// time (a child's graceful timeout, its abort wait): those go to a FIFO
/// queue per delay, which stays in deadline order because the turn's time
/// never goes back, so arming one is a push at the back (a parallel
/// shutdown arms one per child, and a heap's sift cost about 400
/// instructions each). Timers at other times go to a heap.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// One queue per delay, each in deadline order.
    queues: Vec<(Duration, VecDeque<(Instant, Timer)>)>,
    heap: BinaryHeap<Reverse<(Instant, Timer)>>,
}

impl Timers {
    /// Arms `timer` for `now + delay`.
    pub(crate) fn after(&mut self, now: Instant, delay: Duration, timer: Timer) {
        let at = now + delay;
        let found = self.queues.iter().position(|(d, _)| *d == delay);
        let index = match found {
            Some(i) => i,
            None if self.queues.len() < MAX_QUEUES => {
                self.queues.push((delay, VecDeque::new()));
                self.queues.len() - 1
            }
            None => return self.at(at, timer),
        };
        let queue = &mut self.queues[index].1;
        if queue.back().is_some_and(|&(last, _)| last > at) {
            // Only if `now` went back, which a turn's time does not.
            return self.at(at, timer);
        }
        queue.push_back((at, timer));
    }

    /// Arms `timer` for `at`.
    pub(crate) fn at(&mut self, at: Instant, timer: Timer) {
        self.heap.push(Reverse((at, timer)));
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len() + self.queues.iter().map(|(_, q)| q.len()).sum::<usize>()
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        let queued = self
            .queues
            .iter()
            .filter_map(|(_, q)| q.front().map(|e| e.0));
        let heaped = self.heap.peek().map(|Reverse((t, _))| *t);
        queued.chain(heaped).min()
    }

    /// Takes the earliest timer due by `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        let mut best: Option<(Instant, Option<usize>)> = self
            .heap
            .peek()
            .map(|Reverse((t, _))| (*t, None))
            .filter(|(t, _)| *t <= now);
        for (i, (_, q)) in self.queues.iter().enumerate() {
            if let Some(&(t, _)) = q.front()
                && t <= now
                && best.is_none_or(|(b, _)| t < b)
            {
                best = Some((t, Some(i)));
            }
        }
        match best? {
            (_, Some(i)) => self.queues[i].1.pop_front().map(|(_, timer)| timer),
            (_, None) => self.heap.pop().map(|Reverse((_, timer))| timer),
        }
    }

    /// Keeps the timers for which `keep` holds.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(Timer) -> bool) {
        self.heap.retain(|Reverse((_, t))| keep(*t));
        for (_, q) in &mut self.queues {
            q.retain(|(_, t)| keep(*t));
        }
    }

    /// Every timer, in no particular order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Instant, Timer)> + '_ {
        let queued = self.queues.iter().flat_map(|(_, q)| q.iter().copied());
        queued.chain(self.heap.iter().map(|Reverse(e)| *e))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use supervisor_policy::{Engine, Generation};
    use supervisor_spec::{ChildSpec, SupervisorSpec};
    use tokio::time::Instant;

    use super::{MAX_QUEUES, Timer, Timers};

    fn timer(i: u64) -> Timer {
        let spec = SupervisorSpec::new("root")
            .unwrap()
            .with_child(ChildSpec::worker("a").unwrap())
            .validate()
            .unwrap();
        Timer::Liveness(Engine::new(&spec, 0).keys()[0], Generation(i))
    }

    /// Timers come out in deadline order whichever way they were armed:
    /// by delay (queues, including more delays than there are queues) or
    /// at a time (the heap).
    #[test]
    fn due_timers_come_out_earliest_first() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        let mut expected = Vec::new();
        let mut i = 0;
        for step in 0..20u64 {
            let now = t0 + Duration::from_millis(step);
            for delay in 0..(MAX_QUEUES as u64 + 3) {
                let delay = Duration::from_millis(delay * 7 % 11);
                timers.after(now, delay, timer(i));
                expected.push((now + delay, i));
                i += 1;
            }
            let at = t0 + Duration::from_millis(step * 3 % 17);
            timers.at(at, timer(i));
            expected.push((at, i));
            i += 1;
        }
        assert_eq!(timers.len(), expected.len());
        expected.sort();
        assert_eq!(timers.next(), Some(expected[0].0));
        let end = t0 + Duration::from_secs(1);
        let mut got = Vec::new();
        while let Some(Timer::Liveness(_, Generation(g))) = timers.pop_due(end) {
            got.push(g);
        }
        let deadline = |g: u64| expected.iter().find(|e| e.1 == g).unwrap().0;
        assert_eq!(got.len(), expected.len());
        assert!(got.windows(2).all(|w| deadline(w[0]) <= deadline(w[1])));
        assert_eq!(timers.next(), None);
    }

    #[test]
    fn only_due_timers_are_taken() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.after(t0, Duration::from_secs(2), timer(1));
        timers.at(t0 + Duration::from_secs(1), timer(2));
        assert_eq!(timers.pop_due(t0), None);
        assert_eq!(timers.pop_due(t0 + Duration::from_secs(1)), Some(timer(2)));
        assert_eq!(timers.pop_due(t0 + Duration::from_secs(1)), None);
        assert_eq!(timers.next(), Some(t0 + Duration::from_secs(2)));
        timers.retain(|_| false);
        assert_eq!(timers.len(), 0);
        assert_eq!(timers.next(), None);
    }
}
