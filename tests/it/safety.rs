//! Operator safety with a running daemon: one daemon per journal, a second
//! process on the account is named, and the grid rebuilds after every lever.

use crate::support::{ConfigDir, Daemon, SIM_MAIN, TOKEN, binance_main, start_with};

const GRID: &str = "name = \"g\"\nkind = \"grid\"\nvenue = \"sim\"\nsymbols = [\"ETHUSDT\"]\n\
                    lower = \"2985\"\nupper = \"3015\"\nlevels = 8\norder_qty = \"0.01\"\n";

/// Asks the daemon for its open orders until `done` holds for their ids.
fn wait_orders(daemon: &Daemon, what: &str, done: impl Fn(&std::collections::BTreeSet<String>) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let ids = daemon.open_order_ids();
        if done(&ids) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: open orders {ids:?}");
        // Another process: asking again is the only way to see its state change.
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn the_grid_rebuilds_after_halt_pause_and_an_operator_cancel() {
    // regression: grid_never_rebuilds (active, 0 open orders, indefinitely)
    let dir = ConfigDir::new(SIM_MAIN, &[("g.toml", GRID)]);
    let daemon = Daemon::start(&dir, &[("TRADEWIND_API_TOKEN", TOKEN)]);
    let full = |ids: &std::collections::BTreeSet<String>| ids.len() >= 3;
    wait_orders(&daemon, "the grid is laid", full);
    for (stop, start) in [("/v1/halt", "/v1/resume"), ("/v1/strategies/g/pause", "/v1/strategies/g/resume")] {
        assert_eq!(daemon.call("POST", stop, TOKEN).0, 200, "{stop}");
        wait_orders(&daemon, stop, |ids| ids.is_empty());
        assert_eq!(daemon.call("POST", start, TOKEN).0, 200, "{start}");
        wait_orders(&daemon, start, full);
    }
    let before = daemon.open_order_ids();
    let victim = before.iter().next().unwrap().clone();
    assert_eq!(daemon.call("POST", &format!("/v1/orders/{victim}/cancel"), TOKEN).0, 200);
    wait_orders(&daemon, "the cancelled level is placed again", |ids| {
        !ids.contains(&victim) && ids.len() >= before.len()
    });
    // regression: log_fields (two "message" keys; accepted and closed lines without symbol or strategy)
    let mut daemon = daemon;
    let lines = daemon.drain().to_vec();
    for line in &lines {
        assert_eq!(line.matches("\"message\":").count(), 1, "one message per line: {line}");
    }
    for message in ["order accepted", "order closed"] {
        let of: Vec<&String> = lines.iter().filter(|l| l.contains(&format!("\"message\":\"{message}\""))).collect();
        assert!(!of.is_empty(), "no {message} line");
        for line in of {
            assert!(line.contains("\"symbol\":\"ETHUSDT\"") && line.contains("\"strategy\":\"g\""), "{line}");
            assert!(!line.contains("{ id:"), "no Rust debug text: {line}");
        }
    }
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn a_second_daemon_on_the_same_journal_refuses_naming_the_first() {
    // regression: two_daemons_one_journal (both traded; the second cancelled the first one's grid)
    let dir = ConfigDir::new(SIM_MAIN, &[("g.toml", GRID)]);
    let first = Daemon::start(&dir, &[("TRADEWIND_API_TOKEN", TOKEN)]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tradewind"))
        .args(["--log-format", "json", "run", "--config"])
        .arg(dir.main_file())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("is in use by another tradewind process (pid {})", first.child.id())), "{stderr}");
    // The first one trades on, untouched.
    assert!(!first.open_order_ids().is_empty());
    assert_eq!(first.stop(), Some(0));
}

#[test]
fn a_second_process_trading_the_account_under_our_name_is_reported() {
    use tradewind::venue::sim::{self, SimOptions};
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let options = SimOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        seed: 9,
        config: sim::SimConfig::default(),
        accounts: vec![],
    };
    let sim = runtime.block_on(sim::start(options, tokio_util::sync::CancellationToken::new())).unwrap();
    let grid = GRID.replace("venue = \"sim\"", "venue = \"bn\"");
    // Two copies of one configuration, each with its own journal, on one account.
    let (a, b) = (
        ConfigDir::new(&binance_main(&sim, ""), &[("g.toml", &grid)]),
        ConfigDir::new(&binance_main(&sim, ""), &[("g.toml", &grid)]),
    );
    let first = start_with(&a, &[]);
    wait_orders(&first, "the first grid is laid", |ids| ids.len() >= 3);
    let mut second = start_with(&b, &[]);
    second.wait_line("the warning about another process", |l| {
        l.contains("another process is trading this account under the same name") && l.contains("\"level\":\"ERROR\"")
    });
    assert_eq!(second.stop(), Some(0));
    assert_eq!(first.stop(), Some(0));
}
