//! The shapes of Binance's REST answers the daemon reads, and their
//! translation into the venue-neutral terms (order statuses, fills).

use rust_decimal::Decimal;
use serde::Deserialize;
use tradewind_strategies::sdk::{Asset, InstrumentSpec, Liquidity, Symbol, Timestamp};

use crate::execution::report::{OrderStatus, VenueTrade};
use crate::venue::binance::limits::Limits;

/// `GET /api/v3/depth`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DepthSnapshot {
    #[serde(rename = "lastUpdateId")]
    pub last_update_id: u64,
    pub bids: Vec<[Decimal; 2]>,
    pub asks: Vec<[Decimal; 2]>,
}

/// `GET /api/v3/ticker/bookTicker`: the best bid and ask of one symbol.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookTicker {
    pub symbol: Symbol,
    pub bid_price: tradewind_strategies::sdk::Price,
    pub bid_qty: tradewind_strategies::sdk::Qty,
    pub ask_price: tradewind_strategies::sdk::Price,
    pub ask_qty: tradewind_strategies::sdk::Qty,
}

/// The ack of a new order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderAck {
    pub order_id: u64,
    pub client_order_id: String,
}

/// An order as `GET /api/v3/order` and `openOrders` describe it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderInfo {
    pub symbol: String,
    pub order_id: u64,
    pub client_order_id: String,
    pub executed_qty: Decimal,
    #[serde(deserialize_with = "de_order_status")]
    pub status: OrderStatus,
    #[serde(default)]
    pub side: String,
    #[serde(default)]
    pub price: Decimal,
    #[serde(default)]
    pub orig_qty: Decimal,
    #[serde(default, rename = "type")]
    pub order_type: String,
    #[serde(default)]
    pub time_in_force: String,
    /// When the order was placed (ms).
    #[serde(default)]
    pub time: Option<i64>,
}

/// A `myTrades` row.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountTrade {
    pub id: u64,
    pub order_id: u64,
    pub price: Decimal,
    pub qty: Decimal,
    pub commission: Decimal,
    pub commission_asset: String,
    pub time: i64,
    pub is_buyer: bool,
    pub is_maker: bool,
}

impl From<&AccountTrade> for VenueTrade {
    fn from(t: &AccountTrade) -> Self {
        VenueTrade {
            trade_id: t.id.into(),
            venue_order_id: t.order_id.into(),
            price: t.price,
            qty: t.qty,
            fee: t.commission,
            fee_asset: Asset::new(&t.commission_asset).ok(),
            liquidity: if t.is_maker { Liquidity::Maker } else { Liquidity::Taker },
            time: Timestamp(t.time),
        }
    }
}

/// Binance's order status (`X` in reports, `status` in queries) in the order
/// tracking's terms. `PENDING_NEW` is an order not on the book yet;
/// `PENDING_CANCEL` is documented as unused; `EXPIRED_IN_MATCH` (self-trade
/// prevention) and any status this build does not know count as expired.
pub fn order_status(status: &str) -> OrderStatus {
    match status {
        "NEW" | "PENDING_NEW" => OrderStatus::New,
        "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
        "FILLED" => OrderStatus::Filled,
        "CANCELED" | "PENDING_CANCEL" => OrderStatus::Canceled,
        "REJECTED" => OrderStatus::Rejected,
        _ => OrderStatus::Expired,
    }
}

pub(crate) fn de_order_status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<OrderStatus, D::Error> {
    let status = <std::borrow::Cow<'de, str> as Deserialize>::deserialize(d)?;
    Ok(order_status(&status))
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccountBalance {
    pub asset: String,
    pub free: Decimal,
    pub locked: Decimal,
}

/// The API key's permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiRestrictions {
    #[serde(default)]
    pub enable_withdrawals: bool,
    #[serde(default)]
    pub enable_spot_and_margin_trading: bool,
}

/// What `GET /api/v3/account` says that the daemon uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Account {
    /// The account's id, when the venue reports it (Binance does).
    #[serde(default)]
    pub uid: Option<u64>,
    /// When the account last changed (ms).
    #[serde(default, rename = "updateTime")]
    pub update_time: Option<i64>,
    pub balances: Vec<AccountBalance>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServerTime {
    pub(super) server_time: i64,
}

#[derive(Deserialize)]
pub(super) struct ErrorBody {
    pub(super) code: i32,
    pub(super) msg: String,
}

/// `exchangeInfo`, reduced to what the daemon uses.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeInfo {
    pub limits: Limits,
    pub instruments: Vec<InstrumentSpec>,
    /// Symbols whose status is not `TRADING`.
    pub halted: Vec<Symbol>,
}
