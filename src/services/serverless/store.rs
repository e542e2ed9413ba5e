//! Redshift Serverless state in one account and region: namespaces (a database service:
//! its admin user, databases and the temporary credentials issued for it) and workgroups
//! (the compute and endpoint in front of one namespace).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::{
    Association, ConfigParameter, Endpoint, Namespace, PerformanceTarget, Tag, Workgroup,
};
use crate::secret::PasswordHash;
use crate::services::redshift::store::{CLUSTER_REVISION, CLUSTER_VERSION, KeptCredentials};
use crate::state::tracked::Tracked;
use crate::state::{Scope, partition};

/// The KMS key a namespace reports when none was given.
pub const AWS_OWNED_KMS_KEY: &str = "AWS_OWNED_KMS_KEY";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NamespaceRecord {
    pub name: String,
    pub id: String,
    pub admin_username: Option<String>,
    /// Absent when there is no admin user, or when Secrets Manager manages its password.
    pub admin_password: Option<PasswordHash>,
    /// The suffix of the managed password's secret ARN, when Secrets Manager manages it.
    pub managed_secret_suffix: Option<String>,
    pub admin_password_secret_kms_key_id: Option<String>,
    pub db_name: String,
    pub kms_key_id: String,
    pub default_iam_role_arn: Option<String>,
    pub iam_roles: Vec<String>,
    pub log_exports: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub created: DateTime<Utc>,
    /// When the last UpdateNamespace was accepted.
    pub modified: Option<DateTime<Utc>>,
    /// When DeleteNamespace was accepted.
    pub deleting_since: Option<DateTime<Utc>>,
    /// Temporary credentials issued by GetCredentials for the namespace's workgroup.
    pub credentials: KeptCredentials,
}

/// A custom domain name associated with a workgroup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomDomain {
    pub name: String,
    pub certificate_arn: String,
    pub expiry: DateTime<Utc>,
}

impl CustomDomain {
    /// The association as the API shows it.
    #[must_use]
    pub fn association(&self, workgroup: &str) -> Association {
        Association {
            custom_domain_certificate_arn: self.certificate_arn.clone(),
            custom_domain_certificate_expiry_time: iso(self.expiry),
            custom_domain_name: self.name.clone(),
            workgroup_name: workgroup.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkgroupRecord {
    pub name: String,
    pub id: String,
    pub namespace_name: String,
    pub base_capacity: i32,
    pub max_capacity: Option<i32>,
    /// The port asked for (5439 by default), as the `port` member reports it.
    pub port: i32,
    pub config_parameters: Vec<(String, String)>,
    pub enhanced_vpc_routing: bool,
    pub publicly_accessible: bool,
    pub security_group_ids: Vec<String>,
    pub subnet_ids: Vec<String>,
    pub ip_address_type: String,
    pub price_performance_target: Option<PerformanceTarget>,
    pub track_name: String,
    pub extra_compute: bool,
    pub tags: Vec<(String, String)>,
    pub custom_domain: Option<CustomDomain>,
    pub created: DateTime<Utc>,
    /// When the last UpdateWorkgroup was accepted.
    pub modified: Option<DateTime<Utc>>,
    /// When DeleteWorkgroup was accepted.
    pub deleting_since: Option<DateTime<Utc>>,
    /// The port of the workgroup's PostgreSQL front, chosen at creation when PostgreSQL
    /// is available.
    pub engine_port: Option<u16>,
}

/// Redshift Serverless state in one account and region.
#[derive(Debug, Clone, Default)]
pub struct Store {
    pub namespaces: Tracked<NamespaceRecord>,
    pub workgroups: Tracked<WorkgroupRecord>,
}

/// Whether `since` lies within `delay` of `now`.
fn within(since: DateTime<Utc>, now: DateTime<Utc>, delay: Duration) -> bool {
    now < since + chrono::Duration::from_std(delay).unwrap_or_default()
}

impl Store {
    /// Forgets namespaces and workgroups whose deletion has completed.
    pub fn purge(&mut self, now: DateTime<Utc>, delay: Duration) {
        let done = |since: Option<DateTime<Utc>>| since.is_some_and(|s| !within(s, now, delay));
        if self.workgroups.values().any(|w| done(w.deleting_since)) {
            self.workgroups.retain(|_, w| !done(w.deleting_since));
        }
        if self.namespaces.values().any(|n| done(n.deleting_since)) {
            self.namespaces.retain(|_, n| !done(n.deleting_since));
        }
    }

    /// The workgroup (not being deleted) that serves a namespace.
    #[must_use]
    pub fn workgroup_of(&self, namespace: &str) -> Option<&WorkgroupRecord> {
        self.workgroups
            .values()
            .find(|w| w.namespace_name == namespace && w.deleting_since.is_none())
    }

    /// The workgroup (not being deleted) a custom domain name is associated with.
    #[must_use]
    pub fn workgroup_for_domain(&self, domain: &str) -> Option<&WorkgroupRecord> {
        self.workgroups.values().find(|w| {
            w.deleting_since.is_none()
                && w.custom_domain
                    .as_ref()
                    .is_some_and(|d| d.name.eq_ignore_ascii_case(domain))
        })
    }
}

/// `arn:aws:redshift-serverless:<region>:<account>:<kind>/<id>`.
#[must_use]
pub fn arn(scope: &Scope, kind: &str, id: &str) -> String {
    format!(
        "arn:{}:redshift-serverless:{}:{}:{kind}/{id}",
        partition(&scope.region),
        scope.region,
        scope.account
    )
}

/// A time as the model's `iso8601` members carry it.
#[must_use]
pub fn iso(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Tags in the wire's shape.
#[must_use]
pub fn wire_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| Tag {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}

impl NamespaceRecord {
    /// `DELETING` once DeleteNamespace was accepted, `MODIFYING` while an update is
    /// applied, else `AVAILABLE` (a namespace is never `CREATING`).
    #[must_use]
    pub fn status(&self, now: DateTime<Utc>, delay: Duration) -> &'static str {
        if self.deleting_since.is_some() {
            "DELETING"
        } else if self.modified.is_some_and(|m| within(m, now, delay)) {
            "MODIFYING"
        } else {
            "AVAILABLE"
        }
    }

    #[must_use]
    pub fn arn(&self, scope: &Scope) -> String {
        arn(scope, "namespace", &self.id)
    }

    /// The namespace as the API shows it.
    #[must_use]
    pub fn view(&self, scope: &Scope, status: &'static str) -> Namespace {
        Namespace {
            admin_password_secret_arn: self.managed_secret_suffix.as_ref().map(|suffix| {
                format!(
                    "arn:{}:secretsmanager:{}:{}:secret:redshift!{}-{}-{suffix}",
                    partition(&scope.region),
                    scope.region,
                    scope.account,
                    self.name,
                    self.admin_username.as_deref().unwrap_or_default()
                )
            }),
            admin_password_secret_kms_key_id: self.admin_password_secret_kms_key_id.clone(),
            admin_username: self.admin_username.clone(),
            creation_date: iso(self.created),
            db_name: self.db_name.clone(),
            default_iam_role_arn: self.default_iam_role_arn.clone(),
            // As the service shows them: each role with the state of its application.
            iam_roles: self
                .iam_roles
                .iter()
                .map(|arn| format!("IamRole(applyStatus=in-sync, iamRoleArn={arn})"))
                .collect(),
            kms_key_id: self.kms_key_id.clone(),
            log_exports: self.log_exports.clone(),
            namespace_arn: self.arn(scope),
            namespace_id: self.id.clone(),
            namespace_name: self.name.clone(),
            status,
        }
    }
}

impl WorkgroupRecord {
    /// `DELETING`, `CREATING` until the creation delay has passed, `MODIFYING` while an
    /// update is applied, else `AVAILABLE`.
    #[must_use]
    pub fn status(&self, now: DateTime<Utc>, delay: Duration) -> &'static str {
        if self.deleting_since.is_some() {
            "DELETING"
        } else if within(self.created, now, delay) {
            "CREATING"
        } else if self.modified.is_some_and(|m| within(m, now, delay)) {
            "MODIFYING"
        } else {
            "AVAILABLE"
        }
    }

    #[must_use]
    pub fn arn(&self, scope: &Scope) -> String {
        arn(scope, "workgroup", &self.id)
    }

    /// The workgroup's DNS name in AWS's form
    /// (`<workgroup>.<account>.<region>.redshift-serverless.amazonaws.com`).
    #[must_use]
    pub fn dns_name(&self, scope: &Scope) -> String {
        format!(
            "{}.{}.{}.redshift-serverless.amazonaws.com",
            self.name, scope.account, scope.region
        )
    }

    /// The host names clients may reach the endpoint by: its DNS name and its custom
    /// domain name, when it has one.
    #[must_use]
    pub fn host_names(&self, scope: &Scope) -> Vec<String> {
        std::iter::once(self.dns_name(scope))
            .chain(self.custom_domain.iter().map(|d| d.name.clone()))
            .collect()
    }

    /// The association of its custom domain, when it has one.
    #[must_use]
    pub fn association(&self) -> Option<Association> {
        self.custom_domain
            .as_ref()
            .map(|d| d.association(&self.name))
    }

    /// The workgroup as the API shows it; its endpoint is reported at `endpoint_host` and
    /// the port its server listens on (`running_port`), else the port chosen for it.
    #[must_use]
    pub fn view(
        &self,
        scope: &Scope,
        endpoint_host: &str,
        running_port: Option<u16>,
        status: &'static str,
    ) -> Workgroup {
        let endpoint = Endpoint {
            address: endpoint_host.to_owned(),
            port: running_port
                .or(self.engine_port)
                .unwrap_or_else(|| u16::try_from(self.port).unwrap_or(5439)),
            vpc_endpoints: Vec::new(),
        };
        Workgroup {
            base_capacity: self.base_capacity,
            config_parameters: self
                .config_parameters
                .iter()
                .map(|(k, v)| ConfigParameter {
                    parameter_key: Some(k.clone()),
                    parameter_value: Some(v.clone()),
                })
                .collect(),
            creation_date: iso(self.created),
            cross_account_vpcs: Vec::new(),
            custom_domain_certificate_arn: self
                .custom_domain
                .as_ref()
                .map(|d| d.certificate_arn.clone()),
            custom_domain_certificate_expiry_time: self
                .custom_domain
                .as_ref()
                .map(|d| iso(d.expiry)),
            custom_domain_name: self.custom_domain.as_ref().map(|d| d.name.clone()),
            endpoint: (status != "DELETING").then_some(endpoint),
            enhanced_vpc_routing: self.enhanced_vpc_routing,
            extra_compute_for_automatic_optimization: self.extra_compute,
            ip_address_type: self.ip_address_type.clone(),
            max_capacity: self.max_capacity,
            namespace_name: self.namespace_name.clone(),
            patch_version: format!("{CLUSTER_VERSION}.{CLUSTER_REVISION}"),
            port: self.port,
            price_performance_target: self.price_performance_target.clone().unwrap_or(
                PerformanceTarget {
                    level: None,
                    status: Some("DISABLED".to_owned()),
                },
            ),
            publicly_accessible: self.publicly_accessible,
            security_group_ids: self.security_group_ids.clone(),
            status,
            subnet_ids: self.subnet_ids.clone(),
            track_name: self.track_name.clone(),
            workgroup_arn: self.arn(scope),
            workgroup_id: self.id.clone(),
            workgroup_name: self.name.clone(),
            workgroup_version: CLUSTER_VERSION,
        }
    }
}
