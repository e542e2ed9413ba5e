//! Who may log in to a cluster's database: the master user with the cluster's password,
//! or the user of an unexpired temporary credential from GetClusterCredentials, with its
//! password, into its database when it names one.

use chrono::{DateTime, Utc};

use super::store::{IssuedCredential, KeptCredentials, Store, cluster_key};
use crate::secret::PasswordHash;

/// A login the cluster's records allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// The master user.
    Master,
    /// A temporary credential's user (`IAM:alice`), with what it was issued for.
    Temporary(IssuedCredential),
}

/// Why a login is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such cluster, user or password, or the credential expired: one answer for all,
    /// so that a refusal tells nothing about which.
    BadPassword,
    /// The credential was issued for another database.
    OnlyDatabase(String),
}

/// Checks a password login to one database of a cluster.
///
/// # Errors
/// The refusal, without saying which check failed unless the password was right.
pub fn check(
    store: &Store,
    cluster: &str,
    user: &str,
    database: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Login, Refusal> {
    let record = store
        .clusters
        .get(&*cluster_key(cluster))
        .ok_or(Refusal::BadPassword)?;
    check_against(
        Some((&record.master_username, record.master_password.as_ref())),
        &record.credentials,
        user,
        database,
        password,
        now,
    )
}

/// Checks a password login against a master user (its name and password hash, when it
/// has a password) and the temporary credentials issued for the same databases.
///
/// # Errors
/// The refusal, without saying which check failed unless the password was right.
pub fn check_against(
    master: Option<(&str, Option<&PasswordHash>)>,
    credentials: &KeptCredentials,
    user: &str,
    database: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Login, Refusal> {
    if let Some((name, hash)) = master
        && name == user
    {
        return match hash {
            Some(hash) if hash.matches(password) => Ok(Login::Master),
            _ => Err(Refusal::BadPassword),
        };
    }
    let credential = credentials
        .iter()
        .rev()
        .find(|c| c.db_user == user && c.expires > now && c.password.matches(password))
        .ok_or(Refusal::BadPassword)?;
    match &credential.db_name {
        Some(only) if only != database => Err(Refusal::OnlyDatabase(only.clone())),
        _ => Ok(Login::Temporary(credential.clone())),
    }
}
