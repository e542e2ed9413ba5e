//! Who is calling, and where: the request id, account and region of one request.
//!
//! The account and region come from the SigV4 credential scope of the `Authorization`
//! header (or the `X-Amz-Credential` query parameter of a presigned request):
//!
//! ```text
//! Authorization: AWS4-HMAC-SHA256 Credential=123456789012/20261121/eu-west-1/memorydb/aws4_request, ...
//!                                            ^ account     ^ date   ^ region  ^ service
//! ```
//!
//! An access key id of exactly twelve digits is the account id; any other key belongs to
//! the default account. Requests without a credential scope use the defaults.

use axum::http::HeaderMap;

use crate::sigv4::{credential_from_authorization, parse_credential};

/// The default account, shared with other AWS emulators.
pub const DEFAULT_ACCOUNT: &str = "000000000000";
/// The default region when a request names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// One account in one region: the unit that owns resources.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

impl Scope {
    #[must_use]
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Scope {
            account: account.into(),
            region: region.into(),
        }
    }
}

/// The ARN partition of a region: `aws-cn` for China, `aws-us-gov` for GovCloud, else `aws`.
#[must_use]
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// What the services learn about a request besides its input.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: RequestId,
    pub scope: Scope,
    /// The access key id the request was signed with, if any.
    pub access_key_id: Option<String>,
}

/// A request id: a random UUID in its 36-character hyphenated form, kept inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RequestId([u8; 36]);

impl std::ops::Deref for RequestId {
    type Target = str;

    fn deref(&self) -> &str {
        // Written by `encode_lower`: ASCII hex digits and hyphens.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", &**self)
    }
}

/// A fresh request id: a random UUID, written without the formatting machinery or the heap.
#[must_use]
pub fn new_request_id() -> RequestId {
    let mut buf = [0u8; 36];
    uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
    RequestId(buf)
}

/// The account an access key id names: itself when it is exactly twelve digits.
#[must_use]
pub fn account_for_key(access_key_id: &str) -> Option<&str> {
    (access_key_id.len() == 12 && access_key_id.bytes().all(|b| b.is_ascii_digit()))
        .then_some(access_key_id)
}

/// Builds the context of a request from its headers (and, for presigned requests, the
/// `X-Amz-Credential` parameter found by the caller).
#[must_use]
pub fn context_from(
    headers: &HeaderMap,
    presigned_credential: Option<&str>,
    defaults: &Scope,
) -> RequestContext {
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let credential = authorization
        .and_then(credential_from_authorization)
        .or_else(|| presigned_credential.and_then(parse_credential));
    let (scope, access_key_id) = match credential {
        Some(c) => {
            let account = account_for_key(c.access_key_id).unwrap_or(&defaults.account);
            (
                Scope::new(account, c.region),
                Some(c.access_key_id.to_owned()),
            )
        }
        None => (defaults.clone(), None),
    };
    RequestContext {
        request_id: new_request_id(),
        scope,
        access_key_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_digit_keys_are_accounts() {
        assert_eq!(account_for_key("123456789012"), Some("123456789012"));
        assert_eq!(account_for_key("AKIAIOSFODNN7EXAMPLE"), None);
        assert_eq!(account_for_key("12345678901"), None);
        assert_eq!(account_for_key("12345678901a"), None);
    }

    #[test]
    fn credential_scope_is_read_from_the_authorization_header() {
        let h = "AWS4-HMAC-SHA256 Credential=123456789012/20261121/eu-west-1/memorydb/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        let c = credential_from_authorization(h).unwrap();
        assert_eq!(c.access_key_id, "123456789012");
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.service, "memorydb");
        assert!(credential_from_authorization("Basic abc").is_none());
        assert!(credential_from_authorization("AWS4-HMAC-SHA256 Credential=a/b/c").is_none());
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(partition("us-east-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }

    #[test]
    fn requests_without_credentials_use_the_defaults() {
        let defaults = Scope::new(DEFAULT_ACCOUNT, DEFAULT_REGION);
        let ctx = context_from(&HeaderMap::new(), None, &defaults);
        assert_eq!(ctx.scope, defaults);
        assert!(ctx.access_key_id.is_none());
        let ctx = context_from(
            &HeaderMap::new(),
            Some("111122223333/20261121/ap-south-1/redshift/aws4_request"),
            &defaults,
        );
        assert_eq!(ctx.scope, Scope::new("111122223333", "ap-south-1"));
    }
}
