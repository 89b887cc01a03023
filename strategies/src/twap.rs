//! `twap`: buys or sells `total_qty` evenly over `duration_secs`, in
//! `slices` orders, one per interval — an execution algorithm rather than a
//! signal.
//!
//! At slice i (counted from the first timer tick) the target is
//! `total_qty × (i+1) / slices` done; the order sent is what is missing
//! (filled and in-flight quantity subtracted), so a slice that filled only
//! partly is made up by the next. Market orders, or IOC limits at
//! `limit_price` (never buy above it, never sell below it). It stops once
//! the total is filled or the last slice is sent and done.

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::sdk::{
    ClientOrderId, Context, Intents, MarketEvent, NewOrder, OrderKind, OrderUpdate, Price, Qty, Side, Strategy,
    StrategyError, Subscription, Symbol, TimeInForce, Timestamp, VenueId,
};
use crate::{Instance, ParamError};

/// Parameters of `twap` (the keys of its TOML file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// `buy` or `sell`.
    pub side: Side,
    /// Base-asset quantity to execute in all (> 0).
    pub total_qty: Decimal,
    /// Time over which to spread it (s, ≥ 1).
    pub duration_secs: u64,
    /// Number of orders (1..=10000).
    pub slices: u32,
    /// Optional limit: slices become IOC limit orders at this price.
    #[serde(default)]
    pub limit_price: Option<Decimal>,
}

impl Params {
    pub(crate) fn validate(&self, instance: &Instance, errors: &mut Vec<ParamError>) {
        if self.total_qty <= Decimal::ZERO {
            errors.push(ParamError::new("total_qty", format!("must be > 0, got {}", self.total_qty)));
        }
        if self.duration_secs == 0 {
            errors.push(ParamError::new("duration_secs", "must be >= 1, got 0"));
        }
        if !(1..=10_000).contains(&self.slices) {
            errors.push(ParamError::new("slices", format!("must be 1..=10000, got {}", self.slices)));
        }
        if let Some(p) = self.limit_price.filter(|p| *p <= Decimal::ZERO) {
            errors.push(ParamError::new("limit_price", format!("must be > 0, got {p}")));
        }
        if instance.symbols.len() != 1 {
            errors.push(ParamError::new(
                "symbols",
                format!("a twap executes exactly one symbol, got {}", instance.symbols.len()),
            ));
        }
    }

    pub(crate) fn summary(&self) -> String {
        let side = if self.side == Side::Buy { "buy" } else { "sell" };
        let limit = self.limit_price.map(|p| format!(", limit {p}")).unwrap_or_default();
        format!("{side} {} over {} s in {} slices{limit}", self.total_qty, self.duration_secs, self.slices)
    }
}

/// A running `twap` instance.
#[derive(Debug)]
pub struct Twap {
    venue: VenueId,
    symbol: Symbol,
    params: Params,
    started: Option<Timestamp>,
    /// Slices sent so far.
    sent: u32,
    filled: Decimal,
    /// The open slice and its quantity.
    in_flight: Option<(ClientOrderId, Decimal)>,
}

impl Twap {
    pub fn new(instance: &Instance, params: Params) -> Self {
        Self {
            venue: instance.venue,
            symbol: instance.symbols[0],
            params,
            started: None,
            sent: 0,
            filled: Decimal::ZERO,
            in_flight: None,
        }
    }

    /// Whether the whole quantity is executed or every slice is spent.
    pub fn done(&self) -> bool {
        self.filled >= self.params.total_qty || (self.sent >= self.params.slices && self.in_flight.is_none())
    }

    pub fn filled(&self) -> Decimal {
        self.filled
    }
}

impl Strategy for Twap {
    fn subscriptions(&self) -> Vec<Subscription> {
        // Quotes value the market orders for the risk checks.
        vec![Subscription::quotes(self.venue, vec![self.symbol])]
    }

    fn on_event(&mut self, _ctx: &dyn Context, _event: &MarketEvent, _out: &mut Intents) -> Result<(), StrategyError> {
        Ok(())
    }

    fn on_timer(&mut self, ctx: &dyn Context, out: &mut Intents) -> Result<(), StrategyError> {
        if self.done() || self.in_flight.is_some() {
            return Ok(());
        }
        let now = ctx.now();
        let started = *self.started.get_or_insert(now);
        let p = &self.params;
        let interval_ms = (p.duration_secs as i64 * 1000) / i64::from(p.slices);
        // Slice `sent` is due at started + sent × interval.
        if now.0 - started.0 < interval_ms * i64::from(self.sent) {
            return Ok(());
        }
        let Some(spec) = ctx.instrument(self.venue, self.symbol) else { return Ok(()) };
        let target = p.total_qty * Decimal::from(self.sent + 1) / Decimal::from(p.slices);
        self.sent += 1;
        let Some(qty) = spec.round_qty(Qty::new(target.min(p.total_qty) - self.filled)) else { return Ok(()) };
        let kind = match p.limit_price {
            Some(limit) => {
                let Some(price) = spec.round_price(p.side, Price::new(limit)) else { return Ok(()) };
                OrderKind::Limit { price, tif: TimeInForce::Ioc }
            }
            None => OrderKind::Market,
        };
        let id = out.place(NewOrder { venue: self.venue, symbol: self.symbol, side: p.side, qty, kind });
        self.in_flight = Some((id, qty.get()));
        Ok(())
    }

    fn on_order_update(
        &mut self,
        _ctx: &dyn Context,
        update: &OrderUpdate,
        _out: &mut Intents,
    ) -> Result<(), StrategyError> {
        if self.in_flight.is_none_or(|(id, _)| id != *update.id()) {
            return Ok(());
        }
        if let Some(fill) = update.fill() {
            self.filled += fill.qty.get();
        }
        if update.is_terminal() {
            self.in_flight = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::testing::{self, d};
    use crate::sdk::{Fill, OrderIntent, Reason, TestContext};

    fn venue() -> VenueId {
        testing::venue("sim")
    }

    fn btc() -> Symbol {
        testing::symbol("BTCUSDT")
    }

    fn ctx(now: i64) -> TestContext {
        let spec = testing::spec("BTC", "USDT", "0.001");
        let mut c = TestContext::default().with_instrument(venue(), spec);
        c.now = Timestamp(now);
        c
    }

    fn twap(limit_price: Option<Decimal>) -> Twap {
        let p = Params { side: Side::Buy, total_qty: d("1"), duration_secs: 40, slices: 4, limit_price };
        Twap::new(&Instance { name: "tw".into(), venue: venue(), symbols: vec![btc()] }, p)
    }

    fn placed(out: &mut Intents) -> Vec<(ClientOrderId, Decimal, OrderKind)> {
        out.drain()
            .map(|i| match i {
                OrderIntent::Place { id, order } => (id, order.qty.get(), order.kind),
                other => panic!("places only, got {other:?}"),
            })
            .collect()
    }

    fn fill(id: ClientOrderId, qty: &str) -> Fill {
        testing::fill(venue(), btc(), id, Side::Buy, qty, "60000")
    }

    #[test]
    fn slices_are_due_one_interval_apart_and_make_up_for_partial_fills() {
        let mut t = twap(None);
        let mut out = Intents::new("tw", 1);
        t.on_timer(&ctx(1_000), &mut out).unwrap();
        let first = placed(&mut out);
        assert_eq!(first.iter().map(|o| (o.1, o.2)).collect::<Vec<_>>(), [(d("0.25"), OrderKind::Market)]);
        // In flight: nothing more, even when the next slice is due.
        t.on_timer(&ctx(11_000), &mut out).unwrap();
        assert!(out.is_empty());
        // Only 0.2 filled (then the rest expired): the next slice makes it up.
        t.on_order_update(
            &ctx(11_000),
            &OrderUpdate::PartiallyFilled { id: first[0].0, fill: fill(first[0].0, "0.2") },
            &mut out,
        )
        .unwrap();
        t.on_order_update(&ctx(11_000), &OrderUpdate::Expired { id: first[0].0 }, &mut out).unwrap();
        t.on_timer(&ctx(10_999), &mut out).unwrap();
        assert!(out.is_empty(), "slice 2 is due at 11 000");
        t.on_timer(&ctx(11_000), &mut out).unwrap();
        let second = placed(&mut out);
        assert_eq!(second[0].1, d("0.3"), "0.5 due, 0.2 done");
        t.on_order_update(
            &ctx(11_000),
            &OrderUpdate::Filled { id: second[0].0, fill: fill(second[0].0, "0.3") },
            &mut out,
        )
        .unwrap();
        for (now, qty) in [(21_000, "0.25"), (31_000, "0.25")] {
            t.on_timer(&ctx(now), &mut out).unwrap();
            let o = placed(&mut out);
            assert_eq!(o[0].1, d(qty));
            t.on_order_update(&ctx(now), &OrderUpdate::Filled { id: o[0].0, fill: fill(o[0].0, qty) }, &mut out)
                .unwrap();
        }
        assert!(t.done());
        assert_eq!(t.filled(), d("1"));
        t.on_timer(&ctx(99_000), &mut out).unwrap();
        assert!(out.is_empty(), "nothing after the total");
    }

    #[test]
    fn a_limit_price_makes_ioc_limit_slices_and_rejections_end_the_slice() {
        let mut t = twap(Some(d("60000.005")));
        let mut out = Intents::new("tw", 1);
        t.on_timer(&ctx(0), &mut out).unwrap();
        let o = placed(&mut out);
        assert_eq!(
            o[0].2,
            OrderKind::Limit { price: Price::new(d("60000")), tif: TimeInForce::Ioc },
            "a buy limit rounds down"
        );
        t.on_order_update(&ctx(0), &OrderUpdate::Rejected { id: o[0].0, reason: Reason::new("-2010", "no") }, &mut out)
            .unwrap();
        t.on_timer(&ctx(10_000), &mut out).unwrap();
        assert_eq!(placed(&mut out)[0].1, d("0.5"), "the rejected slice is made up");
    }

    #[test]
    fn validation_names_each_key() {
        let bad =
            Params { side: Side::Sell, total_qty: d("0"), duration_secs: 0, slices: 0, limit_price: Some(d("-1")) };
        let mut errors = Vec::new();
        bad.validate(&Instance { name: "tw".into(), venue: venue(), symbols: vec![] }, &mut errors);
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["total_qty", "duration_secs", "slices", "limit_price", "symbols"]);
    }
}
