//! The wire shapes of the Redshift Data API operations, named as in the model
//! (PascalCase members; `Field`, `ColumnMetadata` and `TableMember` members in camelCase).
//! Timestamps are epoch seconds, as the model gives them no format.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SqlParameter {
    pub name: String,
    pub value: String,
}

/// What ExecuteStatement and BatchExecuteStatement share: where, as whom, and how.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Connection {
    #[serde(default)]
    pub cluster_identifier: Option<String>,
    #[serde(default)]
    pub workgroup_name: Option<String>,
    #[serde(default)]
    pub secret_arn: Option<String>,
    #[serde(default)]
    pub db_user: Option<String>,
    #[serde(default)]
    pub database: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunOptions {
    #[serde(default)]
    pub with_event: Option<bool>,
    #[serde(default)]
    pub statement_name: Option<String>,
    #[serde(default)]
    pub parameters: Option<Vec<SqlParameter>>,
    #[serde(default)]
    pub client_token: Option<String>,
    #[serde(default)]
    pub result_format: Option<String>,
    #[serde(default)]
    pub session_keep_alive_seconds: Option<i32>,
    #[serde(default)]
    pub session_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecuteStatementInput {
    pub sql: String,
    #[serde(flatten)]
    pub connection: Connection,
    #[serde(flatten)]
    pub options: RunOptions,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchExecuteStatementInput {
    pub sqls: Vec<String>,
    #[serde(flatten)]
    pub connection: Connection,
    #[serde(flatten)]
    pub options: RunOptions,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecuteStatementOutput {
    pub id: String,
    pub created_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workgroup_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_user: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub db_groups: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatementIdInput {
    pub id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatementResultInput {
    pub id: String,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubStatementData {
    pub id: String,
    pub duration: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub status: &'static str,
    pub created_at: f64,
    pub updated_at: f64,
    pub query_string: String,
    pub result_rows: i64,
    pub result_size: i64,
    pub redshift_query_id: i64,
    pub has_result_set: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStatementOutput {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workgroup_name: Option<String>,
    pub duration: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub status: &'static str,
    pub created_at: f64,
    pub updated_at: f64,
    pub redshift_pid: i64,
    pub has_result_set: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_string: Option<String>,
    pub result_rows: i64,
    pub result_size: i64,
    pub redshift_query_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_parameters: Option<Vec<SqlParameter>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_statements: Option<Vec<SubStatementData>>,
    pub result_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// One value of a result: exactly one member is set.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Field {
    IsNull(bool),
    BooleanValue(bool),
    LongValue(i64),
    DoubleValue(f64),
    StringValue(String),
    /// Base64, as the JSON protocol carries blobs.
    BlobValue(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnMetadata {
    pub is_case_sensitive: bool,
    pub is_currency: bool,
    pub is_signed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub name: String,
    pub nullable: i32,
    pub precision: i32,
    pub scale: i32,
    pub schema_name: String,
    pub table_name: String,
    pub type_name: String,
    pub length: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_default: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetStatementResultOutput {
    pub records: Vec<Vec<Field>>,
    pub column_metadata: Vec<ColumnMetadata>,
    pub total_num_rows: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CsvRecords {
    #[serde(rename = "CSVRecords")]
    pub csv_records: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetStatementResultV2Output {
    pub records: Vec<CsvRecords>,
    pub column_metadata: Vec<ColumnMetadata>,
    pub total_num_rows: i64,
    pub result_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelStatementOutput {
    pub status: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStatementsInput {
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i32>,
    #[serde(default)]
    pub statement_name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub role_level: Option<bool>,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub cluster_identifier: Option<String>,
    #[serde(default)]
    pub workgroup_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatementData {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_strings: Option<Vec<String>>,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_name: Option<String>,
    pub created_at: f64,
    pub updated_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_parameters: Option<Vec<SqlParameter>>,
    pub is_batch_statement: bool,
    pub result_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStatementsOutput {
    pub statements: Vec<StatementData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// What the metadata operations take: where, as whom, and a page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetadataInput {
    pub database: String,
    #[serde(default)]
    pub cluster_identifier: Option<String>,
    #[serde(default)]
    pub workgroup_name: Option<String>,
    #[serde(default)]
    pub secret_arn: Option<String>,
    #[serde(default)]
    pub db_user: Option<String>,
    #[serde(default)]
    pub connected_database: Option<String>,
    #[serde(default)]
    pub schema_pattern: Option<String>,
    #[serde(default)]
    pub table_pattern: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub table: Option<String>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDatabasesOutput {
    pub databases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSchemasOutput {
    pub schemas: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableMember {
    pub name: String,
    pub r#type: String,
    pub schema: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTablesOutput {
    pub tables: Vec<TableMember>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTableOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    pub column_list: Vec<ColumnMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}
