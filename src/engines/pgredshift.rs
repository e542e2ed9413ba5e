//! Redshift's answers inside each cluster's PostgreSQL, where they differ from PostgreSQL's
//! in ways Redshift's drivers notice.
//!
//! They live in the databases themselves, not in queries rewritten by the front: every
//! client and every form of a query (simple or extended protocol, prepared, inside a
//! function or a view) sees them, and the front stays a relay.
//!
//! - `version()` answers Redshift's version string (`PostgreSQL 8.0.2 on
//!   i686-pc-linux-gnu, ... Redshift 1.0.<build>`); `pg_catalog.version()` still answers
//!   PostgreSQL's.
//! - `pg_catalog.pg_proc_info`, Redshift's view of functions and stored procedures
//!   (`pg_proc` with the function's oid as `prooid`), which Amazon's `redshift_connector`
//!   reads for `get_procedures()`.
//!
//! `version()` is in the schema `pg_redshift`, searched after `public` and before
//! `pg_catalog` (every role's default `search_path` is `"$user", public, pg_redshift,
//! pg_catalog`): tables are still created in `public`, as on Redshift, and its functions
//! are found before `pg_catalog`'s of the same name. Its name starts with `pg_`, as system
//! schemas' do, so psql's `\dn` and `pg_dump` leave it out. The driver names
//! `pg_catalog.pg_proc_info` in full, so that view is in `pg_catalog`.
//!
//! What the driver's `get_tables()` and `get_columns()` send is Redshift's SQL, not
//! PostgreSQL's (select-list aliases named in `WHERE` and in later select items, subqueries
//! without an alias): PostgreSQL cannot parse it, whatever the catalog holds.
//!
//! Everything is made in every database that takes connections (`template1` among them, so
//! that databases created later have it too): once in the template new clusters' data is
//! copied from, and again at every start of a server on existing data, so that a cluster
//! made by an older memshift gets it as well. The view runs with the privileges of the
//! user who queries it (`security_invoker`).

use std::path::Path;

use super::pgadmin::{admin_session, execute, first_column};
use super::pgwire::{ident, literal};

/// The schema of each database that holds Redshift's answers.
pub const SCHEMA: &str = "pg_redshift";

/// Makes Redshift's answers in every database of a server; `version` is what `version()`
/// answers.
///
/// # Errors
/// A statement failed: the server's message.
pub async fn install(
    admin: &tokio_postgres::Client,
    socket: &Path,
    version: &str,
) -> Result<(), String> {
    execute(admin, &search_path()).await?;
    let statements = statements(version);
    let databases = first_column(
        admin,
        "SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname",
    )
    .await?;
    for database in databases {
        let session = admin_session(socket, &database).await?;
        execute(&session, &statements).await?;
    }
    Ok(())
}

/// What [`install`] runs, in full.
#[must_use]
pub fn recipe(version: &str) -> String {
    format!("{}\n{}", search_path(), statements(version))
}

/// Every role's search path, in every database.
fn search_path() -> String {
    // A list of identifiers: a single string literal would name a single schema.
    format!(
        "ALTER ROLE ALL SET search_path = \"$user\", public, {}, pg_catalog",
        ident(SCHEMA)
    )
}

/// The statements that make (or replace) Redshift's answers in one database.
fn statements(version: &str) -> String {
    let schema = ident(SCHEMA);
    let version = literal(version);
    // A `pg_` schema and a view in `pg_catalog` need this superuser setting, for this
    // session only. Run again on a server's existing data, `IF NOT EXISTS` would notice
    // what is there: not worth a line of memshift's log.
    format!(
        "SET client_min_messages = warning;
SET allow_system_table_mods = on;
CREATE SCHEMA IF NOT EXISTS {schema};
GRANT USAGE ON SCHEMA {schema} TO PUBLIC;
CREATE OR REPLACE FUNCTION {schema}.version() RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {version}::text $$;
CREATE OR REPLACE VIEW pg_catalog.pg_proc_info WITH (security_invoker = true) AS
  SELECT p.oid AS prooid, p.* FROM pg_catalog.pg_proc p;
GRANT SELECT ON pg_catalog.pg_proc_info TO PUBLIC;
RESET allow_system_table_mods;"
    )
}
