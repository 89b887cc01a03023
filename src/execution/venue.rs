//! The venue contract for order entry and the account: what the order
//! manager ([`super::orders`]) asks of a connector, in terms every venue can
//! answer. A connector implements [`OrderEntry`] over its REST (or WebSocket)
//! client and translates its user stream into [`AccountEvent`]s; the order
//! state machine, dedupe, settlement of unknown outcomes, leases, recovery
//! and reconciliation are written once, against this.
//!
//! Every call ends in one of three ways: done (the venue's answer), refused
//! with proof that nothing happened ([`Outcome::Rejected`]), or unknown
//! ([`Outcome::Unknown`]: it may have executed). A connector never retries a
//! new order whose outcome is unknown; the order manager settles it by
//! query by client order id.
//!
//! [`Outcome::Rejected`]: super::error::Outcome::Rejected
//! [`Outcome::Unknown`]: super::error::Outcome::Unknown

use std::future::Future;

use rust_decimal::Decimal;
use tokio::time::Instant;
use tradewind_strategies::sdk::{
    Balance, ClientOrderId, NewOrder, OrderKind, Price, Qty, Side, Symbol, VenueId, VenueOrderId,
};

use super::error::VenueError;
use super::report::{OrderStatus, VenueTrade};

/// The venue took a new order (or a replacement): its id there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    pub venue_order_id: VenueOrderId,
    /// For a replacement: how the order it replaced ended, when the venue's
    /// answer says (`None`: the order manager asks).
    pub replaced: Option<Closed>,
}

impl Ack {
    /// A new order's ack.
    pub fn placed(venue_order_id: VenueOrderId) -> Self {
        Self { venue_order_id, replaced: None }
    }
}

/// How a replaced order ended: its status and what had filled of it, which
/// may be more than its reports said so far (a fill just before the cancel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed {
    pub status: OrderStatus,
    pub executed_qty: Decimal,
}

/// One order as the venue describes it: a query's answer, a cancel's, a row of the open orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderState {
    /// The client order id as the venue has it (ours, or anyone's on a shared account).
    pub client_order_id: String,
    pub venue_order_id: VenueOrderId,
    /// The symbol in the venue's spelling.
    pub symbol: String,
    pub status: OrderStatus,
    /// How much has filled so far.
    pub executed_qty: Decimal,
    /// `None` when the venue's words for the side are not understood.
    pub side: Option<Side>,
    /// The order's type in the strategies' terms; `None` for one they cannot place.
    pub kind: Option<OrderKind>,
    /// The limit price (zero for a market order).
    pub price: Decimal,
    pub qty: Decimal,
    /// When the order was placed (venue ms), when the venue says.
    pub time: Option<i64>,
}

impl OrderState {
    /// The order the venue describes, in the strategies' terms (`None`: not one a strategy could have placed).
    pub fn order(&self, venue: VenueId, symbol: Symbol) -> Option<NewOrder> {
        Some(NewOrder { venue, symbol, side: self.side?, qty: Qty::new(self.qty), kind: self.kind? })
    }

    /// The limit price, for logs.
    pub fn limit_price(&self) -> Option<Price> {
        match self.kind? {
            OrderKind::Limit { price, .. } | OrderKind::PostOnly { price } => Some(price),
            OrderKind::Market => None,
        }
    }
}

/// The whole account, as one read says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountState {
    /// When the account last changed (venue ms), when the venue says.
    pub update_time: Option<i64>,
    /// Every asset the venue lists (an asset it no longer lists is zero).
    pub balances: Vec<(String, Balance)>,
}

/// What a venue's private stream says, in every venue's terms.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountEvent {
    Order(Box<OrderReport>),
    /// The assets an account update changed, as of venue time `time` (ms).
    Balances {
        balances: Vec<(String, Balance)>,
        time: i64,
    },
    /// A deposit, withdrawal or transfer changed a balance by `delta`.
    BalanceDelta {
        asset: String,
        delta: Decimal,
    },
    /// (Re)subscribed: events between the last one seen and now may be missing.
    Subscribed,
    /// The stream is down; order updates now come only from queries.
    Down,
}

/// One report about one order on the private stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderReport {
    /// The id of the order the report is about (for a cancel: the cancelled order's).
    pub client_order_id: String,
    pub venue_order_id: VenueOrderId,
    /// The symbol in the venue's spelling.
    pub symbol: String,
    pub event: ReportEvent,
    /// The order's status after this event.
    pub status: OrderStatus,
    /// How much of the order has filled, counting this event.
    pub cum_qty: Decimal,
}

/// What happened to the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportEvent {
    /// On the book (or accepted for matching).
    New,
    Trade(VenueTrade),
    /// Ended without (more) fills: cancelled, expired, prevented from trading with itself.
    Ended,
    /// Refused by the matching engine after the venue took it, with the venue's reason.
    Rejected(String),
    /// Something the order tracking need not act on (an amend, a pending cancel).
    Other,
}

/// Order entry and the account, as the order manager asks for them.
///
/// Futures are `Send + 'static` once awaited through an `Arc` of the
/// connector, so the order manager runs each call in a task of its own.
pub trait OrderEntry: Send + Sync + 'static {
    /// A request signed, built and charged to the rate budget, not sent yet.
    type Prepared: Send + 'static;

    /// Whether [`Self::amend`] changes orders in place (false: the default refusal).
    const AMENDS: bool = false;

    /// Places a new order. Past `deadline` (when the rate budget keeps it
    /// waiting) it is not sent at all (`Outcome::NotSent`). `origin`: when
    /// the market frame that caused it was read (tick-to-order latency).
    fn place(
        &self,
        id: ClientOrderId,
        order: NewOrder,
        deadline: Option<Instant>,
        origin: Option<std::time::Instant>,
    ) -> impl Future<Output = Result<Ack, VenueError>> + Send;

    /// Cancels by client order id; the answer is the order's state after the cancel.
    fn cancel(&self, symbol: Symbol, id: ClientOrderId) -> impl Future<Output = Result<OrderState, VenueError>> + Send;

    /// Replaces `cancel` by `order` as `id`: the replacement's ack, or an
    /// error that says which half failed (`ErrorKind::ReplacedOrderGone`:
    /// the cancel half did, nothing was placed).
    fn replace(
        &self,
        cancel: ClientOrderId,
        id: ClientOrderId,
        order: NewOrder,
        origin: Option<std::time::Instant>,
    ) -> impl Future<Output = Result<Ack, VenueError>> + Send;

    /// Changes open order `id` in place to `order`'s quantity (the new
    /// total, filled part included) and limit price, keeping its client id.
    /// `Ok` when the venue applied it. A venue without amend keeps this
    /// default: not sent, and the strategy hears `AmendRefused`.
    fn amend(&self, id: ClientOrderId, order: NewOrder) -> impl Future<Output = Result<(), VenueError>> + Send {
        let _ = (id, order);
        std::future::ready(Err(VenueError::not_sent("this venue does not amend orders")))
    }

    /// An order by client order id (`ErrorKind::UnknownOrder` when the venue has none).
    fn query(&self, symbol: Symbol, id: ClientOrderId) -> impl Future<Output = Result<OrderState, VenueError>> + Send;

    /// Every fill of one order.
    fn order_trades(
        &self,
        symbol: Symbol,
        order: VenueOrderId,
    ) -> impl Future<Output = Result<Vec<VenueTrade>, VenueError>> + Send;

    /// The account's open orders, all symbols.
    fn open_orders(&self) -> impl Future<Output = Result<Vec<OrderState>, VenueError>> + Send;

    /// The whole account's balances.
    fn read_account(&self) -> impl Future<Output = Result<AccountState, VenueError>> + Send;

    /// The venue's clock as we estimate it (ms).
    fn venue_now_ms(&self) -> i64;

    /// Whether new order `id` is waiting for room in the rate budget.
    fn is_queued(&self, id: &ClientOrderId) -> bool;

    /// A new order signed and charged to the rate budget, if the budget has
    /// room now (`None`: it would have to wait); nothing is sent until
    /// [`Self::complete`]. This is the engine's in-call send: a connector
    /// that cannot do it returns `None`, and every order goes through the
    /// order manager's queue.
    fn prepare_place_now(
        &self,
        id: ClientOrderId,
        order: &NewOrder,
        origin: Option<std::time::Instant>,
    ) -> Option<Result<Self::Prepared, VenueError>>;

    /// [`Self::prepare_place_now`] for a replacement of `cancel`. By default
    /// none: a venue whose replace takes two requests replaces through the
    /// order manager's queue.
    fn prepare_replace_now(
        &self,
        cancel: ClientOrderId,
        id: ClientOrderId,
        order: &NewOrder,
        origin: Option<std::time::Instant>,
    ) -> Option<Result<Self::Prepared, VenueError>> {
        let _ = (cancel, id, order, origin);
        None
    }

    /// Sends a prepared placement or replacement and reads its ack.
    fn complete(&self, prepared: Self::Prepared) -> impl Future<Output = Result<Ack, VenueError>> + Send;
}

/// A replace on a venue that has no single request for it: `cancel` is
/// cancelled, and the replacement placed (`place`, not polled before) only
/// once the venue shows the old order closed: placing earlier could fill
/// both. A cancel refused because the venue no longer has the order makes
/// the replace `ErrorKind::ReplacedOrderGone` (nothing was placed).
pub async fn cancel_then_place<V: OrderEntry>(
    venue: &V,
    symbol: Symbol,
    cancel: ClientOrderId,
    place: impl Future<Output = Result<Ack, VenueError>>,
) -> Result<Ack, VenueError> {
    use super::error::{ErrorKind, Outcome};
    let old = venue.cancel(symbol, cancel).await.map_err(|e| match e.kind {
        ErrorKind::UnknownOrder => VenueError::new(Outcome::Rejected, ErrorKind::ReplacedOrderGone, e.to_string()),
        _ => e,
    })?;
    if old.status.is_open() {
        return Err(VenueError::not_sent(format!("{cancel} is still open after its cancel; nothing placed")));
    }
    let ack = place.await?;
    Ok(Ack { replaced: Some(Closed { status: old.status, executed_qty: old.executed_qty }), ..ack })
}
