//! Who is calling, and where: the request id, account and region of one request.
//!
//! The account and region come from the SigV4 credential scope of the `Authorization`
//! header (or the `X-Amz-Credential` query parameter of a presigned request). An access
//! key id of exactly twelve digits is the account id; a key of the credentials file
//! belongs to the account the file gives it; any other key belongs to the default
//! account. Requests without a credential scope use the defaults.

use axum::http::HeaderMap;

use crate::protocol::context::{RequestId, new_request_id};
use crate::protocol::header_str;
use crate::protocol::sigv4::{credential_from_authorization, parse_credential};
use crate::state::{Scope, account_for_key};

/// What the services learn about a request besides its input.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: RequestId,
    pub scope: Scope,
    /// The access key id the request was signed with, if any.
    pub access_key_id: Option<String>,
}

impl RequestContext {
    /// A call made by memshift itself (the init file): no access key.
    #[must_use]
    pub fn internal(scope: Scope) -> Self {
        RequestContext {
            request_id: new_request_id(),
            scope,
            access_key_id: None,
        }
    }
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
        .and_then(header_str);
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
    use crate::state::{DEFAULT_ACCOUNT, DEFAULT_REGION};

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
