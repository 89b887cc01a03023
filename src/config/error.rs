//! Configuration problems, each naming the file and key it is about.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub file: PathBuf,
    /// Dotted key path (`risk.max_order_notional`, `venues[0].kind`), if the
    /// problem is about one key.
    pub key: Option<String>,
    pub message: String,
}

impl ConfigIssue {
    pub fn new(file: &Path, key: Option<&str>, message: impl Into<String>) -> Self {
        Self { file: file.to_owned(), key: key.map(str::to_owned), message: message.into() }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found while loading a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigIssue>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

impl ConfigErrors {
    pub fn issues(&self) -> &[ConfigIssue] {
        &self.0
    }
}
