//! The account/region store: every resource lives in one (account, region).
//!
//! Each region has its own lock, taken only inside synchronous code (never across an
//! `.await`), so operations in different regions never wait on each other and every
//! operation on one region is atomic.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use chrono::{DateTime, Utc};

use crate::config::ServiceSettings;
use crate::protocol::context::Scope;
use crate::services::{memorydb, redshift};

/// Everything one account owns in one region.
#[derive(Debug, Default)]
pub struct RegionState {
    pub memorydb: memorydb::Store,
    pub redshift: redshift::Store,
}

/// memshift's clock: the system's, moved forward by an offset that tests can set, so
/// that expiry can be seen without waiting.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock forward (or back, with a negative amount).
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}

/// The shared state of a server.
#[derive(Debug)]
pub struct AppState {
    defaults: Scope,
    settings: ServiceSettings,
    clock: Clock,
    regions: RwLock<HashMap<Scope, Arc<Mutex<RegionState>>>>,
}

impl AppState {
    #[must_use]
    pub fn new(defaults: Scope, settings: ServiceSettings) -> Self {
        AppState {
            defaults,
            settings,
            clock: Clock::default(),
            regions: RwLock::new(HashMap::new()),
        }
    }

    /// The account and region of requests that name none.
    #[must_use]
    pub fn defaults(&self) -> &Scope {
        &self.defaults
    }

    #[must_use]
    pub fn settings(&self) -> &ServiceSettings {
        &self.settings
    }

    #[must_use]
    pub fn clock(&self) -> &Clock {
        &self.clock
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
