//! CreateTags, DeleteTags and DescribeTags on cluster ARNs:
//! `arn:aws:redshift:REGION:ACCOUNT:cluster:IDENTIFIER`.

use super::Env;
use super::clusters::max_records;
use super::error::{Error, invalid};
use super::model::{CreateTagsMessage, DeleteTagsMessage, DescribeTagsMessage, TaggedResources};
use super::store::{ClusterRecord, Store, cluster_arn, cluster_key};
use super::validate;
use crate::services::paging;

/// # Errors
/// The model's errors for CreateTags.
pub fn create(store: &mut Store, env: &Env<'_>, req: &CreateTagsMessage) -> Result<(), Error> {
    if req.tags.is_empty() {
        return Err(invalid("Tags must contain at least one tag."));
    }
    let new = validate::tags(&req.tags)?;
    let cluster = cluster_for(store, env, &req.resource_name)?;
    cluster.tags = validate::merge_tags(&cluster.tags, new)?;
    Ok(())
}

/// Removes the keys given; keys the cluster does not have are ignored, as AWS does.
///
/// # Errors
/// The model's errors for DeleteTags.
pub fn delete(store: &mut Store, env: &Env<'_>, req: &DeleteTagsMessage) -> Result<(), Error> {
    if req.tag_keys.is_empty() {
        return Err(invalid("TagKeys must contain at least one key."));
    }
    let cluster = cluster_for(store, env, &req.resource_name)?;
    cluster.tags.retain(|(k, _)| !req.tag_keys.contains(k));
    Ok(())
}

/// One entry per (cluster, tag), clusters in identifier order.
///
/// # Errors
/// The model's errors for DescribeTags.
pub fn describe(
    store: &mut Store,
    env: &Env<'_>,
    req: &DescribeTagsMessage,
) -> Result<TaggedResources, Error> {
    let size = max_records(req.max_records)?;
    if let Some(kind) = &req.resource_type
        && !kind.eq_ignore_ascii_case("cluster")
    {
        return Ok(TaggedResources {
            items: Vec::new(),
            marker: None,
        });
    }
    let keys = req.tag_keys.as_deref().unwrap_or_default();
    let values = req.tag_values.as_deref().unwrap_or_default();
    let wanted = |(k, v): &(String, String)| {
        (keys.is_empty() || keys.contains(k)) && (values.is_empty() || values.contains(v))
    };
    let only: Option<String> = match &req.resource_name {
        Some(arn) => Some(cluster_for(store, env, arn)?.identifier.clone()),
        None => None,
    };
    let keep = |c: &ClusterRecord| {
        c.deleting_since.is_none()
            && only.as_ref().is_none_or(|id| *id == c.identifier)
            && c.tags.iter().any(wanted)
    };
    let (clusters, marker) = paging::page(&store.clusters, req.marker.as_deref(), size, keep)
        .map_err(|_| invalid("Invalid Marker."))?;
    let items = clusters
        .into_iter()
        .flat_map(|c| {
            let arn = cluster_arn(env.scope, &c.identifier);
            c.tags
                .iter()
                .filter(|t| wanted(t))
                .map(move |(k, v)| (arn.clone(), "cluster", k.clone(), v.clone()))
        })
        .collect();
    Ok(TaggedResources { items, marker })
}

/// The cluster an ARN names in the caller's account and region.
fn cluster_for<'a>(
    store: &'a mut Store,
    env: &Env<'_>,
    arn: &str,
) -> Result<&'a mut ClusterRecord, Error> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    let [prefix, partition, service, region, account, kind, name] = parts[..] else {
        return Err(invalid(format!(
            "Invalid resource name {arn}: expected an Amazon Redshift ARN."
        )));
    };
    if prefix != "arn" || !partition.starts_with("aws") || service != "redshift" || name.is_empty()
    {
        return Err(invalid(format!(
            "Invalid resource name {arn}: expected an Amazon Redshift ARN."
        )));
    }
    let not_found = || Error::ResourceNotFound(format!("The resource {arn} could not be found."));
    if kind != "cluster" || region != env.scope.region || account != env.scope.account {
        return Err(not_found());
    }
    store.purge(env.now, env.settings.cluster_creation_delay);
    store
        .clusters
        .get_mut(&cluster_key(name))
        .filter(|c| c.deleting_since.is_none())
        .ok_or_else(not_found)
}
