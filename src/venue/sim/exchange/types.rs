//! The exchange's vocabulary: Binance-style errors, order enums, orders,
//! trades, the events the server publishes, and one symbol's state.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::venue::sim::config::SymbolConfig;
use crate::venue::sim::ledger::{AccountId, Balance};
use crate::venue::sim::matching::{Book, BookSide, Tif};

/// A Binance-style error: the code and message go into `{"code":…,"msg":…}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {msg}")]
pub struct ApiError {
    pub code: i32,
    pub msg: String,
}

impl ApiError {
    pub fn new(code: i32, msg: impl Into<String>) -> Self {
        Self { code, msg: msg.into() }
    }

    pub(super) fn filter(name: &str) -> Self {
        Self::new(-1013, format!("Filter failure: {name}"))
    }

    pub(super) fn insufficient() -> Self {
        Self::new(-2010, "Account has insufficient balance for requested action.")
    }

    pub fn unknown_order() -> Self {
        Self::new(-2011, "Unknown order sent.")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }

    pub(super) fn book_side(self) -> BookSide {
        match self {
            Side::Buy => BookSide::Bid,
            Side::Sell => BookSide::Ask,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrdType {
    Limit,
    LimitMaker,
    Market,
}

impl OrdType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrdType::Limit => "LIMIT",
            OrdType::LimitMaker => "LIMIT_MAKER",
            OrdType::Market => "MARKET",
        }
    }
}

pub fn tif_str(tif: Tif) -> &'static str {
    match tif {
        Tif::Gtc => "GTC",
        Tif::Ioc => "IOC",
        Tif::Fok => "FOK",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    New,
    PartiallyFilled,
    Filled,
    Canceled,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "NEW",
            Status::PartiallyFilled => "PARTIALLY_FILLED",
            Status::Filled => "FILLED",
            Status::Canceled => "CANCELED",
            Status::Expired => "EXPIRED",
        }
    }

    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::PartiallyFilled)
    }
}

/// A new order after the server parsed its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub symbol: String,
    pub side: Side,
    pub kind: OrdType,
    pub tif: Tif,
    pub qty: Option<Decimal>,
    pub quote_qty: Option<Decimal>,
    pub price: Option<Decimal>,
    pub client_id: Option<String>,
}

/// An order as the venue keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: u64,
    pub account: AccountId,
    pub symbol: String,
    pub client_id: String,
    pub side: Side,
    pub kind: OrdType,
    pub tif: Tif,
    pub price: Decimal,
    pub orig_qty: Decimal,
    pub orig_quote_qty: Decimal,
    pub executed_qty: Decimal,
    pub cum_quote: Decimal,
    pub status: Status,
    pub time: i64,
    pub update_time: i64,
    /// What is still locked for this order, in the asset it spends.
    pub(super) locked: Decimal,
}

/// One of an account's trades (a `myTrades` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTrade {
    pub symbol: String,
    pub id: u64,
    pub order_id: u64,
    pub price: Decimal,
    pub qty: Decimal,
    pub quote_qty: Decimal,
    pub commission: Decimal,
    pub commission_asset: String,
    pub time: i64,
    pub is_buyer: bool,
    pub is_maker: bool,
}

/// Why an execution report is sent (`x`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecType {
    New,
    Canceled,
    Trade,
    Expired,
    /// Quantity or price changed in place (Binance's word for an amend).
    Amended,
}

impl ExecType {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecType::New => "NEW",
            ExecType::Canceled => "CANCELED",
            ExecType::Trade => "TRADE",
            ExecType::Expired => "EXPIRED",
            ExecType::Amended => "REPLACED",
        }
    }
}

/// The fill part of an execution report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastFill {
    pub trade_id: u64,
    pub price: Decimal,
    pub qty: Decimal,
    pub commission: Decimal,
    pub commission_asset: String,
    pub is_maker: bool,
}

/// What the server publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Trade {
        symbol: String,
        id: u64,
        price: Decimal,
        qty: Decimal,
        buyer_is_maker: bool,
        time: i64,
    },
    /// The best bid or ask of a symbol changed.
    BookTicker {
        symbol: String,
    },
    Execution {
        account: AccountId,
        order: Box<Order>,
        exec: ExecType,
        fill: Option<LastFill>,
        /// The client id of the cancel request (`c` on CANCELED; the order's is then in `C`).
        cancel_client_id: Option<String>,
        time: i64,
    },
    Balances {
        account: AccountId,
        balances: Vec<(String, Balance)>,
        time: i64,
    },
}

/// One price level as decimals.
pub type LevelDec = (Decimal, Decimal);

/// Changed levels of one symbol's book since the last diff (`depthUpdate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthDiff {
    pub first_update_id: u64,
    pub last_update_id: u64,
    pub bids: Vec<LevelDec>,
    pub asks: Vec<LevelDec>,
}

/// The current 1-minute candle of a symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candle {
    pub open_time: i64,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: Decimal,
    pub quote_volume: Decimal,
    pub trades: u64,
    pub first_trade: u64,
    pub last_trade: u64,
}

/// One symbol: its rules, book and streams' state.
pub struct SymbolState {
    pub config: SymbolConfig,
    pub min_qty: Decimal,
    pub(super) book: Book,
    pub(super) update_id: u64,
    pub(super) flushed_id: u64,
    pub(super) dirty: BTreeSet<(bool, i64)>,
    pub(super) next_trade_id: u64,
    /// Best bid and ask (ticks, lots) when last published.
    pub(super) top: [Option<(i64, i64)>; 2],
    pub candle: Option<Candle>,
    /// Finished 1-minute candles, oldest first (the last 1000).
    pub history: std::collections::VecDeque<Candle>,
    /// Recent public trades (newest last), for `/api/v3/trades`.
    pub recent: std::collections::VecDeque<(u64, Decimal, Decimal, i64, bool)>,
    pub(super) market_orders: Vec<u64>,
}

impl SymbolState {
    pub(super) fn price(&self, ticks: i64) -> Decimal {
        Decimal::from(ticks) * self.config.tick_size
    }

    pub(super) fn qty(&self, lots: i64) -> Decimal {
        Decimal::from(lots) * self.config.step_size
    }

    pub(super) fn ticks(&self, price: Decimal) -> Option<i64> {
        whole(price / self.config.tick_size)
    }

    pub(super) fn lots(&self, qty: Decimal) -> Option<i64> {
        whole(qty / self.config.step_size)
    }

    pub fn best_bid(&self) -> Option<LevelDec> {
        self.book.best_bid().map(|(p, q)| (self.price(p), self.qty(q)))
    }

    pub fn best_ask(&self) -> Option<LevelDec> {
        self.book.best_ask().map(|(p, q)| (self.price(p), self.qty(q)))
    }

    pub fn update_id(&self) -> u64 {
        self.update_id
    }

    pub fn last_price(&self) -> Option<Decimal> {
        self.recent.back().map(|t| t.1)
    }
}

/// `x` as an integer if it has no fraction and fits.
pub(super) fn whole(x: Decimal) -> Option<i64> {
    if x.fract().is_zero() { x.to_i64() } else { None }
}
