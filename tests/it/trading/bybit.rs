//! The Bybit connector against the simulator's Bybit dialect over loopback:
//! the same code that trades on Bybit, end to end (v5 REST, the public
//! stream's book and trades, the private stream), over the same matching
//! engine and ledger the Binance tests trade on.

use rust_decimal::Decimal;
use tradewind::engine::EngineInput;
use tradewind::execution::ExecRequest;
use tradewind::journal::Journal;
use tradewind::secret::Secret;
use tradewind::venue::bybit::start::{ConnectOptions, Endpoints, connect};
use tradewind::venue::feed::FeedSpec;
use tradewind::venue::sign::{Credentials, Signer};
use tradewind::venue::sim::SimConfig;
use tradewind::venue::sim::config::FaultConfig;
use tradewind_strategies::sdk::{ClientOrderId, MarketEvent, OrderKind, OrderUpdate, Side};

use super::connected::{Harness, filled_qty};
use super::{btc, id, limit, order, quiet_market, start_sim};

async fn harness(config: SimConfig, feeds: Vec<FeedSpec>) -> Harness {
    let sim = start_sim(config).await;
    let base = sim.stream_url();
    let options = ConnectOptions {
        endpoints: Endpoints { rest: sim.rest_url(), private: format!("{base}/v5/private"), public: base },
        credentials: Some(Credentials {
            api_key: Secret::new("it-key"),
            signer: Signer::hmac(&Secret::new("it-secret")).unwrap(),
        }),
        recv_window_ms: 5000,
        account_label: "sim/bybit".into(),
        allow_withdrawal_keys: false,
    };
    Harness::connect(sim, feeds, |cx| connect(options, cx)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bybit_market_data_arrives_normalised_and_the_book_stays_in_sync() {
    let feed = FeedSpec { symbol: btc(), trades: true, quotes: true, book: true, klines: vec![] };
    let mut h = harness(quiet_market(), vec![feed]).await;
    let instruments = h.next(|i| if let EngineInput::Instruments(_, list) = i { Some(list) } else { None }).await;
    assert_eq!(instruments.len(), 3);
    let btc_spec = instruments.iter().find(|s| s.symbol == btc()).unwrap();
    assert_eq!(btc_spec.tick_size, "0.01".parse().unwrap());

    let snapshot =
        h.next(|i| if let EngineInput::Market(MarketEvent::BookSnapshot(s), _) = i { Some(s) } else { None }).await;
    assert!(!snapshot.bids.is_empty() && !snapshot.asks.is_empty());
    assert!(snapshot.bids[0].price < snapshot.asks[0].price);
    // Bybit numbers every delta: each follows the one before it.
    let mut last = snapshot.last_update_id;
    let (mut deltas, mut trades, mut quotes) = (0, 0, 0);
    while deltas < 10 || trades < 3 || quotes < 3 {
        match h.next(|i| if let EngineInput::Market(m, _) = i { Some(m) } else { None }).await {
            MarketEvent::BookDelta(d) => {
                assert_eq!(d.last_update_id, last + 1, "contiguous");
                last = d.last_update_id;
                deltas += 1;
            }
            MarketEvent::Trade(t) => {
                assert_eq!(t.symbol, btc());
                trades += 1;
            }
            MarketEvent::Quote(q) => {
                assert!(q.bid_price < q.ask_price);
                quotes += 1;
            }
            MarketEvent::BookSnapshot(_) => panic!("no resync expected on a healthy connection"),
            _ => {}
        }
    }
    h.stop().await;
}

/// `tradewind_book_resyncs_total{venue="sim",symbol="BTCUSDT"}` as the process's recorder has it.
fn resyncs_counted() -> u64 {
    let text = tradewind::ops::metrics_handle().render();
    let line = text.lines().find(|l| l.starts_with("tradewind_book_resyncs_total{") && l.contains("venue=\"sim\""));
    line.and_then(|l| l.rsplit(' ').next()?.parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bybit_book_gap_resubscribes_for_a_snapshot_and_is_counted() {
    let before = resyncs_counted();
    let mut config = quiet_market();
    // Every other delta lost on the way: the next one's `u` shows the gap.
    config.faults = FaultConfig { drop_depth_diffs: 0.5, ..FaultConfig::default() };
    let feed = FeedSpec { symbol: btc(), trades: false, quotes: false, book: true, klines: vec![] };
    let mut h = harness(config, vec![feed]).await;
    let (mut snapshots, mut last) = (0, None);
    while snapshots < 4 {
        match h.next(|i| if let EngineInput::Market(m, _) = i { Some(m) } else { None }).await {
            MarketEvent::BookSnapshot(s) => {
                snapshots += 1;
                last = Some(s.last_update_id);
            }
            // What reaches the engine is always contiguous: a gap is never passed on.
            MarketEvent::BookDelta(d) => {
                let previous = last.expect("a delta only after a snapshot");
                assert_eq!(d.last_update_id, previous + 1, "contiguous");
                last = Some(d.last_update_id);
            }
            _ => {}
        }
    }
    // Three resyncs after the first snapshot, each counted before its snapshot arrived
    // (other tests of this process may count more under the same label, never less).
    assert!(resyncs_counted() >= before + 3, "before {before}, now {}", resyncs_counted());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bybit_orders_are_accepted_filled_cancelled_refused_and_journaled() {
    let mut h = harness(quiet_market(), vec![]).await;
    let balances = h.next(|i| if let EngineInput::Balances(_, b) = i { Some(b) } else { None }).await;
    assert!(balances.iter().any(|(a, b)| a.as_str() == "USDT" && !b.free.is_zero()), "{balances:?}");

    // A market buy (in base coin) fills against the background makers; the fee is in BTC.
    h.submit(ExecRequest::Place {
        id: id("bb-mkt-1"),
        order: order(Side::Buy, "0.01", OrderKind::Market),
        origin: None,
    });
    let updates = h.until_done(id("bb-mkt-1")).await;
    assert!(matches!(updates[0], OrderUpdate::Accepted { .. }), "{updates:?}");
    let Some(OrderUpdate::Filled { fill, .. }) = updates.last() else { panic!("not filled: {updates:?}") };
    assert_eq!(fill.fee_asset.map(|a| a.to_string()), Some("BTC".to_owned()));
    assert_eq!(filled_qty(&updates), "0.01".parse().unwrap());

    // A resting limit order far from the market, then its cancel.
    h.submit(ExecRequest::Place { id: id("bb-lim-1"), order: limit(Side::Buy, "0.01", "30000"), origin: None });
    assert!(matches!(h.update(id("bb-lim-1")).await, OrderUpdate::Accepted { .. }));
    h.submit(ExecRequest::Cancel { id: id("bb-lim-1"), symbol: btc() });
    assert_eq!(h.update(id("bb-lim-1")).await, OrderUpdate::Canceled { id: id("bb-lim-1") });

    // Replace: the old order is cancelled, the new one rests at its price.
    h.submit(ExecRequest::Place { id: id("bb-rep-1"), order: limit(Side::Buy, "0.01", "31000"), origin: None });
    assert!(matches!(h.update(id("bb-rep-1")).await, OrderUpdate::Accepted { .. }));
    h.submit(ExecRequest::Replace {
        cancel: id("bb-rep-1"),
        id: id("bb-rep-2"),
        order: limit(Side::Buy, "0.01", "31500"),
        origin: None,
    });
    assert_eq!(h.update(id("bb-rep-1")).await, OrderUpdate::Canceled { id: id("bb-rep-1") });
    assert!(matches!(h.update(id("bb-rep-2")).await, OrderUpdate::Accepted { .. }));
    let resting = h.sim.with_exchange(|ex| ex.order(2, None, Some("bb-rep-2")).map(|o| o.price).unwrap());
    assert_eq!(resting, "31500".parse().unwrap());
    h.submit(ExecRequest::Cancel { id: id("bb-rep-2"), symbol: btc() });
    assert_eq!(h.update(id("bb-rep-2")).await, OrderUpdate::Canceled { id: id("bb-rep-2") });

    // Off the tick grid: denied here, never sent.
    h.submit(ExecRequest::Place { id: id("bb-bad-1"), order: limit(Side::Buy, "0.01", "30000.001"), origin: None });
    let OrderUpdate::Denied { reason, .. } = h.update(id("bb-bad-1")).await else { panic!("not denied") };
    assert_eq!(reason.code, "filter");
    assert!(h.sim.with_exchange(|ex| ex.order(2, None, Some("bb-bad-1")).is_err()));

    // Beyond the balance: rejected by the venue with Bybit's code.
    h.submit(ExecRequest::Place { id: id("bb-big-1"), order: limit(Side::Buy, "5", "30000"), origin: None });
    let OrderUpdate::Rejected { reason, .. } = h.update(id("bb-big-1")).await else { panic!("not rejected") };
    assert_eq!(reason.code, "170131");

    // The journal holds the market buy's fills, bound to the simulated account.
    let venue_fills: Vec<_> = h
        .sim
        .with_exchange(|ex| ex.my_trades(2, "BTCUSDT", None, None, usize::MAX).into_iter().map(|t| t.id).collect());
    let (path, _dir) = h.stop().await;
    let (_, recovered) = Journal::open(&path).unwrap();
    assert_eq!(recovered.fills.len(), venue_fills.len(), "{:?}", recovered.fills);
    let journaled: Decimal = recovered.fills.iter().map(|(_, f)| f.qty.get()).sum();
    assert_eq!(journaled, "0.01".parse().unwrap());
    assert!(recovered.open.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bybit_order_is_amended_in_place_and_an_amend_of_an_order_gone_is_refused_with_its_code() {
    let mut h = harness(quiet_market(), vec![]).await;
    h.submit(ExecRequest::Place { id: id("bb-amd-1"), order: limit(Side::Buy, "0.01", "30000"), origin: None });
    assert!(matches!(h.update(id("bb-amd-1")).await, OrderUpdate::Accepted { .. }));
    let before = h.sim.with_exchange(|ex| ex.order(2, None, Some("bb-amd-1")).unwrap().id);
    h.submit(ExecRequest::Amend { id: id("bb-amd-1"), order: limit(Side::Buy, "0.02", "29000"), origin: None });
    let OrderUpdate::Amended { qty, price, .. } = h.update(id("bb-amd-1")).await else { panic!("not amended") };
    assert_eq!((qty.get(), price.get()), ("0.02".parse().unwrap(), "29000".parse().unwrap()));
    let (venue_id, venue_qty, venue_price) = h.sim.with_exchange(|ex| {
        let o = ex.order(2, None, Some("bb-amd-1")).unwrap();
        (o.id, o.orig_qty, o.price)
    });
    assert_eq!(venue_id, before, "the same order on the venue");
    assert_eq!((venue_qty, venue_price), ("0.02".parse().unwrap(), "29000".parse().unwrap()));

    // Cancelled on the venue behind our back (its report lost): the amend is refused with
    // Bybit's code, and the order's state is asked for and reported.
    h.sim.set_faults(FaultConfig { drop_user_events: 1.0, ..FaultConfig::default() });
    h.submit(ExecRequest::Place { id: id("bb-amd-2"), order: limit(Side::Buy, "0.01", "30000"), origin: None });
    assert!(matches!(h.update(id("bb-amd-2")).await, OrderUpdate::Accepted { .. }));
    h.sim.with_exchange(|ex| ex.cancel(2, "BTCUSDT", None, Some("bb-amd-2"), None, 0).unwrap());
    h.submit(ExecRequest::Amend { id: id("bb-amd-2"), order: limit(Side::Buy, "0.02", "30000"), origin: None });
    let OrderUpdate::AmendRefused { reason, .. } = h.update(id("bb-amd-2")).await else { panic!("not refused") };
    assert_eq!(reason.code, "170213");
    assert_eq!(h.update(id("bb-amd-2")).await, OrderUpdate::Canceled { id: id("bb-amd-2") });

    // The journal keeps the amended terms of the order still open.
    let (path, _dir) = h.stop().await;
    let (_, recovered) = Journal::open(&path).unwrap();
    let open: Vec<_> = recovered.open.iter().map(|e| (e.order.id, e.order.order.qty.get())).collect();
    assert_eq!(open, [(id("bb-amd-1"), "0.02".parse().unwrap())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bybit_create_that_timed_out_is_settled_by_query_and_never_resent() {
    let mut h = harness(quiet_market(), vec![]).await;
    h.next(|i| if let EngineInput::Balances(_, b) = i { Some(b) } else { None }).await;
    // Every accepted order is answered with 170146 (outcome unknown), and every private event comes twice.
    h.sim.set_faults(FaultConfig { fail_after_accept: 1.0, duplicate_user_events: 1.0, ..FaultConfig::default() });
    h.submit(ExecRequest::Place {
        id: id("bb-unk-1"),
        order: order(Side::Buy, "0.02", OrderKind::Market),
        origin: None,
    });
    let updates = h.until_done(id("bb-unk-1")).await;
    let accepted = updates.iter().filter(|u| matches!(u, OrderUpdate::Accepted { .. })).count();
    assert_eq!(accepted, 1, "{updates:?}");
    assert_eq!(filled_qty(&updates), "0.02".parse().unwrap(), "each fill counted once: {updates:?}");
    let mut trade_ids: Vec<_> = updates.iter().filter_map(|u| u.fill()).map(|f| f.trade_id).collect();
    let n = trade_ids.len();
    trade_ids.sort();
    trade_ids.dedup();
    assert_eq!(trade_ids.len(), n);
    assert!(matches!(updates.last(), Some(OrderUpdate::Filled { .. })));
    assert_eq!(h.sim.requests("POST /v5/order/create"), 1, "sent once");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fills_the_bybit_private_stream_missed_are_reconciled_after_it_reconnects() {
    let feed = FeedSpec { symbol: btc(), trades: false, quotes: false, book: true, klines: vec![] };
    let mut h = harness(quiet_market(), vec![feed]).await;
    h.next(|i| if let EngineInput::Market(MarketEvent::BookSnapshot(s), _) = i { Some(s) } else { None }).await;
    // The venue loses every private event: the ack arrives over REST, the fill never on the stream.
    h.sim.set_faults(FaultConfig { drop_user_events: 1.0, ..FaultConfig::default() });
    h.submit(ExecRequest::Place {
        id: id("bb-gap-1"),
        order: order(Side::Buy, "0.01", OrderKind::Market),
        origin: None,
    });
    assert!(matches!(h.update(id("bb-gap-1")).await, OrderUpdate::Accepted { .. }));
    let executed = h.sim.with_exchange(|ex| ex.order(2, None, Some("bb-gap-1")).unwrap().executed_qty);
    assert_eq!(executed, "0.01".parse().unwrap(), "filled on the venue");
    // The connections drop and come back: the book resyncs and reconciliation finds the fill.
    h.sim.set_faults(FaultConfig::default());
    h.sim.drop_connections();
    let (mut resynced, mut filled) = (false, Decimal::ZERO);
    while !(resynced && filled == "0.01".parse().unwrap()) {
        match h.next(Some).await {
            EngineInput::Market(MarketEvent::BookSnapshot(_), _) => resynced = true,
            EngineInput::Order(update) if *update.id() == id("bb-gap-1") => {
                filled += update.fill().map(|f| f.qty.get()).unwrap_or_default();
                if update.is_terminal() {
                    assert!(matches!(*update, OrderUpdate::Filled { .. }), "{update:?}");
                }
            }
            _ => {}
        }
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_bybit_orders_stays_inside_the_per_second_limits() {
    let mut h = harness(quiet_market(), vec![]).await;
    h.next(|i| if let EngineInput::Balances(_, b) = i { Some(b) } else { None }).await;
    // 45 orders at once: more than two seconds of `order/create` (20 per second).
    let ids: Vec<ClientOrderId> = (0..45).map(|n| id(&format!("bb-burst-{n}"))).collect();
    for (n, order_id) in ids.iter().enumerate() {
        let price = format!("{}", 30000 + n);
        h.submit(ExecRequest::Place { id: *order_id, order: limit(Side::Buy, "0.001", &price), origin: None });
    }
    let mut accepted = Vec::new();
    let mut denied = 0;
    while accepted.len() + denied < ids.len() {
        match h.next(|i| if let EngineInput::Order(u) = i { Some(*u) } else { None }).await {
            OrderUpdate::Accepted { id, .. } => accepted.push(id),
            OrderUpdate::Denied { reason, .. } => {
                assert_eq!(reason.code, "rate_limited");
                denied += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(!accepted.is_empty(), "{denied} denied");
    for order_id in &accepted {
        h.submit(ExecRequest::Cancel { id: *order_id, symbol: btc() });
    }
    let mut canceled = 0;
    while canceled < accepted.len() {
        if let OrderUpdate::Canceled { .. } =
            h.next(|i| if let EngineInput::Order(u) = i { Some(*u) } else { None }).await
        {
            canceled += 1;
        }
    }
    assert_eq!(h.sim.limited_responses(), 0, "no 10006 or 403 from the venue");
    h.stop().await;
}
