#!/usr/bin/env python3
"""Set up geoseg in ./.venv (once) and run the demo or the tests. Needs only python3 (3.11+).

python3 scripts/dev.py demo    # classify the shipped sample scene, print outputs and areas
python3 scripts/dev.py test    # ruff, mypy and the test suite
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".geoseg-installed"


def run(*cmd: str | Path) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


def setup() -> None:
    """Create the venv and install geoseg with its dev extras; redo only if pyproject changed."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    run(BIN / "python", "-m", "pip", "install", "--upgrade", "pip")
    run(BIN / "python", "-m", "pip", "install", "-e", ".[dev]")
    STAMP.write_text(digest)


def demo() -> None:
    out = ROOT / "demo-output"
    run(BIN / "geoseg", "classify", ROOT / "samples" / "norcia_20171018", "-o", out)


def test() -> None:
    run(BIN / "ruff", "check", "geoseg", "tests", "flows", "bench", "scripts")
    run(BIN / "mypy", "geoseg", "flows")
    run(BIN / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider")


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what not in ("demo", "test", "setup"):
        sys.exit(__doc__)
    setup()
    try:
        {"demo": demo, "test": test, "setup": lambda: None}[what]()
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)


if __name__ == "__main__":
    main()
