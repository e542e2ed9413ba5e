"""memshift.server.Server used directly, as a project without pytest fixtures would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import memshift as package
import memshift.server as server_module
from memshift.server import Server

from conftest import pid_alive

ENGINES_OFF = ("--redis-server", "off", "--postgres-bin-dir", "off")


def test_with_block_starts_and_stops(tmp_path):
    with Server(args=ENGINES_OFF) as server:
        assert server.running
        assert server.startup_seconds is not None and server.startup_seconds < 10
        pid, tmp_dir = server.process.pid, server.tmp_dir
        assert (tmp_dir / "server.log").exists()
        assert server.health()["engines"]["redis"].startswith("control-plane only")
    assert not pid_alive(pid)
    assert not tmp_dir.exists()
    server.stop()  # a second stop does nothing


def test_a_taken_port_is_left_for_another(monkeypatch):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = [taken.getsockname()[1]]
    real = server_module._free_port
    monkeypatch.setattr(server_module, "_free_port", lambda: ports.pop() if ports else real())
    try:
        with Server(args=ENGINES_OFF) as server:
            assert server.port != taken.getsockname()[1]
            assert server.health()["status"] == "running"
            assert "Address already in use" in server.log_tail()
    finally:
        taken.close()


def test_new_accounts_are_new_and_never_the_default_one(monkeypatch):
    server = Server(args=("--default-account", "123456789012"))
    server._accounts.clear()
    server._accounts.add("123456789012")
    # Whatever the draw, the default account and an account handed out before are skipped.
    draws = iter([123456789012, 123456789012, 210987654321, 210987654321, 111111111111])
    monkeypatch.setattr(server._random, "randrange", lambda a, b: next(draws))
    assert [server.new_account().id for _ in range(2)] == ["210987654321", "111111111111"]


def test_memshift_variables_are_read_like_flags():
    server = Server(env={**os.environ, "MEMSHIFT_DEFAULT_ACCOUNT": "222233334444",
                         "MEMSHIFT_HOST": "0.0.0.0"})
    assert "222233334444" in server._accounts
    assert server.host == "127.0.0.1"


def test_the_package_needs_neither_pytest_nor_boto3_to_import():
    code = ("import sys, memshift, memshift.server, memshift.__main__; "
            "print(sorted(m for m in ('pytest', 'boto3', 'botocore') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_python_dash_m_runs_the_binary_and_passes_its_exit_code_on():
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "memshift", *args],
                              capture_output=True, text=True, timeout=30)

    version = run("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"memshift {package.__version__}")
    unknown = run("--no-such-flag")
    assert unknown.returncode == 2
    assert "--no-such-flag" in unknown.stderr
    with socket.socket() as s:  # a port where no memshift answers
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert run("healthcheck", "--port", str(port)).returncode == 1
    with Server(args=ENGINES_OFF) as server:
        assert run("healthcheck", "--port", str(server.port)).returncode == 0
