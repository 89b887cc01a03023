//! The signed REST client of a venue that answers in an envelope (`{code,
//! message, result}`: Bybit's `retCode`, OKX's `code`), on the shared HTTP
//! plumbing ([`crate::venue::rest::Http`]). A venue says what is its own
//! through a [`Protocol`]: how a request is charged and signed, how an
//! answer's envelope reads, what a refusal stops, where its clock is. The
//! rest is here, once: admission through the rate budget, the in-call
//! send's prepare and complete, a refusal for the timestamp answered by a
//! clock resync, a 2xx body that does not read leaving a change's outcome
//! unknown, and a key that can be swapped while requests are in flight.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::time::Instant;
use tradewind_strategies::sdk::ClientOrderId;

use crate::execution::error::VenueError;
use crate::execution::rate_limit::{Cost, Grant, RateLimiter};
use crate::venue::rest::{Answer, Http, Prepared, excerpt};

/// An answer's envelope.
#[derive(Debug)]
pub struct Envelope {
    /// 0: success; anything else the venue's refusal.
    pub code: i64,
    pub message: String,
    pub result: Option<Box<RawValue>>,
    /// The venue's clock when it answered (ms), when the envelope says.
    pub time: Option<i64>,
}

/// A request as it will be sent, for signing.
pub struct Unsigned<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    /// The query string sent (`""` for none).
    pub query: &'a str,
    /// The body sent (`""` for a GET).
    pub body: &'a str,
}

/// What a venue's signed REST protocol says.
pub trait Protocol: Send + Sync + 'static {
    /// The venue's endpoints, each charged to its budgets.
    type Endpoint: Copy + std::fmt::Debug + Send + Sync + 'static;
    /// What signs a request (a key and secret; OKX's with a passphrase).
    type Key: Send + Sync + 'static;

    /// What one request to `endpoint` costs; `owner`: the strategy a new order is for.
    fn cost<'a>(&self, endpoint: Self::Endpoint, owner: Option<&'a str>) -> Cost<'a>;

    /// The authentication headers of `request`, signed at venue time `now_ms`.
    fn sign(
        &self,
        key: &Self::Key,
        request: &Unsigned<'_>,
        now_ms: i64,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, VenueError>;

    /// Headers every request carries (OKX's demo flag).
    fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        Vec::new()
    }

    /// The envelope of an answer's body (`None`: not one).
    fn envelope(&self, body: &str) -> Option<Envelope>;

    /// Folds an answer's headers (the venue's own counts) into the limiter.
    fn observe(&self, limiter: &RateLimiter, endpoint: Self::Endpoint, headers: &HeaderMap) {
        let _ = (limiter, endpoint, headers);
    }

    /// Classifies a refusal (and stops, through the limiter, what it says to stop).
    fn refused(
        &self,
        http: &Http,
        answer: &Answer,
        code: Option<i64>,
        message: &str,
        endpoint: Self::Endpoint,
    ) -> VenueError;

    /// The unsigned GET that reads the venue's clock.
    fn clock(&self) -> (&'static str, Self::Endpoint);

    /// The venue's time (ms) in the clock's answer.
    fn server_time(&self, result: &str, envelope_time: Option<i64>) -> Option<i64>;
}

/// A request: where, how it is charged, what it carries.
pub struct Call<'a, E> {
    pub method: Method,
    pub path: &'static str,
    pub endpoint: E,
    /// The query string of a GET (in the order sent), or the JSON body of a POST.
    pub payload: String,
    pub signed: bool,
    /// The new order it places (its strategy's share; shown as queued while it waits).
    pub order: Option<&'a ClientOrderId>,
    pub deadline: Option<Instant>,
    /// When the market frame that caused this order was read (tick-to-order latency).
    pub origin: Option<std::time::Instant>,
}

impl<'a, E> Call<'a, E> {
    /// A GET of `query` (`k=v&…`, as sent).
    pub fn get(path: &'static str, endpoint: E, query: String, signed: bool) -> Self {
        Self { method: Method::GET, path, endpoint, payload: query, signed, order: None, deadline: None, origin: None }
    }

    /// A signed POST of `body`.
    pub fn post(path: &'static str, endpoint: E, body: &serde_json::Value) -> Self {
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
pub struct Signed<E> {
    prepared: Prepared,
    endpoint: E,
}

pub struct SignedRest<P: Protocol> {
    http: Http,
    /// Each request signs with the one it read (a lock, so that key rotation can swap it).
    key: std::sync::RwLock<Option<Arc<P::Key>>>,
    protocol: P,
}

impl<P: Protocol> SignedRest<P> {
    /// A client for `base` speaking `protocol`. Past `timeout` an order's outcome is unknown.
    pub fn with_protocol(
        base: &str,
        key: Option<P::Key>,
        timeout: Duration,
        limiter: Arc<RateLimiter>,
        protocol: P,
    ) -> Result<Self, VenueError> {
        Ok(Self { http: Http::new(base, timeout, limiter)?, key: std::sync::RwLock::new(key.map(Arc::new)), protocol })
    }

    /// Names the venue in the metrics.
    pub fn with_label(mut self, venue: &str) -> Self {
        self.http.set_label(venue);
        self
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    pub fn protocol(&self) -> &P {
        &self.protocol
    }

    /// Signs later requests with `key` (key rotation).
    pub fn set_key(&self, key: P::Key) {
        *self.key.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(key));
    }

    /// Whether requests can be signed.
    pub fn has_key(&self) -> bool {
        self.key().is_some()
    }

    /// The key requests are signed with now (a WebSocket login signs with it too).
    pub fn key(&self) -> Option<Arc<P::Key>> {
        self.key.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Measures the venue's clock; the offset found.
    pub async fn sync_clock(&self) -> Result<i64, VenueError> {
        let sent = crate::clock::now_ms();
        let (path, endpoint) = self.protocol.clock();
        let (result, time): (Box<RawValue>, _) = self.exchange(Call::get(path, endpoint, String::new(), false)).await?;
        let server = self
            .protocol
            .server_time(result.get(), time)
            .ok_or_else(|| VenueError::not_sent("the venue's time answer has no time"))?;
        Ok(self.http.set_clock(sent, server, crate::clock::now_ms()))
    }

    /// Sends `call` and reads the envelope's result as `T`. A refusal for
    /// the timestamp resyncs the clock before it is returned.
    pub async fn call<T: DeserializeOwned>(&self, call: Call<'_, P::Endpoint>) -> Result<T, VenueError> {
        self.exchange(call).await.map(|(result, _)| result)
    }

    /// Sends `call`: its result and the venue's time.
    async fn exchange<T: DeserializeOwned>(&self, call: Call<'_, P::Endpoint>) -> Result<(T, Option<i64>), VenueError> {
        let owner = call.order.and_then(|id| id.owner()).map(|(instance, _)| instance);
        // Held until the answer: a query's read slot.
        let cost = self.protocol.cost(call.endpoint, owner);
        let admission = self.http.admit(cost, call.deadline, call.order.copied()).await?;
        let signed = self.sign(&call, admission.grant)?;
        self.send(signed).await
    }

    /// `call` signed and charged, if the budget has room now (`None`: it would have to wait).
    pub fn prepare_now(&self, call: &Call<'_, P::Endpoint>) -> Option<Result<Signed<P::Endpoint>, VenueError>> {
        let owner = call.order.and_then(|id| id.owner()).map(|(instance, _)| instance);
        let grant = self.http.admit_now(self.protocol.cost(call.endpoint, owner))?;
        Some(self.sign(call, grant))
    }

    /// Builds and signs `call`, charged as `grant` (answered back if it cannot be built).
    fn sign(&self, call: &Call<'_, P::Endpoint>, grant: Grant) -> Result<Signed<P::Endpoint>, VenueError> {
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

    /// Sends a signed request and reads the envelope's result as `T` (with the venue's time).
    pub async fn send<T: DeserializeOwned>(&self, signed: Signed<P::Endpoint>) -> Result<(T, Option<i64>), VenueError> {
        let Signed { prepared, endpoint } = signed;
        let mutating = prepared.method != Method::GET;
        let limiter = self.http.limiter();
        let answer = self.http.send(prepared, |headers| self.protocol.observe(limiter, endpoint, headers)).await?;
        let envelope = match self.protocol.envelope(&answer.body) {
            Some(e) if answer.is_success() && e.code == 0 => e,
            // A refusal in the envelope, whatever the status (Bybit's come with 200, OKX's often with 4xx).
            Some(e) => {
                let error = self.protocol.refused(&self.http, &answer, Some(e.code), &e.message, endpoint);
                if error.is_clock_skew() {
                    let _ = Box::pin(self.sync_clock()).await;
                }
                return Err(error);
            }
            None if answer.is_success() => {
                let message = format!("unexpected response body: {}", excerpt(&answer.body));
                return Err(if mutating { VenueError::unknown(message) } else { VenueError::not_sent(message) });
            }
            None => return Err(self.protocol.refused(&self.http, &answer, None, &excerpt(&answer.body), endpoint)),
        };
        let raw = envelope.result.as_deref().map_or("null", RawValue::get);
        let result = serde_json::from_str(raw).map_err(|e| {
            let message = format!("unexpected result: {e}");
            if mutating { VenueError::unknown(message) } else { VenueError::not_sent(message) }
        })?;
        Ok((result, envelope.time))
    }

    /// The request, signed if asked.
    pub(crate) fn prepare(&self, call: &Call<'_, P::Endpoint>) -> Result<reqwest::Request, VenueError> {
        let mut url = self.http.url(call.path);
        let get = call.method == Method::GET;
        let (query, body) = if get { (call.payload.as_str(), "") } else { ("", call.payload.as_str()) };
        if !query.is_empty() {
            url.set_query(Some(query));
        }
        let mut request = reqwest::Request::new(call.method.clone(), url);
        let headers = request.headers_mut();
        for (name, value) in self.protocol.headers() {
            headers.insert(name, value);
        }
        if call.signed {
            let Some(key) = self.key() else {
                return Err(VenueError::not_sent("this venue has no API credentials"));
            };
            let unsigned = Unsigned { method: &call.method, path: call.path, query, body };
            for (name, value) in self.protocol.sign(&key, &unsigned, self.http.server_now_ms())? {
                headers.insert(name, value);
            }
        }
        if !get {
            headers.insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            *request.body_mut() = Some(call.payload.clone().into());
        }
        Ok(request)
    }
}

/// A header value, or why the request cannot carry it (a key with bytes HTTP does not allow).
pub fn header_value(value: &str, sensitive: bool) -> Result<HeaderValue, VenueError> {
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| VenueError::not_sent("the API key is not a valid HTTP header value"))?;
    value.set_sensitive(sensitive);
    Ok(value)
}
