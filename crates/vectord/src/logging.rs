//! Where log lines go and how they look: standard error, filtered by
//! `RUST_LOG` (default `info`), as text or as JSON lines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the process's log subscriber. Text is coloured only when standard
/// error is a terminal and `NO_COLOR` is unset, so that files and pipes get no
/// escape codes; JSON lines carry the fields of the request span (method, uri,
/// request id) of every event logged while serving a request.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter);
    match format {
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            builder.with_ansi(colour).init();
        }
        LogFormat::Json => builder.json().with_ansi(false).with_current_span(true).with_span_list(false).init(),
    }
}
