use rust_decimal::Decimal;
use tradewind_strategies::sdk::{Liquidity, Timestamp};

use super::*;
use crate::execution::report::OrderStatus;
use crate::secret::Secret;
use crate::venue::binance::Limits;
use crate::venue::sign::Signer;

#[test]
fn a_new_order_goes_as_a_signed_form_body_and_other_requests_in_the_query() {
    crate::venue::install_tls_provider();
    let signer = Signer::hmac(&Secret::new("test-secret")).unwrap();
    let credentials = Credentials { api_key: Secret::new("test-key"), signer: signer.clone() };
    let limiter = Arc::new(RateLimiter::new(Limits::default().budgets()));
    let rest =
        RestClient::new("http://127.0.0.1:9/prefix/", Some(credentials), 5000, Duration::from_secs(1), limiter.clone())
            .unwrap();
    let order = NewOrder {
        venue: tradewind_strategies::sdk::VenueId::new("binance").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Buy,
        qty: tradewind_strategies::sdk::Qty::new("0.001".parse().unwrap()),
        kind: OrderKind::PostOnly { price: tradewind_strategies::sdk::Price::new("64000.1".parse().unwrap()) },
    };
    let id = ClientOrderId::new("tw-a-1").unwrap();
    let prepared = rest.prepare_new_order_now(&id, &order, None).unwrap().unwrap();
    assert_eq!(limiter.used(limits::WEIGHT), 1);
    let request = &prepared.request;
    assert_eq!(request.url().as_str(), "http://127.0.0.1:9/prefix/api/v3/order");
    assert_eq!(request.headers()["x-mbx-apikey"], "test-key");
    assert!(request.headers()["x-mbx-apikey"].is_sensitive());
    assert_eq!(request.headers()["content-type"], "application/x-www-form-urlencoded");
    let body = std::str::from_utf8(request.body().and_then(reqwest::Body::as_bytes).unwrap()).unwrap();
    let (payload, signature) = body.rsplit_once("&signature=").unwrap();
    assert!(payload.starts_with("symbol=BTCUSDT&side=BUY&type=LIMIT_MAKER&quantity=0.001&price=64000.1&newClientOrderId=tw-a-1&newOrderRespType=ACK&recvWindow=5000&timestamp="), "{payload}");
    assert_eq!(signature, signer.sign_rest(payload.as_bytes()), "the signature covers the whole body");

    let mut q = Query::new();
    q.push("symbol", "BTCUSDT").push("origClientOrderId", "tw-a-1");
    let query = rest.prepare(rest.signed(Method::GET, "/api/v3/order", q, 4, Priority::Query)).unwrap();
    assert!(query.request.body().is_none());
    let url = query.request.url();
    assert_eq!(url.path(), "/prefix/api/v3/order");
    assert!(url.query().unwrap().starts_with("symbol=BTCUSDT&origClientOrderId=tw-a-1&recvWindow=5000&timestamp="));
    // The query of one request never leaks into the next's URL (order URLs are parsed once and cloned).
    let again = rest.prepare(rest.signed(Method::GET, "/api/v3/order", Query::new(), 4, Priority::Query)).unwrap();
    assert!(!again.request.url().as_str().contains("origClientOrderId"), "{}", again.request.url());

    let replace = rest.prepare_cancel_replace_now(&id, &ClientOrderId::new("tw-a-2").unwrap(), &order, None);
    let replace = replace.unwrap().unwrap();
    assert_eq!(replace.request.url().as_str(), "http://127.0.0.1:9/prefix/api/v3/order/cancelReplace");
    let body = std::str::from_utf8(replace.request.body().and_then(reqwest::Body::as_bytes).unwrap()).unwrap();
    let (payload, signature) = body.rsplit_once("&signature=").unwrap();
    assert!(payload.contains("&cancelReplaceMode=STOP_ON_FAILURE&cancelOrigClientOrderId=tw-a-1&"), "{payload}");
    assert_eq!(signature, signer.sign_rest(payload.as_bytes()));
    // Any other endpoint is put together from the base URL.
    let open = rest.prepare(rest.signed(Method::GET, "/api/v3/openOrders", Query::new(), 6, Priority::Query)).unwrap();
    assert_eq!(open.request.url().path(), "/prefix/api/v3/openOrders");
    let bare = RestClient::new("http://127.0.0.1:9", None, 5000, Duration::from_secs(1), limiter).unwrap();
    assert_eq!(bare.order_urls[1].1.as_str(), "http://127.0.0.1:9/api/v3/order/cancelReplace");
}

#[test]
fn exchange_info_gives_filters_and_limits() {
    let raw: serde_json::Value = serde_json::from_str(r#"{
        "rateLimits": [
            {"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":1200},
            {"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":20},
            {"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":1000},
            {"rateLimitType":"RAW_REQUESTS","interval":"MINUTE","intervalNum":5,"limit":300000}],
        "symbols": [
            {"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","filters":[
                {"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"},
                {"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","stepSize":"0.00001000"},
                {"filterType":"NOTIONAL","minNotional":"5.00000000","applyMinToMarket":true,"maxNotional":"9000000.00000000","applyMaxToMarket":false,"avgPriceMins":5},
                {"filterType":"ICEBERG_PARTS","limit":100}]},
            {"symbol":"LTCBTC","status":"BREAK","baseAsset":"LTC","quoteAsset":"BTC","filters":[
                {"filterType":"MIN_NOTIONAL","minNotional":"0.00010000","applyToMarket":true,"avgPriceMins":5}]},
            {"symbol":"这是测试币456USDT","status":"TRADING","baseAsset":"这是测试币456","quoteAsset":"USDT","filters":[]}]
    }"#).unwrap();
    let info = parse_exchange_info(&raw).unwrap();
    assert_eq!(info.limits, Limits { weight_per_minute: 1200, orders_per_10s: 20, orders_per_day: 1000 });
    assert_eq!(info.instruments.len(), 2, "the unrepresentable symbol is skipped");
    let btc = &info.instruments[0];
    assert_eq!(btc.tick_size, "0.01".parse().unwrap());
    assert_eq!(btc.step_size, "0.00001".parse().unwrap());
    assert_eq!(btc.min_notional, Decimal::from(5));
    assert_eq!(info.instruments[1].min_notional, "0.0001".parse().unwrap());
    assert_eq!(info.halted, vec![Symbol::new("LTCBTC").unwrap()]);
    assert!(parse_exchange_info(&serde_json::json!({"symbols": []})).is_err());
}

#[test]
fn new_order_queries_match_binance_parameters() {
    let id = ClientOrderId::new("tw-sma-1").unwrap();
    let order = NewOrder {
        venue: tradewind_strategies::sdk::VenueId::new("sim").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Buy,
        qty: tradewind_strategies::sdk::Qty::new("0.001".parse().unwrap()),
        kind: OrderKind::Limit {
            price: tradewind_strategies::sdk::Price::new("60000.5".parse().unwrap()),
            tif: tradewind_strategies::sdk::TimeInForce::Gtc,
        },
    };
    assert_eq!(
        order_query(&id, &order).as_str(),
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000.5&newClientOrderId=tw-sma-1&newOrderRespType=ACK"
    );
    let market = NewOrder { side: Side::Sell, kind: OrderKind::Market, ..order };
    assert_eq!(
        order_query(&id, &market).as_str(),
        "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.001&newClientOrderId=tw-sma-1&newOrderRespType=ACK"
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_order_waiting_for_the_rate_budget_is_queued_until_it_goes() {
    // regression: `tradewind orders` listed orders still waiting behind the rate limiter as open
    crate::venue::install_tls_provider();
    let credentials = Credentials { api_key: Secret::new("k"), signer: Signer::hmac(&Secret::new("s")).unwrap() };
    let limits = Limits { weight_per_minute: 6000, orders_per_10s: 1, orders_per_day: 1000 };
    let limiter = Arc::new(RateLimiter::new(limits.budgets()));
    // Nothing listens on port 9: once sent, the order fails to connect.
    let rest = Arc::new(
        RestClient::new("http://127.0.0.1:9", Some(credentials), 5000, Duration::from_secs(1), limiter.clone())
            .unwrap(),
    );
    let order = NewOrder {
        venue: tradewind_strategies::sdk::VenueId::new("sim").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Buy,
        qty: tradewind_strategies::sdk::Qty::new("0.001".parse().unwrap()),
        kind: OrderKind::Market,
    };
    let (first, second) = (ClientOrderId::new("tw-a-1").unwrap(), ClientOrderId::new("tw-a-2").unwrap());
    // The window's one order goes at once; the next one waits for the next window.
    let sent = rest.prepare_new_order_now(&first, &order, None).unwrap().unwrap();
    drop(sent);
    let waiting = tokio::spawn({
        let rest = rest.clone();
        async move { rest.new_order(&second, &order, None, None).await }
    });
    while !rest.is_queued(&second) {
        tokio::task::yield_now().await;
    }
    assert!(!rest.is_queued(&first));
    let sent = waiting.await.unwrap();
    assert_eq!(sent.unwrap_err().outcome, crate::venue::binance::error::Outcome::NotSent, "it went (and found nobody)");
    assert!(!rest.is_queued(&second), "no longer queued once sent");
}

#[test]
fn binance_order_statuses_read_in_the_order_trackings_terms() {
    use OrderStatus::*;
    let cases = [
        ("NEW", New),
        ("PENDING_NEW", New),
        ("PARTIALLY_FILLED", PartiallyFilled),
        ("FILLED", Filled),
        ("CANCELED", Canceled),
        ("PENDING_CANCEL", Canceled),
        ("REJECTED", Rejected),
        ("EXPIRED", Expired),
        ("EXPIRED_IN_MATCH", Expired),
        ("SOMETHING_NEW", Expired),
    ];
    for (binance, ours) in cases {
        assert_eq!(order_status(binance), ours, "{binance}");
    }
    // A query's answer, as Binance documents it (GET /api/v3/order).
    let info: OrderInfo = serde_json::from_str(
        r#"{"symbol":"LTCBTC","orderId":1,"orderListId":-1,"clientOrderId":"myOrder1","price":"0.1",
            "origQty":"1.0","executedQty":"0.0","cummulativeQuoteQty":"0.0","status":"PARTIALLY_FILLED",
            "timeInForce":"GTC","type":"LIMIT","side":"BUY","stopPrice":"0.0","icebergQty":"0.0",
            "time":1499827319559,"updateTime":1499827319559,"isWorking":true,"workingTime":1499827319559,
            "origQuoteOrderQty":"0.000000","selfTradePreventionMode":"NONE"}"#,
    )
    .unwrap();
    assert_eq!((info.status, info.status.is_open()), (PartiallyFilled, true));
}

#[test]
fn a_trade_history_row_becomes_one_venue_trade() {
    // GET /api/v3/myTrades, as Binance documents it.
    let row: AccountTrade = serde_json::from_str(
        r#"{"symbol":"BNBBTC","id":28457,"orderId":100234,"orderListId":-1,"price":"4.00000100",
            "qty":"12.00000000","quoteQty":"48.000012","commission":"10.10000000","commissionAsset":"BNB",
            "time":1499865549590,"isBuyer":true,"isMaker":false,"isBestMatch":true}"#,
    )
    .unwrap();
    let trade = VenueTrade::from(&row);
    assert_eq!((trade.trade_id.as_str(), trade.venue_order_id.as_str()), ("28457", "100234"));
    assert_eq!(
        (trade.price, trade.qty, trade.fee),
        ("4.00000100".parse().unwrap(), "12".parse().unwrap(), "10.1".parse().unwrap())
    );
    assert_eq!((trade.fee_asset.map(|a| a.to_string()), trade.liquidity), (Some("BNB".into()), Liquidity::Taker));
    assert_eq!(trade.time, Timestamp(1_499_865_549_590));
}
