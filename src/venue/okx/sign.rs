//! Request signing as OKX v5 specifies it. REST sends `OK-ACCESS-KEY`,
//! `OK-ACCESS-SIGN`, `OK-ACCESS-TIMESTAMP` and `OK-ACCESS-PASSPHRASE`, where
//! the signature is base64(HMAC-SHA256(secret, timestamp + METHOD +
//! path?query + body)) and the timestamp is ISO-8601 UTC with milliseconds
//! (`2020-12-08T09:08:57.715Z`); a GET signs an empty body. The private
//! WebSocket logs in with `op: login` signing `timestamp + "GET" +
//! "/users/self/verify"`, where the timestamp is Unix **seconds**. Demo
//! trading adds `x-simulated-trading: 1` to every REST request.

use crate::secret::Secret;
use crate::venue::sign::Signer;

/// The authentication headers (lower case, as HTTP/2 sends them).
pub const API_KEY: &str = "ok-access-key";
pub const SIGN: &str = "ok-access-sign";
pub const TIMESTAMP: &str = "ok-access-timestamp";
pub const PASSPHRASE: &str = "ok-access-passphrase";
/// Sent with every REST request to the demo-trading environment.
pub const SIMULATED: (&str, &str) = ("x-simulated-trading", "1");

/// An OKX key: the API key, its signer and the passphrase chosen when it was made.
#[derive(Clone)]
pub struct OkxKey {
    pub api_key: Secret,
    pub signer: Signer,
    pub passphrase: Secret,
}

impl OkxKey {
    /// The key from where the venue's configuration says, with a digest of
    /// it (a reload compares digests); an OKX key is incomplete without its passphrase.
    pub fn load(
        source: &crate::config::Credentials,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Option<(OkxKey, [u8; 32])>> {
        let Some(key) = crate::venue::credentials::load(source, env)? else { return Ok(None) };
        let digest = key.digest();
        Ok(Some((Self::of(source.key_type, key)?, digest)))
    }

    fn of(key_type: Option<crate::config::KeyType>, key: crate::venue::credentials::ApiKey) -> anyhow::Result<Self> {
        let passphrase = key.passphrase.ok_or_else(|| {
            anyhow::anyhow!(
                "an OKX API key needs the passphrase it was created with: name credentials.api_passphrase_env \
                 or credentials.api_passphrase_file"
            )
        })?;
        Ok(OkxKey { api_key: key.key, signer: Signer::of(key_type, &key.secret)?, passphrase })
    }
}

impl crate::venue::private::VenueKey for OkxKey {
    fn rotated(loaded: crate::venue::LoadedKey) -> anyhow::Result<Self> {
        Self::of(loaded.key_type, loaded.key)
    }
}

impl std::fmt::Debug for OkxKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OkxKey(***)")
    }
}

/// `ms` since the epoch as OKX's REST timestamp: `YYYY-MM-DDTHH:MM:SS.mmmZ` (ISO-8601 UTC).
pub use crate::clock::iso_utc as iso_timestamp;

/// What a REST request signs: `path_and_query` as sent (`/api/v5/…?a=b`), `body` empty for a GET.
pub fn rest_prehash(timestamp: &str, method: &str, path_and_query: &str, body: &str) -> String {
    format!("{timestamp}{method}{path_and_query}{body}")
}

/// The signature of a prehash string: base64 of the HMAC (or of the key's signature).
pub fn signature(signer: &Signer, prehash: &str) -> String {
    signer.sign_base64(prehash.as_bytes())
}

/// The private stream's login message at Unix second `now_secs`.
pub fn login(key: &OkxKey, now_secs: i64) -> String {
    let sign = signature(&key.signer, &format!("{now_secs}GET/users/self/verify"));
    serde_json::json!({"op": "login", "args": [{
        "apiKey": key.api_key.expose(),
        "passphrase": key.passphrase.expose(),
        "timestamp": now_secs.to_string(),
        "sign": sign,
    }]})
    .to_string()
}

#[cfg(test)]
mod tests {
    //! The project's OKX vectors: secret `TESTSECRET0123456789` over strings
    //! in the documented shape (OKX publishes no secret for its examples),
    //! each checked against Python's `hmac` + `base64`.
    use super::*;

    fn signer() -> Signer {
        Signer::hmac(&Secret::new("TESTSECRET0123456789")).unwrap()
    }

    #[test]
    fn rest_signatures_match_the_independent_vectors() {
        let ts = iso_timestamp(1_607_418_537_715);
        assert_eq!(ts, "2020-12-08T09:08:57.715Z");
        let get = rest_prehash(&ts, "GET", "/api/v5/account/balance?ccy=BTC", "");
        assert_eq!(signature(&signer(), &get), "1i56by5MepdEk0e5PA272K4hMU3ODxW1+xnsYmYeHVM=");
        let body = r#"{"instId":"BTC-USDT","tdMode":"cash","clOrdId":"b15","side":"buy","ordType":"limit","px":"2.15","sz":"2"}"#;
        let post = rest_prehash(&ts, "POST", "/api/v5/trade/order", body);
        assert_eq!(signature(&signer(), &post), "hA64Hb+FRNnv1M741t5W8ot6JmDc9gZkIFvclnQ3deU=");
    }

    #[test]
    fn the_websocket_login_signs_unix_seconds() {
        let key = OkxKey { api_key: Secret::new("k"), signer: signer(), passphrase: Secret::new("p") };
        let login: serde_json::Value = serde_json::from_str(&login(&key, 1_538_054_050)).unwrap();
        assert_eq!(login["op"], "login");
        let args = &login["args"][0];
        assert_eq!((args["apiKey"].as_str(), args["passphrase"].as_str()), (Some("k"), Some("p")));
        assert_eq!(args["timestamp"], "1538054050");
        assert_eq!(args["sign"], "NO5hdC8dmS+E9lHAKOFqjkdIdih79cjswmom1RFGHZU=");
        assert_eq!(format!("{key:?}"), "OkxKey(***)");
    }

    #[test]
    fn iso_timestamps_across_the_calendar() {
        assert_eq!(iso_timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z", "a leap day");
        assert_eq!(iso_timestamp(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
    }
}
