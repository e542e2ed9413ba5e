//! ListTags, TagResource and UntagResource on user, ACL, cluster and snapshot ARNs.
//!
//! ```text
//! arn:aws:memorydb:us-east-1:000000000000:user/alice
//! arn:aws:memorydb:us-east-1:000000000000:acl/my-acl
//! arn:aws:memorydb:us-east-1:000000000000:cluster/my-cluster
//! arn:aws:memorydb:us-east-1:000000000000:snapshot/my-snapshot
//! ```

use super::error::{Error, invalid};
use super::model::{ListTagsRequest, TagListResponse, TagResourceRequest, UntagResourceRequest};
use super::store::Store;
use super::validate::{MAX_TAGS, lookup_name, merge_tags, tag_list, tags};
use crate::state::Scope;

/// # Errors
/// The model's errors for ListTags.
pub fn list(store: &Store, scope: &Scope, req: &ListTagsRequest) -> Result<TagListResponse, Error> {
    let tags = resource(store, scope, &req.resource_arn)?;
    Ok(TagListResponse {
        tag_list: tag_list(tags),
    })
}

/// # Errors
/// The model's errors for TagResource.
pub fn tag(
    store: &mut Store,
    scope: &Scope,
    req: &TagResourceRequest,
) -> Result<TagListResponse, Error> {
    let current = resource(store, scope, &req.resource_arn)?;
    if req.tags.is_empty() {
        return Err(invalid("Tags must contain at least one tag."));
    }
    let mut merged = current.clone();
    merge_tags(&mut merged, tags(&req.tags)?);
    if merged.len() > MAX_TAGS {
        return Err(Error::TagQuotaPerResourceExceeded(MAX_TAGS));
    }
    let out = tag_list(&merged);
    *resource_mut(store, scope, &req.resource_arn)? = merged;
    Ok(TagListResponse { tag_list: out })
}

/// # Errors
/// The model's errors for UntagResource.
pub fn untag(
    store: &mut Store,
    scope: &Scope,
    req: &UntagResourceRequest,
) -> Result<TagListResponse, Error> {
    let current = resource(store, scope, &req.resource_arn)?;
    if req.tag_keys.is_empty() {
        return Err(invalid("TagKeys must contain at least one key."));
    }
    if let Some(missing) = req
        .tag_keys
        .iter()
        .find(|k| !current.iter().any(|(key, _)| key == *k))
    {
        return Err(Error::TagNotFound(missing.clone()));
    }
    let tags = resource_mut(store, scope, &req.resource_arn)?;
    tags.retain(|(k, _)| !req.tag_keys.contains(k));
    Ok(TagListResponse {
        tag_list: tag_list(tags),
    })
}

/// What an ARN names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    User(String),
    Acl(String),
    Cluster(String),
    Snapshot(String),
}

/// Parses a MemoryDB ARN and finds what it names in the caller's account and region.
fn target(scope: &Scope, arn: &str) -> Result<Target, Error> {
    let bad = || Error::InvalidArn(format!("Invalid ARN {arn}."));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return Err(bad());
    };
    if prefix != "arn"
        || !partition.starts_with("aws")
        || service != "memorydb"
        || region.is_empty()
        || account.len() != 12
        || !account.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let (kind, name) = resource.split_once('/').ok_or_else(bad)?;
    if name.is_empty() {
        return Err(bad());
    }
    let here = region == scope.region && account == scope.account;
    let name = name.to_owned();
    match kind {
        "user" if here => Ok(Target::User(lookup_name(&name))),
        "acl" if here => Ok(Target::Acl(lookup_name(&name))),
        "cluster" if here => Ok(Target::Cluster(lookup_name(&name))),
        "snapshot" if here => Ok(Target::Snapshot(lookup_name(&name))),
        "user" => Err(Error::UserNotFound(name)),
        "acl" => Err(Error::AclNotFound(name)),
        "cluster" => Err(Error::ClusterNotFound(name)),
        "snapshot" => Err(Error::SnapshotNotFound(name)),
        "subnetgroup" => Err(Error::SubnetGroupNotFound(name)),
        "parametergroup" => Err(Error::ParameterGroupNotFound(name)),
        "multiregioncluster" => Err(Error::MultiRegionClusterNotFound(name)),
        _ => Err(bad()),
    }
}

fn resource<'a>(
    store: &'a Store,
    scope: &Scope,
    arn: &str,
) -> Result<&'a Vec<(String, String)>, Error> {
    match target(scope, arn)? {
        Target::User(name) => store
            .users
            .get(&name)
            .map(|u| &u.tags)
            .ok_or(Error::UserNotFound(name)),
        Target::Acl(name) => store
            .acls
            .get(&name)
            .map(|a| &a.tags)
            .ok_or(Error::AclNotFound(name)),
        Target::Cluster(name) => store
            .clusters
            .get(&name)
            .map(|c| &c.tags)
            .ok_or(Error::ClusterNotFound(name)),
        Target::Snapshot(name) => store
            .snapshots
            .get(&name)
            .map(|s| &s.tags)
            .ok_or(Error::SnapshotNotFound(name)),
    }
}

fn resource_mut<'a>(
    store: &'a mut Store,
    scope: &Scope,
    arn: &str,
) -> Result<&'a mut Vec<(String, String)>, Error> {
    match target(scope, arn)? {
        Target::User(name) => store
            .users
            .get_mut(&name)
            .map(|u| &mut u.tags)
            .ok_or(Error::UserNotFound(name)),
        Target::Acl(name) => store
            .acls
            .get_mut(&name)
            .map(|a| &mut a.tags)
            .ok_or(Error::AclNotFound(name)),
        Target::Cluster(name) => store
            .clusters
            .get_mut(&name)
            .map(|c| &mut c.tags)
            .ok_or(Error::ClusterNotFound(name)),
        Target::Snapshot(name) => store
            .snapshots
            .get_mut(&name)
            .map(|s| &mut s.tags)
            .ok_or(Error::SnapshotNotFound(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_parsed_and_scoped() {
        let scope = Scope::new("000000000000", "us-east-1");
        assert_eq!(
            target(&scope, "arn:aws:memorydb:us-east-1:000000000000:user/Alice").unwrap(),
            Target::User("alice".to_owned())
        );
        assert_eq!(
            target(&scope, "arn:aws:memorydb:us-east-1:000000000000:acl/a1").unwrap(),
            Target::Acl("a1".to_owned())
        );
        assert_eq!(
            target(&scope, "arn:aws:memorydb:eu-west-1:000000000000:user/alice").unwrap_err(),
            Error::UserNotFound("alice".to_owned())
        );
        assert_eq!(
            target(&scope, "arn:aws:memorydb:us-east-1:000000000000:cluster/C1").unwrap(),
            Target::Cluster("c1".to_owned())
        );
        assert_eq!(
            target(
                &scope,
                "arn:aws:memorydb:us-east-1:000000000000:snapshot/S1"
            )
            .unwrap(),
            Target::Snapshot("s1".to_owned())
        );
        assert_eq!(
            target(
                &scope,
                "arn:aws:memorydb:us-east-1:111122223333:snapshot/s1"
            )
            .unwrap_err(),
            Error::SnapshotNotFound("s1".to_owned())
        );
        assert_eq!(
            target(&scope, "arn:aws:memorydb:us-east-1:111122223333:cluster/c1").unwrap_err(),
            Error::ClusterNotFound("c1".to_owned())
        );
        for bad in [
            "",
            "not-an-arn",
            "arn:aws:s3:::bucket",
            "arn:aws:memorydb:us-east-1:000000000000:user/",
            "arn:aws:memorydb:us-east-1:123:user/a",
            "arn:aws:memorydb:us-east-1:000000000000:widget/a",
            "arn:aws:memorydb::000000000000:user/a",
        ] {
            assert!(
                matches!(target(&scope, bad), Err(Error::InvalidArn(_))),
                "{bad}"
            );
        }
    }
}
