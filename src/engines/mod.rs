//! Real servers behind emulated resources: a Redis server for each MemoryDB cluster.

pub mod proxy;
pub mod redis;
pub mod resp;
