//! CreateACL, DescribeACLs, UpdateACL and DeleteACL, keeping membership two-way.

use std::collections::BTreeSet;

use super::error::{Error, combination, invalid};
use super::model::{
    AclPendingChanges, AclResponse, CreateAclRequest, DeleteAclRequest, DescribeAclsRequest,
    DescribeAclsResponse, UpdateAclRequest,
};
use super::store::{AclRecord, MAX_ACLS, MAX_USERS_PER_ACL, OPEN_ACCESS, Store};
use super::validate::{initial_tags, lookup_name, new_name, page, page_size};
use crate::state::Scope;

/// # Errors
/// The model's errors for CreateACL.
pub fn create(
    store: &mut Store,
    scope: &Scope,
    req: &CreateAclRequest,
) -> Result<AclResponse, Error> {
    let name = new_name("ACL", &req.acl_name)?;
    let users = match &req.user_names {
        None => BTreeSet::new(),
        Some(list) => existing_users(store, "UserNames", list)?,
    };
    if users.len() > MAX_USERS_PER_ACL {
        return Err(too_many_users());
    }
    let tags = initial_tags(req.tags.as_deref())?;
    if store.acls.contains_key(&name) {
        return Err(Error::AclAlreadyExists(name));
    }
    if store.acls.len() >= MAX_ACLS {
        return Err(Error::AclQuotaExceeded(MAX_ACLS));
    }
    for user in &users {
        if let Some(record) = store.users.get_mut(user) {
            record.acls.insert(name.clone());
        }
    }
    let acl = AclRecord {
        name: name.clone(),
        users,
        clusters: BTreeSet::new(),
        tags,
    };
    let view = acl.view(scope, "creating");
    store.acls.insert(name, acl);
    Ok(AclResponse { acl: view })
}

/// # Errors
/// The model's errors for DescribeACLs.
pub fn describe(
    store: &Store,
    scope: &Scope,
    req: &DescribeAclsRequest,
) -> Result<DescribeAclsResponse, Error> {
    let size = page_size(req.max_results)?;
    if let Some(name) = &req.acl_name {
        let acl = store
            .acls
            .get(&lookup_name(name))
            .ok_or_else(|| Error::AclNotFound(name.clone()))?;
        return Ok(DescribeAclsResponse {
            acls: vec![acl.view(scope, "active")],
            next_token: None,
        });
    }
    let (acls, next_token) = page(&store.acls, req.next_token.as_deref(), size, |_| true)?;
    Ok(DescribeAclsResponse {
        acls: acls.into_iter().map(|a| a.view(scope, "active")).collect(),
        next_token,
    })
}

/// # Errors
/// The model's errors for UpdateACL.
pub fn update(
    store: &mut Store,
    scope: &Scope,
    req: &UpdateAclRequest,
) -> Result<AclResponse, Error> {
    let key = lookup_name(&req.acl_name);
    let acl = store
        .acls
        .get(&key)
        .ok_or_else(|| Error::AclNotFound(req.acl_name.clone()))?;
    if key == OPEN_ACCESS {
        return Err(invalid("The open-access ACL can't be modified."));
    }
    if req.user_names_to_add.is_none() && req.user_names_to_remove.is_none() {
        return Err(combination(
            "No modifications were requested: give UserNamesToAdd or UserNamesToRemove.",
        ));
    }
    let add = match &req.user_names_to_add {
        None => BTreeSet::new(),
        Some(list) => existing_users(store, "UserNamesToAdd", list)?,
    };
    let remove = match &req.user_names_to_remove {
        None => BTreeSet::new(),
        Some(list) => existing_users(store, "UserNamesToRemove", list)?,
    };
    if let Some(both) = add.intersection(&remove).next() {
        return Err(combination(format!(
            "User {both} can't be both added to and removed from an ACL."
        )));
    }
    if let Some(member) = add.iter().find(|u| acl.users.contains(*u)) {
        return Err(Error::DuplicateUserName(format!(
            "{member}: already a member of ACL {key}"
        )));
    }
    if let Some(stranger) = remove.iter().find(|u| !acl.users.contains(*u)) {
        return Err(invalid(format!(
            "User {stranger} is not a member of ACL {key}."
        )));
    }
    if acl.users.len() + add.len() - remove.len() > MAX_USERS_PER_ACL {
        return Err(too_many_users());
    }
    for user in &add {
        if let Some(record) = store.users.get_mut(user) {
            record.acls.insert(key.clone());
        }
    }
    for user in &remove {
        if let Some(record) = store.users.get_mut(user) {
            record.acls.remove(&key);
        }
    }
    let acl = store
        .acls
        .get_mut(&key)
        .ok_or_else(|| Error::AclNotFound(req.acl_name.clone()))?;
    acl.users.extend(add.iter().cloned());
    acl.users.retain(|u| !remove.contains(u));
    let mut view = acl.view(scope, "modifying");
    view.pending_changes = Some(AclPendingChanges {
        user_names_to_remove: remove.into_iter().collect(),
        user_names_to_add: add.into_iter().collect(),
    });
    Ok(AclResponse { acl: view })
}

/// # Errors
/// The model's errors for DeleteACL.
pub fn delete(
    store: &mut Store,
    scope: &Scope,
    req: &DeleteAclRequest,
) -> Result<AclResponse, Error> {
    let key = lookup_name(&req.acl_name);
    let acl = store
        .acls
        .get(&key)
        .ok_or_else(|| Error::AclNotFound(req.acl_name.clone()))?;
    if key == OPEN_ACCESS {
        return Err(invalid("open-access ACL can't be deleted."));
    }
    if !acl.clusters.is_empty() {
        return Err(Error::InvalidAclState(format!(
            "ACL {key} is in use by clusters and can't be deleted."
        )));
    }
    let acl = store
        .acls
        .remove(&key)
        .ok_or_else(|| Error::AclNotFound(req.acl_name.clone()))?;
    for user in &acl.users {
        if let Some(record) = store.users.get_mut(user) {
            record.acls.remove(&key);
        }
    }
    Ok(AclResponse {
        acl: acl.view(scope, "deleting"),
    })
}

/// Resolves a list of user names: at least one, each existing, none repeated.
fn existing_users(
    store: &Store,
    member: &str,
    names: &[String],
) -> Result<BTreeSet<String>, Error> {
    if names.is_empty() {
        return Err(invalid(format!(
            "{member} must contain at least one user name."
        )));
    }
    let mut set = BTreeSet::new();
    for name in names {
        let key = lookup_name(name);
        if !store.users.contains_key(&key) {
            return Err(Error::UserNotFound(name.clone()));
        }
        if !set.insert(key) {
            return Err(Error::DuplicateUserName(name.clone()));
        }
    }
    Ok(set)
}

fn too_many_users() -> Error {
    invalid(format!(
        "An ACL can contain at most {MAX_USERS_PER_ACL} users."
    ))
}
