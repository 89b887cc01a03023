//! Placing an order against the book: the filters and what it locks
//! ([`Exchange::plan`]), each match settled in the ledger with its fees, the
//! order's end, its reports, and the book's depth diff and candles updated.

use std::collections::BTreeSet;

use rust_decimal::Decimal;

use super::*;

impl Exchange {
    /// Validates an order against the filters and works out what it locks.
    pub(super) fn plan(&self, index: usize, req: &NewOrder) -> Result<Plan, ApiError> {
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
    pub(super) fn cost_of(&self, index: usize, side: Side, mut lots: i64) -> Decimal {
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
    pub(super) fn lots_for_budget(&self, index: usize, side: Side, mut budget: Decimal) -> i64 {
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
    pub(super) fn settle(&mut self, index: usize, taker_id: u64, m: &Match, now: i64) {
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
    pub(super) fn finish(&mut self, id: u64, exec: Option<ExecType>, cancel_client_id: Option<String>, now: i64) {
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
    pub(super) fn retire(&mut self, id: u64) {
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

    pub(super) fn report(
        &mut self,
        id: u64,
        exec: ExecType,
        fill: Option<LastFill>,
        cancel_client_id: Option<String>,
        now: i64,
    ) {
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

    pub(super) fn mark_dirty(&mut self, index: usize, is_bid: bool, ticks: i64) {
        self.symbols[index].dirty.insert((is_bid, ticks));
    }

    /// Bumps the book's update id, notes a changed top of book and reports balances.
    pub(super) fn after_change(&mut self, index: usize, accounts: &BTreeSet<AccountId>, now: i64) {
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

pub(super) struct Plan {
    pub(super) lots: i64,
    pub(super) orig_qty: Decimal,
    pub(super) lock: Decimal,
    pub(super) book_kind: BookOrderType,
    pub(super) price_ticks: i64,
    pub(super) rests: bool,
}

impl Side {
    pub(super) fn book_side_is_bid(self) -> bool {
        self == Side::Buy
    }
}

pub(super) fn opposite(side: BookSide) -> BookSide {
    match side {
        BookSide::Bid => BookSide::Ask,
        BookSide::Ask => BookSide::Bid,
    }
}

pub(super) fn mandatory(name: &str) -> ApiError {
    ApiError::new(-1102, format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."))
}

pub(super) fn no_such_order() -> ApiError {
    ApiError::new(-2013, "Order does not exist.")
}

/// Commissions are kept to 8 decimals, as Binance shows them.
pub(super) fn round_fee(fee: Decimal) -> Decimal {
    fee.round_dp_with_strategy(8, rust_decimal::RoundingStrategy::ToZero)
}

pub(super) fn update_candle(
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
