//! The wire: exact bytes of answers, and AWS-shaped errors for every kind of broken
//! request, sent as raw HTTP.

#![allow(
    clippy::too_many_lines,
    reason = "each test is one user journey, read top to bottom"
)]

mod common;

use common::server;
use reqwest::header::HeaderMap;

const JSON: &str = "application/x-amz-json-1.1";

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let response = req.send().await.expect("server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

async fn memorydb(url: &str, operation: &str, body: &str) -> Answer {
    send(
        reqwest::Client::new()
            .post(url)
            .header("content-type", JSON)
            .header("x-amz-target", format!("AmazonMemoryDB.{operation}"))
            .body(body.to_owned()),
    )
    .await
}

fn header<'a>(a: &'a Answer, name: &str) -> &'a str {
    a.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn assert_json_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(header(a, "content-type"), JSON);
    assert_eq!(header(a, "x-amzn-errortype"), code);
    assert!(!header(a, "x-amzn-requestid").is_empty());
    let v: serde_json::Value = serde_json::from_str(&a.body).expect("JSON error body");
    assert_eq!(v["__type"], code, "{}", a.body);
    assert!(
        v["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn golden_success_bytes() {
    let server = server().await;
    let url = server.url();
    let a = memorydb(
        &url,
        "CreateUser",
        r#"{"UserName":"golden","AuthenticationMode":{"Type":"password","Passwords":["golden-password-0001"]},"AccessString":"~objects:* ~items:* ~public:*"}"#,
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(header(&a, "content-type"), JSON);
    let id = header(&a, "x-amzn-requestid");
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(
        a.body,
        r#"{"User":{"Name":"golden","Status":"active","AccessString":"off ~objects:* ~items:* ~public:* resetchannels -@all","ACLNames":[],"MinimumEngineVersion":"6.2","Authentication":{"Type":"password","PasswordCount":1},"ARN":"arn:aws:memorydb:us-east-1:000000000000:user/golden"}}"#
    );
    let a = memorydb(
        &url,
        "UpdateACL",
        r#"{"ACLName":"x","UserNamesToAdd":["golden"]}"#,
    )
    .await;
    assert_eq!(
        a.body,
        r#"{"__type":"ACLNotFoundFault","message":"ACL x not found."}"#
    );
    memorydb(&url, "CreateACL", r#"{"ACLName":"x"}"#).await;
    let a = memorydb(
        &url,
        "UpdateACL",
        r#"{"ACLName":"x","UserNamesToAdd":["golden"]}"#,
    )
    .await;
    assert_eq!(
        a.body,
        r#"{"ACL":{"Name":"x","Status":"modifying","UserNames":["golden"],"MinimumEngineVersion":"6.2","PendingChanges":{"UserNamesToAdd":["golden"]},"Clusters":[],"ARN":"arn:aws:memorydb:us-east-1:000000000000:acl/x"}}"#
    );
}

#[tokio::test]
async fn golden_error_bytes() {
    let server = server().await;
    let a = memorydb(&server.url(), "DeleteUser", r#"{"UserName":"nobody"}"#).await;
    assert_json_error(&a, 404, "UserNotFoundFault");
    assert_eq!(
        a.body,
        r#"{"__type":"UserNotFoundFault","message":"User nobody not found."}"#
    );
}

#[tokio::test]
async fn unknown_and_unimplemented_operations() {
    let server = server().await;
    let url = server.url();
    let a = memorydb(&url, "FlyToTheMoon", "{}").await;
    assert_json_error(&a, 400, "UnknownOperationException");

    let a = send(
        reqwest::Client::new()
            .post(&url)
            .header("content-type", JSON)
            .header("x-amz-target", "DynamoDB_20120810.ListTables")
            .body("{}"),
    )
    .await;
    assert_json_error(&a, 400, "UnknownOperationException");

    for op in [
        "CreateSubnetGroup",
        "DescribeEngineVersions",
        "BatchUpdateCluster",
    ] {
        let a = memorydb(&url, op, "{}").await;
        assert_json_error(&a, 400, "NotImplemented");
        assert!(a.body.contains(op), "{}", a.body);
    }
}

#[tokio::test]
async fn malformed_bodies_are_serialization_errors_and_change_nothing() {
    let server = server().await;
    let url = server.url();
    for body in [
        "{",
        "not json",
        "[]",
        "\"str\"",
        r#"{"UserName": 5, "AuthenticationMode": {"Type": "iam"}, "AccessString": "on"}"#,
        r#"{"UserName": "x", "AuthenticationMode": "iam", "AccessString": "on"}"#,
        r#"{"UserName": "x", "AuthenticationMode": {"Type": "iam"}, "AccessString": "on"} trailing"#,
    ] {
        let a = memorydb(&url, "CreateUser", body).await;
        assert_json_error(&a, 400, "SerializationException");
    }
    let a = memorydb(&url, "DescribeUsers", "{}").await;
    assert!(!a.body.contains("\"x\""), "{}", a.body);
}

#[tokio::test]
async fn missing_required_members_are_named() {
    let server = server().await;
    let a = memorydb(
        &server.url(),
        "CreateUser",
        r#"{"UserName":"x","AccessString":"on"}"#,
    )
    .await;
    assert_json_error(&a, 400, "InvalidParameterValueException");
    assert!(a.body.contains("AuthenticationMode"), "{}", a.body);
    let a = memorydb(&server.url(), "DeleteACL", "").await;
    assert_json_error(&a, 400, "InvalidParameterValueException");
    assert!(a.body.contains("ACLName"), "{}", a.body);
}

#[tokio::test]
async fn passwords_are_never_echoed() {
    let server = server().await;
    let url = server.url();
    let secret = "Distinctive-Secret-Value-42";
    let bodies = [
        format!(
            r#"{{"UserName":"s1","AuthenticationMode":{{"Type":"password","Passwords":["{secret}"]}},"AccessString":"on ~*"}}"#
        ),
        format!(
            r#"{{"UserName":"s1","AuthenticationMode":{{"Type":"password","Passwords":"{secret}"}},"AccessString":"on ~*"}}"#
        ),
        format!(
            r#"{{"UserName":"s2","AuthenticationMode":{{"Type":"password","Passwords":[{{"{secret}":1}}]}},"AccessString":"on ~*"}}"#
        ),
        format!(
            r#"{{"UserName":"s3","AuthenticationMode":{{"Type":"iam","Passwords":["{secret}"]}},"AccessString":"on ~*"}}"#
        ),
        format!(
            r#"{{"UserName":"s4","AuthenticationMode":{{"Type":"password","Passwords":["{secret}"]}},"AccessString":"on >{secret} ~*"}}"#
        ),
        format!(
            r#"{{"UserName":"s1","AuthenticationMode":{{"Type":"password","Passwords":["{secret}","{secret}x","{secret}y"]}}}}"#
        ),
    ];
    for body in &bodies {
        let a = memorydb(&url, "CreateUser", body).await;
        assert!(!a.body.contains(secret), "{}", a.body);
        let a = memorydb(&url, "UpdateUser", body).await;
        assert!(!a.body.contains(secret), "{}", a.body);
    }
    let a = memorydb(&url, "DescribeUsers", "{}").await;
    assert!(a.body.contains("\"s1\""), "{}", a.body);
    assert!(!a.body.contains(secret), "{}", a.body);
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_an_aws_error() {
    let server = server().await;
    let big = format!(r#"{{"UserName":"{}"}}"#, "a".repeat(2 * 1024 * 1024));
    let a = memorydb(&server.url(), "DeleteUser", &big).await;
    assert_json_error(&a, 413, "RequestEntityTooLarge");
}

#[tokio::test]
async fn requests_that_are_neither_protocol() {
    let server = server().await;
    let url = server.url();
    let a = send(reqwest::Client::new().post(&url).body("{}")).await;
    assert_json_error(&a, 400, "UnknownOperationException");

    let a = send(reqwest::Client::new().get(format!("{url}/no/such/path"))).await;
    assert_json_error(&a, 404, "UnknownOperationException");

    let a = send(reqwest::Client::new().delete(&url)).await;
    assert_json_error(&a, 404, "UnknownOperationException");

    // A form without an Action gets a Query-shaped error.
    let a = send(
        reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("Version=2012-12-01"),
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(header(&a, "content-type"), "text/xml");
    assert!(a.body.starts_with("<ErrorResponse xmlns=\"http://redshift.amazonaws.com/doc/2012-12-01/\"><Error><Type>Sender</Type><Code>MissingAction</Code>"), "{}", a.body);
    assert!(
        a.body.contains(&format!(
            "<RequestId>{}</RequestId>",
            header(&a, "x-amzn-requestid")
        )),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn the_credential_scope_picks_account_and_region() {
    let server = server().await;
    let url = server.url();
    let create = r#"{"ACLName":"scoped"}"#;
    let a = send(
        reqwest::Client::new()
            .post(&url)
            .header("content-type", JSON)
            .header("x-amz-target", "AmazonMemoryDB.CreateACL")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=210987654321/20261121/sa-east-1/memorydb/aws4_request, SignedHeaders=host, Signature=00",
            )
            .body(create),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body
            .contains("arn:aws:memorydb:sa-east-1:210987654321:acl/scoped"),
        "{}",
        a.body
    );
    // Unsigned requests land in the default account and region, where it does not exist.
    let a = memorydb(&url, "DescribeACLs", r#"{"ACLName":"scoped"}"#).await;
    assert_json_error(&a, 404, "ACLNotFoundFault");
}
