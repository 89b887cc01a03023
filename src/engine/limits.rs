//! The engine's side of risk: what a strategy's order is checked against
//! (its open orders, position, the book, balances, its recent order rate),
//! and the post-trade loss limits that halt a strategy or the whole daemon.

use tradewind_strategies::sdk::{ClientOrderId, Qty, Reason};

use super::Core;
use crate::clock;
use crate::risk::{OrderContext, TradingState};

impl Core {
    /// Pre-trade risk for a new order; `replacing` (an open order of this
    /// strategy) goes away with it.
    pub(super) fn check(
        &self,
        idx: usize,
        order: &tradewind_strategies::sdk::NewOrder,
        replacing: Option<ClientOrderId>,
    ) -> Result<(), Reason> {
        let slot = &self.slots[idx];
        let key = (order.venue, order.symbol);
        let (mut open_orders, mut open_buys, mut open_sells) = (0, Qty::ZERO, Qty::ZERO);
        for o in slot.open_orders.iter().filter(|o| Some(o.id) != replacing) {
            open_orders += 1;
            if (o.order.venue, o.order.symbol) == key {
                let left = Qty::new(o.order.qty.get() - o.filled.get());
                match o.order.side {
                    tradewind_strategies::sdk::Side::Buy => open_buys += left,
                    tradewind_strategies::sdk::Side::Sell => open_sells += left,
                }
            }
        }
        let now = clock::now().0;
        // `sent` is in time order: a search, not a scan of the last minute's orders.
        let sent_since = |ms: i64| {
            u32::try_from(slot.sent.len() - slot.sent.partition_point(|t| *t <= now - ms)).unwrap_or(u32::MAX)
        };
        let quote = self.market.instruments.get(&key).map(|s| s.quote);
        let ctx = OrderContext {
            open_orders,
            position: slot.positions.get(&key).map_or(Qty::default(), |p| Qty::new(p.qty())),
            open_buys,
            open_sells,
            reference_price: self.market.reference_price(order.venue, order.symbol, order.side),
            mid: self.market.book_tops.get(&key).map(|q| q.mid()),
            free_quote: quote.and_then(|q| self.market.balances.get(&(order.venue, q))).map(|b| b.free),
            sent_last_sec: sent_since(1_000),
            sent_last_min: sent_since(60_000),
            state: slot.trading_state,
        };
        self.risk.check_new(order, ctx, &slot.limits)
    }

    /// Counts a new order against the strategy's order-rate limits.
    pub(super) fn count_sent(&mut self, idx: usize) {
        let now = clock::now().0;
        let sent = &mut self.slots[idx].sent;
        while sent.front().is_some_and(|t| *t <= now - 60_000) {
            sent.pop_front();
        }
        // Kept in order even if the wall clock steps back (the count above searches it).
        sent.push_back(sent.back().map_or(now, |&last| last.max(now)));
    }

    /// Post-trade limits: a strategy past its daily loss or drawdown is halted
    /// (its orders cancelled); the account past its own halts everything.
    pub(super) fn watch_losses(&mut self, only: Option<usize>) {
        let now = clock::now().0;
        let indices: Vec<usize> = match only {
            Some(idx) => vec![idx],
            None => (0..self.slots.len()).collect(),
        };
        for idx in indices {
            let pnl = self.slots[idx].pnl(&self.market);
            let slot = &mut self.slots[idx];
            let (daily, drawdown) = (slot.limits.max_daily_loss, slot.limits.max_drawdown);
            if let Some(reason) = slot.loss.observe(pnl, now, daily, drawdown)
                && slot.trading_state != TradingState::Halted
            {
                slot.trading_state = TradingState::Halted;
                tracing::error!(strategy = %slot.name, %pnl, reason = %reason, "kill switch: strategy halted, its orders cancelled");
                metrics::counter!("tradewind_kill_switch_total", "scope" => slot.name.clone(), "reason" => reason.code.clone())
                    .increment(1);
                self.cancel_all(idx);
            }
        }
        let account = self.risk.limits().account.clone();
        if account.max_daily_loss.is_none() && account.max_drawdown.is_none() {
            return;
        }
        let total: rust_decimal::Decimal = self.slots.iter().map(|s| s.pnl(&self.market)).sum();
        if let Some(reason) = self.account_loss.observe(total, now, account.max_daily_loss, account.max_drawdown)
            && self.risk.global_state() != TradingState::Halted
        {
            self.risk.set_global_state(TradingState::Halted);
            tracing::error!(pnl = %total, reason = %reason, "kill switch: account limit reached, trading halted, every order cancelled");
            metrics::counter!("tradewind_kill_switch_total", "scope" => "account", "reason" => reason.code.clone())
                .increment(1);
            for idx in 0..self.slots.len() {
                self.cancel_all(idx);
            }
        }
    }
}
