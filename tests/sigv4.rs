//! `--verify-sigv4`: requests signed by the official SDK with the right secret pass;
//! a wrong secret, an unknown key, a bad region, a stale date and a tampered body fail
//! with the codes and statuses AWS gives in each protocol.

mod common;

use std::time::{Duration, SystemTime};

use aws_sdk_memorydb::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_memorydb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_memorydb::error::{BoxError, ProvideErrorMetadata};
use aws_smithy_async::time::StaticTimeSource;
use aws_smithy_types::body::SdkBody;
use common::{redshift_status, status};
use memshift::{Config, Server};

const KEY: &str = "AKIAMEMSHIFTTEST0001";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLE";
const ACCOUNT: &str = "111122223333";

async fn verifying_server() -> (Server, tempfile_path::Path) {
    let file = tempfile_path::Path::new("credentials.json");
    std::fs::write(
        file.path(),
        format!(
            r#"[{{"access_key_id":"{KEY}","secret_access_key":"{SECRET}","account":"{ACCOUNT}","user":"alice"}}]"#
        ),
    )
    .unwrap();
    let server = memshift::start(&Config {
        credentials_file: Some(file.path().to_owned()),
        verify_sigv4: true,
        ..Config::ephemeral()
    })
    .await
    .expect("server starts");
    (server, file)
}

/// A scratch file removed when dropped.
mod tempfile_path {
    pub struct Path(std::path::PathBuf);

    impl Path {
        pub fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "memshift-sigv4-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Path(dir.join(name))
        }

        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Path {
        fn drop(&mut self) {
            if let Some(dir) = self.0.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

struct Client<'a> {
    server: &'a Server,
    key: &'a str,
    secret: &'a str,
    region: &'a str,
    time: Option<SystemTime>,
    tamper: bool,
}

impl<'a> Client<'a> {
    fn new(server: &'a Server) -> Self {
        Client {
            server,
            key: KEY,
            secret: SECRET,
            region: "eu-west-1",
            time: None,
            tamper: false,
        }
    }

    fn memorydb(&self) -> aws_sdk_memorydb::Client {
        let mut config = aws_sdk_memorydb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.to_owned()))
            .credentials_provider(Credentials::new(self.key, self.secret, None, None, "t"))
            .endpoint_url(self.server.url())
            .retry_config(aws_sdk_memorydb::config::retry::RetryConfig::disabled());
        if let Some(t) = self.time {
            config = config.time_source(StaticTimeSource::new(t));
        }
        if self.tamper {
            config = config.interceptor(Tamper);
        }
        aws_sdk_memorydb::Client::from_conf(config.build())
    }

    fn redshift(&self) -> aws_sdk_redshift::Client {
        let mut config = aws_sdk_redshift::Config::builder()
            .behavior_version(aws_sdk_redshift::config::BehaviorVersion::latest())
            .region(aws_sdk_redshift::config::Region::new(
                self.region.to_owned(),
            ))
            .credentials_provider(aws_sdk_redshift::config::Credentials::new(
                self.key,
                self.secret,
                None,
                None,
                "t",
            ))
            .endpoint_url(self.server.url())
            .retry_config(aws_sdk_redshift::config::retry::RetryConfig::disabled());
        if let Some(t) = self.time {
            config = config.time_source(StaticTimeSource::new(t));
        }
        if self.tamper {
            config = config.interceptor(Tamper);
        }
        aws_sdk_redshift::Client::from_conf(config.build())
    }
}

/// Changes the body after the SDK has signed it, as a man in the middle would.
#[derive(Debug)]
struct Tamper;

impl Intercept for Tamper {
    fn name(&self) -> &'static str {
        "Tamper"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context
            .request()
            .body()
            .bytes()
            .unwrap_or_default()
            .to_vec();
        let tampered = String::from_utf8(body).unwrap().replace("app", "apq");
        *context.request_mut().body_mut() = SdkBody::from(tampered);
        Ok(())
    }
}

async fn create_cluster(client: &aws_sdk_redshift::Client, id: &str) -> Result<(), (String, u16)> {
    common::try_create_cluster(client, id)
        .await
        .map(drop)
        .map_err(|e| (e.code().unwrap_or_default().to_owned(), redshift_status(&e)))
}

/// Both services' answers to a client that should be refused: (code, message, status) of
/// CreateUser and (code, status) of CreateCluster.
async fn refusals(client: &Client<'_>) -> ((String, String, u16), (String, u16)) {
    let memorydb = create_user(&client.memorydb(), "app-user")
        .await
        .expect_err("CreateUser refused");
    let redshift = create_cluster(&client.redshift(), "app-cluster")
        .await
        .expect_err("CreateCluster refused");
    (memorydb, redshift)
}

/// Refused calls created nothing: a correctly signed client sees the initial state.
async fn assert_nothing_created(server: &Server) {
    let ok = Client::new(server);
    let users = ok.memorydb().describe_users().send().await.unwrap();
    assert_eq!(users.users().len(), 1);
    let clusters = ok.redshift().describe_clusters().send().await.unwrap();
    assert!(clusters.clusters().is_empty());
}

async fn create_user(
    client: &aws_sdk_memorydb::Client,
    name: &str,
) -> Result<String, (String, String, u16)> {
    client
        .create_user()
        .user_name(name)
        .access_string("on ~app:* +@read")
        .authentication_mode(
            aws_sdk_memorydb::types::AuthenticationMode::builder()
                .r#type(aws_sdk_memorydb::types::InputAuthenticationType::Password)
                .passwords("a-long-enough-password")
                .build(),
        )
        .send()
        .await
        .map(|o| o.user().unwrap().arn().unwrap().to_owned())
        .map_err(|e| {
            (
                e.code().unwrap_or_default().to_owned(),
                e.message().unwrap_or_default().to_owned(),
                status(&e),
            )
        })
}

#[tokio::test]
async fn the_right_secret_passes_and_the_key_names_the_account_and_identity() {
    let (server, _file) = verifying_server().await;
    let client = Client::new(&server);
    let arn = create_user(&client.memorydb(), "app-user").await.unwrap();
    assert_eq!(
        arn,
        format!("arn:aws:memorydb:eu-west-1:{ACCOUNT}:user/app-user")
    );

    let redshift = client.redshift();
    create_cluster(&redshift, "signed").await.unwrap();
    let creds = redshift
        .get_cluster_credentials_with_iam()
        .cluster_identifier("signed")
        .send()
        .await
        .unwrap();
    assert_eq!(creds.db_user(), Some("IAM:alice"));
}

#[tokio::test]
async fn a_wrong_secret_fails_in_both_protocols() {
    let (server, _file) = verifying_server().await;
    let client = Client {
        secret: "not-the-secret",
        ..Client::new(&server)
    };
    let ((code, message, http), (query_code, query_http)) = refusals(&client).await;
    assert_eq!((code.as_str(), http), ("InvalidSignatureException", 400));
    assert!(
        message.starts_with("The request signature we calculated does not match"),
        "{message}"
    );
    assert!(message.contains("The Canonical String for this request should have been"));
    assert!(!message.contains(SECRET));

    let (code, http) = (query_code, query_http);
    assert_eq!((code.as_str(), http), ("SignatureDoesNotMatch", 403));

    // Nothing was created by either.
    assert_nothing_created(&server).await;
}

#[tokio::test]
async fn an_unknown_key_is_not_recognised() {
    let (server, _file) = verifying_server().await;
    let client = Client {
        key: "AKIANOBODYKNOWSTHIS1",
        ..Client::new(&server)
    };
    let ((code, message, http), (query_code, query_http)) = refusals(&client).await;
    assert_eq!((code.as_str(), http), ("UnrecognizedClientException", 400));
    assert_eq!(
        message,
        "The security token included in the request is invalid."
    );
    let (code, http) = (query_code, query_http);
    assert_eq!((code.as_str(), http), ("InvalidClientTokenId", 403));
}

#[tokio::test]
async fn a_region_that_does_not_exist_is_refused() {
    let (server, _file) = verifying_server().await;
    let client = Client {
        region: "mars-north-1",
        ..Client::new(&server)
    };
    let ((code, message, http), (query_code, query_http)) = refusals(&client).await;
    assert_eq!((code.as_str(), http), ("InvalidSignatureException", 400));
    assert!(
        message.contains("Credential should be scoped to a valid region."),
        "{message}"
    );
    let (code, http) = (query_code, query_http);
    assert_eq!((code.as_str(), http), ("SignatureDoesNotMatch", 403));
}

#[tokio::test]
async fn a_stale_or_future_date_is_refused() {
    let (server, _file) = verifying_server().await;
    let now = SystemTime::now();
    // 14 minutes off is within the allowed skew.
    for offset in [-840i64, 840] {
        let time = if offset < 0 {
            now - Duration::from_secs(offset.unsigned_abs())
        } else {
            now + Duration::from_secs(offset.unsigned_abs())
        };
        let client = Client {
            time: Some(time),
            ..Client::new(&server)
        };
        create_user(
            &client.memorydb(),
            &format!("skew{}", offset.abs() + offset.signum()),
        )
        .await
        .unwrap();
    }
    let stale = Client {
        time: Some(now - Duration::from_mins(16)),
        ..Client::new(&server)
    };
    let (code, message, http) = create_user(&stale.memorydb(), "late").await.unwrap_err();
    assert_eq!((code.as_str(), http), ("InvalidSignatureException", 400));
    assert!(message.starts_with("Signature expired: "), "{message}");
    assert!(message.ends_with(" - 15 min.)"), "{message}");
    let (code, http) = create_cluster(&stale.redshift(), "c1").await.unwrap_err();
    assert_eq!((code.as_str(), http), ("SignatureDoesNotMatch", 403));

    let future = Client {
        time: Some(now + Duration::from_mins(16)),
        ..Client::new(&server)
    };
    let (code, message, _) = create_user(&future.memorydb(), "early").await.unwrap_err();
    assert_eq!(code, "InvalidSignatureException");
    assert!(
        message.starts_with("Signature not yet current: "),
        "{message}"
    );
}

#[tokio::test]
async fn a_tampered_body_is_refused_and_changes_nothing() {
    let (server, _file) = verifying_server().await;
    let client = Client {
        tamper: true,
        ..Client::new(&server)
    };
    let (code, _, http) = create_user(&client.memorydb(), "app-user")
        .await
        .unwrap_err();
    assert_eq!((code.as_str(), http), ("InvalidSignatureException", 400));
    // "app" in the body became "apq" after signing: in the cluster name too.
    let (code, http) = create_cluster(&client.redshift(), "app-cluster")
        .await
        .unwrap_err();
    assert_eq!((code.as_str(), http), ("SignatureDoesNotMatch", 403));

    assert_nothing_created(&server).await;
}

/// Raw requests: no signature, or one missing its parts.
#[tokio::test]
async fn missing_and_incomplete_signatures_are_named() {
    let (server, _file) = verifying_server().await;
    let http = reqwest::Client::new();
    let json = |auth: Option<&str>| {
        let mut r = http
            .post(server.url())
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "AmazonMemoryDB.DescribeUsers")
            .body("{}");
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r
    };
    let r = json(None).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");
    assert_eq!(body["message"], "Request is missing Authentication Token");

    let r = json(Some(
        "AWS4-HMAC-SHA256 Credential=AKIAMEMSHIFTTEST0001/20261121/us-east-1/memorydb/aws4_request",
    ))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["__type"], "IncompleteSignatureException");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("Authorization header requires 'Signature' parameter."),
        "{message}"
    );
    assert!(
        message.contains("Authorization header requires 'SignedHeaders' parameter."),
        "{message}"
    );

    let query = http
        .post(server.url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Action=DescribeClusters&Version=2012-12-01")
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), 403);
    let text = query.text().await.unwrap();
    assert!(
        text.contains("<Code>MissingAuthenticationToken</Code>"),
        "{text}"
    );
    assert!(text.contains("<Type>Sender</Type>"), "{text}");

    // The admin endpoints stay open.
    let health = http
        .get(format!("{}/_memshift/health", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn verification_needs_a_credentials_file() {
    let err = memshift::start(&Config {
        verify_sigv4: true,
        ..Config::ephemeral()
    })
    .await
    .err()
    .expect("start-up refused");
    assert!(err.contains("--credentials-file"), "{err}");
}
