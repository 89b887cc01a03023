//! `sma_cross`: long-only trend following on a fast/slow simple moving average
//! crossover, over trade prices or closed klines.
//!
//! When the fast SMA crosses above the slow one and the strategy holds no
//! position, it buys `order_qty` at market; when it crosses below and a
//! position is held, it sells the position. One order at a time per symbol:
//! after a restart an order an earlier run left open is waited for (the
//! position, rebuilt from the journal's fills, decides the rest). No order
//! goes while trading is halted.

use std::collections::{HashMap, VecDeque};

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::sdk::{
    ClientOrderId, Context, Intents, KlineInterval, MarketEvent, NewOrder, OrderKind, OrderUpdate, Price, Qty, Side,
    Strategy, StrategyError, Subscription, Symbol, Trading, VenueId,
};
use crate::{Instance, ParamError};

/// Which prices feed the averages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Every public trade's price is one sample.
    Trades,
    /// Every closed kline's close is one sample.
    Klines,
}

/// Parameters of `sma_cross` (the keys of its TOML file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Samples in the fast average (≥ 1).
    pub fast_period: usize,
    /// Samples in the slow average (> fast_period, ≤ 10000).
    pub slow_period: usize,
    /// Base-asset quantity bought on a bullish cross (> 0).
    #[serde(default)]
    pub order_qty: Option<Decimal>,
    /// `trades` (default) or `klines`.
    #[serde(default = "default_source")]
    pub source: Source,
    /// Kline interval when `source = "klines"` (default `1m`).
    #[serde(default = "default_interval")]
    pub interval: KlineInterval,
}

fn default_source() -> Source {
    Source::Trades
}

fn default_interval() -> KlineInterval {
    KlineInterval::M1
}

impl Params {
    pub(crate) fn validate(&self, instance: &Instance, errors: &mut Vec<ParamError>) {
        if self.fast_period == 0 {
            errors.push(ParamError::new("fast_period", "must be >= 1, got 0"));
        }
        if self.slow_period <= self.fast_period {
            errors.push(ParamError::new(
                "slow_period",
                format!("must be > fast_period ({}), got {}", self.fast_period, self.slow_period),
            ));
        }
        if self.slow_period > 10_000 {
            errors.push(ParamError::new("slow_period", format!("must be <= 10000, got {}", self.slow_period)));
        }
        match self.order_qty {
            None => errors.push(ParamError::new("order_qty", "is required (base-asset quantity, e.g. \"0.001\")")),
            Some(q) if q <= Decimal::ZERO => {
                errors.push(ParamError::new("order_qty", format!("must be > 0, got {q}")));
            }
            Some(_) => {}
        }
        if instance.symbols.is_empty() {
            errors.push(ParamError::new("symbols", "must name at least one symbol"));
        }
    }

    pub(crate) fn summary(&self) -> String {
        let source = match self.source {
            Source::Trades => "trades".to_owned(),
            Source::Klines => format!("klines {}", self.interval.as_str()),
        };
        let qty = self.order_qty.unwrap_or_default();
        format!("sma {}/{} over {source}, qty {qty}", self.fast_period, self.slow_period)
    }
}

/// A simple moving average over a fixed window, updated in O(1).
#[derive(Debug, Clone)]
struct Sma {
    window: VecDeque<Decimal>,
    period: usize,
    sum: Decimal,
}

impl Sma {
    fn new(period: usize) -> Self {
        Self { window: VecDeque::with_capacity(period + 1), period, sum: Decimal::ZERO }
    }

    fn push(&mut self, value: Decimal) {
        self.window.push_back(value);
        self.sum += value;
        if self.window.len() > self.period {
            let old = self.window.pop_front().expect("window holds period + 1 values here");
            self.sum -= old;
        }
    }

    fn value(&self) -> Option<Decimal> {
        (self.window.len() == self.period).then(|| self.sum / Decimal::from(self.period))
    }
}

#[derive(Debug, Clone)]
struct SymbolState {
    fast: Sma,
    slow: Sma,
    /// Whether fast was above slow at the previous sample.
    fast_above: Option<bool>,
    /// The order in flight, if any.
    pending: Option<ClientOrderId>,
    last_price: Option<Price>,
}

/// A running `sma_cross` instance.
#[derive(Debug)]
pub struct SmaCross {
    venue: VenueId,
    symbols: Vec<Symbol>,
    params: Params,
    state: HashMap<Symbol, SymbolState>,
}

impl SmaCross {
    pub fn new(instance: &Instance, params: Params) -> Self {
        let state = instance
            .symbols
            .iter()
            .map(|s| {
                let st = SymbolState {
                    fast: Sma::new(params.fast_period),
                    slow: Sma::new(params.slow_period),
                    fast_above: None,
                    pending: None,
                    last_price: None,
                };
                (*s, st)
            })
            .collect();
        Self { venue: instance.venue, symbols: instance.symbols.clone(), params, state }
    }

    fn on_sample(&mut self, ctx: &dyn Context, symbol: Symbol, price: Price, out: &mut Intents) {
        let venue = self.venue;
        let order_qty = self.params.order_qty.unwrap_or_default();
        let Some(st) = self.state.get_mut(&symbol) else {
            return;
        };
        st.last_price = Some(price);
        st.fast.push(price.get());
        st.slow.push(price.get());
        let (Some(fast), Some(slow)) = (st.fast.value(), st.slow.value()) else {
            return;
        };
        if fast == slow {
            return;
        }
        let above = fast > slow;
        let crossed = st.fast_above.is_some_and(|prev| prev != above);
        st.fast_above = Some(above);
        if !crossed || st.pending.is_some() || ctx.trading() == Trading::Halted {
            return;
        }
        let Some(spec) = ctx.instrument(venue, symbol) else {
            return;
        };
        let position = ctx.position(venue, symbol);
        let (side, qty) = if above && position.is_zero() {
            (Side::Buy, spec.round_qty(Qty::new(order_qty)))
        } else if !above && position.is_positive() {
            (Side::Sell, spec.round_qty(position))
        } else {
            return;
        };
        let Some(qty) = qty else { return };
        if spec.check_notional(price.notional(qty)).is_err() {
            return;
        }
        let order = NewOrder { venue, symbol, side, qty, kind: OrderKind::Market };
        st.pending = Some(out.place(order));
    }
}

impl Strategy for SmaCross {
    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription {
            venue: self.venue,
            symbols: self.symbols.clone(),
            trades: self.params.source == Source::Trades,
            quotes: false,
            book: false,
            klines: (self.params.source == Source::Klines).then_some(self.params.interval),
        }]
    }

    /// Waits for the orders an earlier run left open (one per symbol).
    fn on_start(&mut self, ctx: &dyn Context, out: &mut Intents) -> Result<(), StrategyError> {
        for open in ctx.open_orders() {
            match self.state.get_mut(&open.order.symbol) {
                Some(st) if st.pending.is_none() => st.pending = Some(open.id),
                // A second one (or one on a symbol no longer traded): not left resting unwatched.
                _ => out.cancel(open.id),
            }
        }
        Ok(())
    }

    fn on_event(&mut self, ctx: &dyn Context, event: &MarketEvent, out: &mut Intents) -> Result<(), StrategyError> {
        match (self.params.source, event) {
            (Source::Trades, MarketEvent::Trade(t)) if t.venue == self.venue => {
                self.on_sample(ctx, t.symbol, t.price, out);
            }
            (Source::Klines, MarketEvent::Kline(k))
                if k.venue == self.venue && k.closed && k.interval == self.params.interval =>
            {
                self.on_sample(ctx, k.symbol, k.close, out);
            }
            _ => {}
        }
        Ok(())
    }

    fn on_order_update(
        &mut self,
        _ctx: &dyn Context,
        update: &OrderUpdate,
        _out: &mut Intents,
    ) -> Result<(), StrategyError> {
        if update.is_terminal() {
            for st in self.state.values_mut() {
                if st.pending.as_ref() == Some(update.id()) {
                    st.pending = None;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::{Asset, InstrumentSpec, OrderIntent, Reason, TestContext, Timestamp, Trade};
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn venue() -> VenueId {
        VenueId::new("sim").unwrap()
    }

    fn btc() -> Symbol {
        Symbol::new("BTCUSDT").unwrap()
    }

    fn ctx() -> TestContext {
        TestContext::default().with_instrument(
            venue(),
            InstrumentSpec {
                symbol: btc(),
                base: Asset::new("BTC").unwrap(),
                quote: Asset::new("USDT").unwrap(),
                tick_size: d("0.01"),
                min_price: d("0.01"),
                max_price: d("0"),
                step_size: d("0.001"),
                min_qty: d("0.001"),
                max_qty: d("100"),
                min_notional: d("5"),
                max_notional: d("0"),
            },
        )
    }

    fn params() -> Params {
        Params {
            fast_period: 2,
            slow_period: 4,
            order_qty: Some(d("0.0505")),
            source: Source::Trades,
            interval: KlineInterval::M1,
        }
    }

    fn instance() -> Instance {
        Instance { name: "sma".into(), venue: venue(), symbols: vec![btc()] }
    }

    fn trade(i: u64, price: &str) -> MarketEvent {
        MarketEvent::Trade(Trade {
            venue: venue(),
            symbol: btc(),
            trade_id: crate::sdk::TradeId::from(i),
            price: Price::new(d(price)),
            qty: Qty::new(d("1")),
            aggressor: Side::Buy,
            time: Timestamp(i as i64),
        })
    }

    fn feed(s: &mut SmaCross, ctx: &TestContext, prices: &[&str], out: &mut Intents) {
        for (i, p) in prices.iter().enumerate() {
            s.on_event(ctx, &trade(i as u64, p), out).unwrap();
        }
    }

    #[test]
    fn buys_on_bullish_cross_with_rounded_qty() {
        let ctx = ctx();
        let mut s = SmaCross::new(&instance(), params());
        let mut out = Intents::new("sma", 1);
        // Falling prices: fast below slow, no position ⇒ nothing.
        feed(&mut s, &ctx, &["100", "99", "98", "97", "96"], &mut out);
        assert!(out.is_empty());
        // Sharp rise: fast crosses above slow ⇒ one market buy of 0.050 (rounded down).
        feed(&mut s, &ctx, &["110", "120"], &mut out);
        let intents: Vec<_> = out.drain().collect();
        assert_eq!(intents.len(), 1);
        let OrderIntent::Place { id, order } = intents[0] else { panic!("expected a place, got {intents:?}") };
        assert_eq!(id.owner(), Some(("sma", 1)));
        assert_eq!(order.side, Side::Buy);
        assert_eq!(order.qty, Qty::new(d("0.050")));
        assert_eq!(order.kind, OrderKind::Market);
    }

    #[test]
    fn sells_the_position_on_bearish_cross_and_waits_for_pending_orders() {
        let mut ctx = ctx();
        ctx.positions.insert((venue(), btc()), Qty::new(d("0.2")));
        let mut s = SmaCross::new(&instance(), params());
        let mut out = Intents::new("sma", 1);
        feed(&mut s, &ctx, &["100", "101", "102", "103", "104"], &mut out);
        assert!(out.is_empty(), "bullish while holding: no order");
        feed(&mut s, &ctx, &["90", "80"], &mut out);
        let intents: Vec<_> = out.drain().collect();
        assert_eq!(intents.len(), 1);
        let OrderIntent::Place { id, order } = intents[0] else { panic!("expected a place") };
        assert_eq!((order.side, order.qty), (Side::Sell, Qty::new(d("0.2"))));

        // While that order is pending, another cross emits nothing.
        feed(&mut s, &ctx, &["200", "300", "50", "40"], &mut out);
        assert!(out.is_empty());
        // Once it is done, the strategy may trade again.
        let update = OrderUpdate::Rejected { id, reason: Reason::new("-2010", "insufficient balance") };
        s.on_order_update(&ctx, &update, &mut out).unwrap();
        feed(&mut s, &ctx, &["300", "400", "500", "60"], &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn does_not_trade_without_instrument_rules_or_below_min_notional() {
        let mut s = SmaCross::new(&instance(), params());
        let mut out = Intents::new("sma", 1);
        feed(&mut s, &TestContext::default(), &["100", "99", "98", "97", "110", "120"], &mut out);
        assert!(out.is_empty(), "no instrument spec yet");
        let mut s = SmaCross::new(&instance(), params());
        // 0.050 × ~1.1 < 5 USDT minimum notional.
        feed(&mut s, &ctx(), &["1", "0.99", "0.98", "0.97", "1.1", "1.2"], &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn validation_names_each_key() {
        let bad = Params { fast_period: 5, slow_period: 3, order_qty: Some(d("-1")), ..params() };
        let inst = Instance { symbols: vec![], ..instance() };
        let errors: Vec<String> = {
            let mut e = Vec::new();
            bad.validate(&inst, &mut e);
            e.iter().map(ToString::to_string).collect()
        };
        assert_eq!(
            errors,
            [
                "slow_period: must be > fast_period (5), got 3",
                "order_qty: must be > 0, got -1",
                "symbols: must name at least one symbol",
            ]
        );
    }

    #[test]
    fn klines_source_uses_closed_candles_only() {
        use crate::sdk::Kline;
        let ctx = ctx();
        let p = Params { source: Source::Klines, ..params() };
        let mut s = SmaCross::new(&instance(), p);
        assert_eq!(s.subscriptions()[0].klines, Some(KlineInterval::M1));
        let mut out = Intents::new("sma", 1);
        let kline = |close: &str, closed: bool| {
            MarketEvent::Kline(Box::new(Kline {
                venue: venue(),
                symbol: btc(),
                interval: KlineInterval::M1,
                open_time: Timestamp(0),
                close_time: Timestamp(59_999),
                open: Price::new(d(close)),
                high: Price::new(d(close)),
                low: Price::new(d(close)),
                close: Price::new(d(close)),
                volume: Qty::new(d("1")),
                closed,
            }))
        };
        for c in ["100", "99", "98", "97", "96"] {
            s.on_event(&ctx, &kline(c, true), &mut out).unwrap();
        }
        // Open candles are ignored, however high.
        s.on_event(&ctx, &kline("1000", false), &mut out).unwrap();
        s.on_event(&ctx, &kline("2000", false), &mut out).unwrap();
        assert!(out.is_empty());
        s.on_event(&ctx, &kline("110", true), &mut out).unwrap();
        s.on_event(&ctx, &kline("120", true), &mut out).unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_restart_waits_for_the_order_an_earlier_run_left_open() {
        // regression: strategies_not_restart_safe
        let inst = Instance { name: "sma".into(), venue: venue(), symbols: vec![btc()] };
        let params = Params {
            fast_period: 1,
            slow_period: 2,
            order_qty: Some(d("0.1")),
            source: Source::Trades,
            interval: KlineInterval::M1,
        };
        let mut s = SmaCross::new(&inst, params);
        let spec = crate::sdk::testing::spec("BTC", "USDT", "0.001");
        let mut c = TestContext::default().with_instrument(venue(), spec);
        let open = crate::sdk::OpenOrder {
            id: ClientOrderId::for_instance("sma", 3).unwrap(),
            order: NewOrder {
                venue: venue(),
                symbol: btc(),
                side: Side::Buy,
                qty: Qty::new(d("0.001")),
                kind: OrderKind::Market,
            },
            filled: Qty::ZERO,
        };
        c.open_orders = vec![open];
        let mut out = Intents::new("sma", 4);
        s.on_start(&c, &mut out).unwrap();
        let trade = |p: &str| {
            MarketEvent::Trade(Trade {
                venue: venue(),
                symbol: btc(),
                trade_id: crate::sdk::TradeId::from(1),
                price: Price::new(d(p)),
                qty: Qty::new(d("1")),
                aggressor: Side::Buy,
                time: Timestamp(1),
            })
        };
        // Down, then a bullish cross: no second buy while the first is out.
        for p in ["100", "99", "98", "120"] {
            s.on_event(&c, &trade(p), &mut out).unwrap();
        }
        assert!(out.is_empty(), "{:?}", out.as_slice());
        s.on_order_update(&c, &OrderUpdate::Canceled { id: open.id }, &mut out).unwrap();
        for p in ["90", "130"] {
            s.on_event(&c, &trade(p), &mut out).unwrap();
        }
        assert_eq!(out.len(), 1, "it buys again once the earlier order is done");
    }
}
