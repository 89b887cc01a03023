//! Amending a resting limit order in place (Bybit's `order/amend`, OKX's
//! `amend-order`): a new total quantity and/or price, same order and client
//! id. Filters and funds are checked as for a new order, and nothing changes
//! when they fail. A smaller quantity at the same price keeps the order's
//! place in the queue; a new price, or more quantity, sends it to the back
//! of its (new) level, where it may trade at once like any incoming order.

use std::collections::BTreeSet;

use rust_decimal::Decimal;

use super::*;

/// What an amend changes (at least one of them, in practice).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amendment {
    /// The new total quantity, the filled part included.
    pub qty: Option<Decimal>,
    /// The new limit price.
    pub price: Option<Decimal>,
}

impl Exchange {
    /// Amends open order `id` / `client_id` of `account` on `symbol`.
    pub fn amend(
        &mut self,
        account: AccountId,
        symbol: &str,
        (id, client_id): (Option<u64>, Option<&str>),
        change: Amendment,
        now: i64,
    ) -> Result<u64, ApiError> {
        let now = self.stamp(now);
        let index = self.symbol_index(symbol)?;
        let order = match self.order(account, id, client_id) {
            Ok(o) if o.status.is_open() && o.symbol == symbol => o.clone(),
            Ok(_) | Err(_) => return Err(ApiError::unknown_order()),
        };
        if order.kind == OrdType::Market {
            return Err(ApiError::new(-1013, "A market order cannot be amended."));
        }
        let (qty, price) = (change.qty.unwrap_or(order.orig_qty), change.price.unwrap_or(order.price));
        if qty <= order.executed_qty {
            return Err(ApiError::filter("LOT_SIZE"));
        }
        // What is left, checked as a new order of that size at that price would be.
        let left = qty - order.executed_qty;
        let request = NewOrder {
            symbol: symbol.to_owned(),
            side: order.side,
            kind: order.kind,
            tif: order.tif,
            qty: Some(left),
            quote_qty: None,
            price: Some(price),
            client_id: None,
        };
        let plan = self.plan(index, &request)?;
        // The rest's funds: more locked first (refused if not free), any excess released.
        let asset = match order.side {
            Side::Buy => self.symbols[index].config.quote.clone(),
            Side::Sell => self.symbols[index].config.base.clone(),
        };
        if plan.lock > order.locked {
            self.ledger.lock(account, &asset, plan.lock - order.locked).map_err(|_| ApiError::insufficient())?;
        } else if plan.lock < order.locked {
            self.ledger.unlock(account, &asset, order.locked - plan.lock);
        }

        let book_side = order.side.book_side();
        let resting = self.symbols[index].book.order(order.id).cloned().expect("an open order rests on its book");
        let keeps_place = plan.price_ticks == resting.price && plan.lots <= resting.remaining;
        {
            let o = self.orders.get_mut(&order.id).expect("the order was found above");
            o.orig_qty = qty;
            o.price = price;
            o.locked = plan.lock;
            o.update_time = now;
        }
        self.mark_dirty(index, book_side == BookSide::Bid, resting.price);
        if keeps_place {
            self.symbols[index].book.reduce(order.id, plan.lots);
            self.report(order.id, ExecType::Amended, None, None, now);
            self.after_change(index, &BTreeSet::from([account]), now);
            return Ok(order.id);
        }
        self.symbols[index].book.cancel(order.id);
        self.report(order.id, ExecType::Amended, None, None, now);
        let incoming = Incoming { id: order.id, owner: account, side: book_side, qty: plan.lots, kind: plan.book_kind };
        let mut matches = std::mem::take(&mut self.matches);
        matches.clear();
        let outcome = self.symbols[index].book.submit(incoming, &mut matches);
        let mut touched = BTreeSet::from([account]);
        for m in &matches {
            self.settle(index, order.id, m, now);
            touched.insert(m.maker_owner);
            self.mark_dirty(index, book_side != BookSide::Bid, m.price);
        }
        self.matches = matches;
        match outcome {
            Outcome::Resting { .. } => {
                self.mark_dirty(index, book_side == BookSide::Bid, plan.price_ticks);
                self.release_excess(order.id);
            }
            // It was counted open while it rested; it no longer is.
            Outcome::Filled => {
                self.open_count.entry((account, index)).and_modify(|n| *n = n.saturating_sub(1));
                self.finish(order.id, None, None, now);
            }
            // Only GTC and post-only orders rest, and a post-only that would take was refused above.
            Outcome::Expired { .. } | Outcome::WouldTake => {
                self.open_count.entry((account, index)).and_modify(|n| *n = n.saturating_sub(1));
                self.finish(order.id, Some(ExecType::Expired), None, now);
            }
        }
        self.after_change(index, &touched, now);
        Ok(order.id)
    }
}
