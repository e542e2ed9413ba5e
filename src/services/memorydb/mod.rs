//! Amazon MemoryDB users, ACLs, clusters, snapshots and tags: the domain, without a wire
//! format.
//!
//! Each operation takes the region's [`Store`] and a typed input, checks all its input
//! before it mutates (so a failed call changes nothing), and answers a typed output or
//! one of the model's exceptions ([`Error`]).

pub mod access_string;
pub mod acls;
pub mod clusters;
pub mod error;
pub mod model;
pub mod snapshots;
pub mod store;
pub mod tags;
pub mod users;
pub mod validate;

pub use error::Error;
pub use store::Store;

#[cfg(test)]
mod tests;
