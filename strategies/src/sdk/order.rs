//! What a strategy may ask for (intents) and what it hears back (updates, fills).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::types::{Asset, ClientOrderId, Price, Qty, Side, Symbol, Timestamp, TradeId, VenueId, VenueOrderId};

/// How long a limit order stays on the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TimeInForce {
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel: fill what can be filled now, cancel the rest.
    Ioc,
    /// Fill or kill: fill everything now or nothing.
    Fok,
}

/// The order type and its price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderKind {
    Limit {
        price: Price,
        tif: TimeInForce,
    },
    /// A limit order that is rejected instead of taking liquidity.
    PostOnly {
        price: Price,
    },
    /// At the best prices the book offers now. It may end partly filled, the
    /// rest expired: venues that run a market order as a limit IOC within a
    /// price band around the best price (Bybit spot) fill only what the
    /// band holds, so a strategy that needs the whole quantity watches for
    /// the order's end and sends the rest again.
    Market,
}

impl OrderKind {
    /// The limit price, if the order has one.
    pub fn price(&self) -> Option<Price> {
        match *self {
            OrderKind::Limit { price, .. } | OrderKind::PostOnly { price } => Some(price),
            OrderKind::Market => None,
        }
    }
}

/// A new order as a strategy describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    pub venue: VenueId,
    pub symbol: Symbol,
    pub side: Side,
    pub qty: Qty,
    pub kind: OrderKind,
}

/// The only things a strategy may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderIntent {
    Place {
        id: ClientOrderId,
        order: NewOrder,
    },
    Cancel {
        id: ClientOrderId,
    },
    /// Cancel `cancel` and place `order` (one cancel-replace request where the venue has one).
    Replace {
        cancel: ClientOrderId,
        id: ClientOrderId,
        order: NewOrder,
    },
    /// Cancel every open order of this strategy on `venue` (and `symbol`, if given).
    CancelAll {
        venue: VenueId,
        symbol: Option<Symbol>,
    },
    /// Change resting limit order `id` in place: its new total quantity (the
    /// filled part included) and/or its new limit price. It keeps its id;
    /// on venues that keep queue priority for a smaller quantity at the same
    /// price, it keeps that too. Answered by `Amended` or `AmendRefused`
    /// (the order then stands as it was); a venue without amend refuses it.
    Amend {
        id: ClientOrderId,
        qty: Option<Qty>,
        price: Option<Price>,
    },
}

impl OrderIntent {
    /// The new order this intent places, if any.
    pub fn new_order(&self) -> Option<(&ClientOrderId, &NewOrder)> {
        match self {
            OrderIntent::Place { id, order } | OrderIntent::Replace { id, order, .. } => Some((id, order)),
            OrderIntent::Cancel { .. } | OrderIntent::CancelAll { .. } | OrderIntent::Amend { .. } => None,
        }
    }
}

/// Whether a fill added liquidity (maker) or took it (taker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Liquidity {
    Maker,
    Taker,
}

/// One execution of (part of) an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    pub venue: VenueId,
    pub symbol: Symbol,
    pub id: ClientOrderId,
    pub venue_order_id: VenueOrderId,
    /// The venue's trade id; (venue, venue_order_id, trade_id) identifies a fill.
    pub trade_id: TradeId,
    pub side: Side,
    pub price: Price,
    pub qty: Qty,
    pub fee: Decimal,
    pub fee_asset: Option<Asset>,
    pub liquidity: Liquidity,
    pub time: Timestamp,
}

/// Why an order did not go through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// A stable machine-readable code, e.g. `max_order_notional`, `-2010`.
    pub code: String,
    pub message: String,
}

impl Reason {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into() }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// The life of an order as the strategy that placed it sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderUpdate {
    /// The venue acknowledged the order; it rests on the book (or is about to fill).
    Accepted {
        id: ClientOrderId,
        venue_order_id: VenueOrderId,
    },
    PartiallyFilled {
        id: ClientOrderId,
        fill: Fill,
    },
    /// The last fill; the order is done.
    Filled {
        id: ClientOrderId,
        fill: Fill,
    },
    Canceled {
        id: ClientOrderId,
    },
    /// The venue refused the order (proof it never traded).
    Rejected {
        id: ClientOrderId,
        reason: Reason,
    },
    /// The venue expired it (IOC/FOK remainder, self-trade prevention, …).
    Expired {
        id: ClientOrderId,
    },
    /// Refused before leaving the process (risk, filters, rate limit).
    Denied {
        id: ClientOrderId,
        reason: Reason,
    },
    /// Sent, but the outcome is not known yet; it will be settled later.
    Unknown {
        id: ClientOrderId,
    },
    /// The venue changed the open order as asked: these are its terms now.
    Amended {
        id: ClientOrderId,
        qty: Qty,
        price: Price,
    },
    /// An amend was refused (by risk, the filters or the venue) or did not
    /// apply: the order stands as it was, and may still be open.
    AmendRefused {
        id: ClientOrderId,
        reason: Reason,
    },
}

impl OrderUpdate {
    pub fn id(&self) -> &ClientOrderId {
        match self {
            OrderUpdate::Accepted { id, .. }
            | OrderUpdate::PartiallyFilled { id, .. }
            | OrderUpdate::Filled { id, .. }
            | OrderUpdate::Canceled { id }
            | OrderUpdate::Rejected { id, .. }
            | OrderUpdate::Expired { id }
            | OrderUpdate::Denied { id, .. }
            | OrderUpdate::Unknown { id }
            | OrderUpdate::Amended { id, .. }
            | OrderUpdate::AmendRefused { id, .. } => id,
        }
    }

    /// True when the order can no longer trade.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            OrderUpdate::Filled { .. }
                | OrderUpdate::Canceled { .. }
                | OrderUpdate::Rejected { .. }
                | OrderUpdate::Expired { .. }
                | OrderUpdate::Denied { .. }
        )
    }

    pub fn fill(&self) -> Option<&Fill> {
        match self {
            OrderUpdate::PartiallyFilled { fill, .. } | OrderUpdate::Filled { fill, .. } => Some(fill),
            _ => None,
        }
    }
}

/// The buffer a strategy writes its intents into. It hands out client order
/// ids, so the strategy knows the id of each order it places and ids are
/// deterministic per instance (see [`super::owner`]).
#[derive(Debug)]
pub struct Intents {
    instance: String,
    next_seq: u64,
    buf: Vec<OrderIntent>,
    /// State saved by the latest callback (JSON), for the journal.
    state: Option<String>,
}

impl Intents {
    /// A buffer for `instance` whose first order gets sequence number `first_seq`.
    /// Registers `instance`'s id code ([`super::owner::register`]); the host
    /// refuses a name whose code another name holds before it builds one.
    pub fn new(instance: &str, first_seq: u64) -> Self {
        let _ = super::owner::register(instance);
        Self { instance: instance.to_owned(), next_seq: first_seq, buf: Vec::new(), state: None }
    }

    /// The sequence number the next order will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn next_id(&mut self) -> ClientOrderId {
        let id = ClientOrderId::for_instance(&self.instance, self.next_seq)
            .expect("instance names are validated to fit a 36-character client order id");
        self.next_seq += 1;
        id
    }

    /// Asks for a new order; returns its client order id.
    pub fn place(&mut self, order: NewOrder) -> ClientOrderId {
        let id = self.next_id();
        self.buf.push(OrderIntent::Place { id, order });
        id
    }

    pub fn cancel(&mut self, id: ClientOrderId) {
        self.buf.push(OrderIntent::Cancel { id });
    }

    /// Asks to replace order `cancel` with `order`; returns the new order's id.
    pub fn replace(&mut self, cancel: ClientOrderId, order: NewOrder) -> ClientOrderId {
        let id = self.next_id();
        self.buf.push(OrderIntent::Replace { cancel, id, order });
        id
    }

    /// Asks to change open limit order `id` in place (see [`OrderIntent::Amend`]).
    pub fn amend(&mut self, id: ClientOrderId, qty: Option<Qty>, price: Option<Price>) {
        self.buf.push(OrderIntent::Amend { id, qty, price });
    }

    pub fn cancel_all(&mut self, venue: VenueId, symbol: Option<Symbol>) {
        self.buf.push(OrderIntent::CancelAll { venue, symbol });
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn as_slice(&self) -> &[OrderIntent] {
        &self.buf
    }

    /// Takes the buffered intents, keeping the allocation for the next round.
    pub fn drain(&mut self) -> std::vec::Drain<'_, OrderIntent> {
        self.buf.drain(..)
    }

    /// Drops buffered intents (used when a strategy failed mid-callback).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.state = None;
    }

    /// Saves `state` (as JSON) in the journal: after a restart it comes back
    /// in [`Restored::state`](super::Restored). Journaled before the intents of
    /// the same callback, so a restart never finds an order without the state
    /// saved with it. The latest save of a callback wins.
    pub fn save_state<T: Serialize>(&mut self, state: &T) -> Result<(), super::StrategyError> {
        let text = serde_json::to_string(state).map_err(|e| super::StrategyError::new(format!("state: {e}")))?;
        self.state = Some(text);
        Ok(())
    }

    /// The state saved since the last call, if any (the engine journals it).
    pub fn take_state(&mut self) -> Option<String> {
        self.state.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_hand_out_sequential_ids() {
        let venue = VenueId::new("sim").unwrap();
        let symbol = Symbol::new("BTCUSDT").unwrap();
        let order = NewOrder { venue, symbol, side: Side::Buy, qty: Qty::new(Decimal::ONE), kind: OrderKind::Market };
        let mut out = Intents::new("s1", 7);
        let a = out.place(order);
        let b = out.replace(a, order);
        assert_eq!((a.owner(), b.owner()), (Some(("s1", 7)), Some(("s1", 8))), "{a} {b}");
        assert_eq!(out.next_seq(), 9);
        let drained: Vec<_> = out.drain().collect();
        assert_eq!(drained.len(), 2);
        assert!(out.is_empty());
        assert_eq!(drained[1].new_order().map(|(id, _)| *id), Some(b));
    }
}
