//! The Bybit v5 REST client: the shared signed-REST client
//! ([`crate::venue::signed_rest`]) speaking Bybit's protocol: the four
//! `X-BAPI-*` headers over the exact query string or JSON body sent, each
//! request charged to its endpoint's budget and the IP's, the `retCode`
//! envelope, the venue's remaining counts folded back, and every failure
//! classified ([`super::error`]): a timestamp refusal (10002) resyncs the
//! clock, 10006 stops the endpoint until the venue's reset time, an HTTP
//! 403 stops everything for ten minutes.

pub mod types;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use super::error::{VenueError, from_answer};
use super::limits::{self, Endpoint};
use super::sign;
use crate::execution::rate_limit::{Blocked, Cost, RateLimiter};
use crate::venue::rest::{Answer, Http};
use crate::venue::sign::Credentials;
use crate::venue::signed_rest::{self, Envelope, Protocol, SignedRest, Unsigned, header_value};

/// A Bybit request.
pub type Call<'a> = signed_rest::Call<'a, Endpoint>;
/// A Bybit request signed and charged, not sent yet.
pub type Signed = signed_rest::Signed<Endpoint>;
/// The Bybit v5 REST client.
pub type RestClient = SignedRest<BybitRest>;

/// Every answer's envelope.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    ret_code: i64,
    #[serde(default)]
    ret_msg: String,
    #[serde(default)]
    result: Option<Box<serde_json::value::RawValue>>,
    /// The venue's clock when it answered (ms).
    #[serde(default)]
    time: Option<i64>,
}

/// Bybit's side of the signed-REST protocol.
pub struct BybitRest {
    recv_window_ms: u64,
}

impl Protocol for BybitRest {
    type Endpoint = Endpoint;
    type Key = Credentials;

    fn cost<'a>(&self, endpoint: Endpoint, owner: Option<&'a str>) -> Cost<'a> {
        limits::cost(endpoint, owner)
    }

    /// Signs `timestamp + key + recv window + (query | body)`.
    fn sign(
        &self,
        key: &Credentials,
        request: &Unsigned<'_>,
        now_ms: i64,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, VenueError> {
        let api_key = key.api_key.expose();
        let payload = if request.body.is_empty() { request.query } else { request.body };
        let signature = key.signer.sign(sign::rest_payload(now_ms, api_key, self.recv_window_ms, payload).as_bytes());
        Ok(vec![
            (HeaderName::from_static(sign::API_KEY), header_value(api_key, true)?),
            (HeaderName::from_static(sign::TIMESTAMP), header_value(&now_ms.to_string(), false)?),
            (HeaderName::from_static(sign::RECV_WINDOW), header_value(&self.recv_window_ms.to_string(), false)?),
            (HeaderName::from_static(sign::SIGN), header_value(&signature, false)?),
        ])
    }

    fn envelope(&self, body: &str) -> Option<Envelope> {
        let raw: Raw = serde_json::from_str(body).ok()?;
        Some(Envelope { code: raw.ret_code, message: raw.ret_msg, result: raw.result, time: raw.time })
    }

    fn observe(&self, limiter: &RateLimiter, endpoint: Endpoint, headers: &HeaderMap) {
        limits::observe(limiter, endpoint, headers);
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
        let limiter = http.limiter();
        if answer.status == 403 {
            tracing::error!(
                status = 403,
                "Bybit refused this IP for passing its rate limit; every request waits ten minutes"
            );
            limiter.block_for(Blocked::All, super::error::IP_BAN);
        } else if error.kind == crate::execution::error::ErrorKind::RateLimited {
            // Until the venue's reset time for the endpoint (a second at most).
            let reset = answer.header("x-bapi-limit-reset-timestamp").and_then(|t| i64::try_from(t).ok());
            let wait_ms = reset.map_or(1_000, |t| (t - http.server_now_ms()).clamp(0, 60_000));
            let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(1_000));
            let blocked = endpoint.budget().map_or(Blocked::All, Blocked::Budget);
            tracing::warn!(code, wait_ms, blocked = ?blocked, "rate limited by the venue; pausing, then one probe");
            limiter.block_for(blocked, wait);
        }
        error
    }

    fn clock(&self) -> (&'static str, Endpoint) {
        ("/v5/market/time", Endpoint::Public)
    }

    fn server_time(&self, _: &str, envelope_time: Option<i64>) -> Option<i64> {
        envelope_time
    }
}

impl RestClient {
    /// A client for `base` (`https://api.bybit.com`, `https://api-testnet.bybit.com`,
    /// `https://api-demo.bybit.com`). Past `timeout` an order's outcome is unknown.
    pub fn new(
        base: &str,
        credentials: Option<Credentials>,
        recv_window_ms: u64,
        timeout: Duration,
        limiter: Arc<RateLimiter>,
    ) -> Result<Self, VenueError> {
        Self::with_protocol(base, credentials, timeout, limiter, BybitRest { recv_window_ms })
    }

    /// Signs later requests with `credentials` (key rotation).
    pub fn set_credentials(&self, credentials: Credentials) {
        self.set_key(credentials);
    }

    /// Whether requests can be signed.
    pub fn has_credentials(&self) -> bool {
        self.has_key()
    }
}

#[cfg(test)]
mod tests;
