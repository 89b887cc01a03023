//! A lock-free latency histogram the daemon can read back itself (Prometheus
//! histograms are write-only from here): tick-to-order latency for
//! `tradewind status`. Buckets are eighth-powers of two from 1 µs to ~70 s,
//! so a quantile is known within 9 %. The per-market-event histograms
//! (frame → strategy, market lag) live here too and are rendered into
//! `/metrics` by [`render_prometheus`]: recording one is two atomic adds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Buckets: bucket i holds samples of at most 2^(i/8) µs (and more than the bucket below).
const BUCKETS: usize = 208;

/// Each bucket's upper bound in nanoseconds: 1000 · 2^(i/8).
static UPPER_NS: [u64; BUCKETS] = {
    // 2^(k/8) for k = 0..8.
    const STEPS: [f64; 8] = [
        1.0,
        1.090_507_732_665_257_7,
        1.189_207_115_002_721,
        1.296_839_554_651_009_6,
        std::f64::consts::SQRT_2,
        1.542_210_825_407_940_8,
        1.681_792_830_507_429,
        1.834_008_086_409_342_5,
    ];
    let mut bounds = [0u64; BUCKETS];
    let mut i = 0;
    while i < BUCKETS {
        bounds[i] = (1000.0 * STEPS[i % 8] * (1u64 << (i / 8)) as f64) as u64;
        i += 1;
    }
    bounds
};

pub struct Histogram {
    counts: [AtomicU64; BUCKETS],
    max_ns: AtomicU64,
    sum_ns: AtomicU64,
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
        Self { counts: [const { AtomicU64::new(0) }; BUCKETS], max_ns: AtomicU64::new(0), sum_ns: AtomicU64::new(0) }
    }

    pub fn record(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        // A binary search of the bounds (a `log2` call cost more than the rest).
        let i = UPPER_NS.partition_point(|&upper| upper < ns).min(BUCKETS - 1);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
        // A new maximum is rare: read before paying for the atomic update.
        if ns > self.max_ns.load(Ordering::Relaxed) {
            self.max_ns.fetch_max(ns, Ordering::Relaxed);
        }
    }

    /// Appends the histogram in Prometheus text format (no HELP/TYPE lines),
    /// with `le` at each power of two from 1 µs to 67 s: whole buckets, so
    /// every count is exact.
    pub fn render_prometheus(&self, name: &str, labels: &str, out: &mut String) {
        use std::fmt::Write;
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            if i % 8 == 0 {
                let le = 2f64.powi(i as i32 / 8) / 1e6;
                let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}");
            }
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}");
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }

    /// `None` until something was recorded.
    pub fn summary(&self) -> Option<Summary> {
        Summary::of(&self.counts(), self.max_ns.load(Ordering::Relaxed) as f64 / 1e3)
    }

    /// The count of each bucket: bucket i holds samples of at most 2^(i/8) µs.
    pub fn counts(&self) -> Vec<u64> {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect()
    }
}

impl Summary {
    /// Quantiles of bucket counts (as [`Histogram::counts`] gives them),
    /// none above `max_us`; `None` if every bucket is empty.
    pub fn of(counts: &[u64], max_us: f64) -> Option<Summary> {
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
        Some(Summary {
            count,
            p50_us: quantile(0.5).min(max_us),
            p99_us: quantile(0.99).min(max_us),
            p999_us: quantile(0.999).min(max_us),
            max_us,
        })
    }

    /// The quantiles of what was recorded between two readings of
    /// [`Histogram::counts`]; the maximum is the upper bound of the highest
    /// bucket that grew (within 9 %).
    pub fn between(before: &[u64], after: &[u64]) -> Option<Summary> {
        let grown: Vec<u64> =
            after.iter().enumerate().map(|(i, a)| a.saturating_sub(before.get(i).copied().unwrap_or(0))).collect();
        let top = grown.iter().rposition(|&c| c > 0)?;
        Summary::of(&grown, 2f64.powf(top as f64 / 8.0))
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

/// Exchange time of a trade → the instant it was handed to the engine, by venue.
static MARKET_LAG: Mutex<Vec<(String, Arc<Histogram>)>> = Mutex::new(Vec::new());

/// The market-lag histogram of `venue` (made on first use; kept for the process).
pub fn market_lag(venue: &str) -> Arc<Histogram> {
    let mut all = MARKET_LAG.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, h)) = all.iter().find(|(v, _)| v == venue) {
        return h.clone();
    }
    let h = Arc::new(Histogram::new());
    all.push((venue.to_owned(), h.clone()));
    h
}

/// The per-event histograms, in Prometheus text format. They are recorded
/// here rather than through the `metrics` recorder, whose histograms queue
/// every sample (a tenth of the cost of ingesting a trade).
pub fn render_prometheus(out: &mut String) {
    out.push_str("# HELP tradewind_tick_to_strategy_seconds Frame read to strategy callback.\n");
    out.push_str("# TYPE tradewind_tick_to_strategy_seconds histogram\n");
    TICK_TO_STRATEGY.render_prometheus("tradewind_tick_to_strategy_seconds", "", out);
    let all = MARKET_LAG.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !all.is_empty() {
        out.push_str(
            "# HELP tradewind_market_lag_seconds Trade time at the venue to the event reaching the engine queue.\n",
        );
        out.push_str("# TYPE tradewind_market_lag_seconds histogram\n");
    }
    for (venue, h) in all.iter() {
        h.render_prometheus("tradewind_market_lag_seconds", &format!("venue=\"{venue}\""), out);
    }
}

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

    #[test]
    fn prometheus_text_has_exact_cumulative_buckets() {
        let h = Histogram::new();
        for us in [1, 3, 3, 100, 5_000] {
            h.record(Duration::from_micros(us));
        }
        let mut out = String::new();
        h.render_prometheus("x_seconds", "venue=\"v\"", &mut out);
        let bucket = |le: &str| {
            let line = format!("x_seconds_bucket{{venue=\"v\",le=\"{le}\"}} ");
            out.lines().find_map(|l| l.strip_prefix(&line)).unwrap_or_else(|| panic!("{le} in {out}")).to_owned()
        };
        assert_eq!(bucket("0.000001"), "1");
        assert_eq!(bucket("0.000002"), "1");
        assert_eq!(bucket("0.000004"), "3");
        assert_eq!(bucket("0.000128"), "4");
        assert_eq!(bucket("0.008192"), "5");
        assert_eq!(bucket("+Inf"), "5");
        assert!(out.contains("x_seconds_count{venue=\"v\"} 5\n"), "{out}");
        assert!(out.contains("x_seconds_sum{venue=\"v\"} 0.005107\n"), "{out}");
        let mut plain = String::new();
        h.render_prometheus("y", "", &mut plain);
        assert!(plain.contains("y_bucket{le=\"+Inf\"} 5\n") && plain.contains("y_count 5\n"), "{plain}");
    }

    #[test]
    fn bucket_bounds_are_eighth_octaves_of_a_microsecond() {
        for (i, &upper) in UPPER_NS.iter().enumerate() {
            let exact = 1000.0 * 2f64.powf(i as f64 / 8.0);
            assert!((upper as f64 - exact).abs() <= 1.0 + exact * 1e-12, "bucket {i}: {upper} vs {exact}");
        }
        let h = Histogram::new();
        for ns in [0, 1000, 1001, 2000, 2001] {
            h.record(Duration::from_nanos(ns));
        }
        let counts = h.counts();
        // ≤ 1 µs in the first bucket; 1001 ns in the next; 2 µs exactly in bucket 8, above it in 9.
        assert_eq!((counts[0], counts[1], counts[8], counts[9]), (2, 1, 1, 1), "{:?}", &counts[..10]);
    }

    #[test]
    fn figures_between_two_readings_leave_out_what_came_before() {
        let h = Histogram::new();
        // A slow start: 50 samples of 12 ms.
        for _ in 0..50 {
            h.record(Duration::from_millis(12));
        }
        let before = h.counts();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let s = Summary::between(&before, &h.counts()).unwrap();
        assert_eq!(s.count, 1000);
        assert!((500.0..=500.0 * 1.091).contains(&s.p50_us), "{s:?}");
        assert!((999.0..=999.0 * 1.091).contains(&s.p999_us), "{s:?}");
        assert!((1000.0..=1000.0 * 1.091).contains(&s.max_us), "the top bucket that grew: {s:?}");
        assert!(h.summary().unwrap().p999_us > 10_000.0, "since start, the slow start shows");
        assert_eq!(Summary::between(&h.counts(), &h.counts()), None, "nothing recorded between");
    }
}
