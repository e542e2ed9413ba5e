"""Redshift Serverless (`redshift-serverless`) with the clients users run: boto3's
namespace and workgroup journey, temporary credentials from GetCredentials that psycopg
logs in with, what such a credential may and may not read, Amazon's redshift_connector in
its serverless IAM mode, credentials that expire on memshift's clock, the AWS CLI, and the
service's errors as boto3 and the CLI report them.

A namespace is one PostgreSQL server; its workgroup is the endpoint in front of it. The
tests that log in use the engine server (skipped without PostgreSQL's server binaries,
unless TEST_REQUIRE_POSTGRES is set); the control-plane tests use the shared server."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

psycopg = pytest.importorskip("psycopg")
redshift_connector = pytest.importorskip("redshift_connector")

from support import ETL_ROLE_KEY, SECRET_KEY, new_name, require_postgres  # noqa: E402

# The driver builds its SSL context with the form Python 3.10 deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:ssl.*:DeprecationWarning:redshift_connector.core")

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
REGION = "us-east-1"


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def admin_password(passwords):
    """A new valid admin password (upper, lower, digit), watched by the leak guard."""

    def make() -> str:
        value = "Sv1" + os.urandom(12).hex()
        passwords.append(value)
        return value

    return make


@pytest.fixture
def sls(make_serverless, account):
    """A Redshift Serverless client of `account` on the shared (control-plane) server."""
    return make_serverless(access_key_id=account)


@pytest.fixture
def engine(engine_server):
    """The engine server, after checking that PostgreSQL is installed."""
    require_postgres()
    return engine_server


class Warehouses:
    """Makes namespaces with their workgroup on the engine server, and deletes what is left
    of them at the end of the test (stopping their PostgreSQL servers)."""

    def __init__(self, make_serverless, server):
        self.make_serverless = make_serverless
        self.server = server
        self.made: list[tuple] = []

    def client(self, key: str):
        return self.make_serverless(access_key_id=key, endpoint_url=self.server.url)

    def create(self, key: str, password: str, workgroup: str | None = None) -> dict:
        client = self.client(key)
        namespace = new_name("ns")
        workgroup = workgroup or new_name("wg")
        client.create_namespace(namespaceName=namespace, adminUsername="admin",
                                adminUserPassword=password)
        self.made.append((client, namespace, workgroup))
        client.create_workgroup(workgroupName=workgroup, namespaceName=namespace)
        endpoint = client.get_workgroup(workgroupName=workgroup)["workgroup"]["endpoint"]
        return {"client": client, "namespace": namespace, "workgroup": workgroup,
                "host": endpoint["address"], "port": endpoint["port"]}

    def clean(self) -> None:
        for client, namespace, workgroup in self.made:
            for call in (lambda: client.delete_workgroup(workgroupName=workgroup),
                         lambda: client.delete_namespace(namespaceName=namespace)):
                try:
                    call()
                except ClientError:
                    pass


@pytest.fixture
def warehouses(make_serverless, engine):
    made = Warehouses(make_serverless, engine)
    yield made
    made.clean()


@pytest.fixture
def engine_log_guard(engine, passwords):
    """Fails the test if a password it saw (its `passwords` and the temporary passwords it
    appends to the list this yields) shows up in the engine server's log."""
    offset = engine.log_size()
    temporary: list[str] = []
    yield temporary
    log = engine.log_since(offset)
    for secret in [*passwords, *temporary]:
        assert secret not in log, "a password appears in the engine server's log"


def connect(host: str, port: int, user: str, password: str, dbname: str = "dev", **extra):
    extra.setdefault("connect_timeout", 5)
    return psycopg.connect(host=host, port=port, user=user, password=password, dbname=dbname,
                           **extra)


def one(conn, sql: str):
    return conn.execute(sql).fetchone()


@contextlib.contextmanager
def serverless_error(client, code: str, message: str | None = None):
    """Expects the call inside to fail with the modelled exception `code`, HTTP 400 (every
    client error of this service) and, when given, exactly `message`."""
    with pytest.raises(getattr(client.exceptions, code)) as excinfo:
        yield excinfo
    response = excinfo.value.response
    assert response["Error"]["Code"] == code, response["Error"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response["ResponseMetadata"]
    assert response["Error"]["Message"], "an error must carry a message"
    if message is not None:
        assert response["Error"]["Message"] == message, response["Error"]


def clock(server, advance: float | None = None) -> dict:
    """memshift's clock (`GET /_memshift/clock`), or moves it (`POST` with
    `{"advance_seconds": N}`): `{"now": ISO-8601, "offset_seconds": N}`."""
    data = None if advance is None else json.dumps({"advance_seconds": advance}).encode()
    request = urllib.request.Request(f"{server.url}/_memshift/clock", data=data,
                                     method="GET" if data is None else "POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def memshift_now(server) -> datetime:
    return datetime.fromisoformat(clock(server)["now"].replace("Z", "+00:00"))


def assert_close(moment: datetime, expected: datetime, slack: float = 5.0) -> None:
    assert moment.tzinfo is not None, moment
    assert abs((moment - expected).total_seconds()) <= slack, (moment, expected)


def assert_credentials(creds: dict, user: str, issued_at: datetime, seconds: int) -> None:
    assert set(creds) == {"dbUser", "dbPassword", "expiration", "nextRefreshTime",
                          "ResponseMetadata"}, creds.keys()
    assert creds["dbUser"] == user
    assert isinstance(creds["dbPassword"], str) and len(creds["dbPassword"]) >= 16
    assert_close(creds["expiration"], issued_at + timedelta(seconds=seconds))
    assert creds["nextRefreshTime"] == creds["expiration"]


# ------------------------------------------------------------------ 1. the journey


def test_journey_namespace_workgroup_credentials_login(warehouses, engine, account,
                                                       admin_password, engine_log_guard):
    sls = warehouses.client(account)
    password = admin_password()
    namespace, workgroup = new_name("ns"), new_name("wg")
    warehouses.made.append((sls, namespace, workgroup))

    # CreateNamespace: available at once, with Redshift's defaults.
    before = datetime.now(timezone.utc)
    ns = sls.create_namespace(namespaceName=namespace, adminUsername="admin",
                              adminUserPassword=password,
                              tags=[{"key": "team", "value": "data"}])["namespace"]
    assert ns["namespaceName"] == namespace
    assert ns["status"] == "AVAILABLE"
    assert ns["adminUsername"] == "admin"
    assert ns["dbName"] == "dev"
    assert ns["kmsKeyId"] == "AWS_OWNED_KMS_KEY"
    assert re.fullmatch(UUID, ns["namespaceId"]), ns["namespaceId"]
    assert ns["namespaceArn"] == (
        f"arn:aws:redshift-serverless:{REGION}:{account}:namespace/{ns['namespaceId']}")
    assert_close(ns["creationDate"], before)
    assert "adminUserPassword" not in ns
    assert sls.get_namespace(namespaceName=namespace)["namespace"] == ns

    # CreateWorkgroup: CREATING, then AVAILABLE with an endpoint to log in at.
    wg = sls.create_workgroup(workgroupName=workgroup, namespaceName=namespace)["workgroup"]
    assert wg["workgroupName"] == workgroup
    assert wg["namespaceName"] == namespace
    assert wg["status"] == "CREATING"
    assert wg["baseCapacity"] == 128
    assert wg["port"] == 5439
    assert re.fullmatch(UUID, wg["workgroupId"]), wg["workgroupId"]
    assert wg["workgroupArn"] == (
        f"arn:aws:redshift-serverless:{REGION}:{account}:workgroup/{wg['workgroupId']}")
    got = sls.get_workgroup(workgroupName=workgroup)["workgroup"]
    assert got["status"] == "AVAILABLE"
    assert got["workgroupArn"] == wg["workgroupArn"]
    endpoint = got["endpoint"]
    host, port = endpoint["address"], endpoint["port"]
    assert host == "127.0.0.1"
    assert isinstance(port, int) and 0 < port < 65536
    assert got["port"] == 5439  # the requested port; the endpoint has the real one

    # The admin is the namespace's superuser.
    with connect(host, port, "admin", password, autocommit=True) as admin:
        assert one(admin, "SELECT current_user") == ("admin",)
        assert one(admin, "SELECT current_database()") == ("dev",)
        assert one(admin, "SELECT usesuper FROM pg_user WHERE usename = current_user") == (True,)
        admin.execute("CREATE TABLE sales (amount int)")
        admin.execute("INSERT INTO sales VALUES (3), (4)")

    # GetCredentials: the caller's identity (an unmapped key: IAM:<access key id>).
    issued_at = memshift_now(engine)
    creds = sls.get_credentials(workgroupName=workgroup, dbName="dev")
    engine_log_guard.append(creds["dbPassword"])
    assert_credentials(creds, f"IAM:{account}", issued_at, 900)
    with connect(host, port, creds["dbUser"], creds["dbPassword"]) as conn:
        assert one(conn, "SELECT current_user") == (creds["dbUser"],)
        assert one(conn, "SELECT usesuper FROM pg_user WHERE usename = current_user") == (False,)
    # durationSeconds, and no dbName: the same user.
    hour = sls.get_credentials(workgroupName=workgroup, durationSeconds=3600)
    engine_log_guard.append(hour["dbPassword"])
    assert_credentials(hour, f"IAM:{account}", memshift_now(engine), 3600)
    assert hour["dbPassword"] != creds["dbPassword"]
    with connect(host, port, hour["dbUser"], hour["dbPassword"]) as conn:
        assert one(conn, "SELECT current_user") == (f"IAM:{account}",)
    # A wrong password is refused.
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect(host, port, creds["dbUser"], "Wrong" + creds["dbPassword"]).close()

    # List: the account's only namespace and workgroup.
    assert [n["namespaceName"] for n in sls.list_namespaces()["namespaces"]] == [namespace]
    listed = sls.list_workgroups()["workgroups"]
    assert [w["workgroupName"] for w in listed] == [workgroup]
    assert listed[0]["endpoint"] == endpoint

    # Update: one setting per call; MODIFYING, then AVAILABLE with the new value.
    updated = sls.update_workgroup(workgroupName=workgroup, baseCapacity=64)["workgroup"]
    assert updated["status"] == "MODIFYING"
    assert updated["baseCapacity"] == 64
    got = sls.get_workgroup(workgroupName=workgroup)["workgroup"]
    assert (got["status"], got["baseCapacity"]) == ("AVAILABLE", 64)
    with serverless_error(sls, "ValidationException",
                          "Can't update multiple configurations at the same time for "
                          f"workgroup {workgroup}."):
        sls.update_workgroup(workgroupName=workgroup, baseCapacity=32, maxCapacity=256)
    assert sls.get_workgroup(workgroupName=workgroup)["workgroup"]["baseCapacity"] == 64
    # A new admin password works for logins at once.
    new_password = admin_password()
    assert sls.update_namespace(namespaceName=namespace, adminUsername="admin",
                                adminUserPassword=new_password)["namespace"]["status"] == (
        "MODIFYING")
    assert sls.get_namespace(namespaceName=namespace)["namespace"]["status"] == "AVAILABLE"
    with connect(host, port, "admin", new_password) as admin:
        assert one(admin, "SELECT sum(amount) FROM sales") == (7,)

    # The namespace cannot go while it has a workgroup; nor can it have a second one.
    with serverless_error(sls, "ConflictException"):
        sls.delete_namespace(namespaceName=namespace)
    with serverless_error(sls, "ConflictException"):
        sls.create_workgroup(workgroupName=new_name("wg"), namespaceName=namespace)

    # DeleteWorkgroup: DELETING, then gone, and its endpoint takes no more logins.
    deleted = sls.delete_workgroup(workgroupName=workgroup)["workgroup"]
    assert deleted["status"] == "DELETING"
    with serverless_error(sls, "ResourceNotFoundException",
                          f"Serverless workgroup {workgroup} not found."):
        sls.get_workgroup(workgroupName=workgroup)
    assert sls.list_workgroups()["workgroups"] == []
    with pytest.raises(psycopg.OperationalError):
        connect(host, port, "admin", new_password, connect_timeout=3).close()

    # The namespace kept its data: a new workgroup on it sees the same table.
    again = new_name("wg")
    warehouses.made.append((sls, namespace, again))
    sls.create_workgroup(workgroupName=again, namespaceName=namespace)
    endpoint = sls.get_workgroup(workgroupName=again)["workgroup"]["endpoint"]
    with connect(endpoint["address"], endpoint["port"], "admin", new_password) as admin:
        assert one(admin, "SELECT sum(amount) FROM sales") == (7,)
    sls.delete_workgroup(workgroupName=again)

    # DeleteNamespace: DELETING, then gone.
    assert sls.delete_namespace(namespaceName=namespace)["namespace"]["status"] == "DELETING"
    with serverless_error(sls, "ResourceNotFoundException",
                          f"Serverless namespace {namespace} not found."):
        sls.get_namespace(namespaceName=namespace)
    assert sls.list_namespaces()["namespaces"] == []


def test_errors_as_boto3_sees_them(sls, make_serverless, account, admin_password):
    password = admin_password()
    namespace, workgroup = new_name("ns"), new_name("wg")
    sls.create_namespace(namespaceName=namespace, adminUsername="admin",
                         adminUserPassword=password)
    sls.create_workgroup(workgroupName=workgroup, namespaceName=namespace)

    # Unknown names.
    for call in (lambda: sls.get_workgroup(workgroupName="no-such-wg"),
                 lambda: sls.update_workgroup(workgroupName="no-such-wg", baseCapacity=64),
                 lambda: sls.delete_workgroup(workgroupName="no-such-wg"),
                 lambda: sls.get_credentials(workgroupName="no-such-wg")):
        with serverless_error(sls, "ResourceNotFoundException",
                              "Serverless workgroup no-such-wg not found."):
            call()
    for call in (lambda: sls.get_namespace(namespaceName="no-such-ns"),
                 lambda: sls.delete_namespace(namespaceName="no-such-ns")):
        with serverless_error(sls, "ResourceNotFoundException",
                              "Serverless namespace no-such-ns not found."):
            call()
    with serverless_error(sls, "ResourceNotFoundException"):
        sls.create_workgroup(workgroupName=new_name("wg"), namespaceName="no-such-ns")

    # Duplicates.
    with serverless_error(sls, "ConflictException") as e:
        sls.create_namespace(namespaceName=namespace)
    assert "already exists" in e.value.response["Error"]["Message"]
    other = new_name("ns")
    sls.create_namespace(namespaceName=other)
    with serverless_error(sls, "ConflictException") as e:
        sls.create_workgroup(workgroupName=workgroup, namespaceName=other)
    assert "already exists" in e.value.response["Error"]["Message"]
    # One workgroup per namespace.
    with serverless_error(sls, "ConflictException"):
        sls.create_workgroup(workgroupName=new_name("wg"), namespaceName=namespace)

    # Bad values: ports outside 5431-5455 and 8191-8215, capacities, names, durations.
    for port in (1234, 5430, 5456, 8190, 8216):
        with serverless_error(sls, "ValidationException"):
            sls.create_workgroup(workgroupName=new_name("wg"), namespaceName=other, port=port)
    with serverless_error(sls, "ValidationException"):
        sls.update_workgroup(workgroupName=workgroup, port=1234)
    for base in (7, 12, 520):
        with serverless_error(sls, "ValidationException"):
            sls.create_workgroup(workgroupName=new_name("wg"), namespaceName=other,
                                 baseCapacity=base)
    with serverless_error(sls, "ValidationException"):
        sls.create_workgroup(workgroupName=new_name("wg"), namespaceName=other,
                             configParameters=[{"parameterKey": "no_such_setting",
                                                "parameterValue": "1"}])
    for name in ("Bad_Name", "a" * 65):
        with serverless_error(sls, "ValidationException"):
            sls.create_namespace(namespaceName=name)
        with serverless_error(sls, "ValidationException"):
            sls.create_workgroup(workgroupName=name, namespaceName=other)
    with serverless_error(sls, "ValidationException",
                          "Specify both the user name and password, or neither."):
        sls.create_namespace(namespaceName=new_name("ns"), adminUsername="admin")
    with serverless_error(sls, "ValidationException"):
        sls.create_namespace(namespaceName=new_name("ns"), adminUsername="admin",
                             adminUserPassword="alllowercase1")
    for seconds in (899, 3601):
        with serverless_error(sls, "ValidationException"):
            sls.get_credentials(workgroupName=workgroup, durationSeconds=seconds)
    with serverless_error(sls, "ValidationException"):
        sls.get_credentials()
    with serverless_error(sls, "ValidationException"):
        sls.get_credentials(workgroupName=workgroup, customDomainName="db.example.com")

    # Nothing changed; a good port is taken and echoed.
    assert sorted(w["workgroupName"] for w in sls.list_workgroups()["workgroups"]) == [workgroup]
    fine = new_name("wg")
    assert sls.create_workgroup(workgroupName=fine, namespaceName=other,
                                port=8191)["workgroup"]["port"] == 8191

    # Members boto3 requires, left out; operations of the model memshift does not serve.
    raw = make_serverless(access_key_id=account, parameter_validation=False)
    with serverless_error(raw, "ValidationException"):
        raw.create_workgroup(workgroupName=new_name("wg"))
    with pytest.raises(ClientError) as e:
        sls.list_snapshots()
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_listings_page_and_accounts_are_apart(sls, make_serverless, account):
    names = sorted(new_name("pg") for _ in range(5))
    for name in names:
        sls.create_namespace(namespaceName=name)
        sls.create_workgroup(workgroupName=name, namespaceName=name)
    for op, key in (("list_namespaces", "namespaces"), ("list_workgroups", "workgroups")):
        pages = list(sls.get_paginator(op).paginate(PaginationConfig={"PageSize": 2}))
        assert [len(p[key]) for p in pages] == [2, 2, 1]
        seen = [item.get("namespaceName" if key == "namespaces" else "workgroupName")
                for p in pages for item in p[key]]
        assert sorted(seen) == names and len(set(seen)) == 5
    with serverless_error(sls, "ValidationException"):
        sls.list_workgroups(maxResults=101)

    # Another account, and another region, see none of it.
    for other in (make_serverless(access_key_id=f"{int(account) ^ 1:012d}"),
                  make_serverless(access_key_id=account, region="eu-west-1")):
        with serverless_error(other, "ResourceNotFoundException"):
            other.get_workgroup(workgroupName=names[0])
        with serverless_error(other, "ResourceNotFoundException"):
            other.get_credentials(workgroupName=names[0])
        assert names[0] not in [n["namespaceName"] for n in other.list_namespaces()["namespaces"]]

    # Tags on the ARNs.
    arn = sls.get_workgroup(workgroupName=names[0])["workgroup"]["workgroupArn"]
    sls.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "test"}])
    assert sls.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "env", "value": "test"}]
    sls.untag_resource(resourceArn=arn, tagKeys=["env"])
    assert sls.list_tags_for_resource(resourceArn=arn)["tags"] == []
    with serverless_error(sls, "ResourceNotFoundException"):
        sls.list_tags_for_resource(resourceArn=arn.replace(arn.rsplit("/", 1)[1],
                                                           "00000000-0000-4000-8000-000000000000"))
    with serverless_error(sls, "ValidationException"):
        sls.list_tags_for_resource(resourceArn="not-an-arn")


def test_namespace_settings_and_custom_domains(sls, account, admin_password):
    role = f"arn:aws:iam::{account}:role/loader"
    # A managed admin password lives in Secrets Manager; IAM roles come back wrapped.
    namespace = new_name("ns")
    ns = sls.create_namespace(namespaceName=namespace, manageAdminPassword=True,
                              iamRoles=[role], defaultIamRoleArn=role)["namespace"]
    assert ns["adminUsername"] == "admin"
    secret = f"arn:aws:secretsmanager:{REGION}:{account}:secret:redshift!{namespace}-admin-"
    assert re.fullmatch(re.escape(secret) + "[A-Za-z0-9]{6}",
                        ns["adminPasswordSecretArn"]), ns["adminPasswordSecretArn"]
    assert ns["iamRoles"] == [f"IamRole(applyStatus=in-sync, iamRoleArn={role})"]
    assert ns["defaultIamRoleArn"] == role
    with serverless_error(sls, "ValidationException"):
        sls.create_namespace(namespaceName=new_name("ns"), manageAdminPassword=True,
                             adminUserPassword=admin_password())
    with serverless_error(sls, "TooManyTagsException"):
        sls.create_namespace(namespaceName=new_name("ns"),
                             tags=[{"key": f"k{i}", "value": "v"} for i in range(201)])
    # UpdateNamespace's rules.
    with serverless_error(sls, "ValidationException", "To change the default IAM role, you "
                          "must specify the entire list of IAM roles."):
        sls.update_namespace(namespaceName=namespace, defaultIamRoleArn=role)
    with serverless_error(sls, "ValidationException"):
        sls.update_namespace(namespaceName=namespace, kmsKeyId="alias/mine",
                             logExports=["userlog"])
    with serverless_error(sls, "ValidationException"):
        sls.update_namespace(namespaceName=namespace, adminUsername="bob")

    # A custom domain: on the workgroup, and a name GetCredentials takes.
    workgroup = new_name("wg")
    sls.create_workgroup(workgroupName=workgroup, namespaceName=namespace)
    domain = f"{workgroup}.example.com"
    certificate = f"arn:aws:acm:{REGION}:{account}:certificate/0e0e0e0e"
    made = sls.create_custom_domain_association(workgroupName=workgroup,
                                                customDomainName=domain,
                                                customDomainCertificateArn=certificate)
    assert (made["workgroupName"], made["customDomainName"],
            made["customDomainCertificateArn"]) == (workgroup, domain, certificate)
    assert made["customDomainCertificateExpiryTime"] > datetime.now(timezone.utc)
    got = sls.get_workgroup(workgroupName=workgroup)["workgroup"]
    assert (got["customDomainName"], got["customDomainCertificateArn"]) == (domain, certificate)
    by_domain = sls.get_credentials(customDomainName=domain)
    assert by_domain["dbUser"] == f"IAM:{account}"
    other_namespace, other = new_name("ns"), new_name("wg")
    sls.create_namespace(namespaceName=other_namespace)
    sls.create_workgroup(workgroupName=other, namespaceName=other_namespace)
    with serverless_error(sls, "ConflictException"):
        sls.create_custom_domain_association(workgroupName=other, customDomainName=domain,
                                             customDomainCertificateArn=certificate)
    sls.delete_custom_domain_association(workgroupName=workgroup, customDomainName=domain)
    with serverless_error(sls, "ResourceNotFoundException"):
        sls.get_custom_domain_association(workgroupName=workgroup, customDomainName=domain)
    with serverless_error(sls, "ResourceNotFoundException"):
        sls.get_credentials(customDomainName=domain)


# ------------------------------------------------------------------- 2. privileges


def test_a_credential_has_only_what_it_was_granted(warehouses, account, admin_password,
                                                   engine_log_guard):
    password = admin_password()
    wh = warehouses.create(account, password)
    sls, host, port = wh["client"], wh["host"], wh["port"]
    user = f"IAM:{account}"
    with connect(host, port, "admin", password, autocommit=True) as admin:
        admin.execute("CREATE TABLE shared (x int)")
        admin.execute("INSERT INTO shared VALUES (1), (2)")
        admin.execute("CREATE TABLE secret (x int)")
        admin.execute("CREATE DATABASE other")

    creds = sls.get_credentials(workgroupName=wh["workgroup"], dbName="dev")
    engine_log_guard.append(creds["dbPassword"])
    assert creds["dbUser"] == user
    # First login: the user exists from now on, with nothing granted.
    with connect(host, port, user, creds["dbPassword"], autocommit=True) as conn:
        assert one(conn, "SELECT current_user") == (user,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM shared")

    with connect(host, port, "admin", password, autocommit=True) as admin:
        admin.execute(f'GRANT SELECT ON shared TO "{user}"')

    with connect(host, port, user, creds["dbPassword"], autocommit=True) as conn:
        assert one(conn, "SELECT sum(x) FROM shared") == (3,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM secret")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE ROLE intruder")
    # A credential for dev logs in to dev only.
    with pytest.raises(psycopg.OperationalError):
        connect(host, port, user, creds["dbPassword"], dbname="other").close()


def test_a_role_identity_reads_what_its_role_was_granted(warehouses, admin_password,
                                                         engine_log_guard):
    """ETL_ROLE_KEY is the IAM role `etl` (--iam-identity): the database user is `IAMR:etl`,
    a member of the role `etl`, which holds the grants."""
    password = admin_password()
    wh = warehouses.create(ETL_ROLE_KEY, password)
    sls, host, port = wh["client"], wh["host"], wh["port"]
    with connect(host, port, "admin", password, autocommit=True) as admin:
        admin.execute("CREATE TABLE loads (x int)")
        admin.execute("INSERT INTO loads VALUES (5)")
        admin.execute("CREATE TABLE payroll (x int)")

    creds = sls.get_credentials(workgroupName=wh["workgroup"])
    engine_log_guard.append(creds["dbPassword"])
    assert creds["dbUser"] == "IAMR:etl"
    with connect(host, port, "IAMR:etl", creds["dbPassword"]) as conn:
        assert one(conn, "SELECT current_user") == ("IAMR:etl",)
        assert one(conn, "SELECT usesuper FROM pg_user WHERE usename = current_user") == (False,)

    with connect(host, port, "admin", password, autocommit=True) as admin:
        assert one(admin, "SELECT pg_has_role('IAMR:etl', 'etl', 'MEMBER')") == (True,)
        admin.execute("GRANT SELECT ON loads TO etl")

    with connect(host, port, "IAMR:etl", creds["dbPassword"], autocommit=True) as conn:
        assert one(conn, "SELECT sum(x) FROM loads") == (5,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM payroll")
    # A new credential: the same user, still a member of etl.
    again = sls.get_credentials(workgroupName=wh["workgroup"], dbName="dev")
    engine_log_guard.append(again["dbPassword"])
    with connect(host, port, again["dbUser"], again["dbPassword"]) as conn:
        assert one(conn, "SELECT sum(x) FROM loads") == (5,)


# ------------------------------------------------------ 3. redshift_connector, IAM mode


@pytest.mark.parametrize("who", ["unmapped", "role"])
def test_redshift_connector_serverless_iam_mode(who, warehouses, engine, account, ca_file,
                                                admin_password, monkeypatch, aws_env, caplog):
    key, expected = (account, f"IAM:{account}") if who == "unmapped" else (ETL_ROLE_KEY,
                                                                          "IAMR:etl")
    password = admin_password()
    # A workgroup of its own: the driver caches credentials per process.
    wh = warehouses.create(key, password)
    with connect(wh["host"], wh["port"], "admin", password, autocommit=True) as admin:
        admin.execute("CREATE TABLE facts (x int)")
        admin.execute("INSERT INTO facts VALUES (41), (1)")
        admin.execute("GRANT SELECT ON facts TO PUBLIC")
    # The driver trusts memshift's CA through the default verify paths.
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    caplog.set_level(logging.WARNING, logger="redshift_connector")
    # No host: the driver calls GetCredentials, then GetWorkgroup for the endpoint. Its
    # default sslmode (verify-full, a mismatch only warned about), then both modes asked for.
    for sslmode in (None, "verify-full", "verify-ca"):
        extra = {"sslmode": sslmode} if sslmode else {}
        conn = redshift_connector.connect(
            iam=True,
            is_serverless=True,
            serverless_work_group=wh["workgroup"],
            database="dev",
            region=REGION,
            access_key_id=key,
            secret_access_key=SECRET_KEY,
            endpoint_url=engine.url,
            ssl=True,
            **extra,
        )
        try:
            assert conn._usock.version() in ("TLSv1.2", "TLSv1.3")
            cursor = conn.cursor()
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == [expected]
            cursor.execute("SELECT sum(x) FROM facts")
            assert cursor.fetchone() == [42]
        finally:
            conn.close()
    assert "does not name host" not in caplog.text

    # An unknown workgroup: the driver passes on GetCredentials' error.
    with pytest.raises(ClientError) as e:
        redshift_connector.connect(iam=True, is_serverless=True,
                                   serverless_work_group=new_name("nowg"), database="dev",
                                   region=REGION, access_key_id=key,
                                   secret_access_key=SECRET_KEY, endpoint_url=engine.url)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


# ------------------------------------------------------------------------ 4. expiry


def test_credentials_expire_on_memshifts_clock(warehouses, engine, account, admin_password,
                                               engine_log_guard):
    password = admin_password()
    wh = warehouses.create(account, password)
    sls, host, port = wh["client"], wh["host"], wh["port"]
    creds = sls.get_credentials(workgroupName=wh["workgroup"])  # 900 s
    engine_log_guard.append(creds["dbPassword"])
    with connect(host, port, creds["dbUser"], creds["dbPassword"]) as conn:
        assert one(conn, "SELECT current_user") == (f"IAM:{account}",)

    start = clock(engine)["offset_seconds"]
    moved = 0
    try:
        # Fifteen minutes and a second later, as memshift sees it: refused (28P01).
        assert clock(engine, 901)["offset_seconds"] == pytest.approx(start + 901)
        moved += 901
        with pytest.raises(psycopg.OperationalError,
                           match="password authentication failed") as refused:
            connect(host, port, creds["dbUser"], creds["dbPassword"]).close()
        assert refused.value.sqlstate in (None, "28P01")
        # New credentials, for an hour on the moved clock, work.
        issued_at = memshift_now(engine)
        hour = sls.get_credentials(workgroupName=wh["workgroup"], durationSeconds=3600)
        engine_log_guard.append(hour["dbPassword"])
        assert_credentials(hour, f"IAM:{account}", issued_at, 3600)
        assert hour["expiration"] > datetime.now(timezone.utc) + timedelta(seconds=4400)
        with connect(host, port, hour["dbUser"], hour["dbPassword"]) as conn:
            assert one(conn, "SELECT current_user") == (f"IAM:{account}",)
        # Another fifteen minutes: the hour's credential still works, the old one still not.
        clock(engine, 901)
        moved += 901
        with connect(host, port, hour["dbUser"], hour["dbPassword"]) as conn:
            assert one(conn, "SELECT 1") == (1,)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            connect(host, port, creds["dbUser"], creds["dbPassword"]).close()
        # The admin's password does not expire.
        with connect(host, port, "admin", password) as admin:
            assert one(admin, "SELECT current_user") == ("admin",)
    finally:
        if moved:
            restored = clock(engine, -moved)
            assert restored["offset_seconds"] == pytest.approx(start)


# ------------------------------------------------------------------------- 5. AWS CLI


def cli_time(value) -> datetime:
    """A timestamp as the CLI prints it: ISO 8601, or the epoch seconds as received."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_cli_get_credentials_then_login(serverless_cli, engine, account, admin_password):
    cli = serverless_cli
    as_me = {"access_key_id": account}
    password = admin_password()
    namespace, workgroup = new_name("clins"), new_name("cliwg")
    ns = cli.ok("create-namespace", "--namespace-name", namespace,
                "--admin-username", "admin", "--admin-user-password", password,
                **as_me)["namespace"]
    assert ns["status"] == "AVAILABLE"
    try:
        wg = cli.ok("create-workgroup", "--workgroup-name", workgroup,
                    "--namespace-name", namespace, "--base-capacity", "32", **as_me)["workgroup"]
        assert (wg["status"], wg["baseCapacity"]) == ("CREATING", 32)
        endpoint = cli.ok("get-workgroup", "--workgroup-name", workgroup,
                          **as_me)["workgroup"]["endpoint"]

        requested = datetime.now(timezone.utc)
        creds = cli.ok("get-credentials", "--workgroup-name", workgroup, **as_me)
        assert set(creds) == {"dbUser", "dbPassword", "expiration", "nextRefreshTime"}
        assert creds["dbUser"] == f"IAM:{account}"
        assert_close(cli_time(creds["expiration"]), requested + timedelta(seconds=900))
        assert cli_time(creds["nextRefreshTime"]) == cli_time(creds["expiration"])
        with connect(endpoint["address"], endpoint["port"], creds["dbUser"],
                     creds["dbPassword"]) as conn:
            assert one(conn, "SELECT current_user") == (f"IAM:{account}",)

        result = cli.fails("ResourceNotFoundException", "get-credentials",
                           "--workgroup-name", "no-such-wg", **as_me)
        assert result.returncode == 255
        assert "Serverless workgroup no-such-wg not found." in result.stderr
        cli.fails("ValidationException", "get-credentials", "--workgroup-name", workgroup,
                  "--duration-seconds", "60", **as_me)
        cli.fails("ValidationException", "update-workgroup", "--workgroup-name", workgroup,
                  "--port", "1234", **as_me)
        deleted = cli.ok("delete-workgroup", "--workgroup-name", workgroup, **as_me)
        assert deleted["workgroup"]["status"] == "DELETING"
        cli.fails("ResourceNotFoundException", "get-workgroup", "--workgroup-name", workgroup,
                  **as_me)
    finally:
        cli.run("delete-workgroup", "--workgroup-name", workgroup, **as_me)
        cli.run("delete-namespace", "--namespace-name", namespace, **as_me)
