//! The simulator's Bybit v5 dialect, from the outside: signed requests are
//! checked as Bybit checks them, every bad input gets Bybit's `retCode` and
//! leaves the ledger untouched, the per-endpoint limit answers 10006 with
//! Bybit's headers, and the IP limit answers 403.

use serde_json::{Value, json};
use tradewind::venue::sim::{SimConfig, SimHandle};

use crate::sim_server::{KEY, Reply, now_ms, signer, start};

/// One client for every request (its connections kept, as a real client keeps them).
static CLIENT: std::sync::LazyLock<reqwest::Client> = std::sync::LazyLock::new(reqwest::Client::new);

/// A v5 request; signed with the test account's key when `signed`.
async fn v5(sim: &SimHandle, method: reqwest::Method, path: &str, payload: &str, timestamp: Option<u64>) -> Reply {
    let get = method == reqwest::Method::GET;
    let url = if get { format!("{}{path}?{payload}", sim.rest_url()) } else { format!("{}{path}", sim.rest_url()) };
    let mut request = CLIENT.request(method, url);
    if let Some(ts) = timestamp {
        let sign = signer().sign(format!("{ts}{KEY}5000{payload}").as_bytes());
        request = request
            .header("X-BAPI-API-KEY", KEY)
            .header("X-BAPI-TIMESTAMP", ts.to_string())
            .header("X-BAPI-RECV-WINDOW", "5000")
            .header("X-BAPI-SIGN", sign);
    }
    if !get {
        request = request.header("Content-Type", "application/json").body(payload.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Reply { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
}

async fn create(sim: &SimHandle, body: &Value) -> Reply {
    v5(sim, reqwest::Method::POST, "/v5/order/create", &body.to_string(), Some(now_ms())).await
}

async fn wallet(sim: &SimHandle) -> Value {
    let r = v5(sim, reqwest::Method::GET, "/v5/account/wallet-balance", "accountType=UNIFIED", Some(now_ms())).await;
    assert_eq!(r.body["retCode"], 0, "{}", r.body);
    r.body["result"]["list"][0]["coin"].clone()
}

fn limit_buy(qty: &str, price: &str, link: &str) -> Value {
    json!({"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": qty,
        "price": price, "timeInForce": "GTC", "orderLinkId": link})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bybit_requests_get_bybit_codes_and_change_nothing() {
    let mut config = SimConfig::default();
    config.market.events_per_sec = 0;
    let sim = start(config).await;
    let before = wallet(&sim).await;
    let code = |r: &Reply| r.body["retCode"].as_i64().unwrap_or_else(|| panic!("no retCode: {}", r.body));

    let order = limit_buy("0.01", "30000", "w-1").to_string();
    let post = reqwest::Method::POST;
    let unsigned = v5(&sim, post.clone(), "/v5/order/create", &order, None).await;
    assert_eq!(code(&unsigned), 10003, "{}", unsigned.body);
    let stale = v5(&sim, post.clone(), "/v5/order/create", &order, Some(now_ms() - 60_000)).await;
    assert_eq!(code(&stale), 10002, "{}", stale.body);
    // A body other than the one signed.
    let mut forged = v5(&sim, post.clone(), "/v5/order/create", &order, Some(now_ms())).await;
    assert_eq!(code(&forged), 0, "the honest request goes through: {}", forged.body);
    let ts = now_ms();
    let sign = signer().sign(format!("{ts}{KEY}5000{order}").as_bytes());
    let response = reqwest::Client::new()
        .post(format!("{}/v5/order/create", sim.rest_url()))
        .header("X-BAPI-API-KEY", KEY)
        .header("X-BAPI-TIMESTAMP", ts.to_string())
        .header("X-BAPI-RECV-WINDOW", "5000")
        .header("X-BAPI-SIGN", sign)
        .body(limit_buy("1", "30000", "w-2").to_string())
        .send()
        .await
        .unwrap();
    forged.body = response.json().await.unwrap();
    assert_eq!(code(&forged), 10004, "{}", forged.body);

    let cases = [
        (
            json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "1", "price": "1"}),
            10001,
        ),
        (json!({"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "1", "price": "1"}), 10001),
        (limit_buy("5", "30000", "w-3"), 170131),
        (limit_buy("0.01", "30000", "w-1"), 170141),
        (limit_buy("0.01", "30000.001", "w-4"), 170134),
        (limit_buy("0.00000001", "30000", "w-5"), 170136),
    ];
    for (body, expected) in cases {
        let r = create(&sim, &body).await;
        assert_eq!((r.status, code(&r)), (200, expected), "{body}: {}", r.body);
    }
    // Unknown orders, cancelled or asked for.
    let cancel = json!({"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "nobody"}).to_string();
    let r = v5(&sim, post, "/v5/order/cancel", &cancel, Some(now_ms())).await;
    assert_eq!(code(&r), 170213, "{}", r.body);
    let r =
        v5(&sim, reqwest::Method::GET, "/v5/order/realtime", "category=spot&orderLinkId=nobody", Some(now_ms())).await;
    assert_eq!((code(&r), r.body["result"]["list"].as_array().map(Vec::len)), (0, Some(0)), "{}", r.body);

    // Only the one honest order changed the ledger: its price × qty is locked, nothing else moved.
    let after = wallet(&sim).await;
    let coin = |list: &Value, name: &str, field: &str| -> rust_decimal::Decimal {
        let row = list.as_array().unwrap().iter().find(|c| c["coin"] == name).unwrap();
        row[field].as_str().unwrap().parse().unwrap()
    };
    assert_eq!(coin(&after, "USDT", "walletBalance"), coin(&before, "USDT", "walletBalance"));
    assert_eq!(coin(&after, "USDT", "locked") - coin(&before, "USDT", "locked"), "300".parse().unwrap());
    assert_eq!(coin(&after, "BTC", "walletBalance"), coin(&before, "BTC", "walletBalance"));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bybit_limits_answer_10006_per_endpoint_then_403_for_the_ip() {
    let mut config = SimConfig::default();
    config.market.events_per_sec = 0;
    let sim = start(config).await;
    // order/create allows 20 a second per account: the 21st within the second is refused.
    let mut answers = Vec::new();
    for n in 0..21 {
        answers.push(create(&sim, &limit_buy("0.001", "30000", &format!("lim-{n}"))).await);
    }
    let last = answers.pop().unwrap();
    assert!(answers.iter().all(|r| r.body["retCode"] == 0), "the first 20 pass");
    let header = |r: &Reply, name: &str| r.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header(&answers[0], "X-Bapi-Limit").as_deref(), Some("20"));
    assert_eq!(header(&answers[0], "X-Bapi-Limit-Status").as_deref(), Some("19"));
    assert_eq!(header(&answers[19], "X-Bapi-Limit-Status").as_deref(), Some("0"));
    assert_eq!(last.body["retCode"], 10006, "{}", last.body);
    assert_eq!(header(&last, "X-Bapi-Limit-Status").as_deref(), Some("0"));
    let reset: i64 = header(&last, "X-Bapi-Limit-Reset-Timestamp").unwrap().parse().unwrap();
    assert!(reset > tradewind::clock::now_ms() - 1_000 && reset <= tradewind::clock::now_ms() + 1_000, "{reset}");
    // Another endpoint has its own budget.
    let r = v5(&sim, reqwest::Method::GET, "/v5/order/realtime", "category=spot", Some(now_ms())).await;
    assert_eq!(r.body["retCode"], 0, "{}", r.body);
    assert_eq!(sim.limited_responses(), 1);

    // 600 requests in 5 s from one IP, then 403 (and the ban holds).
    let mut status = Vec::new();
    for _ in 0..65 {
        let batch = (0..10).map(|_| v5(&sim, reqwest::Method::GET, "/v5/market/time", "", None));
        status.extend(futures_util::future::join_all(batch).await.into_iter().map(|r| r.status));
    }
    assert!(status.contains(&403), "the IP limit was reached");
    let first_403 = status.iter().position(|s| *s == 403).unwrap();
    assert!(first_403 >= 500, "not before 600 in all: {first_403}");
    assert!(status[first_403 + 10..].iter().all(|s| *s == 403), "banned once reached");
    assert!(sim.banned_responses() > 0);
    sim.stop().await;
}

async fn amend(sim: &SimHandle, body: Value) -> Reply {
    v5(sim, reqwest::Method::POST, "/v5/order/amend", &body.to_string(), Some(now_ms())).await
}

async fn open_order(sim: &SimHandle, link: &str) -> Value {
    let query = format!("category=spot&symbol=BTCUSDT&orderLinkId={link}");
    let r = v5(sim, reqwest::Method::GET, "/v5/order/realtime", &query, Some(now_ms())).await;
    r.body["result"]["list"][0].clone()
}

fn usdt_locked(coins: &Value) -> String {
    let usdt = coins.as_array().unwrap().iter().find(|c| c["coin"] == "USDT").unwrap();
    usdt["locked"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bybit_amend_changes_the_order_in_place_or_refuses_and_changes_nothing() {
    let mut config = SimConfig::default();
    config.market.events_per_sec = 0;
    let sim = start(config).await;
    let placed = create(&sim, &limit_buy("0.01", "30000", "am-1")).await;
    assert_eq!(placed.body["retCode"], 0, "{}", placed.body);
    let order_id = placed.body["result"]["orderId"].clone();
    assert_eq!(usdt_locked(&wallet(&sim).await), "300");

    // Quantity and price at once, by link id: same order, new terms, new lock.
    let body = json!({"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "am-1", "qty": "0.02", "price": "29000"});
    let r = amend(&sim, body).await;
    assert_eq!((r.body["retCode"].clone(), r.body["result"]["orderId"].clone()), (json!(0), order_id.clone()));
    assert_eq!(r.headers["X-Bapi-Limit"], "10", "amend's own per-second limit");
    let o = open_order(&sim, "am-1").await;
    assert_eq!(
        (o["qty"].as_str(), o["price"].as_str(), o["orderStatus"].as_str()),
        (Some("0.02"), Some("29000"), Some("New"))
    );
    assert_eq!(usdt_locked(&wallet(&sim).await), "580");

    // Refusals, each leaving the order and the wallet as they are.
    let refused = [
        (json!({"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "am-1", "qty": "100"}), 170131),
        (json!({"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "am-1", "price": "29000.001"}), 170134),
        (json!({"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "nope", "qty": "0.01"}), 170213),
        (json!({"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "am-1"}), 10001),
    ];
    for (body, expected) in refused {
        let r = amend(&sim, body.clone()).await;
        assert_eq!(r.body["retCode"], expected, "{body}: {}", r.body);
    }
    assert_eq!(open_order(&sim, "am-1").await["qty"], "0.02");
    assert_eq!(usdt_locked(&wallet(&sim).await), "580");
    sim.stop().await;
}
