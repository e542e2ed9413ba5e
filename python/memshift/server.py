"""A memshift server run as a child process, for tests.

    from memshift.server import Server

    with Server() as server:
        memorydb = server.client("memorydb")
        memorydb.describe_users()

The pytest plugin (``memshift.pytest_plugin``) uses this class; it needs neither pytest
nor boto3 (``client()`` imports boto3 when it is called).

A started server is stopped by ``stop()``, by leaving the ``with`` block, at interpreter
exit (atexit), when the process gets SIGTERM, and on Linux by the kernel when the process
that started it dies in any other way (even by SIGKILL). It runs in a process group of its
own, so a Ctrl-C in the terminal reaches the test runner, which then stops it in order.
memshift ends the Redis and PostgreSQL servers it started when it ends itself.
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from . import binary as find_binary

__all__ = ["Account", "Server", "StartupError"]

DEFAULT_REGION = "us-east-1"
# The access key of the default account: memshift maps an access key id of exactly twelve
# digits to that account, and any other key to --default-account (000000000000 unless set).
DEFAULT_ACCESS_KEY = "test"
SECRET_ACCESS_KEY = "test"

_LOOPBACK_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "[::1]", "::1": "[::1]"}


class StartupError(RuntimeError):
    """memshift did not start, or did not become healthy in time; the message has the
    last lines of its log."""


class Account:
    """A twelve-digit account of a server: clients made here act in that account only,
    so its resources are its own."""

    def __init__(self, server: "Server", account_id: str):
        self.server = server
        self.id = account_id

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url

    @property
    def access_key_id(self) -> str:
        """The access key id that selects this account (the account id itself)."""
        return self.id

    def client(self, service: str, region: str = DEFAULT_REGION, **kwargs: Any) -> Any:
        """A boto3 client of ``service`` in this account."""
        return self.server.client(service, region=region, account=self.id, **kwargs)

    def __repr__(self) -> str:
        return f"Account({self.id!r}, endpoint_url={self.endpoint_url!r})"


# Every server started and not yet stopped, for atexit and the SIGTERM handler.
_live: "set[Server]" = set()
_live_lock = threading.RLock()
_previous_sigterm: Any = None


def _stop_all() -> None:
    with _live_lock:
        servers = list(_live)
    for server in servers:
        try:
            server.stop(timeout=5.0)
        except Exception:  # noqa: BLE001 - at exit, stop as many as possible
            pass


def _on_sigterm(signum: int, frame: Any) -> None:
    """Stop the servers, then end as SIGTERM would have ended the process."""
    _stop_all()
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_handlers() -> None:
    global _previous_sigterm
    if threading.current_thread() is not threading.main_thread():
        return
    current = signal.getsignal(signal.SIGTERM)
    if current is _on_sigterm or current is signal.SIG_IGN:
        return
    # Only the default action or a Python handler can be chained; a handler installed
    # from C (None) is left alone.
    if current is signal.SIG_DFL or callable(current):
        _previous_sigterm = current if callable(current) else None
        signal.signal(signal.SIGTERM, _on_sigterm)


atexit.register(_stop_all)


def _die_with_parent_hook(parent: int):
    """A preexec function that asks the kernel to SIGTERM the child when the thread that
    started it dies (Linux only; None elsewhere or when that is not the main thread,
    whose death is the process's)."""
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the call
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


# Each server's temporary directory (its log and the CA file) is named after the process
# that started it, so that one left by a process killed outright is removed later.
_TMP_PREFIX = "memshift-fixture-"


def _sweep_stale_dirs() -> None:
    """Removes the temporary directories of servers whose starting process is gone."""
    if os.name != "posix":
        return
    root = Path(tempfile.gettempdir())
    try:
        entries = list(root.glob(f"{_TMP_PREFIX}*-*"))
    except OSError:
        return
    for entry in entries:
        owner = entry.name[len(_TMP_PREFIX):].split("-", 1)[0]
        if not owner.isdigit() or int(owner) == os.getpid():
            continue
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except (PermissionError, OSError):
            pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setting(args: Sequence[str], env: Mapping[str, str], flag: str, variable: str) -> str:
    """A server setting as the server reads it: the flag's last value, else the variable."""
    value = env.get(variable, "")
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(flag + "="):
            value = arg[len(flag) + 1:]
    return value


def _host_of(args: Sequence[str], env: Mapping[str, str]) -> str:
    """The host clients reach the server at, from --host (or MEMSHIFT_HOST)."""
    host = _setting(args, env, "--host", "MEMSHIFT_HOST")
    if host in _LOOPBACK_HOSTS:
        return _LOOPBACK_HOSTS[host]
    return f"[{host}]" if ":" in host else host


class Server:
    """A memshift server on a free port of this machine.

    ``binary``: the memshift binary (default: the one installed with this package, else
    ``memshift`` on PATH). ``args``: extra command-line arguments (not ``--port``, which
    the server picks). ``env``: the server's environment (default: this process's, so
    ``MEMSHIFT_*`` settings reach it). ``startup_timeout``: seconds to wait for
    ``/_memshift/health``.
    """

    def __init__(
        self,
        binary: Optional[str] = None,
        args: Sequence[str] = (),
        env: Optional[Mapping[str, str]] = None,
        startup_timeout: float = 30.0,
    ):
        self._binary_arg = binary
        self.args: List[str] = list(args)
        for arg in self.args:
            if arg == "--port" or arg.startswith("--port="):
                raise ValueError("the server picks its own port: leave --port out of args")
        self.env: Dict[str, str] = dict(os.environ if env is None else env)
        self.startup_timeout = startup_timeout
        self.binary: Optional[Path] = None
        self.port: Optional[int] = None
        self.host = _host_of(self.args, self.env)
        self.process: Optional[subprocess.Popen] = None
        self.tmp_dir: Optional[Path] = None
        self.log_path: Optional[Path] = None
        self._ca_file: Optional[Path] = None
        self._start_offset = 0.0
        # Seconds from start() to the first healthy answer.
        self.startup_seconds: Optional[float] = None
        # Never handed out by new_account(): the account of keys that are not an account id.
        self._accounts: "set[str]" = {
            _setting(self.args, self.env, "--default-account", "MEMSHIFT_DEFAULT_ACCOUNT")
            or "000000000000"
        }
        self._random = random.Random(os.urandom(16))
        self._boto_session: Any = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ life cycle

    def start(self) -> "Server":
        """Starts the server and waits until it is healthy. Raises BinaryNotFound or
        StartupError."""
        if self.process is not None:
            return self
        began = time.monotonic()
        self.binary = find_binary(self._binary_arg)
        _sweep_stale_dirs()
        self.tmp_dir = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-"))
        self.log_path = self.tmp_dir / "server.log"
        with _live_lock:
            _live.add(self)
        _install_handlers()
        try:
            self._start_on_free_port()
            self.startup_seconds = time.monotonic() - began
            self._start_offset = float(self.clock().get("offset_seconds", 0.0))
        except BaseException:
            self.stop()
            raise
        return self

    def _start_on_free_port(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        failure = ""
        # A port free when it is picked can be taken before the server binds it: then the
        # server exits at once, and another port is tried.
        for _ in range(5):
            self.port = _free_port()
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            self._spawn()
            state = self._wait_healthy(deadline)
            if state == "healthy":
                return
            if state == "timeout":
                self._kill()
                raise StartupError(
                    f"memshift ({self.binary}) did not answer {self.endpoint_url}/_memshift/health "
                    f"within {self.startup_timeout:g} s; its last log lines:\n{self.log_tail()}"
                )
            code = self.process.returncode
            text = self._log_since(log_offset)
            failure = (
                f"memshift ({self.binary}) exited with code {code} before it became healthy; "
                f"its last log lines:\n{self.log_tail()}"
            )
            self.process = None
            if "in use" not in text.lower() or time.monotonic() >= deadline:
                break
        raise StartupError(failure)

    def _spawn(self) -> None:
        command = [str(self.binary), "--port", str(self.port), *self.args]
        kwargs: Dict[str, Any] = {}
        if os.name == "posix":
            # A process group of its own: a terminal's Ctrl-C goes to the test runner alone,
            # which then stops the server in order.
            kwargs["start_new_session"] = True
            hook = _die_with_parent_hook(os.getpid())
            if hook is not None:
                kwargs["preexec_fn"] = hook
        elif os.name == "nt":  # pragma: no cover
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                close_fds=True,
                **kwargs,
            )

    def _wait_healthy(self, deadline: float) -> str:
        pause = 0.005
        while True:
            if self.process.poll() is not None:
                return "exited"
            try:
                status, body = self._request("GET", "/_memshift/health", timeout=1.0)
                if status == 200 and json.loads(body).get("status") == "running":
                    return "healthy"
            except (OSError, ValueError, http.client.HTTPException):
                pass
            if time.monotonic() >= deadline:
                return "timeout"
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the server (SIGTERM, then SIGKILL to its process group after
        ``timeout`` seconds) and removes its temporary files. Safe to call twice."""
        with self._lock:
            process, self.process = self.process, None
            try:
                if process is not None and process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(timeout)
                    except subprocess.TimeoutExpired:
                        self._kill(process)
            except BaseException:
                # Interrupted while waiting (a second Ctrl-C): make sure it is gone.
                self._kill(process)
                raise
            finally:
                self._cleanup_files()
                with _live_lock:
                    _live.discard(self)

    def _kill(self, process: Optional[subprocess.Popen] = None) -> None:
        process = process or self.process
        if process is None:
            return
        try:
            if os.name == "posix":
                os.killpg(process.pid, signal.SIGKILL)
            else:  # pragma: no cover
                process.kill()
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass

    def _cleanup_files(self) -> None:
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir = None
            self._ca_file = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<memshift.Server {self.endpoint_url} {state}>"

    # ---------------------------------------------------------------------- the log

    def _log_since(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", errors="replace")
        except (OSError, TypeError):
            return ""

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines the server wrote (standard output and error)."""
        text = self._log_since(0)
        tail = text.splitlines()[-lines:]
        return "\n".join(tail) if tail else "(the log is empty)"

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except (OSError, AttributeError):
            return 0

    def log_since(self, offset: int) -> str:
        """What the server wrote after ``offset`` (a ``log_size()`` taken earlier)."""
        return self._log_since(offset)

    # ------------------------------------------------------------------ admin calls

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``: the endpoint of every AWS API it serves."""
        return f"http://{self.host}:{self.port}"

    def _request(
        self, method: str, path: str, body: Optional[dict] = None, timeout: float = 30.0
    ) -> "tuple[int, bytes]":
        host = self.host.strip("[]")
        conn = http.client.HTTPConnection(host, self.port, timeout=timeout)
        try:
            payload = None if body is None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"} if payload is not None else {}
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def _admin(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        status, data = self._request(method, path, body)
        if status != 200:
            text = data.decode(errors="replace")
            raise RuntimeError(f"{method} {path} answered {status}: {text}")
        return json.loads(data) if data else None

    def health(self) -> dict:
        """``GET /_memshift/health``: version, services, engines, persistence."""
        return self._admin("GET", "/_memshift/health")

    def clock(self) -> dict:
        """``GET /_memshift/clock``: ``{"now": ..., "offset_seconds": ...}``."""
        return self._admin("GET", "/_memshift/clock")

    def advance_clock(self, seconds: float) -> dict:
        """Moves memshift's clock forward by ``seconds`` (back when negative): temporary
        credentials and IAM tokens expire as if that time had passed. Returns the clock."""
        return self._admin("POST", "/_memshift/clock", {"advance_seconds": seconds})

    def reset(self) -> None:
        """Returns every account and region to the built-in state (clusters and their
        servers gone), and the clock to where it was when the server started."""
        self._admin("POST", "/_memshift/reset")
        offset = float(self.clock().get("offset_seconds", 0.0))
        if offset != self._start_offset:
            self.advance_clock(self._start_offset - offset)

    @property
    def ca_file(self) -> str:
        """The path of memshift's CA certificate (PEM), the CA that signs the TLS
        endpoints of clusters: give it to clients as their trusted CA. Fetched from
        ``/_memshift/ca.pem`` once; removed when the server stops."""
        with self._lock:
            if self._ca_file is None:
                status, pem = self._request("GET", "/_memshift/ca.pem")
                if status != 200:
                    raise RuntimeError(f"GET /_memshift/ca.pem answered {status}")
                path = self.tmp_dir / "ca.pem"
                path.write_bytes(pem)
                self._ca_file = path
            return str(self._ca_file)

    # ---------------------------------------------------------------------- clients

    def new_account(self) -> Account:
        """An account id of twelve digits not handed out before by this server."""
        with self._lock:
            while True:
                account = f"{self._random.randrange(10**11, 10**12):012d}"
                if account not in self._accounts:
                    self._accounts.add(account)
                    return Account(self, account)

    def client(
        self,
        service: str,
        region: str = DEFAULT_REGION,
        account: Optional[str] = None,
        **kwargs: Any,
    ) -> Any:
        """A boto3 client of ``service`` (``memorydb``, ``redshift``,
        ``redshift-serverless``, ``redshift-data``) for this server, in ``region`` and
        ``account`` (twelve digits; the default account when None). Other keyword
        arguments go to ``boto3.session.Session.client``."""
        try:
            import boto3
            from botocore.config import Config
        except ImportError as e:
            raise ImportError(
                "memshift's client() needs boto3: pip install boto3 (or 'memshift[clients]')"
            ) from e
        if account is not None:
            account = str(account)
            if len(account) != 12 or not account.isdigit():
                raise ValueError(f"an account id is twelve digits, not {account!r}")
        if self._boto_session is None:
            self._boto_session = boto3.session.Session()
        kwargs.setdefault(
            "config", Config(connect_timeout=5, read_timeout=120, retries={"mode": "standard"})
        )
        return self._boto_session.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=region,
            aws_access_key_id=account or DEFAULT_ACCESS_KEY,
            aws_secret_access_key=SECRET_ACCESS_KEY,
            **kwargs,
        )


def split_args(values: Sequence[str]) -> List[str]:
    """Each value split as a shell would (``"--redis-server off"`` is two arguments)."""
    args: List[str] = []
    for value in values:
        args.extend(shlex.split(value))
    return args
