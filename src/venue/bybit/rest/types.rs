//! The shapes of Bybit v5's answers the connector reads (REST `result`s and
//! the private stream's `data`, which share them), and its words for
//! statuses, sides and order types in the order manager's terms.
//!
//! Bybit writes every number as a string and an absent one as `""` (a
//! market order's price, a new order's average price): those read as zero.

use rust_decimal::Decimal;
use serde::Deserialize;
use tradewind_strategies::sdk::{
    Asset, Balance, InstrumentSpec, Liquidity, OrderKind, Price, Side, Symbol, TimeInForce, Timestamp, TradeId,
    VenueOrderId,
};

use crate::execution::report::{OrderStatus, VenueTrade};
use crate::execution::venue::{AccountState, OrderState};
pub use crate::venue::wire::{decimal, millis};

/// A page of a list answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub list: Vec<T>,
    /// Where the next page starts (`""`: this was the last).
    #[serde(default)]
    pub next_page_cursor: String,
}

/// `order/create`'s answer (and `order/cancel`'s).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderAck {
    pub order_id: VenueOrderId,
}

/// One order: a row of `order/realtime` or `order/history`, or the `order` topic's data.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRow {
    #[serde(default)]
    pub category: String,
    pub order_id: VenueOrderId,
    #[serde(default)]
    pub order_link_id: String,
    pub symbol: String,
    #[serde(default, deserialize_with = "decimal")]
    pub price: Decimal,
    #[serde(deserialize_with = "decimal")]
    pub qty: Decimal,
    pub side: String,
    pub order_status: String,
    #[serde(default, deserialize_with = "decimal")]
    pub cum_exec_qty: Decimal,
    #[serde(default)]
    pub time_in_force: String,
    #[serde(default)]
    pub order_type: String,
    #[serde(default)]
    pub reject_reason: String,
    #[serde(default, deserialize_with = "millis")]
    pub created_time: Option<i64>,
}

/// One fill: a row of `execution/list`, or the `execution` topic's data.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    #[serde(default)]
    pub category: String,
    pub symbol: String,
    pub order_id: VenueOrderId,
    #[serde(default)]
    pub order_link_id: String,
    pub exec_id: TradeId,
    #[serde(deserialize_with = "decimal")]
    pub exec_price: Decimal,
    #[serde(deserialize_with = "decimal")]
    pub exec_qty: Decimal,
    #[serde(default, deserialize_with = "decimal")]
    pub exec_fee: Decimal,
    #[serde(default)]
    pub fee_currency: String,
    #[serde(default)]
    pub is_maker: bool,
    #[serde(default, deserialize_with = "millis")]
    pub exec_time: Option<i64>,
    #[serde(default)]
    pub exec_type: String,
    #[serde(default, deserialize_with = "decimal")]
    pub order_qty: Decimal,
    #[serde(default, deserialize_with = "decimal")]
    pub leaves_qty: Decimal,
}

/// One account of `account/wallet-balance` (or the `wallet` topic).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wallet {
    #[serde(default)]
    pub account_type: String,
    pub coin: Vec<CoinBalance>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoinBalance {
    pub coin: String,
    #[serde(default, deserialize_with = "decimal")]
    pub wallet_balance: Decimal,
    /// Held by open spot orders.
    #[serde(default, deserialize_with = "decimal")]
    pub locked: Decimal,
    /// Borrowed (counted in the wallet balance, not the account's own).
    #[serde(default, deserialize_with = "decimal")]
    pub spot_borrow: Decimal,
}

impl CoinBalance {
    /// The coin as a balance: what the account owns, less what open orders hold.
    pub fn balance(&self) -> Balance {
        let own = self.wallet_balance - self.spot_borrow;
        Balance { free: (own - self.locked).max(Decimal::ZERO), locked: self.locked }
    }
}

/// One spot instrument of `market/instruments-info`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instrument {
    pub symbol: String,
    pub base_coin: String,
    pub quote_coin: String,
    pub status: String,
    pub lot_size_filter: LotSize,
    pub price_filter: PriceFilter,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LotSize {
    /// The quantity step.
    #[serde(deserialize_with = "decimal")]
    pub base_precision: Decimal,
    /// The smallest order value (quote); `minOrderQty` is no longer checked by the venue.
    #[serde(default, deserialize_with = "decimal")]
    pub min_order_amt: Decimal,
    #[serde(default, deserialize_with = "decimal")]
    pub max_order_amt: Decimal,
    #[serde(default, deserialize_with = "decimal")]
    pub max_limit_order_qty: Decimal,
    #[serde(default, deserialize_with = "decimal")]
    pub max_market_order_qty: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceFilter {
    #[serde(deserialize_with = "decimal")]
    pub tick_size: Decimal,
}

impl Instrument {
    /// The trading rules in the strategies' terms (`None`: a name this build cannot hold).
    /// Limit orders are checked against `maxLimitOrderQty`; a market order
    /// larger than `maxMarketOrderQty` is refused by the venue.
    pub fn spec(&self) -> Option<InstrumentSpec> {
        let lot = &self.lot_size_filter;
        Some(InstrumentSpec {
            symbol: Symbol::new(&self.symbol).ok()?,
            base: Asset::new(&self.base_coin).ok()?,
            quote: Asset::new(&self.quote_coin).ok()?,
            tick_size: self.price_filter.tick_size,
            min_price: self.price_filter.tick_size,
            max_price: Decimal::ZERO,
            step_size: lot.base_precision,
            min_qty: lot.base_precision,
            max_qty: lot.max_limit_order_qty,
            min_notional: lot.min_order_amt,
            max_notional: lot.max_order_amt,
        })
    }

    pub fn is_trading(&self) -> bool {
        self.status == "Trading"
    }
}

/// Bybit's order status in the order manager's terms (conditional orders
/// not yet triggered count as open; a word this build does not know, too,
/// so that the order is asked about again rather than forgotten).
pub fn status(status: &str) -> OrderStatus {
    match status {
        "PartiallyFilled" => OrderStatus::PartiallyFilled,
        "Filled" => OrderStatus::Filled,
        "Cancelled" | "PartiallyFilledCanceled" | "Deactivated" => OrderStatus::Canceled,
        "Rejected" => OrderStatus::Rejected,
        // New, Untriggered, Triggered, and anything newer.
        _ => OrderStatus::New,
    }
}

pub fn side(side: &str) -> Option<Side> {
    match side {
        "Buy" => Some(Side::Buy),
        "Sell" => Some(Side::Sell),
        _ => None,
    }
}

pub fn side_word(side: Side) -> &'static str {
    match side {
        Side::Buy => "Buy",
        Side::Sell => "Sell",
    }
}

/// Bybit's order type and time in force in the strategies' terms.
pub fn order_kind(order_type: &str, time_in_force: &str, price: Price) -> Option<OrderKind> {
    Some(match (order_type, time_in_force) {
        ("Market", _) => OrderKind::Market,
        ("Limit", "PostOnly") => OrderKind::PostOnly { price },
        ("Limit", "GTC") => OrderKind::Limit { price, tif: TimeInForce::Gtc },
        ("Limit", "IOC") => OrderKind::Limit { price, tif: TimeInForce::Ioc },
        ("Limit", "FOK") => OrderKind::Limit { price, tif: TimeInForce::Fok },
        _ => return None,
    })
}

impl OrderRow {
    pub fn state(&self) -> OrderState {
        OrderState {
            client_order_id: self.order_link_id.clone(),
            venue_order_id: self.order_id,
            symbol: self.symbol.clone(),
            status: status(&self.order_status),
            executed_qty: self.cum_exec_qty,
            side: side(&self.side),
            kind: order_kind(&self.order_type, &self.time_in_force, Price::new(self.price)),
            price: self.price,
            qty: self.qty,
            time: self.created_time,
        }
    }
}

impl Execution {
    pub fn trade(&self) -> VenueTrade {
        VenueTrade {
            trade_id: self.exec_id,
            venue_order_id: self.order_id,
            price: self.exec_price,
            qty: self.exec_qty,
            fee: self.exec_fee,
            fee_asset: Asset::new(&self.fee_currency).ok().filter(|_| !self.fee_currency.is_empty()),
            liquidity: if self.is_maker { Liquidity::Maker } else { Liquidity::Taker },
            time: Timestamp(self.exec_time.unwrap_or_default()),
        }
    }
}

/// The whole unified account.
pub fn account_state(wallets: &[Wallet]) -> AccountState {
    AccountState {
        update_time: None,
        balances: wallets.iter().flat_map(|w| &w.coin).map(|c| (c.coin.clone(), c.balance())).collect(),
    }
}
