"""Helpers of the plugin suite. The `memshift` and `memshift_account` fixtures themselves
come from the installed wheel's plugin (its pytest11 entry point), as they would in any
project that installs the package."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Run:
    returncode: int
    output: str


@pytest.fixture
def run_pytest(tmp_path: Path):
    """run_pytest(test_source, *args, env=...) -> Run: a separate pytest session on one
    test file, with the installed plugin, in a directory of its own."""

    def run(source: str, *args: str, env: dict | None = None, timeout: float = 120) -> Run:
        (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
        (tmp_path / "test_inner.py").write_text(textwrap.dedent(source))
        # The outer session's own settings (xdist's worker variables, PYTEST_ADDOPTS) stay
        # out of the inner one.
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        environment.update(env or {})
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", *args, "test_inner.py"],
            cwd=tmp_path,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        return Run(done.returncode, done.stdout)

    return run


@pytest.fixture
def fake_binary(tmp_path: Path):
    """fake_binary(body) -> the path of an executable Python script standing in for
    memshift (its pid is written to `fake.pid` beside it)."""

    def make(body: str) -> Path:
        path = tmp_path / "fake-memshift"
        pid_file = tmp_path / "fake.pid"
        path.write_text(
            f"#!{sys.executable}\n"
            "import os, sys, time\n"
            f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
            + textwrap.dedent(body)
        )
        path.chmod(0o755)
        return path

    return make


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers; it is gone for every other purpose.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True
