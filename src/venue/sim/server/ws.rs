//! WebSocket endpoints: market streams (`/ws/<stream>`, `/ws`, and the
//! combined `/stream?streams=a/b`) with SUBSCRIBE/UNSUBSCRIBE/
//! LIST_SUBSCRIPTIONS, and what both these and the WebSocket API
//! ([`ws_api`](super::ws_api)) share. Both ping every 20 s, drop a client
//! that has not answered within 60 s, and close a connection that sends more
//! than the configured messages per second or an oversized frame.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::Shared;

pub(super) const PING_EVERY: Duration = Duration::from_secs(20);
/// How long after its `serverShutdown` notice a connection is closed.
pub(super) const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
const PONG_WITHIN: Duration = Duration::from_secs(60);
pub(super) const MAX_FRAME: usize = 64 * 1024;
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
pub(super) type CloseWith = Option<(u16, &'static str)>;

/// What to do with a client's frame.
pub(super) enum Flow {
    Text(axum::extract::ws::Utf8Bytes),
    Binary,
    Continue,
    Close(CloseWith),
}

/// Pings, pong deadline and the incoming message rate, shared by both endpoints.
pub(super) struct Keepalive {
    rate: MessageRate,
    last_pong: Instant,
}

impl Keepalive {
    pub(super) fn new(messages_per_sec: u32) -> Self {
        Self { rate: MessageRate::new(messages_per_sec), last_pong: Instant::now() }
    }

    /// Sends a ping, or closes a client that has not answered the earlier ones.
    pub(super) async fn ping(&mut self, socket: &mut WebSocket) -> Result<(), CloseWith> {
        if self.last_pong.elapsed() > PONG_WITHIN {
            return Err(Some((1008, "pong timeout")));
        }
        socket.send(Message::Ping(axum::body::Bytes::from_static(b"sim"))).await.map_err(|_| None)
    }

    /// Sorts an incoming frame; a client over its message rate is closed.
    pub(super) fn incoming(&mut self, frame: Option<Result<Message, axum::Error>>) -> Flow {
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
    if let Some(bad) = subs.iter().find(|s| !valid_stream(s)) {
        let body = json!({"code": -1100, "msg": format!("Invalid request: {}", refusal(bad))});
        return (axum::http::StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
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
    let event = json!({"e": "serverShutdown", "E": crate::clock::now_ms()}).to_string();
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
            Some(n) => match n.iter().find(|s| !valid_stream(s)) {
                Some(bad) => invalid(&refusal(bad)),
                None => invalid("invalid stream names"),
            },
            None => invalid("params must be a list of stream names"),
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

/// The channels the simulator serves; any other is refused (a client that
/// subscribed to one would otherwise wait for data forever).
pub(super) const SERVED: [&str; 6] = ["trade", "aggTrade", "bookTicker", "depth", "depth@100ms", "kline_1m"];

/// `<symbol>@<channel>`, the symbol in lower case (letters of other scripts as
/// they are), the channel one the simulator serves.
fn valid_stream(s: &str) -> bool {
    s.split_once('@').is_some_and(|(sym, ch)| {
        let symbol_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || (!c.is_ascii() && c.is_alphanumeric());
        !sym.is_empty() && sym.chars().all(symbol_char) && SERVED.contains(&ch)
    })
}

/// Why a stream name is refused.
fn refusal(s: &str) -> String {
    format!("stream {s:?} is not served (served: <symbol>@{})", SERVED.join(", <symbol>@"))
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
        // Streams the simulator does not serve are refused, naming them.
        for unserved in ["btcusdt@ticker", "btcusdt@depth5", "btcusdt@kline_5m"] {
            let r = control(
                &format!(r#"{{"method":"SUBSCRIBE","params":["{unserved}"],"id":6}}"#),
                &mut subs,
                &mut combined,
            );
            assert_eq!(r["code"], 2, "{unserved}");
            assert!(r["msg"].as_str().unwrap().contains(unserved), "{r}");
        }
        let r = control(r#"{"method":"SUBSCRIBE","params":["币安人生usdt@trade"],"id":5}"#, &mut subs, &mut combined);
        assert_eq!(r, json!({"result": null, "id": 5}), "symbols of other scripts");
    }
}
