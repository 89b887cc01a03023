//! What leaves the execution task besides the update itself: the journal's
//! records of it, its metrics and its log line. One name per state, used by all three.

use tradewind_strategies::sdk::{ClientOrderId, OrderUpdate, Reason, VenueId};

use crate::engine::wall_clock_now;
use crate::journal::{Record, instance_of};

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
    }
}

/// What the journal keeps of an update: its fill, if any, then the order's new state.
pub fn journal_records(update: &OrderUpdate) -> Vec<Record> {
    let (id, venue_order_id, reason): (ClientOrderId, Option<u64>, Option<&Reason>) = match update {
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
        time_ms: wall_clock_now().0,
    };
    match update.fill() {
        Some(fill) => vec![Record::Fill(*fill), state],
        None => vec![state],
    }
}

/// Counts the update and logs the ones operators follow.
pub fn observe(venue: VenueId, update: &OrderUpdate) {
    let strategy = instance_of(update.id()).map_or("external", |(i, _)| i).to_owned();
    let state = state_name(update);
    if update.fill().is_some() {
        metrics::counter!("tradewind_fills_total", "venue" => venue.to_string(), "strategy" => strategy.clone())
            .increment(1);
    }
    if state != "partially_filled" {
        metrics::counter!("tradewind_orders_total", "venue" => venue.to_string(), "strategy" => strategy, "outcome" => state)
            .increment(1);
    }
    match update {
        OrderUpdate::Accepted { id, venue_order_id } => {
            tracing::info!(%venue, client_order_id = %id, venue_order_id, "order accepted");
        }
        OrderUpdate::PartiallyFilled { fill, .. } | OrderUpdate::Filled { fill, .. } => tracing::info!(
            %venue,
            client_order_id = %fill.id,
            side = ?fill.side,
            price = %fill.price.get(),
            qty = %fill.qty.get(),
            fee = %fill.fee,
            complete = matches!(update, OrderUpdate::Filled { .. }),
            "fill"
        ),
        OrderUpdate::Canceled { id } | OrderUpdate::Expired { id } => {
            tracing::info!(%venue, client_order_id = %id, update = ?update, "order closed");
        }
        OrderUpdate::Rejected { .. } | OrderUpdate::Denied { .. } | OrderUpdate::Unknown { .. } => {}
    }
}
