//! `tracing` setup: human-readable lines on a terminal, JSON lines otherwise
//! (journald and log shippers read those), filter from `RUST_LOG` or config.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Libraries whose TRACE output dumps wire payloads (WebSocket frames carry the
/// API key and signatures of WebSocket API requests). They are capped at DEBUG
/// whatever the filter says, so no log level can leak a secret.
const PAYLOAD_DUMPERS: &[&str] = &["tungstenite", "tokio_tungstenite", "hyper", "hyper_util", "h2", "reqwest"];

/// Installs the global subscriber. Logs go to stderr; stdout is for command output.
pub fn init(format: LogFormat, default_filter: &str) {
    let mut filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Only a filter that enables TRACE somewhere needs the cap (adding it to a
    // quieter filter would turn these libraries up, not down).
    if filter.max_level_hint().is_none_or(|max| max > tracing::level_filters::LevelFilter::DEBUG) {
        for target in PAYLOAD_DUMPERS {
            if let Ok(cap) = format!("{target}=debug").parse() {
                filter = filter.add_directive(cap);
            }
        }
    }
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Human => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests) keeps the first subscriber.
    let _ = if json {
        builder.json().flatten_event(true).with_current_span(false).try_init()
    } else {
        builder.with_target(false).try_init()
    };
    // Panics (a strategy's included) become log lines, not raw stderr text.
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(%location, panic = %payload, "panic");
    }));
}
