//! API-key signers every connector shares: HMAC-SHA256 keyed once (each
//! signature clones the keyed state; lowercase hex) and Ed25519 from a PKCS#8
//! PEM key (base64), chosen by the venue's `key_type`; and RFC 3986
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
    #[error("key_type = \"hmac\" but the secret is a PEM private key: set key_type = \"ed25519\" for an Ed25519 key")]
    PemForHmac,
}

/// A request signer for one API key.
#[derive(Clone)]
pub enum Signer {
    /// HMAC-SHA256, keyed once; each signature clones the keyed state.
    Hmac(Hmac<Sha256>),
    Ed25519(Box<SigningKey>),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signer::Hmac(_) => "Signer::Hmac(***)",
            Signer::Ed25519(_) => "Signer::Ed25519(***)",
        })
    }
}

impl Signer {
    /// An HMAC-SHA256 signer keyed with the API secret's ASCII bytes.
    pub fn hmac(secret: &Secret) -> Result<Self, KeyError> {
        if secret.expose().is_empty() {
            return Err(KeyError::Empty);
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC accepts keys of any length");
        Ok(Signer::Hmac(mac))
    }

    /// An Ed25519 signer from a PKCS#8 PEM private key.
    /// The signer for a secret of `key_type`; without one, a PEM private key is
    /// Ed25519 and anything else an HMAC secret.
    pub fn of(key_type: Option<crate::config::KeyType>, secret: &Secret) -> Result<Self, KeyError> {
        use crate::config::KeyType;
        let pem = secret.expose().trim_start().starts_with("-----BEGIN");
        match (key_type, pem) {
            (Some(KeyType::Ed25519), _) | (None, true) => Self::ed25519_pem(secret),
            (Some(KeyType::Hmac), true) => Err(KeyError::PemForHmac),
            (Some(KeyType::Hmac), false) | (None, false) => Self::hmac(secret),
        }
    }

    pub fn ed25519_pem(pem: &Secret) -> Result<Self, KeyError> {
        let key = SigningKey::from_pkcs8_pem(pem.expose()).map_err(|e| KeyError::BadEd25519Key(e.to_string()))?;
        Ok(Signer::Ed25519(Box::new(key)))
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
        }
    }

    /// Signs `payload`; the result goes into a header or JSON as is (hex for
    /// HMAC, base64 for Ed25519).
    pub fn sign(&self, payload: &[u8]) -> String {
        match self {
            Signer::Hmac(mac) => hmac_hex(mac, payload).as_str().to_owned(),
            Signer::Ed25519(key) => ed25519_base64(key, payload),
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
