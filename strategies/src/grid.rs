//! `grid`: resting limit orders on N price levels between `lower` and `upper`.
//!
//! Once the symbol's rules and a price are known, every level below the price
//! gets a buy and every level above it a sell (sells only as far as the base
//! asset held allows), each of `order_qty`. The level nearest the price stays
//! empty. When an order fills completely, the opposite order goes one level
//! over: a filled buy at level i becomes a sell at level i+1, a filled sell a
//! buy at level i−1 — each round trip earns one level's spacing. Levels are
//! spaced arithmetically (equal steps) or geometrically (equal ratios).
//!
//! Each level remembers which order should rest on it. An order cancelled
//! by someone else (the operator, a halt or a pause), or refused, is put
//! back once trading is allowed, after a wait that grows with each refusal.
//! After a restart the grid takes back its open orders (the engine restores
//! them from the journal) by price instead of placing them again, and
//! cancels any of its orders that sit on no level (its levels changed).

use std::collections::BTreeMap;

use rust_decimal::{Decimal, MathematicalOps};
use serde::Deserialize;

use crate::sdk::{
    ClientOrderId, Context, Cooldown, InstrumentSpec, Intents, MarketEvent, NewOrder, OrderKind, OrderUpdate, Price,
    Qty, Side, Strategy, StrategyError, Subscription, Symbol, TimeInForce, Trading, VenueId,
};
use crate::{Instance, ParamError};

/// How levels are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spacing {
    /// Equal price steps.
    Arithmetic,
    /// Equal price ratios (equal percentage steps).
    Geometric,
}

/// Parameters of `grid` (the keys of its TOML file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Lowest level's price (> 0).
    pub lower: Decimal,
    /// Highest level's price (> lower).
    pub upper: Decimal,
    /// Number of levels, both ends included (2..=200).
    pub levels: usize,
    /// Base-asset quantity of every order (> 0).
    pub order_qty: Decimal,
    /// `arithmetic` (default) or `geometric`.
    #[serde(default = "default_spacing")]
    pub spacing: Spacing,
}

fn default_spacing() -> Spacing {
    Spacing::Arithmetic
}

/// Most levels a grid may have.
const MAX_LEVELS: usize = 200;

impl Params {
    pub(crate) fn validate(&self, instance: &Instance, errors: &mut Vec<ParamError>) {
        if self.lower <= Decimal::ZERO {
            errors.push(ParamError::new("lower", format!("must be > 0, got {}", self.lower)));
        }
        if self.upper <= self.lower {
            errors.push(ParamError::new("upper", format!("must be > lower ({}), got {}", self.lower, self.upper)));
        }
        if !(2..=MAX_LEVELS).contains(&self.levels) {
            errors.push(ParamError::new("levels", format!("must be 2..={MAX_LEVELS}, got {}", self.levels)));
        }
        if self.order_qty <= Decimal::ZERO {
            errors.push(ParamError::new("order_qty", format!("must be > 0, got {}", self.order_qty)));
        }
        if instance.symbols.len() != 1 {
            errors.push(ParamError::new(
                "symbols",
                format!("a grid trades exactly one symbol, got {}", instance.symbols.len()),
            ));
        }
    }

    pub(crate) fn summary(&self) -> String {
        let spacing = match self.spacing {
            Spacing::Arithmetic => "arithmetic",
            Spacing::Geometric => "geometric",
        };
        format!("{} {spacing} levels {}..{}, qty {}", self.levels, self.lower, self.upper, self.order_qty)
    }

    /// The level prices, lowest first, before tick rounding.
    fn prices(&self) -> Vec<Decimal> {
        let steps = Decimal::from(self.levels - 1);
        match self.spacing {
            Spacing::Arithmetic => {
                let step = (self.upper - self.lower) / steps;
                (0..self.levels).map(|i| self.lower + step * Decimal::from(i)).collect()
            }
            Spacing::Geometric => {
                let ratio = (self.upper / self.lower).powd(Decimal::ONE / steps);
                let mut price = self.lower;
                let mut prices = Vec::with_capacity(self.levels);
                for _ in 0..self.levels {
                    prices.push(price);
                    price *= ratio;
                }
                // The last level is `upper` exactly, whatever the ratio's rounding.
                if let Some(last) = prices.last_mut() {
                    *last = self.upper;
                }
                prices
            }
        }
    }
}

/// One level: its price per side (rounded passively), the order that should
/// rest on it, and the one that does.
#[derive(Debug, Clone)]
struct Level {
    buy: Price,
    sell: Price,
    want: Option<Side>,
    order: Option<(ClientOrderId, Side)>,
}

/// A running `grid` instance.
#[derive(Debug)]
pub struct Grid {
    venue: VenueId,
    symbol: Symbol,
    params: Params,
    qty: Option<Qty>,
    /// Empty until the rules are known.
    levels: Vec<Level>,
    /// Whether the orders to rest have been chosen (at the first price).
    built: bool,
    /// Which level each live order sits on.
    by_order: BTreeMap<ClientOrderId, usize>,
    /// The wait after a refused order.
    cooldown: Cooldown,
}

impl Grid {
    pub fn new(instance: &Instance, params: Params) -> Self {
        Self {
            venue: instance.venue,
            symbol: instance.symbols[0],
            params,
            qty: None,
            levels: Vec::new(),
            built: false,
            by_order: BTreeMap::new(),
            cooldown: Cooldown::default(),
        }
    }

    /// Lays out the levels once the symbol's rules are known, and takes back
    /// the open orders that sit on one (the others are cancelled).
    fn layout(&mut self, ctx: &dyn Context, out: &mut Intents) -> bool {
        if !self.levels.is_empty() {
            return true;
        }
        let Some(spec) = ctx.instrument(self.venue, self.symbol).cloned() else { return false };
        let Some(qty) = spec.round_qty(Qty::new(self.params.order_qty)) else { return false };
        self.levels = self.level_prices(&spec, qty);
        self.qty = Some(qty);
        for open in ctx.open_orders().iter().filter(|o| o.order.symbol == self.symbol) {
            let side = open.order.side;
            let at = open.order.kind.price();
            let level = self
                .levels
                .iter()
                .position(|l| l.order.is_none() && Some(if side == Side::Buy { l.buy } else { l.sell }) == at);
            match level {
                Some(i) => {
                    self.levels[i].order = Some((open.id, side));
                    self.levels[i].want = Some(side);
                    self.by_order.insert(open.id, i);
                }
                // Not on this grid (its levels changed since): not left resting unwatched.
                None => out.cancel(open.id),
            }
        }
        !self.levels.is_empty()
    }

    fn level_prices(&self, spec: &InstrumentSpec, qty: Qty) -> Vec<Level> {
        let mut levels = Vec::with_capacity(self.params.levels);
        for p in self.params.prices() {
            let (Some(buy), Some(sell)) =
                (spec.round_price(Side::Buy, Price::new(p)), spec.round_price(Side::Sell, Price::new(p)))
            else {
                continue;
            };
            if spec.check_notional(buy.notional(qty)).is_err() {
                continue;
            }
            levels.push(Level { buy, sell, want: None, order: None });
        }
        levels
    }

    /// Chooses what rests where around `price`: buys below, sells above (as far
    /// as the base held allows), the level nearest the price empty; levels
    /// holding an order keep it.
    fn build(&mut self, ctx: &dyn Context, price: Decimal) {
        let Some(qty) = self.qty else { return };
        let gap = self.levels.iter().enumerate().min_by_key(|(_, l)| (l.buy.get() - price).abs()).map(|(i, _)| i);
        let mut base_left = ctx.position(self.venue, self.symbol).get().max(Decimal::ZERO);
        let held = self.levels.iter().filter(|l| matches!(l.order, Some((_, Side::Sell)))).count();
        base_left -= qty.get() * Decimal::from(held);
        for (i, level) in self.levels.iter_mut().enumerate() {
            if Some(i) == gap || level.order.is_some() {
                continue;
            }
            let side = if level.buy.get() < price { Side::Buy } else { Side::Sell };
            if side == Side::Sell {
                if base_left < qty.get() {
                    continue;
                }
                base_left -= qty.get();
            }
            level.want = Some(side);
        }
        self.built = true;
    }

    /// Places every order that should rest and does not, while trading is
    /// allowed (sells only for base held that no other sell has taken).
    fn fill_in(&mut self, ctx: &dyn Context, out: &mut Intents) {
        let Some(qty) = self.qty else { return };
        if !self.built || ctx.trading() == Trading::Halted || !self.cooldown.ready(ctx.now()) {
            return;
        }
        let selling: Decimal = ctx
            .open_orders()
            .iter()
            .filter(|o| o.order.symbol == self.symbol && o.order.side == Side::Sell)
            .map(|o| o.order.qty.get() - o.filled.get())
            .sum();
        let mut base_left = ctx.position(self.venue, self.symbol).get().max(Decimal::ZERO) - selling;
        for i in 0..self.levels.len() {
            let level = &self.levels[i];
            let (Some(side), None) = (level.want, level.order) else { continue };
            if side == Side::Sell {
                if base_left < qty.get() {
                    continue;
                }
                base_left -= qty.get();
            }
            self.place(i, side, out);
        }
    }

    fn place(&mut self, level: usize, side: Side, out: &mut Intents) {
        let Some(qty) = self.qty else { return };
        let l = &self.levels[level];
        let price = if side == Side::Buy { l.buy } else { l.sell };
        let kind = OrderKind::Limit { price, tif: TimeInForce::Gtc };
        let id = out.place(NewOrder { venue: self.venue, symbol: self.symbol, side, qty, kind });
        self.levels[level].order = Some((id, side));
        self.levels[level].want = Some(side);
        self.by_order.insert(id, level);
    }
}

impl Strategy for Grid {
    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription {
            venue: self.venue,
            symbols: vec![self.symbol],
            trades: true,
            quotes: true,
            book: false,
            klines: None,
        }]
    }

    fn on_start(&mut self, ctx: &dyn Context, out: &mut Intents) -> Result<(), StrategyError> {
        // Takes back what an earlier run left open before anything about it is heard.
        self.layout(ctx, out);
        Ok(())
    }

    fn on_event(&mut self, ctx: &dyn Context, event: &MarketEvent, out: &mut Intents) -> Result<(), StrategyError> {
        if self.built || event.venue() != self.venue || event.symbol() != Some(self.symbol) {
            return Ok(());
        }
        let price = match event {
            MarketEvent::Quote(q) => q.mid().get(),
            MarketEvent::Trade(t) => t.price.get(),
            _ => return Ok(()),
        };
        if self.layout(ctx, out) {
            self.build(ctx, price);
            self.fill_in(ctx, out);
        }
        Ok(())
    }

    fn on_timer(&mut self, ctx: &dyn Context, out: &mut Intents) -> Result<(), StrategyError> {
        self.fill_in(ctx, out);
        Ok(())
    }

    fn on_order_update(
        &mut self,
        ctx: &dyn Context,
        update: &OrderUpdate,
        out: &mut Intents,
    ) -> Result<(), StrategyError> {
        match update {
            OrderUpdate::Accepted { .. } => self.cooldown.succeeded(),
            OrderUpdate::Denied { .. } | OrderUpdate::Rejected { .. } => self.cooldown.refused(ctx.now()),
            _ => {}
        }
        if !update.is_terminal() {
            return Ok(());
        }
        let Some(level) = self.by_order.remove(update.id()) else { return Ok(()) };
        let side = self.levels[level].order.take().map(|(_, side)| side);
        // Anything but a fill leaves the level wanting its order back (put back by `fill_in`).
        if let (OrderUpdate::Filled { .. }, Some(side)) = (update, side) {
            self.levels[level].want = None;
            // The opposite order, one level over, unless that level is taken or off the grid.
            let next = match side {
                Side::Buy => level.checked_add(1).filter(|&n| n < self.levels.len()),
                Side::Sell => level.checked_sub(1),
            };
            if let Some(n) = next.filter(|&n| self.levels[n].order.is_none()) {
                self.levels[n].want = Some(side.opposite());
                if ctx.trading() != Trading::Halted {
                    self.place(n, side.opposite(), out);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
