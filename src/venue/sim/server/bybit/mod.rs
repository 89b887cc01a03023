//! The simulator's second wire protocol: Bybit v5 spot, over the same
//! exchange, ledger, faults and accounts as the Binance dialect, on the same
//! port. [`rest`] answers `/v5/*`, [`ws`] serves `/v5/public/spot` and
//! `/v5/private`, [`wire`] renders Bybit's JSON. Its rate limits are
//! Bybit's: per account and endpoint over a rolling second, and the IP's
//! 600 requests in 5 s (past it, HTTP 403 for ten minutes).

pub mod rest;
mod wire;
pub mod ws;

use std::collections::{HashMap, VecDeque};

use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::Shared;
use super::params::Params;
use crate::venue::sim::ledger::AccountId;
use rest::{Endpoint, Refusal};

/// The IP's limit: requests in 5 s, and how long an IP past it is refused.
const IP_REQUESTS: usize = 600;
const IP_WINDOW_MS: i64 = 5_000;
const IP_BAN_MS: i64 = 600_000;

/// One account's budget of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateKey {
    pub account: AccountId,
    pub endpoint: Endpoint,
}

/// An endpoint's limit reached: when the oldest request in the window leaves it.
pub struct Limited {
    pub reset: i64,
}

/// Bybit's counts: requests of the last second per account and endpoint,
/// and of the last five seconds from anyone.
#[derive(Debug, Default)]
pub struct BybitRate {
    ip: VecDeque<i64>,
    banned_until: i64,
    endpoints: HashMap<RateKey, VecDeque<i64>>,
}

impl BybitRate {
    /// Counts a request against the IP's limit (refused while banned).
    pub fn ip(&mut self, now: i64) -> Result<(), ()> {
        if now < self.banned_until {
            return Err(());
        }
        while self.ip.front().is_some_and(|t| *t <= now - IP_WINDOW_MS) {
            self.ip.pop_front();
        }
        if self.ip.len() >= IP_REQUESTS {
            tracing::warn!("the Bybit IP limit was passed: refusing every request for ten minutes");
            self.banned_until = now + IP_BAN_MS;
            return Err(());
        }
        self.ip.push_back(now);
        Ok(())
    }

    /// Counts a request against `key`'s rolling second: (limit, left, reset time).
    pub fn endpoint(&mut self, key: RateKey, per_second: u32, now: i64) -> Result<(u32, u32, i64), Limited> {
        let window = self.endpoints.entry(key).or_default();
        while window.front().is_some_and(|t| *t <= now - 1_000) {
            window.pop_front();
        }
        let used = u32::try_from(window.len()).unwrap_or(u32::MAX);
        let reset = window.front().map_or(now + 1_000, |t| t + 1_000);
        if used >= per_second {
            return Err(Limited { reset });
        }
        window.push_back(now);
        Ok((per_second, per_second - used - 1, reset))
    }
}

/// Checks a signed request: `X-BAPI-API-KEY`, a timestamp within
/// `X-BAPI-RECV-WINDOW` (default 5000 ms; `server - window <= ts < server + 1000`),
/// and `X-BAPI-SIGN` over `timestamp + key + window + payload`.
pub fn authenticate(shared: &Shared, headers: &HeaderMap, payload: &[u8]) -> Result<AccountId, Refusal> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let key = header("x-bapi-api-key").ok_or_else(|| Refusal::new(10003, "API key is invalid."))?;
    let credential = shared.keys().get(key).cloned().ok_or_else(|| Refusal::new(10003, "API key is invalid."))?;
    let timestamp = header("x-bapi-timestamp").ok_or_else(|| Refusal::new(10002, "timestamp is missing"))?;
    let window = header("x-bapi-recv-window").unwrap_or("5000");
    check_time(timestamp, window, shared.now())?;
    let signature = header("x-bapi-sign").ok_or_else(|| Refusal::new(10004, "error sign!"))?;
    let mut signed = format!("{timestamp}{key}{window}").into_bytes();
    signed.extend_from_slice(payload);
    if credential.verify(&signed, signature) {
        Ok(credential.account)
    } else {
        Err(Refusal::new(10004, "error sign! origin_string[...]"))
    }
}

fn check_time(timestamp: &str, window: &str, server: i64) -> Result<(), Refusal> {
    let ts: i64 = timestamp.parse().map_err(|_| Refusal::new(10002, "invalid timestamp"))?;
    let window: i64 = window.parse().map_err(|_| Refusal::new(10001, "invalid recv_window"))?;
    if !(1..=60_000).contains(&window) {
        return Err(Refusal::new(10001, "recv_window must be between 1 and 60000"));
    }
    if ts < server - window || ts >= server + 1_000 {
        return Err(Refusal::new(
            10002,
            format!(
                "invalid request, please check your server timestamp or recv_window param. \
                 req_timestamp[{ts}],server_timestamp[{server}],recv_window[{window}]"
            ),
        ));
    }
    Ok(())
}

/// `order/amend`: a resting order's new total `qty` and/or `price`, in
/// place (same `orderId` and `orderLinkId`); the `order` topic shows the
/// order as it now stands.
pub fn amend(shared: &Shared, account: AccountId, params: &Params, now: i64) -> Result<Value, Refusal> {
    let symbol = params.required("symbol")?;
    let (qty, price) = (params.decimal("qty")?, params.decimal("price")?);
    if qty.is_none() && price.is_none() {
        return Err(Refusal::new(
            10001,
            "The order remains unchanged as the parameters entered match the existing ones.",
        ));
    }
    let mut ex = shared.exchange();
    let order = (params.u64("orderId")?, params.get("orderLinkId"));
    let id = ex.amend(account, symbol, order, crate::venue::sim::exchange::Amendment { qty, price }, now);
    shared.publish(&mut ex);
    let o = ex.order(account, Some(id?), None)?;
    Ok(serde_json::json!({"orderId": o.id.to_string(), "orderLinkId": o.client_id}))
}

/// A key's login to the private stream: `"GET/realtime" + expires`, not expired.
pub fn verify_login(shared: &Shared, args: &[Value]) -> Result<AccountId, String> {
    let [key, expires, signature] = args else { return Err("Params Error".into()) };
    let (Some(key), Some(signature)) = (key.as_str(), signature.as_str()) else { return Err("Params Error".into()) };
    let expires = expires.as_i64().or_else(|| expires.as_str()?.parse().ok()).ok_or("Params Error")?;
    let credential = shared.keys().get(key).cloned().ok_or("Invalid apikey")?;
    if expires <= shared.now() {
        return Err("Params Error".into());
    }
    if credential.verify(format!("GET/realtime{expires}").as_bytes(), signature) {
        Ok(credential.account)
    } else {
        Err("Invalid sign".into())
    }
}

/// The reply to an `op` request.
pub fn op_reply(op: &str, req_id: Option<&Value>, success: bool, message: &str, conn: &str) -> String {
    let mut v = json!({"success": success, "ret_msg": message, "op": op, "conn_id": conn});
    if let Some(id) = req_id {
        v["req_id"] = id.clone();
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_endpoint_has_a_rolling_second_per_account() {
        let mut rate = BybitRate::default();
        let key = RateKey { account: 2, endpoint: Endpoint::Create };
        for i in 0..20 {
            let (limit, left, _) = rate.endpoint(key, 20, 1_000 + i).ok().unwrap();
            assert_eq!((limit, left), (20, 19 - u32::try_from(i).unwrap()));
        }
        let Err(limited) = rate.endpoint(key, 20, 1_500) else { panic!("the 21st in a second") };
        assert_eq!(limited.reset, 2_000, "when the first leaves the window");
        assert!(rate.endpoint(RateKey { account: 3, ..key }, 20, 1_500).is_ok(), "another account");
        assert!(rate.endpoint(key, 20, 2_000).is_ok(), "a second after the first");
    }

    #[test]
    fn past_the_ip_limit_everything_is_refused_for_ten_minutes() {
        let mut rate = BybitRate::default();
        for i in 0..600 {
            assert!(rate.ip(i).is_ok());
        }
        assert!(rate.ip(4_000).is_err());
        assert!(rate.ip(4_000 + 599_999).is_err(), "still banned");
        assert!(rate.ip(4_000 + 600_000).is_ok());
    }

    #[test]
    fn timestamps_outside_the_window_are_refused_as_bybit_does() {
        assert!(check_time("10000", "5000", 10_500).is_ok());
        assert_eq!(check_time("10000", "5000", 15_001).unwrap_err().code, 10002, "older than the window");
        assert_eq!(check_time("11000", "5000", 10_000).unwrap_err().code, 10002, "a second ahead");
        assert_eq!(check_time("10000", "0", 10_000).unwrap_err().code, 10001);
    }
}
