use super::*;

/// A table shaped like Binance's: paced weight a minute, fair orders per 10 s, orders a day.
fn limits(weight: u32, orders: u32) -> Vec<Budget> {
    vec![
        Budget::new("weight", Model::Fixed(Duration::from_secs(60)), weight).paced(),
        Budget::new("orders_10s", Model::Fixed(Duration::from_secs(10)), orders).fair(),
        Budget::new("orders_1d", Model::Fixed(Duration::from_secs(86_400)), 1_000_000),
    ]
}

fn w(weight: u32, priority: Priority) -> Cost<'static> {
    Cost::new(priority, None).charge(0, weight)
}

/// A new order of weight 1 for `owner`.
fn order(owner: Option<&str>) -> Cost<'_> {
    Cost::new(Priority::NewOrder, owner).charge(0, 1).charge(1, 1).charge(2, 1)
}

#[tokio::test(start_paused = true)]
async fn lower_classes_leave_room_for_cancels() {
    // Start at the beginning of a minute.
    let rl = RateLimiter::with_clock(limits(100, 1000), 0);
    let _ = rl.acquire(w(60, Priority::Bulk), None).await.unwrap();
    // Bulk may use 60 %: the next bulk request must wait for the next minute.
    assert!(matches!(rl.try_acquire(w(1, Priority::Bulk)), Err(Wait::Until(_))));
    // Cancels may use all of it, without pacing.
    for _ in 0..40 {
        let _ = rl.try_acquire(w(1, Priority::Cancel)).map_err(|_| "cancel refused").unwrap();
    }
    assert!(matches!(rl.try_acquire(w(1, Priority::Cancel)), Err(Wait::Until(_))));
    assert_eq!(rl.used(0), 100);
}

#[tokio::test(start_paused = true)]
async fn a_deadline_refuses_instead_of_sending_late() {
    let rl = RateLimiter::with_clock(limits(10, 1000), 0);
    let _ = rl.acquire(w(8, Priority::NewOrder), None).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    assert_eq!(rl.acquire(w(1, Priority::NewOrder), Some(deadline)).await, Err(Refused::Deadline));
    // Without a deadline it waits for the next window, then goes.
    let start = Instant::now();
    let _ = rl.acquire(w(1, Priority::NewOrder), None).await.unwrap();
    assert!(start.elapsed() >= Duration::from_secs(59), "waited {:?}", start.elapsed());
    assert_eq!(
        rl.acquire(w(11, Priority::Cancel), None).await,
        Err(Refused::TooHeavy { budget: "weight", amount: 11, limit: 10 })
    );
}

#[tokio::test(start_paused = true)]
async fn venue_headers_and_retry_after_override_our_count() {
    let rl = RateLimiter::with_clock(limits(100, 1000), 0);
    let _ = rl.acquire(w(1, Priority::Query), None).await.unwrap();
    rl.observe(0, 85);
    assert_eq!(rl.used(0), 85, "the venue counted more: it wins");
    rl.observe(0, 10);
    assert_eq!(rl.used(0), 85, "a lower count never lowers ours");
    assert!(matches!(rl.try_acquire(w(10, Priority::Query)), Err(Wait::Until(_))));

    rl.block_for(Blocked::All, Duration::from_secs(30));
    let start = Instant::now();
    let probe = rl.acquire(w(1, Priority::Cancel), None).await.unwrap();
    assert!(start.elapsed() >= Duration::from_secs(30), "even cancels wait out a 429");
    assert!(probe.is_probe());
    rl.answered(probe, false);
}

#[tokio::test(start_paused = true)]
async fn after_retry_after_one_probe_goes_first_then_the_rest_at_the_paced_rate() {
    // regression: release_after_retry_after (every queued request went at once, 429 again, then 418)
    let rl = std::sync::Arc::new(RateLimiter::with_clock(limits(600, 1000), 0));
    rl.block_for(Blocked::All, Duration::from_secs(5));
    let waiting: Vec<_> = (0..20)
        .map(|_| {
            let rl = rl.clone();
            tokio::spawn(async move {
                let grant = rl.acquire(w(1, Priority::Query), None).await.unwrap();
                (Instant::now(), grant)
            })
        })
        .collect();
    // Past the block, only the probe may go, however long the others wait.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let finished: Vec<_> = waiting.iter().filter(|h| h.is_finished()).collect();
    assert_eq!(finished.len(), 1, "one probe, the others hold back");
    // The probe meets another 429: blocked again, still one at a time afterwards.
    let mut tasks = waiting;
    let probe_at = tasks.iter().position(|h| h.is_finished()).unwrap();
    let (_, probe) = tasks.remove(probe_at).await.unwrap();
    assert!(probe.is_probe());
    rl.answered(probe, true);
    rl.block_for(Blocked::All, Duration::from_secs(5));
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(tasks.iter().filter(|h| h.is_finished()).count(), 1, "a new probe after the second block");
    let probe_at = tasks.iter().position(|h| h.is_finished()).unwrap();
    let (answered_at, probe) = tasks.remove(probe_at).await.unwrap();
    rl.answered(probe, false);
    // Now the rest, paced: 480 weight a minute is one every 125 ms, not all at once.
    let mut times = Vec::new();
    for t in tasks {
        let (at, grant) = t.await.unwrap();
        assert!(!grant.is_probe());
        times.push(at);
    }
    times.sort();
    let span = *times.last().unwrap() - answered_at;
    assert!(span >= Duration::from_millis(125 * 17), "17 gaps of 125 ms at least, got {span:?}");
}

#[tokio::test(start_paused = true)]
async fn an_order_count_429_stops_new_orders_but_not_cancels() {
    let rl = RateLimiter::with_clock(limits(1000, 100), 0);
    rl.block_for(Blocked::Budget(1), Duration::from_secs(10));
    assert!(rl.try_acquire_now(order(None)).is_none(), "orders wait");
    assert!(rl.try_acquire_now(w(1, Priority::Cancel)).is_some(), "cancels go");
    assert!(rl.try_acquire_now(w(4, Priority::Query)).is_some(), "queries go");
    tokio::time::sleep(Duration::from_secs(10)).await;
    let probe = rl.try_acquire_now(order(None)).unwrap();
    assert!(probe.is_probe());
    assert!(rl.try_acquire_now(order(None)).is_none(), "one order probes first");
    rl.answered(probe, false);
    assert!(rl.try_acquire_now(order(None)).is_none(), "paced: not at once");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(rl.try_acquire_now(order(None)).is_some(), "but soon");
}

#[tokio::test(start_paused = true)]
async fn a_probe_that_is_never_answered_stops_holding_the_others() {
    let rl = RateLimiter::with_clock(limits(1000, 100), 0);
    rl.block_for(Blocked::All, Duration::from_secs(1));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _lost = rl.try_acquire_now(w(1, Priority::Query)).unwrap();
    assert!(rl.try_acquire_now(w(1, Priority::Query)).is_none());
    tokio::time::sleep(PROBE_TIMEOUT).await;
    assert!(rl.try_acquire_now(w(1, Priority::Query)).unwrap().is_probe(), "another probe");
}

#[tokio::test(start_paused = true)]
async fn orders_per_ten_seconds_are_paced() {
    let rl = RateLimiter::with_clock(limits(10_000, 10), 0);
    let start = Instant::now();
    for _ in 0..20 {
        let _ = rl.acquire(order(None), None).await.unwrap();
    }
    // 80 % of 10 per window: 8 in the first window, 8 in the second, 4 in the third.
    assert!(start.elapsed() >= Duration::from_secs(20), "{:?}", start.elapsed());
    assert!(start.elapsed() < Duration::from_secs(30), "{:?}", start.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_tight_order_budget_is_shared_between_strategies() {
    // regression: starvation_under_a_tight_budget (a churning market maker took all of 5 per 10 s)
    let rl = RateLimiter::with_clock(limits(10_000, 5), 0);
    let (mut mm, mut twap) = (0, 0);
    for _window in 0..6 {
        // The market maker asks a hundred times a window, the twap twice.
        for i in 0..100 {
            if rl.try_acquire_now(order(Some("mm"))).is_some() {
                mm += 1;
            }
            if i % 50 == 0 && rl.try_acquire_now(order(Some("twap"))).is_some() {
                twap += 1;
            }
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    // 80 % of 5 is 4 a window: 2 each once both are active.
    assert_eq!(twap, 12, "the twap got every order it asked for");
    assert_eq!(mm, 12, "the market maker the rest: the windows are still used in full");
}
/// Bybit-like: a rolling second per endpoint.
fn per_endpoint() -> Vec<Budget> {
    let second = Model::Rolling(Duration::from_secs(1));
    vec![Budget::new("create", second, 10).fair(), Budget::new("cancel", second, 10)]
}

#[tokio::test(start_paused = true)]
async fn per_endpoint_budgets_are_separate_and_roll() {
    let rl = RateLimiter::with_clock(per_endpoint(), 0);
    let create = || Cost::new(Priority::NewOrder, None).charge(0, 1);
    let cancel = || Cost::new(Priority::Cancel, None).charge(1, 1);
    for _ in 0..8 {
        assert!(rl.try_acquire_now(create()).is_some());
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    assert!(rl.try_acquire_now(create()).is_none(), "80 % of 10 creates in the last second");
    for _ in 0..10 {
        assert!(rl.try_acquire_now(cancel()).is_some(), "cancels have their own budget");
    }
    // No boundary to wait for: at 1 100 ms the first two creates (at 0 and 100 ms) have left.
    tokio::time::advance(Duration::from_millis(300)).await;
    assert!(rl.try_acquire_now(create()).is_some());
    assert!(rl.try_acquire_now(create()).is_some());
    assert!(rl.try_acquire_now(create()).is_none());
    let start = Instant::now();
    let _ = rl.acquire(create(), None).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(100), "the next leaves 100 ms later");
}

#[tokio::test(start_paused = true)]
async fn a_rolling_window_counts_a_request_from_its_answer() {
    let rl = RateLimiter::with_clock(per_endpoint(), 0);
    let cancel = || Cost::new(Priority::Cancel, None).charge(1, 1);
    let slow: Vec<Grant> = (0..10).map(|_| rl.try_acquire_now(cancel()).unwrap()).collect();
    // Answered 400 ms later: the venue may have counted them at any time until then.
    tokio::time::advance(Duration::from_millis(400)).await;
    for grant in slow {
        rl.answered(grant, false);
    }
    tokio::time::advance(Duration::from_millis(700)).await;
    assert!(rl.try_acquire_now(cancel()).is_none(), "1.1 s after the grants, 0.7 s after the answers");
    let start = Instant::now();
    rl.answered(rl.acquire(cancel(), None).await.unwrap(), false);
    assert_eq!(start.elapsed(), Duration::from_millis(300), "free one second after the answers");
    // A request answered at once stays where it was charged.
    assert_eq!(rl.used(1), 1);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(rl.used(1), 0);
}

#[tokio::test(start_paused = true)]
async fn a_429_on_one_endpoint_stops_only_that_endpoint() {
    let rl = RateLimiter::with_clock(per_endpoint(), 0);
    rl.block_for(Blocked::Budget(0), Duration::from_secs(2));
    assert!(rl.try_acquire_now(Cost::new(Priority::NewOrder, None).charge(0, 1)).is_none());
    assert!(rl.try_acquire_now(Cost::new(Priority::Cancel, None).charge(1, 1)).is_some());
    tokio::time::advance(Duration::from_secs(2)).await;
    let probe = rl.try_acquire_now(Cost::new(Priority::NewOrder, None).charge(0, 1)).unwrap();
    assert!(probe.is_probe());
    rl.answered(probe, false);
    assert!(!rl.try_acquire_now(Cost::new(Priority::NewOrder, None).charge(0, 1)).unwrap().is_probe());
}

#[tokio::test(start_paused = true)]
async fn a_decaying_counter_lets_requests_through_as_it_drains() {
    // Kraken-like: a counter of 20 that drains 1 a second; an order costs 1, a late cancel 0.
    let rl = RateLimiter::with_clock(vec![Budget::new("counter", Model::Decaying { per_second_milli: 1_000 }, 20)], 0);
    let cost = |n| Cost::new(Priority::Cancel, None).charge(0, n);
    let _ = rl.acquire(cost(20), None).await.unwrap();
    assert_eq!(rl.used(0), 20);
    assert!(rl.try_acquire_now(cost(0)).is_some(), "what costs nothing always goes");
    let start = Instant::now();
    let _ = rl.acquire(cost(3), None).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(3), "three units drain in three seconds");
    assert_eq!(rl.acquire(cost(21), None).await, Err(Refused::TooHeavy { budget: "counter", amount: 21, limit: 20 }));
}

#[tokio::test(start_paused = true)]
async fn new_limits_keep_the_counts_of_the_budgets_that_stay() {
    let rl = RateLimiter::with_clock(limits(100, 10), 0);
    let _ = rl.try_acquire_now(order(None)).unwrap();
    rl.set_budgets(limits(200, 20));
    assert_eq!((rl.used(0), rl.used(1)), (1, 1));
    assert_eq!(rl.usage()[0], ("weight", 1, 200));
    rl.set_budgets(per_endpoint());
    assert_eq!(rl.used(0), 0, "another budget at that place starts afresh");
}
