//! The endpoint of a Redshift cluster: a thin PostgreSQL wire-protocol front.
//!
//! It answers the start of each connection itself, then hands the connection to the
//! cluster's PostgreSQL server and relays bytes both ways:
//!
//! 1. `SSLRequest` is answered `S` and a TLS handshake follows, with a certificate of
//!    memshift's CA for every name of the cluster (see [`super::certificate`]); the rest of
//!    the session runs over TLS. A client that asks for no SSL goes on in clear text, as on
//!    Redshift, whose default parameter group has `require_ssl` false. `GSSENCRequest` is
//!    declined (`N`).
//!
//!    ```text
//!    client: 00 00 00 08 | 04 d2 16 2f      (SSLRequest)
//!    front:  'S', then the TLS handshake; the startup packet comes inside TLS
//!    ```
//! 2. The startup parameters are filtered: those PostgreSQL knows are kept, and those it
//!    would refuse, such as `client_protocol_version` sent by Amazon's
//!    `redshift_connector`, are dropped.
//! 3. The password is asked for in clear text (inside TLS when the client chose it) and
//!    checked against memshift's records: the master user's password, or a temporary
//!    credential from GetClusterCredentials (its user, its password's SHA-256 compared in
//!    constant time, its expiry on memshift's clock, and its `DbName`).
//! 4. For a temporary credential, the login role named as the returned `DbUser`
//!    (`IAM:alice`) is created or updated with that password and `VALID UNTIL` its
//!    expiry, made a member of the database user (`alice`, created when `AutoCreate` was
//!    given) and of each of `DbGroups`, which must exist.
//! 5. The server's session starts as that role over its private socket, and its answers
//!    (authentication, parameters, ready-for-query) go to the client as they come; for
//!    Amazon's drivers, `server_version` reads `8.0.2`, as Redshift reports it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};

use super::certificate::EndpointTls;

use super::pgadmin::{admin_session, execute, first_column};
use super::pgwire::{
    CANCEL_REQUEST, GSSENC_REQUEST, MAX_UNAUTHENTICATED, PROTOCOL_3, SSL_REQUEST, error_response,
    ident, literal, message, read_message, read_startup, send, startup, startup_params,
};
use crate::state::Scope;

/// Startup parameters passed on to PostgreSQL; every other one is dropped.
const KEPT_PARAMETERS: &[&str] = &[
    "application_name",
    "client_encoding",
    "datestyle",
    "timezone",
    "extra_float_digits",
    "intervalstyle",
    "search_path",
    "options",
];

/// The role a temporary credential logs in as, and what it must be a member of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemporaryLogin {
    /// The login role, as GetClusterCredentials returned it (`IAM:alice`).
    pub db_user: String,
    pub db_groups: Vec<String>,
    /// Whether the database user (`alice`) is created when it does not exist.
    pub auto_create: bool,
    /// When the login stops working, on the server's (the system's) clock.
    pub valid_until: DateTime<Utc>,
}

/// A login the cluster's records allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Master,
    Temporary(TemporaryLogin),
}

/// Why a login was refused: SQLSTATE and message.
pub type Refusal = (&'static str, String);

/// Whether a password login is allowed: the narrow view of the service's records that a
/// front needs.
pub trait Logins: Send + Sync {
    /// # Errors
    /// The refusal to send the client.
    fn check(
        &self,
        scope: &Scope,
        cluster: &str,
        user: &str,
        database: &str,
        password: &str,
    ) -> Result<Grant, Refusal>;
}

/// What one cluster's front needs.
pub struct Front {
    pub scope: Scope,
    pub cluster: String,
    /// The server's Unix socket.
    pub socket: PathBuf,
    pub logins: Arc<dyn Logins>,
    /// The endpoint's TLS settings; without them, `SSLRequest` is declined.
    pub tls: Option<Arc<EndpointTls>>,
    /// Held while a login role is prepared: two first logins of one user must not both
    /// create it.
    pub preparing: tokio::sync::Mutex<()>,
    /// Temporary credentials whose login role is ready (by the login's name: its
    /// password's SHA-256 and its groups): logging in again with one needs no preparing.
    pub prepared: std::sync::Mutex<std::collections::HashMap<String, Prepared>>,
}

impl Front {
    /// The front of a cluster whose server listens on `socket`.
    #[must_use]
    pub fn new(
        scope: Scope,
        cluster: String,
        socket: PathBuf,
        logins: Arc<dyn Logins>,
        tls: Option<Arc<EndpointTls>>,
    ) -> Self {
        Front {
            scope,
            cluster,
            socket,
            logins,
            tls,
            preparing: tokio::sync::Mutex::new(()),
            prepared: std::sync::Mutex::default(),
        }
    }
}

/// What a login role was made ready for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    password: [u8; 32],
    groups: Vec<String>,
    valid_until: DateTime<Utc>,
}

/// The ALPN protocol name PostgreSQL servers agree to.
pub const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// Accepts clients until the task is aborted.
pub async fn serve(listener: TcpListener, front: std::sync::Arc<Front>) {
    let cluster = front.cluster.clone();
    super::accept(listener, cluster, move |client| {
        let front = std::sync::Arc::clone(&front);
        async move { connection(client, &front).await }
    })
    .await;
}

/// The start of a connection, in clear text: `SSLRequest` turns it to TLS, and the
/// session goes on over whichever stream results.
async fn connection(mut client: TcpStream, front: &Front) -> std::io::Result<()> {
    loop {
        let body = read_startup(&mut client).await?;
        match code(&body) {
            SSL_REQUEST => match &front.tls {
                Some(tls) => {
                    send(&mut client, b"S").await?;
                    // Nothing the client sent after its request has been read: the
                    // handshake is the next thing on the socket.
                    let encrypted = tls.acceptor().accept(client).await?;
                    return session(encrypted, None, front).await;
                }
                None => send(&mut client, b"N").await?,
            },
            GSSENC_REQUEST => send(&mut client, b"N").await?,
            _ => return session(client, Some(body), front).await,
        }
    }
}

/// The version code of a startup-phase packet.
fn code(body: &[u8]) -> i32 {
    i32::from_be_bytes([body[0], body[1], body[2], body[3]])
}

/// A session from its startup packet on (`first`, when already read), over clear text or
/// TLS.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    mut client: S,
    first: Option<Vec<u8>>,
    front: &Front,
) -> std::io::Result<()> {
    let body = match first {
        Some(body) => body,
        None => read_startup(&mut client).await?,
    };
    let params = match code(&body) {
        CANCEL_REQUEST => {
            // Cancel keys are the server's: pass the request on as it came.
            let mut backend = UnixStream::connect(&front.socket).await?;
            let mut packet = i32::try_from(body.len() + 4)
                .unwrap_or(0)
                .to_be_bytes()
                .to_vec();
            packet.extend_from_slice(&body);
            backend.write_all(&packet).await?;
            return Ok(());
        }
        PROTOCOL_3 => startup_params(&body),
        _ => {
            let refusal = error_response("FATAL", "0A000", "unsupported frontend protocol");
            return send(&mut client, &refusal).await;
        }
    };
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let Some(user) = get("user").filter(|u| !u.is_empty()) else {
        let refusal = error_response(
            "FATAL",
            "28000",
            "no PostgreSQL user name specified in startup packet",
        );
        return send(&mut client, &refusal).await;
    };
    let database = get("database")
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| user.clone());
    // Ask for the password in clear text (code 3).
    send(&mut client, &message(b'R', &3i32.to_be_bytes())).await?;
    let (kind, body) = read_message(&mut client, MAX_UNAUTHENTICATED).await?;
    if kind != b'p' {
        return Ok(());
    }
    let password = String::from_utf8_lossy(body.strip_suffix(&[0]).unwrap_or(&body)).into_owned();
    let refuse = |(code, text): Refusal| {
        tracing::info!(cluster = %front.cluster, user = %user, database = %database, reason = %text, "database login refused");
        error_response("FATAL", code, &text)
    };
    let mut known = match authorize(front, &user, &database, &password, true).await {
        Ok(known) => known,
        Err(refusal) => return send(&mut client, &refuse(refusal)).await,
    };
    let mut kept = vec![
        ("user".to_owned(), user.clone()),
        ("database".to_owned(), database.clone()),
    ];
    kept.extend(
        params
            .iter()
            .filter(|(k, _)| KEPT_PARAMETERS.contains(&k.to_ascii_lowercase().as_str()))
            .cloned(),
    );
    // Amazon's drivers announce themselves with `client_protocol_version`; they read
    // the server's version as Redshift's, which a PostgreSQL version string is not.
    let redshift_driver = get("client_protocol_version").is_some();
    let mut backend = UnixStream::connect(&front.socket).await?;
    backend.write_all(&startup(&kept)).await?;
    // Relay the server's greeting, whole once it is ready for queries (a server that
    // refuses the role answers after it said the authentication was fine), then
    // everything.
    let mut greeting = Vec::new();
    loop {
        let (kind, body) = read_message(&mut backend, 1 << 20).await?;
        if kind == b'E' && known {
            // A login role made ready earlier has changed under the front (dropped,
            // altered): it is made ready again, and the session starts again.
            front
                .prepared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&user);
            if let Err(refusal) = authorize(front, &user, &database, &password, false).await {
                return send(&mut client, &refuse(refusal)).await;
            }
            known = false;
            greeting.clear();
            backend = UnixStream::connect(&front.socket).await?;
            backend.write_all(&startup(&kept)).await?;
            continue;
        }
        let out = if kind == b'S' && redshift_driver && body.starts_with(b"server_version\0") {
            message(b'S', b"server_version\08.0.2\0")
        } else {
            message(kind, &body)
        };
        greeting.extend(out);
        if kind == b'Z' || kind == b'E' {
            client.write_all(&greeting).await?;
            break;
        }
    }
    // Over TLS, written records may wait in the session until a flush.
    client.flush().await?;
    tokio::io::copy_bidirectional(&mut client, &mut backend).await?;
    Ok(())
}

/// Checks the password against the cluster's records and readies the login role; a
/// login role made ready earlier for the same credential is used as it is when `reuse`
/// allows. Answers whether it was.
async fn authorize(
    front: &Front,
    user: &str,
    database: &str,
    password: &str,
    reuse: bool,
) -> Result<bool, Refusal> {
    match front
        .logins
        .check(&front.scope, &front.cluster, user, database, password)?
    {
        Grant::Master => Ok(false),
        Grant::Temporary(login) => {
            use sha2::Digest as _;
            let ready = Prepared {
                password: sha2::Sha256::digest(password.as_bytes()).into(),
                groups: login.db_groups.clone(),
                valid_until: login.valid_until,
            };
            let known = |front: &Front| {
                front
                    .prepared
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(&login.db_user)
                    == Some(&ready)
            };
            if reuse && known(front) {
                return Ok(true);
            }
            let _one_at_a_time = front.preparing.lock().await;
            if reuse && known(front) {
                return Ok(true);
            }
            login_role(&front.socket, &login, password).await?;
            front
                .prepared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(login.db_user.clone(), ready);
            Ok(false)
        }
    }
}

/// A role's own powers, as `ALTER ROLE` options: superuser, creating databases and roles.
async fn powers(admin: &tokio_postgres::Client, role: &str) -> Result<String, String> {
    let found = first_column(
        admin,
        &format!(
            "SELECT concat_ws(' ', CASE WHEN rolsuper THEN 'SUPERUSER' ELSE 'NOSUPERUSER' END, \
             CASE WHEN rolcreatedb THEN 'CREATEDB' ELSE 'NOCREATEDB' END, \
             CASE WHEN rolcreaterole THEN 'CREATEROLE' ELSE 'NOCREATEROLE' END) \
             FROM pg_roles WHERE rolname = {}",
            literal(role)
        ),
    )
    .await?;
    Ok(found
        .into_iter()
        .next()
        .unwrap_or_else(|| "NOSUPERUSER NOCREATEDB NOCREATEROLE".to_owned()))
}

/// Creates or updates the login role of a temporary credential.
async fn login_role(
    socket: &std::path::Path,
    credential: &TemporaryLogin,
    password: &str,
) -> Result<(), Refusal> {
    let internal = |e: String| ("XX000", format!("the login could not be prepared: {e}"));
    let admin = admin_session(socket, "postgres").await.map_err(internal)?;
    let login = &credential.db_user;
    let base = login
        .split_once(':')
        .map_or(login.as_str(), |(_, name)| name);
    let mut wanted: Vec<&str> = vec![base];
    wanted.extend(credential.db_groups.iter().map(String::as_str));
    let list = wanted
        .iter()
        .map(|n| literal(n))
        .collect::<Vec<_>>()
        .join(", ");
    let existing: BTreeSet<String> = first_column(
        &admin,
        &format!("SELECT rolname FROM pg_roles WHERE rolname IN ({list})"),
    )
    .await
    .map_err(internal)?
    .into_iter()
    .collect();
    if !existing.contains(base) {
        if !credential.auto_create {
            return Err(("28000", format!("user \"{base}\" does not exist")));
        }
        execute(&admin, &format!("CREATE ROLE {}", ident(base)))
            .await
            .map_err(internal)?;
    }
    if let Some(group) = credential.db_groups.iter().find(|g| !existing.contains(*g)) {
        return Err(("28000", format!("group \"{group}\" does not exist")));
    }
    let exists = !first_column(
        &admin,
        &format!("SELECT 1 FROM pg_roles WHERE rolname = {}", literal(login)),
    )
    .await
    .map_err(internal)?
    .is_empty();
    if !exists {
        execute(&admin, &format!("CREATE ROLE {} LOGIN", ident(login)))
            .await
            .map_err(internal)?;
    }
    // The password goes as a SCRAM-SHA-256 verifier, as PostgreSQL stores it: the
    // plain text is in no statement, so no log of the server or of the client library
    // (which logs statements at debug level) can show it. The login role takes the
    // database user's own powers (a superuser's, the master user's), which PostgreSQL
    // does not pass on through membership: on Redshift the credential logs in as that
    // user.
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    // A credential for a database user the caller named (GetClusterCredentials:
    // `IAM:` without AutoCreate, or `IAMA:`) is that user; one for the caller's IAM
    // identity (`IAM:`/`IAMR:`, created at login) is not the database user of the same
    // name, and has no powers of its own.
    let identity = credential.auto_create && !login.starts_with("IAMA:");
    let powers = if identity {
        "NOSUPERUSER NOCREATEDB NOCREATEROLE".to_owned()
    } else {
        powers(&admin, base).await.map_err(internal)?
    };
    execute(
        &admin,
        &format!(
            "ALTER ROLE {} LOGIN {powers} PASSWORD {} VALID UNTIL {}",
            ident(login),
            literal(&verifier),
            literal(&credential.valid_until.to_rfc3339())
        ),
    )
    .await
    .map_err(internal)?;
    // Memberships: exactly the database user and this credential's groups.
    let current: BTreeSet<String> = first_column(
        &admin,
        &format!(
            "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
             JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = {}",
            literal(login)
        ),
    )
    .await
    .map_err(internal)?
    .into_iter()
    .collect();
    for old in current.iter().filter(|r| !wanted.contains(&r.as_str())) {
        execute(
            &admin,
            &format!("REVOKE {} FROM {}", ident(old), ident(login)),
        )
        .await
        .map_err(internal)?;
    }
    for role in wanted.iter().filter(|r| !current.contains(**r)) {
        execute(
            &admin,
            &format!("GRANT {} TO {}", ident(role), ident(login)),
        )
        .await
        .map_err(internal)?;
    }
    Ok(())
}
