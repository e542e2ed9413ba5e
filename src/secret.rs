//! Secrets that arrive in requests: they deserialize like strings but never print.
//!
//! `Debug` and `Display` show `***`, so a secret can't reach a log line or an error
//! message by accident; the only way to the text is [`Secret::expose`], used where a
//! password is hashed.

use std::fmt;

use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret's text, for hashing or for handing to the one place that must see it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The length in characters, for validation without exposing the text.
    #[must_use]
    pub fn char_len(&self) -> usize {
        self.0.chars().count()
    }

    /// SHA-256 of the secret, as Redis ACLs take it (`#<hex>`).
    #[must_use]
    pub fn sha256(&self) -> PasswordHash {
        PasswordHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The SHA-256 of a password: what memshift keeps instead of the password.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PasswordHash(pub [u8; 32]);

impl PasswordHash {
    /// Whether `password` hashes to this, compared in constant time.
    #[must_use]
    pub fn matches(&self, password: &str) -> bool {
        use subtle::ConstantTimeEq;
        let candidate: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        self.0.ct_eq(&candidate).into()
    }

    /// Lower-case hex, the form `ACL SETUSER name #<hex>` takes.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl serde::Serialize for PasswordHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PasswordHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&text, &mut bytes).map_err(serde::de::Error::custom)?;
        Ok(PasswordHash(bytes))
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s: Secret = serde_json::from_str("\"hunter2-hunter2-hunter2\"").unwrap();
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", s.sha256()), "PasswordHash(***)");
        assert_eq!(s.char_len(), 23);
    }

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            Secret::new("abc").sha256().to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
