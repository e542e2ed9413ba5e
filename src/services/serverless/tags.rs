//! TagResource, UntagResource and ListTagsForResource on namespace and workgroup ARNs:
//! `arn:aws:redshift-serverless:REGION:ACCOUNT:namespace/ID` and `…:workgroup/ID`.

use super::error::{Error, invalid};
use super::model::{
    Empty, ListTagsForResourceRequest, TagResourceRequest, TagsResponse, UntagResourceRequest,
};
use super::store::{Store, wire_tags};
use super::validate;
use crate::services::redshift::Env;
use crate::state::partition;

/// Which resource an ARN names: whether it is a namespace, and its name.
fn resolve(store: &mut Store, env: &Env<'_>, arn: &str) -> Result<(bool, String), Error> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, part, service, region, account, resource] = parts.as_slice() else {
        return Err(invalid(format!("{arn} is not a valid resource ARN.")));
    };
    if *prefix != "arn" || *service != "redshift-serverless" || !resource.contains('/') {
        return Err(invalid(format!("{arn} is not a valid resource ARN.")));
    }
    let not_found = || Error::ResourceNotFound(format!("Resource {arn} not found."));
    if *part != partition(&env.scope.region)
        || *region != env.scope.region
        || *account != env.scope.account
    {
        return Err(not_found());
    }
    store.purge(env.now, env.settings.cluster_creation_delay);
    let (kind, id) = resource.split_once('/').ok_or_else(not_found)?;
    let name = match kind {
        "namespace" => store
            .namespaces
            .values()
            .find(|n| n.id == id && n.deleting_since.is_none())
            .map(|n| n.name.clone()),
        "workgroup" => store
            .workgroups
            .values()
            .find(|w| w.id == id && w.deleting_since.is_none())
            .map(|w| w.name.clone()),
        _ => None,
    }
    .ok_or_else(not_found)?;
    Ok((kind == "namespace", name))
}

/// The tags of the resource an ARN names, to change them.
fn tags_of<'a>(
    store: &'a mut Store,
    env: &Env<'_>,
    arn: &str,
) -> Result<&'a mut Vec<(String, String)>, Error> {
    let (namespace, name) = resolve(store, env, arn)?;
    let tags = if namespace {
        store.namespaces.get_mut(&name).map(|n| &mut n.tags)
    } else {
        store.workgroups.get_mut(&name).map(|w| &mut w.tags)
    };
    tags.ok_or_else(|| Error::ResourceNotFound(format!("Resource {arn} not found.")))
}

/// # Errors
/// The model's errors for TagResource.
pub fn tag(store: &mut Store, env: &Env<'_>, req: &TagResourceRequest) -> Result<Empty, Error> {
    let new = validate::tags(&req.tags)?;
    let tags = tags_of(store, env, &req.resource_arn)?;
    *tags = validate::merge_tags(tags, new)?;
    Ok(Empty {})
}

/// Removes the keys given; keys the resource does not have are ignored.
///
/// # Errors
/// The model's errors for UntagResource.
pub fn untag(store: &mut Store, env: &Env<'_>, req: &UntagResourceRequest) -> Result<Empty, Error> {
    if req.tag_keys.len() > validate::MAX_TAGS {
        return Err(invalid("tagKeys can have at most 200 keys."));
    }
    let tags = tags_of(store, env, &req.resource_arn)?;
    tags.retain(|(k, _)| !req.tag_keys.contains(k));
    Ok(Empty {})
}

/// # Errors
/// The model's errors for ListTagsForResource.
pub fn list(
    store: &mut Store,
    env: &Env<'_>,
    req: &ListTagsForResourceRequest,
) -> Result<TagsResponse, Error> {
    let (namespace, name) = resolve(store, env, &req.resource_arn)?;
    let tags = if namespace {
        store.namespaces.get(&name).map(|n| wire_tags(&n.tags))
    } else {
        store.workgroups.get(&name).map(|w| wire_tags(&w.tags))
    };
    Ok(TagsResponse {
        tags: tags.unwrap_or_default(),
    })
}
