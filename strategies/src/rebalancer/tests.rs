use super::*;
use crate::sdk::testing::{self, d};
use crate::sdk::{Balance, OrderIntent, Price, Quote, TestContext};

fn venue() -> VenueId {
    testing::venue("sim")
}

fn sym(s: &str) -> Symbol {
    testing::symbol(s)
}

fn ctx(btc: &str, eth: &str, usdt: &str) -> TestContext {
    let mut c = TestContext::default()
        .with_instrument(venue(), testing::spec("BTC", "USDT", "0.0001"))
        .with_instrument(venue(), testing::spec("ETH", "USDT", "0.0001"));
    for (asset, amount) in [("BTC", btc), ("ETH", eth), ("USDT", usdt)] {
        c.balances.insert((venue(), Asset::new(asset).unwrap()), Balance { free: d(amount), locked: Decimal::ZERO });
    }
    for (symbol, mid) in [("BTCUSDT", "60000"), ("ETHUSDT", "3000")] {
        let q = Quote {
            venue: venue(),
            symbol: sym(symbol),
            bid_price: Price::new(d(mid) - d("0.01")),
            bid_qty: Qty::new(d("1")),
            ask_price: Price::new(d(mid) + d("0.01")),
            ask_qty: Qty::new(d("1")),
            update_id: 1,
        };
        c.book_tops.insert((venue(), sym(symbol)), q);
    }
    c
}

fn params() -> Params {
    Params {
        quote: "USDT".into(),
        targets: [("BTC", "0.5"), ("ETH", "0.3"), ("USDT", "0.2")]
            .into_iter()
            .map(|(a, w)| (a.to_owned(), d(w)))
            .collect(),
        drift_pct: d("2"),
        min_trade_notional: d("20"),
        interval_secs: 60,
    }
}

fn rebalancer() -> Rebalancer {
    Rebalancer::new(
        &Instance { name: "rb".into(), venue: venue(), symbols: vec![sym("BTCUSDT"), sym("ETHUSDT")] },
        params(),
    )
}

fn orders(out: &mut Intents) -> Vec<(ClientOrderId, Symbol, Side, Decimal)> {
    out.drain()
        .map(|i| match i {
            OrderIntent::Place { id, order } => {
                assert_eq!(order.kind, OrderKind::Market);
                (id, order.symbol, order.side, order.qty.get())
            }
            other => panic!("places only, got {other:?}"),
        })
        .collect()
}

#[test]
fn trades_back_to_target_weights_sells_first() {
    // 1 BTC (60000) + 10 ETH (30000) + 10000 USDT = 100000: BTC 60 %, ETH 30 %, USDT 10 %.
    let mut r = rebalancer();
    let mut out = Intents::new("rb", 1);
    r.on_timer(&ctx("1", "10", "10000"), &mut out).unwrap();
    let placed = orders(&mut out);
    // BTC to 50000: sell 10000 / 60000 = 0.16666… → 0.1666 (rounded down to the step); ETH is on target.
    assert_eq!(
        placed.iter().map(|o| (o.1.as_str(), o.2, o.3)).collect::<Vec<_>>(),
        [("BTCUSDT", Side::Sell, d("0.1666"))]
    );
}

#[test]
fn does_nothing_within_the_drift_band_or_before_the_interval() {
    let mut r = rebalancer();
    let mut out = Intents::new("rb", 1);
    // BTC 51 %, ETH 29.5 %, USDT 19.5 %: within 2 points.
    let mut c = ctx("0.85", "9.8333", "19500");
    r.on_timer(&c, &mut out).unwrap();
    assert!(out.is_empty());
    // Drifted, but the next check is only due 60 s after the last.
    c = ctx("1", "10", "10000");
    c.now = Timestamp(59_000);
    r.on_timer(&c, &mut out).unwrap();
    assert!(out.is_empty());
    c.now = Timestamp(60_000);
    r.on_timer(&c, &mut out).unwrap();
    assert_eq!(orders(&mut out).len(), 1);
}

#[test]
fn waits_for_its_orders_and_buys_after_selling() {
    let mut r = rebalancer();
    let mut out = Intents::new("rb", 1);
    // All in USDT: buy both.
    let mut c = ctx("0", "0", "100000");
    r.on_timer(&c, &mut out).unwrap();
    let placed = orders(&mut out);
    assert_eq!(
        placed.iter().map(|o| (o.1.as_str(), o.2, o.3)).collect::<Vec<_>>(),
        [("BTCUSDT", Side::Buy, d("0.8333")), ("ETHUSDT", Side::Buy, d("10"))]
    );
    c.now = Timestamp(120_000);
    r.on_timer(&c, &mut out).unwrap();
    assert!(out.is_empty(), "orders still open");
    for (id, ..) in &placed {
        r.on_order_update(&c, &OrderUpdate::Canceled { id: *id }, &mut out).unwrap();
    }
    r.on_timer(&c, &mut out).unwrap();
    assert_eq!(orders(&mut out).len(), 2, "free to rebalance again");
}

#[test]
fn without_prices_it_waits() {
    let mut r = rebalancer();
    let mut out = Intents::new("rb", 1);
    let mut c = ctx("1", "10", "10000");
    c.book_tops.clear();
    r.on_timer(&c, &mut out).unwrap();
    assert!(out.is_empty());
    r.on_timer(&ctx("1", "10", "10000"), &mut out).unwrap();
    assert_eq!(orders(&mut out).len(), 1, "the first check with prices is not delayed by the interval");
}

#[test]
fn validation_names_each_key() {
    let bad = Params {
        quote: "USDT".into(),
        targets: [("BTC", "0.7"), ("XRP", "0.5")].into_iter().map(|(a, w)| (a.to_owned(), d(w))).collect(),
        drift_pct: d("0"),
        min_trade_notional: d("0"),
        interval_secs: 0,
    };
    let mut errors = Vec::new();
    bad.validate(&Instance { name: "rb".into(), venue: venue(), symbols: vec![sym("BTCUSDT")] }, &mut errors);
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "targets: weights must sum to 1, got 1.2",
            "targets.XRP: needs the symbol XRPUSDT in symbols",
            "drift_pct: must be > 0, got 0",
            "min_trade_notional: must be > 0, got 0",
            "interval_secs: must be >= 1, got 0",
        ]
    );
}

#[test]
fn a_restarted_rebalancer_waits_for_the_orders_an_earlier_run_left_open() {
    // regression: strategies_not_restart_safe (a rebalance repeated while its orders were still out)
    let mut c = ctx("1", "0", "0");
    let open = crate::sdk::OpenOrder {
        id: ClientOrderId::for_instance("rb", 4).unwrap(),
        order: NewOrder {
            venue: venue(),
            symbol: sym("BTCUSDT"),
            side: Side::Sell,
            qty: Qty::new(d("0.5")),
            kind: OrderKind::Market,
        },
        filled: Qty::ZERO,
    };
    c.open_orders = vec![open];
    let mut r = rebalancer();
    let mut out = Intents::new("rb", 5);
    r.on_start(&c, &mut out).unwrap();
    r.on_timer(&c, &mut out).unwrap();
    assert!(out.is_empty(), "all in BTC, far off target, but the earlier sell is still out");
    r.on_order_update(&c, &OrderUpdate::Canceled { id: open.id }, &mut out).unwrap();
    r.on_timer(&c, &mut out).unwrap();
    assert!(!orders(&mut out).is_empty(), "once it is done, the balances decide");
}
