//! memshift run as a service is run: the binary in a process of its own, on a data
//! directory, killed with SIGKILL or stopped with SIGTERM and started again on the same
//! port. The guard leaves nothing behind when it is dropped, whether the test passed or
//! not: the process, the engine servers it started, their directories, its data
//! directory and its log.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use super::leftovers;

pub const BIN: &str = env!("CARGO_BIN_EXE_memshift");

/// How long a memshift may take to serve its API after it was started, clusters and all.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A memshift child process, with the settings it is started again with.
pub struct Memshift {
    child: Option<Child>,
    /// The API's port, the same at every start.
    pub port: u16,
    args: Vec<String>,
    log: PathBuf,
    /// Every memshift process this guard started, the running one last.
    pids: Vec<u32>,
    data: Option<tempfile::TempDir>,
}

/// A window of 100 ports below the system's ephemeral range: ports 0-89 for the
/// endpoints, 99 for the API. Outside the ephemeral range, no client connection of a
/// test can hold one of them while memshift is down, so that a restart finds them free.
/// Each guard of this test process takes another window.
fn port_window() -> (u16, u16) {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let pid = u16::try_from(std::process::id() % 60).unwrap_or(0);
    for _ in 0..120 {
        let turn = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = 20_000 + ((pid * 7 + turn * 13) % 120) * 100;
        let api = base + 99;
        let free = (base..=api).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if free {
            return (base, api);
        }
    }
    panic!("no free window of 100 ports between 20000 and 32000");
}

impl Memshift {
    /// Starts memshift with `args` (besides its port and endpoint ports), on a new data
    /// directory when `durable`; answers once its API serves.
    pub async fn start(tag: &str, durable: bool, args: &[&str]) -> Memshift {
        let (base, api) = port_window();
        let data = durable.then(|| super::temp_dir(tag));
        let mut all: Vec<String> = vec![
            "--port".to_owned(),
            api.to_string(),
            "--endpoint-ports".to_owned(),
            format!("{base}-{}", base + 89),
        ];
        if let Some(dir) = &data {
            all.push("--data-dir".to_owned());
            all.push(dir.path().join("data").display().to_string());
        }
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let log = std::env::temp_dir().join(format!("memshift-log-{tag}-{}", uuid::Uuid::new_v4()));
        let mut memshift = Memshift {
            child: None,
            port: api,
            args: all,
            log,
            pids: Vec::new(),
            data,
        };
        memshift.spawn();
        memshift.wait_serving().await;
        memshift
    }

    fn spawn(&mut self) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("the log file");
        let child = Command::new(BIN)
            .args(&self.args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("memshift starts");
        self.pids.push(child.id());
        self.child = Some(child);
    }

    async fn wait_serving(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let client = reqwest::Client::new();
        loop {
            let health = client
                .get(format!("{}/_memshift/health", self.url()))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("memshift exited at start ({status}): {}", self.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "memshift did not serve within {START_TIMEOUT:?}: {}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A MemoryDB client of this memshift (the default account, us-east-1).
    pub fn memorydb(&self) -> aws_sdk_memorydb::Client {
        super::memorydb_at(&self.url(), "AKIAIOSFODNN7EXAMPLE", "us-east-1")
    }

    /// The pid of the running memshift (or of the last one).
    pub fn pid(&self) -> u32 {
        *self.pids.last().expect("started")
    }

    /// Every memshift process started so far.
    pub fn pids(&self) -> &[u32] {
        &self.pids
    }

    pub fn data_dir(&self) -> Option<PathBuf> {
        self.data.as_ref().map(|d| d.path().join("data"))
    }

    /// What every memshift of this guard wrote to its standard error.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last lines of the log, for a failure's message.
    pub fn log_tail(&self) -> String {
        let mut file = match std::fs::File::open(&self.log) {
            Ok(f) => f,
            Err(e) => return format!("(no log: {e})"),
        };
        let len = file.metadata().map_or(0, |m| m.len());
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(6000)));
        let mut tail = String::new();
        let _ = file.read_to_string(&mut tail);
        format!("\n--- memshift's log, last lines ---\n{tail}")
    }

    /// SIGKILL: memshift ends at once, without a word to anything it started.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the exit; answers its code.
    pub async fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("memshift did not exit within 15 s of SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Starts memshift again, with the same port, data directory and settings, after it
    /// was killed or stopped; answers how long it took to serve its API.
    pub async fn restart(&mut self) -> Duration {
        assert!(self.child.is_none(), "memshift still runs");
        let started = Instant::now();
        self.spawn();
        self.wait_serving().await;
        started.elapsed()
    }

    /// Engine processes left by any memshift of this guard: those working in its
    /// temporary directories or in its data directory.
    pub fn engines_left(&self) -> Vec<u32> {
        let tmp = std::env::temp_dir();
        let mut marks: Vec<PathBuf> = self
            .pids
            .iter()
            .flat_map(|pid| {
                [
                    tmp.join(format!("memshift-redis-{pid}-")),
                    tmp.join(format!("memshift-pg-{pid}-")),
                ]
            })
            .collect();
        if let Some(dir) = self.data_dir() {
            marks.push(dir.canonicalize().unwrap_or(dir));
        }
        let marks: Vec<String> = marks.iter().map(|m| m.display().to_string()).collect();
        processes()
            .filter(|(pid, cwd)| {
                !self.pids.contains(pid) && marks.iter().any(|m| cwd.starts_with(m.as_str()))
            })
            .map(|(pid, _)| pid)
            .collect()
    }

    /// The temporary directories named after any memshift of this guard.
    pub fn directories_left(&self) -> Vec<PathBuf> {
        let prefixes: Vec<String> = self
            .pids
            .iter()
            .flat_map(|pid| {
                [
                    format!("memshift-redis-{pid}-"),
                    format!("memshift-pg-{pid}-"),
                    format!("mspg-{pid}-"),
                ]
            })
            .collect();
        std::fs::read_dir(std::env::temp_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| prefixes.iter().any(|p| n.starts_with(p.as_str())))
            })
            .map(|e| e.path())
            .collect()
    }
}

/// Every process with its working directory.
fn processes() -> impl Iterator<Item = (u32, String)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cwd = std::fs::read_link(e.path().join("cwd")).ok()?;
            Some((pid, cwd.display().to_string()))
        })
}

/// The name a process runs under (`comm`), empty once it is gone.
pub fn command_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Sends SIGKILL to one process.
pub fn kill9(pid: u32) {
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill runs");
}

impl Drop for Memshift {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail());
        }
        self.kill9();
        let data = self.data_dir();
        for pid in &self.pids {
            leftovers::clean_up_after(*pid, data.as_deref());
        }
        // Servers working in the data directory, wherever memshift keeps them there.
        let left = self.engines_left();
        for pid in &left {
            kill9(*pid);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while left
            .iter()
            .any(|p| Path::new(&format!("/proc/{p}")).exists())
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = std::fs::remove_file(&self.log);
    }
}
