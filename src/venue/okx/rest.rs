//! The OKX v5 REST client: the shared signed-REST client
//! ([`crate::venue::signed_rest`]) speaking OKX's protocol: the four
//! `OK-ACCESS-*` headers (base64 HMAC over ISO-8601 time, method, path with
//! query, and body), `x-simulated-trading: 1` on every demo request, each
//! request charged to its endpoint's two-second budget, the `{code, msg,
//! data}` envelope (an order operation refused per order reads as its
//! `sCode` / `sMsg`), and every failure classified ([`super::error`]): a
//! timestamp refusal resyncs the clock, 50011 stops the endpoint for its
//! two-second window.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::{ErrorKind, VenueError, from_answer};
use super::limits::{self, Endpoint};
use super::sign::{self, OkxKey};
use crate::execution::rate_limit::{Blocked, Cost};
use crate::venue::rest::{Answer, Http};
use crate::venue::signed_rest::{self, Envelope, Protocol, SignedRest, Unsigned, header_value};

/// An OKX request.
pub type Call<'a> = signed_rest::Call<'a, Endpoint>;
/// An OKX request signed and charged, not sent yet.
pub type Signed = signed_rest::Signed<Endpoint>;
/// The OKX v5 REST client.
pub type RestClient = SignedRest<OkxRest>;

/// How long an endpoint rests after the venue's 50011 (its window).
const LIMITED_FOR: Duration = Duration::from_secs(2);

#[derive(Deserialize)]
struct Raw {
    code: String,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    data: Option<Box<RawValue>>,
}

/// An order operation's own answer (`data[0]`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PerOrder {
    #[serde(default)]
    s_code: String,
    #[serde(default)]
    s_msg: String,
}

/// OKX's side of the signed-REST protocol.
pub struct OkxRest {
    /// Demo trading: every request says so.
    pub demo: bool,
}

impl Protocol for OkxRest {
    type Endpoint = Endpoint;
    type Key = OkxKey;

    fn cost<'a>(&self, endpoint: Endpoint, owner: Option<&'a str>) -> Cost<'a> {
        limits::cost(endpoint, 1, owner)
    }

    /// Signs `timestamp + METHOD + path?query + body` at the venue's time.
    fn sign(
        &self,
        key: &OkxKey,
        request: &Unsigned<'_>,
        now_ms: i64,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, VenueError> {
        let timestamp = sign::iso_timestamp(now_ms);
        let target = if request.query.is_empty() {
            request.path.to_owned()
        } else {
            format!("{}?{}", request.path, request.query)
        };
        let prehash = sign::rest_prehash(&timestamp, request.method.as_str(), &target, request.body);
        Ok(vec![
            (HeaderName::from_static(sign::API_KEY), header_value(key.api_key.expose(), true)?),
            (HeaderName::from_static(sign::SIGN), header_value(&sign::signature(&key.signer, &prehash), false)?),
            (HeaderName::from_static(sign::TIMESTAMP), header_value(&timestamp, false)?),
            (HeaderName::from_static(sign::PASSPHRASE), header_value(key.passphrase.expose(), true)?),
        ])
    }

    fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let (name, value) = sign::SIMULATED;
        if self.demo { vec![(HeaderName::from_static(name), HeaderValue::from_static(value))] } else { Vec::new() }
    }

    fn envelope(&self, body: &str) -> Option<Envelope> {
        let raw: Raw = serde_json::from_str(body).ok()?;
        let mut code: i64 = raw.code.parse().ok()?;
        let mut message = raw.msg;
        // 1 (and 2 for a batch): refused per order; the order's own code says why.
        if code == 1 || code == 2 {
            let first: Option<[PerOrder; 1]> = raw.data.as_deref().and_then(|d| serde_json::from_str(d.get()).ok());
            if let Some([order]) = first
                && let Ok(own) = order.s_code.parse::<i64>()
                && own != 0
            {
                (code, message) = (own, order.s_msg);
            }
        }
        Some(Envelope { code, message, result: raw.data, time: None })
    }

    fn refused(
        &self,
        http: &Http,
        answer: &Answer,
        code: Option<i64>,
        message: &str,
        endpoint: Endpoint,
    ) -> VenueError {
        let error = from_answer(answer.status, code, message);
        if error.kind == ErrorKind::RateLimited {
            tracing::warn!(code, ?endpoint, "rate limited by the venue; pausing the endpoint, then one probe");
            http.limiter().block_for(Blocked::Budget(endpoint.budget()), LIMITED_FOR);
        }
        error
    }

    fn clock(&self) -> (&'static str, Endpoint) {
        ("/api/v5/public/time", Endpoint::Time)
    }

    /// `data: [{"ts": "1597026383085"}]`.
    fn server_time(&self, result: &str, _: Option<i64>) -> Option<i64> {
        #[derive(Deserialize)]
        struct Time {
            ts: String,
        }
        let [time]: [Time; 1] = serde_json::from_str(result).ok()?;
        time.ts.parse().ok()
    }
}

impl RestClient {
    /// A client for `base` (`https://www.okx.com`, `https://eea.okx.com`,
    /// `https://us.okx.com`; demo trading is the same host with `demo`).
    /// Past `timeout` an order's outcome is unknown.
    pub fn new(
        base: &str,
        key: Option<OkxKey>,
        demo: bool,
        timeout: Duration,
        limiter: std::sync::Arc<crate::execution::rate_limit::RateLimiter>,
    ) -> Result<Self, VenueError> {
        Self::with_protocol(base, key, timeout, limiter, OkxRest { demo })
    }
}

#[cfg(test)]
mod tests;
