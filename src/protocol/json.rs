//! The AWS JSON 1.1 codec: request bodies into typed inputs, outputs and errors into bytes.
//!
//! ```text
//! POST / HTTP/1.1
//! X-Amz-Target: AmazonMemoryDB.DeleteUser
//! Content-Type: application/x-amz-json-1.1
//!
//! {"UserName":"alice"}
//!
//! HTTP/1.1 404 Not Found
//! Content-Type: application/x-amz-json-1.1
//! x-amzn-ErrorType: UserNotFoundFault
//!
//! {"__type":"UserNotFoundFault","message":"User alice not found."}
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{ErrorParts, ProtocolError};

/// The content type of every AWS JSON 1.1 answer.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Splits an `X-Amz-Target` value into its prefix and operation name.
#[must_use]
pub fn split_target(target: &str) -> Option<(&str, &str)> {
    // At the first dot, found by memchr: `split_once` searches for a char.
    let dot = memchr::memchr(b'.', target.as_bytes())?;
    let (prefix, operation) = (&target[..dot], &target[dot + 1..]);
    (!prefix.is_empty() && !operation.is_empty()).then_some((prefix, operation))
}

/// Decodes a request body into the operation's input.
///
/// An empty body is read as `{}`. The top level must be an object; a value of the wrong
/// type, malformed JSON or trailing bytes are `SerializationException`; a missing required
/// member is reported by name.
///
/// # Errors
/// The protocol error to answer with.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ProtocolError> {
    let first = body.iter().position(|b| !b.is_ascii_whitespace());
    let body: &[u8] = match first {
        None => b"{}",
        Some(i) if body[i] == b'{' => body,
        Some(_) => {
            return Err(ProtocolError::Serialization(
                "The request body must be a JSON object.".to_owned(),
            ));
        }
    };
    serde_json::from_slice(body).map_err(|e| decode_error(&e))
}

/// Reads an operation's input from a JSON document already parsed (an init file's
/// `input`), with the same errors as [`decode`].
///
/// # Errors
/// The protocol error to answer with.
pub fn decode_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ProtocolError> {
    if !value.is_object() {
        return Err(ProtocolError::Serialization(
            "The request body must be a JSON object.".to_owned(),
        ));
    }
    serde_json::from_value(value).map_err(|e| decode_error(&e))
}

/// A missing required member is reported by name; anything else is a serialization error
/// that quotes no value.
fn decode_error(e: &serde_json::Error) -> ProtocolError {
    let text = e.to_string();
    if let Some(field) = text
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        return ProtocolError::MissingParameter(field.to_owned());
    }
    ProtocolError::Serialization(redact_values(&text))
}

/// Encodes an operation's output.
#[must_use]
pub fn encode<T: Serialize>(output: &T) -> Vec<u8> {
    // Room for a small answer (one user, one ACL) from the start, where serde_json's own
    // buffer would grow twice to hold it.
    let mut out = Vec::with_capacity(512);
    // Serializing plain structs of strings, numbers and lists cannot fail.
    match serde_json::to_writer(&mut out, output) {
        Ok(()) => out,
        Err(_) => b"{}".to_vec(),
    }
}

/// Encodes an error as `{"__type": CODE, "message": TEXT}`.
#[must_use]
pub fn encode_error(error: &ErrorParts) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        #[serde(rename = "__type")]
        code: &'a str,
        message: &'a str,
    }
    encode(&Body {
        code: error.code,
        message: &error.message,
    })
}

/// Removes the quoted values serde quotes in its messages, so that no input value (a
/// password sent in the wrong place, say) is ever echoed back or logged.
fn redact_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        // serde quotes strings in double quotes and other values (numbers, booleans) in
        // backticks.
        if c == '"' || c == '`' {
            let mut escaped = false;
            for inner in chars.by_ref() {
                if escaped {
                    escaped = false;
                } else if inner == '\\' && c == '"' {
                    escaped = true;
                } else if inner == c {
                    break;
                }
            }
            out.push_str("(value)");
        } else {
            out.push(c);
        }
    }
    out.replace(" (value)", "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::Fault;
    use axum::http::StatusCode;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Input {
        user_name: String,
        max_results: Option<i32>,
    }

    #[derive(Deserialize)]
    struct Empty {}

    #[test]
    fn decodes_objects_and_reads_an_empty_body_as_an_empty_object() {
        let i: Input = decode(br#"{"UserName":"a","MaxResults":5,"Other":[1]}"#).unwrap();
        assert_eq!(i.user_name, "a");
        assert_eq!(i.max_results, Some(5));
        assert!(decode::<Empty>(b"").is_ok());
        assert!(decode::<Empty>(b"  \n").is_ok());
    }

    #[test]
    fn reports_missing_members_by_name() {
        assert_eq!(
            decode::<Input>(b"{}").unwrap_err(),
            ProtocolError::MissingParameter("UserName".to_owned())
        );
    }

    #[test]
    fn malformed_or_mistyped_json_is_a_serialization_error() {
        for body in [
            &b"{"[..],
            b"[\"a\"]",
            b"\"a\"",
            b"{\"UserName\":1}",
            b"{\"UserName\":\"a\"} x",
        ] {
            assert!(
                matches!(decode::<Input>(body), Err(ProtocolError::Serialization(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn error_messages_never_echo_values() {
        let err = decode::<Input>(br#"{"UserName":"a","MaxResults":"secret-value-123"}"#)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret-value-123"), "{err}");
        assert!(err.contains("invalid type"), "{err}");
        for body in [
            &br#"{"UserName":"a","MaxResults":8472615093847261509}"#[..],
            br#"{"UserName":84726150938472615}"#,
            br#"{"UserName":8472.615093}"#,
            br#"{"UserName":true}"#,
        ] {
            let err = decode::<Input>(body).unwrap_err().to_string();
            assert!(!err.contains("847261509") && !err.contains("true"), "{err}");
        }
    }

    #[test]
    fn golden_error_bytes() {
        let parts = ErrorParts {
            code: "UserNotFoundFault",
            status: StatusCode::NOT_FOUND,
            fault: Fault::Sender,
            message: "User \"x\" not found.".to_owned(),
        };
        assert_eq!(
            encode_error(&parts),
            br#"{"__type":"UserNotFoundFault","message":"User \"x\" not found."}"#
        );
    }

    #[test]
    fn targets_split_on_the_first_dot() {
        assert_eq!(
            split_target("AmazonMemoryDB.CreateUser"),
            Some(("AmazonMemoryDB", "CreateUser"))
        );
        assert_eq!(split_target("AmazonMemoryDB."), None);
        assert_eq!(split_target("CreateUser"), None);
    }
}
