"""memshift as a service container, seen from an application container, played with two
network namespaces joined by a veth pair: their addresses exist only inside them, as a
compose network's do.

memshift runs in one with `--host 0.0.0.0 --endpoint-host <its address> --endpoint-ports
4510-4559`, as the image runs it. The application, in the other, knows only memshift's
address: it creates a MemoryDB cluster (3 shards, TLS) and a Redshift cluster through the
API and logs in to both through the endpoints they report, redis-py's cluster client
following the topology to every shard, psycopg over TLS with full verification.

Needs root (to make namespaces), `ip`, redis-server and PostgreSQL; skipped without them,
unless TEST_REQUIRE_NETNS, TEST_REQUIRE_REDIS or TEST_REQUIRE_POSTGRES is set (as `.ci/run`
sets them, the first when it runs as root), which makes their absence a failure."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
import uuid

import pytest

from support import require_postgres, require_redis, stop_process

require_redis()
require_postgres()


def _namespaces_usable() -> str | None:
    """Why namespaces cannot be used, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    probe = f"ms-probe-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` fails: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


_why_not = _namespaces_usable()
if _why_not:
    if os.environ.get("TEST_REQUIRE_NETNS"):
        raise RuntimeError(f"TEST_REQUIRE_NETNS is set but {_why_not}")
    pytest.skip(_why_not, allow_module_level=True)


def ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr}"


@pytest.fixture
def networks():
    """Two namespaces on one /24 of their own: (memshift's, the application's, memshift's
    address). Both are removed at the end, with their link, whatever happened."""
    tag = uuid.uuid4().hex[:6]
    server_ns, app_ns = f"ms-srv-{tag}", f"ms-app-{tag}"
    subnet = f"10.{random.randrange(100, 250)}.{random.randrange(0, 250)}"
    server_ip = f"{subnet}.1"
    made = []
    try:
        for ns in (server_ns, app_ns):
            ip("netns", "add", ns)
            made.append(ns)
        ip("link", "add", f"ms{tag}s", "netns", server_ns, "type", "veth",
           "peer", "name", f"ms{tag}a", "netns", app_ns)
        ip("-n", server_ns, "addr", "add", f"{server_ip}/24", "dev", f"ms{tag}s")
        ip("-n", app_ns, "addr", "add", f"{subnet}.2/24", "dev", f"ms{tag}a")
        for ns, dev in ((server_ns, f"ms{tag}s"), (app_ns, f"ms{tag}a")):
            ip("-n", ns, "link", "set", dev, "up")
            # memshift's engines talk to it on loopback inside its namespace.
            ip("-n", ns, "link", "set", "lo", "up")
        yield server_ns, app_ns, server_ip
    finally:
        for ns in made:
            # Whatever still runs in a namespace (a server a failed test left) ends first.
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                  text=True).stdout.split()
            for pid in pids:
                subprocess.run(["kill", "-9", pid], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert tag not in left, f"namespaces left behind: {left}"


# The application: only the standard library, boto3, redis-py and psycopg, and memshift's
# address as its one argument.
APPLICATION = textwrap.dedent(r'''
    import json, os, sys, tempfile, time, urllib.request
    import boto3, psycopg
    from redis.cluster import RedisCluster

    host = sys.argv[1]
    api = f"http://{host}:4566"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{api}/_memshift/health", timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

    def client(service):
        return boto3.client(service, endpoint_url=api, region_name="us-east-1",
                            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                            aws_secret_access_key="secret")

    def journey(ca, seen):
        memorydb = client("memorydb")
        memorydb.create_user(UserName="app", AccessString="on ~* &* +@all",
                             AuthenticationMode={"Type": "password",
                                                 "Passwords": ["app-password-0123456789"]})
        memorydb.create_acl(ACLName="apps", UserNames=["app"])
        memorydb.create_cluster(ClusterName="cache", NodeType="db.t4g.small", ACLName="apps",
                                NumShards=3, NumReplicasPerShard=1, TLSEnabled=True)
        cluster = memorydb.describe_clusters(ClusterName="cache",
                                             ShowShardDetails=True)["Clusters"][0]
        endpoint = cluster["ClusterEndpoint"]
        nodes = [n["Endpoint"] for s in cluster["Shards"] for n in s["Nodes"]]
        seen["memorydb_endpoints"] = [endpoint] + nodes
        rc = RedisCluster(host=endpoint["Address"], port=endpoint["Port"], ssl=True,
                          ssl_ca_certs=ca, username="app",
                          password="app-password-0123456789", socket_timeout=10)
        for i in range(60):
            rc.set(f"key-{i}", f"value-{i}")
        assert all(rc.get(f"key-{i}") == f"value-{i}".encode() for i in range(60))
        seen["topology"] = sorted({(n.host, n.port) for n in rc.get_nodes()})
        seen["primaries_holding_keys"] = len(
            {rc.get_node_from_key(f"key-{i}").name for i in range(60)})
        rc.close()

        redshift = client("redshift")
        redshift.create_cluster(ClusterIdentifier="warehouse", NodeType="dc2.large",
                                MasterUsername="admin", MasterUserPassword="Adm1nPassword")
        described = redshift.describe_clusters(ClusterIdentifier="warehouse")["Clusters"][0]
        seen["redshift_endpoint"] = described["Endpoint"]
        creds = redshift.get_cluster_credentials(ClusterIdentifier="warehouse",
                                                 DbUser="analyst", DbName="dev",
                                                 AutoCreate=True)
        with psycopg.connect(host=described["Endpoint"]["Address"],
                             port=described["Endpoint"]["Port"], user=creds["DbUser"],
                             password=creds["DbPassword"], dbname="dev",
                             sslmode="verify-full", sslrootcert=ca,
                             connect_timeout=10) as db:
            seen["current_user"] = db.execute("select current_user").fetchone()[0]
            seen["ssl"] = db.pgconn.ssl_in_use

    ca = tempfile.NamedTemporaryFile(suffix=".pem", delete=False)
    try:
        ca.write(urllib.request.urlopen(f"{api}/_memshift/ca.pem", timeout=10).read())
        ca.close()
        seen = {}
        journey(ca.name, seen)
    finally:
        os.unlink(ca.name)
    print(json.dumps(seen))
''')


def test_an_application_in_another_network_reaches_every_endpoint(networks, memshift_binary,
                                                                  tmp_path):
    server_ns, app_ns, server_ip = networks
    log_path = tmp_path / "memshift.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMSHIFT_")}
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            ["ip", "netns", "exec", server_ns, str(memshift_binary), "--host", "0.0.0.0",
             "--port", "4566", "--endpoint-host", server_ip, "--endpoint-ports", "4510-4559"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        app = subprocess.run(["ip", "netns", "exec", app_ns, sys.executable, "-c", APPLICATION,
                              server_ip], capture_output=True, text=True, timeout=240)
        assert app.returncode == 0, (
            f"the application failed:\n{app.stderr}\nmemshift's log:\n"
            f"{log_path.read_text(errors='replace')}")
        seen = json.loads(app.stdout.strip().splitlines()[-1])
    finally:
        stop_process(server, timeout=20)

    # Every endpoint names memshift's address, on a port of the range.
    for endpoint in seen["memorydb_endpoints"] + [seen["redshift_endpoint"]]:
        assert endpoint["Address"] == server_ip, endpoint
        assert 4510 <= endpoint["Port"] <= 4559, endpoint
    assert len(seen["memorydb_endpoints"]) == 1 + 3 * 2
    # The cluster client learned the topology from the servers: every node at memshift's
    # address, as DescribeClusters reports them, and the keys spread over the 3 shards.
    nodes = {(e["Address"], e["Port"]) for e in seen["memorydb_endpoints"][1:]}
    assert {tuple(n) for n in seen["topology"]} <= nodes, seen["topology"]
    assert {h for h, _ in seen["topology"]} == {server_ip}
    assert seen["primaries_holding_keys"] == 3
    # The Redshift login went over TLS, verified against memshift's CA by address.
    assert seen["ssl"] is True
    assert seen["current_user"] == "IAMA:analyst"
