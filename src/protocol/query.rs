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
//! Forms are split and decoded by `form_urlencoded`, with the checks it leaves out (a `%`
//! must start two hex digits, the decoded bytes must be UTF-8). Success answers wrap the
//! output in `<ActionResponse><ActionResult>` followed by `<ResponseMetadata><RequestId>`;
//! outputs write themselves through [`Xml`], which writes elements straight into the
//! answer's buffer. Element names are the model's, known here; text is escaped by
//! quick-xml, after the characters XML 1.0 cannot hold are replaced here.

use std::borrow::Cow;
use std::io::Write as _;
use std::ops::Range;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

use super::error::{ErrorParts, ProtocolError};

/// The content type of every AWS Query answer.
pub const CONTENT_TYPE: &str = "text/xml";
/// The XML namespace of Redshift's answers.
pub const REDSHIFT_NAMESPACE: &str = "http://redshift.amazonaws.com/doc/2012-12-01/";

/// Decodes `application/x-www-form-urlencoded` text into its pairs, in order: `+` is a
/// space and `%XX` a byte; the result must be UTF-8.
///
/// # Errors
/// `Serialization` (answered as `MalformedQueryString`) for a bad escape or invalid UTF-8,
/// for the first component (in order, name before value) that has one.
pub fn parse_form(text: &[u8]) -> Result<Params<'_>, ProtocolError> {
    if memchr::memchr2(b'%', b'+', text).is_none() {
        // Nothing is escaped (as in most requests): the pairs are the text's own pieces,
        // once the whole text is known to be UTF-8 (cut at ASCII bytes, they stay UTF-8).
        let text = std::str::from_utf8(text).map_err(|_| {
            ProtocolError::Serialization("The request is not valid UTF-8 once decoded.".to_owned())
        })?;
        let mut params = Vec::with_capacity(memchr::memchr_iter(b'&', text.as_bytes()).count() + 1);
        params.extend(
            pairs(text.as_bytes())
                .map(|(key, value)| (Cow::Borrowed(&text[key]), Cow::Borrowed(&text[value]))),
        );
        return Ok(params);
    }
    form_urlencoded::parse(text)
        .zip(pairs(text))
        .map(|((key, value), (raw_key, raw_value))| {
            Ok((
                strict(key, &text[raw_key])?,
                strict(value, &text[raw_value])?,
            ))
        })
        .collect()
}

/// Where the name and value of each pair stand, undecoded, split as `form_urlencoded`
/// splits them: at `&`, skipping empty pieces, then at the first `=`.
fn pairs(text: &[u8]) -> impl Iterator<Item = (Range<usize>, Range<usize>)> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        loop {
            if start >= text.len() {
                return None;
            }
            let end = memchr::memchr(b'&', &text[start..]).map_or(text.len(), |i| start + i);
            let pair = start..end;
            start = end + 1;
            if !pair.is_empty() {
                return Some(match memchr::memchr(b'=', &text[pair.clone()]) {
                    Some(i) => (pair.start..pair.start + i, pair.start + i + 1..pair.end),
                    None => (pair.clone(), pair.end..pair.end),
                });
            }
        }
    })
}

/// What `form_urlencoded` lets through: it keeps a `%` without two hex digits as it is,
/// and replaces bytes that are not UTF-8 with U+FFFD. `raw` is `decoded` before decoding.
fn strict<'a>(decoded: Cow<'a, str>, raw: &[u8]) -> Result<Cow<'a, str>, ProtocolError> {
    let mut rest = raw;
    while let Some(at) = rest.iter().position(|b| *b == b'%') {
        if rest.get(at + 1..at + 3).and_then(hex_byte).is_none() {
            return Err(ProtocolError::Serialization(
                "The request has a malformed percent-encoding.".to_owned(),
            ));
        }
        rest = &rest[at + 3..];
    }
    // A lossy decoding leaves a U+FFFD; only then is the exact answer worth its cost
    // (the request may also have sent U+FFFD itself).
    if matches!(decoded, Cow::Owned(_))
        && decoded.contains('\u{FFFD}')
        && percent_encoding::percent_decode(raw).decode_utf8().is_err()
    {
        return Err(ProtocolError::Serialization(
            "The request is not valid UTF-8 once decoded.".to_owned(),
        ));
    }
    Ok(decoded)
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

/// The XML builder of AWS Query answers: elements go straight into one buffer, as
/// `<name>`, text and `</name>`; text that needs it is escaped by quick-xml.
pub struct Xml {
    buf: Vec<u8>,
    /// Reused for text with characters XML cannot hold, so that it costs no allocation
    /// per element.
    scratch: String,
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
            // Most answers fit, and fill more than half of it: the buffer becomes the
            // answer's body, shrunk in place.
            buf: Vec::with_capacity(512),
            scratch: String::new(),
        }
    }

    /// `<` and `>` around the pieces of a name (and of what follows it in the tag).
    fn open(&mut self, pieces: &[&str]) {
        self.buf.push(b'<');
        for piece in pieces {
            self.buf.extend_from_slice(piece.as_bytes());
        }
        self.buf.push(b'>');
    }

    /// `</name>`, the name given in pieces.
    fn close(&mut self, pieces: &[&str]) {
        self.buf.extend_from_slice(b"</");
        for piece in pieces {
            self.buf.extend_from_slice(piece.as_bytes());
        }
        self.buf.push(b'>');
    }

    /// `<name>` ... `</name>`, with the inside written by `f`.
    pub fn node(&mut self, name: &str, f: impl FnOnce(&mut Xml)) {
        self.open(&[name]);
        f(self);
        self.close(&[name]);
    }

    /// `<name>text</name>`, with `<`, `>`, `&`, `'`, `"` and `\r` escaped and what XML 1.0
    /// cannot hold replaced (see [`xml_chars`]).
    pub fn text(&mut self, name: &str, text: &str) {
        // A fold without early exit, so the compiler scans many bytes at once. Control
        // characters and 0xEF (which starts U+FFFE and U+FFFF) take the careful path.
        let special = text.bytes().fold(false, |found, b| {
            found | matches!(b, b'<' | b'>' | b'&' | b'\'' | b'"' | 0x00..=0x1F | 0xEF)
        });
        self.open(&[name]);
        if !special {
            // Most text: nothing to escape, copied as it is.
            self.buf.extend_from_slice(text.as_bytes());
        } else if xml_chars(text, &mut self.scratch) {
            self.buf
                .extend_from_slice(quick_xml::escape::escape(self.scratch.as_str()).as_bytes());
        } else {
            self.buf
                .extend_from_slice(quick_xml::escape::escape(text).as_bytes());
        }
        self.close(&[name]);
    }

    pub fn opt_text(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.text(name, text);
        }
    }

    pub fn int(&mut self, name: &str, value: i64) {
        self.open(&[name]);
        let _ = write!(self.buf, "{value}");
        self.close(&[name]);
    }

    pub fn bool(&mut self, name: &str, value: bool) {
        let text = if value { "true" } else { "false" };
        self.open(&[name]);
        self.buf.extend_from_slice(text.as_bytes());
        self.close(&[name]);
    }

    /// ISO 8601 in UTC with milliseconds: `2026-11-21T04:39:39.096Z`.
    pub fn time(&mut self, name: &str, value: DateTime<Utc>) {
        self.open(&[name]);
        write_time(&mut self.buf, value);
        self.close(&[name]);
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

/// Writes into `out` the text with what XML 1.0 cannot hold at all (control characters
/// other than tab, LF and CR; U+FFFE, U+FFFF) replaced with U+FFFD, so that every answer
/// stays a document SDKs can parse; answers whether anything was replaced (when not,
/// `out` is left as it was). A CR stays: it is escaped as `&#13;`, which parsers keep (a
/// bare one would become `\n`).
fn xml_chars(text: &str, out: &mut String) -> bool {
    if !text.contains(forbidden_in_xml) {
        return false;
    }
    out.clear();
    out.extend(
        text.chars()
            .map(|c| if forbidden_in_xml(c) { '\u{FFFD}' } else { c }),
    );
    true
}

/// A character no XML 1.0 document may hold, even as a character reference.
fn forbidden_in_xml(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}'
    )
}

/// The timestamp format of AWS Query answers: `2026-11-21T04:39:39.096Z`.
#[must_use]
pub fn format_time(value: DateTime<Utc>) -> String {
    value.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// [`format_time`] written straight into `out`, digit by digit; chrono writes the years
/// outside 0 to 9999 and leap seconds.
fn write_time(out: &mut Vec<u8>, value: DateTime<Utc>) {
    let (date, time) = (value.date_naive(), value.time());
    let millis = time.nanosecond() / 1_000_000;
    match u32::try_from(date.year()) {
        Ok(year) if year <= 9999 && millis < 1000 => {
            digits(out, year, 4);
            out.push(b'-');
            digits(out, date.month(), 2);
            out.push(b'-');
            digits(out, date.day(), 2);
            out.push(b'T');
            digits(out, time.hour(), 2);
            out.push(b':');
            digits(out, time.minute(), 2);
            out.push(b':');
            digits(out, time.second(), 2);
            out.push(b'.');
            digits(out, millis, 3);
            out.push(b'Z');
        }
        _ => out.extend_from_slice(format_time(value).as_bytes()),
    }
}

/// `value` in `width` decimal digits, zero-padded (`value` has no more digits than that).
fn digits(out: &mut Vec<u8>, mut value: u32, width: usize) {
    let mut text = [b'0'; 4];
    for digit in text[..width].iter_mut().rev() {
        // A single decimal digit.
        *digit = b'0' + u8::try_from(value % 10).unwrap_or_default();
        value /= 10;
    }
    out.extend_from_slice(&text[..width]);
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
    open_with_namespace(&mut x, &[action, "Response"], namespace);
    if let Some(result) = result {
        x.open(&[action, "Result"]);
        result.to_xml(&mut x);
        x.close(&[action, "Result"]);
    }
    x.node("ResponseMetadata", |x| x.text("RequestId", request_id));
    x.close(&[action, "Response"]);
    x.into_bytes()
}

/// Encodes `<ErrorResponse>` for an error.
#[must_use]
pub fn encode_error(error: &ErrorParts, request_id: &str, namespace: &str) -> Vec<u8> {
    let mut x = Xml::new();
    open_with_namespace(&mut x, &["ErrorResponse"], namespace);
    x.node("Error", |x| {
        x.text("Type", error.fault.as_str());
        x.text("Code", error.code);
        x.text("Message", &error.message);
    });
    x.text("RequestId", request_id);
    x.close(&["ErrorResponse"]);
    x.into_bytes()
}

/// Writes `<{name} xmlns="{namespace}">`, the name given in pieces. The namespace is one
/// of memshift's constants, written as it is.
fn open_with_namespace(x: &mut Xml, name: &[&str], namespace: &str) {
    debug_assert!(!namespace.contains(['"', '&', '<']));
    x.buf.push(b'<');
    for piece in name {
        x.buf.extend_from_slice(piece.as_bytes());
    }
    x.buf.extend_from_slice(b" xmlns=\"");
    x.buf.extend_from_slice(namespace.as_bytes());
    x.buf.extend_from_slice(b"\">");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::Fault;
    use axum::http::StatusCode;
    use chrono::TimeZone;
    use quick_xml::events::Event;

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

    fn message(form: &[u8]) -> String {
        match parse_form(form) {
            Err(ProtocolError::Serialization(m)) => m,
            other => panic!("{}: {other:?}", String::from_utf8_lossy(form)),
        }
    }

    #[test]
    fn forms_are_as_strict_as_before_form_urlencoded() {
        const ESCAPE: &str = "The request has a malformed percent-encoding.";
        const UTF8: &str = "The request is not valid UTF-8 once decoded.";
        // Borrowed where nothing needs decoding.
        let p = parse_form(b"a=b&c=d+e").unwrap();
        assert!(matches!(p[0].1, Cow::Borrowed("b")));
        assert!(matches!(&p[1].1, Cow::Owned(v) if v == "d e"));
        // U+FFFD sent on purpose is text like any other...
        let p = parse_form(b"a=%EF%BF%BD&b=\xEF\xBF\xBD").unwrap();
        assert_eq!(param(&p, "a"), Some("\u{FFFD}"));
        assert_eq!(param(&p, "b"), Some("\u{FFFD}"));
        // ...but not beside bytes that form_urlencoded would replace with it.
        assert_eq!(message(b"a=%EF%BF%BD%ff"), UTF8);
        assert_eq!(message(b"a=\xff"), UTF8);
        assert_eq!(message(b"a=\xc3"), UTF8);
        // Bytes count once decoded, whether sent raw or escaped.
        assert_eq!(param(&parse_form(b"a=\xC3%A9").unwrap(), "a"), Some("é"));
        // A bad escape is refused even where nothing else needs decoding.
        assert_eq!(message(b"a%zz=1"), ESCAPE);
        assert_eq!(message(b"a=%%41"), ESCAPE);
        assert_eq!(message(b"a=1%"), ESCAPE);
        // The first faulty component decides the message: each name before its value.
        assert_eq!(message(b"a=%ff&b=%"), UTF8);
        assert_eq!(message(b"%=&b=%ff"), ESCAPE);
        assert_eq!(message(b"%ff=%"), UTF8);
        assert_eq!(message(b"%=%ff"), ESCAPE);
    }

    proptest::proptest! {
        /// Pairs are split exactly where `form_urlencoded` splits them, escaped or not.
        #[test]
        fn pairs_split_as_form_urlencoded_splits(text in "[a=&.+]{0,24}") {
            let ours: Vec<(String, String)> = parse_form(text.as_bytes())
                .unwrap()
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let theirs: Vec<(String, String)> = form_urlencoded::parse(text.as_bytes())
                .into_owned()
                .collect();
            proptest::prop_assert_eq!(ours, theirs);
        }
    }

    /// What the writer gives back, read by quick-xml's reader: text as a parser sees it.
    fn read_back(bytes: &[u8]) -> String {
        let mut reader = quick_xml::Reader::from_reader(bytes);
        let mut text = String::new();
        loop {
            match reader.read_event().unwrap() {
                Event::Text(t) => text.push_str(&t.xml10_content()),
                Event::GeneralRef(r) => match r.resolve_char_ref().unwrap() {
                    Some(c) => text.push(c),
                    None => text.push_str(
                        quick_xml::escape::resolve_predefined_entity(&r.xml10_content()).unwrap(),
                    ),
                },
                Event::Eof => return text,
                _ => {}
            }
        }
    }

    #[test]
    fn every_character_xml_forbids_is_replaced() {
        let all: String = (0u32..0x20)
            .chain([0x7F, 0xFFFD, 0xFFFE, 0xFFFF, 0x1_0000])
            .filter_map(char::from_u32)
            .collect();
        let mut x = Xml::new();
        x.text("M", &format!("<{all}>"));
        let bytes = x.into_bytes();
        let expected: String = "<"
            .chars()
            .chain(all.chars().map(|c| match c {
                '\t' | '\n' | '\r' | '\u{7F}' | '\u{FFFD}' | '\u{10000}' => c,
                _ => '\u{FFFD}',
            }))
            .chain(">".chars())
            .collect();
        assert_eq!(read_back(&bytes), expected);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("<M>&lt;\u{FFFD}"), "{text}");
        assert!(text.contains("\t\n\u{FFFD}\u{FFFD}&#13;\u{FFFD}"), "{text}");
        assert!(
            text.ends_with("\u{FFFD}\u{FFFD}\u{10000}&gt;</M>"),
            "{text}"
        );
    }

    #[test]
    fn numbers_booleans_and_lists_are_written_as_before() {
        let mut x = Xml::new();
        x.int("A", i64::MIN);
        x.int("B", 0);
        x.bool("C", false);
        x.opt_text("D", None);
        x.opt_text("E", Some("é"));
        x.list::<&str>("F", "member", &[], |x, v| x.text("V", v));
        x.time("G", Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap());
        assert_eq!(
            String::from_utf8(x.into_bytes()).unwrap(),
            "<A>-9223372036854775808</A><B>0</B><C>false</C><E>é</E><F></F><G>2026-01-02T03:04:05.000Z</G>"
        );
    }

    proptest::proptest! {
        /// Timestamps are written digit by digit exactly as chrono writes them, in every
        /// year and on leap seconds.
        #[test]
        fn times_are_written_as_chrono_writes_them(
            seconds in -100_000_000_000i64..300_000_000_000,
            nanos in 0u32..2_000_000_000,
        ) {
            if let Some(t) = DateTime::<Utc>::from_timestamp(seconds, nanos) {
                let mut out = Vec::new();
                write_time(&mut out, t);
                proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), format_time(t));
            }
        }
    }

    #[test]
    fn times_keep_whole_milliseconds() {
        let t = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap()
            + chrono::Duration::nanoseconds(999_999_999);
        assert_eq!(format_time(t), "1999-12-31T23:59:59.999Z");
        let t = Utc.with_ymd_and_hms(10, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(format_time(t), "0010-01-01T00:00:00.000Z");
    }
}
