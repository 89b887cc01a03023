//! Request signing as Bybit v5 specifies it: REST signs
//! `timestamp + api key + recv window + (query string | JSON body)`, the
//! exact bytes sent, into `X-BAPI-SIGN` (HMAC-SHA256 lowercase hex, with
//! `X-BAPI-API-KEY`, `X-BAPI-TIMESTAMP` and `X-BAPI-RECV-WINDOW` beside it);
//! the private WebSocket logs in with `op: auth` over `"GET/realtime" + expires`.

use crate::venue::sign::Signer;

/// The four authentication headers of a signed REST request (HTTP header
/// names are case-insensitive; these are the lower-case forms HTTP/2 sends).
pub const API_KEY: &str = "x-bapi-api-key";
pub const TIMESTAMP: &str = "x-bapi-timestamp";
pub const RECV_WINDOW: &str = "x-bapi-recv-window";
pub const SIGN: &str = "x-bapi-sign";

/// What a REST request signs: `payload` is the query string of a GET or the JSON body of a POST.
pub fn rest_payload(timestamp_ms: i64, api_key: &str, recv_window_ms: u64, payload: &str) -> String {
    format!("{timestamp_ms}{api_key}{recv_window_ms}{payload}")
}

/// The private stream's login: valid until `expires_ms` (the venue's clock).
pub fn auth_request(api_key: &str, signer: &Signer, expires_ms: i64, req_id: &str) -> String {
    let signature = signer.sign(format!("GET/realtime{expires_ms}").as_bytes());
    serde_json::json!({"req_id": req_id, "op": "auth", "args": [api_key, expires_ms, signature]}).to_string()
}

#[cfg(test)]
mod tests {
    //! The project's Bybit vectors (reference D4: secret `TESTSECRET0123456789`
    //! over the docs' example strings; the docs' own secret is not published).
    use super::*;
    use crate::secret::Secret;

    fn signer() -> Signer {
        Signer::hmac(&Secret::new("TESTSECRET0123456789")).unwrap()
    }

    #[test]
    fn d4_rest_get_and_post() {
        let get = rest_payload(1658384314791, "XXXXXXXXXX", 5000, "category=option&symbol=BTC-29JUL22-25000-C");
        assert_eq!(get, "1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C");
        assert_eq!(signer().sign(get.as_bytes()), "e2efccd9fec8d9bf6d5873a43893e5d3df3b2bb3f08763172ee927c74fa63559");
        let post = rest_payload(1658385579423, "XXXXXXXXXX", 5000, r#"{"category": "option"}"#);
        assert_eq!(signer().sign(post.as_bytes()), "9f18974896149c27ecdc61d67d97e05be0a2c45ce5f4c7ecb3ec47c01ea2f9d2");
    }

    #[test]
    fn d4_websocket_auth() {
        let request: serde_json::Value =
            serde_json::from_str(&auth_request("KEY", &signer(), 1662350400000, "auth-1")).unwrap();
        assert_eq!(request["op"], "auth");
        assert_eq!(request["req_id"], "auth-1");
        assert_eq!(request["args"][0], "KEY");
        assert_eq!(request["args"][1], 1662350400000i64);
        assert_eq!(request["args"][2], "9e22ecbf1bc0fbd607b1ea007e14f9402426849ef8d327c0659512e4a5725b7d");
    }
}
