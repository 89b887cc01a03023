//! What leaves the execution task besides the update itself: the journal's
//! records of it, its metrics and its log line. One name per state, used by all three.

use tradewind_strategies::sdk::{ClientOrderId, OrderUpdate, Reason, Symbol, VenueId, VenueOrderId};

use crate::clock;
use crate::journal::Record;

/// The state an update puts an order in, as the journal and metrics name it.
pub fn state_name(update: &OrderUpdate) -> &'static str {
    match update {
        OrderUpdate::Accepted { .. } => "accepted",
        OrderUpdate::PartiallyFilled { .. } => "partially_filled",
        OrderUpdate::Filled { .. } => "filled",
        OrderUpdate::Canceled { .. } => "canceled",
        OrderUpdate::Rejected { .. } => "rejected",
        OrderUpdate::Expired { .. } => "expired",
        OrderUpdate::Denied { .. } => "denied",
        OrderUpdate::Unknown { .. } => "unknown",
        OrderUpdate::Amended { .. } => "amended",
        OrderUpdate::AmendRefused { .. } => "amend_refused",
    }
}

/// What the journal keeps of an update: its fill, if any, then the order's
/// new state. An amend leaves the state as it was: it is a line of the
/// order's history (the new terms are journaled where they are known, with
/// the whole order).
pub fn journal_records(update: &OrderUpdate) -> Vec<Record> {
    let (id, venue_order_id, reason): (ClientOrderId, Option<VenueOrderId>, Option<&Reason>) = match update {
        OrderUpdate::Amended { id, .. } | OrderUpdate::AmendRefused { id, .. } => {
            let reason = match update {
                OrderUpdate::AmendRefused { reason, .. } => Some(reason.to_string()),
                _ => None,
            };
            return vec![Record::Event { id: *id, event: state_name(update), reason, time_ms: clock::now().0 }];
        }
        OrderUpdate::Accepted { id, venue_order_id } => (*id, Some(*venue_order_id), None),
        OrderUpdate::PartiallyFilled { id, fill } | OrderUpdate::Filled { id, fill } => {
            (*id, Some(fill.venue_order_id), None)
        }
        OrderUpdate::Rejected { id, reason } | OrderUpdate::Denied { id, reason } => (*id, None, Some(reason)),
        OrderUpdate::Canceled { id } | OrderUpdate::Expired { id } | OrderUpdate::Unknown { id } => (*id, None, None),
    };
    let state = Record::State {
        id,
        state: state_name(update),
        venue_order_id,
        reason: reason.map(ToString::to_string),
        time_ms: clock::now().0,
    };
    match update.fill() {
        Some(fill) => vec![Record::Fill(*fill), state],
        None => vec![state],
    }
}

/// The reason code of a replacement refused because the order it replaced had
/// already filled or left the book (`ErrorKind::ReplacedOrderGone`, Binance's
/// -2022), whichever way its strategy hears of it: routine for a requoting strategy,
/// so counted apart from the venue's real rejections.
pub const REPLACED_ORDER_GONE: &str = "replaced_order_gone";

/// The outcome label of an update in `tradewind_orders_total`.
fn outcome(update: &OrderUpdate) -> &'static str {
    match update {
        OrderUpdate::Rejected { reason, .. } if reason.code == REPLACED_ORDER_GONE => "replace_refused",
        other => state_name(other),
    }
}

/// Counts the update and logs the ones operators follow, each line with its
/// venue, symbol, strategy and client order id.
pub fn observe(venue: VenueId, symbol: Option<Symbol>, update: &OrderUpdate) {
    let strategy = update.id().owner().map_or("external", |(i, _)| i).to_owned();
    let symbol = symbol.map(|s| s.to_string()).unwrap_or_default();
    if update.fill().is_some() {
        metrics::counter!("tradewind_fills_total", "venue" => venue.to_string(), "strategy" => strategy.clone())
            .increment(1);
    }
    if !matches!(update, OrderUpdate::PartiallyFilled { .. }) {
        metrics::counter!("tradewind_orders_total", "venue" => venue.to_string(), "strategy" => strategy.clone(), "outcome" => outcome(update))
            .increment(1);
    }
    match update {
        OrderUpdate::Accepted { id, venue_order_id } => {
            tracing::info!(%venue, %symbol, %strategy, client_order_id = %id, %venue_order_id, "order accepted");
        }
        OrderUpdate::PartiallyFilled { fill, .. } | OrderUpdate::Filled { fill, .. } => tracing::info!(
            %venue,
            %symbol,
            %strategy,
            client_order_id = %fill.id,
            side = %fill.side,
            price = %fill.price.get(),
            qty = %fill.qty.get(),
            fee = %fill.fee,
            fee_asset = fill.fee_asset.map(|a| a.to_string()).unwrap_or_default(),
            complete = matches!(update, OrderUpdate::Filled { .. }),
            "fill"
        ),
        OrderUpdate::Canceled { id } | OrderUpdate::Expired { id } => {
            tracing::info!(%venue, %symbol, %strategy, client_order_id = %id, state = state_name(update), "order closed");
        }
        OrderUpdate::Rejected { id, reason } if reason.code == REPLACED_ORDER_GONE => {
            tracing::info!(%venue, %symbol, %strategy, client_order_id = %id, "replace not done: the order it replaced had already filled or left the book");
        }
        OrderUpdate::Rejected { id, reason } => {
            tracing::info!(%venue, %symbol, %strategy, client_order_id = %id, code = %reason.code, venue_message = %reason.message, "order rejected by the venue");
        }
        OrderUpdate::Amended { id, qty, price } => {
            tracing::info!(%venue, %symbol, %strategy, client_order_id = %id, qty = %qty.get(), price = %price.get(), "order amended");
        }
        OrderUpdate::AmendRefused { id, reason } => {
            tracing::info!(%venue, %symbol, %strategy, client_order_id = %id, code = %reason.code, venue_message = %reason.message, "amend refused");
        }
        OrderUpdate::Denied { .. } | OrderUpdate::Unknown { .. } => {}
    }
}
