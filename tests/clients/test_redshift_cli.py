"""The AWS CLI (`aws redshift ...`) against memshift: the cluster and credentials journey
with the CLI's waiters, paging, and errors as the CLI reports them (non-zero exit, the
code in stderr)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from support import cluster_arn, new_cluster_id

WAIT_LIMIT = 5.0


def parse_time(text: str) -> datetime:
    """The CLI prints timestamps as ISO 8601 (`2026-11-21T05:29:28.985Z` or `+00:00`)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_cluster_and_credentials_journey(redshift_cli, account, master_password):
    cli = redshift_cli
    as_me = {"access_key_id": account}
    identifier = new_cluster_id("cli")
    arn = cluster_arn(identifier, account)

    # create-cluster, with the shorthand syntax for tags.
    before = datetime.now(timezone.utc)
    created = cli.ok(
        "create-cluster",
        "--cluster-identifier", identifier,
        "--node-type", "dc2.large",
        "--master-username", "admin",
        "--master-user-password", master_password(),
        "--vpc-security-group-ids", "sg-0123456789abcdef0",
        "--tags", "Key=team,Value=blue", "Key=env,Value=test",
        **as_me,
    )["Cluster"]
    assert created["ClusterIdentifier"] == identifier
    assert created["ClusterStatus"] == "creating"
    assert "Endpoint" not in created
    assert created["NodeType"] == "dc2.large"
    assert created["DBName"] == "dev"
    assert created["NumberOfNodes"] == 1
    assert created["Encrypted"] is True
    assert created["Tags"] == [{"Key": "team", "Value": "blue"}, {"Key": "env", "Value": "test"}]
    assert created["VpcSecurityGroups"] == [
        {"VpcSecurityGroupId": "sg-0123456789abcdef0", "Status": "active"}
    ]
    assert abs((parse_time(created["ClusterCreateTime"]) - before).total_seconds()) < 5

    # wait cluster-available: the first poll succeeds (the waiter polls every 60 s).
    started = time.monotonic()
    assert cli.ok("wait", "cluster-available", "--cluster-identifier", identifier, **as_me) == {}
    elapsed = time.monotonic() - started
    assert elapsed < WAIT_LIMIT, f"wait cluster-available took {elapsed:.1f} s"

    # describe-clusters: the only cluster of the account, now available.
    clusters = cli.ok("describe-clusters", **as_me)["Clusters"]
    assert len(clusters) == 1
    described = clusters[0]
    assert described["ClusterIdentifier"] == identifier
    assert described["ClusterStatus"] == "available"
    assert described["ClusterAvailabilityStatus"] == "Available"
    assert described["Endpoint"] == {"Address": "localhost", "Port": 5439}
    assert re.fullmatch(
        rf"arn:aws:redshift:us-east-1:{account}:namespace:[0-9a-f-]{{36}}",
        described["ClusterNamespaceArn"],
    )

    # get-cluster-credentials with groups and --auto-create.
    requested = datetime.now(timezone.utc)
    creds = cli.ok(
        "get-cluster-credentials",
        "--cluster-identifier", identifier,
        "--db-user", "bob",
        "--db-groups", "g1", "g2",
        "--auto-create",
        **as_me,
    )
    assert set(creds) == {"DbUser", "DbPassword", "Expiration"}
    assert creds["DbUser"] == "IAMA:bob"
    assert re.fullmatch(r"[A-Za-z0-9+/]{76}", creds["DbPassword"])
    expected = requested + timedelta(seconds=900)
    assert abs((parse_time(creds["Expiration"]) - expected).total_seconds()) < 5
    # --no-auto-create and a duration: IAM: and an hour.
    hour = cli.ok(
        "get-cluster-credentials",
        "--cluster-identifier", identifier,
        "--db-user", "bob",
        "--no-auto-create",
        "--duration-seconds", "3600",
        **as_me,
    )
    assert hour["DbUser"] == "IAM:bob"
    assert hour["DbPassword"] != creds["DbPassword"]
    longer_by = parse_time(hour["Expiration"]) - parse_time(creds["Expiration"])
    assert timedelta(seconds=2690) <= longer_by <= timedelta(seconds=2710), longer_by

    # create-tags, describe-tags, delete-tags.
    assert cli.ok("create-tags", "--resource-name", arn, "--tags", "Key=env,Value=prod",
                  "Key=owner,Value=me", **as_me) == {}
    assert cli.ok("describe-tags", "--resource-name", arn, **as_me)["TaggedResources"] == [
        {"Tag": {"Key": k, "Value": v}, "ResourceName": arn, "ResourceType": "cluster"}
        for k, v in (("team", "blue"), ("env", "prod"), ("owner", "me"))
    ]
    untagged = cli.ok("delete-tags", "--resource-name", arn, "--tag-keys", "team", "owner",
                      **as_me)
    assert untagged == {}
    assert cli.ok("describe-clusters", "--cluster-identifier", identifier, **as_me)[
        "Clusters"][0]["Tags"] == [{"Key": "env", "Value": "prod"}]

    # delete-cluster, then wait cluster-deleted.
    deleted = cli.ok(
        "delete-cluster", "--cluster-identifier", identifier, "--skip-final-cluster-snapshot",
        **as_me,
    )["Cluster"]
    assert deleted["ClusterStatus"] == "deleting"
    assert deleted["ClusterIdentifier"] == identifier
    started = time.monotonic()
    assert cli.ok("wait", "cluster-deleted", "--cluster-identifier", identifier, **as_me) == {}
    elapsed = time.monotonic() - started
    assert elapsed < WAIT_LIMIT, f"wait cluster-deleted took {elapsed:.1f} s"
    assert cli.ok("describe-clusters", **as_me) == {"Clusters": []}
    cli.fails("ClusterNotFound", "describe-clusters", "--cluster-identifier", identifier, **as_me)


def test_cli_pages_describe_clusters(redshift_cli, make_redshift, account, master_password):
    # Twenty-five clusters made quickly with boto3, listed by the CLI in pages of twenty.
    boto = make_redshift(access_key_id=account)
    password = master_password()
    identifiers = sorted(new_cluster_id("clipage") for _ in range(25))
    for identifier in identifiers:
        boto.create_cluster(
            ClusterIdentifier=identifier,
            NodeType="dc2.large",
            MasterUsername="admin",
            MasterUserPassword=password,
        )
    listed = redshift_cli.ok("describe-clusters", "--page-size", "20", access_key_id=account)
    assert [c["ClusterIdentifier"] for c in listed["Clusters"]] == identifiers
    assert "NextToken" not in listed
    head = redshift_cli.ok(
        "describe-clusters", "--page-size", "20", "--max-items", "22", access_key_id=account
    )
    assert [c["ClusterIdentifier"] for c in head["Clusters"]] == identifiers[:22]
    assert head["NextToken"]
    # The page size reaches the server as MaxRecords, which must be 20 to 100.
    redshift_cli.fails("InvalidParameterValue", "describe-clusters", "--page-size", "19",
                       access_key_id=account)


@pytest.mark.parametrize(
    ("code", "args"),
    [
        ("ClusterNotFound", ["describe-clusters", "--cluster-identifier", "nope"]),
        ("ClusterNotFound", ["get-cluster-credentials", "--cluster-identifier", "nope",
                             "--db-user", "alice"]),
        ("InvalidParameterCombination", ["delete-cluster", "--cluster-identifier", "nope"]),
        ("InvalidParameterValue", ["get-cluster-credentials", "--cluster-identifier", "nope",
                                   "--db-user", "select"]),
        ("ResourceNotFoundFault", ["create-tags", "--resource-name",
                                   "arn:aws:redshift:us-east-1:{account}:cluster:nope",
                                   "--tags", "Key=k,Value=v"]),
        ("NotImplemented", ["modify-cluster", "--cluster-identifier", "nope",
                            "--number-of-nodes", "2"]),
    ],
    ids=lambda v: v if isinstance(v, str) else v[0],
)
def test_cli_errors(redshift_cli, account, code, args):
    args = [a.format(account=account) for a in args]
    result = redshift_cli.fails(code, *args, access_key_id=account)
    assert result.returncode == 255
    assert result.stdout == ""
    if code == "ClusterNotFound":
        assert "Cluster nope not found." in result.stderr
