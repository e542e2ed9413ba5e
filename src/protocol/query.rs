//! The AWS Query protocol: form-encoded requests, XML answers.
//!
//! ```text
//! POST / HTTP/1.1
//! Content-Type: application/x-www-form-urlencoded; charset=utf-8
//!
//! Action=DescribeClusters&Version=2012-12-01&ClusterIdentifier=c1
//!
//! HTTP/1.1 404 Not Found
//! Content-Type: text/xml
//!
//! <ErrorResponse xmlns="http://redshift.amazonaws.com/doc/2012-12-01/"><Error><Type>Sender</Type>
//! <Code>ClusterNotFound</Code><Message>Cluster c1 not found.</Message></Error>
//! <RequestId>...</RequestId></ErrorResponse>
//! ```
//!
//! Success answers wrap the output in `<ActionResponse><ActionResult>` followed by
//! `<ResponseMetadata><RequestId>`; outputs write themselves through [`Xml`].
//! Element names are the model's, known here; text is escaped here, including characters XML 1.0 cannot hold.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::error::{ErrorParts, ProtocolError};

/// The content type of every AWS Query answer.
pub const CONTENT_TYPE: &str = "text/xml";
/// The XML namespace of Redshift's answers.
pub const REDSHIFT_NAMESPACE: &str = "http://redshift.amazonaws.com/doc/2012-12-01/";

/// Decodes `application/x-www-form-urlencoded` text into its pairs, in order: `+` is a
/// space and `%XX` a byte; the result must be UTF-8.
///
/// # Errors
/// `Serialization` (answered as `MalformedQueryString`) for a bad escape or invalid UTF-8.
pub fn parse_form(text: &[u8]) -> Result<Params<'_>, ProtocolError> {
    text.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            Ok((decode_component(key)?, decode_component(value)?))
        })
        .collect()
}

fn decode_component(bytes: &[u8]) -> Result<Cow<'_, str>, ProtocolError> {
    if !bytes.iter().any(|b| matches!(b, b'%' | b'+')) {
        // Nothing to decode: borrow the request's own bytes.
        return std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|_| {
            ProtocolError::Serialization("The request is not valid UTF-8 once decoded.".to_owned())
        });
    }
    let malformed =
        || ProtocolError::Serialization("The request has a malformed percent-encoding.".to_owned());
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(malformed)?;
                out.push(hex_byte(hex).ok_or_else(malformed)?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|_| {
        ProtocolError::Serialization("The request is not valid UTF-8 once decoded.".to_owned())
    })
}

/// Two hex digits as a byte; exactly two digits (`from_str_radix` would also take a
/// sign, so that `%+1` read as byte 1).
#[must_use]
pub fn hex_byte(pair: &[u8]) -> Option<u8> {
    let digit = |b: u8| char::from(b).to_digit(16);
    match pair {
        [hi, lo] => Some(u8::try_from(digit(*hi)? * 16 + digit(*lo)?).ok()?),
        _ => None,
    }
}

/// Decoded Query parameters, in order; borrowed from the request where nothing needed
/// decoding.
pub type Params<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// The value of the first parameter of that name.
#[must_use]
pub fn param<'a>(params: &'a [(Cow<'_, str>, Cow<'_, str>)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_ref())
}

/// Something that writes itself as the body of an `<ActionResult>`.
pub trait ToXml {
    fn to_xml(&self, x: &mut Xml);
}

/// A small XML builder for AWS Query answers: elements are written straight into a
/// buffer, text escaped by [`Xml::text`].
pub struct Xml {
    buf: Vec<u8>,
}

impl Default for Xml {
    fn default() -> Self {
        Self::new()
    }
}

impl Xml {
    #[must_use]
    pub fn new() -> Self {
        Xml {
            // Under 1 KiB: the system allocator serves it from its small bins without
            // consolidating, and most answers fit.
            buf: Vec::with_capacity(1000),
        }
    }

    fn open(&mut self, name: &str) {
        self.buf.push(b'<');
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(b'>');
    }

    /// `<name xmlns="namespace">`
    fn open_with_namespace(&mut self, name: &str, namespace: &str) {
        self.buf.push(b'<');
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b" xmlns=\"");
        self.escaped(namespace);
        self.buf.extend_from_slice(b"\">");
    }

    fn close(&mut self, name: &str) {
        self.buf.extend_from_slice(b"</");
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(b'>');
    }

    /// `<name>` ... `</name>`, with the inside written by `f`.
    pub fn node(&mut self, name: &str, f: impl FnOnce(&mut Xml)) {
        self.open(name);
        f(self);
        self.close(name);
    }

    /// `<name>text</name>`, escaped.
    pub fn text(&mut self, name: &str, text: &str) {
        self.open(name);
        self.escaped(text);
        self.close(name);
    }

    /// Text with `<`, `>`, `&`, `'` and `"` escaped; most text has none of them and is
    /// copied as it is.
    fn escaped(&mut self, text: &str) {
        // A fold without early exit, so the compiler scans many bytes at once. Control
        // characters and 0xEF (which starts U+FFFE and U+FFFF) take the careful path.
        let special = text.bytes().fold(false, |found, b| {
            found | matches!(b, b'<' | b'>' | b'&' | b'\'' | b'"' | 0x00..=0x1F | 0xEF)
        });
        if special {
            self.escaped_carefully(text);
        } else {
            self.buf.extend_from_slice(text.as_bytes());
        }
    }

    /// Escapes markup, keeps `\r` as a character reference (parsers would turn a bare one
    /// into `\n`), and replaces what XML 1.0 cannot hold at all (other control characters,
    /// U+FFFE, U+FFFF) with U+FFFD, so that every answer stays a document SDKs can parse.
    fn escaped_carefully(&mut self, text: &str) {
        for c in text.chars() {
            match c {
                '\t' | '\n' => self.buf.push(c as u8),
                '\r' => self.buf.extend_from_slice(b"&#13;"),
                '\u{0}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => {
                    self.buf.extend_from_slice("\u{FFFD}".as_bytes());
                }
                '<' => self.buf.extend_from_slice(b"&lt;"),
                '>' => self.buf.extend_from_slice(b"&gt;"),
                '&' => self.buf.extend_from_slice(b"&amp;"),
                '\'' => self.buf.extend_from_slice(b"&apos;"),
                '"' => self.buf.extend_from_slice(b"&quot;"),
                _ => {
                    let mut tmp = [0u8; 4];
                    self.buf
                        .extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
            }
        }
    }

    pub fn opt_text(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.text(name, text);
        }
    }

    pub fn int(&mut self, name: &str, value: i64) {
        self.text(name, &value.to_string());
    }

    pub fn bool(&mut self, name: &str, value: bool) {
        self.text(name, if value { "true" } else { "false" });
    }

    /// ISO 8601 in UTC with milliseconds: `2026-11-21T04:39:39.096Z`.
    pub fn time(&mut self, name: &str, value: DateTime<Utc>) {
        let mut buf = [0u8; 24];
        self.text(name, iso_time(value, &mut buf));
    }

    /// `<name><member>..</member>...</name>`, with the model's member name.
    pub fn list<T>(&mut self, name: &str, member: &str, items: &[T], f: impl Fn(&mut Xml, &T)) {
        self.node(name, |x| {
            for item in items {
                x.node(member, |x| f(x, item));
            }
        });
    }

    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// The timestamp format of AWS Query answers.
#[must_use]
pub fn format_time(value: DateTime<Utc>) -> String {
    let mut buf = [0u8; 24];
    iso_time(value, &mut buf).to_owned()
}

/// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` into `buf` (years 0-9999) and returns it.
fn iso_time(value: DateTime<Utc>, buf: &mut [u8; 24]) -> &str {
    use chrono::{Datelike, Timelike};
    let fields = [
        (u32::try_from(value.year()).unwrap_or(0).min(9999), 4),
        (value.month(), 2),
        (value.day(), 2),
        (value.hour(), 2),
        (value.minute(), 2),
        (value.second().min(59), 2),
        (value.timestamp_subsec_millis().min(999), 3),
    ];
    let separators = [b'-', b'-', b'T', b':', b':', b'.', b'Z'];
    let mut at = 0;
    for ((mut n, width), sep) in fields.into_iter().zip(separators) {
        for i in (0..width).rev() {
            buf[at + i] = b'0' + u8::try_from(n % 10).unwrap_or(0);
            n /= 10;
        }
        at += width;
        buf[at] = sep;
        at += 1;
    }
    std::str::from_utf8(&buf[..at]).unwrap_or("1970-01-01T00:00:00.000Z")
}

/// Encodes a success: `<{action}Response xmlns=..><{action}Result>..</..><ResponseMetadata>`.
/// Operations without output have no result element.
#[must_use]
pub fn encode_response(
    action: &str,
    result: Option<&dyn ToXml>,
    request_id: &str,
    namespace: &str,
) -> Vec<u8> {
    let mut x = Xml::new();
    let response = [action, "Response"].concat();
    x.open_with_namespace(&response, namespace);
    if let Some(result) = result {
        x.node(&[action, "Result"].concat(), |x| result.to_xml(x));
    }
    x.node("ResponseMetadata", |x| x.text("RequestId", request_id));
    x.close(&response);
    x.into_bytes()
}

/// Encodes `<ErrorResponse>` for an error.
#[must_use]
pub fn encode_error(error: &ErrorParts, request_id: &str, namespace: &str) -> Vec<u8> {
    let mut x = Xml::new();
    x.open_with_namespace("ErrorResponse", namespace);
    x.node("Error", |x| {
        x.text("Type", error.fault.as_str());
        x.text("Code", error.code);
        x.text("Message", &error.message);
    });
    x.text("RequestId", request_id);
    x.close("ErrorResponse");
    x.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::Fault;
    use axum::http::StatusCode;
    use chrono::TimeZone;

    #[test]
    fn golden_error_bytes() {
        let parts = ErrorParts {
            code: "ClusterNotFound",
            status: StatusCode::NOT_FOUND,
            fault: Fault::Sender,
            message: "Cluster <c1> & co not found.".to_owned(),
        };
        assert_eq!(
            String::from_utf8(encode_error(&parts, "rid-1", REDSHIFT_NAMESPACE)).unwrap(),
            "<ErrorResponse xmlns=\"http://redshift.amazonaws.com/doc/2012-12-01/\"><Error><Type>Sender</Type><Code>ClusterNotFound</Code><Message>Cluster &lt;c1&gt; &amp; co not found.</Message></Error><RequestId>rid-1</RequestId></ErrorResponse>"
        );
    }

    #[test]
    fn golden_envelope_bytes() {
        struct Out;
        impl ToXml for Out {
            fn to_xml(&self, x: &mut Xml) {
                x.text("DbUser", "IAM:a");
                x.time(
                    "Expiration",
                    Utc.with_ymd_and_hms(2026, 11, 21, 4, 39, 39).unwrap(),
                );
                x.list("Tags", "Tag", &["k"], |x, k| x.text("Key", k));
            }
        }
        assert_eq!(
            String::from_utf8(encode_response(
                "GetClusterCredentials",
                Some(&Out),
                "r",
                REDSHIFT_NAMESPACE
            ))
            .unwrap(),
            "<GetClusterCredentialsResponse xmlns=\"http://redshift.amazonaws.com/doc/2012-12-01/\"><GetClusterCredentialsResult><DbUser>IAM:a</DbUser><Expiration>2026-11-21T04:39:39.000Z</Expiration><Tags><Tag><Key>k</Key></Tag></Tags></GetClusterCredentialsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetClusterCredentialsResponse>"
        );
        assert_eq!(
            String::from_utf8(encode_response("CreateTags", None, "r", REDSHIFT_NAMESPACE))
                .unwrap(),
            "<CreateTagsResponse xmlns=\"http://redshift.amazonaws.com/doc/2012-12-01/\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateTagsResponse>"
        );
    }

    #[test]
    fn text_is_escaped() {
        let mut x = Xml::new();
        x.text("M", r#"a<b>&"c"'d'"#);
        assert_eq!(
            String::from_utf8(x.into_bytes()).unwrap(),
            "<M>a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;</M>"
        );
        // What XML 1.0 cannot hold becomes U+FFFD; a carriage return survives parsing.
        let mut x = Xml::new();
        x.text("M", "a\u{1}b\rc\td\u{FFFF}é\u{2028}");
        assert_eq!(
            String::from_utf8(x.into_bytes()).unwrap(),
            "<M>a\u{FFFD}b&#13;c\td\u{FFFD}é\u{2028}</M>"
        );
    }

    #[test]
    fn percent_escapes_need_two_hex_digits() {
        assert_eq!(hex_byte(b"2B"), Some(b'+'));
        assert_eq!(hex_byte(b"ff"), Some(0xFF));
        for bad in [&b"+1"[..], b"-1", b"1", b"g0", b" 1"] {
            assert_eq!(hex_byte(bad), None, "{bad:?}");
        }
        assert!(parse_form(b"a=%+1").is_err());
    }

    #[test]
    fn times_have_milliseconds() {
        let t =
            Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::milliseconds(96);
        assert_eq!(format_time(t), "2026-01-02T03:04:05.096Z");
        assert_eq!(
            format_time(t),
            t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        );
    }

    #[test]
    fn forms_decode_strictly_in_order() {
        let p = parse_form(b"Action=GetClusterCredentials&DbGroups.DbGroup.1=a%2Bb&DbGroups.DbGroup.2=c+d&Empty=&Bare&&%C3%A9=%E2%82%AC").unwrap();
        assert_eq!(param(&p, "Action"), Some("GetClusterCredentials"));
        assert_eq!(param(&p, "DbGroups.DbGroup.1"), Some("a+b"));
        assert_eq!(param(&p, "DbGroups.DbGroup.2"), Some("c d"));
        assert_eq!(param(&p, "Empty"), Some(""));
        assert_eq!(param(&p, "Bare"), Some(""));
        assert_eq!(param(&p, "é"), Some("€"));
        assert_eq!(param(&p, "Missing"), None);
        for bad in [&b"a=%"[..], b"a=%4", b"a=%zz", b"a=%ff", b"%=1"] {
            assert!(parse_form(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
