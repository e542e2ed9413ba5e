//! CreateUser, DescribeUsers, UpdateUser and DeleteUser.

use super::access_string;
use super::error::{Error, combination, invalid};
use super::model::{
    AuthenticationMode, CreateUserRequest, DeleteUserRequest, DescribeUsersRequest,
    DescribeUsersResponse, Filter, UpdateUserRequest, UserResponse,
};
use super::store::{Auth, DEFAULT_USER, Store, UserRecord};
use super::validate::{initial_tags, lookup_name, new_name, page, page_size};
use crate::state::Scope;

const MIN_PASSWORD: usize = 16;
const MAX_PASSWORD: usize = 128;
const MAX_PASSWORDS: usize = 2;

/// # Errors
/// The model's errors for CreateUser.
pub fn create(
    store: &mut Store,
    scope: &Scope,
    req: &CreateUserRequest,
    quota: usize,
) -> Result<UserResponse, Error> {
    let name = new_name("User", &req.user_name)?;
    let auth = authentication(&req.authentication_mode)?;
    let access_string = access_string::canonicalize(&req.access_string).map_err(invalid)?;
    let tags = initial_tags(req.tags.as_deref())?;
    if store.users.contains_key(&name) {
        return Err(Error::UserAlreadyExists(name));
    }
    if store.users.len() >= quota {
        return Err(Error::UserQuotaExceeded(quota));
    }
    let user = UserRecord {
        name: name.clone(),
        access_string,
        auth,
        acls: std::collections::BTreeSet::new(),
        tags,
    };
    let view = user.view(scope, "active");
    store.users.insert(name, user);
    Ok(UserResponse { user: view })
}

/// # Errors
/// The model's errors for DescribeUsers.
pub fn describe(
    store: &Store,
    scope: &Scope,
    req: &DescribeUsersRequest,
) -> Result<DescribeUsersResponse, Error> {
    let size = page_size(req.max_results)?;
    let filters = req
        .filters
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(UserFilter::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(name) = &req.user_name {
        let key = lookup_name(name);
        let user = store
            .users
            .get(&key)
            .ok_or_else(|| Error::UserNotFound(name.clone()))?;
        let users = if filters.iter().all(|f| f.matches(user)) {
            vec![user.view(scope, "active")]
        } else {
            Vec::new()
        };
        return Ok(DescribeUsersResponse {
            users,
            next_token: None,
        });
    }
    let (users, next_token) = page(&store.users, req.next_token.as_deref(), size, |u| {
        filters.iter().all(|f| f.matches(u))
    })?;
    Ok(DescribeUsersResponse {
        users: users.into_iter().map(|u| u.view(scope, "active")).collect(),
        next_token,
    })
}

/// # Errors
/// The model's errors for UpdateUser.
pub fn update(
    store: &mut Store,
    scope: &Scope,
    req: &UpdateUserRequest,
) -> Result<UserResponse, Error> {
    let key = lookup_name(&req.user_name);
    if !store.users.contains_key(&key) {
        return Err(Error::UserNotFound(req.user_name.clone()));
    }
    if key == DEFAULT_USER {
        return Err(invalid("The default user can't be modified."));
    }
    if req.authentication_mode.is_none() && req.access_string.is_none() {
        return Err(combination(
            "No modifications were requested: give AuthenticationMode or AccessString.",
        ));
    }
    let auth = req
        .authentication_mode
        .as_ref()
        .map(authentication)
        .transpose()?;
    let access = req
        .access_string
        .as_deref()
        .map(access_string::canonicalize)
        .transpose()
        .map_err(invalid)?;
    let user = store
        .users
        .get_mut(&key)
        .ok_or_else(|| Error::UserNotFound(req.user_name.clone()))?;
    if let Some(auth) = auth {
        user.auth = auth;
    }
    if let Some(access) = access {
        user.access_string = access;
    }
    Ok(UserResponse {
        user: user.view(scope, "modifying"),
    })
}

/// # Errors
/// The model's errors for DeleteUser.
pub fn delete(
    store: &mut Store,
    scope: &Scope,
    req: &DeleteUserRequest,
) -> Result<UserResponse, Error> {
    let key = lookup_name(&req.user_name);
    if !store.users.contains_key(&key) {
        return Err(Error::UserNotFound(req.user_name.clone()));
    }
    if key == DEFAULT_USER {
        return Err(invalid("The default user can't be deleted."));
    }
    let user = store
        .users
        .remove(&key)
        .ok_or_else(|| Error::UserNotFound(req.user_name.clone()))?;
    for acl in &user.acls {
        if let Some(acl) = store.acls.get_mut(acl) {
            acl.users.remove(&key);
        }
    }
    Ok(UserResponse {
        user: user.view(scope, "deleting"),
    })
}

/// Reads an `AuthenticationMode`: `password` with one or two passwords of 16-128
/// characters, kept only as hashes; or `iam` with none.
fn authentication(mode: &AuthenticationMode) -> Result<Auth, Error> {
    let passwords = mode.passwords.as_deref().unwrap_or_default();
    let kind = match mode.r#type.as_deref() {
        Some(kind) => kind,
        None if !passwords.is_empty() => "password",
        None => return Err(invalid("AuthenticationMode Type must be provided.")),
    };
    match kind {
        "password" => {
            if passwords.is_empty() {
                return Err(combination(
                    "Passwords must be provided when the authentication type is password.",
                ));
            }
            if passwords.len() > MAX_PASSWORDS {
                return Err(invalid("A user can have at most 2 passwords."));
            }
            if passwords
                .iter()
                .any(|p| !(MIN_PASSWORD..=MAX_PASSWORD).contains(&p.char_len()))
            {
                return Err(invalid(
                    "Passwords must be between 16 and 128 characters long.",
                ));
            }
            Ok(Auth::Password(
                passwords
                    .iter()
                    .map(crate::secret::Secret::sha256)
                    .collect(),
            ))
        }
        "iam" => {
            if passwords.is_empty() {
                Ok(Auth::Iam)
            } else {
                Err(combination(
                    "Passwords can't be provided when the authentication type is iam.",
                ))
            }
        }
        other => Err(invalid(format!(
            "Invalid authentication type {other}: valid types are password and iam."
        ))),
    }
}

/// One `Filters` entry of DescribeUsers.
enum UserFilter {
    Name(Vec<String>),
    AccessString(Vec<String>),
}

impl UserFilter {
    fn parse(filter: &Filter) -> Result<Self, Error> {
        if filter.values.is_empty() {
            return Err(invalid(format!(
                "Filter {} must have at least one value.",
                filter.name
            )));
        }
        if filter.values.iter().any(|v| v.trim().is_empty()) {
            return Err(invalid(format!(
                "Filter {} has an empty value.",
                filter.name
            )));
        }
        match filter.name.as_str() {
            "UserName" | "user-name" => Ok(UserFilter::Name(
                filter.values.iter().map(|v| lookup_name(v)).collect(),
            )),
            "AccessString" | "access-string" => Ok(UserFilter::AccessString(
                filter
                    .values
                    .iter()
                    .map(|v| access_string::canonicalize(v).unwrap_or_else(|_| v.clone()))
                    .collect(),
            )),
            other => Err(invalid(format!(
                "Invalid filter name {other}: supported filters are UserName and AccessString."
            ))),
        }
    }

    fn matches(&self, user: &UserRecord) -> bool {
        match self {
            UserFilter::Name(names) => names.contains(&user.name),
            UserFilter::AccessString(values) => values.contains(&user.access_string),
        }
    }
}
