//! memshift as a service: the binary with its flags and variables, health, reset, seeding,
//! graceful shutdown, and state that survives SIGKILL.

#![allow(
    clippy::too_many_lines,
    reason = "each test is one user journey, read top to bottom"
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{leftovers, temp_dir};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_memshift");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server child process; killed when dropped, with the engine servers it started.
struct Proc {
    child: Child,
    port: u16,
    log: PathBuf,
    data_dir: Option<PathBuf>,
}

impl Proc {
    fn start(args: &[&str]) -> Proc {
        Self::start_env(args, &[])
    }

    /// Starts the binary with clusters that run no real servers (these tests are about
    /// the service itself).
    fn start_env(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut all = vec!["--redis-server", "off", "--postgres-bin-dir", "off"];
        all.extend_from_slice(args);
        Self::start_raw(&all, env)
    }

    fn start_raw(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("memshift-log-{}", uuid::Uuid::new_v4()));
        let child = Command::new(BIN)
            .args(["--port", &port.to_string()])
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let data_dir = args
            .iter()
            .position(|a| *a == "--data-dir")
            .and_then(|at| args.get(at + 1))
            .map(PathBuf::from);
        let p = Proc {
            child,
            port,
            log,
            data_dir,
        };
        p.wait_healthy();
        p
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("server did not start: {}", self.log_text());
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn terminate(&mut self) -> (Option<i32>, Duration) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let started = Instant::now();
        let deadline = started + Duration::from_secs(5);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.code(), started.elapsed());
            }
            assert!(Instant::now() < deadline, "did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        leftovers::clean_up_after(self.child.id(), self.data_dir.as_deref());
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Runs the binary to completion; (exit code, stderr).
fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    // A start-up that should stop but serves instead fails the test, rather than hanging
    // it (and leaving its temporary files behind when the run is killed).
    let mut child = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break -1;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (code, stderr)
}

async fn memorydb(url: &str, op: &str, body: &str) -> (u16, serde_json::Value) {
    json_call(url, &format!("AmazonMemoryDB.{op}"), body).await
}

async fn serverless(url: &str, op: &str, body: &str) -> (u16, serde_json::Value) {
    json_call(url, &format!("RedshiftServerless.{op}"), body).await
}

async fn json_call(url: &str, target: &str, body: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", target)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

async fn redshift(url: &str, form: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn create_user_body(name: &str) -> String {
    format!(
        r#"{{"UserName":"{name}","AuthenticationMode":{{"Type":"password","Passwords":["a-password-of-20-chars"]}},"AccessString":"on ~* +@all"}}"#
    )
}

async fn user_names(url: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let body = match &token {
            Some(t) => format!(r#"{{"NextToken":"{t}"}}"#),
            None => "{}".to_owned(),
        };
        let (status, v) = memorydb(url, "DescribeUsers", &body).await;
        assert_eq!(status, 200, "{v}");
        for u in v["Users"].as_array().unwrap() {
            names.push(u["Name"].as_str().unwrap().to_owned());
        }
        match v["NextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => return names,
        }
    }
}

/// Flags, variables, and what the error must name.
type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);

#[test]
fn invalid_settings_stop_start_up_naming_the_setting() {
    let dir = temp_dir("file");
    let data_file = dir.path().join("not-a-dir");
    std::fs::write(&data_file, "x").unwrap();
    let data_file = data_file.to_string_lossy().into_owned();
    let cases: Vec<Case> = vec![
        (vec!["--port", "http"], vec![], "--port"),
        (vec!["--bogus"], vec![], "--bogus"),
        (vec![], vec![("MEMSHIFT_PROT", "1")], "MEMSHIFT_PROT"),
        (vec![], vec![("MEMSHIFT_PORT", "99999")], "--port"),
        (vec!["--log-format", "yaml"], vec![], "--log-format"),
        (vec!["--log-level", "[[["], vec![], "--log-level"),
        (
            vec!["--cluster-creation-delay", "soon"],
            vec![],
            "--cluster-creation-delay",
        ),
        (
            vec!["--default-account", "123"],
            vec![],
            "--default-account",
        ),
        (
            vec!["--default-region", "US East"],
            vec![],
            "--default-region",
        ),
        (
            vec!["--iam-identity", "AKID=group:x"],
            vec![],
            "--iam-identity",
        ),
        (
            vec!["--init", "/nonexistent/memshift-init.json"],
            vec![],
            "init file",
        ),
        (vec!["--data-dir", &data_file], vec![], "data directory"),
        (
            vec!["--redis-server", "/nonexistent/redis-server"],
            vec![],
            "--redis-server",
        ),
        (vec!["--verify-sigv4"], vec![], "--credentials-file"),
        (
            vec!["--credentials-file", "/nonexistent/keys.json"],
            vec![],
            "credentials file",
        ),
        (vec!["--max-connections", "0"], vec![], "--max-connections"),
        (
            vec!["--endpoint-ports", "4559-4510"],
            vec![],
            "--endpoint-ports",
        ),
        (
            vec![],
            vec![("MEMSHIFT_ENDPOINT_PORTS", "0-10")],
            "--endpoint-ports",
        ),
        (vec!["--endpoint-host", "::1"], vec![], "--endpoint-host"),
        (
            vec!["--endpoint-host", "two words"],
            vec![],
            "--endpoint-host",
        ),
        (
            vec!["--host", "fe80::1", "--redis-server", "off"],
            vec![],
            "--endpoint-host",
        ),
        (
            vec!["--header-read-timeout", "0"],
            vec![],
            "--header-read-timeout",
        ),
        (
            vec!["--servers-ahead", "sometimes"],
            vec![],
            "--servers-ahead",
        ),
    ];
    for (args, env, names) in cases {
        let (code, stderr) = run(&args, &env);
        assert_eq!(code, 2, "{args:?} {env:?}: {stderr}");
        assert!(
            stderr.contains(names),
            "{args:?} {env:?} does not name {names}: {stderr}"
        );
    }
    let (code, help) = {
        let out = Command::new(BIN).arg("--help").output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(code, 0);
    for setting in [
        "MEMSHIFT_HOST",
        "MEMSHIFT_PORT",
        "MEMSHIFT_DEFAULT_REGION",
        "MEMSHIFT_DEFAULT_ACCOUNT",
        "MEMSHIFT_DATA_DIR",
        "MEMSHIFT_INIT",
        "MEMSHIFT_LOG_LEVEL",
        "MEMSHIFT_LOG_FORMAT",
        "MEMSHIFT_CLUSTER_CREATION_DELAY",
        "MEMSHIFT_IAM_IDENTITIES",
        "MEMSHIFT_ENDPOINT_HOST",
        "MEMSHIFT_ENDPOINT_PORTS",
        "MEMSHIFT_SERVERS_AHEAD",
    ] {
        assert!(help.contains(setting), "--help lacks {setting}");
    }
}

/// `--log-level debug` shows debug events (a connection that sent no HTTP ends with one),
/// and `info` does not.
#[test]
fn the_log_level_lets_debug_events_through_or_not() {
    for (level, shown) in [("debug", true), ("memshift=debug", true), ("info", false)] {
        let p = Proc::start(&["--log-level", level]);
        let addr = p.url().trim_start_matches("http://").to_owned();
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.write_all(b"NONSENSE\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        assert!(answer.starts_with(b"HTTP/1.1 400"), "{level}");
        let deadline = Instant::now() + Duration::from_secs(5);
        while shown && !p.log_text().contains("DEBUG") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            p.log_text().contains("DEBUG"),
            shown,
            "{level}: {}",
            p.log_text()
        );
    }
}

#[tokio::test]
async fn settings_from_variables_take_effect() {
    let p = Proc::start_env(
        &[],
        &[
            ("MEMSHIFT_DEFAULT_REGION", "eu-north-1"),
            ("MEMSHIFT_DEFAULT_ACCOUNT", "123412341234"),
            ("MEMSHIFT_LOG_FORMAT", "json"),
            ("MEMSHIFT_CLUSTER_CREATION_DELAY", "300ms"),
        ],
    );
    let (_, v) = memorydb(&p.url(), "CreateACL", r#"{"ACLName":"where"}"#).await;
    assert_eq!(
        v["ACL"]["ARN"],
        "arn:aws:memorydb:eu-north-1:123412341234:acl/where"
    );
    redshift(&p.url(), "Action=CreateCluster&ClusterIdentifier=c1&NodeType=dc2.large&MasterUsername=admin&MasterUserPassword=Sup3rSecret").await;
    let (_, xml) = redshift(&p.url(), "Action=DescribeClusters&ClusterIdentifier=c1").await;
    assert!(
        xml.contains("<ClusterStatus>creating</ClusterStatus>"),
        "{xml}"
    );
    // JSON log lines.
    let line = p
        .log_text()
        .lines()
        .find(|l| l.contains("CreateACL"))
        .unwrap_or_default()
        .to_owned();
    let parsed: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(parsed["operation"], "CreateACL");
    assert_eq!(parsed["status"], 200);
}

#[tokio::test]
async fn health_and_the_healthcheck_subcommand() {
    let p = Proc::start(&[]);
    for path in ["/_memshift/health", "/_localstack/health"] {
        let r = reqwest::get(format!("{}{path}", p.url())).await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
        assert!(v["uptime_seconds"].as_f64().unwrap() >= 0.0);
        assert_eq!(v["services"]["memorydb"], "running");
        assert_eq!(v["services"]["redshift"], "running");
        assert_eq!(v["services"]["redshift-serverless"], "running");
        assert_eq!(v["services"]["redshift-data"], "running");
        assert_eq!(v["persistence"], "memory");
    }
    let r = reqwest::Client::new()
        .delete(format!("{}/_memshift/health", p.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["__type"].is_string());

    let port = p.port.to_string();
    assert_eq!(run(&["healthcheck", "--port", &port], &[]).0, 0);
    assert_eq!(run(&["healthcheck"], &[("MEMSHIFT_PORT", &port)]).0, 0);
    let closed = free_port().to_string();
    let (code, stderr) = run(&["healthcheck", "--port", &closed], &[]);
    assert_eq!(code, 1, "{stderr}");
}

fn write_init(dir: &Path, body: &str) -> String {
    let path = dir.join("init.json");
    std::fs::write(&path, body).unwrap();
    path.to_string_lossy().into_owned()
}

const GOOD_INIT: &str = r#"[
  {"service": "memorydb", "action": "CreateUser",
   "input": {"UserName": "seeded", "AuthenticationMode": {"Type": "password", "Passwords": ["seeded-password-123"]}, "AccessString": "on ~app:* +@read"}},
  {"service": "memorydb", "action": "CreateACL", "input": {"ACLName": "seeded-acl", "UserNames": ["seeded"]}},
  {"service": "redshift", "action": "CreateCluster", "account": "111122223333", "region": "eu-west-1",
   "input": {"ClusterIdentifier": "seeded-wh", "NodeType": "dc2.large", "MasterUsername": "admin",
             "MasterUserPassword": "Sup3rSecret", "Tags": [{"Key": "env", "Value": "dev"}], "VpcSecurityGroupIds": ["sg-1"]}},
  {"service": "redshift-serverless", "action": "CreateNamespace",
   "input": {"namespaceName": "seeded-ns", "adminUsername": "admin", "adminUserPassword": "Sup3rSecret",
             "tags": [{"key": "env", "value": "dev"}]}},
  {"service": "redshift-serverless", "action": "CreateWorkgroup",
   "input": {"workgroupName": "seeded-wg", "namespaceName": "seeded-ns", "baseCapacity": 32}}
]"#;

#[tokio::test]
async fn seeding_reset_and_durable_reset() {
    let dir = temp_dir("seed");
    let init = write_init(dir.path(), GOOD_INIT);
    let data = dir.path().join("data");
    let data = data.to_string_lossy().into_owned();
    let mut p = Proc::start(&["--init", &init, "--data-dir", &data]);
    let url = p.url();
    let (_, v) = memorydb(&url, "DescribeUsers", r#"{"UserName":"seeded"}"#).await;
    assert_eq!(
        v["Users"][0]["AccessString"],
        "on ~app:* resetchannels -@all +@read"
    );
    assert_eq!(v["Users"][0]["ACLNames"][0], "seeded-acl");
    let scoped = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=111122223333/20261121/eu-west-1/redshift/aws4_request, SignedHeaders=host, Signature=0")
        .body("Action=DescribeClusters&ClusterIdentifier=seeded-wh")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        scoped.contains("<Key>env</Key><Value>dev</Value>"),
        "{scoped}"
    );
    assert!(
        scoped.contains("<VpcSecurityGroupId>sg-1</VpcSecurityGroupId>"),
        "{scoped}"
    );
    let (_, v) = serverless(&url, "GetWorkgroup", r#"{"workgroupName":"seeded-wg"}"#).await;
    assert_eq!(v["workgroup"]["namespaceName"], "seeded-ns");
    assert_eq!(v["workgroup"]["baseCapacity"], 32);

    // Changes, then a reset: built-in state plus the init file again.
    memorydb(&url, "CreateUser", &create_user_body("temporary")).await;
    memorydb(&url, "DeleteUser", r#"{"UserName":"seeded"}"#).await;
    serverless(&url, "DeleteWorkgroup", r#"{"workgroupName":"seeded-wg"}"#).await;
    let (status, v) = serverless(&url, "DeleteNamespace", r#"{"namespaceName":"seeded-ns"}"#).await;
    assert_eq!(status, 200, "{v}");
    let r = reqwest::Client::new()
        .post(format!("{url}/_memshift/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(user_names(&url).await, ["default", "seeded"]);
    // The namespace deleted before the reset is there again, from the init file.
    let (status, v) = serverless(&url, "GetNamespace", r#"{"namespaceName":"seeded-ns"}"#).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["namespace"]["status"], "AVAILABLE");

    // The reset reached the disk: a restart shows the same.
    memorydb(&url, "CreateUser", &create_user_body("after-reset")).await;
    p.kill9();
    let p = Proc::start(&["--init", &init, "--data-dir", &data]);
    assert_eq!(
        user_names(&p.url()).await,
        ["after-reset", "default", "seeded"]
    );
    assert!(
        p.log_text().contains("the init file is not applied again"),
        "{}",
        p.log_text()
    );
    let (_, v) = memorydb(&p.url(), "DescribeACLs", r#"{"ACLName":"seeded-acl"}"#).await;
    assert_eq!(v["ACLs"][0]["UserNames"][0], "seeded");
    // Without a data dir a reset also clears everything.
    let q = Proc::start(&[]);
    memorydb(&q.url(), "CreateUser", &create_user_body("gone-soon")).await;
    reqwest::Client::new()
        .post(format!("{}/_memshift/reset", q.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(user_names(&q.url()).await, ["default"]);
    // The data directory never holds a plain-text password.
    for entry in std::fs::read_dir(&data).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in [
            "seeded-password-123",
            "a-password-of-20-chars",
            "Sup3rSecret",
        ] {
            assert!(!text.contains(secret), "{secret} on disk");
        }
    }
}

#[test]
fn a_failing_init_entry_stops_start_up_and_is_named() {
    let dir = temp_dir("badseed");
    let init = write_init(
        dir.path(),
        r#"[
          {"service": "memorydb", "action": "CreateACL", "input": {"ACLName": "fine"}},
          {"service": "memorydb", "action": "CreateUser",
           "input": {"UserName": "x", "AuthenticationMode": {"Type": "password", "Passwords": ["short"]}, "AccessString": "on"}}
        ]"#,
    );
    let port = free_port().to_string();
    let (code, stderr) = run(&["--init", &init, "--port", &port], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("init entry 2 (memorydb CreateUser): InvalidParameterValueException: Passwords must be between 16 and 128 characters long."),
        "{stderr}"
    );
    assert!(
        !stderr.contains("short"),
        "the password is not repeated: {stderr}"
    );
    for (body, names) in [
        (r#"{"not": "a list"}"#, "JSON list"),
        (
            r#"[{"service": "s3", "action": "CreateBucket"}]"#,
            "init entry 1",
        ),
        (
            r#"[{"service": "memorydb", "action": "NoSuchThing"}]"#,
            "init entry 1 (memorydb NoSuchThing): UnknownOperationException",
        ),
        (
            r#"[{"service": "redshift", "action": "CreateCluster", "input": {"ClusterIdentifier": "c"}}]"#,
            "MissingParameter",
        ),
        (
            r#"[{"service": "memorydb", "action": "CreateACL", "input": {"ACLName": "a"}, "acount": "1"}]"#,
            "acount",
        ),
    ] {
        let init = write_init(dir.path(), body);
        let (code, stderr) = run(&["--init", &init, "--port", &port], &[]);
        assert_eq!(code, 2, "{body}: {stderr}");
        assert!(stderr.contains(names), "{body}: {stderr}");
    }
}

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    let mut p = Proc::start(&[]);
    let body = create_user_body("in-flight");
    let mut stream = TcpStream::connect(("127.0.0.1", p.port)).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: AmazonMemoryDB.CreateUser\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..20]
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    Command::new("kill")
        .args(["-TERM", &p.child.id().to_string()])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    stream.write_all(&body.as_bytes()[20..]).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"Name\":\"in-flight\""), "{response}");
    let (code, took) = p.terminate();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(1), "{took:?}");

    // An idle server exits at once.
    let mut q = Proc::start(&[]);
    let _idle = TcpStream::connect(("127.0.0.1", q.port)).unwrap();
    let (code, took) = q.terminate();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    let dir = temp_dir("crash");
    let data = dir.path().join("data").to_string_lossy().into_owned();
    let mut acked_users: Vec<String> = Vec::new();
    let mut acked_acls: Vec<(String, String)> = Vec::new();
    let mut acked_tags: Vec<String> = Vec::new();
    let mut acked_clusters: Vec<String> = Vec::new();
    for (round, kill_after_ms) in [40u64, 90, 15, 150, 60].into_iter().enumerate() {
        let mut p = Proc::start(&["--data-dir", &data]);
        let url = p.url();
        // Everything acknowledged before is there, whole.
        let names = user_names(&url).await;
        for u in &acked_users {
            assert!(
                names.contains(u),
                "round {round}: acknowledged user {u} lost"
            );
        }
        for (acl, user) in &acked_acls {
            let (status, v) =
                memorydb(&url, "DescribeACLs", &format!(r#"{{"ACLName":"{acl}"}}"#)).await;
            assert_eq!(status, 200, "round {round}: acknowledged ACL {acl} lost");
            let members: Vec<&str> = v["ACLs"][0]["UserNames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap())
                .collect();
            assert_eq!(members, [user.as_str()]);
        }
        for u in &acked_tags {
            let (_, v) = memorydb(
                &url,
                "ListTags",
                &format!(r#"{{"ResourceArn":"arn:aws:memorydb:us-east-1:000000000000:user/{u}"}}"#),
            )
            .await;
            assert_eq!(
                v["TagList"][0]["Key"], "round",
                "round {round}: tag on {u} lost: {v}"
            );
        }
        for c in &acked_clusters {
            let (status, xml) = redshift(
                &url,
                &format!("Action=DescribeClusters&ClusterIdentifier={c}"),
            )
            .await;
            assert_eq!(status, 200, "round {round}: cluster {c} lost: {xml}");
        }
        // Membership is two-way for every user, acknowledged or not: nothing half-made.
        let (_, acls) = memorydb(&url, "DescribeACLs", "{}").await;
        for acl in acls["ACLs"].as_array().unwrap() {
            for member in acl["UserNames"].as_array().unwrap() {
                let (status, v) = memorydb(
                    &url,
                    "DescribeUsers",
                    &format!(r#"{{"UserName":{member}}}"#),
                )
                .await;
                assert_eq!(status, 200);
                let names: Vec<&serde_json::Value> = v["Users"][0]["ACLNames"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .collect();
                assert!(
                    names.contains(&&acl["Name"]),
                    "round {round}: {member} not linked back to {}",
                    acl["Name"]
                );
            }
        }

        // Concurrent writers, then SIGKILL at a moment no writer expects.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..8 {
            let url = url.clone();
            let stop = stop.clone();
            tasks.spawn(async move {
                let mut acked = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                let client = reqwest::Client::new();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let name = format!("r{round}-w{w}-{i}");
                    let send = |op: &str, body: String| {
                        client
                            .post(&url)
                            .header("content-type", "application/x-amz-json-1.1")
                            .header("x-amz-target", format!("AmazonMemoryDB.{op}"))
                            .body(body)
                            .send()
                    };
                    let Ok(r) = send("CreateUser", create_user_body(&name)).await else { break };
                    if r.status().as_u16() != 200 {
                        break;
                    }
                    acked.0.push(name.clone());
                    match i % 3 {
                        0 => {
                            let acl = format!("{name}-acl");
                            let Ok(r) = send("CreateACL", format!(r#"{{"ACLName":"{acl}","UserNames":["{name}"]}}"#)).await else { break };
                            if r.status().as_u16() == 200 {
                                acked.1.push((acl, name.clone()));
                            }
                        }
                        1 => {
                            let body = format!(r#"{{"ResourceArn":"arn:aws:memorydb:us-east-1:000000000000:user/{name}","Tags":[{{"Key":"round","Value":"{round}"}}]}}"#);
                            let Ok(r) = send("TagResource", body).await else { break };
                            if r.status().as_u16() == 200 {
                                acked.2.push(name.clone());
                            }
                        }
                        _ => {
                            let id = format!("c-{name}");
                            let form = format!("Action=CreateCluster&ClusterIdentifier={id}&NodeType=dc2.large&MasterUsername=admin&MasterUserPassword=Sup3rSecret");
                            let Ok(r) = client.post(&url).header("content-type", "application/x-www-form-urlencoded").body(form).send().await else { break };
                            if r.status().as_u16() == 200 {
                                acked.3.push(id);
                            }
                        }
                    }
                    i += 1;
                }
                acked
            });
        }
        tokio::time::sleep(Duration::from_millis(kill_after_ms)).await;
        p.kill9();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        while let Some(r) = tasks.join_next().await {
            let (users, acls, tags, clusters) = r.unwrap();
            acked_users.extend(users);
            acked_acls.extend(acls);
            acked_tags.extend(tags);
            acked_clusters.extend(clusters);
        }
    }
    assert!(
        acked_users.len() > 50,
        "only {} writes were acknowledged",
        acked_users.len()
    );
    // A last restart checks the last round.
    let p = Proc::start(&["--data-dir", &data]);
    let names = user_names(&p.url()).await;
    let lost: Vec<&String> = acked_users.iter().filter(|u| !names.contains(u)).collect();
    assert!(lost.is_empty(), "lost acknowledged users: {lost:?}");
    assert_eq!(
        names.len(),
        names
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
}

#[tokio::test]
async fn a_torn_or_corrupt_log_tail_is_cut_and_reported() {
    for damage in ["truncate", "corrupt"] {
        let dir = temp_dir(damage);
        let data = dir.path().join("data");
        let data_arg = data.to_string_lossy().into_owned();
        let mut p = Proc::start(&["--data-dir", &data_arg]);
        for i in 0..5 {
            let (status, _) =
                memorydb(&p.url(), "CreateUser", &create_user_body(&format!("u{i}"))).await;
            assert_eq!(status, 200);
        }
        let (code, _) = p.terminate();
        assert_eq!(code, Some(0));
        let log = std::fs::read_dir(&data)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "log"))
            .unwrap();
        let mut bytes = std::fs::read(&log).unwrap();
        if damage == "truncate" {
            bytes.truncate(bytes.len() - 7);
        } else {
            let at = bytes.len() - 40;
            bytes[at] ^= 0x5a;
        }
        std::fs::write(&log, &bytes).unwrap();

        let p = Proc::start(&["--data-dir", &data_arg]);
        assert_eq!(
            user_names(&p.url()).await,
            ["default", "u0", "u1", "u2", "u3"],
            "{damage}"
        );
        let text = p.log_text();
        assert!(
            text.contains("damaged log tail cut off"),
            "{damage}: {text}"
        );
        let kept: Vec<PathBuf> = std::fs::read_dir(&data)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(".damaged-"))
            .collect();
        assert_eq!(kept.len(), 1, "{damage}");
        assert!(std::fs::metadata(&kept[0]).unwrap().len() > 0);
        // The server goes on normally.
        let (status, _) = memorydb(&p.url(), "CreateUser", &create_user_body("u4")).await;
        assert_eq!(status, 200);
    }
}

/// Distinctive passwords sent every way a client can send them: none reaches the logs at
/// trace level, the data directory, or any answer.
#[tokio::test]
async fn passwords_never_reach_logs_answers_or_the_data_directory() {
    let dir = temp_dir("secrets");
    let data = dir.path().join("data").to_string_lossy().into_owned();
    let p = Proc::start_env(&["--data-dir", &data], &[("MEMSHIFT_LOG_LEVEL", "trace")]);
    let url = p.url();
    let secrets = [
        "Zebra-Quokka-Secret-0001",
        "Zebra-Quokka-Secret-0002",
        "Zq9Secret",
    ];
    let mut answers = Vec::new();
    for body in [
        format!(
            r#"{{"UserName":"s1","AuthenticationMode":{{"Type":"password","Passwords":["{}","{}"]}},"AccessString":"on ~*"}}"#,
            secrets[0], secrets[1]
        ),
        format!(
            r#"{{"UserName":"s2","AuthenticationMode":{{"Type":"password","Passwords":"{}"}},"AccessString":"on ~*"}}"#,
            secrets[0]
        ),
        format!(
            r#"{{"UserName":"s3","AuthenticationMode":{{"Type":"iam","Passwords":["{}"]}},"AccessString":"on ~*"}}"#,
            secrets[1]
        ),
        format!(
            r#"{{"UserName":"s4","AuthenticationMode":{{"Type":"password","Passwords":["{}"]}},"AccessString":"on >{} ~*"}}"#,
            secrets[0], secrets[1]
        ),
    ] {
        answers.push(memorydb(&url, "CreateUser", &body).await.1.to_string());
        answers.push(memorydb(&url, "UpdateUser", &body).await.1.to_string());
    }
    answers.push(memorydb(&url, "DescribeUsers", "{}").await.1.to_string());
    for form in [
        format!(
            "Action=CreateCluster&ClusterIdentifier=c1&NodeType=dc2.large&MasterUsername=admin&MasterUserPassword={}",
            secrets[2]
        ),
        format!(
            "Action=CreateCluster&ClusterIdentifier=c2&NodeType=dc2.large&MasterUsername=admin&MasterUserPassword={}x%40",
            secrets[2]
        ),
        "Action=DescribeClusters".to_owned(),
        "Action=GetClusterCredentials&ClusterIdentifier=c1&DbUser=alice".to_owned(),
    ] {
        answers.push(redshift(&url, &form).await.1);
    }
    let credential = answers
        .last()
        .and_then(|a| a.split("<DbPassword>").nth(1))
        .and_then(|a| a.split("</DbPassword>").next())
        .unwrap()
        .to_owned();
    assert_eq!(credential.len(), 76);
    let (status, _) = memorydb(&url, "DescribeUsers", r#"{"UserName":"s1"}"#).await;
    assert_eq!(status, 200);
    let mut p = p;
    let (code, _) = p.terminate();
    assert_eq!(code, Some(0));

    let log = p.log_text();
    assert!(
        log.contains("CreateUser"),
        "the trace log was written: {log}"
    );
    let mut stored = String::new();
    for entry in std::fs::read_dir(&data).unwrap() {
        stored.push_str(&String::from_utf8_lossy(
            &std::fs::read(entry.unwrap().path()).unwrap(),
        ));
    }
    assert!(stored.contains("s1"), "the data directory holds the users");
    for secret in secrets {
        assert!(!log.contains(secret), "{secret} in the log");
        assert!(!stored.contains(secret), "{secret} in the data directory");
        for a in &answers {
            assert!(!a.contains(secret), "{secret} in an answer: {a}");
        }
    }
    // The temporary password goes to the caller who asked for it, and nowhere else.
    assert!(
        !log.contains(&credential),
        "a temporary password in the log"
    );
    assert!(
        !stored.contains(&credential),
        "a temporary password in the data directory"
    );
}

#[tokio::test]
async fn without_a_redis_server_clusters_are_control_plane_only() {
    // A PATH with no redis-server or valkey-server on it.
    let empty = temp_dir("no-redis");
    let p = Proc::start_raw(
        &["--postgres-bin-dir", "off"],
        &[("PATH", empty.path().to_str().unwrap())],
    );
    let health: serde_json::Value = reqwest::get(format!("{}/_memshift/health", p.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        health["engines"]["redis"],
        "control-plane only: no redis-server found"
    );
    let (status, out) = memorydb(
        &p.url(),
        "CreateCluster",
        r#"{"ClusterName":"paper","NodeType":"db.t4g.small","ACLName":"open-access"}"#,
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let endpoint = &out["Cluster"]["ClusterEndpoint"];
    assert_eq!(
        endpoint["Address"],
        "clustercfg.paper.memshift.memorydb.us-east-1.amazonaws.com"
    );
    assert_eq!(endpoint["Port"], 6379);
    assert!(
        p.log_text()
            .contains("MemoryDB clusters are control-plane only"),
        "{}",
        p.log_text()
    );
}

async fn ca_pem(url: &str) -> String {
    let r = reqwest::get(format!("{url}/_memshift/ca.pem"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-pem-file");
    r.text().await.unwrap()
}

#[tokio::test]
async fn the_ca_is_served_kept_in_the_data_directory_and_can_be_given() {
    // Without a data directory: a CA of this run only.
    let a = ca_pem(&Proc::start(&[]).url()).await;
    let b = ca_pem(&Proc::start(&[]).url()).await;
    assert!(a.starts_with("-----BEGIN CERTIFICATE-----"), "{a}");
    assert_ne!(a, b, "two runs without a data directory share no CA");

    // With one: made at its first use (not before), the same after a restart, its key
    // private.
    let dir = temp_dir("ca");
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let mut first = Proc::start(&["--data-dir", data]);
    assert!(!dir.path().join("data/ca.key").exists());
    let kept = ca_pem(&first.url()).await;
    first.terminate();
    let again = ca_pem(&Proc::start(&["--data-dir", data]).url()).await;
    assert_eq!(kept, again);
    let key = dir.path().join("data/ca.key");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    // Given by flags or variables: served as it is, whatever the data directory holds.
    let cert = dir.path().join("data/ca.pem");
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let given = ca_pem(&Proc::start(&["--tls-ca-cert", cert, "--tls-ca-key", key]).url()).await;
    assert_eq!(given, kept);
    let env = [("MEMSHIFT_TLS_CA_CERT", cert), ("MEMSHIFT_TLS_CA_KEY", key)];
    assert_eq!(ca_pem(&Proc::start_env(&[], &env).url()).await, kept);

    // One without the other, or a key of another CA, stops start-up with a message.
    let (code, stderr) = run(&["--tls-ca-cert", cert, "--port", "0"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--tls-ca-key"), "{stderr}");
    let other = temp_dir("ca-other");
    ca_pem(&Proc::start(&["--data-dir", other.path().to_str().unwrap()]).url()).await;
    let other_key = other.path().join("ca.key");
    let (code, stderr) = run(
        &[
            "--redis-server",
            "off",
            "--postgres-bin-dir",
            "off",
            "--port",
            "0",
            "--tls-ca-cert",
            cert,
            "--tls-ca-key",
            other_key.to_str().unwrap(),
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("does not belong"), "{stderr}");
}

/// The engine processes a memshift started: those working in its temporary directories.
fn engines_of(pid: u32) -> Vec<u32> {
    let tmp = std::env::temp_dir();
    let marks = [
        tmp.join(format!("memshift-redis-{pid}-"))
            .display()
            .to_string(),
        tmp.join(format!("memshift-pg-{pid}-"))
            .display()
            .to_string(),
    ];
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let process: u32 = e.file_name().to_str()?.parse().ok()?;
            let cwd = std::fs::read_link(e.path().join("cwd")).ok()?;
            let cwd = cwd.display().to_string();
            marks
                .iter()
                .any(|m| cwd.starts_with(m.as_str()))
                .then_some(process)
        })
        .collect()
}

/// The temporary directories a memshift left, by the pid in their names.
fn directories_of(pid: u32) -> Vec<PathBuf> {
    let prefixes = [
        format!("memshift-redis-{pid}-"),
        format!("memshift-pg-{pid}-"),
        format!("mspg-{pid}-"),
    ];
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

/// memshift killed with SIGKILL: its Redis and PostgreSQL servers end within a second,
/// and the next memshift to start removes the directories the dead one left.
#[tokio::test(flavor = "multi_thread")]
async fn engines_end_within_a_second_of_memshifts_death() {
    let postgres = memshift::engines::postgres::Postgres::new(None, None)
        .bin_dir()
        .is_some();
    let redis = which("redis-server").is_some() || which("valkey-server").is_some();
    if !(postgres && redis) {
        assert!(
            std::env::var_os("TEST_REQUIRE_POSTGRES").is_none()
                && std::env::var_os("TEST_REQUIRE_REDIS").is_none(),
            "the engines are required but not installed"
        );
        eprintln!("skipped: needs redis-server and PostgreSQL");
        return;
    }
    let shared_memory = || -> Vec<std::ffi::OsString> {
        std::fs::read_dir("/dev/shm")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| n.to_string_lossy().starts_with("PostgreSQL."))
            .collect()
    };
    let shared_before = shared_memory();
    let mut p = Proc::start_raw(&[], &[]);
    let url = p.url();
    let (status, v) = memorydb(
        &url,
        "CreateCluster",
        r#"{"ClusterName":"orders","NodeType":"db.t4g.small","ACLName":"open-access","NumShards":1,"NumReplicasPerShard":0}"#,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (status, body) = redshift(
        &url,
        "Action=CreateCluster&Version=2012-12-01&ClusterIdentifier=wh&NodeType=dc2.large&MasterUsername=admin&MasterUserPassword=Sup3rSecret",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let pid = p.child.id();
    let engines = engines_of(pid);
    assert!(engines.len() >= 2, "redis and postgres run: {engines:?}");
    assert!(!directories_of(pid).is_empty());

    p.kill9();
    let died = Instant::now();
    while !engines_of(pid).is_empty() && died.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left = engines_of(pid);
    assert!(
        left.is_empty(),
        "still running {:?} after {:?}",
        left,
        died.elapsed()
    );

    // Nor does a PostgreSQL server killed with it leave shared memory segments.
    let shared_left: Vec<_> = shared_memory()
        .into_iter()
        .filter(|n| !shared_before.contains(n))
        .collect();
    assert!(shared_left.is_empty(), "left in /dev/shm: {shared_left:?}");

    // The next memshift clears the dead one's directories before it serves.
    let next = Proc::start(&[]);
    assert!(directories_of(pid).is_empty(), "{:?}", directories_of(pid));
    assert!(
        next.log_text()
            .contains("removed what an earlier memshift left behind"),
        "{}",
        next.log_text()
    );
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}
