//! The simulator's wire protocol, from the outside: every bad input gets
//! Binance's error code and leaves the ledger untouched; limits answer
//! 429/418 with `Retry-After`; WebSockets refuse junk.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tradewind::secret::Secret;
use tradewind::venue::binance::sign::{Query, Signer, ws_payload};
use tradewind::venue::sim::{self, SimConfig, SimHandle};

pub const KEY: &str = "wire-key";
const SECRET: &str = "wire-secret";

pub async fn start(config: SimConfig) -> SimHandle {
    tradewind::venue::install_tls_provider();
    let options = sim::SimOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        seed: 9,
        config,
        accounts: vec![(KEY.into(), Secret::new(SECRET))],
    };
    sim::start(options, CancellationToken::new()).await.unwrap()
}

pub fn signer() -> Signer {
    Signer::hmac(&Secret::new(SECRET)).unwrap()
}

pub fn now_ms() -> u64 {
    u64::try_from(tradewind::clock::now_ms()).unwrap()
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

pub async fn call(sim: &SimHandle, method: reqwest::Method, path: &str, query: &str, key: Option<&str>) -> Reply {
    let url = format!("{}{path}?{query}", sim.rest_url());
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(k) = key {
        request = request.header("X-MBX-APIKEY", k);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Reply { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
}

/// A signed query from `pairs` plus recvWindow and timestamp.
pub fn signed(pairs: &[(&str, &str)]) -> String {
    let mut q = Query::new();
    for (k, v) in pairs {
        q.push(k, v);
    }
    q.push("timestamp", now_ms());
    q.signed(&signer())
}

async fn balances(sim: &SimHandle) -> Value {
    call(sim, reqwest::Method::GET, "/api/v3/account", &signed(&[]), Some(KEY)).await.body["balances"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_binance_codes_and_change_nothing() {
    let sim = start(SimConfig::default()).await;
    let before = balances(&sim).await;
    let order = |extra: &[(&'static str, &'static str)]| {
        let mut pairs = vec![("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC")];
        pairs.extend_from_slice(extra);
        pairs
    };
    let post = reqwest::Method::POST;
    let cases: Vec<(String, Option<&str>, u16, i64)> = vec![
        (signed(&order(&[("quantity", "abc"), ("price", "100")])), Some(KEY), 400, -1100),
        (signed(&order(&[("quantity", "-1"), ("price", "100")])), Some(KEY), 400, -1100),
        (signed(&order(&[("quantity", "1e3"), ("price", "100")])), Some(KEY), 400, -1100),
        (signed(&order(&[("quantity", "0.001")])), Some(KEY), 400, -1102),
        (signed(&[("symbol", "NOPE"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "1")]), Some(KEY), 400, -1121),
        (signed(&order(&[("quantity", "0.001"), ("price", "100.001")])), Some(KEY), 400, -1013),
        (signed(&order(&[("quantity", "500"), ("price", "60000")])), Some(KEY), 400, -2010),
        (
            signed(&[("symbol", "BTCUSDT"), ("side", "UP"), ("type", "MARKET"), ("quantity", "1")]),
            Some(KEY),
            400,
            -1116,
        ),
        (signed(&order(&[("quantity", "0.001"), ("price", "100")])), Some("who"), 401, -2015),
        (signed(&order(&[("quantity", "0.001"), ("price", "100")])), None, 401, -2015),
        (
            signed(&order(&[("quantity", "0.001"), ("price", "100")])).replace("quantity=0.001", "quantity=0.002"),
            Some(KEY),
            400,
            -1022,
        ),
        ("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&timestamp=1&signature=00".into(), Some(KEY), 400, -1021),
        ("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1".into(), Some(KEY), 400, -1102),
        ("symbol=A&symbol=B".into(), Some(KEY), 400, -1101),
        ("%ZZ%%&&==&symbol=%FF%FE".into(), Some(KEY), 400, -1102),
    ];
    for (query, key, status, code) in cases {
        let r = call(&sim, post.clone(), "/api/v3/order", &query, key).await;
        assert_eq!((r.status, r.body["code"].as_i64()), (status, Some(code)), "{query}: {}", r.body);
        assert!(r.body["msg"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(r.headers.contains_key("x-mbx-used-weight-1m"));
    }
    let r = call(&sim, reqwest::Method::GET, "/api/v3/nothing", "", None).await;
    assert_eq!(r.status, 404);
    let r = call(&sim, reqwest::Method::GET, "/api/v3/depth", "symbol=BTCUSDT&limit=x", None).await;
    assert_eq!(r.body["code"], -1100);
    assert_eq!(balances(&sim).await, before, "no bad request touched the ledger");

    // Unknown orders: cancel → -2011, query → -2013.
    let r = call(
        &sim,
        reqwest::Method::DELETE,
        "/api/v3/order",
        &signed(&[("symbol", "BTCUSDT"), ("origClientOrderId", "nope")]),
        Some(KEY),
    )
    .await;
    assert_eq!(r.body["code"], -2011);
    let r = call(
        &sim,
        reqwest::Method::GET,
        "/api/v3/order",
        &signed(&[("symbol", "BTCUSDT"), ("origClientOrderId", "nope")]),
        Some(KEY),
    )
    .await;
    assert_eq!(r.body["code"], -2013);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_429_with_retry_after_then_ban_with_418() {
    // The weight window is the wall-clock minute: a run that straddles a minute boundary starts
    // counting afresh, so it is tried again (a second straddle in a row is impossible).
    let mut runs = Vec::new();
    for _ in 0..2 {
        let mut config = SimConfig::default();
        config.limits.request_weight_per_minute = 10;
        config.limits.requests_before_ban = 2;
        let sim = start(config).await;
        let minute = |ms: i64| ms / 60_000;
        let began = minute(tradewind::clock::now_ms());
        let mut statuses = Vec::new();
        for _ in 0..14 {
            let r = call(&sim, reqwest::Method::GET, "/api/v3/ping", "", None).await;
            if r.status != 200 {
                let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((1..=120).contains(&retry), "Retry-After {retry}");
                assert_eq!(r.body["code"], -1003);
            }
            statuses.push(r.status);
        }
        let straddled = minute(tradewind::clock::now_ms()) != began;
        sim.stop().await;
        if straddled {
            runs.push(statuses);
            continue;
        }
        // Ten requests of weight 1 fit; then 429 (with Retry-After), and past requests_before_ban, 418.
        assert_eq!(statuses[..10], [200; 10], "{statuses:?}");
        assert_eq!(statuses[10], 429, "{statuses:?}");
        assert!(statuses[11..].contains(&418), "kept going after 429s: banned {statuses:?}");
        return;
    }
    panic!("two runs straddled a minute boundary: {runs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_websockets_refuse_junk_and_close_floods() {
    let sim = start(SimConfig::default()).await;
    let url = format!("{}/ws", sim.stream_url());
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
    let reply = async |ws: &mut tokio_tungstenite::WebSocketStream<_>, text: &str| -> Value {
        ws.send(Message::Text(text.into())).await.unwrap();
        loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap() {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                _ => continue,
            }
        }
    };
    assert_eq!(reply(&mut ws, "{not json").await["code"], 3);
    assert_eq!(reply(&mut ws, r#"{"method":"SUBSCRIBE","params":["BTC USDT"],"id":1}"#).await["code"], 2);
    let ok = reply(&mut ws, r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":2}"#).await;
    assert_eq!(ok, serde_json::json!({"result": null, "id": 2}));
    drop(ws);

    // More than 5 messages in a second: the server closes the connection.
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
    for i in 0..10 {
        let _ = ws.send(Message::Text(format!(r#"{{"method":"LIST_SUBSCRIPTIONS","id":{i}}}"#).into())).await;
    }
    assert!(closes(&mut ws).await, "a flooding client is disconnected");

    // An oversized frame closes the connection too.
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
    let _ = ws.send(Message::Text("x".repeat(100_000).into())).await;
    assert!(closes(&mut ws).await, "an oversized frame is refused");
    sim.stop().await;
}

/// True once the server closes the connection (within the patience).
async fn closes<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let wait = async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return true,
                Some(Ok(_)) => continue,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait).await.unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_api_checks_signatures_and_streams_user_events() {
    let sim = start(SimConfig::default()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_api_url().as_str()).await.unwrap();
    let subscribe = |signature: &str, ts: &str| {
        serde_json::json!({"id": "s", "method": "userDataStream.subscribe.signature",
            "params": {"apiKey": KEY, "timestamp": ts.parse::<u64>().unwrap(), "signature": signature}})
        .to_string()
    };
    let ts = now_ms().to_string();
    let good = signer().sign(ws_payload(&[("apiKey", KEY), ("timestamp", &ts)]).as_bytes());
    let next_text = async |ws: &mut tokio_tungstenite::WebSocketStream<_>| -> Value {
        loop {
            if let Message::Text(t) =
                tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap()
            {
                return serde_json::from_str(&t).unwrap();
            }
        }
    };
    ws.send(Message::Text(subscribe(&"0".repeat(64), &ts).into())).await.unwrap();
    assert_eq!(next_text(&mut ws).await["error"]["code"], -1022);
    ws.send(Message::Text("{]".into())).await.unwrap();
    assert_eq!(next_text(&mut ws).await["status"], 400);
    ws.send(Message::Text(subscribe(&good, &ts).into())).await.unwrap();
    assert_eq!(next_text(&mut ws).await["result"]["subscriptionId"], 0);

    // An order placed over REST shows up as wrapped user events.
    let q = signed(&[
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "0.001"),
        ("price", "30000"),
        ("newClientOrderId", "wire-1"),
    ]);
    assert_eq!(call(&sim, reqwest::Method::POST, "/api/v3/order", &q, Some(KEY)).await.status, 200);
    let event = next_text(&mut ws).await;
    assert_eq!(event["subscriptionId"], 0);
    assert_eq!(
        (event["event"]["e"].as_str(), event["event"]["c"].as_str(), event["event"]["x"].as_str()),
        (Some("executionReport"), Some("wire-1"), Some("NEW"))
    );
    let position = next_text(&mut ws).await;
    assert_eq!(position["event"]["e"], "outboundAccountPosition");
    sim.stop().await;
}
