"""The README's journeys, run as printed: each marked code block (`serverless-...`,
`data-boto3`) runs in a fresh Python process against a server of its own (only the
endpoint URL is changed), and what it prints is compared with the `# ...` comments that
follow its print calls."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from support import require_postgres, save_ca

README = Path(__file__).resolve().parents[2] / "README.md"


def _block(marker: str) -> str:
    """The fenced Python block that follows `<!-- marker: ... -->` in the README."""
    text = README.read_text()
    found = re.search(rf"<!-- {re.escape(marker)}:[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert found, f"no {marker} block in the README"
    return found.group(1)


def _expected(code: str) -> list[str]:
    """What the block says it prints: the comment after each print call, or the comment
    line right after it when the call's own line has none."""
    lines = code.splitlines()
    out = []
    for i, line in enumerate(lines):
        if "print(" not in line or line.lstrip().startswith("#"):
            continue
        _, hash_, comment = line.partition("  # ")
        if hash_:
            out.append(comment.strip())
        elif i + 1 < len(lines) and lines[i + 1].lstrip().startswith("# "):
            out.append(lines[i + 1].lstrip()[2:].strip())
    return out


def _env() -> dict[str, str]:
    """This process's environment without its AWS_ settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def _run(code: str, url: str, env: dict[str, str]) -> list[str]:
    assert "http://localhost:4566" in code
    done = subprocess.run([sys.executable, "-c", code.replace("http://localhost:4566", url)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_readme_serverless_journeys_as_printed(start_server, tmp_path):
    require_postgres()
    server = start_server(engines=True)
    ca = save_ca(server, tmp_path)
    env = _env()
    env["SSL_CERT_FILE"] = str(ca)

    boto3_block = _block("serverless-boto3")
    assert _run(boto3_block, server.url, env) == _expected(boto3_block) == [
        "CREATING", "IAM:test", "('IAM:test', 7)", "Serverless workgroup nope not found."]

    connector_block = _block("serverless-connector")
    assert _run(connector_block, server.url, env) == _expected(connector_block) == [
        "['IAM:test']"]


def test_readme_data_api_journey_as_printed(start_server):
    require_postgres()
    server = start_server(engines=True)

    block = _block("data-boto3")
    expected = _expected(block)
    # The journey prints what it ran and read: a finished statement among them.
    assert len(expected) >= 3, expected
    assert any(line.startswith("FINISHED") for line in expected), expected
    assert _run(block, server.url, _env()) == expected
