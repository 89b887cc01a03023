use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::venue::sim::synth::Synth;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

const ALICE: AccountId = 2;
const BOB: AccountId = 3;

/// BTCUSDT only, two funded accounts, no background market.
fn exchange() -> Exchange {
    let mut config = SimConfig::default();
    config.symbols.truncate(1);
    let mut ex = Exchange::new(config);
    ex.open_account(ALICE);
    ex.open_account(BOB);
    ex
}

fn limit(side: Side, price: &str, qty: &str, client: &str) -> NewOrder {
    NewOrder {
        symbol: "BTCUSDT".into(),
        side,
        kind: OrdType::Limit,
        tif: Tif::Gtc,
        qty: Some(d(qty)),
        quote_qty: None,
        price: Some(d(price)),
        client_id: Some(client.into()),
    }
}

fn market(side: Side, qty: Option<&str>, quote: Option<&str>) -> NewOrder {
    NewOrder {
        kind: OrdType::Market,
        price: None,
        qty: qty.map(d),
        quote_qty: quote.map(d),
        client_id: None,
        ..limit(side, "1", "1", "x")
    }
}

fn bal(ex: &Exchange, account: AccountId, asset: &str) -> (Decimal, Decimal) {
    let b = ex.ledger().balance(account, asset);
    (b.free, b.locked)
}

#[test]
fn resting_orders_lock_funds_and_cancels_release_them() {
    let mut ex = exchange();
    let id = ex.place(ALICE, &limit(Side::Buy, "50000", "0.5", "a1"), 1).unwrap();
    assert_eq!(bal(&ex, ALICE, "USDT"), (d("75000"), d("25000")));
    assert_eq!(ex.order(ALICE, None, Some("a1")).unwrap().status, Status::New);
    assert_eq!(ex.place(ALICE, &limit(Side::Buy, "50000", "0.5", "a1"), 2).unwrap_err().msg, "Duplicate order sent.");
    ex.cancel(ALICE, "BTCUSDT", None, Some("a1"), Some("c1".into()), 3).unwrap();
    assert_eq!(bal(&ex, ALICE, "USDT"), (d("100000"), d("0")));
    assert_eq!(ex.order(ALICE, Some(id), None).unwrap().status, Status::Canceled);
    assert_eq!(ex.cancel(ALICE, "BTCUSDT", Some(id), None, None, 4).unwrap_err().code, -2011);
    // The client id is free again once the order is closed.
    ex.place(ALICE, &limit(Side::Buy, "50000", "0.5", "a1"), 5).unwrap();
    let cancel_report = ex.drain_events().find_map(|e| match e {
        Event::Execution { exec: ExecType::Canceled, cancel_client_id, .. } => Some(cancel_client_id),
        _ => None,
    });
    assert_eq!(cancel_report, Some(Some("c1".to_owned())));
}

#[test]
fn a_trade_moves_exact_amounts_and_charges_fees_in_the_asset_received() {
    let mut ex = exchange();
    let maker = ex.place(BOB, &limit(Side::Sell, "60000", "0.3", "b1"), 1).unwrap();
    ex.drain_events().for_each(drop);
    let taker = ex.place(ALICE, &limit(Side::Buy, "60100", "0.1", "a1"), 2).unwrap();
    // Alice paid 0.1 × 60000 (not her limit), got 0.1 BTC less 0.1 % taker fee.
    assert_eq!(bal(&ex, ALICE, "USDT"), (d("94000"), d("0")));
    assert_eq!(bal(&ex, ALICE, "BTC"), (d("1.0999"), d("0")));
    // Bob sold 0.1 of 0.3 locked; received 6000 less 6 USDT maker fee.
    assert_eq!(bal(&ex, BOB, "BTC"), (d("0.7"), d("0.2")));
    assert_eq!(bal(&ex, BOB, "USDT"), (d("105994"), d("0")));
    assert_eq!(bal(&ex, FEE_ACCOUNT, "USDT").0, d("6"));
    assert_eq!(bal(&ex, FEE_ACCOUNT, "BTC").0, d("0.0001"));
    assert_eq!(ex.order(ALICE, Some(taker), None).unwrap().status, Status::Filled);
    let m = ex.order(BOB, Some(maker), None).unwrap();
    assert_eq!((m.status, m.executed_qty, m.cum_quote), (Status::PartiallyFilled, d("0.1"), d("6000")));
    let alice_trades = ex.my_trades(ALICE, "BTCUSDT", None, None, 10);
    assert_eq!(alice_trades.len(), 1);
    assert!(alice_trades[0].is_buyer && !alice_trades[0].is_maker);
    let kinds: Vec<_> = ex
        .drain_events()
        .filter_map(|e| match e {
            Event::Execution { account, exec, .. } => Some((account, exec)),
            Event::Trade { price, .. } => Some((0, if price == d("60000") { ExecType::Trade } else { ExecType::New })),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, [(ALICE, ExecType::New), (0, ExecType::Trade), (ALICE, ExecType::Trade), (BOB, ExecType::Trade)]);
}

#[test]
fn market_orders_by_quantity_and_by_quote_amount() {
    let mut ex = exchange();
    ex.place(BOB, &limit(Side::Sell, "60000", "0.1", "b1"), 1).unwrap();
    ex.place(BOB, &limit(Side::Sell, "60010", "0.1", "b2"), 1).unwrap();
    let id = ex.place(ALICE, &market(Side::Buy, Some("0.15"), None), 2).unwrap();
    let o = ex.order(ALICE, Some(id), None).unwrap();
    assert_eq!((o.status, o.executed_qty, o.cum_quote), (Status::Filled, d("0.15"), d("9000.5")));
    assert_eq!(bal(&ex, ALICE, "USDT"), (d("90999.5"), d("0")));
    // 1000 USDT buys floor(1000 / 60010 / step) lots at the remaining level.
    let id = ex.place(ALICE, &market(Side::Buy, None, Some("1000")), 3).unwrap();
    let o = ex.order(ALICE, Some(id), None).unwrap();
    assert_eq!(o.executed_qty, d("0.01666"));
    assert!(o.cum_quote <= d("1000"));
    assert_eq!(ex.place(ALICE, &market(Side::Sell, Some("0.1"), None), 4).unwrap_err().msg, "Market is closed.");
}

#[test]
fn filters_and_balances_refuse_bad_orders_with_binance_codes() {
    let mut ex = exchange();
    let cases = [
        (limit(Side::Buy, "50000.005", "0.1", "p"), -1013, "Filter failure: PRICE_FILTER"),
        (limit(Side::Buy, "50000", "0.000001", "q"), -1013, "Filter failure: LOT_SIZE"),
        (limit(Side::Buy, "1", "0.001", "n"), -1013, "Filter failure: NOTIONAL"),
        (limit(Side::Buy, "50000", "3", "i"), -2010, "Account has insufficient balance for requested action."),
        (limit(Side::Sell, "50000", "1.5", "s"), -2010, "Account has insufficient balance for requested action."),
        (NewOrder { symbol: "XYZ".into(), ..limit(Side::Buy, "1", "1", "u") }, -1121, "Invalid symbol."),
    ];
    for (order, code, msg) in cases {
        let e = ex.place(ALICE, &order, 1).unwrap_err();
        assert_eq!((e.code, e.msg.as_str()), (code, msg), "{order:?}");
    }
    ex.place(BOB, &limit(Side::Sell, "60000", "0.1", "b1"), 1).unwrap();
    let maker = NewOrder { kind: OrdType::LimitMaker, ..limit(Side::Buy, "60000", "0.1", "m") };
    assert_eq!(ex.place(ALICE, &maker, 2).unwrap_err().msg, "Order would immediately match and take.");
    assert_eq!(ex.order(ALICE, None, Some("nope")).unwrap_err().code, -2013);
    assert_eq!(bal(&ex, ALICE, "USDT"), (d("100000"), d("0")), "refusals change nothing");
}

#[test]
fn ioc_and_fok_never_rest() {
    let mut ex = exchange();
    ex.place(BOB, &limit(Side::Sell, "60000", "0.1", "b1"), 1).unwrap();
    let ioc = NewOrder { tif: Tif::Ioc, ..limit(Side::Buy, "60000", "0.3", "i") };
    let id = ex.place(ALICE, &ioc, 2).unwrap();
    let o = ex.order(ALICE, Some(id), None).unwrap();
    assert_eq!((o.status, o.executed_qty), (Status::Expired, d("0.1")));
    assert_eq!(bal(&ex, ALICE, "USDT").1, d("0"), "nothing stays locked");
    ex.place(BOB, &limit(Side::Sell, "60000", "0.1", "b2"), 3).unwrap();
    let fok = NewOrder { tif: Tif::Fok, ..limit(Side::Buy, "60000", "0.2", "f") };
    let id = ex.place(ALICE, &fok, 4).unwrap();
    assert_eq!(ex.order(ALICE, Some(id), None).unwrap().executed_qty, d("0"));
    assert!(ex.open_orders(ALICE, None).is_empty());
}

/// Applies a diff to a copy of the book the way a client does.
fn apply(book: &mut BTreeMap<(bool, Decimal), Decimal>, diff: &DepthDiff) {
    for (is_bid, levels) in [(true, &diff.bids), (false, &diff.asks)] {
        for (p, q) in levels {
            if q.is_zero() {
                book.remove(&(is_bid, *p));
            } else {
                book.insert((is_bid, *p), *q);
            }
        }
    }
}

fn snapshot(ex: &Exchange) -> (u64, BTreeMap<(bool, Decimal), Decimal>) {
    let (id, bids, asks) = ex.depth("BTCUSDT", 5000).unwrap();
    let book =
        bids.into_iter().map(|(p, q)| ((true, p), q)).chain(asks.into_iter().map(|(p, q)| ((false, p), q))).collect();
    (id, book)
}

#[test]
fn depth_diffs_rebuild_the_book_from_a_snapshot() {
    let mut ex =
        Exchange::new(SimConfig { symbols: SimConfig::default().symbols[..1].to_vec(), ..SimConfig::default() });
    let mut synth = Synth::new(3, &ex);
    synth.step(&mut ex, 0);
    ex.take_depth_diff(0);
    let (snap_id, mut book) = snapshot(&ex);
    let mut last = snap_id;
    for t in 1..50 {
        synth.step(&mut ex, t);
        if let Some(diff) = ex.take_depth_diff(0) {
            assert_eq!(diff.first_update_id, last + 1, "diffs are contiguous");
            last = diff.last_update_id;
            apply(&mut book, &diff);
        }
        assert_eq!(book, snapshot(&ex).1, "step {t}");
    }
}

#[test]
fn the_synthetic_market_is_deterministic_per_seed() {
    let run = |seed| {
        let mut ex = Exchange::new(SimConfig::default());
        let mut synth = Synth::new(seed, &ex);
        let mut trades = Vec::new();
        for t in 0..200 {
            synth.step(&mut ex, t);
            trades.extend(ex.drain_events().filter_map(|e| match e {
                Event::Trade { price, qty, .. } => Some((price, qty)),
                _ => None,
            }));
        }
        trades
    };
    let a = run(7);
    assert!(a.len() > 20, "the market trades: {} trades", a.len());
    assert_eq!(a, run(7));
    assert_ne!(a, run(8));
}

#[derive(Debug, Clone)]
enum Op {
    Limit { alice: bool, buy: bool, price_off: i64, lots: i64, tif: u8 },
    Market { alice: bool, buy: bool, lots: i64, by_quote: bool },
    Cancel { alice: bool, nth: usize },
    Amend { alice: bool, nth: usize, price_off: Option<i64>, lots: Option<i64> },
    Step,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), any::<bool>(), -40i64..40, 1i64..200_000, 0u8..4)
            .prop_map(|(alice, buy, price_off, lots, tif)| Op::Limit { alice, buy, price_off, lots, tif }),
        (any::<bool>(), any::<bool>(), 1i64..100_000, any::<bool>())
            .prop_map(|(alice, buy, lots, by_quote)| Op::Market { alice, buy, lots, by_quote }),
        (any::<bool>(), 0usize..10).prop_map(|(alice, nth)| Op::Cancel { alice, nth }),
        (any::<bool>(), 0usize..10, proptest::option::of(-40i64..40), proptest::option::of(1i64..200_000))
            .prop_map(|(alice, nth, price_off, lots)| Op::Amend { alice, nth, price_off, lots }),
        Just(Op::Step),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever happens, no asset is created or destroyed (fees move to the
    /// fee account), no balance goes negative, and every account's locked
    /// balance is exactly what its open orders hold.
    #[test]
    fn the_ledger_always_balances(ops in proptest::collection::vec(op(), 1..120)) {
        let mut ex = exchange();
        let mut synth = Synth::new(11, &ex);
        synth.step(&mut ex, 0);
        let before = ex.ledger().totals();
        for (t, op) in ops.into_iter().enumerate() {
            let t = t as i64 + 1;
            let who = |alice: bool| if alice { ALICE } else { BOB };
            let side = |buy: bool| if buy { Side::Buy } else { Side::Sell };
            match op {
                Op::Limit { alice, buy, price_off, lots, tif } => {
                    let price = (Decimal::from(6_000_000 + price_off) * d("0.01")).to_string();
                    let qty = (Decimal::from(lots) * d("0.00001")).to_string();
                    let mut order = limit(side(buy), &price, &qty, &format!("c{t}"));
                    order.tif = [Tif::Gtc, Tif::Ioc, Tif::Fok, Tif::Gtc][usize::from(tif)];
                    if tif == 3 { order.kind = OrdType::LimitMaker; }
                    let _ = ex.place(who(alice), &order, t);
                }
                Op::Market { alice, buy, lots, by_quote } => {
                    let amount = (Decimal::from(lots) * d("0.00001")).to_string();
                    let order = if by_quote {
                        market(side(buy), None, Some(&(d(&amount) * d("60000")).to_string()))
                    } else {
                        market(side(buy), Some(&amount), None)
                    };
                    let _ = ex.place(who(alice), &order, t);
                }
                Op::Cancel { alice, nth } => {
                    let open: Vec<u64> = ex.open_orders(who(alice), None).iter().map(|o| o.id).collect();
                    if let Some(id) = open.get(nth % open.len().max(1)) {
                        ex.cancel(who(alice), "BTCUSDT", Some(*id), None, None, t).unwrap();
                    }
                }
                Op::Amend { alice, nth, price_off, lots } => {
                    let open: Vec<u64> = ex.open_orders(who(alice), None).iter().map(|o| o.id).collect();
                    if let Some(id) = open.get(nth % open.len().max(1)) {
                        let price = price_off.map(|p| Decimal::from(6_000_000 + p) * d("0.01"));
                        let qty = lots.map(|l| Decimal::from(l) * d("0.00001"));
                        let _ = ex.amend(who(alice), "BTCUSDT", (Some(*id), None), Amendment { qty, price }, t);
                    }
                }
                Op::Step => synth.step(&mut ex, t),
            }
            ex.drain_events().for_each(drop);
            prop_assert_eq!(ex.ledger().totals(), before.clone());
            prop_assert!(ex.ledger().all_non_negative());
            for account in [ALICE, BOB] {
                let mut held: BTreeMap<String, Decimal> = BTreeMap::new();
                for o in ex.open_orders(account, None) {
                    let asset = if o.side == Side::Buy { "USDT" } else { "BTC" };
                    *held.entry(asset.to_owned()).or_default() += o.locked;
                }
                for asset in ["USDT", "BTC"] {
                    prop_assert_eq!(bal(&ex, account, asset).1, held.get(asset).copied().unwrap_or_default(), "{} {}", account, asset);
                }
            }
        }
    }
}

#[test]
fn background_liquidity_leaves_nothing_behind() {
    let mut ex = Exchange::new(SimConfig::default());
    let mut synth = Synth::new(3, &ex);
    for step in 0..3_000 {
        synth.step(&mut ex, step);
        ex.drain_events().for_each(drop);
    }
    // Only the resting quotes of the last step remain (20 per symbol), nothing per past order.
    let resting: usize = ex.symbols().len() * 20;
    assert!(ex.orders.len() <= resting, "{} orders kept after 3000 steps", ex.orders.len());
    assert!(ex.by_client.is_empty(), "{} client ids kept", ex.by_client.len());
}

#[test]
fn closed_orders_beyond_the_history_leave_memory() {
    let mut ex = exchange();
    let total = CLOSED_KEPT + 50;
    for n in 0..total {
        let client = format!("c{n}");
        let id = ex.place(ALICE, &limit(Side::Buy, "50000", "0.001", &client), 1).unwrap();
        ex.cancel(ALICE, "BTCUSDT", Some(id), None, None, 2).unwrap();
    }
    assert_eq!(ex.orders.len(), CLOSED_KEPT);
    assert_eq!(ex.by_client.len(), CLOSED_KEPT);
    // The newest are still queryable; the oldest are gone.
    assert!(ex.order(ALICE, None, Some(&format!("c{}", total - 1))).is_ok());
    assert!(ex.order(ALICE, None, Some("c0")).is_err());
}

/// The times of the balance events drained so far.
fn balance_times(ex: &mut Exchange) -> Vec<i64> {
    ex.drain_events().filter_map(|e| if let Event::Balances { time, .. } = e { Some(time) } else { None }).collect()
}

#[test]
fn changes_are_stamped_in_the_order_they_apply_and_after_any_read_that_misses_them() {
    let mut ex = exchange();
    ex.place(ALICE, &limit(Side::Buy, "50000", "0.1", "a1"), 100).unwrap();
    // A request that read the clock earlier but took the lock later is not stamped earlier.
    ex.place(ALICE, &limit(Side::Buy, "50000", "0.1", "a2"), 90).unwrap();
    assert_eq!(balance_times(&mut ex), [100, 100]);
    // A read of the account at 100 shows both; the next change, though its request
    // read 100 (or earlier), is later than the read.
    assert_eq!(ex.read_time(100), 100);
    ex.cancel(ALICE, "BTCUSDT", None, Some("a1"), None, 95).unwrap();
    assert_eq!(balance_times(&mut ex), [101]);
    assert_eq!(ex.read_time(80), 101, "a read is never earlier than a change it shows");
    ex.cancel(ALICE, "BTCUSDT", None, Some("a2"), None, 500).unwrap();
    assert_eq!(balance_times(&mut ex), [500], "the machine's clock, once it is ahead");
}

const CAROL: AccountId = 4;

/// Who traded with CAROL's taker: the makers' client ids, in match order.
fn makers_hit(ex: &mut Exchange) -> Vec<(String, Decimal)> {
    ex.drain_events()
        .filter_map(|e| match e {
            Event::Execution { account, order, fill: Some(f), .. } if account != CAROL => {
                Some((order.client_id.clone(), f.qty))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn an_amend_to_less_at_the_same_price_keeps_the_queue_place_and_more_loses_it() {
    let mut ex = exchange();
    ex.open_account(CAROL);
    ex.place(ALICE, &limit(Side::Buy, "50000", "0.5", "a1"), 1).unwrap();
    ex.place(BOB, &limit(Side::Buy, "50000", "0.5", "b1"), 2).unwrap();
    ex.amend(ALICE, "BTCUSDT", (None, Some("a1")), Amendment { qty: Some(d("0.3")), price: None }, 3).unwrap();
    assert_eq!(bal(&ex, ALICE, "USDT"), (d("85000"), d("15000")), "the lock follows the quantity");
    let a1 = ex.order(ALICE, None, Some("a1")).unwrap();
    assert_eq!((a1.orig_qty, a1.price, a1.status), (d("0.3"), d("50000"), Status::New));
    ex.drain_events().for_each(drop);
    ex.place(CAROL, &limit(Side::Sell, "50000", "0.1", "c1"), 4).unwrap();
    assert_eq!(makers_hit(&mut ex), [("a1".to_owned(), d("0.1"))], "still first in the queue");

    // More than before: to the back, behind BOB.
    ex.amend(ALICE, "BTCUSDT", (None, Some("a1")), Amendment { qty: Some(d("0.6")), price: None }, 5).unwrap();
    assert_eq!(bal(&ex, ALICE, "USDT").1, d("25000"), "0.5 left at 50000");
    ex.drain_events().for_each(drop);
    ex.place(CAROL, &limit(Side::Sell, "50000", "0.6", "c2"), 6).unwrap();
    assert_eq!(makers_hit(&mut ex), [("b1".to_owned(), d("0.5")), ("a1".to_owned(), d("0.1"))]);
    let a1 = ex.order(ALICE, None, Some("a1")).unwrap();
    assert_eq!((a1.executed_qty, a1.status), (d("0.2"), Status::PartiallyFilled));
}

#[test]
fn an_amend_to_a_crossing_price_trades_at_once_and_rests_the_rest() {
    let mut ex = exchange();
    ex.open_account(CAROL);
    ex.place(CAROL, &limit(Side::Sell, "50100", "0.2", "c1"), 1).unwrap();
    ex.place(ALICE, &limit(Side::Buy, "50000", "0.5", "a1"), 2).unwrap();
    ex.drain_events().for_each(drop);
    ex.amend(ALICE, "BTCUSDT", (None, Some("a1")), Amendment { qty: None, price: Some(d("50200")) }, 3).unwrap();
    let events: Vec<Event> = ex.drain_events().collect();
    let amended = events.iter().any(|e| matches!(e, Event::Execution { exec: ExecType::Amended, .. }));
    assert!(amended, "the amend is reported: {events:?}");
    let trades: Vec<(Decimal, Decimal)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Trade { price, qty, .. } => Some((*price, *qty)),
            _ => None,
        })
        .collect();
    assert_eq!(trades, [(d("50100"), d("0.2"))], "at the maker's price");
    let a1 = ex.order(ALICE, None, Some("a1")).unwrap();
    assert_eq!((a1.executed_qty, a1.price, a1.status), (d("0.2"), d("50200"), Status::PartiallyFilled));
    // 0.3 left at 50200 locked; the 0.2 bought at 50100 spent 10020 (the BTC fee is in BTC).
    assert_eq!(bal(&ex, ALICE, "USDT"), (d("100000") - d("10020") - d("15060"), d("15060")));
    assert_eq!(ex.symbols()[0].best_bid().unwrap().0, d("50200"));
}

#[test]
fn an_amend_the_filters_or_funds_refuse_changes_nothing() {
    let mut ex = exchange();
    ex.place(ALICE, &limit(Side::Buy, "50000", "0.5", "a1"), 1).unwrap();
    let before = (ex.order(ALICE, None, Some("a1")).unwrap().clone(), bal(&ex, ALICE, "USDT"));
    let amend = |ex: &mut Exchange, qty: Option<&str>, price: Option<&str>| {
        ex.amend(ALICE, "BTCUSDT", (None, Some("a1")), Amendment { qty: qty.map(d), price: price.map(d) }, 2)
            .unwrap_err()
            .msg
    };
    assert!(amend(&mut ex, Some("3"), None).contains("insufficient"), "150000 USDT needed");
    assert!(amend(&mut ex, None, Some("50000.005")).contains("PRICE_FILTER"));
    assert!(amend(&mut ex, Some("0.0000001"), None).contains("LOT_SIZE"));
    assert_eq!((ex.order(ALICE, None, Some("a1")).unwrap().clone(), bal(&ex, ALICE, "USDT")), before);
    // Another account's order, or a closed one, is not found.
    assert_eq!(
        ex.amend(BOB, "BTCUSDT", (None, Some("a1")), Amendment { qty: Some(d("0.1")), price: None }, 3)
            .unwrap_err()
            .code,
        -2011
    );
    ex.cancel(ALICE, "BTCUSDT", None, Some("a1"), None, 4).unwrap();
    assert_eq!(
        ex.amend(ALICE, "BTCUSDT", (None, Some("a1")), Amendment { qty: Some(d("0.1")), price: None }, 5)
            .unwrap_err()
            .code,
        -2011
    );
}
