//! The Dockerfile, compose file and workflow need a Docker engine to run; without one this
//! checks everything around them: the files and settings they name exist, the health check
//! command they run works with the environment they give it, the default image installs and
//! runs the engines as a non-root user, the slim one stays distroless, and the compose
//! example's application reaches memshift the way memshift's endpoints say it can.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
#[path = "docker_files/parse.rs"]
mod parse;

use parse::{Stage, stages, yaml_keys, yaml_list, yaml_value};

const BIN: &str = env!("CARGO_BIN_EXE_memshift");

/// The line every runtime stage copies the binary with.
const COPY_BINARY: &str = "COPY --from=build /src/target/release/memshift /usr/local/bin/memshift";
const HEALTHCHECK: &str = r#"CMD ["/usr/local/bin/memshift", "healthcheck"]"#;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `MEMSHIFT_*` name in a text.
fn settings_in(text: &str) -> Vec<String> {
    // A whole name: `TEST_MEMSHIFT_BIN` is the client suite's, not one of memshift's.
    let re = regex_lite::Regex::new(r"\bMEMSHIFT_[A-Z_]+").unwrap();
    re.find_iter(text).map(|m| m.as_str().to_owned()).collect()
}

fn help() -> String {
    String::from_utf8(Command::new(BIN).arg("--help").output().unwrap().stdout).unwrap()
}

fn image_stages() -> Vec<Stage> {
    stages(&read("docker/Dockerfile"))
}

fn stage<'a>(stages: &'a [Stage], name: &str) -> &'a Stage {
    stages
        .iter()
        .find(|s| s.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("a stage named {name}"))
}

/// A `USER` that is not root: neither `root` nor uid 0, by name or as `user:group`.
fn assert_not_root(stage: &Stage) -> String {
    let user = stage.user();
    let name = user.split(':').next().unwrap().trim();
    assert!(
        !["root", "0", ""].contains(&name),
        "{} runs as {user}",
        stage.label()
    );
    name.to_owned()
}

/// The COPY sources of a stage that copy from the build context (not from a stage).
fn context_sources(stage: &Stage) -> Vec<String> {
    stage
        .all("COPY")
        .chain(stage.all("ADD"))
        .filter(|args| !args.contains("--from="))
        .flat_map(|args| {
            let words: Vec<&str> = args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            words[..words.len() - 1]
                .iter()
                .map(|w| (*w).to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_runtime_stage_is_non_root_and_checks_health_with_the_binary() {
    let stages = image_stages();
    assert!(stages.len() >= 3, "a build stage, slim and the default");
    let build = stage(&stages, "build");
    assert!(
        build.from.starts_with("rust:"),
        "builds with {}",
        build.from
    );
    for runtime in stages.iter().filter(|s| s.name.as_deref() != Some("build")) {
        let label = runtime.label();
        assert_not_root(runtime);
        assert!(runtime.has("EXPOSE", "4566"), "{label}: EXPOSE 4566");
        assert!(
            runtime.has("COPY", COPY_BINARY.strip_prefix("COPY ").unwrap()),
            "{label}: {COPY_BINARY}"
        );
        assert!(
            runtime.all("HEALTHCHECK").any(|h| h.ends_with(HEALTHCHECK)),
            "{label}: HEALTHCHECK {HEALTHCHECK}"
        );
        assert!(
            runtime.has("ENTRYPOINT", r#"["/usr/local/bin/memshift"]"#),
            "{label}: the binary as ENTRYPOINT"
        );
        assert_eq!(
            runtime.env_value("MEMSHIFT_HOST").as_deref(),
            Some("0.0.0.0"),
            "{label}: listens on every address"
        );
        assert!(runtime.has("VOLUME", r#"["/data"]"#), "{label}: /data");
    }
    assert!(read("docker/Dockerfile").contains(COPY_BINARY));
    let ignore = read(".dockerignore");
    assert!(ignore.lines().any(|l| l.trim() == "target"));
}

#[test]
fn the_slim_target_is_distroless_and_control_plane_only() {
    let stages = image_stages();
    let slim = stage(&stages, "slim");
    assert!(
        slim.from.starts_with("gcr.io/distroless/"),
        "slim is FROM {}",
        slim.from
    );
    assert_not_root(slim);
    assert!(
        slim.all("RUN").next().is_none(),
        "a distroless stage runs nothing"
    );
    assert!(
        slim.env_value("MEMSHIFT_ENDPOINT_PORTS").is_none(),
        "no endpoints to give ports to"
    );
    let last = stages.last().unwrap();
    assert!(
        last.name.as_deref() != Some("slim") && last.name.as_deref() != Some("build"),
        "the default target (the last stage) is the image with engines"
    );
}

#[test]
fn the_default_image_installs_the_engines_and_runs_them_as_its_own_user() {
    let stages = image_stages();
    let full = stages.last().unwrap();
    assert!(
        full.from.starts_with("debian:bookworm-slim"),
        "the default image is FROM {}",
        full.from
    );
    let runs = full.runs();
    let install = runs.find("apt-get install").expect("an apt-get install");
    let command = &runs[install..];
    let command = &command[..command.find("&&").unwrap_or(command.len())];
    for word in ["--no-install-recommends", "redis-server", "postgresql-15"] {
        assert!(
            command.split_whitespace().any(|w| w == word),
            "`{command}` lacks {word}"
        );
    }
    let no_cluster = runs
        .find("create_main_cluster = false")
        .expect("postgresql-common told not to create its cluster");
    assert!(
        no_cluster < install,
        "create_main_cluster is set before the install"
    );
    let clean = runs
        .find("rm -rf /var/lib/apt/lists/*")
        .expect("the apt lists removed");
    assert!(
        clean > install,
        "the apt lists are removed after the install"
    );

    // Its own user, with a fixed uid and gid, that owns /data.
    let words: Vec<&str> = runs.split_whitespace().collect();
    let after = |command: &str, flag: &str| -> String {
        let at = words
            .iter()
            .position(|w| *w == command)
            .unwrap_or_else(|| panic!("a {command}"));
        let flag_at = words[at..]
            .iter()
            .position(|w| *w == flag)
            .unwrap_or_else(|| panic!("{command} {flag}"));
        words[at + flag_at + 1].to_owned()
    };
    let uid = after("useradd", "--uid");
    let gid = after("groupadd", "--gid");
    let name = words[words.iter().position(|w| *w == "useradd").unwrap()..]
        .iter()
        .take_while(|w| **w != "&&")
        .last()
        .map(|w| (*w).to_owned())
        .unwrap();
    assert!(uid.parse::<u32>().is_ok_and(|u| u > 0), "uid {uid}");
    assert!(gid.parse::<u32>().is_ok_and(|g| g > 0), "gid {gid}");
    let user = assert_not_root(full);
    assert!(
        user == name || user == uid,
        "USER {user} is the user made, {name} ({uid})"
    );
    assert!(
        runs.contains(&format!("install -d -o {name} -g {name}"))
            || runs.contains(&format!("chown {name}")),
        "{name} owns /data"
    );
    assert!(runs.contains(" /data"), "/data is made");

    // Listens on every address, and gives endpoints the ports it exposes.
    assert!(full.has("EXPOSE", "4566"));
    let ports = full
        .env_value("MEMSHIFT_ENDPOINT_PORTS")
        .expect("MEMSHIFT_ENDPOINT_PORTS in the image's environment");
    assert_eq!(ports, "4510-4559");
    assert!(full.has("EXPOSE", &ports), "EXPOSE {ports}");
    assert_eq!(full.env_value("MEMSHIFT_PORT").as_deref(), Some("4566"));
}

#[test]
fn every_path_the_docker_files_name_exists() {
    // The image's build context is the project.
    let ignore = read(".dockerignore");
    for stage in image_stages() {
        for source in context_sources(&stage) {
            assert!(root().join(&source).exists(), "Dockerfile copies {source}");
            let top = source.trim_end_matches('/').split('/').next().unwrap();
            assert!(
                !ignore.lines().any(|l| l.trim() == top),
                ".dockerignore leaves out {source}, which the Dockerfile copies"
            );
        }
    }
    // Each compose service's build context and Dockerfile, and what that Dockerfile copies.
    let compose = read("docker/docker-compose.yml");
    let services = yaml_keys(&compose, &["services"]);
    assert!(services.contains(&"memshift".to_owned()) && services.contains(&"app".to_owned()));
    for service in &services {
        let Some(context) = yaml_value(&compose, &["services", service, "build", "context"]) else {
            continue;
        };
        let context = root().join("docker").join(context);
        assert!(context.is_dir(), "{service}: context {}", context.display());
        let dockerfile = yaml_value(&compose, &["services", service, "build", "dockerfile"])
            .unwrap_or_else(|| "Dockerfile".to_owned());
        let dockerfile = context.join(dockerfile);
        let text = std::fs::read_to_string(&dockerfile)
            .unwrap_or_else(|e| panic!("{service}: {}: {e}", dockerfile.display()));
        for stage in stages(&text) {
            for source in context_sources(&stage) {
                assert!(
                    context.join(&source).exists(),
                    "{service}: {} copies {source}",
                    dockerfile.display()
                );
            }
        }
    }
    // The project's files the workflow and the docs name.
    let path = regex_lite::Regex::new(r"\b(?:docker|docs)/[A-Za-z0-9_./-]*[A-Za-z0-9_]").unwrap();
    for file in [
        ".github/workflows/ci.yml",
        "README.md",
        "docs/container.md",
        "docker/Dockerfile",
        "docker/docker-compose.yml",
    ] {
        for named in path.find_iter(&read(file)) {
            let named = named.as_str();
            assert!(root().join(named).exists(), "{file} names {named}");
        }
    }
}

#[test]
fn every_setting_the_docs_and_files_use_exists() {
    let help = help();
    for file in [
        "docker/Dockerfile",
        "docker/docker-compose.yml",
        "docker/app/Dockerfile",
        "docker/app/journey.py",
        "README.md",
        "docs/container.md",
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

/// The compose example's application waits for memshift to be healthy and reaches it, and
/// every endpoint it reports, by the names and ports the compose file gives them.
#[test]
fn the_compose_app_waits_for_a_healthy_memshift_and_reaches_its_endpoints() {
    let compose = read("docker/docker-compose.yml");
    let image = image_stages();
    let full = image.last().unwrap();
    assert_eq!(
        yaml_value(
            &compose,
            &["services", "app", "depends_on", "memshift", "condition"]
        )
        .as_deref(),
        Some("service_healthy")
    );
    let memshift_env = |key: &str| {
        yaml_value(&compose, &["services", "memshift", "environment", key])
            .or_else(|| full.env_value(key))
    };
    // Endpoints name the service, which the app's network resolves.
    let host = memshift_env("MEMSHIFT_ENDPOINT_HOST").expect("MEMSHIFT_ENDPOINT_HOST");
    assert_eq!(host, "memshift", "endpoints name the service");
    assert!(yaml_keys(&compose, &["services"]).contains(&host));
    // The API where the app looks for it, published on the same port.
    let port = memshift_env("MEMSHIFT_PORT").expect("MEMSHIFT_PORT");
    let url = yaml_value(
        &compose,
        &["services", "app", "environment", "AWS_ENDPOINT_URL"],
    )
    .expect("the app's AWS_ENDPOINT_URL");
    assert_eq!(url, format!("http://{host}:{port}"));
    let published = yaml_list(&compose, &["services", "memshift", "ports"]);
    assert!(
        published.contains(&format!("{port}:{port}")),
        "{published:?}"
    );
    // The endpoints' ports, published as they are reported, and exposed by the image.
    let ports = memshift_env("MEMSHIFT_ENDPOINT_PORTS").expect("MEMSHIFT_ENDPOINT_PORTS");
    assert!(
        published.contains(&format!("{ports}:{ports}")),
        "{ports} published as is: {published:?}"
    );
    assert!(full.has("EXPOSE", &ports));
    // State in the volume, logs as JSON, as before.
    assert_eq!(memshift_env("MEMSHIFT_DATA_DIR").as_deref(), Some("/data"));
    assert_eq!(memshift_env("MEMSHIFT_LOG_FORMAT").as_deref(), Some("json"));
    assert!(
        yaml_list(&compose, &["services", "memshift", "volumes"])
            .contains(&"memshift-data:/data".to_owned())
    );

    // The app: Python with boto3, redis-py and psycopg, running the journey, whose default
    // endpoint is the one the compose file gives it.
    let context = yaml_value(&compose, &["services", "app", "build", "context"]).unwrap();
    let app_dir = format!("docker/{context}");
    let dockerfile = read(&format!("{app_dir}/Dockerfile"));
    let app = stages(&dockerfile);
    let app = app.last().unwrap();
    assert!(
        app.from.starts_with("python:3.11-slim-bookworm"),
        "{}",
        app.from
    );
    let mut installs = app.runs();
    for source in context_sources(app) {
        if source.starts_with("requirements") {
            installs.push_str(&read(&format!("{app_dir}/{source}")));
        }
    }
    for package in ["boto3", "redis", "psycopg[binary]"] {
        assert!(installs.contains(package), "the app installs {package}");
    }
    let cmd = app.all("CMD").last().expect("the app's CMD");
    assert!(
        cmd.contains("journey.py"),
        "the app runs the journey: {cmd}"
    );
    let journey = read(&format!("{app_dir}/journey.py"));
    assert!(journey.contains(r#"os.environ.get("AWS_ENDPOINT_URL", "http://memshift:4566")"#));
    for call in [
        "create_user",
        "create_acl",
        "create_cluster",
        "/_memshift/ca.pem",
        "RedisCluster(",
        "get_cluster_credentials",
        "psycopg.connect(",
        "sslmode=\"verify-full\"",
        "select current_user",
        "delete_cluster",
    ] {
        assert!(journey.contains(call), "the journey lacks {call}");
    }
}

/// The docker job builds both images, runs the compose example's journey in the app
/// container and from the runner through the published ports, and takes it all down.
#[test]
fn the_workflow_runs_the_compose_journey_in_a_container_and_from_the_runner() {
    let workflow = read(".github/workflows/ci.yml");
    let job = &workflow[workflow.find("\n  docker:\n").expect("a docker job")..];
    let compose = "docker compose -f docker/docker-compose.yml";
    let order = [
        "docker build -f docker/Dockerfile -t",
        "--target slim",
        "{{.State.Health.Status}}",
        compose,
        "run --rm app",
        "127.0.0.1 memshift",
        "AWS_ENDPOINT_URL=http://localhost:4566 python3 docker/app/journey.py",
        "down -v",
    ];
    let mut from = 0;
    for step in order {
        let at = job[from..]
            .find(step)
            .unwrap_or_else(|| panic!("the docker job lacks {step} (after what came before)"));
        from += at;
    }
    let down = job.find(&format!("{compose} down -v")).unwrap();
    assert!(
        job[..down].rfind("if: always()") > job[..down].rfind("- name:"),
        "the compose example comes down whatever failed"
    );
}

/// The default image's environment with the compose file's settings: the server starts
/// with them, and `memshift healthcheck` under the same environment reports it healthy,
/// then unhealthy once it is gone.
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
    let compose = read("docker/docker-compose.yml");
    let mut env: Vec<(String, String)> = image_stages().last().unwrap().env();
    for key in yaml_keys(&compose, &["services", "memshift", "environment"]) {
        let value = yaml_value(&compose, &["services", "memshift", "environment", &key]);
        env.retain(|(k, _)| *k != key);
        env.push((key, value.unwrap()));
    }
    for (key, value) in &mut env {
        match key.as_str() {
            "MEMSHIFT_PORT" => value.clone_from(&port),
            "MEMSHIFT_DATA_DIR" => *value = data.display().to_string(),
            _ => {}
        }
    }
    assert!(env.iter().any(|(k, _)| k == "MEMSHIFT_PORT"));
    let log = dir.path().join("memshift.log");
    let mut server = Server::start(&env, &data, &log);
    let deadline = Instant::now() + Duration::from_secs(10);
    let healthy = loop {
        if let Some(status) = server.exited() {
            panic!(
                "memshift stopped ({status}) under the image's environment: {}",
                std::fs::read_to_string(&log).unwrap_or_default().trim()
            );
        }
        let status = Command::new(BIN)
            .arg("healthcheck")
            .envs(env.iter().map(|(k, v)| (k, v)))
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
        .envs(env.iter().map(|(k, v)| (k, v)))
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
    fn start(env: &[(String, String)], data_dir: &Path, log: &Path) -> Server {
        let child = Command::new(BIN)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        Server {
            child,
            data_dir: data_dir.to_path_buf(),
        }
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
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
