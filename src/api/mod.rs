//! The API layer: the only place where the wire and the domain meet.
//!
//! Per service it names the operations (an enum: each operation's name, and whether it
//! changes what the engines must run), decodes a request into a typed input, runs the
//! input against the service under its region's lock, and encodes the typed output or
//! error in the service's protocol. Requests, the init file and the admin endpoints all
//! enter here, through [`Api::run`]:
//!
//! ```text
//! decode (wire -> Call) -> execute under the region's lock -> encode (Output -> bytes)
//!                       -> wait for the log -> reconcile the engines the call changed
//! ```

pub mod context;
pub mod data;
pub mod engines;
pub mod init;
pub mod memorydb;
pub mod redshift;
pub mod serverless;
pub mod tokens;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::engines::Engines;
use crate::engines::endpoints::Endpoints;
use crate::protocol::error::{ErrorParts, Failure, ProtocolError};
use crate::protocol::{Detected, Protocol, json, query, query_de};
use crate::services::{AppState, ServiceSettings};
use crate::state::Scope;
use crate::state::persist::{Commit, Recovery};
use crate::tls::Authority;
pub use context::RequestContext;

/// Declares a service's operations: the `Operation` enum, the typed `Input` and
/// `Output` of each, and the decoding of an input from any [`Decode`] source.
/// `$answer` is the bound every output meets for its encoder.
macro_rules! operations {
    (answer: $answer:path; $( $op:ident($input:ty) -> $output:ty; )*) => {
        /// The operations memshift serves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Operation {
            $( $op, )*
        }

        impl Operation {
            /// The operation of that name, if memshift serves it.
            #[must_use]
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( stringify!($op) => Some(Operation::$op), )*
                    _ => None,
                }
            }

            /// The operation's name in the model.
            #[must_use]
            pub fn name(self) -> &'static str {
                match self {
                    $( Operation::$op => stringify!($op), )*
                }
            }

            /// Reads the operation's input.
            ///
            /// # Errors
            /// What the source's codec reports.
            pub fn decode(self, source: impl $crate::api::Decode) -> Result<Input, ProtocolError> {
                Ok(match self {
                    $( Operation::$op => Input::$op(source.decode::<$input>()?), )*
                })
            }
        }

        /// A typed input.
        #[derive(Debug)]
        pub enum Input {
            $( $op($input), )*
        }

        impl Input {
            #[must_use]
            pub fn operation(&self) -> Operation {
                match self {
                    $( Input::$op(_) => Operation::$op, )*
                }
            }
        }

        /// A typed output.
        #[derive(Debug)]
        pub enum Output {
            $( $op($output), )*
        }

        /// Something that encodes any output.
        pub trait Encoder {
            type Encoded;
            fn encode<T: $answer>(self, operation: Operation, output: &T) -> Self::Encoded;
        }

        impl Output {
            /// Hands the output, with its operation, to an encoder.
            pub fn encode_with<E: Encoder>(&self, encoder: E) -> E::Encoded {
                match self {
                    $( Output::$op(o) => encoder.encode(Operation::$op, o), )*
                }
            }
        }
    };
}
pub(crate) use operations;

/// `encode`, the AWS JSON 1.1 body of an output, for a service whose outputs all
/// serialize (after its [`operations!`]).
macro_rules! json_encoding {
    () => {
        struct JsonEncoder;

        impl Encoder for JsonEncoder {
            type Encoded = Vec<u8>;
            fn encode<T: serde::Serialize>(self, _: Operation, output: &T) -> Vec<u8> {
                $crate::protocol::json::encode(output)
            }
        }

        /// The JSON body of an output.
        #[must_use]
        pub fn encode(output: &Output) -> Vec<u8> {
            output.encode_with(JsonEncoder)
        }
    };
}
pub(crate) use json_encoding;

/// A source of typed inputs: a request's body in one protocol, or an init file's JSON.
pub trait Decode {
    /// # Errors
    /// The protocol error for input the codec cannot read.
    fn decode<T: DeserializeOwned>(self) -> Result<T, ProtocolError>;
}

/// An AWS JSON 1.1 body.
pub struct JsonBody<'a>(pub &'a [u8]);

impl Decode for JsonBody<'_> {
    fn decode<T: DeserializeOwned>(self) -> Result<T, ProtocolError> {
        json::decode(self.0)
    }
}

/// Decoded AWS Query parameters.
pub struct QueryParams<'a, 'b>(pub &'a [(Cow<'b, str>, Cow<'b, str>)]);

impl Decode for QueryParams<'_, '_> {
    fn decode<T: DeserializeOwned>(self) -> Result<T, ProtocolError> {
        query_de::from_params(self.0)
    }
}

/// A parsed JSON document with the model's member names (the init file's inputs).
pub struct JsonValue(pub serde_json::Value);

impl Decode for JsonValue {
    fn decode<T: DeserializeOwned>(self) -> Result<T, ProtocolError> {
        json::decode_value(self.0)
    }
}

/// One typed call to a service.
#[derive(Debug)]
pub enum Call {
    Memorydb(memorydb::Input),
    Redshift(redshift::Input),
    Serverless(serverless::Input),
    Data(data::Input),
}

/// The service a call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Memorydb,
    Redshift,
    Serverless,
    Data,
}

impl Service {
    /// The name logs and init files use.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Service::Memorydb => memorydb::SERVICE_NAME,
            Service::Redshift => redshift::SERVICE_NAME,
            Service::Serverless => serverless::SERVICE_NAME,
            Service::Data => data::SERVICE_NAME,
        }
    }

    #[must_use]
    pub fn protocol(self) -> Protocol {
        match self {
            Service::Memorydb | Service::Serverless | Service::Data => Protocol::Json,
            Service::Redshift => Protocol::Query,
        }
    }
}

impl Call {
    #[must_use]
    pub fn service(&self) -> Service {
        match self {
            Call::Memorydb(_) => Service::Memorydb,
            Call::Redshift(_) => Service::Redshift,
            Call::Serverless(_) => Service::Serverless,
            Call::Data(_) => Service::Data,
        }
    }

    /// The operation's name in its model.
    #[must_use]
    pub fn operation_name(&self) -> &'static str {
        match self {
            Call::Memorydb(i) => i.operation().name(),
            Call::Redshift(i) => i.operation().name(),
            Call::Serverless(i) => i.operation().name(),
            Call::Data(i) => i.operation().name(),
        }
    }

    /// Whether the engines must follow the change the call made.
    #[must_use]
    pub fn changes_engines(&self) -> bool {
        match self {
            Call::Memorydb(i) => i.operation().changes_engines(),
            Call::Redshift(i) => i.operation().changes_engines(),
            Call::Serverless(i) => i.operation().changes_engines(),
            Call::Data(i) => i.operation().changes_engines(),
        }
    }
}

/// A request's service and operation, read from the wire: the decoded call, or the
/// failure to answer in the protocol given.
pub struct Decoded {
    pub service: Option<Service>,
    pub operation: Cow<'static, str>,
    pub protocol: Protocol,
    pub call: Result<Call, Failure>,
}

/// Reads the call a request makes.
#[must_use]
pub fn decode(detected: Detected<'_>, body: &[u8]) -> Decoded {
    match detected {
        Detected::Json { target } => {
            let (service, call) = match json::split_target(target) {
                Some((serverless::TARGET_PREFIX, name)) => {
                    (Service::Serverless, serverless::decode_body(name, body))
                }
                Some((data::TARGET_PREFIX, name)) => (Service::Data, data::decode_body(name, body)),
                _ => (
                    Service::Memorydb,
                    memorydb::decode_target(target, body).map_err(Failure::from),
                ),
            };
            // The log names the operation even when it is one memshift does not serve.
            let named = match &call {
                Ok(call) => Some(Cow::Borrowed(call.operation_name())),
                Err(_) => json::split_target(target)
                    .filter(|(prefix, _)| {
                        [
                            memorydb::TARGET_PREFIX,
                            serverless::TARGET_PREFIX,
                            data::TARGET_PREFIX,
                        ]
                        .contains(prefix)
                    })
                    .map(|(_, operation)| Cow::Owned(operation.to_owned())),
            };
            Decoded {
                service: named.as_ref().map(|_| service),
                operation: named.unwrap_or(Cow::Borrowed("-")),
                protocol: Protocol::Json,
                call,
            }
        }
        Detected::Query { params } => {
            let action = query::param(&params, "Action").unwrap_or_default();
            let call = redshift::decode(action, QueryParams(&params));
            Decoded {
                service: Some(Service::Redshift),
                operation: match &call {
                    Ok(input) => Cow::Borrowed(input.operation().name()),
                    Err(_) => Cow::Owned(action.to_owned()),
                },
                protocol: Protocol::Query,
                call: call.map(Call::Redshift).map_err(Failure::from),
            }
        }
        Detected::Unrecognized(protocol) => Decoded {
            service: None,
            operation: Cow::Borrowed("-"),
            protocol,
            call: Err(ProtocolError::Unrecognized.into()),
        },
        Detected::Malformed(error) => Decoded {
            service: None,
            operation: Cow::Borrowed("-"),
            protocol: Protocol::Query,
            call: Err(error.into()),
        },
    }
}

/// The error for an operation name memshift does not serve: `NotImplemented` for another
/// operation of the service's model, else `unknown`'s message.
fn not_served(
    service: &'static str,
    model_operations: &[&str],
    name: &str,
    unknown: impl FnOnce() -> String,
) -> ProtocolError {
    if model_operations.contains(&name) {
        ProtocolError::NotImplemented {
            service,
            operation: name.to_owned(),
        }
    } else {
        ProtocolError::UnknownOperation(unknown())
    }
}

/// Input the codec cannot take (a required member missing, a value it refuses) as the
/// `ValidationException` the newer JSON services answer it with; a body that is not
/// JSON stays a `SerializationException`.
fn input_invalid_as_validation(e: ProtocolError) -> Failure {
    match e {
        ProtocolError::MissingParameter(_) | ProtocolError::InvalidParameterValue(_) => {
            service_error(
                "ValidationException",
                axum::http::StatusCode::BAD_REQUEST,
                e.to_string(),
            )
        }
        other => Failure::from(other),
    }
}

/// A service's modelled error in the shape the encoders take.
fn service_error(code: &'static str, status: axum::http::StatusCode, message: String) -> Failure {
    Failure::Service(ErrorParts::new(code, status, message))
}

/// The services, their state and their engines.
#[derive(Debug)]
pub struct Api {
    pub state: Arc<AppState>,
    pub settings: ServiceSettings,
    pub engines: Engines,
    /// The Data API's statements and sessions.
    pub data: Arc<data::Runtime>,
}

/// The CA of the endpoints: the one the settings name, or the one kept in the data
/// directory (made there at its first use), or one made at its first use for this run.
fn authority(settings: &ServiceSettings, dir: Option<&Path>) -> Result<Arc<Authority>, String> {
    let ca = match (&settings.tls_ca, dir) {
        (Some(files), _) => Authority::from_files(files)?,
        (None, Some(dir)) => Authority::kept_in(dir)?,
        (None, None) => Authority::at_first_use(),
    };
    Ok(Arc::new(ca))
}

/// Where the endpoints listen, the host they are reported at, and their ports.
fn endpoints(settings: &ServiceSettings) -> Arc<Endpoints> {
    Arc::new(Endpoints::new(
        settings.endpoint_host.clone(),
        settings.endpoint_address,
        settings.endpoint_ports.clone(),
    ))
}

impl Api {
    /// Services whose state lives in memory only, with the engines the settings name.
    ///
    /// # Errors
    /// The CA the settings name cannot be read.
    pub fn new(defaults: Scope, settings: ServiceSettings) -> Result<Self, String> {
        let engines = Engines::new(
            settings.redis_server.as_deref(),
            settings.postgres_bin_dir.as_deref(),
            None,
            authority(&settings, None)?,
            endpoints(&settings),
        )
        .with_servers_ahead(settings.servers_ahead);
        Ok(Self::assemble(
            Arc::new(AppState::new(defaults)),
            settings,
            engines,
        ))
    }

    /// Services whose state is kept in a data directory, recovered from it now.
    ///
    /// # Errors
    /// A message naming what in the directory could not be read or written.
    pub fn durable(
        defaults: Scope,
        settings: ServiceSettings,
        dir: &Path,
    ) -> Result<(Self, Recovery), String> {
        let (state, recovery) = AppState::durable(defaults, dir)?;
        let ca = authority(&settings, Some(dir))?;
        let engines = Engines::new(
            settings.redis_server.as_deref(),
            settings.postgres_bin_dir.as_deref(),
            Some(dir),
            ca,
            endpoints(&settings),
        )
        .with_servers_ahead(settings.servers_ahead);
        Ok((Self::assemble(Arc::new(state), settings, engines), recovery))
    }

    fn assemble(state: Arc<AppState>, settings: ServiceSettings, engines: Engines) -> Self {
        engines
            .postgres
            .set_logins(Arc::new(engines::Logins::new(Arc::clone(&state))));
        Api {
            state,
            settings,
            engines,
            data: Arc::default(),
        }
    }

    /// Runs a call: executes it under its region's lock and encodes its output at once;
    /// then waits until its records are on disk, and brings the engines in line with what
    /// it changed, before it is answered. Answers the output's bytes in the service's
    /// protocol.
    ///
    /// # Errors
    /// The service's modelled error, or a failure to make the change durable.
    pub async fn run(&self, ctx: &RequestContext, call: Call) -> Result<Vec<u8>, Failure> {
        let mut commit = Commit::default();
        let (service, changes_engines) = (call.service(), call.changes_engines());
        let bytes = match call {
            // Statements run against the engines and answer from their own records.
            Call::Data(input) => return Box::pin(data::run(self, ctx, input)).await,
            Call::Memorydb(input) => {
                let failover = memorydb::failover_of(&input);
                let bytes = memorydb::encode(&memorydb::execute(self, ctx, input, &mut commit)?);
                if let Some((cluster, shard)) = failover {
                    self.settle(ctx, commit, service, changes_engines).await?;
                    // Boxed: a failover's future is large, and every call's future
                    // would carry its room.
                    Box::pin(memorydb::fail_over(self, &ctx.scope, &cluster, shard)).await?;
                    return Ok(bytes);
                }
                bytes
            }
            Call::Redshift(input) => redshift::encode(
                &redshift::execute(self, ctx, input, &mut commit)?,
                &ctx.request_id,
            ),
            Call::Serverless(input) => {
                serverless::encode(&serverless::execute(self, ctx, input, &mut commit)?)
            }
        };
        self.settle(ctx, commit, service, changes_engines).await?;
        Ok(bytes)
    }

    /// After a call succeeded: waits until its records are on disk, then reconciles the
    /// engines when the call changed what they run.
    async fn settle(
        &self,
        ctx: &RequestContext,
        commit: Commit,
        service: Service,
        changes_engines: bool,
    ) -> Result<(), Failure> {
        // Acknowledge a mutation only once its records are on disk.
        commit.wait().await.map_err(|e| {
            Failure::from(ProtocolError::Internal(format!(
                "the change could not be made durable: {e}"
            )))
        })?;
        if changes_engines {
            // Boxed: the engines' futures are large, and most calls never reach them.
            Box::pin(engines::reconcile(self, &ctx.scope, service)).await;
        }
        Ok(())
    }

    /// Every account and region back to the built-in state, its engines stopped and its
    /// databases removed; then the init file's calls again.
    ///
    /// # Errors
    /// The reset could not be logged, or an init call failed.
    pub async fn reset(&self, init_file: Option<&Path>) -> Result<(), String> {
        self.data.clear();
        let result = match self.state.reset().await {
            Ok(()) => {
                // The clusters are gone, and so are their servers and databases.
                self.engines.reset().await;
                match init_file {
                    Some(path) => match init::load(path) {
                        Ok(calls) => init::apply(self, &calls).await,
                        Err(e) => Err(e),
                    },
                    None => Ok(()),
                }
            }
            Err(e) => Err(e),
        };
        engines::reconcile_all(self).await;
        result
    }
}
