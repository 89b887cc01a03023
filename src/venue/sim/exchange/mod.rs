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

mod types;

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
                let quote_asset = &self.symbols[index].config.quote;
                // A buy that took liquidity below its limit keeps only what the rest needs.
                let o = self.orders.get_mut(&id).expect("the order was inserted above");
                if req.side == Side::Buy {
                    let needed = o.price * (o.orig_qty - o.executed_qty);
                    let excess = o.locked - needed;
                    if excess > Decimal::ZERO {
                        o.locked = needed;
                        self.ledger.unlock(account, quote_asset, excess);
                    }
                }
            }
            Outcome::Filled => self.finish(id, None, None, now),
            Outcome::Expired { .. } | Outcome::WouldTake => self.finish(id, Some(ExecType::Expired), None, now),
        }
        self.after_change(index, &touched, now);
        Ok(id)
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

    /// Validates an order against the filters and works out what it locks.
    fn plan(&self, index: usize, req: &NewOrder) -> Result<Plan, ApiError> {
        let s = &self.symbols[index];
        let c = &s.config;
        let lot_size = |qty: Decimal| -> Result<i64, ApiError> {
            let lots = s.lots(qty).filter(|_| qty >= s.min_qty && qty <= c.max_qty);
            lots.filter(|l| *l > 0).ok_or_else(|| ApiError::filter("LOT_SIZE"))
        };
        match req.kind {
            OrdType::Limit | OrdType::LimitMaker => {
                let price = req.price.ok_or_else(|| mandatory("price"))?;
                let qty = req.qty.ok_or_else(|| mandatory("quantity"))?;
                let ticks = s.ticks(price).filter(|t| *t > 0).ok_or_else(|| ApiError::filter("PRICE_FILTER"))?;
                let lots = lot_size(qty)?;
                let notional = price * qty;
                if notional < c.min_notional || (!c.max_notional.is_zero() && notional > c.max_notional) {
                    return Err(ApiError::filter("NOTIONAL"));
                }
                let book_kind = if req.kind == OrdType::LimitMaker {
                    let crosses = match req.side {
                        Side::Buy => s.book.best_ask().is_some_and(|(a, _)| ticks >= a),
                        Side::Sell => s.book.best_bid().is_some_and(|(b, _)| ticks <= b),
                    };
                    if crosses {
                        return Err(ApiError::new(-2010, "Order would immediately match and take."));
                    }
                    BookOrderType::PostOnly { price: ticks }
                } else {
                    BookOrderType::Limit { price: ticks, tif: req.tif }
                };
                let lock = match req.side {
                    Side::Buy => notional,
                    Side::Sell => qty,
                };
                let rests = req.kind == OrdType::LimitMaker || req.tif == Tif::Gtc;
                Ok(Plan { lots, orig_qty: qty, lock, book_kind, price_ticks: ticks, rests })
            }
            OrdType::Market => {
                let (lots, orig_qty, cost) = match (req.qty, req.quote_qty) {
                    (Some(qty), None) => {
                        let lots = lot_size(qty)?;
                        (lots, qty, self.cost_of(index, req.side, lots))
                    }
                    (None, Some(budget)) if budget > Decimal::ZERO => {
                        let lots = self.lots_for_budget(index, req.side, budget);
                        if lots == 0 {
                            return Err(ApiError::filter("LOT_SIZE"));
                        }
                        (lots, s.qty(lots), self.cost_of(index, req.side, lots))
                    }
                    (None, Some(_)) => return Err(ApiError::new(-1013, "Invalid quoteOrderQty.")),
                    _ => {
                        return Err(ApiError::new(
                            -1102,
                            "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
                        ));
                    }
                };
                if s.book.levels(opposite(req.side.book_side())).next().is_none() {
                    return Err(ApiError::new(-2010, "Market is closed."));
                }
                let lock = match req.side {
                    Side::Buy => cost,
                    Side::Sell => s.qty(lots),
                };
                Ok(Plan { lots, orig_qty, lock, book_kind: BookOrderType::Market, price_ticks: 0, rests: false })
            }
        }
    }

    /// Quote paid (buy) or received (sell) for taking `lots` now.
    fn cost_of(&self, index: usize, side: Side, mut lots: i64) -> Decimal {
        let s = &self.symbols[index];
        let mut cost = Decimal::ZERO;
        for (price, qty) in s.book.levels(opposite(side.book_side())) {
            let take = qty.min(lots);
            cost += s.price(price) * s.qty(take);
            lots -= take;
            if lots == 0 {
                break;
            }
        }
        cost
    }

    /// The most lots whose cost stays within `budget` (buy), or that raise `budget` (sell).
    fn lots_for_budget(&self, index: usize, side: Side, mut budget: Decimal) -> i64 {
        let s = &self.symbols[index];
        let mut lots = 0;
        for (price, qty) in s.book.levels(opposite(side.book_side())) {
            let lot_value = s.price(price) * s.config.step_size;
            let affordable = whole((budget / lot_value).floor()).unwrap_or(i64::MAX);
            let take = qty.min(affordable);
            lots += take;
            budget -= lot_value * Decimal::from(take);
            if take < qty {
                break;
            }
        }
        lots
    }

    /// Moves money for one match and records it on both orders.
    fn settle(&mut self, index: usize, taker_id: u64, m: &Match, now: i64) {
        let s = &mut self.symbols[index];
        let price = s.price(m.price);
        let qty = s.qty(m.qty);
        let quote = price * qty;
        let trade_id = s.next_trade_id;
        s.next_trade_id += 1;
        let (base_asset, quote_asset) = (s.config.base.clone(), s.config.quote.clone());
        let taker_side = self.orders[&taker_id].side;
        let (buyer_id, seller_id) = match taker_side {
            Side::Buy => (taker_id, m.maker_id),
            Side::Sell => (m.maker_id, taker_id),
        };
        let buyer = self.orders[&buyer_id].account;
        let seller = self.orders[&seller_id].account;
        self.ledger.transfer_locked(buyer, seller, &quote_asset, quote);
        self.ledger.transfer_locked(seller, buyer, &base_asset, qty);
        let fees = &self.config.fees;
        let rate = |maker: bool| if maker { fees.maker } else { fees.taker };
        let buyer_is_maker = buyer_id == m.maker_id;
        let buyer_fee = round_fee(qty * rate(buyer_is_maker));
        let seller_fee = round_fee(quote * rate(!buyer_is_maker));
        self.ledger.transfer_free(buyer, FEE_ACCOUNT, &base_asset, buyer_fee);
        self.ledger.transfer_free(seller, FEE_ACCOUNT, &quote_asset, seller_fee);

        self.events.push(Event::Trade {
            symbol: s.config.symbol.clone(),
            id: trade_id,
            price,
            qty,
            buyer_is_maker,
            time: now,
        });
        s.recent.push_back((trade_id, price, qty, now, buyer_is_maker));
        if s.recent.len() > 1000 {
            s.recent.pop_front();
        }
        update_candle(&mut s.candle, &mut s.history, trade_id, price, qty, now);

        for (order_id, is_buyer, fee, fee_asset, spent) in
            [(buyer_id, true, buyer_fee, &base_asset, quote), (seller_id, false, seller_fee, &quote_asset, qty)]
        {
            let is_maker = order_id == m.maker_id;
            let o = self.orders.get_mut(&order_id).expect("both sides of a match are known orders");
            o.executed_qty += qty;
            o.cum_quote += quote;
            o.locked -= spent;
            o.update_time = now;
            o.status = if o.executed_qty == o.orig_qty { Status::Filled } else { Status::PartiallyFilled };
            let account = o.account;
            if account != MARKET_ACCOUNT {
                self.trades.entry(account).or_default().push(AccountTrade {
                    symbol: o.symbol.clone(),
                    id: trade_id,
                    order_id,
                    price,
                    qty,
                    quote_qty: quote,
                    commission: fee,
                    commission_asset: fee_asset.clone(),
                    time: now,
                    is_buyer,
                    is_maker,
                });
            }
            let fill =
                LastFill { trade_id, price, qty, commission: fee, commission_asset: fee_asset.clone(), is_maker };
            self.report(order_id, ExecType::Trade, Some(fill), None, now);
            if is_maker && m.maker_done {
                self.finish(order_id, None, None, now);
                if let Some(n) = self.open_count.get_mut(&(account, index)) {
                    *n = n.saturating_sub(1);
                }
            }
        }
    }

    /// Ends an order: releases what it still locks and, for cancels and
    /// expiries, reports it. Filled orders were reported by their last trade.
    fn finish(&mut self, id: u64, exec: Option<ExecType>, cancel_client_id: Option<String>, now: i64) {
        let o = self.orders.get_mut(&id).expect("finishing a known order");
        let was_resting = o.status.is_open() && exec == Some(ExecType::Canceled);
        match exec {
            Some(ExecType::Canceled) => o.status = Status::Canceled,
            Some(ExecType::Expired) => o.status = Status::Expired,
            _ => {}
        }
        o.update_time = now;
        let (account, locked, side, symbol) = (o.account, o.locked, o.side, o.symbol.clone());
        o.locked = Decimal::ZERO;
        let index = self.by_name[&symbol];
        let c = &self.symbols[index].config;
        let asset = if side == Side::Buy { c.quote.clone() } else { c.base.clone() };
        if locked > Decimal::ZERO {
            self.ledger.unlock(account, &asset, locked);
        }
        if was_resting && let Some(n) = self.open_count.get_mut(&(account, index)) {
            *n = n.saturating_sub(1);
        }
        if let Some(exec) = exec {
            self.report(id, exec, None, cancel_client_id, now);
        }
        if account == MARKET_ACCOUNT {
            self.orders.remove(&id);
        } else {
            self.retire(id);
        }
    }

    /// Keeps the last [`CLOSED_KEPT`] closed orders of the accounts queryable;
    /// older ones leave memory (a venue's order history is finite too).
    fn retire(&mut self, id: u64) {
        self.closed.push_back(id);
        while self.closed.len() > CLOSED_KEPT {
            let Some(old) = self.closed.pop_front() else { break };
            if let Some(o) = self.orders.remove(&old) {
                let key = (o.account, o.client_id);
                if self.by_client.get(&key) == Some(&old) {
                    self.by_client.remove(&key);
                }
            }
        }
    }

    fn report(&mut self, id: u64, exec: ExecType, fill: Option<LastFill>, cancel_client_id: Option<String>, now: i64) {
        let o = &self.orders[&id];
        if o.account == MARKET_ACCOUNT {
            return;
        }
        self.events.push(Event::Execution {
            account: o.account,
            order: Box::new(o.clone()),
            exec,
            fill,
            cancel_client_id,
            time: now,
        });
    }

    fn mark_dirty(&mut self, index: usize, is_bid: bool, ticks: i64) {
        self.symbols[index].dirty.insert((is_bid, ticks));
    }

    /// Bumps the book's update id, notes a changed top of book and reports balances.
    fn after_change(&mut self, index: usize, accounts: &BTreeSet<AccountId>, now: i64) {
        let s = &mut self.symbols[index];
        s.update_id += 1;
        let top = [s.book.best_bid(), s.book.best_ask()];
        if top != s.top {
            s.top = top;
            self.events.push(Event::BookTicker { symbol: s.config.symbol.clone() });
        }
        let (base, quote) = (s.config.base.clone(), s.config.quote.clone());
        for &account in accounts {
            if account == MARKET_ACCOUNT {
                continue;
            }
            let balances = [&base, &quote].into_iter().map(|a| (a.clone(), self.ledger.balance(account, a))).collect();
            self.events.push(Event::Balances { account, balances, time: now });
        }
    }
}

struct Plan {
    lots: i64,
    orig_qty: Decimal,
    lock: Decimal,
    book_kind: BookOrderType,
    price_ticks: i64,
    rests: bool,
}

impl Side {
    fn book_side_is_bid(self) -> bool {
        self == Side::Buy
    }
}

fn opposite(side: BookSide) -> BookSide {
    match side {
        BookSide::Bid => BookSide::Ask,
        BookSide::Ask => BookSide::Bid,
    }
}

fn mandatory(name: &str) -> ApiError {
    ApiError::new(-1102, format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."))
}

fn no_such_order() -> ApiError {
    ApiError::new(-2013, "Order does not exist.")
}

/// Commissions are kept to 8 decimals, as Binance shows them.
fn round_fee(fee: Decimal) -> Decimal {
    fee.round_dp_with_strategy(8, rust_decimal::RoundingStrategy::ToZero)
}

fn update_candle(
    candle: &mut Option<Candle>,
    history: &mut std::collections::VecDeque<Candle>,
    trade_id: u64,
    price: Decimal,
    qty: Decimal,
    now: i64,
) {
    let open_time = now - now.rem_euclid(60_000);
    match candle {
        Some(c) if c.open_time == open_time => {
            c.high = c.high.max(price);
            c.low = c.low.min(price);
            c.close = price;
            c.volume += qty;
            c.quote_volume += price * qty;
            c.trades += 1;
            c.last_trade = trade_id;
        }
        _ => {
            if let Some(done) = candle.take() {
                history.push_back(done);
                if history.len() > 1000 {
                    history.pop_front();
                }
            }
            *candle = Some(Candle {
                open_time,
                open: price,
                high: price,
                low: price,
                close: price,
                volume: qty,
                quote_volume: price * qty,
                trades: 1,
                first_trade: trade_id,
                last_trade: trade_id,
            });
        }
    }
}

#[cfg(test)]
mod tests;
