//! Optional client-side token bucket: at most `rate` requests per second with bursts of
//! `burst`. Callers wait for a token (bounded by their deadline) rather than fail.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket { rate, burst, state: Mutex::new((burst, Instant::now())) }
    }

    /// Take a token now, or say how long until one is available (the token is reserved).
    fn reserve(&self) -> Duration {
        let mut s = self.state.lock().expect("bucket lock");
        let now = Instant::now();
        let (tokens, at) = *s;
        let refilled = (tokens + now.duration_since(at).as_secs_f64() * self.rate).min(self.burst);
        let left = refilled - 1.0;
        *s = (left, now);
        if left >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-left / self.rate)
        }
    }

    /// Wait for a token. `false` when the wait would exceed `max_wait` (the token is given back).
    pub async fn acquire(&self, max_wait: Duration) -> bool {
        let wait = self.reserve();
        if wait.is_zero() {
            return true;
        }
        if wait > max_wait {
            if let Ok(mut s) = self.state.lock() {
                s.0 += 1.0;
            }
            return false;
        }
        tokio::time::sleep(wait).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bursts_then_paces() {
        let b = TokenBucket::new(20.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(b.acquire(Duration::from_secs(1)).await);
        }
        assert!(t0.elapsed() < Duration::from_millis(20), "the burst is immediate");
        for _ in 0..4 {
            assert!(b.acquire(Duration::from_secs(1)).await);
        }
        assert!(t0.elapsed() >= Duration::from_millis(150), "then 20/s");
    }

    #[tokio::test]
    async fn refuses_beyond_the_deadline() {
        let b = TokenBucket::new(1.0, 1);
        assert!(b.acquire(Duration::ZERO).await);
        assert!(!b.acquire(Duration::from_millis(10)).await);
    }
}
