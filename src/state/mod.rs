//! The account/region store: every resource lives in one (account, region).
//!
//! Each region has its own lock, taken only inside synchronous code (never across an
//! `.await`), so operations in different regions never wait on each other and every
//! operation on one region is atomic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::protocol::context::Scope;
use crate::services::memorydb;

/// Everything one account owns in one region.
#[derive(Debug, Default)]
pub struct RegionState {
    pub memorydb: memorydb::Store,
}

/// The shared state of a server.
#[derive(Debug)]
pub struct AppState {
    defaults: Scope,
    regions: RwLock<HashMap<Scope, Arc<Mutex<RegionState>>>>,
}

impl AppState {
    #[must_use]
    pub fn new(defaults: Scope) -> Self {
        AppState {
            defaults,
            regions: RwLock::new(HashMap::new()),
        }
    }

    /// The account and region of requests that name none.
    #[must_use]
    pub fn defaults(&self) -> &Scope {
        &self.defaults
    }

    /// Runs `f` with the region's state locked, creating the region in its built-in state
    /// on first use.
    pub fn with_region<R>(&self, scope: &Scope, f: impl FnOnce(&mut RegionState) -> R) -> R {
        let region = self.region(scope);
        let mut guard = region.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    fn region(&self, scope: &Scope) -> Arc<Mutex<RegionState>> {
        if let Some(region) = self
            .regions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(scope)
        {
            return Arc::clone(region);
        }
        let mut regions = self.regions.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(regions.entry(scope.clone()).or_default())
    }
}
