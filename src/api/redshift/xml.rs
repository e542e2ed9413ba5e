//! Redshift's outputs written as the model's XML: element names and list member names as
//! the model gives them, every value taken from the output.
//!
//! ```text
//! <Cluster><ClusterIdentifier>c1</ClusterIdentifier>...<Endpoint><Address>127.0.0.1</Address>
//! <Port>5439</Port></Endpoint>...<ClusterNodes><member><NodeRole>SHARED</NodeRole>...
//! ```

use crate::protocol::query::{ToXml, Xml};
use crate::services::redshift::model::{
    Cluster, ClusterCredentials, ClusterResult, ClustersMessage, CustomDomainAssociation,
    CustomDomainAssociationsMessage, TaggedResources,
};

impl ToXml for CustomDomainAssociation {
    fn to_xml(&self, x: &mut Xml) {
        x.text("CustomDomainName", &self.custom_domain_name);
        x.text("CustomDomainCertificateArn", &self.certificate_arn);
        x.text("ClusterIdentifier", &self.cluster_identifier);
        x.text("CustomDomainCertExpiryTime", &self.expiry);
    }
}

impl ToXml for CustomDomainAssociationsMessage {
    fn to_xml(&self, x: &mut Xml) {
        x.opt_text("Marker", self.marker.as_deref());
        x.list(
            "Associations",
            "Association",
            &self.associations,
            |x, association| {
                x.text("CustomDomainCertificateArn", &association.certificate_arn);
                x.time("CustomDomainCertificateExpiryDate", association.expiry);
                x.list(
                    "CertificateAssociations",
                    "CertificateAssociation",
                    &association.domains,
                    |x, (domain, cluster)| {
                        x.text("CustomDomainName", domain);
                        x.text("ClusterIdentifier", cluster);
                    },
                );
            },
        );
    }
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
        x.int(
            "AutomatedSnapshotRetentionPeriod",
            self.automated_snapshot_retention_period,
        );
        x.int(
            "ManualSnapshotRetentionPeriod",
            self.manual_snapshot_retention_period,
        );
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
                x.text("Status", self.vpc_security_group_status);
            },
        );
        x.list(
            "ClusterParameterGroups",
            "ClusterParameterGroup",
            &self.parameter_groups,
            |x, (name, status)| {
                x.text("ParameterGroupName", name);
                x.text("ParameterApplyStatus", status);
            },
        );
        x.text("ClusterSubnetGroupName", self.subnet_group_name);
        x.text("VpcId", &self.vpc_id);
        x.text("AvailabilityZone", &self.availability_zone);
        x.text(
            "PreferredMaintenanceWindow",
            self.preferred_maintenance_window,
        );
        x.node("PendingModifiedValues", |_| {});
        x.text("ClusterVersion", self.cluster_version);
        x.bool("AllowVersionUpgrade", self.allow_version_upgrade);
        x.int("NumberOfNodes", self.number_of_nodes);
        x.bool("PubliclyAccessible", self.publicly_accessible);
        x.bool("Encrypted", self.encrypted);
        x.list("ClusterNodes", "member", &self.nodes, |x, (role, ip)| {
            x.text("NodeRole", role);
            x.text("PrivateIPAddress", ip);
        });
        x.text("ClusterRevisionNumber", self.revision_number);
        tag_list(x, &self.tags);
        x.bool("EnhancedVpcRouting", self.enhanced_vpc_routing);
        x.list("IamRoles", "ClusterIamRole", &self.iam_roles, |x, arn| {
            x.text("IamRoleArn", arn);
            x.text("ApplyStatus", self.iam_role_apply_status);
        });
        x.text("MaintenanceTrackName", self.maintenance_track_name);
        x.text("ClusterNamespaceArn", &self.namespace_arn);
        x.node("AquaConfiguration", |x| {
            x.text("AquaStatus", self.aqua.0);
            x.text("AquaConfigurationStatus", self.aqua.1);
        });
        if let Some((domain, certificate)) = &self.custom_domain {
            x.text("CustomDomainName", domain);
            x.text("CustomDomainCertificateArn", certificate);
        }
        x.opt_text(
            "MasterPasswordSecretArn",
            self.master_password_secret_arn.as_deref(),
        );
        x.text("MultiAZ", self.multi_az);
    }
}

/// CreateCluster and DeleteCluster answer `<Cluster>`.
impl ToXml for ClusterResult {
    fn to_xml(&self, x: &mut Xml) {
        x.node("Cluster", |x| self.0.to_xml(x));
    }
}

impl ToXml for ClustersMessage {
    fn to_xml(&self, x: &mut Xml) {
        x.list("Clusters", "Cluster", &self.clusters, |x, c| c.to_xml(x));
        x.opt_text("Marker", self.marker.as_deref());
    }
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
