//! PostgreSQL wire protocol pieces: reading and writing messages, the startup packet,
//! and a minimal simple-query client for administering a server memshift started (over
//! its Unix socket, where memshift's own superuser is trusted).

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixStream;

/// The protocol version of a normal startup packet (3.0).
pub const PROTOCOL_3: i32 = 196_608;
pub const SSL_REQUEST: i32 = 80_877_103;
pub const GSSENC_REQUEST: i32 = 80_877_104;
pub const CANCEL_REQUEST: i32 = 80_877_102;
/// Largest startup packet or message accepted from a client before it is authenticated.
pub const MAX_UNAUTHENTICATED: usize = 64 * 1024;

/// A startup-phase packet: length-prefixed, without a type byte.
///
/// # Errors
/// I/O errors, or a length out of range.
pub async fn read_startup<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Vec<u8>> {
    let len = r.read_i32().await?;
    let len = usize::try_from(len)
        .ok()
        .filter(|n| (8..=MAX_UNAUTHENTICATED).contains(n))
        .ok_or_else(|| std::io::Error::other("bad startup packet length"))?;
    let mut body = vec![0u8; len - 4];
    r.read_exact(&mut body).await?;
    Ok(body)
}

/// A typed message: its type byte and body.
///
/// # Errors
/// I/O errors, or a length out of range.
pub async fn read_message<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> std::io::Result<(u8, Vec<u8>)> {
    let kind = r.read_u8().await?;
    let len = r.read_i32().await?;
    let len = usize::try_from(len)
        .ok()
        .filter(|n| (4..=max).contains(n))
        .ok_or_else(|| std::io::Error::other("bad message length"))?;
    let mut body = vec![0u8; len - 4];
    r.read_exact(&mut body).await?;
    Ok((kind, body))
}

/// A typed message's bytes.
#[must_use]
pub fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(kind);
    out.extend_from_slice(
        &i32::try_from(body.len() + 4)
            .unwrap_or(i32::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(body);
    out
}

/// A startup packet with these parameters.
#[must_use]
pub fn startup(params: &[(String, String)]) -> Vec<u8> {
    let mut body = PROTOCOL_3.to_be_bytes().to_vec();
    for (k, v) in params {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = i32::try_from(body.len() + 4)
        .unwrap_or(i32::MAX)
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(&body);
    out
}

/// The parameters of a startup packet body (after its protocol version).
#[must_use]
pub fn startup_params(body: &[u8]) -> Vec<(String, String)> {
    let mut fields = body
        .get(4..)
        .unwrap_or_default()
        .split(|b| *b == 0)
        .map(|f| String::from_utf8_lossy(f).into_owned());
    let mut params = Vec::new();
    while let (Some(k), Some(v)) = (fields.next(), fields.next()) {
        if k.is_empty() {
            break;
        }
        params.push((k, v));
    }
    params
}

/// An `ErrorResponse` with severity, SQLSTATE code and message.
#[must_use]
pub fn error_response(severity: &str, code: &str, text: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, value) in [
        (b'S', severity),
        (b'V', severity),
        (b'C', code),
        (b'M', text),
    ] {
        body.push(field);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    message(b'E', &body)
}

/// The `M` (message) field of an `ErrorResponse` body.
#[must_use]
pub fn error_text(body: &[u8]) -> String {
    body.split(|b| *b == 0)
        .find_map(|f| f.strip_prefix(b"M"))
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .unwrap_or_default()
}

/// A simple-query session as memshift's superuser, over the server's Unix socket.
pub struct Admin {
    stream: UnixStream,
}

const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

impl Admin {
    /// # Errors
    /// The server could not be reached or refused the session.
    pub async fn connect(socket: &Path, user: &str, database: &str) -> Result<Admin, String> {
        let connect = async {
            let mut stream = UnixStream::connect(socket)
                .await
                .map_err(|e| e.to_string())?;
            let params = [
                ("user".to_owned(), user.to_owned()),
                ("database".to_owned(), database.to_owned()),
            ];
            stream
                .write_all(&startup(&params))
                .await
                .map_err(|e| e.to_string())?;
            loop {
                let (kind, body) = read_message(&mut stream, 1 << 20)
                    .await
                    .map_err(|e| e.to_string())?;
                match kind {
                    b'E' => return Err(error_text(&body)),
                    b'Z' => return Ok(Admin { stream }),
                    _ => {}
                }
            }
        };
        tokio::time::timeout(ADMIN_TIMEOUT, connect)
            .await
            .map_err(|_| "the server did not answer".to_owned())?
    }

    /// Runs SQL; answers the rows of its last result, each column as text (`None` for NULL).
    ///
    /// # Errors
    /// The server's error message.
    pub async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        let run = async {
            let mut body = sql.as_bytes().to_vec();
            body.push(0);
            self.stream
                .write_all(&message(b'Q', &body))
                .await
                .map_err(|e| e.to_string())?;
            let mut rows = Vec::new();
            let mut error = None;
            loop {
                let (kind, body) = read_message(&mut self.stream, 1 << 24)
                    .await
                    .map_err(|e| e.to_string())?;
                match kind {
                    b'T' => rows.clear(),
                    b'D' => rows.push(data_row(&body)),
                    b'E' => error = Some(error_text(&body)),
                    b'Z' => break,
                    _ => {}
                }
            }
            error.map_or(Ok(rows), Err)
        };
        tokio::time::timeout(ADMIN_TIMEOUT, run)
            .await
            .map_err(|_| "the query timed out".to_owned())?
    }
}

fn data_row(body: &[u8]) -> Vec<Option<String>> {
    let count = body
        .get(..2)
        .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
    let mut at = 2;
    let mut row = Vec::with_capacity(count);
    for _ in 0..count {
        let Some(len) = body.get(at..at + 4) else {
            break;
        };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        at += 4;
        match usize::try_from(len) {
            Ok(n) => {
                row.push(
                    body.get(at..at + n)
                        .map(|v| String::from_utf8_lossy(v).into_owned()),
                );
                at += n;
            }
            Err(_) => row.push(None),
        }
    }
    row
}

/// `"name"`, quoted as an SQL identifier.
#[must_use]
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'`, quoted as an SQL string literal.
#[must_use]
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Writes bytes and flushes.
///
/// # Errors
/// I/O errors.
pub async fn send<W: AsyncWrite + Unpin>(w: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(bytes).await?;
    w.flush().await
}
