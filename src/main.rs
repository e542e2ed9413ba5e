//! The `memshift` command: settings from flags and `MEMSHIFT_*` variables, then the server.

use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use memshift::Config;

#[derive(Debug, Parser)]
#[command(
    name = "memshift",
    version,
    about = "Local emulator of Amazon MemoryDB users/ACLs and Amazon Redshift temporary credentials"
)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "MEMSHIFT_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free port).
    #[arg(long, env = "MEMSHIFT_PORT", default_value_t = 4566)]
    port: u16,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = Config {
        host: cli.host,
        port: cli.port,
        ..Config::default()
    };
    let listener = match TcpListener::bind((config.host.as_str(), config.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "memshift: cannot listen on {}:{}: {e}",
                config.host, config.port
            );
            return std::process::ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => {
            tracing::info!(%addr, version = env!("CARGO_PKG_VERSION"), "memshift listening");
        }
        Err(e) => tracing::warn!(error = %e, "memshift listening on an unknown address"),
    }
    match memshift::server::serve(listener, &config, shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("memshift: server error: {e}");
            std::process::ExitCode::FAILURE
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
