//! `/api/v3/*`: one dispatcher that reads the parameters, charges the
//! endpoint's documented weight, authenticates signed endpoints, and answers
//! with Binance's bodies, statuses and headers (`X-MBX-USED-WEIGHT-1M` on
//! every response, `X-MBX-ORDER-COUNT-*` on orders, `Retry-After` on 429/418).
//! Order entry shared with the WebSocket API is in [`orders`](super::orders);
//! the simulator's own control endpoints are in [`control`](super::control).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Shared;
use super::params::{Params, authenticate};
use super::wire;
use crate::venue::sim::exchange::ApiError;
use crate::venue::sim::ledger::AccountId;

/// A response before rendering.
struct Reply {
    status: StatusCode,
    body: Value,
    retry_after: Option<u64>,
    order_counts: Option<(u32, u32)>,
    /// Hold the response back this long (fault injection).
    hold: Option<Duration>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self { status: StatusCode::OK, body, retry_after: None, order_counts: None, hold: None }
    }

    fn with_status(status: StatusCode, body: Value) -> Self {
        Self { status, body, retry_after: None, order_counts: None, hold: None }
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Self {
        let status = match e.code {
            -2015 | -2014 => StatusCode::UNAUTHORIZED,
            -1007 => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        Reply::with_status(status, json!({"code": e.code, "msg": e.msg}))
    }
}

impl From<super::limits::Limited> for Reply {
    fn from(l: super::limits::Limited) -> Self {
        let status = StatusCode::from_u16(l.status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
        let mut reply = Reply::with_status(status, json!({"code": l.error.code, "msg": l.error.msg}));
        reply.retry_after = Some(l.retry_after_secs);
        reply
    }
}

/// The REST entry point (the router's fallback).
pub async fn handler(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let faults = shared.faults();
    let placing = method == Method::POST && matches!(uri.path(), "/api/v3/order" | "/api/v3/order/cancelReplace");
    let delay = faults.rest_delay_ms + if placing { faults.order_delay_ms } else { 0 };
    if placing {
        // Counted when it arrives, not once it is answered: a client may be gone by then.
        shared.count_request(method.as_str(), uri.path());
    }
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    // The machine's time for everything the exchange records; its clock (with
    // any injected offset) only where a client reads or is checked against it.
    let now = crate::clock::now_ms();
    if !placing {
        shared.count_request(method.as_str(), uri.path());
    }
    let api_key = headers.get("X-MBX-APIKEY").and_then(|v| v.to_str().ok());
    let reply = if shared.fail_this() || shared.roll(shared.faults().rest_errors) {
        tracing::info!(%method, path = uri.path(), "fault injection: answering with HTTP 500");
        Reply::with_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"code": -1000, "msg": "An unknown error occurred while processing the request."}),
        )
    } else {
        match route(&shared, &method, uri.path(), uri.query().unwrap_or(""), api_key, &body, now) {
            Ok(r) | Err(r) => r,
        }
    };
    if let Some(hold) = reply.hold {
        tokio::time::sleep(hold).await;
    }
    if matches!(reply.status.as_u16(), 429 | 418) {
        shared.limited_responses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    if reply.status.as_u16() == 418 {
        shared.banned_responses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let used = shared.rate().used_weight(now);
    let mut response = (reply.status, axum::Json(reply.body)).into_response();
    let h = response.headers_mut();
    h.insert("X-MBX-USED-WEIGHT-1M", HeaderValue::from(used));
    if let Some(secs) = reply.retry_after {
        h.insert("Retry-After", HeaderValue::from(secs));
    }
    if let Some((ten, day)) = reply.order_counts {
        h.insert("X-MBX-ORDER-COUNT-10S", HeaderValue::from(ten));
        h.insert("X-MBX-ORDER-COUNT-1D", HeaderValue::from(day));
    }
    response
}

/// Which endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Ping,
    Time,
    ExchangeInfo,
    Depth,
    Trades,
    Klines,
    BookTicker,
    Ticker24hr,
    TickerWindow,
    TickerPrice,
    AvgPrice,
    AggTrades,
    NewOrder,
    TestOrder,
    CancelOrder,
    QueryOrder,
    OpenOrders,
    CancelOpenOrders,
    CancelReplace,
    Account,
    MyTrades,
    AllOrders,
    ApiRestrictions,
}

impl Endpoint {
    fn find(method: &Method, path: &str) -> Option<Self> {
        use Endpoint::*;
        if (method.as_str(), path) == ("GET", "/sapi/v1/account/apiRestrictions") {
            return Some(ApiRestrictions);
        }
        let path = path.strip_prefix("/api/v3/")?;
        Some(match (method.as_str(), path) {
            ("GET", "ping") => Ping,
            ("GET", "time") => Time,
            ("GET", "exchangeInfo") => ExchangeInfo,
            ("GET", "depth") => Depth,
            ("GET", "trades") => Trades,
            ("GET", "klines") => Klines,
            ("GET", "ticker/bookTicker") => BookTicker,
            ("GET", "ticker/24hr") => Ticker24hr,
            ("GET", "ticker") => TickerWindow,
            ("GET", "ticker/price") => TickerPrice,
            ("GET", "avgPrice") => AvgPrice,
            ("GET", "aggTrades") => AggTrades,
            ("GET", "allOrders") => AllOrders,
            ("POST", "order") => NewOrder,
            ("POST", "order/test") => TestOrder,
            ("DELETE", "order") => CancelOrder,
            ("GET", "order") => QueryOrder,
            ("GET", "openOrders") => OpenOrders,
            ("DELETE", "openOrders") => CancelOpenOrders,
            ("POST", "order/cancelReplace") => CancelReplace,
            ("GET", "account") => Account,
            ("GET", "myTrades") => MyTrades,
            _ => return None,
        })
    }

    fn signed(self) -> bool {
        use Endpoint::*;
        !matches!(
            self,
            Ping | Time
                | ExchangeInfo
                | Depth
                | Trades
                | Klines
                | BookTicker
                | Ticker24hr
                | TickerWindow
                | TickerPrice
                | AvgPrice
                | AggTrades
        )
    }

    /// The documented request weight.
    fn weight(self, params: &Params) -> u32 {
        use Endpoint::*;
        match self {
            Ping | Time | NewOrder | TestOrder | CancelOrder | CancelOpenOrders | CancelReplace | ApiRestrictions => 1,
            ExchangeInfo | Account => 20,
            Depth => match params.get("limit").and_then(|l| l.parse::<u32>().ok()).unwrap_or(100) {
                0..=100 => 5,
                101..=500 => 25,
                501..=1000 => 50,
                _ => 250,
            },
            Trades => 25,
            Klines | AvgPrice => 2,
            AggTrades => 4,
            AllOrders => 20,
            // By how many symbols are asked for (one, a list, or all).
            Ticker24hr => match (params.get("symbol"), symbol_count(params)) {
                (Some(_), _) => 2,
                (None, Some(1..=20)) => 2,
                (None, Some(21..=100)) => 40,
                _ => 80,
            },
            TickerWindow => 4 * symbol_count(params).unwrap_or(1).clamp(1, 50),
            TickerPrice => {
                if params.get("symbol").is_some() {
                    2
                } else {
                    4
                }
            }
            BookTicker => {
                if params.get("symbol").is_some() {
                    2
                } else {
                    4
                }
            }
            QueryOrder => 4,
            OpenOrders => {
                if params.get("symbol").is_some() {
                    6
                } else {
                    80
                }
            }
            MyTrades => {
                if params.get("orderId").is_some() {
                    5
                } else {
                    20
                }
            }
        }
    }
}

/// How many symbols a `symbols=[...]` parameter lists.
fn symbol_count(params: &Params) -> Option<u32> {
    let list: Vec<String> = serde_json::from_str(params.get("symbols")?).ok()?;
    u32::try_from(list.len()).ok()
}

fn route(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &str,
    api_key: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<Reply, Reply> {
    let Some(endpoint) = Endpoint::find(method, path) else {
        return Err(Reply::with_status(
            StatusCode::NOT_FOUND,
            json!({"code": -1000, "msg": format!("Unknown endpoint {method} {path}.")}),
        ));
    };
    let params = Params::parse(query, body)?;
    let limits = shared.exchange().config().limits.clone();
    shared.rate().charge(&limits, endpoint.weight(&params), now)?;
    let account = if endpoint.signed() {
        Some(authenticate(&shared.keys(), api_key, query, body, &params, shared.now())?)
    } else {
        None
    };
    let account = account.unwrap_or_default();
    use Endpoint::*;
    let body = match endpoint {
        Ping => json!({}),
        Time => json!({"serverTime": shared.now()}),
        ExchangeInfo => exchange_info(shared, &params, shared.now())?,
        Depth => {
            let limit = params.u64("limit")?.unwrap_or(100).clamp(1, 5000) as usize;
            let (last, bids, asks) = shared.exchange().depth(params.required("symbol")?, limit)?;
            json!({"lastUpdateId": last, "bids": wire::levels(&bids), "asks": wire::levels(&asks)})
        }
        Trades => {
            let ex = shared.exchange();
            let s = ex.symbol(params.required("symbol")?)?;
            let limit = params.u64("limit")?.unwrap_or(500).clamp(1, 1000) as usize;
            let rows: Vec<Value> = s.recent.iter().rev().take(limit).rev()
                .map(|(id, p, q, t, m)| json!({"id": id, "price": wire::dec(*p), "qty": wire::dec(*q), "quoteQty": wire::dec(p * q), "time": t, "isBuyerMaker": m, "isBestMatch": true}))
                .collect();
            Value::Array(rows)
        }
        Klines => {
            if params.required("interval")? != "1m" {
                return Err(ApiError::new(-1120, "Invalid interval.").into());
            }
            let ex = shared.exchange();
            let s = ex.symbol(params.required("symbol")?)?;
            let limit = params.u64("limit")?.unwrap_or(500).clamp(1, 1000) as usize;
            let all: Vec<Value> = s.history.iter().chain(s.candle.iter()).map(wire::kline_row).collect();
            Value::Array(all[all.len().saturating_sub(limit)..].to_vec())
        }
        BookTicker => {
            let ex = shared.exchange();
            let row = |s: &crate::venue::sim::exchange::SymbolState| {
                let (b, bq) = s.best_bid().unwrap_or_default();
                let (a, aq) = s.best_ask().unwrap_or_default();
                json!({"symbol": s.config.symbol, "bidPrice": wire::dec(b), "bidQty": wire::dec(bq), "askPrice": wire::dec(a), "askQty": wire::dec(aq)})
            };
            match (params.get("symbol"), params.get("symbols")) {
                (Some(symbol), None) => row(ex.symbol(symbol)?),
                (None, Some(list)) => {
                    let names: Vec<String> = serde_json::from_str(list)
                        .map_err(|_| ApiError::new(-1100, "Illegal characters found in parameter 'symbols'."))?;
                    let rows: Result<Vec<Value>, ApiError> = names.iter().map(|n| ex.symbol(n).map(row)).collect();
                    Value::Array(rows?)
                }
                (None, None) => Value::Array(ex.symbols().iter().map(row).collect()),
                (Some(_), Some(_)) => {
                    return Err(ApiError::new(-1106, "Parameter 'symbols' sent when not required.").into());
                }
            }
        }
        Ticker24hr => super::market_data::ticker_24hr(&shared.exchange(), &params, now)?,
        TickerWindow => super::market_data::ticker_window(&shared.exchange(), &params, now)?,
        TickerPrice => super::market_data::ticker_price(&shared.exchange(), &params)?,
        AvgPrice => super::market_data::avg_price(&shared.exchange(), &params, now)?,
        AggTrades => super::market_data::agg_trades(&shared.exchange(), &params)?,
        AllOrders => {
            let ex = shared.exchange();
            let symbol = params.required("symbol")?;
            ex.symbol(symbol)?;
            let limit = params.u64("limit")?.unwrap_or(500).clamp(1, 1000) as usize;
            let (from, start, end) = (params.u64("orderId")?, params.u64("startTime")?, params.u64("endTime")?);
            let rows: Vec<Value> = ex
                .orders_of(account)
                .into_iter()
                .filter(|o| o.symbol == symbol && from.is_none_or(|f| o.id >= f))
                .filter(|o| start.is_none_or(|t| o.time >= t as i64) && end.is_none_or(|t| o.time <= t as i64))
                .take(limit)
                .map(wire::order)
                .collect();
            Value::Array(rows)
        }
        NewOrder | TestOrder => return new_order(shared, account, &params, endpoint == TestOrder, now),
        CancelOrder => {
            let body = super::orders::cancel(shared, account, &params, now)?;
            shared.rate().refund(1, now);
            body
        }
        QueryOrder => {
            let ex = shared.exchange();
            let symbol = params.required("symbol")?;
            let o = ex.order(account, params.u64("orderId")?, params.get("origClientOrderId"))?;
            if o.symbol != symbol {
                return Err(ApiError::new(-2013, "Order does not exist.").into());
            }
            wire::order(o)
        }
        OpenOrders => {
            let ex = shared.exchange();
            if let Some(s) = params.get("symbol") {
                ex.symbol(s)?;
            }
            Value::Array(ex.open_orders(account, params.get("symbol")).into_iter().map(wire::order).collect())
        }
        CancelOpenOrders => {
            let mut ex = shared.exchange();
            let ids = ex.cancel_all(account, params.required("symbol")?, now)?;
            shared.publish(&mut ex);
            shared.rate().refund(1, now);
            Value::Array(ids.iter().map(|id| super::orders::cancel_body(&ex, account, *id, now, None)).collect())
        }
        CancelReplace => return cancel_replace(shared, account, &params, now),
        Account => super::orders::account(shared, account, &params, now),
        ApiRestrictions => {
            let can_withdraw = shared.exchange().config().keys_can_withdraw;
            json!({
                "ipRestrict": false, "createTime": now, "enableReading": true,
                "enableSpotAndMarginTrading": true, "enableWithdrawals": can_withdraw,
                "enableInternalTransfer": false, "enableMargin": false, "enableFutures": false,
                "permitsUniversalTransfer": false, "enableVanillaOptions": false,
                "enablePortfolioMarginTrading": false,
            })
        }
        MyTrades => {
            let ex = shared.exchange();
            let symbol = params.required("symbol")?;
            ex.symbol(symbol)?;
            let limit = params.u64("limit")?.unwrap_or(500).clamp(1, 1000) as usize;
            let rows = ex.my_trades(account, symbol, params.u64("orderId")?, params.u64("fromId")?, limit);
            Value::Array(rows.into_iter().map(wire::my_trade).collect())
        }
    };
    Ok(Reply::ok(body))
}

fn exchange_info(shared: &Shared, params: &Params, now: i64) -> Result<Value, ApiError> {
    let ex = shared.exchange();
    let wanted: Option<Vec<String>> = match (params.get("symbol"), params.get("symbols")) {
        (Some(s), None) => Some(vec![s.to_owned()]),
        (None, Some(list)) => Some(
            serde_json::from_str(list)
                .map_err(|_| ApiError::new(-1100, "Illegal characters found in parameter 'symbols'."))?,
        ),
        (None, None) => None,
        (Some(_), Some(_)) => return Err(ApiError::new(-1106, "Parameter 'symbols' sent when not required.")),
    };
    let symbols: Vec<Value> = match &wanted {
        Some(names) => names.iter().map(|n| ex.symbol(n).map(wire::symbol_info)).collect::<Result<_, _>>()?,
        None => ex.symbols().iter().map(wire::symbol_info).collect(),
    };
    let l = &ex.config().limits;
    Ok(json!({
        "timezone": "UTC",
        "serverTime": now,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": l.request_weight_per_minute},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": l.orders_per_10s},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": l.orders_per_day},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 300000},
        ],
        "exchangeFilters": [],
        "symbols": symbols,
    }))
}

fn new_order(shared: &Shared, account: AccountId, params: &Params, test: bool, now: i64) -> Result<Reply, Reply> {
    let (order, resp) = super::orders::parse_new_order(params)?;
    if test {
        shared.exchange().symbol(&order.symbol)?;
        return Ok(Reply::ok(json!({})));
    }
    let limits = shared.exchange().config().limits.clone();
    let counts = shared.rate().count_order(&limits, account, now)?;
    let (id, body) = super::orders::place(shared, account, &order, resp, now).map_err(|e| {
        let mut r = Reply::from(e);
        r.order_counts = Some(counts);
        r
    })?;
    shared.rate().refund(1, now);
    if shared.roll(shared.faults().fail_after_accept) {
        tracing::info!(order_id = id, "fault injection: answering an accepted order with 503");
        return Err(ApiError::new(
            -1007,
            "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
        )
        .into());
    }
    let mut reply = Reply::ok(body);
    reply.order_counts = Some(counts);
    let faults = shared.faults();
    if shared.roll(faults.timeout_after_accept) {
        tracing::info!(order_id = id, "fault injection: holding back an accepted order's ack");
        reply.hold = Some(Duration::from_millis(faults.timeout_after_accept_ms));
    }
    Ok(reply)
}

fn cancel_replace(shared: &Shared, account: AccountId, params: &Params, now: i64) -> Result<Reply, Reply> {
    let allow_failure = match params.required("cancelReplaceMode")? {
        "STOP_ON_FAILURE" => false,
        "ALLOW_FAILURE" => true,
        _ => return Err(ApiError::new(-1116, "Invalid cancelReplaceMode.").into()),
    };
    let (order, resp) = super::orders::parse_new_order(params)?;
    let cancel_id = params.u64("cancelOrderId")?;
    let cancel_client = params.get("cancelOrigClientOrderId");
    if cancel_id.is_none() && cancel_client.is_none() {
        return Err(super::orders::missing("cancelOrderId").into());
    }
    let cancel = {
        let mut ex = shared.exchange();
        let new_cancel_id = params.client_id("cancelNewClientOrderId")?;
        let r = ex.cancel(account, &order.symbol, cancel_id, cancel_client, new_cancel_id.clone(), now);
        shared.publish(&mut ex);
        r.map(|id| super::orders::cancel_body(&ex, account, id, now, new_cancel_id))
    };
    let error_body = |e: &ApiError| json!({"code": e.code, "msg": e.msg});
    let placed = if cancel.is_ok() || allow_failure {
        let limits = shared.exchange().config().limits.clone();
        Some(
            shared
                .rate()
                .count_order(&limits, account, now)
                .map_err(|l| l.error)
                .and_then(|_| super::orders::place(shared, account, &order, resp, now)),
        )
    } else {
        None
    };
    let result = |ok: bool| if ok { "SUCCESS" } else { "FAILURE" };
    let data = json!({
        "cancelResult": result(cancel.is_ok()),
        "newOrderResult": placed.as_ref().map_or("NOT_ATTEMPTED", |p| result(p.is_ok())),
        "cancelResponse": match &cancel { Ok(v) => v.clone(), Err(e) => error_body(e) },
        "newOrderResponse": match &placed { Some(Ok((_, v))) => v.clone(), Some(Err(e)) => error_body(e), None => Value::Null },
    });
    match (&cancel, &placed) {
        (Ok(_), Some(Ok(_))) => Ok(Reply::ok(data)),
        (Err(_), None) | (Err(_), Some(Err(_))) => Err(Reply::with_status(
            StatusCode::BAD_REQUEST,
            json!({"code": -2022, "msg": "Order cancel-replace failed.", "data": data}),
        )),
        _ => Err(Reply::with_status(
            StatusCode::CONFLICT,
            json!({"code": -2021, "msg": "Order cancel-replace partially failed.", "data": data}),
        )),
    }
}
