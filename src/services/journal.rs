//! What a region holds, and the one description of each resource kind: which table it
//! lives in, how it is keyed, and the names its records take in the log and in snapshots.
//! From that description come the log's [`Change`] records, a snapshot's [`Records`], and
//! the [`Journal`] that the state layer uses to track, log, replay and snapshot them.
//!
//! ```text
//! log entry:  {"op":"changes","account":"000000000000","region":"us-east-1",
//!              "changes":[{"kind":"memorydb_user","name":"alice","record":{...}}]}
//! snapshot:   {"account":"000000000000","region":"us-east-1","memorydb_users":[...],...}
//! ```
//!
//! Data directories written by earlier versions name Redshift clusters `cluster`/`clusters`
//! and MemoryDB users and ACLs `user`/`acl`; those names are still read.

use serde::{Deserialize, Serialize};

use super::{memorydb, redshift, serverless};
use crate::state::Journal;

/// Everything one account owns in one region.
#[derive(Debug, Default)]
pub struct Region {
    pub memorydb: memorydb::Store,
    pub redshift: redshift::Store,
    pub serverless: serverless::Store,
}

/// Declares the resource kinds: one line each.
macro_rules! resource_kinds {
    ($(
        $variant:ident: $service:ident.$table:ident of $record:ty, keyed by $key:ident,
        logged as $tag:literal $(| $old_tag:literal)?, snapshotted as $field:ident $(| $old_field:literal)?;
    )*) => {
        /// One record written by a mutation: the whole resource, or `None` when it was
        /// removed.
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(tag = "kind")]
        pub enum Change {
            $(
                #[serde(rename = $tag $(, alias = $old_tag)?)]
                $variant {
                    name: String,
                    record: Option<Box<$record>>,
                },
            )*
        }

        /// A region's records, as a snapshot holds them.
        #[derive(Debug, Clone, Default, Serialize, Deserialize)]
        pub struct Records {
            $(
                #[serde(default $(, alias = $old_field)?)]
                pub $field: Vec<$record>,
            )*
        }

        impl Journal for Region {
            type Change = Change;
            type Records = Records;

            fn set_tracking(&mut self, on: bool) {
                $( self.$service.$table.set_tracking(on); )*
            }

            fn take_changes(&mut self) -> Vec<Change> {
                let mut changes = Vec::new();
                $(
                    for (name, record) in self.$service.$table.take_written() {
                        changes.push(Change::$variant {
                            name,
                            record: record.cloned().map(Box::new),
                        });
                    }
                )*
                changes
            }

            fn forget_changes(&mut self) {
                $( self.$service.$table.forget_written(); )*
            }

            fn apply(&mut self, change: Change) {
                match change {
                    $(
                        Change::$variant { name, record } => {
                            self.$service.$table.restore(name, record.map(|r| *r));
                        }
                    )*
                }
            }

            fn records(&self) -> Records {
                Records {
                    $( $field: self.$service.$table.values().cloned().collect(), )*
                }
            }

            fn from_records(records: Records) -> Self {
                let mut region = Region::default();
                $(
                    region.$service.$table = records
                        .$field
                        .into_iter()
                        .map(|r| (r.$key.clone(), r))
                        .collect();
                )*
                region
            }
        }
    };
}

resource_kinds! {
    MemorydbUser: memorydb.users of memorydb::store::UserRecord, keyed by name,
        logged as "memorydb_user" | "user", snapshotted as memorydb_users | "users";
    MemorydbAcl: memorydb.acls of memorydb::store::AclRecord, keyed by name,
        logged as "memorydb_acl" | "acl", snapshotted as memorydb_acls | "acls";
    MemorydbCluster: memorydb.clusters of memorydb::store::ClusterRecord, keyed by name,
        logged as "memorydb_cluster", snapshotted as memorydb_clusters;
    MemorydbSnapshot: memorydb.snapshots of memorydb::store::SnapshotRecord, keyed by name,
        logged as "memorydb_snapshot", snapshotted as memorydb_snapshots;
    RedshiftCluster: redshift.clusters of redshift::store::ClusterRecord, keyed by identifier,
        logged as "redshift_cluster" | "cluster", snapshotted as redshift_clusters | "clusters";
    ServerlessNamespace: serverless.namespaces of serverless::store::NamespaceRecord, keyed by name,
        logged as "serverless_namespace", snapshotted as serverless_namespaces;
    ServerlessWorkgroup: serverless.workgroups of serverless::store::WorkgroupRecord, keyed by name,
        logged as "serverless_workgroup", snapshotted as serverless_workgroups;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::persist::{Entry, RegionSnapshot};

    #[test]
    fn every_kind_is_logged_and_replayed() {
        let mut region = Region::default();
        region.set_tracking(true);
        let mut user = region.memorydb.users["default"].clone();
        user.name = "alice".to_owned();
        region.memorydb.users.insert("alice".to_owned(), user);
        region.memorydb.acls.remove("open-access");
        let changes = region.take_changes();
        assert_eq!(changes.len(), 2);
        let text = serde_json::to_string(&changes).unwrap();
        assert!(
            text.contains(r#""kind":"memorydb_user","name":"alice""#),
            "{text}"
        );
        assert!(text.contains(r#""kind":"memorydb_acl","name":"open-access","record":null"#));

        let mut replayed = Region::default();
        for change in serde_json::from_str::<Vec<Change>>(&text).unwrap() {
            replayed.apply(change);
        }
        assert!(replayed.memorydb.users.contains_key("alice"));
        assert!(!replayed.memorydb.acls.contains_key("open-access"));
        assert!(replayed.take_changes().is_empty(), "replay is not a write");
    }

    #[test]
    fn snapshots_are_logged_and_replayed() {
        use crate::services::memorydb::store::{SnapshotData, SnapshotRecord};
        let cluster: memorydb::store::ClusterRecord = serde_json::from_value(serde_json::json!({
            "name": "c1", "description": null, "node_type": "db.t4g.small",
            "acl_name": "open-access", "num_shards": 2, "replicas_per_shard": 1, "port": 6379,
            "tls": true, "engine": "redis", "engine_version": "7.1",
            "parameter_group": "default.memorydb-redis7", "subnet_group": "default",
            "security_groups": [], "maintenance_window": "wed:08:00-wed:09:00",
            "snapshot_window": "05:00-06:00", "snapshot_retention": 0, "sns_topic_arn": null,
            "kms_key_id": null, "auto_minor_version_upgrade": true, "data_tiering": false,
            "created": "2026-01-01T00:00:00Z", "tags": []
        }))
        .expect("a cluster written before restores were recorded");
        assert_eq!(cluster.restore_from, None);
        let mut region = Region::default();
        region.set_tracking(true);
        let snapshot = SnapshotRecord {
            name: "s1".to_owned(),
            source: "manual".to_owned(),
            kms_key_id: None,
            created: cluster.created,
            tags: Vec::new(),
            cluster,
            data: SnapshotData::Cluster("c1".to_owned()),
        };
        region.memorydb.snapshots.insert("s1".to_owned(), snapshot);
        let text = serde_json::to_string(&region.take_changes()).unwrap();
        assert!(
            text.contains(r#""kind":"memorydb_snapshot","name":"s1""#),
            "{text}"
        );
        let mut replayed = Region::default();
        for change in serde_json::from_str::<Vec<Change>>(&text).unwrap() {
            replayed.apply(change);
        }
        let record = &replayed.memorydb.snapshots["s1"];
        assert_eq!(record.data, SnapshotData::Cluster("c1".to_owned()));
        assert_eq!(record.cluster.num_shards, 2);
        let records = replayed.records();
        assert_eq!(records.memorydb_snapshots.len(), 1);
        assert!(
            Region::from_records(records)
                .memorydb
                .snapshots
                .contains_key("s1")
        );
    }

    #[test]
    fn data_directories_of_earlier_versions_still_load() {
        let entry = r#"{"op":"changes","account":"000000000000","region":"us-east-1",
            "changes":[{"kind":"user","name":"gone","record":null},
                       {"kind":"acl","name":"open-access","record":null},
                       {"kind":"cluster","name":"c1","record":null}]}"#;
        let Entry::Changes { changes, .. } = serde_json::from_str::<Entry<Change>>(entry).unwrap()
        else {
            panic!("a changes entry");
        };
        assert!(matches!(changes[0], Change::MemorydbUser { .. }));
        assert!(matches!(changes[1], Change::MemorydbAcl { .. }));
        assert!(matches!(changes[2], Change::RedshiftCluster { .. }));

        let region = Region::default();
        let old = serde_json::json!({
            "account": "000000000000",
            "region": "us-east-1",
            "users": serde_json::to_value(region.records().memorydb_users).unwrap(),
            "acls": [],
            "clusters": [],
        });
        let snapshot: RegionSnapshot<Records> = serde_json::from_value(old).unwrap();
        assert_eq!(snapshot.records.memorydb_users.len(), 1);
        let loaded = Region::from_records(snapshot.records);
        assert!(loaded.memorydb.users.contains_key("default"));
        assert!(loaded.memorydb.acls.is_empty());
        assert!(loaded.memorydb.snapshots.is_empty());
    }
}
