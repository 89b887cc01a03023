//! The per-event metrics of one market connection.

use std::sync::atomic::{AtomicU64, Ordering};

use tradewind_strategies::sdk::{MarketEvent, VenueId};

/// The per-event metrics of one connection, registered once: looking a
/// labelled metric up (and allocating its labels) on every event costs more
/// than parsing a trade. Events are counted here by the one task that owns
/// the connection (plain loads and stores) and added to the shared counters
/// once per run of frames.
pub(super) struct Meters {
    /// Events by kind, in [`Meters::CHANNELS`] order.
    events: [metrics::Counter; 6],
    pending: [AtomicU64; 6],
    pub(super) lag: std::sync::Arc<crate::latency::Histogram>,
}

impl Meters {
    const CHANNELS: [&'static str; 6] = ["trade", "quote", "book_delta", "book_snapshot", "kline", "connectivity"];

    pub(super) fn new(venue: VenueId) -> Self {
        let venue = venue.to_string();
        Self {
            events: Self::CHANNELS.map(|channel| {
                metrics::counter!("tradewind_market_events_total", "venue" => venue.clone(), "channel" => channel)
            }),
            pending: [const { AtomicU64::new(0) }; 6],
            lag: crate::latency::market_lag(&venue),
        }
    }

    pub(super) fn count(&self, event: &MarketEvent) {
        let pending = &self.pending[match event {
            MarketEvent::Trade(_) => 0,
            MarketEvent::Quote(_) => 1,
            MarketEvent::BookDelta(_) => 2,
            MarketEvent::BookSnapshot(_) => 3,
            MarketEvent::Kline(_) => 4,
            MarketEvent::Connectivity(_) => 5,
        }];
        // One writer: no read-modify-write needed.
        pending.store(pending.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Adds what was counted since the last flush to the shared counters.
    pub(super) fn flush(&self) {
        for (pending, counter) in self.pending.iter().zip(&self.events) {
            let n = pending.load(Ordering::Relaxed);
            if n > 0 {
                pending.store(0, Ordering::Relaxed);
                counter.increment(n);
            }
        }
    }
}
