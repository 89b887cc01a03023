//! OKX's WebSocket endpoints. `/ws/v5/public`: `books` (a snapshot of 400
//! levels, then updates naming their predecessor: `prevSeqId` is the last
//! `seqId`, and the ids step by [`SEQ_STEP`], not one, as OKX's do not),
//! `bbo-tbt`, `trades`. `/ws/v5/business`: `candle1m`. `/ws/v5/private`:
//! `login` (base64 HMAC over Unix seconds + `GET/users/self/verify`, the
//! key's passphrase), then `orders` and `account`, and the order operations
//! `order`, `cancel-order`, `amend-order` (answered by their `id`). Every endpoint answers a
//! text `ping` with `pong`; channels are subscribed by message
//! (`{"op":"subscribe","args":[{"channel","instId"}]}`); more than three new
//! connections a second (all endpoints together) are refused with HTTP 429,
//! as OKX refuses them per address. Books follow the
//! book as published (shared with the Bybit dialect), so an update never
//! removes a level the client does not hold; the `checksum` is 0, as OKX's
//! has been since mid-2026.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::super::sessions::{self, PrivateSession, Topics};
use super::super::ws::MAX_FRAME;
use super::super::{Shared, StreamFrame, UserFrame};
use super::{PASSPHRASE, TIME_WINDOW_MS, num, symbol_named};
use crate::venue::sim::exchange::{Candle, Event, Exchange, LastFill, LevelDec, Order, SymbolState};
use crate::venue::sim::ledger::AccountId;

/// How far apart consecutive `seqId`s of a book are.
pub const SEQ_STEP: u64 = 3;
/// Levels a side in a `books` snapshot.
const SNAPSHOT_DEPTH: usize = 400;

/// The stream name of a channel of one instrument.
pub fn stream(channel: &str, inst: &str) -> String {
    format!("{channel}:{inst}")
}

fn push(channel: &str, inst: &str, data: Value) -> Value {
    json!({"arg": {"channel": channel, "instId": inst}, "data": data})
}

fn levels(levels: &[LevelDec]) -> Vec<Value> {
    levels.iter().map(|(p, q)| json!([num(*p), num(*q), "0", "1"])).collect()
}

/// A `trades` message (the side is the taker's).
pub fn trade(inst: &str, id: u64, price: Decimal, qty: Decimal, buyer_is_maker: bool, time: i64) -> String {
    let side = if buyer_is_maker { "sell" } else { "buy" };
    let row = json!({"instId": inst, "tradeId": id.to_string(), "px": num(price), "sz": num(qty), "side": side,
        "ts": time.to_string(), "count": "1"});
    push("trades", inst, json!([row])).to_string()
}

/// A `bbo-tbt` message: the best bid and ask.
pub fn bbo(inst: &str, s: &SymbolState, time: i64) -> String {
    let bids: Vec<_> = s.best_bid().into_iter().collect();
    let asks: Vec<_> = s.best_ask().into_iter().collect();
    let row = json!({"asks": levels(&asks), "bids": levels(&bids), "ts": time.to_string(), "seqId": s.update_id()});
    push("bbo-tbt", inst, json!([row])).to_string()
}

fn book_message(inst: &str, action: &str, (bids, asks): (&[LevelDec], &[LevelDec]), u: u64, time: i64) -> String {
    // A snapshot has no predecessor (-1).
    let prev = if action == "snapshot" { -1 } else { i64::try_from((u - 1) * SEQ_STEP).unwrap_or(i64::MAX) };
    let row = json!({"asks": levels(asks), "bids": levels(bids), "ts": time.to_string(), "checksum": 0,
        "prevSeqId": prev, "seqId": u * SEQ_STEP});
    let mut message = push("books", inst, json!([row]));
    message["action"] = action.into();
    message.to_string()
}

/// One change of the published book as a `books` update, numbered by the published book's `u`.
pub fn book_update(inst: &str, bids: &[LevelDec], asks: &[LevelDec], u: u64, time: i64) -> StreamFrame {
    StreamFrame { stream: stream("books", inst), payload: book_message(inst, "update", (bids, asks), u, time), seq: u }
}

/// A `candle1m` message.
pub fn candle(inst: &str, c: &Candle, closed: bool) -> String {
    let row = json!([
        c.open_time.to_string(),
        num(c.open),
        num(c.high),
        num(c.low),
        num(c.close),
        num(c.volume),
        num(c.volume),
        num(c.quote_volume),
        if closed { "1" } else { "0" }
    ]);
    push("candle1m", inst, json!([row])).to_string()
}

fn conn_id() -> String {
    format!("{:08x}", crate::clock::now_ms() & 0xffff_ffff)
}

fn event(event: &str, arg: &Value, conn: &str) -> String {
    json!({"event": event, "arg": arg, "connId": conn}).to_string()
}

fn error(code: &str, msg: &str, conn: &str) -> String {
    json!({"event": "error", "code": code, "msg": msg, "connId": conn}).to_string()
}

/// A client's `op` request.
#[derive(serde::Deserialize)]
struct Request {
    /// An order operation's id, echoed in its reply.
    #[serde(default)]
    id: Option<String>,
    op: String,
    #[serde(default)]
    args: Vec<Value>,
}

/// Which public endpoint a connection is on, and so which channels it serves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Public,
    Business,
}

impl Endpoint {
    fn serves(self, channel: &str) -> bool {
        match self {
            Endpoint::Public => matches!(channel, "books" | "bbo-tbt" | "trades"),
            Endpoint::Business => channel == "candle1m",
        }
    }
}

/// New connections a second OKX takes from one address (across its endpoints).
const CONNECTS_PER_SEC: usize = 3;

/// Whether OKX would take one more connection now (and counts it); past
/// the limit the upgrade is refused with HTTP 429.
fn connect_allowed(shared: &Shared) -> bool {
    let now = crate::clock::now_ms();
    let mut connects = shared.okx_connects.lock().unwrap_or_else(|p| p.into_inner());
    while connects.front().is_some_and(|t| *t <= now - 1_000) {
        connects.pop_front();
    }
    if connects.len() >= CONNECTS_PER_SEC {
        shared.limited_responses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return false;
    }
    connects.push_back(now);
    true
}

fn too_many() -> Response {
    use axum::response::IntoResponse;
    (axum::http::StatusCode::TOO_MANY_REQUESTS, "Too Many Requests: 3 connections per second").into_response()
}

pub async fn public_handler(State(shared): State<Arc<Shared>>, upgrade: WebSocketUpgrade) -> Response {
    serve_public(shared, upgrade, Endpoint::Public)
}

pub async fn business_handler(State(shared): State<Arc<Shared>>, upgrade: WebSocketUpgrade) -> Response {
    serve_public(shared, upgrade, Endpoint::Business)
}

fn serve_public(shared: Arc<Shared>, upgrade: WebSocketUpgrade, endpoint: Endpoint) -> Response {
    if !connect_allowed(&shared) {
        return too_many();
    }
    upgrade.max_message_size(MAX_FRAME).max_frame_size(MAX_FRAME).on_upgrade(move |socket| {
        let conn = conn_id();
        sessions::public(
            shared,
            socket,
            |s| &s.okx_public,
            move |shared, text, topics| public_request(shared, endpoint, text, &conn, topics),
        )
    })
}

/// Answers one request: a reply per channel, each book's snapshot after its reply.
fn public_request(shared: &Shared, endpoint: Endpoint, text: &str, conn: &str, topics: &mut Topics) -> Vec<String> {
    if text == "ping" {
        return vec!["pong".into()];
    }
    let Ok(request) = serde_json::from_str::<Request>(text) else {
        return vec![error("60012", &format!("Invalid request: {text}"), conn)];
    };
    if !matches!(request.op.as_str(), "subscribe" | "unsubscribe") {
        return vec![error("60012", &format!("Invalid request: {text}"), conn)];
    }
    let ex = shared.exchange();
    let mut out = Vec::new();
    for arg in &request.args {
        let channel = arg["channel"].as_str().unwrap_or_default();
        let inst = arg["instId"].as_str().unwrap_or_default();
        let Some(symbol) = symbol_named(&ex, inst).filter(|_| endpoint.serves(channel)) else {
            let msg = format!(
                "Wrong URL or channel:{channel},instId:{inst} doesn't exist. Please use the correct URL, channel and parameters referring to API document."
            );
            out.push(error("60018", &msg, conn));
            continue;
        };
        let name = stream(channel, inst);
        out.push(event(&request.op, arg, conn));
        if request.op == "unsubscribe" {
            topics.remove(&name);
            continue;
        }
        if channel == "books" {
            let index = ex.symbols().iter().position(|s| s.config.symbol == symbol).unwrap_or(0);
            let published = shared.bybit_book(index);
            let (bids, asks) = published.snapshot(SNAPSHOT_DEPTH);
            topics.books.insert(name.clone(), published.u);
            out.push(book_message(inst, "snapshot", (&bids, &asks), published.u, shared.now()));
        }
        topics.names.insert(name);
    }
    out
}

pub async fn private_handler(State(shared): State<Arc<Shared>>, upgrade: WebSocketUpgrade) -> Response {
    if !connect_allowed(&shared) {
        return too_many();
    }
    upgrade
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .on_upgrade(move |socket| sessions::private(shared, socket, Private { conn: conn_id(), ..Private::default() }))
}

/// A private connection: its login and channels.
#[derive(Default)]
struct Private {
    conn: String,
    account: Option<AccountId>,
    orders: bool,
    balances: bool,
}

/// Checks a `login`'s one argument; the refusal's code and message otherwise.
fn verify_login(shared: &Shared, args: &[Value]) -> Result<AccountId, (&'static str, &'static str)> {
    let [arg] = args else { return Err(("60009", "Login failed.")) };
    let field = |name: &str| arg[name].as_str().unwrap_or_default();
    let credential = shared.keys().get(field("apiKey")).cloned().ok_or(("60005", "Invalid apiKey"))?;
    // A string in OKX's documents; python-okx sends a number, which OKX takes too.
    let timestamp = arg["timestamp"].as_i64().map_or_else(|| field("timestamp").to_owned(), |n| n.to_string());
    let seconds: i64 = timestamp.parse().map_err(|_| ("60004", "Invalid timestamp"))?;
    if (seconds * 1_000 - shared.now()).abs() > TIME_WINDOW_MS {
        return Err(("60006", "Timestamp request expired"));
    }
    if field("passphrase") != PASSPHRASE {
        return Err(("60024", "Wrong passphrase"));
    }
    let signed = format!("{timestamp}GET/users/self/verify");
    if credential.verify_base64(signed.as_bytes(), field("sign")) {
        Ok(credential.account)
    } else {
        Err(("60007", "Invalid sign"))
    }
}

impl PrivateSession for Private {
    /// Order operations come at the rate of their own budgets (60 places,
    /// 60 cancels and 60 amends per 2 s), not capped by a message rate.
    const MESSAGES_PER_SEC: Option<u32> = Some(1_000);

    fn account(&self) -> Option<AccountId> {
        self.account
    }

    fn request(&mut self, shared: &Shared, text: &str) -> Vec<String> {
        let conn = self.conn.as_str();
        if text == "ping" {
            return vec!["pong".into()];
        }
        let Ok(request) = serde_json::from_str::<Request>(text) else {
            return vec![error("60012", &format!("Invalid request: {text}"), conn)];
        };
        match request.op.as_str() {
            "login" => match verify_login(shared, &request.args) {
                Ok(account) => {
                    self.account = Some(account);
                    vec![json!({"event": "login", "code": "0", "msg": "", "connId": conn}).to_string()]
                }
                Err((code, msg)) => vec![error(code, msg, conn)],
            },
            "subscribe" | "order" | "cancel-order" | "amend-order" if self.account.is_none() => {
                vec![error("60011", "Please log in", conn)]
            }
            "order" | "cancel-order" | "amend-order" => {
                let account = self.account.unwrap_or_default();
                let in_time = (crate::clock::now_ms() * 1_000).to_string();
                let (code, msg, data) = match request.args.as_slice() {
                    [arg] => super::rest::ws_op(shared, account, &request.op, arg),
                    _ => ("60012".into(), "Invalid request: one order an operation".into(), json!([])),
                };
                let out_time = (crate::clock::now_ms() * 1_000).to_string();
                vec![
                    json!({"id": request.id.unwrap_or_default(), "op": request.op, "code": code, "msg": msg,
                    "data": data, "inTime": in_time, "outTime": out_time})
                    .to_string(),
                ]
            }
            "subscribe" => {
                let mut out = Vec::new();
                for arg in &request.args {
                    match arg["channel"].as_str() {
                        Some("orders") if matches!(arg["instType"].as_str(), Some("SPOT" | "ANY")) => {
                            self.orders = true;
                            shared.user_subscribed.send_modify(|n| *n += 1);
                        }
                        Some("account") => self.balances = true,
                        _ => {
                            out.push(error("60018", &format!("Wrong URL or channel: {arg}"), conn));
                            continue;
                        }
                    }
                    out.push(event("subscribe", arg, conn));
                }
                out
            }
            _ => vec![error("60012", &format!("Invalid request: {text}"), conn)],
        }
    }

    fn render(&self, shared: &Shared, frame: &UserFrame) -> Vec<String> {
        let uid = frame.account.to_string();
        match &frame.event {
            Event::Execution { order, fill, time, .. } if self.orders => {
                let row = orders_row(&shared.exchange(), order, fill.as_ref(), *time);
                let arg = json!({"channel": "orders", "instType": "SPOT", "uid": uid});
                vec![json!({"arg": arg, "data": [row]}).to_string()]
            }
            Event::Balances { balances, time, .. } if self.balances => {
                let details: Vec<Value> = balances
                    .iter()
                    .map(|(ccy, b)| {
                        json!({"ccy": ccy, "availBal": num(b.free), "frozenBal": num(b.locked),
                        "cashBal": num(b.free + b.locked), "uTime": time.to_string()})
                    })
                    .collect();
                let data = json!([{"uTime": time.to_string(), "totalEq": "", "details": details}]);
                vec![json!({"arg": {"channel": "account", "uid": uid}, "data": data}).to_string()]
            }
            _ => Vec::new(),
        }
    }
}

/// An `orders` update: the order as it stands, and the fill it reports (if any).
fn orders_row(ex: &Exchange, order: &Order, fill: Option<&LastFill>, time: i64) -> Value {
    let mut row = super::rest::order_row(ex, order);
    let (trade_id, px, sz, fee, fee_ccy, exec_type) = match fill {
        Some(f) => (
            f.trade_id.to_string(),
            num(f.price),
            num(f.qty),
            num(-f.commission),
            f.commission_asset.clone(),
            if f.is_maker { "M" } else { "T" },
        ),
        None => (String::new(), String::new(), "0".into(), "0".into(), String::new(), ""),
    };
    for (name, value) in [
        ("tradeId", trade_id),
        ("fillPx", px),
        ("fillSz", sz),
        ("fillFee", fee),
        ("fillFeeCcy", fee_ccy),
        ("execType", exec_type.into()),
        ("fillTime", if fill.is_some() { time.to_string() } else { String::new() }),
        ("uTime", time.to_string()),
    ] {
        row[name] = value.into();
    }
    row
}
