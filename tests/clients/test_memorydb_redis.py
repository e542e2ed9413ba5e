"""MemoryDB clusters backed by a real Redis: a journey with boto3 for the control plane
and redis-py as the application's client. Skipped when no redis-server is installed,
unless TEST_REQUIRE_REDIS is set (as CI sets it)."""

from __future__ import annotations


import pytest

from support import new_name, require_redis, without_retries

redis = pytest.importorskip("redis")

require_redis()




def test_journey_user_acl_cluster_login(make_client, engine_server, fresh_account, password,
                                        ca_file):
    memorydb = make_client(access_key_id=fresh_account, endpoint_url=engine_server.url)
    first, second = password(), password()
    user = new_name("app")
    memorydb.create_user(
        UserName=user,
        AccessString="on ~app:* +@read +@write",
        AuthenticationMode={"Type": "password", "Passwords": [first]},
    )
    acl = new_name("team")
    memorydb.create_acl(ACLName=acl, UserNames=[user])
    cluster = new_name("orders")
    created = memorydb.create_cluster(ClusterName=cluster, NodeType="db.t4g.small", ACLName=acl)
    endpoint = created["Cluster"]["ClusterEndpoint"]
    assert endpoint["Address"] == "127.0.0.1"
    described = memorydb.describe_clusters(ClusterName=cluster)["Clusters"][0]
    assert described["Status"] == "available"
    assert memorydb.describe_acls(ACLName=acl)["ACLs"][0]["Clusters"] == [cluster]

    def connect(pw, **more):
        return redis.Redis(host=endpoint["Address"], port=endpoint["Port"], username=user,
                           password=pw, socket_timeout=5, ssl=True, ssl_ca_certs=ca_file, **more)

    app = connect(first)
    assert app.set("app:greeting", "hello")
    assert app.get("app:greeting") == b"hello"
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.set("billing:total", "1")

    # Rotation: the old password no longer logs in.
    memorydb.update_user(UserName=user,
                         AuthenticationMode={"Type": "password", "Passwords": [second]})
    with pytest.raises(redis.exceptions.AuthenticationError):
        connect(first, **without_retries()).ping()
    assert connect(second).get("app:greeting") == b"hello"

    # Deleted: no login at all.
    memorydb.delete_user(UserName=user)
    with pytest.raises(redis.exceptions.AuthenticationError):
        connect(second, **without_retries()).ping()

    memorydb.delete_cluster(ClusterName=cluster)
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2,
                    ssl=True, ssl_ca_certs=ca_file, **without_retries()).ping()
