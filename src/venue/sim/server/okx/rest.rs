//! OKX v5 spot REST under `/api/v5/*`. Signed requests carry `OK-ACCESS-KEY`, `-SIGN` (base64
//! HMAC-SHA256 over ISO-8601 time + method + path?query + body),
//! `-TIMESTAMP` (within 30 s of the server's clock) and `-PASSPHRASE`
//! ([`PASSPHRASE`] for every simulated key). Instruments are named OKX's
//! way (`BTC-USDT` for the exchange's `BTCUSDT`). Answers are the `{code,
//! msg, data}` envelope; an order operation refused says `code: "1"` with
//! the order's `sCode`. Each account and endpoint has OKX's budget over a
//! rolling two seconds (past it: HTTP 429, 50011).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::super::Shared;
use super::super::params::Params;
use super::{PASSPHRASE, TIME_WINDOW_MS, inst_id, num, symbol_named};
use crate::venue::sim::exchange::{Amendment, ApiError, Exchange, NewOrder, OrdType, Order, Side, Status};
use crate::venue::sim::ledger::AccountId;
use crate::venue::sim::matching::Tif;

/// A refusal: HTTP status, OKX code and message.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    fn param(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "51000", message)
    }
}

/// The endpoints served: (method, path after `/api/v5/`, signed, requests per 2 s).
const ENDPOINTS: [(&str, &str, bool, usize); 16] = [
    ("GET", "public/time", false, 10),
    ("GET", "public/instruments", false, 20),
    ("GET", "market/books", false, 40),
    ("GET", "market/tickers", false, 20),
    ("GET", "account/config", true, 5),
    ("GET", "account/balance", true, 10),
    ("POST", "trade/order", true, 60),
    ("POST", "trade/cancel-order", true, 60),
    ("POST", "trade/amend-order", true, 60),
    ("GET", "trade/order", true, 60),
    ("GET", "trade/orders-pending", true, 60),
    ("GET", "trade/fills", true, 60),
    // The last three months (`trade/fills`: three days); the simulator keeps everything.
    ("GET", "trade/fills-history", true, 10),
    // Up to 20 orders a request; the budget counts orders.
    ("POST", "trade/batch-orders", true, 300),
    ("POST", "trade/cancel-batch-orders", true, 300),
    ("POST", "trade/amend-batch-orders", true, 300),
];

/// Orders a batch request may carry.
const BATCH_MAX: usize = 20;

/// `/api/v5/*`.
pub async fn handler(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.count_request(method.as_str(), uri.path());
    let answered = route(&shared, &method, &uri, &headers, &body);
    let status = answered.as_ref().err().map_or(StatusCode::OK, |r| r.status);
    let (code, msg, data) = outcome(answered);
    let body = envelope(code, &msg, data);
    (status, axum::Json(body)).into_response()
}

fn envelope(code: &str, msg: &str, data: Value) -> Value {
    json!({"code": code, "msg": msg, "data": data})
}

fn route(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Value, Refusal> {
    let path = uri.path().strip_prefix("/api/v5/").unwrap_or_default();
    let query = uri.query().unwrap_or("");
    let Some((index, &(_, name, signed, limit))) =
        ENDPOINTS.iter().enumerate().find(|(_, (m, p, ..))| *m == method.as_str() && *p == path)
    else {
        return Err(Refusal::new(StatusCode::NOT_FOUND, "50000", format!("{method} {} is not served", uri.path())));
    };
    let account = if signed {
        let target = if query.is_empty() { uri.path().to_owned() } else { format!("{}?{query}", uri.path()) };
        authenticate(shared, headers, method.as_str(), &target, body)?
    } else {
        0
    };
    if let Some(single) = name.strip_suffix("batch-orders") {
        return batch(shared, account, (index, limit), &format!("trade/{}", batch_single(single)), body);
    }
    // Each endpoint (method and path: placing and reading an order are two) has its own budget.
    if !shared.okx_rate().allow((account, index), limit, crate::clock::now_ms()) {
        shared.limited_responses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(Refusal::new(StatusCode::TOO_MANY_REQUESTS, "50011", "Too Many Requests"));
    }
    let params = if *method == Method::GET {
        Params::parse(query, b"").map_err(|e| Refusal::param(e.msg))?
    } else {
        super::super::params::json_params(&without_empty(body)).map_err(|e| Refusal::param(e.msg))?
    };
    answer(shared, name, account, &params)
}

/// The single operation a batch is made of (`trade/` + `batch-orders` → `order`, `cancel-` → `cancel-order`, ...).
fn batch_single(prefix: &str) -> &'static str {
    match prefix {
        "trade/" => "order",
        "trade/cancel-" => "cancel-order",
        _ => "amend-order",
    }
}

/// A batch: each order answered as its single operation would be, in
/// order, each row with its own `sCode` (the envelope's code says whether
/// all, some or none succeeded).
fn batch(
    shared: &Shared,
    account: AccountId,
    (index, limit): (usize, usize),
    single: &str,
    body: &[u8],
) -> Result<Value, Refusal> {
    let orders: Vec<Value> =
        serde_json::from_slice(body).map_err(|_| Refusal::param("a batch is a JSON array of orders"))?;
    if orders.is_empty() || orders.len() > BATCH_MAX {
        return Err(Refusal::param(format!("a batch carries 1 to {BATCH_MAX} orders, not {}", orders.len())));
    }
    let now = crate::clock::now_ms();
    if !(0..orders.len()).all(|_| shared.okx_rate().allow((account, index), limit, now)) {
        shared.limited_responses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(Refusal::new(StatusCode::TOO_MANY_REQUESTS, "50011", "Too Many Requests"));
    }
    let rows = orders.iter().map(|order| {
        let body = serde_json::to_vec(order).unwrap_or_default();
        let answered = super::super::params::json_params(&without_empty(&body))
            .map_err(|e| Refusal::param(e.msg))
            .and_then(|params| answer(shared, single, account, &params));
        match answered {
            Ok(Value::Array(mut rows)) if rows.len() == 1 => rows.remove(0),
            Ok(other) => other,
            Err(r) => json!({"ordId": "", "clOrdId": order["clOrdId"].as_str().unwrap_or_default(), "tag": "",
                "ts": crate::clock::now_ms().to_string(), "sCode": r.code, "sMsg": r.message}),
        }
    });
    Ok(Value::Array(rows.collect()))
}

/// An order operation of the private WebSocket (`order`, `cancel-order`,
/// `amend-order`, one order each): (code, msg, data) as its REST twin
/// answers, on the same budget (OKX counts both together).
pub(super) fn ws_op(shared: &Shared, account: AccountId, op: &str, arg: &Value) -> (String, String, Value) {
    let path = match op {
        "order" => "trade/order",
        "cancel-order" => "trade/cancel-order",
        _ => "trade/amend-order",
    };
    let Some(index) = ENDPOINTS.iter().position(|(m, p, ..)| *m == "POST" && *p == path) else {
        return ("60012".into(), format!("Invalid request: {op}"), json!([]));
    };
    let answered = (|| {
        if !shared.okx_rate().allow((account, index), ENDPOINTS[index].3, crate::clock::now_ms()) {
            shared.limited_responses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err(Refusal::new(StatusCode::TOO_MANY_REQUESTS, "50011", "Too Many Requests"));
        }
        let body = serde_json::to_vec(arg).unwrap_or_default();
        let params = super::super::params::json_params(&without_empty(&body)).map_err(|e| Refusal::param(e.msg))?;
        answer(shared, path, account, &params)
    })();
    let (code, msg, data) = outcome(answered);
    (code.to_owned(), msg, data)
}

/// An answer as the envelope's code, message and data.
fn outcome(answered: Result<Value, Refusal>) -> (&'static str, String, Value) {
    match answered {
        // A batch's rows each carry their own code: all, some or none refused.
        Ok(data) => {
            let rows = data.as_array().map(Vec::as_slice).unwrap_or_default();
            let refused = rows.iter().filter(|r| r["sCode"].as_str().is_some_and(|c| c != "0")).count();
            match refused {
                0 => ("0", String::new(), data),
                n if n == rows.len() => ("1", "All operations failed".into(), data),
                _ => ("2", "Batch operation partially succeeded".into(), data),
            }
        }
        // Refused per order: the order's own code says why.
        Err(r) if r.status == StatusCode::OK => {
            ("1", "All operations failed".into(), json!([{"sCode": r.code, "sMsg": r.message}]))
        }
        Err(r) => (r.code, r.message, json!([])),
    }
}

/// A JSON body without its empty strings: OKX reads `""` as not given
/// (its SDKs send every parameter, most of them empty).
fn without_empty(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            map.retain(|_, v| v.as_str() != Some(""));
            serde_json::to_vec(&map).unwrap_or_default()
        }
        _ => body.to_vec(),
    }
}

/// Checks the four `OK-ACCESS-*` headers.
fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    method: &str,
    target: &str,
    body: &[u8],
) -> Result<AccountId, Refusal> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let unauthorized = |code, message: &str| Refusal::new(StatusCode::UNAUTHORIZED, code, message);
    let key = header("ok-access-key")
        .ok_or_else(|| unauthorized("50103", "Request header OK-ACCESS-KEY cannot be empty."))?;
    let credential = shared.keys().get(key).cloned().ok_or_else(|| unauthorized("50111", "Invalid OK-ACCESS-KEY."))?;
    let timestamp = header("ok-access-timestamp")
        .ok_or_else(|| unauthorized("50107", "Request header OK-ACCESS-TIMESTAMP cannot be empty."))?;
    let ms = parse_iso(timestamp).ok_or_else(|| unauthorized("50112", "Invalid OK-ACCESS-TIMESTAMP."))?;
    if (ms - shared.now()).abs() > TIME_WINDOW_MS {
        return Err(unauthorized("50102", "Timestamp request expired."));
    }
    if header("ok-access-passphrase") != Some(PASSPHRASE) {
        return Err(unauthorized("50105", "Request header OK-ACCESS-PASSPHRASE incorrect."));
    }
    let signature = header("ok-access-sign")
        .ok_or_else(|| unauthorized("50106", "Request header OK-ACCESS-SIGN cannot be empty."))?;
    let mut signed = format!("{timestamp}{method}{target}").into_bytes();
    signed.extend_from_slice(body);
    if credential.verify_base64(&signed, signature) {
        Ok(credential.account)
    } else {
        Err(unauthorized("50113", "Invalid Sign."))
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` as ms since the epoch.
fn parse_iso(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 24 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'.' || b[23] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, min, s, ms) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    // Days from the civil date (proleptic Gregorian; H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + min) * 60_000 + s * 1_000 + ms)
}

/// The exchange's symbol of an OKX instrument name, and back.
fn symbol_of(shared: &Shared, inst_id: &str) -> Result<String, Refusal> {
    symbol_named(&shared.exchange(), inst_id)
        .ok_or_else(|| Refusal::new(StatusCode::OK, "51001", format!("Instrument ID {inst_id} does not exist.")))
}

/// The exchange's errors as an order operation's `sCode` (`unknown`: the code for "no such order" here).
fn order_refusal(e: ApiError, unknown: &'static str) -> Refusal {
    let code = match (e.code, e.msg.as_str()) {
        (-2010, "Duplicate order sent.") => "51016",
        (-2010, m) if m.contains("insufficient") => "51008",
        (-1013, m) if m.contains("LOT_SIZE") => "51121",
        (-1013, m) if m.contains("NOTIONAL") => "51020",
        (-2011 | -2013, _) => unknown,
        _ => "51000",
    };
    Refusal::new(StatusCode::OK, code, e.msg)
}

fn state(o: &Order) -> &'static str {
    match o.status {
        Status::New => "live",
        Status::PartiallyFilled => "partially_filled",
        Status::Filled => "filled",
        Status::Canceled | Status::Expired => "canceled",
    }
}

pub(super) fn order_row(ex: &Exchange, o: &Order) -> Value {
    let ord_type = match (o.kind, o.tif) {
        (OrdType::Market, _) => "market",
        (OrdType::LimitMaker, _) => "post_only",
        (OrdType::Limit, Tif::Gtc) => "limit",
        (OrdType::Limit, Tif::Ioc) => "ioc",
        (OrdType::Limit, Tif::Fok) => "fok",
    };
    let px = if o.kind == OrdType::Market { String::new() } else { num(o.price) };
    let avg = if o.executed_qty.is_zero() { String::new() } else { num(o.cum_quote / o.executed_qty) };
    json!({
        "instType": "SPOT", "instId": inst_id(ex, &o.symbol), "ordId": o.id.to_string(), "clOrdId": o.client_id,
        "px": px, "sz": num(o.orig_qty), "side": if o.side == Side::Buy { "buy" } else { "sell" }, "ordType": ord_type,
        "state": state(o), "accFillSz": num(o.executed_qty), "avgPx": avg, "tdMode": "cash",
        "tgtCcy": if o.kind == OrdType::Market { "base_ccy" } else { "" },
        "cTime": o.time.to_string(), "uTime": o.update_time.to_string(),
    })
}

fn answer(shared: &Shared, endpoint: &str, account: AccountId, params: &Params) -> Result<Value, Refusal> {
    let text =
        |name: &str| params.get(name).ok_or_else(|| Refusal::param(format!("Parameter {name} can not be empty.")));
    let decimal = |name: &str| -> Result<Option<Decimal>, Refusal> {
        params.get(name).map(|v| v.parse().map_err(|_| Refusal::param(format!("Parameter {name} error")))).transpose()
    };
    let ack = |o: &Order| json!([{"ordId": o.id.to_string(), "clOrdId": o.client_id, "tag": "", "ts": o.update_time.to_string(), "sCode": "0", "sMsg": ""}]);
    match endpoint {
        "public/time" => Ok(json!([{"ts": shared.now().to_string()}])),
        // Spot only: another type lists nothing.
        "public/instruments" if params.get("instType").is_some_and(|t| t != "SPOT") => Ok(json!([])),
        "public/instruments" => {
            let ex = shared.exchange();
            let rows: Vec<Value> = ex
                .symbols()
                .iter()
                .map(|s| {
                    let c = &s.config;
                    json!({"instType": "SPOT", "instId": format!("{}-{}", c.base, c.quote), "baseCcy": c.base, "quoteCcy": c.quote,
                        "tickSz": num(c.tick_size), "lotSz": num(c.step_size), "minSz": num(s.min_qty), "maxLmtSz": num(c.max_qty),
                        "maxMktSz": num(c.max_qty), "maxLmtAmt": "", "state": "live"})
                })
                .collect();
            Ok(Value::Array(rows))
        }
        "market/books" => {
            let symbol = symbol_of(shared, text("instId")?)?;
            let depth = params.get("sz").and_then(|s| s.parse().ok()).unwrap_or(1).clamp(1, 400);
            let (_, bids, asks) = shared.exchange().depth(&symbol, depth).map_err(|e| Refusal::param(e.msg))?;
            let side = |l: &[(Decimal, Decimal)]| -> Vec<Value> {
                l.iter().map(|(p, q)| json!([num(*p), num(*q), "0", "1"])).collect()
            };
            Ok(json!([{"asks": side(&asks), "bids": side(&bids), "ts": shared.now().to_string()}]))
        }
        "market/tickers" => {
            let ex = shared.exchange();
            let rows: Vec<Value> = ex
                .symbols()
                .iter()
                .map(|s| {
                    let price = |l: Option<(Decimal, Decimal)>| l.map(|(p, _)| num(p)).unwrap_or_default();
                    json!({"instType": "SPOT", "instId": format!("{}-{}", s.config.base, s.config.quote),
                        "bidPx": price(s.best_bid()), "askPx": price(s.best_ask()), "ts": shared.now().to_string()})
                })
                .collect();
            Ok(Value::Array(rows))
        }
        "account/config" => {
            let perm = if shared.exchange().config().keys_can_withdraw {
                "read_only,trade,withdraw"
            } else {
                "read_only,trade"
            };
            Ok(json!([{"uid": account.to_string(), "perm": perm, "acctLv": "1", "posMode": "net_mode"}]))
        }
        "account/balance" => {
            let ex = shared.exchange();
            let details: Vec<Value> = ex
                .ledger()
                .account(account)
                .map(|(ccy, b)| json!({"ccy": ccy, "availBal": num(b.free), "frozenBal": num(b.locked), "cashBal": num(b.free + b.locked)}))
                .collect();
            Ok(json!([{"uTime": shared.now().to_string(), "details": details}]))
        }
        "trade/order" if params.get("ordType").is_some() => {
            if params.get("tdMode") != Some("cash") {
                return Err(Refusal::new(StatusCode::OK, "51000", "Parameter tdMode error: spot is traded in cash"));
            }
            let side = match text("side")? {
                "buy" => Side::Buy,
                "sell" => Side::Sell,
                other => return Err(Refusal::param(format!("Parameter side error: {other}"))),
            };
            let (kind, tif) = match text("ordType")? {
                "market" => (OrdType::Market, Tif::Ioc),
                "limit" => (OrdType::Limit, Tif::Gtc),
                "ioc" => (OrdType::Limit, Tif::Ioc),
                "fok" => (OrdType::Limit, Tif::Fok),
                "post_only" => (OrdType::LimitMaker, Tif::Gtc),
                other => return Err(Refusal::param(format!("Parameter ordType error: {other}"))),
            };
            // OKX's client ids: 1 to 32 letters and digits.
            if let Some(id) = params.get("clOrdId")
                && (id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric()))
            {
                return Err(Refusal::new(StatusCode::OK, "51000", "Parameter clOrdId error"));
            }
            let size = decimal("sz")?.ok_or_else(|| Refusal::param("Parameter sz can not be empty."))?;
            // A market buy's size is in the quote currency unless `tgtCcy = base_ccy`.
            let quote = kind == OrdType::Market && side == Side::Buy && params.get("tgtCcy") != Some("base_ccy");
            let order = NewOrder {
                symbol: symbol_of(shared, text("instId")?)?,
                side,
                kind,
                tif,
                qty: (!quote).then_some(size),
                quote_qty: quote.then_some(size),
                price: if kind == OrdType::Market { None } else { decimal("px")? },
                client_id: params.get("clOrdId").map(str::to_owned),
            };
            let mut ex = shared.exchange();
            let placed = ex.place(account, &order, crate::clock::now_ms());
            shared.publish(&mut ex);
            let id = placed.map_err(|e| order_refusal(e, "51603"))?;
            let o = ex.order(account, Some(id), None).map_err(|e| order_refusal(e, "51603"))?;
            Ok(ack(o))
        }
        "trade/cancel-order" | "trade/amend-order" => {
            let symbol = symbol_of(shared, text("instId")?)?;
            let (id, link) = (params.get("ordId").and_then(|v| v.parse().ok()), params.get("clOrdId"));
            let mut ex = shared.exchange();
            let now = crate::clock::now_ms();
            let done = if endpoint == "trade/cancel-order" {
                ex.cancel(account, &symbol, id, link, None, now).map_err(|e| order_refusal(e, "51400"))
            } else {
                let change = Amendment { qty: decimal("newSz")?, price: decimal("newPx")? };
                if change.qty.is_none() && change.price.is_none() {
                    return Err(Refusal::new(StatusCode::OK, "51000", "Parameter newSz or newPx can not be empty."));
                }
                ex.amend(account, &symbol, (id, link), change, now).map_err(|e| order_refusal(e, "51503"))
            };
            shared.publish(&mut ex);
            let o = ex.order(account, Some(done?), None).map_err(|e| order_refusal(e, "51603"))?;
            Ok(ack(o))
        }
        // GET `trade/order`: one order, any state.
        "trade/order" => {
            let symbol = symbol_of(shared, text("instId")?)?;
            let (id, link) = (params.get("ordId").and_then(|v| v.parse().ok()), params.get("clOrdId"));
            let ex = shared.exchange();
            match ex.order(account, id, link) {
                Ok(o) if o.symbol == symbol => Ok(json!([order_row(&ex, o)])),
                _ => Err(Refusal::new(StatusCode::OK, "51603", "Order does not exist.")),
            }
        }
        "trade/orders-pending" => {
            let ex = shared.exchange();
            let rows: Vec<Value> =
                ex.open_orders(account, None).into_iter().rev().take(100).map(|o| order_row(&ex, o)).collect();
            Ok(Value::Array(rows))
        }
        "trade/fills" | "trade/fills-history" => {
            let symbol = symbol_of(shared, text("instId")?)?;
            let ord_id = params.get("ordId").and_then(|v| v.parse().ok());
            let ex = shared.exchange();
            let rows: Vec<Value> = ex
                .my_trades(account, &symbol, ord_id, None, 100)
                .into_iter()
                .rev()
                .map(|t| {
                    let cl_ord_id =
                        ex.order(account, Some(t.order_id), None).map(|o| o.client_id.clone()).unwrap_or_default();
                    json!({"instType": "SPOT", "instId": inst_id(&ex, &symbol), "tradeId": t.id.to_string(),
                        "ordId": t.order_id.to_string(), "clOrdId": cl_ord_id, "billId": t.id.to_string(),
                        "fillPx": num(t.price), "fillSz": num(t.qty), "side": if t.is_buyer { "buy" } else { "sell" },
                        "execType": if t.is_maker { "M" } else { "T" }, "feeCcy": t.commission_asset,
                        "fee": num(-t.commission), "ts": t.time.to_string()})
                })
                .collect();
            Ok(Value::Array(rows))
        }
        _ => Err(Refusal::new(StatusCode::NOT_FOUND, "50000", "not served")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batchs_code_says_whether_all_some_or_none_of_its_orders_went() {
        let row = |code: &str| json!({"ordId": "1", "sCode": code, "sMsg": ""});
        assert_eq!(outcome(Ok(json!([row("0"), row("0")]))).0, "0");
        assert_eq!(outcome(Ok(json!([row("0"), row("51008")]))).0, "2");
        assert_eq!(outcome(Ok(json!([row("51008")]))).0, "1");
        assert_eq!(outcome(Ok(json!([{"ts": "1"}]))).0, "0", "rows without a code are answers, not refusals");
        let limited = outcome(Err(Refusal::new(StatusCode::TOO_MANY_REQUESTS, "50011", "Too Many Requests")));
        assert_eq!((limited.0, limited.2), ("50011", json!([])));
        assert_eq!(batch_single("trade/cancel-"), "cancel-order");
    }

    #[test]
    fn iso_timestamps_read_back_as_ms() {
        for ms in [0, 951_782_400_000, 1_607_418_537_715, 4_102_444_799_999] {
            assert_eq!(parse_iso(&crate::venue::okx::sign::iso_timestamp(ms)), Some(ms));
        }
        assert_eq!(parse_iso("2020-12-08 09:08:57.715Z"), None);
        assert_eq!(parse_iso("2020-12-08T09:08:57Z"), None);
    }
}
