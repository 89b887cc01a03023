use super::*;
use crate::sdk::testing::{self, d};
use crate::sdk::{Asset, Balance, Connectivity, OrderIntent, TestContext};

fn venue() -> VenueId {
    testing::venue("sim")
}

fn btc() -> Symbol {
    testing::symbol("BTCUSDT")
}

fn ctx(position: &str, base_free: &str) -> TestContext {
    let spec = testing::spec("BTC", "USDT", "0.001");
    let mut c = TestContext::default().with_instrument(venue(), spec);
    c.positions.insert((venue(), btc()), Qty::new(d(position)));
    c.balances.insert((venue(), Asset::new("BTC").unwrap()), Balance { free: d(base_free), locked: Decimal::ZERO });
    c
}

fn params() -> Params {
    Params {
        spread_bps: d("20"),
        order_qty: d("0.01"),
        max_inventory: d("0.05"),
        skew_bps: d("10"),
        requote_bps: d("5"),
        microprice: false,
        book_levels: None,
        stale_after_ms: 5_000,
    }
}

fn mm(p: Params) -> MarketMaker {
    MarketMaker::new(&Instance { name: "mm".into(), venue: venue(), symbols: vec![btc()] }, p)
}

fn quote(bid: &str, ask: &str, bid_qty: &str, ask_qty: &str) -> MarketEvent {
    MarketEvent::Quote(Quote {
        venue: venue(),
        symbol: btc(),
        bid_price: Price::new(d(bid)),
        bid_qty: Qty::new(d(bid_qty)),
        ask_price: Price::new(d(ask)),
        ask_qty: Qty::new(d(ask_qty)),
        update_id: 1,
    })
}

/// (kind, side, price) of each intent.
fn intents(out: &mut Intents) -> Vec<(&'static str, Option<Side>, Option<Decimal>)> {
    out.drain()
        .map(|i| match i {
            OrderIntent::Place { order, .. } => ("place", Some(order.side), order.kind.price().map(|p| p.get())),
            OrderIntent::Replace { order, .. } => ("replace", Some(order.side), order.kind.price().map(|p| p.get())),
            OrderIntent::Cancel { .. } => ("cancel", None, None),
            OrderIntent::CancelAll { .. } => ("cancel_all", None, None),
            OrderIntent::Amend { price, .. } => ("amend", None, price.map(|p| p.get())),
        })
        .collect()
}

#[test]
fn quotes_both_sides_around_the_mid_rounded_passively() {
    let mut s = mm(params());
    let mut out = Intents::new("mm", 1);
    s.on_event(&ctx("0", "1"), &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
    // Mid 60000, ±10 bps: 59940 and 60060.
    assert_eq!(
        intents(&mut out),
        [("place", Some(Side::Buy), Some(d("59940"))), ("place", Some(Side::Sell), Some(d("60060")))]
    );
}

#[test]
fn inventory_skews_both_quotes_and_caps_the_growing_side() {
    let mut s = mm(params());
    let mut out = Intents::new("mm", 1);
    // Long 0.025 = half the max: both quotes 5 bps lower.
    s.on_event(&ctx("0.025", "1"), &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
    assert_eq!(
        intents(&mut out),
        [("place", Some(Side::Buy), Some(d("59910"))), ("place", Some(Side::Sell), Some(d("60030")))]
    );
    // At max inventory: no bid. Without base asset: no ask.
    let mut s = mm(params());
    s.on_event(&ctx("0.05", "1"), &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
    assert_eq!(intents(&mut out).iter().map(|i| i.1).collect::<Vec<_>>(), [Some(Side::Sell)]);
    let mut s = mm(params());
    s.on_event(&ctx("0", "0"), &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
    assert_eq!(intents(&mut out).iter().map(|i| i.1).collect::<Vec<_>>(), [Some(Side::Buy)]);
}

#[test]
fn requotes_with_cancel_replace_only_beyond_the_threshold() {
    let mut s = mm(params());
    let c = ctx("0", "1");
    let mut out = Intents::new("mm", 1);
    s.on_event(&c, &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
    out.drain().for_each(drop);
    // 4 bps: stays.
    s.on_event(&c, &quote("60023.99", "60024.01", "1", "1"), &mut out).unwrap();
    assert!(out.is_empty());
    // 6 bps: both replaced.
    s.on_event(&c, &quote("60035.99", "60036.01", "1", "1"), &mut out).unwrap();
    let replaced = intents(&mut out);
    assert_eq!(replaced.iter().map(|i| i.0).collect::<Vec<_>>(), ["replace", "replace"]);
    assert_eq!(replaced[0].2, Some(d("59975.96")), "60036 × (1 − 0.001), rounded down");
}

#[test]
fn pulls_quotes_when_the_venue_drops_or_the_book_goes_stale() {
    let mut s = mm(params());
    let mut c = ctx("0", "1");
    let mut out = Intents::new("mm", 1);
    s.on_event(&c, &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
    out.drain().for_each(drop);
    let down = MarketEvent::Connectivity(Connectivity { venue: venue(), up: false });
    s.on_event(&c, &down, &mut out).unwrap();
    assert_eq!(intents(&mut out).iter().map(|i| i.0).collect::<Vec<_>>(), ["cancel", "cancel"]);
    // Back: quotes again; then silence beyond stale_after_ms pulls them.
    c.now = Timestamp(1_000);
    s.on_event(&c, &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
    assert_eq!(intents(&mut out).len(), 2);
    c.now = Timestamp(5_500);
    s.on_timer(&c, &mut out).unwrap();
    assert!(out.is_empty(), "4.5 s of silence is not stale yet");
    c.now = Timestamp(6_001);
    s.on_timer(&c, &mut out).unwrap();
    assert_eq!(intents(&mut out).iter().map(|i| i.0).collect::<Vec<_>>(), ["cancel", "cancel"]);
}

#[test]
fn a_filled_side_is_quoted_again_at_the_next_book_update() {
    let mut s = mm(params());
    let c = ctx("0", "1");
    let mut out = Intents::new("mm", 1);
    s.on_event(&c, &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
    let placed: Vec<OrderIntent> = out.drain().collect();
    let OrderIntent::Place { id: bid_id, .. } = placed[0] else { panic!() };
    s.on_order_update(&c, &OrderUpdate::Canceled { id: bid_id }, &mut out).unwrap();
    s.on_event(&c, &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
    assert_eq!(intents(&mut out), [("place", Some(Side::Buy), Some(d("59940")))]);
}

#[test]
fn microprice_leans_toward_the_thin_side() {
    let p = Params { microprice: true, ..params() };
    let s = mm(p);
    // Little on the ask: the price is about to go up.
    let Some(fair) = s.fair(&match quote("100", "102", "9", "1") {
        MarketEvent::Quote(q) => q,
        _ => unreachable!(),
    }) else {
        panic!()
    };
    assert_eq!(fair, d("101.8"));
}

#[test]
fn validation_names_each_key() {
    let bad = Params {
        spread_bps: d("0"),
        order_qty: d("-1"),
        max_inventory: d("0"),
        skew_bps: d("-1"),
        requote_bps: d("0"),
        microprice: false,
        book_levels: Some(0),
        stale_after_ms: 10,
    };
    let mut errors = Vec::new();
    bad.validate(&Instance { name: "m".into(), venue: venue(), symbols: vec![] }, &mut errors);
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "spread_bps",
            "order_qty",
            "max_inventory",
            "requote_bps",
            "skew_bps",
            "book_levels",
            "stale_after_ms",
            "symbols"
        ]
    );
}

#[test]
fn a_failed_replacement_falls_back_to_the_order_it_replaced() {
    let mut s = mm(params());
    let c = ctx("0", "1");
    let mut out = Intents::new("mm", 1);
    s.on_event(&c, &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
    let first: Vec<OrderIntent> = out.drain().collect();
    let OrderIntent::Place { id: bid, .. } = first[0] else { panic!() };
    s.on_event(&c, &quote("60035.99", "60036.01", "1", "1"), &mut out).unwrap();
    let replaced: Vec<OrderIntent> = out.drain().collect();
    let OrderIntent::Replace { cancel, id: new_bid, .. } = replaced[0] else { panic!("{replaced:?}") };
    assert_eq!(cancel, bid);
    // The replacement is refused (e.g. the rate budget): the old bid still rests, and is
    // replaced once the side's cooldown (1 s after a first refusal) is over.
    let refused = OrderUpdate::Denied { id: new_bid, reason: crate::sdk::Reason::new("rate_limited", "later") };
    s.on_order_update(&c, &refused, &mut out).unwrap();
    s.on_event(&c, &quote("60035.99", "60036.01", "1", "1"), &mut out).unwrap();
    assert!(out.drain().all(|i| !matches!(i, OrderIntent::Replace { cancel, .. } if cancel == bid)), "not at once");
    let mut c = c;
    c.now = Timestamp(1_000);
    s.on_event(&c, &quote("60035.99", "60036.01", "1", "1"), &mut out).unwrap();
    let again: Vec<OrderIntent> = out.drain().collect();
    assert!(
        again.iter().any(|i| matches!(i, OrderIntent::Replace { cancel, .. } if *cancel == bid)),
        "the resting bid is replaced, not orphaned: {again:?}"
    );
    // Once the old bid is known gone, a failed replacement frees the side (a fresh place next time).
    let OrderIntent::Replace { id: newer, .. } =
        again.iter().find(|i| matches!(i, OrderIntent::Replace { cancel, .. } if *cancel == bid)).copied().unwrap()
    else {
        panic!()
    };
    s.on_order_update(&c, &OrderUpdate::Canceled { id: bid }, &mut out).unwrap();
    s.on_order_update(
        &c,
        &OrderUpdate::Rejected { id: newer, reason: crate::sdk::Reason::new("-2011", "unknown") },
        &mut out,
    )
    .unwrap();
    c.now = Timestamp(3_000);
    s.on_event(&c, &quote("60035.99", "60036.01", "1", "1"), &mut out).unwrap();
    let fresh: Vec<OrderIntent> = out.drain().collect();
    assert!(
        fresh.iter().any(|i| matches!(i, OrderIntent::Place { order, .. } if order.side == Side::Buy)),
        "{fresh:?}"
    );
}

#[test]
fn a_refused_side_waits_longer_after_each_refusal() {
    // regression: replace_loop (the same failing request 59 times in 3 minutes, 22 within a second)
    let mut s = mm(params());
    let mut c = ctx("0", "1");
    let mut out = Intents::new("mm", 1);
    let mut sent_at = Vec::new();
    for ms in (0..20_000).step_by(100) {
        c.now = Timestamp(ms);
        s.on_event(&c, &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
        for intent in out.drain().collect::<Vec<_>>() {
            if let OrderIntent::Place { id, order } = intent
                && order.side == Side::Buy
            {
                sent_at.push(ms);
                let denied = OrderUpdate::Denied { id, reason: crate::sdk::Reason::new("rate_limited", "budget") };
                s.on_order_update(&c, &denied, &mut out).unwrap();
            }
        }
    }
    // 0, then 1 s, 2 s, 4 s, 8 s later: five tries in 20 s, not two hundred.
    assert_eq!(sent_at, [0, 1_000, 3_000, 7_000, 15_000]);
}

#[test]
fn after_a_restart_the_quotes_of_the_earlier_run_are_taken_back() {
    // regression: strategies_not_restart_safe (quotes of a dead process filled minutes later)
    let mut s = mm(params());
    let mut c = ctx("0", "1");
    let open = |seq: u64, side, price: &str| crate::sdk::OpenOrder {
        id: ClientOrderId::for_instance("mm", seq).unwrap(),
        order: NewOrder {
            venue: venue(),
            symbol: btc(),
            side,
            qty: Qty::new(d("0.01")),
            kind: OrderKind::Limit { price: Price::new(d(price)), tif: TimeInForce::Gtc },
        },
        filled: Qty::ZERO,
    };
    c.open_orders = vec![open(7, Side::Buy, "59000"), open(8, Side::Sell, "61000"), open(9, Side::Buy, "59500")];
    let mut out = Intents::new("mm", 10);
    s.on_start(&c, &mut out).unwrap();
    let cancelled: Vec<OrderIntent> = out.drain().collect();
    assert_eq!(cancelled, [OrderIntent::Cancel { id: open(7, Side::Buy, "0").id }], "the older bid");
    // The first quote replaces the taken-back orders: nothing new is left beside them.
    s.on_event(&c, &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
    let replaced: Vec<OrderIntent> = out.drain().collect();
    let cancels: Vec<ClientOrderId> = replaced
        .iter()
        .map(|i| match i {
            OrderIntent::Replace { cancel, .. } => *cancel,
            other => panic!("only replaces, got {other:?}"),
        })
        .collect();
    assert_eq!(cancels, [open(9, Side::Buy, "0").id, open(8, Side::Sell, "0").id]);
}

#[test]
fn nothing_is_quoted_while_halted_and_the_quotes_come_back_on_resume() {
    let mut s = mm(params());
    let mut c = ctx("0", "1");
    c.trading = crate::sdk::Trading::Halted;
    let mut out = Intents::new("mm", 1);
    s.on_event(&c, &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
    assert!(out.is_empty(), "halted");
    c.trading = crate::sdk::Trading::Active;
    c.now = Timestamp(1_000);
    s.on_timer(&c, &mut out).unwrap();
    c.book_tops.insert(
        (venue(), btc()),
        match quote("59999.99", "60000.01", "1", "1") {
            MarketEvent::Quote(q) => q,
            _ => unreachable!(),
        },
    );
    s.on_timer(&c, &mut out).unwrap();
    assert_eq!(intents(&mut out).len(), 2, "resumed: both sides, even without a new quote event");
}

#[test]
fn with_book_levels_the_fair_price_comes_from_the_l2_book() {
    use crate::sdk::{BookDelta, BookSnapshot, Level};
    let mut s = mm(Params { book_levels: Some(2), requote_bps: d("1"), ..params() });
    assert!(s.subscriptions()[0].book && s.subscriptions()[0].quotes);
    let c = ctx("0", "1");
    let mut out = Intents::new("mm", 1);
    let level = |p: &str, q: &str| Level { price: Price::new(d(p)), qty: Qty::new(d(q)) };
    // A quote alone sets nothing: the price comes from the book.
    s.on_event(&c, &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
    assert!(out.is_empty());
    let snapshot = MarketEvent::BookSnapshot(BookSnapshot {
        venue: venue(),
        symbol: btc(),
        last_update_id: 1,
        bids: vec![level("59990", "1"), level("59980", "1")],
        asks: vec![level("60010", "1"), level("60020", "1")],
    });
    s.on_event(&c, &snapshot, &mut out).unwrap();
    // Bids average 59985, asks 60015, equal sizes: fair 60000, ±10 bps.
    assert_eq!(
        intents(&mut out),
        [("place", Some(Side::Buy), Some(d("59940"))), ("place", Some(Side::Sell), Some(d("60060")))]
    );
    // Size piles onto the bids: the fair price leans up (toward the thin asks), past the requote threshold.
    let delta = MarketEvent::BookDelta(BookDelta {
        venue: venue(),
        symbol: btc(),
        first_update_id: 2,
        last_update_id: 2,
        bids: vec![level("59990", "99"), level("59980", "99")],
        asks: vec![],
        time: Timestamp(1),
    });
    s.on_event(&c, &delta, &mut out).unwrap();
    let moved = intents(&mut out);
    assert_eq!(moved.iter().map(|i| i.0).collect::<Vec<_>>(), ["replace", "replace"]);
    assert!(moved[0].2.unwrap() > d("59940"), "{moved:?}");
}

#[test]
fn where_the_venue_amends_an_acknowledged_quote_moves_in_place_and_a_refused_amend_falls_back() {
    let mut s = mm(params());
    let mut c = ctx("0", "1");
    c.amends = true;
    let mut out = Intents::new("mm", 1);
    s.on_event(&c, &quote("59999.99", "60000.01", "1", "1"), &mut out).unwrap();
    let placed: Vec<OrderIntent> = out.drain().collect();
    let (OrderIntent::Place { id: bid, .. }, OrderIntent::Place { id: ask, .. }) = (placed[0], placed[1]) else {
        panic!("{placed:?}")
    };
    // The bid is acknowledged, the ask not yet: only the bid can be amended.
    let venue_order_id = "1".parse().unwrap();
    s.on_order_update(&c, &OrderUpdate::Accepted { id: bid, venue_order_id }, &mut out).unwrap();
    s.on_event(&c, &quote("60035.99", "60036.01", "1", "1"), &mut out).unwrap();
    let moved: Vec<OrderIntent> = out.drain().collect();
    assert!(
        matches!(moved[0], OrderIntent::Amend { id, qty: None, price: Some(p) } if id == bid && p.get() == d("59975.96"))
    );
    assert!(matches!(moved[1], OrderIntent::Replace { cancel, .. } if cancel == ask), "{moved:?}");

    // While the amend is on its way the bid is not touched again.
    s.on_event(&c, &quote("60071.99", "60072.01", "1", "1"), &mut out).unwrap();
    assert!(out.drain().all(|i| !matches!(i, OrderIntent::Amend { .. })));
    // Refused: the bid stands at its old price, and moves again after the side's cooldown.
    let reason = crate::sdk::Reason::new("170131", "Insufficient balance.");
    s.on_order_update(&c, &OrderUpdate::AmendRefused { id: bid, reason }, &mut out).unwrap();
    c.now = Timestamp(1_000);
    s.on_event(&c, &quote("60071.99", "60072.01", "1", "1"), &mut out).unwrap();
    let again: Vec<OrderIntent> = out.drain().collect();
    assert!(again.iter().any(|i| matches!(i, OrderIntent::Amend { id, .. } if *id == bid)), "{again:?}");
    // Confirmed: the next move amends from the new price (nothing while within requote_bps).
    let (qty, price) = (Qty::new(d("0.01")), Price::new(d("60011.92")));
    s.on_order_update(&c, &OrderUpdate::Amended { id: bid, qty, price }, &mut out).unwrap();
    s.on_event(&c, &quote("60071.99", "60072.01", "1", "1"), &mut out).unwrap();
    assert!(out.drain().all(|i| !matches!(i, OrderIntent::Amend { id, .. } if id == bid)));
}
