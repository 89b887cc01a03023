//! A new order's round trip over loopback: the daemon's REST client (signing,
//! rate limiter, HTTP, JSON) against the built-in simulator (parsing,
//! authentication, matching, response). Target: p50 ≤ 200 µs.
//!
//! The order is an IOC limit far from the market, so it expires at once and
//! the book does not grow over millions of iterations.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tokio_util::sync::CancellationToken;
use tradewind::execution::rate_limit::RateLimiter;
use tradewind::secret::Secret;
use tradewind::venue::binance::Limits;
use tradewind::venue::binance::rest::{Credentials, RestClient};
use tradewind::venue::binance::sign::Signer;
use tradewind::venue::sim::{self, SimConfig};
use tradewind_strategies::sdk::{ClientOrderId, NewOrder, OrderKind, Price, Qty, Side, Symbol, TimeInForce, VenueId};

fn roundtrip(c: &mut Criterion) {
    tradewind::venue::install_tls_provider();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut config = SimConfig::default();
    config.limits.request_weight_per_minute = u32::MAX / 2;
    config.limits.orders_per_10s = u32::MAX / 2;
    config.limits.orders_per_day = u32::MAX / 2;
    // A slow background market, so the benchmark measures requests, not the market.
    config.market.events_per_sec = 1;
    let options = sim::SimOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        seed: 1,
        config,
        accounts: vec![("bench".into(), Secret::new("bench-secret"))],
    };
    let sim = rt.block_on(sim::start(options, CancellationToken::new())).unwrap();
    let limiter = Arc::new(RateLimiter::new(
        Limits { weight_per_minute: u32::MAX / 2, orders_per_10s: u32::MAX / 2, orders_per_day: u32::MAX / 2 }
            .budgets(),
    ));
    let credentials =
        Credentials { api_key: Secret::new("bench"), signer: Signer::hmac(&Secret::new("bench-secret")).unwrap() };
    let rest = RestClient::new(&sim.rest_url(), Some(credentials), 5000, Duration::from_secs(10), limiter).unwrap();
    let order = NewOrder {
        venue: VenueId::new("sim").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Buy,
        qty: Qty::new("0.01".parse().unwrap()),
        kind: OrderKind::Limit { price: Price::new("1000".parse().unwrap()), tif: TimeInForce::Ioc },
    };
    let mut seq = 0u64;
    let mut group = c.benchmark_group("rest_roundtrip");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("new_order_ioc", |b| {
        b.iter(|| {
            seq += 1;
            let id = ClientOrderId::new(&format!("bench-{seq}")).unwrap();
            rt.block_on(rest.new_order(&id, &order, None, None)).unwrap()
        });
    });
    group.bench_function("server_time", |b| b.iter(|| rt.block_on(rest.sync_clock()).unwrap()));
    group.finish();
}

criterion_group!(benches, roundtrip);
criterion_main!(benches);
