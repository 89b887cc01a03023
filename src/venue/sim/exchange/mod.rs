//! The simulated exchange: symbols with their books, accounts, orders and
//! trades, and the events a Binance server would publish.
//!
//! Synchronous and deterministic: every operation takes the time as an
//! argument, changes state, and appends [`Event`]s that the server drains
//! and turns into stream frames. Prices and quantities cross into the
//! matching engine as integer ticks and lots (exact, because the filters
//! already require multiples of the tick and step sizes); money moves in the
//! [`Ledger`] as exact decimals. Errors carry Binance's codes and messages.

use std::collections::{BTreeSet, HashMap};

use rust_decimal::Decimal;

mod amend;
mod settle;
mod types;

pub use amend::Amendment;
use settle::no_such_order;
pub use types::*;

use super::config::SimConfig;
use super::ledger::{AccountId, FEE_ACCOUNT, Ledger};
use super::matching::{Book, BookSide, Incoming, Match, OrderType as BookOrderType, Outcome, Tif};

/// The account of the synthetic market's makers and takers.
pub const MARKET_ACCOUNT: AccountId = 1;

pub struct Exchange {
    config: SimConfig,
    symbols: Vec<SymbolState>,
    by_name: HashMap<String, usize>,
    pub(super) ledger: Ledger,
    orders: HashMap<u64, Order>,
    /// (account, client id) → the latest order with that id.
    by_client: HashMap<(AccountId, String), u64>,
    open_count: HashMap<(AccountId, usize), usize>,
    trades: HashMap<AccountId, Vec<AccountTrade>>,
    next_order_id: u64,
    events: Vec<Event>,
    matches: Vec<Match>,
    /// The accounts' closed orders, oldest first (see [`CLOSED_KEPT`]).
    closed: std::collections::VecDeque<u64>,
    /// The earliest time the next change may carry (see [`Exchange::read_time`]).
    clock: i64,
}

/// Closed orders of the accounts kept for queries.
pub const CLOSED_KEPT: usize = 10_000;

/// Background liquidity has effectively unlimited funds.
const MARKET_FUNDS: i64 = 1_000_000_000_000;

impl Exchange {
    pub fn new(config: SimConfig) -> Self {
        let mut ledger = Ledger::new();
        let mut symbols = Vec::new();
        let mut by_name = HashMap::new();
        for s in &config.symbols {
            for asset in [&s.base, &s.quote] {
                if ledger.balance(MARKET_ACCOUNT, asset).free.is_zero() {
                    ledger.deposit(MARKET_ACCOUNT, asset, Decimal::from(MARKET_FUNDS));
                }
            }
            by_name.insert(s.symbol.clone(), symbols.len());
            symbols.push(SymbolState {
                config: s.clone(),
                min_qty: s.min_qty.unwrap_or(s.step_size),
                book: Book::new(),
                update_id: 1,
                flushed_id: 1,
                dirty: BTreeSet::new(),
                next_trade_id: 1,
                top: [None, None],
                candle: None,
                history: Default::default(),
                recent: Default::default(),
                market_orders: Vec::new(),
            });
        }
        Self {
            config,
            symbols,
            by_name,
            ledger,
            orders: HashMap::new(),
            by_client: HashMap::new(),
            open_count: HashMap::new(),
            trades: HashMap::new(),
            next_order_id: 1,
            events: Vec::new(),
            matches: Vec::new(),
            closed: std::collections::VecDeque::new(),
            clock: i64::MIN,
        }
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    pub fn set_faults(&mut self, faults: super::config::FaultConfig) {
        self.config.faults = faults;
    }

    /// Replaces the rate limits (enforced and published from now on).
    pub fn set_limits(&mut self, limits: super::config::LimitConfig) {
        self.config.limits = limits;
    }

    /// Funds a new account with the configured starting balances.
    pub fn open_account(&mut self, account: AccountId) {
        for (asset, amount) in &self.config.balances {
            self.ledger.deposit(account, asset, *amount);
        }
    }

    /// The synthetic market's resting quotes on one symbol.
    pub(super) fn market_orders_mut(&mut self, index: usize) -> &mut Vec<u64> {
        &mut self.symbols[index].market_orders
    }

    pub fn symbols(&self) -> &[SymbolState] {
        &self.symbols
    }

    pub fn symbol(&self, name: &str) -> Result<&SymbolState, ApiError> {
        self.symbol_index(name).map(|i| &self.symbols[i])
    }

    fn symbol_index(&self, name: &str) -> Result<usize, ApiError> {
        self.by_name.get(name).copied().ok_or_else(|| ApiError::new(-1121, "Invalid symbol."))
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Takes the events produced since the last call.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, Event> {
        self.events.drain(..)
    }

    /// Fills of one order among the events not drained yet (for `FULL` responses).
    pub fn pending_fills(&self, order_id: u64) -> Vec<LastFill> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Execution { order, fill: Some(f), .. } if order.id == order_id => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    /// `/api/v3/depth`: the book's update id and up to `limit` levels a side.
    pub fn depth(&self, symbol: &str, limit: usize) -> Result<(u64, Vec<LevelDec>, Vec<LevelDec>), ApiError> {
        let s = self.symbol(symbol)?;
        let side = |side| s.book.levels(side).take(limit).map(|(p, q)| (s.price(p), s.qty(q))).collect();
        Ok((s.update_id, side(BookSide::Bid), side(BookSide::Ask)))
    }

    /// The levels changed since the previous diff, with their quantities now.
    pub fn take_depth_diff(&mut self, index: usize) -> Option<DepthDiff> {
        let s = &mut self.symbols[index];
        if s.dirty.is_empty() {
            return None;
        }
        let mut diff = DepthDiff {
            first_update_id: s.flushed_id + 1,
            last_update_id: s.update_id,
            bids: Vec::new(),
            asks: Vec::new(),
        };
        for &(is_bid, ticks) in &s.dirty {
            let side = if is_bid { BookSide::Bid } else { BookSide::Ask };
            let level = (s.price(ticks), s.qty(s.book.level_qty(side, ticks)));
            if is_bid { diff.bids.push(level) } else { diff.asks.push(level) }
        }
        diff.bids.reverse();
        s.dirty.clear();
        s.flushed_id = s.update_id;
        Some(diff)
    }

    pub fn order(&self, account: AccountId, id: Option<u64>, client_id: Option<&str>) -> Result<&Order, ApiError> {
        let id = match (id, client_id) {
            (Some(id), _) => id,
            (None, Some(c)) => *self.by_client.get(&(account, c.to_owned())).ok_or_else(no_such_order)?,
            (None, None) => {
                return Err(ApiError::new(
                    -1102,
                    "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
                ));
            }
        };
        self.orders.get(&id).filter(|o| o.account == account).ok_or_else(no_such_order)
    }

    /// Every order an account ever placed, in any state (oldest first).
    pub fn orders_of(&self, account: AccountId) -> Vec<&Order> {
        let mut orders: Vec<&Order> = self.orders.values().filter(|o| o.account == account).collect();
        orders.sort_by_key(|o| o.id);
        orders
    }

    pub fn open_orders(&self, account: AccountId, symbol: Option<&str>) -> Vec<&Order> {
        let mut open: Vec<&Order> = self
            .orders
            .values()
            .filter(|o| o.account == account && o.status.is_open() && symbol.is_none_or(|s| o.symbol == s))
            .collect();
        open.sort_by_key(|o| o.id);
        open
    }

    /// `myTrades`: trades with id ≥ `from_id` (or of one order), oldest first, at most `limit`.
    pub fn my_trades(
        &self,
        account: AccountId,
        symbol: &str,
        order_id: Option<u64>,
        from_id: Option<u64>,
        limit: usize,
    ) -> Vec<&AccountTrade> {
        let all = self.trades.get(&account).map(Vec::as_slice).unwrap_or_default();
        let matching = all.iter().filter(|t| {
            t.symbol == symbol && order_id.is_none_or(|o| t.order_id == o) && from_id.is_none_or(|f| t.id >= f)
        });
        if from_id.is_some() {
            matching.take(limit).collect()
        } else {
            let v: Vec<_> = matching.collect();
            v[v.len().saturating_sub(limit)..].to_vec()
        }
    }

    /// Places an order; on success returns its id (look it up with [`Exchange::order`]).
    pub fn place(&mut self, account: AccountId, req: &NewOrder, now: i64) -> Result<u64, ApiError> {
        let now = self.stamp(now);
        let index = self.symbol_index(&req.symbol)?;
        let client_id = match &req.client_id {
            Some(c) => {
                if self
                    .by_client
                    .get(&(account, c.clone()))
                    .and_then(|id| self.orders.get(id))
                    .is_some_and(|o| o.status.is_open())
                {
                    return Err(ApiError::new(-2010, "Duplicate order sent."));
                }
                c.clone()
            }
            None => format!("sim-{}", self.next_order_id),
        };
        let plan = self.plan(index, req)?;
        let s = &self.symbols[index];
        let open = self.open_count.get(&(account, index)).copied().unwrap_or(0);
        if plan.rests && account != MARKET_ACCOUNT && open >= s.config.max_num_orders {
            return Err(ApiError::filter("MAX_NUM_ORDERS"));
        }
        let (lock_asset, lock) = match req.side {
            Side::Buy => (s.config.quote.clone(), plan.lock),
            Side::Sell => (s.config.base.clone(), plan.lock),
        };
        self.ledger.lock(account, &lock_asset, lock).map_err(|_| ApiError::insufficient())?;

        let id = self.next_order_id;
        self.next_order_id += 1;
        let order = Order {
            id,
            account,
            symbol: req.symbol.clone(),
            client_id: client_id.clone(),
            side: req.side,
            kind: req.kind,
            tif: req.tif,
            price: req.price.unwrap_or_default(),
            orig_qty: plan.orig_qty,
            orig_quote_qty: req.quote_qty.unwrap_or_default(),
            executed_qty: Decimal::ZERO,
            cum_quote: Decimal::ZERO,
            status: Status::New,
            time: now,
            update_time: now,
            locked: lock,
        };
        self.orders.insert(id, order);
        // Background liquidity is never looked up by client id (and its orders leave memory when closed).
        if account != MARKET_ACCOUNT {
            self.by_client.insert((account, client_id), id);
        }
        self.report(id, ExecType::New, None, None, now);

        let incoming =
            Incoming { id, owner: account, side: req.side.book_side(), qty: plan.lots, kind: plan.book_kind };
        let mut matches = std::mem::take(&mut self.matches);
        matches.clear();
        let outcome = self.symbols[index].book.submit(incoming, &mut matches);
        let mut touched = BTreeSet::from([account]);
        for m in &matches {
            self.settle(index, id, m, now);
            touched.insert(m.maker_owner);
            self.mark_dirty(index, !req.side.book_side_is_bid(), m.price);
        }
        self.matches = matches;
        match outcome {
            Outcome::Resting { .. } => {
                *self.open_count.entry((account, index)).or_default() += 1;
                self.mark_dirty(index, req.side.book_side_is_bid(), plan.price_ticks);
                self.release_excess(id);
            }
            Outcome::Filled => self.finish(id, None, None, now),
            Outcome::Expired { .. } | Outcome::WouldTake => self.finish(id, Some(ExecType::Expired), None, now),
        }
        self.after_change(index, &touched, now);
        Ok(id)
    }

    /// A resting buy that took liquidity below its limit keeps locked only what its rest needs.
    fn release_excess(&mut self, id: u64) {
        let o = self.orders.get_mut(&id).expect("a resting order is known");
        if o.side == Side::Buy {
            let needed = o.price * (o.orig_qty - o.executed_qty);
            let excess = o.locked - needed;
            if excess > Decimal::ZERO {
                o.locked = needed;
                let quote_asset = &self.symbols[self.by_name[&o.symbol]].config.quote;
                self.ledger.unlock(o.account, quote_asset, excess);
            }
        }
    }

    /// Cancels an open order (by id or client id). `cancel_client_id` names the cancel request.
    pub fn cancel(
        &mut self,
        account: AccountId,
        symbol: &str,
        id: Option<u64>,
        client_id: Option<&str>,
        cancel_client_id: Option<String>,
        now: i64,
    ) -> Result<u64, ApiError> {
        let now = self.stamp(now);
        let index = self.symbol_index(symbol)?;
        let order = match self.order(account, id, client_id) {
            Ok(o) if o.status.is_open() && o.symbol == symbol => o,
            Ok(_) | Err(_) => return Err(ApiError::unknown_order()),
        };
        let id = order.id;
        let resting = self.symbols[index].book.cancel(id).expect("an open order rests on its book");
        self.mark_dirty(index, resting.side == BookSide::Bid, resting.price);
        self.finish(id, Some(ExecType::Canceled), cancel_client_id, now);
        self.after_change(index, &BTreeSet::from([account]), now);
        Ok(id)
    }

    /// Cancels every open order of an account on a symbol; returns their ids.
    pub fn cancel_all(&mut self, account: AccountId, symbol: &str, now: i64) -> Result<Vec<u64>, ApiError> {
        self.symbol_index(symbol)?;
        let ids: Vec<u64> = self.open_orders(account, Some(symbol)).iter().map(|o| o.id).collect();
        for id in &ids {
            self.cancel(account, symbol, Some(*id), None, None, now)?;
        }
        Ok(ids)
    }

    /// The time a change applied now carries: never earlier than one applied
    /// before it, whatever clock reading its request brought (requests read
    /// the clock before they take the exchange's lock), so event times follow
    /// the order of the ledger's changes.
    fn stamp(&mut self, now: i64) -> i64 {
        self.clock = self.clock.max(now);
        self.clock
    }

    /// The time of a read of the ledger made now (an account's `updateTime`):
    /// every change it shows carries this time or an earlier one, and every
    /// change after it a later one, so a client ordering account states by
    /// time never takes this read for newer than a change it does not show.
    pub fn read_time(&mut self, now: i64) -> i64 {
        let time = self.clock.max(now);
        self.clock = time + 1;
        time
    }
}

#[cfg(test)]
mod tests;
