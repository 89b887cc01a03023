//! OKX order entry over the private WebSocket (`order`, `cancel-order`,
//! `amend-order`, each `{"id","op","args":[…]}` answered by its `id` with
//! the REST envelope), with REST as the fallback: an operation goes over
//! the WebSocket while its connection is logged in, and over REST when it
//! is not (or could not be written: the venue never saw it). Written but
//! unanswered, its outcome is unknown and settled by query, as a REST
//! timeout is. Both ways draw on the same budget (OKX counts them
//! together). Reads (orders, fills, balances) always go over REST. The
//! connection logs in with the key REST signs with at the time; after a key
//! rotation it keeps the old one until it reconnects.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;
use tradewind_strategies::sdk::{ClientOrderId, NewOrder, Symbol, VenueOrderId};

use super::error::{ErrorKind, VenueError, from_answer};
use super::limits::{self, Endpoint};
use super::order_entry::{OrderAck, amend_body, order_body, single};
use super::rest::{RestClient, Signed};
use super::sign;
use crate::execution::rate_limit::Blocked;
use crate::execution::report::VenueTrade;
use crate::execution::venue::{AccountState, Ack, OrderEntry, OrderState, cancel_then_place};
use crate::venue::signed_rest::Protocol;
use crate::venue::ws_requests::{Failure, Frame, RequestDialect, WsRequests};

/// Past this without a reply, an operation's outcome is unknown.
const REPLY_WITHIN: Duration = Duration::from_secs(10);
/// How long an endpoint rests after the venue's 50011.
const LIMITED_FOR: Duration = Duration::from_secs(2);

/// The private WebSocket as a request connection.
pub struct OkxRequests {
    /// `wss://ws.okx.com:8443/ws/v5/private` (or the demo's, a region's, the simulator's).
    pub url: String,
    /// Its key and the venue's clock.
    pub rest: Arc<RestClient>,
}

impl RequestDialect for OkxRequests {
    fn url(&self) -> String {
        self.url.clone()
    }

    fn login(&self) -> Vec<String> {
        let seconds = self.rest.http().server_now_ms().div_euclid(1_000);
        self.rest.key().map(|key| sign::login(&key, seconds)).into_iter().collect()
    }

    fn read(&self, text: &str) -> Frame {
        #[derive(serde::Deserialize)]
        struct Head {
            #[serde(default)]
            event: Option<String>,
            #[serde(default)]
            code: Option<String>,
            #[serde(default)]
            msg: String,
            #[serde(default)]
            id: Option<String>,
        }
        let Ok(head) = serde_json::from_str::<Head>(text) else { return Frame::Other };
        match (head.event.as_deref(), head.id) {
            (Some("login"), _) if head.code.as_deref() == Some("0") => Frame::LoggedIn,
            (Some("login" | "error"), _) => Frame::Refused(format!("{} {}", head.code.unwrap_or_default(), head.msg)),
            (None, Some(id)) => Frame::Reply(id),
            _ => Frame::Other,
        }
    }

    fn ping(&self) -> Option<(Duration, &'static str)> {
        Some((Duration::from_secs(20), "ping"))
    }

    fn connects_per_sec(&self) -> Option<usize> {
        Some(limits::CONNECTS_PER_SEC)
    }
}

/// OKX's order entry: the WebSocket first, REST beside it.
pub struct OkxOrders {
    pub rest: Arc<RestClient>,
    /// `None` without a key.
    pub ws: Option<Arc<WsRequests>>,
}

impl OkxOrders {
    /// Sends `op` with `body` over the WebSocket: its rows, or `None` if it
    /// went nowhere (the connection is down: send it over REST).
    async fn over_ws(
        &self,
        op: &str,
        endpoint: Endpoint,
        body: Value,
        order: Option<ClientOrderId>,
        deadline: Option<Instant>,
    ) -> Result<Option<Vec<OrderAck>>, VenueError> {
        let Some(ws) = self.ws.as_ref().filter(|ws| ws.is_up()) else { return Ok(None) };
        let http = self.rest.http();
        let owner = order.as_ref().and_then(|id| id.owner()).map(|(instance, _)| instance);
        let admission = http.admit(limits::cost(endpoint, 1, owner), deadline, order).await?;
        let id = ws.next_id();
        let payload = json!({"id": id, "op": op, "args": [body]}).to_string();
        let reply = ws.request(id, payload, REPLY_WITHIN).await;
        let text = match reply {
            Ok(text) => text,
            Err(Failure::NotSent(why)) => {
                http.abandon(admission.grant);
                tracing::debug!(op, reason = %why, "sending over REST instead of the WebSocket");
                return Ok(None);
            }
            Err(Failure::Unanswered(why)) => {
                http.limiter().answered(admission.grant, false);
                return Err(VenueError::unknown(format!("{op}: {why}")));
            }
        };
        let envelope = self.rest.protocol().envelope(&text);
        let limited = envelope
            .as_ref()
            .is_some_and(|e| from_answer(200, Some(e.code), &e.message).kind == ErrorKind::RateLimited);
        http.limiter().answered(admission.grant, limited);
        let Some(envelope) = envelope else {
            return Err(VenueError::unknown(format!("{op}: an unreadable reply: {text}")));
        };
        if envelope.code != 0 {
            if limited {
                tracing::warn!(
                    code = envelope.code,
                    ?endpoint,
                    "rate limited by the venue; pausing the endpoint, then one probe"
                );
                http.limiter().block_for(Blocked::Budget(endpoint.budget()), LIMITED_FOR);
            }
            return Err(from_answer(200, Some(envelope.code), &envelope.message));
        }
        let rows = envelope.result.map(|r| r.get().to_owned()).unwrap_or_else(|| "[]".into());
        serde_json::from_str(&rows).map(Some).map_err(|e| VenueError::unknown(format!("{op}: reply rows: {e}")))
    }
}

impl OrderEntry for OkxOrders {
    type Prepared = Signed;
    const AMENDS: bool = true;

    async fn place(
        &self,
        id: ClientOrderId,
        order: NewOrder,
        deadline: Option<Instant>,
        origin: Option<std::time::Instant>,
    ) -> Result<Ack, VenueError> {
        match self.over_ws("order", Endpoint::Place, order_body(&id, &order), Some(id), deadline).await? {
            Some(rows) => Ok(Ack::placed(single(rows, "order")?.ord_id)),
            None => self.rest.place(id, order, deadline, origin).await,
        }
    }

    async fn cancel(&self, symbol: Symbol, id: ClientOrderId) -> Result<OrderState, VenueError> {
        let body = json!({"instId": symbol.as_str(), "clOrdId": id.as_str()});
        match self.over_ws("cancel-order", Endpoint::Cancel, body, None, None).await? {
            Some(_) => self.rest.order(symbol, &id).await,
            None => self.rest.cancel(symbol, id).await,
        }
    }

    async fn replace(
        &self,
        cancel: ClientOrderId,
        id: ClientOrderId,
        order: NewOrder,
        origin: Option<std::time::Instant>,
    ) -> Result<Ack, VenueError> {
        let symbol = order.symbol;
        cancel_then_place(self, symbol, cancel, self.place(id, order, None, origin)).await
    }

    async fn amend(&self, id: ClientOrderId, order: NewOrder) -> Result<(), VenueError> {
        match self.over_ws("amend-order", Endpoint::Amend, amend_body(&id, &order), None, None).await? {
            Some(_) => Ok(()),
            None => self.rest.amend(id, order).await,
        }
    }

    async fn query(&self, symbol: Symbol, id: ClientOrderId) -> Result<OrderState, VenueError> {
        self.rest.query(symbol, id).await
    }

    async fn order_trades(&self, symbol: Symbol, order: VenueOrderId) -> Result<Vec<VenueTrade>, VenueError> {
        self.rest.order_trades(symbol, order).await
    }

    async fn open_orders(&self) -> Result<Vec<OrderState>, VenueError> {
        self.rest.open_orders().await
    }

    async fn read_account(&self) -> Result<AccountState, VenueError> {
        self.rest.read_account().await
    }

    fn venue_now_ms(&self) -> i64 {
        self.rest.venue_now_ms()
    }

    fn is_queued(&self, id: &ClientOrderId) -> bool {
        self.rest.is_queued(id)
    }

    /// Signed in the engine's call only when it will go over REST (the
    /// WebSocket's orders go through the order manager's queue).
    fn prepare_place_now(
        &self,
        id: ClientOrderId,
        order: &NewOrder,
        origin: Option<std::time::Instant>,
    ) -> Option<Result<Signed, VenueError>> {
        if self.ws.as_ref().is_some_and(|ws| ws.is_up()) {
            return None;
        }
        self.rest.prepare_place_now(id, order, origin)
    }

    async fn complete(&self, prepared: Signed) -> Result<Ack, VenueError> {
        self.rest.complete(prepared).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_private_websocket_reads_as_a_login_its_refusals_and_replies_by_id() {
        let limiter = Arc::new(crate::execution::rate_limit::RateLimiter::new(limits::budgets()));
        let rest = RestClient::new("http://127.0.0.1:9", None, false, Duration::from_secs(1), limiter).unwrap();
        let dialect = OkxRequests { url: "ws://x/ws/v5/private".into(), rest: Arc::new(rest) };
        assert!(dialect.login().is_empty(), "no key, no login");
        assert_eq!(dialect.read(r#"{"event":"login","code":"0","msg":"","connId":"a4d3ae55"}"#), Frame::LoggedIn);
        assert_eq!(
            dialect.read(r#"{"event":"error","code":"60009","msg":"Login failed.","connId":"a4d3ae55"}"#),
            Frame::Refused("60009 Login failed.".into())
        );
        let reply = r#"{"id":"1512","op":"order","data":[{"clOrdId":"","ordId":"12345689","tag":"","ts":"1695190491421","sCode":"0","sMsg":""}],"code":"0","msg":"","inTime":"1695190491421339","outTime":"1695190491423240"}"#;
        assert_eq!(dialect.read(reply), Frame::Reply("1512".into()));
        assert_eq!(dialect.read("pong"), Frame::Other);
        // The reply is the REST envelope: a refused order reads as its own code.
        let refused = r#"{"id":"1513","op":"order","data":[{"clOrdId":"","ordId":"","tag":"","ts":"1695190491421","sCode":"51008","sMsg":"Order failed. Insufficient USDT balance in account."}],"code":"1","msg":"","inTime":"1","outTime":"2"}"#;
        let envelope = dialect.rest.protocol().envelope(refused).unwrap();
        assert_eq!(
            (envelope.code, envelope.message.as_str()),
            (51008, "Order failed. Insufficient USDT balance in account.")
        );
    }
}
