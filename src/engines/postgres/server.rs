//! Starting and stopping one `postgres` server.
//!
//! Every server is started the same way, whatever it is for (a cluster, the template's
//! preparation, the spare): the same settings on its command line, its socket in a short
//! directory of its own, and its data directory named through a link in that directory
//! (`<socket dir>/data`). After its start a server works in its data directory by
//! relative names, and it reads its configuration again (on a reload) by the name it was
//! given: the link, which follows the data when it moves.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use super::super::pgadmin::{ADMIN_USER, SOCKET_PORT, admin_session};

const START_TIMEOUT: Duration = Duration::from_mins(1);

/// The name of the link to the data directory in a server's socket directory.
const DATA_LINK: &str = "data";

/// How this instance's servers are made and started.
#[derive(Debug)]
pub(super) struct Servers {
    pub(super) bin_dir: Option<PathBuf>,
    /// Where clusters' data directories go.
    pub(super) root: PathBuf,
    /// Whether `root` is memshift's to remove at the end (no data directory given).
    pub(super) temporary: bool,
    pub(super) run_as: Option<(u32, u32)>,
    /// Held while the template is being made.
    pub(super) template: tokio::sync::Mutex<()>,
}

/// A running server: its process, the directory that holds its data (`data`) and its log
/// (`postgres.log`), and its socket's directory.
pub(super) struct Server {
    pub(super) child: Child,
    pub(super) dir: PathBuf,
    pub(super) socket_dir: PathBuf,
}

impl Server {
    /// The path of the server's Unix socket.
    pub(super) fn socket(&self) -> PathBuf {
        self.socket_dir.join(format!(".s.PGSQL.{SOCKET_PORT}"))
    }

    /// Whether the server still runs.
    pub(super) fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Moves the running server's directory to `dir` (which must not exist, or be
    /// empty): the server follows, as it works there by relative names, and its link
    /// now names the new place.
    pub(super) fn move_to(&mut self, dir: &Path) -> Result<(), String> {
        std::fs::rename(&self.dir, dir)
            .map_err(|e| format!("cannot move {}: {e}", self.dir.display()))?;
        self.dir = dir.to_path_buf();
        // A new link replaces the old one in one step: the name never goes missing.
        let link = self.socket_dir.join(DATA_LINK);
        let next = self.socket_dir.join(format!("{DATA_LINK}.next"));
        let _ = std::fs::remove_file(&next);
        std::os::unix::fs::symlink(dir.join("data"), &next)
            .and_then(|()| std::fs::rename(&next, &link))
            .map_err(|e| format!("cannot link {}: {e}", link.display()))
    }
}

impl Servers {
    pub(super) fn make_dir(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                .map_err(|e| format!("cannot give {} to postgres: {e}", dir.display()))?;
        }
        Ok(())
    }

    pub(super) fn command(&self, program: &Path) -> Command {
        let mut std = super::super::orphans::command(program);
        if let Some((uid, gid)) = self.run_as {
            std.uid(uid).gid(gid);
            // The servers' environment: no HOME of root's.
            std.env("HOME", "/tmp");
        }
        Command::from(std)
    }

    /// Starts a server on `dir/data`, logging to `dir/postgres.log`, and waits until it
    /// accepts memshift's session (to the `postgres` database), which it answers with.
    pub(super) async fn launch(
        &self,
        bin_dir: &Path,
        dir: &Path,
    ) -> Result<(Server, tokio_postgres::Client), String> {
        // Unix socket paths are short; keep the socket in a short directory of its own.
        let mut tag = [0u8; 6];
        rand::fill(&mut tag);
        let socket_dir =
            std::env::temp_dir().join(format!("mspg-{}-{}", std::process::id(), hex::encode(tag)));
        self.make_dir(&socket_dir)?;
        let link = socket_dir.join(DATA_LINK);
        let log = std::os::unix::fs::symlink(dir.join("data"), &link)
            .map_err(|e| format!("cannot link {}: {e}", link.display()))
            .and_then(|()| {
                std::fs::File::create(dir.join("postgres.log"))
                    .map_err(|e| format!("cannot create the server log: {e}"))
            });
        let log = match log {
            Ok(log) => log,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&socket_dir);
                return Err(e);
            }
        };
        if let Some((uid, gid)) = self.run_as {
            let _ = std::os::unix::fs::chown(dir.join("postgres.log"), Some(uid), Some(gid));
        }
        let child = self
            .server_command(bin_dir, &socket_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                let _ = std::fs::remove_dir_all(&socket_dir);
                format!("cannot run postgres: {e}")
            })?;
        let mut server = Server {
            child,
            dir: dir.to_path_buf(),
            socket_dir,
        };
        match wait_ready(&mut server).await {
            Ok(admin) => Ok((server, admin)),
            Err(e) => {
                stop_server(&mut server, false).await;
                Err(e)
            }
        }
    }

    /// The command that starts a server whose socket (and data link) is in `socket_dir`:
    /// the same settings for every server.
    fn server_command(&self, bin_dir: &Path, socket_dir: &Path) -> Command {
        let fsync = if self.temporary { "off" } else { "on" };
        let mut command = self.command(&bin_dir.join("postgres"));
        command
            .arg("-D")
            .arg(socket_dir.join(DATA_LINK))
            .args(["-c", "listen_addresses="])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", socket_dir.display()))
            .args(["-c", &format!("port={SOCKET_PORT}")])
            .args(["-c", &format!("fsync={fsync}")])
            // A commit is acknowledged once its WAL is written (and, with a data
            // directory, flushed): a server killed after it keeps it.
            .args(["-c", "synchronous_commit=on", "-c", "max_connections=100"])
            // Shared memory segments in the data directory, not in /dev/shm: a server
            // killed with memshift leaves none behind.
            .args(["-c", "dynamic_shared_memory_type=mmap"])
            // The front sets login passwords with ALTER ROLE: no statement text in the
            // server's log, even when one fails.
            .args([
                "-c",
                "log_statement=none",
                "-c",
                "log_min_error_statement=panic",
            ]);
        command
    }

    /// A new database cluster in `data`, with memshift's own superuser trusted on the
    /// Unix socket and nothing reachable over TCP.
    pub(super) async fn initdb(&self, bin_dir: &Path, data: &Path) -> Result<(), String> {
        let out = self
            .command(&bin_dir.join("initdb"))
            .arg("-D")
            .arg(data)
            .args(["-U", ADMIN_USER, "--auth-local=trust", "--auth-host=reject"])
            .args(["-E", "UTF8", "--no-sync", "--no-instructions", "--locale=C"])
            // One-megabyte WAL segments: a new cluster copies 1 MB of WAL, not 16.
            .arg("--wal-segsize=1")
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    }
}

async fn wait_ready(server: &mut Server) -> Result<tokio_postgres::Client, String> {
    let started = Instant::now();
    let socket = server.socket();
    loop {
        if socket.exists()
            && let Ok(admin) = admin_session(&socket, "postgres").await
        {
            return Ok(admin);
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            let log = std::fs::read_to_string(server.dir.join("postgres.log")).unwrap_or_default();
            return Err(format!(
                "postgres exited at start ({status}): {}",
                log.trim()
            ));
        }
        if started.elapsed() > START_TIMEOUT {
            return Err("postgres did not accept connections within 60 s".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Stops a server with a fast shutdown (its sessions end, its data is written out);
/// answers whether it ended that way. Its socket directory goes, and its own directory
/// too when `remove` says so.
pub(super) async fn stop_server(server: &mut Server, remove: bool) -> bool {
    // A fast shutdown (SIGINT) lets the server end its own processes; SIGKILL would
    // leave them behind.
    let interrupted = match server.child.id() {
        Some(pid) => std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success()),
        None => false,
    };
    let clean = if interrupted {
        tokio::time::timeout(Duration::from_secs(10), server.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    } else {
        None
    };
    if clean.is_none() {
        let _ = server.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), server.child.wait()).await;
    }
    let _ = std::fs::remove_dir_all(&server.socket_dir);
    if remove {
        let _ = std::fs::remove_dir_all(&server.dir);
    }
    clean.is_some_and(|status| status.success())
}

/// A server dropped without [`stop_server`] (memshift's runtime ending, a panicking
/// test, a preparation called off): an immediate shutdown (SIGQUIT, which ends the
/// server's own processes too), and its socket directory goes.
impl Drop for Server {
    fn drop(&mut self) {
        if let (Ok(None), Some(pid)) = (self.child.try_wait(), self.child.id()) {
            let quit = std::process::Command::new("kill")
                .args(["-QUIT", &pid.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            let deadline = Instant::now() + Duration::from_secs(5);
            while quit && Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(5));
            }
            if matches!(self.child.try_wait(), Ok(None)) {
                let _ = self.child.start_kill();
                let deadline = Instant::now() + Duration::from_secs(1);
                while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.socket_dir);
    }
}
