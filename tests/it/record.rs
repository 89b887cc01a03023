//! `[record]`: the daemon writes the market events it receives to hourly
//! recording files while it trades, readable while it runs and complete
//! once it stops.

use tradewind::record::Reader;
use tradewind_strategies::sdk::MarketEvent;

use crate::support::{ConfigDir, Daemon, SIM_MAIN, TOKEN, eventually, sma_file};

/// Every event recorded under `dir` so far, in file order.
fn recorded(dir: &std::path::Path) -> Vec<(i64, MarketEvent)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<_> =
        entries.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "twr")).collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let mut reader = Reader::open(&file).unwrap();
        while let Some((at, event)) = reader.next_event().unwrap() {
            out.push((at, event.clone()));
        }
    }
    out
}

#[test]
fn the_daemon_records_what_its_strategies_receive_while_it_trades() {
    let dir = ConfigDir::new(&format!("{SIM_MAIN}[record]\ndir = \"recordings\"\n"), &[("a.toml", &sma_file("a"))]);
    let recordings = dir.path().join("recordings");
    let mut daemon = Daemon::start(&dir, &[("TRADEWIND_API_TOKEN", TOKEN)]);
    // Written every second: readable while the daemon runs.
    let trades =
        |events: &[(i64, MarketEvent)]| events.iter().filter(|(_, e)| matches!(e, MarketEvent::Trade(_))).count();
    assert!(daemon.until(|| trades(&recorded(&recordings)) >= 20), "trades recorded while running");
    daemon.drain();
    assert_eq!(daemon.stop(), Some(0));
    let events = recorded(&recordings);
    assert!(events.windows(2).all(|w| w[0].0 <= w[1].0), "in the order they were received");
    for (_, event) in &events {
        assert_eq!(event.venue().as_str(), "sim");
        if let MarketEvent::Trade(t) = event {
            assert_eq!(t.symbol.as_str(), "BTCUSDT");
            assert!(t.price.get() > rust_decimal::Decimal::ZERO && t.qty.get() > rust_decimal::Decimal::ZERO);
        }
    }
    assert!(events.iter().any(|(_, e)| matches!(e, MarketEvent::Connectivity(c) if c.up)), "the feed coming up too");
}

#[test]
fn tradewind_record_records_what_the_strategies_subscribe_to_without_trading() {
    use std::io::BufRead;
    let dir = ConfigDir::new(SIM_MAIN, &[("a.toml", &sma_file("a"))]);
    let out = dir.path().join("out");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tradewind"))
        .args(["--log-format", "json", "record", "--config"])
        .arg(dir.main_file())
        .arg("--out")
        .arg(&out)
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Logs on a thread of their own, so the pipe never fills.
    let stderr = child.stderr.take().unwrap();
    let log =
        std::thread::spawn(move || std::io::BufReader::new(stderr).lines().map_while(Result::ok).collect::<Vec<_>>());
    let trades = || recorded(&out).iter().filter(|(_, e)| matches!(e, MarketEvent::Trade(_))).count();
    assert!(eventually(|| trades() >= 10), "no trades recorded within a minute");
    assert!(child.try_wait().unwrap().is_none(), "the recorder is still running");
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let lines = log.join().unwrap();
    assert!(lines.iter().any(|l| l.contains("\"message\":\"recording\"") && l.contains("BTCUSDT:trades")), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("order accepted")), "nothing traded");
    let events = recorded(&out);
    assert!(events.iter().all(|(_, e)| e.venue().as_str() == "sim"));
    assert!(trades() >= 10);
}

#[test]
fn tradewind_import_binance_writes_a_recording_and_names_a_bad_argument() {
    let out = tempfile::tempdir().unwrap();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/binance");
    let import = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tradewind"))
            .args(["import", "binance", "--venue", "binance", "--symbol", "BTCUSDT", "--out"])
            .arg(out.path())
            .args(args)
            .output()
            .unwrap()
    };
    let files = [data.join("BTCUSDT-trades-2024-12-31.csv"), data.join("BTCUSDT-trades-2025-01-01.csv")];
    let done = import(&["--kind", "trades", files[0].to_str().unwrap(), files[1].to_str().unwrap()]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(String::from_utf8_lossy(&done.stdout).contains("7 events into"));
    let events = recorded(out.path());
    assert_eq!(events.len(), 7);
    assert!(events.iter().all(|(_, e)| matches!(e, MarketEvent::Trade(t) if t.venue.as_str() == "binance")));
    let bad = import(&["--kind", "klines", "--interval", "7m", files[0].to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--interval \"7m\" is not one of Binance's"));
}

#[test]
fn tradewind_import_tardis_gathers_book_rows_into_messages() {
    let out = tempfile::tempdir().unwrap();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tardis/binance_incremental_book_L2_2025-01-01_BTCUSDT.csv");
    let done = std::process::Command::new(env!("CARGO_BIN_EXE_tradewind"))
        .args([
            "import",
            "tardis",
            "--kind",
            "incremental-book-l2",
            "--venue",
            "binance",
            "--symbol",
            "BTCUSDT",
            "--out",
        ])
        .arg(out.path())
        .arg(&file)
        .output()
        .unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let events = recorded(out.path());
    let snapshots = events.iter().filter(|(_, e)| matches!(e, MarketEvent::BookSnapshot(_))).count();
    assert_eq!((events.len(), snapshots), (5, 2));
}
