"""All-or-nothing outputs: files are written into a hidden staging folder beside the outputs and
renamed into place only when everything is written.

A run killed outright (SIGKILL, power loss) cannot remove its staging folder, so each one records
its host and process id; the next run into the same folder removes those whose process is gone.
Folders of other hosts are left alone: on a shared file system their runs may still be alive.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import rasterio

from geoseg.tiling import GDAL_CACHE_BYTES

PREFIX = ".geoseg-"
OWNER = ".owner"


@contextmanager
def staging(out: Path, stem: str) -> Iterator[Path]:
    """A hidden folder in ``out`` (same file system: renames are atomic), always removed."""
    remove_stale(out)
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{stem}-", dir=out))
    try:
        (folder / OWNER).write_text(f"{socket.gethostname()} {os.getpid()}\n")
        with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def commit(folder: Path, outputs: list[Path]) -> None:
    """Move staged files (and their .aux.xml sidecars) to their final paths."""
    for path in outputs:
        os.replace(folder / path.name, path)
        aux = folder / (path.name + ".aux.xml")
        if aux.exists():
            os.replace(aux, path.with_name(aux.name))


def remove_stale(out: Path) -> list[Path]:
    """Remove staging folders in ``out`` left by dead processes of this host; return them."""
    removed = []
    for folder in out.glob(f"{PREFIX}*"):
        try:
            host, pid = (folder / OWNER).read_text().split()
        except (OSError, ValueError):
            continue  # not a staging folder (e.g. a resume store), or one still being made
        if host == socket.gethostname() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True
