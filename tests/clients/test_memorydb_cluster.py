"""MemoryDB clusters as applications use them: cluster mode over TLS, with redis-py's
`RedisCluster` trusting memshift's CA, password users and IAM tokens, on every node."""

from __future__ import annotations

import shutil
import socket
import time

import pytest

from support import new_name, require_redis, without_retries

redis = pytest.importorskip("redis")
from redis.cluster import RedisCluster  # noqa: E402

require_redis()




def iam_token(cluster: str, user: str, region: str, key: str, secret: str) -> str:
    """A MemoryDB IAM token as AWS's documentation builds it: a presigned
    `GET http://<cluster>/?Action=connect&User=<user>` without its scheme."""
    import botocore.session
    from botocore.credentials import Credentials
    from botocore.model import ServiceId
    from botocore.signers import RequestSigner

    session = botocore.session.get_session()
    signer = RequestSigner(ServiceId("memorydb"), region, "memorydb", "v4",
                           Credentials(key, secret), session.get_component("event_emitter"))
    url = signer.generate_presigned_url(
        {"method": "GET", "url": f"http://{cluster}/?Action=connect&User={user}",
         "body": {}, "headers": {}, "context": {}},
        operation_name="connect", expires_in=900, region_name=region)
    return url.removeprefix("http://")


def nodes_of(memorydb, cluster: str) -> list[dict]:
    shards = memorydb.describe_clusters(ClusterName=cluster, ShowShardDetails=True)["Clusters"][0]["Shards"]
    return [dict(node, Shard=s["Name"], Primary=node["Name"].endswith("-001"))
            for s in sorted(shards, key=lambda s: s["Name"]) for node in s["Nodes"]]


def test_three_shards_with_replicas_over_tls(make_client, engine_server, fresh_account, password,
                                             ca_file):
    region = "us-east-1"
    memorydb = make_client(access_key_id=fresh_account, endpoint_url=engine_server.url,
                           region=region)
    admin_pw, app_pw, rotated = password(), password(), password()
    admin, app, robot = new_name("admin"), new_name("app"), new_name("robot")
    memorydb.create_user(UserName=admin, AccessString="on ~* &* +@all",
                         AuthenticationMode={"Type": "password", "Passwords": [admin_pw]})
    memorydb.create_user(UserName=app, AccessString="on ~app:* +@read +@write",
                         AuthenticationMode={"Type": "password", "Passwords": [app_pw]})
    memorydb.create_user(UserName=robot, AccessString="on ~* &* +@all",
                         AuthenticationMode={"Type": "iam"})
    acl = new_name("team")
    memorydb.create_acl(ACLName=acl, UserNames=[admin, app, robot])
    cluster = new_name("shop")
    started = time.monotonic()
    created = memorydb.create_cluster(ClusterName=cluster, NodeType="db.t4g.small", ACLName=acl,
                                      NumShards=3, NumReplicasPerShard=1)["Cluster"]
    endpoint = created["ClusterEndpoint"]
    assert created["TLSEnabled"] is True

    tls = dict(ssl=True, ssl_ca_certs=ca_file, socket_timeout=5)
    client = RedisCluster(host=endpoint["Address"], port=endpoint["Port"], username=admin,
                          password=admin_pw, **tls)
    client.ping()
    print(f"CreateCluster 3x2 to first login: {time.monotonic() - started:.2f} s")

    # The topology names the nodes' own endpoints, as DescribeClusters reports them.
    nodes = nodes_of(memorydb, cluster)
    assert len(nodes) == 6 and len({n["Endpoint"]["Port"] for n in nodes}) == 6
    # Replicas are listed once they have replicated something (as Redis lists them).
    deadline = time.monotonic() + 5
    while True:
        slots = client.cluster_slots()
        if all(where["replicas"] for where in slots.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    primaries = {n["Endpoint"]["Port"] for n in nodes if n["Primary"]}
    assert {where["primary"][1] for where in slots.values()} == primaries
    reported = {replica[1] for where in slots.values() for replica in where["replicas"]}
    assert reported == {n["Endpoint"]["Port"] for n in nodes if not n["Primary"]}

    # Keys land on every shard, and every replica holds its primary's keys.
    for i in range(300):
        client.set(f"key:{i}", i)
    per_node = {}
    for node in nodes:
        direct = redis.Redis(host=node["Endpoint"]["Address"], port=node["Endpoint"]["Port"],
                             username=admin, password=admin_pw, **tls)
        if not node["Primary"]:
            direct.execute_command("READONLY")
        deadline = time.monotonic() + 5
        while True:
            per_node[node["Name"]] = direct.dbsize()
            primary = node["Name"][:-3] + "001"
            if node["Primary"] or per_node[node["Name"]] == per_node[primary]:
                break
            assert time.monotonic() < deadline, f"{node['Name']} did not catch up"
            time.sleep(0.05)
    assert all(per_node[n["Name"]] > 0 for n in nodes), per_node
    assert sum(per_node[n["Name"]] for n in nodes if n["Primary"]) == 300

    def on_every_node(user, pw):
        for node in nodes:
            yield node, redis.Redis(host=node["Endpoint"]["Address"],
                                    port=node["Endpoint"]["Port"], username=user, password=pw,
                                    **tls, **without_retries())

    # NOPERM holds on every node.
    for node, conn in on_every_node(app, app_pw):
        with pytest.raises(redis.exceptions.NoPermissionError):
            conn.set("billing:total", "1")

    # An IAM token logs in, through the cluster endpoint and on every node.
    token = iam_token(cluster, robot, region, fresh_account, "any-secret")
    iam_client = RedisCluster(host=endpoint["Address"], port=endpoint["Port"], username=robot,
                              password=token, **tls)
    assert iam_client.get("key:7") == b"7"
    for node, conn in on_every_node(robot, token):
        assert conn.ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=endpoint["Address"], port=endpoint["Port"], username=robot,
                    password=iam_token("another-cluster", robot, region, fresh_account, "s"),
                    **tls, **without_retries()).ping()

    # A password rotation reaches every node before the call answers.
    memorydb.update_user(UserName=app,
                         AuthenticationMode={"Type": "password", "Passwords": [rotated]})
    def logs_in(conn) -> bool:
        connection = conn.connection_pool.make_connection()
        try:
            connection.connect()  # AUTH is its first command
            return True
        except redis.exceptions.AuthenticationError:
            return False
        finally:
            connection.disconnect()

    assert not any(logs_in(conn) for _, conn in on_every_node(app, app_pw))
    assert all(logs_in(conn) for _, conn in on_every_node(app, rotated))

    # Restricted commands are unknown, even to a user with +@all, on every node.
    for node, conn in on_every_node(admin, admin_pw):
        for command in (["CONFIG", "GET", "*"], ["ACL", "SETUSER", "x", "on"], ["DEBUG", "SLEEP", "0"],
                        ["CLUSTER", "SETSLOT", "1", "STABLE"], ["SHUTDOWN"], ["REPLICAOF", "NO", "ONE"]):
            with pytest.raises(redis.exceptions.ResponseError, match="unknown command"):
                conn.execute_command(*command)
        assert conn.execute_command("ACL", "WHOAMI") == admin.encode()

    memorydb.delete_cluster(ClusterName=cluster)


def test_wrong_trust_and_plain_text_fail_fast(make_client, engine_server, fresh_account,
                                              password, tmp_path):
    memorydb = make_client(access_key_id=fresh_account, endpoint_url=engine_server.url)
    pw = password()
    user = new_name("app")
    memorydb.create_user(UserName=user, AccessString="on ~* +@all",
                         AuthenticationMode={"Type": "password", "Passwords": [pw]})
    acl = new_name("team")
    memorydb.create_acl(ACLName=acl, UserNames=[user])
    cluster = new_name("safe")
    endpoint = memorydb.create_cluster(ClusterName=cluster, NodeType="db.t4g.small",
                                       ACLName=acl)["Cluster"]["ClusterEndpoint"]

    # A CA that is not memshift's: the client refuses the endpoint's certificate.
    import subprocess
    other = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(tmp_path / "k"),
                    "-out", str(other), "-days", "1", "-subj", "/CN=not-memshift"],
                   check=True, capture_output=True)
    with pytest.raises(redis.exceptions.ConnectionError, match="certificate verify failed"):
        redis.Redis(host=endpoint["Address"], port=endpoint["Port"], username=user, password=pw,
                    ssl=True, ssl_ca_certs=str(other), socket_timeout=5, **without_retries()).ping()

    # Plain text on a TLS endpoint: the connection is closed at once, not left hanging.
    started = time.monotonic()
    with socket.create_connection((endpoint["Address"], endpoint["Port"]), timeout=5) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        answer = b""
        while chunk := s.recv(100):
            answer += chunk
    # At most a TLS alert (content type 21), never a Redis reply, and then the end.
    assert answer == b"" or answer[0] == 21, answer
    assert time.monotonic() - started < 1.0
    memorydb.delete_cluster(ClusterName=cluster)


def test_tls_off_needs_the_open_access_acl(make_client, engine_server, fresh_account, password):
    memorydb = make_client(access_key_id=fresh_account, endpoint_url=engine_server.url)
    user = new_name("app")
    memorydb.create_user(UserName=user, AccessString="on ~* +@all",
                         AuthenticationMode={"Type": "password", "Passwords": [password()]})
    acl = new_name("team")
    memorydb.create_acl(ACLName=acl, UserNames=[user])
    with pytest.raises(memorydb.exceptions.InvalidParameterCombinationException):
        memorydb.create_cluster(ClusterName=new_name("plain"), NodeType="db.t4g.small",
                                ACLName=acl, TLSEnabled=False)
    assert not memorydb.describe_clusters()["Clusters"]
    cluster = new_name("plain")
    created = memorydb.create_cluster(ClusterName=cluster, NodeType="db.t4g.small",
                                      ACLName="open-access", TLSEnabled=False)["Cluster"]
    assert created["TLSEnabled"] is False
    endpoint = created["ClusterEndpoint"]
    client = RedisCluster(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=5)
    assert client.set("k", "v") and client.get("k") == b"v"
    with pytest.raises(memorydb.exceptions.InvalidParameterCombinationException):
        memorydb.update_cluster(ClusterName=cluster, ACLName=acl)
    memorydb.delete_cluster(ClusterName=cluster)


def test_readme_journey_redis_cli_over_tls(make_client, engine_server, fresh_account, ca_file):
    """The README's redis-cli journey, as printed: cluster mode, TLS, memshift's CA."""
    if shutil.which("redis-cli") is None:
        pytest.skip("no redis-cli")
    import subprocess
    memorydb = make_client(access_key_id=fresh_account, endpoint_url=engine_server.url)
    memorydb.create_user(UserName="app", AccessString="on ~app:* +@read +@write",
                         AuthenticationMode={"Type": "password", "Passwords": ["app-password-0001"]})
    memorydb.create_acl(ACLName="team", UserNames=["app"])
    endpoint = memorydb.create_cluster(ClusterName="orders", NodeType="db.t4g.small",
                                       ACLName="team", NumShards=3)["Cluster"]["ClusterEndpoint"]

    def cli(*args: str) -> str:
        return subprocess.run(
            ["redis-cli", "-c", "--tls", "--cacert", ca_file, "-p", str(endpoint["Port"]),
             "--user", "app", "--pass", "app-password-0001", "--no-auth-warning", *args],
            capture_output=True, text=True, timeout=10, check=True).stdout.strip()

    assert cli("set", "app:greeting", "hello") == "OK"
    assert cli("get", "app:greeting") == "hello"
    assert "NOPERM" in cli("set", "other", "1")
    memorydb.delete_cluster(ClusterName="orders")
