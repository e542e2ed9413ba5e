//! Seeding: a JSON file of API calls applied at start-up (and after a reset) through the
//! same code path as requests, so the same validation applies.
//!
//! ```json
//! [
//!   {"service": "memorydb", "action": "CreateUser",
//!    "input": {"UserName": "app", "AuthenticationMode": {"Type": "iam"}, "AccessString": "on ~* +@all"}},
//!   {"service": "redshift", "action": "CreateCluster", "region": "eu-west-1", "account": "123456789012",
//!    "input": {"ClusterIdentifier": "wh", "NodeType": "dc2.large", "MasterUsername": "admin",
//!              "MasterUserPassword": "Sup3rSecret", "Tags": [{"Key": "env", "Value": "dev"}]}}
//! ]
//! ```
//!
//! MemoryDB inputs are sent as their JSON body; Redshift inputs are flattened into AWS
//! Query parameters (`Tags.1.Key=env`), which the Query decoder reads like any request.

use std::borrow::Cow;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::protocol::Protocol;
use crate::protocol::context::{RequestContext, Scope, account_for_key};
use crate::services::{memorydb, redshift};
use crate::state::AppState;
use crate::state::persist::Commit;

/// One API call of an init file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitCall {
    pub service: String,
    pub action: String,
    #[serde(default)]
    pub input: Option<Value>,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
}

/// Reads an init file: a JSON list of calls.
///
/// # Errors
/// A message naming the file and what is wrong with it.
pub fn load(path: &Path) -> Result<Vec<InitCall>, String> {
    let text = std::fs::read(path)
        .map_err(|e| format!("cannot read the init file {}: {e}", path.display()))?;
    let calls: Vec<InitCall> = serde_json::from_slice(&text).map_err(|e| {
        format!(
            "the init file {} is not a JSON list of calls: {e}",
            path.display()
        )
    })?;
    for (i, call) in calls.iter().enumerate() {
        if !matches!(call.service.as_str(), "memorydb" | "redshift") {
            return Err(format!(
                "init entry {} ({} {}): service must be \"memorydb\" or \"redshift\"",
                i + 1,
                call.service,
                call.action
            ));
        }
        if let Some(account) = &call.account
            && account_for_key(account).is_none()
        {
            return Err(format!(
                "init entry {} ({} {}): account must be 12 digits",
                i + 1,
                call.service,
                call.action
            ));
        }
        if !matches!(call.input, None | Some(Value::Object(_))) {
            return Err(format!(
                "init entry {} ({} {}): input must be a JSON object",
                i + 1,
                call.service,
                call.action
            ));
        }
    }
    Ok(calls)
}

/// Applies the calls in order; the first failure stops and is reported with its entry.
///
/// # Errors
/// `init entry N (service Action): Code: message`.
pub async fn apply(state: &AppState, calls: &[InitCall]) -> Result<(), String> {
    for (i, call) in calls.iter().enumerate() {
        let ctx = RequestContext {
            request_id: crate::protocol::context::new_request_id(),
            scope: Scope::new(
                call.account
                    .clone()
                    .unwrap_or_else(|| state.defaults().account.clone()),
                call.region
                    .clone()
                    .unwrap_or_else(|| state.defaults().region.clone()),
            ),
            access_key_id: None,
        };
        let input = call
            .input
            .clone()
            .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
        let mut commit = Commit::default();
        let (result, protocol) = if call.service == "memorydb" {
            let body = serde_json::to_vec(&input).unwrap_or_default();
            (
                memorydb::call(state, &ctx, &call.action, &body, &mut commit),
                Protocol::Json,
            )
        } else {
            let mut flat = vec![("Action".to_owned(), call.action.clone())];
            flatten("", &input, &mut flat);
            let params: Vec<(Cow<str>, Cow<str>)> = flat
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
                .collect();
            (
                redshift::call(state, &ctx, &call.action, &params, &mut commit),
                Protocol::Query,
            )
        };
        let failed = |code: &str, message: &str| {
            format!(
                "init entry {} ({} {}): {code}: {message}",
                i + 1,
                call.service,
                call.action
            )
        };
        if let Err(failure) = result {
            let parts = failure.parts(protocol);
            return Err(failed(parts.code, &parts.message));
        }
        commit
            .wait()
            .await
            .map_err(|e| failed("InternalFailure", &e))?;
    }
    Ok(())
}

/// JSON into Query parameters: objects by member name, lists numbered from 1, an empty
/// list as a bare name.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&join(k), v, out);
            }
        }
        Value::Array(items) if items.is_empty() => out.push((prefix.to_owned(), String::new())),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&join(&(i + 1).to_string()), v, out);
            }
        }
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        Value::Number(n) => out.push((prefix.to_owned(), n.to_string())),
        Value::Bool(b) => out.push((prefix.to_owned(), b.to_string())),
        Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::flatten;

    #[test]
    fn json_flattens_into_query_parameters() {
        let v = serde_json::json!({"A": "x", "N": 5, "B": true, "L": ["p", "q"], "E": [], "T": [{"Key": "k", "Value": "v"}], "Z": null});
        let mut out = Vec::new();
        flatten("", &v, &mut out);
        out.sort();
        let pairs: Vec<(&str, &str)> = out.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("A", "x"),
                ("B", "true"),
                ("E", ""),
                ("L.1", "p"),
                ("L.2", "q"),
                ("N", "5"),
                ("T.1.Key", "k"),
                ("T.1.Value", "v")
            ]
        );
    }
}
