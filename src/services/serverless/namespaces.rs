//! CreateNamespace, GetNamespace, ListNamespaces, UpdateNamespace and DeleteNamespace.
//!
//! A namespace is the database service: its admin user, its databases (`dbName`, `dev`
//! by default) and the temporary credentials issued for it. It runs on a PostgreSQL
//! server while a workgroup serves it, and keeps its data while none does.

use super::error::{Error, invalid};
use super::model::{
    CreateNamespaceRequest, DeleteNamespaceRequest, GetNamespaceRequest, ListNamespacesRequest,
    ListNamespacesResponse, NamespaceResponse, UpdateNamespaceRequest,
};
use super::store::{AWS_OWNED_KMS_KEY, NamespaceRecord, Store};
use super::validate;
use crate::services::paging;
use crate::services::redshift::Env;
use crate::services::redshift::store::KeptCredentials;

/// The admin user a namespace with a managed password gets when none is named.
const DEFAULT_ADMIN: &str = "admin";

/// # Errors
/// The model's errors for CreateNamespace.
pub fn create(
    store: &mut Store,
    env: &Env<'_>,
    req: &CreateNamespaceRequest,
) -> Result<NamespaceResponse, Error> {
    validate::resource_name("namespaceName", &req.namespace_name)?;
    if crate::services::redshift::validate::is_reserved(&req.namespace_name) {
        return Err(invalid(format!(
            "The namespace name {} is a reserved word.",
            req.namespace_name
        )));
    }
    let managed = req.settings.manage_admin_password.unwrap_or(false);
    let (admin_username, admin_password) = admin(
        managed,
        req.settings.admin_username.as_ref(),
        req.settings.admin_user_password.as_ref(),
    )?;
    if req.settings.admin_password_secret_kms_key_id.is_some() && !managed {
        return Err(invalid(
            "You can only use adminPasswordSecretKmsKeyId if manageAdminPassword is true.",
        ));
    }
    let db_name = match req.db_name.as_deref() {
        None | Some("") => "dev".to_owned(),
        Some(name) => {
            validate::db_name(name)?;
            name.to_owned()
        }
    };
    let iam_roles = req.settings.iam_roles.clone().unwrap_or_default();
    default_role_among(req.settings.default_iam_role_arn.as_ref(), &iam_roles)?;
    let log_exports = req.settings.log_exports.clone().unwrap_or_default();
    validate::log_exports(&log_exports)?;
    let tags = validate::merge_tags(
        &[],
        validate::tags(req.tags.as_deref().unwrap_or_default())?,
    )?;
    store.purge(env.now, env.settings.cluster_creation_delay);
    if store.namespaces.contains_key(&req.namespace_name) {
        return Err(Error::Conflict(format!(
            "Namespace {} already exists.",
            req.namespace_name
        )));
    }
    let record = NamespaceRecord {
        name: req.namespace_name.clone(),
        id: uuid::Uuid::new_v4().to_string(),
        admin_username,
        admin_password,
        managed_secret_suffix: managed.then(secret_suffix),
        admin_password_secret_kms_key_id: req.settings.admin_password_secret_kms_key_id.clone(),
        db_name,
        kms_key_id: req
            .settings
            .kms_key_id
            .clone()
            .unwrap_or_else(|| AWS_OWNED_KMS_KEY.to_owned()),
        default_iam_role_arn: req.settings.default_iam_role_arn.clone(),
        iam_roles,
        log_exports,
        tags,
        created: env.now,
        modified: None,
        deleting_since: None,
        credentials: KeptCredentials::default(),
    };
    let namespace = record.view(env.scope, "AVAILABLE");
    store.namespaces.insert(record.name.clone(), record);
    Ok(NamespaceResponse { namespace })
}

/// The admin user and the hash of its password: both given, or neither; with a managed
/// password, a user (`admin` when none is named) and no password.
type Admin = (Option<String>, Option<crate::secret::PasswordHash>);

fn admin(
    managed: bool,
    username: Option<&String>,
    password: Option<&crate::secret::Secret>,
) -> Result<Admin, Error> {
    if let Some(name) = username {
        validate::admin_username(name)?;
    }
    if managed {
        if password.is_some() {
            return Err(invalid(
                "You can't use adminUserPassword if manageAdminPassword is true.",
            ));
        }
        let name = username
            .cloned()
            .unwrap_or_else(|| DEFAULT_ADMIN.to_owned());
        return Ok((Some(name), None));
    }
    match (username, password) {
        (Some(name), Some(password)) => {
            validate::admin_password(password)?;
            Ok((Some(name.clone()), Some(password.sha256())))
        }
        (None, None) => Ok((None, None)),
        _ => Err(invalid(
            "Specify both the user name and password, or neither.",
        )),
    }
}

/// A default IAM role must be one of the namespace's IAM roles.
fn default_role_among(default: Option<&String>, roles: &[String]) -> Result<(), Error> {
    match default {
        Some(default) if !roles.contains(default) => Err(invalid(
            "The default IAM role must be one of the IAM roles of the namespace.",
        )),
        _ => Ok(()),
    }
}

/// Six letters and digits, as the managed secret's ARN ends with.
fn secret_suffix() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 6];
    rand::fill(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// The namespace of that name, unless it is gone.
///
/// # Errors
/// `ResourceNotFoundException`.
pub fn find<'a>(
    store: &'a mut Store,
    env: &Env<'_>,
    name: &str,
) -> Result<&'a mut NamespaceRecord, Error> {
    store.purge(env.now, env.settings.cluster_creation_delay);
    store
        .namespaces
        .get_mut(name)
        .ok_or_else(|| Error::namespace_not_found(name))
}

/// # Errors
/// The model's errors for GetNamespace.
pub fn get(
    store: &mut Store,
    env: &Env<'_>,
    req: &GetNamespaceRequest,
) -> Result<NamespaceResponse, Error> {
    validate::resource_name("namespaceName", &req.namespace_name)?;
    let delay = env.settings.cluster_creation_delay;
    store.purge(env.now, delay);
    let record = store
        .namespaces
        .get(&req.namespace_name)
        .ok_or_else(|| Error::namespace_not_found(&req.namespace_name))?;
    Ok(NamespaceResponse {
        namespace: record.view(env.scope, record.status(env.now, delay)),
    })
}

/// Namespaces in name order, a page at a time.
///
/// # Errors
/// The model's errors for ListNamespaces.
pub fn list(
    store: &mut Store,
    env: &Env<'_>,
    req: &ListNamespacesRequest,
) -> Result<ListNamespacesResponse, Error> {
    let size = validate::max_results(req.max_results)?;
    let delay = env.settings.cluster_creation_delay;
    store.purge(env.now, delay);
    let (page, next_token) =
        paging::page(&store.namespaces, req.next_token.as_deref(), size, |_| true)
            .map_err(|_| invalid("The nextToken is not valid."))?;
    Ok(ListNamespacesResponse {
        namespaces: page
            .into_iter()
            .map(|n| n.view(env.scope, n.status(env.now, delay)))
            .collect(),
        next_token,
    })
}

/// Changes one group of settings: the admin user and password, the IAM roles (with the
/// default role), the KMS key, or the log exports.
///
/// # Errors
/// The model's errors for UpdateNamespace.
pub fn update(
    store: &mut Store,
    env: &Env<'_>,
    req: &UpdateNamespaceRequest,
) -> Result<NamespaceResponse, Error> {
    validate::resource_name("namespaceName", &req.namespace_name)?;
    let settings = &req.settings;
    let managed = settings.manage_admin_password;
    if settings.admin_password_secret_kms_key_id.is_some() && managed != Some(true) {
        return Err(invalid(
            "You can only use adminPasswordSecretKmsKeyId if manageAdminPassword is true.",
        ));
    }
    let credentials_given =
        settings.admin_username.is_some() || settings.admin_user_password.is_some();
    // `manageAdminPassword: false` alone changes nothing unless Secrets Manager manages the
    // password now (checked below, with the namespace).
    let admin_change = credentials_given || managed == Some(true);
    if settings.admin_username.is_some() != settings.admin_user_password.is_some()
        && managed != Some(true)
    {
        return Err(invalid(
            "Specify both the user name and password, or neither.",
        ));
    }
    let new_admin = if admin_change {
        Some(admin(
            managed.unwrap_or(false),
            settings.admin_username.as_ref(),
            settings.admin_user_password.as_ref(),
        )?)
    } else {
        None
    };
    if settings.default_iam_role_arn.is_some() && settings.iam_roles.is_none() {
        return Err(invalid(
            "To change the default IAM role, you must specify the entire list of IAM roles.",
        ));
    }
    if let Some(roles) = &settings.iam_roles {
        default_role_among(settings.default_iam_role_arn.as_ref(), roles)?;
    }
    if settings.kms_key_id.is_some() && settings.log_exports.is_some() {
        return Err(invalid(
            "You can't update the KMS key and the log exports at the same time.",
        ));
    }
    if let Some(exports) = &settings.log_exports {
        validate::log_exports(exports)?;
    }
    let now = env.now;
    let record = find(store, env, &req.namespace_name)?;
    if record.deleting_since.is_some() {
        return Err(Error::Conflict(format!(
            "There is an operation running on the namespace {}. Try again later.",
            record.name
        )));
    }
    if managed == Some(false) && !credentials_given && record.managed_secret_suffix.is_some() {
        return Err(invalid(
            "To stop managing the admin password, specify adminUsername and adminUserPassword.",
        ));
    }
    if let Some((username, password)) = new_admin {
        // A managed password keeps the current admin user unless another is named.
        let keep_name = username.is_some() && settings.admin_username.is_none();
        if !keep_name || record.admin_username.is_none() {
            record.admin_username = username;
        }
        record.admin_password = password;
        record.managed_secret_suffix = if managed == Some(true) {
            record
                .managed_secret_suffix
                .clone()
                .or_else(|| Some(secret_suffix()))
        } else {
            None
        };
        record
            .admin_password_secret_kms_key_id
            .clone_from(&settings.admin_password_secret_kms_key_id);
    }
    if let Some(roles) = &settings.iam_roles {
        record.iam_roles.clone_from(roles);
        if settings.default_iam_role_arn.is_some() {
            record
                .default_iam_role_arn
                .clone_from(&settings.default_iam_role_arn);
        } else if record
            .default_iam_role_arn
            .as_ref()
            .is_some_and(|d| !roles.contains(d))
        {
            record.default_iam_role_arn = None;
        }
    }
    if let Some(key) = &settings.kms_key_id {
        record.kms_key_id.clone_from(key);
    }
    if let Some(exports) = &settings.log_exports {
        record.log_exports.clone_from(exports);
    }
    record.modified = Some(now);
    Ok(NamespaceResponse {
        namespace: record.view(env.scope, "MODIFYING"),
    })
}

/// Starts the deletion of a namespace that no workgroup serves; its databases go with it.
///
/// # Errors
/// The model's errors for DeleteNamespace.
pub fn delete(
    store: &mut Store,
    env: &Env<'_>,
    req: &DeleteNamespaceRequest,
) -> Result<NamespaceResponse, Error> {
    validate::resource_name("namespaceName", &req.namespace_name)?;
    if let Some(period) = req.final_snapshot_retention_period
        && !(period == -1 || (1..=3653).contains(&period))
    {
        return Err(invalid(
            "finalSnapshotRetentionPeriod must be -1 or between 1 and 3653 days.",
        ));
    }
    let now = env.now;
    find(store, env, &req.namespace_name)?;
    if let Some(workgroup) = store
        .workgroups
        .values()
        .find(|w| w.namespace_name == req.namespace_name)
    {
        return Err(Error::Conflict(if workgroup.deleting_since.is_some() {
            format!(
                "There is an operation running on the namespace {}. Try deleting the namespace again later.",
                req.namespace_name
            )
        } else {
            format!(
                "Namespace {} has the workgroup {}. Delete the workgroup first.",
                req.namespace_name, workgroup.name
            )
        }));
    }
    let record = find(store, env, &req.namespace_name)?;
    if record.deleting_since.is_some() {
        return Err(Error::Conflict(format!(
            "There is an operation running on the namespace {}. Try deleting the namespace again later.",
            record.name
        )));
    }
    record.deleting_since = Some(now);
    record.credentials.clear();
    Ok(NamespaceResponse {
        namespace: record.view(env.scope, "DELETING"),
    })
}
