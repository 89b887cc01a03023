//! Request signing exactly as Binance Spot specifies it.
//!
//! REST: the signed payload is the percent-encoded query string followed,
//! without a separator, by the percent-encoded body; the signature is
//! appended as `&signature=…` to the same bytes that are sent. WebSocket API:
//! the params (except `signature`) sorted by name, joined as `k=v&…`, *not*
//! percent-encoded. HMAC-SHA256 signatures are lowercase hex; Ed25519
//! signatures are base64 (percent-encoded when they go into a REST payload).

use crate::venue::sign::hmac_hex;
pub use crate::venue::sign::{KeyError, Signer, percent_encode_into};

/// Builds a percent-encoded `k=v&k=v` REST payload.
#[derive(Debug, Default, Clone)]
pub struct Query {
    buf: String,
}

impl Query {
    /// Room for an order's parameters and its signature (a cancel-replace
    /// with two 36-character client order ids is under 400 bytes), so none
    /// grows the buffer.
    pub fn new() -> Self {
        Self { buf: String::with_capacity(512) }
    }

    /// Appends `key=value` (the value percent-encoded; keys are ASCII names).
    pub fn push(&mut self, key: &str, value: impl QueryValue) -> &mut Self {
        if !self.buf.is_empty() {
            self.buf.push('&');
        }
        self.buf.push_str(key);
        self.buf.push('=');
        let start = self.buf.len();
        value.write_to(&mut self.buf);
        // Re-encode in place only if the value needs it (numbers and symbols do not).
        if !self.buf[start..].bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')) {
            let raw = self.buf.split_off(start);
            percent_encode_into(&mut self.buf, &raw);
        }
        self
    }

    pub fn as_str(&self) -> &str {
        &self.buf
    }

    /// Signs the payload and appends `&signature=…`; returns the final query.
    pub fn signed(mut self, signer: &Signer) -> String {
        // An HMAC's hex digits stay on the stack (no string of their own).
        let (hex, encoded);
        let signature = match signer {
            Signer::Hmac(mac) => {
                hex = hmac_hex(mac, self.buf.as_bytes());
                hex.as_str()
            }
            Signer::Ed25519(_) | Signer::Rsa(_) => {
                encoded = signer.sign_rest(self.buf.as_bytes());
                encoded.as_str()
            }
        };
        self.buf.push_str("&signature=");
        self.buf.push_str(signature);
        self.buf
    }
}

/// A query parameter's value, written straight into the query: through
/// `Display`, the formatting machinery took a good part of the time an
/// order's request took to build.
pub trait QueryValue {
    fn write_to(&self, out: &mut String);
}

impl<T: QueryValue + ?Sized> QueryValue for &T {
    fn write_to(&self, out: &mut String) {
        (**self).write_to(out);
    }
}

impl QueryValue for str {
    fn write_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl QueryValue for String {
    fn write_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl QueryValue for tradewind_strategies::sdk::Symbol {
    fn write_to(&self, out: &mut String) {
        out.push_str(self.as_str());
    }
}

impl QueryValue for tradewind_strategies::sdk::ClientOrderId {
    fn write_to(&self, out: &mut String) {
        out.push_str(self.as_str());
    }
}

/// As `Display` writes it: every digit of the mantissa, `scale` of them after the point.
impl QueryValue for rust_decimal::Decimal {
    fn write_to(&self, out: &mut String) {
        let Ok(mantissa) = u64::try_from(self.mantissa().unsigned_abs()) else {
            // Wider than 64 bits (no price or quantity is): the general way.
            out.push_str(&self.to_string());
            return;
        };
        if self.is_sign_negative() && mantissa != 0 {
            out.push('-');
        }
        let scale = self.scale() as usize;
        // 20 digits at most, after up to 28 zeros: 0.000…0001.
        let mut digits = [b'0'; 49];
        let first = write_digits(mantissa, &mut digits).min(digits.len() - scale - 1);
        let (whole, fraction) = digits[first..].split_at(digits.len() - first - scale);
        out.push_str(std::str::from_utf8(whole).expect("ASCII digits"));
        if scale > 0 {
            out.push('.');
            out.push_str(std::str::from_utf8(fraction).expect("ASCII digits"));
        }
    }
}

impl QueryValue for u64 {
    fn write_to(&self, out: &mut String) {
        write_integer(out, false, *self);
    }
}

impl QueryValue for i64 {
    fn write_to(&self, out: &mut String) {
        write_integer(out, *self < 0, self.unsigned_abs());
    }
}

impl QueryValue for usize {
    fn write_to(&self, out: &mut String) {
        write_integer(out, false, *self as u64);
    }
}

/// Narrower integers, written as their widened selves.
macro_rules! widened_query_value {
    ($($t:ty => $wide:ty),*) => {$(
        impl QueryValue for $t {
            fn write_to(&self, out: &mut String) {
                <$wide>::from(*self).write_to(out);
            }
        }
    )*};
}

widened_query_value!(u16 => u64, u32 => u64, i32 => i64);

/// Writes an integer given by its sign and magnitude.
fn write_integer(out: &mut String, negative: bool, magnitude: u64) {
    if negative {
        out.push('-');
    }
    let mut digits = [0u8; 20];
    let first = write_digits(magnitude, &mut digits);
    out.push_str(std::str::from_utf8(&digits[first..]).expect("ASCII digits"));
}

/// Writes `n`'s decimal digits at the end of `digits`; returns where they start.
fn write_digits(mut n: u64, digits: &mut [u8]) -> usize {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return at;
        }
    }
}

/// The WebSocket API payload: `params` sorted by key, `k=v` joined by `&`, raw.
pub fn ws_payload(params: &[(&str, &str)]) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().filter(|(k, _)| *k != "signature").collect();
    sorted.sort_by_key(|(k, _)| *k);
    let mut out = String::with_capacity(256);
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

#[cfg(test)]
mod tests {
    //! Every vector of the protocol reference, section D, pinned.
    use super::*;
    use crate::secret::Secret;

    const API_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
    const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n";

    fn hmac() -> Signer {
        Signer::hmac(&Secret::new(SECRET)).unwrap()
    }

    #[test]
    fn d1a_rest_hmac() {
        let mut q = Query::new();
        q.push("symbol", "LTCBTC")
            .push("side", "BUY")
            .push("type", "LIMIT")
            .push("timeInForce", "GTC")
            .push("quantity", 1)
            .push("price", "0.1")
            .push("recvWindow", 5000)
            .push("timestamp", 1_499_827_319_559u64);
        assert_eq!(
            q.as_str(),
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        );
        let signed = q.signed(&hmac());
        assert!(signed.ends_with("&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"));
    }

    #[test]
    fn d2_rest_hmac_query_then_body_without_separator() {
        let payload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        assert_eq!(
            hmac().sign_rest(payload.as_bytes()),
            "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
        );
    }

    #[test]
    fn d3a_ws_api_order_place_sorted() {
        let params = [
            ("symbol", "BTCUSDT"),
            ("side", "SELL"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.01000000"),
            ("price", "52000.00"),
            ("recvWindow", "100"),
            ("timestamp", "1645423376532"),
            ("apiKey", API_KEY),
            ("signature", "ignored"),
        ];
        let payload = ws_payload(&params);
        assert_eq!(
            payload,
            format!(
                "apiKey={API_KEY}&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT"
            )
        );
        assert_eq!(hmac().sign(payload.as_bytes()), "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24");
    }

    #[test]
    fn d3c_ws_api_session_logon() {
        let payload = ws_payload(&[("timestamp", "1649729878532"), ("apiKey", API_KEY)]);
        assert_eq!(hmac().sign(payload.as_bytes()), "1cf54395b336b0a9727ef27d5d98987962bc47aca6e13fe978612d0adee066ed");
    }

    #[test]
    fn d4_ed25519_rest_and_ws() {
        let signer = Signer::ed25519_pem(&Secret::new(ED25519_PEM)).unwrap();
        let rest = "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&price=0.2&timestamp=1668481559918&recvWindow=5000";
        assert_eq!(
            signer.sign_rest(rest.as_bytes()),
            "XtZirsmmi0noRzUfkqktvkVfxpkq%2FWtbLg2UOL3QGYdUBZVlqOBEMuEVw8zioY93N54NcKj9UuAXQEa9zgTDBg%3D%3D"
        );
        let ws = "apiKey=4yNzx3yWC5bS6YTwEkSRaC0nRmSQIIStAUOh1b6kqaBrTLIhjCpI5lJH8q8R8WNO&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT";
        assert_eq!(
            signer.sign(ws.as_bytes()),
            "Ws+5m/CMnpkko0uBFxGTZ2+fjqqBXsUjRiaz173fPhXTkhoDBYNZ6wcYNeWItdrGn1pvG7vkwx2fhmJdAZ3KDQ=="
        );
    }

    #[test]
    fn the_key_type_picks_the_signer_and_a_mismatch_is_refused() {
        use crate::config::KeyType;
        let pem = Secret::new(ED25519_PEM);
        let hmac = Secret::new("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j");
        assert!(matches!(Signer::of(None, &pem), Ok(Signer::Ed25519(_))), "a PEM key reads as Ed25519");
        assert!(matches!(Signer::of(Some(KeyType::Ed25519), &pem), Ok(Signer::Ed25519(_))));
        assert!(matches!(Signer::of(None, &hmac), Ok(Signer::Hmac(_))));
        assert!(matches!(Signer::of(Some(KeyType::Hmac), &hmac), Ok(Signer::Hmac(_))));
        assert!(matches!(Signer::of(Some(KeyType::Hmac), &pem), Err(KeyError::PemForHmac)));
        let Err(e) = Signer::of(Some(KeyType::Ed25519), &hmac) else { panic!("an HMAC secret is no Ed25519 key") };
        assert!(matches!(e, KeyError::BadEd25519Key(_)));
        assert!(!e.to_string().contains("NhqPtmd"), "the secret never reaches the message: {e}");
    }

    fn written(value: impl QueryValue) -> String {
        let mut out = String::new();
        value.write_to(&mut out);
        out
    }

    #[test]
    fn query_values_are_written_as_display_writes_them() {
        use rust_decimal::Decimal;
        for (value, expected) in [
            (Decimal::new(0, 0), "0"),
            (Decimal::new(0, 3), "0.000"),
            (Decimal::new(5, 3), "0.005"),
            (Decimal::new(6_400_012, 2), "64000.12"),
            (Decimal::new(-15, 1), "-1.5"),
            (Decimal::new(1, 28), "0.0000000000000000000000000001"),
            (Decimal::from_parts(0, 0, 0, true, 2), "0.00"),
            (Decimal::MAX, "79228162514264337593543950335"),
            (Decimal::from_parts(u32::MAX, u32::MAX, 1, false, 20), "0.36893488147419103231"),
        ] {
            assert_eq!(value.to_string(), expected);
            assert_eq!(written(value), expected);
        }
        assert_eq!(written(0u64), "0");
        assert_eq!(written(u64::MAX), u64::MAX.to_string());
        assert_eq!(written(i64::MIN), i64::MIN.to_string());
        assert_eq!(written(-7i32), "-7");
        assert_eq!(written(5000u32), "5000");
        assert_eq!(written("LIMIT_MAKER"), "LIMIT_MAKER");
    }

    proptest::proptest! {
        #[test]
        fn any_decimal_is_written_as_display_writes_it(
            lo in proptest::prelude::any::<u32>(),
            mid in proptest::prelude::any::<u32>(),
            hi in 0u32..4,
            negative in proptest::prelude::any::<bool>(),
            scale in 0u32..=28,
        ) {
            let value = rust_decimal::Decimal::from_parts(lo, mid, hi, negative, scale);
            proptest::prop_assert_eq!(written(value), value.to_string());
        }
    }

    #[test]
    fn percent_encoding_of_non_ascii_and_reserved() {
        let mut q = Query::new();
        q.push("symbol", "这是测试币456").push("symbols", "[\"A\",\"B\"]");
        assert_eq!(
            q.as_str(),
            "symbol=%E8%BF%99%E6%98%AF%E6%B5%8B%E8%AF%95%E5%B8%81456&symbols=%5B%22A%22%2C%22B%22%5D"
        );
    }

    #[test]
    fn bad_keys_are_refused_and_never_printed() {
        assert!(matches!(Signer::hmac(&Secret::new("")), Err(KeyError::Empty)));
        assert!(matches!(Signer::ed25519_pem(&Secret::new("not a key")), Err(KeyError::BadEd25519Key(_))));
        assert_eq!(format!("{:?}", hmac()), "Signer::Hmac(***)");
    }
}
