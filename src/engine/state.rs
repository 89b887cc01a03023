//! What the engine knows about the market and each strategy, and the
//! [`Context`] view strategies read it through.

use super::FastMap;

use tradewind_strategies::sdk::{
    Asset, Balance, Context, InstrumentSpec, MarketEvent, OpenOrder, Price, Qty, Quote, Side, Symbol, Timestamp,
    Trading, VenueId,
};

type Key = (VenueId, Symbol);

/// Market state shared by all strategies.
#[derive(Debug, Default)]
pub struct MarketState {
    pub now: Timestamp,
    pub book_tops: FastMap<Key, Quote>,
    pub last_trade: FastMap<Key, Price>,
    pub instruments: FastMap<Key, InstrumentSpec>,
    pub balances: FastMap<(VenueId, Asset), Balance>,
    /// The venues whose order entry amends in place.
    pub amends: Vec<VenueId>,
}

impl MarketState {
    /// Folds an event into the book tops and last prices.
    pub fn apply(&mut self, event: &MarketEvent) {
        match event {
            MarketEvent::Quote(q) => {
                self.book_tops.insert((q.venue, q.symbol), *q);
            }
            MarketEvent::Trade(t) => {
                self.last_trade.insert((t.venue, t.symbol), t.price);
                self.now = self.now.max(t.time);
            }
            MarketEvent::BookSnapshot(b) => {
                if let (Some(bid), Some(ask)) = (b.bids.first(), b.asks.first()) {
                    let quote = Quote {
                        venue: b.venue,
                        symbol: b.symbol,
                        bid_price: bid.price,
                        bid_qty: bid.qty,
                        ask_price: ask.price,
                        ask_qty: ask.qty,
                        update_id: b.last_update_id,
                    };
                    self.book_tops.insert((b.venue, b.symbol), quote);
                }
            }
            MarketEvent::Connectivity(c) if !c.up => {
                // A dead feed leaves stale tops; strategies must not price off them.
                self.book_tops.retain(|(venue, _), _| *venue != c.venue);
            }
            MarketEvent::BookDelta(_) | MarketEvent::Kline(_) | MarketEvent::Connectivity(_) => {}
        }
    }

    /// The price a position is valued at: mid of the book, else the last trade.
    pub fn mark(&self, venue: VenueId, symbol: Symbol) -> Option<rust_decimal::Decimal> {
        let mid = self
            .book_tops
            .get(&(venue, symbol))
            .map(|q| (q.bid_price.get() + q.ask_price.get()) / rust_decimal::Decimal::TWO);
        mid.or_else(|| self.last_trade.get(&(venue, symbol)).map(|p| p.get()))
    }

    /// The price a market order of `side` would be valued at: the far side of
    /// the book, else the last trade.
    pub fn reference_price(&self, venue: VenueId, symbol: Symbol, side: Side) -> Option<Price> {
        let from_book = self.book_tops.get(&(venue, symbol)).map(|q| match side {
            Side::Buy => q.ask_price,
            Side::Sell => q.bid_price,
        });
        from_book.or_else(|| self.last_trade.get(&(venue, symbol)).copied())
    }
}

/// One strategy's view of the world.
pub struct StrategyView<'a> {
    pub market: &'a MarketState,
    pub positions: &'a FastMap<Key, crate::portfolio::Position>,
    pub open_orders: &'a [OpenOrder],
    /// The stricter of the strategy's own trading state and the daemon's.
    pub trading: Trading,
}

impl Context for StrategyView<'_> {
    fn now(&self) -> Timestamp {
        self.market.now
    }

    fn instrument(&self, venue: VenueId, symbol: Symbol) -> Option<&InstrumentSpec> {
        self.market.instruments.get(&(venue, symbol))
    }

    fn position(&self, venue: VenueId, symbol: Symbol) -> Qty {
        self.positions.get(&(venue, symbol)).map_or(Qty::default(), |p| Qty::new(p.qty()))
    }

    fn balance(&self, venue: VenueId, asset: Asset) -> Balance {
        self.market.balances.get(&(venue, asset)).copied().unwrap_or_default()
    }

    fn open_orders(&self) -> &[OpenOrder] {
        self.open_orders
    }

    fn book_top(&self, venue: VenueId, symbol: Symbol) -> Option<Quote> {
        self.market.book_tops.get(&(venue, symbol)).copied()
    }

    fn trading(&self) -> Trading {
        self.trading
    }

    fn amends(&self, venue: VenueId) -> bool {
        self.market.amends.contains(&venue)
    }
}
