//! What a venue says about one of our orders, in the terms the order
//! tracking works in. Each connector translates its venue's words (Binance's
//! `PENDING_NEW`, Bybit's `PartiallyFilledCanceled`, OKX's `live`) into these.

use rust_decimal::Decimal;
use tradewind_strategies::sdk::{Asset, Liquidity, Timestamp, TradeId, VenueOrderId};

/// Where the venue says an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// On the book (or about to be), nothing filled.
    New,
    /// On the book, partly filled.
    PartiallyFilled,
    /// Filled completely: off the book.
    Filled,
    /// Cancelled (by us, the operator or the venue), whatever filled before.
    Canceled,
    /// Refused by the venue's matching engine after it was accepted for processing.
    Rejected,
    /// Ended by its time in force or by the venue (self-trade prevention, a
    /// post-only order that would have crossed, an IOC's rest).
    Expired,
}

impl OrderStatus {
    /// Whether the order can still fill.
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "new",
            OrderStatus::PartiallyFilled => "partially_filled",
            OrderStatus::Filled => "filled",
            OrderStatus::Canceled => "canceled",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Expired => "expired",
        }
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One fill of one of our orders, as the venue reports it (a trade-history
/// row or a stream report): applied once, by trade id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueTrade {
    pub trade_id: TradeId,
    pub venue_order_id: VenueOrderId,
    pub price: Decimal,
    pub qty: Decimal,
    pub fee: Decimal,
    /// `None` when the venue names no asset (or one too long to be one).
    pub fee_asset: Option<Asset>,
    pub liquidity: Liquidity,
    pub time: Timestamp,
}
