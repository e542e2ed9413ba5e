//! Thousands of random and mutated requests through the server's request path, in
//! process: methods, paths, headers, content types and bodies, valid ones bent out of
//! shape. Every answer must be an AWS-shaped error or success in a protocol, never a 5xx
//! or a panic, and the server must keep its built-in state.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::Request;
use http_body_util::{BodyExt, Full};
use memshift::Config;
use memshift::server::{Shared, prepare, respond};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const REQUESTS: usize = 20_000;

const JSON_BODIES: &[&str] = &[
    r#"{"UserName":"u1","AccessString":"on ~* +@all","AuthenticationMode":{"Type":"password","Passwords":["a-long-enough-password"]}}"#,
    r#"{"ACLName":"team","UserNames":["u1","default"]}"#,
    r#"{"ACLName":"team","UserNamesToAdd":["u1"],"UserNamesToRemove":["default"]}"#,
    r#"{"UserName":"u1","AccessString":"off -@all","AuthenticationMode":{"Type":"iam"}}"#,
    r#"{"MaxResults":5,"NextToken":"bWVtc2hpZnQxOnUx","Filters":[{"Name":"ACLName","Values":["team"]}]}"#,
    r#"{"ResourceArn":"arn:aws:memorydb:us-east-1:000000000000:user/u1","Tags":[{"Key":"k","Value":"v"}]}"#,
    "{}",
];
const TARGETS: &[&str] = &[
    "CreateUser",
    "DescribeUsers",
    "UpdateUser",
    "DeleteUser",
    "CreateACL",
    "DescribeACLs",
    "UpdateACL",
    "DeleteACL",
    "TagResource",
    "UntagResource",
    "ListTags",
    "CreateCluster",
    "Nonsense",
];
const FORMS: &[&str] = &[
    "Action=CreateCluster&Version=2012-12-01&ClusterIdentifier=c1&NodeType=dc2.large&MasterUsername=admin&MasterUserPassword=Sup3rSecret",
    "Action=GetClusterCredentials&Version=2012-12-01&ClusterIdentifier=c1&DbUser=alice&DbGroups.DbGroup.1=g&DurationSeconds=900",
    "Action=GetClusterCredentialsWithIAM&Version=2012-12-01&ClusterIdentifier=c1",
    "Action=DescribeClusters&Version=2012-12-01&MaxRecords=20&TagKeys.TagKey.1=k",
    "Action=CreateTags&Version=2012-12-01&ResourceName=arn%3Aaws%3Aredshift%3Aus-east-1%3A000000000000%3Acluster%3Ac1&Tags.Tag.1.Key=k&Tags.Tag.1.Value=v",
    "Action=DeleteCluster&Version=2012-12-01&ClusterIdentifier=c1&SkipFinalClusterSnapshot=true",
    "Action=CreateCustomDomainAssociation&Version=2012-12-01&ClusterIdentifier=c1&CustomDomainName=db.example.com&CustomDomainCertificateArn=arn%3Aaws%3Aacm%3Aus-east-1%3A000000000000%3Acertificate%2Fx",
];
const CONTENT_TYPES: &[&str] = &[
    "application/x-amz-json-1.1",
    "application/x-amz-json-1.0",
    "application/json",
    "application/x-www-form-urlencoded; charset=utf-8",
    "text/xml",
    "multipart/form-data; boundary=x",
    "",
];
const PATHS: &[&str] = &[
    "/",
    "/",
    "/",
    "//",
    "/x",
    "/?Action=DescribeClusters&Version=2012-12-01",
    "/_memshift/health",
    "/%FF",
];
const METHODS: &[&str] = &[
    "POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS",
];
const AUTHS: &[&str] = &[
    "AWS4-HMAC-SHA256 Credential=123456789012/20261121/eu-west-1/memorydb/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
    "AWS4-HMAC-SHA256 Credential=AKIA/20261121/us-east-1/redshift/aws4_request, SignedHeaders=host, Signature=0",
    "AWS4-HMAC-SHA256 Credential=//////, Signature=",
    "AWS4-HMAC-SHA256 Credential=123456789012/x/cn-north-1/memorydb/aws4_request",
    "Basic Zm9vOmJhcg==",
    "",
];

/// Bends a valid body: flips, cuts, repeats, inserts odd bytes.
fn mutate(rng: &mut StdRng, body: &str) -> Vec<u8> {
    let mut bytes = body.as_bytes().to_vec();
    for _ in 0..rng.random_range(0..4) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..7) {
            0 => bytes[at] = rng.random(),
            1 => bytes.truncate(at),
            2 => {
                const ODD: &[u8] = b"\"{}[]:,=&%\\\x00\xff.123";
                bytes.insert(at, ODD[rng.random_range(0..ODD.len())]);
            }
            3 => {
                let tail = bytes[at..].to_vec();
                bytes.extend_from_slice(&tail);
            }
            4 => bytes
                .splice(at..at, b"%E2%82".iter().copied())
                .for_each(drop),
            5 => bytes
                .splice(at..at, b".member.99999".iter().copied())
                .for_each(drop),
            _ => bytes.splice(at..at, "\u{1F600}".bytes()).for_each(drop),
        }
    }
    bytes
}

fn random_request(rng: &mut StdRng) -> Request<Full<Bytes>> {
    // Most requests are well addressed, so that most reach the services.
    let method = if rng.random_bool(0.85) {
        "POST"
    } else {
        METHODS[rng.random_range(0..METHODS.len())]
    };
    let path = if rng.random_bool(0.85) {
        "/"
    } else {
        PATHS[rng.random_range(0..PATHS.len())]
    };
    let mut builder = Request::builder().method(method).uri(path);
    let json = rng.random_bool(0.5);
    let body = if json {
        if rng.random_bool(0.9) {
            let target = TARGETS[rng.random_range(0..TARGETS.len())];
            let prefix = if rng.random_bool(0.95) {
                "AmazonMemoryDB."
            } else {
                "DynamoDB_20120810."
            };
            builder = builder.header("x-amz-target", format!("{prefix}{target}"));
        }
        let body = JSON_BODIES[rng.random_range(0..JSON_BODIES.len())];
        mutate(rng, body)
    } else {
        let body = FORMS[rng.random_range(0..FORMS.len())];
        mutate(rng, body)
    };
    let content_type = CONTENT_TYPES[rng.random_range(0..CONTENT_TYPES.len())];
    if !content_type.is_empty() {
        builder = builder.header("content-type", content_type);
    }
    let auth = AUTHS[rng.random_range(0..AUTHS.len())];
    if !auth.is_empty() {
        builder = builder.header("authorization", auth);
    }
    if rng.random_bool(0.1) {
        let junk: Vec<u8> = (0..rng.random_range(1..40))
            .map(|_| rng.random_range(0x20..0x7f))
            .collect();
        builder = builder.header("x-amz-date", junk);
    }
    if rng.random_bool(0.05) {
        // A declared length that does not match the body.
        builder = builder.header("content-length", "5");
    }
    builder.body(Full::new(Bytes::from(body))).unwrap()
}

/// The answer is an AWS error or success document in one of the two protocols.
fn assert_aws_shaped(status: u16, content_type: &str, body: &[u8], seed: u64) {
    assert!(
        status < 500,
        "seed {seed}: status {status}: {}",
        String::from_utf8_lossy(body)
    );
    let text = std::str::from_utf8(body).unwrap_or_else(|_| panic!("seed {seed}: a UTF-8 body"));
    if content_type.starts_with("application/x-amz-json-1.1") || content_type == "application/json"
    {
        let value: serde_json::Value = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("seed {seed}: JSON answer ({e}): {text}"));
        assert!(value.is_object(), "seed {seed}: {text}");
        if status >= 400 {
            assert!(value["__type"].is_string(), "seed {seed}: {text}");
            assert!(value["message"].is_string(), "seed {seed}: {text}");
        }
    } else {
        assert!(
            content_type.starts_with("text/xml"),
            "seed {seed}: content type {content_type:?}"
        );
        if status >= 400 {
            assert!(text.starts_with("<ErrorResponse"), "seed {seed}: {text}");
            assert!(
                text.contains("<Code>") && text.contains("<RequestId>"),
                "seed {seed}: {text}"
            );
        } else {
            assert!(text.contains("Response xmlns="), "seed {seed}: {text}");
        }
    }
}

async fn send(shared: &Arc<Shared>, request: Request<Full<Bytes>>) -> (u16, String, Bytes) {
    let response = respond(Arc::clone(shared), request).await;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, body)
}

#[tokio::test]
async fn random_and_mutated_requests_get_aws_shaped_answers() {
    let shared = prepare(&Config::ephemeral()).await.unwrap();
    let mut statuses = std::collections::BTreeMap::new();
    for seed in 0..REQUESTS as u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let request = random_request(&mut rng);
        let (status, content_type, body) = send(&shared, request).await;
        *statuses.entry(status).or_insert(0u32) += 1;
        if content_type == "application/json" && body.starts_with(b"{\"status\"") {
            continue; // the health endpoint
        }
        assert_aws_shaped(status, &content_type, &body, seed);
    }
    println!("statuses of {REQUESTS} random requests: {statuses:?}");
    // The mix reached the services, not only the protocol checks.
    assert!(
        statuses.get(&200).copied().unwrap_or(0) > 100,
        "{statuses:?}"
    );
    assert!(statuses.len() >= 4, "{statuses:?}");

    // The built-in user and ACL survived everything.
    let request = Request::post("/")
        .header("x-amz-target", "AmazonMemoryDB.DescribeACLs")
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(Bytes::from_static(
            b"{\"ACLName\":\"open-access\"}",
        )))
        .unwrap();
    let (status, _, body) = send(&shared, request).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("\"default\""));
}
