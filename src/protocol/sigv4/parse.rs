//! How SigV4 is written on a request: the fields of the `Authorization` header, the
//! credential scope, and the percent-encoding of paths and query strings.
//!
//! ```text
//! Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request,
//!                SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79...
//! ```
//!
//! Both the signature check and the request context (which picks the account and region)
//! read the credential here, so that they always read the same one: the first
//! `Credential=` of the header.
//!
//! Decoding is `percent-encoding`'s; encoding uses it with SigV4's set of unreserved bytes.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// The only signing algorithm SigV4 has.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The five parts of a credential scope: `AKID/YYYYMMDD/region/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential<'a> {
    pub access_key_id: &'a str,
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub terminator: &'a str,
}

impl<'a> Credential<'a> {
    /// Splits a credential into its five slash-delimited parts, whatever they hold.
    #[must_use]
    pub fn split(value: &'a str) -> Option<Self> {
        let mut parts = split_ascii(value, b'/');
        let credential = Credential {
            access_key_id: parts.next()?,
            date: parts.next()?,
            region: parts.next()?,
            service: parts.next()?,
            terminator: parts.next()?,
        };
        parts.next().is_none().then_some(credential)
    }
}

/// `text.split(char::from(at))` for an ASCII `at`, found by `memchr`: several times
/// quicker than `str::split` on the pieces of a header.
fn split_ascii(text: &str, at: u8) -> impl Iterator<Item = &str> {
    debug_assert!(at.is_ascii());
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let piece = rest?;
        if let Some(i) = memchr::memchr(at, piece.as_bytes()) {
            // Cut beside an ASCII byte: both sides stay UTF-8.
            rest = Some(&piece[i + 1..]);
            Some(&piece[..i])
        } else {
            rest = None;
            Some(piece)
        }
    })
}

/// Parses `AKID/DATE/REGION/SERVICE/aws4_request`: five parts, the last `aws4_request`,
/// an access key id and a region.
#[must_use]
pub fn parse_credential(value: &str) -> Option<Credential<'_>> {
    Credential::split(value).filter(|c| {
        c.terminator == "aws4_request" && !c.access_key_id.is_empty() && !c.region.is_empty()
    })
}

/// The fields of an `Authorization` header after its algorithm, the first of each name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AuthorizationFields<'a> {
    pub credential: Option<&'a str>,
    pub signed_headers: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Reads `Credential=..., SignedHeaders=..., Signature=...` (the header after
/// [`ALGORITHM`]). A repeated field counts once, at its first place: the header is not
/// signed, so a later copy must not change what an earlier one said.
#[must_use]
pub fn authorization_fields(fields: &str) -> AuthorizationFields<'_> {
    let mut out = AuthorizationFields::default();
    for part in split_ascii(fields, b',').map(str::trim_ascii) {
        if let Some(v) = part.strip_prefix("Credential=") {
            out.credential = out.credential.or(Some(v));
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            out.signed_headers = out.signed_headers.or(Some(v));
        } else if let Some(v) = part.strip_prefix("Signature=") {
            out.signature = out.signature.or(Some(v));
        }
    }
    out
}

/// The credential of a SigV4 `Authorization` header, if it has a well-formed one first.
#[must_use]
pub fn credential_from_authorization(header: &str) -> Option<Credential<'_>> {
    let fields = header.strip_prefix(ALGORITHM)?;
    authorization_fields(fields)
        .credential
        .and_then(parse_credential)
}

/// What SigV4 leaves as it is: `A-Z a-z 0-9 - _ . ~`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// SigV4's encoding: every byte but `A-Z a-z 0-9 - _ . ~` as `%XX`, in uppercase hex.
#[must_use]
pub fn encode(s: &str) -> Cow<'_, str> {
    utf8_percent_encode(s, UNRESERVED).into()
}

/// The query string's pairs, percent-decoded (a `+` stays a `+`).
#[must_use]
pub fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Percent-decodes a query component: a `+` stays a `+`, a `%` without two hex digits
/// stays as it is, and bytes that are not UTF-8 become U+FFFD.
#[must_use]
pub fn percent_decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_at_a_byte_splits_as_str_does() {
        for text in ["", "/", "a", "a/b", "/a//b/", "é/ü/", "a,b, c"] {
            for at in [b'/', b','] {
                assert_eq!(
                    split_ascii(text, at).collect::<Vec<_>>(),
                    text.split(char::from(at)).collect::<Vec<_>>(),
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn the_first_of_each_field_counts() {
        let f = authorization_fields(
            " Credential=a/b/c/d/aws4_request, Signature=s1,SignedHeaders=host, \
             Credential=x/b/c/d/aws4_request, Signature=s2",
        );
        assert_eq!(f.credential, Some("a/b/c/d/aws4_request"));
        assert_eq!(f.signed_headers, Some("host"));
        assert_eq!(f.signature, Some("s1"));
        assert_eq!(
            authorization_fields("Credential"),
            AuthorizationFields::default()
        );
        // The context reads the first credential, even when a later one is well formed.
        assert_eq!(
            credential_from_authorization(
                "AWS4-HMAC-SHA256 Credential=a/b, Credential=k/d/us-east-1/s/aws4_request"
            ),
            None
        );
    }

    #[test]
    fn credentials_split_in_five_and_parse_strictly() {
        let c = Credential::split("k/20261121/eu-west-1/redshift/term").unwrap();
        assert_eq!(
            c,
            Credential {
                access_key_id: "k",
                date: "20261121",
                region: "eu-west-1",
                service: "redshift",
                terminator: "term",
            }
        );
        assert!(Credential::split("a/b/c/d").is_none());
        assert!(Credential::split("a/b/c/d/e/f").is_none());
        assert!(Credential::split("////").is_some());
        assert!(parse_credential("k/20261121/eu-west-1/redshift/term").is_none());
        assert!(parse_credential("/20261121/eu-west-1/redshift/aws4_request").is_none());
        assert!(parse_credential("k/20261121//redshift/aws4_request").is_none());
        assert!(parse_credential("k///redshift/aws4_request").is_none());
        assert!(parse_credential("k/d/r//aws4_request").is_some());
    }

    #[test]
    fn uri_encoding_keeps_only_unreserved_bytes() {
        assert_eq!(encode("aZ09-_.~"), "aZ09-_.~");
        assert_eq!(encode("a b+c/é*"), "a%20b%2Bc%2F%C3%A9%2A");
    }

    #[test]
    fn query_decoding_is_lenient() {
        assert_eq!(percent_decode("a+b%2Bc%2f"), "a+b+c/");
        assert_eq!(percent_decode("%zz%4%+1%"), "%zz%4%+1%");
        assert_eq!(percent_decode("%ff%C3%A9"), "\u{FFFD}é");
        assert_eq!(
            decode_query("b=2=3&&a&c=%41"),
            [
                ("b".to_owned(), "2=3".to_owned()),
                ("a".to_owned(), String::new()),
                ("c".to_owned(), "A".to_owned()),
            ]
        );
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
}
