//! Price-time priority limit order book, in integer ticks and lots.
//!
//! The simulator converts prices and quantities to integers at its boundary
//! (prices are multiples of the tick size and quantities of the step size,
//! so the conversion is exact) and matches on `i64`, which keeps matching
//! well above a million operations a second. It knows nothing of balances,
//! fees or the wire protocol; `exchange` builds those on top.
//!
//! Cancels are lazy: a cancelled order leaves its entry in the level's queue
//! and is skipped when matching reaches it (an entry names the order and its
//! arrival, so an order that left and rested again, amended, is matched at
//! its new place only); a level whose live quantity drops to zero is removed
//! with its queue.

use std::collections::{BTreeMap, HashMap, VecDeque};

/// Which side an order is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookSide {
    Bid,
    Ask,
}

/// Time in force of a limit order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tif {
    Gtc,
    Ioc,
    Fok,
}

/// What an incoming order asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    Limit {
        price: i64,
        tif: Tif,
    },
    /// A limit order that must not take liquidity (Binance LIMIT_MAKER).
    PostOnly {
        price: i64,
    },
    /// Takes `qty` lots at any price.
    Market,
    /// Takes liquidity worth at most `budget` (in tick × lot units) at any price;
    /// the order's `qty` is ignored.
    MarketQuote {
        budget: i128,
    },
}

/// An incoming order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    pub id: u64,
    pub owner: u32,
    pub side: BookSide,
    pub qty: i64,
    pub kind: OrderType,
}

/// One match between a resting (maker) and an incoming (taker) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub maker_id: u64,
    pub maker_owner: u32,
    pub price: i64,
    pub qty: i64,
    /// True when the maker order has nothing left.
    pub maker_done: bool,
}

/// What happened to an incoming order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Rests on the book with `remaining` lots (after any matches).
    Resting { remaining: i64 },
    /// Fully filled.
    Filled,
    /// IOC/FOK/market remainder not filled; `filled` lots traded.
    Expired { filled: i64 },
    /// Post-only order that would have taken liquidity; nothing happened.
    WouldTake,
}

/// An order resting on the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resting {
    pub id: u64,
    pub owner: u32,
    pub side: BookSide,
    pub price: i64,
    pub remaining: i64,
}

#[derive(Debug, Default)]
struct Level {
    /// (order id, arrival) in time priority.
    queue: VecDeque<(u64, u64)>,
    /// Live quantity (cancelled orders excluded).
    total: i64,
}

/// One symbol's book.
#[derive(Debug, Default)]
pub struct Book {
    bids: BTreeMap<i64, Level>,
    asks: BTreeMap<i64, Level>,
    /// Each resting order with its arrival number (its entry in a queue).
    orders: HashMap<u64, (Resting, u64)>,
    arrivals: u64,
}

impl Book {
    pub fn new() -> Self {
        Self::default()
    }

    /// Best bid price and its live quantity.
    pub fn best_bid(&self) -> Option<(i64, i64)> {
        self.bids.iter().next_back().map(|(p, l)| (*p, l.total))
    }

    /// Best ask price and its live quantity.
    pub fn best_ask(&self) -> Option<(i64, i64)> {
        self.asks.iter().next().map(|(p, l)| (*p, l.total))
    }

    /// Up to `n` levels of one side, best first.
    pub fn depth(&self, side: BookSide, n: usize) -> Vec<(i64, i64)> {
        self.levels(side).take(n).collect()
    }

    /// The levels of one side as (price, live quantity), best first.
    pub fn levels(&self, side: BookSide) -> Box<dyn Iterator<Item = (i64, i64)> + '_> {
        match side {
            BookSide::Bid => Box::new(self.bids.iter().rev().map(|(p, l)| (*p, l.total))),
            BookSide::Ask => Box::new(self.asks.iter().map(|(p, l)| (*p, l.total))),
        }
    }

    /// Live quantity at one price (0 when there is no level).
    pub fn level_qty(&self, side: BookSide, price: i64) -> i64 {
        let levels = match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        };
        levels.get(&price).map_or(0, |l| l.total)
    }

    pub fn order(&self, id: u64) -> Option<&Resting> {
        self.orders.get(&id).map(|(r, _)| r)
    }

    /// Number of resting orders.
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// Matches `order` against the book, appending matches to `matches`, and
    /// rests what a GTC limit order has left.
    pub fn submit(&mut self, order: Incoming, matches: &mut Vec<Match>) -> Outcome {
        let limit = match order.kind {
            OrderType::Limit { price, .. } | OrderType::PostOnly { price } => Some(price),
            OrderType::Market | OrderType::MarketQuote { .. } => None,
        };
        match order.kind {
            OrderType::PostOnly { price } if self.crosses(order.side, price) => {
                return Outcome::WouldTake;
            }
            OrderType::Limit { price, tif: Tif::Fok } if self.available(order.side, price) < order.qty => {
                return Outcome::Expired { filled: 0 };
            }
            _ => {}
        }
        let mut budget = match order.kind {
            OrderType::MarketQuote { budget } => Some(budget),
            _ => None,
        };
        let mut remaining = if budget.is_some() { i64::MAX } else { order.qty };
        let mut filled = 0;
        while remaining > 0 {
            let Some(level_price) = self.best_opposite(order.side) else {
                break;
            };
            if limit.is_some_and(|l| !crosses_price(order.side, l, level_price)) {
                break;
            }
            if let Some(b) = budget {
                let affordable = i64::try_from(b / i128::from(level_price)).unwrap_or(i64::MAX);
                remaining = remaining.min(affordable);
                if remaining == 0 {
                    break;
                }
            }
            let traded = self.take_level(order.side, level_price, remaining, matches);
            remaining -= traded;
            filled += traded;
            if let Some(b) = budget.as_mut() {
                *b -= i128::from(traded) * i128::from(level_price);
            }
        }
        match order.kind {
            OrderType::Limit { price, tif: Tif::Gtc } | OrderType::PostOnly { price } if remaining > 0 => {
                self.rest(Resting { id: order.id, owner: order.owner, side: order.side, price, remaining });
                Outcome::Resting { remaining }
            }
            OrderType::MarketQuote { .. } if filled > 0 => Outcome::Filled,
            _ if remaining == 0 => Outcome::Filled,
            _ => Outcome::Expired { filled },
        }
    }

    /// Removes a resting order; `None` if it is not on the book.
    pub fn cancel(&mut self, id: u64) -> Option<Resting> {
        let (resting, _) = self.orders.remove(&id)?;
        let levels = match resting.side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        if let Some(level) = levels.get_mut(&resting.price) {
            level.total -= resting.remaining;
            if level.total == 0 {
                levels.remove(&resting.price);
            }
        }
        Some(resting)
    }

    /// Lowers a resting order's remaining quantity to `remaining` (> 0, not
    /// more than it has) in place: it keeps its place in the queue.
    pub fn reduce(&mut self, id: u64, remaining: i64) {
        let Some((resting, _)) = self.orders.get_mut(&id) else { return };
        let cut = resting.remaining - remaining.clamp(1, resting.remaining);
        resting.remaining -= cut;
        let levels = match resting.side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        if let Some(level) = levels.get_mut(&resting.price) {
            level.total -= cut;
        }
    }

    fn rest(&mut self, order: Resting) {
        let levels = match order.side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        let level = levels.entry(order.price).or_default();
        self.arrivals += 1;
        level.queue.push_back((order.id, self.arrivals));
        level.total += order.remaining;
        self.orders.insert(order.id, (order, self.arrivals));
    }

    fn best_opposite(&self, side: BookSide) -> Option<i64> {
        match side {
            BookSide::Bid => self.asks.keys().next().copied(),
            BookSide::Ask => self.bids.keys().next_back().copied(),
        }
    }

    /// Would a limit order of `side` at `price` take liquidity?
    fn crosses(&self, side: BookSide, price: i64) -> bool {
        self.best_opposite(side).is_some_and(|best| crosses_price(side, price, best))
    }

    /// Live quantity an order of `side` limited at `price` could take.
    fn available(&self, side: BookSide, price: i64) -> i64 {
        match side {
            BookSide::Bid => self.asks.range(..=price).map(|(_, l)| l.total).sum(),
            BookSide::Ask => self.bids.range(price..).map(|(_, l)| l.total).sum(),
        }
    }

    /// Takes up to `want` lots from the level at `price`; returns lots traded.
    fn take_level(&mut self, side: BookSide, price: i64, want: i64, matches: &mut Vec<Match>) -> i64 {
        let levels = match side {
            BookSide::Bid => &mut self.asks,
            BookSide::Ask => &mut self.bids,
        };
        let level = levels.get_mut(&price).expect("best_opposite returned an existing level");
        let mut traded = 0;
        while traded < want {
            let Some(&(maker_id, arrival)) = level.queue.front() else {
                break;
            };
            let maker = match self.orders.get_mut(&maker_id) {
                Some((maker, at)) if *at == arrival => maker,
                _ => {
                    level.queue.pop_front(); // cancelled, or amended to another place, earlier
                    continue;
                }
            };
            let qty = maker.remaining.min(want - traded);
            maker.remaining -= qty;
            traded += qty;
            level.total -= qty;
            let maker_done = maker.remaining == 0;
            matches.push(Match { maker_id, maker_owner: maker.owner, price, qty, maker_done });
            if maker_done {
                self.orders.remove(&maker_id);
                level.queue.pop_front();
            }
        }
        if level.total == 0 {
            levels.remove(&price);
        }
        traded
    }
}

/// Does a `side` order limited at `limit` trade against a resting order at `resting`?
fn crosses_price(side: BookSide, limit: i64, resting: i64) -> bool {
    match side {
        BookSide::Bid => limit >= resting,
        BookSide::Ask => limit <= resting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn limit(id: u64, side: BookSide, price: i64, qty: i64) -> Incoming {
        Incoming { id, owner: id as u32, side, qty, kind: OrderType::Limit { price, tif: Tif::Gtc } }
    }

    fn submit(book: &mut Book, order: Incoming) -> (Outcome, Vec<Match>) {
        let mut matches = Vec::new();
        let outcome = book.submit(order, &mut matches);
        (outcome, matches)
    }

    #[test]
    fn price_then_time_priority() {
        let mut book = Book::new();
        submit(&mut book, limit(1, BookSide::Ask, 101, 5));
        submit(&mut book, limit(2, BookSide::Ask, 100, 5));
        submit(&mut book, limit(3, BookSide::Ask, 100, 5));
        let (outcome, matches) = submit(&mut book, limit(4, BookSide::Bid, 101, 12));
        assert_eq!(outcome, Outcome::Filled);
        let got: Vec<(u64, i64, i64, bool)> =
            matches.iter().map(|m| (m.maker_id, m.price, m.qty, m.maker_done)).collect();
        assert_eq!(got, [(2, 100, 5, true), (3, 100, 5, true), (1, 101, 2, false)]);
        assert_eq!(book.best_ask(), Some((101, 3)));
        assert_eq!(book.order(1).map(|o| o.remaining), Some(3));
    }

    #[test]
    fn gtc_remainder_rests_ioc_expires_fok_is_all_or_nothing() {
        let mut book = Book::new();
        submit(&mut book, limit(1, BookSide::Ask, 100, 5));
        let (o, _) = submit(&mut book, limit(2, BookSide::Bid, 100, 8));
        assert_eq!(o, Outcome::Resting { remaining: 3 });
        assert_eq!(book.best_bid(), Some((100, 3)));

        submit(&mut book, limit(3, BookSide::Ask, 101, 5));
        let ioc = Incoming { kind: OrderType::Limit { price: 101, tif: Tif::Ioc }, ..limit(4, BookSide::Bid, 101, 7) };
        assert_eq!(submit(&mut book, ioc).0, Outcome::Expired { filled: 5 });
        assert!(book.best_ask().is_none());

        submit(&mut book, limit(5, BookSide::Ask, 102, 5));
        let fok = Incoming { kind: OrderType::Limit { price: 102, tif: Tif::Fok }, ..limit(6, BookSide::Bid, 102, 6) };
        let (o, m) = submit(&mut book, fok);
        assert_eq!((o, m.len()), (Outcome::Expired { filled: 0 }, 0));
        assert_eq!(book.best_ask(), Some((102, 5)), "FOK that cannot fill leaves the book untouched");
    }

    #[test]
    fn post_only_is_refused_when_it_would_take() {
        let mut book = Book::new();
        submit(&mut book, limit(1, BookSide::Ask, 100, 5));
        let take = Incoming { kind: OrderType::PostOnly { price: 100 }, ..limit(2, BookSide::Bid, 100, 1) };
        assert_eq!(submit(&mut book, take).0, Outcome::WouldTake);
        let make = Incoming { kind: OrderType::PostOnly { price: 99 }, ..limit(3, BookSide::Bid, 99, 1) };
        assert_eq!(submit(&mut book, make).0, Outcome::Resting { remaining: 1 });
    }

    #[test]
    fn market_orders_by_quantity_and_by_quote_budget() {
        let mut book = Book::new();
        submit(&mut book, limit(1, BookSide::Ask, 100, 5));
        submit(&mut book, limit(2, BookSide::Ask, 110, 5));
        let market = Incoming { kind: OrderType::Market, ..limit(3, BookSide::Bid, 0, 7) };
        let (o, m) = submit(&mut book, market);
        assert_eq!(o, Outcome::Filled);
        assert_eq!(m.iter().map(|m| (m.price, m.qty)).collect::<Vec<_>>(), [(100, 5), (110, 2)]);

        // 700 buys 3 lots at 110 (330) and no more at that level: 3 × 110 = 330 ≤ 700, 6 × 110 > 700.
        let quote = Incoming { kind: OrderType::MarketQuote { budget: 700 }, ..limit(4, BookSide::Bid, 0, 0) };
        let (o, m) = submit(&mut book, quote);
        assert_eq!((o, m[0].qty), (Outcome::Filled, 3));
        // Nothing left to buy: a market order expires unfilled.
        let empty = Incoming { kind: OrderType::Market, ..limit(5, BookSide::Bid, 0, 1) };
        assert_eq!(submit(&mut book, empty).0, Outcome::Expired { filled: 0 });
    }

    #[test]
    fn cancelled_orders_are_skipped_and_levels_removed() {
        let mut book = Book::new();
        submit(&mut book, limit(1, BookSide::Bid, 100, 5));
        submit(&mut book, limit(2, BookSide::Bid, 100, 5));
        assert_eq!(book.cancel(1).map(|o| o.remaining), Some(5));
        assert_eq!(book.cancel(1), None);
        assert_eq!(book.best_bid(), Some((100, 5)));
        let (_, m) = submit(&mut book, limit(3, BookSide::Ask, 100, 5));
        assert_eq!(m.iter().map(|m| m.maker_id).collect::<Vec<_>>(), [2]);
        assert!(book.best_bid().is_none() && book.is_empty());
    }

    proptest! {
        /// For any sequence of orders and cancels: quantity is conserved (what
        /// went in = traded twice + resting + expired + cancelled), the book is
        /// never crossed, and level totals equal their live orders.
        #[test]
        fn book_invariants_hold(ops in proptest::collection::vec((0u8..10, 90i64..110, 1i64..20), 1..300)) {
            let mut book = Book::new();
            let mut matches = Vec::new();
            let (mut submitted, mut traded, mut dropped, mut cancelled) = (0i64, 0i64, 0i64, 0i64);
            for (i, (op, price, qty)) in ops.into_iter().enumerate() {
                let id = i as u64;
                let side = if op % 2 == 0 { BookSide::Bid } else { BookSide::Ask };
                if op == 9 {
                    if let Some(r) = book.cancel(id / 2) { cancelled += r.remaining; }
                    continue;
                }
                let kind = match op {
                    6 => OrderType::Limit { price, tif: Tif::Ioc },
                    7 => OrderType::Limit { price, tif: Tif::Fok },
                    8 => OrderType::Market,
                    _ => OrderType::Limit { price, tif: Tif::Gtc },
                };
                matches.clear();
                let outcome = book.submit(Incoming { id, owner: 0, side, qty, kind }, &mut matches);
                submitted += qty;
                let t: i64 = matches.iter().map(|m| m.qty).sum();
                traded += t;
                match outcome {
                    Outcome::Resting { remaining } => prop_assert_eq!(remaining, qty - t),
                    Outcome::Filled => prop_assert_eq!(t, qty),
                    Outcome::Expired { filled } => { prop_assert_eq!(filled, t); dropped += qty - t; }
                    Outcome::WouldTake => dropped += qty,
                }
                if let (Some((b, _)), Some((a, _))) = (book.best_bid(), book.best_ask()) {
                    prop_assert!(b < a, "crossed book: bid {} ask {}", b, a);
                }
            }
            let resting: i64 = book.orders.values().map(|(o, _)| o.remaining).sum();
            // Each trade consumes qty from a resting order that was itself submitted.
            prop_assert_eq!(submitted, 2 * traded + resting + dropped + cancelled);
            for (levels, side) in [(&book.bids, BookSide::Bid), (&book.asks, BookSide::Ask)] {
                for (price, level) in levels {
                    let live: i64 = book.orders.values().map(|(o, _)| o).filter(|o| o.side == side && o.price == *price).map(|o| o.remaining).sum();
                    prop_assert_eq!(level.total, live);
                    prop_assert!(level.total > 0);
                }
            }
        }
    }
}
