//! What the start and `check-config --online` read from OKX besides orders:
//! the spot instruments, the API key's rights and account id
//! (`account/config`), the best bids.

use rust_decimal::Decimal;
use serde::Deserialize;
use tradewind_strategies::sdk::Symbol;

use super::error::VenueError;
use super::limits::Endpoint;
use super::rest::{Call, RestClient};
use super::types::Instrument;
use crate::venue::wire::decimal;

pub use crate::venue::startup::Instruments;

/// `account/config`: the account and what the key may do.
#[derive(Debug, Deserialize)]
pub struct KeyInfo {
    #[serde(default)]
    pub uid: String,
    /// `read_only`, `trade`, `withdraw`, comma-separated.
    #[serde(default)]
    pub perm: String,
}

impl KeyInfo {
    fn has(&self, right: &str) -> bool {
        self.perm.split(',').any(|p| p.trim() == right)
    }

    pub fn can_trade(&self) -> bool {
        self.has("trade")
    }

    pub fn can_withdraw(&self) -> bool {
        self.has("withdraw")
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ticker {
    inst_id: String,
    #[serde(default, deserialize_with = "decimal")]
    bid_px: Decimal,
}

impl RestClient {
    /// `public/instruments` for spot.
    pub async fn instruments(&self) -> Result<Instruments, VenueError> {
        let call = Call::get("/api/v5/public/instruments", Endpoint::Instruments, "instType=SPOT".into(), false);
        let rows: Vec<Instrument> = self.call(call).await?;
        Ok(Instruments::from_rows(rows.iter().map(|i| (i.spec(), i.is_trading()))))
    }

    /// `account/config`: the key's rights and the account's id.
    pub async fn key_info(&self) -> Result<KeyInfo, VenueError> {
        let call = Call::get("/api/v5/account/config", Endpoint::Balance, String::new(), true);
        let rows: Vec<KeyInfo> = self.call(call).await?;
        rows.into_iter().next().ok_or_else(|| VenueError::not_sent("account/config answered no account"))
    }

    /// The best bid of each of `symbols` (`market/tickers`).
    pub async fn bids(&self, symbols: &[Symbol]) -> Result<Vec<(Symbol, Decimal)>, VenueError> {
        let call = Call::get("/api/v5/market/tickers", Endpoint::Tickers, "instType=SPOT".into(), false);
        let rows: Vec<Ticker> = self.call(call).await?;
        Ok(symbols
            .iter()
            .filter_map(|s| rows.iter().find(|t| t.inst_id == s.as_str()).map(|t| (*s, t.bid_px)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accounts_configuration_says_what_the_key_may_do() {
        let raw = r#"{"acctLv":"1","autoLoan":false,"ctIsoMode":"automatic","greeksType":"PA","level":"Lv1",
            "levelTmp":"","mgnIsoMode":"automatic","posMode":"net_mode","spotOffsetType":"","uid":"44705892343619584",
            "label":"V5 Test","roleType":"0","traderInsts":[],"spotRoleType":"0","spotTraderInsts":[],"opAuth":"0",
            "kycLv":"3","ip":"120.255.24.182","perm":"read_only,withdraw,trade","mainUid":"444810535339712570"}"#;
        let mut info: KeyInfo = serde_json::from_str(raw).unwrap();
        assert_eq!(info.uid, "44705892343619584");
        assert!(info.can_trade() && info.can_withdraw());
        info.perm = "read_only,trade".into();
        assert!(info.can_trade() && !info.can_withdraw());
        info.perm = "read_only".into();
        assert!(!info.can_trade());
    }

    #[test]
    fn instruments_not_live_are_listed_as_halted() {
        let row = |id: &str, state: &str| {
            format!(
                r#"{{"baseCcy":"{}","instId":"{id}","instType":"SPOT","lotSz":"0.0001","minSz":"0.001","quoteCcy":"USDT",
                "state":"{state}","tickSz":"0.01","maxLmtSz":"1000","maxLmtAmt":"1000000","maxMktSz":"100"}}"#,
                id.split('-').next().unwrap()
            )
        };
        let rows: Vec<Instrument> =
            serde_json::from_str(&format!("[{},{}]", row("BTC-USDT", "live"), row("XYZ-USDT", "suspend"))).unwrap();
        let read = Instruments::from_rows(rows.iter().map(|i| (i.spec(), i.is_trading())));
        assert_eq!(read.specs.len(), 2);
        assert_eq!(read.halted, [Symbol::new("XYZ-USDT").unwrap()]);
    }
}
