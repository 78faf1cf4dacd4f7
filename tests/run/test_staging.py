"""Staging folders: outputs appear together or not at all, and folders left by killed runs are
cleaned by the next run into the same folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import geoseg
from geoseg.run.staging import OWNER, commit, remove_stale, staging


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(proc.stdout)


def _folder(out: Path, name: str, owner: str | None) -> Path:
    folder = out / name
    folder.mkdir()
    (folder / "classes.tif").write_bytes(b"half-written")
    if owner is not None:
        (folder / OWNER).write_text(owner)
    return folder


def test_commit_moves_outputs_and_sidecars_and_the_folder_goes(tmp_path: Path) -> None:
    with staging(tmp_path, "scene") as folder:
        assert folder.parent == tmp_path and folder.name.startswith(".geoseg-scene-")
        (folder / "a.tif").write_text("a")
        (folder / "a.tif.aux.xml").write_text("<aux/>")
        commit(folder, [tmp_path / "a.tif"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif", "a.tif.aux.xml"]


def test_an_error_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), staging(tmp_path, "scene") as folder:
        (folder / "a.tif").write_text("a")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_only_folders_of_dead_processes_on_this_host_are_removed(tmp_path: Path) -> None:
    host = socket.gethostname()
    dead = _folder(tmp_path, ".geoseg-a-1", f"{host} {_dead_pid()}")
    alive = _folder(tmp_path, ".geoseg-a-2", f"{host} {os.getpid()}")
    elsewhere = _folder(tmp_path, ".geoseg-a-3", f"not-{host} {_dead_pid()}")
    store = _folder(tmp_path, ".geoseg-chunks-a-0123", None)  # a resume store: no owner
    garbled = _folder(tmp_path, ".geoseg-a-4", "nonsense")
    assert remove_stale(tmp_path) == [dead]
    assert not dead.exists() and alive.exists() and elsewhere.exists()
    assert store.exists() and garbled.exists()


def test_a_killed_run_is_cleaned_up_by_the_next(
    tmp_path: Path, norcia_tif: Path, bundle_dir: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from geoseg.run.staging import staging\n"
        "with staging(Path(sys.argv[1]), 'norcia') as folder:\n"
        "    (folder / 'norcia_classes.tif').write_bytes(b'half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(out)], check=False)
    assert proc.returncode == -signal.SIGKILL
    assert len(list(out.glob(".geoseg-*"))) == 1  # SIGKILL: no clean-up ran
    geoseg.classify(norcia_tif, out, model=bundle_dir, options=geoseg.Options(vectorize=False))
    assert not list(out.glob(".geoseg-*"))
    assert (out / f"{norcia_tif.stem}_classes.tif").exists()


def _gdal_cache_max() -> int:
    """GDAL's block cache limit in bytes, from rasterio's libgdal (pyogrio's wheel brings its own
    libgdal; a conda environment shares one)."""
    import ctypes

    import rasterio  # loads its libgdal

    with open("/proc/self/maps") as maps:
        found = {line.split()[-1] for line in maps if "/libgdal" in line}
    libs = str(Path(rasterio.__file__).parent.with_name("rasterio.libs"))
    ours = {p for p in found if p.startswith(libs)} or found
    if len(ours) != 1:
        pytest.skip(f"cannot tell rasterio's libgdal among {sorted(found)}")
    gdal = ctypes.CDLL(ours.pop())
    gdal.GDALGetCacheMax64.restype = ctypes.c_int64
    return int(gdal.GDALGetCacheMax64())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_a_run_caps_gdal_block_cache_in_bytes(tmp_path: Path) -> None:
    from geoseg.tiling import GDAL_CACHE_BYTES

    with staging(tmp_path, "scene"):
        assert _gdal_cache_max() == GDAL_CACHE_BYTES
    assert 16 * 2**20 <= GDAL_CACHE_BYTES <= 256 * 2**20  # a cache, but bounded
