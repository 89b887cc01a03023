//! A strategy's own copy of an L2 order book, kept from the `BookSnapshot`
//! and `BookDelta` events of one symbol (the venue connector has already
//! checked that the deltas follow each other; a gap there ends in a new snapshot).

use std::cmp::Reverse;
use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::market::{Level, MarketEvent};
use super::types::{Price, Qty, Side, Symbol, VenueId};

/// Bids and asks of one symbol, by price.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderBook {
    bids: BTreeMap<Reverse<Price>, Qty>,
    asks: BTreeMap<Price, Qty>,
    /// The venue's update id of the last event applied.
    update_id: u64,
    synced: bool,
}

impl OrderBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `event` if it is a snapshot or delta of `venue`/`symbol` (a
    /// dropped connection empties the book until the next snapshot); returns
    /// whether the book changed.
    pub fn apply(&mut self, venue: VenueId, symbol: Symbol, event: &MarketEvent) -> bool {
        match event {
            MarketEvent::BookSnapshot(s) if s.venue == venue && s.symbol == symbol => {
                self.bids = s.bids.iter().filter(|l| l.qty.is_positive()).map(|l| (Reverse(l.price), l.qty)).collect();
                self.asks = s.asks.iter().filter(|l| l.qty.is_positive()).map(|l| (l.price, l.qty)).collect();
                self.update_id = s.last_update_id;
                self.synced = true;
                true
            }
            MarketEvent::BookDelta(d) if d.venue == venue && d.symbol == symbol && self.synced => {
                for l in &d.bids {
                    set(&mut self.bids, Reverse(l.price), l.qty);
                }
                for l in &d.asks {
                    set(&mut self.asks, l.price, l.qty);
                }
                self.update_id = d.last_update_id;
                true
            }
            MarketEvent::Connectivity(c) if c.venue == venue && !c.up => {
                let had = self.synced;
                self.clear();
                had
            }
            _ => false,
        }
    }

    /// Forgets every level (until the next snapshot).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Whether a snapshot has been applied since the book was last cleared.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    pub fn update_id(&self) -> u64 {
        self.update_id
    }

    pub fn best_bid(&self) -> Option<Level> {
        self.bids.iter().next().map(|(Reverse(price), qty)| Level { price: *price, qty: *qty })
    }

    pub fn best_ask(&self) -> Option<Level> {
        self.asks.iter().next().map(|(price, qty)| Level { price: *price, qty: *qty })
    }

    /// The levels of one side, best first.
    pub fn levels(&self, side: Side) -> Box<dyn Iterator<Item = Level> + '_> {
        match side {
            Side::Buy => Box::new(self.bids.iter().map(|(Reverse(price), qty)| Level { price: *price, qty: *qty })),
            Side::Sell => Box::new(self.asks.iter().map(|(price, qty)| Level { price: *price, qty: *qty })),
        }
    }

    /// The fair price from the best `depth` levels of each side: the
    /// size-weighted average price of each side's levels, weighted by the
    /// other side's size (the microprice over several levels, which leans
    /// toward the thinner side). `None` while a side is empty or the book is crossed.
    pub fn depth_weighted_price(&self, depth: usize) -> Option<Price> {
        let (bid, ask) = (self.best_bid()?, self.best_ask()?);
        if bid.price >= ask.price || depth == 0 {
            return None;
        }
        let side = |side| {
            let (mut notional, mut qty) = (Decimal::ZERO, Decimal::ZERO);
            for l in self.levels(side).take(depth) {
                notional += l.price.get() * l.qty.get();
                qty += l.qty.get();
            }
            (!qty.is_zero()).then(|| (notional / qty, qty))
        };
        let ((bid_px, bid_qty), (ask_px, ask_qty)) = (side(Side::Buy)?, side(Side::Sell)?);
        Some(Price::new((bid_px * ask_qty + ask_px * bid_qty) / (bid_qty + ask_qty)))
    }
}

/// Sets a level; a zero quantity removes it.
fn set<K: Ord>(side: &mut BTreeMap<K, Qty>, price: K, qty: Qty) {
    if qty.is_positive() {
        side.insert(price, qty);
    } else {
        side.remove(&price);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::testing::{d, symbol, venue};
    use crate::sdk::{BookDelta, BookSnapshot, Connectivity, Timestamp};

    fn level(price: &str, qty: &str) -> Level {
        Level { price: Price::new(d(price)), qty: Qty::new(d(qty)) }
    }

    fn snapshot() -> MarketEvent {
        MarketEvent::BookSnapshot(BookSnapshot {
            venue: venue("sim"),
            symbol: symbol("BTCUSDT"),
            last_update_id: 10,
            bids: vec![level("100", "1"), level("99", "3")],
            asks: vec![level("101", "2"), level("102", "2")],
        })
    }

    #[test]
    fn snapshots_and_deltas_keep_the_levels() {
        let (v, s) = (venue("sim"), symbol("BTCUSDT"));
        let mut book = OrderBook::new();
        let delta = MarketEvent::BookDelta(BookDelta {
            venue: v,
            symbol: s,
            first_update_id: 11,
            last_update_id: 12,
            bids: vec![level("100", "0"), level("99.5", "4")],
            asks: vec![level("100.5", "1")],
            time: Timestamp(1),
        });
        assert!(!book.apply(v, s, &delta), "deltas before a snapshot are ignored");
        assert!(book.apply(v, s, &snapshot()));
        assert!(book.apply(v, s, &delta));
        assert_eq!(book.best_bid(), Some(level("99.5", "4")), "100 removed, 99.5 added");
        assert_eq!(book.best_ask(), Some(level("100.5", "1")));
        assert_eq!(book.levels(Side::Buy).count(), 2);
        assert_eq!(book.update_id(), 12);
        assert!(!book.apply(symbol_other(), s, &delta), "another venue's events are not this book's");
        assert!(book.apply(v, s, &MarketEvent::Connectivity(Connectivity { venue: v, up: false })));
        assert!(!book.is_synced() && book.best_bid().is_none());
    }

    fn symbol_other() -> VenueId {
        venue("other")
    }

    #[test]
    fn the_depth_weighted_price_leans_toward_the_thin_side() {
        let (v, s) = (venue("sim"), symbol("BTCUSDT"));
        let mut book = OrderBook::new();
        book.apply(v, s, &snapshot());
        // One level: bids 100 × 1, asks 101 × 2 → (100·2 + 101·1) / 3.
        assert_eq!(book.depth_weighted_price(1), Some(Price::new(d("301") / d("3"))));
        // Two levels: bids avg (100 + 297)/4 = 99.25 over 4, asks 101.5 over 4 → 100.375.
        assert_eq!(book.depth_weighted_price(2), Some(Price::new(d("100.375"))));
        assert_eq!(book.depth_weighted_price(0), None);
    }
}
