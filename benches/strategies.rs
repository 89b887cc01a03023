//! Each built-in strategy's `on_event` on a trade or quote event, with its
//! state warmed up. Target (strategies issue): ≤ 1 µs median per event.

use std::hint::black_box;
use std::str::FromStr;

use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;
use tradewind_strategies::sdk::{
    Asset, Balance, Intents, MarketEvent, Price, Qty, Quote, Side, Strategy, Symbol, TestContext, Timestamp, Trade,
    VenueId, testing,
};
use tradewind_strategies::{Instance, StrategyParams};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn ctx() -> TestContext {
    let (a, b) = (VenueId::new("sim").unwrap(), VenueId::new("sim_b").unwrap());
    let mut c = TestContext::default()
        .with_instrument(a, testing::spec("BTC", "USDT", "0.00001"))
        .with_instrument(a, testing::spec("ETH", "USDT", "0.00001"))
        .with_instrument(b, testing::spec("BTC", "USDT", "0.00001"));
    for (asset, amount) in [("BTC", "1"), ("ETH", "10"), ("USDT", "100000")] {
        c.balances.insert((a, Asset::new(asset).unwrap()), Balance { free: d(amount), locked: Decimal::ZERO });
    }
    c
}

fn quote(venue: &str, i: u64) -> MarketEvent {
    // Small oscillation around 60000 (inside every strategy's requote band).
    let mid = d("60000") + Decimal::new((i % 7) as i64, 2);
    MarketEvent::Quote(Quote {
        venue: VenueId::new(venue).unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        bid_price: Price::new(mid - d("0.01")),
        bid_qty: Qty::new(d("1.5")),
        ask_price: Price::new(mid + d("0.01")),
        ask_qty: Qty::new(d("0.7")),
        update_id: i,
    })
}

fn trade(i: u64) -> MarketEvent {
    MarketEvent::Trade(Trade {
        venue: VenueId::new("sim").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        trade_id: i.into(),
        price: Price::new(d("60000") + Decimal::new((i % 13) as i64, 2)),
        qty: Qty::new(d("0.01")),
        aggressor: Side::Buy,
        time: Timestamp(i as i64),
    })
}

fn build(kind: &str, toml_params: &str, symbols: &[&str]) -> Box<dyn Strategy> {
    let value: toml::Value = toml::from_str(toml_params).unwrap();
    let params = StrategyParams::deserialize_kind(kind, value).unwrap();
    let instance = Instance {
        name: kind.chars().take(16).collect(),
        venue: VenueId::new("sim").unwrap(),
        symbols: symbols.iter().map(|s| Symbol::new(s).unwrap()).collect(),
    };
    assert!(params.validate(&instance).is_empty());
    params.build(&instance)
}

fn strategies(c: &mut Criterion) {
    let cases: Vec<(&str, Box<dyn Strategy>, bool)> = vec![
        (
            "sma_cross/trade",
            build("sma_cross", "fast_period = 10\nslow_period = 30\norder_qty = \"0.001\"", &["BTCUSDT"]),
            true,
        ),
        (
            "grid/quote",
            build("grid", "lower = \"59000\"\nupper = \"61000\"\nlevels = 21\norder_qty = \"0.001\"", &["BTCUSDT"]),
            false,
        ),
        (
            "market_maker/quote",
            build(
                "market_maker",
                "spread_bps = \"4\"\norder_qty = \"0.001\"\nmax_inventory = \"0.01\"\nskew_bps = \"5\"\nrequote_bps = \"2\"\nmicroprice = true",
                &["BTCUSDT"],
            ),
            false,
        ),
        (
            "rebalancer/quote",
            build(
                "rebalancer",
                "quote = \"USDT\"\ndrift_pct = \"1\"\nmin_trade_notional = \"20\"\n[targets]\nBTC = \"0.5\"\nUSDT = \"0.5\"",
                &["BTCUSDT"],
            ),
            false,
        ),
        (
            "twap/quote",
            build("twap", "side = \"buy\"\ntotal_qty = \"1\"\nduration_secs = 60\nslices = 6", &["BTCUSDT"]),
            false,
        ),
        (
            "arbitrage/quote",
            build(
                "arbitrage",
                "other_venue = \"sim_b\"\norder_qty = \"0.001\"\nfee_bps = \"10\"\nmin_edge_bps = \"5\"",
                &["BTCUSDT"],
            ),
            false,
        ),
    ];
    let ctx = ctx();
    let mut group = c.benchmark_group("strategy_on_event");
    for (name, mut strategy, trades) in cases {
        let mut out = Intents::new("bench", 1);
        // Warm up: fill windows, lay out grids, set quotes.
        for i in 0..100 {
            let event = if trades { trade(i) } else { quote(if i.is_multiple_of(2) { "sim" } else { "sim_b" }, i) };
            strategy.on_event(&ctx, &event, &mut out).unwrap();
            out.clear();
        }
        let mut i = 100u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                let event = if trades { trade(i) } else { quote(if i.is_multiple_of(2) { "sim" } else { "sim_b" }, i) };
                strategy.on_event(&ctx, black_box(&event), &mut out).unwrap();
                out.clear();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, strategies);
criterion_main!(benches);
