//! The emulated services: domain only. Each takes typed inputs and returns typed outputs
//! or its own modelled errors; none sees HTTP, a wire format or an engine.

pub mod data;
pub mod journal;
pub mod memorydb;
pub mod paging;
pub mod redshift;
pub mod serverless;
pub mod settings;
pub mod tagging;

pub use journal::Region;
pub use settings::ServiceSettings;

/// Every account's regions of both services, their log and the clock.
pub type AppState = crate::state::State<Region>;
