//! The properties the fuzz targets check, in one file shared by two builds:
//!
//! - the fuzz crate (`fuzz/src/lib.rs`), whose `fuzz_targets/*.rs` call these functions
//!   from `fuzz_target!`;
//! - the main crate's `tests/fuzz_regressions.rs`, which includes this file with
//!   `#[path]` and replays every file of `fuzz/seeds/<target>/` and
//!   `fuzz/regressions/<target>/` through the same function, under plain `cargo test`.
//!
//! So this file may use only what both builds have: `memshift` and the crates memshift
//! itself depends on (axum, tokio, serde_json, quick-xml, chrono).
//!
//! Every function takes the raw fuzz input and panics when a property does not hold. A
//! property that guards a finding already reported can be switched off for a fuzzing
//! session with `FUZZ_ALLOW_KNOWN=<id>[,<id>...]` (see [`known`]), so that the fuzzer can
//! look past it; the regression test never sets it.

#![allow(dead_code)]

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, header};
use chrono::{DateTime, NaiveDateTime, TimeDelta, TimeZone, Utc};
use memshift::api::Api as AppState;
use memshift::api::context::{RequestContext, context_from};
use memshift::api::{memorydb, redshift};
use memshift::config::{DEFAULT_MAX_BODY_BYTES, NetLimits, ServiceSettings};
use memshift::protocol::context::new_request_id;
use memshift::protocol::error::{ErrorParts, ProtocolError};
use memshift::protocol::sigv4::{
    self, Keys, Signed, credential_from_authorization, parse_credential,
};
use memshift::protocol::{Protocol, json, query, query_de};
use memshift::server::{Shared, respond};
use memshift::services::memorydb::access_string::canonicalize;
use memshift::services::redshift::model as rs;
use memshift::state::persist::Commit;
use memshift::state::{DEFAULT_ACCOUNT, DEFAULT_REGION, Scope};
use serde_json::Value;

/// A target's check: the raw input in, a panic when a property does not hold.
pub type Check = fn(&[u8]);

/// The targets, by the name of their directory under `fuzz/seeds/` and `fuzz/regressions/`.
pub const TARGETS: &[(&str, Check)] = &[
    ("json_decode", json_decode),
    ("query_decode", query_decode),
    ("access_string", access_string),
    ("authorization", authorization),
    ("request", request),
];

/// The check of a target, by name.
#[must_use]
pub fn target(name: &str) -> Option<Check> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Whether the fuzzing session asked to look past a finding already reported, by its id
/// (`FUZZ_ALLOW_KNOWN=xml-chars,form-plus-escape`).
///
/// Ids: `xml-chars` (XML answers carry characters XML 1.0 forbids), `form-plus-escape`
/// (`%+F` is read as an escape), `credential-mismatch` (the context and the SigV4 check
/// read different credentials).
#[must_use]
pub fn known(id: &str) -> bool {
    static ALLOWED: OnceLock<Vec<String>> = OnceLock::new();
    ALLOWED
        .get_or_init(|| {
            std::env::var("FUZZ_ALLOW_KNOWN")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .iter()
        .any(|k| k == id)
}

// ---------------------------------------------------------------------------------------
// Shared fixtures
// ---------------------------------------------------------------------------------------

const AKID: &str = "AKIDEXAMPLE";
/// The secret of AWS's SigV4 documentation example.
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const KEY_ACCOUNT: &str = "111122223333";

/// The keys of the credentials file the SigV4 checks use.
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        Keys::parse(
            &format!(
                r#"[{{"access_key_id":"{AKID}","secret_access_key":"{SECRET}","account":"{KEY_ACCOUNT}"}},
                   {{"access_key_id":"AKIDOTHER","secret_access_key":"other-secret","role":"etl"}}]"#
            ),
            DEFAULT_ACCOUNT,
        )
        .expect("the fuzz credentials parse")
    })
}

fn defaults() -> Scope {
    Scope::new(DEFAULT_ACCOUNT, DEFAULT_REGION)
}

fn ctx() -> RequestContext {
    RequestContext {
        request_id: new_request_id(),
        scope: defaults(),
        access_key_id: Some(AKID.to_owned()),
    }
}

/// Settings without engines: the targets exercise the control planes, and must not start
/// a Redis or PostgreSQL server per input.
fn settings() -> ServiceSettings {
    ServiceSettings {
        redis_server: Some("off".into()),
        postgres_bin_dir: Some("off".into()),
        ..ServiceSettings::default()
    }
}

fn new_state() -> AppState {
    AppState::new(defaults(), settings()).expect("a CA is made")
}

/// Occurrences of `needle` in `haystack` (overlapping).
fn count(haystack: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || needle.len() > haystack.len() {
        return 0;
    }
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    count(haystack, needle) > 0
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut s: String = text.chars().take(600).collect();
    if text.chars().count() > 600 {
        s.push_str("...");
    }
    format!("{s:?}")
}

/// An error answer must be the caller's fault: 4xx, never `InternalFailure`.
fn check_client_error(what: &str, parts: &ErrorParts, input: &[u8]) {
    assert!(
        parts.status.is_client_error(),
        "{what}: answered {} {} ({}) for input {}",
        parts.status,
        parts.code,
        parts.message,
        show(input)
    );
    assert!(
        !parts.code.is_empty() && parts.code != "InternalFailure",
        "{what}: error code {:?} for input {}",
        parts.code,
        show(input)
    );
}

/// Whether XML 1.0 allows the character in a document.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Checks that an answer is one well-formed XML document that XML 1.0 parsers accept, and
/// returns the name of its root element.
fn check_xml(what: &str, body: &[u8]) -> String {
    use quick_xml::events::Event;

    let text = std::str::from_utf8(body)
        .unwrap_or_else(|e| panic!("{what}: XML answer is not UTF-8 ({e}): {}", show(body)));
    if !known("xml-chars")
        && let Some(c) = text.chars().find(|c| !xml_char(*c))
    {
        panic!(
            "{what}: XML answer holds {c:?}, a character XML 1.0 forbids (XML parsers of the \
             SDKs refuse the whole answer): {}",
            show(body)
        );
    }
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth = 0usize;
    let mut roots = 0usize;
    let mut root = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                if depth == 0 {
                    roots += 1;
                    AsRef::<str>::as_ref(&e.name()).clone_into(&mut root);
                }
                for attribute in e.attributes() {
                    if let Err(err) = attribute {
                        panic!("{what}: malformed attribute ({err}): {}", show(body));
                    }
                }
                depth += 1;
            }
            Ok(Event::End(_)) => {
                assert!(depth > 0, "{what}: unbalanced end tag: {}", show(body));
                depth -= 1;
            }
            Ok(Event::Empty(e)) => {
                if depth == 0 {
                    roots += 1;
                    AsRef::<str>::as_ref(&e.name()).clone_into(&mut root);
                }
            }
            Ok(Event::Text(t)) => {
                assert!(
                    depth > 0 || t.trim_ascii().is_empty(),
                    "{what}: text outside the root element: {}",
                    show(body)
                );
            }
            Ok(Event::GeneralRef(r)) => {
                let name: &str = &r;
                let ok = matches!(name, "lt" | "gt" | "amp" | "apos" | "quot")
                    || (r.is_char_ref()
                        && matches!(r.resolve_char_ref(), Ok(Some(c)) if known("xml-chars") || xml_char(c)));
                assert!(
                    ok && depth > 0,
                    "{what}: bad reference &{name}; in {}",
                    show(body)
                );
            }
            Ok(Event::Eof) => break,
            Ok(Event::DocType(_)) => panic!("{what}: DOCTYPE in an answer: {}", show(body)),
            Ok(Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::CData(_)) => {}
            Err(e) => panic!("{what}: malformed XML ({e}): {}", show(body)),
        }
    }
    assert!(
        depth == 0 && roots == 1,
        "{what}: not one closed root element (depth {depth}, roots {roots}): {}",
        show(body)
    );
    root
}

fn check_json_object(what: &str, body: &[u8]) -> serde_json::Map<String, Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        Ok(other) => panic!("{what}: JSON answer is not an object: {other}"),
        Err(e) => panic!("{what}: JSON answer does not parse ({e}): {}", show(body)),
    }
}

/// The JSON error document of an error, checked: `{"__type": code, "message": text}`.
fn check_json_error(what: &str, parts: &ErrorParts) -> Vec<u8> {
    let bytes = json::encode_error(parts);
    let map = check_json_object(what, &bytes);
    assert_eq!(
        map.get("__type").and_then(Value::as_str),
        Some(parts.code),
        "{what}: __type"
    );
    assert_eq!(
        map.get("message").and_then(Value::as_str),
        Some(parts.message.as_str()),
        "{what}: message"
    );
    bytes
}

// ---------------------------------------------------------------------------------------
// json_decode: any body through every MemoryDB operation
// ---------------------------------------------------------------------------------------

/// The MemoryDB operations memshift serves, in an order where a body that creates
/// something then sees it described, updated, tagged and deleted.
const MEMORYDB_OPERATIONS: &[&str] = &[
    "CreateUser",
    "CreateACL",
    "CreateCluster",
    "DescribeUsers",
    "DescribeACLs",
    "DescribeClusters",
    "UpdateUser",
    "UpdateACL",
    "UpdateCluster",
    "TagResource",
    "ListTags",
    "UntagResource",
    "DeleteCluster",
    "DeleteACL",
    "DeleteUser",
    // An operation of the model that memshift does not emulate.
    "DescribeSnapshots",
];

/// What every MemoryDB run starts from: two users (one with a password) and an ACL.
const MEMORYDB_SETUP: &[(&str, &str)] = &[
    (
        "CreateUser",
        r#"{"UserName":"u1","AccessString":"on ~* +@all","AuthenticationMode":{"Type":"password","Passwords":["setup-password-0123456789"]}}"#,
    ),
    (
        "CreateUser",
        r#"{"UserName":"u2","AccessString":"on ~app:* +@read","AuthenticationMode":{"Type":"iam"}}"#,
    ),
    (
        "CreateACL",
        r#"{"ACLName":"a1","UserNames":["u1","u2"],"Tags":[{"Key":"team","Value":"data"}]}"#,
    ),
    (
        "CreateCluster",
        r#"{"ClusterName":"m1","NodeType":"db.t4g.small","ACLName":"a1"}"#,
    ),
];

/// Runs `body` through every operation on a fresh state, checking each answer's shape;
/// answers the bytes each operation would send.
fn run_memorydb(body: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let state = new_state();
    let ctx = ctx();
    for (op, setup) in MEMORYDB_SETUP {
        memorydb::call(&state, &ctx, op, setup.as_bytes(), &mut Commit::default())
            .unwrap_or_else(|_| panic!("the MemoryDB setup call {op} failed"));
    }
    let mut answers = Vec::with_capacity(MEMORYDB_OPERATIONS.len() + 1);
    for op in MEMORYDB_OPERATIONS {
        let what = format!("MemoryDB {op}");
        let bytes = match memorydb::call(&state, &ctx, op, body, &mut Commit::default()) {
            Ok(bytes) => {
                let map = check_json_object(&what, &bytes);
                check_access_strings(&what, &Value::Object(map));
                bytes
            }
            Err(failure) => {
                let parts = failure.parts(Protocol::Json);
                check_client_error(&what, &parts, body);
                check_json_error(&what, &parts)
            }
        };
        answers.push((*op, bytes));
    }
    answers
}

/// Every `AccessString` an answer shows is canonical: canonicalizing it again gives it back.
fn check_access_strings(what: &str, value: &Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "AccessString"
                    && let Value::String(s) = v
                {
                    assert_eq!(
                        canonicalize(s).as_deref(),
                        Ok(s.as_str()),
                        "{what}: stored access string is not canonical"
                    );
                }
                check_access_strings(what, v);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| check_access_strings(what, v)),
        _ => {}
    }
}

/// The strings of every `Passwords` member anywhere in a JSON body.
fn passwords_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "Passwords" {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        Value::Array(items) => {
                            out.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
                        }
                        _ => {}
                    }
                }
                passwords_in(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| passwords_in(v, out)),
        _ => {}
    }
}

/// The ways a string can appear in an answer: as it is, JSON-escaped, XML-escaped.
fn spellings(s: &str) -> Vec<Vec<u8>> {
    let mut out = vec![s.as_bytes().to_vec()];
    let json = serde_json::to_string(s).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or_default();
    if json != s {
        out.push(json.as_bytes().to_vec());
    }
    let xml = quick_xml::escape::escape(s);
    if xml != s {
        out.push(xml.as_bytes().to_vec());
    }
    out
}

fn shows(answer: &[u8], s: &str) -> bool {
    spellings(s).iter().any(|sp| contains(answer, sp))
}

/// Feeds arbitrary bytes as the body of every MemoryDB operation.
///
/// Properties: no panic; a success is a JSON object whose access strings are canonical;
/// an error is a 4xx with a `{"__type","message"}` document; and no answer shows a
/// password (a `Passwords` entry) unless the request wrote that text elsewhere too or the
/// answer shows it whatever the password is.
pub fn json_decode(data: &[u8]) {
    let answers = run_memorydb(data);
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let mut passwords = Vec::new();
    passwords_in(&value, &mut passwords);
    for p in &passwords {
        if p.chars().count() < 6 || !answers.iter().any(|(_, a)| shows(a, p)) {
            continue;
        }
        // Written elsewhere in the request (a user name, say): the answer may show it.
        let as_password: usize = passwords
            .iter()
            .map(|q| count(q.as_bytes(), p.as_bytes()))
            .sum();
        if count(data, p.as_bytes()) > as_password {
            continue;
        }
        // The same request with every password replaced by other text of the same length:
        // what it shows too is the answer's own text.
        let mut masked = data.to_vec();
        for q in &passwords {
            let mask = "\u{E000}".repeat(q.chars().count());
            masked = replace_all(&masked, q.as_bytes(), mask.as_bytes());
        }
        let reference = run_memorydb(&masked);
        for ((op, answer), (_, reference)) in answers.iter().zip(&reference) {
            assert!(
                !shows(answer, p) || shows(reference, p),
                "MemoryDB {op} shows a password of the request: {}",
                show(answer)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// query_decode: any form through parse_form, from_params and every Redshift action
// ---------------------------------------------------------------------------------------

/// The form as `application/x-www-form-urlencoded` reads it, strictly: `+` is a space,
/// `%` must be followed by two hex digits, and the result must be UTF-8.
fn strict_form(text: &[u8]) -> Option<Vec<(String, String)>> {
    fn component(bytes: &[u8]) -> Option<String> {
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = bytes.get(i + 1..i + 3)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    let hex = std::str::from_utf8(hex).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    text.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            Some((component(k)?, component(v)?))
        })
        .collect()
}

/// The text of `from_params` messages besides parameter names.
const QUERY_DE_VOCABULARY: &str = "Invalid value for parameter : expected an integer. \
    a non-negative integer. a number. true or false. a list. a structure. a string. \
    one of the allowed values. The request must contain the parameter .";

/// Reads the parameters as one input type; a failure must be a parameter error that
/// names parameters, never their values.
fn decode_as<T: serde::de::DeserializeOwned>(
    type_name: &str,
    params: &[(Cow<'_, str>, Cow<'_, str>)],
    input: &[u8],
) {
    match query_de::from_params::<T>(params) {
        Ok(_) | Err(ProtocolError::MissingParameter(_)) => {}
        Err(ProtocolError::InvalidParameterValue(message)) => {
            // The message names parameters (a name or a dotted prefix of one): take them
            // out, longest first, and no value may be left.
            let mut names: Vec<&str> = params
                .iter()
                .flat_map(|(k, _)| {
                    let k: &str = k;
                    k.match_indices('.')
                        .map(move |(i, _)| &k[..i])
                        .chain(std::iter::once(k))
                })
                .filter(|n| !n.is_empty())
                .collect();
            names.sort_by_key(|n| std::cmp::Reverse(n.len()));
            let mut rest = message.clone();
            for name in names {
                rest = rest.replace(name, "\u{0}");
            }
            for (_, v) in params {
                let v: &str = v;
                assert!(
                    v.len() < 4 || !rest.contains(v) || QUERY_DE_VOCABULARY.contains(v),
                    "from_params::<{type_name}> echoes a value in {message:?} for {}",
                    show(input)
                );
            }
        }
        Err(other) => panic!(
            "from_params::<{type_name}> failed with {other:?} for {}",
            show(input)
        ),
    }
}

/// The Redshift actions memshift serves, creators first.
const REDSHIFT_ACTIONS: &[&str] = &[
    "CreateCluster",
    "CreateTags",
    "CreateCustomDomainAssociation",
    "DescribeClusters",
    "DescribeTags",
    "DescribeCustomDomainAssociations",
    "GetClusterCredentials",
    "GetClusterCredentialsWithIAM",
    "DeleteTags",
    "DeleteCustomDomainAssociation",
    "DeleteCluster",
];

const REDSHIFT_SETUP: &[(&str, &str)] = &[
    (
        "CreateCluster",
        "ClusterIdentifier=c1&NodeType=ra3.xlplus&MasterUsername=admin&MasterUserPassword=Setup1Password&Tags.Tag.1.Key=team&Tags.Tag.1.Value=data",
    ),
    (
        "CreateCustomDomainAssociation",
        "ClusterIdentifier=c1&CustomDomainName=db.example.com&CustomDomainCertificateArn=arn:aws:acm:us-east-1:000000000000:certificate/abc",
    ),
];

/// Runs the parameters through every Redshift action (and the form's own `Action`, if it
/// is another) on a fresh state, checking each answer's shape.
fn run_redshift(params: &[(Cow<'_, str>, Cow<'_, str>)], input: &[u8]) -> Vec<(String, Vec<u8>)> {
    let state = new_state();
    let ctx = ctx();
    for (action, form) in REDSHIFT_SETUP {
        let setup = query::parse_form(form.as_bytes()).expect("the setup form parses");
        redshift::call(&state, &ctx, action, &setup, &mut Commit::default())
            .unwrap_or_else(|_| panic!("the Redshift setup call {action} failed"));
    }
    let own = query::param(params, "Action")
        .filter(|a| !REDSHIFT_ACTIONS.contains(a))
        .map(str::to_owned);
    let mut answers = Vec::with_capacity(REDSHIFT_ACTIONS.len() + 1);
    for action in REDSHIFT_ACTIONS.iter().map(|a| (*a).to_owned()).chain(own) {
        let what = format!("Redshift {action:?}");
        let bytes = match redshift::call(&state, &ctx, &action, params, &mut Commit::default()) {
            Ok(bytes) => {
                let root = check_xml(&what, &bytes);
                assert_eq!(root, format!("{action}Response"), "{what}: root element");
                bytes
            }
            Err(failure) => {
                let parts = failure.parts(Protocol::Query);
                check_client_error(&what, &parts, input);
                let bytes = query::encode_error(&parts, &ctx.request_id, query::REDSHIFT_NAMESPACE);
                assert_eq!(
                    check_xml(&what, &bytes),
                    "ErrorResponse",
                    "{what}: root element"
                );
                bytes
            }
        };
        answers.push((action, bytes));
    }
    answers
}

/// Another password of the same character classes (so it passes or fails the same rules).
fn mask_redshift_password(p: &str) -> String {
    p.chars()
        .map(|c| match c {
            'A'..='Z' => 'Q',
            'a'..='z' => 'q',
            '0'..='9' => '7',
            '!'..='~' if !matches!(c, '\'' | '"' | '\\' | '/' | '@') => '~',
            other => other,
        })
        .collect()
}

/// Feeds arbitrary bytes as an AWS Query form.
///
/// Properties: `parse_form` accepts exactly the well-formed forms and decodes them as
/// the standard says; `from_params` into every Redshift input fails only with parameter
/// errors that do not echo values; every action answers well-formed XML 1.0 (a 4xx
/// `<ErrorResponse>` on failure); and no answer shows the `MasterUserPassword`.
pub fn query_decode(data: &[u8]) {
    let parsed = query::parse_form(data);
    let reference = strict_form(data);
    match (&parsed, &reference) {
        (Ok(params), Some(expected)) => {
            let got: Vec<(String, String)> = params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(&got, expected, "parse_form decoded {}", show(data));
        }
        (Err(e), None) => assert!(
            matches!(e, ProtocolError::Serialization(_)),
            "parse_form failed with {e:?}"
        ),
        (Ok(params), None) => assert!(
            known("form-plus-escape"),
            "parse_form accepted the malformed form {} as {params:?}",
            show(data)
        ),
        (Err(e), Some(expected)) => panic!(
            "parse_form refused the well-formed form {} ({e:?}), which reads {expected:?}",
            show(data)
        ),
    }
    let Ok(params) = parsed else { return };

    decode_as::<rs::CreateClusterMessage>("CreateClusterMessage", &params, data);
    decode_as::<rs::DescribeClustersMessage>("DescribeClustersMessage", &params, data);
    decode_as::<rs::DeleteClusterMessage>("DeleteClusterMessage", &params, data);
    decode_as::<rs::GetClusterCredentialsMessage>("GetClusterCredentialsMessage", &params, data);
    decode_as::<rs::GetClusterCredentialsWithIamMessage>(
        "GetClusterCredentialsWithIamMessage",
        &params,
        data,
    );
    decode_as::<rs::CreateTagsMessage>("CreateTagsMessage", &params, data);
    decode_as::<rs::DeleteTagsMessage>("DeleteTagsMessage", &params, data);
    decode_as::<rs::DescribeTagsMessage>("DescribeTagsMessage", &params, data);
    decode_as::<rs::CreateCustomDomainAssociationMessage>(
        "CreateCustomDomainAssociationMessage",
        &params,
        data,
    );
    decode_as::<rs::DescribeCustomDomainAssociationsMessage>(
        "DescribeCustomDomainAssociationsMessage",
        &params,
        data,
    );
    decode_as::<rs::DeleteCustomDomainAssociationMessage>(
        "DeleteCustomDomainAssociationMessage",
        &params,
        data,
    );

    let answers = run_redshift(&params, data);
    for (i, (k, p)) in params.iter().enumerate() {
        if k != "MasterUserPassword" || p.len() < 8 || !answers.iter().any(|(_, a)| shows(a, p)) {
            continue;
        }
        let elsewhere = params
            .iter()
            .enumerate()
            .any(|(j, (k2, v2))| k2.contains(p.as_ref()) || (j != i && v2.contains(p.as_ref())));
        if elsewhere {
            continue;
        }
        let mut masked = params.clone();
        masked[i].1 = Cow::Owned(mask_redshift_password(p));
        let reference = run_redshift(&masked, data);
        for ((action, answer), (_, reference)) in answers.iter().zip(&reference) {
            assert!(
                !shows(answer, p) || shows(reference, p),
                "Redshift {action} shows the MasterUserPassword: {}",
                show(answer)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// access_string
// ---------------------------------------------------------------------------------------

/// A Redis ACL rule that sets or clears passwords.
fn is_password_rule(token: &str) -> bool {
    token.starts_with(['>', '<', '#', '!'])
        || ["nopass", "resetpass", "reset"]
            .iter()
            .any(|w| token.eq_ignore_ascii_case(w))
}

/// Tokens as Redis splits an ACL rule list (`sdssplitargs`: C `isspace`).
fn redis_tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split([' ', '\t', '\n', '\x0B', '\x0C', '\r'])
        .filter(|t| !t.is_empty())
}

/// Feeds arbitrary UTF-8 as an access string.
///
/// Properties: a canonical form is a fixed point, starts with `on`/`off`, has single
/// spaces, and holds no password rule; an accepted input held none either (as Redis
/// splits it); a refusal does not repeat a password rule's payload.
pub fn access_string(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    match canonicalize(input) {
        Ok(s) => {
            assert_eq!(
                canonicalize(&s).as_deref(),
                Ok(s.as_str()),
                "canonical form of {input:?} is not a fixed point"
            );
            let tokens: Vec<&str> = s.split(' ').collect();
            assert!(
                tokens.iter().all(|t| !t.is_empty()),
                "canonical form {s:?} has an empty token"
            );
            assert!(
                matches!(tokens[0], "on" | "off"),
                "canonical form {s:?} does not start with on/off"
            );
            assert!(
                redis_tokens(&s).eq(tokens.iter().copied()),
                "canonical form {s:?} splits differently for Redis"
            );
            for t in &tokens {
                assert!(
                    !is_password_rule(t),
                    "canonical form {s:?} of {input:?} holds the password rule {t:?}"
                );
            }
            for t in redis_tokens(input) {
                assert!(
                    !is_password_rule(t),
                    "{input:?} holds the password rule {t:?} but was accepted as {s:?}"
                );
            }
        }
        Err(message) => {
            let tokens: Vec<&str> = input.split_whitespace().collect();
            let password_like = |t: &str| t.starts_with(['>', '<', '#', '!']);
            // The same input with every password rule's payload replaced: text its
            // refusal shows too is the message's own.
            let masked: Vec<String> = tokens
                .iter()
                .map(|t| {
                    if password_like(t) {
                        format!("{}{}", &t[..1], "\u{E000}".repeat(t[1..].chars().count()))
                    } else {
                        (*t).to_owned()
                    }
                })
                .collect();
            let reference = canonicalize(&masked.join(" ")).err().unwrap_or_default();
            for t in tokens.iter().filter(|t| password_like(t)) {
                let payload = &t[1..];
                if payload.len() < 4 || !message.contains(payload) || reference.contains(payload) {
                    continue;
                }
                let elsewhere = tokens
                    .iter()
                    .any(|o| !password_like(o) && o.contains(payload));
                assert!(
                    elsewhere,
                    "the refusal {message:?} repeats the password rule {t:?}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// authorization
// ---------------------------------------------------------------------------------------

/// `line0: Authorization`, `line1: X-Amz-Date`, `line2: query string`,
/// `line3: METHOD PATH`, then `Name: value` header lines, an empty line, and the body.
struct AuthInput<'a> {
    authorization: &'a [u8],
    date: &'a [u8],
    query: String,
    method: String,
    path: String,
    headers: HeaderMap,
    body: &'a [u8],
}

fn lines(data: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    // Up to the first empty line after the fixed lines: header lines; then the body.
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.iter().position(|b| *b == b'\n') {
        let line = &rest[..i];
        rest = &rest[i + 1..];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() && out.len() >= 4 {
            return (out, rest);
        }
        out.push(line);
    }
    out.push(rest);
    (out, b"")
}

fn parse_auth_input(data: &[u8]) -> AuthInput<'_> {
    let (lines, body) = lines(data);
    let line = |i: usize| lines.get(i).copied().unwrap_or_default();
    let request_line = String::from_utf8_lossy(line(3)).into_owned();
    let (method, path) = request_line
        .split_once(' ')
        .map_or((request_line.as_str(), "/"), |(m, p)| (m, p));
    let mut headers = HeaderMap::new();
    if !line(0).is_empty()
        && let Ok(v) = HeaderValue::from_bytes(line(0))
    {
        headers.append(header::AUTHORIZATION, v);
    }
    if !line(1).is_empty()
        && let Ok(v) = HeaderValue::from_bytes(line(1))
    {
        headers.append("x-amz-date", v);
    }
    for l in lines.iter().skip(4) {
        if let Some(i) = l.iter().position(|b| *b == b':') {
            let value = l[i + 1..].trim_ascii_start();
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(&l[..i]),
                HeaderValue::from_bytes(value),
            ) {
                headers.append(n, v);
            }
        }
    }
    AuthInput {
        authorization: line(0),
        date: line(1),
        query: String::from_utf8_lossy(line(2)).into_owned(),
        method: if method.is_empty() { "POST" } else { method }.to_owned(),
        path: if path.is_empty() { "/" } else { path }.to_owned(),
        headers,
        body,
    }
}

/// `YYYYMMDDTHHMMSSZ`, as the SigV4 check reads it.
fn basic_date(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|d| d.and_utc())
}

/// The presigned credential the server hands to `context_from` (as `server::handle` finds
/// it: the first `X-Amz-Credential` of the query string read with `parse_form`).
fn presigned_credential(query_string: &str) -> Option<String> {
    query::parse_form(query_string.as_bytes())
        .ok()
        .and_then(|params| params.into_iter().find(|(k, _)| k == "X-Amz-Credential"))
        .map(|(_, v)| v.into_owned())
}

/// Feeds arbitrary bytes as the `Authorization` header, `X-Amz-Date`, query string, path,
/// headers and body of a request into `sigv4::verify` and the request-context parser.
///
/// Properties: no panic; the context parser's credential is read from the header (each
/// field a piece of it, the whole scope `AKID/DATE/REGION/SERVICE/aws4_request` in it);
/// every refusal is a 4xx; and when a signature verifies, the request context names the
/// access key that signed it (so the request acts in that key's account).
pub fn authorization(data: &[u8]) {
    let input = parse_auth_input(data);

    if let Ok(text) = std::str::from_utf8(input.authorization)
        && let Some(c) = credential_from_authorization(text)
    {
        assert!(
            !c.access_key_id.is_empty() && !c.region.is_empty(),
            "empty access key or region from {text:?}"
        );
        let scope = format!(
            "{}/{}/{}/{}/aws4_request",
            c.access_key_id, c.date, c.region, c.service
        );
        assert!(
            text.contains(&scope),
            "credential {c:?} is not a piece of {text:?}"
        );
        for field in [c.access_key_id, c.date, c.region, c.service] {
            assert!(
                !field.contains('/') && !field.contains(','),
                "{c:?} from {text:?}"
            );
        }
        assert_eq!(parse_credential(&scope), Some(c.clone()), "{text:?}");
    }

    let request = Signed {
        method: &input.method,
        path: &input.path,
        query: &input.query,
        headers: &input.headers,
        body: input.body,
    };
    let mut times = vec![Utc.with_ymd_and_hms(2015, 8, 30, 12, 40, 0).unwrap()];
    // Also at the request's own time, so that fuzzed dates reach the signature itself.
    let query_date = input
        .query
        .split('&')
        .find_map(|p| p.strip_prefix("X-Amz-Date="))
        .map(str::to_owned);
    for text in [String::from_utf8_lossy(input.date).into_owned()]
        .into_iter()
        .chain(query_date)
    {
        if let Some(t) =
            basic_date(&text).and_then(|t| t.checked_add_signed(TimeDelta::seconds(30)))
        {
            times.push(t);
        }
    }
    let services: &[&str] = &["memorydb", "redshift", "iam"];
    for now in times {
        let result = sigv4::verify(&request, keys(), services, now);
        if std::env::var_os("FUZZ_DEBUG").is_some() {
            eprintln!(
                "verify at {now}: {:?}",
                result.as_ref().map(|k| &k.access_key_id)
            );
        }
        match result {
            Ok(key) => {
                let presigned = presigned_credential(&input.query);
                let ctx = context_from(&input.headers, presigned.as_deref(), &defaults());
                assert!(
                    known("credential-mismatch")
                        || ctx.access_key_id.as_deref() == Some(key.access_key_id.as_str()),
                    "signed by {} but the request context reads the access key {:?} \
                     (account {}): {}",
                    key.access_key_id,
                    ctx.access_key_id,
                    ctx.scope.account,
                    show(data)
                );
            }
            Err(e) => {
                for protocol in [Protocol::Json, Protocol::Query] {
                    let parts = e.parts(protocol);
                    check_client_error("sigv4::verify", &parts, data);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// request: whole HTTP requests through server::respond
// ---------------------------------------------------------------------------------------

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
    })
}

fn shared(verify_sigv4: bool) -> Arc<Shared> {
    Arc::new(Shared {
        api: new_state(),
        max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        limits: NetLimits::default(),
        keys: keys().clone(),
        verify_sigv4,
        init_file: None,
    })
}

fn split_on<'a>(data: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(separator.len()).position(|w| w == separator) {
        out.push(&rest[..i]);
        rest = &rest[i + separator.len()..];
    }
    out.push(rest);
    out
}

/// One request of the input: `METHOD TARGET`, header lines, an empty line, the body.
fn build_request(raw: &[u8]) -> Request<Body> {
    let (head, body) = match raw.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&raw[..i], &raw[i + 2..]),
        None => (raw, &b""[..]),
    };
    let mut head_lines = head.split(|b| *b == b'\n');
    let first = head_lines.next().unwrap_or_default();
    let (method, target) = match first.iter().position(|b| *b == b' ') {
        Some(i) => (&first[..i], &first[i + 1..]),
        None => (first, &b"/"[..]),
    };
    let method = Method::from_bytes(method).unwrap_or(Method::POST);
    let uri = Uri::try_from(target).unwrap_or_else(|_| Uri::from_static("/"));
    let mut builder = Request::builder().method(method).uri(uri);
    for line in head_lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(i) = line.iter().position(|b| *b == b':') {
            let value = line[i + 1..].trim_ascii_start();
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(&line[..i]),
                HeaderValue::from_bytes(value),
            ) {
                builder = builder.header(n, v);
            }
        }
    }
    builder
        .body(Body::from(body.to_vec()))
        .expect("parts checked one by one")
}

/// The most requests one input sends.
const MAX_REQUESTS: usize = 8;

/// Feeds whole HTTP requests through `server::respond`. The input is one or more
/// requests separated by a line `===`, each `METHOD TARGET`, header lines, an empty line
/// and the body; an input starting with a line `#sigv4` is served with `--verify-sigv4`.
///
/// Property: every request gets an AWS-shaped answer that is not a 5xx: a JSON 1.1
/// object (with `__type`, matching `x-amzn-ErrorType`, when it is an error), or a
/// well-formed XML 1.0 document (`<ErrorResponse>` with a `<Code>` when it is an error,
/// `<...Response>` otherwise), or the admin endpoints' JSON.
pub fn request(data: &[u8]) {
    let (verify, data) = match data.strip_prefix(b"#sigv4\n") {
        Some(rest) => (true, rest),
        None => (false, data),
    };
    let shared = shared(verify);
    for raw in split_on(data, b"\n===\n").into_iter().take(MAX_REQUESTS) {
        let request = build_request(raw);
        let what = format!("{} {}", request.method(), request.uri());
        let response = runtime().block_on(respond(Arc::clone(&shared), request));
        let (parts, body) = response.into_parts();
        let body = runtime()
            .block_on(axum::body::to_bytes(body, usize::MAX))
            .expect("a response body is in memory");
        assert!(
            !parts.status.is_server_error(),
            "{what}: answered {} {} for {}",
            parts.status,
            show(&body),
            show(raw)
        );
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let error = !parts.status.is_success();
        if content_type == json::CONTENT_TYPE {
            let map = check_json_object(&what, &body);
            if error {
                let code = map.get("__type").and_then(Value::as_str);
                assert!(
                    code.is_some(),
                    "{what}: error without __type: {}",
                    show(&body)
                );
                assert_eq!(
                    parts
                        .headers
                        .get("x-amzn-errortype")
                        .and_then(|v| v.to_str().ok()),
                    code,
                    "{what}: x-amzn-ErrorType"
                );
            }
        } else if content_type == query::CONTENT_TYPE {
            let root = check_xml(&what, &body);
            let text = String::from_utf8_lossy(&body);
            if error {
                assert!(
                    root == "ErrorResponse" && text.contains("<Error>") && text.contains("<Code>"),
                    "{what}: XML error without <ErrorResponse><Error><Code>: {}",
                    show(&body)
                );
            } else {
                assert!(
                    root.ends_with("Response") && root != "ErrorResponse",
                    "{what}: XML success rooted at <{root}>"
                );
            }
        } else if content_type == "application/json" {
            assert_eq!(parts.status, StatusCode::OK, "{what}: admin answer");
            check_json_object(&what, &body);
        } else {
            panic!(
                "{what}: answered {} with content type {content_type:?}: {}",
                parts.status,
                show(&body)
            );
        }
    }
}
