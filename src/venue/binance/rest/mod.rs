//! The Binance Spot REST client: one pooled `reqwest` client per venue,
//! signed requests (`X-MBX-APIKEY`, percent-encoded payload, `timestamp`
//! from a clock corrected by `/api/v3/time`), every request charged to the
//! [`RateLimiter`] with its documented weight and the venue's headers fed
//! back into it, and errors classified by [`VenueError`].

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tradewind_strategies::sdk::{ClientOrderId, NewOrder, OrderKind, Side, Symbol};

pub use exchange_info::parse_exchange_info;
pub use types::*;
use types::{ErrorBody, ServerTime};

use super::error::VenueError;
use super::sign::Query;
use crate::execution::rate_limit::{Blocked, Cost, Grant, Priority, RateLimiter};
use crate::execution::report::VenueTrade;
use crate::venue::binance::limits;
pub use crate::venue::rest::Prepared;
use crate::venue::rest::{Http, decode, excerpt};

pub use crate::venue::sign::Credentials;

const API_KEY_HEADER: reqwest::header::HeaderName = reqwest::header::HeaderName::from_static("x-mbx-apikey");
const FORM: reqwest::header::HeaderValue =
    reqwest::header::HeaderValue::from_static("application/x-www-form-urlencoded");

/// Credentials, with the API key's header value made once.
#[derive(Clone)]
struct Keyed {
    credentials: Arc<Credentials>,
    /// `X-MBX-APIKEY` (marked sensitive); none if the key is not a valid header value.
    header: Option<reqwest::header::HeaderValue>,
}

impl Keyed {
    fn new(credentials: Credentials) -> Self {
        let header = reqwest::header::HeaderValue::from_str(credentials.api_key.expose()).ok().map(|mut h| {
            h.set_sensitive(true);
            h
        });
        Self { credentials: Arc::new(credentials), header }
    }
}

/// One request: what to send and how to charge it.
struct Call {
    method: Method,
    path: &'static str,
    query: Query,
    signed: bool,
    weight: u32,
    orders: u32,
    priority: Priority,
    deadline: Option<Instant>,
    /// When the market frame that caused this order was read (tick-to-order latency).
    origin: Option<std::time::Instant>,
    /// The new order this request places (its strategy's share of the order budget;
    /// shown as queued while it waits for the budget).
    order_id: Option<ClientOrderId>,
}

impl Call {
    fn cost(&self) -> Cost<'_> {
        let owner = self.order_id.as_ref().and_then(|id| id.owner()).map(|(instance, _)| instance);
        limits::cost(self.weight, self.orders, self.priority, owner)
    }
}

pub struct RestClient {
    /// The HTTP client, base URL, clock offset and rate-limit admission.
    http: Http,
    /// The order path's endpoints with their URLs, parsed once: setting a
    /// path runs the URL parser, a clone only copies.
    order_urls: [(&'static str, reqwest::Url); 2],
    /// Swapped whole on key rotation; each request signs with the one it read.
    credentials: std::sync::RwLock<Option<Keyed>>,
    recv_window_ms: u64,
}

impl RestClient {
    /// A client for `base` (e.g. `https://api.binance.com`). `timeout` bounds
    /// each request; past it the outcome of an order is unknown.
    pub fn new(
        base: &str,
        credentials: Option<Credentials>,
        recv_window_ms: u64,
        timeout: Duration,
        limiter: Arc<RateLimiter>,
    ) -> Result<Self, VenueError> {
        let http = Http::new(base, timeout, limiter)?;
        let order_urls = [ORDER, CANCEL_REPLACE].map(|path| (path, http.url(path)));
        Ok(Self { http, order_urls, credentials: std::sync::RwLock::new(credentials.map(Keyed::new)), recv_window_ms })
    }

    /// Names the venue in this client's metrics.
    pub fn with_label(mut self, venue: &str) -> Self {
        self.http.set_label(venue);
        self
    }

    pub fn limiter(&self) -> &Arc<RateLimiter> {
        self.http.limiter()
    }

    /// The key in use (none: public data only).
    pub fn credentials(&self) -> Option<Arc<Credentials>> {
        self.keyed().map(|k| k.credentials)
    }

    fn keyed(&self) -> Option<Keyed> {
        self.credentials.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Signs every later request with `credentials` (key rotation); requests
    /// already signed go out as they are.
    pub fn set_credentials(&self, credentials: Credentials) {
        *self.credentials.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Keyed::new(credentials));
    }

    /// Milliseconds on the venue's clock now (local clock plus the measured offset).
    pub fn server_now_ms(&self) -> i64 {
        self.http.server_now_ms()
    }

    /// Measures the offset of the venue's clock from ours (`/api/v3/time`).
    pub async fn sync_clock(&self) -> Result<i64, VenueError> {
        let sent = crate::clock::now_ms();
        let t: ServerTime = self.json(self.call(Method::GET, "/api/v3/time", Query::new(), 1, Priority::Query)).await?;
        Ok(self.http.set_clock(sent, t.server_time, crate::clock::now_ms()))
    }

    pub async fn exchange_info(&self) -> Result<ExchangeInfo, VenueError> {
        let raw: serde_json::Value =
            self.json(self.call(Method::GET, "/api/v3/exchangeInfo", Query::new(), 20, Priority::Bulk)).await?;
        parse_exchange_info(&raw)
    }

    /// Order-book snapshot; `limit` ≤ 5000 (weight grows with it).
    pub async fn depth(&self, symbol: Symbol, limit: u32) -> Result<DepthSnapshot, VenueError> {
        let weight = match limit {
            0..=100 => 5,
            101..=500 => 25,
            501..=1000 => 50,
            _ => 250,
        };
        let mut q = Query::new();
        q.push("symbol", symbol).push("limit", limit);
        self.json(self.call(Method::GET, "/api/v3/depth", q, weight, Priority::Bulk)).await
    }

    /// The best bid and ask of `symbols` (weight 2 for one, 4 for several).
    pub async fn book_tickers(&self, symbols: &[Symbol]) -> Result<Vec<BookTicker>, VenueError> {
        let mut q = Query::new();
        if let [symbol] = symbols {
            q.push("symbol", *symbol);
            let one: BookTicker =
                self.json(self.call(Method::GET, "/api/v3/ticker/bookTicker", q, 2, Priority::Query)).await?;
            return Ok(vec![one]);
        }
        let list = serde_json::to_string(&symbols.iter().map(Symbol::as_str).collect::<Vec<_>>())
            .map_err(|e| VenueError::not_sent(format!("symbols: {e}")))?;
        q.push("symbols", list.as_str());
        self.json(self.call(Method::GET, "/api/v3/ticker/bookTicker", q, 4, Priority::Query)).await
    }

    /// Places a new order (ACK response: fills arrive on the user stream).
    /// `origin`: when the market frame that caused the order was read (for
    /// `tradewind_tick_to_order_seconds`).
    pub async fn new_order(
        &self,
        id: &ClientOrderId,
        order: &NewOrder,
        deadline: Option<Instant>,
        origin: Option<std::time::Instant>,
    ) -> Result<OrderAck, VenueError> {
        let mut call = self.new_order_call(id, order, origin);
        call.deadline = deadline;
        self.json(call).await
    }

    /// Cancels by client order id.
    pub async fn cancel_order(&self, symbol: Symbol, id: &ClientOrderId) -> Result<OrderInfo, VenueError> {
        let mut q = Query::new();
        q.push("symbol", symbol).push("origClientOrderId", id);
        self.json(self.signed(Method::DELETE, ORDER, q, 1, Priority::Cancel)).await
    }

    /// Cancel-replace (STOP_ON_FAILURE): cancels `cancel` and places `order` as `id`.
    pub async fn cancel_replace(
        &self,
        cancel: &ClientOrderId,
        id: &ClientOrderId,
        order: &NewOrder,
        origin: Option<std::time::Instant>,
    ) -> Result<serde_json::Value, VenueError> {
        self.json(self.cancel_replace_call(cancel, id, order, origin)).await
    }

    /// Queries an order by client order id.
    pub async fn query_order(&self, symbol: Symbol, id: &ClientOrderId) -> Result<OrderInfo, VenueError> {
        let mut q = Query::new();
        q.push("symbol", symbol).push("origClientOrderId", id);
        self.json(self.signed(Method::GET, ORDER, q, 4, Priority::Query)).await
    }

    /// Open orders of one symbol (weight 6) or of the whole account (weight 80).
    pub async fn list_open_orders(&self, symbol: Option<Symbol>) -> Result<Vec<OrderInfo>, VenueError> {
        let mut q = Query::new();
        if let Some(symbol) = symbol {
            q.push("symbol", symbol);
        }
        let weight = if symbol.is_some() { 6 } else { 80 };
        self.json(self.signed(Method::GET, "/api/v3/openOrders", q, weight, Priority::Query)).await
    }

    /// What the API key may do (`GET /sapi/v1/account/apiRestrictions`, mainnet only).
    pub async fn api_restrictions(&self) -> Result<ApiRestrictions, VenueError> {
        self.json(self.signed(Method::GET, "/sapi/v1/account/apiRestrictions", Query::new(), 1, Priority::Query)).await
    }

    pub async fn account(&self) -> Result<Account, VenueError> {
        let mut q = Query::new();
        q.push("omitZeroBalances", "true");
        self.json(self.signed(Method::GET, "/api/v3/account", q, 20, Priority::Query)).await
    }

    /// The account's trades of one order.
    pub async fn trades_of(&self, symbol: Symbol, order_id: u64) -> Result<Vec<VenueTrade>, VenueError> {
        let mut q = Query::new();
        q.push("symbol", symbol).push("orderId", order_id);
        let rows: Vec<AccountTrade> =
            self.json(self.signed(Method::GET, "/api/v3/myTrades", q, 5, Priority::Query)).await?;
        Ok(rows.iter().map(VenueTrade::from).collect())
    }

    fn call(&self, method: Method, path: &'static str, query: Query, weight: u32, priority: Priority) -> Call {
        Call {
            method,
            path,
            query,
            signed: false,
            weight,
            orders: 0,
            priority,
            deadline: None,
            origin: None,
            order_id: None,
        }
    }

    fn signed(&self, method: Method, path: &'static str, query: Query, weight: u32, priority: Priority) -> Call {
        Call { signed: true, ..self.call(method, path, query, weight, priority) }
    }

    async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, VenueError> {
        let mutating = call.method != Method::GET;
        let body = self.send(call).await?;
        decode(&body, mutating)
    }

    /// Sends one request and returns the body of a 2xx response.
    async fn send(&self, call: Call) -> Result<String, VenueError> {
        let admission = self.http.admit(call.cost(), call.deadline, call.order_id).await?;
        let grant = admission.grant;
        let prepared = match self.prepare(call) {
            Ok(prepared) => Prepared { grant, ..prepared },
            Err(e) => {
                self.http.abandon(grant);
                return Err(e);
            }
        };
        self.exchange(prepared).await
    }

    /// Whether new order `id` is waiting for room in the rate budget.
    pub fn is_queued(&self, id: &ClientOrderId) -> bool {
        self.http.is_queued(id)
    }

    /// A new order, signed and built, if the rate budget has room for it now
    /// (`None`: it would have to wait). Nothing is sent until [`Self::complete`].
    pub fn prepare_new_order_now(
        &self,
        id: &ClientOrderId,
        order: &NewOrder,
        origin: Option<std::time::Instant>,
    ) -> Option<Result<Prepared, VenueError>> {
        self.prepare_now(self.new_order_call(id, order, origin))
    }

    /// [`Self::prepare_new_order_now`] for a cancel-replace.
    pub fn prepare_cancel_replace_now(
        &self,
        cancel: &ClientOrderId,
        id: &ClientOrderId,
        order: &NewOrder,
        origin: Option<std::time::Instant>,
    ) -> Option<Result<Prepared, VenueError>> {
        self.prepare_now(self.cancel_replace_call(cancel, id, order, origin))
    }

    /// `POST /api/v3/order` (ACK response), caused by the frame read at `origin`.
    fn new_order_call(&self, id: &ClientOrderId, order: &NewOrder, origin: Option<std::time::Instant>) -> Call {
        let call = self.signed(Method::POST, ORDER, order_query(id, order), 1, Priority::NewOrder);
        Call { orders: 1, origin, order_id: Some(*id), ..call }
    }

    /// `POST /api/v3/order/cancelReplace` (STOP_ON_FAILURE): cancels `cancel`, places `order` as `id`.
    fn cancel_replace_call(
        &self,
        cancel: &ClientOrderId,
        id: &ClientOrderId,
        order: &NewOrder,
        origin: Option<std::time::Instant>,
    ) -> Call {
        let q = replace_query(cancel, id, order);
        let call = self.signed(Method::POST, CANCEL_REPLACE, q, 1, Priority::NewOrder);
        Call { orders: 1, origin, order_id: Some(*id), ..call }
    }

    fn prepare_now(&self, call: Call) -> Option<Result<Prepared, VenueError>> {
        let grant = self.http.admit_now(call.cost())?;
        Some(
            self.prepare(call).map(|prepared| Prepared { grant, ..prepared }).inspect_err(|_| self.http.abandon(grant)),
        )
    }

    /// Sends a prepared request and reads its JSON answer.
    pub async fn complete_json<T: DeserializeOwned>(&self, prepared: Prepared) -> Result<T, VenueError> {
        let mutating = prepared.method != Method::GET;
        let body = self.exchange(prepared).await?;
        decode(&body, mutating)
    }

    /// Signs (if asked) and builds a request whose rate budget is charged.
    fn prepare(&self, call: Call) -> Result<Prepared, VenueError> {
        let mut query = call.query;
        let mut api_key = None;
        let query = if call.signed {
            let Some(keyed) = self.keyed() else {
                return Err(VenueError::not_sent("this venue has no API credentials"));
            };
            let Some(header) = keyed.header else {
                return Err(VenueError::not_sent("the API key is not a valid HTTP header value"));
            };
            query.push("recvWindow", self.recv_window_ms).push("timestamp", self.server_now_ms());
            api_key = Some(header);
            query.signed(&keyed.credentials.signer)
        } else {
            query.as_str().to_owned()
        };
        let mut url = match self.order_urls.iter().find(|(path, _)| *path == call.path) {
            Some((_, url)) => url.clone(),
            None => self.http.url(call.path),
        };
        // POST parameters go in a form body, as Binance accepts them (the
        // signature covers query string and body): the URL parser does not
        // read them again character by character.
        let form = call.method == Method::POST && !query.is_empty();
        if !form {
            url.set_query((!query.is_empty()).then_some(query.as_str()));
        }
        let mut request = reqwest::Request::new(call.method.clone(), url);
        if let Some(key) = api_key {
            request.headers_mut().insert(API_KEY_HEADER, key);
        }
        if form {
            request.headers_mut().insert(reqwest::header::CONTENT_TYPE, FORM.clone());
            *request.body_mut() = Some(query.into());
        }
        Ok(Prepared { request, method: call.method, path: call.path, origin: call.origin, grant: Grant::default() })
    }

    /// Sends a prepared request and returns the body of a 2xx response.
    async fn exchange(&self, prepared: Prepared) -> Result<String, VenueError> {
        let path = prepared.path;
        let limiter = self.http.limiter();
        let observe = |headers: &reqwest::header::HeaderMap| {
            let count = |name: &str| {
                let value = headers.get(name)?.to_str().ok()?.parse::<u64>().ok()?;
                Some(u32::try_from(value).unwrap_or(u32::MAX))
            };
            if let Some(used) = count("x-mbx-used-weight-1m") {
                limiter.observe(limits::WEIGHT, used);
            }
            if let Some(orders) = count("x-mbx-order-count-10s") {
                limiter.observe(limits::ORDERS_10S, orders);
            }
        };
        let answer = self.http.send(prepared, observe).await?;
        if answer.is_success() {
            return Ok(answer.body);
        }
        let (status, retry_after) = (answer.status, answer.header("retry-after").map(Duration::from_secs));
        let (code, message) = match serde_json::from_str::<ErrorBody>(&answer.body) {
            Ok(e) => (Some(e.code), e.msg),
            // An HTML error page or a proxy's text: keep a short, safe excerpt.
            Err(_) => (None, format!("non-JSON error body: {}", excerpt(&answer.body))),
        };
        if answer.is_limited() {
            let wait = retry_after.unwrap_or(Duration::from_secs(60));
            // Too many new orders (-1015) stops only new orders; weight and bans stop everything.
            let blocked =
                if status == 429 && code == Some(-1015) { Blocked::Budget(limits::ORDERS_10S) } else { Blocked::All };
            tracing::warn!(
                status,
                code,
                retry_after_secs = wait.as_secs(),
                path = path,
                blocked = ?blocked,
                "rate limited by the venue; pausing requests, then one probe before the rest"
            );
            limiter.block_for(blocked, wait);
        }
        let error = super::error::from_response(status, code, message, retry_after);
        if error.is_clock_skew() {
            let _ = Box::pin(self.sync_clock()).await;
        }
        Err(error)
    }
}

const ORDER: &str = "/api/v3/order";
const CANCEL_REPLACE: &str = "/api/v3/order/cancelReplace";

/// The query of a cancel-replace (STOP_ON_FAILURE): cancels `cancel` and places `order` as `id`.
fn replace_query(cancel: &ClientOrderId, id: &ClientOrderId, order: &NewOrder) -> Query {
    let mut q = order_query(id, order);
    q.push("cancelReplaceMode", "STOP_ON_FAILURE").push("cancelOrigClientOrderId", cancel);
    q
}

/// The query of a new order (also the new-order part of cancel-replace).
pub fn order_query(id: &ClientOrderId, order: &NewOrder) -> Query {
    let mut q = Query::new();
    q.push("symbol", order.symbol).push("side", side_str(order.side));
    match order.kind {
        OrderKind::Limit { price, tif } => {
            let tif = match tif {
                tradewind_strategies::sdk::TimeInForce::Gtc => "GTC",
                tradewind_strategies::sdk::TimeInForce::Ioc => "IOC",
                tradewind_strategies::sdk::TimeInForce::Fok => "FOK",
            };
            q.push("type", "LIMIT")
                .push("timeInForce", tif)
                .push("quantity", order.qty.get())
                .push("price", price.get());
        }
        OrderKind::PostOnly { price } => {
            q.push("type", "LIMIT_MAKER").push("quantity", order.qty.get()).push("price", price.get());
        }
        OrderKind::Market => {
            q.push("type", "MARKET").push("quantity", order.qty.get());
        }
    }
    q.push("newClientOrderId", id).push("newOrderRespType", "ACK");
    q
}

pub fn side_str(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

mod exchange_info;
#[cfg(test)]
mod tests;
mod types;
