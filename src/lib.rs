//! memshift: a local emulator of Amazon MemoryDB users, ACLs and clusters and of Amazon
//! Redshift clusters and temporary database credentials, backed by real Redis and
//! PostgreSQL servers.
//!
//! [`router`] builds the whole HTTP application (an axum `Router`) from prepared state,
//! so it can be served in-process or embedded; [`start`] prepares, binds and serves in
//! the background. `docs/architecture.md` shows the layers.

pub mod api;
pub mod config;
pub mod engines;
pub mod http;
pub mod protocol;
pub mod secret;
pub mod server;
pub mod services;
pub mod state;
pub mod tls;

pub use config::Config;
pub use server::{Server, prepare, router, start};
