//! The chaos run: several strategies on two accounts trade against the
//! simulator while it drops every WebSocket connection (with and without a
//! `serverShutdown` notice first), answers REST with 5xx, accepts orders and
//! then holds their answer past the client's timeout, sends user events twice
//! and out of order, loses depth diffs, moves its clock (−3 s, +3 s, +8 s),
//! tightens its rate limits at run time, and the daemon is SIGKILLed and
//! restarted. At the end, at rest, everything must agree with the venue's
//! ledger to the last digit: balances, open orders, positions; no client
//! order id reached the venue twice, the twap did not execute more than its
//! total, the rebalancer never traded twice in a row, no 418, and each
//! stream was down at most 5 % of the time.
//!
//! `TRADEWIND_CHAOS_SECS` sets the length (default 60; the release check runs
//! `TRADEWIND_CHAOS_SECS=600 cargo test --test it chaos -- --nocapture`);
//! `TRADEWIND_CHAOS_LOG=FILE` keeps every line the daemons logged.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;
use tradewind::secret::Secret;
use tradewind::venue::sim::config::{FaultConfig, LimitConfig};
use tradewind::venue::sim::exchange::Side as SimSide;
use tradewind::venue::sim::{self, SimConfig, SimHandle, SimOptions};

use crate::support::{ConfigDir, Daemon, TOKEN, dec, owned_by};

/// The two accounts: the market maker, grid and twap trade the first, the rebalancer the second.
const A: u32 = 2;
const B: u32 = 3;
const B_KEY: &str = "chaos-b-key";
const B_SECRET: &str = "chaos-b-secret";

fn venues(sim: &SimHandle) -> String {
    let rest = sim.rest_url();
    let host = rest.trim_start_matches("http://").to_owned();
    let venue = |name: &str, key: &str, secret: &str| {
        format!(
            "[[venues]]\nname = \"{name}\"\nkind = \"binance\"\nenvironment = \"testnet\"\n\
             rest_url = \"{rest}\"\nstream_url = \"ws://{host}\"\nws_api_url = \"ws://{host}/ws-api/v3\"\n\
             [venues.credentials]\napi_key_env = \"{key}\"\napi_secret_env = \"{secret}\"\n"
        )
    };
    venue("bn", "TW_A_KEY", "TW_A_SECRET") + &venue("bnb", "TW_B_KEY", "TW_B_SECRET")
}

fn start(dir: &ConfigDir) -> Daemon {
    Daemon::start(
        dir,
        &[
            ("TW_A_KEY", sim::DEMO_API_KEY),
            ("TW_A_SECRET", sim::DEMO_API_SECRET),
            ("TW_B_KEY", B_KEY),
            ("TW_B_SECRET", B_SECRET),
            ("TRADEWIND_API_TOKEN", TOKEN),
        ],
    )
}

/// The fault settings of phase `n` (they change every few seconds).
fn phase(n: usize) -> (FaultConfig, &'static str) {
    let base = FaultConfig {
        drop_ws_every_secs: 30,
        shutdown_notice_every_secs: 45,
        duplicate_user_events: 0.2,
        reorder_user_events: 0.1,
        drop_depth_diffs: 0.02,
        ..FaultConfig::default()
    };
    match n % 6 {
        0 => (base, "drops, notices, duplicated and reordered events, lost depth diffs"),
        1 => (FaultConfig { rest_errors: 0.05, fail_after_accept: 0.1, ..base }, "and 5xx"),
        2 => (
            FaultConfig { timeout_after_accept: 0.1, timeout_after_accept_ms: 12_000, ..base },
            "and accepted orders answered after the client gave up",
        ),
        3 => (FaultConfig { clock_offset_ms: 8_000, ..base }, "and the venue's clock 8 s ahead"),
        4 => (FaultConfig { clock_offset_ms: -3_000, ..base }, "and 3 s behind"),
        _ => (FaultConfig { clock_offset_ms: 3_000, ..base }, "and 3 s ahead"),
    }
}

/// Appends what `daemon` logged to the file `TRADEWIND_CHAOS_LOG` names, if set.
fn keep_log(daemon: &mut Daemon) {
    if let Some(path) = std::env::var_os("TRADEWIND_CHAOS_LOG") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
        for line in daemon.drain() {
            writeln!(file, "{line}").unwrap();
        }
    }
}

/// Down time of each stream so far (ms, by its labels) from the daemon's metrics.
fn down_ms(daemon: &Daemon) -> BTreeMap<String, u64> {
    let (status, text) = crate::cli::http(&daemon.ops, "GET", "/metrics", None);
    assert_eq!(status, 200);
    text.lines()
        .filter_map(|l| l.strip_prefix("tradewind_stream_down_milliseconds_total"))
        .filter_map(|l| {
            let (labels, value) = l.rsplit_once(' ')?;
            Some((labels.to_owned(), value.parse::<f64>().ok()? as u64))
        })
        .collect()
}

/// Adds one daemon's down times to the totals.
fn add(totals: &mut BTreeMap<String, u64>, more: BTreeMap<String, u64>) {
    for (stream, ms) in more {
        *totals.entry(stream).or_default() += ms;
    }
}

#[test]
fn chaos_run_ends_equal_to_the_venue() {
    let secs: u64 = std::env::var("TRADEWIND_CHAOS_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut config = SimConfig::default();
    config.market.events_per_sec = 20;
    let options = SimOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        seed: 1919,
        config,
        accounts: vec![
            (sim::DEMO_API_KEY.into(), Secret::new(sim::DEMO_API_SECRET)),
            (B_KEY.into(), Secret::new(B_SECRET)),
        ],
    };
    let sim = runtime.block_on(sim::start(options, CancellationToken::new())).unwrap();
    let totals = |account| -> BTreeMap<String, Decimal> {
        sim.with_exchange(|ex| ex.ledger().account(account).map(|(a, b)| (a.to_owned(), b.free + b.locked)).collect())
    };
    let (initial_a, initial_b) = (totals(A), totals(B));
    let twap_secs = secs * 6 / 10;
    let strategies = [
        (
            "mm.toml",
            "name = \"mm\"\nkind = \"market_maker\"\nvenue = \"bn\"\nsymbols = [\"BTCUSDT\"]\nspread_bps = \"10\"\n\
             order_qty = \"0.001\"\nmax_inventory = \"0.01\"\nrequote_bps = \"2\"\nbook_levels = 5\n"
                .to_owned(),
        ),
        (
            "grid.toml",
            "name = \"g\"\nkind = \"grid\"\nvenue = \"bn\"\nsymbols = [\"ETHUSDT\"]\nlower = \"2970\"\n\
             upper = \"3030\"\nlevels = 13\norder_qty = \"0.01\"\n"
                .to_owned(),
        ),
        (
            "twap.toml",
            format!(
                "name = \"tw\"\nkind = \"twap\"\nvenue = \"bn\"\nsymbols = [\"BTCUSDT\"]\nside = \"buy\"\n\
                 total_qty = \"0.02\"\nduration_secs = {twap_secs}\nslices = 20\n"
            ),
        ),
        (
            "rb.toml",
            "name = \"rb\"\nkind = \"rebalancer\"\nvenue = \"bnb\"\nsymbols = [\"BTCUSDT\"]\nquote = \"USDT\"\n\
             drift_pct = \"1\"\nmin_trade_notional = \"20\"\ninterval_secs = 5\n[targets]\nBTC = \"0.4\"\nUSDT = \"0.6\"\n"
                .to_owned(),
        ),
    ];
    let files: Vec<(&str, &str)> = strategies.iter().map(|(f, t)| (*f, t.as_str())).collect();
    let main = format!(
        "[journal]\npath = \"journal.db\"\n[ops]\nlisten = \"127.0.0.1:0\"\n[risk]\nmax_open_orders = 40\n{}",
        venues(&sim)
    );
    let dir = ConfigDir::new(&main, &files);

    let started = Instant::now();
    let end = started + Duration::from_secs(secs);
    let kills = 4;
    let mut rng = tradewind::rng::Rng::new(7);
    let mut kill_at: Vec<Instant> = (1..=kills)
        .map(|k| started + Duration::from_secs(secs * k / (kills + 1)) + Duration::from_millis(rng.below(3_000)))
        .collect();
    kill_at.reverse();
    let (mut down, mut up) = (BTreeMap::new(), Duration::ZERO);
    let mut daemon = start(&dir);
    let mut life = Instant::now();
    let mut phase_n = 0;
    let mut limits_lowered = false;
    while Instant::now() < end {
        let (faults, what) = phase(phase_n);
        eprintln!("chaos {:>4} s: {what}", started.elapsed().as_secs());
        sim.set_faults(faults);
        phase_n += 1;
        if !limits_lowered && started.elapsed() > Duration::from_secs(secs / 3) {
            // The venue tightens its limits without notice.
            sim.set_limits(LimitConfig {
                orders_per_10s: 20,
                request_weight_per_minute: 3_000,
                ..LimitConfig::default()
            });
            limits_lowered = true;
            eprintln!("chaos {:>4} s: rate limits lowered", started.elapsed().as_secs());
        }
        // Each phase lasts a few seconds; kills come at their times within it.
        let phase_end = (Instant::now() + Duration::from_secs(5)).min(end);
        while Instant::now() < phase_end {
            if kill_at.last().is_some_and(|t| Instant::now() >= *t) {
                kill_at.pop();
                add(&mut down, down_ms(&daemon));
                up += life.elapsed();
                keep_log(&mut daemon);
                daemon.kill();
                eprintln!("chaos {:>4} s: SIGKILL, restart", started.elapsed().as_secs());
                daemon = start(&dir);
                life = Instant::now();
            }
            daemon.drain();
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // At rest: no more faults, the market still, the daemon's view settled.
    sim.set_faults(FaultConfig::default());
    sim.pause_market(true);
    add(&mut down, down_ms(&daemon));
    let up = (up + life.elapsed()).as_millis() as f64;
    // The stream that was down longest, against the time daemons ran.
    let (worst, ratio) = down
        .iter()
        .map(|(stream, ms)| (stream.clone(), *ms as f64 / up))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("the streams' down times are exported");
    keep_log(&mut daemon);
    let (limited, banned) = (sim.limited_responses(), sim.banned_responses());
    eprintln!(
        "chaos: {secs} s, {kills} kills, the most down stream {worst} down {:.2} % of the time, \
         {limited} responses 429/418, {banned} 418",
        ratio * 100.0
    );
    assert_eq!(banned, 0, "the venue banned the daemon");
    assert!(ratio <= 0.05, "{worst} down {:.2} % of the time", ratio * 100.0);
    let agreed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        agree(&sim, &daemon, &[(A, "bn", &initial_a), (B, "bnb", &initial_b)]);
    }));
    if let Err(panic) = agreed {
        keep_log(&mut daemon);
        std::panic::resume_unwind(panic);
    }

    // Ids, the twap, the rebalancer.
    let orders = sim.with_exchange(|ex| {
        let mut all: Vec<_> = ex.orders_of(A).into_iter().cloned().collect();
        all.extend(ex.orders_of(B).into_iter().cloned());
        all
    });
    let mut ids: Vec<&str> = orders.iter().map(|o| o.client_id.as_str()).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "a client order id reached the venue twice");
    let bought = |name: &str| -> Decimal {
        orders
            .iter()
            .filter(|o| owned_by(&o.client_id, name))
            .map(|o| if o.side == SimSide::Buy { o.executed_qty } else { -o.executed_qty })
            .sum()
    };
    let twap = bought("tw");
    assert!(twap <= "0.02".parse().unwrap(), "the twap bought {twap} of 0.02");
    let mut rebalances: Vec<(i64, SimSide)> =
        orders.iter().filter(|o| owned_by(&o.client_id, "rb")).map(|o| (o.time, o.side)).collect();
    rebalances.sort_by_key(|r| r.0);
    for pair in rebalances.windows(2) {
        assert!(
            pair[1].0 - pair[0].0 >= 1_000 || pair[0].1 != pair[1].1,
            "two rebalance orders the same way within a second: {rebalances:?}"
        );
    }
    eprintln!(
        "chaos: {} orders at the venue, twap {twap} of 0.02, {} rebalance orders",
        orders.len(),
        rebalances.len()
    );
    assert_eq!(daemon.stop(), Some(0));
    drop(runtime);
}

/// The daemon's open orders, balances and positions against the venue's ledger,
/// each account given as (account, venue name, its balances at the start).
/// Asked again until they agree (events still in flight at the pause), then exactly.
fn agree(sim: &SimHandle, daemon: &Daemon, accounts: &[(u32, &str, &BTreeMap<String, Decimal>)]) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        daemon.settled();
        match differences(sim, daemon, accounts) {
            None => return,
            Some(why) => {
                assert!(
                    Instant::now() < deadline,
                    "the daemon never agreed with the venue: {why} (account read {} times over REST)",
                    sim.requests("GET /api/v3/account")
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

fn differences(
    sim: &SimHandle,
    daemon: &Daemon,
    accounts: &[(u32, &str, &BTreeMap<String, Decimal>)],
) -> Option<String> {
    let open: std::collections::BTreeSet<String> = accounts
        .iter()
        .flat_map(|(a, _, _)| {
            sim.with_exchange(|ex| ex.open_orders(*a, None).iter().map(|o| o.client_id.clone()).collect::<Vec<_>>())
        })
        .collect();
    let ours = daemon.open_order_ids();
    if ours != open {
        return Some(format!("open orders: ours {ours:?}, the venue's {open:?}"));
    }
    let balances = daemon.get("/v1/balances");
    let positions = daemon.get("/v1/positions");
    for (account, venue, initial) in accounts {
        let ledger: BTreeMap<String, (Decimal, Decimal)> = sim.with_exchange(|ex| {
            ex.ledger()
                .account(*account)
                .filter(|(_, b)| !(b.free + b.locked).is_zero())
                .map(|(a, b)| (a.to_owned(), (b.free.normalize(), b.locked.normalize())))
                .collect()
        });
        let theirs: BTreeMap<String, (Decimal, Decimal)> = balances
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["venue"] == *venue)
            .map(|b| {
                (b["asset"].as_str().unwrap().to_owned(), (dec(&b["free"]).normalize(), dec(&b["locked"]).normalize()))
            })
            .filter(|(_, (f, l))| !(f + l).is_zero())
            .collect();
        if theirs != ledger {
            return Some(format!("{venue} balances: ours {theirs:?}, the venue's {ledger:?}"));
        }
        // Positions add up to what each asset held changed by, to the last digit: the
        // base assets' quantities, and the quote (realised − cost − fees) over all of them.
        let mut change: BTreeMap<String, Decimal> = BTreeMap::new();
        for p in positions.as_array().unwrap().iter().filter(|p| p["venue"] == *venue) {
            let symbol = p["symbol"].as_str().unwrap();
            let base = symbol.strip_suffix("USDT").unwrap_or(symbol).to_owned();
            *change.entry(base).or_default() += dec(&p["qty"]);
            *change.entry("USDT".into()).or_default() += dec(&p["realized_pnl"]) - dec(&p["cost"]) - dec(&p["fees"]);
        }
        for (asset, delta) in change {
            let held = ledger.get(&asset).map_or(Decimal::ZERO, |(f, l)| f + l);
            let venue_delta = held - initial.get(&asset).copied().unwrap_or_default();
            if venue_delta != delta {
                return Some(format!("{venue} {asset}: positions say {delta}, the venue's ledger {venue_delta}"));
            }
        }
    }
    None
}
