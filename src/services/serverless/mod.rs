//! Amazon Redshift Serverless: namespaces, workgroups and temporary database credentials,
//! the domain, without a wire format.
//!
//! Each operation takes the region's [`Store`], the Redshift [`Env`](super::redshift::Env)
//! and a typed input, checks all its input before it mutates (so a failed call changes
//! nothing), and answers a typed output or one of the model's exceptions ([`Error`]).

pub mod credentials;
pub mod domains;
pub mod error;
pub mod model;
pub mod namespaces;
pub mod store;
pub mod tags;
pub mod validate;
pub mod workgroups;

pub use error::Error;
pub use store::Store;

#[cfg(test)]
mod tests;
