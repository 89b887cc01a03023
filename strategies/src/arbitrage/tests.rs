use super::*;
use crate::sdk::testing::{self, d};
use crate::sdk::{Fill, InstrumentSpec, OrderIntent, Price, TestContext};

fn a() -> VenueId {
    testing::venue("sim_a")
}

fn b() -> VenueId {
    testing::venue("sim_b")
}

fn btc() -> Symbol {
    testing::symbol("BTCUSDT")
}

fn ctx() -> TestContext {
    let spec = testing::spec("BTC", "USDT", "0.001");
    TestContext::default().with_instrument(a(), spec.clone()).with_instrument(b(), spec)
}

fn arb() -> Arbitrage {
    let p = Params {
        other_venue: "sim_b".into(),
        other_symbol: None,
        order_qty: d("0.05"),
        fee_bps: d("10"),
        min_edge_bps: d("5"),
        pause_ms: 1000,
    };
    Arbitrage::new(&Instance { name: "arb".into(), venue: a(), symbols: vec![btc()] }, p)
}

fn quote(venue: VenueId, bid: &str, ask: &str, qty: &str) -> MarketEvent {
    MarketEvent::Quote(Quote {
        venue,
        symbol: btc(),
        bid_price: Price::new(d(bid)),
        bid_qty: Qty::new(d(qty)),
        ask_price: Price::new(d(ask)),
        ask_qty: Qty::new(d(qty)),
        update_id: 1,
    })
}

fn placed(out: &mut Intents) -> Vec<(ClientOrderId, VenueId, Side, Decimal, OrderKind)> {
    out.drain()
        .map(|i| match i {
            OrderIntent::Place { id, order } => (id, order.venue, order.side, order.qty.get(), order.kind),
            other => panic!("places only, got {other:?}"),
        })
        .collect()
}

fn fill(id: ClientOrderId, venue: VenueId, side: Side, qty: &str) -> Fill {
    testing::fill(venue, btc(), id, side, qty, "60000")
}

#[test]
fn no_pair_unless_the_edge_beats_fees_and_margin() {
    let mut s = arb();
    let mut out = Intents::new("arb", 1);
    s.on_event(&ctx(), &quote(a(), "60000", "60001", "1"), &mut out).unwrap();
    // B's ask 59850: A's bid is 25.06 bps above it; 2 × 10 + 5 = 25 needed.
    s.on_event(&ctx(), &quote(b(), "59840", "59850", "1"), &mut out).unwrap();
    let pair = placed(&mut out);
    let ioc = |p: &str| OrderKind::Limit { price: Price::new(d(p)), tif: TimeInForce::Ioc };
    assert_eq!(
        pair.iter().map(|o| (o.1, o.2, o.3, o.4)).collect::<Vec<_>>(),
        [(b(), Side::Buy, d("0.05"), ioc("59850")), (a(), Side::Sell, d("0.05"), ioc("60000"))]
    );
    // 24.9 bps: nothing (a fresh instance, same books otherwise).
    let mut s = arb();
    s.on_event(&ctx(), &quote(a(), "60000", "60001", "1"), &mut out).unwrap();
    s.on_event(&ctx(), &quote(b(), "59840", "59851", "1"), &mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn sizes_to_what_both_books_show_and_trades_one_pair_at_a_time() {
    let mut s = arb();
    let mut out = Intents::new("arb", 1);
    s.on_event(&ctx(), &quote(b(), "60100", "60200", "0.02"), &mut out).unwrap();
    s.on_event(&ctx(), &quote(a(), "59800", "59900", "1"), &mut out).unwrap();
    let pair = placed(&mut out);
    assert_eq!(
        pair.iter().map(|o| (o.1, o.2, o.3)).collect::<Vec<_>>(),
        [(a(), Side::Buy, d("0.02")), (b(), Side::Sell, d("0.02"))]
    );
    s.on_event(&ctx(), &quote(a(), "59800", "59899", "1"), &mut out).unwrap();
    assert!(out.is_empty(), "a pair is in flight");
}

#[test]
fn a_leg_left_alone_is_unwound_then_trading_resumes() {
    let mut s = arb();
    let c = ctx();
    let mut out = Intents::new("arb", 1);
    s.on_event(&c, &quote(a(), "60000", "60001", "1"), &mut out).unwrap();
    s.on_event(&c, &quote(b(), "59840", "59850", "1"), &mut out).unwrap();
    let pair = placed(&mut out);
    let (buy, sell) = (pair[0].0, pair[1].0);
    // The buy on B fills; the sell on A finds nothing and expires.
    s.on_order_update(&c, &OrderUpdate::Filled { id: buy, fill: fill(buy, b(), Side::Buy, "0.05") }, &mut out).unwrap();
    assert!(out.is_empty(), "the other leg is not done yet");
    s.on_order_update(&c, &OrderUpdate::Expired { id: sell }, &mut out).unwrap();
    let unwind = placed(&mut out);
    assert_eq!(
        unwind.iter().map(|o| (o.1, o.2, o.3, o.4)).collect::<Vec<_>>(),
        [(b(), Side::Sell, d("0.05"), OrderKind::Market)]
    );
    s.on_event(&c, &quote(b(), "59840", "59850", "1"), &mut out).unwrap();
    assert!(out.is_empty(), "no new pair while unwinding");
    s.on_order_update(
        &c,
        &OrderUpdate::Filled { id: unwind[0].0, fill: fill(unwind[0].0, b(), Side::Sell, "0.05") },
        &mut out,
    )
    .unwrap();
    s.on_event(&c, &quote(b(), "59840", "59850", "1"), &mut out).unwrap();
    assert!(out.is_empty(), "the next pair waits pause_ms after the last");
    let mut later = c.clone();
    later.now = Timestamp(c.now.0 + 999);
    s.on_event(&later, &quote(b(), "59840", "59850", "1"), &mut out).unwrap();
    assert!(out.is_empty(), "999 ms is not yet 1000");
    later.now = Timestamp(c.now.0 + 1000);
    s.on_event(&later, &quote(b(), "59840", "59850", "1"), &mut out).unwrap();
    assert_eq!(placed(&mut out).len(), 2, "free again");
}

#[test]
fn balanced_legs_need_no_unwind() {
    let mut s = arb();
    let c = ctx();
    let mut out = Intents::new("arb", 1);
    s.on_event(&c, &quote(a(), "60000", "60001", "1"), &mut out).unwrap();
    s.on_event(&c, &quote(b(), "59840", "59850", "1"), &mut out).unwrap();
    let pair = placed(&mut out);
    s.on_order_update(
        &c,
        &OrderUpdate::Filled { id: pair[1].0, fill: fill(pair[1].0, a(), Side::Sell, "0.05") },
        &mut out,
    )
    .unwrap();
    s.on_order_update(
        &c,
        &OrderUpdate::Filled { id: pair[0].0, fill: fill(pair[0].0, b(), Side::Buy, "0.05") },
        &mut out,
    )
    .unwrap();
    assert!(out.is_empty());
}

#[test]
fn validation_names_each_key() {
    let bad = Params {
        other_venue: "sim_a".into(),
        other_symbol: Some("BTC USDT".into()),
        order_qty: d("0"),
        fee_bps: d("-1"),
        min_edge_bps: d("-1"),
        pause_ms: 0,
    };
    let mut errors = Vec::new();
    bad.validate(&Instance { name: "arb".into(), venue: a(), symbols: vec![] }, &mut errors);
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["other_venue", "other_symbol", "order_qty", "fee_bps", "min_edge_bps", "symbols"]);
}

#[test]
fn after_a_restart_the_open_legs_are_waited_for_then_what_is_unpaired_is_unwound() {
    // regression: strategies_not_restart_safe (a pair cut in half by a crash stayed unhedged)
    let mut c = ctx();
    let leg = crate::sdk::OpenOrder {
        id: ClientOrderId::for_instance("arb", 8).unwrap(),
        order: NewOrder {
            venue: b(),
            symbol: btc(),
            side: Side::Sell,
            qty: Qty::new(d("0.05")),
            kind: OrderKind::Limit { price: Price::new(d("60100")), tif: TimeInForce::Ioc },
        },
        filled: Qty::ZERO,
    };
    // The buy leg on A filled before the crash; the sell on B is still being settled.
    c.positions.insert((a(), btc()), Qty::new(d("0.05")));
    c.open_orders = vec![leg];
    let mut s = arb();
    let mut out = Intents::new("arb", 9);
    s.on_start(&c, &mut out).unwrap();
    assert!(out.is_empty(), "the open leg first");
    s.on_event(&c, &quote(a(), "60200", "60201", "1"), &mut out).unwrap();
    s.on_event(&c, &quote(b(), "59000", "59001", "1"), &mut out).unwrap();
    assert!(out.is_empty(), "no new pair while settling");
    // It expired unfilled: the 0.05 bought on A is sold back there.
    s.on_order_update(&c, &OrderUpdate::Expired { id: leg.id }, &mut out).unwrap();
    let unwind = placed(&mut out);
    assert_eq!(
        unwind.iter().map(|o| (o.1, o.2, o.3, o.4)).collect::<Vec<_>>(),
        [(a(), Side::Sell, d("0.05"), OrderKind::Market)]
    );
    // A restart with the books even does nothing.
    let mut even = ctx();
    even.positions.insert((a(), btc()), Qty::new(d("0.05")));
    even.positions.insert((b(), btc()), Qty::new(d("-0.05")));
    let mut s = arb();
    s.on_start(&even, &mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn the_other_venue_may_name_the_instrument_its_own_way() {
    // OKX names Binance's BTCUSDT BTC-USDT: quotes, legs and the unwind each use the venue's name.
    let okx = testing::symbol("BTC-USDT");
    let p = Params {
        other_venue: "sim_b".into(),
        other_symbol: Some("BTC-USDT".into()),
        order_qty: d("0.05"),
        fee_bps: d("10"),
        min_edge_bps: d("5"),
        pause_ms: 1000,
    };
    let mut s = Arbitrage::new(&Instance { name: "arb".into(), venue: a(), symbols: vec![btc()] }, p);
    let spec = testing::spec("BTC", "USDT", "0.001");
    let okx_spec = InstrumentSpec { symbol: okx, ..spec.clone() };
    let c = TestContext::default().with_instrument(a(), spec).with_instrument(b(), okx_spec);
    assert_eq!(
        s.subscriptions().iter().map(|sub| (sub.venue, sub.symbols.clone())).collect::<Vec<_>>(),
        [(a(), vec![btc()]), (b(), vec![okx])]
    );
    let mut out = Intents::new("arb", 1);
    s.on_event(&c, &quote(a(), "60000", "60001", "1"), &mut out).unwrap();
    // B's quote under Binance's name is not B's instrument: ignored.
    s.on_event(&c, &quote(b(), "59840", "59850", "1"), &mut out).unwrap();
    assert!(out.is_empty());
    let MarketEvent::Quote(q) = quote(b(), "59840", "59850", "1") else { unreachable!() };
    s.on_event(&c, &MarketEvent::Quote(Quote { symbol: okx, ..q }), &mut out).unwrap();
    let legs: Vec<_> = out
        .drain()
        .map(|i| match i {
            OrderIntent::Place { order, .. } => (order.venue, order.symbol, order.side),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(legs, [(b(), okx, Side::Buy), (a(), btc(), Side::Sell)]);
}
