"""memshift, a local emulator of Amazon MemoryDB and Amazon Redshift.

The wheel installs the ``memshift`` binary; this package finds it (``binary()``), runs it
(``python -m memshift``), starts and stops servers for tests (``memshift.server.Server``)
and carries the pytest plugin (``memshift.pytest_plugin``, loaded by pytest itself).
Nothing here imports pytest or boto3 until it is used.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Iterator, Optional

__all__ = ["BinaryNotFound", "binary", "__version__"]

_EXE = "memshift.exe" if os.name == "nt" else "memshift"

INSTALL_HINT = (
    "install it with `pip install memshift` (the wheel carries the binary), build it from "
    "a checkout with `cargo build --release` (then target/release/memshift), or name it "
    "with --memshift-bin (pytest) or put it on PATH"
)


class BinaryNotFound(FileNotFoundError):
    """No memshift binary was found where the package looks for it."""


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return "0+unknown"
    try:
        return version("memshift")
    except PackageNotFoundError:
        return "0+unknown"


__version__ = _version()


def _runnable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _installed_with_package() -> Iterator[Path]:
    """The binary this distribution installed, as its RECORD names it (wherever the
    installer put scripts: a virtual environment's bin, ~/.local/bin, a prefix)."""
    try:
        from importlib.metadata import PackageNotFoundError, distribution
    except ImportError:  # pragma: no cover
        return
    try:
        files = distribution("memshift").files or []
    except PackageNotFoundError:
        return
    for entry in files:
        if entry.name == _EXE:
            yield Path(entry.locate()).resolve()


def _scripts_dirs() -> Iterator[Path]:
    """Where installers put scripts for this interpreter."""
    seen = set()
    schemes = [None]
    if os.name == "posix":
        schemes.append("posix_user")
    elif os.name == "nt":
        schemes.append("nt_user")
    for scheme in schemes:
        try:
            if scheme:
                path = sysconfig.get_path("scripts", scheme)
            else:
                path = sysconfig.get_path("scripts")
        except KeyError:
            continue
        if path and path not in seen:
            seen.add(path)
            yield Path(path)
    here = str(Path(sys.executable).parent)
    if here not in seen:
        yield Path(here)


def binary(explicit: Optional[str] = None) -> Path:
    """The memshift binary to run.

    ``explicit`` (a path, or a name looked up on PATH) wins; otherwise the binary installed
    with this package, then the scripts directories of this interpreter, then PATH.
    Raises BinaryNotFound with a message that says how to get one.
    """
    if explicit:
        given = Path(explicit).expanduser()
        if _runnable(given):
            return given.resolve()
        found = shutil.which(explicit) if os.sep not in explicit else None
        if found:
            return Path(found)
        raise BinaryNotFound(
            f"the memshift binary {explicit!r} is not an executable file: {INSTALL_HINT}"
        )
    for candidate in _installed_with_package():
        if _runnable(candidate):
            return candidate
    for directory in _scripts_dirs():
        candidate = directory / _EXE
        if _runnable(candidate):
            return candidate
    found = shutil.which("memshift")
    if found:
        return Path(found)
    raise BinaryNotFound(f"no memshift binary found: {INSTALL_HINT}")
