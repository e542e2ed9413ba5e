//! The shapes of the Redshift operations memshift serves: inputs as the model names their
//! members, outputs as plain values holding everything the answer shows (the API layer
//! writes them as the model's XML).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::secret::Secret;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateClusterMessage {
    pub cluster_identifier: String,
    pub node_type: String,
    pub master_username: String,
    #[serde(default)]
    pub master_user_password: Option<Secret>,
    #[serde(default)]
    pub manage_master_password: Option<bool>,
    #[serde(default, rename = "DBName")]
    pub db_name: Option<String>,
    #[serde(default)]
    pub cluster_type: Option<String>,
    #[serde(default)]
    pub number_of_nodes: Option<i32>,
    #[serde(default)]
    pub port: Option<i32>,
    #[serde(default)]
    pub encrypted: Option<bool>,
    #[serde(default)]
    pub publicly_accessible: Option<bool>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub vpc_security_group_ids: Option<Vec<String>>,
    #[serde(default)]
    pub iam_roles: Option<Vec<String>>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeClustersMessage {
    #[serde(default)]
    pub cluster_identifier: Option<String>,
    #[serde(default)]
    pub max_records: Option<i32>,
    #[serde(default)]
    pub marker: Option<String>,
    #[serde(default)]
    pub tag_keys: Option<Vec<String>>,
    #[serde(default)]
    pub tag_values: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteClusterMessage {
    pub cluster_identifier: String,
    #[serde(default)]
    pub skip_final_cluster_snapshot: Option<bool>,
    #[serde(default)]
    pub final_cluster_snapshot_identifier: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetClusterCredentialsMessage {
    pub db_user: String,
    #[serde(default)]
    pub db_name: Option<String>,
    #[serde(default)]
    pub cluster_identifier: Option<String>,
    #[serde(default)]
    pub duration_seconds: Option<i32>,
    #[serde(default)]
    pub auto_create: Option<bool>,
    #[serde(default)]
    pub db_groups: Option<Vec<String>>,
    #[serde(default)]
    pub custom_domain_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetClusterCredentialsWithIamMessage {
    #[serde(default)]
    pub db_name: Option<String>,
    #[serde(default)]
    pub cluster_identifier: Option<String>,
    #[serde(default)]
    pub duration_seconds: Option<i32>,
    #[serde(default)]
    pub custom_domain_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTagsMessage {
    pub resource_name: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteTagsMessage {
    pub resource_name: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTagsMessage {
    #[serde(default)]
    pub resource_name: Option<String>,
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub max_records: Option<i32>,
    #[serde(default)]
    pub marker: Option<String>,
    #[serde(default)]
    pub tag_keys: Option<Vec<String>>,
    #[serde(default)]
    pub tag_values: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateCustomDomainAssociationMessage {
    pub custom_domain_name: String,
    pub custom_domain_certificate_arn: String,
    pub cluster_identifier: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteCustomDomainAssociationMessage {
    pub cluster_identifier: String,
    pub custom_domain_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeCustomDomainAssociationsMessage {
    #[serde(default)]
    pub custom_domain_name: Option<String>,
    #[serde(default)]
    pub custom_domain_certificate_arn: Option<String>,
    #[serde(default)]
    pub max_records: Option<i32>,
    #[serde(default)]
    pub marker: Option<String>,
}

/// One certificate and the (domain name, cluster) pairs associated with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    pub certificate_arn: String,
    pub expiry: DateTime<Utc>,
    /// (custom domain name, cluster identifier)
    pub domains: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct CustomDomainAssociationsMessage {
    pub associations: Vec<Association>,
    pub marker: Option<String>,
}

#[derive(Debug)]
pub struct CustomDomainAssociation {
    pub custom_domain_name: String,
    pub certificate_arn: String,
    pub cluster_identifier: String,
    pub expiry: String,
}

/// A cluster as the API shows it.
#[allow(
    clippy::struct_excessive_bools,
    reason = "the model's Cluster has these booleans"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub identifier: String,
    pub node_type: String,
    pub status: &'static str,
    pub availability: &'static str,
    pub master_username: String,
    pub db_name: String,
    /// Absent while the cluster is being created.
    pub endpoint: Option<(String, u16)>,
    pub create_time: DateTime<Utc>,
    pub vpc_security_groups: Vec<String>,
    pub vpc_id: String,
    pub availability_zone: String,
    pub number_of_nodes: i64,
    pub publicly_accessible: bool,
    pub encrypted: bool,
    /// (role, private IP) of each node.
    pub nodes: Vec<(&'static str, String)>,
    pub tags: Vec<(String, String)>,
    pub iam_roles: Vec<String>,
    pub namespace_arn: String,
    pub custom_domain: Option<(String, String)>,
    pub master_password_secret_arn: Option<String>,
    pub automated_snapshot_retention_period: i64,
    pub manual_snapshot_retention_period: i64,
    /// (name, apply status) of each parameter group.
    pub parameter_groups: Vec<(&'static str, &'static str)>,
    pub subnet_group_name: &'static str,
    pub preferred_maintenance_window: &'static str,
    pub cluster_version: &'static str,
    pub revision_number: &'static str,
    pub allow_version_upgrade: bool,
    pub enhanced_vpc_routing: bool,
    pub maintenance_track_name: &'static str,
    /// (AquaStatus, AquaConfigurationStatus).
    pub aqua: (&'static str, &'static str),
    pub multi_az: &'static str,
    /// The status every VPC security group and IAM role shows.
    pub vpc_security_group_status: &'static str,
    pub iam_role_apply_status: &'static str,
}

#[derive(Debug)]
pub struct ClusterResult(pub Cluster);

#[derive(Debug)]
pub struct ClustersMessage {
    pub clusters: Vec<Cluster>,
    pub marker: Option<String>,
}

#[derive(Debug)]
pub struct ClusterCredentials {
    pub db_user: String,
    pub db_password: Secret,
    pub expiration: DateTime<Utc>,
    /// Only GetClusterCredentialsWithIAM answers it.
    pub next_refresh_time: Option<DateTime<Utc>>,
}

#[derive(Debug)]
pub struct TaggedResources {
    /// (resource ARN, resource type, key, value)
    pub items: Vec<(String, &'static str, String, String)>,
    pub marker: Option<String>,
}
