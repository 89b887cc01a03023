//! Engine dispatch: one trade event fanned out to N no-op strategy instances.
//! Target (issue: foundation): ≤ 150 ns per event per strategy.

use std::hint::black_box;
use std::str::FromStr;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use tradewind::config::RiskConfig;
use tradewind::engine::Engine;
use tradewind::risk::RiskManager;
use tradewind_strategies::sdk::{
    Context, Intents, MarketEvent, Price, Qty, Side, Strategy, StrategyError, Subscription, Symbol, Timestamp, Trade,
    VenueId,
};

struct NoOp {
    venue: VenueId,
    symbol: Symbol,
}

impl Strategy for NoOp {
    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription {
            venue: self.venue,
            symbols: vec![self.symbol],
            trades: true,
            quotes: false,
            book: false,
            klines: None,
        }]
    }

    fn on_event(&mut self, _ctx: &dyn Context, event: &MarketEvent, _out: &mut Intents) -> Result<(), StrategyError> {
        black_box(event);
        Ok(())
    }
}

fn dispatch(c: &mut Criterion) {
    let venue = VenueId::new("sim").unwrap();
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let event = MarketEvent::Trade(Trade {
        venue,
        symbol,
        trade_id: 1.into(),
        price: Price::new(Decimal::from_str("64000.10").unwrap()),
        qty: Qty::new(Decimal::from_str("0.00100").unwrap()),
        aggressor: Side::Buy,
        time: Timestamp(1_700_000_000_000),
    });
    let mut group = c.benchmark_group("engine_dispatch_trade");
    for n in [1usize, 10, 100] {
        let mut engine = Engine::new(RiskManager::new(RiskConfig::default()));
        for i in 0..n {
            engine.add_instance(&format!("s{i}"), Box::new(NoOp { venue, symbol }), 1);
        }
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| engine.on_market_event(black_box(&event)));
        });
    }
    group.finish();
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
