//! Binance connector hot paths. Targets: building and signing a new-order
//! request ≤ 1.5 µs (HMAC-SHA256 with a pre-keyed state); raw frame to
//! event: trade and bookTicker ≤ 300 ns, a 10-level depth diff ≤ 1.5 µs;
//! applying diffs ≥ 5 million level updates/s.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::Duration;
use tradewind::secret::Secret;
use tradewind::venue::binance::parse::parse_combined;
use tradewind::venue::book::LocalBook;

use tradewind::execution::rate_limit::RateLimiter;
use tradewind::venue::binance::Limits;
use tradewind::venue::binance::rest::{Credentials, RestClient};
use tradewind::venue::binance::sign::{Query, Signer};
use tradewind_strategies::sdk::{
    BookDelta, ClientOrderId, Level, NewOrder, OrderKind, Price, Qty, Side, Symbol, TimeInForce, Timestamp, VenueId,
};

fn sign_new_order(c: &mut Criterion) {
    let signer =
        Signer::hmac(&Secret::new("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j")).unwrap();
    c.bench_function("binance_build_and_sign_new_order", |b| {
        b.iter(|| {
            let mut q = Query::new();
            q.push("symbol", black_box("BTCUSDT"))
                .push("side", "BUY")
                .push("type", "LIMIT")
                .push("timeInForce", "GTC")
                .push("quantity", black_box("0.00100"))
                .push("price", black_box("64000.10"))
                .push("newClientOrderId", black_box("tw-sma_btc-1764280000123"))
                .push("recvWindow", 5000)
                .push("timestamp", black_box(1_764_280_000_123u64));
            black_box(q.signed(&signer))
        });
    });
}

/// What the order path does in the engine's call once a new order is clear
/// to go: the rate budget charged, the new-order query from the strategy's
/// order, signed, and the HTTP client's request (`RestClient::prepare_new_order_now`).
fn new_order_request(c: &mut Criterion) {
    tradewind::venue::install_tls_provider();
    let credentials = Credentials {
        api_key: Secret::new("vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"),
        signer: Signer::hmac(&Secret::new("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j")).unwrap(),
    };
    // Budgets no run of this benchmark can use up.
    let limits = Limits { weight_per_minute: u32::MAX / 2, orders_per_10s: u32::MAX / 2, orders_per_day: u32::MAX / 2 };
    let limiter = Arc::new(RateLimiter::new(limits.budgets()));
    let rest =
        RestClient::new("https://api.binance.com", Some(credentials), 5000, Duration::from_secs(10), limiter).unwrap();
    let order = NewOrder {
        venue: VenueId::new("binance").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Buy,
        qty: Qty::new(Decimal::new(100, 5)),
        kind: OrderKind::Limit { price: Price::new(Decimal::new(6_400_010, 2)), tif: TimeInForce::Gtc },
    };
    let id = ClientOrderId::new("tw-sma_btc-1764280000123").unwrap();
    c.bench_function("binance_new_order_http_request", |b| {
        b.iter(|| black_box(rest.prepare_new_order_now(black_box(&id), black_box(&order), None).unwrap().unwrap()))
    });
}

/// The frames the parse benchmarks read: trade, bookTicker and a 10×10 depth diff.
fn frames() -> [(&'static str, String); 3] {
    let trade = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1764280000123,"s":"BTCUSDT","t":5123456789,"p":"64000.10000000","q":"0.00120000","T":1764280000122,"m":true,"M":true}}"#;
    let book_ticker = r#"{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"64000.10000000","B":"1.21000000","a":"64000.11000000","A":"0.66000000"}}"#;
    let levels = |base: u32| {
        (0..10)
            .map(|i| format!(r#"["{}.{:02}000000","{}.50000000"]"#, base + i, i * 7, i + 1))
            .collect::<Vec<_>>()
            .join(",")
    };
    let depth = format!(
        r#"{{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":1764280000123,"s":"BTCUSDT","U":157,"u":160,"b":[{}],"a":[{}]}}}}"#,
        levels(63990),
        levels(64001)
    );
    [("trade", trade.to_owned()), ("book_ticker", book_ticker.to_owned()), ("depth_10x10", depth)]
}

/// Raw combined-stream frame → normalised event.
fn parse_frames(c: &mut Criterion) {
    let venue = VenueId::new("binance").unwrap();
    let frames = frames();
    let trade = frames[0].1.as_str();
    let mut group = c.benchmark_group("binance_parse");
    for (name, frame) in &frames {
        group.bench_function(*name, |b| b.iter(|| black_box(parse_combined(venue, black_box(frame)).unwrap())));
    }
    // Baseline: serde_json into a borrowed struct, strings left unparsed (the floor of any serde approach).
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Bare<'a> {
        s: &'a str,
        t: u64,
        p: &'a str,
        q: &'a str,
        #[serde(rename = "T")]
        time: i64,
        m: bool,
    }
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Wrapped<'a> {
        stream: &'a str,
        #[serde(borrow)]
        data: Bare<'a>,
    }
    group.bench_function("piece_decimal", |b| {
        b.iter(|| black_box(tradewind::venue::binance::parse::decimal(black_box("64000.10000000")).unwrap()))
    });
    group.bench_function("piece_symbol", |b| b.iter(|| black_box(Symbol::new(black_box("BTCUSDT")).unwrap())));
    group.bench_function("trade_baseline_serde_json_borrowed", |b| {
        b.iter(|| black_box(serde_json::from_str::<Wrapped<'_>>(black_box(trade)).unwrap().data.t))
    });
    group.finish();
}

/// Applying depth diffs to a synced local book. Target: ≥ 5 million level updates/s.
fn apply_depth(c: &mut Criterion) {
    let venue = VenueId::new("binance").unwrap();
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let level = |p: i64, q: i64| Level { price: Price::new(Decimal::new(p, 2)), qty: Qty::new(Decimal::new(q, 5)) };
    let mut book = LocalBook::new(venue, symbol);
    let bids: Vec<[Decimal; 2]> =
        (0..1000).map(|i| [Decimal::new(6_400_000 - i, 2), Decimal::new(100 + i, 5)]).collect();
    let asks: Vec<[Decimal; 2]> =
        (0..1000).map(|i| [Decimal::new(6_400_001 + i, 2), Decimal::new(100 + i, 5)]).collect();
    book.on_snapshot(1, &bids, &asks).unwrap();
    // 10 bids and 10 asks per diff near the top: updates, inserts and deletes.
    let diffs: Vec<BookDelta> = (0..64)
        .map(|n| BookDelta {
            venue,
            symbol,
            first_update_id: 0,
            last_update_id: 0,
            bids: (0..10).map(|i| level(6_400_000 - i * 3 - n % 3, if (n + i) % 4 == 0 { 0 } else { 7 + n })).collect(),
            asks: (0..10).map(|i| level(6_400_001 + i * 3 + n % 3, if (n + i) % 5 == 0 { 0 } else { 9 + n })).collect(),
            time: Timestamp(0),
        })
        .collect();
    let mut group = c.benchmark_group("binance_book");
    group.throughput(Throughput::Elements(20));
    let mut next_id = 2;
    let mut i = 0;
    group.bench_function("apply_diff_10x10", |b| {
        b.iter_batched(
            || {
                let mut d = diffs[i % diffs.len()].clone();
                i += 1;
                d.first_update_id = next_id;
                d.last_update_id = next_id;
                next_id += 1;
                d
            },
            |d| black_box(book.on_delta(d).unwrap()),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, sign_new_order, new_order_request, parse_frames, apply_depth);

/// `PARSE_FIXED=trade:N` (or `book_ticker:N`, `depth_10x10:N`): parses that
/// frame N times without criterion, for instruction counts under callgrind
/// (`valgrind --tool=callgrind`): run two counts and divide the difference.
fn main() {
    match std::env::var("PARSE_FIXED") {
        Ok(spec) => {
            let (name, n) = spec.split_once(':').expect("PARSE_FIXED=<frame>:N");
            let n: u64 = n.parse().expect("a count");
            let venue = VenueId::new("binance").unwrap();
            let frames = frames();
            let (_, frame) =
                frames.iter().find(|(known, _)| *known == name).expect("trade, book_ticker or depth_10x10");
            for _ in 0..n {
                black_box(parse_combined(venue, black_box(frame)).unwrap());
            }
        }
        Err(_) => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
