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
    state: Mutex<State>,
    threshold: u32,
    open_for: Duration,
}

/// What the breaker says about an attempt.
#[derive(Debug, PartialEq)]
pub(crate) enum Admit {
    Yes,
    /// Refused; retry after this long.
    No(Duration),
}

impl Breaker {
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Breaker { state: Mutex::new(State::Closed { failures: 0 }), threshold, open_for }
    }

    pub fn admit(&self) -> Admit {
        if self.threshold == 0 {
            return Admit::Yes;
        }
        let mut s = self.state.lock().expect("breaker lock");
        match *s {
            State::Closed { .. } => Admit::Yes,
            State::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    *s = State::HalfOpen { probing: true };
                    Admit::Yes
                } else {
                    Admit::No(until - now)
                }
            }
            State::HalfOpen { probing: true } => Admit::No(Duration::from_millis(100)),
            State::HalfOpen { probing: false } => {
                *s = State::HalfOpen { probing: true };
                Admit::Yes
            }
        }
    }

    pub fn success(&self) {
        if let Ok(mut s) = self.state.lock() {
            *s = State::Closed { failures: 0 };
        }
    }

    pub fn failure(&self) {
        if self.threshold == 0 {
            return;
        }
        if let Ok(mut s) = self.state.lock() {
            *s = match *s {
                State::Closed { failures } if failures + 1 < self.threshold => State::Closed { failures: failures + 1 },
                _ => State::Open { until: Instant::now() + self.open_for },
            };
        }
    }

    /// `closed`, `open` or `half_open` (for diagnostics and tests).
    pub fn state_name(&self) -> &'static str {
        match *self.state.lock().expect("breaker lock") {
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
        let mut m = self.map.lock().expect("breakers lock");
        m.entry(host.to_owned()).or_insert_with(|| Arc::new(Breaker::new(threshold, open_for))).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_half_opens() {
        let b = Breaker::new(3, Duration::from_millis(50));
        for _ in 0..2 {
            assert_eq!(b.admit(), Admit::Yes);
            b.failure();
        }
        assert_eq!(b.state_name(), "closed");
        b.failure();
        assert_eq!(b.state_name(), "open");
        assert!(matches!(b.admit(), Admit::No(_)));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.admit(), Admit::Yes, "one probe after the open period");
        assert!(matches!(b.admit(), Admit::No(_)), "only one probe at a time");
        b.failure();
        assert_eq!(b.state_name(), "open", "a failed probe re-opens");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.admit(), Admit::Yes);
        b.success();
        assert_eq!(b.state_name(), "closed");
    }

    #[test]
    fn zero_threshold_disables() {
        let b = Breaker::new(0, Duration::from_secs(1));
        for _ in 0..100 {
            b.failure();
        }
        assert_eq!(b.admit(), Admit::Yes);
    }
}
