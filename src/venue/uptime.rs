//! How long a venue's streams were up and down: `tradewind_stream_up{venue,stream}`
//! (1 while up) and `tradewind_stream_down_milliseconds_total{venue,stream}`,
//! the time spent down after having been up (added when the stream is back).
//! Milliseconds, because the counters are integers and a reconnect takes a
//! fraction of a second. The market feed and the user stream each keep one.

use std::time::Instant;

/// One stream's up/down record. Starts down (nothing is connected yet).
pub struct Uptime {
    up: metrics::Gauge,
    down_total: metrics::Counter,
    /// Since when the stream is down (none while up, and before it was ever up).
    down_since: Option<Instant>,
    ever_up: bool,
}

impl Uptime {
    /// `stream` is `market` or `user`.
    pub fn new(venue: &str, stream: &'static str) -> Self {
        let venue = venue.to_owned();
        let up = metrics::gauge!("tradewind_stream_up", "venue" => venue.clone(), "stream" => stream);
        let down_total =
            metrics::counter!("tradewind_stream_down_milliseconds_total", "venue" => venue, "stream" => stream);
        up.set(0.0);
        down_total.increment(0);
        Self { up, down_total, down_since: None, ever_up: false }
    }

    /// The stream is up (again); returns how long it was down, if it had been up before.
    pub fn up(&mut self) -> Option<std::time::Duration> {
        self.ever_up = true;
        self.up.set(1.0);
        let down = self.down_since.take()?.elapsed();
        self.down_total.increment(u64::try_from(down.as_millis()).unwrap_or(u64::MAX));
        Some(down)
    }

    /// The stream went down. Connecting the first time is not counted as down time.
    pub fn down(&mut self) {
        if self.down_since.is_none() && self.ever_up {
            self.down_since = Some(Instant::now());
        }
        self.up.set(0.0);
    }
}
