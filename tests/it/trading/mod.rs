//! The Binance connector against the built-in simulator over loopback: the
//! same code that trades live, end to end (REST, market streams, user stream).

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tradewind::engine::EngineInput;
use tradewind::execution::{ExecRequest, ExecutionClient};
use tradewind::journal::{Journal, Recovered};
use tradewind::secret::Secret;
use tradewind::sink::Deliveries;
use tradewind::venue::binance::rest::Credentials;
use tradewind::venue::binance::sign::Signer;
use tradewind::venue::binance::{self, ConnectOptions, Connection, Endpoints};
use tradewind::venue::feed::FeedSpec;
use tradewind::venue::sim::config::FaultConfig;
use tradewind::venue::sim::{self, SimConfig, SimHandle};
use tradewind_strategies::sdk::{
    ClientOrderId, MarketEvent, NewOrder, OrderKind, OrderUpdate, Price, Qty, Side, Symbol, TimeInForce, VenueId,
};

/// Long enough for anything that should happen; tests wait on events, not on time.
const PATIENCE: Duration = Duration::from_secs(20);

struct Harness {
    sim: SimHandle,
    connection: Connection,
    rx: mpsc::Receiver<EngineInput>,
    shutdown: CancellationToken,
}

fn venue() -> VenueId {
    VenueId::new("sim").unwrap()
}

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

async fn harness(config: SimConfig, feeds: Vec<FeedSpec>) -> Harness {
    harness_with_silence(config, feeds, Duration::from_secs(45)).await
}

async fn harness_with_silence(config: SimConfig, feeds: Vec<FeedSpec>, silence_timeout: Duration) -> Harness {
    let sim = start_sim(config).await;
    let (connection, rx, shutdown) = connect(&sim, feeds, silence_timeout, None).await;
    Harness { sim, connection, rx, shutdown }
}

async fn start_sim(config: SimConfig) -> SimHandle {
    let options = sim::SimOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        seed: 5,
        config,
        accounts: vec![("it-key".into(), Secret::new("it-secret"))],
    };
    sim::start(options, CancellationToken::new()).await.unwrap()
}

/// Connects to `sim`, journaling to `journal` (and settling what it recovered) if given.
async fn connect(
    sim: &SimHandle,
    feeds: Vec<FeedSpec>,
    silence_timeout: Duration,
    journal: Option<(Journal, Recovered)>,
) -> (Connection, mpsc::Receiver<EngineInput>, CancellationToken) {
    connect_trading(sim, feeds, silence_timeout, journal, Vec::new()).await
}

/// [`connect`], with the leases of `traders` taken during the start.
async fn connect_trading(
    sim: &SimHandle,
    feeds: Vec<FeedSpec>,
    silence_timeout: Duration,
    journal: Option<(Journal, Recovered)>,
    traders: Vec<tradewind::execution::orders::Trader>,
) -> (Connection, mpsc::Receiver<EngineInput>, CancellationToken) {
    let shutdown = CancellationToken::new();
    let credentials =
        Credentials { api_key: Secret::new("it-key"), signer: Signer::hmac(&Secret::new("it-secret")).unwrap() };
    let (journal, recovered) = journal.unzip();
    let recovered = recovered.unwrap_or_default();
    let options = ConnectOptions {
        venue: venue(),
        endpoints: Endpoints { rest: sim.rest_url(), stream: sim.stream_url(), ws_api: sim.ws_api_url() },
        credentials: Some(credentials),
        recv_window_ms: 5000,
        silence_timeout,
        instruments_refresh: Duration::from_secs(3600),
        request_timeout: Duration::from_secs(2),
        journal,
        recovered: recovered.open,
        unjournaled: recovered.unjournaled,
        account_label: "sim".into(),
        check_key_permissions: true,
        allow_withdrawal_keys: false,
        traders,
    };
    let (tx, rx) = mpsc::channel(100_000);
    let connection = binance::connect(options, feeds, Deliveries::queue(tx), shutdown.clone()).await.unwrap();
    (connection, rx, shutdown)
}

/// Closes a connection the way the daemon does at a clean stop (the simulator stays up).
async fn disconnect(connection: Connection, shutdown: CancellationToken) {
    shutdown.cancel();
    drop(connection.client);
    let _ = connection.exec_task.await;
    for t in connection.tasks {
        let _ = t.await;
    }
}

impl Harness {
    /// The next input that `pick` accepts (others are skipped).
    async fn next<T>(&mut self, mut pick: impl FnMut(EngineInput) -> Option<T>) -> T {
        let mut skipped = std::collections::VecDeque::new();
        let wait = async {
            loop {
                let input = self.rx.recv().await.expect("the venue is still running");
                let shown = format!("{input:?}");
                if let Some(t) = pick(input) {
                    return t;
                }
                skipped.push_back(shown);
                if skipped.len() > 8 {
                    skipped.pop_front();
                }
            }
        };
        match tokio::time::timeout(PATIENCE, wait).await {
            Ok(t) => t,
            Err(_) => panic!("the expected event did not arrive; last inputs skipped: {skipped:#?}"),
        }
    }

    /// The next update of order `id`.
    async fn update(&mut self, id: ClientOrderId) -> OrderUpdate {
        self.next(|i| match i {
            EngineInput::Order(u) if *u.id() == id => Some(*u),
            _ => None,
        })
        .await
    }

    fn submit(&mut self, request: ExecRequest) {
        self.connection.client.submit(request).unwrap();
    }

    /// Orders the simulator holds under this client id (the demo account is 2).
    fn venue_orders(&self, id: &str) -> usize {
        self.sim.with_exchange(|ex| usize::from(ex.order(2, None, Some(id)).is_ok()))
    }

    async fn stop(self) {
        disconnect(self.connection, self.shutdown).await;
        self.sim.stop().await;
    }
}

fn order(side: Side, qty: &str, kind: OrderKind) -> NewOrder {
    NewOrder { venue: venue(), symbol: btc(), side, qty: Qty::new(qty.parse().unwrap()), kind }
}

fn limit(side: Side, qty: &str, price: &str) -> NewOrder {
    order(side, qty, OrderKind::Limit { price: Price::new(price.parse().unwrap()), tif: TimeInForce::Gtc })
}

fn id(s: &str) -> ClientOrderId {
    ClientOrderId::new(s).unwrap()
}

/// Order `seq` of instance `instance`, as the engine numbers them.
fn own(instance: &str, seq: u64) -> ClientOrderId {
    tradewind_strategies::sdk::owner::register(instance).unwrap();
    ClientOrderId::for_instance(instance, seq).unwrap()
}

fn quiet_market() -> SimConfig {
    let mut c = SimConfig::default();
    c.market.events_per_sec = 20;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_data_arrives_normalised_and_the_book_stays_in_sync() {
    let feed = FeedSpec { symbol: btc(), trades: true, quotes: true, book: true, klines: vec![] };
    let mut h = harness(quiet_market(), vec![feed]).await;
    let instruments = h.next(|i| if let EngineInput::Instruments(_, list) = i { Some(list) } else { None }).await;
    assert_eq!(instruments.len(), 3);
    assert_eq!(instruments[0].tick_size, "0.01".parse().unwrap());

    let snapshot =
        h.next(|i| if let EngineInput::Market(MarketEvent::BookSnapshot(s), _) = i { Some(s) } else { None }).await;
    assert!(!snapshot.bids.is_empty() && !snapshot.asks.is_empty());
    assert!(snapshot.bids[0].price < snapshot.asks[0].price);
    // Deltas follow the snapshot without gaps, and trades and quotes flow.
    let mut last = snapshot.last_update_id;
    let (mut deltas, mut trades, mut quotes) = (0, 0, 0);
    while deltas < 10 || trades < 3 || quotes < 3 {
        match h.next(|i| if let EngineInput::Market(m, _) = i { Some(m) } else { None }).await {
            MarketEvent::BookDelta(d) => {
                assert!(
                    d.first_update_id <= last + 1 && d.last_update_id > last,
                    "contiguous: {last} then {}..={}",
                    d.first_update_id,
                    d.last_update_id
                );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_accepted_filled_and_cancelled_exactly_once() {
    let mut h = harness(quiet_market(), vec![]).await;
    h.next(|i| if let EngineInput::Balances(_, b) = i { Some(b) } else { None }).await;

    // A market buy fills against the background makers.
    h.submit(ExecRequest::Place {
        id: id("it-mkt-1"),
        order: order(Side::Buy, "0.01", OrderKind::Market),
        origin: None,
    });
    assert!(matches!(h.update(id("it-mkt-1")).await, OrderUpdate::Accepted { .. }));
    let mut filled = rust_decimal::Decimal::ZERO;
    loop {
        match h.update(id("it-mkt-1")).await {
            OrderUpdate::PartiallyFilled { fill, .. } => filled += fill.qty.get(),
            OrderUpdate::Filled { fill, .. } => {
                filled += fill.qty.get();
                assert_eq!(fill.fee_asset.map(|a| a.to_string()), Some("BTC".to_owned()));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(filled, "0.01".parse().unwrap());

    // A resting limit order far from the market, then its cancel.
    h.submit(ExecRequest::Place { id: id("it-lim-1"), order: limit(Side::Buy, "0.01", "30000"), origin: None });
    assert!(matches!(h.update(id("it-lim-1")).await, OrderUpdate::Accepted { .. }));
    h.submit(ExecRequest::Cancel { id: id("it-lim-1"), symbol: btc() });
    assert_eq!(h.update(id("it-lim-1")).await, OrderUpdate::Canceled { id: id("it-lim-1") });

    // Off the tick grid: denied here, never sent.
    h.submit(ExecRequest::Place { id: id("it-bad-1"), order: limit(Side::Buy, "0.01", "30000.001"), origin: None });
    let OrderUpdate::Denied { reason, .. } = h.update(id("it-bad-1")).await else { panic!("not denied") };
    assert_eq!(reason.code, "filter");
    assert_eq!(h.venue_orders("it-bad-1"), 0);

    // Beyond the balance: rejected by the venue with its code.
    h.submit(ExecRequest::Place { id: id("it-big-1"), order: limit(Side::Buy, "5", "30000"), origin: None });
    let OrderUpdate::Rejected { reason, .. } = h.update(id("it-big-1")).await else { panic!("not rejected") };
    assert_eq!(reason.code, "-2010");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_outcome_is_settled_by_query_and_never_resent() {
    let mut h = harness(quiet_market(), vec![]).await;
    // Every accepted order is answered with a 503, and every user event comes twice.
    h.sim.set_faults(FaultConfig { fail_after_accept: 1.0, duplicate_user_events: 1.0, ..FaultConfig::default() });
    h.submit(ExecRequest::Place {
        id: id("it-unk-1"),
        order: order(Side::Buy, "0.02", OrderKind::Market),
        origin: None,
    });
    let mut updates = Vec::new();
    loop {
        let u = h.update(id("it-unk-1")).await;
        let done = u.is_terminal();
        updates.push(u);
        if done {
            break;
        }
    }
    // The user stream may settle it before the 503 arrives; either way: one Accepted, fills once, one Filled.
    let accepted = updates.iter().filter(|u| matches!(u, OrderUpdate::Accepted { .. })).count();
    let fills: Vec<_> = updates.iter().filter_map(|u| u.fill()).collect();
    assert_eq!(accepted, 1, "{updates:?}");
    let total: rust_decimal::Decimal = fills.iter().map(|f| f.qty.get()).sum();
    assert_eq!(total, "0.02".parse().unwrap(), "each fill counted once: {updates:?}");
    let mut trade_ids: Vec<_> = fills.iter().map(|f| f.trade_id).collect();
    trade_ids.sort();
    trade_ids.dedup();
    assert_eq!(trade_ids.len(), fills.len());
    assert!(matches!(updates.last(), Some(OrderUpdate::Filled { .. })));
    assert_eq!(h.venue_orders("it-unk-1"), 1, "sent once");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fills_missed_while_the_user_stream_resubscribes_are_fetched_once_the_ack_arrives() {
    let mut h = harness(quiet_market(), vec![]).await;
    h.next(|i| if let EngineInput::Balances(_, b) = i { Some(b) } else { None }).await;
    // The venue fills the order at once, loses the reports, and holds the ack back.
    h.sim.set_faults(FaultConfig {
        drop_user_events: 1.0,
        timeout_after_accept: 1.0,
        timeout_after_accept_ms: 1_500,
        ..FaultConfig::default()
    });
    h.submit(ExecRequest::Place {
        id: id("it-race-1"),
        order: order(Side::Buy, "0.01", OrderKind::Market),
        origin: None,
    });
    let filled_on_venue = async {
        while h.sim.with_exchange(|ex| ex.order(2, None, Some("it-race-1")).map(|o| o.executed_qty).ok())
            != Some("0.01".parse().unwrap())
        {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(PATIENCE, filled_on_venue).await.expect("the venue filled the order");
    // While the ack is still held, the user stream comes back and resubscribes:
    // the reports it missed belong to an order whose ack is in flight.
    h.sim.set_faults(FaultConfig::default());
    h.sim.drop_connections();
    assert!(matches!(h.update(id("it-race-1")).await, OrderUpdate::Accepted { .. }));
    let mut filled = rust_decimal::Decimal::ZERO;
    loop {
        match h.update(id("it-race-1")).await {
            OrderUpdate::PartiallyFilled { fill, .. } => filled += fill.qty.get(),
            OrderUpdate::Filled { fill, .. } => break filled += fill.qty.get(),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(filled, "0.01".parse().unwrap());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_times_the_allowed_order_rate_causes_no_429_and_cancels_still_go_through() {
    let mut config = quiet_market();
    config.limits.request_weight_per_minute = 400;
    config.limits.orders_per_10s = 5;
    let mut h = harness(config, vec![]).await;
    h.next(|i| if let EngineInput::Balances(_, b) = i { Some(b) } else { None }).await;
    // 50 resting orders at once: ten times what 10 seconds allow.
    let ids: Vec<ClientOrderId> = (0..50).map(|n| id(&format!("it-flood-{n}"))).collect();
    for (n, order_id) in ids.iter().enumerate() {
        let price = format!("{}", 30000 + n);
        h.submit(ExecRequest::Place { id: *order_id, order: limit(Side::Buy, "0.001", &price), origin: None });
    }
    let (mut accepted, mut denied) = (Vec::new(), 0);
    while accepted.len() + denied < ids.len() {
        let u = h.next(|i| if let EngineInput::Order(u) = i { Some(*u) } else { None }).await;
        match u {
            OrderUpdate::Accepted { id, .. } => accepted.push(id),
            OrderUpdate::Denied { reason, .. } => {
                assert_eq!(reason.code, "rate_limited");
                denied += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(!accepted.is_empty() && denied > 0, "{} accepted, {denied} denied", accepted.len());
    // Cancels outrank everything and still go through.
    for order_id in &accepted {
        h.submit(ExecRequest::Cancel { id: *order_id, symbol: btc() });
    }
    let mut canceled = Vec::new();
    while canceled.len() < accepted.len() {
        match h.next(|i| if let EngineInput::Order(u) = i { Some(*u) } else { None }).await {
            OrderUpdate::Canceled { id } => canceled.push(id),
            other => panic!("unexpected {other:?}"),
        }
    }
    canceled.sort_by_key(|c| c.to_string());
    accepted.sort_by_key(|c| c.to_string());
    assert_eq!(canceled, accepted);
    assert_eq!(h.sim.limited_responses(), 0, "no 429 or 418 from the venue");
    assert!(h.sim.peak_weight() <= 400, "peak weight {}", h.sim.peak_weight());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_come_back_resync_the_book_and_reconcile_missed_fills() {
    let feed = FeedSpec { symbol: btc(), trades: false, quotes: false, book: true, klines: vec![] };
    let mut h = harness(quiet_market(), vec![feed]).await;
    h.next(|i| if let EngineInput::Market(MarketEvent::BookSnapshot(s), _) = i { Some(s) } else { None }).await;

    // A resting buy; then the venue "loses" user events while it fills.
    h.submit(ExecRequest::Place { id: id("it-rec-1"), order: limit(Side::Buy, "0.01", "50000"), origin: None });
    let OrderUpdate::Accepted { venue_order_id, .. } = h.update(id("it-rec-1")).await else { panic!("not accepted") };
    h.sim.set_faults(FaultConfig { drop_user_events: 1.0, ..FaultConfig::default() });
    h.sim.with_exchange(|ex| {
        use tradewind::venue::sim::exchange::{MARKET_ACCOUNT, NewOrder as SimOrder, OrdType, Side as SimSide};
        let sell = SimOrder {
            symbol: "BTCUSDT".into(),
            side: SimSide::Sell,
            kind: OrdType::Limit,
            tif: tradewind::venue::sim::matching::Tif::Ioc,
            qty: Some("0.01".parse().unwrap()),
            quote_qty: None,
            price: Some("50000".parse().unwrap()),
            client_id: None,
        };
        // Take the background bids away first, so the sell meets our order.
        ex.cancel_all(MARKET_ACCOUNT, "BTCUSDT", 1).unwrap();
        ex.place(MARKET_ACCOUNT, &sell, 1).unwrap();
        assert_eq!(
            ex.order(2, venue_order_id.as_str().parse().ok(), None).unwrap().executed_qty,
            "0.01".parse().unwrap()
        );
    });
    h.sim.set_faults(FaultConfig::default());
    h.sim.drop_connections();

    // The feed reports down and up, resyncs the book, and the fill is found by reconciliation.
    let mut seen = (false, false, false, false);
    while !(seen.0 && seen.1 && seen.2 && seen.3) {
        match h.next(Some).await {
            EngineInput::Market(MarketEvent::Connectivity(c), _) if !c.up => seen.0 = true,
            EngineInput::Market(MarketEvent::Connectivity(c), _) if c.up => {
                assert!(seen.0, "up after down");
                seen.1 = true;
            }
            EngineInput::Market(MarketEvent::BookSnapshot(_), _) if seen.1 => seen.2 = true,
            EngineInput::Order(update) => {
                let OrderUpdate::Filled { id: filled, fill } = *update else { panic!("unexpected {update:?}") };
                assert_eq!(filled, id("it-rec-1"));
                assert_eq!((fill.qty.get(), fill.price.get()), ("0.01".parse().unwrap(), "50000".parse().unwrap()));
                seen.3 = true;
            }
            _ => {}
        }
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_market_stream_is_dropped_and_replaced() {
    let feed = FeedSpec { symbol: btc(), trades: true, quotes: false, book: false, klines: vec![] };
    let mut busy = SimConfig::default();
    busy.market.events_per_sec = 200;
    let mut h = harness_with_silence(busy, vec![feed], Duration::from_millis(400)).await;
    let up = |i: &EngineInput| match i {
        EngineInput::Market(MarketEvent::Connectivity(c), _) => Some(c.up),
        _ => None,
    };
    assert!(h.next(|i| up(&i)).await, "up");
    h.next(|i| if let EngineInput::Market(MarketEvent::Trade(t), _) = i { Some(t) } else { None }).await;
    // Events flow for about twice the timeout: the silence check fires and
    // finds frames, so the connection stays.
    for _ in 0..150 {
        let input = h.next(|i| matches!(i, EngineInput::Market(..)).then_some(i)).await;
        assert!(up(&input).is_none(), "connectivity changed while trades flowed");
    }
    // The venue goes quiet (no frames, and its pings are 20 s apart): down, then up again.
    h.sim.pause_market(true);
    assert!(!h.next(|i| up(&i)).await, "down");
    h.sim.pause_market(false);
    assert!(h.next(|i| up(&i)).await, "up");
    h.next(|i| if let EngineInput::Market(MarketEvent::Trade(t), _) = i { Some(t) } else { None }).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_shutdown_notice_switches_connections_without_losing_the_book() {
    let feed = FeedSpec { symbol: btc(), trades: false, quotes: false, book: true, klines: vec![] };
    let mut h = harness(quiet_market(), vec![feed]).await;
    let snapshot =
        h.next(|i| if let EngineInput::Market(MarketEvent::BookSnapshot(s), _) = i { Some(s) } else { None }).await;
    h.sim.announce_shutdown();
    // Deltas keep coming, contiguous, with no resync and no down event, well past the switch.
    let mut last = snapshot.last_update_id;
    for _ in 0..40 {
        match h.next(|i| if let EngineInput::Market(m, _) = i { Some(m) } else { None }).await {
            MarketEvent::BookDelta(d) => {
                assert!(d.first_update_id <= last + 1, "gap: {last} then {}", d.first_update_id);
                last = last.max(d.last_update_id);
            }
            MarketEvent::BookSnapshot(_) => panic!("the book was rebuilt"),
            MarketEvent::Connectivity(c) => panic!("connectivity changed: {c:?}"),
            _ => {}
        }
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_that_never_comes_is_settled_by_query() {
    let mut h = harness(quiet_market(), vec![]).await;
    // The venue accepts the order but answers after the client gave up (2 s),
    // and the user stream loses its events, so only a query can tell.
    h.sim.set_faults(FaultConfig {
        timeout_after_accept: 1.0,
        timeout_after_accept_ms: 6_000,
        drop_user_events: 1.0,
        ..FaultConfig::default()
    });
    h.submit(ExecRequest::Place { id: id("it-slow-1"), order: limit(Side::Buy, "0.01", "30000"), origin: None });
    assert_eq!(h.update(id("it-slow-1")).await, OrderUpdate::Unknown { id: id("it-slow-1") });
    assert!(matches!(h.update(id("it-slow-1")).await, OrderUpdate::Accepted { .. }));
    assert_eq!(h.venue_orders("it-slow-1"), 1, "never sent twice");
    h.sim.set_faults(FaultConfig::default());
    h.submit(ExecRequest::Cancel { id: id("it-slow-1"), symbol: btc() });
    assert_eq!(h.update(id("it-slow-1")).await, OrderUpdate::Canceled { id: id("it-slow-1") });
    h.stop().await;
}

/// A market-account sell of `qty` at `price` (IOC), after taking the background bids
/// away, so it can only meet our resting buy.
fn hit_our_bid(sim: &SimHandle, qty: &str, price: &str) {
    use tradewind::venue::sim::exchange::{MARKET_ACCOUNT, NewOrder as SimOrder, OrdType, Side as SimSide};
    sim.with_exchange(|ex| {
        let sell = SimOrder {
            symbol: "BTCUSDT".into(),
            side: SimSide::Sell,
            kind: OrdType::Limit,
            tif: tradewind::venue::sim::matching::Tif::Ioc,
            qty: Some(qty.parse().unwrap()),
            quote_qty: None,
            price: Some(price.parse().unwrap()),
            client_id: None,
        };
        ex.cancel_all(MARKET_ACCOUNT, "BTCUSDT", 1).unwrap();
        ex.place(MARKET_ACCOUNT, &sell, 1).unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_fills_then_cancel_give_the_hand_computed_position_through_duplicated_and_reordered_events() {
    use rust_decimal::Decimal;
    use tradewind::portfolio::Position;
    use tradewind_strategies::sdk::Asset;
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let mut h = harness(quiet_market(), vec![]).await;
    h.sim.set_faults(FaultConfig { duplicate_user_events: 1.0, reorder_user_events: 0.5, ..FaultConfig::default() });
    h.submit(ExecRequest::Place { id: id("it-pf-1"), order: limit(Side::Buy, "0.01", "50000"), origin: None });
    assert!(matches!(h.update(id("it-pf-1")).await, OrderUpdate::Accepted { .. }));
    hit_our_bid(&h.sim, "0.004", "50000");
    hit_our_bid(&h.sim, "0.003", "50000");
    h.submit(ExecRequest::Cancel { id: id("it-pf-1"), symbol: btc() });
    let mut updates = Vec::new();
    loop {
        let u = h.update(id("it-pf-1")).await;
        let done = u.is_terminal();
        updates.push(u);
        if done {
            break;
        }
    }
    assert_eq!(updates.last(), Some(&OrderUpdate::Canceled { id: id("it-pf-1") }), "{updates:#?}");
    let fills: Vec<_> = updates.iter().filter_map(|u| u.fill()).collect();
    let mut qtys: Vec<Decimal> = fills.iter().map(|f| f.qty.get()).collect();
    qtys.sort();
    assert_eq!(qtys, [d("0.003"), d("0.004")], "each fill once: {updates:#?}");

    // By hand: 0.007 BTC bought at 50000, 0.1 % commission taken in BTC (0.000007).
    let assets = Some((Asset::new("BTC").unwrap(), Asset::new("USDT").unwrap()));
    let mut position = Position::default();
    for fill in fills {
        position.apply(fill, assets);
    }
    assert_eq!(position.qty(), d("0.006993"));
    assert_eq!(position.avg_entry(), Some(d("50000")));
    assert_eq!(position.cost(), d("349.65"));
    assert_eq!(position.fees, d("0.35"), "0.000007 BTC at its 50000 entry");
    assert_eq!(position.realized, Decimal::ZERO);
    assert_eq!(position.unrealized(d("51000")), d("6.993"));
    // The venue agrees: 0.006993 BTC more, 350 USDT less, nothing locked.
    let (btc, usdt) = h.sim.with_exchange(|ex| (ex.ledger().balance(2, "BTC"), ex.ledger().balance(2, "USDT")));
    assert_eq!((btc.free - d("1"), btc.locked), (d("0.006993"), Decimal::ZERO));
    assert_eq!((usdt.free - d("100000"), usdt.locked), (d("-350"), Decimal::ZERO));
    h.stop().await;
}

/// A run sent orders and died before their intents were committed (the
/// journal queues intents and commits them off the order's path). The ids
/// between its last committed intent and its lease are asked about at the
/// restart: those the venue has are adopted with their fills; one the venue
/// takes late (within the recvWindow of a request sent before the crash) is
/// found by the second round of questions; new ids start above the lease.
mod journaled;

mod bybit;
mod connected;
/// One regression test per finding of the trials under faults.
mod faults;
mod okx;
