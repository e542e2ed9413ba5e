#!/usr/bin/env python3
"""An application's journey through memshift, as a container beside it runs it.

MemoryDB: a password user, an ACL holding it and a TLS cluster of three shards; a
RedisCluster login through the cluster endpoint, with keys on every shard. Redshift: a
cluster, temporary credentials, and a psycopg login with full certificate verification.
Everything made is deleted at the end. Exits 0 when every step passed, 1 with the failing
step's name otherwise.

AWS_ENDPOINT_URL names memshift (default http://memshift:4566, its compose service).
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable

import boto3
import psycopg
from redis.cluster import RedisCluster

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://memshift:4566").rstrip("/")
REGION = os.environ.get("AWS_REGION", "us-east-1")
SHARDS = 3
TIMEOUT = 120  # seconds any wait may take


class StepFailed(Exception):
    pass


current_step = "start"


def step(name: str) -> None:
    global current_step
    current_step = name
    print(f"journey: {name}", flush=True)


def client(service: str):
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def wait_for(what: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not done():
        if time.monotonic() > deadline:
            raise StepFailed(f"{what}: still not done after {TIMEOUT} s")
        time.sleep(0.5)


def memorydb_status(memorydb, name: str) -> str | None:
    try:
        return memorydb.describe_clusters(ClusterName=name)["Clusters"][0]["Status"]
    except memorydb.exceptions.ClusterNotFoundFault:
        return None


def fetch_ca(directory: str) -> str:
    with urllib.request.urlopen(f"{ENDPOINT}/_memshift/ca.pem", timeout=10) as answer:
        pem = answer.read()
    if b"BEGIN CERTIFICATE" not in pem:
        raise StepFailed("GET /_memshift/ca.pem did not answer a PEM certificate")
    path = os.path.join(directory, "memshift-ca.pem")
    with open(path, "wb") as f:
        f.write(pem)
    return path


def memorydb_journey(memorydb, ca: str, names: dict[str, str], cleanup: list) -> None:
    password = secrets.token_urlsafe(24)
    step(f"MemoryDB: user {names['user']}, ACL {names['acl']}")
    memorydb.create_user(
        UserName=names["user"],
        AuthenticationMode={"Type": "password", "Passwords": [password]},
        AccessString="on ~journey:* &* +@all",
    )
    cleanup.append(("MemoryDB user", lambda: memorydb.delete_user(UserName=names["user"])))
    memorydb.create_acl(ACLName=names["acl"], UserNames=[names["user"]])
    cleanup.append(("MemoryDB ACL", lambda: memorydb.delete_acl(ACLName=names["acl"])))

    step(f"MemoryDB: cluster {names['cluster']}, TLS, {SHARDS} shards")
    memorydb.create_cluster(
        ClusterName=names["cluster"],
        NodeType="db.t4g.small",
        ACLName=names["acl"],
        NumShards=SHARDS,
        NumReplicasPerShard=0,
        TLSEnabled=True,
    )

    def delete_cluster():
        memorydb.delete_cluster(ClusterName=names["cluster"])
        wait_for("MemoryDB cluster deletion",
                 lambda: memorydb_status(memorydb, names["cluster"]) is None)

    cleanup.append(("MemoryDB cluster", delete_cluster))
    wait_for("MemoryDB cluster available",
             lambda: memorydb_status(memorydb, names["cluster"]) == "available")
    cluster = memorydb.describe_clusters(ClusterName=names["cluster"])["Clusters"][0]
    endpoint = cluster["ClusterEndpoint"]
    step(f"MemoryDB: RedisCluster login at {endpoint['Address']}:{endpoint['Port']}")
    redis = RedisCluster(
        host=endpoint["Address"],
        port=endpoint["Port"],
        ssl=True,
        ssl_ca_certs=ca,
        ssl_check_hostname=True,
        username=names["user"],
        password=password,
        socket_timeout=10,
    )
    try:
        primaries = redis.get_primaries()
        if len(primaries) != SHARDS:
            raise StepFailed(f"the cluster shows {len(primaries)} primaries, not {SHARDS}")
        keys = [f"journey:{i}" for i in range(64)]
        for key in keys:
            redis.set(key, key.upper())
        for key in keys:
            value = redis.get(key)
            if value != key.upper().encode():
                raise StepFailed(f"GET {key} answered {value!r}")
        nodes = {redis.get_node_from_key(key).name for key in keys}
        if len(nodes) != SHARDS:
            raise StepFailed(f"the keys landed on {len(nodes)} shards, not {SHARDS}")
        print(f"journey: {len(keys)} keys written and read on {len(nodes)} shards: "
              + ", ".join(sorted(nodes)), flush=True)
    finally:
        redis.close()


def redshift_journey(redshift, ca: str, names: dict[str, str], cleanup: list) -> None:
    step(f"Redshift: cluster {names['warehouse']}")
    redshift.create_cluster(
        ClusterIdentifier=names["warehouse"],
        NodeType="dc2.large",
        MasterUsername="admin",
        MasterUserPassword="Journey-" + secrets.token_hex(8),
        DBName="dev",
    )

    def delete_cluster():
        redshift.delete_cluster(ClusterIdentifier=names["warehouse"],
                                SkipFinalClusterSnapshot=True)
        redshift.get_waiter("cluster_deleted").wait(
            ClusterIdentifier=names["warehouse"],
            WaiterConfig={"Delay": 1, "MaxAttempts": TIMEOUT})

    cleanup.append(("Redshift cluster", delete_cluster))
    redshift.get_waiter("cluster_available").wait(
        ClusterIdentifier=names["warehouse"], WaiterConfig={"Delay": 1, "MaxAttempts": TIMEOUT})
    cluster = redshift.describe_clusters(ClusterIdentifier=names["warehouse"])["Clusters"][0]
    endpoint = cluster["Endpoint"]

    step(f"Redshift: temporary credentials for {names['db_user']}")
    creds = redshift.get_cluster_credentials(
        ClusterIdentifier=names["warehouse"],
        DbUser=names["db_user"],
        DbName="dev",
        AutoCreate=True,
    )
    step(f"Redshift: psycopg login at {endpoint['Address']}:{endpoint['Port']} "
         f"as {creds['DbUser']}, sslmode=verify-full")
    with psycopg.connect(
        host=endpoint["Address"],
        port=endpoint["Port"],
        user=creds["DbUser"],
        password=creds["DbPassword"],
        dbname="dev",
        sslmode="verify-full",
        sslrootcert=ca,
        connect_timeout=10,
    ) as conn:
        current_user = conn.execute("select current_user").fetchone()[0]
    # IAM:<user>, or IAMA:<user> when the call created the user (AutoCreate).
    prefix, _, user = current_user.partition(":")
    if current_user != creds["DbUser"] or prefix not in ("IAM", "IAMA") or user != names["db_user"]:
        raise StepFailed(f"current_user is {current_user!r}, the credentials name "
                         f"{creds['DbUser']!r}")
    print(f"journey: select current_user -> {current_user}", flush=True)


def main() -> int:
    run = secrets.token_hex(3)
    names = {
        "user": f"journey-{run}",
        "acl": f"journey-{run}",
        "cluster": f"journey-{run}",
        "warehouse": f"journey-{run}",
        "db_user": f"journey_{run}",
    }
    memorydb = client("memorydb")
    redshift = client("redshift")
    cleanup: list[tuple[str, Callable[[], object]]] = []
    failed = False
    print(f"journey: memshift at {ENDPOINT}", flush=True)
    with tempfile.TemporaryDirectory(prefix="journey-") as directory:
        try:
            step("memshift's CA, from /_memshift/ca.pem")
            ca = fetch_ca(directory)
            memorydb_journey(memorydb, ca, names, cleanup)
            redshift_journey(redshift, ca, names, cleanup)
        except Exception as e:  # any failure: say where, then still clean up
            print(f"journey FAILED at \"{current_step}\": {type(e).__name__}: {e}",
                  file=sys.stderr, flush=True)
            failed = True
        for what, undo in reversed(cleanup):
            step(f"delete the {what}")
            try:
                undo()
            except Exception as e:
                print(f"journey FAILED to delete the {what}: {type(e).__name__}: {e}",
                      file=sys.stderr, flush=True)
                failed = True
    if failed:
        return 1
    print("journey: passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
