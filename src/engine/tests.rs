use std::str::FromStr;
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use tradewind_strategies::sdk::{
    Connectivity, Fill, Liquidity, NewOrder, OrderKind, Price, Quote, Side, Subscription, TimeInForce, Trade,
};

use super::*;
use crate::config::RiskConfig;
use crate::execution::RecordingClient;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn venue() -> VenueId {
    VenueId::new("sim").unwrap()
}

fn sym(s: &str) -> Symbol {
    Symbol::new(s).unwrap()
}

/// What a probe saw, shared with the test.
type Log = Arc<Mutex<Vec<String>>>;

/// A strategy driven by trade prices: 666 panics, 667 errors, 555 amends its
/// first open order to 2 at 101 and 556 to 2 at 900, any other price places
/// a limit buy of 1 at that price. Records every callback.
struct Probe {
    symbol: Symbol,
    log: Log,
}

impl Strategy for Probe {
    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription {
            venue: venue(),
            symbols: vec![self.symbol],
            trades: true,
            quotes: true,
            book: false,
            klines: None,
        }]
    }

    fn on_event(&mut self, ctx: &dyn Context, event: &MarketEvent, out: &mut Intents) -> Result<(), StrategyError> {
        self.log.lock().unwrap().push(format!("event {:?}", event.symbol()));
        if let MarketEvent::Trade(t) = event {
            for (trigger, price) in [("555", "101"), ("556", "900")] {
                if t.price.get() == d(trigger) {
                    let id = ctx.open_orders()[0].id;
                    out.amend(id, Some(Qty::new(d("2"))), Some(Price::new(d(price))));
                    return Ok(());
                }
            }
            if t.price.get() == d("666") {
                panic!("boom");
            }
            if t.price.get() == d("667") {
                return Err(StrategyError::new("bad state"));
            }
            let kind = OrderKind::Limit { price: t.price, tif: TimeInForce::Gtc };
            out.place(NewOrder { venue: venue(), symbol: self.symbol, side: Side::Buy, qty: Qty::new(d("1")), kind });
        }
        Ok(())
    }

    fn on_order_update(
        &mut self,
        ctx: &dyn Context,
        update: &OrderUpdate,
        _out: &mut Intents,
    ) -> Result<(), StrategyError> {
        let pos = ctx.position(venue(), self.symbol);
        let line = match update {
            OrderUpdate::Denied { id, reason } => format!("denied {} {}", label(id), reason.code),
            OrderUpdate::AmendRefused { id, reason } => format!("amend refused {} {}", label(id), reason.code),
            other => format!("update {} terminal={} pos={pos}", label(other.id()), other.is_terminal()),
        };
        self.log.lock().unwrap().push(line);
        Ok(())
    }

    fn on_stop(&mut self, _ctx: &dyn Context, _out: &mut Intents) -> Result<(), StrategyError> {
        self.log.lock().unwrap().push("stop".into());
        Ok(())
    }
}

fn trade(symbol: &str, price: &str) -> MarketEvent {
    MarketEvent::Trade(Trade {
        venue: venue(),
        symbol: sym(symbol),
        trade_id: 1.into(),
        price: Price::new(d(price)),
        qty: Qty::new(d("1")),
        aggressor: Side::Buy,
        time: Timestamp(1),
    })
}

struct Setup {
    engine: Engine,
    sent: RecordingClient,
    btc: Log,
    eth: Log,
}

fn setup(max_order_notional: &str) -> Setup {
    let mut engine = Engine::new(RiskManager::new(RiskConfig {
        max_order_notional: d(max_order_notional),
        max_open_orders: 2,
        ..RiskConfig::default()
    }));
    let sent = RecordingClient::default();
    engine.add_venue(venue(), Box::new(sent.clone()));
    let btc = Log::default();
    let eth = Log::default();
    engine.add_instance("btc", Box::new(Probe { symbol: sym("BTCUSDT"), log: btc.clone() }), 1);
    engine.add_instance("eth", Box::new(Probe { symbol: sym("ETHUSDT"), log: eth.clone() }), 1);
    Setup { engine, sent, btc, eth }
}

/// Order `seq` of instance `name`, as the engine numbers them.
fn oid(name: &str, seq: u64) -> ClientOrderId {
    ClientOrderId::for_instance(name, seq).unwrap()
}

/// `btc#1` for order 1 of instance `btc`.
fn label(id: &ClientOrderId) -> String {
    id.owner().map_or_else(|| id.to_string(), |(name, seq)| format!("{name}#{seq}"))
}

fn lines(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

fn fill(id: ClientOrderId, qty: &str) -> Fill {
    Fill {
        venue: venue(),
        symbol: sym("BTCUSDT"),
        id,
        venue_order_id: 9.into(),
        trade_id: 1.into(),
        side: Side::Buy,
        price: Price::new(d("100")),
        qty: Qty::new(d(qty)),
        fee: Decimal::ZERO,
        fee_asset: None,
        liquidity: Liquidity::Maker,
        time: Timestamp(2),
    }
}

#[test]
fn events_reach_only_subscribed_instances() {
    let mut s = setup("1000");
    s.engine.on_market_event(&trade("BTCUSDT", "100"));
    s.engine.on_market_event(&trade("XRPUSDT", "1"));
    assert_eq!(lines(&s.btc), ["event Some(\"BTCUSDT\")"]);
    assert!(lines(&s.eth).is_empty());
    // Connectivity concerns the whole venue: everyone on it hears.
    s.engine.on_market_event(&MarketEvent::Connectivity(Connectivity { venue: venue(), up: false }));
    assert_eq!(lines(&s.eth), ["event None"]);
}

#[test]
fn approved_orders_are_sent_and_tracked_until_terminal() {
    let mut s = setup("1000");
    s.engine.on_market_event(&trade("BTCUSDT", "100"));
    let id = oid("btc", 1);
    assert!(matches!(s.sent.requests.lock().unwrap()[..], [ExecRequest::Place { id: sent, .. }] if sent == id));
    assert_eq!(s.engine.open_orders("btc").len(), 1);

    s.engine.handle(EngineInput::Order(Box::new(OrderUpdate::PartiallyFilled { id, fill: fill(id, "0.4") })));
    assert_eq!(s.engine.open_orders("btc")[0].filled, Qty::new(d("0.4")));
    s.engine.handle(EngineInput::Order(Box::new(OrderUpdate::Filled { id, fill: fill(id, "0.6") })));
    assert!(s.engine.open_orders("btc").is_empty());
    let log = lines(&s.btc);
    assert_eq!(log[1..], ["update btc#1 terminal=false pos=0.4", "update btc#1 terminal=true pos=1.0"]);
}

#[test]
fn risk_denials_reach_the_strategy_and_send_nothing() {
    let mut s = setup("150");
    s.engine.on_market_event(&trade("BTCUSDT", "200"));
    assert!(s.sent.requests.lock().unwrap().is_empty());
    assert_eq!(lines(&s.btc)[1], "denied btc#1 max_order_notional");
    // Global halt denies everything.
    s.engine.control(control::Command::Halt).unwrap();
    s.engine.on_market_event(&trade("BTCUSDT", "100"));
    assert_eq!(lines(&s.btc)[3], "denied btc#2 halted");
    // Max open orders per strategy (limit 2).
    s.engine.control(control::Command::Resume).unwrap();
    for _ in 0..3 {
        s.engine.on_market_event(&trade("BTCUSDT", "100"));
    }
    assert_eq!(s.sent.requests.lock().unwrap().len(), 2);
    assert_eq!(lines(&s.btc).last().unwrap(), "denied btc#5 max_open_orders");
}

#[test]
fn a_panicking_strategy_is_halted_and_the_others_go_on() {
    let mut s = setup("1000");
    s.engine.on_market_event(&trade("BTCUSDT", "100"));
    s.engine.on_market_event(&trade("BTCUSDT", "666"));
    let info = s.engine.instances();
    assert_eq!(info[0].status, InstanceStatus::Failed("panic: boom".into()));
    // Its resting order was cancelled.
    let requests = s.sent.requests.lock().unwrap().clone();
    assert!(matches!(requests[1], ExecRequest::Cancel { id, .. } if id == oid("btc", 1)));
    // It is no longer called; the other instance still is.
    s.engine.on_market_event(&trade("BTCUSDT", "100"));
    s.engine.on_market_event(&trade("ETHUSDT", "10"));
    assert_eq!(lines(&s.btc).len(), 2);
    assert_eq!(lines(&s.eth).len(), 1);
    assert_eq!(info[1].status, InstanceStatus::Running);
}

#[test]
fn a_strategy_error_halts_that_instance() {
    let mut s = setup("1000");
    s.engine.on_market_event(&trade("ETHUSDT", "667"));
    assert_eq!(s.engine.instances()[1].status, InstanceStatus::Failed("error: bad state".into()));
    assert_eq!(s.engine.instances()[0].status, InstanceStatus::Running);
}

#[test]
fn market_orders_are_valued_at_the_far_side_of_the_book() {
    let mut s = setup("1000");
    let quote = Quote {
        venue: venue(),
        symbol: sym("BTCUSDT"),
        bid_price: Price::new(d("99")),
        bid_qty: Qty::new(d("1")),
        ask_price: Price::new(d("101")),
        ask_qty: Qty::new(d("1")),
        update_id: 1,
    };
    s.engine.on_market_event(&MarketEvent::Quote(quote));
    let m = s.engine.market();
    assert_eq!(m.reference_price(venue(), sym("BTCUSDT"), Side::Buy), Some(Price::new(d("101"))));
    assert_eq!(m.reference_price(venue(), sym("BTCUSDT"), Side::Sell), Some(Price::new(d("99"))));
}

#[test]
fn orders_for_a_venue_without_execution_are_denied() {
    let mut engine = Engine::new(RiskManager::new(RiskConfig::default()));
    let log = Log::default();
    engine.add_instance("btc", Box::new(Probe { symbol: sym("BTCUSDT"), log: log.clone() }), 1);
    engine.on_market_event(&trade("BTCUSDT", "100"));
    assert_eq!(lines(&log)[1], "denied btc#1 no_execution");
}

#[tokio::test]
async fn run_stops_when_inputs_close_and_cancels_open_orders() {
    let s = setup("1000");
    let (tx, rx) = mpsc::channel(16);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run(s.engine, rx, Duration::from_secs(3600), true, shutdown.clone()));
    tx.send(EngineInput::Market(trade("BTCUSDT", "100"), None)).await.unwrap();
    // The channel is processed in order; close it to end the loop deterministically.
    drop(tx);
    let engine = task.await.unwrap();
    assert_eq!(lines(&s.btc).last().unwrap(), "stop");
    assert_eq!(engine.instances()[0].status, InstanceStatus::Stopped);
    let requests = s.sent.requests.lock().unwrap().clone();
    assert!(matches!(requests.last(), Some(ExecRequest::Cancel { id, .. }) if *id == oid("btc", 1)));
    assert!(!shutdown.is_cancelled());
}

#[tokio::test]
async fn run_stops_on_shutdown() {
    let s = setup("1000");
    let (tx, rx) = mpsc::channel(16);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run(s.engine, rx, Duration::from_secs(3600), false, shutdown.clone()));
    shutdown.cancel();
    let engine = task.await.unwrap();
    assert_eq!(lines(&s.btc), ["stop"]);
    assert!(engine.instances().iter().all(|i| i.status == InstanceStatus::Stopped));
    drop(tx);
}

#[test]
fn a_fee_paid_in_the_base_asset_reduces_the_position() {
    let mut s = setup("1000");
    let spec = InstrumentSpec {
        symbol: sym("BTCUSDT"),
        base: Asset::new("BTC").unwrap(),
        quote: Asset::new("USDT").unwrap(),
        tick_size: d("0.01"),
        min_price: d("0"),
        max_price: d("0"),
        step_size: d("0.001"),
        min_qty: d("0.001"),
        max_qty: d("0"),
        min_notional: d("0"),
        max_notional: d("0"),
    };
    s.engine.handle(EngineInput::Instruments(venue(), vec![spec]));
    s.engine.on_market_event(&trade("BTCUSDT", "100"));
    let id = oid("btc", 1);
    let with_fee = |asset: &str| Fill { fee: d("0.001"), fee_asset: Some(Asset::new(asset).unwrap()), ..fill(id, "1") };
    s.engine.handle(EngineInput::Order(Box::new(OrderUpdate::Filled { id, fill: with_fee("BTC") })));
    assert_eq!(lines(&s.btc).last().unwrap(), "update btc#1 terminal=true pos=0.999");
}

fn snapshot(engine: &mut Engine) -> control::Snapshot {
    match engine.control(control::Command::Snapshot).unwrap() {
        control::Reply::Snapshot(s) => *s,
        other => panic!("not a snapshot: {other:?}"),
    }
}

#[test]
fn operator_commands_halt_pause_cancel_and_snapshot() {
    use control::{Command, ControlError, Done, Reply};
    let mut s = setup("1000");
    s.engine.on_market_event(&trade("BTCUSDT", "100"));
    s.engine.on_market_event(&trade("ETHUSDT", "10"));
    s.engine.on_market_event(&trade("ETHUSDT", "11"));
    let id = oid("btc", 1);
    s.engine.handle(EngineInput::Order(Box::new(OrderUpdate::PartiallyFilled { id, fill: fill(id, "0.25") })));

    let state = |s: &mut Setup, id: &str| {
        snapshot(&mut s.engine).orders.iter().find(|o| o.client_order_id == id).unwrap().state.clone()
    };
    // What the operator sees of each order: waiting for the budget, sent, on the venue.
    assert_eq!(state(&mut s, oid("eth", 1).as_str()), "sent");
    s.sent.queued.lock().unwrap().insert(oid("eth", 1));
    assert_eq!(state(&mut s, oid("eth", 1).as_str()), "queued");
    assert_eq!(state(&mut s, oid("btc", 1).as_str()), "open", "partly filled: the venue has it");
    let snap = snapshot(&mut s.engine);
    assert_eq!(snap.trading_state, TradingState::Active);
    assert_eq!(snap.orders.len(), 3);
    let btc_order = snap.orders.iter().find(|o| o.client_order_id == oid("btc", 1).as_str()).unwrap();
    assert_eq!((btc_order.kind.as_str(), btc_order.price, btc_order.filled), ("limit", Some(d("100")), d("0.25")));
    assert_eq!(snap.positions.len(), 1);
    assert_eq!((snap.positions[0].strategy.as_str(), snap.positions[0].qty), ("btc", d("0.25")));
    // Marked at the last trade (no book yet): bought at 100, last 100.
    assert_eq!(snap.positions[0].unrealized_pnl, Some(d("0")));
    assert_eq!(snap.strategies.iter().map(|r| r.open_orders).collect::<Vec<_>>(), [1, 2]);

    // Cancel one order by id; an unknown id is an error, not a silent no-op.
    let sent_before = s.sent.requests.lock().unwrap().len();
    assert!(matches!(
        s.engine.control(Command::Cancel(oid("eth", 1).to_string())),
        Ok(Reply::Done(Done { cancels_sent: 1, .. }))
    ));
    assert!(matches!(
        s.engine.control(Command::Cancel(oid("eth", 99).to_string())),
        Err(ControlError::UnknownOrder(_))
    ));
    assert_eq!(s.sent.requests.lock().unwrap().len(), sent_before + 1);

    // Pausing one strategy cancels its orders and denies its new ones; the other trades on.
    let paused = s.engine.control(Command::Pause("eth".into())).unwrap();
    assert_eq!(paused, Reply::Done(Done { global: false, trading_state: TradingState::Halted, cancels_sent: 2 }));
    s.engine.on_market_event(&trade("ETHUSDT", "12"));
    assert_eq!(lines(&s.eth).last().unwrap(), "denied eth#3 halted");
    assert!(matches!(s.engine.control(Command::Pause("nope".into())), Err(ControlError::UnknownStrategy(_))));

    // The kill switch cancels everything and denies everyone until resumed.
    let halted = s.engine.control(Command::Halt).unwrap();
    assert_eq!(halted, Reply::Done(Done { global: true, trading_state: TradingState::Halted, cancels_sent: 3 }));
    assert_eq!(snapshot(&mut s.engine).trading_state, TradingState::Halted);
    s.engine.control(Command::Resume).unwrap();
    s.engine.on_market_event(&trade("ETHUSDT", "12"));
    assert_eq!(lines(&s.eth).last().unwrap(), "denied eth#4 halted", "a paused strategy stays paused");
    for seq in [1, 2] {
        s.engine.handle(EngineInput::Order(Box::new(OrderUpdate::Canceled { id: oid("eth", seq) })));
    }
    s.engine.control(Command::ResumeStrategy("eth".into())).unwrap();
    let before = s.sent.requests.lock().unwrap().len();
    s.engine.on_market_event(&trade("ETHUSDT", "12"));
    assert_eq!(s.sent.requests.lock().unwrap().len(), before + 1);
}

#[test]
fn a_strategy_past_its_drawdown_is_halted_and_its_orders_cancelled() {
    let mut engine = Engine::new(RiskManager::new(RiskConfig { max_open_orders: 5, ..RiskConfig::default() }));
    let sent = RecordingClient::default();
    engine.add_venue(venue(), Box::new(sent.clone()));
    let log = Log::default();
    let limits = RiskConfig { max_open_orders: 5, max_drawdown: Some(d("5")), ..RiskConfig::default() };
    engine.add_instance_with("btc", Box::new(Probe { symbol: sym("BTCUSDT"), log: log.clone() }), 1, limits);
    // Buys 1 at 100 (filled), and leaves a second buy resting at 99.
    engine.on_market_event(&trade("BTCUSDT", "100"));
    let id = oid("btc", 1);
    engine.handle(EngineInput::Order(Box::new(OrderUpdate::Filled { id, fill: fill(id, "1") })));
    engine.on_market_event(&trade("BTCUSDT", "99"));
    engine.on_timer(Timestamp(3));
    assert_eq!(snapshot(&mut engine).strategies[0].trading_state, TradingState::Active, "down 1: within 5");
    // The last trade at 94 marks the position 6 below its peak.
    engine.on_market_event(&trade("BTCUSDT", "94"));
    engine.on_timer(Timestamp(4));
    let snap = snapshot(&mut engine);
    assert_eq!(snap.strategies[0].trading_state, TradingState::Halted);
    assert_eq!(snap.trading_state, TradingState::Active, "only that strategy");
    let requests = sent.requests.lock().unwrap().clone();
    let cancels: Vec<ClientOrderId> =
        requests.iter().filter_map(|r| if let ExecRequest::Cancel { id, .. } = r { Some(*id) } else { None }).collect();
    assert_eq!(cancels.len(), 2, "its resting orders (at 99 and 94) were cancelled: {requests:?}");
    drop(requests);
    engine.on_market_event(&trade("BTCUSDT", "95"));
    assert!(lines(&log).last().unwrap().starts_with("denied") && lines(&log).last().unwrap().ends_with("halted"));
}

/// Subscribes to the BTCUSDT book only.
struct BookWatcher;

impl Strategy for BookWatcher {
    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription {
            venue: venue(),
            symbols: vec![sym("BTCUSDT")],
            trades: false,
            quotes: false,
            book: true,
            klines: None,
        }]
    }

    fn on_event(&mut self, _ctx: &dyn Context, _event: &MarketEvent, _out: &mut Intents) -> Result<(), StrategyError> {
        Ok(())
    }
}

#[test]
fn ready_once_feeds_are_up_and_books_synced_and_not_after_a_drop() {
    use tradewind_strategies::sdk::BookSnapshot;
    let mut engine = Engine::new(RiskManager::new(RiskConfig::default()));
    engine.add_instance("books", Box::new(BookWatcher), 1);
    let ready = engine.readiness();
    engine.start();
    assert_eq!(ready.borrow().missing, ["sim: market data down"], "no feed yet");
    let up = |up| MarketEvent::Connectivity(Connectivity { venue: venue(), up });
    engine.on_market_event(&up(true));
    assert_eq!(ready.borrow().missing, ["sim BTCUSDT: book not synced"], "feed up, book not synced");
    let snapshot = MarketEvent::BookSnapshot(BookSnapshot {
        venue: venue(),
        symbol: sym("BTCUSDT"),
        last_update_id: 1,
        bids: Vec::new(),
        asks: Vec::new(),
    });
    engine.on_market_event(&snapshot);
    assert!(ready.borrow().is_live());
    engine.on_market_event(&up(false));
    assert!(!ready.borrow().is_live(), "a dropped feed unsyncs its books");
    engine.on_market_event(&up(true));
    assert!(!ready.borrow().is_live());
    engine.on_market_event(&snapshot);
    assert!(ready.borrow().is_live());
}

#[test]
fn readiness_needs_a_price_for_every_quoted_symbol_after_every_reconnect() {
    // regression: no_top_of_book_after_a_reconnect_in_a_quiet_market (ready without a mark)
    let mut engine = Engine::new(RiskManager::new(RiskConfig::default()));
    engine.add_instance("q", Box::new(QuoteWatcher), 1);
    let ready = engine.readiness();
    engine.start();
    let up = |up| MarketEvent::Connectivity(Connectivity { venue: venue(), up });
    engine.on_market_event(&up(true));
    assert_eq!(ready.borrow().missing, ["sim BTCUSDT: no price"]);
    engine.on_market_event(&MarketEvent::Quote(quote("59999", "60001")));
    assert!(ready.borrow().is_live());
    engine.on_market_event(&up(false));
    engine.on_market_event(&up(true));
    assert_eq!(ready.borrow().missing, ["sim BTCUSDT: no price"], "the old price does not count after a reconnect");
    assert!(engine.market().mark(venue(), sym("BTCUSDT")).is_none(), "and is gone");
    engine.on_market_event(&MarketEvent::Quote(quote("59999", "60001")));
    assert!(ready.borrow().is_live());
}

fn quote(bid: &str, ask: &str) -> Quote {
    let qty = Qty::new(d("1"));
    let (bid_price, ask_price) = (Price::new(d(bid)), Price::new(d(ask)));
    Quote { venue: venue(), symbol: sym("BTCUSDT"), bid_price, bid_qty: qty, ask_price, ask_qty: qty, update_id: 0 }
}

/// Subscribes to BTCUSDT quotes and ignores them.
struct QuoteWatcher;

impl Strategy for QuoteWatcher {
    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription::quotes(venue(), vec![sym("BTCUSDT")])]
    }

    fn on_event(&mut self, _ctx: &dyn Context, _event: &MarketEvent, _out: &mut Intents) -> Result<(), StrategyError> {
        Ok(())
    }
}

#[test]
fn an_engine_input_is_not_much_bigger_than_a_market_event() {
    // Every market event is moved through the engine's queue at this size.
    let size = std::mem::size_of::<EngineInput>();
    assert!(size <= std::mem::size_of::<MarketEvent>() + 24, "{size} bytes");
}

fn eth_quote(update_id: u64) -> MarketEvent {
    let price = Price::new(Decimal::from(1000 + update_id));
    let qty = Qty::new(d("1"));
    let symbol = sym("ETHUSDT");
    MarketEvent::Quote(Quote {
        venue: venue(),
        symbol,
        bid_price: price,
        bid_qty: qty,
        ask_price: price,
        ask_qty: qty,
        update_id,
    })
}

#[tokio::test]
async fn events_before_the_start_wait_for_it_in_order_and_past_the_limit_the_connection_waits_too() {
    let Setup { engine, eth, .. } = setup("1000000");
    let shared = SharedEngine::new();
    let early = u64::try_from(shared::EARLY_EVENTS).unwrap();
    for n in 0..early {
        assert!(!shared.deliver(eth_quote(n), None).await, "taken at once while there is room");
    }
    assert!(lines(&eth).is_empty(), "no strategy is called before the start");
    let mut last = Box::pin(shared.deliver(eth_quote(early), None));
    assert!(futures_util::poll!(&mut last).is_pending(), "past the limit the connection waits");

    shared.start(engine);
    assert!(!last.await);
    assert_eq!(lines(&eth).len(), shared::EARLY_EVENTS + 1, "every event, the one that waited included");
    let top = shared.with(|e| e.market().book_tops[&(venue(), sym("ETHUSDT"))]).unwrap();
    assert_eq!(top.update_id, early, "in the order they came");

    let engine = shared.take().unwrap();
    assert!(!shared.deliver(eth_quote(early + 1), None).await, "after the stop events are dropped");
    assert_eq!(lines(&eth).len(), shared::EARLY_EVENTS + 1);
    assert_eq!(engine.market().book_tops[&(venue(), sym("ETHUSDT"))].update_id, early);
}

#[test]
fn an_amend_is_checked_as_the_order_it_becomes_and_its_confirmation_changes_the_open_order() {
    let mut s = setup("1000");
    s.engine.on_market_event(&trade("BTCUSDT", "100"));
    let id = oid("btc", 1);
    // Not acknowledged yet: the venue may not have it.
    s.engine.on_market_event(&trade("BTCUSDT", "555"));
    assert_eq!(lines(&s.btc).last().unwrap(), "amend refused btc#1 amend_not_acknowledged");
    let venue_order_id = "7".parse().unwrap();
    s.engine.handle(EngineInput::Order(Box::new(OrderUpdate::Accepted { id, venue_order_id })));

    // 2 × 900 is past max_order_notional: refused, and the order stays open as it was.
    s.engine.on_market_event(&trade("BTCUSDT", "556"));
    assert_eq!(lines(&s.btc).last().unwrap(), "amend refused btc#1 max_order_notional");
    assert_eq!(s.engine.open_orders("btc").len(), 1);

    s.engine.on_market_event(&trade("BTCUSDT", "555"));
    let requests = s.sent.requests.lock().unwrap().clone();
    let Some(ExecRequest::Amend { id: amended, order, .. }) = requests.last() else { panic!("{requests:?}") };
    assert_eq!((*amended, order.qty.get(), order.kind.price().unwrap().get()), (id, d("2"), d("101")));
    assert_eq!(s.engine.open_orders("btc")[0].order.qty.get(), d("1"), "unchanged until the venue confirms");
    let (qty, price) = (Qty::new(d("2")), Price::new(d("101")));
    s.engine.handle(EngineInput::Order(Box::new(OrderUpdate::Amended { id, qty, price })));
    let open = s.engine.open_orders("btc")[0];
    assert_eq!((open.order.qty, open.order.kind.price()), (qty, Some(price)));
    assert_eq!(lines(&s.btc).last().unwrap(), "update btc#1 terminal=false pos=0");
}
