//! The order manager: one per venue, written once against the venue contract
//! ([`OrderEntry`]). A new order that is clear to go (filters, a committed
//! client-id lease, room in the rate budget, no order waiting before it) is
//! signed and handed to the connector from the engine's own call ([`gate`]);
//! every other request goes through a bounded queue to one task that
//! validates it against the symbol filters, waits for what it needs and sends
//! it through the connector. Each call runs in a task of its own,
//! so a slow new order never holds up a cancel. The task merges what it
//! learns — acks, private-stream reports, queries — into exactly one update
//! of each kind per order: `Accepted` once, each fill once (deduplicated on
//! trade id), one terminal state.
//!
//! Outcomes are three: denied here (never sent), rejected by the venue, or
//! unknown. An unknown order is never re-sent; it is settled by querying its
//! client order id until the venue knows it or has clearly never seen it.

mod amend;
mod balances;
mod cancel;
mod gate;
mod handle;
mod lease;
mod record;
mod recover;
mod replace;
mod settle;
#[cfg(test)]
mod tests;
mod user;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tradewind_strategies::sdk::{
    ClientOrderId, InstrumentSpec, NewOrder, OpenOrder, OrderUpdate, Side, Symbol, TradeId, VenueId, VenueOrderId,
};

use super::ExecRequest;
use super::error::VenueError;
use super::report::{OrderStatus, VenueTrade};
use super::venue::{AccountEvent, AccountState, Ack, OrderEntry, OrderState};
use crate::clock;
use crate::journal::{Journal, OpenEntry, Unjournaled};
use crate::sink::Sink;
pub use handle::ExecHandle;
use handle::Job;
pub use lease::Trader;

/// Settings of the execution task.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub venue: VenueId,
    /// A new order that cannot be sent within this time (rate budget) is denied instead.
    pub order_max_age: Duration,
    /// Queries of an order whose outcome is unknown before it counts as never placed.
    pub unknown_queries: u32,
    /// Capacity of the request queue.
    pub queue: usize,
    /// How often open orders are checked with the venue while trading.
    pub reconcile_every: Duration,
    /// How long startup reconciliation may take before trading starts anyway.
    pub recover_deadline: Duration,
    /// How long after it was sent the venue may still accept a request (Binance's
    /// `recvWindow`, Bybit's `X-BAPI-RECV-WINDOW`, OKX's `expTime`): until then
    /// "unknown order" proves nothing.
    pub recv_window_ms: i64,
}

/// Allowance for the difference between our clock and the venue's.
const CLOCK_MARGIN_MS: i64 = 1_000;

/// The reason code of an order whose outcome was unknown and that the venue,
/// asked again and again after its receive window passed, never saw.
pub const NEVER_SEEN: &str = "never_seen";

/// Until when a request sent at wall-clock `sent_ms` may still be accepted by
/// the venue (its receive window and a margin for the clocks' difference), on
/// the monotonic clock.
fn acceptable_after(sent_ms: i64, recv_window_ms: i64) -> Instant {
    let left = sent_ms + recv_window_ms + CLOCK_MARGIN_MS - clock::now().0;
    Instant::now() + Duration::from_millis(u64::try_from(left).unwrap_or(0))
}

impl ExecOptions {
    pub fn new(venue: VenueId) -> Self {
        Self {
            venue,
            order_max_age: Duration::from_secs(5),
            unknown_queries: 5,
            queue: 1024,
            reconcile_every: Duration::from_secs(60),
            recover_deadline: Duration::from_secs(30),
            recv_window_ms: 5_000,
        }
    }
}

/// A started execution task.
pub struct Started<V: OrderEntry> {
    pub handle: ExecHandle<V>,
    pub task: tokio::task::JoinHandle<()>,
    /// What reconciling the journal's open orders with the venue found, for
    /// the engine to apply before any strategy runs (after `adopted`).
    pub recovered: Vec<OrderUpdate>,
    /// Orders of an earlier run the venue has but the journal missed (sent
    /// just before a crash), with their instances: theirs again.
    pub adopted: Vec<(String, OpenOrder)>,
}

/// The journal, and what it says an earlier run left to settle on this venue.
pub struct Journaled {
    pub journal: Option<Journal>,
    /// Orders left open (or in flight).
    pub open: Vec<OpenEntry>,
    /// Client order ids that may have been sent without a committed intent.
    pub unjournaled: Vec<Unjournaled>,
    /// The instances that will trade here: their leases are taken before the start returns.
    pub traders: Vec<Trader>,
}

/// Starts the execution task after reconciling the orders an earlier run left open.
/// `account` is the account as read at the start, and when it was asked for
/// (venue ms): later account updates are ordered against it.
pub async fn start<V: OrderEntry>(
    options: ExecOptions,
    instruments: tokio::sync::watch::Receiver<Vec<InstrumentSpec>>,
    venue: Arc<V>,
    (user, account): (mpsc::Receiver<AccountEvent>, Option<(AccountState, i64)>),
    sink: Sink,
    Journaled { journal, open, unjournaled, traders }: Journaled,
) -> Started<V> {
    let (tx, rx) = mpsc::channel(options.queue);
    let (results_tx, mut results_rx) = mpsc::channel(options.queue);
    let gate = Arc::new(Mutex::new(gate::Gate::new(options.venue, journal.clone(), instruments)));
    let mut exec = Exec {
        journal,
        gate: gate.clone(),
        options,
        venue,
        sink,
        orders: HashMap::new(),
        done: HashSet::new(),
        done_order: VecDeque::new(),
        results_tx,
        in_flight: 0,
        recovering: None,
        adopted: None,
        external: HashSet::new(),
        instances: traders.iter().map(|t| t.instance.clone()).collect(),
        balances: balances::Balances::default(),
    };
    if let Some((account, asked_ms)) = &account {
        exec.seed_balances(account, *asked_ms);
    }
    for entry in open {
        exec.adopt(entry);
    }
    let deadline = exec.options.recover_deadline;
    let (recovered, adopted) = exec.recover(&mut results_rx, &unjournaled, deadline).await;
    exec.lease_ahead(&traders).await;
    let handle = ExecHandle::new(tx, gate, exec.venue.clone(), exec.results_tx.clone());
    Started { handle, task: tokio::spawn(exec.run(rx, user, results_rx)), recovered, adopted }
}

/// Where an order stands as far as we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Sent, no answer yet.
    Sent,
    /// On the venue (acked or reported).
    Live,
    /// The send's outcome is unknown; being settled by queries.
    Unknown { queries: u32 },
}

#[derive(Debug)]
struct Tracked {
    symbol: Symbol,
    side: Side,
    qty: Decimal,
    stage: Stage,
    venue_order_id: Option<VenueOrderId>,
    accepted: bool,
    filled: Decimal,
    trades: HashSet<TradeId>,
    /// A cancel asked for before the venue acknowledged the order.
    cancel_waiting: bool,
    /// A cancel was asked for: it is sent (again) until the venue confirms the order closed.
    cancel: Option<cancel::Retry>,
    /// A replacement of this order the venue refused (its cancel failed):
    /// its strategy hears of that once this order's state is known (see `replace`).
    replaced_by: Option<(ClientOrderId, VenueError)>,
    /// An amend on its way: the order it asks for (see `amend`).
    amending: Option<NewOrder>,
    /// The user stream (re)subscribed while the request was in flight: its
    /// reports may have been missed, so the order is queried once acknowledged.
    query_on_ack: bool,
    /// Until when the venue may still accept the request (sent + its receive
    /// window): until then "unknown order" proves nothing.
    acceptable_until: Instant,
}

impl Tracked {
    fn new(order: &NewOrder, stage: Stage, acceptable_until: Instant) -> Self {
        Self {
            symbol: order.symbol,
            side: order.side,
            qty: order.qty.get(),
            stage,
            venue_order_id: None,
            accepted: false,
            filled: Decimal::ZERO,
            trades: HashSet::new(),
            cancel_waiting: false,
            cancel: None,
            replaced_by: None,
            amending: None,
            query_on_ack: false,
            acceptable_until,
        }
    }
}

/// A finished REST call.
enum Done {
    Placed {
        id: ClientOrderId,
        result: Result<Ack, VenueError>,
    },
    Canceled {
        id: ClientOrderId,
        result: Result<OrderState, VenueError>,
    },
    Replaced {
        cancel: ClientOrderId,
        id: ClientOrderId,
        result: Result<Ack, VenueError>,
    },
    Amended {
        id: ClientOrderId,
        order: NewOrder,
        result: Result<(), VenueError>,
    },
    /// What the venue shows of an order whose amend had an unknown outcome.
    AmendChecked {
        id: ClientOrderId,
        order: NewOrder,
        attempt: u32,
        result: Result<OrderState, VenueError>,
    },
    /// Time is up for learning what became of `cancel` after its replacement
    /// failed: the replacement's rejection goes to its strategy now.
    Release {
        cancel: ClientOrderId,
    },
    Queried {
        id: ClientOrderId,
        result: Result<OrderState, VenueError>,
    },
    Trades {
        id: ClientOrderId,
        final_status: Option<OrderStatus>,
        result: Result<Vec<VenueTrade>, VenueError>,
    },
    OpenOrders {
        result: Result<Vec<OrderState>, VenueError>,
    },
    /// A lease renewed ahead of need (see `lease`).
    Leased {
        lease: crate::journal::Lease,
        result: Result<(), String>,
    },
    /// The whole account, read at `asked_ms` (venue time).
    Account {
        asked_ms: i64,
        result: Result<AccountState, VenueError>,
    },
    /// What the venue says about an id that may have been sent unjournaled.
    Probed {
        id: ClientOrderId,
        symbol: Symbol,
        result: Result<OrderState, VenueError>,
    },
}

/// Terminal ids remembered to ignore late duplicates.
const DONE_MEMORY: usize = 10_000;

struct Exec<V: OrderEntry> {
    journal: Option<Journal>,
    options: ExecOptions,
    venue: Arc<V>,
    /// Where updates, balances and adopted orders go (the engine).
    sink: Sink,
    /// Filters, leases and intents, shared with the engine's order path.
    gate: Arc<Mutex<gate::Gate>>,
    orders: HashMap<ClientOrderId, Tracked>,
    done: HashSet<ClientOrderId>,
    done_order: VecDeque<ClientOrderId>,
    results_tx: mpsc::Sender<Done>,
    in_flight: usize,
    /// During startup reconciliation: updates collected for the engine instead of sent.
    recovering: Option<Vec<OrderUpdate>>,
    /// During startup reconciliation: orders adopted, for the engine.
    adopted: Option<Vec<(String, OpenOrder)>>,
    /// Client order ids of open orders on the account that this process does not own.
    external: HashSet<String>,
    /// The strategy instances trading here (their names are in their client order ids).
    instances: HashSet<String>,
    balances: balances::Balances,
}

impl<V: OrderEntry> Exec<V> {
    async fn run(
        mut self,
        mut requests: mpsc::Receiver<Job>,
        mut user: mpsc::Receiver<AccountEvent>,
        mut results: mpsc::Receiver<Done>,
    ) {
        let mut requests_open = true;
        let mut user_open = true;
        let every = self.options.reconcile_every;
        let mut reconcile = tokio::time::interval_at(Instant::now() + every, every);
        reconcile.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.probe_later();
        loop {
            if !requests_open && self.in_flight == 0 {
                break;
            }
            tokio::select! {
                // Requests first: an order the engine sent itself is tracked
                // before its answer or its reports are read.
                biased;
                r = requests.recv(), if requests_open => match r {
                    Some(job) => self.on_job(job).await,
                    None => requests_open = false,
                },
                Some(done) = results.recv() => {
                    // An order sent from the caller's call is announced before
                    // its answer can exist, but the announcement may have
                    // landed after `requests` was polled in this round.
                    self.take_announced(&mut requests).await;
                    self.in_flight -= 1;
                    self.on_done(done).await;
                }
                e = user.recv(), if user_open => match e {
                    Some(e) => {
                        self.take_announced(&mut requests).await;
                        self.on_user_event(e).await
                    }
                    None => user_open = false,
                },
                _ = reconcile.tick(), if requests_open => {
                    self.reconcile();
                    self.scan_open_orders();
                    self.read_account();
                }
            }
        }
        self.release_leases().await;
        tracing::debug!(venue = %self.options.venue, "execution task finished");
    }

    async fn on_job(&mut self, job: Job) {
        match job {
            Job::Request(r) => self.on_request(r).await,
            Job::Sent { id, order } => {
                self.track(id, &order);
                self.in_flight += 1;
                self.renew_ahead(&id);
            }
        }
    }

    /// Handles every job already queued (requests come first, whichever
    /// channel was polled first).
    async fn take_announced(&mut self, requests: &mut mpsc::Receiver<Job>) {
        while let Ok(job) = requests.try_recv() {
            self.on_job(job).await;
        }
    }

    async fn on_request(&mut self, request: ExecRequest) {
        match request {
            ExecRequest::Place { id, order, origin } => {
                if !self.admit_waiting(id, &order).await {
                    return;
                }
                let deadline = Instant::now() + self.options.order_max_age;
                self.spawn(move |venue| async move {
                    Done::Placed { id, result: venue.place(id, order, Some(deadline), origin).await }
                });
            }
            ExecRequest::Cancel { id, symbol } => self.cancel(id, symbol),
            ExecRequest::Replace { cancel, id, order, origin } => {
                if !self.admit_waiting(id, &order).await {
                    return;
                }
                self.spawn(move |venue| async move {
                    Done::Replaced { cancel, id, result: venue.replace(cancel, id, order, origin).await }
                });
            }
            ExecRequest::Amend { id, order, .. } => self.amend(id, order).await,
        }
    }

    fn gate(&self) -> gate::Locked<'_> {
        gate::lock(&self.gate)
    }

    /// [`admit`](Self::admit) for an order the engine's call left waiting:
    /// once it is admitted or denied, the orders after it may go out directly again.
    async fn admit_waiting(&mut self, id: ClientOrderId, order: &NewOrder) -> bool {
        let admitted = self.admit(id, order).await;
        let mut gate = self.gate();
        gate.waiting = gate.waiting.saturating_sub(1);
        admitted
    }

    /// Checks a new order and journals it; false (after telling the strategy) if it may not be sent.
    async fn admit(&mut self, id: ClientOrderId, order: &NewOrder) -> bool {
        let checked = self.gate().check(order);
        let admitted = match checked {
            Ok(()) => self.journal_intent(id, order).await,
            Err(reason) => Err(reason),
        };
        match admitted {
            Ok(()) => {
                self.track(id, order);
                true
            }
            Err(reason) => {
                self.emit(OrderUpdate::Denied { id, reason }).await;
                false
            }
        }
    }

    /// Takes over an order an earlier run left open, as the journal knows it.
    fn adopt(&mut self, entry: OpenEntry) {
        let pending = matches!(entry.state.as_str(), "pending" | "unknown");
        let stage = if pending { Stage::Unknown { queries: 0 } } else { Stage::Live };
        let acceptable_until = acceptable_after(entry.created_ms, self.options.recv_window_ms);
        let tracked = Tracked {
            venue_order_id: entry.venue_order_id,
            accepted: !pending,
            filled: entry.order.filled.get(),
            trades: entry.trade_ids.into_iter().collect(),
            ..Tracked::new(&entry.order.order, stage, acceptable_until)
        };
        tracing::info!(client_order_id = %entry.order.id, state = %entry.state, "order from an earlier run; settling it with the venue");
        self.orders.insert(entry.order.id, tracked);
    }

    fn track(&mut self, id: ClientOrderId, order: &NewOrder) {
        let acceptable_until = acceptable_after(clock::now().0, self.options.recv_window_ms);
        self.orders.insert(id, Tracked::new(order, Stage::Sent, acceptable_until));
    }

    fn spawn<F, Fut>(&mut self, call: F)
    where
        F: FnOnce(Arc<V>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Done> + Send + 'static,
    {
        self.in_flight += 1;
        let (venue, tx) = (self.venue.clone(), self.results_tx.clone());
        tokio::spawn(async move {
            let done = call(venue).await;
            let _ = tx.send(done).await;
        });
    }

    /// Like `spawn`, after a delay (queries that settle unknown outcomes).
    fn query_later(&mut self, id: ClientOrderId, symbol: Symbol, after: Duration) {
        self.spawn(move |venue| async move {
            tokio::time::sleep(after).await;
            Done::Queried { id, result: venue.query(symbol, id).await }
        });
    }

    async fn on_done(&mut self, done: Done) {
        match done {
            Done::Placed { id, result } => match result {
                Ok(ack) => self.on_ack(id, ack.venue_order_id).await,
                Err(e) => self.on_send_failed(id, e).await,
            },
            Done::Replaced { cancel, id, result } => self.on_replaced(cancel, id, result).await,
            Done::Release { cancel } => self.release_replacement(cancel).await,
            Done::Amended { id, order, result } => self.on_amended(id, order, result).await,
            Done::AmendChecked { id, order, attempt, result } => {
                self.on_amend_checked(id, order, attempt, result).await
            }
            Done::Canceled { id, result } => self.on_cancel_done(id, result).await,
            Done::Queried { id, result } => self.on_query(id, result).await,
            Done::OpenOrders { result } => self.on_open_orders(result),
            Done::Leased { lease, result } => match result {
                Ok(()) => self.gate().leased(lease),
                Err(e) => self.gate().lease_failed(&lease, &e),
            },
            Done::Probed { id, symbol, result } => self.on_probe(id, symbol, result).await,
            Done::Account { asked_ms, result } => self.on_account(asked_ms, result).await,
            Done::Trades { id, final_status, result } => {
                match result {
                    Ok(trades) => {
                        for t in trades {
                            self.apply_trade(id, &t).await;
                        }
                    }
                    Err(e) => tracing::warn!(client_order_id = %id, error = %e, "fetching the order's trades failed"),
                }
                if let Some(status) = final_status {
                    self.apply_terminal(id, status).await;
                }
            }
        }
    }
}
