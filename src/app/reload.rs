//! Hot reload (SIGHUP, `POST /v1/reload`): read and validate every file
//! again; on any problem keep the running configuration and report every
//! problem; otherwise start added strategies, stop removed ones, restart
//! changed ones, apply new risk limits, and subscribe what the new set needs
//! on new connections (the running ones stay up), and switch to a rotated
//! API key (the files or variables the venue names are read again). Other
//! changes to venues, and to journal, ops or runtime, are reported as needing
//! a restart.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::lifecycle::ReloadOutcome;

use super::StartedVenue;
use crate::config::{Config, VenueConfig, diff};
use crate::engine::EngineInput;
use crate::engine::reload::{Reconfigure, Start};
use crate::venue::feed::{self, FeedSpec};

/// The configuration in force.
pub(super) struct Live {
    pub config: Config,
    /// Client order sequences the journal knew at start.
    pub next_seq: HashMap<String, u64>,
}

/// Reloads the configuration file of `live`; see the module documentation.
pub(super) async fn apply(
    live: &mut Live,
    engine: &mpsc::Sender<EngineInput>,
    venues: &mut [StartedVenue],
) -> ReloadOutcome {
    tracing::info!(file = %live.config.file.display(), "reload requested");
    let new = match Config::load(&live.config.file) {
        Ok(new) => new,
        Err(errors) => return failed(errors.issues().iter().map(ToString::to_string).collect()),
    };
    let d = diff::diff(&live.config, &new);
    // A strategy may only move onto venues that are connected now.
    let unknown: Vec<String> = d
        .added
        .iter()
        .chain(&d.changed)
        .flat_map(|s| {
            let mut wanted = vec![s.venue_name.as_str()];
            wanted.extend(s.params.other_venues());
            wanted.into_iter().filter(|w| !venues.iter().any(|v| v.name == *w)).map(move |w| {
                format!("{}: venue {w:?} is not connected (venues change only with a restart)", s.file.display())
            })
        })
        .collect();
    if !unknown.is_empty() {
        return failed(unknown);
    }
    // New keys are read (and checked) before anything changes.
    let mut rotations = Vec::new();
    let mut key_errors = Vec::new();
    for (i, venue) in venues.iter().enumerate() {
        let Some(source) = new.venue(&venue.name).and_then(VenueConfig::credentials) else { continue };
        match venue.keys.load(source) {
            Ok(Some(key)) if Some(key.digest) != venue.key_fingerprint => {
                if venue.keys.has_key() {
                    rotations.push((i, key));
                } else {
                    key_errors.push(format!("venue {:?}: a key was added; adding one needs a restart", venue.name));
                }
            }
            Ok(_) => {}
            Err(e) => key_errors.push(format!("venue {:?}: {e:#}", venue.name)),
        }
    }
    if !key_errors.is_empty() {
        return failed(key_errors);
    }
    if let Err(e) = super::register_owners(d.added.iter().map(|s| s.instance.name.as_str())) {
        return failed(vec![format!("{e} (the journal knows the first)")]);
    }
    let fresh = u64::try_from(crate::clock::now().as_millis()).unwrap_or(1);
    let start = d
        .added
        .iter()
        .chain(&d.changed)
        .map(|s| Start {
            name: s.instance.name.clone(),
            strategy: s.params.build(&s.instance),
            first_seq: live.next_seq.get(&s.instance.name).copied().unwrap_or(fresh),
        })
        .collect();
    let (reply, subscriptions) = oneshot::channel();
    let limits = new.strategies.iter().map(|s| (s.instance.name.clone(), new.risk.for_strategy(&s.risk))).collect();
    let change = Reconfigure {
        risk: d.risk.then(|| new.risk.clone()),
        limits,
        stop: d.removed.clone(),
        start,
        cancel_orders: new.runtime.cancel_on_shutdown,
        reply,
    };
    let sent = engine.send_timeout(EngineInput::Reconfigure(Box::new(change)), Duration::from_secs(5)).await;
    let Ok(Ok(subscriptions)) = (match sent {
        Ok(()) => tokio::time::timeout(Duration::from_secs(5), subscriptions).await,
        Err(_) => return failed(vec!["the engine did not take the change (busy or stopped)".into()]),
    }) else {
        return failed(vec!["the engine did not confirm the change".into()]);
    };
    let mut streams_added = 0;
    for venue in venues.iter_mut() {
        let wanted = feed::of_subscriptions(subscriptions.iter(), venue.id);
        let missing = feed::missing(&venue.subscribed, &wanted);
        if missing.is_empty() {
            continue;
        }
        let channels: Vec<String> = missing.iter().flat_map(FeedSpec::channels).collect();
        streams_added += channels.len();
        tracing::info!(venue = %venue.name, ?channels, "subscribing on a new connection");
        venue.tasks.extend(venue.feeds.spawn(missing.clone()));
        venue.subscribed.extend(missing);
    }
    let mut keys_rotated = Vec::new();
    for (i, key) in rotations {
        let venue = &mut venues[i];
        let digest = key.digest;
        match venue.keys.rotate(key) {
            Ok(task) => venue.tasks.extend(task),
            Err(e) => {
                // Checked when it was read: only a key changed on disk in between gets here.
                tracing::error!(venue = %venue.name, error = format!("{e:#}"), "API key not rotated; the old key stays in use");
                continue;
            }
        }
        venue.key_fingerprint = Some(digest);
        tracing::warn!(venue = %venue.name, "API key rotated: new requests and the user stream use the new key");
        keys_rotated.push(venue.name.clone());
    }
    let outcome = ReloadOutcome {
        ok: true,
        keys_rotated,
        errors: Vec::new(),
        added: d.added.iter().map(|s| s.instance.name.clone()).collect(),
        removed: d.removed.clone(),
        restarted: d.changed.iter().map(|s| s.instance.name.clone()).collect(),
        unchanged: d.unchanged.clone(),
        risk_changed: d.risk,
        streams_added,
        needs_restart: d.needs_restart.iter().map(|s| (*s).to_owned()).collect(),
    };
    for section in &outcome.needs_restart {
        tracing::warn!(section = %section, "configuration changed; it takes effect at the next restart");
    }
    tracing::info!(
        added = ?outcome.added,
        removed = ?outcome.removed,
        restarted = ?outcome.restarted,
        unchanged = outcome.unchanged.len(),
        streams_added,
        "reloaded"
    );
    // Only what was applied becomes the running configuration.
    live.config.strategies = new.strategies;
    live.config.strategies_dir = new.strategies_dir;
    live.config.risk = new.risk;
    outcome
}

fn failed(errors: Vec<String>) -> ReloadOutcome {
    for e in &errors {
        tracing::error!(problem = %e, "reload failed; the running configuration stays");
    }
    ReloadOutcome { ok: false, errors, ..ReloadOutcome::default() }
}
