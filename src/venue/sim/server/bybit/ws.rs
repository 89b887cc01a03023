//! Bybit's WebSocket endpoints: `/v5/public/spot` (subscribe by message,
//! ≤ 10 topics a request; `publicTrade`, `orderbook.{1,50,200}` as a
//! snapshot then numbered deltas, `kline.1`; `{"op":"ping"}` answered) and
//! `/v5/private` (`op: auth`, then `order`, `execution`, `wallet`). Both
//! share the Binance endpoints' keepalive and close on the same faults.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::Value;

use super::super::sessions::{self, PrivateSession, Topics};
use super::super::ws::MAX_FRAME;
use super::super::{Shared, StreamFrame, UserFrame};
use super::wire;
use super::{op_reply, verify_login};
use crate::venue::sim::exchange::{Candle, DepthDiff, Event, LevelDec, SymbolState};
use crate::venue::sim::ledger::AccountId;

/// Topics per subscribe request (spot).
const ARGS_PER_REQUEST: usize = 10;

pub fn trade(symbol: &str, id: u64, price: Decimal, qty: Decimal, buyer_is_maker: bool, time: i64) -> String {
    wire::trade_message(symbol, id, price, qty, buyer_is_maker, time)
}

/// `orderbook.1`: the best bid and ask, always a snapshot.
pub fn top(s: &SymbolState, time: i64) -> String {
    let bids: Vec<_> = s.best_bid().into_iter().collect();
    let asks: Vec<_> = s.best_ask().into_iter().collect();
    wire::book_message(1, &s.config.symbol, "snapshot", &bids, &asks, s.update_id(), time)
}

/// A symbol's book as the Bybit stream has published it (as of message
/// `u`): snapshots show this, and each delta is what changed from it, so a
/// delta never removes a level the client does not hold (a level that came
/// and went between two deltas is not mentioned), as on Bybit.
#[derive(Debug)]
pub struct Published {
    pub u: u64,
    bids: BTreeMap<Decimal, Decimal>,
    asks: BTreeMap<Decimal, Decimal>,
}

impl Default for Published {
    fn default() -> Self {
        Self { u: 1, bids: BTreeMap::new(), asks: BTreeMap::new() }
    }
}

impl Published {
    /// Takes in one depth diff: the levels that changed (bids, asks) and
    /// the next `u`, or `None` if nothing the stream shows changed.
    pub fn apply(&mut self, diff: &DepthDiff) -> Option<(Vec<LevelDec>, Vec<LevelDec>, u64)> {
        fn side(held: &mut BTreeMap<Decimal, Decimal>, levels: &[LevelDec]) -> Vec<LevelDec> {
            let mut changed = Vec::new();
            for &(price, qty) in levels {
                let before = held.get(&price).copied().unwrap_or_default();
                if qty == before {
                    continue;
                }
                if qty.is_zero() {
                    held.remove(&price);
                } else {
                    held.insert(price, qty);
                }
                changed.push((price, qty));
            }
            changed
        }
        let (bids, asks) = (side(&mut self.bids, &diff.bids), side(&mut self.asks, &diff.asks));
        if bids.is_empty() && asks.is_empty() {
            return None;
        }
        self.u += 1;
        Some((bids, asks, self.u))
    }

    /// The best `depth` levels of each side as of `u`.
    pub fn snapshot(&self, depth: usize) -> (Vec<LevelDec>, Vec<LevelDec>) {
        let bids = self.bids.iter().rev().take(depth).map(|(p, q)| (*p, *q)).collect();
        let asks = self.asks.iter().take(depth).map(|(p, q)| (*p, *q)).collect();
        (bids, asks)
    }
}

/// One change of the published book as the deltas of `orderbook.50` and `orderbook.200`, numbered `u`.
pub fn deltas(symbol: &str, bids: &[LevelDec], asks: &[LevelDec], u: u64, time: i64) -> Vec<StreamFrame> {
    [50, 200]
        .into_iter()
        .map(|depth| StreamFrame {
            stream: format!("orderbook.{depth}.{symbol}"),
            payload: wire::book_message(depth, symbol, "delta", bids, asks, u, time),
            seq: u,
        })
        .collect()
}

pub fn kline(symbol: &str, c: &Candle, closed: bool, time: i64) -> String {
    wire::kline_message(symbol, c, closed, time)
}

/// A client's `op` request.
#[derive(serde::Deserialize)]
struct Request {
    op: String,
    /// Echoed as sent (clients send strings or numbers).
    #[serde(default)]
    req_id: Option<Value>,
    #[serde(default)]
    args: Vec<Value>,
}

fn conn_id() -> String {
    format!("sim-{:x}", crate::clock::now_ms())
}

pub async fn public_handler(State(shared): State<Arc<Shared>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.max_message_size(MAX_FRAME).max_frame_size(MAX_FRAME).on_upgrade(move |socket| {
        let conn = conn_id();
        sessions::public(
            shared,
            socket,
            |s| &s.bybit_public,
            move |shared, text, topics| public_request(shared, text, &conn, topics),
        )
    })
}

/// Answers one request: the reply, then the snapshots of the books it subscribed.
fn public_request(shared: &Shared, text: &str, conn: &str, topics: &mut Topics) -> Vec<String> {
    let request: Request = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(_) => return vec![op_reply("", None, false, &format!("Invalid request: {text}"), conn)],
    };
    let req_id = request.req_id.as_ref();
    let names: Vec<String> = request.args.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect();
    match request.op.as_str() {
        "ping" => vec![op_reply("ping", req_id, true, "pong", conn)],
        "subscribe" | "unsubscribe" if names.len() > ARGS_PER_REQUEST => {
            vec![op_reply(&request.op, req_id, false, "args size >10", conn)]
        }
        "subscribe" => {
            let ex = shared.exchange();
            if let Some(bad) = names.iter().find(|t| !valid_topic(&ex, t)) {
                return vec![op_reply("subscribe", req_id, false, &format!("Invalid topic :[{bad}]"), conn)];
            }
            let mut out = vec![op_reply("subscribe", req_id, true, "", conn)];
            for name in names {
                // The book as of the last delta (`u`): the next delta is numbered one past.
                if let Some((depth, symbol)) = book_topic(&name)
                    && let Ok(s) = ex.symbol(symbol)
                {
                    let time = shared.now();
                    out.push(if depth == 1 {
                        top(s, time)
                    } else {
                        let index = ex.symbols().iter().position(|x| x.config.symbol == symbol).unwrap_or(0);
                        let published = shared.bybit_book(index);
                        let (u, (bids, asks)) = (published.u, published.snapshot(depth as usize));
                        topics.books.insert(name.clone(), u);
                        wire::book_message(depth, symbol, "snapshot", &bids, &asks, u, time)
                    });
                }
                topics.names.insert(name);
            }
            out
        }
        "unsubscribe" => {
            for name in &names {
                topics.remove(name);
            }
            vec![op_reply("unsubscribe", req_id, true, "", conn)]
        }
        other => vec![op_reply(other, req_id, false, &format!("Invalid op: {other}"), conn)],
    }
}

/// `orderbook.<depth>.<symbol>` read.
fn book_topic(name: &str) -> Option<(u32, &str)> {
    let (depth, symbol) = name.strip_prefix("orderbook.")?.split_once('.')?;
    Some((depth.parse().ok().filter(|d| [1, 50, 200].contains(d))?, symbol))
}

fn valid_topic(ex: &crate::venue::sim::exchange::Exchange, name: &str) -> bool {
    let symbol = if let Some(s) = name.strip_prefix("publicTrade.") {
        s
    } else if let Some(s) = name.strip_prefix("kline.1.") {
        s
    } else if let Some((_, s)) = book_topic(name) {
        s
    } else {
        return false;
    };
    ex.symbol(symbol).is_ok()
}

pub async fn private_handler(State(shared): State<Arc<Shared>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .on_upgrade(move |socket| sessions::private(shared, socket, Private { conn: conn_id(), ..Private::default() }))
}

/// What a private connection is subscribed to, by the names the client used.
#[derive(Default)]
struct Private {
    conn: String,
    account: Option<AccountId>,
    order: Option<String>,
    execution: Option<String>,
    wallet: Option<String>,
}

impl PrivateSession for Private {
    fn account(&self) -> Option<AccountId> {
        self.account
    }

    fn request(&mut self, shared: &Shared, text: &str) -> Vec<String> {
        let conn = self.conn.clone();
        vec![private_request(shared, text, &conn, self)]
    }

    fn render(&self, shared: &Shared, frame: &UserFrame) -> Vec<String> {
        private_messages(shared, self, frame)
    }
}

fn private_request(shared: &Shared, text: &str, conn: &str, state: &mut Private) -> String {
    let request: Request = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(_) => return op_reply("", None, false, &format!("Invalid request: {text}"), conn),
    };
    let req_id = request.req_id.as_ref();
    match request.op.as_str() {
        "ping" => {
            let mut pong: Value =
                serde_json::json!({"op": "pong", "args": [shared.now().to_string()], "conn_id": conn});
            pong["req_id"] = req_id.cloned().unwrap_or_else(|| "".into());
            pong.to_string()
        }
        "auth" => match verify_login(shared, &request.args) {
            Ok(account) => {
                state.account = Some(account);
                op_reply("auth", req_id, true, "", conn)
            }
            Err(why) => op_reply("auth", req_id, false, &why, conn),
        },
        "subscribe" => {
            if state.account.is_none() {
                return op_reply("subscribe", req_id, false, "Request not authorized", conn);
            }
            let names: Vec<&str> = request.args.iter().filter_map(Value::as_str).collect();
            if let Some(bad) = names
                .iter()
                .find(|n| !matches!(**n, "order" | "order.spot" | "execution" | "execution.spot" | "wallet"))
            {
                return op_reply("subscribe", req_id, false, &format!("Invalid topic :[{bad}]"), conn);
            }
            for name in names {
                let slot = match name.split('.').next() {
                    Some("order") => &mut state.order,
                    Some("execution") => &mut state.execution,
                    _ => &mut state.wallet,
                };
                *slot = Some(name.to_owned());
            }
            shared.user_subscribed.send_modify(|n| *n += 1);
            op_reply("subscribe", req_id, true, "", conn)
        }
        other => op_reply(other, req_id, false, &format!("Invalid op: {other}"), conn),
    }
}

/// What one account event is on the topics subscribed: an order's update
/// (and its fill), or the wallet's changed coins.
fn private_messages(shared: &Shared, state: &Private, frame: &UserFrame) -> Vec<String> {
    let mut out = Vec::new();
    match &frame.event {
        Event::Execution { order, fill, time, .. } => {
            if let Some(topic) = &state.execution
                && let Some(f) = fill
            {
                let fees = shared.exchange().config().fees.clone();
                let fee_rate = if f.is_maker { fees.maker } else { fees.taker };
                out.push(wire::private_message(topic, vec![wire::fill(order, f, *time, fee_rate)], *time));
            }
            if let Some(topic) = &state.order {
                out.push(wire::private_message(topic, vec![wire::order(order)], *time));
            }
        }
        Event::Balances { balances, time, .. } => {
            if let Some(topic) = &state.wallet {
                let coins = balances.iter().map(|(asset, b)| wire::coin(asset, b)).collect();
                out.push(wire::private_message(topic, vec![wire::wallet(coins)], *time));
            }
        }
        Event::Trade { .. } | Event::BookTicker { .. } => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn diff(bids: &[(&str, &str)], asks: &[(&str, &str)]) -> DepthDiff {
        let levels = |l: &[(&str, &str)]| l.iter().map(|(p, q)| (d(p), d(q))).collect();
        DepthDiff { first_update_id: 0, last_update_id: 0, bids: levels(bids), asks: levels(asks) }
    }

    #[test]
    fn deltas_name_only_what_changed_since_the_last_and_never_remove_what_was_not_shown() {
        let mut book = Published::default();
        let (bids, asks, u) = book.apply(&diff(&[("100", "1"), ("99", "2")], &[("101", "1")])).unwrap();
        assert_eq!((bids.len(), asks.len(), u), (2, 1, 2));
        // 98 came and went between two deltas; 99 is unchanged; 100 is gone.
        let (bids, asks, u) = book.apply(&diff(&[("100", "0"), ("99", "2"), ("98", "0")], &[])).unwrap();
        assert_eq!((bids, asks, u), (vec![(d("100"), d("0"))], vec![], 3));
        assert!(book.apply(&diff(&[("97", "0")], &[("101", "1")])).is_none(), "nothing the stream shows changed");
        assert_eq!(book.u, 3, "and no message number spent on it");
        book.apply(&diff(&[("98", "5")], &[("102", "3")])).unwrap();
        assert_eq!(book.snapshot(1), (vec![(d("99"), d("2"))], vec![(d("101"), d("1"))]));
        assert_eq!(book.snapshot(50).0, [(d("99"), d("2")), (d("98"), d("5"))], "best first");
    }
}
