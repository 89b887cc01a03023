//! A lock-free latency histogram the daemon can read back itself (Prometheus
//! histograms are write-only from here): tick-to-order latency for
//! `tradewind status`. Buckets are eighth-powers of two from 1 µs to ~70 s,
//! so a quantile is known within 9 %.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Buckets: bucket i holds samples below 2^(i/8) µs.
const BUCKETS: usize = 208;

pub struct Histogram {
    counts: [AtomicU64; BUCKETS],
    max_ns: AtomicU64,
}

/// Quantiles of what was recorded (upper bucket bounds, in microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Summary {
    pub count: u64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

impl Histogram {
    pub const fn new() -> Self {
        Self { counts: [const { AtomicU64::new(0) }; BUCKETS], max_ns: AtomicU64::new(0) }
    }

    pub fn record(&self, d: Duration) {
        let us = d.as_secs_f64() * 1e6;
        let i = if us <= 1.0 { 0 } else { ((us.log2() * 8.0).ceil() as usize).min(BUCKETS - 1) };
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.max_ns.fetch_max(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// `None` until something was recorded.
    pub fn summary(&self) -> Option<Summary> {
        let counts: Vec<u64> = self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let count: u64 = counts.iter().sum();
        if count == 0 {
            return None;
        }
        let quantile = |q: f64| {
            let rank = (q * count as f64).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return 2f64.powf(i as f64 / 8.0);
                }
            }
            f64::INFINITY
        };
        let max_us = self.max_ns.load(Ordering::Relaxed) as f64 / 1e3;
        Some(Summary {
            count,
            p50_us: quantile(0.5).min(max_us),
            p99_us: quantile(0.99).min(max_us),
            p999_us: quantile(0.999).min(max_us),
            max_us,
        })
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

/// Frame read → signed order handed to the HTTP client, for every order a market event caused.
pub static TICK_TO_ORDER: Histogram = Histogram::new();

/// Frame read → strategy callback, for every market event read from a frame.
pub static TICK_TO_STRATEGY: Histogram = Histogram::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_within_a_bucket() {
        let h = Histogram::new();
        assert_eq!(h.summary(), None);
        for us in 1..=100u64 {
            h.record(Duration::from_micros(us * 10));
        }
        let s = h.summary().unwrap();
        assert_eq!(s.count, 100);
        // The true p50 is 500 µs, p99 990 µs; buckets are ≤ 9 % wide.
        assert!((500.0..=500.0 * 1.091).contains(&s.p50_us), "{s:?}");
        assert!((990.0..=1000.0).contains(&s.p99_us), "capped at the max: {s:?}");
        assert_eq!(s.max_us, 1000.0);
    }
}
