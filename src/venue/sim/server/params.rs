//! Request parameters as Binance reads them: query string and form body
//! (the query wins when both carry a key), typed accessors that answer with
//! Binance's error codes, and the signed-request check (API key, timestamp,
//! recvWindow, HMAC-SHA256 over the percent-encoded payload).

use std::collections::HashMap;

use hmac::{Hmac, KeyInit, Mac};
use rust_decimal::Decimal;
use sha2::Sha256;

use crate::venue::sim::exchange::ApiError;
use crate::venue::sim::ledger::AccountId;

/// Parsed parameters.
#[derive(Debug, Default)]
pub struct Params {
    values: HashMap<String, String>,
}

/// Binance's regex for decimal parameters, quoted in its -1100 messages.
const DECIMAL_RANGE: &str = "^([0-9]{1,20})(\\.[0-9]{1,20})?$";

impl Params {
    /// Reads the query string and a form-encoded body. Duplicate keys are refused.
    pub fn parse(query: &str, body: &[u8]) -> Result<Self, ApiError> {
        let mut values = HashMap::new();
        let body = std::str::from_utf8(body)
            .map_err(|_| ApiError::new(-1100, "Illegal characters found in the request body."))?;
        for (part, source) in [(body, "body"), (query, "query")] {
            let mut seen = std::collections::HashSet::new();
            for (k, v) in url::form_urlencoded::parse(part.as_bytes()) {
                if !seen.insert(k.to_string()) {
                    return Err(ApiError::new(-1101, format!("Duplicate values for parameter '{k}' in the {source}.")));
                }
                values.insert(k.into_owned(), v.into_owned());
            }
        }
        Ok(Self { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| {
            ApiError::new(-1102, format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."))
        })
    }

    /// A non-negative decimal in Binance's accepted form.
    pub fn decimal(&self, name: &str) -> Result<Option<Decimal>, ApiError> {
        let Some(raw) = self.get(name) else {
            return Ok(None);
        };
        let valid = {
            let (int, frac) = raw.split_once('.').unwrap_or((raw, "0"));
            (1..=20).contains(&int.len())
                && (1..=20).contains(&frac.len())
                && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        };
        let illegal = || {
            ApiError::new(
                -1100,
                format!("Illegal characters found in parameter '{name}'; legal range is '{DECIMAL_RANGE}'."),
            )
        };
        if !valid {
            return Err(illegal());
        }
        raw.parse::<Decimal>().map(Some).map_err(|_| illegal())
    }

    pub fn u64(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .map(|raw| {
                raw.parse::<u64>().map_err(|_| {
                    ApiError::new(
                        -1100,
                        format!("Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."),
                    )
                })
            })
            .transpose()
    }

    /// A client order id: `[A-Za-z0-9_-]{1,36}`.
    pub fn client_id(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(c) if c.len() <= 36 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
                Ok(Some(c.to_owned()))
            }
            Some(_) => Err(ApiError::new(
                -1100,
                format!("Illegal characters found in parameter '{name}'; legal range is '^[a-zA-Z0-9-_]{{1,36}}$'."),
            )),
        }
    }

    /// One of a fixed set of values.
    pub fn one_of<T: Copy>(&self, name: &str, choices: &[(&str, T)]) -> Result<Option<T>, ApiError> {
        let Some(raw) = self.get(name) else {
            return Ok(None);
        };
        choices
            .iter()
            .find(|(k, _)| *k == raw)
            .map(|(_, v)| Some(*v))
            .ok_or_else(|| ApiError::new(-1116, format!("Invalid {name}.")))
    }
}

/// An API key's account and secret.
#[derive(Clone)]
pub struct Credential {
    pub account: AccountId,
    pub mac: Hmac<Sha256>,
}

impl Credential {
    pub fn new(account: AccountId, secret: &str) -> Self {
        let mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
        Self { account, mac }
    }

    /// True when `signature` (base64: OKX's form) is the HMAC of `payload`.
    pub fn verify_base64(&self, payload: &[u8], signature: &str) -> bool {
        use base64::Engine as _;
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(signature) else {
            return false;
        };
        let mut mac = self.mac.clone();
        mac.update(payload);
        mac.verify_slice(&sig).is_ok()
    }

    /// True when `signature` (hex, either case) is the HMAC of `payload`.
    pub fn verify(&self, payload: &[u8], signature: &str) -> bool {
        let Ok(sig) = hex::decode(signature) else {
            return false;
        };
        let mut mac = self.mac.clone();
        mac.update(payload);
        mac.verify_slice(&sig).is_ok()
    }
}

/// The `api-key` error: HTTP 401.
pub fn rejected_key() -> ApiError {
    ApiError::new(-2015, "Invalid API-key, IP, or permissions for action.")
}

/// Checks a signed REST request and returns its account.
///
/// The payload is the raw query string followed by the raw body, each with
/// its `signature=` pair removed: exactly the bytes the client signed.
pub fn authenticate(
    keys: &HashMap<String, Credential>,
    api_key: Option<&str>,
    query: &str,
    body: &[u8],
    params: &Params,
    now_ms: i64,
) -> Result<AccountId, ApiError> {
    let credential = api_key.and_then(|k| keys.get(k)).ok_or_else(rejected_key)?;
    check_time(params.required("timestamp")?, params.get("recvWindow"), now_ms)?;
    let signature = params.required("signature")?;
    let body = std::str::from_utf8(body).unwrap_or_default();
    let payload = format!("{}{}", without_signature(query), without_signature(body));
    if credential.verify(payload.as_bytes(), signature) {
        Ok(credential.account)
    } else {
        Err(ApiError::new(-1022, "Signature for this request is not valid."))
    }
}

/// Binance's timing rule: `timestamp < serverTime + 1000` and
/// `serverTime - timestamp <= recvWindow` (default 5000, at most 60000).
pub fn check_time(timestamp: &str, recv_window: Option<&str>, now_ms: i64) -> Result<(), ApiError> {
    let ts: i64 = timestamp.parse().map_err(|_| {
        ApiError::new(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
    })?;
    // Microsecond timestamps are accepted, as on Binance.
    let ts = if ts > 10_000_000_000_000 { ts / 1000 } else { ts };
    let window: Decimal = match recv_window {
        None => Decimal::from(5000),
        Some(w) => {
            w.parse().map_err(|_| ApiError::new(-1100, "Illegal characters found in parameter 'recvWindow'."))?
        }
    };
    if window > Decimal::from(60_000) || window <= Decimal::ZERO {
        return Err(ApiError::new(-1131, "recvWindow must be less than 60000"));
    }
    if ts >= now_ms + 1000 {
        return Err(ApiError::new(-1021, "Timestamp for this request was 1000ms ahead of the server's time."));
    }
    if Decimal::from(now_ms - ts) > window {
        return Err(ApiError::new(-1021, "Timestamp for this request is outside of the recvWindow."));
    }
    Ok(())
}

fn without_signature(part: &str) -> String {
    part.split('&').filter(|kv| !kv.starts_with("signature=")).collect::<Vec<_>>().join("&")
}

/// A JSON body's fields as parameters (strings as they are, numbers and
/// booleans printed, nulls left out): how the Bybit and OKX dialects read a POST.
pub fn json_params(body: &[u8]) -> Result<Params, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| ApiError::new(-1102, "request body is not JSON"))?;
    let serde_json::Value::Object(map) = value else {
        return Err(ApiError::new(-1102, "request body is not a JSON object"));
    };
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in map {
        match v {
            serde_json::Value::String(s) => form.append_pair(&k, &s),
            serde_json::Value::Null => continue,
            other => form.append_pair(&k, &other.to_string()),
        };
    }
    Params::parse(&form.finish(), b"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_wins_over_body_and_duplicates_are_refused() {
        let p = Params::parse("symbol=BTCUSDT&quantity=1", b"quantity=2&price=3").unwrap();
        assert_eq!(p.get("quantity"), Some("1"));
        assert_eq!(p.get("price"), Some("3"));
        assert_eq!(Params::parse("a=1&a=2", b"").unwrap_err().code, -1101);
    }

    #[test]
    fn decimals_follow_binance_range() {
        let p = Params::parse("a=1.5&b=-1&c=abc&d=1e5&e=.5&f=000.10000000", b"").unwrap();
        assert_eq!(p.decimal("a").unwrap(), Some("1.5".parse().unwrap()));
        for bad in ["b", "c", "d", "e"] {
            let e = p.decimal(bad).unwrap_err();
            assert_eq!(e.code, -1100, "{bad}");
            assert!(e.msg.contains(&format!("'{bad}'")));
        }
        assert_eq!(p.decimal("f").unwrap(), Some("0.1".parse().unwrap()));
        assert_eq!(p.decimal("missing").unwrap(), None);
    }

    #[test]
    fn signed_requests_verify_the_documented_vector() {
        // Section D1a of the protocol notes.
        let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        let keys = HashMap::from([("k".to_owned(), Credential::new(7, secret))]);
        let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71";
        let params = Params::parse(query, b"").unwrap();
        let now = 1499827319559 + 10;
        assert_eq!(authenticate(&keys, Some("k"), query, b"", &params, now), Ok(7));
        // D2: the same pairs split between query and body, signed without a separator.
        let (q, b) = (
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
            "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77",
        );
        let params = Params::parse(q, b.as_bytes()).unwrap();
        assert_eq!(authenticate(&keys, Some("k"), q, b.as_bytes(), &params, now), Ok(7));

        let tampered = query.replace("quantity=1", "quantity=2");
        let params = Params::parse(&tampered, b"").unwrap();
        assert_eq!(authenticate(&keys, Some("k"), &tampered, b"", &params, now).unwrap_err().code, -1022);
        assert_eq!(authenticate(&keys, Some("other"), query, b"", &params, now).unwrap_err().code, -2015);
        assert_eq!(authenticate(&keys, None, query, b"", &params, now).unwrap_err().code, -2015);
    }

    #[test]
    fn timestamps_outside_the_window_are_refused() {
        assert!(check_time("10000", None, 14_000).is_ok());
        assert_eq!(check_time("10000", None, 15_001).unwrap_err().code, -1021);
        assert_eq!(check_time("10000", Some("100"), 10_101).unwrap_err().code, -1021);
        assert_eq!(check_time("11000", None, 10_000).unwrap_err().code, -1021);
        assert_eq!(check_time("10000", Some("60001"), 10_000).unwrap_err().code, -1131);
        assert!(check_time("10000", Some("6000.346"), 15_000).is_ok());
        assert_eq!(check_time("x", None, 10_000).unwrap_err().code, -1102);
    }
}
