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
