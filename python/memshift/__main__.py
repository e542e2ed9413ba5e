"""``python -m memshift [ARGS...]``: runs the installed memshift binary with ARGS.

On POSIX the interpreter is replaced by the binary (signals and the exit code are the
binary's own); elsewhere it runs as a child and its exit code is passed on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import List, Optional

from . import BinaryNotFound, binary


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        path = str(binary())
    except BinaryNotFound as e:
        print(f"memshift: {e}", file=sys.stderr)
        return 1
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(path, [path, *args])
    try:
        return subprocess.call([path, *args])
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
