//! The client against a stub of Bybit's REST API on loopback that checks
//! each signature as the venue does and answers with the v5 envelope.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};

use super::*;
use crate::secret::Secret;
use crate::venue::sign::Signer;

const KEY: &str = "test-key";
const SECRET: &str = "TESTSECRET0123456789";
/// The stub's clock runs this far ahead of ours.
const AHEAD_MS: i64 = 3_000;

fn envelope(code: i64, message: &str, result: serde_json::Value) -> String {
    serde_json::json!({"retCode": code, "retMsg": message, "result": result, "retExtInfo": {}, "time": crate::clock::now_ms() + AHEAD_MS})
        .to_string()
}

/// Whether the request's headers sign `payload` with the test secret, within the receive window.
fn signed(headers: &HeaderMap, payload: &str) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (ts, window) = (header(sign::TIMESTAMP), header(sign::RECV_WINDOW));
    let expected = Signer::hmac(&Secret::new(SECRET)).unwrap().sign(format!("{ts}{KEY}{window}{payload}").as_bytes());
    let ts: i64 = ts.parse().unwrap_or(0);
    header(sign::API_KEY) == KEY
        && header(sign::SIGN) == expected
        && (ts - crate::clock::now_ms() - AHEAD_MS).abs() < 1_000
}

async fn time() -> String {
    envelope(0, "OK", serde_json::json!({"timeSecond": "1", "timeNano": "1"}))
}

async fn create(headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let body = String::from_utf8(body.to_vec()).unwrap();
    if !signed(&headers, &body) {
        return envelope(10004, "error sign!", serde_json::json!({}));
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
        return envelope(10001, "not JSON", serde_json::json!({}));
    }
    let order: serde_json::Value = serde_json::from_str(&body).unwrap();
    if order["qty"] == "999" {
        return envelope(170131, "Insufficient balance.", serde_json::json!({}));
    }
    envelope(0, "OK", serde_json::json!({"orderId": "1321003749386327552", "orderLinkId": order["orderLinkId"]}))
}

async fn realtime(
    State(reset_ms): State<i64>,
    headers: HeaderMap,
    query: axum::extract::RawQuery,
) -> impl IntoResponse {
    if !signed(&headers, query.0.as_deref().unwrap_or_default()) {
        return (StatusCode::OK, HeaderMap::new(), envelope(10004, "error sign!", serde_json::json!({})));
    }
    let mut limits = HeaderMap::new();
    limits.insert("x-bapi-limit", "50".parse().unwrap());
    limits.insert("x-bapi-limit-status", "0".parse().unwrap());
    limits.insert("x-bapi-limit-reset-timestamp", reset_ms.to_string().parse().unwrap());
    (StatusCode::OK, limits, envelope(10006, "Too many visits!", serde_json::json!({})))
}

async fn banned() -> impl IntoResponse {
    (StatusCode::FORBIDDEN, "access too frequent")
}

async fn stub() -> String {
    let reset = crate::clock::now_ms() + AHEAD_MS + 5_000;
    let app = Router::new()
        .route("/v5/market/time", get(time))
        .route("/v5/order/create", post(create))
        .route("/v5/order/realtime", get(realtime))
        .route("/v5/account/wallet-balance", get(banned))
        .with_state(reset);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn client(url: &str) -> RestClient {
    crate::venue::install_tls_provider();
    let credentials = Credentials { api_key: Secret::new(KEY), signer: Signer::hmac(&Secret::new(SECRET)).unwrap() };
    let limiter = Arc::new(RateLimiter::new(limits::budgets()));
    RestClient::new(url, Some(credentials), 5000, Duration::from_secs(5), limiter).unwrap()
}

#[tokio::test]
async fn signed_orders_go_with_the_venues_clock_and_refusals_are_classified() {
    let rest = client(&stub().await);
    let offset = rest.sync_clock().await.unwrap();
    assert!((offset - AHEAD_MS).abs() < 500, "offset {offset}");

    let order = serde_json::json!({"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.1", "price": "15600", "orderLinkId": "twabcde1"});
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Ack {
        order_id: String,
        order_link_id: String,
    }
    let ack: Ack = rest.call(Call::post("/v5/order/create", Endpoint::Create, &order)).await.unwrap();
    assert_eq!((ack.order_id.as_str(), ack.order_link_id.as_str()), ("1321003749386327552", "twabcde1"));

    let broke = serde_json::json!({"category": "spot", "symbol": "BTCUSDT", "qty": "999"});
    let e = rest.call::<serde_json::Value>(Call::post("/v5/order/create", Endpoint::Create, &broke)).await.unwrap_err();
    assert_eq!((e.outcome, e.reason_code()), (crate::execution::error::Outcome::Rejected, "170131".to_owned()));
}

#[tokio::test]
async fn a_10006_stops_its_endpoint_until_the_reset_and_a_403_stops_everything() {
    let rest = client(&stub().await);
    rest.sync_clock().await.unwrap();
    let limiter = rest.http().limiter().clone();
    let query = Call::get("/v5/order/realtime", Endpoint::OpenOrders, "category=spot".into(), true);
    let e = rest.call::<serde_json::Value>(query).await.unwrap_err();
    assert_eq!(e.kind, crate::execution::error::ErrorKind::RateLimited);
    assert_eq!(limiter.used(Endpoint::OpenOrders.budget().unwrap()), 50, "the venue's count: 50 allowed, 0 left");
    assert!(limiter.try_acquire_now(limits::cost(Endpoint::OpenOrders, None)).is_none(), "the endpoint waits");
    assert!(limiter.try_acquire_now(limits::cost(Endpoint::Cancel, None)).is_some(), "others go");

    let e = rest
        .call::<serde_json::Value>(Call::get("/v5/account/wallet-balance", Endpoint::Wallet, String::new(), true))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.retry_after),
        (crate::execution::error::ErrorKind::RateLimited, Some(super::super::error::IP_BAN))
    );
    assert!(limiter.try_acquire_now(limits::cost(Endpoint::Cancel, None)).is_none(), "after a 403 nothing goes");
}

#[test]
fn a_signed_request_without_a_key_is_not_sent() {
    crate::venue::install_tls_provider();
    let limiter = Arc::new(RateLimiter::new(limits::budgets()));
    let rest = RestClient::new("http://127.0.0.1:9", None, 5000, Duration::from_secs(1), limiter).unwrap();
    let e = rest.prepare(&Call::get("/v5/order/realtime", Endpoint::OpenOrders, String::new(), true)).unwrap_err();
    assert_eq!(e.outcome, crate::execution::error::Outcome::NotSent);
}
