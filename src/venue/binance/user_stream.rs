//! The user-data stream over the WebSocket API: `userDataStream.subscribe.signature`
//! (listenKey is gone), events wrapped as `{"subscriptionId":N,"event":{…}}`.
//! Parses `executionReport`, `outboundAccountPosition`, `balanceUpdate`,
//! `eventStreamTerminated` and `serverShutdown`; the session (reconnects,
//! resubscription, the make-before-break switch) is `venue::private`'s.

use std::time::Duration;

use rust_decimal::Decimal;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::Balance;

use super::rest::{Credentials, RestClient};
use super::sign::ws_payload;
use crate::execution::venue::AccountEvent;
use crate::venue::private::{self, PrivateDialect, PrivateFrame, PrivateOptions};

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
    let signature = credentials.signer.sign(ws_payload(&[("apiKey", key), ("timestamp", &ts)]).as_bytes());
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

/// Keeps the user stream subscribed until shutdown (`venue::private`); events go to `events`.
pub async fn run(options: StreamOptions, events: mpsc::Sender<AccountEvent>, shutdown: CancellationToken) {
    let StreamOptions { venue, ws_api_url, credentials, rest, silence_timeout } = options;
    let dialect = UserStream { venue, ws_api_url, credentials, rest };
    private::run(dialect, PrivateOptions { venue, silence_timeout }, events, shutdown).await;
}

/// Binance's user-data stream as a private dialect: one signed subscribe
/// request (`sub-<attempt>`), confirmed by its response.
struct UserStream {
    venue: tradewind_strategies::sdk::VenueId,
    ws_api_url: String,
    credentials: Credentials,
    rest: std::sync::Arc<RestClient>,
}

impl PrivateDialect for UserStream {
    fn url(&self) -> String {
        self.ws_api_url.clone()
    }

    fn hello(&self, attempt: u64) -> Vec<String> {
        vec![subscribe_request(&self.credentials, self.rest.server_now_ms(), &format!("sub-{attempt}"))]
    }

    fn parse(&self, text: &str, attempt: u64) -> Result<PrivateFrame, String> {
        Ok(match parse_frame(text).map_err(|e| e.to_string())? {
            Frame::Event(e) => PrivateFrame::Events(vec![e]),
            Frame::Terminated => PrivateFrame::Terminated,
            Frame::ServerShutdown => PrivateFrame::ServerShutdown,
            Frame::Response { id: Some(id), result: Ok(_) } if id == format!("sub-{attempt}") => {
                PrivateFrame::Subscribed
            }
            Frame::Response { result: Err((code, msg)), .. } => {
                PrivateFrame::Refused { reason: format!("{code} {msg}"), clock: code == -1021 }
            }
            Frame::Response { .. } | Frame::Ignored => PrivateFrame::Ignored,
        })
    }

    /// The event itself, without the subscription id the two connections number differently.
    fn event_key<'a>(&self, text: &'a str) -> &'a str {
        text.find("\"event\":").map_or(text, |i| &text[i..])
    }

    async fn resync_clock(&self) {
        match self.rest.sync_clock().await {
            Ok(offset) => tracing::warn!(
                venue = %self.venue,
                clock_offset_ms = offset,
                "user data subscription refused for its timestamp (-1021): clock resynced"
            ),
            Err(e) => tracing::warn!(venue = %self.venue, error = %e, "clock resync failed"),
        }
    }
}

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
