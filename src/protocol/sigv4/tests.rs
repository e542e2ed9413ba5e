//! Checks of the signature verifier against AWS's documented example and malformed input.

use super::*;

/// The example of AWS's SigV4 documentation (IAM ListUsers, 2015-08-30).
#[test]
fn the_documented_example_signs_the_same() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8"
            .parse()
            .unwrap(),
    );
    headers.insert("host", "iam.amazonaws.com".parse().unwrap());
    headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
    headers.insert(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date, \
         Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
            .parse()
            .unwrap(),
    );
    let keys = Keys::parse(
        r#"[{"access_key_id":"AKIDEXAMPLE","secret_access_key":"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}]"#,
        "000000000000",
    )
    .unwrap();
    let request = Signed {
        method: "GET",
        path: "/",
        query: "Action=ListUsers&Version=2010-05-08",
        headers: &headers,
        body: b"",
    };
    let now = DateTime::parse_from_rfc3339("2015-08-30T12:40:00Z")
        .unwrap()
        .to_utc();
    let key = verify(&request, &keys, &["iam"], now).unwrap();
    assert_eq!(key.access_key_id, "AKIDEXAMPLE");
    // A minute past the allowed skew, the same request has expired.
    let later = now + TimeDelta::minutes(16);
    let err = verify(&request, &keys, &["iam"], later).unwrap_err();
    assert!(
        matches!(err, AuthError::Mismatch(m, _) if m.starts_with("Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z"))
    );
}

#[test]
fn region_names() {
    for ok in [
        "us-east-1",
        "ap-southeast-2",
        "us-gov-west-1",
        "cn-northwest-1",
        "il-central-1",
    ] {
        assert!(is_region(ok), "{ok}");
    }
    for bad in [
        "mars-north-1",
        "us-est-1",
        "us-east",
        "useast1",
        "us-east-x",
        "",
    ] {
        assert!(!is_region(bad), "{bad}");
    }
}

#[test]
fn malformed_headers_are_incomplete() {
    let keys = Keys::default();
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=a/b".parse().unwrap(),
    );
    let request = Signed {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: b"",
    };
    let err = verify(&request, &keys, &["memorydb"], Utc::now()).unwrap_err();
    let AuthError::Incomplete(m) = err else {
        panic!("{err:?}")
    };
    assert!(m.contains("requires 'Signature' parameter"), "{m}");
    assert!(m.contains("'X-Amz-Date' or a 'Date' header"), "{m}");
    let mut basic = HeaderMap::new();
    basic.insert("authorization", "Basic abc".parse().unwrap());
    let request = Signed {
        headers: &basic,
        ..request
    };
    // A scheme other than AWS4-* is no signature at all.
    assert_eq!(
        verify(&request, &keys, &["memorydb"], Utc::now()).unwrap_err(),
        AuthError::Missing
    );
}
