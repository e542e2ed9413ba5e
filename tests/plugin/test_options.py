"""The plugin's options and errors, each seen from a pytest session of its own."""

from __future__ import annotations

import json
import time

from conftest import pid_alive

USES_DEFAULT_ACCOUNT = """
def test_default_account(memshift):
    users = memshift.client("memorydb").describe_users(UserName="default")["Users"]
    print("ARN", users[0]["ARN"])
    assert ":{account}:" in users[0]["ARN"]
"""


def test_memshift_arg_reaches_the_server(run_pytest):
    done = run_pytest(
        USES_DEFAULT_ACCOUNT.format(account="111122223333"),
        "--memshift-arg=--default-account 111122223333",
        "--memshift-arg=--log-level=warn",
    )
    assert done.returncode == 0, done.output


def test_memshift_variables_reach_the_server(run_pytest):
    done = run_pytest(
        USES_DEFAULT_ACCOUNT.format(account="222233334444"),
        env={"MEMSHIFT_DEFAULT_ACCOUNT": "222233334444"},
    )
    assert done.returncode == 0, done.output


def test_an_unknown_memshift_variable_is_named(run_pytest):
    done = run_pytest(USES_DEFAULT_ACCOUNT, env={"MEMSHIFT_NO_SUCH_SETTING": "1"})
    assert done.returncode == 1, done.output
    assert "exited with code 2 before it became healthy" in done.output
    assert "unknown setting MEMSHIFT_NO_SUCH_SETTING" in done.output


def test_a_missing_binary_says_how_to_get_one(run_pytest, tmp_path):
    missing = tmp_path / "nowhere" / "memshift"
    done = run_pytest(USES_DEFAULT_ACCOUNT, f"--memshift-bin={missing}")
    assert done.returncode == 1, done.output
    assert f"the memshift binary '{missing}' is not an executable file" in done.output
    assert "pip install memshift" in done.output
    assert "cargo build --release" in done.output


def test_a_server_that_never_answers_times_out_with_its_log(run_pytest, fake_binary, tmp_path):
    fake = fake_binary(
        """
        for i in range(1, 4):
            print(f"fake server: line {i}", file=sys.stderr, flush=True)
        time.sleep(300)
        """
    )
    started = time.monotonic()
    done = run_pytest(
        USES_DEFAULT_ACCOUNT, f"--memshift-bin={fake}", "--memshift-startup-timeout=1"
    )
    assert time.monotonic() - started < 60
    assert done.returncode == 1, done.output
    assert "/_memshift/health within 1 s; its last log lines:" in done.output
    assert "fake server: line 3" in done.output
    # The server that never answered was stopped, not left behind.
    assert not pid_alive(int((tmp_path / "fake.pid").read_text()))


def test_a_server_that_exits_at_once_is_reported_with_its_code(run_pytest, fake_binary):
    fake = fake_binary(
        """
        print("fake server: cannot start", file=sys.stderr)
        sys.exit(3)
        """
    )
    done = run_pytest(USES_DEFAULT_ACCOUNT, f"--memshift-bin={fake}")
    assert done.returncode == 1, done.output
    assert "exited with code 3 before it became healthy" in done.output
    assert "fake server: cannot start" in done.output


def test_the_port_is_the_plugins_to_choose(run_pytest):
    done = run_pytest(USES_DEFAULT_ACCOUNT, "--memshift-arg=--port=4566")
    assert done.returncode == 1, done.output
    assert "the server picks its own port" in done.output


def test_a_failing_test_reports_the_server_log(run_pytest):
    done = run_pytest(
        """
        def test_fails(memshift):
            memshift.client("memorydb").describe_acls()
            assert False, "on purpose"
        """
    )
    assert done.returncode == 1, done.output
    assert "memshift log" in done.output
    assert "DescribeACLs" in done.output


def test_time_from_plugin_import_to_the_first_answer(run_pytest, tmp_path):
    """Measures how long a session waits for memshift: from the plugin's import (pytest
    loads it at start-up) and from the fixture's request, to the first boto3 answer."""
    report = tmp_path / "timing.json"
    done = run_pytest(
        f"""
        import json, sys, time
        import memshift.pytest_plugin as plugin

        def test_first_call(request):
            asked = time.monotonic()
            memshift = request.getfixturevalue("memshift")
            client = memshift.client("memorydb")
            client.describe_users()
            answered = time.monotonic()
            json.dump({{
                "from_import": answered - plugin.IMPORTED_AT,
                "from_fixture": answered - asked,
            }}, open({str(report)!r}, "w"))
        """
    )
    assert done.returncode == 0, done.output
    timing = json.loads(report.read_text())
    print(f"memshift: first answer {timing['from_import']:.3f} s after the plugin's import, "
          f"{timing['from_fixture']:.3f} s after the fixture was asked for")
    assert timing["from_fixture"] < 10
