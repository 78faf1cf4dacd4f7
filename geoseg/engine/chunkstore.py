"""Finished chunks kept on disk so a run that died resumes with only the missing chunks.

One ``.npz`` per chunk, written atomically (temp file + rename) by the single writer as results
arrive, in the folder it is given. The run names that folder by its fingerprint (scene identity,
model hash, tiling: :func:`geoseg.run.identity.chunk_fingerprint`), so any change of input, model
or tiling gives a new folder and stale chunks are never reused. The folder is removed when the
run's outputs are in place.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
from rasterio.windows import Window

from geoseg.core.blend import ChunkOutput, Piece
from geoseg.tiling import TileGrid

#: a saved chunk's file name (``r0003c0012.npz``)
_NAME = re.compile(r"r(\d{4})c(\d{4})\.npz")


def _win(w: Window) -> list[int]:
    return [int(w.col_off), int(w.row_off), int(w.width), int(w.height)]


class ChunkStore:
    """Finished chunks of one run in ``root`` (``grid`` places them again when loaded)."""

    def __init__(self, root: Path, grid: TileGrid) -> None:
        self.root = root
        self.grid = grid
        root.mkdir(parents=True, exist_ok=True)
        #: chunks an interrupted run had finished when this one began: what it will reuse
        self.reused = len(self.done())

    def _path(self, row: int, col: int) -> Path:
        return self.root / f"r{row:04d}c{col:04d}.npz"

    def done(self) -> set[tuple[int, int]]:
        """The chunks saved whole: a save cut short by a signal leaves only its hidden temp file."""
        found = (_NAME.fullmatch(p.name) for p in self.root.iterdir())
        return {(int(m[1]), int(m[2])) for m in found if m}

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
        if out.probabilities is not None:
            arrays["probabilities"] = out.probabilities
        final = self._path(out.chunk.row, out.chunk.col)
        tmp = final.with_name(f".{final.name}.tmp")
        with tmp.open("wb") as f:  # a file object: np.savez would append .npz to the name
            np.savez(f, allow_pickle=False, **arrays)
        os.replace(tmp, final)

    def load(self, row: int, col: int) -> ChunkOutput:
        with np.load(self._path(row, col)) as data:
            pieces = tuple(
                Piece((row, col), Window(*w), data[f"acc{i}"], data[f"wsum{i}"])
                for i, w in enumerate(data["windows"].tolist())
            )
            extra = data["extra"] if "extra" in data.files else None
            probs = data["probabilities"] if "probabilities" in data.files else None
            return ChunkOutput(
                self.grid.chunk(row, col),
                data["classes"],
                data["confidence"],
                data["valid"],
                pieces,
                extra,
                masked=int(data["masked"]) if "masked" in data.files else 0,
                probabilities=probs,
            )

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
