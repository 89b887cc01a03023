//! What every venue's REST client shares, below its own signing and error
//! codes: one pooled HTTP client per venue, the base URL parsed once, the
//! venue's clock offset, admission through the [`RateLimiter`] (new orders
//! waiting for the budget are shown as queued; at most [`READS_IN_FLIGHT`]
//! queries at once), and sending a built request: the tick-to-order and
//! request-time metrics, transport failures classified (not connected: not
//! sent; anything later: unknown), the venue's rate-limit headers handed to
//! the connector, the budget gauges, and the grant answered.
//!
//! A connector builds and signs a [`Prepared`] request and reads the
//! [`Answer`]; what a non-2xx body means is its own ([`crate::execution::error`]).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tradewind_strategies::sdk::ClientOrderId;

use crate::execution::error::VenueError;
use crate::execution::rate_limit::{Cost, Grant, Priority, RateLimiter};

/// Queries and bulk reads in flight at once (orders and cancels are never
/// held back): when a venue tightens its limits unannounced, only that many
/// can arrive after its first 429 (venues ban an IP that keeps sending).
pub const READS_IN_FLIGHT: usize = 4;

/// A request built, signed and charged to the rate budget, not sent yet.
pub struct Prepared {
    pub request: reqwest::Request,
    pub method: Method,
    /// The endpoint, for metrics and errors.
    pub path: &'static str,
    /// When the market frame that caused this order was read (tick-to-order latency).
    pub origin: Option<std::time::Instant>,
    /// What the rate limiter let it through as (a probe after a block is answered back to it).
    pub grant: Grant,
}

/// The venue's answer, any status.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A numeric header (`Retry-After`, a venue's counts).
    pub fn header(&self, name: &str) -> Option<u64> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
    }

    /// Whether the venue said too many requests (429, or 418: an IP ban).
    pub fn is_limited(&self) -> bool {
        matches!(self.status, 429 | 418)
    }
}

/// A permission to send: the rate budget's grant, and a read slot for queries.
pub struct Admission<'a> {
    pub grant: Grant,
    _read: Option<tokio::sync::SemaphorePermit<'a>>,
}

/// One venue's HTTP plumbing.
pub struct Http {
    /// The venue's name, for metric labels.
    label: String,
    client: reqwest::Client,
    /// The base URL, parsed once: each request only sets its path and query.
    base: reqwest::Url,
    /// The base URL's own path (a prefix), without a trailing slash.
    base_path: String,
    /// Server time minus local time, in milliseconds.
    clock_offset_ms: AtomicI64,
    limiter: Arc<RateLimiter>,
    /// New orders waiting for room in the rate budget.
    queued: std::sync::Mutex<HashSet<ClientOrderId>>,
    reads: tokio::sync::Semaphore,
}

impl Http {
    /// A client for `base` (e.g. `https://api.binance.com`). `timeout` bounds
    /// each request; past it the outcome of an order is unknown.
    pub fn new(base: &str, timeout: Duration, limiter: Arc<RateLimiter>) -> Result<Self, VenueError> {
        // The one TLS provider (ring), before any client is built.
        crate::venue::install_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(50))
            .tcp_nodelay(true)
            .user_agent(concat!("tradewind/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| VenueError::not_sent(format!("cannot build the HTTP client: {e}")))?;
        let base = reqwest::Url::parse(base.trim_end_matches('/'))
            .map_err(|e| VenueError::not_sent(format!("bad REST base URL {base:?}: {e}")))?;
        let base_path = base.path().trim_end_matches('/').to_owned();
        Ok(Self {
            label: String::new(),
            client,
            base,
            base_path,
            clock_offset_ms: AtomicI64::new(0),
            limiter,
            queued: std::sync::Mutex::new(HashSet::new()),
            reads: tokio::sync::Semaphore::new(READS_IN_FLIGHT),
        })
    }

    /// Names the venue in the metrics.
    pub fn set_label(&mut self, venue: &str) {
        venue.clone_into(&mut self.label);
    }

    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.limiter
    }

    /// `path` under the base URL.
    pub fn url(&self, path: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        if self.base_path.is_empty() {
            url.set_path(path);
        } else {
            url.set_path(&format!("{}{path}", self.base_path));
        }
        url
    }

    /// Milliseconds on the venue's clock now (local clock plus the measured offset).
    pub fn server_now_ms(&self) -> i64 {
        crate::clock::now_ms() + self.clock_offset_ms.load(Ordering::Relaxed)
    }

    /// The venue said `server_ms` to a request sent at local `sent_ms` and
    /// answered at `received_ms`: its offset, taken at the midpoint.
    pub fn set_clock(&self, sent_ms: i64, server_ms: i64, received_ms: i64) -> i64 {
        let offset = server_ms - (sent_ms + received_ms) / 2;
        self.clock_offset_ms.store(offset, Ordering::Relaxed);
        offset
    }

    /// Waits for room in the rate budget (and, for queries, a read slot).
    /// `order`: the new order this request places, shown as queued while it waits.
    pub async fn admit(
        &self,
        cost: Cost<'_>,
        deadline: Option<Instant>,
        order: Option<ClientOrderId>,
    ) -> Result<Admission<'_>, VenueError> {
        let read = match cost.priority {
            Priority::Query | Priority::Bulk => {
                Some(self.reads.acquire().await.map_err(|_| VenueError::not_sent("closed"))?)
            }
            Priority::Cancel | Priority::NewOrder => None,
        };
        let grant = match self.limiter.try_acquire_now(cost) {
            Some(grant) => grant,
            None => {
                if let Some(id) = order {
                    self.queued_orders().insert(id);
                }
                let acquired = self.limiter.acquire(cost, deadline).await;
                if let Some(id) = order {
                    self.queued_orders().remove(&id);
                }
                acquired.map_err(|e| VenueError::budget(format!("rate limit: {e}")))?
            }
        };
        Ok(Admission { grant, _read: read })
    }

    /// The grant for `cost` if the budget has room now.
    pub fn admit_now(&self, cost: Cost<'_>) -> Option<Grant> {
        self.limiter.try_acquire_now(cost)
    }

    /// A request that will not be sent after all (it failed to build): its grant is answered.
    pub fn abandon(&self, grant: Grant) {
        self.limiter.answered(grant, false);
    }

    fn queued_orders(&self) -> std::sync::MutexGuard<'_, HashSet<ClientOrderId>> {
        self.queued.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether new order `id` is waiting for room in the rate budget.
    pub fn is_queued(&self, id: &ClientOrderId) -> bool {
        self.queued_orders().contains(id)
    }

    /// Sends `prepared` and reads the answer. `observe` sees the headers
    /// first (the venue's own counts, fed to the limiter); a 429 or 418
    /// answers the grant as limited, and the connector decides what it stops.
    pub async fn send(&self, prepared: Prepared, observe: impl FnOnce(&HeaderMap)) -> Result<Answer, VenueError> {
        let Prepared { request, method, path, origin, grant } = prepared;
        let sent = std::time::Instant::now();
        if let Some(origin) = origin {
            // Signed, rate-limited and handed to the HTTP client: the tick-to-order path ends here.
            metrics::histogram!("tradewind_tick_to_order_seconds").record((sent - origin).as_secs_f64());
            crate::latency::TICK_TO_ORDER.record(sent - origin);
        }
        let response = self.client.execute(request).await;
        metrics::histogram!("tradewind_request_seconds", "venue" => self.label.clone(), "endpoint" => path)
            .record(sent.elapsed().as_secs_f64());
        let mut response = match response {
            Ok(response) => response,
            Err(e) => {
                self.limiter.answered(grant, false);
                let connect = e.is_connect();
                let message = format!("{method} {path}: {}", redact(&e.without_url().to_string()));
                return Err(if connect { VenueError::not_sent(message) } else { VenueError::unknown(message) });
            }
        };
        let status = response.status().as_u16();
        // The body is read from the response after this; the headers are not needed there.
        let headers = std::mem::take(response.headers_mut());
        observe(&headers);
        for (budget, used, limit) in self.limiter.usage() {
            metrics::gauge!("tradewind_rate_limit_used", "venue" => self.label.clone(), "budget" => budget)
                .set(f64::from(used));
            metrics::gauge!("tradewind_rate_limit_limit", "venue" => self.label.clone(), "budget" => budget)
                .set(f64::from(limit));
        }
        let answer = Answer { status, headers, body: String::new() };
        self.limiter.answered(grant, answer.is_limited());
        if answer.is_limited() {
            metrics::counter!("tradewind_http_429_total", "venue" => self.label.clone()).increment(1);
        }
        let body = response.text().await.map_err(|e| {
            VenueError::unknown(format!("reading the response: {}", redact(&e.without_url().to_string())))
        })?;
        Ok(Answer { body, ..answer })
    }
}

/// A 2xx body read as `T`. For a request that changes state, a body we
/// cannot read leaves its outcome unknown.
pub fn decode<T: DeserializeOwned>(body: &str, mutating: bool) -> Result<T, VenueError> {
    serde_json::from_str(body).map_err(|e| {
        let message = format!("unexpected response body: {e}");
        if mutating { VenueError::unknown(message) } else { VenueError::not_sent(message) }
    })
}

/// The first 200 characters, on one line.
pub fn excerpt(body: &str) -> String {
    body.chars().take(200).map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Removes anything that looks like a signature from an error text (a query's `signature=…`).
pub fn redact(text: &str) -> String {
    match text.find("signature=") {
        Some(i) => format!("{}signature=***", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_offset_is_taken_at_the_midpoint() {
        crate::venue::install_tls_provider();
        let limiter = Arc::new(RateLimiter::new(Vec::new()));
        let http = Http::new("http://127.0.0.1:9", Duration::from_secs(1), limiter).unwrap();
        assert_eq!(http.set_clock(1_000, 1_600, 1_200), 500);
        let now = crate::clock::now_ms();
        assert!((http.server_now_ms() - now - 500).abs() < 1_000);
    }

    #[test]
    fn urls_keep_the_base_path() {
        crate::venue::install_tls_provider();
        let limiter = Arc::new(RateLimiter::new(Vec::new()));
        let http = Http::new("http://127.0.0.1:9/prefix/", Duration::from_secs(1), limiter).unwrap();
        assert_eq!(http.url("/api/v3/time").as_str(), "http://127.0.0.1:9/prefix/api/v3/time");
    }

    #[test]
    fn error_texts_never_carry_signatures() {
        assert_eq!(
            redact("error sending request for url (http://x/api?a=1&signature=abc)"),
            "error sending request for url (http://x/api?a=1&signature=***"
        );
        assert_eq!(
            excerpt("<html>\n<body>502 Bad Gateway</body></html>"),
            "<html> <body>502 Bad Gateway</body></html>"
        );
    }

    #[test]
    fn a_2xx_body_that_does_not_read_is_unknown_only_for_requests_that_change_state() {
        let bad = "<html>";
        assert_eq!(
            decode::<serde_json::Value>(bad, true).unwrap_err().outcome,
            crate::execution::error::Outcome::Unknown
        );
        assert_eq!(
            decode::<serde_json::Value>(bad, false).unwrap_err().outcome,
            crate::execution::error::Outcome::NotSent
        );
    }
}
