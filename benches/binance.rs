//! Binance connector hot paths. Target: building and signing a new-order
//! request ≤ 1.5 µs (HMAC-SHA256 with a pre-keyed state).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tradewind::secret::Secret;
use tradewind::venue::binance::sign::{Query, Signer};

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

criterion_group!(benches, sign_new_order);
criterion_main!(benches);
