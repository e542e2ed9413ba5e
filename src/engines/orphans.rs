//! No engine outlives memshift, however memshift ends.
//!
//! - Each engine process is started through util-linux's `setpriv --pdeathsig KILL`,
//!   which asks the kernel to kill it when the thread that started it ends: with
//!   memshift's death (even `kill -9`), or with the runtime that started it (a test's).
//!   PostgreSQL's backends end when their postmaster dies. This needs no `unsafe` here.
//!   Without `setpriv` (not Linux), engines start directly and the sweep below is the
//!   only help.
//! - At start-up, [`sweep`] removes what an earlier memshift that died left behind:
//!   its temporary directories (named with its pid, `memshift-pg-<pid>-…`,
//!   `memshift-redis-<pid>-…`, `mspg-<pid>-…`) once that pid no longer runs, and first
//!   the engine processes still working in them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The prefixes of memshift's temporary directories, each followed by `<pid>-`.
const PREFIXES: &[&str] = &["memshift-pg-", "memshift-redis-", "mspg-"];

/// `setpriv`, when this machine has one that can set the parent-death signal.
fn setpriv() -> Option<&'static Path> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|dir| dir.join("setpriv"))
                .find(|p| p.is_file())
        })
        .as_deref()
}

/// A command that runs `program` so that it is killed when the thread starting it ends.
#[must_use]
pub fn command(program: &Path) -> std::process::Command {
    match setpriv() {
        Some(setpriv) => {
            let mut command = std::process::Command::new(setpriv);
            command.args(["--pdeathsig", "KILL", "--"]).arg(program);
            command
        }
        None => std::process::Command::new(program),
    }
}

fn alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// The pid a temporary directory's name carries, when it is one of memshift's.
fn owner(name: &str) -> Option<u32> {
    let rest = PREFIXES.iter().find_map(|p| name.strip_prefix(p))?;
    rest.split('-').next()?.parse().ok()
}

/// Processes whose working directory or command line lies in `dir`.
fn working_in(dir: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let needle = dir.to_string_lossy().into_owned();
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let proc = Path::new("/proc").join(pid.to_string());
            let cwd = std::fs::read_link(proc.join("cwd")).is_ok_and(|cwd| cwd.starts_with(dir));
            let cmdline = std::fs::read(proc.join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&needle));
            cwd || cmdline
        })
        .collect()
}

/// Ends the processes: SIGQUIT (PostgreSQL's immediate shutdown, which ends its
/// backends too), then SIGKILL for those still there after a second.
fn end(pids: &[u32]) {
    let signal = |name: &str, pid: u32| {
        let _ = std::process::Command::new("kill")
            .args([name, &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
    };
    for pid in pids {
        signal("-QUIT", *pid);
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    while pids.iter().any(|p| alive(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    for pid in pids.iter().filter(|p| alive(**p)) {
        signal("-KILL", *pid);
    }
}

/// Removes what earlier memshift processes that died left in the temporary directory:
/// their engines first, then their directories. Answers how many directories went.
pub fn sweep() -> usize {
    let temp = std::env::temp_dir();
    let Ok(entries) = std::fs::read_dir(&temp) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner) else {
            continue;
        };
        if alive(pid) || !entry.path().is_dir() {
            continue;
        }
        let dir = entry.path();
        let engines = working_in(&dir);
        if !engines.is_empty() {
            tracing::warn!(dir = %dir.display(), processes = ?engines, "ending engines an earlier memshift left running");
            end(&engines);
        }
        if std::fs::remove_dir_all(&dir).is_ok() {
            removed += 1;
            tracing::info!(dir = %dir.display(), "removed what an earlier memshift left behind");
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_their_owner() {
        assert_eq!(owner("memshift-pg-4242-0a1b2c3d"), Some(4242));
        assert_eq!(owner("memshift-redis-17-orders-0001-39123"), Some(17));
        assert_eq!(owner("mspg-99-aabbccddeeff"), Some(99));
        assert_eq!(owner("memshift-seed-x"), None);
        assert_eq!(owner("mspg-aabbccddeeff"), None);
    }

    #[test]
    fn a_dead_owners_directory_goes_and_a_live_ones_stays() {
        let temp = std::env::temp_dir();
        // Pids above the kernel's maximum never run.
        let dead = temp.join("mspg-4194999-sweeptest");
        let live = temp.join(format!("mspg-{}-sweeptest", std::process::id()));
        std::fs::create_dir_all(dead.join("inner")).unwrap();
        std::fs::create_dir_all(&live).unwrap();
        sweep();
        let (dead_gone, live_kept) = (!dead.exists(), live.exists());
        let _ = std::fs::remove_dir_all(&live);
        let _ = std::fs::remove_dir_all(&dead);
        assert!(dead_gone);
        assert!(live_kept);
    }
}
