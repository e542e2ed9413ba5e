//! The life of the `memshift` process: start, serve until SIGINT or SIGTERM, give
//! requests in flight most of a second, then stop the engines and close the log.

use std::process::ExitCode;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::Config;

/// Runs the server of a configuration until a signal; the process's exit code.
pub async fn run(config: Config) -> ExitCode {
    let shared = match super::prepare(&config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("memshift: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind((config.host.as_str(), config.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "memshift: cannot listen on {}:{}: {e}",
                config.host, config.port
            );
            super::stop(&shared).await;
            return ExitCode::FAILURE;
        }
    };
    let engines = &shared.api.engines;
    match listener.local_addr() {
        Ok(addr) => {
            if let Some(dir) = engines.postgres.bin_dir() {
                tracing::info!(postgres_bin_dir = %dir.display(), "Redshift clusters run a real PostgreSQL server each");
            } else {
                tracing::info!(
                    "no PostgreSQL server binaries found: Redshift clusters are control-plane only"
                );
            }
            if let Some(path) = engines.redis.binary() {
                tracing::info!(redis_server = %path.display(), "MemoryDB clusters run a real Redis server each");
            } else {
                tracing::info!(
                    "no redis-server or valkey-server found: MemoryDB clusters are control-plane only"
                );
            }
            tracing::info!(%addr, version = env!("CARGO_PKG_VERSION"), durable = config.data_dir.is_some(), "memshift listening");
        }
        Err(e) => tracing::warn!(error = %e, "memshift listening on an unknown address"),
    }
    let (signalled, mut on_signal) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = signalled.send(true);
    });
    let mut graceful = on_signal.clone();
    let state = std::sync::Arc::clone(&shared.api.state);
    let server = super::serve(listener, shared, async move {
        let _ = graceful.wait_for(|s| *s).await;
    });
    // Requests in flight get most of a second to finish; then what is queued is flushed
    // and the process ends regardless.
    let deadline = async {
        let _ = on_signal.wait_for(|s| *s).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
    };
    tokio::select! {
        result = server => match result {
            Ok(()) => {
                tracing::info!("memshift stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("memshift: server error: {e}");
                ExitCode::FAILURE
            }
        },
        () = deadline => {
            state.flush().await;
            state.close();
            tracing::warn!("connections still open after the grace period; stopped anyway");
            ExitCode::SUCCESS
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("memshift shutting down");
}
