//! Bybit v5's private WebSocket as a [`PrivateDialect`]: a login
//! (`op: auth`, signed over `"GET/realtime" + expires`), then, once the
//! venue accepts it, one subscription to `order.spot`, `execution.spot` and
//! `wallet`; `{"op":"ping"}` every 20 s.
//!
//! The `execution` topic carries each fill (with its fee and fee coin) but
//! not the order's status: the order's filled quantity is `orderQty -
//! leavesQty`, and it is filled when nothing is left. The `order` topic
//! says when an order went on the book and how it ended; its
//! `PartiallyFilled` and `Filled` repeat what the fills said, and a `Filled`
//! that arrives before its fills makes the order manager fetch them.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use tradewind_strategies::sdk::VenueId;

use super::rest::RestClient;
use super::rest::types::{Execution, OrderRow, Wallet, status};
use super::sign;
use crate::execution::report::OrderStatus;
use crate::execution::venue::{AccountEvent, OrderReport, ReportEvent};
use crate::venue::private::{PrivateDialect, PrivateFrame};
use crate::venue::sign::Credentials;

/// How long a login stays valid (the venue's clock): a second is too
/// short for a slow handshake.
const LOGIN_VALID_MS: i64 = 10_000;

pub const TOPICS: [&str; 3] = ["order.spot", "execution.spot", "wallet"];

/// The private stream of one Bybit venue.
pub struct PrivateStream {
    pub venue: VenueId,
    /// `wss://stream.bybit.com/v5/private` (or the testnet's, demo's, simulator's).
    pub url: String,
    pub credentials: Credentials,
    /// The venue's clock (a login carries its expiry in the venue's time).
    pub rest: Arc<RestClient>,
}

#[derive(Deserialize)]
struct Frame {
    #[serde(default)]
    op: Option<String>,
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    ret_msg: String,
    #[serde(default)]
    req_id: Option<String>,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default, rename = "creationTime")]
    creation_time: Option<i64>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
}

impl PrivateDialect for PrivateStream {
    fn url(&self) -> String {
        self.url.clone()
    }

    fn hello(&self, attempt: u64) -> Vec<String> {
        let expires = self.rest.http().server_now_ms() + LOGIN_VALID_MS;
        let (key, signer) = (self.credentials.api_key.expose(), &self.credentials.signer);
        vec![sign::auth_request(key, signer, expires, &format!("auth-{attempt}"))]
    }

    fn parse(&self, text: &str, attempt: u64) -> Result<PrivateFrame, String> {
        let frame: Frame = serde_json::from_str(text).map_err(|e| format!("not a Bybit frame: {e}"))?;
        if let Some(topic) = &frame.topic {
            let data = frame.data.as_deref().map_or("null", RawValue::get);
            return topic_events(topic, data, frame.creation_time).map(PrivateFrame::Events);
        }
        // Replies name the request they answer when it had an id; an older greeting's are ignored.
        let answers = |prefix: &str| frame.req_id.as_deref().is_none_or(|id| id == format!("{prefix}-{attempt}"));
        Ok(match (frame.op.as_deref(), frame.success) {
            (Some("auth"), Some(true)) if answers("auth") => PrivateFrame::Send(vec![subscribe(attempt)]),
            (Some("subscribe"), Some(true)) if answers("sub") => PrivateFrame::Subscribed,
            (Some("auth" | "subscribe"), Some(false)) => {
                // A login past its expiry is refused as "Params Error" (or "request expired").
                let m = frame.ret_msg.to_ascii_lowercase();
                let clock = frame.op.as_deref() == Some("auth") && (m.contains("expire") || m.contains("params error"));
                PrivateFrame::Refused { reason: frame.ret_msg, clock }
            }
            _ => PrivateFrame::Ignored,
        })
    }

    fn ping(&self) -> Option<(Duration, &'static str)> {
        Some((Duration::from_secs(20), r#"{"op":"ping"}"#))
    }

    async fn resync_clock(&self) {
        if let Err(e) = self.rest.sync_clock().await {
            tracing::warn!(venue = %self.venue, error = %e, "cannot read the venue's clock");
        }
    }
}

/// The subscription sent once the login is accepted.
fn subscribe(attempt: u64) -> String {
    serde_json::json!({"req_id": format!("sub-{attempt}"), "op": "subscribe", "args": TOPICS}).to_string()
}

/// The events of one topic message (spot only: the all-in-one topics carry every category).
fn topic_events(topic: &str, data: &str, time: Option<i64>) -> Result<Vec<AccountEvent>, String> {
    let spot = |category: &str| category.is_empty() || category == "spot";
    let bad = |e: serde_json::Error| format!("{topic}: {e}");
    Ok(match topic.split('.').next().unwrap_or_default() {
        "order" => {
            let rows: Vec<OrderRow> = serde_json::from_str(data).map_err(bad)?;
            rows.iter().filter(|o| spot(&o.category)).map(|o| AccountEvent::Order(Box::new(order_report(o)))).collect()
        }
        "execution" => {
            let rows: Vec<Execution> = serde_json::from_str(data).map_err(bad)?;
            rows.iter()
                .filter(|e| spot(&e.category) && (e.exec_type.is_empty() || e.exec_type == "Trade"))
                .map(|e| AccountEvent::Order(Box::new(execution_report(e))))
                .collect()
        }
        "wallet" => {
            let wallets: Vec<Wallet> = serde_json::from_str(data).map_err(bad)?;
            let balances = wallets.iter().flat_map(|w| &w.coin).map(|c| (c.coin.clone(), c.balance())).collect();
            vec![AccountEvent::Balances { balances, time: time.unwrap_or_default() }]
        }
        _ => Vec::new(),
    })
}

/// An `order` message, in the order manager's terms.
pub fn order_report(o: &OrderRow) -> OrderReport {
    let event = match o.order_status.as_str() {
        "New" => ReportEvent::New,
        "Rejected" => ReportEvent::Rejected(o.reject_reason.clone()),
        "Filled" | "Cancelled" | "PartiallyFilledCanceled" | "Deactivated" => ReportEvent::Ended,
        // PartiallyFilled (the fill comes on `execution`), conditional orders' states.
        _ => ReportEvent::Other,
    };
    OrderReport {
        client_order_id: o.order_link_id.clone(),
        venue_order_id: o.order_id,
        symbol: o.symbol.clone(),
        event,
        status: status(&o.order_status),
        cum_qty: o.cum_exec_qty,
    }
}

/// An `execution` message: one fill, and how much of its order has filled.
pub fn execution_report(e: &Execution) -> OrderReport {
    let (status, cum_qty) = if e.order_qty.is_zero() {
        // No order quantity given: this fill is all that is known.
        (OrderStatus::PartiallyFilled, e.exec_qty)
    } else if e.leaves_qty.is_zero() {
        (OrderStatus::Filled, e.order_qty)
    } else {
        (OrderStatus::PartiallyFilled, e.order_qty - e.leaves_qty)
    };
    OrderReport {
        client_order_id: e.order_link_id.clone(),
        venue_order_id: e.order_id,
        symbol: e.symbol.clone(),
        event: ReportEvent::Trade(e.trade()),
        status,
        cum_qty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::venue::sign::Signer;
    use tradewind_strategies::sdk::testing::d;
    use tradewind_strategies::sdk::{Asset, Balance, Liquidity, VenueOrderId};

    fn stream() -> PrivateStream {
        let limiter = Arc::new(crate::execution::rate_limit::RateLimiter::new(super::super::limits::budgets()));
        let rest = RestClient::new("http://127.0.0.1:9", None, 5000, Duration::from_secs(1), limiter).unwrap();
        let credentials = Credentials {
            api_key: Secret::new("key"),
            signer: Signer::hmac(&Secret::new("TESTSECRET0123456789")).unwrap(),
        };
        PrivateStream { venue: VenueId::new("bybit").unwrap(), url: String::new(), credentials, rest: Arc::new(rest) }
    }

    #[test]
    fn login_then_subscribe_then_confirmed() {
        let s = stream();
        let hello: serde_json::Value = serde_json::from_str(&s.hello(3)[0]).unwrap();
        assert_eq!((hello["op"].as_str(), hello["req_id"].as_str()), (Some("auth"), Some("auth-3")));
        let expires = hello["args"][1].as_i64().unwrap();
        assert!((expires - crate::clock::now_ms() - LOGIN_VALID_MS).abs() < 1_000);
        let signature = Signer::hmac(&Secret::new("TESTSECRET0123456789"))
            .unwrap()
            .sign(format!("GET/realtime{expires}").as_bytes());
        assert_eq!(hello["args"][2].as_str(), Some(signature.as_str()));

        let ok = r#"{"success":true,"ret_msg":"","op":"auth","conn_id":"cej9q","req_id":"auth-3"}"#;
        let PrivateFrame::Send(next) = s.parse(ok, 3).unwrap() else { panic!("a subscription follows") };
        let sub: serde_json::Value = serde_json::from_str(&next[0]).unwrap();
        assert_eq!(sub["args"], serde_json::json!(["order.spot", "execution.spot", "wallet"]));
        assert_eq!(s.parse(ok, 4).unwrap(), PrivateFrame::Ignored, "an older login's answer");
        let without_id = r#"{"success":true,"ret_msg":"","op":"auth","conn_id":"cej9q"}"#;
        assert!(matches!(s.parse(without_id, 4).unwrap(), PrivateFrame::Send(_)));
        let subscribed = r#"{"success":true,"ret_msg":"","op":"subscribe","conn_id":"cej9q","req_id":"sub-3"}"#;
        assert_eq!(s.parse(subscribed, 3).unwrap(), PrivateFrame::Subscribed);
        let pong = r#"{"req_id":"","op":"pong","args":["1675418560633"],"conn_id":"cfcb820"}"#;
        assert_eq!(s.parse(pong, 3).unwrap(), PrivateFrame::Ignored);
    }

    #[test]
    fn a_refused_login_resyncs_the_clock_when_it_may_have_expired() {
        let s = stream();
        let expired = r#"{"success":false,"ret_msg":"Params Error","op":"auth","conn_id":"ct7"}"#;
        assert_eq!(s.parse(expired, 1).unwrap(), PrivateFrame::Refused { reason: "Params Error".into(), clock: true });
        let bad_key = r#"{"success":false,"ret_msg":"Invalid apikey","op":"auth","conn_id":"ct7"}"#;
        assert_eq!(
            s.parse(bad_key, 1).unwrap(),
            PrivateFrame::Refused { reason: "Invalid apikey".into(), clock: false }
        );
        let sub = r#"{"success":false,"ret_msg":"error:topic:order needs auth first","op":"subscribe"}"#;
        assert!(matches!(s.parse(sub, 1).unwrap(), PrivateFrame::Refused { clock: false, .. }));
        assert!(s.parse("not json", 1).is_err());
    }

    /// The docs' `order` example (an option order) as a spot order.
    const ORDER: &str = r#"{"id":"5923240c6880ab-c59f-420b-9adb-3639adc9dd90","topic":"order","creationTime":1672364262474,
        "data":[{"symbol":"BTCUSDT","orderId":"1321003749386327552","side":"Buy","orderType":"Limit","cancelType":"UNKNOWN",
        "price":"16000","qty":"0.01","orderIv":"","timeInForce":"GTC","orderStatus":"Filled","orderLinkId":"tw1a",
        "lastPriceOnCreated":"","reduceOnly":false,"leavesQty":"0","leavesValue":"0","cumExecQty":"0.01","cumExecValue":"160",
        "avgPrice":"16000","blockTradeId":"","positionIdx":0,"cumExecFee":"","closedPnl":"0","createdTime":"1672364262444",
        "updatedTime":"1672364262457","rejectReason":"EC_NoError","stopOrderType":"","tpslMode":"","triggerPrice":"",
        "takeProfit":"","stopLoss":"","tpTriggerBy":"","slTriggerBy":"","tpLimitPrice":"","slLimitPrice":"",
        "triggerDirection":0,"triggerBy":"","closeOnTrigger":false,"category":"spot","placeType":"","smpType":"None",
        "smpGroup":0,"smpOrderId":"","feeCurrency":"","cumFeeDetail":{"BTC":"0.00001"}},
        {"symbol":"BTCUSDT","orderId":"7","side":"Sell","orderType":"Limit","price":"1","qty":"1","orderStatus":"New",
        "orderLinkId":"x","cumExecQty":"0","category":"linear"}]}"#;

    #[test]
    fn order_messages_say_how_an_order_ended() {
        let PrivateFrame::Events(events) = stream().parse(ORDER, 0).unwrap() else { panic!("events") };
        assert_eq!(events.len(), 1, "the linear order is not this venue's");
        let AccountEvent::Order(r) = &events[0] else { panic!("an order report") };
        assert_eq!(r.client_order_id, "tw1a");
        assert_eq!(r.venue_order_id, VenueOrderId::new("1321003749386327552").unwrap());
        assert_eq!((r.event.clone(), r.status, r.cum_qty), (ReportEvent::Ended, OrderStatus::Filled, d("0.01")));
        let mut row: OrderRow = serde_json::from_str(
            r#"{"symbol":"BTCUSDT","orderId":"1","side":"Buy","orderType":"Market","price":"","qty":"1","orderStatus":"New","orderLinkId":"a"}"#,
        )
        .unwrap();
        assert_eq!((order_report(&row).event, row.price), (ReportEvent::New, d("0")));
        for (word, event, status) in [
            ("PartiallyFilled", ReportEvent::Other, OrderStatus::PartiallyFilled),
            ("Cancelled", ReportEvent::Ended, OrderStatus::Canceled),
            ("PartiallyFilledCanceled", ReportEvent::Ended, OrderStatus::Canceled),
            ("Untriggered", ReportEvent::Other, OrderStatus::New),
        ] {
            row.order_status = word.into();
            assert_eq!((order_report(&row).event, order_report(&row).status), (event, status), "{word}");
        }
        row.order_status = "Rejected".into();
        row.reject_reason = "EC_PostOnlyWillTakeLiquidity".into();
        assert_eq!(order_report(&row).event, ReportEvent::Rejected("EC_PostOnlyWillTakeLiquidity".into()));
    }

    /// The docs' `execution` example (linear) as a spot fill: the buyer's fee in the base coin.
    const EXECUTION: &str = r#"{"topic":"execution.spot","id":"386825804_BTCUSDT_140612148849382","creationTime":1746270400355,
        "data":[{"category":"spot","symbol":"BTCUSDT","closedSize":"","execFee":"0.0000005","execId":"0ab1bdf7-4219-438b-b30a-32ec863018f7",
        "execPrice":"95900.1","execQty":"0.0005","execType":"Trade","execValue":"47.95005","feeRate":"0.001","tradeIv":"","markIv":"",
        "blockTradeId":"","markPrice":"","indexPrice":"","underlyingPrice":"","leavesQty":"0.0015","orderId":"1321003749386327552",
        "orderLinkId":"tw1a","orderPrice":"96000","orderQty":"0.002","orderType":"Limit","stopOrderType":"UNKNOWN","side":"Buy",
        "execTime":"1746270400353","isLeverage":"0","isMaker":true,"seq":140612148849382,"marketUnit":"","execPnl":"",
        "createType":"CreateByUser","extraFees":"","feeCurrency":"BTC"}]}"#;

    #[test]
    fn execution_messages_are_fills_with_the_orders_progress() {
        let PrivateFrame::Events(events) = stream().parse(EXECUTION, 0).unwrap() else { panic!("events") };
        let AccountEvent::Order(r) = &events[0] else { panic!("an order report") };
        assert_eq!((r.status, r.cum_qty), (OrderStatus::PartiallyFilled, d("0.0005")));
        let ReportEvent::Trade(t) = &r.event else { panic!("a fill") };
        assert_eq!(t.trade_id.as_str(), "0ab1bdf7-4219-438b-b30a-32ec863018f7");
        assert_eq!((t.price, t.qty, t.fee, t.liquidity), (d("95900.1"), d("0.0005"), d("0.0000005"), Liquidity::Maker));
        assert_eq!((t.fee_asset, t.time.0), (Some(Asset::new("BTC").unwrap()), 1746270400353));
        let last = EXECUTION.replace(r#""leavesQty":"0.0015""#, r#""leavesQty":"0""#);
        let PrivateFrame::Events(events) = stream().parse(&last, 0).unwrap() else { panic!("events") };
        let AccountEvent::Order(r) = &events[0] else { panic!("an order report") };
        assert_eq!((r.status, r.cum_qty), (OrderStatus::Filled, d("0.002")));
        let funding = EXECUTION.replace(r#""execType":"Trade""#, r#""execType":"Funding""#);
        assert_eq!(stream().parse(&funding, 0).unwrap(), PrivateFrame::Events(Vec::new()));
    }

    #[test]
    fn wallet_messages_are_balances_free_of_what_orders_hold() {
        let wallet = r#"{"id":"592324d2bce751-ad38-48eb-8f42-4671d1fb4d4e","topic":"wallet","creationTime":1700034722104,
            "data":[{"accountType":"UNIFIED","totalEquity":"10262.91","coin":[
            {"coin":"BTC","equity":"0.00102964","walletBalance":"0.00102964","locked":"0.0001","spotBorrow":"0","free":""},
            {"coin":"USDT","walletBalance":"100","locked":"0","spotBorrow":"20"}]}]}"#;
        let PrivateFrame::Events(events) = stream().parse(wallet, 0).unwrap() else { panic!("events") };
        let expected = vec![
            ("BTC".to_owned(), Balance { free: d("0.00092964"), locked: d("0.0001") }),
            ("USDT".to_owned(), Balance { free: d("80"), locked: d("0") }),
        ];
        assert_eq!(events, vec![AccountEvent::Balances { balances: expected, time: 1700034722104 }]);
        let broken = r#"{"topic":"wallet","creationTime":1,"data":[{"coin":[{"coin":"BTC","walletBalance":"x"}]}]}"#;
        assert!(stream().parse(broken, 0).unwrap_err().contains("wallet"));
    }
}
