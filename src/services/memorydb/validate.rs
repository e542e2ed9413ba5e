//! Input rules shared by users, ACLs and tags: names, tags, page sizes and tokens.

use std::collections::BTreeMap;

use super::error::{Error, invalid};
use super::model::Tag;
use crate::services::paging;

/// Longest user or ACL name.
pub const MAX_NAME_LEN: usize = 40;
/// Largest page DescribeUsers and DescribeACLs return.
pub const MAX_PAGE: usize = 100;
pub const MAX_TAGS: usize = 50;
const MAX_TAG_KEY: usize = 128;
const MAX_TAG_VALUE: usize = 256;

/// Checks a new user or ACL name and returns it as AWS stores it, in lowercase.
///
/// # Errors
/// `InvalidParameterValueException` naming the rule that failed.
pub fn new_name(kind: &str, name: &str) -> Result<String, Error> {
    let bytes = name.as_bytes();
    let rule = if name.is_empty() {
        Some("must not be empty")
    } else if name.chars().count() > MAX_NAME_LEN {
        Some("must be at most 40 characters long")
    } else if !bytes[0].is_ascii_alphabetic() {
        Some("must begin with a letter")
    } else if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    {
        Some("must contain only ASCII letters, digits and hyphens")
    } else if name.ends_with('-') {
        Some("must not end with a hyphen")
    } else if name.contains("--") {
        Some("must not contain two consecutive hyphens")
    } else {
        None
    };
    match rule {
        Some(rule) => Err(invalid(format!("{kind} name {rule}."))),
        None => Ok(name.to_ascii_lowercase()),
    }
}

/// The key under which an existing user or ACL is looked up.
#[must_use]
pub fn lookup_name(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Validated tags: keys present, 1-128 characters, not `aws:`; values up to 256.
///
/// # Errors
/// `InvalidParameterValueException` for a bad key or value.
pub fn tags(tags: &[Tag]) -> Result<Vec<(String, String)>, Error> {
    tags.iter()
        .map(|t| {
            let key = t
                .key
                .as_deref()
                .ok_or_else(|| invalid("Tag key must be provided."))?;
            let len = key.chars().count();
            if len == 0 || len > MAX_TAG_KEY {
                return Err(invalid(
                    "Tag keys must be between 1 and 128 characters long.",
                ));
            }
            if key.to_ascii_lowercase().starts_with("aws:") {
                return Err(invalid("Tag keys must not start with aws:."));
            }
            let value = t.value.clone().unwrap_or_default();
            if value.chars().count() > MAX_TAG_VALUE {
                return Err(invalid("Tag values must be at most 256 characters long."));
            }
            Ok((key.to_owned(), value))
        })
        .collect()
}

/// Merges tags into a list: a new key is appended, an existing key gets the new value.
pub fn merge_tags(list: &mut Vec<(String, String)>, new: Vec<(String, String)>) {
    for (key, value) in new {
        match list.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => list.push((key, value)),
        }
    }
}

/// Tags at creation: validated, merged (a repeated key keeps its last value), and counted.
///
/// # Errors
/// As [`tags`], and `TagQuotaPerResourceExceeded` past 50 tags.
pub fn initial_tags(given: Option<&[Tag]>) -> Result<Vec<(String, String)>, Error> {
    let mut list = Vec::new();
    merge_tags(&mut list, tags(given.unwrap_or_default())?);
    if list.len() > MAX_TAGS {
        return Err(Error::TagQuotaPerResourceExceeded(MAX_TAGS));
    }
    Ok(list)
}

#[must_use]
pub fn tag_list(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

/// The page size for `MaxResults`: 1 or more, at most [`MAX_PAGE`] a page.
///
/// # Errors
/// `InvalidParameterValueException` for zero or a negative number.
pub fn page_size(max_results: Option<i32>) -> Result<usize, Error> {
    match max_results {
        None => Ok(MAX_PAGE),
        Some(n) if n < 1 => Err(invalid("MaxResults must be at least 1.")),
        Some(n) => Ok(usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE)),
    }
}

/// One page of a name-ordered map (see [`crate::services::paging`]).
///
/// # Errors
/// `InvalidParameterValueException` for a token memshift did not issue.
pub fn page<'a, V>(
    map: &'a BTreeMap<String, V>,
    next_token: Option<&str>,
    size: usize,
    keep: impl Fn(&V) -> bool,
) -> Result<(Vec<&'a V>, Option<String>), Error> {
    paging::page(map, next_token, size, keep).map_err(|_| invalid("Invalid NextToken."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rules_and_are_lowercased() {
        assert_eq!(new_name("User", "Alice-1").unwrap(), "alice-1");
        assert_eq!(new_name("User", &"a".repeat(40)).unwrap(), "a".repeat(40));
        for bad in [
            "",
            "1abc",
            "-abc",
            "ab_c",
            "abc-",
            "a--b",
            "ä",
            &"a".repeat(41),
        ] {
            assert!(new_name("User", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn tags_are_checked() {
        let t = |k: &str, v: &str| Tag {
            key: Some(k.to_owned()),
            value: Some(v.to_owned()),
        };
        assert!(tags(&[t("k", "v")]).is_ok());
        assert!(tags(&[t("", "v")]).is_err());
        assert!(tags(&[t("aws:x", "v")]).is_err());
        assert!(tags(&[t(&"k".repeat(129), "v")]).is_err());
        assert!(tags(&[t("k", &"v".repeat(257))]).is_err());
        assert!(
            tags(&[Tag {
                key: None,
                value: None
            }])
            .is_err()
        );
        let many: Vec<Tag> = (0..51).map(|i| t(&format!("k{i}"), "v")).collect();
        assert_eq!(
            initial_tags(Some(&many)).unwrap_err(),
            Error::TagQuotaPerResourceExceeded(50)
        );
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(None).unwrap(), 100);
        assert_eq!(page_size(Some(5)).unwrap(), 5);
        assert_eq!(page_size(Some(1000)).unwrap(), 100);
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(-3)).is_err());
    }
}
