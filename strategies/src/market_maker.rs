//! `market_maker`: a bid and an ask around a fair price, skewed by inventory.
//!
//! Fair price is the mid, the microprice (the mid weighted by the size on
//! each side, which leans toward the thinner side), or, with `book_levels`,
//! the same weighting over that many levels of the L2 book. Quotes sit
//! `spread_bps` apart around it; holding inventory shifts both down (long)
//! or up (short) by `skew_bps` at `max_inventory`, so fills bring the
//! position back. The bid stops at `max_inventory` long, the ask at
//! `max_inventory` short (and when the account holds no base asset to
//! sell). When the fair price moves more than `requote_bps` from where the
//! quotes were set, both move: amended in place where the venue amends (one
//! request, same order), else replaced with cancel-replace. Quotes are pulled
//! when the venue's connection drops or the book has been silent for
//! `stale_after_ms`.
//!
//! A side whose order was refused (denied here, rejected by the venue) waits
//! before it is quoted again, longer after each refusal. While trading is
//! halted nothing is quoted; once it resumes the quotes come back. After a
//! restart the quotes an earlier run left open are taken back (the newest of
//! each side; any others are cancelled), never left resting unwatched.

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::sdk::{
    ClientOrderId, Context, Cooldown, InstrumentSpec, Intents, MarketEvent, NewOrder, OrderBook, OrderKind,
    OrderUpdate, Price, Qty, Quote, Side, Strategy, StrategyError, Subscription, Symbol, TimeInForce, Timestamp,
    Trading, VenueId,
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
    /// Fair price from the L2 book instead: the best `book_levels` levels of
    /// each side, size-weighted (1..=50; subscribes to the book; default: off).
    #[serde(default)]
    pub book_levels: Option<usize>,
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
        if let Some(n) = self.book_levels.filter(|n| !(1..=50).contains(n)) {
            errors.push(ParamError::new("book_levels", format!("must be 1..=50, got {n}")));
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
        let fair = match (self.book_levels, self.microprice) {
            (Some(n), _) => format!("book ({n} levels)"),
            (None, true) => "microprice".to_owned(),
            (None, false) => "mid".to_owned(),
        };
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
    /// The venue has the order (only then can it be amended).
    accepted: bool,
    /// An amend to `price` is on its way; the price the order had before it.
    amending_from: Option<Price>,
}

impl Live {
    fn new(id: ClientOrderId, price: Price, previous: Option<(ClientOrderId, Price)>) -> Self {
        Self { id, price, previous, accepted: false, amending_from: None }
    }
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
    /// The L2 book (with `book_levels`).
    book: OrderBook,
    /// Per side (bid, ask): the wait after a refused order.
    cooldown: [Cooldown; 2],
}

const BPS: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

fn index(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

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
            book: OrderBook::new(),
            cooldown: [Cooldown::default(); 2],
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
        // Reducing: only the side that shrinks the position.
        let reducing = ctx.trading() == Trading::Reducing;
        let may_buy = position < p.max_inventory && (!reducing || position < Decimal::ZERO);
        let may_sell =
            position > -p.max_inventory && base_free >= p.order_qty && (!reducing || position > Decimal::ZERO);
        let bid = may_buy.then(|| spec.round_price(Side::Buy, Price::new(bid_px))).flatten();
        let ask = may_sell.then(|| spec.round_price(Side::Sell, Price::new(ask_px))).flatten();
        let valid = |px: Price| spec.validate(px, qty).is_ok();
        (bid.filter(|px| valid(*px)), ask.filter(|px| valid(*px)))
    }

    /// Sets the quotes around `fair`: both sides if the fair price moved past
    /// `requote_bps` (or nothing is quoted yet), else only a side that has no
    /// quote and may have one again.
    fn quote(&mut self, ctx: &dyn Context, fair: Decimal, out: &mut Intents) {
        if ctx.trading() == Trading::Halted {
            return;
        }
        let moved = self.quoted_at.is_none_or(|at| (fair - at).abs() * BPS > at * self.params.requote_bps);
        let now = ctx.now();
        let missing = [(Side::Buy, self.bid), (Side::Sell, self.ask)]
            .iter()
            .any(|(side, live)| live.is_none() && self.cooldown[index(*side)].ready(now));
        if !moved && !missing {
            return;
        }
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
        // A side held back by its cooldown is set at a later event.
        let mut deferred = false;
        for (side, target) in [(Side::Buy, bid), (Side::Sell, ask)] {
            let ready = self.cooldown[index(side)].ready(now);
            let live = if side == Side::Buy { &mut self.bid } else { &mut self.ask };
            deferred |= !ready && target.is_some() && live.is_none_or(|l| Some(l.price) != target);
            *live = match (*live, target) {
                (Some(l), Some(px)) if l.price == px || !moved || !ready => Some(l),
                // One replacement or amend in flight per side: the venue answers before the next.
                (Some(l), Some(_)) if l.previous.is_some() || l.amending_from.is_some() => Some(l),
                // Moved in place where the venue amends: one request, same order.
                (Some(l), Some(px)) if l.accepted && ctx.amends(venue) => {
                    out.amend(l.id, None, Some(px));
                    Some(Live { price: px, amending_from: Some(l.price), ..l })
                }
                (Some(l), Some(px)) => Some(Live::new(out.replace(l.id, order(side, px)), px, Some((l.id, l.price)))),
                (None, Some(px)) if ready => Some(Live::new(out.place(order(side, px)), px, None)),
                (None, _) => None,
                (Some(l), None) => {
                    out.cancel(l.id);
                    None
                }
            };
        }
        if moved && !deferred {
            self.quoted_at = Some(fair);
        }
    }

    fn pull(&mut self, out: &mut Intents) {
        for live in [self.bid.take(), self.ask.take()].into_iter().flatten() {
            out.cancel(live.id);
        }
        self.quoted_at = None;
    }

    /// The fair price now, from the book or the best bid and ask.
    fn fair_now(&self, ctx: &dyn Context) -> Option<Decimal> {
        match self.params.book_levels {
            Some(n) => self.book.depth_weighted_price(n).map(Price::get),
            None => self.fair(&ctx.book_top(self.venue, self.symbol)?),
        }
    }
}

impl Strategy for MarketMaker {
    fn subscriptions(&self) -> Vec<Subscription> {
        let mut quotes = Subscription::quotes(self.venue, vec![self.symbol]);
        // Quotes also keep the engine's top of book (the risk checks' mid) fresh.
        quotes.book = self.params.book_levels.is_some();
        vec![quotes]
    }

    /// Takes back the quotes an earlier run left open: the newest of each side
    /// is quoted on (and replaced at the first requote); any others are cancelled.
    fn on_start(&mut self, ctx: &dyn Context, out: &mut Intents) -> Result<(), StrategyError> {
        let own = ctx.open_orders().iter().filter(|o| o.order.venue == self.venue && o.order.symbol == self.symbol);
        for open in own {
            let side = if open.order.side == Side::Buy { &mut self.bid } else { &mut self.ask };
            let Some(price) = open.order.kind.price() else {
                // Not a quote (a market order of its own it never sends): nothing to keep.
                out.cancel(open.id);
                continue;
            };
            // Oldest first: a newer order takes the side, the older one is cancelled.
            let taken = Live { accepted: true, ..Live::new(open.id, price, None) };
            if let Some(older) = side.replace(taken) {
                out.cancel(older.id);
            }
        }
        Ok(())
    }

    fn on_event(&mut self, ctx: &dyn Context, event: &MarketEvent, out: &mut Intents) -> Result<(), StrategyError> {
        match event {
            MarketEvent::Quote(q) if q.venue == self.venue && q.symbol == self.symbol => {
                self.last_book = Some(ctx.now());
                if self.params.book_levels.is_none()
                    && let Some(fair) = self.fair(q)
                {
                    self.quote(ctx, fair, out);
                }
            }
            MarketEvent::BookSnapshot(_) | MarketEvent::BookDelta(_)
                if self.params.book_levels.is_some() && self.book.apply(self.venue, self.symbol, event) =>
            {
                self.last_book = Some(ctx.now());
                if let Some(fair) = self.fair_now(ctx) {
                    self.quote(ctx, fair, out);
                }
            }
            MarketEvent::Connectivity(c) if c.venue == self.venue && !c.up => {
                self.book.apply(self.venue, self.symbol, event);
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
        } else if !stale
            && self.last_book.is_some()
            && let Some(fair) = self.fair_now(ctx)
        {
            // A side waiting out a refusal (or a halt) comes back even in a quiet market.
            self.quote(ctx, fair, out);
        }
        Ok(())
    }

    fn on_order_update(
        &mut self,
        ctx: &dyn Context,
        update: &OrderUpdate,
        _out: &mut Intents,
    ) -> Result<(), StrategyError> {
        let id = *update.id();
        let refused = matches!(
            update,
            OrderUpdate::Denied { .. } | OrderUpdate::Rejected { .. } | OrderUpdate::AmendRefused { .. }
        );
        for (i, live) in [&mut self.bid, &mut self.ask].into_iter().enumerate() {
            let Some(l) = *live else { continue };
            if l.id == id {
                if refused {
                    self.cooldown[i].refused(ctx.now());
                } else if matches!(update, OrderUpdate::Accepted { .. }) {
                    self.cooldown[i].succeeded();
                }
                match update {
                    OrderUpdate::Accepted { .. } | OrderUpdate::PartiallyFilled { .. } => {
                        *live = Some(Live { accepted: true, ..l });
                    }
                    OrderUpdate::Amended { price, .. } => {
                        *live = Some(Live { price: *price, amending_from: None, ..l });
                    }
                    // The order stands at its old price; the next quote event moves it again.
                    OrderUpdate::AmendRefused { .. } => {
                        *live = Some(Live { price: l.amending_from.unwrap_or(l.price), amending_from: None, ..l });
                        self.quoted_at = None;
                    }
                    _ => {}
                }
            }
            if !update.is_terminal() {
                continue;
            }
            let filled = matches!(update, OrderUpdate::Filled { .. });
            if l.previous.is_some_and(|(p, _)| p == id) {
                // The replaced order is gone: nothing to fall back to.
                *live = Some(Live { previous: None, ..l });
            } else if l.id == id {
                // A replacement that failed leaves the order it replaced; anything else frees the side.
                *live = match l.previous {
                    Some((prev, price)) if !filled => Some(Live { accepted: true, ..Live::new(prev, price, None) }),
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
