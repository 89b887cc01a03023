//! The control API, under `/v1` on the ops listener: what the daemon holds
//! (status, strategies, positions, open orders, balances) and the operator's
//! levers (kill switch, pause/resume a strategy, cancel an order).
//!
//! Every `/v1` request needs `Authorization: Bearer <token>` when a token is
//! configured (compared in constant time). Without a token, reads are served
//! only on a loopback listener and every state change is refused: an API
//! without a token is read-only, never open. Requests are rate-limited;
//! every error has the shape `{"error": {"code", "message"}}`. The OpenAPI
//! document (`/v1/openapi.json`) is generated from the handlers' types.
//!
//! Handlers change nothing themselves: they hand the engine a
//! [`Command`](crate::engine::control::Command) on its input queue and wait
//! for its answer.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};
use utoipa::{OpenApi, ToSchema};

use crate::engine::EngineInput;
use crate::engine::control::{
    self, BalanceRow, Command, ControlError, Done, NoAnswer, OrderRow, PositionRow, Reply, Snapshot, StrategyRow,
};
use crate::lifecycle::{Phase, ReloadOutcome};
use crate::risk::TradingState;
use crate::secret::Secret;

/// Reads per second the API serves (burst of twice that). Authenticated
/// commands (halt, resume, pause, cancel, reload) are never limited: the kill
/// switch must work whatever else arrives.
const REQUESTS_PER_SECOND: u32 = 20;
/// Failed authentications per second one address may make (burst of twice that);
/// beyond, it gets 429 until it slows down. Others are not affected.
const FAILURES_PER_SECOND: u32 = 5;
/// Addresses remembered for failures before stale ones are forgotten.
const FAILING_ADDRESSES: usize = 10_000;
/// How long a handler waits for the engine.
const ENGINE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    engine: mpsc::Sender<EngineInput>,
    phase: watch::Receiver<Phase>,
    token: Option<Arc<[u8; 32]>>,
    loopback: bool,
    limiter: Arc<DefaultDirectRateLimiter>,
    /// Failed authentications, per source address.
    failures: Arc<governor::DefaultKeyedRateLimiter<std::net::IpAddr>>,
    started: std::time::Instant,
    /// The daemon-wide trading state, for `/readyz` (updated by halt/resume at once).
    trading: watch::Sender<TradingState>,
    reload: Option<mpsc::Sender<crate::lifecycle::ReloadRequest>>,
}

impl ApiState {
    /// `token`: the bearer token, if one is configured; `loopback`: whether
    /// the listener only accepts local connections.
    pub fn new(
        engine: mpsc::Sender<EngineInput>,
        phase: watch::Receiver<Phase>,
        token: Option<&Secret>,
        loopback: bool,
        trading: watch::Sender<TradingState>,
    ) -> Self {
        let per_second = NonZeroU32::new(REQUESTS_PER_SECOND).expect("non-zero");
        let burst = NonZeroU32::new(REQUESTS_PER_SECOND * 2).expect("non-zero");
        Self {
            engine,
            phase,
            token: token.map(|t| Arc::new(digest(t.expose().as_bytes()))),
            loopback,
            limiter: Arc::new(RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst))),
            failures: Arc::new(RateLimiter::keyed(
                Quota::per_second(NonZeroU32::new(FAILURES_PER_SECOND).expect("non-zero"))
                    .allow_burst(NonZeroU32::new(FAILURES_PER_SECOND * 2).expect("non-zero")),
            )),
            started: std::time::Instant::now(),
            trading,
            reload: None,
        }
    }

    /// Lets `POST /v1/reload` ask the daemon to reload.
    pub fn with_reload(mut self, reload: mpsc::Sender<crate::lifecycle::ReloadRequest>) -> Self {
        self.reload = Some(reload);
        self
    }
}

/// The `/v1` routes, behind the rate limit and the token check.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/latency", get(latency))
        .route("/v1/strategies", get(strategies))
        .route("/v1/positions", get(positions))
        .route("/v1/orders", get(orders))
        .route("/v1/balances", get(balances))
        .route("/v1/strategies/{name}/pause", post(pause))
        .route("/v1/strategies/{name}/resume", post(resume_strategy))
        .route("/v1/halt", post(halt))
        .route("/v1/resume", post(resume))
        .route("/v1/reload", post(reload))
        .route("/v1/orders/{client_id}/cancel", post(cancel))
        .route("/v1/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// An error as every endpoint reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable (`unauthorized`, `control_disabled`, `not_ready`, `unknown_strategy`, ...).
    pub code: String,
    /// For humans.
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self { status, body: ErrorBody { error: ErrorDetail { code: code.to_owned(), message: message.into() } } }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        let code = match e {
            ControlError::UnknownStrategy(_) => "unknown_strategy",
            ControlError::UnknownOrder(_) => "unknown_order",
        };
        ApiError::new(StatusCode::NOT_FOUND, code, e.to_string())
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Equal digests, compared without an early exit.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Authentication first, then limits: a failed attempt counts against its
/// source address only, an authenticated command is never limited, reads share
/// one budget. So no flood of wrong tokens can keep the operator from `halt`.
async fn guard(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let mutating = request.method() != Method::GET && request.method() != Method::HEAD;
    let source = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    let refused = match (&state.token, bearer(request.headers())) {
        (Some(expected), Some(given)) if same(expected, &digest(given.as_bytes())) => {
            if mutating {
                return next.run(request).await;
            }
            None
        }
        (Some(_), _) => Some(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing or wrong bearer token")),
        (None, _) if mutating => Some(ApiError::new(
            StatusCode::FORBIDDEN,
            "control_disabled",
            "no API token is configured, so the API is read-only: set one ([ops] token_file, \
             the systemd credential api-token, or TRADEWIND_API_TOKEN)",
        )),
        (None, _) if !state.loopback => Some(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "no API token is configured and the listener is not loopback-only",
        )),
        (None, _) => None,
    };
    if let Some(refusal) = refused {
        if state.failures.len() > FAILING_ADDRESSES {
            state.failures.retain_recent();
        }
        if state.failures.check_key(&source).is_err() {
            return limited("too many failed attempts from this address; retry in a second");
        }
        return refusal.into_response();
    }
    if state.limiter.check().is_err() {
        return limited("too many requests; retry in a second");
    }
    next.run(request).await
}

/// 429 with `Retry-After: 1`.
fn limited(message: &str) -> Response {
    let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    response
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// Sends the engine a command and waits for its answer.
async fn ask(state: &ApiState, command: Command) -> Result<Reply, ApiError> {
    let phase = *state.phase.borrow();
    if !matches!(phase, Phase::Running | Phase::Reloading) {
        let message = format!("the daemon is {} (not running)", serde_json::to_value(phase).unwrap_or_default());
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", message));
    }
    match control::ask(&state.engine, command, ENGINE_TIMEOUT).await {
        Ok(answer) => {
            let reply = answer?;
            if let Reply::Done(done) = &reply
                && done.global
            {
                state.trading.send_replace(done.trading_state);
            }
            Ok(reply)
        }
        Err(NoAnswer::Stopped) => {
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "the engine has stopped"))
        }
        Err(NoAnswer::Timeout) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "engine_busy",
            "the engine did not answer in time; a command may still take effect",
        )),
    }
}

async fn snapshot(state: &ApiState) -> Result<Snapshot, ApiError> {
    match ask(state, Command::Snapshot).await? {
        Reply::Snapshot(s) => Ok(*s),
        Reply::Done(_) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "unexpected answer")),
    }
}

async fn done(state: &ApiState, command: Command) -> Result<Json<Done>, ApiError> {
    match ask(state, command).await? {
        Reply::Done(d) => Ok(Json(d)),
        Reply::Snapshot(_) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "unexpected answer")),
    }
}

/// The daemon at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Status {
    pub version: String,
    #[schema(value_type = String)]
    pub phase: Phase,
    pub uptime_secs: u64,
    pub trading_state: TradingState,
    pub strategies: usize,
    pub strategies_running: usize,
    pub open_orders: usize,
    /// Sum over strategies (mixed quote assets are added as numbers).
    #[schema(value_type = String)]
    pub realized_pnl: rust_decimal::Decimal,
    #[schema(value_type = String)]
    pub unrealized_pnl: rust_decimal::Decimal,
    #[schema(value_type = String)]
    pub fees: rust_decimal::Decimal,
    /// Frame read → order handed to the HTTP client, since start (none before the first such order).
    pub tick_to_order: Option<crate::latency::Summary>,
    /// Frame read → strategy callback, since start.
    pub tick_to_strategy: Option<crate::latency::Summary>,
}

impl Status {
    pub fn of(snapshot: &Snapshot, phase: Phase, uptime_secs: u64) -> Self {
        let rows = &snapshot.strategies;
        Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            phase,
            uptime_secs,
            trading_state: snapshot.trading_state,
            strategies: rows.len(),
            strategies_running: rows.iter().filter(|r| r.status == crate::engine::InstanceStatus::Running).count(),
            open_orders: snapshot.orders.len(),
            realized_pnl: rows.iter().map(|r| r.realized_pnl).sum(),
            unrealized_pnl: rows.iter().map(|r| r.unrealized_pnl).sum(),
            fees: rows.iter().map(|r| r.fees).sum(),
            tick_to_order: crate::latency::TICK_TO_ORDER.summary(),
            tick_to_strategy: crate::latency::TICK_TO_STRATEGY.summary(),
        }
    }
}

#[utoipa::path(get, path = "/v1/status", responses((status = 200, body = Status), (status = 503, body = ErrorBody)))]
async fn status(State(state): State<ApiState>) -> Result<Json<Status>, ApiError> {
    let snap = snapshot(&state).await?;
    let phase = *state.phase.borrow();
    Ok(Json(Status::of(&snap, phase, state.started.elapsed().as_secs())))
}

/// The latency histograms since start, bucket by bucket: bucket i counts
/// samples of at most 2^(i/8) µs. Two readings give the figures of the time
/// between them (`tradewind bench` measures after its warm-up this way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Latency {
    /// Frame read → order handed to the HTTP client.
    pub tick_to_order: Vec<u64>,
    /// Frame read → strategy callback.
    pub tick_to_strategy: Vec<u64>,
}

#[utoipa::path(get, path = "/v1/latency", responses((status = 200, body = Latency)))]
async fn latency() -> Json<Latency> {
    Json(Latency {
        tick_to_order: crate::latency::TICK_TO_ORDER.counts(),
        tick_to_strategy: crate::latency::TICK_TO_STRATEGY.counts(),
    })
}

#[utoipa::path(get, path = "/v1/strategies", responses((status = 200, body = Vec<StrategyRow>)))]
async fn strategies(State(state): State<ApiState>) -> Result<Json<Vec<StrategyRow>>, ApiError> {
    Ok(Json(snapshot(&state).await?.strategies))
}

#[utoipa::path(get, path = "/v1/positions", responses((status = 200, body = Vec<PositionRow>)))]
async fn positions(State(state): State<ApiState>) -> Result<Json<Vec<PositionRow>>, ApiError> {
    Ok(Json(snapshot(&state).await?.positions))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct OrdersQuery {
    /// Only `open` (the default) is served: closed orders are in the journal (`tradewind orders --all`).
    state: Option<String>,
}

#[utoipa::path(get, path = "/v1/orders", params(OrdersQuery),
    responses((status = 200, body = Vec<OrderRow>), (status = 400, body = ErrorBody)))]
async fn orders(
    State(state): State<ApiState>,
    Query(query): Query<OrdersQuery>,
) -> Result<Json<Vec<OrderRow>>, ApiError> {
    match query.state.as_deref() {
        None | Some("open") => Ok(Json(snapshot(&state).await?.orders)),
        Some(other) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!(
                "state={other:?}: only state=open is served; closed orders are in the journal (tradewind orders --all)"
            ),
        )),
    }
}

#[utoipa::path(get, path = "/v1/balances", responses((status = 200, body = Vec<BalanceRow>)))]
async fn balances(State(state): State<ApiState>) -> Result<Json<Vec<BalanceRow>>, ApiError> {
    Ok(Json(snapshot(&state).await?.balances))
}

#[utoipa::path(post, path = "/v1/halt", responses((status = 200, body = Done), (status = 403, body = ErrorBody)))]
async fn halt(State(state): State<ApiState>) -> Result<Json<Done>, ApiError> {
    done(&state, Command::Halt).await
}

#[utoipa::path(post, path = "/v1/resume", responses((status = 200, body = Done), (status = 403, body = ErrorBody)))]
async fn resume(State(state): State<ApiState>) -> Result<Json<Done>, ApiError> {
    done(&state, Command::Resume).await
}

#[utoipa::path(post, path = "/v1/strategies/{name}/pause", params(("name" = String, Path)),
    responses((status = 200, body = Done), (status = 404, body = ErrorBody)))]
async fn pause(State(state): State<ApiState>, Path(name): Path<String>) -> Result<Json<Done>, ApiError> {
    done(&state, Command::Pause(name)).await
}

#[utoipa::path(post, path = "/v1/strategies/{name}/resume", params(("name" = String, Path)),
    responses((status = 200, body = Done), (status = 404, body = ErrorBody)))]
async fn resume_strategy(State(state): State<ApiState>, Path(name): Path<String>) -> Result<Json<Done>, ApiError> {
    done(&state, Command::ResumeStrategy(name)).await
}

#[utoipa::path(post, path = "/v1/orders/{client_id}/cancel", params(("client_id" = String, Path)),
    responses((status = 200, body = Done), (status = 404, body = ErrorBody)))]
async fn cancel(State(state): State<ApiState>, Path(client_id): Path<String>) -> Result<Json<Done>, ApiError> {
    done(&state, Command::Cancel(client_id)).await
}

#[utoipa::path(post, path = "/v1/reload",
    responses((status = 200, body = ReloadOutcome), (status = 422, body = ReloadOutcome), (status = 503, body = ErrorBody)))]
async fn reload(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let Some(reload) = &state.reload else {
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "this daemon cannot reload"));
    };
    let (reply, outcome) = tokio::sync::oneshot::channel();
    let unavailable =
        || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "the daemon is not taking reloads now");
    reload.send_timeout(Some(reply), ENGINE_TIMEOUT).await.map_err(|_| unavailable())?;
    let outcome = tokio::time::timeout(ENGINE_TIMEOUT * 2, outcome)
        .await
        .map_err(|_| unavailable())?
        .map_err(|_| unavailable())?;
    let status = if outcome.ok { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, Json(outcome)).into_response())
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Tradewind control API", description = "Status and operator commands of a running tradewind daemon."),
    paths(status, latency, strategies, positions, orders, balances, halt, resume, pause, resume_strategy, cancel, reload),
    components(schemas(ErrorBody, ErrorDetail, Status, Latency, crate::latency::Summary, StrategyRow, PositionRow, OrderRow, BalanceRow, Done, TradingState, ReloadOutcome)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // What the guard and the engine's absence answer on every endpoint.
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            ResponseBuilder::new().description(description).content("application/json", content).build()
        };
        let common = [
            ("401", "missing or wrong bearer token (unauthorized)"),
            ("403", "no token is configured, so commands are refused (control_disabled)"),
            ("429", "too many reads, or too many failed attempts from this address (rate_limited); Retry-After: 1"),
            ("503", "the daemon is not running yet or any more (not_ready)"),
        ];
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                for (code, description) in common {
                    if code == "403" && item_is_read(op) {
                        continue;
                    }
                    op.responses.responses.entry(code.to_owned()).or_insert_with(|| error(description).into());
                }
            }
        }
    }
}

/// Whether an operation only reads (no `403 control_disabled` there).
fn item_is_read(op: &utoipa::openapi::path::Operation) -> bool {
    op.operation_id
        .as_deref()
        .is_some_and(|id| ["status", "latency", "strategies", "positions", "orders", "balances"].contains(&id))
}

#[cfg(test)]
mod tests;
