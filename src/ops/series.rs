//! Every metric family the daemon exports, described once (the HELP line of
//! `/metrics`), and the counters of rare events created at 0 for each venue,
//! symbol and strategy at start, so that `increase()` alerts and dashboards
//! see a series before the first event rather than nothing.

use metrics::{describe_counter, describe_gauge, describe_histogram};

/// (name, HELP) of every counter.
const COUNTERS: &[(&str, &str)] = &[
    ("tradewind_market_events_total", "Market events received, by venue and channel."),
    ("tradewind_parse_errors_total", "Exchange messages that could not be read, by venue."),
    ("tradewind_ws_reconnects_total", "WebSocket reconnections, by venue."),
    ("tradewind_book_resyncs_total", "Order book resynchronisations after a gap, by venue and symbol."),
    ("tradewind_http_429_total", "Requests the venue answered with 429 or 418, by venue."),
    ("tradewind_orders_total", "Orders by final outcome (accepted, filled, canceled, rejected, replace_refused, ...)."),
    ("tradewind_fills_total", "Fills, by venue and strategy."),
    ("tradewind_risk_denials_total", "New orders refused by the risk checks, by strategy and reason."),
    ("tradewind_kill_switch_total", "Kill switch trips, by scope (strategy or account) and reason."),
    (
        "tradewind_stream_down_milliseconds_total",
        "Time a stream was down after having been up (ms), by venue and stream.",
    ),
    ("tradewind_record_events_total", "Market events written to the recordings ([record])."),
    ("tradewind_record_dropped_total", "Market events the recorder had no room for, not recorded ([record])."),
];

/// (name, HELP) of every gauge.
const GAUGES: &[(&str, &str)] = &[
    ("tradewind_phase", "1 for the daemon's current lifecycle phase, 0 for the others."),
    ("tradewind_stream_up", "1 while a venue's stream (market, user) is connected."),
    ("tradewind_rate_limit_used", "Rate budget used in the current window, by venue and budget."),
    ("tradewind_rate_limit_limit", "Rate budget of the window, by venue and budget."),
    ("tradewind_external_open_orders", "Open orders on the account that this daemon did not place, by venue."),
    ("tradewind_journal_queue", "Journal records queued and not yet committed."),
    ("tradewind_pnl_realized", "Realised PnL (quote asset), by strategy."),
    ("tradewind_pnl_unrealized", "Unrealised PnL at the mark (quote asset), by strategy."),
    ("tradewind_fees", "Fees paid (quote asset), by strategy."),
    ("tradewind_open_orders", "Open orders, by strategy."),
    ("tradewind_position", "Position (base asset), by strategy, venue and symbol."),
    ("tradewind_process_resident_memory_bytes", "Resident memory of the process."),
];

/// (name, HELP) of every histogram the recorder keeps.
const HISTOGRAMS: &[(&str, &str)] = &[
    ("tradewind_tick_to_order_seconds", "Market frame read to order request handed to the HTTP client."),
    ("tradewind_request_seconds", "REST request round trips, by venue and endpoint."),
];

/// Gives every family its HELP line; called once the recorder is installed.
pub fn describe() {
    for (name, help) in COUNTERS {
        describe_counter!(*name, *help);
    }
    for (name, help) in GAUGES {
        describe_gauge!(*name, *help);
    }
    for (name, help) in HISTOGRAMS {
        describe_histogram!(*name, *help);
    }
}

/// A venue's counters of rare events, at 0.
pub fn venue_at_zero(venue: &str, symbols: &[String]) {
    for name in ["tradewind_parse_errors_total", "tradewind_ws_reconnects_total", "tradewind_http_429_total"] {
        metrics::counter!(name, "venue" => venue.to_owned()).increment(0);
    }
    for symbol in symbols {
        metrics::counter!("tradewind_book_resyncs_total", "venue" => venue.to_owned(), "symbol" => symbol.clone())
            .increment(0);
    }
    metrics::gauge!("tradewind_external_open_orders", "venue" => venue.to_owned()).set(0.0);
}

/// A strategy's counters of rare events, at 0: its fills and each reason the
/// risk checks may refuse it for.
pub fn strategy_at_zero(strategy: &str, venue: &str) {
    metrics::counter!("tradewind_fills_total", "venue" => venue.to_owned(), "strategy" => strategy.to_owned())
        .increment(0);
    for reason in crate::risk::DENIAL_CODES {
        metrics::counter!("tradewind_risk_denials_total", "strategy" => strategy.to_owned(), "reason" => *reason)
            .increment(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_the_code_exports_is_described() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut dirs = vec![root];
        let mut used = std::collections::BTreeSet::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("series.rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for kind in ["counter!(\"", "gauge!(\"", "histogram!(\""] {
                        for (at, _) in text.match_indices(kind) {
                            let rest = &text[at + kind.len()..];
                            used.insert(rest[..rest.find('"').unwrap()].to_owned());
                        }
                    }
                }
            }
        }
        // Names passed through a helper (`gauge(name, ...)` in the REST client).
        used.extend(["tradewind_rate_limit_used".to_owned(), "tradewind_rate_limit_limit".to_owned()]);
        let described: std::collections::BTreeSet<String> =
            COUNTERS.iter().chain(GAUGES).chain(HISTOGRAMS).map(|(n, _)| (*n).to_owned()).collect();
        let missing: Vec<&String> = used.iter().filter(|n| !described.contains(*n)).collect();
        assert!(missing.is_empty(), "families without HELP: {missing:?}");
    }
}
