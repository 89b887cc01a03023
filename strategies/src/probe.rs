//! `probe`: a load-test strategy. Every `every`-th trade on its symbol it
//! moves one post-only buy, `distance_bps` below that trade's price, to the
//! new price (a cancel-replace, or a plain order when none rests). It never
//! means to fill; it makes a fixed fraction of market events cause an
//! order, which is what `tradewind bench` measures (tick-to-order latency).

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::sdk::{
    ClientOrderId, Context, Intents, MarketEvent, NewOrder, OrderKind, OrderUpdate, Price, Side, Strategy,
    StrategyError, Subscription, Symbol, VenueId,
};
use crate::{Instance, ParamError};

/// Parameters of `probe` (the keys of its TOML file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// One order per this many trades (≥ 1).
    pub every: u32,
    /// How far below the trade price the buy rests, in basis points (1..=9000).
    #[serde(default = "default_distance_bps")]
    pub distance_bps: Decimal,
    /// Order size in quote currency (rounded down onto the lot grid).
    pub notional: Decimal,
}

fn default_distance_bps() -> Decimal {
    Decimal::from(5_000)
}

impl Params {
    pub(crate) fn validate(&self, instance: &Instance, errors: &mut Vec<ParamError>) {
        if self.every == 0 {
            errors.push(ParamError::new("every", "must be >= 1, got 0"));
        }
        if self.distance_bps < Decimal::ONE || self.distance_bps > Decimal::from(9_000) {
            errors.push(ParamError::new("distance_bps", format!("must be 1..=9000, got {}", self.distance_bps)));
        }
        if self.notional <= Decimal::ZERO {
            errors.push(ParamError::new("notional", format!("must be > 0, got {}", self.notional)));
        }
        if instance.symbols.len() != 1 {
            errors.push(ParamError::new(
                "symbols",
                format!("a probe watches exactly one symbol, got {}", instance.symbols.len()),
            ));
        }
    }

    pub(crate) fn summary(&self) -> String {
        format!("one order per {} trades, {} bps below, {} quote", self.every, self.distance_bps, self.notional)
    }
}

/// A running `probe` instance.
#[derive(Debug)]
pub struct Probe {
    venue: VenueId,
    symbol: Symbol,
    params: Params,
    trades: u64,
    /// The order on the book (or on its way), and whether the venue accepted it.
    resting: Option<(ClientOrderId, bool)>,
    /// `1 - distance_bps / 10,000`: the order's price over the trade's.
    factor: Decimal,
}

impl Probe {
    pub fn new(instance: &Instance, params: Params) -> Self {
        let factor = Decimal::ONE - params.distance_bps / Decimal::from(10_000);
        Self { venue: instance.venue, symbol: instance.symbols[0], params, trades: 0, resting: None, factor }
    }
}

impl Strategy for Probe {
    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription { trades: true, ..Subscription::quotes(self.venue, vec![self.symbol]) }]
    }

    fn on_event(&mut self, ctx: &dyn Context, event: &MarketEvent, out: &mut Intents) -> Result<(), StrategyError> {
        let MarketEvent::Trade(t) = event else { return Ok(()) };
        if t.venue != self.venue || t.symbol != self.symbol {
            return Ok(());
        }
        self.trades += 1;
        if !self.trades.is_multiple_of(u64::from(self.params.every)) {
            return Ok(());
        }
        // Until the last order is acknowledged there is nothing to replace.
        if self.resting.is_some_and(|(_, accepted)| !accepted) {
            return Ok(());
        }
        let Some(spec) = ctx.instrument(self.venue, self.symbol) else { return Ok(()) };
        let target = t.price.get() * self.factor;
        let Some(price) = spec.round_price(Side::Buy, Price::new(target)) else { return Ok(()) };
        let Some(qty) = spec.qty_for_notional(self.params.notional, price) else { return Ok(()) };
        let order = NewOrder {
            venue: self.venue,
            symbol: self.symbol,
            side: Side::Buy,
            qty,
            kind: OrderKind::PostOnly { price },
        };
        let id = match self.resting {
            Some((old, _)) => out.replace(old, order),
            None => out.place(order),
        };
        self.resting = Some((id, false));
        Ok(())
    }

    fn on_order_update(
        &mut self,
        _ctx: &dyn Context,
        update: &OrderUpdate,
        _out: &mut Intents,
    ) -> Result<(), StrategyError> {
        let Some((id, accepted)) = &mut self.resting else { return Ok(()) };
        if id != update.id() {
            return Ok(());
        }
        if update.is_terminal() {
            self.resting = None;
        } else if matches!(update, OrderUpdate::Accepted { .. }) {
            *accepted = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::testing::{self, d};
    use crate::sdk::{OrderIntent, Qty, Reason, TestContext, Timestamp, Trade};

    fn venue() -> VenueId {
        testing::venue("sim")
    }

    fn btc() -> Symbol {
        testing::symbol("BTCUSDT")
    }

    fn trade(price: &str) -> MarketEvent {
        MarketEvent::Trade(Trade {
            venue: venue(),
            symbol: btc(),
            trade_id: crate::sdk::TradeId::from(1),
            price: Price::new(d(price)),
            qty: Qty::new(d("0.1")),
            aggressor: Side::Buy,
            time: Timestamp(0),
        })
    }

    #[test]
    fn every_nth_trade_moves_one_post_only_buy_once_the_last_is_accepted() {
        let ctx = TestContext::default().with_instrument(venue(), testing::spec("BTC", "USDT", "0.001"));
        let params = Params { every: 3, distance_bps: d("5000"), notional: d("90") };
        let mut p = Probe::new(&Instance { name: "probe".into(), venue: venue(), symbols: vec![btc()] }, params);
        let mut out = Intents::new("probe", 1);
        for price in ["60000", "60001"] {
            p.on_event(&ctx, &trade(price), &mut out).unwrap();
        }
        assert!(out.is_empty(), "two trades of three");
        p.on_event(&ctx, &trade("60000.02"), &mut out).unwrap();
        let first = match out.drain().collect::<Vec<_>>().as_slice() {
            [OrderIntent::Place { id, order }] => {
                // 50 % below 60000.02, rounded down onto the tick; 90 USDT of BTC on the 0.001 grid.
                assert_eq!(order.kind, OrderKind::PostOnly { price: Price::new(d("30000.01")) });
                assert_eq!((order.side, order.qty.get()), (Side::Buy, d("0.002")));
                *id
            }
            other => panic!("{other:?}"),
        };
        // Not accepted yet: the next third trade does nothing.
        for _ in 0..3 {
            p.on_event(&ctx, &trade("61000"), &mut out).unwrap();
        }
        assert!(out.is_empty());
        p.on_order_update(
            &ctx,
            &OrderUpdate::Accepted { id: first, venue_order_id: crate::sdk::VenueOrderId::from(9) },
            &mut out,
        )
        .unwrap();
        for _ in 0..3 {
            p.on_event(&ctx, &trade("61000"), &mut out).unwrap();
        }
        let second = match out.drain().collect::<Vec<_>>().as_slice() {
            [OrderIntent::Replace { cancel, id, order }] => {
                assert_eq!(*cancel, first);
                assert_eq!(order.kind, OrderKind::PostOnly { price: Price::new(d("30500")) });
                *id
            }
            other => panic!("{other:?}"),
        };
        // A rejected replacement leaves nothing resting: the next one is a plain order.
        p.on_order_update(&ctx, &OrderUpdate::Rejected { id: second, reason: Reason::new("-2010", "no") }, &mut out)
            .unwrap();
        for _ in 0..3 {
            p.on_event(&ctx, &trade("61000"), &mut out).unwrap();
        }
        assert!(matches!(out.drain().collect::<Vec<_>>().as_slice(), [OrderIntent::Place { .. }]));
    }

    #[test]
    fn validation_names_each_key() {
        let instance = Instance { name: "p".into(), venue: venue(), symbols: vec![] };
        let mut errors = Vec::new();
        Params { every: 0, distance_bps: d("0"), notional: d("0") }.validate(&instance, &mut errors);
        let keys: Vec<_> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["every", "distance_bps", "notional", "symbols"]);
    }
}
