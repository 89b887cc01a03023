//! WebSocket endpoints: market streams (`/ws/<stream>`, `/ws`, and the
//! combined `/stream?streams=a/b`) with SUBSCRIBE/UNSUBSCRIBE/
//! LIST_SUBSCRIPTIONS, and the WebSocket API (`/ws-api/v3`) with
//! `userDataStream.subscribe.signature`. Both ping every 20 s, drop a client
//! that has not answered within 60 s, and close a connection that sends more
//! than the configured messages per second or an oversized frame.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::params::check_time;
use super::{Shared, UserFrame};
use crate::venue::sim::ledger::AccountId;

const PING_EVERY: Duration = Duration::from_secs(20);
/// How long after its `serverShutdown` notice a connection is closed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
const PONG_WITHIN: Duration = Duration::from_secs(60);
const MAX_FRAME: usize = 64 * 1024;
/// Binance's limit of streams per connection.
const MAX_STREAMS: usize = 1024;

/// Counts incoming messages per second.
struct MessageRate {
    second: Instant,
    count: u32,
    limit: u32,
}

impl MessageRate {
    fn new(limit: u32) -> Self {
        Self { second: Instant::now(), count: 0, limit }
    }

    /// False once the client sent more than the limit within a second.
    fn allow(&mut self) -> bool {
        if self.second.elapsed() >= Duration::from_secs(1) {
            self.second = Instant::now();
            self.count = 0;
        }
        self.count += 1;
        self.count <= self.limit
    }
}

/// Why the server closes a connection: (close code, reason); `None` = just drop it.
type CloseWith = Option<(u16, &'static str)>;

/// What to do with a client's frame.
enum Flow {
    Text(axum::extract::ws::Utf8Bytes),
    Binary,
    Continue,
    Close(CloseWith),
}

/// Pings, pong deadline and the incoming message rate, shared by both endpoints.
struct Keepalive {
    rate: MessageRate,
    last_pong: Instant,
}

impl Keepalive {
    fn new(messages_per_sec: u32) -> Self {
        Self { rate: MessageRate::new(messages_per_sec), last_pong: Instant::now() }
    }

    /// Sends a ping, or closes a client that has not answered the earlier ones.
    async fn ping(&mut self, socket: &mut WebSocket) -> Result<(), CloseWith> {
        if self.last_pong.elapsed() > PONG_WITHIN {
            return Err(Some((1008, "pong timeout")));
        }
        socket.send(Message::Ping(axum::body::Bytes::from_static(b"sim"))).await.map_err(|_| None)
    }

    /// Sorts an incoming frame; a client over its message rate is closed.
    fn incoming(&mut self, frame: Option<Result<Message, axum::Error>>) -> Flow {
        let message = match frame {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Flow::Close(None),
            Some(Ok(m)) => m,
        };
        if !self.rate.allow() {
            return Flow::Close(Some((1008, "too many messages")));
        }
        match message {
            Message::Pong(_) => {
                self.last_pong = Instant::now();
                Flow::Continue
            }
            Message::Text(text) => Flow::Text(text),
            Message::Binary(_) => Flow::Binary,
            Message::Ping(_) | Message::Close(_) => Flow::Continue,
        }
    }
}

#[derive(serde::Deserialize)]
pub struct StreamQuery {
    streams: Option<String>,
}

/// `/ws`, `/ws/<stream>` (raw payloads) and `/stream?streams=…` (combined wrapper).
pub async fn market_handler(
    State(shared): State<Arc<Shared>>,
    stream: Option<Path<String>>,
    Query(query): Query<StreamQuery>,
    uri: axum::http::Uri,
    upgrade: WebSocketUpgrade,
) -> Response {
    let combined = uri.path() == "/stream";
    let mut subs: HashSet<String> = HashSet::new();
    if let Some(Path(s)) = stream {
        subs.extend(s.split('/').map(str::to_owned));
    }
    if let Some(list) = query.streams {
        subs.extend(list.split('/').filter(|s| !s.is_empty()).map(str::to_owned));
    }
    upgrade
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .on_upgrade(move |socket| market_connection(shared, socket, subs, combined))
}

async fn market_connection(shared: Arc<Shared>, mut socket: WebSocket, mut subs: HashSet<String>, mut combined: bool) {
    let mut public = shared.public.subscribe();
    let mut drops = shared.drops.subscribe();
    let mut notices = shared.notices.subscribe();
    let mut keepalive = Keepalive::new(shared.exchange().config().limits.ws_messages_per_sec);
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    // Set by a `serverShutdown` notice: the connection closes then.
    let mut closing = std::pin::pin!(tokio::time::sleep(Duration::MAX));
    let close = loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => {
                let _ = socket.send(Message::Text(server_shutdown(combined).into())).await;
                break None;
            }
            _ = notices.changed() => {
                if socket.send(Message::Text(server_shutdown(combined).into())).await.is_err() { break None; }
                closing.as_mut().reset(Instant::now() + SHUTDOWN_GRACE);
            }
            () = &mut closing => break Some((1001, "server shutdown")),
            _ = drops.changed() => break Some((1001, "going away")),
            frame = public.recv() => match frame {
                Ok(f) if subs.contains(&f.stream) => {
                    let text = if combined { format!("{{\"stream\":\"{}\",\"data\":{}}}", f.stream, f.payload) } else { f.payload.clone() };
                    if socket.send(Message::Text(text.into())).await.is_err() { break None; }
                }
                Ok(_) => {}
                // Too slow to keep up: close, the client resyncs from a snapshot.
                Err(RecvError::Lagged(_)) => break Some((1008, "too slow")),
                Err(RecvError::Closed) => break None,
            },
            _ = ping.tick() => if let Err(close) = keepalive.ping(&mut socket).await { break close },
            incoming = socket.recv() => match keepalive.incoming(incoming) {
                Flow::Close(close) => break close,
                Flow::Continue => {}
                Flow::Text(text) => {
                    let reply = control(&text, &mut subs, &mut combined);
                    if socket.send(Message::Text(reply.to_string().into())).await.is_err() { break None; }
                }
                Flow::Binary => {
                    let reply = json!({"code": 3, "msg": "Invalid JSON: binary frames are not accepted", "id": Value::Null});
                    if socket.send(Message::Text(reply.to_string().into())).await.is_err() { break None; }
                }
            },
        }
    };
    if let Some((code, reason)) = close {
        let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
    }
}

/// The `serverShutdown` event, raw or in the combined wrapper.
fn server_shutdown(combined: bool) -> String {
    let event = json!({"e": "serverShutdown", "E": super::now_ms()}).to_string();
    if combined { format!("{{\"stream\":\"!serverShutdown\",\"data\":{event}}}") } else { event }
}

/// Answers a control message (SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, …).
fn control(text: &str, subs: &mut HashSet<String>, combined: &mut bool) -> Value {
    let request: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return json!({"code": 3, "msg": format!("Invalid JSON: {e}"), "id": Value::Null}),
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let invalid = |why: &str| json!({"code": 2, "msg": format!("Invalid request: {why}"), "id": id.clone()});
    let names = || -> Option<Vec<String>> {
        request.get("params")?.as_array()?.iter().map(|p| p.as_str().map(str::to_owned)).collect()
    };
    match request.get("method").and_then(Value::as_str) {
        Some("SUBSCRIBE") => match names() {
            Some(n) if subs.len() + n.len() <= MAX_STREAMS && n.iter().all(|s| valid_stream(s)) => {
                subs.extend(n);
                json!({"result": Value::Null, "id": id})
            }
            Some(n) if subs.len() + n.len() > MAX_STREAMS => invalid("too many streams"),
            _ => invalid("invalid stream names"),
        },
        Some("UNSUBSCRIBE") => match names() {
            Some(n) => {
                for s in n {
                    subs.remove(&s);
                }
                json!({"result": Value::Null, "id": id})
            }
            None => invalid("params must be a list of stream names"),
        },
        Some("LIST_SUBSCRIPTIONS") => {
            let mut list: Vec<&String> = subs.iter().collect();
            list.sort();
            json!({"result": list, "id": id})
        }
        Some("SET_PROPERTY") => {
            *combined = request.pointer("/params/1").and_then(Value::as_bool).unwrap_or(*combined);
            json!({"result": Value::Null, "id": id})
        }
        Some("GET_PROPERTY") => json!({"result": *combined, "id": id}),
        _ => invalid("unknown method"),
    }
}

/// `<symbol>@<channel>`, the symbol in lower case (letters of other scripts as they are).
fn valid_stream(s: &str) -> bool {
    s.split_once('@').is_some_and(|(sym, ch)| {
        let symbol_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || (!c.is_ascii() && c.is_alphanumeric());
        !sym.is_empty() && sym.chars().all(symbol_char) && !ch.is_empty()
    })
}

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
                    let reply = api_request(shared, &text, &mut subscriptions, &mut next_subscription);
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
    let text = format!("{{\"subscriptionId\":{subscription},\"event\":{}}}", frame.payload);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_messages_follow_binance() {
        let mut subs = HashSet::new();
        let mut combined = false;
        let r = control(
            r#"{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@depth@100ms"],"id":1}"#,
            &mut subs,
            &mut combined,
        );
        assert_eq!(r, json!({"result": null, "id": 1}));
        let r = control(r#"{"method":"LIST_SUBSCRIPTIONS","id":"x"}"#, &mut subs, &mut combined);
        assert_eq!(r, json!({"result": ["btcusdt@depth@100ms", "btcusdt@trade"], "id": "x"}));
        control(r#"{"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":2}"#, &mut subs, &mut combined);
        assert_eq!(subs.len(), 1);
        assert_eq!(control("{not json", &mut subs, &mut combined)["code"], 3);
        assert_eq!(
            control(r#"{"method":"SUBSCRIBE","params":["BTCUSDT@trade"],"id":3}"#, &mut subs, &mut combined)["code"],
            2
        );
        assert_eq!(control(r#"{"method":"FLY","id":4}"#, &mut subs, &mut combined)["code"], 2);
        let r = control(r#"{"method":"SUBSCRIBE","params":["币安人生usdt@trade"],"id":5}"#, &mut subs, &mut combined);
        assert_eq!(r, json!({"result": null, "id": 5}), "symbols of other scripts");
    }
}
