//! The OKX connector against the simulator's OKX dialect over loopback: the
//! same code that trades on OKX, end to end (v5 REST, the public endpoint's
//! books, quotes and trades, the business endpoint's candles, the private
//! stream), over the same matching engine and ledger the other dialects trade on.

use rust_decimal::Decimal;
use tradewind::engine::EngineInput;
use tradewind::execution::ExecRequest;
use tradewind::journal::Journal;
use tradewind::secret::Secret;
use tradewind::venue::feed::FeedSpec;
use tradewind::venue::okx::sign::OkxKey;
use tradewind::venue::okx::start::{ConnectOptions, Endpoints, connect};
use tradewind::venue::sign::Signer;
use tradewind::venue::sim::config::FaultConfig;
use tradewind::venue::sim::{OKX_PASSPHRASE, SimConfig};
use tradewind_strategies::sdk::{
    ClientOrderId, KlineInterval, MarketEvent, NewOrder, OrderKind, OrderUpdate, Price, Qty, Side, Symbol, TimeInForce,
};

use super::connected::{Harness, filled_qty};
use super::{quiet_market, start_sim, venue};

fn btc() -> Symbol {
    Symbol::new("BTC-USDT").unwrap()
}

fn id(s: &str) -> ClientOrderId {
    ClientOrderId::new(s).unwrap()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn order(side: Side, qty: &str, kind: OrderKind) -> NewOrder {
    NewOrder { venue: venue(), symbol: btc(), side, qty: Qty::new(d(qty)), kind }
}

fn limit(qty: &str, price: &str) -> NewOrder {
    order(Side::Buy, qty, OrderKind::Limit { price: Price::new(d(price)), tif: TimeInForce::Gtc })
}

async fn harness(config: SimConfig, feeds: Vec<FeedSpec>) -> Harness {
    let sim = start_sim(config).await;
    let base = sim.stream_url();
    let options = ConnectOptions {
        endpoints: Endpoints {
            rest: sim.rest_url(),
            private: format!("{base}/ws/v5/private"),
            public: base,
            demo: false,
        },
        key: Some(OkxKey {
            api_key: Secret::new("it-key"),
            signer: Signer::hmac(&Secret::new("it-secret")).unwrap(),
            passphrase: Secret::new(OKX_PASSPHRASE),
        }),
        account_label: "sim/okx".into(),
        allow_withdrawal_keys: false,
    };
    Harness::connect(sim, feeds, |cx| connect(options, cx)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okx_market_data_arrives_normalised_from_both_endpoints_and_the_book_follows_prev_seq_ids() {
    let feed = FeedSpec { symbol: btc(), trades: true, quotes: true, book: true, klines: vec![KlineInterval::M1] };
    let mut h = harness(quiet_market(), vec![feed]).await;
    let instruments = h.next(|i| if let EngineInput::Instruments(_, list) = i { Some(list) } else { None }).await;
    let spec = instruments.iter().find(|s| s.symbol == btc()).expect("instruments named OKX's way");
    assert_eq!((spec.tick_size, spec.base.as_str()), (d("0.01"), "BTC"));

    let snapshot =
        h.next(|i| if let EngineInput::Market(MarketEvent::BookSnapshot(s), _) = i { Some(s) } else { None }).await;
    assert!(!snapshot.bids.is_empty() && snapshot.bids[0].price < snapshot.asks[0].price);
    // OKX's ids do not step by one: each update covers the ids after the one it names as before it.
    let mut last = snapshot.last_update_id;
    let (mut deltas, mut trades, mut quotes, mut klines) = (0, 0, 0, 0);
    while deltas < 10 || trades < 3 || quotes < 3 || klines < 1 {
        match h.next(|i| if let EngineInput::Market(m, _) = i { Some(m) } else { None }).await {
            MarketEvent::BookDelta(d) => {
                assert_eq!(d.first_update_id, last + 1, "follows the last");
                assert!(d.last_update_id > d.first_update_id, "ids step by more than one");
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
            MarketEvent::Kline(k) => {
                assert_eq!((k.symbol, k.interval), (btc(), KlineInterval::M1));
                assert_eq!(k.close_time.0 - k.open_time.0, 59_999);
                klines += 1;
            }
            MarketEvent::BookSnapshot(_) => panic!("no resync expected on a healthy connection"),
            _ => {}
        }
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_okx_book_update_resubscribes_for_a_snapshot() {
    let mut config = quiet_market();
    config.faults = FaultConfig { drop_depth_diffs: 0.5, ..FaultConfig::default() };
    let feed = FeedSpec { symbol: btc(), trades: false, quotes: false, book: true, klines: vec![] };
    let mut h = harness(config, vec![feed]).await;
    let (mut snapshots, mut last) = (0, None);
    while snapshots < 3 {
        match h.next(|i| if let EngineInput::Market(m, _) = i { Some(m) } else { None }).await {
            MarketEvent::BookSnapshot(s) => {
                snapshots += 1;
                last = Some(s.last_update_id);
            }
            MarketEvent::BookDelta(d) => {
                let previous = last.expect("a delta only after a snapshot");
                assert_eq!(d.first_update_id, previous + 1, "a gap is never passed on");
                last = Some(d.last_update_id);
            }
            _ => {}
        }
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okx_orders_are_filled_amended_cancelled_refused_and_journaled() {
    let mut h = harness(quiet_market(), vec![]).await;
    let balances = h.next(|i| if let EngineInput::Balances(_, b) = i { Some(b) } else { None }).await;
    assert!(balances.iter().any(|(a, b)| a.as_str() == "USDT" && !b.free.is_zero()), "{balances:?}");

    // A market buy in base currency fills against the background makers; the fee is in BTC.
    h.submit(ExecRequest::Place { id: id("okmkt1"), order: order(Side::Buy, "0.01", OrderKind::Market), origin: None });
    let updates = h.until_done(id("okmkt1")).await;
    assert!(matches!(updates[0], OrderUpdate::Accepted { .. }), "{updates:?}");
    let Some(OrderUpdate::Filled { fill, .. }) = updates.last() else { panic!("not filled: {updates:?}") };
    assert_eq!(fill.fee_asset.map(|a| a.to_string()), Some("BTC".to_owned()));
    assert_eq!(filled_qty(&updates), d("0.01"));

    // A resting order amended in place (same order on the venue), then cancelled.
    h.submit(ExecRequest::Place { id: id("okamd1"), order: limit("0.01", "30000"), origin: None });
    assert!(matches!(h.update(id("okamd1")).await, OrderUpdate::Accepted { .. }));
    let before = h.sim.with_exchange(|ex| ex.order(2, None, Some("okamd1")).unwrap().id);
    h.submit(ExecRequest::Amend { id: id("okamd1"), order: limit("0.02", "29000"), origin: None });
    let OrderUpdate::Amended { qty, price, .. } = h.update(id("okamd1")).await else { panic!("not amended") };
    assert_eq!((qty.get(), price.get()), (d("0.02"), d("29000")));
    let (venue_id, venue_qty) = h.sim.with_exchange(|ex| {
        let o = ex.order(2, None, Some("okamd1")).unwrap();
        (o.id, o.orig_qty)
    });
    assert_eq!((venue_id, venue_qty), (before, d("0.02")));

    // Replace: the old order is cancelled, the new one rests at its price.
    h.submit(ExecRequest::Replace {
        cancel: id("okamd1"),
        id: id("okrep2"),
        order: limit("0.01", "31500"),
        origin: None,
    });
    assert_eq!(h.update(id("okamd1")).await, OrderUpdate::Canceled { id: id("okamd1") });
    assert!(matches!(h.update(id("okrep2")).await, OrderUpdate::Accepted { .. }));
    h.submit(ExecRequest::Cancel { id: id("okrep2"), symbol: btc() });
    assert_eq!(h.update(id("okrep2")).await, OrderUpdate::Canceled { id: id("okrep2") });

    // Beyond the balance: rejected by the venue with OKX's code.
    h.submit(ExecRequest::Place { id: id("okbig1"), order: limit("5", "30000"), origin: None });
    let OrderUpdate::Rejected { reason, .. } = h.update(id("okbig1")).await else { panic!("not rejected") };
    assert_eq!(reason.code, "51008");

    // The journal holds the market buy's fills.
    let venue_fills = h.sim.with_exchange(|ex| ex.my_trades(2, "BTCUSDT", None, None, usize::MAX).len());
    let (path, _dir) = h.stop().await;
    let (_, recovered) = Journal::open(&path).unwrap();
    assert_eq!(recovered.fills.len(), venue_fills, "{:?}", recovered.fills);
    let journaled: Decimal = recovered.fills.iter().map(|(_, f)| f.qty.get()).sum();
    assert_eq!(journaled, d("0.01"));
    assert!(recovered.open.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fills_the_okx_private_stream_missed_are_reconciled_after_it_reconnects() {
    let feed = FeedSpec { symbol: btc(), trades: false, quotes: false, book: true, klines: vec![] };
    let mut h = harness(quiet_market(), vec![feed]).await;
    h.next(|i| if let EngineInput::Market(MarketEvent::BookSnapshot(s), _) = i { Some(s) } else { None }).await;
    // Every private event is lost: the ack comes over REST, the fill never on the stream.
    h.sim.set_faults(FaultConfig { drop_user_events: 1.0, ..FaultConfig::default() });
    h.submit(ExecRequest::Place { id: id("okgap1"), order: order(Side::Buy, "0.01", OrderKind::Market), origin: None });
    assert!(matches!(h.update(id("okgap1")).await, OrderUpdate::Accepted { .. }));
    h.sim.set_faults(FaultConfig::default());
    h.sim.drop_connections();
    let (mut resynced, mut filled) = (false, Decimal::ZERO);
    while !(resynced && filled == d("0.01")) {
        match h.next(Some).await {
            EngineInput::Market(MarketEvent::BookSnapshot(_), _) => resynced = true,
            EngineInput::Order(update) if *update.id() == id("okgap1") => {
                filled += update.fill().map(|f| f.qty.get()).unwrap_or_default();
            }
            _ => {}
        }
    }
    // Four connections came back at once, paced to OKX's three a second: none refused.
    assert_eq!(h.sim.limited_responses(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_okx_orders_stays_inside_the_two_second_budgets() {
    let mut h = harness(quiet_market(), vec![]).await;
    h.next(|i| if let EngineInput::Balances(_, b) = i { Some(b) } else { None }).await;
    // 100 orders at once: more than three windows of `trade/order` (60 per 2 s).
    let ids: Vec<ClientOrderId> = (0..100).map(|n| id(&format!("okburst{n}"))).collect();
    for (n, order_id) in ids.iter().enumerate() {
        let price = format!("{}", 30000 + n);
        h.submit(ExecRequest::Place { id: *order_id, order: limit("0.001", &price), origin: None });
    }
    let (mut accepted, mut denied) = (0, 0);
    while accepted + denied < ids.len() {
        match h.next(|i| if let EngineInput::Order(u) = i { Some(*u) } else { None }).await {
            OrderUpdate::Accepted { .. } => accepted += 1,
            OrderUpdate::Denied { reason, .. } => {
                assert_eq!(reason.code, "rate_limited");
                denied += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(accepted >= 60, "{accepted} accepted, {denied} denied");
    assert_eq!(h.sim.limited_responses(), 0, "no 50011 from the venue");
    h.stop().await;
}
