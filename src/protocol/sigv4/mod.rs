//! Signature Version 4 checking, for `--verify-sigv4`.
//!
//! The caller's signature is recomputed from the request as it arrived, with the secret
//! of its access key from the credentials file, and compared in constant time:
//!
//! ```text
//! CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
//!                    SignedHeaders \n hex(SHA-256(body))
//! StringToSign     = "AWS4-HMAC-SHA256" \n X-Amz-Date \n date/region/service/aws4_request \n
//!                    hex(SHA-256(CanonicalRequest))
//! Signature        = hex(HMAC(HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region),
//!                    service), "aws4_request"), StringToSign))
//! ```
//!
//! Both forms are read: the `Authorization` header, and the query parameters of a
//! presigned URL (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
//! `X-Amz-SignedHeaders`, `X-Amz-Signature`). The request date may differ from the
//! server's clock by 15 minutes at most, as on AWS.

use std::fmt::Write as _;

use axum::http::{HeaderMap, HeaderName, StatusCode};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

mod keys;
mod parse;
pub use keys::{Key, Keys};
use parse::{ALGORITHM, AuthorizationFields, authorization_fields, encode};
pub use parse::{Credential, credential_from_authorization, decode_query, parse_credential};

use crate::protocol::Protocol;
use crate::protocol::error::{ErrorParts, Fault};

const MAX_SKEW_MINUTES: i64 = 15;

static X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
/// The longest a presigned URL may be valid, as on AWS: seven days.
const MAX_EXPIRES_SECONDS: i64 = 7 * 24 * 3600;

/// Why a request's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// Neither an `Authorization` header nor presigned query parameters.
    Missing,
    /// The signature is there but malformed or incomplete.
    Incomplete(String),
    /// The access key id is not in the credentials file.
    UnknownKey,
    /// The signature, its scope or its date is wrong. JSON services append the detail
    /// (the canonical request and string to sign memshift computed); Query services do not.
    Mismatch(String, Option<String>),
}

impl AuthError {
    /// The error as AWS answers it in each protocol.
    #[must_use]
    pub fn parts(&self, protocol: Protocol) -> ErrorParts {
        let json = protocol == Protocol::Json;
        let (code, status, message) = match self {
            AuthError::Missing => (
                if json {
                    "MissingAuthenticationTokenException"
                } else {
                    "MissingAuthenticationToken"
                },
                if json {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::FORBIDDEN
                },
                "Request is missing Authentication Token".to_owned(),
            ),
            AuthError::Incomplete(m) => (
                if json {
                    "IncompleteSignatureException"
                } else {
                    "IncompleteSignature"
                },
                StatusCode::BAD_REQUEST,
                m.clone(),
            ),
            AuthError::UnknownKey => (
                if json {
                    "UnrecognizedClientException"
                } else {
                    "InvalidClientTokenId"
                },
                if json {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::FORBIDDEN
                },
                "The security token included in the request is invalid.".to_owned(),
            ),
            AuthError::Mismatch(m, detail) => (
                if json {
                    "InvalidSignatureException"
                } else {
                    "SignatureDoesNotMatch"
                },
                if json {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::FORBIDDEN
                },
                match detail {
                    Some(d) if json => format!("{m}{d}"),
                    _ => m.clone(),
                },
            ),
        };
        ErrorParts {
            code,
            status,
            fault: Fault::Sender,
            message,
        }
    }
}

/// A request as it arrived, for checking its signature.
pub struct Signed<'a> {
    pub method: &'a str,
    /// The path as sent, still percent-encoded.
    pub path: &'a str,
    /// The query string as sent, without `?`.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

fn mismatch(message: &str) -> AuthError {
    AuthError::Mismatch(message.to_owned(), None)
}

/// The parts of a signature, from the header or the query.
struct Claim<'a> {
    credential: &'a str,
    signed_headers: Vec<String>,
    signature: &'a str,
    date: String,
    /// For presigned URLs: how long the signature is valid, in seconds.
    expires: Option<i64>,
}

/// Checks a request's signature against the keys; answers the key it was signed with.
///
/// `services` are the signing names the request may be scoped to.
///
/// # Errors
/// The error AWS answers for the first fault found.
pub fn verify<'k>(
    request: &Signed<'_>,
    keys: &'k Keys,
    services: &[&str],
    now: DateTime<Utc>,
) -> Result<&'k Key, AuthError> {
    let query = decode_query(request.query);
    let authorization = request
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default());
    let presigned = query.iter().any(|(k, _)| k == "X-Amz-Algorithm");
    if authorization.is_some() && presigned {
        return Err(mismatch(
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP \
             header.",
        ));
    }
    let claim = match authorization {
        Some(header) if header.starts_with("AWS4-") => from_header(header, request.headers)?,
        None if presigned => from_query(&query)?,
        _ => return Err(AuthError::Missing),
    };
    // In AWS's order: the date, the signed headers, the credential scope, the key.
    check_date(&claim, now)?;
    if !claim.signed_headers.iter().any(|h| h == "host") {
        return Err(mismatch(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let scope = claim.scope()?;
    check_scope(&claim, &scope, services)?;
    let key = keys.get(scope.access_key_id).ok_or(AuthError::UnknownKey)?;
    let canonical = canonical_request(request, &query, &claim, presigned);
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        claim.date,
        claim.credential.split_once('/').map_or("", |(_, s)| s),
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let expected = signature(
        key.secret.expose(),
        scope.date,
        scope.region,
        scope.service,
        &string_to_sign,
    );
    if expected.as_bytes().ct_eq(claim.signature.as_bytes()).into() {
        Ok(key)
    } else {
        Err(AuthError::Mismatch(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details."
                .to_owned(),
            Some(format!(
                "\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n\
                 The String-to-Sign should have been\n'{string_to_sign}'\n"
            )),
        ))
    }
}

/// `HMAC(kSigning, StringToSign)` as lowercase hex, from the secret and the scope.
#[must_use]
pub fn signature(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
    string_to_sign: &str,
) -> String {
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    key = hmac(&key, region.as_bytes());
    key = hmac(&key, service.as_bytes());
    key = hmac(&key, b"aws4_request");
    hex::encode(hmac(&key, string_to_sign.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn from_header<'a>(header: &'a str, headers: &HeaderMap) -> Result<Claim<'a>, AuthError> {
    let algorithm = header.split_whitespace().next().unwrap_or_default();
    if algorithm != ALGORITHM {
        return Err(AuthError::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}' (only AWS4-HMAC-SHA256 for now). "
        )));
    }
    // The first of each field, as the request context reads it.
    let AuthorizationFields {
        credential,
        signed_headers: signed,
        signature,
    } = authorization_fields(&header[ALGORITHM.len()..]);
    let date = headers
        .get(&X_AMZ_DATE)
        .or_else(|| headers.get(axum::http::header::DATE))
        .and_then(|v| v.to_str().ok());
    let mut missing = String::new();
    for (present, name) in [
        (credential.is_some(), "'Credential' parameter"),
        (signature.is_some(), "'Signature' parameter"),
        (signed.is_some(), "'SignedHeaders' parameter"),
        (
            date.is_some(),
            "existence of either a 'X-Amz-Date' or a 'Date' header",
        ),
    ] {
        if !present {
            let _ = write!(missing, "Authorization header requires {name}. ");
        }
    }
    let (Some(credential), Some(signed), Some(signature), Some(date)) =
        (credential, signed, signature, date)
    else {
        return Err(AuthError::Incomplete(format!(
            "{missing}Authorization={header}"
        )));
    };
    Ok(claim(credential, signed, signature, date, None))
}

fn from_query(query: &[(String, String)]) -> Result<Claim<'_>, AuthError> {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let algorithm = get("X-Amz-Algorithm").unwrap_or_default();
    if algorithm != ALGORITHM {
        return Err(AuthError::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}' (only AWS4-HMAC-SHA256 for now). "
        )));
    }
    let mut missing = Vec::new();
    for name in [
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ] {
        if get(name).is_none() {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        return Err(AuthError::Incomplete(format!(
            "AWS query-string parameters must include {}. Re-examine the query-string \
             parameters.",
            missing
                .iter()
                .map(|m| format!("'{m}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let expires = match get("X-Amz-Expires") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=MAX_EXPIRES_SECONDS).contains(&n) => Some(n),
            _ => {
                return Err(AuthError::Incomplete(format!(
                    "X-Amz-Expires must be a number of seconds from 1 to {MAX_EXPIRES_SECONDS}, \
                     got '{v}'."
                )));
            }
        },
    };
    Ok(claim(
        get("X-Amz-Credential").unwrap_or_default(),
        get("X-Amz-SignedHeaders").unwrap_or_default(),
        get("X-Amz-Signature").unwrap_or_default(),
        get("X-Amz-Date").unwrap_or_default(),
        Some(expires.unwrap_or(MAX_EXPIRES_SECONDS)),
    ))
}

fn claim<'a>(
    credential: &'a str,
    signed: &str,
    signature: &'a str,
    date: &str,
    expires: Option<i64>,
) -> Claim<'a> {
    Claim {
        credential,
        signed_headers: signed.split(';').map(str::to_ascii_lowercase).collect(),
        signature,
        date: date.to_owned(),
        expires,
    }
}

impl<'a> Claim<'a> {
    fn scope(&self) -> Result<Credential<'a>, AuthError> {
        Credential::split(self.credential).ok_or_else(|| {
            AuthError::Incomplete(format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. \
                 keyid/date/region/service/term, got '{}'",
                self.credential
            ))
        })
    }
}

/// Every fault of the scope, one sentence each, as AWS lists them.
fn check_scope(
    claim: &Claim<'_>,
    scope: &Credential<'_>,
    services: &[&str],
) -> Result<(), AuthError> {
    let mut faults = String::new();
    if !is_region(scope.region) {
        faults.push_str("Credential should be scoped to a valid region. ");
    }
    if !services.contains(&scope.service) {
        let _ = write!(
            faults,
            "Credential should be scoped to correct service: '{}'. ",
            services.first().copied().unwrap_or_default()
        );
    }
    if scope.terminator != "aws4_request" {
        let _ = write!(
            faults,
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ",
            scope.terminator
        );
    }
    if claim.date.get(..8) != Some(scope.date) {
        let _ = write!(
            faults,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{}' != '{}', from '{}'. ",
            scope.date,
            claim.date.get(..8).unwrap_or(&claim.date),
            claim.date
        );
    }
    if faults.is_empty() {
        Ok(())
    } else {
        Err(AuthError::Mismatch(faults, None))
    }
}

/// A region name as AWS forms them: an area, a direction and a number
/// (`us-east-1`, `ap-southeast-2`, `us-gov-west-1`, `cn-northwest-1`).
#[must_use]
pub fn is_region(region: &str) -> bool {
    const AREAS: &[&str] = &[
        "af", "ap", "ca", "cn", "eu", "il", "me", "mx", "sa", "us", "us-gov", "us-iso", "us-isob",
        "eu-isoe", "us-isof",
    ];
    const DIRECTIONS: &[&str] = &[
        "central",
        "east",
        "north",
        "northeast",
        "northwest",
        "south",
        "southeast",
        "southwest",
        "west",
    ];
    let Some((rest, number)) = region.rsplit_once('-') else {
        return false;
    };
    let Some((area, direction)) = rest.rsplit_once('-') else {
        return false;
    };
    !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
        && AREAS.contains(&area)
        && DIRECTIONS.contains(&direction)
}

/// Parses `YYYYMMDDTHHMMSSZ` and checks it is within the allowed skew (or, presigned,
/// within its validity).
fn check_date(claim: &Claim<'_>, now: DateTime<Utc>) -> Result<(), AuthError> {
    let signed_at = NaiveDateTime::parse_from_str(&claim.date, "%Y%m%dT%H%M%SZ")
        .map(|d| d.and_utc())
        .map_err(|_| {
            AuthError::Incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{}'. See \
                 http://en.wikipedia.org/wiki/ISO_8601",
                claim.date
            ))
        })?;
    let skew = TimeDelta::minutes(MAX_SKEW_MINUTES);
    let basic = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    if let Some(expires) = claim.expires {
        let until = signed_at + TimeDelta::seconds(expires);
        if now > until {
            return Err(AuthError::Mismatch(
                format!(
                    "Signature expired: {} is now earlier than {} ({} - {expires} sec.)",
                    claim.date,
                    basic(now - TimeDelta::seconds(expires)),
                    basic(now)
                ),
                None,
            ));
        }
    } else if signed_at < now - skew {
        return Err(AuthError::Mismatch(
            format!(
                "Signature expired: {} is now earlier than {} ({} - {MAX_SKEW_MINUTES} min.)",
                claim.date,
                basic(now - skew),
                basic(now)
            ),
            None,
        ));
    }
    if signed_at > now + skew {
        return Err(AuthError::Mismatch(
            format!(
                "Signature not yet current: {} is still later than {} ({} + {MAX_SKEW_MINUTES} \
                 min.)",
                claim.date,
                basic(now + skew),
                basic(now)
            ),
            None,
        ));
    }
    Ok(())
}

fn canonical_request(
    request: &Signed<'_>,
    query: &[(String, String)],
    claim: &Claim<'_>,
    presigned: bool,
) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(request.method);
    out.push('\n');
    out.push_str(&canonical_uri(request.path));
    out.push('\n');
    let mut pairs: Vec<_> = query
        .iter()
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .map(|(k, v)| (encode(k), encode(v)))
        .collect();
    pairs.sort();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        let _ = write!(out, "{k}={v}");
    }
    out.push('\n');
    for name in &claim.signed_headers {
        let values: Vec<String> = request
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| collapse_spaces(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        let _ = writeln!(out, "{name}:{}", values.join(","));
    }
    out.push('\n');
    out.push_str(&claim.signed_headers.join(";"));
    out.push('\n');
    out.push_str(&hex::encode(Sha256::digest(request.body)));
    out
}

/// The path with each segment encoded once more, as SigV4 wants it for every service but
/// S3; an empty path is `/`.
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    path.split('/').map(encode).collect::<Vec<_>>().join("/")
}

fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
