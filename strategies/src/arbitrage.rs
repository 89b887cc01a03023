//! `arbitrage`: one instrument on two venues (named the same on both, or
//! `other_symbol` on the second: OKX's `BTC-USDT` is Binance's `BTCUSDT`). When the best bid on one exceeds
//! the best ask on the other by more than both legs' fees plus a margin, it
//! buys where it is cheap and sells where it is dear at once, with IOC
//! orders at those prices, for no more than both sides show. One pair at a
//! time. A leg that fills more than the other leaves a position; once both
//! legs are done the difference is unwound with a market order on the venue
//! of the leg that filled more.
//!
//! After a restart the legs an earlier run left open are waited for; then
//! whatever the two venues' positions do not net out is unwound the same
//! way, so a pair cut in half by a crash is never left standing.

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::sdk::{
    ClientOrderId, Context, Intents, MarketEvent, NewOrder, OrderKind, OrderUpdate, Qty, Quote, Side, Strategy,
    StrategyError, Subscription, Symbol, TimeInForce, Timestamp, Trading, VenueId,
};
use crate::{Instance, ParamError};

/// Parameters of `arbitrage` (the keys of its TOML file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The second venue (the strategy's `venue` is the first).
    pub other_venue: String,
    /// The instrument's name on the second venue; default: the same as on the first.
    #[serde(default)]
    pub other_symbol: Option<String>,
    /// Largest base-asset quantity of one pair (> 0).
    pub order_qty: Decimal,
    /// Taker fee of one leg, in basis points (≥ 0).
    pub fee_bps: Decimal,
    /// Edge required beyond both legs' fees, in basis points (≥ 0).
    pub min_edge_bps: Decimal,
    /// After a pair, wait this long (ms) before the next: the books refill
    /// and the venues' order budgets are not spent on one gap. Default 1000.
    #[serde(default = "default_pause_ms")]
    pub pause_ms: u64,
}

fn default_pause_ms() -> u64 {
    1000
}

impl Params {
    pub(crate) fn validate(&self, instance: &Instance, errors: &mut Vec<ParamError>) {
        match VenueId::new(&self.other_venue) {
            Ok(v) if v == instance.venue => {
                errors.push(ParamError::new("other_venue", format!("must differ from venue ({})", instance.venue)));
            }
            Ok(_) => {}
            Err(e) => errors.push(ParamError::new("other_venue", e.to_string())),
        }
        if let Some(Err(e)) = self.other_symbol.as_deref().map(Symbol::new) {
            errors.push(ParamError::new("other_symbol", e.to_string()));
        }
        if self.order_qty <= Decimal::ZERO {
            errors.push(ParamError::new("order_qty", format!("must be > 0, got {}", self.order_qty)));
        }
        for (key, v) in [("fee_bps", self.fee_bps), ("min_edge_bps", self.min_edge_bps)] {
            if v < Decimal::ZERO {
                errors.push(ParamError::new(key, format!("must be >= 0, got {v}")));
            }
        }
        if instance.symbols.len() != 1 {
            errors.push(ParamError::new(
                "symbols",
                format!("arbitrage trades exactly one symbol, got {}", instance.symbols.len()),
            ));
        }
    }

    pub(crate) fn summary(&self) -> String {
        format!(
            "against {}: up to {} per pair when the edge beats 2 × {} bps fees + {} bps, {} ms apart",
            self.other_venue, self.order_qty, self.fee_bps, self.min_edge_bps, self.pause_ms
        )
    }

    /// The venues besides the instance's own that this strategy trades.
    pub fn other_venues(&self) -> Vec<&str> {
        vec![self.other_venue.as_str()]
    }
}

/// One leg of a pair.
#[derive(Debug, Clone, Copy)]
struct Leg {
    id: ClientOrderId,
    venue: VenueId,
    filled: Decimal,
    done: bool,
}

/// A running `arbitrage` instance.
#[derive(Debug)]
pub struct Arbitrage {
    venues: [VenueId; 2],
    /// The instrument's name on each venue.
    symbols: [Symbol; 2],
    params: Params,
    quotes: [Option<Quote>; 2],
    /// The pair in flight: (buy leg, sell leg).
    pair: Option<(Leg, Leg)>,
    /// The unwind order in flight.
    unwinding: Option<ClientOrderId>,
    /// Orders of an earlier run still open: waited for before anything else.
    settling: Vec<ClientOrderId>,
    /// No new pair before this time (`pause_ms` after the last).
    resume_at: Timestamp,
}

const BPS: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

impl Arbitrage {
    pub fn new(instance: &Instance, params: Params) -> Self {
        let other = VenueId::new(&params.other_venue).unwrap_or(instance.venue);
        let symbol = instance.symbols[0];
        let other_symbol = params.other_symbol.as_deref().and_then(|s| Symbol::new(s).ok()).unwrap_or(symbol);
        Self {
            venues: [instance.venue, other],
            symbols: [symbol, other_symbol],
            params,
            quotes: [None, None],
            pair: None,
            unwinding: None,
            settling: Vec::new(),
            resume_at: Timestamp(i64::MIN),
        }
    }

    /// The instrument's name on `venue`.
    fn symbol_on(&self, venue: VenueId) -> Symbol {
        if venue == self.venues[1] { self.symbols[1] } else { self.symbols[0] }
    }

    /// Unwinds what the two venues' positions do not net out (after a restart).
    fn flatten(&mut self, ctx: &dyn Context, out: &mut Intents) {
        let positions = [0, 1].map(|i| ctx.position(self.venues[i], self.symbols[i]).get());
        let net = positions[0] + positions[1];
        if net.is_zero() || ctx.trading() == Trading::Halted {
            return;
        }
        // On the venue whose position has the net's sign (the larger one, if both do).
        let toward = |p: Decimal| if net > Decimal::ZERO { p } else { -p };
        let i = if toward(positions[0]) >= toward(positions[1]) { 0 } else { 1 };
        let (venue, symbol) = (self.venues[i], self.symbols[i]);
        let Some(spec) = ctx.instrument(venue, symbol) else { return };
        let Some(qty) = spec.round_qty(Qty::new(net.abs())) else { return };
        let side = if net > Decimal::ZERO { Side::Sell } else { Side::Buy };
        let order = NewOrder { venue, symbol, side, qty, kind: OrderKind::Market };
        self.unwinding = Some(out.place(order));
    }

    /// A pair when one venue's bid beats the other's ask by enough.
    fn look(&mut self, ctx: &dyn Context, out: &mut Intents) {
        if self.pair.is_some() || self.unwinding.is_some() || !self.settling.is_empty() {
            return;
        }
        if ctx.trading() != Trading::Active || ctx.now() < self.resume_at {
            return;
        }
        let (Some(a), Some(b)) = (self.quotes[0], self.quotes[1]) else { return };
        let needed = self.params.fee_bps * Decimal::TWO + self.params.min_edge_bps;
        for (buy, sell) in [(b, a), (a, b)] {
            let (ask, bid) = (buy.ask_price.get(), sell.bid_price.get());
            if ask <= Decimal::ZERO || (bid - ask) * BPS <= ask * needed {
                continue;
            }
            let (Some(buy_spec), Some(sell_spec)) =
                (ctx.instrument(buy.venue, buy.symbol), ctx.instrument(sell.venue, sell.symbol))
            else {
                return;
            };
            let most = self.params.order_qty.min(buy.ask_qty.get()).min(sell.bid_qty.get());
            let Some(qty) = buy_spec.round_qty(Qty::new(most)).and_then(|q| sell_spec.round_qty(q)) else { return };
            if buy_spec.validate(buy.ask_price, qty).is_err() || sell_spec.validate(sell.bid_price, qty).is_err() {
                return;
            }
            let leg = |venue, side, price| NewOrder {
                venue,
                symbol: self.symbol_on(venue),
                side,
                qty,
                kind: OrderKind::Limit { price, tif: TimeInForce::Ioc },
            };
            let buy_id = out.place(leg(buy.venue, Side::Buy, buy.ask_price));
            let sell_id = out.place(leg(sell.venue, Side::Sell, sell.bid_price));
            let new = |id, venue| Leg { id, venue, filled: Decimal::ZERO, done: false };
            self.pair = Some((new(buy_id, buy.venue), new(sell_id, sell.venue)));
            let pause = i64::try_from(self.params.pause_ms).unwrap_or(i64::MAX);
            self.resume_at = Timestamp(ctx.now().0.saturating_add(pause));
            return;
        }
    }

    /// Both legs done: unwind whatever one filled beyond the other.
    fn settle(&mut self, out: &mut Intents) {
        let Some((buy, sell)) = self.pair else { return };
        if !(buy.done && sell.done) {
            return;
        }
        self.pair = None;
        let excess = buy.filled - sell.filled;
        let (venue, side) = if excess > Decimal::ZERO { (buy.venue, Side::Sell) } else { (sell.venue, Side::Buy) };
        if excess.is_zero() {
            return;
        }
        let symbol = self.symbol_on(venue);
        let order = NewOrder { venue, symbol, side, qty: Qty::new(excess.abs()), kind: OrderKind::Market };
        self.unwinding = Some(out.place(order));
    }
}

impl Strategy for Arbitrage {
    fn subscriptions(&self) -> Vec<Subscription> {
        (0..2).map(|i| Subscription::quotes(self.venues[i], vec![self.symbols[i]])).collect()
    }

    /// Waits for the legs an earlier run left open; with none, unwinds what is left unpaired.
    fn on_start(&mut self, ctx: &dyn Context, out: &mut Intents) -> Result<(), StrategyError> {
        self.settling = ctx.open_orders().iter().map(|o| o.id).collect();
        if self.settling.is_empty() {
            self.flatten(ctx, out);
        }
        Ok(())
    }

    fn on_event(&mut self, ctx: &dyn Context, event: &MarketEvent, out: &mut Intents) -> Result<(), StrategyError> {
        match event {
            MarketEvent::Quote(q) => {
                if let Some(i) = (0..2).find(|&i| self.venues[i] == q.venue && self.symbols[i] == q.symbol) {
                    self.quotes[i] = Some(*q);
                    self.look(ctx, out);
                }
            }
            MarketEvent::Connectivity(c) if !c.up => {
                if let Some(i) = self.venues.iter().position(|v| *v == c.venue) {
                    self.quotes[i] = None;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn on_order_update(
        &mut self,
        ctx: &dyn Context,
        update: &OrderUpdate,
        out: &mut Intents,
    ) -> Result<(), StrategyError> {
        if update.is_terminal() && self.settling.contains(update.id()) {
            self.settling.retain(|id| id != update.id());
            if self.settling.is_empty() {
                self.flatten(ctx, out);
            }
            return Ok(());
        }
        if self.unwinding.as_ref() == Some(update.id()) {
            if update.is_terminal() {
                self.unwinding = None;
            }
            return Ok(());
        }
        let Some((buy, sell)) = &mut self.pair else { return Ok(()) };
        let Some(leg) = [buy, sell].into_iter().find(|l| l.id == *update.id()) else { return Ok(()) };
        if let Some(fill) = update.fill() {
            leg.filled += fill.qty.get();
        }
        leg.done |= update.is_terminal();
        self.settle(out);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
