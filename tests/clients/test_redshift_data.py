"""The Redshift Data API (`redshift-data`) with the clients users run: boto3's journey
(ExecuteStatement, polling DescribeStatement, GetStatementResult, batches, ListStatements,
the metadata operations and CSV results), what a DbUser may and may not read, parameters
that stay values, cancelling, the GetStatementResult paginator over more than one page,
sessions, results that expire on memshift's clock, the service's errors as boto3 and the
AWS CLI report them.

Every statement runs on the real PostgreSQL server of a Redshift cluster on the engine
server (skipped without PostgreSQL's server binaries, unless TEST_REQUIRE_POSTGRES is set);
each test has an account and a cluster of its own, so listings are exact."""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.request
import uuid
from datetime import datetime, timezone

import pytest

psycopg = pytest.importorskip("psycopg")

from support import new_cluster_id, require_postgres  # noqa: E402

UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
TERMINAL = {"FINISHED", "FAILED", "ABORTED"}
RUNNING = {"SUBMITTED", "PICKED", "STARTED"}
NO_RESULT = "Query does not have result. Please check query status with DescribeStatement."
NO_ENDPOINT = "Redshift endpoint doesn't exist in this region."


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def engine(engine_server):
    """The engine server, after checking that PostgreSQL is installed."""
    require_postgres()
    return engine_server


def wait(data, statement_id: str, timeout: float = 30) -> dict:
    """Polls DescribeStatement until the statement is FINISHED, FAILED or ABORTED."""
    deadline = time.monotonic() + timeout
    while True:
        described = data.describe_statement(Id=statement_id)
        if described["Status"] in TERMINAL:
            return described
        assert described["Status"] in RUNNING, described
        assert time.monotonic() < deadline, f"still {described['Status']} after {timeout} s"
        time.sleep(0.05)


def value(field: dict):
    """The Python value of one Field union (exactly one member; isNull is None)."""
    assert len(field) == 1, field
    ((member, got),) = field.items()
    if member == "isNull":
        assert got is True, field
        return None
    return got


def values(result: dict) -> list[list]:
    return [[value(f) for f in record] for record in result["Records"]]


class Warehouse:
    """A cluster of the test's account on the engine server, and a Data API client of that
    account; remembers the id of every statement it runs, oldest first."""

    def __init__(self, data, redshift, cluster: str, account: str, password: str):
        self.data = data
        self.redshift = redshift
        self.cluster = cluster
        self.account = account
        self.password = password
        self.ids: list[str] = []

    def as_master(self, *sqls: str) -> None:
        """Runs `sqls` over psycopg as the master user `admin` (a superuser), not through
        the Data API."""
        endpoint = self.redshift.describe_clusters(
            ClusterIdentifier=self.cluster)["Clusters"][0]["Endpoint"]
        with psycopg.connect(host=endpoint["Address"], port=endpoint["Port"], user="admin",
                             password=self.password, dbname="dev", autocommit=True,
                             connect_timeout=5) as conn:
            for sql in sqls:
                conn.execute(sql)

    def where(self, db_user: str | None = "admin", **extra) -> dict:
        args = {"ClusterIdentifier": self.cluster, "Database": "dev", **extra}
        if db_user is not None:
            args["DbUser"] = db_user
        return args

    def submit(self, sql: str, db_user: str | None = "admin", **extra) -> str:
        statement_id = self.data.execute_statement(Sql=sql, **self.where(db_user, **extra))["Id"]
        self.ids.append(statement_id)
        return statement_id

    def run(self, sql: str, db_user: str | None = "admin", **extra) -> dict:
        """ExecuteStatement, then DescribeStatement once it is done."""
        return wait(self.data, self.submit(sql, db_user, **extra))

    def ok(self, sql: str, db_user: str | None = "admin", **extra) -> dict:
        described = self.run(sql, db_user, **extra)
        assert described["Status"] == "FINISHED", described.get("Error")
        return described

    def rows(self, sql: str, db_user: str | None = "admin", **extra) -> list[list]:
        described = self.ok(sql, db_user, **extra)
        return values(self.data.get_statement_result(Id=described["Id"]))

    def batch(self, *sqls: str, db_user: str | None = "admin", **extra) -> dict:
        statement_id = self.data.batch_execute_statement(Sqls=list(sqls),
                                                         **self.where(db_user, **extra))["Id"]
        self.ids.append(statement_id)
        return wait(self.data, statement_id)


@pytest.fixture
def warehouse(make_redshift, make_data, engine, account, master_password):
    """A cluster (master user `admin`) of the test's account; deleted at the end."""
    redshift = make_redshift(access_key_id=account, endpoint_url=engine.url)
    cluster = new_cluster_id("data")
    password = master_password()
    redshift.create_cluster(ClusterIdentifier=cluster, NodeType="dc2.large",
                            MasterUsername="admin", MasterUserPassword=password)
    try:
        redshift.get_waiter("cluster_available").wait(
            ClusterIdentifier=cluster, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        yield Warehouse(make_data(access_key_id=account, endpoint_url=engine.url), redshift,
                        cluster, account, password)
    finally:
        redshift.delete_cluster(ClusterIdentifier=cluster, SkipFinalClusterSnapshot=True)


@contextlib.contextmanager
def data_error(client, code: str, status: int = 400, message: str | None = None):
    """Expects the call inside to fail with the modelled exception `code`, HTTP `status`
    and, when given, exactly `message`."""
    with pytest.raises(getattr(client.exceptions, code)) as excinfo:
        yield excinfo
    response = excinfo.value.response
    assert response["Error"]["Code"] == code, response["Error"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status, response["ResponseMetadata"]
    assert response["Error"]["Message"], "an error must carry a message"
    if message is not None:
        assert response["Error"]["Message"] == message, response["Error"]


def clock(server, advance: float) -> dict:
    """Moves memshift's clock (`POST /_memshift/clock {"advance_seconds": N}`)."""
    request = urllib.request.Request(f"{server.url}/_memshift/clock", method="POST",
                                     data=json.dumps({"advance_seconds": advance}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def assert_close(moment: datetime, expected: datetime, slack: float = 5.0) -> None:
    assert moment.tzinfo is not None, moment
    assert abs((moment - expected).total_seconds()) <= slack, (moment, expected)


# ------------------------------------------------------------------ 1. the journey


def test_journey_execute_poll_read_batch_list_metadata_csv(warehouse):
    wh, data, cluster = warehouse, warehouse.data, warehouse.cluster

    # ExecuteStatement answers at once with the statement's id.
    sql = ("CREATE TABLE sales (id int NOT NULL, item varchar(20) DEFAULT 'widget', "
           "price numeric(10,2), sold timestamp, paid bool)")
    before = datetime.now(timezone.utc)
    out = data.execute_statement(ClusterIdentifier=cluster, Database="dev", DbUser="admin",
                                 Sql=sql)
    wh.ids.append(out["Id"])
    assert re.fullmatch(UUID4, out["Id"]), out["Id"]
    assert (out["ClusterIdentifier"], out["Database"], out["DbUser"]) == (cluster, "dev",
                                                                         "admin")
    assert_close(out["CreatedAt"], before)
    assert "SessionId" not in out and "WorkgroupName" not in out

    # DescribeStatement, polled until done.
    described = wait(data, out["Id"])
    assert described["Status"] == "FINISHED", described.get("Error")
    assert described["Id"] == out["Id"]
    assert described["QueryString"] == sql
    assert described["HasResultSet"] is False
    assert (described["ClusterIdentifier"], described["Database"], described["DbUser"]) == (
        cluster, "dev", "admin")
    assert described["Duration"] >= 0
    assert described["RedshiftPid"] > 0
    assert described["RedshiftQueryId"] > 0
    assert described["CreatedAt"] <= described["UpdatedAt"]
    assert "Error" not in described
    with data_error(data, "ValidationException", 400, NO_RESULT):
        data.get_statement_result(Id=out["Id"])

    insert = wh.ok("INSERT INTO sales (id, item, price, sold, paid) VALUES "
                   "(1, 'apple', 2.5, '2022-02-22', true), "
                   "(2, 'pear', 10, '2022-02-23 10:11:12.5', false), "
                   "(3, NULL, NULL, NULL, NULL)")
    assert (insert["ResultRows"], insert["HasResultSet"]) == (3, False)

    # GetStatementResult: one Field member per value, the columns' metadata.
    select = wh.ok("SELECT id, item, price, sold, paid FROM sales ORDER BY id",
                   StatementName="daily-sales")
    assert (select["HasResultSet"], select["ResultRows"]) == (True, 3)
    assert select["ResultSize"] > 0
    result = data.get_statement_result(Id=select["Id"])
    assert result["TotalNumRows"] == 3
    assert "NextToken" not in result
    assert result["Records"] == [
        [{"longValue": 1}, {"stringValue": "apple"}, {"stringValue": "2.50"},
         {"stringValue": "2022-02-22 00:00:00.0"}, {"booleanValue": True}],
        [{"longValue": 2}, {"stringValue": "pear"}, {"stringValue": "10.00"},
         {"stringValue": "2022-02-23 10:11:12.5"}, {"booleanValue": False}],
        [{"longValue": 3}, {"isNull": True}, {"isNull": True}, {"isNull": True},
         {"isNull": True}],
    ]
    columns = result["ColumnMetadata"]
    assert [c["name"] for c in columns] == ["id", "item", "price", "sold", "paid"]
    assert [c["label"] for c in columns] == ["id", "item", "price", "sold", "paid"]
    assert [c["typeName"] for c in columns] == ["int4", "varchar", "numeric", "timestamp",
                                                "bool"]
    assert [(c["precision"], c["scale"]) for c in columns] == [(10, 0), (20, 0), (10, 2),
                                                               (29, 6), (1, 0)]
    assert [c["nullable"] for c in columns] == [0, 1, 1, 1, 1]
    assert {(c["schemaName"], c["tableName"]) for c in columns} == {("public", "sales")}
    assert (columns[0]["isSigned"], columns[1]["isSigned"]) == (True, False)
    assert (columns[0]["isCaseSensitive"], columns[1]["isCaseSensitive"]) == (False, True)
    count = wh.ok("SELECT count(*) AS n FROM sales", StatementName="daily-count")

    # BatchExecuteStatement: sub-statements <id>:1..n, results by sub-statement id.
    sqls = ["CREATE TABLE counts (x int)", "INSERT INTO counts VALUES (1), (2)",
            "SELECT sum(x) AS total FROM counts"]
    batch = wh.batch(*sqls)
    assert batch["Status"] == "FINISHED", batch.get("Error")
    assert "QueryString" not in batch
    assert batch["HasResultSet"] is True
    assert batch["RedshiftQueryId"] == 0
    subs = batch["SubStatements"]
    assert [s["Id"] for s in subs] == [f"{batch['Id']}:{n}" for n in (1, 2, 3)]
    assert [s["Status"] for s in subs] == ["FINISHED"] * 3
    assert [s["QueryString"] for s in subs] == sqls
    assert [s["HasResultSet"] for s in subs] == [False, False, True]
    assert [s["ResultRows"] for s in subs][1:] == [2, 1]
    assert all(s["RedshiftQueryId"] > 0 for s in subs), subs
    with data_error(data, "ValidationException", 400,
                    "BatchExecuteStatement result can only be retrieved with sub-statement id."):
        data.get_statement_result(Id=batch["Id"])
    assert values(data.get_statement_result(Id=f"{batch['Id']}:3")) == [[3]]
    with data_error(data, "ValidationException", 400, NO_RESULT):
        data.get_statement_result(Id=f"{batch['Id']}:1")

    # A failing sub-statement: one transaction, rolled back; later ones ABORTED.
    failed = wh.batch("INSERT INTO counts VALUES (10)", "SELECT * FROM nope",
                      "INSERT INTO counts VALUES (20)")
    assert failed["Status"] == "FAILED"
    assert 'relation "nope" does not exist' in failed["Error"]
    assert [s["Status"] for s in failed["SubStatements"]] == ["FINISHED", "FAILED", "ABORTED"]
    assert failed["SubStatements"][1]["Error"] == (
        'ERROR: relation "nope" does not exist\n  Position: 15')
    assert wh.rows("SELECT sum(x) FROM counts") == [[3]]

    # A failing single statement: FAILED, PostgreSQL's message.
    bad = wh.run("SELEC 1")
    assert bad["Status"] == "FAILED"
    assert bad["Error"] == 'ERROR: syntax error at or near "SELEC"\n  Position: 1'
    assert bad["HasResultSet"] is False
    with data_error(data, "ValidationException", 400, NO_RESULT):
        data.get_statement_result(Id=bad["Id"])

    # The metadata operations, synchronous.
    where = {"ClusterIdentifier": cluster, "Database": "dev", "DbUser": "admin"}
    databases = data.list_databases(**where)["Databases"]
    assert "dev" in databases
    assert not {"postgres", "template0", "template1"} & set(databases), databases
    schemas = data.list_schemas(**where)["Schemas"]
    assert {"public", "information_schema", "pg_catalog"} <= set(schemas), schemas
    assert data.list_schemas(SchemaPattern="pub%", **where)["Schemas"] == ["public"]
    assert data.list_schemas(SchemaPattern="publi_", **where)["Schemas"] == ["public"]
    wh.ok("CREATE VIEW big_sales AS SELECT * FROM sales WHERE price > 5")
    tables = data.list_tables(SchemaPattern="public", TablePattern="%sales", **where)["Tables"]
    assert sorted(tables, key=lambda t: t["name"]) == [
        {"name": "big_sales", "type": "VIEW", "schema": "public"},
        {"name": "sales", "type": "TABLE", "schema": "public"}]
    assert [t["name"] for t in data.list_tables(SchemaPattern="public", TablePattern="sale_",
                                                **where)["Tables"]] == ["sales"]
    table = data.describe_table(Schema="public", Table="sales", **where)
    assert table["TableName"] == "sales"
    described_columns = table["ColumnList"]
    assert [c["name"] for c in described_columns] == ["id", "item", "price", "sold", "paid"]
    assert [c["typeName"] for c in described_columns] == ["int4", "varchar", "numeric",
                                                          "timestamp", "bool"]
    assert [c["nullable"] for c in described_columns] == [0, 1, 1, 1, 1]
    assert all("label" not in c for c in described_columns), described_columns
    assert "widget" in described_columns[1]["columnDefault"]
    paged = list(data.get_paginator("describe_table").paginate(
        Schema="public", Table="sales", PaginationConfig={"PageSize": 2}, **where))
    assert [len(p["ColumnList"]) for p in paged] == [2, 2, 1]
    assert [c["name"] for p in paged for c in p["ColumnList"]] == [
        "id", "item", "price", "sold", "paid"]

    # ResultFormat CSV: GetStatementResultV2, one RFC 4180 row per record, NULL empty.
    csv = wh.ok("SELECT 1 AS n, 'hello, csv' AS t, NULL::int AS z "
                "UNION ALL SELECT 2, 'say \"hi\"', 3 ORDER BY n", ResultFormat="CSV")
    assert csv["ResultFormat"] == "CSV"
    v2 = data.get_statement_result_v2(Id=csv["Id"])
    assert v2["ResultFormat"] == "CSV"
    assert v2["TotalNumRows"] == 2
    assert v2["Records"] == [{"CSVRecords": '1,"hello, csv",'},
                             {"CSVRecords": '2,"say ""hi""",3'}]
    assert [c["name"] for c in v2["ColumnMetadata"]] == ["n", "t", "z"]
    assert "NextToken" not in v2
    with data_error(data, "ValidationException", 400):
        data.get_statement_result(Id=csv["Id"])
    with data_error(data, "ValidationException", 400):
        data.get_statement_result_v2(Id=select["Id"])

    # ListStatements: FINISHED by default, newest first; ALL; name prefix; filters; pages.
    newest_first = list(reversed(wh.ids))
    everything = data.list_statements(Status="ALL")["Statements"]
    assert [s["Id"] for s in everything] == newest_first
    assert [s["Id"] for s in data.list_statements()["Statements"]] == [
        i for i in newest_first if i not in (failed["Id"], bad["Id"])]
    assert [s["Id"] for s in data.list_statements(Status="FAILED")["Statements"]] == [
        bad["Id"], failed["Id"]]
    by_id = {s["Id"]: s for s in everything}
    assert by_id[out["Id"]]["QueryString"] == sql
    assert by_id[out["Id"]]["Status"] == "FINISHED"
    assert by_id[batch["Id"]]["IsBatchStatement"] is True
    assert by_id[batch["Id"]]["QueryStrings"] == sqls
    assert "QueryString" not in by_id[batch["Id"]]
    assert by_id[csv["Id"]]["ResultFormat"] == "CSV"
    assert by_id[select["Id"]]["StatementName"] == "daily-sales"
    assert [s["Id"] for s in data.list_statements(StatementName="daily")["Statements"]] == [
        count["Id"], select["Id"]]
    assert data.list_statements(StatementName="Daily")["Statements"] == []
    assert [s["Id"] for s in data.list_statements(
        Status="ALL", ClusterIdentifier=cluster, Database="dev")["Statements"]] == newest_first
    assert data.list_statements(Status="ALL", ClusterIdentifier=cluster,
                                Database="other")["Statements"] == []
    pages = list(data.get_paginator("list_statements").paginate(
        Status="ALL", PaginationConfig={"PageSize": 3}))
    assert all(len(p["Statements"]) <= 3 for p in pages)
    assert [s["Id"] for p in pages for s in p["Statements"]] == newest_first


def test_types_map_to_field_members(warehouse):
    data = warehouse.data
    select = warehouse.ok(
        "SELECT 1::int2 AS a, 2::int4 AS b, 3::int8 AS c, 1.5::float4 AS d, 2.25::float8 AS e, "
        "2.5::numeric(10,2) AS f, true AS g, 'v'::varchar(5) AS h, 't'::text AS i, "
        "'ab'::char(4) AS j, DATE '2022-02-22' AS k, TIMESTAMP '2022-02-22 00:00:00' AS l, "
        "TIMESTAMPTZ '2022-02-22 10:00:00+00' AS m, '\\x0102ff'::bytea AS n, NULL::int AS o")
    result = data.get_statement_result(Id=select["Id"])
    (record,) = result["Records"]
    columns = result["ColumnMetadata"]
    got = {c["name"]: (c["typeName"], field) for c, field in zip(columns, record)}
    assert got["a"] == ("int2", {"longValue": 1})
    assert got["b"] == ("int4", {"longValue": 2})
    assert got["c"] == ("int8", {"longValue": 3})
    assert got["d"] == ("float4", {"doubleValue": 1.5})
    assert got["e"] == ("float8", {"doubleValue": 2.25})
    assert got["f"] == ("numeric", {"stringValue": "2.50"})
    assert got["g"] == ("bool", {"booleanValue": True})
    assert got["h"] == ("varchar", {"stringValue": "v"})
    assert got["i"] == ("varchar", {"stringValue": "t"})
    assert got["j"] == ("bpchar", {"stringValue": "ab  "})
    assert got["k"] == ("date", {"stringValue": "2022-02-22"})
    assert got["l"] == ("timestamp", {"stringValue": "2022-02-22 00:00:00.0"})
    assert got["m"][0] == "timestamptz"
    assert got["m"][1]["stringValue"].startswith("2022-02-22 10:00:00"), got["m"]
    assert got["n"] == ("varbyte", {"blobValue": b"\x01\x02\xff"})  # boto3 decodes base64
    assert got["o"] == ("int4", {"isNull": True})
    # Expressions: no table, nullable unknown-or-yes, label = name.
    assert all((c["schemaName"], c["tableName"]) == ("", "") for c in columns), columns
    assert all(c["label"] == c["name"] for c in columns)


# ------------------------------------------------------------------- 2. privileges


def test_db_user_has_what_it_was_granted(warehouse, account):
    wh, data = warehouse, warehouse.data
    # The master user (over psycopg) makes the tables and the role alice.
    wh.as_master("CREATE TABLE a (x int)", "INSERT INTO a VALUES (1), (2)",
                 "CREATE TABLE b (x int)", "CREATE ROLE alice", "GRANT SELECT ON a TO alice")

    # DbUser alice: the login role IAM:alice, a member of alice, with alice's grants.
    assert wh.rows("SELECT current_user", db_user="alice") == [["IAM:alice"]]
    assert wh.rows("SELECT sum(x) FROM a", db_user="alice") == [[3]]
    denied = wh.run("SELECT * FROM b", db_user="alice")
    assert denied["Status"] == "FAILED"
    assert denied["Error"].startswith("ERROR: ")
    assert "permission denied" in denied["Error"], denied["Error"]
    assert denied["DbUser"] == "alice"
    intruder = wh.run("CREATE ROLE intruder", db_user="alice")
    assert intruder["Status"] == "FAILED"
    assert "permission denied" in intruder["Error"], intruder["Error"]

    # A DbUser without a role of its name cannot log in.
    nobody = wh.run("SELECT 1", db_user="bob")
    assert nobody["Status"] == "FAILED"
    assert 'user "bob" does not exist' in nobody["Error"], nobody["Error"]
    with data_error(data, "DatabaseConnectionException", 500):
        data.list_databases(ClusterIdentifier=wh.cluster, Database="dev", DbUser="bob")

    # No DbUser: the caller's IAM identity, created at its first login, granted nothing.
    assert wh.rows("SELECT current_user", db_user=None) == [[f"IAM:{account}"]]
    assert wh.run("SELECT * FROM a", db_user=None)["Status"] == "FAILED"


def test_master_user_as_db_user_administers(warehouse):
    """DbUser = MasterUsername: IAM:admin, a member of admin, can do what the master user
    does: make tables, roles and grants through the Data API alone."""
    wh = warehouse
    assert wh.rows("SELECT current_user, pg_has_role(current_user, 'admin', 'MEMBER')") == [
        ["IAM:admin", True]]
    setup = wh.batch("CREATE TABLE a (x int)", "INSERT INTO a VALUES (1), (2)",
                     "CREATE ROLE alice", "GRANT SELECT ON a TO alice")
    assert setup["Status"] == "FINISHED", setup.get("Error")
    assert wh.rows("SELECT current_user, sum(x) FROM a", db_user="alice") == [["IAM:alice", 3]]


# ------------------------------------------------------------------- 3. parameters


def test_parameters_are_values(warehouse):
    wh = warehouse
    wh.ok("CREATE TABLE notes (id int, note varchar(100))")
    evil = "x'); DROP TABLE notes; --"
    params = [{"name": "id", "value": "41"}, {"name": "note", "value": evil}]
    insert = wh.ok("INSERT INTO notes VALUES (:id, :note)", Parameters=params)
    assert insert["ResultRows"] == 1
    assert insert["QueryParameters"] == params
    assert wh.rows("SELECT note, id + 1 FROM notes WHERE id = :id",
                   Parameters=[{"name": "id", "value": "41"}]) == [[evil, 42]]
    assert wh.rows("SELECT count(*) FROM notes") == [[1]]

    # SQL text as a value stays a value; "null" is the string.
    sql_text = "1; DROP TABLE notes"
    assert wh.rows("SELECT :v::text AS v, :n::text IS NULL AS missing",
                   Parameters=[{"name": "v", "value": sql_text},
                               {"name": "n", "value": "null"}]) == [[sql_text, False]]
    assert wh.rows("SELECT count(*) FROM notes") == [[1]]

    # Not inside quotes, comments or casts; one name used twice.
    assert wh.rows("SELECT ':id' AS lit, :id::int + :id::int AS twice /* :id */ -- :nope\n",
                   Parameters=[{"name": "id", "value": "21"}]) == [[":id", 42]]

    # A batch shares its parameters.
    shared = wh.batch("INSERT INTO notes VALUES (:id, 'b')",
                      "SELECT count(*) FROM notes WHERE id = :id",
                      Parameters=[{"name": "id", "value": "7"}])
    assert shared["Status"] == "FINISHED", shared.get("Error")
    assert values(wh.data.get_statement_result(Id=f"{shared['Id']}:2")) == [[1]]

    # Unused and missing parameters are refused before anything runs.
    with data_error(wh.data, "ValidationException", 400,
                    "Parameters list contains unused parameters. Unused parameters: [extra]"):
        wh.data.execute_statement(Sql="SELECT :id::int", **wh.where(),
                                  Parameters=[{"name": "id", "value": "1"},
                                              {"name": "extra", "value": "2"}])
    with data_error(wh.data, "ValidationException", 400):
        wh.data.execute_statement(Sql="SELECT :a::int, :b::int", **wh.where(),
                                  Parameters=[{"name": "a", "value": "1"}])


# ---------------------------------------------------------------------- 4. cancel


def test_cancel_a_running_statement(warehouse):
    wh, data = warehouse, warehouse.data
    started = time.monotonic()
    statement_id = wh.submit("SELECT pg_sleep(60)")
    deadline = time.monotonic() + 10
    while (described := data.describe_statement(Id=statement_id))["Status"] != "STARTED":
        assert described["Status"] in RUNNING, described
        assert time.monotonic() < deadline, described
        time.sleep(0.05)
    assert described["RedshiftPid"] > 0
    assert described["Duration"] == -1
    assert described["ResultRows"] == -1
    with data_error(data, "ValidationException", 400, NO_RESULT):
        data.get_statement_result(Id=statement_id)

    assert data.cancel_statement(Id=statement_id)["Status"] is True
    aborted = wait(data, statement_id)
    assert aborted["Status"] == "ABORTED"
    assert aborted["Error"] == "ERROR: canceling statement due to user request"
    assert time.monotonic() - started < 30

    done = wh.ok("SELECT 1")
    with data_error(data, "ValidationException", 400,
                    "Could not cancel a query that is already in FINISHED state with ID: "
                    f"{done['Id']}"):
        data.cancel_statement(Id=done["Id"])
    assert wh.rows("SELECT 2") == [[2]]


# ------------------------------------------------------------------- 5. pagination


def test_get_statement_result_paginator_gives_every_row_once(warehouse):
    wh, data = warehouse, warehouse.data
    select = wh.ok("SELECT g AS n, 'row ' || g AS label FROM generate_series(1, 2500) AS g "
                   "ORDER BY g")
    assert select["ResultRows"] == 2500
    first = data.get_statement_result(Id=select["Id"])
    assert len(first["Records"]) == 1000
    assert first["TotalNumRows"] == 2500
    assert first["NextToken"]

    pages = list(data.get_paginator("get_statement_result").paginate(Id=select["Id"]))
    assert [len(p["Records"]) for p in pages] == [1000, 1000, 500]
    assert all(p["TotalNumRows"] == 2500 for p in pages)
    assert "NextToken" not in pages[-1]
    rows = [values({"Records": p["Records"]}) for p in pages]
    flat = [row for page in rows for row in page]
    assert [n for n, _ in flat] == list(range(1, 2501))
    assert all(label == f"row {n}" for n, label in flat)

    full = data.get_paginator("get_statement_result").paginate(Id=select["Id"]).build_full_result()
    assert len(full["Records"]) == 2500
    assert full["TotalNumRows"] == 2500
    assert [c["name"] for c in full["ColumnMetadata"]] == ["n", "label"]

    # MaxItems is cut on the client; its token resumes where it stopped.
    part = data.get_paginator("get_statement_result").paginate(
        Id=select["Id"], PaginationConfig={"MaxItems": 1500}).build_full_result()
    assert [value(r[0]) for r in part["Records"]] == list(range(1, 1501))
    rest = data.get_paginator("get_statement_result").paginate(
        Id=select["Id"], PaginationConfig={"StartingToken": part["NextToken"]}
    ).build_full_result()
    assert [value(r[0]) for r in rest["Records"]] == list(range(1501, 2501))


# ----------------------------------------------------------- sessions and expiry


def test_sessions_keep_one_backend(warehouse):
    wh, data = warehouse, warehouse.data
    out = data.execute_statement(Sql="CREATE TEMP TABLE scratch AS SELECT pg_backend_pid() AS pid",
                                 SessionKeepAliveSeconds=60, **wh.where())
    session = out["SessionId"]
    assert re.fullmatch(UUID4, session), session
    first = wait(data, out["Id"])
    assert first["Status"] == "FINISHED", first.get("Error")
    assert first["SessionId"] == session

    again = data.execute_statement(SessionId=session,
                                   Sql="SELECT pid = pg_backend_pid() AS same FROM scratch")
    assert again["SessionId"] == session
    reused = wait(data, again["Id"])
    assert reused["Status"] == "FINISHED", reused.get("Error")
    assert reused["RedshiftPid"] == first["RedshiftPid"]
    assert values(data.get_statement_result(Id=again["Id"])) == [[True]]

    # Busy: one statement at a time.
    sleeper = data.execute_statement(SessionId=session, Sql="SELECT pg_sleep(30)")["Id"]
    with data_error(data, "ActiveSessionsExceededException", 400):
        data.execute_statement(SessionId=session, Sql="SELECT 1")
    data.cancel_statement(Id=sleeper)
    assert wait(data, sleeper)["Status"] == "ABORTED"

    with data_error(data, "ValidationException", 400):
        data.execute_statement(SessionId=session, ClusterIdentifier=wh.cluster, Sql="SELECT 1")
    unknown = str(uuid.uuid4())
    with data_error(data, "ValidationException", 400, f"Session with Id: {unknown} is invalid"):
        data.execute_statement(SessionId=unknown, Sql="SELECT 1")

    # A session whose keep-alive has passed.
    short = data.execute_statement(Sql="SELECT 1", SessionKeepAliveSeconds=1, **wh.where())
    assert wait(data, short["Id"])["Status"] == "FINISHED"
    time.sleep(2.5)
    with data_error(data, "ValidationException", 400, "Session is not available"):
        data.execute_statement(SessionId=short["SessionId"], Sql="SELECT 1")


def test_results_expire_after_a_day_on_memshifts_clock(warehouse, engine):
    wh, data = warehouse, warehouse.data
    done = wh.ok("SELECT 1")
    start = clock(engine, 0)["offset_seconds"]
    try:
        clock(engine, 86401)
        with data_error(data, "ResourceNotFoundException", 400, "Query does not exist."):
            data.describe_statement(Id=done["Id"])
        with data_error(data, "ResourceNotFoundException", 400, "Query does not exist."):
            data.get_statement_result(Id=done["Id"])
    finally:
        assert clock(engine, -86401)["offset_seconds"] == pytest.approx(start)


# ----------------------------------------------------------------------- 6. errors


def test_errors_as_boto3_sees_them(warehouse, make_data, engine, account):
    wh, data, cluster = warehouse, warehouse.data, warehouse.cluster
    missing = str(uuid.uuid4())
    for call in (data.describe_statement, data.get_statement_result,
                 data.get_statement_result_v2):
        with data_error(data, "ResourceNotFoundException", 400, "Query does not exist."):
            call(Id=missing)
    for bad in ("not-an-id", missing.upper(), missing[:-1]):
        with data_error(data, "ValidationException", 400) as e:
            data.describe_statement(Id=bad)
        assert e.value.response["Error"]["Message"].startswith("id must satisfy regex pattern:")

    with data_error(data, "ValidationException", 400,
                    "Parameters list contains unused parameters. Unused parameters: [x]"):
        data.execute_statement(Sql="SELECT 1", Parameters=[{"name": "x", "value": "1"}],
                               **wh.where())
    with data_error(data, "ValidationException", 400) as e:
        data.execute_statement(
            Sql="SELECT 1", ClusterIdentifier=cluster, Database="dev",
            SecretArn=f"arn:aws:secretsmanager:us-east-1:{account}:secret:dbcreds-AbCdEf")
    assert "Secrets Manager" in e.value.response["Error"]["Message"]

    for call in (lambda: data.execute_statement(Sql="SELECT 1", ClusterIdentifier="no-such",
                                                Database="dev", DbUser="admin"),
                 lambda: data.batch_execute_statement(Sqls=["SELECT 1"], Database="dev",
                                                      ClusterIdentifier="no-such"),
                 lambda: data.list_databases(ClusterIdentifier="no-such", Database="dev"),
                 lambda: data.execute_statement(Sql="SELECT 1", WorkgroupName="no-such-wg",
                                                Database="dev")):
        with data_error(data, "ValidationException", 400, NO_ENDPOINT):
            call()
    # Another account does not see the cluster or the statements.
    other = make_data(access_key_id=f"{int(account) ^ 1:012d}", endpoint_url=engine.url)
    with data_error(other, "ValidationException", 400, NO_ENDPOINT):
        other.execute_statement(Sql="SELECT 1", **wh.where())
    done = wh.ok("SELECT 1")
    with data_error(other, "ResourceNotFoundException", 400, "Query does not exist."):
        other.describe_statement(Id=done["Id"])

    # Where to run: exactly one of cluster, workgroup and session; Database with a cluster.
    for where in ({"ClusterIdentifier": cluster, "WorkgroupName": "wg-x", "Database": "dev"},
                  {"Database": "dev"},
                  {"ClusterIdentifier": cluster, "DbUser": "admin"},
                  {"WorkgroupName": "wg-x", "Database": "dev", "DbUser": "admin"}):
        with data_error(data, "ValidationException", 400):
            data.execute_statement(Sql="SELECT 1", **where)

    raw = make_data(access_key_id=account, endpoint_url=engine.url, parameter_validation=False)
    with data_error(raw, "ValidationException", 400):
        raw.batch_execute_statement(Sqls=[f"SELECT {n}" for n in range(41)], **wh.where())
    with data_error(raw, "ValidationException", 400):
        raw.list_statements(MaxResults=101)
    with data_error(raw, "ValidationException", 400):
        raw.execute_statement(**wh.where())  # no Sql
    # Nothing of the refused calls ran.
    assert [s["Id"] for s in data.list_statements(Status="ALL")["Statements"]] == [done["Id"]]


# ------------------------------------------------------------------------- AWS CLI


def test_cli_execute_then_describe(data_cli, warehouse, account):
    cli, cluster = data_cli, warehouse.cluster
    as_me = {"access_key_id": account}
    out = cli.ok("execute-statement", "--cluster-identifier", cluster, "--database", "dev",
                 "--db-user", "admin", "--sql", "SELECT :n::int + 1 AS answer",
                 "--parameters", '[{"name": "n", "value": "41"}]', **as_me)
    assert re.fullmatch(UUID4, out["Id"]), out
    assert (out["ClusterIdentifier"], out["Database"], out["DbUser"]) == (cluster, "dev",
                                                                         "admin")
    deadline = time.monotonic() + 30
    while (described := cli.ok("describe-statement", "--id", out["Id"], **as_me))[
            "Status"] not in TERMINAL:
        assert time.monotonic() < deadline, described
        time.sleep(0.2)
    assert described["Status"] == "FINISHED", described.get("Error")
    assert described["QueryParameters"] == [{"name": "n", "value": "41"}]
    result = cli.ok("get-statement-result", "--id", out["Id"], **as_me)
    assert result["Records"] == [[{"longValue": 42}]]
    assert result["TotalNumRows"] == 1
    assert result["ColumnMetadata"][0]["name"] == "answer"

    batch = cli.ok("batch-execute-statement", "--cluster-identifier", cluster,
                   "--database", "dev", "--db-user", "admin",
                   "--sqls", "CREATE TABLE t (x int)", "SELECT count(*) FROM t", **as_me)
    assert wait(warehouse.data, batch["Id"])["Status"] == "FINISHED"
    listed = cli.ok("list-statements", **as_me)["Statements"]
    assert [s["Id"] for s in listed] == [batch["Id"], out["Id"]]

    failed = cli.fails("ResourceNotFoundException", "describe-statement",
                       "--id", str(uuid.uuid4()), **as_me)
    assert failed.returncode == 255
    assert "Query does not exist." in failed.stderr
    failed = cli.fails("ValidationException", "execute-statement", "--cluster-identifier",
                       "no-such", "--database", "dev", "--sql", "SELECT 1", **as_me)
    assert NO_ENDPOINT in failed.stderr
