"""Shared fixtures of the client suite: one memshift server for the whole session, boto3
clients (MemoryDB and Redshift) and AWS CLI runners pointed at it, unique names and
accounts, and a guard that fails any test whose passwords show up in a response, in CLI
output or in the server log.

    python3 -m pip install -r tests/clients/requirements.txt
    python3 -m pytest tests/clients -q

The server is built with `cargo build --release` unless TEST_MEMSHIFT_BIN names a binary.
The server is shared by every test, so tests keep out of each other's way with unique
names (`unique_name`) or with an account of their own (`fresh_account`: an access key id
of exactly twelve digits is the account id).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import boto3
import pytest
from botocore.config import Config

from support import (DEFAULT_KEY, DEFAULT_REGION, ETL_ROLE_KEY, SECRET_KEY, new_account_id,
                     save_ca, stop_process)

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 10.0


# --------------------------------------------------------------------------- server


@dataclass
class Server:
    url: str
    port: int
    log_path: Path
    process: subprocess.Popen

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _binary() -> Path:
    given = os.environ.get("TEST_MEMSHIFT_BIN")
    if given:
        path = Path(given)
        if not path.is_file():
            pytest.exit(f"TEST_MEMSHIFT_BIN={given} is not a file", returncode=2)
        return path
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.exit("cargo is not on PATH; build memshift and set TEST_MEMSHIFT_BIN", returncode=2)
    build = subprocess.run(
        [cargo, "build", "--release", "--quiet", "--bin", "memshift"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        pytest.exit(f"cargo build --release failed:\n{build.stderr}", returncode=2)
    return REPO_ROOT / "target" / "release" / "memshift"


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def _start(
    binary: Path, log_path: Path, flags: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMSHIFT_")}
    env.setdefault("RUST_LOG", "info")
    last_error = ""
    # The port is free when we pick it but could be taken before the server binds it:
    # try a few times.
    for _ in range(3):
        port = _free_port()
        log = log_path.open("ab")
        process = subprocess.Popen(
            [str(binary), "--host", HOST, "--port", str(port), *flags],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _answers(port):
                return process, port
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
            process.wait()
            last_error = f"memshift did not answer on port {port} within {STARTUP_TIMEOUT} s"
        else:
            last_error = f"memshift exited with {process.returncode}"
    log_text = log_path.read_text(errors="replace")
    pytest.exit(f"{last_error}; its log:\n{log_text}", returncode=2)
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def memshift_binary() -> Path:
    """The memshift binary under test (TEST_MEMSHIFT_BIN, or a fresh release build)."""
    return _binary()


@pytest.fixture(scope="session")
def server(memshift_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Server:
    log_path = tmp_path_factory.mktemp("memshift") / "server.log"
    # Clusters without real servers here; the tests of real Redis and PostgreSQL start
    # servers of their own (`engine_server`).
    process, port = _start(memshift_binary, log_path,
                           ("--redis-server", "off", "--postgres-bin-dir", "off"))
    yield Server(url=f"http://{HOST}:{port}", port=port, log_path=log_path, process=process)
    stop_process(process)


@pytest.fixture(scope="session")
def memshift_flags(memshift_binary: Path) -> str:
    """The `--help` text of the binary, to tell which flags it has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMSHIFT_")}
    done = subprocess.run(
        [str(memshift_binary), "--help"], capture_output=True, text=True, env=env, timeout=10
    )
    return done.stdout


@pytest.fixture(scope="session")
def start_server(memshift_binary: Path, tmp_path_factory: pytest.TempPathFactory):
    """start_server(*flags, engines=False) -> another memshift server with extra
    command-line flags, for tests that need settings the shared one does not have (with
    engines=True, its clusters run real Redis and PostgreSQL servers); stopped at the end
    of the session. Check `memshift_flags` first: a flag the binary lacks ends the session."""
    started: list[subprocess.Popen] = []

    def start(*flags: str, engines: bool = False) -> Server:
        if not engines:
            flags = ("--redis-server", "off", "--postgres-bin-dir", "off", *flags)
        log_path = tmp_path_factory.mktemp("memshift") / "server.log"
        process, port = _start(memshift_binary, log_path, flags)
        started.append(process)
        return Server(url=f"http://{HOST}:{port}", port=port, log_path=log_path, process=process)

    yield start
    for process in started:
        stop_process(process)


@pytest.fixture(scope="session")
def engine_server(start_server) -> Server:
    """A server whose clusters run the Redis and PostgreSQL servers found on this machine.
    ETL_ROLE_KEY is the IAM role `etl` there."""
    return start_server("--iam-identity", f"{ETL_ROLE_KEY}=role:etl", engines=True)


@pytest.fixture(scope="session")
def ca_file(engine_server, tmp_path_factory) -> Path:
    """The CA of the engine server's endpoints, saved as a file clients are given."""
    return save_ca(engine_server, tmp_path_factory.mktemp("ca"))


# ------------------------------------------------------------ what the clients saw


@dataclass
class Wire:
    """Every response body the boto3 clients received, and every CLI output, as text."""

    texts: list[str] = field(default_factory=list)

    def record_boto(self, http_response=None, **_: Any) -> None:
        if http_response is not None:
            self.texts.append(http_response.content.decode("utf-8", errors="replace"))

    def record(self, text: str) -> None:
        self.texts.append(text)

    def mark(self) -> int:
        return len(self.texts)

    def since(self, mark: int) -> str:
        return "\n".join(self.texts[mark:])


@pytest.fixture(scope="session")
def wire() -> Wire:
    return Wire()


@pytest.fixture
def passwords() -> list[str]:
    """Every password handed out by `password` in the current test."""
    return []


@pytest.fixture
def password(passwords: list[str]) -> Callable[[], str]:
    """A new unique password (34 characters); the leak guard looks for it afterwards."""

    def make(length: int = 34) -> str:
        base = "Pw" + uuid.uuid4().hex
        value = (base * (length // len(base) + 1))[:length]
        passwords.append(value)
        return value

    return make


@pytest.fixture
def master_password(passwords):
    """A new valid Redshift master password (upper, lower, digit); the leak guard looks
    for it in every response, CLI output and log line of the test."""

    def make() -> str:
        value = "Rs1" + uuid.uuid4().hex
        passwords.append(value)
        return value

    return make


@pytest.fixture(autouse=True)
def no_password_leaks(server: Server, wire: Wire, passwords: list[str]):
    """Fails the test if one of its passwords appears in any response body, CLI output
    or server log line produced while it ran."""
    mark = wire.mark()
    log_offset = server.log_size()
    yield
    if not passwords:
        return
    seen = wire.since(mark)
    time.sleep(0.05)  # let the server flush the log line of the last request
    log = server.log_since(log_offset)
    for secret in passwords:
        assert secret not in seen, f"password {secret!r} appears in a response or CLI output"
        assert secret not in log, f"password {secret!r} appears in the server log"


# ------------------------------------------------------------------- boto3 clients


@pytest.fixture(scope="session")
def boto_session() -> boto3.session.Session:
    return boto3.session.Session()


@pytest.fixture
def aws_env(monkeypatch):
    """No AWS settings of this machine's user reach the drivers' boto3 clients."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


ClientFactory = Callable[..., Any]


@pytest.fixture(scope="session")
def make_client(server: Server, wire: Wire, boto_session) -> ClientFactory:
    """make_client(access_key_id=..., region=...) -> a MemoryDB client for that scope
    (service="redshift" for a Redshift client, endpoint_url= for another server).

    parameter_validation=False lets a test send what boto3 would refuse to send."""

    def make(
        access_key_id: str = DEFAULT_KEY,
        region: str = DEFAULT_REGION,
        parameter_validation: bool = True,
        service: str = "memorydb",
        endpoint_url: str | None = None,
    ):
        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=15,
            parameter_validation=parameter_validation,
        )
        client = boto_session.client(
            service,
            endpoint_url=endpoint_url or server.url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=SECRET_KEY,
            config=config,
        )
        client.meta.events.register(f"after-call.{service}", wire.record_boto)
        return client

    return make


@pytest.fixture
def memorydb(make_client):
    """A client of the default account (000000000000) in us-east-1."""
    return make_client()


@pytest.fixture(scope="session")
def make_redshift(make_client) -> ClientFactory:
    """make_redshift(access_key_id=..., region=...) -> a Redshift client for that scope."""

    def make(**scope: Any):
        return make_client(service="redshift", **scope)

    return make


@pytest.fixture
def redshift(make_redshift):
    """A Redshift client of the default account (000000000000) in us-east-1."""
    return make_redshift()


@pytest.fixture(scope="session")
def make_serverless(make_client) -> ClientFactory:
    """make_serverless(access_key_id=..., region=..., endpoint_url=...) -> a Redshift
    Serverless client for that scope."""

    def make(**scope: Any):
        return make_client(service="redshift-serverless", **scope)

    return make


@pytest.fixture(scope="session")
def make_data(make_client) -> ClientFactory:
    """make_data(access_key_id=..., region=..., endpoint_url=...) -> a Redshift Data API
    (`redshift-data`) client for that scope."""

    def make(**scope: Any):
        return make_client(service="redshift-data", **scope)

    return make


@pytest.fixture
def fresh_account() -> str:
    """A twelve-digit account nobody else uses: it holds only the built-in resources."""
    return new_account_id()


@pytest.fixture
def account(fresh_account) -> str:
    """An account of the test's own, so that listings are exact."""
    return fresh_account


@pytest.fixture
def fresh(make_client, fresh_account):
    """A client of `fresh_account` in us-east-1."""
    return make_client(access_key_id=fresh_account)


# ------------------------------------------------------------------------- AWS CLI


@dataclass
class CliResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout) if self.stdout.strip() else {}


class Cli:
    """Runs `aws --endpoint-url URL --output json SERVICE ...` with its own credentials
    (SERVICE is `memorydb` unless given)."""

    def __init__(self, server: Server, wire: Wire, service: str = "memorydb"):
        self.server = server
        self.wire = wire
        self.service = service
        aws = shutil.which("aws")
        self.base = [aws] if aws else [sys.executable, "-m", "awscli"]

    def run(
        self,
        *args: str,
        access_key_id: str = DEFAULT_KEY,
        region: str = DEFAULT_REGION,
    ) -> CliResult:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=access_key_id,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            AWS_DEFAULT_REGION=region,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_MAX_ATTEMPTS="1",
            AWS_RETRY_MODE="standard",
        )
        command = [
            *self.base,
            "--endpoint-url",
            self.server.url,
            "--output",
            "json",
            self.service,
            *args,
        ]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        self.wire.record(done.stdout)
        self.wire.record(done.stderr)
        return CliResult(command, done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, **scope: str) -> Any:
        result = self.run(*args, **scope)
        assert result.returncode == 0, (
            f"aws {self.service} {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
        )
        return result.json

    def fails(self, code: str, *args: str, **scope: str) -> CliResult:
        result = self.run(*args, **scope)
        assert result.returncode != 0, (
            f"aws {self.service} {' '.join(args)} succeeded:\n{result.stdout}"
        )
        assert f"({code})" in result.stderr, result.stderr
        return result


@pytest.fixture(scope="session")
def cli(server: Server, wire: Wire) -> Cli:
    return Cli(server, wire)


@pytest.fixture(scope="session")
def redshift_cli(server: Server, wire: Wire) -> Cli:
    """Runs `aws redshift ...` against the server."""
    return Cli(server, wire, service="redshift")


@pytest.fixture(scope="session")
def serverless_cli(engine_server: Server, wire: Wire) -> Cli:
    """Runs `aws redshift-serverless ...` against the engine server, whose workgroups run
    PostgreSQL."""
    return Cli(engine_server, wire, service="redshift-serverless")


@pytest.fixture(scope="session")
def data_cli(engine_server: Server, wire: Wire) -> Cli:
    """Runs `aws redshift-data ...` against the engine server, whose clusters run
    PostgreSQL."""
    return Cli(engine_server, wire, service="redshift-data")
