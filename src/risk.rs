//! Pre-trade risk: limits per order and per strategy, and the trading state
//! (Active / Reducing / Halted) of each strategy and of the whole daemon.
//!
//! The engine asks [`RiskManager::check_new`] for every new order a strategy
//! wants (with that strategy's limits); a refusal comes back to the strategy as `OrderUpdate::Denied` with
//! the reason. Cancels are never refused. This module sends nothing.

use rust_decimal::Decimal;
use serde::Serialize;
use tradewind_strategies::sdk::{NewOrder, OrderKind, Price, Qty, Reason, Side};

/// Every reason code [`RiskManager::check_new`] and the engine's limits may
/// refuse a new order with (`tradewind_risk_denials_total{reason}`).
pub const DENIAL_CODES: &[&str] = &[
    "halted",
    "reducing",
    "invalid_qty",
    "invalid_price",
    "max_order_qty",
    "max_order_notional",
    "max_open_orders",
    "max_position",
    "min_free_balance",
    "no_reference_price",
    "order_rate",
    "price_band",
    "max_daily_loss",
    "max_drawdown",
    "no_execution",
];

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
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderContext {
    /// The strategy's open orders right now (before this one).
    pub open_orders: usize,
    /// The strategy's position in the order's symbol.
    pub position: Qty,
    /// Unfilled quantity of the strategy's open buys and sells in the symbol.
    pub open_buys: Qty,
    pub open_sells: Qty,
    /// Price to value a market order at (best ask for buys, best bid for sells).
    pub reference_price: Option<Price>,
    /// Mid of the book (the fat-finger band's centre).
    pub mid: Option<Price>,
    /// Free balance of the quote asset on the venue, when known.
    pub free_quote: Option<Decimal>,
    /// New orders the strategy sent in the last second and the last minute.
    pub sent_last_sec: u32,
    pub sent_last_min: u32,
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

    /// The daemon-wide limits (each strategy's are derived from them).
    pub fn limits(&self) -> &RiskConfig {
        &self.limits
    }

    /// The daemon-wide trading state.
    pub fn global_state(&self) -> TradingState {
        self.global
    }

    pub fn set_global_state(&mut self, state: TradingState) {
        self.global = state;
    }

    /// Approves or refuses a new order against a strategy's `limits`.
    pub fn check_new(&self, order: &NewOrder, ctx: OrderContext, limits: &RiskConfig) -> Result<(), Reason> {
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
        if let Some(max) = limits.max_order_qty.filter(|max| order.qty.get() > *max) {
            return Err(Reason::new("max_order_qty", format!("quantity {} exceeds limit {max}", order.qty)));
        }
        if ctx.open_orders >= limits.max_open_orders {
            return Err(Reason::new(
                "max_open_orders",
                format!("{} open orders, limit {}", ctx.open_orders, limits.max_open_orders),
            ));
        }
        if let Some(max) = limits.max_orders_per_sec.filter(|max| ctx.sent_last_sec >= *max) {
            return Err(Reason::new("order_rate", format!("{max} orders in the last second, limit {max}")));
        }
        if let Some(max) = limits.max_orders_per_min.filter(|max| ctx.sent_last_min >= *max) {
            return Err(Reason::new("order_rate", format!("{max} orders in the last minute, limit {max}")));
        }
        if let Some(max) = limits.max_position {
            // The worst case: every open order on this side fills, then this one.
            let worst = match order.side {
                Side::Buy => ctx.position.get() + ctx.open_buys.get() + order.qty.get(),
                Side::Sell => -(ctx.position.get() - ctx.open_sells.get() - order.qty.get()),
            };
            if worst > max {
                return Err(Reason::new(
                    "max_position",
                    format!("position could reach {worst} (with open orders), limit {max}"),
                ));
            }
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
        if let (Some(band), Some(mid), Some(limit)) = (limits.price_band_pct, ctx.mid, order.kind.price()) {
            let off = (limit.get() - mid.get()).abs() * Decimal::ONE_HUNDRED / mid.get();
            if off > band {
                return Err(Reason::new(
                    "price_band",
                    format!("price {limit} is {}% from the mid {mid}, band {band}%", off.round_dp(2)),
                ));
            }
        }
        let notional: Decimal = price.notional(order.qty);
        if notional > limits.max_order_notional {
            return Err(Reason::new(
                "max_order_notional",
                format!("notional {notional} exceeds limit {}", limits.max_order_notional),
            ));
        }
        if let (Some(keep), Some(free), Side::Buy) = (limits.min_free_quote, ctx.free_quote, order.side)
            && free - notional < keep
        {
            return Err(Reason::new(
                "min_free_balance",
                format!("the buy ({notional}) would leave {} free, minimum {keep}", free - notional),
            ));
        }
        Ok(())
    }
}

/// Tracks one PnL (a strategy's or the account's) against its loss limits:
/// the day's start (UTC) and the peak.
#[derive(Debug, Clone, Default)]
pub struct LossWatch {
    day: i64,
    day_start: Decimal,
    peak: Option<Decimal>,
}

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

impl LossWatch {
    /// Records `pnl` at wall-clock `now_ms`; returns why a limit is breached, if one is.
    pub fn observe(
        &mut self,
        pnl: Decimal,
        now_ms: i64,
        max_daily_loss: Option<Decimal>,
        max_drawdown: Option<Decimal>,
    ) -> Option<Reason> {
        let day = now_ms.div_euclid(DAY_MS);
        if self.peak.is_none() || day != self.day {
            self.day = day;
            self.day_start = pnl;
        }
        let peak = self.peak.map_or(pnl, |p| p.max(pnl));
        self.peak = Some(peak);
        if let Some(max) = max_daily_loss
            && self.day_start - pnl > max
        {
            return Some(Reason::new(
                "max_daily_loss",
                format!("lost {} since the day began, limit {max}", self.day_start - pnl),
            ));
        }
        if let Some(max) = max_drawdown
            && peak - pnl > max
        {
            return Some(Reason::new("max_drawdown", format!("{} below the peak {peak}, limit {max}", peak - pnl)));
        }
        None
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

    fn limits() -> RiskConfig {
        RiskConfig { max_order_notional: d("1000"), max_open_orders: 2, ..RiskConfig::default() }
    }

    fn risk() -> RiskManager {
        RiskManager::new(limits())
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
        OrderContext::default()
    }

    fn code(r: Result<(), Reason>) -> Option<String> {
        r.err().map(|r| r.code)
    }

    /// Checks against the manager's own limits.
    fn check(r: &RiskManager, o: &NewOrder, c: OrderContext) -> Option<String> {
        code(r.check_new(o, c, r.limits()))
    }

    #[test]
    fn notional_limit_uses_limit_price_or_reference() {
        let r = risk();
        assert_eq!(check(&r, &order(Side::Buy, "0.01", limit("100000")), ctx()), None);
        assert_eq!(check(&r, &order(Side::Buy, "0.02", limit("100000")), ctx()), Some("max_order_notional".into()));
        let market = order(Side::Buy, "0.02", OrderKind::Market);
        assert_eq!(check(&r, &market, ctx()), Some("no_reference_price".into()));
        let priced = OrderContext { reference_price: Some(Price::new(d("100"))), ..ctx() };
        assert_eq!(check(&r, &market, priced), None);
    }

    #[test]
    fn open_order_limit() {
        let r = risk();
        let o = order(Side::Buy, "1", limit("10"));
        assert_eq!(check(&r, &o, OrderContext { open_orders: 1, ..ctx() }), None);
        assert_eq!(check(&r, &o, OrderContext { open_orders: 2, ..ctx() }), Some("max_open_orders".into()));
    }

    #[test]
    fn trading_states() {
        let mut r = risk();
        let long = OrderContext { position: Qty::new(d("1")), ..ctx() };
        let sell_half = order(Side::Sell, "0.5", limit("10"));
        let sell_too_much = order(Side::Sell, "1.5", limit("10"));
        let buy = order(Side::Buy, "0.5", limit("10"));
        let reducing = OrderContext { state: TradingState::Reducing, ..long };
        assert_eq!(check(&r, &sell_half, reducing), None);
        assert_eq!(check(&r, &sell_too_much, reducing), Some("reducing".into()));
        assert_eq!(check(&r, &buy, reducing), Some("reducing".into()));
        // The global state applies on top of the strategy's.
        r.set_global_state(TradingState::Halted);
        assert_eq!(check(&r, &sell_half, long), Some("halted".into()));
        assert_eq!(TradingState::Reducing.stricter(TradingState::Active), TradingState::Reducing);
    }

    #[test]
    fn quantity_band_rate_and_balance_limits() {
        let l = RiskConfig {
            max_order_qty: Some(d("2")),
            price_band_pct: Some(d("5")),
            max_orders_per_sec: Some(3),
            max_orders_per_min: Some(10),
            min_free_quote: Some(d("100")),
            ..limits()
        };
        let r = RiskManager::new(l.clone());
        let c = |o: &NewOrder, ctx: OrderContext| code(r.check_new(o, ctx, &l));
        assert_eq!(c(&order(Side::Buy, "2.5", limit("10")), ctx()), Some("max_order_qty".into()));
        let mid = OrderContext { mid: Some(Price::new(d("100"))), ..ctx() };
        assert_eq!(c(&order(Side::Buy, "1", limit("95")), mid), None, "5% is inside the band");
        assert_eq!(c(&order(Side::Buy, "1", limit("94.99")), mid), Some("price_band".into()));
        assert_eq!(c(&order(Side::Sell, "1", limit("105.01")), mid), Some("price_band".into()));
        let busy = OrderContext { sent_last_sec: 3, ..ctx() };
        assert_eq!(c(&order(Side::Buy, "1", limit("10")), busy), Some("order_rate".into()));
        let busy_minute = OrderContext { sent_last_min: 10, ..ctx() };
        assert_eq!(c(&order(Side::Buy, "1", limit("10")), busy_minute), Some("order_rate".into()));
        let funded = OrderContext { free_quote: Some(d("150")), ..ctx() };
        assert_eq!(c(&order(Side::Buy, "1", limit("50")), funded), None, "leaves exactly 100");
        assert_eq!(c(&order(Side::Buy, "1", limit("50.01")), funded), Some("min_free_balance".into()));
        assert_eq!(c(&order(Side::Sell, "1", limit("500")), funded), None, "sells spend no quote");
    }

    #[test]
    fn max_position_counts_open_orders_on_the_growing_side() {
        let l = RiskConfig { max_position: Some(d("1")), max_open_orders: 100, ..limits() };
        let r = RiskManager::new(l.clone());
        let c = |o: &NewOrder, ctx: OrderContext| code(r.check_new(o, ctx, &l));
        let buy = order(Side::Buy, "0.4", limit("10"));
        let held = OrderContext { position: Qty::new(d("0.5")), ..ctx() };
        assert_eq!(c(&buy, held), None);
        assert_eq!(c(&buy, OrderContext { open_buys: Qty::new(d("0.2")), ..held }), Some("max_position".into()));
        // Selling through zero into a short beyond the limit is refused too.
        assert_eq!(c(&order(Side::Sell, "1.5", limit("10")), held), None, "ends at −1");
        assert_eq!(c(&order(Side::Sell, "1.6", limit("10")), held), Some("max_position".into()));
    }

    #[test]
    fn loss_watch_trips_on_daily_loss_and_drawdown_and_rolls_at_midnight() {
        let mut w = LossWatch::default();
        let day = 86_400_000;
        assert!(w.observe(d("0"), day + 1, Some(d("10")), None).is_none());
        assert!(w.observe(d("-10"), day + 2, Some(d("10")), None).is_none(), "exactly the limit is allowed");
        let tripped = w.observe(d("-10.01"), day + 3, Some(d("10")), None).map(|r| r.code);
        assert_eq!(tripped, Some("max_daily_loss".into()));
        // A new day starts from where the PnL stands.
        assert!(w.observe(d("-15"), 2 * day, Some(d("10")), None).is_none());
        let mut w = LossWatch::default();
        assert!(w.observe(d("50"), 1, None, Some(d("20"))).is_none());
        assert!(w.observe(d("31"), 2, None, Some(d("20"))).is_none());
        assert_eq!(w.observe(d("29"), 3, None, Some(d("20"))).map(|r| r.code), Some("max_drawdown".into()));
    }

    mod property {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Step {
            Place {
                buy: bool,
                qty: u32,
            },
            /// Fill `part` thousandths of open order `which` (modulo the count).
            Fill {
                which: usize,
                part: u32,
            },
            Cancel {
                which: usize,
            },
        }

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                (any::<bool>(), 1u32..3000).prop_map(|(buy, qty)| Step::Place { buy, qty }),
                (any::<usize>(), 1u32..=1000).prop_map(|(which, part)| Step::Fill { which, part }),
                any::<usize>().prop_map(|which| Step::Cancel { which }),
            ]
        }

        proptest! {
            /// Whatever a strategy asks and however its orders fill, its position never exceeds the limit.
            #[test]
            fn no_sequence_of_intents_exceeds_max_position(steps in proptest::collection::vec(step(), 1..200)) {
                let max = d("1");
                let l = RiskConfig {
                    max_position: Some(max),
                    max_open_orders: 1000,
                    max_order_notional: d("1000000"),
                    ..RiskConfig::default()
                };
                let r = RiskManager::new(l.clone());
                let mut position = Decimal::ZERO;
                // (is a buy, unfilled quantity)
                let mut open: Vec<(bool, Decimal)> = Vec::new();
                for s in steps {
                    match s {
                        Step::Place { buy, qty } => {
                            let qty = Decimal::new(i64::from(qty), 3);
                            let side = if buy { Side::Buy } else { Side::Sell };
                            let sum = |b: bool| open.iter().filter(|(ob, _)| *ob == b).map(|(_, q)| *q).sum::<Decimal>();
                            let ctx = OrderContext {
                                position: Qty::new(position),
                                open_buys: Qty::new(sum(true)),
                                open_sells: Qty::new(sum(false)),
                                open_orders: open.len(),
                                ..OrderContext::default()
                            };
                            if r.check_new(&order(side, &qty.to_string(), limit("10")), ctx, &l).is_ok() {
                                open.push((buy, qty));
                            }
                        }
                        Step::Fill { which, part } if !open.is_empty() => {
                            let i = which % open.len();
                            let share = Decimal::new(i64::from(part), 3);
                            let filled = (open[i].1 * share).round_dp(3).max(Decimal::new(1, 3)).min(open[i].1);
                            position += if open[i].0 { filled } else { -filled };
                            open[i].1 -= filled;
                            if open[i].1.is_zero() {
                                open.remove(i);
                            }
                        }
                        Step::Cancel { which } if !open.is_empty() => {
                            open.remove(which % open.len());
                        }
                        _ => {}
                    }
                    prop_assert!(position.abs() <= max, "position {} beyond {}", position, max);
                }
            }
        }
    }

    #[test]
    fn every_denial_code_in_the_source_is_listed() {
        for source in [include_str!("risk.rs"), include_str!("engine/mod.rs"), include_str!("engine/limits.rs")] {
            for (at, _) in source.match_indices("Reason::new(") {
                let rest = source[at + "Reason::new(".len()..].trim_start();
                let Some(rest) = rest.strip_prefix('"') else { continue };
                let code = &rest[..rest.find('"').unwrap()];
                if code.is_empty() || !code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    continue; // not a literal code (this test's own text)
                }
                assert!(DENIAL_CODES.contains(&code), "{code} is missing from DENIAL_CODES");
            }
        }
    }
}
