//! Binance Spot's rate-limit table: request weight per wall-clock minute
//! (paced), new orders per 10 s (shared fairly between strategies) and per
//! day, as `exchangeInfo.rateLimits` publishes them. The `X-MBX-*` headers
//! report the venue's own counts of the first two.

use std::time::Duration;

use crate::execution::rate_limit::{Budget, BudgetId, Cost, Model, Priority};

/// Request weight per minute.
pub const WEIGHT: BudgetId = 0;
/// New orders per 10 s (`X-MBX-ORDER-COUNT-10S`; -1015 when exceeded).
pub const ORDERS_10S: BudgetId = 1;
/// New orders per day.
pub const ORDERS_DAY: BudgetId = 2;

/// The limits as `exchangeInfo.rateLimits` publishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub weight_per_minute: u32,
    pub orders_per_10s: u32,
    pub orders_per_day: u32,
}

impl Default for Limits {
    /// Binance Spot's published defaults, used until `exchangeInfo` is read.
    fn default() -> Self {
        Self { weight_per_minute: 6000, orders_per_10s: 50, orders_per_day: 160_000 }
    }
}

impl Limits {
    /// The rate limiter's table, in the order of [`WEIGHT`], [`ORDERS_10S`], [`ORDERS_DAY`].
    pub fn budgets(&self) -> Vec<Budget> {
        vec![
            Budget::new("request_weight_1m", Model::Fixed(Duration::from_secs(60)), self.weight_per_minute).paced(),
            Budget::new("orders_10s", Model::Fixed(Duration::from_secs(10)), self.orders_per_10s).fair(),
            Budget::new("orders_1d", Model::Fixed(Duration::from_secs(86_400)), self.orders_per_day),
        ]
    }
}

/// What a request of `weight` that places `orders` new orders costs.
pub fn cost(weight: u32, orders: u32, priority: Priority, owner: Option<&str>) -> Cost<'_> {
    let cost = Cost::new(priority, owner).charge(WEIGHT, weight);
    if orders == 0 { cost } else { cost.charge(ORDERS_10S, orders).charge(ORDERS_DAY, orders) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_the_order_its_ids_name() {
        let budgets = Limits { weight_per_minute: 1200, orders_per_10s: 20, orders_per_day: 1000 }.budgets();
        assert_eq!([budgets[WEIGHT].limit, budgets[ORDERS_10S].limit, budgets[ORDERS_DAY].limit], [1200, 20, 1000]);
        assert!(budgets[WEIGHT].paced && budgets[ORDERS_10S].fair);
    }
}
