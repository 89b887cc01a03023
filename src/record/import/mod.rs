//! Public history into recordings: each importer reads one venue's
//! published files and writes the events they hold, in order, as a
//! recording ([`super::Recorder`]) with the event's own time as its receive
//! time. A bad row is an error naming the file, the line and the column;
//! time that goes backwards is an error too; nothing is skipped quietly.

pub mod binance;
pub mod tardis;

use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

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

/// A kind of file of one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Binance(binance::Kind),
    Tardis(tardis::Kind),
}

/// Imports `files` (oldest first) of `format` for `venue`'s `symbol` into
/// recordings under `out`; `done` hears of each file and its event count.
/// The total count.
pub fn import_files(
    format: Format,
    pair: (tradewind_strategies::sdk::VenueId, tradewind_strategies::sdk::Symbol),
    out: &Path,
    files: &[PathBuf],
    mut done: impl FnMut(&Path, u64),
) -> Result<u64, ImportError> {
    let mut recorder = super::Recorder::new(out)?;
    let mut total = 0;
    for path in files {
        let imported = match format {
            Format::Binance(kind) => binance::import(path, kind, pair, &mut recorder)?,
            Format::Tardis(kind) => tardis::import(path, kind, pair, &mut recorder)?,
        };
        done(path, imported.events);
        total += imported.events;
    }
    Ok(total)
}

/// What an import wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    pub events: u64,
    /// The first and last event times (µs).
    pub first_us: i64,
    pub last_us: i64,
}

/// One row's columns, read with errors that name them.
pub(super) struct Row<'a> {
    pub path: &'a Path,
    pub line: u64,
    pub columns: Vec<&'a str>,
}

impl Row<'_> {
    pub fn bad(&self, column: usize, name: &'static str, message: impl Into<String>) -> ImportError {
        ImportError::Row {
            path: self.path.to_owned(),
            line: self.line,
            column: column + 1,
            name,
            message: message.into(),
        }
    }

    pub fn text(&self, column: usize, name: &'static str) -> Result<&str, ImportError> {
        self.columns
            .get(column)
            .copied()
            .ok_or_else(|| self.bad(column, name, format!("missing ({} columns)", self.columns.len())))
    }

    pub fn decimal(&self, column: usize, name: &'static str) -> Result<Decimal, ImportError> {
        let text = self.text(column, name)?;
        text.parse().map_err(|_| self.bad(column, name, format!("not a decimal: {text:?}")))
    }

    pub fn int(&self, column: usize, name: &'static str) -> Result<i64, ImportError> {
        let text = self.text(column, name)?;
        text.parse().map_err(|_| self.bad(column, name, format!("not an integer: {text:?}")))
    }

    pub fn boolean(&self, column: usize, name: &'static str) -> Result<bool, ImportError> {
        match self.text(column, name)? {
            "true" | "True" | "TRUE" => Ok(true),
            "false" | "False" | "FALSE" => Ok(false),
            other => Err(self.bad(column, name, format!("not true or false: {other:?}"))),
        }
    }
}
