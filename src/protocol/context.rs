//! The request id of an answer, and the SigV4 credential scope a request names, from
//! which the API layer takes its account and region:
//!
//! ```text
//! Authorization: AWS4-HMAC-SHA256 Credential=123456789012/20261121/eu-west-1/memorydb/aws4_request, ...
//!                                            ^ account     ^ date   ^ region  ^ service
//! ```

/// The parts of a SigV4 credential scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential<'a> {
    pub access_key_id: &'a str,
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
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

/// Parses `AKID/DATE/REGION/SERVICE/aws4_request`.
#[must_use]
pub fn parse_credential(value: &str) -> Option<Credential<'_>> {
    let mut parts = value.split('/');
    let access_key_id = parts.next()?;
    let date = parts.next()?;
    let region = parts.next()?;
    let service = parts.next()?;
    let terminator = parts.next()?;
    if parts.next().is_some()
        || terminator != "aws4_request"
        || access_key_id.is_empty()
        || region.is_empty()
    {
        return None;
    }
    Some(Credential {
        access_key_id,
        date,
        region,
        service,
    })
}

/// Finds the `Credential=` value of a SigV4 `Authorization` header.
#[must_use]
pub fn credential_from_authorization(header: &str) -> Option<Credential<'_>> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256")?;
    rest.split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("Credential="))
        .and_then(parse_credential)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
