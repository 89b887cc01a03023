//! One recorded event in bytes. Every event starts with its kind, the time
//! it was received (µs since the epoch, as the gap from the event before it
//! in its block) and its stream (a venue and symbol pair, defined once per
//! file by a [`STREAM`] entry before its first use). Numbers are LEB128
//! varints (signed ones zigzagged); a decimal is its scale (one byte) and
//! its mantissa; text is its length and bytes. Decoding reuses the level
//! buffers of the event decoded before, so a steady replay allocates nothing.

use rust_decimal::Decimal;
use tradewind_strategies::sdk::{
    BookDelta, BookSnapshot, Connectivity, Kline, KlineInterval, Level, MarketEvent, Price, Qty, Quote, Side, Symbol,
    Timestamp, Trade, TradeId, VenueId,
};

/// Kinds of entry.
pub const TRADE: u8 = 1;
pub const QUOTE: u8 = 2;
pub const DELTA: u8 = 3;
pub const SNAPSHOT: u8 = 4;
pub const KLINE: u8 = 5;
pub const CONNECTIVITY: u8 = 6;
/// Defines a stream: its number, venue and symbol (empty for venue-wide events).
pub const STREAM: u8 = 0x10;

/// Why bytes do not read as an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the entry ends early")]
    Short,
    #[error("a number is longer than 10 bytes")]
    LongVarint,
    #[error("a decimal's scale {0} is over 28")]
    Scale(u8),
    #[error("a decimal's mantissa does not fit 96 bits")]
    Mantissa,
    #[error("unknown entry kind {0}")]
    Kind(u8),
    #[error("stream {0} is used before it is defined")]
    UndefinedStream(u32),
    #[error("bad text: {0}")]
    Text(String),
    #[error("candle interval {0} is unknown")]
    Interval(u8),
}

pub fn put_uvarint(out: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_ivarint(out: &mut Vec<u8>, v: i128) {
    put_uvarint(out, ((v << 1) ^ (v >> 127)) as u128);
}

pub fn put_decimal(out: &mut Vec<u8>, d: Decimal) {
    out.push(u8::try_from(d.scale()).unwrap_or(28));
    put_ivarint(out, d.mantissa());
}

pub fn put_text(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u128);
    out.extend_from_slice(s.as_bytes());
}

fn put_levels(out: &mut Vec<u8>, levels: &[Level]) {
    put_uvarint(out, levels.len() as u128);
    for l in levels {
        put_decimal(out, l.price.get());
        put_decimal(out, l.qty.get());
    }
}

/// Reads entries from a block's bytes.
pub struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }

    pub fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self.bytes.get(self.at).ok_or(DecodeError::Short)?;
        self.at += 1;
        Ok(b)
    }

    pub fn uvarint(&mut self) -> Result<u128, DecodeError> {
        let mut v: u128 = 0;
        for shift in (0..).step_by(7).take(19) {
            let b = self.byte()?;
            v |= u128::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::LongVarint)
    }

    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        u64::try_from(self.uvarint()?).map_err(|_| DecodeError::LongVarint)
    }

    pub fn ivarint(&mut self) -> Result<i128, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i128) ^ -((u & 1) as i128))
    }

    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        i64::try_from(self.ivarint()?).map_err(|_| DecodeError::LongVarint)
    }

    pub fn decimal(&mut self) -> Result<Decimal, DecodeError> {
        let scale = self.byte()?;
        if scale > 28 {
            return Err(DecodeError::Scale(scale));
        }
        let mantissa = self.ivarint()?;
        Decimal::try_from_i128_with_scale(mantissa, u32::from(scale)).map_err(|_| DecodeError::Mantissa)
    }

    pub fn text(&mut self) -> Result<&'a str, DecodeError> {
        let len = usize::try_from(self.uvarint()?).map_err(|_| DecodeError::Short)?;
        let end = self.at.checked_add(len).filter(|end| *end <= self.bytes.len()).ok_or(DecodeError::Short)?;
        let text = std::str::from_utf8(&self.bytes[self.at..end]).map_err(|e| DecodeError::Text(e.to_string()))?;
        self.at = end;
        Ok(text)
    }

    fn levels_into(&mut self, into: &mut Vec<Level>) -> Result<(), DecodeError> {
        let n = self.u64()?;
        into.clear();
        for _ in 0..n {
            into.push(Level { price: Price::new(self.decimal()?), qty: Qty::new(self.decimal()?) });
        }
        Ok(())
    }
}

/// A stream's venue and symbol (`None`: a venue-wide stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stream {
    pub venue: VenueId,
    pub symbol: Option<Symbol>,
}

/// The stream an event belongs to.
pub fn stream_of(event: &MarketEvent) -> Stream {
    let symbol = match event {
        MarketEvent::Trade(e) => Some(e.symbol),
        MarketEvent::Quote(e) => Some(e.symbol),
        MarketEvent::BookDelta(e) => Some(e.symbol),
        MarketEvent::BookSnapshot(e) => Some(e.symbol),
        MarketEvent::Kline(e) => Some(e.symbol),
        MarketEvent::Connectivity(_) => None,
    };
    Stream { venue: event.venue(), symbol }
}

pub fn put_stream(out: &mut Vec<u8>, number: u32, stream: Stream) {
    out.push(STREAM);
    put_uvarint(out, u128::from(number));
    put_text(out, stream.venue.as_str());
    put_text(out, stream.symbol.as_ref().map_or("", |s| s.as_str()));
}

/// Appends `event`, received `gap_us` after the entry before it, on stream `number`.
pub fn put_event(out: &mut Vec<u8>, gap_us: i64, number: u32, event: &MarketEvent) {
    let head = |out: &mut Vec<u8>, kind: u8| {
        out.push(kind);
        put_ivarint(out, i128::from(gap_us));
        put_uvarint(out, u128::from(number));
    };
    match event {
        MarketEvent::Trade(t) => {
            head(out, TRADE);
            put_text(out, t.trade_id.as_str());
            put_decimal(out, t.price.get());
            put_decimal(out, t.qty.get());
            out.push(u8::from(t.aggressor == Side::Sell));
            put_ivarint(out, i128::from(t.time.0));
        }
        MarketEvent::Quote(q) => {
            head(out, QUOTE);
            for d in [q.bid_price.get(), q.bid_qty.get(), q.ask_price.get(), q.ask_qty.get()] {
                put_decimal(out, d);
            }
            put_uvarint(out, u128::from(q.update_id));
        }
        MarketEvent::BookDelta(d) => {
            head(out, DELTA);
            put_uvarint(out, u128::from(d.first_update_id));
            put_uvarint(out, u128::from(d.last_update_id.saturating_sub(d.first_update_id)));
            put_ivarint(out, i128::from(d.time.0));
            put_levels(out, &d.bids);
            put_levels(out, &d.asks);
        }
        MarketEvent::BookSnapshot(s) => {
            head(out, SNAPSHOT);
            put_uvarint(out, u128::from(s.last_update_id));
            put_levels(out, &s.bids);
            put_levels(out, &s.asks);
        }
        MarketEvent::Kline(k) => {
            head(out, KLINE);
            let interval = KlineInterval::ALL.iter().position(|i| *i == k.interval).unwrap_or(0);
            out.push(u8::try_from(interval).unwrap_or(0));
            put_ivarint(out, i128::from(k.open_time.0));
            put_ivarint(out, i128::from(k.close_time.0 - k.open_time.0));
            for d in [k.open.get(), k.high.get(), k.low.get(), k.close.get(), k.volume.get()] {
                put_decimal(out, d);
            }
            out.push(u8::from(k.closed));
        }
        MarketEvent::Connectivity(c) => {
            head(out, CONNECTIVITY);
            out.push(u8::from(c.up));
        }
    }
}

/// An entry read: a stream defined, or an event (in the slot).
#[derive(Debug, PartialEq, Eq)]
pub enum Entry {
    Stream(u32, Stream),
    /// An event received `gap_us` after the entry before it; the event is in the slot.
    Event {
        gap_us: i64,
    },
}

/// The event last decoded, and the level buffers it lends.
#[derive(Debug)]
pub struct Slot {
    pub event: MarketEvent,
    spare: (Vec<Level>, Vec<Level>),
}

impl Default for Slot {
    fn default() -> Self {
        let venue = VenueId::new("none").expect("a valid venue name");
        Self { event: MarketEvent::Connectivity(Connectivity { venue, up: false }), spare: (Vec::new(), Vec::new()) }
    }
}

impl Slot {
    /// The level buffers of the event held (if it has any) or the spare ones, emptied.
    fn buffers(&mut self) -> (Vec<Level>, Vec<Level>) {
        let venue = self.event.venue();
        let old = std::mem::replace(&mut self.event, MarketEvent::Connectivity(Connectivity { venue, up: false }));
        match old {
            MarketEvent::BookDelta(d) => (d.bids, d.asks),
            MarketEvent::BookSnapshot(s) => (s.bids, s.asks),
            _ => std::mem::take(&mut self.spare),
        }
    }
}

/// Reads one entry into `slot`; `streams` are the streams defined so far.
pub fn read_entry(cursor: &mut Cursor<'_>, streams: &[Option<Stream>], slot: &mut Slot) -> Result<Entry, DecodeError> {
    let kind = cursor.byte()?;
    if kind == STREAM {
        let number = u32::try_from(cursor.uvarint()?).map_err(|_| DecodeError::LongVarint)?;
        let venue = VenueId::new(cursor.text()?).map_err(|e| DecodeError::Text(e.to_string()))?;
        let symbol = match cursor.text()? {
            "" => None,
            s => Some(Symbol::new(s).map_err(|e| DecodeError::Text(e.to_string()))?),
        };
        return Ok(Entry::Stream(number, Stream { venue, symbol }));
    }
    if !(TRADE..=CONNECTIVITY).contains(&kind) {
        return Err(DecodeError::Kind(kind));
    }
    let gap_us = cursor.i64()?;
    let number = u32::try_from(cursor.uvarint()?).map_err(|_| DecodeError::LongVarint)?;
    let stream = streams
        .get(usize::try_from(number).unwrap_or(usize::MAX))
        .copied()
        .flatten()
        .ok_or(DecodeError::UndefinedStream(number))?;
    let venue = stream.venue;
    let symbol = || stream.symbol.ok_or(DecodeError::UndefinedStream(number));
    let event = match kind {
        TRADE => {
            let trade_id = TradeId::new(cursor.text()?).map_err(|e| DecodeError::Text(e.to_string()))?;
            let (price, qty) = (Price::new(cursor.decimal()?), Qty::new(cursor.decimal()?));
            let aggressor = if cursor.byte()? == 1 { Side::Sell } else { Side::Buy };
            let time = Timestamp(cursor.i64()?);
            MarketEvent::Trade(Trade { venue, symbol: symbol()?, trade_id, price, qty, aggressor, time })
        }
        QUOTE => MarketEvent::Quote(Quote {
            venue,
            symbol: symbol()?,
            bid_price: Price::new(cursor.decimal()?),
            bid_qty: Qty::new(cursor.decimal()?),
            ask_price: Price::new(cursor.decimal()?),
            ask_qty: Qty::new(cursor.decimal()?),
            update_id: cursor.u64()?,
        }),
        DELTA => {
            let first_update_id = cursor.u64()?;
            let last_update_id = first_update_id.saturating_add(cursor.u64()?);
            let time = Timestamp(cursor.i64()?);
            let (mut bids, mut asks) = slot.buffers();
            cursor.levels_into(&mut bids)?;
            cursor.levels_into(&mut asks)?;
            MarketEvent::BookDelta(BookDelta {
                venue,
                symbol: symbol()?,
                first_update_id,
                last_update_id,
                bids,
                asks,
                time,
            })
        }
        SNAPSHOT => {
            let last_update_id = cursor.u64()?;
            let (mut bids, mut asks) = slot.buffers();
            cursor.levels_into(&mut bids)?;
            cursor.levels_into(&mut asks)?;
            MarketEvent::BookSnapshot(BookSnapshot { venue, symbol: symbol()?, last_update_id, bids, asks })
        }
        KLINE => {
            let index = cursor.byte()?;
            let interval = *KlineInterval::ALL.get(usize::from(index)).ok_or(DecodeError::Interval(index))?;
            let open_time = cursor.i64()?;
            let close_time = open_time.saturating_add(cursor.i64()?);
            let mut prices = [Decimal::ZERO; 5];
            for p in &mut prices {
                *p = cursor.decimal()?;
            }
            let [open, high, low, close, volume] = prices;
            MarketEvent::Kline(Box::new(Kline {
                venue,
                symbol: symbol()?,
                interval,
                open_time: Timestamp(open_time),
                close_time: Timestamp(close_time),
                open: Price::new(open),
                high: Price::new(high),
                low: Price::new(low),
                close: Price::new(close),
                volume: Qty::new(volume),
                closed: cursor.byte()? == 1,
            }))
        }
        _ => MarketEvent::Connectivity(Connectivity { venue, up: cursor.byte()? == 1 }),
    };
    // The buffers a book event did not take back go to the spare pair.
    if !matches!(event, MarketEvent::BookDelta(_) | MarketEvent::BookSnapshot(_)) {
        let (bids, asks) = slot.buffers();
        if bids.capacity() > 0 || asks.capacity() > 0 {
            slot.spare = (bids, asks);
        }
    }
    slot.event = event;
    Ok(Entry::Event { gap_us })
}
