//! The emulated services. Each takes typed inputs and returns typed outputs or its own
//! modelled errors; none sees HTTP.

pub mod memorydb;
pub mod paging;
pub mod redshift;
