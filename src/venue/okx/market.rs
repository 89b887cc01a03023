//! OKX v5's public WebSocket as [`Dialect`]s: channels subscribed by
//! message (`{"op":"subscribe","args":[{"channel","instId"}]}`), a text
//! `ping` every 20 s (OKX closes a connection silent for 30 s; it answers
//! `pong`). `books` sends a snapshot, then updates that name their
//! predecessor (`prevSeqId` equals the last `seqId`; the ids do not step by
//! one): an update is given to the local book as covering `prevSeqId + 1 ..=
//! seqId`, so a lost one is a gap; an update whose `seqId` is behind its
//! `prevSeqId` (after maintenance) is presented as not following, which
//! resyncs; one with `seqId == prevSeqId` (no change) is dropped. The
//! `checksum` is 0 since mid-2026 and never relied on; a non-zero one (the
//! legacy [`checksum`]) is checked: a snapshot's here, an update's by the
//! session once it is applied to the book. `bbo-tbt` gives the best bid and ask, `trades` the
//! trades; candles live on the business endpoint (`/ws/v5/business`), a
//! dialect of their own.

use std::time::Duration;

use rust_decimal::Decimal;
use serde::Deserialize;
use tradewind_strategies::sdk::{
    BookDelta, Kline, KlineInterval, Level, MarketEvent, Price, Qty, Quote, Symbol, Timestamp, VenueId,
};

use crate::venue::book::Depth;
use crate::venue::feed::FeedSpec;
use crate::venue::market::{BookSync, Dialect, StreamEvent};

/// Channels per subscribe request (OKX caps a request at 64 KB, far above this).
pub const ARGS_PER_REQUEST: usize = 20;

/// Which of OKX's public endpoints a dialect speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/ws/v5/public`: books, best bid and ask, trades.
    Public,
    /// `/ws/v5/business`: candles.
    Business,
}

/// OKX's name of a candle channel; the day and longer ones aligned to UTC
/// (OKX's plain `1D` starts at 00:00 Hong Kong time). `None` where OKX has none.
pub fn candle_channel(k: KlineInterval) -> Option<&'static str> {
    Some(match k {
        KlineInterval::S1 => "candle1s",
        KlineInterval::M1 => "candle1m",
        KlineInterval::M3 => "candle3m",
        KlineInterval::M5 => "candle5m",
        KlineInterval::M15 => "candle15m",
        KlineInterval::M30 => "candle30m",
        KlineInterval::H1 => "candle1H",
        KlineInterval::H2 => "candle2H",
        KlineInterval::H4 => "candle4H",
        KlineInterval::H6 => "candle6Hutc",
        KlineInterval::H12 => "candle12Hutc",
        KlineInterval::D1 => "candle1Dutc",
        KlineInterval::D3 => "candle3Dutc",
        KlineInterval::W1 => "candle1Wutc",
        // A month has no fixed length to close it by; 8 hours OKX does not offer.
        KlineInterval::Month1 | KlineInterval::H8 => return None,
    })
}

fn interval_of(channel: &str) -> Option<KlineInterval> {
    KlineInterval::ALL.into_iter().find(|k| candle_channel(*k) == Some(channel))
}

/// The length of a candle (ms).
fn length_ms(k: KlineInterval) -> i64 {
    const MIN: i64 = 60_000;
    match k {
        KlineInterval::S1 => 1_000,
        KlineInterval::M1 => MIN,
        KlineInterval::M3 => 3 * MIN,
        KlineInterval::M5 => 5 * MIN,
        KlineInterval::M15 => 15 * MIN,
        KlineInterval::M30 => 30 * MIN,
        KlineInterval::H1 => 60 * MIN,
        KlineInterval::H2 => 120 * MIN,
        KlineInterval::H4 => 240 * MIN,
        KlineInterval::H6 => 360 * MIN,
        KlineInterval::H8 => 480 * MIN,
        KlineInterval::H12 => 720 * MIN,
        KlineInterval::D1 => 1_440 * MIN,
        KlineInterval::D3 => 3 * 1_440 * MIN,
        KlineInterval::W1 => 7 * 1_440 * MIN,
        KlineInterval::Month1 => 30 * 1_440 * MIN,
    }
}

/// The public spot stream of one endpoint (`wss://ws.okx.com:8443`; demo `wspap.okx.com:8443`).
pub struct Okx {
    pub endpoint: Endpoint,
}

impl Okx {
    fn messages(op: &str, channels: &[(String, Symbol)]) -> Vec<String> {
        channels
            .chunks(ARGS_PER_REQUEST)
            .map(|chunk| {
                let args: Vec<_> =
                    chunk.iter().map(|(c, s)| serde_json::json!({"channel": c, "instId": s.as_str()})).collect();
                serde_json::json!({"op": op, "args": args}).to_string()
            })
            .collect()
    }

    fn channels(&self, spec: &FeedSpec) -> Vec<(String, Symbol)> {
        let mut out = Vec::new();
        match self.endpoint {
            Endpoint::Public => {
                for (wanted, channel) in [(spec.trades, "trades"), (spec.quotes, "bbo-tbt"), (spec.book, "books")] {
                    if wanted {
                        out.push((channel.to_owned(), spec.symbol));
                    }
                }
            }
            Endpoint::Business => {
                out.extend(spec.klines.iter().filter_map(|k| candle_channel(*k)).map(|c| (c.to_owned(), spec.symbol)));
            }
        }
        out
    }
}

impl Dialect for Okx {
    /// Not a documented limit: what one connection is given, well inside
    /// the 480 subscriptions an hour a connection may make.
    const MAX_STREAMS: usize = 100;
    const BOOK_SYNC: BookSync = BookSync::InStream;

    fn streams(&self, spec: &FeedSpec) -> Vec<String> {
        self.channels(spec).into_iter().map(|(c, s)| format!("{c}:{s}")).collect()
    }

    fn url(&self, base: &str, _: &[FeedSpec]) -> String {
        let path = match self.endpoint {
            Endpoint::Public => "public",
            Endpoint::Business => "business",
        };
        format!("{}/ws/v5/{path}", base.trim_end_matches('/'))
    }

    fn subscribe(&self, specs: &[FeedSpec]) -> Vec<String> {
        let channels: Vec<_> = specs.iter().flat_map(|s| self.channels(s)).collect();
        Self::messages("subscribe", &channels)
    }

    fn connects_per_sec(&self) -> Option<usize> {
        Some(super::limits::CONNECTS_PER_SEC)
    }

    /// 480 (un)subscribe requests an hour per connection; counted per
    /// connection here, whatever its age (a conservative reading).
    fn subscribe_limit(&self) -> Option<usize> {
        Some(480)
    }

    /// Books, quotes and trades on the public endpoint; candles on the business one.
    fn narrow(&self, spec: FeedSpec) -> FeedSpec {
        match self.endpoint {
            Endpoint::Public => FeedSpec { klines: Vec::new(), ..spec },
            Endpoint::Business => FeedSpec { klines: spec.klines, ..FeedSpec::none(spec.symbol) },
        }
    }

    fn resubscribe_book(&self, spec: &FeedSpec) -> Vec<String> {
        let book = [("books".to_owned(), spec.symbol)];
        let mut out = Self::messages("unsubscribe", &book);
        out.extend(Self::messages("subscribe", &book));
        out
    }

    fn ping(&self) -> Option<(Duration, &'static str)> {
        Some((Duration::from_secs(20), "ping"))
    }

    /// OKX's legacy checksum, checked when an update carries one (non-zero).
    fn book_checksum(&self, bids: &[[Decimal; 2]], asks: &[[Decimal; 2]]) -> Option<i32> {
        Some(checksum(bids, asks))
    }

    fn parse(&self, venue: VenueId, text: &str) -> Result<StreamEvent, String> {
        parse(venue, text).map_err(|e| e.to_string())
    }
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(borrow, default)]
    arg: Option<Arg<'a>>,
    #[serde(borrow, default)]
    action: Option<&'a str>,
    #[serde(borrow, default)]
    data: Option<&'a serde_json::value::RawValue>,
    /// `subscribe`, `unsubscribe`, `error`, `notice`, `channel-conn-count`.
    #[serde(borrow, default)]
    event: Option<&'a str>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    msg: Option<String>,
}

#[derive(Deserialize)]
struct Arg<'a> {
    channel: &'a str,
    #[serde(rename = "instId", default)]
    inst_id: Option<&'a str>,
}

#[derive(Deserialize)]
struct RawBook<'a> {
    #[serde(borrow)]
    asks: Vec<Vec<&'a str>>,
    #[serde(borrow)]
    bids: Vec<Vec<&'a str>>,
    ts: &'a str,
    #[serde(default)]
    checksum: i64,
    #[serde(rename = "prevSeqId", default)]
    prev_seq_id: i64,
    #[serde(rename = "seqId")]
    seq_id: i64,
}

#[derive(Deserialize)]
struct Traded<'a> {
    #[serde(rename = "instId")]
    inst_id: &'a str,
    #[serde(rename = "tradeId")]
    trade_id: &'a str,
    px: &'a str,
    sz: &'a str,
    side: &'a str,
    ts: &'a str,
}

pub use crate::venue::wire::FrameError as ParseError;
use crate::venue::wire::{RawTrade, bad, dec, symbol, trade};

fn millis(s: &str, field: &str) -> Result<i64, ParseError> {
    s.parse().map_err(|_| bad(format!("{field}: not a time in ms: {s:?}")))
}

fn seq(id: i64) -> Result<u64, ParseError> {
    u64::try_from(id).map_err(|_| bad(format!("seqId {id}")))
}

/// The (price, size) of each `[px, sz, "0", orders]` level.
fn pairs(raw: &[Vec<&str>]) -> Result<Vec<[Decimal; 2]>, ParseError> {
    raw.iter()
        .map(|level| match level.as_slice() {
            [px, sz, ..] => Ok([dec(px, "price")?, dec(sz, "size")?]),
            _ => Err(bad(format!("book level {level:?}"))),
        })
        .collect()
}

fn levels(pairs: Vec<[Decimal; 2]>) -> Vec<Level> {
    pairs.into_iter().map(|[p, q]| Level { price: Price::new(p), qty: Qty::new(q) }).collect()
}

/// OKX's legacy book checksum: the best 25 bids and asks interleaved as
/// `bidPx:bidSz:askPx:askSz:…` (a side that runs out is skipped), in the
/// venue's own spelling of each number, CRC-32 as a signed 32-bit integer.
/// Decimals keep the scale they were read with, so the venue's strings come back.
pub fn checksum(bids: &[[Decimal; 2]], asks: &[[Decimal; 2]]) -> i32 {
    let mut text = String::new();
    for i in 0..25 {
        for side in [bids, asks] {
            if let Some([p, q]) = side.get(i) {
                if !text.is_empty() {
                    text.push(':');
                }
                text.push_str(&p.to_string());
                text.push(':');
                text.push_str(&q.to_string());
            }
        }
    }
    i32::from_ne_bytes(crc32(text.as_bytes()).to_ne_bytes())
}

/// CRC-32 (IEEE 802.3, reflected, as zlib computes it).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Reads one frame of a public stream.
pub fn parse(venue: VenueId, text: &str) -> Result<StreamEvent, ParseError> {
    if text == "pong" {
        return Ok(StreamEvent::ControlReply);
    }
    let frame: Frame<'_> = serde_json::from_str(text)?;
    if let Some(event) = frame.event {
        return match event {
            "error" => Err(ParseError::Refused(format!(
                "a request: {} {}",
                frame.code.unwrap_or_default(),
                frame.msg.unwrap_or_default()
            ))),
            "subscribe" | "unsubscribe" | "channel-conn-count" => Ok(StreamEvent::ControlReply),
            // `notice`: the connection is about to be closed for an upgrade (64008).
            "notice" => Ok(StreamEvent::ServerShutdown),
            _ => Ok(StreamEvent::Ignored),
        };
    }
    let (Some(arg), Some(data)) = (frame.arg, frame.data) else { return Ok(StreamEvent::Ignored) };
    let inst = arg.inst_id.ok_or_else(|| bad(format!("{}: no instId", arg.channel)))?;
    let data = data.get();
    match arg.channel {
        "books" => {
            let [book]: [RawBook<'_>; 1] = serde_json::from_str(data)?;
            book_event(venue, symbol(inst)?, frame.action, &book)
        }
        "bbo-tbt" => {
            let [book]: [RawBook<'_>; 1] = serde_json::from_str(data)?;
            let (bids, asks) = (pairs(&book.bids)?, pairs(&book.asks)?);
            let (Some([bid, bid_qty]), Some([ask, ask_qty])) = (bids.first(), asks.first()) else {
                return Ok(StreamEvent::Ignored);
            };
            Ok(StreamEvent::Market(MarketEvent::Quote(Quote {
                venue,
                symbol: symbol(inst)?,
                bid_price: Price::new(*bid),
                bid_qty: Qty::new(*bid_qty),
                ask_price: Price::new(*ask),
                ask_qty: Qty::new(*ask_qty),
                update_id: seq(book.seq_id)?,
            })))
        }
        "trades" => {
            let trades: Vec<Traded<'_>> = serde_json::from_str(data)?;
            let events = trades
                .iter()
                .map(|t| {
                    let time_ms = millis(t.ts, "ts")?;
                    let raw = RawTrade {
                        symbol: t.inst_id,
                        id: t.trade_id,
                        price: t.px,
                        qty: t.sz,
                        taker_side: t.side,
                        time_ms,
                    };
                    trade(venue, &raw)
                })
                .collect::<Result<Vec<_>, ParseError>>()?;
            Ok(StreamEvent::Many(events))
        }
        channel if channel.starts_with("candle") => {
            let interval = interval_of(channel).ok_or_else(|| bad(format!("candle channel {channel:?}")))?;
            let symbol = symbol(inst)?;
            let rows: Vec<Vec<&str>> = serde_json::from_str(data)?;
            let events = rows
                .iter()
                .map(|row| {
                    let [ts, o, h, l, c, vol, .., confirm] = row.as_slice() else {
                        return Err(bad(format!("candle row {row:?}")));
                    };
                    let open_time = millis(ts, "ts")?;
                    Ok(MarketEvent::Kline(Box::new(Kline {
                        venue,
                        symbol,
                        interval,
                        open_time: Timestamp(open_time),
                        close_time: Timestamp(open_time + length_ms(interval) - 1),
                        open: Price::new(dec(o, "o")?),
                        high: Price::new(dec(h, "h")?),
                        low: Price::new(dec(l, "l")?),
                        close: Price::new(dec(c, "c")?),
                        volume: Qty::new(dec(vol, "vol")?),
                        closed: *confirm == "1",
                    })))
                })
                .collect::<Result<Vec<_>, ParseError>>()?;
            Ok(StreamEvent::Many(events))
        }
        _ => Ok(StreamEvent::Ignored),
    }
}

/// A `books` message: a snapshot replaces the book; an update covers
/// `prevSeqId + 1 ..= seqId`.
fn book_event(
    venue: VenueId,
    symbol: Symbol,
    action: Option<&str>,
    book: &RawBook<'_>,
) -> Result<StreamEvent, ParseError> {
    let (bids, asks) = (pairs(&book.bids)?, pairs(&book.asks)?);
    if book.checksum != 0 && action == Some("snapshot") && i64::from(checksum(&bids, &asks)) != book.checksum {
        return Err(bad(format!("{symbol}: the snapshot's checksum {} does not match its levels", book.checksum)));
    }
    match action {
        Some("snapshot") => Ok(StreamEvent::Snapshot(symbol, Depth { update_id: seq(book.seq_id)?, bids, asks })),
        Some("update") => {
            let (prev, this) = (seq(book.prev_seq_id)?, seq(book.seq_id)?);
            let (first, last) = match this.cmp(&prev) {
                // Nothing changed: the message only says the book is alive.
                std::cmp::Ordering::Equal => return Ok(StreamEvent::Ignored),
                std::cmp::Ordering::Greater => (prev + 1, this),
                // Behind its predecessor (after maintenance): cannot follow anything held.
                std::cmp::Ordering::Less => (prev + 2, prev + 2),
            };
            let delta = MarketEvent::BookDelta(BookDelta {
                venue,
                symbol,
                first_update_id: first,
                last_update_id: last,
                bids: levels(bids),
                asks: levels(asks),
                time: Timestamp(millis(book.ts, "ts")?),
            });
            // 0: none sent (OKX's way since mid-2026); any other value is checked against the book.
            Ok(match i32::try_from(book.checksum) {
                Ok(0) => StreamEvent::Market(delta),
                Ok(checksum) => StreamEvent::Checked(delta, checksum),
                Err(_) => return Err(bad(format!("{symbol}: checksum {} is not a 32-bit integer", book.checksum))),
            })
        }
        other => Err(bad(format!("{symbol}: books action {other:?}"))),
    }
}

#[cfg(test)]
mod tests;
