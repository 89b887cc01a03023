//! Operator commands the engine answers: a consistent snapshot of strategies,
//! positions, open orders and balances, the kill switch (halt / resume),
//! pausing one strategy, and cancelling one order. They arrive on the
//! engine's input queue like everything else, so a snapshot is the state
//! between two events, never half of one.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tradewind_strategies::sdk::{ClientOrderId, OrderKind};
use utoipa::ToSchema;

use super::{Core, Engine, InstanceStatus};
use crate::risk::TradingState;

/// An operator's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Snapshot,
    /// Kill switch: the daemon is Halted and every resting order is cancelled.
    Halt,
    /// Lifts the daemon-wide halt (strategies paused one by one stay paused).
    Resume,
    /// Halts one strategy and cancels its resting orders.
    Pause(String),
    /// Lets a paused strategy trade again.
    ResumeStrategy(String),
    /// Cancels one open order by client order id.
    Cancel(String),
}

/// The engine's answer.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Reply {
    Snapshot(Box<Snapshot>),
    Done(Done),
}

/// What a state-changing command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Done {
    /// Whether the command concerned the whole daemon (halt, resume) rather than one strategy or order.
    pub global: bool,
    /// The trading state now in force for the target (daemon or strategy).
    pub trading_state: TradingState,
    /// Cancels sent.
    pub cancels_sent: usize,
}

/// Why a command could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("no strategy named {0:?}")]
    UnknownStrategy(String),
    #[error("no open order with client order id {0:?}")]
    UnknownOrder(String),
}

/// A command and where its answer goes.
#[derive(Debug)]
pub struct Request {
    pub command: Command,
    pub reply: oneshot::Sender<Result<Reply, ControlError>>,
}

/// Why [`ask`] got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoAnswer {
    /// The engine has stopped (its queue is closed).
    Stopped,
    /// No answer within the deadline (the command may still take effect).
    Timeout,
}

/// Sends the engine a command and waits (up to `timeout` for each of queueing
/// and answering) for its reply.
pub async fn ask(
    engine: &tokio::sync::mpsc::Sender<super::EngineInput>,
    command: Command,
    timeout: std::time::Duration,
) -> Result<Result<Reply, ControlError>, NoAnswer> {
    let (reply, answer) = oneshot::channel();
    let input = super::EngineInput::Control(Request { command, reply });
    match tokio::time::timeout(timeout, engine.send(input)).await {
        Err(_) => return Err(NoAnswer::Timeout),
        Ok(Err(_)) => return Err(NoAnswer::Stopped),
        Ok(Ok(())) => {}
    }
    match tokio::time::timeout(timeout, answer).await {
        Err(_) => Err(NoAnswer::Timeout),
        Ok(Err(_)) => Err(NoAnswer::Stopped),
        Ok(Ok(answer)) => Ok(answer),
    }
}

/// Everything an operator looks at, at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Snapshot {
    /// Daemon-wide trading state (the kill switch).
    pub trading_state: TradingState,
    pub strategies: Vec<StrategyRow>,
    pub positions: Vec<PositionRow>,
    pub orders: Vec<OrderRow>,
    pub balances: Vec<BalanceRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StrategyRow {
    pub name: String,
    /// `running`, `failed` (with the reason) or `stopped`.
    #[schema(value_type = Object)]
    pub status: InstanceStatus,
    pub trading_state: TradingState,
    pub open_orders: usize,
    /// Realised PnL over all its positions, in their quote assets.
    #[schema(value_type = String)]
    pub realized_pnl: Decimal,
    /// Unrealised PnL at the marks (positions without a mark count zero).
    #[schema(value_type = String)]
    pub unrealized_pnl: Decimal,
    #[schema(value_type = String)]
    pub fees: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PositionRow {
    pub strategy: String,
    pub venue: String,
    pub symbol: String,
    /// Net quantity held (negative: short).
    #[schema(value_type = String)]
    pub qty: Decimal,
    #[schema(value_type = Option<String>)]
    pub avg_entry: Option<Decimal>,
    /// What the open quantity cost, exactly (quantity × entry price over its lots).
    #[schema(value_type = String)]
    pub cost: Decimal,
    /// Mid of the book, else the last trade.
    #[schema(value_type = Option<String>)]
    pub mark: Option<Decimal>,
    #[schema(value_type = String)]
    pub realized_pnl: Decimal,
    #[schema(value_type = Option<String>)]
    pub unrealized_pnl: Option<Decimal>,
    /// Commissions in the quote asset (base-asset ones valued at entry).
    #[schema(value_type = String)]
    pub fees: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderRow {
    pub strategy: String,
    pub client_order_id: String,
    pub venue: String,
    pub symbol: String,
    /// `buy` or `sell`.
    pub side: String,
    /// `limit`, `post_only` or `market`.
    pub kind: String,
    #[schema(value_type = Option<String>)]
    pub price: Option<Decimal>,
    #[schema(value_type = String)]
    pub qty: Decimal,
    #[schema(value_type = String)]
    pub filled: Decimal,
    /// `queued` (waiting for room in the venue's rate budget), `sent` (no
    /// answer from the venue yet) or `open` (on the venue's book); read from
    /// the journal: the state it recorded (`pending`, `accepted`, `filled`, ...).
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BalanceRow {
    pub venue: String,
    pub asset: String,
    #[schema(value_type = String)]
    pub free: Decimal,
    #[schema(value_type = String)]
    pub locked: Decimal,
}

impl Engine {
    /// Carries out an operator command.
    pub fn control(&mut self, command: Command) -> Result<Reply, ControlError> {
        let core = &mut self.core;
        match command {
            Command::Snapshot => Ok(Reply::Snapshot(Box::new(core.snapshot()))),
            Command::Halt => {
                core.risk.set_global_state(TradingState::Halted);
                let cancels_sent = (0..core.slots.len()).map(|idx| core.cancel_all(idx)).sum();
                tracing::warn!(cancels_sent, "kill switch: trading halted by the operator");
                Ok(Reply::Done(Done { global: true, trading_state: TradingState::Halted, cancels_sent }))
            }
            Command::Resume => {
                core.risk.set_global_state(TradingState::Active);
                tracing::warn!("trading resumed by the operator");
                Ok(Reply::Done(Done { global: true, trading_state: TradingState::Active, cancels_sent: 0 }))
            }
            Command::Pause(name) => {
                let idx = core.slot_index(&name)?;
                core.slots[idx].trading_state = TradingState::Halted;
                let cancels_sent = core.cancel_all(idx);
                tracing::warn!(strategy = %name, cancels_sent, "strategy paused by the operator");
                Ok(Reply::Done(Done { global: false, trading_state: TradingState::Halted, cancels_sent }))
            }
            Command::ResumeStrategy(name) => {
                let idx = core.slot_index(&name)?;
                core.slots[idx].trading_state = TradingState::Active;
                tracing::warn!(strategy = %name, "strategy resumed by the operator");
                Ok(Reply::Done(Done { global: false, trading_state: TradingState::Active, cancels_sent: 0 }))
            }
            Command::Cancel(id) => {
                let unknown = || ControlError::UnknownOrder(id.clone());
                let client_id = ClientOrderId::new(&id).map_err(|_| unknown())?;
                let &idx = core.owners.get(&client_id).ok_or_else(unknown)?;
                let open =
                    core.slots[idx].open_orders.iter().find(|o| o.id == client_id).copied().ok_or_else(unknown)?;
                core.send_cancel(idx, &open);
                let trading_state = core.slots[idx].trading_state;
                Ok(Reply::Done(Done { global: false, trading_state, cancels_sent: 1 }))
            }
        }
    }
}

impl Core {
    /// Where an open order stands: waiting for the rate budget, sent, or on the venue.
    fn order_state(&self, o: &tradewind_strategies::sdk::OpenOrder) -> &'static str {
        if self.acknowledged.contains(&o.id) {
            "open"
        } else if self.venues.get(&o.order.venue).is_some_and(|v| v.is_queued(&o.id)) {
            "queued"
        } else {
            "sent"
        }
    }

    fn slot_index(&self, name: &str) -> Result<usize, ControlError> {
        self.slots.iter().position(|s| s.name == name).ok_or_else(|| ControlError::UnknownStrategy(name.to_owned()))
    }

    pub(super) fn snapshot(&self) -> Snapshot {
        let mut strategies = Vec::with_capacity(self.slots.len());
        let mut positions = Vec::new();
        let mut orders = Vec::new();
        for slot in &self.slots {
            let mut row = StrategyRow {
                name: slot.name.clone(),
                status: slot.status.clone(),
                trading_state: slot.trading_state,
                open_orders: slot.open_orders.len(),
                realized_pnl: Decimal::ZERO,
                unrealized_pnl: Decimal::ZERO,
                fees: Decimal::ZERO,
            };
            let mut held: Vec<_> = slot.positions.iter().collect();
            held.sort_by_key(|((venue, symbol), _)| (venue.as_str(), symbol.as_str()));
            for (&(venue, symbol), p) in held {
                let mark = self.market.mark(venue, symbol);
                let unrealized = mark.map(|m| p.unrealized(m));
                row.realized_pnl += p.realized;
                row.unrealized_pnl += unrealized.unwrap_or_default();
                row.fees += p.fees;
                positions.push(PositionRow {
                    strategy: slot.name.clone(),
                    venue: venue.to_string(),
                    symbol: symbol.to_string(),
                    qty: p.qty(),
                    avg_entry: p.avg_entry(),
                    cost: p.cost(),
                    mark,
                    realized_pnl: p.realized,
                    unrealized_pnl: unrealized,
                    fees: p.fees,
                });
            }
            for o in &slot.open_orders {
                let (kind, price) = match o.order.kind {
                    OrderKind::Limit { price, .. } => ("limit", Some(price.get())),
                    OrderKind::PostOnly { price } => ("post_only", Some(price.get())),
                    OrderKind::Market => ("market", None),
                };
                orders.push(OrderRow {
                    strategy: slot.name.clone(),
                    client_order_id: o.id.to_string(),
                    venue: o.order.venue.to_string(),
                    symbol: o.order.symbol.to_string(),
                    side: o.order.side.to_string().to_lowercase(),
                    kind: kind.to_owned(),
                    price,
                    qty: o.order.qty.get(),
                    filled: o.filled.get(),
                    state: self.order_state(o).to_owned(),
                });
            }
            strategies.push(row);
        }
        let mut balances: Vec<BalanceRow> = self
            .market
            .balances
            .iter()
            .map(|((venue, asset), b)| BalanceRow {
                venue: venue.to_string(),
                asset: asset.to_string(),
                free: b.free,
                locked: b.locked,
            })
            .collect();
        balances.sort_by(|a, b| (&a.venue, &a.asset).cmp(&(&b.venue, &b.asset)));
        Snapshot { trading_state: self.risk.global_state(), strategies, positions, orders, balances }
    }
}
