//! Bybit v5's rate limits as a table of budgets: per UID, per endpoint, over
//! a rolling second (spot: create 20, amend 10, cancel 20, cancel-all 20,
//! order and execution reads 50, wallet 50), and the IP's 600 requests in 5 s
//! that every request counts against (past it: HTTP 403 and ten minutes of
//! refusals, so it must never be reached). Each answer's `X-Bapi-Limit` and
//! `X-Bapi-Limit-Status` (what is left) correct the endpoint's count.

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::execution::rate_limit::{Budget, BudgetId, Cost, Model, Priority, RateLimiter};

/// The endpoints the connector calls, each with its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Create,
    Amend,
    Cancel,
    CancelAll,
    /// `order/realtime`: open orders, an order by client id.
    OpenOrders,
    /// `order/history`.
    History,
    /// `execution/list`: fills.
    Executions,
    /// `account/wallet-balance`.
    Wallet,
    /// Public reads (`market/*`, `market/time`): only the IP limit.
    Public,
}

/// Every request: the IP's 600 in 5 s.
pub const IP: BudgetId = 0;

impl Endpoint {
    /// The endpoint's own budget (none for public reads).
    pub fn budget(self) -> Option<BudgetId> {
        Some(match self {
            Endpoint::Create => 1,
            Endpoint::Amend => 2,
            Endpoint::Cancel => 3,
            Endpoint::CancelAll => 4,
            Endpoint::OpenOrders => 5,
            Endpoint::History => 6,
            Endpoint::Executions => 7,
            Endpoint::Wallet => 8,
            Endpoint::Public => return None,
        })
    }

    /// The priority a request to it has.
    pub fn priority(self) -> Priority {
        match self {
            Endpoint::Cancel | Endpoint::CancelAll => Priority::Cancel,
            Endpoint::Create | Endpoint::Amend => Priority::NewOrder,
            Endpoint::OpenOrders | Endpoint::History | Endpoint::Executions | Endpoint::Wallet => Priority::Query,
            Endpoint::Public => Priority::Bulk,
        }
    }
}

/// The spot table, in the order of the ids [`IP`] and [`Endpoint::budget`] name.
pub fn budgets() -> Vec<Budget> {
    let second = Model::Rolling(Duration::from_secs(1));
    vec![
        Budget::new("ip_5s", Model::Rolling(Duration::from_secs(5)), 600),
        Budget::new("order_create_1s", second, 20).fair(),
        Budget::new("order_amend_1s", second, 10).fair(),
        Budget::new("order_cancel_1s", second, 20),
        Budget::new("order_cancel_all_1s", second, 20),
        Budget::new("order_realtime_1s", second, 50),
        Budget::new("order_history_1s", second, 50),
        Budget::new("execution_list_1s", second, 50),
        Budget::new("wallet_balance_1s", second, 50),
    ]
}

/// What one request to `endpoint` costs; `owner`: the strategy a new order is for.
pub fn cost(endpoint: Endpoint, owner: Option<&str>) -> Cost<'_> {
    let cost = Cost::new(endpoint.priority(), owner).charge(IP, 1);
    match endpoint.budget() {
        Some(budget) => cost.charge(budget, 1),
        None => cost,
    }
}

/// Folds an answer's `X-Bapi-Limit` / `X-Bapi-Limit-Status` into `endpoint`'s count.
pub fn observe(limiter: &RateLimiter, endpoint: Endpoint, headers: &HeaderMap) {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u32>().ok();
    if let (Some(budget), Some(limit), Some(left)) =
        (endpoint.budget(), number("x-bapi-limit"), number("x-bapi-limit-status"))
    {
        limiter.observe(budget, limit.saturating_sub(left));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn each_endpoint_has_its_rolling_second_and_all_count_against_the_ip() {
        let limiter = RateLimiter::with_clock(budgets(), 0);
        // 80 % of create's 20 in one second; cancels still go.
        for _ in 0..16 {
            assert!(limiter.try_acquire_now(cost(Endpoint::Create, Some("mm"))).is_some());
        }
        assert!(limiter.try_acquire_now(cost(Endpoint::Create, Some("mm"))).is_none());
        assert!(limiter.try_acquire_now(cost(Endpoint::Cancel, None)).is_some());
        assert_eq!(limiter.used(IP), 17);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(limiter.try_acquire_now(cost(Endpoint::Create, Some("mm"))).is_some(), "a second later");
    }

    #[tokio::test(start_paused = true)]
    async fn the_venues_remaining_count_corrects_ours() {
        let limiter = RateLimiter::with_clock(budgets(), 0);
        let mut headers = HeaderMap::new();
        headers.insert("x-bapi-limit", "20".parse().unwrap());
        headers.insert("x-bapi-limit-status", "3".parse().unwrap());
        observe(&limiter, Endpoint::Create, &headers);
        assert_eq!(limiter.used(1), 17, "20 allowed, 3 left");
        assert!(limiter.try_acquire_now(cost(Endpoint::Create, None)).is_none(), "over 80 % already");
        assert!(limiter.try_acquire_now(cost(Endpoint::Amend, None)).is_some(), "another endpoint");
    }
}
