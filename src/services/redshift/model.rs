//! The wire shapes of the Redshift operations memshift serves: inputs as the model names
//! their members, outputs written as the model's XML (list member names included).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::protocol::query::{ToXml, Xml};
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

#[derive(Debug, Deserialize)]
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

pub struct CustomDomainAssociation {
    pub custom_domain_name: String,
    pub certificate_arn: String,
    pub cluster_identifier: String,
    pub expiry: String,
}

impl ToXml for CustomDomainAssociation {
    fn to_xml(&self, x: &mut Xml) {
        x.text("CustomDomainName", &self.custom_domain_name);
        x.text("CustomDomainCertificateArn", &self.certificate_arn);
        x.text("ClusterIdentifier", &self.cluster_identifier);
        x.text("CustomDomainCertExpiryTime", &self.expiry);
    }
}

/// A cluster as the API shows it.
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
}

fn tag_list(x: &mut Xml, tags: &[(String, String)]) {
    x.list("Tags", "Tag", tags, |x, (k, v)| {
        x.text("Key", k);
        x.text("Value", v);
    });
}

impl ToXml for Cluster {
    fn to_xml(&self, x: &mut Xml) {
        x.text("ClusterIdentifier", &self.identifier);
        x.text("NodeType", &self.node_type);
        x.text("ClusterStatus", self.status);
        x.text("ClusterAvailabilityStatus", self.availability);
        x.text("MasterUsername", &self.master_username);
        x.text("DBName", &self.db_name);
        if let Some((address, port)) = &self.endpoint {
            x.node("Endpoint", |x| {
                x.text("Address", address);
                x.int("Port", i64::from(*port));
            });
        }
        x.time("ClusterCreateTime", self.create_time);
        x.int("AutomatedSnapshotRetentionPeriod", 1);
        x.int("ManualSnapshotRetentionPeriod", -1);
        x.list(
            "ClusterSecurityGroups",
            "ClusterSecurityGroup",
            &[] as &[()],
            |_, ()| {},
        );
        x.list(
            "VpcSecurityGroups",
            "VpcSecurityGroup",
            &self.vpc_security_groups,
            |x, id| {
                x.text("VpcSecurityGroupId", id);
                x.text("Status", "active");
            },
        );
        x.list(
            "ClusterParameterGroups",
            "ClusterParameterGroup",
            &["default.redshift-2.0"],
            |x, name| {
                x.text("ParameterGroupName", name);
                x.text("ParameterApplyStatus", "in-sync");
            },
        );
        x.text("ClusterSubnetGroupName", "default");
        x.text("VpcId", &self.vpc_id);
        x.text("AvailabilityZone", &self.availability_zone);
        x.text("PreferredMaintenanceWindow", "sat:10:00-sat:10:30");
        x.node("PendingModifiedValues", |_| {});
        x.text("ClusterVersion", "1.0");
        x.bool("AllowVersionUpgrade", true);
        x.int("NumberOfNodes", self.number_of_nodes);
        x.bool("PubliclyAccessible", self.publicly_accessible);
        x.bool("Encrypted", self.encrypted);
        x.list("ClusterNodes", "member", &self.nodes, |x, (role, ip)| {
            x.text("NodeRole", role);
            x.text("PrivateIPAddress", ip);
        });
        tag_list(x, &self.tags);
        x.bool("EnhancedVpcRouting", false);
        x.list("IamRoles", "ClusterIamRole", &self.iam_roles, |x, arn| {
            x.text("IamRoleArn", arn);
            x.text("ApplyStatus", "in-sync");
        });
        x.text("MaintenanceTrackName", "current");
        x.text("ClusterNamespaceArn", &self.namespace_arn);
        x.node("AquaConfiguration", |x| {
            x.text("AquaStatus", "disabled");
            x.text("AquaConfigurationStatus", "auto");
        });
        if let Some((domain, certificate)) = &self.custom_domain {
            x.text("CustomDomainName", domain);
            x.text("CustomDomainCertificateArn", certificate);
        }
        x.opt_text(
            "MasterPasswordSecretArn",
            self.master_password_secret_arn.as_deref(),
        );
        x.text("MultiAZ", "Disabled");
    }
}

/// CreateCluster and DeleteCluster answer `<Cluster>`.
pub struct ClusterResult(pub Cluster);

impl ToXml for ClusterResult {
    fn to_xml(&self, x: &mut Xml) {
        x.node("Cluster", |x| self.0.to_xml(x));
    }
}

pub struct ClustersMessage {
    pub clusters: Vec<Cluster>,
    pub marker: Option<String>,
}

impl ToXml for ClustersMessage {
    fn to_xml(&self, x: &mut Xml) {
        x.list("Clusters", "Cluster", &self.clusters, |x, c| c.to_xml(x));
        x.opt_text("Marker", self.marker.as_deref());
    }
}

pub struct ClusterCredentials {
    pub db_user: String,
    pub db_password: Secret,
    pub expiration: DateTime<Utc>,
    /// Only GetClusterCredentialsWithIAM answers it.
    pub next_refresh_time: Option<DateTime<Utc>>,
}

impl ToXml for ClusterCredentials {
    fn to_xml(&self, x: &mut Xml) {
        x.text("DbUser", &self.db_user);
        // The one place a password leaves memshift: the answer to the caller who asked.
        x.text("DbPassword", self.db_password.expose());
        x.time("Expiration", self.expiration);
        if let Some(t) = self.next_refresh_time {
            x.time("NextRefreshTime", t);
        }
    }
}

pub struct TaggedResources {
    /// (resource ARN, resource type, key, value)
    pub items: Vec<(String, &'static str, String, String)>,
    pub marker: Option<String>,
}

impl ToXml for TaggedResources {
    fn to_xml(&self, x: &mut Xml) {
        x.list(
            "TaggedResources",
            "TaggedResource",
            &self.items,
            |x, (arn, kind, k, v)| {
                x.node("Tag", |x| {
                    x.text("Key", k);
                    x.text("Value", v);
                });
                x.text("ResourceName", arn);
                x.text("ResourceType", kind);
            },
        );
        x.opt_text("Marker", self.marker.as_deref());
    }
}
