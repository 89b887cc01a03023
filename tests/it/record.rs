//! `[record]`: the daemon writes the market events it receives to hourly
//! recording files while it trades, readable while it runs and complete
//! once it stops.

use tradewind::record::Reader;
use tradewind_strategies::sdk::MarketEvent;

use crate::support::{ConfigDir, Daemon, SIM_MAIN, TOKEN, sma_file};

/// Every event recorded under `dir` so far, in file order.
fn recorded(dir: &std::path::Path) -> Vec<(i64, MarketEvent)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
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
