//! What a memshift process run by a test leaves behind when it is killed: the engine
//! servers it started (a SIGKILL ends memshift, not them) and their temporary
//! directories.
//!
//! memshift's servers are recognised by the directory they work in, which is their
//! cluster's: a Redis server's is `memshift-redis-<pid>-…` (its `dir`), a PostgreSQL
//! server's and its processes' is its data directory, under `memshift-pg-<pid>-…` or,
//! when memshift was given a data directory, under `<data dir>/postgres`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Stops the servers memshift process `pid` started and removes their temporary
/// directories. Call it once that process is dead, so that it starts no more.
pub fn clean_up_after(pid: u32, data_dir: Option<&Path>) {
    let tmp = std::env::temp_dir();
    let temporary = [
        format!("memshift-redis-{pid}-"),
        format!("memshift-pg-{pid}-"),
    ];
    let mut marks: Vec<String> = temporary
        .iter()
        .map(|prefix| tmp.join(prefix).display().to_string())
        .collect();
    if let Some(dir) = data_dir {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        marks.push(format!("{}/", dir.join("postgres").display()));
    }
    let mut found = Vec::new();
    let mut socket_dirs = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(process) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let cwd = std::fs::read_link(entry.path().join("cwd"))
            .map(|c| c.display().to_string())
            .unwrap_or_default();
        let args: Vec<String> = std::fs::read(entry.path().join("cmdline"))
            .unwrap_or_default()
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        // The working directory, or for a server still starting (initdb) its arguments.
        let ours = marks
            .iter()
            .any(|m| cwd.starts_with(m.as_str()) || args.iter().any(|a| a.contains(m.as_str())));
        if !ours {
            continue;
        }
        // A PostgreSQL server's socket lives apart, named in its arguments.
        socket_dirs.extend(
            args.iter()
                .filter_map(|a| a.strip_prefix("unix_socket_directories="))
                .map(PathBuf::from),
        );
        let command = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        let kind = match command.trim() {
            // Only the postmaster keeps its arguments; its processes rename themselves.
            "postgres" if args.iter().any(|a| a == "-D") => Kind::Postmaster,
            "postgres" => Kind::PostmasterChild,
            _ => Kind::Other,
        };
        found.push((process, kind));
    }
    // PostgreSQL's immediate shutdown (SIGQUIT to the postmaster) ends its processes and
    // frees its shared memory; anything else, or anything still there after it, is killed.
    let of = |kind: Kind| {
        found
            .iter()
            .filter(move |(_, k)| *k == kind)
            .map(|(p, _)| *p)
    };
    signal("-QUIT", of(Kind::Postmaster));
    signal("-KILL", of(Kind::Other));
    let deadline = Instant::now() + Duration::from_secs(5);
    while found.iter().any(|(p, _)| alive(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    signal("-KILL", found.iter().map(|(p, _)| *p).filter(|p| alive(*p)));
    // Orphans are reaped by init: give it a moment, so that none is left even as a zombie.
    let deadline = Instant::now() + Duration::from_secs(2);
    while found
        .iter()
        .any(|(p, _)| Path::new(&format!("/proc/{p}")).exists())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    for dir in socket_dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if temporary
            .iter()
            .any(|prefix| name.starts_with(prefix.as_str()))
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Postmaster,
    PostmasterChild,
    Other,
}

fn signal(which: &str, processes: impl Iterator<Item = u32>) {
    let processes: Vec<String> = processes.map(|p| p.to_string()).collect();
    if !processes.is_empty() {
        let _ = std::process::Command::new("kill")
            .arg(which)
            .args(&processes)
            .status();
    }
}

/// Running, as opposed to gone or a zombie waiting for its parent.
fn alive(process: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{process}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X'))
    })
}
