#!/usr/bin/env python3
"""memshift's side-by-side benchmark: memshift, moto_server and a bare axum server.

    python3 bench/run.py            # the full run (about six minutes)
    python3 bench/run.py --quick    # 1-second load runs, for a look
    python3 bench/run.py --charts-only   # redraw the chart and section from results.json

One run on one machine: it builds memshift and the baseline (release), starts each server,
drives all three with the same request bytes through wrk, and measures start-up time,
resident memory and throughput. It prints a table with the ratios memshift/moto and
memshift/baseline, writes the figures to bench/results.json, and regenerates
its own section of docs/performance.md (between its marker comments) with a chart,
docs/http-ratios.svg. It installs wrk (Debian) and moto[server] (PyPI) when they are missing.
"""

import argparse
import base64
import datetime
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import docgen

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEMSHIFT = os.path.join(ROOT, "target", "release", "memshift")
BASELINE = os.path.join(ROOT, "target", "baseline", "release", "memshift-baseline")
RESULTS = os.path.join(ROOT, "bench", "results.json")
REPORT = os.path.join(ROOT, "docs", "performance.md")
CHART = os.path.join(ROOT, "docs", "http-ratios.svg")

AUTH = ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261121/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0")
JSON_TYPE = "application/x-amz-json-1.1"
FORM_TYPE = "application/x-www-form-urlencoded; charset=utf-8"

# The same request bytes for every server.
REQUESTS = {
    "GetClusterCredentials": {
        "headers": {"Content-Type": FORM_TYPE, "Authorization": AUTH.format(service="redshift")},
        "body": "Action=GetClusterCredentials&Version=2012-12-01&ClusterIdentifier=bench"
                "&DbUser=alice&DbName=dev&DbGroups.DbGroup.1=analysts&DurationSeconds=900",
    },
    "DescribeUsers": {
        "headers": {"Content-Type": JSON_TYPE, "X-Amz-Target": "AmazonMemoryDB.DescribeUsers",
                    "Authorization": AUTH.format(service="memorydb")},
        "body": '{"UserName":"user-000042"}',
    },
}

CREATE_USER_LUA = r"""
run_base = RUN_BASE
thread_base = 0
next_thread = 0
local counter = 0
function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_base", next_thread * 10000000)
end
function request()
  counter = counter + 1
  local account = string.format("%012d", 100000000000 + run_base + thread_base + math.floor(counter / 1500))
  local body = '{"UserName":"u' .. (counter % 1500) .. '","AuthenticationMode":{"Type":"password","Passwords":["bench-password-0001"]},"AccessString":"on ~* +@all"}'
  return wrk.format("POST", "/", {
    ["Content-Type"] = "application/x-amz-json-1.1",
    ["X-Amz-Target"] = "AmazonMemoryDB.CreateUser",
    ["Authorization"] = "AWS4-HMAC-SHA256 Credential=" .. account .. "/20261121/us-east-1/memorydb/aws4_request, SignedHeaders=host, Signature=0",
  }, body)
end
"""

DONE_LUA = r"""
function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
               + summary.errors.write + summary.errors.timeout
  io.write(string.format('RESULT {"requests":%d,"errors":%d,"seconds":%.3f,"p50_ms":%.3f,"p99_ms":%.3f}\n',
    summary.requests, errors, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


# On a machine with two or more CPUs, each server gets CPU 0 (and one runtime worker) and
# wrk gets CPU 1, so the load generator never takes the server's CPU: the figures then
# measure the server, and latency tails are not scheduling noise.
PIN = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None


def pinned(cpu, argv):
    return ["taskset", "-c", str(cpu), *argv] if PIN else argv


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def ensure_tools():
    if shutil.which("wrk") is None:
        log("installing wrk (Debian package)")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    try:
        import moto.server  # noqa: F401
        import flask  # noqa: F401
    except ImportError:
        log("installing moto[server] (PyPI)")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "moto[server]"], check=True)


def build():
    log("building memshift and the baseline (release)")
    subprocess.run(["cargo", "build", "--release", "--bin", "memshift"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--manifest-path", "bench/baseline/Cargo.toml",
                    "--target-dir", "target/baseline"], cwd=ROOT, check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, headers, body, timeout=5.0):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body.encode(), headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Server:
    """A server process, timed from spawn to its first answered request."""

    def __init__(self, name, argv_for_port, env=None):
        self.name = name
        self.port = free_port()
        probe = REQUESTS["DescribeUsers"]
        started = time.perf_counter()
        env = dict(env or os.environ)
        if PIN:
            env["TOKIO_WORKER_THREADS"] = "1"
        self.proc = subprocess.Popen(pinned(0, argv_for_port(self.port)), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env=env)
        deadline = started + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    body = probe["body"].encode()
                    head = "".join(f"{k}: {v}\r\n" for k, v in probe["headers"].items())
                    s.sendall(f"POST / HTTP/1.1\r\nHost: x\r\n{head}Content-Length: {len(body)}\r\n"
                              f"Connection: close\r\n\r\n".encode() + body)
                    if s.recv(12).startswith(b"HTTP/1."):
                        break
            except OSError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{name} did not start")
            time.sleep(0.0005)
        self.start_ms = (time.perf_counter() - started) * 1000

    def rss_mb(self):
        """Resident memory of the process and its children, in MB."""
        total_kb = 0
        pids = [self.proc.pid]
        try:
            out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
            pids += [int(p) for p in out.stdout.split()]
        except FileNotFoundError:
            pass
        for pid in pids:
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total_kb += int(line.split()[1])
            except FileNotFoundError:
                pass
        return total_kb / 1024

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_memshift(extra=()):
    # Clusters without real Redis or PostgreSQL servers: the benchmark measures memshift.
    return Server("memshift", lambda p: [MEMSHIFT, "--port", str(p), "--log-level", "warn",
                                         "--redis-server", "off", "--postgres-bin-dir", "off",
                                         *extra])


def start_moto():
    env = dict(os.environ, MOTO_CALL_RESET_API="false")
    return Server("moto", lambda p: [sys.executable, "-m", "moto.server", "-p", str(p)], env=env)


def start_baseline():
    return Server("baseline", lambda p: [BASELINE, str(p)])


RUNS = [0]
ROUNDS = 5


def lua_for(op):
    if op == "CreateUser":
        # Each run creates users in accounts of its own, so no name is taken twice.
        RUNS[0] += 1
        return CREATE_USER_LUA.replace("RUN_BASE", str(RUNS[0] * 100_000_000_000 // 10)) + DONE_LUA
    spec = REQUESTS[op]
    headers = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in spec["headers"].items())
    return f'wrk.method = "POST"\nwrk.body = {json.dumps(spec["body"])}\n{headers}' + DONE_LUA


def wrk(port, op, connections, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua_for(op))
        script = f.name
    threads = 1 if connections == 1 or PIN else 2
    out = subprocess.run(pinned(1, ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
                                    "-s", script, f"http://127.0.0.1:{port}/"]),
                         capture_output=True, text=True, check=True).stdout
    os.unlink(script)
    line = next(l for l in out.splitlines() if l.startswith("RESULT "))
    r = json.loads(line[len("RESULT "):])
    r["rps"] = r["requests"] / r["seconds"] if r["seconds"] else 0.0
    return r


def seed_cluster(port):
    status, body = post(port, {"Content-Type": FORM_TYPE, "Authorization": AUTH.format(service="redshift")},
                        "Action=CreateCluster&Version=2012-12-01&ClusterIdentifier=bench&NodeType=dc2.large"
                        "&MasterUsername=admin&MasterUserPassword=Sup3rSecret")
    return status == 200


def create_users(port, first, count, connections=4):
    """Creates user-NNNNNN users in the default region through the API, over a few
    keep-alive connections; returns how many were refused."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    def worker(k):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        refused = 0
        for i in range(first + k, first + count, connections):
            body = json.dumps({"UserName": f"user-{i:06d}", "AccessString": "on ~app:* +@read",
                               "AuthenticationMode": {"Type": "password", "Passwords": ["bench-password-0001"]}})
            conn.request("POST", "/", body, {"Content-Type": JSON_TYPE, "X-Amz-Target": "AmazonMemoryDB.CreateUser"})
            r = conn.getresponse()
            r.read()
            refused += r.status != 200
        return refused

    with ThreadPoolExecutor(connections) as pool:
        return sum(pool.map(worker, range(connections)))


def describe_page_from(port, name):
    """DescribeUsers bytes for the page after `name` (a NextToken as memshift issues them)."""
    token = base64.urlsafe_b64encode(f"memshift1:{name}".encode()).decode().rstrip("=")
    return '{"MaxResults":100,"NextToken":"' + token + '"}'


def run(seconds):
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "pinned": PIN},
               "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "seconds_per_load_run": seconds, "servers": {}, "load": {}, "memshift": {}}

    # Start-up and idle memory.
    servers = {}
    for name, starter in [("memshift", start_memshift), ("moto", start_moto), ("baseline", start_baseline)]:
        log(f"starting {name}")
        s = starter()
        time.sleep(1.0)
        results["servers"][name] = {"start_ms": round(s.start_ms, 2), "idle_rss_mb": round(s.rss_mb(), 2)}
        servers[name] = s

    # The same fixtures in memshift and moto: one cluster, 100 MemoryDB users (memshift only:
    # moto does not emulate MemoryDB users).
    for name in ("memshift", "moto"):
        seed_cluster(servers[name].port)
    create_users(servers["memshift"].port, 0, 99)

    # Five rounds, the servers taking turns within each, so that drift on a shared
    # machine touches all three alike; each cell is the round with the median rate, and
    # each ratio to the baseline the median of the rounds' own ratios (memshift's run and
    # the baseline's, seconds apart).
    for op in ("GetClusterCredentials", "DescribeUsers", "CreateUser"):
        for connections in (1, 16):
            runs = {name: [] for name in servers}
            for round_ in range(ROUNDS):
                for name in servers:
                    secs = seconds if name != "moto" else max(1, seconds // 2)
                    log(f"load: {op} x{connections} on {name}, round {round_ + 1}")
                    runs[name].append(wrk(servers[name].port, op, connections, secs))
                    if name == "moto":
                        # moto goes on answering queued requests after wrk stops, on the
                        # same CPU as the next server: let it finish first.
                        time.sleep(1.5)
            cell = results["load"].setdefault(op, {}).setdefault(str(connections), {})
            for name, rs in runs.items():
                median = sorted(rs, key=lambda r: r["rps"])[len(rs) // 2]
                median["rounds_rps"] = [round(r["rps"]) for r in rs]
                median["errors"] = sum(r["errors"] for r in rs)
                cell[name] = median
            per_round = sorted(ratio(m["rps"], b["rps"]) for m, b in zip(runs["memshift"], runs["baseline"]))
            cell["memshift_to_baseline"] = per_round[len(per_round) // 2]

    for s in servers.values():
        s.stop()

    # Memory after a million GetClusterCredentials calls on a fresh server: what a long
    # test run costs when it creates nothing but credentials.
    log("load: a million GetClusterCredentials calls on a fresh memshift")
    m = start_memshift()
    seed_cluster(m.port)
    rps = results["load"]["GetClusterCredentials"]["16"]["memshift"]["rps"] or 50000
    run_ = wrk(m.port, "GetClusterCredentials", 16, int(1_000_000 / rps) + 2)
    time.sleep(0.5)
    results["memshift"]["million_run_errors"] = run_["errors"]
    results["memshift"]["requests_served"] = run_["requests"]
    results["memshift"]["rss_after_requests_mb"] = round(m.rss_mb(), 2)
    m.stop()

    # 100,000 users in one region: memory and DescribeUsers paging cost.
    log("creating 100,000 users in one region")
    big = start_memshift(["--memorydb-user-quota", "200000"])
    created = time.perf_counter()
    refused = create_users(big.port, 0, 99_999)
    results["memshift"]["create_100k_users_seconds"] = round(time.perf_counter() - created, 2)
    results["memshift"]["create_100k_users_refused"] = refused
    time.sleep(0.5)
    results["memshift"]["rss_100k_users_mb"] = round(big.rss_mb(), 2)
    small = start_memshift()
    create_users(small.port, 0, 99)
    paging = {}
    for label, server, body in [
        ("100 users, first page", small, '{"MaxResults":100}'),
        ("100,000 users, first page", big, '{"MaxResults":100}'),
        ("100,000 users, page from the middle", big, describe_page_from(big.port, "user-050000")),
    ]:
        REQUESTS["DescribeUsers_paging"] = {"headers": REQUESTS["DescribeUsers"]["headers"], "body": body}
        status, answer = post(server.port, REQUESTS["DescribeUsers"]["headers"], body)
        users = len(json.loads(answer)["Users"])
        r = wrk(server.port, "DescribeUsers_paging", 16, seconds)
        r["users_in_page"] = users
        paging[label] = r
    results["memshift"]["describe_users_paging"] = paging
    big.stop()
    small.stop()
    return results


def ratio(a, b):
    return a / b if b else float("inf")


def summarize(results):
    """The table, the ratios and the targets, as Markdown lines."""
    s = results["servers"]
    load = results["load"]
    m = results["memshift"]
    lines = ["| measure | memshift | moto | baseline | memshift/moto | memshift/baseline |",
             "| --- | ---: | ---: | ---: | ---: | ---: |",
             f"| start to first answer (ms) | {s['memshift']['start_ms']:.1f} | {s['moto']['start_ms']:.1f} | "
             f"{s['baseline']['start_ms']:.1f} | {ratio(s['memshift']['start_ms'], s['moto']['start_ms']):.4f} | "
             f"{ratio(s['memshift']['start_ms'], s['baseline']['start_ms']):.2f} |",
             f"| idle RSS (MB) | {s['memshift']['idle_rss_mb']:.1f} | {s['moto']['idle_rss_mb']:.1f} | "
             f"{s['baseline']['idle_rss_mb']:.1f} | {ratio(s['memshift']['idle_rss_mb'], s['moto']['idle_rss_mb']):.3f} | "
             f"{ratio(s['memshift']['idle_rss_mb'], s['baseline']['idle_rss_mb']):.2f} |"]
    for op, by_conn in load.items():
        for conns, by_server in by_conn.items():
            ms, mo, ba = by_server["memshift"], by_server["moto"], by_server["baseline"]
            to_baseline = by_server["memshift_to_baseline"]
            moto_cell = f"{mo['rps']:,.0f}" if mo["errors"] == 0 else f"n/a ({mo['errors']} errors)"
            moto_ratio = f"{ratio(ms['rps'], mo['rps']):,.0f}x" if mo["errors"] == 0 else "n/a"
            lines.append(f"| {op} x{conns} (req/s) | {ms['rps']:,.0f} | {moto_cell} | {ba['rps']:,.0f} | "
                         f"{moto_ratio} | {to_baseline:.2f} |")
            lines.append(f"| {op} x{conns} p99 (ms) | {ms['p99_ms']:.2f} | "
                         f"{mo['p99_ms']:.2f} | {ba['p99_ms']:.2f} | | |")
    lines.append("")
    lines.append("| memshift | figure |")
    lines.append("| --- | ---: |")
    lines.append(f"| RSS after {m['requests_served']:,} GetClusterCredentials calls on a fresh server (MB) | "
                 f"{m['rss_after_requests_mb']:.1f} |")
    lines.append(f"| RSS with 100,000 users in one region (MB) | {m['rss_100k_users_mb']:.1f} |")
    lines.append(f"| 100,000 CreateUser calls from 4 Python clients (s) | {m['create_100k_users_seconds']:.1f} |")
    for label, r in m["describe_users_paging"].items():
        lines.append(f"| DescribeUsers MaxResults=100, {label}: req/s x16, p99 ms | "
                     f"{r['rps']:,.0f}, {r['p99_ms']:.2f} |")
    return lines


def targets(results):
    s, load, m = results["servers"], results["load"], results["memshift"]
    checks = []
    for op in ("GetClusterCredentials", "DescribeUsers"):
        r = load[op]["16"]
        checks.append((f"{op} x16 >= 0.7 of baseline", r["memshift_to_baseline"] >= 0.7,
                       f"{r['memshift_to_baseline']:.2f}"))
        if r["moto"]["errors"] == 0:
            checks.append((f"{op} x16 >= 100x moto", ratio(r["memshift"]["rps"], r["moto"]["rps"]) >= 100,
                           f"{ratio(r['memshift']['rps'], r['moto']['rps']):,.0f}x"))
    for op, by_conn in load.items():
        p99 = by_conn["16"]["memshift"]["p99_ms"]
        checks.append((f"{op} x16 p99 < 2 ms", p99 < 2, f"{p99:.2f} ms"))
    checks.append(("start to first answer < 10 ms", s["memshift"]["start_ms"] < 10, f"{s['memshift']['start_ms']:.1f} ms"))
    checks.append(("idle RSS < 8 MB", s["memshift"]["idle_rss_mb"] < 8, f"{s['memshift']['idle_rss_mb']:.1f} MB"))
    checks.append(("RSS with 100,000 users < 100 MB", m["rss_100k_users_mb"] < 100, f"{m['rss_100k_users_mb']:.1f} MB"))
    paging = m["describe_users_paging"]
    small = paging["100 users, first page"]["p50_ms"]
    for label in ("100,000 users, first page", "100,000 users, page from the middle"):
        big = paging[label]["p50_ms"]
        checks.append((f"DescribeUsers page, {label}, within 2x of 100 users (p50)", big <= 2 * small,
                       f"{ratio(big, small):.2f}x"))
    errors = sum(by_server["memshift"]["errors"] for by_conn in load.values() for by_server in by_conn.values())
    errors += sum(r["errors"] for r in paging.values()) + m.get("million_run_errors", 0)
    errors += m.get("create_100k_users_refused", 0)
    checks.append(("no error responses from memshift", errors == 0, f"{errors} errors"))
    return checks


def draw_chart(results):
    """memshift/baseline for every load cell, with the 0.7 target where there is one."""
    with_target = {"GetClusterCredentials", "DescribeUsers"}
    rows = []
    for op, by_conn in results["load"].items():
        for conns, cell in by_conn.items():
            rows.append({"group": op, "label": f"{conns} connection{'s' if conns != '1' else ''}",
                         "value": cell["memshift_to_baseline"],
                         "target": 0.7 if op in with_target and conns == "16" else None})
    docgen.bar_chart(CHART, "HTTP API: memshift / bare axum server (req/s, median of rounds)", rows,
                     note="1.0 = as fast as a bare axum server on the same runtime; "
                          "dashed: the target, at 16 connections")


def write_report(results, lines, checks):
    text = [
        "## HTTP API",
        "",
        "Regenerated by `python3 bench/run.py`; the figures below are from its last run "
        f"({results['when']}, {results['machine']['cpus']} CPUs, {results['seconds_per_load_run']} s a load run).",
        "",
        "### Method",
        "",
        "- One run on one machine starts three servers: memshift (release build, `--log-level warn`, "
        "`--redis-server off --postgres-bin-dir off`: clusters without real servers, so the figures are memshift's own), "
        "`moto_server` (moto's Python server) and a bare axum server built from the same axum and tokio "
        "(`bench/baseline`: it reads the body and answers a small document).",
        "- Each server runs on CPU 0 with one runtime worker (`taskset`, `TOKIO_WORKER_THREADS=1`) and "
        "wrk on CPU 1, so the load generator never takes the server's CPU (without two CPUs or taskset, "
        "nothing is pinned and wrk uses two threads at 16 connections).",
        "- `wrk` drives each with the same request bytes, with 1 and with 16 connections, for GetClusterCredentials, DescribeUsers (one user by name, of 100) and "
        "CreateUser (a fresh name a request, spread over accounts). moto does not emulate MemoryDB users, "
        "so it answers those with errors and has no figure there.",
        "- Start-up is the time from spawning the process to its first answered request; resident memory "
        "(`VmRSS`) is read after a second idle, after a million GetClusterCredentials calls on a fresh "
        "server, and with 100,000 users created "
        "in one region through the API (`--memorydb-user-quota` raised for it).",
        "- Every load cell is run five times, the three servers taking turns within each round so that "
        "drift on a shared machine touches them alike; the table shows the round with the median rate "
        "(`rounds_rps` in results.json has all five), and each ratio to the baseline is the median of "
        "the five rounds' own ratios (memshift's run and the baseline's in the same round, seconds apart).",
        "- DescribeUsers paging cost is compared at 100 and at 100,000 users, for the first page and for a "
        "page from the middle of the list (a `NextToken` after `user-050000`).",
        "- The machine is shared and noisy: compare the ratios within one run, not absolute figures "
        "across runs. The load generator runs on the same cores as the server.",
        "",
        "### Results",
        "",
        f"![memshift / baseline for each load cell]({os.path.basename(CHART)})",
        "",
        *lines,
        "",
        "### Targets",
        "",
        "| target | met | figure |",
        "| --- | --- | --- |",
        *[f"| {name} | {'yes' if ok else 'NO'} | {figure} |" for name, ok, figure in checks],
        "",
    ]
    docgen.replace_section(REPORT, "http", "\n".join(text))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1-second load runs")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already built")
    parser.add_argument("--charts-only", action="store_true",
                        help="run nothing: redraw the chart and this section of performance.md from results.json")
    args = parser.parse_args()
    if args.charts_only:
        with open(RESULTS) as f:
            results = json.load(f)
        draw_chart(results)
        write_report(results, summarize(results), targets(results))
        print(f"written: {os.path.relpath(CHART, ROOT)}, {os.path.relpath(REPORT, ROOT)}")
        return
    ensure_tools()
    if not args.no_build:
        build()
    results = run(1 if args.quick else 3)
    lines = summarize(results)
    checks = targets(results)
    results["targets"] = [{"target": n, "met": ok, "figure": f} for n, ok, f in checks]
    with open(RESULTS, "w") as f:
        json.dump(results, f, indent=2)
    draw_chart(results)
    write_report(results, lines, checks)
    print("\n".join(lines))
    print()
    for name, ok, figure in checks:
        print(f"{'ok ' if ok else 'MISSED'} {name}: {figure}")
    print(f"\nwritten: {os.path.relpath(RESULTS, ROOT)}, {os.path.relpath(REPORT, ROOT)}, "
          f"{os.path.relpath(CHART, ROOT)}")


if __name__ == "__main__":
    main()
