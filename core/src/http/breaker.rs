//! Per-host circuit breaker. Network errors, timeouts, 5xx and 429 count as failures; 4xx do
//! not (they are answers). After `threshold` consecutive failures the breaker opens for
//! `open_for`; then one probe is let through (half-open): success closes it, failure re-opens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

#[derive(Debug)]
pub(crate) struct Breaker {
    me: std::sync::Weak<Breaker>,
    state: Mutex<State>,
    threshold: u32,
    open_for: Duration,
}

/// What the breaker says about an attempt.
#[derive(Debug)]
pub(crate) enum Admit {
    /// Go ahead; with the half-open probe to settle once the attempt completed.
    Yes(Option<Probe>),
    /// Refused; retry after this long.
    No(Duration),
}

/// The one attempt a half-open breaker lets through. It must be [`settle`](Probe::settle)d
/// after its outcome was recorded; one dropped unsettled (the rate limiter refused it, the
/// caller cancelled or dropped the call, it panicked) re-opens the breaker for a fresh open
/// period, so it half-opens again later instead of refusing every call on the host forever.
#[derive(Debug)]
pub(crate) struct Probe {
    breaker: Arc<Breaker>,
    settled: bool,
}

impl Probe {
    pub fn settle(mut self) {
        self.settled = true;
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if !self.settled {
            self.breaker.abandon();
        }
    }
}

impl Breaker {
    pub fn new(threshold: u32, open_for: Duration) -> Arc<Self> {
        Arc::new_cyclic(|me| Breaker {
            me: me.clone(),
            state: Mutex::new(State::Closed { failures: 0 }),
            threshold,
            open_for,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn admit(&self) -> Admit {
        if self.threshold == 0 {
            return Admit::Yes(None);
        }
        let mut s = self.state();
        let probe = || self.me.upgrade().map(|breaker| Probe { breaker, settled: false });
        match *s {
            State::Closed { .. } => Admit::Yes(None),
            State::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    *s = State::HalfOpen { probing: true };
                    Admit::Yes(probe())
                } else {
                    Admit::No(until - now)
                }
            }
            State::HalfOpen { probing: true } => Admit::No(Duration::from_millis(100)),
            State::HalfOpen { probing: false } => {
                *s = State::HalfOpen { probing: true };
                Admit::Yes(probe())
            }
        }
    }

    pub fn success(&self) {
        *self.state() = State::Closed { failures: 0 };
    }

    pub fn failure(&self) {
        if self.threshold == 0 {
            return;
        }
        let mut s = self.state();
        *s = match *s {
            State::Closed { failures } if failures + 1 < self.threshold => State::Closed { failures: failures + 1 },
            _ => State::Open { until: crate::runtime::instant_after(self.open_for) },
        };
    }

    /// A half-open probe ended without an outcome: open again, for a fresh open period.
    fn abandon(&self) {
        let mut s = self.state();
        if let State::HalfOpen { probing: true } = *s {
            *s = State::Open { until: crate::runtime::instant_after(self.open_for) };
        }
    }

    /// `closed`, `open` or `half_open` (for diagnostics and tests).
    pub fn state_name(&self) -> &'static str {
        match *self.state() {
            State::Closed { .. } => "closed",
            State::Open { until } if Instant::now() >= until => "half_open",
            State::Open { .. } => "open",
            State::HalfOpen { .. } => "half_open",
        }
    }
}

/// Breakers shared by every client of an `Iam`, one per `scheme://host:port`.
#[derive(Default)]
pub(crate) struct Breakers {
    map: Mutex<HashMap<String, Arc<Breaker>>>,
}

impl Breakers {
    pub fn get(&self, host: &str, threshold: u32, open_for: Duration) -> Arc<Breaker> {
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(host.to_owned()).or_insert_with(|| Breaker::new(threshold, open_for)).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_half_opens() {
        let b = Breaker::new(3, Duration::from_millis(50));
        for _ in 0..2 {
            assert!(matches!(b.admit(), Admit::Yes(None)));
            b.failure();
        }
        assert_eq!(b.state_name(), "closed");
        b.failure();
        assert_eq!(b.state_name(), "open");
        assert!(matches!(b.admit(), Admit::No(_)));
        std::thread::sleep(Duration::from_millis(60));
        let Admit::Yes(Some(probe)) = b.admit() else { panic!("one probe after the open period") };
        assert!(matches!(b.admit(), Admit::No(_)), "only one probe at a time");
        b.failure();
        probe.settle();
        assert_eq!(b.state_name(), "open", "a failed probe re-opens");
        std::thread::sleep(Duration::from_millis(60));
        let Admit::Yes(Some(probe)) = b.admit() else { panic!("a probe") };
        b.success();
        probe.settle();
        assert_eq!(b.state_name(), "closed");
    }

    #[test]
    fn zero_threshold_disables() {
        let b = Breaker::new(0, Duration::from_secs(1));
        for _ in 0..100 {
            b.failure();
        }
        assert!(matches!(b.admit(), Admit::Yes(None)));
    }

    /// A probe that never completes (refused by the rate limiter, cancelled, dropped) must not
    /// leave the breaker half-open with a probe "in flight" forever.
    #[test]
    fn an_abandoned_probe_reopens_and_half_opens_again() {
        let b = Breaker::new(1, Duration::from_millis(40));
        b.failure();
        std::thread::sleep(Duration::from_millis(50));
        let Admit::Yes(Some(probe)) = b.admit() else { panic!("a probe") };
        drop(probe);
        assert_eq!(b.state_name(), "open", "the abandoned probe re-opened the breaker");
        assert!(matches!(b.admit(), Admit::No(_)), "for a fresh open period");
        std::thread::sleep(Duration::from_millis(50));
        let Admit::Yes(Some(probe)) = b.admit() else { panic!("half-open again later") };
        b.success();
        probe.settle();
        assert_eq!(b.state_name(), "closed");
    }
}
