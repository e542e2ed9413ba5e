//! The wire shapes of the Redshift Serverless operations memshift serves, named as in the
//! model (camelCase members).
//!
//! Inputs derive `Deserialize`; members the model requires are plain fields, so the codec
//! reports them by name when absent. Outputs skip absent members, as AWS does. Times are
//! ISO-8601 strings where the model says `iso8601` (`creationDate`), and epoch seconds
//! where it gives no format (GetCredentials' `expiration`).

use serde::{Deserialize, Serialize, Serializer};

use crate::secret::Secret;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigParameter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_value: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

// ---------------------------------------------------------------- namespaces

/// The settings of a namespace that CreateNamespace takes and UpdateNamespace changes.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSettings {
    #[serde(default)]
    pub admin_username: Option<String>,
    #[serde(default)]
    pub admin_user_password: Option<Secret>,
    #[serde(default)]
    pub manage_admin_password: Option<bool>,
    #[serde(default)]
    pub admin_password_secret_kms_key_id: Option<String>,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub default_iam_role_arn: Option<String>,
    #[serde(default)]
    pub iam_roles: Option<Vec<String>>,
    #[serde(default)]
    pub log_exports: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateNamespaceRequest {
    pub namespace_name: String,
    #[serde(default)]
    pub db_name: Option<String>,
    #[serde(default)]
    pub redshift_idc_application_arn: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
    #[serde(flatten)]
    pub settings: NamespaceSettings,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetNamespaceRequest {
    pub namespace_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListNamespacesRequest {
    #[serde(default)]
    pub max_results: Option<i32>,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateNamespaceRequest {
    pub namespace_name: String,
    #[serde(flatten)]
    pub settings: NamespaceSettings,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteNamespaceRequest {
    pub namespace_name: String,
    #[serde(default)]
    pub final_snapshot_name: Option<String>,
    #[serde(default)]
    pub final_snapshot_retention_period: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_password_secret_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_password_secret_kms_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_username: Option<String>,
    pub creation_date: String,
    pub db_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_iam_role_arn: Option<String>,
    pub iam_roles: Vec<String>,
    pub kms_key_id: String,
    pub log_exports: Vec<String>,
    pub namespace_arn: String,
    pub namespace_id: String,
    pub namespace_name: String,
    pub status: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceResponse {
    pub namespace: Namespace,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListNamespacesResponse {
    pub namespaces: Vec<Namespace>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

// ---------------------------------------------------------------- workgroups

/// The settings of a workgroup that CreateWorkgroup takes and UpdateWorkgroup changes.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkgroupSettings {
    #[serde(default)]
    pub base_capacity: Option<i32>,
    #[serde(default)]
    pub max_capacity: Option<i32>,
    #[serde(default)]
    pub port: Option<i32>,
    #[serde(default)]
    pub config_parameters: Option<Vec<ConfigParameter>>,
    #[serde(default)]
    pub enhanced_vpc_routing: Option<bool>,
    #[serde(default)]
    pub publicly_accessible: Option<bool>,
    #[serde(default)]
    pub security_group_ids: Option<Vec<String>>,
    #[serde(default)]
    pub subnet_ids: Option<Vec<String>>,
    #[serde(default)]
    pub ip_address_type: Option<String>,
    #[serde(default)]
    pub price_performance_target: Option<PerformanceTarget>,
    #[serde(default)]
    pub track_name: Option<String>,
    #[serde(default)]
    pub extra_compute_for_automatic_optimization: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateWorkgroupRequest {
    pub workgroup_name: String,
    pub namespace_name: String,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
    #[serde(flatten)]
    pub settings: WorkgroupSettings,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetWorkgroupRequest {
    pub workgroup_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListWorkgroupsRequest {
    #[serde(default)]
    pub max_results: Option<i32>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub owner_account: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateWorkgroupRequest {
    pub workgroup_name: String,
    #[serde(flatten)]
    pub settings: WorkgroupSettings,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteWorkgroupRequest {
    pub workgroup_name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub address: String,
    pub port: u16,
    pub vpc_endpoints: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workgroup {
    pub base_capacity: i32,
    pub config_parameters: Vec<ConfigParameter>,
    pub creation_date: String,
    pub cross_account_vpcs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_domain_certificate_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_domain_certificate_expiry_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_domain_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
    pub enhanced_vpc_routing: bool,
    pub extra_compute_for_automatic_optimization: bool,
    pub ip_address_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_capacity: Option<i32>,
    pub namespace_name: String,
    pub patch_version: String,
    pub port: i32,
    pub price_performance_target: PerformanceTarget,
    pub publicly_accessible: bool,
    pub security_group_ids: Vec<String>,
    pub status: &'static str,
    pub subnet_ids: Vec<String>,
    pub track_name: String,
    pub workgroup_arn: String,
    pub workgroup_id: String,
    pub workgroup_name: String,
    pub workgroup_version: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkgroupResponse {
    pub workgroup: Workgroup,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListWorkgroupsResponse {
    pub workgroups: Vec<Workgroup>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

// ---------------------------------------------------------------- credentials

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetCredentialsRequest {
    #[serde(default)]
    pub workgroup_name: Option<String>,
    #[serde(default)]
    pub custom_domain_name: Option<String>,
    #[serde(default)]
    pub db_name: Option<String>,
    #[serde(default)]
    pub duration_seconds: Option<i32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetCredentialsResponse {
    pub db_user: String,
    #[serde(serialize_with = "expose")]
    pub db_password: Secret,
    /// Epoch seconds.
    pub expiration: f64,
    /// Epoch seconds.
    pub next_refresh_time: f64,
}

/// The one place a password is written out: the answer that hands it to its owner.
fn expose<S: Serializer>(secret: &Secret, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose())
}

// ---------------------------------------------------------------- custom domains

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomDomainAssociationRequest {
    pub workgroup_name: String,
    pub custom_domain_name: String,
    pub custom_domain_certificate_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomDomainRequest {
    pub workgroup_name: String,
    pub custom_domain_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListCustomDomainAssociationsRequest {
    #[serde(default)]
    pub custom_domain_name: Option<String>,
    #[serde(default)]
    pub custom_domain_certificate_arn: Option<String>,
    #[serde(default)]
    pub max_results: Option<i32>,
    #[serde(default)]
    pub next_token: Option<String>,
}

/// An association as Create, Get, Update and List answer it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Association {
    pub custom_domain_certificate_arn: String,
    pub custom_domain_certificate_expiry_time: String,
    pub custom_domain_name: String,
    pub workgroup_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListCustomDomainAssociationsResponse {
    pub associations: Vec<Association>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// An output without members: `{}`.
#[derive(Debug, Serialize)]
pub struct Empty {}

// ---------------------------------------------------------------- tags

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResourceRequest {
    pub resource_arn: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceRequest {
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceRequest {
    pub resource_arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagsResponse {
    pub tags: Vec<Tag>,
}
