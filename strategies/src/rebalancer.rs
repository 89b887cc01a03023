//! `rebalancer`: holds the account at target weights across assets.
//!
//! Every `interval_secs` it values each target asset's balance (free +
//! locked) in the quote asset at the mid of `<ASSET><QUOTE>`. When any
//! asset's weight is more than `drift_pct` percentage points off its
//! target, it trades every asset back to its target with market orders —
//! sells first, so the buys find the quote they need — skipping trades worth
//! less than `min_trade_notional`. It waits for its orders to finish before
//! looking again — after a restart too: the orders an earlier run left open
//! are waited for before the balances are looked at. It manages the whole
//! account's balances of its assets. Nothing is traded while halted.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::sdk::{
    Asset, ClientOrderId, Context, Intents, MarketEvent, NewOrder, OrderKind, OrderUpdate, Qty, Side, Strategy,
    StrategyError, Subscription, Symbol, Timestamp, Trading, VenueId,
};
use crate::{Instance, ParamError};

/// Parameters of `rebalancer` (the keys of its TOML file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The asset everything is valued in (e.g. `USDT`).
    pub quote: String,
    /// Target weight per asset (the quote asset included); they sum to 1.
    pub targets: BTreeMap<String, Decimal>,
    /// Rebalance when a weight is this many percentage points off (> 0).
    pub drift_pct: Decimal,
    /// Trades worth less than this (quote asset) are skipped (> 0).
    pub min_trade_notional: Decimal,
    /// Seconds between checks (default 60).
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
}

fn default_interval() -> u64 {
    60
}

impl Params {
    pub(crate) fn validate(&self, instance: &Instance, errors: &mut Vec<ParamError>) {
        if Asset::new(&self.quote).is_err() {
            errors.push(ParamError::new("quote", format!("is not an asset name, got {:?}", self.quote)));
        }
        if self.targets.is_empty() {
            errors.push(ParamError::new("targets", "must name at least one asset"));
        }
        let sum: Decimal = self.targets.values().sum();
        if sum != Decimal::ONE {
            errors.push(ParamError::new("targets", format!("weights must sum to 1, got {sum}")));
        }
        for (asset, weight) in &self.targets {
            if *weight < Decimal::ZERO {
                errors.push(ParamError::new(format!("targets.{asset}"), format!("must be >= 0, got {weight}")));
            }
            if *asset != self.quote && !instance.symbols.iter().any(|s| s.as_str() == format!("{asset}{}", self.quote))
            {
                errors.push(ParamError::new(
                    format!("targets.{asset}"),
                    format!("needs the symbol {asset}{} in symbols", self.quote),
                ));
            }
        }
        if self.drift_pct <= Decimal::ZERO {
            errors.push(ParamError::new("drift_pct", format!("must be > 0, got {}", self.drift_pct)));
        }
        if self.min_trade_notional <= Decimal::ZERO {
            errors.push(ParamError::new("min_trade_notional", format!("must be > 0, got {}", self.min_trade_notional)));
        }
        if self.interval_secs == 0 {
            errors.push(ParamError::new("interval_secs", "must be >= 1, got 0"));
        }
    }

    pub(crate) fn summary(&self) -> String {
        let targets: Vec<String> = self.targets.iter().map(|(a, w)| format!("{a} {w}")).collect();
        format!(
            "targets {} in {}, drift {}%, every {} s",
            targets.join(" / "),
            self.quote,
            self.drift_pct,
            self.interval_secs
        )
    }
}

/// One target asset as held now.
#[derive(Debug, Clone, Copy)]
struct Holding {
    /// `<ASSET><QUOTE>` (none for the quote asset itself).
    symbol: Option<Symbol>,
    /// In the quote asset.
    value: Decimal,
    price: Decimal,
    target: Decimal,
}

/// A running `rebalancer` instance.
#[derive(Debug)]
pub struct Rebalancer {
    venue: VenueId,
    symbols: Vec<Symbol>,
    params: Params,
    /// Orders of the current rebalance still open.
    pending: Vec<ClientOrderId>,
    last_check: Option<Timestamp>,
}

impl Rebalancer {
    pub fn new(instance: &Instance, params: Params) -> Self {
        Self { venue: instance.venue, symbols: instance.symbols.clone(), params, pending: Vec::new(), last_check: None }
    }

    /// The account's total value and each target asset's holding; `None` while a price is missing.
    fn holdings(&self, ctx: &dyn Context) -> Option<(Decimal, Vec<Holding>)> {
        let quote = Asset::new(&self.params.quote).ok()?;
        let mut rows = Vec::new();
        for (name, target) in &self.params.targets {
            let asset = Asset::new(name).ok()?;
            let held = ctx.balance(self.venue, asset).total();
            if asset == quote {
                rows.push(Holding { symbol: None, value: held, price: Decimal::ONE, target: *target });
                continue;
            }
            let symbol = *self.symbols.iter().find(|s| s.as_str() == format!("{name}{}", self.params.quote))?;
            let price = ctx.book_top(self.venue, symbol)?.mid().get();
            rows.push(Holding { symbol: Some(symbol), value: held * price, price, target: *target });
        }
        let total: Decimal = rows.iter().map(|r| r.value).sum();
        (total > Decimal::ZERO).then_some((total, rows))
    }

    fn check(&mut self, ctx: &dyn Context, out: &mut Intents) {
        let Some((total, rows)) = self.holdings(ctx) else { return };
        let hundred = Decimal::ONE_HUNDRED;
        let drifted = rows.iter().any(|h| ((h.value / total - h.target) * hundred).abs() > self.params.drift_pct);
        if !drifted {
            return;
        }
        let mut trades: Vec<NewOrder> = Vec::new();
        for Holding { symbol, value, price, target } in rows {
            let Some(symbol) = symbol else { continue };
            let Some(spec) = ctx.instrument(self.venue, symbol) else { continue };
            let diff = target * total - value;
            if diff.abs() < self.params.min_trade_notional {
                continue;
            }
            let side = if diff > Decimal::ZERO { Side::Buy } else { Side::Sell };
            let Some(qty) = spec.round_qty(Qty::new(diff.abs() / price)) else { continue };
            if spec.check_notional(qty.get() * price).is_err() {
                continue;
            }
            trades.push(NewOrder { venue: self.venue, symbol, side, qty, kind: OrderKind::Market });
        }
        trades.sort_by_key(|o| o.side == Side::Buy);
        self.pending = trades.into_iter().map(|o| out.place(o)).collect();
    }
}

impl Strategy for Rebalancer {
    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription::quotes(self.venue, self.symbols.clone())]
    }

    fn on_event(&mut self, _ctx: &dyn Context, _event: &MarketEvent, _out: &mut Intents) -> Result<(), StrategyError> {
        Ok(())
    }

    /// The orders an earlier run left open belong to a rebalance still under way.
    fn on_start(&mut self, ctx: &dyn Context, _out: &mut Intents) -> Result<(), StrategyError> {
        self.pending = ctx.open_orders().iter().map(|o| o.id).collect();
        Ok(())
    }

    fn on_timer(&mut self, ctx: &dyn Context, out: &mut Intents) -> Result<(), StrategyError> {
        let due = self.last_check.is_none_or(|t| ctx.now().0 - t.0 >= (self.params.interval_secs as i64) * 1000);
        if !due || !self.pending.is_empty() || ctx.trading() == Trading::Halted {
            return Ok(());
        }
        if self.holdings(ctx).is_some() {
            self.last_check = Some(ctx.now());
        }
        self.check(ctx, out);
        Ok(())
    }

    fn on_order_update(
        &mut self,
        _ctx: &dyn Context,
        update: &OrderUpdate,
        _out: &mut Intents,
    ) -> Result<(), StrategyError> {
        if update.is_terminal() {
            self.pending.retain(|id| id != update.id());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
