//! Normalised market data, the same for every venue.

use serde::{Deserialize, Serialize};

use super::types::{Price, Qty, Side, Symbol, Timestamp, TradeId, VenueId};

/// One market-data event delivered to strategies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MarketEvent {
    Trade(Trade),
    /// Best bid and ask.
    Quote(Quote),
    /// Changes to a synced book, after a [`MarketEvent::BookSnapshot`].
    BookDelta(BookDelta),
    /// The whole book after a (re)sync; deltas that follow apply to it.
    BookSnapshot(BookSnapshot),
    /// Boxed: candles are rare and the largest variant, and every other
    /// event is moved through channels at full size.
    Kline(Box<Kline>),
    Connectivity(Connectivity),
}

impl MarketEvent {
    /// The venue the event came from.
    pub fn venue(&self) -> VenueId {
        match self {
            MarketEvent::Trade(e) => e.venue,
            MarketEvent::Quote(e) => e.venue,
            MarketEvent::BookDelta(e) => e.venue,
            MarketEvent::BookSnapshot(e) => e.venue,
            MarketEvent::Kline(e) => e.venue,
            MarketEvent::Connectivity(e) => e.venue,
        }
    }

    /// The symbol, for all but connectivity events (which concern a whole venue).
    pub fn symbol(&self) -> Option<Symbol> {
        match self {
            MarketEvent::Trade(e) => Some(e.symbol),
            MarketEvent::Quote(e) => Some(e.symbol),
            MarketEvent::BookDelta(e) => Some(e.symbol),
            MarketEvent::BookSnapshot(e) => Some(e.symbol),
            MarketEvent::Kline(e) => Some(e.symbol),
            MarketEvent::Connectivity(_) => None,
        }
    }
}

/// A public trade.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    pub venue: VenueId,
    pub symbol: Symbol,
    pub trade_id: TradeId,
    pub price: Price,
    pub qty: Qty,
    /// The side that took liquidity (Binance `m = true` ⇒ the seller).
    pub aggressor: Side,
    /// Venue time of the trade.
    pub time: Timestamp,
}

/// Best bid and ask.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub venue: VenueId,
    pub symbol: Symbol,
    pub bid_price: Price,
    pub bid_qty: Qty,
    pub ask_price: Price,
    pub ask_qty: Qty,
    /// The venue's book update id, when it gives one.
    pub update_id: u64,
}

impl Quote {
    /// (bid + ask) / 2.
    pub fn mid(&self) -> Price {
        Price::new((self.bid_price.get() + self.ask_price.get()) / rust_decimal::Decimal::TWO)
    }
}

/// One price level; a zero quantity in a delta removes the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    pub price: Price,
    pub qty: Qty,
}

/// Changes to the book since the previous update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookDelta {
    pub venue: VenueId,
    pub symbol: Symbol,
    pub first_update_id: u64,
    pub last_update_id: u64,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    pub time: Timestamp,
}

/// A full book: bids best (highest) first, asks best (lowest) first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookSnapshot {
    pub venue: VenueId,
    pub symbol: Symbol,
    pub last_update_id: u64,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

/// Candle interval: every interval Binance offers (`1s` … `1M`, a calendar month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KlineInterval {
    #[serde(rename = "1s")]
    S1,
    #[serde(rename = "1m")]
    M1,
    #[serde(rename = "3m")]
    M3,
    #[serde(rename = "5m")]
    M5,
    #[serde(rename = "15m")]
    M15,
    #[serde(rename = "30m")]
    M30,
    #[serde(rename = "1h")]
    H1,
    #[serde(rename = "2h")]
    H2,
    #[serde(rename = "4h")]
    H4,
    #[serde(rename = "6h")]
    H6,
    #[serde(rename = "8h")]
    H8,
    #[serde(rename = "12h")]
    H12,
    #[serde(rename = "1d")]
    D1,
    #[serde(rename = "3d")]
    D3,
    #[serde(rename = "1w")]
    W1,
    /// A calendar month (`1M`: upper case, unlike `1m`).
    #[serde(rename = "1M")]
    Month1,
}

impl KlineInterval {
    /// Every interval, shortest first.
    pub const ALL: [KlineInterval; 16] = [
        KlineInterval::S1,
        KlineInterval::M1,
        KlineInterval::M3,
        KlineInterval::M5,
        KlineInterval::M15,
        KlineInterval::M30,
        KlineInterval::H1,
        KlineInterval::H2,
        KlineInterval::H4,
        KlineInterval::H6,
        KlineInterval::H8,
        KlineInterval::H12,
        KlineInterval::D1,
        KlineInterval::D3,
        KlineInterval::W1,
        KlineInterval::Month1,
    ];

    /// The venue's name for the interval (`1m`, `1h`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            KlineInterval::S1 => "1s",
            KlineInterval::M1 => "1m",
            KlineInterval::M3 => "3m",
            KlineInterval::M5 => "5m",
            KlineInterval::M15 => "15m",
            KlineInterval::M30 => "30m",
            KlineInterval::H1 => "1h",
            KlineInterval::H2 => "2h",
            KlineInterval::H4 => "4h",
            KlineInterval::H6 => "6h",
            KlineInterval::H8 => "8h",
            KlineInterval::H12 => "12h",
            KlineInterval::D1 => "1d",
            KlineInterval::D3 => "3d",
            KlineInterval::W1 => "1w",
            KlineInterval::Month1 => "1M",
        }
    }
}

/// A candle; `closed` is false while the interval is still running.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Kline {
    pub venue: VenueId,
    pub symbol: Symbol,
    pub interval: KlineInterval,
    pub open_time: Timestamp,
    pub close_time: Timestamp,
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
    pub volume: Qty,
    pub closed: bool,
}

/// The feed of a venue went up or down. While down, books and quotes are stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connectivity {
    pub venue: VenueId,
    pub up: bool,
}

#[cfg(test)]
mod size {
    use super::*;

    #[test]
    fn every_binance_interval_reads_back_as_written() {
        let names = ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"];
        for (interval, name) in KlineInterval::ALL.iter().zip(names) {
            assert_eq!(interval.as_str(), name);
            let read: KlineInterval = serde_json::from_value(serde_json::Value::String(name.into())).unwrap();
            assert_eq!(read, *interval, "{name}");
        }
        assert_ne!(KlineInterval::M1, serde_json::from_str::<KlineInterval>("\"1M\"").unwrap(), "1M is a month");
    }

    /// Every market event is moved through channels and returned from
    /// parsers by value: keep it within two cache lines.
    #[test]
    fn a_market_event_fits_in_two_cache_lines() {
        assert!(std::mem::size_of::<MarketEvent>() <= 128, "{}", std::mem::size_of::<MarketEvent>());
    }
}
