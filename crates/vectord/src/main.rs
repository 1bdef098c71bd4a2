//! The `vectord` binary: settings, tracing, bind, serve until SIGTERM or Ctrl-C.

use std::process::ExitCode;

use clap::Parser;
use vectord::config::{Cli, Config};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let config = match Config::resolve(&Cli::parse()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("vectord: {message}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(?config, "starting");
    let listener = match tokio::net::TcpListener::bind(config.bind).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("vectord: cannot listen on {}: {error}", config.bind);
            return ExitCode::FAILURE;
        }
    };
    match vectord::serve(listener, config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("vectord: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
