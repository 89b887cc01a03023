//! The simulator's own control endpoints under `/sim/v1/`: faults, rate
//! limits, dropping every connection.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Shared;
use crate::venue::sim::config::FaultConfig;

/// `GET /sim/v1/faults` shows the fault settings; `PUT` (or `POST`) replaces them.
pub async fn faults_handler(State(shared): State<Arc<Shared>>, method: Method, body: Bytes) -> Response {
    if method == Method::GET {
        return axum::Json(shared.faults()).into_response();
    }
    match serde_json::from_slice::<FaultConfig>(&body) {
        Ok(f) if f.fractions().iter().all(|(_, p)| (0.0..=1.0).contains(p)) => {
            tracing::info!(faults = %serde_json::to_string(&f).unwrap_or_default(), "fault settings changed");
            shared.set_faults(f.clone());
            axum::Json(f).into_response()
        }
        Ok(_) => (StatusCode::BAD_REQUEST, "fractions must be within 0..1").into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, format!("bad fault settings: {e}")).into_response(),
    }
}

/// `GET /sim/v1/limits` shows the rate limits; `PUT` (or `POST`) replaces
/// them, as a venue tightening its limits at run time (`exchangeInfo` publishes them).
pub async fn limits_handler(State(shared): State<Arc<Shared>>, method: Method, body: Bytes) -> Response {
    if method == Method::GET {
        return axum::Json(shared.exchange().config().limits.clone()).into_response();
    }
    match serde_json::from_slice::<crate::venue::sim::config::LimitConfig>(&body) {
        Ok(l) if l.request_weight_per_minute > 0 && l.orders_per_10s > 0 && l.orders_per_day > 0 => {
            tracing::info!(limits = %serde_json::to_string(&l).unwrap_or_default(), "rate limits changed");
            shared.exchange().set_limits(l.clone());
            axum::Json(l).into_response()
        }
        Ok(_) => (StatusCode::BAD_REQUEST, "limits must be ≥ 1").into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, format!("bad limits: {e}")).into_response(),
    }
}

/// `POST /sim/v1/drop-connections` closes every WebSocket connection.
pub async fn drop_handler(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.drop_connections();
    StatusCode::NO_CONTENT
}
