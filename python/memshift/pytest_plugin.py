"""The memshift pytest plugin, registered with pytest through the ``pytest11`` entry
point: installing the wheel is enough.

Fixtures:

- ``memshift`` (session): a memshift server started on a free port for the session (one
  per pytest-xdist worker), stopped at its end. It has ``endpoint_url``,
  ``client(service, region="us-east-1", account=None)``, ``ca_file``,
  ``advance_clock(seconds)``, ``reset()`` and ``new_account()``.
- ``memshift_account`` (function): a new twelve-digit account for the test, so that it sees
  only its own resources; ``memshift_account.client(service)`` acts in it.

Options: ``--memshift-bin PATH``, ``--memshift-arg ARGS`` (repeatable, split as a shell
would: ``--memshift-arg="--redis-server off"``), ``--memshift-startup-timeout SECONDS``.
``MEMSHIFT_*`` environment variables reach the server as its settings.
"""

from __future__ import annotations

import time
from typing import Iterator

import pytest

from . import BinaryNotFound
from .server import Account, Server, StartupError, split_args

__all__ = ["memshift", "memshift_account"]

# When pytest loaded the plugin (time.monotonic()): what a session's wait for the server
# is measured from.
IMPORTED_AT = time.monotonic()

# pytest >= 7.
_SERVER_KEY = pytest.StashKey[Server]()
_LOG_OFFSET_KEY = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memshift", "memshift server for the memshift fixture")
    group.addoption(
        "--memshift-bin",
        metavar="PATH",
        default=None,
        help="the memshift binary to run (default: the one installed with the memshift "
        "package, else memshift on PATH)",
    )
    group.addoption(
        "--memshift-arg",
        metavar="ARGS",
        action="append",
        default=[],
        help="extra arguments for the server, split as a shell would; repeatable: "
        '--memshift-arg="--redis-server off"',
    )
    group.addoption(
        "--memshift-startup-timeout",
        metavar="SECONDS",
        type=float,
        default=30.0,
        help="how long the server may take to answer /_memshift/health (default 30)",
    )


@pytest.fixture(scope="session")
def memshift(request: pytest.FixtureRequest) -> Iterator[Server]:
    """A memshift server for the whole session (one per xdist worker).

    ``memshift.client("memorydb")`` is a boto3 client for it; ``memshift.endpoint_url``
    its URL for other clients. The server is shared by the session's tests: keep them apart
    with unique names or with ``memshift_account``."""
    config = request.config
    failure = None
    try:
        server = Server(
            binary=config.getoption("memshift_bin"),
            args=split_args(config.getoption("memshift_arg")),
            startup_timeout=config.getoption("memshift_startup_timeout"),
        )
    except ValueError as e:
        failure = f"memshift: {e}"
    else:
        # Stopped by whichever comes first: this fixture's teardown (also after a failing
        # test, and on Ctrl-C, when pytest tears the session down), atexit, or SIGTERM.
        request.addfinalizer(server.stop)
        try:
            server.start()
        except (BinaryNotFound, StartupError) as e:
            failure = f"memshift: {e}"
    if failure is not None:
        # Outside the except blocks, so that the report shows the message alone.
        pytest.fail(failure, pytrace=False)
    config.stash[_SERVER_KEY] = server
    yield server
    server.stop()


@pytest.fixture
def memshift_account(memshift: Server) -> Account:
    """An account of the test's own (a new twelve-digit id each test): clients from
    ``memshift_account.client(service)`` see no other test's resources."""
    return memshift.new_account()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    server = item.config.stash.get(_SERVER_KEY, None)
    item.stash[_LOG_OFFSET_KEY] = server.log_size() if server is not None else 0
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A failing test that used the server gets the lines the server logged meanwhile
    (the last 50) as a report section."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed or "memshift" not in getattr(item, "fixturenames", ()):
        return
    server = item.config.stash.get(_SERVER_KEY, None)
    if server is None or server.log_path is None:
        return
    text = server.log_since(item.stash.get(_LOG_OFFSET_KEY, 0)).rstrip()
    if text:
        report.sections.append(("memshift log", "\n".join(text.splitlines()[-50:])))
