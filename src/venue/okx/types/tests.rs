//! OKX's rows in the documented shapes, read into the order manager's terms.

use super::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[test]
fn a_spot_instrument_gives_its_trading_rules() {
    let row = r#"{"alias":"","baseCcy":"BTC","category":"1","instId":"BTC-USDT","instType":"SPOT","listTime":"1733454000000",
        "lotSz":"0.00000001","maxLmtAmt":"20000000","maxLmtSz":"9999999999","maxMktAmt":"1000000","maxMktSz":"1000000",
        "minSz":"0.00001","quoteCcy":"USDT","state":"live","tickSz":"0.1","uly":""}"#;
    let instrument: Instrument = serde_json::from_str(row).unwrap();
    assert!(instrument.is_trading());
    let spec = instrument.spec().unwrap();
    assert_eq!((spec.symbol.as_str(), spec.base.as_str(), spec.quote.as_str()), ("BTC-USDT", "BTC", "USDT"));
    assert_eq!((spec.tick_size, spec.step_size, spec.min_qty), (d("0.1"), d("0.00000001"), d("0.00001")));
    assert_eq!(
        (spec.max_qty, spec.max_notional, instrument.max_mkt_sz),
        (d("9999999999"), d("20000000"), d("1000000"))
    );
    let suspended: Instrument =
        serde_json::from_str(&row.replace(r#""state":"live""#, r#""state":"suspend""#)).unwrap();
    assert!(!suspended.is_trading());
}

#[test]
fn an_orders_update_gives_the_order_and_the_fill_it_reports() {
    let row = r#"{"accFillSz":"0.002","avgPx":"42000.5","cTime":"1746947317401","clOrdId":"twmm00001","execType":"M",
        "fee":"-0.0000036","feeCcy":"BTC","fillFee":"-0.0000016","fillFeeCcy":"BTC","fillPx":"42000.5","fillSz":"0.001",
        "fillTime":"1746947317402","instId":"BTC-USDT","instType":"SPOT","ordId":"2497956918703120384","ordType":"post_only",
        "px":"42000.5","side":"buy","state":"partially_filled","sz":"0.005","tdMode":"cash","tgtCcy":"","tradeId":"1518905529",
        "uTime":"1746947317402"}"#;
    let order: OrderRow = serde_json::from_str(row).unwrap();
    let state = order.state();
    assert_eq!((state.client_order_id.as_str(), state.status), ("twmm00001", OrderStatus::PartiallyFilled));
    assert_eq!(
        (state.executed_qty, state.qty, state.kind),
        (d("0.002"), d("0.005"), Some(OrderKind::PostOnly { price: Price::new(d("42000.5")) }))
    );
    let fill = order.fill().unwrap();
    assert_eq!(
        (fill.trade_id.as_str(), fill.qty, fill.fee),
        ("1518905529", d("0.001"), d("0.0000016")),
        "a charged fee is positive here"
    );
    assert_eq!((fill.fee_asset.map(|a| a.to_string()), fill.liquidity), (Some("BTC".into()), Liquidity::Maker));
    // An update without a fill (accepted, cancelled) reports none.
    let quiet: OrderRow = serde_json::from_str(&row.replace(r#""tradeId":"1518905529""#, r#""tradeId":"""#)).unwrap();
    assert!(quiet.fill().is_none());
    // A market order: no price.
    let market: OrderRow =
        serde_json::from_str(&row.replace(r#""px":"42000.5""#, r#""px":"""#).replace("post_only", "market")).unwrap();
    assert_eq!((market.state().kind, market.state().price), (Some(OrderKind::Market), Decimal::ZERO));
}

#[test]
fn states_and_order_types_in_the_order_managers_terms() {
    let cases = [
        ("live", OrderStatus::New),
        ("partially_filled", OrderStatus::PartiallyFilled),
        ("filled", OrderStatus::Filled),
        ("canceled", OrderStatus::Canceled),
        ("mmp_canceled", OrderStatus::Canceled),
        ("something_new", OrderStatus::New),
    ];
    for (word, expected) in cases {
        assert_eq!(status(word), expected, "{word}");
    }
    let p = Price::new(d("1"));
    for kind in [
        OrderKind::Market,
        OrderKind::Limit { price: p, tif: TimeInForce::Gtc },
        OrderKind::Limit { price: p, tif: TimeInForce::Ioc },
        OrderKind::Limit { price: p, tif: TimeInForce::Fok },
        OrderKind::PostOnly { price: p },
    ] {
        assert_eq!(order_kind(ord_type(&kind), p), Some(kind));
    }
    assert_eq!(order_kind("optimal_limit_ioc", p), None);
    assert_eq!((side("buy"), side("sell"), side("BUY")), (Some(Side::Buy), Some(Side::Sell), None));
}

#[test]
fn fills_and_balances() {
    let fill = r#"{"instType":"SPOT","instId":"BTC-USDT","tradeId":"123456789","ordId":"987654321","clOrdId":"twmm00002",
        "billId":"456","fillPx":"42000.5","fillSz":"0.001","side":"buy","execType":"T","feeCcy":"USDT","fee":"-0.042","ts":"1625097600000"}"#;
    let trade = serde_json::from_str::<Fill>(fill).unwrap().trade();
    assert_eq!(
        (trade.price, trade.fee, trade.liquidity, trade.time),
        (d("42000.5"), d("0.042"), Liquidity::Taker, Timestamp(1_625_097_600_000))
    );

    let account = r#"{"adjEq":"","details":[{"availBal":"94.42612990333333","cashBal":"99.89469657000001","ccy":"USDT",
        "frozenBal":"5.468566666666667","uTime":"1744498994783"},{"availBal":"0.5","cashBal":"0.5","ccy":"BTC","frozenBal":"0"}],
        "totalEq":"99.88870288820581","uTime":"1744499648556"}"#;
    let state = account_state(&[serde_json::from_str::<Account>(account).unwrap()]);
    assert_eq!(state.update_time, Some(1_744_499_648_556));
    assert_eq!(
        state.balances[0],
        ("USDT".to_owned(), Balance { free: d("94.42612990333333"), locked: d("5.468566666666667") })
    );
    assert_eq!(state.balances[1].1.free, d("0.5"));
}
