//! Server settings, shared by the command line and by tests that start servers in-process.

use std::path::PathBuf;
use std::time::Duration;

pub use crate::services::ServiceSettings;
pub use crate::state::IamIdentity;
use crate::state::{DEFAULT_ACCOUNT, DEFAULT_REGION, Scope};

/// Largest request body accepted by default: far above any MemoryDB or Redshift request.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Account of requests whose access key is not a 12-digit account id.
    pub default_account: String,
    /// Region of requests that carry no credential scope.
    pub default_region: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// What the server does with slow, oversized or too many connections.
    pub limits: NetLimits,
    /// Access keys with their secrets, accounts and IAM identities (a JSON file).
    pub credentials_file: Option<PathBuf>,
    /// How far ahead of the system's clock memshift's clock starts.
    pub clock_offset: Option<chrono::Duration>,
    /// Refuse AWS requests that are not signed with SigV4 by a key of the credentials file.
    pub verify_sigv4: bool,
    /// Settings the services read.
    pub services: ServiceSettings,
    /// Where state is kept across restarts; in memory only when absent.
    pub data_dir: Option<PathBuf>,
    /// A JSON list of API calls applied when the state is new.
    pub init_file: Option<PathBuf>,
}

/// Limits that keep one client from starving the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetLimits {
    /// Connections served at once; one more is answered `ServiceUnavailable` and closed.
    pub max_connections: usize,
    /// Largest header section accepted, in bytes (request line and headers).
    pub max_header_bytes: usize,
    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection stays open.
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request's body once its headers are in.
    pub body_read_timeout: Duration,
}

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits {
            max_connections: 1024,
            max_header_bytes: 16 * 1024,
            header_read_timeout: Duration::from_mins(1),
            body_read_timeout: Duration::from_mins(1),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".to_owned(),
            port: 4566,
            default_account: DEFAULT_ACCOUNT.to_owned(),
            default_region: DEFAULT_REGION.to_owned(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            limits: NetLimits::default(),
            credentials_file: None,
            clock_offset: None,
            verify_sigv4: false,
            services: ServiceSettings::default(),
            data_dir: None,
            init_file: None,
        }
    }
}

impl Config {
    /// A configuration for tests: loopback, a free port, clusters without real servers
    /// (see [`Config::with_engines`]), defaults for everything else.
    #[must_use]
    pub fn ephemeral() -> Self {
        let mut config = Config {
            port: 0,
            ..Config::default()
        };
        config.services.redis_server = Some(PathBuf::from("off"));
        config.services.postgres_bin_dir = Some(PathBuf::from("off"));
        config
    }

    /// The same, with clusters backed by the Redis and PostgreSQL servers found on this
    /// machine.
    #[must_use]
    pub fn with_engines(mut self) -> Self {
        self.services.redis_server = None;
        self.services.postgres_bin_dir = None;
        self
    }

    #[must_use]
    pub fn default_scope(&self) -> Scope {
        Scope::new(self.default_account.clone(), self.default_region.clone())
    }
}

/// Parses a duration: `0`, a number of seconds (`1.5`), or a number with `ms`, `s` or `m`.
///
/// # Errors
/// A message saying what was expected.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0 && *n * unit <= 86_400.0)
        .map(|n| Duration::from_secs_f64(n * unit))
        .ok_or_else(|| format!("{text:?} is not a duration such as 0, 500ms, 2s or 1m"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_mins(1));
        for bad in ["", "-1s", "soon", "2h", "1e9"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
