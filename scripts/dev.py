#!/usr/bin/env python3
"""Set up geoseg in ./.venv (once) and run the demo or the tests. Needs only python3 (3.11+).

python3 scripts/dev.py demo    # classify the shipped sample scene, print outputs and areas
python3 scripts/dev.py test    # ruff, mypy and the test suite
python3 scripts/dev.py lock    # re-resolve pyproject.toml's ranges into requirements.lock
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".geoseg-installed"
#: exact versions the tests pass with; installs use it as pip constraints
LOCK = ROOT / "requirements.lock"


def run(*cmd: str | Path) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


def setup() -> None:
    """Create the venv and install geoseg with its dev extras at the locked versions; redo only
    if pyproject.toml or the lock changed."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + LOCK.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    run(BIN / "python", "-m", "pip", "install", "--upgrade", "pip")
    run(BIN / "python", "-m", "pip", "install", "-c", LOCK, "-e", ".[dev]")
    STAMP.write_text(digest)


def lock() -> None:
    """Resolve pyproject.toml's ranges afresh in a throw-away venv and pin what was installed:
    run the tests afterwards, and commit the lock only if they pass."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "venv"
        venv.EnvBuilder(with_pip=True).create(fresh)
        py = fresh / BIN.name / "python"
        run(py, "-m", "pip", "install", "--upgrade", "pip")
        run(py, "-m", "pip", "install", ".[dev]")
        frozen = subprocess.run(
            [str(py), "-m", "pip", "freeze", "--exclude-editable"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    pins = [line for line in frozen.splitlines() if line and not line.startswith("geoseg")]
    header = "# Exact versions the test suite passed with; pip constraints for scripts/dev.py.\n"
    header += "# Refresh: python3 scripts/dev.py lock, then python3 scripts/dev.py test.\n"
    LOCK.write_text(header + "\n".join(pins) + "\n")
    print(f"wrote {LOCK} ({len(pins)} packages)")


def demo() -> None:
    out = ROOT / "demo-output"
    run(BIN / "geoseg", "classify", ROOT / "samples" / "norcia_20171018", "-o", out)


def test() -> None:
    run(BIN / "ruff", "check", "geoseg", "tests", "flows", "bench", "scripts")
    run(BIN / "mypy", "geoseg", "flows")
    # every test, the slow end-to-end ones included (plain `pytest` skips those: see pyproject)
    run(BIN / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "slow or not slow")


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what not in ("demo", "test", "setup", "lock"):
        sys.exit(__doc__)
    try:
        if what == "lock":
            lock()
            return
        setup()
        {"demo": demo, "test": test, "setup": lambda: None}[what]()
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)


if __name__ == "__main__":
    main()
