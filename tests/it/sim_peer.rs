//! The simulator as a Binance peer for third-party clients: the market-data
//! endpoints they call by default, `allOrders`, a cancel's own client id,
//! the WebSocket API's order methods with `rateLimits` on every answer, and
//! streams it does not serve refused rather than left silent.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tradewind::venue::binance::sign::ws_payload;
use tradewind::venue::sim::SimConfig;

use crate::sim_server::{KEY, call, now_ms, signed, signer, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_market_data_endpoints_clients_call_by_default_answer_like_binance() {
    let sim = start(SimConfig::default()).await;
    let get = async |path: &str, query: &str| {
        let r = call(&sim, Method::GET, path, query, None).await;
        assert_eq!(r.status, 200, "{path}?{query}: {}", r.body);
        r.body
    };
    let day = get("/api/v3/ticker/24hr", "symbol=BTCUSDT").await;
    for key in [
        "priceChange",
        "priceChangePercent",
        "lastPrice",
        "bidPrice",
        "askPrice",
        "openPrice",
        "highPrice",
        "lowPrice",
        "volume",
        "quoteVolume",
        "count",
    ] {
        assert!(day.get(key).is_some(), "ticker/24hr without {key}: {day}");
    }
    assert!(day["lastPrice"].as_str().unwrap().parse::<f64>().unwrap() > 0.0);
    assert_eq!(get("/api/v3/ticker/24hr", "").await.as_array().unwrap().len(), 3, "every symbol");
    let mini = get("/api/v3/ticker/24hr", "symbol=ETHUSDT&type=MINI").await;
    assert!(mini.get("priceChange").is_none() && mini.get("lastPrice").is_some(), "{mini}");
    let price = get("/api/v3/ticker/price", "symbol=BTCUSDT").await;
    assert_eq!(price["symbol"], "BTCUSDT");
    let prices = get("/api/v3/ticker/price", r#"symbols=["BTCUSDT","ETHBTC"]"#).await;
    assert_eq!(prices.as_array().unwrap().len(), 2);
    let rolling = get("/api/v3/ticker", "symbol=BTCUSDT&windowSize=1h").await;
    assert!(rolling.get("openTime").is_some() && rolling.get("bidPrice").is_none(), "{rolling}");
    assert_eq!(
        call(&sim, Method::GET, "/api/v3/ticker", "symbol=BTCUSDT&windowSize=9y", None).await.body["code"],
        -1100
    );
    let avg = get("/api/v3/avgPrice", "symbol=BTCUSDT").await;
    assert_eq!(avg["mins"], 5);
    let agg = get("/api/v3/aggTrades", "symbol=BTCUSDT&limit=5").await;
    assert!(agg.as_array().unwrap().iter().all(|t| t["a"].is_u64() && t["p"].is_string() && t["M"] == true), "{agg}");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_orders_lists_every_state_and_a_cancel_answers_with_its_own_client_id() {
    let sim = start(SimConfig::default()).await;
    let place = |id: &'static str| {
        signed(&[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.001"),
            ("price", "30000"),
            ("newClientOrderId", id),
        ])
    };
    for id in ["peer-1", "peer-2"] {
        assert_eq!(call(&sim, Method::POST, "/api/v3/order", &place(id), Some(KEY)).await.status, 200);
    }
    let cancel = signed(&[("symbol", "BTCUSDT"), ("origClientOrderId", "peer-1")]);
    let cancelled = call(&sim, Method::DELETE, "/api/v3/order", &cancel, Some(KEY)).await.body;
    assert_eq!(cancelled["origClientOrderId"], "peer-1");
    assert_ne!(cancelled["clientOrderId"], "peer-1", "a cancel has its own client id: {cancelled}");
    let named = signed(&[("symbol", "BTCUSDT"), ("origClientOrderId", "peer-2"), ("newClientOrderId", "my-cancel")]);
    assert_eq!(call(&sim, Method::DELETE, "/api/v3/order", &named, Some(KEY)).await.body["clientOrderId"], "my-cancel");
    let all = call(&sim, Method::GET, "/api/v3/allOrders", &signed(&[("symbol", "BTCUSDT")]), Some(KEY)).await;
    let states: Vec<(&str, &str)> = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["clientOrderId"].as_str().unwrap(), o["status"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("peer-1", "CANCELED"), ("peer-2", "CANCELED")]);
    assert_eq!(call(&sim, Method::GET, "/api/v3/allOrders", "symbol=BTCUSDT", None).await.status, 401, "signed");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_api_places_queries_and_cancels_orders_and_reports_rate_limits() {
    let sim = start(SimConfig::default()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_api_url().as_str()).await.unwrap();
    let mut ask = async |method: &str, pairs: &[(&str, &str)]| -> Value {
        let ts = now_ms().to_string();
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        all.extend([("apiKey", KEY), ("timestamp", ts.as_str())]);
        let signature = signer().sign(ws_payload(&all).as_bytes());
        let mut params: serde_json::Map<String, Value> =
            all.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))).collect();
        params.insert("signature".into(), Value::String(signature));
        let request = json!({"id": method, "method": method, "params": params});
        ws.send(Message::Text(request.to_string().into())).await.unwrap();
        loop {
            if let Message::Text(t) =
                tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap()
            {
                let reply: Value = serde_json::from_str(&t).unwrap();
                let limits = &reply["rateLimits"][0];
                assert_eq!(
                    (limits["rateLimitType"].as_str(), limits["count"].is_u64()),
                    (Some("REQUEST_WEIGHT"), true),
                    "{reply}"
                );
                return reply;
            }
        }
    };
    let placed = ask(
        "order.place",
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.001"),
            ("price", "30000"),
            ("newClientOrderId", "ws-1"),
        ],
    )
    .await;
    assert_eq!((placed["status"].as_u64(), placed["result"]["status"].as_str()), (Some(200), Some("NEW")), "{placed}");
    let status = ask("order.status", &[("symbol", "BTCUSDT"), ("origClientOrderId", "ws-1")]).await;
    assert_eq!(status["result"]["clientOrderId"], "ws-1");
    let account = ask("account.status", &[]).await;
    assert!(account["result"]["balances"].is_array(), "{account}");
    let cancelled = ask("order.cancel", &[("symbol", "BTCUSDT"), ("origClientOrderId", "ws-1")]).await;
    assert_eq!(
        (cancelled["result"]["status"].as_str(), cancelled["result"]["origClientOrderId"].as_str()),
        (Some("CANCELED"), Some("ws-1"))
    );
    let again = ask("order.cancel", &[("symbol", "BTCUSDT"), ("origClientOrderId", "ws-1")]).await;
    assert_eq!((again["status"].as_u64(), again["error"]["code"].as_i64()), (Some(400), Some(-2011)), "{again}");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_the_simulator_does_not_serve_are_refused() {
    let sim = start(SimConfig::default()).await;
    let refused =
        tokio_tungstenite::connect_async(format!("{}/stream?streams=btcusdt@trade/btcusdt@ticker", sim.stream_url()))
            .await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 400),
        other => panic!("a combined stream with @ticker was accepted: {:?}", other.map(|_| ())),
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/ws", sim.stream_url())).await.unwrap();
    ws.send(Message::Text(r#"{"method":"SUBSCRIBE","params":["btcusdt@depth5"],"id":1}"#.into())).await.unwrap();
    loop {
        if let Message::Text(t) =
            tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap()
        {
            let reply: Value = serde_json::from_str(&t).unwrap();
            assert_eq!(reply["code"], 2);
            assert!(reply["msg"].as_str().unwrap().contains("btcusdt@depth5"), "{reply}");
            break;
        }
    }
    sim.stop().await;
}
