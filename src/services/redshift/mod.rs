//! Amazon Redshift clusters and temporary database credentials over AWS Query.
//!
//! ```text
//! Action=GetClusterCredentials&Version=2012-12-01&ClusterIdentifier=c1&DbUser=alice&DbGroups.DbGroup.1=analysts
//! -> <GetClusterCredentialsResponse xmlns="http://redshift.amazonaws.com/doc/2012-12-01/">
//!      <GetClusterCredentialsResult><DbUser>IAM:alice</DbUser><DbPassword>...</DbPassword>
//!      <Expiration>2026-11-21T05:00:00.000Z</Expiration></GetClusterCredentialsResult>
//!      <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata></GetClusterCredentialsResponse>
//! ```
//!
//! Every action of the model is recognised; those memshift does not emulate answer a
//! `NotImplemented` error naming the action.

pub mod clusters;
pub mod credentials;
pub mod domains;
pub mod error;
pub mod model;
pub mod store;
pub mod tags;
pub mod validate;

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::config::ServiceSettings;
use crate::protocol::context::{RequestContext, Scope};
use crate::protocol::error::{Failure, ProtocolError, ServiceError};
use crate::protocol::query::{self, ToXml};
use crate::protocol::query_de;
use crate::state::AppState;
use crate::state::persist::Commit;
pub use error::Error;
pub use store::Store;

pub const SERVICE_NAME: &str = "Redshift";
/// The name requests are signed for (the service of the SigV4 credential scope).
pub const SIGNING_NAME: &str = "redshift";

/// What an operation knows besides its input: where, when, who, and the settings.
pub struct Env<'a> {
    pub scope: &'a Scope,
    pub now: DateTime<Utc>,
    pub access_key_id: Option<&'a str>,
    pub settings: &'a ServiceSettings,
    /// A free loopback port for a new cluster's endpoint, when PostgreSQL can be run.
    pub new_port: &'a dyn Fn() -> Option<u16>,
}

/// Every action of the Redshift model (`redshift/2012-12-01`).
pub const OPERATIONS: &[&str] = &[
    "AcceptReservedNodeExchange",
    "AddPartner",
    "AssociateDataShareConsumer",
    "AuthorizeClusterSecurityGroupIngress",
    "AuthorizeDataShare",
    "AuthorizeEndpointAccess",
    "AuthorizeSnapshotAccess",
    "BatchDeleteClusterSnapshots",
    "BatchModifyClusterSnapshots",
    "CancelResize",
    "CopyClusterSnapshot",
    "CreateAuthenticationProfile",
    "CreateCluster",
    "CreateClusterParameterGroup",
    "CreateClusterSecurityGroup",
    "CreateClusterSnapshot",
    "CreateClusterSubnetGroup",
    "CreateCustomDomainAssociation",
    "CreateEndpointAccess",
    "CreateEventSubscription",
    "CreateHsmClientCertificate",
    "CreateHsmConfiguration",
    "CreateIntegration",
    "CreateRedshiftIdcApplication",
    "CreateScheduledAction",
    "CreateSnapshotCopyGrant",
    "CreateSnapshotSchedule",
    "CreateTags",
    "CreateUsageLimit",
    "DeauthorizeDataShare",
    "DeleteAuthenticationProfile",
    "DeleteCluster",
    "DeleteClusterParameterGroup",
    "DeleteClusterSecurityGroup",
    "DeleteClusterSnapshot",
    "DeleteClusterSubnetGroup",
    "DeleteCustomDomainAssociation",
    "DeleteEndpointAccess",
    "DeleteEventSubscription",
    "DeleteHsmClientCertificate",
    "DeleteHsmConfiguration",
    "DeleteIntegration",
    "DeletePartner",
    "DeleteRedshiftIdcApplication",
    "DeleteResourcePolicy",
    "DeleteScheduledAction",
    "DeleteSnapshotCopyGrant",
    "DeleteSnapshotSchedule",
    "DeleteTags",
    "DeleteUsageLimit",
    "DeregisterNamespace",
    "DescribeAccountAttributes",
    "DescribeAuthenticationProfiles",
    "DescribeClusterDbRevisions",
    "DescribeClusterParameterGroups",
    "DescribeClusterParameters",
    "DescribeClusterSecurityGroups",
    "DescribeClusterSnapshots",
    "DescribeClusterSubnetGroups",
    "DescribeClusterTracks",
    "DescribeClusterVersions",
    "DescribeClusters",
    "DescribeCustomDomainAssociations",
    "DescribeDataShares",
    "DescribeDataSharesForConsumer",
    "DescribeDataSharesForProducer",
    "DescribeDefaultClusterParameters",
    "DescribeEndpointAccess",
    "DescribeEndpointAuthorization",
    "DescribeEventCategories",
    "DescribeEventSubscriptions",
    "DescribeEvents",
    "DescribeHsmClientCertificates",
    "DescribeHsmConfigurations",
    "DescribeInboundIntegrations",
    "DescribeIntegrations",
    "DescribeLoggingStatus",
    "DescribeNodeConfigurationOptions",
    "DescribeOrderableClusterOptions",
    "DescribePartners",
    "DescribeRedshiftIdcApplications",
    "DescribeReservedNodeExchangeStatus",
    "DescribeReservedNodeOfferings",
    "DescribeReservedNodes",
    "DescribeResize",
    "DescribeScheduledActions",
    "DescribeSnapshotCopyGrants",
    "DescribeSnapshotSchedules",
    "DescribeStorage",
    "DescribeTableRestoreStatus",
    "DescribeTags",
    "DescribeUsageLimits",
    "DisableLogging",
    "DisableSnapshotCopy",
    "DisassociateDataShareConsumer",
    "EnableLogging",
    "EnableSnapshotCopy",
    "FailoverPrimaryCompute",
    "GetClusterCredentials",
    "GetClusterCredentialsWithIAM",
    "GetIdentityCenterAuthToken",
    "GetReservedNodeExchangeConfigurationOptions",
    "GetReservedNodeExchangeOfferings",
    "GetResourcePolicy",
    "ListRecommendations",
    "ModifyAquaConfiguration",
    "ModifyAuthenticationProfile",
    "ModifyCluster",
    "ModifyClusterDbRevision",
    "ModifyClusterIamRoles",
    "ModifyClusterMaintenance",
    "ModifyClusterParameterGroup",
    "ModifyClusterSnapshot",
    "ModifyClusterSnapshotSchedule",
    "ModifyClusterSubnetGroup",
    "ModifyCustomDomainAssociation",
    "ModifyEndpointAccess",
    "ModifyEventSubscription",
    "ModifyIntegration",
    "ModifyLakehouseConfiguration",
    "ModifyRedshiftIdcApplication",
    "ModifyScheduledAction",
    "ModifySnapshotCopyRetentionPeriod",
    "ModifySnapshotSchedule",
    "ModifyUsageLimit",
    "PauseCluster",
    "PurchaseReservedNodeOffering",
    "PutResourcePolicy",
    "RebootCluster",
    "RegisterNamespace",
    "RejectDataShare",
    "ResetClusterParameterGroup",
    "ResizeCluster",
    "RestoreFromClusterSnapshot",
    "RestoreTableFromClusterSnapshot",
    "ResumeCluster",
    "RevokeClusterSecurityGroupIngress",
    "RevokeEndpointAccess",
    "RevokeSnapshotAccess",
    "RotateEncryptionKey",
    "UpdatePartnerStatus",
];

/// Runs one Redshift action on decoded Query parameters and answers the XML document.
///
/// # Errors
/// The protocol or service error to answer with.
pub fn call(
    state: &AppState,
    ctx: &RequestContext,
    action: &str,
    params: &[(Cow<'_, str>, Cow<'_, str>)],
    commit: &mut Commit,
) -> Result<Vec<u8>, Failure> {
    let mut run = Runner {
        state,
        ctx,
        action,
        params,
        commit,
    };
    match action {
        "CreateCluster" => run.with_output(clusters::create),
        "DescribeClusters" => run.with_output(clusters::describe),
        "DeleteCluster" => run.with_output(clusters::delete),
        "GetClusterCredentials" => run.with_output(credentials::get),
        "GetClusterCredentialsWithIAM" => run.with_output(credentials::get_with_iam),
        "CreateTags" => run.without_output(tags::create),
        "DeleteTags" => run.without_output(tags::delete),
        "DescribeTags" => run.with_output(tags::describe),
        "CreateCustomDomainAssociation" => run.with_output(domains::create),
        "DeleteCustomDomainAssociation" => run.without_output(domains::delete),
        other => Err(unknown_or_unimplemented(other).into()),
    }
}

struct Runner<'a> {
    state: &'a AppState,
    ctx: &'a RequestContext,
    action: &'a str,
    params: &'a [(Cow<'a, str>, Cow<'a, str>)],
    commit: &'a mut Commit,
}

impl Runner<'_> {
    /// Decodes the input, runs the operation under the region's lock, and encodes the
    /// answer once the lock is released. Every operation checks all its input before it
    /// mutates, so a failed call changes nothing.
    fn run<I: DeserializeOwned, O>(
        &mut self,
        op: impl FnOnce(&mut Store, &Env<'_>, &I) -> Result<O, Error>,
    ) -> Result<O, Failure> {
        let input: I = query_de::from_params(self.params)?;
        let new_port = || {
            self.state
                .postgres
                .bin_dir()
                .and_then(|_| crate::engines::free_port().ok())
        };
        let env = Env {
            scope: &self.ctx.scope,
            now: self.state.clock().now(),
            access_key_id: self.ctx.access_key_id.as_deref(),
            settings: self.state.settings(),
            new_port: &new_port,
        };
        self.state
            .mutate(&self.ctx.scope, self.commit, |region| {
                op(&mut region.redshift, &env, &input)
            })
            .map_err(|e| Failure::Service(e.parts()))
    }

    fn with_output<I: DeserializeOwned, O: ToXml>(
        &mut self,
        op: impl FnOnce(&mut Store, &Env<'_>, &I) -> Result<O, Error>,
    ) -> Result<Vec<u8>, Failure> {
        let output = self.run(op)?;
        Ok(self.encode(Some(&output)))
    }

    fn without_output<I: DeserializeOwned>(
        &mut self,
        op: impl FnOnce(&mut Store, &Env<'_>, &I) -> Result<(), Error>,
    ) -> Result<Vec<u8>, Failure> {
        self.run(op)?;
        Ok(self.encode(None))
    }

    fn encode(&self, output: Option<&dyn ToXml>) -> Vec<u8> {
        query::encode_response(
            self.action,
            output,
            &self.ctx.request_id,
            query::REDSHIFT_NAMESPACE,
        )
    }
}

/// After a successful CreateCluster or DeleteCluster, starts or stops the cluster's
/// PostgreSQL server before the caller is answered.
pub async fn reconcile_after(state: &AppState, scope: &Scope, action: &str) {
    if action == "CreateCluster" || action == "DeleteCluster" {
        reconcile(state, scope).await;
    }
}

/// Brings the region's PostgreSQL servers in line with its clusters (at start-up too).
pub async fn reconcile(state: &AppState, scope: &Scope) {
    if state.postgres.bin_dir().is_none() {
        return;
    }
    state
        .postgres
        .reconcile(scope, || {
            state.read(scope, |region| {
                region
                    .redshift
                    .clusters
                    .values()
                    .filter(|c| c.deleting_since.is_none())
                    .map(|c| crate::engines::postgres::DesiredCluster {
                        identifier: c.identifier.clone(),
                        master_username: c.master_username.clone(),
                        db_name: c.db_name.clone(),
                        port: c.engine_port,
                    })
                    .collect()
            })
        })
        .await;
}

/// The error for an action name memshift does not serve.
#[must_use]
pub fn unknown_or_unimplemented(action: &str) -> ProtocolError {
    if OPERATIONS.contains(&action) {
        ProtocolError::NotImplemented {
            service: SERVICE_NAME,
            operation: action.to_owned(),
        }
    } else {
        ProtocolError::UnknownOperation(format!(
            "The action {action} is not valid for this web service."
        ))
    }
}
