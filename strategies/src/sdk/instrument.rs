//! Trading rules of an instrument and the rounding that keeps orders inside them.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::types::{Asset, Price, Qty, Side, Symbol};

/// The venue's filters for one symbol (Binance: PRICE_FILTER, LOT_SIZE,
/// NOTIONAL). A zero bound means "no such bound", as on Binance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentSpec {
    pub symbol: Symbol,
    pub base: Asset,
    pub quote: Asset,
    /// Prices must be multiples of this (0 = any precision).
    pub tick_size: Decimal,
    pub min_price: Decimal,
    pub max_price: Decimal,
    /// Quantities must be multiples of this (0 = any precision).
    pub step_size: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    /// price × qty must be at least this.
    pub min_notional: Decimal,
    /// price × qty must be at most this (0 = unbounded).
    pub max_notional: Decimal,
}

/// Which filter an order breaks; the names match Binance's `-1013` messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterViolation {
    #[error("PRICE_FILTER: price {0} is not a positive multiple of the tick size within bounds")]
    Price(Decimal),
    #[error("LOT_SIZE: quantity {0} is not a positive multiple of the step size within bounds")]
    LotSize(Decimal),
    #[error("NOTIONAL: notional {0} is outside the allowed range")]
    Notional(Decimal),
}

impl InstrumentSpec {
    /// Rounds a price onto the tick grid in the passive direction (buys down,
    /// sells up), so rounding never makes an order more aggressive. `None`
    /// if the result falls outside the price bounds.
    pub fn round_price(&self, side: Side, price: Price) -> Option<Price> {
        let strategy = match side {
            Side::Buy => RoundingStrategy::ToNegativeInfinity,
            Side::Sell => RoundingStrategy::ToPositiveInfinity,
        };
        let rounded = round_to_step(price.get(), self.tick_size, strategy);
        self.check_price(rounded).ok().map(|()| Price::new(rounded))
    }

    /// Rounds a quantity down onto the step grid. `None` if the result is
    /// below the minimum quantity (or zero); clamps to the maximum quantity.
    pub fn round_qty(&self, qty: Qty) -> Option<Qty> {
        let mut q = round_to_step(qty.get(), self.step_size, RoundingStrategy::ToZero);
        if !self.max_qty.is_zero() && q > self.max_qty {
            q = round_to_step(self.max_qty, self.step_size, RoundingStrategy::ToZero);
        }
        self.check_qty(q).ok().map(|()| Qty::new(q))
    }

    /// The quantity worth `notional` quote at `price`, rounded down onto the
    /// step grid; `None` if that is too small to trade.
    ///
    /// With a power-of-ten step the quotient is floored exactly, in integers:
    /// the quantity never costs more than `notional`, even where a decimal
    /// division would round its 28th digit up onto the next step.
    pub fn qty_for_notional(&self, notional: Decimal, price: Price) -> Option<Qty> {
        if !price.is_positive() {
            return None;
        }
        let exact = places(self.step_size).and_then(|places| floor_quotient(notional, price.get(), places));
        self.round_qty(Qty::new(exact.unwrap_or_else(|| notional / price.get())))
    }

    /// Checks a limit order against every filter.
    pub fn validate(&self, price: Price, qty: Qty) -> Result<(), FilterViolation> {
        self.check_price(price.get())?;
        self.check_qty(qty.get())?;
        self.check_notional(price.notional(qty))
    }

    fn check_price(&self, p: Decimal) -> Result<(), FilterViolation> {
        let on_grid = on_grid(p, self.tick_size);
        let above_min = p > Decimal::ZERO && p >= self.min_price;
        let below_max = self.max_price.is_zero() || p <= self.max_price;
        if on_grid && above_min && below_max { Ok(()) } else { Err(FilterViolation::Price(p)) }
    }

    /// LOT_SIZE alone (market orders have no price to check).
    pub fn check_qty(&self, q: Decimal) -> Result<(), FilterViolation> {
        let on_grid = on_grid(q, self.step_size);
        let above_min = q > Decimal::ZERO && q >= self.min_qty;
        let below_max = self.max_qty.is_zero() || q <= self.max_qty;
        if on_grid && above_min && below_max { Ok(()) } else { Err(FilterViolation::LotSize(q)) }
    }

    /// Checks price × qty against the notional bounds.
    pub fn check_notional(&self, notional: Decimal) -> Result<(), FilterViolation> {
        let above_min = notional >= self.min_notional;
        let below_max = self.max_notional.is_zero() || notional <= self.max_notional;
        if above_min && below_max { Ok(()) } else { Err(FilterViolation::Notional(notional)) }
    }
}

/// Rounds `value` to a multiple of `step` (no-op when `step` is zero).
fn round_to_step(value: Decimal, step: Decimal, strategy: RoundingStrategy) -> Decimal {
    if step.is_zero() {
        return value;
    }
    if let Some(places) = places(step) {
        return value.round_dp_with_strategy(places, strategy).normalize();
    }
    let steps = (value / step).round_dp_with_strategy(0, strategy);
    (steps * step).normalize()
}

/// `numerator / denominator` (both positive) rounded down to `places`
/// decimals, exactly; `None` if a figure on the way overflows 128 bits.
/// With numerator `a / 10^sa` and denominator `b / 10^sb`, that is
/// `a × 10^(places + sb) / (b × 10^sa)` in integers, truncated.
fn floor_quotient(numerator: Decimal, denominator: Decimal, places: u32) -> Option<Decimal> {
    if !numerator.is_sign_positive() || !denominator.is_sign_positive() || denominator.is_zero() {
        return None;
    }
    let up = 10i128.checked_pow(places.checked_add(denominator.scale())?)?;
    let down = 10i128.checked_pow(numerator.scale())?;
    let quotient = numerator.mantissa().checked_mul(up)? / denominator.mantissa().checked_mul(down)?;
    Decimal::try_from_i128_with_scale(quotient, places).ok()
}

/// Whether `value` is a multiple of `step` (any value is, when `step` is zero).
fn on_grid(value: Decimal, step: Decimal) -> bool {
    if step.is_zero() {
        return true;
    }
    match places(step) {
        Some(places) => value.scale() <= places || value.normalize().scale() <= places,
        None => (value % step).is_zero(),
    }
}

/// The decimal places of `step` if it is a power of ten no greater than one
/// (0.01 → 2, 1 → 0): nearly every venue's tick and lot sizes are, and
/// rounding to them or checking against them needs no division.
fn places(step: Decimal) -> Option<u32> {
    // In 64 bits (every real step fits): `%` and `/` are then a multiply, not a 128-bit division's call.
    let (mut mantissa, mut scale) = (u64::try_from(step.mantissa()).ok()?, step.scale());
    while scale > 0 && mantissa % 10 == 0 {
        mantissa /= 10;
        scale -= 1;
    }
    (mantissa == 1).then_some(scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::prelude::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    pub(crate) fn btcusdt() -> InstrumentSpec {
        InstrumentSpec {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            base: Asset::new("BTC").unwrap(),
            quote: Asset::new("USDT").unwrap(),
            tick_size: d("0.01"),
            min_price: d("0.01"),
            max_price: d("1000000"),
            step_size: d("0.00001"),
            min_qty: d("0.00001"),
            max_qty: d("9000"),
            min_notional: d("5"),
            max_notional: d("9000000"),
        }
    }

    #[test]
    fn price_rounds_passively() {
        let spec = btcusdt();
        let p = Price::new(d("64000.129"));
        assert_eq!(spec.round_price(Side::Buy, p), Some(Price::new(d("64000.12"))));
        assert_eq!(spec.round_price(Side::Sell, p), Some(Price::new(d("64000.13"))));
        assert_eq!(spec.round_price(Side::Buy, Price::new(d("0.001"))), None);
        assert_eq!(spec.round_price(Side::Sell, Price::new(d("2000000"))), None);
    }

    #[test]
    fn qty_rounds_down_and_clamps() {
        let spec = btcusdt();
        assert_eq!(spec.round_qty(Qty::new(d("0.123456"))), Some(Qty::new(d("0.12345"))));
        assert_eq!(spec.round_qty(Qty::new(d("0.000009"))), None);
        assert_eq!(spec.round_qty(Qty::new(d("10000"))), Some(Qty::new(d("9000"))));
        assert_eq!(spec.qty_for_notional(d("100"), Price::new(d("64000"))), Some(Qty::new(d("0.00156"))));
    }

    #[test]
    fn qty_for_notional_never_costs_more_than_the_notional() {
        // 2.9999999999999999999999999999 / 3 is 0.99999999999999999999999999996…,
        // which a 28-digit division rounds up to 1: one lot that costs 3.
        let spec = InstrumentSpec { step_size: d("1"), min_qty: d("1"), max_qty: d("0"), ..btcusdt() };
        let notional = d("2.9999999999999999999999999999");
        assert_eq!(notional / d("3"), d("1"));
        assert_eq!(spec.qty_for_notional(notional, Price::new(d("3"))), None);
        assert_eq!(spec.qty_for_notional(d("3"), Price::new(d("3"))), Some(Qty::new(d("1"))));
        // Figures that overflow the integer route still get an answer, by division.
        let spec = InstrumentSpec { step_size: d("0.00000001"), min_qty: d("0.00000001"), ..spec };
        let tiny = d("0.0000000000000000000000000003");
        assert_eq!(floor_quotient(d("1"), tiny, 8), None);
        assert_eq!(floor_quotient(Decimal::MAX, d("0.5"), 0), None);
        let divided = spec.round_qty(Qty::new(d("1") / tiny));
        assert!(divided.is_some());
        assert_eq!(spec.qty_for_notional(d("1"), Price::new(tiny)), divided);
    }

    #[test]
    fn steps_that_are_not_powers_of_ten_still_round_and_check() {
        for step in ["0.05", "0.5", "2.5", "10", "0.0025"] {
            assert_eq!(places(d(step)), None, "{step}");
        }
        let spec = InstrumentSpec { tick_size: d("0.05"), step_size: d("10"), ..btcusdt() };
        assert_eq!(spec.round_price(Side::Buy, Price::new(d("100.07"))), Some(Price::new(d("100.05"))));
        assert_eq!(spec.round_price(Side::Sell, Price::new(d("100.07"))), Some(Price::new(d("100.1"))));
        assert_eq!(spec.round_qty(Qty::new(d("129"))), Some(Qty::new(d("120"))));
        assert!(spec.validate(Price::new(d("100.05")), Qty::new(d("20"))).is_ok());
        assert_eq!(spec.validate(Price::new(d("100.02")), Qty::new(d("20"))), Err(FilterViolation::Price(d("100.02"))));
        assert_eq!(spec.check_qty(d("25")), Err(FilterViolation::LotSize(d("25"))));
    }

    #[test]
    fn validate_names_the_filter() {
        let spec = btcusdt();
        let q = Qty::new(d("0.001"));
        assert_eq!(spec.validate(Price::new(d("64000.001")), q), Err(FilterViolation::Price(d("64000.001"))));
        assert_eq!(spec.validate(Price::new(d("100")), q), Err(FilterViolation::Notional(d("0.100"))));
        assert!(spec.validate(Price::new(d("64000.01")), q).is_ok());
    }

    proptest! {
        /// Power-of-ten steps take a shortcut: it agrees with dividing, rounding and multiplying back.
        #[test]
        fn power_of_ten_steps_round_and_check_as_division_does(
            mantissa in -10_000_000_000_000i64..10_000_000_000_000,
            scale in 0u32..=12,
            step_places in 0u32..=10,
            trailing_zeros in 0u32..=3,
            strategy in prop::sample::select(vec![
                RoundingStrategy::ToNegativeInfinity,
                RoundingStrategy::ToPositiveInfinity,
                RoundingStrategy::ToZero,
            ]),
        ) {
            let value = Decimal::new(mantissa, scale);
            // 0.01 may be written 0.0100: the same step.
            let step = Decimal::new(10i64.pow(trailing_zeros), step_places + trailing_zeros);
            prop_assert_eq!(places(step), Some(step_places));
            let divided = ((value / step).round_dp_with_strategy(0, strategy) * step).normalize();
            prop_assert_eq!(round_to_step(value, step, strategy), divided);
            prop_assert_eq!(on_grid(value, step), (value % step).is_zero());
        }

        /// The quantity for a notional is the exact floor onto the step grid:
        /// it costs no more than the notional, and one step more would.
        #[test]
        fn qty_for_notional_is_the_exact_floor(
            notional_mantissa in 1i64..1_000_000_000_000,
            notional_scale in 0u32..=8,
            price_mantissa in 1i64..1_000_000_000_000,
            price_scale in 0u32..=8,
            step_places in 0u32..=8,
        ) {
            let notional = Decimal::new(notional_mantissa, notional_scale);
            let price = Decimal::new(price_mantissa, price_scale);
            let step = Decimal::new(1, step_places);
            let spec = InstrumentSpec { step_size: step, min_qty: step, max_qty: Decimal::ZERO, ..btcusdt() };
            let floor = floor_quotient(notional, price, step_places).unwrap();
            prop_assert!(floor * price <= notional);
            prop_assert!((floor + step) * price > notional);
            // Where the division's 28 digits do not reach the next step, it agrees.
            let divided = round_to_step(notional / price, step, RoundingStrategy::ToZero);
            if (divided * price) <= notional {
                prop_assert_eq!(floor.normalize(), divided);
            }
            let expected = (!floor.is_zero()).then(|| Qty::new(floor.normalize()));
            prop_assert_eq!(spec.qty_for_notional(notional, Price::new(price)), expected);
        }

        /// Whatever a strategy asks for, what the rounding helpers return passes
        /// the venue's price and lot filters.
        #[test]
        fn rounded_values_always_pass_filters(
            price_cents in 1i64..200_000_000,
            price_extra in 0u32..1000,
            qty_units in 1i64..20_000_000_000,
            buy in any::<bool>(),
        ) {
            let spec = btcusdt();
            let price = Price::new(Decimal::new(price_cents * 1000 + i64::from(price_extra), 5));
            let qty = Qty::new(Decimal::new(qty_units, 7));
            let side = if buy { Side::Buy } else { Side::Sell };
            if let Some(p) = spec.round_price(side, price) {
                prop_assert!(spec.check_price(p.get()).is_ok());
                match side {
                    Side::Buy => prop_assert!(p <= price),
                    Side::Sell => prop_assert!(p >= price),
                }
            }
            if let Some(q) = spec.round_qty(qty) {
                prop_assert!(spec.check_qty(q.get()).is_ok());
                prop_assert!(q <= qty);
            }
        }
    }
}
