//! The Amazon Redshift Data API: statements, their results, and the mapping of
//! PostgreSQL's values to the API's types; the domain, without a wire or a database
//! connection.

pub mod error;
pub mod model;
pub mod params;
pub mod statements;
pub mod types;

pub use error::Error;
