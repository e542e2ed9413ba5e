//! The wire shapes of the MemoryDB operations memshift serves, named as in the model.
//!
//! Inputs derive `Deserialize` with the model's member names; members the model requires
//! are plain fields, so the codec reports them by name when absent. Outputs skip absent
//! members, as AWS does.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthenticationMode {
    #[serde(default)]
    pub r#type: Option<String>,
    #[serde(default)]
    pub passwords: Option<Vec<Secret>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateUserRequest {
    pub user_name: String,
    pub authentication_mode: AuthenticationMode,
    pub access_string: String,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeUsersRequest {
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub filters: Option<Vec<Filter>>,
    #[serde(default)]
    pub max_results: Option<i32>,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateUserRequest {
    pub user_name: String,
    #[serde(default)]
    pub authentication_mode: Option<AuthenticationMode>,
    #[serde(default)]
    pub access_string: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteUserRequest {
    pub user_name: String,
}

#[derive(Debug, Deserialize)]
pub struct CreateAclRequest {
    #[serde(rename = "ACLName")]
    pub acl_name: String,
    #[serde(rename = "UserNames", default)]
    pub user_names: Option<Vec<String>>,
    #[serde(rename = "Tags", default)]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Deserialize)]
pub struct DescribeAclsRequest {
    #[serde(rename = "ACLName", default)]
    pub acl_name: Option<String>,
    #[serde(rename = "MaxResults", default)]
    pub max_results: Option<i32>,
    #[serde(rename = "NextToken", default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct UpdateAclRequest {
    #[serde(rename = "ACLName")]
    pub acl_name: String,
    #[serde(rename = "UserNamesToAdd", default)]
    pub user_names_to_add: Option<Vec<String>>,
    #[serde(rename = "UserNamesToRemove", default)]
    pub user_names_to_remove: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub struct DeleteAclRequest {
    #[serde(rename = "ACLName")]
    pub acl_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsRequest {
    pub resource_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceRequest {
    pub resource_arn: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceRequest {
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Authentication {
    pub r#type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_count: Option<usize>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct User {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Status")]
    pub status: &'static str,
    #[serde(rename = "AccessString")]
    pub access_string: String,
    #[serde(rename = "ACLNames")]
    pub acl_names: Vec<String>,
    #[serde(rename = "MinimumEngineVersion")]
    pub minimum_engine_version: &'static str,
    #[serde(rename = "Authentication")]
    pub authentication: Authentication,
    #[serde(rename = "ARN")]
    pub arn: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct AclPendingChanges {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_names_to_remove: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_names_to_add: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Acl {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Status")]
    pub status: &'static str,
    #[serde(rename = "UserNames")]
    pub user_names: Vec<String>,
    #[serde(rename = "MinimumEngineVersion")]
    pub minimum_engine_version: &'static str,
    #[serde(rename = "PendingChanges", skip_serializing_if = "Option::is_none")]
    pub pending_changes: Option<AclPendingChanges>,
    #[serde(rename = "Clusters")]
    pub clusters: Vec<String>,
    #[serde(rename = "ARN")]
    pub arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserResponse {
    pub user: User,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeUsersResponse {
    pub users: Vec<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AclResponse {
    #[serde(rename = "ACL")]
    pub acl: Acl,
}

#[derive(Debug, Serialize)]
pub struct DescribeAclsResponse {
    #[serde(rename = "ACLs")]
    pub acls: Vec<Acl>,
    #[serde(rename = "NextToken", skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagListResponse {
    pub tag_list: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateClusterRequest {
    pub cluster_name: String,
    pub node_type: String,
    #[serde(rename = "ACLName")]
    pub acl_name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub num_shards: Option<i32>,
    #[serde(default)]
    pub num_replicas_per_shard: Option<i32>,
    #[serde(default)]
    pub parameter_group_name: Option<String>,
    #[serde(default)]
    pub subnet_group_name: Option<String>,
    #[serde(default)]
    pub security_group_ids: Option<Vec<String>>,
    #[serde(default)]
    pub maintenance_window: Option<String>,
    #[serde(default)]
    pub port: Option<i32>,
    #[serde(default)]
    pub sns_topic_arn: Option<String>,
    #[serde(default, rename = "TLSEnabled")]
    pub tls_enabled: Option<bool>,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub snapshot_retention_limit: Option<i32>,
    #[serde(default)]
    pub snapshot_window: Option<String>,
    #[serde(default)]
    pub engine: Option<String>,
    #[serde(default)]
    pub engine_version: Option<String>,
    #[serde(default)]
    pub auto_minor_version_upgrade: Option<bool>,
    #[serde(default)]
    pub data_tiering: Option<bool>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
    #[serde(default)]
    pub snapshot_name: Option<String>,
    #[serde(default)]
    pub snapshot_arns: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeClustersRequest {
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub max_results: Option<i32>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub show_shard_details: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateClusterRequest {
    pub cluster_name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub security_group_ids: Option<Vec<String>>,
    #[serde(default)]
    pub maintenance_window: Option<String>,
    #[serde(default)]
    pub sns_topic_arn: Option<String>,
    #[serde(default)]
    pub snapshot_window: Option<String>,
    #[serde(default)]
    pub snapshot_retention_limit: Option<i32>,
    #[serde(default)]
    pub node_type: Option<String>,
    #[serde(default)]
    pub engine_version: Option<String>,
    #[serde(default, rename = "ACLName")]
    pub acl_name: Option<String>,
    #[serde(default)]
    pub shard_configuration: Option<ShardConfigurationRequest>,
    #[serde(default)]
    pub replica_configuration: Option<ReplicaConfigurationRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShardConfigurationRequest {
    #[serde(default)]
    pub shard_count: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicaConfigurationRequest {
    #[serde(default)]
    pub replica_count: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteClusterRequest {
    pub cluster_name: String,
    #[serde(default)]
    pub final_snapshot_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Endpoint {
    pub address: String,
    pub port: i32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityGroupMembership {
    pub security_group_id: String,
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Node {
    pub name: String,
    pub status: &'static str,
    pub availability_zone: String,
    pub create_time: f64,
    pub endpoint: Endpoint,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Shard {
    pub name: String,
    pub status: &'static str,
    pub slots: String,
    pub nodes: Vec<Node>,
    pub number_of_nodes: i32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Cluster {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: &'static str,
    pub number_of_shards: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<Vec<Shard>>,
    pub availability_mode: &'static str,
    pub cluster_endpoint: Endpoint,
    pub node_type: String,
    pub engine: String,
    pub engine_version: String,
    pub engine_patch_version: String,
    pub parameter_group_name: String,
    pub parameter_group_status: &'static str,
    pub security_groups: Vec<SecurityGroupMembership>,
    pub subnet_group_name: String,
    #[serde(rename = "TLSEnabled")]
    pub tls_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sns_topic_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sns_topic_status: Option<&'static str>,
    pub snapshot_retention_limit: i32,
    pub maintenance_window: String,
    pub snapshot_window: String,
    #[serde(rename = "ACLName")]
    pub acl_name: String,
    pub auto_minor_version_upgrade: bool,
    pub data_tiering: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterResponse {
    pub cluster: Cluster,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeClustersResponse {
    pub clusters: Vec<Cluster>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailoverShardRequest {
    pub cluster_name: String,
    pub shard_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSnapshotRequest {
    pub cluster_name: String,
    pub snapshot_name: String,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeSnapshotsRequest {
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub snapshot_name: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i32>,
    #[serde(default)]
    pub show_detail: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CopySnapshotRequest {
    pub source_snapshot_name: String,
    pub target_snapshot_name: String,
    #[serde(default)]
    pub target_bucket: Option<String>,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSnapshotRequest {
    pub snapshot_name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShardConfiguration {
    pub slots: String,
    pub replica_count: i32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShardDetail {
    pub name: String,
    pub configuration: ShardConfiguration,
    pub snapshot_creation_time: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterConfiguration {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub node_type: String,
    pub engine: String,
    pub engine_version: String,
    pub maintenance_window: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_arn: Option<String>,
    pub port: i32,
    pub parameter_group_name: String,
    pub subnet_group_name: String,
    pub snapshot_retention_limit: i32,
    pub snapshot_window: String,
    pub num_shards: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<Vec<ShardDetail>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Snapshot {
    pub name: String,
    pub status: &'static str,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(rename = "ARN")]
    pub arn: String,
    pub cluster_configuration: ClusterConfiguration,
    pub data_tiering: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnapshotResponse {
    pub snapshot: Snapshot,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeSnapshotsResponse {
    pub snapshots: Vec<Snapshot>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}
