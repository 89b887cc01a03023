//! API credentials from where operators keep them: environment variables or
//! files (systemd `LoadCredential=` puts them in `$CREDENTIALS_DIRECTORY`).
//! Never from the config file, never printed: errors name the variable or
//! file, not the value.

use std::path::{Path, PathBuf};

use crate::config::Credentials as Source;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialError {
    #[error("environment variable {0} is not set or empty")]
    MissingEnv(String),
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{0} is empty")]
    EmptyFile(String),
    #[error("{0} is readable by group or others; chmod 600 it")]
    TooOpen(String),
    #[error("an API key was given without its secret, a secret without its key, or a passphrase without either")]
    Incomplete,
}

/// An API key as its sources give it.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub key: Secret,
    pub secret: Secret,
    /// The key's passphrase, on venues whose keys have one (OKX, Coinbase's legacy keys).
    pub passphrase: Option<Secret>,
}

impl ApiKey {
    /// A digest of every part (a reload compares digests to notice a rotated key).
    pub fn digest(&self) -> [u8; 32] {
        use sha2::Digest;
        let mut hash = sha2::Sha256::new().chain_update(self.key.expose().as_bytes()).chain_update([0]);
        hash.update(self.secret.expose().as_bytes());
        if let Some(p) = &self.passphrase {
            hash.update([0]);
            hash.update(p.expose().as_bytes());
        }
        hash.finalize().into()
    }
}

/// The API key, or `None` when no credentials are configured (public data only).
pub fn load(source: &Source, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<ApiKey>, CredentialError> {
    // The key file is held to the secret's standard: together they trade the account.
    let key = one(source.api_key_env.as_deref(), source.api_key_file.as_deref(), env)?;
    let secret = one(source.api_secret_env.as_deref(), source.api_secret_file.as_deref(), env)?;
    let passphrase = one(source.api_passphrase_env.as_deref(), source.api_passphrase_file.as_deref(), env)?;
    match (key, secret) {
        (Some(key), Some(secret)) => Ok(Some(ApiKey { key, secret, passphrase })),
        (None, None) if passphrase.is_none() => Ok(None),
        _ => Err(CredentialError::Incomplete),
    }
}

/// Environment variable holding the control API's bearer token.
pub const API_TOKEN_ENV: &str = "TRADEWIND_API_TOKEN";

/// The control API's bearer token: the file named by `[ops] token_file`
/// (relative names inside `$CREDENTIALS_DIRECTORY` when systemd sets it),
/// else the systemd credential `api-token`, else `$TRADEWIND_API_TOKEN`.
/// `None`: no token anywhere (the API then refuses every state change).
pub fn api_token(
    token_file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Secret>, CredentialError> {
    if let Some(file) = token_file {
        return one(None, Some(file), env);
    }
    if let Some(dir) = env("CREDENTIALS_DIRECTORY") {
        let credential = Path::new(&dir).join("api-token");
        if credential.exists() {
            return one(None, Some(&credential), env);
        }
    }
    match env(API_TOKEN_ENV).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        Some(token) => Ok(Some(Secret::new(token))),
        None => Ok(None),
    }
}

fn one(
    var: Option<&str>,
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Secret>, CredentialError> {
    if let Some(var) = var {
        let value = env(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        return value.map(Secret::new).map(Some).ok_or_else(|| CredentialError::MissingEnv(var.to_owned()));
    }
    let Some(file) = file else { return Ok(None) };
    let path = resolve(file, env);
    let shown = path.display().to_string();
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(&path)
            .map_err(|e| CredentialError::Unreadable { path: shown.clone(), reason: e.to_string() })?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(CredentialError::TooOpen(shown));
        }
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CredentialError::Unreadable { path: shown.clone(), reason: e.to_string() })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(CredentialError::EmptyFile(shown));
    }
    Ok(Some(Secret::new(text)))
}

/// A relative file name is a systemd credential when `$CREDENTIALS_DIRECTORY` is set.
fn resolve(file: &Path, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    match env("CREDENTIALS_DIRECTORY") {
        Some(dir) if file.is_relative() => Path::new(&dir).join(file),
        _ => file.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn source() -> Source {
        Source::default()
    }

    #[test]
    fn from_environment_variables() {
        let env = |k: &str| match k {
            "K" => Some("key-1\n".to_owned()),
            "S" => Some("secret-1".to_owned()),
            _ => None,
        };
        let s = Source { api_key_env: Some("K".into()), api_secret_env: Some("S".into()), ..source() };
        let loaded = load(&s, &env).unwrap().unwrap();
        assert_eq!((loaded.key.expose(), loaded.secret.expose()), ("key-1", "secret-1"));
        assert!(loaded.passphrase.is_none());
        let missing = Source { api_secret_env: Some("NOPE".into()), ..s };
        assert_eq!(load(&missing, &env).unwrap_err(), CredentialError::MissingEnv("NOPE".into()));
        assert!(load(&source(), &env).unwrap().is_none());
        let half = Source { api_key_env: Some("K".into()), ..source() };
        assert_eq!(load(&half, &env).unwrap_err(), CredentialError::Incomplete);
        let only_passphrase = Source { api_passphrase_env: Some("S".into()), ..source() };
        assert_eq!(load(&only_passphrase, &env).unwrap_err(), CredentialError::Incomplete);
    }

    #[test]
    fn a_passphrase_is_read_with_the_key_and_changes_its_digest() {
        let env = |k: &str| match k {
            "K" => Some("key-1".to_owned()),
            "S" => Some("secret-1".to_owned()),
            "P" => Some("phrase-1".to_owned()),
            "P2" => Some("phrase-2".to_owned()),
            _ => None,
        };
        let s = Source { api_key_env: Some("K".into()), api_secret_env: Some("S".into()), ..source() };
        let with = |p: &str| Source { api_passphrase_env: Some(p.into()), ..s.clone() };
        let plain = load(&s, &env).unwrap().unwrap();
        let one = load(&with("P"), &env).unwrap().unwrap();
        assert_eq!(one.passphrase.as_ref().map(Secret::expose), Some("phrase-1"));
        let two = load(&with("P2"), &env).unwrap().unwrap();
        assert_ne!(plain.digest(), one.digest());
        assert_ne!(one.digest(), two.digest(), "a new passphrase is a rotated key");
        assert_eq!(one.digest(), load(&with("P"), &env).unwrap().unwrap().digest());
        assert!(!format!("{one:?}").contains("phrase-1"), "never printed");
    }

    #[test]
    fn api_token_from_file_credential_or_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "t-file\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let none = |_: &str| None;
        assert!(matches!(api_token(Some(&file), &none), Err(CredentialError::TooOpen(_))));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(api_token(Some(&file), &none).unwrap().unwrap().expose(), "t-file");
        assert_eq!(api_token(None, &none).unwrap(), None);
        let from_env = |k: &str| (k == API_TOKEN_ENV).then(|| "t-env".to_owned());
        assert_eq!(api_token(None, &from_env).unwrap().unwrap().expose(), "t-env");
        // The systemd credential wins over the environment.
        std::fs::write(dir.path().join("api-token"), "t-cred").unwrap();
        std::fs::set_permissions(dir.path().join("api-token"), std::fs::Permissions::from_mode(0o400)).unwrap();
        let dir_s = dir.path().display().to_string();
        let both = move |k: &str| match k {
            "CREDENTIALS_DIRECTORY" => Some(dir_s.clone()),
            API_TOKEN_ENV => Some("t-env".to_owned()),
            _ => None,
        };
        assert_eq!(api_token(None, &both).unwrap().unwrap().expose(), "t-cred");
    }

    #[test]
    fn from_files_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), "k\n").unwrap();
        std::fs::set_permissions(dir.path().join("key"), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(dir.path().join("secret"), "s\n").unwrap();
        std::fs::set_permissions(dir.path().join("secret"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let env_dir = dir.path().display().to_string();
        let env = move |k: &str| (k == "CREDENTIALS_DIRECTORY").then(|| env_dir.clone());
        let s = Source { api_key_file: Some("key".into()), api_secret_file: Some("secret".into()), ..source() };
        let e = load(&s, &env).unwrap_err();
        assert!(matches!(e, CredentialError::TooOpen(_)), "{e}");
        assert!(!e.to_string().contains("s\n"));
        std::fs::set_permissions(dir.path().join("secret"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let loaded = load(&s, &env).unwrap().unwrap();
        assert_eq!((loaded.key.expose(), loaded.secret.expose()), ("k", "s"));
    }
}
