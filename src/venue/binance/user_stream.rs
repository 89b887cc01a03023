//! The user-data stream over the WebSocket API: `userDataStream.subscribe.signature`
//! (listenKey is gone), events wrapped as `{"subscriptionId":N,"event":{…}}`.
//! Parses `executionReport`, `outboundAccountPosition`, `balanceUpdate` and
//! `eventStreamTerminated`; reconnects and resubscribes with backoff, and
//! tells the execution task after every (re)subscription so it can fill the
//! gap through REST. `serverShutdown` switches to a new connection before the
//! old one goes (no gap, so nothing to fill).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::Balance;

use super::rest::{Credentials, RestClient};
use super::sign::ws_payload;
use crate::execution::venue::AccountEvent;
use crate::venue::ws::{self, Reconnect, Ws};

/// An `executionReport`, reduced to what order tracking needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExecutionReport {
    #[serde(rename = "s")]
    pub symbol: String,
    /// The client id of this request (for a cancel: the cancel's id).
    #[serde(rename = "c")]
    pub client_id: String,
    /// For a cancel: the client id of the order that was cancelled.
    #[serde(rename = "C", default)]
    pub orig_client_id: Option<String>,
    #[serde(rename = "S")]
    pub side: String,
    #[serde(rename = "x")]
    pub exec_type: String,
    #[serde(rename = "X", deserialize_with = "super::rest::de_order_status")]
    pub status: crate::execution::report::OrderStatus,
    #[serde(rename = "r", default)]
    pub reject_reason: Option<String>,
    #[serde(rename = "i")]
    pub order_id: u64,
    #[serde(rename = "q")]
    pub orig_qty: Decimal,
    #[serde(rename = "l")]
    pub last_qty: Decimal,
    #[serde(rename = "z")]
    pub cum_qty: Decimal,
    #[serde(rename = "L")]
    pub last_price: Decimal,
    #[serde(rename = "n", default)]
    pub commission: Option<Decimal>,
    #[serde(rename = "N", default)]
    pub commission_asset: Option<String>,
    #[serde(rename = "T")]
    pub time: i64,
    #[serde(rename = "t")]
    pub trade_id: i64,
    #[serde(rename = "m", default)]
    pub maker: bool,
}

impl ExecutionReport {
    /// The id of the order this report is about (the original id on cancels).
    pub fn order_client_id(&self) -> &str {
        match self.orig_client_id.as_deref() {
            Some(orig) if !orig.is_empty() => orig,
            _ => &self.client_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AssetBalance {
    #[serde(rename = "a")]
    pub asset: String,
    #[serde(rename = "f")]
    pub free: Decimal,
    #[serde(rename = "l")]
    pub locked: Decimal,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UserParseError {
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A parsed WebSocket API frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Event(AccountEvent),
    /// The stream was terminated by the venue: resubscribe.
    Terminated,
    /// The server is about to go away (`serverShutdown`): switch connections.
    ServerShutdown,
    /// A response to request `id`: `Ok(result)` or `Err((code, msg))`.
    Response {
        id: Option<String>,
        result: Result<serde_json::Value, (i64, String)>,
    },
    /// An event type this daemon does not use.
    Ignored,
}

#[derive(Deserialize)]
struct Wrapped {
    event: Box<serde_json::value::RawValue>,
}

#[derive(Deserialize)]
struct EventType<'a> {
    e: &'a str,
}

/// Parses one text frame of the WebSocket API connection.
pub fn parse_frame(text: &str) -> Result<Frame, UserParseError> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    if value.get("event").is_some() {
        let wrapped: Wrapped = serde_json::from_str(text)?;
        return parse_event(wrapped.event.get());
    }
    if value.get("status").is_some() {
        let id = value.get("id").map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()));
        let result = match value.get("error") {
            Some(e) => Err((e["code"].as_i64().unwrap_or(0), e["msg"].as_str().unwrap_or_default().to_owned())),
            None => Ok(value.get("result").cloned().unwrap_or(serde_json::Value::Null)),
        };
        return Ok(Frame::Response { id, result });
    }
    // Unwrapped events (older servers) parse the same way.
    parse_event(text)
}

fn parse_event(text: &str) -> Result<Frame, UserParseError> {
    let kind: EventType<'_> = serde_json::from_str(text)?;
    Ok(match kind.e {
        "executionReport" => {
            let report: ExecutionReport = serde_json::from_str(text)?;
            Frame::Event(AccountEvent::Order(Box::new(super::order_entry::order_report(&report))))
        }
        "outboundAccountPosition" => {
            #[derive(Deserialize)]
            struct Position {
                /// When the account was last updated.
                #[serde(rename = "u")]
                time: i64,
                #[serde(rename = "B")]
                balances: Vec<AssetBalance>,
            }
            let p: Position = serde_json::from_str(text)?;
            let balances =
                p.balances.into_iter().map(|b| (b.asset, Balance { free: b.free, locked: b.locked })).collect();
            Frame::Event(AccountEvent::Balances { balances, time: p.time })
        }
        "balanceUpdate" => {
            #[derive(Deserialize)]
            struct Update {
                a: String,
                d: Decimal,
            }
            let u: Update = serde_json::from_str(text)?;
            Frame::Event(AccountEvent::BalanceDelta { asset: u.a, delta: u.d })
        }
        "eventStreamTerminated" => Frame::Terminated,
        "serverShutdown" => Frame::ServerShutdown,
        _ => Frame::Ignored,
    })
}

/// The signed subscribe request.
pub fn subscribe_request(credentials: &Credentials, timestamp_ms: i64, id: &str) -> String {
    let ts = timestamp_ms.to_string();
    let key = credentials.api_key.expose();
    let signature = credentials.signer.sign_ws(ws_payload(&[("apiKey", key), ("timestamp", &ts)]).as_bytes());
    serde_json::json!({
        "id": id,
        "method": "userDataStream.subscribe.signature",
        "params": {"apiKey": key, "timestamp": timestamp_ms, "signature": signature},
    })
    .to_string()
}

/// Where the user stream connects, and what signs and times its requests.
pub struct StreamOptions {
    pub venue: tradewind_strategies::sdk::VenueId,
    pub ws_api_url: String,
    pub credentials: Credentials,
    /// The venue's clock (signed requests carry its time), resynced on -1021.
    pub rest: std::sync::Arc<RestClient>,
    /// Drop a connection that sent nothing (not even a ping) for this long.
    pub silence_timeout: Duration,
}

/// How many times a subscription refused for its timestamp is retried on the
/// same connection (each after resyncing the clock) before the connection is dropped.
const CLOCK_RETRIES: u32 = 3;

/// How long a planned switch waits for the new connection's subscription.
const SWITCH_WITHIN: Duration = Duration::from_secs(10);

/// How long, after the new connection's subscription is confirmed, the old
/// one is still read: events the venue sent on it just before are not lost.
const SWITCH_GRACE: Duration = Duration::from_millis(500);

/// Keeps the user stream subscribed until shutdown; events go to `events`.
///
/// A connection whose subscription was confirmed has proved itself: the next
/// failure retries after the shortest delay. A subscription refused for its
/// timestamp (-1021) resyncs the clock and is sent again at once. On
/// `serverShutdown` a new connection is subscribed before the old one is let
/// go, so no event is missed (and none is passed on twice).
pub async fn run(options: StreamOptions, events: mpsc::Sender<AccountEvent>, shutdown: CancellationToken) {
    let mut stream = Stream { options, events, seq: 0, recent: Recent::default() };
    let mut reconnect = Reconnect::new(stream.options.venue, "user", "user data stream");
    loop {
        let why = match stream.connect(&shutdown).await {
            None => return,
            Some(Err(why)) => why,
            Some(Ok(mut ws)) => loop {
                match stream.session(&mut ws, &mut reconnect, &shutdown).await {
                    SessionEnd::Shutdown => {
                        let _ = ws.close(None).await;
                        return;
                    }
                    SessionEnd::Switch => match stream.switch(&mut ws, &shutdown).await {
                        Some(Ok(new)) => {
                            tracing::info!(venue = %stream.options.venue, "user data stream switched to a new connection");
                            ws = new;
                        }
                        Some(Err(why)) => break why,
                        None => return,
                    },
                    SessionEnd::Lost(why) => break why,
                }
            },
        };
        reconnect.down();
        let _ = stream.events.send(AccountEvent::Down).await;
        if !reconnect.wait(&why, &shutdown).await {
            return;
        }
    }
}

enum SessionEnd {
    Shutdown,
    /// The venue announced it is going away (`serverShutdown`).
    Switch,
    Lost(String),
}

struct Stream {
    options: StreamOptions,
    events: mpsc::Sender<AccountEvent>,
    /// Subscribe requests sent so far (their ids are `sub-<n>`).
    seq: u64,
    recent: Recent,
}

impl Stream {
    /// Connects and sends the subscription; `None` on shutdown.
    async fn connect(&mut self, shutdown: &CancellationToken) -> Option<Result<Ws, String>> {
        let mut ws = match ws::connect(&self.options.ws_api_url, ws::READ_BUFFER, shutdown).await? {
            Ok(ws) => ws,
            Err(why) => return Some(Err(why)),
        };
        Some(self.subscribe(&mut ws).await.map(|()| ws))
    }

    async fn subscribe(&mut self, ws: &mut Ws) -> Result<(), String> {
        self.seq += 1;
        let request = subscribe_request(&self.options.credentials, self.options.rest.server_now_ms(), &self.id());
        ws.send(Message::Text(request.into())).await.map_err(|e| format!("send failed: {e}"))
    }

    /// The id of the latest subscribe request.
    fn id(&self) -> String {
        format!("sub-{}", self.seq)
    }

    /// Reads one connection until it ends.
    async fn session(&mut self, ws: &mut Ws, reconnect: &mut Reconnect, shutdown: &CancellationToken) -> SessionEnd {
        let silence_timeout = self.options.silence_timeout;
        let mut clock_retries = 0;
        loop {
            let frame = tokio::select! {
                _ = shutdown.cancelled() => return SessionEnd::Shutdown,
                f = tokio::time::timeout(silence_timeout, ws.next()) => f,
            };
            let text = match frame {
                Err(_) => return SessionEnd::Lost(format!("no frame for {silence_timeout:?}")),
                Ok(frame) => match read(frame) {
                    Ok(Some(text)) => text,
                    Ok(None) => continue,
                    Err(why) => return SessionEnd::Lost(why),
                },
            };
            match parse_frame(&text) {
                Ok(Frame::Event(e)) => {
                    if self.recent.fresh(&text) && self.events.send(e).await.is_err() {
                        return SessionEnd::Shutdown;
                    }
                }
                Ok(Frame::Terminated) => {
                    tracing::warn!(venue = %self.options.venue, "user data stream terminated by the venue; resubscribing");
                    if let Err(why) = self.subscribe(ws).await {
                        return SessionEnd::Lost(why);
                    }
                }
                Ok(Frame::ServerShutdown) => {
                    tracing::info!(venue = %self.options.venue, "venue announced a shutdown; switching the user data connection");
                    return SessionEnd::Switch;
                }
                Ok(Frame::Response { id, result: Ok(_) }) if id.as_deref() == Some(self.id().as_str()) => {
                    let down_ms = reconnect.up();
                    tracing::info!(venue = %self.options.venue, down_ms, "user data stream subscribed");
                    // A confirmed subscription has proved the connection.
                    reconnect.proven();
                    if self.events.send(AccountEvent::Subscribed).await.is_err() {
                        return SessionEnd::Shutdown;
                    }
                }
                Ok(Frame::Response { result: Err((code, msg)), .. }) => {
                    // The message is the venue's; it never contains our key or signature.
                    if code == -1021 && clock_retries < CLOCK_RETRIES {
                        clock_retries += 1;
                        self.resync_clock().await;
                        if let Err(why) = self.subscribe(ws).await {
                            return SessionEnd::Lost(why);
                        }
                        continue;
                    }
                    return SessionEnd::Lost(format!("subscribe refused: {code} {msg}"));
                }
                Ok(Frame::Response { .. } | Frame::Ignored) => {}
                Err(e) => {
                    tracing::warn!(venue = %self.options.venue, error = %e, "unreadable user-stream frame skipped")
                }
            }
        }
    }

    async fn resync_clock(&self) {
        match self.options.rest.sync_clock().await {
            Ok(offset) => tracing::warn!(
                venue = %self.options.venue,
                clock_offset_ms = offset,
                "user data subscription refused for its timestamp (-1021): clock resynced, subscribing again"
            ),
            Err(e) => tracing::warn!(venue = %self.options.venue, error = %e, "clock resync failed"),
        }
    }

    /// Make-before-break: subscribes a new connection while the old one is
    /// still read, lets the old one go once the new one is confirmed (and a
    /// short grace has passed), and passes each event on once.
    async fn switch(&mut self, old: &mut Ws, shutdown: &CancellationToken) -> Option<Result<Ws, String>> {
        self.recent.start();
        let mut new = match self.connect(shutdown).await? {
            Ok(ws) => ws,
            Err(why) => return Some(Err(why)),
        };
        let until = Instant::now() + SWITCH_WITHIN;
        let mut confirmed: Option<Instant> = None;
        let mut old_open = true;
        loop {
            let grace_over = confirmed.is_some_and(|at| at.elapsed() >= SWITCH_GRACE);
            if grace_over || (confirmed.is_some() && !old_open) {
                let _ = old.close(None).await;
                return Some(Ok(new));
            }
            let wake = confirmed.map_or(until, |at| at + SWITCH_GRACE);
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                () = tokio::time::sleep_until(wake) => {
                    if confirmed.is_none() {
                        return Some(Err("the new user data connection was not subscribed in time".into()));
                    }
                }
                frame = old.next(), if old_open => match read(frame) {
                    Ok(Some(text)) => {
                        if let Ok(Frame::Event(e)) = parse_frame(&text)
                            && self.recent.fresh(&text)
                            && self.events.send(e).await.is_err()
                        {
                            return None;
                        }
                    }
                    Ok(None) => {}
                    Err(_) => old_open = false,
                },
                frame = new.next() => {
                    let text = match read(frame) {
                        Ok(Some(text)) => text,
                        Ok(None) => continue,
                        Err(why) => return Some(Err(why)),
                    };
                    match parse_frame(&text) {
                        Ok(Frame::Event(e)) => {
                            let passed_on = !self.recent.fresh(&text) || self.events.send(e).await.is_ok();
                            if !passed_on {
                                return None;
                            }
                        }
                        Ok(Frame::Response { id, result: Ok(_) }) if id.as_deref() == Some(self.id().as_str()) => {
                            tracing::debug!(venue = %self.options.venue, "new user data connection subscribed");
                            confirmed = Some(Instant::now());
                        }
                        Ok(Frame::Response { result: Err((code, msg)), .. }) => {
                            if code == -1021 {
                                self.resync_clock().await;
                            }
                            return Some(Err(format!("subscribe refused: {code} {msg}")));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// A frame's text; `Ok(None)` for frames that carry none (pings are
/// answered by tungstenite itself); `Err` once the connection is gone.
fn read(frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> Result<Option<String>, String> {
    match frame {
        None => Err("connection closed".into()),
        Some(Err(e)) => Err(format!("read failed: {e}")),
        Some(Ok(Message::Text(t))) => Ok(Some(t.to_string())),
        Some(Ok(Message::Close(_))) => Err("closed by the venue".into()),
        Some(Ok(_)) => Ok(None),
    }
}

/// The event frames seen during and shortly after a connection switch, when
/// the venue may send the same event on both connections: each is passed on once.
#[derive(Default)]
struct Recent {
    /// Until when frames are remembered (none: not switching, nothing is checked).
    until: Option<Instant>,
    seen: std::collections::HashSet<u64>,
}

impl Recent {
    /// How long after a switch starts frames are compared.
    const WINDOW: Duration = Duration::from_secs(15);

    fn start(&mut self) {
        self.until = Some(Instant::now() + Self::WINDOW);
        self.seen.clear();
    }

    /// Whether `frame` was not seen before (always true outside a switch).
    fn fresh(&mut self, frame: &str) -> bool {
        let Some(until) = self.until else { return true };
        if Instant::now() > until {
            self.until = None;
            self.seen.clear();
            return true;
        }
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = FRAME_HASH.build_hasher();
        // The event itself, without the subscription id the two connections number differently.
        let event = frame.find("\"event\":").map_or(frame, |i| &frame[i..]);
        hasher.write(event.as_bytes());
        self.seen.insert(hasher.finish())
    }
}

/// A fixed-seed hasher: frames are compared within one process only.
const FRAME_HASH: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x7d1e);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execution::venue::ReportEvent;
    use crate::secret::Secret;
    use crate::venue::binance::sign::Signer;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn documented_events_parse() {
        // Section D5 of the protocol notes, verbatim.
        let report = r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1499405658658,"s":"ETHBTC","c":"mUvoqJxFIILMdfAW5iGSOW","S":"BUY","o":"LIMIT","f":"GTC","q":"1.00000000","p":"0.10264410","P":"0.00000000","F":"0.00000000","g":-1,"C":"","x":"NEW","X":"NEW","r":"NONE","i":4293153,"l":"0.00000000","z":"0.00000000","L":"0.00000000","n":"0","N":null,"T":1499405658657,"t":-1,"v":3,"I":8641984,"w":true,"m":false,"M":false,"O":1499405658657,"Z":"0.00000000","Y":"0.00000000","Q":"0.00000000","W":1499405658657,"V":"NONE"}}"#;
        let Frame::Event(AccountEvent::Order(r)) = parse_frame(report).unwrap() else { panic!("not a report") };
        assert_eq!(
            (r.venue_order_id, &r.event, r.status, r.cum_qty),
            ("4293153".parse().unwrap(), &ReportEvent::New, crate::execution::report::OrderStatus::New, d("0"))
        );
        assert_eq!(r.client_order_id, "mUvoqJxFIILMdfAW5iGSOW", "an empty C falls back to c");
        let event = serde_json::from_str::<serde_json::Value>(report).unwrap()["event"].to_string();
        let raw: ExecutionReport = serde_json::from_str(&event).unwrap();
        assert_eq!((raw.orig_qty, raw.commission_asset.as_deref(), raw.trade_id), (d("1"), None, -1));

        let position = r#"{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1728972148778,"u":1728972148778,"B":[{"a":"BTC","f":"11818.00000000","l":"182.00000000"},{"a":"USDT","f":"10580.00000000","l":"70.00000000"}]}}"#;
        let Frame::Event(AccountEvent::Balances { balances: b, time }) = parse_frame(position).unwrap() else {
            panic!("not balances")
        };
        assert_eq!(b[1], ("USDT".into(), Balance { free: d("10580"), locked: d("70") }));
        assert_eq!(time, 1728972148778);
        let unwrapped = r#"{"e":"outboundAccountPosition","E":1719467634107,"u":1719467634105,"B":[{"a":"LTC","f":"3011.11745670","l":"0.00000000"}]}"#;
        assert!(matches!(
            parse_frame(unwrapped).unwrap(),
            Frame::Event(AccountEvent::Balances { time: 1719467634105, .. })
        ));

        let update = r#"{"subscriptionId":0,"event":{"e":"balanceUpdate","E":1573200697110,"a":"BTC","d":"100.00000000","T":1573200697068}}"#;
        assert_eq!(
            parse_frame(update).unwrap(),
            Frame::Event(AccountEvent::BalanceDelta { asset: "BTC".into(), delta: d("100") })
        );
        let terminated = r#"{"subscriptionId":0,"event":{"e":"eventStreamTerminated","E":1728973001334}}"#;
        assert_eq!(parse_frame(terminated).unwrap(), Frame::Terminated);
        // The WebSocket API's connection event (docs: websocket-api/connection-events).
        let shutdown = r#"{"event":{"e":"serverShutdown","E":1770123456789}}"#;
        assert_eq!(parse_frame(shutdown).unwrap(), Frame::ServerShutdown);
        let ok = r#"{"id":"sub-1","status":200,"result":{"subscriptionId":0}}"#;
        assert!(matches!(parse_frame(ok).unwrap(), Frame::Response { result: Ok(_), .. }));
        let err =
            r#"{"id":"sub-2","status":400,"error":{"code":-1022,"msg":"Signature for this request is not valid."}}"#;
        assert_eq!(
            parse_frame(err).unwrap(),
            Frame::Response {
                id: Some("sub-2".into()),
                result: Err((-1022, "Signature for this request is not valid.".into()))
            }
        );
    }

    #[test]
    fn the_subscribe_request_is_signed_over_sorted_params() {
        // D3c: apiKey + timestamp signed with the documented secret.
        let creds = Credentials {
            api_key: Secret::new("vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"),
            signer: Signer::hmac(&Secret::new("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"))
                .unwrap(),
        };
        let req: serde_json::Value = serde_json::from_str(&subscribe_request(&creds, 1649729878532, "s1")).unwrap();
        assert_eq!(req["method"], "userDataStream.subscribe.signature");
        assert_eq!(req["params"]["signature"], "1cf54395b336b0a9727ef27d5d98987962bc47aca6e13fe978612d0adee066ed");
        assert_eq!(req["params"]["timestamp"], 1649729878532i64);
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse_frame(&text);
        }

        #[test]
        fn mangled_reports_never_panic(cut in 0usize..400, junk in "[a-z{}\":,0-9]{0,8}") {
            let report = r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1,"s":"ETHBTC","c":"x","S":"BUY","o":"LIMIT","f":"GTC","q":"1.0","p":"0.1","C":"","x":"TRADE","X":"FILLED","r":"NONE","i":4,"l":"1.0","z":"1.0","L":"0.1","n":"0.001","N":"ETH","T":1,"t":7,"m":true}}"#;
            let cut = cut.min(report.len());
            let text = format!("{}{}{}", &report[..cut], junk, &report[cut..]);
            let _ = parse_frame(&text);
        }
    }
}
