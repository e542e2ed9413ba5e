//! memshift's own sessions with a PostgreSQL server it started: as its superuser,
//! `memshift`, over the server's private Unix socket (trusted, so no password), through
//! `tokio-postgres`. Each connect and each statement is bounded by [`ADMIN_TIMEOUT`], so
//! that a hung server cannot hang memshift. Login roles' passwords are sent as SCRAM-SHA-256
//! verifiers (see `pgfront`), never as plain text, since `tokio-postgres` logs statements
//! at debug level.

use std::path::Path;
use std::time::Duration;

use tokio_postgres::{NoTls, SimpleQueryMessage};

/// memshift's own superuser in every server.
pub const ADMIN_USER: &str = "memshift";
/// The longest memshift waits for a server to accept its session or to answer one
/// statement.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);
/// The servers listen on no TCP port; this one only names their socket (`.s.PGSQL.5432`).
pub const SOCKET_PORT: u16 = 5432;

/// A session as memshift's superuser, `memshift`, over a server's Unix socket (the
/// socket file's path: its directory and the port in its name are what the client needs).
///
/// # Errors
/// The server could not be reached in time or refused the session: its message.
pub async fn admin_session(
    socket: &Path,
    database: &str,
) -> Result<tokio_postgres::Client, String> {
    let dir = socket
        .parent()
        .ok_or_else(|| format!("{} is not a socket path", socket.display()))?;
    let mut config = tokio_postgres::Config::new();
    config
        .host_path(dir)
        .port(SOCKET_PORT)
        .user(ADMIN_USER)
        .dbname(database)
        // Only the system catalogs: the databases' own search path puts `public` first,
        // where any user may create a `pg_roles` of their own.
        .options("-c search_path=pg_catalog")
        .connect_timeout(ADMIN_TIMEOUT);
    let (client, connection) = tokio::time::timeout(ADMIN_TIMEOUT, config.connect(NoTls))
        .await
        .map_err(|_| "the server did not answer".to_owned())?
        .map_err(|e| server_message(&e))?;
    // The connection ends when `client` is dropped, or when the server goes away.
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %server_message(&e), "admin session ended");
        }
    });
    Ok(client)
}

/// Runs one statement that answers no rows.
///
/// # Errors
/// The server's error message, or a timeout.
pub async fn execute(client: &tokio_postgres::Client, sql: &str) -> Result<(), String> {
    tokio::time::timeout(ADMIN_TIMEOUT, client.batch_execute(sql))
        .await
        .map_err(|_| "the query timed out".to_owned())?
        .map_err(|e| server_message(&e))
}

/// Runs one query; answers the first column of its rows, as text (NULLs left out).
///
/// # Errors
/// The server's error message, or a timeout.
pub async fn first_column(
    client: &tokio_postgres::Client,
    sql: &str,
) -> Result<Vec<String>, String> {
    let messages = tokio::time::timeout(ADMIN_TIMEOUT, client.simple_query(sql))
        .await
        .map_err(|_| "the query timed out".to_owned())?
        .map_err(|e| server_message(&e))?;
    Ok(messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .collect())
}

/// The server's own message for its errors (as it wrote it), else the client's.
fn server_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |db| db.message().to_owned())
}
