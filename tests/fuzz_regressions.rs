//! Replays the fuzz targets' saved inputs under plain `cargo test`, without libFuzzer:
//! every file of `fuzz/seeds/<target>/` and `fuzz/regressions/<target>/` goes through
//! the same check as the fuzz target of that name (`fuzz/src/checks.rs`, included here),
//! so a bug the fuzzer found stays tested once it is fixed.

#[path = "../fuzz/src/checks.rs"]
mod checks;

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// The input files of one target: seeds and regressions, in name order.
fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            // Notes beside the inputs are not inputs.
            if path.is_file() && !name.starts_with('.') && !name.ends_with(".md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn replay(target: &str) {
    let check = checks::target(target).expect("a target of checks.rs");
    let files = inputs(target);
    assert!(!files.is_empty(), "no seeds for {target}");
    let mut failures = Vec::new();
    for file in &files {
        let data = fs::read(file).expect("a readable input");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{}: {message}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} inputs of {target} fail:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn json_decode() {
    replay("json_decode");
}

#[test]
fn query_decode() {
    replay("query_decode");
}

#[test]
fn access_string() {
    replay("access_string");
}

#[test]
fn authorization() {
    replay("authorization");
}

#[test]
fn request() {
    replay("request");
}

#[test]
fn every_seed_directory_is_a_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for kind in ["seeds", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(kind)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            if path.is_dir() {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                assert!(
                    checks::target(&name).is_some(),
                    "{} names no fuzz target",
                    path.display()
                );
            }
        }
    }
}
