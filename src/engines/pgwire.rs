//! The PostgreSQL wire protocol as the cluster fronts speak it: the startup packet
//! (length-prefixed, no type byte), typed messages (a type byte, then an `i32` length that
//! counts itself), the few messages the front writes itself, and SQL quoting.
//!
//! ```text
//! startup:  00 00 00 21 | 00 03 00 00 | "user\0alice\0database\0dev\0\0"
//! message:  'R' | 00 00 00 08 | 00 00 00 03        (AuthenticationCleartextPassword)
//! ```
//!
//! memshift's own sessions with its servers go through `tokio-postgres` (see
//! [`super::pgadmin`]); this module is only the front's framing, which relays bytes
//! between a client and a server and so needs to read and write single messages.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

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
