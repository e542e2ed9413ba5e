//! GetClusterCredentials and GetClusterCredentialsWithIAM: temporary database passwords.
//!
//! Each call returns a fresh password of 57 random bytes from a CSPRNG (76 base64
//! characters, the length of AWS's), and the cluster remembers the
//! credential (user, groups, database, expiry, SHA-256 of the password) so it can be
//! checked when it is used to log in.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;

use super::Env;
use super::error::{Error, combination};
use super::model::{
    ClusterCredentials, GetClusterCredentialsMessage, GetClusterCredentialsWithIamMessage,
};
use super::store::{ClusterRecord, IssuedCredential, Store, cluster_key};
use super::validate;
use crate::secret::Secret;
use crate::state::IamIdentity;

/// # Errors
/// The model's errors for GetClusterCredentials.
pub fn get(
    store: &mut Store,
    env: &Env<'_>,
    req: GetClusterCredentialsMessage,
) -> Result<ClusterCredentials, Error> {
    validate::db_name("DbUser", &req.db_user, false)?;
    if let Some(db) = &req.db_name {
        validate::db_name("DbName", db, false)?;
    }
    let groups = req.db_groups.unwrap_or_default();
    for group in &groups {
        validate::db_name("DbGroups", group, true)?;
    }
    let seconds = validate::duration(req.duration_seconds)?;
    let auto_create = req.auto_create.unwrap_or(false);
    let prefix = if auto_create { "IAMA" } else { "IAM" };
    let cluster = find_cluster(
        store,
        env,
        req.cluster_identifier.as_deref(),
        req.custom_domain_name.as_deref(),
    )?;
    Ok(issue(
        cluster,
        env,
        [prefix, ":", &req.db_user].concat(),
        groups,
        req.db_name,
        auto_create,
        seconds,
        false,
    ))
}

/// # Errors
/// The model's errors for GetClusterCredentialsWithIAM.
pub fn get_with_iam(
    store: &mut Store,
    env: &Env<'_>,
    req: &GetClusterCredentialsWithIamMessage,
) -> Result<ClusterCredentials, Error> {
    if let Some(db) = &req.db_name {
        validate::db_name("DbName", db, false)?;
    }
    let seconds = validate::duration(req.duration_seconds)?;
    let db_user = iam_db_user(env);
    let cluster = find_cluster(
        store,
        env,
        req.cluster_identifier.as_deref(),
        req.custom_domain_name.as_deref(),
    )?;
    Ok(issue(
        cluster,
        env,
        db_user,
        Vec::new(),
        req.db_name.clone(),
        true,
        seconds,
        true,
    ))
}

/// The database user of the caller's IAM identity: `IAM:<user>` or `IAMR:<role>` as the
/// settings map its access key, else `IAM:<access key id>`.
#[must_use]
pub fn iam_db_user(env: &Env<'_>) -> String {
    let key = env.access_key_id.unwrap_or("anonymous");
    match env.settings.iam_identities.get(key) {
        Some(IamIdentity::User(name)) => ["IAM:", name].concat(),
        Some(IamIdentity::Role(name)) => ["IAMR:", name].concat(),
        None => ["IAM:", key].concat(),
    }
}

/// The cluster named by identifier or by custom domain name (exactly one of them).
fn find_cluster<'a>(
    store: &'a mut Store,
    env: &Env<'_>,
    identifier: Option<&str>,
    domain: Option<&str>,
) -> Result<&'a mut ClusterRecord, Error> {
    let delay = env.settings.cluster_creation_delay;
    store.purge(env.now, delay);
    let found = match (identifier, domain) {
        (Some(_), Some(_)) => {
            return Err(combination(
                "Specify either ClusterIdentifier or CustomDomainName, not both.",
            ));
        }
        (None, None) => {
            return Err(combination(
                "Either ClusterIdentifier or CustomDomainName must be specified.",
            ));
        }
        (Some(id), None) => store
            .clusters
            .get_mut(&cluster_key(id))
            .ok_or_else(|| Error::ClusterNotFound(id.to_owned()))?,
        (None, Some(domain)) => {
            let id = store
                .clusters
                .values()
                .find(|c| {
                    c.custom_domain
                        .as_ref()
                        .is_some_and(|(d, _)| d.eq_ignore_ascii_case(domain))
                })
                .map(|c| c.identifier.clone())
                .ok_or_else(|| Error::ClusterNotFound(domain.to_owned()))?;
            store
                .clusters
                .get_mut(&id)
                .ok_or_else(|| Error::ClusterNotFound(domain.to_owned()))?
        }
    };
    if found.deleting_since.is_some() {
        return Err(Error::ClusterNotFound(found.identifier.clone()));
    }
    Ok(found)
}

#[allow(
    clippy::too_many_arguments,
    reason = "one place that builds both operations' answers"
)]
fn issue(
    cluster: &mut ClusterRecord,
    env: &Env<'_>,
    db_user: String,
    db_groups: Vec<String>,
    db_name: Option<String>,
    auto_create: bool,
    seconds: i64,
    with_refresh: bool,
) -> ClusterCredentials {
    let password = Secret::new(new_password());
    let expiration = env.now + Duration::seconds(seconds);
    cluster.remember(
        IssuedCredential {
            db_user: db_user.clone(),
            db_groups,
            db_name,
            auto_create,
            expires: expiration,
            password: password.sha256(),
        },
        env.now,
    );
    ClusterCredentials {
        db_user,
        db_password: password,
        expiration,
        next_refresh_time: with_refresh.then_some(expiration),
    }
}

/// 76 base64 characters from rand's thread-local CSPRNG (ChaCha, seeded and periodically
/// reseeded from the operating system).
#[must_use]
pub fn new_password() -> String {
    let mut bytes = [0u8; 57];
    rand::fill(&mut bytes);
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::super::clusters;
    use super::super::model::CreateClusterMessage;
    use super::*;
    use crate::services::ServiceSettings;
    use crate::state::Scope;

    fn env<'a>(
        scope: &'a Scope,
        settings: &'a ServiceSettings,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Env<'a> {
        Env {
            scope,
            now,
            access_key_id: None,
            settings,
            new_ports: &|_| Ok(None),
            port_of: &|_| None,
            recovering: &|_| false,
        }
    }

    fn store_with_cluster(env: &Env<'_>) -> Store {
        let mut store = Store::default();
        let req: CreateClusterMessage = serde_json::from_str(
            r#"{"ClusterIdentifier":"c1","NodeType":"dc2.large","MasterUsername":"admin","MasterUserPassword":"Sup3rSecret"}"#,
        )
        .unwrap();
        clusters::create(&mut store, env, &req).unwrap();
        store
    }

    #[test]
    fn issued_credentials_are_remembered_by_hash() {
        let scope = Scope::new("000000000000", "us-east-1");
        let settings = ServiceSettings::default();
        let now = chrono::Utc::now();
        let env = env(&scope, &settings, now);
        let mut store = store_with_cluster(&env);
        let req: GetClusterCredentialsMessage = serde_json::from_str(
            r#"{"ClusterIdentifier":"c1","DbUser":"alice","DbName":"dev","AutoCreate":true,"DbGroups":["analysts"],"DurationSeconds":1200}"#,
        )
        .unwrap();
        let out = get(&mut store, &env, req).unwrap();
        let kept = &store.clusters["c1"].credentials;
        assert_eq!(kept.len(), 1);
        let c = &kept[0];
        assert_eq!(c.db_user, "IAMA:alice");
        assert_eq!(c.db_groups, ["analysts"]);
        assert_eq!(c.db_name.as_deref(), Some("dev"));
        assert!(c.auto_create);
        assert_eq!(c.expires, now + Duration::seconds(1200));
        assert_eq!(c.password, out.db_password.sha256());
    }

    #[test]
    fn expired_credentials_are_forgotten_and_each_user_keeps_a_few() {
        let scope = Scope::new("000000000000", "us-east-1");
        let settings = ServiceSettings::default();
        let now = chrono::Utc::now();
        let mut store = store_with_cluster(&env(&scope, &settings, now));
        let req: GetClusterCredentialsMessage =
            serde_json::from_str(r#"{"ClusterIdentifier":"c1","DbUser":"bob"}"#).unwrap();
        for _ in 0..crate::services::redshift::store::CREDENTIALS_KEPT_PER_USER + 12 {
            get(&mut store, &env(&scope, &settings, now), req.clone()).unwrap();
        }
        assert_eq!(
            store.clusters["c1"].credentials.len(),
            crate::services::redshift::store::CREDENTIALS_KEPT_PER_USER
        );
        let later = now + Duration::seconds(901);
        let other: GetClusterCredentialsMessage =
            serde_json::from_str(r#"{"ClusterIdentifier":"c1","DbUser":"carol"}"#).unwrap();
        get(&mut store, &env(&scope, &settings, later), other).unwrap();
        let kept = &store.clusters["c1"].credentials;
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].db_user, "IAM:carol");
    }

    #[test]
    fn passwords_are_long_and_fresh() {
        let a = new_password();
        let b = new_password();
        assert_eq!(a.len(), 76);
        assert_ne!(a, b);
    }
}
