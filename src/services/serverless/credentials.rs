//! GetCredentials, and who may log in to a namespace's databases.
//!
//! GetCredentials maps the caller's IAM identity to a database user (`IAM:<user>`,
//! `IAMR:<role>`), as GetClusterCredentialsWithIAM does, and hands out a fresh password
//! for it. The namespace remembers the credential (user, database, expiry, SHA-256 of the
//! password) until it expires, so that the workgroup's endpoint can check a login.

use chrono::Duration;

use super::error::{Error, invalid};
use super::model::{GetCredentialsRequest, GetCredentialsResponse};
use super::store::Store;
use super::validate;
use crate::secret::Secret;
use crate::services::redshift::Env;
use crate::services::redshift::credentials::{iam_db_user, new_password};
use crate::services::redshift::logins::{Login, Refusal, check_against};
use crate::services::redshift::store::IssuedCredential;

/// # Errors
/// The model's errors for GetCredentials.
pub fn get(
    store: &mut Store,
    env: &Env<'_>,
    req: &GetCredentialsRequest,
) -> Result<GetCredentialsResponse, Error> {
    // Amazon's driver sends an empty `dbName` when no database was named.
    let db_name = req.db_name.clone().filter(|name| !name.is_empty());
    if let Some(name) = &db_name {
        validate::db_name(name)?;
    }
    let seconds = validate::duration(req.duration_seconds)?;
    store.purge(env.now, env.settings.cluster_creation_delay);
    let workgroup = match (&req.workgroup_name, &req.custom_domain_name) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "Specify either workgroupName or customDomainName, not both.",
            ));
        }
        (None, None) => {
            return Err(invalid(
                "Either workgroupName or customDomainName must be specified.",
            ));
        }
        (Some(name), None) => {
            validate::resource_name("workgroupName", name)?;
            store
                .workgroups
                .get(name)
                .filter(|w| w.deleting_since.is_none())
                .ok_or_else(|| Error::workgroup_not_found(name))?
        }
        (None, Some(domain)) => store
            .workgroup_for_domain(domain)
            .filter(|w| w.deleting_since.is_none())
            .ok_or_else(|| {
                Error::ResourceNotFound(format!(
                    "The custom domain name {domain} is not associated with a workgroup."
                ))
            })?,
    };
    let namespace_name = workgroup.namespace_name.clone();
    let namespace = store
        .namespaces
        .get_mut(&namespace_name)
        .ok_or_else(|| Error::namespace_not_found(&namespace_name))?;
    let db_user = iam_db_user(env);
    let password = Secret::new(new_password());
    let expiration = env.now + Duration::seconds(seconds);
    namespace.credentials.remember(
        IssuedCredential {
            db_user: db_user.clone(),
            db_groups: Vec::new(),
            db_name,
            auto_create: true,
            expires: expiration,
            password: password.sha256(),
        },
        env.now,
    );
    let epoch = epoch_seconds(expiration);
    Ok(GetCredentialsResponse {
        db_user,
        db_password: password,
        expiration: epoch,
        next_refresh_time: epoch,
    })
}

/// Seconds since the epoch, with milliseconds, as the model's default timestamps go.
#[allow(
    clippy::cast_precision_loss,
    reason = "milliseconds since 1970 fit in 53 bits"
)]
fn epoch_seconds(time: chrono::DateTime<chrono::Utc>) -> f64 {
    time.timestamp_millis() as f64 / 1000.0
}

/// Checks a password login to one database of a namespace: its admin user with its
/// password, or an unexpired credential from GetCredentials.
///
/// # Errors
/// The refusal, without saying which check failed unless the password was right.
pub fn check(
    store: &Store,
    namespace: &str,
    user: &str,
    database: &str,
    password: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Login, Refusal> {
    let record = store
        .namespaces
        .get(namespace)
        .filter(|n| n.deleting_since.is_none())
        .ok_or(Refusal::BadPassword)?;
    check_against(
        record
            .admin_username
            .as_deref()
            .map(|name| (name, record.admin_password.as_ref())),
        &record.credentials,
        user,
        database,
        password,
        now,
    )
}
