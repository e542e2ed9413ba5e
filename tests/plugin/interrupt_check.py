"""Checks that the plugin's servers never outlive a pytest session, however it ends.

    python tests/plugin/interrupt_check.py

Run with the interpreter that has the wheel, pytest and pytest-xdist installed. Each
scenario runs a pytest session whose test makes a MemoryDB cluster and a Redshift cluster
(real Redis and PostgreSQL servers, when installed) and then fails, or waits to be
interrupted. Once the session is over, no memshift, none of the processes it started,
and none of their temporary directories may remain:

- failing: the test fails; pytest exits 1.
- sigint: Ctrl-C, as a terminal sends it (SIGINT to pytest's process group); exits 2.
- sigint-xdist: the same with two xdist workers, a server each.
- sigterm: `kill PID` of pytest alone.
- sigkill (Linux): `kill -9` of pytest; the kernel tells memshift (parent-death signal),
  and the next session removes the directory the killed one could not.

With TEST_REQUIRE_REDIS=1 or TEST_REQUIRE_POSTGRES=1 (as CI sets them), a scenario in
which memshift started no engine process fails: the check would prove less than it says.
Ends with a line `N passed, N failed`; exits 1 when one failed.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

INNER_TEST = '''
import json, os, time

def test_holds_engines(memshift):
    memorydb = memshift.client("memorydb")
    memorydb.create_cluster(ClusterName="held", NodeType="db.t4g.small",
                            ACLName="open-access", NumShards=1, NumReplicasPerShard=0)
    redshift = memshift.client("redshift")
    redshift.create_cluster(ClusterIdentifier="held", NodeType="dc2.large",
                            MasterUsername="admin", MasterUserPassword="Sup3rSecret")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    state = {"pid": memshift.process.pid, "tmp_dir": str(memshift.tmp_dir),
             "endpoint": memshift.endpoint_url}
    path = os.path.join(os.environ["HOLD_STATE_DIR"], worker + ".json")
    with open(path + ".part", "w") as f:
        json.dump(state, f)
    os.replace(path + ".part", path)
    if os.environ["HOLD_MODE"] == "fail":
        time.sleep(1)  # the spare Redis servers start meanwhile
        assert False, "failing on purpose, with the server and its engines running"
    time.sleep(300)
'''


def processes() -> dict[int, tuple[int, str, int]]:
    """Every live process: pid -> (parent pid, command line, session id)."""
    table = {}
    for stat_path in glob.glob("/proc/[0-9]*/stat"):
        pid = int(stat_path.split("/")[2])
        try:
            with open(stat_path) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if fields[0] == "Z":
            continue
        table[pid] = (int(fields[1]), command, int(fields[3]))
    return table


def tree(root: int) -> dict[int, str]:
    """root and its descendants: pid -> command line."""
    table = processes()
    found = {root: table.get(root, (0, ""))[1]}
    grew = True
    while grew:
        grew = False
        for pid, (parent, command, _) in table.items():
            if parent in found and pid not in found:
                found[pid] = command
                grew = True
    return found


def still_running(seen: dict[int, str], servers: list[int]) -> dict[int, str]:
    """What is left of the processes seen (same pid, same command line), and any process
    still in a server's session (each server leads a session of its own, which the Redis
    and PostgreSQL servers it starts inherit)."""
    table = processes()
    left = {pid: cmd for pid, cmd in seen.items() if pid in table and table[pid][1] == cmd}
    left.update({pid: cmd for pid, (_, cmd, session) in table.items() if session in servers})
    return left


def leftover_dirs(pid: int, tmp_dir: str) -> list[str]:
    root = tempfile.gettempdir()
    found = [p for p in [tmp_dir] if os.path.exists(p)]
    for pattern in (f"memshift-*-{pid}-*", f"mspg-{pid}-*"):
        found += glob.glob(os.path.join(root, pattern))
    return found


class Failure(Exception):
    pass


def wait_for_states(state_dir: Path, count: int, process: subprocess.Popen, log: Path) -> list:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        states = sorted(state_dir.glob("*.json"))
        if len(states) >= count:
            return [json.loads(p.read_text()) for p in states]
        if process.poll() is not None:
            raise Failure(f"pytest ended ({process.returncode}) before its servers were up:\n"
                          + log.read_text(errors="replace")[-3000:])
        time.sleep(0.1)
    raise Failure("the servers were not up within 120 s:\n"
                  + log.read_text(errors="replace")[-3000:])


def scenario(name: str, work: Path) -> str:
    mode = "fail" if name == "failing" else "hold"
    xdist = name == "sigint-xdist"
    run_dir = work / name
    state_dir = run_dir / "state"
    state_dir.mkdir(parents=True)
    (run_dir / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (run_dir / "test_hold.py").write_text(textwrap.dedent(INNER_TEST))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(HOLD_MODE=mode, HOLD_STATE_DIR=str(state_dir))
    command = [sys.executable, "-m", "pytest", "-q", "test_hold.py"]
    command += ["-n", "2", "--dist", "each"] if xdist else ["-p", "no:xdist"]
    log = run_dir / "pytest.log"
    with open(log, "wb") as out:
        # A session of its own: SIGINT to its process group is what a terminal's Ctrl-C does.
        process = subprocess.Popen(command, cwd=run_dir, env=env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        states = wait_for_states(state_dir, 2 if xdist else 1, process, log)
        pids = [s["pid"] for s in states]
        if len(set(pids)) != len(pids) or len({s["endpoint"] for s in states}) != len(states):
            raise Failure(f"the workers shared a server: {states}")
        # What each memshift runs: itself, its Redis and PostgreSQL servers (watched until
        # the end of the session, for the servers started after the test's calls).
        snapshot: dict[int, str] = {}

        def look() -> None:
            for pid in pids:
                snapshot.update(tree(pid))

        look()
        time.sleep(0.5)
        look()
        if name in ("sigint", "sigint-xdist"):
            os.killpg(process.pid, signal.SIGINT)
        elif name == "sigterm":
            os.kill(process.pid, signal.SIGTERM)
        elif name == "sigkill":
            os.kill(process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while process.poll() is None:
            if time.monotonic() > deadline:
                raise Failure("pytest did not end within 60 s")
            look()
            time.sleep(0.05)
        code = process.returncode
        engines = [cmd for pid, cmd in snapshot.items() if pid not in pids]
        if not engines and (os.environ.get("TEST_REQUIRE_REDIS") == "1"
                            or os.environ.get("TEST_REQUIRE_POSTGRES") == "1"):
            raise Failure("memshift started no engine process: nothing to check beyond itself")
        expected = {"failing": 1, "sigint": 2, "sigint-xdist": 2,
                    "sigterm": -signal.SIGTERM, "sigkill": -signal.SIGKILL}[name]
        if code != expected:
            raise Failure(f"pytest exited {code}, not {expected}:\n"
                          + log.read_text(errors="replace")[-3000:])
        # After SIGKILL the servers learn of it from the kernel, asynchronously.
        deadline = time.monotonic() + (20 if name == "sigkill" else 0.5)
        while True:
            left = still_running(snapshot, pids)
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if left:
            raise Failure("still running after the session: "
                          + "; ".join(f"{pid} {cmd}" for pid, cmd in left.items()))
        dirs = []
        for state in states:
            dirs += leftover_dirs(state["pid"], state["tmp_dir"])
        if name == "sigkill":
            # The killed session could not remove its own directory; the next one does.
            sweep = run_dir / "test_next.py"
            sweep.write_text("def test_next(memshift):\n    assert memshift.health()\n")
            subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", sweep.name],
                           cwd=run_dir, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=60,
                           check=True)
            dirs = [d for d in dirs if os.path.exists(d)]
        if dirs:
            raise Failure(f"left behind: {dirs}")
        return (f"{len(snapshot)} processes ({len(pids)} memshift, {len(engines)} started by "
                f"it) all gone; exit code {code}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> int:
    names = ["failing", "sigint", "sigint-xdist", "sigterm"]
    if sys.platform.startswith("linux"):
        names.append("sigkill")
    work = Path(tempfile.mkdtemp(prefix="memshift-interrupt-check-"))
    passed = failed = 0
    try:
        for name in names:
            started = time.monotonic()
            try:
                detail = scenario(name, work)
            except Failure as e:
                failed += 1
                print(f"FAILED {name}: {e}", flush=True)
            else:
                passed += 1
                print(f"ok {name} ({time.monotonic() - started:.1f} s): {detail}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
