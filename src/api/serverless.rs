//! Redshift Serverless over AWS JSON 1.1: its operations, their typed inputs and outputs,
//! and how each runs against the service.
//!
//! ```text
//! X-Amz-Target: RedshiftServerless.GetCredentials
//! {"workgroupName":"analytics","dbName":"dev"}
//! -> {"dbUser":"IAMR:etl","dbPassword":"...","expiration":1764493200.0,"nextRefreshTime":1764493200.0}
//! ```
//!
//! Every operation of the model is recognised; those memshift does not emulate answer a
//! `NotImplemented` error naming the operation. Input the codec cannot take (a required
//! member missing, a member of the wrong type) is the service's `ValidationException`.

use serde::Serialize;

use super::{
    Api, Call, JsonBody, RequestContext, json_encoding, not_served, operations, service_error,
};
use crate::protocol::error::{Failure, ProtocolError};
use crate::services::serverless::model::{
    Association, CreateNamespaceRequest, CreateWorkgroupRequest, CustomDomainAssociationRequest,
    CustomDomainRequest, DeleteNamespaceRequest, DeleteWorkgroupRequest, Empty,
    GetCredentialsRequest, GetCredentialsResponse, GetNamespaceRequest, GetWorkgroupRequest,
    ListCustomDomainAssociationsRequest, ListCustomDomainAssociationsResponse,
    ListNamespacesRequest, ListNamespacesResponse, ListTagsForResourceRequest,
    ListWorkgroupsRequest, ListWorkgroupsResponse, NamespaceResponse, TagResourceRequest,
    TagsResponse, UntagResourceRequest, UpdateNamespaceRequest, UpdateWorkgroupRequest,
    WorkgroupResponse,
};
use crate::services::serverless::{Error, credentials, domains, namespaces, tags, workgroups};
use crate::state::persist::Commit;

/// The `X-Amz-Target` prefix of Redshift Serverless.
pub const TARGET_PREFIX: &str = "RedshiftServerless";
pub const SERVICE_NAME: &str = "RedshiftServerless";
/// The name requests are signed for (the service of the SigV4 credential scope).
pub const SIGNING_NAME: &str = "redshift-serverless";

operations! {
    answer: Serialize;
    CreateNamespace(CreateNamespaceRequest) -> NamespaceResponse;
    GetNamespace(GetNamespaceRequest) -> NamespaceResponse;
    ListNamespaces(ListNamespacesRequest) -> ListNamespacesResponse;
    UpdateNamespace(UpdateNamespaceRequest) -> NamespaceResponse;
    DeleteNamespace(DeleteNamespaceRequest) -> NamespaceResponse;
    CreateWorkgroup(CreateWorkgroupRequest) -> WorkgroupResponse;
    GetWorkgroup(GetWorkgroupRequest) -> WorkgroupResponse;
    ListWorkgroups(ListWorkgroupsRequest) -> ListWorkgroupsResponse;
    UpdateWorkgroup(UpdateWorkgroupRequest) -> WorkgroupResponse;
    DeleteWorkgroup(DeleteWorkgroupRequest) -> WorkgroupResponse;
    GetCredentials(GetCredentialsRequest) -> GetCredentialsResponse;
    CreateCustomDomainAssociation(CustomDomainAssociationRequest) -> Association;
    GetCustomDomainAssociation(CustomDomainRequest) -> Association;
    ListCustomDomainAssociations(ListCustomDomainAssociationsRequest) -> ListCustomDomainAssociationsResponse;
    UpdateCustomDomainAssociation(CustomDomainAssociationRequest) -> Association;
    DeleteCustomDomainAssociation(CustomDomainRequest) -> Empty;
    TagResource(TagResourceRequest) -> Empty;
    UntagResource(UntagResourceRequest) -> Empty;
    ListTagsForResource(ListTagsForResourceRequest) -> TagsResponse;
}

impl Operation {
    /// Operations that start or stop a namespace's server, remove its data, or change the
    /// names its endpoint's certificate carries; and UpdateNamespace, which may name a
    /// new admin user.
    #[must_use]
    pub fn changes_engines(self) -> bool {
        matches!(
            self,
            Operation::UpdateNamespace
                | Operation::DeleteNamespace
                | Operation::CreateWorkgroup
                | Operation::DeleteWorkgroup
                | Operation::CreateCustomDomainAssociation
                | Operation::DeleteCustomDomainAssociation
        )
    }
}

/// Every operation of the Redshift Serverless model (`redshift-serverless/2021-04-21`).
pub const MODEL_OPERATIONS: &[&str] = &[
    "ConvertRecoveryPointToSnapshot",
    "CreateCustomDomainAssociation",
    "CreateEndpointAccess",
    "CreateNamespace",
    "CreateReservation",
    "CreateScheduledAction",
    "CreateSnapshot",
    "CreateSnapshotCopyConfiguration",
    "CreateUsageLimit",
    "CreateWorkgroup",
    "DeleteCustomDomainAssociation",
    "DeleteEndpointAccess",
    "DeleteNamespace",
    "DeleteResourcePolicy",
    "DeleteScheduledAction",
    "DeleteSnapshot",
    "DeleteSnapshotCopyConfiguration",
    "DeleteUsageLimit",
    "DeleteWorkgroup",
    "GetCredentials",
    "GetCustomDomainAssociation",
    "GetEndpointAccess",
    "GetIdentityCenterAuthToken",
    "GetNamespace",
    "GetRecoveryPoint",
    "GetReservation",
    "GetReservationOffering",
    "GetResourcePolicy",
    "GetScheduledAction",
    "GetSnapshot",
    "GetTableRestoreStatus",
    "GetTrack",
    "GetUsageLimit",
    "GetWorkgroup",
    "ListCustomDomainAssociations",
    "ListEndpointAccess",
    "ListManagedWorkgroups",
    "ListNamespaces",
    "ListRecoveryPoints",
    "ListReservationOfferings",
    "ListReservations",
    "ListScheduledActions",
    "ListSnapshotCopyConfigurations",
    "ListSnapshots",
    "ListTableRestoreStatus",
    "ListTagsForResource",
    "ListTracks",
    "ListUsageLimits",
    "ListWorkgroups",
    "PutResourcePolicy",
    "RestoreFromRecoveryPoint",
    "RestoreFromSnapshot",
    "RestoreTableFromRecoveryPoint",
    "RestoreTableFromSnapshot",
    "TagResource",
    "UntagResource",
    "UpdateCustomDomainAssociation",
    "UpdateEndpointAccess",
    "UpdateLakehouseConfiguration",
    "UpdateNamespace",
    "UpdateScheduledAction",
    "UpdateSnapshot",
    "UpdateSnapshotCopyConfiguration",
    "UpdateUsageLimit",
    "UpdateWorkgroup",
];

/// The operation a name calls for, or the error for a name memshift does not serve.
///
/// # Errors
/// `NotImplemented` for the model's other operations, `UnknownOperation` for the rest.
pub fn operation(name: &str) -> Result<Operation, ProtocolError> {
    Operation::from_name(name).ok_or_else(|| {
        not_served(SERVICE_NAME, MODEL_OPERATIONS, name, || {
            format!("Operation {name} is not an operation of {SERVICE_NAME}.")
        })
    })
}

/// Reads an input from any source. A required member that is absent, or a value the
/// codec cannot take, is the service's `ValidationException`, as Redshift Serverless
/// answers it; a body that is not JSON stays a `SerializationException`.
///
/// # Errors
/// The failure to answer with.
pub fn decode(operation: Operation, source: impl super::Decode) -> Result<Input, Failure> {
    operation
        .decode(source)
        .map_err(super::input_invalid_as_validation)
}

/// Reads the call of an operation name and its JSON body.
///
/// # Errors
/// An operation memshift does not serve, or a body the operation cannot read.
pub fn decode_body(name: &str, body: &[u8]) -> Result<Call, Failure> {
    decode(operation(name)?, JsonBody(body)).map(Call::Serverless)
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
    super::redshift::with_env(api, ctx, |env| {
        api.state.mutate(&ctx.scope, commit, |region| {
            let s = &mut region.serverless;
            Ok(match input {
                Input::CreateNamespace(i) => {
                    Output::CreateNamespace(namespaces::create(s, env, &i)?)
                }
                Input::GetNamespace(i) => Output::GetNamespace(namespaces::get(s, env, &i)?),
                Input::ListNamespaces(i) => Output::ListNamespaces(namespaces::list(s, env, &i)?),
                Input::UpdateNamespace(i) => {
                    Output::UpdateNamespace(namespaces::update(s, env, &i)?)
                }
                Input::DeleteNamespace(i) => {
                    Output::DeleteNamespace(namespaces::delete(s, env, &i)?)
                }
                Input::CreateWorkgroup(i) => {
                    Output::CreateWorkgroup(workgroups::create(s, env, &i)?)
                }
                Input::GetWorkgroup(i) => Output::GetWorkgroup(workgroups::get(s, env, &i)?),
                Input::ListWorkgroups(i) => Output::ListWorkgroups(workgroups::list(s, env, &i)?),
                Input::UpdateWorkgroup(i) => {
                    Output::UpdateWorkgroup(workgroups::update(s, env, &i)?)
                }
                Input::DeleteWorkgroup(i) => {
                    Output::DeleteWorkgroup(workgroups::delete(s, env, &i)?)
                }
                Input::GetCredentials(i) => Output::GetCredentials(credentials::get(s, env, &i)?),
                Input::CreateCustomDomainAssociation(i) => {
                    Output::CreateCustomDomainAssociation(domains::create(s, env, &i)?)
                }
                Input::GetCustomDomainAssociation(i) => {
                    Output::GetCustomDomainAssociation(domains::get(s, env, &i)?)
                }
                Input::ListCustomDomainAssociations(i) => {
                    Output::ListCustomDomainAssociations(domains::list(s, env, &i)?)
                }
                Input::UpdateCustomDomainAssociation(i) => {
                    Output::UpdateCustomDomainAssociation(domains::update(s, env, &i)?)
                }
                Input::DeleteCustomDomainAssociation(i) => {
                    Output::DeleteCustomDomainAssociation(domains::delete(s, env, &i)?)
                }
                Input::TagResource(i) => Output::TagResource(tags::tag(s, env, &i)?),
                Input::UntagResource(i) => Output::UntagResource(tags::untag(s, env, &i)?),
                Input::ListTagsForResource(i) => {
                    Output::ListTagsForResource(tags::list(s, env, &i)?)
                }
            })
        })
    })
    .map_err(|e: Error| service_error(e.code(), e.status(), e.to_string()))
}

json_encoding!();
