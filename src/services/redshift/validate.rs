//! Redshift's input rules: identifiers, user, database and group names (with the reserved
//! words), master passwords, durations and tags.

use super::error::{Error, invalid};
use super::model::Tag;
use crate::secret::Secret;

pub const MAX_TAGS: usize = 50;

/// Redshift's reserved words, which no user, database or group may be named.
const RESERVED: &[&str] = &[
    "aes128",
    "aes256",
    "all",
    "allowoverwrite",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "authorization",
    "az64",
    "backup",
    "between",
    "binary",
    "blanksasnull",
    "both",
    "bytedict",
    "bzip2",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "credentials",
    "cross",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "current_user_id",
    "default",
    "deferrable",
    "deflate",
    "defrag",
    "delta",
    "delta32k",
    "desc",
    "disable",
    "distinct",
    "do",
    "else",
    "emptyasnull",
    "enable",
    "encode",
    "encrypt",
    "encryption",
    "end",
    "except",
    "explicit",
    "false",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "globaldict256",
    "globaldict64k",
    "grant",
    "group",
    "gzip",
    "having",
    "identity",
    "ignore",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "lun",
    "luns",
    "lzo",
    "lzop",
    "minus",
    "mostly16",
    "mostly32",
    "mostly8",
    "natural",
    "new",
    "not",
    "notnull",
    "null",
    "nulls",
    "off",
    "offline",
    "offset",
    "oid",
    "old",
    "on",
    "only",
    "open",
    "or",
    "order",
    "outer",
    "overlaps",
    "parallel",
    "partition",
    "percent",
    "permissions",
    "pivot",
    "placing",
    "primary",
    "public",
    "raw",
    "readratio",
    "recover",
    "references",
    "rejectlog",
    "resort",
    "respect",
    "restore",
    "right",
    "select",
    "session_user",
    "similar",
    "snapshot",
    "some",
    "sysdate",
    "system",
    "table",
    "tag",
    "tdes",
    "text255",
    "text32k",
    "then",
    "timestamp",
    "to",
    "top",
    "trailing",
    "true",
    "truncatecolumns",
    "union",
    "unique",
    "unnest",
    "user",
    "using",
    "verbose",
    "wallet",
    "when",
    "where",
    "with",
    "without",
];

/// Node types Redshift provisions.
const NODE_TYPES: &[&str] = &[
    "dc2.large",
    "dc2.8xlarge",
    "ds2.xlarge",
    "ds2.8xlarge",
    "ra3.large",
    "ra3.xlplus",
    "ra3.4xlarge",
    "ra3.16xlarge",
];

/// Whether a name is a reserved word, in any case (the list is sorted: binary search,
/// no allocation).
/// No reserved word is longer than this; a longer name is not one.
const LONGEST_RESERVED: usize = 24;

/// A word's mark in [`FILTER`]: one of 64 bits, from its first and last letters.
const fn filter_bit(first: u8, last: u8) -> u64 {
    1 << ((first as usize * 31 + last as usize) % 64)
}

/// For each length, the marks of the reserved words of that length: most names that are
/// not reserved miss here, before any word is compared.
const FILTER: [u64; LONGEST_RESERVED + 1] = {
    let mut table = [0; LONGEST_RESERVED + 1];
    let mut i = 0;
    while i < RESERVED.len() {
        let word = RESERVED[i].as_bytes();
        table[word.len()] |= filter_bit(word[0], word[word.len() - 1]);
        i += 1;
    }
    table
};

/// Whether a name is one of Redshift's reserved words.
#[must_use]
pub fn is_reserved(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(mask), Some(first), Some(last)) =
        (FILTER.get(bytes.len()), bytes.first(), bytes.last())
    else {
        return false;
    };
    if mask & filter_bit(first.to_ascii_lowercase(), last.to_ascii_lowercase()) == 0 {
        return false;
    }
    let mut lower = [0_u8; LONGEST_RESERVED];
    let Some(lower) = lower.get_mut(..name.len()) else {
        return false;
    };
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    // Most probes differ in their first letter: compared inline, before the whole word.
    RESERVED
        .binary_search_by(|word| {
            let word = word.as_bytes();
            word.first()
                .cmp(&lower.first())
                .then_with(|| word.cmp(lower))
        })
        .is_ok()
}

/// A cluster identifier: 1-63 letters, digits and hyphens, first a letter, no trailing
/// hyphen and no `--`; stored in lowercase.
///
/// # Errors
/// `InvalidParameterValue` naming the rule.
pub fn cluster_identifier(id: &str) -> Result<String, Error> {
    let rule = if id.is_empty() || id.len() > 63 {
        Some("must be 1 to 63 characters long")
    } else if !id.as_bytes()[0].is_ascii_alphabetic() {
        Some("must begin with a letter")
    } else if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Some("must contain only letters, digits and hyphens")
    } else if id.ends_with('-') || id.contains("--") {
        Some("must not end with a hyphen or contain two consecutive hyphens")
    } else {
        None
    };
    match rule {
        Some(rule) => Err(invalid(format!("The cluster identifier {rule}."))),
        None => Ok(id.to_ascii_lowercase()),
    }
}

/// A user, database or group name of GetClusterCredentials: 1-64 letters, digits and
/// `_ + . @ -`, first a letter, not a reserved word; groups in lowercase only.
///
/// # Errors
/// `InvalidParameterValue` naming the parameter.
pub fn db_name(parameter: &str, value: &str, lowercase_only: bool) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value.chars().count() <= 64
        && value.as_bytes()[0].is_ascii_alphabetic()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'.' | b'@' | b'-'))
        && !(lowercase_only && value.bytes().any(|b| b.is_ascii_uppercase()));
    if !ok {
        let case = if lowercase_only { "lowercase " } else { "" };
        return Err(invalid(format!(
            "{parameter} must be 1 to 64 {case}alphanumeric characters or the symbols _ + . @ -, and begin with a letter."
        )));
    }
    if is_reserved(value) {
        return Err(invalid(format!("{parameter} must not be a reserved word.")));
    }
    Ok(())
}

/// The database name of CreateCluster: 1-64 lowercase letters, digits or underscores,
/// first a letter, not a reserved word.
///
/// # Errors
/// `InvalidParameterValue`.
pub fn database_name(value: &str) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.as_bytes()[0].is_ascii_lowercase()
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !is_reserved(value);
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "DBName must be 1 to 64 lowercase alphanumeric characters or underscores, begin with a letter, and not be a reserved word.",
        ))
    }
}

/// The master user name: 1-128 letters, digits and `_ + . @ -`, first a letter, no `:`
/// or `/`, not `PUBLIC` or another reserved word.
///
/// # Errors
/// `InvalidParameterValue`.
pub fn master_username(value: &str) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value.as_bytes()[0].is_ascii_alphabetic()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'.' | b'@' | b'-'))
        && !is_reserved(value);
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "MasterUsername must be 1 to 128 alphanumeric characters or the symbols _ + . @ -, begin with a letter, and not be a reserved word.",
        ))
    }
}

/// The master password: 8-64 printable ASCII characters but `' " \ / @` and space, with
/// an uppercase letter, a lowercase letter and a digit.
///
/// # Errors
/// `InvalidParameterValue`, without the password.
pub fn master_password(password: &Secret) -> Result<(), Error> {
    let p = password.expose();
    let ok = (8..=64).contains(&p.len())
        && p.bytes().all(|b| {
            (0x21..=0x7e).contains(&b) && !matches!(b, b'\'' | b'"' | b'\\' | b'/' | b'@')
        })
        && p.bytes().any(|b| b.is_ascii_uppercase())
        && p.bytes().any(|b| b.is_ascii_lowercase())
        && p.bytes().any(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "The parameter MasterUserPassword is not a valid password. It must be 8 to 64 printable ASCII characters other than ' \" \\ / @ or space, and contain an uppercase letter, a lowercase letter and a digit.",
        ))
    }
}

/// # Errors
/// `InvalidParameterValue` for a node type Redshift does not provision.
pub fn node_type(value: &str) -> Result<(), Error> {
    if NODE_TYPES.contains(&value) {
        Ok(())
    } else {
        Err(invalid(format!("Invalid node type: {value}")))
    }
}

/// `DurationSeconds`: 900 to 3600, 900 when absent.
///
/// # Errors
/// `InvalidParameterValue`.
pub fn duration(value: Option<i32>) -> Result<i64, Error> {
    match value {
        None => Ok(900),
        Some(v) if (900..=3600).contains(&v) => Ok(i64::from(v)),
        Some(_) => Err(invalid(
            "DurationSeconds must be between 900 and 3600 seconds.",
        )),
    }
}

/// Validated tags: keys of 1-128 characters not starting with `aws:`, values up to 256.
///
/// # Errors
/// `InvalidTagFault`.
pub fn tags(tags: &[Tag]) -> Result<Vec<(String, String)>, Error> {
    tags.iter()
        .map(|t| {
            let key = t.key.clone().unwrap_or_default();
            let len = key.chars().count();
            if len == 0 || len > 128 {
                return Err(Error::InvalidTag(
                    "Tag keys must be 1 to 128 characters long.".to_owned(),
                ));
            }
            if key.to_ascii_lowercase().starts_with("aws:") {
                return Err(Error::InvalidTag(
                    "Tag keys must not start with aws:.".to_owned(),
                ));
            }
            let value = t.value.clone().unwrap_or_default();
            if value.chars().count() > 256 {
                return Err(Error::InvalidTag(
                    "Tag values must be at most 256 characters long.".to_owned(),
                ));
            }
            Ok((key, value))
        })
        .collect()
}

/// Adds or replaces tags, refusing more than [`MAX_TAGS`] in all.
///
/// # Errors
/// `TagLimitExceededFault`.
pub fn merge_tags(
    current: &[(String, String)],
    new: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, Error> {
    crate::services::tagging::merge(current, new, MAX_TAGS).ok_or(Error::TagLimitExceeded(MAX_TAGS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_words_are_sorted_and_found_in_any_case() {
        assert!(RESERVED.windows(2).all(|w| w[0] < w[1]));
        assert!(RESERVED.iter().all(|w| w.len() <= LONGEST_RESERVED));
        for word in ["select", "SELECT", "Public", "user", "aes128", "without"] {
            assert!(is_reserved(word), "{word}");
        }
        for word in ["alice", "selects", "", "us"] {
            assert!(!is_reserved(word), "{word}");
        }
        // The filter in front of the search lets every word through, in any case.
        for word in RESERVED {
            assert!(is_reserved(word), "{word}");
            assert!(is_reserved(&word.to_uppercase()), "{word}");
        }
    }

    #[test]
    fn cluster_identifiers() {
        assert_eq!(cluster_identifier("My-Cluster-1").unwrap(), "my-cluster-1");
        for bad in ["", "1abc", "abc-", "a--b", "a_b", &"a".repeat(64)] {
            assert!(cluster_identifier(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn database_user_and_group_names() {
        assert!(db_name("DbUser", "alice", false).is_ok());
        assert!(db_name("DbUser", "Alice.B+c@d-e_f", false).is_ok());
        for bad in [
            "",
            "1alice",
            "a:b",
            "a/b",
            "a b",
            "public",
            "PUBLIC",
            "select",
            &"a".repeat(65),
        ] {
            assert!(db_name("DbUser", bad, false).is_err(), "{bad}");
        }
        assert!(db_name("DbGroups", "Admins", true).is_err());
        assert!(db_name("DbGroups", "admins", true).is_ok());
    }

    #[test]
    fn master_passwords() {
        assert!(master_password(&Secret::new("Passw0rd")).is_ok());
        for bad in [
            "Sh0rt",
            "alllower1",
            "ALLUPPER1",
            "NoDigitsHere",
            "Has Space1",
            "Has@At1aa",
            "Quote'1aA",
            &format!("A1{}", "a".repeat(63)),
        ] {
            assert!(master_password(&Secret::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration(None).unwrap(), 900);
        assert_eq!(duration(Some(3600)).unwrap(), 3600);
        assert!(duration(Some(899)).is_err());
        assert!(duration(Some(3601)).is_err());
    }
}
