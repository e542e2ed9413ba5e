//! The front of a cluster's Redis server: a RESP proxy on the cluster's endpoint that
//! checks MemoryDB IAM authentication tokens and passes everything else through.
//!
//! Clients of IAM users send `AUTH <user> <token>` (or `HELLO <v> AUTH <user> <token>`),
//! where the token is a SigV4-presigned URL without its scheme:
//!
//! ```text
//! <cluster-name>/?Action=connect&User=<user>&X-Amz-Algorithm=AWS4-HMAC-SHA256
//!   &X-Amz-Credential=<key>/<date>/<region>/memorydb/aws4_request&X-Amz-Date=...
//!   &X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=...
//! ```
//!
//! The proxy asks its [`TokenAuth`] whether the token holds (its cluster, its user, that
//! it has not expired, and with `--verify-sigv4` its signature; the API layer implements it)
//! and sends the server `AUTH <user> <secret>` with the
//! user's internal password, which only memshift knows; a token that fails any check
//! becomes a password that cannot match, so the server answers `WRONGPASS` in order with
//! everything else. Commands of password users pass through untouched.
//!
//! The commands MemoryDB restricts never run for a client, whatever its access string.
//! Those no server needs (`CONFIG`, `DEBUG`, `SHUTDOWN`, ...) are renamed away on the
//! servers. Those the servers need among themselves or memshift needs (`PSYNC`, `SYNC`,
//! `MIGRATE`, `ACL SETUSER`, `CLUSTER SETSLOT`, ...) are renamed by the proxy to a name no
//! command can have (its words joined by a space), so that the server answers, in order
//! with everything else, `ERR unknown command '<words>', with args beginning with: ...`.
//! No client can change memshift's own admin user, the servers' settings or the
//! cluster's topology.
//!
//! An endpoint of a cluster with TLS speaks only TLS, with a certificate of memshift's
//! CA: a client that starts in plain text has its connection closed at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// Whether an IAM authentication token lets a user sign in to a cluster: the narrow view
/// of SigV4 and of memshift's clock that the proxy needs.
pub trait TokenAuth: Send + Sync {
    /// # Errors
    /// Why the token does not hold, for the log.
    fn check(&self, token: &str, user: &str, cluster: &str) -> Result<(), String>;
}

/// Refuses every token: the proxies' checks before memshift has set its own.
pub struct NoTokens;

impl TokenAuth for NoTokens {
    fn check(&self, _: &str, _: &str, _: &str) -> Result<(), String> {
        Err("IAM authentication is not set up".to_owned())
    }
}

/// What the proxies of one cluster's endpoints share.
pub struct Front {
    pub cluster: String,
    /// IAM users of the cluster, with their internal passwords.
    pub iam_users: Mutex<HashMap<String, String>>,
    pub auth: Arc<dyn TokenAuth>,
    /// TLS settings, for a cluster with TLS.
    pub tls: Option<TlsAcceptor>,
    /// How many clients each server has through the fronts.
    pub room: ClientRoom,
    /// The directory of the servers' Unix sockets (a server with backend port `P`
    /// listens at `P.sock` there too): the hop to the server is then cheaper than over
    /// TCP.
    pub sockets: Option<std::path::PathBuf>,
}

/// How many clients each server behind the fronts has through them. A server starts with
/// room for few clients, because it sets up a slot for every client it may have and that
/// costs memory even while unused; it is given more room (by `grow`, with the server's
/// backend port) once its clients reach `grow_at`, again each time they climb back to it.
pub struct ClientRoom {
    counts: Mutex<HashMap<u16, usize>>,
    grow_at: usize,
    grow: Box<dyn Fn(u16) + Send + Sync>,
}

impl ClientRoom {
    pub fn new(grow_at: usize, grow: impl Fn(u16) + Send + Sync + 'static) -> Self {
        Self {
            counts: Mutex::default(),
            grow_at,
            grow: Box::new(grow),
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<u16, usize>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one more client of the server on `port`, for as long as the answer lives.
    fn enter(&self, port: u16) -> Entered<'_> {
        let now = {
            let mut counts = self.counts();
            let count = counts.entry(port).or_default();
            *count += 1;
            *count
        };
        if now == self.grow_at {
            (self.grow)(port);
        }
        Entered { room: self, port }
    }

    /// How many clients the server on `port` has through the fronts.
    #[cfg(test)]
    fn clients(&self, port: u16) -> usize {
        self.counts().get(&port).copied().unwrap_or(0)
    }
}

/// One client counted in a [`ClientRoom`].
struct Entered<'a> {
    room: &'a ClientRoom,
    port: u16,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let mut counts = self.room.counts();
        if let Some(count) = counts.get_mut(&self.port) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.port);
            }
        }
    }
}

/// The Unix socket in `dir` of the server whose backend port is `backend_port`.
#[must_use]
pub fn unix_socket(dir: &std::path::Path, backend_port: u16) -> std::path::PathBuf {
    dir.join(format!("{backend_port}.sock"))
}

/// How long a client has to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Accepts clients until the task is aborted, relaying each to the server on
/// `backend_port`.
pub async fn serve(listener: TcpListener, front: Arc<Front>, backend_port: u16) {
    serve_moving(listener, front, Arc::new(AtomicU16::new(backend_port))).await;
}

/// Accepts clients until the task is aborted, relaying each to the server on the port
/// `backend` holds when it connects (the server behind can change: a cluster endpoint
/// follows its first shard's primary).
pub async fn serve_moving(listener: TcpListener, front: Arc<Front>, backend: Arc<AtomicU16>) {
    let cluster = front.cluster.clone();
    super::accept(listener, cluster, move |client| {
        let front = Arc::clone(&front);
        let backend_port = backend.load(Ordering::Relaxed);
        async move {
            match &front.tls {
                None => {
                    // Plain TCP halves are split without the lock a generic split needs.
                    let (read, write) = client.into_split();
                    relay(read, write, &front, backend_port).await
                }
                Some(acceptor) => {
                    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(client))
                        .await
                        .map_err(|_| std::io::Error::other("TLS handshake timed out"))??;
                    let (read, write) = tokio::io::split(stream);
                    relay(read, write, &front, backend_port).await
                }
            }
        }
    })
    .await;
}

async fn relay<R, W>(
    client_read: R,
    client_write: W,
    front: &Front,
    backend_port: u16,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let _counted = front.room.enter(backend_port);
    // The server's Unix socket when it has one; its TCP port otherwise.
    if let Some(dir) = &front.sockets
        && let Ok(backend) = tokio::net::UnixStream::connect(unix_socket(dir, backend_port)).await
    {
        let (backend_read, backend_write) = backend.into_split();
        return pass(
            client_read,
            client_write,
            front,
            backend_read,
            backend_write,
        )
        .await;
    }
    let backend = TcpStream::connect(("127.0.0.1", backend_port)).await?;
    let _ = backend.set_nodelay(true);
    let (backend_read, backend_write) = backend.into_split();
    pass(
        client_read,
        client_write,
        front,
        backend_read,
        backend_write,
    )
    .await
}

/// Relays a client's commands to its server, and the server's replies to the client.
async fn pass<R, W, BR, BW>(
    mut client_read: R,
    mut client_write: W,
    front: &Front,
    mut backend_read: BR,
    mut backend_write: BW,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
    BR: AsyncRead + Unpin + Send,
    BW: AsyncWrite + Unpin + Send,
{
    let replies = async {
        let result = tokio::io::copy(&mut backend_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
        result.map(drop)
    };
    let commands = async {
        let mut buf: Vec<u8> = Vec::with_capacity(READ_SIZE);
        let mut out: Vec<u8> = Vec::new();
        loop {
            buf.reserve(READ_SIZE);
            if client_read.read_buf(&mut buf).await? == 0 {
                let _ = backend_write.shutdown().await;
                return Ok::<(), std::io::Error>(());
            }
            // Whole commands pass as they came, without a copy, unless one of them must
            // be rewritten.
            let (mut at, mut passed) = (0, 0);
            out.clear();
            while let Some((watched, used)) = scan(&buf[at..]) {
                if watched && let Some(bytes) = replaced(front, &buf[at..at + used]) {
                    out.extend_from_slice(&buf[passed..at]);
                    out.extend(bytes);
                    passed = at + used;
                }
                at += used;
            }
            if passed == 0 {
                backend_write.write_all(&buf[..at]).await?;
            } else {
                out.extend_from_slice(&buf[passed..at]);
                backend_write.write_all(&out).await?;
            }
            buf.drain(..at);
        }
    };
    let (a, b) = tokio::join!(replies, commands);
    a.and(b)
}

/// How much the proxy reads from a client at once, at most.
const READ_SIZE: usize = 16 * 1024;

/// The names of the commands the proxy looks into (authentication, and those with
/// restricted forms); every other command passes as it came.
const WATCHED: &[&str] = &["auth", "hello", "psync", "sync", "acl", "cluster"];

/// One whole command at the start of `buf`: whether its name is watched, and its
/// length; `None` while it is incomplete. Nothing is copied.
fn scan(buf: &[u8]) -> Option<(bool, usize)> {
    if buf.is_empty() {
        return None;
    }
    if buf[0] != b'*' {
        let end = buf.iter().position(|b| *b == b'\n')?;
        return Some((false, end + 1));
    }
    let end = line_end(buf, 0)?;
    let count: i64 = std::str::from_utf8(&buf[1..end]).ok()?.parse().ok()?;
    let mut at = end + 2;
    let mut watched = false;
    for i in 0..count.max(0) {
        if *buf.get(at)? != b'$' {
            return Some((false, buf.len()));
        }
        let end = line_end(buf, at)?;
        let len: usize = std::str::from_utf8(&buf[at + 1..end]).ok()?.parse().ok()?;
        let start = end + 2;
        if buf.len() < start + len + 2 {
            return None;
        }
        if i == 0 {
            let name = &buf[start..start + len];
            watched = WATCHED
                .iter()
                .any(|w| name.eq_ignore_ascii_case(w.as_bytes()));
        }
        at = start + len + 2;
    }
    Some((watched, at))
}

/// The position of the `\r\n` that ends the line starting at `from`.
fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    buf[from..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

/// What a watched command becomes, when it must change: an IAM user's `AUTH` with its
/// internal password, a restricted command renamed to no command.
fn replaced(front: &Front, whole: &[u8]) -> Option<Vec<u8>> {
    let (Some(args), _) = command(whole)? else {
        return None;
    };
    if is_auth(&args) {
        Some(encode(&rewrite(front, args)))
    } else if restricted(&args).is_some() {
        Some(encode(&refused(args)))
    } else {
        None
    }
}

/// One whole command at the start of `buf`: its arguments (for a RESP array; `None` for
/// an inline command) and its length; `None` while it is incomplete.
fn command(buf: &[u8]) -> Option<(Option<Vec<Vec<u8>>>, usize)> {
    if buf.is_empty() {
        return None;
    }
    let line_end = |from: usize| line_end(buf, from);
    if buf[0] != b'*' {
        let end = buf.iter().position(|b| *b == b'\n')?;
        return Some((None, end + 1));
    }
    let end = line_end(0)?;
    let count: i64 = std::str::from_utf8(&buf[1..end]).ok()?.parse().ok()?;
    let mut at = end + 2;
    let mut args = Vec::new();
    for _ in 0..count.max(0) {
        if *buf.get(at)? != b'$' {
            // Not a well-formed array: let the server judge it, as it came.
            return Some((None, buf.len()));
        }
        let end = line_end(at)?;
        let len: usize = std::str::from_utf8(&buf[at + 1..end]).ok()?.parse().ok()?;
        let start = end + 2;
        if buf.len() < start + len + 2 {
            return None;
        }
        args.push(buf[start..start + len].to_vec());
        at = start + len + 2;
    }
    Some((Some(args), at))
}

/// Commands MemoryDB makes unavailable that the servers still need among themselves
/// (the others are renamed away on the servers), and containers of which only some
/// subcommands are unavailable.
const RESTRICTED: &[&str] = &["psync", "sync"];
const RESTRICTED_SUBCOMMANDS: &[(&str, &[&str])] = &[
    ("acl", &["deluser", "load", "save", "setuser"]),
    (
        "cluster",
        &[
            "addslots",
            "addslotsrange",
            "delslots",
            "delslotsrange",
            "setslot",
        ],
    ),
];

/// How many leading arguments name a restricted command (1, or 2 with a subcommand).
fn restricted(args: &[Vec<u8>]) -> Option<usize> {
    let name = args.first()?;
    let is = |word: &str| name.eq_ignore_ascii_case(word.as_bytes());
    if RESTRICTED.iter().any(|c| is(c)) {
        return Some(1);
    }
    let (_, subcommands) = RESTRICTED_SUBCOMMANDS.iter().find(|(c, _)| is(c))?;
    let sub = args.get(1)?;
    subcommands
        .iter()
        .any(|s| sub.eq_ignore_ascii_case(s.as_bytes()))
        .then_some(2)
}

/// A restricted command renamed so that no command can match it: its words joined by a
/// space, and a space after a single word (command names hold no spaces).
fn refused(mut args: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let words = restricted(&args).unwrap_or(1);
    let mut name = args[..words].join(&b' ');
    if words == 1 {
        name.push(b' ');
    }
    args.splice(..words, [name]);
    args
}

fn is_auth(args: &[Vec<u8>]) -> bool {
    args.first()
        .is_some_and(|c| c.eq_ignore_ascii_case(b"AUTH") || c.eq_ignore_ascii_case(b"HELLO"))
}

fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// `AUTH user token` (or `HELLO ... AUTH user token`) for an IAM user: the token becomes
/// the user's internal password if it holds, or a password that cannot match.
fn rewrite(front: &Front, mut args: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let user_at = if args[0].eq_ignore_ascii_case(b"AUTH") {
        (args.len() == 3).then_some(1)
    } else {
        args.iter()
            .position(|a| a.eq_ignore_ascii_case(b"AUTH"))
            .filter(|i| args.len() > i + 2)
            .map(|i| i + 1)
    };
    let Some(user_at) = user_at else {
        return args;
    };
    let user = String::from_utf8_lossy(&args[user_at]).into_owned();
    let internal = front
        .iam_users
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&user)
        .cloned();
    let Some(internal) = internal else {
        return args;
    };
    let token = String::from_utf8_lossy(&args[user_at + 1]).into_owned();
    args[user_at + 1] = match front.auth.check(&token, &user, &front.cluster) {
        Ok(()) => internal.into_bytes(),
        Err(why) => {
            tracing::info!(cluster = %front.cluster, user = %user, reason = %why, "IAM token refused");
            let mut bytes = [0u8; 24];
            rand::fill(&mut bytes);
            hex::encode(bytes).into_bytes()
        }
    };
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_given_room_each_time_its_clients_climb_to_the_mark() {
        let grown = Arc::new(Mutex::new(Vec::new()));
        let room = {
            let grown = Arc::clone(&grown);
            ClientRoom::new(3, move |port| grown.lock().unwrap().push(port))
        };
        let first: Vec<_> = (0..2).map(|_| room.enter(7000)).collect();
        let other = room.enter(7001);
        assert!(grown.lock().unwrap().is_empty());
        let third = room.enter(7000);
        let fourth = room.enter(7000);
        assert_eq!(*grown.lock().unwrap(), [7000]);
        assert_eq!((room.clients(7000), room.clients(7001)), (4, 1));
        drop((third, fourth));
        assert_eq!(*grown.lock().unwrap(), [7000]);
        // Back at the mark after falling below it: a server started again meanwhile
        // has its first room again.
        let again = room.enter(7000);
        assert_eq!(*grown.lock().unwrap(), [7000, 7000]);
        drop((first, other, again));
        assert_eq!((room.clients(7000), room.clients(7001)), (0, 0));
        assert!(room.counts().is_empty());
    }

    #[test]
    fn commands_are_split_whole() {
        let buf = b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\nPING\r\n*1\r\n$4\r\nPI";
        let (args, used) = command(buf).unwrap();
        assert_eq!(args.unwrap(), [b"AUTH".to_vec(), b"pw".to_vec()]);
        let (inline, used2) = command(&buf[used..]).unwrap();
        assert!(inline.is_none());
        assert_eq!(&buf[used..used + used2], b"PING\r\n");
        assert!(command(&buf[used + used2..]).is_none());
    }

    #[test]
    fn only_watched_commands_are_looked_into() {
        let buf = b"*2\r\n$4\r\nauth\r\n$2\r\npw\r\n*2\r\n$3\r\nGET\r\n$4\r\nAUTH\r\nPING\r\n*1\r\n$4\r\nPI";
        assert_eq!(scan(buf), Some((true, 22)));
        assert_eq!(scan(&buf[22..]), Some((false, 23)));
        assert_eq!(scan(&buf[45..]), Some((false, 6)));
        assert_eq!(scan(&buf[51..]), None);
    }

    #[test]
    fn restricted_commands_are_renamed_to_no_command() {
        let args = |words: &[&str]| {
            words
                .iter()
                .map(|w| w.as_bytes().to_vec())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            refused(args(&["PSYNC", "?", "-1"])),
            args(&["PSYNC ", "?", "-1"])
        );
        assert_eq!(
            refused(args(&["acl", "SetUser", "x", "on"])),
            args(&["acl SetUser", "x", "on"])
        );
        // CONFIG and the like are gone from the servers themselves.
        for allowed in [
            &["CONFIG", "GET", "*"][..],
            &["ACL", "WHOAMI"],
            &["cluster", "slots"],
            &["GET", "config"],
            &["acl"],
        ] {
            assert_eq!(restricted(&args(allowed)), None, "{allowed:?}");
        }
    }
}
