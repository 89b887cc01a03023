//! A strict, allocation-free scanner for the hottest frames (trade,
//! bookTicker, depth diff) in the exact shape Binance sends them: one flat
//! object of strings, unsigned integers and booleans inside the combined
//! wrapper. Anything else — escapes, floats, signs, nesting, a repeated key,
//! a field missing — makes it give up (`None`), and the frame goes through
//! the general serde parser instead. When it does answer, it answers exactly
//! what the serde parser would (a property test holds it to that).

use tradewind_strategies::sdk::{Level, Price, Qty, VenueId};

use super::parse::{
    Levels, ParseError, RawBookTicker, RawDepth, RawTrade, StreamEvent, book_ticker, decimal, depth, trade,
};

/// Parses a combined-stream frame if it is a plain trade, bookTicker or depth diff.
pub fn scan_combined(venue: VenueId, frame: &str) -> Option<Result<StreamEvent, ParseError>> {
    let mut c = Cursor { b: frame.as_bytes(), i: 0 };
    c.expect(b'{')?;
    if c.key()? != "stream" {
        return None;
    }
    let stream = c.string()?;
    c.expect(b',')?;
    if c.key()? != "data" {
        return None;
    }
    let channel = stream.split_once('@').map_or("", |(_, ch)| ch);
    let event = match channel {
        "trade" => trade(venue, c.trade()?),
        "bookTicker" => book_ticker(venue, c.book_ticker()?),
        "depth" | "depth@100ms" => depth(venue, c.depth()?),
        _ => return None,
    };
    c.expect(b'}')?;
    c.end()?;
    Some(event.map(StreamEvent::Market))
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.b.get(self.i) == Some(&byte)).then(|| self.i += 1)
    }

    /// True (and consumed) if the next byte is `byte`.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_ws();
        let hit = self.b.get(self.i) == Some(&byte);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn end(&mut self) -> Option<()> {
        self.skip_ws();
        (self.i == self.b.len()).then_some(())
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.i;
        loop {
            match *self.b.get(self.i)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
        let s = &self.b[start..self.i];
        self.i += 1;
        // The input is a &str and we cut at ASCII quotes, so this cannot fail.
        std::str::from_utf8(s).ok()
    }

    /// `"key":`.
    fn key(&mut self) -> Option<&'a str> {
        let k = self.string()?;
        self.expect(b':')?;
        Some(k)
    }

    /// An unsigned integer that fits `u64` (no sign, fraction or exponent).
    fn u64(&mut self) -> Option<u64> {
        self.skip_ws();
        let start = self.i;
        let mut n: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.b.get(self.i) {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            self.i += 1;
        }
        let digits = self.i - start;
        // No leading zeros (invalid JSON), and nothing number-like may follow.
        if digits == 0
            || (digits > 1 && self.b[start] == b'0')
            || matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        Some(n)
    }

    fn i64(&mut self) -> Option<i64> {
        i64::try_from(self.u64()?).ok()
    }

    fn bool(&mut self) -> Option<bool> {
        self.skip_ws();
        let rest = &self.b[self.i..];
        if rest.starts_with(b"true") {
            self.i += 4;
            Some(true)
        } else if rest.starts_with(b"false") {
            self.i += 5;
            Some(false)
        } else {
            None
        }
    }

    /// Skips a scalar value of a field this parser does not use.
    fn skip_scalar(&mut self) -> Option<()> {
        self.skip_ws();
        match *self.b.get(self.i)? {
            b'"' => self.string().map(drop),
            b't' | b'f' => self.bool().map(drop),
            b'n' if self.b[self.i..].starts_with(b"null") => {
                self.i += 4;
                Some(())
            }
            b'0'..=b'9' => self.u64().map(drop),
            _ => None,
        }
    }

    /// Walks the fields of an object, handing each key to `field`, which reads
    /// the value (or returns `None` to give up). Keys may come once each.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let key = self.key()?;
            field(self, key)?;
            if self.eat(b'}') {
                return Some(());
            }
            self.expect(b',')?;
        }
    }

    fn trade(&mut self) -> Option<RawTrade<'a>> {
        let (mut s, mut t, mut p, mut q, mut time, mut m) = (None, None, None, None, None, None);
        self.object(|c, key| match key {
            "s" => once(&mut s, c.string()?),
            "t" => once(&mut t, c.u64()?),
            "p" => once(&mut p, c.string()?),
            "q" => once(&mut q, c.string()?),
            "T" => once(&mut time, c.i64()?),
            "m" => once(&mut m, c.bool()?),
            _ => c.skip_scalar(),
        })?;
        Some(RawTrade { s: s?, t: t?, p: p?, q: q?, trade_time: time?, m: m? })
    }

    fn book_ticker(&mut self) -> Option<RawBookTicker<'a>> {
        let (mut u, mut s, mut b, mut bq, mut a, mut aq) = (None, None, None, None, None, None);
        self.object(|c, key| match key {
            "u" => once(&mut u, c.u64()?),
            "s" => once(&mut s, c.string()?),
            "b" => once(&mut b, c.string()?),
            "B" => once(&mut bq, c.string()?),
            "a" => once(&mut a, c.string()?),
            "A" => once(&mut aq, c.string()?),
            _ => c.skip_scalar(),
        })?;
        Some(RawBookTicker { u: u.unwrap_or_default(), s: s?, b: b?, bid_qty: bq?, a: a?, ask_qty: aq? })
    }

    fn depth(&mut self) -> Option<RawDepth<'a>> {
        let (mut e, mut s, mut first, mut last, mut b, mut a) = (None, None, None, None, None, None);
        self.object(|c, key| match key {
            "E" => once(&mut e, c.i64()?),
            "s" => once(&mut s, c.string()?),
            "U" => once(&mut first, c.u64()?),
            "u" => once(&mut last, c.u64()?),
            "b" => once(&mut b, c.levels()?),
            "a" => once(&mut a, c.levels()?),
            _ => c.skip_scalar(),
        })?;
        Some(RawDepth { event_time: e.unwrap_or_default(), s: s?, first: first?, u: last?, b: b?, a: a? })
    }

    /// `[["price","qty"], …]`, with the serde parser's rule: the first bad decimal is the error.
    fn levels(&mut self) -> Option<Levels> {
        self.expect(b'[')?;
        let mut levels = Vec::with_capacity(16);
        let mut error = None;
        if !self.eat(b']') {
            loop {
                self.expect(b'[')?;
                let p = self.string()?;
                self.expect(b',')?;
                let q = self.string()?;
                self.expect(b']')?;
                if error.is_none() {
                    match (decimal(p), decimal(q)) {
                        (Ok(p), Ok(q)) => levels.push(Level { price: Price::new(p), qty: Qty::new(q) }),
                        (Err(e), _) | (_, Err(e)) => error = Some(e),
                    }
                }
                if self.eat(b']') {
                    break;
                }
                self.expect(b',')?;
            }
        }
        Some(Levels(error.map_or(Ok(levels), Err)))
    }
}

/// Stores a field's value; a second occurrence gives up (serde refuses duplicates).
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::venue::binance::parse::parse_combined_serde;

    fn venue() -> VenueId {
        VenueId::new("binance").unwrap()
    }

    /// Both parsers' answers, comparable.
    fn same(frame: &str) -> Option<(String, String)> {
        let fast = scan_combined(venue(), frame)?;
        let slow = parse_combined_serde(venue(), frame);
        let show = |r: &Result<StreamEvent, ParseError>| match r {
            Ok(e) => format!("ok {e:?}"),
            Err(e) => format!("err {e}"),
        };
        Some((show(&fast), show(&slow)))
    }

    #[test]
    fn documented_frames_take_the_fast_path() {
        let frames = [
            r#"{"stream":"bnbbtc@trade","data":{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}}"#,
            r#"{"stream":"bnbusdt@bookTicker","data":{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}"#,
            r#"{"stream":"bnbbtc@depth@100ms","data":{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}}"#,
            r#"{"stream":"bnbbtc@depth","data":{"e":"depthUpdate","E":1,"s":"BNBBTC","U":1,"u":2,"b":[],"a":[]}}"#,
        ];
        for f in frames {
            let (fast, slow) = same(f).unwrap_or_else(|| panic!("gave up on {f}"));
            assert!(fast.starts_with("ok"), "{fast}");
            assert_eq!(fast, slow);
        }
    }

    #[test]
    fn anything_unusual_goes_to_the_general_parser() {
        for f in [
            r#"{"stream":"x@trade","data":{"s":"BTC\u0055SDT","t":1,"p":"1","q":"1","T":1,"m":true}}"#,
            r#"{"stream":"x@trade","data":{"s":"BTCUSDT","t":1.0,"p":"1","q":"1","T":1,"m":true}}"#,
            r#"{"stream":"x@trade","data":{"s":"BTCUSDT","t":1,"p":"1","q":"1","T":-1,"m":true}}"#,
            r#"{"stream":"x@trade","data":{"s":"BTCUSDT","s":"ETHUSDT","t":1,"p":"1","q":"1","T":1,"m":true}}"#,
            r#"{"stream":"x@trade","data":{"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1}}"#,
            r#"{"stream":"x@trade","data":{"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":true,"x":{}}}"#,
            r#"{"data":{},"stream":"x@trade"}"#,
            r#"{"stream":"x@kline_1m","data":{}}"#,
            r#"{"stream":"x@trade","data":{"s":"BTCUSDT","t":01,"p":"1","q":"1","T":1,"m":true}}"#,
        ] {
            assert_eq!(scan_combined(venue(), f).map(|_| ()), None, "{f}");
        }
    }

    fn decimal_text() -> impl Strategy<Value = String> {
        (0u64..10_000_000, 0u32..100_000_000, 0usize..9).prop_map(|(i, f, scale)| {
            if scale == 0 {
                i.to_string()
            } else {
                format!("{i}.{:0width$}", f % 10u32.pow(scale as u32), width = scale)
            }
        })
    }

    fn trade_frame() -> impl Strategy<Value = String> {
        ("[A-Z]{2,12}", any::<u64>(), decimal_text(), decimal_text(), 0i64..i64::MAX, any::<bool>()).prop_map(
            |(s, t, p, q, time, m)| {
                format!(
                    r#"{{"stream":"{}@trade","data":{{"e":"trade","E":{time},"s":"{s}","t":{t},"p":"{p}","q":"{q}","T":{time},"m":{m},"M":true}}}}"#,
                    s.to_lowercase()
                )
            },
        )
    }

    fn depth_frame() -> impl Strategy<Value = String> {
        let level = || (decimal_text(), decimal_text()).prop_map(|(p, q)| format!(r#"["{p}","{q}"]"#));
        ("[A-Z]{2,12}", 0u64..u64::MAX / 2, proptest::collection::vec(level(), 0..12), proptest::collection::vec(level(), 0..12))
            .prop_map(|(s, first, bids, asks)| {
                format!(
                    r#"{{"stream":"{}@depth@100ms","data":{{"e":"depthUpdate","E":1,"s":"{s}","U":{first},"u":{},"b":[{}],"a":[{}]}}}}"#,
                    s.to_lowercase(),
                    first + 3,
                    bids.join(","),
                    asks.join(",")
                )
            })
    }

    proptest! {
        #[test]
        fn valid_frames_parse_the_same_both_ways(frame in prop_oneof![trade_frame(), depth_frame()]) {
            let (fast, slow) = same(&frame).expect("a plain frame takes the fast path");
            prop_assert_eq!(fast, slow);
        }

        /// Whatever a damaged frame looks like, the scanner either gives up or agrees with serde.
        #[test]
        fn damaged_frames_never_disagree(frame in prop_oneof![trade_frame(), depth_frame()], at in 0usize..400, byte in proptest::sample::select(b" \t\"\\,:{}[]01.-eE+tfnaz".to_vec()), remove in any::<bool>()) {
            let mut bytes = frame.into_bytes();
            let at = at % bytes.len();
            if remove { bytes.remove(at); } else { bytes.insert(at, byte); }
            let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
            if let Some((fast, slow)) = same(&text) {
                prop_assert_eq!(fast, slow, "{}", text);
            }
        }
    }
}

#[cfg(test)]
mod bench_frames {
    use super::*;

    #[test]
    fn the_benchmark_frames_take_the_fast_path() {
        let venue = VenueId::new("binance").unwrap();
        let trade = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1764280000123,"s":"BTCUSDT","t":5123456789,"p":"64000.10000000","q":"0.00120000","T":1764280000122,"m":true,"M":true}}"#;
        let book_ticker = r#"{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"64000.10000000","B":"1.21000000","a":"64000.11000000","A":"0.66000000"}}"#;
        for f in [trade, book_ticker] {
            assert!(scan_combined(venue, f).is_some_and(|r| r.is_ok()), "{f}");
        }
    }
}
