//! Crash safety. A daemon runs a grid (resting orders on many levels, fills
//! as the market moves) against an in-process simulator and is SIGKILLed at
//! seven kinds of moments: with orders on the venue whose intents the journal
//! never committed (its writer stopped after two), right after it became
//! ready, at its first order ack (others still in flight), at a fill, between
//! an order's send and its ack (the venue accepted it and holds the answer back),
//! after a seeded random number of log lines, and in the middle of a graceful drain. After
//! each kill the market is frozen and the daemon restarted; once it reports
//! ready, its open orders, balances and position must equal the simulator's
//! ledger exactly, and the simulator must never have seen a client order id
//! twice.

use std::collections::BTreeMap;
use std::process::Command;

use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;
use tradewind::venue::sim::config::FaultConfig;
use tradewind::venue::sim::{self, SimConfig, SimHandle, SimOptions};

use crate::support::{ConfigDir, Daemon, binance_main, dec, start_with};

/// The simulator's first (demo) account.
const ACCOUNT: u32 = 2;

/// Starts the daemon on the test's config; returns once it is ready.
fn start(dir: &ConfigDir) -> Daemon {
    start_with(dir, &[])
}

fn get(daemon: &Daemon, path: &str) -> serde_json::Value {
    daemon.get(path)
}

/// Where a daemon is killed.
#[derive(Debug, Clone, Copy)]
enum Point {
    /// The journal commits two intents, then nothing: orders go on under their lease.
    JournalStalled,
    JustStarted,
    FirstAck,
    Fill,
    BetweenSendAndAck,
    /// After a seeded random number of log lines (wherever the daemon is then).
    AfterLines(usize),
    Draining,
}

#[test]
fn sigkill_at_any_point_then_restart_matches_the_venue_exactly() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut config = SimConfig::default();
    config.market.events_per_sec = 20;
    let options = SimOptions { listen: "127.0.0.1:0".parse().unwrap(), seed: 11, config, accounts: Vec::new() };
    let sim = runtime.block_on(sim::start(options, CancellationToken::new())).unwrap();
    let initial: BTreeMap<String, Decimal> =
        sim.with_exchange(|ex| ex.ledger().account(ACCOUNT).map(|(a, b)| (a.to_owned(), b.free + b.locked)).collect());
    let main = binance_main(&sim, "[risk]\nmax_open_orders = 60\n");
    let grid = "name = \"g\"\nkind = \"grid\"\nvenue = \"bn\"\nsymbols = [\"BTCUSDT\"]\n\
                lower = \"59800\"\nupper = \"60200\"\nlevels = 41\norder_qty = \"0.001\"\n";
    let dir = ConfigDir::new(&main, &[("g.toml", grid)]);

    let mut rng = tradewind::rng::Rng::new(2026);
    let points = [
        Point::JournalStalled,
        Point::JustStarted,
        Point::FirstAck,
        Point::Fill,
        Point::BetweenSendAndAck,
        Point::AfterLines(5 + rng.below(60) as usize),
        Point::Draining,
    ];
    // The first daemon's journal stops committing after two intents (the first point).
    let mut daemon = start_with(&dir, &[("TRADEWIND_TEST_JOURNAL_STALL_AFTER", "2")]);
    for point in points {
        // The market is frozen here (but for the first round): the restarted grid
        // lays out its levels at the first quote once it moves again.
        let before = sim.with_exchange(|ex| ex.orders_of(ACCOUNT).len());
        if let Point::BetweenSendAndAck = point {
            // The venue takes the next order but holds its answer back (fills keep
            // coming on the user stream, so the grid keeps placing orders).
            sim.set_faults(FaultConfig {
                timeout_after_accept: 1.0,
                timeout_after_accept_ms: 60_000,
                ..FaultConfig::default()
            });
        }
        sim.pause_market(false);
        let mut unjournaled = None;
        match point {
            Point::JournalStalled => {
                // The third intent is handed off but never committed; once the venue has
                // accepted that order, it exists only there.
                let stalled =
                    daemon.wait_line("the stalled writer", |l| l.contains("journal writer stalled on purpose"));
                let id = serde_json::from_str::<serde_json::Value>(&stalled).unwrap()["client_order_id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let needle = format!("\"client_order_id\":\"{id}\"");
                daemon.wait_line("its acceptance", |l| l.contains("\"order accepted\"") && l.contains(&needle));
                unjournaled = Some(id);
            }
            Point::JustStarted => {}
            Point::FirstAck => daemon.wait_message("order accepted"),
            Point::Fill => daemon.wait_message("fill"),
            Point::BetweenSendAndAck => {
                // The user stream reports the order the venue took; its REST answer stays held back.
                let took = || sim.with_exchange(|ex| ex.orders_of(ACCOUNT).len()) > before;
                daemon.wait_line("an order the venue took", |l| l.contains("\"order accepted\"") && took());
            }
            Point::AfterLines(n) => daemon.wait_lines(n),
            Point::Draining => {
                assert!(
                    Command::new("kill").args(["-TERM", &daemon.child.id().to_string()]).status().unwrap().success()
                );
                daemon.wait_message("shutting down");
            }
        }
        daemon.kill();
        sim.pause_market(true);
        sim.set_faults(FaultConfig::default());
        daemon = start(&dir);
        if let Some(id) = unjournaled {
            let adopted = "an order sent just before the crash, on the venue but not in the journal: adopted";
            let needle = format!("\"client_order_id\":\"{id}\"");
            daemon.wait_line("its adoption", |l| l.contains(adopted) && l.contains(&needle));
        }
        compare(&sim, &daemon, &initial, point);
    }
    // A graceful stop: resting orders cancelled (cancel_on_shutdown), journal flushed, exit 0.
    // (The last kill came mid-drain, which may have cancelled everything: let the grid lay out again.)
    sim.pause_market(false);
    daemon.wait_message("order accepted");
    assert!(!sim.with_exchange(|ex| ex.open_orders(ACCOUNT, None).is_empty()), "the grid rests orders");
    assert_eq!(daemon.stop(), Some(0));
    assert_eq!(sim.with_exchange(|ex| ex.open_orders(ACCOUNT, None).len()), 0, "every resting order cancelled");
    let journal = tradewind::ops::report::read(&dir.path().join("journal.db"), false, 1000).unwrap();
    assert!(journal.orders.is_empty(), "the journal knows they are closed: {:?}", journal.orders);
    let traded = sim.with_exchange(|ex| ex.orders_of(ACCOUNT).len());
    assert!(traded >= 20, "the grid traded ({traded} orders)");
}

/// The daemon's view (control API) against the simulator's ledger.
fn compare(sim: &SimHandle, daemon: &Daemon, initial: &BTreeMap<String, Decimal>, point: Point) {
    // The restarted grid may lay out levels at the top of book it reads at connect.
    daemon.settled();
    type Open = BTreeMap<String, (Decimal, Decimal, Decimal)>;
    let (venue_open, venue_balances, client_ids): (Open, BTreeMap<String, (Decimal, Decimal)>, Vec<String>) = sim
        .with_exchange(|ex| {
            let open = ex
                .open_orders(ACCOUNT, None)
                .iter()
                .map(|o| {
                    (o.client_id.clone(), (o.price.normalize(), o.orig_qty.normalize(), o.executed_qty.normalize()))
                })
                .collect();
            let balances = ex
                .ledger()
                .account(ACCOUNT)
                .filter(|(_, b)| !(b.free + b.locked).is_zero())
                .map(|(a, b)| (a.to_owned(), (b.free.normalize(), b.locked.normalize())))
                .collect();
            (open, balances, ex.orders_of(ACCOUNT).iter().map(|o| o.client_id.clone()).collect())
        });
    let context = format!("after the kill at {point:?}");

    let mut unique = client_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), client_ids.len(), "{context}: a client order id reached the venue twice");

    let daemon_open: Open = get(daemon, "/v1/orders")
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let id = o["client_order_id"].as_str().unwrap().to_owned();
            (id, (dec(&o["price"]).normalize(), dec(&o["qty"]).normalize(), dec(&o["filled"]).normalize()))
        })
        .collect();
    assert_eq!(daemon_open, venue_open, "{context}: open orders (client id → price, qty, filled)");

    // The account update of the last order settled may still be on its way: asked
    // again until it is in (the market is paused, so nothing else moves), then exactly.
    let daemon_balances = || -> BTreeMap<String, (Decimal, Decimal)> {
        get(daemon, "/v1/balances")
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["venue"] == "bn")
            .map(|b| {
                (b["asset"].as_str().unwrap().to_owned(), (dec(&b["free"]).normalize(), dec(&b["locked"]).normalize()))
            })
            .filter(|(_, (free, locked))| !(free + locked).is_zero())
            .collect()
    };
    daemon.until(|| daemon_balances() == venue_balances);
    assert_eq!(daemon_balances(), venue_balances, "{context}: balances (free, locked)");

    // The grid is the account's only trader: its position is the change in BTC held, and
    // realised − cost of what is held − fees is the change in USDT, to the last digit.
    let total = |asset: &str| venue_balances.get(asset).map_or(Decimal::ZERO, |(f, l)| f + l);
    let delta_btc = total("BTC") - initial["BTC"];
    let delta_usdt = total("USDT") - initial["USDT"];
    let positions = get(daemon, "/v1/positions");
    let position = positions.as_array().unwrap().iter().find(|p| p["strategy"] == "g" && p["symbol"] == "BTCUSDT");
    let (qty, cash) = match position {
        Some(p) => (dec(&p["qty"]), dec(&p["realized_pnl"]) - dec(&p["cost"]) - dec(&p["fees"])),
        None => (Decimal::ZERO, Decimal::ZERO),
    };
    assert_eq!(qty, delta_btc, "{context}: position vs BTC held ({positions})");
    assert_eq!(cash, delta_usdt, "{context}: realised − cost − fees vs USDT ({positions})");
}
