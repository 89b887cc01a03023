//! The operator's side of the control API: `tradewind status`, `positions`,
//! `orders`, `balances`, `halt`, `resume`, `pause`, `cancel`, `reload` call a
//! running daemon and print tables (or its JSON with `--json`). `positions`
//! and `orders` read the journal instead when no daemon answers.

use std::time::Duration;

use rust_decimal::Decimal;
use serde::de::DeserializeOwned;

use crate::config::OpsConfig;
use crate::engine::control::{BalanceRow, OrderRow, PositionRow, StrategyRow};
use crate::ops::api::{ErrorBody, Status};
use crate::secret::Secret;
use crate::venue::credentials;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens there: the daemon is not running (or listens elsewhere).
    #[error("no daemon answers on {0}")]
    Unreachable(String),
    #[error("{code}: {message}")]
    Api { status: u16, code: String, message: String },
    /// An error answer without the usual error body.
    #[error("HTTP {status}")]
    Unreadable { status: u16, body: Vec<u8> },
    #[error("{0}")]
    Other(String),
}

/// A client of one daemon's control API.
pub struct ApiClient {
    base: String,
    token: Option<Secret>,
    http: reqwest::Client,
}

impl ApiClient {
    /// The daemon of `ops` (its `listen` address, a wildcard address meaning
    /// this host), or `api` when given; the token from the same places the
    /// daemon reads it.
    pub fn new(ops: &OpsConfig, api: Option<&str>) -> Result<Self, ClientError> {
        let base = match api {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let mut addr = ops.listen;
                if addr.ip().is_unspecified() {
                    addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                format!("http://{addr}")
            }
        };
        let token = credentials::api_token(ops.token_file.as_deref(), &|k| std::env::var(k).ok())
            .map_err(|e| ClientError::Other(format!("control API token: {e}")))?;
        crate::venue::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| ClientError::Other(e.to_string()))?;
        Ok(Self { base, token, http })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(reqwest::Method::GET, path).await
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(reqwest::Method::POST, path).await
    }

    /// Asks for a reload; a refused reload (422) is an outcome too, with its problems.
    pub async fn reload(&self) -> Result<crate::lifecycle::ReloadOutcome, ClientError> {
        match self.call(reqwest::Method::POST, "/v1/reload").await {
            Err(ClientError::Unreadable { status: 422, body }) => {
                serde_json::from_slice(&body).map_err(|e| ClientError::Other(format!("unreadable reload answer: {e}")))
            }
            other => other,
        }
    }

    async fn call<T: DeserializeOwned>(&self, method: reqwest::Method, path: &str) -> Result<T, ClientError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let response = request.send().await.map_err(|e| {
            if e.is_connect() {
                ClientError::Unreachable(self.base.clone())
            } else {
                ClientError::Other(format!("{}: {}", self.base, e.without_url()))
            }
        })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| ClientError::Other(e.without_url().to_string()))?;
        if !status.is_success() {
            return Err(match serde_json::from_slice::<ErrorBody>(&body) {
                Ok(e) => ClientError::Api { status: status.as_u16(), code: e.error.code, message: e.error.message },
                Err(_) => ClientError::Unreadable { status: status.as_u16(), body: body.to_vec() },
            });
        }
        serde_json::from_slice(&body).map_err(|e| ClientError::Other(format!("unreadable answer from {path}: {e}")))
    }
}

/// Left-aligned columns separated by two spaces, a header line first.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (cell, w) in cells.zip(&widths) {
            text.push_str(&format!("{cell:<w$}  "));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

fn opt(d: Option<Decimal>) -> String {
    d.map_or_else(|| "-".to_owned(), |d| d.normalize().to_string())
}

fn dec(d: Decimal) -> String {
    d.normalize().to_string()
}

/// The name serde gives a unit variant (`running`, `halted`, ...).
fn name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

pub fn status_text(s: &Status) -> String {
    let latency = match &s.tick_to_order {
        Some(l) => format!(
            "tick to order: p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs over {} orders\n",
            l.p50_us, l.p99_us, l.p999_us, l.max_us, l.count
        ),
        None => "tick to order: no order caused by market data yet\n".to_owned(),
    };
    let mut text = format!(
        "tradewind {}: {}, up {} s\ntrading: {}\nstrategies: {} ({} running)\nopen orders: {}\npnl: realised {}, unrealised {}, fees {}\n",
        s.version,
        name(&s.phase),
        s.uptime_secs,
        name(&s.trading_state),
        s.strategies,
        s.strategies_running,
        s.open_orders,
        dec(s.realized_pnl),
        dec(s.unrealized_pnl),
        dec(s.fees)
    );
    text.push_str(&latency);
    text
}

pub fn reload_text(o: &crate::lifecycle::ReloadOutcome) -> String {
    if !o.ok {
        let mut text = format!("reload failed; the running configuration stays ({} problem(s)):\n", o.errors.len());
        for e in &o.errors {
            text.push_str(&format!("  {e}\n"));
        }
        return text;
    }
    let list = |v: &[String]| if v.is_empty() { "-".to_owned() } else { v.join(", ") };
    let mut text = format!(
        "reloaded: added {}; removed {}; restarted {}; unchanged {}; streams added {}{}\n",
        list(&o.added),
        list(&o.removed),
        list(&o.restarted),
        o.unchanged.len(),
        o.streams_added,
        if o.risk_changed { "; risk limits changed" } else { "" }
    );
    if !o.keys_rotated.is_empty() {
        text.push_str(&format!("API key rotated on: {}\n", o.keys_rotated.join(", ")));
    }
    if !o.needs_restart.is_empty() {
        text.push_str(&format!("needs a restart to apply: {}\n", o.needs_restart.join(", ")));
    }
    text
}

pub fn strategies_table(rows: &[StrategyRow]) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let status = match &r.status {
                crate::engine::InstanceStatus::Failed(reason) => format!("failed: {reason}"),
                crate::engine::InstanceStatus::Running => "running".to_owned(),
                crate::engine::InstanceStatus::Stopped => "stopped".to_owned(),
            };
            vec![
                r.name.clone(),
                status,
                name(&r.trading_state),
                r.open_orders.to_string(),
                dec(r.realized_pnl),
                dec(r.unrealized_pnl),
                dec(r.fees),
            ]
        })
        .collect();
    table(&["STRATEGY", "STATUS", "TRADING", "OPEN", "REALISED", "UNREALISED", "FEES"], &body)
}

pub fn positions_table(rows: &[PositionRow]) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|p| {
            vec![
                p.strategy.clone(),
                p.venue.clone(),
                p.symbol.clone(),
                dec(p.qty),
                opt(p.avg_entry),
                opt(p.mark),
                dec(p.realized_pnl),
                opt(p.unrealized_pnl),
                dec(p.fees),
            ]
        })
        .collect();
    table(&["STRATEGY", "VENUE", "SYMBOL", "QTY", "AVG ENTRY", "MARK", "REALISED", "UNREALISED", "FEES"], &body)
}

pub fn orders_table(rows: &[OrderRow]) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|o| {
            vec![
                o.strategy.clone(),
                o.client_order_id.clone(),
                o.venue.clone(),
                o.symbol.clone(),
                o.side.clone(),
                o.kind.clone(),
                opt(o.price),
                dec(o.qty),
                dec(o.filled),
                o.state.clone(),
            ]
        })
        .collect();
    let headers = ["STRATEGY", "CLIENT ORDER ID", "VENUE", "SYMBOL", "SIDE", "KIND", "PRICE", "QTY", "FILLED", "STATE"];
    table(&headers, &body)
}

pub fn balances_table(rows: &[BalanceRow]) -> String {
    let body: Vec<Vec<String>> =
        rows.iter().map(|b| vec![b.venue.clone(), b.asset.clone(), dec(b.free), dec(b.locked)]).collect();
    table(&["VENUE", "ASSET", "FREE", "LOCKED"], &body)
}

/// What the operator asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Status,
    Strategies,
    Positions,
    /// Open orders, or (`all`) the latest `limit` orders of any state from the journal.
    Orders {
        all: bool,
        limit: usize,
    },
    Balances,
    Halt,
    /// The whole daemon, or one strategy.
    Resume(Option<String>),
    Pause(String),
    Cancel(String),
    Reload,
}

/// Carries out `request` against the daemon (or, for positions and orders
/// when no daemon answers, the journal at `journal`); returns what to print.
pub async fn execute(
    client: &ApiClient,
    request: &Request,
    journal: &std::path::Path,
    json: bool,
) -> Result<String, ClientError> {
    fn show<T: serde::Serialize>(value: &T, json: bool, text: impl FnOnce(&T) -> String) -> String {
        if json { serde_json::to_string_pretty(value).unwrap_or_default() + "\n" } else { text(value) }
    }
    // What the command did, in its own words: a pause is not a halt.
    let done = |what: String, d: crate::engine::control::Done| {
        show(&d, json, |d| format!("ok: {what}, {} cancel(s) sent\n", d.cancels_sent))
    };
    let trading = |d: &crate::engine::control::Done| format!("trading {}", name(&d.trading_state));
    let from_journal = |all: bool, limit: usize, positions: bool| -> Result<String, ClientError> {
        // `orders --all` always reads the journal, daemon or not.
        let why = if all { "" } else { "no daemon answers; " };
        if !journal.exists() {
            return Err(ClientError::Other(format!(
                "{why}no journal at {} (a daemon under systemd keeps it in its state directory: \
                 pass --journal /var/lib/tradewind/tradewind.db)",
                journal.display()
            )));
        }
        let report = crate::ops::report::read(journal, all, limit)
            .map_err(|e| ClientError::Other(format!("{why}the journal cannot be read: {e}")))?;
        let note = format!("({why}read from the journal {})\n", journal.display());
        Ok(if positions {
            show(&report.positions, json, |p| note.clone() + &positions_table(p))
        } else {
            let rows: Vec<OrderRow> = report.orders.into_iter().map(|(row, _)| row).collect();
            show(&rows, json, |r| note.clone() + &orders_table(r))
        })
    };
    Ok(match request {
        Request::Status => show(&client.get::<Status>("/v1/status").await?, json, status_text),
        Request::Strategies => {
            show(&client.get::<Vec<StrategyRow>>("/v1/strategies").await?, json, |r| strategies_table(r))
        }
        Request::Positions => match client.get::<Vec<PositionRow>>("/v1/positions").await {
            Ok(rows) => show(&rows, json, |r| positions_table(r)),
            Err(ClientError::Unreachable(_)) => from_journal(false, 0, true)?,
            Err(e) => return Err(e),
        },
        Request::Orders { all: false, limit } => match client.get::<Vec<OrderRow>>("/v1/orders?state=open").await {
            Ok(rows) => show(&rows, json, |r| orders_table(r)),
            Err(ClientError::Unreachable(_)) => from_journal(false, *limit, false)?,
            Err(e) => return Err(e),
        },
        Request::Orders { all: true, limit } => from_journal(true, *limit, false)?,
        Request::Balances => show(&client.get::<Vec<BalanceRow>>("/v1/balances").await?, json, |r| balances_table(r)),
        Request::Halt => {
            let d = client.post("/v1/halt").await?;
            done(trading(&d), d)
        }
        Request::Resume(None) => {
            let d = client.post("/v1/resume").await?;
            done(trading(&d), d)
        }
        Request::Resume(Some(s)) => {
            done(format!("strategy {s} resumed"), client.post(&format!("/v1/strategies/{}/resume", encode(s))).await?)
        }
        Request::Pause(s) => {
            done(format!("strategy {s} paused"), client.post(&format!("/v1/strategies/{}/pause", encode(s))).await?)
        }
        Request::Cancel(id) => {
            done(format!("cancel of {id} asked"), client.post(&format!("/v1/orders/{}/cancel", encode(id))).await?)
        }
        Request::Reload => {
            let outcome = client.reload().await?;
            let text = show(&outcome, json, reload_text);
            if outcome.ok { text } else { return Err(ClientError::Other(text.trim_end().to_owned())) }
        }
    })
}

/// A path segment, percent-encoded.
fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let t = table(&["A", "LONG HEADER"], &[vec!["wide cell".into(), "x".into()], vec!["y".into(), "z".into()]]);
        assert_eq!(t, "A          LONG HEADER\nwide cell  x\ny          z\n");
    }
}
