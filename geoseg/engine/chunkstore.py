"""Finished chunks kept on disk so a run that died resumes with only the missing chunks.

One ``.npz`` per chunk, written atomically (temp file + rename) by the single writer as results
arrive, in a folder named by the run's fingerprint (scene identity, model hash, tiling). Any change
of input, model or tiling gives a new fingerprint, so stale chunks are never reused. The folder is
removed when the run's outputs are in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
from rasterio.windows import Window

from geoseg.core.blend import ChunkOutput, Piece
from geoseg.tiling import TileGrid


def file_identity(src: str) -> list[object]:
    """Path, size and mtime of a file; of the archive for /vsizip/ paths; URLs as they are."""
    if not src.startswith("/vsi"):
        st = os.stat(src)
        return [os.path.abspath(src), st.st_size, st.st_mtime_ns]
    inner = Path(src.split("/", 2)[2])
    for part in (inner, *inner.parents):
        if part.is_file():  # the archive holding the band
            st = part.stat()
            return [src, st.st_size, st.st_mtime_ns]
    return [src]  # remote (/vsicurl/…): its URL is its identity


def fingerprint(
    sources: list[str],
    model_sha: str,
    grid: TileGrid,
    extra: tuple[str, ...],
    masks: tuple[str, ...] = (),
) -> str:
    """Identity of a run's chunks: input files (path, size, mtime), weights, tiling, extras and
    masks (a different mask gives different classes)."""
    ident = [file_identity(src) for src in sorted(set(sources))]
    blob = json.dumps(
        [
            ident,
            model_sha,
            grid.height,
            grid.width,
            grid.tile,
            grid.overlap,
            grid.chunk_tiles,
            list(extra),
            *([list(masks)] if masks else []),  # runs without masks keep their old identity
        ]
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _win(w: Window) -> list[int]:
    return [int(w.col_off), int(w.row_off), int(w.width), int(w.height)]


class ChunkStore:
    def __init__(self, root: Path, grid: TileGrid) -> None:
        self.root = root
        self.grid = grid
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, row: int, col: int) -> Path:
        return self.root / f"r{row:04d}c{col:04d}.npz"

    def done(self) -> set[tuple[int, int]]:
        keys = set()
        for p in self.root.glob("r*c*.npz"):
            keys.add((int(p.stem[1:5]), int(p.stem[6:10])))
        return keys

    def save(self, out: ChunkOutput) -> None:
        arrays: dict[str, np.ndarray] = {
            "classes": out.classes,
            "confidence": out.confidence,
            "valid": out.valid,
            "masked": np.array(out.masked, dtype=np.int64),
            "windows": np.array([_win(p.window) for p in out.pieces], dtype=np.int64).reshape(
                -1, 4
            ),
        }
        for i, p in enumerate(out.pieces):
            arrays[f"acc{i}"], arrays[f"wsum{i}"] = p.acc, p.wsum
        if out.extra is not None:
            arrays["extra"] = out.extra
        final = self._path(out.chunk.row, out.chunk.col)
        tmp = final.with_suffix(".tmp.npz")
        np.savez(tmp, allow_pickle=False, **arrays)
        os.replace(tmp, final)

    def load(self, row: int, col: int) -> ChunkOutput:
        with np.load(self._path(row, col)) as data:
            pieces = tuple(
                Piece((row, col), Window(*w), data[f"acc{i}"], data[f"wsum{i}"])
                for i, w in enumerate(data["windows"].tolist())
            )
            extra = data["extra"] if "extra" in data.files else None
            return ChunkOutput(
                self.grid.chunk(row, col),
                data["classes"],
                data["confidence"],
                data["valid"],
                pieces,
                extra,
                masked=int(data["masked"]) if "masked" in data.files else 0,
            )

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
