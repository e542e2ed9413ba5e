//! The statements of the Data API: each one's status, timings and result, kept per account
//! and region for 24 hours on memshift's clock, and what Describe, Get*Result and List
//! answer about them. A batch is one statement with a part per SQL; a single statement
//! has one part.

// The statements of one scope are one map, never shared across hashers.
#![allow(clippy::implicit_hasher)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::error::{Error, invalid};
use super::model::{
    ColumnMetadata, CsvRecords, DescribeStatementOutput, Field, GetStatementResultOutput,
    GetStatementResultV2Output, ListStatementsInput, ListStatementsOutput, SqlParameter,
    StatementData, SubStatementData,
};
use super::types::csv_cell;
use crate::state::Scope;

/// How long statements and their results are kept.
pub const RETENTION_HOURS: i64 = 24;
/// Rows a result page holds.
pub const PAGE_ROWS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Submitted,
    Picked,
    Started,
    Finished,
    Aborted,
    Failed,
}

impl Status {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "SUBMITTED",
            Status::Picked => "PICKED",
            Status::Started => "STARTED",
            Status::Finished => "FINISHED",
            Status::Aborted => "ABORTED",
            Status::Failed => "FAILED",
        }
    }

    #[must_use]
    pub fn is_done(self) -> bool {
        matches!(self, Status::Finished | Status::Aborted | Status::Failed)
    }
}

/// A result's columns and rows.
#[derive(Debug, Clone, Default)]
pub struct ResultSet {
    pub columns: Vec<ColumnMetadata>,
    pub rows: Vec<Vec<Field>>,
}

/// One SQL statement of a call, and how it ran.
#[derive(Debug, Clone)]
pub struct Part {
    pub query: String,
    pub status: Status,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub error: Option<String>,
    /// Rows returned or affected; -1 until it has run.
    pub result_rows: i64,
    /// Bytes of the result; -1 until it has run.
    pub result_size: i64,
    pub query_id: i64,
    pub result: Option<Arc<ResultSet>>,
}

impl Part {
    #[must_use]
    pub fn new(query: String, now: DateTime<Utc>) -> Self {
        Part {
            query,
            status: Status::Submitted,
            created: now,
            updated: now,
            error: None,
            result_rows: -1,
            result_size: -1,
            query_id: 0,
            result: None,
        }
    }

    /// Nanoseconds from creation to the last update, once done; -1 before.
    fn duration(&self) -> i64 {
        if self.status.is_done() {
            (self.updated - self.created)
                .num_nanoseconds()
                .unwrap_or(i64::MAX)
        } else {
            -1
        }
    }
}

/// A call of ExecuteStatement or BatchExecuteStatement.
#[derive(Debug, Clone)]
pub struct Statement {
    pub id: String,
    pub access_key_id: Option<String>,
    pub cluster: Option<String>,
    pub workgroup: Option<String>,
    pub database: Option<String>,
    pub db_user: Option<String>,
    pub name: Option<String>,
    pub parameters: Option<Vec<SqlParameter>>,
    pub csv: bool,
    pub session_id: Option<String>,
    pub batch: bool,
    pub status: Status,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub error: Option<String>,
    pub pid: i64,
    pub parts: Vec<Part>,
    /// CancelStatement asked for it to stop.
    pub cancel_requested: bool,
    /// The call's idempotency token: a retry with the same token is the same statement.
    pub client_token: Option<String>,
}

/// Seconds since the epoch, with milliseconds, as the model's timestamps go.
#[must_use]
#[allow(
    clippy::cast_precision_loss,
    reason = "milliseconds since 1970 fit in 53 bits"
)]
pub fn epoch(time: DateTime<Utc>) -> f64 {
    time.timestamp_millis() as f64 / 1000.0
}

/// The statement id pattern of the model: a UUID, and `:n` for a part of a batch.
fn valid_id(id: &str) -> bool {
    let (uuid, part) = match id.split_once(':') {
        Some((uuid, part)) => (uuid, Some(part)),
        None => (id, None),
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    groups.len() == 5
        && groups.iter().zip(lens).all(|(g, n)| {
            g.len() == n
                && g.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && part.is_none_or(|p| p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Every scope's statements.
#[derive(Debug, Default)]
pub struct Statements {
    scopes: Mutex<HashMap<Scope, HashMap<String, Statement>>>,
}

impl Statements {
    /// Runs `f` on a scope's statements, once those older than the retention are gone.
    pub fn with<T>(
        &self,
        scope: &Scope,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut HashMap<String, Statement>) -> T,
    ) -> T {
        let mut scopes = self.scopes.lock().unwrap_or_else(PoisonError::into_inner);
        let statements = scopes.entry(scope.clone()).or_default();
        let oldest = now - chrono::Duration::hours(RETENTION_HOURS);
        statements.retain(|_, s| s.created > oldest);
        f(statements)
    }

    /// Forgets every statement (a reset).
    pub fn clear(&self) {
        self.scopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// The statement and the part an id names (`None` for a batch's own id).
///
/// # Errors
/// `ValidationException` for an id that is not one, `ResourceNotFoundException` for one
/// that names nothing.
pub fn find<'a>(
    statements: &'a HashMap<String, Statement>,
    id: &str,
) -> Result<(&'a Statement, Option<usize>), Error> {
    if !valid_id(id) {
        return Err(invalid(
            "id must satisfy regex pattern: [a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}(:\\d{0,2})?",
        ));
    }
    let (base, part) = match id.split_once(':') {
        Some((base, n)) => (base, Some(n.parse::<usize>().unwrap_or(0))),
        None => (id, None),
    };
    let statement = statements.get(base).ok_or_else(Error::no_such_query)?;
    match part {
        None if !statement.batch => Ok((statement, Some(0))),
        None => Ok((statement, None)),
        Some(n) if statement.batch && (1..=statement.parts.len()).contains(&n) => {
            Ok((statement, Some(n - 1)))
        }
        Some(_) => Err(Error::no_such_query()),
    }
}

/// DescribeStatement's answer.
#[must_use]
pub fn describe(statement: &Statement) -> DescribeStatementOutput {
    let single = (!statement.batch).then(|| &statement.parts[0]);
    let sub_statements = statement.batch.then(|| {
        statement
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| SubStatementData {
                id: format!("{}:{}", statement.id, i + 1),
                duration: p.duration(),
                error: p.error.clone(),
                status: p.status.as_str(),
                created_at: epoch(p.created),
                updated_at: epoch(p.updated),
                query_string: p.query.clone(),
                result_rows: p.result_rows,
                result_size: p.result_size,
                redshift_query_id: p.query_id,
                has_result_set: p.result.is_some(),
            })
            .collect()
    });
    let duration = if statement.status.is_done() {
        (statement.updated - statement.created)
            .num_nanoseconds()
            .unwrap_or(i64::MAX)
    } else {
        -1
    };
    DescribeStatementOutput {
        id: statement.id.clone(),
        db_user: statement.db_user.clone(),
        database: statement.database.clone(),
        cluster_identifier: statement.cluster.clone(),
        workgroup_name: statement.workgroup.clone(),
        duration,
        error: statement.error.clone(),
        status: statement.status.as_str(),
        created_at: epoch(statement.created),
        updated_at: epoch(statement.updated),
        redshift_pid: statement.pid,
        has_result_set: statement.parts.iter().any(|p| p.result.is_some()),
        query_string: single.map(|p| p.query.clone()),
        result_rows: single.map_or(-1, |p| p.result_rows),
        result_size: single.map_or(-1, |p| p.result_size),
        redshift_query_id: single.map_or(0, |p| p.query_id),
        query_parameters: statement.parameters.clone(),
        sub_statements,
        result_format: if statement.csv { "CSV" } else { "JSON" },
        session_id: statement.session_id.clone(),
    }
}

/// The result of the part an id names, and the page a token asks for.
fn result_of<'a>(
    statements: &'a HashMap<String, Statement>,
    id: &str,
    csv: bool,
) -> Result<&'a Arc<ResultSet>, Error> {
    let (statement, part) = find(statements, id)?;
    let Some(part) = part else {
        return Err(invalid(
            "BatchExecuteStatement result can only be retrieved with sub-statement id.",
        ));
    };
    let part = &statement.parts[part];
    let result = part
        .result
        .as_ref()
        .filter(|_| part.status == Status::Finished)
        .ok_or_else(|| {
            invalid("Query does not have result. Please check query status with DescribeStatement.")
        })?;
    match (statement.csv, csv) {
        (true, false) => Err(invalid(
            "The statement was run with ResultFormat CSV: use GetStatementResultV2.",
        )),
        (false, true) => Err(invalid(
            "The statement was run with ResultFormat JSON: use GetStatementResult.",
        )),
        _ => Ok(result),
    }
}

const TOKEN_PREFIX: &str = "memshift-rows:";

fn offset_token(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{offset}"))
}

/// The offset a token of [`offset_token`] holds.
///
/// # Errors
/// `ValidationException` for a token memshift did not issue.
pub fn token_offset(token: Option<&str>) -> Result<usize, Error> {
    let Some(token) = token else {
        return Ok(0);
    };
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.strip_prefix(TOKEN_PREFIX).and_then(|n| n.parse().ok()))
        .ok_or_else(|| invalid("The NextToken is not valid."))
}

/// One page of `items` from `offset`, and the token of the next page when there is one.
#[must_use]
pub fn page<T: Clone>(items: &[T], offset: usize, size: usize) -> (Vec<T>, Option<String>) {
    let start = offset.min(items.len());
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| offset_token(end));
    (items[start..end].to_vec(), next)
}

/// GetStatementResult's answer.
///
/// # Errors
/// The model's errors for GetStatementResult.
pub fn result_page(
    statements: &HashMap<String, Statement>,
    id: &str,
    token: Option<&str>,
) -> Result<GetStatementResultOutput, Error> {
    let result = result_of(statements, id, false)?;
    let (records, next_token) = page(&result.rows, token_offset(token)?, PAGE_ROWS);
    Ok(GetStatementResultOutput {
        records,
        column_metadata: result.columns.clone(),
        total_num_rows: i64::try_from(result.rows.len()).unwrap_or(i64::MAX),
        next_token,
    })
}

/// GetStatementResultV2's answer: one CSV record per row.
///
/// # Errors
/// The model's errors for GetStatementResultV2.
pub fn csv_page(
    statements: &HashMap<String, Statement>,
    id: &str,
    token: Option<&str>,
) -> Result<GetStatementResultV2Output, Error> {
    let result = result_of(statements, id, true)?;
    let (rows, next_token) = page(&result.rows, token_offset(token)?, PAGE_ROWS);
    Ok(GetStatementResultV2Output {
        records: rows
            .iter()
            .map(|row| CsvRecords {
                csv_records: row.iter().map(csv_cell).collect::<Vec<_>>().join(","),
            })
            .collect(),
        column_metadata: result.columns.clone(),
        total_num_rows: i64::try_from(result.rows.len()).unwrap_or(i64::MAX),
        result_format: "CSV",
        next_token,
    })
}

/// ListStatements' answer: newest first; by default only finished statements, as the
/// service lists them.
///
/// # Errors
/// The model's errors for ListStatements.
pub fn list(
    statements: &HashMap<String, Statement>,
    access_key_id: Option<&str>,
    req: &ListStatementsInput,
) -> Result<ListStatementsOutput, Error> {
    let size = match req.max_results {
        None | Some(0) => 100,
        Some(n @ 1..=100) => usize::try_from(n).unwrap_or(100),
        Some(_) => return Err(invalid("MaxResults must be between 0 and 100.")),
    };
    let status = req.status.as_deref().unwrap_or("FINISHED");
    if !matches!(
        status,
        "SUBMITTED" | "PICKED" | "STARTED" | "FINISHED" | "ABORTED" | "FAILED" | "ALL"
    ) {
        return Err(invalid(format!("Invalid Status {status}.")));
    }
    if req.cluster_identifier.is_some() && req.workgroup_name.is_some() {
        return Err(invalid(
            "Specify either ClusterIdentifier or WorkgroupName, not both.",
        ));
    }
    let offset = token_offset(req.next_token.as_deref())?;
    let mut matching: Vec<&Statement> = statements
        .values()
        .filter(|s| status == "ALL" || s.status.as_str() == status)
        .filter(|s| {
            req.statement_name.as_ref().is_none_or(|prefix| {
                s.name
                    .as_ref()
                    .is_some_and(|n| n.starts_with(prefix.as_str()))
            })
        })
        .filter(|s| req.role_level != Some(false) || s.access_key_id.as_deref() == access_key_id)
        .filter(|s| {
            req.cluster_identifier
                .as_ref()
                .is_none_or(|c| s.cluster.as_ref() == Some(c))
                && req
                    .workgroup_name
                    .as_ref()
                    .is_none_or(|w| s.workgroup.as_ref() == Some(w))
                && req
                    .database
                    .as_ref()
                    .is_none_or(|d| s.database.as_ref() == Some(d))
        })
        .collect();
    matching.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    let (chosen, next_token) = page(&matching, offset, size);
    Ok(ListStatementsOutput {
        statements: chosen
            .into_iter()
            .map(|s| StatementData {
                id: s.id.clone(),
                query_string: (!s.batch).then(|| s.parts[0].query.clone()),
                query_strings: s
                    .batch
                    .then(|| s.parts.iter().map(|p| p.query.clone()).collect()),
                status: s.status.as_str(),
                statement_name: s.name.clone(),
                created_at: epoch(s.created),
                updated_at: epoch(s.updated),
                query_parameters: s.parameters.clone(),
                is_batch_statement: s.batch,
                result_format: if s.csv { "CSV" } else { "JSON" },
                session_id: s.session_id.clone(),
            })
            .collect(),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_models_pattern() {
        assert!(valid_id("d9b6c0c9-0747-4bf4-b142-e8883122f766"));
        assert!(valid_id("d9b6c0c9-0747-4bf4-b142-e8883122f766:2"));
        assert!(!valid_id("d9b6c0c9-0747-4bf4-b142-e8883122f76"));
        assert!(!valid_id("D9B6C0C9-0747-4bf4-b142-e8883122f766"));
        assert!(!valid_id("d9b6c0c9-0747-4bf4-b142-e8883122f766:123"));
    }

    #[test]
    fn pages_cover_every_item_once() {
        let items: Vec<u32> = (0..2500).collect();
        let mut seen = Vec::new();
        let mut offset = 0;
        loop {
            let (chunk, next) = page(&items, offset, PAGE_ROWS);
            seen.extend(chunk);
            match next {
                Some(token) => offset = token_offset(Some(&token)).unwrap(),
                None => break,
            }
        }
        assert_eq!(seen, items);
        assert!(token_offset(Some("garbage")).is_err());
    }
}
