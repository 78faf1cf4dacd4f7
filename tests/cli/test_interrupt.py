"""A real Ctrl-C (SIGINT to the whole process group, as a terminal sends it) or SIGTERM in the
middle of ``geoseg classify``: one line, exit 130 / 143, no staging folder, nothing at the output
paths, the finished chunks kept; the rerun reuses them and gives the uninterrupted map. In a batch,
the scenes finished stay and the rerun skips them; after ``Outputs:``, Ctrl-C loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rasterio.windows import Window

import geoseg
from geoseg.cli.common import INTERRUPTED
from geoseg.engine.chunkstore import ChunkStore
from tests.cli.conftest import invoke
from tests.conftest import NORCIA, write_stack

# small tiles and chunks: the sample's run has 9 chunks, so a signal can land between them
OPTIONS = {"tile_size": 128, "overlap": 32, "chunk_size": 128, "vectorize": False}
ARGS = ["--tile-size", "128", "--overlap", "32", "--chunk-size", "128", "--no-vectorize"]
ENGINES = {"inprocess": [], "local": ["--workers", "2"]}
#: the ``geoseg`` command, with Ctrl-C's default handler even where pytest runs with SIGINT
#: ignored (a background job of a non-interactive shell), which its children would inherit
GEOSEG = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from geoseg.cli import main; sys.argv[0] = 'geoseg'; main()"
)
#: a random model on 64-px tiles, no cloud detection: seconds per small crop
SMALL = ["--tile-size", "64", "--overlap", "16", "--cloud-mask", "none", "--no-vectorize"]


def _start(out: Path, engine: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-c", GEOSEG, "classify", str(NORCIA), "-o", str(out), *ARGS]
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


def _geoseg(*args: str) -> subprocess.Popen[str]:
    """``geoseg ARGS`` as its own process (group), unbuffered, so lines arrive as printed."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", GEOSEG, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env, start_new_session=True,
    )  # fmt: skip


def _crops(folder: Path) -> list[str]:
    """Three small crops of the sample; the middle one the whole sample (the longest run)."""
    folder.mkdir()
    windows = {"a": Window(0, 0, 64, 64), "b": None, "c": Window(64, 64, 64, 64)}
    return [str(write_stack(NORCIA, folder / f"{k}.tif", window=w)) for k, w in windows.items()]


@pytest.mark.slow
def test_ctrl_c_in_a_batch_keeps_the_finished_scenes(bundle_dir: Path, tmp_path: Path) -> None:
    """A real Ctrl-C once the first scene is done: its outputs stay, the table so far and a line
    say which scenes finished, exit 130; the rerun skips them."""
    out, scenes = tmp_path / "out", _crops(tmp_path / "scenes")
    args = [*scenes, "-o", str(out), "--model", str(bundle_dir), *SMALL, "--chunk-size", "64"]
    proc = _geoseg("classify", *args)
    deadline = time.monotonic() + 180
    while not (out / "b").is_dir():  # made when the first scene has finished
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("geoseg: interrupted: during scene "), stderr
    assert "are kept; a rerun skips the scenes whose outputs are current" in last, stderr
    assert "Traceback" not in stderr
    status = {ln.split()[1]: ln.split()[3] for ln in stdout.splitlines() if ".tif │" in ln}
    assert status["a.tif"] == "ok" and "interrupted" in status.values(), stdout
    assert (out / "a" / "a_classes.tif").is_file()
    finished = [k for k, v in status.items() if v == "ok"]

    again = invoke("classify", *args)
    assert again.exit_code == 0, again.output
    assert again.stderr.count("are current (same input, model and options): kept") == len(finished)
    assert f"3 of 3 scenes classified ({len(finished)} current" in again.stdout


@pytest.mark.slow
def test_ctrl_c_after_the_outputs_are_written_loses_nothing(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """Ctrl-C, again and again, from the moment ``Outputs:`` is printed: the summary is printed
    whole, every output stays, and the process exits 0, never killed silently (exit -2)."""
    scene = write_stack(NORCIA, tmp_path / "a.tif", window=Window(0, 0, 64, 64))
    out = tmp_path / "out"
    proc = _geoseg("classify", str(scene), "-o", str(out), "--model", str(bundle_dir), *SMALL)
    assert proc.stdout is not None
    head = ""
    while "Outputs:" not in head:
        line = proc.stdout.readline()
        assert line, proc.communicate()
        head += line
    while proc.poll() is None:  # into the interpreter's exit, seconds unloading PyTorch
        os.kill(proc.pid, signal.SIGINT)
        time.sleep(0.01)
    assert proc.stderr is not None
    rest, stderr = proc.stdout.read(), proc.stderr.read()  # (communicate skips read-ahead)
    assert proc.returncode == 0, (proc.returncode, stderr)
    assert "Traceback" not in stderr and "interrupted" not in stderr
    printed = [Path(line.strip()) for line in rest.splitlines() if line.startswith("  ")]
    assert len(printed) == 7 and all(p.is_file() for p in printed), rest  # the whole list
