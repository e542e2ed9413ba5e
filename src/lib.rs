//! memshift: a local emulator of Amazon MemoryDB users and ACLs and of Amazon Redshift
//! temporary database credentials.
//!
//! [`server::router`] builds the whole HTTP application from a [`Config`], so tests can
//! serve it in-process; [`server::start`] binds and serves it in the background.

mod admin;
pub mod config;
pub mod engines;
pub mod net;
pub mod protocol;
pub mod secret;
pub mod seed;
pub mod server;
pub mod services;
pub mod sigv4;
pub mod state;

pub use config::Config;
pub use server::{Server, router, start};
