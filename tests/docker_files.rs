//! The Dockerfile, compose file and workflow can't be run here (no Docker engine), so this
//! checks everything around them: the settings they use exist, the health check command
//! they run works with the environment they give it, and the image is conventional.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_memshift");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Every `MEMSHIFT_*` name in a text.
fn settings_in(text: &str) -> Vec<String> {
    let re = regex_lite::Regex::new(r"MEMSHIFT_[A-Z_]+").unwrap();
    re.find_iter(text).map(|m| m.as_str().to_owned()).collect()
}

fn help() -> String {
    String::from_utf8(Command::new(BIN).arg("--help").output().unwrap().stdout).unwrap()
}

#[test]
fn the_dockerfile_is_multi_stage_non_root_and_checks_health_with_the_binary() {
    let dockerfile = read("docker/Dockerfile");
    let froms = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .count();
    assert!(froms >= 2, "multi-stage build");
    assert!(dockerfile.lines().any(|l| l.trim() == "EXPOSE 4566"));
    let user = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(!["root", "0"].contains(&user.trim()), "runs as {user}");
    assert!(dockerfile.contains(r#"CMD ["/usr/local/bin/memshift", "healthcheck"]"#));
    assert!(
        dockerfile
            .contains("COPY --from=build /src/target/release/memshift /usr/local/bin/memshift")
    );
    let ignore = read(".dockerignore");
    assert!(ignore.lines().any(|l| l.trim() == "target"));
}

#[test]
fn every_setting_the_docs_and_files_use_exists() {
    let help = help();
    for file in [
        "docker/Dockerfile",
        "docker/docker-compose.yml",
        "README.md",
        ".github/workflows/ci.yml",
    ] {
        for setting in settings_in(&read(file)) {
            assert!(
                help.contains(&setting),
                "{file} uses {setting}, which memshift does not read"
            );
        }
    }
    let compose = read("docker/docker-compose.yml");
    assert!(compose.contains(r#"test: ["CMD", "/usr/local/bin/memshift", "healthcheck"]"#));
    assert!(compose.contains("memshift-data:/data"));
}

/// The image's environment (listening on all addresses) with the compose file's settings:
/// the server starts with them, and `memshift healthcheck` under the same environment
/// reports it healthy, then unhealthy once it is gone.
#[test]
fn the_image_environment_starts_and_passes_its_health_check() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let dir = common::temp_dir("docker");
    let data = dir.path().join("data");
    let env = [
        ("MEMSHIFT_HOST", "0.0.0.0"),
        ("MEMSHIFT_PORT", port.as_str()),
        ("MEMSHIFT_DATA_DIR", data.to_str().unwrap()),
        ("MEMSHIFT_LOG_FORMAT", "json"),
        ("MEMSHIFT_LOG_LEVEL", "info"),
    ];
    let mut server = Server::start(&env, &data);
    let deadline = Instant::now() + Duration::from_secs(10);
    let healthy = loop {
        let status = Command::new(BIN)
            .arg("healthcheck")
            .envs(env)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        if status.success() {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    server.kill();
    assert!(healthy, "memshift healthcheck never passed");
    let status = Command::new(BIN)
        .arg("healthcheck")
        .envs(env)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "healthy with no server");
}

/// memshift run as the image runs it; killed when dropped, with the engine servers it
/// started.
struct Server {
    child: Child,
    data_dir: PathBuf,
}

impl Server {
    fn start(env: &[(&str, &str)], data_dir: &Path) -> Server {
        let child = Command::new(BIN)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Server {
            child,
            data_dir: data_dir.to_path_buf(),
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        common::leftovers::clean_up_after(self.child.id(), Some(&self.data_dir));
    }
}

/// The benchmark's baseline must be built from the axum and tokio memshift uses.
#[test]
fn the_benchmark_baseline_pins_memshifts_axum_and_tokio() {
    let lock = read("Cargo.lock");
    let baseline = read("bench/baseline/Cargo.toml");
    for krate in ["axum", "tokio"] {
        let marker = format!("name = \"{krate}\"\nversion = \"");
        let at = lock
            .find(&marker)
            .unwrap_or_else(|| panic!("{krate} in Cargo.lock"))
            + marker.len();
        let version = &lock[at..at + lock[at..].find('"').unwrap()];
        assert!(
            baseline.contains(&format!("\"={version}\"")),
            "bench/baseline/Cargo.toml must pin {krate} to ={version}"
        );
    }
}
