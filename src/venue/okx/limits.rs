//! OKX v5's rate limits as a table of budgets, each a rolling two seconds:
//! per user and endpoint for trading (place, cancel and amend 60 each; batch
//! orders 300 orders; open orders and order details 60; order history 40;
//! fills 60; balance 10) and per IP for public reads (instruments 20, books
//! 40, tickers 20, time 10). A refusal is 50011 (HTTP 429); OKX sends no headers to
//! count by, so the table is the only count.

use std::time::Duration;

use crate::execution::rate_limit::{Budget, BudgetId, Cost, Model, Priority};

/// New WebSocket connections a second OKX takes from one address (every
/// endpoint together; the connections of one process to one host are paced
/// to it).
pub const CONNECTS_PER_SEC: usize = 3;

/// The endpoints the connector calls, each with its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `trade/order` (and the private WebSocket's `order`).
    Place,
    /// `trade/batch-orders`: charged per order in the batch.
    BatchPlace,
    Cancel,
    Amend,
    /// `trade/orders-pending`.
    OpenOrders,
    /// `trade/order`: one order's details.
    Order,
    /// `trade/orders-history`.
    History,
    /// `trade/fills`.
    Fills,
    /// `account/balance`.
    Balance,
    /// `public/instruments`.
    Instruments,
    /// `market/books`.
    Books,
    /// `market/ticker(s)`.
    Tickers,
    /// `public/time`.
    Time,
}

impl Endpoint {
    /// The endpoint's budget (the ids of [`budgets`], in order).
    pub fn budget(self) -> BudgetId {
        self as BudgetId
    }

    /// The priority a request to it has.
    pub fn priority(self) -> Priority {
        match self {
            Endpoint::Cancel => Priority::Cancel,
            Endpoint::Place | Endpoint::BatchPlace | Endpoint::Amend => Priority::NewOrder,
            Endpoint::OpenOrders | Endpoint::Order | Endpoint::History | Endpoint::Fills | Endpoint::Balance => {
                Priority::Query
            }
            Endpoint::Instruments | Endpoint::Books | Endpoint::Tickers | Endpoint::Time => Priority::Bulk,
        }
    }
}

/// The spot table, in the order of [`Endpoint`].
pub fn budgets() -> Vec<Budget> {
    let two = Model::Rolling(Duration::from_secs(2));
    vec![
        Budget::new("order_2s", two, 60).fair(),
        Budget::new("batch_orders_2s", two, 300).fair(),
        Budget::new("cancel_order_2s", two, 60),
        Budget::new("amend_order_2s", two, 60).fair(),
        Budget::new("orders_pending_2s", two, 60),
        Budget::new("order_details_2s", two, 60),
        Budget::new("orders_history_2s", two, 40),
        Budget::new("fills_2s", two, 60),
        Budget::new("balance_2s", two, 10),
        Budget::new("instruments_2s", two, 20),
        Budget::new("books_2s", two, 40),
        Budget::new("tickers_2s", two, 20),
        Budget::new("time_2s", two, 10),
    ]
}

/// What one request to `endpoint` costs (`orders`: how many a batch carries);
/// `owner`: the strategy a new order is for.
pub fn cost(endpoint: Endpoint, orders: u32, owner: Option<&str>) -> Cost<'_> {
    Cost::new(endpoint.priority(), owner).charge(endpoint.budget(), orders.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execution::rate_limit::RateLimiter;

    #[test]
    fn the_table_names_every_endpoint_in_order() {
        let names: Vec<&str> = budgets().iter().map(|b| b.name).collect();
        assert_eq!(names.len(), Endpoint::Time as usize + 1);
        assert_eq!(names[Endpoint::Amend.budget()], "amend_order_2s");
        assert_eq!(names[Endpoint::Balance.budget()], "balance_2s");
    }

    #[tokio::test(start_paused = true)]
    async fn each_endpoint_has_its_own_two_seconds() {
        let limiter = RateLimiter::with_clock(budgets(), 0);
        // New orders keep a share of the window back; cancels still go.
        let mut placed = 0;
        while limiter.try_acquire_now(cost(Endpoint::Place, 1, Some("mm"))).is_some() {
            placed += 1;
        }
        assert!((40..60).contains(&placed), "{placed} of 60 placed");
        assert!(limiter.try_acquire_now(cost(Endpoint::Cancel, 1, None)).is_some());
        assert!(limiter.try_acquire_now(cost(Endpoint::Amend, 1, Some("mm"))).is_some(), "another endpoint");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(limiter.try_acquire_now(cost(Endpoint::Place, 1, Some("mm"))).is_none(), "still within the 2 s");
        tokio::time::advance(Duration::from_millis(1_001)).await;
        assert!(limiter.try_acquire_now(cost(Endpoint::Place, 1, Some("mm"))).is_some(), "two seconds later");
        // A batch is charged per order.
        let before = limiter.used(Endpoint::BatchPlace.budget());
        assert!(limiter.try_acquire_now(cost(Endpoint::BatchPlace, 20, Some("mm"))).is_some());
        assert_eq!(limiter.used(Endpoint::BatchPlace.budget()) - before, 20);
    }
}
