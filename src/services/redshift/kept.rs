//! The temporary credentials a cluster or namespace keeps, so that logins can be checked
//! against them: the unexpired ones, at most [`CREDENTIALS_KEPT_PER_USER`] per user.
//!
//! Every GetClusterCredentials call adds one. Beside the list, oldest first, the set keeps
//! what adding needs to know without scanning it: no credential expires before
//! `earliest`, and how many each user has. Only the list is stored (as a plain sequence);
//! the rest is counted again when it is read back.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::store::{CREDENTIALS_KEPT_PER_USER, IssuedCredential};

/// The credentials kept, oldest first.
#[derive(Debug, Clone, Default)]
pub struct KeptCredentials {
    list: VecDeque<IssuedCredential>,
    /// No credential of the list expires before this (`None`: the list is empty).
    earliest: Option<DateTime<Utc>>,
    /// How many credentials of the list each user has.
    per_user: HashMap<String, usize>,
}

impl KeptCredentials {
    /// Adds a credential, dropping expired ones and all but the newest few of its user.
    pub fn remember(&mut self, credential: IssuedCredential, now: DateTime<Utc>) {
        if self.earliest.is_some_and(|earliest| earliest <= now) {
            self.list.retain(|c| c.expires > now);
            self.count_again();
        }
        let user = credential.db_user.as_str();
        let full = self
            .per_user
            .get(user)
            .is_some_and(|n| *n >= CREDENTIALS_KEPT_PER_USER);
        let oldest = full
            .then(|| self.list.iter().position(|c| c.db_user == user))
            .flatten();
        if let Some(oldest) = oldest {
            // The user's count stays as it is: one leaves, one comes. `earliest` may now
            // be earlier than needed, which only costs a scan once it has passed.
            self.list.remove(oldest);
        } else if let Some(n) = self.per_user.get_mut(user) {
            *n += 1;
        } else {
            self.per_user.insert(user.to_owned(), 1);
        }
        self.earliest = Some(
            self.earliest
                .map_or(credential.expires, |e| e.min(credential.expires)),
        );
        self.list.push_back(credential);
    }

    /// Counts each user's credentials and the earliest expiry from the list.
    fn count_again(&mut self) {
        self.earliest = self.list.iter().map(|c| c.expires).min();
        self.per_user.clear();
        for c in &self.list {
            *self.per_user.entry(c.db_user.clone()).or_default() += 1;
        }
    }

    /// Forgets every credential.
    pub fn clear(&mut self) {
        self.list.clear();
        self.count_again();
    }

    /// The credentials, oldest first.
    #[must_use]
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &IssuedCredential> {
        self.list.iter()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.list.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl std::ops::Index<usize> for KeptCredentials {
    type Output = IssuedCredential;

    fn index(&self, index: usize) -> &IssuedCredential {
        &self.list[index]
    }
}

impl Serialize for KeptCredentials {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.list.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for KeptCredentials {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut kept = KeptCredentials {
            list: VecDeque::deserialize(deserializer)?,
            ..KeptCredentials::default()
        };
        kept.count_again();
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use chrono::Duration;

    fn credential(user: &str, expires: DateTime<Utc>) -> IssuedCredential {
        IssuedCredential {
            db_user: user.to_owned(),
            db_groups: Vec::new(),
            db_name: None,
            auto_create: false,
            expires,
            password: Secret::new("p".to_owned()).sha256(),
        }
    }

    /// What `remember` keeps, written as plainly as it can be.
    fn reference(kept: &mut Vec<IssuedCredential>, c: IssuedCredential, now: DateTime<Utc>) {
        kept.retain(|k| k.expires > now);
        let same = kept.iter().filter(|k| k.db_user == c.db_user).count();
        if same >= CREDENTIALS_KEPT_PER_USER
            && let Some(oldest) = kept.iter().position(|k| k.db_user == c.db_user)
        {
            kept.remove(oldest);
        }
        kept.push(c);
    }

    proptest::proptest! {
        /// Any sequence of users, lifetimes and clock steps keeps what the plain rule keeps,
        /// in the same order, and reads back the same from its stored form.
        #[test]
        fn keeps_what_the_plain_rule_keeps(
            steps in proptest::collection::vec((0usize..3, 1i64..400, 0i64..120), 1..400),
        ) {
            let start = Utc::now();
            let mut now = start;
            let mut kept = KeptCredentials::default();
            let mut plain = Vec::new();
            for (user, lifetime, step) in steps {
                now += Duration::seconds(step);
                let c = credential(["IAM:a", "IAM:b", "IAMA:a"][user], now + Duration::seconds(lifetime));
                kept.remember(c.clone(), now);
                reference(&mut plain, c, now);
                proptest::prop_assert_eq!(kept.iter().cloned().collect::<Vec<_>>(), plain.clone());
            }
            let stored = serde_json::to_string(&kept).unwrap();
            let read: KeptCredentials = serde_json::from_str(&stored).unwrap();
            proptest::prop_assert_eq!(serde_json::to_string(&plain).unwrap(), stored);
            proptest::prop_assert_eq!(read.per_user, kept.per_user.into_iter().filter(|(_, n)| *n > 0).collect());
        }
    }
}
