//! The Redshift Data API over AWS JSON 1.1: statements run asynchronously on a cluster's or
//! a workgroup's real PostgreSQL, as the temporary user the caller's credentials give.
//!
//! ```text
//! X-Amz-Target: RedshiftData.ExecuteStatement
//! {"ClusterIdentifier":"wh","Database":"dev","DbUser":"alice","Sql":"select :n + 1","Parameters":[{"name":"n","value":"41"}]}
//! -> {"Id":"...","CreatedAt":1764493200.123,"ClusterIdentifier":"wh","Database":"dev","DbUser":"alice"}
//! ```
//!
//! A call checks its input, issues the temporary credential as GetClusterCredentials
//! (`DbUser`), GetClusterCredentialsWithIAM (no `DbUser`) or Serverless GetCredentials
//! (`WorkgroupName`) would, records the statement `SUBMITTED` and answers; a task then
//! logs in to the endpoint as that user and runs the SQL (`PICKED`, `STARTED`, then
//! `FINISHED`, `FAILED` or `ABORTED`). Parameters are bound as values. The metadata
//! operations run their catalog queries the same way before they answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    Api, Call, JsonBody, RequestContext, json_encoding, not_served, operations, service_error,
};
use crate::engines::pgclient::{self, CancelKey, DbError, Outcome, Session, Target};
use crate::protocol::error::{Failure, ProtocolError};
use crate::services::AppState;
use crate::services::data::model::{
    BatchExecuteStatementInput, CancelStatementOutput, ColumnMetadata, Connection,
    DescribeStatementOutput, DescribeTableOutput, ExecuteStatementInput, ExecuteStatementOutput,
    GetStatementResultOutput, GetStatementResultV2Output, ListDatabasesOutput, ListSchemasOutput,
    ListStatementsInput, ListStatementsOutput, ListTablesOutput, MetadataInput, RunOptions,
    SqlParameter, StatementIdInput, StatementResultInput, TableMember,
};
use crate::services::data::statements::{self, Part, ResultSet, Statement, Statements, Status};
use crate::services::data::{Error, params, types};
use crate::services::redshift::model::{
    GetClusterCredentialsMessage, GetClusterCredentialsWithIamMessage,
};
use crate::services::redshift::{self, Server};
use crate::services::serverless;
use crate::services::serverless::model::GetCredentialsRequest;
use crate::state::Scope;
use crate::state::persist::Commit;

/// The `X-Amz-Target` prefix of the Data API.
pub const TARGET_PREFIX: &str = "RedshiftData";
pub const SERVICE_NAME: &str = "RedshiftData";
/// The name requests are signed for (the service of the SigV4 credential scope).
pub const SIGNING_NAME: &str = "redshift-data";

/// How long a login to an endpoint may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the temporary credential of a statement lives: it only has to log in.
const CREDENTIAL_SECONDS: i32 = 900;
/// Most SQL statements in one BatchExecuteStatement.
const MAX_BATCH: usize = 40;
/// Most rows of a metadata page.
const METADATA_PAGE: usize = 1000;

operations! {
    answer: Serialize;
    ExecuteStatement(ExecuteStatementInput) -> ExecuteStatementOutput;
    BatchExecuteStatement(BatchExecuteStatementInput) -> ExecuteStatementOutput;
    DescribeStatement(StatementIdInput) -> DescribeStatementOutput;
    GetStatementResult(StatementResultInput) -> GetStatementResultOutput;
    GetStatementResultV2(StatementResultInput) -> GetStatementResultV2Output;
    CancelStatement(StatementIdInput) -> CancelStatementOutput;
    ListStatements(ListStatementsInput) -> ListStatementsOutput;
    ListDatabases(MetadataInput) -> ListDatabasesOutput;
    ListSchemas(MetadataInput) -> ListSchemasOutput;
    ListTables(MetadataInput) -> ListTablesOutput;
    DescribeTable(MetadataInput) -> DescribeTableOutput;
}

impl Operation {
    /// No Data API call changes what the engines run.
    #[must_use]
    pub fn changes_engines(self) -> bool {
        false
    }
}

/// Every operation of the Data API model (`redshift-data/2019-12-20`): all served.
pub const MODEL_OPERATIONS: &[&str] = &[
    "BatchExecuteStatement",
    "CancelStatement",
    "DescribeStatement",
    "DescribeTable",
    "ExecuteStatement",
    "GetStatementResult",
    "GetStatementResultV2",
    "ListDatabases",
    "ListSchemas",
    "ListStatements",
    "ListTables",
];

/// The operation a name calls for.
///
/// # Errors
/// `UnknownOperation` for a name the model does not have.
pub fn operation(name: &str) -> Result<Operation, ProtocolError> {
    Operation::from_name(name).ok_or_else(|| {
        not_served(SERVICE_NAME, MODEL_OPERATIONS, name, || {
            format!("Operation {name} is not an operation of {SERVICE_NAME}.")
        })
    })
}

fn failure(e: &Error) -> Failure {
    service_error(e.code(), e.status(), e.to_string())
}

/// Reads an input; a required member missing, or a value the codec cannot take, is a
/// `ValidationException`.
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
/// An operation the model does not have, or a body the operation cannot read.
pub fn decode_body(name: &str, body: &[u8]) -> Result<Call, Failure> {
    decode(operation(name)?, JsonBody(body)).map(Call::Data)
}

/// A kept session (`SessionKeepAliveSeconds`): its connection, where it leads, and until
/// when it is kept idle.
struct KeptSession {
    scope: Scope,
    /// The access key that opened it: only its calls run in it.
    access_key_id: Option<String>,
    connection: SessionSlot,
    cluster: Option<String>,
    workgroup: Option<String>,
    database: String,
    db_user: Option<String>,
    keep_alive: i64,
    expires: DateTime<Utc>,
    busy: bool,
}

/// The Data API's statements, kept sessions and running statements.
#[derive(Default)]
pub struct Runtime {
    pub statements: Statements,
    sessions: Mutex<HashMap<String, KeptSession>>,
    running: Mutex<HashMap<String, CancelKey>>,
    /// Sessions closed after their keep-alive, with when: their ids answer "not
    /// available" for as long as statements are kept.
    closed: Mutex<HashMap<String, DateTime<Utc>>>,
    query_ids: AtomicI64,
    /// Moves at each reset: tasks of an earlier generation keep no session.
    generation: AtomicU64,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Runtime")
    }
}

impl Runtime {
    /// Forgets every statement and closes every kept session (a reset).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
        self.statements.clear();
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.closed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Closes the sessions kept longer than they were asked to be.
    fn sweep(&self, now: DateTime<Utc>) {
        let mut closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
        closed.retain(|_, at| *at > now - chrono::Duration::hours(statements::RETENTION_HOURS));
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id, s| {
                let keep = s.busy || s.expires > now;
                if !keep {
                    closed.insert(id.clone(), now);
                }
                keep
            });
    }

    fn update(&self, scope: &Scope, now: DateTime<Utc>, id: &str, f: impl FnOnce(&mut Statement)) {
        self.statements.with(scope, now, |all| {
            if let Some(statement) = all.get_mut(id) {
                f(statement);
                statement.updated = now;
            }
        });
    }
}

/// Runs a Data API call and answers its JSON body.
///
/// # Errors
/// The service's modelled error.
pub async fn run(api: &Api, ctx: &RequestContext, input: Input) -> Result<Vec<u8>, Failure> {
    let now = api.state.clock().now();
    api.data.sweep(now);
    let output = match input {
        Input::ExecuteStatement(i) => Output::ExecuteStatement(
            submit(api, ctx, &i.connection, &i.options, vec![i.sql], false).await?,
        ),
        Input::BatchExecuteStatement(i) => {
            if i.sqls.is_empty() || i.sqls.len() > MAX_BATCH {
                return Err(failure(&Error::Validation(format!(
                    "Sqls must hold 1 to {MAX_BATCH} SQL statements."
                ))));
            }
            Output::BatchExecuteStatement(
                submit(api, ctx, &i.connection, &i.options, i.sqls, true).await?,
            )
        }
        Input::DescribeStatement(i) => Output::DescribeStatement(
            api.data
                .statements
                .with(&ctx.scope, now, |all| {
                    statements::find(all, &i.id).map(|(s, _)| statements::describe(s))
                })
                .map_err(|e| failure(&e))?,
        ),
        Input::GetStatementResult(i) => Output::GetStatementResult(
            api.data
                .statements
                .with(&ctx.scope, now, |all| {
                    statements::result_page(all, &i.id, i.next_token.as_deref())
                })
                .map_err(|e| failure(&e))?,
        ),
        Input::GetStatementResultV2(i) => Output::GetStatementResultV2(
            api.data
                .statements
                .with(&ctx.scope, now, |all| {
                    statements::csv_page(all, &i.id, i.next_token.as_deref())
                })
                .map_err(|e| failure(&e))?,
        ),
        Input::CancelStatement(i) => Output::CancelStatement(
            cancel(api, ctx, &i.id, now)
                .await
                .map_err(|e| failure(&e))?,
        ),
        Input::ListStatements(i) => Output::ListStatements(
            api.data
                .statements
                .with(&ctx.scope, now, |all| {
                    statements::list(all, ctx.access_key_id.as_deref(), &i)
                })
                .map_err(|e| failure(&e))?,
        ),
        Input::ListDatabases(i) => Output::ListDatabases(metadata::databases(api, ctx, &i).await?),
        Input::ListSchemas(i) => Output::ListSchemas(metadata::schemas(api, ctx, &i).await?),
        Input::ListTables(i) => Output::ListTables(metadata::tables(api, ctx, &i).await?),
        Input::DescribeTable(i) => Output::DescribeTable(metadata::table(api, ctx, &i).await?),
    };
    Ok(encode(&output))
}

json_encoding!();

/// Issues the temporary credential of a login to a cluster or a workgroup, as the
/// credential operations would, and answers where and as whom to log in.
async fn login(
    api: &Api,
    ctx: &RequestContext,
    cluster: Option<&str>,
    workgroup: Option<&str>,
    db_user: Option<&str>,
    database: &str,
) -> Result<Target, Failure> {
    let unknown =
        || Error::Validation("Redshift endpoint doesn't exist in this region.".to_owned());
    let no_server = || {
        Error::Validation(
            "The endpoint has no database server: memshift runs one only when PostgreSQL is installed."
                .to_owned(),
        )
    };
    let mut commit = Commit::default();
    let issued = super::redshift::with_env(api, ctx, |env| {
        api.state.mutate(&ctx.scope, &mut commit, |region| {
            let (user, password, server) = match (cluster, workgroup) {
                (Some(id), None) => {
                    let credentials = match db_user {
                        Some(user) => redshift::credentials::get(
                            &mut region.redshift,
                            env,
                            GetClusterCredentialsMessage {
                                db_user: user.to_owned(),
                                db_name: Some(database.to_owned()),
                                cluster_identifier: Some(id.to_owned()),
                                duration_seconds: Some(CREDENTIAL_SECONDS),
                                auto_create: Some(false),
                                db_groups: None,
                                custom_domain_name: None,
                            },
                        ),
                        None => redshift::credentials::get_with_iam(
                            &mut region.redshift,
                            env,
                            &GetClusterCredentialsWithIamMessage {
                                db_name: Some(database.to_owned()),
                                cluster_identifier: Some(id.to_owned()),
                                duration_seconds: Some(CREDENTIAL_SECONDS),
                                custom_domain_name: None,
                            },
                        ),
                    }
                    .map_err(|e| match e {
                        redshift::Error::ClusterNotFound(_) => unknown(),
                        other => Error::Validation(other.to_string()),
                    })?;
                    let port = (env.port_of)(Server::Cluster(id)).ok_or_else(no_server)?;
                    (credentials.db_user, credentials.db_password, port)
                }
                (None, Some(name)) => {
                    let credentials = serverless::credentials::get(
                        &mut region.serverless,
                        env,
                        &GetCredentialsRequest {
                            workgroup_name: Some(name.to_owned()),
                            custom_domain_name: None,
                            db_name: Some(database.to_owned()),
                            duration_seconds: Some(CREDENTIAL_SECONDS),
                        },
                    )
                    .map_err(|e| match e {
                        serverless::Error::ResourceNotFound(_) => unknown(),
                        other => Error::Validation(other.to_string()),
                    })?;
                    let namespace = region
                        .serverless
                        .workgroups
                        .get(name)
                        .map(|w| w.namespace_name.clone())
                        .ok_or_else(unknown)?;
                    let port =
                        (env.port_of)(Server::Namespace(&namespace)).ok_or_else(no_server)?;
                    (credentials.db_user, credentials.db_password, port)
                }
                _ => {
                    return Err(Error::Validation(
                        "Specify either ClusterIdentifier or WorkgroupName.".to_owned(),
                    ));
                }
            };
            Ok::<_, Error>((user, password, server))
        })
    })
    .map_err(|e| failure(&e))?;
    commit.wait().await.map_err(|e| {
        Failure::from(ProtocolError::Internal(format!(
            "the credential could not be made durable: {e}"
        )))
    })?;
    let (user, password, port) = issued;
    Ok(Target {
        host: api.settings.endpoint_address,
        port,
        user,
        password: password.expose().to_owned(),
        database: database.to_owned(),
    })
}

/// The SQL of each statement with positional parameters, and the values to bind to each.
fn bind(
    sqls: &[String],
    given: Option<&[SqlParameter]>,
) -> Result<Vec<(String, Vec<String>)>, Error> {
    let given = given.unwrap_or_default();
    if let Some(bad) = given.iter().find(|p| {
        p.name.is_empty()
            || !p
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    }) {
        return Err(Error::Validation(format!(
            "Parameter name {} must match [0-9a-zA-Z_]+.",
            bad.name
        )));
    }
    if given.iter().any(|p| p.value.is_empty()) {
        return Err(Error::Validation(
            "A parameter's value must not be empty.".to_owned(),
        ));
    }
    let prepared: Vec<(String, Vec<String>)> =
        sqls.iter().map(|sql| params::positional(sql)).collect();
    let unused: Vec<&str> = given
        .iter()
        .map(|p| p.name.as_str())
        .filter(|name| {
            !prepared
                .iter()
                .any(|(_, names)| names.iter().any(|n| n == name))
        })
        .collect();
    if !given.is_empty() && !unused.is_empty() {
        return Err(Error::Validation(format!(
            "Parameters list contains unused parameters. Unused parameters: [{}]",
            unused.join(", ")
        )));
    }
    if given.is_empty() {
        // Without Parameters, the SQL goes as it came, `:` and all.
        return Ok(sqls.iter().map(|sql| (sql.clone(), Vec::new())).collect());
    }
    if sqls.iter().any(|sql| params::has_positional(sql)) {
        return Err(Error::Validation(
            "The SQL holds a positional parameter ($1): with Parameters, name them :name."
                .to_owned(),
        ));
    }
    prepared
        .into_iter()
        .map(|(sql, names)| {
            let values = names
                .iter()
                .map(|name| {
                    given
                        .iter()
                        .find(|p| p.name == *name)
                        .map(|p| p.value.clone())
                        .ok_or_else(|| {
                            Error::Validation(format!(
                                "The SQL uses the parameter :{name}, which Parameters does not give."
                            ))
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((sql, values))
        })
        .collect()
}

/// The connection a statement runs on: a kept session's, or an empty one to fill with a
/// new login.
type SessionSlot = Arc<tokio::sync::Mutex<Option<Session>>>;

/// Where a statement runs and what its answer echoes.
struct Placement {
    connection: SessionSlot,
    /// The login to make first, when the connection is new.
    login: Option<Target>,
    cluster: Option<String>,
    workgroup: Option<String>,
    database: String,
    db_user: Option<String>,
    session_id: Option<String>,
}

/// Places a statement: in the kept session it names, or on a new login.
async fn place(
    api: &Api,
    ctx: &RequestContext,
    connection: &Connection,
    options: &RunOptions,
    keep_alive: Option<i64>,
) -> Result<Placement, Failure> {
    let invalid = |m: &str| failure(&Error::Validation(m.to_owned()));
    if let Some(session_id) = &options.session_id {
        if connection.cluster_identifier.is_some()
            || connection.workgroup_name.is_some()
            || connection.database.is_some()
            || connection.db_user.is_some()
        {
            return Err(invalid(
                "A statement in a session takes only SessionId: not ClusterIdentifier, WorkgroupName, Database or DbUser.",
            ));
        }
        // The closed list first: the sweep takes it before the sessions.
        let closed = api
            .data
            .closed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(session_id);
        let mut sessions = api
            .data
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(kept) = sessions
            .get_mut(session_id)
            .filter(|s| s.scope == ctx.scope && s.access_key_id == ctx.access_key_id)
        else {
            return Err(invalid(&if closed {
                "Session is not available".to_owned()
            } else {
                format!("Session with Id: {session_id} is invalid")
            }));
        };
        if kept.busy {
            return Err(failure(&Error::ActiveSessionsExceeded(format!(
                "Session {session_id} is running another statement."
            ))));
        }
        kept.busy = true;
        Ok(Placement {
            connection: Arc::clone(&kept.connection),
            login: None,
            cluster: kept.cluster.clone(),
            workgroup: kept.workgroup.clone(),
            database: kept.database.clone(),
            db_user: kept.db_user.clone(),
            session_id: Some(session_id.clone()),
        })
    } else {
        let (cluster, workgroup) = (
            connection.cluster_identifier.as_deref(),
            connection.workgroup_name.as_deref(),
        );
        if cluster.is_some() == workgroup.is_some() {
            return Err(invalid(
                "Specify exactly one of ClusterIdentifier, WorkgroupName and SessionId.",
            ));
        }
        let Some(database) = connection.database.clone() else {
            return Err(invalid(
                "Database is required with ClusterIdentifier or WorkgroupName.",
            ));
        };
        if workgroup.is_some() && connection.db_user.is_some() {
            return Err(invalid("DbUser is not supported with WorkgroupName."));
        }
        let target = login(
            api,
            ctx,
            cluster,
            workgroup,
            connection.db_user.as_deref(),
            &database,
        )
        .await?;
        Ok(Placement {
            connection: Arc::default(),
            login: Some(target),
            cluster: cluster.map(str::to_owned),
            workgroup: workgroup.map(str::to_owned),
            database,
            db_user: connection.db_user.clone(),
            session_id: keep_alive.map(|_| uuid::Uuid::new_v4().to_string()),
        })
    }
}

/// The checks of a submission's settings; answers whether its result is CSV.
fn check(connection: &Connection, options: &RunOptions, sqls: &[String]) -> Result<bool, Failure> {
    let invalid = |m: &str| failure(&Error::Validation(m.to_owned()));
    if connection.secret_arn.is_some() {
        return Err(invalid(
            "SecretArn names a Secrets Manager secret, which memshift does not emulate: give DbUser, or neither, to run as the caller's IAM identity.",
        ));
    }
    if sqls.iter().any(|s| s.trim().is_empty()) {
        return Err(invalid("The SQL statement must not be empty."));
    }
    if sqls.iter().any(|s| s.len() > 100 * 1024) {
        return Err(invalid("Cannot process query string larger than 100kB"));
    }
    let csv = match options.result_format.as_deref() {
        None | Some("JSON") => false,
        Some("CSV") => true,
        Some(other) => {
            return Err(invalid(&format!(
                "Invalid ResultFormat {other}: JSON or CSV."
            )));
        }
    };
    if let Some(seconds) = options.session_keep_alive_seconds
        && !(0..=86_400).contains(&seconds)
    {
        return Err(invalid(
            "SessionKeepAliveSeconds must be between 0 and 86400.",
        ));
    }
    if options
        .statement_name
        .as_ref()
        .is_some_and(|n| n.len() > 2048)
    {
        return Err(invalid(
            "StatementName can be at most 2048 characters long.",
        ));
    }
    Ok(csv)
}

/// The answer of the call a retry repeats (same `ClientToken`, same caller), if any.
fn retried(
    api: &Api,
    ctx: &RequestContext,
    options: &RunOptions,
    now: DateTime<Utc>,
) -> Option<ExecuteStatementOutput> {
    let token = options.client_token.as_ref()?;
    api.data.statements.with(&ctx.scope, now, |all| {
        all.values()
            .find(|s| {
                s.client_token.as_ref() == Some(token) && s.access_key_id == ctx.access_key_id
            })
            .map(|s| ExecuteStatementOutput {
                id: s.id.clone(),
                created_at: statements::epoch(s.created),
                cluster_identifier: s.cluster.clone(),
                workgroup_name: s.workgroup.clone(),
                db_user: s.db_user.clone(),
                db_groups: Vec::new(),
                database: s.database.clone(),
                session_id: s.session_id.clone(),
            })
    })
}

/// ExecuteStatement and BatchExecuteStatement: check, record `SUBMITTED`, and run in a
/// task.
async fn submit(
    api: &Api,
    ctx: &RequestContext,
    connection: &Connection,
    options: &RunOptions,
    sqls: Vec<String>,
    batch: bool,
) -> Result<ExecuteStatementOutput, Failure> {
    let csv = check(connection, options, &sqls)?;
    let prepared = bind(&sqls, options.parameters.as_deref()).map_err(|e| failure(&e))?;
    let now = api.state.clock().now();
    if let Some(earlier) = retried(api, ctx, options, now) {
        return Ok(earlier);
    }
    let id = uuid::Uuid::new_v4().to_string();
    let keep_alive = options
        .session_keep_alive_seconds
        .filter(|s| *s > 0)
        .map(i64::from);
    let Placement {
        connection: session,
        login,
        cluster,
        workgroup,
        database,
        db_user,
        session_id,
    } = place(api, ctx, connection, options, keep_alive).await?;
    let statement = Statement {
        id: id.clone(),
        access_key_id: ctx.access_key_id.clone(),
        cluster: cluster.clone(),
        workgroup: workgroup.clone(),
        database: Some(database.clone()),
        db_user: db_user.clone(),
        name: options.statement_name.clone(),
        parameters: options.parameters.clone(),
        csv,
        session_id: session_id.clone(),
        batch,
        status: Status::Submitted,
        created: now,
        updated: now,
        error: None,
        pid: 0,
        parts: sqls.into_iter().map(|sql| Part::new(sql, now)).collect(),
        cancel_requested: false,
        client_token: options.client_token.clone(),
    };
    api.data.statements.with(&ctx.scope, now, |all| {
        all.insert(id.clone(), statement);
    });
    if let (Some(session_id), Some(seconds)) = (&session_id, keep_alive)
        && options.session_id.is_none()
    {
        // A new session: named now, busy until its first statement ends.
        api.data
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                session_id.clone(),
                KeptSession {
                    scope: ctx.scope.clone(),
                    access_key_id: ctx.access_key_id.clone(),
                    connection: Arc::clone(&session),
                    cluster: cluster.clone(),
                    workgroup: workgroup.clone(),
                    database: database.clone(),
                    db_user: db_user.clone(),
                    keep_alive: seconds,
                    expires: now,
                    busy: true,
                },
            );
    }
    let job = Job {
        runtime: Arc::clone(&api.data),
        state: Arc::clone(&api.state),
        scope: ctx.scope.clone(),
        id: id.clone(),
        prepared,
        batch,
        session_id: session_id.clone(),
        keep_alive,
        generation: api.data.generation.load(Ordering::Relaxed),
    };
    tokio::spawn(job.run(session, login));
    Ok(ExecuteStatementOutput {
        id,
        created_at: statements::epoch(now),
        cluster_identifier: cluster,
        workgroup_name: workgroup,
        db_user,
        db_groups: Vec::new(),
        database: Some(database),
        session_id,
    })
}

/// A submitted statement, to run in a task of its own.
struct Job {
    runtime: Arc<Runtime>,
    state: Arc<AppState>,
    scope: Scope,
    id: String,
    prepared: Vec<(String, Vec<String>)>,
    batch: bool,
    /// The kept session the statement runs in, when there is one.
    session_id: Option<String>,
    /// Seconds the session is kept idle after this statement, when the call set it.
    keep_alive: Option<i64>,
    /// The runtime's generation at submission: a reset since then drops the session.
    generation: u64,
}

/// The message CancelStatement's statements end with.
const CANCELLED: &str = "ERROR: canceling statement due to user request";
/// The most bytes a result may hold.
const MAX_RESULT_BYTES: usize = 100 << 20;

/// The engine's message as the Data API's `Error` shows it.
fn error_text(e: &DbError) -> String {
    match e.position {
        Some(position) => format!("{}: {}\n  Position: {position}", e.severity, e.message),
        None => format!("{}: {}", e.severity, e.message),
    }
}

/// How a statement ended.
enum End {
    Finished,
    /// At that part, with that error: cancelled (true) or failed.
    Stopped(usize, String, bool),
}

impl Job {
    fn now(&self) -> DateTime<Utc> {
        self.state.clock().now()
    }

    fn update(&self, f: impl FnOnce(&mut Statement)) {
        self.runtime.update(&self.scope, self.now(), &self.id, f);
    }

    fn cancel_requested(&self) -> bool {
        self.runtime
            .statements
            .with(&self.scope, self.now(), |all| {
                all.get(&self.id).is_some_and(|s| s.cancel_requested)
            })
    }

    /// Runs one part; while it runs after a cancel was asked for, the cancel is sent
    /// again: a backend ignores a cancel that comes before its query starts.
    async fn cancellable_part(
        &self,
        session: &mut Session,
        index: usize,
        sql: &str,
        values: &[String],
    ) -> Result<(), DbError> {
        let key = session.cancel_key();
        let part = self.part(session, index, sql, values);
        tokio::pin!(part);
        loop {
            tokio::select! {
                result = &mut part => return result,
                () = tokio::time::sleep(CANCEL_AGAIN_AFTER) => {
                    if self.cancel_requested() {
                        let _ = pgclient::cancel(key).await;
                    }
                }
            }
        }
    }

    async fn run(self, connection: SessionSlot, login: Option<Target>) {
        self.update(|s| s.status = Status::Picked);
        let mut slot = connection.lock().await;
        if let Some(target) = login {
            match Session::connect(&target, CONNECT_TIMEOUT).await {
                Ok(session) => *slot = Some(session),
                Err(e) => {
                    self.finish(&mut slot, &End::Stopped(0, error_text(&e), false), false);
                    return;
                }
            }
        }
        let (end, usable) = match slot.as_mut() {
            Some(session) => self.statements(session).await,
            None => (
                End::Stopped(0, "Session is not available".to_owned(), false),
                false,
            ),
        };
        self.finish(&mut slot, &end, usable);
        if self.session_id.is_none()
            && let Some(session) = slot.take()
        {
            session.close().await;
        }
    }

    /// Runs the statement's SQL on a session: how it ended, and whether the session is
    /// still usable.
    async fn statements(&self, session: &mut Session) -> (End, bool) {
        let pid = i64::from(session.pid());
        self.update(|s| {
            s.status = Status::Started;
            s.pid = pid;
        });
        self.runtime
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(self.id.clone(), session.cancel_key());
        let mut stopped: Option<(usize, DbError)> = None;
        if self.batch
            && let Err(e) = session.simple("BEGIN").await
        {
            stopped = Some((0, e));
        }
        for (index, (sql, values)) in self.prepared.iter().enumerate() {
            if stopped.is_some() {
                break;
            }
            if self.cancel_requested() {
                stopped = Some((index, cancelled_error()));
                break;
            }
            let query_id = self.runtime.query_ids.fetch_add(1, Ordering::Relaxed) + 1;
            let now = self.now();
            self.update(|s| {
                let part = &mut s.parts[index];
                part.status = Status::Started;
                part.created = now;
                part.query_id = query_id;
            });
            if let Err(e) = self.cancellable_part(session, index, sql, values).await {
                stopped = Some((index, e));
            }
        }
        if self.batch && session.in_transaction() {
            let end = if stopped.is_some() {
                "ROLLBACK"
            } else {
                "COMMIT"
            };
            if let Err(e) = session.simple(end).await
                && stopped.is_none()
            {
                stopped = Some((self.prepared.len().saturating_sub(1), e));
            }
        }
        self.runtime
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
        match stopped {
            None if self.cancel_requested() => (
                End::Stopped(self.prepared.len() - 1, CANCELLED.to_owned(), true),
                true,
            ),
            None => (End::Finished, true),
            Some((index, e)) => {
                let usable = !(matches!(e.severity.as_str(), "FATAL" | "PANIC")
                    || e.code.starts_with("08")
                    || e.code.starts_with("57P"));
                let cancelled = e.code == "57014" && self.cancel_requested();
                (End::Stopped(index, error_text(&e), cancelled), usable)
            }
        }
    }

    /// Runs one part, and records how it finished.
    async fn part(
        &self,
        session: &mut Session,
        index: usize,
        sql: &str,
        values: &[String],
    ) -> Result<(), DbError> {
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let outcome = session.run(sql, &values).await?;
        let result = match &outcome.columns {
            Some(columns) => Some(Arc::new(result_set(session, columns, &outcome).await)),
            None => None,
        };
        let size: usize = outcome
            .rows
            .iter()
            .flatten()
            .map(|v| v.as_ref().map_or(0, String::len))
            .sum();
        if size > MAX_RESULT_BYTES {
            return Err(DbError {
                severity: "ERROR".to_owned(),
                code: "54000".to_owned(),
                message: "database response exceeded size limit".to_owned(),
                position: None,
            });
        }
        let rows = if outcome.columns.is_some() {
            u64::try_from(outcome.rows.len()).unwrap_or(u64::MAX)
        } else {
            outcome.affected().unwrap_or(0)
        };
        let now = self.now();
        self.update(|s| {
            let part = &mut s.parts[index];
            part.status = Status::Finished;
            part.updated = now;
            part.result_rows = i64::try_from(rows).unwrap_or(i64::MAX);
            part.result_size = i64::try_from(size).unwrap_or(i64::MAX);
            part.result = result;
        });
        Ok(())
    }

    /// Records how the statement ended and gives its session back, in one step, so that
    /// a client that sees the end can use the session at once. A statement stopped at a
    /// part leaves the parts after it `ABORTED` (a batch's earlier parts were rolled back
    /// with it).
    fn finish(&self, slot: &mut Option<Session>, end: &End, usable: bool) {
        let now = self.now();
        if let Some(session_id) = &self.session_id {
            let mut sessions = self
                .runtime
                .sessions
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let current = self.runtime.generation.load(Ordering::Relaxed) == self.generation;
            match sessions.get_mut(session_id) {
                Some(kept) if usable && current => {
                    if let Some(seconds) = self.keep_alive {
                        kept.keep_alive = seconds;
                    }
                    kept.expires = now + chrono::Duration::seconds(kept.keep_alive);
                    kept.busy = false;
                }
                _ => {
                    sessions.remove(session_id);
                    *slot = None;
                }
            }
        }
        self.update(|s| match end {
            End::Finished => s.status = Status::Finished,
            End::Stopped(index, text, cancelled) => {
                let status = if *cancelled || s.cancel_requested && text == CANCELLED {
                    Status::Aborted
                } else {
                    Status::Failed
                };
                s.status = status;
                s.error = Some(text.clone());
                for (i, part) in s.parts.iter_mut().enumerate().skip(*index) {
                    part.updated = now;
                    if i == *index {
                        part.status = status;
                        part.error = Some(text.clone());
                    } else {
                        part.status = Status::Aborted;
                    }
                }
            }
        });
    }
}

/// The error of a statement cancelled before it ran.
fn cancelled_error() -> DbError {
    DbError {
        severity: "ERROR".to_owned(),
        code: "57014".to_owned(),
        message: "canceling statement due to user request".to_owned(),
        position: None,
    }
}

/// The columns and rows of an outcome, as the Data API gives them; the columns' tables,
/// nullability and type names are read from the catalog.
async fn result_set(
    session: &mut Session,
    columns: &[pgclient::Column],
    outcome: &Outcome,
) -> ResultSet {
    let mut tables: Vec<u32> = columns
        .iter()
        .map(|c| c.table_oid)
        .filter(|o| *o != 0)
        .collect();
    tables.sort_unstable();
    tables.dedup();
    let mut attributes: HashMap<(u32, i16), (String, String, bool)> = HashMap::new();
    if !tables.is_empty() {
        let list = oid_array(&tables);
        let sql = "SELECT a.attrelid::int8, a.attnum::int8, n.nspname, c.relname, a.attnotnull \
                   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
                   JOIN pg_namespace n ON n.oid = c.relnamespace \
                   WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0";
        if let Ok(rows) = session.run(sql, &[&list]).await {
            for row in rows.rows {
                let text = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
                let (Ok(table), Ok(column)) = (text(0).parse::<u32>(), text(1).parse::<i16>())
                else {
                    continue;
                };
                attributes.insert((table, column), (text(2), text(3), text(4) == "t"));
            }
        }
    }
    let mut unnamed: Vec<u32> = columns
        .iter()
        .map(|c| c.type_oid)
        .filter(|o| types::type_name(*o).is_none())
        .collect();
    unnamed.sort_unstable();
    unnamed.dedup();
    let mut type_names: HashMap<u32, String> = HashMap::new();
    if !unnamed.is_empty() {
        let list = oid_array(&unnamed);
        if let Ok(rows) = session
            .run(
                "SELECT oid::int8, typname FROM pg_type WHERE oid = ANY($1::oid[])",
                &[&list],
            )
            .await
        {
            for row in rows.rows {
                if let (Some(Some(oid)), Some(Some(name))) = (row.first(), row.get(1))
                    && let Ok(oid) = oid.parse()
                {
                    type_names.insert(oid, name.clone());
                }
            }
        }
    }
    let metadata: Vec<ColumnMetadata> = columns
        .iter()
        .map(|c| {
            let source = attributes.get(&(c.table_oid, c.column));
            let nullable = match source {
                Some((_, _, true)) => 0,
                _ => 1,
            };
            types::column(
                &c.name,
                c.type_oid,
                c.type_modifier,
                type_names
                    .get(&c.type_oid)
                    .map_or("unknown", String::as_str),
                nullable,
                source.map_or("", |(schema, _, _)| schema),
                source.map_or("", |(_, table, _)| table),
            )
        })
        .collect();
    let rows = outcome
        .rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .zip(row)
                .map(|(c, v)| types::field(c.type_oid, v.as_deref()))
                .collect()
        })
        .collect();
    ResultSet {
        columns: metadata,
        rows,
    }
}

/// An `oid[]` literal, bound as a parameter.
fn oid_array(oids: &[u32]) -> String {
    let items: Vec<String> = oids.iter().map(u32::to_string).collect();
    format!("{{{}}}", items.join(","))
}

/// How long a part runs before a cancel asked for meanwhile is sent again.
const CANCEL_AGAIN_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

/// CancelStatement: a running statement's backend is cancelled; one not yet started never
/// starts.
async fn cancel(
    api: &Api,
    ctx: &RequestContext,
    id: &str,
    now: DateTime<Utc>,
) -> Result<CancelStatementOutput, Error> {
    let base = api.data.statements.with(&ctx.scope, now, |all| {
        let (statement, _) = statements::find(all, id)?;
        if statement.status.is_done() {
            return Err(Error::Validation(format!(
                "Could not cancel a query that is already in {} state with ID: {id}",
                statement.status.as_str()
            )));
        }
        let base = statement.id.clone();
        if let Some(s) = all.get_mut(&base) {
            s.cancel_requested = true;
        }
        Ok(base)
    })?;
    let key = api
        .data
        .running
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&base)
        .copied();
    if let Some(key) = key {
        pgclient::cancel(key).await.map_err(|e| {
            Error::DatabaseConnection(format!("The statement could not be cancelled: {e}"))
        })?;
    }
    Ok(CancelStatementOutput { status: true })
}

/// The metadata operations: catalog queries run at once, as the caller's temporary user.
mod metadata {
    use super::{
        Api, CONNECT_TIMEOUT, ColumnMetadata, DescribeTableOutput, Error, Failure,
        ListDatabasesOutput, ListSchemasOutput, ListTablesOutput, METADATA_PAGE, MetadataInput,
        RequestContext, Session, TableMember, error_text, failure, login, statements, types,
    };

    /// Schemas memshift keeps for itself, and PostgreSQL's internal ones.
    const HIDDEN_SCHEMAS: &str = "n.nspname <> 'pg_redshift' AND n.nspname NOT LIKE 'pg\\_toast%' \
                                  AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

    async fn session(
        api: &Api,
        ctx: &RequestContext,
        input: &MetadataInput,
    ) -> Result<Session, Failure> {
        if input.secret_arn.is_some() {
            return Err(failure(&Error::Validation(
                "SecretArn names a Secrets Manager secret, which memshift does not emulate: give DbUser, or neither, to run as the caller's IAM identity.".to_owned(),
            )));
        }
        let database = input
            .connected_database
            .as_deref()
            .unwrap_or(&input.database);
        let target = login(
            api,
            ctx,
            input.cluster_identifier.as_deref(),
            input.workgroup_name.as_deref(),
            input.db_user.as_deref(),
            database,
        )
        .await?;
        Session::connect(&target, CONNECT_TIMEOUT)
            .await
            .map_err(|e| failure(&Error::DatabaseConnection(error_text(&e))))
    }

    fn page_size(input: &MetadataInput) -> Result<usize, Failure> {
        match input.max_results {
            None | Some(0) => Ok(METADATA_PAGE),
            Some(n @ 1..=1000) => Ok(usize::try_from(n).unwrap_or(METADATA_PAGE)),
            Some(_) => Err(failure(&Error::Validation(
                "MaxResults must be between 0 and 1000.".to_owned(),
            ))),
        }
    }

    /// Runs one catalog query and closes the session; answers its rows.
    async fn rows(
        api: &Api,
        ctx: &RequestContext,
        input: &MetadataInput,
        sql: &str,
        params: &[&str],
    ) -> Result<Vec<Vec<Option<String>>>, Failure> {
        let mut session = session(api, ctx, input).await?;
        let outcome = session.run(sql, params).await;
        session.close().await;
        // A bad pattern is the caller's; anything else is the database's.
        outcome.map(|o| o.rows).map_err(|e| {
            if e.code.starts_with("22") || e.code.starts_with("42") {
                failure(&Error::Validation(error_text(&e)))
            } else {
                failure(&Error::DatabaseConnection(error_text(&e)))
            }
        })
    }

    fn text(row: &[Option<String>], i: usize) -> String {
        row.get(i).cloned().flatten().unwrap_or_default()
    }

    pub async fn databases(
        api: &Api,
        ctx: &RequestContext,
        input: &MetadataInput,
    ) -> Result<ListDatabasesOutput, Failure> {
        let size = page_size(input)?;
        let offset =
            statements::token_offset(input.next_token.as_deref()).map_err(|e| failure(&e))?;
        let rows = rows(
            api,
            ctx,
            input,
            "SELECT datname FROM pg_database WHERE datallowconn \
             AND datname NOT IN ('postgres', 'template0', 'template1') ORDER BY datname",
            &[],
        )
        .await?;
        let names: Vec<String> = rows.iter().map(|r| text(r, 0)).collect();
        let (databases, next_token) = statements::page(&names, offset, size);
        Ok(ListDatabasesOutput {
            databases,
            next_token,
        })
    }

    pub async fn schemas(
        api: &Api,
        ctx: &RequestContext,
        input: &MetadataInput,
    ) -> Result<ListSchemasOutput, Failure> {
        let size = page_size(input)?;
        let offset =
            statements::token_offset(input.next_token.as_deref()).map_err(|e| failure(&e))?;
        let pattern = input.schema_pattern.as_deref().unwrap_or("%");
        let sql = format!(
            "SELECT n.nspname FROM pg_namespace n WHERE n.nspname LIKE $1 AND {HIDDEN_SCHEMAS} ORDER BY 1"
        );
        let rows = rows(api, ctx, input, &sql, &[pattern]).await?;
        let names: Vec<String> = rows.iter().map(|r| text(r, 0)).collect();
        let (schemas, next_token) = statements::page(&names, offset, size);
        Ok(ListSchemasOutput {
            schemas,
            next_token,
        })
    }

    pub async fn tables(
        api: &Api,
        ctx: &RequestContext,
        input: &MetadataInput,
    ) -> Result<ListTablesOutput, Failure> {
        let size = page_size(input)?;
        let offset =
            statements::token_offset(input.next_token.as_deref()).map_err(|e| failure(&e))?;
        let schemas = input.schema_pattern.as_deref().unwrap_or("%");
        let tables = input.table_pattern.as_deref().unwrap_or("%");
        let sql = format!(
            "SELECT n.nspname, c.relname, c.relkind::text, c.relpersistence::text \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname LIKE $1 \
             AND c.relname LIKE $2 AND {HIDDEN_SCHEMAS} ORDER BY 1, 2"
        );
        let rows = rows(api, ctx, input, &sql, &[schemas, tables]).await?;
        let members: Vec<TableMember> = rows
            .iter()
            .map(|r| {
                let schema = text(r, 0);
                let kind = if text(r, 3) == "t" {
                    "LOCAL TEMPORARY"
                } else if matches!(schema.as_str(), "pg_catalog" | "information_schema") {
                    "SYSTEM TABLE"
                } else if matches!(text(r, 2).as_str(), "v" | "m") {
                    "VIEW"
                } else {
                    "TABLE"
                };
                TableMember {
                    name: text(r, 1),
                    r#type: kind.to_owned(),
                    schema,
                }
            })
            .collect();
        let (tables, next_token) = statements::page(&members, offset, size);
        Ok(ListTablesOutput { tables, next_token })
    }

    pub async fn table(
        api: &Api,
        ctx: &RequestContext,
        input: &MetadataInput,
    ) -> Result<DescribeTableOutput, Failure> {
        let size = page_size(input)?;
        let offset =
            statements::token_offset(input.next_token.as_deref()).map_err(|e| failure(&e))?;
        let schema = input.schema.as_deref().unwrap_or("");
        let table = input.table.as_deref().unwrap_or("");
        let sql = format!(
            "SELECT n.nspname, c.relname, a.attname, a.atttypid::int8, a.atttypmod::int8, t.typname, \
             a.attnotnull, pg_get_expr(d.adbin, d.adrelid) \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') \
             AND ($1 = '' OR n.nspname = $1) AND ($2 = '' OR c.relname = $2) AND {HIDDEN_SCHEMAS} \
             ORDER BY n.nspname, c.relname, a.attnum"
        );
        let rows = rows(api, ctx, input, &sql, &[schema, table]).await?;
        let columns: Vec<ColumnMetadata> = rows
            .iter()
            .map(|r| {
                let oid = text(r, 3).parse().unwrap_or(0);
                let typmod = text(r, 4).parse().unwrap_or(-1);
                let mut column = types::column(
                    &text(r, 2),
                    oid,
                    typmod,
                    &text(r, 5),
                    i32::from(text(r, 6) != "t"),
                    &text(r, 0),
                    &text(r, 1),
                );
                column.label = None;
                column.length = if column.is_case_sensitive {
                    column.precision
                } else {
                    0
                };
                column.column_default = r.get(7).cloned().flatten();
                column
            })
            .collect();
        let (column_list, next_token) = statements::page(&columns, offset, size);
        Ok(DescribeTableOutput {
            table_name: input.table.clone(),
            column_list,
            next_token,
        })
    }
}
