#!/usr/bin/env python3
"""memshift's data-plane benchmark: its cluster endpoints against the same engines reached
directly, how long a new cluster takes to serve its first login, and what an idle cluster
costs in memory.

    python3 bench/dataplane.py            # the full run (four to six minutes)
    python3 bench/dataplane.py --quick    # short runs and one round, for a look (about a minute)

1. Redis: `redis-benchmark -t get,set` at 1 and 16 connections, pipelines of 1 and 16,
   through the node endpoint of a one-node MemoryDB cluster and straight to the same
   redis-server on its own port; the same again with TLS on both sides.
2. PostgreSQL: `pgbench -S` with 8 clients (and with -C, a new connection a transaction)
   through a Redshift cluster's endpoint with a GetClusterCredentials login, and with a
   password login over TCP to a PostgreSQL server this script starts itself from the same
   binaries and settings; in clear text and with sslmode=require.
3. CreateCluster to the first login (10 runs): a Redshift cluster, and a 3-shard MemoryDB
   cluster with a replica a shard and TLS.
4. The resident memory of the processes an idle cluster adds.

It prints a table of targets and figures, writes bench/dataplane.json, and regenerates
its own section of docs/performance.md (between its marker comments) with charts
docs/dataplane-*.svg. It needs redis-server, redis-benchmark, PostgreSQL's server binaries
and pgbench (Debian: redis-server, redis-tools, postgresql, postgresql-contrib; it installs
the two clients when missing), and the Python packages boto3, redis and psycopg.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import docgen

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEMSHIFT = os.path.join(ROOT, "target", "release", "memshift")
RESULTS = os.path.join(ROOT, "bench", "dataplane.json")
REPORT = os.path.join(ROOT, "docs", "performance.md")
CHARTS = {
    "ratios": os.path.join(ROOT, "docs", "dataplane-ratios.svg"),
    "ready": os.path.join(ROOT, "docs", "dataplane-ready.svg"),
    "memory": os.path.join(ROOT, "docs", "dataplane-memory.svg"),
}

ACCOUNT = "000000000000"  # memshift's default account, for access keys that are not one
REGION = "us-east-1"
MASTER_USER, MASTER_PASSWORD = "admin", "Bench-Passw0rd-1"
BENCH_USER, BENCH_PASSWORD = "bench", "bench-password-0001"
RATIO_TARGET = 0.9
READY_TARGET_MS = 150.0
# How far apart the ready runs of one kind start, at least (from the end of one run's
# deletion to the next CreateCluster): a suite that makes a cluster per test module.
READY_GAP_S = 1.0
CLIENT_BOUND_PCT = 90

# As in bench/run.py: with two or more CPUs, memshift (and the engine servers it starts,
# which inherit its affinity) and the servers started here run on CPU 0, and the load
# generators and this script on CPU 1.
PIN = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
TICK = os.sysconf("SC_CLK_TCK")


def pinned(cpu, argv):
    return ["taskset", "-c", str(cpu), *argv] if PIN else argv


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def pg_bin_dir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


def tool(name, pg=False):
    if pg and PG_BIN and os.path.exists(os.path.join(PG_BIN, name)):
        return os.path.join(PG_BIN, name)
    return shutil.which(name)


PG_BIN = pg_bin_dir()


def ensure_tools():
    missing = [p for n, p in (("redis-benchmark", "redis-tools"), ("pgbench", "postgresql-contrib"))
               if tool(n, pg=n == "pgbench") is None]
    if missing:
        log(f"installing {', '.join(missing)} (Debian)")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True)
    problems = []
    if shutil.which("redis-server") is None:
        problems.append("redis-server (Debian: redis-server)")
    if PG_BIN is None:
        problems.append("PostgreSQL's server binaries (Debian: postgresql)")
    for module, package in (("boto3", "boto3"), ("redis", "redis"), ("psycopg", "psycopg[binary]")):
        try:
            __import__(module)
        except ImportError:
            problems.append(f"the Python package {package}")
    if problems:
        sys.exit("missing: " + "; ".join(problems))


def build():
    log("building memshift (release)")
    subprocess.run(["cargo", "build", "--release", "--bin", "memshift"], cwd=ROOT, check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Processes: CPU time and memory, from /proc ---------------------------------------

def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    # After the name: state ppid ... utime(14) stime(15) cutime(16) cstime(17), 1-based.
    return int(fields[1]), [int(v) for v in fields[11:15]]


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid, _ = _stat(entry)
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    return kids


def descendants(pid, kids=None):
    kids = kids if kids is not None else children_map()
    out, todo = [], list(kids.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_seconds(pid, reaped_children=True):
    """The CPU time of a process, with that of the children it has reaped."""
    try:
        _, (utime, stime, cutime, cstime) = _stat(pid)
    except (OSError, ValueError):
        return 0.0
    return (utime + stime + ((cutime + cstime) if reaped_children else 0)) / TICK


def status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine_busy_seconds():
    """CPU time every CPU spent busy since boot (not idle, not waiting for I/O)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICK


NICE = -10
QUIET_PCT = 15  # of one CPU, before a round starts
DISTURBED_PCT = 20  # of one CPU, during a run
# Time the whole run may spend waiting for a quiet machine and running disturbed rounds
# again (set from the command line).
DISTURBANCE = {"budget": 60.0, "spent": 0.0, "rounds_run_again": 0}


def wait_quiet():
    """Waits, within the budget, until the machine is nearly idle (other processes using
    less than QUIET_PCT% of a CPU over a fifth of a second): the benchmark's own processes
    are idle then, so what is busy is someone else's."""
    while True:
        before, t0 = machine_busy_seconds(), time.perf_counter()
        time.sleep(0.2)
        busy = 100 * (machine_busy_seconds() - before) / (time.perf_counter() - t0)
        if busy < QUIET_PCT or DISTURBANCE["spent"] >= DISTURBANCE["budget"]:
            return
        time.sleep(1.0)
        DISTURBANCE["spent"] += 1.2


def run_rounds(cfg, label, run_side, meter):
    """cfg["rounds"] rounds of a cell, front and direct taking turns (the first of them
    changing every round). A round in which other processes took more than DISTURBED_PCT%
    of a CPU during either run is run again while the budget lasts."""
    runs = {"front": [], "direct": []}
    attempt = 0
    while len(runs["front"]) < cfg["rounds"]:
        wait_quiet()
        order = ("front", "direct") if attempt % 2 == 0 else ("direct", "front")
        attempt += 1
        got = {}
        for side in order:
            log(f"{label}, {side}, round {len(runs['front']) + 1}")
            before = meter.read()
            r = run_side(side)
            r["cpu"] = CpuMeter.split(before, meter.read(), side)
            got[side] = r
        disturbed = max(g["cpu"]["other_pct"] for g in got.values()) > DISTURBED_PCT
        if disturbed and DISTURBANCE["spent"] < DISTURBANCE["budget"]:
            log(f"{label}: other processes were busy during the round; running it again")
            DISTURBANCE["spent"] += sum(g["cpu"]["wall_s"] for g in got.values())
            DISTURBANCE["rounds_run_again"] += 1
            continue
        for side, r in got.items():
            runs[side].append(r)
    return runs


def other_pct(runs):
    """Per round, the most other processes took during either run."""
    return [max(f["cpu"]["other_pct"], d["cpu"]["other_pct"]) for f, d in zip(runs["front"], runs["direct"])]


class CpuMeter:
    """CPU time of memshift itself, of the engine servers under it, of the direct server
    started here and of this script's finished children (the load generator), between
    two readings."""

    def __init__(self, memshift_pid, direct_pid=None):
        self.memshift_pid, self.direct_pid = memshift_pid, direct_pid

    def read(self):
        kids = children_map()
        engines = sum(cpu_seconds(p) for p in descendants(self.memshift_pid, kids))
        direct = 0.0
        if self.direct_pid:
            direct = sum(cpu_seconds(p) for p in [self.direct_pid, *descendants(self.direct_pid, kids)])
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = resource.getrusage(resource.RUSAGE_SELF)
        return {"t": time.perf_counter(), "memshift": cpu_seconds(self.memshift_pid, False),
                # With the children it has reaped (initdb, servers of deleted clusters).
                "memshift_all": cpu_seconds(self.memshift_pid, True),
                "memshift_engines": engines, "direct_engine": direct,
                "client": usage.ru_utime + usage.ru_stime, "self": me.ru_utime + me.ru_stime,
                "machine": machine_busy_seconds()}

    @staticmethod
    def split(before, after, side):
        wall = after["t"] - before["t"]
        d = {k: after[k] - before[k] for k in before if k != "t"}
        engine = d["direct_engine"] if side == "direct" and d["direct_engine"] > 0 else d["memshift_engines"]
        pct = (lambda v: round(100 * v / wall, 1)) if wall > 0 else (lambda v: 0.0)
        # Whatever else ran on the machine meanwhile (other processes, the kernel's own
        # threads): busy time of every CPU less that of the processes measured here.
        ours = d["memshift_all"] + d["memshift_engines"] + d["direct_engine"] + d["client"] + d["self"]
        return {"wall_s": round(wall, 3), "memshift_pct": pct(d["memshift"]), "engine_pct": pct(engine),
                "client_pct": pct(d["client"]), "other_pct": max(0.0, pct(d["machine"] - ours))}


# --- memshift and the AWS APIs ------------------------------------------------------------

class Memshift:
    def __init__(self, workdir, data_dir=None):
        self.port = free_port()
        argv = [MEMSHIFT, "--port", str(self.port), "--log-level", "warn"]
        if data_dir:
            argv += ["--data-dir", data_dir]
        env = dict(os.environ)
        if PIN:
            env["TOKIO_WORKER_THREADS"] = "1"
        self.log_path = os.path.join(workdir, f"memshift-{self.port}.log")
        self.proc = subprocess.Popen(pinned(0, argv), stdout=subprocess.DEVNULL,
                                     stderr=open(self.log_path, "w"), env=env)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/_memshift/health", timeout=1) as r:
                    self.health = json.loads(r.read())
                    break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"memshift did not start; see {self.log_path}")
                time.sleep(0.01)
        with urllib.request.urlopen(self.url + "/_memshift/ca.pem", timeout=5) as r:
            self.ca_path = os.path.join(workdir, f"ca-{self.port}.pem")
            with open(self.ca_path, "wb") as f:
                f.write(r.read())
        import boto3
        from botocore.config import Config
        config = Config(read_timeout=300, connect_timeout=5, retries={"max_attempts": 1})
        kw = dict(endpoint_url=self.url, region_name=REGION, aws_access_key_id="test",
                  aws_secret_access_key="test", config=config)
        self.memorydb = boto3.client("memorydb", **kw)
        self.redshift = boto3.client("redshift", **kw)
        # The first call of a client loads its model: not part of any timing.
        self.memorydb.describe_clusters()
        self.redshift.describe_clusters()

    def rss_kb(self):
        return status_kb(self.proc.pid, "VmRSS")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    # MemoryDB
    def create_memorydb(self, name, shards, replicas, tls):
        return self.memorydb.create_cluster(ClusterName=name, NodeType="db.t4g.small", ACLName="open-access",
                                            NumShards=shards, NumReplicasPerShard=replicas, TLSEnabled=tls)

    def memorydb_cluster(self, name):
        return self.memorydb.describe_clusters(ClusterName=name, ShowShardDetails=True)["Clusters"][0]

    def wait_memorydb(self, name, timeout=120):
        deadline = time.time() + timeout
        while True:
            c = self.memorydb_cluster(name)
            nodes = [n for s in c.get("Shards", []) for n in s.get("Nodes", [])]
            if c["Status"] == "available" and nodes and all(n.get("Endpoint", {}).get("Port") for n in nodes):
                return c
            if time.time() > deadline:
                raise RuntimeError(f"MemoryDB cluster {name} is not available: {c['Status']}")
            time.sleep(0.05)

    def delete_memorydb(self, name):
        self.memorydb.delete_cluster(ClusterName=name)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                self.memorydb.describe_clusters(ClusterName=name)
            except self.memorydb.exceptions.ClusterNotFoundFault:
                return
            time.sleep(0.05)
        raise RuntimeError(f"MemoryDB cluster {name} was not deleted")

    # Redshift
    def create_redshift(self, name):
        return self.redshift.create_cluster(ClusterIdentifier=name, NodeType="dc2.large", DBName="dev",
                                            MasterUsername=MASTER_USER, MasterUserPassword=MASTER_PASSWORD)

    def redshift_endpoint(self, name, timeout=120):
        deadline = time.time() + timeout
        while True:
            c = self.redshift.describe_clusters(ClusterIdentifier=name)["Clusters"][0]
            if c["ClusterStatus"] == "available" and c.get("Endpoint", {}).get("Port"):
                return c["Endpoint"]["Address"], c["Endpoint"]["Port"]
            if time.time() > deadline:
                raise RuntimeError(f"Redshift cluster {name} is not available: {c['ClusterStatus']}")
            time.sleep(0.05)

    def delete_redshift(self, name):
        self.redshift.delete_cluster(ClusterIdentifier=name, SkipFinalClusterSnapshot=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                self.redshift.describe_clusters(ClusterIdentifier=name)
            except self.redshift.exceptions.ClusterNotFoundFault:
                return
            time.sleep(0.05)
        raise RuntimeError(f"Redshift cluster {name} was not deleted")


# --- Load generators ------------------------------------------------------------------------

def redis_benchmark(port, connections, pipeline, requests, tls_ca=None):
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "get,set", "-c", str(connections),
            "-P", str(pipeline), "-n", str(requests), "-r", "100000", "--csv"]
    if tls_ca:
        argv += ["--tls", "--cacert", tls_ca]
    out = subprocess.run(pinned(1, argv), capture_output=True, text=True, timeout=300)
    rows = {}
    for line in out.stdout.splitlines():
        cols = [c.strip('"') for c in line.strip().split(",")]
        if len(cols) >= 5 and cols[0] in ("GET", "SET"):
            rows[cols[0]] = {"rps": float(cols[1]), "p50_ms": float(cols[4])}
    if out.returncode != 0 or set(rows) != {"GET", "SET"} or re.search(r"^(Error|ERR)", out.stdout + out.stderr, re.M):
        raise RuntimeError(f"redis-benchmark failed ({out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}")
    return rows


def pgbench(conninfo, password, seconds, connect_each=False):
    argv = [tool("pgbench", pg=True), "-n", "-S", "-c", "8", "-j", "1", "-T", str(seconds)]
    if connect_each:
        argv.append("-C")
    out = subprocess.run(pinned(1, argv + [conninfo]), capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PGPASSWORD=password))
    tps = re.search(r"^tps = ([0-9.]+)", out.stdout, re.M)
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    done = re.search(r"number of transactions actually processed: (\d+)", out.stdout)
    if out.returncode != 0 or not tps or (failed and int(failed.group(1))):
        raise RuntimeError(f"pgbench failed ({out.returncode}): {out.stdout[-600:]} {out.stderr[-600:]}")
    return {"rps": float(tps.group(1)), "transactions": int(done.group(1)) if done else None}


def conninfo(port, user, mode, host="127.0.0.1", dbname="dev"):
    return f"host={host} port={port} user='{user}' dbname={dbname} sslmode={mode} connect_timeout=10"


# --- A PostgreSQL server of our own, as memshift would start it, but on TCP -------------------

class DirectPostgres:
    """initdb and postgres from the same binaries, with the settings memshift gives its
    servers (src/engines/postgres.rs), but listening on 127.0.0.1 with md5 password logins
    and SSL with a self-signed P-256 certificate (the kind of key memshift's endpoints have)."""

    def __init__(self, workdir, fsync):
        self.base = tempfile.mkdtemp(prefix="direct-pg-", dir=workdir)
        self.data = os.path.join(self.base, "data")
        self.sock = os.path.join(self.base, "sock")
        os.makedirs(self.sock)
        run_as = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root; memshift runs its servers as `postgres` too.
            import pwd
            pw = pwd.getpwnam("postgres")
            for path in (self.base, self.sock):
                os.chown(path, pw.pw_uid, pw.pw_gid)
            run_as = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups"]
        self.run_as = run_as
        env = dict(os.environ, HOME="/tmp")
        subprocess.run(run_as + [os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", MASTER_USER,
                                 "--auth-local=trust", "--auth-host=md5", "-E", "UTF8", "--no-sync",
                                 "--no-instructions", "--locale=C"],
                       check=True, capture_output=True, env=env)
        cert, key = os.path.join(self.base, "server.crt"), os.path.join(self.base, "server.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        if run_as:
            for path in (cert, key):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        os.chmod(key, 0o600)
        self.port = free_port()
        self.log_path = os.path.join(self.base, "postgres.log")
        self.proc = subprocess.Popen(
            pinned(0, run_as + [os.path.join(PG_BIN, "postgres"), "-D", self.data,
                                "-c", "listen_addresses=127.0.0.1", "-c", f"port={self.port}",
                                "-c", f"unix_socket_directories={self.sock}", "-c", f"fsync={fsync}",
                                "-c", "synchronous_commit=on", "-c", "max_connections=100",
                                "-c", "log_statement=none", "-c", "log_min_error_statement=panic",
                                "-c", "ssl=on", "-c", f"ssl_cert_file={cert}", "-c", f"ssl_key_file={key}",
                                "-c", "password_encryption=md5"]),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(self.log_path, "w"), env=env)
        import psycopg
        deadline = time.time() + 30
        while True:
            try:
                with psycopg.connect(host=self.sock, port=self.port, user=MASTER_USER, dbname="postgres",
                                     autocommit=True) as conn:
                    conn.execute("CREATE DATABASE dev")
                break
            except psycopg.OperationalError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"the direct PostgreSQL server did not start; see {self.log_path}")
                time.sleep(0.02)

    def admin_conninfo(self):
        return f"host={self.sock} port={self.port} user={MASTER_USER} dbname=dev"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- The measures ---------------------------------------------------------------------------------

def median_ratio(front_runs, direct_runs):
    ratios = sorted(f / d for f, d in zip(front_runs, direct_runs) if d)
    return statistics.median(ratios) if ratios else 0.0


def median_run(runs, key="rps"):
    return sorted(runs, key=lambda r: r[key])[len(runs) // 2]


def redis_measures(ms, data_dir, cfg):
    import redis as redis_py
    cells = []
    sides = {}
    for tls in (False, True):
        name = "dp-tls" if tls else "dp-plain"
        log(f"creating MemoryDB cluster {name} (1 shard, no replica, TLS {'on' if tls else 'off'})")
        ms.create_memorydb(name, 1, 0, tls)
        cluster = ms.wait_memorydb(name)
        node = cluster["Shards"][0]["Nodes"][0]
        ports_file = os.path.join(data_dir, "redis", ACCOUNT, REGION, "clusters", name, node["Name"], "memshift-ports")
        if not os.path.exists(ports_file):
            found = glob.glob(os.path.join(data_dir, "redis", "*", "*", "clusters", name, "*", "memshift-ports"))
            if not found:
                raise RuntimeError(f"no memshift-ports file for {name}")
            ports_file = found[0]
        backend, tls_port, _bus = (int(p) for p in open(ports_file).read().split())
        front_port, direct_port = node["Endpoint"]["Port"], (tls_port if tls else backend)
        # Both ways in work, and answer as the same server.
        kw = dict(ssl=True, ssl_ca_certs=ms.ca_path, ssl_check_hostname=False) if tls else {}
        for port in (front_port, direct_port):
            r = redis_py.Redis(host="127.0.0.1", port=port, socket_timeout=5, **kw)
            r.set("dataplane:probe", str(port))
            assert r.get("dataplane:probe") == str(port).encode()
            r.close()
        sides[tls] = (front_port, direct_port)
    meter = CpuMeter(ms.proc.pid)
    for tls in (False, True):
        front_port, direct_port = sides[tls]
        ca = ms.ca_path if tls else None
        for connections in (1, 16):
            for pipeline in (1, 16):
                label = f"c{connections} P{pipeline}{' TLS' if tls else ''}"
                # A short run straight to the server sets how many requests make a run of
                # about cfg["redis_seconds"] a test there.
                pilot = redis_benchmark(direct_port, connections, pipeline, 2000 * pipeline, ca)
                rate = min(r["rps"] for r in pilot.values())
                requests = max(2000, int(rate * cfg["redis_seconds"] / 1000) * 1000)
                runs = run_rounds(cfg, f"redis-benchmark {label}", lambda side: redis_benchmark(
                    front_port if side == "front" else direct_port, connections, pipeline, requests, ca), meter)
                for test in ("GET", "SET"):
                    cell = {"engine": "redis", "test": test, "tls": tls, "connections": connections,
                            "pipeline": pipeline, "requests": requests,
                            "label": f"Redis {test} -c {connections} -P {pipeline}{', TLS' if tls else ''}"}
                    for side in ("front", "direct"):
                        rates = [r[test]["rps"] for r in runs[side]]
                        mid = sorted(range(len(rates)), key=lambda i: rates[i])[len(rates) // 2]
                        cell[side] = {"rps": rates[mid], "p50_ms": runs[side][mid][test]["p50_ms"],
                                      "rounds_rps": [round(v) for v in rates],
                                      # CPU over the whole run (GET and SET both).
                                      "cpu": runs[side][mid]["cpu"]}
                    cell["ratio"] = median_ratio([r[test]["rps"] for r in runs["front"]],
                                                 [r[test]["rps"] for r in runs["direct"]])
                    cell["other_pct"] = other_pct(runs)
                    cells.append(cell)
    return cells


def postgres_measures(ms, workdir, cfg):
    import psycopg
    cells = []
    log("creating Redshift cluster dp-pg")
    ms.create_redshift("dp-pg")
    host, port = ms.redshift_endpoint("dp-pg")
    # Tables once a side: as the master user through the front; directly as the superuser.
    log("pgbench -i through the front, as the master user")
    subprocess.run(pinned(1, [tool("pgbench", pg=True), "-i", "-q", "-s", "1",
                              conninfo(port, MASTER_USER, "disable", host)]),
                   check=True, capture_output=True, env=dict(os.environ, PGPASSWORD=MASTER_PASSWORD))
    grants = [f"GRANT SELECT ON pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history TO {BENCH_USER}"]
    with psycopg.connect(conninfo(port, MASTER_USER, "disable", host), password=MASTER_PASSWORD,
                         autocommit=True) as conn:
        conn.execute(f"CREATE USER {BENCH_USER}")
        for sql in grants:
            conn.execute(sql)
    creds = ms.redshift.get_cluster_credentials(ClusterIdentifier="dp-pg", DbUser=BENCH_USER, DbName="dev",
                                                DurationSeconds=3600)
    front_user, front_password = creds["DbUser"], creds["DbPassword"]

    log("starting the direct PostgreSQL server")
    direct = DirectPostgres(workdir, fsync="on")
    try:
        subprocess.run(pinned(1, [tool("pgbench", pg=True), "-i", "-q", "-s", "1", direct.admin_conninfo()]),
                       check=True, capture_output=True)
        with psycopg.connect(direct.admin_conninfo(), autocommit=True) as conn:
            conn.execute(f"CREATE USER {BENCH_USER} LOGIN PASSWORD '{BENCH_PASSWORD}'")
            for sql in grants:
                conn.execute(sql)
        meter = CpuMeter(ms.proc.pid, direct.proc.pid)
        for mode in ("disable", "require"):
            for connect_each in (False, True):
                seconds = cfg["pg_connect_seconds"] if connect_each else cfg["pg_seconds"]
                label = f"pgbench -S{' -C' if connect_each else ''}{' sslmode=require' if mode == 'require' else ''}"
                targets = {"front": (conninfo(port, front_user, mode, host), front_password),
                           "direct": (conninfo(direct.port, BENCH_USER, mode), BENCH_PASSWORD)}
                runs = run_rounds(cfg, label, lambda side: pgbench(*targets[side], seconds, connect_each), meter)
                cell = {"engine": "postgres", "tls": mode == "require", "connect_each": connect_each,
                        "clients": 8, "seconds": seconds,
                        "label": f"PostgreSQL pgbench -S{' -C (connections/s)' if connect_each else ''}"
                                 f"{', TLS' if mode == 'require' else ''}"}
                for side in ("front", "direct"):
                    m = median_run(runs[side])
                    cell[side] = {"rps": m["rps"], "rounds_rps": [round(r["rps"]) for r in runs[side]],
                                  "cpu": m["cpu"]}
                cell["ratio"] = median_ratio([r["rps"] for r in runs["front"]], [r["rps"] for r in runs["direct"]])
                cell["other_pct"] = other_pct(runs)
                cells.append(cell)
    finally:
        direct.stop()
    return cells


def wait_for(what, attempt, deadline):
    while True:
        try:
            return attempt()
        except Exception as e:  # noqa: BLE001 - any failure before the deadline means "not yet"
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{what}: {e}") from e
            time.sleep(0.002)


def ready_redshift(ms, name):
    import psycopg
    started = time.perf_counter()
    deadline = started + 120
    answer = ms.create_redshift(name)
    answered = time.perf_counter()
    endpoint = answer["Cluster"].get("Endpoint") or {}
    host, port = endpoint.get("Address"), endpoint.get("Port")
    if not port:
        host, port = ms.redshift_endpoint(name)
    creds = wait_for("GetClusterCredentials", lambda: ms.redshift.get_cluster_credentials(
        ClusterIdentifier=name, DbUser="app", DbName="dev", AutoCreate=True, DurationSeconds=900), deadline)

    def login():
        with psycopg.connect(host=host, port=port, user=creds["DbUser"], password=creds["DbPassword"],
                             dbname="dev", connect_timeout=5) as conn:
            return conn.execute("select 1").fetchone()[0]

    assert wait_for("login", login, deadline) == 1
    return (time.perf_counter() - started) * 1000, (answered - started) * 1000


def ready_memorydb(ms, name):
    import redis as redis_py
    started = time.perf_counter()
    deadline = started + 120
    answer = ms.create_memorydb(name, 3, 1, True)
    answered = time.perf_counter()
    endpoint = answer["Cluster"].get("ClusterEndpoint") or {}
    host, port = endpoint.get("Address"), endpoint.get("Port")
    while not port:
        endpoint = ms.memorydb_cluster(name).get("ClusterEndpoint") or {}
        host, port = endpoint.get("Address"), endpoint.get("Port")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"MemoryDB cluster {name} has no endpoint")
        time.sleep(0.002)

    def ping():
        r = redis_py.Redis(host=host, port=port, ssl=True, ssl_ca_certs=ms.ca_path, ssl_check_hostname=False,
                           socket_connect_timeout=2, socket_timeout=2)
        try:
            return r.ping()
        finally:
            r.close()

    assert wait_for("TLS PING", ping, deadline)
    return (time.perf_counter() - started) * 1000, (answered - started) * 1000


def ready_measures(ms, cfg, tag):
    out = {}
    for kind, create, delete in (("redshift", ready_redshift, ms.delete_redshift),
                                 ("memorydb", ready_memorydb, ms.delete_memorydb)):
        times, calls = [], []
        for run in range(cfg["ready_runs"]):
            name = f"ready-{kind[:2]}-{tag}-{run + 1:02d}"
            # The gap holds even once the budget for a quiet machine is spent, so that every
            # run measures the same thing.
            time.sleep(READY_GAP_S)
            wait_quiet()
            # A run takes tens of milliseconds, a few of the kernel's 10 ms ticks, so the
            # machine's busy time cannot tell whether others disturbed it: it is not judged
            # afterwards, as a load round is.
            log(f"ready: {kind} cluster {name}")
            total, call = create(ms, name)
            delete(name)
            times.append(total)
            calls.append(call)
        out[kind] = {"runs_ms": [round(t, 1) for t in times], "min_ms": round(min(times), 1),
                     "p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1),
                     # How much of it the CreateCluster call itself took (it answers once
                     # the cluster is whole, or sooner).
                     "create_call_ms": [round(t, 1) for t in calls],
                     "create_call_p50_ms": round(statistics.median(calls), 1)}
    return out


AHEAD_DIR = re.compile(r"/\.(pool|ahead|spare)[^/]*(/|$)")


def made_ahead(pid):
    """Whether a server runs in a directory of servers started ahead of their cluster."""
    try:
        return AHEAD_DIR.search(os.readlink(f"/proc/{pid}/cwd")) is not None
    except OSError:
        return False


def process_names(pids):
    names = {}
    for p in pids:
        try:
            with open(f"/proc/{p}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        names[comm] = names.get(comm, 0) + 1
    return names


def memory_measures(ms, tag):
    out = {}
    for kind in ("redshift", "memorydb"):
        name = f"mem-{kind[:2]}-{tag}"
        time.sleep(1.0)
        before_pids = set(descendants(ms.proc.pid))
        before_rss = ms.rss_kb()
        log(f"memory: idle {kind} cluster {name}")
        if kind == "redshift":
            ms.create_redshift(name)
            ms.redshift_endpoint(name)
        else:
            ms.create_memorydb(name, 3, 1, True)
            ms.wait_memorydb(name)
        time.sleep(3.0)  # idle: replicas in sync, start-up work done
        new = [p for p in descendants(ms.proc.pid) if p not in before_pids]
        # Servers memshift keeps started ahead (spares, a cluster formed ahead) are new too;
        # they are reported apart from the cluster's own.
        ahead = [p for p in new if made_ahead(p)]
        own = [p for p in new if p not in ahead]
        out[kind] = {"processes": len(own), "process_names": process_names(own),
                     "rss_mb": round(sum(status_kb(p, "VmRSS") for p in own) / 1024, 1),
                     "pss_mb": round(sum(pss_kb(p) for p in own) / 1024, 1),
                     "memshift_growth_mb": round((ms.rss_kb() - before_rss) / 1024, 1),
                     "ahead": {"processes": len(ahead), "process_names": process_names(ahead),
                               "rss_mb": round(sum(status_kb(p, "VmRSS") for p in ahead) / 1024, 1),
                               "pss_mb": round(sum(pss_kb(p) for p in ahead) / 1024, 1)}}
        out[kind]["total_mb"] = round(out[kind]["rss_mb"] + max(0.0, out[kind]["memshift_growth_mb"]), 1)
        if kind == "redshift":
            ms.delete_redshift(name)
        else:
            ms.delete_memorydb(name)
    return out


def raise_priority():
    """On a machine others share, their work takes CPU from whichever side of a cell is
    running, and more from a side with one busy process than from one with two. Run at a
    higher priority (inherited by memshift, its engines, the direct server and the load
    generators alike), others get a small share while the benchmark's processes are busy;
    among themselves nothing changes. Needs root; otherwise the run goes on as it is."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, NICE)
        return NICE
    except OSError:
        return os.getpriority(os.PRIO_PROCESS, 0)


def run(cfg):
    if PIN:
        os.sched_setaffinity(0, {1})
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "pinned": PIN,
                           "nice": raise_priority()},
               "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "settings": cfg, "versions": {}}
    results["versions"]["redis-server"] = subprocess.run(["redis-server", "--version"], capture_output=True,
                                                         text=True).stdout.split()[2].removeprefix("v=")
    results["versions"]["postgres"] = subprocess.run([os.path.join(PG_BIN, "postgres"), "--version"],
                                                     capture_output=True, text=True).stdout.strip()
    # Temporary data on tmpfs when there is one: the appendfsync/fsync both sides pay then
    # costs little, so the figures are the fronts' and servers' own work, not the disk's.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    workdir = tempfile.mkdtemp(prefix="memshift-dataplane-", dir=shm)
    os.chmod(workdir, 0o755)
    tag = str(int(time.time()) % 100000)
    try:
        data_dir = os.path.join(workdir, "data")
        os.makedirs(data_dir)
        os.chmod(data_dir, 0o755)
        log("starting memshift with a data directory (for the data plane)")
        ms = Memshift(workdir, data_dir)
        results["data_dir_on_tmpfs"] = shm is not None
        try:
            engines = ms.health.get("engines", {})
            results["engines"] = engines
            cells = redis_measures(ms, data_dir, cfg)
            cells += postgres_measures(ms, workdir, cfg)
            results["cells"] = cells
        finally:
            ms.stop()
        log("starting a fresh memshift without a data directory (ready times, memory)")
        ms = Memshift(workdir)
        try:
            results["memory"] = memory_measures(ms, tag)
            results["ready"] = ready_measures(ms, cfg, tag)
        finally:
            ms.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


# --- The report ---------------------------------------------------------------------------------

def targets(results):
    """(measure, target, figure, met) rows: met is None for a figure that is only reported."""
    rows = []
    for c in results["cells"]:
        f, d = c["front"]["rps"], c["direct"]["rps"]
        unit = "conn/s" if c.get("connect_each") else "/s"
        rows.append((f"{c['label']}: front / direct", f">= {RATIO_TARGET}",
                     f"{c['ratio']:.2f} ({f:,.0f} vs {d:,.0f} {unit})", c["ratio"] >= RATIO_TARGET))
    names = {"redshift": "Redshift: CreateCluster to `select 1` (p50)",
             "memorydb": "MemoryDB 3x2 TLS: CreateCluster to PING (p50)"}
    for kind, r in results["ready"].items():
        rows.append((names[kind], f"<= {READY_TARGET_MS:.0f} ms",
                     f"{r['p50_ms']:,.0f} ms (min {r['min_ms']:,.0f}, max {r['max_ms']:,.0f}, "
                     f"{len(r['runs_ms'])} runs)", r["p50_ms"] <= READY_TARGET_MS))
    names = {"redshift": "Memory of an idle Redshift cluster", "memorydb": "Memory of an idle MemoryDB 3x2 cluster"}
    for kind, m in results["memory"].items():
        a = m.get("ahead") or {"processes": 0, "rss_mb": 0.0, "pss_mb": 0.0}
        rows.append((names[kind], "reported",
                     f"{m['rss_mb']:.1f} MB RSS in {m['processes']} processes (PSS {m['pss_mb']:.1f} MB), "
                     f"memshift +{m['memshift_growth_mb']:.1f} MB; servers kept ahead: "
                     f"{a['rss_mb']:.1f} MB RSS in {a['processes']} (PSS {a['pss_mb']:.1f} MB)", None))
    return rows


def detail_lines(results):
    lines = ["| cell | front | direct | front / direct | rounds (front; direct) | "
             "CPU in a front run: memshift / engine / client | CPU in a direct run: engine / client |",
             "| --- | ---: | ---: | ---: | --- | --- | --- |"]
    for c in results["cells"]:
        fc, dc = c["front"]["cpu"], c["direct"]["cpu"]
        # A load generator near a whole CPU on the direct side sets that side's rate: the
        # server could go faster, so the ratio overstates the front.
        bound = " (client-bound)" if dc["client_pct"] >= CLIENT_BOUND_PCT else ""
        disturbed = " (disturbed)" if max(c.get("other_pct", [0])) > DISTURBED_PCT else ""
        lines.append(f"| {c['label']}{disturbed} | {c['front']['rps']:,.0f} | {c['direct']['rps']:,.0f}{bound} | {c['ratio']:.2f} | "
                     f"{', '.join(f'{v:,}' for v in c['front']['rounds_rps'])}; "
                     f"{', '.join(f'{v:,}' for v in c['direct']['rounds_rps'])} | "
                     f"{fc['memshift_pct']:.0f}% / {fc['engine_pct']:.0f}% / {fc['client_pct']:.0f}% | "
                     f"{dc['engine_pct']:.0f}% / {dc['client_pct']:.0f}% |")
    return lines


def other_load_line(results):
    runs = [v for c in results["cells"] for v in c.get("other_pct", [])]
    if not runs:
        return "Other load was not measured in this run."
    text = (f"Other load in this run: other processes took {statistics.mean(runs):.0f}% of a CPU on average "
            f"in the load rounds kept (at most {max(runs):.0f}% in one)")
    d = results.get("disturbance")
    if d:
        text += (f"; {d['rounds_run_again']} disturbed rounds were run again, and waiting for a "
                 f"quiet machine and running again took {d['seconds_spent']:.0f} s in all")
    return text + "."


def draw_charts(results):
    rows = []
    for c in results["cells"]:
        if c["engine"] == "redis":
            group = f"Redis ({'TLS' if c['tls'] else 'clear text'}), redis-benchmark"
            label = f"{c['test']} -c {c['connections']} -P {c['pipeline']}"
        else:
            group = f"PostgreSQL ({'sslmode=require' if c['tls'] else 'clear text'}), pgbench, 8 clients"
            label = "-S -C (new connections/s)" if c["connect_each"] else "-S (select-only tps)"
        rows.append({"group": group, "label": label, "value": c["ratio"], "target": RATIO_TARGET})
    docgen.bar_chart(CHARTS["ratios"], "Data plane: memshift's endpoint / the same engine reached directly",
                     rows, note=f"median of per-round ratios; 1.0 = no cost; dashed: the target, {RATIO_TARGET}")
    names = {"redshift": "Redshift cluster", "memorydb": "MemoryDB, 3 shards x 2 nodes, TLS"}
    rows = [{"label": names[k], "value": r["p50_ms"], "low": r["min_ms"], "high": r["max_ms"],
             "target": READY_TARGET_MS} for k, r in results["ready"].items()]
    docgen.bar_chart(CHARTS["ready"], "CreateCluster to first login (ms): p50, whiskers min to max", rows,
                     unit="", higher_is_better=False,
                     note=f"{len(next(iter(results['ready'].values()))['runs_ms'])} runs each; "
                          f"dashed: the target, {READY_TARGET_MS:.0f} ms")
    rows = []
    for k, m in results["memory"].items():
        group = names[k] + (f" ({m['processes']} processes)")
        a = m.get("ahead") or {"processes": 0, "rss_mb": 0.0, "pss_mb": 0.0}
        rows += [{"group": group, "label": "engine processes, summed RSS", "value": m["rss_mb"]},
                 {"group": group, "label": "engine processes, summed PSS", "value": m["pss_mb"]},
                 {"group": group, "label": "memshift's own growth (RSS)", "value": max(0.0, m["memshift_growth_mb"])},
                 {"group": group, "label": f"servers kept ahead ({a['processes']}), summed PSS",
                  "value": a["pss_mb"]}]
    docgen.bar_chart(CHARTS["memory"], "Memory an idle cluster adds (MB)", rows,
                     note="PSS shares pages among the processes that map them (PostgreSQL's shared memory)")


def write_report(results, rows):
    cfg = results["settings"]
    ready_runs = cfg["ready_runs"]
    rel = lambda p: os.path.relpath(p, os.path.dirname(REPORT))  # noqa: E731
    text = [
        "## Data plane",
        "",
        "Regenerated by `python3 bench/dataplane.py`; the figures below are from its last run "
        f"({results['when']}, {results['machine']['cpus']} CPUs, redis-server {results['versions']['redis-server']}, "
        f"{results['versions']['postgres']}{', quick run' if cfg['quick'] else ''}).",
        "",
        "### Method",
        "",
        "- What is compared: a cluster's endpoint, memshift's front (the RESP proxy of a MemoryDB node, the "
        "PostgreSQL wire-protocol front of a Redshift cluster), against the engine reached without it. The "
        "same client binary sends the same requests to both sides.",
        "- Pinning, as for the HTTP benchmark: memshift runs on CPU 0 with one runtime worker (`taskset`, "
        "`TOKIO_WORKER_THREADS=1`), and so do the Redis and PostgreSQL servers it starts, which inherit its "
        "affinity, and the PostgreSQL server the benchmark starts itself; the load generators and the "
        "benchmark's own Python run on CPU 1. Front and server so share one CPU, as they share the "
        "machine in a test run: what the front costs shows as throughput it takes from the server.",
        "- Redis: a MemoryDB cluster of one shard without replicas (`open-access` ACL, so the `default` user "
        "needs no password) and `redis-benchmark -t get,set -r 100000` at `-c 1` and `-c 16`, `-P 1` and "
        "`-P 16`, through the node's endpoint and straight to the same redis-server on the backend port "
        "that memshift records in the node's `memshift-ports` file. With TLS, a second such cluster with "
        "`TLSEnabled`, `redis-benchmark --tls --cacert` with memshift's CA, through the endpoint and to the "
        "server's own TLS port. A short run straight to the server first sets the request count of the "
        f"cell (about {cfg['redis_seconds']} s a test there).",
        "- PostgreSQL: `pgbench -n -S -c 8 -j 1` for "
        f"{cfg['pg_seconds']} s (select-only transactions a second) and with `-C` for {cfg['pg_connect_seconds']} s "
        "(a new connection a transaction: logins a second), in clear text (`sslmode=disable`) and with "
        "`sslmode=require`. Through the front, the login is a GetClusterCredentials temporary credential "
        "(`IAM:bench`, a member of the database user `bench`); directly, it is an md5 password login over "
        "TCP (md5 rather than SCRAM, whose key stretching would slow the direct side and flatter the "
        "front) to a server the benchmark starts from the same binaries with the settings memshift gives "
        "its own (`initdb --locale=C -E UTF8`, `fsync=on`, `synchronous_commit=on`, `max_connections=100`, "
        "no statement logging), listening on 127.0.0.1 with SSL on a self-signed P-256 certificate (the "
        "kind of key memshift's endpoints use). `pgbench -i -s 1` makes the tables once a side, as the master "
        "user through the front, as the superuser directly; `bench` may read them on both.",
        "- memshift runs for these with a `--data-dir` (on tmpfs, as are the direct server's data, so "
        "`appendfsync always` and `fsync=on` cost both sides little and the figures are the fronts' and "
        "servers' own work).",
        f"- Rounds: every cell runs {cfg['rounds']} time{'s' if cfg['rounds'] > 1 else ''}, front and direct "
        "taking turns within each round (and the first of them changing every round); the table shows the "
        "run with the median rate, and front / direct is the median of the rounds' own ratios.",
        "- CPU: during each run the benchmark reads `/proc` for the CPU time of memshift itself, of the "
        "engine servers (with the children they reap: PostgreSQL's backends) and of the load generator, "
        "as a share of the run's wall time. CPU 0 holds memshift and the engine, so their shares add up "
        "to at most 100%.",
        f"- Ready: on a fresh memshift without a data directory, {ready_runs} times each: CreateCluster, "
        "GetClusterCredentials (`AutoCreate`) and a psycopg login (default `sslmode=prefer`, so TLS) that "
        "runs `select 1`; and CreateCluster of a MemoryDB cluster with 3 shards of 2 nodes and TLS, then a "
        "TLS `PING` with redis-py through the cluster endpoint. Each step is retried until it succeeds, so "
        "the figure holds whether CreateCluster answers before or after the cluster serves. The clock "
        "runs from the CreateCluster call to the first answer; each cluster has a name of its own and "
        f"is deleted after its run (not timed). Runs start at least {READY_GAP_S:g} s after the last "
        "deletion, as a suite's clusters made per test module would (and the benchmark also waits for a "
        "quiet machine before each, within its budget): memshift uses the time to start what the next cluster needs, "
        "so the first run of each kind is a cold start (its figure is in the runs column) and the others "
        "show what a suite that makes clusters of one shape again and again waits.",
        "- Memory: on the same fresh memshift, the processes an idle cluster adds (new descendants of "
        "memshift, three seconds after CreateCluster answered), summed `VmRSS` and PSS (which shares the "
        "pages several processes map, such as PostgreSQL's shared memory, among them), and memshift's own "
        "growth in `VmRSS`. Servers memshift keeps started ahead of the next cluster (spare servers, a "
        "cluster formed ahead: those working in its `.pool`, `.ahead` and `.spare` directories) are new "
        "descendants too; they are counted apart, once for the whole instance rather than per cluster.",
        f"- Priority: the benchmark runs at nice {results['machine'].get('nice', 0)} (when it may), and so do the "
        "processes it starts: memshift, its engines, the direct server and the load generators. Work of "
        "others on the machine then takes little from either side (at the same priority it would take "
        "more from a side with one busy process, a direct server, than from one with two, front and server).",
        "- Other load: the benchmark also reads the busy time of every CPU (`/proc/stat`) and takes off "
        "that of the processes it measures; what remains is what other processes took meanwhile, "
        "reported below. Before each round (and each ready run) the benchmark waits until other processes "
        f"use less than {QUIET_PCT}% of a CPU, and a round in which they took more than {DISTURBED_PCT}% of a CPU "
        "during either side's run is run again; both within a budget "
        f"of {cfg.get('disturbance_budget_s', 0):.0f} s for the whole run, after which rounds are kept as they come. "
        f"\"disturbed\" in the cells table marks a cell with such a round kept.",
        "",
        other_load_line(results),
        "",
        "### Targets",
        "",
        "| measure | target | figure | met |",
        "| --- | --- | --- | --- |",
        *[f"| {m} | {t} | {f} | {'reported' if ok is None else ('yes' if ok else 'NO')} |" for m, t, f, ok in rows],
        "",
        f"![front / direct for every cell]({rel(CHARTS['ratios'])})",
        "",
        "### Cells",
        "",
        "Requests (or transactions, or connections) a second; CPU as a share of the run's wall time. "
        f"\"client-bound\": the load generator used {CLIENT_BOUND_PCT}% or more of its CPU in the direct run, "
        "so the server could have gone faster and front / direct flatters the front.",
        "",
        *detail_lines(results),
        "",
        "### Clusters ready and memory",
        "",
        f"![CreateCluster to first login]({rel(CHARTS['ready'])})",
        "",
        "| cluster | min | p50 | max | of which the CreateCluster call (p50) | runs (ms) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        *[f"| {k} | {r['min_ms']:,.0f} | {r['p50_ms']:,.0f} | {r['max_ms']:,.0f} | "
          f"{r['create_call_p50_ms']:,.0f} | "
          f"{', '.join(f'{v:,.0f}' for v in r['runs_ms'])} |" for k, r in results["ready"].items()],
        "",
        f"![Memory an idle cluster adds]({rel(CHARTS['memory'])})",
        "",
        "| cluster | processes | summed RSS (MB) | summed PSS (MB) | memshift growth (MB) | "
        "servers kept ahead: processes, RSS, PSS (MB) |",
        "| --- | --- | ---: | ---: | ---: | --- |",
        *[f"| {k} | {m['processes']} ({', '.join(f'{n} {c}' for c, n in sorted(m['process_names'].items()))}) | "
          f"{m['rss_mb']:.1f} | {m['pss_mb']:.1f} | {m['memshift_growth_mb']:.1f} | "
          f"{(m.get('ahead') or {}).get('processes', 0)}, {(m.get('ahead') or {}).get('rss_mb', 0.0):.1f}, "
          f"{(m.get('ahead') or {}).get('pss_mb', 0.0):.1f} |"
          for k, m in results["memory"].items()],
        "",
    ]
    docgen.replace_section(REPORT, "dataplane", "\n".join(text))


def report(results):
    rows = targets(results)
    results["targets"] = [{"measure": m, "target": t, "figure": f, "met": ok} for m, t, f, ok in rows]
    draw_charts(results)
    write_report(results, rows)
    return rows


def main():
    # A SIGTERM ends the run as Ctrl-C does: servers stopped, temporary data removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs, one round, 3 ready runs")
    parser.add_argument("--no-build", action="store_true", help="use the memshift binary already built")
    parser.add_argument("--charts-only", action="store_true",
                        help="run nothing: redraw the charts and this section of performance.md from dataplane.json")
    args = parser.parse_args()
    if args.charts_only:
        with open(RESULTS) as f:
            results = json.load(f)
        rows = report(results)
    else:
        ensure_tools()
        if not args.no_build:
            build()
        if args.quick:
            cfg = {"quick": True, "rounds": 1, "redis_seconds": 0.25, "pg_seconds": 1, "pg_connect_seconds": 1,
                   "ready_runs": 3}
        else:
            cfg = {"quick": False, "rounds": 5, "redis_seconds": 0.5, "pg_seconds": 2, "pg_connect_seconds": 1,
                   "ready_runs": 10}
        cfg["disturbance_budget_s"] = DISTURBANCE["budget"] = 15.0 if args.quick else 75.0
        started = time.perf_counter()
        results = run(cfg)
        results["run_seconds"] = round(time.perf_counter() - started, 1)
        results["disturbance"] = {"seconds_spent": round(DISTURBANCE["spent"], 1),
                                  "rounds_run_again": DISTURBANCE["rounds_run_again"]}
        rows = report(results)
        with open(RESULTS, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
    width = max(len(m) for m, *_ in rows)
    print(f"{'measure':<{width}}  {'target':<10}  {'met':<8}  figure")
    for m, t, f, ok in rows:
        print(f"{m:<{width}}  {t:<10}  {'-' if ok is None else ('met' if ok else 'MISSED'):<8}  {f}")
    print()
    print("\n".join(detail_lines(results)))
    print(f"\nwritten: {os.path.relpath(RESULTS, ROOT)}, {os.path.relpath(REPORT, ROOT)}, "
          + ", ".join(os.path.relpath(p, ROOT) for p in CHARTS.values()))


if __name__ == "__main__":
    main()
