//! Real servers behind emulated resources: a Redis server for each MemoryDB cluster.

pub mod pgfront;
pub mod pgwire;
pub mod postgres;
pub mod proxy;
pub mod redis;
pub mod resp;

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::protocol::context::Scope;

/// The endpoint ports of a kind of cluster, readable without waiting (the cluster views
/// need them while servers are being started or stopped).
#[derive(Debug, Default)]
pub struct Ports(Mutex<HashMap<(Scope, String), u16>>);

impl Ports {
    #[must_use]
    pub fn get(&self, scope: &Scope, cluster: &str) -> Option<u16> {
        self.map()
            .get(&(scope.clone(), cluster.to_owned()))
            .copied()
    }

    pub fn set(&self, key: (Scope, String), port: u16) {
        self.map().insert(key, port);
    }

    pub fn remove(&self, key: &(Scope, String)) {
        self.map().remove(key);
    }

    /// Whether any cluster of the region has a port.
    #[must_use]
    pub fn any_in(&self, scope: &Scope) -> bool {
        self.map().keys().any(|(s, _)| s == scope)
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<(Scope, String), u16>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
