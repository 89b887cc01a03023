//! `market_maker`: a bid and an ask around a fair price, skewed by inventory.
//!
//! Fair price is the mid, or the microprice (the mid weighted by the size on
//! each side, which leans toward the thinner side). Quotes sit `spread_bps`
//! apart around it; holding inventory shifts both down (long) or up (short)
//! by `skew_bps` at `max_inventory`, so fills bring the position back. The
//! bid stops at `max_inventory` long, the ask at `max_inventory` short (and
//! when the account holds no base asset to sell). When the fair price moves
//! more than `requote_bps` from where the quotes were set, both are replaced
//! with cancel-replace. Quotes are pulled when the venue's connection drops
//! or the book has been silent for `stale_after_ms`.

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::sdk::{
    ClientOrderId, Context, InstrumentSpec, Intents, MarketEvent, NewOrder, OrderKind, OrderUpdate, Price, Qty, Quote,
    Side, Strategy, StrategyError, Subscription, Symbol, TimeInForce, Timestamp, VenueId,
};
use crate::{Instance, ParamError};

/// Parameters of `market_maker` (the keys of its TOML file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Distance between bid and ask, in basis points of the fair price (> 0).
    pub spread_bps: Decimal,
    /// Base-asset quantity of each quote (> 0).
    pub order_qty: Decimal,
    /// Largest position (base asset, either side) the quotes may build (> 0).
    pub max_inventory: Decimal,
    /// Shift of both quotes at `max_inventory`, in basis points (≥ 0; default 0).
    #[serde(default)]
    pub skew_bps: Decimal,
    /// Fair-price move that triggers a requote, in basis points (> 0).
    pub requote_bps: Decimal,
    /// Fair price from the size-weighted mid instead of the plain mid (default false).
    #[serde(default)]
    pub microprice: bool,
    /// Pull the quotes when no book update came for this long (ms; default 5000).
    #[serde(default = "default_stale")]
    pub stale_after_ms: i64,
}

fn default_stale() -> i64 {
    5_000
}

impl Params {
    pub(crate) fn validate(&self, instance: &Instance, errors: &mut Vec<ParamError>) {
        for (key, v) in [
            ("spread_bps", self.spread_bps),
            ("order_qty", self.order_qty),
            ("max_inventory", self.max_inventory),
            ("requote_bps", self.requote_bps),
        ] {
            if v <= Decimal::ZERO {
                errors.push(ParamError::new(key, format!("must be > 0, got {v}")));
            }
        }
        if self.spread_bps >= Decimal::from(10_000) {
            errors.push(ParamError::new("spread_bps", format!("must be < 10000, got {}", self.spread_bps)));
        }
        if self.skew_bps < Decimal::ZERO {
            errors.push(ParamError::new("skew_bps", format!("must be >= 0, got {}", self.skew_bps)));
        }
        if self.stale_after_ms < 100 {
            errors.push(ParamError::new("stale_after_ms", format!("must be >= 100, got {}", self.stale_after_ms)));
        }
        if instance.symbols.len() != 1 {
            errors.push(ParamError::new(
                "symbols",
                format!("a market maker quotes exactly one symbol, got {}", instance.symbols.len()),
            ));
        }
    }

    pub(crate) fn summary(&self) -> String {
        let fair = if self.microprice { "microprice" } else { "mid" };
        format!(
            "quotes {} each side {} bps apart around the {fair}, max inventory {}, skew {} bps",
            self.order_qty, self.spread_bps, self.max_inventory, self.skew_bps
        )
    }
}

/// One side's live quote.
#[derive(Debug, Clone, Copy)]
struct Live {
    id: ClientOrderId,
    price: Price,
    /// The order this one replaces, until that one is known to be gone: a
    /// replacement that fails leaves it resting (cancel-replace stops on failure).
    previous: Option<(ClientOrderId, Price)>,
}

/// A running `market_maker` instance.
#[derive(Debug)]
pub struct MarketMaker {
    venue: VenueId,
    symbol: Symbol,
    params: Params,
    bid: Option<Live>,
    ask: Option<Live>,
    /// The fair price the live quotes were set at.
    quoted_at: Option<Decimal>,
    /// When the book last spoke (venue time).
    last_book: Option<Timestamp>,
}

const BPS: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

impl MarketMaker {
    pub fn new(instance: &Instance, params: Params) -> Self {
        Self {
            venue: instance.venue,
            symbol: instance.symbols[0],
            params,
            bid: None,
            ask: None,
            quoted_at: None,
            last_book: None,
        }
    }

    fn fair(&self, q: &Quote) -> Option<Decimal> {
        let (bid, ask) = (q.bid_price.get(), q.ask_price.get());
        if bid <= Decimal::ZERO || ask <= bid {
            return None;
        }
        let (bq, aq) = (q.bid_qty.get(), q.ask_qty.get());
        if self.params.microprice && !(bq + aq).is_zero() {
            // Weighted toward the side with less size (where the price is going).
            return Some((bid * aq + ask * bq) / (bq + aq));
        }
        Some((bid + ask) / Decimal::TWO)
    }

    /// Where each side should be quoted now (`None`: not at all).
    fn targets(&self, ctx: &dyn Context, spec: &InstrumentSpec, fair: Decimal) -> (Option<Price>, Option<Price>) {
        let p = &self.params;
        let position = ctx.position(self.venue, self.symbol).get();
        let skew = if p.max_inventory.is_zero() { Decimal::ZERO } else { position / p.max_inventory * p.skew_bps };
        let half = p.spread_bps / Decimal::TWO;
        let bid_px = fair * (BPS - half - skew) / BPS;
        let ask_px = fair * (BPS + half - skew) / BPS;
        let qty = Qty::new(p.order_qty);
        let base_free = ctx.balance(self.venue, spec.base).free;
        let bid = (position < p.max_inventory).then(|| spec.round_price(Side::Buy, Price::new(bid_px))).flatten();
        let can_sell = position > -p.max_inventory && base_free >= p.order_qty;
        let ask = can_sell.then(|| spec.round_price(Side::Sell, Price::new(ask_px))).flatten();
        let valid = |px: Price| spec.validate(px, qty).is_ok();
        (bid.filter(|px| valid(*px)), ask.filter(|px| valid(*px)))
    }

    fn requote(&mut self, ctx: &dyn Context, fair: Decimal, out: &mut Intents) {
        let Some(spec) = ctx.instrument(self.venue, self.symbol).cloned() else { return };
        let Some(qty) = spec.round_qty(Qty::new(self.params.order_qty)) else { return };
        let (bid, ask) = self.targets(ctx, &spec, fair);
        let (venue, symbol) = (self.venue, self.symbol);
        let order = |side, price| NewOrder {
            venue,
            symbol,
            side,
            qty,
            kind: OrderKind::Limit { price, tif: TimeInForce::Gtc },
        };
        for (side, target) in [(Side::Buy, bid), (Side::Sell, ask)] {
            let live = if side == Side::Buy { &mut self.bid } else { &mut self.ask };
            *live = match (*live, target) {
                (Some(l), Some(px)) if l.price == px => Some(l),
                // One replacement in flight per side: the venue answers before the next.
                (Some(l), Some(_)) if l.previous.is_some() => Some(l),
                (Some(l), Some(px)) => {
                    Some(Live { id: out.replace(l.id, order(side, px)), price: px, previous: Some((l.id, l.price)) })
                }
                (None, Some(px)) => Some(Live { id: out.place(order(side, px)), price: px, previous: None }),
                (Some(l), None) => {
                    out.cancel(l.id);
                    None
                }
                (None, None) => None,
            };
        }
        self.quoted_at = Some(fair);
    }

    fn pull(&mut self, out: &mut Intents) {
        for live in [self.bid.take(), self.ask.take()].into_iter().flatten() {
            out.cancel(live.id);
        }
        self.quoted_at = None;
    }
}

impl Strategy for MarketMaker {
    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription::quotes(self.venue, vec![self.symbol])]
    }

    fn on_event(&mut self, ctx: &dyn Context, event: &MarketEvent, out: &mut Intents) -> Result<(), StrategyError> {
        match event {
            MarketEvent::Quote(q) if q.venue == self.venue && q.symbol == self.symbol => {
                self.last_book = Some(ctx.now());
                let Some(fair) = self.fair(q) else { return Ok(()) };
                let moved = self.quoted_at.is_none_or(|at| (fair - at).abs() * BPS > at * self.params.requote_bps);
                if moved {
                    self.requote(ctx, fair, out);
                }
            }
            MarketEvent::Connectivity(c) if c.venue == self.venue && !c.up => {
                self.pull(out);
                self.last_book = None;
            }
            _ => {}
        }
        Ok(())
    }

    fn on_timer(&mut self, ctx: &dyn Context, out: &mut Intents) -> Result<(), StrategyError> {
        let stale = self.last_book.is_some_and(|t| ctx.now().0 - t.0 > self.params.stale_after_ms);
        if stale && (self.bid.is_some() || self.ask.is_some()) {
            self.pull(out);
        }
        Ok(())
    }

    fn on_order_update(
        &mut self,
        _ctx: &dyn Context,
        update: &OrderUpdate,
        _out: &mut Intents,
    ) -> Result<(), StrategyError> {
        if !update.is_terminal() {
            return Ok(());
        }
        let id = *update.id();
        let filled = matches!(update, OrderUpdate::Filled { .. });
        for live in [&mut self.bid, &mut self.ask] {
            let Some(l) = *live else { continue };
            if l.previous.is_some_and(|(p, _)| p == id) {
                // The replaced order is gone: nothing to fall back to.
                *live = Some(Live { previous: None, ..l });
            } else if l.id == id {
                // A replacement that failed leaves the order it replaced; anything else frees the side.
                *live = match l.previous {
                    Some((prev, price)) if !filled => Some(Live { id: prev, price, previous: None }),
                    _ => None,
                };
                // The next quote event sets this side again.
                self.quoted_at = None;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
