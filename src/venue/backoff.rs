//! Reconnect delays: exponential, capped, with full jitter, so a fleet of
//! clients that lost the venue together does not come back together.

use std::time::Duration;

use crate::rng::Rng;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
    rng: Rng,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap, attempt: 0, rng: Rng::from_time() }
    }

    /// A backoff with a fixed seed (tests).
    pub fn seeded(base: Duration, cap: Duration, seed: u64) -> Self {
        Self { base, cap, attempt: 0, rng: Rng::new(seed) }
    }

    /// The next delay: uniform in [ceiling/2, ceiling], ceiling = min(cap, base·2^attempt).
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.base.saturating_mul(1 << self.attempt.min(20)).min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(self.rng.below(spread + 1))
    }

    /// After a connection that stayed up: start from the base again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_with_jitter_and_reset() {
        let mut b = Backoff::seeded(Duration::from_millis(100), Duration::from_secs(5), 1);
        let delays: Vec<Duration> = (0..10).map(|_| b.next_delay()).collect();
        for (i, d) in delays.iter().enumerate() {
            let ceiling = Duration::from_millis(100 * (1 << i)).min(Duration::from_secs(5));
            assert!(*d >= ceiling / 2 && *d <= ceiling, "attempt {i}: {d:?}");
        }
        assert!(delays[9] >= Duration::from_millis(2500));
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
        let mut other = Backoff::seeded(Duration::from_millis(100), Duration::from_secs(5), 2);
        let others: Vec<Duration> = (0..10).map(|_| other.next_delay()).collect();
        assert_ne!(delays, others, "jitter differs between clients");
    }
}
