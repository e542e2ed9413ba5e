//! The init file: a JSON list of API calls applied at start-up (and after a reset) as
//! typed calls through [`Api::run`], the path of every request, so the same validation
//! applies.
//!
//! ```json
//! [
//!   {"service": "memorydb", "action": "CreateUser",
//!    "input": {"UserName": "app", "AuthenticationMode": {"Type": "iam"}, "AccessString": "on ~* +@all"}},
//!   {"service": "redshift", "action": "CreateCluster", "region": "eu-west-1", "account": "123456789012",
//!    "input": {"ClusterIdentifier": "wh", "NodeType": "dc2.large", "MasterUsername": "admin",
//!              "MasterUserPassword": "Sup3rSecret", "Tags": [{"Key": "env", "Value": "dev"}]}},
//!   {"service": "redshift-serverless", "action": "CreateNamespace",
//!    "input": {"namespaceName": "analytics", "adminUsername": "admin", "adminUserPassword": "Sup3rSecret"}}
//! ]
//! ```
//!
//! Each `input` is read as the operation's typed input, with the model's member names and
//! JSON types (numbers and booleans as JSON numbers and booleans, lists as JSON lists).

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::{Api, Call, JsonValue, RequestContext, Service, memorydb, redshift, serverless};
use crate::protocol::error::Failure;
use crate::state::{Scope, account_for_key};

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
        if !matches!(
            call.service.as_str(),
            "memorydb" | "redshift" | "redshift-serverless"
        ) {
            return Err(format!(
                "init entry {} ({} {}): service must be \"memorydb\", \"redshift\" or \"redshift-serverless\"",
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
pub async fn apply(api: &Api, calls: &[InitCall]) -> Result<(), String> {
    for (i, call) in calls.iter().enumerate() {
        let defaults = api.state.defaults();
        let ctx = RequestContext::internal(Scope::new(
            call.account
                .clone()
                .unwrap_or_else(|| defaults.account.clone()),
            call.region
                .clone()
                .unwrap_or_else(|| defaults.region.clone()),
        ));
        let (service, typed) = decode(call);
        let result = match typed {
            Ok(typed) => api.run(&ctx, typed).await.map(drop),
            Err(failure) => Err(failure),
        };
        if let Err(failure) = result {
            let parts = failure.parts(service.protocol());
            return Err(format!(
                "init entry {} ({} {}): {}: {}",
                i + 1,
                call.service,
                call.action,
                parts.code,
                parts.message
            ));
        }
    }
    Ok(())
}

/// The typed call of an entry.
fn decode(call: &InitCall) -> (Service, Result<Call, Failure>) {
    let input = JsonValue(
        call.input
            .clone()
            .unwrap_or_else(|| Value::Object(serde_json::Map::new())),
    );
    if call.service == "memorydb" {
        let typed = memorydb::operation(&call.action)
            .and_then(|op| op.decode(input))
            .map(Call::Memorydb);
        (Service::Memorydb, typed.map_err(Failure::from))
    } else if call.service == "redshift-serverless" {
        let typed = serverless::operation(&call.action)
            .map_err(Failure::from)
            .and_then(|op| serverless::decode(op, input))
            .map(Call::Serverless);
        (Service::Serverless, typed)
    } else {
        let typed = redshift::decode(&call.action, input).map(Call::Redshift);
        (Service::Redshift, typed.map_err(Failure::from))
    }
}
