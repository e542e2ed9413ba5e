//! A minimal client of the PostgreSQL v3 protocol over plain TCP, for statements run on
//! a cluster's endpoint as a given user: parameters bound as values (never spliced into
//! SQL), every result column as text with its type, and the backend's cancel key.
//!
//! Each statement goes through the extended protocol, unnamed, in one write:
//!
//! ```text
//! Parse 'P' | "" | sql | n | 0 … 0          (types inferred by the server)
//! Bind  'B' | "" | "" | 0 | n | len value … | 1 | 0   (text in, text out)
//! Describe 'D' | 'P' | ""    Execute 'E' | "" | 0    Sync 'S'
//! ```
//!
//! and the answers are read up to `ReadyForQuery`, so that after an error the session is
//! still usable. `tokio-postgres` gives no text results with their types, hence this.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::pgwire::{CANCEL_REQUEST, message, read_message, send, startup};

/// Largest message accepted while logging in.
const MAX_LOGIN_MESSAGE: usize = 1 << 20;
/// Largest message accepted afterwards: a `DataRow` holds values of up to 1 GiB each.
const MAX_MESSAGE: usize = 1 << 30;
/// How long [`cancel`] waits for the server to close the request's connection.
const CANCEL_WAIT: Duration = Duration::from_secs(5);

/// Where and as whom to log in.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    pub host: IpAddr,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("database", &self.database)
            .finish()
    }
}

/// What a `CancelRequest` for a session needs: where to send it and the backend's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancelKey {
    pub addr: SocketAddr,
    pub pid: i32,
    pub secret: i32,
}

/// A result column, as `RowDescription` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// The table the column comes from, 0 when none.
    pub table_oid: u32,
    /// The column's number in that table, 0 when none.
    pub column: i16,
    pub type_oid: u32,
    /// `pg_type.typlen`: negative for variable-length types.
    pub type_size: i16,
    /// `pg_attribute.atttypmod`: -1 when none.
    pub type_modifier: i32,
}

/// What one statement answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `None` when the statement returns no rows (`NoData`).
    pub columns: Option<Vec<Column>>,
    /// Each value as text; `None` for NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// The `CommandComplete` tag (`INSERT 0 3`, `SELECT 2`); empty for an empty query.
    pub tag: String,
}

impl Outcome {
    /// The tag's row count: its last number, if any.
    #[must_use]
    pub fn affected(&self) -> Option<u64> {
        self.tag.rsplit(' ').next().and_then(|n| n.parse().ok())
    }
}

/// A server's `ErrorResponse`, or a local failure in the same shape: `08001` when the
/// server could not be reached in time, `08006` for I/O errors, `08P01` for a message
/// that breaks the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{severity}: {message}")]
pub struct DbError {
    pub severity: String,
    /// SQLSTATE.
    pub code: String,
    pub message: String,
    /// 1-based character position in the statement.
    pub position: Option<u32>,
}

impl DbError {
    fn local(code: &str, message: impl Into<String>) -> Self {
        DbError {
            severity: "ERROR".to_owned(),
            code: code.to_owned(),
            message: message.into(),
            position: None,
        }
    }

    fn fatal(code: &str, message: impl Into<String>) -> Self {
        DbError {
            severity: "FATAL".to_owned(),
            ..DbError::local(code, message)
        }
    }

    fn protocol(what: &str) -> Self {
        DbError::fatal("08P01", format!("protocol violation: {what}"))
    }

    fn io(e: &std::io::Error) -> Self {
        // `read_message` reports a bad length as `Other`: a broken message, not the
        // connection's failure.
        if matches!(
            e.kind(),
            std::io::ErrorKind::Other | std::io::ErrorKind::InvalidData
        ) {
            DbError::protocol(&e.to_string())
        } else {
            DbError::fatal("08006", format!("connection failure: {e}"))
        }
    }

    /// The fields of an `ErrorResponse` body (`V` preferred to the localized `S`).
    fn parse(body: &[u8]) -> Self {
        let mut error = DbError::local("XX000", "");
        let mut severity = None;
        let mut localized = None;
        let mut fields = body.split(|b| *b == 0);
        while let Some(field) = fields.next().filter(|f| !f.is_empty()) {
            let value = String::from_utf8_lossy(&field[1..]).into_owned();
            match field[0] {
                b'V' => severity = Some(value),
                b'S' => localized = Some(value),
                b'C' => error.code = value,
                b'M' => error.message = value,
                b'P' => error.position = value.parse().ok(),
                _ => {}
            }
        }
        if let Some(s) = severity.or(localized) {
            error.severity = s;
        }
        error
    }

    /// Whether the server ends the session with this error.
    fn ends_session(&self) -> bool {
        matches!(self.severity.as_str(), "FATAL" | "PANIC")
    }
}

/// A logged-in session.
pub struct Session {
    stream: BufReader<TcpStream>,
    key: CancelKey,
    /// The last `ReadyForQuery` status: `I`, `T` or `E`.
    status: u8,
    /// Set while a statement's answers are unread (or after a failure that lost track of
    /// them): the session is then unusable.
    broken: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("key", &self.key)
            .field("status", &char::from(self.status))
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Connects and logs in: clear-text or MD5 password, or none; then the server's
    /// parameters, its cancel key and `ReadyForQuery`.
    ///
    /// # Errors
    /// The server's refusal (`28P01` for a wrong password), `08001` when it cannot be
    /// reached within `timeout`, `08006`/`08P01` as for [`DbError`].
    pub async fn connect(target: &Target, timeout: Duration) -> Result<Session, DbError> {
        tokio::time::timeout(timeout, Session::login(target))
            .await
            .map_err(|_| {
                DbError::fatal(
                    "08001",
                    format!("timeout connecting to {}:{}", target.host, target.port),
                )
            })?
    }

    async fn login(target: &Target) -> Result<Session, DbError> {
        let addr = SocketAddr::new(target.host, target.port);
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| DbError::fatal("08001", format!("could not connect to {addr}: {e}")))?;
        let _ = stream.set_nodelay(true);
        let mut session = Session {
            stream: BufReader::new(stream),
            key: CancelKey {
                addr,
                pid: 0,
                secret: 0,
            },
            status: b'I',
            broken: true,
        };
        let params = [
            ("user", target.user.as_str()),
            ("database", target.database.as_str()),
            ("client_encoding", "UTF8"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        session.write(&startup(&params)).await?;
        loop {
            let (kind, body) = session.read(MAX_LOGIN_MESSAGE).await?;
            let mut b = Body(&body);
            match kind {
                b'R' => {
                    let code = b.i32().ok_or_else(|| DbError::protocol("authentication"))?;
                    session.authenticate(code, b.0, target).await?;
                }
                b'K' => {
                    let (Some(pid), Some(secret)) = (b.i32(), b.i32()) else {
                        return Err(DbError::protocol("backend key data"));
                    };
                    session.key.pid = pid;
                    session.key.secret = secret;
                }
                b'Z' => {
                    session.status = body.first().copied().unwrap_or(b'I');
                    session.broken = false;
                    return Ok(session);
                }
                b'E' => return Err(DbError::parse(&body)),
                b'S' | b'N' => {}
                other => return Err(DbError::protocol(&unexpected(other))),
            }
        }
    }

    /// Answers an authentication request (`data`: what follows its code).
    async fn authenticate(
        &mut self,
        code: i32,
        data: &[u8],
        target: &Target,
    ) -> Result<(), DbError> {
        let password = match code {
            0 => return Ok(()),
            3 => target.password.clone(),
            5 => {
                let salt = data
                    .get(..4)
                    .and_then(|s| <[u8; 4]>::try_from(s).ok())
                    .ok_or_else(|| DbError::protocol("MD5 salt"))?;
                postgres_protocol::authentication::md5_hash(
                    target.user.as_bytes(),
                    target.password.as_bytes(),
                    salt,
                )
            }
            _ => {
                return Err(DbError::fatal(
                    "28000",
                    format!("authentication method {code} is not supported"),
                ));
            }
        };
        let mut body = password.into_bytes();
        body.push(0);
        self.write(&message(b'p', &body)).await
    }

    /// The key a [`cancel`] of this session's statements needs.
    #[must_use]
    pub fn cancel_key(&self) -> CancelKey {
        self.key
    }

    /// The backend's process id.
    #[must_use]
    pub fn pid(&self) -> i32 {
        self.key.pid
    }

    /// Runs one statement through the extended protocol, unnamed: each of `params`
    /// (`$1`, `$2`, …) bound as text of a type the server infers, each result column
    /// read as text. Notices and parameter changes are ignored; `COPY FROM STDIN` fails.
    ///
    /// # Errors
    /// The server's error, after which the session stays usable unless the error was
    /// `FATAL` or local (`08xxx`). A dropped call leaves the session unusable.
    pub async fn run(&mut self, sql: &str, params: &[&str]) -> Result<Outcome, DbError> {
        let count = u16::try_from(params.len())
            .map_err(|_| DbError::local("54023", "more than 65535 parameters"))?;
        // The unnamed statement, its text, and a type of 0 (unspecified) for each parameter.
        let mut parse = vec![0];
        parse.extend(cstring(sql)?);
        parse.push(0);
        parse.extend_from_slice(&count.to_be_bytes());
        parse.resize(parse.len() + 4 * params.len(), 0);
        // Portal and statement unnamed; no parameter format codes: all text.
        let mut bind = vec![0, 0, 0, 0];
        bind.extend_from_slice(&count.to_be_bytes());
        for value in params {
            let len = i32::try_from(value.len())
                .map_err(|_| DbError::local("54000", "a parameter is too long"))?;
            bind.extend_from_slice(&len.to_be_bytes());
            bind.extend_from_slice(value.as_bytes());
        }
        // One result format code, text, for every column.
        bind.extend_from_slice(&[0, 1, 0, 0]);
        let mut out = message(b'P', &parse);
        out.extend_from_slice(&message(b'B', &bind));
        out.extend_from_slice(&message(b'D', b"P\0"));
        out.extend_from_slice(&message(b'E', &[0, 0, 0, 0, 0]));
        out.extend_from_slice(&message(b'S', &[]));
        self.exchange(&out).await
    }

    /// Runs SQL through the simple protocol (`BEGIN`, `COMMIT`, `ROLLBACK`); its rows, if
    /// any, are dropped.
    ///
    /// # Errors
    /// As [`Session::run`].
    pub async fn simple(&mut self, sql: &str) -> Result<(), DbError> {
        let mut body = cstring(sql)?;
        body.push(0);
        self.exchange(&message(b'Q', &body)).await.map(drop)
    }

    /// Whether the last `ReadyForQuery` said a transaction is open (`T`) or failed (`E`).
    #[must_use]
    pub fn in_transaction(&self) -> bool {
        matches!(self.status, b'T' | b'E')
    }

    /// Sends `Terminate` and closes the connection.
    pub async fn close(mut self) {
        if !self.broken {
            let _ = send(&mut self.stream, &message(b'X', &[])).await;
        }
        let _ = self.stream.shutdown().await;
    }

    /// Sends `out` and reads the answers up to `ReadyForQuery`; the last statement's
    /// results, or the first error.
    async fn exchange(&mut self, out: &[u8]) -> Result<Outcome, DbError> {
        if self.broken {
            return Err(DbError::fatal(
                "08006",
                "the connection is no longer usable",
            ));
        }
        self.broken = true;
        self.write(out).await?;
        let mut outcome = Outcome::default();
        let mut error = None;
        loop {
            let (kind, body) = self.read(MAX_MESSAGE).await?;
            match kind {
                b'T' => {
                    outcome = Outcome {
                        columns: Some(columns(&body)?),
                        ..Outcome::default()
                    };
                }
                b'n' => outcome.columns = None,
                b'D' => outcome.rows.push(row(&body)?),
                b'C' => outcome.tag = text(body.strip_suffix(&[0]).unwrap_or(&body)),
                b'I' => outcome.tag.clear(),
                b'E' => {
                    let e = DbError::parse(&body);
                    if e.ends_session() {
                        return Err(e);
                    }
                    error.get_or_insert(e);
                }
                b'G' => {
                    // CopyInResponse: refuse to send data; the server answers an error.
                    self.write(&message(b'f', b"COPY FROM STDIN is not supported\0"))
                        .await?;
                }
                b'Z' => {
                    self.status = body.first().copied().unwrap_or(b'I');
                    self.broken = false;
                    return error.map_or(Ok(outcome), Err);
                }
                // Parse, Bind and Close complete, portal suspended, parameter
                // description, notices, parameter changes, notifications, COPY TO STDOUT.
                b'1' | b'2' | b'3' | b's' | b't' | b'N' | b'S' | b'A' | b'H' | b'd' | b'c' => {}
                other => return Err(DbError::protocol(&unexpected(other))),
            }
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), DbError> {
        send(&mut self.stream, bytes)
            .await
            .map_err(|e| DbError::io(&e))
    }

    async fn read(&mut self, max: usize) -> Result<(u8, Vec<u8>), DbError> {
        read_message(&mut self.stream, max)
            .await
            .map_err(|e| DbError::io(&e))
    }
}

/// Sends a `CancelRequest` for `key`'s session on a connection of its own, and waits
/// (briefly) for the server to close it, the sign that the request was handled.
///
/// # Errors
/// The connection could not be made or written.
pub async fn cancel(key: CancelKey) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(key.addr).await?;
    let mut packet = Vec::with_capacity(16);
    for n in [16, CANCEL_REQUEST, key.pid, key.secret] {
        packet.extend_from_slice(&n.to_be_bytes());
    }
    send(&mut stream, &packet).await?;
    let mut rest = [0u8; 64];
    let _ = tokio::time::timeout(CANCEL_WAIT, async {
        while stream.read(&mut rest).await.is_ok_and(|n| n > 0) {}
    })
    .await;
    Ok(())
}

/// `sql` as the start of a C string (without its NUL), which it must not contain.
fn cstring(sql: &str) -> Result<Vec<u8>, DbError> {
    if sql.contains('\0') {
        return Err(DbError::local(
            "22021",
            "invalid byte sequence: the statement contains 0x00",
        ));
    }
    Ok(sql.as_bytes().to_vec())
}

/// A `RowDescription`'s columns.
fn columns(body: &[u8]) -> Result<Vec<Column>, DbError> {
    let bad = || DbError::protocol("row description");
    let mut b = Body(body);
    let count = b.i16().ok_or_else(bad)?;
    let mut columns = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for _ in 0..count {
        let name = b.cstr().ok_or_else(bad)?;
        let (
            Some(table_oid),
            Some(column),
            Some(type_oid),
            Some(type_size),
            Some(type_modifier),
            Some(_format),
        ) = (b.u32(), b.i16(), b.u32(), b.i16(), b.i32(), b.i16())
        else {
            return Err(bad());
        };
        columns.push(Column {
            name,
            table_oid,
            column,
            type_oid,
            type_size,
            type_modifier,
        });
    }
    Ok(columns)
}

/// A `DataRow`'s values, as text.
fn row(body: &[u8]) -> Result<Vec<Option<String>>, DbError> {
    let bad = || DbError::protocol("data row");
    let mut b = Body(body);
    let count = b.i16().ok_or_else(bad)?;
    let mut values = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for _ in 0..count {
        let len = b.i32().ok_or_else(bad)?;
        let value = match usize::try_from(len) {
            Ok(len) => Some(text(b.take(len).ok_or_else(bad)?)),
            Err(_) if len == -1 => None,
            Err(_) => return Err(bad()),
        };
        values.push(value);
    }
    Ok(values)
}

/// Text the server sent, in UTF-8 as the session asked (kept whatever it is).
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn unexpected(kind: u8) -> String {
    format!("unexpected message {:?}", char::from(kind))
}

/// A message body read from the front; every read is checked.
struct Body<'a>(&'a [u8]);

impl<'a> Body<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|b| b.try_into().ok())
    }

    fn i16(&mut self) -> Option<i16> {
        self.array().map(i16::from_be_bytes)
    }

    fn i32(&mut self) -> Option<i32> {
        self.array().map(i32::from_be_bytes)
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }

    fn cstr(&mut self) -> Option<String> {
        let end = memchr::memchr(0, self.0)?;
        let s = text(&self.0[..end]);
        self.0 = &self.0[end + 1..];
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    fn outcome(tag: &str) -> Outcome {
        Outcome {
            tag: tag.to_owned(),
            ..Outcome::default()
        }
    }

    #[test]
    fn affected_is_the_tags_last_number() {
        assert_eq!(outcome("INSERT 0 3").affected(), Some(3));
        assert_eq!(outcome("SELECT 2").affected(), Some(2));
        assert_eq!(outcome("UPDATE 0").affected(), Some(0));
        assert_eq!(outcome("CREATE TABLE").affected(), None);
        assert_eq!(outcome("").affected(), None);
    }

    #[test]
    fn error_fields_are_read_and_malformed_bodies_refused() {
        let e = DbError::parse(b"SERREUR\0VERROR\0C42703\0Mcolumn \"x\" does not exist\0P8\0\0");
        assert_eq!(
            e,
            DbError {
                severity: "ERROR".to_owned(),
                code: "42703".to_owned(),
                message: "column \"x\" does not exist".to_owned(),
                position: Some(8),
            }
        );
        assert_eq!(e.to_string(), "ERROR: column \"x\" does not exist");
        assert_eq!(DbError::parse(b"").code, "XX000");
        // Rows: two values, one NULL; truncated or negative lengths are protocol errors.
        assert_eq!(
            row(b"\0\x02\0\0\0\x02ab\xff\xff\xff\xff").unwrap(),
            vec![Some("ab".to_owned()), None]
        );
        for bad in [&b"\0\x01\0\0\0\x05ab"[..], b"\0\x01\xff\xff\xff\xfe", b"\0"] {
            assert_eq!(row(bad).unwrap_err().code, "08P01");
        }
        assert_eq!(columns(b"\0\x01name").unwrap_err().code, "08P01");
    }

    /// A server that asks for an MD5 password and accepts only the right hash.
    #[tokio::test]
    async fn md5_login_sends_the_salted_hash() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let _ = super::super::pgwire::read_startup(&mut s).await.unwrap();
            let mut ask = 5i32.to_be_bytes().to_vec();
            ask.extend_from_slice(b"salt");
            send(&mut s, &message(b'R', &ask)).await.unwrap();
            let (kind, body) = read_message(&mut s, 1024).await.unwrap();
            assert_eq!(kind, b'p');
            let want = postgres_protocol::authentication::md5_hash(b"u", b"pw", *b"salt");
            assert_eq!(body, [want.as_bytes(), b"\0"].concat());
            let mut out = message(b'R', &0i32.to_be_bytes());
            out.extend(message(b'S', b"server_version\x0016\0"));
            out.extend(message(b'K', &[0, 0, 0, 42, 0, 0, 0, 7]));
            out.extend(message(b'Z', b"I"));
            send(&mut s, &out).await.unwrap();
        });
        let target = Target {
            host: IpAddr::from([127, 0, 0, 1]),
            port,
            user: "u".to_owned(),
            password: "pw".to_owned(),
            database: "d".to_owned(),
        };
        let session = Session::connect(&target, Duration::from_secs(5))
            .await
            .unwrap();
        server.await.unwrap();
        assert_eq!(session.pid(), 42);
        assert_eq!(session.cancel_key().secret, 7);
        assert!(!session.in_transaction());
        assert!(!format!("{target:?}").contains("pw"));
    }
}
