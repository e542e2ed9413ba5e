//! The `memshift` command: settings from flags and `MEMSHIFT_*` variables, then the server
//! (or, with `healthcheck`, a probe of a running one).

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use memshift::Config;
use memshift::config::{IamIdentity, NetLimits, ServiceSettings, parse_duration};
use memshift::tls::CaFiles;

/// The server's allocator: requests allocate and free many small, short-lived buffers,
/// which mimalloc's per-thread free lists serve faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Every environment variable memshift reads; any other `MEMSHIFT_*` is a mistake.
const KNOWN_ENV: &[&str] = &[
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
    "MEMSHIFT_MEMORYDB_USER_QUOTA",
    "MEMSHIFT_MAX_CONNECTIONS",
    "MEMSHIFT_MAX_HEADER_BYTES",
    "MEMSHIFT_HEADER_READ_TIMEOUT",
    "MEMSHIFT_BODY_READ_TIMEOUT",
    "MEMSHIFT_CREDENTIALS_FILE",
    "MEMSHIFT_VERIFY_SIGV4",
    "MEMSHIFT_REDIS_SERVER",
    "MEMSHIFT_CLOCK_OFFSET",
    "MEMSHIFT_POSTGRES_BIN_DIR",
    "MEMSHIFT_TLS_CA_CERT",
    "MEMSHIFT_TLS_CA_KEY",
    "MEMSHIFT_ENDPOINT_HOST",
    "MEMSHIFT_ENDPOINT_PORTS",
    "MEMSHIFT_SERVERS_AHEAD",
];

#[derive(Debug, Parser)]
#[command(
    name = "memshift",
    version,
    about = "Local emulator of Amazon MemoryDB users/ACLs and Amazon Redshift temporary credentials"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on.
    #[arg(
        long,
        env = "MEMSHIFT_HOST",
        default_value = "127.0.0.1",
        global = true
    )]
    host: String,
    /// Port to listen on (0 picks a free port).
    #[arg(long, env = "MEMSHIFT_PORT", default_value_t = 4566, global = true)]
    port: u16,
    /// Region of requests that carry no credential scope.
    #[arg(long, env = "MEMSHIFT_DEFAULT_REGION", default_value = "us-east-1", value_parser = parse_region)]
    default_region: String,
    /// Account of requests whose access key id is not a 12-digit account id.
    #[arg(long, env = "MEMSHIFT_DEFAULT_ACCOUNT", default_value = "000000000000", value_parser = parse_account)]
    default_account: String,
    /// Keep state in this directory across restarts (in memory only when absent).
    #[arg(long, env = "MEMSHIFT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// JSON list of API calls to apply when the state is new (and after a reset).
    #[arg(long = "init", env = "MEMSHIFT_INIT")]
    init: Option<PathBuf>,
    /// Log level or filter (error, warn, info, debug, trace, or a tracing filter such as
    /// `memshift=debug`); `RUST_LOG` is used when this is not given.
    #[arg(long, env = "MEMSHIFT_LOG_LEVEL", value_parser = parse_log_level)]
    log_level: Option<String>,
    /// Log line format.
    #[arg(long, env = "MEMSHIFT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// How long a Redshift cluster stays `creating` (and `deleting`): `0`, `500ms`, `2s`.
    #[arg(long, env = "MEMSHIFT_CLUSTER_CREATION_DELAY", default_value = "0", value_parser = parse_duration)]
    cluster_creation_delay: Duration,
    /// Map an access key id to the IAM identity GetClusterCredentialsWithIAM reports:
    /// `AKID=user:NAME` or `AKID=role:NAME` (repeatable; comma-separated in the variable).
    #[arg(long = "iam-identity", env = "MEMSHIFT_IAM_IDENTITIES", value_delimiter = ',', value_parser = parse_identity)]
    iam_identities: Vec<(String, IamIdentity)>,
    /// MemoryDB users a region may hold (AWS's default quota is 2000).
    #[arg(long, env = "MEMSHIFT_MEMORYDB_USER_QUOTA", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    memorydb_user_quota: u32,
    /// Connections served at once; one more is answered 503 ServiceUnavailable.
    #[arg(long, env = "MEMSHIFT_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: u32,
    /// Largest request header section accepted, in bytes.
    #[arg(long, env = "MEMSHIFT_MAX_HEADER_BYTES", default_value_t = 16384, value_parser = clap::value_parser!(u32).range(1024..=262_144))]
    max_header_bytes: u32,
    /// How long a client may take to send a request's headers; an idle keep-alive
    /// connection is closed after the same time.
    #[arg(long, env = "MEMSHIFT_HEADER_READ_TIMEOUT", default_value = "60s", value_parser = parse_positive_duration)]
    header_read_timeout: Duration,
    /// How long a client may take to send a request's body.
    #[arg(long, env = "MEMSHIFT_BODY_READ_TIMEOUT", default_value = "60s", value_parser = parse_positive_duration)]
    body_read_timeout: Duration,
    /// The Redis server binary MemoryDB clusters run (default: `redis-server` or
    /// `valkey-server` on PATH; without one, clusters are control-plane only).
    #[arg(long, env = "MEMSHIFT_REDIS_SERVER")]
    redis_server: Option<PathBuf>,
    /// The directory of PostgreSQL's server binaries Redshift clusters run (default:
    /// Debian's /usr/lib/postgresql/<newest>/bin, or `initdb` and `postgres` on PATH;
    /// `off`: clusters are control-plane only).
    #[arg(long, env = "MEMSHIFT_POSTGRES_BIN_DIR")]
    postgres_bin_dir: Option<PathBuf>,
    /// The CA certificate (PEM) that signs the TLS endpoints' certificates, with
    /// --tls-ca-key (default: a CA made when first needed, kept in the data directory).
    #[arg(long, env = "MEMSHIFT_TLS_CA_CERT", requires = "tls_ca_key")]
    tls_ca_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-ca-cert.
    #[arg(long, env = "MEMSHIFT_TLS_CA_KEY", requires = "tls_ca_cert")]
    tls_ca_key: Option<PathBuf>,
    /// The host every cluster endpoint is reported at (DescribeClusters, the Redis cluster
    /// topology) and its certificates name: what clients elsewhere reach this machine by,
    /// such as a docker-compose service name (default: the --host address when it is a
    /// specific one, else 127.0.0.1).
    #[arg(long, env = "MEMSHIFT_ENDPOINT_HOST", value_parser = parse_endpoint_host)]
    endpoint_host: Option<String>,
    /// The ports cluster and node endpoints take, as `FIRST-LAST` (default: any free port).
    /// When every one is taken, creating a cluster answers the service's capacity fault.
    #[arg(long, env = "MEMSHIFT_ENDPOINT_PORTS", value_parser = parse_port_range)]
    endpoint_ports: Option<RangeInclusive<u16>>,
    /// Start servers ahead of the clusters that will need them, once clusters of their
    /// engine are in use (spare Redis servers, a MemoryDB cluster of the last shape made,
    /// a PostgreSQL server), so that a new cluster is ready in tens of milliseconds;
    /// `false` starts each cluster's servers when it is created, and runs nothing no
    /// cluster uses.
    #[arg(long, env = "MEMSHIFT_SERVERS_AHEAD", default_value_t = true, num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    servers_ahead: bool,
    /// Start memshift's clock this far ahead of the system's (`90s`, `15m`): credentials
    /// and tokens expire as if that much time had passed. `POST /_memshift/clock` moves it
    /// further while running.
    #[arg(long, env = "MEMSHIFT_CLOCK_OFFSET", value_parser = parse_duration)]
    clock_offset: Option<Duration>,
    /// JSON list of access keys: `{"access_key_id", "secret_access_key", "account"?,
    /// "user"? | "role"?}`. Gives each key its account and IAM identity.
    #[arg(long, env = "MEMSHIFT_CREDENTIALS_FILE")]
    credentials_file: Option<PathBuf>,
    /// Refuse AWS requests not signed (SigV4) by a key of the credentials file.
    #[arg(long, env = "MEMSHIFT_VERIFY_SIGV4", default_value_t = false, num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    verify_sigv4: bool,
}

fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        Duration::ZERO => Err(format!("{s:?} must be longer than zero")),
        d => Ok(d),
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Exit 0 when a memshift server at --host/--port answers its health check (for
    /// Docker's HEALTHCHECK in images without curl).
    Healthcheck,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn parse_region(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} is not a region name such as us-east-1"))
    }
}

fn parse_account(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} is not a 12-digit account id"))
    }
}

/// A host name or an IPv4 address. Redis cluster topologies name hosts by either, not by
/// IPv6 address.
fn parse_endpoint_host(s: &str) -> Result<String, String> {
    if s.parse::<std::net::Ipv6Addr>().is_ok() {
        return Err(format!(
            "{s:?} is an IPv6 address, which a Redis cluster topology cannot name: give a \
             host name (such as localhost) or an IPv4 address"
        ));
    }
    // Letters, digits, hyphens and dots: what Redis takes as a cluster node's hostname.
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if s.len() <= 253 && s.split('.').all(label_ok) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not a host name (letters, digits, hyphens and dots) or an IPv4 address"
        ))
    }
}

/// `FIRST-LAST` (or one port).
fn parse_port_range(s: &str) -> Result<RangeInclusive<u16>, String> {
    let port = |p: &str| {
        p.trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("{p:?} is not a port (1-65535)"))
    };
    let (first, last) = match s.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(s)?, port(s)?),
    };
    if first > last {
        return Err(format!("{s:?} is not a range: {first} is above {last}"));
    }
    Ok(first..=last)
}

/// Where endpoints listen (the --host address) and the host they are reported at.
fn endpoint_settings(host: &str, given: Option<String>) -> Result<(IpAddr, String), String> {
    let address = (host, 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .map(|a| a.ip())
        .ok_or_else(|| format!("--host {host} is not an address memshift can listen on"))?;
    if let Some(name) = given {
        return Ok((address, name));
    }
    let reported = match address {
        a if a.is_unspecified() => "127.0.0.1".to_owned(),
        IpAddr::V6(a) if a.is_loopback() => "localhost".to_owned(),
        IpAddr::V6(_) if host.parse::<IpAddr>().is_ok() => {
            return Err(format!(
                "--host {host} is an IPv6 address, which cannot be the endpoint host: give \
                 --endpoint-host a host name"
            ));
        }
        _ => host.to_owned(),
    };
    Ok((address, reported))
}

/// Levels and `target=level` directives, comma-separated; a target is a module path
/// (`memshift`, `memshift::engines`).
fn parse_log_level(s: &str) -> Result<String, String> {
    let target = |t: &str| {
        !t.is_empty()
            && t.split("::").all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
    };
    let directive = |d: &str| match d.split_once('=') {
        Some((t, level)) => target(t) && level.parse::<LevelFilter>().is_ok(),
        None => d.parse::<LevelFilter>().is_ok() || target(d),
    };
    // Pieces are taken as they are written: no spaces, none empty.
    if !s.split(',').all(|d| !d.is_empty() && directive(d)) {
        return Err(format!(
            "{s:?} is not a log level or filter (levels error, warn, info, debug, trace, or \
             target=level directives separated by commas)"
        ));
    }
    s.parse::<Targets>()
        .map(|_| s.to_owned())
        .map_err(|e| format!("{s:?} is not a log level or filter: {e}"))
}

fn parse_identity(s: &str) -> Result<(String, IamIdentity), String> {
    let (key, identity) = s
        .split_once('=')
        .ok_or_else(|| format!("expected AKID=user:NAME or AKID=role:NAME, got {s:?}"))?;
    if key.is_empty() {
        return Err(format!(
            "expected AKID=user:NAME or AKID=role:NAME, got {s:?}"
        ));
    }
    Ok((key.to_owned(), identity.parse()?))
}

fn main() -> ExitCode {
    let unknown: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("MEMSHIFT_") && !KNOWN_ENV.contains(&k.as_str()))
        .collect();
    if let Some(name) = unknown.first() {
        eprintln!(
            "memshift: unknown setting {name} in the environment (known: {})",
            KNOWN_ENV.join(", ")
        );
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    if let Some(Command::Healthcheck) = cli.command {
        return healthcheck(&cli.host, cli.port);
    }
    init_logging(&cli);
    let (endpoint_address, endpoint_host) =
        match endpoint_settings(&cli.host, cli.endpoint_host.clone()) {
            Ok(settings) => settings,
            Err(e) => {
                eprintln!("memshift: {e}");
                return ExitCode::from(2);
            }
        };
    let config = Config {
        host: cli.host,
        port: cli.port,
        default_account: cli.default_account,
        default_region: cli.default_region,
        data_dir: cli.data_dir,
        init_file: cli.init,
        services: ServiceSettings {
            memorydb_user_quota: cli.memorydb_user_quota as usize,
            cluster_creation_delay: cli.cluster_creation_delay,
            iam_identities: cli.iam_identities.into_iter().collect(),
            redis_server: cli.redis_server,
            postgres_bin_dir: cli.postgres_bin_dir,
            tls_ca: cli
                .tls_ca_cert
                .zip(cli.tls_ca_key)
                .map(|(cert, key)| CaFiles { cert, key }),
            endpoint_host,
            endpoint_address,
            endpoint_ports: cli.endpoint_ports,
            servers_ahead: cli.servers_ahead,
        },
        credentials_file: cli.credentials_file,
        clock_offset: cli
            .clock_offset
            .map(|d| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)),
        verify_sigv4: cli.verify_sigv4,
        limits: NetLimits {
            max_connections: cli.max_connections as usize,
            max_header_bytes: cli.max_header_bytes as usize,
            header_read_timeout: cli.header_read_timeout,
            body_read_timeout: cli.body_read_timeout,
        },
        ..Config::default()
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("memshift: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(memshift::server::run(config))
}

fn init_logging(cli: &Cli) {
    // Levels, or targets with levels (`memshift=debug,warn`): what a log filter is asked
    // for here, without the regular expressions of span and field filters.
    let filter: Targets = cli
        .log_level
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    // The formatter lets every level through: the filter alone decides.
    let builder = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_target(false)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .finish()
            .with(filter)
            .init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .finish()
            .with(filter)
            .init(),
    }
}

/// GET /_memshift/health on the configured address; 0 when it answers 200.
fn healthcheck(host: &str, port: u16) -> ExitCode {
    let host = if host == "0.0.0.0" || host == "::" {
        "127.0.0.1"
    } else {
        host
    };
    let probe = || -> std::io::Result<bool> {
        let addr = (host, port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::other("no address"))?;
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        write!(
            stream,
            "GET /_memshift/health HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        )?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.1 200"))
    };
    match probe() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("memshift healthcheck: {host}:{port} answered but is not healthy");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("memshift healthcheck: {host}:{port}: {e}");
            ExitCode::FAILURE
        }
    }
}
