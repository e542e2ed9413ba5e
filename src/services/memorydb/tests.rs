//! Snapshots, restores and failovers: the service's rules, without a wire or an engine.

use std::time::Duration;

use chrono::Utc;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::clusters::{self, ClusterEnv};
use super::model::{
    ClusterResponse, CopySnapshotRequest, CreateClusterRequest, CreateSnapshotRequest,
    DeleteClusterRequest, DeleteSnapshotRequest, DescribeSnapshotsRequest, FailoverShardRequest,
    ListTagsRequest, Snapshot, TagResourceRequest, UntagResourceRequest,
};
use super::store::{MAX_SNAPSHOTS, SnapshotData};
use super::{Error, Store, snapshots, tags};
use crate::state::Scope;

fn env<'a>(
    scope: &'a Scope,
    ready: &'a dyn Fn(&str) -> bool,
    creation_delay: Duration,
) -> ClusterEnv<'a> {
    ClusterEnv {
        scope,
        now: Utc::now(),
        creation_delay,
        port_of: &|_| None,
        new_ports: &|_| Ok(None),
        node_port_of: &|_| None,
        endpoint_host: "localhost",
        snapshot_ready: ready,
        recovering: &|_| false,
    }
}

fn from<T: DeserializeOwned>(json: Value) -> T {
    serde_json::from_value(json).unwrap()
}

fn scope() -> Scope {
    Scope::new("000000000000", "us-east-1")
}

const READY: &dyn Fn(&str) -> bool = &|_| true;
const NOT_READY: &dyn Fn(&str) -> bool = &|_| false;

fn create_cluster(store: &mut Store, env: &ClusterEnv<'_>, input: &Value) -> ClusterResponse {
    let mut body = json!({"NodeType": "db.t4g.small", "ACLName": "open-access"});
    body.as_object_mut()
        .unwrap()
        .extend(input.as_object().unwrap().clone());
    clusters::create(store, env, &from::<CreateClusterRequest>(body)).unwrap()
}

fn create_snapshot(
    store: &mut Store,
    env: &ClusterEnv<'_>,
    input: Value,
) -> Result<Snapshot, Error> {
    snapshots::create(store, env, &from::<CreateSnapshotRequest>(input)).map(|r| r.snapshot)
}

fn copy(store: &mut Store, env: &ClusterEnv<'_>, input: Value) -> Result<Snapshot, Error> {
    snapshots::copy(store, env, &from::<CopySnapshotRequest>(input)).map(|r| r.snapshot)
}

fn describe(store: &Store, env: &ClusterEnv<'_>, input: Value) -> Result<Vec<Snapshot>, Error> {
    snapshots::describe(store, env, &from::<DescribeSnapshotsRequest>(input)).map(|r| r.snapshots)
}

fn delete(store: &mut Store, env: &ClusterEnv<'_>, name: &str) -> Result<Snapshot, Error> {
    let req: DeleteSnapshotRequest = from(json!({"SnapshotName": name}));
    snapshots::delete(store, env, &req).map(|r| r.snapshot)
}

/// A store with clusters `c1` (3 shards, 2 replicas each) and `c2` (defaults), and the
/// snapshot `s1` of `c1`; nothing counted as written.
fn fixture(env: &ClusterEnv<'_>) -> Store {
    let mut store = Store::default();
    create_cluster(
        &mut store,
        env,
        &json!({"ClusterName": "c1", "NumShards": 3, "NumReplicasPerShard": 2}),
    );
    create_cluster(&mut store, env, &json!({"ClusterName": "c2"}));
    create_snapshot(
        &mut store,
        env,
        json!({"ClusterName": "c1", "SnapshotName": "s1"}),
    )
    .unwrap();
    forget_writes(&mut store);
    store
}

fn forget_writes(store: &mut Store) {
    store.users.forget_written();
    store.acls.forget_written();
    store.clusters.forget_written();
    store.snapshots.forget_written();
}

/// A failed call wrote nothing.
fn assert_unchanged(store: &mut Store) {
    assert!(store.users.take_written().is_empty());
    assert!(store.acls.take_written().is_empty());
    assert!(store.clusters.take_written().is_empty());
    assert!(store.snapshots.take_written().is_empty());
}

fn fill_to_quota(store: &mut Store) {
    let template = store.snapshots["s1"].clone();
    for i in store.snapshots.len()..MAX_SNAPSHOTS {
        let mut record = template.clone();
        record.name = format!("filler-{i}");
        store.snapshots.insert(record.name.clone(), record);
    }
    forget_writes(store);
}

#[test]
fn create_snapshot_answers_creating_and_keeps_the_cluster_configuration() {
    let scope = scope();
    let env = env(&scope, READY, Duration::ZERO);
    let mut store = fixture(&env);
    let out = create_snapshot(
        &mut store,
        &env,
        json!({"ClusterName": "C2", "SnapshotName": "Snap-2", "KmsKeyId": "key-1",
               "Tags": [{"Key": "team", "Value": "a"}]}),
    )
    .unwrap();
    let text = serde_json::to_value(&out).unwrap();
    assert_eq!(text["Name"], "snap-2");
    assert_eq!(text["Status"], "creating");
    assert_eq!(text["Source"], "manual");
    assert_eq!(text["KmsKeyId"], "key-1");
    assert_eq!(text["DataTiering"], "false");
    assert_eq!(
        text["ARN"],
        "arn:aws:memorydb:us-east-1:000000000000:snapshot/snap-2"
    );
    let config = &text["ClusterConfiguration"];
    assert_eq!(config["Name"], "c2");
    assert_eq!(config["NumShards"], 1);
    assert_eq!(config["Port"], 6379);
    assert_eq!(config["Engine"], "redis");
    assert!(config.get("Shards").is_none() && config.get("VpcId").is_none());
    let record = &store.snapshots["snap-2"];
    assert_eq!(record.data, SnapshotData::Cluster("c2".to_owned()));
    assert_eq!(record.cluster.name, "c2");
    assert_eq!(record.tags, [("team".to_owned(), "a".to_owned())]);
    assert_eq!(store.snapshots.take_written().len(), 1);
}

#[test]
fn create_snapshot_refusals_change_nothing() {
    let scope = scope();
    let env = env(&scope, READY, Duration::ZERO);
    let mut store = fixture(&env);
    let many: Vec<Value> = (0..51)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    for (input, code) in [
        (
            json!({"ClusterName": "c1", "SnapshotName": "s1"}),
            "SnapshotAlreadyExistsFault",
        ),
        (
            json!({"ClusterName": "c1", "SnapshotName": "S1"}),
            "SnapshotAlreadyExistsFault",
        ),
        (
            json!({"ClusterName": "nope", "SnapshotName": "s9"}),
            "ClusterNotFoundFault",
        ),
        (
            json!({"ClusterName": "c1", "SnapshotName": "9bad"}),
            "InvalidParameterValueException",
        ),
        (
            json!({"ClusterName": "c1", "SnapshotName": "a--b"}),
            "InvalidParameterValueException",
        ),
        (
            json!({"ClusterName": "c1", "SnapshotName": "s9", "Tags": many}),
            "TagQuotaPerResourceExceeded",
        ),
    ] {
        let e = create_snapshot(&mut store, &env, input.clone()).unwrap_err();
        assert_eq!(e.code(), code, "{input}: {e}");
        assert_unchanged(&mut store);
    }

    let slow = ClusterEnv {
        creation_delay: Duration::from_hours(1),
        ..env
    };
    create_cluster(&mut store, &slow, &json!({"ClusterName": "young"}));
    forget_writes(&mut store);
    let e = create_snapshot(
        &mut store,
        &slow,
        json!({"ClusterName": "young", "SnapshotName": "s9"}),
    )
    .unwrap_err();
    assert_eq!(e.code(), "InvalidClusterStateFault");
    assert_unchanged(&mut store);

    fill_to_quota(&mut store);
    let e = create_snapshot(
        &mut store,
        &env,
        json!({"ClusterName": "c1", "SnapshotName": "s9"}),
    )
    .unwrap_err();
    assert_eq!(e, Error::SnapshotQuotaExceeded(MAX_SNAPSHOTS));
    assert_unchanged(&mut store);
}

#[test]
fn describe_snapshots_filters_pages_and_details() {
    let scope = scope();
    let env = env(&scope, READY, Duration::ZERO);
    let mut store = fixture(&env);
    create_snapshot(
        &mut store,
        &env,
        json!({"ClusterName": "c2", "SnapshotName": "s2"}),
    )
    .unwrap();
    let names = |list: Vec<Snapshot>| list.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(
        names(describe(&store, &env, json!({})).unwrap()),
        ["s1", "s2"]
    );
    assert_eq!(
        names(describe(&store, &env, json!({"ClusterName": "C2"})).unwrap()),
        ["s2"]
    );
    assert_eq!(
        names(describe(&store, &env, json!({"Source": "user"})).unwrap()),
        ["s1", "s2"]
    );
    assert!(
        describe(&store, &env, json!({"Source": "system"}))
            .unwrap()
            .is_empty()
    );
    assert!(
        describe(&store, &env, json!({"ClusterName": "none"}))
            .unwrap()
            .is_empty()
    );
    assert!(
        describe(
            &store,
            &env,
            json!({"SnapshotName": "s1", "ClusterName": "c2"})
        )
        .unwrap()
        .is_empty()
    );
    for (input, code) in [
        (json!({"SnapshotName": "gone"}), "SnapshotNotFoundFault"),
        (
            json!({"Source": "manual"}),
            "InvalidParameterValueException",
        ),
        (json!({"MaxResults": 0}), "InvalidParameterValueException"),
        (
            json!({"NextToken": "junk"}),
            "InvalidParameterValueException",
        ),
    ] {
        let e = describe(&store, &env, input.clone()).unwrap_err();
        assert_eq!(e.code(), code, "{input}");
    }

    let first = snapshots::describe(&store, &env, &from(json!({"MaxResults": 1}))).unwrap();
    assert_eq!(names(first.snapshots), ["s1"]);
    let second = describe(
        &store,
        &env,
        json!({"MaxResults": 1, "NextToken": first.next_token.unwrap()}),
    )
    .unwrap();
    assert_eq!(names(second), ["s2"]);

    let plain =
        serde_json::to_value(&describe(&store, &env, json!({"SnapshotName": "s1"})).unwrap()[0])
            .unwrap();
    assert_eq!(plain["Status"], "available");
    assert_eq!(plain["ClusterConfiguration"]["NumShards"], 3);
    assert!(plain["ClusterConfiguration"].get("Shards").is_none());
    let detail = describe(
        &store,
        &env,
        json!({"SnapshotName": "s1", "ShowDetail": true}),
    )
    .unwrap();
    let shards = &serde_json::to_value(&detail[0]).unwrap()["ClusterConfiguration"]["Shards"];
    let slots: Vec<&str> = (0..3)
        .map(|i| shards[i]["Configuration"]["Slots"].as_str().unwrap())
        .collect();
    assert_eq!(slots, ["0-5460", "5461-10922", "10923-16383"]);
    assert_eq!(shards[2]["Name"], "0003");
    assert_eq!(shards[0]["Configuration"]["ReplicaCount"], 2);
    assert!(shards[0]["SnapshotCreationTime"].is_f64());

    let pending = ClusterEnv {
        snapshot_ready: NOT_READY,
        recovering: &|_| false,
        ..env
    };
    assert_eq!(
        describe(&store, &pending, json!({})).unwrap()[0].status,
        "creating"
    );
}

#[test]
fn copies_keep_the_source_configuration() {
    let scope = scope();
    let env = env(&scope, READY, Duration::ZERO);
    let mut store = fixture(&env);
    let out = copy(
        &mut store,
        &env,
        json!({"SourceSnapshotName": "S1", "TargetSnapshotName": "s1-copy",
               "Tags": [{"Key": "k", "Value": "v"}]}),
    )
    .unwrap();
    assert_eq!((out.status, out.source.as_str()), ("creating", "manual"));
    assert_eq!(out.cluster_configuration.name, "c1");
    assert_eq!(out.cluster_configuration.num_shards, 3);
    let record = &store.snapshots["s1-copy"];
    assert_eq!(record.data, SnapshotData::Copy("s1".to_owned()));
    assert_eq!(record.cluster.replicas_per_shard, 2);
    assert_eq!(record.tags.len(), 1);
}

#[test]
fn copy_refusals_change_nothing() {
    let scope = scope();
    let env = env(&scope, READY, Duration::ZERO);
    let mut store = fixture(&env);
    let many: Vec<Value> = (0..51)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    let bucket = json!({"SourceSnapshotName": "s1", "TargetSnapshotName": "x",
                        "TargetBucket": "my-bucket"});
    let e = copy(&mut store, &env, bucket).unwrap_err();
    assert_eq!(e.code(), "InvalidParameterValueException");
    assert!(e.to_string().contains("not emulated"), "{e}");
    assert_unchanged(&mut store);
    for (input, code) in [
        (
            json!({"SourceSnapshotName": "gone", "TargetSnapshotName": "x"}),
            "SnapshotNotFoundFault",
        ),
        (
            json!({"SourceSnapshotName": "s1", "TargetSnapshotName": "s1"}),
            "SnapshotAlreadyExistsFault",
        ),
        (
            json!({"SourceSnapshotName": "s1", "TargetSnapshotName": "-x"}),
            "InvalidParameterValueException",
        ),
        (
            json!({"SourceSnapshotName": "s1", "TargetSnapshotName": "x", "Tags": many}),
            "TagQuotaPerResourceExceeded",
        ),
    ] {
        let e = copy(&mut store, &env, input.clone()).unwrap_err();
        assert_eq!(e.code(), code, "{input}: {e}");
        assert_unchanged(&mut store);
    }
    let pending = ClusterEnv {
        snapshot_ready: NOT_READY,
        recovering: &|_| false,
        ..env
    };
    let input = json!({"SourceSnapshotName": "s1", "TargetSnapshotName": "x"});
    let e = copy(&mut store, &pending, input.clone()).unwrap_err();
    assert_eq!(e.code(), "InvalidSnapshotStateFault");
    assert_unchanged(&mut store);
    fill_to_quota(&mut store);
    let e = copy(&mut store, &env, input).unwrap_err();
    assert_eq!(e.code(), "SnapshotQuotaExceededFault");
    assert_unchanged(&mut store);
}

#[test]
fn delete_snapshot_answers_deleting_and_removes_it() {
    let scope = scope();
    let env = env(&scope, READY, Duration::ZERO);
    let mut store = fixture(&env);
    let e = delete(&mut store, &env, "gone").unwrap_err();
    assert_eq!(e, Error::SnapshotNotFound("gone".to_owned()));
    assert_unchanged(&mut store);

    let pending = ClusterEnv {
        snapshot_ready: NOT_READY,
        recovering: &|_| false,
        ..env
    };
    let e = delete(&mut store, &pending, "s1").unwrap_err();
    assert_eq!(e.code(), "InvalidSnapshotStateFault");
    assert_unchanged(&mut store);

    // A copy in the making still reads its source.
    copy(
        &mut store,
        &env,
        json!({"SourceSnapshotName": "s1", "TargetSnapshotName": "s1-copy"}),
    )
    .unwrap();
    forget_writes(&mut store);
    let copy_pending = ClusterEnv {
        snapshot_ready: &|name: &str| name != "s1-copy",
        ..env
    };
    let e = delete(&mut store, &copy_pending, "s1").unwrap_err();
    assert_eq!(e.code(), "InvalidSnapshotStateFault");
    assert!(e.to_string().contains("s1-copy"), "{e}");
    assert_unchanged(&mut store);

    let out = delete(&mut store, &env, "S1").unwrap();
    assert_eq!((out.name.as_str(), out.status), ("s1", "deleting"));
    assert!(!store.snapshots.contains_key("s1"));
    assert_eq!(
        delete(&mut store, &env, "s1").unwrap_err().code(),
        "SnapshotNotFoundFault"
    );
}

#[test]
fn delete_cluster_takes_its_final_snapshot() {
    let scope = scope();
    let env = env(&scope, READY, Duration::ZERO);
    let mut store = fixture(&env);
    let delete_cluster = |store: &mut Store, input: Value| {
        clusters::delete(store, &env, &from::<DeleteClusterRequest>(input))
    };
    for (input, code) in [
        (
            json!({"ClusterName": "c1", "FinalSnapshotName": "s1"}),
            "SnapshotAlreadyExistsFault",
        ),
        (
            json!({"ClusterName": "c1", "FinalSnapshotName": "bad_name"}),
            "InvalidParameterValueException",
        ),
        (
            json!({"ClusterName": "nope", "FinalSnapshotName": "last"}),
            "ClusterNotFoundFault",
        ),
    ] {
        let e = delete_cluster(&mut store, input.clone()).unwrap_err();
        assert_eq!(e.code(), code, "{input}");
        assert_unchanged(&mut store);
    }
    assert!(store.clusters.contains_key("c1"));

    let out = delete_cluster(
        &mut store,
        json!({"ClusterName": "c1", "FinalSnapshotName": "Last"}),
    )
    .unwrap();
    assert_eq!(out.cluster.status, "deleting");
    assert!(!store.clusters.contains_key("c1"));
    let last = &store.snapshots["last"];
    assert_eq!(last.source, "manual");
    assert_eq!(last.data, SnapshotData::Cluster("c1".to_owned()));
    assert_eq!(
        (last.cluster.num_shards, last.cluster.replicas_per_shard),
        (3, 2)
    );
    let shown = describe(&store, &env, json!({"SnapshotName": "last"})).unwrap();
    assert_eq!(shown[0].cluster_configuration.name, "c1");
}

#[test]
fn clusters_restore_from_available_snapshots() {
    let scope = scope();
    let env = env(&scope, READY, Duration::ZERO);
    let mut store = fixture(&env);
    let out = create_cluster(
        &mut store,
        &env,
        &json!({"ClusterName": "restored", "SnapshotName": "S1"}),
    );
    assert_eq!(out.cluster.number_of_shards, 3);
    let record = &store.clusters["restored"];
    assert_eq!(record.restore_from.as_deref(), Some("s1"));
    assert_eq!(record.replicas_per_shard, 1, "replicas keep their default");
    create_cluster(
        &mut store,
        &env,
        &json!({"ClusterName": "resharded", "SnapshotName": "s1", "NumShards": 2}),
    );
    assert_eq!(store.clusters["resharded"].num_shards, 2);
    assert_eq!(store.clusters["c2"].restore_from, None);
    forget_writes(&mut store);

    let pending = ClusterEnv {
        snapshot_ready: NOT_READY,
        recovering: &|_| false,
        ..env
    };
    for (env, input, says) in [
        (&env, json!({"SnapshotName": "gone"}), "not found"),
        (
            &pending,
            json!({"SnapshotName": "s1"}),
            "still being created",
        ),
        (
            &env,
            json!({"SnapshotArns": ["arn:aws:s3:::bucket/dump.rdb"]}),
            "not emulated",
        ),
    ] {
        let mut body = json!({"ClusterName": "c9", "NodeType": "db.t4g.small",
                              "ACLName": "open-access"});
        body.as_object_mut()
            .unwrap()
            .extend(input.as_object().unwrap().clone());
        let e = clusters::create(&mut store, env, &from(body)).unwrap_err();
        assert_eq!(e.code(), "InvalidParameterValueException", "{input}");
        assert!(e.to_string().contains(says), "{e}");
        assert_unchanged(&mut store);
    }
}

#[test]
fn failover_needs_a_known_shard_with_replicas() {
    let scope = scope();
    let env = env(&scope, READY, Duration::ZERO);
    let mut store = fixture(&env);
    create_cluster(
        &mut store,
        &env,
        &json!({"ClusterName": "single", "NumReplicasPerShard": 0}),
    );
    let slow = ClusterEnv {
        creation_delay: Duration::from_hours(1),
        ..env
    };
    create_cluster(&mut store, &slow, &json!({"ClusterName": "young"}));
    forget_writes(&mut store);
    let failover = |env: &ClusterEnv<'_>, cluster: &str, shard: &str| {
        let req: FailoverShardRequest = from(json!({"ClusterName": cluster, "ShardName": shard}));
        clusters::failover_shard(&store, env, &req)
    };
    let out = failover(&env, "C1", "0003").unwrap();
    assert_eq!(
        (out.cluster.name.as_str(), out.cluster.status),
        ("c1", "available")
    );
    for (env, cluster, shard, code) in [
        (&env, "nope", "0001", "ClusterNotFoundFault"),
        (&env, "c1", "0004", "ShardNotFoundFault"),
        (&env, "c1", "1", "ShardNotFoundFault"),
        (&env, "c1", "0000", "ShardNotFoundFault"),
        (&env, "single", "0001", "TestFailoverNotAvailableFault"),
        (&slow, "young", "0001", "InvalidClusterStateFault"),
    ] {
        let e = failover(env, cluster, shard).unwrap_err();
        assert_eq!(e.code(), code, "{cluster} {shard}");
    }
    assert_unchanged(&mut store);
}

#[test]
fn snapshots_take_tags_by_arn() {
    let scope = scope();
    let env = env(&scope, READY, Duration::ZERO);
    let mut store = fixture(&env);
    let arn = "arn:aws:memorydb:us-east-1:000000000000:snapshot/s1";
    let tagged = tags::tag(
        &mut store,
        &scope,
        &from::<TagResourceRequest>(json!({"ResourceArn": arn,
            "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]})),
    )
    .unwrap();
    assert_eq!(tagged.tag_list.len(), 2);
    let untagged = tags::untag(
        &mut store,
        &scope,
        &from::<UntagResourceRequest>(json!({"ResourceArn": arn, "TagKeys": ["a"]})),
    )
    .unwrap();
    assert_eq!(untagged.tag_list.len(), 1);
    let listed = tags::list(
        &store,
        &scope,
        &from::<ListTagsRequest>(json!({"ResourceArn": arn})),
    )
    .unwrap();
    assert_eq!(listed.tag_list[0].key.as_deref(), Some("b"));
    forget_writes(&mut store);
    let gone = "arn:aws:memorydb:us-east-1:000000000000:snapshot/gone";
    let e = tags::tag(
        &mut store,
        &scope,
        &from::<TagResourceRequest>(json!({"ResourceArn": gone,
            "Tags": [{"Key": "a", "Value": "1"}]})),
    )
    .unwrap_err();
    assert_eq!(e, Error::SnapshotNotFound("gone".to_owned()));
    assert_unchanged(&mut store);
}
