//! The seeded synthetic market: a random-walk mid price per symbol,
//! background makers quoting levels around it, and takers that now and then
//! cross the spread, and (when configured) dislocations: spells in which
//! the makers quote off the walk's mid. It trades through [`Exchange::place`] like any account,
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
    /// Dislocations draw from their own sequence, so the walk stays the one
    /// an undislocated simulator with the same seed follows.
    shifts: Rng,
    /// Per symbol: the makers' offset from the mid (ticks) and the steps it has left.
    dislocated: Vec<(i64, u32)>,
}

/// Seeds the dislocations' sequence apart from the walk's.
const SHIFT_SALT: u64 = 0x5eed_d151_0ca7_e000;

impl Synth {
    pub fn new(seed: u64, exchange: &Exchange) -> Self {
        let mids: Vec<i64> = exchange
            .symbols()
            .iter()
            .map(|s| {
                let ticks = s.config.start_price / s.config.tick_size;
                i64::try_from(ticks.trunc().mantissa()).unwrap_or(1).max(1)
            })
            .collect();
        let dislocated = vec![(0, 0); mids.len()];
        Self { rng: Rng::new(seed), mids, shifts: Rng::new(seed ^ SHIFT_SALT), dislocated }
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
            let mid = self.mids[index] + self.shift(index, &market, vol_ticks, tick);

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

    /// This step's offset of symbol `index`'s quotes from its mid (ticks):
    /// a dislocation starts, goes on, or ends.
    fn shift(&mut self, index: usize, market: &super::config::MarketConfig, vol_ticks: i64, tick: Decimal) -> i64 {
        if market.dislocation_bps.is_zero() {
            return 0;
        }
        let (offset, left) = &mut self.dislocated[index];
        if *left > 0 {
            *left -= 1;
            if *left == 0 {
                *offset = 0;
            }
        } else if self.shifts.chance(market.dislocation_probability) {
            let price = Decimal::from(self.mids[index]) * tick;
            let ticks = (price * market.dislocation_bps / Decimal::from(10_000) / tick).round();
            let ticks = i64::try_from(ticks.mantissa()).unwrap_or(0).max(vol_ticks);
            *offset = if self.shifts.below(2) == 0 { ticks } else { -ticks };
            *left = market.dislocation_steps.max(1);
        }
        *offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::venue::sim::SimConfig;

    fn best_bids(config: SimConfig, steps: usize) -> Vec<Decimal> {
        let mut exchange = Exchange::new(config);
        let mut synth = Synth::new(7, &exchange);
        (0..steps)
            .map(|n| {
                synth.step(&mut exchange, n as i64);
                exchange.symbols()[0].best_bid().unwrap().0
            })
            .collect()
    }

    #[test]
    fn a_dislocated_market_follows_the_same_walk_and_drifts_apart_and_back() {
        let plain = SimConfig::default();
        let mut dislocated = SimConfig::default();
        dislocated.market.dislocation_bps = Decimal::from(40);
        dislocated.market.dislocation_probability = Decimal::new(5, 2);
        dislocated.market.dislocation_steps = 10;
        let (a, b) = (best_bids(plain, 400), best_bids(dislocated, 400));
        let apart: Vec<Decimal> = a.iter().zip(&b).map(|(x, y)| ((y - x) / x * Decimal::from(10_000)).abs()).collect();
        let together = apart.iter().filter(|bps| bps.is_zero()).count();
        let far = apart.iter().filter(|bps| **bps >= Decimal::from(39)).count();
        assert!(together > 200, "mostly the same market: {together} of 400 steps");
        assert!(far >= 20, "dislocated now and then: {far} steps");
        assert!(apart.iter().all(|bps| *bps < Decimal::from(41)), "never further than configured");
        // Each spell lasts its steps and ends.
        let spells = apart.windows(2).filter(|w| w[0].is_zero() && !w[1].is_zero()).count();
        assert!(spells >= 2, "{spells} spells");
    }
}
