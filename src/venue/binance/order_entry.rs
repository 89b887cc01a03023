//! Binance's side of the venue contract ([`OrderEntry`]): order entry and
//! the account over the REST client, and Binance's words (order types, sides,
//! execution types) translated into the order manager's.

use serde_json::Value;
use tokio::time::Instant;
use tradewind_strategies::sdk::{
    Asset, Balance, ClientOrderId, Liquidity, NewOrder, OrderKind, Price, Side, Symbol, TimeInForce, Timestamp,
    VenueOrderId,
};

use super::error::VenueError;
use super::rest::{Account, OrderAck, OrderInfo, Prepared, RestClient};
use super::user_stream::ExecutionReport;
use crate::execution::report::VenueTrade;
use crate::execution::venue::{AccountState, Ack, Closed, OrderEntry, OrderReport, OrderState, ReportEvent};

/// A placement or a cancel-replace, signed and charged, not sent yet.
pub struct Placement {
    prepared: Prepared,
    /// A cancel-replace, whose answer nests the new order's.
    replace: bool,
}

impl OrderEntry for RestClient {
    type Prepared = Placement;

    async fn place(
        &self,
        id: ClientOrderId,
        order: NewOrder,
        deadline: Option<Instant>,
        origin: Option<std::time::Instant>,
    ) -> Result<Ack, VenueError> {
        self.new_order(&id, &order, deadline, origin).await.map(ack)
    }

    async fn cancel(&self, symbol: Symbol, id: ClientOrderId) -> Result<OrderState, VenueError> {
        self.cancel_order(symbol, &id).await.map(|o| order_state(&o))
    }

    async fn replace(
        &self,
        cancel: ClientOrderId,
        id: ClientOrderId,
        order: NewOrder,
        origin: Option<std::time::Instant>,
    ) -> Result<Ack, VenueError> {
        replaced(self.cancel_replace(&cancel, &id, &order, origin).await?)
    }

    async fn query(&self, symbol: Symbol, id: ClientOrderId) -> Result<OrderState, VenueError> {
        self.query_order(symbol, &id).await.map(|o| order_state(&o))
    }

    async fn order_trades(&self, symbol: Symbol, order: VenueOrderId) -> Result<Vec<VenueTrade>, VenueError> {
        let Ok(order_id) = order.as_str().parse::<u64>() else {
            return Err(VenueError::not_sent(format!("{order} is not a Binance order id")));
        };
        self.trades_of(symbol, order_id).await
    }

    async fn open_orders(&self) -> Result<Vec<OrderState>, VenueError> {
        Ok(self.list_open_orders(None).await?.iter().map(order_state).collect())
    }

    async fn read_account(&self) -> Result<AccountState, VenueError> {
        self.account().await.map(|a| account_state(&a))
    }

    fn venue_now_ms(&self) -> i64 {
        self.server_now_ms()
    }

    fn is_queued(&self, id: &ClientOrderId) -> bool {
        RestClient::is_queued(self, id)
    }

    fn prepare_place_now(
        &self,
        id: ClientOrderId,
        order: &NewOrder,
        origin: Option<std::time::Instant>,
    ) -> Option<Result<Placement, VenueError>> {
        let prepared = self.prepare_new_order_now(&id, order, origin)?;
        Some(prepared.map(|prepared| Placement { prepared, replace: false }))
    }

    fn prepare_replace_now(
        &self,
        cancel: ClientOrderId,
        id: ClientOrderId,
        order: &NewOrder,
        origin: Option<std::time::Instant>,
    ) -> Option<Result<Placement, VenueError>> {
        let prepared = self.prepare_cancel_replace_now(&cancel, &id, order, origin)?;
        Some(prepared.map(|prepared| Placement { prepared, replace: true }))
    }

    async fn complete(&self, Placement { prepared, replace }: Placement) -> Result<Ack, VenueError> {
        if replace {
            replaced(self.complete_json(prepared).await?)
        } else {
            self.complete_json(prepared).await.map(ack)
        }
    }
}

fn ack(a: OrderAck) -> Ack {
    Ack::placed(a.order_id.into())
}

/// A cancel-replace that succeeded: the new order's id is in its
/// `newOrderResponse`, how the replaced one ended in its `cancelResponse`.
fn replaced(body: Value) -> Result<Ack, VenueError> {
    let Some(order_id) = body.pointer("/newOrderResponse/orderId").and_then(Value::as_u64) else {
        return Err(VenueError::unknown("cancelReplace answer without an order id"));
    };
    let text = |path: &str| body.pointer(path).and_then(Value::as_str);
    let closed = match (text("/cancelResponse/status"), text("/cancelResponse/executedQty")) {
        (Some(status), Some(executed)) => {
            executed.parse().ok().map(|executed_qty| Closed { status: super::rest::order_status(status), executed_qty })
        }
        _ => None,
    };
    Ok(Ack { replaced: closed, ..Ack::placed(order_id.into()) })
}

/// Binance's side names.
pub fn side(side: &str) -> Option<Side> {
    match side {
        "BUY" => Some(Side::Buy),
        "SELL" => Some(Side::Sell),
        _ => None,
    }
}

/// Binance's order type and time in force, in the strategies' terms (`None`:
/// a type they cannot place, such as a stop-loss).
pub fn order_kind(order_type: &str, time_in_force: &str, price: Price) -> Option<OrderKind> {
    Some(match (order_type, time_in_force) {
        ("MARKET", _) => OrderKind::Market,
        ("LIMIT_MAKER", _) => OrderKind::PostOnly { price },
        ("LIMIT", "GTC") => OrderKind::Limit { price, tif: TimeInForce::Gtc },
        ("LIMIT", "IOC") => OrderKind::Limit { price, tif: TimeInForce::Ioc },
        ("LIMIT", "FOK") => OrderKind::Limit { price, tif: TimeInForce::Fok },
        _ => return None,
    })
}

/// An order as a query, a cancel or `openOrders` describes it.
pub fn order_state(o: &OrderInfo) -> OrderState {
    OrderState {
        client_order_id: o.client_order_id.clone(),
        venue_order_id: o.order_id.into(),
        symbol: o.symbol.clone(),
        status: o.status,
        executed_qty: o.executed_qty,
        side: side(&o.side),
        kind: order_kind(&o.order_type, &o.time_in_force, Price::new(o.price)),
        price: o.price,
        qty: o.orig_qty,
        time: o.time,
    }
}

pub fn account_state(a: &Account) -> AccountState {
    AccountState {
        update_time: a.update_time,
        balances: a.balances.iter().map(|b| (b.asset.clone(), Balance { free: b.free, locked: b.locked })).collect(),
    }
}

/// An `executionReport`, in the order manager's terms.
pub fn order_report(r: &ExecutionReport) -> OrderReport {
    let venue_order_id = VenueOrderId::from(r.order_id);
    let event = match r.exec_type.as_str() {
        "NEW" => ReportEvent::New,
        "TRADE" => ReportEvent::Trade(VenueTrade {
            trade_id: u64::try_from(r.trade_id).unwrap_or(0).into(),
            venue_order_id,
            price: r.last_price,
            qty: r.last_qty,
            fee: r.commission.unwrap_or_default(),
            fee_asset: r.commission_asset.as_deref().and_then(|a| Asset::new(a).ok()),
            liquidity: if r.maker { Liquidity::Maker } else { Liquidity::Taker },
            time: Timestamp(r.time),
        }),
        "CANCELED" | "EXPIRED" | "TRADE_PREVENTION" => ReportEvent::Ended,
        "REJECTED" => ReportEvent::Rejected(r.reject_reason.clone().unwrap_or_default()),
        // REPLACED (an amend), PENDING_NEW and anything newer: nothing to act on.
        _ => ReportEvent::Other,
    };
    OrderReport {
        client_order_id: r.order_client_id().to_owned(),
        venue_order_id,
        symbol: r.symbol.clone(),
        event,
        status: r.status,
        cum_qty: r.cum_qty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execution::report::OrderStatus;
    use tradewind_strategies::sdk::testing::d;

    #[test]
    fn binance_orders_read_in_the_strategies_terms() {
        let p = Price::new(d("100"));
        assert_eq!(order_kind("LIMIT", "GTC", p), Some(OrderKind::Limit { price: p, tif: TimeInForce::Gtc }));
        assert_eq!(order_kind("LIMIT", "IOC", p), Some(OrderKind::Limit { price: p, tif: TimeInForce::Ioc }));
        assert_eq!(order_kind("LIMIT", "FOK", p), Some(OrderKind::Limit { price: p, tif: TimeInForce::Fok }));
        assert_eq!(order_kind("LIMIT_MAKER", "GTC", p), Some(OrderKind::PostOnly { price: p }));
        assert_eq!(order_kind("MARKET", "GTC", p), Some(OrderKind::Market));
        assert_eq!(order_kind("STOP_LOSS_LIMIT", "GTC", p), None);
        assert_eq!((side("BUY"), side("SELL"), side("buy")), (Some(Side::Buy), Some(Side::Sell), None));
    }

    #[test]
    fn a_cancel_replace_answer_gives_the_new_orders_id_or_an_unknown_outcome() {
        let body = serde_json::json!({"cancelResult": "SUCCESS", "newOrderResult": "SUCCESS",
            "newOrderResponse": {"orderId": 42, "clientOrderId": "tw1"}});
        assert_eq!(replaced(body).unwrap().venue_order_id, VenueOrderId::from(42u64));
        let e = replaced(serde_json::json!({"cancelResult": "SUCCESS"})).unwrap_err();
        assert_eq!(e.outcome, crate::execution::error::Outcome::Unknown);
    }

    #[test]
    fn execution_reports_become_order_reports() {
        let frame = r#"{"e":"executionReport","E":1,"s":"BTCUSDT","c":"cancel1","C":"tw00000001","S":"BUY",
            "o":"LIMIT","f":"GTC","q":"1","p":"100","x":"CANCELED","X":"CANCELED","r":"NONE","i":7,"l":"0",
            "z":"0.4","L":"0","n":"0","N":null,"T":5,"t":-1,"m":false}"#;
        let report: ExecutionReport = serde_json::from_str(frame).unwrap();
        let r = order_report(&report);
        assert_eq!(r.client_order_id, "tw00000001", "a cancel's report is about the cancelled order");
        assert_eq!((r.event.clone(), r.status, r.cum_qty), (ReportEvent::Ended, OrderStatus::Canceled, d("0.4")));
        let mut trade = report.clone();
        trade.exec_type = "TRADE".into();
        trade.trade_id = 9;
        trade.last_qty = d("0.1");
        trade.last_price = d("100.5");
        trade.maker = true;
        let ReportEvent::Trade(t) = order_report(&trade).event else { panic!("a trade") };
        assert_eq!((t.trade_id.as_str(), t.qty, t.price, t.liquidity), ("9", d("0.1"), d("100.5"), Liquidity::Maker));
        let mut rejected = report;
        rejected.exec_type = "REJECTED".into();
        rejected.reject_reason = Some("INSUFFICIENT_BALANCE".into());
        assert_eq!(order_report(&rejected).event, ReportEvent::Rejected("INSUFFICIENT_BALANCE".into()));
    }
}
