//! API-key signers every connector shares: HMAC-SHA256 keyed once (each
//! signature clones the keyed state; lowercase hex), Ed25519 from a PKCS#8
//! PEM key and RSA (PKCS#1 v1.5, SHA-256) from a PKCS#8 or PKCS#1 PEM key
//! (both base64), chosen by the venue's `key_type`; and RFC 3986
//! percent-encoding for signatures that go into a query or form body.

use base64::Engine as _;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signer as _, SigningKey};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::secret::Secret;

/// An API key and its signer. Neither prints.
#[derive(Clone)]
pub struct Credentials {
    pub api_key: Secret,
    pub signer: Signer,
}

impl Credentials {
    /// The key and signer from where a venue's configuration says, with a
    /// digest of the key (a reload compares digests to notice a rotated key).
    pub fn load(
        source: &crate::config::Credentials,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Option<(Credentials, [u8; 32])>> {
        let Some(key) = crate::venue::credentials::load(source, env)? else {
            return Ok(None);
        };
        let digest = key.digest();
        let signer = Signer::of(source.key_type, &key.secret)?;
        Ok(Some((Credentials { api_key: key.key, signer }, digest)))
    }

    /// A key for a rotation, read and checked (nothing is swapped yet).
    pub fn load_rotation(source: &crate::config::Credentials) -> anyhow::Result<Option<crate::venue::LoadedKey>> {
        let Some(key) = crate::venue::credentials::load(source, &|k| std::env::var(k).ok())? else { return Ok(None) };
        // Checked now, so a bad key fails the reload before anything changes.
        Signer::of(source.key_type, &key.secret)?;
        Ok(Some(crate::venue::LoadedKey { digest: key.digest(), key, key_type: source.key_type }))
    }

    /// The credentials of a key loaded for a rotation.
    pub fn rotated(loaded: crate::venue::LoadedKey) -> anyhow::Result<Credentials> {
        let signer = Signer::of(loaded.key_type, &loaded.key.secret)?;
        Ok(Credentials { api_key: loaded.key.key, signer })
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(***)")
    }
}

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the API secret is empty")]
    Empty,
    #[error("the Ed25519 private key is not a valid PKCS#8 PEM key ({0})")]
    BadEd25519Key(String),
    #[error("the RSA private key is not a valid PKCS#8 or PKCS#1 PEM key ({0})")]
    BadRsaKey(String),
    #[error("the secret is a PEM private key but neither an Ed25519 nor an RSA one ({0})")]
    UnknownPem(String),
    #[error("key_type = \"hmac\" but the secret is a PEM private key: set key_type = \"ed25519\" or \"rsa\"")]
    PemForHmac,
}

/// A request signer for one API key.
#[derive(Clone)]
pub enum Signer {
    /// HMAC-SHA256, keyed once; each signature clones the keyed state.
    Hmac(Hmac<Sha256>),
    Ed25519(Box<SigningKey>),
    Rsa(std::sync::Arc<ring::signature::RsaKeyPair>),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signer::Hmac(_) => "Signer::Hmac(***)",
            Signer::Ed25519(_) => "Signer::Ed25519(***)",
            Signer::Rsa(_) => "Signer::Rsa(***)",
        })
    }
}

impl Signer {
    /// Signs `payload` with the signature in base64 whatever the key (OKX's
    /// form: base64 of the HMAC's bytes, where [`Self::sign`] gives hex).
    pub fn sign_base64(&self, payload: &[u8]) -> String {
        match self {
            Signer::Hmac(mac) => {
                let mut mac = mac.clone();
                mac.update(payload);
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            }
            Signer::Ed25519(key) => ed25519_base64(key, payload),
            Signer::Rsa(key) => rsa_base64(key, payload),
        }
    }

    /// An HMAC-SHA256 signer keyed with the API secret's ASCII bytes.
    pub fn hmac(secret: &Secret) -> Result<Self, KeyError> {
        if secret.expose().is_empty() {
            return Err(KeyError::Empty);
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC accepts keys of any length");
        Ok(Signer::Hmac(mac))
    }

    /// The signer for a secret of `key_type`; without one, a PEM private key is
    /// Ed25519 or RSA (whichever it is) and anything else an HMAC secret.
    pub fn of(key_type: Option<crate::config::KeyType>, secret: &Secret) -> Result<Self, KeyError> {
        use crate::config::KeyType;
        let pem = secret.expose().trim_start().starts_with("-----BEGIN");
        match (key_type, pem) {
            (Some(KeyType::Ed25519), _) => Self::ed25519_pem(secret),
            (Some(KeyType::Rsa), _) => Self::rsa_pem(secret),
            (None, true) => Self::ed25519_pem(secret).or_else(|ed| {
                Self::rsa_pem(secret).map_err(|rsa| KeyError::UnknownPem(format!("as Ed25519: {ed}; as RSA: {rsa}")))
            }),
            (Some(KeyType::Hmac), true) => Err(KeyError::PemForHmac),
            (Some(KeyType::Hmac), false) | (None, false) => Self::hmac(secret),
        }
    }

    /// An Ed25519 signer from a PKCS#8 PEM private key.
    pub fn ed25519_pem(pem: &Secret) -> Result<Self, KeyError> {
        let key = SigningKey::from_pkcs8_pem(pem.expose()).map_err(|e| KeyError::BadEd25519Key(e.to_string()))?;
        Ok(Signer::Ed25519(Box::new(key)))
    }

    /// An RSA signer from a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or
    /// PKCS#1 (`BEGIN RSA PRIVATE KEY`), 2048 bits or more.
    pub fn rsa_pem(pem: &Secret) -> Result<Self, KeyError> {
        let bad = |e: &dyn std::fmt::Display| KeyError::BadRsaKey(e.to_string());
        let text = pem.expose().trim();
        let (label, body) = text
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.split_once("-----"))
            .ok_or_else(|| bad(&"no PEM header"))?;
        let end = format!("-----END {label}-----");
        let body = body.trim().strip_suffix(end.as_str()).ok_or_else(|| bad(&format!("no \"{end}\" line")))?;
        let base64: String = body.split_whitespace().collect();
        let der = base64::engine::general_purpose::STANDARD.decode(base64).map_err(|e| bad(&e))?;
        let key = match label {
            "PRIVATE KEY" => ring::signature::RsaKeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => ring::signature::RsaKeyPair::from_der(&der),
            other => return Err(bad(&format!("a {other}, not a private key"))),
        }
        .map_err(|e| bad(&e))?;
        Ok(Signer::Rsa(std::sync::Arc::new(key)))
    }

    /// Signs a REST payload; the result is ready to append as `signature=` (already percent-encoded).
    pub fn sign_rest(&self, payload: &[u8]) -> String {
        match self {
            Signer::Hmac(mac) => hmac_hex(mac, payload).as_str().to_owned(),
            Signer::Ed25519(key) => {
                let mut out = String::with_capacity(120);
                percent_encode_into(&mut out, &ed25519_base64(key, payload));
                out
            }
            Signer::Rsa(key) => {
                let mut out = String::with_capacity(512);
                percent_encode_into(&mut out, &rsa_base64(key, payload));
                out
            }
        }
    }

    /// Signs `payload`; the result goes into a header or JSON as is (hex for
    /// HMAC, base64 for Ed25519 and RSA).
    pub fn sign(&self, payload: &[u8]) -> String {
        match self {
            Signer::Hmac(mac) => hmac_hex(mac, payload).as_str().to_owned(),
            Signer::Ed25519(key) => ed25519_base64(key, payload),
            Signer::Rsa(key) => rsa_base64(key, payload),
        }
    }
}

/// An HMAC-SHA256 in lowercase hex, on the stack.
pub struct HexMac([u8; 64]);

impl HexMac {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

/// The HMAC of `payload`, two hex digits per byte.
pub fn hmac_hex(mac: &Hmac<Sha256>, payload: &[u8]) -> HexMac {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut mac = mac.clone();
    mac.update(payload);
    let mut digits = [0u8; 64];
    for (pair, byte) in digits.chunks_exact_mut(2).zip(mac.finalize().into_bytes()) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0x0f)];
    }
    HexMac(digits)
}

fn ed25519_base64(key: &SigningKey, payload: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.sign(payload).to_bytes())
}

/// RSASSA-PKCS1-v1_5 over SHA-256 (deterministic; the random source only blinds the private-key operation).
fn rsa_base64(key: &ring::signature::RsaKeyPair, payload: &[u8]) -> String {
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), payload, &mut signature)
        .expect("signing with a valid RSA key into a buffer of its modulus length succeeds");
    base64::engine::general_purpose::STANDARD.encode(signature)
}

/// Appends `value` percent-encoded: RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - _ . ~`) as they are, every other UTF-8 byte as `%XX` (uppercase).
pub fn percent_encode_into(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xF)] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    //! RSA against OpenSSL: the test key (`tests/data/keys/`, made for these
    //! tests with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`,
    //! and `openssl rsa -traditional` for its PKCS#1 form) and the signature
    //! `openssl dgst -sha256 -sign` made of Bybit's documented GET string to
    //! sign. PKCS#1 v1.5 is deterministic: the same key and bytes give the same signature.
    use super::*;

    const PKCS8: &str = include_str!("../../tests/data/keys/rsa-test-pkcs8.pem");
    const PKCS1: &str = include_str!("../../tests/data/keys/rsa-test-pkcs1.pem");
    const PAYLOAD: &str = "1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C";
    const OPENSSL: &str = "JHaASeIy9nBTMBGSQ0xo0uI0h5//6vLkOWmdIf/VoVtyh9HbJPrL4SXuYag4RNfAPliYgDFAv6nYIWP+JHiZKiURe8oT5rktJ4OTJe0Oe2pOo9w6uOs73v9Q8i/p0IrpFNEJK6/xYe1xOR+Nw2uxCQkRJFVQkxQMucQjBV5ImCL0lvRaoAOmQGvuIVxrIxPe6HrYJz12jvH+9SGtFMRNH6MLrD0voXjmEBF22grPcQO1FqgspGH8jpaA9Kz294VtFFP3eLmCepVvoxs0LXy/J0MjJIVPQlulTEziLMREkHqqTib7qmYtC5dz0/BLzHSH/BfYXLpSH9MFo2M3E7x1FQ==";

    #[test]
    fn rsa_signs_as_openssl_does_from_either_pem_form() {
        for pem in [PKCS8, PKCS1] {
            let signer = Signer::of(Some(crate::config::KeyType::Rsa), &Secret::new(pem)).unwrap();
            assert_eq!(signer.sign(PAYLOAD.as_bytes()), OPENSSL);
            assert_eq!(format!("{signer:?}"), "Signer::Rsa(***)");
        }
        // In a query (Binance's RSA keys) the base64 is percent-encoded.
        let signer = Signer::rsa_pem(&Secret::new(PKCS8)).unwrap();
        let mut encoded = String::new();
        percent_encode_into(&mut encoded, OPENSSL);
        assert_eq!(signer.sign_rest(PAYLOAD.as_bytes()), encoded);
        assert!(encoded.contains("%2B") && encoded.contains("%2F") && encoded.ends_with("%3D%3D"));
    }

    #[test]
    fn a_pem_key_without_a_key_type_is_whichever_it_is_and_a_bad_one_says_why() {
        let rsa = Signer::of(None, &Secret::new(PKCS8)).unwrap();
        assert!(matches!(rsa, Signer::Rsa(_)));
        let truncated = PKCS8.replace("-----END PRIVATE KEY-----", "");
        let e = Signer::of(Some(crate::config::KeyType::Rsa), &Secret::new(&truncated)).unwrap_err().to_string();
        assert!(e.contains("-----END PRIVATE KEY-----"), "{e}");
        let garbled = PKCS8.replacen("MII", "MIJ", 1);
        let e = Signer::of(None, &Secret::new(&garbled)).unwrap_err().to_string();
        assert!(e.contains("neither an Ed25519 nor an RSA"), "{e}");
        let e = Signer::of(Some(crate::config::KeyType::Hmac), &Secret::new(PKCS8)).unwrap_err().to_string();
        assert!(e.contains("\"rsa\""), "{e}");
        // Nothing of the key in any error.
        let body_line = PKCS8.lines().nth(1).unwrap();
        assert!(!e.contains(body_line));
    }
}
