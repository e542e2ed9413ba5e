"""SSL on Redshift clusters backed by a real PostgreSQL, with the drivers users run:
psycopg with sslmode=verify-full against the CA served at /_memshift/ca.pem, and Amazon's
redshift_connector with its defaults (ssl=True, certificates verified) once that CA is
trusted through SSL_CERT_FILE, by password, in IAM mode (GetClusterCredentials and, with
group_federation, GetClusterCredentialsWithIAM) and through a custom domain name. A client
that trusts another CA refuses the endpoint. Skipped when PostgreSQL's server binaries are
not installed, unless TEST_REQUIRE_POSTGRES is set (as CI sets it)."""

from __future__ import annotations

import logging
import os
import shutil
import socket
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg")
redshift_connector = pytest.importorskip("redshift_connector")

from support import SECRET_KEY, new_name, require_postgres, save_ca  # noqa: E402

require_postgres()

# The driver builds its SSL context with the form Python 3.10 deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:ssl.*:DeprecationWarning:redshift_connector.core")

REDSHIFT_VERSION = (
    "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 "
    "(Red Hat 3.4.2-6.fc3), Redshift 1.0."
)
MASTER_PASSWORD = "Sup3rSecret"


@pytest.fixture(scope="session")
def other_server(start_server):
    """Another memshift: another CA."""
    return start_server()


@pytest.fixture
def wrong_ca_file(other_server, tmp_path) -> Path:
    return save_ca(other_server, tmp_path)


@pytest.fixture
def warehouse(make_client, engine_server, fresh_account):
    """A cluster of a fresh account: (boto3 client, account, identifier, host, port)."""
    redshift = make_client(access_key_id=fresh_account, service="redshift",
                           endpoint_url=engine_server.url)
    cluster = new_name("wh")
    redshift.create_cluster(ClusterIdentifier=cluster, NodeType="dc2.large",
                            MasterUsername="admin", MasterUserPassword=MASTER_PASSWORD)
    redshift.get_waiter("cluster_available").wait(ClusterIdentifier=cluster,
                                                  WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    endpoint = redshift.describe_clusters(ClusterIdentifier=cluster)["Clusters"][0]["Endpoint"]
    with psycopg.connect(host=endpoint["Address"], port=endpoint["Port"], user="admin",
                         password=MASTER_PASSWORD, dbname="dev", autocommit=True) as master:
        master.execute("CREATE ROLE analysts")
        master.execute("CREATE TABLE sales (amount int)")
        master.execute("INSERT INTO sales VALUES (3), (4)")
        master.execute("GRANT SELECT ON sales TO analysts")
    yield redshift, fresh_account, cluster, endpoint["Address"], endpoint["Port"]
    redshift.delete_cluster(ClusterIdentifier=cluster, SkipFinalClusterSnapshot=True)


def _query(conn, sql: str):
    cursor = conn.cursor()
    cursor.execute(sql)
    return cursor.fetchone()


def test_psycopg_verifies_the_endpoint_in_full(warehouse, ca_file, wrong_ca_file):
    redshift, _, cluster, host, port = warehouse
    for name in (host, "localhost"):
        with psycopg.connect(host=name, port=port, user="admin", password=MASTER_PASSWORD,
                             dbname="dev", sslmode="verify-full",
                             sslrootcert=str(ca_file)) as conn:
            assert conn.pgconn.ssl_in_use
            assert conn.execute("SELECT version()").fetchone()[0].startswith(REDSHIFT_VERSION)

    creds = redshift.get_cluster_credentials(ClusterIdentifier=cluster, DbUser="erin",
                                             DbName="dev", AutoCreate=True,
                                             DbGroups=["analysts"])
    with psycopg.connect(host=host, port=port, user=creds["DbUser"],
                         password=creds["DbPassword"], dbname="dev", sslmode="verify-full",
                         sslrootcert=str(ca_file)) as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT current_user").fetchone() == ("IAMA:erin",)
        assert conn.execute("SELECT sum(amount) FROM sales").fetchone() == (7,)

    # Another CA: libpq refuses the certificate.
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(host=host, port=port, user="admin", password=MASTER_PASSWORD,
                        dbname="dev", sslmode="verify-full",
                        sslrootcert=str(wrong_ca_file)).close()
    # Clear text is still accepted (Redshift's default require_ssl=false).
    with psycopg.connect(host=host, port=port, user="admin", password=MASTER_PASSWORD,
                         dbname="dev", sslmode="disable") as conn:
        assert not conn.pgconn.ssl_in_use


def test_psycopg_by_a_custom_domain_name(warehouse, ca_file):
    redshift, account, cluster, host, port = warehouse
    domain = f"{cluster}.example.com"

    def connect():
        # hostaddr connects to the endpoint; host is the name the certificate must carry
        # (what a DNS record for the domain would do).
        return psycopg.connect(host=domain, hostaddr=host, port=port, user="admin",
                               password=MASTER_PASSWORD, dbname="dev",
                               sslmode="verify-full", sslrootcert=str(ca_file))

    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        connect().close()
    redshift.create_custom_domain_association(
        ClusterIdentifier=cluster, CustomDomainName=domain,
        CustomDomainCertificateArn=f"arn:aws:acm:us-east-1:{account}:certificate/0c0c0c0c")
    with connect() as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("dev",)
    redshift.delete_custom_domain_association(ClusterIdentifier=cluster,
                                              CustomDomainName=domain)
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        connect().close()


def test_redshift_connector_defaults_trust_ssl_cert_file(warehouse, ca_file, wrong_ca_file,
                                                         monkeypatch, caplog):
    _, _, _, host, port = warehouse
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    caplog.set_level(logging.WARNING, logger="redshift_connector")
    # No ssl or sslmode given: the driver's defaults, certificates verified.
    conn = redshift_connector.connect(host=host, port=port, user="admin",
                                      password=MASTER_PASSWORD, database="dev")
    try:
        assert conn._usock.version() in ("TLSv1.2", "TLSv1.3")
        assert _query(conn, "SELECT version()")[0].startswith(REDSHIFT_VERSION)
        assert _query(conn, "SELECT sum(amount) FROM sales") == [7]
        # Its metadata call for procedures reads Redshift's pg_catalog.pg_proc_info.
        cursor = conn.cursor()
        cursor.execute("CREATE PROCEDURE tidy() LANGUAGE plpgsql AS $$ BEGIN END $$")
        names = [row[2] for row in cursor.get_procedures(schema_pattern="public")]
        assert names == ["tidy"]
    finally:
        conn.close()
    # The certificate names the host: the driver had nothing to warn about.
    assert "does not name host" not in caplog.text

    # A CA the driver does not trust.
    monkeypatch.setenv("SSL_CERT_FILE", str(wrong_ca_file))
    with pytest.raises(redshift_connector.InterfaceError) as refused:
        redshift_connector.connect(host=host, port=port, user="admin",
                                   password=MASTER_PASSWORD, database="dev")
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)


def test_redshift_connector_iam_mode(warehouse, engine_server, ca_file, monkeypatch, aws_env):
    _, account, cluster, _, _ = warehouse
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    # The driver asks memshift for the credentials (GetClusterCredentials) and for the
    # endpoint (DescribeClusters), then logs in over SSL.
    conn = redshift_connector.connect(
        iam=True,
        cluster_identifier=cluster,
        db_user="alice",
        db_groups=["analysts"],
        auto_create=True,
        database="dev",
        endpoint_url=engine_server.url,
        access_key_id=account,
        secret_access_key=SECRET_KEY,
        region="us-east-1",
    )
    try:
        assert conn._usock.version() in ("TLSv1.2", "TLSv1.3")
        assert _query(conn, "SELECT current_user") == ["IAMA:alice"]
        assert _query(conn, "SELECT sum(amount) FROM sales") == [7]
    finally:
        conn.close()


def test_redshift_connector_group_federation(warehouse, engine_server, ca_file, monkeypatch,
                                             aws_env):
    _, account, cluster, _, _ = warehouse
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    # Access keys and region from the environment, as boto3 reads them.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", account)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # GetClusterCredentialsWithIAM: the database user is the caller's IAM identity.
    conn = redshift_connector.connect(
        iam=True,
        group_federation=True,
        cluster_identifier=cluster,
        database="dev",
        endpoint_url=engine_server.url,
    )
    try:
        assert _query(conn, "SELECT current_user") == [f"IAM:{account}"]
        assert _query(conn, "SELECT version()")[0].startswith(REDSHIFT_VERSION)
    finally:
        conn.close()


def test_redshift_connector_by_a_custom_domain_name(warehouse, engine_server, ca_file,
                                                    monkeypatch, aws_env, caplog):
    redshift, account, cluster, host, port = warehouse
    domain = f"{cluster}.example.com"
    redshift.create_custom_domain_association(
        ClusterIdentifier=cluster, CustomDomainName=domain,
        CustomDomainCertificateArn=f"arn:aws:acm:us-east-1:{account}:certificate/0d0d0d0d")
    # The name resolves to the endpoint in this process only, as a DNS record would
    # everywhere: the driver has no parameter for an address of its own.
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        return real_getaddrinfo(host if host != domain else "127.0.0.1", port, family, type,
                                proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    caplog.set_level(logging.WARNING, logger="redshift_connector")
    # No cluster identifier: the driver finds it with DescribeCustomDomainAssociations,
    # asks for credentials by domain name, and checks the certificate against the domain.
    for sslmode in (None, "verify-full"):
        extra = {"sslmode": sslmode} if sslmode else {}
        conn = redshift_connector.connect(
            iam=True,
            host=domain,
            port=port,
            db_user="dana",
            auto_create=True,
            database="dev",
            endpoint_url=engine_server.url,
            access_key_id=account,
            secret_access_key=SECRET_KEY,
            region="us-east-1",
            **extra,
        )
        try:
            assert _query(conn, "SELECT current_user") == ["IAMA:dana"]
        finally:
            conn.close()
    assert "does not name host" not in caplog.text


def test_readme_journey_psql_verify_full(make_client, engine_server, fresh_account, ca_file):
    """The README's psql line, as printed: full verification against memshift's CA, and
    Redshift's version string."""
    if shutil.which("psql") is None:
        pytest.skip("no psql")
    import subprocess
    import time

    redshift = make_client(access_key_id=fresh_account, service="redshift",
                           endpoint_url=engine_server.url)
    started = time.monotonic()
    redshift.create_cluster(ClusterIdentifier="wh", NodeType="dc2.large",
                            MasterUsername="admin", MasterUserPassword="Sup3rSecret")
    redshift.get_waiter("cluster_available").wait(ClusterIdentifier="wh",
                                                  WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    port = redshift.describe_clusters(ClusterIdentifier="wh")["Clusters"][0]["Endpoint"]["Port"]
    out = subprocess.run(
        ["psql", f"host=127.0.0.1 port={port} user=admin dbname=dev "
                 f"sslmode=verify-full sslrootcert={ca_file}", "-c", "SELECT version()"],
        env=dict(os.environ, PGPASSWORD="Sup3rSecret"), capture_output=True, text=True,
        timeout=30, check=True).stdout
    print(f"Redshift CreateCluster to first login: {time.monotonic() - started:.2f} s")
    assert "PostgreSQL 8.0.2 on i686-pc-linux-gnu" in out and "Redshift 1.0." in out, out
    redshift.delete_cluster(ClusterIdentifier="wh", SkipFinalClusterSnapshot=True)
