//! A single-pass scanner for the frames that make up nearly all market
//! traffic — trade, bookTicker and depth diffs — in the shape Binance sends
//! them (`{"stream":…,"data":{…}}`, stream first).
//!
//! It returns an event only when the serde path ([`super::parse_combined`]'s
//! fallback) would return the same event: fields are read with the same
//! types and the same rules (no escapes in borrowed strings, no duplicate
//! fields, JSON number grammar, skipped values fully validated). Anything it
//! is not sure about — escapes, another key order, an unknown stream, any
//! error — gives `None`, and the serde path decides and words the error.
//! A property test holds the two equal.

use tradewind_strategies::sdk::{
    BookDelta, Level, MarketEvent, Price, Qty, Quote, Side, Timestamp, Trade, TradeId, VenueId,
};

use super::{Channel, decimal, digits, symbol};

/// Nesting allowed inside skipped values (serde_json's limit is 128).
const SKIP_DEPTH: u32 = 64;

/// Parses a combined-stream frame of a trade, bookTicker or depth stream.
#[inline]
pub(super) fn combined(venue: VenueId, frame: &str) -> Option<MarketEvent> {
    let mut c = Cursor::new(frame);
    c.eat(b'{')?;
    if c.key()? != b"stream" {
        return None;
    }
    let stream = c.str()?;
    c.eat(b',')?;
    if c.key()? != b"data" {
        return None;
    }
    let event = match Channel::of(stream) {
        Channel::Trade => trade(&mut c, venue)?,
        Channel::BookTicker => book_ticker(&mut c, venue)?,
        Channel::Depth => depth(&mut c, venue)?,
        _ => return None,
    };
    c.eat(b'}')?;
    c.ws();
    c.at_end().then_some(event)
}

#[inline]
fn trade(c: &mut Cursor<'_>, venue: VenueId) -> Option<MarketEvent> {
    let (mut s, mut t, mut p, mut q, mut time, mut m) = (None, None, None, None, None, None);
    c.fields(|c, key| match key {
        b"s" => once(&mut s, c.str()?),
        b"t" => once(&mut t, c.u64()?),
        b"p" => once(&mut p, c.str()?),
        b"q" => once(&mut q, c.str()?),
        b"T" => once(&mut time, c.i64()?),
        b"m" => once(&mut m, c.bool()?),
        // Unused fields Binance always sends, read by their usual type (the
        // generic skip costs more); anything else there goes to serde.
        b"e" => c.str().map(drop),
        b"E" => c.i64().map(drop),
        b"M" => c.bool().map(drop),
        _ => c.skip(SKIP_DEPTH),
    })?;
    Some(MarketEvent::Trade(Trade {
        venue,
        symbol: symbol(s?).ok()?,
        trade_id: TradeId::from(t?),
        price: Price::new(decimal(p?).ok()?),
        qty: Qty::new(decimal(q?).ok()?),
        aggressor: if m? { Side::Sell } else { Side::Buy },
        time: Timestamp(time?),
    }))
}

#[inline]
fn book_ticker(c: &mut Cursor<'_>, venue: VenueId) -> Option<MarketEvent> {
    let (mut u, mut s, mut b, mut bq, mut a, mut aq) = (None, None, None, None, None, None);
    c.fields(|c, key| match key {
        b"u" => once(&mut u, c.u64()?),
        b"s" => once(&mut s, c.str()?),
        b"b" => once(&mut b, c.str()?),
        b"B" => once(&mut bq, c.str()?),
        b"a" => once(&mut a, c.str()?),
        b"A" => once(&mut aq, c.str()?),
        _ => c.skip(SKIP_DEPTH),
    })?;
    Some(MarketEvent::Quote(Quote {
        venue,
        symbol: symbol(s?).ok()?,
        bid_price: Price::new(decimal(b?).ok()?),
        bid_qty: Qty::new(decimal(bq?).ok()?),
        ask_price: Price::new(decimal(a?).ok()?),
        ask_qty: Qty::new(decimal(aq?).ok()?),
        update_id: u.unwrap_or(0),
    }))
}

#[inline]
fn depth(c: &mut Cursor<'_>, venue: VenueId) -> Option<MarketEvent> {
    let (mut time, mut s, mut first, mut last, mut bids, mut asks) = (None, None, None, None, None, None);
    c.fields(|c, key| match key {
        b"E" => once(&mut time, c.i64()?),
        b"s" => once(&mut s, c.str()?),
        b"U" => once(&mut first, c.u64()?),
        b"u" => once(&mut last, c.u64()?),
        b"b" => once(&mut bids, c.levels()?),
        b"a" => once(&mut asks, c.levels()?),
        b"e" => c.str().map(drop),
        _ => c.skip(SKIP_DEPTH),
    })?;
    Some(MarketEvent::BookDelta(BookDelta {
        venue,
        symbol: symbol(s?).ok()?,
        first_update_id: first?,
        last_update_id: last?,
        bids: bids?,
        asks: asks?,
        time: Timestamp(time.unwrap_or(0)),
    }))
}

/// How many bytes from the start of `bytes` are plain string content: not
/// `"`, `\\` or a control character. Eight bytes per step (SWAR): in each
/// mask the lowest flagged byte is exact, so the lowest over all three is
/// the first stop.
#[inline]
fn plain_len(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    let mut done = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks of eight"));
        let stops =
            below(word ^ (ONES * u64::from(b'"')), 1) | below(word ^ (ONES * u64::from(b'\\')), 1) | below(word, 0x20);
        if stops != 0 {
            return done + (stops.trailing_zeros() / 8) as usize;
        }
        done += 8;
    }
    done + chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(chunks.remainder().len())
}

/// Stores a field's value; a second occurrence is an error (as serde's derive says).
#[inline]
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// A position in a frame.
struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, bytes: text.as_bytes(), at: 0 }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn at_end(&self) -> bool {
        self.at == self.bytes.len()
    }

    #[inline(always)]
    fn ws(&mut self) {
        // Binance sends no whitespace: one comparison on the usual path.
        if self.peek().is_some_and(|b| b > b' ') {
            return;
        }
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    /// Skips whitespace, then expects `byte`.
    #[inline(always)]
    fn eat(&mut self, byte: u8) -> Option<()> {
        if self.peek() != Some(byte) {
            self.ws();
            if self.peek()? != byte {
                return None;
            }
        }
        self.at += 1;
        Some(())
    }

    /// A string without escapes (what serde can borrow), unquoted.
    #[inline(always)]
    fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let len = plain_len(&self.bytes[start..]);
        self.at = start + len;
        if *self.bytes.get(self.at)? != b'"' {
            return None;
        }
        self.at += 1;
        // Both ends sit next to an ASCII quote, so they are character boundaries.
        self.text.get(start..start + len)
    }

    /// An object key and its colon.
    #[inline(always)]
    fn key(&mut self) -> Option<&'a [u8]> {
        // Binance's keys are mostly one letter: `"s":`.
        if let Some(&[b'"', letter, b'"', b':']) = self.bytes.get(self.at..self.at + 4)
            && letter.is_ascii_alphabetic()
        {
            self.at += 4;
            return Some(&self.bytes[self.at - 3..self.at - 2]);
        }
        let key = self.str()?;
        self.eat(b':')?;
        Some(key.as_bytes())
    }

    /// Reads an object, handing each key to `field`, which reads its value.
    #[inline]
    fn fields(&mut self, mut field: impl FnMut(&mut Self, &[u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = self.key()?;
            field(self, key)?;
            if !self.more(b'}')? {
                return Some(());
            }
        }
    }

    /// After a member or element: `,` ⇒ another follows, `close` ⇒ done.
    #[inline]
    fn more(&mut self, close: u8) -> Option<bool> {
        self.ws();
        let byte = self.peek()?;
        self.at += 1;
        match byte {
            b',' => Some(true),
            b if b == close => Some(false),
            _ => None,
        }
    }

    /// Decimal digits of a JSON integer (no leading zeros), as serde_json reads them.
    #[inline]
    fn digits(&mut self) -> Option<u64> {
        let rest = &self.bytes[self.at..];
        let (mut value, mut len) = digits::leading(rest);
        if len == 16 {
            // Longer runs a digit at a time: past 19 digits a u64 may overflow.
            while let Some(d @ 0..10) = rest.get(len).map(|b| b.wrapping_sub(b'0')) {
                value = value.checked_mul(10)?.checked_add(u64::from(d))?;
                len += 1;
            }
        }
        match len {
            0 => return None,
            1 => {}
            _ if rest[0] == b'0' => return None,
            _ => {}
        }
        self.at += len;
        // A fraction or exponent makes it a float, which an integer field refuses.
        match rest.get(len) {
            Some(b'.' | b'e' | b'E') => None,
            _ => Some(value),
        }
    }

    #[inline]
    fn u64(&mut self) -> Option<u64> {
        self.ws();
        self.digits()
    }

    /// serde_json reads `-0` and anything below `i64::MIN` as floats.
    #[inline]
    fn i64(&mut self) -> Option<i64> {
        self.ws();
        if self.peek()? == b'-' {
            self.at += 1;
            let magnitude = self.digits()?;
            if magnitude == 0 {
                return None;
            }
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(self.digits()?).ok()
        }
    }

    fn bool(&mut self) -> Option<bool> {
        self.ws();
        if self.literal(b"true") {
            Some(true)
        } else if self.literal(b"false") {
            Some(false)
        } else {
            None
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        let found = self.bytes[self.at..].starts_with(word);
        if found {
            self.at += word.len();
        }
        found
    }

    /// `[["price","qty"], …]`; exactly two strings per level.
    fn levels(&mut self) -> Option<Vec<Level>> {
        self.eat(b'[')?;
        let mut levels = Vec::with_capacity(16);
        self.ws();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(levels);
        }
        loop {
            self.eat(b'[')?;
            let price = decimal(self.str()?).ok()?;
            self.eat(b',')?;
            let qty = decimal(self.str()?).ok()?;
            self.eat(b']')?;
            levels.push(Level { price: Price::new(price), qty: Qty::new(qty) });
            if !self.more(b']')? {
                return Some(levels);
            }
        }
    }

    /// Skips any JSON value, validating it as serde_json's `IgnoredAny` does.
    fn skip(&mut self, depth: u32) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => self.skip_str(),
            b'-' | b'0'..=b'9' => self.skip_number(),
            b't' => self.literal(b"true").then_some(()),
            b'f' => self.literal(b"false").then_some(()),
            b'n' => self.literal(b"null").then_some(()),
            open @ (b'[' | b'{') => {
                let depth = depth.checked_sub(1)?;
                let close = if open == b'[' { b']' } else { b'}' };
                self.at += 1;
                self.ws();
                if self.peek()? == close {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    if open == b'{' {
                        self.ws();
                        self.skip_str()?;
                        self.eat(b':')?;
                    }
                    self.skip(depth)?;
                    if !self.more(close)? {
                        return Some(());
                    }
                }
            }
            _ => None,
        }
    }

    /// A string with escapes allowed (`\uXXXX` needs four hex digits).
    fn skip_str(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            self.at += plain_len(&self.bytes[self.at..]);
            let byte = *self.bytes.get(self.at)?;
            self.at += 1;
            match byte {
                b'"' => return Some(()),
                b'\\' => match *self.bytes.get(self.at)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                    b'u' => {
                        let hex = self.bytes.get(self.at + 1..self.at + 5)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        self.at += 5;
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn skip_number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.skip_digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.require_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.require_digits()?;
        }
        Some(())
    }

    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
    }

    fn require_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.skip_digits();
        (self.at > start).then_some(())
    }
}

#[cfg(test)]
mod tests {
    //! The scanner must agree with the serde path: whenever it returns an
    //! event, serde returns the same one; on the usual frames it answers.
    use super::super::{StreamEvent, parse_combined_serde};
    use super::*;
    use crate::rng::Rng;
    use proptest::prelude::*;

    fn venue() -> VenueId {
        VenueId::new("binance").unwrap()
    }

    const TRADE: &str = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1764280000123,"s":"BTCUSDT","t":5123456789,"p":"64000.10000000","q":"0.00120000","T":1764280000122,"m":true,"M":true}}"#;
    const BOOK_TICKER: &str = r#"{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"64000.10000000","B":"1.21000000","a":"64000.11000000","A":"0.66000000"}}"#;
    const DEPTH: &str = r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1764280000123,"s":"BTCUSDT","U":157,"u":160,"b":[["63990.00","1.5"],["63989.10","0"]],"a":[]}}"#;

    /// The scanner's answer must be the serde path's.
    fn agree(frame: &str) -> Option<MarketEvent> {
        let fast = combined(venue(), frame);
        if let Some(event) = &fast {
            match parse_combined_serde(venue(), frame) {
                Ok(StreamEvent::Market(expected)) => assert_eq!(event, &expected, "{frame}"),
                other => panic!("scanner accepted what serde answers {other:?}: {frame}"),
            }
        }
        fast
    }

    #[test]
    fn the_usual_frames_take_the_fast_path() {
        for frame in [TRADE, BOOK_TICKER, DEPTH] {
            assert!(agree(frame).is_some(), "{frame}");
        }
        let spaced = "{ \"stream\" : \"btcusdt@trade\" ,\n \"data\" : { \"s\" : \"BTCUSDT\" , \"t\" : 1 , \"p\" : \"1\" , \"q\" : \"2\" , \"T\" : -5 , \"m\" : false , \"x\" : [ { \"y\" : null } , 1.5e-3 ] } }\n";
        let Some(MarketEvent::Trade(t)) = agree(spaced) else { panic!("{spaced}") };
        assert_eq!((t.trade_id, t.time, t.aggressor), (TradeId::from(1), Timestamp(-5), Side::Buy));
    }

    #[test]
    fn what_serde_would_refuse_or_read_differently_is_left_to_serde() {
        let cases = [
            // duplicate field, escaped key, escaped value, missing field
            TRADE.replace(r#""m":true"#, r#""m":true,"t":1"#),
            TRADE.replace(r#""s":"#, r#""\u0073":"#),
            TRADE.replace("BTCUSDT", r"BTC\u0055SDT"),
            TRADE.replace(r#""m":true,"#, ""),
            // integer grammar: sign, leading zero, fraction, exponent, overflow, -0
            TRADE.replace("5123456789", "-1"),
            TRADE.replace("5123456789", "05"),
            TRADE.replace("5123456789", "5.0"),
            TRADE.replace("5123456789", "5e3"),
            TRADE.replace("5123456789", "18446744073709551616"),
            TRADE.replace("1764280000122", "-0"),
            // skipped values are validated too
            TRADE.replace(r#""M":true"#, r#""M":tru"#),
            TRADE.replace(r#""M":true"#, r#""M":"a\qb""#),
            TRADE.replace(r#""M":true"#, r#""M":01"#),
            TRADE.replace(r#""M":true"#, r#""M":[1,]"#),
            TRADE.replace(r#""M":true"#, "\"M\":\"tab\tinside\""),
            // a level with three strings, a bad decimal, trailing bytes, data before stream
            DEPTH.replace(r#"["63990.00","1.5"]"#, r#"["63990.00","1.5","1"]"#),
            DEPTH.replace("63990.00", "6399O.00"),
            format!("{TRADE}x"),
            r#"{"data":{"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":true},"stream":"btcusdt@trade"}"#.to_owned(),
        ];
        for frame in &cases {
            assert_eq!(agree(frame), None, "{frame}");
        }
    }

    /// A frame built from random choices: field order, whitespace, extra and
    /// duplicated fields, odd numbers and strings.
    fn random_frame(rng: &mut Rng) -> String {
        let pick = |rng: &mut Rng, options: &[&str]| options[rng.below(options.len() as u64) as usize].to_owned();
        let ws = |rng: &mut Rng| pick(rng, &["", "", "", " ", "\n", " \t "]);
        // Mostly valid, one choice in eight odd.
        let odd = |rng: &mut Rng, valid: String, odd: &[&str]| if rng.below(8) == 0 { pick(rng, odd) } else { valid };
        let int = |rng: &mut Rng| {
            let n = (rng.next_u64() >> rng.below(64)).to_string();
            odd(rng, n, &["0", "-1", "-0", "01", "1.0", "2e3", "18446744073709551616", "9223372036854775808"])
        };
        let text_odd = ["\"1e5\"", "\"x\"", r#""a\"b""#, "1", "true", "\"\"", "\"-\""];
        let dec = |rng: &mut Rng| {
            let d = format!("\"{}.{:08}\"", rng.below(100_000), rng.below(100_000_000));
            odd(rng, d, &text_odd)
        };
        let sym = |rng: &mut Rng| odd(rng, "\"BTCUSDT\"".into(), &text_odd);
        let value = |rng: &mut Rng| {
            pick(
                rng,
                &[
                    "null",
                    "true",
                    "1.5e-7",
                    "-0",
                    "\"\\u00e9\"",
                    "[]",
                    "{}",
                    "[1,{\"a\":[null]}]",
                    "\"\\x\"",
                    "[1 2]",
                    "{\"a\"}",
                ],
            )
        };
        let (stream, mut fields): (&str, Vec<(String, String)>) = match rng.below(3) {
            0 => (
                "btcusdt@trade",
                vec![
                    ("s".into(), sym(rng)),
                    ("t".into(), int(rng)),
                    ("p".into(), dec(rng)),
                    ("q".into(), dec(rng)),
                    ("T".into(), int(rng)),
                    ("m".into(), {
                        let b = pick(rng, &["true", "false"]);
                        odd(rng, b, &["1", "\"true\"", "nul"])
                    }),
                ],
            ),
            1 => (
                "ethusdt@bookTicker",
                vec![
                    ("u".into(), int(rng)),
                    ("s".into(), sym(rng)),
                    ("b".into(), dec(rng)),
                    ("B".into(), dec(rng)),
                    ("a".into(), dec(rng)),
                    ("A".into(), dec(rng)),
                ],
            ),
            _ => {
                let mut levels = || {
                    let n = rng.below(4);
                    let level = |rng: &mut Rng| format!("[{},{}]", dec(rng), dec(rng));
                    let items: Vec<String> = (0..n).map(|_| level(rng)).collect();
                    format!("[{}]", items.join(","))
                };
                let (b, a) = (levels(), levels());
                (
                    "btcusdt@depth@100ms",
                    vec![
                        ("E".into(), int(rng)),
                        ("s".into(), sym(rng)),
                        ("U".into(), int(rng)),
                        ("u".into(), int(rng)),
                        ("b".into(), b),
                        ("a".into(), a),
                    ],
                )
            }
        };
        // Drop, duplicate, add and shuffle fields.
        if rng.below(8) == 0 {
            fields.remove(rng.below(fields.len() as u64) as usize);
        }
        if rng.below(8) == 0 {
            let copy = fields[rng.below(fields.len() as u64) as usize].clone();
            fields.push(copy);
        }
        for _ in 0..rng.below(3) {
            fields.push((pick(rng, &["e", "E", "M", "x", "zz"]), value(rng)));
        }
        for i in (1..fields.len()).rev() {
            fields.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let body: Vec<String> =
            fields.iter().map(|(k, v)| format!("{}\"{k}\"{}:{}{v}{}", ws(rng), ws(rng), ws(rng), ws(rng))).collect();
        format!("{{{}\"stream\":\"{stream}\",{}\"data\":{{{}}}{}}}", ws(rng), ws(rng), body.join(","), ws(rng))
    }

    proptest! {
        #[test]
        fn random_frames_agree_with_serde(seed in any::<u64>()) {
            let mut rng = Rng::new(seed);
            for _ in 0..20 {
                agree(&random_frame(&mut rng));
            }
        }

        #[test]
        fn mangled_frames_agree_with_serde(which in 0usize..3, at in 0usize..400, byte in any::<u8>(), cut in 0usize..400) {
            let frame = [TRADE, BOOK_TICKER, DEPTH][which];
            let mut bytes = frame.as_bytes().to_vec();
            let at = at % bytes.len();
            bytes[at] = byte;
            agree(&String::from_utf8_lossy(&bytes));
            agree(&frame[..cut.min(frame.len())]);
        }
    }

    #[test]
    fn plain_len_stops_at_the_first_quote_backslash_or_control_character() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).unwrap_or(b.len());
        let mut rng = Rng::new(3);
        let alphabet = [b'a', b'"', b'\\', 0x1f, 0x20, 0x7f, 0x80, 0xff, b'!', b'#', b'[', b']', 0x00];
        for _ in 0..20_000 {
            let len = rng.below(40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| if rng.below(6) == 0 { alphabet[rng.below(alphabet.len() as u64) as usize] } else { b'a' })
                .collect();
            assert_eq!(plain_len(&bytes), naive(&bytes), "{bytes:?}");
        }
    }

    #[test]
    fn most_random_frames_are_valid_and_fast() {
        // The generator must not only make frames both paths refuse.
        let mut rng = Rng::new(7);
        let accepted = (0..2_000).filter(|_| agree(&random_frame(&mut rng)).is_some()).count();
        assert!(accepted > 200, "only {accepted} of 2000 random frames were accepted");
    }
}
