//! The wire protocols: which one a request speaks, and the codecs of each.
//!
//! Both protocols arrive as `POST /` on one port. A request with an `X-Amz-Target` header
//! speaks AWS JSON 1.1; a form body (or, for GET, a query string) with an `Action`
//! parameter speaks AWS Query. Anything else is answered with an error in the protocol the
//! request most resembles.

pub mod context;
pub mod error;
pub mod json;
pub mod query;
pub mod query_de;
pub mod sigv4;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};

/// The header that names the operation of an AWS JSON request, parsed once.
pub static X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");

/// The two AWS protocols memshift speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Json,
    Query,
}

/// What a request turned out to be.
#[derive(Debug)]
pub enum Detected<'a> {
    /// AWS JSON 1.1 with the `X-Amz-Target` value.
    Json { target: &'a str },
    /// AWS Query with its decoded parameters.
    Query { params: query::Params<'a> },
    /// Neither; answered in the protocol given.
    Unrecognized(Protocol),
    /// A form that could not be decoded.
    Malformed(error::ProtocolError),
}

/// A header's value as text when it is visible ASCII (and tabs), as
/// `HeaderValue::to_str` reads it, but checked many bytes at once: an `Authorization`
/// header is a hundred and fifty bytes on every request.
#[must_use]
pub fn header_str(value: &HeaderValue) -> Option<&str> {
    let bytes = value.as_bytes();
    // A fold without early exit, so that the compiler checks many bytes at once.
    let visible = bytes
        .iter()
        .fold(true, |ok, &b| ok & matches!(b, b' '..=b'~' | b'\t'));
    if visible {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

/// The protocol a request's headers point to, before its body is read.
#[must_use]
pub fn protocol_hint(headers: &HeaderMap) -> Protocol {
    const FORM: &[u8] = b"application/x-www-form-urlencoded";
    if headers.contains_key(&X_AMZ_TARGET) {
        return Protocol::Json;
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes().trim_ascii_start())
        .is_some_and(|ct| ct.len() >= FORM.len() && ct[..FORM.len()].eq_ignore_ascii_case(FORM));
    if form {
        Protocol::Query
    } else {
        Protocol::Json
    }
}

/// Decides the protocol of a request from its method, headers, query string and body.
#[must_use]
pub fn detect<'a>(
    method: &Method,
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    body: &'a [u8],
) -> Detected<'a> {
    if let Some(target) = headers.get(&X_AMZ_TARGET) {
        return match header_str(target) {
            Some(target) => Detected::Json { target },
            None => Detected::Unrecognized(Protocol::Json),
        };
    }
    let hint = protocol_hint(headers);
    let query = query.unwrap_or_default().as_bytes();
    let form: &[u8] = if *method == Method::GET {
        query
    } else if hint == Protocol::Query || looks_like_form(body) {
        // A form POST may carry its parameters in the query string instead.
        if body.is_empty() { query } else { body }
    } else {
        return Detected::Unrecognized(hint);
    };
    match query::parse_form(form) {
        Err(e) => Detected::Malformed(e),
        Ok(params) if query::param(&params, "Action").is_some() => Detected::Query { params },
        Ok(_) => Detected::Unrecognized(Protocol::Query),
    }
}

/// A body without a form content type is still read as a form when it starts with
/// `Action=`, as some hand-written clients send it.
fn looks_like_form(body: &[u8]) -> bool {
    body.starts_with(b"Action=")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn header_text_is_what_to_str_accepts() {
        let mut values: Vec<Vec<u8>> = (0u8..=255)
            .filter(|b| *b != b'\r' && *b != b'\n' && *b != 0)
            .map(|b| vec![b'a', b, b'z'])
            .collect();
        values.push(
            b"AWS4-HMAC-SHA256 Credential=k/20261121/us-east-1/memorydb/aws4_request".to_vec(),
        );
        values.push("caf\u{e9}".as_bytes().to_vec());
        values.push(Vec::new());
        // Values hyper would parse (bytes HeaderValue refuses never reach a handler).
        for value in values
            .iter()
            .filter_map(|b| HeaderValue::from_bytes(b).ok())
        {
            assert_eq!(header_str(&value), value.to_str().ok(), "{value:?}");
        }
    }

    #[test]
    fn a_target_header_means_json() {
        let h = headers(&[("x-amz-target", "AmazonMemoryDB.DescribeUsers")]);
        assert!(matches!(
            detect(&Method::POST, &h, None, b"{}"),
            Detected::Json { target } if target == "AmazonMemoryDB.DescribeUsers"
        ));
    }

    #[test]
    fn a_form_with_an_action_means_query() {
        let h = headers(&[(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )]);
        assert!(matches!(
            detect(
                &Method::POST,
                &h,
                None,
                b"Action=DescribeClusters&Version=2012-12-01"
            ),
            Detected::Query { .. }
        ));
        assert!(matches!(
            detect(
                &Method::GET,
                &HeaderMap::new(),
                Some("Action=DescribeClusters"),
                b""
            ),
            Detected::Query { .. }
        ));
        assert!(matches!(
            detect(&Method::POST, &h, None, b"Version=2012-12-01"),
            Detected::Unrecognized(Protocol::Query)
        ));
    }

    #[test]
    fn anything_else_is_unrecognized_json() {
        assert!(matches!(
            detect(&Method::POST, &HeaderMap::new(), None, b"{\"a\":1}"),
            Detected::Unrecognized(Protocol::Json)
        ));
    }
}
