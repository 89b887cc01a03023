//! The WebSocket API (`/ws-api/v3`): user-data subscriptions
//! (`userDataStream.subscribe.signature`), `ping`, `time`, and the order and
//! account methods third-party clients use (`order.place`, `order.cancel`,
//! `order.status`, `account.status`), signed like Binance's (HMAC or Ed25519
//! over the sorted parameters). Every answer carries `rateLimits`, the request
//! weight used in the current minute, as the venue's does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::params::{Params, check_time};
use super::ws::{Flow, Keepalive, MAX_FRAME, PING_EVERY, SHUTDOWN_GRACE};
use super::{Shared, UserFrame};
use crate::venue::sim::exchange::ApiError;
use crate::venue::sim::ledger::AccountId;

/// `/ws-api/v3`.
pub async fn api_handler(State(shared): State<Arc<Shared>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .on_upgrade(move |socket| api_connection(shared, socket))
}

async fn api_connection(shared: Arc<Shared>, socket: WebSocket) {
    api_session(&shared, socket).await;
    shared.api_closed.send_modify(|n| *n += 1);
}

async fn api_session(shared: &Arc<Shared>, mut socket: WebSocket) {
    let mut user = shared.user.subscribe();
    let mut drops = shared.drops.subscribe();
    let mut notices = shared.notices.subscribe();
    let mut closing = std::pin::pin!(tokio::time::sleep(Duration::MAX));
    let mut keepalive = Keepalive::new(shared.exchange().config().limits.ws_messages_per_sec.max(10));
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    // account → subscription id
    let mut subscriptions: BTreeMap<AccountId, u64> = BTreeMap::new();
    let mut next_subscription = 0u64;
    // An event held back to be sent after the next one (reordering fault).
    let mut held: Option<(u64, Arc<UserFrame>)> = None;
    let close = loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => break Some((1001, "server shutdown")),
            _ = drops.changed() => break Some((1001, "going away")),
            _ = notices.changed() => {
                let notice = json!({"event": {"e": "serverShutdown", "E": shared.now()}}).to_string();
                if socket.send(Message::Text(notice.into())).await.is_err() { break None; }
                closing.as_mut().reset(Instant::now() + SHUTDOWN_GRACE);
            }
            () = &mut closing => break Some((1001, "server shutdown")),
            event = user.recv() => match event {
                Ok(frame) => {
                    if let Some(&sub) = subscriptions.get(&frame.account) {
                        let faults = shared.faults();
                        if shared.roll(faults.drop_user_events) {
                            continue;
                        }
                        if held.is_none() && shared.roll(faults.reorder_user_events) {
                            held = Some((sub, frame));
                            continue;
                        }
                        let times = if shared.roll(faults.duplicate_user_events) { 2 } else { 1 };
                        for _ in 0..times {
                            if send_event(&mut socket, sub, &frame).await.is_err() { return; }
                        }
                        if let Some((sub, frame)) = held.take()
                            && send_event(&mut socket, sub, &frame).await.is_err()
                        {
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(_)) => break Some((1008, "too slow")),
                Err(RecvError::Closed) => break None,
            },
            _ = ping.tick() => if let Err(close) = keepalive.ping(&mut socket).await { break close },
            incoming = socket.recv() => match keepalive.incoming(incoming) {
                Flow::Close(close) => break close,
                Flow::Continue | Flow::Binary => {}
                Flow::Text(text) => {
                    let mut reply = api_request(shared, &text, &mut subscriptions, &mut next_subscription);
                    with_rate_limits(shared, &mut reply);
                    if socket.send(Message::Text(reply.to_string().into())).await.is_err() { break None; }
                }
            },
        }
    };
    if let Some((code, reason)) = close {
        let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
    }
}

async fn send_event(socket: &mut WebSocket, subscription: u64, frame: &UserFrame) -> Result<(), axum::Error> {
    let Some(event) = super::wire::user_event(&frame.event) else { return Ok(()) };
    let text = format!("{{\"subscriptionId\":{subscription},\"event\":{event}}}");
    socket.send(Message::Text(text.into())).await
}

fn api_request(shared: &Shared, text: &str, subs: &mut BTreeMap<AccountId, u64>, next: &mut u64) -> Value {
    let request: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return api_error(&Value::Null, 400, -1000, &format!("Malformed request: {e}")),
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let params = request.get("params").cloned().unwrap_or_else(|| json!({}));
    match request.get("method").and_then(Value::as_str).map(|m| m.strip_prefix("v3/").unwrap_or(m)) {
        Some("ping") => json!({"id": id, "status": 200, "result": {}}),
        Some("time") => json!({"id": id, "status": 200, "result": {"serverTime": shared.now()}}),
        Some("userDataStream.subscribe.signature") => match verify_ws_signature(shared, &params) {
            Ok(account) => {
                if subs.contains_key(&account) {
                    return api_error(&id, 400, -2035, "User Data Stream subscription already active.");
                }
                let sub = *next;
                *next += 1;
                subs.insert(account, sub);
                shared.user_subscribed.send_modify(|n| *n += 1);
                json!({"id": id, "status": 200, "result": {"subscriptionId": sub}})
            }
            Err((status, code, msg)) => api_error(&id, status, code, &msg),
        },
        Some("userDataStream.unsubscribe") => {
            match params.get("subscriptionId").and_then(Value::as_u64) {
                Some(sub) => subs.retain(|_, s| *s != sub),
                None => subs.clear(),
            }
            json!({"id": id, "status": 200, "result": {}})
        }
        Some("session.subscriptions") => {
            let list: Vec<Value> = subs.values().map(|s| json!({"subscriptionId": s})).collect();
            json!({"id": id, "status": 200, "result": list})
        }
        Some(method @ ("order.place" | "order.cancel" | "order.status" | "account.status")) => {
            shared.count_request("WS", method);
            match signed_call(shared, method, &params) {
                Ok(result) => json!({"id": id, "status": 200, "result": result}),
                Err((status, e)) => api_error(&id, status, e.code, &e.msg),
            }
        }
        Some(other) => api_error(&id, 400, -1000, &format!("Unsupported method '{other}'.")),
        None => api_error(&id, 400, -1102, "Mandatory parameter 'method' was not sent."),
    }
}

/// WebSocket API signing: every param but `signature`, sorted, `k=v&…`, not encoded.
fn verify_ws_signature(shared: &Shared, params: &Value) -> Result<AccountId, (u16, i32, String)> {
    let Some(map) = params.as_object() else {
        return Err((400, -1102, "params must be an object".into()));
    };
    let text = |k: &str| map.get(k).map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()));
    let api_key = text("apiKey").ok_or((400, -1102, "Mandatory parameter 'apiKey' was not sent.".to_owned()))?;
    let credential = shared.keys().get(&api_key).cloned().ok_or((401, -2015, super::params::rejected_key().msg))?;
    let timestamp =
        text("timestamp").ok_or((400, -1102, "Mandatory parameter 'timestamp' was not sent.".to_owned()))?;
    check_time(&timestamp, text("recvWindow").as_deref(), shared.now()).map_err(|e| (400, e.code, e.msg))?;
    let signature =
        text("signature").ok_or((400, -1102, "Mandatory parameter 'signature' was not sent.".to_owned()))?;
    let mut pairs: Vec<(String, String)> =
        map.keys().filter(|k| *k != "signature").map(|k| (k.clone(), text(k).unwrap_or_default())).collect();
    pairs.sort();
    let payload = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    if credential.verify(payload.as_bytes(), &signature) {
        Ok(credential.account)
    } else {
        Err((400, -1022, "Signature for this request is not valid.".into()))
    }
}

fn api_error(id: &Value, status: u16, code: i32, msg: &str) -> Value {
    json!({"id": id, "status": status, "error": {"code": code, "msg": msg}})
}

/// `order.place`, `order.cancel`, `order.status`, `account.status`: verified,
/// charged their REST weight (orders also count against the order limits),
/// then answered as the REST endpoint would.
fn signed_call(shared: &Shared, method: &str, params: &Value) -> Result<Value, (u16, ApiError)> {
    let account =
        verify_ws_signature(shared, params).map_err(|(status, code, msg)| (status, ApiError::new(code, msg)))?;
    let bad = |e: ApiError| (400, e);
    let limited = |l: super::limits::Limited| (l.status, l.error);
    // The parameters as the REST reader takes them (the credentials are not its business).
    let query: String = {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params.as_object().into_iter().flatten() {
            if !matches!(k.as_str(), "apiKey" | "signature" | "timestamp" | "recvWindow") {
                q.append_pair(k, &v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()));
            }
        }
        q.finish()
    };
    let params = Params::parse(&query, b"").map_err(bad)?;
    let now = crate::clock::now_ms();
    let limits = shared.exchange().config().limits.clone();
    let weight = match method {
        "order.status" => 4,
        "account.status" => 20,
        _ => 1,
    };
    shared.rate().charge(&limits, weight, now).map_err(limited)?;
    match method {
        "order.place" => {
            let (order, resp) = super::orders::parse_new_order(&params).map_err(bad)?;
            shared.rate().count_order(&limits, account, now).map_err(limited)?;
            super::orders::place(shared, account, &order, resp, now).map(|(_, body)| body).map_err(bad)
        }
        "order.cancel" => super::orders::cancel(shared, account, &params, now).map_err(bad),
        "order.status" => {
            let ex = shared.exchange();
            let symbol = params.required("symbol").map_err(bad)?;
            let o =
                ex.order(account, params.u64("orderId").map_err(bad)?, params.get("origClientOrderId")).map_err(bad)?;
            if o.symbol != symbol {
                return Err(bad(ApiError::new(-2013, "Order does not exist.")));
            }
            Ok(super::wire::order(o))
        }
        _ => Ok(super::orders::account(shared, account, &params, now)),
    }
}

/// Adds the venue's `rateLimits` to an answer: the request weight of the current minute.
fn with_rate_limits(shared: &Shared, reply: &mut Value) {
    let limit = shared.exchange().config().limits.request_weight_per_minute;
    let count = shared.rate().used_weight(crate::clock::now_ms());
    if let Some(map) = reply.as_object_mut() {
        map.insert(
            "rateLimits".into(),
            json!([{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": limit, "count": count}]),
        );
    }
}
