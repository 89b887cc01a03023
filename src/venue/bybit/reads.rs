//! What the start and `check-config --online` read from Bybit besides
//! orders: the spot instruments, the API key's rights and account id, the
//! best bids.

use rust_decimal::Decimal;
use serde::Deserialize;
use tradewind_strategies::sdk::Symbol;

use super::error::VenueError;
use super::limits::Endpoint;
use super::rest::types::{Instrument, Page, decimal};
use super::rest::{Call, RestClient};

pub use crate::venue::startup::Instruments;

/// `user/query-api`: what the key may do.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    /// 1: the key reads only.
    #[serde(default)]
    pub read_only: u8,
    #[serde(default)]
    pub permissions: KeyPermissions,
    #[serde(default, rename = "userID")]
    pub user_id: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyPermissions {
    #[serde(default)]
    pub spot: Vec<String>,
    #[serde(default)]
    pub wallet: Vec<String>,
}

impl KeyInfo {
    pub fn can_trade_spot(&self) -> bool {
        self.read_only == 0 && self.permissions.spot.iter().any(|p| p == "SpotTrade")
    }

    pub fn can_withdraw(&self) -> bool {
        self.permissions.wallet.iter().any(|p| p == "Withdraw")
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ticker {
    symbol: String,
    #[serde(default, deserialize_with = "decimal")]
    bid1_price: Decimal,
}

impl RestClient {
    /// `market/instruments-info` for spot.
    pub async fn instruments(&self) -> Result<Instruments, VenueError> {
        let call = Call::get("/v5/market/instruments-info", Endpoint::Public, "category=spot&limit=1000".into(), false);
        let page: Page<Instrument> = self.call(call).await?;
        Ok(Instruments::from_rows(page.list.iter().map(|i| (i.spec(), i.is_trading()))))
    }

    /// `user/query-api`: the key's rights and the account's id.
    pub async fn key_info(&self) -> Result<KeyInfo, VenueError> {
        self.call(Call::get("/v5/user/query-api", Endpoint::Public, String::new(), true)).await
    }

    /// The best bid of each of `symbols` (`market/tickers`).
    pub async fn bids(&self, symbols: &[Symbol]) -> Result<Vec<(Symbol, Decimal)>, VenueError> {
        let call = Call::get("/v5/market/tickers", Endpoint::Public, "category=spot".into(), false);
        let page: Page<Ticker> = self.call(call).await?;
        Ok(symbols
            .iter()
            .filter_map(|s| page.list.iter().find(|t| t.symbol == s.as_str()).map(|t| (*s, t.bid1_price)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradewind_strategies::sdk::testing::d;

    #[test]
    fn the_docs_spot_instrument_reads_as_trading_rules() {
        let raw = r#"{"category":"spot","list":[{"symbolId":9,"symbol":"BTCUSDT","baseCoin":"BTC","quoteCoin":"USDT",
            "innovation":"0","status":"Trading","marginTrading":"utaOnly","stTag":"0","lotSizeFilter":{"basePrecision":"0.000001",
            "quotePrecision":"0.0000001","minOrderQty":"0.000011","maxOrderQty":"83","minOrderAmt":"5","maxOrderAmt":"8000000",
            "maxLimitOrderQty":"83","maxMarketOrderQty":"41.5","postOnlyMaxLimitOrderSize":"60000"},
            "priceFilter":{"tickSize":"0.1"},"riskParameters":{"priceLimitRatioX":"0.005","priceLimitRatioY":"0.01"},
            "symbolType":""}]}"#;
        let page: Page<Instrument> = serde_json::from_str(raw).unwrap();
        let spec = page.list[0].spec().unwrap();
        assert_eq!((spec.symbol.as_str(), spec.base.as_str(), spec.quote.as_str()), ("BTCUSDT", "BTC", "USDT"));
        assert_eq!((spec.tick_size, spec.step_size), (d("0.1"), d("0.000001")));
        // minOrderQty is no longer checked by the venue: the step is the smallest quantity.
        assert_eq!((spec.min_qty, spec.max_qty), (d("0.000001"), d("83")));
        assert_eq!((spec.min_notional, spec.max_notional), (d("5"), d("8000000")));
        assert!(page.list[0].is_trading());
    }

    #[test]
    fn the_docs_key_info_says_trade_without_withdrawals() {
        let raw = r#"{"id":"2208369","note":"testnet","apiKey":"XXXXXXXX","readOnly":0,"secret":"",
            "permissions":{"ContractTrade":["Order","Position"],"Spot":["SpotTrade"],"Wallet":["AccountTransfer","SubMemberTransfer"],
            "Options":[],"Derivatives":["DerivativesTrade"]},"ips":["18.181.170.164"],"type":1,"deadlineDay":-2,
            "unified":0,"uta":1,"userID":1448939,"inviterID":0,"vipLevel":"PRO-1"}"#;
        let mut info: KeyInfo = serde_json::from_str(raw).unwrap();
        assert!(info.can_trade_spot() && !info.can_withdraw());
        assert_eq!(info.user_id, Some(1448939));
        info.permissions.wallet.push("Withdraw".into());
        assert!(info.can_withdraw());
        info.read_only = 1;
        assert!(!info.can_trade_spot());
    }
}
