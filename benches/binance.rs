//! Binance connector hot paths. Target: building and signing a new-order
//! request ≤ 1.5 µs (HMAC-SHA256 with a pre-keyed state).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tradewind::secret::Secret;
use tradewind::venue::binance::parse::parse_combined;
use tradewind::venue::binance::sign::{Query, Signer};
use tradewind_strategies::sdk::VenueId;

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

/// Raw combined-stream frame → normalised event.
fn parse_frames(c: &mut Criterion) {
    let venue = VenueId::new("binance").unwrap();
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
    let mut group = c.benchmark_group("binance_parse");
    for (name, frame) in [("trade", trade), ("book_ticker", book_ticker), ("depth_10x10", depth.as_str())] {
        group.bench_function(name, |b| b.iter(|| black_box(parse_combined(venue, black_box(frame)).unwrap())));
    }
    group.finish();
}

criterion_group!(benches, sign_new_order, parse_frames);
criterion_main!(benches);
