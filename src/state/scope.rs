//! Who owns a resource and who asks for one: an (account, region) scope, the ARN
//! partition of a region, and the IAM identity an access key stands for.

/// The default account, shared with other AWS emulators.
pub const DEFAULT_ACCOUNT: &str = "000000000000";
/// The default region when a request names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// One account in one region: the unit that owns resources.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

impl Scope {
    #[must_use]
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Scope {
            account: account.into(),
            region: region.into(),
        }
    }
}

/// The ARN partition of a region: `aws-cn` for China, `aws-us-gov` for GovCloud, else `aws`.
#[must_use]
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The account an access key id names: itself when it is exactly twelve digits.
#[must_use]
pub fn account_for_key(access_key_id: &str) -> Option<&str> {
    (access_key_id.len() == 12 && access_key_id.bytes().all(|b| b.is_ascii_digit()))
        .then_some(access_key_id)
}

/// The IAM identity an access key stands for, as GetClusterCredentialsWithIAM maps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IamIdentity {
    /// An IAM user: the database user is `IAM:<name>`.
    User(String),
    /// An IAM role: the database user is `IAMR:<name>`.
    Role(String),
}

impl std::str::FromStr for IamIdentity {
    type Err = String;

    /// `user:NAME` or `role:NAME`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("user", name)) if !name.is_empty() => Ok(IamIdentity::User(name.to_owned())),
            Some(("role", name)) if !name.is_empty() => Ok(IamIdentity::Role(name.to_owned())),
            _ => Err(format!("expected user:NAME or role:NAME, got {s:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_digit_keys_are_accounts() {
        assert_eq!(account_for_key("123456789012"), Some("123456789012"));
        assert_eq!(account_for_key("AKIAIOSFODNN7EXAMPLE"), None);
        assert_eq!(account_for_key("12345678901"), None);
        assert_eq!(account_for_key("12345678901a"), None);
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(partition("us-east-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }

    #[test]
    fn identities_parse() {
        assert_eq!(
            "user:alice".parse::<IamIdentity>().unwrap(),
            IamIdentity::User("alice".into())
        );
        assert_eq!(
            "role:etl".parse::<IamIdentity>().unwrap(),
            IamIdentity::Role("etl".into())
        );
        assert!("group:x".parse::<IamIdentity>().is_err());
        assert!("user:".parse::<IamIdentity>().is_err());
    }
}
