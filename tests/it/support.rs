//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// A throwaway config folder: `tradewind.toml` plus `strategies/*.toml`.
pub struct ConfigDir {
    pub dir: tempfile::TempDir,
}

impl ConfigDir {
    pub fn new(main: &str, strategies: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("tradewind.toml"), main).expect("write main file");
        std::fs::create_dir(dir.path().join("strategies")).expect("create strategies dir");
        for (name, text) in strategies {
            std::fs::write(dir.path().join("strategies").join(name), text).expect("write strategy file");
        }
        Self { dir }
    }

    pub fn main_file(&self) -> PathBuf {
        self.dir.path().join("tradewind.toml")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The repository's `config/` folder.
pub fn repo_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// Just one simulator venue named `sim` (config validation tests).
pub const SIM_VENUE: &str = "[[venues]]\nname = \"sim\"\nkind = \"sim\"\n";

/// A main file with one simulator venue named `sim` and the journal in the config folder.
/// Keys appended to it land in the venue.
pub const SIM_MAIN: &str =
    "[journal]\npath = \"journal.db\"\n[ops]\nlisten = \"127.0.0.1:0\"\n[[venues]]\nname = \"sim\"\nkind = \"sim\"\n";

/// A valid `sma_cross` strategy file named `name`.
pub fn sma_file(name: &str) -> String {
    format!(
        "name = \"{name}\"\nkind = \"sma_cross\"\nvenue = \"sim\"\nsymbols = [\"BTCUSDT\"]\n\
         fast_period = 2\nslow_period = 5\norder_qty = \"0.001\"\n"
    )
}
