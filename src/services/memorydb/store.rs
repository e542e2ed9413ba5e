//! The MemoryDB resources of one account and region, and how they are shown on the wire.
//!
//! Users and ACLs are kept in name-ordered maps; membership is kept on both sides (a
//! user's `acls`, an ACL's `users`) and every mutation updates both in the same call.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::model;
use super::validate::tag_list;
use crate::secret::PasswordHash;
use crate::state::tracked::Tracked;
use crate::state::{Scope, partition};

pub const DEFAULT_USER: &str = "default";
pub const OPEN_ACCESS: &str = "open-access";
/// Users a region may hold unless `--memorydb-user-quota` says otherwise, as on AWS.
pub const MAX_USERS: usize = 2000;
pub const MAX_ACLS: usize = 200;
pub const MAX_USERS_PER_ACL: usize = 100;
/// Snapshots a region may hold (manual and automatic together).
pub const MAX_SNAPSHOTS: usize = 1000;

/// How a user signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Auth {
    /// The built-in `default` user.
    NoPassword,
    /// One or two passwords, kept as SHA-256 hashes.
    Password(Vec<PasswordHash>),
    /// IAM authentication tokens.
    Iam,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub name: String,
    pub access_string: String,
    pub auth: Auth,
    pub acls: BTreeSet<String>,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AclRecord {
    pub name: String,
    pub users: BTreeSet<String>,
    pub clusters: BTreeSet<String>,
    pub tags: Vec<(String, String)>,
}

/// A MemoryDB cluster: its settings as created or updated.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterRecord {
    pub name: String,
    pub description: Option<String>,
    pub node_type: String,
    pub acl_name: String,
    pub num_shards: i32,
    pub replicas_per_shard: i32,
    pub port: i32,
    pub tls: bool,
    pub engine: String,
    pub engine_version: String,
    pub parameter_group: String,
    pub subnet_group: String,
    pub security_groups: Vec<String>,
    pub maintenance_window: String,
    pub snapshot_window: String,
    pub snapshot_retention: i32,
    pub sns_topic_arn: Option<String>,
    pub kms_key_id: Option<String>,
    pub auto_minor_version_upgrade: bool,
    pub data_tiering: bool,
    pub created: chrono::DateTime<chrono::Utc>,
    pub tags: Vec<(String, String)>,
    /// The port of the cluster's endpoint, chosen at creation when a server
    /// binary is available (and kept across restarts when it is still free).
    #[serde(default)]
    pub engine_port: Option<u16>,
    /// The ports of the nodes' endpoints, by node name, chosen at creation like
    /// `engine_port`.
    #[serde(default)]
    pub node_ports: std::collections::BTreeMap<String, u16>,
    /// The snapshot the cluster was created from, whose data its servers load.
    #[serde(default)]
    pub restore_from: Option<String>,
}

/// A MemoryDB snapshot: the cluster's configuration when it was taken, and where its
/// data comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub name: String,
    /// `manual` or `automatic`.
    pub source: String,
    pub kms_key_id: Option<String>,
    pub created: chrono::DateTime<chrono::Utc>,
    pub tags: Vec<(String, String)>,
    /// The cluster's record as it was when the snapshot was taken.
    pub cluster: ClusterRecord,
    pub data: SnapshotData,
}

/// Where a snapshot's data comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnapshotData {
    /// Taken from the running cluster of this name.
    Cluster(String),
    /// Copied from the snapshot of this name.
    Copy(String),
}

/// MemoryDB's state in one account and region.
#[derive(Debug, Clone)]
pub struct Store {
    pub users: Tracked<UserRecord>,
    pub acls: Tracked<AclRecord>,
    pub clusters: Tracked<ClusterRecord>,
    pub snapshots: Tracked<SnapshotRecord>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// The built-in state: the `default` user in the `open-access` ACL.
    #[must_use]
    pub fn new() -> Self {
        let default = UserRecord {
            name: DEFAULT_USER.to_owned(),
            access_string: "on ~* &* +@all".to_owned(),
            auth: Auth::NoPassword,
            acls: BTreeSet::from([OPEN_ACCESS.to_owned()]),
            tags: Vec::new(),
        };
        let open = AclRecord {
            name: OPEN_ACCESS.to_owned(),
            users: BTreeSet::from([DEFAULT_USER.to_owned()]),
            clusters: BTreeSet::new(),
            tags: Vec::new(),
        };
        Store {
            users: [(default.name.clone(), default)].into_iter().collect(),
            acls: [(open.name.clone(), open)].into_iter().collect(),
            clusters: Tracked::default(),
            snapshots: Tracked::default(),
        }
    }
}

#[must_use]
pub fn arn(scope: &Scope, kind: &str, name: &str) -> String {
    // Joined rather than formatted: every user and ACL a Describe call lists has one.
    [
        "arn:",
        partition(&scope.region),
        ":memorydb:",
        &scope.region,
        ":",
        &scope.account,
        ":",
        kind,
        "/",
        name,
    ]
    .concat()
}

impl UserRecord {
    #[must_use]
    pub fn view(&self, scope: &Scope, status: &'static str) -> model::User {
        let (kind, count, engine) = match &self.auth {
            Auth::NoPassword => ("no-password", None, "6.0"),
            Auth::Password(hashes) => ("password", Some(hashes.len()), "6.2"),
            Auth::Iam => ("iam", None, "7.0"),
        };
        model::User {
            name: self.name.clone(),
            status,
            access_string: self.access_string.clone(),
            acl_names: self.acls.iter().cloned().collect(),
            minimum_engine_version: engine,
            authentication: model::Authentication {
                r#type: kind,
                password_count: count,
            },
            arn: arn(scope, "user", &self.name),
        }
    }

    #[must_use]
    pub fn tag_list(&self) -> Vec<model::Tag> {
        tag_list(&self.tags)
    }
}

impl AclRecord {
    #[must_use]
    pub fn view(&self, scope: &Scope, status: &'static str) -> model::Acl {
        model::Acl {
            name: self.name.clone(),
            status,
            user_names: self.users.iter().cloned().collect(),
            minimum_engine_version: "6.2",
            pending_changes: None,
            clusters: self.clusters.iter().cloned().collect(),
            arn: arn(scope, "acl", &self.name),
        }
    }
}
