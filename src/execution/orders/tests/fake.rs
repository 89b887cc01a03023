//! A scripted venue: every call the order manager makes arrives at the test
//! as a [`Call`], which the test answers (or leaves unanswered) as the venue
//! would. Time is tokio's paused clock, so retries and receive windows pass
//! without waiting.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tradewind_strategies::sdk::testing::{d, spec, symbol, venue};
use tradewind_strategies::sdk::{
    ClientOrderId, Liquidity, NewOrder, OrderKind, Price, Qty, Side, Symbol, TimeInForce, Timestamp, VenueOrderId,
};

use crate::execution::error::{ErrorKind, Outcome, VenueError};
use crate::execution::orders::{self, ExecHandle, ExecOptions, Journaled};
use crate::execution::report::{OrderStatus, VenueTrade};
use crate::execution::venue::{AccountEvent, AccountState, Ack, OrderEntry, OrderReport, OrderState, ReportEvent};
use crate::execution::{ExecRequest, ExecutionClient};
use crate::sink::{Sink, VenueEvent};

type Reply<T> = oneshot::Sender<Result<T, VenueError>>;

/// One request the order manager sent to the venue.
#[derive(Debug)]
pub enum Call {
    Place {
        id: ClientOrderId,
        reply: Reply<Ack>,
    },
    Replace {
        cancel: ClientOrderId,
        id: ClientOrderId,
        reply: Reply<Ack>,
    },
    Cancel {
        id: ClientOrderId,
        reply: Reply<OrderState>,
    },
    /// An amend of `id` to `order`'s quantity and price.
    Amend {
        id: ClientOrderId,
        order: NewOrder,
        reply: Reply<()>,
    },
    Query {
        id: ClientOrderId,
        reply: Reply<OrderState>,
    },
    Trades {
        order: VenueOrderId,
        reply: Reply<Vec<VenueTrade>>,
    },
    OpenOrders {
        reply: Reply<Vec<OrderState>>,
    },
    Account {
        reply: Reply<AccountState>,
    },
}

impl Call {
    /// What the call is, for assertion messages and sequences.
    pub fn name(&self) -> String {
        match self {
            Call::Place { id, .. } => format!("place {id}"),
            Call::Replace { cancel, id, .. } => format!("replace {cancel} by {id}"),
            Call::Cancel { id, .. } => format!("cancel {id}"),
            Call::Amend { id, order, .. } => {
                format!("amend {id} to {} @ {}", order.qty.get(), order.kind.price().unwrap_or_default().get())
            }
            Call::Query { id, .. } => format!("query {id}"),
            Call::Trades { order, .. } => format!("trades of {order}"),
            Call::OpenOrders { .. } => "open orders".into(),
            Call::Account { .. } => "account".into(),
        }
    }
}

/// The scripted venue. With `direct`, an order clear to go is prepared in
/// the engine's call (the in-call send) and placed when completed.
pub struct FakeVenue {
    calls: mpsc::UnboundedSender<Call>,
    direct: bool,
}

/// A placement prepared in the engine's call.
pub struct Prepared {
    cancel: Option<ClientOrderId>,
    id: ClientOrderId,
}

impl FakeVenue {
    async fn ask<T>(&self, call: impl FnOnce(Reply<T>) -> Call) -> Result<T, VenueError> {
        let (reply, answer) = oneshot::channel();
        if self.calls.send(call(reply)).is_err() {
            return Err(VenueError::not_sent("the test ended"));
        }
        // A call the test drops unanswered is a request that timed out.
        answer.await.unwrap_or_else(|_| Err(VenueError::unknown("no answer")))
    }
}

impl OrderEntry for FakeVenue {
    type Prepared = Prepared;
    const AMENDS: bool = true;

    async fn place(
        &self,
        id: ClientOrderId,
        _: NewOrder,
        _: Option<Instant>,
        _: Option<std::time::Instant>,
    ) -> Result<Ack, VenueError> {
        self.ask(|reply| Call::Place { id, reply }).await
    }

    async fn cancel(&self, _: Symbol, id: ClientOrderId) -> Result<OrderState, VenueError> {
        self.ask(|reply| Call::Cancel { id, reply }).await
    }

    async fn replace(
        &self,
        cancel: ClientOrderId,
        id: ClientOrderId,
        _: NewOrder,
        _: Option<std::time::Instant>,
    ) -> Result<Ack, VenueError> {
        self.ask(|reply| Call::Replace { cancel, id, reply }).await
    }

    async fn amend(&self, id: ClientOrderId, order: NewOrder) -> Result<(), VenueError> {
        self.ask(|reply| Call::Amend { id, order, reply }).await
    }

    async fn query(&self, _: Symbol, id: ClientOrderId) -> Result<OrderState, VenueError> {
        self.ask(|reply| Call::Query { id, reply }).await
    }

    async fn order_trades(&self, _: Symbol, order: VenueOrderId) -> Result<Vec<VenueTrade>, VenueError> {
        self.ask(|reply| Call::Trades { order, reply }).await
    }

    async fn open_orders(&self) -> Result<Vec<OrderState>, VenueError> {
        self.ask(|reply| Call::OpenOrders { reply }).await
    }

    async fn read_account(&self) -> Result<AccountState, VenueError> {
        self.ask(|reply| Call::Account { reply }).await
    }

    fn venue_now_ms(&self) -> i64 {
        crate::clock::now().0
    }

    fn is_queued(&self, _: &ClientOrderId) -> bool {
        false
    }

    fn prepare_place_now(
        &self,
        id: ClientOrderId,
        _: &NewOrder,
        _: Option<std::time::Instant>,
    ) -> Option<Result<Prepared, VenueError>> {
        self.direct.then_some(Ok(Prepared { cancel: None, id }))
    }

    fn prepare_replace_now(
        &self,
        cancel: ClientOrderId,
        id: ClientOrderId,
        _: &NewOrder,
        _: Option<std::time::Instant>,
    ) -> Option<Result<Prepared, VenueError>> {
        self.direct.then_some(Ok(Prepared { cancel: Some(cancel), id }))
    }

    async fn complete(&self, Prepared { cancel, id }: Prepared) -> Result<Ack, VenueError> {
        match cancel {
            Some(cancel) => self.ask(|reply| Call::Replace { cancel, id, reply }).await,
            None => self.ask(|reply| Call::Place { id, reply }).await,
        }
    }
}

/// An order manager over the scripted venue, started (its startup
/// reconciliation answered: no open orders, an empty account).
pub struct Harness {
    pub handle: ExecHandle<FakeVenue>,
    calls: mpsc::UnboundedReceiver<Call>,
    events: mpsc::Receiver<VenueEvent>,
    pub user: mpsc::Sender<AccountEvent>,
}

pub const QTY: &str = "1";

/// A call to the venue or an update to the engine.
pub enum Next {
    Call(Call),
    Update(String),
}

impl Harness {
    pub async fn start(direct: bool) -> Self {
        Self::start_with(direct, ExecOptions::new(venue("fake"))).await
    }

    pub async fn start_with(direct: bool, options: ExecOptions) -> Self {
        let (calls_tx, mut calls) = mpsc::unbounded_channel();
        let (events_tx, events) = mpsc::channel(64);
        let (user, user_rx) = mpsc::channel(64);
        let (_, instruments) = tokio::sync::watch::channel(vec![spec("BTC", "USDT", "0.001")]);
        // No periodic reconciliation within a test's span of virtual time.
        let options = ExecOptions { reconcile_every: std::time::Duration::from_secs(3600), ..options };
        let venue = Arc::new(FakeVenue { calls: calls_tx, direct });
        let journaled = Journaled { journal: None, open: Vec::new(), unjournaled: Vec::new(), traders: Vec::new() };
        let start = orders::start(options, instruments, venue, (user_rx, None), Sink::channel(events_tx), journaled);
        tokio::pin!(start);
        let started = loop {
            tokio::select! {
                started = &mut start => break started,
                Some(call) = calls.recv() => answer_routine(call),
            }
        };
        assert!(started.recovered.is_empty() && started.adopted.is_empty());
        Self { handle: started.handle, calls, events, user }
    }

    /// The next call the venue receives, other than account reads and open-order scans (answered as empty).
    pub async fn call(&mut self) -> Call {
        loop {
            let call = self.calls.recv().await.expect("the order manager is running");
            match call {
                Call::OpenOrders { .. } | Call::Account { .. } => answer_routine(call),
                call => return call,
            }
        }
    }

    /// The next update the order manager reports.
    pub async fn update(&mut self) -> String {
        loop {
            match self.events.recv().await.expect("the order manager is running") {
                VenueEvent::Order(update) => return describe(&update),
                VenueEvent::Balances(..) | VenueEvent::Instruments(..) | VenueEvent::Adopt(_) => {}
            }
        }
    }

    /// The next call or update, whichever comes first.
    pub async fn next(&mut self) -> Next {
        loop {
            tokio::select! {
                Some(call) = self.calls.recv() => match call {
                    Call::OpenOrders { .. } | Call::Account { .. } => answer_routine(call),
                    call => return Next::Call(call),
                },
                Some(event) = self.events.recv() => match event {
                    VenueEvent::Order(update) => return Next::Update(describe(&update)),
                    VenueEvent::Balances(..) | VenueEvent::Instruments(..) | VenueEvent::Adopt(_) => {}
                },
            }
        }
    }

    /// Whether nothing more reaches the venue or the engine while `ahead` of virtual time passes.
    pub async fn quiet_for(&mut self, ahead: std::time::Duration) -> Result<(), String> {
        let until = Instant::now() + ahead;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => return Ok(()),
                Some(call) = self.calls.recv() => match call {
                    Call::OpenOrders { .. } | Call::Account { .. } => answer_routine(call),
                    call => return Err(call.name()),
                },
                Some(event) = self.events.recv() => match event {
                    VenueEvent::Order(update) => return Err(describe(&update)),
                    VenueEvent::Balances(..) | VenueEvent::Instruments(..) | VenueEvent::Adopt(_) => {}
                },
            }
        }
    }

    pub fn place(&mut self, seq: u64) -> ClientOrderId {
        let id = oid(seq);
        self.handle.submit(ExecRequest::Place { id, order: order(), origin: None }).expect("queued");
        id
    }

    /// Asks to amend `id` to `qty` at `price`.
    pub fn amend(&mut self, id: ClientOrderId, qty: &str, price: &str) {
        let order = NewOrder {
            qty: Qty::new(d(qty)),
            kind: OrderKind::Limit { price: Price::new(d(price)), tif: TimeInForce::Gtc },
            ..order()
        };
        self.handle.submit(ExecRequest::Amend { id, order, origin: None }).expect("queued");
    }

    pub fn cancel(&mut self, id: ClientOrderId) {
        self.handle.submit(ExecRequest::Cancel { id, symbol: btc() }).expect("queued");
    }

    pub async fn report(&self, id: ClientOrderId, event: ReportEvent, status: OrderStatus, cum_qty: &str) {
        let report = OrderReport {
            client_order_id: id.to_string(),
            venue_order_id: venue_id(id),
            symbol: "BTCUSDT".into(),
            event,
            status,
            cum_qty: d(cum_qty),
        };
        self.user.send(AccountEvent::Order(Box::new(report))).await.expect("the order manager is running");
    }
}

fn answer_routine(call: Call) {
    match call {
        Call::OpenOrders { reply } => drop(reply.send(Ok(Vec::new()))),
        Call::Account { reply } => drop(reply.send(Ok(AccountState::default()))),
        other => panic!("unexpected call during startup: {}", other.name()),
    }
}

/// An update as a short line: `accepted 3`, `fill 3 0.4 @ 100 (t1)`, `filled 3 ...`, `canceled 3`.
fn describe(update: &tradewind_strategies::sdk::OrderUpdate) -> String {
    use tradewind_strategies::sdk::OrderUpdate as U;
    let seq = |id: &ClientOrderId| id.owner().map_or(0, |(_, seq)| seq);
    let fill = |f: &tradewind_strategies::sdk::Fill| format!("{} @ {} ({})", f.qty.get(), f.price.get(), f.trade_id);
    match update {
        U::Accepted { id, venue_order_id } => format!("accepted {} as {venue_order_id}", seq(id)),
        U::PartiallyFilled { id, fill: f } => format!("fill {} {}", seq(id), fill(f)),
        U::Filled { id, fill: f } => format!("filled {} {}", seq(id), fill(f)),
        U::Canceled { id } => format!("canceled {}", seq(id)),
        U::Expired { id } => format!("expired {}", seq(id)),
        U::Rejected { id, reason } => format!("rejected {} {}", seq(id), reason.code),
        U::Denied { id, reason } => format!("denied {} {}", seq(id), reason.code),
        U::Unknown { id } => format!("unknown {}", seq(id)),
        U::Amended { id, qty, price } => format!("amended {} to {} @ {}", seq(id), qty.get(), price.get()),
        U::AmendRefused { id, reason } => format!("amend refused {} {}", seq(id), reason.code),
    }
}

pub fn btc() -> Symbol {
    symbol("BTCUSDT")
}

pub fn oid(seq: u64) -> ClientOrderId {
    // Named, so the id reads back as its instance's (as the daemon registers every instance).
    tradewind_strategies::sdk::owner::register("mm").expect("no clash");
    ClientOrderId::for_instance("mm", seq).expect("a valid id")
}

/// The venue's id of order `id`: `v` + its sequence number.
pub fn venue_id(id: ClientOrderId) -> VenueOrderId {
    format!("v{}", id.owner().map_or(0, |(_, seq)| seq)).parse().expect("a valid venue order id")
}

/// A limit buy of [`QTY`] BTC at 100.
pub fn order() -> NewOrder {
    NewOrder {
        venue: venue("fake"),
        symbol: btc(),
        side: Side::Buy,
        qty: Qty::new(d(QTY)),
        kind: OrderKind::Limit { price: Price::new(d("100")), tif: TimeInForce::Gtc },
    }
}

pub fn ack(id: ClientOrderId) -> Result<Ack, VenueError> {
    Ok(Ack::placed(venue_id(id)))
}

/// Order `id` as a query describes it.
pub fn state(id: ClientOrderId, status: OrderStatus, executed: &str) -> Result<OrderState, VenueError> {
    Ok(OrderState {
        client_order_id: id.to_string(),
        venue_order_id: venue_id(id),
        symbol: "BTCUSDT".into(),
        status,
        executed_qty: d(executed),
        side: Some(Side::Buy),
        kind: Some(order().kind),
        price: d("100"),
        qty: d(QTY),
        time: None,
    })
}

/// A fill of `id`, trade `trade`.
pub fn trade(id: ClientOrderId, trade: u64, qty: &str) -> VenueTrade {
    VenueTrade {
        trade_id: trade.into(),
        venue_order_id: venue_id(id),
        price: d("100"),
        qty: d(qty),
        fee: d("0"),
        fee_asset: None,
        liquidity: Liquidity::Maker,
        time: Timestamp(1),
    }
}

pub fn unknown_order() -> VenueError {
    VenueError::new(Outcome::Rejected, ErrorKind::UnknownOrder, "order does not exist")
}
