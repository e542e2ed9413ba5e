"""The READMEs' pytest examples, run as printed in a pytest session of their own: the
marked block at the top of README.md, and every test in python/README.md (PyPI's page)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_pytest_example(run_pytest):
    text = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- pytest-plugin:[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert found, "no pytest-plugin block in README.md"
    block = found.group(1)
    assert len(block.splitlines()) <= 10
    done = run_pytest(block)
    assert done.returncode == 0, done.output
    assert "1 passed" in done.output


def test_python_readme_examples(run_pytest):
    text = (ROOT / "python" / "README.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def test_" in b]
    assert len(blocks) >= 2
    done = run_pytest("\n\n".join(blocks))
    assert done.returncode == 0, done.output
    assert f"{len(blocks)} passed" in done.output
