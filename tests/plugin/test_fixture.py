"""The `memshift` and `memshift_account` fixtures, as a project using the wheel sees them."""

from __future__ import annotations

import datetime
import os
import socket
import ssl

import pytest

import memshift as package

PASSWORD = "plugin-password-0001"


def test_the_server_is_the_installed_package_binary(memshift):
    health = memshift.health()
    assert health["status"] == "running"
    # The binary the fixture runs is the one the wheel installed: same version.
    assert health["version"] == package.__version__
    assert memshift.binary == package.binary()
    assert memshift.endpoint_url == f"http://127.0.0.1:{memshift.port}"


def test_memorydb_users_and_acls(memshift_account):
    memorydb = memshift_account.client("memorydb")
    memorydb.create_user(
        UserName="app",
        AuthenticationMode={"Type": "password", "Passwords": [PASSWORD]},
        AccessString="on ~app:* +@read",
    )
    memorydb.create_acl(ACLName="app-acl", UserNames=["app"])
    user = memorydb.describe_users(UserName="app")["Users"][0]
    assert user["ACLNames"] == ["app-acl"]
    assert user["ARN"] == f"arn:aws:memorydb:us-east-1:{memshift_account.id}:user/app"
    with pytest.raises(memorydb.exceptions.UserNotFoundFault):
        memorydb.delete_user(UserName="nobody")


def test_memorydb_cluster(memshift_account):
    memorydb = memshift_account.client("memorydb")
    cluster = memorydb.create_cluster(
        ClusterName="orders", NodeType="db.t4g.small", ACLName="open-access",
        NumShards=1, NumReplicasPerShard=0,
    )["Cluster"]
    assert cluster["Name"] == "orders"
    described = memorydb.describe_clusters(ClusterName="orders")["Clusters"][0]
    assert described["NumberOfShards"] == 1
    memorydb.delete_cluster(ClusterName="orders")


def test_redshift_cluster_and_credentials(memshift_account):
    redshift = memshift_account.client("redshift")
    redshift.create_cluster(
        ClusterIdentifier="warehouse", NodeType="ra3.xlplus",
        MasterUsername="admin", MasterUserPassword="Sup3rSecret",
    )
    clusters = redshift.describe_clusters()["Clusters"]
    assert [c["ClusterIdentifier"] for c in clusters] == ["warehouse"]
    creds = redshift.get_cluster_credentials(
        ClusterIdentifier="warehouse", DbUser="alice", AutoCreate=True
    )
    assert creds["DbUser"] == "IAMA:alice"
    with pytest.raises(redshift.exceptions.ClusterNotFoundFault):
        redshift.get_cluster_credentials(ClusterIdentifier="nope", DbUser="alice")
    redshift.delete_cluster(ClusterIdentifier="warehouse", SkipFinalClusterSnapshot=True)


@pytest.fixture(scope="session")
def accounts_seen():
    return set()


@pytest.mark.parametrize("turn", ["first", "second"])
def test_each_test_has_an_account_of_its_own(memshift_account, accounts_seen, turn):
    # Both turns make the same names: in a shared account the second would find the
    # first's user and cluster.
    assert memshift_account.id not in accounts_seen
    accounts_seen.add(memshift_account.id)
    assert len(memshift_account.id) == 12 and memshift_account.id.isdigit()
    memorydb = memshift_account.client("memorydb")
    redshift = memshift_account.client("redshift")
    assert [u["Name"] for u in memorydb.describe_users()["Users"]] == ["default"]
    assert redshift.describe_clusters()["Clusters"] == []
    memorydb.create_user(
        UserName="same-name",
        AuthenticationMode={"Type": "password", "Passwords": [PASSWORD]},
        AccessString="on ~* +@all",
    )
    redshift.create_cluster(
        ClusterIdentifier="same-name", NodeType="dc2.large",
        MasterUsername="admin", MasterUserPassword="Sup3rSecret",
    )


def test_client_account_argument_and_default_account(memshift, memshift_account):
    mine = memshift.client("memorydb", account=memshift_account.id)
    mine.create_acl(ACLName="only-here")
    assert memshift_account.client("memorydb").describe_acls(ACLName="only-here")["ACLs"]
    default = memshift.client("memorydb")
    arn = default.describe_users(UserName="default")["Users"][0]["ARN"]
    assert ":000000000000:" in arn
    with pytest.raises(default.exceptions.ACLNotFoundFault):
        default.describe_acls(ACLName="only-here")
    with pytest.raises(ValueError):
        memshift.client("memorydb", account="12345")


def test_advance_clock_moves_credential_expiry(memshift, memshift_account):
    redshift = memshift_account.client("redshift")
    redshift.create_cluster(
        ClusterIdentifier="clock", NodeType="dc2.large",
        MasterUsername="admin", MasterUserPassword="Sup3rSecret",
    )
    before = redshift.get_cluster_credentials(
        ClusterIdentifier="clock", DbUser="alice", DurationSeconds=900
    )["Expiration"]
    start = memshift.clock()["offset_seconds"]
    try:
        moved = memshift.advance_clock(3600)
        assert moved["offset_seconds"] == pytest.approx(start + 3600)
        # An hour later on memshift's clock, the first credential has expired: a new one
        # expires 900 s after the new "now", an hour after the first.
        server_now = datetime.datetime.fromisoformat(moved["now"].replace("Z", "+00:00"))
        assert server_now > before
        after = redshift.get_cluster_credentials(
            ClusterIdentifier="clock", DbUser="alice", DurationSeconds=900
        )["Expiration"]
        assert (after - before).total_seconds() == pytest.approx(3600, abs=60)
    finally:
        memshift.advance_clock(start - memshift.clock()["offset_seconds"])


def test_reset(memshift, memshift_account):
    memorydb = memshift_account.client("memorydb")
    memorydb.create_acl(ACLName="gone-after-reset")
    start = memshift.clock()["offset_seconds"]
    memshift.advance_clock(120)
    memshift.reset()
    assert [a["Name"] for a in memorydb.describe_acls()["ACLs"]] == ["open-access"]
    assert memshift.clock()["offset_seconds"] == pytest.approx(start)


def test_ca_file(memshift):
    path = memshift.ca_file
    assert os.path.isfile(path)
    assert path.startswith(str(memshift.tmp_dir))
    pem = open(path).read()
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    # A CA Python's ssl module accepts as a trust anchor.
    ssl.create_default_context(cafile=path)


def test_ca_file_verifies_a_tls_cluster_endpoint(memshift, memshift_account):
    if "control-plane only" in memshift.health()["engines"]["redis"]:
        pytest.skip("no redis-server here: MemoryDB clusters have no endpoints to reach")
    memorydb = memshift_account.client("memorydb")
    cluster = memorydb.create_cluster(
        ClusterName="tls", NodeType="db.t4g.small", ACLName="open-access",
        NumShards=1, NumReplicasPerShard=0, TLSEnabled=True,
    )["Cluster"]
    endpoint = cluster["ClusterEndpoint"]
    context = ssl.create_default_context(cafile=memshift.ca_file)
    with socket.create_connection((endpoint["Address"], endpoint["Port"]), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=endpoint["Address"]) as tls:
            tls.sendall(b"PING\r\n")
            assert tls.recv(64) == b"+PONG\r\n"
    memorydb.delete_cluster(ClusterName="tls")
