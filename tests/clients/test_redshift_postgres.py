"""Redshift clusters backed by a real PostgreSQL: boto3 hands out temporary credentials,
and psycopg and Amazon's redshift_connector log in with them. Skipped when PostgreSQL's
server binaries are not installed, unless TEST_REQUIRE_POSTGRES is set (as CI sets
it)."""

from __future__ import annotations

import pytest

psycopg = pytest.importorskip("psycopg")
redshift_connector = pytest.importorskip("redshift_connector")

from support import new_name, require_postgres  # noqa: E402

require_postgres()


def test_journey_cluster_credentials_login(make_client, engine_server, fresh_account):
    redshift = make_client(access_key_id=fresh_account, service="redshift",
                           endpoint_url=engine_server.url)
    cluster = new_name("wh")
    redshift.create_cluster(ClusterIdentifier=cluster, NodeType="dc2.large",
                            MasterUsername="admin", MasterUserPassword="Sup3rSecret")
    redshift.get_waiter("cluster_available").wait(ClusterIdentifier=cluster,
                                                  WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    endpoint = redshift.describe_clusters(ClusterIdentifier=cluster)["Clusters"][0]["Endpoint"]
    host, port = endpoint["Address"], endpoint["Port"]

    with psycopg.connect(host=host, port=port, user="admin", password="Sup3rSecret",
                         dbname="dev", autocommit=True) as master:
        master.execute("CREATE ROLE analysts")
        master.execute("CREATE TABLE sales (amount int)")
        master.execute("INSERT INTO sales VALUES (3), (4)")
        master.execute("GRANT SELECT ON sales TO analysts")

    creds = redshift.get_cluster_credentials(ClusterIdentifier=cluster, DbUser="erin",
                                             DbName="dev", AutoCreate=True,
                                             DbGroups=["analysts"])
    assert creds["DbUser"] == "IAMA:erin"

    # psycopg (libpq)
    with psycopg.connect(host=host, port=port, user=creds["DbUser"],
                         password=creds["DbPassword"], dbname="dev") as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("IAMA:erin",)
        assert conn.execute("SELECT sum(amount) FROM sales").fetchone() == (7,)

    # Amazon's Redshift driver, which sends startup parameters PostgreSQL would refuse.
    conn = redshift_connector.connect(host=host, port=port, user=creds["DbUser"],
                                      password=creds["DbPassword"], database="dev", ssl=False)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == ["IAMA:erin"]
        cursor.execute("CREATE TABLE erins (x int)")
        cursor.execute("INSERT INTO erins VALUES (1)")
        cursor.execute("SELECT count(*) FROM erins")
        assert cursor.fetchone() == [1]
    finally:
        conn.close()

    # A wrong password and another database are refused.
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host=host, port=port, user=creds["DbUser"], password="wrong",
                        dbname="dev").close()
    with pytest.raises(psycopg.OperationalError, match="may only log in to database"):
        psycopg.connect(host=host, port=port, user=creds["DbUser"],
                        password=creds["DbPassword"], dbname="postgres").close()

    redshift.delete_cluster(ClusterIdentifier=cluster, SkipFinalClusterSnapshot=True)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host=host, port=port, user="admin", password="Sup3rSecret",
                        dbname="dev", connect_timeout=3).close()
