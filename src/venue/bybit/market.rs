//! Bybit v5's public spot WebSocket as a [`Dialect`]: topics subscribed by
//! message (at most 10 a request), `{"op":"ping"}` every 20 s, books sent in
//! the stream (`orderbook.50`: a snapshot, then deltas whose `u` steps by
//! one; a new snapshot, or `u = 1` after a restart, replaces the book; a gap
//! resubscribes the topic), the best bid and ask from `orderbook.1`, trades
//! in batches (`publicTrade`), candles (`kline`).

use std::time::Duration;

use rust_decimal::Decimal;
use serde::Deserialize;
use tradewind_strategies::sdk::{
    BookDelta, Kline, KlineInterval, Level, MarketEvent, Price, Qty, Quote, Timestamp, VenueId,
};

use crate::venue::book::Depth;
use crate::venue::feed::FeedSpec;
use crate::venue::market::{BookSync, Dialect, StreamEvent};

/// Topics per subscribe request (spot).
pub const ARGS_PER_REQUEST: usize = 10;

/// Bybit's name of a candle interval; `None` for those it does not offer (1s, 8h, 3d).
pub fn interval(k: KlineInterval) -> Option<&'static str> {
    Some(match k {
        KlineInterval::M1 => "1",
        KlineInterval::M3 => "3",
        KlineInterval::M5 => "5",
        KlineInterval::M15 => "15",
        KlineInterval::M30 => "30",
        KlineInterval::H1 => "60",
        KlineInterval::H2 => "120",
        KlineInterval::H4 => "240",
        KlineInterval::H6 => "360",
        KlineInterval::H12 => "720",
        KlineInterval::D1 => "D",
        KlineInterval::W1 => "W",
        KlineInterval::Month1 => "M",
        KlineInterval::S1 | KlineInterval::H8 | KlineInterval::D3 => return None,
    })
}

fn interval_of(name: &str) -> Option<KlineInterval> {
    KlineInterval::ALL.into_iter().find(|k| interval(*k) == Some(name))
}

/// The book depth subscribed for `book` specs.
const BOOK_TOPIC: &str = "orderbook.50";

/// The public spot stream (`wss://stream.bybit.com/v5/public/spot`; testnet `stream-testnet`).
pub struct Bybit;

impl Bybit {
    fn subscribe_messages(op: &str, topics: Vec<String>) -> Vec<String> {
        topics.chunks(ARGS_PER_REQUEST).map(|args| serde_json::json!({"op": op, "args": args}).to_string()).collect()
    }
}

impl Dialect for Bybit {
    /// Not a documented limit: what one connection is given, so that a busy
    /// book's deltas do not hold up the rest.
    const MAX_STREAMS: usize = 100;
    const BOOK_SYNC: BookSync = BookSync::InStream;

    fn streams(&self, spec: &FeedSpec) -> Vec<String> {
        let s = spec.symbol.as_str();
        let mut out = Vec::new();
        if spec.trades {
            out.push(format!("publicTrade.{s}"));
        }
        if spec.quotes {
            out.push(format!("orderbook.1.{s}"));
        }
        if spec.book {
            out.push(format!("{BOOK_TOPIC}.{s}"));
        }
        out.extend(spec.klines.iter().filter_map(|k| interval(*k)).map(|i| format!("kline.{i}.{s}")));
        out
    }

    fn url(&self, base: &str, _: &[FeedSpec]) -> String {
        format!("{}/v5/public/spot", base.trim_end_matches('/'))
    }

    fn subscribe(&self, specs: &[FeedSpec]) -> Vec<String> {
        Self::subscribe_messages("subscribe", specs.iter().flat_map(|s| self.streams(s)).collect())
    }

    fn resubscribe_book(&self, spec: &FeedSpec) -> Vec<String> {
        let topic = vec![format!("{BOOK_TOPIC}.{}", spec.symbol)];
        let mut out = Self::subscribe_messages("unsubscribe", topic.clone());
        out.extend(Self::subscribe_messages("subscribe", topic));
        out
    }

    fn ping(&self) -> Option<(Duration, &'static str)> {
        Some((Duration::from_secs(20), r#"{"op":"ping"}"#))
    }

    fn parse(&self, venue: VenueId, text: &str) -> Result<StreamEvent, String> {
        parse(venue, text).map_err(|e| e.to_string())
    }
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(borrow, default)]
    topic: Option<&'a str>,
    #[serde(rename = "type", default)]
    kind: Option<&'a str>,
    #[serde(default)]
    ts: i64,
    #[serde(borrow, default)]
    data: Option<&'a serde_json::value::RawValue>,
    /// A reply to `subscribe`, `unsubscribe` or `ping`.
    #[serde(default)]
    success: Option<bool>,
    #[serde(borrow, default)]
    op: Option<&'a str>,
    #[serde(default)]
    ret_msg: Option<String>,
}

#[derive(Deserialize)]
struct Traded<'a> {
    #[serde(rename = "T")]
    time: i64,
    s: &'a str,
    #[serde(rename = "S")]
    side: &'a str,
    v: &'a str,
    p: &'a str,
    i: &'a str,
}

#[derive(Deserialize)]
struct RawBook<'a> {
    s: &'a str,
    #[serde(borrow)]
    b: Vec<[&'a str; 2]>,
    #[serde(borrow)]
    a: Vec<[&'a str; 2]>,
    u: u64,
}

#[derive(Deserialize)]
struct RawKline<'a> {
    start: i64,
    end: i64,
    interval: &'a str,
    open: &'a str,
    close: &'a str,
    high: &'a str,
    low: &'a str,
    volume: &'a str,
    confirm: bool,
}

pub use crate::venue::wire::FrameError as ParseError;
use crate::venue::wire::{RawTrade, bad, dec, symbol, trade};

fn levels(raw: &[[&str; 2]]) -> Result<Vec<Level>, ParseError> {
    raw.iter().map(|[p, q]| Ok(Level { price: Price::new(dec(p, "price")?), qty: Qty::new(dec(q, "size")?) })).collect()
}

fn pairs(raw: &[[&str; 2]]) -> Result<Vec<[Decimal; 2]>, ParseError> {
    raw.iter().map(|[p, q]| Ok([dec(p, "price")?, dec(q, "size")?])).collect()
}

/// Reads one frame of the public stream.
pub fn parse(venue: VenueId, text: &str) -> Result<StreamEvent, ParseError> {
    let frame: Frame<'_> = serde_json::from_str(text)?;
    let Some(topic) = frame.topic else {
        return match frame.success {
            Some(false) => Err(ParseError::Refused(format!(
                "{}: {}",
                frame.op.unwrap_or("a request"),
                frame.ret_msg.unwrap_or_default()
            ))),
            // Replies to subscribe and ping (`"op":"pong"` on some servers).
            _ if frame.success.is_some() || frame.op.is_some() => Ok(StreamEvent::ControlReply),
            _ => Ok(StreamEvent::Ignored),
        };
    };
    let data = frame.data.ok_or_else(|| bad(format!("{topic}: no data")))?.get();
    if topic.starts_with("publicTrade.") {
        let trades: Vec<Traded<'_>> = serde_json::from_str(data)?;
        let events = trades
            .iter()
            .map(|t| {
                let raw = RawTrade { symbol: t.s, id: t.i, price: t.p, qty: t.v, taker_side: t.side, time_ms: t.time };
                trade(venue, &raw)
            })
            .collect::<Result<Vec<_>, ParseError>>()?;
        return Ok(StreamEvent::Many(events));
    }
    if topic.starts_with("orderbook.1.") {
        let book: RawBook<'_> = serde_json::from_str(data)?;
        let (Some([bid, bid_qty]), Some([ask, ask_qty])) = (book.b.first(), book.a.first()) else {
            // One side empty: no quote to give.
            return Ok(StreamEvent::Ignored);
        };
        return Ok(StreamEvent::Market(MarketEvent::Quote(Quote {
            venue,
            symbol: symbol(book.s)?,
            bid_price: Price::new(dec(bid, "price")?),
            bid_qty: Qty::new(dec(bid_qty, "size")?),
            ask_price: Price::new(dec(ask, "price")?),
            ask_qty: Qty::new(dec(ask_qty, "size")?),
            update_id: book.u,
        })));
    }
    if topic.starts_with("orderbook.") {
        let book: RawBook<'_> = serde_json::from_str(data)?;
        let symbol = symbol(book.s)?;
        return match frame.kind {
            // `u = 1`: the service restarted; the message replaces the book like a snapshot.
            Some("snapshot") => Ok(StreamEvent::Snapshot(
                symbol,
                Depth { update_id: book.u, bids: pairs(&book.b)?, asks: pairs(&book.a)? },
            )),
            Some("delta") if book.u == 1 => {
                Ok(StreamEvent::Snapshot(symbol, Depth { update_id: 1, bids: pairs(&book.b)?, asks: pairs(&book.a)? }))
            }
            Some("delta") => Ok(StreamEvent::Market(MarketEvent::BookDelta(BookDelta {
                venue,
                symbol,
                first_update_id: book.u,
                last_update_id: book.u,
                bids: levels(&book.b)?,
                asks: levels(&book.a)?,
                time: Timestamp(frame.ts),
            }))),
            other => Err(bad(format!("{topic}: message type {other:?}"))),
        };
    }
    if let Some(rest) = topic.strip_prefix("kline.") {
        let symbol = symbol(rest.split_once('.').map_or("", |(_, s)| s))?;
        let candles: Vec<RawKline<'_>> = serde_json::from_str(data)?;
        let events = candles
            .iter()
            .map(|k| {
                Ok(MarketEvent::Kline(Box::new(Kline {
                    venue,
                    symbol,
                    interval: interval_of(k.interval).ok_or_else(|| bad(format!("kline interval {:?}", k.interval)))?,
                    open_time: Timestamp(k.start),
                    close_time: Timestamp(k.end),
                    open: Price::new(dec(k.open, "open")?),
                    high: Price::new(dec(k.high, "high")?),
                    low: Price::new(dec(k.low, "low")?),
                    close: Price::new(dec(k.close, "close")?),
                    volume: Qty::new(dec(k.volume, "volume")?),
                    closed: k.confirm,
                })))
            })
            .collect::<Result<Vec<_>, ParseError>>()?;
        return Ok(StreamEvent::Many(events));
    }
    Ok(StreamEvent::Ignored)
}

#[cfg(test)]
mod tests {
    //! The documented payloads (reference D6), pinned.
    use super::*;
    use tradewind_strategies::sdk::{Side, Symbol};

    fn venue() -> VenueId {
        VenueId::new("bybit").unwrap()
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn d6_public_trade() {
        let frame = r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false,"seq":1783284617}]}"#;
        let StreamEvent::Many(events) = parse(venue(), frame).unwrap() else { panic!("trades") };
        let [MarketEvent::Trade(t)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(t.trade_id.as_str(), "20f43950-d8dd-5b31-9112-a178eb6023af");
        assert_eq!(
            (t.price.get(), t.qty.get(), t.aggressor, t.time),
            (d("16578.50"), d("0.001"), Side::Buy, Timestamp(1672304486865))
        );
    }

    #[test]
    fn d6_book_snapshot_then_delta() {
        let snapshot = r#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"],["16493.00","0.100"]],"a":[["16611.00","0.029"],["16612.00","0.213"]],"u":18521288,"seq":7961638724},"cts":1672304484976}"#;
        let StreamEvent::Snapshot(symbol, depth) = parse(venue(), snapshot).unwrap() else { panic!("a snapshot") };
        assert_eq!(symbol.as_str(), "BTCUSDT");
        assert_eq!(depth.update_id, 18521288);
        assert_eq!(depth.bids, [[d("16493.50"), d("0.006")], [d("16493.00"), d("0.100")]]);
        assert_eq!(depth.asks[1], [d("16612.00"), d("0.213")]);

        let delta = r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1687940967466,"data":{"s":"BTCUSDT","b":[["30247.20","30.028"],["30245.40","0.224"],["30242.10","1.593"],["30240.30","1.305"],["30240.00","0"]],"a":[["30248.70","0"],["30249.30","0.892"],["30249.50","1.778"],["30249.60","0"],["30251.90","2.947"],["30252.20","0.659"],["30252.50","4.591"]],"u":177400507,"seq":66544703342},"cts":1687940967464}"#;
        let StreamEvent::Market(MarketEvent::BookDelta(delta)) = parse(venue(), delta).unwrap() else {
            panic!("a delta")
        };
        assert_eq!(
            (delta.first_update_id, delta.last_update_id, delta.time),
            (177400507, 177400507, Timestamp(1687940967466))
        );
        assert_eq!((delta.bids.len(), delta.asks.len()), (5, 7));
        assert!(delta.bids[4].qty.get().is_zero(), "size 0 deletes the level");
    }

    #[test]
    fn a_delta_numbered_one_is_a_restart_and_replaces_the_book() {
        let restart = r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["1","1"]],"a":[["2","1"]],"u":1,"seq":1}}"#;
        assert!(matches!(parse(venue(), restart).unwrap(), StreamEvent::Snapshot(_, Depth { update_id: 1, .. })));
    }

    #[test]
    fn the_best_bid_and_ask_come_from_orderbook_1() {
        let top = r#"{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],"u":5,"seq":9}}"#;
        let StreamEvent::Market(MarketEvent::Quote(q)) = parse(venue(), top).unwrap() else { panic!("a quote") };
        assert_eq!((q.bid_price.get(), q.ask_qty.get(), q.update_id), (d("16493.50"), d("0.029"), 5));
        let one_sided = r#"{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[["1","1"]],"u":6,"seq":9}}"#;
        assert_eq!(parse(venue(), one_sided).unwrap(), StreamEvent::Ignored);
    }

    #[test]
    fn candles_replies_and_refusals() {
        let kline = r#"{"topic":"kline.5.BTCUSDT","data":[{"start":1672324800000,"end":1672325099999,"interval":"5","open":"16649.5","close":"16677","high":"16677","low":"16608","volume":"2.081","turnover":"34666.4005","confirm":false,"timestamp":1672324988882}],"ts":1672324988882,"type":"snapshot"}"#;
        let StreamEvent::Many(events) = parse(venue(), kline).unwrap() else { panic!("candles") };
        let [MarketEvent::Kline(k)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!((k.interval, k.close.get(), k.closed), (KlineInterval::M5, d("16677"), false));
        let tickers = r#"{"topic":"tickers.BTCUSDT","ts":1673853746003,"type":"snapshot","cs":2588407389,"data":{"symbol":"BTCUSDT","lastPrice":"21109.77"}}"#;
        assert_eq!(parse(venue(), tickers).unwrap(), StreamEvent::Ignored);
        let pong = r#"{"success":true,"ret_msg":"pong","conn_id":"0970e817-426e-429a-a679-ff7f55e0b16a","op":"ping"}"#;
        assert_eq!(parse(venue(), pong).unwrap(), StreamEvent::ControlReply);
        let refused = r#"{"success":false,"ret_msg":"error:handler not found,topic:orderbook.7.BTCUSDT","conn_id":"x","req_id":"","op":"subscribe"}"#;
        assert!(parse(venue(), refused).unwrap_err().to_string().contains("refused subscribe"));
        assert!(parse(venue(), r#"{"topic":"publicTrade.BTCUSDT","data":[{"T":1}]}"#).is_err());
        assert!(parse(venue(), "not json").is_err());
    }

    #[test]
    fn topics_and_subscriptions() {
        let spec = FeedSpec {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            trades: true,
            quotes: true,
            book: true,
            klines: vec![KlineInterval::M1, KlineInterval::S1, KlineInterval::D1],
        };
        assert_eq!(
            Bybit.streams(&spec),
            [
                "publicTrade.BTCUSDT",
                "orderbook.1.BTCUSDT",
                "orderbook.50.BTCUSDT",
                "kline.1.BTCUSDT",
                "kline.D.BTCUSDT"
            ]
        );
        let many: Vec<FeedSpec> =
            (0..3).map(|i| FeedSpec { symbol: Symbol::new(&format!("S{i}USDT")).unwrap(), ..spec.clone() }).collect();
        let messages = Bybit.subscribe(&many);
        assert_eq!(messages.len(), 2, "15 topics, at most 10 a request");
        let first: serde_json::Value = serde_json::from_str(&messages[0]).unwrap();
        assert_eq!((first["op"].as_str(), first["args"].as_array().map(Vec::len)), (Some("subscribe"), Some(10)));
        let resub = Bybit.resubscribe_book(&spec);
        assert!(resub[0].contains("unsubscribe") && resub[1].contains(r#""subscribe""#), "{resub:?}");
        assert_eq!(Bybit.url("wss://stream.bybit.com/", &[]), "wss://stream.bybit.com/v5/public/spot");
    }

    proptest::proptest! {
        #[test]
        fn mangled_frames_never_panic(cut in 0usize..300, junk in "[a-z{}\\[\\]\":,0-9.]{0,8}") {
            let frame = r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["30247.20","30.028"]],"a":[["30248.70","0"]],"u":7,"seq":6}}"#;
            let cut = cut.min(frame.len());
            let _ = parse(venue(), &format!("{}{}{}", &frame[..cut], junk, &frame[cut..]));
        }
    }
}
