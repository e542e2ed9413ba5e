//! Amazon Redshift clusters and temporary database credentials: the domain, without a
//! wire format.
//!
//! Each operation takes the region's [`Store`], an [`Env`] and a typed input, checks all
//! its input before it mutates (so a failed call changes nothing), and answers a typed
//! output or one of the model's exceptions ([`Error`]).

pub mod clusters;
pub mod credentials;
pub mod domains;
pub mod error;
pub mod kept;
pub mod logins;
pub mod model;
pub mod store;
pub mod tags;
pub mod validate;

use chrono::{DateTime, Utc};

use crate::services::ServiceSettings;
use crate::state::Scope;
pub use error::Error;
pub use store::Store;

/// What an operation knows besides its input: where, when, who, and the settings.
pub struct Env<'a> {
    pub scope: &'a Scope,
    pub now: DateTime<Utc>,
    pub access_key_id: Option<&'a str>,
    pub settings: &'a ServiceSettings,
    /// `n` ports for new endpoints, held until they start: `None` when PostgreSQL does not
    /// run (the cluster is control-plane only), an error when too few are free.
    pub new_ports: &'a dyn Fn(usize) -> Result<Option<Vec<u16>>, String>,
    /// The port a server's endpoint listens on now, when it runs: endpoints are reported
    /// where they are, even when the port chosen at creation was taken at a restart.
    pub port_of: &'a dyn Fn(Server<'_>) -> Option<u16>,
    /// Whether a server that died is being started again.
    pub recovering: &'a dyn Fn(Server<'_>) -> bool,
}

/// A PostgreSQL server behind an endpoint: a cluster's, or a Serverless namespace's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server<'a> {
    Cluster(&'a str),
    Namespace(&'a str),
}
