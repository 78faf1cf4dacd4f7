"""A real Ctrl-C (SIGINT to the whole process group, as a terminal sends it) or SIGTERM in the
middle of ``geoseg classify``: one line, exit 130 / 143, no staging folder, nothing at the output
paths, the finished chunks kept; the rerun reuses them and gives the uninterrupted map."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import geoseg
from geoseg.cli.common import INTERRUPTED
from geoseg.engine.chunkstore import ChunkStore
from tests.conftest import NORCIA

# small tiles and chunks: the sample's run has 9 chunks, so a signal can land between them
OPTIONS = {"tile_size": 128, "overlap": 32, "chunk_size": 128, "vectorize": False}
ARGS = ["--tile-size", "128", "--overlap", "32", "--chunk-size", "128", "--no-vectorize"]
ENGINES = {"inprocess": [], "local": ["--workers", "2"]}


def _start(out: Path, engine: str) -> subprocess.Popen[str]:
    code = "import sys; from geoseg.cli import main; sys.argv[0] = 'geoseg'; main()"
    cmd = [sys.executable, "-c", code, "classify", str(NORCIA), "-o", str(out), *ARGS]
    cmd += ["--engine", engine, *ENGINES[engine]]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,  # its own process group, which gets the signal like a terminal's
    )  # fmt: skip


def _first_chunk(out: Path, proc: subprocess.Popen[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not list(out.glob(".geoseg-chunks-*/r*c*.npz")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no chunk finished in time"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("engine", "sig", "code", "word"),
    [
        ("inprocess", signal.SIGINT, 130, "interrupted"),
        ("inprocess", signal.SIGTERM, 143, "terminated"),
        ("local", signal.SIGINT, 130, "interrupted"),
    ],
)
def test_a_signal_mid_run_leaves_only_finished_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str, sig: int, code: int, word: str
) -> None:
    out = tmp_path / "out"
    proc = _start(out, engine)
    _first_chunk(out, proc)
    os.killpg(proc.pid, sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert stderr.strip() == f"geoseg: {word}: {INTERRUPTED}"  # one line, no worker tracebacks
    left = sorted(p.name for p in out.iterdir())
    assert len(left) == 1 and left[0].startswith(".geoseg-chunks-"), left  # no staging, no outputs
    kept = len(list((out / left[0]).glob("r*c*.npz")))
    assert kept >= 1

    loaded: list[tuple[int, int]] = []
    load = ChunkStore.load
    monkeypatch.setattr(ChunkStore, "load", lambda s, r, c: loaded.append((r, c)) or load(s, r, c))
    again = geoseg.classify(NORCIA, out, options=geoseg.Options(**OPTIONS, engine="inprocess"))
    assert len(loaded) == kept  # resumed: the kept chunks were not recomputed
    whole = geoseg.classify(NORCIA, tmp_path / "whole", options=geoseg.Options(**OPTIONS))
    assert again.classes.read_bytes() == whole.classes.read_bytes()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
