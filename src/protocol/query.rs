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

use quick_xml::Writer;
use quick_xml::events::BytesText;

use super::error::ErrorParts;

/// The content type of every AWS Query answer.
pub const CONTENT_TYPE: &str = "text/xml";
/// The XML namespace of Redshift's answers.
pub const REDSHIFT_NAMESPACE: &str = "http://redshift.amazonaws.com/doc/2012-12-01/";

/// Decodes `application/x-www-form-urlencoded` text into its pairs, in order.
#[must_use]
pub fn parse_form(text: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(text).into_owned().collect()
}

/// The value of the first parameter of that name.
#[must_use]
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Encodes `<ErrorResponse>` for an error.
#[must_use]
pub fn encode_error(error: &ErrorParts, request_id: &str, namespace: &str) -> Vec<u8> {
    let mut w = Writer::new(Vec::with_capacity(256));
    let result: std::io::Result<()> = (|| {
        w.create_element("ErrorResponse")
            .with_attribute(("xmlns", namespace))
            .write_inner_content(|w| {
                w.create_element("Error").write_inner_content(|w| {
                    text_element(w, "Type", error.fault.as_str())?;
                    text_element(w, "Code", error.code)?;
                    text_element(w, "Message", &error.message)
                })?;
                text_element(w, "RequestId", request_id)
            })?;
        Ok(())
    })();
    debug_assert!(result.is_ok(), "writing XML to memory cannot fail");
    w.into_inner()
}

/// Writes `<name>text</name>` with the text escaped.
///
/// # Errors
/// Only those of the underlying writer.
pub fn text_element<W: std::io::Write>(
    w: &mut Writer<W>,
    name: &str,
    text: &str,
) -> std::io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::Fault;
    use axum::http::StatusCode;

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
    fn forms_decode_in_order() {
        let p = parse_form(
            b"Action=GetClusterCredentials&DbGroups.DbGroup.1=a%2Bb&DbGroups.DbGroup.2=c+d",
        );
        assert_eq!(param(&p, "Action"), Some("GetClusterCredentials"));
        assert_eq!(param(&p, "DbGroups.DbGroup.1"), Some("a+b"));
        assert_eq!(param(&p, "DbGroups.DbGroup.2"), Some("c d"));
        assert_eq!(param(&p, "Missing"), None);
    }
}
