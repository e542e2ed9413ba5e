"""Redshift with boto3: clusters and their waiters, temporary database credentials, typed
errors, paging, tags, and isolation across accounts, regions and partitions."""

from __future__ import annotations

import base64
import re
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from support import (
    DEFAULT_KEY,
    cluster_arn,
    new_account_id,
    new_cluster_id,
    new_name,
    redshift_error,
)

NODE_TYPE = "ra3.xlplus"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
# Every waiter of boto3's Redshift model polls every 60 s: finishing fast means the very
# first poll succeeded.
WAIT_LIMIT = 5.0


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def rs(make_redshift, account):
    """A Redshift client of `account` in us-east-1."""
    return make_redshift(access_key_id=account)


def create(client, identifier: str, password: str, **extra) -> dict:
    return client.create_cluster(
        ClusterIdentifier=identifier,
        NodeType=extra.pop("NodeType", NODE_TYPE),
        MasterUsername=extra.pop("MasterUsername", "admin"),
        MasterUserPassword=password,
        **extra,
    )["Cluster"]


def describe(client, identifier: str) -> dict:
    clusters = client.describe_clusters(ClusterIdentifier=identifier)["Clusters"]
    assert len(clusters) == 1, clusters
    return clusters[0]


@pytest.fixture
def cluster(rs, master_password) -> str:
    """An available cluster of `account`."""
    identifier = new_cluster_id("wh")
    create(rs, identifier, master_password())
    rs.get_waiter("cluster_available").wait(ClusterIdentifier=identifier)
    return identifier


def now() -> datetime:
    return datetime.now(timezone.utc)


def assert_close(moment: datetime, expected: datetime, slack: float = 5.0) -> None:
    assert moment.tzinfo is not None and moment.utcoffset() is not None, moment
    assert abs((moment - expected).total_seconds()) <= slack, (moment, expected)


def assert_temporary_password(value: str) -> None:
    """76 base64 characters: 57 random bytes, as AWS's temporary passwords are long."""
    assert len(value) == 76, value
    assert re.fullmatch(r"[A-Za-z0-9+/]{76}", value), value
    assert len(base64.b64decode(value, validate=True)) == 57


def assert_expires(moment: datetime, before: datetime, after: datetime, seconds: int) -> None:
    """`moment` is `seconds` after the server's clock at the call, between before and after
    (and timestamps travel with millisecond precision)."""
    assert moment.tzinfo is not None, moment
    low = before + timedelta(seconds=seconds - 1)
    high = after + timedelta(seconds=seconds + 1)
    assert low <= moment <= high, (moment, low, high)


# ------------------------------------------------------------ create, wait, describe


def test_create_then_wait_until_available(rs, account, master_password):
    identifier = new_cluster_id("Warehouse")  # stored in lowercase
    lower = identifier.lower()
    tags = [{"Key": "team", "Value": "data"}, {"Key": "env", "Value": "test"}]
    before = now()

    created = create(
        rs,
        identifier,
        master_password(),
        Tags=tags,
        VpcSecurityGroupIds=["sg-0123456789abcdef0", "sg-0fedcba9876543210"],
    )

    assert created["ClusterIdentifier"] == lower
    assert created["ClusterStatus"] == "creating"
    assert created["ClusterAvailabilityStatus"] == "Unavailable"
    assert "Endpoint" not in created
    assert created["NodeType"] == NODE_TYPE
    assert created["MasterUsername"] == "admin"
    assert created["DBName"] == "dev"
    assert created["NumberOfNodes"] == 1
    assert created["Encrypted"] is True
    assert created["PubliclyAccessible"] is False
    assert created["Tags"] == tags
    assert created["VpcSecurityGroups"] == [
        {"VpcSecurityGroupId": "sg-0123456789abcdef0", "Status": "active"},
        {"VpcSecurityGroupId": "sg-0fedcba9876543210", "Status": "active"},
    ]
    assert "MasterUserPassword" not in created
    assert "MasterPasswordSecretArn" not in created

    started = time.monotonic()
    rs.get_waiter("cluster_available").wait(ClusterIdentifier=identifier)
    elapsed = time.monotonic() - started
    assert elapsed < WAIT_LIMIT, f"cluster_available took {elapsed:.1f} s"

    described = describe(rs, identifier)
    assert described["ClusterStatus"] == "available"
    assert described["ClusterAvailabilityStatus"] == "Available"
    assert described["Endpoint"] == {"Address": "localhost", "Port": 5439}
    assert re.fullmatch(
        rf"arn:aws:redshift:us-east-1:{account}:namespace:{UUID}",
        described["ClusterNamespaceArn"],
    ), described["ClusterNamespaceArn"]
    assert described["ClusterNamespaceArn"] == created["ClusterNamespaceArn"]
    assert described["DBName"] == "dev"
    assert described["NumberOfNodes"] == 1
    assert described["Encrypted"] is True
    assert described["ClusterNodes"] == [{"NodeRole": "SHARED", "PrivateIPAddress": "10.0.0.10"}]
    assert described["AvailabilityZone"] == "us-east-1a"
    assert described["Tags"] == tags
    assert described["VpcSecurityGroups"] == created["VpcSecurityGroups"]
    assert described["IamRoles"] == []
    assert described["PendingModifiedValues"] == {}
    assert "MasterUserPassword" not in described

    create_time = described["ClusterCreateTime"]
    assert isinstance(create_time, datetime)
    assert_close(create_time, before)
    assert create_time == created["ClusterCreateTime"]

    # The same cluster in the listing of the account: the only one.
    assert [c["ClusterIdentifier"] for c in rs.describe_clusters()["Clusters"]] == [lower]


def test_create_with_every_choice_made(rs, account, master_password):
    identifier = new_cluster_id("big")
    role = f"arn:aws:iam::{account}:role/redshift-s3"
    created = create(
        rs,
        identifier,
        master_password(),
        NodeType="dc2.large",
        MasterUsername="owner",
        DBName="sales",
        ClusterType="multi-node",
        NumberOfNodes=3,
        Port=5440,
        Encrypted=False,
        PubliclyAccessible=True,
        AvailabilityZone="us-east-1c",
        IamRoles=[role],
    )
    assert created["ClusterStatus"] == "creating"
    rs.get_waiter("cluster_available").wait(ClusterIdentifier=identifier)
    described = describe(rs, identifier)
    assert {k: described[k] for k in (
        "NodeType", "MasterUsername", "DBName", "NumberOfNodes", "Encrypted",
        "PubliclyAccessible", "AvailabilityZone", "Endpoint", "IamRoles", "ClusterNodes",
    )} == {
        "NodeType": "dc2.large",
        "MasterUsername": "owner",
        "DBName": "sales",
        "NumberOfNodes": 3,
        "Encrypted": False,
        "PubliclyAccessible": True,
        "AvailabilityZone": "us-east-1c",
        "Endpoint": {"Address": "localhost", "Port": 5440},
        "IamRoles": [{"IamRoleArn": role, "ApplyStatus": "in-sync"}],
        "ClusterNodes": [
            {"NodeRole": "LEADER", "PrivateIPAddress": "10.0.0.10"},
            {"NodeRole": "COMPUTE", "PrivateIPAddress": "10.0.0.11"},
            {"NodeRole": "COMPUTE", "PrivateIPAddress": "10.0.0.12"},
            {"NodeRole": "COMPUTE", "PrivateIPAddress": "10.0.0.13"},
        ],
    }


def test_a_managed_master_password_lives_in_secrets_manager(rs, account):
    identifier = new_cluster_id("managed")
    created = rs.create_cluster(
        ClusterIdentifier=identifier,
        NodeType=NODE_TYPE,
        MasterUsername="admin",
        ManageMasterPassword=True,
    )["Cluster"]
    assert created["MasterPasswordSecretArn"] == (
        f"arn:aws:secretsmanager:us-east-1:{account}:secret:redshift!{identifier}-admin"
    )
    rs.get_waiter("cluster_available").wait(ClusterIdentifier=identifier)
    assert describe(rs, identifier)["MasterPasswordSecretArn"] == created["MasterPasswordSecretArn"]


# --------------------------------------------------------------- temporary credentials


def test_credentials_for_an_auto_created_user(rs, cluster, server):
    log_offset = server.log_size()
    before = now()
    creds = rs.get_cluster_credentials(
        ClusterIdentifier=cluster,
        DbUser="alice",
        DbName="dev",
        DbGroups=["analysts", "readers"],
        AutoCreate=True,
    )
    after = now()
    assert set(creds) == {"DbUser", "DbPassword", "Expiration", "ResponseMetadata"}
    assert creds["DbUser"] == "IAMA:alice"
    assert_temporary_password(creds["DbPassword"])
    # DurationSeconds defaults to 900.
    assert_expires(creds["Expiration"], before, after, 900)

    time.sleep(0.05)
    assert creds["DbPassword"] not in server.log_since(log_offset)


def test_credentials_for_an_existing_user_for_an_hour(rs, cluster):
    before = now()
    creds = rs.get_cluster_credentials(
        ClusterIdentifier=cluster,
        DbUser="alice",
        DbGroups=["analysts", "readers"],
        AutoCreate=False,
        DurationSeconds=3600,
    )
    after = now()
    assert creds["DbUser"] == "IAM:alice"
    assert_temporary_password(creds["DbPassword"])
    assert_expires(creds["Expiration"], before, after, 3600)
    # Without AutoCreate the user is IAM: too.
    bob = rs.get_cluster_credentials(ClusterIdentifier=cluster, DbUser="bob")
    assert bob["DbUser"] == "IAM:bob"


def test_every_call_hands_out_a_fresh_password(rs, cluster, server):
    log_offset = server.log_size()
    issued = [
        rs.get_cluster_credentials(ClusterIdentifier=cluster, DbUser="carol")["DbPassword"]
        for _ in range(5)
    ]
    issued += [
        rs.get_cluster_credentials_with_iam(ClusterIdentifier=cluster)["DbPassword"]
        for _ in range(3)
    ]
    for value in issued:
        assert_temporary_password(value)
    assert len(set(issued)) == len(issued)
    time.sleep(0.05)
    log = server.log_since(log_offset)
    for value in issued:
        assert value not in log, "a temporary password appears in the server log"


def test_credentials_with_iam_follow_the_caller(make_redshift, account, master_password):
    # The default-account key is not twelve digits: it is its own database user.
    default = make_redshift()
    identifier = new_cluster_id("iam")
    create(default, identifier, master_password())
    default.get_waiter("cluster_available").wait(ClusterIdentifier=identifier)
    try:
        before = now()
        creds = default.get_cluster_credentials_with_iam(ClusterIdentifier=identifier)
        after = now()
        assert set(creds) == {
            "DbUser", "DbPassword", "Expiration", "NextRefreshTime", "ResponseMetadata"
        }
        assert creds["DbUser"] == f"IAM:{DEFAULT_KEY}"
        assert_temporary_password(creds["DbPassword"])
        assert_expires(creds["Expiration"], before, after, 900)
        assert creds["NextRefreshTime"] == creds["Expiration"]

        longer = default.get_cluster_credentials_with_iam(
            ClusterIdentifier=identifier, DbName="dev", DurationSeconds=3600
        )
        assert_close(longer["Expiration"], now() + timedelta(seconds=3600))
    finally:
        default.delete_cluster(ClusterIdentifier=identifier, SkipFinalClusterSnapshot=True)

    # A twelve-digit key is the account and the user.
    mine = make_redshift(access_key_id=account)
    create(mine, identifier, master_password())
    mine.get_waiter("cluster_available").wait(ClusterIdentifier=identifier)
    assert mine.get_cluster_credentials_with_iam(ClusterIdentifier=identifier)["DbUser"] == (
        f"IAM:{account}"
    )


def test_no_credentials_for_a_deleted_cluster(rs, cluster):
    rs.delete_cluster(ClusterIdentifier=cluster, SkipFinalClusterSnapshot=True)
    rs.get_waiter("cluster_deleted").wait(ClusterIdentifier=cluster)
    with redshift_error(rs, "ClusterNotFound", 404, "ClusterNotFoundFault") as e:
        rs.get_cluster_credentials(ClusterIdentifier=cluster, DbUser="alice")
    assert e.value.response["Error"]["Message"] == f"Cluster {cluster} not found."
    with redshift_error(rs, "ClusterNotFound", 404, "ClusterNotFoundFault"):
        rs.get_cluster_credentials_with_iam(ClusterIdentifier=cluster)


# ------------------------------------------------------------------------ typed errors


def test_cluster_not_found_fault(rs):
    calls = [
        lambda: rs.describe_clusters(ClusterIdentifier="nope"),
        lambda: rs.delete_cluster(ClusterIdentifier="nope", SkipFinalClusterSnapshot=True),
        lambda: rs.get_cluster_credentials(ClusterIdentifier="nope", DbUser="alice"),
        lambda: rs.get_cluster_credentials_with_iam(ClusterIdentifier="nope"),
    ]
    for call in calls:
        with redshift_error(rs, "ClusterNotFound", 404, "ClusterNotFoundFault") as e:
            call()
        assert e.value.response["Error"]["Message"] == "Cluster nope not found."


def test_cluster_already_exists_fault(rs, cluster, master_password):
    for same in (cluster, cluster.upper()):
        with redshift_error(rs, "ClusterAlreadyExists", 400, "ClusterAlreadyExistsFault") as e:
            create(rs, same, master_password())
        assert e.value.response["Error"]["Message"] == "Cluster already exists"
    # The failed calls changed nothing.
    assert [c["ClusterIdentifier"] for c in rs.describe_clusters()["Clusters"]] == [cluster]


def test_a_second_delete_finds_no_cluster(rs, cluster):
    """With the default creation delay of 0 a deleted cluster is gone from the next call on,
    so a second DeleteCluster finds nothing (AWS would answer InvalidClusterState while the
    cluster is still deleting; see the test with a delay below)."""
    rs.delete_cluster(ClusterIdentifier=cluster, SkipFinalClusterSnapshot=True)
    with redshift_error(rs, "ClusterNotFound", 404, "ClusterNotFoundFault") as e:
        rs.delete_cluster(ClusterIdentifier=cluster, SkipFinalClusterSnapshot=True)
    assert e.value.response["Error"]["Message"] == f"Cluster {cluster} not found."


CREATION_DELAY = "1s"
# Waiters that poll every tenth of a second instead of every minute.
QUICK_WAIT = {"Delay": 0.1, "MaxAttempts": 100}


@pytest.fixture(scope="module")
def delayed_server(memshift_flags, start_server):
    """A server whose clusters stay `creating` and `deleting` for a second."""
    if "--cluster-creation-delay" not in memshift_flags:
        pytest.skip(
            "this memshift has no --cluster-creation-delay: its clusters are never seen "
            "creating or deleting, so InvalidClusterStateFault cannot be produced"
        )
    return start_server("--cluster-creation-delay", CREATION_DELAY)


def test_invalid_cluster_state_fault_while_creating_and_deleting(
    make_redshift, delayed_server, master_password
):
    slow = make_redshift(access_key_id=new_account_id(), endpoint_url=delayed_server.url)
    identifier = new_cluster_id("slow")
    assert create(slow, identifier, master_password())["ClusterStatus"] == "creating"

    creating = describe(slow, identifier)
    assert creating["ClusterStatus"] == "creating"
    assert creating["ClusterAvailabilityStatus"] == "Unavailable"
    assert "Endpoint" not in creating
    with redshift_error(slow, "InvalidClusterState", 400, "InvalidClusterStateFault") as e:
        slow.delete_cluster(ClusterIdentifier=identifier, SkipFinalClusterSnapshot=True)
    assert e.value.response["Error"]["Message"] == (
        "There is an operation running on the Cluster. Please try to delete it at a later time."
    )

    slow.get_waiter("cluster_available").wait(ClusterIdentifier=identifier, WaiterConfig=QUICK_WAIT)
    available = describe(slow, identifier)
    assert available["ClusterStatus"] == "available"
    assert available["Endpoint"] == {"Address": "localhost", "Port": 5439}

    deleted = slow.delete_cluster(ClusterIdentifier=identifier, SkipFinalClusterSnapshot=True)
    assert deleted["Cluster"]["ClusterStatus"] == "deleting"
    assert describe(slow, identifier)["ClusterStatus"] == "deleting"
    with redshift_error(slow, "InvalidClusterState", 400, "InvalidClusterStateFault") as e:
        slow.delete_cluster(ClusterIdentifier=identifier, SkipFinalClusterSnapshot=True)
    assert e.value.response["Error"]["Message"] == (
        f"Cluster {identifier} is already being deleted."
    )
    # A cluster being deleted hands out no credentials.
    with redshift_error(slow, "ClusterNotFound", 404, "ClusterNotFoundFault"):
        slow.get_cluster_credentials(ClusterIdentifier=identifier, DbUser="alice")

    slow.get_waiter("cluster_deleted").wait(ClusterIdentifier=identifier, WaiterConfig=QUICK_WAIT)
    with redshift_error(slow, "ClusterNotFound", 404, "ClusterNotFoundFault"):
        describe(slow, identifier)


def test_tag_limit_exceeded_fault(rs, account, cluster, master_password):
    fifty_one = [{"Key": f"k{i:02d}", "Value": "v"} for i in range(51)]
    refused = new_cluster_id("toomany")
    with redshift_error(rs, "TagLimitExceededFault", 400, "TagLimitExceededFault") as e:
        create(rs, refused, master_password(), Tags=fifty_one)
    assert e.value.response["Error"]["Message"] == (
        "You have exceeded the number of tags allowed (50) for the resource."
    )
    with redshift_error(rs, "ClusterNotFound", 404, "ClusterNotFoundFault"):
        describe(rs, refused)

    arn = cluster_arn(cluster, account)
    rs.create_tags(ResourceName=arn, Tags=fifty_one[:50])
    with redshift_error(rs, "TagLimitExceededFault", 400, "TagLimitExceededFault"):
        rs.create_tags(ResourceName=arn, Tags=fifty_one[50:])
    # Replacing the value of a key it has is no new tag.
    rs.create_tags(ResourceName=arn, Tags=[{"Key": "k00", "Value": "changed"}])
    tags = describe(rs, cluster)["Tags"]
    assert len(tags) == 50
    assert tags[0] == {"Key": "k00", "Value": "changed"}


@pytest.mark.parametrize(
    "tag",
    [
        {"Key": "aws:reserved", "Value": "v"},
        {"Key": "AWS:Reserved", "Value": "v"},
        {"Key": "", "Value": "v"},
        {"Key": "k" * 129, "Value": "v"},
        {"Key": "long-value", "Value": "v" * 257},
    ],
    ids=["aws-prefix", "aws-prefix-uppercase", "empty-key", "key-129", "value-257"],
)
def test_invalid_tag_fault(rs, account, cluster, master_password, tag):
    with redshift_error(rs, "InvalidTagFault", 400, "InvalidTagFault"):
        rs.create_tags(ResourceName=cluster_arn(cluster, account), Tags=[tag])
    refused = new_cluster_id("badtag")
    with redshift_error(rs, "InvalidTagFault", 400, "InvalidTagFault"):
        create(rs, refused, master_password(), Tags=[tag])
    assert describe(rs, cluster)["Tags"] == []
    with redshift_error(rs, "ClusterNotFound", 404, "ClusterNotFoundFault"):
        describe(rs, refused)


def test_resource_not_found_fault(rs, account, cluster):
    elsewhere = [
        cluster_arn("nope", account),  # no such cluster
        cluster_arn(cluster, new_account_id()),  # another account
        cluster_arn(cluster, account, "eu-west-1"),  # another region
        f"arn:aws:redshift:us-east-1:{account}:snapshot:{cluster}/snap",  # not a cluster
    ]
    for arn in elsewhere:
        with redshift_error(rs, "ResourceNotFoundFault", 404, "ResourceNotFoundFault") as e:
            rs.create_tags(ResourceName=arn, Tags=[{"Key": "k", "Value": "v"}])
        assert e.value.response["Error"]["Message"] == f"The resource {arn} could not be found."
        with redshift_error(rs, "ResourceNotFoundFault", 404, "ResourceNotFoundFault"):
            rs.delete_tags(ResourceName=arn, TagKeys=["k"])
        with redshift_error(rs, "ResourceNotFoundFault", 404, "ResourceNotFoundFault"):
            rs.describe_tags(ResourceName=arn)


def _create(client, password, **extra):
    return create(client, new_cluster_id("bad"), password, **extra)


# (case, call(client, cluster, password), expected message or None)
INVALID_VALUE_CASES = [
    ("identifier-starting-with-a-digit",
     lambda c, cl, pw: create(c, "1cluster", pw()),
     "The cluster identifier must begin with a letter."),
    ("identifier-with-two-hyphens",
     lambda c, cl, pw: create(c, "a--b", pw()), None),
    ("identifier-of-64-characters",
     lambda c, cl, pw: create(c, "a" * 64, pw()), None),
    ("unknown-node-type",
     lambda c, cl, pw: _create(c, pw(), NodeType="m5.large"), "Invalid node type: m5.large"),
    ("master-user-PUBLIC",
     lambda c, cl, pw: _create(c, pw(), MasterUsername="PUBLIC"), None),
    ("master-user-reserved-word",
     lambda c, cl, pw: _create(c, pw(), MasterUsername="select"), None),
    ("master-password-of-7-characters",
     lambda c, cl, pw: _create(c, "Short1a"), None),
    ("master-password-with-a-space",
     lambda c, cl, pw: _create(c, "Has Space1"), None),
    ("port-below-1150",
     lambda c, cl, pw: _create(c, pw(), Port=1149), "Port must be between 1150 and 65535."),
    ("database-name-uppercase",
     lambda c, cl, pw: _create(c, pw(), DBName="Sales"), None),
    ("availability-zone-of-another-region",
     lambda c, cl, pw: _create(c, pw(), AvailabilityZone="eu-west-1a"), None),
    ("db-user-reserved-word-select",
     lambda c, cl, pw: c.get_cluster_credentials(ClusterIdentifier=cl, DbUser="select"),
     "DbUser must not be a reserved word."),
    ("db-user-PUBLIC",
     lambda c, cl, pw: c.get_cluster_credentials(ClusterIdentifier=cl, DbUser="PUBLIC"),
     "DbUser must not be a reserved word."),
    ("db-user-with-a-colon",
     lambda c, cl, pw: c.get_cluster_credentials(ClusterIdentifier=cl, DbUser="a:b"), None),
    ("db-user-of-65-characters",
     lambda c, cl, pw: c.get_cluster_credentials(ClusterIdentifier=cl, DbUser="a" * 65), None),
    ("db-group-uppercase",
     lambda c, cl, pw: c.get_cluster_credentials(ClusterIdentifier=cl, DbUser="bob",
                                                 DbGroups=["Admins"]), None),
    ("db-name-reserved-word",
     lambda c, cl, pw: c.get_cluster_credentials(ClusterIdentifier=cl, DbUser="bob",
                                                 DbName="table"), None),
    ("duration-899",
     lambda c, cl, pw: c.get_cluster_credentials(ClusterIdentifier=cl, DbUser="bob",
                                                 DurationSeconds=899),
     "DurationSeconds must be between 900 and 3600 seconds."),
    ("duration-3601",
     lambda c, cl, pw: c.get_cluster_credentials(ClusterIdentifier=cl, DbUser="bob",
                                                 DurationSeconds=3601),
     "DurationSeconds must be between 900 and 3600 seconds."),
    ("iam-duration-899",
     lambda c, cl, pw: c.get_cluster_credentials_with_iam(ClusterIdentifier=cl,
                                                          DurationSeconds=899), None),
    ("max-records-19",
     lambda c, cl, pw: c.describe_clusters(MaxRecords=19),
     "MaxRecords must be between 20 and 100."),
    ("max-records-101",
     lambda c, cl, pw: c.describe_clusters(MaxRecords=101), None),
    ("bad-marker",
     lambda c, cl, pw: c.describe_clusters(Marker="not-a-marker"), None),
    ("resource-name-not-an-arn",
     lambda c, cl, pw: c.create_tags(ResourceName="not-an-arn", Tags=[{"Key": "k", "Value": "v"}]),
     "Invalid resource name not-an-arn: expected an Amazon Redshift ARN."),
    ("final-snapshot-identifier-bad",
     lambda c, cl, pw: c.delete_cluster(ClusterIdentifier=cl,
                                        FinalClusterSnapshotIdentifier="1snap"),
     None),
]


@pytest.mark.parametrize(
    ("call", "message"),
    [pytest.param(call, message, id=case) for case, call, message in INVALID_VALUE_CASES],
)
def test_invalid_parameter_value(rs, cluster, master_password, call, message):
    with redshift_error(rs, "InvalidParameterValue", 400) as e:
        call(rs, cluster, master_password)
    if message is not None:
        assert e.value.response["Error"]["Message"] == message
    # Whatever it was, the cluster is untouched and no other was created.
    assert [c["ClusterIdentifier"] for c in rs.describe_clusters()["Clusters"]] == [cluster]
    assert describe(rs, cluster)["ClusterStatus"] == "available"


def test_a_refused_master_password_is_not_echoed(rs, passwords):
    weak = "weak-" + uuid.uuid4().hex  # no uppercase letter
    passwords.append(weak)  # the leak guard looks for it in the answer and the log
    with redshift_error(rs, "InvalidParameterValue", 400) as e:
        _create(rs, weak)
    assert e.value.response["Error"]["Message"].startswith(
        "The parameter MasterUserPassword is not a valid password."
    )
    assert rs.describe_clusters()["Clusters"] == []


INVALID_COMBINATION_CASES = [
    ("delete-without-a-snapshot-choice",
     lambda c, cl, pw: c.delete_cluster(ClusterIdentifier=cl),
     "FinalClusterSnapshotIdentifier is required unless SkipFinalClusterSnapshot is specified."),
    ("delete-skipping-and-naming-a-snapshot",
     lambda c, cl, pw: c.delete_cluster(ClusterIdentifier=cl, SkipFinalClusterSnapshot=True,
                                        FinalClusterSnapshotIdentifier="final"),
     "FinalClusterSnapshotIdentifier must not be specified when SkipFinalClusterSnapshot is true."),
    ("password-and-managed-password",
     lambda c, cl, pw: _create(c, pw(), ManageMasterPassword=True),
     "You can't specify both MasterUserPassword and ManageMasterPassword."),
    ("single-node-with-two-nodes",
     lambda c, cl, pw: _create(c, pw(), ClusterType="single-node", NumberOfNodes=2), None),
    ("multi-node-with-one-node",
     lambda c, cl, pw: _create(c, pw(), ClusterType="multi-node", NumberOfNodes=1), None),
    ("credentials-by-identifier-and-domain",
     lambda c, cl, pw: c.get_cluster_credentials(ClusterIdentifier=cl, DbUser="bob",
                                                 CustomDomainName="db.example.com"),
     "Specify either ClusterIdentifier or CustomDomainName, not both."),
    ("credentials-by-neither",
     lambda c, cl, pw: c.get_cluster_credentials(DbUser="bob"),
     "Either ClusterIdentifier or CustomDomainName must be specified."),
    ("iam-credentials-by-neither",
     lambda c, cl, pw: c.get_cluster_credentials_with_iam(), None),
]


@pytest.mark.parametrize(
    ("call", "message"),
    [pytest.param(call, message, id=case) for case, call, message in INVALID_COMBINATION_CASES],
)
def test_invalid_parameter_combination(rs, cluster, master_password, call, message):
    with redshift_error(rs, "InvalidParameterCombination", 400) as e:
        call(rs, cluster, master_password)
    if message is not None:
        assert e.value.response["Error"]["Message"] == message
    assert [c["ClusterIdentifier"] for c in rs.describe_clusters()["Clusters"]] == [cluster]
    assert describe(rs, cluster)["ClusterStatus"] == "available"


def test_missing_parameter(rs, make_redshift, account, master_password):
    # boto3 sends it: MasterUserPassword is optional in the model.
    with redshift_error(rs, "MissingParameter", 400) as e:
        rs.create_cluster(
            ClusterIdentifier=new_cluster_id("nopw"), NodeType=NODE_TYPE, MasterUsername="admin"
        )
    assert e.value.response["Error"]["Message"] == (
        "The request must contain the parameter MasterUserPassword."
    )
    # Members the model requires, sent without them.
    raw = make_redshift(access_key_id=account, parameter_validation=False)
    with redshift_error(raw, "MissingParameter", 400) as e:
        raw.create_cluster(
            ClusterIdentifier=new_cluster_id("nonode"),
            MasterUsername="admin",
            MasterUserPassword=master_password(),
        )
    assert e.value.response["Error"]["Message"] == (
        "The request must contain the parameter NodeType."
    )
    with redshift_error(raw, "MissingParameter", 400):
        raw.get_cluster_credentials(ClusterIdentifier="anything")
    with redshift_error(raw, "MissingParameter", 400):
        raw.create_tags(ResourceName=cluster_arn("anything", account))
    assert rs.describe_clusters()["Clusters"] == []


# ------------------------------------------------------------------------------ delete


def test_delete_then_wait_until_deleted(rs, account, cluster, master_password):
    before = describe(rs, cluster)
    deleted = rs.delete_cluster(ClusterIdentifier=cluster, SkipFinalClusterSnapshot=True)["Cluster"]
    assert deleted["ClusterStatus"] == "deleting"
    assert deleted["ClusterAvailabilityStatus"] == "Unavailable"
    assert deleted["ClusterIdentifier"] == cluster
    assert deleted["ClusterNamespaceArn"] == before["ClusterNamespaceArn"]
    assert deleted["Endpoint"] == {"Address": "localhost", "Port": 5439}

    started = time.monotonic()
    rs.get_waiter("cluster_deleted").wait(ClusterIdentifier=cluster)
    elapsed = time.monotonic() - started
    assert elapsed < WAIT_LIMIT, f"cluster_deleted took {elapsed:.1f} s"

    with redshift_error(rs, "ClusterNotFound", 404, "ClusterNotFoundFault"):
        describe(rs, cluster)
    assert rs.describe_clusters()["Clusters"] == []
    with redshift_error(rs, "ResourceNotFoundFault", 404, "ResourceNotFoundFault"):
        rs.describe_tags(ResourceName=cluster_arn(cluster, account))

    # The identifier is free again, for a new cluster with a new namespace.
    again = create(rs, cluster, master_password())
    assert again["ClusterStatus"] == "creating"
    assert again["ClusterNamespaceArn"] != before["ClusterNamespaceArn"]


def test_delete_with_a_final_snapshot_identifier(rs, cluster):
    deleted = rs.delete_cluster(
        ClusterIdentifier=cluster, FinalClusterSnapshotIdentifier=f"{cluster}-final"
    )["Cluster"]
    assert deleted["ClusterStatus"] == "deleting"
    rs.get_waiter("cluster_deleted").wait(ClusterIdentifier=cluster)
    assert rs.describe_clusters()["Clusters"] == []


def test_delete_without_the_snapshot_choice_keeps_the_cluster(rs, cluster):
    with redshift_error(rs, "InvalidParameterCombination", 400):
        rs.delete_cluster(ClusterIdentifier=cluster)
    assert describe(rs, cluster)["ClusterStatus"] == "available"
    rs.get_waiter("cluster_available").wait(ClusterIdentifier=cluster)
    # It can be deleted afterwards, with the choice made.
    assert rs.delete_cluster(ClusterIdentifier=cluster, SkipFinalClusterSnapshot=True)[
        "Cluster"]["ClusterStatus"] == "deleting"


# ------------------------------------------------------------------- paging and tags


def test_describe_clusters_pages_each_cluster_once(rs, master_password):
    password = master_password()
    identifiers = sorted(new_cluster_id("page") for _ in range(25))
    for identifier in identifiers:
        create(rs, identifier, password)

    pages = list(
        rs.get_paginator("describe_clusters").paginate(PaginationConfig={"PageSize": 20})
    )
    seen = [c["ClusterIdentifier"] for page in pages for c in page["Clusters"]]
    assert [len(page["Clusters"]) for page in pages] == [20, 5]
    assert seen == identifiers  # each exactly once, in identifier order
    assert "Marker" in pages[0] and "Marker" not in pages[1]
    assert {c["ClusterStatus"] for page in pages for c in page["Clusters"]} == {"available"}

    # By hand, with a deletion between the pages: nothing is repeated or skipped.
    first = rs.describe_clusters(MaxRecords=20)
    assert [c["ClusterIdentifier"] for c in first["Clusters"]] == identifiers[:20]
    rs.delete_cluster(ClusterIdentifier=identifiers[3], SkipFinalClusterSnapshot=True)
    rest = rs.describe_clusters(MaxRecords=20, Marker=first["Marker"])
    assert [c["ClusterIdentifier"] for c in rest["Clusters"]] == identifiers[20:]
    assert "Marker" not in rest

    # boto3's MaxItems hands out a token to resume from.
    head = rs.get_paginator("describe_clusters").paginate(
        PaginationConfig={"PageSize": 20, "MaxItems": 7}
    ).build_full_result()
    assert [c["ClusterIdentifier"] for c in head["Clusters"]] == [
        i for i in identifiers if i != identifiers[3]
    ][:7]
    tail = rs.get_paginator("describe_clusters").paginate(
        PaginationConfig={"PageSize": 20, "StartingToken": head["NextToken"]}
    ).build_full_result()
    assert [c["ClusterIdentifier"] for c in head["Clusters"] + tail["Clusters"]] == [
        i for i in identifiers if i != identifiers[3]
    ]


def test_describe_clusters_filters_by_tag_keys_and_values(rs, master_password):
    password = master_password()
    prod, dev, untagged, other = (new_cluster_id(p) for p in ("prod", "dev", "none", "other"))
    create(rs, prod, password,
           Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "a"}])
    create(rs, dev, password, Tags=[{"Key": "env", "Value": "dev"}])
    create(rs, untagged, password)
    create(rs, other, password, Tags=[{"Key": "owner", "Value": "prod"}])

    def ids(**filters) -> list[str]:
        return sorted(
            c["ClusterIdentifier"]
            for page in rs.get_paginator("describe_clusters").paginate(**filters)
            for c in page["Clusters"]
        )

    assert ids() == sorted([prod, dev, untagged, other])
    assert ids(TagKeys=["env"]) == sorted([prod, dev])
    assert ids(TagKeys=["team", "owner"]) == sorted([prod, other])
    assert ids(TagValues=["prod"]) == sorted([prod, other])
    assert ids(TagKeys=["env"], TagValues=["prod"]) == [prod]
    assert ids(TagKeys=["absent"]) == []
    # With an identifier, a cluster the filters exclude is not found.
    assert describe(rs, prod)["ClusterIdentifier"] == prod
    assert [c["ClusterIdentifier"] for c in rs.describe_clusters(
        ClusterIdentifier=prod, TagKeys=["env"])["Clusters"]] == [prod]
    with redshift_error(rs, "ClusterNotFound", 404, "ClusterNotFoundFault"):
        rs.describe_clusters(ClusterIdentifier=untagged, TagKeys=["env"])


def test_create_describe_and_delete_tags(rs, account, cluster):
    arn = cluster_arn(cluster, account)
    assert arn == f"arn:aws:redshift:us-east-1:{account}:cluster:{cluster}"

    created = rs.create_tags(
        ResourceName=arn,
        Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "data"}],
    )
    assert set(created) == {"ResponseMetadata"}
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 200

    def tagged(**filters) -> list[dict]:
        return rs.describe_tags(**filters)["TaggedResources"]

    def entry(key: str, value: str) -> dict:
        return {"Tag": {"Key": key, "Value": value}, "ResourceName": arn, "ResourceType": "cluster"}

    assert tagged(ResourceName=arn) == [entry("env", "prod"), entry("team", "data")]
    assert tagged() == [entry("env", "prod"), entry("team", "data")]
    assert tagged(ResourceType="cluster") == [entry("env", "prod"), entry("team", "data")]
    assert tagged(ResourceType="snapshot") == []
    assert tagged(TagKeys=["team"]) == [entry("team", "data")]
    assert tagged(TagValues=["prod"]) == [entry("env", "prod")]
    assert describe(rs, cluster)["Tags"] == [
        {"Key": "env", "Value": "prod"},
        {"Key": "team", "Value": "data"},
    ]

    # A key it has takes the new value; the ARN may name the cluster in another case.
    rs.create_tags(ResourceName=cluster_arn(cluster.upper(), account),
                   Tags=[{"Key": "env", "Value": "staging"}])
    assert tagged(ResourceName=arn) == [entry("env", "staging"), entry("team", "data")]

    # Keys it does not have are ignored.
    deleted = rs.delete_tags(ResourceName=arn, TagKeys=["env", "absent"])
    assert set(deleted) == {"ResponseMetadata"}
    assert tagged(ResourceName=arn) == [entry("team", "data")]
    assert describe(rs, cluster)["Tags"] == [{"Key": "team", "Value": "data"}]
    rs.delete_tags(ResourceName=arn, TagKeys=["team"])
    assert tagged(ResourceName=arn) == []
    assert describe(rs, cluster)["Tags"] == []


# --------------------------------------------------------------------------- isolation


def test_clusters_are_invisible_from_other_accounts_and_regions(make_redshift, master_password):
    account_a, account_b = new_account_id(), new_account_id()
    home = make_redshift(access_key_id=account_a)
    others = [
        make_redshift(access_key_id=account_b),
        make_redshift(access_key_id=account_a, region="eu-west-1"),
        make_redshift(),  # the default account
    ]
    identifier = new_cluster_id("iso")
    created = create(home, identifier, master_password(), Tags=[{"Key": "k", "Value": "v"}])
    assert created["ClusterNamespaceArn"].startswith(
        f"arn:aws:redshift:us-east-1:{account_a}:namespace:"
    )
    home.get_waiter("cluster_available").wait(ClusterIdentifier=identifier)
    arn = cluster_arn(identifier, account_a)

    for client in others:
        with redshift_error(client, "ClusterNotFound", 404, "ClusterNotFoundFault"):
            describe(client, identifier)
        assert identifier not in {
            c["ClusterIdentifier"] for c in client.describe_clusters()["Clusters"]
        }
        with redshift_error(client, "ClusterNotFound", 404, "ClusterNotFoundFault"):
            client.get_cluster_credentials(ClusterIdentifier=identifier, DbUser="alice")
        with redshift_error(client, "ClusterNotFound", 404, "ClusterNotFoundFault"):
            client.delete_cluster(ClusterIdentifier=identifier, SkipFinalClusterSnapshot=True)
        with redshift_error(client, "ResourceNotFoundFault", 404, "ResourceNotFoundFault"):
            client.describe_tags(ResourceName=arn)
        assert arn not in {t["ResourceName"] for t in client.describe_tags()["TaggedResources"]}

    # The same identifier in every other scope is another cluster.
    namespaces = {created["ClusterNamespaceArn"]}
    for client in others[:2]:
        twin = create(client, identifier, master_password())
        namespaces.add(twin["ClusterNamespaceArn"])
        client.delete_cluster(ClusterIdentifier=identifier, SkipFinalClusterSnapshot=True)
    assert len(namespaces) == 3
    # Deleting the twins left the first alone.
    assert describe(home, identifier)["ClusterStatus"] == "available"
    assert [t["Tag"] for t in home.describe_tags(ResourceName=arn)["TaggedResources"]] == [
        {"Key": "k", "Value": "v"}
    ]


@pytest.mark.parametrize(
    ("region", "partition"),
    [("cn-north-1", "aws-cn"), ("cn-northwest-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")],
)
def test_arns_follow_the_partition_of_the_region(
    make_redshift, make_client, account, master_password, password, region, partition
):
    redshift = make_redshift(access_key_id=account, region=region)
    identifier = new_cluster_id("part")
    created = create(redshift, identifier, master_password())
    assert created["ClusterNamespaceArn"].startswith(f"arn:{partition}:redshift:{region}:")
    assert re.fullmatch(
        rf"arn:{partition}:redshift:{region}:{account}:namespace:{UUID}",
        created["ClusterNamespaceArn"],
    )
    assert created["AvailabilityZone"] == f"{region}a"
    redshift.get_waiter("cluster_available").wait(ClusterIdentifier=identifier)
    arn = f"arn:{partition}:redshift:{region}:{account}:cluster:{identifier}"
    redshift.create_tags(ResourceName=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert [t["ResourceName"] for t in redshift.describe_tags()["TaggedResources"]] == [arn]

    memorydb = make_client(access_key_id=account, region=region)
    user = new_name("part")
    made = memorydb.create_user(
        UserName=user,
        AuthenticationMode={"Type": "password", "Passwords": [password()]},
        AccessString="on ~* +@all",
    )["User"]
    assert made["ARN"].startswith(f"arn:{partition}:memorydb:{region}:")
    assert made["ARN"] == f"arn:{partition}:memorydb:{region}:{account}:user/{user}"


# ----------------------------------------------------------------------- not served


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("modify_cluster", {"ClusterIdentifier": "c1", "NumberOfNodes": 2}),
        ("pause_cluster", {"ClusterIdentifier": "c1"}),
        ("describe_cluster_snapshots", {}),
        ("create_cluster_snapshot", {"SnapshotIdentifier": "s1", "ClusterIdentifier": "c1"}),
    ],
)
def test_unimplemented_actions_answer_not_implemented(redshift, operation, params):
    with pytest.raises(ClientError) as e:
        getattr(redshift, operation)(**params)
    assert type(e.value) is ClientError
    response = e.value.response
    assert response["Error"]["Code"] == "NotImplemented"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Message"] == (
        f"The operation {e.value.operation_name} of Redshift is not implemented by memshift."
    )
