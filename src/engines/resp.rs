//! A minimal RESP2 client: enough to administer a Redis server memshift started
//! (`AUTH`, `PING`, `ACL SETUSER`, `ACL DELUSER`, `ACL USERS`, `CLIENT KILL`).

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A reply, as RESP2 has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Status(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

/// One connection to a Redis server.
pub struct Connection {
    stream: BufReader<TcpStream>,
}

const TIMEOUT: Duration = Duration::from_secs(5);

impl Connection {
    /// # Errors
    /// The server could not be reached.
    pub async fn connect(port: u16) -> std::io::Result<Connection> {
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(("127.0.0.1", port)))
            .await
            .map_err(|_| std::io::Error::other("connect timed out"))??;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream: BufReader::new(stream),
        })
    }

    /// Sends one command and reads its reply; a RESP error reply is an `Err`.
    ///
    /// # Errors
    /// An I/O error, a malformed reply, or the server's error reply.
    pub async fn call(&mut self, args: &[&str]) -> Result<Reply, String> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let exchange = async {
            self.stream
                .get_mut()
                .write_all(&out)
                .await
                .map_err(|e| e.to_string())?;
            read_reply(&mut self.stream).await
        };
        match tokio::time::timeout(TIMEOUT, exchange).await {
            Err(_) => Err(format!("{} timed out", args.first().unwrap_or(&""))),
            Ok(Ok(Reply::Error(e))) => Err(e),
            Ok(other) => other,
        }
    }
}

async fn read_line(stream: &mut BufReader<TcpStream>) -> Result<String, String> {
    let mut line = String::new();
    let n = stream
        .read_line(&mut line)
        .await
        .map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("the server closed the connection".to_owned());
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn read_reply(
    stream: &mut BufReader<TcpStream>,
) -> std::pin::Pin<Box<dyn Future<Output = Result<Reply, String>> + Send + '_>> {
    Box::pin(async move {
        let line = read_line(stream).await?;
        let (kind, rest) = line.split_at(line.len().min(1));
        let number = || {
            rest.parse::<i64>()
                .map_err(|_| format!("malformed reply {line:?}"))
        };
        match kind {
            "+" => Ok(Reply::Status(rest.to_owned())),
            "-" => Ok(Reply::Error(rest.to_owned())),
            ":" => Ok(Reply::Integer(number()?)),
            "$" => {
                let Ok(len) = usize::try_from(number()?) else {
                    return Ok(Reply::Bulk(None));
                };
                let mut buf = vec![0u8; len + 2];
                stream
                    .read_exact(&mut buf)
                    .await
                    .map_err(|e| e.to_string())?;
                buf.truncate(len);
                Ok(Reply::Bulk(Some(buf)))
            }
            "*" => {
                let Ok(count) = usize::try_from(number()?) else {
                    return Ok(Reply::Array(None));
                };
                let mut items = Vec::with_capacity(count.min(1024));
                for _ in 0..count {
                    items.push(read_reply(stream).await?);
                }
                Ok(Reply::Array(Some(items)))
            }
            _ => Err(format!("malformed reply {line:?}")),
        }
    })
}
