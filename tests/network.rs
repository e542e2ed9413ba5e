//! Hostile connections: stalled clients, too many connections, oversized headers, slow
//! bodies. Each is answered cleanly, in the request's protocol where there is one, and
//! normal requests keep being served.

mod common;

use std::time::{Duration, Instant};

use common::memorydb;
use memshift::Config;
use memshift::config::NetLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn server_with_limits(limits: NetLimits) -> memshift::Server {
    memshift::start(&Config {
        limits,
        ..Config::ephemeral()
    })
    .await
    .expect("server starts")
}

/// Sends raw bytes and reads the whole answer (the test's requests ask to close).
async fn exchange(server: &memshift::Server, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

fn json_request(extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: AmazonMemoryDB.DescribeUsers\r\n{extra_headers}Connection: close\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn query_request(extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         {extra_headers}Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn hundreds_of_stalled_connections_do_not_stop_normal_requests() {
    let server = server_with_limits(NetLimits {
        header_read_timeout: Duration::from_secs(2),
        ..NetLimits::default()
    })
    .await;
    // 400 clients that start a request and never finish its headers.
    let mut stalled = Vec::new();
    for _ in 0..400 {
        let mut s = TcpStream::connect(server.addr()).await.unwrap();
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AmazonMemoryDB.Desc")
            .await
            .unwrap();
        stalled.push(s);
    }
    // Meanwhile, an SDK client is served as usual, and quickly.
    let client = memorydb(&server);
    let started = Instant::now();
    for _ in 0..50 {
        let users = client.describe_users().send().await.unwrap();
        assert_eq!(users.users().len(), 1);
    }
    let fifty = started.elapsed();
    assert!(
        fifty < Duration::from_secs(2),
        "50 calls beside 400 stalled connections took {fifty:?}"
    );
    // The stalled connections are closed once their time is up.
    let started = Instant::now();
    for s in &mut stalled {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "a stalled connection stayed open");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    // And the server still answers.
    client.describe_users().send().await.unwrap();
}

#[tokio::test]
async fn a_connection_over_the_limit_is_refused_in_its_protocol() {
    let server = server_with_limits(NetLimits {
        max_connections: 4,
        ..NetLimits::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(server.addr()).await.unwrap());
    }
    // Give the server a moment to accept them all.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let answer = exchange(&server, &json_request("", "{}")).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.contains("\"__type\":\"ServiceUnavailable\""),
        "{answer}"
    );
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-amzn-errortype: serviceunavailable")
    );

    let answer = exchange(
        &server,
        &query_request("", "Action=DescribeClusters&Version=2012-12-01"),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.contains("<Code>ServiceUnavailable</Code>"),
        "{answer}"
    );
    assert!(answer.contains("<Type>Receiver</Type>"), "{answer}");

    // Once the held connections go, requests are served again.
    drop(held);
    let client = memorydb(&server);
    let started = Instant::now();
    loop {
        match client.describe_users().send().await {
            Ok(_) => break,
            Err(e) => assert!(
                started.elapsed() < Duration::from_secs(5),
                "still refused after the connections closed: {e:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn oversized_headers_are_refused_in_the_request_protocol() {
    let server = server_with_limits(NetLimits::default()).await;
    let big = format!("X-Padding: {}\r\n", "a".repeat(20_000));

    let answer = exchange(&server, &json_request(&big, "{}")).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(
        answer.contains("\"__type\":\"RequestHeaderFieldsTooLarge\""),
        "{answer}"
    );

    let answer = exchange(
        &server,
        &query_request(&big, "Action=DescribeClusters&Version=2012-12-01"),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(
        answer.contains("<Code>RequestHeaderFieldsTooLarge</Code>"),
        "{answer}"
    );

    // Far past the parser's buffer the connection is refused before any protocol is
    // known, still with a 431.
    let huge = format!("X-Padding: {}\r\n", "a".repeat(400_000));
    let answer = exchange(&server, &json_request(&huge, "{}")).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    // Nothing of that changed what normal requests see.
    let users = memorydb(&server).describe_users().send().await.unwrap();
    assert_eq!(users.users().len(), 1);
}

#[tokio::test]
async fn a_body_that_never_arrives_times_out_in_the_request_protocol() {
    let server = server_with_limits(NetLimits {
        body_read_timeout: Duration::from_millis(500),
        ..NetLimits::default()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    // Headers promise 100 bytes; 10 come.
    stream
        .write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n\
              X-Amz-Target: AmazonMemoryDB.CreateUser\r\nContent-Length: 100\r\n\r\n{\"UserName",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("an answer before the test's own timeout")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"__type\":\"RequestTimeout\""), "{answer}");
    // The user was not created.
    let users = memorydb(&server).describe_users().send().await.unwrap();
    assert_eq!(users.users().len(), 1);
}
