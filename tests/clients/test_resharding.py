"""UpdateCluster reshapes a running cluster in place: shards and replicas are added and
removed for real, slots move with their keys, and clients follow the redirections."""

from __future__ import annotations

import random
import threading
import time

import pytest

from support import new_name, require_redis

redis = pytest.importorskip("redis")
from redis.cluster import RedisCluster  # noqa: E402

require_redis()

KEYS = 10_000




def topology(client) -> list[tuple[tuple[int, int], int]]:
    """(slots, nodes) of each shard, as the cluster itself reports them (CLUSTER SLOTS)."""
    client.nodes_manager.initialize()
    slots = client.cluster_slots()
    return sorted((rng, 1 + len(where["replicas"])) for rng, where in slots.items())


def layout(memorydb, cluster: str) -> list[tuple[str, int]]:
    """(slots, nodes) of each shard, as DescribeClusters reports them."""
    shards = memorydb.describe_clusters(ClusterName=cluster, ShowShardDetails=True)["Clusters"][0]["Shards"]
    return [(s["Slots"], len(s["Nodes"])) for s in sorted(shards, key=lambda s: s["Name"])]


def test_resharding_keeps_every_key(make_client, engine_server, fresh_account, password, ca_file):
    memorydb = make_client(access_key_id=fresh_account, endpoint_url=engine_server.url)
    pw = password()
    user = new_name("app")
    memorydb.create_user(UserName=user, AccessString="on ~* &* +@all",
                         AuthenticationMode={"Type": "password", "Passwords": [pw]})
    acl = new_name("team")
    memorydb.create_acl(ACLName=acl, UserNames=[user])
    cluster = new_name("grow")
    endpoint = memorydb.create_cluster(ClusterName=cluster, NodeType="db.t4g.small", ACLName=acl,
                                       NumShards=2, NumReplicasPerShard=1)["Cluster"]["ClusterEndpoint"]
    client = RedisCluster(host=endpoint["Address"], port=endpoint["Port"], username=user,
                          password=pw, ssl=True, ssl_ca_certs=ca_file, socket_timeout=10)
    pipe = client.pipeline()
    for i in range(KEYS):
        pipe.set(f"key:{i}", f"value-{i}")
    pipe.execute()

    def every_key_is_there():
        names = [f"key:{i}" for i in range(KEYS)]
        values = client.mget_nonatomic(names)
        assert values == [f"value-{i}".encode() for i in range(KEYS)]

    # A reader goes on while the slots move: every read must answer (redirections followed).
    stop, failures, reads = threading.Event(), [], [0]

    def reader():
        r = RedisCluster(host=endpoint["Address"], port=endpoint["Port"], username=user,
                         password=pw, ssl=True, ssl_ca_certs=ca_file, socket_timeout=10)
        while not stop.is_set():
            i = random.randrange(KEYS)
            # A read may meet a node that was just removed, or an ASK to a new primary that
            # owns no slot yet, which redis-py 8 cannot follow (it knows nodes only from
            # CLUSTER SLOTS: "'NoneType' object has no attribute 'redis_connection'"). The
            # client then refreshes its view, as an application's retry would, and the
            # read asked again within a moment must answer.
            for attempt in range(1, 6):
                try:
                    if r.get(f"key:{i}") != f"value-{i}".encode():
                        failures.append(f"key:{i} wrong")
                    break
                except Exception as e:  # noqa: BLE001 - any failure is the finding
                    if attempt == 5:
                        failures.append(repr(e))
                    time.sleep(0.05)
                    r.nodes_manager.initialize()
            reads[0] += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        started = time.monotonic()
        memorydb.update_cluster(ClusterName=cluster, ShardConfiguration={"ShardCount": 3})
        grown = time.monotonic() - started
        assert layout(memorydb, cluster) == [("0-5460", 2), ("5461-10922", 2), ("10923-16383", 2)]
        assert [rng for rng, _ in topology(client)] == [(0, 5460), (5461, 10922), (10923, 16383)]
        every_key_is_there()

        started = time.monotonic()
        memorydb.update_cluster(ClusterName=cluster, ShardConfiguration={"ShardCount": 2})
        shrunk = time.monotonic() - started
        assert layout(memorydb, cluster) == [("0-8191", 2), ("8192-16383", 2)]
        assert [rng for rng, _ in topology(client)] == [(0, 8191), (8192, 16383)]
        every_key_is_there()
    finally:
        stop.set()
        thread.join()
    assert reads[0] > 0 and not failures, failures[:5]
    print(f"2 -> 3 shards: {grown:.2f} s, 3 -> 2 shards: {shrunk:.2f} s, {reads[0]} reads meanwhile")

    # Replicas: up to 2 a shard, then none; the data stays.
    memorydb.update_cluster(ClusterName=cluster, ReplicaConfiguration={"ReplicaCount": 2})
    assert layout(memorydb, cluster) == [("0-8191", 3), ("8192-16383", 3)]
    nodes = [n for s in memorydb.describe_clusters(ClusterName=cluster, ShowShardDetails=True)
             ["Clusters"][0]["Shards"] for n in s["Nodes"]]
    for node in nodes:
        direct = redis.Redis(host=node["Endpoint"]["Address"], port=node["Endpoint"]["Port"],
                             username=user, password=pw, ssl=True, ssl_ca_certs=ca_file)
        assert direct.dbsize() > 0, node["Name"]
    memorydb.update_cluster(ClusterName=cluster, ReplicaConfiguration={"ReplicaCount": 0})
    assert layout(memorydb, cluster) == [("0-8191", 1), ("8192-16383", 1)]
    assert topology(client) == [((0, 8191), 1), ((8192, 16383), 1)]
    every_key_is_there()

    with pytest.raises(memorydb.exceptions.InvalidParameterValueException):
        memorydb.update_cluster(ClusterName=cluster, ReplicaConfiguration={"ReplicaCount": 6})
    memorydb.delete_cluster(ClusterName=cluster)
