//! MemoryDB IAM authentication tokens, as the Redis fronts check them: a SigV4-presigned
//! `connect` URL for one cluster and one user, valid for at most 15 minutes on memshift's
//! clock, and with `--verify-sigv4` signed by a key of the credentials file.
//!
//! ```text
//! <cluster-name>/?Action=connect&User=<user>&X-Amz-Algorithm=AWS4-HMAC-SHA256
//!   &X-Amz-Credential=<key>/<date>/<region>/memorydb/aws4_request&X-Amz-Date=...
//!   &X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=...
//! ```

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use crate::engines::proxy::TokenAuth;
use crate::protocol::sigv4::{Keys, Signed, decode_query, verify};

/// The longest a token may be valid, as on MemoryDB: 15 minutes.
const MAX_TOKEN_SECONDS: i64 = 900;

/// How tokens are checked: the keys to verify signatures with (only with
/// `--verify-sigv4`), and memshift's clock.
pub struct IamTokens {
    pub verify_with: Option<Keys>,
    pub now: Box<dyn Fn() -> DateTime<Utc> + Send + Sync>,
}

impl TokenAuth for IamTokens {
    /// Checks a MemoryDB IAM token for `user` on `cluster`.
    fn check(&self, token: &str, user: &str, cluster: &str) -> Result<(), String> {
        check_token(token, user, cluster, self)
    }
}

fn check_token(token: &str, user: &str, cluster: &str, auth: &IamTokens) -> Result<(), String> {
    let token = token
        .strip_prefix("https://")
        .or_else(|| token.strip_prefix("http://"))
        .unwrap_or(token);
    let (host, rest) = token.split_once('/').ok_or("not a presigned URL")?;
    let query = rest.strip_prefix('?').ok_or("not a presigned URL")?;
    if !host.eq_ignore_ascii_case(cluster) {
        return Err(format!("signed for cluster {host}"));
    }
    let params: HashMap<String, String> = decode_query(query).into_iter().collect();
    if params.get("Action").map(String::as_str) != Some("connect") {
        return Err("not a connect token".to_owned());
    }
    if params.get("User").map(String::as_str) != Some(user) {
        return Err("signed for another user".to_owned());
    }
    let date = params.get("X-Amz-Date").ok_or("no X-Amz-Date")?;
    let signed_at = NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| "a malformed X-Amz-Date")?
        .and_utc();
    let expires: i64 = params
        .get("X-Amz-Expires")
        .and_then(|v| v.parse().ok())
        .ok_or("no X-Amz-Expires")?;
    if !(1..=MAX_TOKEN_SECONDS).contains(&expires) {
        return Err(format!(
            "X-Amz-Expires {expires} is over {MAX_TOKEN_SECONDS} seconds"
        ));
    }
    let now = (auth.now)();
    if now > signed_at + TimeDelta::seconds(expires) {
        return Err("expired".to_owned());
    }
    if signed_at > now + TimeDelta::minutes(15) {
        return Err("signed in the future".to_owned());
    }
    if let Some(keys) = &auth.verify_with {
        let mut headers = HeaderMap::new();
        headers.insert(
            "host",
            HeaderValue::from_str(host).map_err(|_| "a malformed host")?,
        );
        let request = Signed {
            method: "GET",
            path: "/",
            query,
            headers: &headers,
            body: b"",
        };
        verify(&request, keys, &["memorydb"], now).map_err(|e| format!("{e:?}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_cluster_user_and_lifetime() {
        let now = Utc::now();
        let auth = IamTokens {
            verify_with: None,
            now: Box::new(move || now),
        };
        let date = now.format("%Y%m%dT%H%M%SZ");
        let token = format!(
            "orders/?Action=connect&User=app&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={date}&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
        );
        assert_eq!(check_token(&token, "app", "orders", &auth), Ok(()));
        assert!(check_token(&token, "other", "orders", &auth).is_err());
        assert!(check_token(&token, "app", "billing", &auth).is_err());
        let late = IamTokens {
            verify_with: None,
            now: Box::new(move || now + TimeDelta::minutes(16)),
        };
        assert_eq!(
            check_token(&token, "app", "orders", &late),
            Err("expired".to_owned())
        );
    }
}
