//! Public history into recordings: each importer reads one venue's
//! published files and writes the events they hold, in order, as a
//! recording ([`super::Recorder`]) with the event's own time as its receive
//! time. A bad row is an error naming the file, the line and the column;
//! time that goes backwards is an error too; nothing is skipped quietly.

pub mod binance;

use std::path::PathBuf;

/// Why a file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: column {column} ({name}): {message}")]
    Row { path: PathBuf, line: u64, column: usize, name: &'static str, message: String },
    #[error("{path}:{line}: the time goes back, from {before} to {after} (µs)")]
    Backwards { path: PathBuf, line: u64, before: i64, after: i64 },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error(transparent)]
    Record(#[from] super::RecordError),
}

/// What an import wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    pub events: u64,
    /// The first and last event times (µs).
    pub first_us: i64,
    pub last_us: i64,
}
