//! OKX v5's private WebSocket (`/ws/v5/private`) in the order manager's
//! terms: a `login` (signed over Unix seconds), then, once the venue
//! accepts it, one subscription to `orders` (spot) and `account`; a text
//! `ping` every 20 s. An `orders` update carries the order as it stands and,
//! when it reports a fill, that fill (`tradeId`, `fillPx`, `fillSz`,
//! `fillFee`): one report per update. The stream counts as subscribed once
//! `orders` is confirmed (the balances are read again after every
//! subscription anyway).

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use tradewind_strategies::sdk::VenueId;

use super::rest::RestClient;
use super::sign::{self, OkxKey};
use super::types::{Account, OrderRow, account_state, status};
use crate::execution::report::OrderStatus;
use crate::execution::venue::{AccountEvent, OrderReport, ReportEvent};
use crate::venue::private::{PrivateDialect, PrivateFrame};

/// The private stream of one OKX venue.
pub struct PrivateStream {
    pub venue: VenueId,
    /// `wss://ws.okx.com:8443/ws/v5/private` (or the demo's, a region's, the simulator's).
    pub url: String,
    pub key: OkxKey,
    /// The venue's clock (a login carries the venue's time).
    pub rest: Arc<RestClient>,
}

impl PrivateDialect for PrivateStream {
    fn url(&self) -> String {
        self.url.clone()
    }

    fn hello(&self, _attempt: u64) -> Vec<String> {
        vec![sign::login(&self.key, self.rest.http().server_now_ms().div_euclid(1_000))]
    }

    /// OKX's replies carry no request id: a reply is taken as the latest greeting's.
    fn parse(&self, text: &str, _attempt: u64) -> Result<PrivateFrame, String> {
        parse(text)
    }

    fn ping(&self) -> Option<(Duration, &'static str)> {
        Some((Duration::from_secs(20), "ping"))
    }

    fn connects_per_sec(&self) -> Option<usize> {
        Some(super::limits::CONNECTS_PER_SEC)
    }

    async fn resync_clock(&self) {
        if let Err(e) = self.rest.sync_clock().await {
            tracing::warn!(venue = %self.venue, error = %e, "cannot read the venue's clock");
        }
    }
}

/// The subscription sent once the login is accepted.
pub fn subscribe() -> String {
    serde_json::json!({"op": "subscribe", "args": [
        {"channel": "orders", "instType": "SPOT"},
        {"channel": "account"},
    ]})
    .to_string()
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(borrow, default)]
    event: Option<&'a str>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    msg: String,
    #[serde(borrow, default)]
    arg: Option<Arg<'a>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Arg<'a> {
    channel: &'a str,
}

/// Login refusals for the timestamp (the clock is resynced and the login sent again).
const CLOCK_CODES: [&str; 2] = ["60004", "60006"];

/// Reads one frame of the private stream.
pub fn parse(text: &str) -> Result<PrivateFrame, String> {
    if text == "pong" {
        return Ok(PrivateFrame::Ignored);
    }
    let frame: Frame<'_> = serde_json::from_str(text).map_err(|e| format!("not an OKX frame: {e}"))?;
    let channel = frame.arg.as_ref().map(|a| a.channel);
    if let Some(event) = frame.event {
        let code = frame.code.as_deref().unwrap_or("0");
        return Ok(match (event, channel) {
            ("login", _) if code == "0" => PrivateFrame::Send(vec![subscribe()]),
            ("subscribe", Some("orders")) => PrivateFrame::Subscribed,
            ("error", _) | ("login", _) => {
                PrivateFrame::Refused { reason: format!("{code} {}", frame.msg), clock: CLOCK_CODES.contains(&code) }
            }
            // 64008: the connection closes soon for an upgrade.
            ("notice", _) => PrivateFrame::ServerShutdown,
            _ => PrivateFrame::Ignored,
        });
    }
    let (Some(channel), Some(data)) = (channel, frame.data) else { return Ok(PrivateFrame::Ignored) };
    let bad = |e: serde_json::Error| format!("{channel}: {e}");
    Ok(PrivateFrame::Events(match channel {
        "orders" => {
            let rows: Vec<OrderRow> = serde_json::from_str(data.get()).map_err(bad)?;
            rows.iter().map(|o| AccountEvent::Order(Box::new(order_report(o)))).collect()
        }
        "account" => {
            let accounts: Vec<Account> = serde_json::from_str(data.get()).map_err(bad)?;
            let state = account_state(&accounts);
            vec![AccountEvent::Balances { balances: state.balances, time: state.update_time.unwrap_or_default() }]
        }
        _ => Vec::new(),
    }))
}

/// An `orders` update, in the order manager's terms: its fill if it
/// reports one, else what happened to the order.
pub fn order_report(o: &OrderRow) -> OrderReport {
    let status = status(&o.state);
    let event = match (o.fill(), status) {
        (Some(fill), _) => ReportEvent::Trade(fill),
        (None, OrderStatus::New) => ReportEvent::New,
        // Filled with no fill in this update (its fills came before, or are fetched), or cancelled.
        (None, OrderStatus::Filled | OrderStatus::Canceled) => ReportEvent::Ended,
        (None, _) => ReportEvent::Other,
    };
    OrderReport {
        client_order_id: o.cl_ord_id.clone(),
        venue_order_id: o.ord_id,
        symbol: o.inst_id.clone(),
        event,
        status,
        cum_qty: o.acc_fill_sz,
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;

    fn order(state: &str, acc: &str, trade_id: &str, fill_sz: &str) -> String {
        format!(
            r#"{{"arg":{{"channel":"orders","instType":"SPOT","uid":"77"}},"data":[{{"accFillSz":"{acc}","cTime":"1746947317401",
            "clOrdId":"twmm00001","execType":"T","fillFee":"-0.00042","fillFeeCcy":"USDT","fillPx":"42000.5","fillSz":"{fill_sz}",
            "fillTime":"1746947317402","instId":"BTC-USDT","instType":"SPOT","ordId":"2497956918703120384","ordType":"limit",
            "px":"42000.5","side":"sell","state":"{state}","sz":"0.002","tdMode":"cash","tradeId":"{trade_id}","uTime":"1746947317402"}}]}}"#
        )
    }

    fn report(text: &str) -> OrderReport {
        let Ok(PrivateFrame::Events(events)) = parse(text) else { panic!("no events in {text}") };
        let [AccountEvent::Order(report)] = events.as_slice() else { panic!("{events:?}") };
        (**report).clone()
    }

    #[test]
    fn login_then_subscribe_then_confirmed_by_the_orders_channel() {
        let PrivateFrame::Send(next) = parse(r#"{"event":"login","code":"0","msg":"","connId":"a4d3ae55"}"#).unwrap()
        else {
            panic!("the login's acceptance sends the subscription")
        };
        let sub: serde_json::Value = serde_json::from_str(&next[0]).unwrap();
        assert_eq!(sub["args"][0], serde_json::json!({"channel": "orders", "instType": "SPOT"}));
        assert_eq!(sub["args"][1]["channel"], "account");
        let account = r#"{"event":"subscribe","arg":{"channel":"account"},"connId":"a4d3ae55"}"#;
        assert!(matches!(parse(account).unwrap(), PrivateFrame::Ignored));
        let orders = r#"{"event":"subscribe","arg":{"channel":"orders","instType":"SPOT"},"connId":"a4d3ae55"}"#;
        assert!(matches!(parse(orders).unwrap(), PrivateFrame::Subscribed));
        assert!(matches!(parse("pong").unwrap(), PrivateFrame::Ignored));
    }

    #[test]
    fn the_login_is_signed_at_the_venues_clock_in_seconds() {
        use crate::secret::Secret;
        let limiter = Arc::new(crate::execution::rate_limit::RateLimiter::new(super::super::limits::budgets()));
        let rest = RestClient::new("http://127.0.0.1:9", None, true, Duration::from_secs(1), limiter).unwrap();
        // The venue's clock runs 10 minutes ahead of ours.
        let now = crate::clock::now_ms();
        rest.http().set_clock(now, now + 600_000, now);
        let key = OkxKey {
            api_key: Secret::new("k"),
            signer: crate::venue::sign::Signer::hmac(&Secret::new("s")).unwrap(),
            passphrase: Secret::new("p"),
        };
        let stream =
            PrivateStream { venue: VenueId::new("okx").unwrap(), url: "ws://x".into(), key, rest: Arc::new(rest) };
        let login: serde_json::Value = serde_json::from_str(&stream.hello(1)[0]).unwrap();
        let ts: i64 = login["args"][0]["timestamp"].as_str().unwrap().parse().unwrap();
        assert!((ts - (now + 600_000) / 1_000).abs() <= 2, "{ts}");
        assert_eq!(stream.ping(), Some((Duration::from_secs(20), "ping")));
    }

    #[test]
    fn a_refused_login_says_whether_the_clock_is_to_blame() {
        let expired = r#"{"event":"error","code":"60006","msg":"Timestamp request expired","connId":"a4d3ae55"}"#;
        assert!(matches!(parse(expired).unwrap(), PrivateFrame::Refused { clock: true, .. }));
        let wrong = r#"{"event":"error","code":"60009","msg":"Login failed.","connId":"a4d3ae55"}"#;
        let PrivateFrame::Refused { reason, clock: false } = parse(wrong).unwrap() else { panic!() };
        assert_eq!(reason, "60009 Login failed.");
        let notice =
            r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade."}"#;
        assert!(matches!(parse(notice).unwrap(), PrivateFrame::ServerShutdown));
        assert!(parse("{broken").is_err());
    }

    #[test]
    fn orders_updates_are_an_acceptance_fills_and_an_end() {
        let live = report(&order("live", "0", "", "0"));
        assert_eq!(
            (live.event, live.status, live.client_order_id.as_str()),
            (ReportEvent::New, OrderStatus::New, "twmm00001")
        );
        let part = report(&order("partially_filled", "0.001", "1518905529", "0.001"));
        let ReportEvent::Trade(fill) = &part.event else { panic!("{part:?}") };
        assert_eq!(
            (fill.qty, fill.fee, part.cum_qty),
            ("0.001".parse().unwrap(), "0.00042".parse().unwrap(), "0.001".parse().unwrap())
        );
        let done = report(&order("filled", "0.002", "1518905530", "0.001"));
        assert!(matches!(done.event, ReportEvent::Trade(_)) && done.status == OrderStatus::Filled);
        let cancelled = report(&order("canceled", "0.001", "", "0"));
        assert_eq!((cancelled.event, cancelled.status), (ReportEvent::Ended, OrderStatus::Canceled));
    }

    #[test]
    fn account_updates_are_balances_free_of_what_orders_hold() {
        let text = r#"{"arg":{"channel":"account","uid":"77"},"data":[{"uTime":"1744499648556","totalEq":"1",
            "details":[{"ccy":"USDT","availBal":"94.5","frozenBal":"5.5","cashBal":"100"}]}]}"#;
        let Ok(PrivateFrame::Events(events)) = parse(text) else { panic!() };
        let [AccountEvent::Balances { balances, time }] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(*time, 1_744_499_648_556);
        assert_eq!((balances[0].1.free, balances[0].1.locked), (Decimal::new(945, 1), Decimal::new(55, 1)));
    }
}
