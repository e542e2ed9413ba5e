//! The checks of Redshift Serverless input that the model's constraints and the service's
//! documented rules call for. botocore checks only required members, types and `min`;
//! everything else reaches the service and is checked here.

use super::error::{Error, invalid};
use super::model::{ConfigParameter, Tag};
use crate::secret::Secret;
use crate::services::redshift;

/// Most tags a resource may carry (`TagList`, max 200).
pub const MAX_TAGS: usize = 200;

/// Namespace and workgroup names: 3-64 lowercase letters, digits and hyphens.
///
/// # Errors
/// `ValidationException` naming the member.
pub fn resource_name(member: &str, value: &str) -> Result<(), Error> {
    let ok = (3..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{member} must be 3 to 64 characters long and contain only lowercase letters, numbers and hyphens."
        )))
    }
}

/// A database name: 1-64 letters, digits and `_ + . @ -`, first a letter, not a reserved
/// word.
///
/// # Errors
/// `ValidationException`.
pub fn db_name(value: &str) -> Result<(), Error> {
    redshift::validate::db_name("dbName", value, false).map_err(|e| invalid(e.to_string()))
}

/// The admin user name: as a provisioned cluster's master user name.
///
/// # Errors
/// `ValidationException`.
pub fn admin_username(value: &str) -> Result<(), Error> {
    redshift::validate::master_username(value).map_err(|_| {
        invalid(
            "adminUsername must be 1 to 128 alphanumeric characters or the symbols _ + . @ -, begin with a letter, and not be a reserved word.",
        )
    })
}

/// The admin password: as a provisioned cluster's master password.
///
/// # Errors
/// `ValidationException`, without the password.
pub fn admin_password(password: &Secret) -> Result<(), Error> {
    redshift::validate::master_password(password).map_err(|_| {
        invalid(
            "adminUserPassword must be 8 to 64 printable ASCII characters other than ' \" \\ / @ or space, and contain an uppercase letter, a lowercase letter and a digit.",
        )
    })
}

/// Log types a namespace may export.
const LOG_EXPORTS: &[&str] = &["useractivitylog", "userlog", "connectionlog"];

/// # Errors
/// `ValidationException` for a log type the model's enum lacks, or more than 16.
pub fn log_exports(values: &[String]) -> Result<(), Error> {
    if values.len() > 16 {
        return Err(invalid("logExports can have at most 16 entries."));
    }
    match values.iter().find(|v| !LOG_EXPORTS.contains(&v.as_str())) {
        Some(bad) => Err(invalid(format!(
            "Invalid log export type {bad}. Valid types are useractivitylog, userlog and connectionlog."
        ))),
        None => Ok(()),
    }
}

/// Validated tags: keys of 1-128 characters not starting with `aws:`, values up to 256.
///
/// # Errors
/// `ValidationException`.
pub fn tags(tags: &[Tag]) -> Result<Vec<(String, String)>, Error> {
    tags.iter()
        .map(|t| {
            let len = t.key.chars().count();
            if len == 0 || len > 128 {
                return Err(invalid("Tag keys must be 1 to 128 characters long."));
            }
            if t.key.to_ascii_lowercase().starts_with("aws:") {
                return Err(invalid("Tag keys must not start with aws:."));
            }
            if t.value.chars().count() > 256 {
                return Err(invalid("Tag values must be at most 256 characters long."));
            }
            Ok((t.key.clone(), t.value.clone()))
        })
        .collect()
}

/// Adds or replaces tags, refusing more than [`MAX_TAGS`] in all.
///
/// # Errors
/// `TooManyTagsException`.
pub fn merge_tags(
    current: &[(String, String)],
    new: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, Error> {
    crate::services::tagging::merge(current, new, MAX_TAGS)
        .ok_or_else(|| Error::TooManyTags(format!("A resource can have at most {MAX_TAGS} tags.")))
}

/// Base capacity: 8 to 512 RPUs in steps of 8.
///
/// # Errors
/// `ValidationException`.
pub fn base_capacity(value: i32) -> Result<(), Error> {
    if (8..=512).contains(&value) && value % 8 == 0 {
        Ok(())
    } else {
        Err(invalid(
            "The base capacity must be between 8 and 512 RPUs, in units of 8.",
        ))
    }
}

/// Maximum capacity: 8 to 5632 RPUs in steps of 8, at least the base capacity.
///
/// # Errors
/// `ValidationException`.
pub fn max_capacity(value: i32, base: i32) -> Result<(), Error> {
    if !(8..=5632).contains(&value) || value % 8 != 0 {
        return Err(invalid(
            "The maximum capacity must be between 8 and 5632 RPUs, in units of 8.",
        ));
    }
    if value < base {
        return Err(invalid(
            "The maximum capacity must be greater than or equal to the base capacity.",
        ));
    }
    Ok(())
}

/// The workgroup's port: 5431-5455 or 8191-8215.
///
/// # Errors
/// `ValidationException`.
pub fn port(value: i32) -> Result<(), Error> {
    if (5431..=5455).contains(&value) || (8191..=8215).contains(&value) {
        Ok(())
    } else {
        Err(invalid(format!(
            "The port {value} is not valid. Valid port ranges are 5431-5455 and 8191-8215."
        )))
    }
}

/// The parameters a workgroup may set.
const CONFIG_KEYS: &[&str] = &[
    "auto_mv",
    "datestyle",
    "enable_case_sensitive_identifier",
    "enable_user_activity_logging",
    "query_group",
    "search_path",
    "require_ssl",
    "use_fips_ssl",
    "max_query_cpu_time",
    "max_query_blocks_read",
    "max_scan_row_count",
    "max_query_execution_time",
    "max_query_queue_time",
    "max_query_cpu_usage_percent",
    "max_query_temp_blocks_to_disk",
    "max_join_row_count",
    "max_nested_loop_join_row_count",
    "max_io_skew",
    "max_cpu_skew",
    "max_return_row_count",
    "wlm_json_configuration",
];

/// Checked parameters, as (key, value).
///
/// # Errors
/// `ValidationException` naming an unsupported key, as the service does.
pub fn config_parameters(params: &[ConfigParameter]) -> Result<Vec<(String, String)>, Error> {
    params
        .iter()
        .map(|p| {
            let key = p.parameter_key.clone().unwrap_or_default();
            if !CONFIG_KEYS.contains(&key.as_str()) {
                return Err(invalid(format!(
                    "The parameter key {key} isn't supported. Supported values: [[{}]]",
                    CONFIG_KEYS.join(", ")
                )));
            }
            let value = p.parameter_value.clone().unwrap_or_default();
            if key == "wlm_json_configuration" && value.len() > 8000 {
                return Err(invalid(
                    "The value of wlm_json_configuration can be at most 8000 characters.",
                ));
            }
            Ok((key, value))
        })
        .collect()
}

/// `ipAddressType`: `ipv4` or `dualstack`.
///
/// # Errors
/// `ValidationException`.
pub fn ip_address_type(value: &str) -> Result<(), Error> {
    if matches!(value, "ipv4" | "dualstack") {
        Ok(())
    } else {
        Err(invalid(format!(
            "Invalid ipAddressType {value}. Valid values are ipv4 and dualstack."
        )))
    }
}

/// `trackName`: `current` or `trailing`.
///
/// # Errors
/// `ValidationException`.
pub fn track_name(value: &str) -> Result<(), Error> {
    if matches!(value, "current" | "trailing") {
        Ok(())
    } else {
        Err(invalid(format!(
            "Invalid track name {value}. Valid track names are current and trailing."
        )))
    }
}

/// Page sizes of the List operations: 1 to 100, 100 when absent.
///
/// # Errors
/// `ValidationException`.
pub fn max_results(value: Option<i32>) -> Result<usize, Error> {
    match value {
        None => Ok(100),
        Some(v @ 1..=100) => Ok(usize::try_from(v).unwrap_or(100)),
        Some(_) => Err(invalid("maxResults must be between 1 and 100.")),
    }
}

/// `durationSeconds`: 900 to 3600, 900 when absent.
///
/// # Errors
/// `ValidationException`.
pub fn duration(value: Option<i32>) -> Result<i64, Error> {
    match value {
        None => Ok(900),
        Some(v) if (900..=3600).contains(&v) => Ok(i64::from(v)),
        Some(_) => Err(invalid(
            "durationSeconds must be between 900 and 3600 seconds.",
        )),
    }
}
