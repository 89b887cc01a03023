//! A venue written only against the venue contract (`execution::venue::OrderEntry`
//! and `AccountEvent`), in this file alone: an in-memory book of our orders
//! that acks, fills and answers queries as a real venue would. It trades
//! through the engine, the order manager and the journal, and after a crash
//! (everything dropped, the journal reopened) recovery and reconciliation
//! settle what happened meanwhile, with nothing outside this file knowing it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tradewind::config::RiskConfig;
use tradewind::engine::{self, Engine, EngineInput};
use tradewind::execution::error::{ErrorKind, Outcome, VenueError};
use tradewind::execution::orders::{self, ExecOptions, Journaled, Trader};
use tradewind::execution::report::{OrderStatus, VenueTrade};
use tradewind::execution::venue::{AccountEvent, AccountState, Ack, OrderEntry, OrderReport, OrderState, ReportEvent};
use tradewind::journal::Journal;
use tradewind::risk::RiskManager;
use tradewind::sink::Sink;
use tradewind_strategies::sdk::testing::{d, spec, symbol, venue};
use tradewind_strategies::sdk::{
    Balance, ClientOrderId, Context, Intents, Liquidity, MarketEvent, NewOrder, OrderKind, OrderUpdate, Price, Qty,
    Quote, Side, Strategy, StrategyError, Subscription, Symbol, TimeInForce, Timestamp, VenueOrderId,
};

/// One of our orders as the test venue keeps it.
#[derive(Debug, Clone)]
struct Resting {
    venue_order_id: VenueOrderId,
    order: NewOrder,
    status: OrderStatus,
    executed: Decimal,
    trades: Vec<VenueTrade>,
}

#[derive(Default)]
struct Book {
    orders: HashMap<String, Resting>,
    next_id: u64,
    next_trade: u64,
    /// The private stream, while one is connected.
    stream: Option<mpsc::Sender<AccountEvent>>,
}

/// The test venue.
#[derive(Clone, Default)]
struct TestVenue {
    book: Arc<Mutex<Book>>,
    placed: Arc<Notify>,
}

impl TestVenue {
    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap()
    }

    /// Connects a private stream; the order manager reads its end.
    fn stream(&self) -> mpsc::Receiver<AccountEvent> {
        let (tx, rx) = mpsc::channel(64);
        self.book().stream = Some(tx);
        rx
    }

    /// The venue goes away (a crash on our side: the stream's other end is gone too).
    fn drop_stream(&self) {
        self.book().stream = None;
    }

    async fn until_placed(&self) -> String {
        loop {
            let placed = self.placed.notified();
            if let Some(id) = self.book().orders.keys().next().cloned() {
                return id;
            }
            placed.await;
        }
    }

    /// Fills `qty` of order `id` and reports it on the stream, if one is connected.
    async fn fill(&self, id: &str, qty: &str) {
        let (report, stream) = {
            let mut book = self.book();
            book.next_trade += 1;
            let trade_id = book.next_trade;
            let o = book.orders.get_mut(id).expect("an order of ours");
            let price = match o.order.kind {
                OrderKind::Limit { price, .. } | OrderKind::PostOnly { price } => price.get(),
                OrderKind::Market => d("100"),
            };
            let trade = VenueTrade {
                trade_id: trade_id.into(),
                venue_order_id: o.venue_order_id,
                price,
                qty: d(qty),
                fee: d("0.01"),
                fee_asset: Some("USDT".parse().unwrap()),
                liquidity: Liquidity::Maker,
                time: Timestamp(1),
            };
            o.executed += d(qty);
            o.status = if o.executed >= o.order.qty.get() { OrderStatus::Filled } else { OrderStatus::PartiallyFilled };
            o.trades.push(trade.clone());
            let report = OrderReport {
                client_order_id: id.to_owned(),
                venue_order_id: o.venue_order_id,
                symbol: o.order.symbol.to_string(),
                event: ReportEvent::Trade(trade),
                status: o.status,
                cum_qty: o.executed,
            };
            (report, book.stream.clone())
        };
        if let Some(stream) = stream {
            let _ = stream.send(AccountEvent::Order(Box::new(report))).await;
        }
    }

    fn state(id: &str, o: &Resting) -> OrderState {
        let price = match o.order.kind {
            OrderKind::Limit { price, .. } | OrderKind::PostOnly { price } => price.get(),
            OrderKind::Market => Decimal::ZERO,
        };
        OrderState {
            client_order_id: id.to_owned(),
            venue_order_id: o.venue_order_id,
            symbol: o.order.symbol.to_string(),
            status: o.status,
            executed_qty: o.executed,
            side: Some(o.order.side),
            kind: Some(o.order.kind),
            price,
            qty: o.order.qty.get(),
            time: None,
        }
    }

    fn unknown_order() -> VenueError {
        VenueError::new(Outcome::Rejected, ErrorKind::UnknownOrder, "no such order")
    }
}

impl OrderEntry for TestVenue {
    /// No in-call send: every order goes through the order manager's task.
    type Prepared = ();

    async fn place(
        &self,
        id: ClientOrderId,
        order: NewOrder,
        _: Option<Instant>,
        _: Option<std::time::Instant>,
    ) -> Result<Ack, VenueError> {
        let (ack, report, stream) = {
            let mut book = self.book();
            book.next_id += 1;
            let venue_order_id: VenueOrderId = format!("T-{}", book.next_id).parse().unwrap();
            let resting = Resting {
                venue_order_id,
                order,
                status: OrderStatus::New,
                executed: Decimal::ZERO,
                trades: Vec::new(),
            };
            let report = OrderReport {
                client_order_id: id.to_string(),
                venue_order_id,
                symbol: order.symbol.to_string(),
                event: ReportEvent::New,
                status: OrderStatus::New,
                cum_qty: Decimal::ZERO,
            };
            book.orders.insert(id.to_string(), resting);
            (Ack::placed(venue_order_id), report, book.stream.clone())
        };
        if let Some(stream) = stream {
            let _ = stream.send(AccountEvent::Order(Box::new(report))).await;
        }
        self.placed.notify_waiters();
        Ok(ack)
    }

    async fn cancel(&self, _: Symbol, id: ClientOrderId) -> Result<OrderState, VenueError> {
        let mut book = self.book();
        let o = book.orders.get_mut(id.as_str()).filter(|o| o.status.is_open()).ok_or_else(Self::unknown_order)?;
        o.status = OrderStatus::Canceled;
        Ok(Self::state(id.as_str(), o))
    }

    async fn replace(
        &self,
        _: ClientOrderId,
        _: ClientOrderId,
        _: NewOrder,
        _: Option<std::time::Instant>,
    ) -> Result<Ack, VenueError> {
        Err(VenueError::new(Outcome::Rejected, ErrorKind::Other, "this venue has no replace"))
    }

    async fn query(&self, _: Symbol, id: ClientOrderId) -> Result<OrderState, VenueError> {
        let book = self.book();
        book.orders.get(id.as_str()).map(|o| Self::state(id.as_str(), o)).ok_or_else(Self::unknown_order)
    }

    async fn order_trades(&self, _: Symbol, order: VenueOrderId) -> Result<Vec<VenueTrade>, VenueError> {
        let book = self.book();
        Ok(book.orders.values().filter(|o| o.venue_order_id == order).flat_map(|o| o.trades.clone()).collect())
    }

    async fn open_orders(&self) -> Result<Vec<OrderState>, VenueError> {
        let book = self.book();
        Ok(book.orders.iter().filter(|(_, o)| o.status.is_open()).map(|(id, o)| Self::state(id, o)).collect())
    }

    async fn read_account(&self) -> Result<AccountState, VenueError> {
        Ok(AccountState {
            update_time: None,
            balances: vec![("USDT".into(), Balance { free: d("1000"), locked: d("0") })],
        })
    }

    fn venue_now_ms(&self) -> i64 {
        tradewind::clock::now().0
    }

    fn is_queued(&self, _: &ClientOrderId) -> bool {
        false
    }

    fn prepare_place_now(
        &self,
        _: ClientOrderId,
        _: &NewOrder,
        _: Option<std::time::Instant>,
    ) -> Option<Result<(), VenueError>> {
        None
    }

    fn prepare_replace_now(
        &self,
        _: ClientOrderId,
        _: ClientOrderId,
        _: &NewOrder,
        _: Option<std::time::Instant>,
    ) -> Option<Result<(), VenueError>> {
        None
    }

    async fn complete(&self, (): ()) -> Result<Ack, VenueError> {
        unreachable!("nothing is prepared")
    }
}

/// Buys 0.1 BTC at the first quote's bid, once.
struct BuyOnce {
    done: bool,
}

impl Strategy for BuyOnce {
    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription {
            venue: venue("test"),
            symbols: vec![btc()],
            trades: false,
            quotes: true,
            book: false,
            klines: None,
        }]
    }

    fn on_event(&mut self, _: &dyn Context, event: &MarketEvent, out: &mut Intents) -> Result<(), StrategyError> {
        if let MarketEvent::Quote(q) = event
            && !std::mem::replace(&mut self.done, true)
        {
            let kind = OrderKind::Limit { price: q.bid_price, tif: TimeInForce::Gtc };
            out.place(NewOrder { venue: venue("test"), symbol: btc(), side: Side::Buy, qty: Qty::new(d("0.1")), kind });
        }
        Ok(())
    }
}

fn btc() -> Symbol {
    symbol("BTCUSDT")
}

fn quote() -> MarketEvent {
    MarketEvent::Quote(Quote {
        venue: venue("test"),
        symbol: btc(),
        bid_price: Price::new(d("100")),
        bid_qty: Qty::new(d("1")),
        ask_price: Price::new(d("100.5")),
        ask_qty: Qty::new(d("1")),
        update_id: 1,
    })
}

fn engine() -> Engine {
    let mut engine = Engine::new(RiskManager::new(RiskConfig::default()));
    engine.add_instance("tv_buyer", Box::new(BuyOnce { done: false }), 1);
    engine.handle(EngineInput::Instruments(venue("test"), vec![spec("BTC", "USDT", "0.001")]));
    engine
}

/// Starts the order manager on `test_venue` for `engine` (journaled), reconciling what the journal left open.
async fn start_orders(
    test_venue: &TestVenue,
    engine: &Engine,
    journal: &Journal,
    open: Vec<tradewind::journal::OpenEntry>,
    engine_tx: mpsc::Sender<EngineInput>,
) -> orders::Started<TestVenue> {
    let traders = engine
        .traders(venue("test"))
        .into_iter()
        .map(|(instance, first_seq, symbols)| Trader { instance, first_seq, symbols })
        .collect();
    let (_, instruments) = tokio::sync::watch::channel(vec![spec("BTC", "USDT", "0.001")]);
    let journaled = Journaled { journal: Some(journal.clone()), open, unjournaled: Vec::new(), traders };
    orders::start(
        ExecOptions::new(venue("test")),
        instruments,
        Arc::new(test_venue.clone()),
        (test_venue.stream(), None),
        Sink::channel(engine_tx),
        journaled,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_written_against_the_contract_trades_journals_and_recovers_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let test_venue = TestVenue::default();

    // First run: the strategy buys, the venue acks and fills half.
    let (journal, _) = Journal::open(&path).unwrap();
    let mut first = engine();
    let (engine_tx, engine_rx) = mpsc::channel(1024);
    let started = start_orders(&test_venue, &first, &journal, Vec::new(), engine_tx.clone()).await;
    first.add_venue(venue("test"), Box::new(started.handle));
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(engine::run(first, engine_rx, Duration::from_millis(100), false, shutdown.clone()));
    engine_tx.send(EngineInput::Market(quote(), None)).await.unwrap();
    let id = test_venue.until_placed().await;
    test_venue.fill(&id, "0.05").await;
    // The fill is journaled once the engine has it: wait for the journal to say so.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        journal.flush().await;
        let report = tradewind::ops::report::read(&path, true, 10).unwrap();
        if report.positions.iter().any(|p| p.strategy == "tv_buyer" && p.qty == d("0.05")) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the fill never reached the journal");
        tokio::task::yield_now().await;
    }

    // A crash: the engine, the order manager and the stream are gone without a clean stop.
    running.abort();
    started.task.abort();
    // Awaiting an aborted task waits for its drop, so its journal handle is gone.
    let _ = running.await;
    let _ = started.task.await;
    drop(engine_tx);
    test_venue.drop_stream();
    drop(journal);
    // Meanwhile the venue fills the rest; no stream hears of it.
    test_venue.fill(&id, "0.05").await;

    // Second run: the journal gives back the open order; reconciliation finds its last fill.
    let (journal, recovered) = Journal::open(&path).unwrap();
    assert_eq!(recovered.open.len(), 1, "the half-filled order is still open in the journal");
    assert_eq!(recovered.open[0].order.id.to_string(), id);
    let mut second = engine();
    for (instance, fill) in &recovered.fills {
        second.restore_fill(instance, fill);
    }
    for entry in &recovered.open {
        second.restore_open_order(&entry.instance, entry.order, true);
    }
    let (engine_tx, _engine_rx) = mpsc::channel(1024);
    let restarted = start_orders(&test_venue, &second, &journal, recovered.open.clone(), engine_tx).await;
    let filled: Vec<&OrderUpdate> =
        restarted.recovered.iter().filter(|u| matches!(u, OrderUpdate::Filled { .. })).collect();
    assert_eq!(filled.len(), 1, "the fill made while down, found at start: {:?}", restarted.recovered);
    let Some(fill) = filled[0].fill() else { unreachable!() };
    assert_eq!((fill.qty.get(), fill.trade_id.as_str()), (d("0.05"), "2"), "only the trade the journal missed");
    for update in &restarted.recovered {
        second.restore_update(update);
    }
    let positions = second.positions("tv_buyer");
    assert_eq!(positions.len(), 1);
    assert_eq!(positions[0].1.qty(), d("0.1"), "both halves, each once: {positions:?}");
    assert!(second.open_orders("tv_buyer").is_empty(), "the order is done");
    drop(restarted.handle);
    let _ = tokio::time::timeout(Duration::from_secs(10), restarted.task).await;
}
