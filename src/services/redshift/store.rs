//! Redshift's state in one account and region: clusters, their tags, and the temporary
//! credentials issued for them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::Cluster;
use crate::secret::PasswordHash;
use crate::state::tracked::Tracked;
use crate::state::{Scope, partition};

/// How many unexpired credentials are remembered per database user of a cluster.
pub const CREDENTIALS_KEPT_PER_USER: usize = 64;

/// The version every cluster runs, as DescribeClusters reports it (`ClusterVersion`).
pub const CLUSTER_VERSION: &str = "1.0";
/// The build of that version (`ClusterRevisionNumber`), which `select version()` ends with.
pub const CLUSTER_REVISION: &str = "77467";

/// What `select version()` answers on a cluster of this version and build: the PostgreSQL
/// version Redshift forked from, then Redshift's own (Redshift's documentation, VERSION).
#[must_use]
pub fn version_string() -> String {
    format!(
        "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 \
         (Red Hat 3.4.2-6.fc3), Redshift {CLUSTER_VERSION}.{CLUSTER_REVISION}"
    )
}

/// One credential handed out by GetClusterCredentials(WithIAM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCredential {
    /// The user as returned: `IAM:alice`, `IAMA:alice`, `IAMR:role`.
    pub db_user: String,
    pub db_groups: Vec<String>,
    pub db_name: Option<String>,
    pub auto_create: bool,
    pub expires: DateTime<Utc>,
    pub password: PasswordHash,
}

pub use super::kept::KeptCredentials;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterRecord {
    pub identifier: String,
    pub node_type: String,
    pub master_username: String,
    /// Absent when the master password is managed by Secrets Manager.
    pub master_password: Option<PasswordHash>,
    pub db_name: String,
    pub port: u16,
    pub number_of_nodes: i64,
    pub encrypted: bool,
    pub publicly_accessible: bool,
    pub availability_zone: String,
    pub vpc_security_groups: Vec<String>,
    pub iam_roles: Vec<String>,
    pub tags: Vec<(String, String)>,
    /// (domain name, certificate ARN) set by CreateCustomDomainAssociation.
    pub custom_domain: Option<(String, String)>,
    /// When the custom domain's certificate expires, as CreateCustomDomainAssociation
    /// answered it.
    #[serde(default)]
    pub custom_domain_expiry: Option<DateTime<Utc>>,
    pub namespace_id: String,
    pub vpc_id: String,
    pub created: DateTime<Utc>,
    /// When DeleteCluster was accepted.
    pub deleting_since: Option<DateTime<Utc>>,
    pub credentials: KeptCredentials,
    /// The port of the cluster's PostgreSQL front, chosen at creation when
    /// PostgreSQL is available (and kept across restarts when it is still free).
    #[serde(default)]
    pub engine_port: Option<u16>,
}

/// Redshift's state in one account and region.
#[derive(Debug, Clone, Default)]
pub struct Store {
    pub clusters: Tracked<ClusterRecord>,
}

impl Store {
    /// Forgets clusters whose deletion has completed.
    pub fn purge(&mut self, now: DateTime<Utc>, delay: Duration) {
        if self.clusters.values().all(|c| c.deleting_since.is_none()) {
            return;
        }
        self.clusters.retain(|_, c| {
            c.deleting_since.is_none_or(|since| {
                now < since + chrono::Duration::from_std(delay).unwrap_or_default()
            })
        });
    }
}

/// The key a cluster identifier is stored under: lowercase, borrowed when it already is.
#[must_use]
pub fn cluster_key(id: &str) -> std::borrow::Cow<'_, str> {
    if id.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(id.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(id)
    }
}

#[must_use]
pub fn cluster_arn(scope: &Scope, id: &str) -> String {
    format!(
        "arn:{}:redshift:{}:{}:cluster:{id}",
        partition(&scope.region),
        scope.region,
        scope.account
    )
}

impl ClusterRecord {
    /// The DNS name of the cluster's endpoint in AWS's form
    /// (`<cluster>.<unique id>.<region>.redshift.amazonaws.com`), with `memshift` as the
    /// unique id.
    #[must_use]
    pub fn dns_name(&self, scope: &Scope) -> String {
        format!(
            "{}.memshift.{}.redshift.amazonaws.com",
            self.identifier, scope.region
        )
    }

    /// The host names clients may reach the cluster's endpoint by: its DNS name and its
    /// custom domain name, when it has one.
    #[must_use]
    pub fn host_names(&self, scope: &Scope) -> Vec<String> {
        std::iter::once(self.dns_name(scope))
            .chain(self.custom_domain.iter().map(|(domain, _)| domain.clone()))
            .collect()
    }

    /// `creating` until the creation delay has passed, then `available`; `deleting` once
    /// DeleteCluster was accepted.
    #[must_use]
    pub fn status(&self, now: DateTime<Utc>, delay: Duration) -> &'static str {
        if self.deleting_since.is_some() {
            "deleting"
        } else if now < self.created + chrono::Duration::from_std(delay).unwrap_or_default() {
            "creating"
        } else {
            "available"
        }
    }

    /// Remembers a credential, dropping expired ones and all but the newest few per user.
    pub fn remember(&mut self, credential: IssuedCredential, now: DateTime<Utc>) {
        self.credentials.remember(credential, now);
    }

    /// The cluster as DescribeClusters shows it; a running endpoint is reported at
    /// `endpoint_host` and the port it listens on (`running_port`), else the port chosen
    /// for it.
    #[must_use]
    pub fn view(
        &self,
        scope: &Scope,
        endpoint_host: &str,
        running_port: Option<u16>,
        status: &'static str,
    ) -> Cluster {
        let availability = match status {
            "available" => "Available",
            "deleting" | "creating" => "Unavailable",
            _ => "Modifying",
        };
        let endpoint = (status != "creating").then(|| match running_port.or(self.engine_port) {
            Some(port) => (endpoint_host.to_owned(), port),
            None => ("localhost".to_owned(), self.port),
        });
        let nodes = if self.number_of_nodes == 1 {
            vec![("SHARED", "10.0.0.10".to_owned())]
        } else {
            std::iter::once(("LEADER", "10.0.0.10".to_owned()))
                .chain((0..self.number_of_nodes).map(|i| ("COMPUTE", format!("10.0.0.{}", 11 + i))))
                .collect()
        };
        Cluster {
            identifier: self.identifier.clone(),
            node_type: self.node_type.clone(),
            status,
            availability,
            master_username: self.master_username.clone(),
            db_name: self.db_name.clone(),
            endpoint,
            create_time: self.created,
            vpc_security_groups: self.vpc_security_groups.clone(),
            vpc_id: self.vpc_id.clone(),
            availability_zone: self.availability_zone.clone(),
            number_of_nodes: self.number_of_nodes,
            publicly_accessible: self.publicly_accessible,
            encrypted: self.encrypted,
            nodes,
            tags: self.tags.clone(),
            iam_roles: self.iam_roles.clone(),
            namespace_arn: format!(
                "arn:{}:redshift:{}:{}:namespace:{}",
                partition(&scope.region),
                scope.region,
                scope.account,
                self.namespace_id
            ),
            custom_domain: self.custom_domain.clone(),
            master_password_secret_arn: self.master_password.is_none().then(|| {
                format!(
                    "arn:{}:secretsmanager:{}:{}:secret:redshift!{}-{}",
                    partition(&scope.region),
                    scope.region,
                    scope.account,
                    self.identifier,
                    self.master_username
                )
            }),
            automated_snapshot_retention_period: 1,
            manual_snapshot_retention_period: -1,
            parameter_groups: vec![("default.redshift-2.0", "in-sync")],
            subnet_group_name: "default",
            preferred_maintenance_window: "sat:10:00-sat:10:30",
            cluster_version: CLUSTER_VERSION,
            revision_number: CLUSTER_REVISION,
            allow_version_upgrade: true,
            enhanced_vpc_routing: false,
            maintenance_track_name: "current",
            aqua: ("disabled", "auto"),
            multi_az: "Disabled",
            vpc_security_group_status: "active",
            iam_role_apply_status: "in-sync",
        }
    }
}
