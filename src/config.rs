//! Server settings, shared by the command line and by tests that start servers in-process.

use crate::protocol::context::{DEFAULT_ACCOUNT, DEFAULT_REGION, Scope};

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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".to_owned(),
            port: 4566,
            default_account: DEFAULT_ACCOUNT.to_owned(),
            default_region: DEFAULT_REGION.to_owned(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl Config {
    /// A configuration for tests: loopback, a free port, defaults for everything else.
    #[must_use]
    pub fn ephemeral() -> Self {
        Config {
            port: 0,
            ..Config::default()
        }
    }

    #[must_use]
    pub fn default_scope(&self) -> Scope {
        Scope::new(self.default_account.clone(), self.default_region.clone())
    }
}
