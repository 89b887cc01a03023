//! Every built-in strategy is restart-safe: a daemon trading one strategy
//! against simulators in this process (so their ledgers outlive the daemon)
//! is SIGKILLed mid-run and started again. After the restart nothing rests on
//! the venue that the strategy does not manage, and nothing that already
//! executed is executed again.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;
use tradewind::venue::sim::config::FaultConfig;
use tradewind::venue::sim::exchange::Order;
use tradewind::venue::sim::{self, SimConfig, SimHandle, SimOptions};

use crate::support::{ConfigDir, Daemon, binance_main_named, owned_by, start_with};

/// The simulators' demo account.
const ACCOUNT: u32 = 2;

/// Simulators and a config folder with one strategy on them.
struct Rig {
    runtime: tokio::runtime::Runtime,
    sims: Vec<SimHandle>,
    dir: ConfigDir,
}

impl Rig {
    /// One simulator per venue name (`bn`, then any others), each from `config` with its own seed.
    fn new(venues: &[&str], config: SimConfig, strategy: &str) -> Rig {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let sims: Vec<SimHandle> = venues
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let options = SimOptions {
                    listen: "127.0.0.1:0".parse().unwrap(),
                    seed: 31 + i as u64,
                    config: config.clone(),
                    accounts: Vec::new(),
                };
                runtime.block_on(sim::start(options, CancellationToken::new())).unwrap()
            })
            .collect();
        let named: Vec<(&str, &SimHandle)> = venues.iter().copied().zip(&sims).collect();
        let main = binance_main_named(&named, "[risk]\nmax_open_orders = 60\n");
        let dir = ConfigDir::new(&main, &[("s.toml", strategy)]);
        Rig { runtime, sims, dir }
    }

    fn sim(&self) -> &SimHandle {
        &self.sims[0]
    }

    fn start(&self) -> Daemon {
        start_with(&self.dir, &[])
    }

    /// Kills the daemon, then starts it again and waits until the strategy got its past back.
    fn restart(&self, daemon: Daemon) -> Daemon {
        daemon.kill();
        let mut daemon = self.start();
        daemon.wait_count("strategy restored from the journal", 1);
        daemon
    }

    /// The account's orders on simulator `i` placed by instance `name`.
    fn orders_of(&self, i: usize, name: &str) -> Vec<Order> {
        self.sims[i].with_exchange(|ex| {
            ex.orders_of(ACCOUNT).into_iter().filter(|o| owned_by(&o.client_id, name)).cloned().collect()
        })
    }

    /// Base asset bought (+) or sold (−) by `name` on simulator `i`.
    fn net_bought(&self, i: usize, name: &str) -> Decimal {
        use tradewind::venue::sim::exchange::Side;
        self.orders_of(i, name).iter().map(|o| if o.side == Side::Buy { o.executed_qty } else { -o.executed_qty }).sum()
    }

    fn pause(&self, paused: bool) {
        for sim in &self.sims {
            sim.pause_market(paused);
        }
    }

    /// Once the daemon's orders have settled: what rests on the venues is what
    /// it knows, and the reverse (an order the venue closed a moment ago may
    /// still be open for the daemon: it is asked again until the two agree).
    fn assert_no_orphans(&self, daemon: &Daemon) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            daemon.settled();
            let venue: std::collections::BTreeSet<String> = self
                .sims
                .iter()
                .flat_map(|s| {
                    s.with_exchange(|ex| {
                        ex.open_orders(ACCOUNT, None).iter().map(|o| o.client_id.clone()).collect::<Vec<_>>()
                    })
                })
                .collect();
            let ours = daemon.open_order_ids();
            if ours == venue {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the daemon's open orders {ours:?} against the venues' {venue:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A market with a move every 50 ms.
fn lively() -> SimConfig {
    let mut c = SimConfig::default();
    c.market.events_per_sec = 20;
    c
}

#[test]
fn market_maker_takes_back_its_quotes_after_a_restart() {
    // regression: strategies_not_restart_safe (the market maker quoted afresh; the dead process's quotes filled later)
    let mm = "name = \"mm\"\nkind = \"market_maker\"\nvenue = \"bn\"\nsymbols = [\"BTCUSDT\"]\n\
              spread_bps = \"20\"\norder_qty = \"0.001\"\nmax_inventory = \"0.01\"\nrequote_bps = \"1\"\n";
    let rig = Rig::new(&["bn"], lively(), mm);
    let mut daemon = rig.start();
    daemon.wait_count("order accepted", 2);
    let mut daemon = rig.restart(daemon);
    // The first requote replaces the quotes taken back.
    daemon.wait_message("order accepted");
    rig.pause(true);
    rig.assert_no_orphans(&daemon);
    let open = rig.sim().with_exchange(|ex| {
        let mut sides = BTreeMap::new();
        for o in ex.open_orders(ACCOUNT, None) {
            *sides.entry(format!("{:?}", o.side)).or_insert(0) += 1;
        }
        sides
    });
    assert!(open.values().all(|n| *n <= 1), "one quote per side on the venue, got {open:?}");
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn twap_keeps_its_schedule_and_never_executes_twice_across_a_restart() {
    // regression: strategies_not_restart_safe (total_qty 0.01 bought 0.01799 over five restarts)
    let twap = "name = \"tw\"\nkind = \"twap\"\nvenue = \"bn\"\nsymbols = [\"BTCUSDT\"]\n\
                side = \"buy\"\ntotal_qty = \"0.004\"\nduration_secs = 4\nslices = 4\n";
    let rig = Rig::new(&["bn"], lively(), twap);
    let mut daemon = rig.start();
    daemon.wait_count("fill", 2);
    daemon.kill();
    // The schedule runs on while the daemon is down: every slice is due when it is back.
    std::thread::sleep(std::time::Duration::from_secs(4));
    let mut daemon = rig.start();
    daemon.wait_count("strategy restored from the journal", 1);
    daemon.wait_message("fill");
    assert_eq!(rig.net_bought(0, "tw"), d("0.004"), "exactly the total: {:#?}", rig.orders_of(0, "tw"));
    assert_eq!(daemon.stop(), Some(0));
    assert_eq!(rig.net_bought(0, "tw"), d("0.004"), "and nothing after");
}

#[test]
fn grid_keeps_one_order_per_level_across_a_restart() {
    let grid = "name = \"g\"\nkind = \"grid\"\nvenue = \"bn\"\nsymbols = [\"BTCUSDT\"]\n\
                lower = \"59800\"\nupper = \"60200\"\nlevels = 41\norder_qty = \"0.001\"\n";
    let rig = Rig::new(&["bn"], lively(), grid);
    let mut daemon = rig.start();
    daemon.wait_count("fill", 2);
    let daemon = rig.restart(daemon);
    rig.pause(true);
    rig.assert_no_orphans(&daemon);
    let per_level = rig.sim().with_exchange(|ex| {
        let mut levels: BTreeMap<String, usize> = BTreeMap::new();
        for o in ex.open_orders(ACCOUNT, None) {
            *levels.entry(o.price.normalize().to_string()).or_default() += 1;
        }
        levels
    });
    assert!(per_level.values().all(|n| *n == 1), "one order per level: {per_level:?}");
    assert!(per_level.len() >= 15, "the grid rests its orders: {per_level:?}");
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn rebalancer_waits_for_the_order_it_had_out_when_it_died() {
    // regression: strategies_not_restart_safe (a rebalance repeated after a restart)
    let rebalancer = "name = \"rb\"\nkind = \"rebalancer\"\nvenue = \"bn\"\nsymbols = [\"BTCUSDT\"]\n\
                      quote = \"USDT\"\ndrift_pct = \"1\"\nmin_trade_notional = \"10\"\ninterval_secs = 1\n\
                      [targets]\nBTC = \"0.5\"\nUSDT = \"0.5\"\n";
    let mut config = lively();
    // 1 BTC (60,000) against 70,000 USDT: buy about 5,000 USDT of BTC.
    config.balances.insert("USDT".into(), d("70000"));
    // The venue takes a second before its matching engine sees a new order.
    config.faults.order_delay_ms = 1_000;
    let rig = Rig::new(&["bn"], config, rebalancer);
    let daemon = rig.start();
    // The rebalance is sent: kill before the venue has done it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while rig.sim().requests("POST /api/v3/order") == 0 {
        assert!(std::time::Instant::now() < deadline, "no rebalance was sent");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    daemon.kill();
    rig.sim().set_faults(FaultConfig::default());
    let mut daemon = rig.start();
    daemon.wait_count("strategy restored from the journal", 1);
    rig.assert_no_orphans(&daemon);
    // Interval 1 s: it looks again several times.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let orders = rig.orders_of(0, "rb");
    assert_eq!(orders.len(), 1, "one rebalance, not two: {orders:#?}");
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn sma_cross_never_holds_more_than_one_lot_across_restarts() {
    let sma = "name = \"sma\"\nkind = \"sma_cross\"\nvenue = \"bn\"\nsymbols = [\"BTCUSDT\"]\n\
               fast_period = 2\nslow_period = 4\norder_qty = \"0.001\"\n";
    let rig = Rig::new(&["bn"], lively(), sma);
    let mut daemon = rig.start();
    daemon.wait_count("fill", 1);
    let mut daemon = rig.restart(daemon);
    daemon.wait_message("fill");
    let daemon = rig.restart(daemon);
    rig.pause(true);
    rig.assert_no_orphans(&daemon);
    let held = rig.net_bought(0, "sma");
    assert!(held >= Decimal::ZERO && held <= d("0.001"), "long-only, one lot at most: {held}");
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn arbitrage_leaves_no_unpaired_leg_across_a_restart() {
    let arb = "name = \"arb\"\nkind = \"arbitrage\"\nvenue = \"bn\"\nsymbols = [\"BTCUSDT\"]\n\
               other_venue = \"bn2\"\norder_qty = \"0.001\"\nfee_bps = \"0\"\nmin_edge_bps = \"0\"\n";
    let rig = Rig::new(&["bn", "bn2"], lively(), arb);
    let mut daemon = rig.start();
    daemon.wait_count("fill", 1);
    let mut daemon = rig.restart(daemon);
    daemon.wait_message("fill");
    rig.pause(true);
    rig.assert_no_orphans(&daemon);
    assert_eq!(daemon.stop(), Some(0));
    // Bought on one venue, sold on the other (or unwound), pair by pair.
    let net = rig.net_bought(0, "arb") + rig.net_bought(1, "arb");
    assert_eq!(net, Decimal::ZERO, "{:#?} {:#?}", rig.orders_of(0, "arb"), rig.orders_of(1, "arb"));
    drop(rig.runtime);
}
