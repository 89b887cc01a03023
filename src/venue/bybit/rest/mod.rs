//! The Bybit v5 REST client on the shared plumbing ([`crate::venue::rest`]):
//! signed requests (the four `X-BAPI-*` headers over the exact query string
//! or JSON body sent), each charged to its endpoint's budget and the IP's,
//! the `retCode` envelope read, the venue's remaining counts folded back,
//! and every failure classified ([`super::error`]): a timestamp refusal
//! (10002) resyncs the clock, 10006 stops the endpoint until the venue's
//! reset time, an HTTP 403 stops everything for ten minutes.

pub mod types;

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tradewind_strategies::sdk::ClientOrderId;

use super::error::{VenueError, from_answer};
use super::limits::{self, Endpoint};
use super::sign;
use crate::execution::rate_limit::{Blocked, RateLimiter};
use crate::venue::rest::{Http, Prepared, excerpt};
use crate::venue::sign::Credentials;

/// Every answer's envelope.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    ret_code: i64,
    #[serde(default)]
    ret_msg: String,
    #[serde(default)]
    result: Option<Box<serde_json::value::RawValue>>,
    /// The venue's clock when it answered (ms).
    #[serde(default)]
    time: Option<i64>,
}

/// A request: where, how it is charged, what it carries.
pub struct Call<'a> {
    pub method: Method,
    pub path: &'static str,
    pub endpoint: Endpoint,
    /// The query string of a GET (in the order sent), or the JSON body of a POST.
    pub payload: String,
    pub signed: bool,
    /// The new order it places (its strategy's share; shown as queued while it waits).
    pub order: Option<&'a ClientOrderId>,
    pub deadline: Option<Instant>,
    /// When the market frame that caused this order was read (tick-to-order latency).
    pub origin: Option<std::time::Instant>,
}

impl<'a> Call<'a> {
    /// A GET of `query` (`k=v&…`, as sent).
    pub fn get(path: &'static str, endpoint: Endpoint, query: String, signed: bool) -> Self {
        Self { method: Method::GET, path, endpoint, payload: query, signed, order: None, deadline: None, origin: None }
    }

    /// A signed POST of `body`.
    pub fn post(path: &'static str, endpoint: Endpoint, body: &serde_json::Value) -> Self {
        Self {
            method: Method::POST,
            path,
            endpoint,
            payload: body.to_string(),
            signed: true,
            order: None,
            deadline: None,
            origin: None,
        }
    }
}

/// A request signed and charged to the rate budget, not sent yet.
pub struct Signed {
    prepared: Prepared,
    endpoint: Endpoint,
}

pub struct RestClient {
    http: Http,
    /// Each request signs with the one it read (a lock, so that key rotation can swap it).
    credentials: std::sync::RwLock<Option<Arc<Credentials>>>,
    recv_window_ms: u64,
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
        Ok(Self {
            http: Http::new(base, timeout, limiter)?,
            credentials: std::sync::RwLock::new(credentials.map(Arc::new)),
            recv_window_ms,
        })
    }

    /// Names the venue in the metrics.
    pub fn with_label(mut self, venue: &str) -> Self {
        self.http.set_label(venue);
        self
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Signs later requests with `credentials` (key rotation).
    pub fn set_credentials(&self, credentials: Credentials) {
        *self.credentials.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(credentials));
    }

    /// Whether requests can be signed.
    pub fn has_credentials(&self) -> bool {
        self.credentials().is_some()
    }

    fn credentials(&self) -> Option<Arc<Credentials>> {
        self.credentials.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Measures the venue's clock (`GET /v5/market/time`, the envelope's `time`).
    pub async fn sync_clock(&self) -> Result<i64, VenueError> {
        let sent = crate::clock::now_ms();
        let call = Call::get("/v5/market/time", Endpoint::Public, String::new(), false);
        let (_, time): (serde_json::Value, _) = self.exchange(call).await?;
        let server = time.ok_or_else(|| VenueError::not_sent("the venue's time answer has no time"))?;
        Ok(self.http.set_clock(sent, server, crate::clock::now_ms()))
    }

    /// Sends `call` and reads the envelope's `result` as `T`. A refusal for
    /// the timestamp resyncs the clock before it is returned.
    pub async fn call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, VenueError> {
        self.exchange(call).await.map(|(result, _)| result)
    }

    /// Sends `call`: its `result` and the venue's time.
    async fn exchange<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<(T, Option<i64>), VenueError> {
        let owner = call.order.and_then(|id| id.owner()).map(|(instance, _)| instance);
        // Held until the answer: a query's read slot.
        let admission = self.http.admit(limits::cost(call.endpoint, owner), call.deadline, call.order.copied()).await?;
        let signed = self.sign(&call, admission.grant)?;
        self.send(signed).await
    }

    /// `call` signed and charged, if the budget has room now (`None`: it would have to wait).
    pub fn prepare_now(&self, call: &Call<'_>) -> Option<Result<Signed, VenueError>> {
        let owner = call.order.and_then(|id| id.owner()).map(|(instance, _)| instance);
        let grant = self.http.admit_now(limits::cost(call.endpoint, owner))?;
        Some(self.sign(call, grant))
    }

    /// Builds and signs `call`, charged as `grant` (answered back if it cannot be built).
    fn sign(&self, call: &Call<'_>, grant: crate::execution::rate_limit::Grant) -> Result<Signed, VenueError> {
        match self.prepare(call) {
            Ok(request) => Ok(Signed {
                prepared: Prepared {
                    request,
                    method: call.method.clone(),
                    path: call.path,
                    origin: call.origin,
                    grant,
                },
                endpoint: call.endpoint,
            }),
            Err(e) => {
                self.http.abandon(grant);
                Err(e)
            }
        }
    }

    /// Sends a signed request and reads the envelope's `result` as `T` (with the venue's time).
    pub async fn send<T: DeserializeOwned>(&self, signed: Signed) -> Result<(T, Option<i64>), VenueError> {
        let Signed { prepared, endpoint } = signed;
        let mutating = prepared.method != Method::GET;
        let limiter = self.http.limiter();
        let answer = self.http.send(prepared, |headers| limits::observe(limiter, endpoint, headers)).await?;
        let envelope = serde_json::from_str::<Envelope>(&answer.body);
        let envelope = match envelope {
            Ok(e) if answer.is_success() => e,
            Ok(e) => return Err(self.refused(&answer, Some(e.ret_code), &e.ret_msg, endpoint)),
            Err(_) if answer.is_success() => {
                let message = format!("unexpected response body: {}", excerpt(&answer.body));
                return Err(if mutating { VenueError::unknown(message) } else { VenueError::not_sent(message) });
            }
            Err(_) => return Err(self.refused(&answer, None, &excerpt(&answer.body), endpoint)),
        };
        if envelope.ret_code != 0 {
            let error = self.refused(&answer, Some(envelope.ret_code), &envelope.ret_msg, endpoint);
            if error.is_clock_skew() {
                let _ = Box::pin(self.sync_clock()).await;
            }
            return Err(error);
        }
        let raw = envelope.result.as_deref().map_or("null", |r| r.get());
        let result = serde_json::from_str(raw).map_err(|e| {
            let message = format!("unexpected result: {e}");
            if mutating { VenueError::unknown(message) } else { VenueError::not_sent(message) }
        })?;
        Ok((result, envelope.time))
    }

    /// Classifies a refusal and stops what it says to stop.
    fn refused(
        &self,
        answer: &crate::venue::rest::Answer,
        code: Option<i64>,
        message: &str,
        endpoint: Endpoint,
    ) -> VenueError {
        let error = from_answer(answer.status, code, message);
        let limiter = self.http.limiter();
        if answer.status == 403 {
            tracing::error!(
                status = 403,
                "Bybit refused this IP for passing its rate limit; every request waits ten minutes"
            );
            limiter.block_for(Blocked::All, super::error::IP_BAN);
        } else if error.kind == crate::execution::error::ErrorKind::RateLimited {
            // Until the venue's reset time for the endpoint (a second at most).
            let reset = answer.header("x-bapi-limit-reset-timestamp").and_then(|t| i64::try_from(t).ok());
            let wait_ms = reset.map_or(1_000, |t| (t - self.http.server_now_ms()).clamp(0, 60_000));
            let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(1_000));
            let blocked = endpoint.budget().map_or(Blocked::All, Blocked::Budget);
            tracing::warn!(code, wait_ms, blocked = ?blocked, "rate limited by the venue; pausing, then one probe");
            limiter.block_for(blocked, wait);
        }
        error
    }

    /// The request, signed if asked.
    fn prepare(&self, call: &Call<'_>) -> Result<reqwest::Request, VenueError> {
        let mut url = self.http.url(call.path);
        let get = call.method == Method::GET;
        if get && !call.payload.is_empty() {
            url.set_query(Some(&call.payload));
        }
        let mut request = reqwest::Request::new(call.method.clone(), url);
        let headers = request.headers_mut();
        if call.signed {
            let Some(credentials) = self.credentials() else {
                return Err(VenueError::not_sent("this venue has no API credentials"));
            };
            let key = credentials.api_key.expose();
            let timestamp = self.http.server_now_ms();
            let payload = sign::rest_payload(timestamp, key, self.recv_window_ms, &call.payload);
            let signature = credentials.signer.sign(payload.as_bytes());
            let value = |v: &str| {
                HeaderValue::from_str(v)
                    .map_err(|_| VenueError::not_sent("the API key is not a valid HTTP header value"))
            };
            let mut key_value = value(key)?;
            key_value.set_sensitive(true);
            headers.insert(HeaderName::from_static(sign::API_KEY), key_value);
            headers.insert(HeaderName::from_static(sign::TIMESTAMP), value(&timestamp.to_string())?);
            headers.insert(HeaderName::from_static(sign::RECV_WINDOW), value(&self.recv_window_ms.to_string())?);
            headers.insert(HeaderName::from_static(sign::SIGN), value(&signature)?);
        }
        if !get {
            headers.insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            *request.body_mut() = Some(call.payload.clone().into());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests;
