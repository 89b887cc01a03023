//! `/v5/*`: Bybit v5 spot REST over the same exchange. Signed requests
//! carry `X-BAPI-*` headers over the exact query string or JSON body;
//! answers are HTTP 200 with the `retCode` envelope (the exchange's errors
//! mapped to Bybit's codes), `X-Bapi-Limit*` headers on every limited
//! endpoint, `10006` past an endpoint's per-second limit and HTTP 403 past
//! the IP's 600 requests in 5 s.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::super::Shared;
use super::super::params::Params;
use super::wire::{self, envelope, num};
use super::{Limited, RateKey};
use crate::venue::sim::exchange::{ApiError, NewOrder, OrdType, Side};
use crate::venue::sim::ledger::AccountId;
use crate::venue::sim::matching::Tif;

/// A Bybit refusal: its `retCode` and message.
pub struct Refusal {
    pub code: i64,
    pub message: String,
}

impl Refusal {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// The exchange's (Binance-worded) errors in Bybit's codes.
impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        let code = match (e.code, e.msg.as_str()) {
            (-2010, "Duplicate order sent.") => 170141,
            (-2010, "Order would immediately match and take.") => 170218,
            (-2010, "Market is closed.") => 170130,
            (-2010, _) => 170131,
            (-1013, m) if m.contains("LOT_SIZE") => 170136,
            (-1013, m) if m.contains("PRICE_FILTER") => 170134,
            (-1013, m) if m.contains("NOTIONAL") => 170140,
            (-2011 | -2013, _) => 170213,
            (-1121, _) => 170121,
            _ => 10001,
        };
        let message = match code {
            170141 => "Duplicate clientOrderId.".to_owned(),
            170131 => "Insufficient balance.".to_owned(),
            170213 => "Order does not exist.".to_owned(),
            170140 => "Order value exceeded lower limit.".to_owned(),
            170136 => "Order quantity exceeded lower limit.".to_owned(),
            _ => e.msg,
        };
        Self { code, message }
    }
}

/// The endpoints served, each with the per-second limit Bybit gives it (0: only the IP's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Time,
    Instruments,
    Tickers,
    Orderbook,
    RecentTrades,
    KeyInfo,
    AccountInfo,
    Wallet,
    Create,
    Amend,
    Cancel,
    CancelAll,
    Realtime,
    History,
    Executions,
}

impl Endpoint {
    fn find(method: &Method, path: &str) -> Option<Self> {
        use Endpoint::*;
        Some(match (method.as_str(), path.strip_prefix("/v5/")?) {
            ("GET", "market/time") => Time,
            ("GET", "market/instruments-info") => Instruments,
            ("GET", "market/tickers") => Tickers,
            ("GET", "market/orderbook") => Orderbook,
            ("GET", "market/recent-trade") => RecentTrades,
            ("GET", "user/query-api") => KeyInfo,
            ("GET", "account/info") => AccountInfo,
            ("GET", "account/wallet-balance") => Wallet,
            ("POST", "order/create") => Create,
            ("POST", "order/amend") => Amend,
            ("POST", "order/cancel") => Cancel,
            ("POST", "order/cancel-all") => CancelAll,
            ("GET", "order/realtime") => Realtime,
            ("GET", "order/history") => History,
            ("GET", "execution/list") => Executions,
            _ => return None,
        })
    }

    fn signed(self) -> bool {
        use Endpoint::*;
        !matches!(self, Time | Instruments | Tickers | Orderbook | RecentTrades)
    }

    /// Requests a second per account (spot).
    pub fn per_second(self) -> u32 {
        use Endpoint::*;
        match self {
            Create | Cancel | CancelAll => 20,
            Amend => 10,
            Realtime | History | Executions | Wallet | AccountInfo => 50,
            KeyInfo => 10,
            Time | Instruments | Tickers | Orderbook | RecentTrades => 0,
        }
    }
}

/// A response before rendering.
struct Reply {
    status: StatusCode,
    body: Value,
    /// (limit, left, reset at) of the endpoint's budget.
    limit: Option<(u32, u32, i64)>,
    /// Hold the response back this long (fault injection).
    hold: Option<Duration>,
}

/// The REST entry point for `/v5/*`.
pub async fn handler(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let faults = shared.faults();
    let placing = method == Method::POST && uri.path() == "/v5/order/create";
    let delay = faults.rest_delay_ms + if placing { faults.order_delay_ms } else { 0 };
    shared.count_request(method.as_str(), uri.path());
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let now = crate::clock::now_ms();
    let reply = if shared.fail_this() || shared.roll(faults.rest_errors) {
        tracing::info!(%method, path = uri.path(), "fault injection: answering with HTTP 500");
        Reply {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: json!("Internal Server Error"),
            limit: None,
            hold: None,
        }
    } else {
        route(&shared, &method, uri.path(), uri.query().unwrap_or(""), &headers, &body, now)
    };
    if let Some(hold) = reply.hold {
        tokio::time::sleep(hold).await;
    }
    if reply.status == StatusCode::FORBIDDEN || reply.body["retCode"] == 10006 {
        shared.limited_responses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    if reply.status == StatusCode::FORBIDDEN {
        shared.banned_responses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let mut response = (reply.status, axum::Json(reply.body)).into_response();
    if let Some((limit, left, reset)) = reply.limit {
        let h = response.headers_mut();
        h.insert("X-Bapi-Limit", HeaderValue::from(limit));
        h.insert("X-Bapi-Limit-Status", HeaderValue::from(left));
        h.insert("X-Bapi-Limit-Reset-Timestamp", HeaderValue::from(reset));
    }
    response
}

fn route(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Reply {
    let venue_now = shared.now();
    let done = |result: Result<Value, Refusal>, limit| {
        let body = match result {
            Ok(result) => envelope(0, "OK", result, venue_now),
            Err(r) => envelope(r.code, &r.message, json!({}), venue_now),
        };
        Reply { status: StatusCode::OK, body, limit, hold: None }
    };
    let Some(endpoint) = Endpoint::find(method, path) else {
        return Reply {
            status: StatusCode::NOT_FOUND,
            body: json!({"retCode": 10001, "retMsg": "Not found"}),
            limit: None,
            hold: None,
        };
    };
    if shared.bybit_rate().ip(now).is_err() {
        return Reply { status: StatusCode::FORBIDDEN, body: json!("access too frequent"), limit: None, hold: None };
    }
    let account = if endpoint.signed() {
        match super::authenticate(shared, headers, if *method == Method::GET { query.as_bytes() } else { body }) {
            Ok(account) => account,
            Err(r) => return done(Err(r), None),
        }
    } else {
        0
    };
    let limit = match endpoint.per_second() {
        0 => None,
        per_second => match shared.bybit_rate().endpoint(RateKey { account, endpoint }, per_second, now) {
            Ok(state) => Some(state),
            Err(Limited { reset }) => {
                return done(Err(Refusal::new(10006, "Too many visits!")), Some((per_second, 0, reset)));
            }
        },
    };
    let params =
        if *method == Method::GET { Params::parse(query, b"").map_err(Refusal::from) } else { json_params(body) };
    let result = params.and_then(|params| answer(shared, endpoint, account, &params, now));
    let accepted = endpoint == Endpoint::Create && result.is_ok();
    let faults = shared.faults();
    if accepted && shared.roll(faults.fail_after_accept) {
        tracing::info!("fault injection: answering an accepted order with 170146");
        return done(Err(Refusal::new(170146, "Order creation timeout")), limit);
    }
    let mut reply = done(result, limit);
    if accepted && shared.roll(faults.timeout_after_accept) {
        tracing::info!("fault injection: holding back an accepted order's ack");
        reply.hold = Some(Duration::from_millis(faults.timeout_after_accept_ms));
    }
    reply
}

/// A JSON body's fields as parameters.
fn json_params(body: &[u8]) -> Result<Params, Refusal> {
    super::super::params::json_params(body).map_err(|e| Refusal::new(10001, e.msg))
}

fn spot(params: &Params) -> Result<(), Refusal> {
    match params.get("category") {
        Some("spot") => Ok(()),
        Some(other) => Err(Refusal::new(10001, format!("category {other} is not served here (spot only)"))),
        None => Err(Refusal::new(10001, "Missing category")),
    }
}

fn answer(
    shared: &Shared,
    endpoint: Endpoint,
    account: AccountId,
    params: &Params,
    now: i64,
) -> Result<Value, Refusal> {
    use Endpoint::*;
    let ms = shared.now();
    match endpoint {
        Time => {
            Ok(json!({"timeSecond": (ms / 1000).to_string(), "timeNano": (i128::from(ms) * 1_000_000).to_string()}))
        }
        KeyInfo => Ok(key_info(shared, account)),
        // A unified trading account (status 6: UTA 2.0), regular margin.
        AccountInfo => Ok(json!({
            "unifiedMarginStatus": 6, "marginMode": "REGULAR_MARGIN", "isMasterTrader": false,
            "spotHedgingStatus": "OFF", "updatedTime": ms.to_string(), "dcpStatus": "OFF", "timeWindow": 10,
            "smpGroup": 0,
        })),
        Wallet => {
            let ex = shared.exchange();
            let wanted: Option<Vec<&str>> = params.get("coin").map(|c| c.split(',').collect());
            let coins = ex
                .ledger()
                .account(account)
                .filter(|(a, b)| wanted.as_ref().map_or(!(b.free + b.locked).is_zero(), |w| w.contains(a)))
                .map(|(a, b)| wire::coin(a, &b))
                .collect();
            Ok(json!({"list": [wire::wallet(coins)]}))
        }
        _ => {
            spot(params)?;
            match endpoint {
                Instruments | Tickers => {
                    let ex = shared.exchange();
                    let render = if endpoint == Instruments { wire::instrument } else { wire::ticker };
                    let list: Vec<Value> = match params.get("symbol") {
                        Some(s) => vec![render(ex.symbol(s)?)],
                        None => ex.symbols().iter().map(render).collect(),
                    };
                    Ok(json!({"category": "spot", "list": list, "nextPageCursor": ""}))
                }
                Orderbook => {
                    let limit = params.u64("limit")?.unwrap_or(1).clamp(1, 200) as usize;
                    let (u, bids, asks) = shared.exchange().depth(params.required("symbol")?, limit)?;
                    let levels = |l: &[(Decimal, Decimal)]| -> Vec<Value> {
                        l.iter().map(|(p, q)| json!([num(*p), num(*q)])).collect()
                    };
                    Ok(
                        json!({"s": params.required("symbol")?, "b": levels(&bids), "a": levels(&asks), "ts": ms, "u": u, "seq": u, "cts": ms}),
                    )
                }
                RecentTrades => {
                    let ex = shared.exchange();
                    let s = ex.symbol(params.required("symbol")?)?;
                    let limit = params.u64("limit")?.unwrap_or(60).clamp(1, 60) as usize;
                    let list: Vec<Value> = s.recent.iter().rev().take(limit)
                        .map(|(id, p, q, t, m)| json!({"execId": id.to_string(), "symbol": s.config.symbol, "price": num(*p), "size": num(*q), "side": if *m { "Sell" } else { "Buy" }, "time": t.to_string(), "isBlockTrade": false, "isRPITrade": false}))
                        .collect();
                    Ok(json!({"category": "spot", "list": list}))
                }
                Create => create(shared, account, params, now),
                Amend => super::amend(shared, account, params, now),
                Cancel => {
                    let mut ex = shared.exchange();
                    let symbol = params.required("symbol")?;
                    let id =
                        ex.cancel(account, symbol, params.u64("orderId")?, params.get("orderLinkId"), None, now)?;
                    shared.publish(&mut ex);
                    let o = ex.order(account, Some(id), None)?;
                    Ok(json!({"orderId": id.to_string(), "orderLinkId": o.client_id}))
                }
                CancelAll => {
                    let mut ex = shared.exchange();
                    let ids = ex.cancel_all(account, params.required("symbol")?, now)?;
                    shared.publish(&mut ex);
                    let list: Vec<Value> = ids
                        .iter()
                        .filter_map(|id| ex.order(account, Some(*id), None).ok())
                        .map(|o| json!({"orderId": o.id.to_string(), "orderLinkId": o.client_id}))
                        .collect();
                    Ok(json!({"list": list, "success": "1"}))
                }
                Realtime | History => orders(shared, account, params, endpoint == History),
                Executions => executions(shared, account, params),
                Time | KeyInfo | AccountInfo | Wallet => unreachable!("answered above"),
            }
        }
    }
}

fn key_info(shared: &Shared, account: AccountId) -> Value {
    let mut wallet = vec!["AccountTransfer"];
    if shared.exchange().config().keys_can_withdraw {
        wallet.push("Withdraw");
    }
    json!({
        "id": account.to_string(), "note": "simulator", "apiKey": "", "readOnly": 0, "secret": "",
        "permissions": {"ContractTrade": [], "Spot": ["SpotTrade"], "Wallet": wallet, "Options": [], "Derivatives": [],
            "CopyTrading": [], "BlockTrade": [], "Exchange": [], "NFT": [], "Affiliate": []},
        "ips": ["*"], "type": 1, "deadlineDay": -1, "unified": 0, "uta": 1, "userID": account, "inviterID": 0,
        "vipLevel": "No VIP", "mktMakerLevel": "0", "affiliateID": 0, "isMaster": true,
    })
}

/// `order/create`: a spot order in Bybit's words.
fn create(shared: &Shared, account: AccountId, params: &Params, now: i64) -> Result<Value, Refusal> {
    let side = match params.required("side")? {
        "Buy" => Side::Buy,
        "Sell" => Side::Sell,
        other => return Err(Refusal::new(10001, format!("invalid side {other}"))),
    };
    let (kind, tif) = match (params.required("orderType")?, params.get("timeInForce").unwrap_or("GTC")) {
        ("Market", _) => (OrdType::Market, Tif::Ioc),
        ("Limit", "PostOnly") => (OrdType::LimitMaker, Tif::Gtc),
        ("Limit", "GTC") => (OrdType::Limit, Tif::Gtc),
        ("Limit", "IOC") => (OrdType::Limit, Tif::Ioc),
        ("Limit", "FOK") => (OrdType::Limit, Tif::Fok),
        (kind, tif) => return Err(Refusal::new(10001, format!("unsupported orderType {kind} / timeInForce {tif}"))),
    };
    let qty = params.decimal("qty")?.ok_or_else(|| Refusal::new(10001, "Missing qty"))?;
    // A market buy's quantity is in the quote coin unless `marketUnit = baseCoin`.
    let quote_qty = kind == OrdType::Market && side == Side::Buy && params.get("marketUnit") != Some("baseCoin");
    let order = NewOrder {
        symbol: params.required("symbol")?.to_owned(),
        side,
        kind,
        tif,
        qty: (!quote_qty).then_some(qty),
        quote_qty: quote_qty.then_some(qty),
        price: if kind == OrdType::Market { None } else { params.decimal("price")? },
        client_id: params.client_id("orderLinkId")?,
    };
    let mut ex = shared.exchange();
    let id = ex.place(account, &order, now);
    shared.publish(&mut ex);
    let o = ex.order(account, Some(id?), None)?;
    Ok(json!({"orderId": o.id.to_string(), "orderLinkId": o.client_id}))
}

/// `order/realtime` (open orders, or one by id whatever its state) and `order/history` (every order).
fn orders(shared: &Shared, account: AccountId, params: &Params, history: bool) -> Result<Value, Refusal> {
    let ex = shared.exchange();
    let symbol = params.get("symbol");
    let by_id = params.u64("orderId")?;
    let by_link = params.get("orderLinkId");
    let single = by_id.is_some() || by_link.is_some();
    let open_only = params.get("openOnly").unwrap_or("0") == "0";
    let rows: Vec<Value> = ex
        .orders_of(account)
        .into_iter()
        .rev()
        .filter(|o| symbol.is_none_or(|s| o.symbol == s))
        .filter(|o| by_id.is_none_or(|id| o.id == id) && by_link.is_none_or(|c| o.client_id == c))
        .filter(|o| history || single || o.status.is_open() == open_only)
        .map(wire::order)
        .collect();
    page(rows, params, 20)
}

/// `execution/list`: the account's fills, newest first.
fn executions(shared: &Shared, account: AccountId, params: &Params) -> Result<Value, Refusal> {
    let ex = shared.exchange();
    let symbol = params.required("symbol").map_err(|_| Refusal::new(10001, "symbol is required here"))?;
    let order_id = params.u64("orderId")?;
    let fee_rate = ex.config().fees.taker;
    let mut rows: Vec<Value> = ex
        .my_trades(account, symbol, order_id, None, usize::MAX)
        .into_iter()
        .filter_map(|t| Some(wire::trade_row(ex.order(account, Some(t.order_id), None).ok()?, t, fee_rate)))
        .collect();
    rows.reverse();
    page(rows, params, 50)
}

/// One page of `rows`: the cursor is the offset of its first row.
fn page(rows: Vec<Value>, params: &Params, default_limit: u64) -> Result<Value, Refusal> {
    let limit = params.u64("limit")?.unwrap_or(default_limit).clamp(1, 100) as usize;
    let from: usize = params.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let next = if from + limit < rows.len() { (from + limit).to_string() } else { String::new() };
    let list: Vec<Value> = rows.into_iter().skip(from).take(limit).collect();
    Ok(json!({"category": "spot", "list": list, "nextPageCursor": next}))
}
