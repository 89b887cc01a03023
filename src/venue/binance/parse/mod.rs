//! Binance Spot market-stream frames → normalised [`MarketEvent`]s.
//!
//! Frames are parsed with borrowed strings (no allocation for fields), and
//! decimals go from the frame's text straight to `Decimal`, never through
//! `f64`. Unknown fields are ignored and optional ones may be missing; a
//! malformed frame is a [`ParseError`], never a panic.

mod digits;
mod fast;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use tradewind_strategies::sdk::{
    BookDelta, Kline, KlineInterval, Level, MarketEvent, Price, Qty, Quote, Side, Symbol, Timestamp, Trade, TradeId,
    VenueId,
};

/// Why a frame could not be turned into an event.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("bad decimal {0:?}")]
    Decimal(String),
    #[error("bad symbol {0:?}")]
    Symbol(String),
    #[error("unsupported kline interval {0:?}")]
    Interval(String),
}

pub use crate::venue::market::StreamEvent;

#[derive(Deserialize)]
struct RawTrade<'a> {
    s: &'a str,
    t: u64,
    p: &'a str,
    q: &'a str,
    #[serde(rename = "T")]
    trade_time: i64,
    m: bool,
}

#[derive(Deserialize)]
struct RawBookTicker<'a> {
    #[serde(default)]
    u: u64,
    s: &'a str,
    b: &'a str,
    #[serde(rename = "B")]
    bid_qty: &'a str,
    a: &'a str,
    #[serde(rename = "A")]
    ask_qty: &'a str,
}

#[derive(Deserialize)]
struct RawDepth<'a> {
    #[serde(rename = "E", default)]
    event_time: i64,
    s: &'a str,
    #[serde(rename = "U")]
    first: u64,
    u: u64,
    b: Levels,
    a: Levels,
}

/// `[["price","qty"], …]` read straight into levels (no intermediate vector);
/// a bad decimal is kept as the error and the rest of the array is skipped.
struct Levels(Result<Vec<Level>, ParseError>);

impl<'de> Deserialize<'de> for Levels {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Levels;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of [price, quantity] pairs")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Levels, A::Error> {
                let mut levels = Vec::with_capacity(seq.size_hint().unwrap_or(16));
                let mut error = None;
                while let Some([p, q]) = seq.next_element::<[&'de str; 2]>()? {
                    if error.is_none() {
                        match (decimal(p), decimal(q)) {
                            (Ok(p), Ok(q)) => levels.push(Level { price: Price::new(p), qty: Qty::new(q) }),
                            (Err(e), _) | (_, Err(e)) => error = Some(e),
                        }
                    }
                }
                Ok(Levels(error.map_or(Ok(levels), Err)))
            }
        }
        de.deserialize_seq(V)
    }
}

#[derive(Deserialize)]
struct RawKlineEvent<'a> {
    #[serde(borrow)]
    k: RawKline<'a>,
}

#[derive(Deserialize)]
struct RawKline<'a> {
    t: i64,
    #[serde(rename = "T")]
    close_time: i64,
    s: &'a str,
    i: &'a str,
    o: &'a str,
    c: &'a str,
    h: &'a str,
    l: &'a str,
    v: &'a str,
    x: bool,
}

/// Parses a frame of a combined stream (`{"stream":"btcusdt@trade","data":{…}}`)
/// or a control message on the same connection. Trade, bookTicker and depth
/// frames in Binance's usual shape go through [`fast`]; everything else (and
/// every malformed frame) through serde in one pass: the stream name (which
/// Binance sends first) picks the payload's shape before the payload is read.
pub fn parse_combined(venue: VenueId, frame: &str) -> Result<StreamEvent, ParseError> {
    match fast::combined(venue, frame) {
        Some(event) => Ok(StreamEvent::Market(event)),
        None => parse_combined_serde(venue, frame),
    }
}

/// The serde path of [`parse_combined`]: every frame shape, every error.
fn parse_combined_serde(venue: VenueId, frame: &str) -> Result<StreamEvent, ParseError> {
    let mut de = serde_json::Deserializer::from_str(frame);
    let frame = FrameSeed.deserialize(&mut de)?;
    de.end()?;
    // The payload is converted once, here, so the (large) event is built where it is returned.
    match frame {
        Frame::Payload(payload) => convert(venue, payload),
        Frame::Late(name, data) => parse_stream(venue, name, data.get()),
        Frame::ControlReply => Ok(StreamEvent::ControlReply),
        Frame::ServerShutdown => Ok(StreamEvent::ServerShutdown),
        Frame::Invalid => {
            Err(ParseError::Json(serde::de::Error::custom("a frame with neither stream and data nor id")))
        }
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum FrameKey {
    Stream,
    Data,
    Id,
    E,
    #[serde(other)]
    Other,
}

/// A stream's payload, read but not yet converted (borrowed, small).
enum Payload<'a> {
    Trade(RawTrade<'a>),
    BookTicker(RawBookTicker<'a>),
    Depth(RawDepth<'a>),
    /// Klines are rare and their raw form is the largest: boxed.
    Kline(Box<RawKline<'a>>),
    ServerShutdown,
    Ignored,
}

/// What a frame turned out to be.
enum Frame<'a> {
    Payload(Payload<'a>),
    /// `data` came before `stream`: parsed at the end.
    Late(&'a str, &'a RawValue),
    ControlReply,
    ServerShutdown,
    Invalid,
}

fn convert(venue: VenueId, payload: Payload<'_>) -> Result<StreamEvent, ParseError> {
    Ok(match payload {
        Payload::Trade(t) => StreamEvent::Market(trade(venue, t)?),
        Payload::BookTicker(b) => StreamEvent::Market(book_ticker(venue, b)?),
        Payload::Depth(d) => StreamEvent::Market(depth(venue, d)?),
        Payload::Kline(k) => StreamEvent::Market(kline(venue, *k)?),
        Payload::ServerShutdown => StreamEvent::ServerShutdown,
        Payload::Ignored => StreamEvent::Ignored,
    })
}

struct FrameSeed;

impl<'de> DeserializeSeed<'de> for FrameSeed {
    type Value = Frame<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FrameSeed {
    type Value = Frame<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a combined-stream frame or a control message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut stream: Option<&'de str> = None;
        let mut payload: Option<Payload<'de>> = None;
        let mut early_data: Option<&'de RawValue> = None;
        let (mut has_id, mut is_shutdown) = (false, false);
        while let Some(key) = map.next_key::<FrameKey>()? {
            match key {
                FrameKey::Stream => stream = Some(map.next_value()?),
                FrameKey::Data => match stream {
                    Some(name) => payload = Some(map.next_value_seed(DataSeed { stream: name })?),
                    // Data before the stream name: keep it raw, parse it at the end.
                    None => early_data = Some(map.next_value()?),
                },
                FrameKey::Id => {
                    has_id = true;
                    map.next_value::<IgnoredAny>()?;
                }
                FrameKey::E => is_shutdown = map.next_value::<&'de str>()? == "serverShutdown",
                FrameKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(match (payload, stream, early_data) {
            (Some(payload), _, _) => Frame::Payload(payload),
            (None, Some(name), Some(data)) => Frame::Late(name, data),
            _ if has_id => Frame::ControlReply,
            _ if is_shutdown => Frame::ServerShutdown,
            _ => Frame::Invalid,
        })
    }
}

/// Reads a stream's payload into its raw shape, picked by the stream name.
struct DataSeed<'a> {
    stream: &'a str,
}

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = Payload<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        Ok(match Channel::of(self.stream) {
            Channel::Trade => Payload::Trade(RawTrade::deserialize(de)?),
            Channel::BookTicker => Payload::BookTicker(RawBookTicker::deserialize(de)?),
            Channel::Depth => Payload::Depth(RawDepth::deserialize(de)?),
            Channel::Kline => Payload::Kline(Box::new(RawKlineEvent::deserialize(de)?.k)),
            Channel::ServerShutdown => {
                IgnoredAny::deserialize(de)?;
                Payload::ServerShutdown
            }
            Channel::Other => {
                IgnoredAny::deserialize(de)?;
                Payload::Ignored
            }
        })
    }
}

/// The payload shapes this parser knows, by stream name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Trade,
    BookTicker,
    Depth,
    Kline,
    ServerShutdown,
    Other,
}

impl Channel {
    /// Byte comparisons only: `str::split_once` and `starts_with` went through
    /// the generic pattern searcher, a tenth of the cost of parsing a trade.
    fn of(stream: &str) -> Self {
        let bytes = stream.as_bytes();
        let channel = match bytes.iter().position(|&b| b == b'@') {
            Some(at) => &bytes[at + 1..],
            None if bytes == b"!serverShutdown" => return Channel::ServerShutdown,
            None => bytes,
        };
        match channel {
            b"trade" => Channel::Trade,
            b"bookTicker" => Channel::BookTicker,
            [b'd', b'e', b'p', b't', b'h', rest @ ..] if !matches!(rest.first(), Some(b'5' | b'1' | b'2')) => {
                Channel::Depth
            }
            [b'k', b'l', b'i', b'n', b'e', b'_', ..] => Channel::Kline,
            _ => Channel::Other,
        }
    }
}

/// Parses the payload of stream `stream` (e.g. `btcusdt@depth@100ms`).
pub fn parse_stream(venue: VenueId, stream: &str, data: &str) -> Result<StreamEvent, ParseError> {
    let mut de = serde_json::Deserializer::from_str(data);
    let payload = DataSeed { stream }.deserialize(&mut de)?;
    de.end()?;
    convert(venue, payload)
}

#[inline]
fn trade(venue: VenueId, t: RawTrade<'_>) -> Result<MarketEvent, ParseError> {
    Ok(MarketEvent::Trade(Trade {
        venue,
        symbol: symbol(t.s)?,
        trade_id: TradeId::from(t.t),
        price: Price::new(decimal(t.p)?),
        qty: Qty::new(decimal(t.q)?),
        // Buyer is maker ⇒ the seller took liquidity.
        aggressor: if t.m { Side::Sell } else { Side::Buy },
        time: Timestamp(t.trade_time),
    }))
}

#[inline]
fn book_ticker(venue: VenueId, b: RawBookTicker<'_>) -> Result<MarketEvent, ParseError> {
    Ok(MarketEvent::Quote(Quote {
        venue,
        symbol: symbol(b.s)?,
        bid_price: Price::new(decimal(b.b)?),
        bid_qty: Qty::new(decimal(b.bid_qty)?),
        ask_price: Price::new(decimal(b.a)?),
        ask_qty: Qty::new(decimal(b.ask_qty)?),
        update_id: b.u,
    }))
}

#[inline]
fn depth(venue: VenueId, d: RawDepth<'_>) -> Result<MarketEvent, ParseError> {
    Ok(MarketEvent::BookDelta(BookDelta {
        venue,
        symbol: symbol(d.s)?,
        first_update_id: d.first,
        last_update_id: d.u,
        bids: d.b.0?,
        asks: d.a.0?,
        time: Timestamp(d.event_time),
    }))
}

#[inline]
fn kline(venue: VenueId, k: RawKline<'_>) -> Result<MarketEvent, ParseError> {
    let interval: KlineInterval = serde_json::from_value(serde_json::Value::String(k.i.to_owned()))
        .map_err(|_| ParseError::Interval(k.i.to_owned()))?;
    Ok(MarketEvent::Kline(Box::new(Kline {
        venue,
        symbol: symbol(k.s)?,
        interval,
        open_time: Timestamp(k.t),
        close_time: Timestamp(k.close_time),
        open: Price::new(decimal(k.o)?),
        high: Price::new(decimal(k.h)?),
        low: Price::new(decimal(k.l)?),
        close: Price::new(decimal(k.c)?),
        volume: Qty::new(decimal(k.v)?),
        closed: k.x,
    })))
}

fn symbol(s: &str) -> Result<Symbol, ParseError> {
    Symbol::new(s).map_err(|_| ParseError::Symbol(s.to_owned()))
}

/// Parses a decimal string exactly. Fast path for Binance's plain form
/// (optional `-`, digits, at most one `.`, ≤ 18 digits), eight digits per
/// step; anything else goes through `Decimal::from_str_exact`.
#[inline]
pub fn decimal(s: &str) -> Result<Decimal, ParseError> {
    let bytes = s.as_bytes();
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    let (int, int_len) = digits::leading(digits);
    let (mut mantissa, mut count, mut scale, mut end) = (int, int_len, 0, int_len);
    if digits.get(int_len) == Some(&b'.') {
        let (fraction, len) = digits::leading(&digits[int_len + 1..]);
        (count, scale, end) = (int_len + len, len, int_len + 1 + len);
        if count <= 18 {
            mantissa = int * POWERS_OF_TEN[len] + fraction;
        }
    }
    // At most 18 digits: the mantissa fits an i64.
    if end == digits.len()
        && (1..=18).contains(&count)
        && let Ok(mantissa) = i64::try_from(mantissa)
    {
        return Ok(Decimal::new(if negative { -mantissa } else { mantissa }, scale as u32));
    }
    Decimal::from_str_exact(s).map_err(|_| ParseError::Decimal(s.to_owned()))
}

/// 10^0 ..= 10^16: the fraction digits one call of [`digits::leading`] reads.
const POWERS_OF_TEN: [u64; 17] = {
    let mut powers = [1u64; 17];
    let mut i = 1;
    while i < 17 {
        powers[i] = powers[i - 1] * 10;
        i += 1;
    }
    powers
};

#[cfg(test)]
mod tests {
    //! The verbatim payloads of the protocol reference (section D5).
    use super::*;

    #[test]
    fn streams_are_classified_by_the_channel_after_the_first_at() {
        let cases = [
            ("btcusdt@trade", Channel::Trade),
            ("btcusdt@bookTicker", Channel::BookTicker),
            ("btcusdt@depth@100ms", Channel::Depth),
            ("btcusdt@depth", Channel::Depth),
            ("btcusdt@depth5", Channel::Other),
            ("btcusdt@depth10@100ms", Channel::Other),
            ("btcusdt@depth20@100ms", Channel::Other),
            ("btcusdt@kline_1m", Channel::Kline),
            ("btcusdt@aggTrade", Channel::Other),
            ("btcusdt@", Channel::Other),
            ("!serverShutdown", Channel::ServerShutdown),
            ("trade", Channel::Trade),
            ("", Channel::Other),
        ];
        for (stream, channel) in cases {
            assert_eq!(Channel::of(stream), channel, "{stream}");
        }
    }
    use proptest::prelude::*;
    use std::str::FromStr;

    fn venue() -> VenueId {
        VenueId::new("binance").unwrap()
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn market(stream: &str, data: &str) -> MarketEvent {
        let frame = format!("{{\"stream\":\"{stream}\",\"data\":{data}}}");
        match parse_combined(venue(), &frame).unwrap() {
            StreamEvent::Market(e) => e,
            other => panic!("expected a market event, got {other:?}"),
        }
    }

    #[test]
    fn d5_trade() {
        let e = market(
            "bnbbtc@trade",
            r#"{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}"#,
        );
        let MarketEvent::Trade(t) = e else { panic!("{e:?}") };
        assert_eq!(
            (t.symbol.as_str(), t.trade_id, t.price.get(), t.qty.get()),
            ("BNBBTC", TradeId::from(12345), d("0.001"), d("100"))
        );
        assert_eq!((t.aggressor, t.time), (Side::Sell, Timestamp(1672515782136)));
    }

    #[test]
    fn d5_book_ticker_has_no_event_type() {
        let e = market(
            "bnbusdt@bookTicker",
            r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#,
        );
        let MarketEvent::Quote(q) = e else { panic!("{e:?}") };
        assert_eq!(q.bid_price.get().to_string(), "25.35190000");
        assert_eq!((q.ask_qty.get(), q.update_id), (d("40.66"), 400900217));
    }

    #[test]
    fn d5_depth_update() {
        let e = market(
            "bnbbtc@depth@100ms",
            r#"{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}"#,
        );
        let MarketEvent::BookDelta(b) = e else { panic!("{e:?}") };
        assert_eq!((b.first_update_id, b.last_update_id), (157, 160));
        assert_eq!(b.bids, [Level { price: Price::new(d("0.0024")), qty: Qty::new(d("10")) }]);
        assert_eq!(b.asks[0].qty.get(), d("100"));
    }

    #[test]
    fn d5_kline() {
        let e = market(
            "bnbbtc@kline_1m",
            r#"{"e":"kline","E":1672515782136,"s":"BNBBTC","k":{"t":1672515780000,"T":1672515839999,"s":"BNBBTC","i":"1m","f":100,"L":200,"o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}"#,
        );
        let MarketEvent::Kline(k) = e else { panic!("{e:?}") };
        assert_eq!(
            (k.interval, k.closed, k.high.get(), k.volume.get()),
            (KlineInterval::M1, false, d("0.0025"), d("1000"))
        );
    }

    #[test]
    fn control_replies_server_shutdown_and_unknown_streams() {
        assert_eq!(parse_combined(venue(), r#"{"result":null,"id":1}"#).unwrap(), StreamEvent::ControlReply);
        assert_eq!(
            parse_combined(venue(), r#"{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}"#).unwrap(),
            StreamEvent::ServerShutdown
        );
        assert_eq!(parse_combined(venue(), r#"{"e":"serverShutdown","E":1}"#).unwrap(), StreamEvent::ServerShutdown);
        let block = r#"{"e":"blockTrade","E":1772506983582,"s":"BNBBTC","t":582,"p":"0.052","q":"5838","T":1772506983321,"m":true}"#;
        assert_eq!(parse_stream(venue(), "bnbbtc@blockTrade", block).unwrap(), StreamEvent::Ignored);
    }

    #[test]
    fn bad_frames_are_typed_errors() {
        let cases = [
            ("", "malformed JSON"),
            ("<html>502 Bad Gateway</html>", "malformed JSON"),
            (r#"{"stream":"x@trade","data":{"s":"BTCUSDT"}}"#, "malformed JSON"),
            (r#"{"stream":"x@trade","data":{"s":"BTCUSDT","t":1,"p":"1e999","q":"1","T":1,"m":true}}"#, "bad decimal"),
            (r#"{"stream":"x@trade","data":{"s":"BTCUSDT","t":1,"p":"abc","q":"1","T":1,"m":true}}"#, "bad decimal"),
            (r#"{"stream":"x@trade","data":{"s":"BTCUSDT","t":-1,"p":"1","q":"1","T":1,"m":true}}"#, "malformed JSON"),
            (
                r#"{"stream":"x@kline_7m","data":{"k":{"t":1,"T":2,"s":"A","i":"7m","o":"1","c":"1","h":"1","l":"1","v":"1","x":true}}}"#,
                "unsupported kline interval",
            ),
            (
                r#"{"stream":"x@trade","data":{"s":"A VERY LONG SYMBOL NAME INDEED","t":1,"p":"1","q":"1","T":1,"m":true}}"#,
                "bad symbol",
            ),
        ];
        for (frame, expected) in cases {
            let err = parse_combined(venue(), frame).expect_err(frame);
            assert!(err.to_string().starts_with(expected), "{frame}: {err}");
        }
    }

    #[test]
    fn decimal_fast_path_matches_the_exact_parser() {
        for s in [
            "0",
            "1",
            "0.001",
            "64000.10000000",
            "-2.5",
            "123456789012345678",
            "1234567890123456789.5",
            "0.0000000000000000000000000001",
            "1.",
            ".5",
            "-0.000",
            "1234567890123456.5",
            "12345678901234567.5",
            "0.12345678901234567",
        ] {
            assert_eq!(decimal(s).unwrap(), Decimal::from_str_exact(s).unwrap(), "{s}");
            assert_eq!(decimal(s).unwrap().to_string(), Decimal::from_str_exact(s).unwrap().to_string(), "{s}");
        }
        for s in ["", "-", ".", "1..2", "1,5", "NaN", "1e5x"] {
            assert!(decimal(s).is_err(), "{s}");
        }
    }

    proptest! {
        /// Random bytes never panic the parser.
        #[test]
        fn random_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse_combined(venue(), &text);
            let _ = parse_stream(venue(), "btcusdt@depth@100ms", &text);
        }

        /// Valid frames with any fields removed or mangled never panic either.
        #[test]
        fn mangled_trade_frames_never_panic(cut in 0usize..130, byte in any::<u8>()) {
            let frame = r#"{"stream":"bnbbtc@trade","data":{"e":"trade","E":1,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1,"m":true}}"#;
            let mut bytes = frame.as_bytes().to_vec();
            let at = cut.min(bytes.len() - 1);
            bytes[at] = byte;
            let _ = parse_combined(venue(), &String::from_utf8_lossy(&bytes));
            let _ = parse_combined(venue(), &frame[..cut.min(frame.len())]);
        }

        /// On any string of digits, dots and minus signs, the fast path and
        /// the exact parser agree (value and scale), or both refuse.
        #[test]
        fn decimal_agrees_with_exact_on_any_shape(s in "-?[0-9.]{0,22}") {
            match (decimal(&s), Decimal::from_str_exact(&s)) {
                (Ok(fast), Ok(exact)) => prop_assert_eq!(fast.to_string(), exact.to_string()),
                (Err(_), Err(_)) => {}
                (fast, exact) => prop_assert!(false, "{s}: {fast:?} vs {exact:?}"),
            }
        }

        /// Any decimal the fast path accepts equals the exact parse.
        #[test]
        fn decimal_agrees_with_exact(int in 0u64..10_000_000_000, frac in 0u32..100_000_000, scale in 0usize..9, neg in any::<bool>()) {
            let frac = format!("{frac:08}");
            let s = format!("{}{int}{}{}", if neg { "-" } else { "" }, if scale > 0 { "." } else { "" }, &frac[..scale]);
            prop_assert_eq!(decimal(&s).unwrap(), Decimal::from_str_exact(&s).unwrap());
        }
    }
}
