"""Helpers shared by the client tests (the fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib
import glob
import os
import random
import shutil
import subprocess
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from botocore.exceptions import ClientError

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
# Not twelve digits, so it maps to the default account.
DEFAULT_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "test-secret-key"

# A twelve-digit key (so an account of its own) that the engine server maps to the IAM role
# `etl` (`--iam-identity`): Redshift Serverless GetCredentials answers `IAMR:etl` for it.
ETL_ROLE_KEY = "246813579024"

# The built-in user and ACL of every account and region.
DEFAULT_USER_ACCESS = "on ~* &* +@all"


def new_account_id() -> str:
    """A random twelve-digit account id other than the default account."""
    while True:
        account = f"{random.randrange(10**11, 10**12):012d}"
        if account != DEFAULT_ACCOUNT:
            return account


def new_name(prefix: str = "u") -> str:
    """A unique user or ACL name: a letter first, then letters, digits and hyphens."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def user_arn(name: str, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> str:
    return f"arn:aws:memorydb:{region}:{account}:user/{name}"


def acl_arn(name: str, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> str:
    return f"arn:aws:memorydb:{region}:{account}:acl/{name}"


def password_mode(*secrets: str) -> dict:
    return {"Type": "password", "Passwords": list(secrets)}


def default_user(account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> dict:
    return {
        "Name": "default",
        "Status": "active",
        "AccessString": DEFAULT_USER_ACCESS,
        "ACLNames": ["open-access"],
        "MinimumEngineVersion": "6.0",
        "Authentication": {"Type": "no-password"},
        "ARN": user_arn("default", account, region),
    }


def open_access_acl(account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> dict:
    return {
        "Name": "open-access",
        "Status": "active",
        "UserNames": ["default"],
        "MinimumEngineVersion": "6.2",
        "Clusters": [],
        "ARN": acl_arn("open-access", account, region),
    }


@contextlib.contextmanager
def fault(client, code: str, status: int) -> Iterator[pytest.ExceptionInfo]:
    """Expects the call inside to raise the modelled exception `code` with HTTP `status`:

        with fault(client, "UserNotFoundFault", 404):
            client.describe_users(UserName="nobody")
    """
    with pytest.raises(getattr(client.exceptions, code)) as excinfo:
        yield excinfo
    response = excinfo.value.response
    assert response["Error"]["Code"] == code
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-errortype") == code
    assert response["Error"]["Message"], "an error must carry a message"


def describe_user(client, name: str) -> dict:
    users = client.describe_users(UserName=name)["Users"]
    assert len(users) == 1, users
    return users[0]


def describe_acl(client, name: str) -> dict:
    acls = client.describe_acls(ACLName=name)["ACLs"]
    assert len(acls) == 1, acls
    return acls[0]


def acl_names_of(client, user: str) -> list[str]:
    return describe_user(client, user)["ACLNames"]


def tags(*pairs: tuple[str, str]) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in pairs]


# ---------------------------------------------------------------------------- Redshift


def new_cluster_id(prefix: str = "c") -> str:
    """A unique Redshift cluster identifier (lowercase, as Redshift stores them)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def cluster_arn(
    identifier: str, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> str:
    """The ARN that CreateTags, DeleteTags and DescribeTags take for a cluster."""
    return f"arn:{partition_of(region)}:redshift:{region}:{account}:cluster:{identifier}"


@contextlib.contextmanager
def redshift_error(
    client, code: str, status: int, exception: str | None = None
) -> Iterator[pytest.ExceptionInfo]:
    """Expects the Redshift call inside to fail with the wire code `code` and HTTP `status`.

    `exception` names the modelled class boto3 raises for it (`ClusterNotFoundFault` for
    the code `ClusterNotFound`); without it the error must be a plain ClientError, as for
    the unmodelled InvalidParameterValue, InvalidParameterCombination and MissingParameter:

        with redshift_error(client, "ClusterNotFound", 404, "ClusterNotFoundFault"):
            client.describe_clusters(ClusterIdentifier="nope")
    """
    expected = getattr(client.exceptions, exception) if exception else ClientError
    with pytest.raises(expected) as excinfo:
        yield excinfo
    if exception is None:
        assert type(excinfo.value) is ClientError, type(excinfo.value)
    response = excinfo.value.response
    assert response["Error"]["Code"] == code, response["Error"]
    assert response["Error"]["Type"] == "Sender"
    assert response["Error"]["Message"], "an error must carry a message"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert response["ResponseMetadata"]["RequestId"]


def require_redis() -> None:
    """Skips the calling test module when no Redis server binary is installed, unless
    TEST_REQUIRE_REDIS is set (as CI sets it), which makes that a failure."""
    if shutil.which("redis-server") is None and shutil.which("valkey-server") is None:
        if os.environ.get("TEST_REQUIRE_REDIS"):
            raise RuntimeError("TEST_REQUIRE_REDIS is set but no redis-server is on PATH")
        pytest.skip("no redis-server on PATH", allow_module_level=True)


def without_retries() -> dict:
    """redis-py arguments for a client that gives up at its first refusal. Since
    redis-py 6 a client tries a refused connection (a wrong password included) three more
    times, waiting about 1, 2 and 4 seconds: a refusal a test expects would cost it
    seconds, and would tell it nothing more."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {"retry": Retry(NoBackoff(), 0)}


def require_postgres() -> None:
    """Skips the calling test module when PostgreSQL's server binaries are not where
    memshift looks for them (Debian's layout or PATH), unless TEST_REQUIRE_POSTGRES is set
    (as CI sets it), which makes that a failure."""
    if not glob.glob("/usr/lib/postgresql/*/bin/postgres") and shutil.which("postgres") is None:
        if os.environ.get("TEST_REQUIRE_POSTGRES"):
            raise RuntimeError("TEST_REQUIRE_POSTGRES is set but PostgreSQL is not installed")
        pytest.skip("no PostgreSQL server binaries", allow_module_level=True)


def save_ca(server, directory: Path) -> Path:
    """The CA certificate a memshift serves, saved as a file a client can be given, as an
    application saves it to trust the endpoints."""
    with urllib.request.urlopen(f"{server.url}/_memshift/ca.pem", timeout=10) as answer:
        pem = answer.read()
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----")
    path = directory / f"ca-{server.port}.pem"
    path.write_bytes(pem)
    return path


def stop_process(process: subprocess.Popen, timeout: float = 5) -> None:
    """Stops a server as its operator would (SIGTERM), killing it if it takes longer than
    `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
