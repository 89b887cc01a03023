//! The seeded synthetic market: a random-walk mid price per symbol,
//! background makers quoting levels around it, and takers that now and then
//! cross the spread. It trades through [`Exchange::place`] like any account,
//! so its orders obey the same book and ledger. Same seed, same sequence.

use rust_decimal::Decimal;

use super::exchange::{Exchange, MARKET_ACCOUNT, NewOrder, OrdType, Side};
use super::matching::Tif;

pub use crate::rng::Rng;

/// The market's memory between steps.
pub struct Synth {
    rng: Rng,
    /// Mid price of each symbol, in ticks.
    mids: Vec<i64>,
}

impl Synth {
    pub fn new(seed: u64, exchange: &Exchange) -> Self {
        let mids = exchange
            .symbols()
            .iter()
            .map(|s| {
                let ticks = s.config.start_price / s.config.tick_size;
                i64::try_from(ticks.trunc().mantissa()).unwrap_or(1).max(1)
            })
            .collect();
        Self { rng: Rng::new(seed), mids }
    }

    /// One market step for every symbol: move the mid, requote, maybe take.
    pub fn step(&mut self, exchange: &mut Exchange, now: i64) {
        let market = exchange.config().market.clone();
        for index in 0..self.mids.len() {
            let s = &exchange.symbols()[index];
            let (tick, name, qty) = (s.config.tick_size, s.config.symbol.clone(), s.config.quote_qty);
            let vol_ticks = {
                let price = Decimal::from(self.mids[index]) * tick;
                let step = price * s.config.volatility_bps / Decimal::from(10_000) / tick;
                i64::try_from(step.round().mantissa()).unwrap_or(1).max(1)
            };
            let drift = self.rng.below(3) as i64 - 1;
            self.mids[index] =
                (self.mids[index] + drift * vol_ticks).max(i64::from(market.levels * market.spread_ticks) + 1);
            let mid = self.mids[index];

            let old = std::mem::take(exchange.market_orders_mut(index));
            for id in old {
                let _ = exchange.cancel(MARKET_ACCOUNT, &name, Some(id), None, None, now);
            }
            let mut placed = Vec::new();
            for level in 1..=i64::from(market.levels) {
                let offset = level * i64::from(market.spread_ticks);
                for (side, ticks) in [(Side::Buy, mid - offset), (Side::Sell, mid + offset)] {
                    let size = qty * Decimal::from(1 + self.rng.below(3));
                    let order = NewOrder {
                        symbol: name.clone(),
                        side,
                        kind: OrdType::Limit,
                        tif: Tif::Gtc,
                        qty: Some(size),
                        quote_qty: None,
                        price: Some(Decimal::from(ticks) * tick),
                        client_id: None,
                    };
                    if let Ok(id) = exchange.place(MARKET_ACCOUNT, &order, now) {
                        placed.push(id);
                    }
                }
            }
            *exchange.market_orders_mut(index) = placed;

            if self.rng.chance(market.taker_probability) {
                let side = if self.rng.below(2) == 0 { Side::Buy } else { Side::Sell };
                let order = NewOrder {
                    symbol: name,
                    side,
                    kind: OrdType::Market,
                    tif: Tif::Gtc,
                    qty: Some(qty * Decimal::from(1 + self.rng.below(2))),
                    quote_qty: None,
                    price: None,
                    client_id: None,
                };
                let _ = exchange.place(MARKET_ACCOUNT, &order, now);
            }
        }
    }
}
