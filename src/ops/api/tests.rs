use rust_decimal::Decimal;

use super::*;
use crate::engine::InstanceStatus;

/// An engine stand-in: answers snapshots with one strategy and records the commands it got.
fn fake_engine() -> (mpsc::Sender<EngineInput>, Arc<std::sync::Mutex<Vec<Command>>>) {
    let (tx, mut rx) = mpsc::channel::<EngineInput>(16);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Some(input) = rx.recv().await {
            let EngineInput::Control(request) = input else { continue };
            log.lock().unwrap().push(request.command.clone());
            let reply = match request.command {
                Command::Snapshot => Ok(Reply::Snapshot(Box::new(Snapshot {
                    trading_state: TradingState::Active,
                    strategies: vec![StrategyRow {
                        name: "mm".into(),
                        status: InstanceStatus::Running,
                        trading_state: TradingState::Active,
                        open_orders: 0,
                        realized_pnl: Decimal::new(125, 2),
                        unrealized_pnl: Decimal::ZERO,
                        fees: Decimal::new(1, 2),
                    }],
                    positions: Vec::new(),
                    orders: Vec::new(),
                    balances: Vec::new(),
                }))),
                Command::Pause(name) if name != "mm" => Err(ControlError::UnknownStrategy(name)),
                Command::Halt => {
                    Ok(Reply::Done(Done { global: true, trading_state: TradingState::Halted, cancels_sent: 2 }))
                }
                _ => Ok(Reply::Done(Done { global: false, trading_state: TradingState::Halted, cancels_sent: 2 })),
            };
            let _ = request.reply.send(reply);
        }
    });
    (tx, seen)
}

struct Server {
    base: String,
    seen: Arc<std::sync::Mutex<Vec<Command>>>,
    phase: watch::Sender<Phase>,
    http: reqwest::Client,
}

async fn server(token: Option<&str>, loopback: bool) -> Server {
    crate::venue::install_tls_provider();
    let (engine, seen) = fake_engine();
    let (phase, phase_rx) = watch::channel(Phase::Running);
    let token = token.map(Secret::new);
    let state = ApiState::new(engine, phase_rx, token.as_ref(), loopback, watch::channel(TradingState::Active).0);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { base, seen, phase, http: reqwest::Client::new() }
}

impl Server {
    async fn call(&self, method: Method, path: &str, token: Option<&str>) -> (StatusCode, serde_json::Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }
}

fn code(body: &serde_json::Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_token_is_required_and_checked() {
    let s = server(Some("s3cret-token"), true).await;
    let (status, body) = s.call(Method::GET, "/v1/status", None).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let (status, _) = s.call(Method::GET, "/v1/status", Some("s3cret-tokeX")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = s.call(Method::GET, "/v1/status", Some("s3cret-token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let parsed: Status = serde_json::from_value(body).unwrap();
    assert_eq!((parsed.strategies, parsed.strategies_running), (1, 1));
    assert_eq!(parsed.realized_pnl, Decimal::new(125, 2));
    // Nothing reached the engine for the refused requests.
    assert_eq!(*s.seen.lock().unwrap(), [Command::Snapshot]);
}

#[tokio::test]
async fn without_a_token_the_api_is_read_only_and_loopback_only() {
    let s = server(None, true).await;
    let (status, body) = s.call(Method::GET, "/v1/strategies", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["name"], "mm");
    for path in ["/v1/halt", "/v1/resume", "/v1/strategies/mm/pause", "/v1/orders/tw-mm-1/cancel"] {
        let (status, body) = s.call(Method::POST, path, Some("anything")).await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "control_disabled"), "{path}");
    }
    assert_eq!(*s.seen.lock().unwrap(), [Command::Snapshot]);
    let exposed = server(None, false).await;
    let (status, _) = exposed.call(Method::GET, "/v1/strategies", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn commands_reach_the_engine_and_errors_have_one_shape() {
    let s = server(Some("t"), true).await;
    let (status, body) = s.call(Method::POST, "/v1/halt", Some("t")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({ "global": true, "trading_state": "halted", "cancels_sent": 2 }));
    let (status, body) = s.call(Method::POST, "/v1/strategies/nope/pause", Some("t")).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "unknown_strategy"));
    assert_eq!(body["error"]["message"], "no strategy named \"nope\"");
    s.call(Method::POST, "/v1/orders/tw-mm-7/cancel", Some("t")).await;
    let (status, body) = s.call(Method::GET, "/v1/orders?state=closed", Some("t")).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, "bad_request"));
    let (status, body) = s.call(Method::GET, "/v1/nothing", Some("t")).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = s.call(Method::POST, "/v1/reload", Some("t")).await;
    assert_eq!((status, code(&body)), (StatusCode::SERVICE_UNAVAILABLE, "not_ready"), "no reload channel here");
    assert_eq!(
        *s.seen.lock().unwrap(),
        [Command::Halt, Command::Pause("nope".into()), Command::Cancel("tw-mm-7".into())]
    );
    // Not running: the engine is not asked.
    s.phase.send_replace(Phase::Draining);
    let (status, body) = s.call(Method::GET, "/v1/positions", Some("t")).await;
    assert_eq!((status, code(&body)), (StatusCode::SERVICE_UNAVAILABLE, "not_ready"));
    assert!(body["error"]["message"].as_str().unwrap().contains("draining"), "{body}");
}

#[tokio::test]
async fn requests_beyond_the_rate_limit_get_429() {
    let s = server(Some("t"), true).await;
    let mut limited = 0;
    for _ in 0..(REQUESTS_PER_SECOND * 3) {
        let (status, body) = s.call(Method::GET, "/v1/nothing", Some("t")).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(code(&body), "rate_limited");
            limited += 1;
        }
    }
    assert!(limited >= 1, "60 requests in well under a second must exceed a burst of 40");
}

#[tokio::test]
async fn halt_goes_through_a_flood_of_wrong_tokens_and_of_reads() {
    let s = Arc::new(server(Some("the-right-token"), true).await);
    // Wrong tokens from one address: after a burst they get 429, the address alone.
    let flood: Vec<_> = (0..200)
        .map(|i| {
            let s = s.clone();
            let path = if i % 2 == 0 { "/v1/halt" } else { "/v1/status" };
            let method = if i % 2 == 0 { Method::POST } else { Method::GET };
            tokio::spawn(async move { s.call(method, path, Some("wrong")).await.0 })
        })
        .collect();
    // And reads with the right token, beyond their budget.
    let reads: Vec<_> = (0..100)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.call(Method::GET, "/v1/nothing", Some("the-right-token")).await.0 })
        })
        .collect();
    let (status, body) = s.call(Method::POST, "/v1/halt", Some("the-right-token")).await;
    assert_eq!(status, StatusCode::OK, "the kill switch answered {body}");
    let mut failed = Vec::new();
    for f in flood {
        failed.push(f.await.unwrap());
    }
    assert!(failed.iter().all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS));
    assert!(failed.contains(&StatusCode::TOO_MANY_REQUESTS), "failed attempts are limited");
    for r in reads {
        r.await.unwrap();
    }
    // Still: the operator halts (and resumes) during the flood's aftermath.
    let (status, _) = s.call(Method::POST, "/v1/resume", Some("the-right-token")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        s.seen.lock().unwrap().iter().filter(|c| **c == Command::Halt).count(),
        1,
        "only the right token halted"
    );
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint() {
    let s = server(Some("t"), true).await;
    let (status, doc) = s.call(Method::GET, "/v1/openapi.json", Some("t")).await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/v1/status",
        "/v1/strategies",
        "/v1/positions",
        "/v1/orders",
        "/v1/balances",
        "/v1/halt",
        "/v1/resume",
        "/v1/reload",
        "/v1/strategies/{name}/pause",
        "/v1/strategies/{name}/resume",
        "/v1/orders/{client_id}/cancel",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the OpenAPI document");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    // Every operation documents what the guard answers.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            for code in ["401", "429", "503"] {
                assert!(op["responses"][code].is_object(), "{method} {path}: no {code}");
            }
        }
    }
    assert!(paths["/v1/halt"]["post"]["responses"]["403"].is_object());
    // A known path with the wrong method: 405 with the same error shape.
    let (status, body) = s.call(Method::DELETE, "/v1/halt", Some("t")).await;
    assert_eq!((status, code(&body)), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
    assert!(doc["components"]["schemas"]["PositionRow"]["properties"]["qty"].is_object());
}
