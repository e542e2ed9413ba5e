//! The fuzz targets' properties, in `checks.rs`, which `tests/fuzz_regressions.rs` of the
//! main crate includes too so that saved inputs are replayed by `cargo test`.

pub mod checks;
