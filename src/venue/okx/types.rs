//! The shapes of OKX v5's answers the connector reads (REST `data` rows and
//! the private stream's, which share them), and its words for states,
//! sides and order types in the order manager's terms. Numbers are strings,
//! an absent one `""` (read as zero); a fee is negative when charged.

use rust_decimal::Decimal;
use serde::Deserialize;
use tradewind_strategies::sdk::{
    Asset, Balance, InstrumentSpec, Liquidity, OrderKind, Price, Side, Symbol, TimeInForce, Timestamp, TradeId,
    VenueOrderId,
};

use crate::execution::report::{OrderStatus, VenueTrade};
use crate::execution::venue::{AccountState, OrderState};
use crate::venue::wire::{decimal, millis};

/// One spot instrument of `public/instruments?instType=SPOT`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instrument {
    pub inst_id: String,
    pub base_ccy: String,
    pub quote_ccy: String,
    #[serde(deserialize_with = "decimal")]
    pub tick_sz: Decimal,
    /// The quantity step.
    #[serde(deserialize_with = "decimal")]
    pub lot_sz: Decimal,
    #[serde(deserialize_with = "decimal")]
    pub min_sz: Decimal,
    /// Largest limit order (base) and its value (quote).
    #[serde(default, deserialize_with = "decimal")]
    pub max_lmt_sz: Decimal,
    #[serde(default, deserialize_with = "decimal")]
    pub max_lmt_amt: Decimal,
    /// Largest market order (base: OKX caps a market order separately).
    #[serde(default, deserialize_with = "decimal")]
    pub max_mkt_sz: Decimal,
    /// `live`, `suspend`, `preopen`, `test`.
    pub state: String,
}

impl Instrument {
    /// The trading rules in the strategies' terms (`None`: a name this build
    /// cannot hold). OKX has no minimum order value for spot: `minSz` is the floor.
    pub fn spec(&self) -> Option<InstrumentSpec> {
        Some(InstrumentSpec {
            symbol: Symbol::new(&self.inst_id).ok()?,
            base: Asset::new(&self.base_ccy).ok()?,
            quote: Asset::new(&self.quote_ccy).ok()?,
            tick_size: self.tick_sz,
            min_price: self.tick_sz,
            max_price: Decimal::ZERO,
            step_size: self.lot_sz,
            min_qty: self.min_sz,
            max_qty: self.max_lmt_sz,
            min_notional: Decimal::ZERO,
            max_notional: self.max_lmt_amt,
        })
    }

    pub fn is_trading(&self) -> bool {
        self.state == "live"
    }
}

/// One order: a row of `trade/order`, `trade/orders-pending` or
/// `trade/orders-history`, or the `orders` channel's data (which adds the
/// fill the update is about, if any).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRow {
    pub inst_id: String,
    pub ord_id: VenueOrderId,
    #[serde(default)]
    pub cl_ord_id: String,
    #[serde(default, deserialize_with = "decimal")]
    pub px: Decimal,
    #[serde(deserialize_with = "decimal")]
    pub sz: Decimal,
    pub side: String,
    pub ord_type: String,
    /// `live`, `partially_filled`, `filled`, `canceled`, `mmp_canceled`.
    pub state: String,
    #[serde(default, deserialize_with = "decimal")]
    pub acc_fill_sz: Decimal,
    /// A market order's size unit: `base_ccy` or `quote_ccy`.
    #[serde(default)]
    pub tgt_ccy: String,
    #[serde(default, deserialize_with = "millis")]
    pub c_time: Option<i64>,
    // The fill this update reports (the `orders` channel only; empty otherwise).
    #[serde(default)]
    pub trade_id: String,
    #[serde(default, deserialize_with = "decimal")]
    pub fill_px: Decimal,
    #[serde(default, deserialize_with = "decimal")]
    pub fill_sz: Decimal,
    #[serde(default, deserialize_with = "decimal")]
    pub fill_fee: Decimal,
    #[serde(default)]
    pub fill_fee_ccy: String,
    /// `T` taker, `M` maker.
    #[serde(default)]
    pub exec_type: String,
    #[serde(default, deserialize_with = "millis")]
    pub fill_time: Option<i64>,
}

/// One fill: a row of `trade/fills` (and `trade/fills-history`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fill {
    pub inst_id: String,
    /// Where the next page starts (`after`).
    #[serde(default)]
    pub bill_id: String,
    pub trade_id: TradeId,
    pub ord_id: VenueOrderId,
    #[serde(default)]
    pub cl_ord_id: String,
    #[serde(deserialize_with = "decimal")]
    pub fill_px: Decimal,
    #[serde(deserialize_with = "decimal")]
    pub fill_sz: Decimal,
    #[serde(default)]
    pub exec_type: String,
    /// Negative when charged, positive for a rebate.
    #[serde(default, deserialize_with = "decimal")]
    pub fee: Decimal,
    #[serde(default)]
    pub fee_ccy: String,
    #[serde(default, deserialize_with = "millis")]
    pub ts: Option<i64>,
}

/// One account of `account/balance` (or the `account` channel).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    #[serde(default, deserialize_with = "millis")]
    pub u_time: Option<i64>,
    pub details: Vec<CurrencyBalance>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrencyBalance {
    pub ccy: String,
    /// What can be spent now.
    #[serde(default, deserialize_with = "decimal")]
    pub avail_bal: Decimal,
    /// Held by open orders.
    #[serde(default, deserialize_with = "decimal")]
    pub frozen_bal: Decimal,
}

/// OKX's order state in the order manager's terms (a word this build does
/// not know counts as open, so the order is asked about again rather than forgotten).
pub fn status(state: &str) -> OrderStatus {
    match state {
        "partially_filled" => OrderStatus::PartiallyFilled,
        "filled" => OrderStatus::Filled,
        "canceled" | "mmp_canceled" => OrderStatus::Canceled,
        _ => OrderStatus::New,
    }
}

pub fn side(side: &str) -> Option<Side> {
    match side {
        "buy" => Some(Side::Buy),
        "sell" => Some(Side::Sell),
        _ => None,
    }
}

pub fn side_word(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// OKX's `ordType` in the strategies' terms (one order type carries the
/// time in force); `None` for one a strategy cannot place (`optimal_limit_ioc`, …).
pub fn order_kind(ord_type: &str, price: Price) -> Option<OrderKind> {
    Some(match ord_type {
        "market" => OrderKind::Market,
        "limit" => OrderKind::Limit { price, tif: TimeInForce::Gtc },
        "ioc" => OrderKind::Limit { price, tif: TimeInForce::Ioc },
        "fok" => OrderKind::Limit { price, tif: TimeInForce::Fok },
        "post_only" => OrderKind::PostOnly { price },
        _ => return None,
    })
}

/// The `ordType` of an order (the inverse of [`order_kind`]).
pub fn ord_type(kind: &OrderKind) -> &'static str {
    match kind {
        OrderKind::Market => "market",
        OrderKind::Limit { tif: TimeInForce::Gtc, .. } => "limit",
        OrderKind::Limit { tif: TimeInForce::Ioc, .. } => "ioc",
        OrderKind::Limit { tif: TimeInForce::Fok, .. } => "fok",
        OrderKind::PostOnly { .. } => "post_only",
    }
}

fn asset(ccy: &str) -> Option<Asset> {
    Asset::new(ccy).ok().filter(|_| !ccy.is_empty())
}

fn liquidity(exec_type: &str) -> Liquidity {
    if exec_type == "M" { Liquidity::Maker } else { Liquidity::Taker }
}

impl OrderRow {
    pub fn state(&self) -> OrderState {
        OrderState {
            client_order_id: self.cl_ord_id.clone(),
            venue_order_id: self.ord_id,
            symbol: self.inst_id.clone(),
            status: status(&self.state),
            executed_qty: self.acc_fill_sz,
            side: side(&self.side),
            kind: order_kind(&self.ord_type, Price::new(self.px)),
            price: self.px,
            qty: self.sz,
            time: self.c_time,
        }
    }

    /// The fill an `orders` update reports, if it reports one.
    pub fn fill(&self) -> Option<VenueTrade> {
        if self.trade_id.is_empty() || self.fill_sz.is_zero() {
            return None;
        }
        Some(VenueTrade {
            trade_id: TradeId::new(&self.trade_id).ok()?,
            venue_order_id: self.ord_id,
            price: self.fill_px,
            qty: self.fill_sz,
            fee: -self.fill_fee,
            fee_asset: asset(&self.fill_fee_ccy),
            liquidity: liquidity(&self.exec_type),
            time: Timestamp(self.fill_time.unwrap_or_default()),
        })
    }
}

impl Fill {
    pub fn trade(&self) -> VenueTrade {
        VenueTrade {
            trade_id: self.trade_id,
            venue_order_id: self.ord_id,
            price: self.fill_px,
            qty: self.fill_sz,
            fee: -self.fee,
            fee_asset: asset(&self.fee_ccy),
            liquidity: liquidity(&self.exec_type),
            time: Timestamp(self.ts.unwrap_or_default()),
        }
    }
}

/// The trading account's balances.
pub fn account_state(accounts: &[Account]) -> AccountState {
    AccountState {
        update_time: accounts.iter().filter_map(|a| a.u_time).max(),
        balances: accounts
            .iter()
            .flat_map(|a| &a.details)
            .map(|c| (c.ccy.clone(), Balance { free: c.avail_bal, locked: c.frozen_bal }))
            .collect(),
    }
}

#[cfg(test)]
mod tests;
