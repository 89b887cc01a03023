//! Positions and PnL from fills, in exact decimals.
//!
//! A position is a FIFO queue of lots (signed quantity, price). A fill on the
//! opposite side closes lots first (realising `(exit − entry) × qty`), the
//! rest opens a new lot. A commission paid in the base asset comes out of the
//! lots like a sale at zero (its cost at entry price is counted as a fee), so
//! the position always equals the base asset actually held. No division is
//! involved anywhere except the displayed average entry, so
//! `realised + unrealised − fees` is exactly the change in account value at
//! the mark; the property test below checks it for any sequence of fills.
//! It only applies fills: it never guesses.

use std::collections::{BTreeMap, VecDeque};

use rust_decimal::Decimal;
use tradewind_strategies::sdk::{Asset, Fill};

/// One lot: quantity (positive long, negative short) opened at `price`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lot {
    qty: Decimal,
    price: Decimal,
}

/// A position in one instrument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    lots: VecDeque<Lot>,
    /// Realised PnL in the quote asset.
    pub realized: Decimal,
    /// Commissions in the quote asset, plus base-asset commissions valued at entry.
    pub fees: Decimal,
    /// Commissions in other assets (e.g. BNB), by asset.
    pub other_fees: BTreeMap<Asset, Decimal>,
}

impl Position {
    /// Net quantity (what is held, after base-asset fees).
    pub fn qty(&self) -> Decimal {
        self.lots.iter().map(|l| l.qty).sum()
    }

    /// Average entry price of the open quantity (rounded for display; `None` when flat).
    pub fn avg_entry(&self) -> Option<Decimal> {
        let qty = self.qty();
        if qty.is_zero() {
            return None;
        }
        Some((self.cost() / qty).round_dp(12))
    }

    /// What the open quantity cost (Σ lot quantity × entry price; negative for a short).
    pub fn cost(&self) -> Decimal {
        self.lots.iter().map(|l| l.qty * l.price).sum()
    }

    /// PnL of the open quantity at `mark`.
    pub fn unrealized(&self, mark: Decimal) -> Decimal {
        self.lots.iter().map(|l| l.qty * (mark - l.price)).sum()
    }

    /// Applies a fill. `assets` (base, quote) say how its commission counts;
    /// without them (rules not known yet) it is kept by asset in `other_fees`.
    pub fn apply(&mut self, fill: &Fill, assets: Option<(Asset, Asset)>) {
        let signed = fill.side.sign() * fill.qty.get();
        self.trade(signed, fill.price.get());
        let (base, quote) = assets.map_or((None, None), |(b, q)| (Some(b), Some(q)));
        match fill.fee_asset {
            Some(a) if Some(a) == quote => self.fees += fill.fee,
            Some(a) if Some(a) == base => {
                // The fee leaves the position like a sale at zero; its cost is a fee, not a loss.
                let before = self.realized;
                self.trade(-fill.fee, Decimal::ZERO);
                let cost = before - self.realized;
                self.realized = before;
                self.fees += cost;
            }
            Some(a) => *self.other_fees.entry(a).or_default() += fill.fee,
            None => {}
        }
    }

    /// Trades `signed` units at `price`: closes opposite lots first (FIFO), opens the rest.
    fn trade(&mut self, mut signed: Decimal, price: Decimal) {
        while !signed.is_zero() {
            let Some(front) = self.lots.front_mut() else { break };
            if front.qty.is_sign_positive() == signed.is_sign_positive() {
                break;
            }
            let closing = if front.qty.abs() <= signed.abs() { front.qty } else { -signed };
            // Closing a long (closing > 0) at `price` realises (price − entry) per unit; a short the reverse.
            self.realized += closing * (price - front.price);
            front.qty -= closing;
            signed += closing;
            if front.qty.is_zero() {
                self.lots.pop_front();
            }
        }
        if !signed.is_zero() {
            self.lots.push_back(Lot { qty: signed, price });
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tradewind_strategies::sdk::{ClientOrderId, Liquidity, Price, Qty, Side, Symbol, Timestamp, VenueId};

    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn btc() -> Asset {
        Asset::new("BTC").unwrap()
    }

    fn usdt() -> Asset {
        Asset::new("USDT").unwrap()
    }

    fn fill(side: Side, qty: Decimal, price: Decimal, fee: Decimal, fee_asset: Option<Asset>) -> Fill {
        Fill {
            venue: VenueId::new("sim").unwrap(),
            symbol: Symbol::new("BTCUSDT").unwrap(),
            id: ClientOrderId::new("tw-x-1").unwrap(),
            venue_order_id: 1.into(),
            trade_id: 1.into(),
            side,
            price: Price::new(price),
            qty: Qty::new(qty),
            fee,
            fee_asset,
            liquidity: Liquidity::Taker,
            time: Timestamp(0),
        }
    }

    #[test]
    fn fifo_lots_realise_against_the_oldest_entry() {
        let mut p = Position::default();
        p.apply(&fill(Side::Buy, d("1"), d("100"), d("0.1"), Some(usdt())), Some((btc(), usdt())));
        p.apply(&fill(Side::Buy, d("1"), d("110"), d("0.11"), Some(usdt())), Some((btc(), usdt())));
        assert_eq!(p.avg_entry(), Some(d("105")));
        p.apply(&fill(Side::Sell, d("1.5"), d("120"), d("0.18"), Some(usdt())), Some((btc(), usdt())));
        // 1 × (120 − 100) + 0.5 × (120 − 110)
        assert_eq!(p.realized, d("25"));
        assert_eq!(p.qty(), d("0.5"));
        assert_eq!(p.unrealized(d("130")), d("10"));
        assert_eq!(p.fees, d("0.39"));
        // Selling through zero opens a short at the sale price.
        p.apply(&fill(Side::Sell, d("1"), d("100"), d("0"), None), Some((btc(), usdt())));
        assert_eq!(p.qty(), d("-0.5"));
        assert_eq!(p.realized, d("20"));
        assert_eq!(p.unrealized(d("90")), d("5"));
    }

    #[test]
    fn base_asset_fees_shrink_the_position_and_count_as_fees() {
        let mut p = Position::default();
        p.apply(&fill(Side::Buy, d("1"), d("100"), d("0.001"), Some(btc())), Some((btc(), usdt())));
        assert_eq!(p.qty(), d("0.999"));
        assert_eq!((p.realized, p.fees), (d("0"), d("0.1")));
        let mut bnb = Position::default();
        bnb.apply(
            &fill(Side::Buy, d("1"), d("100"), d("0.0002"), Some(Asset::new("BNB").unwrap())),
            Some((btc(), usdt())),
        );
        assert_eq!(bnb.other_fees[&Asset::new("BNB").unwrap()], d("0.0002"));
        assert_eq!(bnb.qty(), d("1"));
    }

    fn amount(max: i64, scale: u32) -> impl Strategy<Value = Decimal> {
        (1..max).prop_map(move |n| Decimal::new(n, scale))
    }

    proptest! {
        /// realised + unrealised − fees = change in account value at the mark, exactly.
        #[test]
        fn pnl_adds_up_to_the_change_in_account_value(
            fills in proptest::collection::vec((any::<bool>(), amount(5_000, 3), amount(2_000_000, 2), 0u8..3), 1..60),
            mark in amount(2_000_000, 2),
        ) {
            let mut p = Position::default();
            let (mut base, mut quote) = (Decimal::ZERO, Decimal::ZERO);
            for (buy, qty, price, fee_kind) in fills {
                let side = if buy { Side::Buy } else { Side::Sell };
                let notional = qty * price;
                // 0.1 % commission in the asset received, or in the quote asset, or none.
                let (fee, fee_asset) = match (fee_kind, buy) {
                    (0, true) => (qty / Decimal::from(1000), Some(btc())),
                    (0, false) | (1, _) => (notional / Decimal::from(1000), Some(usdt())),
                    _ => (Decimal::ZERO, None),
                };
                p.apply(&fill(side, qty, price, fee, fee_asset), Some((btc(), usdt())));
                base += side.sign() * qty;
                quote -= side.sign() * notional;
                match fee_asset {
                    Some(a) if a == btc() => base -= fee,
                    Some(_) => quote -= fee,
                    None => {}
                }
            }
            prop_assert_eq!(p.qty(), base);
            prop_assert_eq!(p.realized + p.unrealized(mark) - p.fees, base * mark + quote);
        }
    }
}
