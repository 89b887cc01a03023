//! The client against a stub of OKX's REST API on loopback that checks each
//! signature as the venue does (recomputed here from OKX's rule, with the
//! `hmac` and `base64` crates directly) and answers with the v5 envelope.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};

use super::*;
use crate::execution::error::Outcome;
use crate::execution::rate_limit::RateLimiter;
use crate::secret::Secret;
use crate::venue::sign::Signer;

const KEY: &str = "test-key";
const SECRET: &str = "TESTSECRET0123456789";
const PASSPHRASE: &str = "test-passphrase";

fn envelope(code: &str, msg: &str, data: serde_json::Value) -> String {
    serde_json::json!({"code": code, "msg": msg, "data": data}).to_string()
}

/// Whether the request carries OKX's four headers, signed over `target` (path?query) and `body`, and the demo flag.
fn signed(headers: &HeaderMap, method: &str, target: &str, body: &str) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let ts = header("ok-access-timestamp");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}{method}{target}{body}").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    header("ok-access-key") == KEY
        && header("ok-access-passphrase") == PASSPHRASE
        && header("ok-access-sign") == expected
        && ts.len() == 24
        && ts.ends_with('Z')
        && header("x-simulated-trading") == "1"
}

#[derive(Clone, Default)]
struct Hits {
    time: Arc<AtomicUsize>,
}

async fn time(State(hits): State<Hits>) -> String {
    hits.time.fetch_add(1, Ordering::Relaxed);
    envelope("0", "", serde_json::json!([{"ts": (crate::clock::now_ms() + 3_000).to_string()}]))
}

async fn order(headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let body = String::from_utf8(body.to_vec()).unwrap();
    if !signed(&headers, "POST", "/api/v5/trade/order", &body) {
        return (StatusCode::UNAUTHORIZED, envelope("50113", "Invalid Sign", serde_json::json!([])));
    }
    let order: serde_json::Value = serde_json::from_str(&body).unwrap();
    let data = |code: &str, msg: &str| serde_json::json!([{"clOrdId": order["clOrdId"], "ordId": "312269865356374016", "tag": "", "ts": "1695190491421", "sCode": code, "sMsg": msg}]);
    match order["sz"].as_str() {
        Some("999") => (
            StatusCode::OK,
            envelope(
                "1",
                "All operations failed",
                data("51008", "Order failed. Insufficient USDT balance in account."),
            ),
        ),
        Some("429") => (StatusCode::TOO_MANY_REQUESTS, envelope("50011", "Too Many Requests", serde_json::json!([]))),
        Some("late") => {
            (StatusCode::UNAUTHORIZED, envelope("50102", "Timestamp request expired", serde_json::json!([])))
        }
        _ => (StatusCode::OK, envelope("0", "", data("0", "Order placed"))),
    }
}

async fn pending(headers: HeaderMap, query: RawQuery) -> String {
    let target = format!("/api/v5/trade/orders-pending?{}", query.0.unwrap_or_default());
    if !signed(&headers, "GET", &target, "") {
        return envelope("50113", "Invalid Sign", serde_json::json!([]));
    }
    envelope("0", "", serde_json::json!([]))
}

async fn stub() -> (String, Hits) {
    let hits = Hits::default();
    let app = Router::new()
        .route("/api/v5/public/time", get(time))
        .route("/api/v5/trade/order", post(order))
        .route("/api/v5/trade/orders-pending", get(pending))
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

fn client(url: &str) -> RestClient {
    let key = OkxKey {
        api_key: Secret::new(KEY),
        signer: Signer::hmac(&Secret::new(SECRET)).unwrap(),
        passphrase: Secret::new(PASSPHRASE),
    };
    let limiter = Arc::new(RateLimiter::new(limits::budgets()));
    RestClient::new(url, Some(key), true, Duration::from_secs(5), limiter).unwrap()
}

fn order_body(sz: &str) -> serde_json::Value {
    serde_json::json!({"instId": "BTC-USDT", "tdMode": "cash", "clOrdId": "twabcde1", "side": "buy", "ordType": "limit", "px": "15600", "sz": sz})
}

#[tokio::test]
async fn signed_demo_requests_go_with_the_venues_clock_and_refusals_read_per_order() {
    let (url, hits) = stub().await;
    let rest = client(&url);
    let offset = rest.sync_clock().await.unwrap();
    assert!((offset - 3_000).abs() < 500, "offset {offset}");

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Ack {
        ord_id: String,
        cl_ord_id: String,
    }
    let [ack]: [Ack; 1] =
        rest.call(Call::post("/api/v5/trade/order", Endpoint::Place, &order_body("0.1"))).await.unwrap();
    assert_eq!((ack.ord_id.as_str(), ack.cl_ord_id.as_str()), ("312269865356374016", "twabcde1"));
    // A GET signs its path with the query.
    let open: Vec<serde_json::Value> = rest
        .call(Call::get("/api/v5/trade/orders-pending", Endpoint::OpenOrders, "instType=SPOT&limit=100".into(), true))
        .await
        .unwrap();
    assert!(open.is_empty());

    // Refused for the order's own reason: its sCode is the error's code.
    let e = rest
        .call::<serde_json::Value>(Call::post("/api/v5/trade/order", Endpoint::Place, &order_body("999")))
        .await
        .unwrap_err();
    assert_eq!((e.outcome, e.reason_code()), (Outcome::Rejected, "51008".to_owned()));

    // A timestamp refusal reads the clock again before it is returned.
    let before = hits.time.load(Ordering::Relaxed);
    let e = rest
        .call::<serde_json::Value>(Call::post("/api/v5/trade/order", Endpoint::Place, &order_body("late")))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ClockSkew);
    assert_eq!(hits.time.load(Ordering::Relaxed), before + 1);
}

#[tokio::test]
async fn a_50011_rests_its_endpoint_for_its_window() {
    let (url, _) = stub().await;
    let rest = client(&url);
    let limiter = rest.http().limiter().clone();
    let e = rest
        .call::<serde_json::Value>(Call::post("/api/v5/trade/order", Endpoint::Place, &order_body("429")))
        .await
        .unwrap_err();
    assert_eq!((e.kind, e.outcome), (ErrorKind::RateLimited, Outcome::Rejected));
    assert!(limiter.try_acquire_now(limits::cost(Endpoint::Place, 1, None)).is_none(), "placing waits");
    assert!(limiter.try_acquire_now(limits::cost(Endpoint::Cancel, 1, None)).is_some(), "cancels go");
}

#[test]
fn without_a_key_a_signed_request_is_not_sent_and_live_requests_carry_no_demo_flag() {
    let limiter = Arc::new(RateLimiter::new(limits::budgets()));
    let rest = RestClient::new("http://127.0.0.1:9", None, false, Duration::from_secs(1), limiter).unwrap();
    let e = rest.prepare(&Call::get("/api/v5/account/balance", Endpoint::Balance, String::new(), true)).unwrap_err();
    assert_eq!(e.outcome, Outcome::NotSent);
    let public = rest.prepare(&Call::get("/api/v5/public/time", Endpoint::Time, String::new(), false)).unwrap();
    assert!(public.headers().get("x-simulated-trading").is_none());
}
