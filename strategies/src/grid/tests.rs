use super::*;
use crate::sdk::testing::{self, d};
use crate::sdk::{OpenOrder, OrderIntent, Quote, TestContext};

fn venue() -> VenueId {
    testing::venue("sim")
}

fn btc() -> Symbol {
    testing::symbol("BTCUSDT")
}

fn spec() -> InstrumentSpec {
    testing::spec("BTC", "USDT", "0.001")
}

fn ctx(position: &str) -> TestContext {
    let mut ctx = TestContext::default().with_instrument(venue(), spec());
    ctx.positions.insert((venue(), btc()), Qty::new(d(position)));
    ctx
}

fn params(spacing: Spacing) -> Params {
    Params { lower: d("90"), upper: d("110"), levels: 5, order_qty: d("0.1005"), spacing }
}

fn grid(spacing: Spacing) -> Grid {
    Grid::new(&Instance { name: "g".into(), venue: venue(), symbols: vec![btc()] }, params(spacing))
}

fn quote(mid: &str) -> MarketEvent {
    let m = d(mid);
    MarketEvent::Quote(Quote {
        venue: venue(),
        symbol: btc(),
        bid_price: Price::new(m - d("0.01")),
        bid_qty: Qty::new(d("1")),
        ask_price: Price::new(m + d("0.01")),
        ask_qty: Qty::new(d("1")),
        update_id: 1,
    })
}

/// (side, price) of each placed order, in order.
fn placed(out: &mut Intents) -> Vec<(Side, Decimal, ClientOrderId)> {
    out.drain()
        .map(|i| match i {
            OrderIntent::Place { id, order } => {
                assert_eq!(order.qty, Qty::new(d("0.100")), "qty rounded down to the step");
                (order.side, order.kind.price().unwrap().get(), id)
            }
            other => panic!("only places expected, got {other:?}"),
        })
        .collect()
}

fn filled(id: ClientOrderId, side: Side, price: &str) -> OrderUpdate {
    OrderUpdate::Filled { id, fill: testing::fill(venue(), btc(), id, side, "0.1", price) }
}

#[test]
fn lays_buys_below_and_sells_above_leaving_the_nearest_level_empty() {
    let mut g = grid(Spacing::Arithmetic);
    let mut out = Intents::new("g", 1);
    // No rules yet: nothing.
    g.on_event(&TestContext::default(), &quote("100.2"), &mut out).unwrap();
    assert!(out.is_empty());
    g.on_event(&ctx("1"), &quote("100.2"), &mut out).unwrap();
    let orders: Vec<(Side, Decimal)> = placed(&mut out).into_iter().map(|(s, p, _)| (s, p)).collect();
    assert_eq!(
        orders,
        [(Side::Buy, d("90")), (Side::Buy, d("95")), (Side::Sell, d("105")), (Side::Sell, d("110"))],
        "levels 90 95 100 105 110; 100 is nearest the price"
    );
    // Built once: later events place nothing.
    g.on_event(&ctx("1"), &quote("97"), &mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn sells_only_as_far_as_the_base_held_allows() {
    let mut g = grid(Spacing::Arithmetic);
    let mut out = Intents::new("g", 1);
    g.on_event(&ctx("0.15"), &quote("100"), &mut out).unwrap();
    let sides: Vec<Side> = placed(&mut out).into_iter().map(|(s, _, _)| s).collect();
    assert_eq!(sides, [Side::Buy, Side::Buy, Side::Sell], "one sell of 0.1 fits in 0.15");
}

#[test]
fn a_filled_level_is_answered_one_level_over() {
    let mut g = grid(Spacing::Arithmetic);
    let mut out = Intents::new("g", 1);
    let c = ctx("0");
    g.on_event(&c, &quote("100"), &mut out).unwrap();
    let first = placed(&mut out);
    assert_eq!(first.len(), 2, "no base held: buys only");
    let (_, _, buy_95) = first[1];
    // A partial fill changes nothing; the complete fill places a sell at 100.
    g.on_order_update(
        &c,
        &OrderUpdate::Accepted { id: buy_95, venue_order_id: crate::sdk::VenueOrderId::from(1) },
        &mut out,
    )
    .unwrap();
    assert!(out.is_empty());
    g.on_order_update(&c, &filled(buy_95, Side::Buy, "95"), &mut out).unwrap();
    let next = placed(&mut out);
    assert_eq!(next.iter().map(|(s, p, _)| (*s, *p)).collect::<Vec<_>>(), [(Side::Sell, d("100"))]);
    // That sell fills: a buy goes back to 95.
    g.on_order_update(&c, &filled(next[0].2, Side::Sell, "100"), &mut out).unwrap();
    let back: Vec<(Side, Decimal)> = placed(&mut out).into_iter().map(|(s, p, _)| (s, p)).collect();
    assert_eq!(back, [(Side::Buy, d("95"))]);
    // A cancelled order (not the grid's doing) is put back at the next timer tick.
    let (_, _, buy_90) = first[0];
    g.on_order_update(&c, &OrderUpdate::Canceled { id: buy_90 }, &mut out).unwrap();
    assert!(out.is_empty());
    g.on_timer(&c, &mut out).unwrap();
    assert_eq!(placed(&mut out).iter().map(|(s, p, _)| (*s, *p)).collect::<Vec<_>>(), [(Side::Buy, d("90"))]);
}

#[test]
fn after_a_halt_or_a_pause_the_grid_puts_its_orders_back_once_trading_resumes() {
    // regression (operator safety): grid never rebuilt after halt → resume, pause → resume, or a cancel
    let mut g = grid(Spacing::Arithmetic);
    let mut out = Intents::new("g", 1);
    let mut c = ctx("1");
    g.on_event(&c, &quote("100.2"), &mut out).unwrap();
    let first = placed(&mut out);
    assert_eq!(first.len(), 4);
    // Halt: the engine cancels every order; nothing is placed while halted.
    c.trading = crate::sdk::Trading::Halted;
    for (_, _, id) in &first {
        g.on_order_update(&c, &OrderUpdate::Canceled { id: *id }, &mut out).unwrap();
    }
    g.on_timer(&c, &mut out).unwrap();
    assert!(out.is_empty(), "halted");
    c.trading = crate::sdk::Trading::Active;
    g.on_timer(&c, &mut out).unwrap();
    let back: Vec<(Side, Decimal)> = placed(&mut out).into_iter().map(|(s, p, _)| (s, p)).collect();
    assert_eq!(back, [(Side::Buy, d("90")), (Side::Buy, d("95")), (Side::Sell, d("105")), (Side::Sell, d("110"))]);
}

#[test]
fn a_refused_order_is_tried_again_later_each_time() {
    let mut g = grid(Spacing::Arithmetic);
    let mut out = Intents::new("g", 1);
    let mut c = ctx("0");
    g.on_event(&c, &quote("100"), &mut out).unwrap();
    let first = placed(&mut out);
    let refused = |id| OrderUpdate::Rejected { id, reason: crate::sdk::Reason::new("-2010", "insufficient balance") };
    g.on_order_update(&c, &refused(first[0].2), &mut out).unwrap();
    g.on_timer(&c, &mut out).unwrap();
    assert!(out.is_empty(), "not at once");
    c.now = crate::sdk::Timestamp(1_000);
    g.on_timer(&c, &mut out).unwrap();
    let again = placed(&mut out);
    assert_eq!(again.len(), 1);
    g.on_order_update(&c, &refused(again[0].2), &mut out).unwrap();
    c.now = crate::sdk::Timestamp(2_500);
    g.on_timer(&c, &mut out).unwrap();
    assert!(out.is_empty(), "2 s after a second refusal");
    c.now = crate::sdk::Timestamp(3_000);
    g.on_timer(&c, &mut out).unwrap();
    assert_eq!(placed(&mut out).len(), 1);
}

#[test]
fn a_walk_up_through_the_sells_and_back_keeps_one_order_per_level_but_one() {
    let mut g = grid(Spacing::Arithmetic);
    let mut out = Intents::new("g", 1);
    let c = ctx("1");
    g.on_event(&c, &quote("100"), &mut out).unwrap();
    let mut live: Vec<(Side, Decimal, ClientOrderId)> = placed(&mut out);
    let mut fill_at = |live: &mut Vec<(Side, Decimal, ClientOrderId)>, g: &mut Grid, side: Side, price: &str| {
        let i = live.iter().position(|(s, p, _)| *s == side && *p == d(price)).unwrap();
        let (_, _, id) = live.remove(i);
        g.on_order_update(&c, &filled(id, side, price), &mut out).unwrap();
        live.extend(placed(&mut out));
        let mut book: Vec<(Side, Decimal)> = live.iter().map(|(s, p, _)| (*s, *p)).collect();
        book.sort_by_key(|(_, p)| *p);
        book
    };
    // Up: the sells at 105 and 110 fill, buys follow one level below each.
    fill_at(&mut live, &mut g, Side::Sell, "105");
    let book = fill_at(&mut live, &mut g, Side::Sell, "110");
    let buys = |p: &[&str]| p.iter().map(|p| (Side::Buy, d(p))).collect::<Vec<_>>();
    assert_eq!(book, buys(&["90", "95", "100", "105"]));
    // Back down: the buys at 105 and 100 fill, sells follow one level above each.
    fill_at(&mut live, &mut g, Side::Buy, "105");
    let book = fill_at(&mut live, &mut g, Side::Buy, "100");
    assert_eq!(book, [(Side::Buy, d("90")), (Side::Buy, d("95")), (Side::Sell, d("105")), (Side::Sell, d("110"))]);
}

#[test]
fn a_restart_takes_back_open_orders_instead_of_placing_them_again() {
    let mut c = ctx("1");
    let resting = |id: &str, side, price: &str| OpenOrder {
        id: ClientOrderId::new(id).unwrap(),
        order: NewOrder {
            venue: venue(),
            symbol: btc(),
            side,
            qty: Qty::new(d("0.1")),
            kind: OrderKind::Limit { price: Price::new(d(price)), tif: TimeInForce::Gtc },
        },
        filled: Qty::ZERO,
    };
    c.open_orders = vec![
        resting("tw-g-7", Side::Buy, "95"),
        resting("tw-g-8", Side::Sell, "110"),
        resting("tw-g-6", Side::Buy, "93"),
    ];
    let mut g = grid(Spacing::Arithmetic);
    let mut out = Intents::new("g", 9);
    g.on_start(&c, &mut out).unwrap();
    let off_grid: Vec<OrderIntent> = out.drain().collect();
    assert_eq!(off_grid, [OrderIntent::Cancel { id: ClientOrderId::new("tw-g-6").unwrap() }], "on no level: cancelled");
    c.open_orders.pop();
    g.on_event(&c, &quote("100"), &mut out).unwrap();
    let new: Vec<(Side, Decimal)> = placed(&mut out).into_iter().map(|(s, p, _)| (s, p)).collect();
    assert_eq!(new, [(Side::Buy, d("90")), (Side::Sell, d("105"))], "only the missing levels");
    // The adopted order is answered like any other.
    g.on_order_update(&c, &filled(ClientOrderId::new("tw-g-7").unwrap(), Side::Buy, "95"), &mut out).unwrap();
    assert_eq!(placed(&mut out).iter().map(|(s, p, _)| (*s, *p)).collect::<Vec<_>>(), [(Side::Sell, d("100"))]);
}

#[test]
fn geometric_levels_have_equal_ratios_and_land_on_ticks() {
    let p = Params { lower: d("100"), upper: d("400"), levels: 3, ..params(Spacing::Geometric) };
    let prices = p.prices();
    assert_eq!(prices[0], d("100"));
    assert_eq!(prices[2], d("400"));
    assert!((prices[1] - d("200")).abs() < d("0.000001"), "{}", prices[1]);
    let mut g = Grid::new(&Instance { name: "g".into(), venue: venue(), symbols: vec![btc()] }, p);
    let mut out = Intents::new("g", 1);
    g.on_event(&ctx("0"), &quote("390"), &mut out).unwrap();
    let orders = placed(&mut out);
    assert_eq!(orders.len(), 2);
    for (side, price, _) in orders {
        assert_eq!(side, Side::Buy);
        assert!(spec().validate(Price::new(price), Qty::new(d("0.1"))).is_ok(), "{price} is on the tick grid");
    }
}

#[test]
fn validation_names_each_key() {
    let bad = Params { lower: d("0"), upper: d("-1"), levels: 1, order_qty: d("0"), spacing: Spacing::Arithmetic };
    let inst = Instance { name: "g".into(), venue: venue(), symbols: vec![] };
    let mut errors = Vec::new();
    bad.validate(&inst, &mut errors);
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "lower: must be > 0, got 0",
            "upper: must be > lower (0), got -1",
            "levels: must be 2..=200, got 1",
            "order_qty: must be > 0, got 0",
            "symbols: a grid trades exactly one symbol, got 0",
        ]
    );
}
