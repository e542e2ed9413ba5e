//! Redshift over AWS Query: its actions, their typed inputs and outputs, and how each
//! runs against the service.
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

mod xml;

use std::borrow::Cow;

use super::{Api, Decode, QueryParams, RequestContext, not_served, operations, service_error};
use crate::engines::endpoints::Kind;
use crate::protocol::context::RequestId;
use crate::protocol::error::{Failure, ProtocolError};
use crate::protocol::query::{self, ToXml};
use crate::services::redshift::model::{
    ClusterCredentials, ClusterResult, ClustersMessage, CreateClusterMessage,
    CreateCustomDomainAssociationMessage, CreateTagsMessage, CustomDomainAssociation,
    CustomDomainAssociationsMessage, DeleteClusterMessage, DeleteCustomDomainAssociationMessage,
    DeleteTagsMessage, DescribeClustersMessage, DescribeCustomDomainAssociationsMessage,
    DescribeTagsMessage, GetClusterCredentialsMessage, GetClusterCredentialsWithIamMessage,
    TaggedResources,
};
use crate::services::redshift::{Env, Error, Server, clusters, credentials, domains, tags};
use crate::state::persist::Commit;

pub const SERVICE_NAME: &str = "Redshift";
/// The name requests are signed for (the service of the SigV4 credential scope).
pub const SIGNING_NAME: &str = "redshift";

/// What an output writes inside `<ActionResult>`: nothing for actions without output.
pub trait ActionResult: std::fmt::Debug {
    fn result(&self) -> Option<&dyn ToXml>;
}

impl ActionResult for () {
    fn result(&self) -> Option<&dyn ToXml> {
        None
    }
}

macro_rules! xml_results {
    ($($t:ty),*) => {
        $(impl ActionResult for $t {
            fn result(&self) -> Option<&dyn ToXml> {
                Some(self)
            }
        })*
    };
}
xml_results!(
    ClusterResult,
    ClustersMessage,
    ClusterCredentials,
    TaggedResources,
    CustomDomainAssociation,
    CustomDomainAssociationsMessage
);

operations! {
    answer: ActionResult;
    CreateCluster(CreateClusterMessage) -> ClusterResult;
    DescribeClusters(DescribeClustersMessage) -> ClustersMessage;
    DeleteCluster(DeleteClusterMessage) -> ClusterResult;
    GetClusterCredentials(GetClusterCredentialsMessage) -> ClusterCredentials;
    GetClusterCredentialsWithIAM(GetClusterCredentialsWithIamMessage) -> ClusterCredentials;
    CreateTags(CreateTagsMessage) -> ();
    DeleteTags(DeleteTagsMessage) -> ();
    DescribeTags(DescribeTagsMessage) -> TaggedResources;
    CreateCustomDomainAssociation(CreateCustomDomainAssociationMessage) -> CustomDomainAssociation;
    DescribeCustomDomainAssociations(DescribeCustomDomainAssociationsMessage) -> CustomDomainAssociationsMessage;
    DeleteCustomDomainAssociation(DeleteCustomDomainAssociationMessage) -> ();
}

impl Operation {
    /// CreateCluster and DeleteCluster start and stop a cluster's PostgreSQL server; a
    /// custom domain name associated or removed changes the names its endpoint's
    /// certificate carries.
    #[must_use]
    pub fn changes_engines(self) -> bool {
        matches!(
            self,
            Operation::CreateCluster
                | Operation::DeleteCluster
                | Operation::CreateCustomDomainAssociation
                | Operation::DeleteCustomDomainAssociation
        )
    }
}

/// Every action of the Redshift model (`redshift/2012-12-01`).
pub const MODEL_OPERATIONS: &[&str] = &[
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

/// The operation an action names, or the error for one memshift does not serve.
///
/// # Errors
/// `NotImplemented` for the model's other actions, `InvalidAction` for the rest.
pub fn operation(action: &str) -> Result<Operation, ProtocolError> {
    Operation::from_name(action).ok_or_else(|| {
        not_served(SERVICE_NAME, MODEL_OPERATIONS, action, || {
            format!("The action {action} is not valid for this web service.")
        })
    })
}

/// Reads the input of an action.
///
/// # Errors
/// An action memshift does not serve, or input the action cannot read.
pub fn decode(action: &str, source: impl Decode) -> Result<Input, ProtocolError> {
    operation(action)?.decode(source)
}

/// Runs `run` with what a Redshift or Redshift Serverless operation knows besides its
/// input: where, when, who, the settings, and new endpoint ports.
pub(crate) fn with_env<T>(api: &Api, ctx: &RequestContext, run: impl FnOnce(&Env<'_>) -> T) -> T {
    let new_ports = |count| api.engines.new_ports(Kind::Postgres, &ctx.scope, count);
    let port_of = |server: Server<'_>| match server {
        Server::Cluster(id) => api.engines.postgres.port(&ctx.scope, id),
        Server::Namespace(name) => api
            .engines
            .postgres
            .port(&ctx.scope, &super::engines::namespace_engine_id(name)),
    };
    run(&Env {
        scope: &ctx.scope,
        now: api.state.clock().now(),
        access_key_id: ctx.access_key_id.as_deref(),
        settings: &api.settings,
        new_ports: &new_ports,
        port_of: &port_of,
        recovering: &|server: Server<'_>| match server {
            Server::Cluster(id) => api.engines.postgres.recovering(&ctx.scope, id),
            Server::Namespace(_) => false,
        },
    })
}

/// Runs an input under its region's lock. Every operation checks all its input before it
/// mutates, so a failed call changes nothing.
///
/// # Errors
/// The service's modelled error.
pub fn execute(
    api: &Api,
    ctx: &RequestContext,
    input: Input,
    commit: &mut Commit,
) -> Result<Output, Failure> {
    with_env(api, ctx, |env| {
        api.state.mutate(&ctx.scope, commit, |region| {
            let s = &mut region.redshift;
            Ok(match input {
                Input::CreateCluster(i) => Output::CreateCluster(clusters::create(s, env, &i)?),
                Input::DescribeClusters(i) => {
                    Output::DescribeClusters(clusters::describe(s, env, &i)?)
                }
                Input::DeleteCluster(i) => Output::DeleteCluster(clusters::delete(s, env, &i)?),
                Input::GetClusterCredentials(i) => {
                    Output::GetClusterCredentials(credentials::get(s, env, i)?)
                }
                Input::GetClusterCredentialsWithIAM(i) => {
                    Output::GetClusterCredentialsWithIAM(credentials::get_with_iam(s, env, &i)?)
                }
                Input::CreateTags(i) => Output::CreateTags(tags::create(s, env, &i)?),
                Input::DeleteTags(i) => Output::DeleteTags(tags::delete(s, env, &i)?),
                Input::DescribeTags(i) => Output::DescribeTags(tags::describe(s, env, &i)?),
                Input::CreateCustomDomainAssociation(i) => {
                    Output::CreateCustomDomainAssociation(domains::create(s, env, &i)?)
                }
                Input::DescribeCustomDomainAssociations(i) => {
                    Output::DescribeCustomDomainAssociations(domains::describe(s, env, &i)?)
                }
                Input::DeleteCustomDomainAssociation(i) => {
                    Output::DeleteCustomDomainAssociation(domains::delete(s, env, &i)?)
                }
            })
        })
    })
    .map_err(|e: Error| service_error(e.code(), e.status(), e.to_string()))
}

struct XmlEncoder<'a>(&'a str);

impl Encoder for XmlEncoder<'_> {
    type Encoded = Vec<u8>;
    fn encode<T: ActionResult>(self, operation: Operation, output: &T) -> Vec<u8> {
        query::encode_response(
            operation.name(),
            output.result(),
            self.0,
            query::REDSHIFT_NAMESPACE,
        )
    }
}

/// The XML document of an output: `<ActionResponse><ActionResult>..` and its request id.
#[must_use]
pub fn encode(output: &Output, request_id: &RequestId) -> Vec<u8> {
    output.encode_with(XmlEncoder(request_id))
}

/// Runs one action on decoded Query parameters and answers its XML document, without
/// waiting for the log or the engines (for checks of the codec and the service alone).
///
/// # Errors
/// The protocol or service error to answer with.
pub fn call(
    api: &Api,
    ctx: &RequestContext,
    action: &str,
    params: &[(Cow<'_, str>, Cow<'_, str>)],
    commit: &mut Commit,
) -> Result<Vec<u8>, Failure> {
    let input = decode(action, QueryParams(params))?;
    execute(api, ctx, input, commit).map(|output| encode(&output, &ctx.request_id))
}
