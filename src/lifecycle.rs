//! The daemon's life as the rest of it sees it: its phase and what a reload
//! did. `app` drives both; `ops` reports them; neither names the other's types.

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// Where the daemon is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Starting,
    Running,
    Reloading,
    Draining,
    Stopped,
}

impl Phase {
    pub const ALL: [Phase; 5] = [Phase::Starting, Phase::Running, Phase::Reloading, Phase::Draining, Phase::Stopped];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Reloading => "reloading",
            Phase::Draining => "draining",
            Phase::Stopped => "stopped",
        }
    }
}

/// A reload request; the outcome goes back on the sender when there is one (API), not for SIGHUP.
pub type ReloadRequest = Option<oneshot::Sender<ReloadOutcome>>;

/// What a reload did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReloadOutcome {
    /// False when the new files had problems: nothing changed then.
    pub ok: bool,
    /// Every problem found (file and key of each).
    pub errors: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub restarted: Vec<String>,
    pub unchanged: Vec<String>,
    pub risk_changed: bool,
    /// Market-data streams subscribed on new connections.
    pub streams_added: usize,
    /// Venues now signing with a new API key.
    pub keys_rotated: Vec<String>,
    /// Sections that changed but take effect only after a restart.
    pub needs_restart: Vec<String>,
}
