//! Logs: `MEMBERCARD_LOG_FORMAT=text` (default) for people, `json` (one object per line, with
//! the spans it happened in under `spans` — the request's, with its `request_id`, first) for
//! log collectors. Filtered
//! by `RUST_LOG` (default `info`). Colours only when stdout is a terminal.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    /// Reads `MEMBERCARD_LOG_FORMAT` (`text` or `json`; unset is `text`).
    ///
    /// # Errors
    /// Any other value.
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var("MEMBERCARD_LOG_FORMAT").ok().as_deref() {
            None | Some("" | "text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(other) => anyhow::bail!("MEMBERCARD_LOG_FORMAT must be text or json, not {other}"),
        }
    }
}

/// Installs the global subscriber once; later calls are no-ops (tests call it per app).
pub fn init(default_filter: &str, format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // A second init (several test apps in one process) is expected and harmless.
    let _ = match format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(false)
            .with_ansi(std::io::stdout().is_terminal())
            .try_init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_current_span(false)
            .with_span_list(true)
            .with_ansi(false)
            .try_init(),
    };
}
