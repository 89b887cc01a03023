//! Pre-trade risk: limits per order and per strategy, and the trading state
//! (Active / Reducing / Halted) of each strategy and of the whole daemon.
//!
//! The engine asks [`RiskManager::check_new`] for every new order a strategy
//! wants; a refusal comes back to the strategy as `OrderUpdate::Denied` with
//! the reason. Cancels are never refused. This module sends nothing.

use rust_decimal::Decimal;
use serde::Serialize;
use tradewind_strategies::sdk::{NewOrder, OrderKind, Price, Qty, Reason, Side};

use crate::config::RiskConfig;

/// What a strategy (or the daemon) may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TradingState {
    /// Any order within limits.
    #[default]
    Active,
    /// Only orders that shrink a position.
    Reducing,
    /// No new orders; resting orders are cancelled.
    Halted,
}

impl TradingState {
    /// The stricter of two states.
    pub fn stricter(self, other: TradingState) -> TradingState {
        self.max(other)
    }
}

impl PartialOrd for TradingState {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TradingState {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let rank = |s: &TradingState| match s {
            TradingState::Active => 0,
            TradingState::Reducing => 1,
            TradingState::Halted => 2,
        };
        rank(self).cmp(&rank(other))
    }
}

/// What risk needs to know about the strategy placing an order.
#[derive(Debug, Clone, Copy)]
pub struct OrderContext {
    /// The strategy's open orders right now (before this one).
    pub open_orders: usize,
    /// The strategy's position in the order's symbol.
    pub position: Qty,
    /// Price to value a market order at (best ask for buys, best bid for sells).
    pub reference_price: Option<Price>,
    /// The strategy's own trading state.
    pub state: TradingState,
}

/// Checks new orders against the configured limits.
#[derive(Debug, Clone)]
pub struct RiskManager {
    limits: RiskConfig,
    global: TradingState,
}

impl RiskManager {
    pub fn new(limits: RiskConfig) -> Self {
        Self { limits, global: TradingState::Active }
    }

    /// The daemon-wide trading state.
    pub fn global_state(&self) -> TradingState {
        self.global
    }

    pub fn set_global_state(&mut self, state: TradingState) {
        self.global = state;
    }

    /// Approves or refuses a new order.
    pub fn check_new(&self, order: &NewOrder, ctx: OrderContext) -> Result<(), Reason> {
        let state = self.global.stricter(ctx.state);
        match state {
            TradingState::Halted => return Err(Reason::new("halted", "trading is halted")),
            TradingState::Reducing if !reduces(order.side, order.qty, ctx.position) => {
                return Err(Reason::new(
                    "reducing",
                    format!("only orders that reduce the position ({}) are allowed", ctx.position),
                ));
            }
            _ => {}
        }
        if !order.qty.is_positive() {
            return Err(Reason::new("invalid_qty", format!("quantity must be > 0, got {}", order.qty)));
        }
        if ctx.open_orders >= self.limits.max_open_orders {
            return Err(Reason::new(
                "max_open_orders",
                format!("{} open orders, limit {}", ctx.open_orders, self.limits.max_open_orders),
            ));
        }
        let price = match order.kind {
            OrderKind::Limit { price, .. } | OrderKind::PostOnly { price } => price,
            OrderKind::Market => ctx
                .reference_price
                .ok_or_else(|| Reason::new("no_reference_price", "market order with no book price to value it at"))?,
        };
        if !price.is_positive() {
            return Err(Reason::new("invalid_price", format!("price must be > 0, got {price}")));
        }
        let notional: Decimal = price.notional(order.qty);
        if notional > self.limits.max_order_notional {
            return Err(Reason::new(
                "max_order_notional",
                format!("notional {notional} exceeds limit {}", self.limits.max_order_notional),
            ));
        }
        Ok(())
    }
}

/// True if an order of `side` and `qty` moves `position` toward zero without crossing it.
fn reduces(side: Side, qty: Qty, position: Qty) -> bool {
    match side {
        Side::Sell => position.is_positive() && qty <= position,
        Side::Buy => (-position).is_positive() && qty <= -position,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use tradewind_strategies::sdk::{Symbol, TimeInForce, VenueId};

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn risk() -> RiskManager {
        RiskManager::new(RiskConfig { max_order_notional: d("1000"), max_open_orders: 2 })
    }

    fn order(side: Side, qty: &str, kind: OrderKind) -> NewOrder {
        NewOrder {
            venue: VenueId::new("sim").unwrap(),
            symbol: Symbol::new("BTCUSDT").unwrap(),
            side,
            qty: Qty::new(d(qty)),
            kind,
        }
    }

    fn limit(price: &str) -> OrderKind {
        OrderKind::Limit { price: Price::new(d(price)), tif: TimeInForce::Gtc }
    }

    fn ctx() -> OrderContext {
        OrderContext { open_orders: 0, position: Qty::ZERO, reference_price: None, state: TradingState::Active }
    }

    fn code(r: Result<(), Reason>) -> Option<String> {
        r.err().map(|r| r.code)
    }

    #[test]
    fn notional_limit_uses_limit_price_or_reference() {
        let r = risk();
        assert_eq!(code(r.check_new(&order(Side::Buy, "0.01", limit("100000")), ctx())), None);
        assert_eq!(
            code(r.check_new(&order(Side::Buy, "0.02", limit("100000")), ctx())),
            Some("max_order_notional".into())
        );
        let market = order(Side::Buy, "0.02", OrderKind::Market);
        assert_eq!(code(r.check_new(&market, ctx())), Some("no_reference_price".into()));
        let priced = OrderContext { reference_price: Some(Price::new(d("100"))), ..ctx() };
        assert_eq!(code(r.check_new(&market, priced)), None);
    }

    #[test]
    fn open_order_limit() {
        let r = risk();
        let o = order(Side::Buy, "1", limit("10"));
        assert_eq!(code(r.check_new(&o, OrderContext { open_orders: 1, ..ctx() })), None);
        assert_eq!(code(r.check_new(&o, OrderContext { open_orders: 2, ..ctx() })), Some("max_open_orders".into()));
    }

    #[test]
    fn trading_states() {
        let mut r = risk();
        let long = OrderContext { position: Qty::new(d("1")), ..ctx() };
        let sell_half = order(Side::Sell, "0.5", limit("10"));
        let sell_too_much = order(Side::Sell, "1.5", limit("10"));
        let buy = order(Side::Buy, "0.5", limit("10"));
        let reducing = OrderContext { state: TradingState::Reducing, ..long };
        assert_eq!(code(r.check_new(&sell_half, reducing)), None);
        assert_eq!(code(r.check_new(&sell_too_much, reducing)), Some("reducing".into()));
        assert_eq!(code(r.check_new(&buy, reducing)), Some("reducing".into()));
        // The global state applies on top of the strategy's.
        r.set_global_state(TradingState::Halted);
        assert_eq!(code(r.check_new(&sell_half, long)), Some("halted".into()));
        assert_eq!(TradingState::Reducing.stricter(TradingState::Active), TradingState::Reducing);
    }
}
