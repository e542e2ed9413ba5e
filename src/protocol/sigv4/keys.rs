//! The credentials file: access keys with their secrets, accounts and IAM identities.

use std::collections::HashMap;
use std::path::Path;

use crate::secret::Secret;
use crate::state::IamIdentity;

/// One access key of the credentials file.
#[derive(Debug, Clone)]
pub struct Key {
    pub access_key_id: String,
    pub secret: Secret,
    /// The account the key belongs to.
    pub account: String,
    /// The IAM user or role behind the key, for GetClusterCredentialsWithIAM.
    pub identity: Option<IamIdentity>,
}

/// The access keys memshift knows, by access key id.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    by_id: HashMap<String, Key>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileEntry {
    access_key_id: String,
    secret_access_key: String,
    account: Option<String>,
    user: Option<String>,
    role: Option<String>,
}

impl Keys {
    /// Reads a credentials file: a JSON list of
    /// `{"access_key_id", "secret_access_key", "account"?, "user"? | "role"?}`.
    ///
    /// # Errors
    /// A message naming the file and the entry that is wrong.
    pub fn load(path: &Path, default_account: &str) -> Result<Keys, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read credentials file {}: {e}", path.display()))?;
        Keys::parse(&text, default_account)
            .map_err(|e| format!("credentials file {}: {e}", path.display()))
    }

    /// # Errors
    /// A message naming the entry that is wrong.
    pub fn parse(text: &str, default_account: &str) -> Result<Keys, String> {
        let entries: Vec<KeyFileEntry> = serde_json::from_str(text).map_err(|e| {
            format!(
                "expected a JSON list of {{\"access_key_id\", \"secret_access_key\", \
                 \"account\", \"user\" or \"role\"}} (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        let mut by_id = HashMap::new();
        for (i, e) in entries.into_iter().enumerate() {
            let n = i + 1;
            if e.access_key_id.is_empty() || e.secret_access_key.is_empty() {
                return Err(format!(
                    "entry {n}: access_key_id and secret_access_key must not be empty"
                ));
            }
            let account = e.account.unwrap_or_else(|| default_account.to_owned());
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("entry {n}: account must be 12 digits"));
            }
            let identity = match (e.user, e.role) {
                (Some(_), Some(_)) => {
                    return Err(format!("entry {n}: give a user or a role, not both"));
                }
                (Some(u), None) if !u.is_empty() => Some(IamIdentity::User(u)),
                (None, Some(r)) if !r.is_empty() => Some(IamIdentity::Role(r)),
                (None, None) => None,
                _ => return Err(format!("entry {n}: user and role must not be empty")),
            };
            let key = Key {
                access_key_id: e.access_key_id.clone(),
                secret: Secret::new(e.secret_access_key),
                account,
                identity,
            };
            if by_id.insert(e.access_key_id, key).is_some() {
                return Err(format!("entry {n}: access key id listed twice"));
            }
        }
        Ok(Keys { by_id })
    }

    #[must_use]
    pub fn get(&self, access_key_id: &str) -> Option<&Key> {
        self.by_id.get(access_key_id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Key> {
        self.by_id.values()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
