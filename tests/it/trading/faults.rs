//! What outside trials found under faults (the "correct under faults and
//! restarts" issue): one regression test per finding, against the simulator.

use rust_decimal::Decimal;
use tradewind_strategies::sdk::{Asset, Balance};

use super::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Balances as the simulator's ledger has them for the demo account (zeros left out).
fn venue_balances(sim: &SimHandle) -> std::collections::BTreeMap<String, (Decimal, Decimal)> {
    sim.with_exchange(|ex| {
        ex.ledger()
            .account(2)
            .filter(|(_, b)| !(b.free + b.locked).is_zero())
            .map(|(a, b)| (a.to_owned(), (b.free.normalize(), b.locked.normalize())))
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_backoff_resets_under_periodic_drops() {
    // regression: the retry delay grew 0.24 → 29 s with a drop every 30 s (streams down 47 % of the time)
    let feed = FeedSpec { symbol: btc(), trades: true, quotes: false, book: false, klines: vec![] };
    let mut h = harness(quiet_market(), vec![feed]).await;
    let up = |i: &EngineInput| match i {
        EngineInput::Market(MarketEvent::Connectivity(c), _) => Some(c.up),
        _ => None,
    };
    let trade = |i: EngineInput| matches!(i, EngineInput::Market(MarketEvent::Trade(_), _)).then_some(());
    assert!(h.next(|i| up(&i)).await);
    let mut outages = Vec::new();
    for _ in 0..7 {
        // Each connection delivers data, then the venue drops it.
        h.next(trade).await;
        h.sim.drop_connections();
        assert!(!h.next(|i| up(&i)).await);
        let down = std::time::Instant::now();
        assert!(h.next(|i| up(&i)).await);
        outages.push(down.elapsed());
    }
    // Without the reset the seventh delay alone is 8–16 s; with it each is at most 250 ms.
    let longest = outages.iter().max().unwrap();
    assert!(*longest < Duration::from_secs(2), "outages {outages:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balances_equal_the_venue_after_a_user_stream_outage() {
    // regression: balances went stale after a user-data outage (events missed in the gap were lost)
    let mut h = harness(quiet_market(), vec![]).await;
    let mut seen: std::collections::BTreeMap<String, (Decimal, Decimal)> = std::collections::BTreeMap::new();
    let take = |list: Vec<(Asset, Balance)>, seen: &mut std::collections::BTreeMap<_, _>| {
        for (asset, b) in list {
            seen.insert(asset.to_string(), (b.free.normalize(), b.locked.normalize()));
        }
    };
    take(h.next(|i| if let EngineInput::Balances(_, b) = i { Some(b) } else { None }).await, &mut seen);
    // The stream loses everything: a fill and a resting order change the balances unseen.
    h.sim.set_faults(FaultConfig { drop_user_events: 1.0, ..FaultConfig::default() });
    h.submit(ExecRequest::Place {
        id: id("it-bal-1"),
        order: order(Side::Buy, "0.01", OrderKind::Market),
        origin: None,
    });
    assert!(matches!(h.update(id("it-bal-1")).await, OrderUpdate::Accepted { .. }));
    h.submit(ExecRequest::Place { id: id("it-bal-2"), order: limit(Side::Buy, "0.01", "30000"), origin: None });
    assert!(matches!(h.update(id("it-bal-2")).await, OrderUpdate::Accepted { .. }));
    // The stream comes back: the account is read again.
    h.sim.set_faults(FaultConfig::default());
    h.sim.drop_connections();
    let venue = venue_balances(&h.sim);
    let nonzero = |m: &std::collections::BTreeMap<String, (Decimal, Decimal)>| {
        m.iter().filter(|(_, (f, l))| !(*f + *l).is_zero()).map(|(a, v)| (a.clone(), *v)).collect::<Vec<_>>()
    };
    while nonzero(&seen) != nonzero(&venue) {
        take(h.next(|i| if let EngineInput::Balances(_, b) = i { Some(b) } else { None }).await, &mut seen);
    }
    assert_eq!(venue["USDT"].1, d("300"), "the resting buy's 300 USDT locked, exactly");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replace_whose_cancel_failed_waits_for_the_replaced_orders_state() {
    // regression: replace_loop (-2022: the replaced order had filled; the strategy fell back
    // to it and re-issued the same replace, 59 times in 3 minutes)
    let mut h = harness(quiet_market(), vec![]).await;
    h.submit(ExecRequest::Place { id: id("it-rp-1"), order: limit(Side::Buy, "0.01", "50000"), origin: None });
    assert!(matches!(h.update(id("it-rp-1")).await, OrderUpdate::Accepted { .. }));
    // It fills, and the stream loses the news: the replace finds it gone.
    h.sim.set_faults(FaultConfig { drop_user_events: 1.0, ..FaultConfig::default() });
    hit_our_bid(&h.sim, "0.01", "50000");
    h.submit(ExecRequest::Replace {
        cancel: id("it-rp-1"),
        id: id("it-rp-2"),
        order: limit(Side::Buy, "0.01", "50001"),
        origin: None,
    });
    let first = h
        .next(|i| match i {
            EngineInput::Order(u) if [id("it-rp-1"), id("it-rp-2")].contains(u.id()) => Some(*u),
            _ => None,
        })
        .await;
    assert!(
        matches!(first, OrderUpdate::Filled { id: filled, .. } if filled == id("it-rp-1")),
        "the fill first: {first:?}"
    );
    let OrderUpdate::Rejected { reason, .. } = h.update(id("it-rp-2")).await else { panic!("then the rejection") };
    assert_eq!(reason.code, "replaced_order_gone", "Binance's -2022, in every venue's terms");
    assert_eq!(h.venue_orders("it-rp-2"), 0, "nothing was placed");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_cancel_is_retried_until_the_venue_confirms() {
    // regression: a cancel that failed (-1021, 5xx, timeout) was never retried; the order stayed open
    let mut h = harness(quiet_market(), vec![]).await;
    h.submit(ExecRequest::Place { id: id("it-cx-1"), order: limit(Side::Buy, "0.01", "30000"), origin: None });
    assert!(matches!(h.update(id("it-cx-1")).await, OrderUpdate::Accepted { .. }));
    // The venue answers the next three requests with 500 (the cancel's first three attempts).
    h.sim.set_faults(FaultConfig { fail_next_requests: 3, ..FaultConfig::default() });
    h.submit(ExecRequest::Cancel { id: id("it-cx-1"), symbol: btc() });
    assert_eq!(h.update(id("it-cx-1")).await, OrderUpdate::Canceled { id: id("it-cx-1") });
    assert!(h.sim.requests("DELETE /api/v3/order") >= 2, "sent again after failing");
    assert!(h.sim.with_exchange(|ex| ex.open_orders(2, None).is_empty()), "closed on the venue");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timestamp_refused_user_subscription_resyncs_the_clock() {
    // regression: a -1021 on the WebSocket API did not resync the clock; the user stream stayed down
    let mut h = harness(quiet_market(), vec![]).await;
    // The drop below must hit a subscribed user stream, not one still connecting.
    let mut subscribed = h.sim.user_subscriptions();
    tokio::time::timeout(PATIENCE, subscribed.wait_for(|n| *n > 0)).await.unwrap().unwrap();
    h.submit(ExecRequest::Place { id: id("it-clk-1"), order: limit(Side::Buy, "0.01", "50000"), origin: None });
    assert!(matches!(h.update(id("it-clk-1")).await, OrderUpdate::Accepted { .. }));
    // The venue's clock jumps 8 s ahead: our timestamps now look older than the recvWindow.
    h.sim.set_faults(FaultConfig { clock_offset_ms: 8_000, ..FaultConfig::default() });
    // Counted before the drop: the stream may be back (refused, resynced, subscribed)
    // before this task runs again.
    let queries = h.sim.requests("GET /api/v3/time");
    let mut closed = h.sim.closed_api_connections();
    h.sim.drop_connections();
    // The fill must not leave on the old connection: wait until it is gone.
    tokio::time::timeout(PATIENCE, closed.changed()).await.unwrap().unwrap();
    // Nothing on REST could resync it: only the user stream, once back, tells of this fill.
    hit_our_bid(&h.sim, "0.01", "50000");
    let filled = h.next(|i| match i {
        EngineInput::Order(u) if matches!(*u, OrderUpdate::Filled { .. }) => Some(*u),
        _ => None,
    });
    assert!(matches!(filled.await, OrderUpdate::Filled { .. }));
    assert!(h.sim.requests("GET /api/v3/time") > queries, "the clock was read again");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_stream_switches_on_server_shutdown_without_missing_an_event() {
    // regression: serverShutdown on the user-data connection was ignored; the stream just dropped
    let mut h = harness(quiet_market(), vec![]).await;
    // The start is over once the account was read at connect, after reconciling, and after
    // the first subscription: what follows is the switch's doing.
    for _ in 0..3 {
        h.next(|i| matches!(i, EngineInput::Balances(..)).then_some(())).await;
    }
    h.submit(ExecRequest::Place { id: id("it-sw-1"), order: limit(Side::Buy, "0.01", "50000"), origin: None });
    assert!(matches!(h.update(id("it-sw-1")).await, OrderUpdate::Accepted { .. }));
    let (queries, accounts) = (h.sim.requests("GET /api/v3/order"), h.sim.requests("GET /api/v3/account"));
    let mut closed = h.sim.closed_api_connections();
    h.sim.announce_shutdown();
    // Fills come while the old connection is going (it closes 2 s after the notice) and after.
    hit_our_bid(&h.sim, "0.004", "50000");
    assert!(matches!(h.update(id("it-sw-1")).await, OrderUpdate::PartiallyFilled { .. }));
    tokio::time::timeout(PATIENCE, closed.changed()).await.unwrap().unwrap();
    hit_our_bid(&h.sim, "0.006", "50000");
    assert!(matches!(h.update(id("it-sw-1")).await, OrderUpdate::Filled { .. }));
    // No gap: nothing was reconciled (a reconnect would have queried the order and read the account).
    assert_eq!(h.sim.requests("GET /api/v3/order"), queries);
    assert_eq!(h.sim.requests("GET /api/v3/account"), accounts);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_market_still_has_a_top_of_book_after_a_reconnect() {
    // regression: no top of book after a reconnect in a quiet market while /readyz said ready
    let feed = FeedSpec { symbol: btc(), trades: false, quotes: true, book: false, klines: vec![] };
    let mut h = harness(quiet_market(), vec![feed]).await;
    let quote = |i: EngineInput| match i {
        EngineInput::Market(MarketEvent::Quote(q), _) => Some(q),
        _ => None,
    };
    h.next(quote).await;
    h.sim.pause_market(true);
    h.sim.drop_connections();
    let venue_top = h.sim.with_exchange(|ex| ex.symbol("BTCUSDT").unwrap().best_bid().unwrap().0);
    let q = h.next(quote).await;
    assert_eq!(q.bid_price.get(), venue_top, "read over REST: the market sent nothing");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_ascii_symbols_trade_end_to_end() {
    // regression: non_ascii_symbols (raw UTF-8 in the stream URL; a strict server refused the handshake forever)
    let mut config = quiet_market();
    let mut s = config.symbols[0].clone();
    (s.symbol, s.base) = ("币安人生USDT".into(), "币安人生".into());
    config.symbols.push(s);
    config.balances.insert("币安人生".into(), d("10"));
    let symbol = Symbol::new("币安人生USDT").unwrap();
    let feed = FeedSpec { symbol, trades: true, quotes: true, book: true, klines: vec![] };
    let mut h = harness(config, vec![feed]).await;
    let snapshot = h
        .next(|i| match i {
            EngineInput::Market(MarketEvent::BookSnapshot(s), _) if s.symbol == symbol => Some(s),
            _ => None,
        })
        .await;
    assert!(!snapshot.bids.is_empty());
    h.next(|i| matches!(i, EngineInput::Market(MarketEvent::Trade(t), _) if t.symbol == symbol).then_some(())).await;
    let buy = NewOrder { symbol, ..order(Side::Buy, "0.01", OrderKind::Market) };
    h.submit(ExecRequest::Place { id: id("it-utf-1"), order: buy, origin: None });
    assert!(matches!(h.update(id("it-utf-1")).await, OrderUpdate::Accepted { .. }));
    let OrderUpdate::Filled { fill, .. } = h.update(id("it-utf-1")).await else { panic!("filled") };
    assert_eq!(fill.symbol, symbol);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_the_start_needs_are_asked_again_after_a_5xx() {
    // regression: a 500 on the first request after a restart (the chaos run's 5xx phase)
    // ended the daemon's start: "venue did not start: HTTP 500"
    let sim = start_sim(quiet_market()).await;
    sim.set_faults(FaultConfig { fail_next_requests: 3, ..FaultConfig::default() });
    let (connection, rx, shutdown) = connect(&sim, Vec::new(), Duration::from_secs(45), None).await;
    assert_eq!(sim.requests("GET /api/v3/time"), 4, "three 500s, then the answer");
    assert!(!connection.instruments.is_empty(), "the start went on to read the rules");
    let mut h = Harness { sim, connection, rx, shutdown };
    h.submit(ExecRequest::Place { id: id("it-5xx-1"), order: limit(Side::Buy, "0.01", "30000"), origin: None });
    assert!(matches!(h.update(id("it-5xx-1")).await, OrderUpdate::Accepted { .. }), "and it trades");
    h.stop().await;
}
